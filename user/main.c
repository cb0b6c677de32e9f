/* main.c — mapwatch's command line, the live loop and the headless outputs.
 *
 *   mapwatch [options] -p PID          attach to a running process
 *   mapwatch [options] -- CMD [ARGS]   run CMD with probes attached before it starts
 *   mapwatch analyze TRACE …           offline analysis (user/analyze.c)
 *
 * The loop: consume the ring buffer about every millisecond (bounded per
 * call), feed every record to the correlator and the sinks (live view, plain
 * or JSON lines, trace file, Perfetto), and once a second synthesize a STATS
 * record from BPF's counters and sample every map's header for rates.
 * The pieces other files provide (live view, analyze, trace, Perfetto) are
 * referenced weakly so that the tool still runs headless without them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "mapwatch.h"
#include "correlator.h"
#include "layout.h"
#include "loader.h"
#include "metrics.h"
#include "probe_elf.h"
#include "stacks.h"
#include "stacktab.h"
#include "tui.h"
#include "agent.h"
#include "caps.h"
#include "live.h"
#include "procinfo.h"

#if __has_include("trace.h")
#include "trace.h"
#define HAVE_TRACE 1
#pragma weak mw_trace_create
#pragma weak mw_trace_record
#pragma weak mw_trace_alert
#pragma weak mw_trace_summary
#pragma weak mw_trace_flush
#pragma weak mw_trace_close
#pragma weak mw_trace_line
#pragma weak mw_trace_on_error
#pragma weak mw_trace_error
#else
#define HAVE_TRACE 0
struct mw_trace_writer;
#endif
#if __has_include("perfetto.h")
#include "perfetto.h"
#define HAVE_PERFETTO 1
#pragma weak mw_perfetto_create
#pragma weak mw_perfetto_record
#pragma weak mw_perfetto_alert
#pragma weak mw_perfetto_close
#pragma weak mw_perfetto_process_name
#else
#define HAVE_PERFETTO 0
#endif

#pragma weak mw_tui_open
#pragma weak mw_tui_tick
#pragma weak mw_tui_event
#pragma weak mw_tui_close
#pragma weak mw_tui_emergency_restore
int mw_analyze_main(int argc, char **argv);
#pragma weak mw_analyze_main

#ifndef MW_VERSION
#define MW_VERSION "0.0.0"
#endif

enum out_mode { OUT_AUTO, OUT_PLAIN, OUT_JSON, OUT_TUI };

static struct env {
	int pid;
	double duration;		/* seconds; 0 = until the target exits or Ctrl-C */
	int mode;			/* enum out_mode */
	int verbose;
	int fail_on_race;
	int ascii;
	long frames;
	const char *out;		/* -o trace file */
	int force;
	const char *perfetto;
	int reads;			/* --reads: watch lookups too (read-write races) */
	int toolchain;			/* --toolchain: watch the Go toolchain's programs too */
	int every;			/* --every: a plain line per alert occurrence */
	int no_stacks;
	const char *metrics;		/* --metrics ADDR:PORT */
	double metrics_linger;		/* --metrics-linger SEC: serve this long after the run */
	int all;			/* --all: every process of the host (agent.c) */
	struct mw_agent_opts agent;	/* --all's filters */
	char **cmd;			/* -- CMD ARGS */
} env = { .pid = -1, .mode = OUT_AUTO };

static const char doc[] =
"mapwatch: watch a process's maps for iterate/write/grow races, through eBPF uprobes:\n"
"unmodified Go programs (Go 1.19, 1.21-1.23; stripped or not) and libgomap.\n"
"\n"
"USAGE: mapwatch [-p PID] [-d SEC] [--plain|--json] [-o TRACE] [--perfetto FILE]\n"
"                [--fail-on-race] [-v] [-- CMD [ARGS...]]\n"
"       mapwatch --all [--include GLOB] [--exclude GLOB] [--cgroup PREFIX]\n"
"                [--metrics ADDR:PORT] [--plain|--json] [-d SEC]\n"
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
"                        too), one attachment per binary; plain or JSON lines\n"
"      --include GLOB    --all: only binaries whose path or file name matches\n"
"                        (repeatable)\n"
"      --exclude GLOB    --all: never binaries whose path or name matches; a\n"
"                        binary with the xattr user.mapwatch.ignore is skipped too\n"
"      --cgroup PREFIX   --all: only processes whose cgroup path starts so\n"
"  -d, --duration SEC    stop after SEC seconds (more than 0, at most 1e9)\n"
"      --plain           each distinct race once, when first seen, with both\n"
"                        stacks; its count in the findings and a summary at the\n"
"                        end (default when stdout is not a terminal)\n"
"      --every           with --plain: a line for every occurrence\n"
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
	{ "all", no_argument, NULL, OPT_ALL },
	{ "include", required_argument, NULL, OPT_INCLUDE },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ 0 },
};

/* A usage error: one line on stderr, exit status 2 (see the help text). */
#define MW_EXIT_USAGE 2
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

static void parse_args(int argc, char **argv)
{
	int c;
	char *end;

	opterr = 0;	/* one line of our own per usage error */
	while ((c = getopt_long(argc, argv, "+:p:d:o:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			env.pid = parse_pid(optarg);
			break;
		case 'd':
			env.duration = parse_duration(optarg);
			break;
		case 'o': env.out = optarg; break;
		case 'v': env.verbose = 1; break;
		case 'h': fputs(doc, stdout); exit(0);
		case OPT_PLAIN: env.mode = OUT_PLAIN; break;
		case OPT_JSON: env.mode = OUT_JSON; break;
		case OPT_FORCE: env.force = 1; break;
		case OPT_PERFETTO: env.perfetto = optarg; break;
		case OPT_FAIL: env.fail_on_race = 1; break;
		case OPT_ASCII: env.ascii = 1; break;
		case OPT_FRAMES:
			errno = 0;
			env.frames = strtol(optarg, &end, 10);
			if (end == optarg || *end)
				usage_error("invalid frame count '%s': not a number", optarg);
			if (errno || env.frames <= 0 || env.frames > INT_MAX)
				usage_error("invalid frame count '%s': out of range (1 to %d)", optarg, INT_MAX);
			break;
		case OPT_VERSION: printf("mapwatch %s\n", MW_VERSION); exit(0);
		case OPT_READS: env.reads = 1; break;
		case OPT_TOOLCHAIN: env.toolchain = 1; break;
		case OPT_EVERY: env.every = 1; break;
		case OPT_NO_STACKS: env.no_stacks = 1; break;
		case OPT_METRICS: env.metrics = optarg; break;
		case OPT_METRICS_LINGER:
			errno = 0;
			env.metrics_linger = strtod(optarg, &end);
			if (errno || *end || !isfinite(env.metrics_linger) || env.metrics_linger < 0)
				usage_error("invalid linger time: %s", optarg);
			break;
		case OPT_ALL: env.all = 1; break;
		case OPT_INCLUDE:
		case OPT_EXCLUDE:
		case OPT_CGROUP:
			if (mw_filters_add(&env.agent.filters, c == OPT_INCLUDE ? MW_F_INCLUDE :
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
	if (optind < argc)
		env.cmd = &argv[optind];
	if (env.all && (env.pid > 0 || env.cmd))
		usage_error("--all watches every process: give no -p PID or command with it");
	if (!env.all && (env.agent.filters.n[MW_F_INCLUDE] || env.agent.filters.n[MW_F_EXCLUDE] ||
			 env.agent.filters.n[MW_F_CGROUP]))
		usage_error("--include, --exclude and --cgroup filter --all");
	if (env.all)
		return;
	if (env.pid > 0 && env.cmd)
		usage_error("give either -p PID or a command, not both");
	if (env.pid <= 0 && !env.cmd)
		usage_error("nothing to trace: give -p PID or -- CMD [ARGS...] (see mapwatch --help)");
}

/* ---- small helpers ---------------------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CAP_BPF (39) and CAP_PERFMON (38), or CAP_SYS_ADMIN (21). */
static int have_caps(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	if (eff & (1ull << 21))
		return 1;
	return (eff & (1ull << 39)) && (eff & (1ull << 38));
}

static void read_comm(int pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	buf[0] = 0;
	f = fopen(path, "re");
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

/* execvp's search, so the ELF we read is the one the child will run. */
static int find_cmd(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char buf[4096];
	char *save = NULL;

	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return access(cmd, X_OK) ? -errno : 0;
	}
	snprintf(buf, sizeof(buf), "%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", *d ? d : ".", cmd);
		if (!access(out, X_OK))
			return 0;
	}
	return -ENOENT;
}

static const char *sig_name(int sig)
{
	static char buf[32];
	const char *s = sigabbrev_np(sig);

	snprintf(buf, sizeof(buf), "SIG%s", s ? s : "?");
	if (!s)
		snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

/* ---- the live state ------------------------------------------------------------ */

static volatile sig_atomic_t stop_req;
static volatile sig_atomic_t nsigs;
static pid_t child_pid;
static int hup_handled;		/* SIGHUP has on_signal (it was not ignored) */

static void on_signal(int sig)
{
	if (++nsigs > 1) {
		/* A second Ctrl-C: out at once. */
		if (mw_tui_emergency_restore)
			mw_tui_emergency_restore();
		if (child_pid > 0)
			kill(child_pid, SIGKILL);
		_exit(130);
	}
	stop_req = sig;
}

struct live {
	int is_extra;			/* a descendant of -- CMD watched beside the first one */
	char comm[64];
	struct mw_corr *corr;
	struct mw_loader *ldr;
	struct mw_tui *tui;
	struct mw_trace_writer *trace;
	void *pft;			/* struct mw_perfetto * when available */
	struct mw_live_stats st;
	int mode;
	int pid;
	uint64_t records;		/* consumed */
	uint64_t last_records;
	uint64_t last_stats_ns;
	struct mw_counters ctr;
	char line[4096];
	/* stacks: resolved at alert time, kept by (id, caller) */
	const struct mw_runtime *rt;
	struct mw_stacktab *stab;
	struct mw_findings *findings;
	struct mw_symbolizer *sym;	/* live: /proc/PID/maps */
	struct mw_symbolizer *sym_dead;	/* after the target is gone: its last maps */
	char *maps_text;		/* the last /proc/PID/maps that maps the probed module */
	char module[PATH_MAX];		/* the probed module, canonical, as /proc/PID/maps names it */
	/* exec: the target replaced its image */
	struct mw_target *tgt;		/* where the probes are */
	struct mw_loader_opts *lo;	/* how they were attached */
	int execs;			/* exec records seen */
	int execs_handled;		/* -p: exec records whose new image was resolved (and re-attached) */
	int exec_stop;			/* the new image runs no supported runtime: stop */
	int trace_failed;		/* a write to the -o trace failed (reported at once) */
	int shared_ldr;			/* --all: ldr serves the binary's other processes too (not ours to free) */
	char tag[256];			/* --all: how lines name the process (plain, after the line) */
	char jtag[512];			/* and in JSON ("pid":N,… inserted after the type) */
	char big[65536];		/* alert lines with stacks (the trace reader's line limit) */
};

/* More than one process watched (-- CMD's tree): lines name their process. */
static int multi;

static void out_line(const char *s)
{
	fputs(s, stdout);
	fputc('\n', stdout);
}

/* An alert line with its process named at the end (plain), or a JSON
 * object with "pid" after its type (JSON), when several are watched. */
static void out_line_of(const struct live *lv, char *s, size_t cap)
{
	size_t n = strlen(s);
	char tag[sizeof(lv->jtag) + 2];

	if (multi && s[0] == '{') {
		const char *after = strchr(s, ',');
		int k = lv->jtag[0] ? snprintf(tag, sizeof(tag), "%s,", lv->jtag)
				    : snprintf(tag, sizeof(tag), "\"pid\":%d,", lv->pid);
		if (after && k < (int)sizeof(tag) && n + (size_t)k < cap) {
			size_t at = (size_t)(after - s) + 1;
			memmove(s + at + k, s + at, n - at + 1);
			memcpy(s + at, tag, (size_t)k);
		}
	} else if (multi && lv->tag[0]) {
		snprintf(s + n, cap - n, " [%s]", lv->tag);
	} else if (multi) {
		snprintf(s + n, cap - n, " [pid %d %s]", lv->pid, lv->comm);
	}
	out_line(s);
}

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

/* ---- stacks ---------------------------------------------------------------------- */

static const char *base_of(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;

	return b ? b + 1 : p;
}

/* A fresh copy of /proc/PID/maps; NULL when the target is gone (a zombie's
 * maps are empty). */
static char *read_maps(int pid)
{
	char path[64], *buf = NULL;
	size_t len = 0, cap = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 16384);
			if (!nb)
				break;
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!buf || !len) {
		free(buf);
		return NULL;
	}
	buf[len] = 0;
	return buf;
}

/* The target's maps, only once they map the probed module: with -- CMD
 * the first reads are of the child before its exec (mapwatch's own image),
 * and symbols looked up there would be wrong for good (stacks are resolved
 * once per id). */
static char *read_maps_of_target(struct live *lv)
{
	char *maps = read_maps(lv->pid);

	if (maps && lv->module[0] && !strstr(maps, lv->module)) {
		free(maps);
		return NULL;
	}
	return maps;
}

static void note(struct live *lv, const char *what, const char *text);
static int exit_status_of(int status, char *how, size_t len);

/* A copy of the runtime mapped after attach (dlopen) is not probed: say so,
 * once per file, in every output. */
static void dlopen_check(struct live *lv, const char *maps)
{
	static char told[8][PATH_MAX];
	static int ntold;
	const char *hint = lv->rt ? lv->rt->lib_hint : NULL;

	for (const char *l = maps; hint && l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = strchr(l, '/'), *e = strchr(l, '\n');
		size_t n = p ? (size_t)((e ? e : p + strlen(p)) - p) : 0;
		char path[PATH_MAX], text[PATH_MAX + 160];
		if (!p || (e && p > e) || n >= sizeof(path))
			continue;
		memcpy(path, p, n);
		path[n] = 0;
		const char *base = strrchr(path, '/') + 1;
		if (strncmp(base, hint, strlen(hint)) || !strcmp(path, lv->module))
			continue;
		int seen = 0;
		for (int i = 0; i < ntold && !seen; i++)
			seen = !strcmp(told[i], path);
		if (seen || ntold >= 8)
			continue;
		snprintf(told[ntold++], PATH_MAX, "%s", path);
		snprintf(text, sizeof(text), "pid %d mapped %s after mapwatch attached to %s: maps of "
			 "that copy of the runtime are not watched", lv->pid, path, lv->module);
		note(lv, "dlopen", text);
	}
}

/* Keep the target's latest maps while it runs: a short-lived target may be
 * gone (its maps empty) by the time its alerts are consumed. Often at first
 * (exec, then the dynamic loader maps libraries), then once a second. */
static void maps_poll(struct live *lv, uint64_t now, uint64_t since_start)
{
	static uint64_t last;
	uint64_t every = since_start < 100000000ull ? 0 :
			 since_start < 2000000000ull ? 10000000ull : 1000000000ull;
	char *maps;

	if (now - last < every)
		return;
	last = now;
	if ((maps = read_maps_of_target(lv))) {
		dlopen_check(lv, maps);
		free(lv->maps_text);
		lv->maps_text = maps;
	}
}

/* The symbolizer for now: the live process's while it runs, else one made
 * from the last maps seen (the binaries are read by path). */
static struct mw_symbolizer *symbolizer(struct live *lv)
{
	char *maps = read_maps_of_target(lv);

	if (maps) {
		free(lv->maps_text);
		lv->maps_text = maps;
		if (!lv->sym)
			lv->sym = mw_sym_new(lv->pid);
		if (lv->sym)
			return lv->sym;
	}
	if (!lv->sym_dead && lv->maps_text)
		lv->sym_dead = mw_sym_new_from_maps(lv->maps_text);
	return lv->sym_dead ? lv->sym_dead : lv->sym;
}

/* The symbolized stack (id, caller), resolved the first time it is asked for. */
static const struct mw_rstack *stack_of(struct live *lv, int32_t id, uint64_t caller)
{
	uint64_t ips[MW_MAX_STACK], all[MW_STACK_FRAMES];
	struct mw_frame fr[MW_STACK_FRAMES];
	struct mw_sframe sf[MW_STACK_FRAMES];
	char syms[MW_STACK_FRAMES][MW_STACK_STR];
	struct mw_symbolizer *sy;
	const struct mw_rstack *s;
	int n, m = 0;

	if (id < 0 || !lv->stab)
		return NULL;
	if ((s = mw_stacktab_get(lv->stab, id, caller)))
		return s;
	n = mw_loader_stack(lv->ldr, id, ips);
	if (n <= 0)
		return NULL;
	/* ips[0] is the probed function; the caller at [sp] goes second unless
	 * the kernel's walk already has it. */
	all[m++] = ips[0];
	if (caller && (n < 2 || ips[1] != caller))
		all[m++] = caller;
	for (int i = 1; i < n && m < MW_STACK_FRAMES; i++)
		all[m++] = ips[i];
	sy = symbolizer(lv);
	memset(fr, 0, sizeof(fr));
	if (sy) {
		m = mw_sym_resolve_stack(sy, all, m, fr);
	} else {
		for (int i = 0; i < m; i++)
			fr[i].addr = all[i];
	}
	for (int i = 0; i < m; i++) {
		sf[i].addr = fr[i].addr;
		sf[i].sym = NULL;
		if (fr[i].func) {
			snprintf(syms[i], sizeof(syms[i]), "%s+0x%" PRIx64, fr[i].func, fr[i].func_off);
			sf[i].sym = syms[i];
		}
		sf[i].file = fr[i].file ? base_of(fr[i].file) : NULL;
		sf[i].line = fr[i].line;
		sf[i].module = fr[i].module ? base_of(fr[i].module) : NULL;
	}
	return mw_stacktab_put(lv->stab, id, caller, sf, m);
}

#define PLAIN_FRAMES 5

static void plain_stack(const char *label, const struct mw_rstack *s)
{
	char f[MW_STACK_STR * 3];

	if (!s || !s->n) {
		printf("    %-9s (no stack)\n", label);
		return;
	}
	for (int i = 0; i < s->n && i < PLAIN_FRAMES; i++) {
		mw_sframe_format(&s->f[i], f, sizeof(f));
		printf("    %-9s %s\n", i ? "" : label, f);
	}
	if (s->n > PLAIN_FRAMES)
		printf("    %-9s … %d more\n", "", s->n - PLAIN_FRAMES);
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

/* ", read-write N, clone-write N" for the kinds beyond the three classic ones, when seen. */
static const char *extra_kinds(const struct mw_summary *s, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int k = MW_KIND_READ_WRITE; k < MW_KIND_MAX && n < len; k++)
		if (s->alerts_by_kind[k] || (k == MW_KIND_READ_WRITE && env.reads))
			n += (size_t)snprintf(buf + n, len - n, ", %s %" PRIu64, mw_kind_name(k),
					      s->alerts_by_kind[k]);
	return buf;
}

static void plain_alert(struct live *lv, const struct mw_alert *a)
{
	char ov[32], ev[48] = "", w[64], it[64], hi[48];
	const char *what;

	fmt_ns(a->overlap_ns, ov, sizeof(ov));
	who(w, sizeof(w), a->writer_tid, a->writer_gid);
	who(it, sizeof(it), a->iter_tid, a->iter_gid);
	if (a->kind == MW_KIND_WRITE_WRITE || a->kind == MW_KIND_READ_WRITE ||
	    a->kind == MW_KIND_CLONE_WRITE) {
		snprintf(lv->line, sizeof(lv->line),
			 "ALERT #%" PRIu64 " %s map 0x%" PRIx64 ": %s %s while %s's write "
			 "is in flight (overlap %s, confidence %s)",
			 a->seq, mw_kind_name(a->kind), a->map, w,
			 a->kind == MW_KIND_READ_WRITE ? "reads" :
			 a->kind == MW_KIND_CLONE_WRITE ? "clones" : mw_op_name(a->op), it, ov,
			 mw_conf_name(a->confidence));
		out_line_of(lv, lv->line, sizeof(lv->line));
		return;
	}
	/* (stacks: printed by on_alert) */
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
	snprintf(lv->line, sizeof(lv->line),
		 "ALERT #%" PRIu64 " %s map 0x%" PRIx64 ": %s %s while %s iterates "
		 "(hiter %s, iterator bucket 0x%" PRIx64 "%s, overlap %s, confidence %s)",
		 a->seq, mw_kind_name(a->kind), a->map, w, what, it, hi,
		 a->bucket, ev, ov, mw_conf_name(a->confidence));
	out_line_of(lv, lv->line, sizeof(lv->line));
}

/* The runtime's own check fired (Go's `fatal error: concurrent map …`):
 * said at once, since the process is about to die. */
static void plain_fatal(struct live *lv, const struct mw_record *r)
{
	char w[64];
	struct mw_summary s;

	mw_corr_summary(lv->corr, &s);
	snprintf(lv->line, sizeof(lv->line),
		 "RUNTIME the runtime caught a %s race in %s (map 0x%" PRIx64 "); %s",
		 mw_kind_name(r->kind), who(w, sizeof(w), r->tid, r->gid), (uint64_t)r->map,
		 s.alerts_by_kind[r->kind] ? "mapwatch flagged this kind before it"
					   : "mapwatch had not flagged it (caught by the runtime only)");
	out_line_of(lv, lv->line, sizeof(lv->line));
}

/* Has this (kind, writer stack, iterator stack) been printed before? A small
 * open-addressing set; once full, every pair counts as seen. */
#define PAIRS_MAX 4096
static int first_pair(struct live *lv, unsigned kind, const void *ws, const void *is)
{
	static uint64_t seen[PAIRS_MAX];
	static unsigned used;
	uint64_t k = ((uint64_t)(uintptr_t)ws * 0x9e3779b97f4a7c15ULL) ^
		     ((uint64_t)(uintptr_t)is * 0xc2b2ae3d27d4eb4fULL) ^ (kind + 1);

	(void)lv;
	if (!k)
		k = 1;
	for (unsigned i = 0, h = (unsigned)(k >> 40) % PAIRS_MAX; i < PAIRS_MAX; i++, h = (h + 1) % PAIRS_MAX) {
		if (seen[h] == k)
			return 0;
		if (!seen[h]) {
			if (used + 1 >= PAIRS_MAX)
				return 0;
			seen[h] = k;
			used++;
			return 1;
		}
	}
	return 0;
}

static void on_alert(void *ctx, const struct mw_alert *a, const struct mw_alert_row *row)
{
	struct live *lv = ctx;
	/* Resolved now, while the target's mappings are those of the alert. */
	const struct mw_rstack *ws = stack_of(lv, a->writer_stack, a->writer_caller);
	const struct mw_rstack *is = stack_of(lv, a->iter_stack, a->iter_caller);
	(void)row;
	/* The JSON form is for --json and the trace only: at hundreds of
	 * thousands of alerts a second it is not built for nothing. */
	if (lv->mode == OUT_JSON || lv->trace) {
		int n = mw_alert_json_stacks(a, ws, is, lv->big, sizeof(lv->big));
		if (n < 0 || (size_t)n >= sizeof(lv->big))
			mw_alert_json(a, lv->big, sizeof(lv->big));	/* stacks too long: ids only */
	}
	mw_findings_add(lv->findings, a, ws, is);
	if (lv->mode == OUT_JSON) {
		out_line_of(lv, lv->big, sizeof(lv->big));
	} else if (lv->mode == OUT_PLAIN) {
		/* Each distinct race (kind and pair of code paths) once, when it
		 * is first seen, with both stacks, as race detectors do; the
		 * findings count its occurrences at the end. --every: a line per
		 * occurrence. */
		int first = first_pair(lv, a->kind, ws, is);
		if (first || env.every)
			plain_alert(lv, a);
		if (first) {
			plain_stack("writer", ws);
			plain_stack(a->kind == MW_KIND_WRITE_WRITE ? "in flight" : "iterator", is);
		}
	}
#if HAVE_TRACE
	if (lv->trace && mw_trace_line) {
		/* Each stack once, before the first alert that names it. */
		const struct mw_rstack *both[2] = { ws, is };
		for (int i = 0; i < 2; i++) {
			struct mw_rstack *s = (struct mw_rstack *)both[i];
			if (!s || s->traced)
				continue;
			int len = mw_stack_line(s, lv->line, 0);
			char *buf = len > 0 ? malloc((size_t)len + 1) : NULL;
			if (buf) {
				mw_stack_line(s, buf, (size_t)len + 1);
				mw_trace_line(lv->trace, buf, (size_t)len);
				free(buf);
				s->traced = 1;
			}
		}
		mw_trace_line(lv->trace, lv->big, strlen(lv->big));
	}
#endif
#if HAVE_PERFETTO
	if (lv->pft && mw_perfetto_alert)
		mw_perfetto_alert(lv->pft, a);
#endif
}

static void feed(struct live *lv, const struct mw_record *r)
{
	mw_corr_feed(lv->corr, r);
	if (r->type == MW_REC_FATAL) {
		if (lv->mode == OUT_PLAIN) {
			plain_fatal(lv, r);
		} else if (lv->mode == OUT_JSON) {
			snprintf(lv->line, sizeof(lv->line),
				 "{\"type\":\"runtime\",\"kind\":\"%s\",\"ts\":%" PRIu64 ",\"map\":\"0x%" PRIx64
				 "\",\"tid\":%u,\"goid\":%" PRIu64 "}", mw_kind_name(r->kind), (uint64_t)r->ts, (uint64_t)r->map,
				 r->tid, (uint64_t)r->gid);
			out_line_of(lv, lv->line, sizeof(lv->line));
		}
	}
	if (lv->tui && mw_tui_event)
		mw_tui_event(lv->tui, r);
#if HAVE_TRACE
	if (lv->trace && mw_trace_record)
		mw_trace_record(lv->trace, r);
#endif
#if HAVE_PERFETTO
	if (lv->pft && mw_perfetto_record)
		mw_perfetto_record(lv->pft, r);
#endif
}

static void on_record(void *ctx, const struct mw_record *r)
{
	struct live *lv = ctx;

	lv->records++;
	if (r->type == MW_REC_EXEC)
		lv->execs++;
	feed(lv, r);
}

/* Say one thing to every output: the plain stream, JSON, the trace. */
static void note(struct live *lv, const char *what, const char *text)
{
	if (lv->mode == OUT_JSON) {
		snprintf(lv->big, sizeof(lv->big), "{\"type\":\"note\",\"what\":\"%s\",\"pid\":%d,\"text\":\"%s\"}",
			 what, lv->pid, text);
		out_line(lv->big);
	} else if (!lv->tui) {
		printf("mapwatch: %s\n", text);
	}
	fflush(stdout);
}

/* Consume everything a loader's ring buffer holds. */
static void drain(struct mw_loader *l)
{
	while (mw_loader_consume(l, 50000000) > 0)
		;
}

/* The target exec'd: BPF already dropped the old image's per-map state
 * (exec generation) and the correlator its open iterations. Resolve the
 * runtime of the new image and attach to it, or stop when it has none.
 * With -- CMD the new image is held at its exec stop until this is done,
 * so nothing of it is missed; with -p its first operations may be. */
static void handle_exec(struct live *lv)
{
	char exe[64], path[PATH_MAX], err[1024], text[PATH_MAX + 512];
	static struct mw_target nt;

	/* Drain what the old image produced, with the exec record. */
	drain(lv->ldr);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", lv->pid);
	ssize_t n = readlink(exe, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = 0;
	int e = mw_find_target(exe, lv->pid, 0, env.reads, &nt);
	if (e) {
		snprintf(text, sizeof(text), "pid %d exec'd %s, which runs no supported map runtime: "
			 "stopping", lv->pid, path[0] ? path : "?");
		note(lv, "exec", text);
		lv->exec_stop = 1;
		return;
	}
	if (nt.is_exe)
		snprintf(nt.module, sizeof(nt.module), "%s", path[0] ? path : exe);
	char ra[PATH_MAX], rb[PATH_MAX];
	int same = nt.rt == lv->tgt->rt && realpath(nt.module, ra) && realpath(lv->tgt->module, rb) &&
		   !strcmp(ra, rb) && nt.nsites == lv->tgt->nsites;
	if (!same) {
		struct mw_loader *old = lv->ldr;
		mw_loader_detach(old);
		drain(old);
		mw_loader_free(old);
		*lv->tgt = nt;
		lv->rt = nt.rt;
		lv->ldr = mw_loader_start(lv->lo, err, sizeof(err));
		if (!lv->ldr) {
			snprintf(text, sizeof(text), "pid %d exec'd %s: cannot attach to it: %s", lv->pid,
				 path, err);
			note(lv, "exec", text);
			lv->exec_stop = 1;
			return;
		}
	}
	if (!realpath(lv->tgt->module, lv->module))
		snprintf(lv->module, sizeof(lv->module), "%s", lv->tgt->module);
	mw_sym_free(lv->sym);
	lv->sym = NULL;
	snprintf(text, sizeof(text), "pid %d exec'd %s (%s%s%s): state of the old image dropped, %s",
		 lv->pid, path, lv->rt->name, lv->tgt->version[0] ? " " : "", lv->tgt->version,
		 same ? "same probes kept" : "probes attached to the new image");
	note(lv, "exec", text);
}

/* Read the hmap header from the target, refusing implausible values. */
static void sample_map(void *ctx, int pid, uint64_t map, const struct mw_mapstate *st)
{
	struct live *lv = ctx;
	const struct mw_layout *L = &lv->tgt->layout;
	struct mw_map_sample s = { .map = map, .ts = mono_ns() };
	unsigned char h[48];
	struct iovec local = { h, sizeof(h) }, remote = { (void *)(uintptr_t)map, sizeof(h) };

	if (pid != lv->pid)
		return;	/* a loader shared by several processes walks all their maps */
	s.writes = st->writes;
	s.iterations = st->iterations;
	s.grows = st->grows;
	s.evacuations = st->evacuations;
	if (process_vm_readv(lv->pid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof(h)) {
		int64_t count;
		memcpy(&count, h + L->h_count, 8);
		memcpy(&s.buckets, h + L->h_buckets, 8);
		memcpy(&s.oldbuckets, h + L->h_oldbuckets, 8);
		memcpy(&s.nevacuate, h + L->h_nevacuate, 8);
		s.B = h[L->h_B];
		s.flags = h[L->h_flags];
		s.count = (uint64_t)count;
		s.have_hmap = count >= 0 && s.B <= L->max_B &&
			      (s.nevacuate <= (1ull << s.B) || !s.oldbuckets);
	}
	mw_corr_map_sample(lv->corr, &s);
}

/* ---- metrics (--metrics) ---------------------------------------------------------- */

static struct mw_metrics *metrics;
static char metrics_binary[MW_METRICS_NAME];

/* Start the endpoint once the target is known (its file name labels the
 * series). 0, or -1 after one error line. */
static int metrics_open(const char *exe, const char *comm)
{
	char err[256];
	const char *b = strrchr(exe, '/');

	if (!env.metrics)
		return 0;
	/* /proc/PID/exe (a deleted or unreachable binary) says nothing: its comm then */
	snprintf(metrics_binary, sizeof(metrics_binary), "%s",
		 !strncmp(exe, "/proc/", 6) && comm[0] ? comm : b ? b + 1 : exe);
	metrics = mw_metrics_start(env.metrics, err, sizeof(err));
	if (!metrics) {
		fprintf(stderr, "mapwatch: %s\n", err);
		return -1;
	}
	if (env.verbose)
		fprintf(stderr, "mapwatch: metrics at http://%s/metrics\n", env.metrics);
	return 0;
}

/* The snapshot, from what the stats tick just read: the summary, BPF's
 * counters and the findings (their writer locations are the sites). */
static void metrics_tick(struct live *lv, int final)
{
	struct mw_metrics_proc p = { .pid = lv->pid, .watched = !final && !lv->st.target_exited };
	struct mw_metrics_snapshot s = {
		.procs = &p, .nprocs = 1, .records = lv->records,
		.drops_ring_buffer = lv->ctr.rb_drops, .drops_map_full = lv->ctr.map_full,
		.drops_slots_full = lv->ctr.slots_full, .bad_reads = lv->ctr.bad_reads,
		.stacks_missed = lv->ctr.stack_fails,
	};
	struct mw_summary sum;

	if (!metrics)
		return;
	mw_corr_summary(lv->corr, &sum);
	snprintf(p.binary, sizeof(p.binary), "%s", metrics_binary);
	snprintf(p.runtime, sizeof(p.runtime), "%s", lv->rt->name);
	p.probe_hits = lv->ctr.hits;
	memcpy(p.races, sum.alerts_by_kind, sizeof(p.races));
	memcpy(p.runtime_caught, sum.runtime_caught, sizeof(p.runtime_caught));
	mw_metrics_proc_sites(&p, lv->findings, MW_METRICS_SITE_CAP);
	mw_metrics_update(metrics, &s);
	mw_metrics_proc_free(&p);
}

/* --metrics-linger: the final numbers stay up for SEC seconds (a signal ends it). */
static void metrics_linger(void)
{
	uint64_t end = mono_ns() + (uint64_t)(env.metrics_linger * 1e9);
	int sigs = nsigs;

	if (!metrics || env.metrics_linger <= 0)
		return;
	fflush(stdout);
	while (mono_ns() < end && nsigs == sigs)
		usleep(20000);
}

static void stats_tick(struct live *lv, uint64_t now, int final)
{
	struct mw_record r = { 0 };
	double dt = (now - lv->last_stats_ns) / 1e9;

	mw_loader_counters(lv->ldr, &lv->ctr);
	r.type = MW_REC_STATS;
	r.pid = (uint32_t)lv->pid;
	r.ts = now;
	r.count = lv->ctr.hits;
	r.aux = lv->ctr.rb_drops;
	r.aux2 = lv->ctr.map_full + lv->ctr.slots_full;
	r.bucket = MW_NO_BUCKET;
	r.stack_id = r.other_stack_id = -1;
	feed(lv, &r);
	if (!final)
		mw_loader_maps(lv->ldr, sample_map, lv);

	lv->st.events = lv->records;
	lv->st.events_per_s = dt > 0 ? (lv->records - lv->last_records) / dt : 0;
	lv->st.drops = r.aux + r.aux2;
	lv->st.hits = lv->ctr.hits;
	if (lv->mode == OUT_JSON && !final && !lv->is_extra) {
		snprintf(lv->line, sizeof(lv->line),
			 "{\"type\":\"stats\",\"ts\":%" PRIu64 ",\"events\":%" PRIu64 ",\"drops\":%" PRIu64
			 ",\"hits\":%" PRIu64 ",\"rate\":%.1f,\"records\":%" PRIu64 ",\"rb_drops\":%" PRIu64
			 ",\"map_full\":%" PRIu64 ",\"slots_full\":%" PRIu64 ",\"bad_reads\":%" PRIu64
			 ",\"stack_fails\":%" PRIu64 "}",
			 now, lv->records, lv->st.drops, (uint64_t)lv->ctr.hits, lv->st.events_per_s,
			 (uint64_t)lv->ctr.records, (uint64_t)lv->ctr.rb_drops,
			 (uint64_t)lv->ctr.map_full, (uint64_t)lv->ctr.slots_full,
			 (uint64_t)lv->ctr.bad_reads, (uint64_t)lv->ctr.stack_fails);
		out_line(lv->line);
	}
#if HAVE_TRACE
	if (lv->trace && mw_trace_flush)
		mw_trace_flush(lv->trace);
#endif
	lv->last_records = lv->records;
	lv->last_stats_ns = now;
	if (!lv->is_extra)
		metrics_tick(lv, final);
}

/* The live view's alert detail: frame i of one side of an alert, as text. */
static int stack_line_cb(void *ctx, const struct mw_alert *a, int iter_side, int i,
			 char *buf, size_t len)
{
	struct live *lv = ctx;
	const struct mw_rstack *s = iter_side ? stack_of(lv, a->iter_stack, a->iter_caller)
					      : stack_of(lv, a->writer_stack, a->writer_caller);

	if (!s || i < 0 || i >= s->n)
		return -1;
	mw_sframe_format(&s->f[i], buf, len);
	return 0;
}

#if HAVE_TRACE
/* The trace writer's error callback: at the failed write, once. The file
 * was cut back to its last complete line and takes nothing more. */
static void trace_failed_cb(void *ctx, const char *msg)
{
	struct live *lv = ctx;

	fprintf(stderr, "mapwatch: %s\n", msg);	/* replayed after the live view closes */
	snprintf(lv->st.trace_error, sizeof(lv->st.trace_error), "trace stopped: %s",
		 strerror(mw_trace_error(lv->trace)));
	lv->trace_failed = 1;
}
#endif

static int save_trace_cb(void *ctx, char *path, size_t len)
{
	struct live *lv = ctx;

#if HAVE_TRACE
	if (lv->trace_failed) {
		snprintf(path, len, "%s", lv->st.trace_error);
		return -1;
	}
	if (lv->trace && env.out && mw_trace_flush && !mw_trace_flush(lv->trace)) {
		snprintf(path, len, "%s", env.out);
		return 0;
	}
#endif
	(void)lv;
	snprintf(path, len, "no trace is being recorded: start mapwatch with -o FILE");
	return -1;
}

/* ---- target ---------------------------------------------------------------------- */

/* Fork CMD stopped before exec: it waits on a pipe until the probes are in. */
/* With the live view open, the command's own output would scribble over the
 * screen: it goes to an unlinked temporary file instead, replayed on stderr
 * once the screen is closed. */
static int child_out_fd = -1;

static void replay_child_output(void)
{
	char buf[65536];
	ssize_t n;

	if (child_out_fd < 0 || lseek(child_out_fd, 0, SEEK_SET) < 0)
		return;
	while ((n = read(child_out_fd, buf, sizeof(buf))) > 0)
		if (write(STDERR_FILENO, buf, (size_t)n) < 0)
			break;
	close(child_out_fd);
	child_out_fd = -1;
}

static pid_t spawn_stopped(char **cmd, int *release_fd)
{
	int p[2];
	pid_t pid, parent = getpid();

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		char c;
		/* The command never outlives mapwatch, even a SIGKILLed one: the
		 * kernel kills it when its parent dies (kept across exec, except
		 * of a set-user-ID program). A parent already gone before the
		 * prctl would go unnoticed: check it after. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(127);
		close(p[1]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (hup_handled)
			signal(SIGHUP, SIG_DFL);	/* an ignored one stays ignored */
		if (read(p[0], &c, 1) != 1)
			_exit(127);	/* mapwatch gave up: never run unwatched */
		close(p[0]);
		if (child_out_fd >= 0) {
			dup2(child_out_fd, STDOUT_FILENO);
			dup2(child_out_fd, STDERR_FILENO);
			close(child_out_fd);
		}
		execvp(cmd[0], cmd);
		fprintf(stderr, "mapwatch: cannot run %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	*release_fd = p[1];
	return pid;
}



/* ---- -- CMD's process tree ----------------------------------------------------
 *
 * The command is traced with ptrace for its forks and execs (and its exit
 * stop, for symbolization): every process of its tree that execs a program
 * with a supported runtime is watched, held at its exec stop until its
 * probes are in. The first is the primary (the live view, the exit status
 * of the summary line); the others are extras with their own correlator,
 * findings and BPF object, named in every line. */
#define MAX_EXTRAS 32
#define MAX_TRACEES 1024
static struct live *extras[MAX_EXTRAS];
static int nextras;
static pid_t tracees[MAX_TRACEES];	/* known tracees */
static int ntracees;
static pid_t fresh[MAX_TRACEES];	/* forked, their first (attach) stop still to come */
static int nfresh;
/* Threads too (CLONE): a fork or exec may come from any thread (Go's
 * os/exec runs on whatever thread the goroutine is on). */
static const long TREE_OPTS = PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK |
			      PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;

static int tracee_known(pid_t p)
{
	for (int i = 0; i < ntracees; i++)
		if (tracees[i] == p)
			return 1;
	return 0;
}

static void tracee_add(pid_t p)
{
	if (!tracee_known(p) && ntracees < MAX_TRACEES)
		tracees[ntracees++] = p;
}

/* A new process of the tree: known, and its attach stop is still to come. */
static void tracee_fork(pid_t p)
{
	tracee_add(p);
	if (nfresh < MAX_TRACEES)
		fresh[nfresh++] = p;
}

/* Is this stop the attach stop of a new process (to be continued, not a group-stop)? */
static int first_stop(pid_t p)
{
	for (int i = 0; i < nfresh; i++)
		if (fresh[i] == p) {
			fresh[i] = fresh[--nfresh];
			return 1;
		}
	if (!tracee_known(p)) {
		tracee_add(p);
		return 1;
	}
	return 0;
}

static void tracee_del(pid_t p)
{
	for (int i = 0; i < ntracees; i++)
		if (tracees[i] == p) {
			tracees[i] = tracees[--ntracees];
			return;
		}
}

static struct live *live_of_pid(struct live *primary, int pid)
{
	if (primary && primary->pid == pid && primary->ldr)
		return primary;
	for (int i = 0; i < nextras; i++)
		if (extras[i]->pid == pid)
			return extras[i];
	return NULL;
}

/* Resolve what pid runs now (held at its exec stop): 0 and *t filled when
 * it is a supported runtime. */
static void live_free(struct live *x);

static int resolve_pid(int pid, struct mw_target *t, char *comm, size_t commlen)
{
	char exe[64], path[PATH_MAX];

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (mw_find_target(exe, pid, 0, env.reads, t))
		return -1;
	/* The Go toolchain's own programs (go, compile, link, …) are not what a
	 * user of `mapwatch -- go run/test` wants watched. */
	if (!env.toolchain && !strncmp(t->gomain, "cmd/", 4))
		return -1;
	ssize_t n = readlink(exe, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = 0;
	if (t->is_exe && path[0])
		snprintf(t->module, sizeof(t->module), "%s", path);
	const char *b = strrchr(path, '/');
	snprintf(comm, commlen, "%.15s", b ? b + 1 : path);
	return 0;
}

/* A watched process's state beside the primary's: correlator, findings,
 * stacks and its own copy of the target; no loader yet. */
static struct live *live_alloc(int pid, const struct mw_target *t, const char *comm, int mode)
{
	struct live *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->is_extra = 1;
	x->pid = pid;
	snprintf(x->comm, sizeof(x->comm), "%s", comm);
	x->mode = mode;
	x->rt = t->rt;
	x->tgt = calloc(1, sizeof(*x->tgt));
	x->stab = mw_stacktab_new();
	x->findings = mw_findings_new(t->rt);
	struct mw_corr_opts co = { .keep_alerts = 0, .on_alert = on_alert, .ctx = x };
	x->corr = mw_corr_new(&co);
	if (!x->tgt || !x->stab || !x->findings || !x->corr) {
		live_free(x);
		return NULL;
	}
	*x->tgt = *t;
	if (!realpath(t->module, x->module))
		snprintf(x->module, sizeof(x->module), "%s", t->module);
	x->st.start_ns = x->last_stats_ns = mono_ns();
	return x;
}

static void live_free(struct live *x)
{
	if (!x)
		return;
	if (!x->shared_ldr)
		mw_loader_free(x->ldr);
	mw_corr_free(x->corr);
	mw_sym_free(x->sym);
	mw_sym_free(x->sym_dead);
	free(x->maps_text);
	mw_stacktab_free(x->stab);
	mw_findings_free(x->findings);
	free(x->tgt);
	free(x->lo);
	free(x);
}

/* Watch one more process of the tree beside the primary. */
static void extra_add(struct live *primary, int pid, const struct mw_target *t, const char *comm)
{
	char err[1024], text[PATH_MAX + 256];
	struct live *x = NULL;

	/* Under the live view (which shows the first process) the others are
	 * silent until it closes: their findings and summaries come after. */
	if (nextras >= MAX_EXTRAS || !(x = live_alloc(pid, t, comm, primary->mode))) {
		snprintf(text, sizeof(text), "pid %d (%s) runs %s too, but no more processes can be "
			 "watched (%d)", pid, comm, t->rt->name, MAX_EXTRAS + 1);
		note(primary, "process", text);
		return;
	}
	x->trace = primary->trace;
	x->pft = primary->pft;
	x->lo = calloc(1, sizeof(*x->lo));
	if (!x->lo)
		goto fail;
	*x->lo = *primary->lo;
	x->lo->pid = pid;
	x->lo->target = x->tgt;
	x->lo->ctx = x;
	x->ldr = mw_loader_start(x->lo, err, sizeof(err));
	if (!x->ldr) {
		snprintf(text, sizeof(text), "pid %d (%s): cannot attach: %s", pid, comm, err);
		note(primary, "process", text);
		goto fail;
	}
	extras[nextras++] = x;
	multi = 1;
	snprintf(text, sizeof(text), "watching pid %d (%s) too: %s%s%s, %d probes", pid, comm,
		 t->rt->name, t->version[0] ? " " : "", t->version, mw_loader_nprobes(x->ldr));
	note(primary, "process", text);
	return;
fail:
	live_free(x);
}

/* ---- what the host-wide mode borrows (live.h) -------------------------------- */

struct live *mw_live_open(int pid, const struct mw_target *t, const char *comm, const char *module,
			  struct mw_loader *ldr, const char *tag, const char *jtag)
{
	struct live *x = live_alloc(pid, t, comm, env.mode);

	if (!x)
		return NULL;
	x->ldr = ldr;
	x->shared_ldr = 1;
	snprintf(x->module, sizeof(x->module), "%s", module);
	snprintf(x->tag, sizeof(x->tag), "%s", tag);
	snprintf(x->jtag, sizeof(x->jtag), "%s", jtag);
	x->maps_text = read_maps_of_target(x);	/* stacks of a process gone before its alerts are read */
	multi = 1;
	return x;
}

void mw_live_record(void *lv, const struct mw_record *r)
{
	on_record(lv, r);
}

void mw_live_tick(struct live *lv, uint64_t now)
{
	char *maps = read_maps_of_target(lv);

	if (maps) {
		free(lv->maps_text);
		lv->maps_text = maps;
	}
	stats_tick(lv, now, 0);
}

void mw_live_summary(const struct live *lv, struct mw_summary *s)
{
	mw_corr_summary(lv->corr, s);
}

const struct mw_findings *mw_live_findings(const struct live *lv)
{
	return lv->findings;
}

void mw_live_close(struct live *lv)
{
	live_free(lv);
}

/* One process of the tree exec'd (it is held at its exec stop). */
static void tree_exec(struct live *primary, pid_t pid)
{
	struct live *lv = live_of_pid(primary, pid);
	static struct mw_target t;
	char comm[64];

	if (lv) {
		handle_exec(lv);
		return;
	}
	if (primary && !resolve_pid(pid, &t, comm, sizeof(comm)))
		extra_add(primary, pid, &t, comm);
}

/* Where a process held at its exec stop goes before anything is watched. */
struct tree_first {
	pid_t pid;
	struct mw_target *t;
	char *comm;
	size_t commlen;
};

enum { TREE_PENDING = 0, TREE_ROOT_ENDED = 1, TREE_HELD = 2 };

/* Handle what the tree's processes report, until nothing is pending (or,
 * with block, until the root ends). After the primary is watched, execs
 * go to tree_exec; before (first set), the first process that execs a
 * supported runtime ends the wait, held at its exec stop. Returns
 * TREE_ROOT_ENDED with the root's *status, TREE_HELD, or TREE_PENDING. */
static int tree_wait(struct live *primary, pid_t root, int *status, int block, struct tree_first *first)
{
	for (;;) {
		int st;
		pid_t r = waitpid(-1, &st, __WALL | (block ? 0 : WNOHANG));
		if (r < 0 && errno == EINTR && block && !stop_req)
			continue;
		if (r <= 0)
			return r < 0 && errno == ECHILD ? (*status = 0, TREE_ROOT_ENDED) : TREE_PENDING;
		if (!WIFSTOPPED(st)) {
			struct live *lv = live_of_pid(primary, r);
			tracee_del(r);
			if (lv && lv != primary) {
				exit_status_of(st, lv->st.exit_how, sizeof(lv->st.exit_how));
				lv->st.target_exited = 1;
			}
			if (r == root) {
				*status = st;
				return TREE_ROOT_ENDED;
			}
			if (lv == primary && primary)
				exit_status_of(st, primary->st.exit_how, sizeof(primary->st.exit_how));
			continue;
		}
		int ev = (unsigned)st >> 16, sig = 0;
		if (ev == PTRACE_EVENT_STOP && first_stop(r)) {
			ptrace(PTRACE_CONT, r, 0, 0);	/* a new process of the tree */
			continue;
		}
		if (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK || ev == PTRACE_EVENT_CLONE) {
			unsigned long child = 0;
			if (!ptrace(PTRACE_GETEVENTMSG, r, 0, &child) && !tracee_known((pid_t)child))
				tracee_fork((pid_t)child);
		} else if (ev == PTRACE_EVENT_EXEC && first) {
			if (!resolve_pid(r, first->t, first->comm, first->commlen)) {
				first->pid = r;
				return TREE_HELD;
			}
		} else if (ev == PTRACE_EVENT_EXEC) {
			tree_exec(primary, r);
		} else if (ev == PTRACE_EVENT_EXIT) {
			struct live *lv = live_of_pid(primary, r);
			char *m = lv ? read_maps_of_target(lv) : NULL;
			if (m) {
				free(lv->maps_text);
				lv->maps_text = m;
			}
		} else if (ev == PTRACE_EVENT_STOP) {
			ptrace(PTRACE_LISTEN, r, 0, 0);
			continue;
		} else if (!ev) {
			sig = WSTOPSIG(st);
		}
		ptrace(PTRACE_CONT, r, 0, (void *)(long)sig);
	}
}

/* 1 when *status is the root's end, 0 when it still runs (only without block). */
static int tree_reap(struct live *primary, pid_t root, int *status, int block)
{
	return tree_wait(primary, root, status, block, NULL) == TREE_ROOT_ENDED;
}

/* Before anything is watched: let the tree run until one of its processes
 * execs a supported runtime; it is returned held at its exec stop, with *t
 * and comm filled. 0 when the root ended first (*status) or mapwatch was
 * asked to stop. */
static pid_t tree_first(pid_t root, struct mw_target *t, char *comm, size_t commlen, int *status)
{
	struct tree_first f = { .t = t, .comm = comm, .commlen = commlen };

	for (;;) {
		int r = tree_wait(NULL, root, status, 1, &f);
		if (r == TREE_HELD)
			return f.pid;
		if (r == TREE_ROOT_ENDED)
			return 0;
		if (stop_req) {
			*status = 0;
			return 0;
		}
	}
}

static void kill_child(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	/* Its ptrace stops (the exit stop) let go until it is gone. */
	while (waitpid(pid, &status, __WALL) == pid && WIFSTOPPED(status))
		ptrace(PTRACE_CONT, pid, 0, 0);
}

static int pidfd_open_(int pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int target_gone(int pidfd, int pid)
{
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		return poll(&p, 1, 0) > 0;
	}
	return kill(pid, 0) && errno == ESRCH;
}

static int exit_status_of(int status, char *how, size_t len)
{
	if (WIFEXITED(status)) {
		snprintf(how, len, "exited with status %d", WEXITSTATUS(status));
		return WEXITSTATUS(status);
	}
	if (WIFSIGNALED(status)) {
		snprintf(how, len, "killed by %s", sig_name(WTERMSIG(status)));
		return 128 + WTERMSIG(status);
	}
	snprintf(how, len, "ended");
	return 1;
}

/* ---- main ---------------------------------------------------------------------- */

/* Findings: alerts grouped by their two code locations, before the summary. */
static void report_findings(struct live *lv)
{
	for (size_t i = 0; i < mw_findings_count(lv->findings); i++) {
		const struct mw_finding *f = mw_findings_at(lv->findings, i);
		mw_finding_json(f, lv->big, sizeof(lv->big));
#if HAVE_TRACE
		if (lv->trace && mw_trace_line)
			mw_trace_line(lv->trace, lv->big, strlen(lv->big));
#endif
		if (env.mode == OUT_JSON) {
			out_line_of(lv, lv->big, sizeof(lv->big));
			continue;
		}
		if (!i && multi)
			printf("mapwatch: findings in pid %d (%s) (alerts by code location, writer → %s):\n",
			       lv->pid, lv->comm, "iterator or write in flight");
		else if (!i)
			printf("mapwatch: findings (alerts by code location, writer → %s):\n",
			       "iterator or write in flight");
		printf("  %6" PRIu64 "  %-11s %s → %s\n", f->count, mw_kind_name(f->kind),
		       f->writer, f->iter);
	}
}

/* One process's own summary, when several were watched. */
static void report_process(struct live *lv, const struct mw_summary *ps)
{
	if (env.mode == OUT_JSON) {
		char sum[2048];
		int len = mw_summary_json(ps, sum, sizeof(sum));
		if (len > 0 && (size_t)len < sizeof(sum) && !strncmp(sum, "{\"type\":\"summary\",", 18)) {
			snprintf(lv->big, sizeof(lv->big), "{\"type\":\"process_summary\",\"pid\":%d,"
				 "\"comm\":\"%s\",\"runtime\":\"%s\",\"target\":\"%s\",%s", lv->pid, lv->comm,
				 lv->rt->name, lv->st.exit_how[0] ? lv->st.exit_how : "running", sum + 18);
			out_line(lv->big);
		}
		return;
	}
	printf("mapwatch: pid %d (%s, %s): %" PRIu64 " alerts: iter-write %" PRIu64 ", iter-grow %"
	       PRIu64 ", write-write %" PRIu64 "%s, %" PRIu64 " events; %s\n", lv->pid, lv->comm,
	       lv->rt->name, ps->alerts, ps->alerts_by_kind[MW_KIND_ITER_WRITE],
	       ps->alerts_by_kind[MW_KIND_ITER_GROW], ps->alerts_by_kind[MW_KIND_WRITE_WRITE],
	       extra_kinds(ps, lv->line, sizeof(lv->line)), ps->events,
	       lv->st.exit_how[0] ? lv->st.exit_how : "running");
}

/* t += x, for the summary of several processes (live.h). */
void mw_summary_add(struct mw_summary *t, const struct mw_summary *x)
{
	t->events += x->events;
	t->drops += x->drops;
	t->alerts += x->alerts;
	for (int k = 0; k < MW_KIND_MAX; k++) {
		t->alerts_by_kind[k] += x->alerts_by_kind[k];
		t->runtime_caught[k] += x->runtime_caught[k];
	}
	t->rows += x->rows;
	t->maps += x->maps;
	t->bpf_hits += x->bpf_hits;
	t->rb_drops += x->rb_drops;
	t->map_drops += x->map_drops;
	t->unconfirmed += x->unconfirmed;
	if (x->first_ts && (!t->first_ts || x->first_ts < t->first_ts))
		t->first_ts = x->first_ts;
	if (x->last_ts > t->last_ts)
		t->last_ts = x->last_ts;
}

int main(int argc, char **argv)
{
	static struct mw_target tgt;
	static struct live lv;
	const struct mw_runtime *rt;
	char exe[PATH_MAX], err[1024], comm[64] = "", root_why[1024] = "";
	int e;
	pid_t root_pid = 0;
	int release_fd = -1, pidfd = -1, rc = 0, child_rc = 0, have_child_status = 0;
	uint64_t start, last_tick = 0;
	struct mw_tui_target tt = { 0 };

	if (argc > 1 && !strcmp(argv[1], "analyze")) {
		if (!mw_analyze_main) {
			fprintf(stderr, "mapwatch: analyze is not available in this build\n");
			return 1;
		}
		return mw_analyze_main(argc - 1, argv + 1);
	}
	parse_args(argc, argv);
	if (env.mode == OUT_AUTO)
		env.mode = !env.all && isatty(STDOUT_FILENO) && mw_tui_open ? OUT_TUI : OUT_PLAIN;
	if (!HAVE_PERFETTO && env.perfetto) {
		fprintf(stderr, "mapwatch: --perfetto is not available in this build\n");
		return 1;
	}
	/* Fully buffered and flushed after every consume round (about every
	 * millisecond): lines still appear as they happen, without a write(2)
	 * per line when alerts come by the hundred thousand. */
	static char outbuf[1 << 20];
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

	/* SIGHUP (the terminal went away) ends the run like SIGTERM: summary,
	 * complete trace, terminal restored. Unless it is ignored (nohup). */
	struct sigaction sa = { .sa_handler = on_signal }, old_hup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!sigaction(SIGHUP, NULL, &old_hup) && old_hup.sa_handler != SIG_IGN) {
		sigaction(SIGHUP, &sa, NULL);
		hup_handled = 1;
	}
	signal(SIGPIPE, SIG_IGN);

	if (env.all) {
		char why[256];
		if (mw_caps_check(why, sizeof(why))) {
			fprintf(stderr, "mapwatch: %s\n", why);
			return 1;
		}
		env.agent.json = env.mode == OUT_JSON;
		env.agent.verbose = env.verbose;
		env.agent.reads = env.reads;
		env.agent.no_stacks = env.no_stacks;
		env.agent.duration = env.duration;
		env.agent.metrics = env.metrics;
		env.agent.metrics_linger = env.metrics_linger;
		rc = mw_agent_main(&env.agent, &stop_req);
		return env.fail_on_race && rc == MW_AGENT_RACES ? 3 : rc == MW_AGENT_RACES ? 0 : rc;
	}
	if (!have_caps()) {
		fprintf(stderr, "mapwatch: permission denied: loading BPF programs and attaching uprobes "
			"needs root (or CAP_BPF and CAP_PERFMON); run it with sudo\n");
		return 1;
	}

	/* Where do the runtime's symbols live? */
	if (env.pid > 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/exe", env.pid);
		if (kill(env.pid, 0) && errno == ESRCH) {
			fprintf(stderr, "mapwatch: cannot attach to pid %d: no such process\n", env.pid);
			return 1;
		}
		ssize_t n = readlink(path, exe, sizeof(exe) - 1);
		if (n < 0) {
			fprintf(stderr, "mapwatch: cannot attach to pid %d: %s\n", env.pid,
				errno == ENOENT ? "no such process" : strerror(errno));
			return 1;
		}
		exe[n] = 0;
		/* A replaced or deleted binary, or another mount namespace: the magic link still works. */
		if (access(exe, R_OK) || strstr(exe, " (deleted)"))
			snprintf(exe, sizeof(exe), "%s", path);
		e = mw_find_target(exe, env.pid, 1, env.reads, &tgt);
		if (e == -ENOTSUP) {
			fprintf(stderr, "mapwatch: cannot attach to pid %d: %s\n", env.pid, tgt.why);
			return 1;
		}
		if (e) {
			fprintf(stderr, "mapwatch: cannot attach to pid %d: not a Go program, and libgomap "
				"symbols not found: %s (looked in %s)\n", env.pid, tgt.missing, tgt.looked);
			return 1;
		}
		read_comm(env.pid, comm, sizeof(comm));
	} else {
		e = find_cmd(env.cmd[0], exe, sizeof(exe));
		if (e) {
			fprintf(stderr, "mapwatch: cannot run %s: %s\n", env.cmd[0], strerror(-e));
			return 1;
		}
		/* The command itself may run no supported runtime (a wrapper
		 * script, `go run`, `go test`): then its descendants are. */
		e = mw_find_target(exe, 0, 0, env.reads, &tgt);
		if (!e && !env.toolchain && !strncmp(tgt.gomain, "cmd/", 4))
			snprintf(root_why, sizeof(root_why), "%s is the Go toolchain (%s), not watched "
				 "without --toolchain", exe, tgt.gomain);
		else if (e == -ENOTSUP)
			snprintf(root_why, sizeof(root_why), "%s", tgt.why);
		else if (e)
			snprintf(root_why, sizeof(root_why), "not a Go program, and libgomap symbols "
				 "not found: %s (looked in %s)", tgt.missing, tgt.looked);
		const char *b = strrchr(exe, '/');
		snprintf(comm, sizeof(comm), "%.15s", b ? b + 1 : exe);
	}

	if (env.cmd) {
		if (env.mode == OUT_TUI) {
			char tmpl[] = "/tmp/mapwatch-cmd-XXXXXX";
			child_out_fd = mkostemp(tmpl, O_CLOEXEC);
			if (child_out_fd >= 0)
				unlink(tmpl);
		}
		child_pid = spawn_stopped(env.cmd, &release_fd);
		if (child_pid < 0) {
			fprintf(stderr, "mapwatch: cannot fork: %s\n", strerror(errno));
			return 1;
		}
		/* Traced for its forks, execs and exit; held at its exec until
		 * the probes are in. */
		if (ptrace(PTRACE_SEIZE, child_pid, 0, (void *)TREE_OPTS)) {
			fprintf(stderr, "mapwatch: cannot trace %s: ptrace: %s\n", env.cmd[0], strerror(errno));
			kill_child(child_pid);
			return 1;
		}
		tracee_add(child_pid);
		root_pid = child_pid;
		if (write(release_fd, "g", 1) != 1) {
			fprintf(stderr, "mapwatch: cannot start %s: %s\n", env.cmd[0], strerror(errno));
			kill_child(child_pid);
			return 1;
		}
		close(release_fd);
		release_fd = -1;
		int st;
		pid_t held = 0;
		for (;;) {
			if (waitpid(child_pid, &st, __WALL) < 0 && errno == EINTR)
				continue;
			if (!WIFSTOPPED(st))
				break;
			if ((unsigned)st >> 16 == PTRACE_EVENT_EXEC) {
				held = child_pid;
				break;
			}
			ptrace(PTRACE_CONT, child_pid, 0, (void *)(long)((unsigned)st >> 16 ? 0 : WSTOPSIG(st)));
		}
		if (!held) {
			replay_child_output();
			fprintf(stderr, "mapwatch: cannot run %s\n", env.cmd[0]);
			return 1;
		}
		if (root_why[0]) {
			if (env.verbose)
				fprintf(stderr, "mapwatch: %s: %s; watching its descendants\n", env.cmd[0], root_why);
			ptrace(PTRACE_CONT, child_pid, 0, 0);
			held = tree_first(child_pid, &tgt, comm, sizeof(comm), &st);
			if (!held) {
				replay_child_output();
				fprintf(stderr, "mapwatch: cannot trace %s: %s; and no process it started ran a "
					"supported runtime (supported: Go %s, libgomap)\n", env.cmd[0], root_why,
					mw_runtime_go_supported());
				return 1;
			}
		}
		env.pid = held;
		snprintf(exe, sizeof(exe), "%s", tgt.module);
	}

	rt = tgt.rt;
	if (metrics_open(exe, comm))
		return 1;
	if (env.verbose) {
		if (rt->go_min)
			fprintf(stderr, "mapwatch: %s: %s (%s%s), layout %s: %s; runtime.g from %s: goid at %u, "
				"atomicstatus at %u\n", tgt.module, tgt.version, tgt.symsrc, tgt.pie ? ", PIE" : "",
				rt->name, rt->desc, tgt.layout_src, tgt.layout.g_goid, tgt.layout.g_status);
		else
			fprintf(stderr, "mapwatch: %s: layout %s: %s\n", tgt.module, rt->name, rt->desc);
	}

	lv.pid = env.pid;
	snprintf(lv.comm, sizeof(lv.comm), "%s", comm);
	if (!realpath(tgt.module, lv.module))
		snprintf(lv.module, sizeof(lv.module), "%s", tgt.module);
	lv.mode = env.mode;
	lv.rt = rt;
	lv.stab = mw_stacktab_new();
	lv.findings = mw_findings_new(rt);

	struct mw_corr_opts co = { .keep_alerts = 0, .on_alert = on_alert, .ctx = &lv };
	lv.corr = mw_corr_new(&co);
	if (!lv.corr) {
		fprintf(stderr, "mapwatch: out of memory\n");
		rc = 1;
		goto cleanup;
	}

	struct mw_loader_opts lo = {
		.pid = env.pid, .record_all = env.out || env.perfetto,
		.no_iter_records = env.mode != OUT_TUI, .verbose = env.verbose,
		.no_stacks = env.no_stacks,
		.target = &tgt, .on_record = on_record, .ctx = &lv,
	};
	lv.tgt = &tgt;
	lv.lo = &lo;
	lv.ldr = mw_loader_start(&lo, err, sizeof(err));
	if (!lv.ldr) {
		if (env.cmd)
			fprintf(stderr, "mapwatch: cannot trace %s: %s\n", env.cmd[0], err);
		else
			fprintf(stderr, "mapwatch: cannot attach to pid %d: %s\n", env.pid, err);
		rc = 1;
		goto cleanup;
	}
	if (env.verbose)
		fprintf(stderr, "mapwatch: %d probes on %s (%s), pid %d\n", mw_loader_nprobes(lv.ldr),
			tgt.module, tgt.is_exe ? "executable" : "shared library", env.pid);

	start = mono_ns();
	lv.st.start_ns = start;
	lv.last_stats_ns = start;
#if HAVE_TRACE
	if (env.out) {
		struct mw_trace_meta m = { .pid = env.pid, .start_mono_ns = start,
					   .start_realtime_ns = real_ns() };
		snprintf(m.comm, sizeof(m.comm), "%s", comm);
		snprintf(m.exe, sizeof(m.exe), "%s", exe);
		if (!mw_trace_create) {
			fprintf(stderr, "mapwatch: -o is not available in this build\n");
			rc = 1;
			goto cleanup;
		}
		lv.trace = mw_trace_create(env.out, env.force, &m, err, sizeof(err));
		if (!lv.trace) {
			fprintf(stderr, "mapwatch: %s\n", err);
			rc = 1;
			goto cleanup;
		}
		if (mw_trace_on_error)
			mw_trace_on_error(lv.trace, trace_failed_cb, &lv);
	}
#else
	if (env.out) {
		fprintf(stderr, "mapwatch: -o is not available in this build\n");
		rc = 1;
		goto cleanup;
	}
#endif
#if HAVE_PERFETTO
	if (env.perfetto) {
		if (!mw_perfetto_create) {
			fprintf(stderr, "mapwatch: --perfetto is not available in this build\n");
			rc = 1;
			goto cleanup;
		}
		lv.pft = mw_perfetto_create(env.perfetto, env.force, env.pid, start, err, sizeof(err));
		if (!lv.pft) {
			fprintf(stderr, "mapwatch: %s\n", err);
			rc = 1;
			goto cleanup;
		}
		if (mw_perfetto_process_name)
			mw_perfetto_process_name(lv.pft, comm);
	}
#endif

	/* The probes are in: let the held process run its new image. */
	if (env.cmd)
		ptrace(PTRACE_CONT, env.pid, 0, 0);
	if (!env.cmd)
		pidfd = pidfd_open_(env.pid);

	if (env.mode == OUT_TUI) {
		struct mw_tui_opts to = { .ascii = env.ascii, .no_color = getenv("NO_COLOR") != NULL,
					  .frames = env.frames, .save_trace = save_trace_cb,
					  .stack_line = stack_line_cb, .ctx = &lv };
		tt.pid = env.pid;
		snprintf(tt.comm, sizeof(tt.comm), "%s", comm);
		snprintf(tt.probed, sizeof(tt.probed), "%s", tgt.module);
		tt.probes = mw_loader_nprobes(lv.ldr);
		lv.tui = mw_tui_open(&to, &tt);
		if (!lv.tui) {
			lv.mode = env.mode = OUT_PLAIN;
		}
	} else if (env.mode == OUT_PLAIN && env.verbose) {
		fprintf(stderr, "mapwatch: watching pid %d (%s); Ctrl-C to stop\n", env.pid, comm);
	}

	/* The live loop. */
	for (;;) {
		uint64_t now = mono_ns();
		long n = mw_loader_consume(lv.ldr, 5000000);

		for (int i = 0; i < nextras && n >= 0; i++) {
			long k = mw_loader_consume(extras[i]->ldr, 2000000);
			if (k > 0)
				n += k;
		}
		if (n > 0)
			fflush(stdout);
		if (n < 0) {
			fprintf(stderr, "mapwatch: ring buffer: %s\n", strerror((int)-n));
			rc = 1;
			break;
		}
		now = mono_ns();
		if (now - lv.last_stats_ns >= 1000000000ull) {
			stats_tick(&lv, now, 0);
			for (int i = 0; i < nextras; i++)
				stats_tick(extras[i], now, 0);
			fflush(stdout);
		}
		if (lv.tui && now - last_tick >= 10000000ull) {
			last_tick = now;
			if (mw_tui_tick(lv.tui, lv.corr, &lv.st, now) == MW_TUI_QUIT)
				break;
		}
		/* -p: an exec seen through BPF (-- CMD: at its ptrace exec stop). */
		if (!env.cmd && lv.execs > lv.execs_handled) {
			lv.execs_handled = lv.execs;
			handle_exec(&lv);
		}
		if (lv.exec_stop)
			break;
		if (stop_req)
			break;
		if (env.duration > 0 && now - start >= (uint64_t)(env.duration * 1e9))
			break;
		if (!env.no_stacks && !lv.st.target_exited)
			maps_poll(&lv, now, now - start);
		if (lv.st.target_exited) {
			/* The live view stays up on the final state until q or Ctrl-C. */
			usleep(10000);
			continue;
		}
		if (child_pid > 0) {
			int status;
			if (tree_reap(&lv, child_pid, &status, 0)) {
				child_rc = exit_status_of(status, lv.st.exit_how, sizeof(lv.st.exit_how));
				have_child_status = 1;
				child_pid = 0;
				lv.st.target_exited = 1;
				if (!lv.tui)
					break;
			}
		} else if (target_gone(pidfd, env.pid)) {
			snprintf(lv.st.exit_how, sizeof(lv.st.exit_how), "exited");
			lv.st.target_exited = 1;
			if (!lv.tui)
				break;
		}
		if (n == 0)
			usleep(1000);
	}

	/* Stop the command we started (Ctrl-C, -d, or the view quit). */
	if (child_pid > 0) {
		int status;
		kill(child_pid, SIGTERM);
		for (int i = 0; i < 200; i++) {
			if (tree_reap(&lv, child_pid, &status, 0))
				break;
			usleep(10000);
			if (i == 199) {
				kill(child_pid, SIGKILL);
				while (!tree_reap(&lv, child_pid, &status, 1))
					;
			}
		}
		child_rc = exit_status_of(status, lv.st.exit_how, sizeof(lv.st.exit_how));
		have_child_status = 1;
		child_pid = 0;
	}

	/* Probes off, then drain exactly what they produced (at most one ring's
	 * worth), then the final counters: nothing lost on Ctrl-C or -d. */
	mw_loader_detach(lv.ldr);
	for (int i = 0; i < nextras; i++) {
		mw_loader_detach(extras[i]->ldr);
		drain(extras[i]->ldr);
		stats_tick(extras[i], mono_ns(), 1);
	}
	for (;;) {
		long n = mw_loader_consume(lv.ldr, 50000000);
		if (n <= 0)
			break;
		if (lv.tui && mono_ns() - last_tick >= 100000000ull) {
			last_tick = mono_ns();
			mw_tui_tick(lv.tui, lv.corr, &lv.st, last_tick);
		}
	}
	stats_tick(&lv, mono_ns(), 1);

	if (lv.tui) {
		if (lv.st.target_exited)
			mw_tui_tick(lv.tui, lv.corr, &lv.st, mono_ns());
		mw_tui_close(lv.tui);
		lv.tui = NULL;
	}
	replay_child_output();

	/* Findings of every watched process, each its own summary when there
	 * are several; then the summary of them all. */
	struct mw_summary s;
	mw_corr_summary(lv.corr, &s);
	for (int i = 0; i < nextras; i++) {
		struct mw_summary xs;
		mw_corr_summary(extras[i]->corr, &xs);
		report_findings(extras[i]);
		report_process(extras[i], &xs);
		mw_summary_add(&s, &xs);
	}
	report_findings(&lv);
	if (multi) {
		struct mw_summary ps;
		mw_corr_summary(lv.corr, &ps);
		report_process(&lv, &ps);
	}
	if (env.mode == OUT_JSON) {
		char sum[2048];
		int len = mw_summary_json(&s, sum, sizeof(sum));
		if (len > 0 && (size_t)len < sizeof(sum) - 512 && sum[len - 1] == '}') {
			sum[len - 1] = 0;
			snprintf(lv.line, sizeof(lv.line),
				 "%s,\"pid\":%d,\"records\":%" PRIu64 ",\"bpf_records\":%" PRIu64
				 ",\"slots_full\":%" PRIu64 ",\"map_full\":%" PRIu64 ",\"bad_reads\":%" PRIu64
				 ",\"stack_fails\":%" PRIu64 ",\"target\":\"%s\",\"exit_status\":%d}",
				 sum, env.pid, lv.records, (uint64_t)lv.ctr.records,
				 (uint64_t)lv.ctr.slots_full, (uint64_t)lv.ctr.map_full,
				 (uint64_t)lv.ctr.bad_reads, (uint64_t)lv.ctr.stack_fails,
				 lv.st.exit_how[0] ? lv.st.exit_how : "running",
				 have_child_status ? child_rc : -1);
			out_line(lv.line);
		} else {
			out_line(sum);
		}
	} else {
		printf("mapwatch: %" PRIu64 " events, %" PRIu64 " probe hits, %" PRIu64 " drops "
		       "(%" PRIu64 " ring buffer, %" PRIu64 " map full, %" PRIu64 " iteration slots full), "
		       "%" PRIu64 " bad reads, %" PRIu64 " stacks not captured\n",
		       s.events, (uint64_t)lv.ctr.hits, s.drops, (uint64_t)lv.ctr.rb_drops,
		       (uint64_t)lv.ctr.map_full, (uint64_t)lv.ctr.slots_full,
		       (uint64_t)lv.ctr.bad_reads, (uint64_t)lv.ctr.stack_fails);
		printf("mapwatch: %" PRIu64 " alerts: iter-write %" PRIu64 ", iter-grow %" PRIu64
		       ", write-write %" PRIu64 "%s (%" PRIu64 " rows, %" PRIu64 " maps)\n",
		       s.alerts, s.alerts_by_kind[MW_KIND_ITER_WRITE],
		       s.alerts_by_kind[MW_KIND_ITER_GROW], s.alerts_by_kind[MW_KIND_WRITE_WRITE],
		       extra_kinds(&s, lv.line, sizeof(lv.line)), s.rows, s.maps);
		if (s.unconfirmed)
			printf("mapwatch: %" PRIu64 " more not counted: writes into a Go iteration never seen "
			       "moving on afterwards (possibly left by break or return)\n", s.unconfirmed);
		for (int k = 1; k < MW_KIND_MAX; k++)
			if (s.runtime_caught[k])
				printf("mapwatch: the runtime itself caught %" PRIu64 " %s race%s\n",
				       s.runtime_caught[k], mw_kind_name(k), s.runtime_caught[k] > 1 ? "s" : "");
		if (lv.st.exit_how[0])
			printf("mapwatch: pid %d %s\n", root_pid > 0 ? root_pid : env.pid, lv.st.exit_how);
		fflush(stdout);
	}
#if HAVE_TRACE
	int trace_bad = 0;
	if (lv.trace) {
		int terr;

		mw_trace_summary(lv.trace, &s);
		mw_trace_flush(lv.trace);
		terr = mw_trace_error ? mw_trace_error(lv.trace) : 0;
		if (mw_trace_close(lv.trace) < 0) {
			trace_bad = 1;
			if (!lv.trace_failed)	/* else said at the failed write */
				fprintf(stderr, "mapwatch: cannot write trace file '%s': %s\n", env.out,
					strerror(terr ? terr : errno ? errno : EIO));
		}
		lv.trace = NULL;
	}
#endif
#if HAVE_PERFETTO
	if (lv.pft) {
		mw_perfetto_close(lv.pft);
		lv.pft = NULL;
	}
#endif
	metrics_linger();
	rc = have_child_status ? child_rc : 0;
	if (env.fail_on_race && s.alerts)
		rc = 3;
#if HAVE_TRACE
	if (trace_bad)
		rc = 1;	/* the recording is incomplete: an error, whatever else happened */
#endif

cleanup:
	if (release_fd >= 0)
		close(release_fd);
	if (child_pid > 0)
		kill_child(child_pid);
	if (pidfd >= 0)
		close(pidfd);
	if (lv.tui)
		mw_tui_close(lv.tui);
	replay_child_output();
#if HAVE_TRACE
	if (lv.trace)
		mw_trace_close(lv.trace);
#endif
	for (int i = 0; i < nextras; i++)
		live_free(extras[i]);
	nextras = 0;
	mw_loader_free(lv.ldr);
	mw_corr_free(lv.corr);
	mw_sym_free(lv.sym);
	mw_sym_free(lv.sym_dead);
	free(lv.maps_text);
	mw_stacktab_free(lv.stab);
	mw_findings_free(lv.findings);
	mw_metrics_stop(metrics);
	return rc;
}
