/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a remote worker checks of an origin's answers before it believes
 * them, where its credentials may go, and when it asks again
 * (docs/design.md, "Remote blobs"). Pure, no I/O: unit tested.
 */
#ifndef CFS_HTTP_CHECK_H
#define CFS_HTTP_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Whether a Content-Range value is exactly "bytes OFF-LAST/SIZE" for the
 * range asked for ([off, off + len), len > 0) of a blob of size bytes:
 * decimal, no leading zeros, no sign, nothing before or after. 0 or -EBADMSG.
 */
int http_content_range_check(const char *value, uint64_t off, uint64_t len, uint64_t size);

/*
 * Whether a 200 or 206 answer to a GET of the bytes [off, off + len) of a
 * blob of size bytes is those bytes: 206 with exactly their Content-Range,
 * or 200 when they are the whole blob; and a body of got == len bytes (more
 * than len: it ran on and was cut there). Status and Content-Range alone
 * are judged with got == len, before a byte of the body is taken. 0, or
 * -EBADMSG with why saying what the answer was instead (NULL: not wanted).
 */
int http_range_answer(long status, const char *content_range, uint64_t off, uint64_t len, uint64_t size, uint64_t got,
		      char *why, size_t n);

/*
 * The host (an IPv6 address keeps its brackets) and port of an https://
 * URL; 443 when it names none. 0, or -EINVAL (another scheme, user
 * information, a host that does not fit, a bad port).
 */
int http_url_authority(const char *url, char *host, size_t host_size, uint16_t *port);

/*
 * Whether the domain's credentials may be sent with a request for url:
 * only over https, only to the origin's host and port. A redirect to any
 * other host (object storage) gets none, whatever libcurl would do.
 */
bool http_credentials_allowed(const char *origin_host, uint16_t origin_port, const char *url);

/*
 * The URL a redirect's Location names, from the URL it answered: an
 * absolute https:// one as it is, an absolute path on the same host. 0, or
 * -EINVAL (http://, a relative path, another scheme: a downgrade or a guess),
 * -ENAMETOOLONG.
 */
int http_redirect_target(const char *base, const char *location, char *out, size_t size);

/* Retry-After in seconds (delta-seconds only; an HTTP date reads as unknown): the seconds, or -1. */
long http_retry_after(const char *value);

/*
 * How long to wait before a range's next try, left_ms before its
 * fetch_deadline: the backoff (100 ms doubling to 5 s at attempt 6, from
 * half to all of it as random says), or the origin's Retry-After in
 * seconds (-1: none). A backoff that would pass the deadline is cut so the
 * last try still comes before it, with some time of its own. -1: no try
 * is left (too little time, or a Retry-After past the deadline).
 */
int64_t http_retry_wait(unsigned attempt, uint64_t left_ms, long retry_after_s, uint64_t random);

#endif
