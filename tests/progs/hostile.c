/* hostile.c — targets that once made mapwatch report races that did not
 * happen, for tests/e2e_hostile.sh. Each mode ends with one line
 *   hostile MODE ok forced=N
 * where N is the number of races it forced (and mapwatch must report
 * exactly); every other map operation is race-free.
 *
 *   exec N      image 1: a thread starts an iteration and is left parked in
 *               it; the process execs itself (image 2). Image 2 writes its
 *               own maps (under setarch -R they land at image 1's
 *               addresses), then forces N iter-write races.
 *   exec-after N FILE  like exec, once FILE exists (for mapwatch -p); run it
 *               under setarch -R for the same addresses in both images.
 *   free N      N times: an iteration is left open (its hiter intact), its
 *               map freed, a new map made (often at the same address) and
 *               written by another thread. Then N forced races.
 *   churn N     20,000 maps made and freed (more than mapwatch's 16,384
 *               tracked maps), a forced race every 20,000/N maps.
 *   dlopen N LIB  loads a second copy of the runtime (LIB, libgomap.so)
 *               after start, makes a map with it, then forces N races.
 *   abandon N   N times: the main thread leaves an iteration without
 *               mapiterdone and its hiter's memory is reused; another
 *               thread writes the map. Then N forced races.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/personality.h>
#include "gomap.h"

static pthread_barrier_t b1, b2;
static hmap *cur;

static void fill(hmap *h, int n)
{
	for (uint64_t k = 0; k < (uint64_t)n; k++)
		*(uint64_t *)mapassign(&maptype_u64, h, &k) = k;
}

/* One forced iter-write: R walks cur and parks after its first element;
 * W assigns; R finishes its walk. */
static void *race_reader(void *arg)
{
	hiter it;
	int first = 1;

	(void)arg;
	for (mapiterinit(&maptype_u64, cur, &it); it.key; mapiternext(&it)) {
		if (first) {
			first = 0;
			pthread_barrier_wait(&b1);	/* W may write now */
			pthread_barrier_wait(&b2);	/* W has written */
		}
	}
	mapiterdone(&it);
	return NULL;
}

static void *race_writer(void *arg)
{
	uint64_t k = 1000;

	(void)arg;
	pthread_barrier_wait(&b1);
	*(uint64_t *)mapassign(&maptype_u64, cur, &k) = k;
	pthread_barrier_wait(&b2);
	return NULL;
}

static void force_race(void)
{
	pthread_t r, w;

	cur = makemap(&maptype_u64, 0);
	fill(cur, 16);
	pthread_create(&r, NULL, race_reader, NULL);
	pthread_create(&w, NULL, race_writer, NULL);
	pthread_join(r, NULL);
	pthread_join(w, NULL);
	/* Kept: a freed map's address may be reused by the next round's. */
}

/* An iteration left without mapiterdone (the program's bug, not a race);
 * its hiter's memory is then reused, as a returned frame's is. */
static __attribute__((noinline)) void abandon_iteration(hmap *h, hiter *it)
{
	mapiterinit(&maptype_u64, h, it);
	if (it->key)
		mapiternext(it);
}

static __attribute__((noinline)) void reuse(void *p, size_t n)
{
	memset(p, 0x5a, n);
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* Another thread's writes to a map. */
static void *writer10(void *arg)
{
	for (uint64_t k = 100; k < 110; k++)
		*(uint64_t *)mapassign(&maptype_u64, arg, &k) = k;
	return NULL;
}

static void *parked_iterator(void *arg)
{
	hiter it;

	mapiterinit(&maptype_u64, arg, &it);
	pthread_barrier_wait(&b1);
	pause();	/* killed by the exec */
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int n = argc > 2 ? atoi(argv[2]) : 10;

	if (n <= 0 || n > 100000) {
		fprintf(stderr, "usage: hostile exec|free|churn|abandon N\n");
		return 2;
	}
	pthread_barrier_init(&b1, NULL, 2);
	pthread_barrier_init(&b2, NULL, 2);
	if (!strcmp(mode, "exec")) {
		/* Both images without ASLR: image 2's map lands where image 1's was. */
		char num[16];
		snprintf(num, sizeof(num), "%d", n);
		personality(ADDR_NO_RANDOMIZE);
		execl("/proc/self/exe", argv[0], "exec-image1", num, (char *)NULL);
		perror("exec");
		return 1;
	}
	if (!strcmp(mode, "exec-image1") || !strcmp(mode, "exec-after")) {
		/* Image 1: an iteration open in a thread the exec will kill. */
		hmap *h = makemap(&maptype_u64, 0);
		pthread_t t;
		fill(h, 16);
		pthread_create(&t, NULL, parked_iterator, h);
		pthread_barrier_wait(&b1);
		/* exec-after FILE: wait for FILE (mapwatch -p attached) first. */
		if (!strcmp(mode, "exec-after") && argc > 3) {
			printf("hostile pid %d waiting for %s\n", (int)getpid(), argv[3]);
			fflush(stdout);
			while (access(argv[3], F_OK))
				usleep(10000);
		}
		char num[16];
		snprintf(num, sizeof(num), "%d", n);
		execl("/proc/self/exe", argv[0], "exec-image2", num, (char *)NULL);
		perror("exec");
		return 1;
	}
	if (!strcmp(mode, "exec-image2")) {
		/* Same allocation order as image 1: with ASLR off, the same address. */
		hmap *h = makemap(&maptype_u64, 0);
		for (int i = 0; i < 1000; i++)
			fill(h, 16);
		for (int i = 0; i < n; i++)
			force_race();
	} else if (!strcmp(mode, "free")) {
		for (int i = 0; i < n; i++) {
			hmap *h = makemap(&maptype_u64, 0);
			fill(h, 16);
			/* Left open, in a frame that stays intact: only the free ends it. */
			hiter *it = malloc(sizeof(*it));
			mapiterinit(&maptype_u64, h, it);
			mapfree(&maptype_u64, h);
			hmap *h2 = makemap(&maptype_u64, 0);
			pthread_t t;
			pthread_create(&t, NULL, writer10, h2);
			pthread_join(t, NULL);
			mapfree(&maptype_u64, h2);
			free(it);
		}
		for (int i = 0; i < n; i++)
			force_race();
	} else if (!strcmp(mode, "churn")) {
		int every = 20000 / n;
		for (int i = 0; i < 20000; i++) {
			hmap *h = makemap(&maptype_u64, 0);
			fill(h, 2);
			mapfree(&maptype_u64, h);
			if (i % every == every - 1)
				force_race();
		}
	} else if (!strcmp(mode, "abandon")) {
		for (int i = 0; i < n; i++) {
			hmap *h = makemap(&maptype_u64, 0);
			fill(h, 16);
			hiter *it = malloc(sizeof(*it));
			abandon_iteration(h, it);
			reuse(it, sizeof(*it));
			pthread_t t;
			pthread_create(&t, NULL, writer10, h);
			pthread_join(t, NULL);
			free(it);
		}
		for (int i = 0; i < n; i++)
			force_race();
	} else if (!strcmp(mode, "dlopen") && argc > 3) {
		/* A second copy of the runtime, loaded late (after mapwatch attached
		 * to this one): its maps are used; mapwatch must say it does not
		 * watch them. Then N forced races on the watched copy. */
		usleep(300000);
		void *lib = dlopen(argv[3], RTLD_NOW | RTLD_LOCAL);
		if (!lib) {
			fprintf(stderr, "hostile: %s\n", dlerror());
			return 1;
		}
		hmap *(*mk)(const maptype *, long) = (hmap *(*)(const maptype *, long))dlsym(lib, "makemap");
		const maptype *t = dlsym(lib, "maptype_u64");
		if (!mk || !t)
			return 1;
		hmap *h = mk(t, 0);
		(void)h;
		usleep(300000);		/* mapwatch polls the maps: let it look */
		for (int i = 0; i < n; i++)
			force_race();
	} else {
		fprintf(stderr, "usage: hostile exec|free|churn|abandon N\n");
		return 2;
	}
	printf("hostile %s ok forced=%d\n", !strcmp(mode, "exec-image2") ? "exec" : mode, n);
	return 0;
}
