/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Framing rules of the supervisor <-> worker protocol, READ fill ranges, and blob name safety. */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "wire-io.h"

int cfs_log_max_priority;

static void every_type_must_have_its_exact_size(void)
{
	union wire_msg m;

	memset(&m, 0, sizeof(m));
	wire_init(&m.hdr, WIRE_READ_DONE);
	CHECK_EQ(wire_check_frame(&m, sizeof(m.read_done), 0), 0);
	CHECK_EQ(wire_check_frame(&m, sizeof(m.read_done) - 1, 0), -EBADMSG);
	CHECK_EQ(wire_check_frame(&m, sizeof(m.read_done) + 1, 0), -EBADMSG);
	m.hdr.len = 1; /* header disagrees with the datagram */
	CHECK_EQ(wire_check_frame(&m, sizeof(m.read_done), 0), -EBADMSG);
	wire_init(&m.hdr, WIRE_READ_DONE);
	m.hdr.version = WIRE_VERSION + 1;
	CHECK_EQ(wire_check_frame(&m, sizeof(m.read_done), 0), -EBADMSG);
	m.hdr.version = WIRE_VERSION;
	m.hdr.type = 999;
	CHECK_EQ(wire_check_frame(&m, sizeof(m.read_done), 0), -EBADMSG);
	CHECK_EQ(wire_check_frame(&m, 3, 0), -EBADMSG);
}

static void only_adopt_carries_exactly_one_fd(void)
{
	union wire_msg m;

	memset(&m, 0, sizeof(m));
	wire_init(&m.hdr, WIRE_ADOPT);
	CHECK_EQ(wire_check_frame(&m, sizeof(m.adopt), 1), 0);
	CHECK_EQ(wire_check_frame(&m, sizeof(m.adopt), 0), -EBADMSG);
	CHECK_EQ(wire_check_frame(&m, sizeof(m.adopt), 2), -EBADMSG);
	wire_init(&m.hdr, WIRE_READ_DONE);
	CHECK_EQ(wire_check_frame(&m, sizeof(m.read_done), 1), -EBADMSG);
}

static void fds_and_bytes_cross_a_socketpair(void)
{
	int sv[2], pipefd[2], fd;
	unsigned nfds;
	union wire_msg m, got;

	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	CHECK_EQ(pipe(pipefd), 0);
	memset(&m, 0, sizeof(m));
	wire_init(&m.hdr, WIRE_ADOPT);
	m.adopt.handle = 77;
	CHECK_EQ(wire_send(sv[0], &m, sizeof(m.adopt), pipefd[1]), 0);
	CHECK_EQ(wire_recv(sv[1], &got, &fd, &nfds, 0), (ssize_t)sizeof(m.adopt));
	CHECK_EQ(nfds, 1);
	CHECK(fd >= 0);
	CHECK_EQ(got.adopt.handle, 77);
	CHECK_EQ(write(fd, "x", 1), 1); /* it is the pipe's write end */
	close(fd);
	close(sv[0]);
	CHECK_EQ(wire_recv(sv[1], &got, &fd, &nfds, 0), 0); /* EOF */
	close(sv[1]);
}

static void blob_names_must_be_one_printable_component(void)
{
	CHECK(cookie_key_is_safe((const uint8_t *)"image-1.blob", 12));
	CHECK(cookie_key_is_safe((const uint8_t *)"...", 3));
	CHECK(!cookie_key_is_safe((const uint8_t *)"", 0));
	CHECK(!cookie_key_is_safe((const uint8_t *)".", 1));
	CHECK(!cookie_key_is_safe((const uint8_t *)"..", 2));
	CHECK(!cookie_key_is_safe((const uint8_t *)"../etc", 6));
	CHECK(!cookie_key_is_safe((const uint8_t *)"a/b", 3));
	CHECK(!cookie_key_is_safe((const uint8_t *)"a\0b", 3));
	CHECK(!cookie_key_is_safe((const uint8_t *)"a\nb", 3));
	CHECK(!cookie_key_is_safe((const uint8_t *)"a\x7f", 2));
	CHECK(!cookie_key_is_safe((const uint8_t *)"\xc3\xa9", 2));
	uint8_t long_key[256];
	memset(long_key, 'k', sizeof(long_key));
	CHECK(cookie_key_is_safe(long_key, 255));
	CHECK(!cookie_key_is_safe(long_key, 256));
}

/* The worker's check of a READ's fill range (the supervisor plans it, window.c). */
static void the_worker_refuses_fills_that_do_not_fit(void)
{
	const uint64_t size = 1u << 20;
	struct wire_read m = { .off = 8192, .len = 4096, .fill_off = 8192, .fill_len = 4096 };

	CHECK(wire_read_fill_is_valid(&m, size));
	m.fill_off = 4096; /* starts before the request: fine */
	m.fill_len = 8192;
	CHECK(wire_read_fill_is_valid(&m, size));
	m.fill_len = 4096; /* ends before the request's last page */
	CHECK(!wire_read_fill_is_valid(&m, size));
	m.fill_off = 12288; /* starts after the request */
	m.fill_len = 4096;
	CHECK(!wire_read_fill_is_valid(&m, size));
	m.fill_off = 8000; /* not page aligned */
	CHECK(!wire_read_fill_is_valid(&m, size));
	m.fill_off = 8192;
	m.fill_len = size; /* past the object */
	CHECK(!wire_read_fill_is_valid(&m, size));
	m.fill_off = UINT64_MAX - 4095; /* wraps around */
	m.fill_len = 8192;
	CHECK(!wire_read_fill_is_valid(&m, size));
	m.off = 2 * size; /* past the object: only an empty fill */
	m.fill_off = 0;
	m.fill_len = 0;
	CHECK(wire_read_fill_is_valid(&m, size));
	m.fill_len = 4096;
	CHECK(!wire_read_fill_is_valid(&m, size));
}

int main(void)
{
	RUN(every_type_must_have_its_exact_size);
	RUN(only_adopt_carries_exactly_one_fd);
	RUN(fds_and_bytes_cross_a_socketpair);
	RUN(blob_names_must_be_one_printable_component);
	RUN(the_worker_refuses_fills_that_do_not_fit);
	return 0;
}
