/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker's side of its socket to the supervisor, where a remote
 * domain's worker asks for connections in the middle of a request: while
 * it waits for CONNECTED, what else the supervisor sends (READs, ADOPTs,
 * DROPs) is kept in arrival order and served afterwards.
 */
#ifndef CFS_IPC_H
#define CFS_IPC_H

#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

/*
 * The next message: a kept one first, else from the socket (blocking). As
 * wire_recv(): the byte count, 0 on EOF, -errno; *fd and *nfds as there.
 */
ssize_t ipc_next(union wire_msg *m, int *fd, unsigned *nfds);

/*
 * Asks the supervisor for a connection and waits for it, at most
 * timeout_ms. Returns the connected socket (peer: its numeric address), or
 * -errno: the supervisor's refusal, -ETIMEDOUT, or -EPROTO if the socket
 * broke (the caller's next ipc_next() then reports how).
 */
int ipc_connect(uint16_t purpose, const char *host, uint16_t port, int timeout_ms, char peer[static WIRE_PEER_MAX]);

#endif
