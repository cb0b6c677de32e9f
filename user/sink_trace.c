/* sink_trace.c — the recording (-o FILE): every record, each stack once
 * before the first alert that names it, the alerts, the findings and the
 * summary, in the trace format of trace.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "session.h"
#include "trace.h"

struct tracesink {
	struct mw_sink k;
	struct mw_trace_writer *w;
	const char *path;
	int failed;		/* a write failed (said at once) */
	char *err;		/* the live view's header line about it */
	size_t errlen;
	char line[MW_TRACE_LINE_MAX];
};

#define TR(k) ((struct tracesink *)(k))

static void trace_record(struct mw_sink *k, struct mw_watched *p, const struct mw_record *r)
{
	(void)p;
	mw_trace_record(TR(k)->w, r);
}

static void trace_alert(struct mw_sink *k, struct mw_watched *p, struct mw_alert_ev *ev)
{
	struct tracesink *t = TR(k);
	const struct mw_rstack *both[2] = { ev->ws, ev->is };

	(void)p;
	/* Each stack once, before the first alert that names it. */
	for (int i = 0; i < 2; i++) {
		struct mw_rstack *s = (struct mw_rstack *)both[i];
		if (!s || s->traced)
			continue;
		int len = mw_stack_line(s, t->line, sizeof(t->line));
		if (len > 0 && (size_t)len < sizeof(t->line)) {
			mw_trace_line(t->w, t->line, (size_t)len);
			s->traced = 1;
		}
	}
	const char *j = mw_alert_ev_json(ev);
	mw_trace_line(t->w, j, strlen(j));
}

static void trace_stats(struct mw_sink *k, struct mw_watched *p, const struct mw_stats *st)
{
	struct mw_record r = mw_stats_record(st);

	(void)p;
	mw_trace_record(TR(k)->w, &r);
	mw_trace_flush(TR(k)->w);
}

static void trace_findings(struct mw_sink *k, struct mw_watched *p)
{
	struct tracesink *t = TR(k);

	for (size_t i = 0; i < mw_findings_count(p->findings); i++) {
		int n = mw_fmt_finding_json(t->line, sizeof(t->line), mw_findings_at(p->findings, i), NULL);
		if (n > 0 && (size_t)n < sizeof(t->line))
			mw_trace_line(t->w, t->line, (size_t)n);
	}
}

static void trace_summary(struct mw_sink *k, const struct mw_summary *s, const struct mw_live_end *live)
{
	(void)live;
	mw_trace_summary(TR(k)->w, s);
	mw_trace_flush(TR(k)->w);
}

static int trace_close(struct mw_sink *k)
{
	struct tracesink *t = TR(k);
	int terr = mw_trace_error(t->w), rc = 0;

	if (mw_trace_close(t->w) < 0) {
		rc = -1;
		if (!t->failed)	/* else said at the failed write */
			fprintf(stderr, "mapwatch: cannot write trace file '%s': %s\n", t->path,
				strerror(terr ? terr : errno ? errno : EIO));
	}
	free(t);
	return rc;
}

/* The writer's error callback: at the failed write, once. The file was cut
 * back to its last complete line and takes nothing more. */
static void trace_failed(void *ctx, const char *msg)
{
	struct tracesink *t = ctx;

	fprintf(stderr, "mapwatch: %s\n", msg);	/* replayed after the live view closes */
	snprintf(t->err, t->errlen, "trace stopped: %s", strerror(mw_trace_error(t->w)));
	t->failed = 1;
}

int mw_sink_trace_save(struct mw_sink *trace, char *path, size_t len)
{
	struct tracesink *t = TR(trace);

	if (t && t->failed) {
		snprintf(path, len, "%s", t->err);
		return -1;
	}
	if (t && !mw_trace_flush(t->w)) {
		snprintf(path, len, "%s", t->path);
		return 0;
	}
	snprintf(path, len, "no trace is being recorded: start mapwatch with -o FILE");
	return -1;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct mw_sink *mw_sink_trace(const char *path, int force, int pid, const char *comm, const char *exe,
			      uint64_t start, char *trace_error, size_t trace_error_len,
			      char *err, size_t errlen)
{
	struct mw_trace_meta m = { .pid = pid, .start_mono_ns = start, .start_realtime_ns = real_ns() };
	struct tracesink *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(m.comm, sizeof(m.comm), "%s", comm);
	snprintf(m.exe, sizeof(m.exe), "%s", exe);
	t->w = mw_trace_create(path, force, &m, err, errlen);
	if (!t->w) {
		free(t);
		return NULL;
	}
	t->path = path;
	t->err = trace_error;
	t->errlen = trace_error_len;
	mw_trace_on_error(t->w, trace_failed, t);
	t->k = (struct mw_sink){
		.name = "trace", .on_record = trace_record, .on_alert = trace_alert,
		.on_stats = trace_stats, .on_findings = trace_findings, .on_summary = trace_summary,
		.close = trace_close,
	};
	return &t->k;
}
