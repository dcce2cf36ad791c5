/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker sandbox, built by the supervisor between fork and exec: the
 * worker starts unprivileged, capability-free, with no_new_privs, in its own
 * mount/network/IPC/UTS namespaces and an empty read-only root. The worker
 * adds its seccomp allowlist itself (worker/syscall-filter.c). docs/threat-model.md
 * says what this buys.
 */
#ifndef CFS_SANDBOX_H
#define CFS_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

#include "sandbox-settings.h"

/*
 * An unprivileged user's ids, quietly: 0, -ENOENT (no such user), -EPERM
 * (root's or our own uid, or root's gid; *uid and *gid say which), or the
 * lookup's -errno.
 */
int sandbox_lookup_user(const char *name, uid_t *uid, gid_t *gid);
/* Looks the worker user up; logs what to fix and returns -errno if it cannot be used. */
int sandbox_resolve_user(struct sandbox_settings *sb);

/*
 * Runs in the forked child only, with the IPC socket on fd 3, the blob dir on
 * fd 4, /dev/null on 0 and 1, stderr on 2 and nothing else open. Builds the
 * sandbox and returns an O_PATH, close-on-exec fd of worker_exe for
 * execveat(). Never returns on failure: writes one "<3>" line saying what to
 * fix and _exit(127)s, so no worker ever runs outside the sandbox.
 */
int sandbox_apply_child(const struct sandbox_settings *sb, const char *worker_exe, pid_t parent);

#endif
