/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a domain is configured with: the one struct the config file's
 * [domain NAME] section, the --blob-dir command line and the running domain
 * (struct domain in supervisor.h) share. Keys, checks and defaults are in the
 * key table of config/config-keys.c; a new per-domain setting is a field here
 * and a row there (then its users and its documentation).
 */
#ifndef CFS_DOMAIN_SETTINGS_H
#define CFS_DOMAIN_SETTINGS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define DOMAIN_USER_MAX 32 /* worker_user, as useradd allows, without the NUL */

struct domain_settings {
	char blob_dir[PATH_MAX];	       /* blob_dir, --blob-dir */
	unsigned n_workers;		       /* workers, --workers */
	char worker_user[DOMAIN_USER_MAX + 1]; /* worker_user, --worker-user */
	bool seccomp_log;		       /* sandbox = log, --seccomp log: forbidden calls are only logged */
	uint64_t request_timeout_ms;	       /* request_timeout; the cache's unless the domain sets its own */
	uint32_t read_window;		       /* bytes a READ's fill may reach (window.h); 0: exact */
	uint32_t readahead;		       /* bytes filled ahead of a sequential reader at most; 0: none */
	uint64_t prefetch;	/* bytes of each blob filled in the background; 0: none, UINT64_MAX: all */
	uint32_t prefetch_rate; /* bytes per second for the domain's prefetch; 0: no limit */
};

#endif
