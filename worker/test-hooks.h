/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Misbehaviour on demand, compiled only into cachefiles-worker-test (never
 * installed), so vm scenarios can prove the supervisor survives a worker that
 * crashes on a request or sends garbage. The production worker has none of it.
 *
 *   blob names starting with "poison-": the worker aborts on every READ of it
 *   CFS_TEST_GARBAGE_EVERY=N: every Nth reply of a worker is garbage
 */
#ifndef CFS_TEST_HOOKS_H
#define CFS_TEST_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef CFS_TEST_HOOKS
void test_hook_on_read(const uint8_t *cookie, uint32_t cookie_len);
/* True if this reply must be replaced by garbage. */
bool test_hook_garbage_now(void);
#else
static inline void test_hook_on_read(const uint8_t *cookie, uint32_t cookie_len) { (void)cookie, (void)cookie_len; }
static inline bool test_hook_garbage_now(void) { return false; }
#endif

#endif
