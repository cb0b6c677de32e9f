/* test_gomap_race.c — Go's race checks: the three fatal messages with exit
 * status 2, and GOMAP_ONRACE=count. Each case runs its CHILD body in a
 * re-executed copy of this binary (check.h's check_child), so the lazily
 * read GOMAP_ONRACE is fresh; the child provokes the check deterministically
 * by setting hashWriting, and the test asserts how it ended and what it
 * printed. The child bodies are not tests: only the TESTs are counted.
 */
#include "check.h"
#include "gomap.h"

static hmap *small_map(void)
{
	hmap *h = makemap(&maptype_u64, 0);
	for (uint64_t k = 0; k < 20; k++) *(uint64_t *)mapassign(&maptype_u64, h, &k) = k;
	return h;
}

/* Each body prints "survived" only if the runtime let it go on. */
CHILD(assign) { hmap *h = small_map(); h->flags |= GOMAP_HASHWRITING; uint64_t k = 1; mapassign(&maptype_u64, h, &k); printf("survived\n"); }
CHILD(delete) { hmap *h = small_map(); h->flags |= GOMAP_HASHWRITING; uint64_t k = 1; mapdelete(&maptype_u64, h, &k); printf("survived\n"); }
CHILD(clear) { hmap *h = small_map(); h->flags |= GOMAP_HASHWRITING; mapclear(&maptype_u64, h); printf("survived\n"); }
CHILD(access1) { hmap *h = small_map(); h->flags |= GOMAP_HASHWRITING; uint64_t k = 1; mapaccess1(&maptype_u64, h, &k); printf("survived\n"); }
CHILD(access2) { hmap *h = small_map(); h->flags |= GOMAP_HASHWRITING; uint64_t k = 1; bool ok; mapaccess2(&maptype_u64, h, &k, &ok); printf("survived\n"); }
CHILD(iter)
{
	hmap *h = small_map();
	hiter it;
	mapiterinit(&maptype_u64, h, &it);
	h->flags |= GOMAP_HASHWRITING;
	mapiternext(&it);
	printf("survived\n");
}
CHILD(count)
{
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

/* No leak report from a child that dies mid-test, holding its map. */
static const char *const env_fatal[] = { "GOMAP_ONRACE", "ASAN_OPTIONS=detect_leaks=0", NULL };
static const char *const env_count[] = { "GOMAP_ONRACE=count", "ASAN_OPTIONS=detect_leaks=0", NULL };

static void expect_fatal(const char *name, const char *msg)
{
	struct check_child c;
	char want[128];
	check_child(name, env_fatal, &c);
	snprintf(want, sizeof want, "fatal error: %s\n", msg);
	CHECK_CHILD_EXIT(&c, 2);
	CHECK_CHILD_OUT(&c, want);
	CHECK_CHILD_NOT_OUT(&c, "survived");
}

TEST(fatal_writes)
{
	expect_fatal("assign", "concurrent map writes");
	expect_fatal("delete", "concurrent map writes");
	expect_fatal("clear", "concurrent map writes");
}
TEST(fatal_read_write)
{
	expect_fatal("access1", "concurrent map read and map write");
	expect_fatal("access2", "concurrent map read and map write");
}
TEST(fatal_iter_write)
{
	expect_fatal("iter", "concurrent map iteration and map write");
}
TEST(count_mode)
{
	struct check_child c;
	check_child("count", env_count, &c);
	CHECK_CHILD_EXIT(&c, 0);
	CHECK_CHILD_OUT(&c, "races 4 2 1 1\n");
	CHECK_CHILD_NOT_OUT(&c, "fatal error");
	check_child("iter", env_count, &c);
	CHECK_CHILD_EXIT(&c, 0);
	CHECK_CHILD_OUT(&c, "survived\n");
	CHECK_CHILD_NOT_OUT(&c, "fatal error");
}

CHECK_MAIN()
