/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsing of requests read from /dev/cachefiles (pure, fuzzed). */
#ifndef CFS_KMSG_H
#define CFS_KMSG_H

#include <linux/cachefiles.h>
#include <stddef.h>
#include <stdint.h>

#include "cookie-key.h"
#include "objects.h"

#define KMSG_VOLUME_KEY_MAX 255 /* without the NUL */
_Static_assert(KMSG_VOLUME_KEY_MAX <= OBJECT_VOLUME_MAX, "an object holds any volume key the kernel sends");

struct kreq {
	uint32_t msg_id;
	uint32_t opcode; /* CACHEFILES_OP_* */
	uint32_t obj_id;
	union {
		struct {
			int anon_fd;
			uint32_t flags;
			uint32_t cookie_len;
			uint8_t cookie[COOKIE_KEY_MAX + 1];
			char volume_key[KMSG_VOLUME_KEY_MAX + 1];
		} open;
		struct {
			uint64_t off;
			uint64_t len;
		} read;
	};
};

/*
 * Parses n bytes read from the device into *req. Returns 0, or -EBADMSG for
 * a malformed message. For a malformed OPEN whose fixed part is intact,
 * req->opcode is OPEN and req->open.anon_fd is set, so the caller can close
 * the fd and refuse the request; otherwise req->open.anon_fd is -1.
 */
int kmsg_parse(const void *buf, size_t n, struct kreq *req);

const char *kmsg_opcode_name(uint32_t opcode);

#endif
