/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "control-json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void put(struct ctlbuf *b, const char *s, size_t n)
{
	if (b->full || n > b->cap - b->len) {
		b->full = true;
		return;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

void ctlbuf_printf(struct ctlbuf *b, const char *fmt, ...)
{
	size_t room = b->cap - b->len;
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	/* vsnprintf wants room for a NUL it writes; the buffer itself holds none. */
	if (n < 0 || (size_t)n >= room)
		b->full = true;
	else
		b->len += (size_t)n;
}

/*
 * Only printable ASCII goes out raw: a volume key or cookie comes from the
 * kernel (a mount option), and a reader of the output must never mistake one
 * for structure. Bytes >= 0x80 become U+0080..U+00FF: cookies are bytes, not
 * UTF-8, and this keeps them recoverable.
 */
static const char *json_escape(uint8_t c, char tmp[8])
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	}
	if (c >= 0x20 && c < 0x7f)
		return NULL;
	snprintf(tmp, 8, "\\u%04x", c);
	return tmp;
}

void ctlbuf_json_string(struct ctlbuf *b, const void *bytes, size_t len)
{
	const uint8_t *p = bytes;
	char tmp[8];

	put(b, "\"", 1);
	for (size_t i = 0; i < len && !b->full; i++) {
		const char *e = json_escape(p[i], tmp);
		if (e)
			put(b, e, strlen(e));
		else
			put(b, (const char *)&p[i], 1);
	}
	put(b, "\"", 1);
}

void ctlbuf_json_cstr(struct ctlbuf *b, const char *s)
{
	ctlbuf_json_string(b, s, strlen(s));
}

void ctlbuf_text_string(struct ctlbuf *b, const void *bytes, size_t len)
{
	const uint8_t *p = bytes;
	char tmp[8];

	for (size_t i = 0; i < len && !b->full; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			put(b, (const char *)&p[i], 1);
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
			put(b, tmp, 4);
		}
	}
}

void ctlbuf_text_cstr(struct ctlbuf *b, const char *s)
{
	ctlbuf_text_string(b, s, strlen(s));
}

void ctlbuf_consume(struct ctlbuf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}
