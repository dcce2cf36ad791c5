/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pool-held.h"

#include <stdlib.h>

static uint64_t slot_bit(unsigned slot)
{
	return UINT64_C(1) << slot;
}

/* The object entry e names if slot still holds it; NULL if the entry is stale (the object closed or was dropped). */
static struct object *entry_object(const struct objects *t, const struct held_entry *e, unsigned slot)
{
	struct object *o = e->handle < t->n_handles ? t->by_handle[e->handle] : NULL;

	return o && o->obj_id == e->obj_id && (o->adopted_mask & slot_bit(slot)) ? o : NULL;
}

int pool_held_reserve(struct worker *w)
{
	if (!w->held)
		w->held = calloc(POOL_WORKER_OBJECTS, sizeof(*w->held));
	return w->held ? 0 : -ENOMEM;
}

/*
 * At the budget no entry is stale (n_held entries are live, the ring has
 * no more than the budget). The first turn may only clear marks; after a
 * second every object has work out, which the budget rules out (pool-held.h):
 * then the third turn takes one anyway, which is still safe, only wasteful:
 * a worker reads its socket in order and finishes what it was sent for the
 * object before it reads the DROP.
 */
struct object *pool_held_evict(struct supervisor *s, struct worker *w, unsigned slot)
{
	uint64_t bit = slot_bit(slot);

	if (w->n_held < POOL_WORKER_OBJECTS || !w->n_ring)
		return NULL;
	for (unsigned step = 0; step < 3 * w->n_ring; step++, w->hand = (w->hand + 1) % w->n_ring) {
		struct object *o = entry_object(&s->objects, &w->held[w->hand], slot);
		if (!o)
			continue;
		if (o->used_mask & bit) {
			o->used_mask &= ~bit;
			continue;
		}
		if (o->work_out && step < 2 * w->n_ring)
			continue;
		/* The hand stays: the entry, stale now, takes the object adopted instead. */
		o->adopted_mask &= ~bit;
		w->n_held--;
		s->stats.evictions++;
		return o;
	}
	return NULL;
}

/* Where a new entry goes: the ring's end while it grows, else the first stale entry from the hand on. */
static unsigned free_entry(const struct supervisor *s, struct worker *w, unsigned slot)
{
	if (w->n_ring < POOL_WORKER_OBJECTS)
		return w->n_ring++;
	/* Below the budget with the ring full: some entry is stale. */
	for (unsigned step = 0; step < w->n_ring; step++) {
		unsigned i = (w->hand + step) % w->n_ring;
		if (!entry_object(&s->objects, &w->held[i], slot))
			return i;
	}
	return w->hand; /* unreachable: n_held < budget = n_ring */
}

void pool_held_add(struct supervisor *s, struct worker *w, unsigned slot, struct object *o)
{
	unsigned i = free_entry(s, w, slot);

	w->held[i] = (struct held_entry){ .handle = o->handle, .obj_id = o->obj_id };
	if (w->n_ring == POOL_WORKER_OBJECTS && i == w->hand)
		w->hand = (w->hand + 1) % w->n_ring;
	o->adopted_mask |= slot_bit(slot);
	pool_held_used(o, slot);
	w->n_held++;
}

void pool_held_closed(struct domain *d, struct object *o)
{
	for (unsigned i = 0; i < WORKER_SLOTS; i++)
		if ((o->adopted_mask & slot_bit(i)) && d->workers[i].n_held > 0)
			d->workers[i].n_held--;
}

void pool_held_forget(struct supervisor *s, struct worker *w, unsigned slot)
{
	for (uint32_t i = 0; i < s->objects.n_handles; i++)
		if (s->objects.by_handle[i]) {
			s->objects.by_handle[i]->adopted_mask &= ~slot_bit(slot);
			s->objects.by_handle[i]->used_mask &= ~slot_bit(slot);
		}
	free(w->held);
	w->held = NULL;
	w->n_ring = w->hand = w->n_held = 0;
}

void pool_work_out(struct supervisor *s, uint32_t obj_id, uint32_t handle, int delta)
{
	struct object *o = objects_by_id(&s->objects, obj_id);

	/* Closed meanwhile (its handle perhaps reused): nothing to count. */
	if (!o || o->handle != handle)
		return;
	if (delta > 0)
		o->work_out++;
	else if (o->work_out > 0)
		o->work_out--;
}
