/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cull-command.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfs-log.h"
#include "device.h"

/* A recently closed file's fan dir (the kernel's hash of its key picks it): looked for in the 256. */
static int find_fan(int cache_fd, struct cull_candidate *k)
{
	char path[300];
	struct stat st;
	int vol;

	snprintf(path, sizeof(path), "cache/%s", k->volume_dir);
	vol = openat(cache_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (vol < 0)
		return -errno;
	for (unsigned i = 0; i < 256; i++) {
		snprintf(path, sizeof(path), "@%02x/%s", i, k->file);
		if (fstatat(vol, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
			snprintf(k->fan_dir, sizeof(k->fan_dir), "@%02x", i);
			k->bytes = (uint64_t)st.st_blocks * 512;
			close(vol);
			return 0;
		}
	}
	close(vol);
	return -ENOENT; /* not linked in yet (the kernel does so after the CLOSE), or gone */
}

int cull_command(int cache_fd, int cwd_fd, int dev_fd, struct cull_candidate *k)
{
	char path[300];
	int dir, r = k->fan_dir[0] ? 0 : find_fan(cache_fd, k);

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "cache/%s/%s", k->volume_dir, k->fan_dir);
	dir = openat(cache_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	r = fchdir(dir) < 0 ? -errno : device_cull(dev_fd, k->file);
	if (fchdir(cwd_fd) < 0)
		log_warning_errno(-errno, "cull: cannot return to the working directory");
	close(dir);
	return r;
}
