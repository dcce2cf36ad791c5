/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parsing what a worker sent (pure, fuzzed). Everything context-free is
 * checked here: framing, direction, ranges. Whether the worker holds the
 * request it names is the caller's check.
 */
#ifndef CFS_REPLY_H
#define CFS_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define REPLY_MAX_ERRNO 4095
/* A FETCH_STATS count: a worker cannot have fetched more than a blob's largest size since its last. */
#define REPLY_MAX_FETCH_DELTA WIRE_MAX_BLOB_SIZE

struct worker_reply {
	uint16_t type;			     /* a worker -> supervisor type of enum wire_type */
	uint32_t msg_id;		     /* the job_id for PREFETCH_DONE */
	int64_t result;			     /* size, byte count or -errno */
	char version[32];		     /* HELLO only, NUL terminated */
	struct wire_connect connect;	     /* CONNECT only, as received: connect_check() judges it */
	struct wire_fetch_stats fetch_stats; /* FETCH_STATS only, each count at most REPLY_MAX_FETCH_DELTA */
};

/* Returns 0, or -EBADMSG with *why naming the breach. */
int reply_parse(const void *buf, size_t n, unsigned nfds, struct worker_reply *out, const char **why);

/*
 * Whether a READ_DONE result fits its READ [off, off+len) of an object of
 * size bytes whose fill range was fill_len bytes: an -errno, or a byte
 * count of at least the request's pages (a worker always writes them) and
 * at most fill_len (the rest of the window is written only where missing).
 */
bool reply_read_count_fits(int64_t result, uint64_t off, uint64_t len, uint64_t size, uint64_t fill_len);

#endif
