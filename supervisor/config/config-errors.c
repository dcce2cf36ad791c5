/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The list of errors a config load or a command line produces: bounded,
 * sorted by line, logged by the caller when it wants them.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "cfs-log.h"
#include "config-keys.h"

void config_errors_add(struct config_errors *e, const char *path, unsigned line, const char *fmt, ...)
{
	struct config_error *err;
	va_list ap;
	int n = 0;

	if (e->n == CONFIG_MAX_ERRORS) {
		e->dropped++;
		return;
	}
	err = &e->list[e->n++];
	err->line = line;
	if (path)
		n = line ? snprintf(err->text, sizeof(err->text), "%s:%u: ", path, line)
			 : snprintf(err->text, sizeof(err->text), "%s: ", path);
	if (n < 0 || (size_t)n >= sizeof(err->text))
		return;
	va_start(ap, fmt);
	vsnprintf(err->text + n, sizeof(err->text) - (size_t)n, fmt, ap);
	va_end(ap);
}

void config_errors_sort(struct config_errors *e)
{
	/* Stable insertion sort: line order, whole-file errors (line 0) last. */
	for (unsigned i = 1; i < e->n; i++) {
		struct config_error tmp = e->list[i];
		unsigned key = tmp.line ? tmp.line : UINT32_MAX, j = i;
		for (; j > 0 && (e->list[j - 1].line ? e->list[j - 1].line : UINT32_MAX) > key; j--)
			e->list[j] = e->list[j - 1];
		e->list[j] = tmp;
	}
}

int config_errors_log(const struct config_errors *errs)
{
	for (unsigned i = 0; i < errs->n; i++)
		log_error("%s", errs->list[i].text);
	if (errs->dropped > 0)
		log_error("... and %u more errors", errs->dropped);
	return errs->n > 0 ? -EINVAL : 0;
}
