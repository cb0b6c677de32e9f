/* sink_metrics.c — the Prometheus endpoint (--metrics ADDR:PORT): a
 * snapshot of the first process's summary, BPF's counters and findings at
 * every stats sample (--all: the snapshot of every binary and process the
 * host-wide loop publishes); --metrics-linger keeps the final one up a while. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "metrics.h"
#include "session.h"
#include "tree.h"

struct msink {
	struct mw_sink k;
	const struct mw_opts *o;
	struct mw_metrics *m;
	int ended;		/* the final numbers are up */
	char binary[MW_METRICS_NAME];
};

#define MS(k) ((struct msink *)(k))

static void metrics_stats(struct mw_sink *k, struct mw_watched *p, const struct mw_stats *st)
{
	struct msink *ms = MS(k);
	struct mw_metrics_proc mp = { .pid = p->pid, .watched = !st->final && !p->st.target_exited };
	struct mw_metrics_snapshot s = {
		.procs = &mp, .nprocs = 1, .records = st->records,
		.drops_ring_buffer = st->rb_drops, .drops_map_full = st->map_full,
		.drops_slots_full = st->slots_full, .bad_reads = st->bad_reads,
		.stacks_missed = st->stack_fails,
	};
	struct mw_summary sum;

	if (!p->primary || ms->o->all)
		return;	/* --all publishes its own (mw_sink_metrics_publish) */
	mw_corr_summary(p->corr, &sum);
	snprintf(mp.binary, sizeof(mp.binary), "%s", ms->binary);
	snprintf(mp.runtime, sizeof(mp.runtime), "%s", p->rt->name);
	mp.probe_hits = st->hits;
	memcpy(mp.races, sum.alerts_by_kind, sizeof(mp.races));
	memcpy(mp.runtime_caught, sum.runtime_caught, sizeof(mp.runtime_caught));
	mw_metrics_proc_sites(&mp, p->findings, MW_METRICS_SITE_CAP);
	mw_metrics_update(ms->m, &s);
	mw_metrics_proc_free(&mp);
	ms->ended |= st->final;
}

void mw_sink_metrics_publish(struct mw_sink *k, const struct mw_metrics_snapshot *s, int final)
{
	mw_metrics_update(MS(k)->m, s);
	MS(k)->ended |= final;
}

/* --metrics-linger: the final numbers stay up for SEC seconds (a signal ends it);
 * not when the run failed before it had them. */
static int metrics_close(struct mw_sink *k)
{
	struct msink *ms = MS(k);
	uint64_t end = mw_mono_ns() + (uint64_t)(ms->o->metrics_linger * 1e9);
	int sigs = mw_signals();

	if (ms->ended && ms->o->metrics_linger > 0) {
		fflush(stdout);
		while (mw_mono_ns() < end && mw_signals() == sigs)
			usleep(20000);
	}
	mw_metrics_stop(ms->m);
	free(ms);
	return 0;
}

struct mw_sink *mw_sink_metrics(const struct mw_opts *o, const char *exe, const char *comm,
				char *err, size_t errlen)
{
	struct msink *ms = calloc(1, sizeof(*ms));
	const char *b = strrchr(exe, '/');

	if (!ms) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ms->o = o;
	/* /proc/PID/exe (a deleted or unreachable binary) says nothing: its comm then */
	snprintf(ms->binary, sizeof(ms->binary), "%s",
		 !strncmp(exe, "/proc/", 6) && comm[0] ? comm : b ? b + 1 : exe);
	ms->m = mw_metrics_start(o->metrics, err, errlen);
	if (!ms->m) {
		free(ms);
		return NULL;
	}
	if (o->verbose)
		fprintf(stderr, "mapwatch: metrics at http://%s/metrics\n", o->metrics);
	ms->k = (struct mw_sink){ .name = "metrics", .on_stats = metrics_stats, .close = metrics_close };
	return &ms->k;
}
