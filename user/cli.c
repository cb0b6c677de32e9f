/* cli.c — mapwatch's command line: options, help, parsing (cli.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#ifndef MW_VERSION
#define MW_VERSION "0.0.0"
#endif

static const char doc[] =
"mapwatch: watch a process's maps for iterate/write/grow races, through eBPF uprobes:\n"
"unmodified Go programs (Go 1.19, 1.21-1.23; stripped or not) and libgomap.\n"
"\n"
"USAGE: mapwatch [-p PID] [-d SEC] [--plain|--json] [-o TRACE] [--perfetto FILE]\n"
"                [--fail-on-race] [-v] [-- CMD [ARGS...]]\n"
"       mapwatch --all [--include GLOB] [--exclude GLOB] [--cgroup PREFIX]\n"
"                [--metrics ADDR:PORT] [--plain|--json] [--exact|--budget PCT] [-d SEC]\n"
"       mapwatch analyze TRACE [--json] ...\n"
"\n"
"EXAMPLES:\n"
"    mapwatch -p 181                  # live view of pid 181's maps\n"
"    mapwatch -p 181 -d 10 --plain    # one line per race for 10 s, then a summary\n"
"    mapwatch --json -- ./svc --mode unsafe   # run ./svc under watch, JSON lines\n"
"    mapwatch --fail-on-race -- make check    # CI: exit 3 when a race was seen\n"
"    mapwatch -p 181 -o run.trace     # also record every map operation\n"
"    mapwatch -p 181 --perfetto run.pftrace   # timeline for ui.perfetto.dev\n"
"    mapwatch analyze run.trace --json        # replay a recorded trace offline\n"
"\n"
"OPTIONS:\n"
"  -p, --pid PID         trace this running process\n"
"      --all             host-wide: every process running a supported runtime,\n"
"                        those running now and those started later (containers\n"
"                        too), one attachment per binary; the host view on a\n"
"                        terminal, else plain or JSON lines;\n"
"                        sampled by default (--exact: every write), the budget\n"
"                        per process: each binary's windows earn budget × the\n"
"                        summed CPU time of its watched processes\n"
"      --include GLOB    --all: only binaries whose path or file name matches\n"
"                        (repeatable)\n"
"      --exclude GLOB    --all: never binaries whose path or name matches; a\n"
"                        binary with the xattr user.mapwatch.ignore is skipped too\n"
"      --cgroup PREFIX   --all: only processes whose cgroup path starts so\n"
"  -d, --duration SEC    stop after SEC seconds (more than 0, at most 1e9)\n"
"      --plain           each distinct race once, when first seen, with both\n"
"                        stacks; its count in the findings and a summary at the\n"
"                        end (default when stdout is not a terminal)\n"
"      --every           a line for every occurrence (--plain: not only each\n"
"                        race's first; repeats are then not counted in the kernel)\n"
"      --json            JSON lines: alerts, a stats record every second, and\n"
"                        the summary as the last line\n"
"  -o, --output FILE     record a trace (every probe hit) to FILE\n"
"      --force           overwrite FILE if it exists\n"
"      --perfetto FILE   write a Perfetto timeline to FILE\n"
"      --fail-on-race    exit 3 when any race was flagged\n"
"      --no-stacks       do not capture the threads' user stacks\n"
"      --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics\n"
"                        (127.0.0.1:9464, [::1]:9464, or :9464 for every interface)\n"
"      --metrics-linger SEC  keep serving SEC seconds after the run ends\n"
"      --sampled         bound the probes' cost: writes (and Go's iteration ends,\n"
"                        lookups) are watched in windows only, sized to a CPU\n"
"                        budget; a race outside the windows is missed, never\n"
"                        invented (the summary gives the fraction watched)\n"
"      --budget PCT      with it: the budget, in percent of the CPU time the\n"
"                        target uses (0 < PCT <= 100; default 2); implies --sampled\n"
"      --exact           watch every write (the default but with --all;\n"
"                        overrides --sampled)\n"
"      --reads           also watch lookups: a read during another goroutine's\n"
"                        write is a read-write race (lookups are the hottest map\n"
"                        operation: this costs a probe hit per read)\n"
"      --toolchain       with -- CMD: watch the Go toolchain's own programs too\n"
"                        (go, compile, link, ...; skipped by default)\n"
"      --ascii           live view without UTF-8 line drawing\n"
"      --frames N        live view: quit after N refreshes\n"
"  -v, --verbose         libbpf messages and where each probe landed\n"
"  -h, --help            this help\n"
"      --version         print the version\n"
"\n"
"Exit status: the traced command's status (128+N when killed by signal N),\n"
"0 with -p; 3 with --fail-on-race when a race was flagged; 1 on errors (not\n"
"root, no such process, runtime symbols not found, BPF load or attach\n"
"failure, a trace that could not be written in full: this one wins over the\n"
"others); 2 on usage errors (an unknown option, a bad or missing value).\n"
"Environment: NO_COLOR disables colour in the live view.\n";

enum {
	OPT_PLAIN = 256, OPT_JSON, OPT_FORCE, OPT_PERFETTO, OPT_FAIL, OPT_ASCII, OPT_FRAMES,
	OPT_VERSION, OPT_READS, OPT_TOOLCHAIN, OPT_EVERY, OPT_NO_STACKS,
	OPT_METRICS = 320, OPT_METRICS_LINGER,
	OPT_SAMPLED = 330, OPT_BUDGET, OPT_EXACT,
	OPT_ALL = 340, OPT_INCLUDE, OPT_EXCLUDE, OPT_CGROUP,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "duration", required_argument, NULL, 'd' },
	{ "output", required_argument, NULL, 'o' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "plain", no_argument, NULL, OPT_PLAIN },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "perfetto", required_argument, NULL, OPT_PERFETTO },
	{ "fail-on-race", no_argument, NULL, OPT_FAIL },
	{ "ascii", no_argument, NULL, OPT_ASCII },
	{ "frames", required_argument, NULL, OPT_FRAMES },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "reads", no_argument, NULL, OPT_READS },
	{ "toolchain", no_argument, NULL, OPT_TOOLCHAIN },
	{ "every", no_argument, NULL, OPT_EVERY },
	{ "no-stacks", no_argument, NULL, OPT_NO_STACKS },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "metrics-linger", required_argument, NULL, OPT_METRICS_LINGER },
	{ "sampled", no_argument, NULL, OPT_SAMPLED },
	{ "budget", required_argument, NULL, OPT_BUDGET },
	{ "exact", no_argument, NULL, OPT_EXACT },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "include", required_argument, NULL, OPT_INCLUDE },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ 0 },
};

#define MW_MAX_DURATION 1e9	/* seconds (~31 years): keeps SEC * 1e9 ns in 64 bits */

__attribute__((format(printf, 1, 2), noreturn)) static void usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mapwatch: %s\n", msg);
	exit(MW_EXIT_USAGE);
}

/* -p: a whole number of 1..INT_MAX (strtol's long would wrap to int). */
static int parse_pid(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end)
		usage_error("invalid pid '%s': not a number", s);
	if (errno == ERANGE || v < 1 || v > INT_MAX)
		usage_error("invalid pid '%s': out of range (1 to %d)", s, INT_MAX);
	return (int)v;
}

/* -d: seconds, finite, more than 0, at most MW_MAX_DURATION. */
static double parse_duration(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end)
		usage_error("invalid duration '%s': not a number of seconds", s);
	if (errno != ERANGE && !isfinite(v))
		usage_error("invalid duration '%s': not a finite number of seconds", s);
	if (errno == ERANGE || !(v > 0) || v > MW_MAX_DURATION)
		usage_error("invalid duration '%s': out of range (more than 0, at most %.0f seconds)",
			    s, MW_MAX_DURATION);
	return v;
}

/* "--budget PCT": 0 < PCT <= 100, into a fraction. 0, or -1 when invalid. */
static int parse_budget(const char *str, double *frac)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(str, &end);
	if (end == str || *end || errno || !(v > 0) || v > 100)
		return -1;
	*frac = v / 100;
	return 0;
}

void mw_opts_parse(struct mw_opts *o, int argc, char **argv)
{
	int c;
	char *end;

	*o = (struct mw_opts){ .pid = -1, .mode = MW_OUT_AUTO, .budget = MW_BUDGET_DEFAULT };
	opterr = 0;	/* one line of our own per usage error */
	while ((c = getopt_long(argc, argv, "+:p:d:o:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->pid = parse_pid(optarg);
			break;
		case 'd':
			o->duration = parse_duration(optarg);
			break;
		case 'o': o->out = optarg; break;
		case 'v': o->verbose = 1; break;
		case 'h': fputs(doc, stdout); exit(0);
		case OPT_PLAIN: o->mode = MW_OUT_PLAIN; break;
		case OPT_JSON: o->mode = MW_OUT_JSON; break;
		case OPT_FORCE: o->force = 1; break;
		case OPT_PERFETTO: o->perfetto = optarg; break;
		case OPT_FAIL: o->fail_on_race = 1; break;
		case OPT_ASCII: o->ascii = 1; break;
		case OPT_FRAMES:
			errno = 0;
			o->frames = strtol(optarg, &end, 10);
			if (end == optarg || *end)
				usage_error("invalid frame count '%s': not a number", optarg);
			if (errno || o->frames <= 0 || o->frames > INT_MAX)
				usage_error("invalid frame count '%s': out of range (1 to %d)", optarg, INT_MAX);
			break;
		case OPT_VERSION: printf("mapwatch %s\n", MW_VERSION); exit(0);
		case OPT_READS: o->reads = 1; break;
		case OPT_TOOLCHAIN: o->toolchain = 1; break;
		case OPT_EVERY: o->every = 1; break;
		case OPT_NO_STACKS: o->no_stacks = 1; break;
		case OPT_METRICS: o->metrics = optarg; break;
		case OPT_METRICS_LINGER:
			errno = 0;
			o->metrics_linger = strtod(optarg, &end);
			if (errno || *end || !isfinite(o->metrics_linger) || o->metrics_linger < 0)
				usage_error("invalid linger time: %s", optarg);
			break;
		case OPT_SAMPLED: if (o->sampled >= 0) o->sampled = 1; break;
		case OPT_EXACT: o->sampled = -1; break;
		case OPT_BUDGET:
			if (parse_budget(optarg, &o->budget))
				usage_error("invalid budget '%s': a percentage above 0, at most 100", optarg);
			if (o->sampled >= 0)
				o->sampled = 1;
			break;
		case OPT_ALL: o->all = 1; break;
		case OPT_INCLUDE:
		case OPT_EXCLUDE:
		case OPT_CGROUP:
			if (mw_filters_add(&o->filters, c == OPT_INCLUDE ? MW_F_INCLUDE :
					   c == OPT_EXCLUDE ? MW_F_EXCLUDE : MW_F_CGROUP, optarg))
				usage_error("too many %s options (at most %d)", argv[optind - 2], MW_FILTERS);
			break;
		case ':':
			usage_error("option %s needs a value (see mapwatch --help)", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("unknown option -%c (see mapwatch --help)", optopt);
			usage_error("unknown option %s (see mapwatch --help)", argv[optind - 1]);
		}
	}
	if (o->all && !o->sampled)
		o->sampled = 1;		/* host-wide: sampled unless --exact */
	o->sampled = o->sampled > 0;	/* --exact wins */
	if (optind < argc)
		o->cmd = &argv[optind];
	if (o->all && (o->pid > 0 || o->cmd))
		usage_error("--all watches every process: give no -p PID or command with it");
	if (!o->all && (o->filters.n[MW_F_INCLUDE] || o->filters.n[MW_F_EXCLUDE] || o->filters.n[MW_F_CGROUP]))
		usage_error("--include, --exclude and --cgroup filter --all");
	if (o->all)
		return;
	if (o->pid > 0 && o->cmd)
		usage_error("give either -p PID or a command, not both");
	if (o->pid <= 0 && !o->cmd)
		usage_error("nothing to trace: give -p PID or -- CMD [ARGS...] (see mapwatch --help)");
}
