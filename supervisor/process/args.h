/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command line. Options that set a key of the configuration (the [cache]
 * ones and those of --blob-dir mode's one domain) come from the key table in
 * config/config-keys.c, so they are checked, defaulted and reported exactly
 * as the file's keys; the rest (-c, --worker-exe, --ready-file, ...) are
 * the process's own.
 */
#ifndef CFS_ARGS_H
#define CFS_ARGS_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "supervisor.h"

enum args_result {
	ARGS_RUN = 0,
	ARGS_HELP,    /* -h: show the help and exit 0 */
	ARGS_VERSION, /* --version */
};

struct args {
	const char *config_path; /* -c; NULL: the default file, or --blob-dir mode */
	bool check_config;
	bool blob_dir_mode;
	bool verbose;
	bool private_view;  /* --private-view (view.h) */
	bool show_usage;    /* an unknown option: the help goes to stderr */
	struct config keys; /* --blob-dir mode's [cache] and one domain, from the options; free with args_free() */
};

/*
 * Parses argv into *a and the process's own options into *cfg (worker_exe,
 * ready_file, control_path; the cache's settings come from a->keys or the
 * file). Returns an enum args_result, or -EINVAL after logging one message
 * that says what is wrong (exit status 2), or -ENOMEM.
 */
int args_parse(int argc, char **argv, struct settings *cfg, struct args *a);
void args_free(struct args *a);
/* The help, with the key table's defaults; worker_exe is the built-in worker path. */
void args_usage(FILE *f, const char *worker_exe);

#endif
