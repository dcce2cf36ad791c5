/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: any bytes read from the device parse or fail, never crash or over-read. */
#include <stdint.h>
#include <string.h>

#include "kmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kreq req;

	if (kmsg_parse(data, size, &req) == 0 && req.opcode == CACHEFILES_OP_OPEN) {
		/* Accepted keys are what the supervisor will print and route on. */
		if (strlen(req.open.volume_key) == 0 || req.open.cookie_len > COOKIE_KEY_MAX)
			__builtin_trap();
		(void)cookie_key_is_safe(req.open.cookie, req.open.cookie_len);
	}
	return 0;
}
