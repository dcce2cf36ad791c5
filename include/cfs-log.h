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
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

extern int cfs_log_max_priority;

__attribute__((format(printf, 3, 4))) static inline int log_full_errno(int prio, int err, const char *fmt, ...)
{
	va_list ap;
	char line[1024];
	int saved_errno = errno;

	assert(err <= 0);
	if (prio > cfs_log_max_priority)
		return err;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (err < 0)
		fprintf(stderr, "<%d>%s: %s: %s\n", prio, program_invocation_short_name, line, strerror(-err));
	else
		fprintf(stderr, "<%d>%s: %s\n", prio, program_invocation_short_name, line);
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
