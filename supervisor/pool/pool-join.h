/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * READs that join a chunk: a READ whose pages a worker is filling right now
 * for readahead or prefetch waits for that chunk instead of taking a second
 * worker to write the same pages. When the chunk is answered, the READ is
 * completed by the supervisor if the cache file holds its pages (checked
 * with SEEK_HOLE on the anon fd, not taken on the worker's word), and goes
 * to the queue like any other otherwise.
 */
#ifndef CFS_POOL_JOIN_H
#define CFS_POOL_JOIN_H

#include <stdbool.h>

#include "supervisor.h"

/* Makes READ r wait for the chunk holding its pages, if a worker holds one. Returns true if it does. */
bool pool_join_chunk(struct supervisor *s, struct object *o, struct request *r);
/*
 * Chunk chunk_id was answered (filled: it succeeded) or lost: the READs that
 * joined it go on. o: the chunk's object, NULL if it was closed.
 */
void pool_release_joined(struct supervisor *s, uint32_t chunk_id, struct object *o, bool filled);

#endif
