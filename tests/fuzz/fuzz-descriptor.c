/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer: a blob descriptor parses or is refused with a reason, never
 * read past its end; and what parses is what the tool would have written,
 * byte for byte (one spelling per descriptor).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct descriptor d;
	char why[DESCRIPTOR_WHY_MAX];
	char *text;
	int64_t len;

	if (descriptor_parse((const char *)data, size, &d, why) != 0) {
		if (!why[0])
			__builtin_trap();
		return 0;
	}
	if (d.n_chunks == 0 || d.n_chunks != descriptor_chunks_for(d.size, d.chunk_size))
		__builtin_trap();
	text = malloc(descriptor_text_max(d.n_chunks));
	len = text ? descriptor_format(&d, text, descriptor_text_max(d.n_chunks)) : -1;
	if (text && ((size_t)len != size || memcmp(text, data, size) != 0))
		__builtin_trap();
	free(text);
	descriptor_free(&d);
	return 0;
}
