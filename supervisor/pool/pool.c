/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pool.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfs-log.h"
#include "pool-held.h"
#include "program-export.h"
#include "spawn.h"
#include "window.h"
#include "wire-io.h"

static unsigned domain_index(const struct supervisor *s, const struct domain *d)
{
	return (unsigned)(d - s->domains);
}

uint64_t pool_backoff(struct domain *d)
{
	d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : POOL_BACKOFF_MIN_MS;
	if (d->backoff_ms > POOL_BACKOFF_MAX_MS)
		d->backoff_ms = POOL_BACKOFF_MAX_MS;
	return now_ms() + d->backoff_ms;
}

static int worker_spawn(struct supervisor *s, struct domain *d, unsigned slot)
{
	struct worker *w = &d->workers[slot];
	unsigned di = domain_index(s, d);
	struct epoll_event ev = { .events = EPOLLIN };
	struct spawn_plan plan = { .slot = slot, .program_fd = program_export_fd(d) };
	int r;

	r = spawn_worker(&s->cfg, d, &plan, &w->pid, &w->pidfd, &w->sock);
	if (r < 0) {
		w->state = WORKER_EMPTY;
		w->respawn_at_ms = pool_backoff(d);
		return r;
	}
	ev.data.u64 = EV_TAG(EV_WORKER_SOCK, di, slot);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, w->sock, &ev);
	ev.data.u64 = EV_TAG(EV_WORKER_PIDFD, di, slot);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, w->pidfd, &ev);
	w->state = WORKER_STARTING;
	w->outstanding = 0;
	w->killed_by_us = false;
	w->dying = false;
	w->retiring = false;
	w->started_ms = now_ms();
	w->version[0] = '\0';
	w->chunk = (struct chunk){ 0 };
	w->socket_full = false;
	w->n_drops = 0;
	s->stats.spawns++;
	d->stats.spawns++;
	log_debug("domain %s worker %u: started pid %d", d->name, slot, (int)w->pid);
	return 0;
}

int pool_start(struct supervisor *s, struct domain *d)
{
	/* Its workers start at once, with the program if startup.c had it exported. */
	program_export_wait(s, d);
	for (unsigned i = 0; i < d->settings.n_workers; i++) {
		int r;
		d->workers[i].wanted = true;
		r = worker_spawn(s, d, i);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Workers the domain should run: none once a retired domain is released. */
static unsigned target_workers(const struct domain *d)
{
	return d->state == DOMAIN_UNUSED ? 0 : d->settings.n_workers;
}

static unsigned wanted_slots(const struct domain *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < WORKER_SLOTS; i++)
		n += d->workers[i].wanted;
	return n;
}

void pool_upgrade(struct supervisor *s, struct domain *d)
{
	unsigned started = 0;

	for (unsigned i = 0; i < WORKER_SLOTS; i++) {
		struct worker *w = &d->workers[i];
		if (!w->wanted)
			continue;
		w->wanted = false;
		w->retiring = w->state != WORKER_EMPTY;
	}
	for (unsigned i = 0; i < WORKER_SLOTS && started < d->settings.n_workers; i++) {
		struct worker *w = &d->workers[i];
		if (w->state != WORKER_EMPTY)
			continue;
		w->wanted = true;
		w->respawn_at_ms = 0;
		started++;
	}
	d->backoff_ms = 0;
	program_export_start(s, d);
	/* Fewer free slots than workers (an upgrade while the last one still drains): pool_want_freed_slot(). */
	log_notice("domain %s: starting %u of %u workers from %s, draining the old ones", d->name, started,
		   d->settings.n_workers, s->cfg.worker_exe);
}

bool pool_want_freed_slot(struct domain *d, unsigned slot)
{
	struct worker *w = &d->workers[slot];

	if (w->wanted || w->state != WORKER_EMPTY || wanted_slots(d) >= target_workers(d))
		return w->wanted;
	w->wanted = true;
	w->respawn_at_ms = 0;
	return true;
}

void pool_release_drained(struct supervisor *s, struct domain *d)
{
	/*
	 * The old generation stays until a new worker is ready: a new binary
	 * that cannot start (broken install, protocol mismatch) must leave the
	 * old workers serving, not a domain with none. Retiring workers that
	 * never got ready (a generation an upgrade soon after replaced) serve
	 * nobody: they go at once, so their slots go to the newest one.
	 */
	bool keep_ready = pool_ready_count(d) == 0 && target_workers(d) > 0;

	for (unsigned i = 0; i < WORKER_SLOTS; i++) {
		struct worker *w = &d->workers[i];
		if (!w->retiring || w->dying || w->outstanding > 0 || w->chunk.id || w->state == WORKER_EMPTY ||
		    (keep_ready && w->state == WORKER_READY))
			continue;
		/* Closing its socket is how a worker learns to exit. */
		shutdown(w->sock, SHUT_RDWR);
		pool_mark_dying(s, d, i);
	}
}

void pool_stop(struct supervisor *s, struct domain *d)
{
	program_export_stop(s, d);
	for (unsigned i = 0; i < WORKER_SLOTS; i++) {
		struct worker *w = &d->workers[i];
		if (w->state == WORKER_EMPTY)
			continue;
		syscall(SYS_pidfd_send_signal, w->pidfd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)w->pidfd, NULL, WEXITED);
		close(w->sock);
		close(w->pidfd);
		w->state = WORKER_EMPTY;
		pool_forget_backlog(w);
		pool_held_forget(s, w, i);
	}
}

void pool_respawn_due(struct supervisor *s, struct domain *d, uint64_t now)
{
	/* A new generation waits for its program: its exporter never runs beside its workers. */
	if (program_export_pending(s, d, now))
		return;
	for (unsigned i = 0; i < WORKER_SLOTS; i++) {
		struct worker *w = &d->workers[i];
		if (w->wanted && w->state == WORKER_EMPTY && w->respawn_at_ms <= now)
			(void)worker_spawn(s, d, i);
	}
}

unsigned pool_ready_count(const struct domain *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < WORKER_SLOTS; i++)
		n += d->workers[i].state == WORKER_READY && d->workers[i].wanted && !d->workers[i].dying;
	return n;
}

bool pool_can_serve(const struct domain *d)
{
	for (unsigned i = 0; i < WORKER_SLOTS; i++)
		if (d->workers[i].state == WORKER_READY && !d->workers[i].dying)
			return true;
	return false;
}

void pool_mark_dying(struct supervisor *s, struct domain *d, unsigned slot)
{
	struct worker *w = &d->workers[slot];

	if (w->state == WORKER_EMPTY || w->dying)
		return;
	w->dying = true;
	/* Nothing more goes to it; its death arrives through the pidfd. */
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, w->sock, NULL);
}

void pool_kill(struct supervisor *s, struct domain *d, unsigned slot, const char *why)
{
	struct worker *w = &d->workers[slot];

	if (w->state == WORKER_EMPTY || w->killed_by_us)
		return;
	log_warning("domain %s worker %u (pid %d): killing it: %s", d->name, slot, (int)w->pid, why);
	w->killed_by_us = true;
	syscall(SYS_pidfd_send_signal, w->pidfd, SIGKILL, NULL, 0);
	pool_mark_dying(s, d, slot);
}

static void watch_sock(struct supervisor *s, struct domain *d, unsigned slot, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = EV_TAG(EV_WORKER_SOCK, domain_index(s, d), slot) };

	epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, d->workers[slot].sock, &ev);
}

/*
 * Its socket has no room (a busy worker, a burst of DROPs): not a breach.
 * Nothing more goes to it until the loop sees the socket writable and
 * pool_flush() has sent what waits; a worker that takes nothing for a whole
 * request_timeout is hung (pool_stuck_sockets()).
 */
static void wait_for_room(struct supervisor *s, struct domain *d, unsigned slot)
{
	struct worker *w = &d->workers[slot];

	if (w->socket_full)
		return;
	w->socket_full = true;
	if (!w->n_drops)
		w->backlog_since_ms = now_ms();
	watch_sock(s, d, slot, EPOLLIN | EPOLLOUT);
}

static int queue_drop(struct worker *w, uint32_t handle)
{
	if (w->n_drops == w->drops_room) {
		unsigned room = w->drops_room ? w->drops_room * 2 : 64;
		uint32_t *p = reallocarray(w->drops, room, sizeof(*p));
		if (!p)
			return -ENOMEM;
		w->drops = p;
		w->drops_room = room;
	}
	w->drops[w->n_drops++] = handle;
	return 0;
}

static int send_drop(struct supervisor *s, struct domain *d, unsigned slot, uint32_t handle)
{
	struct worker *w = &d->workers[slot];
	struct wire_drop m = { .handle = handle };
	int e;

	/* Behind the ones waiting: a worker takes its messages in order. */
	if (pool_backlogged(w))
		return queue_drop(w, handle);
	wire_init(&m.hdr, WIRE_DROP);
	e = wire_send(w->sock, &m, sizeof(m), -1);
	if (e != -EAGAIN)
		return e;
	wait_for_room(s, d, slot);
	return queue_drop(w, handle);
}

void pool_flush(struct supervisor *s, struct domain *d, unsigned slot)
{
	struct worker *w = &d->workers[slot];
	unsigned sent = 0;
	int e = 0;

	if (!pool_backlogged(w) || w->dying)
		return;
	while (sent < w->n_drops) {
		struct wire_drop m = { .handle = w->drops[sent] };
		wire_init(&m.hdr, WIRE_DROP);
		e = wire_send(w->sock, &m, sizeof(m), -1);
		if (e < 0)
			break;
		sent++;
	}
	memmove(w->drops, w->drops + sent, (w->n_drops - sent) * sizeof(*w->drops));
	w->n_drops -= sent;
	if (sent)
		w->backlog_since_ms = now_ms();
	if (e == -EAGAIN)
		return; /* still full: EPOLLOUT stays on */
	if (e < 0) {
		pool_send_failed(s, d, slot, e);
		return;
	}
	w->socket_full = false;
	watch_sock(s, d, slot, EPOLLIN);
}

void pool_forget_backlog(struct worker *w)
{
	free(w->drops);
	w->drops = NULL;
	w->n_drops = w->drops_room = 0;
	w->socket_full = false;
}

void pool_stuck_sockets(struct supervisor *s, uint64_t now)
{
	for (unsigned i = 0; i < s->n_domains; i++)
		for (unsigned j = 0; j < WORKER_SLOTS; j++) {
			struct worker *w = &s->domains[i].workers[j];
			if (pool_backlogged(w) && !w->dying &&
			    w->backlog_since_ms + s->domains[i].settings.request_timeout_ms <= now) {
				s->stats.timeouts++;
				pool_kill(s, &s->domains[i], j, "took no message for request_timeout");
			}
		}
}

void pool_hung_up(struct supervisor *s, struct domain *d, unsigned slot)
{
	struct worker *w = &d->workers[slot];

	if (w->state == WORKER_EMPTY || w->dying)
		return;
	log_debug("domain %s worker %u (pid %d): its socket is closed: SIGKILL, so its death is seen", d->name, slot,
		  (int)w->pid);
	pool_mark_dying(s, d, slot);
	/*
	 * Most often it is exiting already and this changes nothing: its
	 * death tells how it ended (a crash is charged as one). A worker that
	 * closed its socket, or sent an empty message, and runs on would keep
	 * its slot and every anon fd it adopted, its death never seen. Its
	 * death by our SIGKILL cannot be told from an outside one, so it
	 * counts against kill_limit, not crash_limit: not killed_by_us.
	 */
	syscall(SYS_pidfd_send_signal, w->pidfd, SIGKILL, NULL, 0);
}

/* A send failed: a peer that is gone (EPIPE) hung up, anything else is broken. */
void pool_send_failed(struct supervisor *s, struct domain *d, unsigned slot, int err)
{
	if (err == -EAGAIN)
		wait_for_room(s, d, slot);
	else if (err == -EPIPE || err == -ECONNRESET)
		pool_hung_up(s, d, slot);
	else
		pool_kill(s, d, slot, "its socket refused a message");
}

static int least_loaded_worker(const struct supervisor *s, const struct domain *d)
{
	/* Retiring workers serve only while no worker of the new generation is ready. */
	bool use_retiring = pool_ready_count(d) == 0;
	int best = -1;

	for (unsigned i = 0; i < WORKER_SLOTS; i++) {
		const struct worker *w = &d->workers[i];
		/* A READ never waits behind a prefetch chunk (pool-chunks.c). */
		if (w->state != WORKER_READY || w->dying || (w->retiring && !use_retiring) ||
		    w->outstanding >= s->cfg.queue_per_worker || w->chunk.id || pool_backlogged(w))
			continue;
		if (best < 0 || w->outstanding < d->workers[best].outstanding)
			best = (int)i;
	}
	return best;
}

int pool_adopt(struct supervisor *s, struct domain *d, unsigned slot, struct object *o)
{
	struct worker *w = &d->workers[slot];
	struct wire_adopt m = { .handle = o->handle, .cookie_len = o->key_len, .size = o->size };
	struct object *victim;
	int r;

	/* Workers learn objects lazily: only the ones they are asked to serve. */
	if (o->adopted_mask & (UINT64_C(1) << slot)) {
		pool_held_used(o, slot);
		return 0;
	}
	r = pool_held_reserve(w);
	if (r < 0)
		return r;
	/* At its budget: first a DROP, which it reads before this ADOPT. */
	victim = pool_held_evict(s, w, slot);
	if (victim) {
		log_debug("domain %s worker %u: drops obj %u to adopt obj %u (it holds %u objects)", d->name, slot,
			  victim->obj_id, o->obj_id, POOL_WORKER_OBJECTS);
		r = send_drop(s, d, slot, victim->handle);
		if (r < 0)
			return r;
	}
	/* The DROP waits for room: the ADOPT goes after it, with the request (it is queued again). */
	if (pool_backlogged(w))
		return -EAGAIN;
	wire_init(&m.hdr, WIRE_ADOPT);
	memcpy(m.cookie, o->key, sizeof(m.cookie));
	r = wire_send(w->sock, &m, sizeof(m), o->anon_fd);
	if (r == 0)
		pool_held_add(s, w, slot, o);
	return r;
}

static int send_request(struct supervisor *s, struct worker *w, unsigned slot, struct request *r)
{
	struct object *o = objects_by_id(&s->objects, r->obj_id);

	if (r->kind == REQ_LOOKUP) {
		struct wire_open m = { .msg_id = r->msg_id };
		wire_init(&m.hdr, WIRE_OPEN);
		m.cookie_len = o->key_len;
		memcpy(m.cookie, o->key, sizeof(m.cookie));
		return wire_send(w->sock, &m, sizeof(m), -1);
	}
	int e = pool_adopt(s, &s->domains[o->domain], slot, o);
	if (e < 0)
		return e;
	/* Once: a worker that dies mid-fill leaves its successor the same window to finish. */
	if (r->fill_len == 0) {
		struct domain *d = &s->domains[o->domain];
		struct window_fill f = window_plan(&o->window, d->settings.read_window, d->settings.readahead, o->size,
						   r->off, r->len);
		r->fill_off = f.off;
		r->fill_len = f.len;
		/* It may have asked for readahead (pool-chunks.c looks). */
		d->readahead_hint = d->settings.read_window > 0 && d->settings.readahead > 0;
		log_debug("domain %s obj %u msg %u: READ %" PRIu64 "+%" PRIu64 " fills %" PRIu64 "+%" PRIu64,
			  s->domains[o->domain].name, r->obj_id, r->msg_id, r->off, r->len, f.off, f.len);
	}
	struct wire_read m = { .msg_id = r->msg_id,
			       .handle = o->handle,
			       .off = r->off,
			       .len = r->len,
			       .fill_off = r->fill_off,
			       .fill_len = r->fill_len };
	wire_init(&m.hdr, WIRE_READ);
	return wire_send(w->sock, &m, sizeof(m), -1);
}

void pool_dispatch(struct supervisor *s, struct domain *d)
{
	unsigned di = domain_index(s, d);
	int slot;

	while ((slot = least_loaded_worker(s, d)) >= 0) {
		struct request *r = inflight_dequeue(&s->inflight, di);
		struct worker *w = &d->workers[slot];
		struct object *o;
		int e;

		if (!r)
			return;
		o = objects_by_id(&s->objects, r->obj_id);
		if (!o || o->handle != r->obj_handle) {
			inflight_remove(&s->inflight, r); /* closed meanwhile */
			continue;
		}
		e = send_request(s, w, (unsigned)slot, r);
		if (e < 0) {
			inflight_enqueue(&s->inflight, r, 1);
			pool_send_failed(s, d, (unsigned)slot, e);
			continue;
		}
		inflight_hand(&s->inflight, r, slot);
		pool_work_out(s, r->obj_id, r->obj_handle, +1);
		r->deadline_ms = now_ms() + d->settings.request_timeout_ms;
		w->outstanding++;
	}
}

void pool_drop_object(struct supervisor *s, struct object *o)
{
	struct domain *d = &s->domains[o->domain];

	pool_held_closed(d, o);
	for (unsigned i = 0; i < WORKER_SLOTS; i++) {
		if (!(o->adopted_mask & (UINT64_C(1) << i)))
			continue;
		/* A dying worker drops it too; a full socket keeps it for later. */
		int e = d->workers[i].dying ? 0 : send_drop(s, d, i, o->handle);
		if (e < 0)
			pool_send_failed(s, d, i, e);
	}
	o->adopted_mask = 0;
}
