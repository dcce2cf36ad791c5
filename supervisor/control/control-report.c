/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "control-report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfs-util.h"
#include "config.h"
#include "control-counters.h"
#include "pool.h"

/* A domain index the config reload freed (or never used) is no domain. */
static bool domain_in_use(const struct domain *d)
{
	return d->state != DOMAIN_UNUSED;
}

static const char *domain_state_name(const struct domain *d)
{
	return d->state == DOMAIN_RETIRED ? "retired" : "active";
}

/* Cache space: the cache's size, free space against the thresholds, what culling did. */
static void status_space_text(const struct supervisor *s, struct ctlbuf *b)
{
	const struct space_stats *p = &s->space;
	const struct space_limits *l = &s->cfg.space;
	uint64_t free_pct = p->fs.blocks ? p->fs.blocks_free * 100 / p->fs.blocks : 0;
	uint64_t ffree_pct = p->fs.files ? p->fs.files_free * 100 / p->fs.files : 0;

	ctlbuf_printf(b,
		      "cache: %" PRIu64 " bytes in %" PRIu64 " files (%" PRIu64 " in use), max_size %" PRIu64
		      "; free %" PRIu64 "%% of blocks (brun %u%%, bcull %u%%, bstop %u%%), %" PRIu64
		      "%% of files (frun %u%%, fcull %u%%, fstop %u%%)\n",
		      p->cache_bytes, p->cache_files, p->in_use_bytes, l->max_size, free_pct, l->blocks.run,
		      l->blocks.cull, l->blocks.stop, ffree_pct, l->files.run, l->files.cull, l->files.stop);
	ctlbuf_printf(b,
		      "culling: %s; culled %" PRIu64 " files, %" PRIu64 " bytes; busy %" PRIu64
		      ", nothing to cull %" PRIu64 ", writes refused for space %" PRIu64 " (and %" PRIu64
		      " held until culling made room); READs paced %" PRIu64 "\n",
		      p->culling ? "running" : "idle", p->culled, p->culled_bytes, p->busy_skipped, p->stuck,
		      p->refused_writes, p->held_fills, p->paced_reads);
}

static void status_space_json(const struct supervisor *s, struct ctlbuf *b)
{
	const struct space_stats *p = &s->space;
	const struct space_limits *l = &s->cfg.space;

	ctlbuf_printf(b,
		      ",\"cache\":{\"bytes\":%" PRIu64 ",\"files\":%" PRIu64 ",\"in_use_bytes\":%" PRIu64
		      ",\"max_size\":%" PRIu64 ",\"fs_blocks\":%" PRIu64 ",\"fs_blocks_free\":%" PRIu64
		      ",\"fs_block_size\":%" PRIu64 ",\"fs_files\":%" PRIu64 ",\"fs_files_free\":%" PRIu64,
		      p->cache_bytes, p->cache_files, p->in_use_bytes, l->max_size, p->fs.blocks, p->fs.blocks_free,
		      p->fs.block_size, p->fs.files, p->fs.files_free);
	ctlbuf_printf(b,
		      ",\"brun\":%u,\"bcull\":%u,\"bstop\":%u,\"frun\":%u,\"fcull\":%u,\"fstop\":%u,\"culling\":%s"
		      ",\"culled\":%" PRIu64 ",\"culled_bytes\":%" PRIu64 ",\"cull_busy\":%" PRIu64
		      ",\"cull_stuck\":%" PRIu64 ",\"refused_writes\":%" PRIu64 ",\"held_fills\":%" PRIu64
		      ",\"paced_reads\":%" PRIu64 ",\"scans\":%" PRIu64 "}",
		      l->blocks.run, l->blocks.cull, l->blocks.stop, l->files.run, l->files.cull, l->files.stop,
		      p->culling ? "true" : "false", p->culled, p->culled_bytes, p->busy_skipped, p->stuck,
		      p->refused_writes, p->held_fills, p->paced_reads, p->scans);
}

/* READ latency in us, all of it and split by whether a cull pass ran (issue 18: culling must not cost readers). */
static void status_latency_text(const struct supervisor *s, struct ctlbuf *b)
{
	char culling[160], quiet[160];

	latency_hist_format(&s->latency.read_culling_us, culling, sizeof(culling));
	latency_hist_format(&s->latency.read_quiet_us, quiet, sizeof(quiet));
	ctlbuf_printf(b, "READ latency (us) while culling: %s; otherwise %s\n", culling, quiet);
}

static void latency_json(struct ctlbuf *b, const char *name, const struct latency_hist *h)
{
	ctlbuf_printf(b,
		      ",\"%s\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"max\":%" PRIu64
		      ",\"n\":%" PRIu64 "}",
		      name, latency_hist_percentile(h, 500), latency_hist_percentile(h, 900),
		      latency_hist_percentile(h, 990), h->max, h->n);
}

static void status_head_text(const struct supervisor *s, struct ctlbuf *b)
{
	const struct stats *t = &s->stats;
	uint64_t up_ms = now_ms() - s->started_ms;

	ctlbuf_printf(b, "cachefiles-supervisor %s: pid %d, up %" PRIu64 ".%01" PRIu64 " s, start %u\n", CFS_VERSION,
		      (int)getpid(), up_ms / 1000, up_ms % 1000 / 100, s->starts);
	ctlbuf_printf(b, "objects %u, in flight %u, reads %" PRIu64 ", bytes served %" PRIu64 "\n", s->objects.count,
		      s->inflight.count, t->reads, t->bytes_served);
	ctlbuf_printf(b,
		      "workers: spawns %" PRIu64 ", deaths %" PRIu64 "; restores %" PRIu64 ", timeouts %" PRIu64
		      ", failed requests %" PRIu64 "\n",
		      t->spawns, t->deaths, t->restores, t->timeouts, t->failed_requests);
	ctlbuf_printf(b, "%s, %u objects recovered at start\n", s->resumed ? "took over a bound cache" : "fresh bind",
		      s->recovered);
	counters_requests_text(t, b);
	counters_failures_text(t->failures, FAILURE_KINDS, "", b);
	counters_latency_text(&s->latency, b);
	status_space_text(s, b);
	status_latency_text(s, b);
}

static void status_head_json(const struct supervisor *s, struct ctlbuf *b)
{
	const struct stats *t = &s->stats;

	ctlbuf_printf(b, "{\"pid\":%d,\"version\":", (int)getpid());
	ctlbuf_json_cstr(b, CFS_VERSION);
	ctlbuf_printf(b,
		      ",\"uptime_ms\":%" PRIu64 ",\"starts\":%u,\"objects\":%u,\"inflight\":%u,\"reads\":%" PRIu64
		      ",\"bytes_served\":%" PRIu64 ",\"spawns\":%" PRIu64 ",\"deaths\":%" PRIu64
		      ",\"restores\":%" PRIu64 ",\"timeouts\":%" PRIu64 ",\"failed\":%" PRIu64
		      ",\"resumed\":%s,\"recovered\":%u",
		      now_ms() - s->started_ms, s->starts, s->objects.count, s->inflight.count, t->reads,
		      t->bytes_served, t->spawns, t->deaths, t->restores, t->timeouts, t->failed_requests,
		      s->resumed ? "true" : "false", s->recovered);
	counters_requests_json(t, b);
	counters_failures_json(t->failures, FAILURE_KINDS, b);
	status_space_json(s, b);
	/* All READs are read_latency_us, with its buckets, after the domains (counters_latency_json()). */
	latency_json(b, "read_latency_culling_us", &s->latency.read_culling_us);
	latency_json(b, "read_latency_quiet_us", &s->latency.read_quiet_us);
	ctlbuf_printf(b, ",\"domains\":[");
}

/* The domain's prefetch setting as the config writes it: none, all, or bytes. */
static void prefetch_setting(const struct domain *d, char buf[static 32])
{
	if (d->settings.prefetch == CONFIG_PREFETCH_ALL)
		snprintf(buf, 32, "all");
	else if (d->settings.prefetch == 0)
		snprintf(buf, 32, "none");
	else
		snprintf(buf, 32, "%" PRIu64, d->settings.prefetch);
}

/* Where an object's prefetch is: off, running, done or stopped. */
static const char *prefetch_progress(const struct object *o)
{
	if (!o->prefetch.planned || o->prefetch.end == 0)
		return "off";
	if (o->prefetch.stopped)
		return "stopped";
	return o->prefetch.next >= o->prefetch.end && !o->prefetch.in_flight ? "done" : "running";
}

static void status_domain_text(const struct domain *d, struct ctlbuf *b)
{
	char prefetch[32];

	ctlbuf_printf(b, "domain ");
	ctlbuf_text_cstr(b, d->name);
	ctlbuf_printf(b, " (%s): blob dir ", domain_state_name(d));
	ctlbuf_text_cstr(b, d->settings.blob_dir);
	ctlbuf_printf(b, "\n  workers %u/%u ready, version ", pool_ready_count(d), d->settings.n_workers);
	ctlbuf_text_cstr(b, d->worker_version[0] ? d->worker_version : "-");
	ctlbuf_printf(b, "; spawns %" PRIu64 ", deaths %" PRIu64 "\n  reads %" PRIu64 ", bytes served %" PRIu64 "\n",
		      d->stats.spawns, d->stats.deaths, d->stats.reads, d->stats.bytes_served);
	prefetch_setting(d, prefetch);
	ctlbuf_printf(b, "  prefetch %s, %" PRIu64 " bytes prefetched; %" PRIu64 " bytes read ahead\n", prefetch,
		      d->stats.prefetched, d->stats.readahead);
	counters_origin_text(d, b);
	counters_failures_text(d->stats.failures, FAILURE_DOMAIN_KINDS, "  ", b);
}

static void status_domain_json(const struct domain *d, bool first, struct ctlbuf *b)
{
	char prefetch[32];

	ctlbuf_printf(b, "%s{\"name\":", first ? "" : ",");
	ctlbuf_json_cstr(b, d->name);
	ctlbuf_printf(b, ",\"state\":\"%s\",\"blob_dir\":", domain_state_name(d));
	ctlbuf_json_cstr(b, d->settings.blob_dir);
	ctlbuf_printf(b, ",\"workers\":%u,\"ready\":%u,\"worker_version\":", d->settings.n_workers,
		      pool_ready_count(d));
	ctlbuf_json_cstr(b, d->worker_version);
	ctlbuf_printf(b,
		      ",\"reads\":%" PRIu64 ",\"bytes_served\":%" PRIu64 ",\"spawns\":%" PRIu64 ",\"deaths\":%" PRIu64,
		      d->stats.reads, d->stats.bytes_served, d->stats.spawns, d->stats.deaths);
	prefetch_setting(d, prefetch);
	ctlbuf_printf(b, ",\"prefetch\":\"%s\",\"prefetched\":%" PRIu64 ",\"readahead\":%" PRIu64, prefetch,
		      d->stats.prefetched, d->stats.readahead);
	counters_origin_json(d, b);
	counters_failures_json(d->stats.failures, FAILURE_DOMAIN_KINDS, b);
	ctlbuf_printf(b, "}");
}

static void object_text(const struct supervisor *s, const struct object *o, struct ctlbuf *b)
{
	const char *domain = o->domain < s->n_domains ? s->domains[o->domain].name : "-";

	ctlbuf_printf(b, "obj %u domain=", o->obj_id);
	ctlbuf_text_cstr(b, domain);
	ctlbuf_printf(b, " state=%s size=%" PRIu64 " fdstore=%s cookie=", o->state == OBJECT_OPEN ? "open" : "opening",
		      o->size, o->in_fdstore ? "yes" : "no");
	ctlbuf_text_string(b, o->key, o->key_len);
	ctlbuf_printf(b, " volume=");
	ctlbuf_text_cstr(b, o->volume);
	ctlbuf_printf(b, " prefetch=%s %" PRIu64 "/%" PRIu64 "\n", prefetch_progress(o), o->prefetch.next,
		      o->prefetch.end);
}

static void object_json(const struct supervisor *s, const struct object *o, bool first, struct ctlbuf *b)
{
	/* One object per line: a long table stays readable, and every line short. */
	ctlbuf_printf(b, "%s{\"obj_id\":%u,\"domain\":", first ? "\n" : ",\n", o->obj_id);
	ctlbuf_json_cstr(b, o->domain < s->n_domains ? s->domains[o->domain].name : "");
	ctlbuf_printf(b, ",\"state\":\"%s\",\"size\":%" PRIu64 ",\"in_fdstore\":%s,\"cookie\":",
		      o->state == OBJECT_OPEN ? "open" : "opening", o->size, o->in_fdstore ? "true" : "false");
	ctlbuf_json_string(b, o->key, o->key_len);
	ctlbuf_printf(b, ",\"volume\":");
	ctlbuf_json_cstr(b, o->volume);
	ctlbuf_printf(b, ",\"prefetch\":\"%s\",\"prefetched_to\":%" PRIu64 ",\"prefetch_end\":%" PRIu64 "}",
		      prefetch_progress(o), o->prefetch.next, o->prefetch.end);
}

/* Element i of the report: a domain or an object handle; nothing for an unused one. */
static void render_element(const struct supervisor *s, struct report *r, uint32_t i, struct ctlbuf *b)
{
	bool first = r->items == 0;

	if (r->kind == REPORT_STATUS) {
		const struct domain *d = &s->domains[i];
		if (!domain_in_use(d))
			return;
		if (r->json)
			status_domain_json(d, first, b);
		else
			status_domain_text(d, b);
	} else {
		const struct object *o = s->objects.by_handle[i];
		if (!o)
			return;
		if (r->json)
			object_json(s, o, first, b);
		else
			object_text(s, o, b);
	}
	r->items++;
}

static void render_head(const struct supervisor *s, const struct report *r, struct ctlbuf *b)
{
	if (r->kind == REPORT_STATUS && r->json)
		status_head_json(s, b);
	else if (r->kind == REPORT_STATUS)
		status_head_text(s, b);
	else if (r->json)
		ctlbuf_printf(b, "{\"objects\":[");
}

static void render_tail(const struct supervisor *s, const struct report *r, struct ctlbuf *b)
{
	if (!r->json)
		return;
	if (r->kind == REPORT_OBJECTS) {
		ctlbuf_printf(b, "%s]}\n", r->items ? "\n" : "");
		return;
	}
	ctlbuf_printf(b, "]");
	counters_latency_json(&s->latency, b);
	ctlbuf_printf(b, "}\n");
}

/* Tables change between two calls: the cursor moves on, the end is recomputed each time. */
static void render_item(const struct supervisor *s, struct report *r, struct ctlbuf *b)
{
	uint32_t elements = r->kind == REPORT_STATUS ? s->n_domains : s->objects.n_handles;

	if (r->cursor == 0) {
		render_head(s, r, b);
	} else if (r->cursor <= elements) {
		render_element(s, r, r->cursor - 1, b);
	} else {
		render_tail(s, r, b);
		r->finished = true;
	}
}

int report_produce(const struct supervisor *s, struct report *r, struct ctlbuf *b)
{
	while (!r->finished) {
		size_t mark = b->len;
		uint32_t items = r->items;

		render_item(s, r, b);
		if (b->full) {
			/* Not a partial item: it goes out whole once the client has read more. */
			b->len = mark;
			b->full = false;
			r->items = items;
			r->finished = false;
			return mark == 0 ? -E2BIG : 0;
		}
		r->cursor++;
	}
	return 0;
}

static unsigned old_workers(const struct domain *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < WORKER_SLOTS; i++)
		n += d->workers[i].retiring && d->workers[i].state != WORKER_EMPTY;
	return n;
}

void upgrade_begin(struct supervisor *s, struct upgrade_watch *u, struct ctlbuf *b)
{
	unsigned n = 0;

	u->started_ms = now_ms();
	memset(u->shown, 0, sizeof(u->shown));
	for (unsigned i = 0; i < s->n_domains; i++) {
		if (!domain_in_use(&s->domains[i]))
			continue;
		pool_upgrade(s, &s->domains[i]);
		n++;
	}
	ctlbuf_printf(b, "upgrading the workers of %u domain%s from ", n, n == 1 ? "" : "s");
	ctlbuf_text_cstr(b, s->cfg.worker_exe);
	ctlbuf_printf(b, "\n");
}

bool upgrade_progress(const struct supervisor *s, struct upgrade_watch *u, struct ctlbuf *b)
{
	bool all_done = true;

	for (unsigned i = 0; i < s->n_domains && i < ARRAY_SIZE(u->shown); i++) {
		const struct domain *d = &s->domains[i];
		unsigned ready = pool_ready_count(d), old = old_workers(d);
		/* 1 << 16 marks "shown"; ready <= 32 and old <= 64 fit below it. */
		uint32_t figures = (1u << 16) | (ready << 8) | old;

		if (!domain_in_use(d))
			continue;
		all_done &= ready >= d->settings.n_workers && old == 0;
		if (figures == u->shown[i])
			continue;
		u->shown[i] = figures;
		ctlbuf_printf(b, "domain ");
		ctlbuf_text_cstr(b, d->name);
		ctlbuf_printf(b, ": %u/%u new workers ready, %u old draining\n", ready, d->settings.n_workers, old);
	}
	if (all_done)
		ctlbuf_printf(b, "done: every domain runs new workers, after %" PRIu64 " ms\n",
			      now_ms() - u->started_ms);
	return all_done;
}
