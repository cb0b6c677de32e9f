/* loader.c — skeleton lifecycle, uprobe attach, ring-buffer consumer (loader.h). */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "mapwatch.skel.h"

struct mw_loader {
	struct mapwatch_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[MW_MAX_SITES];
	struct bpf_link *exec_link;	/* the traced process's execs */
	int nlinks;
	int ncpu;
	int flushed_agg;		/* the aggregation table was read at detach */
	/* what re-attaching a site takes (sampled mode) */
	const struct mw_target *target;
	int attach_pid;
	mw_record_fn on_record;
	void *ctx;
	/* per consume call */
	uint64_t deadline;
	long delivered;
};

static int verbose_libbpf;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose_libbpf || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int on_sample(void *ctx, void *data, size_t len)
{
	struct mw_loader *l = ctx;
	struct mw_record r;

	if (len < sizeof(r))
		return 0;
	memcpy(&r, data, sizeof(r));
	if (l->on_record)
		l->on_record(l->ctx, &r);
	l->delivered++;
	/* ring_buffer__consume loops until the ring is empty: bound it. The
	 * sample is already consumed when a negative value stops the loop. */
	if ((l->delivered & 255) == 0 && mono_ns() > l->deadline)
		return -EINTR;
	return 0;
}

static struct bpf_program *prog_by_name(struct mapwatch_bpf *skel, const char *name)
{
	return bpf_object__find_program_by_name(skel->obj, name);
}

static struct bpf_link *site_attach(struct mw_loader *l, int i)
{
	const struct mw_site *s = &l->target->site[i];
	struct bpf_program *prog = prog_by_name(l->skel, mw_probe_prog(s->point));
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = false, .bpf_cookie = s->cookie);

	if (!prog) {
		errno = ENOENT;
		return NULL;
	}
	return bpf_program__attach_uprobe_opts(prog, l->attach_pid, l->target->module, s->probe_off, &uo);
}

/* The exec raw tracepoint and the ring buffer's consumer: 0, or -1 with err. */
static int exec_and_ring(struct mw_loader *l, char *err, size_t errlen)
{
	l->exec_link = bpf_program__attach_raw_tracepoint(l->skel->progs.mw_exec, "sched_process_exec");
	if (!l->exec_link) {
		snprintf(err, errlen, "cannot watch for exec (raw tracepoint sched_process_exec): %s",
			 strerror(errno));
		return -1;
	}
	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.rb), on_sample, l, NULL);
	if (!l->rb) {
		snprintf(err, errlen, "cannot open the ring buffer: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct mw_loader *mw_loader_start(const struct mw_loader_opts *o, char *err, size_t errlen)
{
	struct mw_loader *l = calloc(1, sizeof(*l));
	int e;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	verbose_libbpf = o->verbose;
	libbpf_set_print(print_fn);
	l->on_record = o->on_record;
	l->ctx = o->ctx;
	l->target = o->target;
	l->attach_pid = o->pid > 0 && !o->shared ? o->pid : -1;
	l->ncpu = libbpf_num_possible_cpus();

	if (o->target && mw_layout_check(&o->target->layout)) {
		snprintf(err, errlen, "the %s layout table is inconsistent", o->target->rt->name);
		goto fail;
	}
	uint64_t t_open = mono_ns();
	l->skel = mapwatch_bpf__open();
	if (!l->skel) {
		snprintf(err, errlen, "cannot open BPF object: %s", strerror(errno));
		goto fail;
	}
	if (!o->target) {
		struct bpf_program *p;
		l->skel->rodata->exec_all = 1;
		bpf_object__for_each_program(p, l->skel->obj)
			bpf_program__set_autoload(p, p == l->skel->progs.mw_exec);
	}
	l->skel->rodata->record_all = o->record_all ? 1 : 0;
	l->skel->rodata->capture_stacks = o->no_stacks ? 0 : 1;
	l->skel->rodata->iter_records = o->no_iter_records ? 0 : 1;
	if (o->target)
		memcpy((void *)&l->skel->rodata->layout, &o->target->layout, sizeof(o->target->layout));
	if (o->rb_bytes)
		bpf_map__set_max_entries(l->skel->maps.rb, o->rb_bytes);
	/* Repeated races counted in BPF, a record per race at most every
	 * MW_AGG_NS; a recording keeps a record per occurrence. */
	l->skel->rodata->agg_ns = o->record_all || o->no_aggregate ? 0 : MW_AGG_NS;
	/* Only the programs this target's sites run are loaded (and verified):
	 * the verifier is most of the start-up time. mw_iterinit is always
	 * there (the sampled mode calibrates on it), and the exec tracepoint. */
	if (o->target) {
		struct bpf_program *prog;
		int skipped = 0;

		bpf_object__for_each_program(prog, l->skel->obj) {
			const char *nm = bpf_program__name(prog);
			int need = !strcmp(nm, "mw_exec") || !strcmp(nm, "mw_iterinit");

			for (int i = 0; i < o->target->nsites && !need; i++)
				need = !strcmp(nm, mw_probe_prog(o->target->site[i].point));
			if (!need) {
				bpf_program__set_autoload(prog, false);
				skipped++;
			}
		}
		(void)skipped;
	}

	uint64_t t_load = mono_ns();
	e = mapwatch_bpf__load(l->skel);
	uint64_t t_loaded = mono_ns();
	if (e) {
		snprintf(err, errlen, "cannot load BPF programs: %s%s", strerror(-e),
			 o->verbose ? "" : " (run with -v for the verifier's log)");
		goto fail;
	}

	/* The processes it watches: BPF filters every probe hit by them. */
	if (o->pid > 0 && mw_loader_add_pid(l, o->pid)) {
		snprintf(err, errlen, "cannot add pid %d to the watched set: %s", o->pid, strerror(errno));
		goto fail;
	}
	for (int i = 0; o->target && i < o->target->nsites && i < MW_MAX_SITES; i++) {
		const struct mw_site *s = &o->target->site[i];

		/* One process: the kernel filters too. Several (a command's
		 * tree): every process of the binary traps, and BPF keeps the
		 * watched ones. */
		l->links[i] = site_attach(l, i);
		if (!l->links[i]) {
			e = -errno;
			snprintf(err, errlen, "cannot attach uprobe to %s in %s at 0x%llx: %s", s->sym,
				 o->target->module, (unsigned long long)s->probe_off, strerror(-e));
			goto fail;
		}
		l->nlinks++;
		if (o->verbose)
			fprintf(stderr, "mapwatch: probe %s (%s) at +0x%llx, file offset 0x%llx: %s — %s\n",
				s->sym, mw_probe_name(s->point),
				(unsigned long long)(s->probe_off - s->file_off),
				(unsigned long long)s->probe_off, s->place.insn, s->place.how);
	}

	uint64_t t_probes = mono_ns();
	/* Its execs: the per-map state of an old image must not outlive it. */
	if (exec_and_ring(l, err, errlen))
		goto fail;
	if (o->verbose) {
		uint64_t t_done = mono_ns();
		int nprog = 0;
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, l->skel->obj)
			nprog += bpf_program__autoload(prog);
		fprintf(stderr, "mapwatch: BPF object opened in %.1f ms, %d programs loaded (verified) in "
			"%.1f ms, %d probes attached in %.1f ms, exec tracepoint and ring buffer in %.1f ms\n",
			(t_load - t_open) / 1e6, nprog, (t_loaded - t_load) / 1e6, l->nlinks,
			(t_probes - t_loaded) / 1e6, (t_done - t_probes) / 1e6);
	}
	return l;
fail:
	mw_loader_free(l);
	return NULL;
}

long mw_loader_consume(struct mw_loader *l, uint64_t budget_ns)
{
	int e;

	l->delivered = 0;
	l->deadline = mono_ns() + budget_ns;
	e = ring_buffer__consume(l->rb);
	if (e < 0 && e != -EINTR)
		return e;
	return l->delivered;
}

void mw_loader_counters(struct mw_loader *l, struct mw_counters *c)
{
	const volatile struct mw_counters *b = &l->skel->bss->counters;
	struct mw_counters *pc;
	__u32 zero = 0;

	c->hits = b->hits;
	c->records = b->records;
	c->rb_drops = b->rb_drops;
	c->map_full = b->map_full;
	c->slots_full = b->slots_full;
	c->bad_reads = b->bad_reads;
	c->stack_fails = b->stack_fails;
	c->expired = b->expired;
	c->agg_full = b->agg_full;
	c->agg_counted = 0;
	pc = calloc((size_t)l->ncpu, sizeof(*pc));
	if (pc && !bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.pcpu_counters), &zero, pc)) {
		for (int i = 0; i < l->ncpu; i++) {
			c->hits += pc[i].hits;
			c->records += pc[i].records;
			c->agg_counted += pc[i].agg_counted;
		}
	}
	free(pc);
}

int mw_loader_maps(struct mw_loader *l, mw_mapstate_fn fn, void *ctx)
{
	int fd = bpf_map__fd(l->skel->maps.mapstate), n = 0;
	struct mw_mkey key, next;
	struct mw_mapstate st;
	void *prev = NULL;

	while (n < MW_MAX_MAPS && !bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &st)) {
			fn(ctx, (int)next.pid, next.h, &st);
			n++;
		}
		key = next;
		prev = &key;
	}
	return n;
}

int mw_loader_add_pid(struct mw_loader *l, int pid)
{
	struct mw_proc p = { 0 };
	__u32 k = (__u32)pid;

	return bpf_map_update_elem(bpf_map__fd(l->skel->maps.pids), &k, &p, BPF_NOEXIST) &&
	       errno != EEXIST ? -1 : 0;
}

/* Delete the entries of a map keyed by a struct whose __u32 at pid_off is
 * the pid (struct mw_mkey, struct mw_gkey). */
static void del_keys_of(int fd, size_t keylen, size_t pid_off, int pid)
{
	unsigned char key[16], next[16];
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		__u32 p;
		memcpy(&p, next + pid_off, sizeof(p));
		if (p == (__u32)pid && !bpf_map_delete_elem(fd, next)) {
			prev = NULL;	/* the walk restarts: deleting may reorder it */
			continue;
		}
		memcpy(key, next, keylen);
		prev = key;
	}
}

void mw_loader_del_pid(struct mw_loader *l, int pid)
{
	__u32 k = (__u32)pid;

	bpf_map_delete_elem(bpf_map__fd(l->skel->maps.pids), &k);
	del_keys_of(bpf_map__fd(l->skel->maps.mapstate), sizeof(struct mw_mkey),
		    offsetof(struct mw_mkey, pid), pid);
	del_keys_of(bpf_map__fd(l->skel->maps.giter), sizeof(struct mw_gkey),
		    offsetof(struct mw_gkey, pid), pid);
	del_keys_of(bpf_map__fd(l->skel->maps.gwrite), sizeof(struct mw_gkey),
		    offsetof(struct mw_gkey, pid), pid);
}

struct mw_loader *mw_loader_exec_watch(mw_record_fn fn, void *ctx, char *err, size_t errlen)
{
	/* No target: the exec tracepoint alone is loaded (the uprobe programs
	 * stay out), with exec_all set and a small ring. */
	struct mw_loader_opts o = { .rb_bytes = 256 << 10, .on_record = fn, .ctx = ctx };

	return mw_loader_start(&o, err, errlen);
}

int mw_loader_stack(struct mw_loader *l, int32_t id, uint64_t *ips)
{
	__u32 key = (__u32)id;
	int n = 0;

	if (id < 0 || bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.stacks), &key, ips))
		return 0;
	while (n < MW_MAX_STACK && ips[n])
		n++;
	return n;
}

int mw_loader_nprobes(const struct mw_loader *l)
{
	return l->nlinks;
}

static uint64_t thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Detaching a uprobe waits for a grace period (~0.2 s here, per link):
 * the links go in parallel, so the grace periods overlap. */
static void *destroy_link(void *lk)
{
	bpf_link__destroy(lk);
	return NULL;
}

static void destroy_links(struct bpf_link **lk, int n)
{
	pthread_t t[MW_MAX_SITES];
	int started[MW_MAX_SITES] = { 0 };

	for (int i = 0; i < n; i++)
		started[i] = !pthread_create(&t[i], NULL, destroy_link, lk[i]);
	for (int i = 0; i < n; i++) {
		if (started[i])
			pthread_join(t[i], NULL);
		else
			bpf_link__destroy(lk[i]);
	}
}

int mw_loader_arm(struct mw_loader *l, unsigned mask, int on)
{
	struct bpf_link *gone[MW_MAX_SITES];
	int n = 0, e = 0, ngone = 0, iters = !!(mask & (1u << MW_P_ITERINIT));
	int writes = !!(mask & ~(1u << MW_P_ITERINIT | 1u << MW_P_ITERDONE));
	struct mapwatch_bpf__bss *b = l->skel->bss;

	if (!l->nlinks || l->flushed_agg)
		return 0;
	if (!on) {
		/* Every windowed probe stops at once (BPF checks these flags
		 * first), then the breakpoints go. An iteration open now may
		 * end unseen: its generation ends with the window. */
		if (writes)
			__atomic_store_n(&b->writes_off, 1, __ATOMIC_SEQ_CST);
		if (iters) {
			__atomic_store_n(&b->iters_off, 1, __ATOMIC_SEQ_CST);
			__atomic_add_fetch(&b->iter_gen, 1, __ATOMIC_SEQ_CST);
		}
		__atomic_add_fetch(&b->window_gen, 1, __ATOMIC_SEQ_CST);
	}
	for (int i = 0; i < l->target->nsites && i < MW_MAX_SITES; i++) {
		if (!(mask & (1u << l->target->site[i].point)))
			continue;
		if (on && !l->links[i]) {
			l->links[i] = site_attach(l, i);
			if (!l->links[i]) {
				e = -errno;
				continue;
			}
			n++;
		} else if (!on && l->links[i]) {
			gone[ngone++] = l->links[i];
			l->links[i] = NULL;
			n++;
		}
	}
	destroy_links(gone, ngone);
	if (on) {
		/* Every breakpoint is in: a new window (nothing recorded before
		 * it names the last writer or an open iteration), iterations
		 * first, then writes. */
		__atomic_add_fetch(&b->window_gen, 1, __ATOMIC_SEQ_CST);
		if (iters) {
			__atomic_add_fetch(&b->iter_gen, 1, __ATOMIC_SEQ_CST);
			__atomic_store_n(&b->iters_off, 0, __ATOMIC_SEQ_CST);
		}
		if (writes)
			__atomic_store_n(&b->writes_off, 0, __ATOMIC_SEQ_CST);
	}
	return e ? e : n;
}

int mw_loader_calibrate(struct mw_loader *l, const char *path, uint64_t off, void (*fn)(int), int n,
			struct mw_calib *out)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = false);
	uint64_t t0, t1, t2, t3, w0, w1, w2, w3;
	struct bpf_link *lk;

	memset(out, 0, sizeof(*out));
	t0 = thread_ns();
	for (int i = 0; i < n; i++)
		fn(i);
	t1 = thread_ns();
	w0 = mono_ns();
	lk = bpf_program__attach_uprobe_opts(l->skel->progs.mw_iterinit, getpid(), path, off, &uo);
	w1 = mono_ns();
	if (!lk)
		return -errno;
	t2 = thread_ns();
	for (int i = 0; i < n; i++)
		fn(i);
	t3 = thread_ns();
	w2 = mono_ns();
	bpf_link__destroy(lk);
	w3 = mono_ns();
	double bare = (double)(t1 - t0), probed = (double)(t3 - t2);
	out->hit_ns = probed > bare ? (probed - bare) / n : 0;
	out->attach_ns = (double)(w1 - w0);
	out->detach_ns = (double)(w3 - w2);
	return 0;
}

/* What the aggregation table still counts once no probe runs: a record per
 * race, from its template, carrying the occurrences no record carried. */
static void agg_flush(struct mw_loader *l, int pid)
{
	int fd = bpf_map__fd(l->skel->maps.agg);
	struct mw_akey key, next;
	struct mw_agg a;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (pid > 0 && next.pid != (__u32)pid) {
			key = next;
			prev = &key;
			continue;
		}
		if (!bpf_map_lookup_elem(fd, &next, &a) && a.unsent && a.tmpl.type) {
			struct mw_record r = a.tmpl;

			r.repeat = 1;	/* occurrences of events already seen: not new events */
			while (a.unsent) {
				r.n = a.unsent > 0x7fffffff ? 0x7fffffff : (__u32)a.unsent;
				a.unsent -= r.n;
				if (l->on_record)
					l->on_record(l->ctx, &r);
			}
		}
		if (pid > 0 && !bpf_map_delete_elem(fd, &next)) {
			prev = NULL;	/* the walk restarts: deleting may reorder it */
			continue;
		}
		key = next;
		prev = &key;
	}
}

void mw_loader_flush_pid(struct mw_loader *l, int pid)
{
	agg_flush(l, pid);
}

void mw_loader_detach(struct mw_loader *l)
{
	struct bpf_link *gone[MW_MAX_SITES + 1];
	int n = 0;

	/* In parallel: each waits for a grace period (0.1-0.5 s here). */
	if (l->exec_link)
		gone[n++] = l->exec_link;
	l->exec_link = NULL;
	for (int i = 0; i < MW_MAX_SITES; i++) {
		if (l->links[i] && n < MW_MAX_SITES)
			gone[n++] = l->links[i];
		else
			bpf_link__destroy(l->links[i]);
		l->links[i] = NULL;
	}
	destroy_links(gone, n);
	if (!l->flushed_agg) {
		l->flushed_agg = 1;
		agg_flush(l, -1);
	}
}

void mw_loader_free(struct mw_loader *l)
{
	if (!l)
		return;
	ring_buffer__free(l->rb);
	mw_loader_detach(l);
	mapwatch_bpf__destroy(l->skel);
	free(l);
}
