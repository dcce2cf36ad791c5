/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cull-pass.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cull-command.h"
#include "supervisor.h"

#define SCAN_ENTRIES_PER_STEP 256
#define CULLS_PER_STEP 16
#define STEP_MS 1
#define QUOTA_RESCAN_MS 30000
/* At most one scan ahead of culling this often (pass_prepare_scan). */
#define PREPARE_EVERY_MS 30000
/* Its steps are further apart than a pass's: it is not urgent yet, and the loop has READs to answer. */
#define PREPARE_STEP_MS 4
/* After a pass that could cull nothing, until an object closes. */
#define STUCK_HOLD_MS 30000

/*
 * The file name cachefiles gives a blob's cookie key when every byte is
 * printable but '/' and space: "D" + key (key.c: cachefiles_cook_key).
 * Other keys are encoded; the culler does not track them and relies on the
 * kernel's EBUSY alone for those.
 */
bool pass_cooked_name(const struct object *o, char vol[256], char file[256])
{
	if (o->key_len + 2 > 256 || strlen(o->volume) + 2 > 256)
		return false;
	for (uint32_t i = 0; i < o->key_len; i++)
		if (o->key[i] <= ' ' || o->key[i] == '/' || o->key[i] >= 0x7f)
			return false;
	snprintf(vol, 256, "I%s", o->volume);
	snprintf(file, 256, "D%.*s", (int)o->key_len, (const char *)o->key);
	return true;
}

int64_t pass_wall_s(void)
{
	return (int64_t)time(NULL);
}

uint64_t pass_bytes_written(const struct supervisor *s)
{
	return s->stats.bytes_served + s->stats.prefetched + s->stats.readahead;
}

void pass_set_tick(struct culler *c, unsigned ms)
{
	if (c->tick_ms == ms)
		return;
	timerfd_every_ms(c->timer_fd, ms);
	c->tick_ms = ms;
}

int pass_sample(struct supervisor *s, struct culler *c)
{
	struct statvfs v;

	if (fstatvfs(c->cache_fd, &v) < 0)
		return -errno;
	s->space.fs = (struct space_sample){ .blocks = v.f_blocks,
					     .blocks_free = v.f_bavail,
					     .files = v.f_files,
					     .files_free = v.f_ffree,
					     .block_size = v.f_frsize };
	return 0;
}

/*
 * The cache's size now: the last scan's, plus what fills wrote since, less
 * what was culled since. One sum, so a file written and culled between two
 * scans cancels out (subtracting culls from the scan's figure alone made it
 * 0 while the bytes written since still counted: the quota culled twice).
 */
uint64_t pass_cache_estimate(const struct supervisor *s, const struct culler *c)
{
	uint64_t grown = c->measured_bytes + (pass_bytes_written(s) - c->written_at_scan);

	return grown > c->scan_freed_bytes ? grown - c->scan_freed_bytes : 0;
}

/* What is left to free. */
struct space_deficit pass_deficit(const struct supervisor *s, const struct culler *c)
{
	return space_deficit(&s->cfg.space, &s->space.fs, pass_cache_estimate(s, c));
}

/* ---- a pass: scan, then cull the oldest ---- */

static void mark_open_objects(struct supervisor *s, struct culler *c)
{
	char vol[256], file[256];

	for (uint32_t i = 0; i < s->objects.n_handles; i++) {
		const struct object *o = s->objects.by_handle[i];
		if (o && pass_cooked_name(o, vol, file)) {
			struct cull_name *n = cull_names_get(&c->names, cull_name_hash(vol, file));
			if (n)
				n->in_use_pass = c->pass;
		}
	}
}

/* A new pass number (a scan ahead of culling takes one too): its counts at 0, the open objects marked in use in it. */
static void number_pass(struct supervisor *s, struct culler *c)
{
	c->pass++;
	c->pass_culled = c->freed_bytes = c->freed_files = 0;
	mark_open_objects(s, c);
}

static const char *why_text(enum space_pressure why)
{
	switch (why) {
	case SPACE_OVER_QUOTA: return "over max_size";
	case SPACE_ROOM_OK: return "the kernel's culling signal";
	case SPACE_BELOW_CULL: return "free space under bcull/fcull";
	case SPACE_BELOW_STOP: return "free space under bstop/fstop";
	}
	return "?";
}

/*
 * The oldest file closed since the last scan, if LRU order allows it now:
 * no file that scan left out of its candidates may be older (it kept them
 * all, or this one is no newer than the newest it kept), and the ring
 * forgot none since (those would be older).
 */
static const struct cull_candidate *recent_next(const struct culler *c)
{
	const struct cull_candidate *k = cull_recent_peek(&c->recent);

	if (!k || c->recent_lost)
		return NULL;
	return c->scan_saw_all || k->last_use_s <= c->scan_newest_s ? k : NULL;
}

static void end_pass(struct supervisor *s, struct culler *c);
static void pass_finished(struct supervisor *s, struct culler *c);

/* Measures the cache and finds its oldest files anew; false if the cache dir cannot be read. */
static bool start_scan(struct supervisor *s, struct culler *c)
{
	int r = cull_scan_begin(&c->scan, c->cache_fd);

	if (r < 0) {
		log_warning_errno(r, "cull: cannot read %s/cache", s->cfg.cache_dir);
		c->hold_until_ms = now_ms() + STUCK_HOLD_MS;
		return false;
	}
	c->phase = CULL_SCANNING;
	c->scanned = true;
	c->scan_began_ms = now_ms();
	c->scan_bytes = c->scan_files = c->scan_in_use = 0;
	c->scan_freed_bytes = c->scan_freed_files = 0;
	cull_candidates_reset(&c->candidates);
	c->recent = (struct cull_recent){ 0 }; /* the scan finds them */
	c->recent_lost = false;
	return true;
}

static void say_begins(struct supervisor *s, struct culler *c, enum space_pressure why)
{
	c->why = why;
	s->space.culling = true;
	log_info("cache space: cull pass %" PRIu64 " begins (%s): fs free %.1f MiB, brun at %.1f MiB", c->pass,
		 why_text(why), s->space.fs.blocks_free * s->space.fs.block_size / MIB,
		 space_level_bytes(&s->space.fs, s->cfg.space.blocks.run) / MIB);
}

/*
 * Culls at once from what it knows (the last scan's leftovers, files closed
 * since) if space is short now; scans first otherwise, or when a quota pass
 * is to measure the cache.
 */
void pass_begin(struct supervisor *s, struct culler *c, enum space_pressure why)
{
	struct space_deficit d;

	number_pass(s, c);
	c->scanned = false;
	pass_set_tick(c, STEP_MS);
	say_begins(s, c, why);
	d = pass_deficit(s, c);
	if ((d.bytes || d.files) && (cull_candidates_peek(&c->candidates) || recent_next(c)))
		c->phase = CULL_CULLING;
	else if (!start_scan(s, c))
		end_pass(s, c);
}

/*
 * A scan while there is still room (under brun/frun, above bcull/fcull)
 * and no candidate is left, so that the pass bcull starts culls at once:
 * at 100 000 files a scan took 2.8 s in the vm, and READs under the pace
 * level waited for it (p99 1.6 s). It culls nothing; a pass that becomes
 * due meanwhile takes it over (start_or_promote).
 */
bool pass_wants_prepare(const struct supervisor *s, const struct culler *c, uint64_t now)
{
	struct space_deficit d;

	if (cull_candidates_peek(&c->candidates) || now < c->next_prepare_ms ||
	    pass_bytes_written(s) == c->written_at_scan)
		return false;
	d = pass_deficit(s, c);
	return d.bytes || d.files;
}

void pass_prepare_scan(struct supervisor *s, struct culler *c, uint64_t now)
{
	c->next_prepare_ms = now + PREPARE_EVERY_MS;
	number_pass(s, c);
	if (!start_scan(s, c))
		return;
	c->prepare = true;
	pass_set_tick(c, PREPARE_STEP_MS);
}

static void prepare_done(struct culler *c)
{
	c->prepare = false;
	cull_scan_end(&c->scan);
	c->phase = CULL_IDLE;
	c->next_check_ms = 0; /* a look at once: space may be short by now */
	pass_set_tick(c, CHECK_MS);
}

/* Culling is due: a pass begins, or the scan ahead of it becomes one. */
void pass_start_or_promote(struct supervisor *s, struct culler *c, enum space_pressure why)
{
	if (c->phase == CULL_IDLE)
		pass_begin(s, c, why);
	else if (c->prepare) {
		c->prepare = false;
		pass_set_tick(c, STEP_MS);
		say_begins(s, c, why);
	}
}

/*
 * A pass ended: the READs held meanwhile go to the workers again, or, if
 * it found nothing to cull, fail (fill_done() then logs them, with the
 * numbers, as the kernel's refusal).
 */
void pass_release_held(struct supervisor *s, struct culler *c)
{
	size_t n = c->n_held;

	c->n_held = 0;
	for (size_t i = 0; i < n; i++) {
		struct request *r = inflight_get(&s->inflight, c->held[i]);
		if (!r || !r->parked)
			continue; /* answered otherwise meanwhile (its id may be another's now) */
		r->parked = false;
		if (c->stuck && r->space_retries > 0) /* refused, and nothing could go: fails now */
			s->transport->fill_done(s, r, -ENOBUFS);
		else
			inflight_enqueue(&s->inflight, r, 1);
	}
}

static void end_pass(struct supervisor *s, struct culler *c)
{
	if (!c->pass_culled) /* a pass that culled says so itself (pass_finished) */
		log_info("cache space: cull pass %" PRIu64 " ends, nothing culled: cache %.1f MiB in %" PRIu64 " files",
			 c->pass, s->space.cache_bytes / MIB, s->space.cache_files);
	cull_scan_end(&c->scan);
	c->phase = CULL_IDLE;
	c->prepare = false; /* a scan ahead that failed ends here too */
	s->space.culling = s->space.pacing = false;
	c->next_check_ms = now_ms() + CHECK_MS;
	pass_set_tick(c, CHECK_MS);
	pass_release_held(s, c);
}

static void visit(void *ctx, const struct cull_file *f)
{
	struct culler *c = ctx;
	struct cull_name *n = cull_names_lookup(&c->names, cull_name_hash(f->volume_dir, f->file));
	struct cull_candidate cand = { .bytes = f->bytes };

	c->scan_bytes += f->bytes;
	c->scan_files++;
	if (n)
		n->seen_pass = c->pass;
	if (n && n->in_use_pass == c->pass) {
		c->scan_in_use += f->bytes;
		return;
	}
	cand.last_use_s = cull_last_use(n, f->atime_s, f->mtime_s);
	snprintf(cand.volume_dir, sizeof(cand.volume_dir), "%s", f->volume_dir);
	snprintf(cand.fan_dir, sizeof(cand.fan_dir), "%s", f->fan_dir);
	snprintf(cand.file, sizeof(cand.file), "%s", f->file);
	cull_candidates_offer(&c->candidates, &cand);
}

/*
 * The open objects whose files the scan could not see: the kernel links a
 * new cache file in only when its object goes (namei.c:
 * cachefiles_create_file makes a tmpfile, interface.c:
 * cachefiles_commit_object links it, after the CLOSE is sent). What fills
 * wrote to them stands in for their size.
 */
static void add_unseen_open_objects(struct supervisor *s, struct culler *c)
{
	char vol[256], file[256];

	for (uint32_t i = 0; i < s->objects.n_handles; i++) {
		const struct object *o = s->objects.by_handle[i];
		const struct cull_name *n;
		if (!o)
			continue;
		n = pass_cooked_name(o, vol, file) ? cull_names_find(&c->names, cull_name_hash(vol, file)) : NULL;
		if (n && n->seen_pass == c->pass)
			continue;
		s->space.cache_bytes += o->filled;
		s->space.in_use_bytes += o->filled;
		s->space.cache_files++;
	}
}

static void scan_done(struct supervisor *s, struct culler *c)
{
	struct space_deficit d;

	s->space.cache_bytes = c->scan_bytes;
	s->space.cache_files = c->scan_files;
	s->space.in_use_bytes = c->scan_in_use;
	log_info("cache space: scanned %" PRIu64 " files, %.1f MiB, in %" PRIu64 " ms", c->scan_files,
		 c->scan_bytes / MIB, now_ms() - c->scan_began_ms);
	add_unseen_open_objects(s, c);
	c->measured_bytes = s->space.cache_bytes;
	c->measured_files = s->space.cache_files;
	s->space.scans++;
	c->written_at_scan = pass_bytes_written(s);
	c->next_quota_scan_ms = now_ms() + QUOTA_RESCAN_MS;
	c->scan_saw_all = c->candidates.count < c->candidates.room;
	cull_candidates_sort(&c->candidates);
	c->scan_newest_s = c->candidates.count ? c->candidates.list[c->candidates.count - 1].last_use_s : 0;
	if (c->prepare) {
		prepare_done(c);
		return;
	}
	(void)pass_sample(s, c);
	d = pass_deficit(s, c);
	if (d.bytes == 0 && d.files == 0) {
		if (c->pass_culled)
			pass_finished(s, c); /* it culled before it scanned: says so */
		else
			end_pass(s, c);
		return;
	}
	c->phase = CULL_CULLING;
}

void pass_scan_step(struct supervisor *s, struct culler *c)
{
	int r = cull_scan_step(&c->scan, SCAN_ENTRIES_PER_STEP, visit, c);

	if (r < 0) {
		log_warning_errno(r, "cull: reading %s/cache failed", s->cfg.cache_dir);
		end_pass(s, c);
	} else if (r == 0)
		scan_done(s, c);
}

/* The numbers an operator needs when space runs out: the cache, what is in use, the fs and its limits. */
void pass_space_numbers(const struct supervisor *s, char *buf, size_t size)
{
	const struct space_sample *fs = &s->space.fs;

	snprintf(buf, size,
		 "cache files %.1f MiB (%" PRIu64 " files), %.1f MiB of them in use by open objects; fs free %.1f of "
		 "%.1f MiB, bcull at %.1f MiB, bstop at %.1f MiB; quota %.1f MiB",
		 s->space.cache_bytes / MIB, s->space.cache_files, s->space.in_use_bytes / MIB,
		 fs->blocks_free * fs->block_size / MIB, fs->blocks * fs->block_size / MIB,
		 space_level_bytes(fs, s->cfg.space.blocks.cull) / MIB,
		 space_level_bytes(fs, s->cfg.space.blocks.stop) / MIB, s->cfg.space.max_size / MIB);
}

/* Nothing left to cull and still short: one line with the numbers and what to do, counted. */
static void report_stuck(struct supervisor *s, struct culler *c, struct space_deficit d)
{
	char numbers[400];

	s->space.stuck++;
	c->hold_until_ms = now_ms() + STUCK_HOLD_MS;
	if (c->stuck)
		return; /* said once per episode */
	c->stuck = true;
	pass_space_numbers(s, numbers, sizeof(numbers));
	log_error("cache space: nothing left to cull in %s: %s; still short %.1f MiB and %" PRIu64
		  " files: " WHAT_TO_DO,
		  s->cfg.cache_dir, numbers, d.bytes / MIB, d.files);
}

static void pass_finished(struct supervisor *s, struct culler *c)
{
	log_notice("cache space: cull pass %" PRIu64 " culled %" PRIu64 " files, %.1f MiB (%s); cache now %.1f MiB, "
		   "fs free %.1f MiB",
		   c->pass, c->pass_culled, c->freed_bytes / MIB, why_text(c->why), pass_cache_estimate(s, c) / MIB,
		   s->space.fs.blocks_free * s->space.fs.block_size / MIB);
	s->space.cache_bytes = pass_cache_estimate(s, c);
	s->space.cache_files = c->measured_files > c->scan_freed_files ? c->measured_files - c->scan_freed_files : 0;
	c->stuck = false;
	if (c->pass_culled)
		c->refused_said = false; /* room again: a new refusal is news */
	end_pass(s, c);
}

/* The least recently used file known without a scan; NULL: none. */
static struct cull_candidate *next_oldest(struct culler *c)
{
	const struct cull_candidate *a = cull_candidates_peek(&c->candidates), *b = recent_next(c);

	if (b && (!a || b->last_use_s < a->last_use_s)) {
		c->taken = *b;
		cull_recent_pop(&c->recent);
	} else if (a)
		c->taken = *cull_candidates_take(&c->candidates);
	else
		return NULL;
	return &c->taken;
}

/* One culled file, or why not; false: stop this pass (the device refuses culls). */
static bool take_candidate(struct supervisor *s, struct culler *c, int dev_fd, struct cull_candidate *k)
{
	const struct cull_name *n = cull_names_find(&c->names, cull_name_hash(k->volume_dir, k->file));
	int r;

	if (n && n->in_use_pass == c->pass)
		return true; /* opened since the scan: the kernel would refuse it anyway */
	if (n && n->closed_s > k->last_use_s)
		return true; /* used since the scan ranked it: it comes again, closed recently */
	r = cull_command(c->cache_fd, c->cwd_fd, dev_fd, k);
	if (r == 0) {
		c->pass_culled++;
		c->freed_bytes += k->bytes;
		c->freed_files++;
		c->scan_freed_bytes += k->bytes;
		c->scan_freed_files++;
		s->space.culled++;
		s->space.culled_bytes += k->bytes;
	} else if (r == -EBUSY)
		s->space.busy_skipped++;
	else if (r != -ESTALE && r != -ENOENT) {
		log_warning_errno(r, "cull of %s/%s/%s refused", k->volume_dir, k->fan_dir, k->file);
		return false;
	}
	return true;
}

void pass_cull_step(struct supervisor *s, struct culler *c, int dev_fd)
{
	struct cull_candidate *k = NULL;
	struct space_deficit d;
	bool go_on = true;

	d = pass_deficit(s, c);
	for (unsigned i = 0; go_on && i < CULLS_PER_STEP && (d.bytes || d.files); i++) {
		k = next_oldest(c);
		if (!k)
			break;
		go_on = take_candidate(s, c, dev_fd, k);
		(void)pass_sample(s, c);
		d = pass_deficit(s, c);
	}
	if ((d.bytes == 0 && d.files == 0) || !go_on)
		pass_finished(s, c);
	else if (k)
		return; /* candidates left: next tick */
	else if (!c->scanned) {
		if (!start_scan(s, c)) /* what it knew did not do: look for the rest */
			end_pass(s, c);
	} else if (c->pass_culled) {
		/* The oldest CANDIDATES went and more must: scan again for the next oldest. */
		enum space_pressure why = c->why;
		pass_finished(s, c);
		pass_begin(s, c, why);
	} else {
		report_stuck(s, c, d);
		end_pass(s, c);
	}
}

static int grow_held(struct culler *c)
{
	size_t room = c->held_room ? c->held_room * 2 : 64;
	uint32_t *bigger = realloc(c->held, room * sizeof(*bigger));

	if (!bigger)
		return -ENOMEM;
	c->held = bigger;
	c->held_room = room;
	return 0;
}

/* Parks r until pass_release_held(); false: no memory, it goes on now. */
bool pass_hold(struct culler *c, struct request *r)
{
	if (c->n_held == c->held_room && grow_held(c) < 0)
		return false;
	c->held[c->n_held++] = r->msg_id;
	r->parked = true;
	r->worker = NO_WORKER; /* neither queued nor held by a worker */
	return true;
}
