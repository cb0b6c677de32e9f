/* loader.h — the BPF side as userspace drives it: open → rodata (pid
 * filter, layout, record_all) → load → attach the uprobes at the computed
 * file offsets; then the ring-buffer consumer, the counters, and a walk
 * over BPF's per-map state. The only user/ file that includes the skeleton.
 */
#ifndef MW_LOADER_H
#define MW_LOADER_H

#include <stdint.h>
#include "mapwatch.h"
#include "layout.h"
#include "probe_elf.h"

struct mw_loader;

/* At most one record per distinct race per this many ns (bpf/mapwatch.h,
 * struct mw_agg); the first occurrence is always sent at once. */
#define MW_AGG_NS 100000000ull

typedef void (*mw_record_fn)(void *ctx, const struct mw_record *r);

struct mw_loader_opts {
	int pid;			/* tgid to trace (uprobe pid filter and BPF filter) */
	int shared;			/* more processes may be added (mw_loader_add_pid): attach
					 * to every process of the binary, filter in BPF only */
	int record_all;			/* every probe hit emits a record (trace recording) */
	int verbose;			/* libbpf messages and probe placement on stderr */
	int no_stacks;			/* do not capture user stacks */
	int no_iter_records;		/* iteration start/end only as overlaps need (headless) */
	int no_aggregate;		/* a record per alert occurrence (as with record_all) */
	unsigned rb_bytes;		/* ring-buffer size (a power of 2 pages); 0: the default */
	const struct mw_target *target;	/* where to attach, and the runtime's row (NULL: see
					 * mw_loader_exec_watch) */
	mw_record_fn on_record;
	void *ctx;
};

/* Open, load and attach. On failure returns NULL with one line in err. */
struct mw_loader *mw_loader_start(const struct mw_loader_opts *o, char *err, size_t errlen);
/* Consume what the ring buffer holds, for at most budget_ns. Returns the
 * number of records delivered, or -errno. */
long mw_loader_consume(struct mw_loader *l, uint64_t budget_ns);
/* Totals of BPF's counters (.bss and per-CPU). */
void mw_loader_counters(struct mw_loader *l, struct mw_counters *c);
/* Walk BPF's per-map state. */
typedef void (*mw_mapstate_fn)(void *ctx, int pid, uint64_t map, const struct mw_mapstate *st);
int mw_loader_maps(struct mw_loader *l, mw_mapstate_fn fn, void *ctx);
/* Watch (or stop watching) one more process of the loader's binary.
 * del_pid also frees the process's per-map and per-goroutine state. */
int mw_loader_add_pid(struct mw_loader *l, int pid);
/* One process of a shared loader ended: the occurrences of its races the
 * kernel still counts (not yet carried by a record) go to on_record now, and
 * their entries go (--all: before its findings are folded). */
void mw_loader_flush_pid(struct mw_loader *l, int pid);
void mw_loader_del_pid(struct mw_loader *l, int pid);
/* Every exec on the host, as MW_REC_EXEC records (count 0) through fn: no
 * uprobes, only the exec raw tracepoint (the host-wide mode's discovery). */
struct mw_loader *mw_loader_exec_watch(mw_record_fn fn, void *ctx, char *err, size_t errlen);
int mw_loader_nprobes(const struct mw_loader *l);
/* The raw user stack with this id (innermost first, as BPF stored it) into
 * ips[MW_MAX_STACK]. Returns the number of frames, 0 if the id is unknown. */
int mw_loader_stack(struct mw_loader *l, int32_t id, uint64_t *ips);
/* Remove the probes (no new records), keeping the ring buffer and the
 * counters readable, so the consumer can drain exactly what was produced.
 * The occurrences of repeated races BPF counted and no record carried yet
 * (bpf/mapwatch.h, struct mw_agg) are delivered here, through on_record, as
 * one record per race carrying their count (n), marked repeat. */
void mw_loader_detach(struct mw_loader *l);

/* Sampled mode (user/sampler.c): mw_loader_arm(l, mask, 0) detaches the
 * links of the probe points in `mask` (bit per enum mw_probe), 1 attaches
 * them again (bpf_link__destroy / bpf_program__attach_uprobe_opts: only a
 * destroyed link removes the breakpoint; a disabled perf event keeps it).
 * All of them stop at once before their links go, and start at once after
 * every link is in (BPF flags writes_off, iters_off); each change starts a
 * new window generation, so that a last writer or (when iteration probes
 * are in the mask) an open iteration recorded in another window is never
 * taken as current. Returns the number of links changed, or -errno (then
 * what could be attached is). */
int mw_loader_arm(struct mw_loader *l, unsigned mask, int on);

/* The cost of one uprobe hit on this machine now: a BPF program of this
 * object that returns at once (the calling process is not watched) is
 * attached at file offset `off` of `path` (this process's own code: the
 * first instruction of `fn`, which must be push %rbp so the kernel emulates
 * it as on the target's sites), and fn(i) is called n times bare and n
 * times probed. Also one attach and one detach, timed. */
struct mw_calib {
	double hit_ns;		/* per hit: probed - bare, per call (CPU time of this thread) */
	double attach_ns;	/* one bpf_program__attach_uprobe_opts (wall) */
	double detach_ns;	/* one bpf_link__destroy (wall) */
};
int mw_loader_calibrate(struct mw_loader *l, const char *path, uint64_t off, void (*fn)(int), int n,
			struct mw_calib *out);
void mw_loader_free(struct mw_loader *l);

#endif
