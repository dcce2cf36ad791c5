/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The blob descriptor: a small local file that stands for a remote blob
 * (docs/design.md, "Remote blobs"). It says how large the blob is, its
 * sha256, and the sha256 of every chunk, so a worker can check each chunk
 * it fetches before a byte of it reaches the cache. Version 1, text, one
 * spelling per value:
 *
 *     cachefiles-blob-descriptor 1
 *     size 268435456
 *     digest sha256:<64 lowercase hex digits>
 *     chunk-size 1048576
 *     chunks 256
 *     <64 lowercase hex digits>          one line per chunk, in order
 *
 * Every line ends in "\n", numbers are decimal without leading zeros, and
 * nothing may follow the last chunk line. A parsed file written out again
 * by descriptor_format() is the same bytes: the tool that writes them
 * (cachefiles-blob-describe) and the parser share this one grammar.
 *
 * Used by the worker and the publishing tool; it allocates exactly once, a
 * bounded table sized by a header it has already checked.
 */
#ifndef CFS_DESCRIPTOR_H
#define CFS_DESCRIPTOR_H

#include <stddef.h>
#include <stdint.h>

#define DESCRIPTOR_MAGIC "cachefiles-blob-descriptor"
#define DESCRIPTOR_VERSION 1
/* The descriptor of blob NAME is the file NAME.desc in the domain's blob dir. */
#define DESCRIPTOR_SUFFIX ".desc"

#define DIGEST_SIZE 32 /* sha256 */
#define DIGEST_HEX_LEN (2 * DIGEST_SIZE)

/* Chunks are whole pages (fills are page aligned) and at most what a worker buffers at once. */
#define DESCRIPTOR_CHUNK_MIN (4u << 10)
#define DESCRIPTOR_CHUNK_MAX (16u << 20)
#define DESCRIPTOR_CHUNK_DEFAULT (1u << 20)
/* 8 MiB of digests at most: 256 GiB blobs at the default chunk size, 4 TiB at the largest. */
#define DESCRIPTOR_CHUNKS_MAX (1u << 18)
#define DESCRIPTOR_SIZE_MAX (1ull << 50) /* = WIRE_MAX_BLOB_SIZE */
/* The header's five lines fit in 256 bytes; every chunk line is 65. */
#define DESCRIPTOR_HEADER_MAX 256
#define DESCRIPTOR_FILE_MAX (DESCRIPTOR_HEADER_MAX + (size_t)DESCRIPTOR_CHUNKS_MAX * (DIGEST_HEX_LEN + 1))

/* Room for any message the parser writes. */
#define DESCRIPTOR_WHY_MAX 256

struct descriptor {
	uint64_t size;	     /* of the blob, in bytes; at least 1 */
	uint32_t chunk_size; /* a power of two, DESCRIPTOR_CHUNK_MIN to _MAX */
	uint32_t n_chunks;   /* = ceil(size / chunk_size) */
	uint8_t digest[DIGEST_SIZE];
	uint8_t (*chunks)[DIGEST_SIZE]; /* n_chunks digests; owned, descriptor_free() */
};

/*
 * Parses text (len bytes, not NUL-terminated) into *d. Returns 0, -EINVAL
 * with what is wrong and on which line in why, or -ENOMEM; *d is then
 * empty. Never reads past len.
 */
int descriptor_parse(const char *text, size_t len, struct descriptor *d, char why[static DESCRIPTOR_WHY_MAX]);

/*
 * Reads and parses the descriptor open at fd (a regular file of at most
 * DESCRIPTOR_FILE_MAX bytes). As descriptor_parse(), and with why: -errno
 * when it cannot be read, -EFBIG when it is too large, -EAGAIN when it
 * changed while it was read (a writer that does not rename into place).
 */
int descriptor_read(int fd, struct descriptor *d, char why[static DESCRIPTOR_WHY_MAX]);

void descriptor_free(struct descriptor *d);

/* The bytes descriptor_format() writes for a blob of n_chunks chunks (its largest header). */
size_t descriptor_text_max(uint32_t n_chunks);
/* Writes d in its one spelling into buf; returns its length, or -ENOSPC if size is too small. */
int64_t descriptor_format(const struct descriptor *d, char *buf, size_t size);

/* Writes the digest as 64 lowercase hex digits and a NUL, as descriptors and logs spell it. */
static inline char *digest_hex(const uint8_t digest[DIGEST_SIZE], char out[static DIGEST_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < DIGEST_SIZE; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[DIGEST_HEX_LEN] = '\0';
	return out;
}

/* ceil(size / chunk_size); chunk_size a power of two. */
static inline uint64_t descriptor_chunks_for(uint64_t size, uint32_t chunk_size)
{
	return size / chunk_size + (size % chunk_size != 0);
}

#endif
