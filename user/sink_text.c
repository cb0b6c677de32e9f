/* sink_text.c — the plain output (--plain, and the reports after the live
 * view closes): each distinct race once, when first seen, with both stacks
 * (every occurrence with --every), the runtime's own checks, notes, then
 * the findings and the summary. */
#include <stdlib.h>
#include "cli.h"
#include "session.h"

struct text {
	struct mw_sink k;
	const struct mw_opts *o;
	int alerts;		/* alerts, runtime checks and notes as they happen */
	int multi;
	struct mw_seen *seen;
};

#define TEXT(k) ((struct text *)(k))

static void text_alert(struct mw_sink *k, struct mw_watched *p, struct mw_alert_ev *ev)
{
	struct text *t = TEXT(k);
	struct mw_tag tag;
	int first;

	if (!t->alerts)
		return;
	/* Each distinct race (kind and pair of code paths) once, when it is
	 * first seen, with both stacks, as race detectors do; the findings
	 * count its occurrences at the end. --every: a line per occurrence. */
	first = mw_seen_first(t->seen, ev->a->kind, ev->ws, ev->is);
	if (first || t->o->every)
		mw_fmt_alert_text(stdout, ev->a, ev->ws, ev->is, first, mw_watched_tag(p, t->multi, &tag));
}

/* The runtime's own check fired (Go's `fatal error: concurrent map …`):
 * said at once, since the process is about to die. */
static void text_record(struct mw_sink *k, struct mw_watched *p, const struct mw_record *r)
{
	struct text *t = TEXT(k);
	struct mw_summary s;
	struct mw_tag tag;

	if (!t->alerts || r->type != MW_REC_FATAL)
		return;
	mw_corr_summary(p->corr, &s);
	mw_fmt_fatal_text(stdout, r, s.alerts_by_kind[r->kind] != 0, mw_watched_tag(p, t->multi, &tag));
}

static void text_note(struct mw_sink *k, struct mw_watched *p, const char *what, const char *text)
{
	(void)p, (void)what;
	if (TEXT(k)->alerts)
		printf("mapwatch: %s\n", text);
}

static void text_multi(struct mw_sink *k)
{
	TEXT(k)->multi = 1;
}

static void text_findings(struct mw_sink *k, struct mw_watched *p)
{
	struct mw_tag tag;

	mw_fmt_findings_text(stdout, p->findings, mw_watched_tag(p, TEXT(k)->multi, &tag));
}

static void text_proc_summary(struct mw_sink *k, struct mw_watched *p, const struct mw_summary *s)
{
	struct mw_tag tag = { .pid = p->pid, .comm = p->comm };

	mw_fmt_process_text(stdout, s, TEXT(k)->o->reads, &tag, p->rt->name,
			    p->st.exit_how[0] ? p->st.exit_how : "running");
}

static void text_summary(struct mw_sink *k, const struct mw_summary *s, const struct mw_live_end *live)
{
	mw_fmt_summary_text(stdout, s, TEXT(k)->o->reads, live);
	fflush(stdout);
}

static int text_close(struct mw_sink *k)
{
	mw_seen_free(TEXT(k)->seen);
	free(k);
	return 0;
}

struct mw_sink *mw_sink_text(const struct mw_opts *o, int alerts)
{
	struct text *t = calloc(1, sizeof(*t));

	if (!t || !(t->seen = mw_seen_new())) {
		free(t);
		return NULL;
	}
	t->o = o;
	t->alerts = alerts;
	t->k = (struct mw_sink){
		.name = "text", .on_record = text_record, .on_alert = text_alert,
		.on_note = text_note, .on_multi = text_multi, .on_findings = text_findings,
		.on_proc_summary = text_proc_summary, .on_summary = text_summary, .close = text_close,
	};
	return &t->k;
}
