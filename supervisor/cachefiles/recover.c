/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "recover.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cfs-log.h"
#include "cfs-util.h"
#include "fdnames.h"
#include "fdstore.h"
#include "requests.h"

/* Returns 0: no object recovered from this fd. */
static int drop_fd(const char *name, int fd, const char *why)
{
	log_notice("fd store: dropping fd '%s': %s", name, why);
	fdstore_remove(name);
	close(fd);
	return 0;
}

/* LISTEN_FDNAMES, n of them; taken ones are freed and set to NULL on the way. */
struct listen_names {
	char **v;
	int n;
};

static void listen_names_free(struct listen_names *l)
{
	for (int i = 0; l->v && i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* Finds the one fd of that name; a second distinct one is dropped. */
static int take_named(char **names, int n, const char *want)
{
	int found = -1;

	for (int i = 0; i < n; i++) {
		if (!names[i] || strcmp(names[i], want) != 0)
			continue;
		if (found < 0) {
			found = SD_LISTEN_FDS_START + i;
		} else {
			log_warning("fd store: a second '%s' fd: closed", want);
			close(SD_LISTEN_FDS_START + i);
		}
		free(names[i]);
		names[i] = NULL;
	}
	return found;
}

/* obj_id -> record index + 1, for every valid record. */
static int index_records(const struct state *st, struct idmap *by_obj_id)
{
	struct state_record rec;

	for (uint32_t i = 0; i < st->n_records; i++) {
		if (!st->used[i] || state_read(st, i, &rec) < 0)
			continue;
		int r = idmap_put(by_obj_id, rec.obj_id, (void *)(uintptr_t)(i + 1));
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * An object the kernel has let go of while its fd sat in the store: a crash
 * between reading a CLOSE and removing the fd (issue 17, item 7) would
 * otherwise keep it, its record and a max_objects place until the store is
 * dropped. The anon fd's lseek goes to the object's cache file, which the
 * kernel detaches when it withdraws the object: then it fails with ENOBUFS
 * (fs/cachefiles/ondemand.c, 6.12; the vm scenario
 * closed_object_is_released_after_a_crash checks it on the test kernel).
 * Any other answer keeps the object: only that one is certain.
 */
static bool object_withdrawn(int fd)
{
	return lseek(fd, 0, SEEK_CUR) < 0 && errno == ENOBUFS;
}

/*
 * Which record an object fd's name points at: its index and generation
 * (fdnames.h), or a predecessor's "obj-<id>" looked up by object id.
 * Returns the record's index, -ENOENT when no record matches, -EINVAL for
 * a name of neither form.
 */
static int record_of_name(const struct transport_state *t, const struct idmap *records, const char *name, bool *legacy)
{
	uint32_t idx, obj_id;
	uint8_t gen;

	*legacy = false;
	if (fdname_parse_object(name, &idx, &gen) == 0)
		return idx < t->state.n_records && t->state.used[idx] && state_generation(&t->state, idx) == gen
			       ? (int)idx
			       : -ENOENT;
	if (fdname_parse_legacy(name, &obj_id) < 0)
		return -EINVAL;
	*legacy = true;
	idx = (uint32_t)(uintptr_t)idmap_get(records, obj_id);
	return idx ? (int)idx - 1 : -ENOENT;
}

/* A predecessor's name goes: the fd is kept under the name this scheme gives it. */
static void rename_legacy(struct transport_state *t, const char *name, int idx, int fd)
{
	char now[FDNAME_OBJECT_SIZE];

	state_fdname(&t->state, (uint32_t)idx, now);
	fdstore_remove(name);
	fdstore_push(now, fd);
}

static int recover_object(struct supervisor *s, struct transport_state *t, const struct idmap *records,
			  const char *name, int fd, uint8_t *claimed)
{
	struct state_record rec;
	struct object proto = { .anon_fd = fd, .state = OBJECT_OPEN, .in_fdstore = fdstore_available() };
	struct object *o;
	int idx, domain, r;
	bool legacy;

	idx = record_of_name(t, records, name, &legacy);
	if (idx == -EINVAL)
		return drop_fd(name, fd, "unknown name");
	if (object_withdrawn(fd))
		return drop_fd(
			name, fd,
			"the kernel withdrew the object (lseek: ENOBUFS; a predecessor read its CLOSE and died before "
			"forgetting it)");
	if (idx < 0 || claimed[idx] || state_read(&t->state, (uint32_t)idx, &rec) < 0)
		return drop_fd(name, fd, "no state record (the kernel reopens the object on demand)");
	domain = s->sink->route(s, rec.volume_key);
	if (domain < 0)
		return drop_fd(name, fd, "no domain serves its volume any more");
	proto.obj_id = rec.obj_id;
	proto.size = rec.size;
	proto.domain = (unsigned)domain;
	proto.state_idx = idx;
	proto.key_len = rec.cookie_len;
	memcpy(proto.key, rec.cookie, sizeof(proto.key));
	memcpy(proto.volume, rec.volume_key, sizeof(proto.volume));
	r = objects_insert(&s->objects, &proto, &o);
	if (r < 0)
		return drop_fd(name, fd, "cannot track it");
	claimed[idx] = 1;
	if (legacy && proto.in_fdstore)
		rename_legacy(t, name, idx, fd);
	return 1;
}

/* Records nobody claimed describe objects whose fd is gone. */
static void clear_unclaimed(struct state *st, const uint8_t *claimed)
{
	for (uint32_t i = 0; i < st->n_records; i++)
		if (st->used[i] && !claimed[i])
			state_clear(st, i);
}

int recover_from_listen_fds(struct supervisor *s, struct transport_state *t)
{
	_cleanup_(listen_names_free) struct listen_names l = { 0 };
	_cleanup_free_ uint8_t *claimed = NULL;
	_cleanup_(idmap_free) struct idmap records = { 0 };
	char **names;
	int n, state_fd, recovered = 0, r;

	n = l.n = sd_listen_fds_with_names(1, &l.v);
	if (n < 0)
		return log_error_errno(n, "LISTEN_FDS unreadable");
	if (n == 0)
		return 0;
	names = l.v;
	for (int i = 0; i < n; i++)
		fcntl(SD_LISTEN_FDS_START + i, F_SETFD, FD_CLOEXEC); /* before any worker is forked */

	t->dev_fd = take_named(names, n, FDNAME_DEVICE);
	state_fd = take_named(names, n, FDNAME_STATE);
	/* Without its state the objects' fds cannot be told apart: they all go. */
	r = state_fd >= 0 ? state_adopt(&t->state, state_fd) : 0;
	if (r < 0)
		return log_error_errno(r, "Cannot use the state memfd");
	claimed = calloc(t->state.n_records + 1, 1);
	if (!claimed || index_records(&t->state, &records) < 0)
		return log_error_errno(-ENOMEM, "Out of memory recovering objects");

	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		if (!names[i])
			continue;
		if (t->dev_fd < 0)
			drop_fd(names[i], fd, "the device did not come back: the cache starts afresh");
		else
			recovered += recover_object(s, t, &records, names[i], fd, claimed);
		free(names[i]);
		names[i] = NULL;
	}
	clear_unclaimed(&t->state, claimed);
	log_notice("recovered %s and %d objects from %d fds", t->dev_fd >= 0 ? "the device" : "no device", recovered,
		   n);
	return recovered;
}
