/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket's file: an owner-only UNIX stream listener at a path. */
#ifndef CFS_CONTROL_SOCKET_H
#define CFS_CONTROL_SOCKET_H

/*
 * Makes the path's directory if it is missing (0755), replaces a stale
 * socket there (a crashed predecessor's; only one supervisor runs, the
 * device opens once), binds a non-blocking, close-on-exec listener created
 * with mode 0600 and listens. Returns its fd, -EEXIST if the path is taken
 * by something that is not a socket, or another -errno.
 */
int control_socket_listen(const char *path, int backlog);

#endif
