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
#include <sys/stat.h>
#include <sys/types.h>

#include "cfs-clock.h"
#include "domain-settings.h"
#include "inflight.h"
#include "latency.h"
#include "objects.h"
#include "prefetch.h"
#include "sandbox-settings.h"
#include "space.h"
#include "transport.h"

/*
 * A domain's workers live in slots (d->workers[]; "slot" means only this):
 * object->adopted_mask is 64 bits; half the slots let a new generation start
 * beside a draining one.
 */
#define WORKER_SLOTS 64
#define MAX_WORKERS_PER_DOMAIN (WORKER_SLOTS / 2)

enum worker_state {
	WORKER_EMPTY,	 /* no process; respawn at respawn_at_ms */
	WORKER_STARTING, /* forked, HELLO not yet received */
	WORKER_READY,
};

/* An object a worker holds, as its ring of them knows it (pool-held.h). */
struct held_entry {
	uint32_t handle;
	uint32_t obj_id; /* a handle is reused once its object closed: this tells the entry is stale */
};

struct worker {
	enum worker_state state;
	pid_t pid;
	int pidfd;
	int sock;
	unsigned outstanding; /* requests it holds */
	bool killed_by_us;    /* hung or broke the protocol: its requests are suspects */
	bool dying;	      /* socket gone or kill sent: nothing more goes to it */
	bool wanted;	      /* slot of the current generation: kept running */
	bool retiring;	      /* old generation: finishes what it holds, then leaves */
	uint64_t started_ms;
	uint64_t respawn_at_ms;
	char version[32];
	struct chunk chunk; /* the prefetch or readahead chunk it holds; id 0: none, it takes READs */
	/*
	 * DROPs its full socket could not take, sent in order when it can
	 * (EPOLLOUT); meanwhile it is given nothing, so at most one per handle.
	 */
	uint32_t *drops;
	unsigned n_drops, drops_room;
	bool socket_full;	   /* a send found no room: nothing goes to it until EPOLLOUT */
	uint64_t backlog_since_ms; /* when it last took a message, while one waits for room */
	/*
	 * The objects it holds (their adopted_mask has its bit): n_held of
	 * them, never more than the budget (pool-held.h), in a ring of up to
	 * that many entries (stale ones included) a clock hand sweeps.
	 */
	struct held_entry *held;
	unsigned n_ring, hand, n_held;
};

/*
 * Failures an operator alerts on, each also logged where it happens
 * (requests.c counts them). A domain counts every kind but the last: a
 * volume no domain serves belongs to none.
 */
enum failure_kind {
	FAILURE_MISSING_BLOB,	/* the blob is not in the blob dir (OPEN, or a READ after it went) */
	FAILURE_TRUNCATED_BLOB, /* a READ past the end of a blob shorter than the image wants */
	FAILURE_CACHE_FULL,	/* the cache refused a fill (ENOBUFS: its filesystem is full) */
	FAILURE_MAX_OBJECTS,	/* an OPEN refused: max_objects objects are open */
	FAILURE_UNROUTED,	/* an OPEN of a volume no domain serves */
	FAILURE_KINDS,
	FAILURE_DOMAIN_KINDS = FAILURE_UNROUTED,
};

/* Per-domain share of struct stats, for the control socket's status. */
/* A remote domain's origin, as its workers report it (wire_fetch_stats): totals since this process started. */
struct origin_stats {
	uint64_t bytes, requests, connects, retries, failures, bad_chunks;
};

struct domain_stats {
	uint64_t reads, bytes_served, spawns, deaths;
	struct origin_stats origin; /* all 0 for a local domain */
	uint64_t prefetched;	    /* bytes prefetch wrote */
	uint64_t readahead;	    /* bytes readahead wrote (window.h) */
	uint64_t failures[FAILURE_DOMAIN_KINDS];
};

enum domain_state {
	DOMAIN_UNUSED, /* a free index in s->domains (its old workers may still be draining) */
	DOMAIN_ACTIVE,
	DOMAIN_RETIRED, /* gone from the config: serves its open objects, takes no new volume */
};

/*
 * The worker binary's seccomp program for the domain's current generation
 * (pool/program-export.c). All zero: none, workers compile their own.
 */
struct worker_program {
	pid_t exporter;	      /* the worker binary exporting it, 0: none running */
	int exporter_pidfd;   /* while exporter */
	int fd;		      /* sealed memfd holding it (once ready); the exporter's output before */
	bool ready;	      /* fd holds a program a worker of this binary loaded */
	uint64_t deadline_ms; /* an exporter still running then is killed */
	uint64_t started_ms;
	struct stat exe; /* the worker binary it came from, checked at each spawn */
};

struct domain {
	enum domain_state state;
	char name[64];
	struct domain_settings settings; /* as configured: [domain NAME] or the --blob-dir command line */
	int blob_dir_fd;
	struct prefetch_bucket prefetch_bucket;
	uint32_t prefetch_cursor;	 /* object handle where the next search for work starts */
	bool readahead_hint;		 /* an object of it may want readahead: worth a search */
	struct sandbox_settings sandbox; /* its worker user, resolved */
	unsigned backoff_ms;		 /* grows while workers die before saying HELLO */
	char worker_version[32];	 /* what the newest ready worker reported */
	struct domain_stats stats;
	struct worker workers[WORKER_SLOTS];
	struct worker_program program;
};

struct settings {
	const char *device_path;
	const char *cache_dir;
	const char *tag;
	const char *worker_exe;
	/* A remote domain's worker (libcurl): worker_exe with "-remote" after it, beside it. */
	char worker_remote_exe[PATH_MAX];
	uint64_t request_timeout_ms;
	unsigned crash_limit;	   /* crashes/hangs a request may cause before it fails */
	unsigned kill_limit;	   /* outside SIGKILLs (OOM, admin) likewise, looser */
	unsigned queue_per_worker; /* requests handed to one worker at once */
	unsigned max_objects;	   /* OPENs beyond it are refused: the fd store has room for this many */
	struct space_limits space; /* thresholds sent at bind, and the quota the culler keeps */
	const char *ready_file;
	const char *control_path; /* the control socket; NULL or "": none */
};

struct stats {
	uint64_t opens, reads, closes, duplicates, malformed;
	uint64_t bytes_served;
	uint64_t spawns, deaths, timeouts, violations, restores, failed_requests;
	uint64_t refused_keys;
	uint64_t prefetched;
	uint64_t readahead; /* bytes readahead chunks wrote */
	uint64_t joined;    /* READs answered by the chunk they waited for, without a worker of their own */
	uint64_t evictions; /* DROPs that made room in a worker at its budget (pool-held.h) */
	uint64_t failures[FAILURE_KINDS];
};

/* A CONNECT a worker asked for, at the broker now (pool/connect.c). */
struct pending_connect {
	uint32_t id; /* ours, to the broker; 0: a free entry */
	unsigned domain, slot;
	pid_t pid;	  /* the worker that asked: a slot respawned since gets nothing */
	uint32_t conn_id; /* the worker's */
};

#define BROKER_PENDING_MAX 64
#define CONNECTS_PER_WORKER 4 /* answers a worker waits for at once, at most */

/* The connection broker (pool/broker.h), started at the first CONNECT. */
struct broker_state {
	pid_t pid; /* 0: not running */
	int pidfd, sock;
	uint64_t started_ms; /* a broker that keeps dying is started at most once a second */
	uint32_t last_id;
	struct pending_connect pending[BROKER_PENDING_MAX];
	uint64_t connects, refused; /* connections handed to workers; requests refused */
};

struct config;
struct control;

struct supervisor {
	struct settings cfg;
	struct config *config;	 /* NULL when the one domain comes from --blob-dir */
	const char *config_path; /* re-read on SIGHUP */
	const struct transport_ops *transport;
	struct transport_state *transport_state; /* the transport's own (transport.h) */
	const struct transport_sink *sink;	 /* where the transport hands requests (process/hub.c) */
	int epoll_fd;
	int signal_fd;
	int timer_fd;
	unsigned timer_interval_ms; /* 0 = disarmed */
	uint64_t busy_until_ms;	    /* the timeout tick lingers until then (loop.c) */
	struct objects objects;
	struct inflight inflight;
	struct domain *domains;
	unsigned n_domains; /* indexes in use or once used, of CONFIG_MAX_DOMAINS with a config */
	bool quit;
	bool reexec_wanted;
	bool reload_requested; /* SIGHUP or `reload`: done after the batch, the verdict to waiting clients */
	bool reexec_requested; /* SIGUSR2 or `reexec`: checked first (reexec.c), then reexec_wanted */
	unsigned starts;       /* starts on this cache's state (restarts + 1) */
	bool resumed;	       /* this start took over a bound cache instead of binding one */
	unsigned recovered;    /* objects this start took back from the fd store or a re-exec */
	uint64_t started_ms;
	bool served_since_start;
	int housekeeping_fd;	/* timerfd: STATUS= and WATCHDOG=1 under systemd */
	uint64_t watchdog_usec; /* 0: no watchdog */
	const char *self_exe;	/* our binary's path, for re-exec */
	char **argv;
	struct control *control; /* the control socket (control.c); NULL: none */
	struct stats stats;
	uint32_t last_chunk_id;	  /* the last chunk id handed out */
	unsigned chunks_out;	  /* workers holding a prefetch or readahead chunk */
	struct latency latency;	  /* READ latency histogram, recovery after worker deaths */
	struct space_stats space; /* cache size, free space and culling, kept by the transport's culler */
	struct broker_state broker;
};

/* Epoll tags: what an event belongs to. */
enum event_kind {
	EV_TRANSPORT = 1,
	EV_SIGNAL,
	EV_TIMER,
	EV_WORKER_SOCK,
	EV_WORKER_PIDFD,
	EV_PROGRAM_EXPORT, /* a domain's seccomp program exporter ended (its pidfd) */
	EV_HOUSEKEEPING,
	EV_CONTROL,	  /* the control socket's listener and timer (control.c) */
	EV_CONTROL_CONN,  /* a control connection: its index, and a generation in the domain field */
	EV_TRANSPORT_AUX, /* the transport's other fds (the culler's timer and signal): its index */
	EV_BROKER,	  /* the connection broker's socket (index 0) or pidfd (index 1) */
};
#define EV_TAG(kind, domain, index) (((uint64_t)(kind) << 56) | ((uint64_t)(domain) << 16) | (index))
#define EV_KIND(tag) ((unsigned)((tag) >> 56))
#define EV_DOMAIN(tag) ((unsigned)(((tag) >> 16) & 0xffffffffu))
#define EV_INDEX(tag) ((unsigned)((tag)&0xffffu))

#endif
