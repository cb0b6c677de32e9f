/* agent.c — the host-wide mode, `mapwatch --all` (agent.h).
 *
 * Discovery: a /proc scan at start, then every exec on the host (the BPF
 * raw tracepoint mw_exec with exec_all set, in a BPF object of its own that
 * loads nothing else), and a slow rescan as a safety net. A process is
 * watched when its executable is a supported Go binary or holds libgomap,
 * or when it maps libgomap.so; the file that holds the runtime is reached
 * through /proc/PID/exe or /proc/PID/root, so a container's binary at a
 * path the host does not have is found too.
 *
 * One BPF object (struct bin) per runtime file (device, inode): its uprobes
 * fire in every process of that file and BPF keeps the watched pids
 * (mw_loader_add_pid). A binary's object outlives its last process by
 * BIN_LINGER_NS, so a service that restarts is not re-resolved and
 * re-attached each time, then it is freed: memory follows what runs.
 *
 * Each watched process (struct proc) is a watched process of the session
 * (session.h: mw_session_add_shared;
 * correlator, findings, stacks, lines named by process). Its findings are
 * folded once a second into its binary's findings (struct mw_bin_finding, with counts
 * per process), which outlive it; at its exit its BPF state, correlator and
 * stacks are freed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"
#include "format.h"
#include "loader.h"
#include "metrics.h"
#include "probe_elf.h"
#include "procinfo.h"
#include "sampler.h"
#include "session.h"
#include "tree.h"
#include "tui.h"
#include "stacktab.h"

#define BIN_LINGER_NS	(30 * 1000000000ull)	/* a binary's probes stay this long after its last process */
#define VIEW_TICK_NS	10000000ull		/* the host view's model is rebuilt and ticked this often */
#define RESCAN_NS	(10 * 1000000000ull)	/* the /proc safety net (MAPWATCH_RESCAN_SEC overrides) */
#define AGG_MAX		512			/* findings kept per binary; the rest summed in one */
#define MAX_PROCS	MW_MAX_PROCS
#define PENDING_MAX	4096			/* execs waiting to be looked at */
#define CACHE_MAX	4096			/* files whose resolution is remembered */
#define OPT_OUT_XATTR	"user.mapwatch.ignore"
#define SEEN_MAX	16384			/* processes looked at and not watched (rescans skip them) */


struct proc;

struct bin {
	struct bin *next;
	dev_t dev;
	ino_t ino;
	int id;				/* attachment number, from 1 */
	char name[MW_METRICS_NAME];	/* the executable's file name (the metrics label) */
	struct mw_target *t;		/* NULL once the loader is freed */
	struct mw_loader_opts lo;
	struct mw_loader *ldr;
	int fd;				/* O_PATH of the file, where its probes attach (the sampler re-arms) */
	struct mw_sampler *smp;		/* sampled (the default): the windows of ldr, the CPU time of procs */
	struct proc *procs;
	int nprocs;
	uint64_t idle_since;		/* when its last process left */
	struct mw_counters ctr_done;	/* counters of its freed loaders */
	struct mw_counters ctr;		/* of the current one */
	struct mw_summary sum_done;	/* of its processes that ended */
	struct mw_bin_finding *agg;
	size_t nagg, cagg;
	uint64_t agg_overflow[MW_KIND_MAX];
};

struct proc {
	struct proc *next;		/* in its bin */
	struct bin *bin;
	struct mw_watched *w;		/* in A.s */
	struct mw_procinfo info;
	uint64_t looked_ns;		/* when its /proc was read: an exec before it is the image watched */
	int pidfd;
	uint64_t *folded;		/* per finding (mw_findings_at order): occurrences already in bin->agg */
	size_t nfolded;
};

/* What a runtime file resolved to, by (device, inode) of the executable. */
enum { RES_NONE = 1, RES_EXE, RES_FAIL, RES_TOOLCHAIN };
struct cached {
	dev_t dev;
	ino_t ino;
	int res;
	int reason;			/* RES_FAIL: enum mw_attach_reason */
};

static struct {
	const struct mw_opts *o;
	struct bin *bins;
	int nbins_made;			/* attachments made */
	struct proc *byslot[MAX_PROCS];	/* the watched processes, any order */
	int nprocs;
	uint64_t watched_total;		/* processes watched so far */
	uint64_t no_runtime, excluded, opted_out, toolchain, unrouted;
	uint64_t failures[MW_ATTACH_REASONS];
	uint64_t records;
	struct mw_counters ctr_gone;	/* of binaries forgotten (no findings) */
	struct mw_summary sum_gone;
	struct { int pid; uint64_t ts; } pending[PENDING_MAX];	/* execs: pid, when (CLOCK_MONOTONIC) */
	int npending;
	int rescan_now;
	int freed;			/* a process or binary was let go since the last tick */
	struct cached cache[CACHE_MAX];
	int ncache;
	struct { int pid; unsigned long long start; } seen[SEEN_MAX];
	int nseen;
	pid_t self;
	struct mw_sink *metrics;	/* --metrics: the endpoint (sink_metrics.c), a sink of A.s */
	struct mw_tui *tui;		/* the host view on a terminal (sink_tui.c), else NULL */
	struct mw_tui_finding *finds;	/* its findings, rebuilt before every tick */
	size_t finds_cap;
	int json;			/* --json, else plain lines */
	struct mw_session *s;		/* the watched processes and the outputs of their alerts */
	struct mw_run_mode mode;	/* sampled: the windows of every binary, summed */
	uint64_t armed_ns, elapsed_ns;
	uint64_t start_ns;
	char line[16384];
} A;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *base_name(const char *p)
{
	const char *b = strrchr(p, '/');

	return b ? b + 1 : p;
}

static void out(const char *s)
{
	fputs(s, stdout);
	fputc('\n', stdout);
}

/* ---- counters ----------------------------------------------------------------- */

static void ctr_add(struct mw_counters *t, const struct mw_counters *x)
{
	t->hits += x->hits;
	t->records += x->records;
	t->rb_drops += x->rb_drops;
	t->map_full += x->map_full;
	t->slots_full += x->slots_full;
	t->bad_reads += x->bad_reads;
	t->stack_fails += x->stack_fails;
	t->expired += x->expired;
	t->agg_counted += x->agg_counted;
	t->agg_full += x->agg_full;
}

static void totals(struct mw_counters *c)
{
	*c = A.ctr_gone;
	for (struct bin *b = A.bins; b; b = b->next) {
		ctr_add(c, &b->ctr_done);
		ctr_add(c, &b->ctr);
	}
}

/* ---- findings of a binary, with counts per process ---------------------------- */

static struct mw_bin_finding *agg_find(struct bin *b, const struct mw_finding *f)
{
	for (size_t i = 0; i < b->nagg; i++)
		if (b->agg[i].kind == f->kind && !strcmp(b->agg[i].writer, f->writer) &&
		    !strcmp(b->agg[i].iter, f->iter))
			return &b->agg[i];
	if (b->nagg >= AGG_MAX)
		return NULL;
	if (b->nagg == b->cagg) {
		size_t nc = b->cagg ? b->cagg * 2 : 8;
		struct mw_bin_finding *na = realloc(b->agg, nc * sizeof(*na));
		if (!na)
			return NULL;
		b->agg = na;
		b->cagg = nc;
	}
	struct mw_bin_finding *a = &b->agg[b->nagg++];
	memset(a, 0, sizeof(*a));
	a->kind = f->kind;
	snprintf(a->writer, sizeof(a->writer), "%s", f->writer);
	snprintf(a->iter, sizeof(a->iter), "%s", f->iter);
	return a;
}

static void agg_add(struct bin *b, const struct mw_finding *f, const struct mw_procinfo *pi, uint64_t n)
{
	struct mw_bin_finding *a = agg_find(b, f);
	int i;

	if (!a) {
		b->agg_overflow[f->kind < MW_KIND_MAX ? f->kind : 0] += n;
		return;
	}
	a->count += n;
	for (i = 0; i < a->npids && a->p[i].pid != pi->pid; i++)
		;
	if (i < a->npids) {
		a->p[i].count += n;
	} else if (a->npids < MW_BIN_FINDING_PIDS) {
		a->p[a->npids].pid = pi->pid;
		a->p[a->npids].nspid = pi->nspid;
		a->p[a->npids++].count = n;
	} else {
		a->others += n;
		a->nothers++;	/* once per fold: an upper bound of the processes */
	}
}

/* Move what p's findings counted since the last fold into its binary's. */
static void fold(struct proc *p)
{
	const struct mw_findings *fs = p->w->findings;
	size_t n = mw_findings_count(fs);

	if (n > p->nfolded) {
		uint64_t *nf = realloc(p->folded, n * sizeof(*nf));
		if (!nf)
			return;
		memset(nf + p->nfolded, 0, (n - p->nfolded) * sizeof(*nf));
		p->folded = nf;
		p->nfolded = n;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mw_finding *f = mw_findings_at(fs, i);
		if (f->count > p->folded[i]) {
			agg_add(p->bin, f, &p->info, f->count - p->folded[i]);
			p->folded[i] = f->count;
		}
	}
}

/* ---- binaries ------------------------------------------------------------------- */

/* The one place --all chooses its cost: a ring of 4 MiB per binary (32 MiB
 * each would not scale to a host); the sampled mode is the default (cli.c),
 * started in bin_open. */
static void cost_defaults(struct mw_loader_opts *lo)
{
	lo->rb_bytes = 4 << 20;
}

/* The binary's sampler stops: its windows go into the run's mode. */
static void bin_sampler_stop(struct bin *b)
{
	struct mw_sampler_stats st;

	if (!b->smp)
		return;
	mw_sampler_stop(b->smp, &st);
	b->smp = NULL;
	A.mode.windows += st.windows;
	A.mode.iters_windowed |= st.iters_windowed;
	A.mode.target_cpu_ns += st.target_cpu_ns;
	A.mode.probe_cost_ns += st.spent_ns;
	A.mode.hit_ns = st.hit_ns;
	A.armed_ns += st.armed_ns;
	A.elapsed_ns += st.elapsed_ns;
}

static void on_bin_record(void *ctx, const struct mw_record *r)
{
	struct bin *b = ctx;

	A.records++;
	for (struct proc *p = b->procs; p; p = p->next)
		if ((uint32_t)p->info.pid == r->pid) {
			mw_session_record(p->w, r);
			return;
		}
	A.unrouted++;	/* a process already dropped: its last records */
}

static void bin_drain(struct bin *b)
{
	if (b->ldr)
		while (mw_loader_consume(b->ldr, 50000000) > 0)
			;
}

static void bin_unload(struct bin *b)
{
	if (!b->ldr)
		return;
	bin_sampler_stop(b);
	mw_loader_detach(b->ldr);
	bin_drain(b);
	mw_loader_counters(b->ldr, &b->ctr);
	ctr_add(&b->ctr_done, &b->ctr);
	memset(&b->ctr, 0, sizeof(b->ctr));
	mw_loader_free(b->ldr);
	b->ldr = NULL;
	close(b->fd);
	free(b->t);
	b->t = NULL;
	A.freed = 1;
}

static struct bin *bin_of(dev_t dev, ino_t ino)
{
	for (struct bin *b = A.bins; b; b = b->next)
		if (b->dev == dev && b->ino == ino)
			return b;
	return NULL;
}

/* ---- the resolution cache -------------------------------------------------------- */

static struct cached *cache_get(dev_t dev, ino_t ino)
{
	for (int i = 0; i < A.ncache; i++)
		if (A.cache[i].dev == dev && A.cache[i].ino == ino)
			return &A.cache[i];
	return NULL;
}

static void cache_put(dev_t dev, ino_t ino, int res, int reason)
{
	struct cached *c = cache_get(dev, ino);

	if (!c) {
		if (A.ncache == CACHE_MAX)
			A.ncache = 0;	/* forget everything: resolving again is only slower */
		c = &A.cache[A.ncache++];
	}
	*c = (struct cached){ .dev = dev, .ino = ino, .res = res, .reason = reason };
}

/* ---- processes looked at and left alone: a rescan passes them by ------------------ */

static unsigned seen_slot(int pid)
{
	return ((unsigned)pid * 2654435761u) % SEEN_MAX;
}

static int seen_has(int pid, unsigned long long start)
{
	for (unsigned i = 0, h = seen_slot(pid); i < SEEN_MAX && A.seen[h].pid; i++, h = (h + 1) % SEEN_MAX)
		if (A.seen[h].pid == pid)
			return A.seen[h].start == start;
	return 0;
}

static void seen_put(int pid, unsigned long long start)
{
	unsigned h = seen_slot(pid);

	if (A.nseen >= SEEN_MAX * 3 / 4) {
		memset(A.seen, 0, sizeof(A.seen));	/* forget: a rescan looks again */
		A.nseen = 0;
	}
	while (A.seen[h].pid && A.seen[h].pid != pid)
		h = (h + 1) % SEEN_MAX;
	if (!A.seen[h].pid)
		A.nseen++;
	A.seen[h].pid = pid;
	A.seen[h].start = start;
}

/* ---- processes ------------------------------------------------------------------ */

static struct proc *proc_of(int pid)
{
	for (int i = 0; i < A.nprocs; i++)
		if (A.byslot[i]->info.pid == pid)
			return A.byslot[i];
	return NULL;
}

/* A process line: plain, or a JSON line; none under the live view (it lists them). */
static void say(const struct mw_proc_event *e)
{
	if (A.tui)
		return;
	if (A.json) {
		mw_fmt_proc_event_json(A.line, sizeof(A.line), e);
		out(A.line);
	} else {
		mw_fmt_proc_event_text(stdout, e);
	}
}

static void say_failure(const struct mw_procinfo *pi, int reason, const char *why)
{
	A.failures[reason]++;
	say(&(struct mw_proc_event){ .event = "failed", .pid = pi->pid, .nspid = pi->nspid, .path = pi->exe,
				     .reason = mw_metrics_reason_name(reason), .how = why });
}

static void say_proc(const struct proc *p, const char *event, const char *how)
{
	const struct mw_procinfo *pi = &p->info;
	const struct bin *b = p->bin;
	struct mw_summary s = { 0 };

	if (strcmp(event, "watch"))
		mw_session_proc_summary(p->w, &s);
	say(&(struct mw_proc_event){ .event = event, .pid = pi->pid, .nspid = pi->nspid, .comm = pi->comm,
				     .path = pi->exe, .binary = b->name, .cgroup = pi->cgroup,
				     .runtime = b->t ? b->t->rt->name : "", .version = b->t ? b->t->version : "",
				     .attachment = b->id, .shared = b->nprocs > 1, .how = how,
				     .alerts = s.alerts, .events = s.events });
}

/* Take p out of its binary and of the watched processes, and free it. */
static void proc_free(struct proc *p)
{
	struct bin *b = p->bin;

	for (struct proc **pp = &b->procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (--b->nprocs == 0)
		b->idle_since = now_ns();
	for (int i = 0; i < A.nprocs; i++)
		if (A.byslot[i] == p) {
			A.byslot[i] = A.byslot[--A.nprocs];
			break;
		}
	if (b->smp)
		mw_sampler_del_pid(b->smp, p->info.pid);
	mw_session_remove(A.s, p->w);
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p->folded);
	free(p);
	A.freed = 1;
}

/* Stop watching p: what its binary's probes produced for it is consumed,
 * its findings folded into the binary's, its state in BPF and ours freed. */
static void proc_drop(struct proc *p, const char *how)
{
	struct bin *b = p->bin;
	struct mw_summary s;

	bin_drain(b);
	if (b->ldr)
		mw_loader_flush_pid(b->ldr, p->info.pid);	/* the counts the kernel still holds */
	fold(p);
	say_proc(p, "exit", how);
	mw_session_proc_summary(p->w, &s);
	s.bpf_hits = s.rb_drops = s.map_drops = s.drops = 0;	/* the binary's, counted there */
	mw_summary_add(&b->sum_done, &s);
	if (b->ldr)
		mw_loader_del_pid(b->ldr, p->info.pid);
	proc_free(p);
}

/* Is pid mapwatch itself or one of its descendants? */
static int ours(const struct mw_procinfo *pi)
{
	int pid = pi->ppid;

	if (pi->pid == A.self)
		return 1;
	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		struct mw_procinfo up;
		if (pid == A.self)
			return 1;
		if (mw_procinfo_read(pid, &up) && !up.start)
			return 0;
		pid = up.ppid;
	}
	return 0;
}

/* The file holding pid's runtime, opened from the host: its executable
 * (through /proc/PID/exe), else a libgomap it maps (through
 * /proc/PID/root). 0 with *t filled and path the file as the process names
 * it; -ENOENT: no runtime; -ENOTSUP: unsupported (t->why). */
static int resolve(const struct mw_procinfo *pi, struct stat *st, struct mw_target *t, char *path,
		   size_t plen, int *reason)
{
	char exe[64], host[PATH_MAX + 64];
	struct cached *c;
	int e;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pi->pid);
	if (stat(exe, st))
		return *reason = errno == EACCES ? MW_ATTACH_PERMISSION : MW_ATTACH_GONE, -errno;
	/* Attached already: its processes share it (t is not needed then). */
	struct bin *b = bin_of(st->st_dev, st->st_ino);
	if (b && b->ldr) {
		snprintf(path, plen, "%s", pi->exe);
		return 0;
	}
	c = cache_get(st->st_dev, st->st_ino);
	if (!c || c->res == RES_EXE) {
		e = mw_find_target(exe, 0, MW_FIND_FILE_ONLY, A.o->reads, t);
		if (!e && !strncmp(t->gomain, "cmd/", 4)) {
			cache_put(st->st_dev, st->st_ino, RES_TOOLCHAIN, 0);
			return -EPERM;
		}
		if (!e) {
			cache_put(st->st_dev, st->st_ino, RES_EXE, 0);
			snprintf(path, plen, "%s", pi->exe);
			return 0;
		}
		/* A Go version without a layout row, or a supported one whose
		 * probe sites were not all found (probe_go.c says which). */
		int r = strstr(t->why, " is built with ") ? MW_ATTACH_UNSUPPORTED : MW_ATTACH_SYMBOLS;
		cache_put(st->st_dev, st->st_ino, e == -ENOTSUP ? RES_FAIL : RES_NONE, r);
		if (e == -ENOTSUP)
			return *reason = r, -ENOTSUP;
	} else if (c->res == RES_FAIL) {
		snprintf(t->why, sizeof(t->why), "its binary could not be watched before (see above)");
		return *reason = c->reason, -ENOTSUP;
	} else if (c->res == RES_TOOLCHAIN) {
		return -EPERM;
	}
	/* Not in the executable: a libgomap.so it maps? */
	char maps[64], lbuf[PATH_MAX + 256];
	FILE *f;
	int found = -ENOENT;
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pi->pid);
	if (!(f = fopen(maps, "re")))
		return -ENOENT;
	while (found && fgets(lbuf, sizeof(lbuf), f)) {
		char *p = strchr(lbuf, '/');
		if (!p || strncmp(base_name(p), "libgomap", 8))
			continue;
		p[strcspn(p, "\n")] = 0;
		if (strstr(p, " (deleted)"))
			continue;
		snprintf(host, sizeof(host), "/proc/%d/root%s", pi->pid, p);
		if (stat(host, st))
			continue;
		c = cache_get(st->st_dev, st->st_ino);
		if (c && c->res == RES_NONE)
			continue;
		if ((b = bin_of(st->st_dev, st->st_ino)) && b->ldr) {
			snprintf(path, plen, "%s", p);
			found = 0;
			break;
		}
		if (mw_find_target(host, 0, MW_FIND_FILE_ONLY, A.o->reads, t)) {
			cache_put(st->st_dev, st->st_ino, RES_NONE, 0);
			continue;
		}
		t->is_exe = 0;
		snprintf(path, plen, "%s", p);
		found = 0;
	}
	fclose(f);
	return found;
}

/* A binary's attachment, opened for its first process (t: its target,
 * read only then), through that process's view of the file. */
static struct bin *bin_open(const struct mw_procinfo *pi, const struct stat *st, const struct mw_target *t,
			    const char *path, char *err, size_t errlen)
{
	struct bin *b = bin_of(st->st_dev, st->st_ino);

	if (!b) {
		if (!(b = calloc(1, sizeof(*b)))) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		b->dev = st->st_dev;
		b->ino = st->st_ino;
		snprintf(b->name, sizeof(b->name), "%s", base_name(t->is_exe ? pi->exe : path));
		b->next = A.bins;
		A.bins = b;
	}
	if (b->ldr)
		return b;
	if (!(b->t = malloc(sizeof(*b->t)))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*b->t = *t;
	/* The kernel resolves the path at each uprobe it attaches: a file
	 * descriptor of the file, opened through the process's magic links
	 * (its mount namespace), stays valid when the process is gone before
	 * the last probe is in (loading and attaching take a while). */
	char src[PATH_MAX + 64];
	if (t->is_exe)
		snprintf(src, sizeof(src), "/proc/%d/exe", pi->pid);
	else
		snprintf(src, sizeof(src), "/proc/%d/root%s", pi->pid, path);
	int fd = open(src, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", src, strerror(errno));
		free(b->t);
		b->t = NULL;
		return NULL;
	}
	snprintf(b->t->module, sizeof(b->t->module), "/proc/self/fd/%d", fd);
	b->lo = (struct mw_loader_opts){
		.pid = 0, .shared = 1, .verbose = A.o->verbose, .no_stacks = A.o->no_stacks,
		.no_iter_records = 1, .target = b->t, .on_record = on_bin_record, .ctx = b,
	};
	cost_defaults(&b->lo);
	b->ldr = mw_loader_start(&b->lo, err, errlen);
	if (!b->ldr) {
		close(fd);
		free(b->t);
		b->t = NULL;
		return NULL;
	}
	b->fd = fd;	/* kept: the sampler's windows attach through it again */
	if (A.o->sampled) {
		struct mw_sampler_opts so = { .budget = A.o->budget, .go = t->layout.go,
					      .verbose = A.o->verbose };
		if (!(b->smp = mw_sampler_start(b->ldr, &so)))
			fprintf(stderr, "mapwatch: %s: cannot start the sampled mode (%s): watching every write\n",
				b->name, strerror(errno));
	}
	b->id = ++A.nbins_made;
	if (A.o->verbose)
		fprintf(stderr, "mapwatch: attachment %d: %d probes on %s (%s%s%s, device %u:%u inode %lu)\n",
			b->id, mw_loader_nprobes(b->ldr), path, t->rt->name, t->version[0] ? " " : "",
			t->version, major(st->st_dev), minor(st->st_dev), (unsigned long)st->st_ino);
	return b;
}

/* Look at pid (found at start, at its exec, or by a rescan); watch it when
 * it runs a supported runtime and passes the filters. */
static void consider(int pid, const char *how)
{
	struct mw_procinfo pi;
	static struct mw_target t;
	struct stat st;
	char path[PATH_MAX], err[1024];
	int reason = MW_ATTACH_OTHER, e;
	uint64_t looked = now_ns();

	if (pid == A.self || proc_of(pid) || A.nprocs >= MAX_PROCS)
		return;
	if (mw_procinfo_read(pid, &pi))
		return;	/* gone, or a kernel thread */
	if (!strcmp(how, "rescan") && seen_has(pid, pi.start))
		return;
	seen_put(pid, pi.start);	/* a rescan passes it by (it is watched, or never will be) */
	if (mw_filters_reject(&A.o->filters, pi.exe, pi.cgroup)) {
		A.excluded++;
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (getxattr(path, OPT_OUT_XATTR, NULL, 0) >= 0) {
		A.opted_out++;
		return;
	}
	e = resolve(&pi, &st, &t, path, sizeof(path), &reason);
	if (e == -EPERM) {
		A.toolchain++;
		return;
	}
	if (e == -ENOENT || (e && reason == MW_ATTACH_GONE)) {
		A.no_runtime += e == -ENOENT;
		return;
	}
	if (e) {
		say_failure(&pi, reason, t.why[0] ? t.why : strerror(-e));
		return;
	}
	if (ours(&pi))
		return;
	struct bin *b = bin_open(&pi, &st, &t, path, err, sizeof(err));
	if (!b) {
		say_failure(&pi, mw_procinfo_start(pid) != pi.start ? MW_ATTACH_GONE : MW_ATTACH_PROBE, err);
		return;
	}
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->info = pi;
	p->looked_ns = looked;
	p->bin = b;
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	p->w = mw_session_add_shared(A.s, pid, b->t, pi.comm, path, b->ldr, pi.nspid, b->name, pi.cgroup);
	if (!p->w || mw_loader_add_pid(b->ldr, pid)) {
		if (p->w)
			mw_session_remove(A.s, p->w);
		if (p->pidfd >= 0)
			close(p->pidfd);
		free(p);
		say_failure(&pi, MW_ATTACH_OTHER, "cannot add it to its binary's watched set");
		return;
	}
	if (b->smp && mw_sampler_add_pid(b->smp, pid) && A.o->verbose)
		fprintf(stderr, "mapwatch: pid %d: %s's sampler counts no more processes' CPU time\n",
			pid, b->name);
	/* Exited between the look and the pid filter: nothing of it will come. */
	p->next = b->procs;
	b->procs = p;
	b->nprocs++;
	A.byslot[A.nprocs++] = p;
	A.watched_total++;
	say_proc(p, "watch", how);
}

/* ---- discovery ------------------------------------------------------------------ */

static void on_exec(void *ctx, const struct mw_record *r)
{
	(void)ctx;
	if (r->type != MW_REC_EXEC)
		return;
	if (A.npending < PENDING_MAX) {
		A.pending[A.npending].pid = (int)r->pid;
		A.pending[A.npending++].ts = r->ts;
	} else
		A.rescan_now = 1;	/* too many at once: /proc will tell */
}

static void handle_execs(void)
{
	for (int i = 0; i < A.npending; i++) {
		struct proc *p = proc_of(A.pending[i].pid);
		/* An exec from before its /proc was read (a rescan got to it
		 * first): the image watched is the new one already. */
		if (p && A.pending[i].ts < p->looked_ns)
			continue;
		if (p)
			proc_drop(p, "exec'd another program");
		consider(A.pending[i].pid, "exec");
	}
	A.npending = 0;
}

static void scan(const char *how)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		consider((int)pid, how);
	}
	closedir(d);
}

/* Processes that ended (their pidfd is readable), or, without a pidfd, whose pid is gone or reused. */
static void reap(void)
{
	for (int i = A.nprocs - 1; i >= 0; i--) {
		struct proc *p = A.byslot[i];
		int gone;
		if (p->pidfd >= 0) {
			struct pollfd pf = { .fd = p->pidfd, .events = POLLIN };
			gone = poll(&pf, 1, 0) > 0;
		} else {
			gone = mw_procinfo_start(p->info.pid) != p->info.start;
		}
		if (gone)
			proc_drop(p, "exited");
	}
}

/* Binaries without processes for BIN_LINGER_NS: probes off, memory back.
 * Those with nothing to report are forgotten altogether. */
static void expire(uint64_t now)
{
	for (struct bin **bp = &A.bins; *bp;) {
		struct bin *b = *bp;
		if (!b->nprocs && b->ldr && now - b->idle_since > BIN_LINGER_NS)
			bin_unload(b);
		if (!b->ldr && !b->nprocs && !b->nagg && !b->sum_done.alerts) {
			*bp = b->next;
			ctr_add(&A.ctr_gone, &b->ctr_done);
			mw_summary_add(&A.sum_gone, &b->sum_done);
			free(b->agg);
			free(b);
			continue;
		}
		bp = &b->next;
	}
}

/* ---- once a second ------------------------------------------------------------- */

/* A binary's race sites from its findings, grouped by (kind, writer site)
 * in order of first occurrence, at most cap per kind (metrics.h). */
static void bin_sites(const struct bin *b, struct mw_metrics_proc *mp, size_t cap)
{
	size_t per_kind[MW_KIND_MAX] = { 0 };

	mp->sites = b->nagg ? calloc(b->nagg, sizeof(*mp->sites)) : NULL;
	mp->nsites = 0;
	for (size_t i = 0; mp->sites && i < b->nagg; i++) {
		const struct mw_bin_finding *a = &b->agg[i];
		char site[MW_METRICS_SITE];
		size_t j;
		mw_metrics_site_of(a->writer, site, sizeof(site));
		for (j = 0; j < mp->nsites; j++)
			if (mp->sites[j].kind == a->kind && !strcmp(mp->sites[j].site, site))
				break;
		if (j == mp->nsites) {
			if (a->kind >= MW_KIND_MAX || per_kind[a->kind] >= cap)
				continue;
			per_kind[a->kind]++;
			mp->sites[j].kind = a->kind;
			snprintf(mp->sites[j].site, sizeof(mp->sites[j].site), "%s", site);
			mp->nsites++;
		}
		mp->sites[j].count += a->count;
	}
}

/* A binary's summary: its ended processes and its running ones. */
static void bin_summary(const struct bin *b, struct mw_summary *s)
{
	*s = b->sum_done;
	for (const struct proc *p = b->procs; p; p = p->next) {
		struct mw_summary x;
		mw_session_proc_summary(p->w, &x);
		x.bpf_hits = x.rb_drops = x.map_drops = x.drops = 0;
		mw_summary_add(s, &x);
	}
}

static void metrics_update(int final)
{
	struct mw_metrics_snapshot snap = { 0 };
	struct mw_counters c;
	size_t n = (size_t)A.nprocs, k = 0;

	if (!A.metrics)
		return;
	for (struct bin *b = A.bins; b; b = b->next)
		n++;
	struct mw_metrics_proc *mp = calloc(n ? n : 1, sizeof(*mp));
	if (!mp)
		return;
	/* One series set per binary (its races and hits, watched = 0), one
	 * row per running process (process_info, processes_watched). */
	for (struct bin *b = A.bins; b; b = b->next, k++) {
		struct mw_summary s;
		bin_summary(b, &s);
		snprintf(mp[k].binary, sizeof(mp[k].binary), "%s", b->name);
		snprintf(mp[k].runtime, sizeof(mp[k].runtime), "%s", b->t ? b->t->rt->name : "");
		mp[k].probe_hits = b->ctr_done.hits + b->ctr.hits;
		memcpy(mp[k].races, s.alerts_by_kind, sizeof(mp[k].races));
		memcpy(mp[k].runtime_caught, s.runtime_caught, sizeof(mp[k].runtime_caught));
		bin_sites(b, &mp[k], MW_METRICS_SITE_CAP);
	}
	for (int i = 0; i < A.nprocs; i++, k++) {
		const struct proc *p = A.byslot[i];
		mp[k].pid = p->info.pid;
		mp[k].watched = 1;
		snprintf(mp[k].binary, sizeof(mp[k].binary), "%s", p->bin->name);
		snprintf(mp[k].runtime, sizeof(mp[k].runtime), "%s", p->bin->t->rt->name);
	}
	totals(&c);
	snap.procs = mp;
	snap.nprocs = k;
	snap.records = A.records;
	snap.drops_ring_buffer = c.rb_drops;
	snap.drops_map_full = c.map_full;
	snap.drops_slots_full = c.slots_full;
	snap.bad_reads = c.bad_reads;
	snap.stacks_missed = c.stack_fails;
	snap.attachments = (uint64_t)A.nbins_made;
	memcpy(snap.attach_failures, A.failures, sizeof(snap.attach_failures));
	mw_sink_metrics_publish(A.metrics, &snap, final);
	for (size_t i = 0; i < k; i++)
		mw_metrics_proc_free(&mp[i]);
	free(mp);
}

static void tick(uint64_t now)
{
	for (struct bin *b = A.bins; b; b = b->next)
		if (b->ldr)
			mw_loader_counters(b->ldr, &b->ctr);
	for (int i = 0; i < A.nprocs; i++) {
		mw_session_proc_tick(A.byslot[i]->w, now);
		fold(A.byslot[i]);
	}
	metrics_update(0);
	/* A process's state is freed from the middle of the heap, where malloc
	 * keeps the pages; give them back so that RSS follows what is in use
	 * (a few ms for tens of MiB, at most once a second, only after churn). */
	if (A.freed) {
		A.freed = 0;
		malloc_trim(0);
	}
}

/* ---- the live view ---------------------------------------------------------------- */

/* The host view's model, from the watched processes and every binary's
 * findings, then its tick; MW_TUI_QUIT when the user quit. */
static int host_tick(uint64_t now)
{
	static struct mw_tui_proc procs[MAX_PROCS];
	struct mw_tui_host h = { .procs = procs, .nprocs = (size_t)A.nprocs, .start_ns = A.start_ns,
				 .watched_total = A.watched_total };
	struct mw_counters c;
	size_t nf = 0;

	for (int i = 0; i < A.nprocs; i++) {
		const struct proc *p = A.byslot[i];
		struct mw_watched *w = p->w;

		procs[i] = (struct mw_tui_proc){ .pid = p->info.pid, .nspid = p->info.nspid, .comm = w->comm,
			.binary = p->bin->name, .cgroup = p->info.cgroup,
			.probed = w->module, .probes = mw_loader_nprobes(p->bin->ldr),
			.corr = w->corr, .st = &w->st, .ctx = w };
	}
	for (struct bin *b = A.bins; b; b = b->next) {
		h.binaries += b->ldr != NULL;
		if (nf + b->nagg > A.finds_cap) {
			size_t cap = (nf + b->nagg) * 2;
			struct mw_tui_finding *n = realloc(A.finds, cap * sizeof(*n));
			if (!n)
				break;
			A.finds = n;
			A.finds_cap = cap;
		}
		for (size_t j = 0; j < b->nagg; j++)
			A.finds[nf++] = (struct mw_tui_finding){ .binary = b->name, .f = &b->agg[j] };
	}
	h.finds = A.finds;
	h.nfinds = nf;
	h.failures = mw_metrics_failures_total(A.failures);
	totals(&c);
	h.hits = c.hits;
	h.drops = c.rb_drops + c.map_full + c.slots_full;
	if (A.o->sampled)
		snprintf(h.mode, sizeof(h.mode), "sampled, budget %.3g%%", A.o->budget * 100);
	else
		snprintf(h.mode, sizeof(h.mode), "exact");
	return mw_tui_tick_host(A.tui, &h, now);
}

/* ---- the end --------------------------------------------------------------------- */

static void report_bin(const struct bin *b)
{
	for (size_t i = 0; i < b->nagg; i++) {
		if (A.json) {
			mw_fmt_bin_finding_json(A.line, sizeof(A.line), b->name, &b->agg[i]);
			out(A.line);
			continue;
		}
		if (!i)
			mw_fmt_bin_findings_head_text(stdout, b->name);
		mw_fmt_bin_finding_text(stdout, &b->agg[i]);
	}
	for (int k = 0; k < MW_KIND_MAX; k++)
		if (b->agg_overflow[k] && !A.json)
			mw_fmt_bin_overflow_text(stdout, k, b->agg_overflow[k]);
}

static int report(void)
{
	struct mw_summary s = A.sum_gone;
	struct mw_counters c;
	struct mw_host_end h = { .records = A.records, .processes = A.watched_total, .watching = A.nprocs,
				 .attachments = A.nbins_made, .no_runtime = A.no_runtime, .excluded = A.excluded,
				 .opted_out = A.opted_out, .toolchain = A.toolchain };

	for (struct bin *b = A.bins; b; b = b->next) {
		struct mw_summary x;
		bin_summary(b, &x);
		mw_summary_add(&s, &x);
		report_bin(b);
	}
	totals(&c);
	s.bpf_hits = h.hits = c.hits;
	s.rb_drops = h.rb_drops = c.rb_drops;
	h.map_full = c.map_full;
	h.slots_full = c.slots_full;
	s.map_drops = c.map_full + c.slots_full;
	s.drops = s.rb_drops + s.map_drops;
	memcpy(h.failures, A.failures, sizeof(h.failures));
	s.mode = A.mode;	/* the windows of every binary's sampler, summed */
	s.mode.set = 1;
	s.mode.sampled = A.o->sampled;
	if (s.mode.sampled) {
		s.mode.budget = A.o->budget;
		s.mode.armed_fraction = A.elapsed_ns ? (double)A.armed_ns / (double)A.elapsed_ns : 0;
	}
	if (!A.json)
		mw_fmt_host_summary_text(stdout, &s, &h);
	else if (mw_fmt_host_summary_json(A.line, sizeof(A.line), &s, &h) > 0)
		out(A.line);
	fflush(stdout);
	return s.alerts ? MW_AGENT_RACES : 0;
}

int mw_agent_main(const struct mw_opts *o)
{
	char err[1024];
	struct mw_loader *execs;
	uint64_t start = now_ns(), last_tick = start, last_view = 0, last_scan, rescan = RESCAN_NS;
	const char *rs = getenv("MAPWATCH_RESCAN_SEC");
	int rc;

	A.o = o;
	A.start_ns = start;
	A.json = o->mode == MW_OUT_JSON;
	A.self = getpid();
	if (rs && atof(rs) > 0)
		rescan = (uint64_t)(atof(rs) * 1e9);
	/* The watched processes and the outputs: their alerts, the endpoint. */
	A.s = mw_session_new(o);
	if (A.s && o->mode == MW_OUT_TUI) {
		struct mw_sink *k = mw_sink_tui_host(o, &A.tui);

		if (k)
			mw_session_add_sink(A.s, k);
	}
	if (!A.s || mw_session_add_sink(A.s, A.json ? mw_sink_json(o) : mw_sink_text(o, !A.tui))) {
		fprintf(stderr, "mapwatch: out of memory\n");
		mw_session_free(A.s);
		return 1;
	}
	if (o->metrics) {
		A.metrics = mw_sink_metrics(o, "", "", err, sizeof(err));
		if (!A.metrics) {
			fprintf(stderr, "mapwatch: %s\n", err);
			mw_session_free(A.s);
			return 1;
		}
		mw_session_add_sink(A.s, A.metrics);
	}
	/* Execs first, so that none falls between the scan and the tracepoint. */
	execs = mw_loader_exec_watch(on_exec, NULL, err, sizeof(err));
	if (!execs) {
		fprintf(stderr, "mapwatch: --all: %s\n", err);
		mw_session_free(A.s);
		return 1;
	}
	scan("start");
	A.npending = 0;		/* what exec'd during the scan was looked at by it, or comes next */
	last_scan = now_ns();
	if (o->verbose)
		fprintf(stderr, "mapwatch: --all: watching %d processes; Ctrl-C to stop\n", A.nprocs);
	fflush(stdout);
	metrics_update(0);

	while (!mw_stop_requested()) {
		uint64_t now = now_ns();
		long n = mw_loader_consume(execs, 2000000);
		for (struct bin *b = A.bins; b; b = b->next)
			if (b->ldr) {
				long k = mw_loader_consume(b->ldr, 2000000);
				if (k > 0)
					n += k;
			}
		if (A.npending)
			handle_execs();
		reap();
		now = now_ns();
		if (A.rescan_now || now - last_scan >= rescan) {
			A.rescan_now = 0;
			scan("rescan");
			last_scan = now_ns();
		}
		if (now - last_tick >= 1000000000ull) {
			last_tick = now;
			tick(now);
			expire(now);
		}
		/* The view every 10 ms (tui.h): keys, and a redraw when due. */
		if (A.tui && now_ns() - last_view >= VIEW_TICK_NS) {
			last_view = now_ns();
			if (host_tick(last_view) == MW_TUI_QUIT)
				break;
		}
		fflush(stdout);
		if (o->duration > 0 && now - start >= (uint64_t)(o->duration * 1e9))
			break;
		if (n <= 0)
			usleep(2000);
	}
	/* The screen goes before the report is printed. */
	if (A.tui) {
		mw_tui_close(A.tui);
		A.tui = NULL;
	}

	/* Probes off, then exactly what they produced, then the findings. */
	mw_loader_free(execs);
	for (struct bin *b = A.bins; b; b = b->next)
		if (b->ldr) {
			bin_sampler_stop(b);
			mw_loader_detach(b->ldr);
			bin_drain(b);
			mw_loader_counters(b->ldr, &b->ctr);
		}
	for (int i = 0; i < A.nprocs; i++)
		fold(A.byslot[i]);
	rc = report();
	metrics_update(1);	/* --metrics-linger keeps it up when the sink closes */
	while (A.nprocs)
		proc_free(A.byslot[A.nprocs - 1]);
	while (A.bins) {
		struct bin *b = A.bins;
		A.bins = b->next;
		if (b->ldr) {
			mw_loader_free(b->ldr);
			b->ldr = NULL;
			close(b->fd);
		}
		free(b->t);
		free(b->agg);
		free(b);
	}
	mw_session_free(A.s);	/* its sinks close: the endpoint lingers, then stops */
	free(A.finds);
	return rc;
}
