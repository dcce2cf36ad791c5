/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The culler's passes (culler.h says what it does and when): a pass scans
 * the cache in steps and culls the least recently used files until space
 * is back; a scan may run ahead of culling. Also the READs held meanwhile
 * and the numbers its messages give. Called from culler.c only, which
 * holds the triggers and the event hooks.
 */
#ifndef CFS_CULL_PASS_H
#define CFS_CULL_PASS_H

#include <stdbool.h>
#include <stdint.h>

#include "culler.h"

#define CHECK_MS 1000
#define MIB (1024.0 * 1024.0)
#define WHAT_TO_DO                                                                                      \
	"unmount images no one reads, or give the cache room (a larger fs, a higher max_size or lower " \
	"bcull/bstop)"

/* A blob's cache file name, if the culler can know it (printable keys only). */
bool pass_cooked_name(const struct object *o, char vol[256], char file[256]);
int64_t pass_wall_s(void);
/* Bytes fills, readahead and prefetch have written since start. */
uint64_t pass_bytes_written(const struct supervisor *s);
void pass_set_tick(struct culler *c, unsigned ms);
/* fstatvfs of the cache fs into s->space.fs. */
int pass_sample(struct supervisor *s, struct culler *c);
uint64_t pass_cache_estimate(const struct supervisor *s, const struct culler *c);
/* What is left to free. */
struct space_deficit pass_deficit(const struct supervisor *s, const struct culler *c);

void pass_begin(struct supervisor *s, struct culler *c, enum space_pressure why);
/* Culling is due: a pass begins, or the scan ahead of it becomes one. */
void pass_start_or_promote(struct supervisor *s, struct culler *c, enum space_pressure why);
bool pass_wants_prepare(const struct supervisor *s, const struct culler *c, uint64_t now);
void pass_prepare_scan(struct supervisor *s, struct culler *c, uint64_t now);
/* One turn of the timer while scanning, or while culling. */
void pass_scan_step(struct supervisor *s, struct culler *c);
void pass_cull_step(struct supervisor *s, struct culler *c, int dev_fd);
/* The held READs go to workers again, or fail if the pass found nothing to cull. */
void pass_release_held(struct supervisor *s, struct culler *c);
/* Parks r until the pass ends or room comes back; false: no memory. */
bool pass_hold(struct culler *c, struct request *r);
/* The cache, what is in use, the fs and its limits, for an operator. */
void pass_space_numbers(const struct supervisor *s, char *buf, size_t size);

#endif
