/* races.c — forced interleavings on libgomap for the end-to-end tests.
 *
 *   races MODE [ROUNDS]
 *
 * Each round runs one scenario with its interleaving forced by barriers, so
 * the number of races mapwatch must flag is exact (ROUNDS, default 100):
 *   iterwrite        R iterates, parks mid-walk; W assigns; R finishes  → 1 iter-write
 *   itergrow         R walks a full 1-bucket map; W's 9th insert grows it → 1 iter-write,
 *                    2 iter-grow (hashGrow, and evacuate of the bucket R stands in)
 *   writewrite       W1 is inside mapassign (its key compare blocks); W2 assigns → 1 write-write
 *                    (W1 goes on once W2 is inside mapassign too: in count mode
 *                    the runtime makes W2 wait there for W1's write to end)
 * and the clean variants, which must raise nothing:
 *   iterwrite-lock   R's whole iteration and W's write serialized by a mutex
 *   iterwrite-self   R writes inside its own iteration (allowed)
 *   iterwrite-other  W writes a different map while R is inside
 *   writewrite-lock  W1 and W2 serialized by a mutex
 *   writewrite-self  one thread does both writes
 *   writewrite-other W2 writes a different map while W1 is inside mapassign
 * and for the stack tests:
 *   iterwrite-deep   iterwrite with R's iteration started 100 calls deep
 *                    (more frames than mapwatch captures: a truncated stack)
 *
 * Lines the stack tests look for carry a marker comment (STACK:name).
 * Prints one line per round: `round N map 0x… iter_tid R writer_tid W bptr 0x…`
 * (for write-write: iter_tid is W1, the write in flight). GOMAP_ONRACE=count
 * keeps the runtime's own race checks from ending the process.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "gomap.h"

static const char *mode;
static int rounds = 100;
static pthread_barrier_t b1, b2, b3;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static hmap *cur, *other;
static maptype ct;		/* write-write: every key collides, compares can block */
static __thread int block_in_eq;
static __thread int release_in_hash;
static int tid_a, tid_b;
static void *bptr_seen;

static int gettid_(void)
{
	return (int)syscall(SYS_gettid);
}

static bool is(const char *m)
{
	return !strcmp(mode, m);
}

static __attribute__((noinline)) void put(hmap *h, const maptype *t, uint64_t k)
{
	*(uint64_t *)mapassign(t, h, &k) = k;	/* STACK:put */
}

/* W2's hash, inside mapassign past its entry: lets the parked W1 go on. */
static uint64_t const_hash(const void *k, uint64_t seed)
{
	(void)k;
	(void)seed;
	if (release_in_hash) {
		release_in_hash = 0;
		pthread_barrier_wait(&b3);
	}
	return 0x5a5a5a5a5a5a5a5aull;
}

/* W1 parks here, inside mapassign with hashWriting set, until W2 has entered
 * its mapassign. */
static bool blocking_eq(const void *a, const void *b)
{
	if (block_in_eq) {
		block_in_eq = 0;
		pthread_barrier_wait(&b2);
		pthread_barrier_wait(&b3);
	}
	return !memcmp(a, b, 8);
}

/* ---- iteration scenarios ------------------------------------------------------ */

/* Starts the iteration `depth` calls down (iterwrite-deep). */
static __attribute__((noinline)) void iter_deep(hiter *it, int depth)
{
	if (depth > 0) {
		iter_deep(it, depth - 1);	/* STACK:deep */
		__asm__ volatile("" ::: "memory");	/* not a tail call */
		return;
	}
	mapiterinit(&maptype_u64, cur, it);	/* STACK:deepinit */
}

static void *reader(void *arg)
{
	(void)arg;
	tid_a = gettid_();
	for (int r = 0; r < rounds; r++) {
		hiter it;
		pthread_barrier_wait(&b1);		/* map ready */
		if (is("iterwrite-lock"))
			pthread_mutex_lock(&mu);
		if (is("iterwrite-deep"))
			iter_deep(&it, 100);
		else
			mapiterinit(&maptype_u64, cur, &it);	/* STACK:iterinit */
		for (int i = 0; i < 2 && it.key; i++)
			mapiternext(&it);
		bptr_seen = it.bptr;
		if (is("iterwrite-self"))
			put(cur, &maptype_u64, 1000000 + (uint64_t)r);
		pthread_barrier_wait(&b2);		/* W may write now */
		if (!is("iterwrite-lock"))
			pthread_barrier_wait(&b3);	/* W wrote */
		while (it.key)
			mapiternext(&it);
		if (is("iterwrite-lock")) {
			pthread_mutex_unlock(&mu);
			pthread_barrier_wait(&b3);
		}
		pthread_barrier_wait(&b1);		/* round over */
	}
	return NULL;
}

static void *iwriter(void *arg)
{
	(void)arg;
	tid_b = gettid_();
	for (int r = 0; r < rounds; r++) {
		pthread_barrier_wait(&b1);
		pthread_barrier_wait(&b2);
		if (is("iterwrite-lock"))
			pthread_mutex_lock(&mu);
		if (!is("iterwrite-self"))
			put(is("iterwrite-other") ? other : cur, &maptype_u64, 5000000 + (uint64_t)r);	/* STACK:iwrite */
		if (is("iterwrite-lock"))
			pthread_mutex_unlock(&mu);
		pthread_barrier_wait(&b3);
		pthread_barrier_wait(&b1);
	}
	return NULL;
}

static int run_iter(void)
{
	pthread_t r, w;
	int grow = is("itergrow");

	pthread_barrier_init(&b1, NULL, 3);
	pthread_barrier_init(&b2, NULL, 2);
	pthread_barrier_init(&b3, NULL, 2);
	pthread_create(&r, NULL, reader, NULL);
	pthread_create(&w, NULL, iwriter, NULL);
	for (int i = 0; i < rounds; i++) {
		cur = makemap(&maptype_u64, 0);
		other = makemap(&maptype_u64, 0);
		/* 8 keys fill B=0's one bucket: the 9th insert grows the map. */
		for (uint64_t k = 0; k < (grow ? 8u : 32u); k++)
			put(cur, &maptype_u64, k);
		put(other, &maptype_u64, 1);
		pthread_barrier_wait(&b1);
		pthread_barrier_wait(&b1);
		printf("round %d map %p iter_tid %d writer_tid %d bptr %p\n", i, (void *)cur, tid_a,
		       tid_b, bptr_seen);
		mapfree(&maptype_u64, cur);
		mapfree(&maptype_u64, other);
	}
	pthread_join(r, NULL);
	pthread_join(w, NULL);
	return 0;
}

/* ---- write-write scenarios ------------------------------------------------------ */

static void *w1(void *arg)
{
	(void)arg;
	tid_a = gettid_();
	for (int r = 0; r < rounds; r++) {
		pthread_barrier_wait(&b1);
		if (is("writewrite-lock")) {
			pthread_mutex_lock(&mu);
			put(cur, &ct, 1 + (uint64_t)r);
			pthread_mutex_unlock(&mu);
			pthread_barrier_wait(&b2);
			pthread_barrier_wait(&b3);
		} else if (is("writewrite-self")) {
			put(cur, &ct, 1 + (uint64_t)r);
			put(cur, &ct, 100000 + (uint64_t)r);
			pthread_barrier_wait(&b2);
			pthread_barrier_wait(&b3);
		} else {
			block_in_eq = 1;	/* the compare against key 0 parks us */
			put(cur, &ct, 1 + (uint64_t)r);	/* STACK:w1 */
		}
		pthread_barrier_wait(&b1);
	}
	return NULL;
}

static void *w2(void *arg)
{
	(void)arg;
	tid_b = gettid_();
	for (int r = 0; r < rounds; r++) {
		pthread_barrier_wait(&b1);
		pthread_barrier_wait(&b2);		/* W1 is inside mapassign (or done) */
		if (is("writewrite-lock")) {
			pthread_mutex_lock(&mu);
			put(cur, &ct, 100000 + (uint64_t)r);
			pthread_mutex_unlock(&mu);
		} else if (is("writewrite-other")) {
			put(other, &ct, 100000 + (uint64_t)r);
		} else if (!is("writewrite-self")) {
			release_in_hash = 1;	/* b3 is waited for inside this put */
			put(cur, &ct, 100000 + (uint64_t)r);	/* STACK:w2 */
		}
		if (!is("writewrite"))
			pthread_barrier_wait(&b3);
		pthread_barrier_wait(&b1);
	}
	return NULL;
}

static int run_ww(void)
{
	pthread_t a, b;

	maptype_make(&ct, 8, 8, const_hash, blocking_eq);
	pthread_barrier_init(&b1, NULL, 3);
	pthread_barrier_init(&b2, NULL, 2);
	pthread_barrier_init(&b3, NULL, 2);
	pthread_create(&a, NULL, w1, NULL);
	pthread_create(&b, NULL, w2, NULL);
	for (int i = 0; i < rounds; i++) {
		cur = makemap(&ct, 0);
		other = makemap(&ct, 0);
		put(cur, &ct, 0);
		put(other, &ct, 0);
		pthread_barrier_wait(&b1);
		pthread_barrier_wait(&b1);
		printf("round %d map %p iter_tid %d writer_tid %d bptr (nil)\n", i, (void *)cur, tid_a,
		       tid_b);
		mapfree(&ct, cur);
		mapfree(&ct, other);
	}
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: races MODE [ROUNDS]\n");
		return 2;
	}
	mode = argv[1];
	if (argc > 2)
		rounds = atoi(argv[2]);
	setenv("GOMAP_ONRACE", "count", 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("races: pid %d mode %s rounds %d\n", getpid(), mode, rounds);
	int rc;
	if (!strncmp(mode, "iter", 4))
		rc = run_iter();
	else if (!strncmp(mode, "writewrite", 10))
		rc = run_ww();
	else {
		fprintf(stderr, "races: unknown mode %s\n", mode);
		return 2;
	}
	printf("races: done, runtime counted %ld races\n", gomap_races());
	return rc;
}
