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
const volatile __u32 target_tgid = 0;	/* 0: every process (never used by mapwatch itself) */
const volatile __u8 record_all = 0;	/* emit a record on every probe hit */
/* Emit every iteration start and end (the live view draws open iterations);
 * headless, only a start that meets a write in flight is a record: the slot
 * state in BPF is what decides overlaps, and an iteration record costs
 * ~0.3 µs of ring-buffer work in the target's thread. */
const volatile __u8 iter_records = 1;
const volatile struct mw_layout layout = {};
const volatile __u8 capture_stacks = 1;	/* 0: --no-stacks */

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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_MAX_MAPS);
	__type(key, __u64);
	__type(value, struct mw_mapstate);
} mapstate SEC(".maps");

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



/* A zeroed value to create per-map state from. */
const volatile struct mw_mapstate zero_state = {};

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

/* The filter every probe starts with: the traced process only. */
static __always_inline bool ours(__u32 *tid)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (target_tgid && (__u32)(id >> 32) != target_tgid)
		return false;
	*tid = (__u32)id;
	struct mw_counters *pc = pcpu();
	if (pc)
		pc->hits++;
	return true;
}

/* Argument n (0-based) by the probed code's calling convention. The
 * registers are loaded first and pinned (barrier_var) so that the compiler
 * cannot turn the choice into a computed ctx offset, which the verifier
 * refuses ("dereference of modified ctx ptr"). */
static __always_inline __u64 arg(struct pt_regs *ctx, __u8 n)
{
	__u64 ax = ctx->ax, bx = ctx->bx, cx = ctx->cx, dx = ctx->dx;
	__u64 si = ctx->si, di = ctx->di, r8 = ctx->r8, r9 = ctx->r9;
	__u64 r0, r1, r2, r3, r4, r5;

	barrier_var(ax); barrier_var(bx); barrier_var(cx); barrier_var(dx);
	barrier_var(si); barrier_var(di); barrier_var(r8); barrier_var(r9);
	if (layout.abi == MW_ABI_GOREG) {
		r0 = ax; r1 = bx; r2 = cx; r3 = di; r4 = si; r5 = r8;
	} else {
		r0 = di; r1 = si; r2 = dx; r3 = cx; r4 = r8; r5 = r9;
	}
	switch (n) {
	case 0: return r0;
	case 1: return r1;
	case 2: return r2;
	case 3: return r3;
	case 4: return r4;
	default: return r5;
	}
}

static __always_inline void bad_read(void)
{
	__sync_fetch_and_add(&counters.bad_reads, 1);
}

/* One scalar of the target's memory; 0 (counted) when it cannot be read. */
#define RD(type, addr) ({						\
	type _v = 0;							\
	__u64 _a = (addr);						\
	if (!_a || bpf_probe_read_user(&_v, sizeof(_v), (void *)_a)) {	\
		bad_read();						\
		_v = 0;							\
	}								\
	_v;								\
})
#define rd_u64(a) RD(__u64, a)
#define rd_u8(a)  RD(__u8, a)
#define rd_u16(a) RD(__u16, a)

/* A struct of the target read in one go (one probe_read instead of one per
 * field); fields are picked out at the layout table's offsets, masked so the
 * verifier sees every access inside the buffer (user/layout.c checks that
 * 8-byte fields are 8-aligned and inside the struct). */
#define HDR_SZ 128
struct hdr { __u8 b[HDR_SZ]; };
#define HDR_U64(h, off) (*(__u64 *)&(h)->b[(off) & (HDR_SZ - 8) & ~7])
#define HDR_U8(h, off)  ((h)->b[(off) & (HDR_SZ - 1)])

static __always_inline int rd_hdr(struct hdr *h, __u64 addr, __u32 len)
{
	if (!addr || len > HDR_SZ || bpf_probe_read_user(h, len, (void *)addr)) {
		bad_read();
		return -1;
	}
	return 0;
}

/* This thread's user stack: its id in `stacks` (or -1), and the return
 * address at [sp] in *caller (the frame the FP walk skips from a probe on
 * the first instruction). */
/* Frame-pointer walk of the user stack, from a probe at a function's first
 * instruction (before its push %rbp): ip, the return address at [sp], then
 * the rbp chain. A frame must lie above the last one and within 1 MiB of the
 * stack pointer, 8-aligned: the walk ends at the first frame without a frame
 * pointer instead of reading garbage. */
static __always_inline __u32 walk_stack(struct pt_regs *ctx, struct mw_ustack *st)
{
	__u64 sp = PT_REGS_SP(ctx), fp = ctx->bp;
	__u32 n = 0;

	st->ip[n++] = PT_REGS_IP(ctx);
	if (bpf_probe_read_user(&st->ip[n], sizeof(__u64), (void *)sp) || !st->ip[n])
		return n;
	n++;
	for (int i = 0; i < MW_MAX_STACK - 2; i++) {
		struct { __u64 next, ret; } fr;

		if (fp <= sp || fp - sp > (1u << 20) || (fp & 7))
			break;
		if (bpf_probe_read_user(&fr, sizeof(fr), (void *)fp) || !fr.ret)
			break;
		if (n < MW_MAX_STACK)
			st->ip[n++] = fr.ret;
		if (fr.next <= fp)
			break;
		fp = fr.next;
	}
	return n;
}

/* The walk goes into this function's own frame: a per-CPU scratch buffer
 * would be shared with another thread's probe that preempts this one (uprobe
 * programs run preemptibly), mixing two threads' stacks. */
static __noinline __s32 grab_stack_walk(struct pt_regs *ctx, __u64 *caller)
{
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

static __always_inline struct mw_record *rec_new(__u16 type, __u32 tid, __u64 now, __u64 h)
{
	struct mw_record *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);

	if (!r) {
		__sync_fetch_and_add(&counters.rb_drops, 1);
		return NULL;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->type = type;
	r->tid = tid;
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->ts = now;
	r->map = h;
	r->bucket = MW_NO_BUCKET;
	r->stack_id = -1;
	r->other_stack_id = -1;
	return r;
}

static __always_inline void rec_submit(struct mw_record *r)
{
	struct mw_counters *pc = pcpu();

	if (pc)
		pc->records++;
	bpf_ringbuf_submit(r, RB_FLAGS);
}

/* The hmap header fields every record carries. */
static __always_inline void fill_h(struct mw_record *r, __u64 h)
{
	struct hdr hd;

	if (!h || rd_hdr(&hd, h, 48))	/* hmap: Go's 48-byte header */
		return;
	r->count = HDR_U64(&hd, layout.h_count);
	r->hflags = HDR_U8(&hd, layout.h_flags);
	r->B = HDR_U8(&hd, layout.h_B);
	r->buckets = HDR_U64(&hd, layout.h_buckets);
	r->oldbuckets = HDR_U64(&hd, layout.h_oldbuckets);
	r->nevacuate = HDR_U64(&hd, layout.h_nevacuate);
}

static __always_inline struct mw_mapstate *state_get(__u64 h, bool create)
{
	struct mw_mapstate *st = bpf_map_lookup_elem(&mapstate, &h);

	if (st || !create)
		return st;
	if (bpf_map_update_elem(&mapstate, &h, (void *)&zero_state, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&mapstate, &h)) {
		__sync_fetch_and_add(&counters.map_full, 1);
		return NULL;
	}
	return bpf_map_lookup_elem(&mapstate, &h);
}

/* ---- iterations ------------------------------------------------------------ */

SEC("uprobe")
int BPF_KPROBE(mw_iterinit)
{
	__u32 tid;

	if (!ours(&tid))
		return 0;
	__u64 h = arg(ctx, layout.arg_h);
	__u64 it = arg(ctx, layout.arg_init_it);
	if (!h || !it)
		return 0;
	/* Not skipped when the map looks empty here: a write may fill it before
	 * mapiterinit reads count. An iteration that ends at once still ends
	 * through mapiterdone, which frees the slot. */

	__u64 now = bpf_ktime_get_ns();
	struct mw_mapstate *st = state_get(h, true);
	if (!st)
		return 0;
	st->iterations++;
	/* The iterator's stack, for any write that meets this iteration later. */
	__u64 caller;
	__s32 sid = grab_stack(ctx, &caller);

	/* A stale slot for the same (hiter, thread) is reused: the previous
	 * iteration on this hiter ended without an event. Otherwise claim a
	 * free slot with a compare-and-swap on its hiter: two threads starting
	 * iterations of one map at once must not tear a slot (a slot owned by
	 * nobody would stay open forever). The owner's tid is stored last;
	 * writers skip slots whose tid is not set yet. */
	bool claimed = false;
	struct mw_iter_slot *mine = NULL;
	for (int i = 0; i < MW_MAX_ITERS; i++) {
		struct mw_iter_slot *s = &st->iters[i];
		if (s->hiter == it && s->tid == tid) {
			mine = s;
			s->flagged_write = 0;
			s->start_ts = now;
			s->stack_id = sid;
			s->caller = caller;
			claimed = true;
			break;
		}
	}
	for (int i = 0; i < MW_MAX_ITERS && !claimed; i++) {
		struct mw_iter_slot *s = &st->iters[i];
		if (s->hiter || __sync_val_compare_and_swap(&s->hiter, 0, it) != 0)
			continue;
		mine = s;
		s->flagged_write = 0;
		s->start_ts = now;
		s->stack_id = sid;
		s->caller = caller;
		barrier();
		s->tid = tid;
		__sync_fetch_and_add(&st->n_iters, 1);
		claimed = true;
	}
	if (!claimed)
		__sync_fetch_and_add(&counters.slots_full, 1);

	if (!iter_records && !record_all) {
		__u32 lw0 = READ_ONCE(st->last_writer);
		if (!(rd_u8(h + layout.h_flags) & layout.flag_writing) || !lw0 || lw0 == tid)
			return 0;
	}
	struct mw_record *r = rec_new(MW_REC_ITER_START, tid, now, h);
	if (!r)
		return 0;
	r->hiter = it;
	r->stack_id = sid;
	r->caller = caller;
	fill_h(r, h);
	/* Started inside another thread's write in flight. last_writer is read
	 * once: every use must see the same, non-zero thread. */
	__u32 lw = READ_ONCE(st->last_writer);
	if ((r->hflags & layout.flag_writing) && lw && lw != tid) {
		r->kind = MW_KIND_ITER_WRITE;
		r->other_tid = lw;
		r->other_ts = st->last_write_ts;
		if (mine)
			mine->flagged_write = READ_ONCE(st->writes);
	}
	rec_submit(r);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mw_iterdone)
{
	__u32 tid;

	if (!ours(&tid))
		return 0;
	__u64 it = arg(ctx, layout.arg_done_it);
	if (!it)
		return 0;
	__u64 h = 0;
	/* Called again after the end (idempotent): it->h may be gone. */
	if (bpf_probe_read_user(&h, sizeof(h), (void *)(it + layout.it_h)) || !h)
		return 0;
	struct mw_mapstate *st = state_get(h, false);
	if (!st || !st->n_iters)
		return 0;
	__u64 start = 0;
	bool found = false;
	for (int i = 0; i < MW_MAX_ITERS; i++) {
		struct mw_iter_slot *s = &st->iters[i];
		if (s->hiter == it && s->tid == tid) {
			start = s->start_ts;
			/* tid first: a slot with hiter set and tid 0 is "being claimed". */
			s->tid = 0;
			barrier();
			s->hiter = 0;
			__sync_fetch_and_add(&st->n_iters, -1);
			found = true;
			break;
		}
	}
	if (!found || (!iter_records && !record_all))
		return 0;
	struct mw_record *r = rec_new(MW_REC_ITER_END, tid, bpf_ktime_get_ns(), h);
	if (!r)
		return 0;
	r->hiter = it;
	r->other_ts = start;
	fill_h(r, h);
	rec_submit(r);
	return 0;
}

/* ---- writes ------------------------------------------------------------------ */

/* The iterator's position, read from its hiter now. */
struct iterpos {
	__u64 bptr, buckets, bucket;
	__u8 B, i;
};

static __always_inline void read_iter(struct iterpos *p, __u64 it)
{
	struct hdr hd;

	if (rd_hdr(&hd, it, 96))	/* hiter: Go's 96 bytes */
		return;
	p->bptr = HDR_U64(&hd, layout.it_bptr);
	p->buckets = HDR_U64(&hd, layout.it_buckets);
	p->bucket = HDR_U64(&hd, layout.it_bucket);
	p->B = HDR_U8(&hd, layout.it_B);
	p->i = HDR_U8(&hd, layout.it_i);
}

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
	__u64 caller;	/* the event thread's return address at [sp] */
	__s32 stack_id;	/* the event thread's stack, or -1 */
	__u32 tid;
	__u16 type, bsize;
	__u8 kind, op;
	__u8 records;	/* records emitted so far for this event (for repeat) */
	__u8 pad;
};

/* The record for one open iteration slot of another thread. A global
 * (separately verified) function: inlined into the slot loop it made the
 * evacuate program's state space explode. Returns 1 when a record went out.
 * An evacuation is an alert only where it meets the iterator's bucket
 * (else a plain record in record_all mode). */
__noinline int emit_slot(struct mw_mapstate *st, __u32 i, struct emit_ctx *e)
{
	if (!st || !e || i >= MW_MAX_ITERS)
		return 0;
	/* MW_MAX_ITERS is a power of two: the mask is the bound the verifier sees. */
	__u32 idx = i;
	barrier_var(idx);
	struct mw_iter_slot *sl = &st->iters[idx & (MW_MAX_ITERS - 1)];
	/* Each field read once: a slot being claimed or released shows tid 0. */
	__u64 it = READ_ONCE(sl->hiter);
	__u32 otid = READ_ONCE(sl->tid);
	if (!it || !otid || otid == e->tid)
		return 0;
	struct iterpos p = {};
	read_iter(&p, it);
	__u8 k = e->kind;
	if (e->type == MW_REC_EVACUATE && !evac_hits(&p, e->old, e->bucket, e->baddr, e->bsize)) {
		if (!record_all)
			return 0;
		k = MW_KIND_NONE;
	}
	struct mw_record *r = rec_new(e->type, e->tid, e->now, e->h);
	if (!r)
		return 0;
	r->op = e->op;
	r->hiter = it;
	set_iterpos(r, &p);
	fill_h(r, e->h);
	if (e->type == MW_REC_EVACUATE) {
		r->bucket = e->bucket;
		r->bucket_addr = e->baddr;
	}
	/* Every record after the first for this event is a repeat, alert or not. */
	r->repeat = e->records > 0;
	if (k != MW_KIND_NONE) {
		r->kind = k;
		r->other_tid = otid;
		r->other_ts = sl->start_ts;
		r->other_stack_id = sl->stack_id;
		r->other_caller = sl->caller;
		r->stack_id = e->stack_id;
		r->caller = e->caller;
		r->bucket_hit = e->type == MW_REC_EVACUATE;
		/* mw_fatal must not flag this write against this iteration again. */
		if (e->type == MW_REC_WRITE)
			sl->flagged_write = e->wseq;
	}
	e->records++;
	rec_submit(r);
	return 1;
}

/* One record per open iteration of another thread; the second and later
 * ones are repeats of the same event. Returns the number of records. */
/* Is an iteration of another thread open on this map? (Decides whether the
 * event's stack is worth capturing: a write that meets none pays nothing.) */
static __always_inline bool foreign_iter(struct mw_mapstate *st, __u32 tid)
{
	for (int i = 0; i < MW_MAX_ITERS; i++) {
		__u32 otid = READ_ONCE(st->iters[i].tid);
		if (otid && otid != tid && READ_ONCE(st->iters[i].hiter))
			return true;
	}
	return false;
}

static __always_inline int emit_iter_overlaps(struct pt_regs *ctx, struct mw_mapstate *st,
					      __u16 type, __u8 kind,
					      __u8 op, __u32 tid, __u64 now, __u64 h,
					      __u64 old, __u64 bucket, __u64 baddr, __u16 bsize,
					      __s32 *sid, __u64 *caller)
{
	struct emit_ctx e = {
		.now = now, .h = h, .old = old, .bucket = bucket, .baddr = baddr,
		.tid = tid, .type = type, .bsize = bsize, .kind = kind, .op = op,
		.stack_id = -1, .wseq = READ_ONCE(st->writes),
	};
	int subs = 0;

	if (foreign_iter(st, tid)) {
		e.stack_id = grab_stack(ctx, &e.caller);
		*sid = e.stack_id;
		*caller = e.caller;
	}

	for (__u32 i = 0; i < MW_MAX_ITERS; i++)
		subs += emit_slot(st, i, &e);
	return subs;
}

/* A record of an event that meets nothing (record_all, or a grow). */
static __always_inline void emit_plain(__u16 type, __u8 op, __u32 tid, __u64 now, __u64 h,
				       __u64 bucket, __u64 baddr)
{
	struct mw_record *r = rec_new(type, tid, now, h);

	if (!r)
		return;
	r->op = op;
	fill_h(r, h);
	r->bucket = bucket;
	r->bucket_addr = baddr;
	rec_submit(r);
}

static __always_inline int on_write(struct pt_regs *ctx, __u8 op)
{
	__u32 tid;

	if (!ours(&tid))
		return 0;
	__u64 h = arg(ctx, layout.arg_h);
	if (!h)
		return 0;
	struct mw_mapstate *st = state_get(h, true);
	if (!st)
		return 0;
	/* The write's sequence number on this map names it (mw_fatal). */
	__u64 wseq = ++st->writes;
	/* The clock costs ~65 ns under kvm-clock: read it only when this write
	 * emits something or opens a new writer's run. */
	__u64 now = 0;

	int n = 0;
	__s32 sid = -1;
	__u64 caller = 0;
	bool have_stack = false;
	if (st->n_iters) {
		now = bpf_ktime_get_ns();
		n = emit_iter_overlaps(ctx, st, MW_REC_WRITE, MW_KIND_ITER_WRITE, op, tid, now, h,
				       0, 0, 0, 0, &sid, &caller);
		have_stack = sid >= 0 || caller;
	}

	__u32 lw = READ_ONCE(st->last_writer);
	bool emitted = n > 0;
	if (lw != tid && !now)
		now = bpf_ktime_get_ns();
	if (lw && lw != tid) {
		/* Another thread wrote last: is its write still in flight? */
		__u8 fl = rd_u8(h + layout.h_flags);
		if (fl & layout.flag_writing) {
			if (!have_stack)
				sid = grab_stack(ctx, &caller);
			struct mw_record *r = rec_new(MW_REC_WRITE, tid, now, h);
			if (r) {
				r->op = op;
				r->kind = MW_KIND_WRITE_WRITE;
				r->other_tid = lw;
				r->other_ts = st->last_write_ts;
				r->stack_id = sid;
				r->caller = caller;
				/* The same write as the iter-write records before it. */
				r->repeat = n > 0;
				fill_h(r, h);
				rec_submit(r);
				emitted = true;
			}
		}
	}
	/* last_write_ts is when the last writer's run of writes began: a thread
	 * writing again after itself changes nothing (no clock, no store). */
	if (lw != tid) {
		st->last_write_ts = now;
		st->last_writer = tid;
	}

	if (record_all && !emitted) {
		if (!now)
			now = bpf_ktime_get_ns();
		emit_plain(MW_REC_WRITE, op, tid, now, h, MW_NO_BUCKET, 0);
	}
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mw_assign) { return on_write(ctx, MW_OP_ASSIGN); }

SEC("uprobe")
int BPF_KPROBE(mw_delete) { return on_write(ctx, MW_OP_DELETE); }

SEC("uprobe")
int BPF_KPROBE(mw_clear) { return on_write(ctx, MW_OP_CLEAR); }

/* ---- grows ------------------------------------------------------------------- */

SEC("uprobe")
int BPF_KPROBE(mw_grow)
{
	__u32 tid;

	if (!ours(&tid))
		return 0;
	__u64 h = arg(ctx, layout.arg_h);
	if (!h)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	struct mw_mapstate *st = state_get(h, true);
	if (!st)
		return 0;
	st->grows++;
	int n = 0;
	__s32 sid = -1;
	__u64 caller = 0;
	if (st->n_iters)
		n = emit_iter_overlaps(ctx, st, MW_REC_GROW, MW_KIND_ITER_GROW, 0, tid, now, h,
				       0, 0, 0, 0, &sid, &caller);
	/* A grow is rare: always worth a record. */
	if (!n) {
		emit_plain(MW_REC_GROW, 0, tid, now, h, MW_NO_BUCKET, 0);
	}
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mw_evacuate)
{
	__u32 tid;

	if (!ours(&tid))
		return 0;
	__u64 t = arg(ctx, layout.arg_t);
	__u64 h = arg(ctx, layout.arg_h);
	__u64 oldbucket = arg(ctx, layout.arg_evac_bucket);
	if (!h)
		return 0;
	struct mw_mapstate *st = state_get(h, false);
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
		n = emit_iter_overlaps(ctx, st, MW_REC_EVACUATE, MW_KIND_ITER_GROW, 0, tid, now, h,
				       old, oldbucket, baddr, bsize, &sid, &caller);
	if (record_all && !n) {
		emit_plain(MW_REC_EVACUATE, 0, tid, now, h, oldbucket, baddr);
	}
	return 0;
}

/* ---- the runtime's own race check ------------------------------------------ */

/* mapfatal(h, kind): the runtime saw hashWriting set from another thread —
 * in Go it is about to print `fatal error: …` and exit. For "concurrent map
 * iteration and map write" the checking thread is the iterator: if one of
 * its iterations of h is open and the write in flight (the last writer's)
 * was not flagged against it at the write's entry (the write entered just
 * before the iteration started and set hashWriting just after), flag it
 * now, before the process dies. The record is that write seen again
 * (repeat = 1: the model does not count it twice), from the writer's side. */
SEC("uprobe")
int BPF_KPROBE(mw_fatal)
{
	__u32 tid;

	if (!ours(&tid))
		return 0;
	__u64 h = arg(ctx, layout.arg_fatal_h);
	__u64 kind = arg(ctx, layout.arg_fatal_kind);
	if (!h || (__u8)kind != layout.fatal_iter_write)
		return 0;
	struct mw_mapstate *st = state_get(h, false);
	if (!st)
		return 0;
	__u32 lw = READ_ONCE(st->last_writer);
	__u64 wseq = READ_ONCE(st->writes);
	if (!lw || lw == tid)
		return 0;
	for (int i = 0; i < MW_MAX_ITERS; i++) {
		struct mw_iter_slot *sl = &st->iters[i];
		__u64 it = READ_ONCE(sl->hiter);
		if (!it || READ_ONCE(sl->tid) != tid || READ_ONCE(sl->flagged_write) == wseq)
			continue;
		sl->flagged_write = wseq;
		struct iterpos p = {};
		read_iter(&p, it);
		struct mw_record *r = rec_new(MW_REC_WRITE, lw, bpf_ktime_get_ns(), h);
		if (!r)
			return 0;
		r->kind = MW_KIND_ITER_WRITE;
		r->repeat = 1;
		r->hiter = it;
		set_iterpos(r, &p);
		r->other_tid = tid;
		r->other_ts = sl->start_ts;
		r->other_stack_id = sl->stack_id;
		r->other_caller = sl->caller;
		fill_h(r, h);
		rec_submit(r);
		break;
	}
	return 0;
}
