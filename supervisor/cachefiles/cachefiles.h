/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cachefiles on-demand transport (transport.h): /dev/cachefiles, its
 * OPEN/READ/CLOSE messages, copen and READ_COMPLETE, restore, and what
 * keeps its objects across a restart (fd store names, the state memfd).
 * This is all the process layer sees of it; the kernel's own header stays
 * inside this folder.
 */
#ifndef CFS_CACHEFILES_H
#define CFS_CACHEFILES_H

#include "transport.h"

#define CACHEFILES_DEVICE_PATH "/dev/cachefiles"

extern const struct transport_ops cachefiles_transport;

#endif
