/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "reply.h"

#include <errno.h>
#include <string.h>

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return -EBADMSG;
}

/* Deltas of one fill: no count near what a totals counter could not add up for centuries. */
static bool fetch_stats_plausible(const struct wire_fetch_stats *m)
{
	const uint64_t counts[] = { m->bytes, m->requests, m->connects, m->retries, m->failures, m->bad_chunks };

	for (size_t i = 0; i < ARRAY_SIZE(counts); i++)
		if (counts[i] > REPLY_MAX_FETCH_DELTA)
			return false;
	return true;
}

int reply_parse(const void *buf, size_t n, unsigned nfds, struct worker_reply *out, const char **why)
{
	union wire_msg m;

	memset(out, 0, sizeof(*out));
	if (n > sizeof(m))
		return refuse(why, "oversized message");
	memset(&m, 0, sizeof(m));
	memcpy(&m, buf, n);
	if (n >= sizeof(m.hdr) && m.hdr.version != WIRE_VERSION)
		return refuse(why, "it speaks another protocol version (a worker binary of another release: "
				   "upgrade the supervisor with it, SIGUSR2, not the workers alone)");
	if (wire_check_frame(&m, n, nfds) < 0)
		return refuse(why, "malformed message");
	out->type = m.hdr.type;
	switch (m.hdr.type) {
	case WIRE_HELLO:
		memcpy(out->version, m.hello.version, sizeof(out->version));
		out->version[sizeof(out->version) - 1] = '\0';
		return 0;
	case WIRE_OPEN_DONE:
		out->msg_id = m.open_done.msg_id;
		out->result = m.open_done.result;
		if (out->result < -REPLY_MAX_ERRNO || out->result > (int64_t)WIRE_MAX_BLOB_SIZE)
			return refuse(why, "OPEN_DONE with an impossible size");
		return 0;
	case WIRE_READ_DONE:
		out->msg_id = m.read_done.msg_id;
		out->result = m.read_done.result;
		if (out->result < -REPLY_MAX_ERRNO || out->result > (int64_t)WIRE_MAX_BLOB_SIZE)
			return refuse(why, "READ_DONE with an impossible byte count");
		return 0;
	case WIRE_PREFETCH_DONE:
		out->msg_id = m.prefetch_done.job_id;
		out->result = m.prefetch_done.result;
		if (out->result < -REPLY_MAX_ERRNO || out->result > (int64_t)WIRE_MAX_BLOB_SIZE)
			return refuse(why, "PREFETCH_DONE with an impossible byte count");
		return 0;
	case WIRE_CONNECT: out->connect = m.connect; return 0;
	case WIRE_FETCH_STATS:
		out->fetch_stats = m.fetch_stats;
		return fetch_stats_plausible(&m.fetch_stats) ? 0 : refuse(why, "FETCH_STATS with impossible counts");
	default: return refuse(why, "message type a worker may not send");
	}
}

bool reply_read_count_fits(int64_t result, uint64_t off, uint64_t len, uint64_t size, uint64_t fill_len)
{
	uint64_t lo, hi;

	if (result < 0)
		return true; /* reply_parse() bounded the errno */
	wire_read_pages(off, len, size, &lo, &hi);
	return (uint64_t)result >= hi - lo && (uint64_t)result <= fill_len;
}
