/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cache space: the limits the [cache] section sets (cachefilesd's
 * thresholds and our quota), the kernel's rules for them, and the verdict
 * the culler works from: is there room, and how much must go. Pure: the
 * numbers come from fstatfs() and the culler's scan (supervisor/cachefiles/
 * culler.c); docs/design.md, "Cache space", says where each rule is in the
 * kernel.
 */
#ifndef CFS_SPACE_H
#define CFS_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One resource's thresholds, in percent of the cache fs (blocks or files). */
struct space_levels {
	unsigned run;  /* culling stops once this much is free */
	unsigned cull; /* culling starts below this */
	unsigned stop; /* the kernel refuses new cache data below this (ENOBUFS) */
};

struct space_limits {
	struct space_levels blocks; /* brun, bcull, bstop */
	struct space_levels files;  /* frun, fcull, fstop */
	uint64_t max_size;	    /* bytes the cache may hold; 0: no quota */
};

/* What the kernel starts a freshly opened device with (daemon.c: cachefiles_daemon_open). */
#define SPACE_KERNEL_DEFAULTS ((struct space_levels){ .run = 7, .cull = 5, .stop = 1 })

/* cachefiles' rule for each resource: 0 <= stop < cull < run < 100. */
bool space_levels_valid(const struct space_levels *l);

/*
 * Which order to send run, cull and stop in: the kernel checks each command
 * against the values it holds at that moment (daemon.c: cachefiles_daemon_brun
 * and the others), so raising needs run first and lowering stop first.
 * Fills order[] with 'r', 'c', 's'; both levels must be valid.
 */
void space_levels_order(const struct space_levels *from, const struct space_levels *to, char order[3]);

/* A fstatfs() of the cache fs, in blocks and files. */
struct space_sample {
	uint64_t blocks, blocks_free; /* f_blocks, f_bavail */
	uint64_t files, files_free;   /* f_files, f_ffree */
	uint64_t block_size;	      /* f_bsize */
};

/* Why culling runs, or SPACE_ROOM_OK. */
enum space_pressure {
	SPACE_ROOM_OK,
	SPACE_BELOW_CULL, /* free blocks or files under bcull/fcull */
	SPACE_OVER_QUOTA, /* the cache holds more than max_size less a headroom (1/16) */
	SPACE_BELOW_STOP, /* under bstop/fstop: the kernel refuses new data now */
};

/*
 * Whether to start culling, given the fs and the cache's own size
 * (cache_bytes; ignored without a quota).
 */
enum space_pressure space_pressure(const struct space_limits *l, const struct space_sample *fs, uint64_t cache_bytes);

/*
 * What culling must still free before it may stop: bytes and files until
 * brun/frun are free and the cache is two headrooms (1/16 of the quota
 * each) under max_size: culling starts one headroom under it, so fills go
 * on meanwhile without passing it. Both 0: done.
 */
struct space_deficit {
	uint64_t bytes;
	uint64_t files;
};
struct space_deficit space_deficit(const struct space_limits *l, const struct space_sample *fs, uint64_t cache_bytes);

/*
 * Whether new fills should wait for the cull pass under way: free blocks
 * or files below halfway between stop and cull. Between bcull and bstop a
 * reader fills faster than a pass can cull many small files, and below
 * bstop the kernel refuses lookups too, so mounts fail (measured: 13 MiB
 * filled in the second a pass took to cull 2 MiB of 4 KiB files).
 */
bool space_should_pace(const struct space_limits *l, const struct space_sample *fs);

/* What the status report shows (struct supervisor's `space`), kept by the culler. */
struct space_stats {
	struct space_sample fs; /* the last fstatfs() */
	uint64_t cache_bytes;	/* the cache files' allocated bytes, as the last full scan counted them */
	uint64_t cache_files;	/* and how many */
	uint64_t in_use_bytes;	/* of those, files of open objects */
	uint64_t scans;		/* full scans finished */
	uint64_t culled, culled_bytes;
	uint64_t busy_skipped;	 /* cull refused with EBUSY: the kernel had the file in use */
	uint64_t stuck;		 /* culling was needed and nothing could go */
	uint64_t refused_writes; /* fills the kernel refused for lack of space (ENOBUFS): the reader got an error */
	uint64_t held_fills;	 /* refused fills held until a cull pass made room, then sent again */
	uint64_t paced_reads;	 /* READs held before their fill while a pass made room (space_should_pace) */
	bool culling;		 /* a cull pass is running */
	bool pacing;		 /* and space is short (space_should_pace): READs wait, no readahead or prefetch */
};

/* "12%" of the fs's blocks as bytes; for messages and the status report. */
uint64_t space_level_bytes(const struct space_sample *fs, unsigned percent);

#endif
