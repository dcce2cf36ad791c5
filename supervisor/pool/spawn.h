/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fork+exec of one worker, with the child's privilege transitions. */
#ifndef CFS_SPAWN_H
#define CFS_SPAWN_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "supervisor.h"

struct spawn_plan {
	unsigned slot;
	/*
	 * The seccomp program the child gets at WORKER_PROGRAM_FD, or -1. A
	 * worker gets it only if it runs the binary d->program.exe describes.
	 */
	int program_fd;
	bool export; /* the child writes the program there and exits: never a worker */
};

/* The same file, unchanged (a package upgrade renames a new one in, or rewrites it). */
bool spawn_same_binary(const struct stat *a, const struct stat *b);

/* Starts a worker for domain d; returns 0 and its pid, pidfd and our socket end, or -errno. */
int spawn_worker(const struct settings *cfg, const struct domain *d, const struct spawn_plan *plan, pid_t *pid,
		 int *pidfd, int *sock);

#endif
