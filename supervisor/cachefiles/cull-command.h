/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One cache file culled through the kernel: its `@xx` dir found if not
 * known, the supervisor's cwd moved there for the `cull` command (which
 * resolves its name in the caller's cwd and refuses a '/': daemon.c:
 * cachefiles_daemon_cull) and back. The loop is single-threaded and
 * nothing forks in between, so no one else sees the cwd move.
 */
#ifndef CFS_CULL_COMMAND_H
#define CFS_CULL_COMMAND_H

#include "cull.h"

/*
 * Culls k (below cache_fd's "cache" dir) and returns to cwd_fd. An empty
 * k->fan_dir is looked for among the 256 and filled in, with k->bytes.
 * 0, or -errno: EBUSY the kernel has it in use, ENOENT/ESTALE gone (or, a
 * new file, not linked in yet).
 */
int cull_command(int cache_fd, int cwd_fd, int dev_fd, struct cull_candidate *k);

#endif
