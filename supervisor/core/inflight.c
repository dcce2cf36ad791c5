/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "inflight.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Room to count the domain's queued requests, so inflight_enqueue() never allocates. */
static int count_domain(struct inflight *t, unsigned domain)
{
	uint32_t *p;
	unsigned n = domain + 1;

	if (domain < t->n_queued_in)
		return 0;
	p = realloc(t->queued_in, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + t->n_queued_in, 0, (n - t->n_queued_in) * sizeof(*p));
	t->queued_in = p;
	t->n_queued_in = n;
	return 0;
}

int inflight_add(struct inflight *t, struct request *proto, struct request **ret)
{
	struct request *r;
	int e;

	if (inflight_get(t, proto->msg_id))
		return -EEXIST;
	e = count_domain(t, proto->domain);
	if (e < 0)
		return e;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = *proto;
	r->worker = NO_WORKER;
	r->next = NULL;
	e = idmap_put(&t->by_msg_id, r->msg_id, r);
	if (e < 0) {
		free(r);
		return e;
	}
	t->count++;
	*ret = r;
	return 0;
}

struct request *inflight_get(const struct inflight *t, uint32_t msg_id)
{
	return idmap_get(&t->by_msg_id, msg_id);
}

void inflight_enqueue(struct inflight *t, struct request *r, int at_head)
{
	r->worker = NO_WORKER;
	if (at_head) {
		r->next = t->queue_head;
		t->queue_head = r;
		if (!t->queue_tail)
			t->queue_tail = r;
	} else {
		r->next = NULL;
		if (t->queue_tail)
			t->queue_tail->next = r;
		else
			t->queue_head = r;
		t->queue_tail = r;
	}
	t->queued++;
	t->queued_in[r->domain]++;
}

uint32_t inflight_queued(const struct inflight *t, unsigned domain)
{
	return domain < t->n_queued_in ? t->queued_in[domain] : 0;
}

static void unlink_queued(struct inflight *t, struct request *r)
{
	struct request **pp = &t->queue_head, *prev = NULL;

	while (*pp && *pp != r) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = r->next;
	if (t->queue_tail == r)
		t->queue_tail = prev;
	r->next = NULL;
	t->queued--;
	t->queued_in[r->domain]--;
}

struct request *inflight_dequeue(struct inflight *t, unsigned domain)
{
	for (struct request *r = t->queue_head; r; r = r->next)
		if (r->domain == domain) {
			unlink_queued(t, r);
			return r;
		}
	return NULL;
}

void inflight_hand(struct inflight *t, struct request *r, int worker)
{
	r->worker = worker;
	r->sent_seq = ++t->sends;
}

void inflight_remove(struct inflight *t, struct request *r)
{
	if (r->worker == NO_WORKER)
		unlink_queued(t, r);
	idmap_remove(&t->by_msg_id, r->msg_id);
	t->count--;
	free(r);
}

void inflight_free(struct inflight *t)
{
	for (size_t i = 0; i < t->by_msg_id.capacity; i++)
		free(t->by_msg_id.entries[i].value);
	idmap_free(&t->by_msg_id);
	free(t->queued_in);
	*t = (struct inflight){ 0 };
}
