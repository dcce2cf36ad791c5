/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Chunks of a remote blob (descriptor.h): which whole chunks a fill needs,
 * and whether fetched bytes are the chunk the descriptor describes. A
 * worker fetches whole chunks only, because only a whole chunk can be
 * checked, and writes none it has not checked. Pure: no I/O.
 */
#ifndef CFS_CHUNK_H
#define CFS_CHUNK_H

#include <stdint.h>

#include "descriptor.h"

/* The whole chunks first .. first + count - 1, the bytes [off, off + len) of the blob. */
struct chunk_span {
	uint32_t first, count;
	uint64_t off, len; /* off is a multiple of chunk_size; the last chunk may be short */
};

/* Where chunk i starts in the blob, and its length (chunk_size, less for the last). i < n_chunks. */
uint64_t chunk_offset(const struct descriptor *d, uint32_t i);
uint32_t chunk_length(const struct descriptor *d, uint32_t i);

/*
 * The whole chunks holding the blob's bytes [off, off + len): a READ's
 * range or a fill's window. Bytes past the blob's end belong to no chunk
 * (a fill pads its last page with zeros), so the range is cut at the end.
 * 0; -ERANGE when off is at or past the end; -EINVAL for len 0 or a range
 * that overflows.
 */
int chunk_span(const struct descriptor *d, uint64_t off, uint64_t len, struct chunk_span *out);

/*
 * Whether len bytes at data are chunk i. 0 when they are; -EBADMSG when
 * they hash to something else (written to got, for the log); -EINVAL for
 * an index past the last chunk or a length other than the chunk's; -EIO
 * if the digest could not be computed. got may be NULL.
 */
int chunk_verify(const struct descriptor *d, uint32_t i, const void *data, uint64_t len, uint8_t *got);

#endif
