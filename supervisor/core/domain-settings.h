/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a domain is configured with: the one struct the config file's
 * [domain NAME] section, the --blob-dir command line and the running domain
 * (struct domain in supervisor.h) share. Keys, checks and defaults are in the
 * key table of config/config-keys.c; a new per-domain setting is a field here
 * and a row there (then its users and its documentation).
 */
#ifndef CFS_DOMAIN_SETTINGS_H
#define CFS_DOMAIN_SETTINGS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define DOMAIN_USER_MAX 32   /* worker_user, as useradd allows, without the NUL */
#define DOMAIN_VALUE_MAX 255 /* = CONFIG_VALUE_MAX: a value of the file, without the NUL */

/* Where a domain's blobs are (docs/design.md, "Remote blobs"). */
enum origin_kind {
	ORIGIN_NONE,	 /* local files in blob_dir */
	ORIGIN_REGISTRY, /* an OCI distribution registry: GET /v2/<path>/blobs/sha256:<hex> */
	ORIGIN_URL,	 /* an HTTPS server: path is a template with one {digest} or {hex} */
};

/* origin = registry|url https://HOST[:PORT]/PATH */
struct origin_settings {
	enum origin_kind kind;
	char host[DOMAIN_VALUE_MAX + 1]; /* a DNS name, an IPv4 address or [an IPv6 one] */
	uint16_t port;			 /* 443 unless given */
	char path[DOMAIN_VALUE_MAX + 1]; /* registry: the repository; url: the template, from its '/' */
};

/* proxy = http://HOST:PORT: an HTTP proxy every connection of the domain goes through (CONNECT). */
struct proxy_settings {
	char host[DOMAIN_VALUE_MAX + 1];
	uint16_t port; /* 0: no proxy */
};

#define REDIRECT_HOSTS_MAX 8

/*
 * redirect_hosts = HOST[:PORT] ...: where the origin may redirect a worker
 * (object storage). None of the domain's credentials go there.
 */
struct redirect_settings {
	struct redirect_host {
		char host[DOMAIN_VALUE_MAX + 1]; /* as origin.host */
		uint16_t port;			 /* 443 unless given */
	} hosts[REDIRECT_HOSTS_MAX];
	unsigned n; /* 0: a redirect to another host is refused */
};

struct remote_settings {
	struct origin_settings origin;
	struct proxy_settings proxy;
	struct redirect_settings redirect;
	char credentials[DOMAIN_VALUE_MAX + 1]; /* a root-only file: basic USER:PASSWORD or bearer TOKEN; "": none */
	char ca_file[DOMAIN_VALUE_MAX + 1];	/* PEM CAs the origin's certificate must chain to; "": the system's */
	uint64_t fetch_deadline_ms;		/* retries of a chunk end after this; set for remote domains only */
};

struct domain_settings {
	char blob_dir[PATH_MAX];	       /* blob_dir, --blob-dir */
	unsigned n_workers;		       /* workers, --workers */
	char worker_user[DOMAIN_USER_MAX + 1]; /* worker_user, --worker-user */
	bool seccomp_log;		       /* sandbox = log, --seccomp log: forbidden calls are only logged */
	uint64_t request_timeout_ms;	       /* request_timeout; the cache's unless the domain sets its own */
	uint32_t read_window;		       /* bytes a READ's fill may reach (window.h); 0: exact */
	uint32_t readahead;		       /* bytes filled ahead of a sequential reader at most; 0: none */
	uint64_t prefetch;	       /* bytes of each blob filled in the background; 0: none, UINT64_MAX: all */
	uint32_t prefetch_rate;	       /* bytes per second for the domain's prefetch; 0: no limit */
	struct remote_settings remote; /* origin, proxy, redirect_hosts, credentials, ca_file, fetch_deadline */
};

#endif
