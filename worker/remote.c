/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "remote.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "chunk.h"
#include "cookie-key.h"
#include "wire.h"

/* A fill's fetch buffer grows to this at most; a larger window is cut to the READ's own chunks. */
#define FETCH_BUFFER_MAX (64u << 20)

static uint8_t *fetched;
static size_t fetched_room;

/*
 * The span `fetched` holds from the last fill, all of it checked. Windows
 * are the supervisor's, page-aligned, not chunk-aligned: the next window
 * of a sequential reader mostly starts in the last chunk of the one
 * before, and fetching that chunk again cost 16 % more bytes than the
 * image holds (vm scenario, 64 KiB chunks, a full read).
 */
static struct held_span {
	uint8_t digest[DIGEST_SIZE];
	uint32_t chunk_size;
	uint64_t off, len; /* len 0: nothing held */
} held;

/*
 * The last chunk of recent spans, besides `held`: a stream of windows
 * starts each window in the chunk its last one ended in, and with several
 * streams (three readers of three large files) `held` is another stream's
 * by then, so that chunk was fetched again. Replayed from the remote_reads
 * bench's fills: 1.35 times the image's bytes with `held` alone, 1.01 with
 * 4 of these. Chunks up to TAIL_CHUNK_MAX only: 4 of them are memory kept
 * for as long as the worker lives.
 */
#define TAILS 4
#define TAIL_CHUNK_MAX (4u << 20)

static struct tail_chunk {
	uint8_t digest[DIGEST_SIZE];
	uint64_t off;
	uint32_t len; /* 0: empty */
	uint32_t used;
	uint8_t *data; /* TAIL_CHUNK_MAX bytes once used */
} tails[TAILS];
static uint32_t tails_clock;

int remote_describe(int dir_fd, const char *domain, const uint8_t *key, uint32_t key_len, struct descriptor *d)
{
	uint8_t name[COOKIE_KEY_MAX + sizeof(DESCRIPTOR_SUFFIX)];
	char why[DESCRIPTOR_WHY_MAX];
	int fd, r;

	if (key_len + strlen(DESCRIPTOR_SUFFIX) > COOKIE_KEY_MAX)
		return -ENAMETOOLONG;
	memcpy(name, key, key_len);
	memcpy(name + key_len, DESCRIPTOR_SUFFIX, strlen(DESCRIPTOR_SUFFIX));
	fd = blob_open(dir_fd, name, key_len + (uint32_t)strlen(DESCRIPTOR_SUFFIX));
	if (fd < 0) {
		log_error_errno(fd, "domain %s: blob %.*s is remote and needs its descriptor %.*s%s in the blob dir",
				domain, (int)key_len, key, (int)key_len, key, DESCRIPTOR_SUFFIX);
		return fd;
	}
	r = descriptor_read(fd, d, why);
	close(fd);
	if (r < 0)
		log_error("domain %s: descriptor %.*s%s refused: %s", domain, (int)key_len, key, DESCRIPTOR_SUFFIX,
			  why);
	return r;
}

static int room_for(uint64_t len)
{
	void *p;

	if (len <= fetched_room)
		return 0;
	if (len > FETCH_BUFFER_MAX)
		return -E2BIG;
	p = realloc(fetched, (size_t)len);
	if (!p)
		return -ENOMEM;
	fetched = p;
	fetched_room = (size_t)len;
	return 0;
}

/* Chunk i of what span fetched is the descriptor's, fetched once more if not; 0 or -EBADMSG (logged). */
static int verify_chunk(struct fetch *f, const struct descriptor *d, const struct chunk_span *span, uint32_t i)
{
	uint64_t at = chunk_offset(d, i), len = chunk_length(d, i);
	uint8_t *data = fetched + (at - span->off), got[DIGEST_SIZE];
	char want_hex[DIGEST_HEX_LEN + 1], got_hex[DIGEST_HEX_LEN + 1], blob_hex[DIGEST_HEX_LEN + 1];
	int r = chunk_verify(d, i, data, len, got);

	if (r != -EBADMSG)
		return r;
	fetch_count_bad_chunk(f, false);
	log_warning("domain %s: origin %s: blob sha256:%s chunk %u (bytes %" PRIu64 "-%" PRIu64
		    "): sha256 %s, expected %s: fetching it again",
		    fetch_domain(f), fetch_origin_name(f), digest_hex(d->digest, blob_hex), i, at, at + len - 1,
		    digest_hex(got, got_hex), digest_hex(d->chunks[i], want_hex));
	r = fetch_range(f, d->digest, d->size, at, len, data);
	if (r < 0)
		return r;
	r = chunk_verify(d, i, data, len, got);
	if (r == -EBADMSG)
		fetch_count_bad_chunk(f, true);
	if (r == -EBADMSG)
		log_error("domain %s: origin %s: blob sha256:%s chunk %u (bytes %" PRIu64 "-%" PRIu64
			  "): fetched twice, sha256 %s, expected %s: refused, nothing of it written",
			  fetch_domain(f), fetch_origin_name(f), blob_hex, i, at, at + len - 1,
			  digest_hex(got, got_hex), want_hex);
	return r;
}

/*
 * What `fetched` holds from span's start on, moved to its start: all of it,
 * not only span's part. With several readers, READs for pages a window has
 * just filled still come in behind it, each a span of one chunk inside the
 * held two; holding only that chunk afterwards dropped the window's last
 * chunk, which the next window starts in: every chunk was fetched twice
 * (remote_reads bench: 537 MB for a 270 MB image). Their length.
 */
static uint64_t take_held(const struct descriptor *d, const struct chunk_span *span)
{
	uint64_t held_end = held.off + held.len;

	if (held.len == 0 || held.chunk_size != d->chunk_size || memcmp(held.digest, d->digest, DIGEST_SIZE) != 0 ||
	    span->off < held.off || span->off >= held_end)
		return 0;
	memmove(fetched, fetched + (span->off - held.off), held_end - span->off);
	return held_end - span->off;
}

/* Keeps the last chunk of span, just fetched and checked, in `tails`. */
static void keep_tail(const struct descriptor *d, const struct chunk_span *span)
{
	uint32_t last = span->first + span->count - 1;
	uint64_t at = chunk_offset(d, last);
	struct tail_chunk *t = &tails[0];

	if (d->chunk_size > TAIL_CHUNK_MAX)
		return;
	for (size_t i = 0; i < TAILS; i++) {
		if (tails[i].len && tails[i].off == at && memcmp(tails[i].digest, d->digest, DIGEST_SIZE) == 0) {
			t = &tails[i];
			break;
		}
		/* Unsigned difference: right across the clock's wrap. */
		if (!tails[i].len || tails_clock - tails[i].used > tails_clock - t->used)
			t = &tails[i];
	}
	if (!t->data && !(t->data = malloc(TAIL_CHUNK_MAX)))
		return;
	t->len = chunk_length(d, last);
	t->off = at;
	t->used = ++tails_clock;
	memcpy(t->digest, d->digest, DIGEST_SIZE);
	memcpy(t->data, fetched + (at - span->off), t->len);
}

/* span's first chunk from `tails`, copied to the start of `fetched`; its length, or 0. */
static uint64_t take_tail(const struct descriptor *d, const struct chunk_span *span)
{
	for (size_t i = 0; i < TAILS; i++) {
		struct tail_chunk *t = &tails[i];
		if (t->len && t->off == span->off && t->len <= span->len &&
		    memcmp(t->digest, d->digest, DIGEST_SIZE) == 0) {
			memcpy(fetched, t->data, t->len);
			t->used = ++tails_clock;
			return t->len;
		}
	}
	return 0;
}

/* Fetches and checks the chunks holding the blob's [off, end); the span they make, in `fetched`. */
static int fetch_checked(struct fetch *f, const struct descriptor *d, uint64_t off, uint64_t end,
			 struct chunk_span *span)
{
	int r = chunk_span(d, off, end - off, span);
	uint64_t have = 0;

	if (r == 0)
		r = room_for(span->len);
	if (r == 0) {
		have = take_held(d, span);
		if (have == 0)
			have = take_tail(d, span);
		held.len = 0;
	}
	if (r == 0 && have < span->len)
		r = fetch_range(f, d->digest, d->size, span->off + have, span->len - have, fetched + have);
	/* Held chunks too: checked against this descriptor, not trusted for having passed another's check. */
	for (uint32_t i = span->first; r == 0 && i < span->first + span->count; i++)
		r = verify_chunk(f, d, span, i);
	if (r == 0) {
		/* Held chunks past span stay held: checked when a span takes them. */
		held = (struct held_span){ .chunk_size = d->chunk_size,
					   .off = span->off,
					   .len = have > span->len ? have : span->len };
		memcpy(held.digest, d->digest, DIGEST_SIZE);
		keep_tail(d, span);
	}
	return r < 0 && r != -EACCES && r != -ENOENT && r != -EBADMSG ? -EIO : r;
}

/* The fetched, checked bytes as a fill's source. */
static struct blob_source fetched_source(const struct chunk_span *span)
{
	return (struct blob_source){ .fd = -1, .mem = fetched, .mem_off = span->off, .mem_len = span->len };
}

int64_t remote_fill(struct fetch *f, struct fill_buffer *b, const struct descriptor *d, int anon_fd,
		    uint64_t object_size, struct fill_range req, struct fill_range fill)
{
	uint64_t lo, hi, start, end, blob_end = d->size < object_size ? d->size : object_size;
	struct chunk_span span;
	struct blob_source src;
	int r;

	wire_read_pages(req.off, req.len, object_size, &lo, &hi);
	if (lo == hi || lo >= blob_end)
		return -ENODATA;
	/*
	 * What the window adds is fetched only where the cache file lacks it:
	 * back from the request to the first hole, on to the next data. A
	 * second mount of a fetched image sends no range for bytes it holds.
	 */
	start = lo > fill.off ? blob_next_hole(anon_fd, fill.off, lo) : lo;
	start = round_down_page(start);
	end = hi < fill.off + fill.len ? round_up_page(blob_next_data(anon_fd, hi, fill.off + fill.len)) : hi;
	if (end - start > FETCH_BUFFER_MAX) {
		start = lo;
		end = hi;
	}
	r = fetch_checked(f, d, start, end < blob_end ? end : blob_end, &span);
	/*
	 * A bad chunk the window added, not the READ: the READ's own chunks
	 * alone may all be good. One bad chunk fails only the reads of it.
	 */
	if (r == -EBADMSG && (start < lo || end > hi)) {
		start = lo;
		end = hi;
		r = fetch_checked(f, d, start, end < blob_end ? end : blob_end, &span);
	}
	if (r < 0)
		return r == -EBADMSG ? -EIO : r;
	src = fetched_source(&span);
	return blob_fill_from(b, &src, anon_fd, object_size, req, (struct fill_range){ start, end - start });
}

int64_t remote_prefetch(struct fetch *f, struct fill_buffer *b, const struct descriptor *d, int anon_fd,
			uint64_t object_size, struct fill_range fill)
{
	uint64_t blob_end = d->size < object_size ? d->size : object_size, end = fill.off + fill.len;
	uint64_t start = round_down_page(blob_next_hole(anon_fd, fill.off, end)), stop;
	struct chunk_span span;
	struct blob_source src;
	int r;

	if (start >= end)
		return 0; /* it has it all */
	stop = round_up_page(blob_next_data(anon_fd, start, end));
	if (stop - start > FETCH_BUFFER_MAX)
		stop = start + FETCH_BUFFER_MAX / 2;
	if (start >= blob_end)
		return -ENODATA;
	r = fetch_checked(f, d, start, stop < blob_end ? stop : blob_end, &span);
	if (r < 0)
		return r == -EBADMSG ? -EIO : r;
	src = fetched_source(&span);
	return blob_prefetch_from(b, &src, anon_fd, object_size, (struct fill_range){ start, stop - start });
}
