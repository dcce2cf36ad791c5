/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ipc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfs-util.h"
#include "wire-io.h"

/* More than the supervisor ever queues to one worker (queue_per_worker, DROPs of what it holds). */
#define KEPT_MAX 4096

struct kept {
	union wire_msg m;
	ssize_t n;
	int fd;
	unsigned nfds;
};

static struct kept *kept;
static unsigned n_kept, kept_head, kept_room;
static uint32_t last_conn_id;

static int keep(const union wire_msg *m, ssize_t n, int fd, unsigned nfds)
{
	if (n_kept == kept_room) {
		unsigned room = kept_room ? kept_room * 2 : 16;
		struct kept *more;
		if (room > KEPT_MAX)
			return -ENOBUFS;
		/* Unrolled into order from the head: the ring becomes a plain array again. */
		more = malloc(room * sizeof(*more));
		if (!more)
			return -ENOMEM;
		for (unsigned i = 0; i < n_kept; i++)
			more[i] = kept[(kept_head + i) % kept_room];
		free(kept);
		kept = more;
		kept_head = 0;
		kept_room = room;
	}
	kept[(kept_head + n_kept) % kept_room] = (struct kept){ .m = *m, .n = n, .fd = fd, .nfds = nfds };
	n_kept++;
	return 0;
}

ssize_t ipc_next(union wire_msg *m, int *fd, unsigned *nfds)
{
	if (n_kept > 0) {
		struct kept *k = &kept[kept_head];
		*m = k->m;
		*fd = k->fd;
		*nfds = k->nfds;
		kept_head = (kept_head + 1) % kept_room;
		n_kept--;
		return k->n;
	}
	return wire_recv(WORKER_IPC_FD, m, fd, nfds, 0);
}

/* One message within timeout_ms: the count as wire_recv(), or -ETIMEDOUT. */
static ssize_t receive_within(union wire_msg *m, int *fd, unsigned *nfds, int timeout_ms)
{
	struct pollfd p = { .fd = WORKER_IPC_FD, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	return wire_recv(WORKER_IPC_FD, m, fd, nfds, 0);
}

int ipc_connect(uint16_t purpose, const char *host, uint16_t port, int timeout_ms, char peer[static WIRE_PEER_MAX])
{
	struct wire_connect out = { .conn_id = ++last_conn_id, .purpose = purpose, .port = port };
	int r;

	wire_init(&out.hdr, WIRE_CONNECT);
	snprintf(out.host, sizeof(out.host), "%s", host);
	r = wire_send(WORKER_IPC_FD, &out, sizeof(out), -1);
	if (r < 0)
		return -EPROTO;
	for (;;) {
		union wire_msg m;
		unsigned nfds;
		int fd;
		ssize_t n = receive_within(&m, &fd, &nfds, timeout_ms);

		if (n == -EINTR)
			continue;
		if (n == -ETIMEDOUT)
			return -ETIMEDOUT;
		if (n <= 0 || wire_check_frame(&m, (size_t)n, nfds) < 0) {
			/* Kept as it came: the serving loop reports it as it reports any broken message. */
			if (keep(&m, n, fd, nfds) < 0 && fd >= 0)
				close(fd);
			return -EPROTO;
		}
		if (m.hdr.type != WIRE_CONNECTED) {
			r = keep(&m, n, fd, nfds);
			if (r < 0) {
				if (fd >= 0)
					close(fd);
				return r;
			}
			continue;
		}
		if (m.connected.conn_id != out.conn_id) {
			if (fd >= 0)
				close(fd);
			continue; /* the answer to a request we gave up waiting for */
		}
		if (m.connected.result < 0)
			return m.connected.result;
		memcpy(peer, m.connected.peer, WIRE_PEER_MAX);
		peer[WIRE_PEER_MAX - 1] = '\0';
		return fd;
	}
}
