/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "idmap.h"

#include <errno.h>
#include <stdlib.h>

static size_t home_of(uint32_t key, size_t capacity)
{
	/* Fibonacci hashing spreads sequential ids across the table. */
	return (size_t)((key * 2654435769u) & (capacity - 1));
}

static struct idmap_entry *find(const struct idmap *m, uint32_t key)
{
	if (m->capacity == 0)
		return NULL;
	for (size_t i = home_of(key, m->capacity);; i = (i + 1) & (m->capacity - 1)) {
		struct idmap_entry *s = &m->entries[i];
		if (!s->value)
			return NULL;
		if (s->key == key)
			return s;
	}
}

void *idmap_get(const struct idmap *m, uint32_t key)
{
	struct idmap_entry *s = find(m, key);
	return s ? s->value : NULL;
}

static void insert_fresh(struct idmap *m, uint32_t key, void *value)
{
	size_t i = home_of(key, m->capacity);
	while (m->entries[i].value)
		i = (i + 1) & (m->capacity - 1);
	m->entries[i] = (struct idmap_entry){ key, value };
	m->count++;
}

static int grow(struct idmap *m)
{
	size_t new_capacity = m->capacity ? m->capacity * 2 : 64;
	struct idmap_entry *old = m->entries;
	size_t old_capacity = m->capacity;

	m->entries = calloc(new_capacity, sizeof(*m->entries));
	if (!m->entries) {
		m->entries = old;
		return -ENOMEM;
	}
	m->capacity = new_capacity;
	m->count = 0;
	for (size_t i = 0; i < old_capacity; i++)
		if (old[i].value)
			insert_fresh(m, old[i].key, old[i].value);
	free(old);
	return 0;
}

int idmap_put(struct idmap *m, uint32_t key, void *value)
{
	struct idmap_entry *s = find(m, key);

	if (s) {
		s->value = value;
		return 0;
	}
	/* Keep the load under 1/2 so probe runs stay short. */
	if ((m->count + 1) * 2 > m->capacity) {
		int r = grow(m);
		if (r < 0)
			return r;
	}
	insert_fresh(m, key, value);
	return 0;
}

void *idmap_remove(struct idmap *m, uint32_t key)
{
	struct idmap_entry *s = find(m, key);
	void *value;
	size_t hole, mask = m->capacity - 1;

	if (!s)
		return NULL;
	value = s->value;
	hole = (size_t)(s - m->entries);
	/* Backward-shift: pull later members of the run into the hole so no
	 * tombstones are needed and lookups stay correct. */
	for (size_t i = (hole + 1) & mask; m->entries[i].value; i = (i + 1) & mask) {
		size_t home = home_of(m->entries[i].key, m->capacity);
		/* Move i into the hole unless its home lies cyclically in (hole, i]. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			m->entries[hole] = m->entries[i];
			hole = i;
		}
	}
	m->entries[hole] = (struct idmap_entry){ 0, NULL };
	m->count--;
	return value;
}

void idmap_free(struct idmap *m)
{
	free(m->entries);
	*m = (struct idmap){ 0 };
}
