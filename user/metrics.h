/* metrics.h — a Prometheus text-exposition endpoint (`--metrics ADDR:PORT`).
 *
 * The live loop fills a plain snapshot about once a second (and once more
 * after the final drain) and hands it over with mw_metrics_update(); one
 * server thread answers `GET /metrics` from the latest copy, reading
 * mapwatch's own CPU time and resident memory at scrape time. The snapshot
 * is a list of watched processes (one today, many in a host-wide mode) plus
 * the counters the BPF side keeps for everything.
 *
 * Counters must never go down between scrapes, so whoever fills a snapshot:
 *  - keeps a process that ended in it (watched = 0) with its last counts;
 *  - lists each process's race sites in order of first occurrence (append
 *    only) and keeps processes in a stable order: the first `cap` sites of a
 *    (kind, binary) keep their own series for good, the rest, and any part of
 *    a process's total not listed as a site, are summed under site="other".
 * Processes that share a binary file name share its series (summed).
 *
 * The formatting, the site names, the address and request parsing are pure
 * (no sockets) and unit-tested in tests/test_metrics.c.
 */
#ifndef MW_METRICS_H
#define MW_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "mapwatch.h"

#define MW_METRICS_SITE_CAP	50	/* sites with their own series per (kind, binary) */
#define MW_METRICS_NAME		64	/* binary and runtime names kept */
#define MW_METRICS_SITE		128	/* a site label kept */
#define MW_METRICS_MAX_REQUEST	8192	/* bytes of request head read, at most */
#define MW_METRICS_TIMEOUT_MS	2000	/* a client has this long to send its request */

/* Why a process could not be watched (mapwatch_attach_failures_total{reason}). */
enum mw_attach_reason {
	MW_ATTACH_NO_RUNTIME,		/* "no_runtime": no map runtime symbols found */
	MW_ATTACH_UNSUPPORTED,		/* "unsupported": a runtime version without a layout row */
	MW_ATTACH_SYMBOLS,		/* "symbols_missing": a supported version whose probe sites were not all found */
	MW_ATTACH_PERMISSION,		/* "permission" */
	MW_ATTACH_GONE,			/* "process_gone": it exited before the probes were in */
	MW_ATTACH_PROBE,		/* "probe_failed": loading BPF or attaching a uprobe failed */
	MW_ATTACH_OTHER,		/* "other" */
	MW_ATTACH_REASONS
};

/* Races of one kind whose writer stood at one code location. */
struct mw_metrics_site {
	uint8_t kind;			/* enum mw_kind */
	char site[MW_METRICS_SITE];	/* "races.c:58", "main.go:42", "writer_loop", "?" */
	uint64_t count;
};

/* One watched process. */
struct mw_metrics_proc {
	int pid;
	int watched;			/* probes attached now; 0 once it ended or the run stopped */
	char binary[MW_METRICS_NAME];	/* the executable's file name: "mapsvc" */
	char runtime[MW_METRICS_NAME];	/* its layout row: "libgomap", "go1.21" */
	uint64_t probe_hits;
	uint64_t races[MW_KIND_MAX];	/* occurrences by kind: the summary's alerts_by_kind */
	uint64_t runtime_caught[MW_KIND_MAX];	/* the runtime's own checks that fired */
	struct mw_metrics_site *sites;	/* by writer location, in order of first occurrence */
	size_t nsites;
};

struct mw_metrics_snapshot {
	struct mw_metrics_proc *procs;
	size_t nprocs;
	uint64_t records;		/* records consumed from the ring buffer */
	uint64_t drops_ring_buffer;	/* ring-buffer reserve failures */
	uint64_t drops_map_full;	/* per-map state could not be created */
	uint64_t drops_slots_full;	/* an iteration could not be tracked */
	uint64_t bad_reads;		/* reads of target memory that failed */
	uint64_t stacks_missed;		/* user stacks not captured */
	uint64_t attach_failures[MW_ATTACH_REASONS];
	uint64_t attachments;		/* BPF attachments made (one per binary file); 0: not reported */
};

/* mapwatch itself, read at scrape time. */
struct mw_metrics_self {
	double cpu_seconds;		/* user + system */
	uint64_t rss_bytes;
	uint64_t heap_bytes;		/* malloc'd and not freed (mallinfo2); 0: unknown */
};

/* ---- pure parts ------------------------------------------------------------------ */

struct mw_findings;

/* A finding's code location as a short site label: "put (races.c:58)" ->
 * "races.c:58", "reader+0x2a [races]" -> "reader", "0x55d0… [races]" and
 * "?" -> "?". Returns the length (snprintf semantics). */
int mw_metrics_site_of(const char *loc, char *buf, size_t len);

/* Fill p->sites from findings: grouped by (kind, writer site), in order of
 * first occurrence, at most cap sites per kind (the rest are left to
 * site="other" through p->races). Replaces what p->sites held. 0 or -ENOMEM. */
int mw_metrics_proc_sites(struct mw_metrics_proc *p, const struct mw_findings *f, size_t cap);
void mw_metrics_proc_free(struct mw_metrics_proc *p);	/* frees p->sites */

/* A label value escaped per the text format (\\, \", \n), invalid UTF-8 and
 * other control bytes as '?'. Returns the length (snprintf semantics). */
int mw_metrics_escape(const char *in, char *out, size_t len);

/* The exposition text for a snapshot: malloc'd, NUL-terminated, length in
 * *len; NULL on OOM. self may be NULL (those two samples are left out).
 * cap: sites per (kind, binary) with their own series. */
char *mw_metrics_format(const struct mw_metrics_snapshot *s, const struct mw_metrics_self *self,
			size_t cap, size_t *len);

/* "127.0.0.1:9464", "[::1]:9464", ":9464" (every interface), "localhost:9464".
 * 0, or -1 with a message ("invalid --metrics address …"). */
int mw_metrics_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *sl,
			  char *err, size_t errlen);

/* The status for a request head (request line and headers): 200 for GET or
 * HEAD of /metrics (a query string is ignored), 404 for another path, 405 for
 * another method, 400 when malformed. *head_only is set for HEAD. */
int mw_metrics_route(const char *req, size_t n, int *head_only);

/* The reason label of an enum mw_attach_reason ("other" when out of range). */
const char *mw_metrics_reason_name(int r);
/* Processes that could not be watched: every reason but no_runtime (those
 * were never candidates). */
uint64_t mw_metrics_failures_total(const uint64_t failures[MW_ATTACH_REASONS]);

/* mapwatch's CPU seconds and RSS from /proc/self/stat and /proc/self/statm. */
int mw_metrics_read_self(struct mw_metrics_self *self);

/* ---- the server ------------------------------------------------------------------ */

struct mw_metrics;

/* Bind ADDR:PORT and start the server thread. NULL with a one-line message
 * in err ("cannot listen on 127.0.0.1:9464: address already in use"). */
struct mw_metrics *mw_metrics_start(const char *spec, char *err, size_t errlen);
/* Serve a copy of snap from now on. NULL-safe; 0 or -ENOMEM (the old one stays). */
int mw_metrics_update(struct mw_metrics *m, const struct mw_metrics_snapshot *snap);
/* Stop the thread, close the socket, free everything. NULL-safe. */
void mw_metrics_stop(struct mw_metrics *m);
/* Requests answered so far (any status). */
uint64_t mw_metrics_requests(struct mw_metrics *m);

#endif
