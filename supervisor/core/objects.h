/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The object table: every cache object the kernel opened through us, with
 * the anonymous fd we hold for it. Objects live under dense handles (the name
 * workers know them by) and are found by the kernel's object_id.
 */
#ifndef CFS_OBJECTS_H
#define CFS_OBJECTS_H

#include <stdbool.h>
#include <stdint.h>

#include "cookie-key.h"
#include "idmap.h"
#include "prefetch.h"
#include "window.h"

/* The longest volume name a transport may hand over, without the NUL. */
#define OBJECT_VOLUME_MAX 255

enum object_state {
	OBJECT_OPENING, /* OPEN read, copen not yet written */
	OBJECT_OPEN,
};

struct object {
	uint32_t handle; /* its index in the table: the name workers know it by (wire.h) */
	uint32_t obj_id;
	int anon_fd;
	enum object_state state;
	uint64_t size;
	uint64_t adopted_mask;	/* bit n: the worker in slot n holds our anon fd */
	uint64_t used_mask;	/* bit n: slot n used it since its clock hand last passed it (pool-held.h) */
	uint32_t work_out;	/* requests and chunks of it that workers hold: no worker drops it meanwhile */
	unsigned domain;	/* index of the serving pool */
	uint32_t read_failures; /* READs answered with an error: logged sparsely */
	int32_t state_idx;	/* its record in the state memfd, or -1 */
	bool in_fdstore;	/* its anon fd was pushed to the fd store */
	struct prefetch_state prefetch;
	uint32_t key_len;
	uint8_t key[COOKIE_KEY_MAX + 1];    /* the transport's name of its blob (opaque bytes, checked safe) */
	char volume[OBJECT_VOLUME_MAX + 1]; /* what routes it to a domain */
	struct window_state window;	    /* its READ streams: how much each fill takes (window.h) */
	/*
	 * Bytes fills wrote to its cache file since it was opened here. The
	 * kernel keeps a new cache file unlinked (a tmpfile) until the object
	 * goes, so the culler's scan cannot see it: this stands in.
	 */
	uint64_t filled;
};

struct objects {
	struct object **by_handle; /* n_handles entries, NULL where free */
	uint32_t n_handles;
	uint32_t count;
	uint32_t opening; /* objects in OBJECT_OPENING: restore waits for 0 */
	struct idmap by_obj_id;
};

/*
 * Adds an object built from proto (obj_id, anon_fd, state, size, domain,
 * keys); the anon fd becomes the table's. -EEXIST if the obj_id is taken.
 */
int objects_insert(struct objects *t, const struct object *proto, struct object **ret);
struct object *objects_by_id(const struct objects *t, uint32_t obj_id);
void objects_set_open(struct objects *t, struct object *o, uint64_t size);
/* Closes the anon fd and forgets the object. */
void objects_remove(struct objects *t, struct object *o);
void objects_free(struct objects *t);

/* A printable form of an object key for logs (hostile bytes escaped). */
const char *key_printable(const uint8_t *key, uint32_t len, char buf[4 * COOKIE_KEY_MAX + 1]);

#endif
