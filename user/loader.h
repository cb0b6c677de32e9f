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

typedef void (*mw_record_fn)(void *ctx, const struct mw_record *r);

struct mw_loader_opts {
	int pid;			/* tgid to trace (uprobe pid filter and BPF filter) */
	int shared;			/* more processes may be added (mw_loader_add_pid): attach
					 * to every process of the binary, filter in BPF only */
	int record_all;			/* every probe hit emits a record (trace recording) */
	int verbose;			/* libbpf messages and probe placement on stderr */
	int no_stacks;			/* do not capture user stacks */
	int no_iter_records;		/* iteration start/end only as overlaps need (headless) */
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
void mw_loader_del_pid(struct mw_loader *l, int pid);
/* Every exec on the host, as MW_REC_EXEC records (count 0) through fn: no
 * uprobes, only the exec raw tracepoint (the host-wide mode's discovery). */
struct mw_loader *mw_loader_exec_watch(mw_record_fn fn, void *ctx, char *err, size_t errlen);
int mw_loader_nprobes(const struct mw_loader *l);
/* The raw user stack with this id (innermost first, as BPF stored it) into
 * ips[MW_MAX_STACK]. Returns the number of frames, 0 if the id is unknown. */
int mw_loader_stack(struct mw_loader *l, int32_t id, uint64_t *ips);
/* Remove the probes (no new records), keeping the ring buffer and the
 * counters readable, so the consumer can drain exactly what was produced. */
void mw_loader_detach(struct mw_loader *l);
void mw_loader_free(struct mw_loader *l);

#endif
