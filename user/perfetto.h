/* perfetto.h — a timeline for Perfetto UI / chrome://tracing (Chrome Trace Event JSON).
 *
 *   {"traceEvents":[ … ],"displayTimeUnit":"ns"}
 *
 * One track per thread (pid = the target, tid = the thread) with its
 * iterations as complete "X" slices and its writes, grows and evacuations as
 * zero-length "X" slices; an iteration that would not nest properly on its
 * thread (out-of-order records, an iteration that never ended) becomes an
 * async "b"/"e" slice instead, so every thread track is well nested. Grows
 * are async slices per map (id = the map), from hashGrow until oldbuckets is
 * seen 0 again (or the last evacuation seen). Alerts are thread-scoped
 * instants with a flow arrow ("s" → "f", bound to the enclosing slices) from
 * the write to the iteration it hit (write-write: from the earlier write to
 * the later). Counters ("C") carry each map's length and B, and BPF's drops.
 * Timestamps are µs relative to the trace start. Events stream out as they
 * come; only open windows are kept, in bounded tables.
 */
#ifndef MW_PERFETTO_H
#define MW_PERFETTO_H

#include <stddef.h>
#include <stdint.h>
#include "mapwatch.h"
#include "correlator.h"

struct mw_perfetto;

/* Create PATH safely (see outfile.h) and start the JSON. */
struct mw_perfetto *mw_perfetto_create(const char *path, int force, int pid, uint64_t start_ns,
				       char *err, size_t errlen);
/* The same on an open fd, which the writer then owns. */
struct mw_perfetto *mw_perfetto_create_fd(int fd, int pid, uint64_t start_ns);
/* Name the process track (the target's comm); optional. */
void mw_perfetto_process_name(struct mw_perfetto *p, const char *name);
void mw_perfetto_record(struct mw_perfetto *p, const struct mw_record *r);
void mw_perfetto_alert(struct mw_perfetto *p, const struct mw_alert *a);
/* Ends open slices at the last time seen, closes the JSON and the file, frees.
 * Returns 0, or -1 when a write failed. NULL-safe. */
int mw_perfetto_close(struct mw_perfetto *p);

#endif
