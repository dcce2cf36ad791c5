/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Misbehaviour on demand, compiled only into cachefiles-worker-test (never
 * installed), so vm scenarios can prove the supervisor survives a worker that
 * crashes on a request or sends garbage. The production worker has none of it.
 *
 *   blob names starting with "poison-": the worker aborts on every READ of it
 *   CFS_TEST_GARBAGE_EVERY=N: every Nth reply of a worker is garbage
 *   CFS_TEST_ESCAPE=FILE: the worker in slot 0, sandboxed but before HELLO,
 *     reads an attempt name from FILE in its blob dir and tries that escape
 *     (device, outside, execve, socket-inet, socket-unix, ptrace, mount,
 *     setuid, write-fd, fork, ioctl, kill); each probe is logged as
 *     "escape NAME: pid P trying CALL" and then "... denied: ERROR" or
 *     "... SUCCEEDED", and "escape NAME: pid P survived" if no probe killed
 *     it. Only slot 0, so the other workers keep serving.
 */
#ifndef CFS_TEST_HOOKS_H
#define CFS_TEST_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef CFS_TEST_HOOKS
void test_hook_on_read(const uint8_t *cookie, uint32_t cookie_len);
/* True if this reply must be replaced by garbage. */
bool test_hook_garbage_now(void);
/* Before the seccomp filter: reads the attempt to make (opening files is denied afterwards). */
void test_hook_escape_prepare(unsigned slot);
/* After the filter, before HELLO: makes the attempt. */
void test_hook_escape_attempt(void);
#else
static inline void test_hook_on_read(const uint8_t *cookie, uint32_t cookie_len)
{
	(void)cookie, (void)cookie_len;
}
static inline bool test_hook_garbage_now(void)
{
	return false;
}
static inline void test_hook_escape_prepare(unsigned slot)
{
	(void)slot;
}
static inline void test_hook_escape_attempt(void) {}
#endif

#endif
