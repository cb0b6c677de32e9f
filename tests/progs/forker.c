/* forker.c — a libgomap program that forks workers after it has been probed.
 *
 *   forker [-n WORKERS] [-r ROUNDS] [-w]
 *
 * The parent uses a map; with -w it first waits (at most 30 s) until a
 * uprobe sits in mapassign (its first bytes differ from the runtime's
 * `nopl; push %rbp` entry) and then keeps calling it for a moment, so that
 * every probe has been hit — the kernel may rewrite a probed instruction on
 * its first hit. Then, ROUNDS times, it forks WORKERS children that each
 * build, walk, shrink and free maps of their own, waits for all of them, and
 * checks that every child exited 0. One line per failed child
 * (`forker: worker PID killed by SIGSEGV`), and a last line
 * `forker: N workers, N ok`. Exit status 0 only when every child exited 0.
 * Prints `forker: pid N` first and `forker: probed` once -w saw the probe.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "gomap.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every probed operation of the runtime, on a map of n keys; 0 when the map
 * held what was put in. */
static int use_maps(uint64_t n)
{
	hmap *h = makemap(&maptype_u64, 0);
	uint64_t sum = 0, want = 0, seen = 0;
	hiter it;
	int bad = 0;

	for (uint64_t k = 0; k < n; k++) {
		*(uint64_t *)mapassign(&maptype_u64, h, &k) = k * 3;
		want += k * 3;
	}
	for (mapiterinit(&maptype_u64, h, &it); it.key; mapiternext(&it)) {
		sum += *(uint64_t *)it.elem;
		seen++;
	}
	mapiterdone(&it);
	if (sum != want || seen != n || maplen(h) != (long)n)
		bad = 1;
	for (uint64_t k = 0; k < n; k += 2)
		mapdelete(&maptype_u64, h, &k);
	if (maplen(h) != (long)(n / 2))
		bad = 1;
	/* an iteration left early */
	mapiterinit(&maptype_u64, h, &it);
	mapiterdone(&it);
	mapclear(&maptype_u64, h);
	if (maplen(h) != 0)
		bad = 1;
	mapfree(&maptype_u64, h);
	return bad;
}

static int probed(void)
{
	const volatile uint8_t *c = (const volatile uint8_t *)(uintptr_t)&mapassign;

	/* libgomap's entry: 0f 1f 44 00 xx (nopl), 55 (push %rbp) */
	return c[0] != 0x0f || c[5] != 0x55;
}

int main(int argc, char **argv)
{
	int workers = 4, rounds = 2, wait = 0, c, failed = 0, total = 0;

	while ((c = getopt(argc, argv, "n:r:w")) != -1) {
		switch (c) {
		case 'n': workers = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'w': wait = 1; break;
		default:
			fprintf(stderr, "usage: forker [-n WORKERS] [-r ROUNDS] [-w]\n");
			return 2;
		}
	}
	if (workers < 1 || workers > 256 || rounds < 1 || rounds > 100) {
		fprintf(stderr, "forker: bad -n or -r\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("forker: pid %d\n", (int)getpid());
	if (use_maps(100)) {
		fprintf(stderr, "forker: the parent's map is wrong\n");
		return 1;
	}
	if (wait) {
		double t0 = now_s();

		while (!probed()) {
			if (now_s() - t0 > 30) {
				fprintf(stderr, "forker: no probe on mapassign after 30 s\n");
				return 1;
			}
			use_maps(10);
			usleep(2000);
		}
		/* every probe hit, for a while: whatever the kernel rewrites on a hit is rewritten */
		t0 = now_s();
		while (now_s() - t0 < 0.2) {
			use_maps(100);
			usleep(1000);
		}
		const uint8_t *e = (const uint8_t *)(uintptr_t)&mapassign;
		printf("forker: probed (mapassign starts %02x %02x %02x %02x %02x %02x)\n",
		       e[0], e[1], e[2], e[3], e[4], e[5]);
	}
	for (int r = 0; r < rounds; r++) {
		pid_t pids[256];
		int n = 0;

		for (int i = 0; i < workers; i++) {
			pid_t p = fork();
			if (p < 0) {
				perror("forker: fork");
				break;
			}
			if (p == 0)
				_exit(use_maps(1000 + (uint64_t)i) ? 1 : 0);
			pids[n++] = p;
		}
		for (int i = 0; i < n; i++) {
			int st;
			total++;
			if (waitpid(pids[i], &st, 0) != pids[i]) {
				perror("forker: waitpid");
				failed++;
			} else if (WIFSIGNALED(st)) {
				printf("forker: worker %d killed by SIG%s\n", (int)pids[i],
				       sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
				failed++;
			} else if (WEXITSTATUS(st)) {
				printf("forker: worker %d exited with status %d\n", (int)pids[i],
				       WEXITSTATUS(st));
				failed++;
			}
		}
		/* the parent keeps using its maps between rounds */
		if (use_maps(200))
			failed++;
	}
	printf("forker: %d workers, %d ok\n", total, total - failed);
	return failed ? 1 : 0;
}
