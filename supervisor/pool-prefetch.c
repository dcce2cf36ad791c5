/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pool-prefetch.h"

#include <inttypes.h>

#include "cfs-log.h"
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
		if (w->state != WORKER_READY || w->dying || w->retiring || !w->wanted)
			continue;
		ready++;
		prefetching += w->prefetch.job_id != 0;
		if (idle < 0 && w->outstanding == 0 && !w->prefetch.job_id)
			idle = (int)i;
	}
	return prefetching + 1 < ready ? idle : -1;
}

/* The next open object of the domain with a chunk to hand out, round robin. */
static struct object *object_with_work(struct supervisor *s, struct domain *d)
{
	struct objects *t = &s->objects;
	unsigned di = (unsigned)(d - s->domains);

	for (uint32_t n = 0; n < t->n_slots; n++) {
		uint32_t i = (d->prefetch_cursor + n) % t->n_slots;
		struct object *o = t->slots[i];
		if (!o || o->domain != di || o->state != OBJECT_OPEN)
			continue;
		if (!o->prefetch.planned)
			prefetch_plan(&o->prefetch, d->prefetch, o->size);
		if (prefetch_wanted(&o->prefetch)) {
			d->prefetch_cursor = i + 1;
			return o;
		}
	}
	return NULL;
}

static int send_chunk(struct supervisor *s, struct domain *d, unsigned slot, struct object *o, uint64_t now)
{
	struct worker *w = &d->workers[slot];
	struct wire_prefetch m = { .slot = o->slot };
	int e;

	/* Job ids only tell a worker's answer from a stale one: wrapping is harmless, 0 is "none". */
	if (++s->prefetch_jobs == 0)
		s->prefetch_jobs = 1;
	m.job_id = s->prefetch_jobs;
	prefetch_take(&o->prefetch, PREFETCH_CHUNK, &m.off, &m.len);
	wire_init(&m.hdr, WIRE_PREFETCH);
	e = pool_adopt(w, slot, o);
	if (e == 0)
		e = wire_send(w->sock, &m, sizeof(m), -1);
	if (e < 0) {
		prefetch_lost(&o->prefetch, m.off, false, 0);
		pool_send_failed(s, d, slot, e);
		return e;
	}
	w->prefetch = (struct prefetch_job){ .job_id = m.job_id, .obj_id = o->obj_id, .obj_slot = o->slot,
					     .off = m.off, .len = m.len,
					     .deadline_ms = now + d->request_timeout_ms };
	return 0;
}

bool pool_prefetch(struct supervisor *s, struct domain *d, uint64_t now)
{
	int slot;

	/* Demand first: nothing is prefetched while a READ or OPEN waits for a worker. */
	if (d->prefetch == 0 || d->state == DOMAIN_UNUSED || s->inflight.queued > 0)
		return false;
	while ((slot = idle_worker(d)) >= 0) {
		struct object *o = object_with_work(s, d);
		uint64_t left;
		if (!o)
			return false;
		left = o->prefetch.end - o->prefetch.next;
		if (prefetch_bucket_take(&d->prefetch_bucket, d->prefetch_rate, now,
					 left < PREFETCH_CHUNK ? left : PREFETCH_CHUNK) > 0)
			return true;
		(void)send_chunk(s, d, (unsigned)slot, o, now);
	}
	return false;
}

const char *pool_prefetch_answered(struct supervisor *s, struct domain *d, unsigned slot, uint32_t job_id,
				   int64_t result)
{
	struct worker *w = &d->workers[slot];
	struct prefetch_job job = w->prefetch;
	struct object *o;

	if (!job.job_id || job.job_id != job_id)
		return "PREFETCH_DONE for a chunk it does not hold";
	if (result > (int64_t)job.len)
		return "PREFETCH_DONE with more bytes than the chunk has";
	w->prefetch = (struct prefetch_job){ 0 };
	o = objects_by_id(&s->objects, job.obj_id);
	if (!o || o->slot != job.obj_slot)
		return NULL; /* closed meanwhile: prefetch stops with it */
	prefetch_answered(&o->prefetch, job.off, job.len, result);
	if (result < 0) {
		log_warning("domain %s obj %u: prefetch stopped at %" PRIu64 ": %s (READs go on as usual)", d->name,
			    o->obj_id, job.off, ERRSTR((int)result));
		return NULL;
	}
	s->stats.prefetched += (uint64_t)result;
	d->stats.prefetched += (uint64_t)result;
	if (o->prefetch.next >= o->prefetch.end)
		log_info("domain %s obj %u: prefetch done, %" PRIu64 " bytes in the cache file", d->name, o->obj_id,
			 o->prefetch.end);
	return NULL;
}

void pool_prefetch_lost(struct supervisor *s, struct domain *d, struct worker *w, bool crashed)
{
	struct object *o = w->prefetch.job_id ? objects_by_id(&s->objects, w->prefetch.obj_id) : NULL;

	if (o && o->slot == w->prefetch.obj_slot) {
		prefetch_lost(&o->prefetch, w->prefetch.off, crashed, s->cfg.crash_limit);
		if (o->prefetch.stopped)
			log_warning("domain %s obj %u: prefetch stopped: %u workers crashed on it (READs go on as "
				    "usual)", d->name, o->obj_id, o->prefetch.crashes);
	}
	w->prefetch = (struct prefetch_job){ 0 };
}

void pool_prefetch_timeouts(struct supervisor *s, uint64_t now)
{
	for (unsigned i = 0; i < s->n_domains; i++)
		for (unsigned j = 0; j < WORKER_SLOTS; j++) {
			struct worker *w = &s->domains[i].workers[j];
			if (w->prefetch.job_id && w->prefetch.deadline_ms <= now && !w->killed_by_us) {
				s->stats.timeouts++;
				pool_kill(s, &s->domains[i], j, "prefetch chunk timeout");
			}
		}
}

bool pool_prefetch_busy(const struct supervisor *s)
{
	for (unsigned i = 0; i < s->n_domains; i++)
		for (unsigned j = 0; j < WORKER_SLOTS; j++)
			if (s->domains[i].workers[j].prefetch.job_id)
				return true;
	return false;
}
