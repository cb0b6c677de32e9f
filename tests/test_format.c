/* test_format.c — the one text and JSON form of alerts, findings and
 * summaries (user/format.c): exact lines, the process tag, the live-only
 * summary fields, the fallbacks when a line would not fit, and the set of
 * distinct races the plain output prints in full. */
#include <stdlib.h>
#include "check.h"
#include "format.h"

static struct mw_alert iter_write(void)
{
	return (struct mw_alert){
		.seq = 7, .ts = 1234, .map = 0xc000, .bucket = 0xb0, .hiter = 0x7ffd00, .overlap_ns = 15000,
		.writer_tid = 11, .iter_tid = 12, .writer_stack = 3, .iter_stack = -1,
		.kind = MW_KIND_ITER_WRITE, .op = MW_OP_ASSIGN, .confidence = MW_CONF_WINDOW,
		.rec_type = MW_REC_WRITE,
	};
}

static char *text_of(void (*fn)(FILE *, void *), void *arg)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	fn(f, arg);
	fclose(f);
	return s;
}

static void alert_text(FILE *f, void *arg)
{
	const struct mw_alert *a = arg;
	struct mw_tag tag = { .pid = 42, .comm = "svc" };

	mw_fmt_alert_text(f, a, NULL, NULL, 1, NULL);
	mw_fmt_alert_text(f, a, NULL, NULL, 0, &tag);
}

TEST(alert_text_line_stacks_and_tag)
{
	struct mw_alert a = iter_write();
	char *s = text_of(alert_text, &a);

	CHECK_EQ_STR(s,
		"ALERT #7 iter-write map 0xc000: tid 11 assign while tid 12 iterates (hiter 0x7ffd00, "
		"iterator bucket 0xb0, overlap 15.0 us, confidence window)\n"
		"    writer    (no stack)\n"
		"    iterator  (no stack)\n"
		"ALERT #7 iter-write map 0xc000: tid 11 assign while tid 12 iterates (hiter 0x7ffd00, "
		"iterator bucket 0xb0, overlap 15.0 us, confidence window) [pid 42 svc]\n");
	free(s);
}

TEST(alert_json_whole_object_with_stacks_and_tag)
{
	struct mw_alert a = iter_write();
	struct mw_rstack ws = { .id = 3, .n = 1, .json = "[{\"addr\":\"0x10\"}]" };
	struct mw_tag tag = { .pid = 42 };
	char buf[1024], small[400];
	int n;

	n = mw_fmt_alert_json(buf, sizeof(buf), &a, &ws, NULL, NULL);
	CHECK_EQ_STR(buf, "{\"type\":\"alert\",\"seq\":7,\"ts\":1234,\"kind\":\"iter-write\",\"map\":\"0xc000\","
		     "\"bucket\":\"0xb0\",\"bucket2\":\"0x0\",\"hiter\":\"0x7ffd00\",\"writer_tid\":11,"
		     "\"iter_tid\":12,\"overlap_ns\":15000,\"confidence\":\"window\",\"op\":\"assign\","
		     "\"writer_stack_id\":3,\"iter_stack_id\":-1,\"writer_stack\":[{\"addr\":\"0x10\"}],"
		     "\"iter_stack\":[]}");
	CHECK_EQ_U64(n, strlen(buf));
	/* The process tag goes right after the type. */
	mw_fmt_alert_json(buf, sizeof(buf), &a, &ws, NULL, &tag);
	CHECK(!strncmp(buf, "{\"type\":\"alert\",\"pid\":42,\"seq\":7,", 33));
	/* Stacks that do not fit are left out, the object stays whole. */
	char big[512];
	memset(big, 'x', sizeof(big));
	big[0] = '[', big[sizeof(big) - 2] = ']', big[sizeof(big) - 1] = 0;
	ws.json = big;
	n = mw_fmt_alert_json(small, sizeof(small), &a, &ws, NULL, NULL);
	CHECK((size_t)n < sizeof(small));
	CHECK(strstr(small, "\"writer_stack\":[],\"iter_stack\":[]}"));
}

TEST(summary_json_offline_and_live)
{
	struct mw_summary s = { .events = 10, .drops = 1, .alerts = 3, .rows = 1, .maps = 1,
				.bpf_hits = 99, .rb_drops = 1, .first_ts = 5, .last_ts = 9 };
	struct mw_live_end live = { .pid = 4242, .root_pid = 4242, .records = 10, .bpf_records = 11,
				    .slots_full = 2, .target = "exited with status 0", .exit_status = 0 };
	char buf[2048];
	int n;

	s.alerts_by_kind[MW_KIND_ITER_WRITE] = 3;
	n = mw_fmt_summary_json(buf, sizeof(buf), &s, NULL);
	CHECK_EQ_STR(buf, "{\"type\":\"summary\",\"events\":10,\"drops\":1,\"alerts\":3,\"alerts_by_kind\":"
		     "{\"iter-write\":3,\"iter-grow\":0,\"write-write\":0,\"read-write\":0,\"clone-write\":0},"
		     "\"unconfirmed\":0,\"runtime_caught\":{\"iter-write\":0,\"write-write\":0,\"read-write\":0,"
		     "\"clone-write\":0},\"rows\":1,\"maps\":1,\"rb_drops\":1,\"map_drops\":0,\"probe_hits\":99,"
		     "\"first_ts\":5,\"last_ts\":9}");
	CHECK_EQ_U64(n, strlen(buf));
	/* Live: the same fields, then the live ones, in one object. */
	size_t off = strlen(buf) - 1;
	mw_fmt_summary_json(buf + 1024, 1024, &s, &live);
	CHECK(!strncmp(buf, buf + 1024, off));
	CHECK_EQ_STR(buf + 1024 + off, ",\"pid\":4242,\"records\":10,\"bpf_records\":11,\"slots_full\":2,"
		     "\"map_full\":0,\"bad_reads\":0,\"stack_fails\":0,\"target\":\"exited with status 0\","
		     "\"exit_status\":0}");
}

static void summary_text(FILE *f, void *arg)
{
	const struct mw_summary *s = arg;
	struct mw_live_end live = { .pid = 9, .root_pid = 8, .hits = 5, .bad_reads = 1,
				    .target = "killed by SIGTERM" };

	mw_fmt_summary_text(f, s, 1, &live);
	mw_fmt_summary_text(f, s, 0, NULL);
}

TEST(summary_text_live_and_offline)
{
	struct mw_summary s = { .events = 10, .drops = 2, .alerts = 4, .rows = 2, .maps = 1,
				.bpf_hits = 5, .rb_drops = 2, .unconfirmed = 1 };
	char *t;

	s.alerts_by_kind[MW_KIND_ITER_WRITE] = 3;
	s.alerts_by_kind[MW_KIND_ITER_GROW] = 1;
	s.runtime_caught[MW_KIND_ITER_WRITE] = 2;
	t = text_of(summary_text, &s);
	CHECK_EQ_STR(t,
		"mapwatch: 10 events, 5 probe hits, 2 drops (0 ring buffer, 0 map full, 0 iteration slots full), "
		"1 bad reads, 0 stacks not captured\n"
		"mapwatch: 4 alerts: iter-write 3, iter-grow 1, write-write 0, read-write 0 (2 rows, 1 maps)\n"
		"mapwatch: 1 more not counted: writes into a Go iteration never seen moving on afterwards "
		"(possibly left by break or return)\n"
		"mapwatch: the runtime itself caught 2 iter-write races\n"
		"mapwatch: pid 8 killed by SIGTERM\n"
		"mapwatch: 10 events, 5 probe hits, 2 drops (2 ring buffer, 0 map or iteration slots full)\n"
		"mapwatch: 4 alerts: iter-write 3, iter-grow 1, write-write 0 (2 rows, 1 maps)\n"
		"mapwatch: 1 more not counted: writes into a Go iteration never seen moving on afterwards "
		"(possibly left by break or return)\n"
		"mapwatch: the runtime itself caught 2 iter-write races\n");
	free(t);
}

TEST(finding_json_escapes_and_tags)
{
	struct mw_finding f = { .kind = MW_KIND_ITER_GROW, .count = 5, .first_seq = 2 };
	struct mw_tag tag = { .pid = 7 };
	char buf[2048];

	snprintf(f.writer, sizeof(f.writer), "put \"q\" (a.c:1)");
	snprintf(f.iter, sizeof(f.iter), "?");
	mw_fmt_finding_json(buf, sizeof(buf), &f, NULL);
	CHECK_EQ_STR(buf, "{\"type\":\"finding\",\"kind\":\"iter-grow\",\"count\":5,"
		     "\"writer\":\"put \\\"q\\\" (a.c:1)\",\"iterator\":\"?\",\"first_seq\":2}");
	mw_fmt_finding_json(buf, sizeof(buf), &f, &tag);
	CHECK(!strncmp(buf, "{\"type\":\"finding\",\"pid\":7,\"kind\":", 33));
}

static void host_tags(FILE *f, void *arg)
{
	struct mw_tag host = { .pid = 41, .comm = "svc", .nspid = 41, .binary = "svc", .cgroup = "/" };
	struct mw_tag ctr = { .pid = 4100, .comm = "svc", .nspid = 1, .binary = "svc", .cgroup = "/docker/ab" };

	(void)arg;
	mw_fmt_fatal_text(f, &(struct mw_record){ .kind = MW_KIND_ITER_WRITE }, 0, &host);
	mw_fmt_fatal_text(f, &(struct mw_record){ .kind = MW_KIND_ITER_WRITE }, 0, &ctr);
}

TEST(host_wide_tag_names_host_pid_ns_pid_binary_cgroup)
{
	struct mw_tag ctr = { .pid = 4100, .comm = "svc", .nspid = 1, .binary = "s\"v", .cgroup = "/docker/ab" };
	char *s = text_of(host_tags, NULL), buf[2048];
	CHECK(strstr(s, " [pid 41 svc]\n"));
	CHECK(strstr(s, " [pid 4100 ns 1 svc /docker/ab]\n"));
	free(s);
	mw_fmt_fatal_json(buf, sizeof(buf), &(struct mw_record){ .kind = MW_KIND_ITER_WRITE }, &ctr);
	const char *want = "{\"type\":\"runtime\",\"pid\":4100,\"nspid\":1,\"binary\":\"s\\\"v\","
			   "\"cgroup\":\"/docker/ab\",\"kind\":";
	CHECK(!strncmp(buf, want, strlen(want)));
}

static void bin_finding_text(FILE *f, void *arg)
{
	mw_fmt_bin_findings_head_text(f, "svc");
	mw_fmt_bin_finding_text(f, arg);
	mw_fmt_bin_overflow_text(f, MW_KIND_ITER_GROW, 3);
}

TEST(binary_finding_counts_per_process)
{
	struct mw_bin_finding a = { .kind = MW_KIND_ITER_WRITE, .count = 13, .npids = 2, .others = 3, .nothers = 1,
				    .p = { { 10, 10, 6 }, { 11, 1, 4 } } };
	char buf[2048], *s;

	snprintf(a.writer, sizeof(a.writer), "put (w.c:24)");
	snprintf(a.iter, sizeof(a.iter), "iterate (w.c:33)");
	s = text_of(bin_finding_text, &a);
	CHECK_EQ_STR(s, "mapwatch: findings in svc (alerts by code location, writer → iterator or write in "
		     "flight; count per process):\n"
		     "      13  iter-write  put (w.c:24) → iterate (w.c:33)  [pid 10: 6, pid 11: 4, others: 3]\n"
		     "       3  iter-grow   (more code locations than kept)\n");
	free(s);
	mw_fmt_bin_finding_json(buf, sizeof(buf), "svc", &a);
	CHECK_EQ_STR(buf, "{\"type\":\"finding\",\"binary\":\"svc\",\"kind\":\"iter-write\",\"count\":13,"
		     "\"writer\":\"put (w.c:24)\",\"iterator\":\"iterate (w.c:33)\",\"processes\":["
		     "{\"pid\":10,\"nspid\":10,\"count\":6},{\"pid\":11,\"nspid\":1,\"count\":4}],"
		     "\"other_processes\":1,\"other_count\":3}");
}

TEST(seen_each_distinct_race_once)
{
	struct mw_seen *s = mw_seen_new();
	int a, b;

	CHECK(s);
	CHECK(mw_seen_first(s, MW_KIND_ITER_WRITE, &a, &b));
	CHECK(!mw_seen_first(s, MW_KIND_ITER_WRITE, &a, &b));
	CHECK(mw_seen_first(s, MW_KIND_ITER_GROW, &a, &b));	/* another kind */
	CHECK(mw_seen_first(s, MW_KIND_ITER_WRITE, &b, &a));	/* the sides swapped */
	CHECK(mw_seen_first(s, MW_KIND_ITER_WRITE, NULL, NULL));
	CHECK(!mw_seen_first(s, MW_KIND_ITER_WRITE, NULL, NULL));
	mw_seen_free(s);
}

static void proc_event_text(FILE *f, void *arg)
{
	mw_fmt_proc_event_text(f, arg);
}

TEST(host_process_lines_text_and_json)
{
	struct mw_proc_event w = { .event = "watch", .pid = 4100, .nspid = 1, .comm = "svc", .path = "/srv/s\"vc",
				   .binary = "s\"vc", .cgroup = "/docker/ab", .runtime = "go", .version = "1.22",
				   .attachment = 2, .shared = 1, .how = "exec" };
	struct mw_proc_event x = { .event = "exit", .pid = 4100, .nspid = 1, .binary = "svc", .attachment = 2,
				   .how = "exited", .alerts = 3, .events = 40 };
	struct mw_proc_event f = { .event = "failed", .pid = 9, .nspid = 9, .path = "/bin/x",
				   .reason = "symbols_missing", .how = "no \"mapassign\"" };
	char buf[4096], *s;

	s = text_of(proc_event_text, &w);
	CHECK_EQ_STR(s, "mapwatch: watching pid 4100 ns pid 1 /srv/s\"vc (go 1.22), cgroup /docker/ab: "
		     "attachment 2, shared (found at exec)\n");
	free(s);
	w.nspid = 4100;
	w.cgroup = "";
	s = text_of(proc_event_text, &w);
	CHECK_EQ_STR(s, "mapwatch: watching pid 4100 /srv/s\"vc (go 1.22), cgroup ?: attachment 2, shared (found at exec)\n");
	free(s);
	s = text_of(proc_event_text, &x);
	CHECK_EQ_STR(s, "mapwatch: pid 4100 (svc) exited\n");
	free(s);
	s = text_of(proc_event_text, &f);
	CHECK_EQ_STR(s, "mapwatch: pid 9 (/bin/x) cannot be watched (symbols_missing): no \"mapassign\"\n");
	free(s);
	mw_fmt_proc_event_json(buf, sizeof(buf), &w);
	CHECK_EQ_STR(buf, "{\"type\":\"process\",\"event\":\"watch\",\"pid\":4100,\"nspid\":4100,\"comm\":\"svc\","
		     "\"binary\":\"s\\\"vc\",\"path\":\"/srv/s\\\"vc\",\"cgroup\":\"\",\"runtime\":\"go\","
		     "\"version\":\"1.22\",\"attachment\":2,\"shared\":true,\"found\":\"exec\"}");
	mw_fmt_proc_event_json(buf, sizeof(buf), &x);
	CHECK_EQ_STR(buf, "{\"type\":\"process\",\"event\":\"exit\",\"pid\":4100,\"nspid\":1,\"binary\":\"svc\","
		     "\"attachment\":2,\"alerts\":3,\"events\":40,\"why\":\"exited\"}");
	mw_fmt_proc_event_json(buf, sizeof(buf), &f);
	CHECK_EQ_STR(buf, "{\"type\":\"process\",\"event\":\"failed\",\"pid\":9,\"nspid\":9,\"path\":\"/bin/x\","
		     "\"reason\":\"symbols_missing\",\"why\":\"no \\\"mapassign\\\"\"}");
}

TEST(host_summary_json_tail)
{
	struct mw_summary s = { .events = 5, .alerts = 2 };
	struct mw_host_end h = { .records = 7, .processes = 3, .watching = 1, .attachments = 2,
				 .no_runtime = 4, .excluded = 5, .opted_out = 6, .toolchain = 1 };
	char buf[4096];

	h.failures[MW_ATTACH_GONE] = 2;
	CHECK(mw_fmt_host_summary_json(buf, sizeof(buf), &s, &h) > 0);
	CHECK(!strncmp(buf, "{\"type\":\"summary\",\"events\":5,", 29));
	CHECK(strstr(buf, ",\"scope\":\"all\",\"records\":7,\"processes\":3,\"watching\":1,\"attachments\":2,"
		      "\"attach_failures\":{\"unsupported\":0,\"symbols_missing\":0,\"permission\":0,"
		      "\"process_gone\":2,\"probe_failed\":0,\"other\":0},\"no_runtime\":4,\"excluded\":5,"
		      "\"opted_out\":6,\"toolchain\":1}"));
	CHECK(buf[strlen(buf) - 1] == '}');
}

TEST(summary_says_when_maps_were_forgotten)
{
	struct mw_summary s = { .events = 3, .maps = 20000, .maps_forgotten = 4096 };
	char buf[2048], *t;

	mw_fmt_summary_json(buf, sizeof(buf), &s, NULL);
	CHECK(strstr(buf, "\"maps\":20000,\"maps_forgotten\":4096,\"rb_drops\":0,"));
	t = text_of(summary_text, &s);
	CHECK(strstr(t, "(0 rows, 20000 maps)\nmapwatch: 4096 idle maps forgotten to keep at most 16384 map "
		      "models (their per-map counts; alerts keep theirs)\n"));
	free(t);
	s.maps_forgotten = 0;	/* below the cap: no such field or line */
	mw_fmt_summary_json(buf, sizeof(buf), &s, NULL);
	CHECK(!strstr(buf, "forgotten"));
}

CHECK_MAIN()
