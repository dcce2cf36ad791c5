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

/* Reads exactly want bytes at pos, or fails -ENODATA if the blob ends first. */
static int read_exact(int blob_fd, uint8_t *dst, size_t want, uint64_t pos)
{
	size_t got = 0;

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

int64_t blob_fill(struct fill_buffer *b, int blob_fd, int anon_fd, uint64_t object_size, uint64_t off, uint64_t len)
{
	uint64_t start = round_down_page(off), end = round_up_page(off + len);
	uint64_t limit = round_up_page(object_size);

	if (off >= object_size)
		return -ENODATA;
	if (end > limit)
		end = limit;
	for (uint64_t pos = start; pos < end;) {
		size_t chunk = (size_t)(end - pos < b->size ? end - pos : b->size);
		/* Bytes that exist in the blob; the rest of the last page is zeros. */
		size_t data = pos + chunk <= object_size ? chunk : (size_t)(object_size - pos);
		int r = read_exact(blob_fd, b->data, data, pos);
		if (r < 0)
			return r;
		memset(b->data + data, 0, chunk - data);
		r = write_exact(anon_fd, b->data, chunk, pos);
		if (r < 0)
			return r;
		pos += chunk;
	}
	return (int64_t)(end - start);
}
