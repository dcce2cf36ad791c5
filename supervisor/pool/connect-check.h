/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Whether a worker's CONNECT is one its domain allows (pure, unit tested).
 * A remote domain's worker may ask for its origin, or for its proxy when it
 * has one (then every connection goes to the proxy), or for a host its
 * origin redirected it to when that host is on the domain's redirect_hosts.
 * A redirect elsewhere is refused: the worker is told no, with a log naming
 * the host, and is not killed, since an origin chose the redirect, not it.
 */
#ifndef CFS_CONNECT_CHECK_H
#define CFS_CONNECT_CHECK_H

#include <stddef.h>

#include "domain-settings.h"
#include "wire.h"

/* Where the broker connects for an allowed CONNECT: names from the config, never the worker's spelling. */
struct connect_target {
	const char *host; /* into the remote_settings checked against */
	uint16_t port;
};

/*
 * 0: allowed, *to says where to connect. -EPERM: refused, answer it (a
 * redirect to a host not on the list). -EPROTO: the worker broke the
 * protocol (a local domain's worker connecting, a host or port other than
 * configured, an unknown purpose, a host not NUL terminated): kill it. why
 * says which, for the log.
 */
int connect_check(const struct remote_settings *rs, const struct wire_connect *m, struct connect_target *to, char *why,
		  size_t n);

#endif
