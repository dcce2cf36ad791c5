/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fork+exec of one worker, with the child's privilege transitions. */
#ifndef CFS_SPAWN_H
#define CFS_SPAWN_H

#include <sys/types.h>

#include "supervisor.h"

/* Starts a worker for domain d; returns 0 and its pid, pidfd and our socket end, or -errno. */
int spawn_worker(const struct settings *cfg, const struct domain *d, unsigned slot, pid_t *pid, int *pidfd, int *sock);

#endif
