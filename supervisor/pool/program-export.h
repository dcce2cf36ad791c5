/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker binary's seccomp program, exported once per generation of a
 * domain's workers and handed to each of them (docs/design.md, "Worker
 * start-up"). Without one, workers compile their own: slower, as safe.
 */
#ifndef CFS_PROGRAM_EXPORT_H
#define CFS_PROGRAM_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "supervisor.h"

/*
 * A new generation: drops d's program and starts the worker binary
 * exporting the next one (not for --seccomp log, whose workers compile
 * theirs). Its workers wait for it: program_export_pending().
 */
void program_export_start(struct supervisor *s, struct domain *d);
/* The exporter ended (its pidfd is readable): keeps what it wrote if it exited 0. */
void program_export_on_exit(struct supervisor *s, struct domain *d);
/* True while d's exporter runs; one past its deadline is killed, and then d's workers compile theirs. */
bool program_export_pending(struct supervisor *s, struct domain *d, uint64_t now);
/*
 * At start: waits for d's exporter (until its deadline, then kills it), so
 * that d's first workers start with the program. Start every domain's
 * exporter first: they run side by side.
 */
void program_export_wait(struct supervisor *s, struct domain *d);
/* Ends a running exporter and drops the program (the domain stops or leaves). */
void program_export_stop(struct supervisor *s, struct domain *d);
/* The program for a worker about to start, or -1. */
int program_export_fd(const struct domain *d);

/* An exporter runs the same start-up as a worker; one still running after this is stuck. */
#define PROGRAM_EXPORT_TIMEOUT_MS 5000

#endif
