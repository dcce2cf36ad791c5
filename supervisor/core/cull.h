/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The culler's bookkeeping, pure: when each cache file was last given up
 * by a mount, which files open objects hold, and the least recently used
 * files a scan found. The walk of the cache dir and the `cull` commands are
 * the transport's (supervisor/cachefiles/culler.c). Why the last CLOSE is
 * the LRU signal: docs/design.md, "Cache space".
 */
#ifndef CFS_CULL_H
#define CFS_CULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What the culler knows per cache file, by a 64-bit hash of its place
 * (volume dir and file name): a collision could only make a file look in
 * use or recently closed, so the worst it does is keep a file longer.
 */
struct cull_name {
	uint64_t hash;	      /* 0: free slot */
	int64_t closed_s;     /* wall clock of its object's last CLOSE; 0: not seen this run */
	uint64_t in_use_pass; /* the pass that found its object open */
	uint64_t seen_pass;   /* the pass whose scan found its file (a new object's is not linked yet) */
};

struct cull_names {
	struct cull_name *slots;
	size_t capacity, count; /* capacity is a power of two */
};

/* The hash of a cache file's place: its volume dir ("Ierofs,x") and its name ("Dblob"). */
uint64_t cull_name_hash(const char *volume_dir, const char *file);

/* The entry of a file, made if missing (its fields 0); NULL when out of memory. */
struct cull_name *cull_names_get(struct cull_names *m, uint64_t hash);
/* NULL if never recorded. */
const struct cull_name *cull_names_find(const struct cull_names *m, uint64_t hash);
/* The same, to change it. */
struct cull_name *cull_names_lookup(struct cull_names *m, uint64_t hash);
void cull_names_free(struct cull_names *m);

/*
 * When a file was last used, as the culler ranks it: its last CLOSE this
 * run, else the later of atime (touched at each lookup, i.e. each OPEN)
 * and mtime (each fill).
 */
int64_t cull_last_use(const struct cull_name *n, int64_t atime_s, int64_t mtime_s);

/* A file a scan offers for culling: its place below the cache's "cache" dir. */
struct cull_candidate {
	int64_t last_use_s;
	uint64_t bytes; /* allocated, st_blocks * 512 */
	char volume_dir[256], fan_dir[8], file[256];
};

/*
 * The oldest `room` files of a scan: a max-heap on last_use_s while the
 * scan offers, sorted oldest first once it is done.
 */
struct cull_candidates {
	struct cull_candidate *list;
	size_t room, count;
	size_t next; /* after cull_candidates_sort(): the next to take */
};

int cull_candidates_init(struct cull_candidates *c, size_t room);
void cull_candidates_reset(struct cull_candidates *c);
/* Keeps c if it is among the oldest seen so far. */
void cull_candidates_offer(struct cull_candidates *c, const struct cull_candidate *cand);
void cull_candidates_sort(struct cull_candidates *c);
/* The oldest not yet taken, or NULL; peek leaves it there. */
const struct cull_candidate *cull_candidates_take(struct cull_candidates *c);
const struct cull_candidate *cull_candidates_peek(const struct cull_candidates *c);
void cull_candidates_free(struct cull_candidates *c);

/*
 * The files of objects closed since the last scan, in the order they
 * closed (so the least recently used first), their fan dir not known
 * (fan_dir ""): a pass culls from these and the last scan's leftovers
 * before it scans, since a scan of a big cache takes seconds and fills go
 * on meanwhile. When full it forgets the oldest: the next scan finds it.
 * (They may be newer than files that scan left out of its candidates:
 * culler.c, recent_next, says when they may go.)
 */
#define CULL_RECENT 64
struct cull_recent {
	struct cull_candidate list[CULL_RECENT];
	size_t head, count;
};

/* True if it forgot the oldest to make room. */
bool cull_recent_add(struct cull_recent *r, const struct cull_candidate *k);
const struct cull_candidate *cull_recent_peek(const struct cull_recent *r);
void cull_recent_pop(struct cull_recent *r);

#endif
