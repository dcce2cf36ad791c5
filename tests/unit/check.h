/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Minimal assertions for the unit tests: a failed check names its line and ends the test. */
#ifndef CFS_CHECK_H
#define CFS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                                 \
		}                                                                                \
	} while (0)

#define CHECK_EQ(a, b)                                                                                              \
	do {                                                                                                        \
		long long _a = (long long)(a), _b = (long long)(b);                                                 \
		if (_a != _b) {                                                                                     \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, _a, #b, \
				_b);                                                                                \
			exit(1);                                                                                    \
		}                                                                                                   \
	} while (0)

#define RUN(test)                           \
	do {                                \
		test();                     \
		printf("ok - %s\n", #test); \
	} while (0)

#endif
