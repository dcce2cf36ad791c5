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

/* A byte range of the object. */
struct fill_range {
	uint64_t off, len;
};

/*
 * Answers a READ: copies the blob into the cache file behind anon_fd, in
 * whole pages (the kernel writes it with direct I/O), zero padded past
 * object_size. The pages of req (the kernel's READ) are always written;
 * the rest of fill (the supervisor's window, page aligned, covering req,
 * within round_up(object_size, page): wire_read_fill_is_valid()) only where
 * the cache file lacks data. Returns the bytes written, at least req's
 * pages; or -errno if req's pages could not be written: -ENODATA when the
 * blob ends before them (past the object, or the blob shrank since OPEN).
 * A failure in the rest ends the fill early and is not an error.
 */
int64_t blob_fill(struct fill_buffer *b, int blob_fd, int anon_fd, uint64_t object_size, struct fill_range req,
		  struct fill_range fill);

/*
 * Prefetch: writes the pages of fill (page aligned, within round_up(size,
 * page): wire_prefetch_is_valid()) that the cache file lacks. Returns the
 * bytes written (0 if it had them all), or the -errno that stopped it
 * (-ENODATA: the blob is shorter than the object).
 */
int64_t blob_prefetch(struct fill_buffer *b, int blob_fd, int anon_fd, uint64_t object_size, struct fill_range fill);

/*
 * Where a fill's bytes come from: a blob file (fd), or bytes already in
 * memory (mem, the blob's [mem_off, mem_off + mem_len): a remote blob's
 * verified chunks). Reads outside what memory holds fail -ENODATA.
 */
struct blob_source {
	int fd;
	const uint8_t *mem;
	uint64_t mem_off, mem_len;
};

/* blob_fill() and blob_prefetch() from any source. */
int64_t blob_fill_from(struct fill_buffer *b, const struct blob_source *src, int anon_fd, uint64_t object_size,
		       struct fill_range req, struct fill_range fill);
int64_t blob_prefetch_from(struct fill_buffer *b, const struct blob_source *src, int anon_fd, uint64_t object_size,
			   struct fill_range fill);

/* Where the cache file's next hole is at or after pos (end if none before end), and its next data. */
uint64_t blob_next_hole(int anon_fd, uint64_t pos, uint64_t end);
uint64_t blob_next_data(int anon_fd, uint64_t pos, uint64_t end);

#endif
