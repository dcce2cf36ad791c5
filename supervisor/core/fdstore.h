/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * systemd's fd store: where the device fd, the state memfd and every anon fd
 * outlive a crash or restart of the supervisor. Without NOTIFY_SOCKET every
 * call is a no-op and the supervisor holds its fds alone.
 */
#ifndef CFS_FDSTORE_H
#define CFS_FDSTORE_H

#include <stdbool.h>
#include <stdint.h>

bool fdstore_available(void);
/* Pushes one fd under a name (FDPOLL=0: systemd must not drop it on POLLHUP). */
int fdstore_push(const char *name, int fd);
/* Drops every stored fd of that name. */
int fdstore_remove(const char *name);

/* Other notifications: READY=1, RELOADING=1, STATUS=..., WATCHDOG=1. */
void notify_text(const char *text);

#endif
