/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Compiling the allowlist with libseccomp was most of a worker's start-up
 * under emulation (issue 16), and the program is the same for every worker
 * of one binary but for one constant: the worker's own pid in the tgkill
 * rule. So the supervisor has the binary export it once per generation
 * (--export-seccomp-program) and hands it to each new worker, which puts
 * its pid in and loads it here. The supervisor never writes the program;
 * the kernel checks it at load like any filter.
 */
#include "seccomp-program.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cfs-log.h"
#include "syscall-filter.h"

/* The pid's only place: a jeq against the placeholder. Returns how many were filled in. */
static unsigned fill_in_pid(struct sock_filter *insns, size_t n, pid_t pid)
{
	unsigned filled = 0;

	for (size_t i = 0; i < n; i++) {
		if (insns[i].code != (BPF_JMP | BPF_JEQ | BPF_K) || insns[i].k != SYSCALL_FILTER_PID_PLACEHOLDER)
			continue;
		insns[i].k = (uint32_t)pid;
		filled++;
	}
	return filled;
}

int seccomp_program_install(int fd)
{
	static struct sock_filter insns[BPF_MAXINSNS];
	struct sock_fprog prog = { .filter = insns };
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return log_error_errno(-errno, "seccomp program: fd %d", fd);
	if (st.st_size <= 0 || st.st_size > (off_t)sizeof(insns) || st.st_size % sizeof(insns[0]) != 0)
		return log_error_errno(-EBADMSG, "seccomp program: %lld bytes is no BPF program",
				       (long long)st.st_size);
	n = pread(fd, insns, (size_t)st.st_size, 0);
	if (n != st.st_size)
		return log_error_errno(n < 0 ? -errno : -EIO, "seccomp program: cannot read it");
	prog.len = (unsigned short)(n / (ssize_t)sizeof(insns[0]));
	/* Without its pid, abort() would kill the worker with SIGSYS, not SIGABRT: not our program. */
	if (fill_in_pid(insns, prog.len, getpid()) == 0)
		return log_error_errno(-EBADMSG, "seccomp program: no pid placeholder, not exported by this worker");
	/* As libseccomp's seccomp_load() does: the kernel takes a filter only under no_new_privs. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return log_error_errno(-errno, "seccomp program: the kernel refused it");
	return 0;
}
