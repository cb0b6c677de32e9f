/* check.h — a small test harness for the unit tests.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_U64(a, b); ... }
 *   int main(void) { return check_main(); }   -- or CHECK_MAIN()
 *
 * Tests register themselves through a constructor; each runs in order, a
 * failed CHECK ends that test. The binary prints one line per test and a
 * closing `RESULT <passed> <failed>` line that tests/run.sh adds up.
 * Exit status is non-zero when any test failed.
 *
 * Cleanup. A failed CHECK leaves the test at once (longjmp), past whatever
 * cleanup code follows it, so anything that must not outlive the test is
 * registered as soon as it exists; it is undone when the test ends, passed
 * or failed, the last registered first (a cleanup must not CHECK):
 *   check_defer_unlink(path)   remove a file (the path is copied)
 *   check_defer_rmtree(path)   remove a directory and all it holds
 *   check_defer_kill(pid)      SIGKILL and reap a child not reaped by then
 *   check_defer(fn, arg)       call fn(arg)
 *   check_tmpdir()             a directory private to this run of the
 *                              binary, removed when check_main ends
 *
 * Children. CHILD(name) { ... } is a body that is not a test (it is not
 * run, listed nor counted by check_main): it runs only in a fresh process,
 * this binary re-executed as `--check-child name`, started by a test with
 *   struct check_child c;
 *   check_child("name", env, &c);      env: {"K=V", "K" (unset), NULL}
 *   CHECK_CHILD_EXIT(&c, 2);           exited with status 2
 *   CHECK_CHILD_SIGNAL(&c, SIGSEGV);   killed by a signal
 *   CHECK_CHILD_OUT(&c, "text");       stdout+stderr holds text
 *   CHECK_CHILD_NOT_OUT(&c, "text");   and not this
 * The child exits 0 when its body returns and CHECK_CHILD_FAILED when a
 * CHECK in it fails; one still running after CHECK_CHILD_TIMEOUT seconds is
 * killed (and the CHECK_CHILD_* macros fail on it).
 */
#ifndef CHECK_H
#define CHECK_H
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef void (*check_fn)(void);
struct check_case { const char *name; check_fn fn; };

#define CHECK_MAX 512
static struct check_case check_cases[CHECK_MAX];
static int check_ncases;
static struct check_case check_children[CHECK_MAX];
static int check_nchildren;
static jmp_buf check_jmp;
static int check_failed_now;

static inline void check_register(const char *name, check_fn fn)
{
	if (check_ncases < CHECK_MAX)
		check_cases[check_ncases++] = (struct check_case){ name, fn };
}

static inline void check_register_child(const char *name, check_fn fn)
{
	if (check_nchildren < CHECK_MAX)
		check_children[check_nchildren++] = (struct check_case){ name, fn };
}

#define TEST(name)							\
	static void test_##name(void);					\
	__attribute__((constructor)) static void reg_##name(void)	\
	{ check_register(#name, test_##name); }				\
	static void test_##name(void)

#define CHILD(name)							\
	static void child_##name(void);					\
	__attribute__((constructor)) static void regchild_##name(void)	\
	{ check_register_child(#name, child_##name); }			\
	static void child_##name(void)

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

/* ---- cleanup ------------------------------------------------------------ */

enum { CHECK_CU_FN, CHECK_CU_UNLINK, CHECK_CU_RMTREE, CHECK_CU_KILL };
struct check_cleanup {
	int kind;
	void (*fn)(void *);
	void *arg;
	pid_t pid;
	char path[512];
};
#define CHECK_CLEANUP_MAX 64
static struct check_cleanup check_cleanups[CHECK_CLEANUP_MAX];
static int check_ncleanups;

static inline void check_defer_push(struct check_cleanup c)
{
	if (check_ncleanups == CHECK_CLEANUP_MAX) {
		fprintf(stderr, "check.h: more than %d cleanups in one test\n", CHECK_CLEANUP_MAX);
		abort();
	}
	check_cleanups[check_ncleanups++] = c;
}

static inline void check_defer(void (*fn)(void *), void *arg)
{
	check_defer_push((struct check_cleanup){ .kind = CHECK_CU_FN, .fn = fn, .arg = arg });
}

static inline void check_defer_path(int kind, const char *path)
{
	struct check_cleanup c = { .kind = kind };
	if (strlen(path) >= sizeof(c.path)) {
		fprintf(stderr, "check.h: path too long to clean up: %s\n", path);
		abort();
	}
	strcpy(c.path, path);
	check_defer_push(c);
}
static inline void check_defer_unlink(const char *path) { check_defer_path(CHECK_CU_UNLINK, path); }
static inline void check_defer_rmtree(const char *path) { check_defer_path(CHECK_CU_RMTREE, path); }

static inline void check_defer_kill(pid_t pid)
{
	check_defer_push((struct check_cleanup){ .kind = CHECK_CU_KILL, .pid = pid });
}

static inline int check_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	remove(p);
	return 0;
}

static inline int check_rm_open(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(p, (sb->st_mode & 07777) | 0700);
	return 0;
}

/* Removes path and everything under it, read-only directories included. */
static inline void check_rmtree(const char *path)
{
	nftw(path, check_rm_open, 16, FTW_PHYS);
	nftw(path, check_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs and forgets every registered cleanup, the last registered first. */
static inline void check_run_cleanups(void)
{
	while (check_ncleanups > 0) {
		struct check_cleanup *c = &check_cleanups[--check_ncleanups];
		switch (c->kind) {
		case CHECK_CU_FN:
			c->fn(c->arg);
			break;
		case CHECK_CU_UNLINK:
			unlink(c->path);
			break;
		case CHECK_CU_RMTREE:
			check_rmtree(c->path);
			break;
		case CHECK_CU_KILL:
			/* Only a child of ours not reaped yet: a reaped pid may be reused. */
			if (c->pid > 0 && waitpid(c->pid, NULL, WNOHANG) == 0) {
				kill(c->pid, SIGKILL);
				waitpid(c->pid, NULL, 0);
			}
			break;
		}
	}
}

static char check_tmp[512];
static pid_t check_tmp_owner;

static inline void check_tmpdir_remove(void)
{
	if (check_tmp[0] && getpid() == check_tmp_owner)
		check_rmtree(check_tmp);
	check_tmp[0] = 0;
}

static inline const char *check_tmpdir(void)
{
	if (!check_tmp[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(check_tmp, sizeof(check_tmp), "%s/%s.XXXXXX", base && *base ? base : "/tmp",
			 program_invocation_short_name);
		if (!mkdtemp(check_tmp)) {
			fprintf(stderr, "check.h: mkdtemp %s: %s\n", check_tmp, strerror(errno));
			abort();
		}
		check_tmp_owner = getpid();
		atexit(check_tmpdir_remove);
	}
	return check_tmp;
}

/* ---- children ----------------------------------------------------------- */

#define CHECK_CHILD_FAILED 125
#define CHECK_CHILD_TIMEOUT 30
struct check_child {
	const char *name;
	int status;		/* from waitpid; -1 when it could not be started */
	int timed_out;		/* killed after CHECK_CHILD_TIMEOUT seconds */
	char out[16384];	/* stdout and stderr, interleaved, cut to fit */
};

static inline int check_run_child_body(const char *name)
{
	for (int i = 0; i < check_nchildren; i++) {
		if (strcmp(name, check_children[i].name))
			continue;
		setvbuf(stdout, NULL, _IONBF, 0);
		if (setjmp(check_jmp))
			_exit(CHECK_CHILD_FAILED);
		check_children[i].fn();
		fflush(NULL);
		_exit(0);
	}
	fprintf(stderr, "check.h: no child body named %s\n", name);
	_exit(126);
}

static inline double check_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs CHILD(name) in a re-executed copy of this binary with env applied;
 * fills *c. Never leaves the child running. */
static inline void check_child(const char *name, const char *const *env, struct check_child *c)
{
	int p[2];
	size_t n = 0;
	double deadline = check_now() + CHECK_CHILD_TIMEOUT;

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->status = -1;
	fflush(NULL);
	if (pipe2(p, O_CLOEXEC))
		return;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		for (; env && *env; env++) {
			const char *eq = strchr(*env, '=');
			if (eq) {
				char k[256];
				snprintf(k, sizeof(k), "%.*s", (int)(eq - *env), *env);
				setenv(k, eq + 1, 1);
			} else {
				unsetenv(*env);
			}
		}
		execl("/proc/self/exe", "check-child", "--check-child", name, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		int left = (int)((deadline - check_now()) * 1000);
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		char sink[4096];
		ssize_t r;
		if (left <= 0) {
			c->timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pf, 1, left) <= 0)
			continue;
		/* Past a full buffer, keep reading so the child never blocks on us. */
		if (n + 1 < sizeof(c->out))
			r = read(p[0], c->out + n, sizeof(c->out) - 1 - n);
		else
			r = read(p[0], sink, sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n + 1 < sizeof(c->out))
			n += (size_t)r;
	}
	c->out[n] = 0;
	close(p[0]);
	/* EOF with the child still running (it closed its output): wait for it
	 * until the deadline, then kill it. */
	while (waitpid(pid, &c->status, WNOHANG) == 0) {
		if (check_now() > deadline) {
			c->timed_out = 1;
			kill(pid, SIGKILL);
			waitpid(pid, &c->status, 0);
			break;
		}
		usleep(1000);
	}
}

static inline void check_child_describe(const struct check_child *c, char *buf, size_t len)
{
	if (c->status == -1)
		snprintf(buf, len, "could not be started");
	else if (c->timed_out)
		snprintf(buf, len, "was still running after %d s (killed)", CHECK_CHILD_TIMEOUT);
	else if (WIFEXITED(c->status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(c->status));
	else if (WIFSIGNALED(c->status))
		snprintf(buf, len, "was killed by signal %d", WTERMSIG(c->status));
	else
		snprintf(buf, len, "ended with wait status 0x%x", c->status);
}

#define CHECK_CHILD_FAIL_(c, what) do {					\
	char _how[96];							\
	check_child_describe((c), _how, sizeof(_how));			\
	CHECK_FAIL("child %s: want %s; it %s; output:\n%s", (c)->name, what, _how, (c)->out); \
} while (0)

#define CHECK_CHILD_EXIT(c, code) do {					\
	const struct check_child *_c = (c);				\
	if (_c->status == -1 || _c->timed_out || !WIFEXITED(_c->status) || \
	    WEXITSTATUS(_c->status) != (code)) {			\
		char _want[64];						\
		snprintf(_want, sizeof(_want), "exit status %d", (int)(code)); \
		CHECK_CHILD_FAIL_(_c, _want);				\
	}								\
} while (0)

#define CHECK_CHILD_SIGNAL(c, sig) do {					\
	const struct check_child *_c = (c);				\
	if (_c->status == -1 || _c->timed_out || !WIFSIGNALED(_c->status) || \
	    WTERMSIG(_c->status) != (sig)) {				\
		char _want[64];						\
		snprintf(_want, sizeof(_want), "death by signal %d", (int)(sig)); \
		CHECK_CHILD_FAIL_(_c, _want);				\
	}								\
} while (0)

#define CHECK_CHILD_OUT(c, text) do {					\
	const struct check_child *_c = (c);				\
	const char *_t = (text);					\
	if (!strstr(_c->out, _t)) {					\
		char _want[256];					\
		snprintf(_want, sizeof(_want), "output holding \"%s\"", _t); \
		CHECK_CHILD_FAIL_(_c, _want);				\
	}								\
} while (0)

#define CHECK_CHILD_NOT_OUT(c, text) do {				\
	const struct check_child *_c = (c);				\
	const char *_t = (text);					\
	if (strstr(_c->out, _t)) {					\
		char _want[256];					\
		snprintf(_want, sizeof(_want), "output without \"%s\"", _t); \
		CHECK_CHILD_FAIL_(_c, _want);				\
	}								\
} while (0)

/* ---- the runner ----------------------------------------------------------- */

static inline int check_main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	const char *only = argc > 1 ? argv[1] : NULL;
	if (argc > 2 && !strcmp(argv[1], "--check-child"))
		return check_run_child_body(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < check_ncases; i++) {
		if (only && strcmp(only, check_cases[i].name))
			continue;
		check_failed_now = 0;
		if (!setjmp(check_jmp))
			check_cases[i].fn();
		check_run_cleanups();
		if (check_failed_now) {
			failed++;
			printf("FAIL %s\n", check_cases[i].name);
		} else {
			passed++;
			printf("ok   %s\n", check_cases[i].name);
		}
	}
	check_tmpdir_remove();
	printf("RESULT %d %d\n", passed, failed);
	return failed ? 1 : 0;
}
#define CHECK_MAIN() int main(int argc, char **argv) { return check_main(argc, argv); }

#endif
