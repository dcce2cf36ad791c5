/* SPDX-License-Identifier: GPL-2.0-or-later */
/* READ latency histogram: exact small values, percentiles within 1/16 above, and the worker-death one-shot. */
#include <string.h>

#include "check.h"
#include "latency.h"

int cfs_log_max_priority;

static void empty_histogram_reports_zero(void)
{
	static struct latency_hist h;
	char buf[128];

	CHECK_EQ(latency_hist_percentile(&h, 500), 0);
	latency_hist_format(&h, buf, sizeof(buf));
	CHECK(strcmp(buf, "p50=0 p90=0 p99=0 max=0 n=0") == 0);
}

static void small_values_are_exact(void)
{
	static struct latency_hist h;

	for (uint64_t v = 1; v <= 20; v++)
		latency_hist_add(&h, v);
	CHECK_EQ(latency_hist_percentile(&h, 500), 10);
	CHECK_EQ(latency_hist_percentile(&h, 900), 18);
	CHECK_EQ(latency_hist_percentile(&h, 1000), 20);
	CHECK_EQ(latency_hist_percentile(&h, 0), 1);
	CHECK_EQ(h.n, 20);
}

/* Every value from 0 to 2^24 and a few huge ones: its bucket's top is at most 1/16 above it. */
static void percentiles_err_at_most_a_sixteenth_high(void)
{
	static const uint64_t huge[] = { UINT64_C(1) << 40, (UINT64_C(1) << 41) - 1, UINT64_MAX };

	for (uint64_t v = 0; v < (1u << 24); v += v < 4096 ? 1 : 997) {
		static struct latency_hist h;
		uint64_t p;

		memset(&h, 0, sizeof(h));
		latency_hist_add(&h, v);
		latency_hist_add(&h, UINT64_C(1) << 50); /* so max does not clamp the answer */
		p = latency_hist_percentile(&h, 500);
		CHECK(p >= v);
		CHECK(p - v <= v / 16);
	}
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		static struct latency_hist h;

		memset(&h, 0, sizeof(h));
		latency_hist_add(&h, huge[i]);
		CHECK(latency_hist_percentile(&h, 990) == huge[i]); /* clamped to the max seen */
	}
}

static void tail_percentiles_follow_the_slow_samples(void)
{
	static struct latency_hist h;
	uint64_t p99;
	char buf[128];

	for (int i = 0; i < 980; i++)
		latency_hist_add(&h, 500);
	for (int i = 0; i < 20; i++)
		latency_hist_add(&h, 40000);
	CHECK(latency_hist_percentile(&h, 500) >= 500 && latency_hist_percentile(&h, 500) <= 500 + 500 / 16);
	CHECK(latency_hist_percentile(&h, 980) <= 500 + 500 / 16);
	p99 = latency_hist_percentile(&h, 990);
	CHECK_EQ(p99, 40000); /* its bucket reaches higher, but nothing above the max was seen */
	latency_hist_format(&h, buf, sizeof(buf));
	CHECK(strstr(buf, " max=40000 n=1000") != NULL);
}

static void recovery_is_measured_once_from_the_first_death(void)
{
	static struct latency l;

	CHECK_EQ(latency_read_completed(&l, 100, 150, false), 0); /* nobody died */
	latency_worker_died(&l, 42, 1000);
	latency_worker_died(&l, 43, 1500); /* a second death before any READ: the first one counts */
	CHECK_EQ(latency_read_completed(&l, 900, 4000, true), 3000);
	CHECK_EQ(latency_read_completed(&l, 3900, 4100, false), 0);
	CHECK_EQ(l.read_us.n, 3);
	CHECK_EQ(l.read_us.max, 3100);
	/* Split by whether a cull ran: the one during a cull, the two without. */
	CHECK_EQ(l.read_culling_us.n, 1);
	CHECK_EQ(l.read_culling_us.max, 3100);
	CHECK_EQ(l.read_quiet_us.n, 2);
	CHECK_EQ(l.read_quiet_us.max, 200);
	latency_worker_died(&l, 44, 5000);
	CHECK_EQ(latency_read_completed(&l, 4999, 5000, false), 1); /* same microsecond still counts as a recovery */
	/* A READ that arrived after the death waited only from its arrival. */
	latency_worker_died(&l, 45, 6000);
	CHECK_EQ(latency_read_completed(&l, 6500, 6600, false), 100);
	CHECK_EQ(l.recoveries, 3);
	CHECK_EQ(l.recovery_us_sum, 3000 + 1 + 100);
	CHECK_EQ(l.read_us.sum, 50 + 3100 + 200 + 1 + 100);
}

/* Bucket tops are what the status lists and Prometheus `le` bounds are built on. */
static void bucket_tops_hold_their_values_and_rise(void)
{
	for (unsigned b = 0; b + 1 < LATENCY_BUCKETS; b++) {
		struct latency_hist h = { 0 };
		CHECK(latency_bucket_top(b) < latency_bucket_top(b + 1));
		latency_hist_add(&h, latency_bucket_top(b));
		CHECK_EQ(h.counts[b], 1);
		if (b + 2 < LATENCY_BUCKETS) { /* the one after the top opens the next bucket */
			latency_hist_add(&h, latency_bucket_top(b) + 1);
			CHECK_EQ(h.counts[b + 1], 1);
		}
	}
	/* Powers of two end rows: a bucket ends at 2^k - 1, so `le` 2^k us is exact. */
	for (unsigned k = 1; k <= LATENCY_MAX_EXP; k++) {
		unsigned ends = 0;
		for (unsigned b = 0; b < LATENCY_BUCKETS; b++)
			ends += latency_bucket_top(b) == (UINT64_C(1) << k) - 1;
		CHECK_EQ(ends, 1);
	}
	CHECK(latency_bucket_top(LATENCY_BUCKETS - 1) == UINT64_MAX);
}

int main(void)
{
	RUN(empty_histogram_reports_zero);
	RUN(small_values_are_exact);
	RUN(percentiles_err_at_most_a_sixteenth_high);
	RUN(tail_percentiles_follow_the_slow_samples);
	RUN(recovery_is_measured_once_from_the_first_death);
	RUN(bucket_tops_hold_their_values_and_rise);
	return 0;
}
