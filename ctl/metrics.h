/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `cachefilesctl metrics`: the supervisor's status (the JSON line of
 * `status --json`) as the Prometheus text exposition format 0.0.4. Every
 * name starts cachefiles_supervisor_, values are in base units (seconds,
 * bytes), per-domain series are cachefiles_supervisor_domain_* with a
 * `domain` label, and the READ latency is a histogram whose bounds are
 * powers of two microseconds (where the status's log-linear buckets end, so
 * no sample is guessed into a bucket).
 */
#ifndef CFS_METRICS_H
#define CFS_METRICS_H

#include <stdio.h>

/*
 * Writes the exposition of one status line to out, cachefiles_supervisor_up
 * 1 first. Returns 0, or -EPROTO if the line is not a status (nothing is
 * written then).
 */
int metrics_render(const char *status_json, FILE *out);
/* What is known when the supervisor does not answer: cachefiles_supervisor_up 0. */
void metrics_render_down(FILE *out);

#endif
