/* trace.h — the mapwatch trace file: a versioned JSON Lines format.
 *
 *   {"type":"header","format":"mapwatch-trace","version":1,"mapwatch":"0.1.0","pid":N,
 *    "comm":"…","exe":"…","clock":"CLOCK_MONOTONIC","start_ns":N,"start_time":"…Z"}
 *   {"type":"event","ev":"write","ts":N,"tid":N,…every struct mw_record field…}
 *   {"type":"stack","id":N,"caller":"0x…","frames":[…]}   (v2) a symbolized stack,
 *                               before the first alert that names it (stacktab.h)
 *   {"type":"alert",…}          one per occurrence, as raised live, with its stacks
 *   {"type":"finding",…}        (v2) alerts grouped by code location, before the summary
 *   {"type":"summary",…}        mw_fmt_summary_json() (format.h), last
 *
 * Version 2 added the stack and finding lines and the records' caller and
 * other_caller fields; version 1 traces are still read.
 *
 * Addresses are "0x…" strings, every other number an integer; `ev`, `op` and
 * `kind` are names when known and integers otherwise, so record → line →
 * record is the identity for any record. The writer buffers in user space
 * and writes with write(2); the live loop flushes about once a second.
 *
 * The reader treats a file as hostile: a hand-rolled scanner for these flat
 * objects, a fixed buffer and a line limit (bounded memory on any input),
 * and every problem an error naming the line ("trace.jsonl:12: expected a
 * number for \"ts\""). A truncated last line (kill -9 mid-write) is a warning,
 * and so is a record cut short with more lines written after it (a writer
 * that went on after a failed write): the trace is read up to the cut.
 */
#ifndef MW_TRACE_H
#define MW_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include "mapwatch.h"
#include "correlator.h"
#include "json.h"

#define MW_TRACE_FORMAT   "mapwatch-trace"
#define MW_TRACE_VERSION  2
#define MW_TRACE_LINE_MAX 65536	/* longest line the reader accepts */
#define MW_TRACE_REC_MAX  2048	/* longest line the writer makes for a record */

/* ---- writer ---------------------------------------------------------------- */

struct mw_trace_meta {
	int pid;
	char comm[64];
	char exe[512];
	uint64_t start_mono_ns;		/* CLOCK_MONOTONIC at start (the records' clock) */
	uint64_t start_realtime_ns;	/* CLOCK_REALTIME at the same moment */
};

struct mw_trace_writer;

/* Create PATH safely (mw_create_output) and write the header line. */
struct mw_trace_writer *mw_trace_create(const char *path, int force,
					const struct mw_trace_meta *meta,
					char *err, size_t errlen);
/* The same on an open fd the writer then owns (tests, benchmarks). */
struct mw_trace_writer *mw_trace_create_fd(int fd, const struct mw_trace_meta *meta);
int mw_trace_record(struct mw_trace_writer *w, const struct mw_record *r);
int mw_trace_alert(struct mw_trace_writer *w, const struct mw_alert *a);
int mw_trace_summary(struct mw_trace_writer *w, const struct mw_summary *s);
/* Any other line (stack, finding), without its newline. */
int mw_trace_line(struct mw_trace_writer *w, const char *line, size_t len);
int mw_trace_flush(struct mw_trace_writer *w);
int mw_trace_close(struct mw_trace_writer *w);	/* flushes, closes, frees; NULL-safe */
/* errno of the first failed write, 0 if none. After a failed write the file
 * is cut back to its last complete line and takes nothing more (every later
 * call returns -1): a valid trace, only shorter. */
int mw_trace_error(const struct mw_trace_writer *w);
/* Called once, at the failed write, with a one-line message ("cannot write
 * trace file 'x': No space left on device; recording stopped, …"). */
void mw_trace_on_error(struct mw_trace_writer *w, void (*cb)(void *ctx, const char *msg), void *ctx);

/* One record as a line, without the newline, into buf (MW_TRACE_REC_MAX
 * bytes). Returns its length. */
size_t mw_trace_format_record(const struct mw_record *r, char *buf);
/* The header line, without the newline (snprintf semantics). */
int mw_trace_format_header(const struct mw_trace_meta *m, char *buf, size_t len);

/* ---- reader ---------------------------------------------------------------- */

struct mw_trace_header {
	int version;
	char mapwatch[32];
	int pid;
	char comm[64];
	char exe[512];
	char clock[32];
	uint64_t start_ns;
	char start_time[48];
};

enum mw_item {
	MW_ITEM_ERROR   = -1,	/* mw_reader_error() says what and where */
	MW_ITEM_EOF     = 0,
	MW_ITEM_HEADER  = 1,	/* always the first item */
	MW_ITEM_RECORD  = 2,	/* *rec filled */
	MW_ITEM_ALERT   = 3,	/* validated; the raw line is mw_reader_line() */
	MW_ITEM_SUMMARY = 4,	/* validated; the raw line is mw_reader_line() */
	MW_ITEM_STACK   = 5,	/* mw_reader_stack() */
	MW_ITEM_FINDING = 6,	/* validated; the raw line is mw_reader_line() */
};

struct mw_trace_reader;

/* NAME is used in messages (usually the path). */
struct mw_trace_reader *mw_reader_open(const char *path, char *err, size_t errlen);
struct mw_trace_reader *mw_reader_open_fd(int fd, const char *name);	/* fd is not closed */
struct mw_trace_reader *mw_reader_open_mem(const void *data, size_t len, const char *name);
void mw_reader_close(struct mw_trace_reader *r);	/* NULL-safe */

int mw_reader_next(struct mw_trace_reader *r, struct mw_record *rec);
const struct mw_trace_header *mw_reader_header(const struct mw_trace_reader *r);
/* After MW_ITEM_STACK: its id, caller and raw frames array (valid until the next call). */
void mw_reader_stack(const struct mw_trace_reader *r, int32_t *id, uint64_t *caller,
		     const char **frames, size_t *len);
/* The current line (valid until the next call), without its newline. */
const char *mw_reader_line(const struct mw_trace_reader *r, size_t *len);
uint64_t mw_reader_lineno(const struct mw_trace_reader *r);
/* "name:LINE: what went wrong" after MW_ITEM_ERROR. */
const char *mw_reader_error(const struct mw_trace_reader *r);
/* Non-fatal notes ("name:LINE: truncated last line ignored"), or NULL. */
const char *mw_reader_warning(const struct mw_trace_reader *r);
uint64_t mw_reader_offset(const struct mw_trace_reader *r);	/* bytes consumed */
uint64_t mw_reader_size(const struct mw_trace_reader *r);	/* file size, 0 if unknown */

#endif
