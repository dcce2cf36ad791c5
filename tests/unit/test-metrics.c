/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `cachefilesctl metrics`: the status the supervisor really renders
 * (report_produce on a made-up supervisor) turned into Prometheus text, then
 * read back as a scraper would: every sample under a HELP and a TYPE, valid
 * names and labels, counters named _total, histogram buckets cumulative with
 * +Inf equal to _count. With --print, only prints that exposition (for
 * check-metrics-promtool.sh); with a path to the built cachefilesctl, also
 * checks what it does when no supervisor answers.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic-file.h"
#include "check.h"
#include "control-report.h"
#include "metrics.h"

int cfs_log_max_priority;

static struct domain domains[2] = {
	{ .state = DOMAIN_ACTIVE,
	  .name = "base \"os\" \\ images",
	  .settings = { .blob_dir = "/srv/blobs", .n_workers = 2 },
	  .worker_version = "0.1.0",
	  .stats = { .reads = 7, .bytes_served = 28672, .spawns = 2, .deaths = 1, .failures = { 0, 4, 1, 2 } } },
	{ .state = DOMAIN_RETIRED,
	  .name = "old",
	  .settings = { .blob_dir = "/srv/old",
			.n_workers = 1,
			.remote = { .origin = { .kind = ORIGIN_REGISTRY, .host = "registry.example", .port = 443 } } },
	  .stats = { .origin = { .bytes = 1048576,
				 .requests = 16,
				 .connects = 2,
				 .retries = 3,
				 .failures = 1,
				 .bad_chunks = 1 } } },
};
static struct supervisor s = { .domains = domains, .n_domains = 2, .starts = 3, .recovered = 5 };

/* The status JSON line the supervisor would send, with latency samples of 3, 3, 500 and 1000 us. */
static char *status_json(void)
{
	static char data[32768];
	struct ctlbuf b = { .data = data, .cap = sizeof(data) - 1 };
	struct report r = { .kind = REPORT_STATUS, .json = true };
	static const uint64_t samples_us[] = { 3, 3, 500, 1000 };

	s.started_ms = now_ms() - 1500;
	s.stats = (struct stats){
		.reads = 9, .bytes_served = 28672, .refused_keys = 3, .evictions = 8, .failures = { 1, 4, 1, 2, 6 }
	};
	s.cfg.space = (struct space_limits){ .blocks = { 10, 7, 3 }, .files = { 10, 7, 3 }, .max_size = 1 << 30 };
	s.space = (struct space_stats){ .cache_bytes = 3 << 20, .culled = 4, .culled_bytes = 65536, .stuck = 1 };
	s.latency = (struct latency){ 0 };
	for (size_t i = 0; i < sizeof(samples_us) / sizeof(samples_us[0]); i++)
		latency_hist_add(&s.latency.read_us, samples_us[i]);
	CHECK_EQ(report_produce(&s, &r, &b), 0);
	CHECK(r.finished);
	data[b.len] = '\0';
	return data;
}

static char *render(const char *json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	CHECK(m);
	CHECK_EQ(metrics_render(json, m), 0);
	CHECK_EQ(fclose(m), 0);
	return text;
}

/* --- reading the exposition back --- */

struct family {
	char name[128];
	char type[16];
	bool helped, typed, sampled, closed;
	double last_le, last_bucket, count;
	bool has_inf, has_count;
};

static struct family families[128];
static unsigned n_families;

static struct family *family(const char *name, size_t len)
{
	for (unsigned i = 0; i < n_families; i++)
		if (strlen(families[i].name) == len && memcmp(families[i].name, name, len) == 0)
			return &families[i];
	CHECK(n_families < 128 && len < sizeof(families[0].name));
	memcpy(families[n_families].name, name, len);
	return &families[n_families++];
}

/* [a-zA-Z_:][a-zA-Z0-9_:]*, the format's metric names (label names lack ':' but ours have none). */
static bool name_char(char c, bool first)
{
	return c == '_' || c == ':' || ((c | 32) >= 'a' && (c | 32) <= 'z') || (!first && c >= '0' && c <= '9');
}

static size_t name_length(const char *p)
{
	size_t n = 0;

	while (name_char(p[n], n == 0))
		n++;
	return n;
}

static void comment_line(const char *line)
{
	bool help = strncmp(line, "# HELP ", 7) == 0;
	const char *name = line + 7;
	size_t n = name_length(name);
	struct family *f;

	CHECK(help || strncmp(line, "# TYPE ", 7) == 0);
	CHECK(n > 0 && name[n] == ' ' && name[n + 1] != '\0');
	CHECK(strncmp(name, "cachefiles_supervisor_", 22) == 0);
	f = family(name, n);
	CHECK(!f->sampled);
	if (help) {
		CHECK(!f->helped && !f->typed); /* HELP first, once */
		f->helped = true;
		return;
	}
	CHECK(f->helped && !f->typed);
	snprintf(f->type, sizeof(f->type), "%s", name + n + 1);
	CHECK(!strcmp(f->type, "counter") || !strcmp(f->type, "gauge") || !strcmp(f->type, "histogram"));
	f->typed = true;
}

/* Labels as {name="value",...}; returns the text after them, le's value in *le (NAN if none). */
static const char *labels(const char *p, double *le)
{
	*le = NAN;
	if (*p != '{')
		return p;
	for (p++; *p != '}';) {
		size_t n = name_length(p);
		bool is_le = n == 2 && !strncmp(p, "le", 2);
		CHECK(n > 0 && p[n] == '=' && p[n + 1] == '"');
		p += n + 2;
		if (is_le)
			*le = strncmp(p, "+Inf\"", 5) == 0 ? INFINITY : strtod(p, NULL);
		for (; *p != '"'; p++) {
			CHECK(*p && *p != '\n');
			if (*p == '\\') {
				p++;
				CHECK(*p == '\\' || *p == '"' || *p == 'n');
			}
		}
		p++;
		if (*p == ',')
			p++;
	}
	return p + 1;
}

static void histogram_sample(struct family *f, const char *suffix, double le, double v)
{
	if (!strcmp(suffix, "_bucket")) {
		CHECK(!isnan(le) && !f->has_inf);
		CHECK(!f->sampled || le > f->last_le);	   /* bounds rise */
		CHECK(!f->sampled || v >= f->last_bucket); /* counts are cumulative */
		f->last_le = le;
		f->last_bucket = v;
		f->has_inf = isinf(le);
	} else if (!strcmp(suffix, "_count")) {
		f->count = v;
		f->has_count = true;
	} else {
		CHECK(!strcmp(suffix, "_sum"));
	}
}

static struct family *family_of_sample(const char *name, size_t n, const char **suffix)
{
	static const char *const suffixes[] = { "_bucket", "_count", "_sum" };

	*suffix = "";
	for (unsigned i = 0; i < n_families; i++)
		if (strlen(families[i].name) == n && !memcmp(families[i].name, name, n))
			return &families[i];
	for (unsigned i = 0; i < 3; i++) {
		size_t k = strlen(suffixes[i]);
		if (n > k && !memcmp(name + n - k, suffixes[i], k)) {
			*suffix = suffixes[i];
			return family_of_sample(name, n - k, &(const char *){ NULL });
		}
	}
	fprintf(stderr, "sample %.*s has no HELP and TYPE\n", (int)n, name);
	exit(1);
}

static void sample_line(const char *line, struct family **previous)
{
	size_t n = name_length(line);
	const char *suffix, *p;
	struct family *f = family_of_sample(line, n, &suffix);
	double le, v;
	char *end;

	CHECK(f->helped && f->typed && !f->closed);
	if (*previous && *previous != f)
		(*previous)->closed = true; /* a family's samples come together */
	*previous = f;
	CHECK((strcmp(f->type, "histogram") == 0) == (*suffix != 0));
	CHECK(strcmp(f->type, "counter") || (strlen(f->name) > 6 && !strcmp(f->name + strlen(f->name) - 6, "_total")));
	p = labels(line + n, &le);
	CHECK(*p == ' ');
	v = strtod(p + 1, &end);
	CHECK(end != p + 1 && *end == '\0' && isfinite(v) && v >= 0);
	if (*suffix)
		histogram_sample(f, suffix, le, v);
	f->sampled = true;
}

/* Checks the whole exposition; returns how many samples it holds. */
static unsigned check_exposition(char *text)
{
	struct family *previous = NULL;
	unsigned samples = 0;

	n_families = 0;
	memset(families, 0, sizeof(families));
	CHECK(text[0] && text[strlen(text) - 1] == '\n');
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == '#') {
			comment_line(line);
		} else {
			sample_line(line, &previous);
			samples++;
		}
	}
	for (unsigned i = 0; i < n_families; i++) {
		CHECK(families[i].sampled); /* no HELP without a sample */
		if (!strcmp(families[i].type, "histogram"))
			CHECK(families[i].has_inf && families[i].has_count &&
			      families[i].last_bucket == families[i].count);
	}
	return samples;
}

/* --- the tests --- */

static void has(const char *text, const char *line)
{
	if (strstr(text, line))
		return;
	fprintf(stderr, "no line [%s] in:\n%s", line, text);
	exit(1);
}

static void every_sample_reads_back(void)
{
	char *text = render(status_json());

	CHECK(check_exposition(text) > 40);
	free(text);
}

static void figures_arrive_in_base_units(void)
{
	char *text = render(status_json());

	has(text, "cachefiles_supervisor_up 1\n");
	has(text, "cachefiles_supervisor_info{version=\"" CFS_VERSION "\"} 1\n");
	has(text, "cachefiles_supervisor_starts_total 3\n");
	has(text, "cachefiles_supervisor_recovered_objects 5\n");
	has(text, "cachefiles_supervisor_served_bytes_total 28672\n");
	has(text, "# TYPE cachefiles_supervisor_uptime_seconds gauge\ncachefiles_supervisor_uptime_seconds 1.5");
	has(text, "cachefiles_supervisor_missing_blob_requests_total 1\n");
	has(text, "cachefiles_supervisor_truncated_blob_reads_total 4\n");
	has(text, "cachefiles_supervisor_cache_full_refusals_total 1\n");
	has(text, "cachefiles_supervisor_max_objects_refusals_total 2\n");
	has(text, "cachefiles_supervisor_unrouted_volume_opens_total 6\n");
	has(text, "cachefiles_supervisor_worker_recoveries_total 0\n");
	has(text, "cachefiles_supervisor_unsafe_blob_names_total 3\n");
	has(text, "cachefiles_supervisor_worker_evictions_total 8\n");
	has(text, "cachefiles_supervisor_cache_bytes 3145728\n");
	has(text, "cachefiles_supervisor_cache_max_size_bytes 1073741824\n");
	has(text, "cachefiles_supervisor_cache_bcull_ratio 0.07\n");
	has(text, "cachefiles_supervisor_cache_culled_files_total 4\n");
	has(text, "cachefiles_supervisor_cache_culled_bytes_total 65536\n");
	has(text, "cachefiles_supervisor_cache_nothing_to_cull_total 1\n");
	free(text);
}

static void domains_are_labels_escaped(void)
{
	char *text = render(status_json());

	has(text, "cachefiles_supervisor_domain_reads_total{domain=\"base \\\"os\\\" \\\\ images\"} 7\n");
	has(text,
	    "cachefiles_supervisor_domain_truncated_blob_reads_total{domain=\"base \\\"os\\\" \\\\ images\"} 4\n");
	has(text, "cachefiles_supervisor_domain_active{domain=\"base \\\"os\\\" \\\\ images\"} 1\n"
		  "cachefiles_supervisor_domain_active{domain=\"old\"} 0\n");
	has(text, "cachefiles_supervisor_domain_workers{domain=\"old\"} 1\n");
	/* Only the remote domain has an origin's series. */
	has(text, "# TYPE cachefiles_supervisor_domain_origin_fetched_bytes_total counter\n"
		  "cachefiles_supervisor_domain_origin_fetched_bytes_total{domain=\"old\"} 1048576\n# HELP");
	has(text, "cachefiles_supervisor_domain_origin_bad_chunks_total{domain=\"old\"} 1\n");
	has(text, "cachefiles_supervisor_domain_origin_connections_total{domain=\"old\"} 2\n");
	free(text);
}

static void latency_buckets_end_at_powers_of_two(void)
{
	char *text = render(status_json());

	/* 3, 3, 500, 1000 us: 496..511 ends below 512 us, 992..1023 below 1024 us. */
	has(text, "cachefiles_supervisor_read_latency_seconds_bucket{le=\"0.000128\"} 2\n");
	has(text, "cachefiles_supervisor_read_latency_seconds_bucket{le=\"0.000256\"} 2\n"
		  "cachefiles_supervisor_read_latency_seconds_bucket{le=\"0.000512\"} 3\n"
		  "cachefiles_supervisor_read_latency_seconds_bucket{le=\"0.001024\"} 4\n");
	has(text, "cachefiles_supervisor_read_latency_seconds_bucket{le=\"16.777216\"} 4\n"
		  "cachefiles_supervisor_read_latency_seconds_bucket{le=\"+Inf\"} 4\n"
		  "cachefiles_supervisor_read_latency_seconds_sum 0.001506\n"
		  "cachefiles_supervisor_read_latency_seconds_count 4\n");
	free(text);
}

static void anything_but_a_status_is_refused_unwritten(void)
{
	static const char *const bad[] = {
		"", "ok", "{\"pid\":1}", "[1,2]", "{\"pid\":1,\"domains\":[]", "{\"objects\":[]}"
	};
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(metrics_render(bad[i], m), -EPROTO);
	CHECK_EQ(fclose(m), 0);
	CHECK_EQ(len, 0);
	free(text);
}

static void a_silent_supervisor_is_down(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	metrics_render_down(m);
	CHECK_EQ(fclose(m), 0);
	has(text, "cachefiles_supervisor_up 0\n");
	CHECK_EQ(check_exposition(text), 1);
	free(text);
}

static void an_atomic_write_replaces_and_leaves_nothing_behind(void)
{
	char dir[] = "/tmp/test-metrics.XXXXXX", path[64], buf[16] = { 0 };
	struct stat st;
	FILE *f;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.prom", dir);
	CHECK_EQ(atomic_file_write(path, "old\n", 4), 0);
	CHECK_EQ(atomic_file_write(path, "new\n", 4), 0);
	CHECK((f = fopen(path, "r")) && fread(buf, 1, sizeof(buf), f) == 4 && !strcmp(buf, "new\n"));
	fclose(f);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0644);
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(rmdir(dir), 0); /* no temporary file left */
	snprintf(path, sizeof(path), "%s/gone/x.prom", dir);
	CHECK_EQ(atomic_file_write(path, "x", 1), -ENOENT);
}

static const char *ctl; /* the built cachefilesctl, when given */

/* The built cachefilesctl with no supervisor: up 0 in the file, exit status 1. */
static void the_tool_writes_up_0_when_nobody_answers(void)
{
	char dir[] = "/tmp/test-metrics.XXXXXX", out[64], sock[64], cmd[512], buf[256] = { 0 };
	FILE *f;
	int status;

	CHECK(mkdtemp(dir));
	snprintf(out, sizeof(out), "%s/m.prom", dir);
	snprintf(sock, sizeof(sock), "%s/none", dir);
	snprintf(cmd, sizeof(cmd), "%s --socket %s metrics --output %s 2>/dev/null", ctl, sock, out);
	status = system(cmd);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK((f = fopen(out, "r")) && fread(buf, 1, sizeof(buf) - 1, f) > 0);
	fclose(f);
	has(buf, "\ncachefiles_supervisor_up 0\n");
	CHECK_EQ(unlink(out), 0);
	CHECK_EQ(rmdir(dir), 0);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--print")) {
		char *text = render(status_json());
		fputs(text, stdout);
		free(text);
		return 0;
	}
	RUN(every_sample_reads_back);
	RUN(figures_arrive_in_base_units);
	RUN(domains_are_labels_escaped);
	RUN(latency_buckets_end_at_powers_of_two);
	RUN(anything_but_a_status_is_refused_unwritten);
	RUN(a_silent_supervisor_is_down);
	RUN(an_atomic_write_replaces_and_leaves_nothing_behind);
	ctl = argc == 2 ? argv[1] : NULL;
	if (ctl)
		RUN(the_tool_writes_up_0_when_nobody_answers);
	return 0;
}
