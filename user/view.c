/* view.c — pure helpers of the live view: formatting, bars, layout maths,
 * sort comparators, filter matching, bucket arithmetic. See view.h.
 *
 * Every division is guarded against a zero denominator and every string
 * write is bounded: the view calls these with whatever the model holds,
 * including the zeros of a map nobody has sampled yet.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

/* ---- formatting ------------------------------------------------------------ */

/* Scales v to one of k/M/G/T with 3 significant digits. */
static char *fmt_scaled(double v, char *buf, size_t len)
{
	static const char units[] = "kMGTP";
	int u = -1;

	while (v >= 999.5 && u < 4) {
		v /= 1000.0;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 99.95)
		snprintf(buf, len, "%.0f%c", v, units[u]);
	else if (v >= 9.995)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.2f%c", v, units[u]);
	return buf;
}

char *mw_fmt_count(uint64_t n, char *buf, size_t len)
{
	if (n < 1000) {
		snprintf(buf, len, "%" PRIu64, n);
		return buf;
	}
	return fmt_scaled((double)n, buf, len);
}

char *mw_fmt_rate(double r, char *buf, size_t len)
{
	if (isnan(r) || isinf(r) || r < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (r == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	if (r < 9.95) {
		snprintf(buf, len, "%.1f", r);
		return buf;
	}
	return fmt_scaled(r, buf, len);
}

char *mw_fmt_dur(uint64_t ns, int ascii, char *buf, size_t len)
{
	const char *us = ascii ? "us" : "\xc2\xb5s";
	uint64_t s = ns / 1000000000u;

	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 "ns", ns);
	else if (ns < 9995)
		snprintf(buf, len, "%.2f%s", ns / 1e3, us);
	else if (ns < 999500)
		snprintf(buf, len, "%.*f%s", ns < 99950 ? 1 : 0, ns / 1e3, us);
	else if (ns < 999500000u)
		snprintf(buf, len, "%.*f%s", ns < 9995000 ? 2 : ns < 99950000 ? 1 : 0, ns / 1e6, "ms");
	else if (ns < 59995000000ull)
		snprintf(buf, len, "%.*fs", ns < 9995000000ull ? 2 : 1, ns / 1e9);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s / 3600 % 24);
	return buf;
}

char *mw_fmt_uptime(uint64_t s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%" PRIu64 "d %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64,
			 s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 3600, s / 60 % 60, s % 60);
	return buf;
}

char *mw_fmt_addr(uint64_t addr, char *buf, size_t len)
{
	if (addr)
		snprintf(buf, len, "0x%" PRIx64, addr);
	else
		snprintf(buf, len, "-");
	return buf;
}

/* Length in bytes of the UTF-8 sequence that starts with c (1 for stray bytes). */
static int u8len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return c < 0xf0 ? 3 : 1;
	if (c >= 0xc0)
		return 2;
	return 1;
}

int mw_strwidth(const char *s)
{
	int w = 0;

	while (*s) {
		int n = u8len((unsigned char)*s);

		for (int i = 0; i < n && *s; i++)
			s++;
		w++;
	}
	return w;
}

int mw_fit(const char *s, int width, int ascii, char *buf, size_t len)
{
	const char *ell = ascii ? "~" : "\xe2\x80\xa6";
	size_t o = 0;
	int w = 0, total = mw_strwidth(s);

	if (!len)
		return 0;
	if (width <= 0) {
		buf[0] = 0;
		return 0;
	}
	/* Leave a column for the ellipsis when the whole string does not fit. */
	int keep = total <= width ? total : width - 1;

	while (*s && w < keep) {
		int n = u8len((unsigned char)*s);

		if (o + n >= len)
			break;
		for (int i = 0; i < n && *s; i++)
			buf[o++] = *s++;
		w++;
	}
	if (total > width && o + strlen(ell) < len) {
		memcpy(buf + o, ell, strlen(ell));
		o += strlen(ell);
		w++;
	}
	buf[o] = 0;
	return w;
}

/* ---- bars ------------------------------------------------------------------ */

int mw_bar_cells(uint64_t num, uint64_t den, int width)
{
	if (!den || width <= 0)
		return 0;
	if (num > den)
		num = den;
	return (int)((long double)num * width / den);
}

char *mw_bar(uint64_t num, uint64_t den, int width, int ascii, char *buf, size_t len)
{
	/* U+2588 full block down to U+258F one eighth; index = eighths. */
	static const char *const eighth[] = { "", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
		"\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89" };
	const char *full = ascii ? "#" : "\xe2\x96\x88", *empty = ascii ? "." : "\xe2\x96\x91";
	size_t o = 0;
	int cells = 0, e8 = 0;

	if (!len)
		return buf;
	if (width < 0)
		width = 0;
	if (den) {
		uint64_t n = num > den ? den : num;
		long double f = (long double)n * width * 8 / den;
		int total8 = (int)f;

		cells = total8 / 8;
		e8 = ascii ? 0 : total8 % 8;
	}
#define PUT(str) do { size_t _l = strlen(str); if (o + _l < len) { memcpy(buf + o, str, _l); o += _l; } } while (0)
	for (int i = 0; i < width; i++) {
		if (i < cells)
			PUT(full);
		else if (i == cells && e8)
			PUT(eighth[e8]);
		else
			PUT(empty);
	}
#undef PUT
	buf[o] = 0;
	return buf;
}

/* ---- layout ---------------------------------------------------------------- */

void mw_view_layout(int cols, int rows, size_t nmaps, int banner, struct mw_view_layout *l)
{
	int avail, maps_rows, y;

	memset(l, 0, sizeof(*l));
	l->cols = cols;
	l->rows = rows;
	if (cols < MW_MIN_COLS || rows < MW_MIN_ROWS) {
		l->too_small = 1;
		return;
	}
	l->header_h = rows >= 14 ? 2 : 1;
	l->banner_h = banner ? 1 : 0;
	avail = rows - l->header_h - l->banner_h - 1;

	/* The event log only when the tables keep a useful height. */
	if (avail >= 18)
		l->log_h = avail >= 24 ? avail / 3 : 4;
	avail -= l->log_h;

	/* Maps: title + column header + one line per map, 1..8 lines, but at
	 * most a third of what is left so the alerts keep the most room. */
	maps_rows = nmaps < 1 ? 1 : nmaps > 8 ? 8 : (int)nmaps;
	if (maps_rows > (avail - 6) / 2)
		maps_rows = (avail - 6) / 2;
	if (maps_rows < 1)
		maps_rows = 1;
	l->maps_h = 2 + maps_rows;
	l->alerts_h = avail - l->maps_h;
	/* Too little left for alerts (title + header + a row): the maps table goes. */
	if (l->alerts_h < 3) {
		l->maps_h = 0;
		l->alerts_h = avail;
	}

	y = 0;
	l->header_y = y;
	y += l->header_h;
	l->banner_y = y;
	y += l->banner_h;
	l->maps_y = y;
	y += l->maps_h;
	l->alerts_y = y;
	y += l->alerts_h;
	l->log_y = y;
	y += l->log_h;
	l->footer_y = rows - 1;
}

int mw_cols_fit(const struct mw_col *cols, int n, int width, int *shown)
{
	int used = 0, maxprio = 0;

	for (int i = 0; i < n; i++) {
		shown[i] = 1;
		used += cols[i].width + (i ? 1 : 0);
		if (cols[i].prio > maxprio)
			maxprio = cols[i].prio;
	}
	/* Drop the least important columns, rightmost first, until it fits. */
	for (int p = maxprio; p > 0 && used > width; p--) {
		for (int i = n - 1; i >= 0 && used > width; i--) {
			if (!shown[i] || cols[i].prio != p)
				continue;
			shown[i] = 0;
			used = 0;
			for (int j = 0, k = 0; j < n; j++)
				if (shown[j])
					used += cols[j].width + (k++ ? 1 : 0);
		}
	}
	return used;
}

size_t mw_scroll(size_t sel, size_t top, size_t n, int height)
{
	size_t h = height > 0 ? (size_t)height : 1;

	if (n <= h)
		return 0;
	if (sel >= n)
		sel = n - 1;
	if (sel < top)
		top = sel;
	else if (sel >= top + h)
		top = sel - h + 1;
	if (top + h > n)
		top = n - h;
	return top;
}

/* ---- sorting ----------------------------------------------------------------- */

static const char *const sort_names[MW_SORT_MAX] = {
	[MW_SORT_ADDR] = "address", [MW_SORT_LEN] = "len", [MW_SORT_B] = "B",
	[MW_SORT_GROW] = "grow", [MW_SORT_ITERS] = "iters", [MW_SORT_WRITES] = "writes/s",
	[MW_SORT_ITERATIONS] = "iter/s", [MW_SORT_ALERTS] = "alerts",
};

const char *mw_sort_name(int key)
{
	return key >= 0 && key < MW_SORT_MAX ? sort_names[key] : "?";
}

/* Old buckets still to evacuate in a grow; 0 when not growing. */
static uint64_t grow_left(const struct mw_map_model *m)
{
	if (!m->growing)
		return 0;
	return m->grow_old_nbuckets > m->nevacuate ? m->grow_old_nbuckets - m->nevacuate : 1;
}

#define DESC(x, y) ((x) > (y) ? -1 : (x) < (y) ? 1 : 0)

int mw_map_cmp(const struct mw_map_model *a, const struct mw_map_model *b, int key)
{
	int r = 0;

	switch (key) {
	case MW_SORT_LEN:	 r = DESC(a->count, b->count); break;
	case MW_SORT_B:		 r = DESC(a->B, b->B); break;
	case MW_SORT_GROW:
		r = DESC(a->growing != 0, b->growing != 0);
		if (!r)
			r = DESC(grow_left(a), grow_left(b));
		break;
	case MW_SORT_ITERS:	 r = DESC(a->n_iters, b->n_iters); break;
	case MW_SORT_WRITES:	 r = DESC(a->write_rate, b->write_rate); break;
	case MW_SORT_ITERATIONS: r = DESC(a->iter_rate, b->iter_rate); break;
	case MW_SORT_ALERTS:	 r = DESC(a->alerts, b->alerts); break;
	default:		 break;
	}
	if (!r)
		r = a->map < b->map ? -1 : a->map > b->map ? 1 : 0;
	return r;
}

struct sort_ctx {
	const struct mw_map_model *const *maps;
	int key;
};

/* Equal keys keep the order of the indices: a stable sort. */
static int idx_cmp(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = mw_map_cmp(c->maps[x], c->maps[y], c->key);

	return r ? r : (x > y) - (x < y);
}

void mw_map_sort(const struct mw_map_model *const *maps, size_t *idx, size_t n, int key)
{
	struct sort_ctx c = { maps, key };

	/* The correlator keeps up to MW_CORR_MAPS_MAX maps, redrawn ten times a second. */
	if (n > 1)
		qsort_r(idx, n, sizeof(*idx), idx_cmp, &c);
}

/* ---- filter ------------------------------------------------------------------ */

int mw_filter_parse(const char *text, struct mw_filter *f)
{
	const char *s = text;
	size_t n = 0;
	int all_dec = 1, all_hex = 1, forced_hex = 0;

	memset(f, 0, sizeof(*f));
	while (*s == ' ')
		s++;
	if (!*s)
		return 0;
	f->active = 1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		forced_hex = 1;
	}
	for (const char *p = s; *p && *p != ' '; p++, n++) {
		if (!isdigit((unsigned char)*p))
			all_dec = 0;
		if (!isxdigit((unsigned char)*p))
			all_hex = 0;
	}
	if (!n || !all_hex || n >= sizeof(f->hex))
		return -1;
	for (size_t i = 0; i < n; i++)
		f->hex[i] = (char)tolower((unsigned char)s[i]);
	f->hex[n] = 0;
	if (all_dec && !forced_hex && n <= 10) {
		unsigned long long v = strtoull(s, NULL, 10);

		if (v <= UINT32_MAX) {
			f->has_tid = 1;
			f->tid = (uint32_t)v;
		}
	}
	return 0;
}

int mw_filter_addr(const struct mw_filter *f, uint64_t addr)
{
	char hex[24];

	if (!f->active)
		return 1;
	if (!f->hex[0] || !addr)
		return 0;
	snprintf(hex, sizeof(hex), "%" PRIx64, addr);
	return strstr(hex, f->hex) != NULL;
}

int mw_filter_tid(const struct mw_filter *f, uint32_t tid)
{
	if (!f->active)
		return 1;
	return f->has_tid && f->tid == tid;
}

int mw_filter_map(const struct mw_filter *f, const struct mw_map_model *m)
{
	if (!f->active || mw_filter_addr(f, m->map))
		return 1;
	if (!f->has_tid)
		return 0;
	for (int i = 0; i < MW_MAX_ITERS; i++)
		if (m->iters[i].hiter && m->iters[i].tid == f->tid)
			return 1;
	return 0;
}

int mw_filter_row(const struct mw_filter *f, const struct mw_alert_row *r)
{
	if (!f->active)
		return 1;
	return mw_filter_addr(f, r->map) || mw_filter_tid(f, r->writer_tid) ||
	       mw_filter_tid(f, r->iter_tid);
}

/* ---- the bucket picture --------------------------------------------------------- */

int64_t mw_bucket_index(uint64_t addr, uint64_t base, uint64_t nbuckets, uint64_t bucketsize)
{
	if (!addr || !base || !bucketsize || addr < base)
		return -1;
	uint64_t off = addr - base;

	if (off / bucketsize >= nbuckets)
		return -1;
	return (int64_t)(off / bucketsize);
}

int mw_bucket_cell(uint64_t idx, uint64_t nbuckets, int ncells)
{
	if (!nbuckets || ncells <= 0)
		return 0;
	if (idx >= nbuckets)
		idx = nbuckets - 1;
	return (int)((long double)idx * ncells / nbuckets);
}

int64_t mw_iter_bucket(const struct mw_iter_model *it, uint64_t n, uint64_t bucketsize)
{
	int64_t i;

	if (!it->hiter || !n)
		return -1;
	i = mw_bucket_index(it->bptr, it->buckets, n, bucketsize);
	if (i >= 0)
		return i;
	/* bptr is an overflow bucket or unknown: the bucket it started last. */
	if (it->next_bucket && it->next_bucket <= n)
		return (int64_t)it->next_bucket - 1;
	return -1;
}
