/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cull-scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The entry's dir below parent, as a stream; NULL (errno set) if it is none. */
static DIR *open_below(DIR *parent, const char *name)
{
	int fd = openat(dirfd(parent), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

static void close_level(DIR **d)
{
	if (*d)
		closedir(*d);
	*d = NULL;
}

int cull_scan_begin(struct cull_scan *sc, int cache_dir_fd)
{
	int fd = openat(cache_dir_fd, "cache", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	*sc = (struct cull_scan){ 0 };
	if (fd < 0)
		return -errno;
	sc->volumes = fdopendir(fd);
	if (!sc->volumes) {
		close(fd);
		return -errno;
	}
	return 0;
}

static void visit_file(struct cull_scan *sc, const char *name, cull_scan_visit visit, void *ctx)
{
	struct stat st;
	struct cull_file f = { .volume_dir = sc->volume_dir, .fan_dir = sc->fan_dir, .file = name };

	if (fstatat(dirfd(sc->files), name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return; /* gone meanwhile (culled, retired) or not a cache file */
	f.bytes = (uint64_t)st.st_blocks * 512;
	f.atime_s = st.st_atim.tv_sec;
	f.mtime_s = st.st_mtim.tv_sec;
	visit(ctx, &f);
}

/* Descends into an entry of the level above the files: I<volume> dirs, then @xx dirs. */
static void descend(DIR **level, char *name_buf, size_t size, DIR *parent, const char *name, char prefix)
{
	if (name[0] != prefix || strlen(name) >= size)
		return;
	*level = open_below(parent, name);
	if (*level)
		snprintf(name_buf, size, "%s", name);
}

int cull_scan_step(struct cull_scan *sc, unsigned budget, cull_scan_visit visit, void *ctx)
{
	while (budget-- > 0) {
		DIR *d = sc->files ? sc->files : sc->fans ? sc->fans : sc->volumes;
		struct dirent *e;
		if (!d)
			return 0;
		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				return -errno;
			close_level(sc->files ? &sc->files : sc->fans ? &sc->fans : &sc->volumes);
			continue;
		}
		if (d == sc->files)
			visit_file(sc, e->d_name, visit, ctx);
		else if (d == sc->fans)
			descend(&sc->files, sc->fan_dir, sizeof(sc->fan_dir), d, e->d_name, '@');
		else
			descend(&sc->fans, sc->volume_dir, sizeof(sc->volume_dir), d, e->d_name, 'I');
	}
	return sc->volumes ? 1 : 0;
}

void cull_scan_end(struct cull_scan *sc)
{
	close_level(&sc->files);
	close_level(&sc->fans);
	close_level(&sc->volumes);
}
