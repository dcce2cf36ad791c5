/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cfs-clock.h"
#include "cfs-log.h"
#include "cfs-util.h"
#include "http-check.h"
#include "ipc.h"
#include "wire.h"

#define MAX_REDIRECTS 3
#define URL_MAX 2048
#define HEADER_VALUE_MAX 256

struct target {
	uint16_t purpose; /* enum wire_connect_purpose */
	char host[WIRE_HOST_MAX + 1];
	uint16_t port;
};

struct fetch {
	const char *domain;
	struct fetch_origin o;
	char origin_name[WIRE_HOST_MAX + 8];
	CURL *easy;
	char user[256], password[256];
	struct curl_slist *bearer; /* "Authorization: Bearer ..." or NULL */
	struct curl_slist *pins;   /* CURLOPT_RESOLVE entries: host:port:address */
	struct target target;	   /* where the transfer running now connects */
	int connect_error;	   /* the supervisor's answer when opensocket got no socket */
	struct fetch_stats stats;
	uint64_t rand_state;
	uint64_t deadline; /* now_ms() when the range being fetched gives up */
	/* the answer being read: the blob's [off, off + want) of size bytes */
	uint8_t *dst;
	uint64_t off, want, size, got; /* got > want: the body ran past the range */
	char content_range[HEADER_VALUE_MAX], location[URL_MAX], retry_after[HEADER_VALUE_MAX];
	char error[CURL_ERROR_SIZE]; /* libcurl's own words on a failed transfer */
};

/* What is left of the deadline. */
static uint64_t left_ms(const struct fetch *f)
{
	uint64_t now = now_ms();

	return f->deadline > now ? f->deadline - now : 0;
}

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	struct fetch *f = clientp;
	char peer[WIRE_PEER_MAX];
	int fd;

	/* What is left of the deadline bounds one connect: the supervisor's broker has its own. */
	fd = ipc_connect(f->target.purpose, f->target.host, f->target.port, (int)left_ms(f) + 1, peer);
	if (fd < 0) {
		f->connect_error = fd;
		return CURL_SOCKET_BAD;
	}
	f->stats.connects++;
	log_debug("domain %s: connected to %s:%u (%s) through the supervisor", f->domain, f->target.host,
		  f->target.port, peer);
	return fd;
}

/* The socket came connected from the supervisor: libcurl must not connect() (it could not). */
static int socket_options(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	return CURL_SOCKOPT_ALREADY_CONNECTED;
}

static size_t on_body(char *data, size_t size, size_t n, void *clientp)
{
	struct fetch *f = clientp;
	size_t len = size * n;
	long status = 0;

	/*
	 * An error page (401, 404, 5xx) is not the blob: read on and drop it,
	 * so it is neither counted as fetched nor, longer than the range
	 * asked for, taken for a broken transfer (and retried) before its
	 * status is judged.
	 */
	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 && status != 206)
		return len;
	/* Not the range (the whole blob, another Content-Range): not a byte of it is taken. */
	if (f->got == 0 && http_range_answer(status, f->content_range, f->off, f->want, f->size, f->want, NULL, 0) < 0)
		return 0;
	/* More than asked for is a wrong answer: stop reading it, and say so. */
	if (len > f->want - f->got) {
		f->got += len;
		return 0;
	}
	memcpy(f->dst + f->got, data, len);
	f->got += len;
	return len;
}

static void keep_header(char *out, size_t size, const char *value, size_t len)
{
	while (len > 0 && (value[len - 1] == '\r' || value[len - 1] == '\n' || value[len - 1] == ' '))
		len--;
	while (len > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		len--;
	}
	if (len >= size)
		len = size - 1; /* cut: it then matches nothing it is checked against */
	memcpy(out, value, len);
	out[len] = '\0';
}

static size_t on_header(char *line, size_t size, size_t n, void *clientp)
{
	static const struct {
		const char *name;
		size_t off, size;
	} wanted[] = {
		{ "content-range:", offsetof(struct fetch, content_range), HEADER_VALUE_MAX },
		{ "location:", offsetof(struct fetch, location), URL_MAX },
		{ "retry-after:", offsetof(struct fetch, retry_after), HEADER_VALUE_MAX },
	};
	struct fetch *f = clientp;
	size_t len = size * n;

	for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
		size_t k = strlen(wanted[i].name);
		if (len > k && strncasecmp(line, wanted[i].name, k) == 0)
			keep_header((char *)f + wanted[i].off, wanted[i].size, line + k, len - k);
	}
	return len;
}

/* host is an IP literal: libcurl does not resolve it, nothing to pin. */
static bool is_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char bare[WIRE_HOST_MAX + 1];
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		snprintf(bare, sizeof(bare), "%.*s", (int)(n - 2), host + 1);
		return inet_pton(AF_INET6, bare, buf) == 1;
	}
	return inet_pton(AF_INET, host, buf) == 1;
}

/*
 * Pins host:port so libcurl never resolves it (its resolver would need a
 * thread or a socket, both refused). The address it is pinned to is never
 * dialled: the opensocket callback ignores it and asks the supervisor,
 * which connects to the configured name. 0.0.0.0 says so to a reader.
 */
static int pin(struct fetch *f, const char *host, uint16_t port)
{
	char entry[WIRE_HOST_MAX + 32];
	struct curl_slist *more;

	if (is_literal(host))
		return 0;
	snprintf(entry, sizeof(entry), "%s:%u:0.0.0.0", host, port);
	for (struct curl_slist *p = f->pins; p; p = p->next)
		if (strcmp(p->data, entry) == 0)
			return 0;
	more = curl_slist_append(f->pins, entry);
	if (!more)
		return -ENOMEM;
	f->pins = more;
	return curl_easy_setopt(f->easy, CURLOPT_RESOLVE, f->pins) == CURLE_OK ? 0 : -EINVAL;
}

static int parse_credentials(struct fetch *f, const char *line)
{
	size_t len = strcspn(line, "\n");
	char header[300];

	if (len > 6 && strncmp(line, "basic ", 6) == 0) {
		const char *colon = memchr(line + 6, ':', len - 6);
		if (!colon || (size_t)(colon - line - 6) >= sizeof(f->user) ||
		    len - (size_t)(colon - line) > sizeof(f->password))
			return -EINVAL;
		snprintf(f->user, sizeof(f->user), "%.*s", (int)(colon - line - 6), line + 6);
		snprintf(f->password, sizeof(f->password), "%.*s", (int)(line + len - colon - 1), colon + 1);
		return 0;
	}
	if (len > 7 && strncmp(line, "bearer ", 7) == 0 && len - 7 < sizeof(header) - 32) {
		snprintf(header, sizeof(header), "Authorization: Bearer %.*s", (int)(len - 7), line + 7);
		f->bearer = curl_slist_append(NULL, header);
		explicit_bzero(header, sizeof(header));
		return f->bearer ? 0 : -ENOMEM;
	}
	return -EINVAL;
}

int fetch_new(struct fetch **out, const char *domain, const struct fetch_origin *o, const char *ca, size_t ca_len,
	      const char *credentials)
{
	struct curl_blob blob = { .data = (void *)ca, .len = ca_len, .flags = CURL_BLOB_COPY };
	struct fetch *f = calloc(1, sizeof(*f));
	CURLcode c = CURLE_OK;

	if (!f || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(f->easy = curl_easy_init()))
		return -ENOMEM;
	f->domain = domain;
	f->o = *o;
	f->rand_state = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
	snprintf(f->origin_name, sizeof(f->origin_name), "%s:%u", o->host, o->port);
	if (credentials && parse_credentials(f, credentials) < 0)
		return log_error_errno(-EINVAL,
				       "domain %s: the credentials handed over are not one line of 'basic "
				       "USER:PASSWORD' or 'bearer TOKEN'",
				       domain);
	/* Verification stays on; there is no setting that turns it off. */
	c |= curl_easy_setopt(f->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	c |= curl_easy_setopt(f->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	c |= curl_easy_setopt(f->easy, CURLOPT_CAINFO_BLOB, &blob);
	/* No file: the worker's root has no /etc/ssl, and the CAs came as a blob. */
	c |= curl_easy_setopt(f->easy, CURLOPT_CAINFO, NULL);
	c |= curl_easy_setopt(f->easy, CURLOPT_CAPATH, NULL);
	c |= curl_easy_setopt(f->easy, CURLOPT_PROTOCOLS_STR, "https");
	c |= curl_easy_setopt(f->easy, CURLOPT_FOLLOWLOCATION, 0L);
	c |= curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
	c |= curl_easy_setopt(f->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	c |= curl_easy_setopt(f->easy, CURLOPT_OPENSOCKETDATA, f);
	c |= curl_easy_setopt(f->easy, CURLOPT_SOCKOPTFUNCTION, socket_options);
	c |= curl_easy_setopt(f->easy, CURLOPT_SOCKOPTDATA, f);
	c |= curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, on_body);
	c |= curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	c |= curl_easy_setopt(f->easy, CURLOPT_HEADERFUNCTION, on_header);
	c |= curl_easy_setopt(f->easy, CURLOPT_HEADERDATA, f);
	c |= curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->error);
	c |= curl_easy_setopt(f->easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	c |= curl_easy_setopt(f->easy, CURLOPT_USERAGENT, "cachefiles-worker/" CFS_VERSION);
	c |= curl_easy_setopt(f->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	c |= curl_easy_setopt(f->easy, CURLOPT_LOW_SPEED_TIME, 10L);
	if (o->proxy_host) {
		char proxy[WIRE_HOST_MAX + 16];
		snprintf(proxy, sizeof(proxy), "http://%s:%u", o->proxy_host, o->proxy_port);
		c |= curl_easy_setopt(f->easy, CURLOPT_PROXY, proxy);
		c |= curl_easy_setopt(f->easy, CURLOPT_HTTPPROXYTUNNEL, 1L);
	}
	if (c != CURLE_OK)
		return log_error_errno(-EINVAL, "domain %s: libcurl refused a setting (built without TLS?)", domain);
	if ((o->proxy_host && pin(f, o->proxy_host, o->proxy_port) < 0) || pin(f, o->host, o->port) < 0)
		return -ENOMEM;
	*out = f;
	return 0;
}

static void blob_url(const struct fetch *f, const uint8_t digest[DIGEST_SIZE], char *url, size_t size)
{
	char hex[DIGEST_HEX_LEN + 1], path[600];
	const char *at;

	digest_hex(digest, hex);
	if (f->o.registry) {
		snprintf(url, size, "https://%s:%u/v2/%s/blobs/sha256:%s", f->o.host, f->o.port, f->o.path, hex);
		return;
	}
	/* The template has exactly one placeholder (config-remote.c checked it). */
	at = strchr(f->o.path, '{');
	snprintf(path, sizeof(path), "%.*s%s%s%s", (int)(at - f->o.path), f->o.path,
		 strncmp(at, "{digest}", 8) == 0 ? "sha256:" : "", hex, strchr(at, '}') + 1);
	snprintf(url, size, "https://%s:%u%s", f->o.host, f->o.port, path);
}

/* Where a request for url connects, and with which credentials. */
static int aim(struct fetch *f, const char *url)
{
	bool creds = http_credentials_allowed(f->o.host, f->o.port, url);
	CURLcode c = CURLE_OK;

	f->target = (struct target){ .purpose = WIRE_CONNECT_ORIGIN, .port = f->o.port };
	if (!creds) {
		/*
		 * Another host or port: asked for by name even through a proxy,
		 * so the supervisor holds it to the domain's redirect_hosts (and
		 * then hands over a connection to the proxy, which resolves it).
		 */
		f->target.purpose = WIRE_CONNECT_REDIRECT;
		if (http_url_authority(url, f->target.host, sizeof(f->target.host), &f->target.port) < 0)
			return -EINVAL;
		if (!f->o.proxy_host && pin(f, f->target.host, f->target.port) < 0)
			return -ENOMEM;
	} else if (f->o.proxy_host) {
		f->target.purpose = WIRE_CONNECT_PROXY;
		snprintf(f->target.host, sizeof(f->target.host), "%s", f->o.proxy_host);
		f->target.port = f->o.proxy_port;
	} else {
		snprintf(f->target.host, sizeof(f->target.host), "%s", f->o.host);
	}
	/* Credentials for the origin only: none at all on a redirect to another host. */
	c |= curl_easy_setopt(f->easy, CURLOPT_USERNAME, creds && f->user[0] ? f->user : NULL);
	c |= curl_easy_setopt(f->easy, CURLOPT_PASSWORD, creds && f->user[0] ? f->password : NULL);
	c |= curl_easy_setopt(f->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	c |= curl_easy_setopt(f->easy, CURLOPT_HTTPHEADER, creds ? f->bearer : NULL);
	c |= curl_easy_setopt(f->easy, CURLOPT_UNRESTRICTED_AUTH, 0L);
	c |= curl_easy_setopt(f->easy, CURLOPT_URL, url);
	return c == CURLE_OK ? 0 : -EINVAL;
}

enum outcome { DONE, RETRY, REDIRECT, FAIL };

/* A transfer that broke or never began, in libcurl's words, after what had come of it. */
static void transfer_why(const struct fetch *f, CURLcode c, long status, char *why, size_t n)
{
	const char *what = f->error[0] ? f->error : curl_easy_strerror(c);

	if (f->connect_error == -EPERM)
		snprintf(why, n, "the supervisor refused a connection to %s:%u", f->target.host, f->target.port);
	else if (f->connect_error < 0)
		snprintf(why, n, "no connection to %s:%u: %s", f->target.host, f->target.port,
			 strerror(-f->connect_error));
	else if (status > 0)
		snprintf(why, n, "HTTP %ld after %" PRIu64 " of %" PRIu64 " bytes: %s", status, f->got, f->want, what);
	else
		snprintf(why, n, "%s", what);
}

/* What one answer means; why says it for the log. */
static enum outcome judge(struct fetch *f, CURLcode c, long status, int *err, char *why, size_t n)
{
	*err = -EIO;
	/* A write error here is on_body() refusing the body: the answer was wrong, not the transfer. */
	if ((status == 200 || status == 206) && (c == CURLE_OK || c == CURLE_WRITE_ERROR))
		return http_range_answer(status, f->content_range, f->off, f->want, f->size, f->got, why, n) == 0
			       ? DONE
			       : RETRY;
	if (c != CURLE_OK) {
		transfer_why(f, c, status, why, n);
		*err = f->connect_error == -EPERM ? -EPERM : -EIO;
		return f->connect_error == -EPERM ? FAIL : RETRY;
	}
	if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
		snprintf(why, n, "HTTP %ld to '%s'", status, f->location);
		return REDIRECT;
	}
	snprintf(why, n, "HTTP %ld", status);
	if (status == 401 || status == 403) {
		snprintf(why, n, "HTTP %ld: the origin refused the domain's credentials (check the credentials file)",
			 status);
		*err = -EACCES;
		return FAIL;
	}
	if (status == 404) {
		snprintf(why, n, "HTTP 404: the origin has no such blob");
		*err = -ENOENT;
		return FAIL;
	}
	return RETRY; /* 5xx, 429, anything else: the origin may come back */
}

static void pause_ms(uint64_t ms)
{
	/* poll, not nanosleep: one call fewer in the seccomp allowlist. */
	poll(NULL, 0, (int)ms);
}

/* A jitter for the backoff: workers that failed together do not all ask again together. */
static uint64_t next_random(struct fetch *f)
{
	f->rand_state = f->rand_state * 6364136223846793005ull + 1442695040888963407ull;
	return f->rand_state >> 33;
}

/* One GET of [off, off + len) of a blob of size bytes at url, over by the deadline. */
static CURLcode perform(struct fetch *f, uint64_t off, uint64_t len, uint64_t size, uint8_t *dst, long *status)
{
	char range[64];
	CURLcode c;

	snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, off, off + len - 1);
	curl_easy_setopt(f->easy, CURLOPT_RANGE, range);
	/* An answer that trickles in, never slow enough for the low-speed limit, ends there too (0 would be never). */
	curl_easy_setopt(f->easy, CURLOPT_TIMEOUT_MS, (long)left_ms(f) + 1);
	f->dst = dst;
	f->off = off;
	f->want = len;
	f->size = size;
	f->got = 0;
	f->connect_error = 0;
	f->content_range[0] = f->location[0] = f->retry_after[0] = f->error[0] = '\0';
	*status = 0;
	c = curl_easy_perform(f->easy);
	f->stats.requests++;
	f->stats.bytes += f->got < len ? f->got : len; /* not the piece of a body that ran on */
	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, status);
	return c;
}

/* Appends to why ("HTTP 307 to '...'") why that redirect is not followed. */
static void say_why_not_followed(char *why, size_t n, int err)
{
	size_t len = strlen(why);

	if (err == -ELOOP)
		snprintf(why + len, n - len, ": more than %d redirects", MAX_REDIRECTS);
	else
		snprintf(why + len, n - len, ": not an https:// URL, nor a path on the same host");
}

int fetch_range(struct fetch *f, const uint8_t digest[DIGEST_SIZE], uint64_t size, uint64_t off, uint64_t len,
		uint8_t *dst)
{
	char url[URL_MAX], next[URL_MAX], why[URL_MAX + 128], hex[DIGEST_HEX_LEN + 1];
	unsigned attempt = 0, redirects = 0;
	int err = -EIO;

	f->deadline = now_ms() + f->o.deadline_ms;
	blob_url(f, digest, url, sizeof(url));
	for (;;) {
		long status;
		CURLcode c;
		enum outcome o;
		int64_t wait;
		long retry_after;

		if (aim(f, url) < 0)
			return -EINVAL;
		c = perform(f, off, len, size, dst, &status);
		o = judge(f, c, status, &err, why, sizeof(why));
		if (o == DONE)
			return 0;
		if (o == REDIRECT) {
			if (++redirects > MAX_REDIRECTS ||
			    http_redirect_target(url, f->location, next, sizeof(next)) < 0) {
				err = redirects > MAX_REDIRECTS ? -ELOOP : -EINVAL;
				say_why_not_followed(why, sizeof(why), err);
				o = FAIL;
			} else {
				memcpy(url, next, sizeof(url));
				continue;
			}
		}
		retry_after = status == 429 || status == 503 ? http_retry_after(f->retry_after) : -1;
		wait = http_retry_wait(attempt++, left_ms(f), retry_after, next_random(f));
		if (o == FAIL || wait < 0) {
			log_error("domain %s: origin %s: blob sha256:%s bytes %" PRIu64 "-%" PRIu64 ": %s%s", f->domain,
				  f->origin_name, digest_hex(digest, hex), off, off + len - 1, why,
				  o == FAIL	     ? ""
				  : retry_after >= 0 ? "; its Retry-After passes fetch_deadline"
						     : "; fetch_deadline reached");
			f->stats.failures++;
			return err;
		}
		f->stats.retries++;
		log_warning("domain %s: origin %s: blob sha256:%s bytes %" PRIu64 "-%" PRIu64 ": %s; again in %" PRId64
			    " ms",
			    f->domain, f->origin_name, digest_hex(digest, hex), off, off + len - 1, why, wait);
		pause_ms((uint64_t)wait);
	}
}

const struct fetch_stats *fetch_stats(const struct fetch *f)
{
	return &f->stats;
}

void fetch_count_bad_chunk(struct fetch *f, bool given_up)
{
	f->stats.bad_chunks++;
	f->stats.failures += given_up;
}

const char *fetch_origin_name(const struct fetch *f)
{
	return f->origin_name;
}

const char *fetch_domain(const struct fetch *f)
{
	return f->domain;
}
