/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Who a domain's workers run as: resolved from its settings, applied by pool/sandbox.c. */
#ifndef CFS_SANDBOX_SETTINGS_H
#define CFS_SANDBOX_SETTINGS_H

#include <sys/types.h>

/* Two fds per object a worker holds (anon fd + blob fd): it holds SANDBOX_NOFILE / 4 objects at most (pool-held.h). */
#define SANDBOX_NOFILE 4096

struct sandbox_settings {
	const char *user; /* the domain's settings.worker_user */
	uid_t uid;	  /* resolved by sandbox_resolve_user() before any fork */
	gid_t gid;
};

#endif
