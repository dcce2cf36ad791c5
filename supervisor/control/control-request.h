/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A control socket request line (include/cfs-control.h): what is asked, and whether it is well formed. */
#ifndef CFS_CONTROL_REQUEST_H
#define CFS_CONTROL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

enum control_cmd { CONTROL_STATUS, CONTROL_OBJECTS, CONTROL_UPGRADE_WORKERS, CONTROL_REEXEC };

struct control_request {
	enum control_cmd cmd;
	bool json;
};

/*
 * Parses one request line (without its '\n'; a trailing '\r' is allowed).
 * Returns 0, or -EINVAL with *why saying what is wrong.
 */
int control_parse_request(const char *line, size_t len, struct control_request *req, const char **why);

#endif
