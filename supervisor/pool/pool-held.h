/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The objects each worker holds, within a budget. An ADOPT hands a worker
 * an object's anon fd and it opens the blob beside it: two fds for as long
 * as it holds the object. Every worker of a domain ends up serving nearly
 * every object of it, so without a bound a worker runs out of fds once a
 * domain has RLIMIT_NOFILE / 2 objects open (issue 16: READs then fail
 * with EMFILE, and the next ADOPT's fd cannot be passed).
 *
 * So a worker holds at most POOL_WORKER_OBJECTS. To adopt one more, the
 * pool first sends it a DROP for the one it used least recently, by a
 * clock: a ring of the worker's objects and a hand that passes over an
 * object used since it last came by (clearing the mark) and over one that
 * a worker holds a request or chunk of (work_out), and takes the first
 * other. Amortised O(1) per ADOPT: the hand moves once per eviction, plus
 * one turn that clears the marks of the objects adopted since the last.
 * The DROP goes through the worker's backlog like any other, so the ADOPT
 * (and one of the same handle later) never overtakes it.
 */
#ifndef CFS_POOL_HELD_H
#define CFS_POOL_HELD_H

#include "supervisor.h"

/*
 * 1 024 objects are 2 048 fds, half the worker's RLIMIT_NOFILE
 * (SANDBOX_NOFILE 4 096): the rest is ample for its socket, blob dir and
 * stdio and the blob an OPEN looks at. It is also well above what can have
 * work out in a domain at once (WORKER_SLOTS x queue_per_worker, 512), so
 * the hand always finds an object to drop. And a worker that reads
 * objects in turn thus keeps the last thousand hot.
 */
#define POOL_WORKER_OBJECTS (SANDBOX_NOFILE / 4)

/* Marks o used by slot (an ADOPT, a READ, a chunk): the hand passes it over once. */
static inline void pool_held_used(struct object *o, unsigned slot)
{
	o->used_mask |= UINT64_C(1) << slot;
}

/* Makes sure the worker's ring exists. 0 or -ENOMEM. */
int pool_held_reserve(struct worker *w);
/*
 * If the worker holds its budget: picks the object it must drop to adopt
 * another, and counts it gone (its adopted_mask bit cleared, its entry
 * stale); the caller sends the DROP. NULL if it holds fewer.
 */
struct object *pool_held_evict(struct supervisor *s, struct worker *w, unsigned slot);
/* The worker was sent o's ADOPT (pool_held_reserve() first): it holds o. */
void pool_held_add(struct supervisor *s, struct worker *w, unsigned slot, struct object *o);
/* o closes: each worker holding it holds one object less (the caller sends the DROPs). */
void pool_held_closed(struct domain *d, struct object *o);
/* The worker is gone: it holds nothing, no object is marked as its. */
void pool_held_forget(struct supervisor *s, struct worker *w, unsigned slot);
/* A request or chunk of object (obj_id, handle) went to a worker (+1) or came back (-1). */
void pool_work_out(struct supervisor *s, uint32_t obj_id, uint32_t handle, int delta);

#endif
