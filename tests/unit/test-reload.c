/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Config reload (domains_reload): domains are added into free slots, changed
 * in place, retired while they hold objects and released with their last
 * one; a file with errors, or one that moves the bound cache, changes
 * nothing. Runs the real code on real files; no worker is forked (a reload
 * only marks slots wanted; the event loop spawns).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "domains.h"
#include "pool.h"

int cfs_log_max_priority = 3;

static char dir[64];
static char conf[128];
static struct config config;
static struct supervisor s;

/* One [cache] section (cache dir "cache", or dir_name) and [domain N] for each name, volume "erofs,N-*". */
static void write_conf(const char *cache_dir, const char *names, const char *extra)
{
	char name[32];
	FILE *f = fopen(conf, "w");
	int n = 0;

	CHECK(f);
	fprintf(f, "[cache]\ndir = %s/%s\n", dir, cache_dir);
	for (const char *p = names; sscanf(p, "%31s%n", name, &n) == 1; p += n)
		fprintf(f,
			"\n[domain %s]\nvolume = erofs,%s-*\nblob_dir = %s/blobs\nworker_user = nobody\n"
			"workers = 2\n",
			name, name, dir);
	fputs(extra, f);
	CHECK(fclose(f) == 0);
}

static int slot_of(const char *name)
{
	for (unsigned i = 0; i < s.n_domains; i++)
		if (s.domains[i].state != DOMAIN_UNUSED && strcmp(s.domains[i].name, name) == 0)
			return (int)i;
	return -1;
}

static unsigned wanted_workers(const struct domain *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < WORKER_SLOTS; i++)
		n += d->workers[i].wanted;
	return n;
}

/* An object of domain slot di, as an OPEN would make it. */
static struct object *add_object(uint32_t obj_id, unsigned di)
{
	struct object proto = { .obj_id = obj_id,
				.anon_fd = open("/dev/null", O_RDONLY | O_CLOEXEC),
				.state = OBJECT_OPEN,
				.domain = di,
				.state_idx = -1 };
	struct object *o;

	CHECK(proto.anon_fd >= 0);
	CHECK_EQ(objects_insert(&s.objects, &proto, &o), 0);
	return o;
}

static void close_object(struct object *o)
{
	unsigned di = o->domain;

	objects_remove(&s.objects, o);
	domains_object_gone(&s, di);
}

static void start_with_two_domains(void)
{
	write_conf("cache", "alpha beta", "");
	CHECK_EQ(domains_load_config(conf, &config), 0);
	CHECK_EQ(domains_from_config(&s, &config), 0);
	s.config_path = conf;
	CHECK_EQ(domains_prepare(&s), 2); /* both served */
	for (unsigned i = 0; i < s.n_domains; i++) {
		pool_upgrade(&s, &s.domains[i]); /* as pool_start marks them, without forking */
		s.domains[i].workers[0].state = s.domains[i].workers[1].state = WORKER_READY;
	}
	CHECK_EQ(s.n_domains, 2);
	CHECK_EQ(domains_route(&s, "erofs,beta-1"), 1);
}

static void a_new_domain_takes_a_new_slot_and_routes(void)
{
	write_conf("cache", "alpha beta gamma", "");
	CHECK_EQ(domains_reload(&s), 0);
	CHECK_EQ(s.n_domains, 3);
	CHECK_EQ(slot_of("alpha"), 0);
	CHECK_EQ(slot_of("beta"), 1);
	CHECK_EQ(slot_of("gamma"), 2);
	CHECK_EQ(domains_route(&s, "erofs,gamma-x"), 2);
	CHECK_EQ(wanted_workers(&s.domains[2]), 2);
	/* Kept domains get a new generation: 2 wanted, the 2 before it retiring. */
	CHECK_EQ(wanted_workers(&s.domains[0]), 2);
	CHECK(s.domains[0].workers[0].retiring && !s.domains[0].workers[0].wanted);
	CHECK(s.domains[0].workers[2].wanted && s.domains[0].workers[3].wanted);
}

static void a_file_with_errors_changes_nothing(void)
{
	write_conf("cache", "alpha", "\n[domain delta]\nbogus = 1\n");
	CHECK_EQ(domains_reload(&s), -EINVAL);
	CHECK_EQ(s.n_domains, 3);
	CHECK_EQ(domains_route(&s, "erofs,beta-1"), 1);
	CHECK_EQ(s.config->n_domains, 3);
}

static void the_bound_cache_cannot_move(void)
{
	write_conf("elsewhere", "alpha beta gamma", "");
	CHECK_EQ(domains_reload(&s), -EINVAL);
	CHECK(strstr(s.cfg.cache_dir, "/cache") != NULL);
}

static void a_missing_blob_dir_changes_nothing(void)
{
	write_conf("cache", "alpha beta gamma", "[domain epsilon]\nvolume = erofs,e\nblob_dir = /nonexistent\n");
	CHECK_EQ(domains_reload(&s), -EINVAL);
	CHECK_EQ(slot_of("epsilon"), -1);
	CHECK_EQ(domains_route(&s, "erofs,e"), -ENOENT);
}

static void a_removed_domain_serves_its_objects_until_the_last_closes(void)
{
	struct object *one = add_object(7, 1), *two = add_object(8, 1);

	write_conf("cache", "alpha gamma", "");
	CHECK_EQ(domains_reload(&s), 0);
	CHECK_EQ(s.domains[1].state, DOMAIN_RETIRED);
	CHECK_EQ(domains_route(&s, "erofs,beta-1"), -ENOENT);
	CHECK_EQ(wanted_workers(&s.domains[1]), 2); /* still serving, still respawned */
	close_object(one);
	CHECK_EQ(s.domains[1].state, DOMAIN_RETIRED);
	close_object(two);
	CHECK_EQ(s.domains[1].state, DOMAIN_UNUSED);
	CHECK_EQ(wanted_workers(&s.domains[1]), 0);
	CHECK_EQ(s.domains[1].blob_dir_fd, -1);
}

static void a_retired_domain_named_again_comes_back_in_place(void)
{
	struct object *o = add_object(9, 2);

	write_conf("cache", "alpha", "");
	CHECK_EQ(domains_reload(&s), 0);
	CHECK_EQ(s.domains[2].state, DOMAIN_RETIRED);
	write_conf("cache", "alpha gamma", "");
	CHECK_EQ(domains_reload(&s), 0);
	CHECK_EQ(s.domains[2].state, DOMAIN_ACTIVE);
	CHECK_EQ(domains_route(&s, "erofs,gamma-1"), 2);
	close_object(o);
	CHECK_EQ(s.domains[2].state, DOMAIN_ACTIVE);
}

static void a_released_slot_is_reused(void)
{
	/* Slot 1 (beta) was released; it is free once its old workers are gone. */
	write_conf("cache", "alpha gamma zeta", "");
	CHECK_EQ(domains_reload(&s), 0);
	CHECK_EQ(slot_of("zeta"), 3);
	write_conf("cache", "alpha gamma", "");
	CHECK_EQ(domains_reload(&s), 0);
	CHECK_EQ(s.domains[3].state, DOMAIN_UNUSED);
	s.domains[1].workers[0].state = s.domains[1].workers[1].state = WORKER_EMPTY;
	write_conf("cache", "alpha gamma zeta", "");
	CHECK_EQ(domains_reload(&s), 0);
	CHECK_EQ(slot_of("zeta"), 1);
	CHECK_EQ(s.n_domains, 4);
	CHECK_EQ(domains_route(&s, "erofs,zeta-q"), 1);
}

static void changed_settings_apply_in_place(void)
{
	write_conf("cache", "alpha gamma zeta",
		   "[domain omega]\nvolume = erofs,o\nblob_dir = /\nworkers = 5\n"
		   "worker_user = daemon\n");
	CHECK_EQ(domains_reload(&s), 0);
	CHECK_EQ(slot_of("omega"), 3);
	CHECK_EQ(wanted_workers(&s.domains[3]), 5);
	CHECK(strcmp(s.domains[3].sandbox.user, "daemon") == 0);
	CHECK(s.domains[3].sandbox.user == s.domains[3].settings.worker_user);
	write_conf("cache", "alpha gamma zeta",
		   "[domain omega]\nvolume = erofs,o\nblob_dir = /\nworkers = 1\n"
		   "worker_user = nobody\n");
	CHECK_EQ(domains_reload(&s), 0);
	CHECK_EQ(slot_of("omega"), 3);
	CHECK_EQ(wanted_workers(&s.domains[3]), 1);
	CHECK(strcmp(s.domains[3].sandbox.user, "nobody") == 0);
	CHECK(s.domains[3].sandbox.uid != 1);
}

int main(void)
{
	char path[128];

	snprintf(dir, sizeof(dir), "/tmp/cfs-test-reload.XXXXXX");
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/blobs", dir);
	CHECK(mkdir(path, 0755) == 0);
	snprintf(conf, sizeof(conf), "%s/test.conf", dir);
	s.epoll_fd = -1;

	RUN(start_with_two_domains);
	RUN(a_new_domain_takes_a_new_slot_and_routes);
	RUN(a_file_with_errors_changes_nothing);
	RUN(the_bound_cache_cannot_move);
	RUN(a_missing_blob_dir_changes_nothing);
	RUN(a_removed_domain_serves_its_objects_until_the_last_closes);
	RUN(a_retired_domain_named_again_comes_back_in_place);
	RUN(a_released_slot_is_reused);
	RUN(changed_settings_apply_in_place);
	CHECK(unlink(conf) == 0 && rmdir(path) == 0 && rmdir(dir) == 0);
	return 0;
}
