/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cachefiles-blob-describe: the publishing side of remote blobs. Run where
 * a blob is built; it writes the blob's descriptor (worker/descriptor.h),
 * which goes to the nodes' blob dirs while the blob goes to the registry or
 * origin. Workers check every chunk they fetch against it
 * (docs/cachefiles-blob-describe.1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic-file.h"
#include "cfs-util.h"
#include "descriptor.h"
#include "digest.h"

#define PROG "cachefiles-blob-describe"

static const char usage[] = "Usage: " PROG " BLOB [--chunk-size SIZE] [-o DESCRIPTOR]\n"
			    "\n"
			    "Writes the descriptor of BLOB: its size, its sha256 and the sha256 of every\n"
			    "chunk. A node serves the blob from a remote origin only with its descriptor in\n"
			    "the domain's blob dir, named after the blob as mounts name it (fsid=NAME:\n"
			    "NAME.desc), and checks every chunk it fetches against it before writing it\n"
			    "into the cache.\n"
			    "\n"
			    "  -c, --chunk-size SIZE  bytes per chunk: a power of two from 4K to 16M, with\n"
			    "                         an optional K or M suffix (default 1M). A worker\n"
			    "                         fetches and checks whole chunks: smaller ones fetch\n"
			    "                         less for scattered reads, larger ones make a smaller\n"
			    "                         descriptor (65 bytes a chunk; at most 262144 chunks)\n"
			    "  -o, --output FILE      where to write it (default BLOB.desc; '-': standard\n"
			    "                         output); replaced in one step, never seen half written\n"
			    "  -h, --help             this text\n"
			    "      --version          the version\n"
			    "\n"
			    "Prints the blob's digest (sha256:HEX) on standard output, as a registry names\n"
			    "it, unless the descriptor goes there. Exit status: 0 written, 1 the blob could\n"
			    "not be read or the descriptor not written, 2 a wrong command line.\n"
			    "See cachefiles-blob-describe(1).\n";

struct options {
	const char *blob;
	const char *output; /* NULL: BLOB.desc */
	uint32_t chunk_size;
};

/* A power of two from DESCRIPTOR_CHUNK_MIN to _MAX: digits with an optional K or M. */
static int parse_chunk_size(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v > DESCRIPTOR_CHUNK_MAX)
		return -EINVAL;
	if (strcmp(end, "K") == 0)
		v <<= 10;
	else if (strcmp(end, "M") == 0)
		v <<= 20;
	else if (*end)
		return -EINVAL;
	if (v < DESCRIPTOR_CHUNK_MIN || v > DESCRIPTOR_CHUNK_MAX || (v & (v - 1)))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* 0 to go on, 1 when done (help, version), -EINVAL after saying what is wrong. */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "chunk-size", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c;

	*o = (struct options){ .chunk_size = DESCRIPTOR_CHUNK_DEFAULT };
	while ((c = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_chunk_size(optarg, &o->chunk_size) == 0)
				break;
			fprintf(stderr, PROG ": --chunk-size '%s': expected a power of two from 4K to 16M, e.g. 1M\n",
				optarg);
			return -EINVAL;
		case 'o': o->output = optarg; break;
		case 'h': fputs(usage, stdout); return 1;
		case 'V': puts(PROG " " CFS_VERSION); return 1;
		default: fputs("Try '" PROG " --help'.\n", stderr); return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, PROG ": %s: give one BLOB\nTry '" PROG " --help'.\n",
			optind == argc ? "no blob" : "more than one blob");
		return -EINVAL;
	}
	o->blob = argv[optind];
	return 0;
}

/* Each chunk's digest and the whole blob's, in one pass; -ESTALE if the blob's length is not d->size. */
static int digest_chunks(int fd, struct descriptor *d, uint8_t *buf)
{
	struct digest_stream whole;
	uint64_t pos = 0;
	uint8_t extra;
	ssize_t got;
	int r = digest_stream_begin(&whole);

	for (uint32_t i = 0; r == 0 && i < d->n_chunks; i++, pos += d->chunk_size) {
		size_t want = i + 1 < d->n_chunks ? d->chunk_size : (size_t)(d->size - pos);
		got = pread_full(fd, buf, want, pos);
		r = got < 0 ? (int)got : (size_t)got != want ? -ESTALE : 0;
		if (r == 0)
			r = digest_sha256(buf, want, d->chunks[i]);
		if (r == 0)
			r = digest_stream_add(&whole, buf, want);
	}
	if (r == 0 && (got = pread_full(fd, &extra, 1, d->size)) != 0)
		r = got < 0 ? (int)got : -ESTALE;
	if (whole.ctx)
		(void)(r == 0 ? (r = digest_stream_end(&whole, d->digest)) : digest_stream_end(&whole, NULL));
	return r;
}

/* The smallest chunk size that keeps a blob of size within DESCRIPTOR_CHUNKS_MAX, or 0 if none does. */
static uint32_t chunk_size_that_fits(uint64_t size)
{
	for (uint64_t c = DESCRIPTOR_CHUNK_MIN; c <= DESCRIPTOR_CHUNK_MAX; c *= 2)
		if (descriptor_chunks_for(size, (uint32_t)c) <= DESCRIPTOR_CHUNKS_MAX)
			return (uint32_t)c;
	return 0;
}

/* The header of blob fd's descriptor, from its size; -EINVAL after saying what is wrong. */
static int plan(const struct options *o, int fd, struct descriptor *d)
{
	struct stat st;
	uint32_t fits;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, PROG ": %s: not a regular file\n", o->blob);
		return -EINVAL;
	}
	if (st.st_size == 0 || (uint64_t)st.st_size > DESCRIPTOR_SIZE_MAX) {
		fprintf(stderr, PROG ": %s: %s\n", o->blob,
			st.st_size ? "larger than 2^50 bytes, the largest blob a cache serves"
				   : "empty: there is nothing to fetch");
		return -EINVAL;
	}
	*d = (struct descriptor){ .size = (uint64_t)st.st_size, .chunk_size = o->chunk_size };
	if (descriptor_chunks_for(d->size, d->chunk_size) > DESCRIPTOR_CHUNKS_MAX) {
		fits = chunk_size_that_fits(d->size);
		fprintf(stderr,
			PROG ": %s: %" PRIu64 " bytes make more than %u chunks of %u bytes: use --chunk-size %uK\n",
			o->blob, d->size, DESCRIPTOR_CHUNKS_MAX, d->chunk_size, fits >> 10);
		return -EINVAL;
	}
	d->n_chunks = (uint32_t)descriptor_chunks_for(d->size, d->chunk_size);
	return 0;
}

static int write_descriptor(const char *path, const struct descriptor *d)
{
	size_t size = descriptor_text_max(d->n_chunks);
	_cleanup_free_ char *text = malloc(size);
	int64_t len;

	if (!text)
		return -ENOMEM;
	len = descriptor_format(d, text, size);
	if (len < 0)
		return (int)len;
	if (strcmp(path, "-") != 0)
		return atomic_file_write(path, text, (size_t)len);
	return fwrite(text, 1, (size_t)len, stdout) == (size_t)len && fflush(stdout) == 0 ? 0 : -EIO;
}

/* Fills d's digests from the blob; prints what went wrong and returns -errno. */
static int digest_blob(const char *blob, int fd, struct descriptor *d)
{
	_cleanup_free_ uint8_t *buf = malloc(d->chunk_size);
	int r = -ENOMEM;

	d->chunks = calloc(d->n_chunks, sizeof(*d->chunks));
	if (buf && d->chunks)
		r = digest_chunks(fd, d, buf);
	if (r < 0)
		fprintf(stderr, PROG ": %s: %s\n", blob,
			r == -ESTALE ? "it changed while it was read: describe a blob nobody writes" : strerror(-r));
	return r;
}

static int describe(const struct options *o, const char *output)
{
	_cleanup_close_ int fd = open(o->blob, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct descriptor d = { 0 };
	char hex[DIGEST_HEX_LEN + 1];
	int r;

	if (fd < 0) {
		fprintf(stderr, PROG ": %s: %s\n", o->blob, strerror(errno));
		return 1;
	}
	r = plan(o, fd, &d);
	if (r < 0 && r != -EINVAL)
		fprintf(stderr, PROG ": %s: %s\n", o->blob, strerror(-r));
	if (r == 0)
		r = digest_blob(o->blob, fd, &d);
	if (r == 0 && (r = write_descriptor(output, &d)) < 0)
		fprintf(stderr, PROG ": cannot write %s: %s\n", output, strerror(-r));
	if (r == 0 && strcmp(output, "-") != 0)
		printf("sha256:%s\n", digest_hex(d.digest, hex));
	descriptor_free(&d);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	_cleanup_free_ char *default_output = NULL;
	struct options o;
	int r = parse_args(argc, argv, &o);

	if (r != 0)
		return r > 0 ? 0 : 2;
	if (!o.output) {
		if (asprintf(&default_output, "%s%s", o.blob, DESCRIPTOR_SUFFIX) < 0)
			return 1;
		o.output = default_output;
	}
	return describe(&o, o.output);
}
