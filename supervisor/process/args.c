/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "args.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cfs-control.h"
#include "cfs-log.h"
#include "cfs-paths.h"
#include "cfs-util.h"

enum {
	OPT_WORKER_EXE = 256,
	OPT_READY_FILE,
	OPT_VERSION,
	OPT_CHECK_CONFIG,
	OPT_CONTROL,
	OPT_PRIVATE_VIEW,
	OPT_KEY = 512, /* + the index of a key's option (config_args_option()) */
};

#define MAX_KEY_OPTIONS 32

static const struct option own_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
	{ "blob-dir", required_argument, NULL, 'b' },
	{ "worker-exe", required_argument, NULL, OPT_WORKER_EXE },
	{ "ready-file", required_argument, NULL, OPT_READY_FILE },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "private-view", no_argument, NULL, OPT_PRIVATE_VIEW },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
};

struct option_table {
	struct option opts[ARRAY_SIZE(own_options) + MAX_KEY_OPTIONS + 1];
	const char *key_option[MAX_KEY_OPTIONS]; /* "--workers", by OPT_KEY + i */
	char key_short[MAX_KEY_OPTIONS];
	unsigned n_keys;
	char shorts[16 + 2 * MAX_KEY_OPTIONS];
};

/* getopt_long()'s tables: our own options, then every option of the key table. */
static void build_options(struct option_table *t)
{
	const char *name;
	char short_opt;
	size_t n = ARRAY_SIZE(own_options);

	memcpy(t->opts, own_options, sizeof(own_options));
	strcpy(t->shorts, "c:b:vh");
	for (t->n_keys = 0; (name = config_args_option(t->n_keys, &short_opt)); t->n_keys++) {
		if (t->n_keys == MAX_KEY_OPTIONS)
			abort(); /* MAX_KEY_OPTIONS is too small for the key table */
		t->key_option[t->n_keys] = name;
		t->key_short[t->n_keys] = short_opt;
		t->opts[n++] = (struct option){ name + 2, required_argument, NULL, OPT_KEY + (int)t->n_keys };
		if (short_opt)
			snprintf(t->shorts + strlen(t->shorts), sizeof(t->shorts) - strlen(t->shorts),
				 "%c:", short_opt);
	}
	t->opts[n] = (struct option){ 0 };
}

/* The key option a short letter stands for, as OPT_KEY + i; c itself if none. */
static int long_form(const struct option_table *t, int c)
{
	for (unsigned i = 0; i < t->n_keys; i++)
		if (t->key_short[i] && t->key_short[i] == c)
			return OPT_KEY + (int)i;
	return c;
}

static int set_blob_dir(struct args *a, const char *dir)
{
	char *field = a->keys.domains[0].settings.blob_dir;
	size_t size = sizeof(a->keys.domains[0].settings.blob_dir);

	if (!*dir || strlen(dir) >= size) {
		log_error("--blob-dir '%s': expected a directory, a path of 1 to %zu bytes", dir, size - 1);
		return -EINVAL;
	}
	strcpy(field, dir);
	a->blob_dir_mode = true;
	return 0;
}

/* Logs the one error the key table found and returns -EINVAL. */
static int key_error(const struct config_errors *errs)
{
	config_errors_log(errs);
	return -EINVAL;
}

/* Options of --blob-dir mode without it: say where the setting goes with a config file. */
static int check_mode(const struct args *a, const char *key_option)
{
	bool in_cache;
	const char *key;

	if (a->blob_dir_mode && a->config_path) {
		log_error("--blob-dir and --config exclude each other: one domain from the command line, or the "
			  "domains of a config file");
		return -EINVAL;
	}
	if (a->blob_dir_mode || !key_option)
		return 0;
	key = config_args_key(key_option, &in_cache);
	log_error("%s goes with --blob-dir; with a config file, set %s in its %s", key_option, key,
		  in_cache ? "[cache] section" : "[domain NAME] sections");
	return -EINVAL;
}

int args_parse(int argc, char **argv, struct settings *cfg, struct args *a)
{
	struct option_table t;
	struct config_errors errs = { 0 };
	const char *first_key_option = NULL;
	int c, r;

	*a = (struct args){ 0 };
	r = config_args_init(&a->keys);
	if (r < 0)
		return log_error_errno(r, "Cannot parse the command line");
	build_options(&t);
	optind = 0; /* glibc: start over, for a second call (the tests) */
	while ((c = getopt_long(argc, argv, t.shorts, t.opts, NULL)) != -1) {
		c = long_form(&t, c);
		if (c >= OPT_KEY && c < OPT_KEY + (int)t.n_keys) {
			const char *option = t.key_option[c - OPT_KEY];
			if (config_args_set(&a->keys, option, optarg, &errs) < 0)
				return key_error(&errs);
			if (!first_key_option)
				first_key_option = option;
			continue;
		}
		switch (c) {
		case 'c': a->config_path = optarg; break;
		case OPT_CHECK_CONFIG: a->check_config = true; break;
		case 'b':
			if (set_blob_dir(a, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_WORKER_EXE: cfg->worker_exe = optarg; break;
		case OPT_READY_FILE: cfg->ready_file = optarg; break;
		case OPT_CONTROL: cfg->control_path = optarg; break;
		case OPT_PRIVATE_VIEW: a->private_view = true; break;
		case 'v': a->verbose = true; break;
		case 'h': return ARGS_HELP;
		case OPT_VERSION: return ARGS_VERSION;
		default:
			/* getopt_long() said what it was. */
			a->show_usage = true;
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}
	r = check_mode(a, first_key_option);
	if (r < 0)
		return r;
	if (a->blob_dir_mode && config_args_finish(&a->keys, &errs) < 0)
		return key_error(&errs);
	return ARGS_RUN;
}

void args_free(struct args *a)
{
	config_free(&a->keys);
}

/* A key's default, for the help; the key table has it. */
static const char *def(const char *section, const char *key)
{
	const char *d = config_key_default(section, key);

	return d ? d : "?";
}

void args_usage(FILE *f, const char *worker_exe)
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
		"                            apply to this mode only and take what the keys\n"
		"                            of the config file take\n",
		CFS_CONFIG_PATH);
	fprintf(f,
		"  -d, --cache-dir DIR       cachefiles cache directory, an absolute path on a\n"
		"                            filesystem with xattrs such as ext4\n"
		"                            [%s]\n"
		"  -t, --tag TAG             cache tag [%s]\n"
		"  -w, --workers N           workers serving the domain, 1..%d [%s]\n"
		"      --worker-user NAME    unprivileged user workers run as [%s]\n"
		"      --seccomp MODE        worker syscall allowlist: enforce (a forbidden call\n"
		"                            kills the worker) or log (it is only logged, for\n"
		"                            debugging) [%s]\n",
		def("cache", "dir"), def("cache", "tag"), CONFIG_WORKERS_MAX, def("domain", "workers"),
		def("domain", "worker_user"), def("domain", "sandbox"));
	fprintf(f,
		"      --request-timeout TIME\n"
		"                            kill a worker that holds a request this long,\n"
		"                            1ms..3600s: e.g. 30s, 500ms, or a plain number\n"
		"                            of milliseconds [%s]\n"
		"      --crash-limit N       fail a request after N workers crashed or hung\n"
		"                            while holding it, 1..100 [%s]\n"
		"      --read-window SIZE    fill up to SIZE (e.g. 512K) around a READ, growing\n"
		"                            while reads are sequential; 0: fill exactly what\n"
		"                            the kernel asks [%s]\n"
		"      --readahead SIZE      while a reader is sequential, fill up to SIZE ahead\n"
		"                            of it with idle workers (needs 2+ workers); 0: none\n"
		"                            [%s]\n"
		"      --prefetch WHAT       fill each blob in the background once it is open:\n"
		"                            none, all, or its first SIZE (e.g. 64M); needs 2+\n"
		"                            workers, one stays free for READs [%s]\n"
		"      --prefetch-rate SIZE  prefetch at most SIZE per second, 0: no limit [%s]\n"
		"      --device PATH         the cachefiles device [%s]\n",
		def("cache", "request_timeout"), def("cache", "crash_limit"), def("domain", "read_window"),
		def("domain", "readahead"), def("domain", "prefetch"), def("domain", "prefetch_rate"),
		def("cache", "device"));
	fprintf(f,
		"      --brun N --bcull N --bstop N\n"
		"      --frun N --fcull N --fstop N\n"
		"                            cachefilesd's thresholds, percent of the cache fs's\n"
		"                            free blocks (b) and files (f): cull below cull\n"
		"                            until run is free; below stop the kernel refuses\n"
		"                            new data; 0 <= stop < cull < run < 100 [%s %s %s]\n"
		"      --max-size SIZE       keep the cache below SIZE (e.g. 20G); 0: no quota\n"
		"                            [%s]\n",
		def("cache", "brun"), def("cache", "bcull"), def("cache", "bstop"), def("cache", "max_size"));
	fprintf(f,
		"      --worker-exe PATH     worker binary [%s]\n"
		"      --ready-file PATH     write \"ready\" to PATH (e.g. a FIFO) once serving\n"
		"      --control PATH        control socket for cachefilesctl(8), root only;\n"
		"                            \"\" for none [" CFS_CONTROL_DEFAULT_PATH "]\n"
		"      --private-view        run in a mount namespace of its own, built at\n"
		"                            start with a fixed number of mount calls (the\n"
		"                            unit passes it; systemd's ProtectSystem= and the\n"
		"                            like cost time per mount on the node): the whole\n"
		"                            tree read-only but the cache dir and the control\n"
		"                            socket's dir; /home, /root, /run/user, /tmp,\n"
		"                            /var/tmp and the kernel modules empty, except the\n"
		"                            dirs of the binaries, the config and the blob dirs;\n"
		"                            /dev only pseudo devices and the cachefiles device;\n"
		"                            /proc only our own processes\n"
		"  -v, --verbose             log every request (debug)\n"
		"  -h, --help                show this help\n"
		"      --version             show the version\n"
		"\n"
		"SIZE: bytes, or with K, M or G, a multiple of 4K.\n"
		"\n"
		"Signals: SIGTERM/SIGINT: exit (without systemd this unbinds the cache; under\n"
		"systemd the fd store keeps it for the next start); SIGHUP: re-read the config\n"
		"file (domains added, changed or removed; open objects stay open; a file with\n"
		"errors is refused) and start new workers from the worker binary on disk while\n"
		"the old ones drain (without a config file, only that); SIGUSR2: re-execute\n"
		"the supervisor binary in place, keeping every fd; SIGUSR1: log counters.\n"
		"Mount with e.g.: mount -t erofs none -o fsid=BLOB /mnt (BLOB in --blob-dir).\n",
		worker_exe);
}
