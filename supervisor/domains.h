/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The domains the supervisor serves: from the config file or from --blob-dir. */
#ifndef CFS_DOMAINS_H
#define CFS_DOMAINS_H

#include "config.h"
#include "supervisor.h"

/* Builds s->domains in the config's order (routing relies on it) and takes its [cache] settings. */
int domains_from_config(struct supervisor *s, struct config *c);
/* Resolves every domain's worker user and opens its blob dir: before any fork. */
int domains_prepare(struct supervisor *s);

#endif
