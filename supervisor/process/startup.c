/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "startup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define WAIT_BACKOFF_MIN_MS 1000
#define WAIT_BACKOFF_MAX_MS 60000
#define WAIT_CLIENT_TIMEOUT_MS 1000

#include "cfs-control.h"
#include "cfs-log.h"
#include "control-request.h"
#include "control-socket.h"
#include "domains.h"
#include "fdstore.h"
#include "loop.h"
#include "pool.h"
#include "program-export.h"

int supervisor_startup(struct supervisor *s)
{
	uint64_t t0 = now_ms();
	int recovered, r;

	s->started_ms = t0;
	recovered = s->transport->start(s);
	if (recovered < 0)
		return recovered;
	s->recovered = (unsigned)recovered;
	r = loop_setup(s);
	/* Side by side, before any worker: pool_start() waits for each. */
	for (unsigned i = 0; r == 0 && i < s->n_domains; i++)
		if (s->domains[i].state == DOMAIN_ACTIVE)
			program_export_start(s, &s->domains[i]);
	for (unsigned i = 0; r == 0 && i < s->n_domains; i++)
		if (s->domains[i].state == DOMAIN_ACTIVE) /* not one domains_prepare() left out */
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

bool startup_may_wait(void)
{
	const char *fds = getenv("LISTEN_FDS");

	return fdstore_available() || (fds && *fds);
}

struct waiting {
	int signal_fd, listen_fd;
	uint64_t backoff_ms, next_try_ms, watchdog_usec;
	bool try_now, stop;
};

static void announce(const struct waiting *w)
{
	char status[768];

	log_error("not serving: %s; fix it, then `systemctl reload` (or SIGHUP); retrying in %" PRIu64 " s",
		  domains_refusal(), w->backoff_ms / 1000);
	snprintf(status, sizeof(status), "READY=1\nSTATUS=not serving: %s; fix it, then systemctl reload",
		 domains_refusal());
	notify_text(status);
}

static void send_line(int fd, const char *line)
{
	(void)send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* One request line within WAIT_CLIENT_TIMEOUT_MS, or NULL. */
static bool read_request(int fd, struct control_request *req)
{
	char line[CFS_CONTROL_REQUEST_MAX];
	size_t len = 0;
	const char *why;

	while (len < sizeof(line)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		char *nl;
		if (poll(&p, 1, WAIT_CLIENT_TIMEOUT_MS) != 1)
			return false;
		n = recv(fd, line + len, sizeof(line) - len, MSG_DONTWAIT);
		if (n <= 0)
			return false;
		len += (size_t)n;
		nl = memchr(line, '\n', len);
		if (nl)
			return control_parse_request(line, (size_t)(nl - line), req, &why) == 0;
	}
	return false;
}

/* A cachefilesctl client while we wait: `reload` retries and gets the verdict, the rest hear why we wait. */
static int serve_waiting_client(struct supervisor *s, struct waiting *w,
				int (*retry)(struct supervisor *, const void *), const void *ctx)
{
	char line[768];
	struct control_request req;
	int fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), r = -EAGAIN;
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (fd < 0)
		return -EAGAIN;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || uc.uid != 0) {
		send_line(fd, CFS_CONTROL_ERROR "permission denied: the control socket is for root only\n");
	} else if (read_request(fd, &req) && (req.cmd == CONTROL_RELOAD || req.cmd == CONTROL_REEXEC)) {
		log_notice("control: %s requested while not serving: trying again", cfs_control_commands[req.cmd].name);
		r = retry(s, ctx);
		if (r == 0)
			snprintf(line, sizeof(line), "valid now: starting to serve\n" CFS_CONTROL_OK "\n");
		else
			snprintf(line, sizeof(line), CFS_CONTROL_ERROR "refused: %s\n", domains_refusal());
		send_line(fd, line);
	} else {
		snprintf(line, sizeof(line), CFS_CONTROL_ERROR "not serving: %s; fix it, then reload\n",
			 domains_refusal());
		send_line(fd, line);
	}
	close(fd);
	return r;
}

static void on_waiting_signal(struct waiting *w)
{
	struct signalfd_siginfo si;

	while (read(w->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_notice("signal %s while not serving: exiting", sigabbrev_np((int)si.ssi_signo));
			w->stop = true;
		} else if (si.ssi_signo == SIGHUP || si.ssi_signo == SIGUSR2) {
			w->try_now = true;
		}
	}
}

static int wait_timeout_ms(const struct waiting *w)
{
	uint64_t now = now_ms(), ms = w->next_try_ms > now ? w->next_try_ms - now : 0;

	if (w->watchdog_usec && ms > w->watchdog_usec / 2000)
		ms = w->watchdog_usec / 2000;
	return (int)ms;
}

int startup_wait_until_valid(struct supervisor *s, int (*retry)(struct supervisor *s, const void *ctx), const void *ctx)
{
	struct waiting w = { .listen_fd = -1, .backoff_ms = WAIT_BACKOFF_MIN_MS };
	sigset_t mask;
	int r = -EAGAIN;

	loop_signals(&mask);
	w.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (w.signal_fd < 0)
		return log_error_errno(-errno, "signalfd failed"), 1;
	if (sd_watchdog_enabled(0, &w.watchdog_usec) <= 0)
		w.watchdog_usec = 0;
	if (s->cfg.control_path && s->cfg.control_path[0])
		w.listen_fd = control_socket_listen(s->cfg.control_path, 4);
	w.next_try_ms = now_ms() + w.backoff_ms;
	announce(&w);
	while (r < 0 && !w.stop) {
		struct pollfd p[2] = { { .fd = w.signal_fd, .events = POLLIN },
				       { .fd = w.listen_fd, .events = POLLIN } };
		(void)poll(p, w.listen_fd >= 0 ? 2 : 1, wait_timeout_ms(&w));
		if (w.watchdog_usec)
			notify_text("WATCHDOG=1");
		(void)fdstore_flush(0);
		if (p[0].revents)
			on_waiting_signal(&w);
		if (w.listen_fd >= 0 && p[1].revents)
			r = serve_waiting_client(s, &w, retry, ctx);
		if (r == 0 || w.stop)
			break;
		if (w.try_now || now_ms() >= w.next_try_ms) {
			w.try_now = false;
			r = retry(s, ctx);
			if (r == 0)
				break;
			w.backoff_ms = w.backoff_ms * 2 > WAIT_BACKOFF_MAX_MS ? WAIT_BACKOFF_MAX_MS : w.backoff_ms * 2;
			w.next_try_ms = now_ms() + w.backoff_ms;
			announce(&w);
		}
	}
	close(w.signal_fd);
	if (w.listen_fd >= 0)
		close(w.listen_fd);
	if (w.stop)
		return 0;
	log_notice("the config is valid now: starting to serve");
	return -1;
}
