/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket protocol, shared by the supervisor (supervisor/control.c)
 * and cachefilesctl (ctl/). A root-only UNIX stream socket, one request per
 * connection:
 *
 *   client: one line of at most CFS_CONTROL_REQUEST_MAX bytes, '\n' included:
 *           COMMAND [--json]
 *   server: response lines, then exactly one final line, CFS_CONTROL_OK or
 *           CFS_CONTROL_ERROR followed by a reason; then it closes.
 *
 *   status [--json]     the supervisor's and every domain's counters
 *   objects [--json]    one line (one JSON object) per open object
 *   upgrade-workers     new workers for every domain from the worker binary on
 *                       disk, as SIGHUP without a config; a progress line when
 *                       a domain's figures change, "done ..." once every new
 *                       worker is ready and every old one gone; an error after
 *                       CFS_CONTROL_UPGRADE_TIMEOUT_MS
 *   reexec              the new binary is checked first (its --check-config
 *                       with the running command line: the config, blob dirs,
 *                       worker binary); refused: an error naming what to fix,
 *                       and the supervisor keeps serving; else "re-executing
 *                       ...", then it re-executes its binary in place, as on
 *                       SIGUSR2 (status then shows a higher "starts")
 *   reload              the config file again, as SIGHUP; "reload: ...
 *                       applied ..." then ok, or an error naming file and
 *                       line (the running config stays)
 *
 * A request that is too long, unknown, not complete within
 * CFS_CONTROL_REQUEST_TIMEOUT_MS or followed by more bytes gets an error line
 * and the connection is closed; so does a peer whose uid is not 0. Strings
 * from the kernel (volume keys, cookies) are escaped: \xNN in text, \u00NN in
 * JSON, where a byte >= 0x80 stands for U+0080..U+00FF (cookies are bytes, not
 * UTF-8), so the output is ASCII and lossless.
 */
#ifndef CFS_CONTROL_PROTOCOL_H
#define CFS_CONTROL_PROTOCOL_H

#define CFS_CONTROL_DEFAULT_PATH "/run/cachefiles-supervisor/control"
#define CFS_CONTROL_REQUEST_MAX 256
#define CFS_CONTROL_REQUEST_TIMEOUT_MS 5000
#define CFS_CONTROL_UPGRADE_TIMEOUT_MS 30000
#define CFS_CONTROL_OK "ok"
#define CFS_CONTROL_ERROR "error: "

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The commands, in both programs' one spelling; the index is enum cfs_control_cmd. */
enum cfs_control_cmd { CONTROL_STATUS, CONTROL_OBJECTS, CONTROL_UPGRADE_WORKERS, CONTROL_REEXEC, CONTROL_RELOAD };
static const struct cfs_control_command {
	const char *name;
	bool takes_json; /* --json / a "json" word is allowed */
} cfs_control_commands[] = {
	[CONTROL_STATUS] = { "status", true },
	[CONTROL_OBJECTS] = { "objects", true },
	[CONTROL_UPGRADE_WORKERS] = { "upgrade-workers", false },
	[CONTROL_REEXEC] = { "reexec", false },
	[CONTROL_RELOAD] = { "reload", false },
};
#define CFS_CONTROL_N_COMMANDS (sizeof(cfs_control_commands) / sizeof(cfs_control_commands[0]))
#define CFS_CONTROL_COMMAND_LIST "status, objects, upgrade-workers, reexec or reload"

/* The command named by the n bytes at word, or -1. */
static inline int cfs_control_command_find(const char *word, size_t n)
{
	for (size_t i = 0; i < CFS_CONTROL_N_COMMANDS; i++)
		if (strlen(cfs_control_commands[i].name) == n && memcmp(word, cfs_control_commands[i].name, n) == 0)
			return (int)i;
	return -1;
}

#endif
