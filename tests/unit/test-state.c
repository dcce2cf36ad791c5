/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The state memfd: records survive adoption by a successor; torn or cleared ones do not count. */
#include <string.h>
#include <unistd.h>

#include <errno.h>

#include "check.h"
#include "fdnames.h"
#include "state.h"

int cfs_log_max_priority;

static struct state_record record(uint32_t obj_id, const char *cookie)
{
	struct state_record rec = { .obj_id = obj_id, .size = 4096ull * obj_id };

	rec.cookie_len = (uint32_t)strlen(cookie);
	memcpy(rec.cookie, cookie, rec.cookie_len);
	strcpy(rec.volume_key, "erofs,img");
	return rec;
}

static void successor_sees_what_was_written(void)
{
	struct state st, next;
	struct state_record a = record(1, "a"), b = record(2, "b"), got;
	int ia, ib;

	CHECK_EQ(state_create(&st), 0);
	CHECK_EQ(state_count_start(&st), 1);
	ia = state_add(&st, &a);
	ib = state_add(&st, &b);
	CHECK(ia >= 0 && ib >= 0 && ia != ib);
	state_clear(&st, (uint32_t)ia);

	CHECK_EQ(state_adopt(&next, dup(st.fd)), 0);
	CHECK_EQ(state_count_start(&next), 2);
	CHECK_EQ(state_read(&next, (uint32_t)ia, &got), -ENOENT); /* cleared */
	CHECK_EQ(state_read(&next, (uint32_t)ib, &got), 0);
	CHECK_EQ(got.obj_id, 2);
	CHECK_EQ(got.size, 8192);
	CHECK(memcmp(got.cookie, "b", 1) == 0);
	/* The freed index is reused first. */
	CHECK_EQ(state_add(&next, &a), ia);
	state_free(&next);
	state_free(&st);
}

static void torn_record_is_ignored(void)
{
	struct state st, next;
	struct state_record a = record(7, "blob"), got;
	int ia;

	CHECK_EQ(state_create(&st), 0);
	state_count_start(&st);
	ia = state_add(&st, &a);
	CHECK(ia >= 0);
	/* A crash mid-write: part of the record changed, the checksum did not. */
	CHECK_EQ(pwrite(st.fd, "X", 1, 1024 * (ia + 1) + 40), 1);
	CHECK_EQ(state_adopt(&next, dup(st.fd)), 0);
	CHECK_EQ(state_read(&next, (uint32_t)ia, &got), -ENOENT);
	CHECK_EQ(next.used[ia], 0);
	state_free(&next);
	state_free(&st);
}

static void grows_past_its_first_chunk(void)
{
	struct state st;
	struct state_record rec = record(1, "k"), got;
	int last = -1;

	CHECK_EQ(state_create(&st), 0);
	for (uint32_t i = 0; i < 600; i++) {
		rec.obj_id = i;
		last = state_add(&st, &rec);
		CHECK(last >= 0);
	}
	CHECK_EQ(state_read(&st, (uint32_t)last, &got), 0);
	CHECK_EQ(got.obj_id, 599);
	state_free(&st);
}

/* The fd name's generation (fdnames.h): a new record at a freed index never reuses the last one's. */
static void each_record_at_an_index_gets_the_next_generation(void)
{
	struct state st, next;
	struct state_record a = record(1, "a"), got;
	uint8_t first;
	int idx;

	CHECK_EQ(state_create(&st), 0);
	idx = state_add(&st, &a);
	CHECK(idx >= 0);
	first = state_generation(&st, (uint32_t)idx);
	CHECK_EQ(state_read(&st, (uint32_t)idx, &got), 0);
	CHECK_EQ(got.fd_gen, first);
	for (unsigned i = 1; i <= 2 * FDNAME_GENERATIONS; i++) {
		state_clear(&st, (uint32_t)idx);
		CHECK_EQ(state_add(&st, &a), idx);
		CHECK_EQ(state_generation(&st, (uint32_t)idx), (first + i) % FDNAME_GENERATIONS);
	}
	/* A successor counts on from the cleared record's generation. */
	state_clear(&st, (uint32_t)idx);
	CHECK_EQ(state_adopt(&next, dup(st.fd)), 0);
	CHECK_EQ(state_generation(&next, (uint32_t)idx), (first + 2 * FDNAME_GENERATIONS) % FDNAME_GENERATIONS);
	CHECK_EQ(state_add(&next, &a), idx);
	CHECK_EQ(state_generation(&next, (uint32_t)idx), (first + 2 * FDNAME_GENERATIONS + 1) % FDNAME_GENERATIONS);
	state_free(&next);
	state_free(&st);
}

int main(void)
{
	RUN(successor_sees_what_was_written);
	RUN(torn_record_is_ignored);
	RUN(grows_past_its_first_chunk);
	RUN(each_record_at_an_index_gets_the_next_generation);
	return 0;
}
