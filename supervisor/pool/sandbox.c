/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Privilege transitions of a worker, in the forked child, in a fixed order.
 * spawn.c has already made the child its own session and left it only
 * fds 0-4. Then, here:
 *   1. rlimits NOFILE and CORE (NPROC comes later, see 7);
 *   2. while still in the supervisor's mount namespace: an O_PATH fd of the
 *      worker binary and a detached clone of the blob dir's mount (a mount
 *      of another namespace cannot be bound into ours later);
 *   3. new mount, network, IPC and UTS namespaces;
 *   4. an empty read-only root: a tmpfs with only the library directories
 *      bound read-only and the blob dir read-only at /blobs, pivoted into;
 *      the old root is detached, fd 4 reopened on /blobs;
 *   5. no supplementary groups, gid and uid of the worker user (libcap-ng);
 *   6. every capability set emptied, bounding and ambient included;
 *   7. RLIMIT_NPROC 0;
 *   8. no_new_privs;
 *   9. parent-death signal, then the parent re-checked.
 * Root is needed up to 4 and dropped at 5; every step is verified after the
 * fact. Any failure writes one line saying what to fix and ends the child:
 * a worker never runs half-sandboxed.
 *
 * No PID namespace: unshare(CLONE_NEWPID) moves only later children, so the
 * worker itself would have to be clone()d into it and become its PID 1,
 * whose default-action signals from itself are ignored (abort() no longer
 * ends it) and whose getppid() is 0 (step 9 could not be checked). What it
 * would hide is hidden already: there is no /proc in the root, and the
 * seccomp allowlist has no kill, ptrace or pidfd calls.
 */
#include "sandbox.h"

#include <cap-ng.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "wire.h"

#define FIX_PRIVILEGES "run the supervisor as root (CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID, CAP_SETPCAP)"
#define FIX_NAMESPACES                                                                                 \
	"allow the supervisor to create namespaces (kernel CONFIG_NAMESPACES and *_NS; no seccomp or " \
	"RestrictNamespaces= setting forbidding them)"

int sandbox_lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	int r = getpwnam_r(name, &pw, buf, sizeof(buf), &found);

	if (r != 0)
		return -r;
	if (!found)
		return -ENOENT;
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	/* Sharing root's or our own ids, it could signal or trace the supervisor. */
	return pw.pw_uid == 0 || pw.pw_gid == 0 || pw.pw_uid == geteuid() ? -EPERM : 0;
}

int sandbox_resolve_user(struct sandbox_settings *sb)
{
	uid_t uid = 0;
	gid_t gid = 0;
	int r = sandbox_lookup_user(sb->user, &uid, &gid);

	if (r == -ENOENT) {
		log_error("worker user %s does not exist: create it (systemd-sysusers with "
			  "cachefiles-supervisor.sysusers, or useradd --system --no-create-home "
			  "--shell /usr/sbin/nologin %s) or name another one with --worker-user",
			  sb->user, sb->user);
		return r;
	}
	if (r == -EPERM) {
		log_error("worker user %s (uid %u, gid %u) must not be root or the supervisor's user", sb->user,
			  (unsigned)uid, (unsigned)gid);
		return r;
	}
	if (r < 0)
		return log_error_errno(r, "worker user %s: lookup failed", sb->user);
	sb->uid = uid;
	sb->gid = gid;
	return 0;
}

/* err 0: the call succeeded but the check after it did not see its effect. */
static _Noreturn void fail(const char *step, int err, const char *fix)
{
	log_error("worker sandbox: %s: %s; %s", step, err ? strerror(err) : "did not take effect", fix);
	_exit(127);
}

static void set_limit(int resource, const char *name, rlim_t value)
{
	struct rlimit want = { value, value }, got;

	if (setrlimit(resource, &want) < 0)
		fail(name, errno, "the supervisor may only lower its workers' limits: check its own limits");
	if (getrlimit(resource, &got) < 0 || got.rlim_cur != value || got.rlim_max != value)
		fail(name, 0, "check the supervisor's limits");
}

static const struct {
	int flag;
	const char *name;
} namespaces[] = {
	{ CLONE_NEWNS, "mnt" },
	{ CLONE_NEWNET, "net" },
	{ CLONE_NEWIPC, "ipc" },
	{ CLONE_NEWUTS, "uts" },
};

static void ns_stat(const char *name, struct stat *st)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	if (stat(path, st) < 0)
		fail("checking namespaces through /proc/self/ns", errno, "mount /proc in the supervisor's namespace");
}

/* Verified by the namespace inode: a new namespace has a new one. */
static void enter_namespaces(void)
{
	struct stat before[ARRAY_SIZE(namespaces)], after;
	int flags = 0;

	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++) {
		ns_stat(namespaces[i].name, &before[i]);
		flags |= namespaces[i].flag;
	}
	if (unshare(flags) < 0)
		fail("unshare(mount, network, IPC, UTS namespaces)", errno, FIX_NAMESPACES);
	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++) {
		ns_stat(namespaces[i].name, &after);
		if (after.st_ino == before[i].st_ino && after.st_dev == before[i].st_dev)
			fail(namespaces[i].name, 0, FIX_NAMESPACES);
	}
}

/* dst is relative to the new root, which is the current directory. */
static void bind_read_only(const char *src, const char *dst)
{
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		fail(dst, errno, "the worker root is a fresh tmpfs: report a bug");
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		fail(src, errno, FIX_PRIVILEGES);
}

/*
 * The worker is executed by fd, but its ELF interpreter and shared libraries
 * are opened by path inside the new root: only the library directories go
 * in (read-only), not /usr/bin, /etc or anything else. Symlinks (merged /usr:
 * /lib -> usr/lib) are copied as they are.
 */
static void add_library_dir(const char *path)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return;
		fail(path, errno, "the worker needs to see the system's library directories");
	}
	if (S_ISDIR(st.st_mode)) {
		bind_read_only(path, path + 1);
		return;
	}
	if (!S_ISLNK(st.st_mode))
		return;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		fail(path, errno, "the worker needs to see the system's library directories");
	target[n] = '\0';
	if (symlink(target, path + 1) < 0)
		fail(path, errno, "the worker root is a fresh tmpfs: report a bug");
}

/*
 * The loader's cache, read-only: without it ld.so probes a dozen paths per
 * library (measured: a third of the worker's start-up under TCG). It lists
 * library paths and nothing else.
 */
static void add_loader_cache(void)
{
	_cleanup_close_ int fd = -EBADF;

	if (access("/etc/ld.so.cache", R_OK) < 0)
		return;
	if (mkdir("etc", 0755) < 0)
		fail("mkdir /etc in the worker root", errno, "report a bug");
	fd = open("etc/ld.so.cache", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		fail("/etc/ld.so.cache in the worker root", errno, "report a bug");
	if (mount("/etc/ld.so.cache", "etc/ld.so.cache", NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, "etc/ld.so.cache", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		fail("/etc/ld.so.cache", errno, FIX_PRIVILEGES);
}

/* The blob dir, read-only, from the clone taken before unshare(). */
static void attach_blob_tree(int blob_tree)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
	};

	if (mkdir("blobs", 0755) < 0)
		fail("mkdir /blobs in the worker root", errno, "report a bug");
	if (mount_setattr(blob_tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		fail("making the blob dir read-only for workers", errno, "the kernel must have mount_setattr (5.12)");
	if (move_mount(blob_tree, "", AT_FDCWD, "blobs", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		fail("mounting the blob dir in the worker root", errno, FIX_PRIVILEGES);
}

static void build_root(int blob_tree)
{
	static const char *const library_dirs[] = {
		"/usr/lib", "/usr/lib64", "/lib", "/lib64", "/lib32", "/usr/lib32"
	};

	/* The supervisor may run with UMask=0077 (the unit sets it): the dirs made
	 * here must stay traversable by the worker user, or exec fails EACCES. */
	umask(0022);
	/* Nothing we mount may leak back into the supervisor's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail("making mounts private", errno, FIX_PRIVILEGES);
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=16k,nr_inodes=32") < 0 ||
	    chdir("/tmp") < 0)
		fail("a tmpfs for the worker root on /tmp", errno, "the supervisor needs a /tmp directory and tmpfs");
	if (mkdir("usr", 0755) < 0)
		fail("mkdir /usr in the worker root", errno, "report a bug");
	for (size_t i = 0; i < ARRAY_SIZE(library_dirs); i++)
		add_library_dir(library_dirs[i]);
	add_loader_cache();
	attach_blob_tree(blob_tree);
	/* pivot_root(2): with new and old root the same, the old one is stacked on top and detached at once. */
	if (syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		fail("pivot_root into the worker root", errno, FIX_PRIVILEGES);
	if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		fail("making the worker root read-only", errno, FIX_PRIVILEGES);
}

/* fd 4 still points into the supervisor's namespace, where "../" leads anywhere: swap it for /blobs. */
static void reopen_blob_dir(const struct stat *before)
{
	struct statvfs root_vfs, blob_vfs;
	struct stat st;
	int fd = open("/blobs", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || dup2(fd, WORKER_BLOB_DIR_FD) < 0)
		fail("reopening the blob dir in the worker root", errno, "report a bug");
	close(fd);
	if (fstat(WORKER_BLOB_DIR_FD, &st) < 0 || st.st_dev != before->st_dev || st.st_ino != before->st_ino)
		fail("the blob dir in the worker root is not the supervisor's", 0, "report a bug");
	if (statvfs("/", &root_vfs) < 0 || !(root_vfs.f_flag & ST_RDONLY) ||
	    fstatvfs(WORKER_BLOB_DIR_FD, &blob_vfs) < 0 || !(blob_vfs.f_flag & ST_RDONLY))
		fail("read-only worker root and blob dir", 0, FIX_PRIVILEGES);
	if (access("/etc/passwd", F_OK) == 0 || access("/proc", F_OK) == 0 || access("/tmp", F_OK) == 0)
		fail("hiding the host's root from the worker", 0, "report a bug");
}

static void change_ids(const struct sandbox_settings *sb)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	int r;

	/* Nothing to keep: an empty state makes change_id apply empty sets after the switch. */
	capng_clear(CAPNG_SELECT_ALL);
	r = capng_change_id((int)sb->uid, (int)sb->gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	if (r < 0) {
		char step[96];
		snprintf(step, sizeof(step), "switching to user %s (capng_change_id returned %d)", sb->user, r);
		fail(step, errno, FIX_PRIVILEGES);
	}
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0 || ruid != sb->uid ||
	    euid != sb->uid || suid != sb->uid || rgid != sb->gid || egid != sb->gid || sgid != sb->gid ||
	    getgroups(0, NULL) != 0)
		fail("switching uid, gid and groups", 0, FIX_PRIVILEGES);
}

/* The setuid() above already emptied permitted and effective; this makes sure of all five sets. */
static void drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	capng_clear(CAPNG_SELECT_CAPS);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 || capng_apply(CAPNG_SELECT_CAPS) < 0)
		fail("clearing capabilities", errno, "report a bug");
	if (syscall(SYS_capget, &hdr, data) < 0)
		fail("reading capabilities back", errno, "report a bug");
	for (size_t i = 0; i < ARRAY_SIZE(data); i++)
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			fail("clearing effective, permitted and inheritable capabilities", 0, "report a bug");
	for (unsigned long cap = 0;; cap++) {
		int bounding = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (bounding < 0)
			break; /* EINVAL: past the kernel's last capability */
		if (bounding || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) != 0)
			fail("clearing bounding and ambient capabilities", 0, FIX_PRIVILEGES);
	}
}

static void set_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("no_new_privs", errno, "report a bug");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fail("no_new_privs", 0, "report a bug");
}

/* A credential change clears the parent-death signal: it is set last. */
static void die_with_parent(pid_t parent)
{
	int sig = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) < 0 ||
	    sig != SIGKILL)
		fail("parent-death signal", errno, "report a bug");
	/* The supervisor may have died before prctl() ran: then nobody would kill us. */
	if (getppid() != parent)
		_exit(127);
}

int sandbox_apply_child(const struct sandbox_settings *sb, const char *worker_exe, pid_t parent)
{
	struct stat blob_dir;
	int exe_fd, blob_tree;

	set_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", SANDBOX_NOFILE);
	set_limit(RLIMIT_CORE, "RLIMIT_CORE", 0);

	exe_fd = open(worker_exe, O_PATH | O_CLOEXEC);
	if (exe_fd < 0)
		fail(worker_exe, errno, "check --worker-exe");
	if (fstat(WORKER_BLOB_DIR_FD, &blob_dir) < 0)
		fail("the blob dir fd", errno, "report a bug");
	blob_tree = open_tree(WORKER_BLOB_DIR_FD, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (blob_tree < 0)
		fail("cloning the blob dir mount", errno, FIX_PRIVILEGES "; the kernel must have open_tree (5.2)");

	enter_namespaces();
	build_root(blob_tree);
	close(blob_tree);
	reopen_blob_dir(&blob_dir);

	change_ids(sb);
	drop_capabilities();
	/*
	 * Only now: set*uid() flags a user over RLIMIT_NPROC and execve() then
	 * fails EAGAIN, and every worker shares one user. From here on the
	 * worker can create no process at all.
	 */
	set_limit(RLIMIT_NPROC, "RLIMIT_NPROC", 0);
	set_no_new_privs();
	die_with_parent(parent);
	return exe_fd;
}
