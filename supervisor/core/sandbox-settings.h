/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a domain's workers run as: set by the config, applied by pool/sandbox.c. */
#ifndef CFS_SANDBOX_SETTINGS_H
#define CFS_SANDBOX_SETTINGS_H

#include <stdbool.h>
#include <sys/types.h>

#define SANDBOX_DEFAULT_USER "cachefiles-worker"
/* Two fds per object a worker holds (anon fd + blob fd), plus a few. */
#define SANDBOX_NOFILE 4096

struct sandbox_settings {
	const char *user; /* --worker-user */
	uid_t uid;        /* resolved by sandbox_resolve_user() before any fork */
	gid_t gid;
	bool seccomp_log; /* --seccomp log: the worker logs instead of being killed */
};

#endif
