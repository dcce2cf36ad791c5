/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cachefiles transport's own state (private to supervisor/cachefiles/). */
#ifndef CFS_TRANSPORT_STATE_H
#define CFS_TRANSPORT_STATE_H

#include <stdbool.h>

#include "culler.h"
#include "state.h"
#include "supervisor.h"

struct transport_state {
	int dev_fd;
	struct state state;   /* what each object fd in the fd store is (invariant 5) */
	bool restore_wanted;  /* written once no OPEN awaits its copen (invariant 2) */
	struct culler culler; /* cache space (culler.h) */
};

#endif
