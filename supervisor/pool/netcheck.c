/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "netcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "cfs-log.h"
#include "cfs-util.h"

#define DROP_IN_FIX                                                                              \
	"under systemd, install the drop-in remote-origins.conf (README, \"Remote blobs\") and " \
	"restart the unit"

unsigned netcheck_interfaces_beside_lo(const char *text)
{
	unsigned n = 0;

	/* Two header lines, then "  NAME: counters..." per interface. */
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *colon = strchr(line, ':'), *end = strchr(line, '\n');
		if (!colon || (end && colon > end))
			continue;
		while (*line == ' ')
			line++;
		if (colon - line != 2 || strncmp(line, "lo", 2) != 0)
			n++;
	}
	return n;
}

/* 0, or the -errno socket() gave (EAFNOSUPPORT under RestrictAddressFamilies=). */
static int family_allowed(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* -1 when the file cannot be read: nothing is concluded from that. */
static int interfaces_beside_lo(void)
{
	char text[8192];
	_cleanup_close_ int fd = open("/proc/self/net/dev", O_RDONLY | O_CLOEXEC);
	ssize_t len = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);

	if (len < 0)
		return -1;
	text[len] = '\0';
	return (int)netcheck_interfaces_beside_lo(text);
}

bool netcheck_origin_reachable(const struct remote_settings *rs, char *why, size_t n)
{
	const char *host = rs->proxy.port ? rs->proxy.host : rs->origin.host;
	int r = family_allowed(AF_INET);

	if (r < 0 && family_allowed(AF_INET6) < 0) {
		snprintf(why, n, "this service may not make network sockets (socket(AF_INET): %s); " DROP_IN_FIX,
			 ERRSTR(r));
		return false;
	}
	/* A loopback literal (a proxy or registry on the node) needs lo only. */
	if (!broker_host_is_local_literal(host) && interfaces_beside_lo() == 0) {
		snprintf(why, n,
			 "this service has no network interface but lo (a private network namespace) to reach "
			 "%s; " DROP_IN_FIX,
			 host);
		return false;
	}
	return true;
}
