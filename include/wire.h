/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Supervisor <-> worker protocol over a SOCK_SEQPACKET socketpair.
 *
 * One datagram is one message: a fixed header then exactly one fixed-layout
 * body; the receiver checks version, type, exact length and the number of
 * passed fds before touching a field. Only ADOPT carries an fd (the object's
 * anonymous fd, SCM_RIGHTS). Messages the receiver does not expect from that
 * side break the protocol: the supervisor kills such a worker, a worker exits.
 *
 * Objects are named by the supervisor's dense handle (its index in the object table), not the kernel's
 * object_id, so a worker's table is a plain array.
 */
#ifndef CFS_WIRE_H
#define CFS_WIRE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfs-util.h"
#include "cookie-key.h"

/* 2: READ carries the fill range (read windows). 3: CONNECT (remote domains). 4: FETCH_STATS. */
#define WIRE_VERSION 4

/*
 * What a worker finds open at exec: its socket to the supervisor and its
 * domain's blob dir; and, with --seccomp-program (or to write one, with
 * --export-seccomp-program), its syscall allowlist as a finished program.
 */
#define WORKER_IPC_FD 3
#define WORKER_BLOB_DIR_FD 4
#define WORKER_PROGRAM_FD 5
/*
 * A remote domain's worker (cachefiles-worker-remote) also finds the CAs its
 * origin's certificate must chain to, and the domain's credentials if it has
 * any, each in a sealed memfd the supervisor read before the sandbox closed.
 */
#define WORKER_CA_FD 6
#define WORKER_CREDENTIALS_FD 7

enum wire_type {
	/* worker -> supervisor */
	WIRE_HELLO = 1,
	WIRE_OPEN_DONE = 2,
	WIRE_READ_DONE = 3,
	WIRE_PREFETCH_DONE = 4,
	WIRE_CONNECT = 5,
	WIRE_FETCH_STATS = 6,
	/* supervisor -> worker */
	WIRE_OPEN = 16,
	WIRE_ADOPT = 17,
	WIRE_READ = 18,
	WIRE_DROP = 19,
	WIRE_PREFETCH = 20,
	WIRE_CONNECTED = 21,
};

struct wire_hdr {
	uint16_t version;
	uint16_t type;
	uint32_t len; /* whole message, header included */
};

struct wire_hello {
	struct wire_hdr hdr;
	uint32_t pid;
	uint32_t reserved;
	char version[32]; /* worker build version, NUL terminated */
};

/* Find the blob for a new object and report its size. */
struct wire_open {
	struct wire_hdr hdr;
	uint32_t msg_id;
	uint32_t cookie_len;
	uint8_t cookie[COOKIE_KEY_MAX + 1];
};

/* result: blob size (>= 0) or -errno */
struct wire_open_done {
	struct wire_hdr hdr;
	uint32_t msg_id;
	uint32_t reserved;
	int64_t result;
};

/* Take an object: its anonymous fd rides along (SCM_RIGHTS). */
struct wire_adopt {
	struct wire_hdr hdr;
	uint32_t handle;
	uint32_t cookie_len;
	uint64_t size; /* as given in copen: never write past it */
	uint8_t cookie[COOKIE_KEY_MAX + 1];
};

/*
 * The kernel asked for [off, off+len). The worker fills [fill_off,
 * fill_off+fill_len) of the cache file, planned by the supervisor (read
 * window): the requested pages always, the rest only where the cache file
 * holds no data yet. See wire_read_fill_is_valid().
 */
struct wire_read {
	struct wire_hdr hdr;
	uint32_t msg_id;
	uint32_t handle;
	uint64_t off;
	uint64_t len;
	uint64_t fill_off;
	uint64_t fill_len;
};

/* result: bytes written into the cache file (>= 0) or -errno */
struct wire_read_done {
	struct wire_hdr hdr;
	uint32_t msg_id;
	uint32_t reserved;
	int64_t result;
};

/*
 * Background prefetch of an adopted object: fill [off, off+len) of the
 * cache file where it holds no data yet. Page aligned, len > 0, within
 * round_up(size, page): see wire_prefetch_is_valid(). No READ waits on it.
 */
struct wire_prefetch {
	struct wire_hdr hdr;
	uint32_t job_id;
	uint32_t handle;
	uint64_t off;
	uint64_t len;
};

/* result: bytes written, 0 to len (0 if the cache file had it all), or -errno */
struct wire_prefetch_done {
	struct wire_hdr hdr;
	uint32_t job_id;
	uint32_t reserved;
	int64_t result;
};

/*
 * A remote domain's worker wants a TCP connection (docs/design.md, "Remote
 * blobs"): to its origin, its proxy, or a host a redirect named. The
 * supervisor checks host and port against the worker's domain: a redirect's
 * host not on its redirect_hosts is refused (-EPERM), any other host or
 * port than configured is a protocol breach. REDIRECT names the redirect's
 * host with or without a proxy; with one, the socket handed over goes to
 * the proxy, which the worker asks to tunnel to that host.
 */
enum wire_connect_purpose {
	WIRE_CONNECT_ORIGIN = 1,
	WIRE_CONNECT_PROXY = 2,
	WIRE_CONNECT_REDIRECT = 3,
};

#define WIRE_HOST_MAX 255 /* = DOMAIN_VALUE_MAX */
#define WIRE_PEER_MAX 64  /* a numeric IPv4 or IPv6 address */

struct wire_connect {
	struct wire_hdr hdr;
	uint32_t conn_id; /* the worker's, echoed in CONNECTED */
	uint16_t purpose; /* enum wire_connect_purpose */
	uint16_t port;
	char host[WIRE_HOST_MAX + 1]; /* NUL terminated, as configured (an IPv6 address in brackets) */
};

/* result 0: the connected socket rides along (SCM_RIGHTS), peer is its address; or -errno, no fd. */
struct wire_connected {
	struct wire_hdr hdr;
	uint32_t conn_id;
	int32_t result;
	char peer[WIRE_PEER_MAX]; /* NUL terminated */
};

/*
 * A remote domain's worker, after a fill that talked to the origin: what it
 * did since its last FETCH_STATS (deltas, so a worker that dies loses only
 * its last fill's). The supervisor keeps the domain's totals: a worker's
 * own die with it. Counts only, never a byte of content or a secret.
 */
struct wire_fetch_stats {
	struct wire_hdr hdr;
	uint64_t bytes;	     /* body bytes received */
	uint64_t requests;   /* GETs answered (any status) or failed */
	uint64_t connects;   /* connections the supervisor handed over */
	uint64_t retries;    /* requests tried again (reset, 5xx, 429, short body, ...) */
	uint64_t failures;   /* ranges given up on (an error no retry mends, or fetch_deadline) */
	uint64_t bad_chunks; /* chunks whose sha256 was not the descriptor's */
};

struct wire_drop {
	struct wire_hdr hdr;
	uint32_t handle;
	uint32_t reserved;
};

union wire_msg {
	struct wire_hdr hdr;
	struct wire_hello hello;
	struct wire_open open;
	struct wire_open_done open_done;
	struct wire_adopt adopt;
	struct wire_read read;
	struct wire_read_done read_done;
	struct wire_drop drop;
	struct wire_prefetch prefetch;
	struct wire_prefetch_done prefetch_done;
	struct wire_connect connect;
	struct wire_connected connected;
	struct wire_fetch_stats fetch_stats;
};

#define WIRE_MAX_HANDLES (1u << 20)
#define WIRE_MAX_BLOB_SIZE (1ull << 50)

/*
 * The pages of a READ [off, off+len) that an object of `size` bytes has:
 * [*lo, *hi), page aligned; empty when off >= size. The cache file is
 * written with direct I/O, hence whole pages; the last one is zero padded.
 */
static inline void wire_read_pages(uint64_t off, uint64_t len, uint64_t size, uint64_t *lo, uint64_t *hi)
{
	uint64_t limit = round_up_page(size);

	if (off >= size) {
		*lo = *hi = round_down_page(off);
		return;
	}
	*lo = round_down_page(off);
	/* len comes from the kernel unchecked: compare, never add past the limit */
	*hi = len >= limit - off ? limit : round_up_page(off + len);
}

/*
 * Whether a READ's fill range is one the worker may write into an object of
 * `size` bytes (as given in copen): page aligned, covering every page of the
 * request the object has, and nothing past the object's last page; empty
 * for a READ past the object's end (which fails ENODATA). A supervisor that
 * sends anything else is broken: the worker refuses it.
 */
static inline bool wire_read_fill_is_valid(const struct wire_read *m, uint64_t size)
{
	uint64_t lo, hi, limit = round_up_page(size);

	if (size > WIRE_MAX_BLOB_SIZE)
		return false;
	if (m->off >= size)
		return m->fill_len == 0;
	wire_read_pages(m->off, m->len, size, &lo, &hi);
	if (m->fill_off % CFS_PAGE_SIZE || m->fill_len % CFS_PAGE_SIZE)
		return false;
	if (m->fill_off > limit || m->fill_len > limit - m->fill_off)
		return false;
	return m->fill_off <= lo && m->fill_off + m->fill_len >= hi;
}

/* Whether a PREFETCH fits an object of `size` bytes: page aligned, not empty, within its last page. */
static inline bool wire_prefetch_is_valid(const struct wire_prefetch *m, uint64_t size)
{
	uint64_t limit = round_up_page(size);

	if (size > WIRE_MAX_BLOB_SIZE || m->len == 0 || m->off % CFS_PAGE_SIZE || m->len % CFS_PAGE_SIZE)
		return false;
	return m->off < limit && m->len <= limit - m->off;
}

/* Expected body size for a type, or 0 for an unknown type. */
static inline size_t wire_size_of(uint16_t type)
{
	switch (type) {
	case WIRE_HELLO: return sizeof(struct wire_hello);
	case WIRE_OPEN_DONE: return sizeof(struct wire_open_done);
	case WIRE_READ_DONE: return sizeof(struct wire_read_done);
	case WIRE_OPEN: return sizeof(struct wire_open);
	case WIRE_ADOPT: return sizeof(struct wire_adopt);
	case WIRE_READ: return sizeof(struct wire_read);
	case WIRE_DROP: return sizeof(struct wire_drop);
	case WIRE_PREFETCH: return sizeof(struct wire_prefetch);
	case WIRE_PREFETCH_DONE: return sizeof(struct wire_prefetch_done);
	case WIRE_CONNECT: return sizeof(struct wire_connect);
	case WIRE_CONNECTED: return sizeof(struct wire_connected);
	case WIRE_FETCH_STATS: return sizeof(struct wire_fetch_stats);
	default: return 0;
	}
}

static inline void wire_init(struct wire_hdr *hdr, enum wire_type type)
{
	hdr->version = WIRE_VERSION;
	hdr->type = (uint16_t)type;
	hdr->len = (uint32_t)wire_size_of((uint16_t)type);
}

/*
 * Checks the framing of a received message: n bytes arrived, nfds fds
 * with it. Returns 0 or -EBADMSG. Field semantics are the handler's job.
 */
static inline int wire_check_frame(const union wire_msg *m, size_t n, unsigned nfds)
{
	size_t want;

	if (n < sizeof(struct wire_hdr) || m->hdr.version != WIRE_VERSION)
		return -EBADMSG;
	want = wire_size_of(m->hdr.type);
	if (want == 0 || n != want || m->hdr.len != want)
		return -EBADMSG;
	/* ADOPT carries its object's fd; CONNECTED its socket when it succeeded; nothing else any. */
	if (m->hdr.type == WIRE_CONNECTED)
		return nfds == (m->connected.result == 0 ? 1u : 0u) ? 0 : -EBADMSG;
	if (nfds != (m->hdr.type == WIRE_ADOPT ? 1u : 0u))
		return -EBADMSG;
	return 0;
}

#endif
