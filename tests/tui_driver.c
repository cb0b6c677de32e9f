/* tui_driver.c — drives the live view (user/tui.c) with synthetic records,
 * without BPF or root, for development and for tests/e2e_tui.sh.
 *
 * It plays a small service: a map 0x55d0c2a0b2c0 (and a few quiet ones)
 * with writers 4242/4244 and an iterator 4243; iterations open and close,
 * writes land in buckets, the map doubles now and then and is evacuated,
 * and about every second a write by another thread falls inside an open
 * iteration (an iter-write record, as BPF would emit it). The loop calls
 * mw_tui_tick() every 10 ms, like user/main.c.
 *
 *   tui_driver [--frames N] [--ascii] [--no-color] [--maps N] [--quiet]
 *              [--exit-after SEC] [--crash-after SEC] [--stderr-after SEC]
 *
 * --quiet raises no alert. --exit-after marks the target exited (the view
 * keeps the final state until q). --crash-after dereferences NULL, to test
 * the crash restore. --stderr-after writes a line to stderr while the
 * screen is open (it must appear only after the view closes).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "correlator.h"
#include "tui.h"

#define MAP0	 0x55d0c2a0b2c0ull
#define BSIZE	 144
#define W1	 4242
#define IT	 4243
#define W2	 4244

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The simulated map. */
static struct {
	uint64_t count, buckets, oldbuckets, nevacuate;
	uint8_t B, flags;
	uint64_t hiter;		/* open iteration, or 0 */
	uint64_t iter_start, iter_next;
	uint64_t writes, iterations, grows, evacs;
} M = { .count = 0, .buckets = 0x7f3a10000000ull, .B = 4 };

static void feed(struct mw_corr *c, struct mw_tui *t, struct mw_record *r)
{
	r->pid = 1000;
	r->map = r->map ? r->map : MAP0;
	r->count = M.count;
	r->B = M.B;
	r->hflags = M.flags;
	r->buckets = M.buckets;
	r->oldbuckets = M.oldbuckets;
	r->nevacuate = M.nevacuate;
	r->stack_id = r->other_stack_id = -1;
	if (r->bucket == 0 && r->type != MW_REC_EVACUATE)
		r->bucket = MW_NO_BUCKET;
	mw_corr_feed(c, r);
	if (t)
		mw_tui_event(t, r);
}

static int save_trace(void *ctx, char *path, size_t len)
{
	(void)ctx;
	snprintf(path, len, "/tmp/mapwatch-driver.mwtrace");
	return 0;
}

int main(int argc, char **argv)
{
	struct mw_tui_opts o = { .save_trace = save_trace };
	struct mw_tui_target tg = { .pid = 1000, .probes = 14 };
	struct mw_live_stats st = { 0 };
	struct mw_corr_opts co = { 0 };
	double exit_after = 0, crash_after = 0, stderr_after = 0;
	int quiet = 0, nmaps = 3, said = 0;
	struct mw_corr *c;
	struct mw_tui *t;
	uint64_t now, last_sec, next_alert, next_grow, ev_mark = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--frames") && i + 1 < argc)
			o.frames = atol(argv[++i]);
		else if (!strcmp(argv[i], "--ascii"))
			o.ascii = 1;
		else if (!strcmp(argv[i], "--no-color"))
			o.no_color = 1;
		else if (!strcmp(argv[i], "--quiet"))
			quiet = 1;
		else if (!strcmp(argv[i], "--maps") && i + 1 < argc)
			nmaps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--exit-after") && i + 1 < argc)
			exit_after = atof(argv[++i]);
		else if (!strcmp(argv[i], "--crash-after") && i + 1 < argc)
			crash_after = atof(argv[++i]);
		else if (!strcmp(argv[i], "--stderr-after") && i + 1 < argc)
			stderr_after = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--frames N] [--ascii] [--no-color] [--maps N] [--quiet] "
				"[--exit-after S] [--crash-after S] [--stderr-after S]\n", argv[0]);
			return 2;
		}
	}
	snprintf(tg.comm, sizeof(tg.comm), "fakesvc");
	snprintf(tg.probed, sizeof(tg.probed), "build/libgomap.so");

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	c = mw_corr_new(&co);
	if (!c)
		return 1;
	t = mw_tui_open(&o, &tg);
	if (!t) {
		mw_corr_free(c);
		return 1;
	}
	now = mono_ns();
	st.start_ns = now;
	last_sec = now;
	next_alert = now + 700000000ull;
	next_grow = now + 2500000000ull;

	/* Quiet maps: seen once, sampled every second. */
	for (int i = 1; i < nmaps; i++) {
		struct mw_record r = { .type = MW_REC_WRITE, .op = MW_OP_ASSIGN, .tid = W2,
				       .ts = now, .map = MAP0 + 0x1000ull * i };
		feed(c, t, &r);
	}

	while (!stop) {
		struct mw_record r;

		now = mono_ns();
		if (crash_after > 0 && now - st.start_ns > crash_after * 1e9) {
			volatile int *p = NULL;
			*p = 1;
		}
		if (stderr_after > 0 && !said && now - st.start_ns > stderr_after * 1e9) {
			fprintf(stderr, "tui_driver: a line written to stderr while the view is open\n");
			said = 1;
		}
		if (!st.target_exited) {
			/* A few writes per tick, each its own record (as if tracing). */
			for (int k = 0; k < 3; k++) {
				uint64_t b = rnd() % (1ull << M.B);

				memset(&r, 0, sizeof(r));
				r.type = MW_REC_WRITE;
				r.op = rnd() % 4 ? MW_OP_ASSIGN : MW_OP_DELETE;
				r.tid = rnd() % 2 ? W1 : W2;
				r.ts = now;
				if (r.op == MW_OP_ASSIGN)
					M.count++;
				else if (M.count)
					M.count--;
				M.writes++;
				r.iter_bptr = M.buckets + b * BSIZE;
				feed(c, t, &r);
			}
			/* Iterations: open for ~300 ms, walking buckets. */
			if (!M.hiter && rnd() % 20 == 0) {
				M.hiter = 0x7ffd5a3c1000ull;
				M.iter_start = now;
				M.iter_next = 0;
				memset(&r, 0, sizeof(r));
				r.type = MW_REC_ITER_START;
				r.tid = IT;
				r.ts = now;
				r.hiter = M.hiter;
				M.iterations++;
				feed(c, t, &r);
			} else if (M.hiter && now - M.iter_start > 300000000ull) {
				memset(&r, 0, sizeof(r));
				r.type = MW_REC_ITER_END;
				r.tid = IT;
				r.ts = now;
				r.hiter = M.hiter;
				feed(c, t, &r);
				M.hiter = 0;
			}
			if (M.hiter)
				M.iter_next = (now - M.iter_start) * (1ull << M.B) / 300000000ull + 1;
			/* A write inside the open iteration, by another thread. */
			if (!quiet && M.hiter && now >= next_alert) {
				uint64_t ib = M.iter_next ? M.iter_next - 1 : 0;

				memset(&r, 0, sizeof(r));
				r.type = MW_REC_WRITE;
				r.op = MW_OP_ASSIGN;
				r.kind = MW_KIND_ITER_WRITE;
				r.tid = rnd() % 3 ? W1 : W2;
				r.other_tid = IT;
				r.ts = now;
				r.other_ts = M.iter_start;
				r.hiter = M.hiter;
				r.iter_bptr = M.buckets + ib * BSIZE;
				r.iter_buckets = M.buckets;
				r.iter_bucket = M.iter_next;
				r.iter_B = M.B;
				r.bucket_hit = rnd() % 2;
				feed(c, t, &r);
				next_alert = now + 900000000ull + rnd() % 400000000ull;
			}
			/* A doubling grow now and then, evacuated over ~2 s. */
			if (!M.oldbuckets && now >= next_grow && M.B < 12) {
				memset(&r, 0, sizeof(r));
				r.type = MW_REC_GROW;
				r.tid = W1;
				r.ts = now;
				feed(c, t, &r);
				M.oldbuckets = M.buckets;
				M.buckets += 0x100000ull;
				M.B++;
				M.nevacuate = 0;
				M.grows++;
			} else if (M.oldbuckets && rnd() % 8 == 0) {
				uint64_t oldn = 1ull << (M.B - 1);

				memset(&r, 0, sizeof(r));
				r.type = MW_REC_EVACUATE;
				r.tid = W1;
				r.ts = now;
				r.bucket = M.nevacuate;
				r.bucket_addr = M.oldbuckets + M.nevacuate * BSIZE;
				M.evacs++;
				feed(c, t, &r);
				if (++M.nevacuate >= oldn) {
					M.oldbuckets = 0;
					M.nevacuate = 0;
					next_grow = now + 4000000000ull;
				}
			}
		}
		/* Once a second: counters and a map sample, like the loader. */
		if (now - last_sec >= 1000000000ull) {
			struct mw_map_sample s = { .map = MAP0, .ts = now, .writes = M.writes,
				.iterations = M.iterations, .grows = M.grows, .evacuations = M.evacs,
				.have_hmap = 1, .count = M.count, .buckets = M.buckets,
				.oldbuckets = M.oldbuckets, .nevacuate = M.nevacuate, .B = M.B,
				.flags = M.flags };
			struct mw_summary sum;

			mw_corr_map_sample(c, &s);
			mw_corr_summary(c, &sum);
			st.events_per_s = (double)(sum.events - ev_mark) * 1e9 / (double)(now - last_sec);
			ev_mark = sum.events;
			last_sec = now;
			memset(&r, 0, sizeof(r));
			r.type = MW_REC_STATS;
			r.ts = now;
			r.count = sum.events * 3;
			feed(c, t, &r);
		}
		{
			struct mw_summary sum;

			mw_corr_summary(c, &sum);
			st.events = sum.events;
			st.hits = sum.events * 3;
		}
		if (exit_after > 0 && !st.target_exited && now - st.start_ns > exit_after * 1e9) {
			st.target_exited = 1;
			snprintf(st.exit_how, sizeof(st.exit_how), "exited with status 2");
		}
		if (mw_tui_tick(t, c, &st, now) == MW_TUI_QUIT)
			break;
		usleep(10000);
	}
	mw_tui_close(t);
	mw_tui_close(t);	/* idempotent */
	{
		struct mw_summary sum;

		mw_corr_summary(c, &sum);
		printf("tui_driver: %llu events, %llu alerts\n", (unsigned long long)sum.events,
		       (unsigned long long)sum.alerts);
	}
	mw_corr_free(c);
	return 0;
}
