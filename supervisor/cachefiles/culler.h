/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The culler: keeps the cache fs above its thresholds and the cache below
 * its quota by removing the least recently used cache files no mount uses,
 * through the kernel's `cull` command. It works in steps on its own timer
 * (a few hundred directory entries or a few dozen culls per turn), so the
 * loop answers READs meanwhile. Its state is rebuilt by scanning after a
 * restart or re-exec: only the CLOSE times of this run are lost, and file
 * times stand in for them (docs/design.md, "Cache space").
 */
#ifndef CFS_CULLER_H
#define CFS_CULLER_H

#include <stdbool.h>
#include <stdint.h>

#include "cull-scan.h"
#include "cull.h"
#include "space.h"

struct supervisor;
struct object;
struct request;

enum cull_phase { CULL_IDLE, CULL_SCANNING, CULL_CULLING };

struct culler {
	bool ready;
	bool failed;   /* could not start: not tried again */
	int cache_fd;  /* the cache dir */
	int cwd_fd;    /* where the supervisor returns after each cull */
	int timer_fd;  /* a step per tick while a pass runs, a check per second otherwise */
	int signal_fd; /* a dup of the device, polled for EPOLLOUT: the kernel's culling flag */
	bool signal_armed;
	unsigned tick_ms;
	enum cull_phase phase;
	enum space_pressure why;
	uint64_t pass;
	struct cull_scan scan;
	struct cull_names names;
	struct cull_candidates candidates; /* the last scan's oldest, those not yet taken */
	struct cull_recent recent;	   /* closed since that scan */
	struct cull_candidate taken;	   /* the one being culled (a copy: its fan dir may be looked up) */
	bool scanned;			   /* this pass has scanned (or is scanning) */
	bool prepare;			   /* the scan under way is ahead of culling (prepare_scan) */
	uint64_t next_prepare_ms;
	uint64_t scan_began_ms;
	bool scan_saw_all;			      /* the last scan's candidates held every file it could cull */
	int64_t scan_newest_s;			      /* the last use of the newest file it kept */
	bool recent_lost;			      /* `recent` forgot a file since that scan */
	uint64_t scan_bytes, scan_files, scan_in_use; /* sums of the scan under way */
	uint64_t pass_culled, freed_bytes, freed_files;
	uint64_t scan_freed_bytes, scan_freed_files; /* culled since the last scan began */
	uint64_t measured_bytes, measured_files;     /* the cache as the last scan found it */
	uint64_t written_at_scan;		     /* bytes fills had written when the last scan ended */
	uint64_t written_seen;			     /* and when watch_fills() last looked */
	uint64_t next_check_ms, rearm_at_ms, next_quota_scan_ms, hold_until_ms;
	bool stuck;	   /* the last pass found nothing it could cull */
	bool refused_said; /* a refused fill was logged since culling last freed room */
	uint32_t *held;	   /* msg_ids of READs refused for space or paced, until room or the pass's end */
	size_t n_held, held_room;
};

/* After every round of the loop: sets itself up once the loop runs. */
void culler_settle(struct supervisor *s, struct culler *c, int dev_fd);
/* Its timer (index 0) or the kernel's culling signal (index 1). */
void culler_on_event(struct supervisor *s, struct culler *c, int dev_fd, unsigned index);
/* An object closed: its file's last use, for the LRU order. */
void culler_object_closed(struct culler *c, const struct object *o);
/*
 * A fill (what: "READ 4096+8192 of domain x obj 3") the kernel refused for
 * lack of space: counted, said with the numbers, and culling starts now.
 */
void culler_write_refused(struct supervisor *s, struct culler *c, const char *what);
/*
 * Before that: a READ whose fill the kernel refused for lack of space is
 * held, if culling can still make room, and sent to a worker again once the
 * pass ends (its reader only waits); or fails then, if nothing could go.
 * False: it fails now.
 */
bool culler_hold_refused(struct supervisor *s, struct culler *c, struct request *r);
/*
 * A READ just taken from the kernel waits, before any fill, while a pass
 * runs and free space is under the pace level (space_should_pace()): it
 * goes to a worker once a cull step finds room again or the pass ends.
 * Its reader waits rather than the fs reaching bstop, where the kernel
 * refuses fills and new mounts. False: it goes on now.
 */
bool culler_pace_read(struct supervisor *s, struct culler *c, struct request *r);
void culler_free(struct culler *c);

#endif
