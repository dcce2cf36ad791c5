/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Whether this process can reach a remote domain's origin at all, asked
 * when the domain is opened (start, reload, --check-config). The shipped
 * unit gives the service no network (PrivateNetwork=yes,
 * RestrictAddressFamilies=AF_UNIX): a remote domain under it would have
 * every fetch fail after fetch_deadline, with readers waiting that long
 * for each READ. Found here, the domain is refused at once with the fix:
 * the remote-origins.conf drop-in.
 */
#ifndef CFS_NETCHECK_H
#define CFS_NETCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "domain-settings.h"

/* true: the origin (or proxy) may be reachable; false: why says why not, and what to do. */
bool netcheck_origin_reachable(const struct remote_settings *rs, char *why, size_t n);

/* The interfaces /proc/self/net/dev (TEXT) lists other than lo (pure, unit tested). */
unsigned netcheck_interfaces_beside_lo(const char *text);

#endif
