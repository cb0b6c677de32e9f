/* sink_json.c — JSON lines (--json): alerts with their stacks, the
 * runtime's own checks, notes, a stats line every second, then the
 * findings and the summary as the last line. */
#include <inttypes.h>
#include <stdlib.h>
#include "cli.h"
#include "session.h"

struct json {
	struct mw_sink k;
	int multi;
	char line[65536];
};

#define JSON(k) ((struct json *)(k))

static void put(const char *s, int n, size_t cap)
{
	if (n > 0 && (size_t)n < cap) {
		fputs(s, stdout);
		fputc('\n', stdout);
	}
}

static void json_alert(struct mw_sink *k, struct mw_watched *p, struct mw_alert_ev *ev)
{
	struct json *j = JSON(k);
	struct mw_tag tag;

	if (!j->multi) {
		puts(mw_alert_ev_json(ev));
		return;
	}
	put(j->line, mw_fmt_alert_json(j->line, sizeof(j->line), ev->a, ev->ws, ev->is,
				       mw_watched_tag(p, j->multi, &tag)), sizeof(j->line));
}

static void json_record(struct mw_sink *k, struct mw_watched *p, const struct mw_record *r)
{
	struct json *j = JSON(k);
	struct mw_tag tag;

	if (r->type == MW_REC_FATAL)
		put(j->line, mw_fmt_fatal_json(j->line, sizeof(j->line), r, mw_watched_tag(p, j->multi, &tag)),
		    sizeof(j->line));
}

static void json_stats(struct mw_sink *k, struct mw_watched *p, const struct mw_stats *st)
{
	if (!p->primary || st->final)
		return;
	printf("{\"type\":\"stats\",\"ts\":%" PRIu64 ",\"events\":%" PRIu64 ",\"drops\":%" PRIu64
	       ",\"hits\":%" PRIu64 ",\"rate\":%.1f,\"records\":%" PRIu64 ",\"rb_drops\":%" PRIu64
	       ",\"map_full\":%" PRIu64 ",\"slots_full\":%" PRIu64 ",\"bad_reads\":%" PRIu64
	       ",\"stack_fails\":%" PRIu64 "}\n",
	       st->ts, st->records, st->rb_drops + st->map_full + st->slots_full, st->hits, st->rate,
	       st->bpf_records, st->rb_drops, st->map_full, st->slots_full, st->bad_reads,
	       st->stack_fails);
}

static void json_note(struct mw_sink *k, struct mw_watched *p, const char *what, const char *text)
{
	struct json *j = JSON(k);

	put(j->line, snprintf(j->line, sizeof(j->line), "{\"type\":\"note\",\"what\":\"%s\",\"pid\":%d,"
			      "\"text\":\"%s\"}", what, p ? p->pid : 0, text), sizeof(j->line));
}

static void json_multi(struct mw_sink *k)
{
	JSON(k)->multi = 1;
}

static void json_findings(struct mw_sink *k, struct mw_watched *p)
{
	struct json *j = JSON(k);
	struct mw_tag tag;

	for (size_t i = 0; i < mw_findings_count(p->findings); i++)
		put(j->line, mw_fmt_finding_json(j->line, sizeof(j->line), mw_findings_at(p->findings, i),
						 mw_watched_tag(p, j->multi, &tag)), sizeof(j->line));
}

static void json_proc_summary(struct mw_sink *k, struct mw_watched *p, const struct mw_summary *s)
{
	struct json *j = JSON(k);
	struct mw_tag tag = { .pid = p->pid, .comm = p->comm };

	put(j->line, mw_fmt_process_json(j->line, sizeof(j->line), s, &tag, p->rt->name,
					 p->st.exit_how[0] ? p->st.exit_how : "running"), sizeof(j->line));
}

static void json_summary(struct mw_sink *k, const struct mw_summary *s, const struct mw_live_end *live)
{
	struct json *j = JSON(k);

	put(j->line, mw_fmt_summary_json(j->line, sizeof(j->line), s, live), sizeof(j->line));
	fflush(stdout);
}

static int json_close(struct mw_sink *k)
{
	free(k);
	return 0;
}

struct mw_sink *mw_sink_json(const struct mw_opts *o)
{
	struct json *j = calloc(1, sizeof(*j));

	(void)o;
	if (!j)
		return NULL;
	j->k = (struct mw_sink){
		.name = "json", .on_record = json_record, .on_alert = json_alert, .on_stats = json_stats,
		.on_note = json_note, .on_multi = json_multi, .on_findings = json_findings,
		.on_proc_summary = json_proc_summary, .on_summary = json_summary, .close = json_close,
	};
	return &j->k;
}
