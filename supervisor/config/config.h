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

#define CONFIG_DEFAULT_PATH "/etc/cachefiles-supervisor.conf"

#define CONFIG_FILE_MAX (1024 * 1024) /* bytes */
#define CONFIG_MAX_DOMAINS 64
#define CONFIG_MAX_VOLUMES 32 /* patterns per domain */
#define CONFIG_NAME_MAX 63    /* domain names and tags, without the NUL */
#define CONFIG_USER_MAX 32    /* worker_user, as useradd allows */
#define CONFIG_VALUE_MAX 255  /* paths and volume patterns, without the NUL */
#define CONFIG_WORKERS_MAX 32 /* = MAX_WORKERS_PER_DOMAIN in supervisor.h */
#define CONFIG_READ_WINDOW_MAX (64u << 20)
/* Measured in the test VM: see docs/design.md, "Amplified fills". */
#define CONFIG_READ_WINDOW_DEFAULT (1u << 20)
#define CONFIG_READAHEAD_MAX (1u << 30)
/* Measured in the test VM: see docs/design.md, "Readahead". */
#define CONFIG_READAHEAD_DEFAULT (32u << 20)
/* prefetch = all */
#define CONFIG_PREFETCH_ALL UINT64_MAX
#define CONFIG_PREFETCH_MAX (1ull << 50) /* prefetch = SIZE */
#define CONFIG_PREFETCH_RATE_MAX (1u << 30)
#define CONFIG_MAX_ERRORS 32
/* = FileDescriptorStoreMax in the unit, less the device and the state memfd */
#define CONFIG_MAX_OBJECTS_DEFAULT 16384

/* The erofs part of every volume key the kernel sends: "erofs,<domain_id|fsid>". */
#define CONFIG_VOLUME_PREFIX "erofs,"

struct config_cache {
	char dir[CONFIG_VALUE_MAX + 1];
	char tag[CONFIG_NAME_MAX + 1];
	char device[CONFIG_VALUE_MAX + 1];
	unsigned max_objects;
	uint64_t request_timeout_ms;
	unsigned crash_limit;
};

struct config_volume {
	char pattern[CONFIG_VALUE_MAX + 1]; /* always starts with CONFIG_VOLUME_PREFIX */
	bool glob;                          /* has fnmatch(3) special characters */
	unsigned line;
};

struct config_domain {
	char name[CONFIG_NAME_MAX + 1];
	unsigned line; /* of its [domain NAME] header */
	struct config_volume volumes[CONFIG_MAX_VOLUMES];
	unsigned n_volumes;
	char blob_dir[CONFIG_VALUE_MAX + 1];
	unsigned workers;
	char worker_user[CONFIG_USER_MAX + 1];
	uint64_t request_timeout_ms; /* the cache's unless the domain sets its own */
	bool sandbox_log;            /* sandbox = log: seccomp logs instead of killing */
	uint32_t read_window;        /* bytes a READ's fill may reach (window.h); 0 = exact */
	uint32_t readahead;          /* bytes filled ahead of a sequential reader at most (window.h); 0 = none */
	uint64_t prefetch;           /* bytes of each blob filled in the background; 0: none */
	uint32_t prefetch_rate;      /* bytes per second for the domain's prefetch; 0: no limit */
};

struct config {
	struct config_cache cache;
	struct config_domain *domains; /* in file order; config_route() relies on it */
	unsigned n_domains;
};

struct config_error {
	unsigned line; /* 0: about the whole file */
	char text[512]; /* "PATH:LINE: message" or "PATH: message" */
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

void config_free(struct config *cfg);

/*
 * The index of the domain serving volume_key (as the kernel sends it, e.g.
 * "erofs,img1"): an exact pattern in any domain wins over globs; among globs
 * the first domain in file order wins. -ENOENT if no domain matches.
 */
int config_route(const struct config *cfg, const char *volume_key);

/*
 * "<digits>", "<digits>K" or "<digits>M" (powers of 1024), a multiple of the
 * page size, at most max: the config's sizes, and --read-window. Returns 0
 * or -EINVAL and writes *out only on success.
 */
int config_parse_size(const char *s, uint64_t max, uint64_t *out);
/* "none" (0), "all" (CONFIG_PREFETCH_ALL) or a size above 0 (prefetch = , --prefetch); 0 or -EINVAL. */
int config_parse_prefetch(const char *s, uint64_t *out);

/* Logs every error at LOG_ERR and returns -EINVAL (or 0 if there are none). */
int config_errors_log(const struct config_errors *errs);

#endif
