/* gomap_bench — throughput of libgomap's maptype_u64 (uint64 -> uint64).
 *
 * The C half of scripts/bench-gomap.sh; bench/go/main.go is the Go half and
 * does exactly the same work on map[uint64]uint64, so keep the two in step.
 * Keys are splitmix64(i) for i in [0, n). For each size n it measures:
 *   insert   make an empty map (no size hint), insert n keys, free it
 *   lookup   look up every key of a full map (all hits), in insertion order
 *   delete   delete every key of a full map (refilling it is not timed)
 *   iterate  range over a full map; one op = one entry visited
 * Each measurement repeats its unit until at least --time seconds of timed
 * work have passed and prints one line: `c <op> <n> <Mops/s>`.
 *
 *   gomap_bench [-t SEC] [SIZE...]     default: -t 0.3  1000 1000000
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gomap.h"

static double target = 0.3;
static volatile uint64_t sink;

static uint64_t splitmix64(uint64_t x)
{
	uint64_t z = x + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void report(const char *op, long n, double ops, double secs)
{
	printf("c %s %ld %.3f\n", op, n, ops / secs / 1e6);
	fflush(stdout);
}

static hmap *fill(const uint64_t *keys, long n)
{
	hmap *h = makemap(&maptype_u64, 0);

	for (long i = 0; i < n; i++)
		*(uint64_t *)mapassign(&maptype_u64, h, &keys[i]) = (uint64_t)i;
	return h;
}

static void bench_insert(const uint64_t *keys, long n)
{
	double t0 = now(), t;
	double ops = 0;

	do {
		hmap *h = fill(keys, n);

		sink += maplen(h);
		mapfree(&maptype_u64, h);
		ops += n;
		t = now() - t0;
	} while (t < target);
	report("insert", n, ops, t);
}

static void bench_lookup(const uint64_t *keys, long n)
{
	hmap *h = fill(keys, n);
	double t0 = now(), t, ops = 0;
	uint64_t sum = 0;

	do {
		for (long i = 0; i < n; i++) {
			bool ok;
			uint64_t *v = mapaccess2(&maptype_u64, h, &keys[i], &ok);

			sum += *v + ok;
		}
		ops += n;
		t = now() - t0;
	} while (t < target);
	sink += sum;
	report("lookup", n, ops, t);
	mapfree(&maptype_u64, h);
}

static void bench_delete(const uint64_t *keys, long n)
{
	double timed = 0, ops = 0;

	do {
		hmap *h = fill(keys, n);
		double t0 = now();

		for (long i = 0; i < n; i++)
			mapdelete(&maptype_u64, h, &keys[i]);
		timed += now() - t0;
		ops += n;
		sink += maplen(h);
		mapfree(&maptype_u64, h);
	} while (timed < target);
	report("delete", n, ops, timed);
}

static void bench_iterate(const uint64_t *keys, long n)
{
	hmap *h = fill(keys, n);
	double t0 = now(), t, ops = 0;
	uint64_t sum = 0;
	hiter it;

	do {
		for (mapiterinit(&maptype_u64, h, &it); it.key; mapiternext(&it))
			sum += *(uint64_t *)it.key ^ *(uint64_t *)it.elem;
		ops += n;
		t = now() - t0;
	} while (t < target);
	sink += sum;
	report("iterate", n, ops, t);
	mapfree(&maptype_u64, h);
}

int main(int argc, char **argv)
{
	long sizes[16];
	int nsizes = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			target = atof(argv[++i]);
		else if (nsizes < 16 && atol(argv[i]) > 0)
			sizes[nsizes++] = atol(argv[i]);
		else {
			fprintf(stderr, "usage: gomap_bench [-t SEC] [SIZE...]\n");
			return 2;
		}
	}
	if (!nsizes) {
		sizes[nsizes++] = 1000;
		sizes[nsizes++] = 1000000;
	}
	for (int s = 0; s < nsizes; s++) {
		long n = sizes[s];
		uint64_t *keys = malloc(n * sizeof(*keys));

		if (!keys) {
			fprintf(stderr, "gomap_bench: out of memory\n");
			return 1;
		}
		for (long i = 0; i < n; i++)
			keys[i] = splitmix64((uint64_t)i);
		bench_insert(keys, n);
		bench_lookup(keys, n);
		bench_delete(keys, n);
		bench_iterate(keys, n);
		free(keys);
	}
	return 0;
}
