/* correlator.h — the heart of mapwatch: events in, alerts and a per-map model out.
 *
 * Pure C: no libbpf, no ncurses, no clock of its own. The live loader, the
 * trace reader (`mapwatch analyze`) and the unit tests all feed it the same
 * struct mw_record stream (bpf/mapwatch.h), so offline results equal live ones.
 *
 * Overlaps are decided in BPF, where the per-map state is exact at the moment
 * of a write or grow: a record whose `kind` is not MW_KIND_NONE carries the
 * other thread, its window start and the iterator's position. The correlator
 * turns each such record into one alert occurrence (so alerts never depend on
 * the order records arrive in, and a dropped record can only lose an alert,
 * never invent one), aggregates occurrences into display rows, and keeps a
 * model of every map seen (up to MW_CORR_MAPS_MAX of them): length, B, bucket
 * arrays, grow progress, open iterations, counters. Records that arrive out of order (different CPUs) are
 * reconciled by timestamp: an iteration end seen before its start closes it.
 */
#ifndef MW_CORRELATOR_H
#define MW_CORRELATOR_H

#include <stddef.h>
#include <stdint.h>
#include "mapwatch.h"

enum mw_confidence {
	MW_CONF_WINDOW = 0,	/* only the time windows overlap */
	MW_CONF_BUCKET = 1,	/* both threads touch the same bucket address */
};

/* One alert: n occurrences of the same race (BPF counts repeats of a race
 * between two records of it: mw_record.n), numbered seq … seq + n - 1. */
struct mw_alert {
	uint64_t seq;		/* 1-based number of its first occurrence, in feed order */
	uint64_t n;		/* occurrences (1 unless aggregated) */
	uint64_t ts;		/* timestamp of the event that raised it */
	uint64_t map;		/* hmap address */
	uint64_t bucket;	/* the bucket the iterator stands in (iter-*), or 0 */
	uint64_t bucket2;	/* the bucket the writer/grower touched (evacuated old bucket), or 0 */
	uint64_t hiter;		/* the iteration's hiter (iter-*), or 0 */
	uint64_t overlap_ns;	/* ts - start of the other window */
	uint32_t writer_tid;	/* writer or grower; for write-write the later writer */
	uint32_t iter_tid;	/* iterating thread; for write-write the earlier writer */
	uint64_t writer_gid;	/* Go: the goroutines (0 for libgomap, where threads are the actors) */
	uint64_t iter_gid;
	uint64_t iter_seq;	/* the iteration's number, or 0 */
	int32_t  writer_stack;	/* stack ids as in the record, -1 if none */
	int32_t  iter_stack;
	uint64_t writer_caller;	/* the return addresses at [sp] that go with them (mw_record.caller) */
	uint64_t iter_caller;
	uint8_t  kind;		/* enum mw_kind */
	uint8_t  op;		/* enum mw_op of the write (iter-write, write-write) */
	uint8_t  confidence;	/* enum mw_confidence */
	uint8_t  rec_type;	/* record type that raised it (WRITE, GROW, EVACUATE, ITER_START) */
};

/* Occurrences of one kind on one map between the same two threads. Rows are
 * appended in order of first occurrence and never reordered. */
struct mw_alert_row {
	uint64_t id;		/* 1-based, order of first occurrence */
	uint8_t  kind;
	uint8_t  confidence;	/* the strongest seen */
	uint64_t map;
	uint32_t writer_tid;
	uint32_t iter_tid;
	uint64_t writer_gid, iter_gid;	/* Go: the goroutines that key the row (threads do for libgomap) */
	uint64_t count;
	uint64_t first_ts, last_ts;
	uint64_t max_overlap_ns;
	struct mw_alert last;	/* the latest occurrence */
};

#define MW_RECENT_WRITES 32

struct mw_iter_model {
	uint64_t hiter;		/* 0 = unused */
	uint64_t start_ts;
	uint32_t tid;
	uint64_t gid;		/* Go: the iterating goroutine */
	uint64_t bptr;		/* last known position (from an alert record), or 0 */
	uint64_t buckets;	/* its bucket-array snapshot, if known */
	uint64_t next_bucket;	/* its next bucket index, if known */
};

struct mw_map_model {
	uint64_t map;
	uint64_t first_ts, last_ts;
	/* hmap fields as last read by a probe */
	uint64_t count;
	uint8_t  B;
	uint8_t  flags;
	uint64_t buckets, oldbuckets, nevacuate;
	/* grow state */
	int      growing;		/* oldbuckets != 0 at the last look */
	int      samesize;		/* the grow keeps B */
	uint64_t grow_start_ts;
	uint64_t grow_old_nbuckets;	/* old buckets to evacuate in this grow */
	/* open iterations, as the correlator has seen them start and end */
	uint32_t n_iters;
	struct mw_iter_model iters[MW_MAX_ITERS];
	/* counters from records */
	uint64_t writes, iter_starts, iter_ends, grows, evacuations, alerts;
	/* counters from BPF's per-map state (mw_corr_map_sample), for rates */
	uint64_t bpf_writes, bpf_iterations, bpf_grows, bpf_evacuations;
	double   write_rate, iter_rate;	/* per second, between the last two counter samples */
	/* recent write/evacuation bucket addresses, newest last (a ring) */
	uint64_t recent[MW_RECENT_WRITES];
	uint8_t  recent_kind[MW_RECENT_WRITES];	/* enum mw_kind of the event that touched it */
	uint32_t n_recent, recent_head;
};

/* How a live run watched: every write (exact), or writes in windows only
 * (sampled: a race may have been missed outside them). */
struct mw_run_mode {
	int set;			/* 0: unknown (a replay): not in the summary */
	int sampled;
	double budget;			/* sampled: fraction of the target's CPU */
	double armed_fraction;		/* sampled: of the run's time, writes were watched */
	uint64_t windows;
	int iters_windowed;		/* sampled: iteration probes were windowed too */
	uint64_t target_cpu_ns;		/* sampled: the target's CPU time while sampled */
	uint64_t probe_cost_ns;		/* sampled: probe hits × hit_ns, the cost charged to it */
	double hit_ns;			/* sampled: the per-hit cost used (calibrated at start) */
};

struct mw_summary {
	uint64_t events;		/* records fed (STATS records included) */
	uint64_t drops;			/* records lost in BPF: reserve failures + full maps/slots (latest STATS) */
	uint64_t alerts;		/* occurrences */
	uint64_t alerts_by_kind[MW_KIND_MAX];
	uint64_t rows;			/* aggregated rows */
	uint64_t maps;			/* maps seen in records (a map forgotten under the
					 * correlator's cap and seen again counts again) */
	uint64_t maps_forgotten;	/* idle map models dropped under MW_CORR_MAPS_MAX */
	uint64_t first_ts, last_ts;
	uint64_t bpf_hits;		/* probe hits (latest STATS) */
	uint64_t rb_drops, map_drops;	/* the two halves of drops */
	/* Go: alerts raised against an iteration that was never seen moving on
	 * afterwards (possibly left by break): not counted in alerts. */
	uint64_t unconfirmed;
	/* The runtime's own race checks that fired (FATAL records), by kind. */
	uint64_t runtime_caught[MW_KIND_MAX];
	struct mw_run_mode mode;	/* how the records were taken (live runs set it) */
};

/* Map models kept at once. Go frees maps through its GC with no event, so a
 * long-running service makes new maps forever: past this many, the least
 * recently active maps that nothing still needs (no open iteration, no grow
 * in progress, nothing pending for them) are forgotten, a quarter at a time.
 * Alerts never depend on it; the summary's `maps` keeps counting. */
#define MW_CORR_MAPS_MAX 16384

struct mw_corr;

/* `a` and `row` are valid during the call only (row is NULL if memory ran out). */
typedef void (*mw_alert_cb)(void *ctx, const struct mw_alert *a, const struct mw_alert_row *row);

struct mw_corr_opts {
	int keep_alerts;	/* keep every occurrence in memory (mw_corr_alert); off for huge replays */
	mw_alert_cb on_alert;	/* called for each new occurrence, or NULL */
	void *ctx;
	/* The target's layout (its hmap flag bits); NULL: the C port's row
	 * (every row has the same flag bits). */
	const struct mw_layout *layout;
	/* The cap on map models; 0: MW_CORR_MAPS_MAX (tests set small ones). */
	size_t maps_max;
};

struct mw_corr *mw_corr_new(const struct mw_corr_opts *opts);
void mw_corr_free(struct mw_corr *c);

/* Feed one record. Returns the number of alert occurrences it raised (a
 * confirmation may raise several pending ones at once; an aggregated record
 * raises its n). */
int mw_corr_feed(struct mw_corr *c, const struct mw_record *r);

/* A sample the live loader takes about once a second for each map in BPF's
 * per-map state: its counters, and the hmap header read from the target's
 * memory (have_hmap = 0 when the read failed or was refused as implausible).
 * For the model and rates only: alerts and the summary never depend on it. */
struct mw_map_sample {
	uint64_t map, ts;
	uint64_t writes, iterations, grows, evacuations;
	int      have_hmap;
	uint64_t count, buckets, oldbuckets, nevacuate;
	uint8_t  B, flags;
};
void mw_corr_map_sample(struct mw_corr *c, const struct mw_map_sample *s);

void mw_corr_summary(const struct mw_corr *c, struct mw_summary *s);
/* Say how the run watched (the summary carries it). */
void mw_corr_set_mode(struct mw_corr *c, const struct mw_run_mode *m);

size_t mw_corr_nalerts(const struct mw_corr *c);		/* kept occurrences */
const struct mw_alert *mw_corr_alert(const struct mw_corr *c, size_t i);
size_t mw_corr_nrows(const struct mw_corr *c);
const struct mw_alert_row *mw_corr_row(const struct mw_corr *c, size_t i);
size_t mw_corr_nmaps(const struct mw_corr *c);
const struct mw_map_model *mw_corr_map(const struct mw_corr *c, size_t i);	/* in order first seen */
const struct mw_map_model *mw_corr_find_map(const struct mw_corr *c, uint64_t map);
/* Map models forgotten to stay under the cap, and maps taken in while at the
 * cap because none could be forgotten (each an open iteration, a grow, or
 * something pending). */
uint64_t mw_corr_maps_evicted(const struct mw_corr *c);
uint64_t mw_corr_maps_over_cap(const struct mw_corr *c);

/* The actor of each side: the goroutine for Go, else the thread. */
static inline uint64_t mw_alert_writer(const struct mw_alert *a)
{
	return a->writer_gid ? a->writer_gid : a->writer_tid;
}
static inline uint64_t mw_alert_iter(const struct mw_alert *a)
{
	return a->iter_gid ? a->iter_gid : a->iter_tid;
}

/* Names used in every output: "iter-write", "iter-grow", "write-write";
 * "assign", "delete", "clear"; "bucket", "window". The tables are the one
 * place that spells the kinds and ops (the trace reader parses with them);
 * the functions give "?" for what is out of range. */
#define MW_OP_MAX 4
extern const char *const mw_kind_names[MW_KIND_MAX];
extern const char *const mw_op_names[MW_OP_MAX];
const char *mw_kind_name(unsigned kind);
const char *mw_op_name(unsigned op);
/* Names of record types (the trace's "ev" and the live log): "iter-start" …, or NULL. */
extern const char *const mw_rec_type_names[MW_REC_TYPE_MAX];
const char *mw_rec_type_name(unsigned type);
const char *mw_conf_name(unsigned conf);

/* How the run watched, as JSON members to append to a live summary line:
 * ,"mode":"exact" or ,"mode":"sampled","budget":…,"armed_fraction":…, …
 * ("" when not set: a replay does not know). */
int mw_run_mode_json(const struct mw_run_mode *m, char *buf, size_t len);

#endif
