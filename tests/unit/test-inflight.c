/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The in-flight table: FIFO for new requests, head for ones a dead worker returns, per-domain dequeue. */
#include <errno.h>

#include "check.h"
#include "inflight.h"

int cfs_log_max_priority;

static struct request *add(struct inflight *t, uint32_t msg_id, unsigned domain)
{
	struct request proto = { .msg_id = msg_id, .domain = domain }, *r;

	CHECK_EQ(inflight_add(t, &proto, &r), 0);
	inflight_enqueue(t, r, 0);
	return r;
}

static void fifo_with_returns_at_the_head(void)
{
	struct inflight t = { 0 };
	struct request *a = add(&t, 1, 0), *b = add(&t, 2, 0);

	add(&t, 3, 0);
	CHECK(inflight_dequeue(&t, 0) == a);
	CHECK(inflight_dequeue(&t, 0) == b);
	a->worker = 5;
	inflight_enqueue(&t, a, 1); /* its worker died: it goes first */
	CHECK_EQ(a->worker, NO_WORKER);
	CHECK(inflight_dequeue(&t, 0) == a);
	CHECK_EQ(inflight_dequeue(&t, 0)->msg_id, 3);
	CHECK(inflight_dequeue(&t, 0) == NULL);
	CHECK_EQ(t.count, 3);
	CHECK_EQ(t.queued, 0);
	inflight_free(&t);
}

static void duplicate_msg_ids_are_refused(void)
{
	struct inflight t = { 0 };
	struct request proto = { .msg_id = 9 }, *r;

	add(&t, 9, 0);
	CHECK_EQ(inflight_add(&t, &proto, &r), -EEXIST);
	CHECK(inflight_get(&t, 9) != NULL);
	inflight_free(&t);
}

static void dequeue_is_per_domain_and_remove_unlinks(void)
{
	struct inflight t = { 0 };
	struct request *x = add(&t, 1, 1);

	add(&t, 2, 0);
	add(&t, 3, 1);
	CHECK_EQ(inflight_queued(&t, 0), 1);
	CHECK_EQ(inflight_queued(&t, 1), 2);
	CHECK_EQ(inflight_queued(&t, 7), 0); /* a domain never seen */
	CHECK(inflight_dequeue(&t, 1) == x);
	CHECK_EQ(inflight_queued(&t, 1), 1);
	CHECK_EQ(inflight_dequeue(&t, 0)->msg_id, 2);
	CHECK_EQ(inflight_queued(&t, 0), 0);
	/* Removing a queued request takes it off the queue too. */
	inflight_remove(&t, inflight_get(&t, 3));
	CHECK(inflight_dequeue(&t, 1) == NULL);
	CHECK_EQ(t.queued, 0);
	CHECK_EQ(inflight_queued(&t, 1), 0);
	CHECK(inflight_get(&t, 3) == NULL);
	inflight_free(&t);
}

int main(void)
{
	RUN(fifo_with_returns_at_the_head);
	RUN(duplicate_msg_ids_are_refused);
	RUN(dequeue_is_per_domain_and_remove_unlinks);
	return 0;
}
