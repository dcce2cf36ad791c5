/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "control.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "control-counters.h"
#include "control-report.h"
#include "control-request.h"
#include "control-socket.h"

_Static_assert(CONTROL_OUT_MAX - CONTROL_FINAL_RESERVE >= CTLBUF_JSON_ESCAPE_MAX * (PATH_MAX + 64 + 32) + 1024,
	       "one domain's JSON (blob dir, name, version all escapes) fits the buffer");
_Static_assert(CONTROL_OUT_MAX - CONTROL_FINAL_RESERVE >= COUNTERS_LATENCY_JSON_MAX,
	       "the READ latency histogram fits the buffer with every bucket in use");

enum { CONTROL_LISTEN_INDEX, CONTROL_TIMER_INDEX };

enum conn_phase {
	CONN_READING,	/* waiting for the request line */
	CONN_REPORTING, /* status or objects, produced as the client reads */
	CONN_WATCHING,	/* upgrade-workers: progress lines until done */
	CONN_AWAITING,	/* reload, reexec: the process layer's verdict (control_verdict()) */
	CONN_CLOSING,	/* final line queued: close once it is sent */
};

struct control_conn {
	int fd;
	uint32_t gen; /* in its epoll tag: an event for a reused index is recognised as stale */
	enum conn_phase phase;
	enum cfs_control_cmd awaiting; /* in CONN_AWAITING */
	uint32_t events;	       /* what epoll watches for it */
	uint64_t deadline_ms;
	size_t in_len;
	char in[CFS_CONTROL_REQUEST_MAX];
	struct report report;
	struct upgrade_watch upgrade;
	struct ctlbuf out;
	char out_data[CONTROL_OUT_MAX];
};

struct control {
	int listen_fd;
	int timer_fd;
	bool timer_armed;
	bool accept_paused; /* out of fds: the listener rests until the next tick */
	uint32_t next_gen;
	unsigned n_conns;
	struct control_conn *conns[CONTROL_MAX_CONNS];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* --- connections --- */

static void arm_timer(struct control *ctl, bool on)
{
	struct itimerspec its = { 0 };

	if (on == ctl->timer_armed)
		return;
	if (on) {
		its.it_interval.tv_nsec = CONTROL_TICK_MS * 1000000L;
		its.it_value = its.it_interval;
	}
	timerfd_settime(ctl->timer_fd, 0, &its, NULL);
	ctl->timer_armed = on;
}

static void conn_close(struct supervisor *s, unsigned ci)
{
	struct control *ctl = s->control;
	struct control_conn *c = ctl->conns[ci];

	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
	ctl->conns[ci] = NULL;
	ctl->n_conns--;
	arm_timer(ctl, ctl->n_conns > 0 || ctl->accept_paused);
}

/* Queues the final line; the reserve kept free while producing makes it fit. */
static void conn_finish(struct control_conn *c, const char *error)
{
	c->out.cap = CONTROL_OUT_MAX;
	c->out.full = false;
	if (error)
		ctlbuf_printf(&c->out, CFS_CONTROL_ERROR "%s\n", error);
	else
		ctlbuf_printf(&c->out, CFS_CONTROL_OK "\n");
	c->phase = CONN_CLOSING;
	c->deadline_ms = now_ms() + CONTROL_WRITE_TIMEOUT_MS;
}

__attribute__((format(printf, 2, 3))) static void conn_fail(struct control_conn *c, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	conn_finish(c, why);
}

/* Sends what is queued. Returns bytes sent, 0 if none could go, or -errno (the peer is gone). */
static ssize_t conn_flush(struct control_conn *c)
{
	ssize_t n;

	if (c->out.len == 0)
		return 0;
	do
		n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	ctlbuf_consume(&c->out, (size_t)n);
	if (c->phase != CONN_WATCHING)
		c->deadline_ms = now_ms() + CONTROL_WRITE_TIMEOUT_MS;
	return n;
}

static void conn_produce(struct supervisor *s, struct control_conn *c)
{
	if (report_produce(s, &c->report, &c->out) < 0)
		conn_finish(c, "an item of the report does not fit in the output buffer");
	else if (c->report.finished)
		conn_finish(c, NULL);
}

/* Produces and sends while the client takes it; then waits for what comes next. */
static void conn_pump(struct supervisor *s, unsigned ci)
{
	struct control_conn *c = s->control->conns[ci];
	uint32_t want;
	ssize_t n;

	do {
		if (c->phase == CONN_REPORTING)
			conn_produce(s, c);
		n = conn_flush(c);
	} while (n > 0);
	if (n < 0 || (c->phase == CONN_CLOSING && c->out.len == 0)) {
		conn_close(s, ci);
		return;
	}
	want = (c->phase == CONN_READING ? EPOLLIN : 0) | (c->out.len > 0 ? EPOLLOUT : 0);
	if (want != c->events) {
		struct epoll_event ev = { .events = want, .data.u64 = EV_TAG(EV_CONTROL_CONN, c->gen, ci) };
		epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
		c->events = want;
	}
}

/* Reload and re-exec are the process layer's: it answers with control_verdict() after this batch. */
static void await_verdict(struct supervisor *s, struct control_conn *c, enum cfs_control_cmd cmd)
{
	log_notice("control: %s requested", cfs_control_commands[cmd].name);
	c->phase = CONN_AWAITING;
	c->awaiting = cmd;
	if (cmd == CONTROL_RELOAD)
		s->reload_requested = true;
	else
		s->reexec_requested = true;
}

void control_verdict(struct supervisor *s, enum cfs_control_cmd cmd, const char *line, const char *error)
{
	struct control *ctl = s->control;

	for (unsigned i = 0; ctl && i < CONTROL_MAX_CONNS; i++) {
		struct control_conn *c = ctl->conns[i];
		if (!c || c->phase != CONN_AWAITING || c->awaiting != cmd)
			continue;
		if (line) {
			ctlbuf_text_cstr(&c->out, line);
			ctlbuf_printf(&c->out, "\n");
		}
		conn_finish(c, error);
		conn_pump(s, i);
	}
}

static void conn_dispatch(struct supervisor *s, struct control_conn *c, size_t line_len)
{
	struct control_request req;
	const char *why;

	if (control_parse_request(c->in, line_len, &req, &why) < 0) {
		log_notice("control: refused a request: %s", why);
		conn_finish(c, why);
		return;
	}
	c->deadline_ms = now_ms() + CONTROL_WRITE_TIMEOUT_MS;
	switch (req.cmd) {
	case CONTROL_STATUS:
	case CONTROL_OBJECTS:
		c->report = (struct report){ .kind = req.cmd == CONTROL_STATUS ? REPORT_STATUS : REPORT_OBJECTS,
					     .json = req.json };
		c->phase = CONN_REPORTING;
		break;
	case CONTROL_UPGRADE_WORKERS:
		log_notice("control: worker upgrade requested");
		upgrade_begin(s, &c->upgrade, &c->out);
		c->deadline_ms = c->upgrade.started_ms + CFS_CONTROL_UPGRADE_TIMEOUT_MS;
		c->phase = CONN_WATCHING;
		break;
	case CONTROL_REEXEC:
	case CONTROL_RELOAD: await_verdict(s, c, req.cmd); break;
	}
}

/* Reads the request line; exactly one line, nothing after it. */
static void conn_read(struct supervisor *s, struct control_conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0 || (n == 0 && c->in_len == 0)) {
			c->phase = CONN_CLOSING; /* reset, or gone without a word: nothing to answer */
			return;
		}
		if (n == 0) {
			conn_finish(c, "the request line is not terminated by a newline");
			return;
		}
		c->in_len += (size_t)n;
		nl = memchr(c->in, '\n', c->in_len);
		if (nl && (size_t)(nl - c->in) + 1 < c->in_len)
			conn_finish(c, "one request per connection, and nothing after it");
		else if (nl)
			conn_dispatch(s, c, (size_t)(nl - c->in));
		else if (c->in_len == sizeof(c->in))
			conn_fail(c, "request longer than %d bytes", CFS_CONTROL_REQUEST_MAX);
		else
			continue;
		return;
	}
}

static void conn_on_event(struct supervisor *s, unsigned ci, uint32_t gen)
{
	struct control_conn *c = ci < CONTROL_MAX_CONNS ? s->control->conns[ci] : NULL;

	if (!c || c->gen != gen)
		return; /* it was closed earlier in this batch */
	if (c->phase == CONN_READING) {
		conn_read(s, c);
	} else if (c->events == 0) {
		/* Waiting for nothing, so this is EPOLLHUP/EPOLLERR: the client left. */
		conn_close(s, ci);
		return;
	}
	conn_pump(s, ci);
}

/* --- accepting --- */

/* A refusal is one line on a fresh socket: it fits in the socket buffer. */
static void refuse(int fd, const char *why)
{
	char line[256];
	int n = snprintf(line, sizeof(line), CFS_CONTROL_ERROR "%s\n", why);

	(void)send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* SO_PEERCRED: the uid the peer had when it connected. */
static bool peer_is_root(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
		log_warning_errno(-errno, "control: cannot read a client's credentials");
		return false;
	}
	if (uc.uid == 0)
		return true;
	log_warning("control: refused a connection from pid %d uid %u: not root", (int)uc.pid, (unsigned)uc.uid);
	return false;
}

static int free_conn_index(const struct control *ctl)
{
	for (unsigned i = 0; i < CONTROL_MAX_CONNS; i++)
		if (!ctl->conns[i])
			return (int)i;
	return -1;
}

static void conn_add(struct supervisor *s, int fd)
{
	struct control *ctl = s->control;
	int ci = free_conn_index(ctl);
	struct control_conn *c = ci < 0 ? NULL : calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!c) {
		refuse(fd, ci < 0 ? "too many control connections, try again" : "out of memory");
		return;
	}
	c->fd = fd;
	c->gen = ctl->next_gen++;
	c->phase = CONN_READING;
	c->events = EPOLLIN;
	c->deadline_ms = now_ms() + CFS_CONTROL_REQUEST_TIMEOUT_MS;
	c->out = (struct ctlbuf){ .data = c->out_data, .cap = CONTROL_OUT_MAX - CONTROL_FINAL_RESERVE };
	ev.data.u64 = EV_TAG(EV_CONTROL_CONN, c->gen, (unsigned)ci);
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_warning_errno(-errno, "control: cannot poll a connection");
		free(c);
		refuse(fd, "the supervisor cannot poll this connection");
		return;
	}
	ctl->conns[ci] = c;
	ctl->n_conns++;
	arm_timer(ctl, true);
}

/* A listener that cannot accept (EMFILE) stays readable: rest it for a tick rather than spin on it. */
static void pause_accepting(struct supervisor *s, bool pause)
{
	struct control *ctl = s->control;
	struct epoll_event ev = { .events = pause ? 0 : EPOLLIN,
				  .data.u64 = EV_TAG(EV_CONTROL, 0, CONTROL_LISTEN_INDEX) };

	if (pause == ctl->accept_paused)
		return;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, ctl->listen_fd, &ev);
	ctl->accept_paused = pause;
	arm_timer(ctl, ctl->n_conns > 0 || pause);
}

static void on_accept(struct supervisor *s)
{
	/* Bounded, like every handler: the device and the workers come first. */
	for (int i = 0; i < CONTROL_MAX_CONNS; i++) {
		int fd = accept4(s->control->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return;
			log_warning_errno(-errno, "control: accept failed");
			pause_accepting(s, true);
			return;
		}
		if (!peer_is_root(fd))
			refuse(fd, "permission denied: the control socket is for root only");
		else
			conn_add(s, fd);
	}
}

/* --- deadlines --- */

static void conn_expire(struct supervisor *s, unsigned ci, uint64_t now)
{
	struct control_conn *c = s->control->conns[ci];

	if (now < c->deadline_ms)
		return;
	switch (c->phase) {
	case CONN_READING: conn_fail(c, "no complete request line within %d ms", CFS_CONTROL_REQUEST_TIMEOUT_MS); break;
	case CONN_WATCHING:
		log_warning("control: the worker upgrade did not finish within %d s",
			    CFS_CONTROL_UPGRADE_TIMEOUT_MS / 1000);
		conn_fail(c, "the workers did not all start and drain within %d s (see the supervisor's log)",
			  CFS_CONTROL_UPGRADE_TIMEOUT_MS / 1000);
		break;
	default:
		log_notice("control: dropping a client that reads nothing");
		conn_close(s, ci);
		return;
	}
	conn_pump(s, ci);
}

static void on_timer(struct supervisor *s)
{
	struct control *ctl = s->control;
	uint64_t expirations, now = now_ms();

	if (read(ctl->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	pause_accepting(s, false);
	for (unsigned i = 0; i < CONTROL_MAX_CONNS; i++)
		if (ctl->conns[i])
			conn_expire(s, i, now);
}

void control_on_event(struct supervisor *s, uint64_t tag)
{
	if (!s->control)
		return;
	if (EV_KIND(tag) == EV_CONTROL_CONN)
		conn_on_event(s, EV_INDEX(tag), EV_DOMAIN(tag));
	else if (EV_INDEX(tag) == CONTROL_LISTEN_INDEX)
		on_accept(s);
	else
		on_timer(s);
}

void control_settle(struct supervisor *s)
{
	struct control *ctl = s->control;

	for (unsigned i = 0; ctl && i < CONTROL_MAX_CONNS; i++) {
		struct control_conn *c = ctl->conns[i];
		size_t mark;
		bool done;
		if (!c || c->phase != CONN_WATCHING)
			continue;
		mark = c->out.len;
		done = upgrade_progress(s, &c->upgrade, &c->out);
		if (c->out.full) {
			c->out.len = mark; /* no half line before the error */
			conn_finish(c, "the client does not read its progress lines");
		} else if (done) {
			conn_finish(c, NULL);
		}
		conn_pump(s, i);
	}
}

/* --- the socket --- */

static int open_control(struct supervisor *s, struct control *ctl)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_TAG(EV_CONTROL, 0, CONTROL_LISTEN_INDEX) };

	ctl->listen_fd = control_socket_listen(ctl->path, CONTROL_MAX_CONNS);
	if (ctl->listen_fd == -EEXIST)
		return log_error_errno(ctl->listen_fd,
				       "control socket %s: the path exists and is not a socket; "
				       "move it away",
				       ctl->path);
	if (ctl->listen_fd < 0)
		return log_error_errno(ctl->listen_fd, "control socket %s", ctl->path);
	ctl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ctl->timer_fd < 0)
		return log_error_errno(-errno, "control socket: timerfd failed");
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, ctl->listen_fd, &ev) < 0)
		return log_error_errno(-errno, "control socket: cannot poll it");
	ev.data.u64 = EV_TAG(EV_CONTROL, 0, CONTROL_TIMER_INDEX);
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, ctl->timer_fd, &ev) < 0)
		return log_error_errno(-errno, "control socket: cannot poll its timer");
	return 0;
}

static void free_control(struct control *ctl)
{
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	if (ctl->timer_fd >= 0)
		close(ctl->timer_fd);
	free(ctl);
}

int control_setup(struct supervisor *s)
{
	const char *path = s->cfg.control_path;
	struct control *ctl;
	int r;

	if (!path || !path[0])
		return 0;
	if (strlen(path) >= sizeof(ctl->path))
		return log_error_errno(-ENAMETOOLONG, "control socket %s: longer than %zu bytes", path,
				       sizeof(ctl->path) - 1);
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return log_error_errno(-ENOMEM, "control socket: out of memory");
	ctl->listen_fd = ctl->timer_fd = -EBADF;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	r = open_control(s, ctl);
	if (r < 0) {
		log_error(
			"no control socket: cachefilesctl cannot reach this supervisor (readers are served as usual)");
		free_control(ctl);
		return r;
	}
	s->control = ctl;
	log_info("control socket %s ready", path);
	return 0;
}

void control_shutdown(struct supervisor *s)
{
	struct control *ctl = s->control;

	if (!ctl)
		return;
	for (unsigned i = 0; i < CONTROL_MAX_CONNS; i++) {
		struct control_conn *c = ctl->conns[i];
		if (!c)
			continue;
		if (c->phase != CONN_CLOSING)
			conn_finish(c,
				    s->reexec_wanted ? "the supervisor is re-executing" : "the supervisor is exiting");
		(void)conn_flush(c);
		conn_close(s, i);
	}
	unlink(ctl->path);
	free_control(ctl);
	s->control = NULL;
}
