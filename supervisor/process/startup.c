/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "startup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cfs-log.h"
#include "loop.h"
#include "pool.h"

int supervisor_startup(struct supervisor *s)
{
	uint64_t t0 = now_ms();
	int recovered, r;

	s->started_ms = t0;
	recovered = s->transport->start(s);
	if (recovered < 0)
		return recovered;
	r = loop_setup(s);
	for (unsigned i = 0; r == 0 && i < s->n_domains; i++)
		r = pool_start(s, &s->domains[i]);
	if (r < 0)
		return r;
	log_notice("cachefiles-supervisor %s serving cache %s (tag %s): %s, start %u, %d objects recovered, "
		   "in %" PRIu64 " ms",
		   CFS_VERSION, s->cfg.cache_dir, s->cfg.tag, s->resumed ? "device recovered" : "fresh bind", s->starts,
		   recovered, now_ms() - t0);
	return 0;
}

static int open_missing_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int null;
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* The lowest free fd: this one, since the ones below it are open by now. */
		null = open("/dev/null", O_RDWR);
		if (null < 0)
			return -errno;
		if (null != fd) {
			int r = dup2(null, fd) < 0 ? -errno : 0;
			close(null);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int startup_sanitize_process(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t mask;
	int r = open_missing_stdio();

	loop_signals(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL); /* EINVAL for the real-time ones glibc keeps: fine */
	if (r < 0)
		return log_error_errno(r, "Cannot open /dev/null for a closed fd 0, 1 or 2");
	return 0;
}
