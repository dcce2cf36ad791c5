/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pool-chunks.h"

#include <inttypes.h>

#include "cfs-log.h"
#include "pool-held.h"
#include "pool-join.h"
#include "pool.h"
#include "wire-io.h"

/*
 * A worker that may take a chunk: ready, of the current generation, holding
 * nothing; and never the last such one, so a READ always finds a worker
 * that is not prefetching. -1 if none.
 */
static int idle_worker(const struct domain *d)
{
	unsigned ready = 0, prefetching = 0;
	int idle = -1;

	for (unsigned i = 0; i < WORKER_SLOTS; i++) {
		const struct worker *w = &d->workers[i];
		if (w->state != WORKER_READY || w->dying || w->retiring || !w->wanted || pool_backlogged(w))
			continue;
		ready++;
		prefetching += w->chunk.id != 0;
		if (idle < 0 && w->outstanding == 0 && !w->chunk.id)
			idle = (int)i;
	}
	return prefetching + 1 < ready ? idle : -1;
}

/* The next open object of the domain with a chunk to hand out, round robin; *held: one waits for a pause. */
static struct object *object_with_work(struct supervisor *s, struct domain *d, uint64_t now, bool *held)
{
	struct objects *t = &s->objects;
	unsigned di = (unsigned)(d - s->domains);

	for (uint32_t n = 0; n < t->n_handles; n++) {
		uint32_t i = (d->prefetch_cursor + n) % t->n_handles;
		struct object *o = t->by_handle[i];
		if (!o || o->domain != di || o->state != OBJECT_OPEN)
			continue;
		if (!o->prefetch.planned)
			prefetch_plan(&o->prefetch, d->settings.prefetch, o->size);
		if (!prefetch_wanted(&o->prefetch))
			continue;
		if (prefetch_held(&o->prefetch, now)) {
			*held = true;
			continue;
		}
		d->prefetch_cursor = i + 1;
		return o;
	}
	return NULL;
}

/* A chunk that did not go out, or will not be answered: it is not in the cache file. */
static void chunk_lost(struct supervisor *s, struct object *o, const struct chunk *chunk, bool crashed)
{
	if (chunk->readahead)
		window_fill_lost(&o->window, chunk->off);
	else
		prefetch_lost(&o->prefetch, chunk->off, crashed, s->cfg.crash_limit);
}

static int send_chunk(struct supervisor *s, struct domain *d, unsigned slot, struct object *o, struct chunk chunk,
		      uint64_t now)
{
	struct worker *w = &d->workers[slot];
	struct wire_prefetch m = { .handle = o->handle, .off = chunk.off, .len = chunk.len };
	int e;

	/* Job ids only tell a worker's answer from a stale one: wrapping is harmless, 0 is "none". */
	if (++s->last_chunk_id == 0)
		s->last_chunk_id = 1;
	m.job_id = s->last_chunk_id;
	wire_init(&m.hdr, WIRE_PREFETCH);
	e = pool_adopt(s, d, slot, o);
	if (e == 0)
		e = wire_send(w->sock, &m, sizeof(m), -1);
	if (e < 0) {
		chunk_lost(s, o, &chunk, false);
		pool_send_failed(s, d, slot, e);
		return e;
	}
	chunk.id = m.job_id;
	chunk.obj_id = o->obj_id;
	chunk.obj_handle = o->handle;
	chunk.deadline_ms = now + d->settings.request_timeout_ms;
	w->chunk = chunk;
	pool_work_out(s, o->obj_id, o->handle, +1);
	s->chunks_out++;
	return 0;
}

/*
 * The next readahead chunk of the domain's open objects, if any wants one.
 * A stream asks for readahead only from a READ (window.c), so the search
 * runs only after one: the hint.
 */
static bool send_readahead(struct supervisor *s, struct domain *d, unsigned slot, uint64_t now)
{
	struct objects *t = &s->objects;
	unsigned di = (unsigned)(d - s->domains);
	struct window_fill f;

	if (!d->readahead_hint)
		return false;
	for (uint32_t i = 0; i < t->n_handles; i++) {
		struct object *o = t->by_handle[i];
		if (!o || o->domain != di || o->state != OBJECT_OPEN ||
		    !window_readahead_take(&o->window, d->settings.read_window, o->size, &f))
			continue;
		(void)send_chunk(s, d, slot, o, (struct chunk){ .readahead = true, .off = f.off, .len = f.len }, now);
		return true;
	}
	d->readahead_hint = false;
	return false;
}

static void send_prefetch(struct supervisor *s, struct domain *d, unsigned slot, struct object *o, uint64_t now)
{
	struct chunk chunk = { 0 };

	prefetch_take(&o->prefetch, PREFETCH_CHUNK, &chunk.off, &chunk.len);
	(void)send_chunk(s, d, slot, o, chunk, now);
}

bool pool_chunks_hand_out(struct supervisor *s, struct domain *d, uint64_t now)
{
	int slot;

	/*
	 * Demand first: nothing is prefetched while a READ or OPEN of this
	 * domain waits for a worker. Another domain's backlog is not ours to
	 * make room for: its workers are its own.
	 */
	/*
	 * Nor while the cache is short of space and a cull pass makes room
	 * (culler.c paces READs then): in the vm, readahead wrote six times
	 * what readers asked for, and took the fs to bstop.
	 */
	if (d->state == DOMAIN_UNUSED || inflight_queued(&s->inflight, (unsigned)(d - s->domains)) > 0 ||
	    (!d->readahead_hint && !d->settings.prefetch) || s->space.pacing)
		return false;
	while ((slot = idle_worker(d)) >= 0) {
		bool held = false;
		struct object *o;
		uint64_t left;
		/* Readahead before prefetch: a reader is known to want it soon. */
		if (send_readahead(s, d, (unsigned)slot, now))
			continue;
		o = d->settings.prefetch ? object_with_work(s, d, now, &held) : NULL;
		if (!o)
			return held; /* a held chunk needs the timer to go out */
		left = o->prefetch.end - o->prefetch.next;
		if (prefetch_bucket_take(&d->prefetch_bucket, d->settings.prefetch_rate, now,
					 left < PREFETCH_CHUNK ? left : PREFETCH_CHUNK) > 0)
			return true;
		send_prefetch(s, d, (unsigned)slot, o, now);
	}
	return false;
}

static void add_readahead(struct supervisor *s, struct domain *d, uint64_t bytes)
{
	s->stats.readahead += bytes;
	d->stats.readahead += bytes;
}

const char *pool_chunk_answered(struct supervisor *s, struct domain *d, unsigned slot, uint32_t chunk_id,
				int64_t result)
{
	struct worker *w = &d->workers[slot];
	struct chunk chunk = w->chunk;
	struct object *o;

	if (!chunk.id || chunk.id != chunk_id)
		return "PREFETCH_DONE for a chunk it does not hold";
	if (result > (int64_t)chunk.len)
		return "PREFETCH_DONE with more bytes than the chunk has";
	w->chunk = (struct chunk){ 0 };
	s->chunks_out--;
	pool_work_out(s, chunk.obj_id, chunk.obj_handle, -1);
	o = objects_by_id(&s->objects, chunk.obj_id);
	if (o && o->handle != chunk.obj_handle)
		o = NULL;
	pool_release_joined(s, chunk.id, o, result >= 0);
	if (!o)
		return NULL; /* closed meanwhile: prefetch stops with it */
	if (chunk.readahead) {
		if (result < 0)
			window_fill_lost(&o->window, chunk.off);
		else {
			o->filled += (uint64_t)result;
			add_readahead(s, d, (uint64_t)result);
		}
		return NULL;
	}
	if (result == -ENOBUFS) {
		prefetch_refused(&o->prefetch, chunk.off, now_ms());
		if (o->prefetch.stopped)
			log_warning("domain %s obj %u: prefetch stopped at %" PRIu64 ": the cache refused it %u times "
				    "(cache fs full?) (READs go on as usual)",
				    d->name, o->obj_id, chunk.off, o->prefetch.refusals);
		return NULL;
	}
	prefetch_answered(&o->prefetch, chunk.off, chunk.len, result);
	if (result < 0) {
		log_warning("domain %s obj %u: prefetch stopped at %" PRIu64 ": %s (READs go on as usual)", d->name,
			    o->obj_id, chunk.off, ERRSTR((int)result));
		return NULL;
	}
	o->filled += (uint64_t)result;
	s->stats.prefetched += (uint64_t)result;
	d->stats.prefetched += (uint64_t)result;
	if (o->prefetch.next >= o->prefetch.end)
		log_info("domain %s obj %u: prefetch done, %" PRIu64 " bytes in the cache file", d->name, o->obj_id,
			 o->prefetch.end);
	return NULL;
}

void pool_chunk_lost(struct supervisor *s, struct domain *d, struct worker *w, bool crashed)
{
	struct object *o = w->chunk.id ? objects_by_id(&s->objects, w->chunk.obj_id) : NULL;

	if (o && o->handle != w->chunk.obj_handle)
		o = NULL;
	if (w->chunk.id) {
		s->chunks_out--;
		pool_work_out(s, w->chunk.obj_id, w->chunk.obj_handle, -1);
		pool_release_joined(s, w->chunk.id, NULL, false);
	}
	if (o) {
		chunk_lost(s, o, &w->chunk, crashed);
		if (!w->chunk.readahead && o->prefetch.stopped)
			log_warning("domain %s obj %u: prefetch stopped: %u workers crashed on it (READs go on as "
				    "usual)",
				    d->name, o->obj_id, o->prefetch.crashes);
	}
	w->chunk = (struct chunk){ 0 };
}

void pool_chunk_timeouts(struct supervisor *s, uint64_t now)
{
	pool_stuck_sockets(s, now);
	for (unsigned i = 0; i < s->n_domains; i++)
		for (unsigned j = 0; j < WORKER_SLOTS; j++) {
			struct worker *w = &s->domains[i].workers[j];
			if (w->chunk.id && w->chunk.deadline_ms <= now && !w->killed_by_us) {
				s->stats.timeouts++;
				pool_kill(s, &s->domains[i], j, "prefetch chunk timeout");
			}
		}
}

bool pool_chunks_busy(const struct supervisor *s)
{
	return s->chunks_out > 0;
}
