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

#endif
