/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --private-view (issue 16), built for real in a child (it needs root, as
 * the supervisor does): the tree read-only, the writable dir writable,
 * /tmp and /var/tmp hidden but for the dirs kept under them, /dev only the
 * pseudo devices, /proc without its system files; built once, so a
 * re-exec finds it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "view.h"

int cfs_log_max_priority = 6;

static char tmp_root[64], kept_dir[96], other_dir[96], var_root[64], cache_dir[96];

static int count_entries(const char *dir, const char *const *allowed, size_t n_allowed)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		bool ok = !allowed;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		for (size_t i = 0; allowed && i < n_allowed; i++)
			ok |= strcmp(e->d_name, allowed[i]) == 0;
		CHECK(ok);
		n++;
	}
	closedir(d);
	return n;
}

static bool writable(const char *dir)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/probe", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	close(fd);
	unlink(path);
	return true;
}

static void check_view_in_child(void)
{
	static const char *const dev[] = { "null", "zero", "full", "random", "urandom" };
	struct view_paths p = {
		.writable = { cache_dir }, .n_writable = 1, .needed = { kept_dir, "/usr/bin" }, .n_needed = 2
	};
	struct statvfs vfs;
	char file[128];

	CHECK(!view_is_built());
	CHECK_EQ(view_build(&p), 0);
	CHECK(view_is_built());
	CHECK(statvfs("/", &vfs) == 0 && (vfs.f_flag & ST_RDONLY));
	CHECK(!writable("/usr") && errno == EROFS);
	CHECK(writable(cache_dir));
	/* The kept dir under the hidden /tmp: there, read-only, with its file. */
	snprintf(file, sizeof(file), "%s/file", kept_dir);
	CHECK(access(file, R_OK) == 0);
	CHECK(!writable(kept_dir) && errno == EROFS);
	/* Its sibling and everything else of /tmp: gone. */
	CHECK(access(other_dir, F_OK) < 0 && errno == ENOENT);
	CHECK_EQ(count_entries("/tmp", NULL, 0), 1); /* the kept dir's top: tmp_root */
	CHECK(!writable("/tmp") && errno == EROFS);
	CHECK(access("/var/tmp", F_OK) < 0 || count_entries("/var/tmp", NULL, 0) <= 1);
	CHECK(count_entries("/root", NULL, 0) <= 0);
	CHECK(count_entries("/dev", dev, 5) >= 1);
	CHECK(access("/dev/null", W_OK) == 0);
	CHECK(access("/proc/self/exe", F_OK) == 0);
	CHECK(access("/proc/sys", F_OK) < 0);
	exit(0);
}

static void make_dirs(void)
{
	char file[128];
	int fd;

	snprintf(tmp_root, sizeof(tmp_root), "/tmp/cfs-test-view.%d", (int)getpid());
	snprintf(kept_dir, sizeof(kept_dir), "%s/kept", tmp_root);
	snprintf(other_dir, sizeof(other_dir), "%s/other", tmp_root);
	snprintf(var_root, sizeof(var_root), "/var/tmp/cfs-test-view.%d", (int)getpid());
	snprintf(cache_dir, sizeof(cache_dir), "%s/cache", var_root);
	CHECK(mkdir(tmp_root, 0755) == 0 && mkdir(kept_dir, 0755) == 0 && mkdir(other_dir, 0755) == 0);
	CHECK(mkdir(var_root, 0755) == 0 && mkdir(cache_dir, 0755) == 0);
	snprintf(file, sizeof(file), "%s/file", kept_dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	close(fd);
}

static void remove_dirs(void)
{
	char file[128];

	snprintf(file, sizeof(file), "%s/file", kept_dir);
	unlink(file);
	rmdir(kept_dir);
	rmdir(other_dir);
	rmdir(tmp_root);
	rmdir(cache_dir);
	rmdir(var_root);
}

/* Runs CHECKS in a child (the view is entered for good) and returns its exit status. */
static int in_child(void (*checks)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		checks();
	CHECK(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_the_view_is_built_as_promised(void)
{
	int status;

	make_dirs();
	status = in_child(check_view_in_child);
	remove_dirs();
	CHECK_EQ(status, 0);
	/* Nothing of it leaked out to us. */
	CHECK(!view_is_built());
}

/* A cache dir inside a dir kept read-only: the cache is mounted on top, writable. */
static void check_nested_in_child(void)
{
	char nested[128];
	struct view_paths p = { .n_writable = 1, .needed = { kept_dir }, .n_needed = 1 };

	snprintf(nested, sizeof(nested), "%s/cache", kept_dir);
	p.writable[0] = nested;
	CHECK_EQ(view_build(&p), 0);
	CHECK(writable(nested));
	CHECK(!writable(kept_dir) && errno == EROFS);
	exit(0);
}

static void test_a_writable_dir_inside_a_kept_one_stays_writable(void)
{
	char nested[128];
	int status;

	make_dirs();
	snprintf(nested, sizeof(nested), "%s/cache", kept_dir);
	CHECK(mkdir(nested, 0755) == 0);
	status = in_child(check_nested_in_child);
	rmdir(nested);
	remove_dirs();
	CHECK_EQ(status, 0);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test-view needs root (mount namespaces), as the supervisor does\n");
		return 1;
	}
	RUN(test_the_view_is_built_as_promised);
	RUN(test_a_writable_dir_inside_a_kept_one_stays_writable);
	return 0;
}
