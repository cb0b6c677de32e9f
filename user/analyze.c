/* analyze.c — `mapwatch analyze`: a recorded trace through the live correlator.
 *
 * The event lines are fed, in file order, to the same correlator the live
 * loop uses, so alerts and summary are those of the live run; --check proves
 * it by comparing them with the alert and summary lines the live run stored
 * (alert lines pair up in order: the k-th replayed occurrence with the k-th
 * stored line, whichever of the two comes first in the stream). Filters
 * select the records fed; the reader's bounded buffer and keep_alerts = 0
 * keep memory flat on any trace size. The trace's stack lines fill a table
 * of symbolized stacks, so alerts show both stacks and group into findings
 * exactly as they did live, without the binary; and they are printed by
 * format.c, as the live outputs print them (--plain and --json alike).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "correlator.h"
#include "format.h"
#include "layout.h"
#include "stacktab.h"
#include "perfetto.h"
#include "trace.h"

#define CHECK_PENDING_MAX 65536	/* alerts one side may run ahead of the other */
#define SHOW_DIFFS        5

struct stored_alert {
	char *line;
	size_t len;
	uint64_t lineno;
};

struct an {
	/* options */
	const char *path, *perfetto_path;
	int json, check, force, every;
	int have_map, have_tid, have_since, have_until;
	uint64_t map;
	uint32_t tid;
	unsigned long long since, until;
	/* run */
	FILE *out, *err;
	uint64_t start_ns;
	struct mw_perfetto *pf;
	uint64_t records, fed, stored_alerts, replayed;
	/* --check: the two alert streams, each a FIFO */
	struct mw_alert *rq;
	size_t rq_head, rq_n;
	struct stored_alert *sq;
	size_t sq_head, sq_n;
	uint64_t mismatches;
	int overflow;
	struct mw_stacktab *stab;
	struct mw_findings *findings;
	struct mw_seen *seen;		/* plain: the distinct races printed */
	struct mw_corr *corr;
	char big[65536];
	char *stored_summary;
	size_t stored_summary_len;
	uint64_t stored_summary_line;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int mw_parse_duration(const char *s, unsigned long long *ns)
{
	unsigned long long ip = 0, frac = 0, fscale = 1, mult;
	const char *p = s;
	int digits = 0;

	if (!s || !*s)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (ip > (~0ULL - 9) / 10)
			return -1;
		ip = ip * 10 + (unsigned)(*p - '0');
	}
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++, digits++)
			if (fscale < 1000000000ULL) {
				frac = frac * 10 + (unsigned)(*p - '0');
				fscale *= 10;
			}
	}
	if (!digits)
		return -1;
	if (!*p || !strcmp(p, "ns"))
		mult = 1;
	else if (!strcmp(p, "us") || !strcmp(p, "µs"))
		mult = 1000;
	else if (!strcmp(p, "ms"))
		mult = 1000000;
	else if (!strcmp(p, "s"))
		mult = 1000000000ULL;
	else if (!strcmp(p, "m") || !strcmp(p, "min"))
		mult = 60000000000ULL;
	else
		return -1;
	if (ip > ~0ULL / mult)
		return -1;
	*ns = ip * mult + frac * mult / fscale;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mapwatch analyze FILE [--json] [--every] [--check] [--map ADDR] [--tid TID]\n"
		"                             [--since T] [--until T] [--perfetto OUT] [--force]\n"
		"\n"
		"Replay a trace recorded with `mapwatch -o FILE` through the correlator.\n"
		"  --json          alert JSON lines, then the findings and the summary line\n"
		"  --every         plain: a line for every alert occurrence (else each\n"
		"                  distinct race once, with both stacks, as the live run prints)\n"
		"  --check         compare the replayed alerts and summary with those the live\n"
		"                  run stored in the file; exit 1 on any difference\n"
		"  --map ADDR      only records of this map (hex)\n"
		"  --tid TID       only records of this thread (either side of an overlap)\n"
		"  --since T       only records at or after T since the trace start (ns, or 1.5s, 200ms, 10us)\n"
		"  --until T       only records at or before T since the trace start\n"
		"  --perfetto OUT  also write a Chrome Trace Event timeline (Perfetto UI)\n"
		"  --force         overwrite OUT if it exists\n"
		"\n"
		"examples:\n"
		"  mapwatch analyze trace.jsonl\n"
		"  mapwatch analyze trace.jsonl --json | jq 'select(.type==\"alert\")'\n"
		"  mapwatch analyze trace.jsonl --since 2s --until 2.5s --perfetto race.json\n");
}

/* ---- output -------------------------------------------------------------------- */

/* The alert's JSON line, as the live run wrote it: with both stacks. */
static int alert_line(struct an *a, const struct mw_alert *al, char *buf, size_t len)
{
	return mw_fmt_alert_json(buf, len, al, mw_stacktab_get(a->stab, al->writer_stack, al->writer_caller),
				 mw_stacktab_get(a->stab, al->iter_stack, al->iter_caller), NULL);
}

/* As the live run prints it (format.c): the same text by construction. */
static void print_alert(struct an *a, const struct mw_alert *al)
{
	const struct mw_rstack *ws = mw_stacktab_get(a->stab, al->writer_stack, al->writer_caller);
	const struct mw_rstack *is = mw_stacktab_get(a->stab, al->iter_stack, al->iter_caller);
	int n, first;

	if (a->json) {
		n = alert_line(a, al, a->big, sizeof(a->big));
		if (n > 0 && (size_t)n < sizeof(a->big))
			fprintf(a->out, "%s\n", a->big);
		return;
	}
	first = mw_seen_first(a->seen, al->kind, ws, is);
	if (first || a->every)
		mw_fmt_alert_text(a->out, al, ws, is, first, NULL);
}

/* The runtime's own check (a FATAL record), as the live run says it. */
static void print_fatal(struct an *a, const struct mw_record *r)
{
	struct mw_summary s;
	int n;

	if (a->json) {
		n = mw_fmt_fatal_json(a->big, sizeof(a->big), r, NULL);
		if (n > 0 && (size_t)n < sizeof(a->big))
			fprintf(a->out, "%s\n", a->big);
		return;
	}
	mw_corr_summary(a->corr, &s);
	mw_fmt_fatal_text(a->out, r, s.alerts_by_kind[r->kind] != 0, NULL);
}

static void print_findings(struct an *a)
{
	if (!a->json) {
		mw_fmt_findings_text(a->out, a->findings, NULL);
		return;
	}
	for (size_t i = 0; i < mw_findings_count(a->findings); i++) {
		int n = mw_fmt_finding_json(a->big, sizeof(a->big), mw_findings_at(a->findings, i), NULL);
		if (n > 0 && (size_t)n < sizeof(a->big))
			fprintf(a->out, "%s\n", a->big);
	}
}

static void print_summary(struct an *a, const struct mw_summary *s)
{
	int n;

	if (!a->json) {
		mw_fmt_summary_text(a->out, s, 0, NULL);
		return;
	}
	n = mw_fmt_summary_json(a->big, sizeof(a->big), s, NULL);
	if (n > 0 && (size_t)n < sizeof(a->big))
		fprintf(a->out, "%s\n", a->big);
}

/* ---- --check ------------------------------------------------------------------- */

static void compare_pair(struct an *a, const struct mw_alert *al, const struct stored_alert *st)
{
	char why[400], *mine = a->big;
	int n = alert_line(a, al, a->big, sizeof(a->big));

	if (n < 0 || (size_t)n >= sizeof(a->big))
		n = 0;
	if (!mw_json_object_diff(st->line, st->len, mine, (size_t)n, why, sizeof(why)))
		return;
	if (a->mismatches++ < SHOW_DIFFS)
		fprintf(a->err, "mapwatch: %s:%" PRIu64 ": alert %" PRIu64
			" differs from the replay: %s (file vs replay)\n",
			a->path, st->lineno, al->seq, why);
}

static void drain(struct an *a)
{
	while (a->rq_n && a->sq_n) {
		struct stored_alert *st = &a->sq[a->sq_head];

		compare_pair(a, &a->rq[a->rq_head], st);
		free(st->line);
		a->rq_head = (a->rq_head + 1) % CHECK_PENDING_MAX, a->rq_n--;
		a->sq_head = (a->sq_head + 1) % CHECK_PENDING_MAX, a->sq_n--;
	}
}

static void push_replayed(struct an *a, const struct mw_alert *al)
{
	if (a->rq_n == CHECK_PENDING_MAX) {
		a->overflow = 1;
		return;
	}
	a->rq[(a->rq_head + a->rq_n++) % CHECK_PENDING_MAX] = *al;
	drain(a);
}

static void push_stored(struct an *a, const char *line, size_t len, uint64_t lineno)
{
	struct stored_alert *st;

	if (a->sq_n == CHECK_PENDING_MAX) {
		a->overflow = 1;
		return;
	}
	st = &a->sq[(a->sq_head + a->sq_n) % CHECK_PENDING_MAX];
	st->line = malloc(len + 1);
	if (!st->line) {
		a->overflow = 1;
		return;
	}
	memcpy(st->line, line, len);
	st->line[len] = 0;
	st->len = len;
	st->lineno = lineno;
	a->sq_n++;
	drain(a);
}

/* The verdict at the end of the file. Returns 0 when everything matched. */
static int check_verdict(struct an *a, const struct mw_summary *s)
{
	char mine[4096], why[400];
	int bad = 0;

	if (a->overflow) {
		fprintf(a->err, "mapwatch: %s: the stored and replayed alerts drift apart by more than %d\n",
			a->path, CHECK_PENDING_MAX);
		bad = 1;
	}
	if (a->mismatches) {
		fprintf(a->err, "mapwatch: %s: %" PRIu64 " alert(s) differ from the replay\n",
			a->path, a->mismatches);
		bad = 1;
	}
	if (a->sq_n) {
		fprintf(a->err, "mapwatch: %s:%" PRIu64 ": the file holds %zu alert(s) the replay did not raise "
			"(first: line %" PRIu64 ")\n", a->path, a->sq[a->sq_head].lineno, a->sq_n,
			a->sq[a->sq_head].lineno);
		bad = 1;
	}
	if (a->rq_n) {
		if (a->stored_summary) {
			fprintf(a->err, "mapwatch: %s: the replay raised %zu alert(s) the file does not hold "
				"(first: seq %" PRIu64 ")\n", a->path, a->rq_n, a->rq[a->rq_head].seq);
			bad = 1;
		} else {
			fprintf(a->err, "mapwatch: %s: warning: %zu replayed alert(s) past the end of the "
				"stored ones not checked (the trace was cut short)\n", a->path, a->rq_n);
		}
	}
	if (a->stored_summary) {
		int n = mw_fmt_summary_json(mine, sizeof(mine), s, NULL);

		if (n < 0 || (size_t)n >= sizeof(mine))
			n = 0;
		if (mw_json_object_diff(a->stored_summary, a->stored_summary_len, mine, (size_t)n,
					why, sizeof(why))) {
			fprintf(a->err, "mapwatch: %s:%" PRIu64 ": the summary differs from the replay: "
				"%s (file vs replay)\n", a->path, a->stored_summary_line, why);
			bad = 1;
		}
	} else {
		fprintf(a->err, "mapwatch: %s: warning: no summary line (the trace was cut short); "
			"summary not checked\n", a->path);
	}
	if (!bad)
		fprintf(a->err, "mapwatch: check passed: %" PRIu64 " alert(s)%s match the live run\n",
			a->replayed, a->stored_summary ? " and the summary" : "");
	return bad;
}

/* ---- the replay ---------------------------------------------------------------- */

static void on_alert(void *ctx, const struct mw_alert *al, const struct mw_alert_row *row)
{
	struct an *a = ctx;

	(void)row;
	a->replayed++;
	mw_findings_add(a->findings, al, mw_stacktab_get(a->stab, al->writer_stack, al->writer_caller),
			mw_stacktab_get(a->stab, al->iter_stack, al->iter_caller));
	print_alert(a, al);
	if (a->pf)
		mw_perfetto_alert(a->pf, al);
	if (a->check)
		push_replayed(a, al);
}

static int wanted(const struct an *a, const struct mw_record *r)
{
	if (a->have_since || a->have_until) {
		/* Records before the start count as time 0 minus: only with no --since. */
		if (r->ts < a->start_ns) {
			if (a->have_since)
				return 0;
		} else {
			uint64_t rel = r->ts - a->start_ns;

			if (a->have_since && rel < a->since)
				return 0;
			if (a->have_until && rel > a->until)
				return 0;
		}
	}
	/* STATS records carry the drop counters of the whole process: keep them. */
	if (r->type == MW_REC_STATS)
		return 1;
	if (a->have_map && r->map != a->map)
		return 0;
	if (a->have_tid && r->tid != a->tid && !(r->kind != MW_KIND_NONE && r->other_tid == a->tid))
		return 0;
	return 1;
}

static int parse_args(struct an *a, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *arg = argv[i], *val = NULL, *eq;
		char name[32];

		if (strncmp(arg, "--", 2) || !arg[2]) {
			if (!strcmp(arg, "-h")) {
				usage(a->out);
				return 3;
			}
			if (arg[0] == '-' && arg[1]) {
				fprintf(a->err, "mapwatch: analyze: unknown option '%s'\n", arg);
				return 2;
			}
			if (a->path) {
				fprintf(a->err, "mapwatch: analyze: one trace file at a time ('%s' and '%s')\n",
					a->path, arg);
				return 2;
			}
			a->path = arg;
			continue;
		}
		snprintf(name, sizeof(name), "%s", arg);
		if ((eq = strchr(name, '=')))
			*eq = 0, val = arg + (eq - name) + 1;
#define FLAG(n) (!strcmp(name, n))
		if (FLAG("--help")) {
			usage(a->out);
			return 3;
		}
		if (FLAG("--json") || FLAG("--check") || FLAG("--force") || FLAG("--every")) {
			if (val) {
				fprintf(a->err, "mapwatch: analyze: %s takes no value\n", name);
				return 2;
			}
			*(FLAG("--json") ? &a->json : FLAG("--check") ? &a->check :
			  FLAG("--every") ? &a->every : &a->force) = 1;
			continue;
		}
		if (!FLAG("--map") && !FLAG("--tid") && !FLAG("--since") && !FLAG("--until") &&
		    !FLAG("--perfetto")) {
			fprintf(a->err, "mapwatch: analyze: unknown option '%s'\n", arg);
			return 2;
		}
		if (!val) {
			if (i + 1 >= argc) {
				fprintf(a->err, "mapwatch: analyze: %s needs a value\n", name);
				return 2;
			}
			val = argv[++i];
		}
		if (FLAG("--perfetto")) {
			a->perfetto_path = val;
		} else if (FLAG("--map")) {
			char *end;

			errno = 0;
			a->map = strtoull(val, &end, 16);
			if (errno || end == val || *end || val[0] == '-') {
				fprintf(a->err, "mapwatch: analyze: --map wants a hex address, not '%s'\n", val);
				return 2;
			}
			a->have_map = 1;
		} else if (FLAG("--tid")) {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(val, &end, 10);
			if (errno || end == val || *end || val[0] == '-' || v > UINT32_MAX) {
				fprintf(a->err, "mapwatch: analyze: --tid wants a thread id, not '%s'\n", val);
				return 2;
			}
			a->tid = (uint32_t)v;
			a->have_tid = 1;
		} else {
			int since = FLAG("--since");

			if (mw_parse_duration(val, since ? &a->since : &a->until) < 0) {
				fprintf(a->err, "mapwatch: analyze: %s wants a time since the trace start "
					"(ns, or like 1.5s, 200ms, 10us), not '%s'\n", name, val);
				return 2;
			}
			*(since ? &a->have_since : &a->have_until) = 1;
		}
#undef FLAG
	}
	if (!a->path) {
		fprintf(a->err, "mapwatch: analyze: which trace? (mapwatch analyze FILE)\n");
		return 2;
	}
	if (a->check && (a->have_map || a->have_tid || a->have_since || a->have_until)) {
		fprintf(a->err, "mapwatch: analyze: --check replays the whole trace; "
			"it cannot be combined with --map, --tid, --since or --until\n");
		return 2;
	}
	return 0;
}

int mw_analyze_run(int argc, char **argv, FILE *out, FILE *errf)
{
	struct an a = { .out = out, .err = errf };
	struct mw_trace_reader *rd = NULL;
	struct mw_corr *corr = NULL;
	struct mw_record rec;
	struct mw_summary sum;
	char err[600];
	int rc = 1, item, tty = isatty(fileno(errf));
	double t0 = now_s(), last_progress = t0;
	int progress_shown = 0;

	switch (parse_args(&a, argc, argv)) {
	case 0: break;
	case 3: return 0;
	default:
		usage(errf);
		return 2;
	}
	if (a.check) {
		a.rq = malloc(CHECK_PENDING_MAX * sizeof(*a.rq));
		a.sq = malloc(CHECK_PENDING_MAX * sizeof(*a.sq));
		if (!a.rq || !a.sq) {
			fprintf(errf, "mapwatch: analyze: out of memory\n");
			goto out;
		}
	}
	rd = mw_reader_open(a.path, err, sizeof(err));
	if (!rd) {
		fprintf(errf, "mapwatch: %s\n", err);
		goto out;
	}
	item = mw_reader_next(rd, &rec);
	if (item != MW_ITEM_HEADER) {
		fprintf(errf, "mapwatch: %s\n", mw_reader_error(rd));
		goto out;
	}
	a.start_ns = mw_reader_header(rd)->start_ns;
	if (a.perfetto_path) {
		a.pf = mw_perfetto_create(a.perfetto_path, a.force, mw_reader_header(rd)->pid,
					  a.start_ns, err, sizeof(err));
		if (!a.pf) {
			fprintf(errf, "mapwatch: %s\n", err);
			goto out;
		}
		if (mw_reader_header(rd)->comm[0])
			mw_perfetto_process_name(a.pf, mw_reader_header(rd)->comm);
	}
	corr = a.corr = mw_corr_new(&(struct mw_corr_opts){ .keep_alerts = 0, .on_alert = on_alert, .ctx = &a });
	a.stab = mw_stacktab_new();
	a.findings = mw_findings_new(mw_runtime_of_trace());
	a.seen = mw_seen_new();
	if (!corr || !a.stab || !a.findings || !a.seen) {
		fprintf(errf, "mapwatch: analyze: out of memory\n");
		goto out;
	}

	for (uint64_t n = 0;; n++) {
		item = mw_reader_next(rd, &rec);
		if (item == MW_ITEM_EOF)
			break;
		if (item == MW_ITEM_ERROR) {
			if (progress_shown)
				fputc('\n', errf);
			fprintf(errf, "mapwatch: %s\n", mw_reader_error(rd));
			goto out;
		}
		if (item == MW_ITEM_RECORD) {
			a.records++;
			if (!wanted(&a, &rec))
				continue;
			a.fed++;
			if (a.pf)
				mw_perfetto_record(a.pf, &rec);
			mw_corr_feed(corr, &rec);
			if (rec.type == MW_REC_FATAL)
				print_fatal(&a, &rec);
		} else if (item == MW_ITEM_STACK) {
			int32_t id;
			uint64_t caller;
			const char *fr;
			size_t frlen;

			mw_reader_stack(rd, &id, &caller, &fr, &frlen);
			if (mw_stacktab_put_json(a.stab, id, caller, fr, frlen, err, sizeof(err)) < 0) {
				if (progress_shown)
					fputc('\n', errf);
				fprintf(errf, "mapwatch: %s:%" PRIu64 ": bad stack: %s\n", a.path,
					mw_reader_lineno(rd), err);
				goto out;
			}
		} else if (item == MW_ITEM_ALERT) {
			size_t len;
			const char *line = mw_reader_line(rd, &len);

			a.stored_alerts++;
			if (a.check)
				push_stored(&a, line, len, mw_reader_lineno(rd));
		} else if (item == MW_ITEM_SUMMARY && a.check) {
			size_t len;
			const char *line = mw_reader_line(rd, &len);

			free(a.stored_summary);
			a.stored_summary = malloc(len + 1);
			if (a.stored_summary) {
				memcpy(a.stored_summary, line, len);
				a.stored_summary[len] = 0;
				a.stored_summary_len = len;
				a.stored_summary_line = mw_reader_lineno(rd);
			}
		}
		/* Progress for long files, only where a person watches. */
		if (tty && !(n & 0xffff) && mw_reader_size(rd) > (64u << 20)) {
			double t = now_s();

			if (t - last_progress > 0.25) {
				uint64_t off = mw_reader_offset(rd), size = mw_reader_size(rd);

				fprintf(errf, "\ranalyze: %" PRIu64 " / %" PRIu64 " MB (%d%%)",
					off >> 20, size >> 20, (int)(off * 100 / size));
				last_progress = t;
				progress_shown = 1;
			}
		}
	}
	if (progress_shown)
		fprintf(errf, "\r\033[K");
	if (mw_reader_warning(rd))
		fprintf(errf, "mapwatch: %s\n", mw_reader_warning(rd));

	mw_corr_summary(corr, &sum);
	print_findings(&a);
	print_summary(&a, &sum);
	fflush(out);
	rc = 0;
	if (a.pf) {
		int prc = mw_perfetto_close(a.pf);

		a.pf = NULL;
		if (prc < 0) {
			fprintf(errf, "mapwatch: cannot write Perfetto file '%s': %s\n",
				a.perfetto_path, strerror(errno ? errno : EIO));
			rc = 1;
		}
	}
	if (tty) {
		double dt = now_s() - t0;

		fprintf(errf, "mapwatch: %" PRIu64 " lines, %" PRIu64 " events (%" PRIu64 " fed), "
			"%" PRIu64 " alerts in %.2fs (%.0f MB/s)\n",
			mw_reader_lineno(rd), a.records, a.fed, sum.alerts, dt,
			dt > 0 ? mw_reader_offset(rd) / dt / 1e6 : 0.0);
	}
	if (a.check && check_verdict(&a, &sum))
		rc = 1;
out:
	if (a.pf)
		mw_perfetto_close(a.pf);
	if (corr)
		mw_corr_free(corr);
	mw_stacktab_free(a.stab);
	mw_findings_free(a.findings);
	mw_seen_free(a.seen);
	mw_reader_close(rd);
	while (a.sq && a.sq_n) {
		free(a.sq[a.sq_head].line);
		a.sq_head = (a.sq_head + 1) % CHECK_PENDING_MAX, a.sq_n--;
	}
	free(a.sq);
	free(a.rq);
	free(a.stored_summary);
	return rc;
}

int mw_analyze_main(int argc, char **argv)
{
	static char obuf[1 << 16];

	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	int rc = mw_analyze_run(argc, argv, stdout, stderr);
	fflush(stdout);
	return rc;
}
