/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one clock: CLOCK_MONOTONIC, so deadlines, backoffs and latency
 * figures never jump with the wall clock. Shared by the supervisor and
 * cachefilesctl; header-only so it adds no edge between files.
 */
#ifndef CFS_CLOCK_H
#define CFS_CLOCK_H

#include <stdint.h>
#include <sys/timerfd.h>
#include <time.h>

static inline uint64_t clock_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static inline uint64_t now_ms(void)
{
	return clock_now_us() / 1000;
}

/* A timerfd that fires every interval_ms, from now; 0 disarms it. */
static inline void timerfd_every_ms(int timer_fd, unsigned interval_ms)
{
	struct itimerspec its = { 0 };

	its.it_interval.tv_sec = interval_ms / 1000;
	its.it_interval.tv_nsec = (long)(interval_ms % 1000) * 1000000;
	its.it_value = its.it_interval;
	timerfd_settime(timer_fd, 0, &its, NULL);
}

#endif
