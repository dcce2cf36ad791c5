/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The grammar of single values: numbers, durations, sizes, names and volume
 * patterns. Strict on purpose: no signs, blanks, hex or guessed units, so a
 * value means one thing or is refused.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cfs-util.h"
#include "config-keys.h"

/* Decimal digits only: no sign, no blanks, no 0x (strtoul takes all three). */
static bool parse_digits(const char **s, uint64_t *out)
{
	const char *c = *s;
	uint64_t v = 0;

	if (*c < '0' || *c > '9')
		return false;
	for (; *c >= '0' && *c <= '9'; c++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	*s = c;
	*out = v;
	return true;
}

int config_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!parse_digits(&s, out) || *s || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

/*
 * The file requires a unit: "30" could mean seconds (systemd) or milliseconds.
 * The command line has always taken milliseconds, and still does (bare_ms).
 */
int config_parse_duration_ms(const char *s, bool bare_ms, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v, scale;

	if (!parse_digits(&s, &v))
		return -EINVAL;
	if (strcmp(s, "ms") == 0 || (bare_ms && *s == '\0'))
		scale = 1;
	else if (strcmp(s, "s") == 0)
		scale = 1000;
	else
		return -EINVAL;
	if (v > max / scale || v * scale < min)
		return -EINVAL;
	*out = v * scale;
	return 0;
}

/* Bytes, or K/M (powers of 1024); a multiple of the page size, as reads are. */
int config_parse_size(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v, scale;

	if (!parse_digits(&s, &v))
		return -EINVAL;
	if (strcmp(s, "") == 0)
		scale = 1;
	else if (strcmp(s, "K") == 0)
		scale = 1024;
	else if (strcmp(s, "M") == 0)
		scale = 1024 * 1024;
	else if (strcmp(s, "G") == 0)
		scale = 1024 * 1024 * 1024;
	else
		return -EINVAL;
	if (v > max / scale || (v * scale) % CFS_PAGE_SIZE)
		return -EINVAL;
	*out = v * scale;
	return 0;
}

/* "<digits>" or "<digits>%", as cachefilesd.conf writes thresholds ("brun 10%"). */
int config_parse_percent(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (!parse_digits(&s, &v) || (strcmp(s, "") != 0 && strcmp(s, "%") != 0) || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int config_parse_prefetch(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (strcmp(s, "none") == 0 || strcmp(s, "all") == 0) {
		*out = s[0] == 'a' ? CONFIG_PREFETCH_ALL : 0;
		return 0;
	}
	if (config_parse_size(s, max, &v) < 0 || v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The one reader of a seccomp mode: sandbox = in the file, --seccomp on the command line. */
int config_parse_seccomp_mode(const char *s, bool *log_only)
{
	if (strcmp(s, "enforce") != 0 && strcmp(s, "log") != 0)
		return -EINVAL;
	*log_only = s[0] == 'l';
	return 0;
}

/* [A-Za-z0-9_.-]{1,max}: domain names, tags, user names. */
bool config_name_is_valid(const char *s, size_t max)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
	return n > 0 && n <= max && s[n] == '\0';
}

/* Writes the pattern with its "erofs," prefix; returns NULL, or what is wrong with it. */
const char *config_volume_normalize(const char *token, char pattern[static CONFIG_VALUE_MAX + 1])
{
	const char *comma = strchr(token, ',');
	const char *id;

	for (const char *c = token; *c; c++)
		if (*c < 0x21 || *c > 0x7e)
			return "has a byte outside printable ASCII";
	/* erofs is the only user of on-demand cachefiles: the prefix carries no information. */
	if (comma && strncmp(token, CONFIG_VOLUME_PREFIX, strlen(CONFIG_VOLUME_PREFIX)) != 0)
		return "is not an erofs volume key: keys are erofs,<domain_id|fsid>: write 'erofs,ID' or just 'ID'";
	id = comma ? comma + 1 : token;
	if (!*id)
		return "names no volume after 'erofs,'";
	if (strchr(id, ','))
		return "can never match: a domain_id or fsid holds no ','";
	if (strlen(CONFIG_VOLUME_PREFIX) + strlen(id) > CONFIG_VALUE_MAX)
		return "is too long: a volume key has at most 255 bytes";
	snprintf(pattern, CONFIG_VALUE_MAX + 1, "%s%s", CONFIG_VOLUME_PREFIX, id);
	return NULL;
}

/* Levenshtein distance, for "did you mean"; names longer than keys are far anyway. */
unsigned config_edit_distance(const char *a, const char *b)
{
	unsigned row[32];
	size_t la = strlen(a), lb = strlen(b);

	if (la >= ARRAY_SIZE(row) || lb >= ARRAY_SIZE(row))
		return UINT_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The shortest exact spelling, as a user would write it: "1ms", "3600s". */
const char *config_format_duration(uint64_t ms, char buf[static 32])
{
	if (ms % 1000 == 0)
		snprintf(buf, 32, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, 32, "%llums", (unsigned long long)ms);
	return buf;
}

/* Likewise for sizes: "0", "4K", "64M". */
const char *config_format_size(uint64_t bytes, char buf[static 32])
{
	if (bytes != 0 && bytes % (1024 * 1024 * 1024) == 0)
		snprintf(buf, 32, "%lluG", (unsigned long long)(bytes >> 30));
	else if (bytes != 0 && bytes % (1024 * 1024) == 0)
		snprintf(buf, 32, "%lluM", (unsigned long long)(bytes >> 20));
	else if (bytes != 0 && bytes % 1024 == 0)
		snprintf(buf, 32, "%lluK", (unsigned long long)(bytes >> 10));
	else
		snprintf(buf, 32, "%llu", (unsigned long long)bytes);
	return buf;
}
