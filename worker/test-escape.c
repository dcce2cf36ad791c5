/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Escape attempts for the sandbox scenario (test worker only, see
 * test-hooks.h). Each attempt runs its probes that should be refused with
 * an errno first and the one that should kill the worker last.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "test-hooks.h"
#include "wire.h"

static char attempt[32];
static char control_file[64];
static pid_t parent;

static void trying(const char *what)
{
	log_notice("escape %s: pid %d trying %s", attempt, (int)getpid(), what);
}

/* rc and errno straight from the probe. */
static void outcome(const char *what, long rc)
{
	int err = errno;

	if (rc < 0)
		log_notice("escape %s: pid %d %s denied: %s", attempt, (int)getpid(), what, strerror(err));
	else
		log_error("escape %s: pid %d %s SUCCEEDED (returned %ld)", attempt, (int)getpid(), what, rc);
}

/* Logs the call, makes it, logs what came of it (if the worker still lives). */
#define PROBE(call)                      \
	do {                             \
		trying(#call);           \
		long rc_ = (long)(call); \
		outcome(#call, rc_);     \
	} while (0)

static long open2(int dir_fd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = { .flags = (uint64_t)flags | O_CLOEXEC, .resolve = resolve };

	return syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));
}

static void try_device(void)
{
	PROBE(open2(AT_FDCWD, "/dev/cachefiles", O_RDWR, 0));
	PROBE(open("/dev/cachefiles", O_RDWR | O_CLOEXEC));
}

static void try_outside(void)
{
	PROBE(open2(AT_FDCWD, "/etc/passwd", O_RDONLY, 0));
	PROBE(open2(WORKER_BLOB_DIR_FD, "../outside", O_RDONLY, RESOLVE_BENEATH));
	PROBE(open2(WORKER_BLOB_DIR_FD, "../../../srv/outside", O_RDONLY, 0));
	PROBE(open2(WORKER_BLOB_DIR_FD, "/srv/outside", O_RDONLY, 0));
	PROBE(open2(WORKER_BLOB_DIR_FD, control_file, O_WRONLY | O_TRUNC, RESOLVE_BENEATH));
	PROBE(openat(WORKER_BLOB_DIR_FD, "../outside", O_RDONLY | O_CLOEXEC));
}

static void try_execve(void)
{
	char *const argv[] = { (char *)"sh", NULL };

	PROBE(execve("/bin/sh", argv, argv + 1));
}

static void try_write_fd(void)
{
	PROBE(pwrite(9, "x", 1, 0));
	PROBE(pwrite(WORKER_BLOB_DIR_FD, "x", 1, 0));
	PROBE(write(STDOUT_FILENO, "x", 1));
}

static void try_kill(void)
{
	PROBE(kill(parent, SIGKILL));
}

/* clang-format off */
static const struct {
	const char *name;
	void (*fn)(void);
} attempts[] = {
	{ "device", try_device },
	{ "outside", try_outside },
	{ "execve", try_execve },
	{ "write-fd", try_write_fd },
	{ "kill", try_kill },
};
/* clang-format on */

static bool simple_attempt(void)
{
	if (strcmp(attempt, "socket-inet") == 0)
		PROBE(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	else if (strcmp(attempt, "socket-unix") == 0)
		PROBE(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	else if (strcmp(attempt, "ptrace") == 0)
		PROBE(ptrace(PTRACE_ATTACH, parent, NULL, NULL));
	else if (strcmp(attempt, "mount") == 0)
		PROBE(mount("none", "/", "tmpfs", 0, NULL));
	else if (strcmp(attempt, "setuid") == 0)
		PROBE(setuid(0));
	else if (strcmp(attempt, "fork") == 0)
		PROBE(fork());
	else if (strcmp(attempt, "ioctl") == 0)
		PROBE(ioctl(3, FIONREAD, &(int){ 0 }));
	else
		return false;
	return true;
}

void test_hook_escape_prepare(unsigned slot)
{
	const char *file = getenv("CFS_TEST_ESCAPE");
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	if (!file || slot != 0)
		return;
	snprintf(control_file, sizeof(control_file), "%s", file);
	parent = getppid();
	fd = openat(WORKER_BLOB_DIR_FD, control_file, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, attempt, sizeof(attempt) - 1);
	attempt[n > 0 ? n : 0] = '\0';
	attempt[strcspn(attempt, "\n")] = '\0';
}

void test_hook_escape_attempt(void)
{
	bool known;

	if (!attempt[0] || strcmp(attempt, "none") == 0)
		return;
	known = simple_attempt();
	for (size_t i = 0; i < ARRAY_SIZE(attempts) && !known; i++)
		if (strcmp(attempt, attempts[i].name) == 0) {
			attempts[i].fn();
			known = true;
		}
	if (!known)
		log_error("escape %s: no such attempt", attempt);
	else
		log_notice("escape %s: pid %d survived", attempt, (int)getpid());
}
