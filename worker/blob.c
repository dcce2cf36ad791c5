/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "blob.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cfs-util.h"
#include "cookie-key.h"
#include "wire.h"

int blob_open(int dir_fd, const uint8_t *key, uint32_t key_len)
{
	char name[COOKIE_KEY_MAX + 1];
	/* The name check already rules out traversal; RESOLVE_* holds even if it had a bug. */
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	int fd;

	if (!cookie_key_is_safe(key, key_len))
		return -EINVAL;
	memcpy(name, key, key_len);
	name[key_len] = '\0';
	fd = (int)syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));
	if (fd < 0)
		return errno == ELOOP || errno == EXDEV ? -EACCES : -errno;
	return fd;
}

int64_t blob_size(int blob_fd)
{
	struct stat st;

	if (fstat(blob_fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	return st.st_size;
}

int fill_buffer_init(struct fill_buffer *b, size_t size)
{
	void *p;

	if (posix_memalign(&p, CFS_PAGE_SIZE, size) != 0)
		return -ENOMEM;
	b->data = p;
	b->size = size;
	return 0;
}

/* Reads exactly want bytes at pos, or fails -ENODATA if the blob (or the bytes in memory) ends first. */
static int read_exact(const struct blob_source *src, uint8_t *dst, size_t want, uint64_t pos)
{
	size_t got = 0;
	int blob_fd = src->fd;

	if (src->mem) {
		if (pos < src->mem_off || want > src->mem_len || pos - src->mem_off > src->mem_len - want)
			return -ENODATA;
		memcpy(dst, src->mem + (pos - src->mem_off), want);
		return 0;
	}

	while (got < want) {
		ssize_t n = pread(blob_fd, dst + got, want - got, (off_t)(pos + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		got += (size_t)n;
	}
	return 0;
}

static int write_exact(int anon_fd, const uint8_t *src, size_t len, uint64_t pos)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(anon_fd, src + done, len - done, (off_t)(pos + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Copies blob bytes into the cache file's pages [pos, end), zero padding past the object's end. */
static int copy_range(struct fill_buffer *b, const struct blob_source *src, int anon_fd, uint64_t object_size,
		      uint64_t pos, uint64_t end)
{
	while (pos < end) {
		size_t chunk = (size_t)(end - pos < b->size ? end - pos : b->size);
		/* Bytes that exist in the blob; the rest of the last page is zeros. */
		size_t data = pos + chunk <= object_size ? chunk : (size_t)(object_size - pos);
		int r = read_exact(src, b->data, data, pos);
		if (r < 0)
			return r;
		memset(b->data + data, 0, chunk - data);
		r = write_exact(anon_fd, b->data, chunk, pos);
		if (r < 0)
			return r;
		pos += chunk;
	}
	return 0;
}

/*
 * Where the cache file next holds data, at or after pos; end if nowhere
 * before end. ENXIO means no data up to its EOF. Any other failure reads as
 * "no data" too: a range is then written again, never wrongly skipped.
 */
static uint64_t next_data(int anon_fd, uint64_t pos, uint64_t end)
{
	off_t d = lseek(anon_fd, (off_t)pos, SEEK_DATA);

	return d < 0 || (uint64_t)d > end ? end : (uint64_t)d;
}

/* Where the data found at pos ends, at most end; pos on failure (nothing is skipped). */
static uint64_t next_hole(int anon_fd, uint64_t pos, uint64_t end)
{
	off_t h = lseek(anon_fd, (off_t)pos, SEEK_HOLE);

	return h < 0 ? pos : (uint64_t)h < end ? (uint64_t)h : end;
}

/*
 * Writes the pages of [pos, end) that the cache file does not hold whole:
 * a page with any byte of hole is written, whole pages of data are
 * skipped. Data in the cache file is only ever what a fill wrote, so what
 * SEEK_DATA calls data is right (docs/design.md, "Amplified fills").
 * Adds the bytes written to *written; returns 0, or the -errno that stopped it.
 */
static int fill_holes(struct fill_buffer *b, const struct blob_source *src, int anon_fd, uint64_t object_size,
		      uint64_t pos, uint64_t end, uint64_t *written)
{
	while (pos < end) {
		uint64_t data = next_data(anon_fd, pos, end), to;
		if (data > pos) {
			/* A hole up to data; the page data starts in has a hole too. */
			to = round_up_page(data) < end ? round_up_page(data) : end;
		} else {
			uint64_t whole = round_down_page(next_hole(anon_fd, pos, end));
			if (whole > pos) {
				pos = whole;
				continue;
			}
			to = pos + CFS_PAGE_SIZE; /* data, but not the whole page */
		}
		int r = copy_range(b, src, anon_fd, object_size, pos, to);
		if (r < 0)
			return r;
		*written += to - pos;
		pos = to;
	}
	return 0;
}

int64_t blob_fill_from(struct fill_buffer *b, const struct blob_source *src, int anon_fd, uint64_t object_size,
		       struct fill_range req, struct fill_range fill)
{
	uint64_t lo, hi, written;
	int r;

	wire_read_pages(req.off, req.len, object_size, &lo, &hi);
	if (lo == hi)
		return -ENODATA;
	/*
	 * The requested pages first, and always: the kernel asked because it
	 * found no data there, and rewriting them costs nothing then. Their
	 * failure is the READ's.
	 */
	r = copy_range(b, src, anon_fd, object_size, lo, hi);
	if (r < 0)
		return r;
	written = hi - lo;
	/*
	 * The window: a sequential reader wants what follows first. A failure
	 * here stops it quietly: the kernel asks again for what it still lacks.
	 */
	if (fill_holes(b, src, anon_fd, object_size, hi, fill.off + fill.len, &written) == 0)
		(void)fill_holes(b, src, anon_fd, object_size, fill.off, lo, &written);
	return (int64_t)written;
}

int64_t blob_fill(struct fill_buffer *b, int blob_fd, int anon_fd, uint64_t object_size, struct fill_range req,
		  struct fill_range fill)
{
	struct blob_source src = { .fd = blob_fd };

	return blob_fill_from(b, &src, anon_fd, object_size, req, fill);
}

int64_t blob_prefetch_from(struct fill_buffer *b, const struct blob_source *src, int anon_fd, uint64_t object_size,
			   struct fill_range fill)
{
	uint64_t written = 0;
	int r = fill_holes(b, src, anon_fd, object_size, fill.off, fill.off + fill.len, &written);

	return r < 0 ? r : (int64_t)written;
}

int64_t blob_prefetch(struct fill_buffer *b, int blob_fd, int anon_fd, uint64_t object_size, struct fill_range fill)
{
	struct blob_source src = { .fd = blob_fd };

	return blob_prefetch_from(b, &src, anon_fd, object_size, fill);
}

uint64_t blob_next_hole(int anon_fd, uint64_t pos, uint64_t end)
{
	off_t h = lseek(anon_fd, (off_t)pos, SEEK_HOLE);

	/* A failure reads as a hole: a range is then fetched again, never wrongly skipped. */
	return h < 0 ? pos : (uint64_t)h < end ? (uint64_t)h : end;
}

uint64_t blob_next_data(int anon_fd, uint64_t pos, uint64_t end)
{
	return next_data(anon_fd, pos, end);
}
