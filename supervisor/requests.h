/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Requests from the kernel: taking them in, and answering them. */
#ifndef CFS_REQUESTS_H
#define CFS_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

#include "supervisor.h"

/* Handles one message read from the device. */
void requests_on_kernel_message(struct supervisor *s, const void *buf, size_t n);
/* copen with the worker's result (size or -errno); forgets the request. */
void request_answer_open(struct supervisor *s, struct request *r, int64_t result);
/* READ_COMPLETE after the worker wrote (result >= 0) or failed (-errno). */
void request_answer_read(struct supervisor *s, struct request *r, int64_t result);
/* Gives up on a request: the reader gets an error, nothing hangs. */
void request_fail(struct supervisor *s, struct request *r, int err);

const char *domain_name(const struct supervisor *s, unsigned domain);
/* Which domain serves a volume key, or -ENOENT. */
int domain_for_volume(const struct supervisor *s, const char *volume_key);
/* Forgets an object everywhere: workers, fd store, state, table (invariant 6). */
void object_retire(struct supervisor *s, struct object *o);

#endif
