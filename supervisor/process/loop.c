/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The event loop: device requests, worker messages and deaths, signals and
 * a timer for timeouts and respawns. Single-threaded; every handler runs to
 * completion, so the tables never see a half-done change.
 */
#include "loop.h"

#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <systemd/sd-daemon.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "connect.h"
#include "control.h"
#include "domains.h"
#include "fdstore.h"
#include "pool-chunks.h"
#include "pool.h"
#include "program-export.h"
#include "reexec.h"
#include "requests.h"

#define TICK_RESPAWN_MS 10
#define TICK_TIMEOUT_MS 100
/*
 * The timeout tick stays on this long after the last request or chunk:
 * a reader's READs come one after another with nothing in flight between
 * them, and arming and disarming the timer around each cost a visible
 * share of the supervisor's time per READ (issue 7's profile).
 */
#define TICK_LINGER_MS 1000

void loop_log_stats(const struct supervisor *s)
{
	const struct stats *t = &s->stats;
	char latency[160];

	latency_hist_format(&s->latency.read_us, latency, sizeof(latency));
	log_notice("stats: objects=%u inflight=%u opens=%" PRIu64 " reads=%" PRIu64 " closes=%" PRIu64 " bytes=%" PRIu64
		   " spawns=%" PRIu64 " deaths=%" PRIu64 " timeouts=%" PRIu64 " violations=%" PRIu64
		   " restores=%" PRIu64 " duplicates=%" PRIu64 " failed=%" PRIu64 " refused_keys=%" PRIu64
		   " malformed=%" PRIu64 " prefetched=%" PRIu64 " readahead=%" PRIu64 " joined=%" PRIu64
		   " evictions=%" PRIu64 " connects=%" PRIu64 " connects_refused=%" PRIu64 " read_latency_us %s",
		   s->objects.count, s->inflight.count, t->opens, t->reads, t->closes, t->bytes_served, t->spawns,
		   t->deaths, t->timeouts, t->violations, t->restores, t->duplicates, t->failed_requests,
		   t->refused_keys, t->malformed, t->prefetched, t->readahead, t->joined, t->evictions,
		   s->broker.connects, s->broker.refused, latency);
}

void loop_reload(struct supervisor *s)
{
	char reloading[64], line[PATH_MAX + 64];
	int r;

	/* systemd wants the clock with RELOADING=1 to tell this reload from an older one. */
	snprintf(reloading, sizeof(reloading), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now_ms() * 1000);
	notify_text(reloading);
	r = domains_reload(s);
	notify_text("READY=1");
	if (r < 0) {
		snprintf(line, sizeof(line), "reload refused, the running config stays: %s", domains_refusal());
		control_verdict(s, CONTROL_RELOAD, NULL, line);
	} else if (s->config) {
		snprintf(line, sizeof(line), "reload: %s applied, %u domains", s->config_path, s->config->n_domains);
		control_verdict(s, CONTROL_RELOAD, line, NULL);
	} else {
		control_verdict(s, CONTROL_RELOAD, "reload: no config file (--blob-dir): new workers started", NULL);
	}
}

/* SIGUSR2 or `reexec`: only a new image that will start is exec'd (issue 17, item 3). */
static void take_reexec(struct supervisor *s)
{
	char why[512], line[PATH_MAX + 64];

	if (reexec_fits(s, why, sizeof(why)) < 0 || reexec_check(s, why, sizeof(why)) < 0) {
		control_verdict(s, CONTROL_REEXEC, NULL, why);
		return;
	}
	log_notice("re-exec: the new image checked the command line and config: re-executing %s", s->self_exe);
	snprintf(line, sizeof(line), "re-executing %s (pid %d, start %u)", s->self_exe, (int)getpid(), s->starts);
	control_verdict(s, CONTROL_REEXEC, line, NULL);
	/* The loop ends after this batch; the fds are passed on exec. */
	s->reexec_wanted = true;
	s->quit = true;
}

/* What signals and control clients asked for, after the batch that asked. */
static void take_requests(struct supervisor *s)
{
	if (s->reload_requested) {
		s->reload_requested = false;
		loop_reload(s);
	}
	if (s->reexec_requested) {
		s->reexec_requested = false;
		take_reexec(s);
	}
}

static void on_signal(struct supervisor *s)
{
	struct signalfd_siginfo si;

	while (read(s->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_notice("signal %s: shutting down", sigabbrev_np((int)si.ssi_signo));
			s->quit = true;
			break;
		case SIGUSR1: loop_log_stats(s); break;
		case SIGHUP: s->reload_requested = true; break;
		case SIGUSR2:
			log_notice("signal USR2: re-exec of %s asked for", s->self_exe);
			s->reexec_requested = true;
			break;
		}
	}
}

/* Kills a worker that sat on a request past the timeout; it is then replaced. */
static void held_too_long(struct supervisor *s, struct request *r)
{
	struct domain *d = &s->domains[r->domain];

	if (d->workers[r->worker].killed_by_us)
		return;
	s->stats.timeouts++;
	log_warning("domain %s obj %u msg %u: no answer in %" PRIu64 " ms", d->name, r->obj_id, r->msg_id,
		    d->settings.request_timeout_ms);
	pool_kill(s, d, (unsigned)r->worker, "request timeout");
}

/*
 * A request nobody can take (no worker of its domain gets as far as HELLO)
 * fails after the timeout: a reader gets an error instead of hanging.
 * Returns true if it removed the request.
 */
static bool queued_too_long(struct supervisor *s, struct request *r)
{
	struct domain *d = &s->domains[r->domain];

	if (pool_can_serve(d))
		return false;
	log_error("domain %s obj %u msg %u: no worker could start within %" PRIu64 " ms (see the worker "
		  "errors above)",
		  d->name, r->obj_id, r->msg_id, d->settings.request_timeout_ms);
	request_fail(s, r, -EIO);
	return true;
}

static void check_timeouts(struct supervisor *s, uint64_t now)
{
	struct idmap *m = &s->inflight.by_msg_id;

	for (size_t i = 0; i < m->capacity; i++) {
		struct request *r = m->entries[i].value;
		if (!r)
			continue;
		if (r->worker != NO_WORKER && r->deadline_ms <= now)
			held_too_long(s, r);
		else if (r->worker == NO_WORKER &&
			 r->read_at_ms + s->domains[r->domain].settings.request_timeout_ms <= now &&
			 queued_too_long(s, r))
			i = (size_t)-1; /* the table may have shifted: scan again */
	}
}

static void arm_timer(struct supervisor *s, unsigned interval_ms)
{
	if (interval_ms == s->timer_interval_ms)
		return;
	timerfd_every_ms(s->timer_fd, interval_ms);
	s->timer_interval_ms = interval_ms;
}

/* Everything that follows from the events just handled. */
static void settle(struct supervisor *s)
{
	uint64_t now = now_ms();
	bool respawn_pending = false, prefetch_waits = false;

	take_requests(s);
	for (unsigned i = 0; i < s->n_domains; i++) {
		struct domain *d = &s->domains[i];
		pool_release_drained(s, d);
		pool_respawn_due(s, d, now);
		for (unsigned j = 0; j < WORKER_SLOTS; j++)
			respawn_pending |= d->workers[j].wanted && d->workers[j].state == WORKER_EMPTY;
	}
	s->transport->settle(s);
	for (unsigned i = 0; i < s->n_domains; i++)
		pool_dispatch(s, &s->domains[i]);
	/* After demand, and only if none is left waiting (pool-chunks.c). */
	for (unsigned i = 0; i < s->n_domains; i++)
		prefetch_waits |= pool_chunks_hand_out(s, &s->domains[i], now);
	control_settle(s);
	/* Notifications PID 1 had no room for: retried on the short tick, never waited for. */
	respawn_pending |= fdstore_flush(0) > 0;
	if (s->inflight.count || pool_chunks_busy(s))
		s->busy_until_ms = now + TICK_LINGER_MS;
	if (respawn_pending || prefetch_waits)
		arm_timer(s, TICK_RESPAWN_MS);
	else
		arm_timer(s, now < s->busy_until_ms ? TICK_TIMEOUT_MS : 0);
}

static void on_timer(struct supervisor *s)
{
	uint64_t expirations;

	if (read(s->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	check_timeouts(s, now_ms());
	pool_chunk_timeouts(s, now_ms());
}

/* Under systemd: the watchdog ping and a STATUS= line operators see in systemctl status. */
static void on_housekeeping(struct supervisor *s)
{
	uint64_t expirations;
	char status[256];
	unsigned workers = 0;

	if (read(s->housekeeping_fd, &expirations, sizeof(expirations)) < 0)
		return;
	for (unsigned i = 0; i < s->n_domains; i++)
		workers += pool_ready_count(&s->domains[i]);
	snprintf(status, sizeof(status),
		 "STATUS=objects=%u inflight=%u workers=%u starts=%u deaths=%" PRIu64 " restores=%" PRIu64
		 " bytes=%" PRIu64 "%s",
		 s->objects.count, s->inflight.count, workers, s->starts, s->stats.deaths, s->stats.restores,
		 s->stats.bytes_served, s->watchdog_usec ? "\nWATCHDOG=1" : "");
	notify_text(status);
}

static void on_event(struct supervisor *s, uint64_t tag)
{
	unsigned di = EV_DOMAIN(tag), slot = EV_INDEX(tag); /* a worker's slot for worker events */

	switch (EV_KIND(tag)) {
	case EV_TRANSPORT: s->transport->on_event(s); return;
	case EV_TRANSPORT_AUX:
		if (s->transport->on_aux_event)
			s->transport->on_aux_event(s, slot);
		return;
	case EV_SIGNAL: on_signal(s); return;
	case EV_TIMER: on_timer(s); return;
	case EV_WORKER_SOCK:
		if (di < s->n_domains && slot < WORKER_SLOTS)
			pool_on_message(s, &s->domains[di], slot);
		return;
	case EV_WORKER_PIDFD:
		if (di < s->n_domains && slot < WORKER_SLOTS)
			pool_on_death(s, &s->domains[di], slot);
		return;
	case EV_PROGRAM_EXPORT:
		if (di < s->n_domains)
			program_export_on_exit(s, &s->domains[di]);
		return;
	case EV_HOUSEKEEPING: on_housekeeping(s); return;
	case EV_CONTROL:
	case EV_CONTROL_CONN: control_on_event(s, tag); return;
	case EV_BROKER: pool_broker_on_event(s, slot); return;
	}
}

void loop_settle(struct supervisor *s)
{
	settle(s);
}

int loop_run(struct supervisor *s)
{
	struct epoll_event events[32];

	settle(s);
	while (!s->quit) {
		int n = epoll_wait(s->epoll_fd, events, (int)ARRAY_SIZE(events), -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(-errno, "epoll_wait failed");
		}
		for (int i = 0; i < n; i++)
			on_event(s, events[i].data.u64);
		settle(s);
	}
	return 0;
}

static int setup_housekeeping(struct supervisor *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_TAG(EV_HOUSEKEEPING, 0, 0) };
	uint64_t interval_usec = 1000000;
	struct itimerspec its;

	s->housekeeping_fd = -1;
	if (!fdstore_available())
		return 0;
	if (sd_watchdog_enabled(0, &s->watchdog_usec) > 0 && s->watchdog_usec / 2 < interval_usec)
		interval_usec = s->watchdog_usec / 2;
	s->housekeeping_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->housekeeping_fd < 0)
		return log_error_errno(-errno, "timerfd failed");
	its.it_interval.tv_sec = (time_t)(interval_usec / 1000000);
	its.it_interval.tv_nsec = (long)(interval_usec % 1000000) * 1000;
	its.it_value = its.it_interval;
	timerfd_settime(s->housekeeping_fd, 0, &its, NULL);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->housekeeping_fd, &ev);
	return 0;
}

void loop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
}

int loop_setup(struct supervisor *s)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;

	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epoll_fd < 0)
		return log_error_errno(-errno, "epoll_create1 failed");
	loop_signals(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->signal_fd < 0 || s->timer_fd < 0)
		return log_error_errno(-errno, "signalfd/timerfd failed");

	ev.data.u64 = EV_TAG(EV_TRANSPORT, 0, 0);
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->transport->event_fd(s), &ev) < 0)
		return log_error_errno(-errno, "Cannot poll %s", s->cfg.device_path);
	ev.data.u64 = EV_TAG(EV_SIGNAL, 0, 0);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->signal_fd, &ev);
	ev.data.u64 = EV_TAG(EV_TIMER, 0, 0);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->timer_fd, &ev);
	return setup_housekeeping(s);
}
