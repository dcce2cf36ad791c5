/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fdstore.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfs-clock.h"
#include "cfs-log.h"

/* STATUS= lines are dropped rather than queued beyond this: the next one says the same, newer. */
#define QUEUE_STATUS_MAX 64

struct note {
	struct note *next;
	int fd; /* a duplicate of the pushed fd, or -1 */
	char text[];
};

static struct {
	int sock; /* connected, non-blocking; 0: not yet opened (fd 0 is never ours) */
	struct note *head, **tail;
	unsigned n;
	unsigned long status_dropped;
} q = { .tail = &q.head };

bool fdstore_available(void)
{
	const char *sock = getenv("NOTIFY_SOCKET");
	return sock && *sock;
}

/* One socket for the life of the process, connected to NOTIFY_SOCKET ("/path" or "@abstract"). */
static int notify_socket(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (q.sock > 0)
		return q.sock;
	if (!path || (path[0] != '/' && path[0] != '@'))
		return -EAFNOSUPPORT;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	q.sock = fd;
	return fd;
}

/* 0 sent, -EAGAIN: no room now, other -errno: lost. */
static int send_note(const char *text, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = { 0 };
	struct iovec iov = { .iov_base = (void *)text, .iov_len = strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int sock = notify_socket();

	if (sock < 0)
		return sock;
	if (fd >= 0) {
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		if (sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

static void note_free(struct note *n)
{
	if (n->fd >= 0)
		close(n->fd);
	free(n);
}

static int enqueue(const char *text, int fd)
{
	size_t len = strlen(text) + 1;
	struct note *n = malloc(sizeof(*n) + len);

	if (!n)
		return -ENOMEM;
	n->fd = -1;
	if (fd >= 0) {
		/* The caller may close its fd before PID 1 has room: keep our own. */
		n->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (n->fd < 0) {
			int r = -errno;
			free(n);
			return r;
		}
	}
	memcpy(n->text, text, len);
	n->next = NULL;
	*q.tail = n;
	q.tail = &n->next;
	q.n++;
	return 0;
}

/* Sends now if nothing waits, else queues behind what does (order matters: push before remove). */
static int notify(const char *text, int fd)
{
	int r = -EAGAIN;

	if (q.n == 0)
		r = send_note(text, fd);
	if (r != -EAGAIN)
		return r;
	return enqueue(text, fd);
}

int fdstore_push(const char *name, int fd)
{
	char msg[128];
	int r;

	if (!fdstore_available())
		return 0;
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name);
	r = notify(msg, fd);
	if (r < 0)
		return log_error_errno(r, "Failed to put fd %s into the fd store", name);
	return 0;
}

int fdstore_remove(const char *name)
{
	char msg[128];
	int r;

	if (!fdstore_available())
		return 0;
	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	r = notify(msg, -1);
	if (r < 0)
		return log_warning_errno(r, "Failed to remove fd %s from the fd store", name);
	return 0;
}

void notify_text(const char *text)
{
	if (!fdstore_available())
		return;
	if (q.n >= QUEUE_STATUS_MAX && strncmp(text, "STATUS=", 7) == 0) {
		q.status_dropped++;
		return;
	}
	(void)notify(text, -1);
}

unsigned fdstore_pending(void)
{
	return q.n;
}

unsigned fdstore_flush(int wait_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)(wait_ms > 0 ? wait_ms : 0);

	while (q.head) {
		struct note *n = q.head;
		int r = send_note(n->text, n->fd);
		if (r == -EAGAIN) {
			struct pollfd p = { .fd = q.sock, .events = POLLOUT };
			uint64_t now = now_ms();
			if (now >= deadline)
				break;
			(void)poll(&p, 1, (int)(deadline - now));
			continue;
		}
		if (r < 0)
			log_warning_errno(r, "notification to systemd lost: %.40s", n->text);
		q.head = n->next;
		if (!q.head)
			q.tail = &q.head;
		q.n--;
		note_free(n);
	}
	return q.n;
}
