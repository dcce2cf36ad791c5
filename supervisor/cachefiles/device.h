/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /dev/cachefiles: opening, binding and the commands written to it. */
#ifndef CFS_DEVICE_H
#define CFS_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Opens the device; logs a message that says what to fix. Returns fd or -errno. */
int device_open(const char *path);
#include "space.h"

/* Writes dir, tag, the six thresholds and `bind ondemand`. Returns 0 or -errno (logged). */
int device_bind(int dev_fd, const char *cache_dir, const char *tag, const struct space_limits *space);
/* Reads one request: byte count, 0 if none is ready, or -errno. */
ssize_t device_read(int dev_fd, void *buf, size_t size);
/* copen reply: size >= 0, or -errno to refuse the object. */
int device_copen(int dev_fd, uint32_t msg_id, int64_t size_or_error);
/* Marks every unfinished request NEW again (kernel >= 6.8). */
int device_restore(int dev_fd);
/*
 * Removes NAME from the calling process's current directory, which the
 * kernel resolves it in (daemon.c: cachefiles_daemon_cull): the caller
 * fchdir()s there first. -EBUSY: the kernel has the file in use.
 */
int device_cull(int dev_fd, const char *name);
/* Completes a READ; without data written first the reader gets an error. */
int device_read_complete(int anon_fd, uint32_t msg_id);

#endif
