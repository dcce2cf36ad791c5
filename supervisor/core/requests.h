/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every transport does the same with a request: naming, giving up,
 * and counting a fill's outcome. The answers themselves go through
 * s->transport (transport.h).
 */
#ifndef CFS_REQUESTS_H
#define CFS_REQUESTS_H

#include <stdint.h>

#include "supervisor.h"

const char *domain_name(const struct supervisor *s, unsigned domain);
const char *request_kind_name(enum request_kind kind);
/* Gives up on a request: the reader gets an error, nothing hangs. */
void request_fail(struct supervisor *s, struct request *r, int err);
/* The status name of a failure kind ("missing_blob", ...). */
const char *failure_kind_name(enum failure_kind kind);
/* Counts a failure for the supervisor and, if domain names one (>= 0), for that domain. */
void failure_counted(struct supervisor *s, int domain, enum failure_kind kind);
/* Counts a lookup's outcome (result: size or -errno) before the transport answers it. */
void request_lookup_counted(struct supervisor *s, const struct request *r, int64_t result);
/* Counts and logs a fill's outcome (result: bytes or -errno) before the transport answers it. */
void request_fill_counted(struct supervisor *s, const struct request *r, struct object *o, int64_t result);

#endif
