/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * READ latency as the supervisor sees it (request read off the device to
 * READ_COMPLETE), kept in a log-linear histogram: fixed size, no allocation,
 * O(1) per sample, percentiles within 1/16 (6 %) of the true value. And a
 * one-shot recovery figure: how long the first READ after a worker died
 * completed. Both are for the benchmarks and the SIGUSR1 stats line.
 */
#ifndef CFS_LATENCY_H
#define CFS_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Values below 2 * 16 have a bucket each; above, 16 buckets per power of two. */
#define LATENCY_SUB_BITS 4
#define LATENCY_LINEAR (2u << LATENCY_SUB_BITS)
#define LATENCY_MAX_EXP 40 /* 2^40 us is 12 days: larger values land in the last bucket */
#define LATENCY_BUCKETS (LATENCY_LINEAR + (LATENCY_MAX_EXP - LATENCY_SUB_BITS) * (1u << LATENCY_SUB_BITS))

struct latency_hist {
	uint64_t counts[LATENCY_BUCKETS];
	uint64_t n;
	uint64_t sum; /* of every value: a Prometheus histogram's _sum */
	uint64_t max;
};

struct latency {
	struct latency_hist read_us;
	/* The same READs split by whether a cull pass ran when they completed (issue 18's question: does culling cost readers?). */
	struct latency_hist read_culling_us, read_quiet_us;
	uint64_t death_at_us; /* 0: no worker death waits for its next READ */
	pid_t death_pid;
	uint64_t recoveries;	  /* worker deaths whose next READ completed */
	uint64_t recovery_us_sum; /* what those READs waited because of the death */
};

void latency_hist_add(struct latency_hist *h, uint64_t value);
/* The largest value bucket b holds (UINT64_MAX for the last, which takes any larger one). */
uint64_t latency_bucket_top(unsigned b);
/* The value at or below which permille/1000 of the samples lie (0 if none). */
uint64_t latency_hist_percentile(const struct latency_hist *h, unsigned permille);
/* "p50=.. p90=.. p99=.. max=.. n=.."; returns what snprintf returns. */
int latency_hist_format(const struct latency_hist *h, char *buf, size_t size);

/* A worker died: the next completed READ measures the recovery (the earliest death counts). */
void latency_worker_died(struct latency *l, pid_t pid, uint64_t now_us);
/*
 * A READ read off the device at read_at_us completed, while a cull pass ran
 * or not: adds its latency and,
 * if a worker death is pending, logs how long the recovery took: from the
 * death, or from the READ's arrival if later, to now. Returns that time in
 * us, or 0 if no death was pending; counts it in recoveries.
 */
uint64_t latency_read_completed(struct latency *l, uint64_t read_at_us, uint64_t now_us, bool culling);

#endif
