/* probe_cost — the cost of one probed mapassign, and the record rate.
 *
 * Calls mapassign (updates of existing keys on a small map, so the map
 * never grows) N times in a tight loop and prints nanoseconds per call. Run
 * once with no probe and once under each tool; (probed − bare) is what one
 * probed call costs. With --wait-probe it first waits until mapassign's
 * first instruction has been rewritten (a uprobe puts an int3 there, or a
 * call to the kernel's uprobe trampoline once it optimizes the 5-byte nop),
 * so no call is timed before the tool is attached (the probe may sit on the
 * nop or on the push %rbp after it: either byte changing counts).
 *
 * --iters M opens M iterations of each map from a second thread and keeps
 * them open while the writers run: every write then meets M foreign
 * iterations, which is the worst case for the tool (a record for each).
 * --writers W runs W writer threads, each on its own map.
 *
 * Prints one line:
 *   probe_cost: calls N writers W iters M ns_per_call X wall_s Y calls_per_s Z
 * ns_per_call is the median over --rounds rounds of one writer.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gomap.h"

#define MAX_WRITERS 16
#define MAX_ITERS   16

static long ncalls = 1000000, nkeys = 64, rounds = 5;
static int nwriters = 1, niters, wait_probe;

static hmap *maps[MAX_WRITERS];
static pthread_barrier_t opened, finished;
static double round_ns[MAX_WRITERS][64];
static volatile uint64_t sink;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The foreign thread: open niters iterations of every map, hold them open
 * until the writers are done, then end them. */
static void *iter_main(void *arg)
{
	static hiter its[MAX_WRITERS][MAX_ITERS];

	for (int w = 0; w < nwriters; w++)
		for (int i = 0; i < niters; i++) {
			mapiterinit(&maptype_u64, maps[w], &its[w][i]);
			if (its[w][i].key)
				sink += *(uint64_t *)its[w][i].key;
		}
	pthread_barrier_wait(&opened);
	pthread_barrier_wait(&finished);
	for (int w = 0; w < nwriters; w++)
		for (int i = 0; i < niters; i++)
			mapiterdone(&its[w][i]);
	return arg;
}

static void *writer_main(void *arg)
{
	int w = (int)(intptr_t)arg;
	hmap *h = maps[w];
	long per = ncalls / rounds;

	for (long r = 0; r < rounds; r++) {
		double t0 = now_s();

		for (long i = 0; i < per; i++) {
			uint64_t k = (uint64_t)i & (uint64_t)(nkeys - 1);

			*(uint64_t *)mapassign(&maptype_u64, h, &k) = (uint64_t)i;
		}
		round_ns[w][r] = (now_s() - t0) * 1e9 / (double)per;
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: probe_cost [-n CALLS] [-k KEYS] [-r ROUNDS] [-w WRITERS] [-i ITERS] [--wait-probe]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "calls", required_argument, NULL, 'n' },
		{ "keys", required_argument, NULL, 'k' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "writers", required_argument, NULL, 'w' },
		{ "iters", required_argument, NULL, 'i' },
		{ "wait-probe", no_argument, NULL, 'P' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "n:k:r:w:i:P", opts, NULL)) != -1) {
		switch (c) {
		case 'n': ncalls = atol(optarg); break;
		case 'k': nkeys = atol(optarg); break;
		case 'r': rounds = atol(optarg); break;
		case 'w': nwriters = atoi(optarg); break;
		case 'i': niters = atoi(optarg); break;
		case 'P': wait_probe = 1; break;
		default: usage();
		}
	}
	/* keys: a power of two so the loop masks instead of dividing */
	if (ncalls < 1 || rounds < 1 || rounds > 64 || nkeys < 1 || (nkeys & (nkeys - 1)) ||
	    nwriters < 1 || nwriters > MAX_WRITERS || niters < 0 || niters > MAX_ITERS)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("probe_cost: pid %d\n", (int)getpid());

	/* Fill every map once: later calls only update, the map never grows. */
	for (int w = 0; w < nwriters; w++) {
		maps[w] = makemap(&maptype_u64, nkeys);
		for (uint64_t k = 0; k < (uint64_t)nkeys; k++)
			*(uint64_t *)mapassign(&maptype_u64, maps[w], &k) = k;
	}

	if (wait_probe) {
		/* mapassign starts with its 5-byte nop (0x0f …) and push %rbp
		 * (0x55) until a uprobe rewrites one of them. Give up after 30 s. */
		const volatile uint8_t *entry = (const volatile uint8_t *)(uintptr_t)&mapassign;
		double t0 = now_s();

		while (entry[0] == 0x0f && entry[5] == 0x55) {
			if (now_s() - t0 > 30) {
				fprintf(stderr, "probe_cost: no probe on mapassign after 30 s\n");
				return 1;
			}
			usleep(2000);
		}
		/* let the tool finish attaching its other probes */
		usleep(200000);
	}

	pthread_t it, wr[MAX_WRITERS];

	pthread_barrier_init(&opened, NULL, 2);
	pthread_barrier_init(&finished, NULL, 2);
	if (niters) {
		pthread_create(&it, NULL, iter_main, NULL);
		pthread_barrier_wait(&opened);
	}

	double t0 = now_s();

	for (int w = 0; w < nwriters; w++)
		pthread_create(&wr[w], NULL, writer_main, (void *)(intptr_t)w);
	for (int w = 0; w < nwriters; w++)
		pthread_join(wr[w], NULL);
	double wall = now_s() - t0;

	if (niters) {
		pthread_barrier_wait(&finished);
		pthread_join(it, NULL);
	}

	double med[MAX_WRITERS];
	for (int w = 0; w < nwriters; w++) {
		qsort(round_ns[w], rounds, sizeof(double), cmp_double);
		med[w] = rounds % 2 ? round_ns[w][rounds / 2]
				    : (round_ns[w][rounds / 2 - 1] + round_ns[w][rounds / 2]) / 2;
	}
	qsort(med, nwriters, sizeof(double), cmp_double);
	long total = ncalls / rounds * rounds * nwriters;

	printf("probe_cost: calls %ld writers %d iters %d ns_per_call %.1f wall_s %.4f calls_per_s %.0f\n",
	       total, nwriters, niters, med[nwriters / 2], wall, (double)total / wall);
	for (int w = 0; w < nwriters; w++)
		mapfree(&maptype_u64, maps[w]);
	return 0;
}
