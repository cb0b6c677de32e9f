/* test_correlator.c — the correlator from exact synthetic record streams.
 *
 * Each test builds the records BPF would emit for a scenario (an iteration
 * with a write from another thread inside it, a grow, two overlapping
 * writers, reordered or dropped records) and checks the alerts, rows, model
 * and summary field by field.
 */
#include <time.h>

#include "check.h"
#include "correlator.h"
#include "format.h"

#define MAP1  0x7f0000001000ULL
#define MAP2  0x7f0000002000ULL
#define HIT1  0x7ffc00000100ULL
#define HIT2  0x7ffc00000200ULL
#define BKT1  0x7f0000100000ULL
#define BKT2  0x7f0000200000ULL

static struct mw_record rec(unsigned type, uint64_t ts, uint32_t tid, uint64_t map)
{
	struct mw_record r;

	memset(&r, 0, sizeof(r));
	r.type = (__u16)type;
	r.ts = ts;
	r.tid = tid;
	r.pid = 100;
	r.map = map;
	r.bucket = MW_NO_BUCKET;
	r.stack_id = -1;
	r.other_stack_id = -1;
	return r;
}

static struct mw_record iter_start(uint64_t ts, uint32_t tid, uint64_t map, uint64_t hiter)
{
	struct mw_record r = rec(MW_REC_ITER_START, ts, tid, map);
	r.hiter = hiter;
	return r;
}

static struct mw_record iter_end(uint64_t ts, uint32_t tid, uint64_t map, uint64_t hiter)
{
	struct mw_record r = rec(MW_REC_ITER_END, ts, tid, map);
	r.hiter = hiter;
	return r;
}

/* A write by `tid` inside the iteration (hiter, itid) that opened at its_ts. */
static struct mw_record iter_write(uint64_t ts, uint32_t tid, uint64_t map, uint64_t hiter,
				   uint32_t itid, uint64_t its_ts)
{
	struct mw_record r = rec(MW_REC_WRITE, ts, tid, map);
	r.op = MW_OP_ASSIGN;
	r.kind = MW_KIND_ITER_WRITE;
	r.other_tid = itid;
	r.hiter = hiter;
	r.other_ts = its_ts;
	r.iter_bptr = BKT1;
	r.iter_buckets = 0x7f0000090000ULL;
	r.iter_bucket = 3;
	r.stack_id = 7;
	r.other_stack_id = 9;
	return r;
}

static struct mw_corr *corr(int keep)
{
	struct mw_corr_opts o = { .keep_alerts = keep };
	struct mw_corr *c = mw_corr_new(&o);
	if (!c)
		CHECK_FAIL("mw_corr_new failed");
	return c;
}

static struct mw_summary summary(const struct mw_corr *c)
{
	struct mw_summary s;
	mw_corr_summary(c, &s);
	return s;
}

/* ---- alerts --------------------------------------------------------------- */

TEST(iter_write_one_alert)
{
	struct mw_corr *c = corr(1);
	struct mw_record r;

	r = iter_start(1000, 11, MAP1, HIT1);
	CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
	r = iter_write(1500, 22, MAP1, HIT1, 11, 1000);
	r.bucket_hit = 0;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);
	CHECK_EQ_U64(mw_corr_nalerts(c), 1);
	const struct mw_alert *a = mw_corr_alert(c, 0);
	CHECK(a != NULL);
	CHECK_EQ_U64(a->seq, 1);
	CHECK_EQ_U64(a->ts, 1500);
	CHECK_EQ_U64(a->kind, MW_KIND_ITER_WRITE);
	CHECK_EQ_U64(a->map, MAP1);
	CHECK_EQ_U64(a->writer_tid, 22);
	CHECK_EQ_U64(a->iter_tid, 11);
	CHECK_EQ_U64(a->hiter, HIT1);
	CHECK_EQ_U64(a->bucket, BKT1);
	CHECK_EQ_U64(a->bucket2, 0);
	CHECK_EQ_U64(a->overlap_ns, 500);
	CHECK_EQ_U64(a->confidence, MW_CONF_WINDOW);
	CHECK_EQ_U64(a->op, MW_OP_ASSIGN);
	CHECK_EQ_U64(a->writer_stack, 7);
	CHECK_EQ_U64(a->iter_stack, 9);
	CHECK_EQ_U64(a->rec_type, MW_REC_WRITE);
	CHECK(mw_corr_alert(c, 1) == NULL);

	struct mw_summary s = summary(c);
	CHECK_EQ_U64(s.events, 2);
	CHECK_EQ_U64(s.alerts, 1);
	CHECK_EQ_U64(s.alerts_by_kind[MW_KIND_ITER_WRITE], 1);
	CHECK_EQ_U64(s.rows, 1);
	CHECK_EQ_U64(s.maps, 1);
	mw_corr_free(c);
}

TEST(kind_none_no_alerts)
{
	struct mw_corr *c = corr(1);
	struct mw_record r;

	r = iter_start(10, 1, MAP1, HIT1);
	mw_corr_feed(c, &r);
	r = rec(MW_REC_WRITE, 20, 1, MAP1);	/* the iterating thread itself */
	r.op = MW_OP_DELETE;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
	r = rec(MW_REC_GROW, 30, 2, MAP1);
	CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
	r = rec(MW_REC_EVACUATE, 31, 2, MAP1);
	r.bucket = 0;
	r.bucket_addr = BKT2;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
	r = iter_end(40, 1, MAP1, HIT1);
	CHECK_EQ_U64(mw_corr_feed(c, &r), 0);

	struct mw_summary s = summary(c);
	CHECK_EQ_U64(s.events, 5);
	CHECK_EQ_U64(s.alerts, 0);
	CHECK_EQ_U64(s.rows, 0);
	CHECK_EQ_U64(mw_corr_nalerts(c), 0);
	CHECK_EQ_U64(mw_corr_nrows(c), 0);
	mw_corr_free(c);
}

TEST(repeat_raises_alert_but_not_counters)
{
	struct mw_corr *c = corr(1);
	struct mw_record r;

	r = iter_start(100, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	r = iter_start(110, 12, MAP1, HIT2);
	mw_corr_feed(c, &r);
	/* One write by 22, inside both iterations: one record each. */
	r = iter_write(200, 22, MAP1, HIT1, 11, 100);
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);
	r = iter_write(200, 22, MAP1, HIT2, 12, 110);
	r.repeat = 1;
	r.iter_bptr = BKT2;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);

	struct mw_summary s = summary(c);
	CHECK_EQ_U64(s.events, 4);
	CHECK_EQ_U64(s.alerts, 2);
	CHECK_EQ_U64(s.rows, 2);
	const struct mw_alert *a = mw_corr_alert(c, 1);
	CHECK_EQ_U64(a->seq, 2);
	CHECK_EQ_U64(a->iter_tid, 12);
	CHECK_EQ_U64(a->hiter, HIT2);
	CHECK_EQ_U64(a->bucket, BKT2);
	CHECK_EQ_U64(a->overlap_ns, 90);

	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	CHECK(m != NULL);
	CHECK_EQ_U64(m->writes, 1);
	CHECK_EQ_U64(m->alerts, 2);
	CHECK_EQ_U64(m->iter_starts, 2);

	/* Repeats of grows and evacuations do not count either. */
	r = rec(MW_REC_GROW, 300, 22, MAP1);
	r.kind = MW_KIND_ITER_GROW;
	r.other_tid = 11;
	r.hiter = HIT1;
	r.other_ts = 100;
	r.B = 4;
	mw_corr_feed(c, &r);
	r.repeat = 1;
	r.other_tid = 12;
	r.hiter = HIT2;
	r.other_ts = 110;
	mw_corr_feed(c, &r);
	r = rec(MW_REC_EVACUATE, 310, 22, MAP1);
	r.kind = MW_KIND_ITER_GROW;
	r.other_tid = 11;
	r.hiter = HIT1;
	r.other_ts = 100;
	r.bucket = 1;
	r.bucket_addr = BKT2;
	mw_corr_feed(c, &r);
	r.repeat = 1;
	r.other_tid = 12;
	r.hiter = HIT2;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->grows, 1);
	CHECK_EQ_U64(m->evacuations, 1);
	CHECK_EQ_U64(m->alerts, 6);
	s = summary(c);
	CHECK_EQ_U64(s.alerts_by_kind[MW_KIND_ITER_GROW], 4);
	CHECK_EQ_U64(s.events, 8);
	mw_corr_free(c);
}

TEST(iter_start_inside_write)
{
	struct mw_corr *c = corr(1);
	/* BPF: thread 11 began iterating while thread 22's write was in flight.
	 * The record is the iteration's own, so the threads swap roles. */
	struct mw_record r = iter_start(700, 11, MAP1, HIT1);

	r.kind = MW_KIND_ITER_WRITE;
	r.other_tid = 22;
	r.other_ts = 650;
	r.stack_id = 5;
	r.other_stack_id = 6;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);
	const struct mw_alert *a = mw_corr_alert(c, 0);
	CHECK_EQ_U64(a->rec_type, MW_REC_ITER_START);
	CHECK_EQ_U64(a->kind, MW_KIND_ITER_WRITE);
	CHECK_EQ_U64(a->writer_tid, 22);
	CHECK_EQ_U64(a->iter_tid, 11);
	CHECK_EQ_U64(a->writer_stack, 6);
	CHECK_EQ_U64(a->iter_stack, 5);
	CHECK_EQ_U64(a->hiter, HIT1);
	CHECK_EQ_U64(a->overlap_ns, 50);
	/* Same row as a write by 22 inside 11's iteration. */
	r = iter_write(800, 22, MAP1, HIT1, 11, 700);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(mw_corr_nrows(c), 1);
	CHECK_EQ_U64(mw_corr_row(c, 0)->count, 2);
	/* And the iteration is open in the model. */
	CHECK_EQ_U64(mw_corr_find_map(c, MAP1)->n_iters, 1);
	CHECK_EQ_U64(mw_corr_find_map(c, MAP1)->iters[0].bptr, BKT1);
	mw_corr_free(c);
}

TEST(write_write)
{
	struct mw_corr *c = corr(1);
	struct mw_record r = rec(MW_REC_WRITE, 5000, 33, MAP2);

	r.op = MW_OP_DELETE;
	r.kind = MW_KIND_WRITE_WRITE;
	r.other_tid = 44;
	r.other_ts = 4800;
	r.hiter = 0;
	r.stack_id = 3;
	r.other_stack_id = 4;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);
	const struct mw_alert *a = mw_corr_alert(c, 0);
	CHECK_EQ_U64(a->kind, MW_KIND_WRITE_WRITE);
	CHECK_EQ_U64(a->writer_tid, 33);
	CHECK_EQ_U64(a->iter_tid, 44);
	CHECK_EQ_U64(a->overlap_ns, 200);
	CHECK_EQ_U64(a->op, MW_OP_DELETE);
	CHECK_EQ_U64(a->confidence, MW_CONF_WINDOW);
	CHECK_EQ_U64(a->hiter, 0);
	CHECK_EQ_U64(a->bucket, 0);
	CHECK_EQ_U64(a->bucket2, 0);
	CHECK_EQ_U64(a->writer_stack, 3);
	CHECK_EQ_U64(a->iter_stack, 4);
	CHECK_EQ_U64(summary(c).alerts_by_kind[MW_KIND_WRITE_WRITE], 1);

	/* other_ts after ts (clock skew across CPUs): overlap clamps at 0. */
	r.ts = 4000;
	r.other_ts = 4100;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(mw_corr_alert(c, 1)->overlap_ns, 0);
	mw_corr_free(c);
}

TEST(iter_grow_bucket_confidence)
{
	struct mw_corr *c = corr(1);
	struct mw_record r;

	r = iter_start(100, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	r = rec(MW_REC_EVACUATE, 400, 22, MAP1);
	r.kind = MW_KIND_ITER_GROW;
	r.other_tid = 11;
	r.hiter = HIT1;
	r.other_ts = 100;
	r.bucket = 5;
	r.bucket_addr = BKT2;
	r.iter_bptr = BKT2;
	r.bucket_hit = 1;
	r.oldbuckets = 0x7f0000300000ULL;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);
	const struct mw_alert *a = mw_corr_alert(c, 0);
	CHECK_EQ_U64(a->kind, MW_KIND_ITER_GROW);
	CHECK_EQ_U64(a->confidence, MW_CONF_BUCKET);
	CHECK_EQ_U64(a->bucket, BKT2);
	CHECK_EQ_U64(a->bucket2, BKT2);
	CHECK_EQ_U64(a->hiter, HIT1);
	CHECK_EQ_U64(a->writer_tid, 22);
	CHECK_EQ_U64(a->iter_tid, 11);
	CHECK_EQ_U64(a->overlap_ns, 300);
	CHECK_EQ_U64(a->rec_type, MW_REC_EVACUATE);
	CHECK_EQ_U64(mw_corr_row(c, 0)->confidence, MW_CONF_BUCKET);

	/* A GROW record: bucket2 is 0 (no bucket evacuated yet). */
	r = rec(MW_REC_GROW, 300, 23, MAP1);
	r.kind = MW_KIND_ITER_GROW;
	r.other_tid = 11;
	r.hiter = HIT1;
	r.other_ts = 100;
	r.iter_bptr = BKT1;
	mw_corr_feed(c, &r);
	a = mw_corr_alert(c, 1);
	CHECK_EQ_U64(a->bucket, BKT1);
	CHECK_EQ_U64(a->bucket2, 0);
	CHECK_EQ_U64(a->confidence, MW_CONF_WINDOW);
	mw_corr_free(c);
}

/* ---- rows ----------------------------------------------------------------- */

struct cb_log {
	int n;
	uint64_t seq[16];
	uint64_t row_id[16];
	uint64_t row_count[16];
};

static void on_alert(void *ctx, const struct mw_alert *a, const struct mw_alert_row *row)
{
	struct cb_log *l = ctx;
	if (l->n < 16) {
		l->seq[l->n] = a->seq;
		l->row_id[l->n] = row ? row->id : 0;
		l->row_count[l->n] = row ? row->count : 0;
	}
	l->n++;
}

TEST(rows_aggregate_and_never_reorder)
{
	struct cb_log log = { 0 };
	struct mw_corr_opts o = { .keep_alerts = 0, .on_alert = on_alert, .ctx = &log };
	struct mw_corr *c = mw_corr_new(&o);
	struct mw_record r;

	r = iter_start(100, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	r = iter_write(200, 22, MAP1, HIT1, 11, 100);		/* row 1 */
	mw_corr_feed(c, &r);
	r = iter_write(300, 22, MAP1, HIT1, 11, 100);		/* row 1 again */
	r.bucket_hit = 1;
	mw_corr_feed(c, &r);
	r = iter_write(250, 33, MAP1, HIT1, 11, 100);		/* another writer: row 2 */
	mw_corr_feed(c, &r);
	r = iter_write(900, 22, MAP2, HIT1, 11, 100);		/* another map: row 3 */
	mw_corr_feed(c, &r);
	r = iter_write(800, 33, MAP1, HIT1, 11, 100);		/* row 2 again, overlap 700 */
	mw_corr_feed(c, &r);
	r = iter_write(150, 22, MAP1, HIT1, 11, 100);		/* row 1, older than its first */
	mw_corr_feed(c, &r);

	CHECK_EQ_U64(mw_corr_nalerts(c), 0);	/* keep_alerts off */
	CHECK_EQ_U64(mw_corr_nrows(c), 3);
	const struct mw_alert_row *w = mw_corr_row(c, 0);
	CHECK_EQ_U64(w->id, 1);
	CHECK_EQ_U64(w->kind, MW_KIND_ITER_WRITE);
	CHECK_EQ_U64(w->map, MAP1);
	CHECK_EQ_U64(w->writer_tid, 22);
	CHECK_EQ_U64(w->iter_tid, 11);
	CHECK_EQ_U64(w->count, 3);
	CHECK_EQ_U64(w->first_ts, 150);
	CHECK_EQ_U64(w->last_ts, 300);
	CHECK_EQ_U64(w->max_overlap_ns, 200);
	CHECK_EQ_U64(w->confidence, MW_CONF_BUCKET);	/* strongest, not latest */
	CHECK_EQ_U64(w->last.seq, 2);			/* newest by time */
	w = mw_corr_row(c, 1);
	CHECK_EQ_U64(w->id, 2);
	CHECK_EQ_U64(w->writer_tid, 33);
	CHECK_EQ_U64(w->count, 2);
	CHECK_EQ_U64(w->first_ts, 250);
	CHECK_EQ_U64(w->last_ts, 800);
	CHECK_EQ_U64(w->max_overlap_ns, 700);
	CHECK_EQ_U64(w->confidence, MW_CONF_WINDOW);
	w = mw_corr_row(c, 2);
	CHECK_EQ_U64(w->id, 3);
	CHECK_EQ_U64(w->map, MAP2);
	CHECK_EQ_U64(w->count, 1);
	CHECK(mw_corr_row(c, 3) == NULL);

	/* The callback saw every occurrence with its updated row. */
	CHECK_EQ_U64(log.n, 6);
	uint64_t want_id[] = { 1, 1, 2, 3, 2, 1 }, want_count[] = { 1, 2, 1, 1, 2, 3 };
	for (int i = 0; i < 6; i++) {
		CHECK_EQ_U64(log.seq[i], i + 1);
		CHECK_EQ_U64(log.row_id[i], want_id[i]);
		CHECK_EQ_U64(log.row_count[i], want_count[i]);
	}

	/* The same threads under another kind are another row. */
	r = rec(MW_REC_WRITE, 1000, 22, MAP1);
	r.kind = MW_KIND_WRITE_WRITE;
	r.other_tid = 11;
	r.other_ts = 990;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(mw_corr_nrows(c), 4);
	CHECK_EQ_U64(mw_corr_row(c, 3)->kind, MW_KIND_WRITE_WRITE);
	mw_corr_free(c);
}

TEST(many_rows_stay_in_order)
{
	struct mw_corr *c = corr(0);
	struct mw_record r;

	/* Enough rows to grow the index several times. */
	for (uint32_t round = 0; round < 3; round++) {
		for (uint32_t w = 0; w < 5000; w++) {
			r = iter_write(1000 + round * 10000 + w, 1000 + w, MAP1 + (w % 7) * 0x1000,
				       HIT1, 11, 500);
			mw_corr_feed(c, &r);
		}
	}
	CHECK_EQ_U64(mw_corr_nrows(c), 5000);
	for (uint32_t w = 0; w < 5000; w++) {
		const struct mw_alert_row *row = mw_corr_row(c, w);
		CHECK_EQ_U64(row->id, w + 1);
		CHECK_EQ_U64(row->writer_tid, 1000 + w);
		CHECK_EQ_U64(row->count, 3);
		CHECK_EQ_U64(row->first_ts, 1000 + w);
		CHECK_EQ_U64(row->last_ts, 21000 + w);
	}
	CHECK_EQ_U64(mw_corr_nmaps(c), 7);
	for (size_t i = 0; i < 7; i++)
		CHECK_EQ_U64(mw_corr_map(c, i)->map, MAP1 + i * 0x1000);
	mw_corr_free(c);
}

/* ---- ordering and drops ----------------------------------------------------- */

TEST(iter_end_before_start)
{
	struct mw_corr *c = corr(1);
	struct mw_record r;

	r = iter_end(500, 11, MAP1, HIT1);		/* arrives first */
	mw_corr_feed(c, &r);
	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	CHECK_EQ_U64(m->n_iters, 0);
	r = iter_start(100, 11, MAP1, HIT1);		/* its start, late */
	mw_corr_feed(c, &r);
	m = mw_corr_find_map(c, MAP1);
	CHECK_EQ_U64(m->n_iters, 0);
	CHECK_EQ_U64(m->iter_starts, 1);
	CHECK_EQ_U64(m->iter_ends, 1);

	/* The same hiter reused later by the same thread opens normally. */
	r = iter_start(600, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 1);
	/* An end older than this start does not close it. */
	r = iter_end(550, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 1);
	/* An end by another thread does not close it either. */
	r = iter_end(700, 12, MAP1, HIT1);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 1);
	r = iter_end(700, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 0);
	CHECK_EQ_U64(m->iter_starts, 2);
	CHECK_EQ_U64(m->iter_ends, 4);
	CHECK_EQ_U64(summary(c).alerts, 0);
	mw_corr_free(c);
}

TEST(reused_hiter_reordered)
{
	struct mw_corr *c = corr(1);
	struct mw_record r;

	/* start1 start2 end1 end2, where start2 overtook end1. */
	r = iter_start(100, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	r = iter_start(300, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	CHECK_EQ_U64(m->n_iters, 1);		/* start2 replaced start1 */
	CHECK_EQ_U64(m->iters[0].start_ts, 300);
	r = iter_end(200, 11, MAP1, HIT1);	/* end1: matches no open iteration */
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 1);
	r = iter_end(400, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 0);

	/* A start older than the iteration open on that hiter is already over. */
	r = iter_start(1000, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	r = iter_start(900, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 1);
	CHECK_EQ_U64(m->iters[0].start_ts, 1000);
	mw_corr_free(c);
}

TEST(alerts_out_of_order_and_model_no_rollback)
{
	struct mw_corr *c = corr(1);
	struct mw_record r;

	r = iter_start(100, 11, MAP1, HIT1);
	r.count = 10;
	r.B = 3;
	r.buckets = 0xb000;
	mw_corr_feed(c, &r);
	r = iter_write(500, 22, MAP1, HIT1, 11, 100);
	r.count = 12;
	r.B = 3;
	r.buckets = 0xb000;
	r.iter_bptr = 0xb100;
	r.iter_bucket = 5;
	mw_corr_feed(c, &r);
	/* An older write, from another CPU, arrives late: still an alert. */
	r = iter_write(300, 22, MAP1, HIT1, 11, 100);
	r.count = 11;
	r.B = 2;
	r.buckets = 0xa000;
	r.oldbuckets = 0x9000;
	r.iter_bptr = 0xb080;
	r.iter_bucket = 2;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);

	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	CHECK_EQ_U64(m->count, 12);
	CHECK_EQ_U64(m->B, 3);
	CHECK_EQ_U64(m->buckets, 0xb000);
	CHECK_EQ_U64(m->oldbuckets, 0);
	CHECK_EQ_U64(m->growing, 0);
	CHECK_EQ_U64(m->first_ts, 100);
	CHECK_EQ_U64(m->last_ts, 500);
	CHECK_EQ_U64(m->writes, 2);
	/* The iterator's position stays the newest one. */
	CHECK_EQ_U64(m->n_iters, 1);
	CHECK_EQ_U64(m->iters[0].bptr, 0xb100);
	CHECK_EQ_U64(m->iters[0].next_bucket, 5);
	CHECK_EQ_U64(m->iters[0].buckets, 0x7f0000090000ULL);

	CHECK_EQ_U64(mw_corr_alert(c, 0)->ts, 500);
	CHECK_EQ_U64(mw_corr_alert(c, 1)->ts, 300);
	CHECK_EQ_U64(mw_corr_alert(c, 1)->seq, 2);
	const struct mw_alert_row *row = mw_corr_row(c, 0);
	CHECK_EQ_U64(row->count, 2);
	CHECK_EQ_U64(row->first_ts, 300);
	CHECK_EQ_U64(row->last_ts, 500);
	struct mw_summary s = summary(c);
	CHECK_EQ_U64(s.first_ts, 100);
	CHECK_EQ_U64(s.last_ts, 500);
	mw_corr_free(c);
}

TEST(dropped_records_never_alert)
{
	struct mw_corr *c = corr(1);
	struct mw_record r;

	/* ITER_START of thread 11 dropped: its end and writes by others inside
	 * it (BPF did not see the iteration either, so kind NONE) raise nothing. */
	r = rec(MW_REC_WRITE, 200, 22, MAP1);
	r.op = MW_OP_ASSIGN;
	mw_corr_feed(c, &r);
	r = iter_end(300, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	CHECK_EQ_U64(m->n_iters, 0);

	/* ITER_END of thread 12 dropped: the model keeps it open, yet later
	 * writes (BPF closed it, kind NONE) raise nothing. */
	r = iter_start(400, 12, MAP1, HIT2);
	mw_corr_feed(c, &r);
	r = rec(MW_REC_WRITE, 600, 22, MAP1);
	r.op = MW_OP_CLEAR;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 1);
	CHECK_EQ_U64(summary(c).alerts, 0);
	CHECK_EQ_U64(mw_corr_nrows(c), 0);

	/* The next iteration through the same hiter replaces the stale one. */
	r = iter_start(700, 12, MAP1, HIT2);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 1);
	CHECK_EQ_U64(m->iters[0].start_ts, 700);
	mw_corr_free(c);
}

TEST(iter_end_names_its_start)
{
	struct mw_corr *c = corr(0);
	struct mw_record r;

	/* BPF puts the start it paired an end with in other_ts. */
	r = iter_start(100, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	/* The end of a later iteration on the same hiter, whose start is
	 * still in flight: the open one (100) is over too; 300 must not open. */
	r = iter_end(400, 11, MAP1, HIT1);
	r.other_ts = 300;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 0);
	r = iter_start(300, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 0);

	/* An end naming another start does not consume an unrelated early end. */
	r = iter_end(900, 11, MAP1, HIT2);
	r.other_ts = 800;
	mw_corr_feed(c, &r);
	r = iter_start(700, 11, MAP1, HIT2);	/* an older iteration, whose end was lost */
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 1);
	r = iter_start(800, 11, MAP1, HIT2);	/* the one that ended: closes the stale 700 too */
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 0);

	/* The normal case: end names the open start. */
	r = iter_start(1000, 12, MAP1, HIT1);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 1);
	r = iter_end(1100, 12, MAP1, HIT1);
	r.other_ts = 1000;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, 0);
	CHECK_EQ_U64(m->iter_starts, 5);
	CHECK_EQ_U64(m->iter_ends, 3);
	mw_corr_free(c);
}

TEST(iteration_slots_bounded)
{
	struct mw_corr *c = corr(0);
	struct mw_record r;

	for (uint32_t i = 0; i < MW_MAX_ITERS + 3; i++) {
		r = iter_start(100 + i, 50 + i, MAP1, HIT1 + i * 0x100);
		mw_corr_feed(c, &r);
	}
	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	CHECK_EQ_U64(m->n_iters, MW_MAX_ITERS);
	/* The three oldest were evicted. */
	for (int i = 0; i < MW_MAX_ITERS; i++)
		CHECK(m->iters[i].start_ts >= 103);
	r = iter_end(200, 50 + 5, MAP1, HIT1 + 5 * 0x100);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->n_iters, MW_MAX_ITERS - 1);
	mw_corr_free(c);
}

TEST(unknown_records_ignored)
{
	struct mw_corr *c = corr(1);
	struct mw_record r;

	r = rec(0, 100, 1, MAP1);
	CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
	r = rec(MW_REC_TYPE_MAX, 100, 1, MAP1);
	r.kind = MW_KIND_ITER_WRITE;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
	r = rec(MW_REC_WRITE, 100, 1, MAP1);
	r.kind = MW_KIND_MAX;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
	r.kind = 200;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
	r = rec(0xffff, 100, 1, MAP1);
	CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
	struct mw_summary s = summary(c);
	CHECK_EQ_U64(s.events, 5);
	CHECK_EQ_U64(s.alerts, 0);
	CHECK_EQ_U64(s.maps, 0);
	CHECK_EQ_U64(s.first_ts, 0);
	CHECK_EQ_U64(s.last_ts, 0);
	mw_corr_free(c);
}

/* ---- stats and summary ------------------------------------------------------ */

TEST(stats_drops)
{
	struct mw_corr *c = corr(0);
	struct mw_record r;

	r = rec(MW_REC_STATS, 1000, 0, 0);
	r.aux = 3;
	r.aux2 = 1;
	r.count = 500;
	mw_corr_feed(c, &r);
	r = rec(MW_REC_STATS, 3000, 0, 0);
	r.aux = 7;
	r.aux2 = 2;
	r.count = 1500;
	mw_corr_feed(c, &r);
	r = rec(MW_REC_STATS, 2000, 0, 0);	/* reordered: an older sample */
	r.aux = 5;
	r.aux2 = 2;
	r.count = 1000;
	mw_corr_feed(c, &r);

	struct mw_summary s = summary(c);
	CHECK_EQ_U64(s.events, 3);
	CHECK_EQ_U64(s.rb_drops, 7);
	CHECK_EQ_U64(s.map_drops, 2);
	CHECK_EQ_U64(s.drops, 9);
	CHECK_EQ_U64(s.bpf_hits, 1500);
	CHECK_EQ_U64(s.alerts, 0);
	CHECK_EQ_U64(s.maps, 0);
	CHECK_EQ_U64(s.first_ts, 1000);
	CHECK_EQ_U64(s.last_ts, 3000);
	mw_corr_free(c);
}

TEST(summary_json_exact)
{
	struct mw_corr *c = corr(0);
	struct mw_record r;
	char buf[512];

	r = iter_start(100, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	r = iter_write(200, 22, MAP1, HIT1, 11, 100);
	mw_corr_feed(c, &r);
	r = rec(MW_REC_WRITE, 250, 22, MAP2);
	r.kind = MW_KIND_WRITE_WRITE;
	r.other_tid = 33;
	r.other_ts = 240;
	mw_corr_feed(c, &r);
	r = rec(MW_REC_STATS, 300, 0, 0);
	r.aux = 4;
	r.aux2 = 1;
	r.count = 99;
	mw_corr_feed(c, &r);

	struct mw_summary s = summary(c);
	int n = mw_fmt_summary_json(buf, sizeof(buf), &s, NULL);
	const char *want = "{\"type\":\"summary\",\"events\":4,\"drops\":5,\"alerts\":2,"
		"\"alerts_by_kind\":{\"iter-write\":1,\"iter-grow\":0,\"write-write\":1,"
		"\"read-write\":0,\"clone-write\":0},\"unconfirmed\":0,"
		"\"runtime_caught\":{\"iter-write\":0,\"write-write\":0,\"read-write\":0,\"clone-write\":0},"
		"\"rows\":2,\"maps\":2,\"rb_drops\":4,\"map_drops\":1,\"probe_hits\":99,"
		"\"first_ts\":100,\"last_ts\":300}";
	CHECK_EQ_STR(buf, want);
	CHECK_EQ_U64(n, strlen(want));
	/* snprintf semantics: truncated, still the full length returned. */
	char small[16];
	CHECK_EQ_U64(mw_fmt_summary_json(small, sizeof(small), &s, NULL), strlen(want));
	CHECK_EQ_U64(strlen(small), sizeof(small) - 1);
	CHECK_EQ_U64(mw_fmt_summary_json(NULL, 0, &s, NULL), strlen(want));
	mw_corr_free(c);
}

TEST(alert_json_exact)
{
	struct mw_corr *c = corr(1);
	struct mw_record r;
	char buf[512];

	r = rec(MW_REC_EVACUATE, 123456789, 22, 0xc000012345ULL);
	r.kind = MW_KIND_ITER_GROW;
	r.other_tid = 11;
	r.other_ts = 123450000;
	r.hiter = 0x7ffd0040ULL;
	r.iter_bptr = 0xc000100000ULL;
	r.bucket = 7;
	r.bucket_addr = 0xc000100000ULL;
	r.bucket_hit = 1;
	r.stack_id = 12;
	r.other_stack_id = -1;
	mw_corr_feed(c, &r);
	int n = mw_fmt_alert_json(buf, sizeof(buf), mw_corr_alert(c, 0), NULL, NULL, NULL);
	const char *want = "{\"type\":\"alert\",\"seq\":1,\"ts\":123456789,\"kind\":\"iter-grow\","
		"\"map\":\"0xc000012345\",\"bucket\":\"0xc000100000\",\"bucket2\":\"0xc000100000\","
		"\"hiter\":\"0x7ffd0040\",\"writer_tid\":22,\"iter_tid\":11,\"overlap_ns\":6789,"
		"\"confidence\":\"bucket\",\"op\":\"none\",\"writer_stack_id\":12,\"iter_stack_id\":-1,"
		"\"writer_stack\":[],\"iter_stack\":[]}";
	CHECK_EQ_STR(buf, want);
	CHECK_EQ_U64(n, strlen(want));
	CHECK_EQ_U64(mw_fmt_alert_json(NULL, 0, mw_corr_alert(c, 0), NULL, NULL, NULL), strlen(want));

	r = rec(MW_REC_WRITE, 10, 5, 0x1000);
	r.kind = MW_KIND_WRITE_WRITE;
	r.op = MW_OP_CLEAR;
	r.other_tid = 6;
	r.other_ts = 4;
	mw_corr_feed(c, &r);
	mw_fmt_alert_json(buf, sizeof(buf), mw_corr_alert(c, 1), NULL, NULL, NULL);
	CHECK_EQ_STR(buf, "{\"type\":\"alert\",\"seq\":2,\"ts\":10,\"kind\":\"write-write\","
		"\"map\":\"0x1000\",\"bucket\":\"0x0\",\"bucket2\":\"0x0\",\"hiter\":\"0x0\","
		"\"writer_tid\":5,\"iter_tid\":6,\"overlap_ns\":6,\"confidence\":\"window\","
		"\"op\":\"clear\",\"writer_stack_id\":-1,\"iter_stack_id\":-1,"
		"\"writer_stack\":[],\"iter_stack\":[]}");
	mw_corr_free(c);
}

TEST(names)
{
	CHECK_EQ_STR(mw_kind_name(MW_KIND_NONE), "none");
	CHECK_EQ_STR(mw_kind_name(MW_KIND_ITER_WRITE), "iter-write");
	CHECK_EQ_STR(mw_kind_name(MW_KIND_ITER_GROW), "iter-grow");
	CHECK_EQ_STR(mw_kind_name(MW_KIND_WRITE_WRITE), "write-write");
	CHECK_EQ_STR(mw_kind_name(MW_KIND_MAX), "?");
	CHECK_EQ_STR(mw_kind_name(~0u), "?");
	CHECK_EQ_STR(mw_op_name(MW_OP_NONE), "none");
	CHECK_EQ_STR(mw_op_name(MW_OP_ASSIGN), "assign");
	CHECK_EQ_STR(mw_op_name(MW_OP_DELETE), "delete");
	CHECK_EQ_STR(mw_op_name(MW_OP_CLEAR), "clear");
	CHECK_EQ_STR(mw_op_name(4), "?");
	CHECK_EQ_STR(mw_conf_name(MW_CONF_WINDOW), "window");
	CHECK_EQ_STR(mw_conf_name(MW_CONF_BUCKET), "bucket");
	CHECK_EQ_STR(mw_conf_name(2), "?");
}

TEST(empty_corr)
{
	struct mw_corr *c = mw_corr_new(NULL);
	char buf[512];

	CHECK(c != NULL);
	struct mw_summary s = summary(c);
	mw_fmt_summary_json(buf, sizeof(buf), &s, NULL);
	CHECK_EQ_STR(buf, "{\"type\":\"summary\",\"events\":0,\"drops\":0,\"alerts\":0,"
		"\"alerts_by_kind\":{\"iter-write\":0,\"iter-grow\":0,\"write-write\":0,"
		"\"read-write\":0,\"clone-write\":0},\"unconfirmed\":0,"
		"\"runtime_caught\":{\"iter-write\":0,\"write-write\":0,\"read-write\":0,\"clone-write\":0},"
		"\"rows\":0,\"maps\":0,\"rb_drops\":0,\"map_drops\":0,\"probe_hits\":0,"
		"\"first_ts\":0,\"last_ts\":0}");
	CHECK(mw_corr_map(c, 0) == NULL);
	CHECK(mw_corr_find_map(c, MAP1) == NULL);
	CHECK(mw_corr_row(c, 0) == NULL);
	CHECK(mw_corr_alert(c, 0) == NULL);
	mw_corr_free(c);
	mw_corr_free(NULL);
}

/* ---- the map model ---------------------------------------------------------- */

TEST(map_model_counts_and_grow)
{
	struct mw_corr *c = corr(0);
	struct mw_record r;

	r = rec(MW_REC_WRITE, 100, 1, MAP1);
	r.count = 40;
	r.B = 3;
	r.buckets = 0xa000;
	mw_corr_feed(c, &r);
	r = rec(MW_REC_WRITE, 110, 1, MAP2);	/* second map, first seen second */
	mw_corr_feed(c, &r);
	r = rec(MW_REC_GROW, 120, 1, MAP1);
	r.count = 53;
	r.B = 3;
	r.buckets = 0xa000;
	mw_corr_feed(c, &r);
	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	CHECK_EQ_U64(m->grows, 1);
	CHECK_EQ_U64(m->grow_start_ts, 120);
	CHECK_EQ_U64(m->grow_old_nbuckets, 8);
	CHECK_EQ_U64(m->growing, 1);
	CHECK_EQ_U64(m->samesize, 0);

	r = rec(MW_REC_EVACUATE, 130, 1, MAP1);
	r.count = 54;
	r.B = 4;
	r.hflags = 0;
	r.buckets = 0xb000;
	r.oldbuckets = 0xa000;
	r.nevacuate = 0;
	r.bucket = 0;
	r.bucket_addr = 0xa000;
	mw_corr_feed(c, &r);
	r.ts = 140;
	r.bucket = 1;
	r.bucket_addr = 0xa100;
	r.nevacuate = 1;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->evacuations, 2);
	CHECK_EQ_U64(m->B, 4);
	CHECK_EQ_U64(m->buckets, 0xb000);
	CHECK_EQ_U64(m->oldbuckets, 0xa000);
	CHECK_EQ_U64(m->nevacuate, 1);
	CHECK_EQ_U64(m->count, 54);
	CHECK_EQ_U64(m->growing, 1);
	CHECK_EQ_U64(m->n_recent, 2);
	CHECK_EQ_U64(m->recent[0], 0xa000);
	CHECK_EQ_U64(m->recent[1], 0xa100);
	CHECK_EQ_U64(m->recent_kind[1], MW_KIND_NONE);
	CHECK_EQ_U64(m->recent_head, 2);

	/* Grow done: oldbuckets nil again. Then a same-size grow. */
	r = rec(MW_REC_WRITE, 150, 1, MAP1);
	r.B = 4;
	r.buckets = 0xb000;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->growing, 0);
	r = rec(MW_REC_GROW, 160, 1, MAP1);
	r.B = 4;
	mw_corr_feed(c, &r);
	r = rec(MW_REC_WRITE, 170, 1, MAP1);
	r.B = 4;
	r.hflags = 8;
	r.oldbuckets = 0xb000;
	r.buckets = 0xc000;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->grows, 2);
	CHECK_EQ_U64(m->grow_old_nbuckets, 16);
	CHECK_EQ_U64(m->samesize, 1);
	CHECK_EQ_U64(m->growing, 1);
	CHECK_EQ_U64(m->flags, 8);
	CHECK_EQ_U64(m->writes, 3);
	CHECK_EQ_U64(m->first_ts, 100);
	CHECK_EQ_U64(m->last_ts, 170);

	CHECK_EQ_U64(mw_corr_nmaps(c), 2);
	CHECK_EQ_U64(mw_corr_map(c, 0)->map, MAP1);
	CHECK_EQ_U64(mw_corr_map(c, 1)->map, MAP2);
	CHECK_EQ_U64(mw_corr_map(c, 1)->writes, 1);
	CHECK(mw_corr_map(c, 2) == NULL);
	mw_corr_free(c);
}

TEST(recent_ring_wraps)
{
	struct mw_corr *c = corr(0);
	struct mw_record r;

	for (uint64_t i = 0; i < MW_RECENT_WRITES + 5; i++) {
		r = rec(MW_REC_EVACUATE, 100 + i, 1, MAP1);
		r.bucket = i;
		r.bucket_addr = 0x10000 + i * 0x100;
		mw_corr_feed(c, &r);
	}
	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	CHECK_EQ_U64(m->n_recent, MW_RECENT_WRITES);
	CHECK_EQ_U64(m->recent_head, 5);
	/* Newest is just before head; oldest kept is at head. */
	CHECK_EQ_U64(m->recent[4], 0x10000 + (MW_RECENT_WRITES + 4) * 0x100);
	CHECK_EQ_U64(m->recent[5], 0x10000 + 5 * 0x100);

	/* An iter-write records the iterator's bucket with its kind. */
	r = iter_write(1000, 22, MAP1, HIT1, 11, 900);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->recent[5], BKT1);
	CHECK_EQ_U64(m->recent_kind[5], MW_KIND_ITER_WRITE);
	/* Its repeat for the same bucket is not pushed twice. */
	r.repeat = 1;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->recent_head, 6);
	mw_corr_free(c);
}

TEST(map_sample_rates)
{
	struct mw_corr *c = corr(0);
	struct mw_map_sample s;

	memset(&s, 0, sizeof(s));
	s.map = MAP1;
	s.ts = 1000000000ULL;
	s.writes = 100;
	s.iterations = 10;
	mw_corr_map_sample(c, &s);	/* creates the model */
	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	CHECK(m != NULL);
	CHECK_EQ_U64(mw_corr_nmaps(c), 1);
	CHECK_EQ_U64(m->bpf_writes, 100);
	CHECK(m->write_rate == 0.0);	/* one sample: no rate yet */

	s.ts += 500000000ULL;		/* half a second later */
	s.writes = 600;
	s.iterations = 30;
	s.grows = 2;
	s.evacuations = 16;
	mw_corr_map_sample(c, &s);
	CHECK(m->write_rate == 1000.0);
	CHECK(m->iter_rate == 40.0);
	CHECK_EQ_U64(m->bpf_grows, 2);
	CHECK_EQ_U64(m->bpf_evacuations, 16);

	/* Zero dt: counters taken, rates kept, no division by zero. */
	s.writes = 700;
	mw_corr_map_sample(c, &s);
	CHECK(m->write_rate == 1000.0);
	CHECK_EQ_U64(m->bpf_writes, 700);

	/* Backwards time: ignored entirely. */
	s.ts -= 100000000ULL;
	s.writes = 650;
	mw_corr_map_sample(c, &s);
	CHECK(m->write_rate == 1000.0);
	CHECK_EQ_U64(m->bpf_writes, 700);

	/* One second after the last good sample, from 700. */
	s.ts = 2500000000ULL;
	s.writes = 900;
	s.iterations = 30;
	mw_corr_map_sample(c, &s);
	CHECK(m->write_rate == 200.0);
	CHECK(m->iter_rate == 0.0);

	/* A counter that went down (state recreated): rate 0, not huge. */
	s.ts = 3500000000ULL;
	s.writes = 5;
	mw_corr_map_sample(c, &s);
	CHECK(m->write_rate == 0.0);
	CHECK_EQ_U64(m->bpf_writes, 5);
	CHECK_EQ_U64(m->count, 0);	/* no hmap yet */

	/* have_hmap fills the header, subject to the no-rollback rule. */
	s.ts = 4000000000ULL;
	s.have_hmap = 1;
	s.count = 77;
	s.B = 5;
	s.flags = 8;
	s.buckets = 0xd000;
	s.oldbuckets = 0xc000;
	s.nevacuate = 3;
	mw_corr_map_sample(c, &s);
	CHECK_EQ_U64(m->count, 77);
	CHECK_EQ_U64(m->B, 5);
	CHECK_EQ_U64(m->buckets, 0xd000);
	CHECK_EQ_U64(m->oldbuckets, 0xc000);
	CHECK_EQ_U64(m->nevacuate, 3);
	CHECK_EQ_U64(m->growing, 1);
	CHECK_EQ_U64(m->samesize, 1);
	struct mw_record r = rec(MW_REC_WRITE, 3900000000ULL, 1, MAP1);	/* older record */
	r.count = 70;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->count, 77);
	CHECK_EQ_U64(m->writes, 1);
	r.ts = 4100000000ULL;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(m->count, 70);
	CHECK_EQ_U64(m->growing, 0);

	/* Samples never touch the summary's alerts or events. */
	struct mw_summary sum;
	mw_corr_summary(c, &sum);
	CHECK_EQ_U64(sum.events, 2);
	CHECK_EQ_U64(sum.maps, 1);

	/* map 0 is ignored. */
	s.map = 0;
	mw_corr_map_sample(c, &s);
	CHECK_EQ_U64(mw_corr_nmaps(c), 1);
	mw_corr_free(c);
}

TEST(many_maps)
{
	struct mw_corr_opts o = { .maps_max = 1 << 16 };	/* over the default cap: no eviction */
	struct mw_corr *c = mw_corr_new(&o);
	struct mw_record r;

	/* Interleaved so the last-map cache misses and the index grows often. */
	for (int round = 0; round < 2; round++) {
		for (uint64_t i = 0; i < 20000; i++) {
			r = rec(MW_REC_WRITE, 100 + round * 100000 + i, 1, 0x10000000ULL + i * 0x40);
			r.count = round * 100000 + i;
			mw_corr_feed(c, &r);
		}
	}
	CHECK_EQ_U64(mw_corr_nmaps(c), 20000);
	for (uint64_t i = 0; i < 20000; i++) {
		const struct mw_map_model *m = mw_corr_find_map(c, 0x10000000ULL + i * 0x40);
		CHECK(m != NULL);
		CHECK(m == mw_corr_map(c, i));
		CHECK_EQ_U64(m->writes, 2);
		CHECK_EQ_U64(m->count, 100000 + i);
		CHECK_EQ_U64(m->first_ts, 100 + i);
	}
	CHECK(mw_corr_find_map(c, 0x10000000ULL + 20000 * 0x40) == NULL);
	mw_corr_free(c);
}

/* ---- scale ------------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

TEST(million_records)
{
	enum { N = 1000000, NMAPS = 61 };	/* prime: every map gets non-STATS records */
	struct mw_corr *c = corr(0);
	struct mw_record *rs = calloc(N, sizeof(*rs));
	uint64_t want_alerts = 0;

	CHECK(rs != NULL);
	/* A mixed stream: writes on many maps, iterations, some alerts. */
	for (uint32_t i = 0; i < N; i++) {
		uint64_t map = MAP1 + (i % NMAPS) * 0x1000;
		uint64_t ts = 1000 + (uint64_t)i * 10;
		switch (i % 16) {
		case 0:
			rs[i] = iter_start(ts, 11 + i % 4, map, HIT1);
			break;
		case 8:
			rs[i] = iter_end(ts, 11 + (i - 8) % 4, map, HIT1);
			break;
		case 3: case 11:
			rs[i] = iter_write(ts, 20 + i % 32, map, HIT1, 11, ts - 30);
			want_alerts++;
			break;
		case 15:
			rs[i] = rec(MW_REC_STATS, ts, 0, 0);
			rs[i].aux = i / 1000;
			break;
		default:
			rs[i] = rec(MW_REC_WRITE, ts, 20 + i % 32, map);
			rs[i].op = MW_OP_ASSIGN;
			rs[i].count = i;
			break;
		}
	}
	double t0 = now_s();
	for (uint32_t i = 0; i < N; i++)
		mw_corr_feed(c, &rs[i]);
	double dt = now_s() - t0;
	printf("  fed %d records in %.3f s: %.1f M records/s\n",
	       N, dt, N / dt / 1e6);

	struct mw_summary s = summary(c);
	CHECK_EQ_U64(s.events, N);
	CHECK_EQ_U64(s.alerts, want_alerts);
	CHECK_EQ_U64(s.maps, NMAPS);
	CHECK(s.rows <= 32 * NMAPS);
	CHECK_EQ_U64(s.rb_drops, (N - 1) / 1000);
	free(rs);
	mw_corr_free(c);
}

/* Aggregated records (BPF counted repeats of one race: mw_record.n): every
 * total counts n, the alert carries n and the number of its first
 * occurrence, and what is read from BPF at detach (repeat, n) adds the rest. */
TEST(aggregated_counts)
{
	struct mw_corr *c = corr(1);
	struct mw_record r;
	char buf[1024];

	r = iter_start(1000, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	r = iter_write(1500, 22, MAP1, HIT1, 11, 1000);	/* the race's first occurrence */
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);
	r = iter_write(2500, 22, MAP1, HIT1, 11, 1000);	/* 100 ms later: 500 since */
	r.n = 500;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 500);
	r.repeat = 1;					/* left in BPF at detach */
	r.n = 37;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 37);
	r = rec(MW_REC_WRITE, 3000, 23, MAP1);		/* write-write, aggregated too */
	r.op = MW_OP_DELETE;
	r.kind = MW_KIND_WRITE_WRITE;
	r.other_tid = 22;
	r.other_ts = 2900;
	r.n = 4;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 4);

	CHECK_EQ_U64(mw_corr_nalerts(c), 4);
	const struct mw_alert *a = mw_corr_alert(c, 0);
	CHECK_EQ_U64(a->seq, 1);
	CHECK_EQ_U64(a->n, 1);
	a = mw_corr_alert(c, 1);
	CHECK_EQ_U64(a->seq, 2);
	CHECK_EQ_U64(a->n, 500);
	a = mw_corr_alert(c, 2);
	CHECK_EQ_U64(a->seq, 502);
	CHECK_EQ_U64(a->n, 37);
	a = mw_corr_alert(c, 3);
	CHECK_EQ_U64(a->seq, 539);
	CHECK_EQ_U64(a->n, 4);
	CHECK(mw_fmt_alert_json(buf, sizeof(buf), a, NULL, NULL, NULL) > 0);
	CHECK(strstr(buf, "\"n\":4,") != NULL);
	CHECK(mw_fmt_alert_json(buf, sizeof(buf), mw_corr_alert(c, 0), NULL, NULL, NULL) > 0);
	CHECK(strstr(buf, "\"n\":") == NULL);	/* one occurrence: the line as before */

	struct mw_summary s = summary(c);
	CHECK_EQ_U64(s.alerts, 542);
	CHECK_EQ_U64(s.alerts_by_kind[MW_KIND_ITER_WRITE], 538);
	CHECK_EQ_U64(s.alerts_by_kind[MW_KIND_WRITE_WRITE], 4);
	CHECK_EQ_U64(s.rows, 2);
	const struct mw_alert_row *row = mw_corr_row(c, 0);
	CHECK_EQ_U64(row->count, 538);
	CHECK_EQ_U64(row->first_ts, 1500);
	CHECK_EQ_U64(row->last_ts, 2500);
	CHECK_EQ_U64(mw_corr_row(c, 1)->count, 4);
	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	CHECK_EQ_U64(m->alerts, 542);
	CHECK_EQ_U64(m->writes, 3);	/* the detach record is no new write */
	mw_corr_free(c);
}

/* Go: an aggregated pending record holds its n until the iteration is seen
 * moving on (then n alerts) or found abandoned (then n unconfirmed). */
TEST(aggregated_pending)
{
	struct mw_corr *c = corr(1);
	struct mw_record r;

	for (int k = 0; k < 2; k++) {
		uint64_t seq = 5 + (uint64_t)k;
		r = iter_start(1000, 11, MAP1, HIT1 + (uint64_t)k);
		r.gid = 30;
		r.iter_seq = seq;
		mw_corr_feed(c, &r);
		r = iter_write(1500, 22, MAP1, HIT1 + (uint64_t)k, 11, 1000);
		r.gid = 40;
		r.other_gid = 30;
		r.iter_seq = seq;
		r.flags = MW_RF_PENDING;
		r.n = 7;
		CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
		CHECK_EQ_U64(summary(c).alerts, k ? 7 : 0);	/* held, not counted */
		if (k == 0) {
			r = rec(MW_REC_CONFIRM, 1600, 11, MAP1);
			r.iter_seq = seq;
			CHECK_EQ_U64(mw_corr_feed(c, &r), 7);
		} else {
			r = iter_end(1700, 11, MAP1, HIT1 + 1);
			r.gid = 30;
			r.iter_seq = seq;
			r.flags = MW_RF_ABANDONED;
			CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
		}
	}
	struct mw_summary s = summary(c);
	CHECK_EQ_U64(s.alerts, 7);
	CHECK_EQ_U64(s.unconfirmed, 7);
	CHECK_EQ_U64(mw_corr_row(c, 0)->count, 7);
	mw_corr_free(c);
}

/* ---- bounded maps ------------------------------------------------------------- */

#define MAPN(i) (0x10000000ULL + (uint64_t)(i) * 0x40)

static struct mw_corr *corr_cap(size_t cap)
{
	struct mw_corr_opts o = { .keep_alerts = 1, .maps_max = cap };
	struct mw_corr *c = mw_corr_new(&o);
	if (!c)
		CHECK_FAIL("mw_corr_new failed");
	return c;
}

static void write_on(struct mw_corr *c, uint64_t map, uint64_t ts)
{
	struct mw_record r = rec(MW_REC_WRITE, ts, 1, map);
	r.op = MW_OP_ASSIGN;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
}

/* Past the cap a quarter goes, least recently active first; the rest keep
 * their first-seen order and their index; the summary counts every map. */
TEST(maps_evict_least_recent)
{
	struct mw_corr *c = corr_cap(8);

	for (int i = 0; i < 8; i++)
		write_on(c, MAPN(i), 100 + i);
	write_on(c, MAPN(0), 200);		/* map 0 is the most recent now */
	CHECK_EQ_U64(mw_corr_nmaps(c), 8);
	CHECK_EQ_U64(mw_corr_maps_evicted(c), 0);
	write_on(c, MAPN(8), 300);		/* the ninth: maps 1 and 2 go */
	CHECK_EQ_U64(mw_corr_maps_evicted(c), 2);
	CHECK_EQ_U64(mw_corr_nmaps(c), 7);
	CHECK(mw_corr_find_map(c, MAPN(1)) == NULL);
	CHECK(mw_corr_find_map(c, MAPN(2)) == NULL);
	static const int left[] = { 0, 3, 4, 5, 6, 7, 8 };
	for (size_t i = 0; i < 7; i++) {
		const struct mw_map_model *m = mw_corr_find_map(c, MAPN(left[i]));
		CHECK(m != NULL);
		CHECK(m == mw_corr_map(c, i));
	}
	CHECK_EQ_U64(mw_corr_find_map(c, MAPN(0))->writes, 2);
	CHECK(mw_corr_map(c, 7) == NULL);
	CHECK_EQ_U64(summary(c).maps, 9);

	/* A thousand more: never over the cap, every one counted. */
	for (int i = 9; i < 1009; i++) {
		write_on(c, MAPN(i), 1000 + i);
		CHECK(mw_corr_nmaps(c) <= 8);
	}
	CHECK(mw_corr_find_map(c, MAPN(1008)) != NULL);
	CHECK_EQ_U64(summary(c).maps, 1009);
	CHECK_EQ_U64(mw_corr_maps_evicted(c) + mw_corr_nmaps(c), 1009);
	CHECK_EQ_U64(mw_corr_maps_over_cap(c), 0);
	/* Seen again after it was forgotten: a new model, counted again. */
	write_on(c, MAPN(1), 5000);
	CHECK_EQ_U64(mw_corr_find_map(c, MAPN(1))->writes, 1);
	CHECK_EQ_U64(mw_corr_find_map(c, MAPN(1))->first_ts, 5000);
	CHECK_EQ_U64(summary(c).maps, 1010);
	mw_corr_free(c);
}

/* An iteration open on a map keeps its model through any number of other
 * maps; the write inside it is still exactly one iter-write alert. */
TEST(maps_evict_never_open_iteration)
{
	struct mw_corr *c = corr_cap(8);
	struct mw_record r;

	r = iter_start(1000, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	for (int i = 0; i < 5000; i++) {
		write_on(c, MAPN(i), 2000 + i);
		CHECK(mw_corr_nmaps(c) <= 8);
	}
	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	CHECK(m != NULL);
	CHECK_EQ_U64(m->n_iters, 1);
	CHECK_EQ_U64(m->iters[0].start_ts, 1000);
	r = iter_write(100000, 22, MAP1, HIT1, 11, 1000);
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);
	CHECK_EQ_U64(mw_corr_nalerts(c), 1);
	CHECK_EQ_U64(mw_corr_alert(c, 0)->kind, MW_KIND_ITER_WRITE);
	CHECK_EQ_U64(mw_corr_alert(c, 0)->map, MAP1);
	CHECK_EQ_U64(mw_corr_alert(c, 0)->overlap_ns, 99000);
	m = mw_corr_find_map(c, MAP1);
	CHECK_EQ_U64(m->alerts, 1);
	CHECK_EQ_U64(m->iters[0].bptr, BKT1);
	struct mw_summary s = summary(c);
	CHECK_EQ_U64(s.alerts, 1);
	CHECK_EQ_U64(s.alerts_by_kind[MW_KIND_ITER_WRITE], 1);
	CHECK_EQ_U64(s.maps, 5001);
	CHECK_EQ_U64(mw_corr_maps_over_cap(c), 0);

	/* Once it ends, the map is as forgettable as any. */
	r = iter_end(100100, 11, MAP1, HIT1);
	mw_corr_feed(c, &r);
	for (int i = 5000; i < 5010; i++)
		write_on(c, MAPN(i), 200000 + i);
	CHECK(mw_corr_find_map(c, MAP1) == NULL);
	CHECK_EQ_U64(mw_corr_row(c, 0)->count, 1);	/* the row keeps it */
	CHECK_EQ_U64(mw_corr_row(c, 0)->map, MAP1);
	mw_corr_free(c);
}

/* What the correlator still holds by address keeps its map: a pending alert
 * (Go, its iteration's start unseen), an early end, a grow in progress
 * (until a second of record time passes without a record on it). */
TEST(maps_evict_keeps_what_is_named)
{
	struct mw_corr *c = corr_cap(8);
	struct mw_record r;

	r = iter_write(1000, 22, MAP1, HIT1, 11, 900);
	r.gid = 40;
	r.other_gid = 30;
	r.iter_seq = 5;
	r.flags = MW_RF_PENDING;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 0);
	r = iter_end(1100, 12, MAP2, HIT2);	/* before its start */
	mw_corr_feed(c, &r);
	uint64_t grower = 0x7f0000003000ULL;
	r = rec(MW_REC_GROW, 1200, 13, grower);
	r.B = 3;
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(mw_corr_find_map(c, grower)->growing, 1);
	for (int i = 0; i < 1000; i++)
		write_on(c, MAPN(i), 2000 + i);
	CHECK(mw_corr_nmaps(c) <= 8);
	CHECK(mw_corr_find_map(c, MAP1) != NULL);
	CHECK(mw_corr_find_map(c, MAP2) != NULL);
	CHECK(mw_corr_find_map(c, grower) != NULL);
	CHECK_EQ_U64(mw_corr_find_map(c, grower)->grow_old_nbuckets, 8);

	/* The confirmation raises the held alert on the model it named. */
	r = rec(MW_REC_CONFIRM, 3000, 11, MAP1);
	r.iter_seq = 5;
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);
	CHECK_EQ_U64(mw_corr_find_map(c, MAP1)->alerts, 1);
	/* The late start meets its end: no ghost iteration. */
	r = iter_start(1050, 12, MAP2, HIT2);
	mw_corr_feed(c, &r);
	CHECK_EQ_U64(mw_corr_find_map(c, MAP2)->n_iters, 0);

	/* A second of record time later the grow is over (or its map dead). */
	for (int i = 1000; i < 1010; i++)
		write_on(c, MAPN(i), 1200 + 1000000000ULL + i);
	CHECK(mw_corr_find_map(c, grower) == NULL);
	CHECK(mw_corr_nmaps(c) <= 8);
	CHECK_EQ_U64(summary(c).maps, 1013);
	mw_corr_free(c);
}

/* Nothing forgettable: the correlator goes past the cap and counts it, then
 * shrinks back once the iterations end. Alerts stay exact throughout. */
TEST(maps_evict_nothing_idle)
{
	struct mw_corr *c = corr_cap(4);
	struct mw_record r;

	for (int i = 0; i < 6; i++) {
		r = iter_start(1000 + i, 11, MAPN(i), HIT1);
		mw_corr_feed(c, &r);
	}
	CHECK_EQ_U64(mw_corr_nmaps(c), 6);
	CHECK_EQ_U64(mw_corr_maps_over_cap(c), 2);
	CHECK_EQ_U64(mw_corr_maps_evicted(c), 0);
	for (int i = 0; i < 6; i++) {
		r = iter_write(2000 + i, 22, MAPN(i), HIT1, 11, 1000 + i);
		CHECK_EQ_U64(mw_corr_feed(c, &r), 1);
		CHECK_EQ_U64(mw_corr_find_map(c, MAPN(i))->alerts, 1);
	}
	for (int i = 0; i < 6; i++) {
		r = iter_end(3000 + i, 11, MAPN(i), HIT1);
		mw_corr_feed(c, &r);
	}
	write_on(c, MAPN(6), 4000);		/* a quarter under the cap again */
	CHECK_EQ_U64(mw_corr_nmaps(c), 4);
	CHECK_EQ_U64(mw_corr_maps_evicted(c), 3);
	CHECK(mw_corr_find_map(c, MAPN(0)) == NULL);
	CHECK(mw_corr_find_map(c, MAPN(3)) != NULL);
	struct mw_summary s = summary(c);
	CHECK_EQ_U64(s.maps, 7);
	CHECK_EQ_U64(s.alerts, 6);
	CHECK_EQ_U64(s.rows, 6);
	mw_corr_free(c);
}

/* A write by `tid` while `other` (since other_ts) was writing too. */
static struct mw_record write_write(uint64_t ts, uint32_t tid, uint64_t map, uint32_t other,
				    uint64_t other_ts)
{
	struct mw_record r = rec(MW_REC_WRITE, ts, tid, map);
	r.op = MW_OP_ASSIGN;
	r.kind = MW_KIND_WRITE_WRITE;
	r.other_tid = other;
	r.other_ts = other_ts;
	return r;
}

/* A map forgotten, then its address reused by a new map: the old race's row
 * keeps its count, the new race on the new map is right, the model is new. */
TEST(maps_evict_address_reused)
{
	struct mw_corr *c = corr_cap(4);
	struct mw_record r;

	r = write_write(1000, 22, MAP1, 21, 990);
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);
	for (int i = 0; i < 100; i++)
		write_on(c, MAPN(i), 2000 + i);
	CHECK(mw_corr_find_map(c, MAP1) == NULL);

	r = iter_start(5000, 33, MAP1, HIT2);
	mw_corr_feed(c, &r);
	r = iter_write(5100, 44, MAP1, HIT2, 33, 5000);
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);
	r = write_write(5200, 22, MAP1, 21, 5150);
	CHECK_EQ_U64(mw_corr_feed(c, &r), 1);

	CHECK_EQ_U64(mw_corr_nrows(c), 2);
	const struct mw_alert_row *ww = mw_corr_row(c, 0), *iw = mw_corr_row(c, 1);
	CHECK_EQ_U64(ww->kind, MW_KIND_WRITE_WRITE);
	CHECK_EQ_U64(ww->map, MAP1);
	CHECK_EQ_U64(ww->count, 2);
	CHECK_EQ_U64(ww->first_ts, 1000);
	CHECK_EQ_U64(ww->last_ts, 5200);
	CHECK_EQ_U64(iw->kind, MW_KIND_ITER_WRITE);
	CHECK_EQ_U64(iw->map, MAP1);
	CHECK_EQ_U64(iw->count, 1);
	CHECK_EQ_U64(iw->last.iter_tid, 33);
	CHECK_EQ_U64(iw->last.writer_tid, 44);
	CHECK_EQ_U64(iw->last.hiter, HIT2);
	CHECK_EQ_U64(iw->max_overlap_ns, 100);
	const struct mw_map_model *m = mw_corr_find_map(c, MAP1);
	CHECK(m != NULL);
	CHECK_EQ_U64(m->first_ts, 5000);
	CHECK_EQ_U64(m->alerts, 2);		/* the first map's alert went with it */
	CHECK_EQ_U64(m->writes, 2);
	CHECK_EQ_U64(m->n_iters, 1);
	struct mw_summary s = summary(c);
	CHECK_EQ_U64(s.alerts, 3);
	CHECK_EQ_U64(s.maps, 102);		/* MAP1 twice */
	mw_corr_free(c);
}

/* Counter samples (live only, on the live clock) neither count as maps nor
 * change what is forgotten: the same records with and without samples give
 * the same summary and the same maps kept. */
TEST(maps_evict_samples_do_not_steer)
{
	struct mw_corr *a = corr_cap(8), *b = corr_cap(8);
	struct mw_map_sample s;

	for (int i = 0; i < 300; i++) {
		/* Samples for maps soon seen in records, and for maps never seen. */
		memset(&s, 0, sizeof(s));
		s.map = MAPN(i % 2 ? i + 1 : 100000 + i);
		s.ts = 7000000000ULL + (uint64_t)i;
		s.writes = 3;
		s.have_hmap = 1;
		s.oldbuckets = 0x1000;	/* growing, says memory */
		mw_corr_map_sample(b, &s);
		CHECK(mw_corr_nmaps(b) <= 8);
		write_on(a, MAPN(i), 1000 + (uint64_t)(i * 7 % 300));
		write_on(b, MAPN(i), 1000 + (uint64_t)(i * 7 % 300));
		if (i % 3 == 0) {
			write_on(a, MAPN(i / 2), 2000 + (uint64_t)i);
			write_on(b, MAPN(i / 2), 2000 + (uint64_t)i);
		}
	}
	struct mw_summary sa = summary(a), sb = summary(b);
	CHECK_EQ_U64(sa.maps, sb.maps);
	CHECK_EQ_U64(mw_corr_maps_evicted(a), mw_corr_maps_evicted(b));
	for (int i = 0; i < 300; i++)
		CHECK((mw_corr_find_map(a, MAPN(i)) == NULL) == (mw_corr_find_map(b, MAPN(i)) == NULL));
	/* Samples alone: no map in the summary, and bounded. */
	struct mw_corr *c = corr_cap(4);
	for (int i = 0; i < 100; i++) {
		s.map = MAPN(i);
		mw_corr_map_sample(c, &s);
		CHECK(mw_corr_nmaps(c) <= 4);
	}
	CHECK_EQ_U64(summary(c).maps, 0);
	CHECK(mw_corr_find_map(c, MAPN(3)) != NULL);	/* the first four, then no room */
	CHECK(mw_corr_find_map(c, MAPN(4)) == NULL);
	write_on(c, MAPN(3), 100);		/* sampled, then in a record: counted */
	CHECK_EQ_U64(summary(c).maps, 1);
	CHECK_EQ_U64(mw_corr_find_map(c, MAPN(3))->bpf_writes, 3);
	write_on(c, MAPN(50), 200);		/* a record makes room: the sampled-only go */
	CHECK_EQ_U64(mw_corr_nmaps(c), 2);
	CHECK(mw_corr_map(c, 0) == mw_corr_find_map(c, MAPN(3)));
	CHECK(mw_corr_map(c, 1) == mw_corr_find_map(c, MAPN(50)));
	CHECK_EQ_U64(summary(c).maps, 2);
	CHECK_EQ_U64(mw_corr_maps_evicted(c), 0);
	mw_corr_free(a);
	mw_corr_free(b);
	mw_corr_free(c);
}

CHECK_MAIN()
