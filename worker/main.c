/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cachefiles-worker: serves one domain's requests for the supervisor.
 * It holds its IPC socket (fd 3), its blob directory (fd 4) and the objects
 * the supervisor hands it; it trusts the supervisor, and the supervisor
 * trusts nothing it says.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "cfs-log.h"
#include "ipc.h"
#include "cfs-util.h"
#include "seccomp-program.h"
#include "syscall-filter.h"
#include "test-hooks.h"
#include "wire-io.h"
#ifdef CFS_REMOTE_WORKER
#include <sys/stat.h>

#include "digest.h"
#include "remote.h"
#define REMOTE true
#else
#define REMOTE false
#endif

#define FILL_BUFFER_SIZE (1u << 20)

int cfs_log_max_priority = LOG_INFO;

struct held_object {
	int anon_fd; /* -1: no object under this handle */
	int blob_fd; /* -errno if the blob could not be opened (tried again if that may pass: object_blob()) */
	uint64_t size;
	uint32_t cookie_len;
	uint8_t cookie[COOKIE_KEY_MAX + 1];
#ifdef CFS_REMOTE_WORKER
	struct descriptor desc; /* a remote blob's; n_chunks 0: not read, desc_err says why */
	int desc_err;
#endif
};

struct worker {
	struct held_object *objects;
	uint32_t n_objects;
	struct fill_buffer buffer;
	const char *domain;
#ifdef CFS_REMOTE_WORKER
	struct fetch *fetch;
	struct fetch_stats reported; /* the totals the last FETCH_STATS covered */
#endif
};

static void reply(struct wire_hdr *hdr, size_t len)
{
	if (test_hook_garbage_now())
		memset((char *)hdr + 2, 0x5a, len - 2);
	/* A reply that cannot be sent means the supervisor is gone: nothing left to do. */
	if (wire_send(WORKER_IPC_FD, hdr, len, -1) < 0)
		_exit(0);
}

static struct held_object *object_at(struct worker *w, uint32_t handle, bool grow)
{
	if (handle >= WIRE_MAX_HANDLES)
		return NULL;
	if (handle >= w->n_objects) {
		uint32_t n = w->n_objects ? w->n_objects : 64;
		if (!grow)
			return NULL;
		while (n <= handle)
			n *= 2;
		struct held_object *more = realloc(w->objects, n * sizeof(*more));
		if (!more)
			return NULL;
		for (uint32_t i = w->n_objects; i < n; i++)
			more[i] = (struct held_object){ .anon_fd = -1, .blob_fd = -1 };
		w->objects = more;
		w->n_objects = n;
	}
	return &w->objects[handle];
}

static void forget(struct held_object *o)
{
	if (o->anon_fd >= 0)
		close(o->anon_fd);
	if (o->blob_fd >= 0)
		close(o->blob_fd);
#ifdef CFS_REMOTE_WORKER
	descriptor_free(&o->desc);
#endif
	*o = (struct held_object){ .anon_fd = -1, .blob_fd = -1 };
}

#ifdef CFS_REMOTE_WORKER
/*
 * After a fill: what it did with the origin, to the supervisor (its status
 * and metrics) before the fill's answer, and the totals so far to the log.
 */
static void report_fetch(struct worker *w)
{
	const struct fetch_stats *st = fetch_stats(w->fetch);
	struct wire_fetch_stats out = {
		.bytes = st->bytes - w->reported.bytes,
		.requests = st->requests - w->reported.requests,
		.connects = st->connects - w->reported.connects,
		.retries = st->retries - w->reported.retries,
		.failures = st->failures - w->reported.failures,
		.bad_chunks = st->bad_chunks - w->reported.bad_chunks,
	};

	if (out.requests == 0 && out.connects == 0)
		return; /* the cache had it all: nothing asked of the origin */
	wire_init(&out.hdr, WIRE_FETCH_STATS);
	reply(&out.hdr, sizeof(out));
	w->reported = *st;
	log_info("domain %s: fetched %" PRIu64 " bytes in %" PRIu64 " requests over %" PRIu64 " connections, %" PRIu64
		 " retries",
		 w->domain, st->bytes, st->requests, st->connects, st->retries);
}
#endif

static int on_open(struct worker *w, const union wire_msg *m, int fd)
{
	struct wire_open_done out = { .msg_id = m->open.msg_id };
#ifdef CFS_REMOTE_WORKER
	/* A remote blob is its descriptor: its size comes from there, its bytes from the origin. */
	struct descriptor d = { 0 };
	int r = remote_describe(WORKER_BLOB_DIR_FD, w->domain, m->open.cookie, m->open.cookie_len, &d);

	out.result = r < 0 ? r : (int64_t)d.size;
	descriptor_free(&d);
#else
	int blob_fd = blob_open(WORKER_BLOB_DIR_FD, m->open.cookie, m->open.cookie_len);

	out.result = blob_fd < 0 ? blob_fd : blob_size(blob_fd);
	if (blob_fd >= 0)
		close(blob_fd);
#endif
	wire_init(&out.hdr, WIRE_OPEN_DONE);
	reply(&out.hdr, sizeof(out));
	return 0;
}

/* Out of fds or memory: a fact about this moment, not about the blob. */
static bool open_may_pass_later(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOMEM;
}

/*
 * The object's blob fd, or -errno. A blob that could not be opened for
 * want of fds or memory is tried again: the supervisor keeps us well below
 * RLIMIT_NOFILE (pool-held.h), and one such refusal must not fail every
 * later READ of the object.
 */
static int object_blob(struct worker *w, struct held_object *o)
{
#ifdef CFS_REMOTE_WORKER
	/* A descriptor that could not be read is read again at each READ: it may have been fixed. */
	if (o->desc.n_chunks == 0)
		o->desc_err = remote_describe(WORKER_BLOB_DIR_FD, w->domain, o->cookie, o->cookie_len, &o->desc);
	return o->desc_err;
#else
	if (o->blob_fd < 0 && open_may_pass_later(o->blob_fd))
		o->blob_fd = blob_open(WORKER_BLOB_DIR_FD, o->cookie, o->cookie_len);
	return o->blob_fd < 0 ? o->blob_fd : 0;
#endif
}

static int on_adopt(struct worker *w, const union wire_msg *m, int fd)
{
	struct held_object *o = object_at(w, m->adopt.handle, true);

	if (!o)
		return -ENOMEM;
	forget(o);
	o->anon_fd = fd;
	o->size = m->adopt.size;
	o->cookie_len = m->adopt.cookie_len;
	memcpy(o->cookie, m->adopt.cookie, sizeof(o->cookie));
	/* A blob that vanished since OPEN fails its READs, not the adoption. */
#ifdef CFS_REMOTE_WORKER
	o->desc_err = remote_describe(WORKER_BLOB_DIR_FD, w->domain, o->cookie, o->cookie_len, &o->desc);
#else
	o->blob_fd = blob_open(WORKER_BLOB_DIR_FD, m->adopt.cookie, m->adopt.cookie_len);
#endif
	if (open_may_pass_later(o->blob_fd))
		log_warning_errno(o->blob_fd, "domain %s: cannot open a blob now (tried again at its next READ)",
				  w->domain);
	return 0;
}

static int on_read(struct worker *w, const union wire_msg *m, int fd)
{
	struct wire_read_done out = { .msg_id = m->read.msg_id };
	struct held_object *o = object_at(w, m->read.handle, false);

	wire_init(&out.hdr, WIRE_READ_DONE);
	if (!o || o->anon_fd < 0)
		return -EPROTO; /* the supervisor always sends ADOPT first */
	if (!wire_read_fill_is_valid(&m->read, o->size)) {
		log_error("domain %s: READ msg %u: fill %" PRIu64 "+%" PRIu64 " does not fit the request %" PRIu64
			  "+%" PRIu64 " in an object of %" PRIu64 " bytes",
			  w->domain, m->read.msg_id, m->read.fill_off, m->read.fill_len, m->read.off, m->read.len,
			  o->size);
		return -EPROTO;
	}
	test_hook_on_read(o->cookie, o->cookie_len);
	out.result = object_blob(w, o);
#ifdef CFS_REMOTE_WORKER
	if (out.result == 0) {
		out.result = remote_fill(w->fetch, &w->buffer, &o->desc, o->anon_fd, o->size,
					 (struct fill_range){ m->read.off, m->read.len },
					 (struct fill_range){ m->read.fill_off, m->read.fill_len });
		report_fetch(w);
	}
#else
	if (out.result == 0)
		out.result = blob_fill(&w->buffer, o->blob_fd, o->anon_fd, o->size,
				       (struct fill_range){ m->read.off, m->read.len },
				       (struct fill_range){ m->read.fill_off, m->read.fill_len });
#endif
	reply(&out.hdr, sizeof(out));
	return 0;
}

static int on_prefetch(struct worker *w, const union wire_msg *m, int fd)
{
	struct wire_prefetch_done out = { .job_id = m->prefetch.job_id };
	struct held_object *o = object_at(w, m->prefetch.handle, false);

	wire_init(&out.hdr, WIRE_PREFETCH_DONE);
	if (!o || o->anon_fd < 0)
		return -EPROTO; /* the supervisor always sends ADOPT first */
	if (!wire_prefetch_is_valid(&m->prefetch, o->size)) {
		log_error("domain %s: PREFETCH %" PRIu64 "+%" PRIu64 " does not fit an object of %" PRIu64 " bytes",
			  w->domain, m->prefetch.off, m->prefetch.len, o->size);
		return -EPROTO;
	}
	test_hook_on_read(o->cookie, o->cookie_len);
#ifdef CFS_REMOTE_WORKER
	out.result = object_blob(w, o) < 0 ? o->desc_err
					   : remote_prefetch(w->fetch, &w->buffer, &o->desc, o->anon_fd, o->size,
							     (struct fill_range){ m->prefetch.off, m->prefetch.len });
	report_fetch(w);
#else
	out.result = object_blob(w, o) < 0 ? o->blob_fd
					   : blob_prefetch(&w->buffer, o->blob_fd, o->anon_fd, o->size,
							   (struct fill_range){ m->prefetch.off, m->prefetch.len });
#endif
	reply(&out.hdr, sizeof(out));
	return 0;
}

static int on_drop(struct worker *w, const union wire_msg *m, int fd)
{
	struct held_object *o = object_at(w, m->drop.handle, false);

	if (o)
		forget(o);
	return 0;
}

#ifdef CFS_REMOTE_WORKER
/*
 * The answer to a CONNECT that ipc_connect() stopped waiting for
 * (fetch_deadline passed while the broker was still connecting): the
 * socket is no longer wanted. Not a breach: the supervisor answers every
 * CONNECT, however late.
 */
static int on_late_connected(struct worker *w, const union wire_msg *m, int fd)
{
	(void)w, (void)m;
	if (fd >= 0)
		close(fd);
	return 0;
}
#endif

/* clang-format off */
static const struct {
	uint16_t type;
	int (*fn)(struct worker *w, const union wire_msg *m, int fd);
} handlers[] = {
	{ WIRE_OPEN, on_open },
	{ WIRE_ADOPT, on_adopt },
	{ WIRE_READ, on_read },
	{ WIRE_DROP, on_drop },
	{ WIRE_PREFETCH, on_prefetch },
#ifdef CFS_REMOTE_WORKER
	{ WIRE_CONNECTED, on_late_connected },
#endif
};
/* clang-format on */

static unsigned held_count(const struct worker *w)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < w->n_objects; i++)
		n += w->objects[i].anon_fd >= 0;
	return n;
}

/*
 * Why the socket gave no message, said as what happened (issue 17, item 13):
 * a supervisor that exits or is killed with our replies unread leaves us
 * ECONNRESET, which is not a protocol error. Returns 0 when we are simply
 * done, -errno otherwise.
 */
static int receive_failed(const struct worker *w, ssize_t n)
{
	if (n == 0)
		return 0; /* the supervisor closed our socket: done */
	if (n == -ECONNRESET || n == -EPIPE) {
		log_notice("domain %s: the supervisor's end of the socket is gone (it exited or was killed): "
			   "exiting",
			   w->domain);
		return 0;
	}
	if (n == -EBADMSG)
		log_error("domain %s: a message from the supervisor longer than any message: cut off", w->domain);
	else if (n == -EMFILE)
		log_error("domain %s: the fd of an ADOPT did not fit: this worker is at its fd limit (RLIMIT_NOFILE) "
			  "with %u objects held; the supervisor should have dropped some first",
			  w->domain, held_count(w));
	else
		log_error_errno((int)n, "domain %s: cannot receive from the supervisor", w->domain);
	return (int)n;
}

static int serve(struct worker *w)
{
	for (;;) {
		union wire_msg m;
		unsigned nfds;
		int fd, r = -EPROTO;
		ssize_t n = ipc_next(&m, &fd, &nfds);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			return receive_failed(w, n);
		if (wire_check_frame(&m, (size_t)n, nfds) < 0) {
			if (fd >= 0)
				close(fd);
			log_error("domain %s: malformed message from the supervisor: type %u, %zd bytes, %u fds",
				  w->domain, m.hdr.type, n, nfds);
			return -EPROTO;
		}
		for (size_t i = 0; i < ARRAY_SIZE(handlers); i++)
			if (handlers[i].type == m.hdr.type)
				r = handlers[i].fn(w, &m, fd);
		if (r < 0) {
			if (fd >= 0)
				close(fd);
			log_error_errno(r, "domain %s: cannot handle message type %u", w->domain, m.hdr.type);
			return r;
		}
	}
}

static int say_hello(void)
{
	struct wire_hello m = { .pid = (uint32_t)getpid() };

	wire_init(&m.hdr, WIRE_HELLO);
#ifdef CFS_TEST_HOOKS
	snprintf(m.version, sizeof(m.version), "%s-test", CFS_VERSION);
#else
	snprintf(m.version, sizeof(m.version), "%s", CFS_VERSION);
#endif
	return wire_send(WORKER_IPC_FD, &m, sizeof(m), -1);
}

#ifdef CFS_REMOTE_WORKER
/* A sealed memfd's bytes, NUL terminated; NULL if it cannot be read. The fd is closed. */
static char *read_memfd(int fd, size_t max, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;

	if (fstat(fd, &st) == 0 && st.st_size >= 0 && (size_t)st.st_size <= max &&
	    (buf = malloc((size_t)st.st_size + 1))) {
		n = pread_full(fd, buf, (size_t)st.st_size, 0);
		if (n == st.st_size) {
			buf[n] = '\0';
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	close(fd);
	return buf;
}

/*
 * Before the sandbox closes: libcurl and OpenSSL ready, the CAs and the
 * credentials the supervisor read for us copied in, their memfds closed.
 */
static int remote_prepare(struct worker *w, const struct fetch_origin *origin, bool credentials)
{
	size_t ca_len = 0, cred_len = 0;
	_cleanup_free_ char *ca = read_memfd(WORKER_CA_FD, 8u << 20, &ca_len);
	char *cred = credentials ? read_memfd(WORKER_CREDENTIALS_FD, 4096, &cred_len) : NULL;
	int r;

	if (!origin->host || !origin->port || !origin->path || !ca || (credentials && !cred))
		return log_error_errno(-EINVAL,
				       "domain %s: started without its origin, CAs or credentials "
				       "(is this run by cachefiles-supervisor?)",
				       w->domain);
	r = digest_init();
	if (r == 0)
		r = fetch_new(&w->fetch, w->domain, origin, ca, ca_len, cred);
	if (cred) {
		explicit_bzero(cred, cred_len);
		free(cred);
	}
	return r;
}
#endif

/*
 * Before HELLO: a worker that cannot confine itself dies while the
 * supervisor still counts it as starting, which backs off instead of
 * respawning at once; and nothing is ever served unconfined. The program
 * the supervisor handed over is the fast way; compiling is the fallback.
 */
static int confine(const char *domain, bool program_given, bool seccomp_log)
{
	if (program_given) {
		int r = seccomp_program_install(WORKER_PROGRAM_FD);
		close(WORKER_PROGRAM_FD);
		if (r == 0)
			return 0;
		log_warning("domain %s: compiling the syscall allowlist instead", domain);
	}
	return syscall_filter_install(WORKER_IPC_FD, seccomp_log, REMOTE);
}

/*
 * --export-seccomp-program: the supervisor's sandbox as for a worker, but no
 * serving. The program is loaded here too, so one that the kernel refuses
 * never reaches a worker (the supervisor keeps it only after exit 0).
 */
static int export_program(void)
{
	int r = syscall_filter_export(WORKER_PROGRAM_FD, WORKER_IPC_FD, REMOTE);

	if (r == 0)
		r = seccomp_program_install(WORKER_PROGRAM_FD);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "slot", required_argument, NULL, 's' },
		{ "seccomp", required_argument, NULL, 'S' },
		{ "seccomp-program", no_argument, NULL, 'P' },
		{ "export-seccomp-program", no_argument, NULL, 'E' },
#ifdef CFS_REMOTE_WORKER
		{ "origin", required_argument, NULL, 'O' },
		{ "origin-port", required_argument, NULL, 'p' },
		{ "origin-path", required_argument, NULL, 'a' },
		{ "registry", no_argument, NULL, 'R' },
		{ "proxy", required_argument, NULL, 'X' },
		{ "proxy-port", required_argument, NULL, 'x' },
		{ "fetch-deadline-ms", required_argument, NULL, 'D' },
		{ "credentials", no_argument, NULL, 'C' },
#endif
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct worker w = { .domain = "default" };
	bool seccomp_log = false, program_given = false, export_only = false;
#ifdef CFS_REMOTE_WORKER
	struct fetch_origin origin = { .deadline_ms = 30000 };
	bool credentials = false;
#endif
	unsigned slot = 0;
	int c;

	cfs_log_init(); /* before seccomp: isatty() is an ioctl */
	while ((c = getopt_long(argc, argv, "d:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': w.domain = optarg; break;
		case 's': slot = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'S':
			if (strcmp(optarg, "enforce") != 0 && strcmp(optarg, "log") != 0)
				return 2;
			seccomp_log = strcmp(optarg, "log") == 0;
			break;
		case 'P': program_given = true; break;
		case 'E': export_only = true; break;
#ifdef CFS_REMOTE_WORKER
		case 'O': origin.host = optarg; break;
		case 'p': origin.port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'a': origin.path = optarg; break;
		case 'R': origin.registry = true; break;
		case 'X': origin.proxy_host = optarg; break;
		case 'x': origin.proxy_port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'D': origin.deadline_ms = strtoull(optarg, NULL, 10); break;
		case 'C': credentials = true; break;
#endif
		case 'h':
			printf("Usage: cachefiles-worker --domain NAME --slot N [--seccomp enforce|log]\n"
			       "                         [--seccomp-program]\n"
			       "       cachefiles-worker --domain NAME --export-seccomp-program\n"
			       "Started by cachefiles-supervisor only: expects its IPC socket on fd 3,\n"
			       "the domain's blob directory on fd 4 and the seccomp program on fd 5.\n");
			return 0;
		default: return 2;
		}
	}
	/* The program is the enforcing one: log mode compiles its own. */
	if (program_given && seccomp_log)
		return 2;
	if (export_only)
		return export_program();
	if (fill_buffer_init(&w.buffer, FILL_BUFFER_SIZE) < 0) {
		log_error("domain %s: cannot allocate the fill buffer", w.domain);
		return 1;
	}
#ifdef CFS_REMOTE_WORKER
	if (remote_prepare(&w, &origin, credentials) < 0)
		return 1;
#endif
	test_hook_escape_prepare(slot);
	if (confine(w.domain, program_given, seccomp_log) < 0)
		return 1;
	test_hook_escape_attempt();
	if (say_hello() < 0) {
		log_error("domain %s: cannot start (is this run by cachefiles-supervisor?)", w.domain);
		return 1;
	}
#ifdef CFS_REMOTE_WORKER
	test_hook_escape_after_hello(origin.host, origin.port);
#else
	test_hook_escape_after_hello(NULL, 0);
#endif
	return serve(&w) < 0 ? 1 : 0;
}
