/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CFS_STARTUP_H
#define CFS_STARTUP_H

#include "supervisor.h"

/*
 * Gets the supervisor serving: recovers the device, state and objects from
 * handed-back fds, or opens and binds the device afresh; starts the workers
 * and the loop's fds. Logs what went wrong. Returns 0 or -errno.
 */
int supervisor_startup(struct supervisor *s);

#endif
