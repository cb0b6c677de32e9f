/* mapsvc — a long-running demo service built on libgomap.
 *
 * It models a Go service that keeps a shared map[uint64]uint64 (a cache, a
 * session table) while request handlers update it, look keys up in it and take
 * snapshots of it by ranging over it. Writer threads insert, update and delete
 * random keys so the map fills and drains in cycles (and grows); iterator
 * threads copy the whole map into a local array; reader threads look keys up.
 * How they share the map is the --mode:
 *
 *   unsafe   no synchronisation at all — the bug mapwatch is built to catch
 *   mutex    one pthread mutex around every map operation and whole iteration
 *   rwlock   readers and iterators share a writer-preferring rwlock
 *   cow      copy-on-write: a writer copies the current snapshot, applies a
 *            batch of changes to the copy and publishes it through an atomic
 *            pointer; readers and iterators only touch immutable snapshots,
 *            which are retired through hazard pointers once nobody holds them
 *
 * It prints one line naming the map (its hmap address, for `mapwatch -p`),
 * one stats line per second, and a summary on exit (SIGINT/SIGTERM or
 * --duration). With --latency each operation's latency goes into a
 * histogram and the summary gives its percentiles (a cow writer's operation
 * is its whole batch); with --race-rate R a locked service races R times per
 * second, on schedule (to measure how soon a tool sees a race of a known
 * rate). With GOMAP_ONRACE=count the runtime counts the races it detects
 * itself; otherwise the first one kills the process with Go's
 * `fatal error: concurrent map ...` and exit status 2.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "gomap.h"

#define MAX_THREADS 256
/* Map changes a cow writer applies to one private copy before publishing it:
 * at least 16, and enough that copying costs about 64 entries per change. */
#define COW_BATCH_MIN 16
static long cow_batch;
/* A full fill/drain cycle ends with mapclear once every this many cycles. */
#define CLEAR_EVERY 32

enum mode { MODE_UNSAFE, MODE_MUTEX, MODE_RWLOCK, MODE_COW };
static const char *const mode_names[] = { "unsafe", "mutex", "rwlock", "cow" };

static struct env {
	enum mode mode;
	long writers, iterators, readers;
	long keys;
	long rate;		/* ops per second per thread, 0 = flat out */
	long work_usec;		/* CPU work per operation, outside the map */
	bool latency;		/* record each operation's latency */
	double race_rate;	/* races per second made on purpose, 0 = none */
	double duration;	/* seconds, 0 = until a signal */
} env = {
	.mode = MODE_UNSAFE,
	.writers = 1, .iterators = 1, .readers = 1,
	.keys = 1000,
};

enum role { ROLE_WRITER, ROLE_ITER, ROLE_READER };

/* Per-thread counters, written by their thread only and summed by main. */
struct worker {
	pthread_t tid;
	enum role role;
	int idx;		/* index within its role */
	int hp;			/* hazard-pointer slot (cow readers/iterators) */
	uint64_t rng;
	_Atomic uint64_t ops;
	_Atomic uint64_t entries;	/* iterators: entries copied */
	_Atomic uint64_t grows;		/* writers: grows seen after their own op */
	_Atomic uint64_t clears;
	_Atomic uint64_t aborted;	/* iterators: walks cut short (racy runs) */
	uint64_t *lat;			/* --latency: its histogram (LAT_BUCKETS) */
} __attribute__((aligned(64)));

static struct worker *workers;
static int nworkers;
static atomic_bool stop;

/* The shared map, for unsafe/mutex/rwlock; the first snapshot for cow. */
static hmap *shared;
static pthread_mutex_t map_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t map_rwlock;

/* What writers last saw, for the stats line (no stats read of the hmap). */
static _Atomic long cur_size;
static _Atomic int cur_B;

/* ---- cow: snapshots published through an atomic pointer ----------------- */

static _Atomic(hmap *) cow_cur;
static _Atomic(hmap *) *cow_hazard;	/* one slot per reader/iterator */
static int cow_nhazard;
static pthread_mutex_t cow_wlock = PTHREAD_MUTEX_INITIALIZER;
/* Retired snapshots not yet freed; guarded by cow_wlock. */
static hmap **cow_retired;
static int cow_nretired, cow_capretired;

/* Take a reference on the current snapshot: announce it in our hazard slot,
 * then check it is still current, so a writer that retires it afterwards
 * is bound to see the announcement (all seq_cst). */
static hmap *cow_acquire(int slot)
{
	hmap *p;

	do {
		p = atomic_load(&cow_cur);
		atomic_store(&cow_hazard[slot], p);
	} while (p != atomic_load(&cow_cur));
	return p;
}

static void cow_release(int slot)
{
	atomic_store(&cow_hazard[slot], NULL);
}

static bool cow_hazarded(const hmap *p)
{
	for (int i = 0; i < cow_nhazard; i++)
		if (atomic_load(&cow_hazard[i]) == p)
			return true;
	return false;
}

/* Free every retired snapshot no reader holds. Called with cow_wlock held. */
static void cow_reclaim(void)
{
	int n = 0;

	for (int i = 0; i < cow_nretired; i++) {
		if (cow_hazarded(cow_retired[i]))
			cow_retired[n++] = cow_retired[i];
		else
			mapfree(&maptype_u64, cow_retired[i]);
	}
	cow_nretired = n;
}

static void cow_retire(hmap *old)
{
	if (cow_nretired == cow_capretired) {
		int cap = cow_capretired ? 2 * cow_capretired : 16;
		hmap **r = realloc(cow_retired, cap * sizeof(*r));

		if (!r) {
			fprintf(stderr, "mapsvc: out of memory\n");
			exit(1);
		}
		cow_retired = r;
		cow_capretired = cap;
	}
	cow_retired[cow_nretired++] = old;
	cow_reclaim();
}

/* ---- small helpers ------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* --latency: a log-linear histogram of nanoseconds, 32 buckets per power of
 * two (at most 3% wide) from 64 ns up, one per nanosecond below; values
 * past 2^40 ns (18 minutes) go in the last bucket. One per worker, written by
 * its thread only and summed once every thread is joined. */
#define LAT_SUB 32
#define LAT_BUCKETS ((40 - 5) * LAT_SUB + LAT_SUB)

static int lat_bucket(uint64_t ns)
{
	int msb, shift, i;

	if (ns < 2 * LAT_SUB)
		return (int)ns;
	msb = 63 - __builtin_clzll(ns);
	shift = msb - 5;
	i = (shift + 1) * LAT_SUB + (int)(ns >> shift) - LAT_SUB;
	return i < LAT_BUCKETS ? i : LAT_BUCKETS - 1;
}

/* The middle of bucket i, in ns. */
static double lat_value(int i)
{
	int shift;

	if (i < 2 * LAT_SUB)
		return i;
	shift = i / LAT_SUB - 1;
	return ((double)(i % LAT_SUB + LAT_SUB) + 0.5) * (double)(1ull << shift);
}

/* The q-quantile (0 < q <= 1) of histogram h holding n values, in ns. */
static double lat_quantile(const uint64_t *h, uint64_t n, double q)
{
	uint64_t want = (uint64_t)(q * (double)n + 0.999999), seen = 0;

	if (!want)
		want = 1;
	for (int i = 0; i < LAT_BUCKETS; i++) {
		seen += h[i];
		if (seen >= want)
			return lat_value(i);
	}
	return 0;
}

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(s) * n) >> 64);
}

/* --work: a calibrated busy loop of hashing, standing in for the CPU a
 * request handler spends outside the map. */
static double work_rounds_per_usec;
/* Results nobody reads, so the compiler keeps the work. */
static _Atomic uint64_t work_sink;

static uint64_t hash_rounds(uint64_t rounds, uint64_t seed)
{
	uint64_t buf[8] = { seed };

	for (uint64_t i = 0; i < rounds; i++)
		buf[i & 7] ^= XXH64(buf, sizeof(buf), i);
	return buf[0] ^ buf[3] ^ buf[7];
}

static void work_calibrate(void)
{
	uint64_t rounds = 1024, t0, dt;

	/* Double until one run takes at least 20 ms, then take that rate. */
	for (;;) {
		t0 = now_ns();
		atomic_fetch_xor_explicit(&work_sink, hash_rounds(rounds, t0), memory_order_relaxed);
		dt = now_ns() - t0;
		if (dt >= 20000000 || rounds >= (1ull << 40))
			break;
		rounds *= 2;
	}
	work_rounds_per_usec = (double)rounds * 1000.0 / (double)(dt ? dt : 1);
}

static uint64_t do_work(uint64_t seed)
{
	if (!env.work_usec)
		return 0;
	return hash_rounds((uint64_t)(env.work_usec * work_rounds_per_usec), seed);
}

/* --rate: sleep until op number n is due, on an absolute schedule so the
 * average rate holds even with a coarse sleep. */
static void throttle(uint64_t start, uint64_t n)
{
	if (!env.rate)
		return;
	uint64_t due = start + (uint64_t)((double)n * 1e9 / (double)env.rate);
	if (now_ns() < due) {
		struct timespec ts = { .tv_sec = due / 1000000000u, .tv_nsec = due % 1000000000u };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
}

/* --latency: one operation of worker w, started at t0, is done. */
static void lat_note(struct worker *w, uint64_t t0)
{
	if (w->lat)
		w->lat[lat_bucket(now_ns() - t0)]++;
}

static uint64_t lat_start(const struct worker *w)
{
	return w->lat ? now_ns() : 0;
}

static void lock_read(void)
{
	if (env.mode == MODE_MUTEX)
		pthread_mutex_lock(&map_mutex);
	else if (env.mode == MODE_RWLOCK)
		pthread_rwlock_rdlock(&map_rwlock);
}

static void lock_write(void)
{
	if (env.mode == MODE_MUTEX)
		pthread_mutex_lock(&map_mutex);
	else if (env.mode == MODE_RWLOCK)
		pthread_rwlock_wrlock(&map_rwlock);
}

static void unlock(void)
{
	if (env.mode == MODE_MUTEX)
		pthread_mutex_unlock(&map_mutex);
	else if (env.mode == MODE_RWLOCK)
		pthread_rwlock_unlock(&map_rwlock);
}

/* ---- writers ------------------------------------------------------------- */

/* The writer's churn, one cycle after another:
 *   fill   90% of ops insert or update a random key, 10% delete one, until
 *          the map holds 80% of the key space (well loaded: 6.25 entries per
 *          bucket at the default 1000 keys, so chains overflow);
 *   drain  the reverse, down to 20%;
 *   sweep  delete every key in order, one per op, down to empty — at count 0
 *          the runtime reseeds the map's hash, so the next fill lands keys in
 *          new buckets and overflow buckets pile up until a same-size grow
 *          rehashes them (a Go map never shrinks its B, so after the first
 *          fill these are the grows a long-lived map sees);
 *   every CLEAR_EVERY cycles the sweep is one mapclear instead. */
enum phase { FILL, DRAIN, SWEEP };
struct churn {
	enum phase phase;
	uint64_t sweep;		/* next key the sweep deletes */
	long cycles;
};

/* Last B and old-bucket array seen by any writer, to count grows. */
static _Atomic int seen_B;
static const void *_Atomic seen_old;

/* One map change on h (already exclusive to us, or unsafe by design). */
static void write_one(struct worker *w, struct churn *c, hmap *h)
{
	long n = maplen(h);
	uint64_t k;
	bool insert;

	if (c->phase == FILL && n >= env.keys * 4 / 5) {
		c->phase = DRAIN;
	} else if (c->phase == DRAIN && n <= env.keys / 5) {
		c->phase = SWEEP;
		c->sweep = 0;
		if (++c->cycles % CLEAR_EVERY == 0) {
			mapclear(&maptype_u64, h);
			atomic_fetch_add_explicit(&w->clears, 1, memory_order_relaxed);
			atomic_store(&seen_B, __atomic_load_n(&h->B, __ATOMIC_RELAXED));
			atomic_store(&seen_old, NULL);
			c->phase = FILL;
			return;
		}
	}

	if (c->phase == SWEEP) {
		k = c->sweep++;
		if (c->sweep >= (uint64_t)env.keys)
			c->phase = FILL;
		mapdelete(&maptype_u64, h, &k);
		return;
	}
	k = rng_below(&w->rng, (uint64_t)env.keys);
	insert = rng_below(&w->rng, 100) < 90;
	if (c->phase == DRAIN)
		insert = !insert;
	if (insert)
		*(uint64_t *)mapassign(&maptype_u64, h, &k) = k * 2654435761u + w->idx;
	else
		mapdelete(&maptype_u64, h, &k);
}

/* Count grows honestly from the writers' side: B changed (a doubling grow),
 * or a new old-bucket array appeared with B unchanged (a same-size grow).
 * A grow that starts and finishes inside one call (a tiny map) shows only
 * if it changed B. */
static void note_grow(struct worker *w, hmap *h)
{
	uint8_t B = __atomic_load_n(&h->B, __ATOMIC_RELAXED);
	const void *old = __atomic_load_n(&h->oldbuckets, __ATOMIC_RELAXED);
	int prev_B = atomic_exchange(&seen_B, B);
	const void *prev_old = atomic_exchange(&seen_old, old);

	if (B != prev_B || (old && old != prev_old))
		atomic_fetch_add_explicit(&w->grows, 1, memory_order_relaxed);
	atomic_store_explicit(&cur_B, B, memory_order_relaxed);
	atomic_store_explicit(&cur_size, (long)__atomic_load_n(&h->count, __ATOMIC_RELAXED),
			      memory_order_relaxed);
}

static void writer_cow(struct worker *w, struct churn *c)
{
	/* Copy the current snapshot, change the copy, publish it. Writers
	 * serialise among themselves; readers never wait. */
	pthread_mutex_lock(&cow_wlock);
	hmap *old = atomic_load(&cow_cur);
	hmap *h = makemap(&maptype_u64, maplen(old));
	hiter it;

	for (mapiterinit(&maptype_u64, old, &it); it.key; mapiternext(&it))
		*(uint64_t *)mapassign(&maptype_u64, h, it.key) = *(uint64_t *)it.elem;
	atomic_store(&seen_B, __atomic_load_n(&h->B, __ATOMIC_RELAXED));
	atomic_store(&seen_old, h->oldbuckets);
	for (long i = 0; i < cow_batch; i++) {
		write_one(w, c, h);
		note_grow(w, h);
	}
	atomic_store(&cow_cur, h);
	cow_retire(old);
	pthread_mutex_unlock(&cow_wlock);
}

static void *writer_main(void *arg)
{
	struct worker *w = arg;
	struct churn c = { 0 };
	uint64_t start = now_ns(), n = 0, sum = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t t0 = lat_start(w);

		if (env.mode == MODE_COW) {
			writer_cow(w, &c);
			n += cow_batch;
			atomic_fetch_add_explicit(&w->ops, cow_batch, memory_order_relaxed);
		} else {
			lock_write();
			write_one(w, &c, shared);
			note_grow(w, shared);
			unlock();
			n++;
			atomic_fetch_add_explicit(&w->ops, 1, memory_order_relaxed);
		}
		sum += do_work(n);
		lat_note(w, t0);
		throttle(start, n);
	}
	atomic_fetch_xor_explicit(&work_sink, sum, memory_order_relaxed);
	return NULL;
}

/* ---- iterators: copy the whole map into a local array -------------------- */

static void *iter_main(void *arg)
{
	struct worker *w = arg;
	/* In unsafe mode a walk racing a grow can see entries twice; cap the
	 * copy and the walk so a torn map cannot run us away. */
	size_t cap = (size_t)env.keys * 2 + 64, limit = (size_t)env.keys * 4 + 1024;
	uint64_t (*copy)[2] = malloc(cap * sizeof(*copy));
	uint64_t start = now_ns(), n = 0, sum = 0;

	if (!copy) {
		fprintf(stderr, "mapsvc: out of memory\n");
		exit(1);
	}
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		hmap *h;
		hiter it;
		size_t len = 0, steps = 0;
		uint64_t t0 = lat_start(w);

		if (env.mode == MODE_COW) {
			h = cow_acquire(w->hp);
		} else {
			lock_read();
			h = shared;
		}
		for (mapiterinit(&maptype_u64, h, &it); it.key; mapiternext(&it)) {
			if (++steps > limit) {
				mapiterdone(&it);
				atomic_fetch_add_explicit(&w->aborted, 1, memory_order_relaxed);
				break;
			}
			if (len < cap) {
				copy[len][0] = *(uint64_t *)it.key;
				copy[len][1] = *(uint64_t *)it.elem;
				len++;
			}
		}
		if (env.mode == MODE_COW)
			cow_release(w->hp);
		else
			unlock();

		/* Use the snapshot, outside any lock. */
		for (size_t i = 0; i < len; i++)
			sum += copy[i][0] ^ copy[i][1];
		n++;
		atomic_fetch_add_explicit(&w->ops, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->entries, len, memory_order_relaxed);
		sum += do_work(sum);
		lat_note(w, t0);
		throttle(start, n);
	}
	atomic_fetch_xor_explicit(&work_sink, sum, memory_order_relaxed);
	free(copy);
	return NULL;
}

/* ---- readers: lookups ---------------------------------------------------- */

static void *reader_main(void *arg)
{
	struct worker *w = arg;
	uint64_t start = now_ns(), n = 0, sum = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t k = rng_below(&w->rng, (uint64_t)env.keys);
		uint64_t t0 = lat_start(w);
		bool ok;
		hmap *h;

		if (env.mode == MODE_COW) {
			h = cow_acquire(w->hp);
		} else {
			lock_read();
			h = shared;
		}
		uint64_t *v = mapaccess2(&maptype_u64, h, &k, &ok);
		if (ok)
			sum += *v;
		if (env.mode == MODE_COW)
			cow_release(w->hp);
		else
			unlock();
		n++;
		atomic_fetch_add_explicit(&w->ops, 1, memory_order_relaxed);
		sum += do_work(sum);
		lat_note(w, t0);
		throttle(start, n);
	}
	atomic_fetch_xor_explicit(&work_sink, sum, memory_order_relaxed);
	return NULL;
}

/* ---- --race-rate: races on schedule ------------------------------------- */

/* Two threads of their own, outside the workers' counts. The iterating one,
 * at each due time, takes the map as an iterator would (the read lock, or
 * the mutex), opens an iteration and takes one step, then lets the writing
 * one update the key it saw, without any lock, while the iteration is open:
 * an iteration-write race, once per due time. The update changes an
 * existing key in place (no grow) and the writers are locked out meanwhile,
 * so the map stays whole; readers in rwlock mode may meet it (a read-write
 * race, which GOMAP_ONRACE=count counts). */
static pthread_t racer_tid[2];
static uint64_t racer_key;
static _Atomic int racer_turn;		/* 0 idle, 1 write now, 2 written, 3 quit */
static _Atomic uint64_t races_made;

/* Until racer_turn is want, or 3. */
static int racer_wait(int want)
{
	int t;

	while ((t = atomic_load(&racer_turn)) != want && t != 3)
		sched_yield();
	return t;
}

static void *racer_iter_main(void *arg)
{
	uint64_t start = now_ns(), n = 0;
	double period = 1e9 / env.race_rate;

	for (;;) {
		uint64_t due = start + (uint64_t)((double)++n * period);
		struct timespec ts = { .tv_sec = due / 1000000000u, .tv_nsec = due % 1000000000u };
		hiter it;

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (atomic_load_explicit(&stop, memory_order_relaxed))
			break;
		lock_read();
		mapiterinit(&maptype_u64, shared, &it);
		/* an empty map's iteration is over at once: no race this time */
		if (it.key) {
			racer_key = *(uint64_t *)it.key;
			atomic_store(&racer_turn, 1);
			racer_wait(2);
			atomic_store(&racer_turn, 0);
			atomic_fetch_add_explicit(&races_made, 1, memory_order_relaxed);
			mapiterdone(&it);
		}
		unlock();
	}
	atomic_store(&racer_turn, 3);
	return NULL;
}

static void *racer_write_main(void *arg)
{
	while (racer_wait(1) == 1) {
		uint64_t k = racer_key;

		*(uint64_t *)mapassign(&maptype_u64, shared, &k) = k ^ 0x5ace;
		atomic_store(&racer_turn, 2);
	}
	return NULL;
}

/* ---- options ------------------------------------------------------------- */

static const char usage[] =
"Usage: mapsvc [OPTIONS]\n"
"A multi-threaded demo service sharing one Go-style map (libgomap) between\n"
"writers, iterators (snapshot copies) and readers (lookups).\n"
"\n"
"  -m, --mode MODE       unsafe | mutex | rwlock | cow (default unsafe)\n"
"  -w, --writers N       writer threads: insert/update/delete (default 1)\n"
"  -i, --iterators N     threads that copy the map by iterating it (default 1)\n"
"  -r, --readers N       lookup threads (default 1)\n"
"  -k, --keys N          key space (default 1000); writers fill the map to 80%%\n"
"                        of it, drain it to 20%%, then empty it, over and over\n"
"  -R, --rate OPS        per-thread throttle in ops/s, 0 = flat out (default 0)\n"
"  -W, --work USEC       CPU work per operation outside the map (default 0)\n"
"  -d, --duration SEC    run this long, then exit (default: until SIGINT/SIGTERM)\n"
"  -L, --latency         time every operation (lock, map and --work) and print\n"
"                        its percentiles on exit\n"
"  -x, --race-rate R     mutex or rwlock mode: race R times per second on purpose\n"
"                        (a write while another thread iterates; R may be < 1);\n"
"                        run it with GOMAP_ONRACE=count\n"
"  -h, --help            show this help\n"
"\n"
"Prints the map's address on start, stats every second and a summary on exit.\n"
"GOMAP_ONRACE=count makes the runtime count the races it detects instead of\n"
"exiting with `fatal error: concurrent map ...' (status 2); writers racing on\n"
"the map then wait for each other inside the runtime, so it stays whole.\n"
"\n"
"Examples:\n"
"  mapsvc                                  race within a second, then die\n"
"  GOMAP_ONRACE=count mapsvc -d 10         count races for 10 s\n"
"  mapsvc -m rwlock -w 2 -i 2 -r 4 -W 20   a locked service with real work\n";

static void die_usage(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "mapsvc: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, " (see --help)\n");
	exit(2);
}

static long parse_long(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno)
		die_usage("%s: expected a number, got '%s'", opt, s);
	if (v < min || v > max) {
		char range[64];

		snprintf(range, sizeof(range), "between %ld and %ld", min, max);
		fprintf(stderr, "mapsvc: %s: expected a number %s, got '%s'\n", opt, range, s);
		exit(2);
	}
	return v;
}

/* A number of UNIT more than 0 and at most max. */
static double parse_positive(const char *opt, const char *unit, const char *s, double max)
{
	char *end, msg[96];
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || !(v > 0) || v > max) {
		snprintf(msg, sizeof(msg), "%s: expected a positive number of %s, got", opt, unit);
		die_usage("%s '%s'", msg, s);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "writers", required_argument, NULL, 'w' },
		{ "iterators", required_argument, NULL, 'i' },
		{ "readers", required_argument, NULL, 'r' },
		{ "keys", required_argument, NULL, 'k' },
		{ "rate", required_argument, NULL, 'R' },
		{ "work", required_argument, NULL, 'W' },
		{ "duration", required_argument, NULL, 'd' },
		{ "latency", no_argument, NULL, 'L' },
		{ "race-rate", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:w:i:r:k:R:W:d:Lx:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': {
			int m;

			for (m = 0; m < 4; m++)
				if (!strcmp(optarg, mode_names[m]))
					break;
			if (m == 4)
				die_usage("--mode: expected unsafe, mutex, rwlock or cow, got '%s'%s", optarg, "");
			env.mode = m;
			break;
		}
		case 'w': env.writers = parse_long("--writers", optarg, 0, 64); break;
		case 'i': env.iterators = parse_long("--iterators", optarg, 0, 64); break;
		case 'r': env.readers = parse_long("--readers", optarg, 0, 64); break;
		case 'k': env.keys = parse_long("--keys", optarg, 1, 100000000); break;
		case 'R': env.rate = parse_long("--rate", optarg, 0, 1000000000); break;
		case 'W': env.work_usec = parse_long("--work", optarg, 0, 10000000); break;
		case 'd':
			env.duration = parse_positive("--duration", "seconds", optarg, 1e7);
			break;
		case 'L':
			env.latency = true;
			break;
		case 'x':
			env.race_rate = parse_positive("--race-rate", "races per second", optarg, 1e6);
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case ':':
			die_usage("%s: missing argument%s", argv[optind - 1], "");
			break;
		default:
			if (optopt)
				die_usage("unknown option '-%c'%s", (char[]){ (char)optopt, 0 }, "");
			die_usage("unknown option '%s'%s", argv[optind - 1], "");
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'%s", argv[optind], "");
	if (env.writers + env.iterators + env.readers == 0)
		die_usage("nothing to run: writers, iterators and readers are all 0%s%s", "", "");
	if (env.race_rate > 0 && env.mode != MODE_MUTEX && env.mode != MODE_RWLOCK)
		die_usage("--race-rate: needs --mode mutex or rwlock, not %s%s", mode_names[env.mode], "");
}

/* ---- main: start, report every second, stop ------------------------------ */

struct totals {
	uint64_t writes, iters, lookups, entries, grows, clears, aborted;
};

static struct totals sum_workers(void)
{
	struct totals t = { 0 };

	for (int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];
		uint64_t ops = atomic_load_explicit(&w->ops, memory_order_relaxed);

		switch (w->role) {
		case ROLE_WRITER: t.writes += ops; break;
		case ROLE_ITER: t.iters += ops; break;
		case ROLE_READER: t.lookups += ops; break;
		}
		t.entries += atomic_load_explicit(&w->entries, memory_order_relaxed);
		t.grows += atomic_load_explicit(&w->grows, memory_order_relaxed);
		t.clears += atomic_load_explicit(&w->clears, memory_order_relaxed);
		t.aborted += atomic_load_explicit(&w->aborted, memory_order_relaxed);
	}
	return t;
}

static void on_signal(int sig)
{
	atomic_store(&stop, true);
}

static void *(*const role_main[])(void *) = { writer_main, iter_main, reader_main };
static const char *const role_names[] = { "writer", "iter", "reader" };

int main(int argc, char **argv)
{
	sigset_t sigs;
	uint64_t t0, last_t, seed;
	struct totals last = { 0 };
	int hp = 0;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (env.work_usec)
		work_calibrate();

	/* Signals are taken synchronously by main (sigtimedwait); every worker
	 * inherits the blocked mask. */
	/* A handler (never run while blocked) so that an inherited "ignore",
	 * as a shell gives background jobs for SIGINT, cannot discard them. */
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	/* Without this a steady stream of readers starves the writers. */
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&map_rwlock, &ra);
	pthread_rwlockattr_destroy(&ra);

	cow_batch = env.keys / 64 > COW_BATCH_MIN ? env.keys / 64 : COW_BATCH_MIN;
	shared = makemap(&maptype_u64, 0);
	atomic_store(&cow_cur, shared);
	cow_nhazard = (int)(env.iterators + env.readers);
	cow_hazard = calloc(cow_nhazard + 1, sizeof(*cow_hazard));
	nworkers = (int)(env.writers + env.iterators + env.readers);
	workers = aligned_alloc(64, sizeof(*workers) * nworkers);
	if (!shared || !cow_hazard || !workers) {
		fprintf(stderr, "mapsvc: out of memory\n");
		return 1;
	}
	memset(workers, 0, sizeof(*workers) * nworkers);

	printf("mapsvc: pid %d mode %s map 0x%" PRIxPTR " writers %ld iterators %ld readers %ld keys %ld\n",
	       (int)getpid(), mode_names[env.mode], (uintptr_t)shared, env.writers, env.iterators,
	       env.readers, env.keys);

	seed = now_ns() ^ ((uint64_t)getpid() << 32);
	for (int i = 0, r = 0; r < 3; r++) {
		long n = r == 0 ? env.writers : r == 1 ? env.iterators : env.readers;

		for (long j = 0; j < n; j++, i++) {
			struct worker *w = &workers[i];
			char name[16];
			int err;

			w->role = r;
			w->idx = (int)j;
			w->hp = r == ROLE_WRITER ? -1 : hp++;
			w->rng = rng_next(&seed);
			if (env.latency && !(w->lat = calloc(LAT_BUCKETS, sizeof(*w->lat)))) {
				fprintf(stderr, "mapsvc: out of memory\n");
				exit(1);
			}
			err = pthread_create(&w->tid, NULL, role_main[r], w);
			if (err) {
				fprintf(stderr, "mapsvc: cannot start thread %s-%ld: %s\n",
					role_names[r], j, strerror(err));
				exit(1);
			}
			snprintf(name, sizeof(name), "%s-%ld", role_names[r], j);
			pthread_setname_np(w->tid, name);
		}
	}

	if (env.race_rate > 0) {
		void *(*const racer_main[2])(void *) = { racer_iter_main, racer_write_main };
		const char *const racer_names[2] = { "racer-iter", "racer-write" };

		for (int i = 0; i < 2; i++) {
			int err = pthread_create(&racer_tid[i], NULL, racer_main[i], NULL);

			if (err) {
				fprintf(stderr, "mapsvc: cannot start thread %s: %s\n", racer_names[i],
					strerror(err));
				exit(1);
			}
			pthread_setname_np(racer_tid[i], racer_names[i]);
		}
	}

	t0 = last_t = now_ns();
	uint64_t end = env.duration > 0 ? t0 + (uint64_t)(env.duration * 1e9) : UINT64_MAX;
	uint64_t next = t0 + 1000000000u;

	for (;;) {
		uint64_t now = now_ns(), until = next < end ? next : end;

		if (atomic_load(&stop))
			break;

		if (now < until) {
			struct timespec ts = { .tv_sec = (until - now) / 1000000000u,
					       .tv_nsec = (until - now) % 1000000000u };
			int sig = sigtimedwait(&sigs, NULL, &ts);

			if (sig == SIGINT || sig == SIGTERM)
				break;
			continue;	/* timeout or EINTR: re-check the clock */
		}
		if (now >= end)
			break;

		struct totals t = sum_workers();
		double dt = (double)(now - last_t) / 1e9;

		printf("mapsvc: %5.1fs writes %.0f/s iterations %.0f/s lookups %.0f/s "
		       "size %ld B %d grows %" PRIu64 " races %ld\n",
		       (double)(now - t0) / 1e9, (t.writes - last.writes) / dt,
		       (t.iters - last.iters) / dt, (t.lookups - last.lookups) / dt,
		       atomic_load_explicit(&cur_size, memory_order_relaxed),
		       atomic_load_explicit(&cur_B, memory_order_relaxed), t.grows, gomap_races());
		last = t;
		last_t = now;
		next += 1000000000u;
	}

	atomic_store(&stop, true);
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i].tid, NULL);
	if (env.race_rate > 0)
		for (int i = 0; i < 2; i++)
			pthread_join(racer_tid[i], NULL);

	struct totals t = sum_workers();
	double secs = (double)(now_ns() - t0) / 1e9;
	uint64_t ops = t.writes + t.iters + t.lookups;

	printf("mapsvc: writes %" PRIu64 " iterations %" PRIu64 " (%" PRIu64 " entries copied, %"
	       PRIu64 " cut short) lookups %" PRIu64 " grows %" PRIu64 " clears %" PRIu64 "\n",
	       t.writes, t.iters, t.entries, t.aborted, t.lookups, t.grows, t.clears);
	printf("mapsvc: races by kind: writes %ld read-write %ld iteration-write %ld\n",
	       gomap_races_kind(GOMAP_RACE_WRITES), gomap_races_kind(GOMAP_RACE_READ_WRITE),
	       gomap_races_kind(GOMAP_RACE_ITER_WRITE));
	if (env.race_rate > 0)
		printf("mapsvc: races made on purpose %" PRIu64 " (--race-rate %g)\n",
		       atomic_load(&races_made), env.race_rate);
	if (env.latency) {
		uint64_t *h = calloc(LAT_BUCKETS, sizeof(*h)), n = 0;

		if (!h) {
			fprintf(stderr, "mapsvc: out of memory\n");
			return 1;
		}
		for (int i = 0; i < nworkers; i++) {
			for (int b = 0; b < LAT_BUCKETS; b++)
				h[b] += workers[i].lat[b];
			free(workers[i].lat);
		}
		for (int b = 0; b < LAT_BUCKETS; b++)
			n += h[b];
		printf("mapsvc: latency ops %" PRIu64 " p50_us %.2f p90_us %.2f p99_us %.2f p999_us %.2f max_us %.2f\n",
		       n, lat_quantile(h, n, 0.50) / 1e3, lat_quantile(h, n, 0.90) / 1e3,
		       lat_quantile(h, n, 0.99) / 1e3, lat_quantile(h, n, 0.999) / 1e3,
		       lat_quantile(h, n, 1.0) / 1e3);
		free(h);
	}
	printf("mapsvc: done in %.1f s: %" PRIu64 " ops, %.0f ops/s, races %ld\n",
	       secs, ops, secs > 0 ? ops / secs : 0.0, gomap_races());

	/* Everything is joined: the current snapshot and the retired ones go. */
	if (env.mode == MODE_COW) {
		hmap *cur = atomic_load(&cow_cur);

		for (int i = 0; i < cow_nretired; i++)
			mapfree(&maptype_u64, cow_retired[i]);
		free(cow_retired);
		mapfree(&maptype_u64, cur);
	} else {
		mapfree(&maptype_u64, shared);
	}
	free(cow_hazard);
	free(workers);
	pthread_rwlock_destroy(&map_rwlock);
	return 0;
}
