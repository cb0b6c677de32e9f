/* live.h — one watched process as main.c keeps it (correlator, findings,
 * stacks, its alert lines named by process), lent to the host-wide mode
 * (agent.c), which feeds it from a loader shared with the other processes
 * of its binary. */
#ifndef MW_LIVE_H
#define MW_LIVE_H

#include <stdint.h>
#include "correlator.h"
#include "loader.h"
#include "probe_elf.h"
#include "stacktab.h"

struct live;

/* A process fed from ldr (not freed with it). module: the probed file as the
 * process's own /proc/PID/maps names it (stacks). tag: what plain lines
 * append ("pid 41 ns 1 svc"); jtag: what JSON objects get after their type
 * ("\"pid\":41,\"nspid\":1,…", no trailing comma). NULL on OOM. */
struct live *mw_live_open(int pid, const struct mw_target *t, const char *comm, const char *module,
			  struct mw_loader *ldr, const char *tag, const char *jtag);
/* A record of this process (an mw_record_fn). */
void mw_live_record(void *lv, const struct mw_record *r);
/* Once a second: BPF's counters as a STATS record, its maps sampled. */
void mw_live_tick(struct live *lv, uint64_t now);
void mw_live_summary(const struct live *lv, struct mw_summary *s);
const struct mw_findings *mw_live_findings(const struct live *lv);
void mw_live_close(struct live *lv);
/* t += x (counts summed, first/last times widened). */
void mw_summary_add(struct mw_summary *t, const struct mw_summary *x);

#endif
