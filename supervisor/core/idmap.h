/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * u32 -> pointer hash map (open addressing, linear probing, backward-shift
 * deletion). Keys are the kernel's object_id and msg_id, both cyclic, so the
 * map must cope with any value, 0 included.
 */
#ifndef CFS_IDMAP_H
#define CFS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap_entry {
	uint32_t key;
	void *value; /* NULL = empty */
};

struct idmap {
	struct idmap_entry *entries;
	size_t capacity; /* power of two, or 0 */
	size_t count;
};

void *idmap_get(const struct idmap *m, uint32_t key);
/* Inserts or replaces; value must not be NULL. Returns 0 or -ENOMEM. */
int idmap_put(struct idmap *m, uint32_t key, void *value);
/* Returns the removed value, or NULL if the key was absent. */
void *idmap_remove(struct idmap *m, uint32_t key);
void idmap_free(struct idmap *m);

/* Iteration: for (size_t i = 0; i < m->capacity; i++) if (m->entries[i].value) ... */

#endif
