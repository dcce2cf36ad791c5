/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging to stderr with "<N>" priority prefixes, which journald turns into
 * real priorities. The *_errno helpers take a negative errno (0: none),
 * append its text and return it, so an error path is one line:
 *
 *     return log_error_errno(r, "Cannot bind %s", dir);   logs "...: <text>"
 *
 * A positive errno is a bug: a constant one does not compile, another one
 * trips an assertion in test builds.
 */
#ifndef CFS_LOG_H
#define CFS_LOG_H

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

extern int cfs_log_max_priority;

/*
 * Lines stderr could not take at once (issue 17, item 9): stderr is shared
 * with the workers and, under systemd, a stream to journald; a stalled
 * journald or a worker flooding it must not stall the event loop, so a line
 * that does not fit is counted and dropped, and the next one that fits says
 * how many went. Only where cfs_log_nonblocking is set (the supervisor): a
 * worker's seccomp filter allows write(2) on stderr and nothing else, and a
 * worker that blocks on it only stalls itself (its request times out).
 * Weak: one of each per program, whichever files include this.
 */
__attribute__((weak)) bool cfs_log_nonblocking;
__attribute__((weak)) unsigned long cfs_log_dropped;
/* A person reads a terminal: "<3>" means something to journald only (cfs_log_init()). */
__attribute__((weak)) bool cfs_log_plain;

static inline void cfs_log_init(void)
{
	cfs_log_plain = isatty(STDERR_FILENO);
}

/* Writes one whole line to fd 2 without blocking; false if it had no room. */
static inline bool cfs_log_write(const char *buf, size_t len)
{
	struct pollfd p = { .fd = STDERR_FILENO, .events = POLLOUT };
	ssize_t n;

	if (!cfs_log_nonblocking)
		return write(STDERR_FILENO, buf, len) >= 0;
	/* A socket (journald): MSG_DONTWAIT leaves the shared file's flags alone; a line is one skb. */
	do
		n = send(STDERR_FILENO, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0 || errno != ENOTSOCK)
		return n >= 0;
	/* A pipe has room for a line when poll says so; a file always has. */
	if (poll(&p, 1, 0) != 1 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)))
		return false;
	return write(STDERR_FILENO, buf, len) >= 0;
}

static inline void cfs_log_line(const char *buf, size_t len)
{
	if (cfs_log_dropped) {
		char note[128];
		int n = snprintf(note, sizeof(note), "<4>%s: %lu log lines dropped: stderr had no room\n",
				 program_invocation_short_name, cfs_log_dropped);
		if (!cfs_log_write(note, (size_t)n)) {
			cfs_log_dropped++;
			return;
		}
		cfs_log_dropped = 0;
	}
	if (!cfs_log_write(buf, len))
		cfs_log_dropped++;
}

__attribute__((format(printf, 3, 4))) static inline int log_full_errno(int prio, int err, const char *fmt, ...)
{
	va_list ap;
	char line[1024], out[1024 + 256];
	int saved_errno = errno, n;

	assert(err <= 0);
	if (prio > cfs_log_max_priority)
		return err;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = cfs_log_plain ? 0 : snprintf(out, sizeof(out), "<%d>", prio);
	if (err < 0)
		n += snprintf(out + n, sizeof(out) - (size_t)n, "%s: %s: %s\n", program_invocation_short_name, line,
			      strerror(-err));
	else
		n += snprintf(out + n, sizeof(out) - (size_t)n, "%s: %s\n", program_invocation_short_name, line);
	if (n >= (int)sizeof(out)) {
		n = (int)sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	if (n > 0)
		cfs_log_line(out, (size_t)n);
	errno = saved_errno;
	return err;
}

/* The text of an error given as errno or -errno (ISO C printf has no %m). */
#define ERRSTR(e) strerror((e) < 0 ? -(e) : (e))

/* Refuses a positive errno constant at compile time (log_error_errno(EINVAL, ...)). */
__attribute__((error("log_*_errno takes a negative errno"))) void cfs_log_positive_errno(void);
#define CFS_NEGATIVE_ERRNO(err) (__builtin_constant_p(err) && (err) > 0 ? (cfs_log_positive_errno(), (err)) : (err))

#define log_error_errno(err, ...) log_full_errno(LOG_ERR, CFS_NEGATIVE_ERRNO(err), __VA_ARGS__)
#define log_warning_errno(err, ...) log_full_errno(LOG_WARNING, CFS_NEGATIVE_ERRNO(err), __VA_ARGS__)
#define log_error(...) ((void)log_full_errno(LOG_ERR, 0, __VA_ARGS__))
#define log_warning(...) ((void)log_full_errno(LOG_WARNING, 0, __VA_ARGS__))
#define log_notice(...) ((void)log_full_errno(LOG_NOTICE, 0, __VA_ARGS__))
#define log_info(...) ((void)log_full_errno(LOG_INFO, 0, __VA_ARGS__))
#define log_debug(...) ((void)log_full_errno(LOG_DEBUG, 0, __VA_ARGS__))

#endif
