/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Why an exporter, not a worker, writes the program: a worker has taken
 * requests, and what it wrote could no longer be trusted to confine the
 * next one. The exporter runs the same binary in the same sandbox with no
 * request ever sent to it, exits after writing, and no worker of its
 * generation starts before it is gone (so `children` in the tests and
 * the ready count never see it beside them): at start the supervisor waits
 * for it (nothing is served before the first workers anyway), later the
 * new generation's slots wait while the old generation serves. Workers check that their
 * binary is still the one exported from (spawn.c), and load the program
 * themselves; the kernel checks it then, as any filter.
 */
#include "program-export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "spawn.h"

/* BPF_MAXINSNS instructions of 8 bytes: the kernel's limit for one filter. */
#define PROGRAM_MAX_BYTES (4096 * 8)

/* The exporter's pidfd leaves epoll, the process is reaped; status as waitid() gives it. */
static void end_exporter(struct supervisor *s, struct worker_program *p, siginfo_t *si)
{
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, p->exporter_pidfd, NULL);
	if (waitid(P_PIDFD, (id_t)p->exporter_pidfd, si, WEXITED) < 0)
		si->si_code = 0;
	close(p->exporter_pidfd);
	p->exporter_pidfd = -EBADF;
	p->exporter = 0;
}

void program_export_stop(struct supervisor *s, struct domain *d)
{
	struct worker_program *p = &d->program;
	bool holds_fd = p->exporter || p->ready; /* all zero is "none": fd 0 is not ours */
	siginfo_t si;

	if (p->exporter) {
		syscall(SYS_pidfd_send_signal, p->exporter_pidfd, SIGKILL, NULL, 0);
		end_exporter(s, p, &si);
	}
	if (holds_fd)
		close(p->fd);
	p->fd = -EBADF;
	p->ready = false;
}

void program_export_start(struct supervisor *s, struct domain *d)
{
	struct worker_program *p = &d->program;
	struct epoll_event ev = { .events = EPOLLIN };
	struct spawn_plan plan = { .export = true };
	int sock, r;

	program_export_stop(s, d);
	/* A remote domain's workers (another binary, dynamic: their start is dominated by ld.so) compile their own. */
	if (d->settings.seccomp_log || !s->cfg.worker_exe || d->settings.remote.origin.kind != ORIGIN_NONE)
		return;
	if (stat(s->cfg.worker_exe, &p->exe) < 0)
		return; /* the workers' own start says what is wrong with it */
	plan.program_fd = memfd_create("cachefiles-seccomp-program", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (plan.program_fd < 0) {
		log_warning_errno(-errno, "domain %s: no memfd for the seccomp program: workers compile their own",
				  d->name);
		return;
	}
	r = spawn_worker(&s->cfg, d, &plan, &p->exporter, &p->exporter_pidfd, &sock);
	if (r < 0) {
		close(plan.program_fd);
		return;
	}
	close(sock); /* an exporter says nothing */
	p->fd = plan.program_fd;
	p->started_ms = now_ms();
	p->deadline_ms = p->started_ms + PROGRAM_EXPORT_TIMEOUT_MS;
	ev.data.u64 = EV_TAG(EV_PROGRAM_EXPORT, (unsigned)(d - s->domains), 0);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, p->exporter_pidfd, &ev);
}

/* Sealed, so no worker it is handed to can change it for the next one. */
static int seal_program(const struct domain *d, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > PROGRAM_MAX_BYTES || st.st_size % 8 != 0) {
		log_warning("domain %s: the worker binary exported no usable seccomp program", d->name);
		return -EBADMSG;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return log_warning_errno(-errno, "domain %s: cannot seal the seccomp program", d->name);
	return 0;
}

void program_export_on_exit(struct supervisor *s, struct domain *d)
{
	struct worker_program *p = &d->program;
	siginfo_t si = { 0 };
	struct stat now;
	char why[64];

	if (!p->exporter)
		return;
	end_exporter(s, p, &si);
	snprintf(why, sizeof(why), "%s %d", si.si_code == CLD_EXITED ? "exit status" : "signal", si.si_status);
	p->ready = si.si_code == CLD_EXITED && si.si_status == 0 && seal_program(d, p->fd) == 0;
	/* Replaced while it ran: which binary wrote it is unknown. */
	if (p->ready && (stat(s->cfg.worker_exe, &now) < 0 || !spawn_same_binary(&now, &p->exe))) {
		p->ready = false;
		snprintf(why, sizeof(why), "replaced on disk meanwhile");
	}
	if (!p->ready) {
		close(p->fd);
		p->fd = -EBADF;
		log_warning("domain %s: %s did not export its seccomp program (%s): each worker compiles its own",
			    d->name, s->cfg.worker_exe, why);
		return;
	}
	log_info("domain %s: seccomp program of %s exported in %" PRIu64 " ms", d->name, s->cfg.worker_exe,
		 now_ms() - p->started_ms);
}

static void kill_late_exporter(struct supervisor *s, struct domain *d)
{
	log_warning("domain %s: the seccomp program export still runs after %u ms: killed, workers compile their own",
		    d->name, PROGRAM_EXPORT_TIMEOUT_MS);
	program_export_stop(s, d);
}

bool program_export_pending(struct supervisor *s, struct domain *d, uint64_t now)
{
	struct worker_program *p = &d->program;

	if (!p->exporter)
		return false;
	if (now < p->deadline_ms)
		return true;
	kill_late_exporter(s, d);
	return false;
}

void program_export_wait(struct supervisor *s, struct domain *d)
{
	struct worker_program *p = &d->program;
	struct pollfd pfd = { .fd = p->exporter_pidfd, .events = POLLIN };
	uint64_t now = now_ms();

	if (!p->exporter)
		return;
	/* Signals wait in the signalfd (blocked), so no EINTR: 0 is the deadline. */
	if (poll(&pfd, 1, now < p->deadline_ms ? (int)(p->deadline_ms - now) : 0) == 1)
		program_export_on_exit(s, d);
	else
		kill_late_exporter(s, d);
}

int program_export_fd(const struct domain *d)
{
	return d->program.ready ? d->program.fd : -1;
}
