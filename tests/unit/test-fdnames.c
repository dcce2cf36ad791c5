/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Object fd names: short whatever the object ids, read back exactly, and all of them within LISTEN_FDNAMES's limit. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "fdnames.h"

int cfs_log_max_priority;

static void names_read_back(void)
{
	static const uint32_t idx[] = { 0, 1, 61, 62, 3843, 3844, MAX_OBJECTS_LIMIT - 1, 238327 };
	char name[FDNAME_OBJECT_SIZE];
	uint32_t got;
	uint8_t gen;

	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		for (unsigned g = 0; g < FDNAME_GENERATIONS; g += 61) {
			fdname_of_object(idx[i], (uint8_t)g, name);
			CHECK_EQ(fdname_parse_object(name, &got, &gen), 0);
			CHECK_EQ(got, idx[i]);
			CHECK_EQ(gen, g);
		}
	}
	fdname_of_object(3844, 1, name);
	CHECK(strcmp(name, "1001") == 0); /* 3844 = 62^2: "100", then generation 1 */
}

static void other_names_are_not_objects(void)
{
	static const char *const bad[] = { FDNAME_DEVICE, FDNAME_STATE, "", "a", "obj-12", "ab-c", "a:b", "abcdef" };
	uint32_t idx, obj_id;
	uint8_t gen;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(fdname_parse_object(bad[i], &idx, &gen), -EINVAL);
	/* A predecessor's names still parse, by object id. */
	CHECK_EQ(fdname_parse_legacy("obj-4294967295", &obj_id), 0);
	CHECK_EQ(obj_id, 4294967295u);
	CHECK_EQ(fdname_parse_legacy("obj-4294967296", &obj_id), -EINVAL);
	CHECK_EQ(fdname_parse_legacy("obj-", &obj_id), -EINVAL);
	CHECK_EQ(fdname_parse_legacy("5a", &obj_id), -EINVAL);
}

/* The worst case counted by building it, not by the formula it tests. */
static size_t joined_len(uint32_t n)
{
	char name[FDNAME_OBJECT_SIZE];
	size_t len = strlen(FDNAME_DEVICE) + 1 + strlen(FDNAME_STATE);

	for (uint32_t i = 0; i < n; i++) {
		fdname_of_object(i, FDNAME_GENERATIONS - 1, name);
		len += 1 + strlen(name);
	}
	return len;
}

static void every_allowed_count_fits_listen_fdnames(void)
{
	static const uint32_t counts[] = { 0, 1, 62, 63, 3844, 3845, 20000, MAX_OBJECTS_LIMIT };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		CHECK_EQ(fdnames_worst_len(counts[i]), joined_len(counts[i]));
	CHECK(fdnames_worst_len(MAX_OBJECTS_LIMIT) <= FDNAMES_ENV_MAX);
	CHECK(fdnames_worst_len(20000) <= FDNAMES_ENV_MAX);
	/* The limit is not far below what would fit (the names are the reason for it). */
	CHECK(fdnames_worst_len(MAX_OBJECTS_LIMIT + 1000) > FDNAMES_ENV_MAX);
	printf("# LISTEN_FDNAMES at most %zu bytes for %u objects, %zu for 20000 (limit %zu)\n",
	       fdnames_worst_len(MAX_OBJECTS_LIMIT), MAX_OBJECTS_LIMIT, fdnames_worst_len(20000),
	       (size_t)FDNAMES_ENV_MAX);
}

int main(void)
{
	RUN(names_read_back);
	RUN(other_names_are_not_objects);
	RUN(every_allowed_count_fits_listen_fdnames);
	return 0;
}
