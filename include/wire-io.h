/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sending and receiving one wire message, with at most one fd attached.
 * Shared by both sides; it only moves bytes and fds, wire_check_frame() and
 * the handlers judge them.
 */
#ifndef CFS_WIRE_IO_H
#define CFS_WIRE_IO_H

#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "wire.h"

/*
 * Returns 0 or -errno. Blocking is the socket's choice: the supervisor's ends
 * are non-blocking (a full queue is -EAGAIN), a worker's end blocks.
 */
static inline int wire_send(int sock, const void *msg, size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EPIPE;
}

/*
 * Receives one message into *m. Passed fds land close-on-exec; the first is
 * stored in *fd (or -EBADF), any further ones are closed but counted in
 * *nfds so the caller can refuse them. Returns the byte count, 0 on EOF,
 * -EAGAIN when nothing is queued, -EBADMSG on a truncated message, -EMFILE
 * when only its fds were cut off: the kernel could not install them, the
 * receiver's fd table is full (the buffer has room for more fds than any
 * message carries).
 */
static inline ssize_t wire_recv(int sock, union wire_msg *m, int *fd, unsigned *nfds, int flags)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} control;
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)
	};
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);

	*fd = -EBADF;
	*nfds = 0;
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fd < 0)
				*fd = got;
			else
				close(got);
			(*nfds)++;
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -EBADF;
		return mh.msg_flags & MSG_TRUNC ? -EBADMSG : -EMFILE;
	}
	return n;
}

#endif
