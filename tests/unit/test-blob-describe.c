/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The built cachefiles-blob-describe (argv[1]) against the parser and the
 * chunk check: a blob goes through the tool and back; a byte changed in a
 * fetched chunk is caught, in that chunk only; wrong command lines and
 * blobs are refused with an exit status and a reason.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "chunk.h"
#include "descriptor.h"
#include "digest.h"

#define M (1024u * 1024u)
#define BLOB_SIZE (2 * M + 512 * 1024 + 100)

static const char *tool;
static char dir[] = "/tmp/cfs-test-describe-XXXXXX";
static uint8_t blob[BLOB_SIZE];

struct run {
	int status; /* the exit status */
	char out[4096], err[1024];
};

static void drain(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
}

/* Runs the tool with up to four arguments (NULL-terminated); its stderr is read after its stdout. */
static void run(struct run *r, const char *a, const char *b, const char *c, const char *d, const char *e)
{
	int out[2], err[2], status;
	pid_t pid;

	CHECK_EQ(pipe(out), 0);
	CHECK_EQ(pipe(err), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execl(tool, tool, a, b, c, d, e, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	drain(out[0], r->out, sizeof(r->out));
	drain(err[0], r->err, sizeof(r->err));
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	r->status = WEXITSTATUS(status);
}

static const char *at(const char *name)
{
	static char paths[4][512];
	static unsigned next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void load(const char *path, struct descriptor *d)
{
	char why[DESCRIPTOR_WHY_MAX];
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	if (descriptor_read(fd, d, why) != 0) {
		fprintf(stderr, "%s: %s\n", path, why);
		exit(1);
	}
	close(fd);
}

static void a_blob_round_trips_through_the_tool_and_the_parser(void)
{
	struct descriptor d;
	struct run r;
	uint8_t whole[DIGEST_SIZE];
	char hex[DIGEST_HEX_LEN + 1], expect[80];

	run(&r, at("blob"), "--chunk-size", "1M", "-o", at("blob.desc"));
	CHECK_EQ(r.status, 0);
	CHECK_EQ(digest_sha256(blob, sizeof(blob), whole), 0);
	snprintf(expect, sizeof(expect), "sha256:%s\n", digest_hex(whole, hex));
	CHECK(strcmp(r.out, expect) == 0); /* the name a registry gives it */
	load(at("blob.desc"), &d);
	CHECK_EQ(d.size, BLOB_SIZE);
	CHECK_EQ(d.n_chunks, 3);
	CHECK(memcmp(d.digest, whole, DIGEST_SIZE) == 0);
	for (uint32_t i = 0; i < d.n_chunks; i++)
		CHECK_EQ(chunk_verify(&d, i, blob + chunk_offset(&d, i), chunk_length(&d, i), NULL), 0);
	descriptor_free(&d);
}

static void a_tampered_chunk_is_caught_and_only_that_one(void)
{
	static uint8_t fetched[BLOB_SIZE];
	struct descriptor d;
	uint8_t got[DIGEST_SIZE];

	load(at("blob.desc"), &d);
	memcpy(fetched, blob, sizeof(blob));
	fetched[2 * M + 512 * 1024 + 99] ^= 0x80; /* the last byte of the short last chunk */
	CHECK_EQ(chunk_verify(&d, 2, fetched + 2 * M, chunk_length(&d, 2), got), -EBADMSG);
	CHECK(memcmp(got, d.chunks[2], DIGEST_SIZE) != 0);
	CHECK_EQ(chunk_verify(&d, 0, fetched, M, NULL), 0);
	CHECK_EQ(chunk_verify(&d, 1, fetched + M, M, NULL), 0);
	descriptor_free(&d);
}

static void defaults_and_standard_output(void)
{
	struct descriptor d;
	struct run r;
	char text[4096];
	int fd;

	run(&r, at("blob"), NULL, NULL, NULL, NULL); /* writes blob.desc again, default chunk size */
	CHECK_EQ(r.status, 0);
	load(at("blob.desc"), &d);
	CHECK_EQ(d.chunk_size, DESCRIPTOR_CHUNK_DEFAULT);
	descriptor_free(&d);
	run(&r, "-o", "-", "-c", "4K", at("blob"));
	CHECK_EQ(r.status, 0);
	CHECK(strncmp(r.out, DESCRIPTOR_MAGIC " 1\n", strlen(DESCRIPTOR_MAGIC) + 3) == 0);
	CHECK(strstr(r.out, "\nchunks 641\n")); /* ceil(2.5M + 100 / 4K) */
	/* The file written beside the blob is what standard output would have been, at 1M. */
	run(&r, "-o", "-", at("blob"), NULL, NULL);
	fd = open(at("blob.desc"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, text, sizeof(text)), (ssize_t)strlen(r.out));
	CHECK(memcmp(text, r.out, strlen(r.out)) == 0);
	close(fd);
}

static void no_temporary_file_is_left_behind(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	CHECK(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	CHECK_EQ(n, 2); /* blob, blob.desc */
}

static void refused(int status, const char *expect, const char *a, const char *b, const char *c)
{
	struct run r;

	run(&r, a, b, c, NULL, NULL);
	if (r.status != status || !strstr(r.err, expect)) {
		fprintf(stderr, "exit %d, stderr '%s'; expected exit %d and '%s'\n", r.status, r.err, status, expect);
		exit(1);
	}
	CHECK(r.out[0] == '\0');
}

static void wrong_command_lines_and_blobs_are_refused(void)
{
	refused(2, "--chunk-size '3M': expected a power of two from 4K to 16M", at("blob"), "-c", "3M");
	refused(2, "--chunk-size '2K'", at("blob"), "-c", "2K");
	refused(2, "--chunk-size '32M'", at("blob"), "-c", "32M");
	refused(2, "--chunk-size '1G'", at("blob"), "-c", "1G");
	refused(2, "no blob", NULL, NULL, NULL);
	refused(2, "more than one blob", at("blob"), at("blob"), NULL);
	refused(1, "missing: No such file or directory", at("missing"), NULL, NULL);
	refused(1, "not a regular file", dir, "-o", at("x.desc"));
	write_file(at("empty"), "", 0);
	refused(1, "empty: there is nothing to fetch", at("empty"), NULL, NULL);
	unlink(at("empty"));
	refused(1, "cannot write", at("blob"), "-o", at("no/such/dir.desc"));
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	tool = argv[1];
	CHECK(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)((i * 2654435761u) >> 13);
	write_file(at("blob"), blob, sizeof(blob));
	RUN(a_blob_round_trips_through_the_tool_and_the_parser);
	RUN(a_tampered_chunk_is_caught_and_only_that_one);
	RUN(defaults_and_standard_output);
	RUN(no_temporary_file_is_left_behind);
	RUN(wrong_command_lines_and_blobs_are_refused);
	unlink(at("blob"));
	unlink(at("blob.desc"));
	rmdir(dir);
	return 0;
}
