/* flood.c — a deterministic flood of one race, for the aggregation tests.
 *
 *   flood N [ITERS [WRITERS]]
 *
 * ITERS threads (default 8) each start an iteration of one shared map and
 * hold it open; then WRITERS threads (default 2) each assign exactly N
 * existing keys (no grow: the keys are already there), serialized among
 * themselves by a mutex so that no two writes overlap; then the iterations
 * end (mapiterdone). Every write falls inside every open iteration of
 * another thread, so a watcher must count exactly N × WRITERS × ITERS
 * iter-write occurrences, 0 write-write and 0 iter-grow, with
 * WRITERS × ITERS distinct (writer, iterator) thread pairs.
 * Prints `flood ok writes=W iters=I expect=E` at the end.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "gomap.h"

#define KEYS 64

static hmap *h;
static long n_writes;
static pthread_barrier_t open_b, done_b;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static __attribute__((noinline)) void put(uint64_t k)
{
	*(uint64_t *)mapassign(&maptype_u64, h, &k) = k;
}

static void *iterator(void *arg)
{
	hiter it;

	(void)arg;
	mapiterinit(&maptype_u64, h, &it);
	pthread_barrier_wait(&open_b);	/* every iteration is open */
	pthread_barrier_wait(&done_b);	/* every write is done */
	mapiterdone(&it);
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&open_b);
	for (long i = 0; i < n_writes; i++) {
		pthread_mutex_lock(&mu);
		put((uint64_t)(i % KEYS));
		pthread_mutex_unlock(&mu);
	}
	pthread_barrier_wait(&done_b);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: flood N [ITERS [WRITERS]]\n");
		return 2;
	}
	n_writes = atol(argv[1]);
	int ni = argc > 2 ? atoi(argv[2]) : 8, nw = argc > 3 ? atoi(argv[3]) : 2;
	if (n_writes < 0 || ni < 1 || ni > 64 || nw < 1 || nw > 64) {
		fprintf(stderr, "flood: bad arguments\n");
		return 2;
	}
	h = makemap(&maptype_u64, 0);
	for (uint64_t k = 0; k < KEYS; k++)
		put(k);
	pthread_barrier_init(&open_b, NULL, (unsigned)(ni + nw));
	pthread_barrier_init(&done_b, NULL, (unsigned)(ni + nw));
	pthread_t t[128];
	for (int i = 0; i < ni; i++)
		pthread_create(&t[i], NULL, iterator, NULL);
	for (int i = 0; i < nw; i++)
		pthread_create(&t[ni + i], NULL, writer, NULL);
	for (int i = 0; i < ni + nw; i++)
		pthread_join(t[i], NULL);
	mapfree(&maptype_u64, h);
	printf("flood ok writes=%ld iters=%d expect=%ld\n", n_writes * nw, ni, n_writes * nw * ni);
	return 0;
}
