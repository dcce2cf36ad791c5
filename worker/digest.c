/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "digest.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

/*
 * Fetched once and never changed after: OpenSSL 3 looks an implicit
 * EVP_sha256() up again at every use, and loads the host's openssl.cnf at
 * the first one.
 */
static EVP_MD *sha256;

int digest_init(void)
{
	if (sha256)
		return 0;
	if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL))
		return -EIO;
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	return sha256 ? 0 : -EIO;
}

int digest_sha256(const void *data, size_t len, uint8_t out[static DIGEST_SIZE])
{
	unsigned int n = 0;

	if (digest_init() < 0 || !EVP_Digest(data, len, out, &n, sha256, NULL) || n != DIGEST_SIZE)
		return -EIO;
	return 0;
}

int digest_stream_begin(struct digest_stream *s)
{
	if (digest_init() < 0)
		return -EIO;
	s->ctx = EVP_MD_CTX_new();
	if (!s->ctx)
		return -ENOMEM;
	return EVP_DigestInit_ex(s->ctx, sha256, NULL) ? 0 : -EIO;
}

int digest_stream_add(struct digest_stream *s, const void *data, size_t len)
{
	return EVP_DigestUpdate(s->ctx, data, len) ? 0 : -EIO;
}

int digest_stream_end(struct digest_stream *s, uint8_t *out)
{
	unsigned int n = 0;
	int r = 0;

	if (out && (!EVP_DigestFinal_ex(s->ctx, out, &n) || n != DIGEST_SIZE))
		r = -EIO;
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
	return r;
}
