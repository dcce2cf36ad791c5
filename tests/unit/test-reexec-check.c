/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Nothing is replaced on a bad re-exec or start (issue 17, item 3): before a
 * re-exec the new binary (argv[1], the built supervisor) checks the running
 * command line with --check-config, and a refusal names what to fix: the
 * file and line, a missing blob dir, a moved worker binary or supervisor
 * binary. A start with one blob dir missing serves the other domains.
 */
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "check.h"
#include "domains.h"
#include "reexec.h"

int cfs_log_max_priority = 2; /* the refusals are expected: keep the test log quiet */

static const char *supervisor_bin;
static char dir[64], conf[128], blobs[128], blobs2[128], cache[PATH_MAX], device[64] = "/dev/null";

static void write_conf(const char *second_blob_dir, const char *extra)
{
	FILE *f = fopen(conf, "w");

	CHECK(f);
	fprintf(f, "[cache]\ndir = %s\ndevice = %s\n", cache, device);
	fprintf(f, "\n[domain a]\nvolume = erofs,a-*\nblob_dir = %s\nworker_user = nobody\n", blobs);
	fprintf(f, "\n[domain b]\nvolume = erofs,b-*\nblob_dir = %s\nworker_user = nobody\n%s", second_blob_dir, extra);
	CHECK(fclose(f) == 0);
}

/* reexec_check() with the built binary and this command line; why gets the refusal. */
static int check(const char *self, const char *worker, char *why, size_t size)
{
	char *argv[] = { (char *)"cachefiles-supervisor", (char *)"-c",	  conf,
			 (char *)"--worker-exe",	  (char *)worker, NULL };
	struct supervisor s = { .self_exe = self, .argv = argv };

	why[0] = '\0';
	return reexec_check(&s, why, size);
}

static void expect_refused(int r, const char *why, const char *want)
{
	CHECK(r < 0);
	if (!strstr(why, want) || !strstr(why, "re-exec refused, still serving")) {
		fprintf(stderr, "refusal: %s\nexpected it to name: %s\n", why, want);
		exit(1);
	}
}

static void test_reexec_is_checked_first(void)
{
	char why[512], want[256];

	write_conf(blobs2, "");
	CHECK_EQ(check(supervisor_bin, "/bin/true", why, sizeof(why)), 0);

	write_conf(blobs2, "workers = many\n"); /* line 14 */
	snprintf(want, sizeof(want), "%s:14: ", conf);
	expect_refused(check(supervisor_bin, "/bin/true", why, sizeof(why)), why, want);

	write_conf("/nonexistent/blobs", ""); /* line 12 */
	snprintf(want, sizeof(want), "%s:12: blob_dir '/nonexistent/blobs' does not exist", conf);
	expect_refused(check(supervisor_bin, "/bin/true", why, sizeof(why)), why, want);

	write_conf(blobs2, "");
	expect_refused(check(supervisor_bin, "/nonexistent/worker", why, sizeof(why)), why,
		       "worker binary /nonexistent/worker (use --worker-exe): No such file or directory");
	expect_refused(check("/nonexistent/supervisor", "/bin/true", why, sizeof(why)), why,
		       "cannot execute /nonexistent/supervisor");
}

static void test_start_serves_the_domains_it_can(void)
{
	static struct config config;
	struct supervisor s = { 0 };

	write_conf("/nonexistent/blobs", "");
	CHECK_EQ(domains_load_config(conf, &config), -EINVAL); /* a reload or check refuses it */
	CHECK_EQ(domains_load_config_at_start(conf, &config), 0);
	CHECK_EQ(domains_from_config(&s, &config), 0);
	s.config_path = conf;
	CHECK_EQ(domains_prepare(&s), 1);
	CHECK_EQ(s.domains[0].state, DOMAIN_ACTIVE);
	CHECK(s.domains[0].blob_dir_fd >= 0);
	CHECK_EQ(s.domains[1].state, DOMAIN_UNUSED);
	CHECK_EQ(domains_route(&s, "erofs,a-1"), 0);
	CHECK_EQ(domains_route(&s, "erofs,b-1"), -ENOENT);
	CHECK(strstr(domains_refusal(), "domain b: blob dir /nonexistent/blobs"));

	/* Fixed on disk: a reload brings it back. */
	write_conf(blobs2, "");
	CHECK_EQ(domains_reload(&s), 0);
	CHECK_EQ(domains_route(&s, "erofs,b-1"), 1);
	for (unsigned i = 0; i < s.n_domains; i++)
		if (s.domains[i].blob_dir_fd >= 0)
			close(s.domains[i].blob_dir_fd);
	free(s.domains);
	config_free(&config);
}

/* What bind would refuse is refused before: no device, a cache dir on tmpfs (issue 20). */
static void test_cache_and_device_are_checked(void)
{
	char why[512], saved[sizeof(cache)];
	struct statfs fs;

	snprintf(device, sizeof(device), "/nonexistent/cachefiles");
	write_conf(blobs2, "");
	expect_refused(check(supervisor_bin, "/bin/true", why, sizeof(why)), why,
		       "/nonexistent/cachefiles: No such file or directory (load the cachefiles module");
	snprintf(device, sizeof(device), "/dev/null");
	memcpy(saved, cache, sizeof(cache));
	snprintf(cache, sizeof(cache), "%s/not-there", dir);
	write_conf(blobs2, "");
	expect_refused(check(supervisor_bin, "/bin/true", why, sizeof(why)), why,
		       "not-there: No such file or directory");
	if (statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
		snprintf(cache, sizeof(cache), "/dev/shm");
		write_conf(blobs2, "");
		expect_refused(check(supervisor_bin, "/bin/true", why, sizeof(why)), why,
			       "cache dir /dev/shm is on tmpfs, which cachefiles cannot use (no sync_fs)");
	} else {
		printf("# /dev/shm is no tmpfs here: the tmpfs refusal is not tried\n");
	}
	memcpy(cache, saved, sizeof(cache));
}

/* A transport whose fds to pass are as many, with names as long, as the test says. */
static unsigned fake_fds;
static size_t fake_name_len;

static int fake_hand_over(struct supervisor *s, transport_pass_fd pass, void *ctx)
{
	char name[256];

	memset(name, 'n', fake_name_len);
	name[fake_name_len] = '\0';
	for (unsigned i = 0; i < fake_fds; i++) {
		int r = pass(ctx, -1, name);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * A re-exec whose LISTEN_FDNAMES would pass 128 KiB, or whose fds would not
 * fit twice within the fd limit, is refused while the loop still serves
 * (issue 16).
 */
static void test_reexec_refused_when_fds_do_not_fit(void)
{
	static const struct transport_ops fake = { .name = "fake", .hand_over = fake_hand_over };
	struct supervisor s = { .transport = &fake };
	struct rlimit was, rl;
	char why[512] = "";

	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &was), 0);
	rl = (struct rlimit){ was.rlim_max, was.rlim_max };
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	CHECK(rl.rlim_cur >= 2 * 700 + 256);
	fake_fds = 700;
	fake_name_len = 4;
	CHECK_EQ(reexec_fits(&s, why, sizeof(why)), 0);
	fake_name_len = 200; /* 700 * 201 bytes: more than one environment string may hold */
	CHECK_EQ(reexec_fits(&s, why, sizeof(why)), -E2BIG);
	CHECK(strstr(why, "re-exec refused, still serving: the names of the 700 fds to pass make a LISTEN_FDNAMES "
			  "of 140715 bytes, over Linux's 131072") == why);
	rl.rlim_cur = 1024; /* 700 fds twice do not fit */
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	fake_name_len = 4;
	CHECK_EQ(reexec_fits(&s, why, sizeof(why)), -EMFILE);
	CHECK(strstr(why, "re-exec refused, still serving: passing 700 fds needs 1656 open at once, over the fd limit "
			  "(RLIMIT_NOFILE) of 1024") == why);
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &was), 0);
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	supervisor_bin = argv[1];
	snprintf(dir, sizeof(dir), "/tmp/test-reexec-check-%d", (int)getpid());
	snprintf(conf, sizeof(conf), "%s/test.conf", dir);
	snprintf(blobs, sizeof(blobs), "%s/blobs", dir);
	snprintf(blobs2, sizeof(blobs2), "%s/blobs2", dir);
	CHECK(mkdir(dir, 0700) == 0 && mkdir(blobs, 0700) == 0 && mkdir(blobs2, 0700) == 0);
	/* Not under /tmp, which may be a tmpfs: meson runs tests in the build dir. */
	CHECK(getcwd(cache, sizeof(cache) - 32));
	snprintf(cache + strlen(cache), 32, "/test-reexec-cache-%d", (int)getpid());
	CHECK(mkdir(cache, 0700) == 0);
	RUN(test_reexec_is_checked_first);
	RUN(test_cache_and_device_are_checked);
	RUN(test_start_serves_the_domains_it_can);
	RUN(test_reexec_refused_when_fds_do_not_fit);
	unlink(conf);
	rmdir(blobs);
	rmdir(blobs2);
	rmdir(cache);
	rmdir(dir);
	return 0;
}
