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
	CHECK_EQ(blob_fill(&b, blob, cache, size, 5000, 10), 4096);
	/* A request reaching into the last page stops at the object's last page. */
	CHECK_EQ(blob_fill(&b, blob, cache, size, 8192, 1 << 20), 2 * 4096);
	CHECK_EQ(pread(cache, got, sizeof(got), 0), (ssize_t)sizeof(got));
	for (size_t i = 4096; i < size; i++)
		CHECK_EQ(got[i], (uint8_t)(i * 7 + 3));
	for (size_t i = size; i < sizeof(got); i++)
		CHECK_EQ(got[i], 0);
	CHECK_EQ(blob_fill(&b, blob, cache, size, size, 1), -ENODATA); /* past the object */
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
	CHECK_EQ(blob_fill(&b, blob, cache, 65536, 0, 65536), -ENODATA);
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
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
