/* test_metrics.c — the Prometheus endpoint's pure parts: the exact text of a
 * known snapshot, label escaping, the per-(kind, binary) site cap and the
 * totals it must preserve, site labels from findings, address and request
 * parsing; and one loopback round trip through the server itself.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "metrics.h"
#include "correlator.h"
#include "stacktab.h"
#include "layout.h"

/* ---- helpers ------------------------------------------------------------------ */

/* Sum of every mapwatch_races_total sample; the number of samples in *n. */
static uint64_t races_sum(const char *text, size_t *n)
{
	uint64_t sum = 0;
	const char *p = text;

	*n = 0;
	while ((p = strstr(p, "\nmapwatch_races_total{"))) {
		const char *sp = strchr(p + 1, '\n');
		const char *v = sp;
		while (v > p && v[-1] != ' ')
			v--;
		sum += strtoull(v, NULL, 10);
		(*n)++;
		p = sp;
	}
	return sum;
}

static int count_of(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Every line is "# HELP name text", "# TYPE name type", or a sample
 * `name{label="value",…} number`, each sample after its family's TYPE. */
static int valid_exposition(const char *text, char *why, size_t wlen)
{
	char fam[128] = "";
	const char *p = text;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n;
		if (!eol) {
			snprintf(why, wlen, "no final newline");
			return 0;
		}
		n = (size_t)(eol - p);
		if (!strncmp(p, "# HELP ", 7)) {
			/* fine */
		} else if (!strncmp(p, "# TYPE ", 7)) {
			const char *sp = memchr(p + 7, ' ', n - 7);
			if (!sp) {
				snprintf(why, wlen, "bad TYPE: %.*s", (int)n, p);
				return 0;
			}
			snprintf(fam, sizeof(fam), "%.*s", (int)(sp - p - 7), p + 7);
		} else {
			size_t i = 0, fl = strlen(fam);
			while (i < n && (isalnum((unsigned char)p[i]) || p[i] == '_' || p[i] == ':'))
				i++;
			if (!i || i != fl || memcmp(p, fam, fl)) {
				snprintf(why, wlen, "sample outside its family (%s): %.*s", fam, (int)n, p);
				return 0;
			}
			if (p[i] == '{') {
				i++;
				while (p[i] != '}') {
					while (i < n && (isalnum((unsigned char)p[i]) || p[i] == '_'))
						i++;
					if (p[i] != '=' || p[i + 1] != '"') {
						snprintf(why, wlen, "bad label: %.*s", (int)n, p);
						return 0;
					}
					for (i += 2; i < n && p[i] != '"'; i++)
						if (p[i] == '\\' && (p[i + 1] == '\\' || p[i + 1] == '"' || p[i + 1] == 'n'))
							i++;
						else if (p[i] == '\\') {
							snprintf(why, wlen, "bad escape: %.*s", (int)n, p);
							return 0;
						}
					if (i >= n) {
						snprintf(why, wlen, "unterminated value: %.*s", (int)n, p);
						return 0;
					}
					i++;
					if (p[i] == ',')
						i++;
					else if (p[i] != '}') {
						snprintf(why, wlen, "bad label list: %.*s", (int)n, p);
						return 0;
					}
				}
				i++;
			}
			char *end;
			if (p[i] != ' ' || (strtod(p + i + 1, &end), end != eol)) {
				snprintf(why, wlen, "bad value: %.*s", (int)n, p);
				return 0;
			}
		}
		p = eol + 1;
	}
	return 1;
}

static struct mw_metrics_site site(uint8_t kind, const char *s, uint64_t n)
{
	struct mw_metrics_site x = { .kind = kind, .count = n };
	snprintf(x.site, sizeof(x.site), "%s", s);
	return x;
}

/* ---- the exact text ------------------------------------------------------------- */

TEST(exact_text_of_a_known_snapshot)
{
	struct mw_metrics_site sites[] = {
		site(MW_KIND_ITER_WRITE, "races.c:58", 90),
		site(MW_KIND_ITER_WRITE, "races.c:77", 7),
		site(MW_KIND_ITER_GROW, "hashGrow", 2),
	};
	struct mw_metrics_proc p = {
		.pid = 4242, .watched = 1, .binary = "races", .runtime = "libgomap",
		.probe_hits = 1234, .sites = sites, .nsites = 3,
	};
	p.races[MW_KIND_ITER_WRITE] = 100;	/* 3 more than the sites: under "other" */
	p.races[MW_KIND_ITER_GROW] = 2;
	p.runtime_caught[MW_KIND_ITER_WRITE] = 1;
	struct mw_metrics_snapshot s = {
		.procs = &p, .nprocs = 1, .records = 555, .drops_ring_buffer = 1,
		.drops_map_full = 2, .drops_slots_full = 3, .bad_reads = 4, .stacks_missed = 5,
	};
	s.attach_failures[MW_ATTACH_NO_RUNTIME] = 6;
	struct mw_metrics_self self = { .cpu_seconds = 1.25, .rss_bytes = 8 << 20, .heap_bytes = 3 << 20 };
	size_t len = 0;
	char *t = mw_metrics_format(&s, &self, MW_METRICS_SITE_CAP, &len);
	const char *want =
"# HELP mapwatch_races_total Races flagged (alert occurrences), by kind, watched binary and the writer's code location (file:line, else function; the first sites per kind and binary, the rest summed under site=\"other\").\n"
"# TYPE mapwatch_races_total counter\n"
"mapwatch_races_total{kind=\"iter-write\",binary=\"races\",site=\"races.c:58\"} 90\n"
"mapwatch_races_total{kind=\"iter-write\",binary=\"races\",site=\"races.c:77\"} 7\n"
"mapwatch_races_total{kind=\"iter-write\",binary=\"races\",site=\"other\"} 3\n"
"mapwatch_races_total{kind=\"iter-grow\",binary=\"races\",site=\"hashGrow\"} 2\n"
"mapwatch_races_total{kind=\"iter-grow\",binary=\"races\",site=\"other\"} 0\n"
"mapwatch_races_total{kind=\"write-write\",binary=\"races\",site=\"other\"} 0\n"
"# HELP mapwatch_runtime_caught_total Races the watched runtime's own check caught (Go's fatal error: concurrent map ...), by kind and binary.\n"
"# TYPE mapwatch_runtime_caught_total counter\n"
"mapwatch_runtime_caught_total{kind=\"iter-write\",binary=\"races\"} 1\n"
"# HELP mapwatch_probe_hits_total Uprobe hits in watched processes, by binary.\n"
"# TYPE mapwatch_probe_hits_total counter\n"
"mapwatch_probe_hits_total{binary=\"races\"} 1234\n"
"# HELP mapwatch_records_total Records consumed from the BPF ring buffer.\n"
"# TYPE mapwatch_records_total counter\n"
"mapwatch_records_total 555\n"
"# HELP mapwatch_drops_total Records lost in BPF, by cause: ring buffer full, per-map state table full, iteration slots full. A drop can lose a race, never invent one.\n"
"# TYPE mapwatch_drops_total counter\n"
"mapwatch_drops_total{cause=\"ring_buffer\"} 1\n"
"mapwatch_drops_total{cause=\"map_full\"} 2\n"
"mapwatch_drops_total{cause=\"slots_full\"} 3\n"
"# HELP mapwatch_bad_reads_total Reads of a watched process's memory that failed.\n"
"# TYPE mapwatch_bad_reads_total counter\n"
"mapwatch_bad_reads_total 4\n"
"# HELP mapwatch_stacks_missed_total User stacks that could not be captured.\n"
"# TYPE mapwatch_stacks_missed_total counter\n"
"mapwatch_stacks_missed_total 5\n"
"# HELP mapwatch_processes_watched Processes with probes attached.\n"
"# TYPE mapwatch_processes_watched gauge\n"
"mapwatch_processes_watched 1\n"
"# HELP mapwatch_process_info One series per process with probes attached: its pid, binary and map runtime.\n"
"# TYPE mapwatch_process_info gauge\n"
"mapwatch_process_info{pid=\"4242\",binary=\"races\",runtime=\"libgomap\"} 1\n"
"# HELP mapwatch_attach_failures_total Processes that could not be watched, by reason.\n"
"# TYPE mapwatch_attach_failures_total counter\n"
"mapwatch_attach_failures_total{reason=\"no_runtime\"} 6\n"
"mapwatch_attach_failures_total{reason=\"unsupported\"} 0\n"
"mapwatch_attach_failures_total{reason=\"symbols_missing\"} 0\n"
"mapwatch_attach_failures_total{reason=\"permission\"} 0\n"
"mapwatch_attach_failures_total{reason=\"process_gone\"} 0\n"
"mapwatch_attach_failures_total{reason=\"probe_failed\"} 0\n"
"mapwatch_attach_failures_total{reason=\"other\"} 0\n"
"# HELP mapwatch_process_cpu_seconds_total CPU time mapwatch itself used, user and system, in seconds.\n"
"# TYPE mapwatch_process_cpu_seconds_total counter\n"
"mapwatch_process_cpu_seconds_total 1.250\n"
"# HELP mapwatch_resident_memory_bytes mapwatch's own resident memory.\n"
"# TYPE mapwatch_resident_memory_bytes gauge\n"
"mapwatch_resident_memory_bytes 8388608\n"
"# HELP mapwatch_heap_inuse_bytes Bytes mapwatch has allocated and not freed (what a leak grows; RSS also holds the allocator's free pages).\n"
"# TYPE mapwatch_heap_inuse_bytes gauge\n"
"mapwatch_heap_inuse_bytes 3145728\n"
"# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
"# TYPE process_cpu_seconds_total counter\n"
"process_cpu_seconds_total 1.250\n"
"# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
"# TYPE process_resident_memory_bytes gauge\n"
"process_resident_memory_bytes 8388608\n"
"# HELP mapwatch_build_info Always 1: the running mapwatch's version.\n"
"# TYPE mapwatch_build_info gauge\n"
"mapwatch_build_info{version=\"" MW_VERSION "\"} 1\n";

	CHECK(t);
	if (strcmp(t, want)) {
		size_t i = 0;
		while (t[i] && t[i] == want[i])
			i++;
		fprintf(stderr, "  differs at %zu: got \"%.80s\"\n  want \"%.80s\"\n", i, t + i, want + i);
	}
	CHECK_EQ_STR(t, want);
	CHECK_EQ_U64(len, strlen(want));
	free(t);
}

TEST(empty_snapshot_is_valid_and_has_every_family)
{
	char why[512] = "";
	char *t = mw_metrics_format(NULL, NULL, MW_METRICS_SITE_CAP, NULL);
	size_t n;

	CHECK(t);
	CHECK(valid_exposition(t, why, sizeof(why)));
	CHECK(strstr(t, "# HELP mapwatch_races_total "));
	CHECK(strstr(t, "# TYPE mapwatch_races_total counter\n"));
	CHECK_EQ_U64(races_sum(t, &n), 0);
	CHECK_EQ_U64(n, 0);
	CHECK(strstr(t, "\nmapwatch_processes_watched 0\n"));
	CHECK(!strstr(t, "cpu_seconds"));	/* no self given */
	free(t);
}

/* ---- escaping ------------------------------------------------------------------- */

TEST(label_escaping)
{
	char out[256];

	CHECK_EQ_U64(mw_metrics_escape("a\"b\\c\nd", out, sizeof(out)), 10);
	CHECK_EQ_STR(out, "a\\\"b\\\\c\\nd");
	mw_metrics_escape("tab\there\x7f", out, sizeof(out));
	CHECK_EQ_STR(out, "tab?here?");
	mw_metrics_escape("main.go→x ü", out, sizeof(out));	/* valid UTF-8 stays */
	CHECK_EQ_STR(out, "main.go→x ü");
	mw_metrics_escape("bad\xff\xc3(\xe2\x82 end", out, sizeof(out));	/* invalid bytes */
	CHECK_EQ_STR(out, "bad??" "(?? end");
	mw_metrics_escape("\xed\xa0\x80|\xc0\xaf", out, sizeof(out));	/* a surrogate, an overlong '/' */
	CHECK_EQ_STR(out, "???|??");
	/* bounded: snprintf semantics */
	CHECK_EQ_U64(mw_metrics_escape("\"\"\"\"", out, 5), 8);
	CHECK_EQ_STR(out, "\\\"\\\"");
	CHECK_EQ_U64(mw_metrics_escape(NULL, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "");
}

TEST(escaped_names_in_the_exposition)
{
	struct mw_metrics_site sites[] = { site(MW_KIND_ITER_WRITE, "we\"ird\\fn\nx", 5) };
	struct mw_metrics_proc p = { .pid = 1, .watched = 1, .binary = "my \"svc\"\\", .runtime = "go1.21",
				     .sites = sites, .nsites = 1 };
	struct mw_metrics_snapshot s = { .procs = &p, .nprocs = 1 };
	char why[512] = "";
	char *t;

	p.races[MW_KIND_ITER_WRITE] = 5;
	t = mw_metrics_format(&s, NULL, MW_METRICS_SITE_CAP, NULL);
	CHECK(t);
	if (!valid_exposition(t, why, sizeof(why)))
		CHECK_FAIL("%s", why);
	CHECK(strstr(t, "mapwatch_races_total{kind=\"iter-write\",binary=\"my \\\"svc\\\"\\\\\","
			"site=\"we\\\"ird\\\\fn\\nx\"} 5\n"));
	CHECK(strstr(t, "mapwatch_process_info{pid=\"1\",binary=\"my \\\"svc\\\"\\\\\",runtime=\"go1.21\"} 1\n"));
	free(t);
}

/* ---- the cap ------------------------------------------------------------------------ */

TEST(cap_keeps_the_first_sites_and_sums_the_rest)
{
	struct mw_metrics_site sites[] = {
		site(MW_KIND_ITER_WRITE, "a.c:1", 10), site(MW_KIND_ITER_WRITE, "a.c:2", 1),
		site(MW_KIND_WRITE_WRITE, "w.c:9", 4), site(MW_KIND_ITER_WRITE, "a.c:3", 100),
		site(MW_KIND_ITER_WRITE, "a.c:4", 5), site(MW_KIND_WRITE_WRITE, "w.c:8", 6),
		site(MW_KIND_WRITE_WRITE, "w.c:7", 7),
	};
	struct mw_metrics_proc p = { .pid = 7, .watched = 1, .binary = "svc", .runtime = "libgomap",
				     .sites = sites, .nsites = 7 };
	struct mw_metrics_snapshot s = { .procs = &p, .nprocs = 1 };
	size_t n;
	char *t;

	p.races[MW_KIND_ITER_WRITE] = 116;
	p.races[MW_KIND_WRITE_WRITE] = 17;
	t = mw_metrics_format(&s, NULL, 2, NULL);
	CHECK(t);
	/* first come, first listed: a.c:3 (the biggest) is not, so a series never shrinks */
	CHECK(strstr(t, "{kind=\"iter-write\",binary=\"svc\",site=\"a.c:1\"} 10\n"));
	CHECK(strstr(t, "{kind=\"iter-write\",binary=\"svc\",site=\"a.c:2\"} 1\n"));
	CHECK(!strstr(t, "a.c:3"));
	CHECK(!strstr(t, "a.c:4"));
	CHECK(strstr(t, "{kind=\"iter-write\",binary=\"svc\",site=\"other\"} 105\n"));
	CHECK(strstr(t, "{kind=\"write-write\",binary=\"svc\",site=\"w.c:9\"} 4\n"));
	CHECK(strstr(t, "{kind=\"write-write\",binary=\"svc\",site=\"w.c:8\"} 6\n"));
	CHECK(strstr(t, "{kind=\"write-write\",binary=\"svc\",site=\"other\"} 7\n"));
	CHECK_EQ_U64(count_of(t, "kind=\"iter-write\""), 3);
	CHECK_EQ_U64(races_sum(t, &n), 133);
	CHECK_EQ_U64(n, 7);	/* 2 + other, 2 + other, iter-grow's other */
	free(t);

	/* cap 0: everything under other, still every race */
	t = mw_metrics_format(&s, NULL, 0, NULL);
	CHECK(t);
	CHECK_EQ_U64(races_sum(t, &n), 133);
	CHECK_EQ_U64(n, 3);
	free(t);
}

TEST(cap_preserves_totals_for_many_shapes)
{
	enum { NP = 5, NS = 40 };
	static struct mw_metrics_site sites[NP][NS];
	struct mw_metrics_proc p[NP];
	struct mw_metrics_snapshot s = { .procs = p, .nprocs = NP };
	uint32_t seed = 12345;
	char why[512];

	for (int round = 0; round < 200; round++) {
		uint64_t want = 0;
		memset(p, 0, sizeof(p));
		for (int i = 0; i < NP; i++) {
			int ns = (int)((seed = seed * 1103515245u + 12345u) >> 16) % NS;
			/* two binaries shared by five processes: their series merge */
			snprintf(p[i].binary, sizeof(p[i].binary), "bin%d", i % 2);
			snprintf(p[i].runtime, sizeof(p[i].runtime), "libgomap");
			p[i].pid = 100 + i;
			p[i].watched = i & 1;
			p[i].sites = sites[i];
			p[i].nsites = (size_t)ns;
			for (int j = 0; j < ns; j++) {
				uint8_t k = (uint8_t)(1 + ((seed = seed * 1103515245u + 12345u) >> 16) % (MW_KIND_MAX - 1));
				uint64_t c = 1 + ((seed = seed * 1103515245u + 12345u) >> 16) % 1000;
				char nm[32];
				snprintf(nm, sizeof(nm), "f%u.c:%u", (seed >> 8) % 7, (seed >> 12) % 30);
				sites[i][j] = site(k, nm, c);
				p[i].races[k] += c;
			}
			/* sometimes more races than the sites hold (findings lost) */
			if (round & 1)
				p[i].races[MW_KIND_ITER_WRITE] += (uint64_t)round;
			for (int k = 0; k < MW_KIND_MAX; k++)
				want += p[i].races[k];
		}
		size_t cap = (size_t)round % 12, n;
		char *t = mw_metrics_format(&s, NULL, cap, NULL);
		CHECK(t);
		if (!valid_exposition(t, why, sizeof(why)))
			CHECK_FAIL("round %d: %s", round, why);
		CHECK_EQ_U64(races_sum(t, &n), want);
		/* no duplicate series: each (kind, binary) has at most cap sites + other */
		for (int b = 0; b < 2; b++)
			for (unsigned k = 1; k < MW_KIND_MAX; k++) {
				char needle[96];
				snprintf(needle, sizeof(needle), "{kind=\"%s\",binary=\"bin%d\",", mw_kind_name(k), b);
				CHECK(count_of(t, needle) <= (int)cap + 1);
				strcat(needle, "site=\"other\"}");
				CHECK(count_of(t, needle) <= 1);
			}
		CHECK_EQ_U64(count_of(t, "mapwatch_probe_hits_total{binary=\"bin0\"}"), 1);
		CHECK(strstr(t, "\nmapwatch_processes_watched 2\n"));
		free(t);
	}
}

/* ---- sites from findings -------------------------------------------------------------- */

TEST(site_labels)
{
	char b[MW_METRICS_SITE];

	mw_metrics_site_of("put (races.c:58)", b, sizeof(b));
	CHECK_EQ_STR(b, "races.c:58");
	mw_metrics_site_of("main.(*cache).put (main.go:42)", b, sizeof(b));
	CHECK_EQ_STR(b, "main.go:42");
	mw_metrics_site_of("reader+0x2a [races]", b, sizeof(b));
	CHECK_EQ_STR(b, "reader");
	mw_metrics_site_of("main.worker.func1+0x1f [gosvc]", b, sizeof(b));
	CHECK_EQ_STR(b, "main.worker.func1");
	mw_metrics_site_of("0x55d0a1b2c3d4 [races]", b, sizeof(b));
	CHECK_EQ_STR(b, "?");
	mw_metrics_site_of("?", b, sizeof(b));
	CHECK_EQ_STR(b, "?");
	mw_metrics_site_of("", b, sizeof(b));
	CHECK_EQ_STR(b, "?");
	mw_metrics_site_of(NULL, b, sizeof(b));
	CHECK_EQ_STR(b, "?");
	mw_metrics_site_of("weird()", b, sizeof(b));	/* no " (": the whole thing */
	CHECK_EQ_STR(b, "weird()");
	mw_metrics_site_of("f ()", b, sizeof(b));	/* empty parentheses */
	CHECK_EQ_STR(b, "f ()");
	CHECK_EQ_U64(mw_metrics_site_of("put (races.c:58)", b, 4), 10);	/* bounded */
	CHECK_EQ_STR(b, "rac");
}

static void frame(struct mw_rstack *s, const char *sym, const char *file, int line)
{
	s->f[s->n] = (struct mw_sframe){ .addr = 0x1000u + (unsigned)s->n, .sym = sym, .file = file,
					 .line = line, .module = "races" };
	s->n++;
}

TEST(sites_from_findings)
{
	const struct mw_runtime *rt = mw_runtime_find("libgomap");
	struct mw_findings *f = mw_findings_new(rt);
	struct mw_rstack w1 = { .id = 1 }, w2 = { .id = 2 }, w3 = { .id = 3 }, it1 = { .id = 4 }, it2 = { .id = 5 };
	struct mw_alert a = { .kind = MW_KIND_ITER_WRITE };
	struct mw_metrics_proc p = { 0 };

	CHECK(rt && f);
	frame(&w1, "mapassign+0x0", "gomap.c", 500);
	frame(&w1, "put+0x1f", "races.c", 58);
	frame(&w2, "mapassign+0x0", "gomap.c", 500);
	frame(&w2, "put+0x1f", "races.c", 58);
	frame(&w2, "main+0x10", "races.c", 200);
	frame(&w3, "mapdelete+0x0", NULL, 0);
	frame(&w3, "del_loop+0x33", NULL, 0);
	frame(&it1, "mapiterinit+0x0", "gomap.c", 700);
	frame(&it1, "reader+0x9", "races.c", 88);
	frame(&it2, "mapiterinit+0x0", "gomap.c", 700);
	frame(&it2, "reader2+0x9", "races.c", 99);

	for (int i = 0; i < 5; i++)
		mw_findings_add(f, &a, &w1, &it1);
	for (int i = 0; i < 3; i++)
		mw_findings_add(f, &a, &w2, &it2);	/* same writer site, another iterator: merged */
	for (int i = 0; i < 2; i++)
		mw_findings_add(f, &a, &w3, &it1);
	mw_findings_add(f, &a, NULL, &it1);		/* no stack */
	a.kind = MW_KIND_ITER_GROW;
	mw_findings_add(f, &a, &w1, &it1);

	CHECK(!mw_metrics_proc_sites(&p, f, MW_METRICS_SITE_CAP));
	CHECK_EQ_U64(p.nsites, 4);
	CHECK_EQ_STR(p.sites[0].site, "races.c:58");
	CHECK_EQ_U64(p.sites[0].kind, MW_KIND_ITER_WRITE);
	CHECK_EQ_U64(p.sites[0].count, 8);
	CHECK_EQ_STR(p.sites[1].site, "del_loop");
	CHECK_EQ_U64(p.sites[1].count, 2);
	CHECK_EQ_STR(p.sites[2].site, "?");
	CHECK_EQ_U64(p.sites[3].kind, MW_KIND_ITER_GROW);
	CHECK_EQ_U64(p.sites[3].count, 1);

	/* cap 1 per kind: the first site of each kind only */
	CHECK(!mw_metrics_proc_sites(&p, f, 1));
	CHECK_EQ_U64(p.nsites, 2);
	CHECK_EQ_STR(p.sites[0].site, "races.c:58");
	CHECK_EQ_U64(p.sites[0].count, 8);
	CHECK_EQ_U64(p.sites[1].kind, MW_KIND_ITER_GROW);

	/* and the text still adds up to the summary's count */
	p.races[MW_KIND_ITER_WRITE] = 11;
	p.races[MW_KIND_ITER_GROW] = 1;
	snprintf(p.binary, sizeof(p.binary), "races");
	struct mw_metrics_snapshot s = { .procs = &p, .nprocs = 1 };
	size_t n;
	char *t = mw_metrics_format(&s, NULL, 1, NULL);
	CHECK(t);
	CHECK_EQ_U64(races_sum(t, &n), 12);
	CHECK(strstr(t, "{kind=\"iter-write\",binary=\"races\",site=\"other\"} 3\n"));
	free(t);
	mw_metrics_proc_free(&p);
	mw_metrics_proc_free(&p);	/* twice: harmless */
	CHECK(!mw_metrics_proc_sites(&p, NULL, 5));	/* no findings */
	CHECK_EQ_U64(p.nsites, 0);
	mw_findings_free(f);
}

/* ---- addresses and requests --------------------------------------------------------------- */

TEST(addresses)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[256];
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;

	CHECK(!mw_metrics_parse_addr("127.0.0.1:9464", &ss, &sl, err, sizeof(err)));
	CHECK_EQ_U64(ss.ss_family, AF_INET);
	CHECK_EQ_U64(ntohs(a4->sin_port), 9464);
	CHECK_EQ_U64(ntohl(a4->sin_addr.s_addr), 0x7f000001);
	CHECK(!mw_metrics_parse_addr("localhost:80", &ss, &sl, err, sizeof(err)));
	CHECK_EQ_U64(ntohl(a4->sin_addr.s_addr), 0x7f000001);
	CHECK(!mw_metrics_parse_addr("0.0.0.0:1", &ss, &sl, err, sizeof(err)));
	CHECK(!mw_metrics_parse_addr("[::1]:9464", &ss, &sl, err, sizeof(err)));
	CHECK_EQ_U64(ss.ss_family, AF_INET6);
	CHECK_EQ_U64(sl, sizeof(struct sockaddr_in6));
	CHECK(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));
	CHECK(!mw_metrics_parse_addr(":65535", &ss, &sl, err, sizeof(err)));
	CHECK_EQ_U64(ss.ss_family, AF_INET6);
	CHECK(IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr));
	CHECK_EQ_U64(ntohs(a6->sin6_port), 65535);

	const char *bad[] = { "", "9464", "foo", "foo:80", "1.2.3.4", "1.2.3.4:", "1.2.3.4:80x",
			      "1.2.3.4:-1", "999.1.1.1:80", "::1:80", "[::1]80", "[::1]", "[]:80",
			      "[1.2.3.4]:80", "1.2.3.4: 80", "1.2.3.4:+80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (!mw_metrics_parse_addr(bad[i], &ss, &sl, err, sizeof(err)))
			CHECK_FAIL("accepted \"%s\"", bad[i]);
		CHECK(strstr(err, "invalid --metrics address"));
		CHECK(!strchr(err, '\n'));
	}
	CHECK(mw_metrics_parse_addr("1.2.3.4:0", &ss, &sl, err, sizeof(err)));
	CHECK_EQ_STR(err, "invalid --metrics address 1.2.3.4:0: port must be 1-65535");
	CHECK(mw_metrics_parse_addr("1.2.3.4:65536", &ss, &sl, err, sizeof(err)));
	CHECK_EQ_STR(err, "invalid --metrics address 1.2.3.4:65536: port must be 1-65535");
}

static int route(const char *req, int *head)
{
	return mw_metrics_route(req, strlen(req), head);
}

TEST(requests)
{
	int head = 7;

	CHECK_EQ_U64(route("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &head), 200);
	CHECK_EQ_U64(head, 0);
	CHECK_EQ_U64(route("GET /metrics HTTP/1.0\r\n\r\n", &head), 200);
	CHECK_EQ_U64(route("GET /metrics HTTP/1.1\n\n", &head), 200);
	CHECK_EQ_U64(route("GET /metrics?name[]=x HTTP/1.1\r\n\r\n", &head), 200);
	CHECK_EQ_U64(route("HEAD /metrics HTTP/1.1\r\n\r\n", &head), 200);
	CHECK_EQ_U64(head, 1);
	CHECK_EQ_U64(route("GET / HTTP/1.1\r\n\r\n", &head), 404);
	CHECK_EQ_U64(route("GET /metricsx HTTP/1.1\r\n\r\n", &head), 404);
	CHECK_EQ_U64(route("GET /metrics/ HTTP/1.1\r\n\r\n", &head), 404);
	CHECK_EQ_U64(route("GET /favicon.ico HTTP/1.1\r\n\r\n", &head), 404);
	CHECK_EQ_U64(route("POST /metrics HTTP/1.1\r\n\r\n", &head), 405);
	CHECK_EQ_U64(route("get /metrics HTTP/1.1\r\n\r\n", &head), 405);
	CHECK_EQ_U64(route("GET /metrics\r\n\r\n", &head), 400);	/* HTTP/0.9 */
	CHECK_EQ_U64(route("GET /metrics HTTP/2.0\r\n\r\n", &head), 400);
	CHECK_EQ_U64(route("GET  /metrics HTTP/1.1\r\n\r\n", &head), 400);
	CHECK_EQ_U64(route("GET http://h/metrics HTTP/1.1\r\n\r\n", &head), 400);
	CHECK_EQ_U64(route("GET /metrics HTTP/1.1 extra\r\n\r\n", &head), 400);
	CHECK_EQ_U64(route("\r\n\r\n", &head), 400);
	CHECK_EQ_U64(route("GET /metrics HTTP/1.1", &head), 400);	/* no line end */
	CHECK_EQ_U64(mw_metrics_route("", 0, &head), 400);
}

TEST(self_reads_plausible_numbers)
{
	struct mw_metrics_self s;

	CHECK(!mw_metrics_read_self(&s));
	CHECK(s.cpu_seconds >= 0 && s.cpu_seconds < 1e6);
	CHECK(s.rss_bytes > 100000);
}

/* ---- one loopback round trip ------------------------------------------------------------------ */

static int http_get(int port, const char *req, char *out, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(0x7f000001) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t n = 0;
	ssize_t r;

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (n + 1 < len && (r = read(fd, out + n, len - n - 1)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(fd);
	return (int)n;
}

TEST(server_round_trip)
{
	static char resp[1 << 16];
	struct mw_metrics *m = NULL, *m2;
	char spec[64], err[256];
	int port = 0;

	/* a free port in a high range, this process's own */
	for (int i = 0; i < 200 && !m; i++) {
		port = 30000 + (int)((getpid() * 7 + i * 131) % 20000);
		snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
		m = mw_metrics_start(spec, err, sizeof(err));
	}
	CHECK(m);
	/* the same port again: one clear line */
	m2 = mw_metrics_start(spec, err, sizeof(err));
	CHECK(!m2);
	char want[128];
	snprintf(want, sizeof(want), "cannot listen on %s: address already in use", spec);
	CHECK_EQ_STR(err, want);
	m2 = mw_metrics_start("nonsense", err, sizeof(err));
	CHECK(!m2);
	CHECK(strstr(err, "invalid --metrics address nonsense"));

	/* before any update: valid, no races */
	CHECK(http_get(port, "GET /metrics HTTP/1.0\r\n\r\n", resp, sizeof(resp)) > 0);
	CHECK(!strncmp(resp, "HTTP/1.1 200 OK\r\n", 17));
	CHECK(strstr(resp, "\r\nContent-Type: text/plain; version=0.0.4"));
	CHECK(strstr(resp, "\r\nConnection: close\r\n"));
	CHECK(strstr(resp, "\nmapwatch_processes_watched 0\n"));
	CHECK(strstr(resp, "\nmapwatch_resident_memory_bytes "));

	struct mw_metrics_site sites[] = { site(MW_KIND_ITER_WRITE, "races.c:58", 100) };
	struct mw_metrics_proc p = { .pid = 9, .watched = 1, .binary = "races", .runtime = "libgomap",
				     .sites = sites, .nsites = 1 };
	struct mw_metrics_snapshot s = { .procs = &p, .nprocs = 1 };
	p.races[MW_KIND_ITER_WRITE] = 100;
	CHECK(!mw_metrics_update(m, &s));
	sites[0].count = 1;	/* the server holds its own copy */
	CHECK(http_get(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof(resp)) > 0);
	CHECK(strstr(resp, "mapwatch_races_total{kind=\"iter-write\",binary=\"races\",site=\"races.c:58\"} 100\n"));
	char *body = strstr(resp, "\r\n\r\n");
	CHECK(body);
	CHECK_EQ_U64(strtoul(strstr(resp, "Content-Length: ") + 16, NULL, 10), strlen(body + 4));

	CHECK(http_get(port, "HEAD /metrics HTTP/1.1\r\n\r\n", resp, sizeof(resp)) > 0);
	CHECK(!strncmp(resp, "HTTP/1.1 200 OK\r\n", 17));
	CHECK(!strstr(resp, "mapwatch_"));
	CHECK(http_get(port, "GET /other HTTP/1.1\r\n\r\n", resp, sizeof(resp)) > 0);
	CHECK(!strncmp(resp, "HTTP/1.1 404 Not Found\r\n", 24));
	CHECK(http_get(port, "DELETE /metrics HTTP/1.1\r\n\r\n", resp, sizeof(resp)) > 0);
	CHECK(!strncmp(resp, "HTTP/1.1 405 ", 13));
	CHECK(strstr(resp, "\r\nAllow: GET, HEAD\r\n"));
	/* an oversized head: refused, not read forever */
	static char big[MW_METRICS_MAX_REQUEST + 100];
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	CHECK(http_get(port, big, resp, sizeof(resp)) > 0);
	CHECK(!strncmp(resp, "HTTP/1.1 431 ", 13));
	CHECK_EQ_U64(mw_metrics_requests(m), 6);
	mw_metrics_stop(m);
	mw_metrics_stop(NULL);
	CHECK(!mw_metrics_update(NULL, &s));
}

TEST(a_silent_client_does_not_hold_the_server)
{
	struct mw_metrics *m = NULL;
	char spec[64], err[256], resp[4096];
	int port = 0, fd;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	struct timespec t0, t1;

	for (int i = 0; i < 200 && !m; i++) {
		port = 30000 + (int)((getpid() * 13 + i * 137 + 7) % 20000);
		snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
		m = mw_metrics_start(spec, err, sizeof(err));
	}
	CHECK(m);
	a.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a)));
	CHECK(write(fd, "GET /metr", 9) == 9);	/* and then nothing */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(http_get(port, "GET /metrics HTTP/1.1\r\n\r\n", resp, sizeof(resp)) > 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(!strncmp(resp, "HTTP/1.1 200 OK\r\n", 17));
	CHECK(s < MW_METRICS_TIMEOUT_MS / 1000.0 + 1.0);
	close(fd);
	mw_metrics_stop(m);
}

CHECK_MAIN()
