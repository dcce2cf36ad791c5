/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CFS_STARTUP_H
#define CFS_STARTUP_H

#include <signal.h>
#include <stdbool.h>

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

/* A refused config or worker binary at start waits (below) instead of exiting: under systemd, or given fds. */
bool startup_may_wait(void);

/*
 * Waits for retry() to succeed, never exiting on a refusal (issue 17, items 3
 * and 12): under systemd an exit restarts us every RestartSec for as long
 * as the file is wrong, and after a re-exec it drops the cache. Tells
 * systemd READY=1 with a STATUS= naming what to fix (domains_refusal()),
 * keeps the watchdog fed, retries with a back-off from 1 s to 60 s and at
 * once on SIGHUP, SIGUSR2 or a `reload` on the control socket (whose
 * client gets the verdict; other commands get "not serving: why"). The fd
 * store and any fds handed over stay untouched meanwhile.
 * Returns -1 once retry() succeeded, or the exit status to stop with
 * (0 after SIGTERM/SIGINT).
 */
int startup_wait_until_valid(struct supervisor *s, int (*retry)(struct supervisor *s, const void *ctx),
			     const void *ctx);

#endif
