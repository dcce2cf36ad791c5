/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What sections and keys mean: one table of keys per section kind, a parser
 * per value type, and the checks that need more than one line (required keys,
 * volume patterns claimed twice, no domain at all). Every problem becomes an
 * error naming its line and what to write instead; parsing goes on so one
 * run lists them all.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "config-keys.h"

#define ONE_CACHE_WHY                                                                                 \
	"the kernel allows one cachefiles cache per machine (a second open of /dev/cachefiles fails " \
	"with EBUSY): serve several sources as [domain NAME] sections behind the one [cache]"

enum key_type {
	KEY_UINT,
	KEY_DURATION,
	KEY_SIZE,
	KEY_PREFETCH,
	KEY_SECCOMP,
	KEY_PATH,
	KEY_TAG,
	KEY_USER, /* key_parse() */
	KEY_BLOB_DIR,
	KEY_VOLUME, /* the file's only */
	KEY_PERCENT,
	KEY_ORIGIN,
	KEY_PROXY,
	KEY_REDIRECT_HOSTS,
	KEY_CREDENTIALS,
	KEY_CA_FILE,
};

/*
 * A key: its value's type and bounds, where it goes, its default, and its
 * name on the command line of --blob-dir mode. The one place a setting is
 * defined: the file, the command line, --help (config_key_default()) and the
 * running domain (struct domain_settings) all take it from here.
 */
struct key_def {
	const char *name;
	enum key_type type;
	size_t offset, size; /* of the field in struct config_cache or config_domain */
	uint64_t min, max;
	const char *def;	/* the default, as the file would write it; NULL: 0 or empty */
	const char *option;	/* --blob-dir mode's option; NULL: the file's only */
	char short_opt;		/* and its short form; 0: none */
	const char *if_missing; /* required keys: what to write; NULL: optional */
	const char *why_max;	/* why a number may not be larger, if that is not plain */
};

#define FIELD(type, field) .offset = offsetof(struct type, field), .size = sizeof(((struct type *)0)->field)
#define SETTING(field) FIELD(config_domain, settings.field)
#define MS_PER_HOUR (3600 * 1000)

static const struct key_def cache_keys[] = {
	{ "dir", KEY_PATH, FIELD(config_cache, dir), .def = "/var/cache/cachefiles", .option = "--cache-dir",
	  .short_opt = 'd' },
	{ "tag", KEY_TAG, FIELD(config_cache, tag), .def = "cfs", .option = "--tag", .short_opt = 't' },
	{ "device", KEY_PATH, FIELD(config_cache, device), .def = "/dev/cachefiles", .option = "--device" },
	/* = FileDescriptorStoreMax in the unit, less the device and the state memfd */
	{ "max_objects", KEY_UINT, FIELD(config_cache, max_objects), 1, MAX_OBJECTS_LIMIT, .def = MAX_OBJECTS_DEFAULT,
	  .why_max = "after a restart or re-exec every object's fd comes back with its name, all names in one "
		     "LISTEN_FDNAMES environment string, and Linux refuses one over 128 KiB: more objects "
		     "could not all be recovered" },
	{ "request_timeout", KEY_DURATION, FIELD(config_cache, request_timeout_ms), 1, MS_PER_HOUR, .def = "30s",
	  .option = "--request-timeout" },
	{ "crash_limit", KEY_UINT, FIELD(config_cache, crash_limit), 1, 100, .def = "3", .option = "--crash-limit" },
	/* cachefilesd's names and defaults (cachefilesd.conf(5)); sent at bind (device.c). */
	{ "brun", KEY_PERCENT, FIELD(config_cache, space.blocks.run), 0, 99, .def = "10%", .option = "--brun" },
	{ "bcull", KEY_PERCENT, FIELD(config_cache, space.blocks.cull), 0, 99, .def = "7%", .option = "--bcull" },
	{ "bstop", KEY_PERCENT, FIELD(config_cache, space.blocks.stop), 0, 99, .def = "3%", .option = "--bstop" },
	{ "frun", KEY_PERCENT, FIELD(config_cache, space.files.run), 0, 99, .def = "10%", .option = "--frun" },
	{ "fcull", KEY_PERCENT, FIELD(config_cache, space.files.cull), 0, 99, .def = "7%", .option = "--fcull" },
	{ "fstop", KEY_PERCENT, FIELD(config_cache, space.files.stop), 0, 99, .def = "3%", .option = "--fstop" },
	{ "max_size", KEY_SIZE, FIELD(config_cache, space.max_size), 0, 1ull << 60, .def = "0",
	  .option = "--max-size" },
};

static const struct key_def domain_keys[] = {
	{ "volume", KEY_VOLUME, .if_missing = "list the volume keys it serves, e.g. volume = erofs,images-*" },
	{ "blob_dir", KEY_BLOB_DIR, SETTING(blob_dir), .if_missing = "set it to the directory holding its blobs" },
	{ "workers", KEY_UINT, SETTING(n_workers), 1, CONFIG_WORKERS_MAX, .def = "2", .option = "--workers",
	  .short_opt = 'w' },
	{ "worker_user", KEY_USER, SETTING(worker_user), .def = "cachefiles-worker", .option = "--worker-user" },
	/* No default: the cache's (config_finish()). */
	{ "request_timeout", KEY_DURATION, SETTING(request_timeout_ms), 1, MS_PER_HOUR },
	{ "sandbox", KEY_SECCOMP, SETTING(seccomp_log), .def = "enforce", .option = "--seccomp" },
	/* Defaults measured in the test VM: see docs/design.md, "Amplified fills" and "Readahead". */
	{ "read_window", KEY_SIZE, SETTING(read_window), 0, 64u << 20, .def = "1M", .option = "--read-window" },
	{ "readahead", KEY_SIZE, SETTING(readahead), 0, 1u << 30, .def = "32M", .option = "--readahead" },
	{ "prefetch", KEY_PREFETCH, SETTING(prefetch), 0, 1ull << 50, .def = "none", .option = "--prefetch" },
	{ "prefetch_rate", KEY_SIZE, SETTING(prefetch_rate), 0, 1u << 30, .def = "0", .option = "--prefetch-rate" },
	/* Remote blobs (docs/design.md, "Remote blobs"): the file's only. */
	{ "origin", KEY_ORIGIN, SETTING(remote.origin) },
	{ "proxy", KEY_PROXY, SETTING(remote.proxy) },
	{ "redirect_hosts", KEY_REDIRECT_HOSTS, SETTING(remote.redirect) },
	{ "credentials", KEY_CREDENTIALS, SETTING(remote.credentials) },
	{ "ca_file", KEY_CA_FILE, SETTING(remote.ca_file) },
	/* No default in the table: only a domain with an origin has one (remote_finish()). */
	{ "fetch_deadline", KEY_DURATION, SETTING(remote.fetch_deadline_ms), 1000, MS_PER_HOUR },
};

/*
 * A remote domain's fetch_deadline unless it sets one: below the default
 * request_timeout (30s), which kills a worker that holds a request longer.
 */
#define FETCH_DEADLINE_DEFAULT_MS 20000

_Static_assert(ARRAY_SIZE(cache_keys) <= ARRAY_SIZE(((struct parse *)0)->key_lines), "key_lines too small");
_Static_assert(ARRAY_SIZE(domain_keys) <= ARRAY_SIZE(((struct parse *)0)->key_lines), "key_lines too small");

/* ---- values ---- */

static int store_number(const struct key_def *k, void *field, uint64_t v)
{
	switch (k->size) {
	case sizeof(uint32_t): *(uint32_t *)field = (uint32_t)v; return 0;
	case sizeof(uint64_t): *(uint64_t *)field = v; return 0;
	}
	abort(); /* a key_def whose field is neither */
}

static int store_string(const struct key_def *k, void *field, const char *value, char *why, size_t n)
{
	if (strlen(value) >= k->size) {
		snprintf(why, n, "longer than %zu bytes", k->size - 1);
		return -EINVAL;
	}
	strcpy(field, value);
	return 0;
}

/*
 * Parses value into the field, the same for the file and the command line
 * (bare_ms: a duration may be a plain number of milliseconds). Returns 0, or
 * -EINVAL with what was expected in why, to follow "KEY = 'VALUE': ".
 */
static int key_parse(const struct key_def *k, const char *value, bool bare_ms, void *field, char *why, size_t n)
{
	char lo[32], hi[32];
	uint64_t v;
	bool b;

	switch (k->type) {
	case KEY_UINT:
		if (config_parse_uint(value, k->min, k->max, &v) == 0)
			return store_number(k, field, v);
		b = k->why_max && config_parse_uint(value, k->max + 1, UINT64_MAX, &v) == 0; /* too large */
		snprintf(why, n, "expected a whole number from %llu to %llu%s%s", (unsigned long long)k->min,
			 (unsigned long long)k->max, b ? "; " : "", b ? k->why_max : "");
		break;
	case KEY_DURATION:
		if (config_parse_duration_ms(value, bare_ms, k->min, k->max, &v) == 0)
			return store_number(k, field, v);
		snprintf(why, n, "expected a duration from %s to %s%s, e.g. 30s or 500ms%s",
			 config_format_duration(k->min, lo), config_format_duration(k->max, hi),
			 bare_ms ? "" : " with its unit", bare_ms ? ", or a number of milliseconds" : "");
		break;
	case KEY_SIZE:
		if (config_parse_size(value, k->max, &v) == 0)
			return store_number(k, field, v);
		snprintf(why, n, "expected a size from 0 to %s in multiples of %s, e.g. 512K or 4M",
			 config_format_size(k->max, hi), config_format_size(CFS_PAGE_SIZE, lo));
		break;
	case KEY_PERCENT:
		if (config_parse_percent(value, k->max, &v) == 0)
			return store_number(k, field, v);
		snprintf(why, n, "expected a percentage from 0%% to %llu%%, e.g. 10%%", (unsigned long long)k->max);
		break;
	case KEY_PREFETCH:
		if (config_parse_prefetch(value, k->max, &v) == 0)
			return store_number(k, field, v);
		snprintf(why, n,
			 "expected 'none', 'all' or the size of each blob's start to fill, in multiples of %s, "
			 "e.g. 64M",
			 config_format_size(CFS_PAGE_SIZE, lo));
		break;
	case KEY_SECCOMP:
		if (config_parse_seccomp_mode(value, &b) == 0) {
			*(bool *)field = b;
			return 0;
		}
		snprintf(why, n,
			 "expected 'enforce' (a forbidden system call kills the worker) or 'log' (it is only "
			 "logged)");
		break;
	case KEY_PATH:
		if (value[0] == '/')
			return store_string(k, field, value, why, n);
		snprintf(why, n, "expected an absolute path");
		break;
	case KEY_TAG:
		if (config_name_is_valid(value, CONFIG_NAME_MAX))
			return store_string(k, field, value, why, n);
		snprintf(why, n, "expected 1 to %d of A-Z a-z 0-9 _ . -", CONFIG_NAME_MAX);
		break;
	case KEY_USER:
		if (config_name_is_valid(value, DOMAIN_USER_MAX) && value[0] != '-')
			return store_string(k, field, value, why, n);
		snprintf(why, n, "expected a user name, 1 to %d of A-Z a-z 0-9 _ . - not starting with '-'",
			 DOMAIN_USER_MAX);
		break;
	case KEY_ORIGIN: return config_parse_origin(value, field, why, n);
	case KEY_PROXY: return config_parse_proxy(value, field, why, n);
	case KEY_REDIRECT_HOSTS: return config_parse_redirect_hosts(value, field, why, n);
	case KEY_CREDENTIALS:
		if (config_check_credentials(value, why, n) == 0)
			return store_string(k, field, value, why, n);
		break;
	case KEY_CA_FILE:
		if (config_check_ca_file(value, why, n) == 0)
			return store_string(k, field, value, why, n);
		break;
	case KEY_BLOB_DIR:
	case KEY_VOLUME: abort(); /* set_value() reads them */
	}
	return -EINVAL;
}

/* Every key's default, through the parser that reads the file, into base (a config_cache or config_domain). */
static void key_defaults(const struct key_def *keys, size_t n, void *base)
{
	char why[512];

	for (size_t i = 0; i < n; i++)
		if (keys[i].def &&
		    key_parse(&keys[i], keys[i].def, false, (char *)base + keys[i].offset, why, sizeof(why)) < 0)
			abort(); /* a default the table's own checks refuse */
}

static void cache_defaults(struct config_cache *c)
{
	*c = (struct config_cache){ 0 };
	key_defaults(cache_keys, ARRAY_SIZE(cache_keys), c);
}

static void domain_defaults(struct config_domain *d, const char *name, unsigned line)
{
	*d = (struct config_domain){ .line = line };
	snprintf(d->name, sizeof(d->name), "%s", name);
	key_defaults(domain_keys, ARRAY_SIZE(domain_keys), d);
}

int config_defaults(struct parse *p)
{
	cache_defaults(&p->cfg.cache);
	/* Allocated once so pointers into it stay valid while the file is read. */
	p->cfg.domains = calloc(CONFIG_MAX_DOMAINS, sizeof(*p->cfg.domains));
	return p->cfg.domains ? 0 : -ENOMEM;
}

/* A key by its name in the file (args false) or its option (args true): "workers = 2", "--workers 2". */
static const char *key_label(const struct key_def *k, bool args)
{
	return args ? k->option : k->name;
}

static const struct key_def *domain_key(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(domain_keys); i++)
		if (strcmp(domain_keys[i].name, name) == 0)
			return &domain_keys[i];
	abort();
}

/* The checks between keys of one domain; 0, or -EINVAL with the problem in why. */
static int domain_check(const struct config_domain *d, bool args, char *why, size_t n)
{
	if (d->settings.prefetch && d->settings.n_workers < 2) {
		snprintf(why, n, "%s needs %s%s2 or more (one worker always stays free for READs)",
			 key_label(domain_key("prefetch"), args), key_label(domain_key("workers"), args),
			 args ? " " : " = ");
		return -EINVAL;
	}
	return 0;
}

static const struct key_def *find_key(const struct key_def *keys, size_t n, const char *name);

/* "bcull = 7%" in the file, "--bcull 7" on the command line. */
static void level_label(const char *name, unsigned value, bool args, char buf[static 48])
{
	const struct key_def *k = find_key(cache_keys, ARRAY_SIZE(cache_keys), name);

	snprintf(buf, 48, "%s%s%u%s", key_label(k, args), args ? " " : " = ", value, args ? "" : "%");
}

/*
 * cachefiles refuses thresholds out of order, at the command and again at
 * bind (daemon.c: cachefiles_daemon_bcull, cachefiles_daemon_bind), and
 * cachefilesd checks the same: 0 <= stop < cull < run < 100.
 */
static int levels_check(const struct space_levels *l, char kind, bool args, char *why, size_t n)
{
	const char *what = kind == 'b' ? "blocks" : "files";
	char run[8], cull[8], stop[8], a[48], b[48];

	snprintf(run, sizeof(run), "%crun", kind);
	snprintf(cull, sizeof(cull), "%ccull", kind);
	snprintf(stop, sizeof(stop), "%cstop", kind);
	if (space_levels_valid(l))
		return 0;
	if (l->stop >= l->cull) {
		level_label(stop, l->stop, args, a);
		level_label(cull, l->cull, args, b);
	} else {
		level_label(cull, l->cull, args, a);
		level_label(run, l->run, args, b);
	}
	snprintf(why, n,
		 "%s must be below %s: cachefiles takes only 0 <= %s < %s < %s < 100 (percent of the cache fs's free "
		 "%s)",
		 a, b, stop, cull, run, what);
	return -EINVAL;
}

/* The checks between keys of [cache]; 0, or -EINVAL with the problem in why. */
static int cache_check(const struct config_cache *c, bool args, char *why, size_t n)
{
	if (levels_check(&c->space.blocks, 'b', args, why, n) < 0)
		return -EINVAL;
	return levels_check(&c->space.files, 'f', args, why, n);
}

/* A domain without its own request_timeout takes the cache's. */
static void inherit_cache_settings(struct config *cfg)
{
	for (unsigned i = 0; i < cfg->n_domains; i++)
		if (cfg->domains[i].settings.request_timeout_ms == 0)
			cfg->domains[i].settings.request_timeout_ms = cfg->cache.request_timeout_ms;
}

static void error_here(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error_here(struct parse *p, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config_errors_add(p->errs, p->path, p->lineno, "%s", msg);
}

/* ---- sections ---- */

/* proxy, redirect_hosts, credentials, ca_file and fetch_deadline say how to fetch: without an origin nothing is. */
static void remote_keys_need_origin(struct parse *p)
{
	static const char *const fetch_keys[] = { "proxy", "redirect_hosts", "credentials", "ca_file",
						  "fetch_deadline" };

	if (p->domain->settings.remote.origin.kind != ORIGIN_NONE)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(fetch_keys); i++) {
		unsigned line = p->key_lines[domain_key(fetch_keys[i]) - domain_keys];
		if (line)
			config_errors_add(p->errs, p->path, line,
					  "'%s' is set but %s has no origin: its blobs are local files; add "
					  "origin = registry|url https://... or remove '%s'",
					  fetch_keys[i], p->label, fetch_keys[i]);
	}
}

static void section_end(struct parse *p)
{
	char why[512];

	if (p->section == SECTION_CACHE && p->cache == &p->cfg.cache &&
	    cache_check(p->cache, false, why, sizeof(why)) < 0)
		config_errors_add(p->errs, p->path, p->section_line, "%s: %s", p->label, why);
	if (p->section != SECTION_DOMAIN || !p->domain_is_real)
		return;
	if (domain_check(p->domain, false, why, sizeof(why)) < 0)
		config_errors_add(p->errs, p->path, p->section_line, "%s: %s", p->label, why);
	remote_keys_need_origin(p);
	for (size_t i = 0; i < ARRAY_SIZE(domain_keys); i++) {
		if (!domain_keys[i].if_missing)
			continue;
		if (p->key_lines[i] == 0)
			config_errors_add(p->errs, p->path, p->section_line, "%s lacks '%s': %s", p->label,
					  domain_keys[i].name, domain_keys[i].if_missing);
		/* "volume =" with nothing after it would serve nothing, silently. */
		else if (domain_keys[i].type == KEY_VOLUME && p->volume_tokens == 0)
			config_errors_add(p->errs, p->path, p->key_lines[i], "%s: 'volume' lists no pattern: %s",
					  p->label, domain_keys[i].if_missing);
	}
}

static void cache_begin(struct parse *p, const char *name)
{
	p->section = SECTION_CACHE;
	snprintf(p->label, sizeof(p->label), "[cache]");
	p->cache = p->cache_line ? &p->scratch_cache : &p->cfg.cache;
	if (name[strlen("cache")])
		error_here(p, "[%s]: the cache takes no name: " ONE_CACHE_WHY, name);
	else if (p->cache_line)
		error_here(p, "second [cache] section (the first is at line %u): " ONE_CACHE_WHY, p->cache_line);
	if (!p->cache_line)
		p->cache_line = p->lineno;
}

static const struct config_domain *find_domain(const struct parse *p, const char *name)
{
	for (unsigned i = 0; i < p->cfg.n_domains; i++)
		if (strcmp(p->cfg.domains[i].name, name) == 0)
			return &p->cfg.domains[i];
	return NULL;
}

static void domain_begin(struct parse *p, const char *name)
{
	const struct config_domain *first;

	while (isspace((unsigned char)*name))
		name++;
	p->section = SECTION_DOMAIN;
	p->domain_headers++;
	snprintf(p->label, sizeof(p->label), "[domain %.63s]", name);
	/* A domain in error is still read, into a stand-in, so its keys are checked too. */
	p->domain = &p->scratch_domain;
	p->domain_is_real = false;
	domain_defaults(p->domain, name, p->lineno);
	if (!*name)
		error_here(p, "[domain] needs a name: [domain NAME]");
	else if (!config_name_is_valid(name, CONFIG_NAME_MAX))
		error_here(p, "invalid domain name '%s': use 1 to %d of A-Z a-z 0-9 _ . -", name, CONFIG_NAME_MAX);
	else if ((first = find_domain(p, name)))
		error_here(p, "duplicate [domain %s] (the first is at line %u): domain names must be unique", name,
			   first->line);
	else if (p->cfg.n_domains == CONFIG_MAX_DOMAINS)
		error_here(p, "more than %d domains", CONFIG_MAX_DOMAINS);
	else {
		p->domain = &p->cfg.domains[p->cfg.n_domains++];
		p->domain_is_real = true;
		domain_defaults(p->domain, name, p->lineno);
	}
}

static bool is_section(const char *name, const char *kind)
{
	size_t n = strlen(kind);
	return strncmp(name, kind, n) == 0 && (name[n] == '\0' || isspace((unsigned char)name[n]));
}

void config_section_begin(struct parse *p, const char *name)
{
	section_end(p);
	p->section_line = p->lineno;
	memset(p->key_lines, 0, sizeof(p->key_lines));
	p->last_key = NULL;
	p->volumes_overflowed = false;
	p->volume_tokens = 0;
	if (!name)
		p->section = SECTION_IGNORED;
	else if (is_section(name, "cache"))
		cache_begin(p, name);
	else if (is_section(name, "domain"))
		domain_begin(p, name + strlen("domain"));
	else {
		p->section = SECTION_IGNORED;
		error_here(p, "unknown section [%s]: expected [cache] or [domain NAME]", name);
	}
}

/* ---- volumes ---- */

/* The other real domain that lists exactly this pattern, if any. */
static const struct config_domain *claimed_elsewhere(const struct parse *p, const char *pattern,
						     const struct config_volume **claim)
{
	for (unsigned o = 0; o < p->cfg.n_domains; o++) {
		const struct config_domain *other = &p->cfg.domains[o];
		if (other == p->domain)
			continue;
		for (unsigned i = 0; i < other->n_volumes; i++)
			if (strcmp(other->volumes[i].pattern, pattern) == 0) {
				*claim = &other->volumes[i];
				return other;
			}
	}
	return NULL;
}

static void volume_add(struct parse *p, const char *token)
{
	struct config_domain *d = p->domain;
	const struct config_domain *other;
	const struct config_volume *claim;
	char pattern[CONFIG_VALUE_MAX + 1];
	const char *problem = config_volume_normalize(token, pattern);

	p->volume_tokens++;
	if (problem) {
		error_here(p, "volume pattern '%s' %s", token, problem);
		return;
	}
	for (unsigned i = 0; i < d->n_volumes; i++)
		if (strcmp(d->volumes[i].pattern, pattern) == 0) {
			error_here(p, "volume pattern '%s' is listed twice in %s (also at line %u)", pattern, p->label,
				   d->volumes[i].line);
			return;
		}
	/* Identical patterns in two domains would make routing depend on file order. */
	if (p->domain_is_real && (other = claimed_elsewhere(p, pattern, &claim))) {
		error_here(p,
			   "volume pattern '%s' is already claimed by [domain %s] (line %u): "
			   "a volume key must route to one domain",
			   pattern, other->name, claim->line);
		return;
	}
	if (d->n_volumes == CONFIG_MAX_VOLUMES) {
		if (!p->volumes_overflowed)
			error_here(p, "%s has more than %d volume patterns", p->label, CONFIG_MAX_VOLUMES);
		p->volumes_overflowed = true;
		return;
	}
	struct config_volume *v = &d->volumes[d->n_volumes++];
	snprintf(v->pattern, sizeof(v->pattern), "%s", pattern);
	v->glob = strpbrk(pattern, "*?[\\") != NULL;
	v->line = p->lineno;
}

static void volumes_add(struct parse *p, const char *value)
{
	char token[CONFIG_VALUE_MAX + 2];

	for (const char *s = value; *s;) {
		size_t n = 0;
		while (isspace((unsigned char)*s))
			s++;
		while (s[n] && !isspace((unsigned char)s[n]))
			n++;
		if (n == 0)
			break;
		/* One byte more than a pattern may have, so an overlong one is still refused as such. */
		snprintf(token, sizeof(token), "%.*s", (int)n, s);
		volume_add(p, token);
		s += n;
	}
}

/* ---- keys ---- */

static void set_blob_dir(struct parse *p, const struct key_def *k, char *field, const char *value)
{
	char why[512];
	struct stat st;

	if (value[0] != '/') {
		error_here(p, "%s = '%s': expected an absolute path", k->name, value);
	} else if (stat(value, &st) < 0) {
		int r = negative_errno();
		if (r == -ENOENT && p->missing_dirs_ok && store_string(k, field, value, why, sizeof(why)) == 0)
			return;
		if (r == -ENOENT)
			error_here(p, "%s '%s' does not exist: create it or fix the path", k->name, value);
		else
			error_here(p, "%s '%s' cannot be checked: %s", k->name, value, strerror(-r));
	} else if (!S_ISDIR(st.st_mode))
		error_here(p, "%s '%s' is not a directory", k->name, value);
	else if (store_string(k, field, value, why, sizeof(why)) < 0)
		error_here(p, "%s = '%s': %s", k->name, value, why);
}

static void set_value(struct parse *p, const struct key_def *k, void *field, const char *value)
{
	char why[512];

	if (k->type == KEY_VOLUME)
		volumes_add(p, value);
	else if (k->type == KEY_BLOB_DIR)
		set_blob_dir(p, k, field, value);
	else if (key_parse(k, value, false, field, why, sizeof(why)) < 0)
		error_here(p, "%s = '%s': %s", k->name, value, why);
}

static const struct key_def *find_key(const struct key_def *keys, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static void unknown_key(struct parse *p, const struct key_def *keys, size_t n, const char *name)
{
	bool in_cache = p->section == SECTION_CACHE;
	const struct key_def *best = NULL;
	unsigned best_distance = 3; /* further than 2 edits is no longer a typo */
	char known[256] = "";

	if (in_cache ? find_key(domain_keys, ARRAY_SIZE(domain_keys), name)
		     : find_key(cache_keys, ARRAY_SIZE(cache_keys), name)) {
		error_here(p, "unknown key '%s' in %s: it belongs in %s", name, p->label,
			   in_cache ? "a [domain NAME] section" : "the [cache] section");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned d = config_edit_distance(name, keys[i].name);
		if (d < best_distance && d < strlen(name)) {
			best = &keys[i];
			best_distance = d;
		}
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "", keys[i].name);
	}
	if (best)
		error_here(p, "unknown key '%s' in %s; did you mean '%s'?", name, p->label, best->name);
	else
		error_here(p, "unknown key '%s' in %s; known keys: %s", name, p->label, known);
}

void config_key(struct parse *p, const char *name, const char *value)
{
	const struct key_def *keys = p->section == SECTION_CACHE ? cache_keys : domain_keys;
	size_t n = p->section == SECTION_CACHE ? ARRAY_SIZE(cache_keys) : ARRAY_SIZE(domain_keys);
	const struct key_def *k;

	p->last_key = NULL;
	if (p->section == SECTION_IGNORED)
		return; /* the header was refused already */
	if (p->section == SECTION_NONE) {
		error_here(p, "'%s' is outside any section: put it under [cache] or [domain NAME]", name);
		return;
	}
	if (!*name) {
		error_here(p, "a key name is missing before '='");
		return;
	}
	k = find_key(keys, n, name);
	if (!k) {
		unknown_key(p, keys, n, name);
		return;
	}
	if (p->key_lines[k - keys]) {
		error_here(p, "duplicate key '%s' in %s (first set at line %u)", name, p->label,
			   p->key_lines[k - keys]);
		return;
	}
	p->key_lines[k - keys] = p->lineno;
	p->last_key = k;
	set_value(p, k, (char *)(p->section == SECTION_CACHE ? (void *)p->cache : (void *)p->domain) + k->offset,
		  value);
}

void config_continuation(struct parse *p, const char *value)
{
	if (!p->last_key)
		return; /* what it continues was refused already */
	if (p->last_key->type != KEY_VOLUME) {
		error_here(p,
			   "'%s' takes one value, but this indented line continues it: "
			   "only a volume list may go on over indented lines",
			   p->last_key->name);
		p->last_key = NULL;
		return;
	}
	volumes_add(p, value);
}

/*
 * A remote domain's deadline, against its request_timeout (known only now,
 * the cache's may come after it): a worker still retrying a chunk when the
 * timeout strikes would be killed as hung, and the READ charged to it.
 */
static void remote_finish(struct parse *p)
{
	char deadline[32], timeout[32];

	for (unsigned i = 0; i < p->cfg.n_domains; i++) {
		struct domain_settings *s = &p->cfg.domains[i].settings;
		if (s->remote.origin.kind == ORIGIN_NONE)
			continue;
		if (s->remote.fetch_deadline_ms == 0)
			s->remote.fetch_deadline_ms = FETCH_DEADLINE_DEFAULT_MS;
		if (s->remote.fetch_deadline_ms < s->request_timeout_ms)
			continue;
		config_errors_add(
			p->errs, p->path, p->cfg.domains[i].line,
			"[domain %s]: fetch_deadline %s is not below request_timeout %s, which kills a worker "
			"still retrying as hung: lower fetch_deadline or raise request_timeout",
			p->cfg.domains[i].name, config_format_duration(s->remote.fetch_deadline_ms, deadline),
			config_format_duration(s->request_timeout_ms, timeout));
	}
}

void config_finish(struct parse *p)
{
	section_end(p);
	p->section = SECTION_NONE;
	if (p->domain_headers == 0)
		config_errors_add(p->errs, p->path, 0,
				  "no [domain NAME] section: add one that routes volume keys to a blob_dir");
	inherit_cache_settings(&p->cfg);
	remote_finish(p);
}

/* ---- the command line ---- */

static const struct key_def *key_by_option(const char *option, bool *in_cache)
{
	for (size_t i = 0; i < ARRAY_SIZE(cache_keys); i++)
		if (cache_keys[i].option && strcmp(cache_keys[i].option, option) == 0) {
			*in_cache = true;
			return &cache_keys[i];
		}
	for (size_t i = 0; i < ARRAY_SIZE(domain_keys); i++)
		if (domain_keys[i].option && strcmp(domain_keys[i].option, option) == 0) {
			*in_cache = false;
			return &domain_keys[i];
		}
	return NULL;
}

int config_args_init(struct config *cfg)
{
	*cfg = (struct config){ 0 };
	cfg->domains = calloc(1, sizeof(*cfg->domains));
	if (!cfg->domains)
		return -ENOMEM;
	cfg->n_domains = 1;
	cache_defaults(&cfg->cache);
	domain_defaults(&cfg->domains[0], CONFIG_ARGS_DOMAIN, 0);
	return 0;
}

int config_args_set(struct config *cfg, const char *option, const char *value, struct config_errors *errs)
{
	bool in_cache;
	const struct key_def *k = key_by_option(option, &in_cache);
	char *base = in_cache ? (char *)&cfg->cache : (char *)&cfg->domains[0];
	char why[512];

	if (!k) {
		config_errors_add(errs, NULL, 0, "%s sets no key of the configuration", option);
		return -EINVAL;
	}
	if (key_parse(k, value, true, base + k->offset, why, sizeof(why)) < 0) {
		config_errors_add(errs, NULL, 0, "%s '%s': %s", option, value, why);
		return -EINVAL;
	}
	return 0;
}

int config_args_finish(struct config *cfg, struct config_errors *errs)
{
	char why[512];

	if (cache_check(&cfg->cache, true, why, sizeof(why)) < 0 ||
	    domain_check(&cfg->domains[0], true, why, sizeof(why)) < 0) {
		config_errors_add(errs, NULL, 0, "%s", why);
		return -EINVAL;
	}
	inherit_cache_settings(cfg);
	return 0;
}

const char *config_args_key(const char *option, bool *in_cache)
{
	const struct key_def *k = key_by_option(option, in_cache);

	return k ? k->name : NULL;
}

const char *config_args_option(unsigned i, char *short_opt)
{
	const struct key_def *k = NULL;

	for (size_t j = 0; j < ARRAY_SIZE(cache_keys) + ARRAY_SIZE(domain_keys); j++) {
		k = j < ARRAY_SIZE(cache_keys) ? &cache_keys[j] : &domain_keys[j - ARRAY_SIZE(cache_keys)];
		if (k->option && i-- == 0) {
			*short_opt = k->short_opt;
			return k->option;
		}
	}
	return NULL;
}

const char *config_key_default(const char *section, const char *key)
{
	bool cache = strcmp(section, "cache") == 0;
	const struct key_def *keys = cache ? cache_keys : domain_keys;
	size_t n = cache ? ARRAY_SIZE(cache_keys) : ARRAY_SIZE(domain_keys);

	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].name, key) == 0)
			return keys[i].def;
	return NULL;
}
