/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Log lines on a terminal are for a person: no "<3>" journald prefix there
 * (issue 20), while a pipe (journald's stream, a test's log) keeps it.
 */
#include <pty.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static const char *supervisor_bin;

/* Everything the child writes to FD until it is gone. */
static void read_all(int out_fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1 && (n = read(out_fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
}

static void exec_check(void)
{
	execl(supervisor_bin, supervisor_bin, "-c", "/nonexistent/test.conf", "--check-config", (char *)NULL);
	_exit(127);
}

static void terminal_gets_plain_lines(void)
{
	char buf[4096];
	int master, status;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);

	CHECK(pid >= 0);
	if (pid == 0)
		exec_check();
	read_all(master, buf, sizeof(buf)); /* EIO once the child is gone */
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK(strstr(buf, "cachefiles-supervisor: "));
	CHECK(!strstr(buf, "<3>"));
	close(master);
}

static void pipe_keeps_priorities(void)
{
	char buf[4096];
	int p[2], status;
	pid_t pid;

	CHECK(pipe(p) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		exec_check();
	}
	close(p[1]);
	read_all(p[0], buf, sizeof(buf));
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(strncmp(buf, "<3>cachefiles-supervisor: ", strlen("<3>cachefiles-supervisor: ")) == 0);
	close(p[0]);
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	supervisor_bin = argv[1];
	RUN(terminal_gets_plain_lines);
	RUN(pipe_keeps_priorities);
	return 0;
}
