/* SPDX-License-Identifier: GPL-2.0-or-later */
/* For the tests that run the built worker with its stderr in a file. */
#ifndef CFS_TEST_WORKER_EXIT_STATUS_H
#define CFS_TEST_WORKER_EXIT_STATUS_H

#include <stdio.h>
#include <sys/wait.h>

#include "check.h"

/* Waits for the worker, which must exit; returns its status, with what it logged (log_path) in logged. */
static inline int worker_exit_status(pid_t pid, const char *log_path, char *logged, size_t size)
{
	int status;
	FILE *f;

	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK((f = fopen(log_path, "r")));
	logged[fread(logged, 1, size - 1, f)] = '\0';
	fclose(f);
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status);
}

#endif
