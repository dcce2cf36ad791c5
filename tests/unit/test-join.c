/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * READs that join a chunk (pool-join.c): a READ whose pages a worker is
 * filling waits for that chunk, and is completed only if the cache file
 * then holds its pages; anything else sends it to the queue. The "anon fd"
 * is a sparse temporary file, so SEEK_HOLE answers as the cache file's
 * would; no worker runs (chunks are set up as pool-chunks.c records them).
 * It links the pool and the core only: a fake transport takes the answers.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "inflight.h"
#include "pool-join.h"
#include "pool-chunks.h"

int cfs_log_max_priority = 3;

#define M (1024u * 1024u)

static struct supervisor s;
static struct domain domain;
static struct object *obj;
static uint32_t filled_msg_id; /* the last fill the fake transport was told of */
static int64_t filled_result;

static void fake_fill_done(struct supervisor *sv, struct request *r, int64_t result)
{
	filled_msg_id = r->msg_id;
	filled_result = result;
	inflight_remove(&sv->inflight, r);
}

static const struct transport_ops fake_transport = { .name = "fake", .fill_done = fake_fill_done };

/* One domain with two ready workers; one 4 MiB object whose cache file holds [1M, 2M). */
static void setup(void)
{
	char path[] = "/tmp/test-join-XXXXXX";
	static char page[4096];
	struct object proto = { .obj_id = 7, .state = OBJECT_OPEN, .state_idx = -1 };
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	unlink(path);
	CHECK(ftruncate(fd, 4 * M) == 0);
	memset(page, 'x', sizeof(page));
	for (unsigned off = M; off < 2 * M; off += sizeof(page))
		CHECK(pwrite(fd, page, sizeof(page), off) == (ssize_t)sizeof(page));
	s = (struct supervisor){ .domains = &domain, .n_domains = 1, .transport = &fake_transport };
	filled_msg_id = 0;
	filled_result = -1;
	domain = (struct domain){ .state = DOMAIN_ACTIVE, .settings = { .read_window = M, .readahead = 32 * M } };
	for (unsigned i = 0; i < 2; i++)
		domain.workers[i] = (struct worker){ .state = WORKER_READY, .wanted = true, .sock = -1, .pidfd = -1 };
	proto.anon_fd = fd;
	CHECK_EQ(objects_insert(&s.objects, &proto, &obj), 0);
	objects_set_open(&s.objects, obj, 4 * M);
}

static void teardown(void)
{
	close(obj->anon_fd);
	objects_remove(&s.objects, obj);
	objects_free(&s.objects);
	inflight_free(&s.inflight);
}

/* Worker 1 holds chunk chunk_id over [off, off + len) of the object. */
static void hand_chunk(uint32_t chunk_id, uint64_t off, uint64_t len, bool readahead)
{
	domain.workers[1].chunk = (struct chunk){ .id = chunk_id,
						  .readahead = readahead,
						  .obj_id = obj->obj_id,
						  .obj_handle = obj->handle,
						  .off = off,
						  .len = len,
						  .deadline_ms = UINT64_MAX };
	s.chunks_out++;
}

static struct request *read_request(uint32_t msg_id, uint64_t off, uint64_t len)
{
	struct request proto = { .msg_id = msg_id,
				 .kind = REQ_FILL,
				 .obj_id = obj->obj_id,
				 .obj_handle = obj->handle,
				 .off = off,
				 .len = len };
	struct request *r;

	CHECK_EQ(inflight_add(&s.inflight, &proto, &r), 0);
	return r;
}

static void reads_inside_a_chunk_join_it_and_others_do_not(void)
{
	setup();
	hand_chunk(5, M, M, true);
	CHECK(pool_join_chunk(&s, obj, read_request(1, M + 8192, 4096)));
	CHECK_EQ(inflight_get(&s.inflight, 1)->joined_chunk, 5);
	/* Across the chunk's end, or before it: a worker of its own. */
	CHECK(!pool_join_chunk(&s, obj, read_request(2, 2 * M - 4096, 8192)));
	CHECK(!pool_join_chunk(&s, obj, read_request(3, 0, 4096)));
	CHECK_EQ(inflight_get(&s.inflight, 2)->joined_chunk, 0);
	teardown();
}

static void a_filled_chunk_completes_its_reads(void)
{
	setup();
	hand_chunk(5, M, M, true);
	CHECK(pool_join_chunk(&s, obj, read_request(1, M, 128 * 1024)));
	CHECK(pool_chunk_answered(&s, &domain, 1, 5, M) == NULL);
	CHECK(inflight_get(&s.inflight, 1) == NULL);
	CHECK_EQ(filled_msg_id, 1);
	CHECK_EQ(filled_result, 0);
	CHECK_EQ(s.stats.joined, 1);
	CHECK_EQ(s.stats.readahead, M);
	CHECK_EQ(s.chunks_out, 0);
	CHECK_EQ(s.inflight.queued, 0);
	teardown();
}

static void a_chunk_that_left_a_hole_queues_its_reads(void)
{
	setup();
	/* The worker says it filled [2M, 3M); the cache file has a hole there. */
	hand_chunk(6, 2 * M, M, true);
	CHECK(pool_join_chunk(&s, obj, read_request(1, 2 * M + 4096, 4096)));
	CHECK(pool_chunk_answered(&s, &domain, 1, 6, M) == NULL);
	CHECK(inflight_get(&s.inflight, 1) != NULL);
	CHECK_EQ(inflight_get(&s.inflight, 1)->joined_chunk, 0);
	CHECK_EQ(s.inflight.queued, 1);
	CHECK_EQ(s.stats.joined, 0);
	CHECK_EQ(filled_msg_id, 0);
	teardown();
}

static void a_failed_or_lost_chunk_queues_its_reads(void)
{
	setup();
	hand_chunk(5, M, M, true);
	CHECK(pool_join_chunk(&s, obj, read_request(1, M, 4096)));
	CHECK(pool_chunk_answered(&s, &domain, 1, 5, -5 /* EIO */) == NULL);
	CHECK_EQ(s.inflight.queued, 1);
	teardown();

	setup();
	hand_chunk(8, M, M, false);
	CHECK(pool_join_chunk(&s, obj, read_request(1, M, 4096)));
	pool_chunk_lost(&s, &domain, &domain.workers[1], false);
	CHECK_EQ(s.inflight.queued, 1);
	CHECK_EQ(s.chunks_out, 0);
	CHECK_EQ(domain.workers[1].chunk.id, 0);
	teardown();
}

static void a_stale_answer_is_refused(void)
{
	setup();
	hand_chunk(5, M, M, true);
	CHECK(pool_chunk_answered(&s, &domain, 1, 4, M) != NULL);
	CHECK(pool_chunk_answered(&s, &domain, 1, 5, M + 1) != NULL);
	CHECK_EQ(s.chunks_out, 1);
	teardown();
}

int main(void)
{
	RUN(reads_inside_a_chunk_join_it_and_others_do_not);
	RUN(a_filled_chunk_completes_its_reads);
	RUN(a_chunk_that_left_a_hole_queues_its_reads);
	RUN(a_failed_or_lost_chunk_queues_its_reads);
	RUN(a_stale_answer_is_refused);
	return 0;
}
