/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Escape attempts for the sandbox scenarios (test workers only, see
 * test-hooks.h). Each attempt runs its probes that should be refused with
 * an errno first and the one that should kill the worker last. Those that
 * need the supervisor to answer a CONNECT run after HELLO (before it, any
 * message gets the worker killed, which would prove nothing about CONNECT).
 */
#include <arpa/inet.h>
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
#include <sys/un.h>
#include <unistd.h>

#include "cfs-control.h"
#include "cfs-log.h"
#include "cfs-util.h"
#include "ipc.h"
#include "test-hooks.h"
#include "wire-io.h"
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

/*
 * After HELLO. "Elsewhere" is port 22 on the node's loopback: a handed
 * socket belongs to the broker's network namespace, the node's, where the
 * scenario listens on it. The worker's own namespace has no interface up.
 */
#define ELSEWHERE_PORT 22
#define CONNECT_WAIT_MS 30000
#define FLOOD_CONNECTS 12
#define FLOOD_ID 0x40000000u /* far from ipc.c's conn_ids */

static const char *origin_host; /* NULL in a local domain's worker */
static uint16_t origin_port;

static struct sockaddr_in elsewhere(void)
{
	return (struct sockaddr_in){ .sin_family = AF_INET,
				     .sin_port = htons(ELSEWHERE_PORT),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

/* A CONNECT as a system call: the socket, or -1 and errno when refused. */
static long ask(uint16_t purpose, const char *host, uint16_t port)
{
	char peer[WIRE_PEER_MAX];
	int r = ipc_connect(purpose, host, port, CONNECT_WAIT_MS, peer);

	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

/* A socket to the origin, asked for as fetch.c asks; -1 (logged) if none came. */
static int handed(char peer[static WIRE_PEER_MAX])
{
	int fd = ipc_connect(WIRE_CONNECT_ORIGIN, origin_host, origin_port, CONNECT_WAIT_MS, peer);

	if (fd < 0)
		log_error("escape %s: pid %d was handed no socket to %s:%u: %s", attempt, (int)getpid(), origin_host,
			  origin_port, strerror(-fd));
	else
		log_notice("escape %s: pid %d was handed fd %d, connected to %s (%s:%u)", attempt, (int)getpid(), fd,
			   peer, origin_host, origin_port);
	return fd;
}

/* Whether fd still has the peer it was handed with: a connect() that reached the kernel would show here. */
static void check_peer(int fd, const char *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		log_error("escape %s: pid %d fd %d has no peer any more (%s): a disconnect SUCCEEDED", attempt,
			  (int)getpid(), fd, strerror(errno));
		return;
	}
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	if (strcmp(addr, peer) == 0 && port == origin_port)
		log_notice("escape %s: pid %d fd %d still connected to %s:%u", attempt, (int)getpid(), fd, addr, port);
	else
		log_error("escape %s: pid %d fd %d now connected to %s:%u: connect() elsewhere SUCCEEDED", attempt,
			  (int)getpid(), fd, addr, port);
}

static void try_connect_elsewhere(void)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	struct sockaddr_in in = elsewhere();
	struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = CFS_CONTROL_DEFAULT_PATH };
	char peer[WIRE_PEER_MAX];
	int fd = handed(peer);

	if (fd < 0)
		return;
	/* AF_UNSPEC first: on TCP it disconnects, which would free the socket for a connect anywhere. */
	PROBE(connect(fd, &unspec, sizeof(unspec)));
	PROBE(connect(fd, (struct sockaddr *)&in, sizeof(in)));
	PROBE(connect(fd, (struct sockaddr *)&un, sizeof(un)));
	PROBE(connect(WORKER_IPC_FD, (struct sockaddr *)&un, sizeof(un)));
	check_peer(fd, peer);
	close(fd);
}

static void try_sendto_addr(void)
{
	struct sockaddr_in in = elsewhere();
	char peer[WIRE_PEER_MAX];
	int fd = handed(peer);

	if (fd >= 0)
		PROBE(sendto(fd, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&in, sizeof(in)));
}

static void try_sendmsg_addr(void)
{
	struct sockaddr_in in = elsewhere();
	struct iovec iov = { .iov_base = (void *)"x", .iov_len = 1 };
	struct msghdr mh = { .msg_name = &in, .msg_namelen = sizeof(in), .msg_iov = &iov, .msg_iovlen = 1 };
	char peer[WIRE_PEER_MAX];
	int fd = handed(peer);

	if (fd >= 0)
		PROBE(sendmsg(fd, &mh, MSG_NOSIGNAL));
}

static void try_connect_wrong_host(void)
{
	PROBE(ask(WIRE_CONNECT_ORIGIN, "registry.example.org", origin_port));
}

static void try_connect_wrong_port(void)
{
	PROBE(ask(WIRE_CONNECT_ORIGIN, origin_host, ELSEWHERE_PORT));
}

/* The scenario's domain has no proxy. */
static void try_connect_proxy(void)
{
	PROBE(ask(WIRE_CONNECT_PROXY, origin_host, origin_port));
}

static void try_connect_redirect(void)
{
	PROBE(ask(WIRE_CONNECT_REDIRECT, "127.0.0.1", ELSEWHERE_PORT));
}

static int send_connect(uint32_t id, uint16_t purpose, const char *host, uint16_t port)
{
	struct wire_connect m = { .conn_id = id, .purpose = purpose, .port = port };

	wire_init(&m.hdr, WIRE_CONNECT);
	snprintf(m.host, sizeof(m.host), "%s", host);
	return wire_send(WORKER_IPC_FD, &m, sizeof(m), -1);
}

/*
 * A local worker's filter has no poll() (ipc_connect's wait): it sends the
 * CONNECT itself and blocks in recvmsg, where the supervisor's answer, or
 * its kill, finds it.
 */
static void try_connect_local_domain(void)
{
	union wire_msg m;
	unsigned nfds;
	int fd;
	ssize_t n;

	trying("CONNECT to 127.0.0.1:22 from a domain without an origin");
	if (send_connect(FLOOD_ID, WIRE_CONNECT_ORIGIN, "127.0.0.1", ELSEWHERE_PORT) < 0)
		return;
	n = wire_recv(WORKER_IPC_FD, &m, &fd, &nfds, 0);
	if (n > 0 && m.hdr.type == WIRE_CONNECTED && m.connected.result == 0)
		log_error("escape %s: pid %d CONNECT SUCCEEDED (fd %d)", attempt, (int)getpid(), fd);
	else
		log_notice("escape %s: pid %d CONNECT answered with %zd bytes, type %u", attempt, (int)getpid(), n,
			   n > 0 ? m.hdr.type : 0);
}

/* One answer to the flood, logged; false if something else came. */
static bool flood_answer(unsigned *served, unsigned *refused)
{
	union wire_msg m;
	unsigned nfds;
	int fd;
	ssize_t n = wire_recv(WORKER_IPC_FD, &m, &fd, &nfds, 0);

	if (n <= 0 || wire_check_frame(&m, (size_t)n, nfds) < 0 || m.hdr.type != WIRE_CONNECTED)
		return false;
	if (m.connected.result < 0) {
		(*refused)++;
		log_notice("escape %s: pid %d CONNECT %u denied: %s", attempt, (int)getpid(),
			   m.connected.conn_id - FLOOD_ID, strerror(-m.connected.result));
		return true;
	}
	(*served)++;
	m.connected.peer[WIRE_PEER_MAX - 1] = '\0';
	log_notice("escape %s: pid %d CONNECT %u served within the cap: connected to %s", attempt, (int)getpid(),
		   m.connected.conn_id - FLOOD_ID, m.connected.peer);
	close(fd);
	return true;
}

/*
 * Every CONNECT at once, then their answers. Nothing else may come
 * meanwhile: the scenario floods with no reader running, so this worker is
 * sent no request (it could not keep one for serve(), as ipc.c does).
 */
static void try_connect_flood(void)
{
	unsigned served = 0, refused = 0;

	log_notice("escape %s: pid %d trying %u CONNECTs to %s:%u at once", attempt, (int)getpid(), FLOOD_CONNECTS,
		   origin_host, origin_port);
	for (uint32_t i = 1; i <= FLOOD_CONNECTS; i++)
		if (send_connect(FLOOD_ID + i, WIRE_CONNECT_ORIGIN, origin_host, origin_port) < 0) {
			log_error("escape %s: pid %d cannot send CONNECT %u", attempt, (int)getpid(), i);
			_exit(3);
		}
	while (served + refused < FLOOD_CONNECTS)
		if (!flood_answer(&served, &refused)) {
			log_error("escape %s: pid %d got another message than CONNECTED while flooding", attempt,
				  (int)getpid());
			_exit(3);
		}
	log_notice("escape %s: pid %d flood: %u served, %u refused", attempt, (int)getpid(), served, refused);
}

/* clang-format off */
static const struct {
	const char *name;
	void (*fn)(void);
	bool remote; /* for a remote domain's worker; else for a local one's */
} after_hello[] = {
	{ "connect-elsewhere", try_connect_elsewhere, true },
	{ "sendto-addr", try_sendto_addr, true },
	{ "sendmsg-addr", try_sendmsg_addr, true },
	{ "connect-wrong-host", try_connect_wrong_host, true },
	{ "connect-wrong-port", try_connect_wrong_port, true },
	{ "connect-proxy", try_connect_proxy, true },
	{ "connect-redirect", try_connect_redirect, true },
	{ "connect-flood", try_connect_flood, true },
	{ "connect-local-domain", try_connect_local_domain, false },
};
/* clang-format on */

static int after_hello_index(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(after_hello); i++)
		if (strcmp(attempt, after_hello[i].name) == 0)
			return (int)i;
	return -1;
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
	/*
	 * A FIFO gives its attempt to one worker: the one whose open lets the
	 * scenario's waiting writer in. Any other reads EOF (no writer): a
	 * worker respawned after the attempt makes none, however soon.
	 */
	fd = openat(WORKER_BLOB_DIR_FD, control_file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		fcntl(fd, F_SETFL, 0);
	n = fd < 0 ? -1 : read(fd, attempt, sizeof(attempt) - 1);
	attempt[n > 0 ? n : 0] = '\0';
	attempt[strcspn(attempt, "\n")] = '\0';
}

void test_hook_escape_attempt(void)
{
	bool known;

	if (!attempt[0] || strcmp(attempt, "none") == 0 || after_hello_index() >= 0)
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

void test_hook_escape_after_hello(const char *host, uint16_t port)
{
	int i = after_hello_index();

	origin_host = host;
	origin_port = port;
	if (i < 0)
		return;
	if (after_hello[i].remote != (host != NULL)) {
		log_error("escape %s: not an attempt for a %s domain's worker", attempt, host ? "remote" : "local");
		return;
	}
	after_hello[i].fn();
	log_notice("escape %s: pid %d survived", attempt, (int)getpid());
}
