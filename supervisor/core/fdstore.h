/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * systemd's fd store: where the device fd, the state memfd and every anon fd
 * outlive a crash or restart of the supervisor. Without NOTIFY_SOCKET every
 * call is a no-op and the supervisor holds its fds alone.
 *
 * Nothing here blocks the event loop (issue 17, item 9): notifications go
 * through one non-blocking socket, in order. What PID 1 cannot take at once
 * waits in a queue (a pushed fd as a duplicate, so the push is never lost)
 * and goes with fdstore_flush(), which the loop calls after every round.
 */
#ifndef CFS_FDSTORE_H
#define CFS_FDSTORE_H

#include <stdbool.h>
#include <stdint.h>

bool fdstore_available(void);
/* Pushes one fd under a name (FDPOLL=0: systemd must not drop it on POLLHUP). 0: sent or queued. */
int fdstore_push(const char *name, int fd);
/* Drops every stored fd of that name (after any push of it queued before). */
int fdstore_remove(const char *name);

/* Other notifications: READY=1, RELOADING=1, STATUS=..., WATCHDOG=1; in order with the pushes. */
void notify_text(const char *text);

/* How long an exiting or re-executing image waits for PID 1 to take what is queued. */
#define FDSTORE_FLUSH_EXIT_MS 2000

/* Sends what waits, as far as the socket takes it; wait_ms > 0 waits that long for the rest. Returns what is left. */
unsigned fdstore_flush(int wait_ms);
/* Notifications waiting for room in the socket. */
unsigned fdstore_pending(void);

#endif
