/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cachefiles-supervisor: owns /dev/cachefiles and every anonymous fd, and
 * hands the work to unprivileged workers it restarts when they fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "device.h"
#include "fdstore.h"
#include "loop.h"
#include "pool.h"
#include "reexec.h"
#include "startup.h"

#ifndef CFS_WORKER_PATH
#define CFS_WORKER_PATH "/usr/libexec/cachefiles-worker"
#endif

int cfs_log_max_priority = LOG_INFO;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cachefiles-supervisor --blob-dir DIR [OPTION]...\n"
		"\n"
		"Serve erofs-over-fscache (cachefiles on-demand mode) from blob files.\n"
		"The supervisor opens /dev/cachefiles (needs CAP_SYS_ADMIN), binds the\n"
		"cache and keeps every anonymous fd; forked workers find the blob named\n"
		"by each cookie key under the blob directory and fill the ranges the\n"
		"kernel asks for. A worker that dies or hangs is replaced and its\n"
		"requests handed to another, so readers do not see errors.\n"
		"\n"
		"Options:\n"
		"  -b, --blob-dir DIR        directory holding the blobs (required)\n"
		"  -d, --cache-dir DIR       cachefiles cache directory, on a filesystem with\n"
		"                            xattrs such as ext4 [/var/cache/cachefiles]\n"
		"  -t, --tag TAG             cache tag [cfs]\n"
		"  -w, --workers N           workers serving the domain, 1..%d [2]\n"
		"      --worker-exe PATH     worker binary [%s]\n"
		"      --worker-user NAME    unprivileged user workers run as [%s]\n"
		"      --seccomp MODE        worker syscall allowlist: enforce (a forbidden call\n"
		"                            kills the worker) or log (it is only logged, for\n"
		"                            debugging) [enforce]\n"
		"      --request-timeout MS  kill a worker that holds a request this long [30000]\n"
		"      --crash-limit N       fail a request after N workers crashed or hung\n"
		"                            while holding it [3]\n"
		"      --device PATH         the cachefiles device [/dev/cachefiles]\n"
		"      --ready-file PATH     write \"ready\" to PATH (e.g. a FIFO) once serving\n"
		"  -v, --verbose             log every request (debug)\n"
		"  -h, --help                show this help\n"
		"      --version             show the version\n"
		"\n"
		"Signals: SIGTERM/SIGINT: exit (without systemd this unbinds the cache; under\n"
		"systemd the fd store keeps it for the next start); SIGHUP: start new workers\n"
		"from the worker binary on disk and drain the old ones; SIGUSR2: re-execute\n"
		"the supervisor binary in place, keeping every fd; SIGUSR1: log counters.\n"
		"Mount with e.g.: mount -t erofs none -o fsid=BLOB /mnt (BLOB in --blob-dir).\n",
		MAX_WORKERS_PER_DOMAIN, CFS_WORKER_PATH, SANDBOX_DEFAULT_USER);
}

static int parse_uint(const char *arg, const char *what, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || *out > max) {
		log_error("%s: '%s' is not a number from 0 to %lu", what, arg, max);
		return -EINVAL;
	}
	return 0;
}

enum {
	OPT_WORKER_EXE = 256, OPT_TIMEOUT, OPT_CRASH_LIMIT, OPT_DEVICE, OPT_READY_FILE, OPT_VERSION,
	OPT_WORKER_USER, OPT_SECCOMP,
};

static int parse_args(int argc, char **argv, struct settings *cfg, struct domain *d)
{
	static const struct option opts[] = {
		{ "blob-dir", required_argument, NULL, 'b' },
		{ "cache-dir", required_argument, NULL, 'd' },
		{ "tag", required_argument, NULL, 't' },
		{ "workers", required_argument, NULL, 'w' },
		{ "worker-exe", required_argument, NULL, OPT_WORKER_EXE },
		{ "request-timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "crash-limit", required_argument, NULL, OPT_CRASH_LIMIT },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "ready-file", required_argument, NULL, OPT_READY_FILE },
		{ "worker-user", required_argument, NULL, OPT_WORKER_USER },
		{ "seccomp", required_argument, NULL, OPT_SECCOMP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	unsigned long v;
	int c;

	while ((c = getopt_long(argc, argv, "b:d:t:w:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			snprintf(d->blob_dir, sizeof(d->blob_dir), "%s", optarg);
			break;
		case 'd': cfg->cache_dir = optarg; break;
		case 't': cfg->tag = optarg; break;
		case 'w':
			if (parse_uint(optarg, "--workers", MAX_WORKERS_PER_DOMAIN, &v) < 0 || v == 0)
				return log_error("--workers must be 1..%d", MAX_WORKERS_PER_DOMAIN), -EINVAL;
			d->n_workers = (unsigned)v;
			break;
		case OPT_WORKER_EXE: cfg->worker_exe = optarg; break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, "--request-timeout", 86400000, &v) < 0 || v == 0)
				return -EINVAL;
			cfg->request_timeout_ms = v;
			break;
		case OPT_CRASH_LIMIT:
			if (parse_uint(optarg, "--crash-limit", 1000, &v) < 0 || v == 0)
				return -EINVAL;
			cfg->crash_limit = (unsigned)v;
			break;
		case OPT_DEVICE: cfg->device_path = optarg; break;
		case OPT_READY_FILE: cfg->ready_file = optarg; break;
		case OPT_WORKER_USER: cfg->sandbox.user = optarg; break;
		case OPT_SECCOMP:
			if (sandbox_parse_seccomp_mode(optarg, &cfg->sandbox.seccomp_log) < 0)
				return -EINVAL;
			break;
		case 'v': cfs_log_max_priority = LOG_DEBUG; break;
		case 'h': usage(stdout); exit(EXIT_SUCCESS);
		case OPT_VERSION: printf("cachefiles-supervisor %s\n", CFS_VERSION); exit(EXIT_SUCCESS);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error("unexpected argument '%s' (see --help)", argv[optind]), -EINVAL;
	if (!d->blob_dir[0])
		return log_error("--blob-dir is required (see --help)"), -EINVAL;
	return 0;
}

static int open_blob_dir(struct domain *d)
{
	d->blob_dir_fd = open(d->blob_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->blob_dir_fd < 0)
		return log_error_errno(errno, "domain %s: blob dir %s: %s", d->name, d->blob_dir, ERRSTR(errno));
	return 0;
}

/* For scripts that wait on a FIFO instead of polling. */
static void signal_ready(const struct settings *cfg)
{
	_cleanup_close_ int fd = -EBADF;

	if (!cfg->ready_file)
		return;
	fd = open(cfg->ready_file, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || write(fd, "ready\n", 6) != 6)
		log_warning_errno(errno, "--ready-file %s: %s", cfg->ready_file, ERRSTR(errno));
}

/* Every object holds an fd: take all the kernel allows (workers get their own bound). */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void shutdown_all(struct supervisor *s)
{
	for (unsigned i = 0; i < s->n_domains; i++)
		pool_stop(s, &s->domains[i]);
	objects_free(&s->objects);
	inflight_free(&s->inflight);
	state_free(&s->state);
	/* Last reference to the device: the kernel unbinds the cache. */
	if (s->dev_fd >= 0)
		close(s->dev_fd);
}

int main(int argc, char **argv)
{
	static struct domain domain = { .name = "default", .n_workers = 2, .blob_dir_fd = -1 };
	struct supervisor s = {
		.cfg = { .device_path = DEVICE_PATH, .cache_dir = "/var/cache/cachefiles", .tag = "cfs",
			 .worker_exe = CFS_WORKER_PATH, .request_timeout_ms = 30000, .crash_limit = 3,
			 .kill_limit = 32, .queue_per_worker = 8, .sandbox = { .user = SANDBOX_DEFAULT_USER } },
		.dev_fd = -1, .state = { .fd = -1 }, .domains = &domain, .n_domains = 1,
	};
	int r;

	if (parse_args(argc, argv, &s.cfg, &domain) < 0)
		return 2;
	if (access(s.cfg.worker_exe, X_OK) < 0)
		return log_error_errno(errno, "worker binary %s: %s (use --worker-exe)", s.cfg.worker_exe, ERRSTR(errno)), 1;
	/* Before any fork: a worker must never find out that its user is missing. */
	if (sandbox_resolve_user(&s.cfg.sandbox) < 0)
		return 1;
	if (open_blob_dir(&domain) < 0)
		return 1;
	s.argv = argv;
	s.self_exe = realpath("/proc/self/exe", NULL);
	if (!s.self_exe)
		return log_error_errno(errno, "Cannot resolve /proc/self/exe: %s", ERRSTR(errno)), 1;
	raise_fd_limit();
	if (supervisor_startup(&s) < 0)
		return 1;
	notify_text("READY=1");
	signal_ready(&s.cfg);
	r = loop_run(&s);
	loop_log_stats(&s);
	if (s.reexec_wanted)
		supervisor_reexec(&s); /* returns only if both execs failed */
	shutdown_all(&s);
	return r < 0 ? 1 : 0;
}
