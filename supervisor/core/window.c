/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "window.h"

#include <stdbool.h>
#include <stddef.h>

#include "cfs-util.h"
#include "wire.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}
static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * The stream whose planned range holds off. For a READ: a fill or readahead
 * chunk there is still under way (another reader of the same pages is
 * served by its worker), or it stopped early (the cache fs refused a
 * write). Either way a second window there would only duplicate work:
 * fill exactly what was asked.
 */
static struct window_stream *stream_inside(struct window_state *st, uint64_t off)
{
	for (size_t i = 0; i < WINDOW_STREAMS; i++) {
		struct window_stream *s = &st->streams[i];
		if (s->hi && s->lo <= off && off < s->hi)
			return s;
	}
	return NULL;
}

/*
 * A READ at or shortly after a stream's last fill continues it: a reader
 * going forward misses first at the end of what was filled for it. The
 * slack forgives a gap (blocks another reader has not read yet): a window's
 * worth; a stream that has not shown itself sequential yet must be
 * continued right at its end, as the page cache's readahead demands. A
 * random READ lands there only by chance, with odds of streams * slack /
 * object size: for 4K READs over 64M that makes 2% more bytes than exact.
 */
static struct window_stream *stream_continued(struct window_state *st, uint64_t off)
{
	for (size_t i = 0; i < WINDOW_STREAMS; i++) {
		struct window_stream *s = &st->streams[i];
		uint64_t slack = s->window ? s->window : WINDOW_SLACK_NEW;
		if (s->hi && s->hi <= off && off - s->hi < slack)
			return s;
	}
	return NULL;
}

static struct window_stream *stream_oldest(struct window_state *st)
{
	struct window_stream *oldest = &st->streams[0];

	for (size_t i = 0; i < WINDOW_STREAMS; i++) {
		struct window_stream *s = &st->streams[i];
		if (!s->hi)
			return s;
		/* Unsigned difference: right across the clock's wrap. */
		if (st->clock - s->used > st->clock - oldest->used)
			oldest = s;
	}
	return oldest;
}

/*
 * Fills a window from `from`: the request's first page, or the end of the
 * stream's last fill when a gap follows it (nobody would ask for the gap
 * alone, and it is shorter than the window). At least up to the request's
 * end (hi), at most max (a reload may have lowered it), within the object.
 */
static struct window_fill stream_fill(struct window_stream *s, uint32_t max, uint32_t clock, uint64_t from, uint64_t hi,
				      uint64_t limit)
{
	uint64_t end;

	s->window = (uint32_t)min_u64(s->window, max);
	end = max_u64(hi, min_u64(limit, from + s->window));
	s->lo = from;
	s->hi = end;
	s->used = clock;
	return (struct window_fill){ from, end - from };
}

struct window_fill window_plan(struct window_state *st, uint32_t max, uint32_t ahead_max, uint64_t size, uint64_t off,
			       uint64_t len)
{
	uint64_t lo, hi, limit = round_up_page(size);
	struct window_stream *s;

	wire_read_pages(off, len, size, &lo, &hi);
	if (off >= size)
		return (struct window_fill){ lo, 0 };
	if (max == 0)
		return (struct window_fill){ lo, hi - lo };
	st->clock++;
	s = stream_inside(st, off);
	if (s) {
		s->used = st->clock;
		return (struct window_fill){ lo, hi - lo };
	}
	s = stream_continued(st, off);
	if (s) {
		struct window_fill f;
		bool ran_dry = s->ahead && s->hi >= s->ahead;
		s->window = s->window ? (uint32_t)min_u64(2 * (uint64_t)s->window, max) : WINDOW_INITIAL;
		f = stream_fill(s, max, st->clock, s->hi, hi, limit);
		/* Sequential for long enough: what follows is wanted too. */
		if (s->window == max && ahead_max) {
			if (!s->ahead_dist)
				s->ahead_dist = (uint32_t)min_u64((uint64_t)WINDOW_READAHEAD * max, ahead_max);
			else if (ran_dry)
				s->ahead_dist = (uint32_t)min_u64(2 * (uint64_t)s->ahead_dist, ahead_max);
			s->ahead = max_u64(s->ahead, min_u64(limit, s->hi + s->ahead_dist));
		}
		return f;
	}
	/*
	 * A new stream: exact, as with read_window = 0, until its next READ
	 * shows it is sequential. At offset 0 it starts with a window: that is
	 * erofs reading its superblock at mount, the metadata follows.
	 */
	s = stream_oldest(st);
	s->window = off == 0 ? WINDOW_INITIAL : 0;
	s->ahead = 0;
	s->ahead_dist = 0;
	return stream_fill(s, max, st->clock, lo, hi, limit);
}

/*
 * Of the streams that want readahead, the one least far ahead of its last
 * READ (lo is where that READ's fill began): interleaved readers of one
 * object each get their share.
 */
bool window_readahead_take(struct window_state *st, uint32_t max, uint64_t size, struct window_fill *chunk)
{
	uint64_t limit = round_up_page(size);
	struct window_stream *best = NULL;

	if (max == 0)
		return false;
	for (size_t i = 0; i < WINDOW_STREAMS; i++) {
		struct window_stream *s = &st->streams[i];
		if (s->hi && min_u64(s->ahead, limit) > s->hi && (!best || s->hi - s->lo < best->hi - best->lo))
			best = s;
	}
	if (!best)
		return false;
	*chunk = (struct window_fill){ best->hi, min_u64(min_u64(best->ahead, limit), best->hi + max) - best->hi };
	best->hi += chunk->len;
	return true;
}

void window_fill_lost(struct window_state *st, uint64_t off)
{
	struct window_stream *s = stream_inside(st, off);

	/*
	 * No readahead either until the stream's next READ: a chunk that kills
	 * its worker every time (a poison range) is then tried once per READ,
	 * which the READ's own crash limit bounds.
	 */
	if (s && off > s->lo) {
		s->hi = off;
		s->ahead = off;
	}
}

void window_caught_up(struct window_state *st, uint32_t max, uint32_t ahead_max, uint64_t off)
{
	struct window_stream *s = stream_inside(st, off);

	if (s && max && s->window == max && s->ahead_dist)
		s->ahead = max_u64(s->ahead, s->hi + min_u64(s->ahead_dist, ahead_max));
}
