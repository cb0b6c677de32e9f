/* test_gobin.c — the Go binary reader against real Go binaries: the
 * tests/go/gobinfix fixture as every installed toolchain builds it (plain,
 * stripped, PIE and Go 1.24 noswissmap, by mk/go.mk; cgo and lld builds are
 * checked too when present),
 * then corrupted, truncated and randomly damaged copies of one, and a rate
 * check on pc lookups.
 *
 * Fixtures are looked up as build/go/<ver>/gobinfix* under $MW_GO_FIXTURES,
 * the current directory or the build tree this binary sits in; none found
 * is a failure, not a skip. Expected answers come from elsewhere than the
 * reader: the toolchain's version (build/go/<ver>/GOVERSION), the .symtab
 * of the unstripped builds, the call instructions in the machine code, and
 * the lines of the fixture source that carry a "MARK: <name>" comment.
 *
 *   test_gobin [TEST] | test_gobin GO-BINARY...
 * Binaries named on the command line (or in $MW_GOBIN_FILES, ':'-separated)
 * get the checks that need no knowledge of their source.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "gobin.h"

#define MAX_FIX 512

struct fixture {
	char path[PATH_MAX];
	char ver[32];		/* the directory: "1.23" */
	char variant[64];	/* "" (plain), "stripped", "pie", "cgo", "lldpie-stripped"... */
	char goversion[64];	/* the toolchain's GOVERSION, or "" */
};

static struct fixture fx[MAX_FIX];
static int nfx = -1;
static char src_path[PATH_MAX];
static const char *extra[64];
static int nextra;
static const char *cur;		/* the binary being checked, for messages */

#define CHECKX(cond) do { if (!(cond)) CHECK_FAIL("%s: check failed: %s", cur, #cond); } while (0)

static const char *base(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;
	return b ? b + 1 : p;
}

static void exe_dir(char *out, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", out, len - 1);
	out[n > 0 ? n : 0] = 0;
	char *s = strrchr(out, '/');
	if (s)
		*s = 0;
}

static void read_line_file(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	out[0] = 0;
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

static int cmp_fix(const void *a, const void *b)
{
	return strcmp(((const struct fixture *)a)->path, ((const struct fixture *)b)->path);
}

/* Finds the fixtures and the fixture source once. */
static void load_fixtures(void)
{
	char dir[PATH_MAX], roots[3][PATH_MAX];
	int nroots = 0;

	if (nfx >= 0)
		return;
	nfx = 0;
	exe_dir(dir, sizeof(dir));
	if (getenv("MW_GO_FIXTURES"))
		snprintf(roots[nroots++], sizeof(roots[0]), "%.4000s", getenv("MW_GO_FIXTURES"));
	snprintf(roots[nroots++], sizeof(roots[0]), "build/go");
	snprintf(roots[nroots++], sizeof(roots[0]), "%.4000s/../../go", dir);	/* build/asan/tests */
	for (int r = 0; r < nroots && !nfx; r++) {
		char pat[PATH_MAX + 64];
		glob_t gl;
		snprintf(pat, sizeof(pat), "%.4000s/*/gobinfix*", roots[r]);
		if (glob(pat, 0, NULL, &gl))
			continue;
		for (size_t i = 0; i < gl.gl_pathc && nfx < MAX_FIX; i++) {
			struct fixture *f = &fx[nfx];
			const char *p = gl.gl_pathv[i], *name = base(p);
			struct stat st;
			if (stat(p, &st) || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
				continue;
			snprintf(f->path, sizeof(f->path), "%s", p);
			snprintf(f->variant, sizeof(f->variant), "%s",
				 name[8] == '-' ? name + 9 : name + 8);
			/* the version directory */
			char d[PATH_MAX];
			snprintf(d, sizeof(d), "%s", p);
			*strrchr(d, '/') = 0;
			snprintf(f->ver, sizeof(f->ver), "%.31s", base(d));
			char gv[PATH_MAX + 16];
			snprintf(gv, sizeof(gv), "%s/GOVERSION", d);
			read_line_file(gv, f->goversion, sizeof(f->goversion));
			nfx++;
		}
		globfree(&gl);
	}
	qsort(fx, (size_t)nfx, sizeof(fx[0]), cmp_fix);

	const char *srcs[] = { "tests/go/gobinfix/main.go", "../../../tests/go/gobinfix/main.go" };
	for (int i = 0; i < 2 && !src_path[0]; i++) {
		char p[PATH_MAX + 64];
		snprintf(p, sizeof(p), i ? "%.4000s/%s" : "%.0s%s", dir, srcs[i]);
		if (!access(p, R_OK))
			snprintf(src_path, sizeof(src_path), "%.4000s", p);
	}
}

/* The line of the fixture source that carries "MARK: name", or 0. */
static int mark_line(const char *name)
{
	char line[512], want[128];
	int n = 0, found = 0;
	FILE *f = fopen(src_path, "r");

	if (!f)
		return 0;
	snprintf(want, sizeof(want), "// MARK: %s", name);
	while (fgets(line, sizeof(line), f)) {
		n++;
		char *m = strstr(line, want);
		if (m && (m[strlen(want)] == '\n' || m[strlen(want)] == 0)) {
			found = n;
			break;
		}
	}
	fclose(f);
	return found;
}

static struct mw_gobin *open_ok(const char *path)
{
	char err[256];
	struct mw_gobin *g = mw_gobin_open(path, err, sizeof(err));
	if (!g)
		CHECK_FAIL("%s: open failed: %s", path, err);
	return g;
}

/* Whether the binary's maps are Go 1.24's Swiss tables. */
static bool swiss(const struct mw_gobin *g)
{
	int maj, min;
	const char *exp = mw_gobin_setting(g, "GOEXPERIMENT");
	if (mw_gobin_goversion(g, &maj, &min))
		return false;
	if (maj == 1 && min >= 24)
		return !(exp && strstr(exp, "noswissmap"));
	return exp && strstr(exp, "swissmap") && !strstr(exp, "noswissmap");
}

static bool variant_has(const struct fixture *f, const char *word)
{
	return strstr(f->variant, word) != NULL;
}

static const struct fixture *find_fixture(const char *ver, const char *variant)
{
	for (int i = 0; i < nfx; i++)
		if (!strcmp(fx[i].ver, ver) && !strcmp(fx[i].variant, variant))
			return &fx[i];
	return NULL;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The addresses of the `call rel32` instructions in [entry, end) that call
 * target, found in the machine code. */
static int find_calls(const struct mw_gobin *g, uint64_t entry, uint64_t end, uint64_t target,
		      uint64_t *out, int max)
{
	uint8_t code[16384];
	size_t len = end - entry < sizeof(code) ? (size_t)(end - entry) : sizeof(code);
	size_t n = mw_gobin_read(g, entry, code, len);
	int k = 0;

	for (size_t i = 0; i + 5 <= n && k < max; i++) {
		if (code[i] != 0xe8)
			continue;
		uint64_t to = entry + i + 5 + (uint64_t)(int64_t)(int32_t)rd32(code + i + 1);
		if (to == target)
			out[k++] = entry + i;
	}
	return k;
}

/* ---- the fixtures ----------------------------------------------------------- */

TEST(fixtures_present)
{
	load_fixtures();
	if (!nfx)
		CHECK_FAIL("no Go fixtures (build/go/<ver>/gobinfix*): run make go");
	CHECK(src_path[0]);
	int versions = 0;
	for (int i = 0; i < nfx; i++) {
		if (fx[i].variant[0])
			continue;
		versions++;
		cur = fx[i].path;
		/* Every version has the three variants every build rule makes
		 * (1.24-noswiss, a GOEXPERIMENT build, is built plain only). */
		if (strstr(fx[i].ver, "noswiss"))
			continue;
		CHECKX(find_fixture(fx[i].ver, "stripped"));
		CHECKX(find_fixture(fx[i].ver, "pie"));
	}
	CHECK(versions > 0);
	printf("  %d fixtures, %d Go versions\n", nfx, versions);
}

/* v is the version want names: "go1.23.5" for "go1.23", not for "go1.2". */
static bool version_prefix(const char *v, const char *want)
{
	size_t l = strlen(want);
	return !strncmp(v, want, l) && (v[l] == 0 || v[l] == '.' || v[l] == ' ' || v[l] == '-' ||
					 v[l] == 'r');
}

TEST(version_and_settings)
{
	load_fixtures();
	CHECK(nfx > 0);
	for (int i = 0; i < nfx; i++) {
		const struct fixture *f = &fx[i];
		struct mw_gobin *g = open_ok(f->path);
		const char *v = mw_gobin_version(g);
		char want[64];
		int maj = 0, min = 0;

		cur = f->path;
		CHECKX(v && !strncmp(v, "go", 2));
		/* The toolchain's version, then at most " X:experiments". */
		if (f->goversion[0]) {
			size_t l = strlen(f->goversion);
			CHECKX(!strncmp(v, f->goversion, l) && (v[l] == 0 || v[l] == ' '));
		}
		/* The directory names the version too: "1.23" (or "go1.23.5"). */
		snprintf(want, sizeof(want), "go%.*s", (int)strcspn(f->ver + (strncmp(f->ver, "go", 2) ? 0 : 2), "-"),
			 f->ver + (strncmp(f->ver, "go", 2) ? 0 : 2));
		CHECKX(version_prefix(v, want));
		if (strstr(f->ver, "noswiss"))
			CHECKX(strstr(v, "X:noswissmap") != NULL);
		CHECKX(mw_gobin_goversion(g, &maj, &min) == 0);
		snprintf(want, sizeof(want), "go%d.%d", maj, min);
		CHECKX(version_prefix(v, want));

		/* Build settings, as `go version -m` lists them. */
		const char *cgo = mw_gobin_setting(g, "CGO_ENABLED");
		CHECKX(cgo && !strcmp(cgo, variant_has(f, "cgo") || variant_has(f, "lld") ? "1" : "0"));
		CHECKX(mw_gobin_setting(g, "GOOS") && !strcmp(mw_gobin_setting(g, "GOOS"), "linux"));
		CHECKX(mw_gobin_setting(g, "GOARCH"));
		CHECKX(!mw_gobin_setting(g, "NO_SUCH_KEY"));
		CHECKX(!mw_gobin_setting(g, "GOO"));	/* whole keys only */
		const char *bm = mw_gobin_setting(g, "-buildmode");
		if (bm)	/* recorded since Go 1.20 */
			CHECKX(!strcmp(bm, variant_has(f, "pie") ? "pie" : "exe"));
		else
			CHECKX(maj == 1 && min < 20);
		const char *ld = mw_gobin_setting(g, "-ldflags");
		if (variant_has(f, "stripped"))
			CHECKX(ld && strstr(ld, "-s -w"));	/* unquoted from "-s -w" */
		const char *exp = mw_gobin_setting(g, "GOEXPERIMENT");
		if (!strcmp(f->variant, "noswiss"))
			CHECKX(exp && !strcmp(exp, "noswissmap") && strstr(v, " X:noswissmap"));
		CHECKX(mw_gobin_path(g) && strstr(mw_gobin_path(g), "gobinfix"));

		CHECKX(mw_gobin_pie(g) == variant_has(f, "pie"));
		CHECKX(mw_gobin_stripped(g) == variant_has(f, "stripped"));
		CHECKX(mw_gobin_nfuncs(g) > 1000);
		mw_gobin_close(g);
	}
}

/* The functions mapwatch probes, by the map implementation the binary has. */
static const char *classic_funcs[] = { "runtime.mapassign_fast64", "runtime.mapiterinit",
	"runtime.mapiternext", "runtime.hashGrow", "main.main", "main.fill", "main.fillInline",
	"main.sum", NULL };
static const char *swiss_funcs[] = { "runtime.mapassign_fast64", "runtime.mapIterStart",
	"runtime.mapIterNext", "main.main", "main.fill", "main.fillInline", "main.sum", NULL };

TEST(functions_found_and_agree)
{
	load_fixtures();
	CHECK(nfx > 0);
	for (int i = 0; i < nfx; i++) {
		const struct fixture *f = &fx[i];
		struct mw_gobin *g = open_ok(f->path);
		const char **names = swiss(g) ? swiss_funcs : classic_funcs;

		cur = f->path;
		for (int k = 0; names[k]; k++) {
			uint64_t entry = 0, end = 0, pentry = 0, off = 0;
			const char *pname = NULL;
			uint8_t code[16];

			if (mw_gobin_func(g, names[k], &entry, &end))
				CHECK_FAIL("%s: %s not found", cur, names[k]);
			CHECKX(entry && end > entry && end - entry < 65536);
			/* The pclntab has it at the same entry, .symtab or not. */
			CHECKX(mw_gobin_pc(g, entry, &pname, &pentry, NULL, NULL) == 0);
			CHECKX(pname && !strcmp(pname, names[k]) && pentry == entry);
			CHECKX(mw_gobin_pc(g, end - 1, &pname, &pentry, NULL, NULL) == 0);
			CHECKX(!strcmp(pname, names[k]) && pentry == entry);
			/* Its code is in the file. */
			CHECKX(mw_gobin_vaddr_to_off(g, entry, &off) == 0 && off > 0);
			CHECKX(mw_gobin_read(g, entry, code, sizeof(code)) == sizeof(code));
		}
		CHECKX(mw_gobin_func(g, "runtime.no_such_function", NULL, NULL) == -ENOENT);
		CHECKX(mw_gobin_func(g, "", NULL, NULL) == -ENOENT);
		if (swiss(g))	/* the classic map's grow is gone */
			CHECKX(mw_gobin_func(g, "runtime.hashGrow", NULL, NULL) == -ENOENT);

		/* Stripping does not move code: the stripped twin (same link mode)
		 * finds every function at the same entry, from the pclntab alone. */
		char twin[96];
		snprintf(twin, sizeof(twin), "%s%sstripped", f->variant, f->variant[0] ? "-" : "");
		const struct fixture *tf = variant_has(f, "lld") ? NULL : find_fixture(f->ver, twin);
		if (tf) {
			struct mw_gobin *s = open_ok(tf->path);
			CHECKX(mw_gobin_stripped(s) && !mw_gobin_stripped(g));
			CHECKX(mw_gobin_nfuncs(s) == mw_gobin_nfuncs(g));
			for (int k = 0; names[k]; k++) {
				uint64_t e1, e2;
				CHECKX(mw_gobin_func(g, names[k], &e1, NULL) == 0);
				CHECKX(mw_gobin_func(s, names[k], &e2, NULL) == 0);
				if (e1 != e2)
					CHECK_FAIL("%s: %s at %#llx, stripped at %#llx", cur, names[k],
						   (unsigned long long)e1, (unsigned long long)e2);
			}
			/* And every other name: the stripped twin's pclntab picks,
			 * among functions sharing a name, the one .symtab names so. */
			for (size_t k = 0; k < mw_gobin_nfuncs(s); k++) {
				const char *name;
				uint64_t e1, e2;
				CHECKX(mw_gobin_func_at(s, k, &name, NULL, NULL) == 0);
				CHECKX(mw_gobin_func(s, name, &e2, NULL) == 0);
				CHECKX(mw_gobin_func(g, name, &e1, NULL) == 0);
				if (e1 != e2)
					CHECK_FAIL("%s: %s at %#llx, stripped at %#llx", cur, name,
						   (unsigned long long)e1, (unsigned long long)e2);
			}
			mw_gobin_close(s);
		}
		mw_gobin_close(g);
	}
}

/* Checks that need nothing but the binary: every pclntab function maps
 * back to itself by pc and by name, and, with a .symtab, the symbol table
 * agrees on the entries. Returns the number of functions checked. */
static size_t check_whole_table(const char *path)
{
	struct mw_gobin *g = open_ok(path);
	size_t n = mw_gobin_nfuncs(g), dups = 0;
	uint64_t prev_end = 0;

	cur = path;
	CHECKX(n > 0);
	CHECKX(mw_gobin_func_at(g, n, NULL, NULL, NULL) == -ENOENT);
	for (size_t i = 0; i < n; i++) {
		const char *name, *pname, *file;
		uint64_t entry, end, pentry, sentry, send;
		int line;

		CHECKX(mw_gobin_func_at(g, i, &name, &entry, &end) == 0);
		CHECKX(name && name[0] && entry <= end && entry >= prev_end);
		prev_end = end;
		if (entry == end)
			continue;
		CHECKX(mw_gobin_pc(g, entry, &pname, &pentry, &file, &line) == 0);
		CHECKX(pentry == entry && !strcmp(pname, name));
		CHECKX(mw_gobin_pc(g, end - 1, &pname, &pentry, NULL, NULL) == 0);
		CHECKX(pentry == entry);
		/* By name: .symtab first, so with symbols this compares the two.
		 * A name may belong to two functions (an assembly function and
		 * its ABI wrapper); then the other one must carry it too. */
		CHECKX(mw_gobin_func(g, name, &sentry, &send) == 0);
		if (sentry != entry) {
			dups++;
			CHECKX(mw_gobin_pc(g, sentry, &pname, &pentry, NULL, NULL) == 0);
			if (strcmp(pname, name) || pentry != sentry)
				CHECK_FAIL("%s: %s: pclntab entry %#llx, by name %#llx (%s)", cur, name,
					   (unsigned long long)entry, (unsigned long long)sentry, pname);
		}
	}
	/* Shared names are the exception (ABI wrappers: about 5%). */
	CHECKX(dups * 100 < n * 10);
	uint64_t first, last;
	CHECKX(mw_gobin_func_at(g, 0, NULL, &first, NULL) == 0);
	CHECKX(mw_gobin_func_at(g, n - 1, NULL, NULL, &last) == 0);
	CHECKX(mw_gobin_pc(g, last, NULL, NULL, NULL, NULL) != 0 || !mw_gobin_stripped(g));
	CHECKX(mw_gobin_pc(g, 0, NULL, NULL, NULL, NULL) == -ENOENT);
	CHECKX(mw_gobin_pc(g, UINT64_MAX, NULL, NULL, NULL, NULL) == -ENOENT);
	mw_gobin_close(g);
	return n;
}

TEST(every_function_round_trips)
{
	size_t total = 0;

	load_fixtures();
	CHECK(nfx > 0 || nextra > 0);
	for (int i = 0; i < nfx; i++)
		total += check_whole_table(fx[i].path);
	for (int i = 0; i < nextra; i++)
		total += check_whole_table(extra[i]);
	printf("  %zu functions in %d binaries\n", total, nfx + nextra);
}

/* Every call from fn to callee resolves, as the call and as the return
 * address minus one, to fn and the marked line. Returns the calls found. */
static int check_calls(const struct mw_gobin *g, const char *fn, const char *callee,
		       int line, uint64_t *calls, int max)
{
	uint64_t entry, end, target;
	const char *name, *file;
	uint64_t pentry;
	int n, l;

	CHECKX(mw_gobin_func(g, fn, &entry, &end) == 0);
	CHECKX(mw_gobin_func(g, callee, &target, NULL) == 0);
	n = find_calls(g, entry, end, target, calls, max);
	if (n < 1)
		CHECK_FAIL("%s: no call to %s in %s", cur, callee, fn);
	for (int k = 0; k < n; k++) {
		uint64_t pcs[2] = { calls[k], calls[k] + 5 - 1 };
		for (int j = 0; j < 2; j++) {
			CHECKX(mw_gobin_pc(g, pcs[j], &name, &pentry, &file, &l) == 0);
			CHECKX(!strcmp(name, fn) && pentry == entry);
			CHECKX(file && !strcmp(base(file), "main.go") && strstr(file, "gobinfix"));
			if (l != line)
				CHECK_FAIL("%s: call to %s at %#llx: line %d, marked %d", cur, callee,
					   (unsigned long long)pcs[j], l, line);
		}
	}
	return n;
}

TEST(call_sites_resolve_to_marked_lines)
{
	int fill = mark_line("fill-assign"), put = mark_line("put-assign");
	int range = mark_line("sum-range");
	uint64_t calls[8];

	load_fixtures();
	CHECK(nfx > 0);
	CHECK(fill > 0 && put > 0 && range > 0);
	for (int i = 0; i < nfx; i++) {
		struct mw_gobin *g = open_ok(fx[i].path);
		bool sw = swiss(g);
		cur = fx[i].path;
		check_calls(g, "main.fill", "runtime.mapassign_fast64", fill, calls, 8);
		/* put's write, inlined: fillInline's code, put's line. */
		check_calls(g, "main.fillInline", "runtime.mapassign_fast64", put, calls, 8);
		check_calls(g, "main.sum", sw ? "runtime.mapIterStart" : "runtime.mapiterinit",
			    range, calls, 8);
		check_calls(g, "main.sum", sw ? "runtime.mapIterNext" : "runtime.mapiternext",
			    range, calls, 8);
		mw_gobin_close(g);
	}
}

TEST(inline_frames)
{
	int fill = mark_line("fill-assign"), put = mark_line("put-assign");
	int put_call = mark_line("put-call");
	uint64_t calls[8];
	struct mw_gobin_frame fr[4];

	load_fixtures();
	CHECK(nfx > 0);
	CHECK(fill > 0 && put > 0 && put_call > 0);
	for (int i = 0; i < nfx; i++) {
		struct mw_gobin *g = open_ok(fx[i].path);
		cur = fx[i].path;

		/* The inlined write: put at its line, then fillInline at the call. */
		CHECKX(check_calls(g, "main.fillInline", "runtime.mapassign_fast64", put, calls, 8) >= 1);
		memset(fr, 0, sizeof(fr));
		int n = mw_gobin_pc_inline(g, calls[0], fr, 4);
		if (n != 2)
			CHECK_FAIL("%s: %d frames at the inlined write, want 2", cur, n);
		CHECKX(!strcmp(fr[0].func, "main.put") && fr[0].line == put && fr[0].inlined);
		CHECKX(fr[0].file && !strcmp(base(fr[0].file), "main.go"));
		CHECKX(!strcmp(fr[1].func, "main.fillInline") && fr[1].line == put_call && !fr[1].inlined);
		CHECKX(fr[1].file && !strcmp(base(fr[1].file), "main.go"));

		/* Truncation keeps the innermost frame and still counts them all. */
		memset(fr, 0, sizeof(fr));
		CHECKX(mw_gobin_pc_inline(g, calls[0], fr, 1) == 2);
		CHECKX(fr[0].func && !strcmp(fr[0].func, "main.put") && !fr[1].func);
		CHECKX(mw_gobin_pc_inline(g, calls[0], NULL, 0) == 2);

		/* Nothing inlined at fill's write: one physical frame. */
		CHECKX(check_calls(g, "main.fill", "runtime.mapassign_fast64", fill, calls, 8) >= 1);
		CHECKX(mw_gobin_pc_inline(g, calls[0], fr, 4) == 1);
		CHECKX(!strcmp(fr[0].func, "main.fill") && fr[0].line == fill && !fr[0].inlined);
		CHECKX(mw_gobin_pc_inline(g, 0, fr, 4) == -ENOENT);
		mw_gobin_close(g);
	}
}

/* ---- bad input -------------------------------------------------------------- */

static char tmpdir[PATH_MAX];

static const char *tmp_path(const char *name)
{
	static char p[PATH_MAX + 64];
	if (!tmpdir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(tmpdir, sizeof(tmpdir), "%s/test_gobin.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(tmpdir))
			CHECK_FAIL("mkdtemp: %s", strerror(errno));
	}
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	struct stat st;

	if (f && !fstat(fileno(f), &st) && (b = malloc((size_t)st.st_size + 1)) &&
	    fread(b, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
		*len = (size_t)st.st_size;
	} else {
		free(b);
		b = NULL;
	}
	if (f)
		fclose(f);
	return b;
}

static void spit(const char *path, const void *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(b, 1, len, f) != len)
		CHECK_FAIL("cannot write %s", path);
	fclose(f);
}

static size_t find_bytes(const uint8_t *b, size_t len, const void *what, size_t wl, size_t align)
{
	for (size_t i = 0; i + wl <= len; i += align)
		if (!memcmp(b + i, what, wl))
			return i;
	return SIZE_MAX;
}

/* The pclntab of a 64-bit amd64 build: magic, 0, 0, quantum 1, pointer 8. */
static size_t find_pclntab(const uint8_t *b, size_t len)
{
	static const uint8_t m120[8] = { 0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8 };
	static const uint8_t m118[8] = { 0xf0, 0xff, 0xff, 0xff, 0, 0, 1, 8 };
	size_t o = find_bytes(b, len, m120, 8, 4);
	return o != SIZE_MAX ? o : find_bytes(b, len, m118, 8, 4);
}

/* Everything a caller might ask of an opened (possibly damaged) binary;
 * ASan and UBSan judge. */
static void exercise(struct mw_gobin *g, unsigned seed)
{
	size_t n = mw_gobin_nfuncs(g);
	uint64_t lo = 0, hi = 0;
	struct mw_gobin_frame fr[8];
	char buf[64];

	mw_gobin_func_at(g, 0, NULL, &lo, NULL);
	mw_gobin_func_at(g, n ? n - 1 : 0, NULL, NULL, &hi);
	for (size_t i = 0; i < n && i < 4000; i++) {
		const char *name;
		uint64_t e;
		if (!mw_gobin_func_at(g, i, &name, &e, NULL)) {
			mw_gobin_func(g, name, NULL, NULL);
			mw_gobin_pc_inline(g, e, fr, 8);
		}
	}
	for (int i = 0; i < 2000; i++) {
		seed = seed * 1103515245u + 12345u;
		uint64_t pc = lo + (hi > lo ? ((uint64_t)seed << 16 ^ (uint64_t)i) % (hi - lo) : 0);
		const char *f, *file;
		uint64_t e;
		int line;
		mw_gobin_pc(g, pc, &f, &e, &file, &line);
		mw_gobin_pc_inline(g, pc, fr, 8);
		mw_gobin_read(g, pc, buf, sizeof(buf));
	}
	for (int k = 0; classic_funcs[k]; k++)
		mw_gobin_func(g, classic_funcs[k], NULL, NULL);
	mw_gobin_version(g);
	mw_gobin_setting(g, "GOEXPERIMENT");
}

/* The newest stripped fixture: no .symtab to lean on. */
static const struct fixture *victim(void)
{
	load_fixtures();
	for (int i = nfx - 1; i >= 0; i--)
		if (!strcmp(fx[i].variant, "stripped"))
			return &fx[i];
	CHECK_FAIL("no stripped fixture");
}

TEST(not_go_binaries)
{
	char err[256] = "";
	const char *p;

	CHECK(!mw_gobin_open("/proc/self/exe", err, sizeof(err)));	/* C: ELF, not Go */
	CHECK(strstr(err, "no .go.buildinfo"));
	err[0] = 0;
	CHECK(!mw_gobin_open(tmp_path("no-such-file"), err, sizeof(err)));
	CHECK(strstr(err, "cannot open"));
	CHECK(!mw_gobin_open(tmpdir, err, sizeof(err)));		/* a directory */
	CHECK(err[0]);
	spit(p = tmp_path("empty"), "", 0);
	err[0] = 0;
	CHECK(!mw_gobin_open(p, err, sizeof(err)));
	CHECK(strstr(err, "not an ELF"));
	spit(p = tmp_path("text"), "#!/bin/sh\necho hi\n", 18);
	CHECK(!mw_gobin_open(p, err, sizeof(err)));
	CHECK(strstr(err, "not an ELF"));
	CHECK(!mw_gobin_open(p, NULL, 0));				/* no room for a reason */
	CHECK(!strchr(err, '\n'));
}

TEST(corrupt_headers)
{
	const struct fixture *v = victim();
	size_t len, pt, bi;
	uint8_t *orig = slurp(v->path, &len), *b;
	char err[256];
	const char *p = tmp_path("corrupt");
	uint64_t main_entry;
	struct mw_gobin *g;

	CHECK(orig);
	cur = v->path;
	b = malloc(len);
	CHECK(b);
	pt = find_pclntab(orig, len);
	bi = find_bytes(orig, len, "\xff Go buildinf:", 14, 16);
	CHECKX(pt != SIZE_MAX && bi != SIZE_MAX);
	g = open_ok(v->path);
	CHECKX(mw_gobin_func(g, "main.main", &main_entry, NULL) == 0);
	mw_gobin_close(g);

	/* Each case: offset, bytes, and whether open must fail. */
	struct { const char *what; size_t off; uint64_t val; int width; bool fails; } cases[] = {
		{ "pclntab magic", pt, 0x12345678, 4, true },
		{ "pclntab pad", pt + 4, 0x01, 1, true },
		{ "pclntab quantum", pt + 6, 3, 1, true },
		{ "pclntab ptrsize", pt + 7, 5, 1, true },
		{ "nfunc huge", pt + 8, UINT64_MAX, 8, true },
		{ "nfunc 0", pt + 8, 0, 8, true },
		{ "textStart 0", pt + 24, 0, 8, true },
		{ "funcnametab past the end", pt + 32, 1ull << 40, 8, true },
		{ "pclntable past the end", pt + 64, 1ull << 33, 8, true },
		{ "functab entry unsorted", 0, 0xffffff00, 4, true },		/* set below */
		{ "functab funcoff huge", 0, 0x7fffffff, 4, true },		/* set below */
		{ "pctab offset bogus", pt + 56, 8, 8, false },		/* garbage lines, no crash */
		{ "cutab offset bogus", pt + 40, 8, 8, false },
		{ "filetab offset bogus", pt + 48, 3, 8, false },
		{ "buildinfo magic", bi, 0, 8, true },
		{ "buildinfo version length", bi + 32, 0xff, 1, true },
		{ "buildinfo in pointer format", bi + 15, 0, 1, true },	/* pointers are text */
		{ "ELF class", 4, 7, 1, true },
		{ "ELF byte order", 5, 2, 1, true },
		{ "program headers past the end", 32, 1ull << 40, 8, true },
		{ "section headers past the end", 40, 1ull << 40, 8, false },	/* found by magic */
		{ "no section headers", 60, 0, 2, false },
	};
	uint64_t pclntable = 0;
	memcpy(&pclntable, orig + pt + 64, 8);
	cases[9].off = pt + pclntable + 8 * 3;		/* functab[3].entryoff */
	cases[10].off = pt + pclntable + 8 * 5 + 4;	/* functab[5].funcoff */
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		memcpy(b, orig, len);
		CHECK(cases[c].off + (size_t)cases[c].width <= len);
		for (int k = 0; k < cases[c].width; k++)
			b[cases[c].off + (size_t)k] = (uint8_t)(cases[c].val >> (8 * k));
		spit(p, b, len);
		err[0] = 0;
		g = mw_gobin_open(p, err, sizeof(err));
		if (cases[c].fails && g)
			CHECK_FAIL("%s: opened with a bad %s", cur, cases[c].what);
		if (!cases[c].fails && !g)
			CHECK_FAIL("%s: bad %s: %s", cur, cases[c].what, err);
		if (!g) {
			CHECK(err[0] && !strchr(err, '\n'));
			printf("  %-32s %s\n", cases[c].what, err);
			continue;
		}
		exercise(g, (unsigned)c);
		/* Without section headers the magic search finds the same table. */
		if (cases[c].off == 40 || cases[c].off == 60) {
			uint64_t e;
			CHECKX(mw_gobin_func(g, "main.main", &e, NULL) == 0 && e == main_entry);
			CHECKX(mw_gobin_version(g) && !strncmp(mw_gobin_version(g), "go", 2));
		}
		printf("  %-32s opened, lookups survived\n", cases[c].what);
		mw_gobin_close(g);
	}
	free(b);
	free(orig);
	unlink(p);
}

/* Damages copies of v at random (seeded): truncations anywhere and around
 * the tables, bytes flipped in the pclntab or anywhere. Every copy must be
 * refused with a reason or survive every lookup; one cut before the end of
 * the buildinfo header must be refused. */
static void damage(const struct fixture *v, int iters, unsigned seed)
{
	size_t len, pt, bi;
	uint8_t *orig = slurp(v->path, &len), *b;
	const char *p = tmp_path("random");
	unsigned rejected = 0, opened = 0;
	char err[256];

	CHECK(orig);
	cur = v->path;
	b = malloc(len);
	CHECK(b);
	pt = find_pclntab(orig, len);
	bi = find_bytes(orig, len, "\xff Go buildinf:", 14, 16);
	CHECKX(pt != SIZE_MAX && bi != SIZE_MAX);
#define RND() (seed = seed * 1103515245u + 12345u, seed >> 8)
	for (int it = 0; it < iters; it++) {
		size_t n = len;
		memcpy(b, orig, len);
		if (it % 5 < 2) {
			/* Truncations: anywhere, and densely around the tables. */
			n = it % 3 == 0 ? RND() % len : it % 3 == 1 ? pt + RND() % 65536 : bi + RND() % 64;
			if (n > len)
				n = len;
		} else {
			/* 1–16 flipped bytes in the pclntab's first 64 KB (header,
			 * function table, first _funcs), the buildinfo, or anywhere. */
			int k = 1 + (int)(RND() % 16);
			for (int j = 0; j < k; j++) {
				size_t o = it % 4 == 0 ? RND() % len : it % 4 == 1 ? bi + RND() % 512 :
					   pt + RND() % 65536;
				if (o < len)
					b[o] ^= (uint8_t)(1 + RND() % 255);
			}
		}
		spit(p, b, n);
		struct mw_gobin *g = mw_gobin_open(p, err, sizeof(err));
		if (!g) {
			rejected++;
			CHECK(err[0]);
			continue;
		}
		if (n < bi + 32)
			CHECK_FAIL("%s: opened when cut at %zu, before the buildinfo at %zu", cur, n, bi);
		opened++;
		exercise(g, (unsigned)it);
		mw_gobin_close(g);
	}
#undef RND
	printf("  %s: %d damaged copies, %u refused, %u opened and survived lookups\n", v->path,
	       iters, rejected, opened);
	CHECK(rejected > 0 && opened > 0);
	free(b);
	free(orig);
	unlink(p);
}

/* The oldest and the newest stripped build (both pclntab formats), and an
 * lld PIE (no section: found by magic; pointers in relocations).
 * MW_GOBIN_DAMAGE=N runs N copies of each instead of 150. */
TEST(random_truncations_and_flips)
{
	const char *e = getenv("MW_GOBIN_DAMAGE");
	int iters = e && atoi(e) > 0 ? atoi(e) : 150, done = 0;
	const struct fixture *lld = NULL;

	load_fixtures();
	CHECK(nfx > 0);
	for (int i = 0; i < nfx && !lld; i++)
		if (!strcmp(fx[i].variant, "lldpie-stripped"))
			lld = &fx[i];
	for (int i = 0; i < nfx; i++) {
		if (!strcmp(fx[i].variant, "stripped")) {
			damage(&fx[i], iters, 20240601u + (unsigned)i);
			done++;
			break;
		}
	}
	damage(victim(), iters, 7);
	if (lld)
		damage(lld, iters, 11);
	CHECK(done);
}

/* The buildinfo of Go before 1.18: the header points at two Go string
 * headers instead of holding the strings. Rewrites a fixture's buildinfo
 * that way, in place: header, then the string headers, then the strings. */
TEST(buildinfo_pointer_format)
{
	const struct fixture *v = victim();
	size_t len, bi;
	uint8_t *b = slurp(v->path, &len);
	const char *p = tmp_path("oldbuildinfo");
	uint64_t bi_va = 0;

	CHECK(b);
	cur = v->path;
	bi = find_bytes(b, len, "\xff Go buildinf:", 14, 16);
	CHECKX(bi != SIZE_MAX && len > 64);
	/* The buildinfo's vaddr, through the PT_LOAD that holds it. */
	uint64_t phoff;
	uint16_t phentsize, phnum;
	memcpy(&phoff, b + 32, 8);
	memcpy(&phentsize, b + 54, 2);
	memcpy(&phnum, b + 56, 2);
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = b + phoff + (uint64_t)i * phentsize;
		uint64_t off, va, fsz;
		CHECKX(ph + 56 <= b + len);
		memcpy(&off, ph + 8, 8);
		memcpy(&va, ph + 16, 8);
		memcpy(&fsz, ph + 32, 8);
		if (rd32(ph) == 1 /* PT_LOAD */ && bi >= off && bi - off < fsz)
			bi_va = va + (bi - off);
	}
	CHECKX(bi_va);

	static const char ver[] = "go1.17.13";
	static const char mod[] = "0123456789abcdef" "path\tcmd/old\nbuild\tGOOS=linux\n"
				  "build\t\"-ldflags\"=\"-s -w\"\n" "fedcba9876543210";
	uint8_t *h = b + bi;
	uint64_t w[6] = {
		bi_va + 32, bi_va + 48,				/* -> string headers */
		bi_va + 64, sizeof(ver) - 1,			/* version {ptr, len} */
		bi_va + 64 + sizeof(ver) - 1, sizeof(mod) - 1,	/* modinfo {ptr, len} */
	};
	CHECKX(bi + 64 + sizeof(ver) + sizeof(mod) < len);
	h[14] = 8;	/* pointer size */
	h[15] = 0;	/* little endian, pointers */
	memcpy(h + 16, &w[0], 16);
	memcpy(h + 32, &w[2], 32);
	memcpy(h + 64, ver, sizeof(ver) - 1);
	memcpy(h + 64 + sizeof(ver) - 1, mod, sizeof(mod) - 1);
	spit(p, b, len);

	struct mw_gobin *g = open_ok(p);
	int maj, min;
	CHECKX(!strcmp(mw_gobin_version(g), ver));
	CHECKX(mw_gobin_goversion(g, &maj, &min) == 0 && maj == 1 && min == 17);
	CHECKX(mw_gobin_path(g) && !strcmp(mw_gobin_path(g), "cmd/old"));
	CHECKX(mw_gobin_setting(g, "GOOS") && !strcmp(mw_gobin_setting(g, "GOOS"), "linux"));
	CHECKX(mw_gobin_setting(g, "-ldflags") && !strcmp(mw_gobin_setting(g, "-ldflags"), "-s -w"));
	CHECKX(!mw_gobin_setting(g, "CGO_ENABLED"));
	mw_gobin_close(g);

	/* A string header pointing outside the file: refused. */
	w[2] = 1ull << 50;
	memcpy(h + 32, &w[2], 8);
	spit(p, b, len);
	char err[256];
	CHECKX(!mw_gobin_open(p, err, sizeof(err)) && strstr(err, "buildinfo"));
	free(b);
	unlink(p);
}

/* ---- speed ------------------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(lookup_rate)
{
	const char *big = NULL;
	off_t best = 0;
	struct stat st;

	load_fixtures();
	CHECK(nfx > 0);
	for (int i = 0; i < nfx; i++)
		if (!stat(fx[i].path, &st) && st.st_size > best) {
			best = st.st_size;
			big = fx[i].path;
		}
	cur = big;
	double t0 = now();
	struct mw_gobin *g = open_ok(big);
	double t_open = now() - t0;
	size_t n = mw_gobin_nfuncs(g);
	uint64_t lo, hi, sum = 0;
	CHECKX(mw_gobin_func_at(g, 0, NULL, &lo, NULL) == 0);
	CHECKX(mw_gobin_func_at(g, n - 1, NULL, NULL, &hi) == 0);

	const int N = 200000;
	unsigned seed = 1;
	t0 = now();
	for (int i = 0; i < N; i++) {
		const char *f, *file;
		int line;
		seed = seed * 1103515245u + 12345u;
		uint64_t pc = lo + ((uint64_t)seed * 2654435761u) % (hi - lo);
		if (!mw_gobin_pc(g, pc, &f, NULL, &file, &line))
			sum += (uint64_t)line;
	}
	double t_pc = now() - t0;
	t0 = now();
	for (int i = 0; i < N; i++) {
		const char *name;
		uint64_t e;
		mw_gobin_func_at(g, (size_t)i % n, &name, NULL, NULL);
		sum += mw_gobin_func(g, name, &e, NULL) == 0;
	}
	double t_name = now() - t0;
	printf("  %s (%lld bytes, %zu funcs): open %.2f ms, %.0f pc lookups/s, %.0f name lookups/s\n",
	       big, (long long)best, n, t_open * 1e3, N / t_pc, N / t_name);
	CHECKX(sum > 0);
	/* Sanitized build: a binary search each is ~1–2 µs; an O(n) scan is not. */
	CHECKX(N / t_pc > 20000 && N / t_name > 20000);
	mw_gobin_close(g);
}

static void remove_tmpdir(void)
{
	char cmd[PATH_MAX + 16];

	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			fprintf(stderr, "test_gobin: could not remove %s\n", tmpdir);
	}
}

int main(int argc, char **argv)
{
	/* Binaries to check, from the command line or the environment. */
	char *env = getenv("MW_GOBIN_FILES") ? strdup(getenv("MW_GOBIN_FILES")) : NULL;
	for (char *s = env ? strtok(env, ":") : NULL; s && nextra < 64; s = strtok(NULL, ":"))
		extra[nextra++] = s;
	if (argc > 1 && !access(argv[1], F_OK)) {
		for (int i = 1; i < argc && nextra < 64; i++)
			extra[nextra++] = argv[i];
		argc = 1;
	}
	atexit(remove_tmpdir);
	int rc = check_main(argc, argv);
	free(env);
	return rc;
}
