/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the control socket says: the status and objects reports, rendered
 * item by item into a bounded buffer (a long table goes out in pieces as the
 * client reads), and the progress of a worker upgrade.
 */
#ifndef CFS_CONTROL_REPORT_H
#define CFS_CONTROL_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "control-json.h"
#include "supervisor.h"

enum report_kind { REPORT_STATUS, REPORT_OBJECTS };

struct report {
	enum report_kind kind;
	bool json;
	uint32_t cursor; /* next item: 0 the head, then domains or object handles, then the tail */
	uint32_t items;	 /* elements written, for JSON commas */
	bool finished;
};

/*
 * Appends whole items while they fit; sets r->finished after the last one.
 * Returns 0, or -E2BIG if an item does not fit even in an empty buffer.
 */
int report_produce(const struct supervisor *s, struct report *r, struct ctlbuf *b);

struct upgrade_watch {
	uint64_t started_ms;
	uint32_t shown[CONFIG_MAX_DOMAINS]; /* figures last shown per domain; 0: none yet */
};

/* Starts new workers in every domain in use; the old ones drain. */
void upgrade_begin(struct supervisor *s, struct upgrade_watch *u, struct ctlbuf *b);
/*
 * Appends a line for each domain whose figures changed since the last call;
 * once every new worker is ready and every old one gone, a "done" line and
 * true.
 */
bool upgrade_progress(const struct supervisor *s, struct upgrade_watch *u, struct ctlbuf *b);

#endif
