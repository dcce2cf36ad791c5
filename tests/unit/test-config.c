/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The configuration file: every error class with its exact "PATH:LINE:
 * message", a valid multi-domain file with its defaults, and routing of
 * volume keys (exact over glob, file order among globs, no match).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

int cfs_log_max_priority = 7;

static char dir[64];   /* fixtures: blobs-a/, blobs-b/, a-file, test.conf */
static char conf[128]; /* the file under test */
static char expanded[8192];

/* The template with every "$D" replaced by the fixture directory. */
static const char *expand(const char *template)
{
	size_t n = 0;

	for (const char *s = template; *s && n + sizeof(dir) < sizeof(expanded); s++) {
		if (s[0] == '$' && s[1] == 'D') {
			n += (size_t)snprintf(expanded + n, sizeof(expanded) - n, "%s", dir);
			s++;
		} else
			expanded[n++] = *s;
	}
	expanded[n] = '\0';
	return expanded;
}

static void write_conf(const char *text)
{
	FILE *f = fopen(conf, "w");
	CHECK(f);
	CHECK(fputs(expand(text), f) >= 0);
	CHECK(fclose(f) == 0);
}

static int load(const char *text, struct config *cfg, struct config_errors *errs)
{
	write_conf(text);
	return config_load(conf, cfg, errs);
}

static void check_error(const struct config_errors *errs, unsigned i, unsigned line, const char *message)
{
	char want[1024];

	CHECK(i < errs->n);
	if (line)
		snprintf(want, sizeof(want), "%s:%u: %s", conf, line, expand(message));
	else
		snprintf(want, sizeof(want), "%s: %s", conf, expand(message));
	if (strcmp(errs->list[i].text, want) != 0 || errs->list[i].line != line) {
		fprintf(stderr, "error %u:\n  got:  %s (line %u)\n  want: %s (line %u)\n", i, errs->list[i].text,
			errs->list[i].line, want, line);
		exit(1);
	}
	printf("  %s\n", errs->list[i].text);
}

/* The file must be refused with exactly this one error. */
static void expect_error(const char *text, unsigned line, const char *message)
{
	struct config cfg;
	struct config_errors errs;

	CHECK_EQ(load(text, &cfg, &errs), -EINVAL);
	if (errs.n != 1)
		for (unsigned i = 0; i < errs.n; i++)
			fprintf(stderr, "  unexpected: %s\n", errs.list[i].text);
	CHECK_EQ(errs.n, 1);
	check_error(&errs, 0, line, message);
	CHECK(cfg.domains == NULL && cfg.n_domains == 0);
}

#define DOMAIN_A "[domain a]\nvolume = img\nblob_dir = $D/blobs-a\n"

static void unknown_section_is_named(void)
{
	expect_error(DOMAIN_A "[caches]\ndir = /x\n", 4, "unknown section [caches]: expected [cache] or [domain NAME]");
}

static void unknown_key_suggests_what_was_meant(void)
{
	expect_error(DOMAIN_A "worker = 3\n", 4, "unknown key 'worker' in [domain a]; did you mean 'workers'?");
	expect_error("[cache]\nblob_dir = /x\n" DOMAIN_A, 2,
		     "unknown key 'blob_dir' in [cache]: it belongs in a [domain NAME] section");
	expect_error(DOMAIN_A "crash_limit = 3\n", 4,
		     "unknown key 'crash_limit' in [domain a]: it belongs in the [cache] section");
	expect_error(DOMAIN_A "colour = blue\n", 4,
		     "unknown key 'colour' in [domain a]; known keys: volume, blob_dir, workers, worker_user, "
		     "request_timeout, sandbox, read_window, readahead, prefetch, prefetch_rate, origin, proxy, "
		     "redirect_hosts, credentials, ca_file, fetch_deadline");
	expect_error("dir = /x\n" DOMAIN_A, 1, "'dir' is outside any section: put it under [cache] or [domain NAME]");
}

static void bad_values_say_what_is_expected(void)
{
	expect_error(DOMAIN_A "workers = 0\n", 4, "workers = '0': expected a whole number from 1 to 32");
	expect_error(DOMAIN_A "workers = 33\n", 4, "workers = '33': expected a whole number from 1 to 32");
	expect_error(DOMAIN_A "workers = 2x\n", 4, "workers = '2x': expected a whole number from 1 to 32");
	expect_error("[cache]\nmax_objects = -1\n" DOMAIN_A, 2,
		     "max_objects = '-1': expected a whole number from 1 to 26000");
	/* Beyond what a restart could hand back: the error says why there is a limit. */
	expect_error("[cache]\nmax_objects = 30000\n" DOMAIN_A, 2,
		     "max_objects = '30000': expected a whole number from 1 to 26000; after a restart or re-exec "
		     "every object's fd comes back with its name, all names in one LISTEN_FDNAMES environment "
		     "string, and Linux refuses one over 128 KiB: more objects could not all be recovered");
	expect_error("[cache]\ncrash_limit = 99999999999999999999999\n" DOMAIN_A, 2,
		     "crash_limit = '99999999999999999999999': expected a whole number from 1 to 100");
	expect_error("[cache]\nrequest_timeout = 30\n" DOMAIN_A, 2,
		     "request_timeout = '30': expected a duration from 1ms to 3600s with its unit, e.g. 30s or 500ms");
	expect_error(DOMAIN_A "request_timeout = 0s\n", 4,
		     "request_timeout = '0s': expected a duration from 1ms to 3600s with its unit, e.g. 30s or 500ms");
	expect_error(
		DOMAIN_A "request_timeout = 3601s\n", 4,
		"request_timeout = '3601s': expected a duration from 1ms to 3600s with its unit, e.g. 30s or 500ms");
	expect_error(DOMAIN_A "read_window = 65M\n", 4,
		     "read_window = '65M': expected a size from 0 to 64M in multiples of 4K, e.g. 512K or 4M");
	expect_error(DOMAIN_A "readahead = 2G\n", 4,
		     "readahead = '2G': expected a size from 0 to 1G in multiples of 4K, e.g. 512K or 4M");
	expect_error(DOMAIN_A "read_window = 1000\n", 4,
		     "read_window = '1000': expected a size from 0 to 64M in multiples of 4K, e.g. 512K or 4M");
	expect_error(DOMAIN_A "prefetch = some\n", 4,
		     "prefetch = 'some': expected 'none', 'all' or the size of each blob's start to fill, in "
		     "multiples of 4K, e.g. 64M");
	expect_error(DOMAIN_A "prefetch = 0\n", 4,
		     "prefetch = '0': expected 'none', 'all' or the size of each blob's start to fill, in "
		     "multiples of 4K, e.g. 64M");
	expect_error(DOMAIN_A "prefetch_rate = 2G\n", 4,
		     "prefetch_rate = '2G': expected a size from 0 to 1G in multiples of 4K, e.g. 512K or 4M");
	expect_error(DOMAIN_A "sandbox = off\n", 4,
		     "sandbox = 'off': expected 'enforce' (a forbidden system call kills the worker) or 'log' "
		     "(it is only logged)");
	expect_error(DOMAIN_A "worker_user = -x\n", 4,
		     "worker_user = '-x': expected a user name, 1 to 32 of A-Z a-z 0-9 _ . - not starting with '-'");
	expect_error("[cache]\ntag = a b\n" DOMAIN_A, 2, "tag = 'a b': expected 1 to 63 of A-Z a-z 0-9 _ . -");
	expect_error("[cache]\ndir = var/cache\n" DOMAIN_A, 2, "dir = 'var/cache': expected an absolute path");
}

static void duplicate_domain_is_refused(void)
{
	expect_error(DOMAIN_A "\n[domain a]\nvolume = other\nblob_dir = $D/blobs-b\n", 5,
		     "duplicate [domain a] (the first is at line 1): domain names must be unique");
}

static void bad_domain_names_are_refused(void)
{
	expect_error(DOMAIN_A "[domain]\n", 4, "[domain] needs a name: [domain NAME]");
	expect_error(DOMAIN_A "[domain a/b]\n", 4, "invalid domain name 'a/b': use 1 to 63 of A-Z a-z 0-9 _ . -");
}

static void refused_domain_still_has_its_keys_checked(void)
{
	struct config cfg;
	struct config_errors errs;

	CHECK_EQ(load(DOMAIN_A "[domain a]\nworkers = 2\nworkers = 3\n", &cfg, &errs), -EINVAL);
	CHECK_EQ(errs.n, 2);
	check_error(&errs, 0, 4, "duplicate [domain a] (the first is at line 1): domain names must be unique");
	check_error(&errs, 1, 6, "duplicate key 'workers' in [domain a] (first set at line 5)");
}

static void duplicate_key_is_refused(void)
{
	expect_error(DOMAIN_A "workers = 2\nworkers = 4\n", 5,
		     "duplicate key 'workers' in [domain a] (first set at line 4)");
	expect_error(DOMAIN_A "volume = other\n", 4, "duplicate key 'volume' in [domain a] (first set at line 2)");
	expect_error("[cache]\ntag = x\ntag = y\n" DOMAIN_A, 3, "duplicate key 'tag' in [cache] (first set at line 2)");
}

static void missing_required_key_names_the_section(void)
{
	expect_error("[cache]\n\n[domain a]\nvolume = img\nworkers = 2\n", 3,
		     "[domain a] lacks 'blob_dir': set it to the directory holding its blobs");
	expect_error("[domain a]\nblob_dir = $D/blobs-a\n", 1,
		     "[domain a] lacks 'volume': list the volume keys it serves, e.g. volume = erofs,images-*");
	/* Present but empty would serve nothing, without a word (issue 20). */
	expect_error("[domain a]\nvolume =\nblob_dir = $D/blobs-a\n", 2,
		     "[domain a]: 'volume' lists no pattern: list the volume keys it serves, e.g. volume = "
		     "erofs,images-*");
}

static void blob_dir_must_be_an_existing_directory(void)
{
	expect_error("[domain a]\nvolume = img\nblob_dir = $D/nowhere\n", 3,
		     "blob_dir '$D/nowhere' does not exist: create it or fix the path");
	expect_error("[domain a]\nvolume = img\nblob_dir = $D/a-file\n", 3, "blob_dir '$D/a-file' is not a directory");
	expect_error("[domain a]\nvolume = img\nblob_dir = blobs\n", 3,
		     "blob_dir = 'blobs': expected an absolute path");
}

static void volume_claimed_twice_is_refused(void)
{
	/* "img" is short for "erofs,img": the same volume. */
	expect_error(DOMAIN_A "[domain b]\nvolume = erofs,img\nblob_dir = $D/blobs-b\n", 5,
		     "volume pattern 'erofs,img' is already claimed by [domain a] (line 2): "
		     "a volume key must route to one domain");
	expect_error(DOMAIN_A "[domain b]\nvolume = web-* x\nblob_dir = $D/blobs-b\n"
			      "[domain c]\nvolume = y web-*\nblob_dir = $D/blobs-b\n",
		     8,
		     "volume pattern 'erofs,web-*' is already claimed by [domain b] (line 5): "
		     "a volume key must route to one domain");
	expect_error("[domain a]\nvolume = img\n  erofs,img\nblob_dir = $D/blobs-a\n", 3,
		     "volume pattern 'erofs,img' is listed twice in [domain a] (also at line 2)");
}

static void bad_volume_patterns_are_refused(void)
{
	expect_error("[domain a]\nvolume = nfs,img\nblob_dir = $D/blobs-a\n", 2,
		     "volume pattern 'nfs,img' is not an erofs volume key: keys are erofs,<domain_id|fsid>: "
		     "write 'erofs,ID' or just 'ID'");
	expect_error("[domain a]\nvolume = erofs,\nblob_dir = $D/blobs-a\n", 2,
		     "volume pattern 'erofs,' names no volume after 'erofs,'");
	expect_error("[domain a]\nvolume = erofs,a,b\nblob_dir = $D/blobs-a\n", 2,
		     "volume pattern 'erofs,a,b' can never match: a domain_id or fsid holds no ','");
}

static void too_many_volume_patterns_are_refused(void)
{
	char text[2048] = "[domain a]\nblob_dir = $D/blobs-a\nvolume =";

	/* 33 patterns, 11 a line, so no line is too long. */
	for (int i = 0; i < 33; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s v%02d", i && i % 11 == 0 ? "\n " : "",
			 i);
	strcat(text, "\n");
	expect_error(text, 5, "[domain a] has more than 32 volume patterns");
}

static void no_domain_is_refused(void)
{
	expect_error("[cache]\ntag = cfs\n", 0,
		     "no [domain NAME] section: add one that routes volume keys to a blob_dir");
	expect_error("", 0, "no [domain NAME] section: add one that routes volume keys to a blob_dir");
}

static void second_cache_is_refused_with_the_kernel_rule(void)
{
	expect_error("[cache]\ntag = one\n" DOMAIN_A "[cache]\ntag = two\n", 6,
		     "second [cache] section (the first is at line 1): the kernel allows one cachefiles cache per "
		     "machine (a second open of /dev/cachefiles fails with EBUSY): serve several sources as "
		     "[domain NAME] sections behind the one [cache]");
	expect_error("[cache big]\n" DOMAIN_A, 1,
		     "[cache big]: the cache takes no name: the kernel allows one cachefiles cache per machine (a "
		     "second open of /dev/cachefiles fails with EBUSY): serve several sources as [domain NAME] "
		     "sections behind the one [cache]");
}

static void long_line_is_refused_not_cut(void)
{
	char text[1024], value[256];
	struct config cfg;
	struct config_errors errs;

	/* "blob_dir = " + 186 bytes = 197: the longest line inih reads whole. */
	snprintf(value, sizeof(value), "%s/blobs-a", dir);
	snprintf(text, sizeof(text), "[domain a]\nvolume = img\nblob_dir = %s%*s\n", value, (int)(186 - strlen(value)),
		 "");
	CHECK_EQ(load(text, &cfg, &errs), 0);
	CHECK(strcmp(cfg.domains[0].settings.blob_dir, value) == 0);
	config_free(&cfg);

	snprintf(text, sizeof(text), "[domain a]\nvolume = img\nblob_dir = $D/blobs-a\n; %0196d\n", 0);
	expect_error(text, 4,
		     "line is 198 bytes long, more than the 197 the ini parser reads: shorten it "
		     "(a long volume list may go on over indented lines)");
	/* Keys under a header that was too long go nowhere, not to the section before it. */
	snprintf(text, sizeof(text), DOMAIN_A "[domain %0200d]\nvolume = x\nblob_dir = /x\n", 0);
	expect_error(text, 4,
		     "line is 209 bytes long, more than the 197 the ini parser reads: shorten it "
		     "(a long volume list may go on over indented lines)");
}

static void syntax_errors_are_reported(void)
{
	expect_error(DOMAIN_A "[domain b\n", 4, "section header lacks its closing ']'");
	expect_error(DOMAIN_A "workers 2\n", 4, "expected 'KEY = VALUE', a [section] header or a comment");
	expect_error(DOMAIN_A "[domain b] x\nvolume = b\nblob_dir = $D/blobs-b\n", 4, "unexpected text after ']': 'x'");
	expect_error(DOMAIN_A "= 2\n", 4, "a key name is missing before '='");
	expect_error(DOMAIN_A "workers = 2\n  3\n", 5,
		     "'workers' takes one value, but this indented line continues it: "
		     "only a volume list may go on over indented lines");
}

static void every_error_is_listed_in_line_order(void)
{
	struct config cfg;
	struct config_errors errs;

	CHECK_EQ(load("[cache]\ntag = a b\n"
		      "[domain a]\nworkers = 0\nsandbox = strict\n"
		      "[domain b]\nvolume = x\nblob_dir = $D/blobs-b\ncolor = red\n"
		      "[cache]\n",
		      &cfg, &errs),
		 -EINVAL);
	CHECK_EQ(errs.n, 7);
	check_error(&errs, 0, 2, "tag = 'a b': expected 1 to 63 of A-Z a-z 0-9 _ . -");
	check_error(&errs, 1, 3,
		    "[domain a] lacks 'volume': list the volume keys it serves, e.g. volume = erofs,images-*");
	check_error(&errs, 2, 3, "[domain a] lacks 'blob_dir': set it to the directory holding its blobs");
	check_error(&errs, 3, 4, "workers = '0': expected a whole number from 1 to 32");
	CHECK_EQ(errs.list[4].line, 5);
	CHECK_EQ(errs.list[5].line, 9);
	CHECK(strstr(errs.list[5].text, "unknown key 'color' in [domain b]; known keys: "));
	CHECK_EQ(errs.list[6].line, 10);
	CHECK(strstr(errs.list[6].text, "second [cache] section (the first is at line 1)"));
}

static void error_list_is_bounded(void)
{
	char text[4096] = DOMAIN_A;
	struct config cfg;
	struct config_errors errs;

	for (int i = 0; i < 40; i++)
		strcat(text, "workers = 0\n");
	CHECK_EQ(load(text, &cfg, &errs), -EINVAL);
	CHECK_EQ(errs.n, CONFIG_MAX_ERRORS);
	CHECK_EQ(errs.dropped, 40 - CONFIG_MAX_ERRORS);
	printf("  %u errors listed, %u dropped\n", errs.n, errs.dropped);
}

static void missing_file_is_an_errno(void)
{
	struct config cfg;
	struct config_errors errs;

	CHECK(unlink(conf) == 0 || errno == ENOENT);
	CHECK_EQ(config_load(conf, &cfg, &errs), -ENOENT);
	CHECK_EQ(errs.n, 1);
	check_error(&errs, 0, 0, "cannot read the configuration: No such file or directory");
	CHECK_EQ(config_load(dir, &cfg, &errs), -EINVAL);
	CHECK(strstr(errs.list[0].text, ": not a regular file"));
}

static const char valid[] = "\xef\xbb\xbf# two domains behind the one cache\r\n"
			    "[cache]\r\n"
			    "dir = /var/cache/cfs-test ; inline comment\n"
			    "request_timeout = 1500ms\n"
			    "crash_limit = 5\n"
			    "\n"
			    "[domain images]\n"
			    "volume = erofs,base-img app-*\n"
			    "    erofs,shared-?\n"
			    "\n"
			    "    tools\n"
			    "blob_dir = $D/blobs-a\n"
			    "workers = 4\n"
			    "sandbox = log\n"
			    "read_window = 512K\n"
			    "readahead = 0\n"
			    "prefetch = 1G\n"
			    "prefetch_rate = 8M\n"
			    "\n"
			    "[domain fallback]\n"
			    "volume : *\n"
			    "  app-special\n"
			    "blob_dir = $D/blobs-b\n"
			    "worker_user = cfs-fallback\n"
			    "request_timeout = 2s\n"
			    "prefetch = all\n";

static void valid_file_gives_values_and_defaults(void)
{
	struct config cfg;
	struct config_errors errs;

	CHECK_EQ(load(valid, &cfg, &errs), 0);
	CHECK_EQ(errs.n, 0);
	CHECK(strcmp(cfg.cache.dir, "/var/cache/cfs-test") == 0);
	CHECK(strcmp(cfg.cache.tag, "cfs") == 0);
	CHECK(strcmp(cfg.cache.device, "/dev/cachefiles") == 0);
	CHECK_EQ(cfg.cache.max_objects, 24576);
	CHECK_EQ(cfg.cache.request_timeout_ms, 1500);
	CHECK_EQ(cfg.cache.crash_limit, 5);
	/* cachefilesd's defaults, not the kernel's 7/5/1 */
	CHECK(cfg.cache.space.blocks.run == 10 && cfg.cache.space.blocks.cull == 7 && cfg.cache.space.blocks.stop == 3);
	CHECK(cfg.cache.space.files.run == 10 && cfg.cache.space.files.cull == 7 && cfg.cache.space.files.stop == 3);
	CHECK_EQ(cfg.cache.space.max_size, 0);
	CHECK_EQ(cfg.n_domains, 2);

	const struct config_domain *a = &cfg.domains[0], *b = &cfg.domains[1];
	CHECK(strcmp(a->name, "images") == 0);
	CHECK_EQ(a->line, 7);
	CHECK_EQ(a->n_volumes, 4);
	CHECK(strcmp(a->volumes[0].pattern, "erofs,base-img") == 0 && !a->volumes[0].glob);
	CHECK(strcmp(a->volumes[1].pattern, "erofs,app-*") == 0 && a->volumes[1].glob);
	CHECK(strcmp(a->volumes[2].pattern, "erofs,shared-?") == 0 && a->volumes[2].glob);
	CHECK(strcmp(a->volumes[3].pattern, "erofs,tools") == 0 && a->volumes[3].line == 11);
	CHECK(strcmp(a->settings.blob_dir, expand("$D/blobs-a")) == 0);
	CHECK_EQ(a->settings.n_workers, 4);
	CHECK(strcmp(a->settings.worker_user, "cachefiles-worker") == 0);
	CHECK_EQ(a->settings.request_timeout_ms, 1500); /* the cache's */
	CHECK(a->settings.seccomp_log);
	CHECK_EQ(a->settings.read_window, 512 * 1024);
	CHECK_EQ(a->settings.readahead, 0);
	CHECK_EQ(a->settings.prefetch, 1ull << 30);
	CHECK_EQ(a->settings.prefetch_rate, 8 << 20);

	CHECK(strcmp(b->name, "fallback") == 0);
	CHECK_EQ(b->n_volumes, 2);
	CHECK_EQ(b->settings.n_workers, 2);
	CHECK(strcmp(b->settings.worker_user, "cfs-fallback") == 0);
	CHECK_EQ(b->settings.request_timeout_ms, 2000);
	CHECK(!b->settings.seccomp_log);
	CHECK_EQ(b->settings.read_window, 1u << 20);
	CHECK_EQ(b->settings.readahead, 32u << 20);
	CHECK(b->settings.prefetch == CONFIG_PREFETCH_ALL);
	CHECK_EQ(b->settings.prefetch_rate, 0);
	config_free(&cfg);
	CHECK(cfg.domains == NULL);
}

static void routing_prefers_exact_then_file_order(void)
{
	struct config cfg;
	struct config_errors errs;

	CHECK_EQ(load(valid, &cfg, &errs), 0);
	CHECK_EQ(config_route(&cfg, "erofs,base-img"), 0);
	CHECK_EQ(config_route(&cfg, "erofs,tools"), 0);
	CHECK_EQ(config_route(&cfg, "erofs,app-1"), 0);	      /* both globs match: the first domain */
	CHECK_EQ(config_route(&cfg, "erofs,app-special"), 1); /* exact in the second beats the first's glob */
	CHECK_EQ(config_route(&cfg, "erofs,shared-x"), 0);
	CHECK_EQ(config_route(&cfg, "erofs,shared-xy"), 1);
	CHECK_EQ(config_route(&cfg, "erofs,anything"), 1);
	CHECK_EQ(config_route(&cfg, "tools"), -ENOENT); /* keys are matched as the kernel sends them */
	CHECK_EQ(config_route(&cfg, "nfs,tools"), -ENOENT);
	config_free(&cfg);

	CHECK_EQ(load("[domain a]\nvolume = one t*\nblob_dir = $D/blobs-a\n", &cfg, &errs), 0);
	CHECK_EQ(config_route(&cfg, "erofs,one"), 0);
	CHECK_EQ(config_route(&cfg, "erofs,two"), 0);
	CHECK_EQ(config_route(&cfg, "erofs,three"), 0);
	CHECK_EQ(config_route(&cfg, "erofs,four"), -ENOENT);
	config_free(&cfg);
}

/* The example in conf/, its blob dirs pointed at the fixtures, loads and routes as its comments say. */
static void shipped_example_loads(void)
{
	const char *slash = strrchr(__FILE__, '/');
	char path[512], line[512], text[8192] = "";
	unsigned blob_dirs = 0;
	struct config cfg;
	struct config_errors errs;
	FILE *f;

	/* __FILE__ is relative to the build root, where meson test runs. */
	snprintf(path, sizeof(path), "%.*s/../../conf/cachefiles-supervisor.conf", (int)(slash - __FILE__), __FILE__);
	f = fopen(path, "r");
	if (!f)
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "blob_dir = ", strlen("blob_dir = ")) == 0)
			snprintf(line, sizeof(line), "blob_dir = $D/blobs-%c\n", 'a' + blob_dirs++);
		CHECK(strlen(text) + strlen(line) < sizeof(text));
		strcat(text, line);
	}
	fclose(f);
	CHECK_EQ(blob_dirs, 2);
	CHECK_EQ(load(text, &cfg, &errs), 0);
	CHECK_EQ(cfg.n_domains, 2);
	CHECK_EQ(config_route(&cfg, "erofs,base-os"), 0);
	CHECK_EQ(config_route(&cfg, "erofs,app-web"), 0);
	CHECK_EQ(config_route(&cfg, "erofs,tools-1"), 0);
	CHECK_EQ(config_route(&cfg, "erofs,ci-main"), 1);
	CHECK_EQ(config_route(&cfg, "erofs,other"), -ENOENT);
	CHECK_EQ(cfg.domains[0].settings.request_timeout_ms, 30000);
	CHECK_EQ(cfg.domains[1].settings.request_timeout_ms, 120000);
	printf("  %s: %u domains\n", path, cfg.n_domains);
	config_free(&cfg);
}

/* ---- remote domains ---- */

static void put_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK((f = fopen(path, "w")) && fputs(text, f) >= 0 && fclose(f) == 0);
	CHECK(chmod(path, mode) == 0);
}

#define REMOTE_A DOMAIN_A "origin = registry https://registry.example:5000/library/base-os\n"

static void remote_domain_gives_its_settings(void)
{
	struct config cfg;
	struct config_errors errs;
	const struct remote_settings *r;

	put_file("creds", "basic alice:s3cr:et\n", 0600);
	put_file("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 0644);
	CHECK_EQ(load(REMOTE_A "proxy = http://10.0.0.1:3128\ncredentials = $D/creds\nca_file = $D/ca.pem\n"
			       "fetch_deadline = 10s\n"
			       "[domain b]\nvolume = web\nblob_dir = $D/blobs-b\n"
			       "origin = url   https://[fd00::1]/blobs/{hex}.erofs\n",
		      &cfg, &errs),
		 0);
	r = &cfg.domains[0].settings.remote;
	CHECK_EQ(r->origin.kind, ORIGIN_REGISTRY);
	CHECK(strcmp(r->origin.host, "registry.example") == 0 && r->origin.port == 5000);
	CHECK(strcmp(r->origin.path, "library/base-os") == 0);
	CHECK(strcmp(r->proxy.host, "10.0.0.1") == 0 && r->proxy.port == 3128);
	CHECK(strcmp(r->credentials, expand("$D/creds")) == 0);
	CHECK_EQ(r->fetch_deadline_ms, 10000);
	r = &cfg.domains[1].settings.remote;
	CHECK_EQ(r->origin.kind, ORIGIN_URL);
	CHECK(strcmp(r->origin.host, "[fd00::1]") == 0 && r->origin.port == 443);
	CHECK(strcmp(r->origin.path, "/blobs/{hex}.erofs") == 0);
	CHECK_EQ(r->proxy.port, 0);
	CHECK_EQ(r->fetch_deadline_ms, 20000); /* the default, below request_timeout's 30s */
	CHECK_EQ(cfg.domains[1].settings.remote.credentials[0], '\0');
	config_free(&cfg);
}

static void origins_are_https_and_say_one_thing(void)
{
	expect_error(DOMAIN_A "origin = https://r.example/x\n", 4,
		     "origin = 'https://r.example/x': expected 'registry https://HOST[:PORT]/REPOSITORY' or "
		     "'url https://HOST[:PORT]/PATH' with {digest} or {hex} in PATH");
	expect_error(DOMAIN_A "origin = registry http://r.example/x\n", 4,
		     "origin = 'registry http://r.example/x': is plain http: credentials, and which blobs this node "
		     "reads, would cross the network in clear; use https://");
	expect_error(DOMAIN_A "origin = registry https://bob:pw@r.example/x\n", 4,
		     "origin = 'registry https://bob:pw@r.example/x': has user information before '@': credentials "
		     "go in a file of their own (credentials = /path), never in a URL");
	expect_error(DOMAIN_A "origin = registry https://r.example:0/x\n", 4,
		     "origin = 'registry https://r.example:0/x': has a port that is not a number from 1 to 65535");
	expect_error(DOMAIN_A "origin = registry https://r.example:65536/x\n", 4,
		     "origin = 'registry https://r.example:65536/x': has a port that is not a number from 1 to 65535");
	expect_error(DOMAIN_A "origin = registry https://r..example/x\n", 4,
		     "origin = 'registry https://r..example/x': names no valid host: a DNS name, an IPv4 address or "
		     "[an IPv6 one]");
	expect_error(DOMAIN_A "origin = registry https://r.example\n", 4,
		     "origin = 'registry https://r.example': names no repository: write registry "
		     "https://HOST[:PORT]/REPOSITORY");
	expect_error(DOMAIN_A "origin = registry https://r.example/v2/library/x\n", 4,
		     "origin = 'registry https://r.example/v2/library/x': names the registry's API path: give the "
		     "repository alone (for /v2/library/ubuntu/blobs/... write https://HOST/library/ubuntu)");
	expect_error(DOMAIN_A "origin = registry https://r.example/Library/x\n", 4,
		     "origin = 'registry https://r.example/Library/x': names no valid repository: lowercase a-z 0-9 "
		     "components, separated by '.', '_', '__' or dashes, joined by '/' (distribution's reference "
		     "grammar)");
	expect_error(DOMAIN_A "origin = registry https://r.example/a//b\n", 4,
		     "origin = 'registry https://r.example/a//b': names no valid repository: lowercase a-z 0-9 "
		     "components, separated by '.', '_', '__' or dashes, joined by '/' (distribution's reference "
		     "grammar)");
	expect_error(DOMAIN_A "origin = url https://o.example/blobs/latest\n", 4,
		     "origin = 'url https://o.example/blobs/latest': has no {digest} (sha256:HEX) or {hex} (HEX) in "
		     "its path: every blob would be fetched from the same URL");
	expect_error(DOMAIN_A "origin = url https://o.example/{digest}/{hex}\n", 4,
		     "origin = 'url https://o.example/{digest}/{hex}': has more than one {digest} or {hex}: give the "
		     "blob's digest once");
	expect_error(DOMAIN_A "origin = url https://o.example/{name}\n", 4,
		     "origin = 'url https://o.example/{name}': has a character a URL must escape, or a placeholder "
		     "other than {digest} and {hex}");
	expect_error(DOMAIN_A "origin = url https://o.example?x=/{hex}\n", 4,
		     "origin = 'url https://o.example?x=/{hex}': has a query or fragment ('?', '#') before its path");
}

static void proxies_are_http_with_a_port(void)
{
	expect_error(REMOTE_A "proxy = http://p.example\n", 5,
		     "proxy = 'http://p.example': names no port: write HOST:PORT (a proxy's port has no default)");
	expect_error(REMOTE_A "proxy = https://p.example:3128\n", 5,
		     "proxy = 'https://p.example:3128': an https:// proxy is not supported: give its http:// address; "
		     "TLS to the origin runs through it end to end (CONNECT)");
	expect_error(REMOTE_A "proxy = socks5://p.example:1080\n", 5,
		     "proxy = 'socks5://p.example:1080': expected http://HOST:PORT");
	expect_error(REMOTE_A "proxy = http://u:p@p.example:3128\n", 5,
		     "proxy = 'http://u:p@p.example:3128': has user information before '@': credentials go in a file "
		     "of their own (credentials = /path), never in a URL");
	expect_error(REMOTE_A "proxy = http://p.example:3128/cache\n", 5,
		     "proxy = 'http://p.example:3128/cache': has a path: a proxy is named by HOST:PORT alone");
}

static void redirect_hosts_are_hosts_with_ports(void)
{
	struct config cfg;
	struct config_errors errs;
	const struct redirect_settings *r;

	CHECK_EQ(load(REMOTE_A "redirect_hosts = S3.example  127.0.0.1:9443\t[fd00::2]:8443\n"
			       "[domain b]\nvolume = web\nblob_dir = $D/blobs-b\n"
			       "origin = url https://o.example/{hex}\n",
		      &cfg, &errs),
		 0);
	r = &cfg.domains[0].settings.remote.redirect;
	CHECK_EQ(r->n, 3);
	CHECK(strcmp(r->hosts[0].host, "S3.example") == 0 && r->hosts[0].port == 443);
	CHECK(strcmp(r->hosts[1].host, "127.0.0.1") == 0 && r->hosts[1].port == 9443);
	CHECK(strcmp(r->hosts[2].host, "[fd00::2]") == 0 && r->hosts[2].port == 8443);
	CHECK_EQ(cfg.domains[1].settings.remote.redirect.n, 0); /* none: every redirect elsewhere refused */
	config_free(&cfg);
}

static void redirect_hosts_refuse_what_is_not_a_host(void)
{
	expect_error(REMOTE_A "redirect_hosts = https://s3.example\n", 5,
		     "redirect_hosts = 'https://s3.example': 'https://s3.example' is a URL: name the host as "
		     "HOST[:PORT] alone (https is implied)");
	expect_error(REMOTE_A "redirect_hosts = s3.example/bucket\n", 5,
		     "redirect_hosts = 's3.example/bucket': 's3.example/bucket' has a path: a redirect host is named "
		     "by HOST[:PORT] alone");
	expect_error(REMOTE_A "redirect_hosts = s3.example s3..example\n", 5,
		     "redirect_hosts = 's3.example s3..example': 's3..example' names no valid host: a DNS name, an "
		     "IPv4 address or [an IPv6 one]");
	expect_error(REMOTE_A "redirect_hosts = [::1\n", 5,
		     "redirect_hosts = '[::1': '[::1' names no valid host: a DNS name, an IPv4 address or [an IPv6 "
		     "one]");
	expect_error(REMOTE_A "redirect_hosts = s3.example:0\n", 5,
		     "redirect_hosts = 's3.example:0': 's3.example:0' has a port that is not a number from 1 to "
		     "65535");
	expect_error(REMOTE_A "redirect_hosts = u:p@s3.example\n", 5,
		     "redirect_hosts = 'u:p@s3.example': 'u:p@s3.example' has user information before '@': "
		     "credentials go in a file of their own (credentials = /path), never in a URL");
	expect_error(REMOTE_A "redirect_hosts = s3.example S3.EXAMPLE:443\n", 5,
		     "redirect_hosts = 's3.example S3.EXAMPLE:443': 'S3.EXAMPLE:443' is listed twice");
	expect_error(REMOTE_A "redirect_hosts = a b c d e f g h i\n", 5,
		     "redirect_hosts = 'a b c d e f g h i': lists more than 8 hosts");
	expect_error(REMOTE_A "redirect_hosts =\n", 5,
		     "redirect_hosts = '': lists no host: write HOST[:PORT] ..., or remove the key to refuse every "
		     "redirect");
	expect_error(REMOTE_A "redirect_hosts = s3.example\n  other.example\n", 6,
		     "'redirect_hosts' takes one value, but this indented line continues it: only a volume list may go "
		     "on over indented lines");
}

static void credentials_are_root_only_and_never_shown(void)
{
	char path[256];

	put_file("creds-open", "basic alice:s3cret\n", 0640);
	put_file("creds-bad", "alice:s3cret\n", 0600);
	put_file("creds-two", "bearer abc\nbearer def\n", 0600);
	expect_error(REMOTE_A "credentials = $D/creds-open\n", 5,
		     "credentials = '$D/creds-open': can be read or written by group or others (mode 0640): chmod "
		     "600 it");
	expect_error(REMOTE_A "credentials = $D/creds-bad\n", 5,
		     "credentials = '$D/creds-bad': expected one line, 'basic USER:PASSWORD' or 'bearer TOKEN' (what "
		     "it holds is not shown: it is a secret)");
	expect_error(REMOTE_A "credentials = $D/creds-two\n", 5,
		     "credentials = '$D/creds-two': expected one line, 'basic USER:PASSWORD' or 'bearer TOKEN' (what "
		     "it holds is not shown: it is a secret)");
	expect_error(REMOTE_A "credentials = $D/none\n", 5,
		     "credentials = '$D/none': cannot be read: No such file or directory");
	expect_error(REMOTE_A "credentials = $D/blobs-a\n", 5, "credentials = '$D/blobs-a': is not a regular file");
	expect_error(REMOTE_A "credentials = creds\n", 5, "credentials = 'creds': expected an absolute path");
	if (geteuid() == 0) {
		snprintf(path, sizeof(path), "%s/creds", dir);
		CHECK(chown(path, 1000, 1000) == 0);
		expect_error(REMOTE_A "credentials = $D/creds\n", 5,
			     "credentials = '$D/creds': belongs to uid 1000: it must belong to uid 0, the supervisor's "
			     "(chown it)");
		CHECK(chown(path, 0, 0) == 0);
	}
}

static void ca_file_must_hold_a_certificate(void)
{
	put_file("ca-bad", "not a certificate\n", 0644);
	expect_error(REMOTE_A "ca_file = $D/ca-bad\n", 5,
		     "ca_file = '$D/ca-bad': holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
	expect_error(REMOTE_A "ca_file = $D/none.pem\n", 5,
		     "ca_file = '$D/none.pem': cannot be read: No such file or directory");
}

static void fetch_settings_need_an_origin_and_a_deadline_below_the_timeout(void)
{
	expect_error(DOMAIN_A "proxy = http://p.example:3128\n", 4,
		     "'proxy' is set but [domain a] has no origin: its blobs are local files; add origin = "
		     "registry|url https://... or remove 'proxy'");
	expect_error(DOMAIN_A "redirect_hosts = s3.example\n", 4,
		     "'redirect_hosts' is set but [domain a] has no origin: its blobs are local files; add origin = "
		     "registry|url https://... or remove 'redirect_hosts'");
	expect_error(DOMAIN_A "fetch_deadline = 5s\n", 4,
		     "'fetch_deadline' is set but [domain a] has no origin: its blobs are local files; add origin = "
		     "registry|url https://... or remove 'fetch_deadline'");
	expect_error(REMOTE_A "fetch_deadline = 30s\n", 1,
		     "[domain a]: fetch_deadline 30s is not below request_timeout 30s, which kills a worker still "
		     "retrying as hung: lower fetch_deadline or raise request_timeout");
	expect_error("[cache]\nrequest_timeout = 10s\n" REMOTE_A, 3,
		     "[domain a]: fetch_deadline 20s is not below request_timeout 10s, which kills a worker still "
		     "retrying as hung: lower fetch_deadline or raise request_timeout");
	expect_error(REMOTE_A "fetch_deadline = 500ms\n", 5,
		     "fetch_deadline = '500ms': expected a duration from 1s to 3600s with its unit, e.g. 30s or 500ms");
}

static void make_fixtures(void)
{
	char path[256];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/test-config-XXXXXX");
	CHECK(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/test.conf", dir);
	snprintf(path, sizeof(path), "%s/blobs-a", dir);
	CHECK(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/blobs-b", dir);
	CHECK(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/a-file", dir);
	CHECK((f = fopen(path, "w")) && fclose(f) == 0);
}

static void remove_fixtures(void)
{
	const char *names[] = { "blobs-a", "blobs-b", "a-file",	    "test.conf", "creds",
				"ca.pem",  "ca-bad",  "creds-open", "creds-bad", "creds-two" };
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)remove(path);
	}
	CHECK(rmdir(dir) == 0);
}

/* cachefilesd's thresholds: each value's range, then the kernel's order 0 <= stop < cull < run < 100. */
static void space_thresholds_follow_the_kernel_rules(void)
{
	struct config cfg;
	struct config_errors errs;

	expect_error("[cache]\nbrun = 100%\n" DOMAIN_A, 2,
		     "brun = '100%': expected a percentage from 0% to 99%, e.g. 10%");
	expect_error("[cache]\nfcull = 7 %\n" DOMAIN_A, 2,
		     "fcull = '7 %': expected a percentage from 0% to 99%, e.g. 10%");
	expect_error("[cache]\nbcull = 12%\n" DOMAIN_A, 1,
		     "[cache]: bcull = 12% must be below brun = 10%: cachefiles takes only 0 <= bstop < bcull < brun "
		     "< 100 (percent of the cache fs's free blocks)");
	expect_error("[cache]\nfstop = 7\n" DOMAIN_A, 1,
		     "[cache]: fstop = 7% must be below fcull = 7%: cachefiles takes only 0 <= fstop < fcull < frun "
		     "< 100 (percent of the cache fs's free files)");
	expect_error("[cache]\nmax_size = 20X\n" DOMAIN_A, 2,
		     "max_size = '20X': expected a size from 0 to 1073741824G in multiples of 4K, e.g. 512K or 4M");

	CHECK_EQ(
		load("[cache]\nbrun = 50%\nbcull = 40\nbstop = 0%\nfrun = 20%\nmax_size = 20G\n" DOMAIN_A, &cfg, &errs),
		0);
	CHECK_EQ(cfg.cache.space.blocks.run, 50);
	CHECK_EQ(cfg.cache.space.blocks.cull, 40);
	CHECK_EQ(cfg.cache.space.blocks.stop, 0);
	CHECK_EQ(cfg.cache.space.files.run, 20);
	CHECK_EQ(cfg.cache.space.files.cull, 7);
	CHECK_EQ(cfg.cache.space.max_size, 20ull << 30);
	config_free(&cfg);
}

/* The same rule named by option on the command line of --blob-dir mode. */
static void space_thresholds_on_the_command_line(void)
{
	struct config cfg;
	struct config_errors errs = { 0 };

	CHECK_EQ(config_args_init(&cfg), 0);
	CHECK_EQ(config_args_set(&cfg, "--bstop", "8", &errs), 0);
	CHECK_EQ(config_args_finish(&cfg, &errs), -EINVAL);
	CHECK_EQ(errs.n, 1);
	printf("  %s\n", errs.list[0].text);
	CHECK(strcmp(errs.list[0].text, "--bstop 8 must be below --bcull 7: cachefiles takes only 0 <= bstop < bcull < "
					"brun < 100 (percent of the cache fs's free blocks)") == 0);
	config_free(&cfg);
}

int main(void)
{
	make_fixtures();
	RUN(unknown_section_is_named);
	RUN(unknown_key_suggests_what_was_meant);
	RUN(bad_values_say_what_is_expected);
	RUN(duplicate_domain_is_refused);
	RUN(bad_domain_names_are_refused);
	RUN(refused_domain_still_has_its_keys_checked);
	RUN(duplicate_key_is_refused);
	RUN(missing_required_key_names_the_section);
	RUN(blob_dir_must_be_an_existing_directory);
	RUN(volume_claimed_twice_is_refused);
	RUN(bad_volume_patterns_are_refused);
	RUN(too_many_volume_patterns_are_refused);
	RUN(no_domain_is_refused);
	RUN(second_cache_is_refused_with_the_kernel_rule);
	RUN(long_line_is_refused_not_cut);
	RUN(syntax_errors_are_reported);
	RUN(every_error_is_listed_in_line_order);
	RUN(error_list_is_bounded);
	RUN(valid_file_gives_values_and_defaults);
	RUN(space_thresholds_follow_the_kernel_rules);
	RUN(space_thresholds_on_the_command_line);
	RUN(routing_prefers_exact_then_file_order);
	RUN(shipped_example_loads);
	RUN(remote_domain_gives_its_settings);
	RUN(origins_are_https_and_say_one_thing);
	RUN(redirect_hosts_are_hosts_with_ports);
	RUN(redirect_hosts_refuse_what_is_not_a_host);
	RUN(proxies_are_http_with_a_port);
	RUN(credentials_are_root_only_and_never_shown);
	RUN(ca_file_must_hold_a_certificate);
	RUN(fetch_settings_need_an_origin_and_a_deadline_below_the_timeout);
	RUN(missing_file_is_an_errno);
	remove_fixtures();
	return 0;
}
