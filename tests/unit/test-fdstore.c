/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Nothing the event loop says blocks it (issue 17, item 9): with PID 1's
 * notify socket full, fd store pushes and removals return at once and reach
 * PID 1 in order, every pushed fd included, once it reads again; with stderr
 * full, log lines are dropped and counted instead of blocking. A socket we
 * never read stands in for PID 1, a socketpair for journald.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfs-clock.h"
#include "cfs-log.h"
#include "check.h"
#include "fdstore.h"

int cfs_log_max_priority = 7;

#define N_OBJECTS 2000

static void on_alarm(int sig)
{
	static const char msg[] = "blocked: a notification or a log line waited for its reader\n";
	(void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

/* One notification PID 1 would read; returns its length, the fd it carried in *fd (or -1). */
static ssize_t pid1_read(int sock, char *buf, size_t size, int *fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)
	};
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL;

	*fd = -1;
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static void test_pushes_never_block_and_arrive_in_order(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int pid1 = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), small = 4096;
	unsigned pushed = 0, removed = 0, with_fd = 0, next = 0;
	uint64_t t0;
	char buf[256];

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/test-fdstore-%d", (int)getpid());
	unlink(sa.sun_path);
	CHECK(pid1 >= 0 && bind(pid1, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(setsockopt(pid1, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);

	t0 = now_ms();
	alarm(10);
	for (unsigned i = 0; i < N_OBJECTS; i++) {
		char name[32];
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		snprintf(name, sizeof(name), "obj-%u", i);
		CHECK_EQ(fdstore_push(name, fd), 0);
		close(fd); /* as an object closed before PID 1 read its push */
		CHECK_EQ(fdstore_remove(name), 0);
	}
	notify_text("READY=1");
	alarm(0);
	CHECK(now_ms() - t0 < 5000);
	CHECK(fdstore_pending() > 0); /* PID 1 read nothing: most of it waits */

	/* PID 1 reads again: everything arrives, pushes before their removals, READY=1 last. */
	for (;;) {
		int fd;
		ssize_t n = pid1_read(pid1, buf, sizeof(buf), &fd);
		if (n < 0) {
			/* Read dry: PID 1 has room again; nothing left to send ends it. */
			if (fdstore_pending() == 0)
				break;
			(void)fdstore_flush(0);
			continue;
		}
		char want[64];
		if (strcmp(buf, "READY=1") == 0) {
			CHECK_EQ(next, 2 * N_OBJECTS);
			next++;
			continue;
		}
		snprintf(want, sizeof(want), next % 2 ? "FDSTOREREMOVE=1\nFDNAME=obj-%u" : "FDSTORE=1\nFDNAME=obj-%u",
			 next / 2);
		CHECK(strncmp(buf, want, strlen(want)) == 0);
		if (fd >= 0) {
			with_fd++;
			close(fd);
		}
		pushed += next % 2 == 0;
		removed += next % 2 == 1;
		next++;
	}
	CHECK_EQ(pushed, N_OBJECTS);
	CHECK_EQ(with_fd, N_OBJECTS);
	CHECK_EQ(removed, N_OBJECTS);
	CHECK_EQ(next, 2 * N_OBJECTS + 1);
	CHECK_EQ(fdstore_pending(), 0);
	unlink(sa.sun_path);
	close(pid1);
}

static void test_log_lines_never_block(void)
{
	int sv[2], saved = dup(STDERR_FILENO), small = 4096;
	char buf[4096];
	ssize_t n;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0);
	CHECK(dup2(sv[0], STDERR_FILENO) == STDERR_FILENO);
	cfs_log_nonblocking = true; /* as the supervisor's main() sets it */
	alarm(10);
	for (unsigned i = 0; i < 10000; i++)
		log_notice("line %u of a journald that reads nothing", i);
	alarm(0);
	CHECK(cfs_log_dropped > 0);
	while (recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	log_notice("journald reads again");
	n = recv(sv[1], buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	buf[n] = '\0';
	CHECK(strstr(buf, "log lines dropped: stderr had no room\n"));
	CHECK(strstr(buf, "journald reads again\n"));
	CHECK_EQ(cfs_log_dropped, 0);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	signal(SIGALRM, on_alarm);
	RUN(test_pushes_never_block_and_arrive_in_order);
	RUN(test_log_lines_never_block);
	return 0;
}
