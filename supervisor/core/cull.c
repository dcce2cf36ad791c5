/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cull.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NAMES_MIN_CAPACITY 1024

/* FNV-1a over "volume_dir/file"; never 0, which marks a free slot. */
uint64_t cull_name_hash(const char *volume_dir, const char *file)
{
	uint64_t h = 14695981039346656037ull;

	for (const char *p = volume_dir; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	h = (h ^ '/') * 1099511628211ull;
	for (const char *p = file; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h ? h : 1;
}

static struct cull_name *slot_of(const struct cull_names *m, uint64_t hash)
{
	size_t i = hash & (m->capacity - 1);

	while (m->slots[i].hash && m->slots[i].hash != hash)
		i = (i + 1) & (m->capacity - 1);
	return &m->slots[i];
}

/* Keeps the table at most half full; entries are never removed (a file's CLOSE time outlives its object). */
static int names_grow(struct cull_names *m)
{
	struct cull_names bigger = { .capacity = m->capacity ? m->capacity * 2 : NAMES_MIN_CAPACITY };

	if (m->count + 1 <= m->capacity / 2)
		return 0;
	bigger.slots = calloc(bigger.capacity, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->capacity; i++)
		if (m->slots[i].hash)
			*slot_of(&bigger, m->slots[i].hash) = m->slots[i];
	bigger.count = m->count;
	free(m->slots);
	*m = bigger;
	return 0;
}

struct cull_name *cull_names_get(struct cull_names *m, uint64_t hash)
{
	struct cull_name *n;

	if (names_grow(m) < 0)
		return NULL;
	n = slot_of(m, hash);
	if (!n->hash) {
		*n = (struct cull_name){ .hash = hash };
		m->count++;
	}
	return n;
}

struct cull_name *cull_names_lookup(struct cull_names *m, uint64_t hash)
{
	struct cull_name *n;

	if (!m->capacity)
		return NULL;
	n = slot_of(m, hash);
	return n->hash ? n : NULL;
}

const struct cull_name *cull_names_find(const struct cull_names *m, uint64_t hash)
{
	return cull_names_lookup((struct cull_names *)m, hash); /* which only reads */
}

void cull_names_free(struct cull_names *m)
{
	free(m->slots);
	*m = (struct cull_names){ 0 };
}

int64_t cull_last_use(const struct cull_name *n, int64_t atime_s, int64_t mtime_s)
{
	if (n && n->closed_s)
		return n->closed_s;
	return atime_s > mtime_s ? atime_s : mtime_s;
}

/* ---- candidates ---- */

int cull_candidates_init(struct cull_candidates *c, size_t room)
{
	*c = (struct cull_candidates){ .room = room };
	c->list = calloc(room, sizeof(*c->list));
	return c->list ? 0 : -ENOMEM;
}

void cull_candidates_reset(struct cull_candidates *c)
{
	c->count = c->next = 0;
}

static void swap(struct cull_candidate *a, struct cull_candidate *b)
{
	struct cull_candidate t = *a;
	*a = *b;
	*b = t;
}

static void sift_down(struct cull_candidates *c, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, top = i;
		if (l < c->count && c->list[l].last_use_s > c->list[top].last_use_s)
			top = l;
		if (r < c->count && c->list[r].last_use_s > c->list[top].last_use_s)
			top = r;
		if (top == i)
			return;
		swap(&c->list[i], &c->list[top]);
		i = top;
	}
}

void cull_candidates_offer(struct cull_candidates *c, const struct cull_candidate *cand)
{
	size_t i = c->count;

	if (c->count == c->room) {
		/* The newest kept sits on top: replace it if this one is older. */
		if (c->room == 0 || cand->last_use_s >= c->list[0].last_use_s)
			return;
		c->list[0] = *cand;
		sift_down(c, 0);
		return;
	}
	c->list[c->count++] = *cand;
	while (i > 0 && c->list[(i - 1) / 2].last_use_s < c->list[i].last_use_s) {
		swap(&c->list[i], &c->list[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static int older_first(const void *a, const void *b)
{
	int64_t x = ((const struct cull_candidate *)a)->last_use_s, y = ((const struct cull_candidate *)b)->last_use_s;

	return (x > y) - (x < y);
}

void cull_candidates_sort(struct cull_candidates *c)
{
	qsort(c->list, c->count, sizeof(*c->list), older_first);
	c->next = 0;
}

const struct cull_candidate *cull_candidates_take(struct cull_candidates *c)
{
	return c->next < c->count ? &c->list[c->next++] : NULL;
}

const struct cull_candidate *cull_candidates_peek(const struct cull_candidates *c)
{
	return c->next < c->count ? &c->list[c->next] : NULL;
}

void cull_candidates_free(struct cull_candidates *c)
{
	free(c->list);
	*c = (struct cull_candidates){ 0 };
}

/* ---- recently closed ---- */

bool cull_recent_add(struct cull_recent *r, const struct cull_candidate *k)
{
	bool full = r->count == CULL_RECENT;

	if (full)
		cull_recent_pop(r);
	r->list[(r->head + r->count++) % CULL_RECENT] = *k;
	return full;
}

const struct cull_candidate *cull_recent_peek(const struct cull_recent *r)
{
	return r->count ? &r->list[r->head] : NULL;
}

void cull_recent_pop(struct cull_recent *r)
{
	if (!r->count)
		return;
	r->head = (r->head + 1) % CULL_RECENT;
	r->count--;
}
