/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "reexec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
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

/* Linux's MAX_ARG_STRLEN, for "LISTEN_FDNAMES=" + the names + NUL. */
#define REEXEC_FD_SPARE 256 /* beyond the passed fds twice: the loop's own, workers' sockets and pidfds */
#define ENV_STRING_MAX (32u * 4096u)

struct counted {
	size_t n, names_len;
};

static int count_fd(void *ctx, int fd, const char *name)
{
	struct counted *c = ctx;

	c->names_len += strlen(name) + (c->n ? 1 : 0);
	c->n++;
	return 0;
}

int reexec_fits(struct supervisor *s, char *why, size_t size)
{
	struct counted c = { 0 };
	struct rlimit rl;
	size_t len;

	(void)s->transport->hand_over(s, count_fd, &c);
	/* move_into_place() holds every passed fd twice for a moment. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2 * c.n + REEXEC_FD_SPARE) {
		snprintf(why, size,
			 "re-exec refused, still serving: passing %zu fds needs %zu open at once, over the fd limit "
			 "(RLIMIT_NOFILE) of %llu; raise LimitNOFILE= or ulimit -n",
			 c.n, 2 * c.n + REEXEC_FD_SPARE, (unsigned long long)rl.rlim_cur);
		log_error("%s", why);
		return -EMFILE;
	}
	len = strlen("LISTEN_FDNAMES=") + c.names_len + 1;
	if (len <= ENV_STRING_MAX)
		return 0;
	snprintf(why, size,
		 "re-exec refused, still serving: the names of the %zu fds to pass make a LISTEN_FDNAMES of %zu "
		 "bytes, over Linux's %u for one environment string (fewer objects open would fit)",
		 c.n, len, ENV_STRING_MAX);
	log_error("%s", why);
	return -E2BIG;
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

/* The running command line and --check-config, NULL-terminated. */
static char **check_argv(char **argv)
{
	size_t n = 0;
	char **v;

	while (argv[n])
		n++;
	v = calloc(n + 2, sizeof(*v));
	if (!v)
		return NULL;
	memcpy(v, argv, n * sizeof(*v));
	v[n] = (char *)"--check-config";
	return v;
}

/* Everything the check printed, up to size - 1 bytes, within the timeout; false if it did not end. */
static bool collect(int fd, char *out, size_t size)
{
	uint64_t deadline = now_ms() + REEXEC_CHECK_TIMEOUT_MS;
	size_t len = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ms();
		char discard[512];
		ssize_t n;
		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) == 0) {
			out[len] = '\0';
			return false;
		}
		if (len < size - 1)
			n = read(fd, out + len, size - 1 - len);
		else
			n = read(fd, discard, sizeof(discard));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len < size - 1)
			len += (size_t)n;
	}
	out[len] = '\0';
	return true;
}

/* Logs what the check printed; why gets its first error line without the "<3>name: " prefix. */
static void take_output(char *out, char *why, size_t size)
{
	bool found = false;

	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char *text = line;
		bool error = strncmp(line, "<3>", 3) == 0;
		if (line[0] == '<' && strchr(line, ' '))
			text = strchr(line, ' ') + 1;
		log_full_errno(error ? LOG_ERR : LOG_NOTICE, 0, "re-exec check: %s", text);
		if (error && !found) {
			snprintf(why, size, "re-exec refused, still serving: %s", text);
			found = true;
		}
	}
}

int reexec_check(struct supervisor *s, char *why, size_t size)
{
	_cleanup_free_ char **argv = check_argv(s->argv);
	_cleanup_close_ int rd = -EBADF;
	int pipefd[2], status = 0;
	bool ended;
	static char out[16384];
	pid_t pid;

	snprintf(why, size, "re-exec refused, still serving: the check of %s failed (see the log)", s->self_exe);
	if (!argv || pipe2(pipefd, O_CLOEXEC) < 0)
		return log_error_errno(-ENOMEM, "re-exec check: cannot start it");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return log_error_errno(-errno, "re-exec check: fork failed");
	}
	if (pid == 0) {
		/* dup2 clears close-on-exec on 1 and 2; every other fd of ours has it. */
		if (dup2(pipefd[1], STDOUT_FILENO) >= 0 && dup2(pipefd[1], STDERR_FILENO) >= 0)
			execv(s->self_exe, argv);
		dprintf(STDERR_FILENO, "<3>%s: cannot execute %s: %s\n", program_invocation_short_name, s->self_exe,
			strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	rd = pipefd[0];
	ended = collect(rd, out, sizeof(out));
	if (!ended)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	take_output(out, why, size);
	if (!ended) {
		snprintf(why, size, "re-exec refused, still serving: %s --check-config did not finish within %d s",
			 s->self_exe, REEXEC_CHECK_TIMEOUT_MS / 1000);
		return log_error_errno(-ETIMEDOUT, "%s", why + strlen("re-exec refused, still serving: "));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	log_error("%s", why);
	return -EINVAL;
}
