/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Checks of the cache dir and the device that --check-config runs before a
 * start: each returns 0, or -errno with WHY saying what is wrong and what to do.
 */
#ifndef CFS_CACHE_CHECK_H
#define CFS_CACHE_CHECK_H

#include <stddef.h>

int cache_dir_check(const char *dir, char *why, size_t size);
int device_check(const char *path, char *why, size_t size);

#endif
