/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging to stderr with "<N>" priority prefixes, which journald turns into
 * real priorities. The helpers return the error they log so callers can write
 * `return log_error_errno(r, "Failed to ...: %s", ERRSTR(r));`.
 */
#ifndef CFS_LOG_H
#define CFS_LOG_H

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

	if (prio > cfs_log_max_priority)
		return err < 0 ? err : -err;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "<%d>%s: %s\n", prio, program_invocation_short_name, line);
	errno = saved_errno;
	return err < 0 ? err : -err;
}

/* The text of an error given as errno or -errno (ISO C printf has no %m). */
#define ERRSTR(e) strerror((e) < 0 ? -(e) : (e))

#define log_error_errno(err, ...) log_full_errno(LOG_ERR, (err), __VA_ARGS__)
#define log_warning_errno(err, ...) log_full_errno(LOG_WARNING, (err), __VA_ARGS__)
#define log_error(...) ((void)log_full_errno(LOG_ERR, 0, __VA_ARGS__))
#define log_warning(...) ((void)log_full_errno(LOG_WARNING, 0, __VA_ARGS__))
#define log_notice(...) ((void)log_full_errno(LOG_NOTICE, 0, __VA_ARGS__))
#define log_info(...) ((void)log_full_errno(LOG_INFO, 0, __VA_ARGS__))
#define log_debug(...) ((void)log_full_errno(LOG_DEBUG, 0, __VA_ARGS__))

#endif
