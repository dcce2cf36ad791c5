/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "domains.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "cfs-log.h"

_Static_assert(CONFIG_WORKERS_MAX == MAX_WORKERS_PER_DOMAIN, "the config and the pool agree on a domain's workers");

static void domain_from_config(struct domain *d, const struct config_domain *cd)
{
	*d = (struct domain){ .blob_dir_fd = -1, .n_workers = cd->workers,
			      .request_timeout_ms = cd->request_timeout_ms,
			      .sandbox = { .user = cd->worker_user, .seccomp_log = cd->sandbox_log } };
	snprintf(d->name, sizeof(d->name), "%s", cd->name);
	snprintf(d->blob_dir, sizeof(d->blob_dir), "%s", cd->blob_dir);
}

int domains_from_config(struct supervisor *s, struct config *c)
{
	struct domain *domains = calloc(c->n_domains, sizeof(*domains));

	if (!domains)
		return log_error_errno(-ENOMEM, "Out of memory for %u domains", c->n_domains);
	for (unsigned i = 0; i < c->n_domains; i++)
		domain_from_config(&domains[i], &c->domains[i]);
	s->domains = domains;
	s->n_domains = c->n_domains;
	s->config = c;
	s->cfg.cache_dir = c->cache.dir;
	s->cfg.tag = c->cache.tag;
	s->cfg.device_path = c->cache.device;
	s->cfg.request_timeout_ms = c->cache.request_timeout_ms;
	s->cfg.crash_limit = c->cache.crash_limit;
	return 0;
}

int domains_prepare(struct supervisor *s)
{
	for (unsigned i = 0; i < s->n_domains; i++) {
		struct domain *d = &s->domains[i];
		/* A worker must never be the one to find out that its user is missing. */
		if (sandbox_resolve_user(&d->sandbox) < 0)
			return -EINVAL;
		d->blob_dir_fd = open(d->blob_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (d->blob_dir_fd < 0)
			return log_error_errno(errno, "domain %s: blob dir %s: %s", d->name, d->blob_dir, ERRSTR(errno));
	}
	return 0;
}
