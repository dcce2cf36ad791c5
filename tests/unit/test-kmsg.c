/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kernel-message parser accepts exactly the kernel's layouts and nothing else. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "kmsg.h"

int cfs_log_max_priority;

static size_t make_open(uint8_t *buf, const char *vkey, size_t vsize, const void *ckey, size_t csize, uint32_t fd)
{
	struct cachefiles_msg hdr = { .msg_id = 7, .opcode = CACHEFILES_OP_OPEN, .object_id = 42 };
	struct cachefiles_open open = { .volume_key_size = (uint32_t)vsize,
					.cookie_key_size = (uint32_t)csize,
					.fd = fd };
	size_t n = sizeof(hdr) + sizeof(open) + vsize + csize;

	hdr.len = (uint32_t)n;
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &open, sizeof(open));
	memcpy(buf + sizeof(hdr) + sizeof(open), vkey, vsize);
	memcpy(buf + sizeof(hdr) + sizeof(open) + vsize, ckey, csize);
	return n;
}

static void open_request_is_parsed(void)
{
	uint8_t buf[1024];
	struct kreq req;
	size_t n = make_open(buf, "erofs,img", 10, "img", 3, 9);

	CHECK_EQ(kmsg_parse(buf, n, &req), 0);
	CHECK_EQ(req.msg_id, 7);
	CHECK_EQ(req.obj_id, 42);
	CHECK_EQ(req.opcode, CACHEFILES_OP_OPEN);
	CHECK_EQ(req.open.anon_fd, 9);
	CHECK(strcmp(req.open.volume_key, "erofs,img") == 0);
	CHECK_EQ(req.open.cookie_len, 3);
	CHECK(memcmp(req.open.cookie, "img", 3) == 0);
}

static void open_with_bad_key_sizes_is_refused_but_reports_its_fd(void)
{
	uint8_t buf[1024];
	struct kreq req;
	size_t n = make_open(buf, "erofs,img", 10, "img", 3, 9);

	/* one byte short: key sizes no longer add up */
	CHECK_EQ(kmsg_parse(buf, n - 1, &req), -EBADMSG);
	/* header len disagrees with what was read: nothing trusted */
	((struct cachefiles_msg *)buf)->len = (uint32_t)n - 1;
	CHECK_EQ(kmsg_parse(buf, n - 1, &req), -EBADMSG);

	n = make_open(buf, "erofs,img", 10, "img", 3, 9);
	buf[sizeof(struct cachefiles_msg) + sizeof(struct cachefiles_open) + 9] =
		'x'; /* volume key not NUL terminated */
	CHECK_EQ(kmsg_parse(buf, n, &req), -EBADMSG);
	CHECK_EQ(req.opcode, CACHEFILES_OP_OPEN);
	CHECK_EQ(req.open.anon_fd, 9); /* so the caller can close it */

	n = make_open(buf, "erofs\0img", 10, "img", 3, 9); /* embedded NUL */
	CHECK_EQ(kmsg_parse(buf, n, &req), -EBADMSG);
}

static void cookie_longer_than_255_is_refused(void)
{
	uint8_t buf[1024], key[256];
	struct kreq req;

	memset(key, 'a', sizeof(key));
	CHECK_EQ(kmsg_parse(buf, make_open(buf, "erofs,d", 8, key, 256, 5), &req), -EBADMSG);
	CHECK_EQ(kmsg_parse(buf, make_open(buf, "erofs,d", 8, key, 255, 5), &req), 0);
}

static size_t make_read(uint8_t *buf, uint64_t off, uint64_t len, size_t extra)
{
	struct cachefiles_msg hdr = { 3, CACHEFILES_OP_READ, 0, 42 };
	struct cachefiles_read rd = { off, len };
	size_t n = sizeof(hdr) + sizeof(rd) + extra;

	hdr.len = (uint32_t)n;
	memset(buf, 0, n);
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &rd, sizeof(rd));
	return n;
}

static void read_request_needs_exact_size(void)
{
	uint8_t buf[64];
	struct kreq req;

	CHECK_EQ(kmsg_parse(buf, make_read(buf, 4096, 8192, 0), &req), 0);
	CHECK_EQ(req.read.off, 4096);
	CHECK_EQ(req.read.len, 8192);
	CHECK_EQ(kmsg_parse(buf, make_read(buf, 4096, 8192, 1), &req), -EBADMSG);	     /* odd length */
	CHECK_EQ(kmsg_parse(buf, make_read(buf, UINT64_MAX - 10, 8192, 0), &req), -EBADMSG); /* wraps */
	CHECK_EQ(kmsg_parse(buf, make_read(buf, 0, 0, 0), &req), -EBADMSG);		     /* empty */
}

static void close_and_unknown_opcodes(void)
{
	struct cachefiles_msg close_msg = { 5, CACHEFILES_OP_CLOSE, sizeof(close_msg), 42 };
	struct cachefiles_msg unknown = { 5, 77, sizeof(unknown), 42 };
	struct kreq req;

	CHECK_EQ(kmsg_parse(&close_msg, sizeof(close_msg), &req), 0);
	CHECK_EQ(req.opcode, CACHEFILES_OP_CLOSE);
	CHECK_EQ(kmsg_parse(&unknown, sizeof(unknown), &req), -EBADMSG);
	CHECK_EQ(kmsg_parse(&close_msg, 3, &req), -EBADMSG); /* shorter than a header */
}

int main(void)
{
	RUN(open_request_is_parsed);
	RUN(open_with_bad_key_sizes_is_refused_but_reports_its_fd);
	RUN(cookie_longer_than_255_is_refused);
	RUN(read_request_needs_exact_size);
	RUN(close_and_unknown_opcodes);
	return 0;
}
