/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "http-check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HTTPS "https://"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* What the last try before the deadline gets at least: a TLS handshake and an answer. */
#define LAST_TRY_MS 200

/* A decimal number without sign or leading zero, up to a non-digit; the digits consumed or 0. */
static size_t parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return i;
}

int http_content_range_check(const char *value, uint64_t off, uint64_t len, uint64_t size)
{
	uint64_t first, last, total;
	size_t n;

	if (len == 0 || strncmp(value, "bytes ", 6) != 0)
		return -EBADMSG;
	value += 6;
	if (!(n = parse_u64(value, &first)) || value[n] != '-')
		return -EBADMSG;
	value += n + 1;
	if (!(n = parse_u64(value, &last)) || value[n] != '/')
		return -EBADMSG;
	value += n + 1;
	if (!(n = parse_u64(value, &total)) || value[n] != '\0')
		return -EBADMSG;
	return first == off && last == off + len - 1 && total == size ? 0 : -EBADMSG;
}

int http_range_answer(long status, const char *content_range, uint64_t off, uint64_t len, uint64_t size, uint64_t got,
		      char *why, size_t n)
{
	char none[1];

	if (!why) {
		why = none;
		n = sizeof(none);
	}
	/* The whole blob for a part of it: its first bytes could be taken, but an origin that ignores Range is not trusted with more. */
	if (status == 200 && !(off == 0 && len == size))
		snprintf(why, n, "HTTP 200 with the whole blob: the origin ignored the Range asked for");
	else if (status == 206 && http_content_range_check(content_range, off, len, size) < 0)
		snprintf(why, n, "HTTP 206 with Content-Range '%s': not the range asked for", content_range);
	else if (status != 200 && status != 206)
		snprintf(why, n, "HTTP %ld: not a range", status);
	else if (got > len)
		snprintf(why, n, "HTTP %ld with more than the %" PRIu64 " bytes asked for", status, len);
	else if (got < len)
		snprintf(why, n, "HTTP %ld with %" PRIu64 " of the %" PRIu64 " bytes asked for", status, got, len);
	else
		return 0;
	return -EBADMSG;
}

int http_url_authority(const char *url, char *host, size_t host_size, uint16_t *port)
{
	const char *a, *colon, *close;
	size_t len, hn;
	uint64_t p;

	if (strncasecmp(url, HTTPS, strlen(HTTPS)) != 0)
		return -EINVAL;
	a = url + strlen(HTTPS);
	len = strcspn(a, "/?#");
	if (len == 0 || memchr(a, '@', len))
		return -EINVAL;
	close = a[0] == '[' ? memchr(a, ']', len) : NULL;
	if (a[0] == '[' && !close)
		return -EINVAL;
	colon = memchr(close ? close : a, ':', len - (size_t)((close ? close : a) - a));
	hn = colon ? (size_t)(colon - a) : len;
	if (hn == 0 || hn >= host_size)
		return -EINVAL;
	if (colon) {
		size_t pn = len - hn - 1;
		if (parse_u64(colon + 1, &p) != pn || pn == 0 || p == 0 || p > 65535)
			return -EINVAL;
		*port = (uint16_t)p;
	} else {
		*port = 443;
	}
	memcpy(host, a, hn);
	host[hn] = '\0';
	return 0;
}

bool http_credentials_allowed(const char *origin_host, uint16_t origin_port, const char *url)
{
	char host[256];
	uint16_t port;

	return http_url_authority(url, host, sizeof(host), &port) == 0 && port == origin_port &&
	       strcasecmp(host, origin_host) == 0;
}

int http_redirect_target(const char *base, const char *location, char *out, size_t size)
{
	char host[256];
	uint16_t port;
	int n;

	if (strncasecmp(location, HTTPS, strlen(HTTPS)) == 0) {
		if (http_url_authority(location, host, sizeof(host), &port) < 0)
			return -EINVAL;
		n = snprintf(out, size, "%s", location);
	} else if (location[0] == '/' && location[1] != '/') {
		if (http_url_authority(base, host, sizeof(host), &port) < 0)
			return -EINVAL;
		n = snprintf(out, size, "https://%s:%u%s", host, port, location);
	} else {
		return -EINVAL;
	}
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

long http_retry_after(const char *value)
{
	uint64_t v;
	size_t n = parse_u64(value, &v);

	return n > 0 && value[n] == '\0' && v <= 86400 ? (long)v : -1;
}

int64_t http_retry_wait(unsigned attempt, uint64_t left_ms, long retry_after_s, uint64_t random)
{
	uint64_t ms = BACKOFF_MIN_MS << (attempt < 6 ? attempt : 6);

	if (retry_after_s >= 0)
		return (uint64_t)retry_after_s * 1000 < left_ms ? retry_after_s * 1000 : -1;
	if (left_ms <= LAST_TRY_MS)
		return -1;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	ms = ms / 2 + random % (ms / 2 + 1); /* jitter: half to all of it */
	return (int64_t)(ms < left_ms - LAST_TRY_MS ? ms : left_ms - LAST_TRY_MS);
}
