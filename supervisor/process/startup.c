/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "startup.h"

#include <inttypes.h>
#include <stdio.h>

#include "cfs-log.h"
#include "loop.h"
#include "pool.h"

int supervisor_startup(struct supervisor *s)
{
	uint64_t t0 = now_ms();
	int recovered, r;

	s->started_ms = t0;
	recovered = s->transport->start(s);
	if (recovered < 0)
		return recovered;
	r = loop_setup(s);
	for (unsigned i = 0; r == 0 && i < s->n_domains; i++)
		r = pool_start(s, &s->domains[i]);
	if (r < 0)
		return r;
	log_notice("cachefiles-supervisor %s serving cache %s (tag %s): %s, start %u, %d objects recovered, "
		   "in %" PRIu64 " ms",
		   CFS_VERSION, s->cfg.cache_dir, s->cfg.tag, s->resumed ? "device recovered" : "fresh bind", s->starts,
		   recovered, now_ms() - t0);
	return 0;
}
