/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one supervisor state, passed explicitly. Privileged code only: nothing
 * in worker/ includes this.
 */
#ifndef CFS_SUPERVISOR_H
#define CFS_SUPERVISOR_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "inflight.h"
#include "objects.h"

#define MAX_WORKERS_PER_DOMAIN 64 /* object->adopted_mask is 64 bits */

enum worker_state {
	WORKER_EMPTY,    /* no process; respawn at respawn_at_ms */
	WORKER_STARTING, /* forked, HELLO not yet received */
	WORKER_READY,
};

struct worker {
	enum worker_state state;
	pid_t pid;
	int pidfd;
	int sock;
	unsigned outstanding;  /* requests it holds */
	bool killed_by_us;     /* hung or broke the protocol: its requests are suspects */
	bool dying;            /* socket gone or kill sent: nothing more goes to it */
	uint64_t started_ms;
	uint64_t respawn_at_ms;
	char version[32];
};

struct domain {
	char name[64];
	char blob_dir[PATH_MAX];
	int blob_dir_fd;
	unsigned n_workers;
	unsigned backoff_ms; /* grows while workers die before saying HELLO */
	struct worker workers[MAX_WORKERS_PER_DOMAIN];
};

struct settings {
	const char *device_path;
	const char *cache_dir;
	const char *tag;
	const char *worker_exe;
	uint64_t request_timeout_ms;
	unsigned crash_limit;      /* crashes/hangs a request may cause before it fails */
	unsigned kill_limit;       /* outside SIGKILLs (OOM, admin) likewise, looser */
	unsigned queue_per_worker; /* requests handed to one worker at once */
	const char *ready_file;
};

struct stats {
	uint64_t opens, reads, closes, duplicates, malformed;
	uint64_t bytes_served;
	uint64_t spawns, deaths, timeouts, violations, restores, failed_requests;
	uint64_t refused_keys;
};

struct supervisor {
	struct settings cfg;
	int dev_fd;
	int epoll_fd;
	int signal_fd;
	int timer_fd;
	unsigned timer_interval_ms; /* 0 = disarmed */
	struct objects objects;
	struct inflight inflight;
	struct domain *domains;
	unsigned n_domains;
	bool restore_wanted;
	bool quit;
	struct stats stats;
};

uint64_t now_ms(void);

/* Epoll tags: what an event belongs to. */
enum event_kind { EV_DEVICE = 1, EV_SIGNAL, EV_TIMER, EV_WORKER_SOCK, EV_WORKER_PIDFD };
#define EV_TAG(kind, domain, slot) (((uint64_t)(kind) << 56) | ((uint64_t)(domain) << 16) | (slot))
#define EV_KIND(tag) ((unsigned)((tag) >> 56))
#define EV_DOMAIN(tag) ((unsigned)(((tag) >> 16) & 0xffffffffu))
#define EV_SLOT(tag) ((unsigned)((tag) & 0xffffu))

#endif
