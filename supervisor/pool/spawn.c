/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "spawn.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/mman.h>
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

/* A remote domain's CAs and credentials for a new worker, sealed memfds; -EBADF: none. */
struct remote_fds {
	int ca_fd, cred_fd;
};

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

/* fd at want (via a high number: any source may sit on another's target), or _exit. */
static void place_at(int hi, int want)
{
	if (hi < 0 || dup2(hi, want) < 0)
		_exit(127);
}

/* The fds a child starts with, at their fixed numbers; every other one closed. */
static void place_fds(const struct domain *d, int sock, int program_fd, const struct remote_fds *rf)
{
	int null_fd;
	/* Every source to a high number first, then each to its place. */
	int sock_hi = fcntl(sock, F_DUPFD, 16), dir_hi = fcntl(d->blob_dir_fd, F_DUPFD, 16);
	int program_hi = program_fd >= 0 ? fcntl(program_fd, F_DUPFD, 16) : -1;
	int ca_hi = rf->ca_fd >= 0 ? fcntl(rf->ca_fd, F_DUPFD, 16) : -1;
	int cred_hi = rf->cred_fd >= 0 ? fcntl(rf->cred_fd, F_DUPFD, 16) : -1;
	int last = program_fd >= 0 ? WORKER_PROGRAM_FD : WORKER_BLOB_DIR_FD;

	place_at(sock_hi, WORKER_IPC_FD);
	place_at(dir_hi, WORKER_BLOB_DIR_FD);
	if (program_fd >= 0)
		place_at(program_hi, WORKER_PROGRAM_FD);
	if (rf->ca_fd >= 0) {
		/* A remote worker's fds 5 (no program: it compiles its filter) to 7 are fixed too. */
		close(WORKER_PROGRAM_FD);
		place_at(ca_hi, WORKER_CA_FD);
		last = WORKER_CA_FD;
		if (rf->cred_fd >= 0) {
			place_at(cred_hi, WORKER_CREDENTIALS_FD);
			last = WORKER_CREDENTIALS_FD;
		}
	}
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0) {
		fprintf(stderr, "<3>cachefiles-worker: /dev/null: %s\n", strerror(errno));
		_exit(127);
	}
	if (syscall(SYS_close_range, last + 1, ~0U, 0) < 0)
		_exit(127);
}

/*
 * A file's bytes in a sealed memfd: what a remote worker needs from files
 * its sandbox has no path to (CAs, credentials), read now, as root. -errno
 * logged, naming the file; never its contents.
 */
static int sealed_copy(const struct domain *d, const char *what, const char *path)
{
	_cleanup_close_ int in = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), fd = -EBADF;
	char buf[65536];
	ssize_t n;

	if (in < 0)
		return log_error_errno(-errno, "domain %s: cannot read its %s %s", d->name, what, path);
	fd = memfd_create(what, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return log_error_errno(-errno, "domain %s: no memfd for its %s", d->name, what);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			return log_error_errno(-EIO, "domain %s: cannot copy its %s", d->name, what);
	explicit_bzero(buf, sizeof(buf));
	if (n < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return log_error_errno(-errno, "domain %s: cannot seal its %s", d->name, what);
	return TAKE_FD(fd);
}

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

static int remote_fds_open(const struct domain *d, struct remote_fds *rf)
{
	const struct remote_settings *rs = &d->settings.remote;

	rf->ca_fd = rf->cred_fd = -EBADF;
	if (rs->origin.kind == ORIGIN_NONE)
		return 0;
	rf->ca_fd = sealed_copy(d, "CA file", rs->ca_file[0] ? rs->ca_file : SYSTEM_CA_BUNDLE);
	if (rf->ca_fd < 0)
		return rf->ca_fd;
	if (rs->credentials[0]) {
		rf->cred_fd = sealed_copy(d, "credentials", rs->credentials);
		if (rf->cred_fd < 0) {
			close(rf->ca_fd);
			return rf->cred_fd;
		}
	}
	return 0;
}

/* What a remote worker is told of its origin (the secrets come as fds). */
static size_t remote_args(const struct domain *d, char **argv, size_t n, char ports[2][8], char *deadline,
			  size_t deadline_size)
{
	const struct remote_settings *rs = &d->settings.remote;

	if (rs->origin.kind == ORIGIN_NONE)
		return n;
	snprintf(ports[0], 8, "%u", rs->origin.port);
	snprintf(deadline, deadline_size, "%" PRIu64, rs->fetch_deadline_ms);
	argv[n++] = (char *)"--origin";
	argv[n++] = (char *)rs->origin.host;
	argv[n++] = (char *)"--origin-port";
	argv[n++] = ports[0];
	argv[n++] = (char *)"--origin-path";
	argv[n++] = (char *)rs->origin.path;
	argv[n++] = (char *)"--fetch-deadline-ms";
	argv[n++] = deadline;
	if (rs->origin.kind == ORIGIN_REGISTRY)
		argv[n++] = (char *)"--registry";
	if (rs->credentials[0])
		argv[n++] = (char *)"--credentials";
	if (rs->proxy.port) {
		snprintf(ports[1], 8, "%u", rs->proxy.port);
		argv[n++] = (char *)"--proxy";
		argv[n++] = (char *)rs->proxy.host;
		argv[n++] = (char *)"--proxy-port";
		argv[n++] = ports[1];
	}
	return n;
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
					const struct spawn_plan *plan, int sock, pid_t parent,
					const struct remote_fds *rf)
{
	char slot_arg[16], *envp[16], *argv[32], ports[2][8], deadline[24];
	const char *exe = rf->ca_fd >= 0 ? cfg->worker_remote_exe : cfg->worker_exe;
	bool program = plan->program_fd >= 0;
	size_t n = 0;
	sigset_t none;
	int exe_fd;

	if (setsid() < 0)
		_exit(127);
	place_fds(d, sock, plan->program_fd, rf);
	exe_fd = sandbox_apply_child(&d->sandbox, exe, parent);
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
		n = remote_args(d, argv, n, ports, deadline, sizeof(deadline));
	}
	argv[n] = NULL;
	worker_environment(envp, ARRAY_SIZE(envp));
	execveat(exe_fd, "", argv, envp, AT_EMPTY_PATH);
	fprintf(stderr,
		"<3>cachefiles-worker: cannot execute %s in the worker sandbox: %s (its ELF interpreter and "
		"libraries must be under /usr/lib, /usr/lib64, /lib or /lib64)\n",
		exe, strerror(errno));
	_exit(127);
}

int spawn_worker(const struct settings *cfg, const struct domain *d, const struct spawn_plan *plan, pid_t *pid,
		 int *pidfd, int *sock)
{
	_cleanup_close_ int ours = -EBADF, theirs = -EBADF;
	pid_t parent = getpid(), child;
	struct remote_fds rf;
	int sv[2], fd, r;

	/* Read at each spawn: a rotated credentials file reaches the next workers. */
	if (plan->export)
		rf.ca_fd = rf.cred_fd = -EBADF;
	else if ((r = remote_fds_open(d, &rf)) < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		if (rf.ca_fd >= 0)
			close(rf.ca_fd);
		if (rf.cred_fd >= 0)
			close(rf.cred_fd);
		return log_error_errno(r, "domain %s: socketpair for a worker failed", d->name);
	}
	ours = sv[0];
	theirs = sv[1];
	child = fork();
	if (child == 0)
		exec_worker_child(cfg, d, plan, theirs, parent, &rf);
	r = -errno;
	if (rf.ca_fd >= 0)
		close(rf.ca_fd);
	if (rf.cred_fd >= 0)
		close(rf.cred_fd);
	if (child < 0)
		return log_error_errno(r, "domain %s: fork of a worker failed", d->name);

	fd = (int)syscall(SYS_pidfd_open, child, 0);
	if (fd < 0) {
		r = -errno;
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
