/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "culler.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cull-pass.h"
#include "device.h"
#include "supervisor.h"

/*
 * The oldest files a scan keeps (536 bytes each, 2.1 MiB; cachefilesd's
 * `culltable` sizes its table for the same reason). With 512, a pass on a
 * cache of 100 000 small files rescanned every 2 MiB culled, 2.5 s a scan
 * in the vm.
 */
#define CANDIDATES 4096
/* Fills between two looks at free space and the quota (watch_fills). */
#define WATCH_BYTES (1u << 20)
/* The kernel's flag stays set until its next space check (a write, a lookup): do not chase it. */
#define SIGNAL_REARM_MS 5000
/* A READ refused for space is held for at most this many passes. */
#define SPACE_RETRIES 3

static void arm_signal(struct supervisor *s, struct culler *c)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLONESHOT, .data.u64 = EV_TAG(EV_TRANSPORT_AUX, 0, 1) };

	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, c->signal_fd, &ev) == 0)
		c->signal_armed = true;
}

/* ---- triggers ---- */

/* Once a second while idle: our own look at the fs and the quota. */
static void check_space(struct supervisor *s, struct culler *c)
{
	uint64_t now = now_ms(), estimate;
	enum space_pressure p;

	if (now < c->next_check_ms || pass_sample(s, c) < 0)
		return;
	c->next_check_ms = now + CHECK_MS;
	if (!c->signal_armed && now >= c->rearm_at_ms)
		arm_signal(s, c);
	if (now < c->hold_until_ms)
		return;
	estimate = pass_cache_estimate(s, c);
	p = space_pressure(&s->cfg.space, &s->space.fs, estimate);
	if (p != SPACE_ROOM_OK)
		pass_begin(s, c, p);
	else if (s->cfg.space.max_size && now >= c->next_quota_scan_ms &&
		 (!s->space.scans || pass_bytes_written(s) != c->written_at_scan))
		pass_begin(s, c, SPACE_OVER_QUOTA); /* measures the cache; culls only if it is over */
	else if (pass_wants_prepare(s, c, now))
		pass_prepare_scan(s, c, now);
}

/* Each tick while a pass runs, a fresh look (a scan step samples nothing): fstatvfs costs a few us. */
static void update_pacing(struct supervisor *s, struct culler *c)
{
	s->space.pacing = c->phase != CULL_IDLE && !c->prepare && pass_sample(s, c) == 0 &&
			  space_should_pace(&s->cfg.space, &s->space.fs);
}

static void on_tick(struct supervisor *s, struct culler *c, int dev_fd)
{
	uint64_t expirations;

	if (read(c->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	switch (c->phase) {
	case CULL_IDLE: check_space(s, c); break;
	case CULL_SCANNING: pass_scan_step(s, c); break;
	case CULL_CULLING: pass_cull_step(s, c, dev_fd); break;
	}
	update_pacing(s, c);
	/* Room above the pace level again: what waits goes on while the pass goes on. */
	if (c->n_held && c->phase != CULL_IDLE && !s->space.pacing)
		pass_release_held(s, c);
}

/*
 * EPOLLOUT: the kernel set CACHEFILES_CULLING (cache.c: cachefiles_has_space,
 * daemon.c: cachefiles_daemon_poll). It clears the flag only at its next
 * space check above brun/frun, so the flag may be stale: cull only if our
 * own look finds less than brun/frun free.
 */
static void on_signal(struct supervisor *s, struct culler *c)
{
	struct space_deficit d;

	c->signal_armed = false;
	c->rearm_at_ms = now_ms() + SIGNAL_REARM_MS;
	if ((c->phase != CULL_IDLE && !c->prepare) || pass_sample(s, c) < 0)
		return;
	d = pass_deficit(s, c);
	if (d.bytes || d.files)
		pass_start_or_promote(s, c, SPACE_ROOM_OK);
}

void culler_on_event(struct supervisor *s, struct culler *c, int dev_fd, unsigned index)
{
	if (!c->ready)
		return;
	if (index == 0)
		on_tick(s, c, dev_fd);
	else
		on_signal(s, c);
}

/* ---- life ---- */

static int setup(struct supervisor *s, struct culler *c, int dev_fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_TAG(EV_TRANSPORT_AUX, 0, 0) };

	c->cache_fd = open(s->cfg.cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	c->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	c->signal_fd = fcntl(dev_fd, F_DUPFD_CLOEXEC, 3);
	if (c->cache_fd < 0 || c->cwd_fd < 0 || c->timer_fd < 0 || c->signal_fd < 0)
		return -errno;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, c->timer_fd, &ev) < 0)
		return -errno;
	/* Its own epoll entry (a dup is another one), so EPOLLIN on the device stays the loop's. */
	ev = (struct epoll_event){ .events = EPOLLOUT | EPOLLONESHOT, .data.u64 = EV_TAG(EV_TRANSPORT_AUX, 0, 1) };
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, c->signal_fd, &ev) < 0)
		return -errno;
	c->signal_armed = true;
	return cull_candidates_init(&c->candidates, CANDIDATES);
}

/*
 * After every round of the loop, while idle: each WATCH_BYTES that fills
 * wrote, a look at the fs and the quota. The kernel's signal comes once
 * per episode and our check once a second, and between bcull and bstop a
 * reader may write only a few MiB (3.6 MiB on a 96 MiB fs at 7% and 3%):
 * measured, a check a second let fills be refused.
 */
static void watch_fills(struct supervisor *s, struct culler *c)
{
	uint64_t written = pass_bytes_written(s), estimate;
	enum space_pressure p;

	if ((c->phase != CULL_IDLE && !c->prepare) || written - c->written_seen < WATCH_BYTES)
		return;
	c->written_seen = written;
	if (now_ms() < c->hold_until_ms || pass_sample(s, c) < 0)
		return;
	estimate = pass_cache_estimate(s, c);
	p = space_pressure(&s->cfg.space, &s->space.fs, estimate);
	if (p != SPACE_ROOM_OK)
		pass_start_or_promote(s, c, p);
	else if (c->phase == CULL_IDLE && pass_wants_prepare(s, c, now_ms()))
		pass_prepare_scan(s, c, now_ms());
}

void culler_settle(struct supervisor *s, struct culler *c, int dev_fd)
{
	int r;

	if (c->ready)
		watch_fills(s, c);
	if (c->ready || c->failed)
		return;
	r = setup(s, c, dev_fd);
	if (r < 0) {
		log_error_errno(r, "cache space: the culler cannot start, the cache will not be culled");
		culler_free(c);
		c->failed = true;
		return;
	}
	c->ready = true;
	pass_set_tick(c, CHECK_MS);
}

void culler_object_closed(struct culler *c, const struct object *o)
{
	char vol[256], file[256];

	struct cull_name *n =
		pass_cooked_name(o, vol, file) ? cull_names_get(&c->names, cull_name_hash(vol, file)) : NULL;
	struct cull_candidate k = { .last_use_s = pass_wall_s() };

	if (n) {
		n->closed_s = k.last_use_s;
		snprintf(k.volume_dir, sizeof(k.volume_dir), "%s", vol);
		snprintf(k.file, sizeof(k.file), "%s", file);
		c->recent_lost |= cull_recent_add(&c->recent, &k);
	}
	c->hold_until_ms = 0; /* something may be cullable now */
}

void culler_write_refused(struct supervisor *s, struct culler *c, const char *what)
{
	char numbers[400];
	bool cull_now = c->ready && (c->phase == CULL_IDLE || c->prepare) && now_ms() >= c->hold_until_ms;

	s->space.refused_writes++;
	/* The first refusal of an episode and every 1000th: a full cache refuses every fill. */
	if (c->refused_said && s->space.refused_writes % 1000 != 0) {
		if (cull_now)
			pass_start_or_promote(s, c, SPACE_BELOW_STOP);
		return;
	}
	c->refused_said = true;
	(void)pass_sample(s, c);
	pass_space_numbers(s, numbers, sizeof(numbers));
	log_error("cache space: the kernel refused %s for lack of space, the reader gets an error (%" PRIu64
		  " refused so far): %s; %s",
		  what, s->space.refused_writes, numbers,
		  c->phase != CULL_IDLE || cull_now ? "culling now"
						    : "nothing can be culled, every cache file is in use: " WHAT_TO_DO);
	if (cull_now)
		pass_start_or_promote(s, c, SPACE_BELOW_STOP);
}

bool culler_pace_read(struct supervisor *s, struct culler *c, struct request *r)
{
	/* As the last tick found it, at most a tick (1 ms in a pass) ago: no fstatvfs per READ. */
	if (!c->ready || !s->space.pacing)
		return false;
	if (!pass_hold(c, r))
		return false;
	s->space.paced_reads++;
	return true;
}

bool culler_hold_refused(struct supervisor *s, struct culler *c, struct request *r)
{
	if (!c->ready || c->stuck || now_ms() < c->hold_until_ms || r->space_retries >= SPACE_RETRIES)
		return false;
	if (!pass_hold(c, r))
		return false;
	r->space_retries++;
	s->space.held_fills++;
	pass_start_or_promote(s, c, SPACE_BELOW_STOP);
	return true;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -EBADF;
}

void culler_free(struct culler *c)
{
	cull_scan_end(&c->scan);
	close_fd(&c->cache_fd);
	close_fd(&c->cwd_fd);
	close_fd(&c->timer_fd);
	close_fd(&c->signal_fd);
	cull_names_free(&c->names);
	cull_candidates_free(&c->candidates);
	free(c->held);
	c->held = NULL;
	c->n_held = c->held_room = 0;
	c->ready = false;
}
