/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Start-up from fds handed back by systemd's fd store or a re-exec. */
#ifndef CFS_RECOVER_H
#define CFS_RECOVER_H

#include "supervisor.h"

/*
 * Takes the fds in LISTEN_FDS/LISTEN_FDNAMES: the device (into s->dev_fd),
 * the state memfd (into s->state) and every object fd that has a valid
 * record. Everything else is removed from the store and closed. s->dev_fd
 * and s->state.fd stay -1 for what did not come back. Returns the number
 * of objects recovered, or -errno.
 */
int recover_from_listen_fds(struct supervisor *s);

#endif
