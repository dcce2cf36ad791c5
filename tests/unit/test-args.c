/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command line (process/args.c): --blob-dir mode's options are the
 * config file's keys, so a bad value gets the same explanation in both modes,
 * the defaults are the file's, and every bad option gets one message and
 * exit status 2 (checked on the built binary, given as argv[1]).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "check.h"
#include "config.h"
#include "domains.h"

int cfs_log_max_priority = 7;

static const char *supervisor_bin;
static char dir[64]; /* fixtures: blobs/, test.conf, stderr */
static char conf[128];
static char err_path[128];
static char logged[4096]; /* what the last parse() logged */

/* Runs args_parse() on a NULL-terminated list, with stderr caught into logged. */
static int parse_argv(struct settings *cfg, struct args *a, const char **list)
{
	char *argv[32] = { (char *)"cachefiles-supervisor" };
	int argc = 1, saved = dup(2), fd, r;
	FILE *f;

	while (*list)
		argv[argc++] = (char *)*list++;
	fflush(stderr);
	fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && saved >= 0 && dup2(fd, 2) == 2);
	close(fd);
	r = args_parse(argc, argv, cfg, a);
	fflush(stderr);
	CHECK(dup2(saved, 2) == 2);
	close(saved);
	CHECK((f = fopen(err_path, "r")));
	logged[fread(logged, 1, sizeof(logged) - 1, f)] = '\0';
	fclose(f);
	return r;
}

#define PARSE(cfg, a, ...) parse_argv((cfg), (a), (const char *[]){ __VA_ARGS__, NULL })

/* What one refused command line logged: exactly one line, returned without its "<3>name: " prefix. */
static const char *one_error(void)
{
	const char *nl = strchr(logged, '\n'), *text = strstr(logged, ": ");

	if (!nl || nl[1] != '\0' || strncmp(logged, "<3>", 3) != 0 || !text) {
		fprintf(stderr, "expected one error line, got:\n%s", logged);
		exit(1);
	}
	static char line[1024];
	snprintf(line, sizeof(line), "%.*s", (int)(nl - text - 2), text + 2);
	return line;
}

static void expect_refused(const char *want, const char **list)
{
	struct settings cfg = { 0 };
	struct args a;
	const char *got;

	CHECK_EQ(parse_argv(&cfg, &a, list), -EINVAL);
	got = one_error();
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "got:  %s\nwant: %s\n", got, want);
		exit(1);
	}
	printf("  %s\n", got);
	args_free(&a);
}

#define REFUSED(want, ...) expect_refused((want), (const char *[]){ __VA_ARGS__, NULL })

static void zero_timeout_crash_limit_and_bad_workers_say_why(void)
{
	REFUSED("--request-timeout '0': expected a duration from 1ms to 3600s, e.g. 30s or 500ms, or a number of "
		"milliseconds",
		"--blob-dir", dir, "--request-timeout", "0");
	REFUSED("--crash-limit '0': expected a whole number from 1 to 100", "--blob-dir", dir, "--crash-limit", "0");
	REFUSED("--workers 'x': expected a whole number from 1 to 32", "--blob-dir", dir, "--workers", "x");
	REFUSED("--workers '0': expected a whole number from 1 to 32", "--blob-dir", dir, "-w", "0");
	REFUSED("--prefetch needs --workers 2 or more (one worker always stays free for READs)", "--blob-dir", dir,
		"--prefetch", "all", "--workers", "1");
	REFUSED("--workers goes with --blob-dir; with a config file, set workers in its [domain NAME] sections",
		"--workers", "3");
	REFUSED("--crash-limit goes with --blob-dir; with a config file, set crash_limit in its [cache] section", "-c",
		conf, "--crash-limit", "3");
	REFUSED("--blob-dir and --config exclude each other: one domain from the command line, or the domains of a "
		"config file",
		"--blob-dir", dir, "-c", conf);
	REFUSED("unexpected argument 'extra' (see --help)", "--blob-dir", dir, "extra");
}

/* The explanation after "KEY = 'VALUE': " in the file's one error. */
static const char *file_error(const char *section, const char *key, const char *value)
{
	static char why[512];
	struct config cfg;
	struct config_errors errs;
	char head[128];
	FILE *f = fopen(conf, "w");
	const char *at;

	CHECK(f);
	if (strcmp(section, "cache") == 0)
		fprintf(f, "[cache]\n%s = %s\n[domain a]\nvolume = a\nblob_dir = %s\n", key, value, dir);
	else
		fprintf(f, "[domain a]\nvolume = a\nblob_dir = %s\n%s = %s\n", dir, key, value);
	CHECK(fclose(f) == 0);
	CHECK_EQ(config_load(conf, &cfg, &errs), -EINVAL);
	CHECK_EQ(errs.n, 1);
	snprintf(head, sizeof(head), "%s = '%s': ", key, value);
	at = strstr(errs.list[0].text, head);
	CHECK(at);
	snprintf(why, sizeof(why), "%s", at + strlen(head));
	return why;
}

static void both_modes_explain_a_bad_value_alike(void)
{
	static const struct {
		const char *section, *key, *option, *value;
	} cases[] = {
		{ "domain", "workers", "--workers", "x" },
		{ "domain", "workers", "--workers", "33" },
		{ "cache", "crash_limit", "--crash-limit", "0" },
		{ "cache", "crash_limit", "--crash-limit", "101" },
		{ "domain", "read_window", "--read-window", "65M" },
		{ "domain", "read_window", "--read-window", "1000" },
		{ "domain", "readahead", "--readahead", "2G" },
		{ "domain", "prefetch", "--prefetch", "some" },
		{ "domain", "prefetch", "--prefetch", "0" },
		{ "domain", "prefetch_rate", "--prefetch-rate", "4X" },
		{ "domain", "sandbox", "--seccomp", "off" },
		{ "domain", "worker_user", "--worker-user", "-x" },
		{ "cache", "tag", "--tag", "a/b" },
		{ "cache", "dir", "--cache-dir", "var/cache" },
		{ "cache", "device", "--device", "cachefiles" },
	};
	char want[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "%s '%s': %s", cases[i].option, cases[i].value,
			 file_error(cases[i].section, cases[i].key, cases[i].value));
		REFUSED(want, "--blob-dir", dir, cases[i].option, cases[i].value);
	}
	/* Durations: the file wants a unit, the command line also takes milliseconds; the range is one. */
	CHECK(strcmp(file_error("cache", "request_timeout", "0s"),
		     "expected a duration from 1ms to 3600s with its unit, e.g. 30s or 500ms") == 0);
	REFUSED("--request-timeout '3601s': expected a duration from 1ms to 3600s, e.g. 30s or 500ms, or a number of "
		"milliseconds",
		"--blob-dir", dir, "--request-timeout", "3601s");
}

static void options_set_the_keys_and_defaults_are_the_files(void)
{
	struct supervisor s = { 0 };
	struct domain d;
	struct args a;
	struct config file;
	struct config_errors errs;
	FILE *f;

	/* Nothing given: the defaults of a [domain] and a [cache] that set nothing. */
	CHECK_EQ(PARSE(&s.cfg, &a, "--blob-dir", dir), ARGS_RUN);
	CHECK((f = fopen(conf, "w")));
	fprintf(f, "[domain a]\nvolume = a\nblob_dir = %s\n", dir);
	CHECK(fclose(f) == 0);
	CHECK_EQ(config_load(conf, &file, &errs), 0);
	CHECK(memcmp(&a.keys.domains[0].settings, &file.domains[0].settings, sizeof(struct domain_settings)) == 0);
	CHECK(memcmp(&a.keys.cache, &file.cache, sizeof(file.cache)) == 0);
	config_free(&file);
	domains_from_args(&s, &a.keys, &d);
	CHECK(s.config == NULL && s.n_domains == 1 && s.domains == &d);
	CHECK(strcmp(d.name, "default") == 0 && strcmp(d.settings.blob_dir, dir) == 0);
	CHECK_EQ(d.settings.n_workers, 2);
	CHECK_EQ(d.settings.request_timeout_ms, 30000);
	CHECK_EQ(d.settings.read_window, 1 << 20);
	CHECK_EQ(d.settings.readahead, 32 << 20);
	CHECK(strcmp(d.sandbox.user, "cachefiles-worker") == 0 && d.sandbox.user == d.settings.worker_user);
	CHECK(strcmp(s.cfg.cache_dir, "/var/cache/cachefiles") == 0 && strcmp(s.cfg.tag, "cfs") == 0);
	CHECK(strcmp(s.cfg.device_path, "/dev/cachefiles") == 0);
	CHECK_EQ(s.cfg.request_timeout_ms, 30000);
	CHECK_EQ(s.cfg.crash_limit, 3);
	CHECK_EQ(s.cfg.max_objects, 24576);
	args_free(&a);

	s = (struct supervisor){ 0 };
	CHECK_EQ(PARSE(&s.cfg, &a, "-b", dir, "-w", "4", "--worker-user", "nobody", "--seccomp", "log",
		       "--request-timeout", "1500", "--crash-limit", "20", "--read-window", "4M", "--readahead", "0",
		       "--prefetch", "64M", "--prefetch-rate", "8M", "-d", "/var/cache/x", "-t", "t1", "--device",
		       "/dev/null", "--worker-exe", "/bin/true", "--control", "", "-v"),
		 ARGS_RUN);
	CHECK_EQ(logged[0], '\0');
	domains_from_args(&s, &a.keys, &d);
	CHECK_EQ(d.settings.n_workers, 4);
	CHECK(strcmp(d.settings.worker_user, "nobody") == 0 && d.settings.seccomp_log);
	CHECK_EQ(d.settings.request_timeout_ms, 1500); /* a plain number: milliseconds, as always */
	CHECK_EQ(d.settings.read_window, 4 << 20);
	CHECK_EQ(d.settings.readahead, 0);
	CHECK_EQ(d.settings.prefetch, 64 << 20);
	CHECK_EQ(d.settings.prefetch_rate, 8 << 20);
	CHECK(strcmp(s.cfg.cache_dir, "/var/cache/x") == 0 && strcmp(s.cfg.tag, "t1") == 0);
	CHECK(strcmp(s.cfg.device_path, "/dev/null") == 0 && strcmp(s.cfg.worker_exe, "/bin/true") == 0);
	CHECK(strcmp(s.cfg.control_path, "") == 0 && a.verbose);
	CHECK_EQ(s.cfg.request_timeout_ms, 1500);
	CHECK_EQ(s.cfg.crash_limit, 20);
	args_free(&a);

	/* The file's spelling works on the command line too. */
	CHECK_EQ(PARSE(&s.cfg, &a, "--blob-dir", dir, "--request-timeout", "2s", "--prefetch", "all"), ARGS_RUN);
	CHECK_EQ(a.keys.domains[0].settings.request_timeout_ms, 2000);
	CHECK(a.keys.domains[0].settings.prefetch == CONFIG_PREFETCH_ALL);
	args_free(&a);
	CHECK_EQ(PARSE(&s.cfg, &a, "--blob-dir", dir, "--seccomp", "enforce"), ARGS_RUN);
	CHECK(!a.keys.domains[0].settings.seccomp_log);
	args_free(&a);
	CHECK_EQ(PARSE(&s.cfg, &a, "-c", conf, "--check-config"), ARGS_RUN);
	CHECK(a.check_config && !a.blob_dir_mode && strcmp(a.config_path, conf) == 0);
	args_free(&a);
}

static void help_names_every_option_with_its_default(void)
{
	char *text = NULL, short_opt, want[64];
	size_t len = 0;
	const char *option;
	FILE *f = open_memstream(&text, &len);

	CHECK(f);
	args_usage(f, "/usr/libexec/cachefiles-worker");
	CHECK(fclose(f) == 0);
	for (unsigned i = 0; (option = config_args_option(i, &short_opt)); i++) {
		snprintf(want, sizeof(want), "%s ", option);
		CHECK(strstr(text, want));
		snprintf(want, sizeof(want), "-%c, %s ", short_opt, option);
		CHECK(!short_opt || strstr(text, want));
	}
	CHECK(strstr(text, "[1M]") && strstr(text, "[32M]") && strstr(text, "[30s]") && strstr(text, "[enforce]"));
	free(text);
}

/* The binary itself: one line on stderr, status 2, nothing on stdout. */
static void the_binary_exits_2_with_one_message(void)
{
	static const char *const bad[][3] = {
		{ "--request-timeout", "0" },
		{ "--crash-limit", "0" },
		{ "--workers", "x" },
	};

	if (!supervisor_bin) {
		printf("  (no binary given: skipped)\n");
		return;
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int status, fd;
		pid_t pid;
		FILE *f;

		fflush(NULL);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
				_exit(99);
			execl(supervisor_bin, supervisor_bin, "--blob-dir", dir, bad[i][0], bad[i][1], (char *)NULL);
			_exit(98);
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status));
		CHECK_EQ(WEXITSTATUS(status), 2);
		CHECK((f = fopen(err_path, "r")));
		logged[fread(logged, 1, sizeof(logged) - 1, f)] = '\0';
		fclose(f);
		printf("  %s %s: status 2, %s", bad[i][0], bad[i][1], logged);
		CHECK(strstr(one_error(), bad[i][0]) == one_error());
	}
}

int main(int argc, char **argv)
{
	char path[128];

	supervisor_bin = argc > 1 ? argv[1] : NULL;
	snprintf(dir, sizeof(dir), "/tmp/cfs-test-args.XXXXXX");
	CHECK(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/test.conf", dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);

	RUN(zero_timeout_crash_limit_and_bad_workers_say_why);
	RUN(both_modes_explain_a_bad_value_alike);
	RUN(options_set_the_keys_and_defaults_are_the_files);
	RUN(help_names_every_option_with_its_default);
	RUN(the_binary_exits_2_with_one_message);
	snprintf(path, sizeof(path), "%s/stderr", dir);
	(void)unlink(path);
	CHECK(unlink(conf) == 0 && rmdir(dir) == 0);
	return 0;
}
