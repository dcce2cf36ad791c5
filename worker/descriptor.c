/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The blob descriptor's one grammar (descriptor.h), read and written. The
 * reader is strict on purpose: a descriptor is what every fetched byte is
 * checked against, so one that could mean two things, or was cut short by a
 * failed copy, is refused with the line and what to write instead.
 */
#include "descriptor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfs-util.h"

struct reader {
	const char *text;
	size_t len, pos;
	unsigned lineno; /* of the line last taken */
	char *why;
};

/* The header, in its one order: each key, and its line as a message shows it. */
enum { H_MAGIC, H_SIZE, H_DIGEST, H_CHUNK_SIZE, H_CHUNKS, H_COUNT };
static const struct {
	const char *key, *form;
} header[H_COUNT] = {
	[H_MAGIC] = { DESCRIPTOR_MAGIC, DESCRIPTOR_MAGIC " 1" },
	[H_SIZE] = { "size", "size <bytes>" },
	[H_DIGEST] = { "digest", "digest sha256:<64 lowercase hex digits>" },
	[H_CHUNK_SIZE] = { "chunk-size", "chunk-size <bytes, a power of two>" },
	[H_CHUNKS] = { "chunks", "chunks <how many chunk lines follow>" },
};

static int fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct reader *r, const char *fmt, ...)
{
	int n = snprintf(r->why, DESCRIPTOR_WHY_MAX, "line %u: ", r->lineno);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why + n, DESCRIPTOR_WHY_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* At most 40 bytes of s, non-printable ones as '?': a message quotes input, never prints it raw. */
static const char *excerpt(const char *s, size_t n, char out[static 48])
{
	size_t i;

	for (i = 0; i < n && i < 40; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	strcpy(out + i, n > 40 ? "..." : "");
	return out;
}

/* Takes the next line, without its "\n": 1; 0 at the end of the text; -EINVAL for a line cut short. */
static int next_line(struct reader *r, const char **line, size_t *n)
{
	const char *start = r->text + r->pos, *nl;

	if (r->pos == r->len)
		return 0;
	r->lineno++;
	nl = memchr(start, '\n', r->len - r->pos);
	if (!nl)
		return fail(r, "has no newline at its end: the file is truncated");
	*line = start;
	*n = (size_t)(nl - start);
	r->pos += *n + 1;
	if (*n > 0 && start[*n - 1] == '\r')
		return fail(r, "ends in \\r\\n: write plain \\n line ends");
	return 1;
}

/* Decimal, no sign, no blank, no leading zero: one spelling per number. */
static bool parse_decimal(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Exactly 64 lowercase hex digits; NULL, or what is wrong with them. */
static const char *parse_hex(const char *s, size_t n, uint8_t out[static DIGEST_SIZE])
{
	if (n != DIGEST_HEX_LEN)
		return "is not 64 hex digits long";
	for (size_t i = 0; i < n; i++)
		if (hex_value(s[i]) < 0)
			return s[i] >= 'A' && s[i] <= 'F' ? "has an uppercase hex digit: write digests in lowercase"
							  : "has a character that is no hex digit";
	for (size_t i = 0; i < DIGEST_SIZE; i++)
		out[i] = (uint8_t)(hex_value(s[2 * i]) << 4 | hex_value(s[2 * i + 1]));
	return NULL;
}

/*
 * Takes header line `want` and points *value at what follows its key and
 * one blank. A key out of its place says which: repeated, or one missing.
 */
static int header_line(struct reader *r, unsigned want, const char **value, size_t *vn)
{
	const char *line, *blank;
	size_t n, kn;
	char ex[48];
	int k = next_line(r, &line, &n);

	if (k == 0)
		return fail(r, "the file ends before its '%s' line: it is truncated", header[want].key);
	if (k < 0)
		return k;
	blank = memchr(line, ' ', n);
	kn = blank ? (size_t)(blank - line) : n;
	if (kn == strlen(header[want].key) && memcmp(line, header[want].key, kn) == 0) {
		*value = line + kn + 1;
		*vn = blank ? n - kn - 1 : 0;
		return blank ? 0 : fail(r, "'%s' has no value: expected '%s'", header[want].key, header[want].form);
	}
	if (want == H_MAGIC)
		return fail(r, "not a blob descriptor: the first line must be '%s'", header[H_MAGIC].form);
	for (unsigned i = H_SIZE; i < H_COUNT; i++)
		if (kn == strlen(header[i].key) && memcmp(line, header[i].key, kn) == 0)
			return i < want ? fail(r, "'%s' again: each header line appears once, in order; expected '%s'",
					       header[i].key, header[want].form)
					: fail(r, "'%s' where '%s' belongs: expected '%s'", header[i].key,
					       header[want].key, header[want].form);
	return fail(r, "expected '%s', found '%s'", header[want].form, excerpt(line, n, ex));
}

/* A header line whose value is a number from min to max. */
static int header_number(struct reader *r, unsigned want, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *v;
	size_t n;
	char ex[48];
	int k = header_line(r, want, &v, &n);

	if (k < 0)
		return k;
	if (!parse_decimal(v, n, out))
		return fail(r, "%s '%s': expected a decimal number without sign or leading zeros", header[want].key,
			    excerpt(v, n, ex));
	if (*out < min || *out > max)
		return fail(r, "%s %" PRIu64 " is out of range: expected %" PRIu64 " to %" PRIu64, header[want].key,
			    *out, min, max);
	return 0;
}

static int read_magic(struct reader *r)
{
	uint64_t version;
	int k = header_number(r, H_MAGIC, 0, UINT64_MAX, &version);

	if (k < 0)
		return k;
	if (version != DESCRIPTOR_VERSION)
		return fail(r, "version %" PRIu64 " is not known: this build reads version %d", version,
			    DESCRIPTOR_VERSION);
	return 0;
}

static int read_digest(struct reader *r, uint8_t digest[static DIGEST_SIZE])
{
	static const char algo[] = "sha256:";
	const char *v, *problem;
	size_t n;
	int k = header_line(r, H_DIGEST, &v, &n);

	if (k < 0)
		return k;
	if (n < strlen(algo) || memcmp(v, algo, strlen(algo)) != 0)
		return fail(r, "digest: only sha256 is known: expected '%s'", header[H_DIGEST].form);
	problem = parse_hex(v + strlen(algo), n - strlen(algo), digest);
	return problem ? fail(r, "digest %s", problem) : 0;
}

static int read_chunk_size(struct reader *r, uint32_t *chunk_size)
{
	uint64_t v;
	int k = header_number(r, H_CHUNK_SIZE, DESCRIPTOR_CHUNK_MIN, DESCRIPTOR_CHUNK_MAX, &v);

	if (k < 0)
		return k;
	if (v & (v - 1))
		return fail(r, "chunk-size %" PRIu64 " is not a power of two", v);
	*chunk_size = (uint32_t)v;
	return 0;
}

/* The count must be the one size and chunk size make: a second way to see a wrong header. */
static int read_chunks(struct reader *r, struct descriptor *d)
{
	uint64_t made = descriptor_chunks_for(d->size, d->chunk_size), v;
	int k = header_number(r, H_CHUNKS, 1, UINT64_MAX, &v);

	if (k < 0)
		return k;
	if (v != made)
		return fail(r,
			    "chunks %" PRIu64 " does not match size %" PRIu64 " at chunk-size %u, which make %" PRIu64,
			    v, d->size, d->chunk_size, made);
	if (made > DESCRIPTOR_CHUNKS_MAX)
		return fail(r, "%" PRIu64 " chunks are more than %u: describe the blob with a larger chunk-size", made,
			    DESCRIPTOR_CHUNKS_MAX);
	d->n_chunks = (uint32_t)made;
	return 0;
}

static int read_header(struct reader *r, struct descriptor *d)
{
	int k;

	if ((k = read_magic(r)) < 0 || (k = header_number(r, H_SIZE, 1, DESCRIPTOR_SIZE_MAX, &d->size)) < 0 ||
	    (k = read_digest(r, d->digest)) < 0 || (k = read_chunk_size(r, &d->chunk_size)) < 0 ||
	    (k = read_chunks(r, d)) < 0)
		return k;
	return 0;
}

static int read_chunk_lines(struct reader *r, struct descriptor *d)
{
	const char *line, *problem;
	size_t n;

	for (uint32_t i = 0; i < d->n_chunks; i++) {
		int k = next_line(r, &line, &n);
		if (k == 0)
			return fail(r, "the file ends after %u of %u chunk digests: it is truncated", i, d->n_chunks);
		if (k < 0)
			return k;
		if ((problem = parse_hex(line, n, d->chunks[i])))
			return fail(r, "chunk %u's digest %s", i, problem);
	}
	if (r->pos != r->len) {
		r->lineno++;
		return fail(r, "text after the last of %u chunk digests: remove it", d->n_chunks);
	}
	return 0;
}

int descriptor_parse(const char *text, size_t len, struct descriptor *d, char why[static DESCRIPTOR_WHY_MAX])
{
	struct reader r = { .text = text, .len = len, .why = why };
	int k;

	*d = (struct descriptor){ 0 };
	why[0] = '\0';
	k = read_header(&r, d);
	if (k == 0) {
		/* Bounded by read_chunks(): at most DESCRIPTOR_CHUNKS_MAX digests. */
		d->chunks = calloc(d->n_chunks, sizeof(*d->chunks));
		if (!d->chunks) {
			snprintf(why, DESCRIPTOR_WHY_MAX, "no memory for %u chunk digests", d->n_chunks);
			k = -ENOMEM;
		}
	}
	if (k == 0)
		k = read_chunk_lines(&r, d);
	if (k < 0)
		descriptor_free(d);
	return k;
}

void descriptor_free(struct descriptor *d)
{
	free(d->chunks);
	*d = (struct descriptor){ 0 };
}

static int cannot_read(int r, char why[static DESCRIPTOR_WHY_MAX])
{
	snprintf(why, DESCRIPTOR_WHY_MAX, "cannot read it: %s", strerror(-r));
	return r;
}

int descriptor_read(int fd, struct descriptor *d, char why[static DESCRIPTOR_WHY_MAX])
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	ssize_t got;

	*d = (struct descriptor){ 0 };
	if (fstat(fd, &st) < 0)
		return cannot_read(negative_errno(), why);
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, DESCRIPTOR_WHY_MAX, "not a regular file");
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > DESCRIPTOR_FILE_MAX) {
		snprintf(why, DESCRIPTOR_WHY_MAX, "%jd bytes, more than the %zu a blob descriptor may have",
			 (intmax_t)st.st_size, DESCRIPTOR_FILE_MAX);
		return -EFBIG;
	}
	/* One byte more than fstat() said, so a file still being written is seen as such. */
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return cannot_read(-ENOMEM, why);
	got = pread_full(fd, buf, (size_t)st.st_size + 1, 0);
	if (got < 0)
		return cannot_read((int)got, why);
	if ((size_t)got != (size_t)st.st_size) {
		snprintf(why, DESCRIPTOR_WHY_MAX, "it changed while it was read: write descriptors atomically");
		return -EAGAIN;
	}
	return descriptor_parse(buf, (size_t)got, d, why);
}

size_t descriptor_text_max(uint32_t n_chunks)
{
	return DESCRIPTOR_HEADER_MAX + (size_t)n_chunks * (DIGEST_HEX_LEN + 1);
}

int64_t descriptor_format(const struct descriptor *d, char *buf, size_t size)
{
	char hex[DIGEST_HEX_LEN + 1];
	int n = snprintf(buf, size, "%s %d\nsize %" PRIu64 "\ndigest sha256:%s\nchunk-size %u\nchunks %u\n",
			 DESCRIPTOR_MAGIC, DESCRIPTOR_VERSION, d->size, digest_hex(d->digest, hex), d->chunk_size,
			 d->n_chunks);
	size_t len = (size_t)n;

	if (n < 0 || len + (size_t)d->n_chunks * (DIGEST_HEX_LEN + 1) > size)
		return -ENOSPC;
	for (uint32_t i = 0; i < d->n_chunks; i++) {
		memcpy(buf + len, digest_hex(d->chunks[i], hex), DIGEST_HEX_LEN);
		buf[len + DIGEST_HEX_LEN] = '\n';
		len += DIGEST_HEX_LEN + 1;
	}
	return (int64_t)len;
}
