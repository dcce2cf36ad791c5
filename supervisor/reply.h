/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parsing what a worker sent (pure, fuzzed). Everything context-free is
 * checked here: framing, direction, ranges. Whether the worker holds the
 * request it names is the caller's check.
 */
#ifndef CFS_REPLY_H
#define CFS_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define REPLY_MAX_ERRNO 4095

struct worker_reply {
	uint16_t type; /* WIRE_HELLO, WIRE_OPEN_DONE or WIRE_READ_DONE */
	uint32_t msg_id;
	int64_t result;   /* size, byte count or -errno */
	char version[32]; /* HELLO only, NUL terminated */
};

/* Returns 0, or -EBADMSG with *why naming the breach. */
int reply_parse(const void *buf, size_t n, unsigned nfds, struct worker_reply *out, const char **why);

#endif
