/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The connection broker (docs/design.md, "Remote blobs"): a small process
 * the supervisor forks, that resolves a name and connects to it, and hands
 * the connected socket back. It exists so that neither the sandboxed
 * workers (no socket(), no connect()) nor the supervisor's event loop (never
 * blocked on DNS or a connect) do it. It knows nothing of domains: the
 * supervisor checked every request against the asking worker's domain
 * before it gets here (connect-check.h).
 *
 * Protocol: SOCK_SEQPACKET, one broker_request per datagram, one
 * broker_answer per request in the same order, the socket attached
 * (SCM_RIGHTS) when result is 0.
 */
#ifndef CFS_BROKER_H
#define CFS_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

struct broker_request {
	uint32_t id;
	uint16_t port;
	uint8_t local_ok; /* the configured name is a loopback or link-local literal: allowed */
	uint8_t reserved;
	uint32_t timeout_ms; /* for the connect */
	char host[WIRE_HOST_MAX + 1];
};

struct broker_answer {
	uint32_t id;
	int32_t result; /* 0 or -errno */
	char peer[WIRE_PEER_MAX];
};

/*
 * Forks the broker, running as uid/gid (nothing changes when we are not
 * root: the unit tests run it as themselves). Returns 0 with its pid,
 * pidfd and our end of its socket (non-blocking, close-on-exec), or -errno.
 */
int broker_start(uid_t uid, gid_t gid, pid_t *pid, int *pidfd, int *sock);

/*
 * Whether an address of host may be connected to: loopback, link-local and
 * unspecified addresses only when local_ok (the configured name is such a
 * literal: a P2P proxy on the node). Pure, for the unit tests.
 */
bool broker_address_allowed(const void *sockaddr, bool local_ok);

/* Whether host is an IP literal (an IPv6 one in brackets) that broker_address_allowed() calls local. */
bool broker_host_is_local_literal(const char *host);

#endif
