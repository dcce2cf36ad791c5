/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Loading the configuration file. inih splits KEY = VALUE lines, but
 * Debian's build tells the handler neither line numbers nor where sections
 * start (INI_HANDLER_LINENO, INI_CALL_HANDLER_ON_NEW_SECTION are off), inih
 * truncates section names to 49 bytes, and it reads lines of at most
 * INI_MAX_LINE = 200 bytes, cutting longer ones. So inih reads through our
 * own line reader: it counts lines, refuses long ones before inih could cut
 * them, and follows [section] headers itself. It classifies each line by
 * inih's rules under its default options, which nothing here changes (what
 * is a comment, a header, a continuation), so both agree on what every line
 * is; a line we refuse reaches inih as a blank one, and any error inih still
 * finds means we disagreed.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "config-keys.h"

/* inih's ini_find_chars_or_comment(): the first of chars, or an inline ';' after whitespace. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s && !(chars && strchr(chars, *s)) && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/* Where inih starts reading the line: past a UTF-8 BOM on the first, and past blanks. */
static const char *line_start(const char *line, bool first_line)
{
	if (first_line && strncmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	while (isspace((unsigned char)*line))
		line++;
	return line;
}

/*
 * What inih will make of the line (its rules, in its order). after_key mirrors
 * inih's prev_name: a KEY line since the last header makes an indented line a
 * continuation, even across blank lines.
 */
static enum line_kind classify(const char *line, bool first_line, bool after_key)
{
	const char *start = line_start(line, first_line), *sep;
	size_t len = strlen(start);

	while (len > 0 && isspace((unsigned char)start[len - 1]))
		len--;
	if (len == 0 || *start == ';' || *start == '#')
		return LINE_BLANK;
	if (after_key && start > line)
		return LINE_CONTINUATION;
	if (*start == '[')
		return *find_chars_or_comment(start + 1, "]") == ']' ? LINE_SECTION : LINE_BAD_SECTION;
	sep = find_chars_or_comment(start, "=:");
	return *sep == '=' || *sep == ':' ? LINE_KEY : LINE_BAD_KEY;
}

/* The header's text between '[' and ']', trimmed, into name. */
static void section_header(struct parse *p, const char *line)
{
	const char *start = strchr(line, '[') + 1;
	const char *end = find_chars_or_comment(start, "]");
	const char *after = end + 1;
	char name[256];

	while (start < end && isspace((unsigned char)*start))
		start++;
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	snprintf(name, sizeof(name), "%.*s", (int)(end - start), start);
	while (isspace((unsigned char)*after))
		after++;
	if (*after && *after != ';' && *after != '#')
		config_errors_add(p->errs, p->path, p->lineno, "unexpected text after ']': '%s'", after);
	config_section_begin(p, name);
}

static void too_long(struct parse *p, const char *line, size_t len, size_t limit)
{
	const char *s = line;

	config_errors_add(p->errs, p->path, p->lineno,
			  "line is %zu bytes long, more than the %zu the ini parser reads: shorten it "
			  "(a long volume list may go on over indented lines)",
			  len, limit);
	/* Keys after a header we could not read belong to no section we know. */
	while (s < line + len && isspace((unsigned char)*s))
		s++;
	if (s < line + len && *s == '[' && !(p->after_key && s > line))
		config_section_begin(p, NULL);
	p->last_key = NULL;
}

/* Follows the line before inih sees it; returns false if inih is to see a blank line instead. */
static bool track_line(struct parse *p, const char *line)
{
	p->kind = classify(line, p->lineno == 1, p->after_key);
	switch (p->kind) {
	case LINE_BLANK:
	case LINE_CONTINUATION: return true;
	case LINE_SECTION:
		p->after_key = false;
		section_header(p, line);
		return true;
	case LINE_KEY:
		/* Like inih's prev_name, which stays empty for "= value". */
		p->after_key = !strchr("=:", *line_start(line, p->lineno == 1));
		return true;
	case LINE_BAD_SECTION:
		config_errors_add(p->errs, p->path, p->lineno, "section header lacks its closing ']'");
		config_section_begin(p, NULL);
		break;
	case LINE_BAD_KEY:
		config_errors_add(p->errs, p->path, p->lineno,
				  "expected 'KEY = VALUE', a [section] header or a comment");
		p->last_key = NULL;
		break;
	}
	p->kind = LINE_BLANK;
	return false;
}

/* inih's fgets(): one line of the file per call, never longer than inih can hold. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse *p = stream;
	size_t limit = num > 3 ? (size_t)num - 3 : 0; /* room for "\r\n" and the NUL */
	const char *line, *nl;
	size_t len;

	if (p->pos >= p->len)
		return NULL;
	line = p->buf + p->pos;
	nl = memchr(line, '\n', p->len - p->pos);
	len = nl ? (size_t)(nl - line) : p->len - p->pos;
	p->pos += len + (nl != NULL);
	p->lineno++;
	if (len > 0 && line[len - 1] == '\r')
		len--;

	str[0] = '\0';
	p->kind = LINE_BLANK;
	if (len > limit) {
		too_long(p, line, len, limit);
		return str;
	}
	if (memchr(line, '\0', len)) {
		config_errors_add(p->errs, p->path, p->lineno, "line contains a NUL byte");
		p->last_key = NULL;
		return str;
	}
	memcpy(str, line, len);
	str[len] = '\0';
	if (!track_line(p, str))
		str[0] = '\0';
	else
		strcpy(str + len, "\n");
	return str;
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;

	if (p->kind == LINE_KEY)
		config_key(p, name, value);
	else if (p->kind == LINE_CONTINUATION)
		config_continuation(p, value);
	else
		p->inih_disagreed = true;
	return 1;
}

/* The whole file, NUL-terminated; regular files of at most CONFIG_FILE_MAX bytes. */
static int read_file(struct parse *p, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = negative_errno();
		config_errors_add(p->errs, p->path, 0, "cannot read the configuration: %s", strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		config_errors_add(p->errs, p->path, 0, "not a regular file");
		return -EINVAL;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = negative_errno();
			config_errors_add(p->errs, p->path, 0, "cannot read the configuration: %s", strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX) {
			config_errors_add(p->errs, p->path, 0, "larger than %u bytes: is this the configuration file?",
					  CONFIG_FILE_MAX);
			return -EFBIG;
		}
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static void parse_free(struct parse *p)
{
	free(p->cfg.domains);
	p->cfg = (struct config){ 0 };
}

static int load(const char *path, struct config *out, struct config_errors *errs, bool missing_dirs_ok)
{
	_cleanup_free_ struct parse *p = calloc(1, sizeof(*p));
	_cleanup_free_ char *buf = NULL;
	int r;

	*out = (struct config){ 0 };
	*errs = (struct config_errors){ 0 };
	if (!p)
		return -ENOMEM;
	p->path = path;
	p->errs = errs;
	p->missing_dirs_ok = missing_dirs_ok;
	r = read_file(p, &buf, &p->len);
	if (r < 0)
		return r;
	p->buf = buf;
	r = config_defaults(p);
	if (r < 0) {
		parse_free(p);
		return r;
	}
	r = ini_parse_stream(read_line, p, on_pair, p);
	if (r != 0 || p->inih_disagreed)
		config_errors_add(p->errs, p->path, r > 0 ? (unsigned)r : 0,
				  "inih read this file differently than we did: report a bug");
	config_finish(p);
	config_errors_sort(errs);
	if (errs->n > 0) {
		parse_free(p);
		return -EINVAL;
	}
	/* Room was made for every domain the file could have; keep what it has. */
	struct config_domain *fit = realloc(p->cfg.domains, p->cfg.n_domains * sizeof(*fit));
	if (fit)
		p->cfg.domains = fit;
	*out = p->cfg;
	return 0;
}

int config_load(const char *path, struct config *out, struct config_errors *errs)
{
	return load(path, out, errs, false);
}

int config_load_at_start(const char *path, struct config *out, struct config_errors *errs)
{
	return load(path, out, errs, true);
}

void config_free(struct config *cfg)
{
	free(cfg->domains);
	*cfg = (struct config){ 0 };
}

int config_route(const struct config *cfg, const char *volume_key)
{
	/* Exact patterns first, from any domain: a named volume is never stolen by a glob. */
	for (unsigned d = 0; d < cfg->n_domains; d++)
		for (unsigned v = 0; v < cfg->domains[d].n_volumes; v++)
			if (!cfg->domains[d].volumes[v].glob &&
			    strcmp(cfg->domains[d].volumes[v].pattern, volume_key) == 0)
				return (int)d;
	for (unsigned d = 0; d < cfg->n_domains; d++)
		for (unsigned v = 0; v < cfg->domains[d].n_volumes; v++)
			if (cfg->domains[d].volumes[v].glob &&
			    fnmatch(cfg->domains[d].volumes[v].pattern, volume_key, 0) == 0)
				return (int)d;
	return -ENOENT;
}
