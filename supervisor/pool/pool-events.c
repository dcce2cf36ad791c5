/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What workers send, and how they end. Nothing a worker sends is trusted
 * (invariant 8): a message that is not well framed, not expected now, or
 * about a request the worker does not hold gets the worker killed; its
 * requests go to the others.
 */
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "connect.h"
#include "pool.h"
#include "pool-chunks.h"
#include "pool-held.h"
#include "reply.h"
#include "requests.h"
#include "wire-io.h"

struct handler_ctx {
	struct supervisor *s;
	struct domain *d;
	unsigned slot;
	struct worker *w;
};

/* Returns NULL, or a reason (static string) to kill the worker. */
typedef const char *(*handler_fn)(struct handler_ctx *c, const struct worker_reply *m);

/* The request named by a reply must be one this worker holds, of that kind. */
static struct request *held_request(struct handler_ctx *c, uint32_t msg_id, enum request_kind kind)
{
	struct request *r = inflight_get(&c->s->inflight, msg_id);
	unsigned di = (unsigned)(c->d - c->s->domains);

	if (!r || r->worker != (int)c->slot || r->domain != di || r->kind != kind)
		return NULL;
	if (c->w->outstanding > 0)
		c->w->outstanding--;
	pool_work_out(c->s, r->obj_id, r->obj_handle, -1);
	return r;
}

static const char *on_hello(struct handler_ctx *c, const struct worker_reply *m)
{
	if (c->w->state != WORKER_STARTING)
		return "HELLO twice";
	memcpy(c->w->version, m->version, sizeof(c->w->version));
	c->w->state = WORKER_READY;
	/* It got as far as serving: whatever killed its predecessors is not a start-up loop. */
	c->d->backoff_ms = 0;
	log_debug("domain %s worker %u (pid %d): ready, version %s", c->d->name, c->slot, (int)c->w->pid,
		  c->w->version);
	if (strcmp(c->d->worker_version, c->w->version) != 0) {
		log_notice("domain %s: workers run version %s", c->d->name, c->w->version);
		memcpy(c->d->worker_version, c->w->version, sizeof(c->d->worker_version));
	}
	return NULL;
}

static const char *on_open_done(struct handler_ctx *c, const struct worker_reply *m)
{
	struct request *r = held_request(c, m->msg_id, REQ_LOOKUP);

	if (!r)
		return "OPEN_DONE for a request it does not hold";
	c->s->transport->lookup_done(c->s, r, m->result);
	return NULL;
}

static const char *on_read_done(struct handler_ctx *c, const struct worker_reply *m)
{
	struct request *r = held_request(c, m->msg_id, REQ_FILL);
	struct object *o;

	if (!r)
		return "READ_DONE for a request it does not hold";
	o = objects_by_id(&c->s->objects, r->obj_id);
	if (o && o->handle == r->obj_handle && !reply_read_count_fits(m->result, r->off, r->len, o->size, r->fill_len))
		return "READ_DONE with a byte count that does not fit its fill range";
	c->s->transport->fill_done(c->s, r, m->result);
	return NULL;
}

static const char *on_prefetch_done(struct handler_ctx *c, const struct worker_reply *m)
{
	return pool_chunk_answered(c->s, c->d, c->slot, m->msg_id, m->result);
}

static const char *on_connect(struct handler_ctx *c, const struct worker_reply *m)
{
	return pool_connect_request(c->s, c->d, c->slot, &m->connect);
}

static const char *on_fetch_stats(struct handler_ctx *c, const struct worker_reply *m)
{
	const struct wire_fetch_stats *f = &m->fetch_stats;
	struct origin_stats *o = &c->d->stats.origin;

	if (c->d->settings.remote.origin.kind == ORIGIN_NONE)
		return "FETCH_STATS from a local domain's worker";
	o->bytes += f->bytes;
	o->requests += f->requests;
	o->connects += f->connects;
	o->retries += f->retries;
	o->failures += f->failures;
	o->bad_chunks += f->bad_chunks;
	return NULL;
}

static const struct {
	uint16_t type;
	handler_fn fn;
} handlers[] = {
	{ WIRE_HELLO, on_hello },	  { WIRE_OPEN_DONE, on_open_done },
	{ WIRE_READ_DONE, on_read_done }, { WIRE_PREFETCH_DONE, on_prefetch_done },
	{ WIRE_CONNECT, on_connect },	  { WIRE_FETCH_STATS, on_fetch_stats },
};

static const char *handle(struct handler_ctx *c, const union wire_msg *raw, ssize_t n, unsigned nfds)
{
	struct worker_reply m;
	const char *why;

	if (reply_parse(raw, (size_t)n, nfds, &m, &why) < 0)
		return why;
	if (c->w->state != WORKER_READY && m.type != WIRE_HELLO)
		return "message before HELLO";
	for (size_t i = 0; i < ARRAY_SIZE(handlers); i++)
		if (handlers[i].type == m.type)
			return handlers[i].fn(c, &m);
	return "message type a worker may not send";
}

void pool_on_message(struct supervisor *s, struct domain *d, unsigned slot)
{
	struct handler_ctx c = { s, d, slot, &d->workers[slot] };

	/* Any event on the socket may be room for what waits (EPOLLOUT). */
	pool_flush(s, d, slot);
	/* Bounded: one busy worker must not starve the device and the others. */
	for (int budget = 64; budget > 0 && c.w->state != WORKER_EMPTY && !c.w->dying; budget--) {
		union wire_msg m;
		unsigned nfds;
		int fd;
		ssize_t n = wire_recv(c.w->sock, &m, &fd, &nfds, MSG_DONTWAIT);
		const char *why;

		if (fd >= 0)
			close(fd); /* workers never pass fds; wire_check_frame refuses it below */
		if (n == -EAGAIN || n == -EINTR)
			return;
		if (n == 0 || n == -ECONNRESET) {
			/* Exiting, or broken: either way its pidfd tells how it ends. */
			pool_hung_up(s, d, slot);
			return;
		}
		why = n < 0 ? "its socket failed" : handle(&c, &m, n, nfds);
		if (!why)
			continue;
		if (n > 0)
			s->stats.violations++;
		pool_kill(s, d, slot, why);
		return;
	}
}

/*
 * What a dead worker sent before it died: the answers count, and then the
 * oldest request it still holds is the one it died on (requeue_held()).
 * Not from a worker we killed: we stopped believing it.
 */
static void read_last_words(struct supervisor *s, struct domain *d, unsigned slot)
{
	struct handler_ctx c = { s, d, slot, &d->workers[slot] };

	if (c.w->killed_by_us || c.w->state != WORKER_READY)
		return;
	/* Bounded by its socket's buffer: it sends no more. */
	for (;;) {
		union wire_msg m;
		unsigned nfds;
		int fd;
		ssize_t n = wire_recv(c.w->sock, &m, &fd, &nfds, MSG_DONTWAIT);

		if (fd >= 0)
			close(fd);
		if (n <= 0 || handle(&c, &m, n, nfds))
			return;
	}
}

/* Did the worker die of something its requests may have caused? */
static bool death_is_suspect(const struct worker *w, const siginfo_t *si)
{
	if (w->killed_by_us)
		return true; /* hung past the timeout, or broke the protocol */
	/* A SIGKILL we did not send came from outside (OOM killer, an operator). */
	return !(si->si_code == CLD_KILLED && si->si_status == SIGKILL);
}

static void describe_death(const siginfo_t *si, char *buf, size_t size)
{
	if (si->si_code == CLD_EXITED)
		snprintf(buf, size, "exited with status %d", si->si_status);
	else
		snprintf(buf, size, "killed by signal %s",
			 sigabbrev_np(si->si_status) ? sigabbrev_np(si->si_status) : "?");
}

/* The request of domain di held by slot that went to it first (oldest) or last; NULL if none. */
static struct request *held_by(const struct supervisor *s, unsigned di, unsigned slot, bool oldest)
{
	const struct idmap *m = &s->inflight.by_msg_id;
	struct request *found = NULL;

	for (size_t i = 0; i < m->capacity; i++) {
		struct request *r = m->entries[i].value;
		if (!r || r->domain != di || r->worker != (int)slot)
			continue;
		if (!found || (oldest ? r->sent_seq < found->sent_seq : r->sent_seq > found->sent_seq))
			found = r;
	}
	return found;
}

/*
 * Gives the dead worker's requests back to the queue, or fails a poison one.
 * A worker takes its socket in order and answers one request at a time, so
 * it died on the oldest one it held: only that one is charged the crash (or
 * the kill). The others never ran; charging them too failed good READs next
 * to a poison one (issue 17). They go back first in line, in the order they
 * were sent.
 */
static void requeue_held(struct supervisor *s, unsigned di, unsigned slot, bool suspect)
{
	struct request *r = held_by(s, di, slot, true);

	if (r) {
		if (suspect)
			r->crashes++;
		else
			r->kills++;
		if (r->crashes >= s->cfg.crash_limit || r->kills >= s->cfg.kill_limit) {
			pool_work_out(s, r->obj_id, r->obj_handle, -1);
			request_fail(s, r, -EIO);
		}
	}
	/* Youngest first, each to the head: the oldest ends up first. */
	while ((r = held_by(s, di, slot, false))) {
		pool_work_out(s, r->obj_id, r->obj_handle, -1);
		inflight_enqueue(&s->inflight, r, 1);
	}
}

/* Logs and counts a death; retired workers leaving are routine. */
static void note_death(struct supervisor *s, struct domain *d, unsigned slot, const siginfo_t *si, bool suspect)
{
	struct worker *w = &d->workers[slot];
	int prio = w->retiring ? LOG_INFO : suspect ? LOG_WARNING : LOG_NOTICE;
	char how[64];

	describe_death(si, how, sizeof(how));
	log_full_errno(prio, 0, "domain %s worker %u (pid %d%s) %s with %u requests", d->name, slot, (int)w->pid,
		       w->retiring ? ", retired" : "", how, w->outstanding);
	if (w->retiring)
		return;
	s->stats.deaths++;
	d->stats.deaths++;
	latency_worker_died(&s->latency, w->pid, clock_now_us());
}

/* Empties the slot: fds closed, its chunk handed back, no object adopted by it any more. */
static void empty_slot(struct supervisor *s, struct domain *d, unsigned slot, bool suspect)
{
	struct worker *w = &d->workers[slot];

	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, w->sock, NULL);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, w->pidfd, NULL);
	close(w->sock);
	close(w->pidfd);
	w->sock = w->pidfd = -EBADF;
	pool_chunk_lost(s, d, w, suspect);
	w->state = WORKER_EMPTY;
	w->outstanding = 0;
	w->retiring = false;
	pool_forget_backlog(w);
	pool_held_forget(s, w, slot);
}

/* When the slot starts a worker again: at once, soon, or after a backoff (a start-up loop). */
static void plan_respawn(struct domain *d, unsigned slot, bool had_started, bool suspect)
{
	struct worker *w = &d->workers[slot];

	if (!pool_want_freed_slot(d, slot))
		return; /* old generation or shrunk domain: the slot stays free */
	if (had_started || !suspect) {
		w->respawn_at_ms = had_started ? 0 : now_ms() + POOL_BACKOFF_MIN_MS;
		return;
	}
	/* A worker that fails on its own before HELLO is a start-up loop: back off. */
	w->respawn_at_ms = pool_backoff(d);
	log_warning("domain %s worker %u died before it was ready: next start in %u ms", d->name, slot, d->backoff_ms);
}

void pool_on_death(struct supervisor *s, struct domain *d, unsigned slot)
{
	struct worker *w = &d->workers[slot];
	siginfo_t si = { 0 };
	bool suspect, had_started;
	unsigned held;

	if (w->state == WORKER_EMPTY || waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	read_last_words(s, d, slot);
	suspect = death_is_suspect(w, &si) && !w->retiring;
	had_started = w->state == WORKER_READY;
	held = w->outstanding;
	note_death(s, d, slot, &si, suspect);
	empty_slot(s, d, slot, suspect);
	requeue_held(s, (unsigned)(d - s->domains), slot, suspect);
	plan_respawn(d, slot, had_started, suspect);
	if (held > 0)
		s->transport->worker_lost(s);
}
