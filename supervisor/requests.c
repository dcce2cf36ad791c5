/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "requests.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfs-log.h"
#include "device.h"
#include "domains.h"
#include "fdstore.h"
#include "kmsg.h"
#include "pool-join.h"
#include "pool.h"

const char *domain_name(const struct supervisor *s, unsigned domain)
{
	return domain < s->n_domains ? s->domains[domain].name : "-";
}

int domain_for_volume(const struct supervisor *s, const char *volume_key)
{
	if (s->config)
		return domains_route(s, volume_key);
	return s->n_domains > 0 ? 0 : -ENOENT;
}

/* Refuses an OPEN without involving a worker; the anon fd is ours to close. */
static void refuse_open(struct supervisor *s, const struct kreq *req, int err)
{
	int r = device_copen(s->dev_fd, req->msg_id, err);

	if (r < 0)
		log_warning_errno(r, "obj %u msg %u: copen refusal not taken: %s", req->obj_id, req->msg_id, ERRSTR(r));
	if (req->open.anon_fd >= 0)
		close(req->open.anon_fd);
}

static void take_open(struct supervisor *s, const struct kreq *req)
{
	char printable[4 * COOKIE_KEY_MAX + 1];
	struct request proto = { .msg_id = req->msg_id, .opcode = CACHEFILES_OP_OPEN, .obj_id = req->obj_id };
	struct object proto_object = { .obj_id = req->obj_id, .anon_fd = req->open.anon_fd, .state = OBJECT_OPENING,
				       .state_idx = -1, .cookie_len = req->open.cookie_len };
	struct request *r;
	struct object *o;
	int domain, e;

	/* The kernel installs the anon fd without close-on-exec: no worker may inherit it. */
	fcntl(req->open.anon_fd, F_SETFD, FD_CLOEXEC);
	s->stats.opens++;
	domain = domain_for_volume(s, req->open.volume_key);
	if (domain < 0) {
		log_warning("obj %u msg %u: no domain serves volume '%s': refused", req->obj_id, req->msg_id,
			    req->open.volume_key);
		refuse_open(s, req, -ENOENT);
		return;
	}
	if (!cookie_key_is_safe(req->open.cookie, req->open.cookie_len)) {
		s->stats.refused_keys++;
		log_warning("domain %s obj %u msg %u: refusing unsafe blob name '%s' (volume '%s'): "
			    "a blob name must be one printable path component",
			    domain_name(s, domain), req->obj_id, req->msg_id,
			    cookie_printable(req->open.cookie, req->open.cookie_len, printable), req->open.volume_key);
		refuse_open(s, req, -EINVAL);
		return;
	}
	proto_object.domain = (unsigned)domain;
	memcpy(proto_object.cookie, req->open.cookie, sizeof(proto_object.cookie));
	memcpy(proto_object.volume_key, req->open.volume_key, sizeof(proto_object.volume_key));
	o = objects_by_id(&s->objects, req->obj_id);
	if (o) {
		/* The kernel reuses ids only of objects it closed: ours is stale (its CLOSE was lost). */
		log_notice("domain %s obj %u: replacing a stale object of the same id", domain_name(s, o->domain),
			   req->obj_id);
		object_retire(s, o);
	}
	if (s->objects.count >= s->cfg.max_objects) {
		log_warning("domain %s obj %u msg %u: refusing OPEN: %u objects are open, the most max_objects "
			    "allows (raise it in [cache], with FileDescriptorStoreMax= in the unit)",
			    domain_name(s, domain), req->obj_id, req->msg_id, s->objects.count);
		refuse_open(s, req, -ENFILE);
		return;
	}
	e = objects_insert(&s->objects, &proto_object, &o);
	if (e < 0) {
		log_error_errno(e, "domain %s obj %u msg %u: cannot track object: %s", domain_name(s, domain),
				req->obj_id, req->msg_id, ERRSTR(e));
		refuse_open(s, req, -ENOMEM);
		return;
	}
	proto.slot = o->slot;
	proto.domain = (unsigned)domain;
	proto.read_at_ms = now_ms();
	e = inflight_add(&s->inflight, &proto, &r);
	if (e < 0) {
		o->anon_fd = -1; /* refuse_open closes it */
		objects_remove(&s->objects, o);
		refuse_open(s, req, e);
		return;
	}
	log_debug("domain %s obj %u msg %u: OPEN %s/%s", domain_name(s, domain), req->obj_id, req->msg_id,
		  req->open.volume_key, cookie_printable(req->open.cookie, req->open.cookie_len, printable));
	inflight_enqueue(&s->inflight, r, 0);
}

static void take_read(struct supervisor *s, const struct kreq *req)
{
	struct request proto = { .msg_id = req->msg_id, .opcode = CACHEFILES_OP_READ, .obj_id = req->obj_id,
				 .off = req->read.off, .len = req->read.len };
	struct object *o = objects_by_id(&s->objects, req->obj_id);
	struct request *r;
	int e;

	if (inflight_get(&s->inflight, req->msg_id)) {
		/* A restore brought back a request we still hold: one copy is enough. */
		s->stats.duplicates++;
		return;
	}
	s->stats.reads++;
	if (!o || o->state != OBJECT_OPEN) {
		/* Without the object's anon fd there is nothing to complete it with. */
		log_error("obj %u msg %u: READ for an object we do not hold: ignored", req->obj_id, req->msg_id);
		return;
	}
	s->domains[o->domain].stats.reads++;
	proto.slot = o->slot;
	proto.domain = o->domain;
	proto.read_at_ms = now_ms();
	proto.read_at_us = latency_now_us();
	e = inflight_add(&s->inflight, &proto, &r);
	if (e < 0) {
		log_error_errno(e, "domain %s obj %u msg %u: cannot queue READ: %s", domain_name(s, o->domain),
				req->obj_id, req->msg_id, ERRSTR(e));
		(void)device_read_complete(o->anon_fd, req->msg_id);
		return;
	}
	if (!pool_join_chunk(s, o, r))
		inflight_enqueue(&s->inflight, r, 0);
}

static void take_close(struct supervisor *s, const struct kreq *req)
{
	struct object *o = objects_by_id(&s->objects, req->obj_id);

	s->stats.closes++;
	if (!o) {
		log_debug("obj %u msg %u: CLOSE for an unknown object", req->obj_id, req->msg_id);
		return;
	}
	log_debug("domain %s obj %u msg %u: CLOSE", domain_name(s, o->domain), req->obj_id, req->msg_id);
	object_retire(s, o);
}

/* A malformed OPEN still put an fd in our table: close it and refuse the request. */
static void take_malformed(struct supervisor *s, const struct kreq *req, size_t n)
{
	s->stats.malformed++;
	log_error("msg %u: malformed %s request of %zu bytes from the kernel: refused", req->msg_id,
		  kmsg_opcode_name(req->opcode), n);
	if (req->opcode == CACHEFILES_OP_OPEN && req->open.anon_fd > 2 && req->open.anon_fd != s->dev_fd)
		refuse_open(s, req, -EINVAL);
}

void requests_on_kernel_message(struct supervisor *s, const void *buf, size_t n)
{
	struct kreq req;

	if (kmsg_parse(buf, n, &req) < 0)
		take_malformed(s, &req, n);
	else if (req.opcode == CACHEFILES_OP_OPEN)
		take_open(s, &req);
	else if (req.opcode == CACHEFILES_OP_READ)
		take_read(s, &req);
	else
		take_close(s, &req);
}

/*
 * Makes an open object survive the supervisor: its record first, then its fd
 * (invariant 1: only after copen succeeded). A crash between the two leaves a
 * record without fd, dropped at recovery; the kernel then reopens the object.
 */
static void object_persist(struct supervisor *s, struct object *o)
{
	struct state_record rec = { .obj_id = o->obj_id, .size = o->size, .cookie_len = o->cookie_len };
	char name[32];
	int idx;

	memcpy(rec.cookie, o->cookie, sizeof(rec.cookie));
	memcpy(rec.volume_key, o->volume_key, sizeof(rec.volume_key));
	idx = state_add(&s->state, &rec);
	if (idx < 0) {
		log_error_errno(idx, "domain %s obj %u: cannot record object state: %s", domain_name(s, o->domain),
				o->obj_id, ERRSTR(idx));
		return;
	}
	o->state_idx = idx;
	fdstore_object_name(o->obj_id, name);
	o->in_fdstore = fdstore_push(name, o->anon_fd) == 0 && fdstore_available();
}

void object_retire(struct supervisor *s, struct object *o)
{
	unsigned domain = o->domain;
	char name[32];

	pool_drop_object(s, o);
	if (o->in_fdstore) {
		fdstore_object_name(o->obj_id, name);
		fdstore_remove(name);
	}
	if (o->state_idx >= 0)
		state_clear(&s->state, (uint32_t)o->state_idx);
	objects_remove(&s->objects, o);
	domains_object_gone(s, domain);
}

void request_answer_open(struct supervisor *s, struct request *r, int64_t result)
{
	struct object *o = objects_by_id(&s->objects, r->obj_id);
	int e;

	if (!o || o->slot != r->slot) {
		inflight_remove(&s->inflight, r);
		return;
	}
	e = device_copen(s->dev_fd, r->msg_id, result);
	if (e < 0)
		log_warning_errno(e, "domain %s obj %u msg %u: copen not taken (request cancelled?): %s",
				  domain_name(s, r->domain), r->obj_id, r->msg_id, ERRSTR(e));
	if (e < 0 || result < 0) {
		if (result < 0)
			log_warning_errno((int)result, "domain %s obj %u msg %u: OPEN refused: %s",
					  domain_name(s, r->domain), r->obj_id, r->msg_id, ERRSTR((int)result));
		object_retire(s, o);
	} else {
		objects_set_open(&s->objects, o, (uint64_t)result);
		object_persist(s, o);
	}
	inflight_remove(&s->inflight, r);
}

static const char *read_error_text(int err)
{
	switch (err) {
	case -ENODATA: return "blob ends before the range (truncated blob?)";
	case -ENOBUFS: return "the cache refused the write (cache fs full? cull it or give it room)";
	default: return ERRSTR(err);
	}
}

/* A broken blob fails every READ: say so a few times, then now and then. */
static void log_read_failure(struct supervisor *s, const struct request *r, struct object *o, int err)
{
	uint32_t n = ++o->read_failures;

	if (n > 3 && n % 1000 != 0)
		return;
	log_warning("domain %s obj %u msg %u: READ %" PRIu64 "+%" PRIu64 " failed, the reader gets an error: %s%s",
		    domain_name(s, r->domain), r->obj_id, r->msg_id, r->off, r->len, read_error_text(err),
		    n == 3 ? " (further failures of this object are logged every 1000th)" : "");
}

void request_answer_read(struct supervisor *s, struct request *r, int64_t result)
{
	struct object *o = objects_by_id(&s->objects, r->obj_id);
	int e;

	/* The object may have been closed (and its slot reused) meanwhile. */
	if (o && o->slot == r->slot) {
		if (result < 0) {
			log_read_failure(s, r, o, (int)result);
		} else {
			s->stats.bytes_served += (uint64_t)result;
			s->domains[o->domain].stats.bytes_served += (uint64_t)result;
		}
		if (!s->served_since_start) {
			s->served_since_start = true;
			log_notice("first READ since start answered %" PRIu64 " ms after start", now_ms() - s->started_ms);
		}
		e = device_read_complete(o->anon_fd, r->msg_id);
		if (e < 0)
			log_debug("domain %s obj %u msg %u: READ_COMPLETE not taken: %s", domain_name(s, r->domain),
				  r->obj_id, r->msg_id, strerror(-e));
		else if (result >= 0)
			latency_read_completed(&s->latency, r->read_at_us, latency_now_us());
	}
	inflight_remove(&s->inflight, r);
}

void request_fail(struct supervisor *s, struct request *r, int err)
{
	s->stats.failed_requests++;
	log_error_errno(err, "domain %s obj %u msg %u: giving up on %s after %u worker crashes and %u kills: %s",
			domain_name(s, r->domain), r->obj_id, r->msg_id, kmsg_opcode_name(r->opcode), r->crashes,
			r->kills, ERRSTR(err));
	if (r->opcode == CACHEFILES_OP_OPEN)
		request_answer_open(s, r, err);
	else
		request_answer_read(s, r, err);
}
