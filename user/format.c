/* format.c — the text and JSON forms of alerts, findings and summaries (format.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "format.h"
#include "json.h"

/* ---- small pieces ------------------------------------------------------------- */

/* "812 ns", "4.2 us", "1.5 ms", "12.0 s". */
static void fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns < 10000)
		snprintf(buf, len, "%" PRIu64 " ns", ns);
	else if (ns < 10000000)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 10000000000ull)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.1f s", ns / 1e9);
}

static int tagged(const struct mw_tag *t)
{
	return t && t->pid > 0;
}

/* " [pid N comm]" for text lines, or "". */
static const char *text_tag(const struct mw_tag *t, char *buf, size_t len)
{
	buf[0] = 0;
	if (tagged(t) && t->binary && t->nspid > 0 && t->nspid != t->pid)
		snprintf(buf, len, " [pid %d ns %d %s %s]", t->pid, t->nspid, t->binary,
			 t->cgroup ? t->cgroup : "");
	else if (tagged(t) && t->binary)
		snprintf(buf, len, " [pid %d %s]", t->pid, t->binary);
	else if (tagged(t))
		snprintf(buf, len, " [pid %d %s]", t->pid, t->comm ? t->comm : "");
	return buf;
}

/* "\"pid\":N," for JSON objects, or "". */
static const char *json_tag(const struct mw_tag *t, char *buf, size_t len)
{
	char b[256], cg[1100];

	buf[0] = 0;
	if (tagged(t) && t->binary) {
		mw_json_escape(t->binary, b, sizeof(b));
		mw_json_escape(t->cgroup ? t->cgroup : "", cg, sizeof(cg));
		snprintf(buf, len, "\"pid\":%d,\"nspid\":%d,\"binary\":\"%s\",\"cgroup\":\"%s\",", t->pid,
			 t->nspid, b, cg);
	} else if (tagged(t)) {
		snprintf(buf, len, "\"pid\":%d,", t->pid);
	}
	return buf;
}

/* An actor as outputs name it: "goroutine 19 (tid 4242)" for Go, "tid 4242". */
static const char *who(char *buf, size_t len, uint32_t tid, uint64_t gid)
{
	if (gid)
		snprintf(buf, len, "goroutine %" PRIu64 " (tid %u)", gid, tid);
	else
		snprintf(buf, len, "tid %u", tid);
	return buf;
}

/* A Go hiter lives on its goroutine's stack: show where, not the key. */
static void fmt_hiter(uint64_t h, char *buf, size_t len)
{
	if (h & MW_HITER_STACK)
		snprintf(buf, len, "stack top-0x%" PRIx64, (uint64_t)(h & ~MW_HITER_STACK));
	else
		snprintf(buf, len, "0x%" PRIx64, h);
}

/* ---- alerts ------------------------------------------------------------------- */

static void stack_text(FILE *f, const char *label, const struct mw_rstack *s)
{
	char fr[MW_STACK_STR * 3];

	if (!s || !s->n) {
		fprintf(f, "    %-9s (no stack)\n", label);
		return;
	}
	for (int i = 0; i < s->n && i < MW_PLAIN_FRAMES; i++) {
		mw_sframe_format(&s->f[i], fr, sizeof(fr));
		fprintf(f, "    %-9s %s\n", i ? "" : label, fr);
	}
	if (s->n > MW_PLAIN_FRAMES)
		fprintf(f, "    %-9s … %d more\n", "", s->n - MW_PLAIN_FRAMES);
}

void mw_fmt_alert_text(FILE *f, const struct mw_alert *a, const struct mw_rstack *ws,
		       const struct mw_rstack *is, int stacks, const struct mw_tag *tag)
{
	char ov[32], ev[48] = "", w[64], it[64], hi[48], tg[1400];
	const char *what;

	fmt_ns(a->overlap_ns, ov, sizeof(ov));
	who(w, sizeof(w), a->writer_tid, a->writer_gid);
	who(it, sizeof(it), a->iter_tid, a->iter_gid);
	text_tag(tag, tg, sizeof(tg));
	if (a->kind == MW_KIND_WRITE_WRITE || a->kind == MW_KIND_READ_WRITE ||
	    a->kind == MW_KIND_CLONE_WRITE) {
		fprintf(f, "ALERT #%" PRIu64 " %s map 0x%" PRIx64 ": %s %s while %s's write "
			"is in flight (overlap %s, confidence %s)%s\n",
			a->seq, mw_kind_name(a->kind), a->map, w,
			a->kind == MW_KIND_READ_WRITE ? "reads" :
			a->kind == MW_KIND_CLONE_WRITE ? "clones" : mw_op_name(a->op), it, ov,
			mw_conf_name(a->confidence), tg);
	} else {
		if (a->kind == MW_KIND_ITER_WRITE && a->op == MW_OP_NONE)
			what = "writes";	/* a write already in flight when the iteration started */
		else if (a->kind == MW_KIND_ITER_WRITE)
			what = mw_op_name(a->op);
		else if (a->rec_type == MW_REC_EVACUATE)
			what = "evacuates";
		else
			what = "grows the map";
		if (a->bucket2)
			snprintf(ev, sizeof(ev), ", evacuated bucket 0x%" PRIx64, a->bucket2);
		fmt_hiter(a->hiter, hi, sizeof(hi));
		fprintf(f, "ALERT #%" PRIu64 " %s map 0x%" PRIx64 ": %s %s while %s iterates "
			"(hiter %s, iterator bucket 0x%" PRIx64 "%s, overlap %s, confidence %s)%s\n",
			a->seq, mw_kind_name(a->kind), a->map, w, what, it, hi,
			a->bucket, ev, ov, mw_conf_name(a->confidence), tg);
	}
	if (stacks) {
		stack_text(f, "writer", ws);
		stack_text(f, a->kind == MW_KIND_WRITE_WRITE ? "in flight" : "iterator", is);
	}
}

int mw_fmt_alert_json(char *buf, size_t len, const struct mw_alert *a, const struct mw_rstack *ws,
		      const struct mw_rstack *is, const struct mw_tag *tag)
{
	char gids[96] = "", tg[1400];
	int n, g = 0;

	/* Go: the goroutines too (libgomap's lines stay as they were). */
	if (a->writer_gid || a->iter_gid)
		g = snprintf(gids, sizeof(gids), "\"writer_goid\":%" PRIu64 ",\"iter_goid\":%" PRIu64 ",",
			     a->writer_gid, a->iter_gid);
	/* Occurrences this line stands for (counted in the kernel), when more than one. */
	if (a->n > 1 && g >= 0 && (size_t)g < sizeof(gids))
		snprintf(gids + g, sizeof(gids) - (size_t)g, "\"n\":%" PRIu64 ",", (uint64_t)a->n);
	json_tag(tag, tg, sizeof(tg));
	for (int with_stacks = 1;; with_stacks = 0) {
		n = snprintf(buf, len,
			"{\"type\":\"alert\",%s\"seq\":%" PRIu64 ",\"ts\":%" PRIu64 ",\"kind\":\"%s\","
			"\"map\":\"0x%" PRIx64 "\",\"bucket\":\"0x%" PRIx64 "\",\"bucket2\":\"0x%" PRIx64 "\","
			"\"hiter\":\"0x%" PRIx64 "\",\"writer_tid\":%u,\"iter_tid\":%u,%s\"overlap_ns\":%" PRIu64
			",\"confidence\":\"%s\",\"op\":\"%s\",\"writer_stack_id\":%d,\"iter_stack_id\":%d,"
			"\"writer_stack\":%s,\"iter_stack\":%s}",
			tg, a->seq, a->ts, mw_kind_name(a->kind), a->map, a->bucket, a->bucket2, a->hiter,
			(unsigned)a->writer_tid, (unsigned)a->iter_tid, gids, a->overlap_ns,
			mw_conf_name(a->confidence), mw_op_name(a->op), (int)a->writer_stack,
			(int)a->iter_stack, with_stacks && ws ? ws->json : "[]",
			with_stacks && is ? is->json : "[]");
		if (!with_stacks || (n >= 0 && (size_t)n < len))
			return n;
	}
}

#define SEEN_MAX 4096

struct mw_seen {
	uint64_t key[SEEN_MAX];
	unsigned used;
};

struct mw_seen *mw_seen_new(void)
{
	return calloc(1, sizeof(struct mw_seen));
}

void mw_seen_free(struct mw_seen *s)
{
	free(s);
}

/* A small open-addressing set of (kind, stack, stack) keys. */
int mw_seen_first(struct mw_seen *s, unsigned kind, const void *ws, const void *is)
{
	uint64_t k = ((uint64_t)(uintptr_t)ws * 0x9e3779b97f4a7c15ULL) ^
		     ((uint64_t)(uintptr_t)is * 0xc2b2ae3d27d4eb4fULL) ^ (kind + 1);

	if (!s)
		return 0;
	if (!k)
		k = 1;
	for (unsigned i = 0, h = (unsigned)(k >> 40) % SEEN_MAX; i < SEEN_MAX; i++, h = (h + 1) % SEEN_MAX) {
		if (s->key[h] == k)
			return 0;
		if (!s->key[h]) {
			if (s->used + 1 >= SEEN_MAX)
				return 0;
			s->key[h] = k;
			s->used++;
			return 1;
		}
	}
	return 0;
}

/* ---- the runtime's own check ---------------------------------------------------- */

void mw_fmt_fatal_text(FILE *f, const struct mw_record *r, int flagged, const struct mw_tag *tag)
{
	char w[64], tg[1400];

	fprintf(f, "RUNTIME the runtime caught a %s race in %s (map 0x%" PRIx64 "); %s%s\n",
		mw_kind_name(r->kind), who(w, sizeof(w), r->tid, r->gid), (uint64_t)r->map,
		flagged ? "mapwatch flagged this kind before it"
			: "mapwatch had not flagged it (caught by the runtime only)",
		text_tag(tag, tg, sizeof(tg)));
}

int mw_fmt_fatal_json(char *buf, size_t len, const struct mw_record *r, const struct mw_tag *tag)
{
	char tg[1400];

	return snprintf(buf, len, "{\"type\":\"runtime\",%s\"kind\":\"%s\",\"ts\":%" PRIu64
			",\"map\":\"0x%" PRIx64 "\",\"tid\":%u,\"goid\":%" PRIu64 "}",
			json_tag(tag, tg, sizeof(tg)), mw_kind_name(r->kind), (uint64_t)r->ts,
			(uint64_t)r->map, r->tid, (uint64_t)r->gid);
}

/* ---- findings ------------------------------------------------------------------- */

void mw_fmt_findings_text(FILE *f, const struct mw_findings *fs, const struct mw_tag *tag)
{
	for (size_t i = 0; i < mw_findings_count(fs); i++) {
		const struct mw_finding *fd = mw_findings_at(fs, i);

		if (!i && tagged(tag))
			fprintf(f, "mapwatch: findings in pid %d (%s) (alerts by code location, writer → "
				"iterator or write in flight):\n", tag->pid, tag->comm ? tag->comm : "");
		else if (!i)
			fprintf(f, "mapwatch: findings (alerts by code location, writer → iterator or "
				"write in flight):\n");
		fprintf(f, "  %6" PRIu64 "  %-11s %s → %s\n", fd->count, mw_kind_name(fd->kind),
			fd->writer, fd->iter);
	}
}

int mw_fmt_finding_json(char *buf, size_t len, const struct mw_finding *fd, const struct mw_tag *tag)
{
	char w[6 * sizeof(fd->writer) + 8], it[6 * sizeof(fd->iter) + 8], tg[1400];

	mw_json_escape(fd->writer, w, sizeof(w));
	mw_json_escape(fd->iter, it, sizeof(it));
	return snprintf(buf, len, "{\"type\":\"finding\",%s\"kind\":\"%s\",\"count\":%" PRIu64
			",\"writer\":\"%s\",\"iterator\":\"%s\",\"first_seq\":%" PRIu64 "}",
			json_tag(tag, tg, sizeof(tg)), mw_kind_name(fd->kind), fd->count, w, it,
			fd->first_seq);
}

/* ---- findings of a binary (--all) ------------------------------------------------- */

void mw_fmt_bin_findings_head_text(FILE *f, const char *binary)
{
	fprintf(f, "mapwatch: findings in %s (alerts by code location, writer → iterator or "
		"write in flight; count per process):\n", binary);
}

void mw_fmt_bin_finding_text(FILE *f, const struct mw_bin_finding *a)
{
	fprintf(f, "  %6" PRIu64 "  %-11s %s → %s  [", a->count, mw_kind_name(a->kind), a->writer, a->iter);
	for (int j = 0; j < a->npids; j++)
		fprintf(f, "%spid %d: %" PRIu64, j ? ", " : "", a->p[j].pid, a->p[j].count);
	if (a->others)
		fprintf(f, ", others: %" PRIu64, a->others);
	fprintf(f, "]\n");
}

void mw_fmt_bin_overflow_text(FILE *f, int kind, uint64_t count)
{
	fprintf(f, "  %6" PRIu64 "  %-11s (more code locations than kept)\n", count, mw_kind_name(kind));
}

int mw_fmt_bin_finding_json(char *buf, size_t len, const char *binary, const struct mw_bin_finding *a)
{
	char b[256], w[6 * sizeof(a->writer) + 8], it[6 * sizeof(a->iter) + 8];
	size_t o;

	mw_json_escape(binary, b, sizeof(b));
	mw_json_escape(a->writer, w, sizeof(w));
	mw_json_escape(a->iter, it, sizeof(it));
	o = (size_t)snprintf(buf, len, "{\"type\":\"finding\",\"binary\":\"%s\",\"kind\":\"%s\",\"count\":%"
			     PRIu64 ",\"writer\":\"%s\",\"iterator\":\"%s\",\"processes\":[", b,
			     mw_kind_name(a->kind), a->count, w, it);
	for (int j = 0; j < a->npids && o < len; j++)
		o += (size_t)snprintf(buf + o, len - o, "%s{\"pid\":%d,\"nspid\":%d,\"count\":%" PRIu64 "}",
				      j ? "," : "", a->p[j].pid, a->p[j].nspid, a->p[j].count);
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o, "],\"other_processes\":%d,\"other_count\":%" PRIu64 "}",
				      a->nothers, a->others);
	return (int)o;
}

/* ---- summaries -------------------------------------------------------------------- */

/* ", read-write N, clone-write N" for the kinds beyond the three classic ones, when seen. */
static const char *extra_kinds(const struct mw_summary *s, int reads, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int k = MW_KIND_READ_WRITE; k < MW_KIND_MAX && n < len; k++)
		if (s->alerts_by_kind[k] || (k == MW_KIND_READ_WRITE && reads))
			n += (size_t)snprintf(buf + n, len - n, ", %s %" PRIu64, mw_kind_name(k),
					      s->alerts_by_kind[k]);
	return buf;
}

void mw_fmt_summary_text(FILE *f, const struct mw_summary *s, int reads, const struct mw_live_end *live)
{
	char more[256];

	if (live)
		fprintf(f, "mapwatch: %" PRIu64 " events, %" PRIu64 " probe hits, %" PRIu64 " drops "
			"(%" PRIu64 " ring buffer, %" PRIu64 " map full, %" PRIu64 " iteration slots full), "
			"%" PRIu64 " bad reads, %" PRIu64 " stacks not captured\n",
			s->events, live->hits, s->drops, live->rb_drops, live->map_full, live->slots_full,
			live->bad_reads, live->stack_fails);
	else
		fprintf(f, "mapwatch: %" PRIu64 " events, %" PRIu64 " probe hits, %" PRIu64 " drops "
			"(%" PRIu64 " ring buffer, %" PRIu64 " map or iteration slots full)\n",
			s->events, s->bpf_hits, s->drops, s->rb_drops, s->map_drops);
	fprintf(f, "mapwatch: %" PRIu64 " alerts: iter-write %" PRIu64 ", iter-grow %" PRIu64
		", write-write %" PRIu64 "%s (%" PRIu64 " rows, %" PRIu64 " maps)\n",
		s->alerts, s->alerts_by_kind[MW_KIND_ITER_WRITE], s->alerts_by_kind[MW_KIND_ITER_GROW],
		s->alerts_by_kind[MW_KIND_WRITE_WRITE], extra_kinds(s, reads, more, sizeof(more)),
		s->rows, s->maps);
	if (s->maps_forgotten)
		fprintf(f, "mapwatch: %" PRIu64 " idle maps forgotten to keep at most %d map models (their "
			"per-map counts; alerts keep theirs)\n", s->maps_forgotten, MW_CORR_MAPS_MAX);
	if (s->unconfirmed)
		fprintf(f, "mapwatch: %" PRIu64 " more not counted: writes into a Go iteration never seen "
			"moving on afterwards (possibly left by break or return)\n", s->unconfirmed);
	if (s->mode.sampled)
		fprintf(f, "mapwatch: sampled mode, budget %.3g%%: writes watched %.1f%% of the time "
			"(%" PRIu64 " windows); races outside the windows were not seen\n",
			s->mode.budget * 100, s->mode.armed_fraction * 100, s->mode.windows);
	for (int k = 1; k < MW_KIND_MAX; k++)
		if (s->runtime_caught[k])
			fprintf(f, "mapwatch: the runtime itself caught %" PRIu64 " %s race%s\n",
				s->runtime_caught[k], mw_kind_name(k), s->runtime_caught[k] > 1 ? "s" : "");
	if (live && live->target && live->target[0] && strcmp(live->target, "running"))
		fprintf(f, "mapwatch: pid %d %s\n", live->root_pid, live->target);
}

/* The summary's own fields, without braces: "events":N,…,"last_ts":N */
static int summary_fields(char *buf, size_t len, const struct mw_summary *s)
{
	char forgot[48] = "";

	if (s->maps_forgotten)	/* only when the correlator's cap was reached */
		snprintf(forgot, sizeof(forgot), ",\"maps_forgotten\":%" PRIu64, s->maps_forgotten);
	return snprintf(buf, len,
		"\"events\":%" PRIu64 ",\"drops\":%" PRIu64 ",\"alerts\":%" PRIu64 ","
		"\"alerts_by_kind\":{\"iter-write\":%" PRIu64 ",\"iter-grow\":%" PRIu64 ",\"write-write\":%" PRIu64
		",\"read-write\":%" PRIu64 ",\"clone-write\":%" PRIu64 "},\"unconfirmed\":%" PRIu64 ","
		"\"runtime_caught\":{\"iter-write\":%" PRIu64 ",\"write-write\":%" PRIu64 ",\"read-write\":%" PRIu64
		",\"clone-write\":%" PRIu64 "},"
		"\"rows\":%" PRIu64 ",\"maps\":%" PRIu64 "%s,\"rb_drops\":%" PRIu64 ",\"map_drops\":%" PRIu64 ","
		"\"probe_hits\":%" PRIu64 ",\"first_ts\":%" PRIu64 ",\"last_ts\":%" PRIu64,
		s->events, s->drops, s->alerts,
		s->alerts_by_kind[MW_KIND_ITER_WRITE], s->alerts_by_kind[MW_KIND_ITER_GROW],
		s->alerts_by_kind[MW_KIND_WRITE_WRITE], s->alerts_by_kind[MW_KIND_READ_WRITE],
		s->alerts_by_kind[MW_KIND_CLONE_WRITE], s->unconfirmed,
		s->runtime_caught[MW_KIND_ITER_WRITE], s->runtime_caught[MW_KIND_WRITE_WRITE],
		s->runtime_caught[MW_KIND_READ_WRITE], s->runtime_caught[MW_KIND_CLONE_WRITE],
		s->rows, s->maps, forgot, s->rb_drops, s->map_drops, s->bpf_hits, s->first_ts, s->last_ts);
}

int mw_fmt_summary_json(char *buf, size_t len, const struct mw_summary *s, const struct mw_live_end *live)
{
	char fields[1024], tail[1024] = "", mode[400] = "";

	summary_fields(fields, sizeof(fields), s);
	mw_run_mode_json(&s->mode, mode, sizeof(mode));
	if (live)
		snprintf(tail, sizeof(tail), ",\"pid\":%d,\"records\":%" PRIu64 ",\"bpf_records\":%" PRIu64
			 ",\"slots_full\":%" PRIu64 ",\"map_full\":%" PRIu64 ",\"bad_reads\":%" PRIu64
			 ",\"stack_fails\":%" PRIu64 ",\"target\":\"%s\",\"exit_status\":%d%s",
			 live->pid, live->records, live->bpf_records, live->slots_full, live->map_full,
			 live->bad_reads, live->stack_fails, live->target ? live->target : "running",
			 live->exit_status, mode);
	return snprintf(buf, len, "{\"type\":\"summary\",%s%s}", fields, tail);
}

void mw_fmt_process_text(FILE *f, const struct mw_summary *s, int reads, const struct mw_tag *tag,
			 const char *runtime, const char *how)
{
	char more[256];

	fprintf(f, "mapwatch: pid %d (%s, %s): %" PRIu64 " alerts: iter-write %" PRIu64 ", iter-grow %"
		PRIu64 ", write-write %" PRIu64 "%s, %" PRIu64 " events; %s\n", tag->pid,
		tag->comm ? tag->comm : "", runtime, s->alerts, s->alerts_by_kind[MW_KIND_ITER_WRITE],
		s->alerts_by_kind[MW_KIND_ITER_GROW], s->alerts_by_kind[MW_KIND_WRITE_WRITE],
		extra_kinds(s, reads, more, sizeof(more)), s->events, how);
}

int mw_fmt_process_json(char *buf, size_t len, const struct mw_summary *s, const struct mw_tag *tag,
			const char *runtime, const char *how)
{
	char fields[1024];

	summary_fields(fields, sizeof(fields), s);
	return snprintf(buf, len, "{\"type\":\"process_summary\",\"pid\":%d,\"comm\":\"%s\","
			"\"runtime\":\"%s\",\"target\":\"%s\",%s}", tag->pid, tag->comm ? tag->comm : "",
			runtime, how, fields);
}

/* ---- the host-wide mode (--all) ------------------------------------------------------ */

void mw_fmt_proc_event_text(FILE *f, const struct mw_proc_event *e)
{
	int ns = e->nspid > 0 && e->nspid != e->pid;

	if (!strcmp(e->event, "watch"))
		fprintf(f, "mapwatch: watching pid %d%s%.0d %s (%s%s%s), cgroup %s: attachment %d%s (found at %s)\n",
			e->pid, ns ? " ns pid " : "", ns ? e->nspid : 0, e->path, e->runtime,
			e->version[0] ? " " : "", e->version, e->cgroup[0] ? e->cgroup : "?", e->attachment,
			e->shared ? ", shared" : "", e->how);
	else if (!strcmp(e->event, "failed"))
		fprintf(f, "mapwatch: pid %d (%s) cannot be watched (%s): %s\n", e->pid, e->path, e->reason,
			e->how);
	else
		fprintf(f, "mapwatch: pid %d (%s) %s\n", e->pid, e->binary, e->how);
}

int mw_fmt_proc_event_json(char *buf, size_t len, const struct mw_proc_event *e)
{
	char e1[2 * 4096], e2[2 * 1100], e3[128], e4[1024], e5[512];

	mw_json_escape(e->path ? e->path : "", e1, sizeof(e1));
	mw_json_escape(e->how, e4, sizeof(e4));
	mw_json_escape(e->binary ? e->binary : "", e5, sizeof(e5));
	if (!strcmp(e->event, "failed"))
		return snprintf(buf, len, "{\"type\":\"process\",\"event\":\"failed\",\"pid\":%d,\"nspid\":%d,"
				"\"path\":\"%s\",\"reason\":\"%s\",\"why\":\"%s\"}", e->pid, e->nspid, e1,
				e->reason, e4);
	if (!strcmp(e->event, "exit"))
		return snprintf(buf, len, "{\"type\":\"process\",\"event\":\"exit\",\"pid\":%d,\"nspid\":%d,"
				"\"binary\":\"%s\",\"attachment\":%d,\"alerts\":%" PRIu64 ",\"events\":%" PRIu64
				",\"why\":\"%s\"}", e->pid, e->nspid, e5, e->attachment, e->alerts, e->events,
				e4);
	mw_json_escape(e->cgroup, e2, sizeof(e2));
	mw_json_escape(e->comm, e3, sizeof(e3));
	return snprintf(buf, len, "{\"type\":\"process\",\"event\":\"watch\",\"pid\":%d,\"nspid\":%d,"
			"\"comm\":\"%s\",\"binary\":\"%s\",\"path\":\"%s\",\"cgroup\":\"%s\",\"runtime\":\"%s\","
			"\"version\":\"%s\",\"attachment\":%d,\"shared\":%s,\"found\":\"%s\"}", e->pid,
			e->nspid, e3, e5, e1, e2, e->runtime, e->version, e->attachment,
			e->shared ? "true" : "false", e4);
}

void mw_fmt_host_summary_text(FILE *f, const struct mw_summary *s, const struct mw_host_end *h)
{
	fprintf(f, "mapwatch: %" PRIu64 " events, %" PRIu64 " probe hits, %" PRIu64 " drops (%" PRIu64
		" ring buffer, %" PRIu64 " map full, %" PRIu64 " iteration slots full)\n", s->events, h->hits,
		s->drops, h->rb_drops, h->map_full, h->slots_full);
	fprintf(f, "mapwatch: %" PRIu64 " alerts: iter-write %" PRIu64 ", iter-grow %" PRIu64
		", write-write %" PRIu64 ", read-write %" PRIu64 " (%" PRIu64 " maps)\n", s->alerts,
		s->alerts_by_kind[MW_KIND_ITER_WRITE], s->alerts_by_kind[MW_KIND_ITER_GROW],
		s->alerts_by_kind[MW_KIND_WRITE_WRITE], s->alerts_by_kind[MW_KIND_READ_WRITE], s->maps);
	fprintf(f, "mapwatch: %" PRIu64 " processes watched (%d still running), %d attachments; %" PRIu64
		" attach failures (unsupported %" PRIu64 ", symbols missing %" PRIu64 ", permission %"
		PRIu64 ", gone %" PRIu64 ", probe %" PRIu64 ", other %" PRIu64 "); %" PRIu64
		" without a supported runtime, %" PRIu64 " filtered out, %" PRIu64 " opted out, %"
		PRIu64 " Go toolchain\n", h->processes, h->watching, h->attachments,
		mw_metrics_failures_total(h->failures),
		h->failures[MW_ATTACH_UNSUPPORTED], h->failures[MW_ATTACH_SYMBOLS],
		h->failures[MW_ATTACH_PERMISSION], h->failures[MW_ATTACH_GONE], h->failures[MW_ATTACH_PROBE],
		h->failures[MW_ATTACH_OTHER], h->no_runtime, h->excluded, h->opted_out, h->toolchain);
	if (s->mode.sampled)
		fprintf(f, "mapwatch: sampled mode, budget %.3g%% of each process's CPU time: writes watched "
			"%.1f%% of the time (%" PRIu64 " windows)\n", s->mode.budget * 100,
			s->mode.armed_fraction * 100, s->mode.windows);
}

int mw_fmt_host_summary_json(char *buf, size_t len, const struct mw_summary *s, const struct mw_host_end *h)
{
	char sum[2048], mode[400], fl[512];
	size_t o = 0;
	int n = mw_fmt_summary_json(sum, sizeof(sum), s, NULL);

	if (n <= 0 || (size_t)n >= sizeof(sum) || sum[n - 1] != '}')
		return -1;
	sum[n - 1] = 0;
	fl[0] = 0;
	for (int r = MW_ATTACH_NO_RUNTIME + 1; r < MW_ATTACH_REASONS && o < sizeof(fl); r++)
		o += (size_t)snprintf(fl + o, sizeof(fl) - o, "%s\"%s\":%" PRIu64, r > 1 ? "," : "",
				      mw_metrics_reason_name(r), h->failures[r]);
	mw_run_mode_json(&s->mode, mode, sizeof(mode));
	return snprintf(buf, len, "%s%s,\"scope\":\"all\",\"records\":%" PRIu64 ",\"processes\":%" PRIu64
			",\"watching\":%d,\"attachments\":%d,\"attach_failures\":{%s},\"no_runtime\":%" PRIu64
			",\"excluded\":%" PRIu64 ",\"opted_out\":%" PRIu64 ",\"toolchain\":%" PRIu64 "}", sum, mode,
			h->records, h->processes, h->watching, h->attachments, fl, h->no_runtime, h->excluded,
			h->opted_out, h->toolchain);
}
