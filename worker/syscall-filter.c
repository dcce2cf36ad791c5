/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sections as in OpenSSH's sandbox-seccomp-filter.c: calls answered with an
 * errno, calls allowed as they are, calls allowed only with certain
 * arguments. The list was measured with strace on workers serving a whole
 * image in the test VM (recvmsg, sendmsg, pread64, pwrite64, openat2,
 * newfstatat, close, lseek; getpid, gettid, rt_sigprocmask and tgkill in abort()),
 * plus what malloc and logging need. By the time it is
 * installed the supervisor has already dropped every privilege and emptied
 * the root (supervisor/sandbox.c): this takes away the kernel's attack
 * surface and the calls that would reach outside (sockets, exec, fork,
 * ptrace, mount, set*id, kill, ioctl).
 */
#include "syscall-filter.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"

static inline void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define _cleanup_seccomp_ _cleanup_(seccomp_releasep)

/*
 * Calls libc may make on its own (file lookups): a clean error beats a
 * dead worker. Blobs are opened with openat2(RESOLVE_BENEATH) only, so
 * plain open()/openat() has no use here, read-only or not.
 */
static const int deny_eacces[] = {
	SCMP_SYS(open),
	SCMP_SYS(openat),
};

/*
 * Left out on purpose: rt_sigreturn (the worker installs no handler, and it
 * is an exploit's favourite gadget), mprotect (malloc needs it only for
 * threads' arenas), exit (glibc's _exit() is exit_group).
 */
static const int allow[] = {
	SCMP_SYS(pread64),  /* blob bytes */
	SCMP_SYS(pwrite64), /* into the anon fds the supervisor passed */
	/*
	 * Its open_how is in memory, out of seccomp's reach: what bounds it is
	 * the empty read-only root and the read-only blob mount.
	 */
	SCMP_SYS(openat2),
	SCMP_SYS(close),
	SCMP_SYS(brk), /* malloc */
	SCMP_SYS(munmap),
	SCMP_SYS(mremap),	  /* realloc of the object table */
	SCMP_SYS(rt_sigprocmask), /* abort() blocks signals around its raise() */
	SCMP_SYS(getpid),
	SCMP_SYS(gettid),
	SCMP_SYS(exit_group),
};

/*
 * A remote domain's worker: HTTPS (libcurl, OpenSSL) on the connected
 * sockets CONNECTED hands it. Still refused: socket, connect, bind,
 * listen, accept, sendmsg/recvmsg on any fd but the IPC socket, sendto with
 * an address (below), clone, execve.
 */
static const int allow_remote[] = {
	SCMP_SYS(recvfrom),				/* recv() */
	SCMP_SYS(poll),					/* libcurl waits on its socket; also the backoff's sleep */
	SCMP_SYS(ppoll),	 SCMP_SYS(getpeername), /* libcurl's connection info */
	SCMP_SYS(getsockname),	 SCMP_SYS(shutdown),	SCMP_SYS(getrandom), /* OpenSSL's DRBG seed */
	SCMP_SYS(clock_gettime), SCMP_SYS(futex), /* OpenSSL's locks and run-once (libcrypto is built with threads) */
};

/* libcurl's multi handle asks for a wakeup socketpair and does without it. */
static const int deny_remote_eacces[] = {
	SCMP_SYS(socketpair),
};

/*
 * libcurl 7.88 calls connect() on the socket its sockopt callback said was
 * connected (CURL_SOCKOPT_ALREADY_CONNECTED), and takes the kernel's
 * EISCONN for a failure. The call never reaches the kernel: EINPROGRESS
 * makes libcurl wait for the socket to be writable and read SO_ERROR,
 * which a connected socket passes at once. So connect() is still refused,
 * on every fd, to every address.
 */
static const int deny_remote_einprogress[] = {
	SCMP_SYS(connect),
};

struct filtered_rule {
	int nr;
	unsigned n_args;
	struct scmp_arg_cmp args[2];
};

static int add_remote_rules(scmp_filter_ctx ctx)
{
	const struct filtered_rule rules[] = {
		/* send() on a connected socket: no address, so no datagram anywhere else */
		{ SCMP_SYS(sendto), 1, { SCMP_A4_64(SCMP_CMP_EQ, 0) } },
		/* libcurl's and OpenSSL's socket options: TCP_NODELAY, keep-alive, SO_ERROR */
		{ SCMP_SYS(setsockopt), 1, { SCMP_A1_32(SCMP_CMP_EQ, SOL_SOCKET) } },
		{ SCMP_SYS(setsockopt), 1, { SCMP_A1_32(SCMP_CMP_EQ, IPPROTO_TCP) } },
		{ SCMP_SYS(getsockopt), 1, { SCMP_A1_32(SCMP_CMP_EQ, SOL_SOCKET) } },
		{ SCMP_SYS(getsockopt), 1, { SCMP_A1_32(SCMP_CMP_EQ, IPPROTO_TCP) } },
		/* libcurl makes its socket non-blocking */
		{ SCMP_SYS(fcntl), 1, { SCMP_A1_32(SCMP_CMP_EQ, F_GETFL) } },
		{ SCMP_SYS(fcntl), 1, { SCMP_A1_32(SCMP_CMP_EQ, F_SETFL) } },
	};
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(deny_remote_eacces); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), deny_remote_eacces[i], 0);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(deny_remote_einprogress); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINPROGRESS), deny_remote_einprogress[i], 0);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(allow_remote); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow_remote[i], 0);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(rules); i++)
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, rules[i].nr, rules[i].n_args, rules[i].args);
	return r;
}

static int add_rules(scmp_filter_ctx ctx, int ipc_fd, pid_t self)
{
	const struct filtered_rule rules[] = {
		/* The IPC socket is the only one it may use; socket() is not allowed at all. */
		{ SCMP_SYS(recvmsg), 1, { SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)ipc_fd) } },
		{ SCMP_SYS(sendmsg), 1, { SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)ipc_fd) } },
		/* stderr only, for log lines; cache data goes through pwrite64 */
		{ SCMP_SYS(write), 1, { SCMP_A0_32(SCMP_CMP_EQ, STDERR_FILENO) } },
		/* malloc's mappings; no new executable memory */
		{ SCMP_SYS(mmap), 1, { SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0) } },
		/*
		 * Read windows (blob.c) skip what the cache file already holds:
		 * the anon fd answers SEEK_DATA/SEEK_HOLE about it. Nothing
		 * else: all I/O is pread/pwrite, an fd's offset is of no use.
		 */
		{ SCMP_SYS(lseek), 1, { SCMP_A2_32(SCMP_CMP_EQ, SEEK_DATA) } },
		{ SCMP_SYS(lseek), 1, { SCMP_A2_32(SCMP_CMP_EQ, SEEK_HOLE) } },
		/* glibc's fstat() is fstatat(fd, "", AT_EMPTY_PATH): no lookup by path */
		{ SCMP_SYS(newfstatat), 1, { SCMP_A3_32(SCMP_CMP_EQ, AT_EMPTY_PATH) } },
		/* abort() on a broken heap: SIGABRT to itself, so the death says what it was */
		{ SCMP_SYS(tgkill), 2, { SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)self), SCMP_A2_32(SCMP_CMP_EQ, SIGABRT) } },
	};
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(deny_eacces); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), deny_eacces[i], 0);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(allow); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i], 0);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, rules[i].nr, rules[i].n_args, rules[i].args);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The allowlist for a process whose pid is self, not loaded yet. */
static int build_filter(scmp_filter_ctx *out, int ipc_fd, pid_t self, bool log_only, bool remote)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	uint32_t arch = seccomp_arch_native();
	int r;

	/* The list names x86_64 calls (open, newfstatat...); another ABI needs its own review. */
	if (arch != SCMP_ARCH_X86_64)
		return log_error_errno(-EAFNOSUPPORT, "seccomp: the allowlist is written for x86_64, not arch 0x%x",
				       (unsigned)arch);
	ctx = seccomp_init(log_only ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return log_error_errno(-ENOMEM, "seccomp: cannot create a filter");
	/* Only the native arch is in a new filter; any other (i386 int 0x80, x32) kills. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r >= 0 && log_only)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if (r >= 0)
		r = add_rules(ctx, ipc_fd, self);
	if (r >= 0 && remote)
		r = add_remote_rules(ctx);
	if (r < 0)
		return log_error_errno(r, "seccomp: cannot build the allowlist");
	*out = TAKE_PTR(ctx);
	return 0;
}

int syscall_filter_install(int ipc_fd, bool log_only, bool remote)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	int r = build_filter(&ctx, ipc_fd, getpid(), log_only, remote);

	if (r < 0)
		return r;
	r = seccomp_load(ctx);
	if (r < 0)
		return log_error_errno(r, "seccomp: cannot load the allowlist");
	if (log_only)
		log_warning("seccomp: log mode: forbidden calls are logged, not stopped (--seccomp log)");
	return 0;
}

int syscall_filter_export(int out_fd, int ipc_fd, bool remote)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	int r = build_filter(&ctx, ipc_fd, SYSCALL_FILTER_PID_PLACEHOLDER, false, remote);

	if (r < 0)
		return r;
	r = seccomp_export_bpf(ctx, out_fd);
	if (r < 0)
		return log_error_errno(r, "seccomp: cannot export the allowlist");
	return 0;
}
