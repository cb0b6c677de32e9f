/* sink_tui.c — the live view (tui.c) of the first watched process: its
 * records for the event log, a redraw tick, the stacks of an alert's
 * detail and the trace's save key. With --all, the host view: every
 * process's records for the log (the agent draws it, agent.c). */
#include <stdlib.h>
#include "session.h"

struct tuisink {
	struct mw_sink k;
	struct mw_tui *tui;
	struct mw_watched *p;
	struct mw_sink *trace;
};

#define TS(k) ((struct tuisink *)(k))

static void tui_record(struct mw_sink *k, struct mw_watched *p, const struct mw_record *r)
{
	if (p->primary && TS(k)->tui)
		mw_tui_event(TS(k)->tui, r);
}

static void tui_stats(struct mw_sink *k, struct mw_watched *p, const struct mw_stats *st)
{
	struct mw_record r = mw_stats_record(st);

	tui_record(k, p, &r);
}

static int tui_tick(struct mw_sink *k, struct mw_watched *p, uint64_t now)
{
	struct tuisink *t = TS(k);

	if (!t->tui)
		return MW_SINK_GO;
	return mw_tui_tick(t->tui, p->corr, &p->st, now) == MW_TUI_QUIT ? MW_SINK_QUIT : MW_SINK_GO;
}

/* The screen closes before the reports; on the final state when the target ended. */
static void tui_end(struct mw_sink *k, struct mw_watched *p)
{
	struct tuisink *t = TS(k);

	if (!t->tui)
		return;
	if (p->st.target_exited)
		mw_tui_tick(t->tui, p->corr, &p->st, mw_mono_ns());
	mw_tui_close(t->tui);
	t->tui = NULL;
}

static int tui_close(struct mw_sink *k)
{
	if (TS(k)->tui)
		mw_tui_close(TS(k)->tui);
	free(k);
	return 0;
}

/* The alert detail: frame i of one side of process p's alert, as text. */
static int proc_stack_line(struct mw_watched *p, const struct mw_alert *a, int iter_side, int i,
			   char *buf, size_t len)
{
	const struct mw_rstack *s = iter_side ? mw_proc_stack(p, a->iter_stack, a->iter_caller)
					      : mw_proc_stack(p, a->writer_stack, a->writer_caller);

	if (!s || i < 0 || i >= s->n)
		return -1;
	mw_sframe_format(&s->f[i], buf, len);
	return 0;
}

static int stack_line(void *ctx, const struct mw_alert *a, int iter_side, int i, char *buf, size_t len)
{
	return proc_stack_line(((struct tuisink *)ctx)->p, a, iter_side, i, buf, len);
}

/* --all: the ctx is the process (struct mw_tui_proc.ctx) */
static int host_stack_line(void *ctx, const struct mw_alert *a, int iter_side, int i, char *buf, size_t len)
{
	return ctx ? proc_stack_line(ctx, a, iter_side, i, buf, len) : -1;
}

static int save_trace(void *ctx, char *path, size_t len)
{
	return mw_sink_trace_save(TS(ctx)->trace, path, len);
}

struct mw_sink *mw_sink_tui(const struct mw_opts *o, struct mw_watched *p, struct mw_sink *trace)
{
	struct tuisink *t = calloc(1, sizeof(*t));
	struct mw_tui_target tt = { .pid = p->pid, .probes = mw_loader_nprobes(p->ldr) };

	if (!t)
		return NULL;
	struct mw_tui_opts to = { .ascii = o->ascii, .no_color = getenv("NO_COLOR") != NULL,
				  .frames = o->frames, .save_trace = save_trace,
				  .stack_line = stack_line, .ctx = t };
	snprintf(tt.comm, sizeof(tt.comm), "%s", p->comm);
	snprintf(tt.probed, sizeof(tt.probed), "%s", p->tgt->module);
	t->p = p;
	t->trace = trace;
	t->tui = mw_tui_open(&to, &tt);
	if (!t->tui) {
		free(t);
		return NULL;
	}
	t->k = (struct mw_sink){
		.name = "tui", .on_record = tui_record, .on_stats = tui_stats, .on_tick = tui_tick,
		.on_end = tui_end, .close = tui_close,
	};
	return &t->k;
}

static void host_record(struct mw_sink *k, struct mw_watched *p, const struct mw_record *r)
{
	(void)p;
	if (TS(k)->tui && r->type != MW_REC_STATS)
		mw_tui_event(TS(k)->tui, r);
}

struct mw_sink *mw_sink_tui_host(const struct mw_opts *o, struct mw_tui **tui)
{
	struct tuisink *t = calloc(1, sizeof(*t));
	struct mw_tui_opts to = { .ascii = o->ascii, .no_color = getenv("NO_COLOR") != NULL,
				  .frames = o->frames, .stack_line = host_stack_line };

	if (!t)
		return NULL;
	t->tui = mw_tui_open(&to, NULL);
	if (!t->tui) {
		free(t);
		return NULL;
	}
	t->k = (struct mw_sink){ .name = "tui", .on_record = host_record, .close = tui_close };
	*tui = t->tui;
	return &t->k;
}
