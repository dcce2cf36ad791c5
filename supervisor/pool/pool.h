/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Worker processes: spawning, messages to and from them, death. */
#ifndef CFS_POOL_H
#define CFS_POOL_H

#include "supervisor.h"

/* Starts d's first workers, once the seccomp program export running for it has ended. */
int pool_start(struct supervisor *s, struct domain *d);
void pool_stop(struct supervisor *s, struct domain *d);
/* Hot upgrade: new workers from the binary on disk, the old ones drain. */
void pool_upgrade(struct supervisor *s, struct domain *d);
/*
 * A slot just emptied: if the domain has fewer wanted slots than workers
 * (quick upgrades found too few free), it is wanted now. Returns whether
 * it is wanted.
 */
bool pool_want_freed_slot(struct domain *d, unsigned slot);
/* Lets retiring workers that hold nothing exit. */
void pool_release_drained(struct supervisor *s, struct domain *d);
/* Respawns empty slots whose backoff has passed. */
void pool_respawn_due(struct supervisor *s, struct domain *d, uint64_t now);
/* Hands queued requests to ready workers with room. */
void pool_dispatch(struct supervisor *s, struct domain *d);
void pool_on_message(struct supervisor *s, struct domain *d, unsigned slot);
void pool_on_death(struct supervisor *s, struct domain *d, unsigned slot);
/* SIGKILLs a worker; its death arrives through its pidfd. */
void pool_kill(struct supervisor *s, struct domain *d, unsigned slot, const char *why);
/* Stops using a worker whose socket is gone; its pidfd reports the death. */
void pool_mark_dying(struct supervisor *s, struct domain *d, unsigned slot);
/*
 * Its socket is closed (or it sent an empty message, which reads the same):
 * dying, and SIGKILLed in case it is not exiting, so its pidfd reports it.
 */
void pool_hung_up(struct supervisor *s, struct domain *d, unsigned slot);
/*
 * Sends the object's anon fd (ADOPT) to worker slot, unless it holds it
 * already; a worker at its budget is first sent a DROP (pool-held.h).
 * -EAGAIN: that DROP waits for room in its socket, the ADOPT was not sent.
 */
int pool_adopt(struct supervisor *s, struct domain *d, unsigned slot, struct object *o);
/* A send failed: a peer that is gone (EPIPE) hung up, anything else is broken and killed. */
void pool_send_failed(struct supervisor *s, struct domain *d, unsigned slot, int err);
/*
 * Tells every worker holding the object to drop it; a DROP a full socket
 * cannot take waits in the worker's backlog (a busy worker is not broken).
 */
void pool_drop_object(struct supervisor *s, struct object *o);
/* DROPs wait for room, or a send found none: the worker is given nothing until pool_flush() empties it. */
static inline bool pool_backlogged(const struct worker *w)
{
	return w->socket_full || w->n_drops > 0;
}
/* Its socket may have room (the loop saw an event on it): sends what waits. */
void pool_flush(struct supervisor *s, struct domain *d, unsigned slot);
/* Frees the backlog of a worker that is gone. */
void pool_forget_backlog(struct worker *w);
/* Kills workers whose backlog waited a whole request_timeout: they read nothing, they are hung. */
void pool_stuck_sockets(struct supervisor *s, uint64_t now);
/*
 * Workers of the current generation that take requests: not a dying one,
 * whose socket is gone or whose kill is sent (status, upgrade progress and
 * the guard that keeps the old generation serving count on it).
 */
unsigned pool_ready_count(const struct domain *d);
/* Some worker, of either generation, can take requests. */
bool pool_can_serve(const struct domain *d);
/* Doubles the domain's start-up backoff; returns when to try again. */
uint64_t pool_backoff(struct domain *d);

#define POOL_BACKOFF_MIN_MS 10
#define POOL_BACKOFF_MAX_MS 5000

#endif
