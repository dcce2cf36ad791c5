/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Misbehaviour on demand, compiled only into cachefiles-worker-test and
 * cachefiles-worker-test-remote (never installed), so vm scenarios can
 * prove the supervisor survives a worker that crashes on a request, sends
 * garbage or tries to escape. The production workers have none of it.
 *
 *   blob names starting with "poison-": the worker aborts on every READ of it
 *   CFS_TEST_GARBAGE_EVERY=N: every Nth reply of a worker is garbage
 *   CFS_TEST_ESCAPE=FILE: the worker in slot 0, sandboxed but before HELLO,
 *     reads an attempt name from FILE in its blob dir (a file, or a FIFO
 *     whose writer only the next such worker reads) and tries that escape
 *     (device, outside, execve, socket-inet, socket-unix, ptrace, mount,
 *     setuid, write-fd, fork, ioctl, kill); each probe is logged as
 *     "escape NAME: pid P trying CALL" and then "... denied: ERROR" or
 *     "... SUCCEEDED", and "escape NAME: pid P survived" if no probe killed
 *     it. Only slot 0, so the other workers keep serving.
 *     These need the supervisor's answers, so come after HELLO: in a remote
 *     domain's worker, connect-elsewhere, sendto-addr, sendmsg-addr (on a
 *     socket it was handed), connect-wrong-host, connect-wrong-port,
 *     connect-proxy, connect-redirect, connect-flood; in a local domain's,
 *     connect-local-domain.
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
/* After HELLO: makes an attempt that needs the supervisor's answers. host: the origin's, NULL in a local domain. */
void test_hook_escape_after_hello(const char *host, uint16_t port);
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
static inline void test_hook_escape_after_hello(const char *host, uint16_t port)
{
	(void)host, (void)port;
}
#endif

#endif
