/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket: a root-only UNIX stream socket in the event loop
 * (mode 0600, and every peer's SO_PEERCRED uid must be 0) through which
 * cachefilesctl(8) asks for status, the object table, a worker upgrade or a
 * re-exec. The protocol is in include/cfs-control.h. This file owns the
 * listening socket, each connection's state and the command dispatch;
 * control-request.c parses a request line, control-report.c renders what is
 * said.
 *
 * Everything a client can make us hold is bounded: CONTROL_MAX_CONNS
 * connections, a request line of CFS_CONTROL_REQUEST_MAX bytes, an output
 * buffer of CONTROL_OUT_MAX bytes filled item by item as the client reads,
 * and deadlines (request, each write, an upgrade). Writes never block.
 */
#ifndef CFS_CONTROL_H
#define CFS_CONTROL_H

#include <stdint.h>

#include "cfs-control.h"
#include "supervisor.h"

#define CONTROL_MAX_CONNS 16
/* Room for any one item, such as a domain whose PATH_MAX blob dir is all escapes. */
#define CONTROL_OUT_MAX (32 * 1024)
/* Kept free while producing, so the final "ok"/"error:" line always fits. */
#define CONTROL_FINAL_RESERVE 512
/* A client that reads nothing for this long is dropped. */
#define CONTROL_WRITE_TIMEOUT_MS 10000
#define CONTROL_TICK_MS 200

/*
 * Binds s->cfg.control_path (NULL or "": none) and adds it to the event
 * loop; a stale socket there is replaced. Returns 0 or -errno (logged).
 */
int control_setup(struct supervisor *s);
/* An epoll event tagged EV_CONTROL or EV_CONTROL_CONN. */
void control_on_event(struct supervisor *s, uint64_t tag);
/* After each batch of events: upgrade progress for the clients watching one. */
void control_settle(struct supervisor *s);
/*
 * The outcome of a reload or re-exec asked for on the socket, for every
 * client waiting for one of that kind: an optional line, then "ok" (error
 * NULL) or "error: " error.
 */
void control_verdict(struct supervisor *s, enum cfs_control_cmd cmd, const char *line, const char *error);
/* Closes every connection (telling watchers why) and removes the socket. */
void control_shutdown(struct supervisor *s);

#endif
