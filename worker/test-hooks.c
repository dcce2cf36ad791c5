/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "test-hooks.h"

#include <stdlib.h>
#include <string.h>

void test_hook_on_read(const uint8_t *cookie, uint32_t cookie_len)
{
	if (cookie_len >= 7 && memcmp(cookie, "poison-", 7) == 0)
		abort();
}

bool test_hook_garbage_now(void)
{
	static unsigned long replies, every = (unsigned long)-1;

	if (every == (unsigned long)-1) {
		const char *v = getenv("CFS_TEST_GARBAGE_EVERY");
		every = v ? strtoul(v, NULL, 10) : 0;
	}
	return every && ++replies % every == 0;
}
