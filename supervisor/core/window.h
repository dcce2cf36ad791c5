/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Read windows (issue 9): how much of an object a worker fills for one READ.
 * Every READ costs a round trip through the kernel, the supervisor and a
 * worker, and erofs asks for small ranges; a worker that fills a window
 * beyond the request saves the requests that window would have caused
 * (docs/design.md, "Amplified fills").
 *
 * The supervisor plans the window because it sees every READ of an object,
 * whichever worker serves it. Like the page cache's readahead, a window
 * grows while reads are sequential and stays exact while they are random;
 * unlike it, an object is one erofs image shared by every reader of the
 * mount, so several streams are followed at once (interleaved readers, and
 * metadata beside file data). Pure: no I/O, no allocation, no clock.
 */
#ifndef CFS_WINDOW_H
#define CFS_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "cfs-util.h"

#define WINDOW_STREAMS 8
/* A stream's first window, doubled at each sequential READ up to the domain's read_window. */
#define WINDOW_INITIAL (128u << 10)
/* How far past the end of an exact fill a READ still counts as sequential: it must be contiguous. */
#define WINDOW_SLACK_NEW CFS_PAGE_SIZE
/*
 * Readahead: once a stream's window has grown to the domain's read_window,
 * idle workers fill this many windows past its last fill in the
 * background, so the reader finds them filled (asynchronous, like the page
 * cache's readahead; the demand fill alone would leave reader and worker
 * taking turns). Each time the reader runs past all of it (the workers
 * were faster, and the reader waited for a window at its end), the
 * distance doubles, up to the domain's readahead setting: a reader that
 * stops leaves at most as much unread as it read.
 */
#define WINDOW_READAHEAD 4u

struct window_stream {
	uint64_t lo, hi; /* what was planned for it (fills and readahead handed out), page aligned; hi == 0: unused */
	uint64_t ahead;	 /* readahead wanted up to here; beyond hi: not handed out yet */
	uint32_t window; /* its current window in bytes; 0: exact fills */
	uint32_t ahead_dist; /* its readahead distance in bytes; 0: none yet */
	uint32_t used;	     /* window_state.clock at its last READ: the oldest is replaced */
};

/* Per object; all zeros is the initial state. */
struct window_state {
	struct window_stream streams[WINDOW_STREAMS];
	uint32_t clock;
};

/* A page-aligned range of the cache file; len 0: nothing to fill. */
struct window_fill {
	uint64_t off, len;
};

/*
 * Plans the fill for a READ [off, off+len) of an object of `size` bytes in
 * a domain whose window is at most max bytes (0: always exact) and whose
 * readahead reaches at most ahead_max bytes past a stream (0: none). The result
 * is page aligned, covers the request's pages within the object and never
 * reaches past round_up(size, page): what wire_read_fill_is_valid()
 * demands. A READ at or past the object's end plans nothing (len 0) and
 * leaves the state alone.
 */
struct window_fill window_plan(struct window_state *st, uint32_t max, uint32_t ahead_max, uint64_t size, uint64_t off,
			       uint64_t len);

/*
 * The next readahead chunk to hand out: at most max bytes, within
 * round_up(size, page). Counts it as planned (the stream's hi moves past
 * it). Returns false if no stream wants readahead now.
 */
bool window_readahead_take(struct window_state *st, uint32_t max, uint64_t size, struct window_fill *chunk);

/*
 * A readahead chunk (or prefetch chunk) at off is not in the cache file: its
 * worker died or it failed. The stream it belonged to ends at off again, so
 * a READ there continues it with a window instead of finding it "inside".
 */
void window_fill_lost(struct window_state *st, uint64_t off);

/*
 * A READ at off waited for a readahead chunk: its reader caught up with the
 * readahead, which then goes further ahead.
 */
void window_caught_up(struct window_state *st, uint32_t max, uint32_t ahead_max, uint64_t off);

#endif
