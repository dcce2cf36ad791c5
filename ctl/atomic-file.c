/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "atomic-file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int atomic_file_write(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	int fd, r = 0;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	/*
	 * No fsync: metrics are rewritten every few seconds, and after a
	 * crash an empty or old file says no more than a missing one would;
	 * a descriptor cut short is refused by its parser as truncated.
	 */
	if (fchmod(fd, 0644) < 0 || fwrite(data, 1, len, f) != len)
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}
