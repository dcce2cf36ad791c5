/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A blob descriptor parses only as the publishing tool writes it: every way
 * to get one wrong is refused, naming the line and what to write instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "descriptor.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEADER(size, chunk_size, chunks)                                                               \
	"cachefiles-blob-descriptor 1\nsize " size "\ndigest sha256:" HEX_B "\nchunk-size " chunk_size \
	"\nchunks " chunks "\n"
/* 10000 bytes in 4K chunks: 4096 + 4096 + 1808. */
#define GOOD HEADER("10000", "4096", "3") HEX_A "\n" HEX_B "\n" HEX_A "\n"

static int parse(const char *text, struct descriptor *d, char *why)
{
	return descriptor_parse(text, strlen(text), d, why);
}

/* text is refused with a message holding `expect`. */
static void refused(const char *text, const char *expect)
{
	struct descriptor d;
	char why[DESCRIPTOR_WHY_MAX];

	if (parse(text, &d, why) != -EINVAL || !strstr(why, expect)) {
		fprintf(stderr, "for:\n%s\nexpected an error with '%s', got '%s'\n", text, expect, why);
		exit(1);
	}
	CHECK(d.chunks == NULL && d.n_chunks == 0);
}

static void a_good_descriptor_parses_and_formats_back_to_its_bytes(void)
{
	struct descriptor d;
	char why[DESCRIPTOR_WHY_MAX], out[1024], hex[DIGEST_HEX_LEN + 1];

	CHECK_EQ(parse(GOOD, &d, why), 0);
	CHECK_EQ(d.size, 10000);
	CHECK_EQ(d.chunk_size, 4096);
	CHECK_EQ(d.n_chunks, 3);
	CHECK(strcmp(digest_hex(d.digest, hex), HEX_B) == 0);
	CHECK(strcmp(digest_hex(d.chunks[1], hex), HEX_B) == 0);
	CHECK_EQ(d.chunks[2][31], 0xaa);
	CHECK_EQ(descriptor_format(&d, out, sizeof(out)), strlen(GOOD));
	CHECK(memcmp(out, GOOD, strlen(GOOD)) == 0);
	CHECK_EQ(descriptor_format(&d, out, strlen(GOOD) - 1), -ENOSPC);
	CHECK(descriptor_text_max(3) >= strlen(GOOD));
	descriptor_free(&d);
	CHECK(d.chunks == NULL);
}

static void the_first_line_says_what_the_file_is(void)
{
	refused("", "line 0: the file ends before its 'cachefiles-blob-descriptor' line");
	refused("\x7f"
		"ELF\n",
		"line 1: not a blob descriptor: the first line must be 'cachefiles-blob-descriptor 1'");
	refused("cachefiles-blob-descriptor 2\n", "line 1: version 2 is not known: this build reads version 1");
	refused("cachefiles-blob-descriptor 01\n", "expected a decimal number");
	refused("cachefiles-blob-descriptor\n", "has no value");
}

static void header_lines_come_once_each_in_order(void)
{
	refused("cachefiles-blob-descriptor 1\nsize 10000\nsize 10000\n",
		"line 3: 'size' again: each header line appears once, in order");
	refused("cachefiles-blob-descriptor 1\nsize 10000\nchunk-size 4096\n",
		"line 3: 'chunk-size' where 'digest' belongs");
	refused("cachefiles-blob-descriptor 1\nsize 10000\ncolour blue\n",
		"line 3: expected 'digest sha256:<64 lowercase hex digits>', found 'colour blue'");
	refused("cachefiles-blob-descriptor 1\nsize  10000\n", "size ' 10000': expected a decimal number");
}

static void numbers_are_plain_decimals_within_bounds(void)
{
	refused(HEADER("0", "4096", "0"), "size 0 is out of range: expected 1 to");
	refused(HEADER("-1", "4096", "1"), "size '-1'");
	refused(HEADER("0x10", "4096", "1"), "size '0x10'");
	refused(HEADER("99999999999999999999999", "4096", "1"), "expected a decimal number");
	refused(HEADER("1125899906842625", "4096", "1"), "size 1125899906842625 is out of range");
	refused(HEADER("10000", "4097", "3"), "line 4: chunk-size 4097 is not a power of two");
	refused(HEADER("10000", "6144", "2"), "chunk-size 6144 is not a power of two");
	refused(HEADER("10000", "2048", "5"), "chunk-size 2048 is out of range: expected 4096 to 16777216");
	refused(HEADER("10000", "33554432", "1"), "out of range");
}

static void the_chunk_count_is_the_one_size_and_chunk_size_make(void)
{
	refused(HEADER("10000", "4096", "2") HEX_A "\n" HEX_A "\n",
		"line 5: chunks 2 does not match size 10000 at chunk-size 4096, which make 3");
	refused(HEADER("10000", "4096", "4"), "chunks 4 does not match");
	/* 2^40 bytes in 4K chunks: the count is right, and far too many to hold. */
	refused(HEADER("1099511627776", "4096", "268435456"), "268435456 chunks are more than 262144");
}

static void digests_are_64_lowercase_hex_digits(void)
{
	refused("cachefiles-blob-descriptor 1\nsize 1\ndigest md5:" HEX_A "\n", "digest: only sha256 is known");
	refused("cachefiles-blob-descriptor 1\nsize 1\ndigest sha256:" HEX_A "a\n", "digest is not 64 hex digits");
	refused("cachefiles-blob-descriptor 1\nsize 1\ndigest "
		"sha256:Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		"line 3: digest has an uppercase hex digit");
	refused(HEADER("4096", "4096", "1") "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
		"line 6: chunk 0's digest has an uppercase hex digit: write digests in lowercase");
	refused(HEADER("4096", "4096", "1") "gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		"chunk 0's digest has a character that is no hex digit");
	refused(HEADER("10000", "4096", "3") HEX_A "\n" HEX_A " \n" HEX_A "\n",
		"line 7: chunk 1's digest is not 64 hex digits long");
}

static void truncation_and_trailing_text_are_refused(void)
{
	char cut[sizeof(GOOD)];

	refused(HEADER("10000", "4096", "3") HEX_A "\n" HEX_A "\n",
		"the file ends after 2 of 3 chunk digests: it is truncated");
	/* Cut anywhere but after the last newline: always refused. */
	for (size_t n = 0; n < strlen(GOOD); n++) {
		struct descriptor d;
		char why[DESCRIPTOR_WHY_MAX];
		memcpy(cut, GOOD, n);
		CHECK_EQ(descriptor_parse(cut, n, &d, why), -EINVAL);
		CHECK(why[0] != '\0');
	}
	refused(GOOD "\n", "line 9: text after the last of 3 chunk digests: remove it");
	refused(GOOD HEX_A "\n", "text after the last of 3 chunk digests");
	refused(GOOD "x", "text after the last");
	refused("cachefiles-blob-descriptor 1\r\nsize 1\r\n", "line 1: ends in \\r\\n: write plain \\n line ends");
	refused("cachefiles-blob-descriptor 1\nsize 1", "line 2: has no newline at its end: the file is truncated");
	refused("cachefiles-blob-descriptor 1\nsize 1\0\n", "has no newline"); /* strlen stops at the NUL */
}

static void a_message_never_echoes_raw_bytes(void)
{
	struct descriptor d;
	char why[DESCRIPTOR_WHY_MAX];
	const char text[] = "cachefiles-blob-descriptor 1\nsize 1\n\x1b[31mred\x01\n";

	CHECK_EQ(descriptor_parse(text, sizeof(text) - 1, &d, why), -EINVAL);
	CHECK(strstr(why, "found '?[31mred?'"));
}

static void read_refuses_what_is_no_small_regular_file(void)
{
	char path[] = "/tmp/cfs-test-descriptor-XXXXXX";
	struct descriptor d;
	char why[DESCRIPTOR_WHY_MAX];
	int fd = mkstemp(path), dir = open("/tmp", O_RDONLY | O_DIRECTORY);

	CHECK(fd >= 0 && dir >= 0);
	CHECK_EQ(write(fd, GOOD, strlen(GOOD)), strlen(GOOD));
	CHECK_EQ(descriptor_read(fd, &d, why), 0);
	CHECK_EQ(d.n_chunks, 3);
	descriptor_free(&d);
	CHECK_EQ(descriptor_read(dir, &d, why), -EINVAL);
	CHECK(strstr(why, "not a regular file"));
	CHECK_EQ(ftruncate(fd, DESCRIPTOR_FILE_MAX + 1), 0);
	CHECK_EQ(descriptor_read(fd, &d, why), -EFBIG);
	CHECK(strstr(why, "more than the"));
	close(dir);
	close(fd);
	unlink(path);
}

int main(void)
{
	RUN(a_good_descriptor_parses_and_formats_back_to_its_bytes);
	RUN(the_first_line_says_what_the_file_is);
	RUN(header_lines_come_once_each_in_order);
	RUN(numbers_are_plain_decimals_within_bounds);
	RUN(the_chunk_count_is_the_one_size_and_chunk_size_make);
	RUN(digests_are_64_lowercase_hex_digits);
	RUN(truncation_and_trailing_text_are_refused);
	RUN(a_message_never_echoes_raw_bytes);
	RUN(read_refuses_what_is_no_small_regular_file);
	return 0;
}
