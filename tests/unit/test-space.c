/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cache space: the thresholds reach a freshly opened device in an order
 * its per-command checks accept, whatever the config says; the verdicts
 * the culler starts and stops on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "device.h"
#include "space.h"

int cfs_log_max_priority = 7;

/* The kernel's checks, one command at a time (daemon.c: cachefiles_daemon_brun, _bcull, _bstop). */
static bool kernel_takes(struct space_levels *k, char which, unsigned v)
{
	if (which == 'r' && (v <= k->cull || v >= 100))
		return false;
	if (which == 'c' && (v <= k->stop || v >= k->run))
		return false;
	if (which == 's' && v >= k->cull)
		return false;
	*(which == 'r' ? &k->run : which == 'c' ? &k->cull : &k->stop) = v;
	return true;
}

/* Every valid (stop, cull, run): C(100, 3) = 161 700 of them. */
static struct space_levels all_levels[161700];

static void list_all_levels(void)
{
	unsigned n = 0;

	for (unsigned run = 2; run < 100; run++)
		for (unsigned cull = 1; cull < run; cull++)
			for (unsigned stop = 0; stop < cull; stop++)
				all_levels[n++] = (struct space_levels){ .run = run, .cull = cull, .stop = stop };
	CHECK_EQ(n, 161700);
}

/* Valid targets from valid starts (the kernel's defaults first): all three commands pass. */
static void every_valid_target_is_reached_from_every_start(void)
{
	unsigned pairs = 0;

	list_all_levels();
	for (unsigned f = 0; f <= 161700 / 97; f++)
		for (unsigned t = 0; t < 161700; t += 31) {
			const struct space_levels from = f ? all_levels[(f - 1) * 97] : SPACE_KERNEL_DEFAULTS;
			const struct space_levels *to = &all_levels[t];
			struct space_levels k = from;
			char order[3];
			space_levels_order(&from, to, order);
			for (int i = 0; i < 3; i++)
				CHECK(kernel_takes(&k, order[i],
						   order[i] == 'r'   ? to->run
						   : order[i] == 'c' ? to->cull
								     : to->stop));
			CHECK(k.run == to->run && k.cull == to->cull && k.stop == to->stop);
			pairs++;
		}
	printf("  %u (start, target) pairs\n", pairs);
}

/* What device_bind() writes, one command per message, as the kernel reads one per write(). */
static void bind_sends_thresholds_before_bind(void)
{
	struct space_limits l = { .blocks = { 4, 3, 2 }, .files = { 50, 40, 30 } };
	const char *want[] = { "dir /var/cache/x", "tag t",	"bstop 2%",  "bcull 3%",     "brun 4%",
			       "frun 50%",	   "fcull 40%", "fstop 30%", "bind ondemand" };
	char got[128];
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK_EQ(device_bind(sv[0], "/var/cache/x", "t", &l), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ssize_t n = recv(sv[1], got, sizeof(got) - 1, MSG_DONTWAIT);
		CHECK(n > 0);
		got[n] = '\0';
		printf("  %s\n", got);
		CHECK(strcmp(got, want[i]) == 0);
	}
	CHECK(recv(sv[1], got, sizeof(got), MSG_DONTWAIT) < 0);
	close(sv[0]);
	close(sv[1]);
}

static const struct space_sample fs = {
	.blocks = 100000, .blocks_free = 50000, .files = 1000, .files_free = 500, .block_size = 4096
};

/* Culling starts below cull or 1/16 under the quota, and stops at run free and the quota less 2/16. */
static void verdicts_follow_the_thresholds_and_quota(void)
{
	struct space_limits l = { .blocks = { 10, 7, 3 }, .files = { 10, 7, 3 } };
	struct space_sample low = fs;
	struct space_deficit d;

	CHECK_EQ(space_pressure(&l, &fs, 1ull << 40), SPACE_ROOM_OK); /* no quota: the cache's size is no matter */
	low.blocks_free = 6999;
	CHECK_EQ(space_pressure(&l, &low, 0), SPACE_BELOW_CULL);
	d = space_deficit(&l, &low, 0);
	CHECK_EQ(d.bytes, 3001ull * 4096);
	CHECK_EQ(d.files, 0);
	low.blocks_free = 2999;
	CHECK_EQ(space_pressure(&l, &low, 0), SPACE_BELOW_STOP);
	low = fs;
	low.files_free = 69;
	CHECK_EQ(space_pressure(&l, &low, 0), SPACE_BELOW_CULL);
	CHECK_EQ(space_deficit(&l, &low, 0).files, 31);

	l.max_size = 16ull << 20;
	CHECK_EQ(space_pressure(&l, &fs, 15ull << 20), SPACE_ROOM_OK);
	CHECK_EQ(space_pressure(&l, &fs, (15ull << 20) + 1), SPACE_OVER_QUOTA);
	d = space_deficit(&l, &fs, (15ull << 20) + 1);
	CHECK_EQ(d.bytes, (1ull << 20) + 1);
	CHECK_EQ(space_deficit(&l, &fs, 14ull << 20).bytes, 0);
}

/* Fills wait for a pass below halfway between stop and cull, in blocks or in files. */
static void fills_pace_halfway_between_stop_and_cull(void)
{
	struct space_limits l = { .blocks = { 20, 15, 3 }, .files = { 10, 7, 3 } };
	struct space_sample low = fs;

	CHECK_EQ(space_should_pace(&l, &fs), false);
	low.blocks_free = 9000; /* 9%: halfway between 3 and 15 */
	CHECK_EQ(space_should_pace(&l, &low), false);
	low.blocks_free = 8999;
	CHECK_EQ(space_should_pace(&l, &low), true);
	low = fs;
	low.files_free = 49; /* under 5% of the files */
	CHECK_EQ(space_should_pace(&l, &low), true);
	low.files_free = 50;
	CHECK_EQ(space_should_pace(&l, &low), false);
}

int main(void)
{
	RUN(every_valid_target_is_reached_from_every_start);
	RUN(bind_sends_thresholds_before_bind);
	RUN(verdicts_follow_the_thresholds_and_quota);
	RUN(fills_pace_halfway_between_stop_and_cull);
	return 0;
}
