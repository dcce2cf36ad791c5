/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fdstore.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cfs-log.h"

bool fdstore_available(void)
{
	const char *sock = getenv("NOTIFY_SOCKET");
	return sock && *sock;
}

int fdstore_push(const char *name, int fd)
{
	char msg[128];
	int r;

	if (!fdstore_available())
		return 0;
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name);
	r = sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
	if (r < 0)
		return log_error_errno(r, "Failed to put fd %s into the fd store: %s", name, ERRSTR(r));
	return 0;
}

int fdstore_remove(const char *name)
{
	char msg[128];
	int r;

	if (!fdstore_available())
		return 0;
	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	r = sd_pid_notify(0, 0, msg);
	if (r < 0)
		return log_warning_errno(r, "Failed to remove fd %s from the fd store: %s", name, ERRSTR(r));
	return 0;
}

void fdstore_object_name(uint32_t obj_id, char buf[32])
{
	snprintf(buf, 32, FDNAME_OBJECT_PREFIX "%" PRIu32, obj_id);
}

int fdstore_parse_object_name(const char *name, uint32_t *obj_id)
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

void notify_text(const char *text)
{
	if (fdstore_available())
		(void)sd_pid_notify(0, 0, text);
}
