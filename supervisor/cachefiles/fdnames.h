/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How this transport names its fds in the fd store (and across re-exec):
 * the device, the state memfd, and one short name per object's anon fd.
 *
 * Both systemd and our re-exec hand every name back in one LISTEN_FDNAMES
 * environment string, which Linux refuses beyond 128 KiB (MAX_ARG_STRLEN):
 * an exec that fails with E2BIG is a restart loop under systemd and every
 * reader's EIO without it (issue 16). So an object's name does not grow
 * with its kernel object id (which only grows over a cache's life) but is
 * its state record's index, which max_objects bounds, in base 62, followed
 * by one character of that record's generation: a name left in the store
 * by a crash before its removal reached systemd does not match the
 * objects recorded at that index after it.
 *
 * Names of the form "obj-<object id>" from a predecessor older than this
 * scheme are still understood (by object id), so an upgrade keeps them.
 */
#ifndef CFS_FDNAMES_H
#define CFS_FDNAMES_H

#include <stddef.h>
#include <stdint.h>

#define FDNAME_DEVICE "device"
#define FDNAME_STATE "state"
#define FDNAME_LEGACY_OBJECT_PREFIX "obj-"
#define FDNAME_GENERATIONS 62u
#define FDNAME_OBJECT_SIZE 8 /* the longest object name and its NUL, with room */

/* Linux's limit for one environment string (MAX_ARG_STRLEN), less "LISTEN_FDNAMES=" and the NUL. */
#define FDNAMES_ENV_MAX (32u * 4096u - sizeof("LISTEN_FDNAMES="))

void fdname_of_object(uint32_t state_idx, uint8_t generation, char buf[FDNAME_OBJECT_SIZE]);
/* Parses an object fd name; returns 0 with its record index and generation, or -EINVAL. */
int fdname_parse_object(const char *name, uint32_t *state_idx, uint8_t *generation);
/* Parses a predecessor's "obj-<object id>"; returns 0 and the id, or -EINVAL. */
int fdname_parse_legacy(const char *name, uint32_t *obj_id);
/* The length of LISTEN_FDNAMES at its longest: the device, the state, and objects at indexes 0 to n - 1. */
size_t fdnames_worst_len(uint32_t n_objects);

#endif
