/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CFS_LOOP_H
#define CFS_LOOP_H

#include <signal.h>

#include "supervisor.h"

/* The signals the loop takes through its signalfd; blocked from the start on (startup.h). */
void loop_signals(sigset_t *set);
int loop_setup(struct supervisor *s);
/* One round of what follows events, without waiting: serve() runs it before READY=1. */
void loop_settle(struct supervisor *s);
int loop_run(struct supervisor *s);
void loop_log_stats(const struct supervisor *s);
/* SIGHUP: the config file again (domains_reload), told to systemd as RELOADING=1, READY=1. */
void loop_reload(struct supervisor *s);

#endif
