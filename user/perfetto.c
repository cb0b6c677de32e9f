/* perfetto.c — streaming Chrome Trace Event JSON; see perfetto.h for the layout.
 *
 * The one hard rule of the format is nesting: slices on one thread track must
 * nest properly. Iterations are emitted when they end (start and end are
 * known then), and each thread keeps its "frontier" — the outermost slices
 * emitted so far, disjoint and sorted — so a new slice is checked against
 * everything already on the track: it goes out as an "X" when it contains or
 * avoids each frontier slice, and as an async b/e pair otherwise. Zero-length
 * slices (writes, grows, evacuations) nest anywhere.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perfetto.h"
#include "htab.h"
#include "json.h"
#include "layout.h"
#include "outfile.h"

#define OBUF_SIZE   (64u << 10)
#define FRONT_MAX   32		/* frontier slices kept per thread */
#define THREADS_MAX 16384
#define ITERS_MAX   65536	/* open iterations tracked */
#define MAPS_MAX    65536
#define ORPHANS     64		/* iteration ends seen before their start */

/* ---- state ---------------------------------------------------------------------- */

struct ival { uint64_t s, e; };

struct thr {
	struct mw_hent h;		/* key: tid */
	uint32_t nfront;
	uint64_t floor;		/* end of frontier slices dropped for room */
	struct ival front[FRONT_MAX];
};

struct iter {
	struct mw_hent h;		/* key: hiter */
	uint32_t tid;
	uint64_t start, map;
};

struct mapst {
	struct mw_hent h;		/* key: map */
	int growing;
	int have_counter;
	uint64_t grow_ts, last_evac;
	uint32_t grow_tid;
	uint64_t count;
	uint8_t B;
};

struct orphan { uint64_t hiter, ts; int used; };

struct mw_perfetto {
	int fd;
	int err;
	int first;		/* no event written yet (no comma) */
	int pid;
	uint64_t start_ns;
	uint64_t last_ts;	/* latest record time seen */
	uint64_t serial;	/* ids of async iteration slices */
	size_t len;
	char *buf;
	struct mw_htab threads, iters, maps;
	struct orphan orphans[ORPHANS];
	unsigned orphan_next;
};

/* ---- output --------------------------------------------------------------------- */

static void oflush(struct mw_perfetto *p)
{
	size_t off = 0;

	while (off < p->len) {
		ssize_t n = write(p->fd, p->buf + off, p->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!p->err)
				p->err = n < 0 ? errno : EIO;
			break;
		}
		off += (size_t)n;
	}
	p->len = 0;
}

/* Append one event (printf-style, without the separating comma). */
__attribute__((format(printf, 2, 3)))
static void ev(struct mw_perfetto *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->len + 1024 > OBUF_SIZE)
		oflush(p);
	if (!p->first)
		p->buf[p->len++] = ',';
	p->buf[p->len++] = '\n';
	p->first = 0;
	va_start(ap, fmt);
	n = vsnprintf(p->buf + p->len, OBUF_SIZE - p->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		p->len += (size_t)n < OBUF_SIZE - p->len ? (size_t)n : OBUF_SIZE - p->len - 1;
}

/* A timestamp relative to the trace start, in µs with ns precision. */
struct tsbuf { char s[32]; };

static struct tsbuf us(const struct mw_perfetto *p, uint64_t ts)
{
	struct tsbuf b;
	uint64_t d = ts >= p->start_ns ? ts - p->start_ns : p->start_ns - ts;

	snprintf(b.s, sizeof(b.s), "%s%" PRIu64 ".%03u", ts >= p->start_ns ? "" : "-",
		 d / 1000, (unsigned)(d % 1000));
	return b;
}

static struct tsbuf dur(uint64_t d)
{
	struct tsbuf b;

	snprintf(b.s, sizeof(b.s), "%" PRIu64 ".%03u", d / 1000, (unsigned)(d % 1000));
	return b;
}

/* ---- threads and nesting -------------------------------------------------------- */

static struct thr *thread(struct mw_perfetto *p, uint32_t tid)
{
	struct thr *t = mw_htab_get(&p->threads, tid, 0, 0);

	if (t)
		return t;
	t = mw_htab_get(&p->threads, tid, 0, 1);
	if (t)
		ev(p, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%u,"
		      "\"args\":{\"name\":\"tid %u\"}}", p->pid, tid, tid);
	return t;
}

/* Does [s,e] nest with everything already on this thread's track? */
static int nests(const struct thr *t, uint64_t s, uint64_t e)
{
	if (s == e)
		return 1;	/* a point never straddles a slice boundary */
	if (!t || s < t->floor)
		return 0;
	for (int i = (int)t->nfront - 1; i >= 0; i--) {
		const struct ival *v = &t->front[i];

		if (v->e <= s)
			break;		/* this one and all before it end before s */
		if (v->s >= e)
			continue;	/* entirely after */
		if (s <= v->s && v->e <= e)
			continue;	/* contained */
		return 0;		/* straddles, or [s,e] lies inside it */
	}
	return 1;
}

static void add_slice(struct thr *t, uint64_t s, uint64_t e)
{
	struct ival nf[FRONT_MAX + 1];
	uint32_t n = 0;
	int placed = 0;

	if (!t || s == e)
		return;
	for (uint32_t i = 0; i < t->nfront; i++) {
		struct ival v = t->front[i];

		if (s <= v.s && v.e <= e)
			continue;	/* now inside the new slice */
		if (!placed && v.s >= e) {
			nf[n++] = (struct ival){ s, e };
			placed = 1;
		}
		nf[n++] = v;
	}
	if (!placed)
		nf[n++] = (struct ival){ s, e };
	if (n > FRONT_MAX) {
		/* Forget the oldest; nothing may start before its end from now on. */
		if (nf[0].e > t->floor)
			t->floor = nf[0].e;
		memmove(nf, nf + 1, --n * sizeof(nf[0]));
	}
	memcpy(t->front, nf, n * sizeof(nf[0]));
	t->nfront = n;
}

/* ---- events --------------------------------------------------------------------- */

static void emit_iteration(struct mw_perfetto *p, uint32_t tid, uint64_t hiter,
			   uint64_t map, uint64_t s, uint64_t e)
{
	struct thr *t = thread(p, tid);

	if (e < s)
		e = s;
	if (nests(t, s, e)) {
		add_slice(t, s, e);
		ev(p, "{\"name\":\"iterate\",\"cat\":\"iter\",\"ph\":\"X\",\"pid\":%d,\"tid\":%u,"
		      "\"ts\":%s,\"dur\":%s,\"args\":{\"map\":\"0x%" PRIx64 "\",\"hiter\":\"0x%" PRIx64 "\"}}",
		   p->pid, tid, us(p, s).s, dur(e - s).s, map, hiter);
		return;
	}
	p->serial++;
	ev(p, "{\"name\":\"iterate (async)\",\"cat\":\"iter\",\"ph\":\"b\",\"id\":\"it%" PRIu64 "\","
	      "\"pid\":%d,\"tid\":%u,\"ts\":%s,\"args\":{\"map\":\"0x%" PRIx64 "\",\"hiter\":\"0x%" PRIx64 "\"}}",
	   p->serial, p->pid, tid, us(p, s).s, map, hiter);
	ev(p, "{\"name\":\"iterate (async)\",\"cat\":\"iter\",\"ph\":\"e\",\"id\":\"it%" PRIu64 "\","
	      "\"pid\":%d,\"tid\":%u,\"ts\":%s}", p->serial, p->pid, tid, us(p, e).s);
}

static void point(struct mw_perfetto *p, const struct mw_record *r, const char *name)
{
	thread(p, r->tid);
	ev(p, "{\"name\":\"%s\",\"cat\":\"map\",\"ph\":\"X\",\"pid\":%d,\"tid\":%u,\"ts\":%s,"
	      "\"dur\":0,\"args\":{\"map\":\"0x%" PRIx64 "\",\"count\":%" PRIu64 ",\"B\":%u,"
	      "\"bucket\":\"0x%" PRIx64 "\"}}",
	   name, p->pid, r->tid, us(p, r->ts).s, (uint64_t)r->map, (uint64_t)r->count, r->B, (uint64_t)r->bucket_addr);
}

static void grow_end(struct mw_perfetto *p, struct mapst *m, uint64_t ts)
{
	if (ts < m->grow_ts)
		ts = m->grow_ts;
	ev(p, "{\"name\":\"grow\",\"cat\":\"grow\",\"ph\":\"e\",\"id\":\"0x%" PRIx64 "\","
	      "\"pid\":%d,\"tid\":%u,\"ts\":%s}", m->h.key, p->pid, m->grow_tid, us(p, ts).s);
	m->growing = 0;
}

static void track_map(struct mw_perfetto *p, const struct mw_record *r)
{
	struct mapst *m = mw_htab_get(&p->maps, r->map, 0, 1);

	if (!m)
		return;		/* too many maps: no counters or grows for new ones */
	if (!m->have_counter || m->count != r->count || m->B != r->B) {
		ev(p, "{\"name\":\"map 0x%" PRIx64 "\",\"ph\":\"C\",\"pid\":%d,\"ts\":%s,"
		      "\"args\":{\"len\":%" PRIu64 ",\"B\":%u}}", (uint64_t)r->map, p->pid, us(p, r->ts).s, (uint64_t)r->count, r->B);
		m->have_counter = 1;
		m->count = r->count;
		m->B = r->B;
	}
	if (r->type == MW_REC_GROW) {
		if (m->growing)
			grow_end(p, m, r->ts);
		m->growing = 1;
		m->grow_ts = m->last_evac = r->ts;
		m->grow_tid = r->tid;
		ev(p, "{\"name\":\"grow\",\"cat\":\"grow\",\"ph\":\"b\",\"id\":\"0x%" PRIx64 "\","
		      "\"pid\":%d,\"tid\":%u,\"ts\":%s,\"args\":{\"map\":\"0x%" PRIx64 "\",\"B\":%u}}",
		   (uint64_t)r->map, p->pid, r->tid, us(p, r->ts).s, (uint64_t)r->map, r->B);
		return;
	}
	if (!m->growing || r->ts <= m->grow_ts)
		return;
	if (r->type == MW_REC_EVACUATE && r->ts > m->last_evac)
		m->last_evac = r->ts;
	/* hashGrow's own record reads oldbuckets before it is set; any later
	 * look at 0 means evacuation finished. */
	if (!r->oldbuckets)
		grow_end(p, m, r->ts);
}

/* Ends the open iteration HITER at TS: 1, or 0 when none is open. */
static int iter_close(struct mw_perfetto *p, uint64_t hiter, uint64_t ts)
{
	struct iter *it = mw_htab_get(&p->iters, hiter, 0, 0);

	if (!it)
		return 0;
	emit_iteration(p, it->tid, it->h.key, it->map, it->start, ts);
	mw_htab_del(&p->iters, it);
	return 1;
}

void mw_perfetto_record(struct mw_perfetto *p, const struct mw_record *r)
{
	struct iter *it;

	if (!p)
		return;
	if (r->ts > p->last_ts)
		p->last_ts = r->ts;
	if (r->type == MW_REC_STATS) {
		ev(p, "{\"name\":\"mapwatch drops\",\"ph\":\"C\",\"pid\":%d,\"ts\":%s,"
		      "\"args\":{\"ring buffer\":%" PRIu64 ",\"map full\":%" PRIu64 "}}",
		   p->pid, us(p, r->ts).s, (uint64_t)r->aux, (uint64_t)r->aux2);
		return;
	}
	if (r->type < MW_REC_ITER_START || r->type > MW_REC_EVACUATE)
		return;
	track_map(p, r);
	switch (r->type) {
	case MW_REC_ITER_START:
		thread(p, r->tid);
		if (r->repeat)
			break;
		iter_close(p, r->hiter, r->ts);	/* the same hiter again: the old one ended unseen */
		for (unsigned i = 0; i < ORPHANS; i++) {
			struct orphan *o = &p->orphans[i];

			if (o->used && o->hiter == r->hiter && o->ts >= r->ts) {
				/* Its end came first (another CPU's record). */
				o->used = 0;
				emit_iteration(p, r->tid, r->hiter, r->map, r->ts, o->ts);
				return;
			}
		}
		it = mw_htab_get(&p->iters, r->hiter, 0, 1);
		if (it) {
			it->tid = r->tid;
			it->start = r->ts;
			it->map = r->map;
		}
		break;
	case MW_REC_ITER_END:
		if (r->repeat)
			break;
		if (!iter_close(p, r->hiter, r->ts)) {
			struct orphan *o = &p->orphans[p->orphan_next++ % ORPHANS];
			*o = (struct orphan){ r->hiter, r->ts, 1 };
		}
		break;
	case MW_REC_WRITE:
		if (!r->repeat)
			point(p, r, mw_probe_func(r->op == MW_OP_DELETE ? MW_P_DELETE :
						  r->op == MW_OP_CLEAR ? MW_P_CLEAR : MW_P_ASSIGN));
		break;
	case MW_REC_GROW:
		if (!r->repeat)
			point(p, r, mw_probe_func(MW_P_GROW));
		break;
	case MW_REC_EVACUATE:
		if (!r->repeat)
			point(p, r, mw_probe_func(MW_P_EVACUATE));
		break;
	}
}

void mw_perfetto_alert(struct mw_perfetto *p, const struct mw_alert *a)
{
	const char *kind = mw_kind_name(a->kind);
	uint64_t other = a->overlap_ns <= a->ts ? a->ts - a->overlap_ns : 0;

	if (!p)
		return;
	thread(p, a->writer_tid);
	thread(p, a->iter_tid);
	ev(p, "{\"name\":\"%s\",\"cat\":\"alert\",\"ph\":\"i\",\"s\":\"t\",\"pid\":%d,\"tid\":%u,"
	      "\"ts\":%s,\"args\":{\"seq\":%" PRIu64 ",\"map\":\"0x%" PRIx64 "\",\"bucket\":\"0x%" PRIx64 "\","
	      "\"bucket2\":\"0x%" PRIx64 "\",\"writer_tid\":%u,\"iter_tid\":%u,\"overlap_ns\":%" PRIu64 ","
	      "\"confidence\":\"%s\"}}",
	   kind, p->pid, a->writer_tid, us(p, a->ts).s, a->seq, a->map, a->bucket, a->bucket2,
	   a->writer_tid, a->iter_tid, a->overlap_ns, mw_conf_name(a->confidence));
	if (a->kind == MW_KIND_WRITE_WRITE || a->rec_type == MW_REC_ITER_START) {
		/* From the earlier window (the first write, or the write in flight
		 * when the iteration began) to the event that overlapped it. */
		uint32_t from = a->kind == MW_KIND_WRITE_WRITE ? a->iter_tid : a->writer_tid;
		uint32_t to = a->kind == MW_KIND_WRITE_WRITE ? a->writer_tid : a->iter_tid;

		ev(p, "{\"name\":\"%s\",\"cat\":\"race\",\"ph\":\"s\",\"id\":%" PRIu64 ",\"pid\":%d,"
		      "\"tid\":%u,\"ts\":%s}", kind, a->seq, p->pid, from, us(p, other).s);
		ev(p, "{\"name\":\"%s\",\"cat\":\"race\",\"ph\":\"f\",\"bp\":\"e\",\"id\":%" PRIu64 ","
		      "\"pid\":%d,\"tid\":%u,\"ts\":%s}", kind, a->seq, p->pid, to, us(p, a->ts).s);
	} else {
		/* From the write or grow to the iteration in progress at that moment. */
		ev(p, "{\"name\":\"%s\",\"cat\":\"race\",\"ph\":\"s\",\"id\":%" PRIu64 ",\"pid\":%d,"
		      "\"tid\":%u,\"ts\":%s}", kind, a->seq, p->pid, a->writer_tid, us(p, a->ts).s);
		ev(p, "{\"name\":\"%s\",\"cat\":\"race\",\"ph\":\"f\",\"bp\":\"e\",\"id\":%" PRIu64 ","
		      "\"pid\":%d,\"tid\":%u,\"ts\":%s}", kind, a->seq, p->pid, a->iter_tid, us(p, a->ts).s);
	}
}

void mw_perfetto_process_name(struct mw_perfetto *p, const char *name)
{
	char esc[256];

	if (!p || !name)
		return;
	mw_json_escape(name, esc, sizeof(esc));
	ev(p, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"args\":{\"name\":\"%s (%d)\"}}",
	   p->pid, esc, p->pid);
}

struct mw_perfetto *mw_perfetto_create_fd(int fd, int pid, uint64_t start_ns)
{
	struct mw_perfetto *p = calloc(1, sizeof(*p));
	static const char head[] = "{\"traceEvents\":[";

	if (!p || !(p->buf = malloc(OBUF_SIZE))) {
		free(p);
		return NULL;
	}
	p->fd = fd;
	p->pid = pid;
	p->start_ns = start_ns;
	p->first = 1;
	p->threads = MW_HTAB_INIT(struct thr, THREADS_MAX);
	p->iters = MW_HTAB_INIT(struct iter, ITERS_MAX);
	p->maps = MW_HTAB_INIT(struct mapst, MAPS_MAX);
	memcpy(p->buf, head, sizeof(head) - 1);
	p->len = sizeof(head) - 1;
	ev(p, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"args\":{\"name\":\"mapwatch target %d\"}}",
	   pid, pid);
	return p;
}

struct mw_perfetto *mw_perfetto_create(const char *path, int force, int pid, uint64_t start_ns,
				       char *err, size_t errlen)
{
	int fd = mw_create_output_as(path, force, "Perfetto file", err, errlen);
	struct mw_perfetto *p;

	if (fd < 0)
		return NULL;
	p = mw_perfetto_create_fd(fd, pid, start_ns);
	if (!p) {
		close(fd);
		snprintf(err, errlen, "cannot create Perfetto file '%s': out of memory", path);
	}
	return p;
}

int mw_perfetto_close(struct mw_perfetto *p)
{
	static const char tail[] = "\n],\"displayTimeUnit\":\"ns\"}\n";
	int rc;

	if (!p)
		return 0;
	/* Iterations still open end where the trace ends. */
	for (size_t i = 0; i < p->iters.cap; i++) {
		struct iter *it = mw_htab_at(&p->iters, i);

		if (it)
			emit_iteration(p, it->tid, it->h.key, it->map, it->start,
				       p->last_ts > it->start ? p->last_ts : it->start);
	}
	/* Grows whose end was not seen end at their last evacuation. */
	for (size_t i = 0; i < p->maps.cap; i++) {
		struct mapst *m = mw_htab_at(&p->maps, i);

		if (m && m->growing)
			grow_end(p, m, m->last_evac);
	}
	if (p->len + sizeof(tail) > OBUF_SIZE)
		oflush(p);
	memcpy(p->buf + p->len, tail, sizeof(tail) - 1);
	p->len += sizeof(tail) - 1;
	oflush(p);
	rc = p->err ? -1 : 0;
	if (close(p->fd) < 0)
		rc = -1;
	mw_htab_free(&p->threads);
	mw_htab_free(&p->iters);
	mw_htab_free(&p->maps);
	free(p->buf);
	free(p);
	return rc;
}
