/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker sandbox's settings, and (as root, where namespaces are
 * allowed) the state a child is left in by sandbox_apply_child().
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "sandbox.h"
#include "spawn.h"
#include "wire.h"

int cfs_log_max_priority = 7;

static void missing_or_root_user_is_refused(void)
{
	struct sandbox_settings sb = { .user = "cfs-no-such-user" };

	CHECK_EQ(sandbox_resolve_user(&sb), -ENOENT);
	sb.user = "root";
	CHECK_EQ(sandbox_resolve_user(&sb), -EPERM);
}

/* In the child: 0 if every property holds, else the number of the one that failed. */
static int sandboxed_child(const struct sandbox_settings *sb, pid_t parent)
{
	struct stat up, root;
	struct statvfs vfs;
	struct rlimit rl;
	int exe_fd = sandbox_apply_child(sb, "/proc/self/exe", parent);

	if (exe_fd < 0)
		return 1;
	if (getuid() != sb->uid || geteuid() != sb->uid || getgid() != sb->gid || getgroups(0, NULL) != 0)
		return 2;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 || prctl(PR_CAPBSET_READ, 0, 0, 0, 0) != 0)
		return 3;
	if (getrlimit(RLIMIT_NPROC, &rl) < 0 || rl.rlim_max != 0)
		return 4;
	if (access("/etc/passwd", F_OK) == 0 || statvfs("/", &vfs) < 0 || !(vfs.f_flag & ST_RDONLY))
		return 5;
	/* ".." of the blob dir is the worker's own root, not the host's. */
	if (fstatat(WORKER_BLOB_DIR_FD, "..", &up, 0) < 0 || stat("/", &root) < 0 || up.st_dev != root.st_dev ||
	    up.st_ino != root.st_ino)
		return 6;
	if (fork() >= 0)
		return 7; /* RLIMIT_NPROC 0 */
	return 0;
}

static void child_is_unprivileged_in_an_empty_root(void)
{
	struct sandbox_settings sb = { .user = "nobody" };
	pid_t parent = getpid(), pid;
	int status;

	if (geteuid() != 0 || sandbox_resolve_user(&sb) < 0 || unshare(0) < 0) {
		printf("# skipped: needs root and a 'nobody' user\n");
		return;
	}
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* The fd layout spawn.c leaves: 3 = a socket, 4 = the blob dir, nothing above. */
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0 || dup2(sv[0], WORKER_IPC_FD) < 0)
			_exit(100);
		int dir = open("/usr/share", O_PATH | O_DIRECTORY);
		if (dir < 0 || dup2(dir, WORKER_BLOB_DIR_FD) < 0 || syscall(SYS_close_range, 5, ~0U, 0) < 0)
			_exit(101);
		_exit(sandboxed_child(&sb, parent));
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		printf("# skipped: the sandbox cannot be built here (see its message above)\n");
		return;
	}
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

int main(void)
{
	RUN(missing_or_root_user_is_refused);
	RUN(child_is_unprivileged_in_an_empty_root);
	return 0;
}
