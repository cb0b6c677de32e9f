/* waitrace.c — a libgomap process for the host-wide tests (e2e_agent.sh).
 *
 *   waitrace GOFILE ROUNDS HOLD_MS STATUS
 *
 * Waits until GOFILE exists ("-": at once), so the test decides when its
 * races happen (after mapwatch watches it); then ROUNDS forced iter-write
 * races (R iterates and parks mid-walk, W assigns, R finishes: exactly one
 * each); then stays HOLD_MS milliseconds and exits with STATUS. Prints
 * `waitrace: done N` before it holds. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "gomap.h"

static pthread_barrier_t b1, b2, b3;
static hmap *cur;
static int rounds;

static __attribute__((noinline)) void put(hmap *h, uint64_t k)
{
	*(uint64_t *)mapassign(&maptype_u64, h, &k) = k;
}

static void *iterate(void *arg)
{
	(void)arg;
	for (int r = 0; r < rounds; r++) {
		hiter it;
		pthread_barrier_wait(&b1);
		mapiterinit(&maptype_u64, cur, &it);
		for (int i = 0; i < 2 && it.key; i++)
			mapiternext(&it);
		pthread_barrier_wait(&b2);	/* the writer writes now */
		pthread_barrier_wait(&b3);
		while (it.key)
			mapiternext(&it);
		pthread_barrier_wait(&b1);
	}
	return NULL;
}

static void *write_(void *arg)
{
	(void)arg;
	for (int r = 0; r < rounds; r++) {
		pthread_barrier_wait(&b1);
		pthread_barrier_wait(&b2);
		put(cur, 5000000 + (uint64_t)r);
		pthread_barrier_wait(&b3);
		pthread_barrier_wait(&b1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t r, w;

	if (argc != 5) {
		fprintf(stderr, "usage: waitrace GOFILE ROUNDS HOLD_MS STATUS\n");
		return 2;
	}
	setenv("GOMAP_ONRACE", "count", 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	rounds = atoi(argv[2]);
	while (strcmp(argv[1], "-") && access(argv[1], F_OK))
		usleep(10000);
	pthread_barrier_init(&b1, NULL, 3);
	pthread_barrier_init(&b2, NULL, 2);
	pthread_barrier_init(&b3, NULL, 2);
	pthread_create(&r, NULL, iterate, NULL);
	pthread_create(&w, NULL, write_, NULL);
	for (int i = 0; i < rounds; i++) {
		cur = makemap(&maptype_u64, 0);
		for (uint64_t k = 0; k < 32; k++)
			put(cur, k);
		pthread_barrier_wait(&b1);
		pthread_barrier_wait(&b1);
		mapfree(&maptype_u64, cur);
	}
	pthread_join(r, NULL);
	pthread_join(w, NULL);
	printf("waitrace: done %d\n", rounds);
	struct timespec ts = { atoi(argv[3]) / 1000, (long)(atoi(argv[3]) % 1000) * 1000000 };
	nanosleep(&ts, NULL);
	return atoi(argv[4]);
}
