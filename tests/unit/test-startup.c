/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a parent leaves the supervisor (issue 17, items 4 and 10): started
 * with fds 0-2 closed, SIGCHLD ignored and signals blocked, it must end up
 * with /dev/null on 0-2 (so the next fd it opens is not 2, where log lines
 * go), SIGCHLD at its default, so waitid(P_PIDFD) sees its children die,
 * and exactly the loop's signals blocked.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "loop.h"
#include "startup.h"

int cfs_log_max_priority = 3;

static bool is_dev_null(int fd)
{
	struct stat st, null;

	return fstat(fd, &st) == 0 && stat("/dev/null", &null) == 0 && st.st_rdev == null.st_rdev &&
	       S_ISCHR(st.st_mode);
}

static void test_inherited_mess_is_cleaned_up(void)
{
	int saved = fcntl(2, F_DUPFD_CLOEXEC, 10), pidfd, next;
	struct sigaction sa;
	sigset_t all, mask, want;
	siginfo_t si = { 0 };
	pid_t pid;

	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	close(0);
	close(1);
	close(2);

	CHECK_EQ(startup_sanitize_process(), 0);
	next = open("/dev/null", O_RDONLY | O_CLOEXEC);
	dup2(saved, 2); /* CHECK speaks on stderr */
	CHECK(is_dev_null(0) && is_dev_null(1));
	CHECK(next > 2);
	close(next);

	CHECK(sigaction(SIGCHLD, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
	CHECK(sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	loop_signals(&want);
	for (int sig = 1; sig < SIGRTMIN; sig++)
		CHECK_EQ(sigismember(&mask, sig), sigismember(&want, sig));

	/* What the pool does with a worker: a death it can wait for. */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(7);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	CHECK(pidfd >= 0);
	CHECK_EQ(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
	CHECK_EQ(si.si_status, 7);
}

int main(void)
{
	RUN(test_inherited_mess_is_cleaned_up);
	return 0;
}
