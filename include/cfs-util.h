/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The project's one error idiom: functions return 0 (or a positive value)
 * on success and -errno on failure; resources are released by cleanup
 * attributes; ownership leaves a scope only through TAKE_FD/TAKE_PTR.
 */
#ifndef CFS_UTIL_H
#define CFS_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Hands ownership out of a cleanup-managed variable. */
#define TAKE_FD(fd)              \
	__extension__({          \
		int _fd_ = (fd); \
		(fd) = -EBADF;   \
		_fd_;            \
	})
#define TAKE_PTR(p)                      \
	__extension__({                  \
		__typeof__(p) _p_ = (p); \
		(p) = NULL;              \
		_p_;                     \
	})

static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* Reads len bytes at off, fewer only at the end of the file: the count, or -errno. */
static inline ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

#define CFS_PAGE_SIZE 4096u
static inline uint64_t round_up_page(uint64_t v)
{
	return (v + CFS_PAGE_SIZE - 1) & ~(uint64_t)(CFS_PAGE_SIZE - 1);
}
static inline uint64_t round_down_page(uint64_t v)
{
	return v & ~(uint64_t)(CFS_PAGE_SIZE - 1);
}

#endif
