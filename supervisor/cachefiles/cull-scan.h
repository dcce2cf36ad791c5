/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A walk of the cache's files in bounded steps, so a cache of 100 000 files
 * never holds up the event loop. cachefiles lays them out as
 * cache/I<volume key>/@<hash byte>/<cooked key> under the cache dir
 * (volume.c: cachefiles_acquire_volume, key.c: cachefiles_cook_key); the
 * graveyard and anything that is no regular file at the third level are
 * left alone.
 */
#ifndef CFS_CULL_SCAN_H
#define CFS_CULL_SCAN_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>

struct cull_file {
	const char *volume_dir, *fan_dir, *file;
	uint64_t bytes; /* allocated */
	int64_t atime_s, mtime_s;
};

typedef void (*cull_scan_visit)(void *ctx, const struct cull_file *f);

struct cull_scan {
	DIR *volumes, *fans, *files; /* the levels open now; NULL: none */
	char volume_dir[256], fan_dir[8];
};

/* Starts a walk of cache_dir_fd's "cache" dir; 0 or -errno. */
int cull_scan_begin(struct cull_scan *sc, int cache_dir_fd);
/*
 * Reads up to budget directory entries, calling visit for each cache file.
 * Returns 1 while entries remain, 0 once the walk is done, or -errno.
 */
int cull_scan_step(struct cull_scan *sc, unsigned budget, cull_scan_visit visit, void *ctx);
void cull_scan_end(struct cull_scan *sc);

#endif
