/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fills from a remote blob (docs/design.md, "Remote blobs"): whole chunks
 * fetched (fetch.h), each checked against the descriptor before a byte of
 * it is written; a chunk that fails is fetched once more, then the fill
 * fails with one line naming origin, blob, chunk and both digests.
 */
#ifndef CFS_REMOTE_H
#define CFS_REMOTE_H

#include <stdint.h>

#include "blob.h"
#include "descriptor.h"
#include "fetch.h"

/* The descriptor of blob key (NAME.desc beneath dir_fd) into *d. 0, or -errno, logged with the parser's why. */
int remote_describe(int dir_fd, const char *domain, const uint8_t *key, uint32_t key_len, struct descriptor *d);

/* As blob_fill(), the bytes fetched and checked. */
int64_t remote_fill(struct fetch *f, struct fill_buffer *b, const struct descriptor *d, int anon_fd,
		    uint64_t object_size, struct fill_range req, struct fill_range fill);

/* As blob_prefetch(). */
int64_t remote_prefetch(struct fetch *f, struct fill_buffer *b, const struct descriptor *d, int anon_fd,
			uint64_t object_size, struct fill_range fill);

#endif
