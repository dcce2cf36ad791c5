/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the built worker (argv[1]) says when its socket fails (issue 17,
 * item 13): a supervisor that dies with the worker's HELLO unread leaves it
 * ECONNRESET, which must read as the supervisor being gone, not as a
 * malformed message; a real malformed message still says so; a clean close
 * says nothing. And at its fd limit (issue 16): a blob it could not open
 * for want of fds is opened at the next READ, and an ADOPT whose fd does
 * not fit is said to be that. A socketpair stands in for the supervisor.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "worker-exit-status.h"
#include "wire-io.h"

static const char *worker_bin;
static char log_path[64];
static char logged[4096];

/*
 * Starts the worker on one end of a SEQPACKET pair, as spawn.c does, with
 * blob dir `dir` and at most `nofile` fds (0: as inherited); returns the
 * other end.
 */
static int start_worker_in(pid_t *pid, const char *dir_path, rlim_t nofile)
{
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	*pid = fork();
	CHECK(*pid >= 0);
	if (*pid == 0) {
		int err = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int dir = open(dir_path, O_PATH | O_DIRECTORY);
		struct rlimit rl = { nofile, nofile };
		if (err < 0 || dir < 0 || dup2(sv[1], WORKER_IPC_FD) < 0 || dup2(dir, WORKER_BLOB_DIR_FD) < 0 ||
		    dup2(err, 2) < 0 || (nofile && setrlimit(RLIMIT_NOFILE, &rl) < 0))
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

static int start_worker(pid_t *pid)
{
	return start_worker_in(pid, "/", 0);
}

static int finish_worker(pid_t pid)
{
	return worker_exit_status(pid, log_path, logged, sizeof(logged));
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

/* How many fds below `limit` process pid has open (an inherited one may sit above it). */
static unsigned fd_count(pid_t pid, unsigned limit)
{
	char path[64];
	unsigned n = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	CHECK((d = opendir(path)));
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' && strtoul(e->d_name, NULL, 10) < limit;
	closedir(d);
	return n;
}

/* Waits (up to 5 s) until the worker has n fds open below its limit of 32: it took what was sent. */
static void await_fds(pid_t pid, unsigned n)
{
	for (int i = 0; i < 5000 && fd_count(pid, 32) != n; i++)
		usleep(1000);
	CHECK_EQ(fd_count(pid, 32), n);
}

static void send_adopt(int sock, uint32_t handle, const char *cookie, uint64_t size, int fd)
{
	struct wire_adopt m = { .handle = handle, .cookie_len = (uint32_t)strlen(cookie), .size = size };

	wire_init(&m.hdr, WIRE_ADOPT);
	memcpy(m.cookie, cookie, m.cookie_len);
	CHECK_EQ(wire_send(sock, &m, sizeof(m), fd), 0);
}

/*
 * Issue 16: a worker with 32 fds is given objects until one fd is left;
 * the next ADOPT's anon fd takes it and its blob cannot be opened (EMFILE).
 * Once a DROP frees an fd, that object's READ opens the blob and succeeds:
 * EMFILE is no fact about the blob. Then, with no fd left, an ADOPT's fd
 * cannot be passed: the worker says it is at its fd limit.
 */
static void test_at_the_fd_limit(void)
{
	char dir[] = "/tmp/test-worker-exit-XXXXXX", path[64], blob[8192], got[4096];
	struct wire_drop drop = { .handle = 0 };
	struct wire_read read = { .msg_id = 7, .handle = 100, .len = 4096, .fill_len = 4096 };
	union wire_msg m;
	unsigned nfds, n, handle = 0;
	int sock, fd, cache;
	pid_t pid;

	CHECK(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (char)(i * 7);
	snprintf(path, sizeof(path), "%s/b", dir);
	CHECK((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) >= 0);
	CHECK(write(fd, blob, sizeof(blob)) == (ssize_t)sizeof(blob));
	close(fd);
	snprintf(path, sizeof(path), "%s/cache", dir);
	CHECK((cache = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) >= 0);
	sock = start_worker_in(&pid, dir, 32);
	CHECK(wire_recv(sock, &m, &fd, &nfds, 0) > 0 && m.hdr.type == WIRE_HELLO);
	for (n = fd_count(pid, 32); n < 31; n++) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		send_adopt(sock, handle++, "missing", 4096, null);
		close(null);
		await_fds(pid, n + 1);
	}
	send_adopt(sock, 100, "b", sizeof(blob), cache);
	await_fds(pid, 32);
	wire_init(&drop.hdr, WIRE_DROP);
	CHECK_EQ(wire_send(sock, &drop, sizeof(drop), -1), 0);
	wire_init(&read.hdr, WIRE_READ);
	CHECK_EQ(wire_send(sock, &read, sizeof(read), -1), 0);
	CHECK(wire_recv(sock, &m, &fd, &nfds, 0) > 0 && m.hdr.type == WIRE_READ_DONE);
	fprintf(stderr, "  READ of an object whose blob met EMFILE at ADOPT, one fd later: %lld\n",
		(long long)m.read_done.result);
	CHECK_EQ(m.read_done.result, 4096);
	CHECK(pread(cache, got, sizeof(got), 0) == (ssize_t)sizeof(got) && memcmp(got, blob, sizeof(got)) == 0);
	/* No fd left (the READ opened the blob): this ADOPT's fd cannot be passed. */
	send_adopt(sock, 101, "b", sizeof(blob), cache);
	CHECK(finish_worker(pid) != 0);
	close(sock);
	close(cache);
	unlink(path);
	snprintf(path, sizeof(path), "%s/b", dir);
	unlink(path);
	rmdir(dir);
	if (!strstr(logged, "cannot open a blob now") || !strstr(logged, "at its fd limit (RLIMIT_NOFILE)") ||
	    strstr(logged, "malformed")) {
		fprintf(stderr, "worker logged:\n%s", logged);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	worker_bin = argv[1];
	snprintf(log_path, sizeof(log_path), "/tmp/test-worker-exit-%d.log", (int)getpid());
	RUN(test_supervisor_died_with_hello_unread);
	RUN(test_malformed_message_still_says_so);
	RUN(test_clean_close_is_quiet);
	RUN(test_at_the_fd_limit);
	unlink(log_path);
	return 0;
}
