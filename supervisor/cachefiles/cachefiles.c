/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cachefiles.h"
#include "transport-state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfs-log.h"
#include "device.h"
#include "fdnames.h"
#include "fdstore.h"
#include "kmsg.h"
#include "recover.h"
#include "requests.h"

#define DEVICE_BATCH 64

/* Refuses an OPEN without involving a worker; the anon fd is ours to close. */
static void refuse_open(struct transport_state *t, const struct kreq *req, int err)
{
	int r = device_copen(t->dev_fd, req->msg_id, err);

	if (r < 0)
		log_warning_errno(r, "obj %u msg %u: copen refusal not taken", req->obj_id, req->msg_id);
	if (req->open.anon_fd >= 0)
		close(req->open.anon_fd);
}

/* The object an OPEN describes, or a reason (logged) to refuse it. */
static int object_of_open(struct supervisor *s, const struct kreq *req, struct object *proto)
{
	char printable[4 * COOKIE_KEY_MAX + 1];
	int domain = s->sink->route(s, req->open.volume_key);

	if (domain < 0) {
		failure_counted(s, -1, FAILURE_UNROUTED);
		log_warning("obj %u msg %u: no domain serves volume '%s': refused", req->obj_id, req->msg_id,
			    req->open.volume_key);
		return -ENOENT;
	}
	if (!cookie_key_is_safe(req->open.cookie, req->open.cookie_len)) {
		s->stats.refused_keys++;
		log_warning("domain %s obj %u msg %u: refusing unsafe blob name '%s' (volume '%s'): "
			    "a blob name must be one printable path component",
			    domain_name(s, (unsigned)domain), req->obj_id, req->msg_id,
			    key_printable(req->open.cookie, req->open.cookie_len, printable), req->open.volume_key);
		return -EINVAL;
	}
	*proto = (struct object){ .obj_id = req->obj_id,
				  .anon_fd = req->open.anon_fd,
				  .state = OBJECT_OPENING,
				  .state_idx = -1,
				  .key_len = req->open.cookie_len,
				  .domain = (unsigned)domain };
	memcpy(proto->key, req->open.cookie, sizeof(proto->key));
	memcpy(proto->volume, req->open.volume_key, sizeof(proto->volume));
	return 0;
}

static void take_open(struct supervisor *s, struct transport_state *t, const struct kreq *req)
{
	struct request proto = { .msg_id = req->msg_id, .kind = REQ_LOOKUP, .obj_id = req->obj_id };
	struct object proto_object, *o;
	struct request *r;
	int e;

	/* The kernel installs the anon fd without close-on-exec: no worker may inherit it. */
	fcntl(req->open.anon_fd, F_SETFD, FD_CLOEXEC);
	s->stats.opens++;
	e = object_of_open(s, req, &proto_object);
	if (e < 0) {
		refuse_open(t, req, e);
		return;
	}
	o = objects_by_id(&s->objects, req->obj_id);
	if (o) {
		/* The kernel reuses ids only of objects it closed: ours is stale (its CLOSE was lost). */
		log_notice("domain %s obj %u: replacing a stale object of the same id", domain_name(s, o->domain),
			   req->obj_id);
		s->sink->retire(s, o);
	}
	if (s->objects.count >= s->cfg.max_objects) {
		failure_counted(s, (int)proto_object.domain, FAILURE_MAX_OBJECTS);
		log_warning("domain %s obj %u msg %u: refusing OPEN: %u objects are open, the most max_objects "
			    "allows (raise it in [cache], with FileDescriptorStoreMax= in the unit)",
			    domain_name(s, proto_object.domain), req->obj_id, req->msg_id, s->objects.count);
		refuse_open(t, req, -ENFILE);
		return;
	}
	e = objects_insert(&s->objects, &proto_object, &o);
	if (e < 0) {
		log_error_errno(e, "domain %s obj %u msg %u: cannot track object", domain_name(s, proto_object.domain),
				req->obj_id, req->msg_id);
		refuse_open(t, req, -ENOMEM);
		return;
	}
	proto.obj_handle = o->handle;
	proto.domain = o->domain;
	proto.read_at_ms = now_ms();
	e = inflight_add(&s->inflight, &proto, &r);
	if (e < 0) {
		o->anon_fd = -1; /* refuse_open closes it */
		objects_remove(&s->objects, o);
		refuse_open(t, req, e);
		return;
	}
	log_debug("domain %s obj %u msg %u: OPEN %s/%s", domain_name(s, o->domain), req->obj_id, req->msg_id, o->volume,
		  key_printable(o->key, o->key_len, (char[4 * COOKIE_KEY_MAX + 1]){ 0 }));
	s->sink->submit(s, o, r);
}

static void take_read(struct supervisor *s, const struct kreq *req)
{
	struct request proto = { .msg_id = req->msg_id,
				 .kind = REQ_FILL,
				 .obj_id = req->obj_id,
				 .off = req->read.off,
				 .len = req->read.len };
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
	proto.obj_handle = o->handle;
	proto.domain = o->domain;
	proto.read_at_ms = now_ms();
	proto.read_at_us = clock_now_us();
	e = inflight_add(&s->inflight, &proto, &r);
	if (e < 0) {
		log_error_errno(e, "domain %s obj %u msg %u: cannot queue READ", domain_name(s, o->domain), req->obj_id,
				req->msg_id);
		(void)device_read_complete(o->anon_fd, req->msg_id);
		return;
	}
	if (culler_pace_read(s, &s->transport_state->culler, r))
		return;
	s->sink->submit(s, o, r);
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
	s->sink->retire(s, o);
}

/* A malformed OPEN still put an fd in our table: close it and refuse the request. */
static void take_malformed(struct supervisor *s, struct transport_state *t, const struct kreq *req, size_t n)
{
	s->stats.malformed++;
	log_error("msg %u: malformed %s request of %zu bytes from the kernel: refused", req->msg_id,
		  kmsg_opcode_name(req->opcode), n);
	if (req->opcode == CACHEFILES_OP_OPEN && req->open.anon_fd > 2 && req->open.anon_fd != t->dev_fd)
		refuse_open(t, req, -EINVAL);
}

static void take_message(struct supervisor *s, struct transport_state *t, const void *buf, size_t n)
{
	struct kreq req;

	if (kmsg_parse(buf, n, &req) < 0)
		take_malformed(s, t, &req, n);
	else if (req.opcode == CACHEFILES_OP_OPEN)
		take_open(s, t, &req);
	else if (req.opcode == CACHEFILES_OP_READ)
		take_read(s, &req);
	else
		take_close(s, &req);
}

static void cachefiles_on_event(struct supervisor *s)
{
	/* Aligned and a page long: room for any request (CACHEFILES_MSG_MAX_SIZE). */
	static uint64_t buf[4096 / sizeof(uint64_t)];
	_Static_assert(sizeof(buf) >= CACHEFILES_MSG_MAX_SIZE, "a read holds any request");
	struct transport_state *t = s->transport_state;

	for (int i = 0; i < DEVICE_BATCH; i++) {
		ssize_t n = device_read(t->dev_fd, buf, sizeof(buf));
		if (n == 0)
			return;
		if (n == -EINTR)
			continue;
		if (n < 0) {
			log_error_errno((int)n, "Reading %s failed", s->cfg.device_path);
			return;
		}
		take_message(s, t, buf, (size_t)n);
	}
}

/*
 * Makes an open object survive the supervisor: its record first, then its fd
 * (invariant 1: only after copen succeeded). A crash between the two leaves a
 * record without fd, dropped at recovery; the kernel then reopens the object.
 */
static void object_persist(struct supervisor *s, struct transport_state *t, struct object *o)
{
	struct state_record rec = { .obj_id = o->obj_id, .size = o->size, .cookie_len = o->key_len };
	char name[32];
	int idx;

	memcpy(rec.cookie, o->key, sizeof(rec.cookie));
	memcpy(rec.volume_key, o->volume, sizeof(rec.volume_key));
	idx = state_add(&t->state, &rec);
	if (idx < 0) {
		log_error_errno(idx, "domain %s obj %u: cannot record object state", domain_name(s, o->domain),
				o->obj_id);
		return;
	}
	o->state_idx = idx;
	state_fdname(&t->state, (uint32_t)idx, name);
	o->in_fdstore = fdstore_push(name, o->anon_fd) == 0 && fdstore_available();
}

static void cachefiles_forget_object(struct supervisor *s, struct object *o)
{
	struct transport_state *t = s->transport_state;
	char name[32];

	if (o->in_fdstore && o->state_idx >= 0) {
		state_fdname(&t->state, (uint32_t)o->state_idx, name);
		fdstore_remove(name);
	}
	if (o->state_idx >= 0)
		state_clear(&t->state, (uint32_t)o->state_idx);
	culler_object_closed(&t->culler, o);
}

static void cachefiles_lookup_done(struct supervisor *s, struct request *r, int64_t result)
{
	struct transport_state *t = s->transport_state;
	struct object *o = objects_by_id(&s->objects, r->obj_id);
	int e;

	if (!o || o->handle != r->obj_handle) {
		inflight_remove(&s->inflight, r);
		return;
	}
	request_lookup_counted(s, r, result);
	e = device_copen(t->dev_fd, r->msg_id, result);
	if (e < 0)
		log_warning_errno(e, "domain %s obj %u msg %u: copen not taken (request cancelled?)",
				  domain_name(s, r->domain), r->obj_id, r->msg_id);
	if (e < 0 || result < 0) {
		if (result < 0)
			log_warning_errno((int)result, "domain %s obj %u msg %u: OPEN refused",
					  domain_name(s, r->domain), r->obj_id, r->msg_id);
		s->sink->retire(s, o);
	} else {
		objects_set_open(&s->objects, o, (uint64_t)result);
		object_persist(s, t, o);
	}
	inflight_remove(&s->inflight, r);
}

static void refused_for_space(struct supervisor *s, const struct request *r)
{
	char what[160];

	snprintf(what, sizeof(what), "READ %" PRIu64 "+%" PRIu64 " of domain %s obj %u", r->off, r->len,
		 domain_name(s, r->domain), r->obj_id);
	culler_write_refused(s, &s->transport_state->culler, what);
}

static void cachefiles_fill_done(struct supervisor *s, struct request *r, int64_t result)
{
	struct object *o = objects_by_id(&s->objects, r->obj_id);
	int e;

	/* The object may have been closed (and its handle reused) meanwhile. */
	if (o && o->handle == r->obj_handle) {
		if (result == -ENOBUFS && culler_hold_refused(s, &s->transport_state->culler, r))
			return; /* sent again once culling made room */
		request_fill_counted(s, r, o, result);
		if (result == -ENOBUFS)
			refused_for_space(s, r);
		e = device_read_complete(o->anon_fd, r->msg_id);
		if (e < 0)
			log_debug("domain %s obj %u msg %u: READ_COMPLETE not taken: %s", domain_name(s, r->domain),
				  r->obj_id, r->msg_id, strerror(-e));
		else if (result >= 0)
			latency_read_completed(&s->latency, r->read_at_us, clock_now_us(), s->space.culling);
	}
	inflight_remove(&s->inflight, r);
}

static void cachefiles_on_aux_event(struct supervisor *s, unsigned index)
{
	culler_on_event(s, &s->transport_state->culler, s->transport_state->dev_fd, index);
}

static void cachefiles_worker_lost(struct supervisor *s)
{
	/* Belt and braces: the kernel re-sends what is unfinished; duplicates are matched by msg_id. */
	s->transport_state->restore_wanted = true;
}

/*
 * restore re-marks every unfinished request NEW; re-reading an OPEN whose anon
 * fd is alive fails it with EEXIST, so restore waits until no OPEN we read is
 * still waiting for its copen (invariant 2).
 */
static void cachefiles_settle(struct supervisor *s)
{
	struct transport_state *t = s->transport_state;
	int r;

	culler_settle(s, &t->culler, t->dev_fd);
	if (!t->restore_wanted || s->objects.opening > 0)
		return;
	t->restore_wanted = false;
	r = device_restore(t->dev_fd);
	if (r < 0) {
		log_warning_errno(r, "restore failed (kernel older than 6.8?)");
		return;
	}
	s->stats.restores++;
}

/* A fresh cache: bind, then store the device at once (invariant 4). */
static int bind_fresh(struct supervisor *s, struct transport_state *t)
{
	int r;

	t->dev_fd = device_open(s->cfg.device_path);
	if (t->dev_fd < 0)
		return t->dev_fd;
	r = device_bind(t->dev_fd, s->cfg.cache_dir, s->cfg.tag, &s->cfg.space);
	if (r < 0)
		return r;
	return fdstore_push(FDNAME_DEVICE, t->dev_fd);
}

static int ensure_state(struct transport_state *t)
{
	int r;

	if (t->state.fd >= 0)
		return 0;
	r = state_create(&t->state);
	if (r < 0)
		return log_error_errno(r, "Cannot create the state memfd");
	return fdstore_push(FDNAME_STATE, t->state.fd);
}

static int cachefiles_start(struct supervisor *s)
{
	struct transport_state *t = s->transport_state;
	int recovered = recover_from_listen_fds(s, t), r;

	if (recovered < 0)
		return recovered;
	r = ensure_state(t);
	if (r < 0)
		return r;
	if (t->dev_fd < 0) {
		r = bind_fresh(s, t);
		if (r < 0)
			return r;
	} else {
		/* The kernel re-sends what our predecessor read but never answered. */
		t->restore_wanted = true;
		s->resumed = true;
	}
	s->starts = state_count_start(&t->state);
	return recovered;
}

static int cachefiles_event_fd(const struct supervisor *s)
{
	return s->transport_state->dev_fd;
}

/*
 * What the successor may hold: only objects whose copen succeeded
 * (invariant 1). An OPEN still waiting for its copen loses its anon fd here,
 * so the restore the successor writes can re-deliver it (re-reading an OPEN
 * whose anon fd is alive would fail it with EEXIST).
 */
static int cachefiles_hand_over(struct supervisor *s, transport_pass_fd pass, void *ctx)
{
	struct transport_state *t = s->transport_state;
	char name[32];
	int r = pass(ctx, t->dev_fd, FDNAME_DEVICE);

	if (r == 0)
		r = pass(ctx, t->state.fd, FDNAME_STATE);
	for (uint32_t i = 0; r == 0 && i < s->objects.n_handles; i++) {
		struct object *o = s->objects.by_handle[i];
		if (!o)
			continue;
		/* Not passed, it closes at exec (every fd of ours is close-on-exec). */
		if (o->state != OBJECT_OPEN || o->state_idx < 0)
			continue;
		state_fdname(&t->state, (uint32_t)o->state_idx, name);
		r = pass(ctx, o->anon_fd, name);
	}
	return r;
}

static int cachefiles_init(struct supervisor *s)
{
	struct transport_state *t = calloc(1, sizeof(*t));

	if (!t)
		return log_error_errno(-ENOMEM, "Out of memory");
	t->dev_fd = -EBADF;
	t->state.fd = -EBADF;
	t->culler.cache_fd = t->culler.cwd_fd = t->culler.timer_fd = t->culler.signal_fd = -EBADF;
	s->transport_state = t;
	return 0;
}

static void cachefiles_free(struct supervisor *s)
{
	struct transport_state *t = s->transport_state;

	if (!t)
		return;
	culler_free(&t->culler);
	state_free(&t->state);
	if (t->dev_fd >= 0)
		close(t->dev_fd);
	free(t);
	s->transport_state = NULL;
}

const struct transport_ops cachefiles_transport = {
	.name = "cachefiles",
	.init = cachefiles_init,
	.start = cachefiles_start,
	.event_fd = cachefiles_event_fd,
	.on_event = cachefiles_on_event,
	.lookup_done = cachefiles_lookup_done,
	.fill_done = cachefiles_fill_done,
	.worker_lost = cachefiles_worker_lost,
	.on_aux_event = cachefiles_on_aux_event,
	.settle = cachefiles_settle,
	.forget_object = cachefiles_forget_object,
	.hand_over = cachefiles_hand_over,
	.free = cachefiles_free,
};
