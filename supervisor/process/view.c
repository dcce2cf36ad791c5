/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "view.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cfs-clock.h"
#include "cfs-log.h"
#include "cfs-util.h"

/* Set to our mount namespace's inode once built: a re-exec finds it there. */
#define VIEW_ENV "CFS_PRIVATE_VIEW"
#define FIX_VIEW                                                                                     \
	"the supervisor needs CAP_SYS_ADMIN, mount namespaces (RestrictNamespaces= must allow mnt) " \
	"and the mount syscalls (open_tree, move_mount, mount_setattr: Linux 5.12); or run it "      \
	"without --private-view"

static const char *const hidden_roots[] = { "/home", "/root", "/run/user", "/tmp", "/var/tmp", "/usr/lib/modules" };
static const char *const dev_nodes[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom" };

enum kind {
	KEEP_WRITABLE, /* a dir we write: rw, nosuid, nodev, noexec */
	KEEP_READ,     /* a dir we read under a hidden root: read-only, with its submounts */
	KEEP_DEVICE,   /* a device node for the new /dev */
};

/* A mount cloned before the tree went read-only or was covered, attached again on top. */
struct kept {
	const char *path;
	int tree; /* detached mount (open_tree clone); -1 once attached */
	bool writable;
};

struct plan {
	struct kept dirs[VIEW_MAX_PATHS + ARRAY_SIZE(((struct view_paths *)0)->writable)];
	unsigned n_dirs;
	struct kept dev[ARRAY_SIZE(dev_nodes) + 1];
	unsigned n_dev;
};

static int mnt_ns_inode(uint64_t *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/mnt", &st) < 0)
		return -errno;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

bool view_is_built(void)
{
	const char *mark = getenv(VIEW_ENV);
	char want[24];
	uint64_t ino = 0;

	if (!mark || mnt_ns_inode(&ino) < 0)
		return false;
	snprintf(want, sizeof(want), "%" PRIu64, ino);
	return strcmp(mark, want) == 0;
}

static bool is_under(const char *path, const char *root)
{
	size_t n = strlen(root);

	return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static const char *hidden_root_of(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(hidden_roots); i++)
		if (is_under(path, hidden_roots[i]))
			return hidden_roots[i];
	return NULL;
}

static const struct mount_attr kind_attr[] = {
	[KEEP_WRITABLE] = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
			    .attr_clr = MOUNT_ATTR_RDONLY },
	[KEEP_READ] = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV },
	[KEEP_DEVICE] = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, .attr_clr = MOUNT_ATTR_RDONLY },
};

/* Clones PATH's mount into K (detached), with the attributes of its kind. */
static int keep(struct kept *k, unsigned *n, const char *path, enum kind kind)
{
	struct mount_attr attr = kind_attr[kind];
	unsigned rec = kind == KEEP_READ ? AT_RECURSIVE : 0;
	int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);

	if (fd < 0)
		return log_error_errno(-errno, "private view: cannot clone the mount of %s", path);
	if (mount_setattr(fd, "", AT_EMPTY_PATH | rec, &attr, sizeof(attr)) < 0) {
		int r = log_error_errno(-errno, "private view: cannot set the attributes of %s", path);
		close(fd);
		return r;
	}
	k[(*n)++] = (struct kept){ path, fd, kind == KEEP_WRITABLE };
	return 0;
}

/* A read dir needs a clone only where a hidden root covers it, and only once (not inside another). */
static bool needs_clone(const struct view_paths *p, unsigned i)
{
	if (!hidden_root_of(p->needed[i]) || access(p->needed[i], F_OK) < 0)
		return false;
	for (unsigned j = 0; j < p->n_needed; j++) {
		bool same = strcmp(p->needed[j], p->needed[i]) == 0;
		if ((same && j < i) || (!same && is_under(p->needed[i], p->needed[j])))
			return false;
	}
	return true;
}

/* Every clone, taken in the new namespace before anything there is made read-only or covered. */
static int plan_clones(const struct view_paths *p, struct plan *pl)
{
	int r = 0;

	for (unsigned i = 0; r == 0 && i < p->n_writable; i++)
		r = keep(pl->dirs, &pl->n_dirs, p->writable[i], KEEP_WRITABLE);
	for (unsigned i = 0; r == 0 && i < p->n_needed; i++)
		if (needs_clone(p, i))
			r = keep(pl->dirs, &pl->n_dirs, p->needed[i], KEEP_READ);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dev_nodes); i++)
		if (access(dev_nodes[i], F_OK) == 0)
			r = keep(pl->dev, &pl->n_dev, dev_nodes[i], KEEP_DEVICE);
	if (r == 0 && p->device && is_under(p->device, "/dev") && access(p->device, F_OK) == 0)
		r = keep(pl->dev, &pl->n_dev, p->device, KEEP_DEVICE);
	return r;
}

static int close_tree(int fd)
{
	if (fd >= 0)
		close(fd);
	return -1;
}

static void plan_free(struct plan *pl)
{
	for (unsigned i = 0; i < pl->n_dirs; i++)
		close_tree(pl->dirs[i].tree);
	for (unsigned i = 0; i < pl->n_dev; i++)
		close_tree(pl->dev[i].tree);
}

/* Makes PATH (a dir, or an empty file for a device node) and the dirs above it, in a fresh tmpfs. */
static int make_path(const char *path, bool file)
{
	char buf[PATH_MAX];
	int fd;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *slash = strchr(buf + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*slash = '/';
	}
	if (!file)
		return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
	fd = open(buf, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int attach(struct kept *k, bool make)
{
	struct stat st;
	int r = 0;

	if (make && fstat(k->tree, &st) == 0)
		r = make_path(k->path, !S_ISDIR(st.st_mode));
	if (r == 0 && move_mount(k->tree, "", AT_FDCWD, k->path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		r = -errno;
	if (r < 0)
		return log_error_errno(r, "private view: cannot mount %s back", k->path);
	k->tree = close_tree(k->tree);
	return 0;
}

static int seal(const char *path)
{
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };

	if (mount_setattr(AT_FDCWD, path, 0, &ro, sizeof(ro)) < 0)
		return log_error_errno(-errno, "private view: cannot make %s read-only", path);
	return 0;
}

/* An empty read-only tmpfs over ROOT, with the kept dirs under it mounted back. */
static int hide(const char *root, struct plan *pl)
{
	unsigned n = 0;
	int r = 0;

	if (access(root, F_OK) < 0)
		return 0;
	for (unsigned i = 0; i < pl->n_dirs; i++)
		n += pl->dirs[i].tree >= 0 && is_under(pl->dirs[i].path, root);
	if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | (n ? 0 : MS_RDONLY),
		  n ? "mode=0755,size=64k" : "mode=000,size=4k,nr_inodes=1") < 0)
		return log_error_errno(-errno, "private view: cannot cover %s", root);
	/* Read-only trees first: a writable dir inside one (a cache in the clone) goes on top of it. */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; r == 0 && i < pl->n_dirs; i++)
			if (pl->dirs[i].tree >= 0 && pl->dirs[i].writable == pass && is_under(pl->dirs[i].path, root))
				r = attach(&pl->dirs[i], true);
	return r == 0 && n ? seal(root) : r;
}

/* A /dev of the pseudo devices and the cachefiles device only, as PrivateDevices=yes made. */
static int build_dev(struct plan *pl)
{
	int r = 0;

	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
		return log_error_errno(-errno, "private view: cannot mount a tmpfs on /dev");
	for (unsigned i = 0; r == 0 && i < pl->n_dev; i++)
		r = attach(&pl->dev[i], true);
	return r == 0 ? seal("/dev") : r;
}

static int seal_tree(void)
{
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };

	if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) < 0)
		return log_error_errno(-errno, "private view: cannot make the tree read-only; %s", FIX_VIEW);
	return 0;
}

static int enter_namespace(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		return log_error_errno(-errno, "private view: cannot make a mount namespace; %s", FIX_VIEW);
	/* Slave: an erofs unmounted outside goes here too, or its object would never be closed. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return log_error_errno(-errno, "private view: cannot make the mounts slaves; %s", FIX_VIEW);
	return 0;
}

static int make_writable_dirs(const struct view_paths *p)
{
	for (unsigned i = 0; i < p->n_writable; i++)
		if (mkdir(p->writable[i], 0755) < 0 && errno != EEXIST)
			return log_error_errno(-errno, "private view: cannot make %s", p->writable[i]);
	return 0;
}

/* What the view is checked for after the fact: a read-only root and writable dirs that are. */
static int verify(const struct view_paths *p)
{
	struct statvfs vfs;

	if (statvfs("/", &vfs) < 0 || !(vfs.f_flag & ST_RDONLY))
		return log_error_errno(-EROFS, "private view: / is not read-only after all; report a bug");
	for (unsigned i = 0; i < p->n_writable; i++)
		if (statvfs(p->writable[i], &vfs) < 0 || (vfs.f_flag & ST_RDONLY))
			return log_error_errno(-EROFS, "private view: %s is not writable; report a bug",
					       p->writable[i]);
	return 0;
}

static int build_steps(const struct view_paths *p, struct plan *pl)
{
	int r = make_writable_dirs(p);

	if (r == 0)
		r = enter_namespace();
	if (r == 0)
		r = plan_clones(p, pl);
	if (r == 0)
		r = seal_tree();
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(hidden_roots); i++)
		r = hide(hidden_roots[i], pl);
	for (unsigned i = 0; r == 0 && i < pl->n_dirs; i++)
		if (pl->dirs[i].tree >= 0)
			r = attach(&pl->dirs[i], false);
	if (r == 0)
		r = build_dev(pl);
	if (r == 0 &&
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible,subset=pid") < 0)
		r = log_error_errno(-errno, "private view: cannot mount a /proc of our own; %s", FIX_VIEW);
	return r == 0 ? verify(p) : r;
}

int view_build(const struct view_paths *p)
{
	struct plan pl = { 0 };
	uint64_t t0 = now_ms(), ino = 0;
	char mark[24];
	int r;

	/* umask 0077 (the unit's) would leave the dirs made for kept paths closed to the worker user. */
	mode_t old_umask = umask(0022);
	r = build_steps(p, &pl);
	umask(old_umask);
	plan_free(&pl);
	if (r < 0)
		return r;
	if (mnt_ns_inode(&ino) == 0) {
		snprintf(mark, sizeof(mark), "%" PRIu64, ino);
		setenv(VIEW_ENV, mark, 1);
	}
	log_info("private view built in %" PRIu64 " ms: the tree read-only, %u dirs writable, %u kept under "
		 "hidden dirs",
		 now_ms() - t0, p->n_writable, pl.n_dirs - p->n_writable);
	return 0;
}
