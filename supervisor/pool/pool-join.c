/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pool-join.h"

#include <unistd.h>

#include "cfs-log.h"
#include "wire.h"

bool pool_join_chunk(struct supervisor *s, struct object *o, struct request *r)
{
	struct domain *d = &s->domains[o->domain];
	uint64_t lo, hi;

	if (!s->chunks_out)
		return false;
	wire_read_pages(r->off, r->len, o->size, &lo, &hi);
	for (unsigned i = 0; i < WORKER_SLOTS; i++) {
		const struct chunk *chunk = &d->workers[i].chunk;
		if (!chunk->id || chunk->obj_id != o->obj_id || chunk->obj_handle != o->handle || lo < chunk->off ||
		    hi > chunk->off + chunk->len || lo == hi)
			continue;
		r->joined_chunk = chunk->id;
		if (chunk->readahead)
			window_caught_up(&o->window, d->settings.read_window, d->settings.readahead, lo);
		d->readahead_hint = true;
		return true;
	}
	return false;
}

/* Whether the cache file holds every page of [lo, hi): no hole starts before hi. */
static bool cache_file_holds(int anon_fd, uint64_t lo, uint64_t hi)
{
	off_t hole = lseek(anon_fd, (off_t)lo, SEEK_HOLE);

	return hole >= 0 && (uint64_t)hole >= hi;
}

void pool_release_joined(struct supervisor *s, uint32_t chunk_id, struct object *o, bool filled)
{
	struct idmap *m = &s->inflight.by_msg_id;

	for (size_t i = 0; i < m->capacity; i++) {
		struct request *r = m->entries[i].value;
		uint64_t lo, hi;
		if (!r || r->joined_chunk != chunk_id)
			continue;
		r->joined_chunk = 0;
		/* An object closed meanwhile: the queue drops its READs (pool_dispatch()). */
		if (o && o->obj_id == r->obj_id && o->handle == r->obj_handle && filled &&
		    (wire_read_pages(r->off, r->len, o->size, &lo, &hi), cache_file_holds(o->anon_fd, lo, hi))) {
			s->stats.joined++;
			s->transport->fill_done(s, r, 0);
			i = (size_t)-1; /* the table may have shifted: scan again */
			continue;
		}
		inflight_enqueue(&s->inflight, r, 1);
	}
}
