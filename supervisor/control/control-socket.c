/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "control-socket.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfs-util.h"

/* Makes the socket's directory if it is missing (without systemd's RuntimeDirectory=). */
static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A socket left by a predecessor that crashed; only one supervisor runs (the device opens once). */
static int remove_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	return unlink(path) < 0 ? -errno : 0;
}

int control_socket_listen(const char *path, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -EBADF;
	mode_t umask_before;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	r = make_parent_dir(path);
	if (r == 0)
		r = remove_stale(path);
	if (r < 0)
		return r;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Created 0600 from the start: no moment where another user could connect. */
	umask_before = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(umask_before);
	if (r < 0 || listen(fd, backlog) < 0)
		return -errno;
	return TAKE_FD(fd);
}
