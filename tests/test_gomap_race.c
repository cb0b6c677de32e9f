/* test_gomap_race.c — Go's race checks: the three fatal messages with exit
 * status 2, and GOMAP_ONRACE=count. Each case runs its CHILD body in a
 * re-executed copy of this binary (check.h's check_child), so the lazily
 * read GOMAP_ONRACE is fresh; the child provokes the check deterministically
 * by setting hashWriting, and the test asserts how it ended and what it
 * printed. The child bodies are not tests: only the TESTs are counted.
 */
#include "check.h"
#include "gomap.h"
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <unistd.h>

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

/* Count mode: unsynchronized writers on one map. The runtime serializes
 * their writes, so no key is lost and the map stays whole. (Values may be:
 * the caller stores one through mapassign's pointer after the call, where
 * another writer's grow can move the slot first — as in Go.) */
#define WR_THREADS 4
#define WR_KEYS 20000
static hmap *wr_map;
static void *wr_thread(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg * 1000000;
	for (uint64_t i = 0; i < WR_KEYS; i++) {
		uint64_t k = base + i;
		*(uint64_t *)mapassign(&maptype_u64, wr_map, &k) = k * 3;
	}
	for (uint64_t i = 0; i < WR_KEYS; i += 2) {
		uint64_t k = base + i;
		mapdelete(&maptype_u64, wr_map, &k);
	}
	return NULL;
}
CHILD(writers)
{
	pthread_t th[WR_THREADS];
	int bad = 0;
	wr_map = makemap(&maptype_u64, 0);
	for (int r = 0; r < 3; r++) {
		for (uintptr_t i = 0; i < WR_THREADS; i++)
			pthread_create(&th[i], NULL, wr_thread, (void *)i);
		for (int i = 0; i < WR_THREADS; i++)
			pthread_join(th[i], NULL);
		if (maplen(wr_map) != WR_THREADS * WR_KEYS / 2) {
			printf("round %d len %ld\n", r, maplen(wr_map));
			bad++;
		}
		for (uint64_t t = 0; t < WR_THREADS; t++)
			for (uint64_t i = 0; i < WR_KEYS; i++) {
				uint64_t k = t * 1000000 + i;
				bool ok;
				mapaccess2(&maptype_u64, wr_map, &k, &ok);
				if (ok != (i % 2 == 1)) {
					if (bad < 5)
						printf("round %d key %llu present %d\n", r, (unsigned long long)k, ok);
					bad++;
				}
			}
		if (r < 2)
			mapclear(&maptype_u64, wr_map);
	}
	printf("writers len %ld bad %d\n", maplen(wr_map), bad);
	mapfree(&maptype_u64, wr_map);
}

/* A write nested in the same thread's write (from its equal callback) and a
 * write whose in-flight predecessor waits for it: neither may hang. */
static uint64_t plain_hash(const void *k, uint64_t seed)
{
	uint64_t x;
	memcpy(&x, k, 8);
	x = (x ^ seed) * 0x9e3779b97f4a7c15ull;
	return x ^ (x >> 29);
}
static __thread int nest_once;
static sem_t wr_sem;
static int wait_in_eq;
static bool nesting_eq(const void *a, const void *b)
{
	if (nest_once) {
		nest_once = 0;
		uint64_t k = 777;
		*(uint64_t *)mapassign(&maptype_u64, wr_map, &k) = 1;
	}
	return !memcmp(a, b, 8);
}
static bool waiting_eq(const void *a, const void *b)
{
	if (__atomic_exchange_n(&wait_in_eq, 0, __ATOMIC_SEQ_CST))
		sem_wait(&wr_sem);	/* until the other writer's write is done */
	return !memcmp(a, b, 8);
}
static maptype wait_t;
static void *second_writer(void *arg)
{
	(void)arg;
	while (__atomic_load_n(&wait_in_eq, __ATOMIC_SEQ_CST))
		usleep(1000);	/* the first writer is parked in its compare */
	uint64_t k = 2;
	*(uint64_t *)mapassign(&wait_t, wr_map, &k) = 2;
	sem_post(&wr_sem);
	return NULL;
}
CHILD(blocked_writers)
{
	maptype nt;
	maptype_make(&nt, 8, 8, plain_hash, nesting_eq);
	wr_map = makemap(&nt, 0);
	uint64_t k = 1;
	*(uint64_t *)mapassign(&nt, wr_map, &k) = 1;
	nest_once = 1;
	*(uint64_t *)mapassign(&nt, wr_map, &k) = 1;	/* compares key 1: nests a write */
	printf("nested len %ld\n", maplen(wr_map));
	mapfree(&nt, wr_map);

	maptype_make(&wait_t, 8, 8, plain_hash, waiting_eq);
	wr_map = makemap(&wait_t, 0);
	*(uint64_t *)mapassign(&wait_t, wr_map, &k) = 1;
	sem_init(&wr_sem, 0, 0);
	pthread_t th;
	wait_in_eq = 1;
	pthread_create(&th, NULL, second_writer, NULL);
	*(uint64_t *)mapassign(&wait_t, wr_map, &k) = 1;	/* parks until the second write is done */
	pthread_join(th, NULL);
	printf("blocked len %ld\n", maplen(wr_map));
	mapfree(&wait_t, wr_map);
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

TEST(count_mode_serializes_writers)
{
	struct check_child c;
	char want[64];
	check_child("writers", env_count, &c);
	snprintf(want, sizeof want, "writers len %d bad 0\n", WR_THREADS * WR_KEYS / 2);
	CHECK_CHILD_EXIT(&c, 0);
	CHECK_CHILD_OUT(&c, want);
}

TEST(count_mode_blocked_writers_go_on)
{
	struct check_child c;
	check_child("blocked_writers", env_count, &c);
	CHECK_CHILD_EXIT(&c, 0);
	CHECK_CHILD_OUT(&c, "nested len 2\n");
	CHECK_CHILD_OUT(&c, "blocked len 2\n");
}

CHECK_MAIN()
