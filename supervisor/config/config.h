/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The configuration file (docs/cachefiles-supervisor.conf.5): one [cache]
 * section for the one cachefiles cache the kernel allows per machine, and
 * [domain NAME] sections that route erofs volume keys to blob directories,
 * each with its own workers. Loading is pure apart from reading the file and
 * checking that blob directories exist, so a reload can build a new config
 * beside the running one and keep the old one if the new one is refused.
 *
 * Everything is bounded: the file's size, the number of domains, of patterns
 * per domain, every string, and the list of errors.
 */
#ifndef CFS_CONFIG_H
#define CFS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "domain-settings.h"
#include "space.h"

#define CONFIG_DEFAULT_PATH "/etc/cachefiles-supervisor.conf"

#define CONFIG_FILE_MAX (1024 * 1024) /* bytes */
#define CONFIG_MAX_DOMAINS 64
#define CONFIG_MAX_VOLUMES 32 /* patterns per domain */
#define CONFIG_NAME_MAX 63    /* domain names and tags, without the NUL */
#define CONFIG_VALUE_MAX 255  /* paths and volume patterns, without the NUL */
#define CONFIG_WORKERS_MAX 32 /* = MAX_WORKERS_PER_DOMAIN in supervisor.h */
/* prefetch = all */
#define CONFIG_PREFETCH_ALL UINT64_MAX
#define CONFIG_MAX_ERRORS 32
/* The domain of --blob-dir mode, which serves every volume. */
#define CONFIG_ARGS_DOMAIN "default"

/* The erofs part of every volume key the kernel sends: "erofs,<domain_id|fsid>". */
#define CONFIG_VOLUME_PREFIX "erofs,"

/*
 * The most max_objects may be: a restart must hand every object's fd back,
 * and systemd and our re-exec name them all in one LISTEN_FDNAMES string,
 * which Linux refuses beyond 128 KiB. The cachefiles transport's names
 * (supervisor/cachefiles/fdnames.h) fit up to 26 990 objects; its unit
 * test holds this bound to them.
 */
#define MAX_OBJECTS_LIMIT 26000u
#define MAX_OBJECTS_DEFAULT "24576"

struct config_cache {
	char dir[CONFIG_VALUE_MAX + 1];
	char tag[CONFIG_NAME_MAX + 1];
	char device[CONFIG_VALUE_MAX + 1];
	unsigned max_objects;
	uint64_t request_timeout_ms;
	unsigned crash_limit;
	struct space_limits space; /* brun ... fstop, max_size */
};

struct config_volume {
	char pattern[CONFIG_VALUE_MAX + 1]; /* always starts with CONFIG_VOLUME_PREFIX */
	bool glob;			    /* has fnmatch(3) special characters */
	unsigned line;
};

struct config_domain {
	char name[CONFIG_NAME_MAX + 1];
	unsigned line; /* of its [domain NAME] header; 0 for the command line's */
	struct config_volume volumes[CONFIG_MAX_VOLUMES];
	unsigned n_volumes;
	struct domain_settings settings;
};

struct config {
	struct config_cache cache;
	struct config_domain *domains; /* in file order; config_route() relies on it */
	unsigned n_domains;
};

struct config_error {
	unsigned line;	/* 0: about the whole file, or the command line */
	char text[512]; /* "PATH:LINE: message", "PATH: message", or for the command line "message" */
};

struct config_errors {
	struct config_error list[CONFIG_MAX_ERRORS]; /* sorted by line, whole-file errors last */
	unsigned n;
	unsigned dropped; /* errors beyond CONFIG_MAX_ERRORS */
};

/*
 * Reads and validates the file at path. Returns 0 and fills *out (release it
 * with config_free()), or returns -errno with *out empty and every problem
 * found listed in *errs: -EINVAL for a config that is wrong, another -errno
 * when the file cannot be read. Never logs; see config_errors_log().
 */
int config_load(const char *path, struct config *out, struct config_errors *errs);
/*
 * As config_load(), but a blob_dir that does not exist is no error: a start
 * serves the domains it can and reports the others (domains_prepare()),
 * where one missing directory used to refuse the whole file.
 */
int config_load_at_start(const char *path, struct config *out, struct config_errors *errs);

void config_free(struct config *cfg);

/*
 * The index of the domain serving volume_key (as the kernel sends it, e.g.
 * "erofs,img1"): an exact pattern in any domain wins over globs; among globs
 * the first domain in file order wins. -ENOENT if no domain matches.
 */
int config_route(const struct config *cfg, const char *volume_key);

/*
 * The command line of --blob-dir mode: the [cache] options and one domain,
 * CONFIG_ARGS_DOMAIN, that serves every volume from blob_dir. Every option
 * that sets a key is the key of the file under another name (--read-window 4M
 * is read_window = 4M): the same checks, defaults and messages, only named
 * "--read-window '4X': ..." instead of "PATH:LINE: read_window = '4X': ...".
 * One difference: a duration may also be a plain number of milliseconds, as
 * the command line has always taken it.
 */

/* Fills *cfg with the defaults and the one domain; 0 or -ENOMEM. Release it with config_free(). */
int config_args_init(struct config *cfg);
/* Sets the key the option names; 0, or -EINVAL with the message added to *errs. */
int config_args_set(struct config *cfg, const char *option, const char *value, struct config_errors *errs);
/* After the last option: the checks that involve several options (as at a section's end); 0 or -EINVAL. */
int config_args_finish(struct config *cfg, struct config_errors *errs);
/* The key an option sets, by the file's name ("read_window" for "--read-window"), and its section; NULL if none. */
const char *config_args_key(const char *option, bool *in_cache);
/* The default of a key as the file would write it ("1M", "30s"); NULL for a key without one. */
const char *config_key_default(const char *section, const char *key);

/*
 * The long options config_args_set() takes, NULL-terminated, in table order;
 * *short_opt gets the short letter of each (0: none). For getopt_long().
 */
const char *config_args_option(unsigned i, char *short_opt);

/* Logs every error at LOG_ERR and returns -EINVAL (or 0 if there are none). */
int config_errors_log(const struct config_errors *errs);

#endif
