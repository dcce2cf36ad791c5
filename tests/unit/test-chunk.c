/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fill's range becomes whole chunks, the last one short; a chunk is
 * written only if its bytes are the ones the descriptor names; sha256 is
 * sha256.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "chunk.h"
#include "digest.h"

#define K 1024u
#define M (1024u * 1024u)

/* 2.5 MiB + 100 bytes in 1 MiB chunks: 1M, 1M, 512K + 100. */
static struct descriptor blob(void)
{
	return (struct descriptor){ .size = 2 * M + 512 * K + 100, .chunk_size = M, .n_chunks = 3 };
}

static void span_is(uint64_t off, uint64_t len, uint32_t first, uint32_t count, uint64_t span_off, uint64_t span_len)
{
	struct descriptor d = blob();
	struct chunk_span s;

	CHECK_EQ(chunk_span(&d, off, len, &s), 0);
	CHECK_EQ(s.first, first);
	CHECK_EQ(s.count, count);
	CHECK_EQ(s.off, span_off);
	CHECK_EQ(s.len, span_len);
}

static void reads_become_whole_chunks(void)
{
	struct descriptor d = blob();

	CHECK_EQ(chunk_offset(&d, 2), 2 * M);
	CHECK_EQ(chunk_length(&d, 1), M);
	CHECK_EQ(chunk_length(&d, 2), 512 * K + 100);
	span_is(0, 4 * K, 0, 1, 0, M);				     /* the first page */
	span_is(M - 4 * K, 4 * K, 0, 1, 0, M);			     /* the last page of a chunk */
	span_is(M - 4 * K, 8 * K, 0, 2, 0, 2 * M);		     /* across an edge */
	span_is(M, M, 1, 1, M, M);				     /* exactly one chunk */
	span_is(512 * K, 2 * M, 0, 3, 0, d.size);		     /* across two edges, into the short one */
	span_is(2 * M + 512 * K, 4 * K, 2, 1, 2 * M, 512 * K + 100); /* the last page, mostly past the end */
	span_is(0, UINT64_MAX / 2, 0, 3, 0, d.size);		     /* cut at the blob's end */
}

static void ranges_outside_the_blob_are_refused(void)
{
	struct descriptor d = blob();
	struct chunk_span s;

	CHECK_EQ(chunk_span(&d, d.size, 4 * K, &s), -ERANGE);
	CHECK_EQ(chunk_span(&d, 3 * M, 4 * K, &s), -ERANGE);
	CHECK_EQ(chunk_span(&d, 0, 0, &s), -EINVAL);
	CHECK_EQ(chunk_span(&d, 4 * K, UINT64_MAX, &s), -EINVAL); /* wraps around */
}

static void sha256_is_sha256(void)
{
	/* FIPS 180-2, appendix B.1. */
	static const char abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	uint8_t out[DIGEST_SIZE];
	char hex[DIGEST_HEX_LEN + 1];
	struct digest_stream s;

	CHECK_EQ(digest_sha256("abc", 3, out), 0);
	CHECK(strcmp(digest_hex(out, hex), abc) == 0);
	CHECK_EQ(digest_stream_begin(&s), 0);
	CHECK_EQ(digest_stream_add(&s, "a", 1), 0);
	CHECK_EQ(digest_stream_add(&s, "bc", 2), 0);
	CHECK_EQ(digest_stream_end(&s, out), 0);
	CHECK(strcmp(digest_hex(out, hex), abc) == 0);
}

static void only_the_described_bytes_pass(void)
{
	static uint8_t data[3 * M];
	uint8_t digests[3][DIGEST_SIZE], got[DIGEST_SIZE];
	struct descriptor d = blob();

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	for (uint32_t i = 0; i < 3; i++)
		CHECK_EQ(digest_sha256(data + chunk_offset(&d, i), chunk_length(&d, i), digests[i]), 0);
	d.chunks = digests;
	for (uint32_t i = 0; i < 3; i++)
		CHECK_EQ(chunk_verify(&d, i, data + chunk_offset(&d, i), chunk_length(&d, i), NULL), 0);
	data[M + 12345] ^= 1;
	CHECK_EQ(chunk_verify(&d, 1, data + M, M, got), -EBADMSG);
	CHECK(memcmp(got, digests[1], DIGEST_SIZE) != 0);
	CHECK_EQ(chunk_verify(&d, 0, data, M, NULL), 0);	    /* its neighbours are untouched */
	CHECK_EQ(chunk_verify(&d, 2, data, M, NULL), -EINVAL);	    /* a whole chunk where a short one is */
	CHECK_EQ(chunk_verify(&d, 0, data, M - 1, NULL), -EINVAL);  /* a short body */
	CHECK_EQ(chunk_verify(&d, 3, data, M, NULL), -EINVAL);	    /* past the last chunk */
	CHECK_EQ(chunk_verify(&d, 1, data + 1, M, NULL), -EBADMSG); /* the right length, shifted */
	CHECK_EQ(chunk_verify(&d, 0, data + M, M, NULL), -EBADMSG); /* another chunk's bytes */
}

int main(void)
{
	RUN(reads_become_whole_chunks);
	RUN(ranges_outside_the_blob_are_refused);
	RUN(sha256_is_sha256);
	RUN(only_the_described_bytes_pass);
	return 0;
}
