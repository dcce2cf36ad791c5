/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket: request parsing, and whole conversations with the
 * real socket code in a private directory, driven by a small event loop
 * (no device, no workers, nothing privileged).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "control-request.h"
#include "control.h"

int cfs_log_max_priority;

static int parse(const char *line, struct control_request *req)
{
	const char *why = NULL;
	int r = control_parse_request(line, strlen(line), req, &why);

	CHECK(r == 0 || (r == -EINVAL && why && why[0]));
	return r;
}

static void requests_parse(void)
{
	struct control_request req;

	CHECK_EQ(parse("status", &req), 0);
	CHECK(req.cmd == CONTROL_STATUS && !req.json);
	CHECK_EQ(parse("status --json", &req), 0);
	CHECK(req.cmd == CONTROL_STATUS && req.json);
	CHECK_EQ(parse("  objects   --json  \r", &req), 0);
	CHECK(req.cmd == CONTROL_OBJECTS && req.json);
	CHECK_EQ(parse("upgrade-workers", &req), 0);
	CHECK(req.cmd == CONTROL_UPGRADE_WORKERS);
	CHECK_EQ(parse("reexec", &req), 0);
	CHECK(req.cmd == CONTROL_REEXEC);
}

static void bad_requests_are_refused(void)
{
	static const char *const bad[] = {
		"",
		"   ",
		"\r",
		"stat",
		"statusx",
		"status --json --json",
		"status --jsonx",
		"status -j",
		"upgrade-workers --json",
		"reexec now",
		"STATUS",
		"status\t--json",
		"objects\x7f",
		"--json status",
	};
	struct control_request req;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &req) != -EINVAL) {
			fprintf(stderr, "accepted: [%s]\n", bad[i]);
			exit(1);
		}
	}
	/* A NUL inside the line is not the end of it. */
	const char *why;
	CHECK_EQ(control_parse_request("status\0--json", 13, &req, &why), -EINVAL);
	/* High bytes, as a hostile client would send. */
	CHECK_EQ(parse("status \xff", &req), -EINVAL);
}

/* --- conversations --- */

static struct domain domain = { .state = DOMAIN_ACTIVE,
				.name = "default",
				.settings = { .blob_dir = "/srv/blobs", .n_workers = 0 },
				.worker_version = "0.1.0",
				.blob_dir_fd = -1,
				.stats = { .reads = 7,
					   .bytes_served = 28672,
					   .spawns = 2,
					   .deaths = 1,
					   .failures = { [FAILURE_TRUNCATED_BLOB] = 4 } } };
static struct supervisor s;
static char dir[] = "/tmp/test-control.XXXXXX";
static char path[64];

static void pump(int timeout_ms)
{
	struct epoll_event ev[8];
	int n = epoll_wait(s.epoll_fd, ev, 8, timeout_ms);

	for (int i = 0; i < n; i++)
		control_on_event(&s, ev[i].data.u64);
	control_settle(&s);
}

static int client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Runs the loop until the server closes fd; returns everything it said. */
static char *drain(int fd)
{
	static char out[8 << 20];
	size_t len = 0;

	for (int rounds = 0; rounds < 2000; rounds++) {
		pump(10);
		ssize_t n = recv(fd, out + len, sizeof(out) - 1 - len, MSG_DONTWAIT);
		if (n == 0) {
			close(fd);
			out[len] = '\0';
			return out;
		}
		if (n > 0)
			len += (size_t)n;
	}
	fprintf(stderr, "the server did not close; so far: %.*s\n", (int)len, out);
	exit(1);
}

static char *converse(const char *request, size_t len)
{
	int fd = client();

	CHECK_EQ(send(fd, request, len, MSG_NOSIGNAL), (ssize_t)len);
	return drain(fd);
}

#define SAY(req) converse(req, strlen(req))

static int ends_with(const char *text, const char *tail)
{
	size_t a = strlen(text), b = strlen(tail);

	if (a >= b && strcmp(text + a - b, tail) == 0)
		return 1;
	fprintf(stderr, "[%s] does not end with [%s]\n", text, tail);
	return 0;
}

static void setup(void)
{
	struct stat st;
	struct object *o;
	/* A cookie a hostile mount option could give (domain_id mounts pass it raw). */
	struct object proto = { .obj_id = 5,
				.anon_fd = -1,
				.state = OBJECT_OPEN,
				.size = 8192,
				.state_idx = -1,
				.key_len = 6,
				.key = "a\"b\n\xff/",
				.volume = "erofs,dom" };

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/control", dir); /* the directory is made if missing */
	s.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s.domains = &domain;
	s.n_domains = 1;
	s.starts = 3;
	s.started_ms = now_ms();
	s.self_exe = "/usr/sbin/cachefiles-supervisor";
	s.cfg.worker_exe = "/usr/libexec/cachefiles-worker";
	s.cfg.control_path = path;
	s.stats.bytes_served = 28672;
	s.stats.failures[FAILURE_TRUNCATED_BLOB] = 4;
	s.stats.failures[FAILURE_UNROUTED] = 1;
	s.recovered = 9;
	latency_hist_add(&s.latency.read_us, 3);
	latency_hist_add(&s.latency.read_us, 3);
	latency_hist_add(&s.latency.read_us, 1000);
	latency_worker_died(&s.latency, 42, 100);
	latency_read_completed(&s.latency, 100, 600, false); /* a 500 us READ, and the recovery it ends */
	s.cfg.space = (struct space_limits){ .blocks = { 10, 7, 3 }, .files = { 10, 7, 3 }, .max_size = 1 << 30 };
	s.space = (struct space_stats){
		.fs = { .blocks = 1000, .blocks_free = 60, .files = 100, .files_free = 50, .block_size = 4096 },
		.cache_bytes = 3 << 20,
		.cache_files = 12,
		.in_use_bytes = 1 << 20,
		.culled = 4,
		.culled_bytes = 65536,
		.stuck = 1,
		.refused_writes = 2,
		.scans = 5
	};
	CHECK_EQ(objects_insert(&s.objects, &proto, &o), 0);
	CHECK_EQ(control_setup(&s), 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0600);
}

static void status_json_has_the_documented_shape(void)
{
	char *out = SAY("status --json\n");

	CHECK(strstr(out, "{\"pid\":") == out);
	CHECK(strstr(out, "\"starts\":3,\"objects\":1,\"inflight\":0,"));
	CHECK(strstr(out, "\"bytes_served\":28672,"));
	CHECK(strstr(out, "\"resumed\":false,\"recovered\":9,\"opens\":0,\"closes\":0,\"duplicates\":0,\"malformed\":0,"
			  "\"refused_keys\":0,\"violations\":0,\"joined\":0,\"evictions\":0,\"prefetched\":0,"
			  "\"readahead\":0,\"failures\":{\"missing_blob\":0,\"truncated_blob\":4,"
			  "\"cache_full\":0,\"max_objects\":0,\"unrouted_volume\":1},"));
	CHECK(strstr(out,
		     "\"domains\":[{\"name\":\"default\",\"state\":\"active\",\"blob_dir\":\"/srv/blobs\","
		     "\"workers\":0,\"ready\":0,\"worker_version\":\"0.1.0\",\"reads\":7,\"bytes_served\":28672,"
		     "\"spawns\":2,\"deaths\":1,\"prefetch\":\"none\",\"prefetched\":0,\"readahead\":0,"
		     "\"failures\":{\"missing_blob\":0,\"truncated_blob\":4,\"cache_full\":0,\"max_objects\":0}}]"));
	/* Only buckets with samples, each with its largest value: 3 exactly; 496..511 and 992..1023 us. */
	CHECK(strstr(
		out,
		"}}],\"read_latency_us\":{\"count\":4,\"sum\":1506,\"max\":1000,"
		"\"buckets\":[[3,2],[511,1],[1023,1]]},\"worker_recoveries\":1,\"worker_recovery_us\":500}\nok\n"));
	CHECK(strstr(
		out,
		"\"unrouted_volume\":1},\"cache\":{\"bytes\":3145728,\"files\":12,\"in_use_bytes\":1048576,"
		"\"max_size\":1073741824,\"fs_blocks\":1000,\"fs_blocks_free\":60,\"fs_block_size\":4096,"
		"\"fs_files\":100,\"fs_files_free\":50,\"brun\":10,\"bcull\":7,\"bstop\":3,\"frun\":10,"
		"\"fcull\":7,\"fstop\":3,\"culling\":false,\"culled\":4,\"culled_bytes\":65536,"
		"\"cull_busy\":0,\"cull_stuck\":1,\"refused_writes\":2,\"held_fills\":0,\"paced_reads\":0,\"scans\":5},"
		"\"read_latency_culling_us\":{\"p50\":0,\"p90\":0,\"p99\":0,\"max\":0,\"n\":0},"
		"\"read_latency_quiet_us\":{\"p50\":500,\"p90\":500,\"p99\":500,\"max\":500,\"n\":1},"
		"\"domains\":["));
}

static void status_text_names_the_domain(void)
{
	char *out = SAY("status\n");

	CHECK(strstr(out, "start 3\n"));
	CHECK(strstr(out, "cache: 3145728 bytes in 12 files (1048576 in use), max_size 1073741824; free 6% of blocks "
			  "(brun 10%, bcull 7%, bstop 3%), 50% of files (frun 10%, fcull 7%, fstop 3%)\n"
			  "culling: idle; culled 4 files, 65536 bytes; busy 0, nothing to cull 1, writes refused for "
			  "space 2 (and 0 held until culling made room); READs paced 0\n"));
	CHECK(strstr(out, "domain default (active): blob dir /srv/blobs\n"));
	CHECK(strstr(
		out,
		"fresh bind, 9 objects recovered at start\n"
		"requests: opens 0, closes 0, duplicates 0, malformed 0, unsafe names 0; worker violations 0, "
		"joined reads 0, evictions 0; 0 bytes prefetched, 0 read ahead\n"
		"failures: missing_blob 0, truncated_blob 4, cache_full 0, max_objects 0, unrouted_volume 1\n"
		"READ latency (us): p50=3 p90=1000 p99=1000 max=1000 n=4; 1 recoveries after worker deaths, 500 us\n"));
	CHECK(ends_with(out, "reads 7, bytes served 28672\n  prefetch none, 0 bytes prefetched; 0 bytes read ahead\n"
			     "  failures: missing_blob 0, truncated_blob 4, cache_full 0, max_objects 0\nok\n"));
}

static void objects_escape_the_cookie(void)
{
	char *out = SAY("objects\n");

	CHECK(!strcmp(out, "obj 5 domain=default state=open size=8192 fdstore=no cookie=a\"b\\x0a\\xff/ "
			   "volume=erofs,dom prefetch=off 0/0\nok\n"));
	out = SAY("objects --json\n");
	CHECK(!strcmp(out, "{\"objects\":[\n{\"obj_id\":5,\"domain\":\"default\",\"state\":\"open\",\"size\":8192,"
			   "\"in_fdstore\":false,\"cookie\":\"a\\\"b\\n\\u00ff/"
			   "\",\"volume\":\"erofs,dom\",\"prefetch\":\"off\",\"prefetched_to\":0,"
			   "\"prefetch_end\":0}\n]}\nok\n"));
}

static void a_request_may_come_in_pieces(void)
{
	int fd = client();

	CHECK_EQ(send(fd, "sta", 3, 0), 3);
	pump(10);
	CHECK_EQ(send(fd, "tus\n", 4, 0), 4);
	CHECK(ends_with(drain(fd), "\nok\n"));
}

static void garbage_gets_an_error_line_and_the_door(void)
{
	char big[CFS_CONTROL_REQUEST_MAX + 10];

	CHECK(!strcmp(SAY("hello\n"),
		      "error: unknown command (try status, objects, upgrade-workers, reexec or reload)\n"));
	CHECK(!strcmp(SAY("status\nstatus\n"), "error: one request per connection, and nothing after it\n"));
	int fd = client();
	CHECK_EQ(send(fd, "status", 6, 0), 6);
	shutdown(fd, SHUT_WR); /* EOF before the newline */
	CHECK(!strcmp(drain(fd), "error: the request line is not terminated by a newline\n"));
	memset(big, 'a', sizeof(big));
	CHECK(!strcmp(converse(big, sizeof(big)), "error: request longer than 256 bytes\n"));
	CHECK(!strcmp(converse("status\0\n", 8), "error: the request holds a byte that is not printable ASCII\n"));
}

static void upgrade_with_nothing_to_start_is_done_at_once(void)
{
	char *out = SAY("upgrade-workers\n");

	CHECK(strstr(out, "upgrading the workers of 1 domain from /usr/libexec/cachefiles-worker\n") == out);
	CHECK(strstr(out, "domain default: 0/0 new workers ready, 0 old draining\ndone: "));
	CHECK(ends_with(out, " ms\nok\n"));
}

/* Sends req and pumps; the process layer's flag is set and nothing is answered before its verdict. */
static int ask_and_wait(const char *req, bool *requested)
{
	char buf[64];
	int fd = client();

	CHECK_EQ(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	for (int i = 0; i < 5; i++)
		pump(10);
	CHECK(*requested && !s.quit);
	CHECK(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN);
	*requested = false;
	return fd;
}

/* reexec and reload wait for the process layer's verdict (loop.c), which the client gets. */
static void reexec_and_reload_wait_for_the_verdict(void)
{
	int fd = ask_and_wait("reexec\n", &s.reexec_requested);

	control_verdict(&s, CONTROL_REEXEC, NULL, "re-exec refused, still serving: /etc/x.conf:3: bad key");
	CHECK(!strcmp(drain(fd), "error: re-exec refused, still serving: /etc/x.conf:3: bad key\n"));

	fd = ask_and_wait("reexec\n", &s.reexec_requested);
	control_verdict(&s, CONTROL_REEXEC, "re-executing /usr/sbin/cachefiles-supervisor (pid 1, start 3)", NULL);
	CHECK(!strcmp(drain(fd), "re-executing /usr/sbin/cachefiles-supervisor (pid 1, start 3)\nok\n"));

	fd = ask_and_wait("reload\n", &s.reload_requested);
	control_verdict(&s, CONTROL_RELOAD, NULL, "reload refused, the running config stays: /etc/x.conf:7: no");
	CHECK(!strcmp(drain(fd), "error: reload refused, the running config stays: /etc/x.conf:7: no\n"));
}

static void connections_are_bounded(void)
{
	int fds[CONTROL_MAX_CONNS + 1];
	char line[128] = "";

	for (int i = 0; i <= CONTROL_MAX_CONNS; i++) {
		fds[i] = client();
		pump(10);
	}
	/* The one too many is told so and closed; the others still get served. */
	CHECK(recv(fds[CONTROL_MAX_CONNS], line, sizeof(line) - 1, 0) > 0);
	CHECK(!strcmp(line, "error: too many control connections, try again\n"));
	close(fds[CONTROL_MAX_CONNS]);
	for (int i = 0; i < CONTROL_MAX_CONNS; i++) {
		CHECK_EQ(send(fds[i], "status\n", 7, 0), 7);
		CHECK(ends_with(drain(fds[i]), "\nok\n"));
	}
}

static void a_client_that_leaves_early_is_forgotten(void)
{
	int fd = client();

	pump(10);
	close(fd);
	for (int i = 0; i < 5; i++)
		pump(10);
	/* The connections are free again: a full set of new clients fits. */
	connections_are_bounded();
}

/* Only as root: the socket is 0600, so a widened mode shows that the uid check holds on its own. */
static void non_root_is_refused_even_if_the_mode_allows_it(void)
{
	char line[128] = "";
	pid_t pid;
	int st;

	if (geteuid() != 0) {
		printf("# skipped: not root\n");
		return;
	}
	CHECK_EQ(chmod(dir, 0755), 0);
	CHECK_EQ(chmod(path, 0666), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int fd;
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		fd = client();
		_exit(recv(fd, line, sizeof(line) - 1, 0) > 0 &&
				      !strcmp(line, "error: permission denied: the control socket is for root only\n")
			      ? 0
			      : 1);
	}
	pid_t done = 0;
	for (int i = 0; i < 100 && done == 0; i++) {
		pump(50);
		done = waitpid(pid, &st, WNOHANG);
	}
	CHECK_EQ(done, pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(chmod(path, 0600), 0);
}

/*
 * Thousands of objects with all-escape cookies (~4 MB of JSON) through a
 * small socket buffer: the table goes out item by item as the client reads,
 * whole and in order, and the loop never waits for the client.
 */
static void a_long_table_goes_out_as_the_client_reads(void)
{
	enum { N = 2500 };
	struct object proto = {
		.anon_fd = -1, .state = OBJECT_OPEN, .state_idx = -1, .key_len = COOKIE_KEY_MAX, .volume = "erofs,big"
	};
	struct object *o;
	int fd = client(), small = 4096;
	char *out, *p;
	unsigned lines = 0;

	memset(proto.key, 0x01, COOKIE_KEY_MAX);
	for (uint32_t i = 0; i < N; i++) {
		proto.obj_id = 1000 + i;
		CHECK_EQ(objects_insert(&s.objects, &proto, &o), 0);
	}
	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	CHECK_EQ(send(fd, "objects --json\n", 15, 0), 15);
	out = drain(fd);
	for (p = out; (p = strchr(p, '\n')); p++)
		lines++;
	CHECK_EQ(lines, N + 1 /* obj 5 */ + 3 /* head, tail, ok */);
	CHECK(ends_with(
		out,
		"\"volume\":\"erofs,big\",\"prefetch\":\"off\",\"prefetched_to\":0,\"prefetch_end\":0}\n]}\nok\n"));
	/* Every object whole: between the head and the tail, each line is one object. */
	p = strchr(out, '\n') + 1;
	for (unsigned i = 0; i < N + 1; i++) {
		char *end = strchr(p, '\n');
		CHECK(!strncmp(p, "{\"obj_id\":", 10));
		CHECK(end[-1] == '}' || (end[-2] == '}' && end[-1] == ','));
		p = end + 1;
	}
	for (uint32_t i = 0; i < N; i++)
		objects_remove(&s.objects, objects_by_id(&s.objects, 1000 + i));
}

static void shutdown_removes_the_socket(void)
{
	char sub[96];

	control_shutdown(&s);
	CHECK(access(path, F_OK) < 0 && errno == ENOENT);
	/* A stale socket (a crashed predecessor's) is replaced; anything else is left alone. */
	CHECK_EQ(mknod(path, S_IFSOCK | 0600, 0), 0);
	CHECK_EQ(control_setup(&s), 0);
	control_shutdown(&s);
	CHECK_EQ(close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
	CHECK(control_setup(&s) < 0);
	CHECK(s.control == NULL);
	unlink(path);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	rmdir(sub);
	rmdir(dir);
}

int main(void)
{
	RUN(requests_parse);
	RUN(bad_requests_are_refused);
	setup();
	RUN(status_json_has_the_documented_shape);
	RUN(status_text_names_the_domain);
	RUN(objects_escape_the_cookie);
	RUN(a_request_may_come_in_pieces);
	RUN(garbage_gets_an_error_line_and_the_door);
	RUN(upgrade_with_nothing_to_start_is_done_at_once);
	RUN(reexec_and_reload_wait_for_the_verdict);
	RUN(connections_are_bounded);
	RUN(a_client_that_leaves_early_is_forgotten);
	RUN(non_root_is_refused_even_if_the_mode_allows_it);
	RUN(a_long_table_goes_out_as_the_client_reads);
	RUN(shutdown_removes_the_socket);
	return 0;
}
