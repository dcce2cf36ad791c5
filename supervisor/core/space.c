/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "space.h"

bool space_levels_valid(const struct space_levels *l)
{
	return l->stop < l->cull && l->cull < l->run && l->run < 100;
}

/*
 * Run, cull, stop works unless run would not be above the old cull or cull
 * not above the old stop; in both cases every new value is below the old
 * run and the new stop below the old cull, so stop, cull, run works.
 */
void space_levels_order(const struct space_levels *from, const struct space_levels *to, char order[3])
{
	bool raise_first = to->run > from->cull && to->cull > from->stop;

	order[0] = raise_first ? 'r' : 's';
	order[1] = 'c';
	order[2] = raise_first ? 's' : 'r';
}

uint64_t space_level_bytes(const struct space_sample *fs, unsigned percent)
{
	return fs->blocks / 100 * percent * fs->block_size;
}

/* The kernel's own arithmetic (cache.c: cachefiles_has_space after cachefiles_daemon_bind). */
static uint64_t level(uint64_t total, unsigned percent)
{
	return total / 100 * percent;
}

static uint64_t quota_headroom(uint64_t max_size)
{
	return max_size / 16;
}

enum space_pressure space_pressure(const struct space_limits *l, const struct space_sample *fs, uint64_t cache_bytes)
{
	if (fs->blocks_free < level(fs->blocks, l->blocks.stop) || fs->files_free < level(fs->files, l->files.stop))
		return SPACE_BELOW_STOP;
	if (fs->blocks_free < level(fs->blocks, l->blocks.cull) || fs->files_free < level(fs->files, l->files.cull))
		return SPACE_BELOW_CULL;
	/* A headroom early: the cache grows while a pass scans, and must not pass max_size meanwhile. */
	if (l->max_size && cache_bytes > l->max_size - quota_headroom(l->max_size))
		return SPACE_OVER_QUOTA;
	return SPACE_ROOM_OK;
}

static unsigned halfway(const struct space_levels *l)
{
	return l->stop + (l->cull - l->stop + 1) / 2;
}

bool space_should_pace(const struct space_limits *l, const struct space_sample *fs)
{
	return fs->blocks_free < level(fs->blocks, halfway(&l->blocks)) ||
	       fs->files_free < level(fs->files, halfway(&l->files));
}

static uint64_t shortfall(uint64_t have, uint64_t want)
{
	return have < want ? want - have : 0;
}

struct space_deficit space_deficit(const struct space_limits *l, const struct space_sample *fs, uint64_t cache_bytes)
{
	struct space_deficit d = {
		.bytes = shortfall(fs->blocks_free, level(fs->blocks, l->blocks.run)) * fs->block_size,
		.files = shortfall(fs->files_free, level(fs->files, l->files.run)),
	};

	if (l->max_size) {
		uint64_t target = l->max_size - 2 * quota_headroom(l->max_size);
		uint64_t over = cache_bytes > target ? cache_bytes - target : 0;
		if (over > d.bytes)
			d.bytes = over;
	}
	return d;
}
