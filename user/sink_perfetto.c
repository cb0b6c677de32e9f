/* sink_perfetto.c — the timeline (--perfetto FILE): every record, the
 * stats samples and the alerts, through perfetto.c. */
#include <stdlib.h>
#include "perfetto.h"
#include "session.h"

struct pft {
	struct mw_sink k;
	struct mw_perfetto *pf;
};

#define PFT(k) (((struct pft *)(k))->pf)

static void pft_record(struct mw_sink *k, struct mw_watched *p, const struct mw_record *r)
{
	(void)p;
	mw_perfetto_record(PFT(k), r);
}

static void pft_stats(struct mw_sink *k, struct mw_watched *p, const struct mw_stats *st)
{
	struct mw_record r = mw_stats_record(st);

	(void)p;
	mw_perfetto_record(PFT(k), &r);
}

static void pft_alert(struct mw_sink *k, struct mw_watched *p, struct mw_alert_ev *ev)
{
	(void)p;
	mw_perfetto_alert(PFT(k), ev->a);
}

static int pft_close(struct mw_sink *k)
{
	mw_perfetto_close(PFT(k));
	free(k);
	return 0;
}

struct mw_sink *mw_sink_perfetto(const char *path, int force, int pid, const char *comm, uint64_t start,
				 char *err, size_t errlen)
{
	struct pft *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->pf = mw_perfetto_create(path, force, pid, start, err, errlen);
	if (!t->pf) {
		free(t);
		return NULL;
	}
	mw_perfetto_process_name(t->pf, comm);
	t->k = (struct mw_sink){
		.name = "perfetto", .on_record = pft_record, .on_stats = pft_stats,
		.on_alert = pft_alert, .close = pft_close,
	};
	return &t->k;
}
