/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The id map against a plain array model, through growth and backward-shift deletes. */
#include <stdint.h>

#include "check.h"
#include "idmap.h"

int cfs_log_max_priority;

static void matches_a_model_under_random_churn(void)
{
	enum { KEYS = 4096 };
	static int model[KEYS];
	static int values[KEYS];
	struct idmap m = { 0 };
	uint32_t x = 12345;

	for (int step = 0; step < 200000; step++) {
		x = x * 1103515245u + 12345u;
		uint32_t k = (x >> 8) % KEYS;
		/* Keys far apart as well as cyclic neighbours: map them into a wide range. */
		uint32_t key = k * 2654435761u;
		if (x & 1) {
			CHECK_EQ(idmap_put(&m, key, &values[k]), 0);
			model[k] = 1;
		} else {
			void *got = idmap_remove(&m, key);
			CHECK(got == (model[k] ? &values[k] : NULL));
			model[k] = 0;
		}
	}
	size_t count = 0;
	for (int k = 0; k < KEYS; k++) {
		CHECK(idmap_get(&m, (uint32_t)k * 2654435761u) == (model[k] ? &values[k] : NULL));
		count += (size_t)model[k];
	}
	CHECK_EQ(m.count, count);
	idmap_free(&m);
}

static void key_zero_and_max_work(void)
{
	struct idmap m = { 0 };
	int a, b;

	CHECK(idmap_get(&m, 0) == NULL);
	CHECK_EQ(idmap_put(&m, 0, &a), 0);
	CHECK_EQ(idmap_put(&m, UINT32_MAX, &b), 0);
	CHECK(idmap_get(&m, 0) == &a);
	CHECK(idmap_get(&m, UINT32_MAX) == &b);
	CHECK(idmap_remove(&m, 0) == &a);
	CHECK(idmap_get(&m, UINT32_MAX) == &b);
	idmap_free(&m);
}

int main(void)
{
	RUN(matches_a_model_under_random_churn);
	RUN(key_zero_and_max_work);
	return 0;
}
