/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "device.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/cachefiles.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cfs-log.h"

int device_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd >= 0)
		return fd;
	switch (errno) {
	case EBUSY:
		return log_error_errno(-errno,
				       "%s is held by another daemon (only one cache per kernel): "
				       "stop cachefilesd or the other supervisor first",
				       path);
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return log_error_errno(-errno,
				       "%s is missing: load the cachefiles module; the kernel "
				       "needs CONFIG_CACHEFILES_ONDEMAND=y",
				       path);
	case EPERM:
	case EACCES: return log_error_errno(-errno, "Cannot open %s: CAP_SYS_ADMIN is required", path);
	default: return log_error_errno(-errno, "Failed to open %s", path);
	}
}

/* One command per write(): the kernel parses the whole buffer as one. */
static int device_command(int dev_fd, const char *cmd)
{
	size_t len = strlen(cmd);
	ssize_t n = write(dev_fd, cmd, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/*
 * "brun 10%" and the others. The kernel checks each against the values it
 * holds at that moment, starting from its defaults on a fresh open: the
 * order comes from space_levels_order().
 */
static int send_levels(int dev_fd, char kind, const struct space_levels *to)
{
	const struct space_levels from = SPACE_KERNEL_DEFAULTS;
	char order[3], cmd[32];
	int r;

	space_levels_order(&from, to, order);
	for (int i = 0; i < 3; i++) {
		const char *what = order[i] == 'r' ? "run" : order[i] == 'c' ? "cull" : "stop";
		unsigned value = order[i] == 'r' ? to->run : order[i] == 'c' ? to->cull : to->stop;
		snprintf(cmd, sizeof(cmd), "%c%s %u%%", kind, what, value);
		r = device_command(dev_fd, cmd);
		if (r < 0)
			return log_error_errno(
				r, "'%s' refused by the kernel (it takes 0 <= %cstop < %ccull < %crun < 100)", cmd,
				kind, kind, kind);
	}
	return 0;
}

int device_bind(int dev_fd, const char *cache_dir, const char *tag, const struct space_limits *space)
{
	char cmd[4200];
	int r;

	snprintf(cmd, sizeof(cmd), "dir %s", cache_dir);
	r = device_command(dev_fd, cmd);
	if (r < 0)
		return log_error_errno(r, "Cache dir %s refused by the kernel", cache_dir);
	snprintf(cmd, sizeof(cmd), "tag %s", tag);
	r = device_command(dev_fd, cmd);
	if (r < 0)
		return log_error_errno(r, "Cache tag %s refused by the kernel", tag);
	r = send_levels(dev_fd, 'b', &space->blocks);
	if (r == 0)
		r = send_levels(dev_fd, 'f', &space->files);
	if (r < 0)
		return r;
	r = device_command(dev_fd, "bind ondemand");
	if (r == -EOPNOTSUPP)
		return log_error_errno(r, "bind ondemand refused: the kernel lacks CONFIG_CACHEFILES_ONDEMAND");
	if (r < 0)
		return log_error_errno(r,
				       "bind ondemand failed for %s (the cache dir needs xattrs, "
				       "e.g. ext4, not tmpfs)",
				       cache_dir);
	return 0;
}

ssize_t device_read(int dev_fd, void *buf, size_t size)
{
	ssize_t n = read(dev_fd, buf, size);

	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return n;
}

int device_copen(int dev_fd, uint32_t msg_id, int64_t size_or_error)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "copen %" PRIu32 ",%" PRId64, msg_id, size_or_error);
	return device_command(dev_fd, cmd);
}

int device_restore(int dev_fd)
{
	return device_command(dev_fd, "restore");
}

int device_cull(int dev_fd, const char *name)
{
	char cmd[300];

	if (snprintf(cmd, sizeof(cmd), "cull %s", name) >= (int)sizeof(cmd))
		return -ENAMETOOLONG;
	return device_command(dev_fd, cmd);
}

int device_read_complete(int anon_fd, uint32_t msg_id)
{
	if (ioctl(anon_fd, CACHEFILES_IOC_READ_COMPLETE, (unsigned long)msg_id) < 0)
		return -errno;
	return 0;
}
