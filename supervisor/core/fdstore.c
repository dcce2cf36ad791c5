/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fdstore.h"

#include <errno.h>
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
		return log_error_errno(r, "Failed to put fd %s into the fd store", name);
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
		return log_warning_errno(r, "Failed to remove fd %s from the fd store", name);
	return 0;
}

void notify_text(const char *text)
{
	if (fdstore_available())
		(void)sd_pid_notify(0, 0, text);
}
