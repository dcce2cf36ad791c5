/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside config_load(), shared by its two halves: config.c reads the file
 * line by line and drives inih; config-keys.c gives sections and keys their
 * meaning. Not for use outside these two files.
 */
#ifndef CFS_CONFIG_KEYS_H
#define CFS_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum line_kind { LINE_BLANK, LINE_CONTINUATION, LINE_SECTION, LINE_KEY, LINE_BAD_SECTION, LINE_BAD_KEY };

/* Where keys go: a real section, a stand-in that is checked then dropped, or nowhere. */
enum section_kind { SECTION_NONE, SECTION_CACHE, SECTION_DOMAIN, SECTION_IGNORED };

struct key_def;

struct parse {
	const char *path;
	struct config_errors *errs;
	struct config cfg; /* what is built */

	/* The file and the reader's place in it. */
	const char *buf;
	size_t len, pos;
	unsigned lineno;
	enum line_kind kind; /* of the line inih is handling now */
	bool after_key;      /* mirrors inih's prev_name */
	bool inih_disagreed;

	/* The section being read. */
	enum section_kind section;
	char label[96]; /* "[cache]", "[domain NAME]" for messages */
	unsigned section_line;
	struct config_cache *cache;   /* &cfg.cache or &scratch_cache */
	struct config_domain *domain; /* in cfg.domains or &scratch_domain */
	bool domain_is_real;
	unsigned key_lines[8]; /* where each key of the section's table was set, 0 = not yet */
	const struct key_def *last_key; /* what an indented line continues; NULL: nothing */
	bool volumes_overflowed;

	unsigned cache_line;     /* of the first [cache] header */
	unsigned domain_headers; /* every [domain ...] header, good or bad */
	struct config_cache scratch_cache;
	struct config_domain scratch_domain;
};

__attribute__((format(printf, 4, 5))) void config_error_add(struct parse *p, unsigned line, bool whole_file,
							     const char *fmt, ...);

void config_defaults(struct parse *p);
/* name is the header's text between the brackets; NULL for a header that could not be read. */
void config_section_begin(struct parse *p, const char *name);
void config_key(struct parse *p, const char *name, const char *value);
void config_continuation(struct parse *p, const char *value);
/* After the last line: checks what needs the whole file. */
void config_finish(struct parse *p);

#endif
