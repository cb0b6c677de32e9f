/* session.c — the watched processes and the live loop over them (session.h).
 *
 * Each process has its own BPF object, correlator, stack table and
 * findings. A record goes to the correlator first (which may raise
 * alerts: their stacks are resolved at once, while the target's mappings
 * are those of the alert), then to every sink. Once a second each
 * process's BPF counters become a stats sample and every map's header is
 * read for the live view's rates.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "session.h"
#include "procmaps.h"
#include "sampler.h"

struct mw_session {
	const struct mw_opts *o;
	struct mw_sink *sinks[MW_SINKS_MAX];
	int nsinks;
	struct mw_watched *procs[MW_SESSION_MAX];
	int nprocs;
	int multi;			/* several processes: lines name theirs */
	uint64_t start;
};

#define EACH_SINK(s, k, cb) \
	for (int i_ = 0; i_ < (s)->nsinks; i_++) \
		if (((k) = (s)->sinks[i_])->cb)

uint64_t mw_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct mw_record mw_stats_record(const struct mw_stats *st)
{
	struct mw_record r = { 0 };

	r.type = MW_REC_STATS;
	r.pid = (uint32_t)st->pid;
	r.ts = st->ts;
	r.count = st->hits;
	r.aux = st->rb_drops;
	r.aux2 = st->map_full + st->slots_full;
	r.bucket = MW_NO_BUCKET;
	r.stack_id = r.other_stack_id = -1;
	return r;
}

const char *mw_alert_ev_json(struct mw_alert_ev *ev)
{
	if (!ev->have_json) {
		mw_fmt_alert_json(ev->json, ev->cap, ev->a, ev->ws, ev->is, NULL);
		ev->have_json = 1;
	}
	return ev->json;
}

/* ---- stacks ------------------------------------------------------------------------ */

static const char *base_of(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;

	return b ? b + 1 : p;
}

/* A fresh copy of /proc/PID/maps; NULL when the target is gone (a zombie's
 * maps are empty). */
static char *read_maps(int pid)
{
	char *buf = mw_maps_read(pid);

	if (buf && !*buf) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The target's maps, only once they map the probed module: with -- CMD
 * the first reads are of the child before its exec (mapwatch's own image),
 * and symbols looked up there would be wrong for good (stacks are resolved
 * once per id). */
static char *read_maps_of_target(struct mw_watched *p)
{
	char *maps = read_maps(p->pid);

	if (maps && p->module[0] && !strstr(maps, p->module)) {
		free(maps);
		return NULL;
	}
	return maps;
}

static void keep_maps(struct mw_watched *p, char *maps)
{
	free(p->maps_text);
	p->maps_text = maps;
}

void mw_session_keep_maps(struct mw_watched *p)
{
	char *m = read_maps_of_target(p);

	if (m)
		keep_maps(p, m);
}

/* A copy of the runtime mapped after attach (dlopen) is not probed: say so,
 * once per file, in every output. */
static void dlopen_check(struct mw_watched *p, const char *maps)
{
	static char told[8][PATH_MAX];
	static int ntold;
	const char *hint = p->rt ? p->rt->lib_hint : NULL;
	struct mw_maps_ent m;

	for (const char *cur = maps; hint && mw_maps_next(&cur, &m);) {
		char path[PATH_MAX], text[PATH_MAX + 160];
		if (!m.pathlen || m.path[0] != '/' || m.pathlen >= sizeof(path))
			continue;
		memcpy(path, m.path, m.pathlen);
		path[m.pathlen] = 0;
		const char *base = strrchr(path, '/') + 1;
		if (strncmp(base, hint, strlen(hint)) || !strcmp(path, p->module))
			continue;
		int seen = 0;
		for (int i = 0; i < ntold && !seen; i++)
			seen = !strcmp(told[i], path);
		if (seen || ntold >= 8)
			continue;
		snprintf(told[ntold++], PATH_MAX, "%s", path);
		snprintf(text, sizeof(text), "pid %d mapped %s after mapwatch attached to %s: maps of "
			 "that copy of the runtime are not watched", p->pid, path, p->module);
		mw_session_note(p->s, p, "dlopen", text);
	}
}

/* Keep the target's latest maps while it runs: a short-lived target may be
 * gone (its maps empty) by the time its alerts are consumed. Often at first
 * (exec, then the dynamic loader maps libraries), then once a second. */
static void maps_poll(struct mw_watched *p, uint64_t now, uint64_t since_start)
{
	uint64_t every = since_start < 100000000ull ? 0 :
			 since_start < 2000000000ull ? 10000000ull : 1000000000ull;
	char *maps;

	if (now - p->last_maps_ns < every)
		return;
	p->last_maps_ns = now;
	if ((maps = read_maps_of_target(p))) {
		dlopen_check(p, maps);
		keep_maps(p, maps);
	}
}

/* The symbolizer for now: the live process's while it runs, else one made
 * from the last maps seen (the binaries are read by path). */
static struct mw_symbolizer *symbolizer(struct mw_watched *p)
{
	char *maps = read_maps_of_target(p);

	if (maps) {
		keep_maps(p, maps);
		if (!p->sym)
			p->sym = mw_sym_new(p->pid);
		if (p->sym)
			return p->sym;
	}
	if (!p->sym_dead && p->maps_text)
		p->sym_dead = mw_sym_new_from_maps(p->maps_text);
	return p->sym_dead ? p->sym_dead : p->sym;
}

const struct mw_rstack *mw_proc_stack(struct mw_watched *p, int32_t id, uint64_t caller)
{
	uint64_t ips[MW_MAX_STACK], all[MW_STACK_FRAMES];
	struct mw_frame fr[MW_STACK_FRAMES];
	struct mw_sframe sf[MW_STACK_FRAMES];
	char syms[MW_STACK_FRAMES][MW_STACK_STR];
	struct mw_symbolizer *sy;
	const struct mw_rstack *st;
	int n, m = 0;

	if (id < 0 || !p->stab)
		return NULL;
	if ((st = mw_stacktab_get(p->stab, id, caller)) || !p->ldr)
		return st;
	n = mw_loader_stack(p->ldr, id, ips);
	if (n <= 0)
		return NULL;
	/* ips[0] is the probed function; the caller at [sp] goes second unless
	 * the kernel's walk already has it. */
	all[m++] = ips[0];
	if (caller && (n < 2 || ips[1] != caller))
		all[m++] = caller;
	for (int i = 1; i < n && m < MW_STACK_FRAMES; i++)
		all[m++] = ips[i];
	sy = symbolizer(p);
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
	return mw_stacktab_put(p->stab, id, caller, sf, m);
}

/* ---- records and alerts ------------------------------------------------------------- */

static void on_alert(void *ctx, const struct mw_alert *a, const struct mw_alert_row *row)
{
	struct mw_watched *p = ctx;
	struct mw_sink *k;
	/* Resolved now, while the target's mappings are those of the alert. */
	struct mw_alert_ev ev = {
		.a = a, .ws = mw_proc_stack(p, a->writer_stack, a->writer_caller),
		.is = mw_proc_stack(p, a->iter_stack, a->iter_caller),
		.json = p->json, .cap = sizeof(p->json),
	};

	(void)row;
	mw_findings_add(p->findings, a, ev.ws, ev.is);
	EACH_SINK(p->s, k, on_alert)
		k->on_alert(k, p, &ev);
}

void mw_session_record(void *ctx, const struct mw_record *r)
{
	struct mw_watched *p = ctx;
	struct mw_sink *k;

	p->records++;
	if (r->type == MW_REC_EXEC)
		p->execs++;
	mw_corr_feed(p->corr, r);
	EACH_SINK(p->s, k, on_record)
		k->on_record(k, p, r);
}

void mw_session_note(struct mw_session *s, struct mw_watched *p, const char *what, const char *text)
{
	struct mw_sink *k;

	EACH_SINK(s, k, on_note)
		k->on_note(k, p, what, text);
	fflush(stdout);
}

/* Consume everything a loader's ring buffer holds. */
static void drain(struct mw_loader *l)
{
	while (mw_loader_consume(l, 50000000) > 0)
		;
}

/* Read the hmap header from the target, refusing implausible values. */
static void sample_map(void *ctx, int pid, uint64_t map, const struct mw_mapstate *st)
{
	struct mw_watched *p = ctx;
	const struct mw_layout *L = &p->tgt->layout;
	struct mw_map_sample ms = { .map = map, .ts = mw_mono_ns() };
	unsigned char h[256];	/* the hmap header: L->h_size bytes (at most 128) */
	size_t hlen = L->h_size;	/* a __u8: it fits */
	struct iovec local = { h, hlen }, remote = { (void *)(uintptr_t)map, hlen };

	if (pid != p->pid)
		return;	/* a loader shared by several processes (--all) walks all their maps */
	ms.writes = st->writes;
	ms.iterations = st->iterations;
	ms.grows = st->grows;
	ms.evacuations = st->evacuations;
	if (hlen <= sizeof(h) && process_vm_readv(p->pid, &local, 1, &remote, 1, 0) == (ssize_t)hlen) {
		int64_t count;
		memcpy(&count, h + L->h_count, 8);
		memcpy(&ms.buckets, h + L->h_buckets, 8);
		memcpy(&ms.oldbuckets, h + L->h_oldbuckets, 8);
		memcpy(&ms.nevacuate, h + L->h_nevacuate, 8);
		ms.B = h[L->h_B];
		ms.flags = h[L->h_flags];
		ms.count = (uint64_t)count;
		ms.have_hmap = count >= 0 && ms.B <= L->max_B &&
			       (ms.nevacuate <= (1ull << ms.B) || !ms.oldbuckets);
	}
	mw_corr_map_sample(p->corr, &ms);
}

/* BPF's counters as a stats sample: to the correlator (drops and hits of
 * the summary) and every sink; then every map's header, for rates. */
static void stats_tick(struct mw_watched *p, uint64_t now, int final)
{
	struct mw_stats st = { .ts = now, .pid = p->pid, .final = final };
	struct mw_record r;
	struct mw_sink *k;
	double dt = (now - p->last_stats_ns) / 1e9;

	mw_loader_counters(p->ldr, &p->ctr);
	st.hits = p->ctr.hits;
	st.bpf_records = p->ctr.records;
	st.rb_drops = p->ctr.rb_drops;
	st.map_full = p->ctr.map_full;
	st.slots_full = p->ctr.slots_full;
	st.bad_reads = p->ctr.bad_reads;
	st.stack_fails = p->ctr.stack_fails;
	st.records = p->records;
	st.rate = dt > 0 ? (p->records - p->last_records) / dt : 0;
	r = mw_stats_record(&st);
	mw_corr_feed(p->corr, &r);
	if (!final)
		mw_loader_maps(p->ldr, sample_map, p);

	p->st.events = p->records;
	p->st.events_per_s = st.rate;
	p->st.drops = st.rb_drops + st.map_full + st.slots_full;
	p->st.hits = st.hits;
	EACH_SINK(p->s, k, on_stats)
		k->on_stats(k, p, &st);
	p->last_records = p->records;
	p->last_stats_ns = now;
}

/* ---- processes ----------------------------------------------------------------------- */

struct mw_session *mw_session_new(const struct mw_opts *o)
{
	struct mw_session *s = calloc(1, sizeof(*s));

	if (s) {
		s->o = o;
		s->start = mw_mono_ns();
	}
	return s;
}

const struct mw_opts *mw_session_opts(const struct mw_session *s)
{
	return s->o;
}

int mw_session_add_sink(struct mw_session *s, struct mw_sink *k)
{
	if (!k || s->nsinks >= MW_SINKS_MAX)
		return -1;
	s->sinks[s->nsinks++] = k;
	return 0;
}

const struct mw_tag *mw_watched_tag(const struct mw_watched *p, int multi, struct mw_tag *buf)
{
	if (!multi)
		return NULL;
	*buf = (struct mw_tag){ .pid = p->pid, .comm = p->comm, .nspid = p->nspid,
				.binary = p->binary[0] ? p->binary : NULL, .cgroup = p->cgroup };
	return buf;
}

struct mw_watched *mw_session_find(struct mw_session *s, int pid)
{
	for (int i = 0; i < s->nprocs; i++)
		if (s->procs[i]->pid == pid)
			return s->procs[i];
	return NULL;
}

struct mw_watched *mw_session_primary(struct mw_session *s)
{
	return s->nprocs ? s->procs[0] : NULL;
}

/* --sampled: windows for the first process's write probes (the others of
 * a -- CMD tree are watched exactly). */
static void sampling_start(struct mw_watched *p)
{
	const struct mw_opts *o = p->s->o;
	struct mw_sampler_opts so = { .budget = o->budget, .pid = p->pid, .go = p->tgt->layout.go,
				      .verbose = o->verbose };

	if (o->sampled && p->primary && !(p->smp = mw_sampler_start(p->ldr, &so)))
		fprintf(stderr, "mapwatch: cannot start the sampled mode (%s): watching every write\n",
			strerror(errno));
}

/* The run's mode, for the summary; the sampler stops (its probes stay as
 * they are until the loader detaches them). */
static void sampling_stop(struct mw_watched *p)
{
	struct mw_run_mode m;

	mw_sampler_finish(p->smp, &m);
	p->smp = NULL;
	mw_corr_set_mode(p->corr, &m);
}

static void proc_free(struct mw_watched *p)
{
	if (!p)
		return;
	mw_sampler_stop(p->smp, NULL);
	if (!p->shared_ldr)
		mw_loader_free(p->ldr);
	mw_corr_free(p->corr);
	mw_sym_free(p->sym);
	mw_sym_free(p->sym_dead);
	free(p->maps_text);
	mw_stacktab_free(p->stab);
	mw_findings_free(p->findings);
	free(p->tgt);
	free(p);
}

/* p's correlator, findings and stacks (no loader yet). NULL on OOM. */
/* A second process is watched: from now on every line names its process. */
static void set_multi(struct mw_session *s)
{
	struct mw_sink *k;

	if (s->multi)
		return;
	s->multi = 1;
	EACH_SINK(s, k, on_multi)
		k->on_multi(k);
}

static struct mw_watched *proc_new(struct mw_session *s, int pid, const struct mw_target *t, const char *comm)
{
	struct mw_watched *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->s = s;
	p->pid = pid;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	p->rt = t->rt;
	p->tgt = calloc(1, sizeof(*p->tgt));
	if (p->tgt)
		*p->tgt = *t;	/* before the correlator, which takes its layout */
	p->stab = mw_stacktab_new();
	p->findings = mw_findings_new(t->rt);
	p->corr = p->tgt ? mw_corr_new(&(struct mw_corr_opts){ .keep_alerts = 0, .on_alert = on_alert, .ctx = p,
							     .layout = &p->tgt->layout }) : NULL;
	if (!p->tgt || !p->stab || !p->findings || !p->corr) {
		proc_free(p);
		return NULL;
	}
	return p;
}

struct mw_watched *mw_session_add(struct mw_session *s, int pid, const struct mw_target *t,
			       const char *comm, char *err, size_t errlen)
{
	struct mw_watched *first = mw_session_primary(s), *p;
	char text[PATH_MAX + 256], why[1024];

	if (s->nprocs >= MW_PROCS_MAX) {
		snprintf(text, sizeof(text), "pid %d (%s) runs %s too, but no more processes can be "
			 "watched (%d)", pid, comm, t->rt->name, MW_PROCS_MAX);
		mw_session_note(s, first, "process", text);
		return NULL;
	}
	if (!(p = proc_new(s, pid, t, comm))) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	p->primary = !first;
	if (!realpath(t->module, p->module))
		snprintf(p->module, sizeof(p->module), "%s", t->module);
	p->lo = (struct mw_loader_opts){
		.pid = pid, .record_all = s->o->out || s->o->perfetto,
		.no_iter_records = s->o->mode != MW_OUT_TUI, .verbose = s->o->verbose,
		.no_stacks = s->o->no_stacks, .no_aggregate = s->o->every, .target = p->tgt,
		.on_record = mw_session_record, .ctx = p,
	};
	p->ldr = mw_loader_start(&p->lo, why, sizeof(why));
	if (!p->ldr)
		goto fail;
	p->st.start_ns = p->last_stats_ns = mw_mono_ns();
	s->procs[s->nprocs++] = p;
	sampling_start(p);
	if (p->primary) {
		s->start = p->st.start_ns;
		return p;
	}
	set_multi(s);
	snprintf(text, sizeof(text), "watching pid %d (%s) too: %s%s%s, %d probes", pid, comm,
		 t->rt->name, t->version[0] ? " " : "", t->version, mw_loader_nprobes(p->ldr));
	mw_session_note(s, first, "process", text);
	return p;
fail:
	if (first) {
		snprintf(text, sizeof(text), "pid %d (%s): cannot attach: %s", pid, comm, why);
		mw_session_note(s, first, "process", text);
	} else {
		snprintf(err, errlen, "%s", why);
	}
	proc_free(p);
	return NULL;
}

struct mw_watched *mw_session_add_shared(struct mw_session *s, int pid, const struct mw_target *t,
				      const char *comm, const char *module, struct mw_loader *ldr,
				      int nspid, const char *binary, const char *cgroup)
{
	struct mw_watched *p;

	if (s->nprocs >= MW_SESSION_MAX || !(p = proc_new(s, pid, t, comm)))
		return NULL;
	p->ldr = ldr;	/* no primary: none is shown or summed apart (its stats are the binary's) */
	p->shared_ldr = 1;
	p->nspid = nspid;
	snprintf(p->module, sizeof(p->module), "%s", module);
	snprintf(p->binary, sizeof(p->binary), "%s", binary);
	snprintf(p->cgroup, sizeof(p->cgroup), "%s", cgroup);
	p->maps_text = read_maps_of_target(p);	/* stacks of a process gone before its alerts are read */
	p->st.start_ns = p->last_stats_ns = mw_mono_ns();
	s->procs[s->nprocs++] = p;
	set_multi(s);
	return p;
}

void mw_session_proc_tick(struct mw_watched *p, uint64_t now)
{
	char *maps = read_maps_of_target(p);

	if (maps) {
		free(p->maps_text);
		p->maps_text = maps;
	}
	stats_tick(p, now, 0);
}

void mw_session_proc_summary(struct mw_watched *p, struct mw_summary *sum)
{
	mw_corr_summary(p->corr, sum);
}

void mw_session_remove(struct mw_session *s, struct mw_watched *p)
{
	for (int i = 0; i < s->nprocs; i++)
		if (s->procs[i] == p) {
			memmove(&s->procs[i], &s->procs[i + 1], (size_t)(s->nprocs - i - 1) * sizeof(p));
			s->nprocs--;
			break;
		}
	proc_free(p);
}

void mw_session_end(struct mw_session *s, struct mw_watched *p, const char *how)
{
	(void)s;
	if (how)
		snprintf(p->st.exit_how, sizeof(p->st.exit_how), "%s", how);
	p->st.target_exited = 1;
	if (p->primary || !p->ldr)
		return;	/* the primary's probes stay until the run's drain (the live view shows it) */
	/* Its probes off, what they produced consumed, its final counters; the
	 * BPF object goes, the correlator and findings stay for the reports. */
	mw_loader_detach(p->ldr);
	drain(p->ldr);
	stats_tick(p, mw_mono_ns(), 1);
	mw_loader_free(p->ldr);
	p->ldr = NULL;
}

/* The target exec'd: BPF already dropped the old image's per-map state
 * (exec generation) and the correlator its open iterations. Resolve the
 * runtime of the new image and attach to it, or stop when it has none.
 * With -- CMD the new image is held at its exec stop until this is done,
 * so nothing of it is missed; with -p its first operations may be. */
void mw_session_exec(struct mw_session *s, struct mw_watched *p)
{
	char exe[64], path[PATH_MAX], err[1024], text[PATH_MAX + 512];
	static struct mw_target nt;

	/* Drain what the old image produced, with the exec record. */
	drain(p->ldr);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", p->pid);
	ssize_t n = readlink(exe, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = 0;
	int e = mw_find_target(exe, p->pid, 0, s->o->reads, &nt);
	if (e) {
		snprintf(text, sizeof(text), "pid %d exec'd %s, which runs no supported map runtime: "
			 "stopping", p->pid, path[0] ? path : "?");
		mw_session_note(s, p, "exec", text);
		p->exec_stop = 1;
		return;
	}
	if (nt.is_exe)
		snprintf(nt.module, sizeof(nt.module), "%s", path[0] ? path : exe);
	char ra[PATH_MAX], rb[PATH_MAX];
	int same = nt.rt == p->tgt->rt && realpath(nt.module, ra) && realpath(p->tgt->module, rb) &&
		   !strcmp(ra, rb) && nt.nsites == p->tgt->nsites;
	if (!same) {
		struct mw_loader *old = p->ldr;
		mw_sampler_stop(p->smp, NULL);
		p->smp = NULL;
		mw_loader_detach(old);
		drain(old);
		mw_loader_free(old);
		*p->tgt = nt;
		p->rt = nt.rt;
		p->ldr = mw_loader_start(&p->lo, err, sizeof(err));
		if (!p->ldr) {
			snprintf(text, sizeof(text), "pid %d exec'd %s: cannot attach to it: %s", p->pid,
				 path, err);
			mw_session_note(s, p, "exec", text);
			p->exec_stop = 1;
			return;
		}
		sampling_start(p);
	}
	if (!realpath(p->tgt->module, p->module))
		snprintf(p->module, sizeof(p->module), "%s", p->tgt->module);
	mw_sym_free(p->sym);
	p->sym = NULL;
	snprintf(text, sizeof(text), "pid %d exec'd %s (%s%s%s): state of the old image dropped, %s",
		 p->pid, path, p->rt->name, p->tgt->version[0] ? " " : "", p->tgt->version,
		 same ? "same probes kept" : "probes attached to the new image");
	mw_session_note(s, p, "exec", text);
}

/* ---- the loop ---------------------------------------------------------------------------- */

long mw_session_poll(struct mw_session *s, uint64_t now)
{
	struct mw_watched *first = mw_session_primary(s);
	long n = 0;

	for (int i = 0; i < s->nprocs && n >= 0; i++) {
		struct mw_watched *p = s->procs[i];
		long k;
		if (!p->ldr)
			continue;
		k = mw_loader_consume(p->ldr, p->primary ? 5000000 : 2000000);
		if (k < 0 && p->primary)
			return k;
		if (k > 0)
			n += k;
	}
	if (n > 0)
		fflush(stdout);
	now = mw_mono_ns();
	if (first && now - first->last_stats_ns >= 1000000000ull) {
		for (int i = 0; i < s->nprocs; i++)
			if (s->procs[i]->ldr)
				stats_tick(s->procs[i], now, 0);
		fflush(stdout);
	}
	/* -p: an exec seen through BPF (-- CMD: at its ptrace exec stop). */
	if (first && !s->o->cmd && first->execs > first->execs_handled) {
		first->execs_handled = first->execs;
		mw_session_exec(s, first);
	}
	if (first && !s->o->no_stacks && !first->st.target_exited)
		maps_poll(first, now, now - s->start);
	return n;
}

int mw_session_tick(struct mw_session *s, uint64_t now)
{
	struct mw_watched *first = mw_session_primary(s);
	struct mw_sink *k;
	int quit = MW_SINK_GO;

	EACH_SINK(s, k, on_tick)
		if (k->on_tick(k, first, now) == MW_SINK_QUIT)
			quit = MW_SINK_QUIT;
	return quit;
}

void mw_session_drain(struct mw_session *s)
{
	struct mw_watched *first = mw_session_primary(s);
	struct mw_sink *k;
	uint64_t last_tick = 0;

	if (!first)
		return;
	/* Probes off, then drain exactly what they produced (at most one ring's
	 * worth), then the final counters: nothing lost on Ctrl-C or -d. */
	sampling_stop(first);
	mw_loader_detach(first->ldr);
	for (int i = 1; i < s->nprocs; i++)
		mw_session_end(s, s->procs[i], NULL);
	while (mw_loader_consume(first->ldr, 50000000) > 0) {
		if (mw_mono_ns() - last_tick >= 100000000ull) {
			last_tick = mw_mono_ns();
			mw_session_tick(s, last_tick);
		}
	}
	stats_tick(first, mw_mono_ns(), 1);
	EACH_SINK(s, k, on_end)
		k->on_end(k, first);
}

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
	t->maps_forgotten += x->maps_forgotten;
	t->bpf_hits += x->bpf_hits;
	t->rb_drops += x->rb_drops;
	t->map_drops += x->map_drops;
	t->unconfirmed += x->unconfirmed;
	if (x->first_ts && (!t->first_ts || x->first_ts < t->first_ts))
		t->first_ts = x->first_ts;
	if (x->last_ts > t->last_ts)
		t->last_ts = x->last_ts;
}

void mw_session_report(struct mw_session *s, const struct mw_live_end *live, struct mw_summary *sum)
{
	struct mw_watched *first = mw_session_primary(s);
	struct mw_sink *k;

	memset(sum, 0, sizeof(*sum));
	if (!first)
		return;
	/* Findings of every watched process, each its own summary when there
	 * are several; then the summary of them all. */
	mw_corr_summary(first->corr, sum);
	for (int i = 1; i < s->nprocs; i++) {
		struct mw_watched *p = s->procs[i];
		struct mw_summary ps;
		mw_corr_summary(p->corr, &ps);
		EACH_SINK(s, k, on_findings)
			k->on_findings(k, p);
		EACH_SINK(s, k, on_proc_summary)
			k->on_proc_summary(k, p, &ps);
		mw_summary_add(sum, &ps);
	}
	EACH_SINK(s, k, on_findings)
		k->on_findings(k, first);
	if (s->multi) {
		struct mw_summary ps;
		mw_corr_summary(first->corr, &ps);
		EACH_SINK(s, k, on_proc_summary)
			k->on_proc_summary(k, first, &ps);
	}
	EACH_SINK(s, k, on_summary)
		k->on_summary(k, sum, live);
	fflush(stdout);
}

int mw_session_close(struct mw_session *s)
{
	int rc = 0;

	for (int i = 0; i < s->nsinks; i++) {
		struct mw_sink *k = s->sinks[i];
		if (k->close && k->close(k) < 0)
			rc = -1;
	}
	s->nsinks = 0;
	return rc;
}

void mw_session_free(struct mw_session *s)
{
	if (!s)
		return;
	mw_session_close(s);
	for (int i = 0; i < s->nprocs; i++)
		proc_free(s->procs[i]);
	free(s);
}
