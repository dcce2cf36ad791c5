/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "startup.h"

#include <inttypes.h>
#include <stdio.h>

#include "cfs-log.h"
#include "device.h"
#include "fdstore.h"
#include "loop.h"
#include "pool.h"
#include "recover.h"

/* A fresh cache: bind, then store the device at once (invariant 4). */
static int bind_fresh(struct supervisor *s)
{
	int r;

	s->dev_fd = device_open(s->cfg.device_path);
	if (s->dev_fd < 0)
		return s->dev_fd;
	r = device_bind(s->dev_fd, s->cfg.cache_dir, s->cfg.tag);
	if (r < 0)
		return r;
	return fdstore_push(FDNAME_DEVICE, s->dev_fd);
}

static int ensure_state(struct supervisor *s)
{
	int r;

	if (s->state.fd >= 0)
		return 0;
	r = state_create(&s->state);
	if (r < 0)
		return log_error_errno(r, "Cannot create the state memfd: %s", ERRSTR(r));
	return fdstore_push(FDNAME_STATE, s->state.fd);
}

int supervisor_startup(struct supervisor *s)
{
	uint64_t t0 = now_ms();
	int recovered, r;

	s->started_ms = t0;
	recovered = recover_from_listen_fds(s);
	if (recovered < 0)
		return recovered;
	r = ensure_state(s);
	if (r < 0)
		return r;
	if (s->dev_fd < 0) {
		r = bind_fresh(s);
		if (r < 0)
			return r;
	} else {
		/* The kernel re-sends what our predecessor read but never answered. */
		s->restore_wanted = true;
	}
	s->starts = state_count_start(&s->state);
	r = loop_setup(s);
	for (unsigned i = 0; r == 0 && i < s->n_domains; i++)
		r = pool_start(s, &s->domains[i]);
	if (r < 0)
		return r;
	log_notice("cachefiles-supervisor %s serving cache %s (tag %s): %s, start %u, %d objects recovered, "
		   "in %" PRIu64 " ms", CFS_VERSION, s->cfg.cache_dir, s->cfg.tag,
		   s->restore_wanted ? "device recovered" : "fresh bind", s->starts, recovered, now_ms() - t0);
	return 0;
}
