/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket's writers: hostile bytes never reach the output raw, and nothing is half written. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "control-json.h"

int cfs_log_max_priority;

static char data[256];

static struct ctlbuf fresh(size_t cap)
{
	memset(data, 0, sizeof(data));
	return (struct ctlbuf){ .data = data, .cap = cap };
}

static int is(const struct ctlbuf *b, const char *want)
{
	if (b->len == strlen(want) && memcmp(b->data, want, b->len) == 0)
		return 1;
	fprintf(stderr, "got [%.*s], want [%s]\n", (int)b->len, b->data, want);
	return 0;
}

static void json_escapes_quotes_controls_and_high_bytes(void)
{
	struct ctlbuf b = fresh(sizeof(data));
	const uint8_t hostile[] = { 'a',  '"',	'\\', '\n', '\r', '\t', '\b', '\f',
				    0x00, 0x01, 0x1f, 0x7f, 0x80, 0xff, '/' };

	ctlbuf_json_string(&b, hostile, sizeof(hostile));
	CHECK(!b.full);
	CHECK(is(&b, "\"a\\\"\\\\\\n\\r\\t\\b\\f\\u0000\\u0001\\u001f\\u007f\\u0080\\u00ff/\""));
}

static void json_output_is_printable_ascii_for_every_byte(void)
{
	uint8_t all[256];

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	static char big[256 * 6 + 2];
	struct ctlbuf b = { .data = big, .cap = sizeof(big) };
	ctlbuf_json_string(&b, all, sizeof(all));
	CHECK(!b.full);
	for (size_t i = 0; i < b.len; i++)
		CHECK(big[i] >= 0x20 && big[i] < 0x7f);
	/* No unescaped quote inside: only the two that delimit it. */
	for (size_t i = 1; i + 1 < b.len; i++)
		CHECK(big[i] != '"' || big[i - 1] == '\\');
	/* 93 bytes as is, 7 two-byte escapes (\" \\ \b \f \n \r \t), 156 \u00NN, 2 quotes */
	CHECK_EQ(b.len, 93 + 7 * 2 + 156 * 6 + 2);
}

static void json_cstr_and_printf_compose(void)
{
	struct ctlbuf b = fresh(sizeof(data));

	ctlbuf_printf(&b, "{\"name\":");
	ctlbuf_json_cstr(&b, "dom\"ain");
	ctlbuf_printf(&b, ",\"n\":%d}", 42);
	CHECK(is(&b, "{\"name\":\"dom\\\"ain\",\"n\":42}"));
}

static void text_escapes_backslash_and_non_printables(void)
{
	struct ctlbuf b = fresh(sizeof(data));
	const uint8_t key[] = { 'b', 'l', 'o', 'b', ' ', '\\', '\n', 0x1b, 0xc3, 0xa9 };

	ctlbuf_text_string(&b, key, sizeof(key));
	CHECK(is(&b, "blob \\x5c\\x0a\\x1b\\xc3\\xa9"));
}

static void an_append_that_does_not_fit_marks_full_and_writes_nothing(void)
{
	struct ctlbuf b = fresh(8);

	ctlbuf_printf(&b, "1234");
	ctlbuf_printf(&b, "56789"); /* 9 bytes: does not fit */
	CHECK(b.full);
	CHECK(is(&b, "1234"));
	ctlbuf_printf(&b, "x"); /* once full, nothing more goes in */
	CHECK(is(&b, "1234"));

	b = fresh(7);
	ctlbuf_json_cstr(&b, "abcdefgh");
	CHECK(b.full);
	CHECK(b.len <= 7);
}

static void printf_needs_one_spare_byte_escapes_do_not(void)
{
	struct ctlbuf b = fresh(5);

	ctlbuf_printf(&b, "abcd"); /* vsnprintf writes a NUL after it */
	CHECK(!b.full);
	ctlbuf_text_string(&b, "e", 1);
	CHECK(!b.full);
	CHECK(is(&b, "abcde"));
}

static void consume_keeps_the_rest_in_order(void)
{
	struct ctlbuf b = fresh(sizeof(data));

	ctlbuf_printf(&b, "hello world");
	ctlbuf_consume(&b, 6);
	CHECK(is(&b, "world"));
	ctlbuf_consume(&b, 99);
	CHECK_EQ(b.len, 0);
}

int main(void)
{
	RUN(json_escapes_quotes_controls_and_high_bytes);
	RUN(json_output_is_printable_ascii_for_every_byte);
	RUN(json_cstr_and_printf_compose);
	RUN(text_escapes_backslash_and_non_printables);
	RUN(an_append_that_does_not_fit_marks_full_and_writes_nothing);
	RUN(printf_needs_one_spare_byte_escapes_do_not);
	RUN(consume_keeps_the_rest_in_order);
	return 0;
}
