/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CFS_ATOMIC_FILE_H
#define CFS_ATOMIC_FILE_H

#include <stddef.h>

/*
 * Replaces path with data in one step: a reader (node_exporter's textfile
 * collector, a worker opening a blob descriptor) sees the old file or the
 * new one, never a partial one. The data goes to a temporary file beside
 * it first, mode 0644, whose name (path + ".XXXXXX") ends neither in .prom
 * nor in .desc, so neither reader takes it; then it is renamed over path.
 * Returns 0 or -errno (the temporary file is gone then).
 */
int atomic_file_write(const char *path, const void *data, size_t len);

#endif
