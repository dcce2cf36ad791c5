/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "control-counters.h"

#include <inttypes.h>
#include <stdio.h>

#include "requests.h"
#include "supervisor.h"

void counters_requests_json(const struct stats *t, struct ctlbuf *b)
{
	ctlbuf_printf(b,
		      ",\"opens\":%" PRIu64 ",\"closes\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"malformed\":%" PRIu64
		      ",\"refused_keys\":%" PRIu64 ",\"violations\":%" PRIu64 ",\"joined\":%" PRIu64
		      ",\"evictions\":%" PRIu64 ",\"prefetched\":%" PRIu64 ",\"readahead\":%" PRIu64,
		      t->opens, t->closes, t->duplicates, t->malformed, t->refused_keys, t->violations, t->joined,
		      t->evictions, t->prefetched, t->readahead);
}

void counters_requests_text(const struct stats *t, struct ctlbuf *b)
{
	ctlbuf_printf(b,
		      "requests: opens %" PRIu64 ", closes %" PRIu64 ", duplicates %" PRIu64 ", malformed %" PRIu64
		      ", unsafe names %" PRIu64 "; worker violations %" PRIu64 ", joined reads %" PRIu64
		      ", evictions %" PRIu64 "; %" PRIu64 " bytes prefetched, %" PRIu64 " read ahead\n",
		      t->opens, t->closes, t->duplicates, t->malformed, t->refused_keys, t->violations, t->joined,
		      t->evictions, t->prefetched, t->readahead);
}

void counters_failures_json(const uint64_t *failures, unsigned kinds, struct ctlbuf *b)
{
	ctlbuf_printf(b, ",\"failures\":{");
	for (unsigned k = 0; k < kinds; k++)
		ctlbuf_printf(b, "%s\"%s\":%" PRIu64, k ? "," : "", failure_kind_name((enum failure_kind)k),
			      failures[k]);
	ctlbuf_printf(b, "}");
}

void counters_failures_text(const uint64_t *failures, unsigned kinds, const char *indent, struct ctlbuf *b)
{
	ctlbuf_printf(b, "%sfailures:", indent);
	for (unsigned k = 0; k < kinds; k++)
		ctlbuf_printf(b, "%s %s %" PRIu64, k ? "," : "", failure_kind_name((enum failure_kind)k), failures[k]);
	ctlbuf_printf(b, "\n");
}

static const char *origin_kind_name(enum origin_kind k)
{
	return k == ORIGIN_REGISTRY ? "registry" : "url";
}

void counters_origin_json(const struct domain *d, struct ctlbuf *b)
{
	const struct remote_settings *rs = &d->settings.remote;
	const struct origin_stats *o = &d->stats.origin;

	if (rs->origin.kind == ORIGIN_NONE)
		return;
	ctlbuf_printf(b, ",\"origin\":{\"kind\":\"%s\",\"host\":", origin_kind_name(rs->origin.kind));
	ctlbuf_json_cstr(b, rs->origin.host);
	ctlbuf_printf(b, ",\"port\":%u,\"proxy\":", (unsigned)rs->origin.port);
	if (rs->proxy.port) {
		char proxy[sizeof(rs->proxy.host) + 8];
		snprintf(proxy, sizeof(proxy), "%s:%u", rs->proxy.host, (unsigned)rs->proxy.port);
		ctlbuf_json_cstr(b, proxy);
	} else {
		ctlbuf_printf(b, "null");
	}
	ctlbuf_printf(b,
		      ",\"bytes\":%" PRIu64 ",\"requests\":%" PRIu64 ",\"connections\":%" PRIu64 ",\"retries\":%" PRIu64
		      ",\"failures\":%" PRIu64 ",\"bad_chunks\":%" PRIu64 "}",
		      o->bytes, o->requests, o->connects, o->retries, o->failures, o->bad_chunks);
}

void counters_origin_text(const struct domain *d, struct ctlbuf *b)
{
	const struct remote_settings *rs = &d->settings.remote;
	const struct origin_stats *o = &d->stats.origin;

	if (rs->origin.kind == ORIGIN_NONE)
		return;
	ctlbuf_printf(b, "  origin %s ", origin_kind_name(rs->origin.kind));
	ctlbuf_text_cstr(b, rs->origin.host);
	ctlbuf_printf(b, ":%u", (unsigned)rs->origin.port);
	if (rs->proxy.port) {
		ctlbuf_printf(b, " via proxy ");
		ctlbuf_text_cstr(b, rs->proxy.host);
		ctlbuf_printf(b, ":%u", (unsigned)rs->proxy.port);
	}
	ctlbuf_printf(b,
		      ": fetched %" PRIu64 " bytes in %" PRIu64 " requests over %" PRIu64 " connections; %" PRIu64
		      " retries, %" PRIu64 " failures, %" PRIu64 " bad chunks\n",
		      o->bytes, o->requests, o->connects, o->retries, o->failures, o->bad_chunks);
}

static void latency_buckets_json(const struct latency_hist *h, struct ctlbuf *b)
{
	bool first = true;

	for (unsigned i = 0; i < LATENCY_BUCKETS; i++) {
		if (h->counts[i] == 0)
			continue;
		if (i == LATENCY_BUCKETS - 1)
			ctlbuf_printf(b, "%s[null,%" PRIu64 "]", first ? "" : ",", h->counts[i]);
		else
			ctlbuf_printf(b, "%s[%" PRIu64 ",%" PRIu64 "]", first ? "" : ",", latency_bucket_top(i),
				      h->counts[i]);
		first = false;
	}
}

void counters_latency_json(const struct latency *l, struct ctlbuf *b)
{
	const struct latency_hist *h = &l->read_us;

	ctlbuf_printf(
		b, ",\"read_latency_us\":{\"count\":%" PRIu64 ",\"sum\":%" PRIu64 ",\"max\":%" PRIu64 ",\"buckets\":[",
		h->n, h->sum, h->max);
	latency_buckets_json(h, b);
	ctlbuf_printf(b, "]},\"worker_recoveries\":%" PRIu64 ",\"worker_recovery_us\":%" PRIu64, l->recoveries,
		      l->recovery_us_sum);
}

void counters_latency_text(const struct latency *l, struct ctlbuf *b)
{
	char percentiles[128];

	latency_hist_format(&l->read_us, percentiles, sizeof(percentiles));
	ctlbuf_printf(b, "READ latency (us): %s; %" PRIu64 " recoveries after worker deaths, %" PRIu64 " us\n",
		      percentiles, l->recoveries, l->recovery_us_sum);
}
