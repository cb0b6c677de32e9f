/* test_trace.c — the trace file: round trip, hostile input, safe creation,
 * and `analyze` giving the same alerts and summary as the live correlator. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "trace.h"
#include "stacktab.h"
#include "layout.h"
#include "outfile.h"
#include "analyze.h"
#include "correlator.h"
#include "format.h"

/* ---- helpers -------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return rng_state = x;
}

/* Files live in check.h's per-run directory, removed when the run ends. */
static const char *tpath(const char *name)
{
	static char buf[8][512];
	static int k;
	char *p = buf[k++ & 7];
	snprintf(p, 512, "%s/%s", check_tmpdir(), name);
	return p;
}

static void put_file(const char *path, const char *data, size_t len)
{
	FILE *f;
	unlink(path);
	f = fopen(path, "wb");
	if (!f)
		abort();
	fwrite(data, 1, len, f);
	fclose(f);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b = malloc((size_t)n + 1);
	if (fread(b, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	b[n] = 0;
	fclose(f);
	if (len)
		*len = (size_t)n;
	return b;
}

static struct mw_trace_meta meta(void)
{
	struct mw_trace_meta m = { .pid = 4242, .start_mono_ns = 1000000000ull,
				   .start_realtime_ns = 1700000000123456789ull };
	snprintf(m.comm, sizeof(m.comm), "mapsvc");
	snprintf(m.exe, sizeof(m.exe), "/usr/bin/mapsvc");
	return m;
}

static struct mw_record rand_record(void)
{
	struct mw_record r;
	unsigned char *p = (unsigned char *)&r;
	for (size_t i = 0; i < sizeof(r); i++)
		p[i] = (unsigned char)rnd();
	/* Half the time, realistic small values rather than noise. */
	if (rnd() & 1) {
		r.type = (uint16_t)(1 + rnd() % 6);
		r.op = (uint8_t)(rnd() % 4);
		r.kind = (uint8_t)(rnd() % 4);
		r.stack_id = -1;
		r.pad[0] = r.pad[1] = 0;
	}
	/* pad2 is alignment only: not carried by the trace. */
	r.pad2 = 0;
	return r;
}

/* Read every item of an in-memory trace; returns the last item kind. */
static int read_all(const char *text, size_t len, struct mw_record *out, size_t *nrec,
		    const char **err, const char **warn)
{
	static char errbuf[700], warnbuf[700];
	struct mw_trace_reader *r = mw_reader_open_mem(text, len, "trace.jsonl");
	struct mw_record rec;
	int it;
	size_t n = 0;

	while ((it = mw_reader_next(r, &rec)) > 0)
		if (it == MW_ITEM_RECORD) {
			if (out)
				out[n] = rec;
			n++;
		}
	snprintf(errbuf, sizeof(errbuf), "%s", mw_reader_error(r));
	snprintf(warnbuf, sizeof(warnbuf), "%s", mw_reader_warning(r) ? mw_reader_warning(r) : "");
	mw_reader_close(r);
	if (nrec)
		*nrec = n;
	if (err)
		*err = errbuf;
	if (warn)
		*warn = warnbuf;
	return it;
}

/* ---- round trip ------------------------------------------------------------ */

TEST(roundtrip_random_records)
{
	enum { N = 20000 };
	struct mw_record *in = calloc(N, sizeof(*in)), *out = calloc(N + 1, sizeof(*out));
	struct mw_trace_meta m = meta();
	const char *path = tpath("rt.jsonl");
	struct mw_trace_writer *w;
	struct mw_trace_reader *r;
	char err[256];
	size_t n = 0;
	int it;

	unlink(path);
	w = mw_trace_create(path, 0, &m, err, sizeof(err));
	CHECK(w);
	for (int i = 0; i < N; i++) {
		in[i] = rand_record();
		CHECK(mw_trace_record(w, &in[i]) == 0);
	}
	CHECK(mw_trace_close(w) == 0);

	r = mw_reader_open(path, err, sizeof(err));
	CHECK(r);
	CHECK(mw_reader_next(r, &out[0]) == MW_ITEM_HEADER);
	CHECK_EQ_U64(mw_reader_header(r)->pid, 4242);
	CHECK_EQ_U64(mw_reader_header(r)->start_ns, 1000000000ull);
	CHECK_EQ_STR(mw_reader_header(r)->comm, "mapsvc");
	CHECK_EQ_STR(mw_reader_header(r)->start_time, "2023-11-14T22:13:20.123456789Z");
	while ((it = mw_reader_next(r, &out[n])) == MW_ITEM_RECORD && n < N)
		n++;
	if (it == MW_ITEM_ERROR)
		CHECK_FAIL("%s", mw_reader_error(r));
	CHECK(it == MW_ITEM_EOF);
	CHECK_EQ_U64(n, N);
	for (int i = 0; i < N; i++)
		if (memcmp(&in[i], &out[i], sizeof(in[i])))
			CHECK_FAIL("record %d differs after the round trip", i);
	mw_reader_close(r);
	free(in);
	free(out);
}

TEST(roundtrip_extremes)
{
	struct mw_record rs[3], back[4];
	char buf[8192];
	size_t len = 0, n;
	const char *err;

	memset(&rs[0], 0, sizeof(rs[0]));
	memset(&rs[1], 0xff, sizeof(rs[1]));
	rs[1].pad2 = 0;	/* alignment only: not carried */
	memset(&rs[2], 0, sizeof(rs[2]));
	rs[2].stack_id = INT32_MIN;
	rs[2].other_stack_id = INT32_MAX;
	rs[2].bucket = MW_NO_BUCKET;
	struct mw_trace_meta m = meta();
	len = (size_t)mw_trace_format_header(&m, buf, sizeof(buf));
	buf[len++] = '\n';
	for (int i = 0; i < 3; i++) {
		len += mw_trace_format_record(&rs[i], buf + len);
		buf[len++] = '\n';
	}
	CHECK(read_all(buf, len, back, &n, &err, NULL) == MW_ITEM_EOF);
	CHECK_EQ_U64(n, 3);
	for (int i = 0; i < 3; i++)
		CHECK(!memcmp(&rs[i], &back[i], sizeof(rs[i])));
}

TEST(record_line_is_readable)
{
	struct mw_record r = { .type = MW_REC_WRITE, .op = MW_OP_ASSIGN, .kind = MW_KIND_ITER_WRITE,
			       .tid = 7, .ts = 123, .map = 0xc000010000ull, .bucket = MW_NO_BUCKET,
			       .stack_id = -1, .other_stack_id = -1 };
	char buf[MW_TRACE_REC_MAX];
	size_t n = mw_trace_format_record(&r, buf);

	buf[n] = 0;
	CHECK(n < MW_TRACE_REC_MAX);
	CHECK(!strncmp(buf, "{\"type\":\"event\",\"ev\":\"write\",\"ts\":123,\"tid\":7,", 46));
	CHECK(strstr(buf, "\"map\":\"0xc000010000\""));
	CHECK(strstr(buf, "\"op\":\"assign\""));
	CHECK(strstr(buf, "\"kind\":\"iter-write\""));
	CHECK(strstr(buf, "\"stack_id\":-1"));
	CHECK(strstr(buf, "\"bucket\":18446744073709551615"));
	CHECK(!strstr(buf, "\"pad\""));
}

TEST(header_strings_escaped)
{
	struct mw_trace_meta m = meta();
	char buf[8192];
	size_t len;
	struct mw_trace_reader *r;
	struct mw_record rec;

	snprintf(m.comm, sizeof(m.comm), "a\"b\\c\nd\x01");
	snprintf(m.exe, sizeof(m.exe), "/opt/x y/\xc3\xa9");
	len = (size_t)mw_trace_format_header(&m, buf, sizeof(buf));
	buf[len++] = '\n';
	r = mw_reader_open_mem(buf, len, "h");
	CHECK(mw_reader_next(r, &rec) == MW_ITEM_HEADER);
	CHECK_EQ_STR(mw_reader_header(r)->comm, "a\"b\\c\nd\x01");
	/* bytes ≥ 0x80 travel as \u00XX (latin-1), never as invalid JSON */
	CHECK(!strncmp(mw_reader_header(r)->exe, "/opt/x y/", 9));
	CHECK(mw_reader_next(r, &rec) == MW_ITEM_EOF);
	mw_reader_close(r);
}

/* The live loop flushes once a second; a kill -9 then loses only the rest. */
TEST(flush_reaches_the_file)
{
	struct mw_trace_meta m = meta();
	const char *path = tpath("flush.jsonl");
	char err[256], *text;
	size_t len, n;
	struct mw_trace_writer *w;
	struct mw_record r = { .type = MW_REC_WRITE, .ts = 5 };

	unlink(path);
	w = mw_trace_create(path, 0, &m, err, sizeof(err));
	CHECK(w);
	for (int i = 0; i < 100; i++)
		mw_trace_record(w, &r);
	CHECK(mw_trace_flush(w) == 0);
	text = slurp(path, &len);
	CHECK(read_all(text, len, NULL, &n, NULL, NULL) == MW_ITEM_EOF);
	CHECK_EQ_U64(n, 100);
	free(text);
	mw_trace_close(w);
}

/* Cut a trace at every byte offset: never an error, only whole lines kept. */
TEST(truncated_anywhere)
{
	struct mw_trace_meta m = meta();
	char buf[16384];
	size_t len, hdr, ends[20];
	struct mw_record r;

	len = (size_t)mw_trace_format_header(&m, buf, sizeof(buf));
	buf[len++] = '\n';
	hdr = len;
	for (int i = 0; i < 6; i++) {
		r = rand_record();
		len += mw_trace_format_record(&r, buf + len);
		buf[len++] = '\n';
		ends[i] = len;
	}
	for (size_t cut = hdr; cut <= len; cut++) {
		size_t n, want = 0;
		const char *err, *warn;
		int it = read_all(buf, cut, NULL, &n, &err, &warn);

		for (int i = 0; i < 6; i++)
			if (ends[i] <= cut)
				want++;
		if (it != MW_ITEM_EOF)
			CHECK_FAIL("cut at %zu: %s", cut, err);
		/* a cut just before a newline leaves a complete object: kept */
		if (cut < len && buf[cut] == '\n')
			want++;
		CHECK_EQ_U64(n, want);
		if (n == want && cut > hdr && buf[cut - 1] != '\n' && buf[cut] != '\n')
			CHECK(strstr(warn, "truncated last line"));
	}
}

/* ---- hostile input ------------------------------------------------------------ */

#define HDR "{\"type\":\"header\",\"format\":\"mapwatch-trace\",\"version\":1,\"pid\":1,\"start_ns\":0}\n"
#define EV(extra) "{\"type\":\"event\",\"ev\":\"write\",\"ts\":1,\"tid\":2,\"pid\":3,\"map\":\"0x10\"," \
	"\"op\":\"assign\",\"kind\":\"none\",\"other_tid\":0,\"other_ts\":0,\"hiter\":\"0x0\",\"count\":1," \
	"\"B\":0,\"hflags\":0,\"buckets\":\"0x20\",\"oldbuckets\":\"0x0\",\"nevacuate\":0,\"bucket\":0," \
	"\"bucket_addr\":\"0x0\",\"iter_bptr\":\"0x0\",\"iter_buckets\":\"0x0\",\"iter_bucket\":0,\"iter_B\":0," \
	"\"iter_i\":0,\"bucket_hit\":0,\"repeat\":0,\"stack_id\":-1,\"other_stack_id\":-1,\"aux\":0" extra "}\n"
#define GOOD EV(",\"aux2\":0")

static void expect_error(const char *text, const char *want)
{
	const char *err;
	int it = read_all(text, strlen(text), NULL, NULL, &err, NULL);

	if (it != MW_ITEM_ERROR)
		CHECK_FAIL("no error for input (wanted \"%s\")", want);
	if (!strstr(err, want))
		CHECK_FAIL("error \"%s\" does not contain \"%s\"", err, want);
}

TEST(good_minimal_trace)
{
	size_t n;
	const char *err;
	CHECK(read_all(HDR GOOD GOOD, strlen(HDR GOOD GOOD), NULL, &n, &err, NULL) == MW_ITEM_EOF);
	CHECK_EQ_U64(n, 2);
}

TEST(corrupt_inputs_name_the_line)
{
	expect_error("", "trace.jsonl:0: empty file");
	expect_error(GOOD, "trace.jsonl:1: missing header");
	expect_error("hello\n", "trace.jsonl:1: malformed JSON");
	expect_error("{\"type\":\"header\",\"format\":\"mapwatch-trace\",\"version\":3,\"start_ns\":0}\n",
		     "trace.jsonl:1: unsupported trace version 3");
	expect_error("{\"type\":\"header\",\"format\":\"other\",\"version\":1,\"start_ns\":0}\n",
		     "trace.jsonl:1: not a mapwatch trace");
	expect_error("{\"type\":\"header\",\"format\":\"mapwatch-trace\",\"version\":1}\n",
		     "missing field \"start_ns\"");
	expect_error(HDR GOOD "garbage\n" GOOD, "trace.jsonl:3: malformed JSON at column 1");
	expect_error(HDR GOOD GOOD "{\"type\":\"event\",\"ts\":\"12\"}\n",
		     "trace.jsonl:4: expected a number for \"ts\"");
	expect_error(HDR "{\"type\":\"event\",\"ts\":1.5}\n", "trace.jsonl:2: expected an integer for \"ts\"");
	expect_error(HDR "{\"type\":\"event\",\"ts\":99999999999999999999}\n",
		     "trace.jsonl:2: number out of range for \"ts\"");
	expect_error(HDR "{\"type\":\"event\",\"ev\":\"write\",\"ts\":1,\"tid\":-5}\n",
		     "trace.jsonl:2: negative value for \"tid\"");
	expect_error(HDR "{\"type\":\"event\",\"tid\":4294967296}\n", "number out of range for \"tid\"");
	expect_error(HDR EV(",\"aux2\":0,\"B\":256"), "duplicate field \"B\"");
	expect_error(HDR "{\"type\":\"event\",\"B\":256}\n", "number out of range for \"B\" (max 255)");
	expect_error(HDR "{\"type\":\"event\",\"stack_id\":2147483648}\n", "out of range for \"stack_id\"");
	expect_error(HDR "{\"type\":\"event\",\"map\":\"0xzz\"}\n", "expected a hex address");
	expect_error(HDR "{\"type\":\"event\",\"map\":\"0x11112222333344445\"}\n", "expected a hex address");
	expect_error(HDR "{\"type\":\"event\",\"map\":true}\n", "expected a hex address");
	expect_error(HDR "{\"type\":\"event\",\"ev\":\"explode\"}\n", "unknown ev \"explode\"");
	expect_error(HDR EV(""), "trace.jsonl:2: missing field \"aux2\"");
	expect_error(HDR "{\"type\":\"party\"}\n", "trace.jsonl:2: unknown line type \"party\"");
	expect_error(HDR "{\"type\":7}\n", "expected a string for \"type\"");
	expect_error(HDR "{\"ts\":1}\n", "missing field \"type\"");
	expect_error(HDR HDR, "trace.jsonl:2: a second header");
	expect_error(HDR "{\"type\":\"event\",\"ts\":1} x\n", "garbage after the object");
	expect_error(HDR "{\"type\":\"event\",\"ts\":01}\n", "leading zero");
	expect_error(HDR "{\"type\":\"summary\",\"events\":1}\n", "missing field \"alerts\"");
	expect_error(HDR "{\"type\":\"alert\",\"seq\":-1,\"ts\":1}\n", "negative value for \"seq\"");
	expect_error(HDR "{\"type\":\"alert\",\"seq\":1,\"ts\":1,\"ts\":2}\n", "trace.jsonl:2: duplicate field \"ts\"");
	expect_error(HDR "{\"type\":\"event\",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}\n", "nested too deeply");
	expect_error(HDR "{\"type\":\"event\",\"x\":\"a\x01\"}\n", "control character");
	/* a complete but wrong last line is an error, not a truncation */
	expect_error(HDR GOOD "{\"type\":\"event\",\"ts\":\"x\"}", "trace.jsonl:3: expected a number");
}

TEST(nul_byte_in_line)
{
	static const char t[] = HDR "{\"type\":\"ev\0nt\"}\n";
	const char *err;
	CHECK(read_all(t, sizeof(t) - 1, NULL, NULL, &err, NULL) == MW_ITEM_ERROR);
	CHECK(strstr(err, "trace.jsonl:2:"));
}

TEST(line_too_long)
{
	size_t n = 200000;
	char *t = malloc(n + 200);
	const char *err;
	int off = sprintf(t, HDR "{\"type\":\"event\",\"x\":\"");

	memset(t + off, 'a', n);
	strcpy(t + off + n, "\"}\n");
	CHECK(read_all(t, strlen(t), NULL, NULL, &err, NULL) == MW_ITEM_ERROR);
	CHECK(strstr(err, "trace.jsonl:2: line longer than 65536 bytes"));
	/* the same without a newline at all */
	t[off + n] = 0;
	CHECK(read_all(t, strlen(t), NULL, NULL, &err, NULL) == MW_ITEM_ERROR);
	CHECK(strstr(err, "line longer than"));
	free(t);
}

TEST(truncated_last_line_is_a_warning)
{
	static const char t[] = HDR GOOD "{\"type\":\"event\",\"ev\":\"wri";
	size_t n;
	const char *err, *warn;
	CHECK(read_all(t, sizeof(t) - 1, NULL, &n, &err, &warn) == MW_ITEM_EOF);
	CHECK_EQ_U64(n, 1);
	CHECK(strstr(warn, "trace.jsonl:3: warning: truncated last line ignored"));
}

TEST(crlf_and_blank_lines)
{
	static const char t[] = "{\"type\":\"header\",\"format\":\"mapwatch-trace\",\"version\":1,\"start_ns\":0}\r\n\n  \n" GOOD;
	size_t n;
	CHECK(read_all(t, sizeof(t) - 1, NULL, &n, NULL, NULL) == MW_ITEM_EOF);
	CHECK_EQ_U64(n, 1);
}

TEST(json_object_diff)
{
	char why[200];
	const char *a = "{\"a\":1,\"b\":\"x\",\"c\":{\"k\":1}}";
	const char *b = "{\"c\": {\"k\": 1}, \"b\":\"x\",\"a\":1}";
	CHECK(mw_json_object_diff(a, strlen(a), b, strlen(b), why, sizeof(why)) == 0);
	b = "{\"c\":{\"k\":1},\"b\":\"x\",\"a\":2}";
	CHECK(mw_json_object_diff(a, strlen(a), b, strlen(b), why, sizeof(why)) == 1);
	CHECK_EQ_STR(why, "\"a\" is 1 vs 2");
	b = "{\"a\":1,\"b\":\"x\"}";
	CHECK(mw_json_object_diff(a, strlen(a), b, strlen(b), why, sizeof(why)) == 1);
	CHECK(strstr(why, "\"c\" only in the first"));
}

/* ---- safe creation ------------------------------------------------------------ */

TEST(create_refuses_symlink)
{
	const char *victim = tpath("victim"), *link = tpath("planted");
	char err[512], *text;
	int fd;

	put_file(victim, "precious", 8);
	unlink(link);
	CHECK(symlink(victim, link) == 0);
	fd = mw_create_output(link, 0, err, sizeof(err));
	CHECK(fd < 0);
	CHECK(strstr(err, "symbolic link"));
	fd = mw_create_output(link, 1, err, sizeof(err));
	CHECK(fd < 0);
	CHECK(strstr(err, "cannot create trace file '"));
	CHECK(strstr(err, "symbolic link"));
	text = slurp(victim, NULL);
	CHECK_EQ_STR(text, "precious");
	free(text);
	/* a dangling symlink is refused too (O_CREAT would create its target) */
	unlink(link);
	CHECK(symlink(tpath("nowhere"), link) == 0);
	CHECK(mw_create_output(link, 1, err, sizeof(err)) < 0);
	CHECK(access(tpath("nowhere"), F_OK) < 0);
}

TEST(create_existing_needs_force)
{
	const char *path = tpath("exists.jsonl");
	char err[512], want[700];
	struct stat st;
	int fd;

	put_file(path, "old contents", 12);
	fd = mw_create_output(path, 0, err, sizeof(err));
	CHECK(fd < 0);
	snprintf(want, sizeof(want), "cannot create trace file '%s': file exists (use --force to overwrite)", path);
	CHECK_EQ_STR(err, want);
	fd = mw_create_output(path, 1, err, sizeof(err));
	CHECK(fd >= 0);
	CHECK(fstat(fd, &st) == 0);
	CHECK_EQ_U64(st.st_size, 0);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST(create_new_file_mode)
{
	const char *path = tpath("new.jsonl");
	char err[512];
	struct stat st;
	mode_t old = umask(022);
	int fd;

	unlink(path);
	fd = mw_create_output(path, 0, err, sizeof(err));
	umask(old);
	CHECK(fd >= 0);
	CHECK(fstat(fd, &st) == 0);
	CHECK_EQ_U64(st.st_mode & 0777, 0644);
	close(fd);
}

TEST(create_refuses_special_files)
{
	const char *dir = tpath("adir"), *fifo = tpath("afifo"), *a = tpath("hl_a"), *b = tpath("hl_b");
	char err[512];

	mkdir(dir, 0755);
	CHECK(mw_create_output(dir, 0, err, sizeof(err)) < 0);
	CHECK(strstr(err, "Is a directory"));
	CHECK(mw_create_output(dir, 1, err, sizeof(err)) < 0);
	CHECK(strstr(err, "Is a directory"));
	unlink(fifo);
	CHECK(mkfifo(fifo, 0644) == 0);
	CHECK(mw_create_output(fifo, 1, err, sizeof(err)) < 0);
	CHECK(strstr(err, "not a regular file"));
	put_file(a, "x", 1);
	unlink(b);
	CHECK(link(a, b) == 0);
	CHECK(mw_create_output(b, 1, err, sizeof(err)) < 0);
	CHECK(strstr(err, "hard links"));
	CHECK(mw_create_output("/nonexistent-dir/x/trace.jsonl", 0, err, sizeof(err)) < 0);
	CHECK_EQ_STR(err, "cannot create trace file '/nonexistent-dir/x/trace.jsonl': No such file or directory");
	CHECK(mw_create_output("", 0, err, sizeof(err)) < 0);
	if (geteuid() != 0) {
		const char *ro = tpath("ro");
		char p[600];
		mkdir(ro, 0500);
		snprintf(p, sizeof(p), "%s/t.jsonl", ro);
		CHECK(mw_create_output(p, 0, err, sizeof(err)) < 0);
		CHECK(strstr(err, "Permission denied"));
	}
}

TEST(trace_create_reports_errors)
{
	struct mw_trace_meta m = meta();
	char err[512];
	const char *path = tpath("tc.jsonl");

	put_file(path, "x", 1);
	CHECK(!mw_trace_create(path, 0, &m, err, sizeof(err)));
	CHECK(strstr(err, "exists (use --force to overwrite)"));
}

/* A write that fails part-way (the disk fills up; here RLIMIT_FSIZE, whose
 * EFBIG is the same short write then error): the file is cut back to its
 * last complete line, nothing more goes to it, the callback hears of it once,
 * and the file reads back as a valid trace without warnings. */
static int err_calls;
static char err_msg[600];
static void on_trace_error(void *ctx, const char *msg)
{
	(void)ctx;
	err_calls++;
	snprintf(err_msg, sizeof(err_msg), "%s", msg);
}

TEST(write_failure_keeps_whole_lines)
{
	struct mw_trace_meta m = meta();
	struct rlimit old, lim;
	char err[512];
	const char *path = tpath("full.jsonl");
	struct mw_trace_writer *w;
	size_t len, nrec;
	const char *rerr, *warn;
	char *data;
	void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);

	unlink(path);
	w = mw_trace_create(path, 0, &m, err, sizeof(err));
	CHECK(w != NULL);
	mw_trace_on_error(w, on_trace_error, NULL);
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = 100000;	/* the file may grow to 100000 bytes */
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	int fails = 0;
	for (int i = 0; i < 5000; i++) {
		struct mw_record r = rand_record();
		fails += mw_trace_record(w, &r) < 0;
		if (i % 500 == 499)
			fails += mw_trace_flush(w) < 0;	/* the live loop's once a second */
	}
	setrlimit(RLIMIT_FSIZE, &old);
	CHECK(fails > 0);
	CHECK_EQ_U64(err_calls, 1);
	CHECK_EQ_U64(mw_trace_error(w), EFBIG);
	CHECK(strstr(err_msg, "cannot write trace file '") && strstr(err_msg, "full.jsonl': File too large;"));
	CHECK(strstr(err_msg, "recording stopped, the file keeps its first "));
	/* the message names the lines the file keeps: what is in it at the end */
	unsigned long long lines = 0;
	const char *kept = strstr(err_msg, "keeps its first ");
	CHECK(kept && sscanf(kept, "keeps its first %llu lines", &lines) == 1 && lines > 0);
	/* later writes and the summary go nowhere, even once there is room */
	struct mw_summary sum = { 0 };
	CHECK(mw_trace_summary(w, &sum) < 0);
	CHECK(mw_trace_close(w) < 0);
	signal(SIGXFSZ, oldsig);

	data = slurp(path, &len);
	CHECK(data != NULL);
	CHECK(len > 0 && len <= 100000 && data[len - 1] == '\n');
	size_t nl = 0;
	for (size_t i = 0; i < len; i++)
		nl += data[i] == '\n';
	CHECK_EQ_U64(nl, lines);
	CHECK(read_all(data, len, NULL, &nrec, &rerr, &warn) == MW_ITEM_EOF);
	CHECK_EQ_U64(nrec, lines - 1);
	CHECK_EQ_STR(warn, "");
	free(data);
}

/* What a writer that went on after a failed write left behind: a record cut
 * short, the next write's lines right after it. Read up to the cut. */
TEST(record_cut_then_more_reads_up_to_the_cut)
{
	char t[8192];
	size_t n, cut = strlen(GOOD) / 2;
	const char *err, *warn;

	snprintf(t, sizeof(t), "%s%s%.*s%s%s", HDR, GOOD, (int)cut, GOOD, GOOD, GOOD);
	CHECK(read_all(t, strlen(t), NULL, &n, &err, &warn) == MW_ITEM_EOF);
	CHECK_EQ_U64(n, 1);
	CHECK(strstr(warn, "trace.jsonl:3: warning: record cut short at column "));
	/* a summary appended after the cut, the last line */
	snprintf(t, sizeof(t), "%s%s%.*s{\"type\":\"summary\",\"events\":9,\"alerts\":0}\n", HDR, GOOD,
		 (int)cut, GOOD);
	CHECK(read_all(t, strlen(t), NULL, &n, &err, &warn) == MW_ITEM_EOF);
	CHECK_EQ_U64(n, 1);
	CHECK(strstr(warn, "record cut short"));
	/* garbage that merely holds a record start is still an error */
	expect_error(HDR GOOD "x{\"type\":\"summary\",\"events\":9,\"alerts\":0}\n", "trace.jsonl:3: malformed JSON");
	expect_error(HDR GOOD "{\"type\":\"event\",\"ts\":1}{\"type\":\"summary\",\"events\":9,\"alerts\":0}\n",
		     "garbage after the object");
}

/* ---- analyze = live ------------------------------------------------------------ */

/* A synthetic but realistic stream: iterations on two maps by two threads,
 * writes by others, grows with evacuations; overlaps marked as BPF would. */
static size_t gen_stream(struct mw_record *out, size_t max, uint64_t t0)
{
	size_t n = 0;
	uint64_t ts = t0 + 1000;
	uint64_t maps[2] = { 0xc000100000ull, 0xc000200000ull };

	for (int round = 0; round < 40 && n + 16 < max; round++) {
		uint64_t map = maps[round & 1], hiter = 0x7ffd0000ull + (uint64_t)round * 0x100;
		uint32_t it_tid = 100 + (uint32_t)(round & 1), w_tid = 200 + (uint32_t)(round % 3);
		uint64_t it_start = ts;

		out[n++] = (struct mw_record){ .type = MW_REC_ITER_START, .tid = it_tid, .pid = 1, .ts = ts,
			.map = map, .hiter = hiter, .count = 10, .B = 3, .bucket = MW_NO_BUCKET,
			.stack_id = -1, .other_stack_id = -1 };
		for (int k = 0; k < 3; k++) {
			int overlap = (round + k) % 2 == 0;
			ts += 500;
			out[n++] = (struct mw_record){ .type = MW_REC_WRITE, .op = MW_OP_ASSIGN,
				.kind = overlap ? MW_KIND_ITER_WRITE : MW_KIND_NONE, .tid = w_tid, .pid = 1,
				.other_tid = overlap ? it_tid : 0, .ts = ts, .map = map,
				.hiter = overlap ? hiter : 0, .other_ts = overlap ? it_start : 0,
				.count = 10 + (uint64_t)k, .B = 3, .buckets = map + 0x1000,
				.bucket = MW_NO_BUCKET, .iter_bptr = overlap ? map + 0x1040 : 0,
				.bucket_hit = (uint8_t)(k == 1), .stack_id = 5, .other_stack_id = 6 };
		}
		if (round % 5 == 0) {
			ts += 100;
			out[n++] = (struct mw_record){ .type = MW_REC_GROW, .kind = MW_KIND_ITER_GROW,
				.tid = w_tid, .pid = 1, .other_tid = it_tid, .ts = ts, .map = map,
				.hiter = hiter, .other_ts = it_start, .B = 3, .buckets = map + 0x1000,
				.bucket = MW_NO_BUCKET, .stack_id = -1, .other_stack_id = -1 };
			ts += 100;
			out[n++] = (struct mw_record){ .type = MW_REC_EVACUATE, .tid = w_tid, .pid = 1,
				.ts = ts, .map = map, .B = 4, .oldbuckets = map + 0x1000, .buckets = map + 0x3000,
				.bucket = 1, .bucket_addr = map + 0x1040, .stack_id = -1, .other_stack_id = -1 };
			ts += 100;
			out[n++] = (struct mw_record){ .type = MW_REC_WRITE, .op = MW_OP_DELETE, .tid = w_tid,
				.pid = 1, .ts = ts, .map = map, .B = 4, .buckets = map + 0x3000,
				.bucket = MW_NO_BUCKET, .stack_id = -1, .other_stack_id = -1 };
		}
		if (round % 7 == 3) {
			ts += 50;
			out[n++] = (struct mw_record){ .type = MW_REC_WRITE, .op = MW_OP_DELETE,
				.kind = MW_KIND_WRITE_WRITE, .tid = 300, .pid = 1, .other_tid = w_tid,
				.ts = ts, .other_ts = ts - 20, .map = map, .bucket = MW_NO_BUCKET,
				.stack_id = -1, .other_stack_id = -1 };
		}
		ts += 700;
		out[n++] = (struct mw_record){ .type = MW_REC_ITER_END, .tid = it_tid, .pid = 1, .ts = ts,
			.map = map, .hiter = hiter, .bucket = MW_NO_BUCKET, .stack_id = -1,
			.other_stack_id = -1 };
		if (round % 10 == 9)
			out[n++] = (struct mw_record){ .type = MW_REC_STATS, .ts = ts, .aux = 3,
				.aux2 = (uint64_t)round, .count = 1000, .bucket = MW_NO_BUCKET,
				.stack_id = -1, .other_stack_id = -1 };
		ts += 1000;
	}
	return n;
}

struct live { struct mw_trace_writer *w; FILE *alerts; struct mw_findings *f; };
static void live_alert(void *ctx, const struct mw_alert *a, const struct mw_alert_row *row)
{
	struct live *l = ctx;
	char buf[4096];
	(void)row;
	mw_findings_add(l->f, a, NULL, NULL);
	if (l->w)
		mw_trace_alert(l->w, a);
	if (l->alerts) {
		/* As the live loop prints it: with (here empty) stacks. */
		mw_fmt_alert_json(buf, sizeof(buf), a, NULL, NULL, NULL);
		fprintf(l->alerts, "%s\n", buf);
	}
}

/* What the live loop does with -o: record, feed, alert lines, summary at the end.
 * Returns the expected `analyze --json` output. */
static char *record_live(const char *path, const struct mw_record *rs, size_t n)
{
	struct mw_trace_meta m = meta();
	char err[512], buf[4096];
	struct live l = { 0 };
	struct mw_summary s;
	char *exp = NULL;
	size_t explen = 0;
	struct mw_corr *c;

	unlink(path);
	l.w = mw_trace_create(path, 0, &m, err, sizeof(err));
	if (!l.w)
		return NULL;
	l.alerts = open_memstream(&exp, &explen);
	l.f = mw_findings_new(NULL);
	c = mw_corr_new(&(struct mw_corr_opts){ .on_alert = live_alert, .ctx = &l });
	for (size_t i = 0; i < n; i++) {
		mw_trace_record(l.w, &rs[i]);
		mw_corr_feed(c, &rs[i]);
	}
	/* Findings before the summary, as the live loop writes them. */
	for (size_t i = 0; i < mw_findings_count(l.f); i++) {
		int k = mw_fmt_finding_json(buf, sizeof(buf), mw_findings_at(l.f, i), NULL);
		mw_trace_line(l.w, buf, (size_t)k);
		fprintf(l.alerts, "%s\n", buf);
	}
	mw_findings_free(l.f);
	mw_corr_summary(c, &s);
	mw_trace_summary(l.w, &s);
	mw_trace_close(l.w);
	mw_fmt_summary_json(buf, sizeof(buf), &s, NULL);
	fprintf(l.alerts, "%s\n", buf);
	fclose(l.alerts);
	mw_corr_free(c);
	return exp;
}

static int run_analyze(char **out, char **errs, ...)
{
	char *argv[32];
	int argc = 0, rc;
	va_list ap;
	size_t ol, el;
	FILE *o, *e;

	va_start(ap, errs);
	argv[argc++] = "analyze";
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	o = open_memstream(out, &ol);
	e = open_memstream(errs, &el);
	rc = mw_analyze_run(argc, argv, o, e);
	fclose(o);
	fclose(e);
	return rc;
}

TEST(analyze_equals_live)
{
	struct mw_record rs[1024];
	size_t n = gen_stream(rs, 1024, meta().start_mono_ns);
	const char *path = tpath("live.jsonl");
	char *exp = record_live(path, rs, n), *out, *errs;
	int rc;

	CHECK(exp);
	CHECK(strstr(exp, "\"type\":\"alert\""));
	rc = run_analyze(&out, &errs, (char *)path, "--json", NULL);
	if (rc || strcmp(out, exp))
		CHECK_FAIL("rc %d\nexpected:\n%s\ngot:\n%s\nstderr: %s", rc, exp, out, errs);
	free(out), free(errs);
	rc = run_analyze(&out, &errs, (char *)path, "--check", NULL);
	if (rc)
		CHECK_FAIL("--check failed: %s", errs);
	CHECK(strstr(errs, "check passed"));
	CHECK(strstr(out, " alerts: iter-write "));
	free(out), free(errs), free(exp);
}

TEST(analyze_check_catches_differences)
{
	struct mw_record rs[1024];
	size_t n = gen_stream(rs, 1024, meta().start_mono_ns), len;
	const char *path = tpath("tamper.jsonl");
	char *exp = record_live(path, rs, n), *text, *p, *out, *errs;
	int rc;

	free(exp);
	text = slurp(path, &len);
	/* change one stored alert's overlap */
	p = strstr(text, "\"overlap_ns\":");
	CHECK(p);
	p += strlen("\"overlap_ns\":");
	*p = *p == '9' ? '8' : '9';
	put_file(path, text, len);
	free(text);
	rc = run_analyze(&out, &errs, (char *)path, "--check", NULL);
	CHECK(rc == 1);
	CHECK(strstr(errs, "differs from the replay: \"overlap_ns\""));
	free(out), free(errs);

	/* drop the summary line's alert count */
	text = slurp(path, &len);
	free(text);
	exp = record_live(path, rs, n);
	free(exp);
	text = slurp(path, &len);
	p = strstr(text, "{\"type\":\"summary\",\"events\":");
	CHECK(p);
	p += strlen("{\"type\":\"summary\",\"events\":");
	*p = *p == '9' ? '8' : '9';
	put_file(path, text, len);
	free(text);
	rc = run_analyze(&out, &errs, (char *)path, "--check", NULL);
	CHECK(rc == 1);
	CHECK(strstr(errs, "the summary differs from the replay: \"events\""));
	free(out), free(errs);

	/* remove an alert line */
	exp = record_live(path, rs, n);
	free(exp);
	text = slurp(path, &len);
	p = strstr(text, "{\"type\":\"alert\"");
	CHECK(p);
	char *e = strchr(p, '\n');
	memmove(p, e + 1, strlen(e + 1) + 1);
	put_file(path, text, strlen(text));
	free(text);
	rc = run_analyze(&out, &errs, (char *)path, "--check", NULL);
	CHECK(rc == 1);
	free(out), free(errs);
}

TEST(analyze_cut_short_trace)
{
	struct mw_record rs[1024];
	size_t n = gen_stream(rs, 1024, meta().start_mono_ns), len;
	const char *path = tpath("cut.jsonl");
	char *exp = record_live(path, rs, n), *text, *out, *errs;
	int rc;

	free(exp);
	text = slurp(path, &len);
	put_file(path, text, len * 2 / 3);
	free(text);
	rc = run_analyze(&out, &errs, (char *)path, "--check", NULL);
	if (rc)
		CHECK_FAIL("rc %d: %s", rc, errs);
	CHECK(strstr(errs, "no summary line"));
	free(out), free(errs);
}

TEST(analyze_errors)
{
	const char *path = tpath("bad.jsonl");
	char *out, *errs, want[700];

	put_file(path, HDR GOOD "{\"type\":\"event\",\"ts\":\"soon\"}\n", strlen(HDR GOOD) + 29);
	CHECK(run_analyze(&out, &errs, (char *)path, NULL) == 1);
	snprintf(want, sizeof(want), "mapwatch: %s:3: expected a number for \"ts\"\n", path);
	CHECK_EQ_STR(errs, want);
	free(out), free(errs);
	CHECK(run_analyze(&out, &errs, (char *)tpath("missing.jsonl"), NULL) == 1);
	CHECK(strstr(errs, "cannot open trace"));
	free(out), free(errs);
	CHECK(run_analyze(&out, &errs, NULL) == 2);
	free(out), free(errs);
	CHECK(run_analyze(&out, &errs, (char *)path, "--bogus", NULL) == 2);
	free(out), free(errs);
	CHECK(run_analyze(&out, &errs, (char *)path, "--since", "soon", NULL) == 2);
	CHECK(strstr(errs, "--since wants a time"));
	free(out), free(errs);
	CHECK(run_analyze(&out, &errs, (char *)path, "--check", "--tid", "5", NULL) == 2);
	free(out), free(errs);
}

TEST(parse_duration)
{
	unsigned long long v;
	CHECK(mw_parse_duration("1.5s", &v) == 0 && v == 1500000000ull);
	CHECK(mw_parse_duration("200ms", &v) == 0 && v == 200000000ull);
	CHECK(mw_parse_duration("10us", &v) == 0 && v == 10000ull);
	CHECK(mw_parse_duration("10µs", &v) == 0 && v == 10000ull);
	CHECK(mw_parse_duration("42", &v) == 0 && v == 42ull);
	CHECK(mw_parse_duration("42ns", &v) == 0 && v == 42ull);
	CHECK(mw_parse_duration("0.000000001s", &v) == 0 && v == 1ull);
	CHECK(mw_parse_duration("2m", &v) == 0 && v == 120000000000ull);
	CHECK(mw_parse_duration("", &v) < 0);
	CHECK(mw_parse_duration("s", &v) < 0);
	CHECK(mw_parse_duration("-1s", &v) < 0);
	CHECK(mw_parse_duration("1x", &v) < 0);
	CHECK(mw_parse_duration("99999999999999999999", &v) < 0);
	CHECK(mw_parse_duration("99999999999s", &v) < 0);
}

/* Count the alerts of a --json output and check each against a predicate. */
static int count_alerts(const char *out, const char *must)
{
	int n = 0;
	for (const char *p = out; (p = strstr(p, "{\"type\":\"alert\"")); p++) {
		const char *e = strchr(p, '\n');
		if (must && !memmem(p, (size_t)(e - p), must, strlen(must)))
			return -1;
		n++;
	}
	return n;
}

TEST(analyze_filters)
{
	struct mw_record rs[1024];
	size_t n = gen_stream(rs, 1024, meta().start_mono_ns);
	const char *path = tpath("filt.jsonl");
	char *exp = record_live(path, rs, n), *out, *errs, *last;
	int all, m1, m2, t, early, late;

	free(exp);
	CHECK(run_analyze(&out, &errs, (char *)path, "--json", NULL) == 0);
	all = count_alerts(out, NULL);
	free(out), free(errs);
	CHECK(all > 4);

	CHECK(run_analyze(&out, &errs, (char *)path, "--json", "--map", "c000100000", NULL) == 0);
	m1 = count_alerts(out, "\"map\":\"0xc000100000\"");
	free(out), free(errs);
	CHECK(run_analyze(&out, &errs, (char *)path, "--json", "--map=0xc000200000", NULL) == 0);
	m2 = count_alerts(out, "\"map\":\"0xc000200000\"");
	free(out), free(errs);
	CHECK(m1 > 0 && m2 > 0);
	CHECK_EQ_U64(m1 + m2, all);

	CHECK(run_analyze(&out, &errs, (char *)path, "--json", "--tid", "300", NULL) == 0);
	t = count_alerts(out, "\"writer_tid\":300");
	free(out), free(errs);
	CHECK(t > 0 && t < all);
	CHECK(run_analyze(&out, &errs, (char *)path, "--json", "--tid", "100", NULL) == 0);
	CHECK(count_alerts(out, "\"iter_tid\":100") > 0);
	free(out), free(errs);

	CHECK(run_analyze(&out, &errs, (char *)path, "--json", "--until", "30us", NULL) == 0);
	early = count_alerts(out, NULL);
	last = strstr(out, "{\"type\":\"summary\"");
	CHECK(last && strchr(last, '\n') && strchr(last, '\n')[1] == 0);
	CHECK(!strncmp(last, "{\"type\":\"summary\"", 17));
	free(out), free(errs);
	CHECK(run_analyze(&out, &errs, (char *)path, "--json", "--since", "0.030001ms", NULL) == 0);
	late = count_alerts(out, NULL);
	free(out), free(errs);
	CHECK(early > 0 && late > 0);
	CHECK_EQ_U64(early + late, all);
}

TEST(analyze_plain_output)
{
	struct mw_record rs[1024];
	size_t n = gen_stream(rs, 1024, meta().start_mono_ns);
	const char *path = tpath("plain.jsonl");
	char *exp = record_live(path, rs, n), *out, *errs;

	free(exp);
	CHECK(run_analyze(&out, &errs, (char *)path, NULL) == 0);
	/* The live --plain text (format.c): each distinct race once, findings, summary. */
	CHECK(!strncmp(out, "ALERT #1 iter-", 14));
	CHECK(strstr(out, " map 0xc000100000: tid "));
	CHECK(strstr(out, "\n    writer    (no stack)\n"));
	CHECK(strstr(out, "\nmapwatch: findings (alerts by code location"));
	CHECK(!strstr(out, "bad reads"));	/* a live-only counter */
	CHECK(strstr(out, " alerts: iter-write "));
	free(out), free(errs);
}


/* Stacks: the live loop's lines (stack lines before the first alert naming
 * them, alerts with both stacks, findings) replay to the same output, and
 * plain output shows the frames and the finding by code location. */
TEST(analyze_stacks_equal_live)
{
	struct mw_trace_meta m = meta();
	const char *path = tpath("stacks.jsonl");
	struct mw_stacktab *t = mw_stacktab_new();
	struct mw_findings *fs = mw_findings_new(mw_runtime_find("libgomap"));
	struct mw_sframe wf[3] = {
		{ 0x1000, "mapassign+0x0", "gomap.c", 879, "svc" },
		{ 0x2010, "writer_loop+0x1f", "mapsvc.c", 212, "svc" },
		{ 0x7f00, NULL, NULL, 0, "libc.so.6" },
	};
	struct mw_sframe rf[2] = {
		{ 0x1100, "mapiterinit+0x0", "gomap.c", 1183, "svc" },
		{ 0x2110, "snapshot_copy+0x2a", "mapsvc.c", 148, "svc" },
	};
	struct mw_record it = { .type = MW_REC_ITER_START, .ts = 1500000000, .tid = 8, .pid = 4242,
				.map = 0xc000, .hiter = 0x7ffd00, .count = 3, .bucket = MW_NO_BUCKET,
				.stack_id = 5, .other_stack_id = -1, .caller = 0x2110 };
	struct mw_record w = { .type = MW_REC_WRITE, .op = MW_OP_ASSIGN, .kind = MW_KIND_ITER_WRITE,
			       .ts = 1600000000, .tid = 7, .pid = 4242, .other_tid = 8,
			       .other_ts = 1500000000, .map = 0xc000, .hiter = 0x7ffd00,
			       .bucket = MW_NO_BUCKET, .stack_id = 9, .other_stack_id = 5,
			       .caller = 0x2010, .other_caller = 0x2110 };
	char err[512], buf[65536], *exp = NULL, *out, *errs;
	size_t explen;
	FILE *e = open_memstream(&exp, &explen);
	struct mw_corr *c = mw_corr_new(&(struct mw_corr_opts){ .keep_alerts = 1 });
	struct mw_trace_writer *tw;
	struct mw_alert a;
	struct mw_summary s;
	int rc, n;

	unlink(path);
	tw = mw_trace_create(path, 0, &m, err, sizeof(err));
	CHECK(tw && t && fs && c && e);
	struct mw_rstack *ws = mw_stacktab_put(t, 9, 0x2010, wf, 3);
	struct mw_rstack *is = mw_stacktab_put(t, 5, 0x2110, rf, 2);
	CHECK(ws && is && mw_stacktab_get(t, 9, 0x2010) == ws && !mw_stacktab_get(t, 9, 0x2011));
	mw_trace_record(tw, &it);
	mw_corr_feed(c, &it);
	for (int k = 0; k < 2; k++) {
		w.ts += 1000;
		CHECK(mw_corr_feed(c, &w) == 1);
		a = *mw_corr_alert(c, (size_t)k);
		if (!k) {
			n = mw_stack_line(ws, buf, sizeof(buf));
			mw_trace_line(tw, buf, (size_t)n);
			n = mw_stack_line(is, buf, sizeof(buf));
			mw_trace_line(tw, buf, (size_t)n);
		}
		n = mw_fmt_alert_json(buf, sizeof(buf), &a, ws, is, NULL);
		mw_trace_line(tw, buf, (size_t)n);
		fprintf(e, "%s\n", buf);
		mw_findings_add(fs, &a, ws, is);
		mw_trace_record(tw, &w);
	}
	CHECK_EQ_U64(mw_findings_count(fs), 1);
	CHECK_EQ_U64(mw_findings_at(fs, 0)->count, 2);
	CHECK_EQ_STR(mw_findings_at(fs, 0)->writer, "writer_loop (mapsvc.c:212)");
	CHECK_EQ_STR(mw_findings_at(fs, 0)->iter, "snapshot_copy (mapsvc.c:148)");
	n = mw_fmt_finding_json(buf, sizeof(buf), mw_findings_at(fs, 0), NULL);
	mw_trace_line(tw, buf, (size_t)n);
	fprintf(e, "%s\n", buf);
	mw_corr_summary(c, &s);
	mw_trace_summary(tw, &s);
	mw_fmt_summary_json(buf, sizeof(buf), &s, NULL);
	fprintf(e, "%s\n", buf);
	fclose(e);
	CHECK(mw_trace_close(tw) == 0);
	CHECK(strstr(exp, "\"writer_stack\":[{\"addr\":\"0x1000\",\"sym\":\"mapassign+0x0\",\"file\":\"gomap.c\","
		      "\"line\":879,\"module\":\"svc\"},"));
	CHECK(strstr(exp, "{\"addr\":\"0x7f00\",\"module\":\"libc.so.6\"}]"));

	rc = run_analyze(&out, &errs, (char *)path, "--json", NULL);
	if (rc || strcmp(out, exp))
		CHECK_FAIL("rc %d\nexpected:\n%s\ngot:\n%s\nstderr: %s", rc, exp, out, errs);
	free(out), free(errs);
	rc = run_analyze(&out, &errs, (char *)path, "--check", NULL);
	if (rc || !strstr(errs, "check passed"))
		CHECK_FAIL("--check: rc %d: %s", rc, errs);
	CHECK(strstr(out, "writer_loop+0x1f (mapsvc.c:212) [svc]"));
	CHECK(strstr(out, "snapshot_copy+0x2a (mapsvc.c:148) [svc]"));
	CHECK(strstr(out, "writer_loop (mapsvc.c:212) → snapshot_copy (mapsvc.c:148)"));
	free(out), free(errs), free(exp);
	mw_corr_free(c);
	mw_stacktab_free(t);
	mw_findings_free(fs);
}

TEST(stack_json_hostile)
{
	struct mw_stacktab *t = mw_stacktab_new();
	char err[256];
	struct mw_sframe f = { 0x10, "we\"ird\x01", NULL, 0, NULL };
	struct mw_rstack *s = mw_stacktab_put(t, 1, 0, &f, 1);

	CHECK(s);
	CHECK_EQ_STR(s->json, "[{\"addr\":\"0x10\",\"sym\":\"we\\\"ird\\u0001\"}]");
	/* The same text read back gives the same JSON. */
	CHECK(mw_stacktab_put_json(t, 2, 0, s->json, s->jlen, err, sizeof(err)) == 0);
	CHECK_EQ_STR(mw_stacktab_get(t, 2, 0)->json, s->json);
	CHECK(mw_stacktab_put_json(t, 3, 0, "[1]", 3, err, sizeof(err)) < 0);
	CHECK(mw_stacktab_put_json(t, 3, 0, "[{\"sym\":\"x\"}]", 13, err, sizeof(err)) < 0);
	CHECK(mw_stacktab_put_json(t, 3, 0, "[{\"addr\":\"0xzz\"}]", 17, err, sizeof(err)) < 0);
	CHECK(mw_stacktab_put_json(t, 3, 0, "[", 1, err, sizeof(err)) < 0);
	CHECK(!mw_stacktab_get(t, 3, 0));
	CHECK(mw_runtime_frame(mw_runtime_find("libgomap"), "mapassign+0x10"));
	CHECK(!mw_runtime_frame(mw_runtime_find("libgomap"), "mapassignx+0x10"));
	mw_stacktab_free(t);
}

CHECK_MAIN()
