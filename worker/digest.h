/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sha256, through OpenSSL's libcrypto: the worker needs OpenSSL for TLS
 * anyway (libcurl), and one implementation of the primitive is one to
 * trust. The digest is fetched once, without reading openssl.cnf: what a
 * host's configuration would load (providers, engines) has no place in a
 * worker, whose sandbox would refuse the files anyway.
 */
#ifndef CFS_DIGEST_H
#define CFS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"

/*
 * Makes sha256 ready; the worker calls it before its seccomp filter is in
 * place. Later calls return at once. 0, or -EIO when libcrypto refuses.
 */
int digest_init(void);

/* The sha256 of len bytes at data. 0, or -EIO. */
int digest_sha256(const void *data, size_t len, uint8_t out[static DIGEST_SIZE]);

/* A digest fed piece by piece (a whole blob, read in parts). */
struct digest_stream {
	struct evp_md_ctx_st *ctx;
};

/* 0, -ENOMEM or -EIO; end it with digest_stream_end() either way once it began. */
int digest_stream_begin(struct digest_stream *s);
int digest_stream_add(struct digest_stream *s, const void *data, size_t len);
/* Writes the digest if out is not NULL (NULL: give up) and releases the stream. 0 or -EIO. */
int digest_stream_end(struct digest_stream *s, uint8_t *out);

#endif
