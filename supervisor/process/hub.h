/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the transport meets the core and the pool: the transport_sink
 * (transport.h) the process layer gives the transport. Requests it reads
 * join a chunk or wait in the queue; objects it closes leave the workers,
 * the transport's records, the table and, last, maybe their domain.
 */
#ifndef CFS_HUB_H
#define CFS_HUB_H

#include "transport.h"

extern const struct transport_sink hub_sink;

#endif
