/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Object metadata that must survive the supervisor (invariant 5): a memfd of
 * fixed-size records kept in the fd store (or passed across re-exec). The fd
 * store only keeps fds and names; this says what each anon fd is.
 *
 * The first KiB is a header (a start counter); records follow. Records are
 * 1 KiB and page aligned, each with a checksum, so a crash in
 * the middle of a write leaves at worst one unreadable record: that object's
 * fd is then dropped at recovery and the kernel reopens it on its next READ.
 */
#ifndef CFS_STATE_H
#define CFS_STATE_H

#include <stdint.h>

#include "cookie-key.h"
#include "fdnames.h"
#include "kmsg.h"

struct state_record {
	uint32_t checksum; /* FNV-1a of the rest; 0 = free */
	uint32_t obj_id;
	uint64_t size;
	uint32_t cookie_len;
	uint8_t cookie[COOKIE_KEY_MAX + 1];
	char volume_key[KMSG_VOLUME_KEY_MAX + 1];
	/*
	 * Counts the records written at this index, modulo FDNAME_GENERATIONS,
	 * for the object's fd name (fdnames.h). Taken from what was the padding:
	 * a predecessor's records read as generation 0.
	 */
	uint8_t fd_gen;
	uint8_t pad[1024 - 4 - 4 - 8 - 4 - (COOKIE_KEY_MAX + 1) - (KMSG_VOLUME_KEY_MAX + 1) - 1];
};

_Static_assert(sizeof(struct state_record) == 1024, "records never straddle a page");

struct state {
	int fd;
	uint32_t starts;    /* supervisor starts on this state, first one included */
	uint32_t n_records; /* capacity */
	uint8_t *used;	    /* which records are taken (in memory only) */
	uint8_t *gen;	    /* each index's last fd_gen, taken or not */
};

/* Creates a new, empty state memfd. */
int state_create(struct state *st);
/* Takes over a state memfd from a predecessor; valid records are marked used. */
int state_adopt(struct state *st, int fd);
/* Writes a record into a free index with the index's next fd_gen; returns that index or -errno. */
int state_add(struct state *st, const struct state_record *rec);
void state_clear(struct state *st, uint32_t idx);
/* The fd_gen of the record last written at idx. */
uint8_t state_generation(const struct state *st, uint32_t idx);
/* The fd-store name of the object recorded at idx (fdnames.h): its index and that generation. */
void state_fdname(const struct state *st, uint32_t idx, char buf[FDNAME_OBJECT_SIZE]);
/* Counts one more supervisor start in the header; returns the count. */
uint32_t state_count_start(struct state *st);
/* Reads record idx; returns 0 if it is valid and in use, -ENOENT otherwise. */
int state_read(const struct state *st, uint32_t idx, struct state_record *rec);
void state_free(struct state *st);

uint32_t state_checksum(const struct state_record *rec);

#endif
