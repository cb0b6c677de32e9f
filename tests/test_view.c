/* test_view.c — the live view's pure helpers (user/view.c): formatting,
 * bars, layout maths, column fitting, scrolling, sorting, filters and the
 * bucket arithmetic behind the detail picture. */
#include <math.h>
#include "check.h"
#include "view.h"

static char b[256];

TEST(count_formats)
{
	CHECK_EQ_STR(mw_fmt_count(0, b, sizeof(b)), "0");
	CHECK_EQ_STR(mw_fmt_count(999, b, sizeof(b)), "999");
	CHECK_EQ_STR(mw_fmt_count(1000, b, sizeof(b)), "1.00k");
	CHECK_EQ_STR(mw_fmt_count(12345, b, sizeof(b)), "12.3k");
	CHECK_EQ_STR(mw_fmt_count(999499, b, sizeof(b)), "999k");
	CHECK_EQ_STR(mw_fmt_count(999500, b, sizeof(b)), "1.00M");
	CHECK_EQ_STR(mw_fmt_count(4560000, b, sizeof(b)), "4.56M");
	CHECK(strlen(mw_fmt_count(UINT64_MAX, b, sizeof(b))) <= 6);
}

TEST(rate_formats_and_guards)
{
	CHECK_EQ_STR(mw_fmt_rate(0, b, sizeof(b)), "0");
	CHECK_EQ_STR(mw_fmt_rate(0.5, b, sizeof(b)), "0.5");
	CHECK_EQ_STR(mw_fmt_rate(950, b, sizeof(b)), "950");
	CHECK_EQ_STR(mw_fmt_rate(12345.0, b, sizeof(b)), "12.3k");
	CHECK_EQ_STR(mw_fmt_rate(-1, b, sizeof(b)), "-");
	CHECK_EQ_STR(mw_fmt_rate(NAN, b, sizeof(b)), "-");
	CHECK_EQ_STR(mw_fmt_rate(INFINITY, b, sizeof(b)), "-");
}

TEST(durations)
{
	CHECK_EQ_STR(mw_fmt_dur(850, 1, b, sizeof(b)), "850ns");
	CHECK_EQ_STR(mw_fmt_dur(1500, 1, b, sizeof(b)), "1.50us");
	CHECK_EQ_STR(mw_fmt_dur(12300, 1, b, sizeof(b)), "12.3us");
	CHECK_EQ_STR(mw_fmt_dur(12300, 0, b, sizeof(b)), "12.3\xc2\xb5s");
	CHECK_EQ_STR(mw_fmt_dur(1250000, 1, b, sizeof(b)), "1.25ms");
	CHECK_EQ_STR(mw_fmt_dur(3400000000ull, 1, b, sizeof(b)), "3.40s");
	CHECK_EQ_STR(mw_fmt_dur(123000000000ull, 1, b, sizeof(b)), "2m03s");
	CHECK_EQ_STR(mw_fmt_dur(3720ull * 1000000000ull, 1, b, sizeof(b)), "1h02m");
	CHECK_EQ_STR(mw_fmt_dur(273600ull * 1000000000ull, 1, b, sizeof(b)), "3d04h");
}

TEST(uptime_and_addr)
{
	CHECK_EQ_STR(mw_fmt_uptime(83, b, sizeof(b)), "00:01:23");
	CHECK_EQ_STR(mw_fmt_uptime(86400 + 2 * 3600 + 3 * 60 + 4, b, sizeof(b)), "1d 02:03:04");
	CHECK_EQ_STR(mw_fmt_addr(0x7f12a4c0, b, sizeof(b)), "0x7f12a4c0");
	CHECK_EQ_STR(mw_fmt_addr(0, b, sizeof(b)), "-");
}

TEST(formatters_respect_small_buffers)
{
	char s[4];

	mw_fmt_uptime(86400 * 3, s, sizeof(s));
	CHECK(strlen(s) == 3);
	mw_bar(5, 10, 10, 0, s, sizeof(s));
	CHECK(strlen(s) <= 3);
	CHECK_EQ_U64(mw_fit("abcdef", 10, 1, s, sizeof(s)), 3);
}

TEST(fit_truncates_with_ellipsis)
{
	CHECK_EQ_U64(mw_fit("hello", 10, 0, b, sizeof(b)), 5);
	CHECK_EQ_STR(b, "hello");
	CHECK_EQ_U64(mw_fit("hello world", 6, 1, b, sizeof(b)), 6);
	CHECK_EQ_STR(b, "hello~");
	CHECK_EQ_U64(mw_fit("hello world", 6, 0, b, sizeof(b)), 6);
	CHECK_EQ_STR(b, "hello\xe2\x80\xa6");
	/* Multi-byte characters are one column each and are never cut in half. */
	CHECK_EQ_U64(mw_strwidth("a\xe2\x96\x88" "b"), 3);
	CHECK_EQ_U64(mw_fit("\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88", 2, 1, b, sizeof(b)), 2);
	CHECK_EQ_STR(b, "\xe2\x96\x88~");
	CHECK_EQ_U64(mw_fit("x", 0, 0, b, sizeof(b)), 0);
	CHECK_EQ_STR(b, "");
}

TEST(bars)
{
	CHECK_EQ_STR(mw_bar(5, 10, 10, 1, b, sizeof(b)), "#####.....");
	CHECK_EQ_STR(mw_bar(0, 10, 4, 1, b, sizeof(b)), "....");
	CHECK_EQ_STR(mw_bar(20, 10, 4, 1, b, sizeof(b)), "####");
	CHECK_EQ_STR(mw_bar(3, 0, 4, 1, b, sizeof(b)), "....");
	CHECK_EQ_STR(mw_bar(1, 2, 0, 1, b, sizeof(b)), "");
	/* UTF-8: 3/8 of 2 columns = 6 eighths: no full block, then a 6/8 block, then shade. */
	CHECK_EQ_STR(mw_bar(3, 8, 2, 0, b, sizeof(b)), "\xe2\x96\x8a\xe2\x96\x91");
	CHECK_EQ_U64(mw_strwidth(mw_bar(37, 64, 12, 0, b, sizeof(b))), 12);
	CHECK_EQ_U64(mw_bar_cells(37, 64, 10), 5);
	CHECK_EQ_U64(mw_bar_cells(1, 0, 10), 0);
	CHECK_EQ_U64(mw_bar_cells(UINT64_MAX, UINT64_MAX, 10), 10);
}

static void check_layout(const struct mw_view_layout *l)
{
	int sum = l->header_h + l->banner_h + l->maps_h + l->alerts_h + l->log_h + 1;

	CHECK(!l->too_small);
	CHECK(sum <= l->rows);
	CHECK(l->footer_y == l->rows - 1);
	CHECK(l->alerts_h >= 3);
	CHECK(l->alerts_y + l->alerts_h <= l->footer_y);
	CHECK(l->log_y + l->log_h <= l->footer_y);
	/* Panels are stacked without overlap. */
	CHECK(l->maps_y >= l->header_y + l->header_h + l->banner_h);
	CHECK(l->alerts_y >= l->maps_y + l->maps_h);
}

TEST(layout_80x24_has_everything)
{
	struct mw_view_layout l;

	mw_view_layout(80, 24, 1, 0, &l);
	check_layout(&l);
	CHECK(l.header_h == 2);
	CHECK(l.maps_h >= 3);
	CHECK(l.log_h > 0);
	mw_view_layout(80, 24, 1, 1, &l);
	check_layout(&l);
	CHECK(l.banner_h == 1);
}

TEST(layout_degrades)
{
	struct mw_view_layout l;

	mw_view_layout(60, 15, 3, 0, &l);
	check_layout(&l);
	CHECK(l.log_h == 0);
	CHECK(l.maps_h >= 3);
	mw_view_layout(40, 10, 1, 1, &l);
	check_layout(&l);
	CHECK(l.header_h == 1);
	mw_view_layout(39, 24, 1, 0, &l);
	CHECK(l.too_small);
	mw_view_layout(80, 9, 1, 0, &l);
	CHECK(l.too_small);
	/* Many maps never squeeze the alerts out. */
	for (int r = 10; r < 80; r++) {
		mw_view_layout(100, r, 500, r & 1, &l);
		check_layout(&l);
		CHECK(l.maps_h <= 10);
	}
}

TEST(columns_fit)
{
	struct mw_col c[] = { { "A", 10, 0 }, { "B", 10, 2 }, { "C", 10, 1 }, { "D", 10, 2 } };
	int shown[4];

	CHECK_EQ_U64(mw_cols_fit(c, 4, 100, shown), 43);
	CHECK(shown[0] && shown[1] && shown[2] && shown[3]);
	/* 32 wide: drop one prio-2 column, the rightmost (D). */
	CHECK_EQ_U64(mw_cols_fit(c, 4, 32, shown), 32);
	CHECK(shown[0] && shown[1] && shown[2] && !shown[3]);
	CHECK_EQ_U64(mw_cols_fit(c, 4, 21, shown), 21);
	CHECK(shown[0] && !shown[1] && shown[2] && !shown[3]);
	/* Priority 0 stays even when it does not fit. */
	CHECK_EQ_U64(mw_cols_fit(c, 4, 5, shown), 10);
	CHECK(shown[0] && !shown[1] && !shown[2] && !shown[3]);
}

TEST(scroll_keeps_selection_visible)
{
	CHECK_EQ_U64(mw_scroll(0, 0, 5, 10), 0);
	CHECK_EQ_U64(mw_scroll(15, 0, 20, 10), 6);
	CHECK_EQ_U64(mw_scroll(3, 6, 20, 10), 3);
	CHECK_EQ_U64(mw_scroll(19, 15, 20, 10), 10);
	CHECK_EQ_U64(mw_scroll(50, 0, 20, 10), 10);
	CHECK_EQ_U64(mw_scroll(5, 0, 20, 0), 5);
}

static struct mw_map_model mk(uint64_t addr, uint64_t count, double wr, uint64_t alerts)
{
	struct mw_map_model m;

	memset(&m, 0, sizeof(m));
	m.map = addr;
	m.count = count;
	m.write_rate = wr;
	m.alerts = alerts;
	return m;
}

TEST(sorting)
{
	struct mw_map_model a = mk(0x3000, 10, 5.0, 0), bb = mk(0x1000, 30, 1.0, 7),
			    c = mk(0x2000, 20, 9.0, 7);
	const struct mw_map_model *maps[] = { &a, &bb, &c };
	size_t idx[3] = { 0, 1, 2 };

	mw_map_sort(maps, idx, 3, MW_SORT_ADDR);
	CHECK(idx[0] == 1 && idx[1] == 2 && idx[2] == 0);
	mw_map_sort(maps, idx, 3, MW_SORT_LEN);
	CHECK(idx[0] == 1 && idx[1] == 2 && idx[2] == 0);
	mw_map_sort(maps, idx, 3, MW_SORT_WRITES);
	CHECK(idx[0] == 2 && idx[1] == 0 && idx[2] == 1);
	/* Ties (7 alerts each) fall back to the address. */
	mw_map_sort(maps, idx, 3, MW_SORT_ALERTS);
	CHECK(idx[0] == 1 && idx[1] == 2 && idx[2] == 0);
	a.growing = 1;
	a.grow_old_nbuckets = 64;
	a.nevacuate = 10;
	mw_map_sort(maps, idx, 3, MW_SORT_GROW);
	CHECK(idx[0] == 0);
	CHECK_EQ_STR(mw_sort_name(MW_SORT_WRITES), "writes/s");
	CHECK_EQ_STR(mw_sort_name(99), "?");
	CHECK(mw_map_cmp(&a, &a, MW_SORT_LEN) == 0);
}

TEST(filters)
{
	struct mw_filter f;
	struct mw_map_model m = mk(0x55d0c2a0b2c0ull, 1, 0, 0);
	struct mw_alert_row r;

	memset(&r, 0, sizeof(r));
	r.map = 0x7f0000001000ull;
	r.writer_tid = 4242;
	r.iter_tid = 4243;

	CHECK(mw_filter_parse("", &f) == 0 && !f.active);
	CHECK(mw_filter_map(&f, &m) && mw_filter_row(&f, &r));

	CHECK(mw_filter_parse("0x55D0c2", &f) == 0 && f.active && !f.has_tid);
	CHECK(mw_filter_map(&f, &m));
	CHECK(!mw_filter_row(&f, &r));

	CHECK(mw_filter_parse("4242", &f) == 0 && f.has_tid && f.tid == 4242);
	CHECK(mw_filter_row(&f, &r));
	CHECK(!mw_filter_map(&f, &m));
	m.iters[3].hiter = 0x1234;
	m.iters[3].tid = 4242;
	CHECK(mw_filter_map(&f, &m));
	r.writer_tid = 1;
	CHECK(!mw_filter_row(&f, &r));
	r.iter_tid = 4242;
	CHECK(mw_filter_row(&f, &r));

	/* A decimal number can also be part of an address. */
	CHECK(mw_filter_parse("1000", &f) == 0);
	CHECK(mw_filter_row(&f, &r));

	CHECK(mw_filter_parse("zzz", &f) == -1);
	CHECK(!mw_filter_addr(&f, 0x1234));
	CHECK(mw_filter_parse("0x", &f) == -1);
	CHECK(mw_filter_parse("12345678901234567890123456", &f) == -1);
}

TEST(bucket_arithmetic)
{
	struct mw_iter_model it;

	CHECK(mw_bucket_index(0x1000, 0x1000, 8, 144) == 0);
	CHECK(mw_bucket_index(0x1000 + 144 * 7 + 5, 0x1000, 8, 144) == 7);
	CHECK(mw_bucket_index(0x1000 + 144 * 8, 0x1000, 8, 144) == -1);
	CHECK(mw_bucket_index(0xfff, 0x1000, 8, 144) == -1);
	CHECK(mw_bucket_index(0x1000, 0x1000, 8, 0) == -1);
	CHECK(mw_bucket_index(0, 0x1000, 8, 144) == -1);

	CHECK(mw_bucket_cell(0, 128, 64) == 0);
	CHECK(mw_bucket_cell(127, 128, 64) == 63);
	CHECK(mw_bucket_cell(3, 4, 64) == 48);
	CHECK(mw_bucket_cell(500, 128, 64) == 63);
	CHECK(mw_bucket_cell(1, 0, 64) == 0);

	memset(&it, 0, sizeof(it));
	CHECK(mw_iter_bucket(&it, 8, 144) == -1);
	it.hiter = 0xabc;
	it.buckets = 0x1000;
	it.bptr = 0x1000 + 144 * 5;
	it.next_bucket = 6;
	CHECK(mw_iter_bucket(&it, 8, 144) == 5);
	/* In an overflow bucket: the bucket it started last. */
	it.bptr = 0x9000;
	CHECK(mw_iter_bucket(&it, 8, 144) == 5);
	it.next_bucket = 0;
	CHECK(mw_iter_bucket(&it, 8, 144) == -1);
	CHECK(mw_iter_bucket(&it, 0, 144) == -1);
}

CHECK_MAIN()
