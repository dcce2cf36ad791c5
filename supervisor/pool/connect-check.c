/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "connect-check.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int verdict(int r, char *why, size_t n, const char *text, const struct wire_connect *m)
{
	snprintf(why, n, "%s (%s:%u)", text, m->host, m->port);
	return r;
}

/* DNS names compare without case; ports exactly. */
static bool same_endpoint(const struct wire_connect *m, const char *host, uint16_t port)
{
	return port != 0 && m->port == port && strcasecmp(m->host, host) == 0;
}

static int allow(struct connect_target *to, const char *host, uint16_t port)
{
	*to = (struct connect_target){ .host = host, .port = port };
	return 0;
}

/*
 * A redirect's host, on the domain's list. With a proxy the broker connects
 * to the proxy, as for every connection of the domain, and the worker names
 * the host in its own CONNECT to it (libcurl's tunnel): the supervisor never
 * sees that line, so the list keeps an honest worker to it, and the proxy's
 * own rules are what bounds a lying one (as over any PROXY connection).
 * Without a proxy the broker connects to the listed host itself.
 */
static int redirect_check(const struct remote_settings *rs, const struct wire_connect *m, struct connect_target *to,
			  char *why, size_t n)
{
	for (unsigned i = 0; i < rs->redirect.n && i < REDIRECT_HOSTS_MAX; i++) {
		const struct redirect_host *h = &rs->redirect.hosts[i];
		if (!same_endpoint(m, h->host, h->port))
			continue;
		return rs->proxy.port ? allow(to, rs->proxy.host, rs->proxy.port) : allow(to, h->host, h->port);
	}
	return verdict(-EPERM, why, n, "the origin redirected to a host that is not on this domain's redirect_hosts",
		       m);
}

int connect_check(const struct remote_settings *rs, const struct wire_connect *m, struct connect_target *to, char *why,
		  size_t n)
{
	if (!memchr(m->host, '\0', sizeof(m->host))) {
		snprintf(why, n, "CONNECT with a host name that is not NUL terminated");
		return -EPROTO;
	}
	if (rs->origin.kind == ORIGIN_NONE)
		return verdict(-EPROTO, why, n, "CONNECT from a worker of a domain without an origin", m);
	switch (m->purpose) {
	case WIRE_CONNECT_ORIGIN:
		/* With a proxy, libcurl tunnels through it: a direct connection is not what it would ask. */
		if (rs->proxy.port == 0 && same_endpoint(m, rs->origin.host, rs->origin.port))
			return allow(to, rs->origin.host, rs->origin.port);
		return verdict(-EPROTO, why, n, "CONNECT to an origin other than the domain's", m);
	case WIRE_CONNECT_PROXY:
		if (same_endpoint(m, rs->proxy.host, rs->proxy.port))
			return allow(to, rs->proxy.host, rs->proxy.port);
		return verdict(-EPROTO, why, n, "CONNECT to a proxy other than the domain's", m);
	case WIRE_CONNECT_REDIRECT: return redirect_check(rs, m, to, why, n);
	default: return verdict(-EPROTO, why, n, "CONNECT with an unknown purpose", m);
	}
}
