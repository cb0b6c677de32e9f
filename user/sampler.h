/* sampler.h — the sampled mode: probe cost bounded by a CPU budget.
 *
 * The trap is the cost of a probe (an empty uprobe costs about what
 * mapwatch's costs), so the only way to bound it is to remove breakpoints.
 * Iteration starts, the runtime's fatal check, grows, evacuations and
 * mapfree stay attached (rare, and they keep the iteration state exact);
 * writes (mapassign*, mapdelete*, mapclear), lookups (--reads, maps.Clone)
 * and Go's end-of-iteration site are attached only in windows. A thread
 * keeps the books every few milliseconds: the target's CPU time
 * (/proc/PID/stat utime + stime) earns budget × that much credit, every
 * probe hit (BPF's counter) spends the calibrated per-hit cost; a window
 * opens when the credit covers a minimum window at the hit rate last seen
 * armed, and closes when the credit is spent. The model and its numbers are
 * in the README ("Sampled mode").
 */
#ifndef MW_SAMPLER_H
#define MW_SAMPLER_H

#include <stdint.h>
#include "loader.h"

struct mw_sampler;

struct mw_sampler_opts {
	double budget;		/* fraction of the target's CPU time (0.02 = 2%) */
	int pid;		/* the target: whose CPU time earns the credit (0: none
				 * yet, see mw_sampler_add_pid) */
	int go;			/* a Go runtime: its end-of-iteration site is windowed too */
	int verbose;		/* calibration and windows on stderr */
};

struct mw_sampler_stats {
	double budget;		/* as given */
	double hit_ns;		/* per-hit cost used */
	double calib_hit_ns;	/* measured at start (0: calibration failed, a constant used) */
	double attach_ns, detach_ns;	/* one probe, measured at start */
	uint64_t elapsed_ns;	/* since start */
	uint64_t armed_ns;	/* windowed probes attached */
	uint64_t windows;	/* windows opened */
	uint64_t target_cpu_ns;	/* the target's CPU time since start */
	uint64_t spent_ns;	/* hits × hit_ns since start */
	uint64_t arm_ns;	/* mapwatch's own time attaching and detaching */
	uint64_t hits;		/* probe hits since start */
	int iters_windowed;	/* the iteration probes went into the windows too */
};

/* The probe points attached in windows only. */
unsigned mw_sampler_windowed(int go);

/* Calibrate, detach the windowed probes and start the bookkeeping thread.
 * NULL (errno set) on failure; the loader is then left as it was. */
struct mw_sampler *mw_sampler_start(struct mw_loader *l, const struct mw_sampler_opts *o);
/* Several processes share the loader (--all: one per binary): the CPU time
 * of every pid in the set earns credit, each from when it joined (budget ×
 * their summed CPU time: the budget per process, summed). -1 when full. */
#define MW_SAMPLER_PIDS 256
int mw_sampler_add_pid(struct mw_sampler *s, int pid);
void mw_sampler_del_pid(struct mw_sampler *s, int pid);
/* Stop the thread and re-attach nothing; *st (if not NULL) gets the totals. */
void mw_sampler_stop(struct mw_sampler *s, struct mw_sampler_stats *st);
/* Stop s (NULL: the run was exact) and say how the run watched. */
struct mw_run_mode;
void mw_sampler_finish(struct mw_sampler *s, struct mw_run_mode *m);
/* The totals so far (thread-safe). */
void mw_sampler_stats(struct mw_sampler *s, struct mw_sampler_stats *st);
/* "sampled, budget 2%, armed 13.2% of 10.0 s (41 windows)" */
int mw_sampler_describe(const struct mw_sampler_stats *st, char *buf, size_t len);

#endif
