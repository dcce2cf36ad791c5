/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Named syscall-filter, not seccomp: worker/seccomp.h would shadow libseccomp's <seccomp.h>. */
/*
 * The worker's syscall allowlist (libseccomp), installed after start-up and
 * before HELLO: exactly what the serve loop needs, everything else kills the
 * whole worker (SIGSYS), which the supervisor treats like any crash.
 */
#ifndef CFS_WORKER_SYSCALL_FILTER_H
#define CFS_WORKER_SYSCALL_FILTER_H

#include <stdbool.h>

/*
 * Stands for the worker's own pid (the one rule that names it) in an
 * exported program: above PID_MAX_LIMIT (2^22), so never a pid, and no
 * other rule compares with it (seccomp-program.c puts the pid in its place).
 */
#define SYSCALL_FILTER_PID_PLACEHOLDER 0x5ecc0d1du

/*
 * Installs the filter for a worker whose IPC socket is ipc_fd. log_only
 * (--seccomp log): forbidden calls are logged by the kernel and let through,
 * for finding a missing entry. remote: a remote domain's worker, which also
 * speaks HTTPS on sockets the supervisor hands it (docs/design.md, "What
 * seccomp newly allows"). Returns 0 or -errno, logged.
 */
int syscall_filter_install(int ipc_fd, bool log_only, bool remote);

/*
 * Writes the enforcing filter as a BPF program (struct sock_filter[]) to
 * out_fd, with SYSCALL_FILTER_PID_PLACEHOLDER for the pid. Returns 0 or
 * -errno, logged.
 */
int syscall_filter_export(int out_fd, int ipc_fd, bool remote);

#endif
