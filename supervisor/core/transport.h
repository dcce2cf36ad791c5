/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The seam between the core and the kernel interface that asks for data.
 *
 * A transport turns what its kernel sends into the core's requests (a
 * lookup: which blob is this object and how big; a fill: write this range
 * into the object's data fd) and turns the core's answers back into what
 * its kernel wants. The core tables, the worker pool and the fd store know
 * only this header; the one transport we ship, cachefiles on-demand mode,
 * lives in supervisor/cachefiles/ and is the only code that includes
 * <linux/cachefiles.h>. docs/design.md sketches a fanotify one.
 *
 * Calls go one way: the process layer owns both sides and wires them. The
 * pool answers through struct transport_ops (held in struct supervisor);
 * the transport reports up through struct transport_sink, which the process
 * layer gives it. Neither calls the other by name.
 */
#ifndef CFS_TRANSPORT_H
#define CFS_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

struct supervisor;
struct request;
struct object;

/* The transport's own state (device fd, persisted records): defined by each transport. */
struct transport_state;

/* Passes one fd and its name to a successor image (re-exec); 0 or -errno. */
typedef int (*transport_pass_fd)(void *ctx, int fd, const char *name);

struct transport_ops {
	const char *name;
	/* Allocates s->transport_state; nothing opened yet. */
	int (*init)(struct supervisor *s);
	/*
	 * Takes back what a predecessor left (fd store, re-exec) or starts
	 * afresh; fills the object table, sets s->starts and s->resumed.
	 * Returns objects recovered or -errno.
	 */
	int (*start)(struct supervisor *s);
	/* The fd the loop polls for requests. */
	int (*event_fd)(const struct supervisor *s);
	/* Reads what is ready and hands it to the core through s->sink. */
	void (*on_event)(struct supervisor *s);
	/* A lookup's answer: the blob size, or -errno to refuse the object. Forgets r. */
	void (*lookup_done)(struct supervisor *s, struct request *r, int64_t size_or_error);
	/* A fill's answer: bytes written (>= 0) or -errno (the reader gets an error). Forgets r. */
	void (*fill_done)(struct supervisor *s, struct request *r, int64_t result);
	/* A worker died holding requests: the kernel may have to send them again. */
	void (*worker_lost)(struct supervisor *s);
	/* An event of a further fd the transport registered itself (EV_TRANSPORT_AUX, its index); may be NULL. */
	void (*on_aux_event)(struct supervisor *s, unsigned index);
	/* After every round of events: what waits for a quiet moment (restore, a culling step's setup). */
	void (*settle)(struct supervisor *s);
	/* Forgets what the transport persisted about an object about to go. */
	void (*forget_object)(struct supervisor *s, struct object *o);
	/* Passes every fd a successor needs, with its name (re-exec); changes nothing, so it may be counted first. */
	int (*hand_over)(struct supervisor *s, transport_pass_fd pass, void *ctx);
	/* Closes everything; without a fd store this ends the cache. */
	void (*free)(struct supervisor *s);
};

/* What the core does with what a transport reads: given by the process layer. */
struct transport_sink {
	/* The domain serving a volume, or -ENOENT. */
	int (*route)(const struct supervisor *s, const char *volume);
	/* A new request of object o, in the in-flight table: queue it or let it join a chunk. */
	void (*submit)(struct supervisor *s, struct object *o, struct request *r);
	/* Forgets an object everywhere: workers, transport, table, its domain (invariant 6). */
	void (*retire)(struct supervisor *s, struct object *o);
};

#endif
