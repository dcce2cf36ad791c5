/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "chunk.h"

#include <errno.h>
#include <string.h>

#include "digest.h"

uint64_t chunk_offset(const struct descriptor *d, uint32_t i)
{
	return (uint64_t)i * d->chunk_size;
}

uint32_t chunk_length(const struct descriptor *d, uint32_t i)
{
	uint64_t left = d->size - chunk_offset(d, i);

	return left < d->chunk_size ? (uint32_t)left : d->chunk_size;
}

int chunk_span(const struct descriptor *d, uint64_t off, uint64_t len, struct chunk_span *out)
{
	uint64_t end, last;

	if (len == 0 || off + len < off)
		return -EINVAL;
	if (off >= d->size)
		return -ERANGE;
	end = off + len < d->size ? off + len : d->size;
	out->first = (uint32_t)(off / d->chunk_size);
	last = (end - 1) / d->chunk_size;
	out->count = (uint32_t)(last - out->first + 1);
	out->off = chunk_offset(d, out->first);
	out->len = chunk_offset(d, (uint32_t)last) + chunk_length(d, (uint32_t)last) - out->off;
	return 0;
}

int chunk_verify(const struct descriptor *d, uint32_t i, const void *data, uint64_t len, uint8_t *got)
{
	uint8_t digest[DIGEST_SIZE];

	if (i >= d->n_chunks || len != chunk_length(d, i))
		return -EINVAL;
	if (digest_sha256(data, (size_t)len, digest) < 0)
		return -EIO;
	if (got)
		memcpy(got, digest, DIGEST_SIZE);
	/* The descriptor is public and so are the bytes: no secret to keep from a timing side channel. */
	return memcmp(digest, d->chunks[i], DIGEST_SIZE) == 0 ? 0 : -EBADMSG;
}
