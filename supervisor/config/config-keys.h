/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the config library, shared by its parts, lowest first:
 * config-value.c parses single values; config-errors.c collects the errors;
 * config-keys.c gives sections and keys their meaning, for the file and for
 * the command line; config.c reads the file line by line and drives inih.
 * Each calls only the ones before it. Not for use elsewhere.
 */
#ifndef CFS_CONFIG_KEYS_H
#define CFS_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum line_kind { LINE_BLANK, LINE_CONTINUATION, LINE_SECTION, LINE_KEY, LINE_BAD_SECTION, LINE_BAD_KEY };

/* Where keys go: a real section, a stand-in that is checked then dropped, or nowhere. */
enum section_kind { SECTION_NONE, SECTION_CACHE, SECTION_DOMAIN, SECTION_IGNORED };

struct key_def;

struct parse {
	const char *path; /* NULL: the command line */
	struct config_errors *errs;
	struct config cfg; /* what is built */

	/* The file and the reader's place in it. */
	const char *buf;
	size_t len, pos;
	unsigned lineno;
	enum line_kind kind; /* of the line inih is handling now */
	bool after_key;	     /* mirrors inih's prev_name */
	bool inih_disagreed;
	bool missing_dirs_ok; /* config_load_at_start(): a missing blob_dir is the start's to report */

	/* The section being read. */
	enum section_kind section;
	char label[96]; /* "[cache]", "[domain NAME]" for messages */
	unsigned section_line;
	struct config_cache *cache;   /* &cfg.cache or &scratch_cache */
	struct config_domain *domain; /* in cfg.domains or &scratch_domain */
	bool domain_is_real;
	unsigned key_lines[16];		/* where each key of the section's table was set, 0 = not yet */
	const struct key_def *last_key; /* what an indented line continues; NULL: nothing */
	bool volumes_overflowed;
	unsigned volume_tokens; /* patterns written in the section, good or refused */

	unsigned cache_line;	 /* of the first [cache] header */
	unsigned domain_headers; /* every [domain ...] header, good or bad */
	struct config_cache scratch_cache;
	struct config_domain scratch_domain;
};

/* ---- config-errors.c ---- */

/* Adds "PATH:LINE: message", "PATH: message" for line 0, or just the message for a NULL path. */
__attribute__((format(printf, 4, 5))) void config_errors_add(struct config_errors *e, const char *path, unsigned line,
							     const char *fmt, ...);
/* Line order, whole-file errors (line 0) last; stable. */
void config_errors_sort(struct config_errors *e);

/* ---- config-keys.c ---- */

/* Returns 0 or -ENOMEM. */
int config_defaults(struct parse *p);
/* name is the header's text between the brackets; NULL for a header that could not be read. */
void config_section_begin(struct parse *p, const char *name);
void config_key(struct parse *p, const char *name, const char *value);
void config_continuation(struct parse *p, const char *value);
/* After the last line: checks what needs the whole file. */
void config_finish(struct parse *p);

/* ---- config-value.c: single values; each returns 0 or -EINVAL and writes *out only on success ---- */

int config_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "<digits>ms" or "<digits>s", in milliseconds; a bare number only if bare_ms (then in milliseconds). */
int config_parse_duration_ms(const char *s, bool bare_ms, uint64_t min, uint64_t max, uint64_t *out);
/* "<digits>" with no suffix or K, M, G (powers of 1024), a multiple of the page size, at most max. */
int config_parse_size(const char *s, uint64_t max, uint64_t *out);
/* "<digits>" or "<digits>%", at most max. */
int config_parse_percent(const char *s, uint64_t max, uint64_t *out);
/* "none" (0), "all" (CONFIG_PREFETCH_ALL) or a size above 0 up to max. */
int config_parse_prefetch(const char *s, uint64_t max, uint64_t *out);
/* "enforce" (false) or "log" (true): the workers' seccomp mode. */
int config_parse_seccomp_mode(const char *s, bool *log_only);
/* [A-Za-z0-9_.-]{1,max} */
bool config_name_is_valid(const char *s, size_t max);
/* Writes "erofs,ID" for "ID" or "erofs,ID"; returns NULL, or what is wrong (to follow the pattern in a message). */
const char *config_volume_normalize(const char *token, char pattern[static CONFIG_VALUE_MAX + 1]);
/* ---- config-remote.c: a remote domain's values; each returns 0 or -EINVAL with what is wrong in why ---- */

/* "registry https://HOST[:PORT]/REPOSITORY" or "url https://HOST[:PORT]/PATH" with one {digest} or {hex}. */
int config_parse_origin(const char *s, struct origin_settings *o, char *why, size_t n);
/* "http://HOST:PORT". */
int config_parse_proxy(const char *s, struct proxy_settings *p, char *why, size_t n);
/* "HOST[:PORT] ..." (port 443 unless given), 1 to REDIRECT_HOSTS_MAX of them, each once. */
int config_parse_redirect_hosts(const char *s, struct redirect_settings *r, char *why, size_t n);
/* A regular file of the supervisor's uid, mode 0600 or less, one line: basic USER:PASSWORD or bearer TOKEN. */
int config_check_credentials(const char *path, char *why, size_t n);
/* A regular file of at most 1 MiB with a PEM certificate in it. */
int config_check_ca_file(const char *path, char *why, size_t n);

/* Levenshtein distance; UINT_MAX for strings of 32 bytes or more. */
unsigned config_edit_distance(const char *a, const char *b);
const char *config_format_duration(uint64_t ms, char buf[static 32]);
const char *config_format_size(uint64_t bytes, char buf[static 32]);

#endif
