/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prefetch progress and its rate bucket: chunks cover the planned range in
 * order with no hole, a lost chunk is handed out again, a failed one stops
 * the object, one the cache refused for now waits a growing pause, and the
 * bucket holds prefetch to its rate.
 */
#include <stdint.h>

#include "check.h"
#include "prefetch.h"

int cfs_log_max_priority = 3;

static void chunks_cover_the_range_in_order(void)
{
	struct prefetch_state p = { 0 };
	uint64_t off, len, covered = 0;

	CHECK(!prefetch_wanted(&p)); /* not planned: nothing */
	prefetch_plan(&p, UINT64_MAX, 2 * PREFETCH_CHUNK + 100);
	CHECK_EQ(p.end, 2 * PREFETCH_CHUNK + 4096);
	while (prefetch_wanted(&p)) {
		prefetch_take(&p, PREFETCH_CHUNK, &off, &len);
		CHECK_EQ(off, covered);
		CHECK(!prefetch_wanted(&p)); /* one chunk at a time */
		prefetch_answered(&p, off, len, (int64_t)len);
		covered += len;
	}
	CHECK_EQ(covered, 2 * PREFETCH_CHUNK + 4096);
}

static void a_limit_below_the_size_stops_there(void)
{
	struct prefetch_state p = { 0 };

	prefetch_plan(&p, 3 * 4096, 1 << 30);
	CHECK_EQ(p.end, 3 * 4096);
	prefetch_plan(&p, 0, 1 << 30); /* prefetch = none */
	CHECK(!prefetch_wanted(&p));
}

static void a_lost_chunk_is_handed_out_again(void)
{
	struct prefetch_state p = { 0 };
	uint64_t off, len, again_off, again_len;

	prefetch_plan(&p, UINT64_MAX, 3 * PREFETCH_CHUNK);
	prefetch_take(&p, PREFETCH_CHUNK, &off, &len);
	prefetch_answered(&p, off, len, (int64_t)len);
	prefetch_take(&p, PREFETCH_CHUNK, &off, &len);
	prefetch_lost(&p, off, false, 3);
	CHECK(prefetch_wanted(&p));
	prefetch_take(&p, PREFETCH_CHUNK, &again_off, &again_len);
	CHECK_EQ(again_off, off);
	CHECK_EQ(again_len, len);
}

static void a_failed_chunk_stops_the_object(void)
{
	struct prefetch_state p = { 0 };
	uint64_t off, len;

	prefetch_plan(&p, UINT64_MAX, 3 * PREFETCH_CHUNK);
	prefetch_take(&p, PREFETCH_CHUNK, &off, &len);
	prefetch_answered(&p, off, len, -61 /* ENODATA */);
	CHECK(!prefetch_wanted(&p));
}

static void chunks_that_crash_workers_stop_the_object(void)
{
	struct prefetch_state p = { 0 };
	uint64_t off, len;

	prefetch_plan(&p, UINT64_MAX, 3 * PREFETCH_CHUNK);
	for (int i = 0; i < 10; i++) { /* killed from outside: no limit */
		prefetch_take(&p, PREFETCH_CHUNK, &off, &len);
		prefetch_lost(&p, off, false, 3);
	}
	CHECK(prefetch_wanted(&p));
	for (int i = 0; i < 3; i++) {
		CHECK(prefetch_wanted(&p));
		prefetch_take(&p, PREFETCH_CHUNK, &off, &len);
		prefetch_lost(&p, off, true, 3);
	}
	CHECK(!prefetch_wanted(&p));
}

static void the_bucket_holds_the_rate(void)
{
	struct prefetch_bucket b = { .last_ms = 1000 };
	uint64_t now = 1000, sent = 0;

	CHECK_EQ(prefetch_bucket_take(&b, 0, now, 1 << 30), 0); /* no limit */
	/* 4 MiB/s in 1 MiB chunks over 10 simulated seconds: about 40 chunks, never more than 41. */
	while (now < 11000) {
		uint64_t wait = prefetch_bucket_take(&b, 4u << 20, now, PREFETCH_CHUNK);
		if (wait == 0)
			sent += PREFETCH_CHUNK;
		now += wait ? wait : 1;
	}
	CHECK(sent >= 39ull * PREFETCH_CHUNK && sent <= 41ull * PREFETCH_CHUNK);
	/* A long pause does not save up more than a second's worth. */
	now += 60000;
	sent = 0;
	while (prefetch_bucket_take(&b, 4u << 20, now, PREFETCH_CHUNK) == 0)
		sent += PREFETCH_CHUNK;
	CHECK_EQ(sent, 4ull * PREFETCH_CHUNK);
}

static void a_rate_below_one_chunk_still_sends_it(void)
{
	struct prefetch_bucket b = { 0 };
	uint64_t wait = prefetch_bucket_take(&b, 256u << 10, 0, PREFETCH_CHUNK);

	CHECK_EQ(wait, 4000);
	CHECK_EQ(prefetch_bucket_take(&b, 256u << 10, wait, PREFETCH_CHUNK), 0);
}

/* ENOBUFS right after copen (no cache file attached yet): the chunk waits, then goes out again. */
static void a_refused_chunk_waits_and_goes_again(void)
{
	struct prefetch_state p = { 0 };
	uint64_t off, len, now = 1000;

	prefetch_plan(&p, UINT64_MAX, 4 * PREFETCH_CHUNK);
	prefetch_take(&p, PREFETCH_CHUNK, &off, &len);
	prefetch_refused(&p, off, now);
	CHECK(!p.stopped);
	CHECK(prefetch_wanted(&p));
	CHECK(prefetch_held(&p, now + PREFETCH_HOLD_MS - 1));
	CHECK(!prefetch_held(&p, now + PREFETCH_HOLD_MS));
	prefetch_take(&p, PREFETCH_CHUNK, &off, &len);
	CHECK_EQ(off, 0); /* the same chunk */
	prefetch_refused(&p, off, now);
	CHECK(prefetch_held(&p, now + 2 * PREFETCH_HOLD_MS - 1)); /* the pause doubles */
	prefetch_take(&p, PREFETCH_CHUNK, &off, &len);
	prefetch_answered(&p, off, len, (int64_t)len);
	CHECK_EQ(p.refusals, 0); /* a chunk that went in ends the run */
	CHECK_EQ(p.next, PREFETCH_CHUNK);
}

/* A cache that keeps refusing (full) stops prefetch of the object after PREFETCH_REFUSALS_MAX pauses. */
static void a_cache_that_keeps_refusing_stops_the_object(void)
{
	struct prefetch_state p = { 0 };
	uint64_t off, len;

	prefetch_plan(&p, UINT64_MAX, 4 * PREFETCH_CHUNK);
	for (unsigned i = 0; i < PREFETCH_REFUSALS_MAX; i++) {
		CHECK(prefetch_wanted(&p));
		prefetch_take(&p, PREFETCH_CHUNK, &off, &len);
		prefetch_refused(&p, off, 0);
	}
	CHECK(!p.stopped);
	prefetch_take(&p, PREFETCH_CHUNK, &off, &len);
	prefetch_refused(&p, off, 0);
	CHECK(p.stopped);
	CHECK(!prefetch_wanted(&p));
}

int main(void)
{
	RUN(chunks_cover_the_range_in_order);
	RUN(a_limit_below_the_size_stops_there);
	RUN(a_lost_chunk_is_handed_out_again);
	RUN(a_failed_chunk_stops_the_object);
	RUN(chunks_that_crash_workers_stop_the_object);
	RUN(a_refused_chunk_waits_and_goes_again);
	RUN(a_cache_that_keeps_refusing_stops_the_object);
	RUN(the_bucket_holds_the_rate);
	RUN(a_rate_below_one_chunk_still_sends_it);
	return 0;
}
