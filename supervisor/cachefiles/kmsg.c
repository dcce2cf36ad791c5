/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "kmsg.h"

#include <errno.h>
#include <string.h>

static int parse_open(const uint8_t *data, size_t n, struct kreq *req)
{
	struct cachefiles_open open;
	size_t keys;

	if (n < sizeof(open))
		return -EBADMSG;
	memcpy(&open, data, sizeof(open));
	/* The fd is already installed in our table: report it even if the rest is bad. */
	req->open.anon_fd = (int)open.fd;
	req->open.flags = open.flags;
	if (open.fd > INT32_MAX)
		req->open.anon_fd = -1;

	keys = n - sizeof(open);
	if ((size_t)open.volume_key_size + open.cookie_key_size != keys)
		return -EBADMSG;
	if (open.volume_key_size < 2 || open.volume_key_size > KMSG_VOLUME_KEY_MAX + 1)
		return -EBADMSG;
	if (open.cookie_key_size > COOKIE_KEY_MAX)
		return -EBADMSG;

	const uint8_t *vkey = data + sizeof(open);
	if (vkey[open.volume_key_size - 1] != '\0' || memchr(vkey, '\0', open.volume_key_size - 1))
		return -EBADMSG;
	memcpy(req->open.volume_key, vkey, open.volume_key_size);
	req->open.cookie_len = open.cookie_key_size;
	memcpy(req->open.cookie, vkey + open.volume_key_size, open.cookie_key_size);
	req->open.cookie[open.cookie_key_size] = '\0';
	return 0;
}

int kmsg_parse(const void *buf, size_t n, struct kreq *req)
{
	struct cachefiles_msg hdr;
	const uint8_t *data = (const uint8_t *)buf + sizeof(hdr);
	size_t body;

	memset(req, 0, sizeof(*req));
	req->open.anon_fd = -1;
	if (n < sizeof(hdr) || n > CACHEFILES_MSG_MAX_SIZE)
		return -EBADMSG;
	memcpy(&hdr, buf, sizeof(hdr));
	req->msg_id = hdr.msg_id;
	req->opcode = hdr.opcode;
	req->obj_id = hdr.object_id;
	if (hdr.len != n)
		return -EBADMSG;
	body = n - sizeof(hdr);

	switch (hdr.opcode) {
	case CACHEFILES_OP_OPEN: return parse_open(data, body, req);
	case CACHEFILES_OP_CLOSE: return body == 0 ? 0 : -EBADMSG;
	case CACHEFILES_OP_READ: {
		struct cachefiles_read rd;
		if (body != sizeof(rd))
			return -EBADMSG;
		memcpy(&rd, data, sizeof(rd));
		if (rd.len == 0 || rd.off > UINT64_MAX - rd.len)
			return -EBADMSG;
		req->read.off = rd.off;
		req->read.len = rd.len;
		return 0;
	}
	default: return -EBADMSG;
	}
}

const char *kmsg_opcode_name(uint32_t opcode)
{
	switch (opcode) {
	case CACHEFILES_OP_OPEN: return "OPEN";
	case CACHEFILES_OP_CLOSE: return "CLOSE";
	case CACHEFILES_OP_READ: return "READ";
	default: return "UNKNOWN";
	}
}
