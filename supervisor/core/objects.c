/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "objects.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int find_free_handle(struct objects *t, uint32_t *ret)
{
	for (uint32_t i = 0; i < t->n_handles; i++)
		if (!t->by_handle[i]) {
			*ret = i;
			return 0;
		}
	uint32_t n = t->n_handles ? t->n_handles * 2 : 64;
	struct object **grown = realloc(t->by_handle, n * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	memset(grown + t->n_handles, 0, (n - t->n_handles) * sizeof(*grown));
	*ret = t->n_handles;
	t->by_handle = grown;
	t->n_handles = n;
	return 0;
}

int objects_insert(struct objects *t, const struct object *proto, struct object **ret)
{
	struct object *o;
	uint32_t handle;
	int r;

	if (objects_by_id(t, proto->obj_id))
		return -EEXIST;
	r = find_free_handle(t, &handle);
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
	o->handle = handle;
	o->adopted_mask = o->used_mask = 0;
	o->work_out = 0;
	t->by_handle[handle] = o;
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
	t->by_handle[o->handle] = NULL;
	t->count--;
	if (o->anon_fd >= 0)
		close(o->anon_fd);
	free(o);
}

void objects_free(struct objects *t)
{
	for (uint32_t i = 0; i < t->n_handles; i++)
		if (t->by_handle[i])
			objects_remove(t, t->by_handle[i]);
	free(t->by_handle);
	idmap_free(&t->by_obj_id);
	*t = (struct objects){ 0 };
}

const char *key_printable(const uint8_t *key, uint32_t len, char buf[4 * COOKIE_KEY_MAX + 1])
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
