/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a remote worker believes of an origin's answer, and where its credentials may go. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "http-check.h"

static void test_content_range(void)
{
	CHECK_EQ(http_content_range_check("bytes 0-1048575/3000000", 0, 1048576, 3000000), 0);
	CHECK_EQ(http_content_range_check("bytes 2097152-2999999/3000000", 2097152, 902848, 3000000), 0);
	/* another range, another size, an unknown size, other spellings: refused */
	CHECK_EQ(http_content_range_check("bytes 1-1048576/3000000", 0, 1048576, 3000000), -EBADMSG);
	CHECK_EQ(http_content_range_check("bytes 0-1048574/3000000", 0, 1048576, 3000000), -EBADMSG);
	CHECK_EQ(http_content_range_check("bytes 0-1048575/3000001", 0, 1048576, 3000000), -EBADMSG);
	CHECK_EQ(http_content_range_check("bytes 0-1048575/*", 0, 1048576, 3000000), -EBADMSG);
	CHECK_EQ(http_content_range_check("bytes 00-1048575/3000000", 0, 1048576, 3000000), -EBADMSG);
	CHECK_EQ(http_content_range_check("bytes +0-1048575/3000000", 0, 1048576, 3000000), -EBADMSG);
	CHECK_EQ(http_content_range_check("bytes 0-1048575/3000000 ", 0, 1048576, 3000000), -EBADMSG);
	CHECK_EQ(http_content_range_check("bytes=0-1048575/3000000", 0, 1048576, 3000000), -EBADMSG);
	CHECK_EQ(http_content_range_check("", 0, 1048576, 3000000), -EBADMSG);
	CHECK_EQ(http_content_range_check("bytes 0-0/1", 0, 0, 1), -EBADMSG); /* nothing asked */
	CHECK_EQ(http_content_range_check("bytes 0-99999999999999999999999/3", 0, 3, 3), -EBADMSG);
}

/* An answer's bytes count only when they are the range asked for; why says what came instead. */
static void test_range_answer(void)
{
	char why[256];
	const char *cr = "bytes 65536-131071/3000000";

	CHECK_EQ(http_range_answer(206, cr, 65536, 65536, 3000000, 65536, why, sizeof(why)), 0);
	CHECK_EQ(http_range_answer(200, "", 0, 3000000, 3000000, 3000000, why, sizeof(why)), 0);
	/* an origin that ignores Range: refused even where its first bytes are the range's */
	CHECK_EQ(http_range_answer(200, "", 0, 65536, 3000000, 65536, why, sizeof(why)), -EBADMSG);
	CHECK(strcmp(why, "HTTP 200 with the whole blob: the origin ignored the Range asked for") == 0);
	CHECK_EQ(http_range_answer(200, "", 65536, 65536, 3000000, 65536, NULL, 0), -EBADMSG);
	CHECK_EQ(http_range_answer(206, "bytes 69632-135167/3000000", 65536, 65536, 3000000, 65536, why, sizeof(why)),
		 -EBADMSG);
	CHECK(strcmp(why, "HTTP 206 with Content-Range 'bytes 69632-135167/3000000': not the range asked for") == 0);
	CHECK_EQ(http_range_answer(206, "", 65536, 65536, 3000000, 65536, why, sizeof(why)), -EBADMSG);
	CHECK_EQ(http_range_answer(206, cr, 65536, 65536, 3000000, 32768, why, sizeof(why)), -EBADMSG);
	CHECK(strcmp(why, "HTTP 206 with 32768 of the 65536 bytes asked for") == 0);
	CHECK_EQ(http_range_answer(206, cr, 65536, 65536, 3000000, 65537, why, sizeof(why)), -EBADMSG);
	CHECK(strcmp(why, "HTTP 206 with more than the 65536 bytes asked for") == 0);
	CHECK_EQ(http_range_answer(200, "", 0, 3000000, 3000000, 100, why, sizeof(why)), -EBADMSG);
	CHECK_EQ(http_range_answer(204, "", 0, 3000000, 3000000, 0, why, sizeof(why)), -EBADMSG);
	/* judged before the body: status and Content-Range with got == len */
	CHECK_EQ(http_range_answer(206, cr, 65536, 65536, 3000000, 65536, NULL, 0), 0);
}

static void test_authority(void)
{
	char host[256];
	uint16_t port;

	CHECK_EQ(http_url_authority("https://reg.example/v2/x", host, sizeof(host), &port), 0);
	CHECK(strcmp(host, "reg.example") == 0 && port == 443);
	CHECK_EQ(http_url_authority("https://127.0.0.1:5000/v2/x", host, sizeof(host), &port), 0);
	CHECK(strcmp(host, "127.0.0.1") == 0 && port == 5000);
	CHECK_EQ(http_url_authority("https://[::1]:8443/x", host, sizeof(host), &port), 0);
	CHECK(strcmp(host, "[::1]") == 0 && port == 8443);
	CHECK_EQ(http_url_authority("http://reg.example/x", host, sizeof(host), &port), -EINVAL);
	CHECK_EQ(http_url_authority("https://user:pw@reg.example/x", host, sizeof(host), &port), -EINVAL);
	CHECK_EQ(http_url_authority("https://reg.example:0/x", host, sizeof(host), &port), -EINVAL);
	CHECK_EQ(http_url_authority("https://reg.example:65536/x", host, sizeof(host), &port), -EINVAL);
	CHECK_EQ(http_url_authority("https://reg.example:/x", host, sizeof(host), &port), -EINVAL);
}

/* Credentials go to the origin's host and port over https, never to a redirect's other host. */
static void test_credentials_dropped_for_another_host(void)
{
	CHECK(http_credentials_allowed("reg.example", 443, "https://reg.example/v2/a/blobs/sha256:00"));
	CHECK(http_credentials_allowed("reg.example", 443, "https://REG.example:443/v2/a"));
	CHECK(!http_credentials_allowed("reg.example", 443, "https://s3.example/bucket/obj?sig=1"));
	CHECK(!http_credentials_allowed("reg.example", 443, "https://reg.example:8443/v2/a"));
	CHECK(!http_credentials_allowed("reg.example", 443, "http://reg.example/v2/a"));
	CHECK(!http_credentials_allowed("reg.example", 443, "https://reg.example.evil/v2/a"));
	CHECK(!http_credentials_allowed("reg.example", 443, "https://x@reg.example/v2/a"));
}

static void test_redirect_target(void)
{
	char out[512];

	CHECK_EQ(http_redirect_target("https://reg.example/v2/a", "https://s3.example/o?x=1", out, sizeof(out)), 0);
	CHECK(strcmp(out, "https://s3.example/o?x=1") == 0);
	CHECK_EQ(http_redirect_target("https://reg.example:5000/v2/a", "/v2/b", out, sizeof(out)), 0);
	CHECK(strcmp(out, "https://reg.example:5000/v2/b") == 0);
	CHECK_EQ(http_redirect_target("https://reg.example/v2/a", "http://s3.example/o", out, sizeof(out)), -EINVAL);
	CHECK_EQ(http_redirect_target("https://reg.example/v2/a", "//s3.example/o", out, sizeof(out)), -EINVAL);
	CHECK_EQ(http_redirect_target("https://reg.example/v2/a", "blobs/x", out, sizeof(out)), -EINVAL);
	CHECK_EQ(http_redirect_target("https://reg.example/v2/a", "https://s3.example/long", out, 10), -ENAMETOOLONG);
}

static void test_retry_after(void)
{
	CHECK_EQ(http_retry_after("3"), 3);
	CHECK_EQ(http_retry_after("0"), 0);
	CHECK_EQ(http_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
	CHECK_EQ(http_retry_after("-1"), -1);
	CHECK_EQ(http_retry_after("999999"), -1);
}

/* Backoff within the deadline: the last try comes before it, a Retry-After past it ends the tries. */
static void test_retry_wait(void)
{
	CHECK_EQ(http_retry_wait(0, 20000, -1, 0), 50);
	CHECK_EQ(http_retry_wait(0, 20000, -1, 50), 100);
	CHECK_EQ(http_retry_wait(0, 20000, -1, 51), 50); /* jitter: half to all, never more */
	CHECK_EQ(http_retry_wait(3, 20000, -1, 0), 400);
	CHECK_EQ(http_retry_wait(6, 20000, -1, 2500), 5000);
	CHECK_EQ(http_retry_wait(40, 20000, -1, 2500), 5000); /* no shift past the cap */
	/* 5 s asked, 1 s left: waits 800 ms so the last try has 200 ms */
	CHECK_EQ(http_retry_wait(6, 1000, -1, 2500), 800);
	CHECK_EQ(http_retry_wait(0, 201, -1, 0), 1);
	CHECK_EQ(http_retry_wait(0, 200, -1, 0), -1);
	CHECK_EQ(http_retry_wait(0, 0, -1, 0), -1);
	/* Retry-After as asked, whatever the attempt; never cut to fit */
	CHECK_EQ(http_retry_wait(0, 20000, 1, 0), 1000);
	CHECK_EQ(http_retry_wait(6, 20000, 0, 0), 0);
	CHECK_EQ(http_retry_wait(0, 20000, 20, 0), -1);
	CHECK_EQ(http_retry_wait(0, 1000, 1, 0), -1);
}

int main(void)
{
	RUN(test_content_range);
	RUN(test_range_answer);
	RUN(test_authority);
	RUN(test_credentials_dropped_for_another_host);
	RUN(test_redirect_target);
	RUN(test_retry_after);
	RUN(test_retry_wait);
	return 0;
}
