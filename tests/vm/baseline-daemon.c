// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * baseline-daemon: the smallest useful cachefiles on-demand daemon.
 *
 * One process, one loop, no privilege separation: it serves blobs from a
 * directory (blob name = cookie key) so the VM tests can prove the rig, and
 * it is the baseline the supervisor's benchmarks are measured against.
 *
 *   baseline-daemon --cache-dir DIR --blob-dir DIR [--tag T] [--ready-file PATH] [--window BYTES]
 *
 * --window fills the aligned window of BYTES (a power of two) around each
 * READ: the naive read amplification the supervisor's adaptive windows are
 * measured against (read_window_cuts_round_trips).
 *
 * The ready file (a regular file or a FIFO) gets "ready\n" once the cache is
 * bound. SIGTERM or SIGINT: close everything (which unbinds the cache) and
 * exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/cachefiles.h>

#define PAGE_SIZE_CF 4096u
#define MAX_OBJECTS (1u << 20)

struct object {
	int anon_fd; /* -1: slot free */
	int blob_fd;
	uint64_t size;
};

static struct object *objects;
static uint32_t n_objects;
static void *io_buf; /* page aligned: anon fd writes are direct I/O */
static size_t io_buf_size;
static uint64_t n_open, n_read, n_close, bytes_written;
static uint64_t window; /* 0: exactly the READ */

__attribute__((format(printf, 2, 3))) static int log_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("baseline-daemon: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	va_end(ap);
	return -err;
}

__attribute__((format(printf, 2, 3))) static int dev_cmd(int dev_fd, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -EINVAL;
	/* One command per write(): the kernel parses each write as a whole. */
	if (write(dev_fd, cmd, n) != n)
		return log_err(errno, "'%s'", cmd);
	return 0;
}

static struct object *object_slot(uint32_t obj_id)
{
	if (obj_id >= MAX_OBJECTS)
		return NULL;
	if (obj_id >= n_objects) {
		uint32_t n = obj_id + 64;
		struct object *o = realloc(objects, n * sizeof(*o));

		if (!o)
			return NULL;
		for (uint32_t i = n_objects; i < n; i++)
			o[i] = (struct object){ .anon_fd = -1, .blob_fd = -1 };
		objects = o;
		n_objects = n;
	}
	return &objects[obj_id];
}

static void object_close(struct object *obj)
{
	if (obj->anon_fd >= 0)
		close(obj->anon_fd);
	if (obj->blob_fd >= 0)
		close(obj->blob_fd);
	*obj = (struct object){ .anon_fd = -1, .blob_fd = -1 };
}

/* Returns the blob size, or -errno to send back as the copen result. */
static int64_t blob_open(int blob_dir_fd, const struct cachefiles_open *load, int *blob_fd)
{
	const char *key = (const char *)load->data + load->volume_key_size;
	char name[256];
	struct stat st;
	int fd;

	/* The cookie key is raw bytes from the mount options: never a path. */
	if (load->cookie_key_size == 0 || load->cookie_key_size >= sizeof(name) ||
	    memchr(key, '/', load->cookie_key_size) || memchr(key, '\0', load->cookie_key_size))
		return -EINVAL;
	memcpy(name, key, load->cookie_key_size);
	name[load->cookie_key_size] = '\0';
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	fd = openat(blob_dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	*blob_fd = fd;
	return st.st_size;
}

static void handle_open(int dev_fd, int blob_dir_fd, const struct cachefiles_msg *msg)
{
	const struct cachefiles_open *load = (const void *)msg->data;
	int anon_fd, blob_fd = -1;
	struct object *obj;
	int64_t size;

	if (msg->len < sizeof(*msg) + sizeof(*load)) {
		log_err(0, "OPEN msg %u too short (%u bytes)", msg->msg_id, msg->len);
		return;
	}
	anon_fd = load->fd;
	/* The kernel put anon_fd in our table without close-on-exec. */
	fcntl(anon_fd, F_SETFD, FD_CLOEXEC);
	if (msg->len < sizeof(*msg) + sizeof(*load) + load->volume_key_size + load->cookie_key_size)
		size = -EINVAL;
	else
		size = blob_open(blob_dir_fd, load, &blob_fd);
	obj = size >= 0 ? object_slot(msg->object_id) : NULL;
	if (size >= 0 && !obj) {
		close(blob_fd);
		size = -ENOMEM;
	}
	if (size < 0) {
		log_err(-size, "OPEN msg %u object %u refused", msg->msg_id, msg->object_id);
		dev_cmd(dev_fd, "copen %u,%" PRId64, msg->msg_id, size);
		close(anon_fd);
		return;
	}
	if (dev_cmd(dev_fd, "copen %u,%" PRId64, msg->msg_id, size) < 0) {
		close(anon_fd);
		close(blob_fd);
		return;
	}
	object_close(obj); /* a stale entry for a recycled object id */
	*obj = (struct object){ .anon_fd = anon_fd, .blob_fd = blob_fd, .size = (uint64_t)size };
	n_open++;
}

static int ensure_io_buf(size_t len)
{
	if (len <= io_buf_size)
		return 0;
	free(io_buf);
	io_buf_size = 0;
	if (posix_memalign(&io_buf, PAGE_SIZE_CF, len))
		return -ENOMEM;
	io_buf_size = len;
	return 0;
}

/* Copy [off, off+len) page aligned: anon fd writes are direct I/O. */
static int serve_range(struct object *obj, uint64_t off, uint64_t len)
{
	uint64_t limit = (obj->size + PAGE_SIZE_CF - 1) & ~(uint64_t)(PAGE_SIZE_CF - 1);
	uint64_t start = off & ~(uint64_t)(PAGE_SIZE_CF - 1);
	uint64_t end = (off + len + PAGE_SIZE_CF - 1) & ~(uint64_t)(PAGE_SIZE_CF - 1);
	size_t n, done;
	ssize_t r;

	if (window) {
		start = off & ~(window - 1);
		end = (off + len + window - 1) & ~(window - 1);
	}
	if (end > limit)
		end = limit;
	if (start >= end)
		return 0;
	n = end - start;
	if (ensure_io_buf(n) < 0)
		return -ENOMEM;
	for (done = 0; done < n; done += r) {
		r = pread(obj->blob_fd, (char *)io_buf + done, n - done, start + done);
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
	}
	memset((char *)io_buf + done, 0, n - done); /* the tail past the blob's end */
	for (done = 0; done < n; done += r) {
		r = pwrite(obj->anon_fd, (char *)io_buf + done, n - done, start + done);
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
	}
	bytes_written += n;
	return 0;
}

static void handle_read(const struct cachefiles_msg *msg)
{
	const struct cachefiles_read *load = (const void *)msg->data;
	struct object *obj = msg->object_id < n_objects ? &objects[msg->object_id] : NULL;
	int r;

	if (!obj || obj->anon_fd < 0 || msg->len < sizeof(*msg) + sizeof(*load)) {
		log_err(0, "READ msg %u for unknown object %u", msg->msg_id, msg->object_id);
		return;
	}
	r = serve_range(obj, load->off, load->len);
	if (r < 0)
		log_err(-r, "READ msg %u object %u [%llu+%llu]", msg->msg_id, msg->object_id,
			(unsigned long long)load->off, (unsigned long long)load->len);
	/* Completing without data is how a failed read reaches the reader. */
	if (ioctl(obj->anon_fd, CACHEFILES_IOC_READ_COMPLETE, msg->msg_id) < 0)
		log_err(errno, "READ_COMPLETE msg %u", msg->msg_id);
	n_read++;
}

static void handle_msg(int dev_fd, int blob_dir_fd, const struct cachefiles_msg *msg)
{
	switch (msg->opcode) {
	case CACHEFILES_OP_OPEN: handle_open(dev_fd, blob_dir_fd, msg); break;
	case CACHEFILES_OP_READ: handle_read(msg); break;
	case CACHEFILES_OP_CLOSE:
		if (msg->object_id < n_objects)
			object_close(&objects[msg->object_id]);
		n_close++;
		break;
	default: log_err(0, "unknown opcode %u (msg %u)", msg->opcode, msg->msg_id);
	}
}

static int signal_open(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	return signalfd(-1, &mask, SFD_CLOEXEC);
}

static int write_ready(const char *path)
{
	/* Blocking open: a FIFO waits for its reader, which is the point. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ok;

	if (fd < 0)
		return log_err(errno, "open %s", path);
	ok = write(fd, "ready\n", 6) == 6;
	close(fd);
	return ok ? 0 : log_err(errno, "write %s", path);
}

static int serve(int dev_fd, int blob_dir_fd, int sig_fd)
{
	struct pollfd pfd[2] = { { .fd = dev_fd, .events = POLLIN }, { .fd = sig_fd, .events = POLLIN } };
	uint64_t buf[CACHEFILES_MSG_MAX_SIZE / sizeof(uint64_t)]; /* aligned for the structs */
	ssize_t n;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return log_err(errno, "poll");
		}
		if (pfd[1].revents)
			return 0;
		/* Drain: read() returns 0 once nothing is pending. */
		while ((n = read(dev_fd, buf, sizeof(buf))) > 0) {
			if ((size_t)n < sizeof(struct cachefiles_msg)) {
				log_err(0, "short request (%zd bytes)", n);
				continue;
			}
			handle_msg(dev_fd, blob_dir_fd, (const struct cachefiles_msg *)buf);
		}
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return log_err(errno, "read /dev/cachefiles");
	}
}

/* Returns the bound device fd, or -errno. */
static int cache_bind(const char *cache_dir, const char *tag)
{
	int dev_fd = open("/dev/cachefiles", O_RDWR | O_CLOEXEC);

	if (dev_fd < 0)
		return log_err(errno, "open /dev/cachefiles");
	if (dev_cmd(dev_fd, "dir %s", cache_dir) < 0 || dev_cmd(dev_fd, "tag %s", tag) < 0 ||
	    dev_cmd(dev_fd, "bind ondemand") < 0) {
		close(dev_fd);
		return -EINVAL;
	}
	return dev_fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cache-dir", required_argument, NULL, 'c' }, { "blob-dir", required_argument, NULL, 'b' },
		{ "tag", required_argument, NULL, 't' },       { "ready-file", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },    { NULL, 0, NULL, 0 },
	};
	const char *cache_dir = NULL, *blob_dir = NULL, *tag = "baseline", *ready_file = NULL;
	int opt, dev_fd, blob_dir_fd, sig_fd, r;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cache_dir = optarg; break;
		case 'b': blob_dir = optarg; break;
		case 't': tag = optarg; break;
		case 'r': ready_file = optarg; break;
		case 'w':
			window = strtoull(optarg, NULL, 10);
			if (window & (window - 1) || (window && window < PAGE_SIZE_CF))
				return 2;
			break;
		default: return 2;
		}
	}
	if (!cache_dir || !blob_dir || optind != argc) {
		fprintf(stderr,
			"usage: %s --cache-dir DIR --blob-dir DIR [--tag T] [--ready-file PATH] [--window BYTES]\n",
			argv[0]);
		return 2;
	}
	blob_dir_fd = open(blob_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (blob_dir_fd < 0) {
		log_err(errno, "open %s", blob_dir);
		return 1;
	}
	sig_fd = signal_open();
	if (sig_fd < 0) {
		log_err(errno, "signalfd");
		return 1;
	}
	dev_fd = cache_bind(cache_dir, tag);
	if (dev_fd < 0 || (ready_file && write_ready(ready_file) < 0))
		return 1;

	r = serve(dev_fd, blob_dir_fd, sig_fd);
	for (uint32_t i = 0; i < n_objects; i++)
		object_close(&objects[i]);
	close(dev_fd); /* unbinds the cache */
	fprintf(stderr,
		"baseline-daemon: %" PRIu64 " opens, %" PRIu64 " reads, %" PRIu64 " closes, %" PRIu64
		" bytes written\n",
		n_open, n_read, n_close, bytes_written);
	return r < 0 ? 1 : 0;
}
