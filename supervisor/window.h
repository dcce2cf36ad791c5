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

#include <stdint.h>

#include "cfs-util.h"

#define WINDOW_STREAMS 8
/* A stream's first window, doubled at each sequential READ up to the domain's read_window. */
#define WINDOW_INITIAL (128u << 10)
/* How far past the end of an exact fill a READ still counts as sequential: it must be contiguous. */
#define WINDOW_SLACK_NEW CFS_PAGE_SIZE

struct window_stream {
	uint64_t lo, hi; /* the fill last planned for it, page aligned; hi == 0: unused */
	uint32_t window; /* its current window in bytes; 0: exact fills */
	uint32_t used;   /* window_state.clock at its last READ: the oldest is replaced */
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
 * a domain whose window is at most max bytes (0: always exact). The result
 * is page aligned, covers the request's pages within the object and never
 * reaches past round_up(size, page): what wire_read_fill_is_valid()
 * demands. A READ at or past the object's end plans nothing (len 0) and
 * leaves the state alone.
 */
struct window_fill window_plan(struct window_state *st, uint32_t max, uint64_t size, uint64_t off, uint64_t len);

#endif
