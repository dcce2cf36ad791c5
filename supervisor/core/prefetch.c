/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "prefetch.h"

#include "cfs-util.h"

void prefetch_plan(struct prefetch_state *p, uint64_t limit, uint64_t size)
{
	uint64_t want = limit < size ? limit : size;

	*p = (struct prefetch_state){ .planned = true, .end = round_up_page(want) };
}

bool prefetch_wanted(const struct prefetch_state *p)
{
	return p->planned && !p->in_flight && !p->stopped && p->next < p->end;
}

bool prefetch_held(const struct prefetch_state *p, uint64_t now_ms)
{
	return now_ms < p->held_until_ms;
}

void prefetch_take(struct prefetch_state *p, uint32_t chunk, uint64_t *off, uint64_t *len)
{
	*off = p->next;
	*len = p->end - p->next < chunk ? p->end - p->next : chunk;
	p->in_flight = true;
}

void prefetch_answered(struct prefetch_state *p, uint64_t off, uint64_t len, int64_t result)
{
	p->in_flight = false;
	if (result < 0) {
		p->stopped = true;
		return;
	}
	p->refusals = 0;
	if (off == p->next)
		p->next = off + len;
}

void prefetch_refused(struct prefetch_state *p, uint64_t off, uint64_t now_ms)
{
	p->in_flight = false;
	if (off < p->next)
		p->next = off;
	if (++p->refusals > PREFETCH_REFUSALS_MAX) {
		p->stopped = true;
		return;
	}
	p->held_until_ms = now_ms + ((uint64_t)PREFETCH_HOLD_MS << (p->refusals - 1));
}

void prefetch_lost(struct prefetch_state *p, uint64_t off, bool crashed, unsigned crash_limit)
{
	p->in_flight = false;
	if (crashed && ++p->crashes >= crash_limit)
		p->stopped = true;
	if (off < p->next)
		p->next = off;
}

uint64_t prefetch_bucket_take(struct prefetch_bucket *b, uint32_t rate, uint64_t now_ms, uint64_t len)
{
	/* A second's worth, or one chunk if that is more: a pause is not saved up into a burst. */
	uint64_t cap = rate > len ? rate : len;

	if (rate == 0)
		return 0;
	if (now_ms > b->last_ms) {
		b->tokens += (now_ms - b->last_ms) * rate / 1000;
		b->last_ms = now_ms;
	}
	if (b->tokens > cap)
		b->tokens = cap;
	if (b->tokens >= len) {
		b->tokens -= len;
		return 0;
	}
	return ((len - b->tokens) * 1000 + rate - 1) / rate;
}
