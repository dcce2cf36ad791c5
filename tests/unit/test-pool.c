/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker pool against fake workers: each is a socketpair whose far end
 * this test holds (it reads what the pool sends, and can close it) and a
 * child process that only waits, so the pidfd, waitid() and the death
 * handling are the real ones. A fake transport records the answers. No
 * sandbox, no /dev/cachefiles.
 *
 * Run with a test's name to run only that one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "inflight.h"
#include "pool-chunks.h"
#include "pool-held.h"
#include "pool.h"
#include "wire-io.h"

int cfs_log_max_priority = 2;

#define N_DOMAINS 2

static struct supervisor s;
static struct domain domains[N_DOMAINS];
static int peer[N_DOMAINS][WORKER_SLOTS]; /* the worker's end of each fake worker's socket */
static unsigned failed, filled, lost;	  /* what the fake transport was told */
static uint32_t failed_msg_id;

static void fake_fill_done(struct supervisor *sv, struct request *r, int64_t result)
{
	if (result < 0) {
		failed++;
		failed_msg_id = r->msg_id;
	} else {
		filled++;
	}
	inflight_remove(&sv->inflight, r);
}

static void fake_lookup_done(struct supervisor *sv, struct request *r, int64_t result)
{
	fake_fill_done(sv, r, result < 0 ? result : 0);
}

static void fake_worker_lost(struct supervisor *sv)
{
	(void)sv;
	lost++;
}

static const struct transport_ops fake_transport = {
	.name = "fake",
	.lookup_done = fake_lookup_done,
	.fill_done = fake_fill_done,
	.worker_lost = fake_worker_lost,
};

/* A process that waits to be killed: what the pidfd watches. */
static pid_t waiting_child(void)
{
	int ready[2];
	char c;
	pid_t pid;

	CHECK(pipe2(ready, O_CLOEXEC) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* Holding no end of any socket: closing ours must be seen as EOF. */
		syscall(SYS_close_range, 3, ready[1] - 1, 0);
		syscall(SYS_close_range, ready[1] + 1, ~0U, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		(void)!write(ready[1], "", 1);
		close(ready[1]);
		for (;;)
			pause();
	}
	close(ready[1]);
	/* Only once it closed them. */
	CHECK(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	return pid;
}

/* A fake worker in domain di, slot i, as worker_spawn() and a HELLO would leave it. */
static void fake_worker(unsigned di, unsigned i, enum worker_state state, bool wanted)
{
	struct domain *d = &domains[di];
	struct worker *w = &d->workers[i];
	struct epoll_event ev = { .events = EPOLLIN };
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	*w = (struct worker){ .state = state, .wanted = wanted, .sock = sv[0] };
	w->pid = waiting_child();
	w->pidfd = (int)syscall(SYS_pidfd_open, w->pid, 0);
	CHECK(w->pidfd >= 0);
	ev.data.u64 = EV_TAG(EV_WORKER_SOCK, di, i);
	CHECK(epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, w->sock, &ev) == 0);
	ev.data.u64 = EV_TAG(EV_WORKER_PIDFD, di, i);
	CHECK(epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, w->pidfd, &ev) == 0);
	peer[di][i] = sv[1];
}

/* Fake workers for every wanted slot that has none: what pool_respawn_due() would start. */
static unsigned spawn_wanted(unsigned di, enum worker_state state)
{
	unsigned n = 0;

	for (unsigned i = 0; i < WORKER_SLOTS; i++)
		if (domains[di].workers[i].wanted && domains[di].workers[i].state == WORKER_EMPTY) {
			fake_worker(di, i, state, true);
			n++;
		}
	return n;
}

static bool alive(unsigned di, unsigned i)
{
	siginfo_t si = { 0 };

	CHECK(waitid(P_PIDFD, (id_t)domains[di].workers[i].pidfd, &si, WEXITED | WNOHANG | WNOWAIT) == 0);
	return si.si_pid == 0;
}

/* Waits for the worker's process to end, then lets the pool handle it as the loop would. */
static void await_death(unsigned di, unsigned i)
{
	siginfo_t si = { 0 };

	CHECK(waitid(P_PIDFD, (id_t)domains[di].workers[i].pidfd, &si, WEXITED | WNOWAIT) == 0);
	pool_on_death(&s, &domains[di], i);
	CHECK_EQ(domains[di].workers[i].state, WORKER_EMPTY);
}

static void kill_worker(unsigned di, unsigned i, int sig)
{
	CHECK(kill(domains[di].workers[i].pid, sig) == 0);
	await_death(di, i);
}

/* Closing its socket is how a released worker learns to exit; a fake one is told by SIGKILL. */
static void end_released(unsigned di)
{
	for (unsigned i = 0; i < WORKER_SLOTS; i++)
		if (domains[di].workers[i].state != WORKER_EMPTY && domains[di].workers[i].dying &&
		    domains[di].workers[i].retiring)
			kill_worker(di, i, SIGKILL);
}

static void setup(unsigned n_workers)
{
	s = (struct supervisor){ .domains = domains, .n_domains = N_DOMAINS, .transport = &fake_transport };
	s.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	CHECK(s.epoll_fd >= 0);
	s.cfg.crash_limit = 1;
	s.cfg.kill_limit = 1;
	s.cfg.queue_per_worker = 8;
	s.cfg.request_timeout_ms = 30000;
	for (unsigned di = 0; di < N_DOMAINS; di++) {
		domains[di] = (struct domain){ .state = DOMAIN_ACTIVE, .blob_dir_fd = -1 };
		snprintf(domains[di].name, sizeof(domains[di].name), "d%u", di);
		domains[di].settings.n_workers = n_workers;
		domains[di].settings.request_timeout_ms = 30000;
		for (unsigned i = 0; i < WORKER_SLOTS; i++)
			domains[di].workers[i] = (struct worker){ .sock = -EBADF, .pidfd = -EBADF };
	}
	failed = filled = lost = 0;
	failed_msg_id = 0;
}

static void teardown(void)
{
	for (unsigned di = 0; di < N_DOMAINS; di++)
		for (unsigned i = 0; i < WORKER_SLOTS; i++) {
			if (domains[di].workers[i].state != WORKER_EMPTY)
				kill_worker(di, i, SIGKILL);
			if (peer[di][i] > 0)
				close(peer[di][i]);
			peer[di][i] = 0;
		}
	for (uint32_t i = 0; i < s.objects.n_handles; i++)
		if (s.objects.by_handle[i])
			objects_remove(&s.objects, s.objects.by_handle[i]);
	objects_free(&s.objects);
	inflight_free(&s.inflight);
	close(s.epoll_fd);
}

static struct object *open_object(uint32_t obj_id, unsigned di, uint64_t size)
{
	struct object proto = { .obj_id = obj_id,
				.anon_fd = open("/dev/null", O_RDONLY | O_CLOEXEC),
				.state = OBJECT_OPEN,
				.domain = di,
				.state_idx = -1 };
	struct object *o;

	CHECK(proto.anon_fd >= 0);
	CHECK_EQ(objects_insert(&s.objects, &proto, &o), 0);
	objects_set_open(&s.objects, o, size);
	return o;
}

/* A READ of 4 KiB at page n of object o, queued as the transport's submit would. */
static struct request *queue_read(uint32_t msg_id, struct object *o, unsigned page)
{
	struct request proto = { .msg_id = msg_id,
				 .kind = REQ_FILL,
				 .obj_id = o->obj_id,
				 .obj_handle = o->handle,
				 .domain = o->domain,
				 .off = page * 4096ull,
				 .len = 4096,
				 .read_at_ms = now_ms() };
	struct request *r;

	CHECK_EQ(inflight_add(&s.inflight, &proto, &r), 0);
	inflight_enqueue(&s.inflight, r, 0);
	return r;
}

/* The READs slot i of domain 0 holds, in the order they were sent to it. */
static unsigned sent_reads(unsigned i, uint32_t *msg_ids, unsigned max)
{
	unsigned n = 0;
	union wire_msg m;

	for (;;) {
		ssize_t got = recv(peer[0][i], &m, sizeof(m), MSG_DONTWAIT);
		if (got <= 0)
			return n;
		if (m.hdr.type == WIRE_READ && n < max)
			msg_ids[n++] = m.read.msg_id;
	}
}

/*
 * Issue 17 item 1: 2 workers hold 4 READs each; the one that dies was
 * working on the first READ sent to it (a worker takes its socket in
 * order). With crash_limit 1, that one fails; the other 3 go back to the
 * queue uncharged, first in line in the order they were sent.
 */
static void only_the_request_a_dead_worker_worked_on_is_charged(void)
{
	static const int how[] = { SIGTERM, SIGKILL };

	for (unsigned k = 0; k < 3; k++) {
		struct object *o;
		uint32_t sent[8];
		unsigned n;

		setup(2);
		fake_worker(0, 0, WORKER_READY, true);
		fake_worker(0, 1, WORKER_READY, true);
		o = open_object(7, 0, 1 << 20);
		for (unsigned i = 0; i < 8; i++)
			queue_read(100 + i, o, i);
		pool_dispatch(&s, &domains[0]);
		CHECK_EQ(domains[0].workers[0].outstanding, 4);
		CHECK_EQ(s.inflight.queued, 0);
		n = sent_reads(0, sent, 8);
		CHECK_EQ(n, 4);
		if (k < 2) {
			/* A crash (SIGTERM: not an outside SIGKILL), or an outside SIGKILL (kill_limit). */
			kill_worker(0, 0, how[k]);
		} else {
			/* The request timeout's kill (loop.c held_too_long()). */
			pool_kill(&s, &domains[0], 0, "request timeout");
			await_death(0, 0);
		}
		fprintf(stderr, "  death %u: %u of the 4 held READs failed\n", k, failed);
		CHECK_EQ(failed, 1);
		CHECK_EQ(failed_msg_id, sent[0]);
		CHECK_EQ(lost, 1);
		CHECK_EQ(s.inflight.queued, 3);
		for (unsigned i = 1; i < 4; i++) {
			struct request *r = inflight_dequeue(&s.inflight, 0);
			CHECK(r != NULL);
			CHECK_EQ(r->msg_id, sent[i]);
			CHECK_EQ(r->crashes + r->kills, 0);
			inflight_remove(&s.inflight, r);
		}
		teardown();
	}
}

/*
 * The worker answered its first READ and died on the second before the
 * loop read that answer: the answer counts, and the second READ is the
 * one charged.
 */
static void answers_sent_before_a_death_count(void)
{
	struct wire_read_done done = { 0 };
	uint32_t sent[8];
	struct object *o;

	setup(1);
	fake_worker(0, 0, WORKER_READY, true);
	o = open_object(7, 0, 1 << 20);
	for (unsigned i = 0; i < 4; i++)
		queue_read(100 + i, o, i);
	pool_dispatch(&s, &domains[0]);
	CHECK_EQ(sent_reads(0, sent, 8), 4);
	wire_init(&done.hdr, WIRE_READ_DONE);
	done.msg_id = sent[0];
	done.result = 4096;
	CHECK(send(peer[0][0], &done, sizeof(done), 0) == (ssize_t)sizeof(done));
	kill_worker(0, 0, SIGTERM);
	fprintf(stderr, "  answered before the death: %u filled; READ %u failed (the second sent: %u)\n", filled,
		failed_msg_id, sent[1]);
	CHECK_EQ(filled, 1);
	CHECK_EQ(failed, 1);
	CHECK_EQ(failed_msg_id, sent[1]);
	CHECK_EQ(s.inflight.queued, 2);
	teardown();
}

/*
 * Issue 17 item 2: 10 upgrades (reloads, upgrade-workers) in quick
 * succession with 32 workers, half the slots each: from the second on they
 * find too few free slots. Between them, workers start but none is ready.
 * The domain must end with 32 ready workers of the newest generation, and
 * some worker must take requests all along (the first generation until a
 * new one is ready).
 */
static void quick_upgrades(unsigned n)
{
	struct domain *d = &domains[0];
	unsigned gen[WORKER_SLOTS] = { 0 }, ready = 0, unserved = 0, newest = 0;

	setup(32);
	for (unsigned i = 0; i < 32; i++)
		fake_worker(0, i, WORKER_READY, true);
	for (unsigned round = 1; round <= n + 4; round++) {
		if (round <= n) {
			pool_upgrade(&s, d);
			for (unsigned i = 0; i < WORKER_SLOTS; i++)
				if (d->workers[i].wanted && d->workers[i].state == WORKER_EMPTY)
					gen[i] = round;
		}
		/* What the loop does next: release, deaths, respawns. */
		pool_release_drained(&s, d);
		end_released(0);
		for (unsigned i = 0; i < WORKER_SLOTS; i++)
			if (d->workers[i].wanted && d->workers[i].state == WORKER_EMPTY)
				gen[i] = round < n ? round : n;
		spawn_wanted(0, WORKER_STARTING);
		/* After the last upgrade, the workers say HELLO. */
		for (unsigned i = 0; i < WORKER_SLOTS && round >= n; i++)
			if (d->workers[i].wanted && d->workers[i].state == WORKER_STARTING)
				d->workers[i].state = WORKER_READY;
		unserved += !pool_can_serve(d);
	}
	for (unsigned i = 0; i < WORKER_SLOTS; i++) {
		const struct worker *w = &d->workers[i];
		ready += w->state == WORKER_READY && !w->dying;
		newest += w->state == WORKER_READY && gen[i] == n;
	}
	fprintf(stderr, "  after %u quick upgrades: %u ready (%u of the newest) of 32, %u rounds without a worker\n", n,
		pool_ready_count(d), newest, unserved);
	CHECK_EQ(unserved, 0);
	CHECK_EQ(pool_ready_count(d), 32);
	CHECK_EQ(ready, 32);
	CHECK_EQ(newest, 32);
	teardown();
}

static void quick_upgrades_end_with_every_worker_of_the_newest(void)
{
	quick_upgrades(2);
	quick_upgrades(10);
}

/*
 * Issue 17 item 5: a worker that closes its socket and keeps running, or
 * sends a zero-length message, is killed: its pidfd reports the death and
 * the slot starts a new worker; its READ goes to another worker.
 */
static void a_worker_that_hangs_up_is_killed_and_replaced(void)
{
	for (unsigned k = 0; k < 2; k++) {
		struct domain *d = &domains[0];
		struct object *o;
		uint32_t sent[8];

		setup(2);
		s.cfg.crash_limit = 3; /* the defaults */
		s.cfg.kill_limit = 32;
		fake_worker(0, 0, WORKER_READY, true);
		fake_worker(0, 1, WORKER_READY, true);
		o = open_object(7, 0, 1 << 20);
		queue_read(100, o, 0);
		pool_dispatch(&s, d);
		CHECK_EQ(sent_reads(0, sent, 8), 1);
		if (k == 0) {
			close(peer[0][0]);
			peer[0][0] = 0;
		} else {
			CHECK(send(peer[0][0], "", 0, 0) == 0);
		}
		pool_on_message(&s, d, 0);
		CHECK(d->workers[0].dying);
		usleep(100 * 1000);
		fprintf(stderr, "  %s: the worker is %s 100 ms later\n", k ? "0-byte message" : "hung up",
			alive(0, 0) ? "alive" : "dead");
		CHECK(!alive(0, 0));
		await_death(0, 0);
		CHECK(d->workers[0].wanted);
		CHECK_EQ(d->workers[0].respawn_at_ms, 0);
		CHECK_EQ(failed, 0);
		pool_dispatch(&s, d);
		CHECK_EQ(inflight_get(&s.inflight, 100)->worker, 1);
		teardown();
	}
}

/*
 * Issue 17 item 6: 1000 objects the busy worker adopted close at once; its
 * socket fills long before it reads. It is not killed, and gets every DROP,
 * in order, once it reads again.
 */
static void a_burst_of_drops_does_not_kill_a_busy_worker(void)
{
	struct domain *d = &domains[0];
	struct object *o[1000];
	union wire_msg m;
	unsigned got = 0;
	uint32_t handles[1000];

	setup(1);
	fake_worker(0, 0, WORKER_READY, true);
	for (unsigned i = 0; i < 1000; i++) {
		o[i] = open_object(10 + i, 0, 1 << 20);
		o[i]->adopted_mask = 1;
		handles[i] = o[i]->handle;
	}
	for (unsigned i = 0; i < 1000; i++) {
		pool_drop_object(&s, o[i]);
		objects_remove(&s.objects, o[i]);
	}
	fprintf(stderr, "  after 1000 DROPs the worker is %s; %u DROPs wait for room\n",
		d->workers[0].killed_by_us ? "killed" : "kept", d->workers[0].n_drops);
	CHECK(!d->workers[0].killed_by_us && !d->workers[0].dying);
	CHECK(alive(0, 0));
	/* A new object (it may get a handle just dropped): its READ waits until the DROPs are out. */
	queue_read(100, open_object(5000, 0, 1 << 20), 0);
	pool_dispatch(&s, d);
	CHECK_EQ(d->workers[0].outstanding, 0);
	/* The worker reads; the loop sees its socket writable and the pool sends the rest. */
	for (unsigned rounds = 0; got < 1000 && rounds < 10000; rounds++) {
		ssize_t n = recv(peer[0][0], &m, sizeof(m), MSG_DONTWAIT);
		if (n > 0) {
			CHECK_EQ(m.hdr.type, WIRE_DROP);
			CHECK_EQ(m.drop.handle, handles[got]);
			got++;
			continue;
		}
		pool_on_message(&s, d, 0);
	}
	CHECK_EQ(got, 1000);
	CHECK(!d->workers[0].dying && !pool_backlogged(&d->workers[0]));
	pool_dispatch(&s, d);
	CHECK_EQ(d->workers[0].outstanding, 1);
	CHECK(recv(peer[0][0], &m, sizeof(m), MSG_DONTWAIT) > 0 && m.hdr.type == WIRE_ADOPT);
	CHECK(recv(peer[0][0], &m, sizeof(m), MSG_DONTWAIT) > 0 && m.hdr.type == WIRE_READ);
	teardown();
}

/* ... but a worker that takes no message for a whole request_timeout is hung: it is killed. */
static void a_worker_that_never_reads_its_drops_is_killed(void)
{
	struct domain *d = &domains[0];

	setup(1);
	fake_worker(0, 0, WORKER_READY, true);
	for (unsigned i = 0; i < 1000; i++) {
		struct object *o = open_object(10 + i, 0, 1 << 20);
		o->adopted_mask = 1;
		pool_drop_object(&s, o);
		objects_remove(&s.objects, o);
	}
	CHECK(pool_backlogged(&d->workers[0]));
	pool_stuck_sockets(&s, now_ms() + 1000);
	CHECK(!d->workers[0].killed_by_us);
	pool_stuck_sockets(&s, now_ms() + 30000);
	CHECK(d->workers[0].killed_by_us);
	await_death(0, 0);
	CHECK(!pool_backlogged(&d->workers[0]) && d->workers[0].drops == NULL);
	teardown();
}

/*
 * Issue 17 item 8: a READ waiting in domain 0 must not stop prefetch in
 * domain 1, whose workers are idle.
 */
static void a_backlog_in_one_domain_leaves_prefetch_on_in_another(void)
{
	struct domain *d1 = &domains[1];
	bool handed = false;

	setup(2);
	fake_worker(1, 0, WORKER_READY, true);
	fake_worker(1, 1, WORKER_READY, true);
	d1->settings.prefetch = UINT64_MAX;
	open_object(8, 1, 4 << 20);
	queue_read(100, open_object(7, 0, 1 << 20), 0); /* domain 0 has no worker: it waits */
	pool_chunks_hand_out(&s, d1, now_ms());
	for (unsigned i = 0; i < WORKER_SLOTS; i++)
		handed |= d1->workers[i].chunk.id != 0;
	fprintf(stderr, "  domain 1 prefetches: %s\n", handed ? "yes" : "no");
	CHECK(handed);
	CHECK_EQ(s.inflight.queued, 1);
	teardown();
}

/*
 * Issue 17 item 11: a dying worker is not ready. It counts for neither the
 * status nor the guard that keeps the old generation serving.
 */
static void dying_workers_are_not_ready(void)
{
	struct domain *d = &domains[0];

	setup(1);
	fake_worker(0, 0, WORKER_READY, false);
	d->workers[0].retiring = true;
	fake_worker(0, 1, WORKER_READY, true);
	d->workers[1].dying = true; /* its socket went away; its death is not seen yet */
	fprintf(stderr, "  ready with the new worker dying: %u\n", pool_ready_count(d));
	CHECK_EQ(pool_ready_count(d), 0);
	pool_release_drained(&s, d);
	CHECK(!d->workers[0].dying); /* the old one keeps serving */
	CHECK(pool_can_serve(d));
	teardown();
}

/*
 * What the fake worker of domain 0, slot 0 holds, as the messages it read
 * say (a model of worker/main.c): it checks the order a real worker needs
 * (ADOPT before READ, no ADOPT of a handle it holds, DROP only of one it
 * holds) and what issue 16 asks (no DROP of an object with a READ of it
 * unanswered, never more objects than the budget).
 */
struct fake_holder {
	bool held[8192];       /* by handle */
	bool unanswered[8192]; /* a READ of it was read and not answered */
	bool answer;	       /* answers READs as it reads them (else they stay unanswered) */
	unsigned n_held, peak, adopts, drops, reads;
	uint32_t dropped[8192]; /* handles, in the order their DROPs came */
};

/* Reads what slot 0 was sent, as a worker would, until nothing is left; the pool hears the answers. */
static void holder_drain(struct fake_holder *h)
{
	struct domain *d = &domains[0];

	for (unsigned idle = 0; idle < 2;) {
		union wire_msg m;
		unsigned nfds;
		int fd;
		ssize_t n = wire_recv(peer[0][0], &m, &fd, &nfds, MSG_DONTWAIT);

		if (fd >= 0)
			close(fd);
		if (n == -EAGAIN) {
			/* Answers to the pool; room in the socket for what waits; queued READs go out. */
			pool_on_message(&s, d, 0);
			pool_dispatch(&s, d);
			idle++;
			continue;
		}
		CHECK(n > 0);
		idle = 0;
		if (m.hdr.type == 0)
			continue; /* filler (fill_socket()) */
		if (m.hdr.type == WIRE_ADOPT) {
			CHECK(m.adopt.handle < 8192 && !h->held[m.adopt.handle]);
			h->held[m.adopt.handle] = true;
			h->adopts++;
			if (++h->n_held > h->peak)
				h->peak = h->n_held;
		} else if (m.hdr.type == WIRE_DROP) {
			CHECK(h->held[m.drop.handle]);
			CHECK(!h->unanswered[m.drop.handle]);
			h->held[m.drop.handle] = false;
			h->n_held--;
			h->dropped[h->drops++ % 8192] = m.drop.handle;
		} else {
			struct wire_read_done done = { .msg_id = m.read.msg_id, .result = 4096 };
			CHECK_EQ(m.hdr.type, WIRE_READ);
			CHECK(h->held[m.read.handle]);
			h->reads++;
			h->unanswered[m.read.handle] = !h->answer;
			if (!h->answer)
				continue;
			wire_init(&done.hdr, WIRE_READ_DONE);
			CHECK(send(peer[0][0], &done, sizeof(done), 0) == (ssize_t)sizeof(done));
		}
	}
}

/* Answers the READs left unanswered. */
static void holder_answer_all(struct fake_holder *h)
{
	const struct idmap *m = &s.inflight.by_msg_id;

	for (size_t i = 0; i < m->capacity; i++) {
		const struct request *r = m->entries[i].value;
		struct wire_read_done done = { .result = 4096 };
		if (!r || r->worker != 0)
			continue;
		done.msg_id = r->msg_id;
		wire_init(&done.hdr, WIRE_READ_DONE);
		CHECK(send(peer[0][0], &done, sizeof(done), 0) == (ssize_t)sizeof(done));
		h->unanswered[r->obj_handle] = false;
	}
	h->answer = true;
	holder_drain(h);
}

/* One READ of page 0 of o, through the pool and the fake worker. */
static void read_through(struct fake_holder *h, struct object *o, uint32_t msg_id)
{
	queue_read(msg_id, o, 0);
	pool_dispatch(&s, &domains[0]);
	holder_drain(h);
}

static struct object **open_objects(unsigned n, uint32_t first_id)
{
	struct object **o = calloc(n, sizeof(*o));

	CHECK(o != NULL);
	for (unsigned i = 0; i < n; i++)
		o[i] = open_object(first_id + i, 0, 1 << 20);
	return o;
}

static void raise_fd_limit(unsigned want)
{
	struct rlimit rl;

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	}
	CHECK(rl.rlim_cur >= want);
}

/*
 * Issue 16: one worker reads 3 000 objects in turn, three times its
 * budget. It never holds more than the budget; to adopt one more it is
 * told to DROP the one it used least recently: the objects in adoption
 * order, but never one whose READ it has not answered (the three oldest)
 * and never the one read every ten objects. Once their READs are answered
 * the three go too; once every object closes it holds none.
 */
static void one_worker_holds_at_most_its_budget(void)
{
	enum { N = 3000, PINNED = 3, HOT = 100 };
	struct fake_holder *h = calloc(1, sizeof(*h));
	unsigned budget = POOL_WORKER_OBJECTS, cold = 0, first_drops;
	uint32_t msg_id = 100, *cold_order = calloc(N, sizeof(*cold_order));
	struct object **o;

	CHECK(h && cold_order);
	raise_fd_limit(N + 4 * budget + 64);
	setup(1);
	fake_worker(0, 0, WORKER_READY, true);
	o = open_objects(N, 1000);
	for (unsigned i = 0; i < PINNED; i++)
		read_through(h, o[i], msg_id++); /* not answered */
	h->answer = true;
	for (unsigned i = PINNED; i < N; i++) {
		if (i != HOT)
			cold_order[cold++] = o[i]->handle;
		read_through(h, o[i], msg_id++);
		if (i > HOT && i % 10 == 0)
			read_through(h, o[HOT], msg_id++);
		CHECK(h->n_held <= budget);
	}
	fprintf(stderr, "  %u objects through 1 worker, budget %u: peak held %u, %u ADOPTs, %u DROPs\n", N, budget,
		h->peak, h->adopts, h->drops);
	CHECK_EQ(h->peak, budget);
	CHECK_EQ(h->drops, N - budget);
	for (unsigned k = 0; k < h->drops; k++)
		CHECK_EQ(h->dropped[k], cold_order[k]); /* least recently used first; never a pinned or the hot one */
	first_drops = h->drops;
	/* Their READs answered, the three oldest go in their turn: within one more turn of the hand. */
	holder_answer_all(h);
	for (unsigned i = 0; i < budget; i++)
		read_through(h, open_object(10000 + i, 0, 1 << 20), msg_id++);
	for (unsigned i = 0; i < PINNED; i++) {
		bool gone = false;
		for (unsigned k = first_drops; k < h->drops; k++)
			gone |= h->dropped[k] == o[i]->handle;
		CHECK(gone);
	}
	/* Every DROP so far made room: each is counted as an eviction. */
	CHECK_EQ(s.stats.evictions, h->drops);
	for (uint32_t i = 0; i < s.objects.n_handles; i++)
		if (s.objects.by_handle[i]) {
			pool_drop_object(&s, s.objects.by_handle[i]);
			objects_remove(&s.objects, s.objects.by_handle[i]);
		}
	holder_drain(h);
	fprintf(stderr, "  every object closed: the worker holds %u (the pool counts %u); %llu evictions counted\n",
		h->n_held, domains[0].workers[0].n_held, (unsigned long long)s.stats.evictions);
	CHECK_EQ(h->n_held, 0);
	CHECK_EQ(domains[0].workers[0].n_held, 0);
	CHECK_EQ(failed, 0);
	free(o);
	free(h);
	free(cold_order);
	teardown();
}

/* Fills the pool's end of slot 0's socket with messages a worker skips, until it has no room. */
static void fill_socket(void)
{
	struct wire_hdr filler = { .len = sizeof(filler) };

	while (send(domains[0].workers[0].sock, &filler, sizeof(filler), MSG_DONTWAIT) > 0)
		;
	CHECK_EQ(errno, EAGAIN);
}

/*
 * Issue 16 with issue 17 item 6: the DROP that makes room finds the socket
 * full and waits. The ADOPT waits behind it, and so does the ADOPT of the
 * object just dropped, read again right then: the worker gets DROP, then
 * ADOPT, then READ (the fake holder refuses any other order).
 */
static void an_eviction_behind_a_full_socket_stays_in_order(void)
{
	struct fake_holder *h = calloc(1, sizeof(*h));
	struct domain *d = &domains[0];
	struct worker *w = &d->workers[0];
	unsigned budget = POOL_WORKER_OBJECTS;
	uint32_t msg_id = 100;
	struct object **o, *fresh;

	CHECK(h != NULL);
	raise_fd_limit(4 * budget + 64);
	setup(1);
	fake_worker(0, 0, WORKER_READY, true);
	h->answer = true;
	o = open_objects(budget, 1000);
	for (unsigned i = 0; i < budget; i++)
		read_through(h, o[i], msg_id++);
	fill_socket();
	fresh = open_object(5000, 0, 1 << 20);
	queue_read(msg_id++, fresh, 0);
	pool_dispatch(&s, d);
	fprintf(stderr, "  at the budget, socket full: %u DROP waits (handle %u), %u READs sent\n", w->n_drops,
		w->n_drops ? w->drops[0] : 0, w->outstanding);
	CHECK(pool_backlogged(w));
	CHECK_EQ(w->n_drops, 1);
	CHECK_EQ(w->drops[0], o[0]->handle);
	CHECK_EQ(w->outstanding, 0);
	queue_read(msg_id++, o[0], 1);
	pool_dispatch(&s, d);
	CHECK_EQ(w->outstanding, 0);
	holder_drain(h);
	CHECK(h->held[fresh->handle] && h->held[o[0]->handle]);
	CHECK_EQ(h->n_held, budget);
	CHECK_EQ(w->n_held, budget);
	CHECK_EQ(filled, budget + 2);
	CHECK_EQ(failed, 0);
	free(o);
	free(h);
	teardown();
}

/* Runs one test, or only the one named on the command line. */
static void run(int argc, char **argv, const char *name, void (*fn)(void))
{
	if (argc > 1 && strcmp(argv[1], name) != 0)
		return;
	fn();
	printf("ok - %s\n", name);
}

#define RUN_ONE(f) run(argc, argv, #f, f)

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	RUN_ONE(only_the_request_a_dead_worker_worked_on_is_charged);
	RUN_ONE(answers_sent_before_a_death_count);
	RUN_ONE(quick_upgrades_end_with_every_worker_of_the_newest);
	RUN_ONE(a_worker_that_hangs_up_is_killed_and_replaced);
	RUN_ONE(a_burst_of_drops_does_not_kill_a_busy_worker);
	RUN_ONE(a_worker_that_never_reads_its_drops_is_killed);
	RUN_ONE(a_backlog_in_one_domain_leaves_prefetch_on_in_another);
	RUN_ONE(dying_workers_are_not_ready);
	RUN_ONE(one_worker_holds_at_most_its_budget);
	RUN_ONE(an_eviction_behind_a_full_socket_stays_in_order);
	return 0;
}
