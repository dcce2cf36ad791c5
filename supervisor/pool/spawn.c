/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "spawn.h"

#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "sandbox.h"
#include "wire.h"

/*
 * What the worker inherits of our environment: nothing but CFS_TEST_*, which
 * only the test worker build reads (it is how vm scenarios configure it).
 * An unknown environment is input the worker has no reason to trust.
 */
static void worker_environment(char **envp, size_t max)
{
	size_t n = 0;

	for (char **e = environ; *e && n + 1 < max; e++)
		if (strncmp(*e, "CFS_TEST_", 9) == 0)
			envp[n++] = *e;
	envp[n] = NULL;
}

bool spawn_same_binary(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* A program exported from another binary than the one about to run would not fit it. */
static bool runs_exported_binary(int exe_fd, const struct stat *exported)
{
	struct stat st;

	return fstat(exe_fd, &st) == 0 && spawn_same_binary(&st, exported);
}

/* The fds a child starts with, at their fixed numbers; every other one closed. */
static void place_fds(const struct domain *d, int sock, int program_fd)
{
	int null_fd;
	/* Via high numbers first: any source may sit on another's target. */
	int sock_hi = fcntl(sock, F_DUPFD, 16), dir_hi = fcntl(d->blob_dir_fd, F_DUPFD, 16);
	int program_hi = program_fd >= 0 ? fcntl(program_fd, F_DUPFD, 16) : -1;

	if (sock_hi < 0 || dir_hi < 0 || dup2(sock_hi, WORKER_IPC_FD) < 0 || dup2(dir_hi, WORKER_BLOB_DIR_FD) < 0)
		_exit(127);
	if (program_fd >= 0 && (program_hi < 0 || dup2(program_hi, WORKER_PROGRAM_FD) < 0))
		_exit(127);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0) {
		fprintf(stderr, "<3>cachefiles-worker: /dev/null: %s\n", strerror(errno));
		_exit(127);
	}
	if (syscall(SYS_close_range, program_fd >= 0 ? WORKER_PROGRAM_FD + 1 : WORKER_PROGRAM_FD, ~0U, 0) < 0)
		_exit(127);
}

/*
 * Runs in the forked child only, so it never returns: on any failure it
 * _exit()s (the supervisor sees a worker that died before HELLO and backs
 * off). Order matters and is fixed:
 *  1. own session, so a terminal's signals do not reach workers;
 *  2. the IPC socket, blob dir and seccomp program at fixed numbers,
 *     /dev/null on stdin and stdout, stderr kept for logging, every other fd
 *     closed (anon fds, the device, epoll: a worker holds only what it is
 *     given);
 *  3. the sandbox (sandbox.c): ids, capabilities, namespaces, root, rlimits,
 *     no_new_privs, parent-death signal;
 *  4. default signal mask (the supervisor blocks signals for its signalfd);
 *  5. exec by fd: the binary's path is not in the worker's root.
 * An exporter (plan->export) runs the same binary in the same sandbox to
 * write the program, and never serves.
 */
static _Noreturn void exec_worker_child(const struct settings *cfg, const struct domain *d,
					const struct spawn_plan *plan, int sock, pid_t parent)
{
	char slot_arg[16], *envp[16], *argv[10];
	bool program = plan->program_fd >= 0;
	size_t n = 0;
	sigset_t none;
	int exe_fd;

	if (setsid() < 0)
		_exit(127);
	place_fds(d, sock, plan->program_fd);
	exe_fd = sandbox_apply_child(&d->sandbox, cfg->worker_exe, parent);
	/* Replaced on disk since the export: this worker compiles its own. */
	if (program && !plan->export && !runs_exported_binary(exe_fd, &d->program.exe)) {
		close(WORKER_PROGRAM_FD);
		program = false;
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	snprintf(slot_arg, sizeof(slot_arg), "%u", plan->slot);
	argv[n++] = (char *)"cachefiles-worker";
	argv[n++] = (char *)"--domain";
	argv[n++] = (char *)d->name;
	if (plan->export) {
		argv[n++] = (char *)"--export-seccomp-program";
	} else {
		argv[n++] = (char *)"--slot";
		argv[n++] = slot_arg;
		argv[n++] = (char *)"--seccomp";
		argv[n++] = (char *)(d->settings.seccomp_log ? "log" : "enforce");
		if (program)
			argv[n++] = (char *)"--seccomp-program";
	}
	argv[n] = NULL;
	worker_environment(envp, ARRAY_SIZE(envp));
	execveat(exe_fd, "", argv, envp, AT_EMPTY_PATH);
	fprintf(stderr,
		"<3>cachefiles-worker: cannot execute %s in the worker sandbox: %s (its ELF interpreter and "
		"libraries must be under /usr/lib, /usr/lib64, /lib or /lib64)\n",
		cfg->worker_exe, strerror(errno));
	_exit(127);
}

int spawn_worker(const struct settings *cfg, const struct domain *d, const struct spawn_plan *plan, pid_t *pid,
		 int *pidfd, int *sock)
{
	_cleanup_close_ int ours = -EBADF, theirs = -EBADF;
	pid_t parent = getpid(), child;
	int sv[2], fd;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return log_error_errno(-errno, "domain %s: socketpair for a worker failed", d->name);
	ours = sv[0];
	theirs = sv[1];
	child = fork();
	if (child < 0)
		return log_error_errno(-errno, "domain %s: fork of a worker failed", d->name);
	if (child == 0)
		exec_worker_child(cfg, d, plan, theirs, parent);

	fd = (int)syscall(SYS_pidfd_open, child, 0);
	if (fd < 0) {
		int r = -errno;
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return log_error_errno(r, "domain %s: pidfd_open for worker %d failed", d->name, (int)child);
	}
	fcntl(ours, F_SETFL, O_NONBLOCK);
	*pid = child;
	*pidfd = fd;
	*sock = TAKE_FD(ours);
	return 0;
}
