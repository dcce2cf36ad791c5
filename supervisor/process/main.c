/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cachefiles-supervisor: owns /dev/cachefiles and every anonymous fd, and
 * hands the work to unprivileged workers it restarts when they fail.
 */
#include <errno.h>
#include <stdbool.h>
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
#include "control.h"
#include "cachefiles.h"
#include "domains.h"
#include "fdstore.h"
#include "hub.h"
#include "loop.h"
#include "pool.h"
#include "reexec.h"
#include "sandbox.h"
#include "startup.h"

#ifndef CFS_WORKER_PATH
#define CFS_WORKER_PATH "/usr/libexec/cachefiles-worker"
#endif

int cfs_log_max_priority = LOG_INFO;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cachefiles-supervisor [-c FILE] [--check-config] [OPTION]...\n"
		"       cachefiles-supervisor --blob-dir DIR [OPTION]...\n"
		"\n"
		"Serve erofs-over-fscache (cachefiles on-demand mode) from blob files.\n"
		"The supervisor opens /dev/cachefiles (needs CAP_SYS_ADMIN), binds the\n"
		"cache and keeps every anonymous fd; forked workers find the blob named\n"
		"by each cookie key under the blob directory of the domain the volume key\n"
		"routes to, and fill the ranges the kernel asks for. A worker that dies\n"
		"or hangs is replaced and its requests handed to another, so readers do\n"
		"not see errors.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE         the configuration file, see\n"
		"                            cachefiles-supervisor.conf(5) [%s]\n"
		"      --check-config        validate the configuration, print the result, exit\n"
		"  -b, --blob-dir DIR        no config file: one domain serving every volume\n"
		"                            from DIR; the options below up to --device\n"
		"                            apply to this mode only\n"
		"  -d, --cache-dir DIR       cachefiles cache directory, on a filesystem with\n"
		"                            xattrs such as ext4 [/var/cache/cachefiles]\n"
		"  -t, --tag TAG             cache tag [cfs]\n"
		"  -w, --workers N           workers serving the domain, 1..%d [2]\n"
		"      --worker-user NAME    unprivileged user workers run as [%s]\n"
		"      --seccomp MODE        worker syscall allowlist: enforce (a forbidden call\n"
		"                            kills the worker) or log (it is only logged, for\n"
		"                            debugging) [enforce]\n"
		"      --request-timeout MS  kill a worker that holds a request this long [30000]\n"
		"      --crash-limit N       fail a request after N workers crashed or hung\n"
		"                            while holding it [3]\n"
		"      --read-window SIZE    fill up to SIZE (e.g. 512K) around a READ, growing\n"
		"                            while reads are sequential; 0: fill exactly what\n"
		"                            the kernel asks [1M]\n"
		"      --readahead SIZE      while a reader is sequential, fill up to SIZE ahead\n"
		"                            of it with idle workers (needs 2+ workers); 0: none\n"
		"                            [32M]\n"
		"      --prefetch WHAT       fill each blob in the background once it is open:\n"
		"                            none, all, or its first SIZE (e.g. 64M); needs 2+\n"
		"                            workers, one stays free for READs [none]\n"
		"      --prefetch-rate SIZE  prefetch at most SIZE per second, 0: no limit [0]\n"
		"      --device PATH         the cachefiles device [/dev/cachefiles]\n"
		"      --worker-exe PATH     worker binary [%s]\n"
		"      --ready-file PATH     write \"ready\" to PATH (e.g. a FIFO) once serving\n"
		"      --control PATH        control socket for cachefilesctl(8), root only;\n"
		"                            \"\" for none [" CFS_CONTROL_DEFAULT_PATH "]\n"
		"  -v, --verbose             log every request (debug)\n"
		"  -h, --help                show this help\n"
		"      --version             show the version\n"
		"\n"
		"Signals: SIGTERM/SIGINT: exit (without systemd this unbinds the cache; under\n"
		"systemd the fd store keeps it for the next start); SIGHUP: re-read the config\n"
		"file (domains added, changed or removed; open objects stay open; a file with\n"
		"errors is refused) and start new workers from the worker binary on disk while\n"
		"the old ones drain (without a config file, only that); SIGUSR2: re-execute\n"
		"the supervisor binary in place, keeping every fd; SIGUSR1: log counters.\n"
		"Mount with e.g.: mount -t erofs none -o fsid=BLOB /mnt (BLOB in --blob-dir).\n",
		CONFIG_DEFAULT_PATH, MAX_WORKERS_PER_DOMAIN, SANDBOX_DEFAULT_USER, CFS_WORKER_PATH);
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

_Static_assert(CONFIG_READ_WINDOW_DEFAULT == 1u << 20, "--help names the default read window");
_Static_assert(CONFIG_READAHEAD_DEFAULT == 32u << 20, "--help names the default readahead");

/* A size option up to max; what_and_example completes "'ARG' is not ..." in the error. */
static int parse_size_option(const char *opt, const char *arg, uint32_t max, const char *what_and_example,
			     uint32_t *out)
{
	uint64_t v;

	if (config_parse_size(arg, max, &v) < 0) {
		log_error("%s: '%s' is not %s", opt, arg, what_and_example);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

enum {
	OPT_WORKER_EXE = 256, OPT_TIMEOUT, OPT_CRASH_LIMIT, OPT_DEVICE, OPT_READY_FILE, OPT_VERSION,
	OPT_WORKER_USER, OPT_SECCOMP, OPT_CHECK_CONFIG, OPT_CONTROL, OPT_READ_WINDOW, OPT_READAHEAD,
	OPT_PREFETCH, OPT_PREFETCH_RATE,
};

struct args {
	const char *config_path; /* NULL: --blob-dir mode, or the default file */
	bool check_config;
	bool domain_options; /* options that only --blob-dir mode takes */
};

static int parse_args(int argc, char **argv, struct settings *cfg, struct domain *d, struct args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
		{ "blob-dir", required_argument, NULL, 'b' },
		{ "cache-dir", required_argument, NULL, 'd' },
		{ "tag", required_argument, NULL, 't' },
		{ "workers", required_argument, NULL, 'w' },
		{ "worker-exe", required_argument, NULL, OPT_WORKER_EXE },
		{ "request-timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "crash-limit", required_argument, NULL, OPT_CRASH_LIMIT },
		{ "read-window", required_argument, NULL, OPT_READ_WINDOW },
		{ "readahead", required_argument, NULL, OPT_READAHEAD },
		{ "prefetch", required_argument, NULL, OPT_PREFETCH },
		{ "prefetch-rate", required_argument, NULL, OPT_PREFETCH_RATE },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "ready-file", required_argument, NULL, OPT_READY_FILE },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "worker-user", required_argument, NULL, OPT_WORKER_USER },
		{ "seccomp", required_argument, NULL, OPT_SECCOMP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	unsigned long v;
	int c;

	while ((c = getopt_long(argc, argv, "c:b:d:t:w:vh", opts, NULL)) != -1) {
		a->domain_options |= c == 'w' || c == OPT_WORKER_USER || c == OPT_SECCOMP || c == 'd' || c == 't' ||
				     c == OPT_TIMEOUT || c == OPT_CRASH_LIMIT || c == OPT_DEVICE || c == OPT_READ_WINDOW ||
				     c == OPT_READAHEAD || c == OPT_PREFETCH || c == OPT_PREFETCH_RATE;
		switch (c) {
		case 'c': a->config_path = optarg; break;
		case OPT_CHECK_CONFIG: a->check_config = true; break;
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
		case OPT_READ_WINDOW:
			if (parse_size_option("--read-window", optarg, CONFIG_READ_WINDOW_MAX,
					      "a size from 0 to 64M in multiples of 4K, e.g. 512K or 1M",
					      &d->read_window) < 0)
				return -EINVAL;
			break;
		case OPT_READAHEAD:
			if (parse_size_option("--readahead", optarg, CONFIG_READAHEAD_MAX,
					      "a size from 0 to 1G in multiples of 4K, e.g. 32M", &d->readahead) < 0)
				return -EINVAL;
			break;
		case OPT_PREFETCH:
			if (config_parse_prefetch(optarg, &d->prefetch) < 0)
				return log_error("--prefetch: '%s' is not none, all or a size in multiples of 4K, "
						 "e.g. 64M", optarg), -EINVAL;
			break;
		case OPT_PREFETCH_RATE:
			if (parse_size_option("--prefetch-rate", optarg, CONFIG_PREFETCH_RATE_MAX,
					      "a size per second up to 1G in multiples of 4K, e.g. 32M",
					      &d->prefetch_rate) < 0)
				return -EINVAL;
			break;
		case OPT_READY_FILE: cfg->ready_file = optarg; break;
		case OPT_CONTROL: cfg->control_path = optarg; break;
		case OPT_WORKER_USER: d->sandbox.user = optarg; break;
		case OPT_SECCOMP:
			if (sandbox_parse_seccomp_mode(optarg, &d->sandbox.seccomp_log) < 0)
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
	if (d->blob_dir[0] && a->config_path)
		return log_error("--blob-dir and --config exclude each other: one domain from the command line, "
				 "or the domains of a config file"), -EINVAL;
	if (!d->blob_dir[0] && a->domain_options)
		return log_error("--cache-dir, --tag, --device, --request-timeout, --crash-limit, --workers, "
				 "--worker-user, --seccomp, --read-window, --readahead and --prefetch* go with --blob-dir; with a config "
				 "file set them in its [cache] and [domain NAME] sections"), -EINVAL;
	if (d->prefetch && d->n_workers < 2)
		return log_error("--prefetch needs --workers 2 or more: one worker always stays free for READs"),
		       -EINVAL;
	return 0;
}

/* Loads the config file; with --check-config reports and exits. Returns 0 or -errno (logged). */
static int load_config(struct supervisor *s, const struct args *a)
{
	static struct config config;
	int r;

	s->config_path = a->config_path ? a->config_path : CONFIG_DEFAULT_PATH;
	r = domains_load_config(s->config_path, &config);
	if (r < 0) {
		if (!a->config_path)
			log_error("(no -c given: that was the default; see --help for -c and --blob-dir)");
		return r;
	}
	if (a->check_config) {
		printf("%s: valid, %u domains\n", s->config_path, config.n_domains);
		exit(EXIT_SUCCESS);
	}
	return domains_from_config(s, &config);
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
	/* Without the fd store this was the last reference to the cache: the kernel unbinds it. */
	s->transport->free(s);
}

int main(int argc, char **argv)
{
	static struct domain domain = { .state = DOMAIN_ACTIVE, .name = "default", .n_workers = 2, .blob_dir_fd = -1,
					.read_window = CONFIG_READ_WINDOW_DEFAULT, .readahead = CONFIG_READAHEAD_DEFAULT,
					.sandbox = { .user = SANDBOX_DEFAULT_USER } };
	struct supervisor s = {
		.cfg = { .device_path = CACHEFILES_DEVICE_PATH, .cache_dir = "/var/cache/cachefiles", .tag = "cfs",
			 .worker_exe = CFS_WORKER_PATH, .request_timeout_ms = 30000, .crash_limit = 3,
			 .kill_limit = 32, .queue_per_worker = 8,
			 .max_objects = CONFIG_MAX_OBJECTS_DEFAULT, .control_path = CFS_CONTROL_DEFAULT_PATH },
		.transport = &cachefiles_transport, .sink = &hub_sink, .domains = &domain, .n_domains = 1,
	};
	struct args a = { 0 };
	int r;

	if (parse_args(argc, argv, &s.cfg, &domain, &a) < 0)
		return 2;
	domain.request_timeout_ms = s.cfg.request_timeout_ms;
	if (!domain.blob_dir[0] && load_config(&s, &a) < 0)
		return a.check_config ? 1 : 2;
	if (a.check_config) {
		printf("--blob-dir %s: nothing to check without a config file\n", domain.blob_dir);
		return 0;
	}
	if (access(s.cfg.worker_exe, X_OK) < 0)
		return log_error_errno(errno, "worker binary %s: %s (use --worker-exe)", s.cfg.worker_exe, ERRSTR(errno)), 1;
	if (domains_prepare(&s) < 0)
		return 1;
	s.argv = argv;
	s.self_exe = realpath("/proc/self/exe", NULL);
	if (!s.self_exe)
		return log_error_errno(errno, "Cannot resolve /proc/self/exe: %s", ERRSTR(errno)), 1;
	raise_fd_limit();
	if (s.transport->init(&s) < 0)
		return 1;
	if (supervisor_startup(&s) < 0)
		return 1;
	(void)control_setup(&s); /* a failure is logged; serving readers does not depend on it */
	notify_text("READY=1");
	signal_ready(&s.cfg);
	r = loop_run(&s);
	loop_log_stats(&s);
	control_shutdown(&s);
	if (s.reexec_wanted)
		supervisor_reexec(&s); /* returns only if both execs failed */
	shutdown_all(&s);
	return r < 0 ? 1 : 0;
}
