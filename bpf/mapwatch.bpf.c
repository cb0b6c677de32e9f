// SPDX-License-Identifier: GPL-2.0
/* mapwatch.bpf.c — the kernel side: entry uprobes on the map runtime.
 *
 * Overlaps are decided here, from per-map state that is exact at the moment
 * of the probe: the open iterations of each map (hiter, thread, start) and
 * its last writer. A write, grow or evacuation by a thread other than an
 * open iteration's owner emits one record per overlapping iteration, with
 * the iterator's position read from its hiter right now; a write that meets
 * a foreign write in flight (hmap.flags & hashWriting, set by another
 * thread) emits a write-write record. Everything else costs the trap and one
 * hash lookup: no record, no map update. With record_all (a trace is being
 * written) every probe hit emits a record.
 *
 * User stacks go into a deduplicating stack map: the iterating thread's at
 * every mapiterinit (kept in its slot), the writer's or grower's only when
 * its event meets a foreign iteration or write. Because the probes sit
 * before `push %rbp`, the frame-pointer walk misses the immediate caller;
 * the return address at [sp] is read here and travels in the record.
 *
 * Go (layout.go): the actor is the goroutine (goid read through R14 = g),
 * never the thread — a range loop migrates between threads and a thread runs
 * many goroutines. An iteration has no end event unless it runs to its end
 * (the end-of-iteration block of mapiternext is probed); `break`, `return`
 * and panics leave none, and Go copies stacks, so a hiter moves. An open
 * slot therefore records where its hiter lives relative to the top of its
 * goroutine's stack, and at a foreign write it is checked against the
 * target's memory: the goroutine still alive with the same goid, the hiter
 * still on this map with a key. If not, the slot expires. If so, the alert
 * goes out *pending*: a `break` that parks in the loop's own frame still
 * looks alive. It becomes real when the iteration is seen to move on — its
 * position differs at a later look, its end block runs, or the runtime's own
 * check fires from it — which a CONFIRM record (or the end record) tells
 * userspace; alerts never confirmed are reported apart, not counted.
 *
 * The traced process's memory is untrusted: every read is checked, B and
 * sizes are bounded, and loops are bounded by MW_MAX_ITERS.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "mapwatch.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader between open and load. */
/* The processes watched: userspace adds and removes them (pids). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct mw_proc);
} pids SEC(".maps");
const volatile __u8 record_all = 0;	/* emit a record on every probe hit */
/* Emit every iteration start and end (the live view draws open iterations);
 * headless, only a start that meets a write in flight is a record: the slot
 * state in BPF is what decides overlaps, and an iteration record costs
 * ~0.3 µs of ring-buffer work in the target's thread. */
const volatile __u8 iter_records = 1;
const volatile struct mw_layout layout = {};
const volatile __u8 capture_stacks = 1;	/* 0: --no-stacks */
/* In-kernel aggregation of repeated races (struct mw_agg): a record for the
 * first occurrence of a race, then at most one per agg_ns carrying the count
 * since the last. 0: a record per occurrence (recordings: -o, --perfetto). */
const volatile __u64 agg_ns = 0;
const volatile __u8 exec_all = 0;	/* mw_exec reports every exec on the host (--all's discovery) */

/* What could not be delivered; read by userspace through the mmaped .bss. */
struct mw_counters counters = {};

/* Hot counters (hits, records) live per CPU so that a busy multi-threaded
 * target does not bounce one cache line between CPUs on every probe. The
 * loader adds them into the totals it reports. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_counters);
} pcpu_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20);
} rb SEC(".maps");

/* Per-map state. LRU: Go frees maps through its GC, with no event, so the
 * least recently used state goes when the table is full (tracked maps are
 * bounded by the live ones in use, not by every map ever seen); libgomap's
 * mapfree removes a map's state at once. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MW_MAX_MAPS);
	__type(key, struct mw_mkey);
	__type(value, struct mw_mapstate);
} mapstate SEC(".maps");

/* A process's exec generation (struct mw_proc in pids) is bumped when it
 * execs, so per-map state of the old image is seen as stale (and reset) on
 * its next use, even when the new image's map lands at the old address. */

/* Deduplicated user stacks: equal stacks share an id (a hash of the
 * frames). The walk is our own (walk_stack): the kernel's user unwinder
 * followed frame pointers into glibc's frames, which keep none, and paid for
 * faulting reads of garbage — about 5 µs per capture under this hypervisor.
 * An id stored in an open iteration's slot must keep naming its stack until
 * the alert is made, so a hash collision with a different stack is refused
 * (counted in stack_fails), never overwritten. Ids are never freed. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_STACK_ENTRIES);
	__type(key, __u32);
	__type(value, struct mw_ustack);
} stacks SEC(".maps");



/* Repeated races, counted here between two records (struct mw_agg). Not an
 * LRU: an entry holds occurrences no record carries yet, which the end of
 * the run reads; when the table is full a race is sent a record per
 * occurrence, as without aggregation. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_MAX_AGG);
	__type(key, struct mw_akey);
	__type(value, struct mw_agg);
} agg SEC(".maps");

/* Go: the map of each goroutine's latest iteration start, for runtime.fatal
 * (which is passed only the message). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct mw_gkey);
	__type(value, __u64);
} giter SEC(".maps");

/* Go: the map of each goroutine's latest write, for runtime.fatal's
 * "concurrent map writes". */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct mw_gkey);
	__type(value, __u64);
} gwrite SEC(".maps");

/* Iteration numbers (global, from 1). */
__u64 iter_seq_next = 0;

/* Sampled mode: bumped by userspace each time the write probes are attached
 * or detached (user/sampler.c). A map's last writer recorded in another
 * window is not known to be the last one any more (writes between windows
 * went unseen): it counts as unknown, so an event that meets a write in
 * flight is flagged only against a writer seen in the same window. Always 0
 * in exact mode. */
__u32 window_gen = 0;
/* Sampled mode, when the iteration probes are windowed too: bumped when they
 * are attached or detached. An iteration recorded in another generation may
 * have ended unseen between windows: it is released, never flagged. */
__u32 iter_gen = 0;
/* Sampled mode: set while a window closes or is being opened, so that every
 * write (and read) probe, or every iteration probe, stops at the same
 * instant, not one by one as their links are destroyed (detaching a uprobe
 * waits for a grace period). */
__u32 writes_off = 0;
__u32 iters_off = 0;

/* Zeroed values to create per-map state and aggregation entries from. */
const volatile struct mw_mapstate zero_state = {};
const volatile struct mw_agg zero_agg = {};

#define RB_FLAGS BPF_RB_NO_WAKEUP

#ifndef READ_ONCE
#define READ_ONCE(x) (*(volatile typeof(x) *)&(x))
#endif

_Static_assert((MW_MAX_ITERS & (MW_MAX_ITERS - 1)) == 0, "MW_MAX_ITERS: a power of two");

static __always_inline struct mw_counters *pcpu(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&pcpu_counters, &zero);
}

#include "uaccess.bpf.h"

/* Who acts: the OS thread, and the actor that owns iterations and writes —
 * the thread itself for libgomap, the goroutine for Go (g in R14). */
struct who {
	__u64 actor;	/* tid, or goid */
	__u64 g;	/* Go: the g pointer */
	__u64 gen;	/* the process's exec generation */
	__u32 tid;
	__u32 pid;
};

/* The filter every probe starts with: the traced process only. */
static __always_inline bool ours(struct pt_regs *ctx, struct who *w)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct mw_proc *pr = bpf_map_lookup_elem(&pids, &tgid);

	if (!pr)
		return false;
	w->pid = tgid;
	w->gen = READ_ONCE(pr->exec_gen);
	w->tid = (__u32)id;
	w->actor = w->tid;
	w->g = 0;
	if (layout.go) {
		__u64 g = ctx->r14, goid = 0;
		if (!g || bpf_probe_read_user(&goid, sizeof(goid), (void *)(g + layout.g_goid)) ||
		    !goid) {
			bad_read();
			return false;
		}
		w->g = g;
		w->actor = goid;
	}
	struct mw_counters *pc = pcpu();
	if (pc)
		pc->hits++;
	return true;
}

/* The walk goes into this function's own frame: a per-CPU scratch buffer
 * would be shared with another thread's probe that preempts this one (uprobe
 * programs run preemptibly), mixing two threads' stacks. A global function:
 * the verifier checks the walk once per program, not once per call site
 * (that made loading take over a second). */
__noinline __s32 grab_stack_walk(struct pt_regs *ctx, __u64 *caller)
{
	if (!ctx || !caller)
		return -1;
	struct mw_ustack stk, *st = &stk;
	__u64 hsh = 0xcbf29ce484222325ULL;
	__u32 n, id;

	__builtin_memset(st, 0, sizeof(*st));
	n = walk_stack(ctx, st);
	if (n > 1)
		*caller = st->ip[1];
	for (int i = 0; i < MW_MAX_STACK; i++) {
		if (i >= n)
			break;
		hsh = (hsh ^ st->ip[i]) * 0x100000001b3ULL;
	}
	id = (__u32)(hsh ^ (hsh >> 32)) & 0x7fffffff;
	struct mw_ustack *old = bpf_map_lookup_elem(&stacks, &id);
	if (old) {
		/* Same id: the same stack, unless the hash collided. */
		if (old->ip[0] == st->ip[0] && old->ip[1] == st->ip[1] && old->ip[2] == st->ip[2] &&
		    old->ip[3] == st->ip[3])
			return (__s32)id;
		__sync_fetch_and_add(&counters.stack_fails, 1);
		return -1;
	}
	if (bpf_map_update_elem(&stacks, &id, st, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&stacks, &id)) {
		__sync_fetch_and_add(&counters.stack_fails, 1);
		return -1;
	}
	return (__s32)id;
}

static __always_inline __s32 grab_stack(struct pt_regs *ctx, __u64 *caller)
{
	*caller = 0;
	if (!capture_stacks)
		return -1;
	return grab_stack_walk(ctx, caller);
}

static __always_inline void rec_init(struct mw_record *r, __u16 type, const struct who *w, __u64 now,
				     __u64 h)
{
	__builtin_memset(r, 0, sizeof(*r));
	r->type = type;
	r->tid = w->tid;
	r->gid = layout.go ? w->actor : 0;
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->ts = now;
	r->map = h;
	r->bucket = MW_NO_BUCKET;
	r->stack_id = -1;
	r->other_stack_id = -1;
}

static __always_inline struct mw_record *rec_new(__u16 type, const struct who *w, __u64 now, __u64 h)
{
	struct mw_record *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);

	if (!r) {
		__sync_fetch_and_add(&counters.rb_drops, 1);
		return NULL;
	}
	rec_init(r, type, w, now, h);
	return r;
}

static __always_inline void rec_submit(struct mw_record *r)
{
	struct mw_counters *pc = pcpu();

	if (pc)
		pc->records++;
	bpf_ringbuf_submit(r, RB_FLAGS);
}

/* ---- aggregation of repeated races ------------------------------------------ */

/* The return address of the probed call, as the stack walk's second frame
 * would have it, at the price of one read: the aggregation key's code
 * location, known before deciding whether the full walk is needed. */
static __always_inline __u64 site_caller(struct pt_regs *ctx)
{
	__u64 a = PT_REGS_SP(ctx), v = 0;

	if (!capture_stacks)
		return 0;
	if (bpf_get_attach_cookie(ctx) & MW_COOKIE_FRAME)
		a = ctx->bp + 8;
	if (bpf_probe_read_user(&v, sizeof(v), (void *)a))
		return 0;
	return v;
}

/* One occurrence of race k at now. Returns its entry (NULL: aggregation off
 * or the table full: send a record of one occurrence as before) and in *n
 * the occurrences the record to send now carries, or 0 when this one is only
 * counted (a record for the race went out less than agg_ns ago). */
static __always_inline struct mw_agg *agg_take(const struct mw_akey *k, __u64 now, __u32 *n)
{
	struct mw_agg *a;

	*n = 1;
	if (!agg_ns)
		return NULL;
	a = bpf_map_lookup_elem(&agg, k);
	if (!a) {
		bpf_map_update_elem(&agg, k, (void *)&zero_agg, BPF_NOEXIST);
		a = bpf_map_lookup_elem(&agg, k);
		if (!a) {
			__sync_fetch_and_add(&counters.agg_full, 1);
			return NULL;
		}
	}
	__u64 last = READ_ONCE(a->last_ns);
	if (last && now >= last && now - last < agg_ns) {
		struct mw_counters *pc = pcpu();

		__sync_fetch_and_add(&a->unsent, 1);
		if (pc)
			pc->agg_counted++;
		*n = 0;
		return a;
	}
	a->last_ns = now;
	/* Take what is counted (increments racing with this stay counted). */
	__u64 v = READ_ONCE(a->unsent);
	if (v > 0x7fffffff)
		v = 0x7fffffff;
	if (v)
		__sync_fetch_and_add(&a->unsent, -v);
	*n = (__u32)v + 1;
	return a;
}

/* Send the record built in a's template, carrying n occurrences. With the
 * ring buffer full they go back into the count: a later record, or the end
 * of the run, carries them (the race is not lost). */
static __always_inline void agg_send(struct mw_agg *a, __u32 n)
{
	struct mw_record *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);

	if (!r) {
		__sync_fetch_and_add(&a->unsent, n);
		return;
	}
	__builtin_memcpy(r, &a->tmpl, sizeof(*r));
	r->n = n;
	rec_submit(r);
}

/* The record of an alert: in the aggregation entry's template (sent by
 * agg_send) or straight in the ring buffer. */
static __always_inline struct mw_record *alert_rec(struct mw_agg *a, __u16 type, const struct who *w,
						    __u64 now, __u64 h)
{
	if (!a)
		return rec_new(type, w, now, h);
	rec_init(&a->tmpl, type, w, now, h);
	return &a->tmpl;
}

static __always_inline void alert_submit(struct mw_agg *a, struct mw_record *r, __u32 n)
{
	if (a)
		agg_send(a, n);
	else
		rec_submit(r);
}

/* The hmap header fields every record carries. */
static __always_inline void fill_h(struct mw_record *r, __u64 h)
{
	struct hdr hd;

	if (!h || rd_hdr(&hd, h, layout.h_size))	/* the hmap header */
		return;
	r->count = HDR_U64(&hd, layout.h_count);
	r->hflags = HDR_U8(&hd, layout.h_flags);
	r->B = HDR_U8(&hd, layout.h_B);
	r->buckets = HDR_U64(&hd, layout.h_buckets);
	r->oldbuckets = HDR_U64(&hd, layout.h_oldbuckets);
	r->nevacuate = HDR_U64(&hd, layout.h_nevacuate);
}

/* The map's last writer, when it was seen in the current window (else 0). */
static __always_inline __u64 last_writer(struct mw_mapstate *st)
{
	if (READ_ONCE(st->lw_gen) != READ_ONCE(window_gen))
		return 0;
	return READ_ONCE(st->last_writer);
}

static __always_inline struct mw_mapstate *state_get(const struct who *w, __u64 h, bool create)
{
	struct mw_mkey k = { .h = h, .pid = w->pid };
	struct mw_mapstate *st = bpf_map_lookup_elem(&mapstate, &k);
	__u64 gen = w->gen;

	if (st && st->gen != gen) {
		/* State of the image before an exec: not this map's. */
		bpf_map_delete_elem(&mapstate, &k);
		st = NULL;
	}
	if (st || !create)
		return st;
	if (bpf_map_update_elem(&mapstate, &k, (void *)&zero_state, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&mapstate, &k)) {
		__sync_fetch_and_add(&counters.map_full, 1);
		return NULL;
	}
	st = bpf_map_lookup_elem(&mapstate, &k);
	if (st)
		st->gen = gen;
	return st;
}

/* ---- Go: where a hiter lives, and whether an iteration is still alive ------- */

/* The slot key of a hiter at address it, for goroutine g: its offset from
 * the top of g's stack when it is on that stack (stable across stack
 * copies), else the address itself (a heap hiter: reflect's MapIter). */
static __always_inline __u64 go_hiter_key(__u64 g, __u64 it)
{
	__u64 lo = rd_u64(g + layout.g_stack_lo), hi = rd_u64(g + layout.g_stack_hi);

	if (it >= lo && it < hi)
		return MW_HITER_STACK | (hi - it);
	return it;
}

/* The hiter's address now, from its slot key; 0 when g has no stack. */
static __always_inline __u64 go_hiter_addr(__u64 g, __u64 key)
{
	if (!(key & MW_HITER_STACK))
		return key;
	__u64 hi = rd_u64(g + layout.g_stack_hi);
	__u64 off = key & ~MW_HITER_STACK;
	return hi > off ? hi - off : 0;
}

/* The iterator's position, read from its hiter now. */
struct iterpos {
	__u64 bptr, buckets, bucket, h, key;
	__u8 B, i, wrapped;
};

static __always_inline int read_iter(struct iterpos *p, __u64 it)
{
	struct hdr hd;

	if (rd_hdr(&hd, it, layout.it_size))	/* the hiter */
		return -1;
	p->bptr = HDR_U64(&hd, layout.it_bptr);
	p->buckets = HDR_U64(&hd, layout.it_buckets);
	p->bucket = HDR_U64(&hd, layout.it_bucket);
	p->h = HDR_U64(&hd, layout.it_h);
	p->key = HDR_U64(&hd, layout.it_key);
	p->B = HDR_U8(&hd, layout.it_B);
	p->i = HDR_U8(&hd, layout.it_i);
	p->wrapped = HDR_U8(&hd, layout.it_wrapped);
	return 0;
}

/* Where the iterator stands, as one number: it changes whenever mapiternext
 * moves it on. */
static __always_inline __u64 pos_print(const struct iterpos *p)
{
	__u64 x = p->key * 0x9e3779b97f4a7c15ULL;

	x ^= p->bptr + 0x632be59bd9b4e019ULL + (x << 6) + (x >> 2);
	x ^= (p->bucket << 16 | (__u64)p->i << 8 | p->wrapped) + (x << 6) + (x >> 2);
	return x | 1;
}

/* Release a slot whose owner is `owner`: exactly one caller wins. */
static __always_inline bool slot_release(struct mw_mapstate *st, struct mw_iter_slot *sl, __u64 owner)
{
	if (!owner || __sync_val_compare_and_swap(&sl->owner, owner, 0) != owner)
		return false;
	barrier();
	sl->hiter = 0;
	__sync_fetch_and_add(&st->n_iters, -1);
	return true;
}

/* An iteration record (start, end, confirm) for slot values read before. */
static __always_inline void emit_iter_rec(__u16 type, const struct who *w, __u64 h, __u64 hiter,
					  __u64 seq, __u64 start, __u8 flags, __u64 gid, __u32 tid)
{
	struct mw_record *r = rec_new(type, w, bpf_ktime_get_ns(), h);

	if (!r)
		return;
	r->hiter = hiter;
	r->iter_seq = seq;
	r->other_ts = start;
	r->flags = flags;
	/* Written on behalf of the iteration's owner (an expiry or a confirmation
	 * found by another goroutine's probe). */
	r->gid = gid;
	r->tid = tid;
	fill_h(r, h);
	rec_submit(r);
}

/* A slot opened less than this ago may hold a hiter its mapiterinit is
 * still filling (zeroed, or garbage for a few instructions): never expired. */
#define MW_YOUNG_NS 20000

static __always_inline bool slot_young(struct mw_iter_slot *sl, __u64 now)
{
	return now - READ_ONCE(sl->start_ts) < MW_YOUNG_NS;
}

/* An open iteration found over (its goroutine gone, its hiter reused):
 * release its slot, count it, and tell userspace when it held pending
 * alerts or the outputs want every end (exactly one caller wins). */
static __always_inline void slot_expire(struct mw_mapstate *st, struct mw_iter_slot *sl, __u64 h,
					__u64 key, __u64 owner, const struct who *w)
{
	__u64 seq = READ_ONCE(sl->seq), start = READ_ONCE(sl->start_ts);
	__u32 pending = READ_ONCE(sl->pending), tid = READ_ONCE(sl->tid);

	if (!slot_release(st, sl, owner))
		return;
	__sync_fetch_and_add(&counters.expired, 1);
	if (pending || iter_records || record_all)
		emit_iter_rec(MW_REC_ITER_END, w, h, key, seq, start, MW_RF_ABANDONED,
			      layout.go ? owner : 0, tid);
}

/* Go: is the iteration in slot sl still alive? If it is not, the slot is
 * released (and an abandoned-end record sent when it has pending alerts or
 * the outputs want every end). If it is, *p holds its position. */
static __always_inline bool go_slot_alive(struct mw_mapstate *st, struct mw_iter_slot *sl, __u64 h,
					  __u64 it_key, __u64 owner, const struct who *w,
					  struct iterpos *p, __u64 *addr, __u64 now)
{
	__u64 g = READ_ONCE(sl->g);
	__u64 goid = rd_u64(g + layout.g_goid);
	__u32 status = 0;

	if (bpf_probe_read_user(&status, sizeof(status), (void *)(g + layout.g_status)))
		status = layout.g_dead;
	*addr = 0;
	if (goid == owner && status != layout.g_dead) {
		*addr = go_hiter_addr(g, it_key);
		/* The caller zeroes the hiter before mapiterinit, which sets h
		 * and then (through mapiternext) key: a young slot whose hiter
		 * is still zero, or names h without a key yet, is an iteration
		 * being set up, not one that is over. */
		bool young = slot_young(sl, now);
		if (*addr && !read_iter(p, *addr) &&
		    ((p->h == h && (p->key || young)) || (!p->h && young)))
			return true;
	}
	slot_expire(st, sl, h, it_key, owner, w);
	return false;
}

/* ---- iterations ------------------------------------------------------------ */

/* Sampled mode: is the slot's iteration of an earlier iteration-probe
 * generation (it may have ended while the end probe was detached)? */
static __always_inline bool slot_stale(struct mw_iter_slot *sl)
{
	return READ_ONCE(sl->gen) != READ_ONCE(iter_gen);
}

/* A full slot table may hold iterations that are over: of an earlier
 * generation (sampled mode), or, for Go, left by break or return (checked
 * against memory). Release those. A global function, so the verifier sees
 * it once. */
__noinline int slots_reap(struct mw_mapstate *st, __u64 h, __u64 tid_gid)
{
	int freed = 0;

	if (!st)
		return 0;
	for (int i = 0; i < MW_MAX_ITERS; i++) {
		struct mw_iter_slot *sl = &st->iters[i];
		__u64 key = READ_ONCE(sl->hiter), owner = READ_ONCE(sl->owner);
		struct iterpos p = {};
		struct who w = { .actor = tid_gid };
		__u64 addr;

		if (!key || !owner)
			continue;
		if (slot_stale(sl)) {
			slot_expire(st, sl, h, key, owner, &w);
			freed++;
		} else if (layout.go &&
			   !go_slot_alive(st, sl, h, key, owner, &w, &p, &addr, bpf_ktime_get_ns())) {
			freed++;
		}
	}
	return freed;
}

static __always_inline struct mw_iter_slot *slot_claim(struct mw_mapstate *st, __u64 key,
						       const struct who *w, __u64 now, __s32 sid,
						       __u64 caller, __u64 seq)
{
	/* A stale slot for the same (hiter, actor) is reused: the previous
	 * iteration on this hiter ended without an event. Otherwise claim a
	 * free slot with a compare-and-swap on its hiter: two threads starting
	 * iterations of one map at once must not tear a slot (a slot owned by
	 * nobody would stay open forever). The owner is stored last; writers
	 * skip slots whose owner is not set yet. */
	for (int i = 0; i < MW_MAX_ITERS; i++) {
		struct mw_iter_slot *s = &st->iters[i];
		if (s->hiter == key && s->owner == w->actor) {
			s->gen = READ_ONCE(iter_gen);
			s->flagged_write = 0;
			s->start_ts = now;
			s->stack_id = sid;
			s->caller = caller;
			s->seq = seq;
			s->pending = 0;
			s->pos = 0;
			s->g = w->g;
			s->tid = w->tid;
			return s;
		}
	}
	for (int i = 0; i < MW_MAX_ITERS; i++) {
		struct mw_iter_slot *s = &st->iters[i];
		if (s->hiter || __sync_val_compare_and_swap(&s->hiter, 0, key) != 0)
			continue;
		s->gen = READ_ONCE(iter_gen);
		s->flagged_write = 0;
		s->start_ts = now;
		s->stack_id = sid;
		s->caller = caller;
		s->seq = seq;
		s->pending = 0;
		s->pos = 0;
		s->g = w->g;
		s->tid = w->tid;
		barrier();
		s->owner = w->actor;
		__sync_fetch_and_add(&st->n_iters, 1);
		return s;
	}
	return NULL;
}

SEC("uprobe")
int BPF_KPROBE(mw_iterinit)
{
	struct who w;

	if (READ_ONCE(iters_off))
		return 0;
	if (!ours(ctx, &w))
		return 0;
	__u64 h = arg(ctx, layout.arg_h);
	__u64 it = arg(ctx, layout.arg_init_it);
	if (!h || !it)
		return 0;
	/* Not skipped when the map looks empty here: a write may fill it before
	 * mapiterinit reads count. An iteration that ends at once still ends
	 * through mapiterdone (libgomap), or is found dead later (Go). */

	__u64 now = bpf_ktime_get_ns();
	struct mw_mapstate *st = state_get(&w, h, true);
	if (!st)
		return 0;
	st->iterations++;
	__u64 key = it;
	if (layout.go) {
		key = go_hiter_key(w.g, it);
		struct mw_gkey gk = { .goid = w.actor, .pid = w.pid };
		bpf_map_update_elem(&giter, &gk, &h, BPF_ANY);
	}
	__u64 seq = __sync_fetch_and_add(&iter_seq_next, 1) + 1;
	/* The iterator's stack, for any write that meets this iteration later. */
	__u64 caller;
	__s32 sid = grab_stack(ctx, &caller);

	struct mw_iter_slot *mine = slot_claim(st, key, &w, now, sid, caller, seq);
	if (!mine && (layout.go || READ_ONCE(iter_gen)) && slots_reap(st, h, w.actor))
		mine = slot_claim(st, key, &w, now, sid, caller, seq);
	if (!mine)
		__sync_fetch_and_add(&counters.slots_full, 1);

	if (!iter_records && !record_all) {
		__u64 lw0 = last_writer(st);
		if (!(rd_u8(h + layout.h_flags) & layout.flag_writing) || !lw0 || lw0 == w.actor)
			return 0;
	}
	struct mw_record *r = rec_new(MW_REC_ITER_START, &w, now, h);
	if (!r)
		return 0;
	r->hiter = key;
	r->iter_seq = seq;
	r->stack_id = sid;
	r->caller = caller;
	r->bsize = rd_u16(arg(ctx, layout.arg_t) + layout.t_bucketsize);	/* for the views */
	fill_h(r, h);
	/* Started inside another actor's write in flight. last_writer is read
	 * once: every use must see the same, non-zero actor. */
	__u64 lw = last_writer(st);
	if ((r->hflags & layout.flag_writing) && lw && lw != w.actor) {
		r->kind = MW_KIND_ITER_WRITE;
		r->other_tid = READ_ONCE(st->last_writer_tid);
		r->other_gid = layout.go ? lw : 0;
		r->other_ts = st->last_write_ts;
		if (READ_ONCE(st->wstack_actor) == lw) {
			r->other_stack_id = READ_ONCE(st->wstack_id);
			r->other_caller = READ_ONCE(st->wstack_caller);
		}
		if (mine)
			mine->flagged_write = READ_ONCE(st->writes);
	}
	rec_submit(r);
	return 0;
}

/* The end of an iteration: libgomap's mapiterdone(it), or the end block of
 * Go's mapiternext (reached only when the iteration has walked every
 * bucket; AX = it). */
SEC("uprobe")
int BPF_KPROBE(mw_iterdone)
{
	struct who w;

	if (READ_ONCE(iters_off))
		return 0;
	if (!ours(ctx, &w))
		return 0;
	__u64 it = arg(ctx, layout.arg_done_it);
	if (!it)
		return 0;
	__u64 h = 0;
	/* Called again after the end (idempotent): it->h may be gone. */
	if (bpf_probe_read_user(&h, sizeof(h), (void *)(it + layout.it_h)) || !h)
		return 0;
	struct mw_mapstate *st = state_get(&w, h, false);
	if (!st || !st->n_iters)
		return 0;
	__u64 key = layout.go ? go_hiter_key(w.g, it) : it;
	__u64 start = 0, seq = 0;
	__u32 pending = 0;
	bool found = false;
	for (int i = 0; i < MW_MAX_ITERS; i++) {
		struct mw_iter_slot *s = &st->iters[i];
		if (s->hiter == key && s->owner == w.actor) {
			start = s->start_ts;
			seq = s->seq;
			pending = s->pending;
			found = slot_release(st, s, w.actor);
			break;
		}
	}
	/* The loop ran to its end: every alert raised against it is real. */
	if (!found || (!pending && !iter_records && !record_all))
		return 0;
	emit_iter_rec(MW_REC_ITER_END, &w, h, key, seq, start, 0, layout.go ? w.actor : 0, w.tid);
	return 0;
}

/* ---- writes ------------------------------------------------------------------ */

/* The iterator's position, as a record carries it. */
static __always_inline void set_iterpos(struct mw_record *r, const struct iterpos *p)
{
	r->iter_bptr = p->bptr;
	r->iter_buckets = p->buckets;
	r->iter_bucket = p->bucket;
	r->iter_B = p->B;
	r->iter_i = p->i;
}

/* Does evacuating old bucket `bucket` (at baddr, bsize bytes) retire the
 * bucket the iterator stands in? */
static __always_inline bool evac_hits(const struct iterpos *p, __u64 old, __u64 bucket,
				      __u64 baddr, __u16 bsize)
{
	if (baddr && p->bptr >= baddr && p->bptr < baddr + bsize)
		return true;
	if (!old || p->buckets != old)
		return false;
	if (p->B > layout.max_B || p->B >= 64) {
		bad_read();
		return false;
	}
	return ((p->bucket - 1) & ((1ULL << p->B) - 1)) == bucket;
}

/* What an event is, for emit_slot. */
struct emit_ctx {
	__u64 now, h, old, bucket, baddr;
	__u64 wseq;	/* WRITE: the write's sequence number on the map */
	__u64 caller;	/* the event actor's return address */
	__u64 actor;	/* tid or goid */
	__u64 g;
	__s32 stack_id;	/* the event actor's stack, -1, or MW_STACK_LATER */
	__u32 tid;
	__u16 type, bsize;
	__u8 kind, op;
	__u8 records;	/* records emitted so far for this event (for repeat) */
	__u8 pad;
};

/* The event actor's stack is walked once, when a first record needs it (an
 * occurrence only counted in the aggregation table needs none). */
#define MW_STACK_LATER (-2)

/* The record for one open iteration slot of another actor. A global
 * (separately verified) function: inlined into the slot loop it made the
 * evacuate program's state space explode. Returns 1 when a record went out.
 * An evacuation is an alert only where it meets the iterator's bucket
 * (else a plain record in record_all mode). */
__noinline int emit_slot(struct pt_regs *ctx, struct mw_mapstate *st, __u32 i, struct emit_ctx *e)
{
	if (!ctx || !st || !e || i >= MW_MAX_ITERS)
		return 0;
	/* MW_MAX_ITERS is a power of two: the mask is the bound the verifier sees. */
	__u32 idx = i;
	barrier_var(idx);
	struct mw_iter_slot *sl = &st->iters[idx & (MW_MAX_ITERS - 1)];
	/* Each field read once: a slot being claimed or released shows owner 0. */
	__u64 it = READ_ONCE(sl->hiter);
	__u64 owner = READ_ONCE(sl->owner);
	if (!it || !owner || owner == e->actor)
		return 0;
	struct who w = { .actor = e->actor, .g = e->g, .tid = e->tid };
	/* Sampled mode: started before the iteration probes were last
	 * detached; it may have ended unseen: released, never flagged. */
	if (slot_stale(sl)) {
		slot_expire(st, sl, e->h, it, owner, &w);
		return 0;
	}
	struct iterpos p = {};
	__u8 flags = 0;
	if (layout.go) {
		__u64 addr;
		if (!go_slot_alive(st, sl, e->h, it, owner, &w, &p, &addr, e->now))
			return 0;
		/* The iterator moved on since the last foreign write met it: it
		 * was alive then, so the alerts raised then are real. */
		__u64 pos = pos_print(&p);
		__u64 was = READ_ONCE(sl->pos);
		if (READ_ONCE(sl->pending) && was && was != pos) {
			sl->pending = 0;
			emit_iter_rec(MW_REC_CONFIRM, &w, e->h, it, READ_ONCE(sl->seq),
				      READ_ONCE(sl->start_ts), 0, owner, READ_ONCE(sl->tid));
		}
		sl->pos = pos;
		flags = MW_RF_PENDING;
	} else {
		/* libgomap: an iteration left without mapiterdone (its frame
		 * reused) no longer points at this map: it is over. One that
		 * mapiterinit is still filling is alive: its hiter is zeroed
		 * first (h = 0), and before that, for a few instructions, holds
		 * the caller's garbage; so only a slot older than 20 us whose
		 * hiter names another map (or cannot be read) expires. */
		int rd = read_iter(&p, it);
		if (!slot_young(sl, e->now) && (rd || (p.h && p.h != e->h))) {
			slot_expire(st, sl, e->h, it, owner, &w);
			return 0;
		}
	}
	__u8 k = e->kind;
	if (e->type == MW_REC_EVACUATE && !evac_hits(&p, e->old, e->bucket, e->baddr, e->bsize)) {
		if (!record_all)
			return 0;
		k = MW_KIND_NONE;
	}
	/* The same race again (same actors, code locations, map): counted. */
	struct mw_agg *ag = NULL;
	__u32 n = 1;
	if (k != MW_KIND_NONE && !flags) {
		struct mw_akey ak = {
			.map = e->h, .caller = e->caller, .other_caller = READ_ONCE(sl->caller),
			.actor = e->actor, .other_actor = owner,
			.pid = bpf_get_current_pid_tgid() >> 32, .kind = k, .type = (__u8)e->type,
			.op = e->op,
		};
		ag = agg_take(&ak, e->now, &n);
		if (!n) {
			if (e->type == MW_REC_WRITE)
				sl->flagged_write = e->wseq;
			e->records++;
			return 1;
		}
	}
	if (k != MW_KIND_NONE && e->stack_id == MW_STACK_LATER) {
		__u64 c;
		e->stack_id = grab_stack(ctx, &c);
	}
	struct mw_record *r = alert_rec(ag, e->type, &w, e->now, e->h);
	if (!r)
		return 0;
	r->op = e->op;
	r->hiter = it;
	r->iter_seq = READ_ONCE(sl->seq);
	set_iterpos(r, &p);
	fill_h(r, e->h);
	if (e->type == MW_REC_EVACUATE) {
		r->bucket = e->bucket;
		r->bucket_addr = e->baddr;
		r->bsize = e->bsize;
	}
	/* Every record after the first for this event is a repeat, alert or not. */
	r->repeat = e->records > 0;
	if (k != MW_KIND_NONE) {
		r->kind = k;
		r->flags = flags;
		r->other_tid = READ_ONCE(sl->tid);
		r->other_gid = layout.go ? owner : 0;
		r->other_ts = sl->start_ts;
		r->other_stack_id = sl->stack_id;
		r->other_caller = sl->caller;
		r->stack_id = e->stack_id;
		r->caller = e->caller;
		r->bucket_hit = e->type == MW_REC_EVACUATE;
		if (flags & MW_RF_PENDING)
			__sync_fetch_and_add(&sl->pending, 1);
		/* mw_fatal must not flag this write against this iteration again. */
		if (e->type == MW_REC_WRITE)
			sl->flagged_write = e->wseq;
	}
	e->records++;
	alert_submit(ag, r, n);
	return 1;
}

/* One record per open iteration of another actor; the second and later
 * ones are repeats of the same event. Returns the number of records. */
static __always_inline int emit_iter_overlaps(struct pt_regs *ctx, struct mw_mapstate *st,
					      __u16 type, __u8 kind,
					      __u8 op, const struct who *w, __u64 now, __u64 h,
					      __u64 old, __u64 bucket, __u64 baddr, __u16 bsize,
					      __s32 *sid, __u64 *caller)
{
	struct emit_ctx e = {
		.now = now, .h = h, .old = old, .bucket = bucket, .baddr = baddr,
		.actor = w->actor, .g = w->g, .tid = w->tid, .type = type, .bsize = bsize,
		.kind = kind, .op = op, .stack_id = MW_STACK_LATER, .wseq = READ_ONCE(st->writes),
		.caller = site_caller(ctx),
	};
	int subs = 0;

	for (__u32 i = 0; i < MW_MAX_ITERS; i++)
		subs += emit_slot(ctx, st, i, &e);
	/* -1/0 unless a record needed the walk (then the caller is its own). */
	if (e.stack_id != MW_STACK_LATER) {
		*sid = e.stack_id;
		*caller = e.caller;
	}
	return subs;
}

/* A record of an event that meets nothing (record_all, or a grow). */
static __always_inline void emit_plain(__u16 type, __u8 op, const struct who *w, __u64 now, __u64 h,
				       __u64 bucket, __u64 baddr, __u16 bsize)
{
	struct mw_record *r = rec_new(type, w, now, h);

	if (!r)
		return;
	r->op = op;
	fill_h(r, h);
	r->bucket = bucket;
	r->bucket_addr = baddr;
	r->bsize = bsize;
	rec_submit(r);
}

/* A record of an event (a write, a read, a clone) that meets another actor's
 * write in flight: that actor is the map's last writer, lw. Returns 1 when
 * it went out or was counted. sid MW_STACK_LATER: the event's stack is
 * walked here, only when a record is sent. */
static __always_inline int emit_vs_writer(struct pt_regs *ctx, const struct who *w, __u16 type,
					  __u8 kind, __u8 op, __u64 now, __u64 h,
					  struct mw_mapstate *st, __u64 lw, __s32 sid, __u64 caller,
					  __u8 repeat)
{
	if (sid == MW_STACK_LATER)
		caller = site_caller(ctx);
	struct mw_akey ak = {
		.map = h, .caller = caller, .actor = w->actor, .other_actor = lw,
		.pid = bpf_get_current_pid_tgid() >> 32, .kind = kind, .type = (__u8)type, .op = op,
	};
	__u32 n;
	struct mw_agg *ag = agg_take(&ak, now, &n);

	if (!n)
		return 1;
	if (sid == MW_STACK_LATER) {
		__u64 c;
		sid = grab_stack(ctx, &c);
	}
	struct mw_record *r = alert_rec(ag, type, w, now, h);
	if (!r)
		return 0;
	r->op = op;
	r->kind = kind;
	r->other_tid = READ_ONCE(st->last_writer_tid);
	r->other_gid = layout.go ? lw : 0;
	r->other_ts = st->last_write_ts;
	r->stack_id = sid;
	r->caller = caller;
	r->repeat = repeat;
	fill_h(r, h);
	alert_submit(ag, r, n);
	return 1;
}

static __always_inline int on_write(struct pt_regs *ctx, __u8 op)
{
	struct who w;

	if (READ_ONCE(writes_off))
		return 0;
	if (!ours(ctx, &w))
		return 0;
	__u64 h = arg(ctx, layout.arg_h);
	if (!h)
		return 0;
	struct mw_mapstate *st = state_get(&w, h, true);
	if (!st)
		return 0;
	/* The write's sequence number on this map names it (mw_fatal). */
	__u64 wseq = ++st->writes;
	if (layout.go) {
		struct mw_gkey gk = { .goid = w.actor, .pid = w.pid };
		bpf_map_update_elem(&gwrite, &gk, &h, BPF_ANY);
	}
	/* The clock costs ~65 ns under kvm-clock: read it only when this write
	 * emits something or opens a new writer's run. */
	__u64 now = 0;

	int n = 0;
	__s32 sid = -1;
	__u64 caller = 0;
	bool have_stack = false;
	if (st->n_iters) {
		now = bpf_ktime_get_ns();
		n = emit_iter_overlaps(ctx, st, MW_REC_WRITE, MW_KIND_ITER_WRITE, op, &w, now, h,
				       0, 0, 0, 0, &sid, &caller);
		have_stack = sid >= 0 || caller;
		/* Kept for the runtime's own check, which may find the race
		 * after this write met an iteration not yet (or no longer)
		 * looking alive. */
		if (have_stack) {
			st->wstack_id = sid;
			st->wstack_caller = caller;
			st->wstack_actor = w.actor;
		}
	}

	__u64 lw = last_writer(st);
	bool emitted = n > 0;
	if (lw != w.actor && !now)
		now = bpf_ktime_get_ns();
	if (lw && lw != w.actor) {
		/* Another actor wrote last: is its write still in flight? */
		__u8 fl = rd_u8(h + layout.h_flags);
		if (fl & layout.flag_writing) {
			if (!have_stack)
				sid = MW_STACK_LATER;
			/* The same write as the iter-write records before it: a repeat. */
			if (emit_vs_writer(ctx, &w, MW_REC_WRITE, MW_KIND_WRITE_WRITE, op, now, h, st, lw,
					   sid, caller, n > 0))
				emitted = true;
		}
	}
	/* last_write_ts is when the last writer's run of writes began: an actor
	 * writing again after itself changes nothing (no clock, no store). */
	if (lw != w.actor) {
		st->last_write_ts = now;
		st->last_writer_tid = w.tid;
		st->last_writer = w.actor;
		st->lw_gen = READ_ONCE(window_gen);
		/* A new writer's run: its stack, for a race found later from
		 * the iterator's side (an iteration that starts, or the
		 * runtime's check that fires, while this write is in flight),
		 * where the writer's own stack cannot be taken. Once per change
		 * of writer. */
		if (!have_stack && READ_ONCE(st->wstack_actor) != w.actor) {
			sid = grab_stack(ctx, &caller);
			st->wstack_id = sid;
			st->wstack_caller = caller;
			st->wstack_actor = w.actor;
		}
	}

	if (record_all && !emitted) {
		if (!now)
			now = bpf_ktime_get_ns();
		emit_plain(MW_REC_WRITE, op, &w, now, h, MW_NO_BUCKET, 0, 0);
	}
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mw_assign) { return on_write(ctx, MW_OP_ASSIGN); }

SEC("uprobe")
int BPF_KPROBE(mw_delete) { return on_write(ctx, MW_OP_DELETE); }

SEC("uprobe")
int BPF_KPROBE(mw_clear) { return on_write(ctx, MW_OP_CLEAR); }

/* ---- reads (--reads) --------------------------------------------------------- */

/* A lookup while another actor's write is in flight (hashWriting set, and
 * the last writer is someone else): Go's "concurrent map read and map
 * write", caught at the read's entry, before the runtime's own check. A
 * read that meets nothing costs the trap and one byte read. */
static __always_inline int on_read(struct pt_regs *ctx, __u8 kind)
{
	struct who w;

	if (READ_ONCE(writes_off))
		return 0;
	if (!ours(ctx, &w))
		return 0;
	__u64 h = arg(ctx, layout.arg_h);
	if (!h)
		return 0;
	__u8 fl = 0;
	if (bpf_probe_read_user(&fl, 1, (void *)(h + layout.h_flags)))
		return 0;
	if (!(fl & layout.flag_writing)) {
		if (record_all)
			emit_plain(MW_REC_READ, 0, &w, bpf_ktime_get_ns(), h, MW_NO_BUCKET, 0, 0);
		return 0;
	}
	struct mw_mapstate *st = state_get(&w, h, false);
	if (!st)
		return 0;
	__u64 lw = last_writer(st);
	if (!lw || lw == w.actor)
		return 0;
	emit_vs_writer(ctx, &w, MW_REC_READ, kind, MW_OP_NONE, bpf_ktime_get_ns(), h, st, lw,
		       MW_STACK_LATER, 0, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mw_read) { return on_read(ctx, MW_KIND_READ_WRITE); }

/* maps.Clone reads the whole source map without mapiterinit (Go 1.21+
 * runtime.mapclone2). A clone that starts while another goroutine's write
 * is in flight is flagged here, before the runtime's own check at the same
 * point. The clone's end has no emulated site (its returns are single-
 * stepped), so a write that starts after the clone began is left to the
 * runtime's check at the clone's end: reported as caught by the runtime. */
SEC("uprobe")
int BPF_KPROBE(mw_clone) { return on_read(ctx, MW_KIND_CLONE_WRITE); }

/* ---- the end of a map, and of an image ------------------------------------------ */

/* libgomap's mapfree(t, h): the map's state ends with it, so a new map at
 * the same address starts clean. */
SEC("uprobe")
int BPF_KPROBE(mw_free)
{
	struct who w;

	if (!ours(ctx, &w))
		return 0;
	__u64 h = arg(ctx, layout.arg_h);
	struct mw_mkey k = { .h = h, .pid = w.pid };
	if (!h || !bpf_map_lookup_elem(&mapstate, &k))
		return 0;
	bpf_map_delete_elem(&mapstate, &k);
	/* The record closes the map's iterations in the live view's model and
	 * recordings; headless it has nothing to say. */
	if (!iter_records && !record_all)
		return 0;
	struct mw_record *r = rec_new(MW_REC_FREE, &w, bpf_ktime_get_ns(), h);
	if (r)
		rec_submit(r);
	return 0;
}

/* The traced process exec'd (raw tracepoint: no tracefs needed); with
 * exec_all, any process did (count 0 when it is not watched). */
SEC("raw_tp/sched_process_exec")
int mw_exec(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;

	struct mw_proc *pr = bpf_map_lookup_elem(&pids, &tgid);

	if (!pr && !exec_all)
		return 0;
	if (pr)
		__sync_fetch_and_add(&pr->exec_gen, 1);
	struct mw_record *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&counters.rb_drops, 1);
		return 0;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->type = MW_REC_EXEC;
	r->pid = tgid;
	r->tid = (__u32)id;
	r->ts = bpf_ktime_get_ns();
	r->count = pr ? READ_ONCE(pr->exec_gen) : 0;
	r->stack_id = -1;
	r->other_stack_id = -1;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* ---- grows ------------------------------------------------------------------- */

SEC("uprobe")
int BPF_KPROBE(mw_grow)
{
	struct who w;

	if (!ours(ctx, &w))
		return 0;
	__u64 h = arg(ctx, layout.arg_h);
	if (!h)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	struct mw_mapstate *st = state_get(&w, h, true);
	if (!st)
		return 0;
	st->grows++;
	int n = 0;
	__s32 sid = -1;
	__u64 caller = 0;
	if (st->n_iters)
		n = emit_iter_overlaps(ctx, st, MW_REC_GROW, MW_KIND_ITER_GROW, 0, &w, now, h,
				       0, 0, 0, 0, &sid, &caller);
	/* A grow is rare: always worth a record. */
	if (!n)
		emit_plain(MW_REC_GROW, 0, &w, now, h, MW_NO_BUCKET, 0, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mw_evacuate)
{
	struct who w;

	if (!ours(ctx, &w))
		return 0;
	__u64 t = arg(ctx, layout.arg_t);
	__u64 h = arg(ctx, layout.arg_h);
	__u64 oldbucket = arg(ctx, layout.arg_evac_bucket);
	if (!h)
		return 0;
	struct mw_mapstate *st = state_get(&w, h, false);
	if (st)
		st->evacuations++;
	bool overlap = st && st->n_iters;
	if (!overlap && !record_all)
		return 0;

	__u64 now = bpf_ktime_get_ns();
	__u64 old = rd_u64(h + layout.h_oldbuckets);
	__u16 bsize = rd_u16(t + layout.t_bucketsize);
	__u64 baddr = 0;
	if (old && bsize)
		baddr = old + oldbucket * bsize;

	int n = 0;
	__s32 sid = -1;
	__u64 caller = 0;
	if (overlap)
		n = emit_iter_overlaps(ctx, st, MW_REC_EVACUATE, MW_KIND_ITER_GROW, 0, &w, now, h,
				       old, oldbucket, baddr, bsize, &sid, &caller);
	if (record_all && !n)
		emit_plain(MW_REC_EVACUATE, 0, &w, now, h, oldbucket, baddr, bsize);
	return 0;
}

/* ---- the runtime's own race check ------------------------------------------ */

/* The runtime saw hashWriting set by another actor — it is about to print
 * `fatal error: …` and exit. libgomap calls mapfatal(h, kind); Go calls
 * runtime.fatal(s string), told apart by the message's length, with no map:
 * for "concurrent map iteration and map write" the checking goroutine is the
 * iterator, and its map is the one its latest iteration started on.
 *
 * A FATAL record says the runtime caught a race (of that kind). For an
 * iteration race: the checking actor's iteration is alive (it is inside
 * mapiternext), so its pending alerts are confirmed; and if the write in
 * flight (the last writer's) was not flagged against it at the write's
 * entry (the write entered just before the iteration started and set
 * hashWriting just after), it is flagged now, before the process dies — the
 * record is that write seen again (repeat = 1), from the writer's side. */
static __always_inline void fatal_flag(struct pt_regs *ctx, const struct who *pw, __u8 kind, __u64 h,
				       __s32 sid, __u64 caller);

SEC("uprobe")
int BPF_KPROBE(mw_fatal)
{
	struct who w;

	if (!ours(ctx, &w))
		return 0;
	__u64 code = site_arg(ctx, layout.arg_fatal_kind);
	__u8 kind = MW_KIND_NONE;
	if (code == layout.fatal_iter_write)
		kind = MW_KIND_ITER_WRITE;
	else if (layout.fatal_writes && code == layout.fatal_writes)
		kind = MW_KIND_WRITE_WRITE;
	else if (layout.fatal_read && code == layout.fatal_read)
		kind = MW_KIND_READ_WRITE;
	else if (layout.fatal_clone && code == layout.fatal_clone)
		kind = MW_KIND_CLONE_WRITE;
	if (kind == MW_KIND_NONE)
		return 0;
	__u64 h = 0;
	if (!layout.go) {
		h = site_arg(ctx, layout.arg_fatal_h);
	} else if (kind == MW_KIND_ITER_WRITE || kind == MW_KIND_WRITE_WRITE) {
		struct mw_gkey gk = { .goid = w.actor, .pid = w.pid };
		__u64 *hp = bpf_map_lookup_elem(kind == MW_KIND_ITER_WRITE ? (void *)&giter : (void *)&gwrite,
						&gk);
		h = hp ? *hp : 0;
	}
	__u64 caller;
	__s32 sid = grab_stack(ctx, &caller);
	/* mapwatch's own alert first (if this check reveals one it missed),
	 * then the record that says the runtime caught it. */
	if (h)
		fatal_flag(ctx, &w, kind, h, sid, caller);
	if (!layout.go)
		return 0;
	struct mw_record *fr = rec_new(MW_REC_FATAL, &w, bpf_ktime_get_ns(), h);
	if (fr) {
		fr->kind = kind;
		fr->stack_id = sid;
		fr->caller = caller;
		fill_h(fr, h);
		rec_submit(fr);
	}
	return 0;
}

static __always_inline void fatal_flag(struct pt_regs *ctx, const struct who *pw, __u8 kind, __u64 h,
				       __s32 sid, __u64 caller)
{
	struct who w = *pw;
	struct mw_mapstate *st = state_get(&w, h, false);
	if (!st)
		return;
	if (kind == MW_KIND_WRITE_WRITE) {
		/* The runtime saw another goroutine's write in flight (at this
		 * write's start, or its own flag cleared by another at its end):
		 * flag it now unless the last writer is this goroutine itself. */
		__u64 olw = last_writer(st);
		if (!olw || olw == w.actor)
			return;
		emit_vs_writer(ctx, &w, MW_REC_WRITE, MW_KIND_WRITE_WRITE, MW_OP_ASSIGN, bpf_ktime_get_ns(),
			       h, st, olw, sid, caller, 0);
		return;
	}
	if (kind != MW_KIND_ITER_WRITE)
		return;
	__u64 lw = last_writer(st);
	__u64 wseq = READ_ONCE(st->writes);
	bool seen = false;
	for (int i = 0; i < MW_MAX_ITERS; i++) {
		struct mw_iter_slot *sl = &st->iters[i];
		__u64 it = READ_ONCE(sl->hiter);
		if (!it || READ_ONCE(sl->owner) != w.actor || slot_stale(sl))
			continue;
		seen = true;
		if (READ_ONCE(sl->pending)) {
			sl->pending = 0;
			emit_iter_rec(MW_REC_CONFIRM, &w, h, it, READ_ONCE(sl->seq),
				      READ_ONCE(sl->start_ts), 0, layout.go ? w.actor : 0, w.tid);
		}
		if (!lw || lw == w.actor || READ_ONCE(sl->flagged_write) == wseq)
			continue;
		sl->flagged_write = wseq;
		struct iterpos p = {};
		read_iter(&p, layout.go ? go_hiter_addr(w.g, it) : it);
		struct who wr = { .actor = lw, .tid = READ_ONCE(st->last_writer_tid) };
		struct mw_record *r = rec_new(MW_REC_WRITE, &wr, bpf_ktime_get_ns(), h);
		if (!r)
			return;
		r->kind = MW_KIND_ITER_WRITE;
		r->repeat = 1;
		r->hiter = it;
		r->iter_seq = READ_ONCE(sl->seq);
		set_iterpos(r, &p);
		r->other_tid = w.tid;
		r->other_gid = layout.go ? w.actor : 0;
		r->other_ts = sl->start_ts;
		r->other_stack_id = sl->stack_id;
		r->other_caller = sl->caller;
		fill_h(r, h);
		rec_submit(r);
		break;
	}
	/* No open iteration of this actor on h (a write that met it while
	 * mapiterinit was still filling its hiter found it not yet pointing
	 * at h): the runtime's check itself proves the race. The iterator's
	 * stack is this one, taken in its check. */
	if (seen || !lw || lw == w.actor)
		return;
	struct who wr = { .actor = lw, .tid = READ_ONCE(st->last_writer_tid) };
	struct mw_record *r = rec_new(MW_REC_WRITE, &wr, bpf_ktime_get_ns(), h);
	if (!r)
		return;
	r->kind = MW_KIND_ITER_WRITE;
	r->repeat = 1;
	r->other_tid = w.tid;
	r->other_gid = layout.go ? w.actor : 0;
	r->other_ts = st->last_write_ts;
	r->other_stack_id = sid;
	r->other_caller = caller;
	if (READ_ONCE(st->wstack_actor) == lw) {
		r->stack_id = READ_ONCE(st->wstack_id);
		r->caller = READ_ONCE(st->wstack_caller);
	}
	fill_h(r, h);
	rec_submit(r);
}
