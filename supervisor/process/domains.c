/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "domains.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "netcheck.h"
#include "pool.h"
#include "program-export.h"
#include "sandbox.h"

_Static_assert(CONFIG_WORKERS_MAX == MAX_WORKERS_PER_DOMAIN, "the config and the pool agree on a domain's workers");
_Static_assert(sizeof(((struct domain *)0)->name) > CONFIG_NAME_MAX, "a domain holds any name");

/* Why the last load, reload or check was refused, for a client waiting for the verdict. */
static char refusal[512];

void domains_set_refusal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(refusal, sizeof(refusal), fmt, ap);
	va_end(ap);
}

const char *domains_refusal(void)
{
	return refusal;
}

static int load_config(const char *path, struct config *out, bool at_start)
{
	struct config_errors errs = { 0 };
	int r = at_start ? config_load_at_start(path, out, &errs) : config_load(path, out, &errs);

	if (r < 0 && errs.n == 0) {
		domains_set_refusal("cannot read the config file %s: %s", path, ERRSTR(r));
		return log_error_errno(r, "Cannot read the config file %s", path);
	}
	if (r < 0) {
		config_errors_log(&errs);
		/* The first error names file and line; the log has them all. */
		if (errs.n + errs.dropped > 1)
			domains_set_refusal("%s (and %u more errors: see the log)", errs.list[0].text,
					    errs.n + errs.dropped - 1);
		else
			domains_set_refusal("%s", errs.list[0].text);
	}
	return r;
}

int domains_load_config(const char *path, struct config *out)
{
	return load_config(path, out, false);
}

int domains_load_config_at_start(const char *path, struct config *out)
{
	return load_config(path, out, true);
}

static void domain_from_config(struct domain *d, const struct config_domain *cd)
{
	*d = (struct domain){ .state = DOMAIN_ACTIVE, .blob_dir_fd = -1, .settings = cd->settings };
	snprintf(d->name, sizeof(d->name), "%s", cd->name);
	d->sandbox.user = d->settings.worker_user;
}

static void take_cache_settings(struct supervisor *s, const struct config *c)
{
	s->cfg.cache_dir = c->cache.dir;
	s->cfg.tag = c->cache.tag;
	s->cfg.device_path = c->cache.device;
	s->cfg.request_timeout_ms = c->cache.request_timeout_ms;
	s->cfg.crash_limit = c->cache.crash_limit;
	s->cfg.max_objects = c->cache.max_objects;
	s->cfg.space = c->cache.space;
}

int domains_from_config(struct supervisor *s, struct config *c)
{
	/* Room for every domain a config may name, so a reload never moves one. */
	struct domain *domains = calloc(CONFIG_MAX_DOMAINS, sizeof(*domains));

	if (!domains)
		return log_error_errno(-ENOMEM, "Out of memory for %u domains", c->n_domains);
	for (unsigned i = 0; i < c->n_domains; i++)
		domain_from_config(&domains[i], &c->domains[i]);
	s->domains = domains;
	s->n_domains = c->n_domains;
	s->config = c;
	take_cache_settings(s, c);
	return 0;
}

void domains_from_args(struct supervisor *s, const struct config *args, struct domain *d)
{
	domain_from_config(d, &args->domains[0]);
	s->domains = d;
	s->n_domains = 1;
	s->config = NULL;
	take_cache_settings(s, args);
}

/* What a domain needs before a worker can start: a usable user and its blob dir. Sets the refusal. */
static int domain_open(struct domain *d)
{
	char why[512];

	/* A worker must never be the one to find out that its user is missing. */
	if (sandbox_resolve_user(&d->sandbox) < 0) {
		domains_set_refusal("domain %s: worker user %s cannot be used (see the log)", d->name, d->sandbox.user);
		return -EINVAL;
	}
	if (d->settings.remote.origin.kind != ORIGIN_NONE &&
	    !netcheck_origin_reachable(&d->settings.remote, why, sizeof(why))) {
		domains_set_refusal("domain %s: %s", d->name, why);
		log_error("domain %s fetches from %s, but %s", d->name, d->settings.remote.origin.host, why);
		return -ENETUNREACH;
	}
	d->blob_dir_fd = open(d->settings.blob_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->blob_dir_fd < 0) {
		int r = -errno;
		domains_set_refusal("domain %s: blob dir %s: %s", d->name, d->settings.blob_dir, ERRSTR(r));
		return log_error_errno(r, "domain %s: blob dir %s", d->name, d->settings.blob_dir);
	}
	return 0;
}

int domains_prepare(struct supervisor *s)
{
	unsigned served = 0;

	for (unsigned i = 0; i < s->n_domains; i++) {
		struct domain *d = &s->domains[i];
		/*
		 * One missing blob dir must not take every domain down (issue 17,
		 * item 3): this one takes no volume (its OPENs are refused) until a
		 * reload finds it whole and adds it back at this free index.
		 */
		if (domain_open(d) < 0) {
			d->state = DOMAIN_UNUSED;
			log_error("domain %s: not served: %s; fix it and reload", d->name, refusal);
			continue;
		}
		served++;
	}
	if (served < s->n_domains)
		log_error("serving %u of %u domains (errors above)", served, s->n_domains);
	return (int)served;
}

int domains_check(struct supervisor *s)
{
	int r = 0;

	for (unsigned i = 0; i < s->n_domains; i++) {
		struct domain *d = &s->domains[i];
		if (domain_open(d) < 0)
			r = -EINVAL;
		else
			close(TAKE_FD(d->blob_dir_fd));
	}
	return r;
}

/* The running domain of that name, active or retired, or -1. */
static int domain_by_name(const struct supervisor *s, const char *name)
{
	for (unsigned i = 0; i < s->n_domains; i++)
		if (s->domains[i].state != DOMAIN_UNUSED && strcmp(s->domains[i].name, name) == 0)
			return (int)i;
	return -1;
}

int domains_route(const struct supervisor *s, const char *volume_key)
{
	int ci = config_route(s->config, volume_key);

	if (ci < 0)
		return ci;
	ci = domain_by_name(s, s->config->domains[ci].name);
	return ci < 0 ? -ENOENT : ci;
}

static bool domain_has_workers(const struct domain *d)
{
	for (unsigned i = 0; i < WORKER_SLOTS; i++)
		if (d->workers[i].state != WORKER_EMPTY)
			return true;
	return false;
}

/* An index a new domain can take: released, with every old worker gone. */
static bool index_is_free(const struct domain *d)
{
	return d->state == DOMAIN_UNUSED && !domain_has_workers(d);
}

/* A free index below n_domains, or the next one never used; -1 if none. */
static int free_index(const struct supervisor *s)
{
	for (unsigned i = 0; i < s->n_domains; i++)
		if (index_is_free(&s->domains[i]))
			return (int)i;
	return s->n_domains < CONFIG_MAX_DOMAINS ? (int)s->n_domains : -1;
}

static unsigned domain_objects(const struct supervisor *s, unsigned di)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < s->objects.n_handles; i++)
		n += s->objects.by_handle[i] && s->objects.by_handle[i]->domain == di;
	return n;
}

/* The bound cache cannot move under open objects: that takes a stop and a start. */
static int check_cache_unchanged(const struct config_cache *now, const struct config_cache *next, const char *path)
{
	const char *what = strcmp(now->dir, next->dir) != 0	    ? "dir"
			   : strcmp(now->tag, next->tag) != 0	    ? "tag"
			   : strcmp(now->device, next->device) != 0 ? "device"
								    : NULL;

	if (!what)
		return 0;
	domains_set_refusal("%s: [cache] %s cannot change while the cache is bound", path, what);
	return log_error_errno(-EINVAL,
			       "%s: [cache] %s cannot change while the cache is bound; put it back, or "
			       "stop the service and start it again (that closes every open object)",
			       path, what);
}

/* Slots the new config needs beyond the domains it keeps. */
static int check_room(const struct supervisor *s, const struct config *next)
{
	unsigned wanted = 0, room = CONFIG_MAX_DOMAINS - s->n_domains;

	for (unsigned i = 0; i < next->n_domains; i++)
		wanted += domain_by_name(s, next->domains[i].name) < 0;
	for (unsigned i = 0; i < s->n_domains; i++)
		room += index_is_free(&s->domains[i]);
	if (wanted <= room)
		return 0;
	domains_set_refusal("the new config adds %u domains but only %u places are free", wanted, room);
	return log_error_errno(-ENOSPC,
			       "the new config adds %u domains but only %u places are free (%d at most, "
			       "counting removed domains that still serve open objects)",
			       wanted, room, CONFIG_MAX_DOMAINS);
}

static void close_staged(struct domain *staged, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (staged[i].blob_dir_fd >= 0)
			close(staged[i].blob_dir_fd);
}

/* Every new domain, ready to run, before anything running changes. */
static int stage_domains(const struct config *next, struct domain *staged)
{
	for (unsigned i = 0; i < next->n_domains; i++) {
		domain_from_config(&staged[i], &next->domains[i]);
		if (domain_open(&staged[i]) < 0) {
			close_staged(staged, i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

/* Takes a staged domain's settings; its workers, counters and index stay. */
static void domain_update(struct domain *d, struct domain *next)
{
	if (d->blob_dir_fd >= 0)
		close(d->blob_dir_fd);
	d->state = DOMAIN_ACTIVE;
	d->blob_dir_fd = TAKE_FD(next->blob_dir_fd);
	d->settings = next->settings;
	d->sandbox = next->sandbox;
	d->sandbox.user = d->settings.worker_user;
}

static void domain_add(struct supervisor *s, unsigned di, struct domain *next)
{
	struct domain *d = &s->domains[di];

	*d = *next;
	d->sandbox.user = d->settings.worker_user;
	next->blob_dir_fd = -1;
	if (di >= s->n_domains)
		s->n_domains = di + 1;
}

/* A retired domain whose last object is gone: its workers leave, its index frees. */
static void domain_release(struct supervisor *s, struct domain *d)
{
	for (unsigned i = 0; i < WORKER_SLOTS; i++) {
		struct worker *w = &d->workers[i];
		w->wanted = false;
		w->retiring = w->state != WORKER_EMPTY;
	}
	program_export_stop(s, d);
	if (d->blob_dir_fd >= 0)
		close(d->blob_dir_fd);
	d->blob_dir_fd = -1;
	d->state = DOMAIN_UNUSED;
	log_notice("domain %s: removed from the config and no object left open: its workers leave", d->name);
}

void domains_object_gone(struct supervisor *s, unsigned di)
{
	if (di < s->n_domains && s->domains[di].state == DOMAIN_RETIRED && domain_objects(s, di) == 0)
		domain_release(s, &s->domains[di]);
}

static void retire_missing(struct supervisor *s, const struct config *next)
{
	for (unsigned i = 0; i < s->n_domains; i++) {
		struct domain *d = &s->domains[i];
		bool kept = false;
		for (unsigned j = 0; j < next->n_domains && !kept; j++)
			kept = strcmp(d->name, next->domains[j].name) == 0;
		if (d->state != DOMAIN_ACTIVE || kept)
			continue;
		d->state = DOMAIN_RETIRED;
		log_notice("domain %s: removed from the config; it takes no new volume and serves its %u open "
			   "objects until they close (a restart before then drops them)",
			   d->name, domain_objects(s, i));
		domains_object_gone(s, i);
	}
}

static void apply_domains(struct supervisor *s, const struct config *next, struct domain *staged)
{
	retire_missing(s, next);
	for (unsigned i = 0; i < next->n_domains; i++) {
		int di = domain_by_name(s, staged[i].name);
		if (di >= 0) {
			domain_update(&s->domains[di], &staged[i]);
		} else {
			di = free_index(s); /* check_room() made sure there is one */
			domain_add(s, (unsigned)di, &staged[i]);
			log_notice("domain %s: added, blob dir %s", s->domains[di].name,
				   s->domains[di].settings.blob_dir);
		}
		pool_upgrade(s, &s->domains[di]);
	}
}

static int reload_config(struct supervisor *s)
{
	struct config next;
	_cleanup_free_ struct domain *staged = NULL;
	int r = domains_load_config(s->config_path, &next);

	if (r < 0)
		return r;
	r = check_cache_unchanged(&s->config->cache, &next.cache, s->config_path);
	if (r == 0)
		r = check_room(s, &next);
	staged = r == 0 ? calloc(next.n_domains, sizeof(*staged)) : NULL;
	if (r == 0 && !staged)
		domains_set_refusal("out of memory"),
			r = log_error_errno(-ENOMEM, "Out of memory for %u domains", next.n_domains);
	if (r == 0)
		r = stage_domains(&next, staged);
	if (r < 0) {
		config_free(&next);
		return r;
	}
	apply_domains(s, &next, staged);
	/* The cache strings s->cfg points at are equal and stay where they are. */
	config_free(s->config);
	*s->config = next;
	take_cache_settings(s, s->config);
	return 0;
}

int domains_reload(struct supervisor *s)
{
	uint64_t t0 = now_ms();
	int r;

	refusal[0] = '\0';
	if (!s->config) {
		log_notice("reload: no config file (--blob-dir): starting new workers only");
		for (unsigned i = 0; i < s->n_domains; i++)
			pool_upgrade(s, &s->domains[i]);
		return 0;
	}
	log_notice("reload: reading %s", s->config_path);
	r = reload_config(s);
	if (r < 0)
		return log_error_errno(r,
				       "reload refused, the running config stays: fix %s (errors above) and "
				       "reload again",
				       s->config_path);
	log_notice("reload: %s applied, %u domains, in %" PRIu64 " ms", s->config_path, s->config->n_domains,
		   now_ms() - t0);
	return 0;
}
