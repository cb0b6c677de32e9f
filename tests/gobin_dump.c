/* gobin_dump.c — a debugging aid for user/gobin.c, not part of mapwatch:
 * prints what the reader makes of a Go binary.
 *
 *   gobin_dump BIN                  version, settings, function count
 *   gobin_dump BIN -f NAME...       entry and end of functions
 *   gobin_dump BIN -p PC...         pc → function, file:line, inline frames
 *   gobin_dump BIN -a               every pclntab function: entry end name
 *   gobin_dump BIN -b               open time and lookup rates
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gobin.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Best of 5 opens, then rates of pc, inline and name lookups at random. */
static int bench(const char *path, struct mw_gobin *g)
{
	double best = 1e9;
	size_t n = mw_gobin_nfuncs(g);
	uint64_t lo, hi, sink = 0;
	unsigned seed = 1;
	const int N = 1000000;
	struct mw_gobin_frame fr[8];

	for (int i = 0; i < 5; i++) {
		double t0 = now();
		struct mw_gobin *h = mw_gobin_open(path, NULL, 0);
		double t = now() - t0;
		mw_gobin_close(h);
		if (t < best)
			best = t;
	}
	mw_gobin_func_at(g, 0, NULL, &lo, NULL);
	mw_gobin_func_at(g, n - 1, NULL, NULL, &hi);
	unsigned long inl = 0;
	double t0 = now();
	for (int i = 0; i < N; i++) {
		const char *f, *file;
		int line;
		seed = seed * 1103515245u + 12345u;
		if (!mw_gobin_pc(g, lo + ((uint64_t)seed * 2654435761u) % (hi - lo), &f, NULL, &file,
				 &line))
			sink += (uint64_t)line;
	}
	double t_pc = now() - t0;
	t0 = now();
	for (int i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		inl += mw_gobin_pc_inline(g, lo + ((uint64_t)seed * 2654435761u) % (hi - lo), fr, 8) > 1;
	}
	double t_inl = now() - t0;
	t0 = now();
	for (int i = 0; i < N; i++) {
		const char *name;
		uint64_t e;
		mw_gobin_func_at(g, (size_t)i % n, &name, NULL, NULL);
		sink += mw_gobin_func(g, name, &e, NULL) == 0;
	}
	double t_name = now() - t0;
	printf("%s: %zu funcs, open %.1f ms, %.2fM pc/s, %.2fM inline pc/s (%.0f%% in inlined code), "
	       "%.2fM names/s (%llu)\n", path, n, best * 1e3, N / t_pc / 1e6, N / t_inl / 1e6,
	       100.0 * (double)inl / N, N / t_name / 1e6, (unsigned long long)(sink & 1));
	return 0;
}

int main(int argc, char **argv)
{
	char err[256];
	struct mw_gobin *g;
	int maj = 0, min = 0, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: gobin_dump BIN [-f NAME... | -p PC... | -a | -b]\n");
		return 2;
	}
	g = mw_gobin_open(argv[1], err, sizeof(err));
	if (!g) {
		fprintf(stderr, "gobin_dump: %s: %s\n", argv[1], err);
		return 1;
	}
	if (argc == 2) {
		mw_gobin_goversion(g, &maj, &min);
		printf("version  %s (%d.%d)\npath     %s\nstripped %d\npie      %d\nfuncs    %zu\n",
		       mw_gobin_version(g), maj, min, mw_gobin_path(g) ? mw_gobin_path(g) : "-",
		       mw_gobin_stripped(g), mw_gobin_pie(g), mw_gobin_nfuncs(g));
		static const char *keys[] = { "-buildmode", "-compiler", "-ldflags", "CGO_ENABLED",
					      "GOARCH", "GOOS", "GOAMD64", "GOEXPERIMENT" };
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			const char *v = mw_gobin_setting(g, keys[i]);
			if (v)
				printf("build    %s=%s\n", keys[i], v);
		}
	} else if (!strcmp(argv[2], "-f")) {
		for (int i = 3; i < argc; i++) {
			uint64_t en, end;
			if (mw_gobin_func(g, argv[i], &en, &end)) {
				printf("%s: not found\n", argv[i]);
				rc = 1;
			} else {
				printf("%#" PRIx64 " %#" PRIx64 " %s\n", en, end, argv[i]);
			}
		}
	} else if (!strcmp(argv[2], "-p")) {
		for (int i = 3; i < argc; i++) {
			uint64_t pc = strtoull(argv[i], NULL, 0), en;
			const char *fn, *file;
			int line;
			struct mw_gobin_frame fr[16];
			if (mw_gobin_pc(g, pc, &fn, &en, &file, &line)) {
				printf("%#" PRIx64 ": not found\n", pc);
				rc = 1;
				continue;
			}
			printf("%#" PRIx64 " %s+%#" PRIx64 " %s:%d\n", pc, fn, pc - en,
			       file ? file : "?", line);
			int n = mw_gobin_pc_inline(g, pc, fr, 16);
			for (int k = 0; k < n && k < 16; k++)
				printf("    %s %s:%d%s\n", fr[k].func, fr[k].file ? fr[k].file : "?",
				       fr[k].line, fr[k].inlined ? " (inlined)" : "");
		}
	} else if (!strcmp(argv[2], "-b")) {
		rc = bench(argv[1], g);
	} else if (!strcmp(argv[2], "-a")) {
		for (size_t i = 0; i < mw_gobin_nfuncs(g); i++) {
			const char *fn;
			uint64_t en, end;
			if (!mw_gobin_func_at(g, i, &fn, &en, &end))
				printf("%#" PRIx64 " %#" PRIx64 " %s\n", en, end, fn);
		}
	}
	mw_gobin_close(g);
	return rc;
}
