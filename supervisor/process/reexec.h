/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CFS_REEXEC_H
#define CFS_REEXEC_H

#include "supervisor.h"

/*
 * Replaces this process with the binary at s->self_exe (a new version, if it
 * was replaced on disk), keeping the pid. The device, the state memfd and
 * every open object's anon fd pass as LISTEN_FDS/LISTEN_FDNAMES, so the new
 * image starts through the same recovery path as after a crash. Returns
 * only on failure, with the fds it could not pass already closed.
 */
int supervisor_reexec(struct supervisor *s);

/*
 * Before a re-exec replaces anything (issue 17, item 3): runs the binary at
 * s->self_exe with the running command line and --check-config (the config
 * file, every domain's user and blob dir, the worker binary, all as the new
 * image would see them) and waits up to REEXEC_CHECK_TIMEOUT_MS. Returns 0
 * if it passed; else -errno, every line it printed logged, and why (the
 * first error: file and line, a blob dir, the worker binary) in why.
 */
#define REEXEC_CHECK_TIMEOUT_MS 10000
int reexec_check(struct supervisor *s, char *why, size_t size);

/*
 * Whether the fds a re-exec would pass fit: twice over within the fd limit
 * (they are moved into place through copies), and their names, joined in
 * LISTEN_FDNAMES, within Linux's 128 KiB for one string (an execve past it
 * fails with E2BIG). Either failure would come when the loop is already
 * gone. Returns 0, or -EMFILE or -E2BIG with why.
 */
int reexec_fits(struct supervisor *s, char *why, size_t size);

#endif
