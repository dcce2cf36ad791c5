/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A control socket request line (include/cfs-control.h): what is asked, and whether it is well formed. */
#ifndef CFS_CONTROL_REQUEST_H
#define CFS_CONTROL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "cfs-control.h"

struct control_request {
	enum cfs_control_cmd cmd;
	bool json;
};

/*
 * Parses one request line (without its '\n'; a trailing '\r' is allowed).
 * Returns 0, or -EINVAL with *why saying what is wrong.
 */
int control_parse_request(const char *line, size_t len, struct control_request *req, const char **why);

#endif
