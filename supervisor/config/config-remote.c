/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The values of a remote domain (docs/design.md, "Remote blobs"): its
 * origin, proxy and redirect hosts, its credentials and CA files. Strict
 * like every value: one reading each, and nothing that would send a secret
 * in clear, or leave a reader to guess which host or port is meant.
 * Secrets are checked here but never kept, and never quoted in a message.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfs-util.h"
#include "config-keys.h"

#define HTTPS "https://"
#define HTTP "http://"
#define CREDENTIALS_MAX 4096
#define CA_FILE_MAX (1024 * 1024)

static int refuse(char *why, size_t n, const char *text)
{
	snprintf(why, n, "%s", text);
	return -EINVAL;
}

/* "1" to "65535" without a leading zero. */
static bool parse_port(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = (uint16_t)v;
	return v <= 65535;
}

/* A DNS name or an IPv4 address ([A-Za-z0-9.-], no empty label), or an IPv6 address in brackets. */
static bool host_is_valid(const char *s, size_t n)
{
	if (n > 0 && s[0] == '[')
		return n > 2 && s[n - 1] == ']' && strspn(s + 1, "0123456789abcdefABCDEF:.") == n - 2;
	if (n == 0 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || (s[i] == '.' && s[i + 1] != '.')))
			return false;
	return true;
}

/*
 * HOST[:PORT], up to the first '/' or the end (*rest); default_port 0: the
 * port must be given. 0, or -EINVAL with why.
 */
static int parse_authority(const char *s, const char **rest, char host[static DOMAIN_VALUE_MAX + 1], uint16_t *port,
			   uint16_t default_port, char *why, size_t n)
{
	size_t len = strcspn(s, "/?#"), hn;
	const char *colon;

	if (memchr(s, '@', len))
		return refuse(why, n,
			      "has user information before '@': credentials go in a file of their own "
			      "(credentials = /path), never in a URL");
	/* The last ':' outside an IPv6 address's brackets. */
	colon = s[0] == '[' ? memchr(s, ']', len) : s;
	colon = colon ? memchr(colon, ':', len - (size_t)(colon - s)) : NULL;
	hn = colon ? (size_t)(colon - s) : len;
	if (!host_is_valid(s, hn))
		return refuse(why, n, "names no valid host: a DNS name, an IPv4 address or [an IPv6 one]");
	if (colon && !parse_port(colon + 1, len - hn - 1, port))
		return refuse(why, n, "has a port that is not a number from 1 to 65535");
	if (!colon && !default_port)
		return refuse(why, n, "names no port: write HOST:PORT (a proxy's port has no default)");
	if (!colon)
		*port = default_port;
	memcpy(host, s, hn);
	host[hn] = '\0';
	*rest = s + len;
	return 0;
}

/* One component of a repository, as distribution's reference grammar: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*. */
static size_t repository_component(const char *s)
{
	size_t i = 0;

	for (;;) {
		size_t alnum = strspn(s + i, "abcdefghijklmnopqrstuvwxyz0123456789"), sep;
		if (alnum == 0)
			return 0;
		i += alnum;
		sep = s[i] == '.' ? 1 : s[i] == '_' ? (s[i + 1] == '_' ? 2 : 1) : strspn(s + i, "-");
		if (sep == 0 || !(islower((unsigned char)s[i + sep]) || isdigit((unsigned char)s[i + sep])))
			return i;
		i += sep;
	}
}

static bool repository_is_valid(const char *s)
{
	for (;;) {
		size_t n = repository_component(s);
		if (n == 0)
			return false;
		if (s[n] == '\0')
			return true;
		if (s[n] != '/')
			return false;
		s += n + 1;
	}
}

static int parse_repository(const char *path, struct origin_settings *o, char *why, size_t n)
{
	if (path[0] != '/' || path[1] == '\0')
		return refuse(why, n, "names no repository: write registry https://HOST[:PORT]/REPOSITORY");
	if (strncmp(path, "/v2/", 4) == 0 || strcmp(path, "/v2") == 0)
		return refuse(
			why, n,
			"names the registry's API path: give the repository alone (for /v2/library/ubuntu/blobs/... "
			"write https://HOST/library/ubuntu)");
	if (!repository_is_valid(path + 1))
		return refuse(why, n,
			      "names no valid repository: lowercase a-z 0-9 components, separated by '.', '_', '__' "
			      "or dashes, joined by '/' (distribution's reference grammar)");
	snprintf(o->path, sizeof(o->path), "%s", path + 1);
	return 0;
}

/* A path with exactly one {digest} (sha256:HEX) or {hex} (HEX), and nothing a URL would have to escape. */
static int parse_template(const char *path, struct origin_settings *o, char *why, size_t n)
{
	const char *place = NULL;

	if (path[0] != '/')
		return refuse(why, n, "names no path: write url https://HOST[:PORT]/PATH/{digest}");
	for (const char *c = path; *c; c++) {
		if (*c == '{' && (strncmp(c, "{digest}", 8) == 0 || strncmp(c, "{hex}", 5) == 0)) {
			if (place)
				return refuse(why, n,
					      "has more than one {digest} or {hex}: give the blob's digest once");
			place = c;
			c = strchr(c, '}');
		} else if (*c <= ' ' || *c >= 0x7f || strchr("\"#<>\\^`{|}", *c))
			return refuse(
				why, n,
				"has a character a URL must escape, or a placeholder other than {digest} and {hex}");
	}
	if (!place)
		return refuse(why, n,
			      "has no {digest} (sha256:HEX) or {hex} (HEX) in its path: every blob would be fetched "
			      "from the same URL");
	snprintf(o->path, sizeof(o->path), "%s", path);
	return 0;
}

int config_parse_origin(const char *s, struct origin_settings *o, char *why, size_t n)
{
	struct origin_settings parsed = { 0 };
	const char *url, *path;
	bool registry = strncmp(s, "registry", 8) == 0 && isblank((unsigned char)s[8]);
	int r;

	if (!registry && !(strncmp(s, "url", 3) == 0 && isblank((unsigned char)s[3])))
		return refuse(why, n,
			      "expected 'registry https://HOST[:PORT]/REPOSITORY' or 'url https://HOST[:PORT]/PATH' "
			      "with {digest} or {hex} in PATH");
	parsed.kind = registry ? ORIGIN_REGISTRY : ORIGIN_URL;
	url = s + (registry ? 8 : 3);
	url += strspn(url, " \t");
	if (strncmp(url, HTTP, strlen(HTTP)) == 0)
		return refuse(why, n,
			      "is plain http: credentials, and which blobs this node reads, would cross the network in "
			      "clear; use https://");
	if (strncmp(url, HTTPS, strlen(HTTPS)) != 0)
		return refuse(why, n, "expected an https:// URL after the origin's kind");
	r = parse_authority(url + strlen(HTTPS), &path, parsed.host, &parsed.port, 443, why, n);
	if (r == 0 && *path && *path != '/')
		r = refuse(why, n, "has a query or fragment ('?', '#') before its path");
	if (r == 0)
		r = registry ? parse_repository(path, &parsed, why, n) : parse_template(path, &parsed, why, n);
	if (r == 0)
		*o = parsed;
	return r;
}

int config_parse_proxy(const char *s, struct proxy_settings *p, char *why, size_t n)
{
	struct proxy_settings parsed = { 0 };
	const char *rest;
	int r;

	if (strncmp(s, HTTPS, strlen(HTTPS)) == 0)
		return refuse(why, n,
			      "an https:// proxy is not supported: give its http:// address; TLS to the origin runs "
			      "through it end to end (CONNECT)");
	if (strncmp(s, HTTP, strlen(HTTP)) != 0)
		return refuse(why, n, "expected http://HOST:PORT");
	r = parse_authority(s + strlen(HTTP), &rest, parsed.host, &parsed.port, 0, why, n);
	if (r == 0 && *rest && strcmp(rest, "/") != 0)
		return refuse(why, n, "has a path: a proxy is named by HOST:PORT alone");
	if (r == 0)
		*p = parsed;
	return r;
}

static int refuse_entry(char *why, size_t n, const char *entry, const char *text)
{
	snprintf(why, n, "'%s' %s", entry, text);
	return -EINVAL;
}

/* One HOST[:PORT] of redirect_hosts into r; why names the entry. */
static int redirect_host_add(const char *entry, struct redirect_settings *r, char *why, size_t n)
{
	struct redirect_host h = { 0 };
	char inner[256];
	const char *rest;

	if (strstr(entry, "://"))
		return refuse_entry(why, n, entry, "is a URL: name the host as HOST[:PORT] alone (https is implied)");
	if (parse_authority(entry, &rest, h.host, &h.port, 443, inner, sizeof(inner)) < 0)
		return refuse_entry(why, n, entry, inner);
	if (*rest)
		return refuse_entry(why, n, entry, "has a path: a redirect host is named by HOST[:PORT] alone");
	for (unsigned i = 0; i < r->n; i++)
		if (r->hosts[i].port == h.port && strcasecmp(r->hosts[i].host, h.host) == 0)
			return refuse_entry(why, n, entry, "is listed twice");
	if (r->n == REDIRECT_HOSTS_MAX) {
		snprintf(why, n, "lists more than %d hosts", REDIRECT_HOSTS_MAX);
		return -EINVAL;
	}
	r->hosts[r->n++] = h;
	return 0;
}

int config_parse_redirect_hosts(const char *s, struct redirect_settings *r, char *why, size_t n)
{
	struct redirect_settings parsed = { 0 };
	char entry[DOMAIN_VALUE_MAX + 1];

	for (;;) {
		size_t len;
		s += strspn(s, " \t");
		len = strcspn(s, " \t");
		if (len == 0)
			break;
		snprintf(entry, sizeof(entry), "%.*s", (int)len, s);
		if (redirect_host_add(entry, &parsed, why, n) < 0)
			return -EINVAL;
		s += len;
	}
	if (parsed.n == 0)
		return refuse(why, n,
			      "lists no host: write HOST[:PORT] ..., or remove the key to refuse every redirect");
	*r = parsed;
	return 0;
}

/*
 * Reads a regular file of at most max bytes into buf (max + 1 bytes of
 * room, NUL-terminated), with its stat. 0, or -EINVAL with why.
 */
static int read_small_file(const char *path, size_t max, char *buf, size_t *len, struct stat *st, char *why, size_t n)
{
	_cleanup_close_ int fd = -EBADF;
	ssize_t got;

	if (path[0] != '/')
		return refuse(why, n, "expected an absolute path");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, st) < 0) {
		snprintf(why, n, "cannot be read: %s", strerror(errno));
		return -EINVAL;
	}
	if (!S_ISREG(st->st_mode))
		return refuse(why, n, "is not a regular file");
	got = pread_full(fd, buf, max + 1, 0);
	if (got < 0) {
		snprintf(why, n, "cannot be read: %s", strerror((int)-got));
		return -EINVAL;
	}
	if ((size_t)got > max) {
		snprintf(why, n, "is larger than %zu bytes", max);
		return -EINVAL;
	}
	buf[got] = '\0';
	*len = (size_t)got;
	return 0;
}

/* "basic USER:PASSWORD" or "bearer TOKEN" (RFC 6750's b64token), one line, printable. */
static bool credentials_are_valid(const char *s, size_t len)
{
	const char *colon;

	if (len > 0 && s[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			return false;
	if (len > 6 && strncmp(s, "basic ", 6) == 0) {
		colon = memchr(s + 6, ':', len - 6);
		return colon && colon > s + 6 && colon < s + len - 1;
	}
	if (len > 7 && strncmp(s, "bearer ", 7) == 0) {
		size_t t = strspn(s + 7, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/");
		return t > 0 && strspn(s + 7 + t, "=") == len - 7 - t;
	}
	return false;
}

int config_check_credentials(const char *path, char *why, size_t n)
{
	char buf[CREDENTIALS_MAX + 1];
	struct stat st;
	size_t len = 0;
	bool valid;
	int r = read_small_file(path, CREDENTIALS_MAX, buf, &len, &st, why, n);

	valid = r == 0 && credentials_are_valid(buf, len);
	explicit_bzero(buf, sizeof(buf));
	if (r < 0)
		return r;
	if (st.st_uid != geteuid()) {
		snprintf(why, n, "belongs to uid %u: it must belong to uid %u, the supervisor's (chown it)",
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		snprintf(why, n, "can be read or written by group or others (mode %04o): chmod 600 it",
			 (unsigned)(st.st_mode & 07777));
		return -EINVAL;
	}
	if (!valid)
		return refuse(why, n,
			      "expected one line, 'basic USER:PASSWORD' or 'bearer TOKEN' (what it holds is not shown: "
			      "it is a secret)");
	return 0;
}

int config_check_ca_file(const char *path, char *why, size_t n)
{
	_cleanup_free_ char *buf = malloc(CA_FILE_MAX + 1);
	struct stat st;
	size_t len;
	int r = buf ? read_small_file(path, CA_FILE_MAX, buf, &len, &st, why, n) : -ENOMEM;

	if (r == -ENOMEM)
		return refuse(why, n, "cannot be read: out of memory");
	if (r < 0)
		return r;
	if (!memmem(buf, len, "-----BEGIN CERTIFICATE-----", 27))
		return refuse(why, n, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
	return 0;
}
