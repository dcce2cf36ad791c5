/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CFS_STARTUP_H
#define CFS_STARTUP_H

#include <signal.h>

#include "supervisor.h"

/*
 * Gets the supervisor serving: recovers the device, state and objects from
 * handed-back fds, or opens and binds the device afresh; starts the workers
 * and the loop's fds. Logs what went wrong. Returns 0 or -errno.
 */
int supervisor_startup(struct supervisor *s);

/*
 * What a parent may have left us, made sane before anything else runs
 * (issue 17, items 4 and 10): fds 0-2 that are closed become /dev/null, so
 * no later fd (the state memfd, the device) lands there and takes log lines
 * or a worker's stdio; every signal an ancestor ignored gets its default
 * back (an ignored SIGCHLD makes the kernel reap workers itself, and
 * waitid(P_PIDFD) on them fails with ECHILD); the mask is exactly the
 * loop's signals, so one sent during start or re-exec waits for the loop.
 * Returns 0 or -errno (logged, once stderr is there).
 */
int startup_sanitize_process(void);

#endif
