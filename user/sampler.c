/* sampler.c — the sampled mode (sampler.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sampler.h"
#include "correlator.h"
#include "layout.h"
#include "placement.h"

#define TICK_NS        5000000ull	/* bookkeeping period */
#define WINDOW_MIN_NS  20000000ull	/* a window is worth opening for at least this long */
#define CREDIT_CAP_NS  20000000.0	/* credit kept at most (bounds a burst after a quiet spell) */
#define CREDIT_INIT_NS 5000000.0	/* the first window's allowance: it measures the hit rate */
#define BPF_WORK_NS    200.0		/* added to the calibrated trap: the program's own work */
#define HIT_NS_DEFAULT 6000.0		/* when calibration fails: the slowest emulated trap measured here */
/* The least a hit is charged. The calibration times a trap in a tight loop of
 * mapwatch's own thread (0.55-0.61 us here); in a service the same trap cost
 * more: the fixed-load benchmark measured 0.9-5.6 us of the target's CPU per
 * hit (bench/load.sh: CPU per op under exact mode minus unprobed, over probe
 * hits per op). Charging the calibrated cost alone kept windows open all the
 * time at that load and overran a 2% budget. */
#define HIT_NS_FLOOR   4000.0
#define CALIB_CALLS    20000
#define ITERS_AFTER_NS 100000000ull	/* no window possible for this long: window the iterations too */

struct mw_sampler {
	struct mw_loader *l;
	struct mw_sampler_opts o;
	unsigned mask;
	pthread_t thr;
	pthread_t calib_thr;		/* the calibration, beside the bookkeeping */
	int calib_started;
	pthread_mutex_t mu;
	int stop;
	/* books (under mu) */
	struct mw_sampler_stats st;
	uint64_t start_ns, hits0, hits_prev;
	/* whose CPU time earns the credit: each pid's time as last read */
	struct { int pid; uint64_t last; } who[MW_SAMPLER_PIDS];
	int nwho;
	uint64_t cpu_total;		/* CPU time of the set since each joined it */
	double credit;
	int armed;
	uint64_t win_start, win_hits, idle_start;
	double rate;			/* hits per ns seen in the last window (0: none yet) */
	int iters_windowed;		/* the iteration probes are windowed too */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

unsigned mw_sampler_windowed(int go)
{
	unsigned m = 1u << MW_P_ASSIGN | 1u << MW_P_DELETE | 1u << MW_P_CLEAR | 1u << MW_P_READ |
		     1u << MW_P_CLONE;

	/* libgomap's mapiterdone stays: it is once per iteration, like the
	 * start, and keeps libgomap's iterations exact. Go's end block is
	 * found by the liveness checks when it is missed. */
	if (go)
		m |= 1u << MW_P_ITERDONE;
	return m;
}

/* The target's CPU time (user + system), in ns; 0 when it cannot be read. */
static uint64_t target_cpu_ns(int pid)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, stt = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	/* after ") ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
		return 0;
	long hz = sysconf(_SC_CLK_TCK);
	return (ut + stt) * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
}

/* Where the calibration probe goes: a function of this program whose first
 * instruction the kernel emulates, as on the target's sites. */
static volatile unsigned calib_sink;	/* wraps: unsigned */
__attribute__((noinline, used)) void mw_sampler_calib_fn(int i)
{
	calib_sink += (unsigned)i;
}

static int self_offset(const void *fn, char *path, size_t len, uint64_t *off)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096];
	uintptr_t a = (uintptr_t)fn;
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, fo;
		char perm[8];
		int pos = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &lo, &hi, perm, &fo, &pos) < 4 || !pos)
			continue;
		if (a < lo || a >= hi || perm[2] != 'x')
			continue;
		snprintf(path, len, "%s", line + pos);
		path[strcspn(path, "\n")] = 0;
		*off = a - lo + fo;
		found = path[0] == '/' ? 0 : -1;
		break;
	}
	fclose(f);
	return found;
}

static void calibrate(struct mw_sampler *s)
{
	char path[4096];
	uint64_t off;
	struct mw_placement pl;
	struct mw_calib c;
	double best = 0;

	mw_place((const uint8_t *)(uintptr_t)mw_sampler_calib_fn, 16, &pl);
	if (pl.kind != MW_PLACE_EMULATED || pl.skip ||
	    self_offset((const void *)mw_sampler_calib_fn, path, sizeof(path), &off))
		return;
	/* Once: a detach waits for a grace period (~0.2-0.5 s here). */
	if (mw_loader_calibrate(s->l, path, off, mw_sampler_calib_fn, CALIB_CALLS, &c))
		return;
	best = c.hit_ns;
	pthread_mutex_lock(&s->mu);
	s->st.attach_ns = c.attach_ns;
	s->st.detach_ns = c.detach_ns;
	if (best > 0) {
		s->st.calib_hit_ns = best;
		s->st.hit_ns = best + BPF_WORK_NS > HIT_NS_FLOOR ? best + BPF_WORK_NS : HIT_NS_FLOOR;
	}
	pthread_mutex_unlock(&s->mu);
}

/* Arms (on) or disarms the probes of mask. Called without s->mu: attaching
 * takes 50-90 us a probe and detaching waits for a grace period (0.1-0.65 s
 * a probe here, seconds under load), and the loop's mw_sampler_add_pid and
 * mw_sampler_del_pid must never wait for that (a process that starts and
 * ends meanwhile would not be watched). Only the sampler's thread arms, and
 * mw_sampler_stop once that thread is gone. */
static void set_armed(struct mw_sampler *s, unsigned mask, int on, int window)
{
	uint64_t t0 = mono_ns();

	mw_loader_arm(s->l, mask, on);	/* a probe that cannot be attached again stays out */
	uint64_t t1 = mono_ns();

	pthread_mutex_lock(&s->mu);
	s->st.arm_ns += t1 - t0;
	if (window && on) {
		s->armed = 1;
		s->win_start = t1;
		s->win_hits = 0;
		s->st.windows++;
	} else if (window) {
		s->armed = 0;
		s->idle_start = t1;
		s->st.armed_ns += t0 - s->win_start;
		if (t0 > s->win_start)
			s->rate = (double)s->win_hits / (double)(t0 - s->win_start);
	}
	pthread_mutex_unlock(&s->mu);
}

static void tick(struct mw_sampler *s)
{
	uint64_t now = mono_ns();
	struct mw_counters c;
	unsigned iters = 0, mask;
	int turn = -1;

	mw_loader_counters(s->l, &c);
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nwho; i++) {
		uint64_t cpu = target_cpu_ns(s->who[i].pid);
		if (cpu > s->who[i].last) {
			s->credit += s->o.budget * (double)(cpu - s->who[i].last);
			s->cpu_total += cpu - s->who[i].last;
			s->who[i].last = cpu;
		}
	}
	uint64_t dh = c.hits >= s->hits_prev ? c.hits - s->hits_prev : 0;
	s->hits_prev = c.hits;
	double cost = (double)dh * s->st.hit_ns;
	s->credit -= cost;
	s->st.spent_ns += (uint64_t)cost;
	s->st.hits += dh;
	if (s->armed)
		s->win_hits += dh;
	double need = s->rate * s->st.hit_ns * (double)WINDOW_MIN_NS;
	double cap = CREDIT_CAP_NS > 2 * need ? CREDIT_CAP_NS : 2 * need;
	if (s->credit > cap)
		s->credit = cap;
	if (!s->armed && !s->iters_windowed && s->credit < 0 && now - s->idle_start > ITERS_AFTER_NS) {
		/* The probes that stay on spend more than the budget by
		 * themselves (iterations as frequent as writes): the iteration
		 * probes go into the windows too. An iteration that starts
		 * outside a window is then not seen at all. */
		iters = 1u << MW_P_ITERINIT | 1u << MW_P_ITERDONE;
		s->mask |= iters;
		s->iters_windowed = 1;
		s->st.iters_windowed = 1;
	}
	if (s->armed && s->credit <= 0)
		turn = 0;
	else if (!s->armed && s->credit > 0 && s->credit >= need)
		turn = 1;
	mask = s->mask;
	s->st.elapsed_ns = now - s->start_ns;
	s->st.target_cpu_ns = s->cpu_total;
	pthread_mutex_unlock(&s->mu);
	if (iters)
		set_armed(s, iters, 0, 0);
	if (turn >= 0)
		set_armed(s, mask, turn, 1);
}

/* In a thread of its own: it takes 0.1-0.5 s (its probe's detach waits for a
 * grace period), after the probes count as armed, and the bookkeeping goes
 * on meanwhile, charging a hit HIT_NS_DEFAULT until it is done. */
static void *calib_run(void *arg)
{
	struct mw_sampler *s = arg;

	calibrate(s);
	if (s->o.verbose)
		fprintf(stderr, "mapwatch: sampled mode, budget %.3g%%: one probe hit is charged %.0f ns "
			"(calibrated trap %.0f ns + %.0f ns BPF work, at least %.0f ns), attach %.0f us, "
			"detach %.0f us per probe\n", s->o.budget * 100, s->st.hit_ns, s->st.calib_hit_ns,
			BPF_WORK_NS, HIT_NS_FLOOR, s->st.attach_ns / 1e3, s->st.detach_ns / 1e3);
	return NULL;
}

static void *run(void *arg)
{
	struct mw_sampler *s = arg;
	struct timespec ts = { 0, (long)TICK_NS };

	for (;;) {
		pthread_mutex_lock(&s->mu);
		int stop = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		nanosleep(&ts, NULL);
		tick(s);
	}
	return NULL;
}

struct mw_sampler *mw_sampler_start(struct mw_loader *l, const struct mw_sampler_opts *o)
{
	struct mw_sampler *s = calloc(1, sizeof(*s));
	struct mw_counters c;

	if (!s)
		return NULL;
	s->l = l;
	s->o = *o;
	s->mask = mw_sampler_windowed(o->go);
	s->st.budget = o->budget;
	pthread_mutex_init(&s->mu, NULL);
	s->st.hit_ns = HIT_NS_DEFAULT;
	/* The loader attached everything: the first window is open from the
	 * start, on an allowance of its own, and measures the hit rate. */
	s->start_ns = s->idle_start = s->win_start = mono_ns();
	s->armed = 1;
	s->st.windows = 1;
	s->credit = CREDIT_INIT_NS;
	if (o->pid > 0)
		s->who[s->nwho++].pid = o->pid, s->who[0].last = target_cpu_ns(o->pid);
	mw_loader_counters(l, &c);
	s->hits0 = s->hits_prev = c.hits;
	if (pthread_create(&s->thr, NULL, run, s)) {
		free(s);
		return NULL;
	}
	s->calib_started = !pthread_create(&s->calib_thr, NULL, calib_run, s);
	return s;
}

int mw_sampler_add_pid(struct mw_sampler *s, int pid)
{
	uint64_t cpu = target_cpu_ns(pid);
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	if (s->nwho < MW_SAMPLER_PIDS) {
		s->who[s->nwho].pid = pid;
		s->who[s->nwho++].last = cpu;	/* its time from now on */
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void mw_sampler_del_pid(struct mw_sampler *s, int pid)
{
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nwho; i++)
		if (s->who[i].pid == pid) {
			s->who[i] = s->who[--s->nwho];
			break;
		}
	pthread_mutex_unlock(&s->mu);
}

void mw_sampler_stats(struct mw_sampler *s, struct mw_sampler_stats *st)
{
	uint64_t now = mono_ns();

	pthread_mutex_lock(&s->mu);
	*st = s->st;
	st->elapsed_ns = now - s->start_ns;
	if (s->armed)
		st->armed_ns += now - s->win_start;
	pthread_mutex_unlock(&s->mu);
}

void mw_sampler_stop(struct mw_sampler *s, struct mw_sampler_stats *st)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thr, NULL);
	if (s->calib_started)
		pthread_join(s->calib_thr, NULL);
	tick(s);
	if (st)
		mw_sampler_stats(s, st);
	if (s->o.verbose) {
		char d[256];
		struct mw_sampler_stats x;

		mw_sampler_stats(s, &x);
		mw_sampler_describe(&x, d, sizeof(d));
		fprintf(stderr, "mapwatch: %s; target CPU %.3f s, probe hits %llu (%.3f s at %.0f ns), "
			"attach/detach %.3f s of mapwatch's own\n", d, x.target_cpu_ns / 1e9,
			(unsigned long long)x.hits, x.spent_ns / 1e9, x.hit_ns, x.arm_ns / 1e9);
	}
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void mw_sampler_finish(struct mw_sampler *s, struct mw_run_mode *m)
{
	struct mw_sampler_stats st;

	memset(m, 0, sizeof(*m));
	if (!s)
		return;
	mw_sampler_stop(s, &st);
	m->sampled = 1;
	m->budget = st.budget;
	m->windows = st.windows;
	m->armed_fraction = st.elapsed_ns ? (double)st.armed_ns / (double)st.elapsed_ns : 0;
	m->iters_windowed = st.iters_windowed;
	m->target_cpu_ns = st.target_cpu_ns;
	m->probe_cost_ns = st.spent_ns;
	m->hit_ns = st.hit_ns;
}

int mw_sampler_describe(const struct mw_sampler_stats *st, char *buf, size_t len)
{
	double frac = st->elapsed_ns ? (double)st->armed_ns / (double)st->elapsed_ns : 0;

	return snprintf(buf, len, "sampled, budget %.3g%%, writes watched %.1f%% of %.1f s (%llu windows%s)",
			st->budget * 100, frac * 100, st->elapsed_ns / 1e9,
			(unsigned long long)st->windows, st->iters_windowed ? ", iterations too" : "");
}
