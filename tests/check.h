/* check.h — a small test harness for the unit tests.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_U64(a, b); ... }
 *   int main(void) { return check_main(); }   -- or CHECK_MAIN()
 *
 * Tests register themselves through a constructor; each runs in order, a
 * failed CHECK ends that test. The binary prints one line per test and a
 * closing `RESULT <passed> <failed>` line that tests/run.sh adds up.
 * Exit status is non-zero when any test failed.
 */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <setjmp.h>

typedef void (*check_fn)(void);
struct check_case { const char *name; check_fn fn; };

#define CHECK_MAX 512
static struct check_case check_cases[CHECK_MAX];
static int check_ncases;
static jmp_buf check_jmp;
static int check_failed_now;

static inline void check_register(const char *name, check_fn fn)
{
	if (check_ncases < CHECK_MAX)
		check_cases[check_ncases++] = (struct check_case){ name, fn };
}

#define TEST(name)							\
	static void test_##name(void);					\
	__attribute__((constructor)) static void reg_##name(void)	\
	{ check_register(#name, test_##name); }				\
	static void test_##name(void)

#define CHECK_FAIL(...) do {						\
	fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);		\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	check_failed_now = 1;						\
	longjmp(check_jmp, 1);						\
} while (0)

#define CHECK(cond) do { if (!(cond)) CHECK_FAIL("check failed: %s", #cond); } while (0)
#define CHECK_EQ_U64(a, b) do {						\
	unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
	if (_a != _b) CHECK_FAIL("%s == %s: %llu != %llu", #a, #b, _a, _b); \
} while (0)
#define CHECK_EQ_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (!_a || !_b || strcmp(_a, _b))				\
		CHECK_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); \
} while (0)

static inline int check_main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	const char *only = argc > 1 ? argv[1] : NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < check_ncases; i++) {
		if (only && strcmp(only, check_cases[i].name))
			continue;
		check_failed_now = 0;
		if (!setjmp(check_jmp))
			check_cases[i].fn();
		if (check_failed_now) {
			failed++;
			printf("FAIL %s\n", check_cases[i].name);
		} else {
			passed++;
			printf("ok   %s\n", check_cases[i].name);
		}
	}
	printf("RESULT %d %d\n", passed, failed);
	return failed ? 1 : 0;
}
#define CHECK_MAIN() int main(int argc, char **argv) { return check_main(argc, argv); }

#endif
