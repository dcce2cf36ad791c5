/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cfs-util.h"

#define PREFIX "cachefiles_supervisor_"
#define US_PER_S 1e6
#define MS_PER_S 1e3

enum scale { AS_IS, MS_TO_S, US_TO_S, PERCENT_TO_RATIO };

/* A series read from one number of the status (a key, or "object.key"). */
struct metric {
	const char *key;
	const char *name; /* after PREFIX */
	const char *type;
	enum scale scale;
	const char *help;
};

/*
 * What the supervisor and each domain count alike: the same keys at the top
 * of the status and in each domain, named domain_* for a domain.
 */
static const struct metric counted_alike[] = {
	{ "reads", "reads_total", "counter", AS_IS, "READ requests from the kernel." },
	{ "bytes_served", "served_bytes_total", "counter", AS_IS, "Bytes READs were answered with." },
	{ "spawns", "worker_spawns_total", "counter", AS_IS, "Workers started." },
	{ "deaths", "worker_deaths_total", "counter", AS_IS, "Workers that died (crashed, killed or hung)." },
	{ "prefetched", "prefetched_bytes_total", "counter", AS_IS, "Bytes prefetch wrote into the cache." },
	{ "readahead", "readahead_bytes_total", "counter", AS_IS, "Bytes readahead wrote into the cache." },
	{ "failures.missing_blob", "missing_blob_requests_total", "counter", AS_IS,
	  "Requests failed because the blob is not in the blob dir." },
	{ "failures.truncated_blob", "truncated_blob_reads_total", "counter", AS_IS,
	  "READs failed because the blob ends before the range (a truncated blob)." },
	{ "failures.cache_full", "cache_full_refusals_total", "counter", AS_IS,
	  "Fills the cache refused (ENOBUFS: its filesystem is full)." },
	{ "failures.max_objects", "max_objects_refusals_total", "counter", AS_IS,
	  "OPENs refused because max_objects objects were open." },
};

/* The supervisor's own figures: since this process started, but for starts. */
static const struct metric supervisor_metrics[] = {
	{ "uptime_ms", "uptime_seconds", "gauge", MS_TO_S, "Time since this supervisor process started." },
	{ "starts", "starts_total", "counter", AS_IS,
	  "Supervisor starts on this cache's state (restarts + 1; kept across crashes, restarts and re-execs)." },
	{ "resumed", "resumed", "gauge", AS_IS, "1 if this start took over a bound cache instead of binding one." },
	{ "recovered", "recovered_objects", "gauge", AS_IS,
	  "Open objects this start took back from the fd store or a re-exec." },
	{ "objects", "objects", "gauge", AS_IS, "Cache objects open now." },
	{ "inflight", "requests_in_flight", "gauge", AS_IS, "Kernel requests read and not yet answered." },
	{ "restores", "restores_total", "counter", AS_IS,
	  "restore commands written (the kernel re-sends what was in flight)." },
	{ "timeouts", "request_timeouts_total", "counter", AS_IS, "Workers killed for holding a request too long." },
	{ "failed", "failed_requests_total", "counter", AS_IS,
	  "Requests given up after killing workers too often (the reader got an error)." },
	{ "opens", "opens_total", "counter", AS_IS, "OPEN requests from the kernel (a blob opened by a mount)." },
	{ "closes", "closes_total", "counter", AS_IS, "CLOSE requests from the kernel." },
	{ "duplicates", "duplicate_requests_total", "counter", AS_IS,
	  "Requests a restore sent again while still held (answered once)." },
	{ "malformed", "malformed_requests_total", "counter", AS_IS, "Kernel messages that did not parse (refused)." },
	{ "refused_keys", "unsafe_blob_names_total", "counter", AS_IS,
	  "OPENs refused for a blob name that is not one printable path component." },
	{ "violations", "worker_protocol_violations_total", "counter", AS_IS,
	  "Workers killed for breaking the protocol." },
	{ "joined", "joined_reads_total", "counter", AS_IS,
	  "READs answered by a readahead or prefetch fill already under way." },
	{ "evictions", "worker_evictions_total", "counter", AS_IS,
	  "Objects a worker at its fd budget dropped to take another." },
	{ "worker_recoveries", "worker_recoveries_total", "counter", AS_IS,
	  "Worker deaths followed by a completed READ." },
	{ "worker_recovery_us", "worker_recovery_seconds_total", "counter", US_TO_S,
	  "Time the first READ after each worker death waited because of it." },
	{ "failures.unrouted_volume", "unrouted_volume_opens_total", "counter", AS_IS,
	  "OPENs refused because no domain serves their volume." },
	/* Cache space (issue 18): the culler's view, from its last look at the cache fs. */
	{ "cache.bytes", "cache_bytes", "gauge", AS_IS, "Bytes the cache files hold (last scan plus fills since)." },
	{ "cache.files", "cache_files", "gauge", AS_IS, "Cache files seen by the last scan." },
	{ "cache.in_use_bytes", "cache_in_use_bytes", "gauge", AS_IS, "Bytes of cache files open objects hold." },
	{ "cache.max_size", "cache_max_size_bytes", "gauge", AS_IS, "The quota (max_size); 0: none." },
	{ "cache.fs_blocks", "cache_fs_blocks", "gauge", AS_IS, "Blocks of the cache's filesystem." },
	{ "cache.fs_blocks_free", "cache_fs_blocks_free", "gauge", AS_IS,
	  "Blocks of the cache's filesystem free to it (f_bavail)." },
	{ "cache.fs_block_size", "cache_fs_block_size_bytes", "gauge", AS_IS, "The cache filesystem's block size." },
	{ "cache.fs_files", "cache_fs_files", "gauge", AS_IS, "Inodes of the cache's filesystem." },
	{ "cache.fs_files_free", "cache_fs_files_free", "gauge", AS_IS, "Free inodes of the cache's filesystem." },
	{ "cache.brun", "cache_brun_ratio", "gauge", PERCENT_TO_RATIO, "Free blocks above which culling stops." },
	{ "cache.bcull", "cache_bcull_ratio", "gauge", PERCENT_TO_RATIO, "Free blocks below which culling starts." },
	{ "cache.bstop", "cache_bstop_ratio", "gauge", PERCENT_TO_RATIO,
	  "Free blocks below which the kernel refuses new cache data." },
	{ "cache.culling", "cache_culling", "gauge", AS_IS, "1 while a cull pass runs." },
	{ "cache.culled", "cache_culled_files_total", "counter", AS_IS, "Cache files culled." },
	{ "cache.culled_bytes", "cache_culled_bytes_total", "counter", AS_IS, "Bytes of the cache files culled." },
	{ "cache.cull_busy", "cache_cull_busy_total", "counter", AS_IS,
	  "cull commands the kernel refused because the file was in use." },
	{ "cache.cull_stuck", "cache_nothing_to_cull_total", "counter", AS_IS,
	  "Times space was short and nothing could be culled (every file in use)." },
	{ "cache.refused_writes", "cache_refused_writes_total", "counter", AS_IS,
	  "Fills the kernel refused for lack of space." },
	{ "cache.held_fills", "cache_held_fills_total", "counter", AS_IS,
	  "READs held until a cull pass made room, then filled." },
	{ "cache.paced_reads", "cache_paced_reads_total", "counter", AS_IS,
	  "READs that waited for a cull pass before their fill, free space being under halfway from bstop to bcull." },
};

/* A domain's own, beside counted_alike. */
static const struct metric domain_metrics[] = {
	{ "active", "active", "gauge", AS_IS, "1 for a configured domain, 0 for a retired one still draining." },
	{ "workers", "workers", "gauge", AS_IS, "Workers the domain is configured to run." },
	{ "ready", "workers_ready", "gauge", AS_IS, "Workers ready to serve." },
	/* A remote domain's origin (one per domain); a local domain has none of these. */
	{ "origin.bytes", "origin_fetched_bytes_total", "counter", AS_IS,
	  "Body bytes the domain's workers received from its origin." },
	{ "origin.requests", "origin_requests_total", "counter", AS_IS,
	  "Range requests sent to the domain's origin (each retry one more)." },
	{ "origin.connections", "origin_connections_total", "counter", AS_IS,
	  "Connections to the origin (or proxy) the supervisor's broker made for the workers." },
	{ "origin.retries", "origin_retries_total", "counter", AS_IS,
	  "Requests tried again after a reset, a short or wrong reply, a 5xx or a 429." },
	{ "origin.failures", "origin_failures_total", "counter", AS_IS,
	  "Ranges given up on: an error no retry mends, or fetch_deadline reached." },
	{ "origin.bad_chunks", "origin_bad_chunks_total", "counter", AS_IS,
	  "Chunks whose sha256 was not the descriptor's (never written into the cache)." },
};

/* 2^7 us (128 us) to 2^24 us (16.8 s): where the status's buckets end (latency.h). */
#define LATENCY_LE_FIRST_EXP 7
#define LATENCY_LE_LAST_EXP 24

static void help_and_type(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help, name, type);
}

/* A family's HELP and TYPE, its name after PREFIX and `scope` ("" or "domain_"). */
static void announce(FILE *out, const char *scope, const struct metric *m)
{
	char name[128];

	snprintf(name, sizeof(name), "%s%s", scope, m->name);
	help_and_type(out, name, m->type, m->help);
}

/* The number at key ("a" or "a.b") of obj; booleans count as 0 and 1. */
static bool number_at(json_t *obj, const char *key, double *out)
{
	const char *dot = strchr(key, '.');
	json_t *v;

	if (dot) {
		char head[64];
		snprintf(head, sizeof(head), "%.*s", (int)(dot - key), key);
		return number_at(json_object_get(obj, head), dot + 1, out);
	}
	v = json_object_get(obj, key);
	if (json_is_boolean(v))
		*out = json_is_true(v);
	else if (json_is_number(v))
		*out = json_number_value(v);
	else
		return false;
	return true;
}

/* A string of the status, "" if it has none. */
static const char *string_at(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v ? v : "";
}

static void print_value(FILE *out, double v, enum scale scale)
{
	if (scale == MS_TO_S)
		fprintf(out, " %.3f\n", v / MS_PER_S);
	else if (scale == US_TO_S)
		fprintf(out, " %.6f\n", v / US_PER_S);
	else if (scale == PERCENT_TO_RATIO)
		fprintf(out, " %.2f\n", v / 100);
	else
		fprintf(out, " %.0f\n", v);
}

/* A label value as the format wants it: backslash, quote and newline escaped. */
static void print_label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void render_supervisor(json_t *status, const struct metric *m, size_t n, FILE *out)
{
	double v;

	for (size_t i = 0; i < n; i++) {
		if (!number_at(status, m[i].key, &v))
			continue; /* an older supervisor: what it does not report is left out */
		announce(out, "", &m[i]);
		fprintf(out, PREFIX "%s", m[i].name);
		print_value(out, v, m[i].scale);
	}
}

/* A domain's number; "active" is its state. */
static bool domain_number(json_t *domain, const char *key, double *out)
{
	if (strcmp(key, "active") == 0) {
		*out = strcmp(string_at(domain, "state"), "active") == 0;
		return true;
	}
	return number_at(domain, key, out);
}

static void render_domain_metric(json_t *domains, const struct metric *m, FILE *out)
{
	bool announced = false;
	size_t i;
	json_t *d;
	double v;

	json_array_foreach(domains, i, d)
	{
		const char *name = json_string_value(json_object_get(d, "name"));
		if (!name || !domain_number(d, m->key, &v))
			continue;
		if (!announced)
			announce(out, "domain_", m);
		announced = true;
		fprintf(out, PREFIX "domain_%s{domain=\"", m->name);
		print_label_value(out, name);
		fputs("\"}", out);
		print_value(out, v, m->scale);
	}
}

/* Samples at or below 2^exp - 1 us (bucket tops are integers; null is the catch-all). */
static double samples_below(json_t *buckets, unsigned exp)
{
	double below = 0;
	size_t i;
	json_t *b;

	json_array_foreach(buckets, i, b)
	{
		json_t *top = json_array_get(b, 0);
		if (json_is_integer(top) && (uint64_t)json_integer_value(top) < (UINT64_C(1) << exp))
			below += json_number_value(json_array_get(b, 1));
	}
	return below;
}

static void render_latency(json_t *status, FILE *out)
{
	json_t *h = json_object_get(status, "read_latency_us");
	json_t *buckets = json_object_get(h, "buckets");
	double count, sum;

	if (!number_at(h, "count", &count) || !number_at(h, "sum", &sum) || !json_is_array(buckets))
		return;
	help_and_type(out, "read_latency_seconds", "histogram",
		      "READ requests from read off the device to completed, by latency.");
	for (unsigned e = LATENCY_LE_FIRST_EXP; e <= LATENCY_LE_LAST_EXP; e++)
		fprintf(out, PREFIX "read_latency_seconds_bucket{le=\"%.6f\"} %.0f\n",
			(double)(UINT64_C(1) << e) / US_PER_S, samples_below(buckets, e));
	fprintf(out, PREFIX "read_latency_seconds_bucket{le=\"+Inf\"} %.0f\n", count);
	fprintf(out, PREFIX "read_latency_seconds_sum %.6f\n", sum / US_PER_S);
	fprintf(out, PREFIX "read_latency_seconds_count %.0f\n", count);
}

static void render_up(bool up, FILE *out)
{
	help_and_type(out, "up", "gauge", "1 if the supervisor answered on its control socket.");
	fprintf(out, PREFIX "up %d\n", up);
}

static void render_info(json_t *status, FILE *out)
{
	render_up(true, out);
	help_and_type(out, "info", "gauge", "The running supervisor's version, as a label.");
	fputs(PREFIX "info{version=\"", out);
	print_label_value(out, string_at(status, "version"));
	fputs("\"} 1\n", out);
}

int metrics_render(const char *status_json, FILE *out)
{
	json_t *status = json_loads(status_json, JSON_REJECT_DUPLICATES, NULL);
	json_t *domains = json_object_get(status, "domains");

	if (!json_is_object(status) || !json_is_array(domains) || !json_object_get(status, "pid")) {
		json_decref(status);
		return -EPROTO;
	}
	render_info(status, out);
	render_supervisor(status, supervisor_metrics, ARRAY_SIZE(supervisor_metrics), out);
	render_supervisor(status, counted_alike, ARRAY_SIZE(counted_alike), out);
	render_latency(status, out);
	for (size_t i = 0; i < ARRAY_SIZE(domain_metrics); i++)
		render_domain_metric(domains, &domain_metrics[i], out);
	for (size_t i = 0; i < ARRAY_SIZE(counted_alike); i++)
		render_domain_metric(domains, &counted_alike[i], out);
	json_decref(status);
	return 0;
}

void metrics_render_down(FILE *out)
{
	render_up(false, out);
}
