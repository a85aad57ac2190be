/*
 * tl_test.h: the unit-test runner every tests/unit/test_*.c uses. A test
 * file defines its cases with TL_TEST(name) and lists them in TL_TESTS();
 * main runs them all, prints one line per case and a closing
 * "N passed, N failed", and exits non-zero when any failed.
 */
#ifndef TL_TEST_H
#define TL_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tl_test_failures_;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n",         \
				__FILE__, __LINE__, #cond);                    \
			tl_test_failures_++;                                   \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (!a_ || !b_ || strcmp(a_, b_)) {                            \
			fprintf(stderr, "  %s:%d: \"%s\" != \"%s\"\n",         \
				__FILE__, __LINE__, a_ ? a_ : "(null)",        \
				b_ ? b_ : "(null)");                           \
			tl_test_failures_++;                                   \
		}                                                              \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                            \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		if (!h_ || !strstr(h_, n_)) {                                  \
			fprintf(stderr, "  %s:%d: \"%s\" does not contain "    \
					"\"%s\"\n",                            \
				__FILE__, __LINE__, h_ ? h_ : "(null)", n_);   \
			tl_test_failures_++;                                   \
		}                                                              \
	} while (0)

#define TL_TEST(name) static void name(void)

typedef struct {
	const char *name;
	void (*fn)(void);
} tl_test_case;

#define TL_TESTS(...)                                                          \
	int main(int argc, char **argv)                                        \
	{                                                                      \
		static const tl_test_case cases[] = {__VA_ARGS__};             \
		int passed = 0, failed = 0;                                    \
		for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {    \
			/* arguments: run the cases whose name contains   \
			 * one of them */                                  \
			bool chosen = argc < 2;                                \
			for (int a = 1; a < argc && !chosen; a++)              \
				chosen = strstr(cases[i].name, argv[a]);       \
			if (!chosen)                                           \
				continue;                                      \
			int before = tl_test_failures_;                        \
			cases[i].fn();                                         \
			bool ok = tl_test_failures_ == before;                 \
			printf("%s %s\n", ok ? "ok  " : "FAIL", cases[i].name); \
			ok ? passed++ : failed++;                              \
		}                                                              \
		printf("%d passed, %d failed\n", passed, failed);              \
		return failed ? 1 : 0;                                         \
	}
#define T(fn) {#fn, fn}

#endif
