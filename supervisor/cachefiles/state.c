/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdnames.h"

#define STATE_GROW 256
#define STATE_MAGIC 0x43465331u /* "CFS1" */

/* Record i lives after the header, which is record-sized too. */
static off_t record_offset(uint32_t idx)
{
	return (off_t)(idx + 1) * (off_t)sizeof(struct state_record);
}

struct state_header {
	uint32_t magic;
	uint32_t starts;
};

uint32_t state_count_start(struct state *st)
{
	struct state_header h = { 0 };

	if (pread(st->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.magic != STATE_MAGIC)
		h = (struct state_header){ .magic = STATE_MAGIC };
	h.starts++;
	(void)pwrite(st->fd, &h, sizeof(h), 0);
	st->starts = h.starts;
	return h.starts;
}

uint32_t state_checksum(const struct state_record *rec)
{
	const uint8_t *p = (const uint8_t *)rec + sizeof(rec->checksum);
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*rec) - sizeof(rec->checksum); i++)
		h = (h ^ p[i]) * 16777619u;
	return h ? h : 1; /* 0 means free */
}

static int grow(struct state *st, uint32_t n)
{
	uint8_t *used = realloc(st->used, n), *gen;

	if (!used)
		return -ENOMEM;
	st->used = used;
	gen = realloc(st->gen, n);
	if (!gen)
		return -ENOMEM;
	st->gen = gen;
	memset(used + st->n_records, 0, n - st->n_records);
	memset(gen + st->n_records, 0, n - st->n_records);
	if (ftruncate(st->fd, record_offset(n)) < 0)
		return -errno;
	st->n_records = n;
	return 0;
}

int state_create(struct state *st)
{
	*st = (struct state){ .fd = memfd_create("cachefiles-supervisor-state", MFD_CLOEXEC) };
	if (st->fd < 0)
		return -errno;
	return 0;
}

int state_adopt(struct state *st, int fd)
{
	struct stat sb;
	struct state_record rec;
	int r;

	*st = (struct state){ .fd = fd };
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (sb.st_size < record_offset(0))
		return 0; /* not even a header: an empty state */
	r = grow(st, (uint32_t)(sb.st_size / (off_t)sizeof(struct state_record)) - 1);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < st->n_records; i++) {
		st->used[i] = state_read(st, i, &rec) == 0;
		/* A cleared record keeps its generation: the next one at its index counts on from it. */
		if (pread(st->fd, &rec, sizeof(rec), record_offset(i)) == (ssize_t)sizeof(rec))
			st->gen[i] = rec.fd_gen % FDNAME_GENERATIONS;
	}
	return 0;
}

int state_read(const struct state *st, uint32_t idx, struct state_record *rec)
{
	if (idx >= st->n_records || pread(st->fd, rec, sizeof(*rec), record_offset(idx)) != (ssize_t)sizeof(*rec))
		return -ENOENT;
	if (rec->checksum == 0 || rec->checksum != state_checksum(rec))
		return -ENOENT;
	if (rec->cookie_len > COOKIE_KEY_MAX || memchr(rec->volume_key, '\0', sizeof(rec->volume_key)) == NULL)
		return -ENOENT;
	return 0;
}

int state_add(struct state *st, const struct state_record *in)
{
	struct state_record rec = *in;
	uint32_t idx;

	for (idx = 0; idx < st->n_records && st->used[idx]; idx++)
		;
	if (idx == st->n_records) {
		int r = grow(st, st->n_records + STATE_GROW);
		if (r < 0)
			return r;
	}
	rec.fd_gen = (uint8_t)((st->gen[idx] + 1) % FDNAME_GENERATIONS);
	rec.checksum = state_checksum(&rec);
	if (pwrite(st->fd, &rec, sizeof(rec), record_offset(idx)) != (ssize_t)sizeof(rec))
		return errno ? -errno : -EIO;
	st->used[idx] = 1;
	st->gen[idx] = rec.fd_gen;
	return (int)idx;
}

void state_clear(struct state *st, uint32_t idx)
{
	uint32_t zero = 0;

	if (idx >= st->n_records)
		return;
	(void)pwrite(st->fd, &zero, sizeof(zero), record_offset(idx));
	st->used[idx] = 0;
}

uint8_t state_generation(const struct state *st, uint32_t idx)
{
	return idx < st->n_records ? st->gen[idx] : 0;
}

void state_fdname(const struct state *st, uint32_t idx, char buf[FDNAME_OBJECT_SIZE])
{
	fdname_of_object(idx, state_generation(st, idx), buf);
}

void state_free(struct state *st)
{
	if (st->fd >= 0)
		close(st->fd);
	free(st->used);
	free(st->gen);
	*st = (struct state){ .fd = -1 };
}
