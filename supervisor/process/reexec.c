/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "reexec.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cfs-log.h"
#include "fdstore.h"
#include "pool.h"

struct passed {
	int *fds;
	char *names; /* ':'-joined, as LISTEN_FDNAMES wants */
	size_t n, names_len, names_cap;
};

static int pass_fd(void *ctx, int fd, const char *name)
{
	struct passed *p = ctx;
	size_t len = strlen(name) + 1;

	if (p->names_len + len + 1 > p->names_cap) {
		size_t cap = (p->names_cap + len) * 2 + 64;
		char *names = realloc(p->names, cap);
		if (!names)
			return -ENOMEM;
		p->names = names;
		p->names_cap = cap;
	}
	int *fds = realloc(p->fds, (p->n + 1) * sizeof(int));
	if (!fds)
		return -ENOMEM;
	p->fds = fds;
	p->fds[p->n++] = fd;
	p->names_len += (size_t)sprintf(p->names + p->names_len, "%s%s", p->names_len ? ":" : "", name);
	return 0;
}

/* Puts the passed fds at 3, 4, ... without clobbering one with another. */
static int move_into_place(struct passed *p)
{
	for (size_t i = 0; i < p->n; i++) {
		int high = fcntl(p->fds[i], F_DUPFD_CLOEXEC, (int)(SD_LISTEN_FDS_START + p->n));
		if (high < 0)
			return -errno;
		p->fds[i] = high;
	}
	for (size_t i = 0; i < p->n; i++)
		if (dup2(p->fds[i], SD_LISTEN_FDS_START + (int)i) < 0) /* dup2 clears close-on-exec */
			return -errno;
	return 0;
}

int supervisor_reexec(struct supervisor *s)
{
	struct passed p = { 0 };
	char num[32];
	int r;

	notify_text("RELOADING=1\nSTATUS=re-executing");
	for (unsigned i = 0; i < s->n_domains; i++)
		pool_stop(s, &s->domains[i]);
	r = s->transport->hand_over(s, pass_fd, &p);
	if (r == 0)
		r = move_into_place(&p);
	if (r < 0)
		return log_error_errno(r, "re-exec: cannot pass fds");
	snprintf(num, sizeof(num), "%d", (int)getpid());
	setenv("LISTEN_PID", num, 1);
	snprintf(num, sizeof(num), "%zu", p.n);
	setenv("LISTEN_FDS", num, 1);
	setenv("LISTEN_FDNAMES", p.names, 1);
	log_notice("re-exec: passing %zu fds (%s transport) to %s", p.n, s->transport->name, s->self_exe);
	/* A queued fd store push dies with this image: the store must be right for a later crash. */
	if (fdstore_flush(FDSTORE_FLUSH_EXIT_MS) > 0)
		log_warning("re-exec: %u notifications to systemd not taken within %d ms", fdstore_pending(),
			    FDSTORE_FLUSH_EXIT_MS);
	fflush(NULL);
	execv(s->self_exe, s->argv);
	r = -errno;
	log_error_errno(r, "re-exec of %s failed; restarting the running image", s->self_exe);
	/* The old image is still mapped: better it than losing every fd. */
	execv("/proc/self/exe", s->argv);
	return log_error_errno(-errno, "re-exec of /proc/self/exe failed too");
}
