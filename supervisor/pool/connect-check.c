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

int connect_check(const struct remote_settings *rs, const struct wire_connect *m, char *why, size_t n)
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
			return 0;
		return verdict(-EPROTO, why, n, "CONNECT to an origin other than the domain's", m);
	case WIRE_CONNECT_PROXY:
		if (same_endpoint(m, rs->proxy.host, rs->proxy.port))
			return 0;
		return verdict(-EPROTO, why, n, "CONNECT to a proxy other than the domain's", m);
	case WIRE_CONNECT_REDIRECT:
		return verdict(-EPERM, why, n,
			       "the origin redirected to another host, which this domain does not allow", m);
	default: return verdict(-EPROTO, why, n, "CONNECT with an unknown purpose", m);
	}
}
