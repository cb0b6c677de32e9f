/* sink.h — the one interface of mapwatch's outputs.
 *
 * A sink receives everything the session produces, each with the watched
 * process it belongs to: every record consumed (on_record), every alert
 * occurrence with its two stacks (on_alert), the probe's counters once a
 * second and at the end (on_stats), one-line notes (exec, dlopen, a new
 * process of the tree), each process's findings and summary, and the
 * summary of the whole run. The implementations: plain text
 * (sink_text.c), JSON lines (sink_json.c), the trace file -o
 * (sink_trace.c), the Perfetto timeline (sink_perfetto.c), the live view
 * (sink_tui.c) and the Prometheus endpoint (sink_metrics.c).
 *
 * Every callback may be NULL. The session calls the sinks in the order
 * they were added.
 */
#ifndef MW_SINK_H
#define MW_SINK_H

#include <stddef.h>
#include <stdint.h>
#include "mapwatch.h"
#include "correlator.h"
#include "format.h"
#include "stacktab.h"

struct mw_watched;		/* session.h */

/* The probe's counters of one process (BPF's, and the records consumed). */
struct mw_stats {
	uint64_t ts;		/* CLOCK_MONOTONIC */
	int pid;
	int final;		/* the last one, after the final drain */
	uint64_t hits;		/* probe hits */
	uint64_t bpf_records;	/* records BPF submitted */
	uint64_t rb_drops, map_full, slots_full, bad_reads, stack_fails;
	uint64_t records;	/* records consumed */
	double rate;		/* records consumed per second since the last stats */
};

/* The form recordings, the correlator and the live view's log read stats
 * in: a MW_REC_STATS record (count = hits, aux = ring-buffer drops, aux2 =
 * full maps and slots). */
struct mw_record mw_stats_record(const struct mw_stats *st);

/* One alert occurrence and its stacks (NULL when not captured). The JSON
 * object (stdout and the trace share it) is built once, on first use. */
struct mw_alert_ev {
	const struct mw_alert *a;
	const struct mw_rstack *ws, *is;
	char *json;		/* set by mw_alert_ev_json */
	size_t cap;
	int have_json;
};
const char *mw_alert_ev_json(struct mw_alert_ev *ev);

struct mw_sink {
	const char *name;
	void (*on_record)(struct mw_sink *k, struct mw_watched *p, const struct mw_record *r);
	void (*on_alert)(struct mw_sink *k, struct mw_watched *p, struct mw_alert_ev *ev);
	void (*on_stats)(struct mw_sink *k, struct mw_watched *p, const struct mw_stats *st);
	void (*on_note)(struct mw_sink *k, struct mw_watched *p, const char *what, const char *text);
	/* Processes watched, several: their lines name their process from now on. */
	void (*on_multi)(struct mw_sink *k);
	/* The live view: called about every 10 ms; MW_SINK_QUIT ends the run. */
	int (*on_tick)(struct mw_sink *k, struct mw_watched *p, uint64_t now);
	/* The run's end, once everything is drained: screens close here,
	 * before the reports. */
	void (*on_end)(struct mw_sink *k, struct mw_watched *p);
	void (*on_findings)(struct mw_sink *k, struct mw_watched *p);
	/* One process's own summary, when several were watched. */
	void (*on_proc_summary)(struct mw_sink *k, struct mw_watched *p, const struct mw_summary *s);
	/* The run's summary (all processes). */
	void (*on_summary)(struct mw_sink *k, const struct mw_summary *s, const struct mw_live_end *live);
	/* Finish and free; < 0 when the output is incomplete (said on stderr). */
	int (*close)(struct mw_sink *k);
};

enum { MW_SINK_GO = 0, MW_SINK_QUIT = 1 };

/* The implementations. NULL with err set when they cannot start. */
struct mw_opts;
struct mw_live_stats;
struct mw_sink *mw_sink_text(const struct mw_opts *o, int alerts);
struct mw_sink *mw_sink_json(const struct mw_opts *o);
/* trace_error: where a failed write is described for the live view's header. */
struct mw_sink *mw_sink_trace(const char *path, int force, int pid, const char *comm, const char *exe,
			      uint64_t start, char *trace_error, size_t trace_error_len,
			      char *err, size_t errlen);
/* The trace so far, for the live view's save key: 0 with its path, or -1
 * with why not. trace may be NULL (no -o). */
int mw_sink_trace_save(struct mw_sink *trace, char *path, size_t len);
struct mw_sink *mw_sink_perfetto(const char *path, int force, int pid, const char *comm, uint64_t start,
				 char *err, size_t errlen);
/* The live view; NULL when the terminal cannot take it. */
struct mw_sink *mw_sink_tui(const struct mw_opts *o, struct mw_watched *p, struct mw_sink *trace);
/* --all: the host view, fed every process's records; the loop draws it
 * through *tui (mw_tui_tick_host). NULL when the terminal cannot take it. */
struct mw_tui;
struct mw_sink *mw_sink_tui_host(const struct mw_opts *o, struct mw_tui **tui);
/* The executable's name labels the series (its comm when exe is a /proc link). */
struct mw_sink *mw_sink_metrics(const struct mw_opts *o, const char *exe, const char *comm,
				char *err, size_t errlen);
/* --all: the endpoint serves s from now on (final: the run's last numbers,
 * which --metrics-linger keeps up when the sink closes). */
struct mw_metrics_snapshot;
void mw_sink_metrics_publish(struct mw_sink *k, const struct mw_metrics_snapshot *s, int final);

#endif
