/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "latency.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "cfs-log.h"

/* Small values are exact; above, the leading bit picks the row, the next SUB_BITS the column. */
static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < LATENCY_LINEAR)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	if (e > LATENCY_MAX_EXP)
		return LATENCY_BUCKETS - 1;
	return LATENCY_LINEAR + (e - LATENCY_SUB_BITS - 1) * (1u << LATENCY_SUB_BITS) +
	       (unsigned)((v >> (e - LATENCY_SUB_BITS)) & ((1u << LATENCY_SUB_BITS) - 1));
}

/* Percentiles err on the high side: a bucket stands for its largest value. */
uint64_t latency_bucket_top(unsigned b)
{
	unsigned k, e;
	uint64_t low;

	if (b < LATENCY_LINEAR)
		return b;
	if (b == LATENCY_BUCKETS - 1)
		return UINT64_MAX; /* it also takes everything too large for a row */
	k = b - LATENCY_LINEAR;
	e = k / (1u << LATENCY_SUB_BITS) + LATENCY_SUB_BITS + 1;
	low = (uint64_t)((1u << LATENCY_SUB_BITS) + k % (1u << LATENCY_SUB_BITS)) << (e - LATENCY_SUB_BITS);
	return low + (UINT64_C(1) << (e - LATENCY_SUB_BITS)) - 1;
}

void latency_hist_add(struct latency_hist *h, uint64_t value)
{
	h->counts[bucket_of(value)]++;
	h->n++;
	h->sum += value;
	if (value > h->max)
		h->max = value;
}

uint64_t latency_hist_percentile(const struct latency_hist *h, unsigned permille)
{
	uint64_t rank, seen = 0;

	if (h->n == 0)
		return 0;
	if (permille > 1000)
		permille = 1000;
	/* The smallest value with at least permille/1000 of the samples at or below it. */
	rank = (h->n * permille + 999) / 1000;
	if (rank == 0)
		rank = 1;
	for (unsigned b = 0; b < LATENCY_BUCKETS; b++) {
		seen += h->counts[b];
		if (seen >= rank)
			return latency_bucket_top(b) < h->max ? latency_bucket_top(b) : h->max;
	}
	return h->max;
}

int latency_hist_format(const struct latency_hist *h, char *buf, size_t size)
{
	return snprintf(buf, size, "p50=%" PRIu64 " p90=%" PRIu64 " p99=%" PRIu64 " max=%" PRIu64 " n=%" PRIu64,
			latency_hist_percentile(h, 500), latency_hist_percentile(h, 900),
			latency_hist_percentile(h, 990), h->max, h->n);
}

void latency_worker_died(struct latency *l, pid_t pid, uint64_t now_us)
{
	if (l->death_at_us)
		return;
	l->death_at_us = now_us;
	l->death_pid = pid;
}

uint64_t latency_read_completed(struct latency *l, uint64_t read_at_us, uint64_t now_us, bool culling)
{
	uint64_t since_death, from, took = now_us > read_at_us ? now_us - read_at_us : 0;

	latency_hist_add(&l->read_us, took);
	latency_hist_add(culling ? &l->read_culling_us : &l->read_quiet_us, took);
	if (!l->death_at_us)
		return 0;
	/*
	 * What the death cost a reader: from the death, or from the READ's
	 * arrival if that came later (a reader served from readahead sends
	 * its next READ when it needs one, not when a worker dies).
	 */
	from = read_at_us > l->death_at_us ? read_at_us : l->death_at_us;
	since_death = now_us > from ? now_us - from : 1;
	log_info("first READ since worker pid %d died waited %" PRIu64 ".%03" PRIu64 " ms (completed %" PRIu64
		 " ms after the death)",
		 (int)l->death_pid, since_death / 1000, since_death % 1000,
		 (now_us > l->death_at_us ? now_us - l->death_at_us : 0) / 1000);
	l->death_at_us = 0;
	l->recoveries++;
	l->recovery_us_sum += since_death;
	return since_death;
}
