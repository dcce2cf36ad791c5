/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Whether a worker's CONNECT is one its domain allows (pure, unit tested).
 * A remote domain's worker may ask for its origin, or for its proxy when it
 * has one (then every connection goes to the proxy); nothing else. A
 * redirect's host is allowed nowhere yet (a per-domain redirect_hosts list
 * is the design's next step): the worker is told no, with a log naming the
 * host, and is not killed, since an origin chose the redirect, not it.
 */
#ifndef CFS_CONNECT_CHECK_H
#define CFS_CONNECT_CHECK_H

#include <stddef.h>

#include "domain-settings.h"
#include "wire.h"

/*
 * 0: allowed. -EPERM: refused, answer it (a redirect elsewhere). -EPROTO:
 * the worker broke the protocol (a local domain's worker connecting, a host
 * or port other than configured, an unknown purpose, a host not NUL
 * terminated): kill it. why says which, for the log.
 */
int connect_check(const struct remote_settings *rs, const struct wire_connect *m, char *why, size_t n);

#endif
