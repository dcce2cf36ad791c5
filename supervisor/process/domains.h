/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The domains the supervisor serves: from the config file or from --blob-dir,
 * and their replacement on SIGHUP. Domains live at fixed indexes (epoll tags,
 * objects and requests name them by index), so a reload changes one in
 * place, fills a free one, or retires one; it never moves a running domain.
 */
#ifndef CFS_DOMAINS_H
#define CFS_DOMAINS_H

#include "config.h"
#include "supervisor.h"

/* Loads and validates a config file, logging every error as PATH:LINE. */
int domains_load_config(const char *path, struct config *out);
/* The same for a start: a missing blob dir leaves its domain out (domains_prepare()), not the file. */
int domains_load_config_at_start(const char *path, struct config *out);
/* Builds s->domains in the config's order and takes its [cache] settings; c must outlive s. */
int domains_from_config(struct supervisor *s, struct config *c);
/* --blob-dir mode: the one domain d from the command line (config_args_*()), and its [cache] settings; s->config stays NULL. */
void domains_from_args(struct supervisor *s, const struct config *args, struct domain *d);
/*
 * Resolves every domain's worker user and opens its blob dir: before any
 * fork. A domain that cannot have them is logged and left unused (its
 * volumes are refused until a reload brings it back); the others are served.
 * Returns how many domains are served.
 */
int domains_prepare(struct supervisor *s);
/* --check-config and the check before a re-exec: every domain's user and blob dir; 0 or -EINVAL (logged). */
int domains_check(struct supervisor *s);
/* Why the last load, reload or check failed: one line naming file and line, or domain and path. */
const char *domains_refusal(void);
/* Sets that line, for a refusal found elsewhere (the worker binary). */
__attribute__((format(printf, 1, 2))) void domains_set_refusal(const char *fmt, ...);
/* The active domain serving a volume key, or -ENOENT. */
int domains_route(const struct supervisor *s, const char *volume_key);
/*
 * SIGHUP: re-reads the config file and applies it without closing an open
 * object. A domain kept or changed gets a new generation of workers (the
 * binary on disk, the new settings) while the old one drains; a new domain
 * starts; a removed one keeps serving its open objects, takes no new volume,
 * and is released with its last object. A config that fails to load or
 * cannot be applied changes nothing. Returns 0 or -errno (logged).
 */
int domains_reload(struct supervisor *s);
/* Called after an object of domain di went away: a retired domain may be done. */
void domains_object_gone(struct supervisor *s, unsigned di);

#endif
