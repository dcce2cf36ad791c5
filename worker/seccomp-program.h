/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The allowlist as a finished program (syscall_filter_export()), loaded
 * without libseccomp: the supervisor hands one to each new worker.
 */
#ifndef CFS_WORKER_SECCOMP_PROGRAM_H
#define CFS_WORKER_SECCOMP_PROGRAM_H

/*
 * Reads the program at fd (from offset 0), puts this process's pid where
 * the placeholder is and loads it (no_new_privs must be set). Returns 0, or
 * -errno, logged, with nothing loaded.
 */
int seccomp_program_install(int fd);

#endif
