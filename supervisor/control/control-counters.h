/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The status's figures that come as a group: failure counts (the supervisor's
 * and each domain's) and the READ latency histogram with the recoveries after
 * worker deaths. cachefilesctl's `metrics` turns the JSON into Prometheus
 * series, so a key here is part of that interface.
 */
#ifndef CFS_CONTROL_COUNTERS_H
#define CFS_CONTROL_COUNTERS_H

#include "control-json.h"
#include "latency.h"

struct stats;
struct domain;

/* ,"opens":N,"closes":N,...: the counters of struct stats the head leaves out. */
void counters_requests_json(const struct stats *t, struct ctlbuf *b);
/* "requests: opens N, ...\n" */
void counters_requests_text(const struct stats *t, struct ctlbuf *b);
/* ,"failures":{"missing_blob":N,...}: the first `kinds` of enum failure_kind. */
void counters_failures_json(const uint64_t *failures, unsigned kinds, struct ctlbuf *b);
/* "failures: missing_blob N, ...\n" after `indent`. */
void counters_failures_text(const uint64_t *failures, unsigned kinds, const char *indent, struct ctlbuf *b);
/*
 * A remote domain's origin, nothing for a local one:
 * ,"origin":{"kind":"registry","host":H,"port":N,"proxy":"H:P" or null,
 * "bytes":N,"requests":N,"connections":N,"retries":N,"failures":N,"bad_chunks":N}
 */
void counters_origin_json(const struct domain *d, struct ctlbuf *b);
/* "  origin registry H:P (via proxy H:P): fetched N bytes in N requests over N connections; ...\n" */
void counters_origin_text(const struct domain *d, struct ctlbuf *b);
/*
 * ,"read_latency_us":{"count":N,"sum":N,"max":N,"buckets":[[TOP,N],...]},
 * "worker_recoveries":N,"worker_recovery_us":N. Only buckets holding a
 * sample are listed, each with the largest value it holds (null for the
 * last, which takes any larger value) and its own count (not cumulative).
 */
void counters_latency_json(const struct latency *l, struct ctlbuf *b);
/* Its largest output: every bucket holding a sample, every number 20 digits. */
#define COUNTERS_LATENCY_JSON_MAX (LATENCY_BUCKETS * (2 * 20 + 4) + 8 * 20 + 128)
/* "READ latency (us): p50=.. ...; N recoveries after worker deaths, N us\n" */
void counters_latency_text(const struct latency *l, struct ctlbuf *b);

#endif
