/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The built worker (argv[1]) as the supervisor uses it for its seccomp
 * program (issue 16): --export-seccomp-program writes one with a pid
 * placeholder; a worker handed it with --seccomp-program is confined by it
 * before HELLO; a worker handed something else says so, compiles its own
 * and is confined all the same. A socketpair stands in for the supervisor.
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "worker-exit-status.h"
#include "syscall-filter.h"
#include "wire.h"

static const char *worker_bin;
static char log_path[64];
static char logged[4096];

/* Runs the worker with program_fd at WORKER_PROGRAM_FD and the extra arguments; returns our socket end. */
static int start_worker(pid_t *pid, int program_fd, const char *arg1, const char *arg2)
{
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	*pid = fork();
	CHECK(*pid >= 0);
	if (*pid == 0) {
		/* Via high numbers first, as spawn.c does: a source may sit on another's target. */
		int err = fcntl(open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), F_DUPFD, 64);
		int dir = fcntl(open("/", O_PATH | O_DIRECTORY), F_DUPFD, 64);
		int sock = fcntl(sv[1], F_DUPFD, 64), program = fcntl(program_fd, F_DUPFD, 64);
		if (err < 0 || dir < 0 || sock < 0 || program < 0 || dup2(sock, WORKER_IPC_FD) < 0 ||
		    dup2(dir, WORKER_BLOB_DIR_FD) < 0 || dup2(program, WORKER_PROGRAM_FD) < 0 || dup2(err, 2) < 0)
			_exit(99);
		/* The sandbox sets it before exec; seccomp(2) needs it or CAP_SYS_ADMIN. */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(99);
		/* As in test-worker-exit.c: LeakSanitizer's exit check makes calls the allowlist refuses. */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execl(worker_bin, worker_bin, "--domain", "t", arg1, arg2, (char *)NULL);
		_exit(98);
	}
	close(sv[1]);
	return sv[0];
}

static int finish_worker(pid_t pid)
{
	return worker_exit_status(pid, log_path, logged, sizeof(logged));
}

static unsigned placeholders(int fd, struct sock_filter *insns, size_t *n)
{
	off_t size = lseek(fd, 0, SEEK_END);
	unsigned found = 0;

	CHECK(size > 0 && size % (off_t)sizeof(*insns) == 0 && size <= BPF_MAXINSNS * (off_t)sizeof(*insns));
	CHECK(pread(fd, insns, (size_t)size, 0) == size);
	*n = (size_t)size / sizeof(*insns);
	for (size_t i = 0; i < *n; i++)
		found += insns[i].code == (BPF_JMP | BPF_JEQ | BPF_K) && insns[i].k == SYSCALL_FILTER_PID_PLACEHOLDER;
	return found;
}

/* What the supervisor keeps: the exporter's output, sealed. */
static int exported_program(void)
{
	static struct sock_filter insns[BPF_MAXINSNS];
	int fd = memfd_create("program", MFD_ALLOW_SEALING);
	size_t n;
	pid_t pid;

	CHECK(fd >= 0);
	close(start_worker(&pid, fd, "--export-seccomp-program", NULL));
	CHECK_EQ(finish_worker(pid), 0);
	CHECK_EQ(placeholders(fd, insns, &n), 1);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == 0);
	return fd;
}

static bool seccomp_filtered(pid_t pid)
{
	char path[64], status[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	CHECK((fd = open(path, O_RDONLY)) >= 0);
	n = read(fd, status, sizeof(status) - 1);
	close(fd);
	CHECK(n > 0);
	status[n] = '\0';
	return strstr(status, "\nSeccomp:\t2\n") != NULL;
}

/* Starts a worker with the program at fd, checks it is filtered at HELLO, ends it; returns what it logged. */
static const char *serve_with(int fd)
{
	char hello[256];
	pid_t pid;
	int sock = start_worker(&pid, fd, "--seccomp-program", NULL);

	CHECK(recv(sock, hello, sizeof(hello), 0) > 0);
	CHECK(seccomp_filtered(pid));
	close(sock);
	CHECK_EQ(finish_worker(pid), 0);
	return logged;
}

static void test_exported_program_confines_a_worker(void)
{
	int fd = exported_program();

	CHECK(!strstr(serve_with(fd), "compiling"));
	close(fd);
}

static void test_a_program_without_the_placeholder_is_refused(void)
{
	static struct sock_filter insns[BPF_MAXINSNS];
	int good = exported_program(), bad = memfd_create("bad", 0);
	size_t n;

	CHECK(bad >= 0);
	placeholders(good, insns, &n);
	for (size_t i = 0; i < n; i++)
		if (insns[i].k == SYSCALL_FILTER_PID_PLACEHOLDER)
			insns[i].k = 1;
	CHECK(pwrite(bad, insns, n * sizeof(*insns), 0) == (ssize_t)(n * sizeof(*insns)));
	CHECK(strstr(serve_with(bad), "no pid placeholder"));
	CHECK(strstr(logged, "compiling the syscall allowlist instead"));
	close(good);
	close(bad);
}

static void test_a_program_that_is_no_program_is_refused(void)
{
	int fd = memfd_create("odd", 0);

	CHECK(fd >= 0 && write(fd, "12345", 5) == 5);
	CHECK(strstr(serve_with(fd), "is no BPF program"));
	CHECK(strstr(logged, "compiling the syscall allowlist instead"));
	close(fd);
}

static void test_log_mode_takes_no_program(void)
{
	int fd = exported_program();
	pid_t pid;

	close(start_worker(&pid, fd, "--seccomp-program", "--seccomp=log"));
	CHECK_EQ(finish_worker(pid), 2);
	close(fd);
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	worker_bin = argv[1];
	snprintf(log_path, sizeof(log_path), "/tmp/cfs-test-seccomp-program.%d", (int)getpid());
	RUN(test_exported_program_confines_a_worker);
	RUN(test_a_program_without_the_placeholder_is_refused);
	RUN(test_a_program_that_is_no_program_is_refused);
	RUN(test_log_mode_takes_no_program);
	unlink(log_path);
	return 0;
}
