/* view.h — the pure half of the live view: layout maths, formatting of
 * rates, durations, counts and addresses, sort comparators, filter matching
 * and bar rendering into a char buffer.
 *
 * Nothing here includes ncurses or reads a clock, so every function is unit
 * tested (tests/test_view.c). user/tui.c draws with what these return.
 * Every formatter writes a NUL-terminated string of at most len-1 bytes and
 * returns buf, so calls nest inside printf arguments.
 */
#ifndef MW_VIEW_H
#define MW_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include "correlator.h"

/* ---- formatting ------------------------------------------------------------ */

/* 950, 12.3k, 4.56M, 7.89G — at most 6 characters. */
char *mw_fmt_count(uint64_t n, char *buf, size_t len);
/* A per-second rate: "0", "0.5", "950", "12.3k", "4.56M" (no unit); negative,
 * NaN or infinite rates print "-". */
char *mw_fmt_rate(double per_s, char *buf, size_t len);
/* A duration in ns: "850ns", "12.3us", "1.25ms", "3.40s", "2m03s", "1h02m",
 * "3d04h". ascii = 0 uses "µs". */
char *mw_fmt_dur(uint64_t ns, int ascii, char *buf, size_t len);
/* An uptime in seconds: "00:01:23", "1d 02:03:04". */
char *mw_fmt_uptime(uint64_t secs, char *buf, size_t len);
/* An address: "0x7f12a4c0" (lowercase, as mapsvc and the JSON print it); 0 is "-". */
char *mw_fmt_addr(uint64_t addr, char *buf, size_t len);

/* Copies at most width display columns of UTF-8 s into buf; when s is longer
 * it ends with "…" (or "~" when ascii). Returns the columns written. Every
 * non-ASCII code point counts as one column. */
int mw_fit(const char *s, int width, int ascii, char *buf, size_t len);
/* Display columns of a UTF-8 string (one per code point). */
int mw_strwidth(const char *s);

/* ---- bars ------------------------------------------------------------------ */

/* A progress bar of exactly width columns for num/den into buf: UTF-8 eighth
 * blocks ("█▌" then "░" for the rest) or, when ascii, '#' then '.'. den = 0
 * draws an empty bar; num > den is clamped. Returns buf. */
char *mw_bar(uint64_t num, uint64_t den, int width, int ascii, char *buf, size_t len);
/* Cells of a width-column bar that num/den fills, rounded down, clamped. */
int mw_bar_cells(uint64_t num, uint64_t den, int width);

/* ---- layout ---------------------------------------------------------------- */

#define MW_MIN_COLS 40
#define MW_MIN_ROWS 10

/* Rows of the main screen, top to bottom. A panel of height 0 is not shown;
 * a panel's height counts its title line and, for tables, its column header. */
struct mw_view_layout {
	int too_small;		/* below MW_MIN_COLS x MW_MIN_ROWS: draw only a notice */
	int cols, rows;
	int header_y, header_h;	/* 1 or 2 lines */
	int banner_y, banner_h;	/* 0 or 1: target exited, messages */
	int maps_y, maps_h;
	int alerts_y, alerts_h;
	int log_y, log_h;
	int footer_y;		/* always the last line */
};
/* Splits a cols x rows screen: header, optional banner, maps table (sized to
 * nmaps, at most 8 rows), alerts list (the rest), event log (only when there
 * is room), footer. Small screens drop the log, then shrink the maps table. */
void mw_view_layout(int cols, int rows, size_t nmaps, int banner, struct mw_view_layout *l);

/* A table column: its width and a priority (0 = always shown; higher ones
 * are dropped first when the row is too narrow). */
struct mw_col {
	const char *name;
	int width;
	int prio;
};
/* Decides which of n columns fit in width (one space between columns):
 * shown[i] = 1 or 0. Drops columns from the highest priority number down,
 * rightmost first among equals. Returns the width used. */
int mw_cols_fit(const struct mw_col *cols, int n, int width, int *shown);

/* Keeps a selection visible in a list of n rows drawn in height lines:
 * returns the new first visible row given the old one. */
size_t mw_scroll(size_t sel, size_t top, size_t n, int height);

/* ---- sorting ----------------------------------------------------------------- */

enum mw_map_sort {
	MW_SORT_ADDR = 0,
	MW_SORT_LEN,
	MW_SORT_B,
	MW_SORT_GROW,		/* growing maps first, by evacuation left to do */
	MW_SORT_ITERS,
	MW_SORT_WRITES,		/* writes/s */
	MW_SORT_ITERATIONS,	/* iterations/s */
	MW_SORT_ALERTS,
	MW_SORT_MAX
};
/* Short names of the sort keys, as the title shows them. */
const char *mw_sort_name(int key);
/* Orders two maps by key: descending for the numeric keys (biggest first),
 * ascending for the address; ties fall back to the address. qsort-like sign. */
int mw_map_cmp(const struct mw_map_model *a, const struct mw_map_model *b, int key);
/* Sorts idx[0..n) (indices into maps[]) by key; equal keys by index (stable
 * for ascending input). O(n log n): the table may hold thousands of maps. */
void mw_map_sort(const struct mw_map_model *const *maps, size_t *idx, size_t n, int key);

/* ---- filter ------------------------------------------------------------------ */

/* What `/` typed. "0x55d0" or "55d0c" (hex) match map addresses by substring;
 * a decimal number also matches a thread id exactly; "" matches everything. */
struct mw_filter {
	int active;
	char hex[24];		/* lowercase hex digits without 0x, or "" when it cannot be an address */
	int has_tid;
	uint32_t tid;		/* when the text is a decimal number */
};
/* Parses text; returns 0, or -1 when it can be neither (the filter then
 * matches nothing, which the view says). */
int mw_filter_parse(const char *text, struct mw_filter *f);
int mw_filter_addr(const struct mw_filter *f, uint64_t addr);
int mw_filter_tid(const struct mw_filter *f, uint32_t tid);
/* A map matches by its address or the thread of one of its open iterations. */
int mw_filter_map(const struct mw_filter *f, const struct mw_map_model *m);
/* An alert row matches by its map or either thread. */
int mw_filter_row(const struct mw_filter *f, const struct mw_alert_row *r);

/* ---- the bucket picture --------------------------------------------------------- */

/* Index of the bucket at addr in an array of nbuckets starting at base, or
 * -1 when it lies outside (an overflow bucket, or unknown). */
int64_t mw_bucket_index(uint64_t addr, uint64_t base, uint64_t nbuckets, uint64_t bucketsize);
/* Cell of an ncells-wide picture that bucket idx of nbuckets falls in. */
int mw_bucket_cell(uint64_t idx, uint64_t nbuckets, int ncells);
/* The bucket an open iterator stands in, as an index into its own bucket
 * array of n buckets: from bptr when it lies in that array, else from
 * next_bucket - 1 (the bucket it started last). -1 when unknown. */
int64_t mw_iter_bucket(const struct mw_iter_model *it, uint64_t n, uint64_t bucketsize);

#endif
