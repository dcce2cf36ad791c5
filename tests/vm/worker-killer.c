/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test tool: SIGKILLs a random child of PID every MIN..MAX ms until SIGTERM
 * or SIGINT (or after MAX kills), then prints how many children it killed. A
 * shell loop is far too slow for this under TCG (every fork costs tens of ms).
 *
 *   worker-killer PID [MIN_MS MAX_MS] [SIGNAL [MAX]]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECENT 64

static volatile sig_atomic_t stop;

static int recently_killed(const int *recent, int pid)
{
	for (int i = 0; i < RECENT; i++)
		if (recent[i] == pid)
			return 1;
	return 0;
}

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* Reads the children of pid; returns how many (at most max). */
static int children(int pid, int *out, int max)
{
	char path[64];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (n < max && fscanf(f, "%d", &out[n]) == 1)
		n++;
	fclose(f);
	return n;
}

/* A child that already died but is not reaped would still "accept" a kill. */
static int is_zombie(int pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return !p || p[2] == 'Z' || p[2] == 'X';
}

int main(int argc, char **argv)
{
	int parent, min_ms = 10, max_ms = 50, sig = SIGKILL;
	unsigned long kills = 0, max_kills = 0;
	int recent[RECENT] = { 0 };
	struct sigaction sa = { .sa_handler = on_stop };

	if (argc < 2 || argc == 3) {
		fprintf(stderr, "usage: worker-killer PID [MIN_MS MAX_MS] [SIGNAL [MAX]]\n");
		return 2;
	}
	parent = atoi(argv[1]);
	if (argc >= 4) {
		min_ms = atoi(argv[2]);
		max_ms = atoi(argv[3]);
	}
	if (argc >= 5)
		sig = atoi(argv[4]);
	if (argc >= 6)
		max_kills = strtoul(argv[5], NULL, 10);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	srand((unsigned)getpid());
	while (!stop && (max_kills == 0 || kills < max_kills)) {
		long ms = min_ms + rand() % (max_ms - min_ms + 1);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		int pids[256], n;

		nanosleep(&ts, NULL);
		n = children(parent, pids, 256);
		if (n < 0)
			break; /* the parent is gone */
		if (n == 0)
			continue;
		int victim = pids[rand() % n];
		/* A process killed a moment ago may not have exited yet: count it once. */
		if (recently_killed(recent, victim) || is_zombie(victim))
			continue;
		if (kill(victim, sig) == 0)
			recent[kills++ % RECENT] = victim;
	}
	printf("%lu\n", kills);
	return 0;
}
