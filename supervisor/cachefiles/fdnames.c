/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fdnames.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fdname_of_object(uint32_t obj_id, char buf[32])
{
	snprintf(buf, 32, FDNAME_OBJECT_PREFIX "%" PRIu32, obj_id);
}

int fdname_parse_object(const char *name, uint32_t *obj_id)
{
	size_t plen = strlen(FDNAME_OBJECT_PREFIX);
	char *end;
	unsigned long v;

	if (strncmp(name, FDNAME_OBJECT_PREFIX, plen) != 0 || name[plen] < '0' || name[plen] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(name + plen, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*obj_id = (uint32_t)v;
	return 0;
}
