/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cachefilesctl: asks a running cachefiles-supervisor for its state, or
 * tells it to upgrade, over its root-only control socket. The protocol is in
 * include/cfs-control.h: one request line, response lines, a final "ok" or
 * "error: ..." line.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "atomic-file.h"
#include "cfs-clock.h"
#include "cfs-control.h"
#include "cfs-util.h"
#include "metrics.h"

#define PROGRAM "cachefilesctl"
#define LINE_MAX_BYTES (64u << 20) /* a JSON object table of ~100k objects */
#define RECONNECT_INTERVAL_MS 100

struct options {
	const char *socket_path;
	bool json;
	unsigned timeout_s;
	const char *command;
	const char *output; /* metrics: the file to replace, or NULL for stdout */
};

struct reader {
	int fd;
	uint64_t deadline_ms;
	char *buf;
	size_t len, cap;
	size_t line_end; /* bytes of the last line returned, '\n' included */
};

struct status {
	uint64_t pid, starts;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROGRAM " [OPTION]... COMMAND\n"
		"\n"
		"Ask a running cachefiles-supervisor for its state, or tell it to upgrade, over\n"
		"its control socket. Root only: the socket is mode 0600 and the supervisor also\n"
		"checks every client's uid.\n"
		"\n"
		"Commands:\n"
		"  status           the supervisor's pid, version, uptime, starts and counters\n"
		"                   (objects, requests in flight, reads, bytes served, worker\n"
		"                   spawns and deaths, restores, timeouts, failed requests), and\n"
		"                   for each domain its state, blob dir, workers wanted and\n"
		"                   ready, worker version, spawns, deaths, reads, bytes served\n"
		"  objects          one line per open cache object: id, domain, state, size,\n"
		"                   whether its fd is in systemd's fd store, cookie, volume key\n"
		"  upgrade-workers  start new workers from the worker binary on disk in every\n"
		"                   domain and let the old ones finish what they hold; prints\n"
		"                   progress until every new worker is ready and every old one\n"
		"                   gone (the supervisor gives up after %d s)\n"
		"  reexec           re-execute the supervisor binary on disk in place, keeping\n"
		"                   the cache and every open object, then wait until the new\n"
		"                   instance answers; refused (and the supervisor keeps\n"
		"                   serving) if the new binary finds the config, a blob dir\n"
		"                   or the worker binary wrong: the reason names what to fix\n"
		"  reload           read the config file again (as SIGHUP) and wait for the\n"
		"                   verdict: exit status 1 with the reason (file and line)\n"
		"                   when the file is refused; the running config then stays\n"
		"  metrics          the status in the Prometheus text format (0.0.4): counters\n"
		"                   and gauges of the supervisor and each domain, the READ\n"
		"                   latency histogram, failures; cachefiles_supervisor_up 0\n"
		"                   (and exit status 1) when the supervisor does not answer\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH   the control socket [%s]\n"
		"  -j, --json          status and objects as JSON (strings are ASCII: other\n"
		"                      bytes are \\u00NN escapes, one per byte)\n"
		"  -t, --timeout SECS  how long to wait for an answer, and for the supervisor\n"
		"                      to come back after reexec [60]\n"
		"  -o, --output FILE   metrics: replace FILE atomically instead of printing\n"
		"                      (for node_exporter's textfile directory)\n"
		"  -h, --help          show this help\n"
		"      --version       show the version\n"
		"\n"
		"Exit status: 0 on success, 1 on any error (the reason goes to stderr).\n"
		"See cachefilesctl(8).\n",
		CFS_CONTROL_UPGRADE_TIMEOUT_MS / 1000, CFS_CONTROL_DEFAULT_PATH);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* --- talking to the supervisor --- */

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -EBADF;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static void report_connect_error(const char *path, int err)
{
	if (err == -EACCES || err == -EPERM)
		fprintf(stderr, PROGRAM ": permission denied: " PROGRAM " must run as root (cannot connect to %s)\n",
			path);
	else if (err == -ENOENT || err == -ECONNREFUSED)
		fprintf(stderr, PROGRAM ": cannot connect to %s: %s — is cachefiles-supervisor running?\n", path,
			strerror(-err));
	else
		fprintf(stderr, PROGRAM ": cannot connect to %s: %s\n", path, strerror(-err));
}

static int send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Waits for more bytes until the deadline. Returns bytes read, 0 at EOF, or -errno (-ETIMEDOUT). */
static ssize_t fill(struct reader *r)
{
	struct pollfd p = { .fd = r->fd, .events = POLLIN };
	uint64_t now = now_ms();
	ssize_t n;

	if (r->len == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		char *buf = cap <= LINE_MAX_BYTES ? realloc(r->buf, cap) : NULL;
		if (!buf)
			return -ENOMEM;
		r->buf = buf;
		r->cap = cap;
	}
	if (now >= r->deadline_ms)
		return -ETIMEDOUT;
	n = poll(&p, 1, (int)(r->deadline_ms - now));
	if (n < 0)
		return errno == EINTR ? fill(r) : -errno;
	if (n == 0)
		return -ETIMEDOUT;
	n = recv(r->fd, r->buf + r->len, r->cap - r->len, 0);
	if (n < 0)
		return errno == EINTR ? fill(r) : -errno;
	r->len += (size_t)n;
	return n;
}

/* The next line, NUL-terminated without its '\n'. Returns 1, 0 at EOF, or -errno. */
static int read_line(struct reader *r, char **line)
{
	char *nl;

	/* Forget the line returned last time. */
	memmove(r->buf, r->buf + r->line_end, r->len - r->line_end);
	r->len -= r->line_end;
	r->line_end = 0;
	while (!(nl = r->len ? memchr(r->buf, '\n', r->len) : NULL)) {
		ssize_t n = fill(r);
		if (n <= 0)
			return (int)n;
	}
	*nl = '\0';
	r->line_end = (size_t)(nl - r->buf) + 1;
	*line = r->buf;
	return 1;
}

typedef void (*line_fn)(const char *line, void *ctx);

static void report_io_error(int err)
{
	if (err == -EPROTO)
		fprintf(stderr, PROGRAM ": the supervisor closed the connection before its answer was complete "
					"(did it exit?)\n");
	else if (err == -ETIMEDOUT)
		fprintf(stderr, PROGRAM ": no answer from the supervisor in time (see --timeout)\n");
	else
		fprintf(stderr, PROGRAM ": talking to the supervisor: %s\n", strerror(-err));
}

/* Hands response lines to fn until the final one: 0 on "ok", 1 on "error: ...", or -errno. */
static int read_response(struct reader *r, line_fn fn, void *ctx, bool quiet)
{
	char *line = NULL;
	int n;

	while ((n = read_line(r, &line)) > 0) {
		if (strcmp(line, CFS_CONTROL_OK) == 0)
			return 0;
		if (strncmp(line, CFS_CONTROL_ERROR, strlen(CFS_CONTROL_ERROR)) == 0) {
			if (!quiet)
				fprintf(stderr, PROGRAM ": %s\n", line + strlen(CFS_CONTROL_ERROR));
			return 1;
		}
		fn(line, ctx);
	}
	return n == 0 ? -EPROTO : n;
}

/*
 * Sends one request and hands every response line to fn. Returns 0 on "ok",
 * 1 on "error: ...", or -errno; says what went wrong on stderr unless quiet.
 */
static int request(const struct options *o, const char *req, line_fn fn, void *ctx, bool quiet)
{
	struct reader r = { .deadline_ms = now_ms() + (uint64_t)o->timeout_s * 1000 };
	int rc;

	r.fd = ctl_connect(o->socket_path);
	if (r.fd < 0) {
		if (!quiet)
			report_connect_error(o->socket_path, r.fd);
		return r.fd;
	}
	rc = send_all(r.fd, req, strlen(req));
	/* A refusal (not root, too many clients) may close before our request is in: read why. */
	if (rc == 0 || rc == -EPIPE || rc == -ECONNRESET) {
		int sent = rc;
		rc = read_response(&r, fn, ctx, quiet);
		if (rc == -EPROTO && sent < 0)
			rc = sent;
	}
	if (rc < 0 && !quiet)
		report_io_error(rc);
	close(r.fd);
	free(r.buf);
	return rc;
}

/* --- commands --- */

static void print_line(const char *line, void *ctx)
{
	puts(line);
	fflush(stdout); /* upgrade progress must show as it happens */
}

/* A top-level number of the status JSON; keys come before any string, and strings escape every '"'. */
static bool json_u64(const char *doc, const char *key, uint64_t *out)
{
	char pattern[64];
	const char *p;

	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	p = strstr(doc, pattern);
	if (!p)
		return false;
	*out = strtoull(p + strlen(pattern), NULL, 10);
	return true;
}

static void take_status(const char *line, void *ctx)
{
	struct status *st = ctx;

	if (!json_u64(line, "pid", &st->pid) || !json_u64(line, "starts", &st->starts))
		st->pid = st->starts = 0;
}

static int fetch_status(const struct options *o, struct status *st, bool quiet)
{
	int rc;

	*st = (struct status){ 0 };
	rc = request(o, "status --json\n", take_status, st, quiet);
	if (rc == 0 && st->starts == 0) {
		if (!quiet)
			fprintf(stderr, PROGRAM ": the supervisor's status lacks pid or starts\n");
		return -EPROTO;
	}
	return rc;
}

/*
 * The new image takes over the same pid (or, if it crashed, systemd starts
 * another): either way it counts one more start on the cache's state.
 */
static int run_reexec(const struct options *o)
{
	uint64_t t0, deadline;
	struct status before, after;
	int rc = fetch_status(o, &before, false);

	if (rc == 0)
		rc = request(o, "reexec\n", print_line, NULL, false);
	if (rc != 0)
		return rc;
	printf("waiting for the supervisor to come back...\n");
	fflush(stdout);
	t0 = now_ms();
	deadline = t0 + (uint64_t)o->timeout_s * 1000;
	while (now_ms() < deadline) {
		sleep_ms(RECONNECT_INTERVAL_MS);
		if (fetch_status(o, &after, true) != 0 || after.starts <= before.starts)
			continue;
		printf("the supervisor is back after %" PRIu64 " ms: pid %" PRIu64 "%s, start %" PRIu64 "\n",
		       now_ms() - t0, after.pid, after.pid == before.pid ? " (same)" : " (a new process)",
		       after.starts);
		return 0;
	}
	fprintf(stderr,
		PROGRAM ": the supervisor did not answer again within %u s; see its log (journalctl -u "
			"cachefiles-supervisor)\n",
		o->timeout_s);
	return 1;
}

static void keep_line(const char *line, void *ctx)
{
	char **kept = ctx;

	free(*kept);
	*kept = strdup(line);
}

static int put_metrics(const struct options *o, const char *text, size_t len)
{
	int r;

	if (!o->output)
		return fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -EIO;
	r = atomic_file_write(o->output, text, len);
	if (r < 0)
		fprintf(stderr, PROGRAM ": cannot write %s: %s\n", o->output, strerror(-r));
	return r;
}

/* The status, as Prometheus reads it; a supervisor that does not answer is up 0, not nothing. */
static int run_metrics(const struct options *o)
{
	_cleanup_free_ char *status = NULL, *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	int rc;

	if (!m)
		return -ENOMEM;
	rc = request(o, "status --json\n", keep_line, &status, false);
	if (rc == 0 && (!status || metrics_render(status, m) < 0)) {
		fprintf(stderr, PROGRAM ": the supervisor's status is not the JSON expected\n");
		rc = -EPROTO;
	}
	if (rc != 0)
		metrics_render_down(m);
	if (fclose(m) != 0)
		return -ENOMEM;
	return put_metrics(o, text, len) < 0 ? -EIO : rc;
}

static int run(const struct options *o)
{
	char req[CFS_CONTROL_REQUEST_MAX];

	if (strcmp(o->command, "reexec") == 0)
		return run_reexec(o);
	if (strcmp(o->command, "metrics") == 0)
		return run_metrics(o);
	snprintf(req, sizeof(req), "%s%s\n", o->command, o->json ? " --json" : "");
	return request(o, req, print_line, NULL, false);
}

/* --- arguments --- */

static int parse_timeout(const char *arg, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v == 0 || v > 86400) {
		fprintf(stderr, PROGRAM ": --timeout: '%s' is not a number of seconds from 1 to 86400\n", arg);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int check_command(const struct options *o)
{
	int i = cfs_control_command_find(o->command, strlen(o->command));
	bool metrics = strcmp(o->command, "metrics") == 0;

	if (o->output && !metrics) {
		fprintf(stderr, PROGRAM ": --output goes with metrics only\n");
		return -EINVAL;
	}
	if (metrics && o->json) {
		fprintf(stderr, PROGRAM ": metrics has no --json\n");
		return -EINVAL;
	}
	if (metrics) /* ours alone: it asks for the status and formats it here */
		return 0;
	if (i < 0) {
		fprintf(stderr,
			PROGRAM ": unknown command '%s' (status, objects, upgrade-workers, reexec, reload or "
				"metrics; see --help)\n",
			o->command);
		return -EINVAL;
	}
	if (o->json && !cfs_control_commands[i].takes_json) {
		fprintf(stderr, PROGRAM ": --json goes with status and objects only\n");
		return -EINVAL;
	}
	return 0;
}

enum { OPT_VERSION = 256 };

static int parse_args(int argc, char **argv, struct options *o)
{
	/* clang-format off */
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	/* clang-format on */
	int c;

	while ((c = getopt_long(argc, argv, "s:jt:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->socket_path = optarg; break;
		case 'j': o->json = true; break;
		case 'o': o->output = optarg; break;
		case 't':
			if (parse_timeout(optarg, &o->timeout_s) < 0)
				return -EINVAL;
			break;
		case 'h': usage(stdout); exit(EXIT_SUCCESS);
		case OPT_VERSION: printf(PROGRAM " %s\n", CFS_VERSION); exit(EXIT_SUCCESS);
		default: fprintf(stderr, "Try '" PROGRAM " --help'.\n"); return -EINVAL;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, PROGRAM ": %s (see --help)\n",
			optind == argc ? "no command given" : "one command only");
		return -EINVAL;
	}
	o->command = argv[optind];
	return check_command(o);
}

int main(int argc, char **argv)
{
	struct options o = { .socket_path = CFS_CONTROL_DEFAULT_PATH, .timeout_s = 60 };

	if (parse_args(argc, argv, &o) < 0)
		return EXIT_FAILURE;
	return run(&o) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
