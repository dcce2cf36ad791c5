/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the built worker (argv[1]) says when its socket fails (issue 17,
 * item 13): a supervisor that dies with the worker's HELLO unread leaves it
 * ECONNRESET, which must read as the supervisor being gone, not as a
 * malformed message; a real malformed message still says so; a clean close
 * says nothing. A socketpair stands in for the supervisor.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "wire-io.h"

static const char *worker_bin;
static char log_path[64];
static char logged[4096];

/* Starts the worker on one end of a SEQPACKET pair, as spawn.c does; returns the other end. */
static int start_worker(pid_t *pid)
{
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	*pid = fork();
	CHECK(*pid >= 0);
	if (*pid == 0) {
		int err = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int dir = open("/", O_PATH | O_DIRECTORY);
		if (err < 0 || dir < 0 || dup2(sv[1], WORKER_IPC_FD) < 0 || dup2(dir, WORKER_BLOB_DIR_FD) < 0 ||
		    dup2(err, 2) < 0)
			_exit(99);
		/*
		 * In the sanitizer build the worker is instrumented too: LeakSanitizer's
		 * check at exit stops threads with calls its seccomp allowlist refuses
		 * (SIGSYS). The exit status is what this test reads, so no leak check.
		 */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execl(worker_bin, worker_bin, "--domain", "t", (char *)NULL);
		_exit(98);
	}
	close(sv[1]);
	return sv[0];
}

/* Waits for the worker; returns its exit status and reads what it logged. */
static int finish_worker(pid_t pid)
{
	int status;
	FILE *f;

	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK((f = fopen(log_path, "r")));
	logged[fread(logged, 1, sizeof(logged) - 1, f)] = '\0';
	fclose(f);
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void wait_hello(int sock)
{
	char buf[256];
	CHECK(recv(sock, buf, sizeof(buf), MSG_PEEK) > 0);
}

static void test_supervisor_died_with_hello_unread(void)
{
	pid_t pid;
	int sock = start_worker(&pid);

	wait_hello(sock); /* peeked, still queued: closing now resets the worker's end */
	close(sock);
	CHECK_EQ(finish_worker(pid), 0);
	if (strstr(logged, "malformed") || !strstr(logged, "the supervisor's end of the socket is gone")) {
		fprintf(stderr, "worker logged:\n%s", logged);
		exit(1);
	}
}

static void test_malformed_message_still_says_so(void)
{
	pid_t pid;
	int sock = start_worker(&pid);
	struct wire_hdr bad = { .version = WIRE_VERSION, .type = 0x7777, .len = sizeof(bad) };
	char buf[256];

	CHECK(recv(sock, buf, sizeof(buf), 0) > 0);
	CHECK(send(sock, &bad, sizeof(bad), MSG_NOSIGNAL) == (ssize_t)sizeof(bad));
	CHECK(finish_worker(pid) != 0);
	close(sock);
	CHECK(strstr(logged, "malformed message from the supervisor: type 30583"));
}

static void test_clean_close_is_quiet(void)
{
	pid_t pid;
	int sock = start_worker(&pid);
	char buf[256];

	CHECK(recv(sock, buf, sizeof(buf), 0) > 0);
	close(sock);
	CHECK_EQ(finish_worker(pid), 0);
	CHECK_EQ(strlen(logged), 0);
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	worker_bin = argv[1];
	snprintf(log_path, sizeof(log_path), "/tmp/test-worker-exit-%d.log", (int)getpid());
	RUN(test_supervisor_died_with_hello_unread);
	RUN(test_malformed_message_still_says_so);
	RUN(test_clean_close_is_quiet);
	unlink(log_path);
	return 0;
}
