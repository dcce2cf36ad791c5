/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Connections for remote domains' workers: a worker's CONNECT is checked
 * against its domain (connect-check.h), handed to the broker (broker.h),
 * and the broker's socket passed on to the worker in CONNECTED. The event
 * loop never waits: the broker answers on its own socket, in the loop.
 Its socket is close-on-exec: at our exit or re-exec it reads EOF and exits.
 */
#ifndef CFS_CONNECT_H
#define CFS_CONNECT_H

#include "supervisor.h"
#include "wire.h"

/* A worker's CONNECT. NULL, or why the worker broke the protocol (the caller kills it). */
const char *pool_connect_request(struct supervisor *s, struct domain *d, unsigned slot, const struct wire_connect *m);

/* The broker's socket (index 0) or pidfd (index 1) is ready. */
void pool_broker_on_event(struct supervisor *s, unsigned index);

#endif
