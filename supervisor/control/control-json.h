/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket's output buffer and its writers: printf, and strings
 * escaped for text or JSON. An append that does not fit leaves a mark
 * (`full`) instead of writing part of it, so a caller can roll back to a
 * length it saved and send the item later, whole.
 */
#ifndef CFS_CONTROL_JSON_H
#define CFS_CONTROL_JSON_H

#include <stdbool.h>
#include <stddef.h>

struct ctlbuf {
	char *data;
	size_t cap;
	size_t len;
	bool full; /* an append did not fit: the content is incomplete */
};

/* Needs one byte beyond what it appends: vsnprintf ends with a NUL (not counted in len). */
__attribute__((format(printf, 2, 3))) void ctlbuf_printf(struct ctlbuf *b, const char *fmt, ...);
/* bytes as a JSON string with its quotes; everything but printable ASCII escaped */
void ctlbuf_json_string(struct ctlbuf *b, const void *bytes, size_t len);
/* a NUL-terminated string, likewise */
void ctlbuf_json_cstr(struct ctlbuf *b, const char *s);
/* bytes for a text line: printable ASCII as is except '\', the rest as \xNN */
void ctlbuf_text_string(struct ctlbuf *b, const void *bytes, size_t len);
void ctlbuf_text_cstr(struct ctlbuf *b, const char *s);
/* Drops the first n bytes (sent). */
void ctlbuf_consume(struct ctlbuf *b, size_t n);

/* Worst case of one escaped byte in JSON (\u00NN) */
#define CTLBUF_JSON_ESCAPE_MAX 6

#endif
