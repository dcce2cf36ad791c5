/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "requests.h"

#include <errno.h>
#include <inttypes.h>

#include "cfs-log.h"

const char *domain_name(const struct supervisor *s, unsigned domain)
{
	return domain < s->n_domains ? s->domains[domain].name : "-";
}

const char *request_kind_name(enum request_kind kind)
{
	switch (kind) {
	case REQ_LOOKUP: return "OPEN";
	case REQ_FILL: return "READ";
	}
	return "?";
}

void request_fail(struct supervisor *s, struct request *r, int err)
{
	s->stats.failed_requests++;
	log_error_errno(err, "domain %s obj %u msg %u: giving up on %s after %u worker crashes and %u kills",
			domain_name(s, r->domain), r->obj_id, r->msg_id, request_kind_name(r->kind), r->crashes,
			r->kills);
	if (r->kind == REQ_LOOKUP)
		s->transport->lookup_done(s, r, err);
	else
		s->transport->fill_done(s, r, err);
}

const char *failure_kind_name(enum failure_kind kind)
{
	switch (kind) {
	case FAILURE_MISSING_BLOB: return "missing_blob";
	case FAILURE_TRUNCATED_BLOB: return "truncated_blob";
	case FAILURE_CACHE_FULL: return "cache_full";
	case FAILURE_MAX_OBJECTS: return "max_objects";
	case FAILURE_UNROUTED: return "unrouted_volume";
	case FAILURE_KINDS: break;
	}
	return "?";
}

void failure_counted(struct supervisor *s, int domain, enum failure_kind kind)
{
	s->stats.failures[kind]++;
	if (domain >= 0 && (unsigned)domain < s->n_domains && kind < FAILURE_DOMAIN_KINDS)
		s->domains[domain].stats.failures[kind]++;
}

/* What a worker's errno says about the blob or the cache; -1: nothing an operator can fix there. */
static int failure_of_errno(int err)
{
	switch (err) {
	case -ENOENT: return FAILURE_MISSING_BLOB;
	case -ENODATA: return FAILURE_TRUNCATED_BLOB;
	case -ENOBUFS: return FAILURE_CACHE_FULL;
	default: return -1;
	}
}

static void count_errno(struct supervisor *s, const struct request *r, int err)
{
	int kind = failure_of_errno(err);

	if (kind >= 0)
		failure_counted(s, (int)r->domain, (enum failure_kind)kind);
}

void request_lookup_counted(struct supervisor *s, const struct request *r, int64_t result)
{
	if (result < 0)
		count_errno(s, r, (int)result);
}

static const char *fill_error_text(int err)
{
	switch (err) {
	case -ENODATA: return "blob ends before the range (truncated blob?)";
	case -ENOBUFS: return "the cache refused the write (cache fs full? cull it or give it room)";
	default: return ERRSTR(err);
	}
}

/* A broken blob fails every READ: say so a few times, then now and then. */
static void log_fill_failure(struct supervisor *s, const struct request *r, struct object *o, int err)
{
	uint32_t n = ++o->read_failures;

	if (n > 3 && n % 1000 != 0)
		return;
	log_warning("domain %s obj %u msg %u: READ %" PRIu64 "+%" PRIu64 " failed, the reader gets an error: %s%s",
		    domain_name(s, r->domain), r->obj_id, r->msg_id, r->off, r->len, fill_error_text(err),
		    n == 3 ? " (further failures of this object are logged every 1000th)" : "");
}

void request_fill_counted(struct supervisor *s, const struct request *r, struct object *o, int64_t result)
{
	if (result < 0) {
		count_errno(s, r, (int)result);
		log_fill_failure(s, r, o, (int)result);
	} else {
		o->filled += (uint64_t)result;
		s->stats.bytes_served += (uint64_t)result;
		s->domains[o->domain].stats.bytes_served += (uint64_t)result;
	}
	if (!s->served_since_start) {
		s->served_since_start = true;
		log_notice("first READ since start answered %" PRIu64 " ms after start", now_ms() - s->started_ms);
	}
}
