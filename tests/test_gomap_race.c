/* test_gomap_race.c — Go's race checks: the three fatal messages with exit
 * status 2, and GOMAP_ONRACE=count. Each case runs in a re-executed child
 * (this binary with the case name), so the lazily read GOMAP_ONRACE is fresh;
 * the child provokes the check deterministically by setting hashWriting.
 */
#include "check.h"
#include "gomap.h"
#include <sys/wait.h>
#include <unistd.h>

static int is_child(void) { return getenv("GOMAP_TEST_CHILD") != NULL; }

static hmap *small_map(void)
{
	hmap *h = makemap(&maptype_u64, 0);
	for (uint64_t k = 0; k < 20; k++) *(uint64_t *)mapassign(&maptype_u64, h, &k) = k;
	return h;
}

/* Child bodies: only act when re-executed. */
TEST(child_assign) { if (!is_child()) return; hmap *h = small_map(); h->flags |= GOMAP_HASHWRITING; uint64_t k = 1; mapassign(&maptype_u64, h, &k); printf("survived\n"); }
TEST(child_delete) { if (!is_child()) return; hmap *h = small_map(); h->flags |= GOMAP_HASHWRITING; uint64_t k = 1; mapdelete(&maptype_u64, h, &k); printf("survived\n"); }
TEST(child_clear) { if (!is_child()) return; hmap *h = small_map(); h->flags |= GOMAP_HASHWRITING; mapclear(&maptype_u64, h); printf("survived\n"); }
TEST(child_access1) { if (!is_child()) return; hmap *h = small_map(); h->flags |= GOMAP_HASHWRITING; uint64_t k = 1; mapaccess1(&maptype_u64, h, &k); printf("survived\n"); }
TEST(child_access2) { if (!is_child()) return; hmap *h = small_map(); h->flags |= GOMAP_HASHWRITING; uint64_t k = 1; bool ok; mapaccess2(&maptype_u64, h, &k, &ok); printf("survived\n"); }
TEST(child_iter)
{
	if (!is_child()) return;
	hmap *h = small_map();
	hiter it;
	mapiterinit(&maptype_u64, h, &it);
	h->flags |= GOMAP_HASHWRITING;
	mapiternext(&it);
	printf("survived\n");
}
TEST(child_count)
{
	if (!is_child()) return;
	hmap *h = small_map();
	uint64_t k = 1;
	h->flags |= GOMAP_HASHWRITING;
	mapaccess1(&maptype_u64, h, &k);	/* read/write */
	mapassign(&maptype_u64, h, &k);		/* writes at entry, and at exit (bit now clear) */
	h->flags |= GOMAP_HASHWRITING;
	hiter it;
	mapiterinit(&maptype_u64, h, &it);	/* iteration/write */
	mapiterdone(&it);
	h->flags &= ~GOMAP_HASHWRITING;
	printf("races %ld %ld %ld %ld\n", gomap_races(), gomap_races_kind(GOMAP_RACE_WRITES),
	       gomap_races_kind(GOMAP_RACE_READ_WRITE), gomap_races_kind(GOMAP_RACE_ITER_WRITE));
	mapfree(&maptype_u64, h);
}

/* Run this binary with one case; capture stdout+stderr and the exit status. */
static int run_child(const char *name, const char *onrace, char *out, size_t outsz)
{
	int p[2];
	if (pipe(p)) return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		setenv("GOMAP_TEST_CHILD", "1", 1);
		if (onrace) setenv("GOMAP_ONRACE", onrace, 1); else unsetenv("GOMAP_ONRACE");
		/* no leak report noise from a child that exits mid-test */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execl("/proc/self/exe", "child", name, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < outsz && (r = read(p[0], out + n, outsz - 1 - n)) > 0) n += (size_t)r;
	out[n] = 0;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void expect_fatal(const char *name, const char *msg)
{
	char out[4096], want[128];
	int rc = run_child(name, NULL, out, sizeof out);
	snprintf(want, sizeof want, "fatal error: %s\n", msg);
	if (rc != 2 || !strstr(out, want) || strstr(out, "survived"))
		CHECK_FAIL("%s: rc %d output [%s]", name, rc, out);
}

TEST(fatal_writes)
{
	if (is_child()) return;
	expect_fatal("child_assign", "concurrent map writes");
	expect_fatal("child_delete", "concurrent map writes");
	expect_fatal("child_clear", "concurrent map writes");
}
TEST(fatal_read_write)
{
	if (is_child()) return;
	expect_fatal("child_access1", "concurrent map read and map write");
	expect_fatal("child_access2", "concurrent map read and map write");
}
TEST(fatal_iter_write)
{
	if (is_child()) return;
	expect_fatal("child_iter", "concurrent map iteration and map write");
}
TEST(count_mode)
{
	if (is_child()) return;
	char out[4096];
	int rc = run_child("child_count", "count", out, sizeof out);
	if (rc != 0 || !strstr(out, "races 4 2 1 1"))
		CHECK_FAIL("count mode: rc %d output [%s]", rc, out);
	rc = run_child("child_iter", "count", out, sizeof out);
	CHECK(rc == 0 && strstr(out, "survived"));
}

CHECK_MAIN()
