/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Start-up from fds handed back by systemd's fd store or a re-exec. */
#ifndef CFS_RECOVER_H
#define CFS_RECOVER_H

#include "transport-state.h"

/*
 * Takes the fds in LISTEN_FDS/LISTEN_FDNAMES: the device (into t->dev_fd),
 * the state memfd (into t->state) and every object fd that has a valid
 * record and a domain (s->sink->route). Everything else is removed from the
 * store and closed. t->dev_fd and t->state.fd stay -1 for what did not come
 * back. Returns the number of objects recovered, or -errno.
 */
int recover_from_listen_fds(struct supervisor *s, struct transport_state *t);

#endif
