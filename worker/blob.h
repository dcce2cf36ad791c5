/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Blob files: finding them under the blob dir, copying ranges into the cache. */
#ifndef CFS_BLOB_H
#define CFS_BLOB_H

#include <stddef.h>
#include <stdint.h>

/* Opens blob `key` strictly beneath dir_fd. Returns fd or -errno (-EINVAL for an unsafe key). */
int blob_open(int dir_fd, const uint8_t *key, uint32_t key_len);
/* Size of an open blob (regular files only). */
int64_t blob_size(int blob_fd);

struct fill_buffer {
	uint8_t *data; /* page aligned: the cache file is written with direct I/O */
	size_t size;
};

int fill_buffer_init(struct fill_buffer *b, size_t size);

/*
 * Copies [off, off+len) of the blob into the cache file behind anon_fd,
 * widened to whole pages (the kernel's direct I/O needs page-aligned
 * offsets and lengths); never past round_up(object_size, page). Returns the
 * byte count written, or -errno: -ENODATA when the blob ends before the
 * range (past the object, or the blob shrank since OPEN).
 */
int64_t blob_fill(struct fill_buffer *b, int blob_fd, int anon_fd, uint64_t object_size, uint64_t off, uint64_t len);

#endif
