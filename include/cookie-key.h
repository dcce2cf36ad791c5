/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A cookie key names a blob file under a domain's blob directory. With
 * `-o domain_id=D,fsid=X` the kernel passes X raw, so a mount option is
 * enough to aim a path at anything: both the supervisor and the worker refuse
 * every key that is not a plain, printable, single path component.
 */
#ifndef CFS_COOKIE_KEY_H
#define CFS_COOKIE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COOKIE_KEY_MAX 255

static inline bool cookie_key_is_safe(const uint8_t *key, size_t len)
{
	if (len == 0 || len > COOKIE_KEY_MAX)
		return false;
	if ((len == 1 && key[0] == '.') || (len == 2 && key[0] == '.' && key[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (key[i] < 0x20 || key[i] >= 0x7f || key[i] == '/')
			return false;
	return true;
}

#endif
