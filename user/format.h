/* format.h — the one text and JSON form of what mapwatch reports: alerts
 * (with their stacks), the runtime's own race checks, findings and summaries.
 *
 * The live outputs (sink_text.c, sink_json.c, sink_trace.c) and
 * `mapwatch analyze` print through these functions, so a recording replayed
 * offline prints what the live run printed, by construction. Text goes to a
 * FILE; JSON objects are built whole into a buffer (snprintf semantics: the
 * length they would have), so the trace and stdout share one string.
 *
 * Pure: no libbpf, no clock.
 */
#ifndef MW_FORMAT_H
#define MW_FORMAT_H

#include <stdint.h>
#include <stdio.h>
#include "correlator.h"
#include "metrics.h"
#include "stacktab.h"

#define MW_PLAIN_FRAMES 5	/* frames of each stack the text form shows */

/* Who a line belongs to when several processes are watched: text lines end
 * with " [pid N comm]", JSON objects get "pid":N after their type. A NULL or
 * pid-0 tag adds nothing. Host-wide (--all, binary set): " [pid N binary]",
 * " [pid N ns M binary cgroup]" for a process in another pid namespace, and
 * "pid":N,"nspid":M,"binary":…,"cgroup":… in JSON. */
struct mw_tag {
	int pid;
	const char *comm;
	int nspid;			/* its pid in its own namespace */
	const char *binary;		/* --all: the binary's name (NULL otherwise) */
	const char *cgroup;		/* --all: its cgroup path */
};

/* Live-only numbers of the final summary (the probe's counters, the
 * target's end): NULL offline. */
struct mw_live_end {
	int pid;			/* the (first) watched process */
	int root_pid;			/* the process whose end is told: -- CMD's root, or pid */
	uint64_t records;		/* records consumed */
	uint64_t bpf_records;		/* records BPF submitted */
	uint64_t hits, rb_drops, map_full, slots_full, bad_reads, stack_fails;
	const char *target;		/* "exited with status 0", "running" */
	int exit_status;		/* -1: none */
};

/* ---- alerts ---------------------------------------------------------------- */

/* "ALERT #N kind map 0x…: …" and, when stacks is set, both stacks under it. */
void mw_fmt_alert_text(FILE *f, const struct mw_alert *a, const struct mw_rstack *ws,
		       const struct mw_rstack *is, int stacks, const struct mw_tag *tag);
/* {"type":"alert",…,"writer_stack":[…],"iter_stack":[…]}; the stacks are
 * left out ([]) when the whole object would not fit. */
int mw_fmt_alert_json(char *buf, size_t len, const struct mw_alert *a, const struct mw_rstack *ws,
		      const struct mw_rstack *is, const struct mw_tag *tag);

/* Each distinct race (kind and pair of stacks) is printed in full once:
 * 1 the first time this one is seen. Once the set is full every pair counts
 * as seen. */
struct mw_seen;
struct mw_seen *mw_seen_new(void);
void mw_seen_free(struct mw_seen *s);
int mw_seen_first(struct mw_seen *s, unsigned kind, const void *ws, const void *is);

/* ---- the runtime's own check (FATAL records) ------------------------------- */

/* flagged: mapwatch had flagged this kind before the runtime did. */
void mw_fmt_fatal_text(FILE *f, const struct mw_record *r, int flagged, const struct mw_tag *tag);
int mw_fmt_fatal_json(char *buf, size_t len, const struct mw_record *r, const struct mw_tag *tag);

/* ---- findings ---------------------------------------------------------------- */

/* The table of one process's findings (nothing when there are none). */
void mw_fmt_findings_text(FILE *f, const struct mw_findings *fs, const struct mw_tag *tag);
int mw_fmt_finding_json(char *buf, size_t len, const struct mw_finding *fd, const struct mw_tag *tag);

/* --all: one finding of a binary, its occurrences in all its processes:
 * the first MW_BIN_FINDING_PIDS named with their counts, the rest summed. */
#define MW_BIN_FINDING_PIDS 8
struct mw_bin_finding {
	uint8_t kind;
	uint64_t count;
	char writer[2 * MW_STACK_STR];
	char iter[2 * MW_STACK_STR];
	int npids;
	struct { int pid, nspid; uint64_t count; } p[MW_BIN_FINDING_PIDS];
	uint64_t others;		/* occurrences in processes past the first MW_BIN_FINDING_PIDS */
	int nothers;
};
/* "mapwatch: findings in BINARY (…; count per process):" */
void mw_fmt_bin_findings_head_text(FILE *f, const char *binary);
/* "  COUNT  kind  writer → iterator  [pid N: C, …, others: C]" */
void mw_fmt_bin_finding_text(FILE *f, const struct mw_bin_finding *a);
/* More code locations of one kind than a binary keeps: their count. */
void mw_fmt_bin_overflow_text(FILE *f, int kind, uint64_t count);
/* {"type":"finding","binary":…,"kind":…,"count":…,"processes":[{"pid":…,"nspid":…,"count":…},…],…} */
int mw_fmt_bin_finding_json(char *buf, size_t len, const char *binary, const struct mw_bin_finding *a);

/* ---- summaries ----------------------------------------------------------------- */

/* The closing lines. reads: the read-write count is shown even when 0. */
void mw_fmt_summary_text(FILE *f, const struct mw_summary *s, int reads, const struct mw_live_end *live);
/* {"type":"summary",…} with the live fields when live is not NULL. */
int mw_fmt_summary_json(char *buf, size_t len, const struct mw_summary *s, const struct mw_live_end *live);
/* One process's own summary when several were watched. */
void mw_fmt_process_text(FILE *f, const struct mw_summary *s, int reads, const struct mw_tag *tag,
			 const char *runtime, const char *how);
int mw_fmt_process_json(char *buf, size_t len, const struct mw_summary *s, const struct mw_tag *tag,
			const char *runtime, const char *how);


/* ---- the host-wide mode (--all): its process lines and closing numbers ----------- */

/* A process --all picked up ("watch"), let go ("exit") or could not watch ("failed"). */
struct mw_proc_event {
	const char *event;
	int pid, nspid;
	const char *comm, *path, *binary, *cgroup;
	const char *runtime, *version;	/* watch */
	int attachment, shared;		/* watch, exit */
	const char *how;		/* watch: where it was found; exit, failed: why */
	const char *reason;		/* failed: mw_metrics_reason_name() */
	uint64_t alerts, events;	/* exit */
};
/* "mapwatch: watching pid 12 ns pid 1 /srv/svc (go 1.22), cgroup /x: attachment 1 (found at exec)" */
void mw_fmt_proc_event_text(FILE *f, const struct mw_proc_event *e);
/* {"type":"process","event":…,"pid":…,"nspid":…,…} */
int mw_fmt_proc_event_json(char *buf, size_t len, const struct mw_proc_event *e);

/* What --all adds to a run's summary. */
struct mw_host_end {
	uint64_t records;		/* records consumed */
	uint64_t processes;		/* processes watched, gone ones too */
	int watching, attachments;
	uint64_t failures[MW_ATTACH_REASONS];
	uint64_t no_runtime, excluded, opted_out, toolchain;
	uint64_t hits, rb_drops, map_full, slots_full;
};
/* The closing lines of --all: events and drops, alerts by kind, processes and
 * attach failures, the sampled mode's windows. */
void mw_fmt_host_summary_text(FILE *f, const struct mw_summary *s, const struct mw_host_end *h);
/* The summary line with "scope":"all" and the fields of h. */
int mw_fmt_host_summary_json(char *buf, size_t len, const struct mw_summary *s, const struct mw_host_end *h);

#endif
