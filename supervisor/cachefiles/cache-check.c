/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What `bind` would refuse, found before a start (--check-config): the
 * kernel's cachefiles_add_cache() wants a writable filesystem with xattrs,
 * tmpfiles, statfs and sync_fs, and blocks no larger than a page. Only what
 * can be seen from user space is checked; bind stays the final word.
 */
#include "cache-check.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cfs-util.h"

/* Filesystems with xattrs whose super_operations lack sync_fs: bind gives EOPNOTSUPP. */
static const char *lacks_sync_fs(long type)
{
	switch (type) {
	case TMPFS_MAGIC: return "tmpfs";
	case RAMFS_MAGIC: return "ramfs";
	default: return NULL;
	}
}

int cache_dir_check(const char *dir, char *why, size_t size)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct statfs fs;
	const char *name;

	/* errno is taken before snprintf(), which may change it. */
	if (fd < 0) {
		int r = -errno;
		snprintf(why, size, "cache dir %s: %s (create it on ext4 or xfs)", dir, strerror(-r));
		return r;
	}
	if (fstatfs(fd, &fs) < 0) {
		int r = -errno;
		snprintf(why, size, "cache dir %s: statfs: %s", dir, strerror(-r));
		return r;
	}
	name = lacks_sync_fs((long)fs.f_type);
	if (name) {
		snprintf(why, size, "cache dir %s is on %s, which cachefiles cannot use (no sync_fs): use ext4 or xfs",
			 dir, name);
		return -EOPNOTSUPP;
	}
	if (fs.f_flags & ST_RDONLY) {
		snprintf(why, size, "cache dir %s is on a read-only filesystem", dir);
		return -EROFS;
	}
	/* A trusted.* name: readable (ENODATA) wherever the fs has xattr handlers at all. */
	if (fgetxattr(fd, "trusted.cachefiles-supervisor.probe", NULL, 0) < 0 && errno == EOPNOTSUPP) {
		snprintf(why, size,
			 "cache dir %s is on a filesystem without xattrs (mounted with nouser_xattr or "
			 "a type without them?): use ext4 or xfs",
			 dir);
		return -EOPNOTSUPP;
	}
	return 0;
}

int device_check(const char *path, char *why, size_t size)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		int r = -errno;
		snprintf(why, size,
			 "%s: %s (load the cachefiles module: modprobe cachefiles; the kernel needs "
			 "CONFIG_CACHEFILES_ONDEMAND=y)",
			 path, strerror(-r));
		return r;
	}
	if (!S_ISCHR(st.st_mode)) {
		snprintf(why, size, "%s is not a character device", path);
		return -ENODEV;
	}
	return 0;
}
