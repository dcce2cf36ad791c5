/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Read windows: exact for random READs, growing for sequential ones, and
 * always a fill range a worker accepts.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "reply.h"
#include "window.h"
#include "wire.h"

int cfs_log_max_priority;

#define K (1024ull)
#define M (1024 * K)

/* The readahead setting plan() uses: the default, unless a test sets another. */
static uint32_t readahead = 32 * M;

static struct window_fill plan(struct window_state *st, uint32_t max, uint64_t size, uint64_t off, uint64_t len)
{
	struct window_fill f = window_plan(st, max, readahead, size, off, len);
	struct wire_read m = { .off = off, .len = len, .fill_off = f.off, .fill_len = f.len };

	CHECK(wire_read_fill_is_valid(&m, size));
	return f;
}

static void window_zero_fills_exactly_the_pages_asked(void)
{
	struct window_state st = { 0 }, zero = { 0 };
	struct window_fill f;

	for (uint64_t off = 0; off < 4 * M; off += 20 * K) {
		f = plan(&st, 0, 64 * M, off + 100, 20 * K);
		CHECK_EQ(f.off, round_down_page(off + 100));
		CHECK_EQ(f.off + f.len, round_up_page(off + 100 + 20 * K));
	}
	CHECK(memcmp(&st, &zero, sizeof(st)) == 0);
}

static void sequential_reads_double_up_to_the_maximum(void)
{
	struct window_state st = { 0 };
	const uint64_t expect[] = { 128 * K, 256 * K, 512 * K, 1 * M, 1 * M, 1 * M };
	uint64_t off = 0;

	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		struct window_fill f = plan(&st, 1 * M, 1024 * M, off, 4 * K);
		CHECK_EQ(f.off, off);
		CHECK_EQ(f.len, expect[i]);
		off = f.off + f.len; /* the reader's next miss is where the fill ended */
	}
}

static void a_stream_not_at_zero_starts_exact_then_grows(void)
{
	struct window_state st = { 0 };

	CHECK_EQ(plan(&st, 1 * M, 1024 * M, 100 * M, 16 * K).len, 16 * K);
	/* right after it: the stream shows itself sequential */
	CHECK_EQ(plan(&st, 1 * M, 1024 * M, 100 * M + 16 * K, 16 * K).len, 128 * K);
	/* a grown stream forgives a gap, and fills it: nobody would ask for it alone */
	struct window_fill f = plan(&st, 1 * M, 1024 * M, 100 * M + 144 * K + 64 * K, 8 * K);
	CHECK_EQ(f.off, 100 * M + 144 * K);
	CHECK_EQ(f.len, 256 * K);
	/* a stream not shown sequential yet does not */
	CHECK_EQ(plan(&st, 1 * M, 1024 * M, 300 * M, 4 * K).len, 4 * K);
	CHECK_EQ(plan(&st, 1 * M, 1024 * M, 300 * M + 8 * K, 4 * K).len, 4 * K);
}

static void reads_inside_a_fill_under_way_are_exact(void)
{
	struct window_state st = { 0 };

	CHECK_EQ(plan(&st, 1 * M, 1024 * M, 0, 4 * K).len, 128 * K);
	/* another reader misses in [0, 128K) before that fill is done */
	CHECK_EQ(plan(&st, 1 * M, 1024 * M, 64 * K, 4 * K).len, 4 * K);
	/* the stream itself goes on where its fill ends */
	CHECK_EQ(plan(&st, 1 * M, 1024 * M, 128 * K, 4 * K).len, 256 * K);
}

static void interleaved_streams_grow_each(void)
{
	struct window_state st = { 0 };
	uint64_t a = 10 * M, b = 500 * M, c = 900 * M;
	struct window_fill f;

	for (int round = 0; round < 6; round++) {
		f = plan(&st, 1 * M, 1024 * M, a, 4 * K);
		a = f.off + f.len;
		f = plan(&st, 1 * M, 1024 * M, b, 4 * K);
		b = f.off + f.len;
		f = plan(&st, 1 * M, 1024 * M, c, 4 * K);
		c = f.off + f.len;
	}
	CHECK_EQ(f.len, 1 * M);
	CHECK_EQ(a - 10 * M, c - 900 * M);
}

/* Over a large blob, random 4K READs cost no more than with read_window = 0. */
static void random_reads_stay_exact(void)
{
	struct window_state st = { 0 };
	uint64_t size = 1024 * M, x = 12345, planned = 0, asked = 0;

	for (int i = 0; i < 100000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t off = round_down_page((x >> 16) % size);
		planned += plan(&st, 1 * M, size, off, 4 * K).len;
		asked += 4 * K;
	}
	CHECK(planned * 100 <= asked * 101);
}

static void fills_stay_within_the_object(void)
{
	struct window_state st = { 0 };
	uint64_t size = 1 * M + 100; /* not page aligned: its last page is zero padded */
	struct window_fill f;

	f = plan(&st, 64 * M, size, 0, 4 * K);
	for (int i = 0; i < 3; i++)
		f = plan(&st, 64 * M, size, f.off + f.len, 4 * K); /* 128K, 256K, 512K, then the rest */
	CHECK_EQ(f.off + f.len, round_up_page(size));
	/* a request reaching past the end, with a length that would overflow */
	f = plan(&st, 64 * M, size, 1 * M, UINT64_MAX);
	CHECK_EQ(f.off + f.len, round_up_page(size));
	/* past the end: nothing to fill (the worker answers ENODATA) */
	f = plan(&st, 64 * M, size, 2 * M, 4 * K);
	CHECK_EQ(f.len, 0);
}

static void a_lower_maximum_caps_grown_windows(void)
{
	struct window_state st = { 0 };
	struct window_fill f = { 0, 0 };

	for (int i = 0; i < 5; i++)
		f = plan(&st, 1 * M, 1024 * M, f.off + f.len, 4 * K);
	CHECK_EQ(f.len, 1 * M);
	/* a reload lowered read_window: the stream obeys at once */
	f = plan(&st, 64 * K, 1024 * M, f.off + f.len, 4 * K);
	CHECK_EQ(f.len, 64 * K);
	f = plan(&st, 64 * K, 1024 * M, f.off + f.len, 4 * K);
	CHECK_EQ(f.len, 64 * K);
}

/* A worker's byte count must cover the request's pages and stay within the fill. */
static void read_done_counts_must_fit_the_fill(void)
{
	CHECK(reply_read_count_fits(4096, 8192, 100, 1 * M, 4096));
	CHECK(reply_read_count_fits(128 * K, 8192, 100, 1 * M, 128 * K));
	CHECK(reply_read_count_fits(-ENODATA, 8192, 100, 1 * M, 128 * K));
	CHECK(!reply_read_count_fits(0, 8192, 100, 1 * M, 128 * K));		  /* claims success, wrote nothing */
	CHECK(!reply_read_count_fits(4096, 8192, 8192, 1 * M, 128 * K));	  /* less than the request */
	CHECK(!reply_read_count_fits(128 * K + 4096, 8192, 100, 1 * M, 128 * K)); /* more than the fill */
	CHECK(reply_read_count_fits(4096, 1 * M, 4096, 1 * M + 100, 4096));	  /* the zero-padded last page */
}

/* Reads a stream from 0 until its window is at max; returns where its last fill ended. */
static uint64_t grow_stream(struct window_state *st, uint32_t max, uint64_t size)
{
	uint64_t off = 0;
	struct window_fill f;

	do {
		f = plan(st, max, size, off, 4 * K);
		off = f.off + f.len;
	} while (f.len < max);
	return off;
}

static void readahead_follows_a_stream_at_its_maximum(void)
{
	struct window_state st = { 0 };
	struct window_fill c;
	uint64_t off = 0, end;

	/* While the window grows: none. */
	for (int i = 0; i < 3; i++) {
		struct window_fill f = plan(&st, 1 * M, 1024 * M, off, 4 * K);
		off = f.off + f.len;
		CHECK(!window_readahead_take(&st, 1 * M, 1024 * M, &c));
	}
	end = grow_stream(&st, 1 * M, 4096 * M);
	for (unsigned i = 0; i < WINDOW_READAHEAD; i++) {
		CHECK(window_readahead_take(&st, 1 * M, 4096 * M, &c));
		CHECK_EQ(c.off, end + i * M);
		CHECK_EQ(c.len, 1 * M);
	}
	CHECK(!window_readahead_take(&st, 1 * M, 4096 * M, &c));
	/*
	 * The reader misses past the readahead: the workers were faster. The
	 * stream goes on, and its readahead doubles each time, up to the maximum.
	 */
	uint64_t hi = end + WINDOW_READAHEAD * M;
	for (unsigned want = 2 * WINDOW_READAHEAD, round = 0; round < 6; round++, want *= 2) {
		unsigned n = 0;
		struct window_fill f = plan(&st, 1 * M, 4096 * M, hi, 4 * K);
		if (want > readahead / M)
			want = readahead / M;
		CHECK_EQ(f.off, hi);
		CHECK_EQ(f.len, 1 * M);
		hi += M;
		while (window_readahead_take(&st, 1 * M, 4096 * M, &c)) {
			CHECK_EQ(c.off, hi + n * M);
			n++;
		}
		CHECK_EQ(n, want);
		hi += n * M;
	}
	/* A READ inside what readahead planned is exact: a chunk fills it. */
	CHECK_EQ(plan(&st, 1 * M, 4096 * M, hi - M + 8 * K, 4 * K).len, 4 * K);
}

static void random_reads_and_exact_windows_want_no_readahead(void)
{
	struct window_state st = { 0 };
	struct window_fill c;
	uint64_t x = 12345;

	for (int i = 0; i < 1000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		plan(&st, 1 * M, 1024 * M, (x >> 20) % (1000 * M) & ~(4 * K - 1), 4 * K);
		CHECK(!window_readahead_take(&st, 1 * M, 1024 * M, &c));
	}
	st = (struct window_state){ 0 };
	for (uint64_t off = 0; off < 8 * M; off += 128 * K) {
		plan(&st, 0, 1024 * M, off, 128 * K);
		CHECK(!window_readahead_take(&st, 0, 1024 * M, &c));
	}
}

static void interleaved_streams_share_readahead(void)
{
	struct window_state st = { 0 };
	struct window_fill c;
	uint64_t a = 0, b = 512 * M;
	unsigned in_a = 0, in_b = 0;

	/* Two readers, each sequential in its half, their READs interleaved. */
	for (int i = 0; i < 8; i++) {
		struct window_fill f = plan(&st, 1 * M, 1024 * M, a, 4 * K);
		a = f.off + f.len;
		f = plan(&st, 1 * M, 1024 * M, b, 4 * K);
		b = f.off + f.len;
	}
	for (int i = 0; i < 6; i++) {
		CHECK(window_readahead_take(&st, 1 * M, 1024 * M, &c));
		in_a += c.off < 512 * M;
		in_b += c.off >= 512 * M;
	}
	CHECK_EQ(in_a, 3);
	CHECK_EQ(in_b, 3);
}

static void the_readahead_setting_caps_it_or_turns_it_off(void)
{
	struct window_state st = { 0 };
	struct window_fill c;
	uint64_t end;
	unsigned n = 0;

	readahead = 0;
	grow_stream(&st, 1 * M, 1024 * M);
	CHECK(!window_readahead_take(&st, 1 * M, 1024 * M, &c));
	readahead = 2 * M;
	st = (struct window_state){ 0 };
	end = grow_stream(&st, 1 * M, 1024 * M);
	while (window_readahead_take(&st, 1 * M, 1024 * M, &c))
		n++;
	CHECK_EQ(n, 2);
	/* Run dry: it would double, but stays at the setting. */
	plan(&st, 1 * M, 1024 * M, end + 2 * M, 4 * K);
	n = 0;
	while (window_readahead_take(&st, 1 * M, 1024 * M, &c))
		n++;
	CHECK_EQ(n, 2);
	readahead = 32 * M;
}

static void a_lost_chunk_ends_the_stream_there(void)
{
	struct window_state st = { 0 };
	struct window_fill c1, c2, f;
	uint64_t end = grow_stream(&st, 1 * M, 1024 * M);

	CHECK(window_readahead_take(&st, 1 * M, 1024 * M, &c1));
	CHECK(window_readahead_take(&st, 1 * M, 1024 * M, &c2));
	window_fill_lost(&st, c1.off);
	/* Not handed out again on its own (a poison range would kill worker after worker)... */
	CHECK(!window_readahead_take(&st, 1 * M, 1024 * M, &c1));
	/* ...but a READ there continues the stream with a window, and readahead with it. */
	f = plan(&st, 1 * M, 1024 * M, end + 8 * K, 4 * K);
	CHECK_EQ(f.off, end);
	CHECK_EQ(f.len, 1 * M);
	CHECK(window_readahead_take(&st, 1 * M, 1024 * M, &c1));
	CHECK_EQ(c1.off, end + M);
}

static void a_reader_catching_up_pushes_readahead_further(void)
{
	struct window_state st = { 0 };
	struct window_fill c;
	uint64_t last = 0;

	grow_stream(&st, 1 * M, 1024 * M);
	while (window_readahead_take(&st, 1 * M, 1024 * M, &c))
		last = c.off;
	window_caught_up(&st, 1 * M, readahead, last + 4 * K);
	for (unsigned i = 0; i < WINDOW_READAHEAD; i++) {
		CHECK(window_readahead_take(&st, 1 * M, 1024 * M, &c));
		CHECK_EQ(c.off, last + (i + 1) * M);
	}
	CHECK(!window_readahead_take(&st, 1 * M, 1024 * M, &c));
}

static void readahead_stays_within_the_object(void)
{
	const uint64_t size = 3 * M + 100;
	struct window_state st = { 0 };
	struct window_fill c;
	uint64_t end = grow_stream(&st, 1 * M, size), total = end;

	while (window_readahead_take(&st, 1 * M, size, &c)) {
		struct wire_read m = { .off = c.off, .len = 1, .fill_off = c.off, .fill_len = c.len };
		CHECK(wire_read_fill_is_valid(&m, size));
		CHECK_EQ(c.off, total);
		total += c.len;
	}
	CHECK_EQ(total, round_up_page(size));
}

int main(void)
{
	RUN(window_zero_fills_exactly_the_pages_asked);
	RUN(sequential_reads_double_up_to_the_maximum);
	RUN(a_stream_not_at_zero_starts_exact_then_grows);
	RUN(reads_inside_a_fill_under_way_are_exact);
	RUN(interleaved_streams_grow_each);
	RUN(random_reads_stay_exact);
	RUN(fills_stay_within_the_object);
	RUN(a_lower_maximum_caps_grown_windows);
	RUN(read_done_counts_must_fit_the_fill);
	RUN(readahead_follows_a_stream_at_its_maximum);
	RUN(random_reads_and_exact_windows_want_no_readahead);
	RUN(interleaved_streams_share_readahead);
	RUN(the_readahead_setting_caps_it_or_turns_it_off);
	RUN(a_lost_chunk_ends_the_stream_there);
	RUN(a_reader_catching_up_pushes_readahead_further);
	RUN(readahead_stays_within_the_object);
	return 0;
}
