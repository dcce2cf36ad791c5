/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Blob lookup stays beneath its directory; fills are page aligned and zero padded. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "check.h"
#include "cfs-util.h"

int cfs_log_max_priority;

static char dir[] = "/tmp/cfs-test-blob-XXXXXX";

#define R(off, len) ((struct fill_range){ (off), (len) })

static int make_file(const char *name, size_t size)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	for (size_t i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(i * 7 + 3);
		CHECK_EQ(write(fd, &b, 1), 1);
	}
	return fd;
}

static void lookup_refuses_escapes(void)
{
	char path[512];
	int dfd = open(dir, O_PATH | O_DIRECTORY);

	close(make_file("good", 10));
	snprintf(path, sizeof(path), "%s/link", dir);
	CHECK_EQ(symlink("/etc/passwd", path), 0);
	snprintf(path, sizeof(path), "%s/sub", dir);
	CHECK_EQ(mkdir(path, 0755), 0);

	int fd = blob_open(dfd, (const uint8_t *)"good", 4);
	CHECK(fd >= 0);
	CHECK_EQ(blob_size(fd), 10);
	close(fd);
	CHECK_EQ(blob_open(dfd, (const uint8_t *)"../etc/passwd", 13), -EINVAL);
	CHECK_EQ(blob_open(dfd, (const uint8_t *)"..", 2), -EINVAL);
	CHECK_EQ(blob_open(dfd, (const uint8_t *)"missing", 7), -ENOENT);
	CHECK_EQ(blob_open(dfd, (const uint8_t *)"link", 4), -EACCES); /* symlinks never followed */
	fd = blob_open(dfd, (const uint8_t *)"sub", 3);
	CHECK(fd >= 0);
	CHECK_EQ(blob_size(fd), -EISDIR);
	close(fd);
	close(dfd);
}

static void fill_widens_to_pages_and_pads_the_tail(void)
{
	struct fill_buffer b;
	size_t size = 3 * 4096 + 100;
	int blob = make_file("blob", size);
	int cache = make_file("cache", 0);
	uint8_t got[4 * 4096];

	CHECK_EQ(fill_buffer_init(&b, 8192), 0); /* smaller than the range: several chunks */
	/* An unaligned request in the middle widens to whole pages. */
	CHECK_EQ(blob_fill(&b, blob, cache, size, R(5000, 10), R(4096, 4096)), 4096);
	/* A request reaching into the last page stops at the object's last page. */
	CHECK_EQ(blob_fill(&b, blob, cache, size, R(8192, 1 << 20), R(8192, 2 * 4096)), 2 * 4096);
	CHECK_EQ(pread(cache, got, sizeof(got), 0), (ssize_t)sizeof(got));
	for (size_t i = 4096; i < size; i++)
		CHECK_EQ(got[i], (uint8_t)(i * 7 + 3));
	for (size_t i = size; i < sizeof(got); i++)
		CHECK_EQ(got[i], 0);
	CHECK_EQ(blob_fill(&b, blob, cache, size, R(size, 1), R(0, 0)), -ENODATA); /* past the object */
	free(b.data);
	close(blob);
	close(cache);
}

static void truncated_blob_fails_promptly(void)
{
	struct fill_buffer b;
	int blob = make_file("short", 1000);
	int cache = make_file("cache2", 0);

	CHECK_EQ(fill_buffer_init(&b, 1 << 16), 0);
	/* copen said 64 KiB but the blob has 1000 bytes now */
	CHECK_EQ(blob_fill(&b, blob, cache, 65536, R(0, 65536), R(0, 65536)), -ENODATA);
	free(b.data);
	close(blob);
	close(cache);
}

static void fill_page(int fd, size_t page, uint8_t value)
{
	uint8_t buf[4096];

	memset(buf, value, sizeof(buf));
	CHECK_EQ(pwrite(fd, buf, sizeof(buf), (off_t)(page * 4096)), 4096);
}

static uint8_t page_byte(int fd, size_t page, size_t at)
{
	uint8_t got = 0;

	CHECK_EQ(pread(fd, &got, 1, (off_t)(page * 4096 + at)), 1);
	return got;
}

/*
 * A window writes only the pages the cache file lacks (SEEK_DATA), but the
 * requested pages always: the kernel found a hole there.
 */
static void window_skips_pages_the_cache_holds_but_never_the_request(void)
{
	struct fill_buffer b;
	size_t size = 16 * 4096;
	int blob = make_file("blob-w", size);
	int cache = make_file("cache-w", 0);

	CHECK_EQ(fill_buffer_init(&b, 8192), 0);
	fill_page(cache, 5, 'X'); /* a stale page where the request is (rewritten) */
	fill_page(cache, 9, 'X'); /* a page of the window the cache holds (skipped) */
	CHECK_EQ(blob_fill(&b, blob, cache, size, R(5 * 4096 + 10, 100), R(0, size)), (int64_t)(size - 4096));
	for (size_t page = 0; page < 16; page++)
		CHECK_EQ(page_byte(cache, page, 7), page == 9 ? 'X' : (uint8_t)((page * 4096 + 7) * 7 + 3));
	/* All there now: only the requested page is written again. */
	CHECK_EQ(blob_fill(&b, blob, cache, size, R(0, 1), R(0, size)), 4096);
	free(b.data);
	close(blob);
	close(cache);
}

/* A blob that ends inside the window but after the request: the READ still succeeds. */
static void window_failure_past_the_request_is_not_an_error(void)
{
	struct fill_buffer b;
	int blob = make_file("short-w", 10000);
	int cache = make_file("cache-w2", 0);

	CHECK_EQ(fill_buffer_init(&b, 1 << 16), 0);
	CHECK_EQ(blob_fill(&b, blob, cache, 65536, R(0, 4096), R(0, 65536)), 4096);
	CHECK_EQ(page_byte(cache, 0, 7), (uint8_t)(7 * 7 + 3));
	free(b.data);
	close(blob);
	close(cache);
}

int main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	RUN(lookup_refuses_escapes);
	RUN(fill_widens_to_pages_and_pads_the_tail);
	RUN(truncated_blob_fails_promptly);
	RUN(window_skips_pages_the_cache_holds_but_never_the_request);
	RUN(window_failure_past_the_request_is_not_an_error);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
