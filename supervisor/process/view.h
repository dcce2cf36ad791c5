/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CFS_VIEW_H
#define CFS_VIEW_H

#include <stdbool.h>

/*
 * The supervisor's own mount namespace (--private-view, issue 16): the
 * hardening systemd's ProtectSystem=strict, ProtectHome=, PrivateTmp=,
 * PrivateDevices=, ProtectKernel*=, ProtectControlGroups= and ProtectProc=
 * gave, built with a fixed number of mount calls. systemd builds those
 * mount by mount, so a start with 10 000 erofs mounts on the node took a
 * minute with every reader waiting; here one recursive mount_setattr()
 * makes the whole tree read-only, whatever it holds.
 *
 * After view_build():
 *   - every mount is read-only but the writable dirs (cache, control
 *     socket), which are nosuid, nodev and noexec as well;
 *   - /home, /root, /run/user, /tmp, /var/tmp and the kernel modules are
 *     empty, but for the needed dirs under them (a clone's build tree, a
 *     config under /tmp), which are bound back read-only at their paths;
 *   - /dev holds only null, zero, full, random, urandom and the device;
 *   - /proc shows our own processes only (hidepid=invisible, subset=pid);
 *   - mounts and unmounts of the host still propagate in (slave), so an
 *     erofs unmounted outside is released here too and its CLOSE comes.
 * A re-exec keeps the namespace and builds nothing again.
 */

#define VIEW_MAX_PATHS 72 /* every domain's blob dir (64), binaries, config, ready file */

struct view_paths {
	const char *writable[4]; /* directories, made if missing */
	unsigned n_writable;
	const char *needed[VIEW_MAX_PATHS]; /* directories read later (binaries, config, blob dirs) */
	unsigned n_needed;
	const char *device; /* bound into the new /dev if it lies in /dev */
};

/* True if this process already runs in a view it (or the image it re-executed from) built. */
bool view_is_built(void);

/* Builds the view and enters it. Returns 0 or -errno, logged with what to fix. */
int view_build(const struct view_paths *p);

#endif
