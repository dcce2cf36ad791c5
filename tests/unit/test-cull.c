/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The culler on the host: it keeps the oldest files, scans a cache tree in
 * bounded steps, and against a fake device (a socketpair that records each
 * `cull NAME`) culls least recently used files first, never one an open
 * object holds, until the cache is under its quota.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cull-scan.h"
#include "cull.h"
#include "culler.h"
#include "supervisor.h"

int cfs_log_max_priority = 7;

static void oldest_files_are_kept_in_order(void)
{
	struct cull_candidates c;
	struct cull_candidate k = { 0 };

	CHECK_EQ(cull_candidates_init(&c, 100), 0);
	for (int i = 0; i < 100000; i++) {
		k.last_use_s = (i * 7919) % 100000; /* every value once, scrambled */
		cull_candidates_offer(&c, &k);
	}
	cull_candidates_sort(&c);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(cull_candidates_take(&c)->last_use_s, i);
	CHECK(cull_candidates_take(&c) == NULL);
	cull_candidates_free(&c);
}

static void close_times_beat_file_times(void)
{
	struct cull_names m = { 0 };
	uint64_t h = cull_name_hash("Ierofs,a", "Dblob");

	CHECK(cull_names_find(&m, h) == NULL);
	CHECK_EQ(cull_last_use(NULL, 100, 200), 200);
	for (uint64_t i = 0; i < 50000; i++) /* grows */
		CHECK(cull_names_get(&m, cull_name_hash("Ierofs,b", (char[32]){ 0 }) + i + 1));
	cull_names_get(&m, h)->closed_s = 50;
	CHECK_EQ(cull_last_use(cull_names_find(&m, h), 100, 200), 50);
	cull_names_free(&m);
}

static char dir[64] = "/tmp/cfs-cull-XXXXXX";

/* cache/Ierofs,v/@0N/Dfile<i>, 8K each, last used at i * 1000 s after the epoch. */
static void make_tree(unsigned n)
{
	char path[256];

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cache", dir);
	CHECK(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/cache/Ierofs,v", dir);
	CHECK(mkdir(path, 0700) == 0);
	for (unsigned f = 0; f < 4; f++) {
		snprintf(path, sizeof(path), "%s/cache/Ierofs,v/@0%u", dir, f);
		CHECK(mkdir(path, 0700) == 0);
	}
	for (unsigned i = 0; i < n; i++) {
		static char page[8192] = { 1 };
		struct timespec t[2] = { { .tv_sec = 1000000 + i * 1000 }, { .tv_sec = 1000000 + i * 1000 } };
		snprintf(path, sizeof(path), "%s/cache/Ierofs,v/@0%u/Dfile%u", dir, i % 4, i);
		int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		CHECK(fd >= 0 && write(fd, page, sizeof(page)) == sizeof(page) && fsync(fd) == 0);
		CHECK(futimens(fd, t) == 0);
		close(fd);
	}
}

static void count(void *ctx, const struct cull_file *f)
{
	(*(unsigned *)ctx)++;
	CHECK(strcmp(f->volume_dir, "Ierofs,v") == 0 && f->file[0] == 'D' && f->bytes >= 8192);
}

static void scan_goes_in_bounded_steps(void)
{
	struct cull_scan sc;
	unsigned files = 0, steps = 0;
	int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	CHECK_EQ(cull_scan_begin(&sc, root), 0);
	while ((r = cull_scan_step(&sc, 8, count, &files)) == 1)
		steps++;
	CHECK_EQ(r, 0);
	printf("  %u files in %u steps of 8 entries\n", files, steps + 1);
	CHECK_EQ(files, 64);
	CHECK(steps >= 64 / 8);
	cull_scan_end(&sc);
	close(root);
}

static void quota_culls_the_oldest_unused_files(void)
{
	static struct supervisor s;
	struct culler c = { .cache_fd = -1, .cwd_fd = -1, .timer_fd = -1, .signal_fd = -1 };
	struct object proto = { .obj_id = 1, .anon_fd = -1, .state = OBJECT_OPEN, .state_idx = -1, .key_len = 5 };
	struct object *o;
	struct epoll_event ev[8];
	char msg[300], want[64], cwd[256];
	unsigned culled = 0, more;
	uint64_t scans;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	s.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s.cfg.cache_dir = dir;
	/* Thresholds the host fs is above; a quota of 256K against 64 files of 8K+ (at least 512K). */
	s.cfg.space = (struct space_limits){ .blocks = { 2, 1, 0 }, .files = { 2, 1, 0 }, .max_size = 256 << 10 };
	memcpy(proto.key, "file0", 5);
	snprintf(proto.volume, sizeof(proto.volume), "erofs,v");
	CHECK_EQ(objects_insert(&s.objects, &proto, &o), 0); /* the oldest file is in use */
	CHECK(getcwd(cwd, sizeof(cwd)));
	culler_settle(&s, &c, sv[0]);
	CHECK(c.ready);
	while (s.space.scans == 0 || s.space.culling) {
		int n = epoll_wait(s.epoll_fd, ev, 8, 3000);
		CHECK(n > 0);
		for (int i = 0; i < n; i++)
			culler_on_event(&s, &c, sv[0], EV_INDEX(ev[i].data.u64));
	}
	memset(msg, 0, sizeof(msg));
	while (recv(sv[1], msg, sizeof(msg) - 1, MSG_DONTWAIT) > 0) {
		snprintf(want, sizeof(want), "cull Dfile%u", culled + 1); /* oldest first, file0 skipped */
		CHECK(strcmp(msg, want) == 0);
		culled++;
		memset(msg, 0, sizeof(msg));
	}
	printf("  culled %u files, %llu bytes; cache %llu bytes, %llu in use\n", culled,
	       (unsigned long long)s.space.culled_bytes, (unsigned long long)s.space.cache_bytes,
	       (unsigned long long)s.space.in_use_bytes);
	CHECK(culled > 0 && culled < 63);
	/* It stops as soon as the cache is 2/16 under the quota: one file less would not do. */
	CHECK(s.space.cache_bytes + 8192 > (256 << 10) - (32 << 10));
	CHECK_EQ(s.space.culled, culled);
	CHECK(s.space.cache_bytes <= (256 << 10) - (32 << 10));
	CHECK(s.space.in_use_bytes >= 8192);
	CHECK(strcmp(getcwd(msg, sizeof(msg)), cwd) == 0); /* back where it was */

	/* A lower quota: the next pass culls the last scan's leftovers at once, oldest first, scanning nothing. */
	scans = s.space.scans;
	s.cfg.space.max_size = 200 << 10;
	culler_write_refused(&s, &c, "a test fill");
	CHECK(s.space.culling);
	while (s.space.culling) {
		int n = epoll_wait(s.epoll_fd, ev, 8, 3000);
		CHECK(n > 0);
		for (int i = 0; i < n; i++)
			culler_on_event(&s, &c, sv[0], EV_INDEX(ev[i].data.u64));
	}
	more = 0;
	memset(msg, 0, sizeof(msg));
	while (recv(sv[1], msg, sizeof(msg) - 1, MSG_DONTWAIT) > 0) {
		snprintf(want, sizeof(want), "cull Dfile%u", culled + more + 1);
		CHECK(strcmp(msg, want) == 0);
		more++;
		memset(msg, 0, sizeof(msg));
	}
	printf("  with a lower quota: %u more culled, scans %llu -> %llu\n", more, (unsigned long long)scans,
	       (unsigned long long)s.space.scans);
	CHECK(more > 0);
	CHECK_EQ(s.space.scans, scans);
	culler_free(&c);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	char cmd[128];

	RUN(oldest_files_are_kept_in_order);
	RUN(close_times_beat_file_times);
	make_tree(64);
	RUN(scan_goes_in_bounded_steps);
	RUN(quota_culls_the_oldest_unused_files);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	return 0;
}
