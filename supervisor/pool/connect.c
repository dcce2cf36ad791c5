/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "connect.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "cfs-log.h"
#include "cfs-util.h"
#include "connect-check.h"
#include "pool.h"
#include "sandbox.h"
#include "wire-io.h"

/* A connect may take this long at most; the worker's own deadline (fetch_deadline) bounds what it waits. */
#define CONNECT_TIMEOUT_MS 10000
#define BROKER_RESTART_MS 1000
#define BROKER_USER "cachefiles-broker"

static void answer(struct supervisor *s, struct domain *d, unsigned slot, uint32_t conn_id, int result,
		   const char *peer, int fd)
{
	struct wire_connected out = { .conn_id = conn_id, .result = result };
	int r;

	wire_init(&out.hdr, WIRE_CONNECTED);
	if (peer)
		snprintf(out.peer, sizeof(out.peer), "%s", peer);
	r = wire_send(d->workers[slot].sock, &out, sizeof(out), result == 0 ? fd : -1);
	if (r < 0)
		pool_send_failed(s, d, slot, r);
	else if (result == 0)
		s->broker.connects++;
}

/*
 * The broker's own user (the sysusers.d entry makes it): a worker that got
 * out of its filter would share no uid with it, so it could neither signal
 * nor trace the one process that may connect. Without it (an older
 * install, a test run), the asking domain's worker user.
 */
static const char *broker_user(const struct domain *d, uid_t *uid, gid_t *gid)
{
	if (sandbox_lookup_user(BROKER_USER, uid, gid) == 0)
		return BROKER_USER;
	log_notice("no user " BROKER_USER " (cachefiles-supervisor.sysusers makes it): the connection broker "
		   "runs as domain %s's worker user %s",
		   d->name, d->sandbox.user);
	*uid = d->sandbox.uid;
	*gid = d->sandbox.gid;
	return d->sandbox.user;
}

static int broker_ensure(struct supervisor *s, const struct domain *d)
{
	struct broker_state *b = &s->broker;
	struct epoll_event ev = { .events = EPOLLIN };
	const char *user;
	uid_t uid;
	gid_t gid;
	int r;

	if (b->pid > 0)
		return 0;
	if (b->started_ms && now_ms() - b->started_ms < BROKER_RESTART_MS)
		return -ENETDOWN;
	b->started_ms = now_ms();
	user = broker_user(d, &uid, &gid);
	r = broker_start(uid, gid, &b->pid, &b->pidfd, &b->sock);
	if (r < 0)
		return r;
	ev.data.u64 = EV_TAG(EV_BROKER, 0, 0);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, b->sock, &ev);
	ev.data.u64 = EV_TAG(EV_BROKER, 0, 1);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, b->pidfd, &ev);
	log_info("connection broker started (pid %d, user %s, uid %u)", (int)b->pid, user, (unsigned)uid);
	return 0;
}

static struct pending_connect *pending_free(struct broker_state *b, unsigned di, unsigned slot, pid_t pid,
					    unsigned *theirs)
{
	struct pending_connect *free_one = NULL;

	*theirs = 0;
	for (size_t i = 0; i < ARRAY_SIZE(b->pending); i++) {
		struct pending_connect *p = &b->pending[i];
		if (p->id == 0 && !free_one)
			free_one = p;
		else if (p->id != 0 && p->domain == di && p->slot == slot && p->pid == pid)
			(*theirs)++;
	}
	return free_one;
}

const char *pool_connect_request(struct supervisor *s, struct domain *d, unsigned slot, const struct wire_connect *m)
{
	static char why[WIRE_HOST_MAX + 128];
	const struct remote_settings *rs = &d->settings.remote;
	struct broker_state *b = &s->broker;
	struct broker_request rq = { .timeout_ms = CONNECT_TIMEOUT_MS };
	struct connect_target to;
	struct pending_connect *p;
	unsigned di = (unsigned)(d - s->domains), theirs;
	int r = connect_check(rs, m, &to, why, sizeof(why));

	if (r == -EPROTO)
		return why;
	if (r < 0) {
		log_error("domain %s worker %u: connection refused: %s", d->name, slot, why);
		b->refused++;
		answer(s, d, slot, m->conn_id, r, NULL, -1);
		return NULL;
	}
	p = pending_free(b, di, slot, d->workers[slot].pid, &theirs);
	r = !p || theirs >= CONNECTS_PER_WORKER ? -EAGAIN : broker_ensure(s, d);
	if (r == 0) {
		rq.id = ++b->last_id ? b->last_id : ++b->last_id;
		/* The configured name: loopback only when the config itself names it by address. */
		snprintf(rq.host, sizeof(rq.host), "%s", to.host);
		rq.port = to.port;
		rq.local_ok = broker_host_is_local_literal(to.host);
		r = send(b->sock, &rq, sizeof(rq), MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(rq) ? 0 : -EAGAIN;
	}
	if (r < 0) {
		log_warning_errno(r, "domain %s worker %u: connection to %s:%u refused for now", d->name, slot, m->host,
				  m->port);
		b->refused++;
		answer(s, d, slot, m->conn_id, r, NULL, -1);
		return NULL;
	}
	*p = (struct pending_connect){
		.id = rq.id, .domain = di, .slot = slot, .pid = d->workers[slot].pid, .conn_id = m->conn_id
	};
	return NULL;
}

/* The worker that asked, if it is still the one in its slot and takes messages. */
static struct domain *asker(struct supervisor *s, const struct pending_connect *p)
{
	struct domain *d = p->domain < s->n_domains ? &s->domains[p->domain] : NULL;
	const struct worker *w = d && p->slot < WORKER_SLOTS ? &d->workers[p->slot] : NULL;

	return w && w->pid == p->pid && w->state == WORKER_READY && !w->dying ? d : NULL;
}

static void on_answer(struct supervisor *s, const struct broker_answer *a, int fd)
{
	struct broker_state *b = &s->broker;

	for (size_t i = 0; i < ARRAY_SIZE(b->pending); i++) {
		struct pending_connect p = b->pending[i];
		struct domain *d;
		if (p.id != a->id)
			continue;
		b->pending[i].id = 0;
		d = asker(s, &p);
		if (!d)
			return;
		if (a->result < 0)
			log_warning_errno(a->result < -4095 ? -EIO : a->result,
					  "domain %s worker %u: the broker could not connect", d->name, p.slot);
		answer(s, d, p.slot, p.conn_id, a->result < -4095 || a->result > 0 ? -EIO : a->result, a->peer, fd);
		return;
	}
}

/* Every waiting worker is told the broker is gone; they retry within their deadline. */
static void broker_gone(struct supervisor *s)
{
	struct broker_state *b = &s->broker;

	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, b->sock, NULL);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, b->pidfd, NULL);
	close(b->sock);
	close(b->pidfd);
	b->sock = b->pidfd = -EBADF;
	b->pid = 0;
	for (size_t i = 0; i < ARRAY_SIZE(b->pending); i++) {
		struct pending_connect p = b->pending[i];
		struct domain *d;
		b->pending[i].id = 0;
		if (p.id && (d = asker(s, &p)))
			answer(s, d, p.slot, p.conn_id, -ENETDOWN, NULL, -1);
	}
}

void pool_broker_on_event(struct supervisor *s, unsigned index)
{
	struct broker_state *b = &s->broker;
	siginfo_t si = { 0 };

	if (b->pid <= 0)
		return;
	for (int budget = 64; index == 0 && budget > 0; budget--) {
		union wire_msg raw;
		struct broker_answer a;
		unsigned nfds;
		int fd;
		ssize_t n = wire_recv(b->sock, &raw, &fd, &nfds, MSG_DONTWAIT);

		if (n == -EAGAIN || n == -EINTR)
			return;
		if (n != (ssize_t)sizeof(a) || nfds > 1) {
			if (fd >= 0)
				close(fd);
			if (n != 0)
				log_error("connection broker: a malformed answer (%zd bytes, %u fds): stopping it", n,
					  nfds);
			/* Its pidfd reports the end; the socket would only repeat its EOF meanwhile. */
			epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, b->sock, NULL);
			kill(b->pid, SIGKILL);
			break;
		}
		memcpy(&a, &raw, sizeof(a));
		a.peer[sizeof(a.peer) - 1] = '\0';
		if ((a.result == 0) != (fd >= 0)) {
			if (fd >= 0)
				close(fd);
			a.result = -EIO;
			fd = -EBADF;
		}
		on_answer(s, &a, fd);
		if (fd >= 0)
			close(fd);
	}
	if (waitid(P_PIDFD, (id_t)b->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	log_error("connection broker (pid %d) ended (code %d, status %d): started again at the next connection",
		  (int)b->pid, si.si_code, si.si_status);
	broker_gone(s);
}
