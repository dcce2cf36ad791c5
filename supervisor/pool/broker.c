/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The broker process (broker.h). In the child, in this order:
 *   1. its socket on fd 3, /dev/null on 0 and 1, stderr kept, every other
 *      fd closed (the device, the anon fds, the workers' sockets);
 *   2. own session, default signal mask, parent-death signal (parent
 *      re-checked);
 *   3. rlimits: a few fds, no core (it never holds a secret, but nothing
 *      needs one);
 *   4. when root: no supplementary groups, the worker user's gid and uid,
 *      every capability set emptied (libcap-ng), verified;
 *   5. no_new_privs;
 *   6. one name lookup, so glibc loads what nsswitch.conf names before
 *      the filter forbids mapping code;
 *   7. seccomp: what getaddrinfo and a non-blocking connect need, sockets
 *      of AF_INET and AF_INET6 only (AF_UNIX, nscd's, gets EACCES).
 * It keeps the host's network namespace: that is its job. It never reads
 * a byte of the connections it makes.
 */
#include "broker.h"

#include <arpa/inet.h>
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "wire-io.h"

#define BROKER_SOCK_FD 3
#define BROKER_NOFILE 64

bool broker_address_allowed(const void *sockaddr, bool local_ok)
{
	const struct sockaddr *sa = sockaddr;

	if (local_ok)
		return true;
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)sockaddr)->sin_addr.s_addr);
		/* 0/8 unspecified, 127/8 loopback, 169.254/16 link-local */
		return (a >> 24) != 0 && (a >> 24) != 127 && (a >> 16) != 0xa9fe;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sockaddr)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			struct sockaddr_in v4 = { .sin_family = AF_INET };
			memcpy(&v4.sin_addr, &a->s6_addr[12], 4);
			return broker_address_allowed(&v4, false);
		}
		return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_LOOPBACK(a) && !IN6_IS_ADDR_LINKLOCAL(a);
	}
	return false;
}

/* host without an IPv6 address's brackets, into out; false if it does not fit. */
static bool bare_host(const char *host, char *out, size_t size)
{
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n >= size)
		return false;
	memcpy(out, host, n);
	out[n] = '\0';
	return true;
}

bool broker_host_is_local_literal(const char *host)
{
	struct sockaddr_storage ss = { 0 };
	char bare[WIRE_HOST_MAX + 1];

	if (!bare_host(host, bare, sizeof(bare)))
		return false;
	if (inet_pton(AF_INET, bare, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, bare, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		return false;
	return !broker_address_allowed(&ss, false);
}

/* A non-blocking connect to one address, bounded by timeout_ms; the socket is left blocking. */
static int connect_one(const struct addrinfo *ai, uint32_t timeout_ms)
{
	_cleanup_close_ int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
		return -errno;
	for (;;) {
		int n = poll(&p, 1, (int)timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	if (err)
		return -err;
	if (fcntl(fd, F_SETFL, 0) < 0)
		return -errno;
	return TAKE_FD(fd);
}

/* Resolves and connects; the socket, or -errno. */
static int broker_connect(const struct broker_request *rq, char peer[static WIRE_PEER_MAX])
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res = NULL;
	char bare[WIRE_HOST_MAX + 1], port[8];
	int r = -EHOSTUNREACH, g;

	if (!bare_host(rq->host, bare, sizeof(bare)))
		return -EINVAL;
	snprintf(port, sizeof(port), "%u", rq->port);
	g = getaddrinfo(bare, port, &hints, &res);
	if (g != 0)
		return g == EAI_NONAME || g == EAI_NODATA ? -ENXIO : g == EAI_SYSTEM ? negative_errno() : -EAGAIN;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (!broker_address_allowed(ai->ai_addr, rq->local_ok)) {
			r = r == -EHOSTUNREACH ? -EACCES : r;
			continue;
		}
		r = connect_one(ai, rq->timeout_ms);
		if (r >= 0) {
			if (getnameinfo(ai->ai_addr, ai->ai_addrlen, peer, WIRE_PEER_MAX, NULL, 0, NI_NUMERICHOST) != 0)
				snprintf(peer, WIRE_PEER_MAX, "?");
			break;
		}
	}
	freeaddrinfo(res);
	return r;
}

static int add_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	static const int allow[] = {
		/* connecting */
		SCMP_SYS(socket), /* narrowed to AF_INET, AF_INET6 below (first matching rule wins per call) */
		SCMP_SYS(connect),
		SCMP_SYS(poll),
		SCMP_SYS(ppoll),
		SCMP_SYS(getsockopt),
		SCMP_SYS(setsockopt),
		SCMP_SYS(getsockname),
		SCMP_SYS(getpeername),
		SCMP_SYS(fcntl),
		SCMP_SYS(close),
		/* getaddrinfo: resolv.conf, hosts, DNS over UDP or TCP */
		SCMP_SYS(read),
		SCMP_SYS(pread64),
		SCMP_SYS(newfstatat),
		SCMP_SYS(fstat),
		SCMP_SYS(lseek),
		SCMP_SYS(sendto),
		SCMP_SYS(recvfrom),
		SCMP_SYS(sendmmsg),
		SCMP_SYS(bind),
		SCMP_SYS(uname),
		SCMP_SYS(clock_gettime),
		SCMP_SYS(gettimeofday),
		SCMP_SYS(getrandom),
		SCMP_SYS(getpid),
		/* its own socket */
		SCMP_SYS(recvmsg),
		SCMP_SYS(sendmsg),
		/* malloc */
		SCMP_SYS(brk),
		SCMP_SYS(munmap),
		SCMP_SYS(mremap),
		SCMP_SYS(madvise),
		SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(exit_group),
#ifdef __SANITIZE_ADDRESS__
		/* The test build's ASan runtime sets its alternate signal stack up and down (unit test connect). */
		SCMP_SYS(sigaltstack),
#endif
	};
	int r = ctx ? 0 : -ENOMEM;

	if (r == 0 && seccomp_arch_native() != SCMP_ARCH_X86_64)
		r = -EAFNOSUPPORT;
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(allow); i++)
		if (allow[i] != SCMP_SYS(socket))
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i], 0);
	/* Sockets of the Internet families only; nscd's AF_UNIX one is answered EACCES, glibc then asks DNS. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0_32(SCMP_CMP_EQ, AF_INET));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0_32(SCMP_CMP_EQ, AF_INET6));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
				     SCMP_A0_32(SCMP_CMP_EQ, AF_UNIX));
	/* resolv.conf, hosts, nsswitch.conf: read-only opens */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				     SCMP_A2_32(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT, O_RDONLY));
	/* glibc's DNS client asks how much a datagram holds */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1_32(SCMP_CMP_EQ, FIONREAD));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0_32(SCMP_CMP_EQ, STDERR_FILENO));
	if (r == 0)
		r = seccomp_load(ctx);
	if (ctx)
		seccomp_release(ctx);
	return r;
}

static int drop_privileges(uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return 0; /* the unit tests: nothing to drop */
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) < 0)
		return -EPERM;
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    capng_have_capabilities(CAPNG_SELECT_BOTH) != CAPNG_NONE)
		return -EPERM;
	return 0;
}

static _Noreturn void broker_child(int sock, uid_t uid, gid_t gid, pid_t parent)
{
	struct rlimit nofile = { BROKER_NOFILE, BROKER_NOFILE }, core = { 0, 0 };
	struct addrinfo *warm = NULL;
	sigset_t none;
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(sock, BROKER_SOCK_FD) < 0 ||
	    syscall(SYS_close_range, BROKER_SOCK_FD + 1, ~0U, 0) < 0)
		_exit(127);
	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_CORE, &core) < 0)
		_exit(127);
	if (drop_privileges(uid, gid) < 0) {
		log_error("connection broker: cannot become uid %u gid %u without capabilities", (unsigned)uid,
			  (unsigned)gid);
		_exit(127);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(127);
	if (getaddrinfo("localhost", NULL, NULL, &warm) == 0)
		freeaddrinfo(warm);
	if (add_filter() < 0) {
		log_error("connection broker: cannot install its seccomp filter");
		_exit(127);
	}
	for (;;) {
		union {
			struct broker_request rq;
			char raw[sizeof(struct broker_request) + 1];
		} in;
		struct broker_answer out = { 0 };
		ssize_t n = recv(BROKER_SOCK_FD, &in, sizeof(in), 0);
		int fd;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0); /* the supervisor closed its end: re-exec or exit */
		if ((size_t)n != sizeof(in.rq) || !memchr(in.rq.host, '\0', sizeof(in.rq.host)))
			_exit(2);
		out.id = in.rq.id;
		fd = broker_connect(&in.rq, out.peer);
		out.result = fd < 0 ? fd : 0;
		if (wire_send(BROKER_SOCK_FD, &out, sizeof(out), fd) < 0)
			_exit(0);
		if (fd >= 0)
			close(fd);
	}
}

int broker_start(uid_t uid, gid_t gid, pid_t *pid, int *pidfd, int *sock)
{
	_cleanup_close_ int ours = -EBADF, theirs = -EBADF;
	pid_t parent = getpid(), child;
	int sv[2], fd;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return log_error_errno(-errno, "connection broker: socketpair failed");
	ours = sv[0];
	theirs = sv[1];
	child = fork();
	if (child < 0)
		return log_error_errno(-errno, "connection broker: fork failed");
	if (child == 0)
		broker_child(theirs, uid, gid, parent);
	fd = (int)syscall(SYS_pidfd_open, child, 0);
	if (fd < 0) {
		int r = -errno;
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return log_error_errno(r, "connection broker: pidfd_open failed");
	}
	fcntl(ours, F_SETFL, O_NONBLOCK);
	*pid = child;
	*pidfd = fd;
	*sock = TAKE_FD(ours);
	return 0;
}
