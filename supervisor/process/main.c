/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cachefiles-supervisor: owns /dev/cachefiles and every anonymous fd, and
 * hands the work to unprivileged workers it restarts when they fail.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cfs-control.h"
#include "cfs-log.h"
#include "cfs-util.h"
#include "control.h"
#include "cache-check.h"
#include "cachefiles.h"
#include "domains.h"
#include "cfs-paths.h"
#include "fdstore.h"
#include "hub.h"
#include "loop.h"
#include "pool.h"
#include "reexec.h"
#include "startup.h"
#include "view.h"

int cfs_log_max_priority = LOG_INFO;

/* configure()'s refusals, beside -1 (go on) and exit statuses >= 0. */
enum { GO_ON = -1, REFUSED_CONFIG = -2, REFUSED_WORKER = -3 };

/* Loads the config file (again, when waiting for a valid one). Returns 0 or -errno (logged). */
static int load_config(struct supervisor *s, const struct args *a)
{
	static struct config config;
	int r;

	if (s->config) {
		config_free(s->config);
		free(s->domains);
		s->config = NULL;
		s->domains = NULL;
	}
	s->config_path = a->config_path ? a->config_path : CFS_CONFIG_PATH;
	/* --check-config (and so a re-exec) refuses a missing blob dir; a start serves the other domains. */
	r = a->check_config ? domains_load_config(s->config_path, &config)
			    : domains_load_config_at_start(s->config_path, &config);
	if (r < 0) {
		if (!a->config_path)
			log_error("(no -c given: that was the default; see --help for -c and --blob-dir)");
		return r;
	}
	return domains_from_config(s, &config);
}

static int check_worker_exe(const struct supervisor *s)
{
	int r = access(s->cfg.worker_exe, X_OK) == 0 ? 0 : -errno;

	if (r == 0)
		return 0;
	domains_set_refusal("worker binary %s: %s (use --worker-exe)", s->cfg.worker_exe, ERRSTR(r));
	return log_error_errno(r, "worker binary %s (use --worker-exe)", s->cfg.worker_exe);
}

/* The cache dir and the device as bind will want them; logged. */
static int check_cache(const struct supervisor *s)
{
	char why[PATH_MAX + 256];
	int r = cache_dir_check(s->cfg.cache_dir, why, sizeof(why));

	if (r < 0)
		log_error("%s", why);
	if (device_check(s->cfg.device_path, why, sizeof(why)) < 0) {
		log_error("%s", why);
		r = -ENODEV;
	}
	return r;
}

/*
 * --check-config: all a start needs before it binds anything, as the start
 * will find it: the file, every domain's user and blob dir, the worker
 * binary, the cache dir's filesystem and the device. A re-exec runs the new
 * binary this way first (reexec.c).
 */
static int check_only(struct supervisor *s, const struct args *a)
{
	int r = domains_check(s), w = check_worker_exe(s);

	if (check_cache(s) < 0)
		r = -EINVAL;
	if (r == 0 && w == 0 && a->blob_dir_mode)
		printf("--blob-dir %s: valid\n", s->domains[0].settings.blob_dir);
	else if (r == 0 && w == 0)
		printf("%s: valid, %u domains\n", s->config_path, s->n_domains);
	/* The config's domains are the heap's (the --blob-dir one is static): the sanitizer build checks this exit too. */
	if (!a->blob_dir_mode)
		free(TAKE_PTR(s->domains));
	return r < 0 || w < 0 ? 1 : 0;
}

/* What a start retries while it waits for a valid config (startup_wait_until_valid()). */
static int retry_configure(struct supervisor *s, const void *ctx)
{
	const struct args *a = ctx;

	if (!a->blob_dir_mode && load_config(s, a) < 0)
		return -EINVAL;
	return check_worker_exe(s);
}

/* For scripts that wait on a FIFO instead of polling. */
static void signal_ready(const struct settings *cfg)
{
	_cleanup_close_ int fd = -EBADF;

	if (!cfg->ready_file)
		return;
	fd = open(cfg->ready_file, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || write(fd, "ready\n", 6) != 6)
		log_warning_errno(-errno, "--ready-file %s", cfg->ready_file);
}

/* Every object holds an fd: take all the kernel allows (workers get their own bound). */
/* Fds beyond max_objects: the device, the state, sockets, pidfds, blob dirs, the loop's own. */
#define FD_HEADROOM 1024
/* A re-exec holds every object's fd twice for a moment (reexec.c). */
#define FDS_WANTED(max_objects) (2 * (rlim_t)(max_objects) + FD_HEADROOM)

/*
 * One anon fd per object (two during a re-exec): the soft limit goes up to
 * the hard one, and the hard one (without systemd's LimitNOFILE= often
 * 4096) up to what max_objects needs if root may (CAP_SYS_RESOURCE). Short of it, the OPENs
 * past it would fail with EMFILE: said now, with what to change.
 */
static void raise_fd_limit(const struct supervisor *s)
{
	rlim_t want = FDS_WANTED(s->cfg.max_objects);
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_max < want) {
		struct rlimit more = { want, want };
		if (setrlimit(RLIMIT_NOFILE, &more) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max < want)
		log_warning(
			"The fd limit (RLIMIT_NOFILE) is %llu, below the %llu that max_objects = %u needs: a re-exec "
			"with more than about %llu objects open will be refused, and objects past about %llu will "
			"fail to open (EMFILE); raise LimitNOFILE= in the unit or ulimit -Hn, or lower max_objects",
			(unsigned long long)rl.rlim_max, (unsigned long long)want, s->cfg.max_objects,
			(unsigned long long)(rl.rlim_max > FD_HEADROOM ? (rl.rlim_max - FD_HEADROOM) / 2 : 0),
			(unsigned long long)(rl.rlim_max > FD_HEADROOM ? rl.rlim_max - FD_HEADROOM : 0));
}

static void shutdown_all(struct supervisor *s)
{
	for (unsigned i = 0; i < s->n_domains; i++)
		pool_stop(s, &s->domains[i]);
	objects_free(&s->objects);
	inflight_free(&s->inflight);
	/* Without the fd store this was the last reference to the cache: the kernel unbinds it. */
	s->transport->free(s);
	(void)fdstore_flush(FDSTORE_FLUSH_EXIT_MS);
}

/* The command line and the config: -1 to go on, or the exit status (help, version, errors, --check-config). */
static int configure(struct supervisor *s, int argc, char **argv, struct args *a, struct domain *domain)
{
	int r = args_parse(argc, argv, &s->cfg, a);

	if (r == ARGS_HELP) {
		args_usage(stdout, CFS_WORKER_PATH);
		return 0;
	}
	if (r == ARGS_VERSION) {
		printf("cachefiles-supervisor %s\n", CFS_VERSION);
		return 0;
	}
	if (r < 0) {
		if (a->show_usage)
			args_usage(stderr, CFS_WORKER_PATH);
		return 2;
	}
	if (a->verbose)
		cfs_log_max_priority = LOG_DEBUG;
	if (a->blob_dir_mode)
		domains_from_args(s, &a->keys, domain);
	else if (load_config(s, a) < 0)
		return a->check_config ? 1 : REFUSED_CONFIG;
	if (a->check_config)
		return check_only(s, a);
	if (check_worker_exe(s) < 0)
		return REFUSED_WORKER;
	return GO_ON;
}

/* DIR gets the directory FILE is in, resolved if FILE exists; false if it has none. */
static bool dir_of(const char *file, char dir[static PATH_MAX])
{
	char *slash;

	if (!realpath(file, dir))
		snprintf(dir, PATH_MAX, "%s", file);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return false;
	*slash = '\0';
	return true;
}

/* --private-view: what this process reads or writes later stays reachable in it (view.h). */
static int enter_private_view(const struct supervisor *s)
{
	static char dirs[VIEW_MAX_PATHS][PATH_MAX];
	const char *files[] = { s->self_exe, s->cfg.worker_exe, s->config_path, s->cfg.ready_file };
	struct view_paths p = { .device = s->cfg.device_path };
	unsigned n = 0;

	_Static_assert(ARRAY_SIZE(files) + CONFIG_MAX_DOMAINS + 1 <= VIEW_MAX_PATHS, "VIEW_MAX_PATHS");
	if (view_is_built())
		return 0; /* a re-exec: the namespace is ours already */
	p.writable[p.n_writable++] = s->cfg.cache_dir;
	if (s->cfg.control_path && *s->cfg.control_path && dir_of(s->cfg.control_path, dirs[n]))
		p.writable[p.n_writable++] = dirs[n++];
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (files[i] && dir_of(files[i], dirs[n]))
			p.needed[p.n_needed++] = dirs[n++];
	for (unsigned i = 0; i < s->n_domains; i++)
		if (realpath(s->domains[i].settings.blob_dir, dirs[n]))
			p.needed[p.n_needed++] = dirs[n++];
	return view_build(&p);
}

/* Everything a start needs that can fail before anything is bound. Returns 0 or -errno (logged). */
static int prepare(struct supervisor *s, const struct args *a, char **argv)
{
	s->argv = argv;
	s->self_exe = realpath("/proc/self/exe", NULL);
	if (!s->self_exe)
		return log_error_errno(-errno, "Cannot resolve /proc/self/exe");
	/* Before any fd of a dir is opened: a mount of the old namespace could not be cloned for workers. */
	if (a->private_view && enter_private_view(s) < 0)
		return -EPERM;
	(void)domains_prepare(s); /* a domain that cannot be served is logged; the others are */
	raise_fd_limit(s);
	return s->transport->init(s);
}

/* Serves until told to stop; re-executes in place if asked. Returns the exit status. */
static int serve(struct supervisor *s)
{
	int r;

	if (supervisor_startup(s) < 0)
		return 1;
	(void)control_setup(s); /* a failure is logged; serving readers does not depend on it */
	/* The transport's late set-up (the culler's fds) before READY=1: whoever counts our fds then sees all. */
	loop_settle(s);
	notify_text("READY=1");
	signal_ready(&s->cfg);
	r = loop_run(s);
	loop_log_stats(s);
	control_shutdown(s);
	if (s->reexec_wanted)
		supervisor_reexec(s); /* returns only if both execs failed */
	shutdown_all(s);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct domain domain; /* --blob-dir mode's one domain */
	static struct args a;	     /* its settings stay here while s points at them */
	struct supervisor s = {
		.cfg = { .worker_exe = CFS_WORKER_PATH,
			 .kill_limit = 32,
			 .queue_per_worker = 8,
			 .control_path = CFS_CONTROL_DEFAULT_PATH },
		.transport = &cachefiles_transport,
		.sink = &hub_sink,
	};
	int status;

	cfs_log_nonblocking = true; /* the loop never waits for stderr (cfs-log.h) */
	/* Before anything opens an fd or forks (startup.h). */
	if (startup_sanitize_process() < 0)
		return 1;
	cfs_log_init();
	status = configure(&s, argc, argv, &a, &domain);
	/*
	 * Under systemd, or holding a predecessor's fds (re-exec), exiting now
	 * would restart us every RestartSec or drop the cache: wait for a valid
	 * config instead, saying what to fix (issue 17, items 3 and 12).
	 */
	if (status == REFUSED_CONFIG || status == REFUSED_WORKER) {
		if (!startup_may_wait())
			return status == REFUSED_CONFIG ? 2 : 1;
		status = startup_wait_until_valid(&s, retry_configure, &a);
		if (status != GO_ON)
			return status;
	}

	if (status >= 0)
		return status;
	snprintf(s.cfg.worker_remote_exe, sizeof(s.cfg.worker_remote_exe), "%s-remote", s.cfg.worker_exe);
	if (prepare(&s, &a, argv) < 0)
		return 1;
	return serve(&s);
}
