/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "hub.h"

#include "domains.h"
#include "pool-join.h"
#include "pool.h"

static int hub_route(const struct supervisor *s, const char *volume)
{
	if (s->config)
		return domains_route(s, volume);
	return s->n_domains > 0 ? 0 : -ENOENT;
}

static void hub_submit(struct supervisor *s, struct object *o, struct request *r)
{
	/* A READ whose pages a worker is filling right now waits for that chunk (pool-join.h). */
	if (r->kind == REQ_FILL && pool_join_chunk(s, o, r))
		return;
	inflight_enqueue(&s->inflight, r, 0);
}

static void hub_retire(struct supervisor *s, struct object *o)
{
	unsigned domain = o->domain;

	pool_drop_object(s, o);
	s->transport->forget_object(s, o);
	objects_remove(&s->objects, o);
	domains_object_gone(s, domain);
}

const struct transport_sink hub_sink = {
	.route = hub_route,
	.submit = hub_submit,
	.retire = hub_retire,
};
