/* test_perfetto.c — the Chrome Trace Event timeline, checked by structure:
 * valid JSON (jq when present, and our own scanner line by line), required
 * fields on every event, X slices properly nested per thread with durations
 * ≥ 0, async b/e balanced per id, every flow start with its finish, flows
 * bound to enclosing slices — on a realistic stream and on random chaos. */
#include <fcntl.h>
#include <unistd.h>

#include "check.h"
#include "perfetto.h"
#include "trace.h"
#include "correlator.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

/* Files live in check.h's per-run directory, removed when the run ends. */
static const char *tpath(const char *name)
{
	static char buf[4][512];
	static int k;
	char *p = buf[k++ & 3];
	snprintf(p, 512, "%s/%s", check_tmpdir(), name);
	return p;
}

/* ---- the checker ------------------------------------------------------------- */

struct slice { uint32_t tid; int64_t s, e; };
struct flow { uint64_t id; int64_t ts; uint32_t tid; int ph; };
struct async { char id[64]; int64_t ts; int b; };

struct doc {
	struct slice *x; size_t nx;
	struct flow *fl; size_t nfl;
	struct async *as; size_t nas;
	size_t events, alerts, counters;
};

static int64_t parse_us(const struct mw_jval *v)
{
	/* "12.345" µs → ns, exactly (the writer prints 3 decimals) */
	const char *p = v->s, *e = v->s + v->n;
	int neg = 0;
	int64_t ip = 0, frac = 0, scale = 1000;
	if (p < e && *p == '-')
		neg = 1, p++;
	for (; p < e && *p != '.'; p++)
		ip = ip * 10 + (*p - '0');
	if (p < e && *p == '.')
		for (p++; p < e && scale > 1; p++)
			scale /= 10, frac += (*p - '0') * scale;
	return (neg ? -1 : 1) * (ip * 1000 + frac);
}

static const struct mw_jmember *get(const struct mw_jmember *m, int n, const char *k)
{
	for (int i = 0; i < n; i++)
		if (m[i].klen == strlen(k) && !memcmp(m[i].key, k, m[i].klen))
			return &m[i];
	return NULL;
}

static int is_str(const struct mw_jmember *m, const char *s)
{
	return m && m->v.type == MW_J_STR && m->v.n == strlen(s) && !memcmp(m->v.s, s, m->v.n);
}

static int cmp_slice(const void *a, const void *b)
{
	const struct slice *x = a, *y = b;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	return x->e > y->e ? -1 : x->e < y->e;	/* longer first */
}

static int cmp_flow(const void *a, const void *b)
{
	const struct flow *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->ph - y->ph;	/* 's' < 'f'? no: 'f' < 's'; compared below */
}

static int cmp_async(const void *a, const void *b)
{
	const struct async *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c)
		return c;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return y->b - x->b;	/* b before e at equal times */
}

#define GROW(arr, n) do { if (!((n) & ((n) - 1)) || !(n)) (arr) = realloc((arr), ((n) ? (n) * 2 : 16) * sizeof(*(arr))); } while (0)

/* Parse and check a whole file; CHECK_FAIL on the first problem. */
static void check_doc(const char *path, struct doc *d)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, ended = 0;
	struct mw_jmember m[64];
	char err[200];

	memset(d, 0, sizeof(*d));
	CHECK(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			line[--n] = 0;
		if (lineno == 1) {
			CHECK_EQ_STR(line, "{\"traceEvents\":[");
			continue;
		}
		if (!strcmp(line, "],\"displayTimeUnit\":\"ns\"}")) {
			ended = 1;
			continue;
		}
		CHECK(!ended);
		if (n && line[n - 1] == ',')
			line[--n] = 0;
		int nm = mw_json_object(line, (size_t)n, m, 64, err, sizeof(err));
		if (nm < 0)
			CHECK_FAIL("line %d: %s: %s", lineno, err, line);
		const struct mw_jmember *ph = get(m, nm, "ph"), *name = get(m, nm, "name"),
			*pid = get(m, nm, "pid"), *tid = get(m, nm, "tid"), *ts = get(m, nm, "ts");
		if (!ph || ph->v.type != MW_J_STR || ph->v.n != 1 || !name || name->v.type != MW_J_STR ||
		    !pid || pid->v.type != MW_J_INT)
			CHECK_FAIL("line %d: missing ph/name/pid: %s", lineno, line);
		char c = ph->v.s[0];
		d->events++;
		if (c == 'M')
			continue;
		if (!ts || (ts->v.type != MW_J_NUM && ts->v.type != MW_J_INT))
			CHECK_FAIL("line %d: no ts: %s", lineno, line);
		if (c != 'C' && (!tid || tid->v.type != MW_J_INT))
			CHECK_FAIL("line %d: no tid: %s", lineno, line);
		int64_t t = parse_us(&ts->v);
		switch (c) {
		case 'X': {
			const struct mw_jmember *du = get(m, nm, "dur");
			if (!du || (du->v.type != MW_J_NUM && du->v.type != MW_J_INT) || du->v.s[0] == '-')
				CHECK_FAIL("line %d: bad dur: %s", lineno, line);
			GROW(d->x, d->nx);
			d->x[d->nx++] = (struct slice){ (uint32_t)tid->v.u, t, t + parse_us(&du->v) };
			break;
		}
		case 'b':
		case 'e': {
			const struct mw_jmember *id = get(m, nm, "id"), *cat = get(m, nm, "cat");
			if (!id || !cat)
				CHECK_FAIL("line %d: async without id/cat: %s", lineno, line);
			GROW(d->as, d->nas);
			struct async *a = &d->as[d->nas++];
			snprintf(a->id, sizeof(a->id), "%.*s/%.*s", (int)cat->v.n, cat->v.s, (int)id->v.n, id->v.s);
			a->ts = t;
			a->b = c == 'b';
			break;
		}
		case 's':
		case 'f': {
			const struct mw_jmember *id = get(m, nm, "id");
			if (!id || id->v.type != MW_J_INT)
				CHECK_FAIL("line %d: flow without id: %s", lineno, line);
			if (c == 'f' && !is_str(get(m, nm, "bp"), "e"))
				CHECK_FAIL("line %d: flow end without bp e: %s", lineno, line);
			GROW(d->fl, d->nfl);
			d->fl[d->nfl++] = (struct flow){ id->v.u, t, (uint32_t)tid->v.u, c };
			break;
		}
		case 'i':
			if (!is_str(get(m, nm, "s"), "t"))
				CHECK_FAIL("line %d: instant not thread-scoped: %s", lineno, line);
			d->alerts++;
			break;
		case 'C':
			if (!get(m, nm, "args"))
				CHECK_FAIL("line %d: counter without args", lineno);
			d->counters++;
			break;
		default:
			CHECK_FAIL("line %d: unexpected ph '%c'", lineno, c);
		}
	}
	free(line);
	fclose(f);
	CHECK(ended);

	/* X slices nest per thread */
	qsort(d->x, d->nx, sizeof(*d->x), cmp_slice);
	for (size_t i = 0; i < d->nx;) {
		struct slice st[4096];
		int sp = 0;
		uint32_t tid = d->x[i].tid;
		for (; i < d->nx && d->x[i].tid == tid; i++) {
			while (sp && st[sp - 1].e <= d->x[i].s && !(st[sp - 1].s == d->x[i].s && st[sp - 1].e == d->x[i].s))
				sp--;
			if (sp && d->x[i].e > st[sp - 1].e)
				CHECK_FAIL("tid %u: slice [%lld,%lld] straddles [%lld,%lld]", tid,
					   (long long)d->x[i].s, (long long)d->x[i].e,
					   (long long)st[sp - 1].s, (long long)st[sp - 1].e);
			if (sp < 4096)
				st[sp++] = d->x[i];
		}
	}
	/* async b/e balanced and ordered per id */
	qsort(d->as, d->nas, sizeof(*d->as), cmp_async);
	for (size_t i = 0; i < d->nas;) {
		int depth = 0;
		size_t j = i;
		for (; j < d->nas && !strcmp(d->as[j].id, d->as[i].id); j++) {
			depth += d->as[j].b ? 1 : -1;
			if (depth < 0)
				CHECK_FAIL("async %s: end before begin", d->as[i].id);
		}
		if (depth)
			CHECK_FAIL("async %s: %d unclosed", d->as[i].id, depth);
		i = j;
	}
	/* flows: one s and one f per id, f not before s */
	qsort(d->fl, d->nfl, sizeof(*d->fl), cmp_flow);
	CHECK(d->nfl % 2 == 0);
	for (size_t i = 0; i < d->nfl; i += 2) {
		const struct flow *a = &d->fl[i], *b = &d->fl[i + 1];	/* 'f' sorts before 's' */
		if (a->id != b->id || a->ph != 'f' || b->ph != 's')
			CHECK_FAIL("flow %llu: not one start and one finish", (unsigned long long)a->id);
		if (a->ts < b->ts)
			CHECK_FAIL("flow %llu: finish before start", (unsigned long long)a->id);
	}
}

/* Is there an X slice on TID enclosing T? */
static int enclosed(const struct doc *d, uint32_t tid, int64_t t)
{
	for (size_t i = 0; i < d->nx; i++)
		if (d->x[i].tid == tid && d->x[i].s <= t && t <= d->x[i].e)
			return 1;
	return 0;
}

static void free_doc(struct doc *d)
{
	free(d->x), free(d->fl), free(d->as);
}

static int jq_ok(const char *path)
{
	char cmd[700];
	if (system("command -v jq >/dev/null 2>&1"))
		return 1;	/* not installed: the line checker stands alone */
	snprintf(cmd, sizeof(cmd), "jq -e '.traceEvents | length > 0' '%s' >/dev/null", path);
	return system(cmd) == 0;
}

/* ---- streams ----------------------------------------------------------------- */

struct ctx { struct mw_perfetto *p; };
static void on_alert(void *c, const struct mw_alert *a, const struct mw_alert_row *row)
{
	(void)row;
	mw_perfetto_alert(((struct ctx *)c)->p, a);
}

#define T0 5000000000ull

static size_t realistic(struct mw_record *out)
{
	size_t n = 0;
	uint64_t ts = T0 + 100;
	for (int round = 0; round < 30; round++) {
		uint64_t map = 0xc000100000ull + (uint64_t)(round % 3) * 0x100000;
		uint64_t h1 = 0x7ffd1000ull + (uint64_t)round * 0x10, h2 = h1 + 0x8;
		uint32_t it = 10 + (uint32_t)(round % 2), w = 20 + (uint32_t)(round % 2);
		uint64_t s1 = ts, s2;
		out[n++] = (struct mw_record){ .type = MW_REC_ITER_START, .tid = it, .ts = ts, .map = map, .hiter = h1, .count = (uint64_t)round, .B = 2 };
		ts += 100;
		s2 = ts;	/* a nested iteration on the same thread */
		out[n++] = (struct mw_record){ .type = MW_REC_ITER_START, .tid = it, .ts = ts, .map = map + 8, .hiter = h2 };
		ts += 100;
		out[n++] = (struct mw_record){ .type = MW_REC_WRITE, .op = 1, .kind = MW_KIND_ITER_WRITE, .tid = w, .other_tid = it, .ts = ts, .other_ts = s2, .map = map + 8, .hiter = h2, .count = 3, .B = 1 };
		ts += 100;
		out[n++] = (struct mw_record){ .type = MW_REC_ITER_END, .tid = it, .ts = ts, .map = map + 8, .hiter = h2 };
		ts += 100;
		if (round % 4 == 0) {
			out[n++] = (struct mw_record){ .type = MW_REC_GROW, .kind = MW_KIND_ITER_GROW, .tid = w, .other_tid = it, .ts = ts, .other_ts = s1, .map = map, .hiter = h1, .B = 2 };
			ts += 50;
			out[n++] = (struct mw_record){ .type = MW_REC_EVACUATE, .kind = MW_KIND_ITER_GROW, .tid = w, .other_tid = it, .ts = ts, .other_ts = s1, .map = map, .hiter = h1, .B = 3, .oldbuckets = 0x1000, .bucket = 0, .bucket_addr = 0x1000 };
			ts += 50;
			out[n++] = (struct mw_record){ .type = MW_REC_WRITE, .op = 1, .tid = w, .ts = ts, .map = map, .B = 3, .count = (uint64_t)round + 1 };
		}
		if (round % 5 == 2) {
			out[n++] = (struct mw_record){ .type = MW_REC_WRITE, .op = 2, .tid = 30, .ts = ts, .map = map };
			ts += 10;
			out[n++] = (struct mw_record){ .type = MW_REC_WRITE, .op = 1, .kind = MW_KIND_WRITE_WRITE, .tid = 31, .other_tid = 30, .ts = ts, .other_ts = ts - 10, .map = map };
		}
		ts += 100;
		out[n++] = (struct mw_record){ .type = MW_REC_ITER_END, .tid = it, .ts = ts, .map = map, .hiter = h1 };
		ts += 1000;
		if (round % 10 == 0)
			out[n++] = (struct mw_record){ .type = MW_REC_STATS, .ts = ts, .aux = 1, .aux2 = 2 };
	}
	/* one iteration that never ends, one end without a start */
	out[n++] = (struct mw_record){ .type = MW_REC_ITER_START, .tid = 12, .ts = ts, .map = 0xc000900000ull, .hiter = 0x1234 };
	out[n++] = (struct mw_record){ .type = MW_REC_ITER_END, .tid = 13, .ts = ts + 5, .map = 0xc000900000ull, .hiter = 0x9999 };
	out[n++] = (struct mw_record){ .type = MW_REC_WRITE, .tid = 14, .ts = ts + 10, .map = 0xc000900000ull };
	return n;
}

static void run_stream(const char *path, const struct mw_record *rs, size_t n, struct doc *d)
{
	char err[512];
	struct ctx cx;
	struct mw_corr *c;

	unlink(path);
	cx.p = mw_perfetto_create(path, 0, 77, T0, err, sizeof(err));
	if (!cx.p)
		CHECK_FAIL("%s", err);
	mw_perfetto_process_name(cx.p, "mapsvc \"x\"");
	c = mw_corr_new(&(struct mw_corr_opts){ .on_alert = on_alert, .ctx = &cx });
	for (size_t i = 0; i < n; i++) {
		mw_perfetto_record(cx.p, &rs[i]);
		mw_corr_feed(c, &rs[i]);
	}
	mw_corr_free(c);
	CHECK(mw_perfetto_close(cx.p) == 0);
	CHECK(jq_ok(path));
	check_doc(path, d);
}

TEST(realistic_stream_structure)
{
	struct mw_record rs[1024];
	size_t n = realistic(rs);
	struct doc d;

	run_stream(tpath("real.json"), rs, n, &d);
	CHECK(d.events > 100);
	CHECK(d.alerts > 10);
	CHECK(d.counters > 10);
	CHECK(d.nfl == 2 * d.alerts);
	/* well-nested iterations stay on the thread tracks as X slices */
	size_t async_iters = 0;
	for (size_t i = 0; i < d.nas; i++)
		if (!strncmp(d.as[i].id, "iter/", 5))
			async_iters++;
	CHECK_EQ_U64(async_iters, 0);
	/* grows are async and closed */
	size_t grows = 0;
	for (size_t i = 0; i < d.nas; i++)
		if (!strncmp(d.as[i].id, "grow/", 5) && d.as[i].b)
			grows++;
	CHECK_EQ_U64(grows, 8);
	/* every flow binds to slices on both ends */
	for (size_t i = 0; i < d.nfl; i++)
		if (!enclosed(&d, d.fl[i].tid, d.fl[i].ts))
			CHECK_FAIL("flow %llu %c at %lld on tid %u binds to no slice",
				   (unsigned long long)d.fl[i].id, d.fl[i].ph, (long long)d.fl[i].ts, d.fl[i].tid);
	free_doc(&d);
}

TEST(timestamps_relative_microseconds)
{
	struct mw_record r = { .type = MW_REC_WRITE, .tid = 1, .ts = T0 + 1234567, .map = 0x10 };
	char err[256], buf[65536];
	const char *path = tpath("ts.json");
	int fd;
	ssize_t n;

	unlink(path);
	struct mw_perfetto *p = mw_perfetto_create(path, 0, 1, T0, err, sizeof(err));
	CHECK(p);
	mw_perfetto_record(p, &r);
	CHECK(mw_perfetto_close(p) == 0);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	CHECK(n > 0);
	buf[n] = 0;
	CHECK(strstr(buf, "\"ts\":1234.567"));
	CHECK(strstr(buf, "\"displayTimeUnit\":\"ns\"}"));
	/* refuses to clobber without force */
	CHECK(!mw_perfetto_create(path, 0, 1, T0, err, sizeof(err)));
	CHECK(strstr(err, "exists (use --force to overwrite)"));
	p = mw_perfetto_create(path, 1, 1, T0, err, sizeof(err));
	CHECK(p);
	CHECK(mw_perfetto_close(p) == 0);
}

/* Out-of-order, overlapping, reused hiters, missing ends: still well formed. */
TEST(chaos_stays_well_formed)
{
	enum { N = 20000 };
	struct mw_record *rs = calloc(N, sizeof(*rs));
	struct doc d;
	uint64_t ts = T0;

	for (int i = 0; i < N; i++) {
		struct mw_record *r = &rs[i];
		ts += rnd() % 200;
		r->type = (uint16_t)(1 + rnd() % 6);
		r->tid = 1 + (uint32_t)(rnd() % 4);
		r->ts = ts - rnd() % 300;	/* out of order */
		r->map = 0x1000 * (1 + rnd() % 3);
		r->hiter = 0x10 * (1 + rnd() % 6);
		r->oldbuckets = rnd() % 3 ? 0x5000 : 0;
		r->count = rnd() % 50;
		r->B = (uint8_t)(rnd() % 4);
		r->kind = (uint8_t)(rnd() % 8 == 0 ? 1 + rnd() % 3 : 0);
		r->other_tid = 1 + (uint32_t)(rnd() % 4);
		r->other_ts = r->ts - rnd() % 500;
		r->repeat = (uint8_t)(rnd() % 20 == 0);
	}
	run_stream(tpath("chaos.json"), rs, N, &d);
	CHECK(d.nx > 1000);
	free_doc(&d);
	free(rs);
}

TEST(fd_writer_and_null_safety)
{
	CHECK(mw_perfetto_close(NULL) == 0);
	mw_perfetto_record(NULL, &(struct mw_record){ 0 });
	int fd = open("/dev/null", O_WRONLY);
	struct mw_perfetto *p = mw_perfetto_create_fd(fd, 1, 0);
	CHECK(p);
	CHECK(mw_perfetto_close(p) == 0);
}

CHECK_MAIN()
