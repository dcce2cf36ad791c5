/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fdnames.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Letters and digits only: valid in any fd name, in a log line and in a shell. */
static const char digits62[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
/*
 * 62^3 indexes: far beyond any max_objects that fits FDNAMES_ENV_MAX. And
 * a name of at most 4 characters is never "state" or "device".
 */
#define INDEX_DIGITS_MAX 3

static int digit_value(char c)
{
	const char *p = c ? strchr(digits62, c) : NULL;

	return p ? (int)(p - digits62) : -1;
}

static size_t index_len(uint32_t idx)
{
	size_t n = 1;

	for (; idx >= 62; idx /= 62)
		n++;
	return n;
}

void fdname_of_object(uint32_t state_idx, uint8_t generation, char buf[FDNAME_OBJECT_SIZE])
{
	size_t n = index_len(state_idx);

	if (n > INDEX_DIGITS_MAX) { /* never: max_objects is far below */
		snprintf(buf, FDNAME_OBJECT_SIZE, "?");
		return;
	}
	buf[n] = digits62[generation % FDNAME_GENERATIONS];
	buf[n + 1] = '\0';
	for (size_t i = n; i-- > 0; state_idx /= 62)
		buf[i] = digits62[state_idx % 62];
}

int fdname_parse_object(const char *name, uint32_t *state_idx, uint8_t *generation)
{
	size_t len = strlen(name);
	uint32_t v = 0;

	/* At least one index digit and the generation: "device" and "state" are longer. */
	if (len < 2 || len > INDEX_DIGITS_MAX + 1)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (digit_value(name[i]) < 0)
			return -EINVAL;
	for (size_t i = 0; i + 1 < len; i++)
		v = v * 62 + (uint32_t)digit_value(name[i]);
	*state_idx = v;
	*generation = (uint8_t)digit_value(name[len - 1]);
	return 0;
}

int fdname_parse_legacy(const char *name, uint32_t *obj_id)
{
	size_t plen = strlen(FDNAME_LEGACY_OBJECT_PREFIX);
	char *end;
	unsigned long v;

	if (strncmp(name, FDNAME_LEGACY_OBJECT_PREFIX, plen) != 0 || name[plen] < '0' || name[plen] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(name + plen, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*obj_id = (uint32_t)v;
	return 0;
}

size_t fdnames_worst_len(uint32_t n_objects)
{
	size_t len = strlen(FDNAME_DEVICE) + 1 + strlen(FDNAME_STATE);
	uint32_t first = 0, width_end = 62;

	/* Each object adds ':', its index digits and the generation. */
	for (size_t width = 1; first < n_objects; width++) {
		uint32_t end = n_objects < width_end ? n_objects : width_end;
		len += (size_t)(end - first) * (width + 2);
		first = end;
		width_end = width_end > UINT32_MAX / 62 ? UINT32_MAX : width_end * 62;
	}
	return len;
}
