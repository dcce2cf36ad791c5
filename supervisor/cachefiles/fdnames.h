/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How this transport names its fds in the fd store (and across re-exec):
 * the device, the state memfd, and "obj-<object id>" for each object's anon
 * fd, which tells it apart among live objects.
 */
#ifndef CFS_FDNAMES_H
#define CFS_FDNAMES_H

#include <stdint.h>

#define FDNAME_DEVICE "device"
#define FDNAME_STATE "state"
#define FDNAME_OBJECT_PREFIX "obj-"

void fdname_of_object(uint32_t obj_id, char buf[32]);
/* Parses an object fd name; returns 0 and the id, or -EINVAL. */
int fdname_parse_object(const char *name, uint32_t *obj_id);

#endif
