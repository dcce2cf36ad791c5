/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Chunks handed to idle workers: a sequential stream's readahead first
 * (window.h), then the domain's background prefetch (prefetch.h says what
 * and why). Both go as WIRE_PREFETCH; READs may join them (pool-join.h).
 */
#ifndef CFS_POOL_PREFETCH_H
#define CFS_POOL_PREFETCH_H

#include "supervisor.h"

/*
 * Hands chunks of the domain's open objects to idle workers: readahead, then
 * prefetch within its prefetch_rate. Returns true if work is left that
 * waits only on the rate (the caller keeps a timer running).
 */
bool pool_chunks_hand_out(struct supervisor *s, struct domain *d, uint64_t now);
/* A worker's PREFETCH_DONE: NULL, or why the worker must be killed. */
const char *pool_chunk_answered(struct supervisor *s, struct domain *d, unsigned slot, uint32_t chunk_id,
				int64_t result);
/*
 * The worker died (crashed: not killed from outside): its prefetch chunk,
 * if any, is handed out again; a readahead chunk ends its stream there
 * (window_fill_lost()). READs that joined it are queued.
 */
void pool_chunk_lost(struct supervisor *s, struct domain *d, struct worker *w, bool crashed);
/*
 * Kills workers that sat on a chunk past the domain's request timeout, or
 * took no message that long (pool_stuck_sockets()).
 */
void pool_chunk_timeouts(struct supervisor *s, uint64_t now);
/* Some worker holds a chunk (its timeout needs the timer). */
bool pool_chunks_busy(const struct supervisor *s);

#endif
