/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "objects.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int find_free_slot(struct objects *t, uint32_t *ret)
{
	for (uint32_t i = 0; i < t->n_slots; i++)
		if (!t->slots[i]) {
			*ret = i;
			return 0;
		}
	uint32_t n = t->n_slots ? t->n_slots * 2 : 64;
	struct object **grown = realloc(t->slots, n * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	memset(grown + t->n_slots, 0, (n - t->n_slots) * sizeof(*grown));
	*ret = t->n_slots;
	t->slots = grown;
	t->n_slots = n;
	return 0;
}

int objects_insert(struct objects *t, const struct object *proto, struct object **ret)
{
	struct object *o;
	uint32_t slot;
	int r;

	if (objects_by_id(t, proto->obj_id))
		return -EEXIST;
	r = find_free_slot(t, &slot);
	if (r < 0)
		return r;
	o = malloc(sizeof(*o));
	if (!o)
		return -ENOMEM;
	r = idmap_put(&t->by_obj_id, proto->obj_id, o);
	if (r < 0) {
		free(o);
		return r;
	}
	*o = *proto;
	o->slot = slot;
	o->adopted_mask = 0;
	t->slots[slot] = o;
	t->count++;
	if (o->state == OBJECT_OPENING)
		t->opening++;
	*ret = o;
	return 0;
}

struct object *objects_by_id(const struct objects *t, uint32_t obj_id)
{
	return idmap_get(&t->by_obj_id, obj_id);
}

struct object *objects_by_slot(const struct objects *t, uint32_t slot)
{
	return slot < t->n_slots ? t->slots[slot] : NULL;
}

void objects_set_open(struct objects *t, struct object *o, uint64_t size)
{
	if (o->state == OBJECT_OPENING)
		t->opening--;
	o->state = OBJECT_OPEN;
	o->size = size;
}

void objects_remove(struct objects *t, struct object *o)
{
	if (o->state == OBJECT_OPENING)
		t->opening--;
	idmap_remove(&t->by_obj_id, o->obj_id);
	t->slots[o->slot] = NULL;
	t->count--;
	if (o->anon_fd >= 0)
		close(o->anon_fd);
	free(o);
}

void objects_free(struct objects *t)
{
	for (uint32_t i = 0; i < t->n_slots; i++)
		if (t->slots[i])
			objects_remove(t, t->slots[i]);
	free(t->slots);
	idmap_free(&t->by_obj_id);
	*t = (struct objects){ 0 };
}

const char *cookie_printable(const uint8_t *key, uint32_t len, char buf[4 * COOKIE_KEY_MAX + 1])
{
	char *p = buf;

	for (uint32_t i = 0; i < len && i < COOKIE_KEY_MAX; i++) {
		if (key[i] >= 0x20 && key[i] < 0x7f && key[i] != '\\')
			*p++ = (char)key[i];
		else
			p += sprintf(p, "\\x%02x", key[i]);
	}
	*p = '\0';
	return buf;
}
