/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Byte ranges of a remote blob over HTTPS, with libcurl in the sandbox
 * (docs/design.md, "Remote blobs"). libcurl never opens a socket or
 * resolves a name: its opensocket callback asks the supervisor for a
 * connection (ipc.h) and its sockopt callback says it is connected; names
 * are pinned. Every answer is checked before its body counts: 206 with
 * exactly the Content-Range asked for and exactly that many bytes.
 * Redirects are followed here (3 at most), with credentials only for the
 * origin's host and port; another host (or port) is asked of the supervisor
 * as a redirect's, which it allows only on the domain's redirect_hosts.
 * Transient failures are retried with backoff until the deadline.
 */
#ifndef CFS_FETCH_H
#define CFS_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"

struct fetch_origin {
	bool registry;	  /* GET /v2/<path>/blobs/sha256:<hex>; else path is a {digest}/{hex} template */
	const char *host; /* as configured: the TLS name too */
	uint16_t port;
	const char *path;
	const char *proxy_host; /* NULL: none */
	uint16_t proxy_port;
	uint64_t deadline_ms; /* fetch_deadline: retries of one range end after this */
};

/* What a worker did with its origin (wire_fetch_stats says each). */
struct fetch_stats {
	uint64_t bytes, requests, connects, retries, failures, bad_chunks;
};

struct fetch;

/*
 * Before the sandbox closes: libcurl and OpenSSL initialised, the CAs
 * (PEM, ca_len bytes) and the credentials line ("basic USER:PASSWORD" or
 * "bearer TOKEN", NULL: none) copied in. 0 or -errno.
 */
int fetch_new(struct fetch **out, const char *domain, const struct fetch_origin *o, const char *ca, size_t ca_len,
	      const char *credentials);

/*
 * Fetches the blob's bytes [off, off + len) into dst. 0, or -errno after
 * the deadline (logged: origin, blob, range, what went wrong last):
 * -EACCES for refused credentials, -ENOENT for a blob the origin does not
 * have, -ELOOP for too many redirects; those are not retried.
 */
int fetch_range(struct fetch *f, const uint8_t digest[DIGEST_SIZE], uint64_t size, uint64_t off, uint64_t len,
		uint8_t *dst);

const struct fetch_stats *fetch_stats(const struct fetch *f);
/*
 * A chunk the origin sent whose sha256 was not the descriptor's (the caller
 * checks); given_up: it will not be asked for again, its READ fails.
 */
void fetch_count_bad_chunk(struct fetch *f, bool given_up);
const char *fetch_domain(const struct fetch *f);
/* The origin as logs name it: host:port. */
const char *fetch_origin_name(const struct fetch *f);

#endif
