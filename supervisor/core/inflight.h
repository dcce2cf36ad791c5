/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every OPEN and READ read from the device stays here until it is answered
 * (invariant 3). A request is either queued (no worker yet) or held by one
 * worker; when that worker dies it goes back to the head of the queue.
 */
#ifndef CFS_INFLIGHT_H
#define CFS_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include "idmap.h"

#define NO_WORKER (-1)

/* What a request asks of the core, whatever transport it came from (transport.h). */
enum request_kind {
	REQ_LOOKUP = 1, /* which blob an object is, and its size (cachefiles: OPEN) */
	REQ_FILL,	/* write a byte range of it into its data fd (cachefiles: READ) */
};

struct request {
	uint32_t msg_id;
	enum request_kind kind;
	uint32_t obj_id;
	uint32_t obj_handle; /* its object's handle (objects.h) */
	uint64_t off, len;
	int worker; /* worker slot holding it, or NO_WORKER */
	unsigned domain;
	uint64_t deadline_ms;	     /* while held by a worker */
	uint64_t read_at_ms;	     /* for timeouts of queued requests */
	uint64_t read_at_us;	     /* READ latency figures (latency.h) */
	uint64_t sent_seq;	     /* when it went to its worker, in send order: inflight_hand() */
	unsigned crashes;	     /* workers that crashed or hung holding it */
	unsigned kills;		     /* workers killed from outside holding it */
	uint64_t fill_off, fill_len; /* READ: its read window, planned at first dispatch and kept across retries */
	uint32_t
		joined_chunk; /* READ waiting for this chunk to fill its pages (pool-join.h), neither queued nor held */
	struct request *next; /* queue link while unassigned */
	/* READ: the kernel refused its fill for lack of space; the culler holds it until it made room (culler.h). */
	bool parked;
	uint8_t space_retries;
};

struct inflight {
	struct idmap by_msg_id;
	struct request *queue_head, *queue_tail;
	uint32_t count;
	uint32_t queued;     /* in every domain */
	uint32_t *queued_in; /* by domain index: a backlog in one stops prefetch there only */
	unsigned n_queued_in;
	uint64_t sends; /* requests handed to workers so far: orders sent_seq */
};

int inflight_add(struct inflight *t, struct request *proto, struct request **ret);
struct request *inflight_get(const struct inflight *t, uint32_t msg_id);
/* Puts a request at the tail (new) or head (returned by a dead worker). */
void inflight_enqueue(struct inflight *t, struct request *r, int at_head);
/* Requests of the domain waiting for a worker. */
uint32_t inflight_queued(const struct inflight *t, unsigned domain);
/* Takes the first queued request of a domain, or NULL. */
struct request *inflight_dequeue(struct inflight *t, unsigned domain);
/* Records that worker slot now holds r, sent after everything handed out before. */
void inflight_hand(struct inflight *t, struct request *r, int worker);
void inflight_remove(struct inflight *t, struct request *r);
void inflight_free(struct inflight *t);

#endif
