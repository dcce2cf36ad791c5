/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prefetch (per domain: prefetch = none|all|SIZE, prefetch_rate): after an
 * object is open, idle workers fill the start of its blob (or all of it) in
 * the background, one chunk at a time, so later READs find the data in the
 * cache file and never reach the supervisor.
 *
 * Demand comes first: a chunk goes only to an idle worker while another
 * ready worker stays free and nothing of the domain is queued, and a worker
 * holding a chunk is given no READ until it answers. A chunk whose worker
 * dies is handed out again (no hole); what was already written is skipped
 * by the worker's SEEK_DATA check (no byte fetched twice), which also makes
 * a restart of the supervisor, which forgets where prefetch was, cheap.
 *
 * This file is the pure part: per-object progress and the rate bucket.
 */
#ifndef CFS_PREFETCH_H
#define CFS_PREFETCH_H

#include <stdbool.h>
#include <stdint.h>

#define PREFETCH_CHUNK (1u << 20)

/* Per object; all zeros: not planned yet. */
struct prefetch_state {
	bool planned;
	bool in_flight;		/* one chunk at a time per object: progress stays a single offset */
	bool stopped;		/* a chunk failed (short or unreadable blob), or crashed workers too often */
	uint8_t crashes;	/* workers that crashed holding a chunk of it */
	uint8_t refusals;	/* chunks the cache refused for now (prefetch_refused()), in a row */
	uint64_t held_until_ms; /* no chunk before then */
	uint64_t next;		/* start of the next chunk; everything before it is filled once no chunk is out */
	uint64_t end;		/* where prefetch stops, page aligned, within the object */
};

/* limit: the domain's prefetch setting in bytes (0: none, UINT64_MAX: all). */
void prefetch_plan(struct prefetch_state *p, uint64_t limit, uint64_t size);
/* Whether a chunk can be handed out now. */
bool prefetch_wanted(const struct prefetch_state *p);
/* Whether a wanted chunk must wait until a refusal's pause is over. */
bool prefetch_held(const struct prefetch_state *p, uint64_t now_ms);
/* The next chunk [*off, *off + *len), at most chunk bytes, page aligned; marks it in flight. */
void prefetch_take(struct prefetch_state *p, uint32_t chunk, uint64_t *off, uint64_t *len);
/* The chunk at off..off+len was answered: result >= 0 bytes written, or -errno. */
void prefetch_answered(struct prefetch_state *p, uint64_t off, uint64_t len, int64_t result);
/*
 * The cache refused the chunk at off for now (ENOBUFS): right after copen
 * the kernel has not attached the cache file to the object yet (6.12
 * fs/cachefiles/namei.c sets object->file after the copen), and a full
 * cache refuses too. The chunk is held back for a pause that doubles from
 * PREFETCH_HOLD_MS; after PREFETCH_REFUSALS_MAX in a row prefetch stops.
 */
#define PREFETCH_HOLD_MS 100
#define PREFETCH_REFUSALS_MAX 8
void prefetch_refused(struct prefetch_state *p, uint64_t off, uint64_t now_ms);
/*
 * The chunk's worker died: it is handed out again, unless workers crashed
 * (not: were killed from outside) on this object's chunks crash_limit times.
 */
void prefetch_lost(struct prefetch_state *p, uint64_t off, bool crashed, unsigned crash_limit);

/* A chunk handed to a worker: prefetch, or a stream's readahead (window.h). */
struct chunk {
	uint32_t id; /* 0: none; what its PREFETCH message and answer carry as job_id */
	bool readahead;
	uint32_t obj_id, obj_handle;
	uint64_t off, len;
	uint64_t deadline_ms;
};

/* A token bucket for prefetch_rate (bytes per second; 0: no limit). */
struct prefetch_bucket {
	uint64_t tokens;
	uint64_t last_ms;
};

/*
 * Takes len bytes from the bucket at now_ms: returns 0 if they may go now,
 * or how many milliseconds until they may.
 */
uint64_t prefetch_bucket_take(struct prefetch_bucket *b, uint32_t rate, uint64_t now_ms, uint64_t len);

#endif
