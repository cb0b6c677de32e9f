/* session.h — the set of watched processes and the live loop over them.
 *
 * A session holds the watched processes (each with its BPF object,
 * correlator, stacks and findings) and the sinks. Processes can be added
 * and ended while it runs (a process tree's exec, a host-wide watch);
 * every record, alert, stats sample, note, finding and summary goes to
 * every sink with the process it belongs to. The first process added is
 * the primary: the live view shows it, the summary names it.
 */
#ifndef MW_SESSION_H
#define MW_SESSION_H

#include <limits.h>
#include <stdint.h>
#include "cli.h"
#include "correlator.h"
#include "layout.h"
#include "loader.h"
#include "probe_elf.h"
#include "sink.h"
#include "stacks.h"
#include "stacktab.h"
#include "tui.h"

#define MW_SINKS_MAX 8
#define MW_PROCS_MAX 33		/* the primary and 32 more (-p, -- CMD) */
#define MW_SESSION_MAX MW_MAX_PROCS	/* --all: processes watched at once (BPF's pids map) */

struct mw_session;

struct mw_watched {
	struct mw_session *s;
	int pid;
	int primary;			/* the first process of the session */
	char comm[64];
	const struct mw_runtime *rt;
	struct mw_target *tgt;		/* where the probes are */
	struct mw_loader_opts lo;	/* how they were attached */
	struct mw_loader *ldr;
	struct mw_sampler *smp;		/* --sampled: the windows of ldr (the first process only) */
	int shared_ldr;			/* --all: ldr is its binary's, shared (not freed with p) */
	int nspid;			/* --all: its pid in its own namespace */
	char binary[64];		/* --all: its binary's name (lines are tagged with it) */
	char cgroup[1024];		/* --all: its cgroup path */
	struct mw_corr *corr;
	struct mw_findings *findings;
	struct mw_live_stats st;	/* what the live view shows */
	struct mw_counters ctr;		/* BPF's counters, as of the last stats */
	uint64_t records;		/* consumed */
	uint64_t last_records, last_stats_ns, last_maps_ns;
	/* stacks: resolved at alert time, kept by (id, caller) */
	struct mw_stacktab *stab;
	struct mw_symbolizer *sym;	/* live: /proc/PID/maps */
	struct mw_symbolizer *sym_dead;	/* after the target is gone: its last maps */
	char *maps_text;		/* the last /proc/PID/maps that maps the probed module */
	char module[PATH_MAX];		/* the probed module, canonical, as /proc/PID/maps names it */
	/* exec: the target replaced its image */
	int execs;			/* exec records seen */
	int execs_handled;		/* -p: exec records whose new image was resolved (and re-attached) */
	int exec_stop;			/* the new image runs no supported runtime: stop */
	struct mw_alert_ev ev;		/* the alert being delivered, its JSON buffer */
	char json[65536];		/* alert lines with stacks (the trace reader's line limit) */
};

struct mw_session *mw_session_new(const struct mw_opts *o);
const struct mw_opts *mw_session_opts(const struct mw_session *s);
/* Closes the sinks still open and frees everything. */
void mw_session_free(struct mw_session *s);
int mw_session_add_sink(struct mw_session *s, struct mw_sink *k);

/* Watch pid, which runs t (copied): probes attached, a note said for every
 * process but the first. NULL with err (the first) or a note (the others). */
struct mw_watched *mw_session_add(struct mw_session *s, int pid, const struct mw_target *t,
			       const char *comm, char *err, size_t errlen);
/* --all: watch pid through ldr, its binary's loader shared with the
 * binary's other processes (the caller adds pid to its BPF filter, consumes
 * it and feeds mw_session_record; ldr is not freed with p). module: the
 * probed file as pid's /proc/PID/maps names it. Its lines are tagged with
 * the host pid, ns pid, binary and cgroup. NULL on out of memory. */
struct mw_watched *mw_session_add_shared(struct mw_session *s, int pid, const struct mw_target *t,
				      const char *comm, const char *module, struct mw_loader *ldr,
				      int nspid, const char *binary, const char *cgroup);
/* A record of p (an mw_record_fn: ctx is p). */
void mw_session_record(void *p, const struct mw_record *r);
/* --all, once a second: p's maps re-read (stacks), its stats. */
void mw_session_proc_tick(struct mw_watched *p, uint64_t now);
/* --all: forget p (its summary taken before): freed, out of the session. */
void mw_session_remove(struct mw_session *s, struct mw_watched *p);
/* The summary of p's correlator. */
void mw_session_proc_summary(struct mw_watched *p, struct mw_summary *sum);
/* t += x (counts summed, first/last times widened). */
void mw_summary_add(struct mw_summary *t, const struct mw_summary *x);
/* The process watched as pid, or NULL. */
struct mw_watched *mw_session_find(struct mw_session *s, int pid);
/* How p's lines are tagged when several processes are watched (multi): its
 * pid, comm, and under --all its ns pid, binary and cgroup, in *buf; NULL
 * (no tag) when only one is. */
const struct mw_tag *mw_watched_tag(const struct mw_watched *p, int multi, struct mw_tag *buf);
struct mw_watched *mw_session_primary(struct mw_session *s);
/* p ended (how: "exited with status 0", or NULL to keep what is known).
 * Any but the primary: its probes off, its records drained, its final
 * stats, its BPF object freed; its findings and summary stay for the
 * reports. The primary's probes stay until mw_session_drain. */
void mw_session_end(struct mw_session *s, struct mw_watched *p, const char *how);
/* pid exec'd (held at its exec stop, or seen through BPF): resolve the new
 * image and attach to it, or stop watching it. */
void mw_session_exec(struct mw_session *s, struct mw_watched *p);
/* Keep p's maps as they are now (its exit stop: symbols after it is gone). */
void mw_session_keep_maps(struct mw_watched *p);
/* Say one thing to every output. */
void mw_session_note(struct mw_session *s, struct mw_watched *p, const char *what, const char *text);

/* One round of the live loop: consume, stats once a second, execs, maps.
 * > 0 records consumed, 0 none, < 0 a ring-buffer error (-errno). */
long mw_session_poll(struct mw_session *s, uint64_t now);
/* MW_SINK_QUIT when the live view asked to quit. */
int mw_session_tick(struct mw_session *s, uint64_t now);
/* Probes off, everything drained, the final stats, the screens closed. */
void mw_session_drain(struct mw_session *s);
/* Findings, each process's summary, the run's summary: to every sink. The
 * run's summary goes in *sum. */
void mw_session_report(struct mw_session *s, const struct mw_live_end *live, struct mw_summary *sum);
/* Close every sink: < 0 when one's output is incomplete. */
int mw_session_close(struct mw_session *s);

/* The symbolized stack (id, caller) of p, resolved the first time it is asked for. */
const struct mw_rstack *mw_proc_stack(struct mw_watched *p, int32_t id, uint64_t caller);

uint64_t mw_mono_ns(void);

#endif
