/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: whatever a compromised worker sends is parsed or refused, never trusted. */
#include <stdint.h>
#include <string.h>

#include "reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct worker_reply r;
	const char *why = NULL;
	unsigned nfds = size ? data[0] % 3 : 0;

	if (size)
		data++, size--;
	if (reply_parse(data, size, nfds, &r, &why) == 0) {
		if (r.result < -REPLY_MAX_ERRNO || r.result > (int64_t)WIRE_MAX_BLOB_SIZE || nfds != 0)
			__builtin_trap();
		if (strnlen(r.version, sizeof(r.version)) == sizeof(r.version))
			__builtin_trap();
	} else if (!why) {
		__builtin_trap();
	}
	return 0;
}
