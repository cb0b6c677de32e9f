/* mapwatch.h — the one header shared by bpf/ and user/.
 *
 * It holds the wire format of the ring-buffer records, the per-map state the
 * BPF side keeps in a hash map (userspace reads it for rates), the counters
 * BPF keeps for what it could not deliver, and the struct-layout table the
 * loader writes into rodata. Fixed-width types only; every record starts
 * with its type tag. user/trace.c pins the record size with _Static_assert.
 */
#ifndef MAPWATCH_H
#define MAPWATCH_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define MW_MAX_ITERS   8      /* open iterations tracked per map */
#define MW_MAX_MAPS    16384  /* maps tracked at once */
#define MW_MAX_STACK   32     /* user stack frames captured (own frame-pointer walk) */
#define MW_STACK_ENTRIES 16384 /* distinct stacks kept (BPF hash of struct mw_ustack) */
#define MW_NO_BUCKET   (~0ULL)

/* Record types. Every record is a struct mw_record; unused fields are 0. */
enum mw_rec_type {
	MW_REC_ITER_START = 1,	/* mapiterinit entry */
	MW_REC_ITER_END   = 2,	/* mapiterdone entry */
	MW_REC_WRITE      = 3,	/* mapassign / mapdelete / mapclear entry */
	MW_REC_GROW       = 4,	/* hashGrow entry */
	MW_REC_EVACUATE   = 5,	/* evacuate entry */
	MW_REC_STATS      = 6,	/* synthesized by the loader once a second: BPF counters */
	MW_REC_CONFIRM    = 7,	/* Go: iteration iter_seq was seen moving on: its pending alerts are real */
	MW_REC_FATAL      = 8,	/* the runtime's own race check failed (Go: runtime.fatal); kind says which */
	MW_REC_READ       = 9,	/* a map read (--reads) */
	MW_REC_FREE       = 10,	/* mapfree (libgomap): the map's state ends */
	MW_REC_EXEC       = 11,	/* the traced process exec'd: every per-map state of the old image is gone */
	MW_REC_TYPE_MAX
};

/* What kind of write a MW_REC_WRITE is. */
enum mw_op {
	MW_OP_NONE   = 0,
	MW_OP_ASSIGN = 1,
	MW_OP_DELETE = 2,
	MW_OP_CLEAR  = 3,
};

/* The race kinds of DESIGN.md. Set in a record when BPF decided, from its
 * exact per-map state at the probe, that this event falls inside another
 * thread's window (an iteration in progress, or a write in flight). */
enum mw_kind {
	MW_KIND_NONE        = 0,
	MW_KIND_ITER_WRITE  = 1,
	MW_KIND_ITER_GROW   = 2,
	MW_KIND_WRITE_WRITE = 3,
	MW_KIND_READ_WRITE  = 4,	/* a read while another goroutine/thread's write is in flight */
	MW_KIND_CLONE_WRITE = 5,	/* Go 1.21+ maps.Clone (runtime.mapclone2) vs a write in flight */
	MW_KIND_MAX
};

/* mw_record.flags */
#define MW_RF_PENDING   0x01	/* Go iter-*: raised against an iteration whose liveness is not yet
				 * proven (it may have been left by break); real once a CONFIRM or
				 * the iteration's end names its iter_seq */
#define MW_RF_ABANDONED 0x02	/* ITER_END: the iteration was found dead (goroutine gone, hiter
				 * reused), not seen ending: its pending alerts are dropped */
#define MW_RF_RUNTIME   0x04	/* FATAL: the runtime caught it; no alert of mapwatch's own matched */
#define MW_RF_CLONE     0x08	/* ITER_START/END: a maps.Clone read of the map, not a range loop */

/* One ring-buffer record: 200 bytes. */
struct mw_record {
	__u16 type;		/* enum mw_rec_type */
	__u8  op;		/* enum mw_op (WRITE) */
	__u8  kind;		/* enum mw_kind: the overlap BPF found, or NONE */
	__u32 tid;		/* thread doing this event */
	__u32 pid;		/* its process */
	__u32 other_tid;	/* kind != NONE: the iterating thread, or the other writer */
	__u64 ts;		/* bpf_ktime_get_ns() at the probe */
	__u64 map;		/* hmap address */
	__u64 hiter;		/* ITER_*: this iteration's hiter; kind ITER_*: the other thread's */
	__u64 other_ts;		/* kind != NONE: when the other window opened (iteration start, write entry) */
	__u64 count;		/* h->count read at the probe */
	__u64 buckets;		/* h->buckets */
	__u64 oldbuckets;	/* h->oldbuckets */
	__u64 nevacuate;	/* h->nevacuate */
	__u64 bucket;		/* EVACUATE: the old bucket index; else MW_NO_BUCKET */
	__u64 bucket_addr;	/* EVACUATE: address of that old bucket; else 0 */
	__u64 iter_bptr;	/* kind ITER_*: the iterator's bucket pointer, read from its hiter at the probe */
	__u64 iter_buckets;	/* kind ITER_*: the iterator's bucket-array snapshot */
	__u64 iter_bucket;	/* kind ITER_*: the iterator's next bucket index */
	__u64 aux;		/* STATS: ring-buffer reserve failures; else 0 */
	__u64 aux2;		/* STATS: map-full / slot-full drops; else 0 */
	__u8  B;		/* h->B */
	__u8  hflags;		/* h->flags */
	__u8  iter_B;		/* kind ITER_*: it->B */
	__u8  iter_i;		/* kind ITER_*: it->i */
	__u8  bucket_hit;	/* kind ITER_*: 1 when the event's bucket is the one the iterator walks */
	__u8  repeat;		/* 1: the same event again, for another overlapping iteration (not a new event) */
	__u8  pad[2];
	__s32 stack_id;		/* this thread's user stack (stack map), or -1 */
	__s32 other_stack_id;	/* the other thread's user stack, or -1 */
	/* The return address at [sp] when the probe fired. The probes sit on the
	 * function's first instruction, before `push %rbp`, so a frame-pointer
	 * walk from there skips the immediate caller: it is the stack's second
	 * frame, kept here per record (the stack map stays deduplicated). */
	__u64 caller;		/* with stack_id; 0 if unknown */
	__u64 other_caller;	/* with other_stack_id; 0 if unknown */
	/* Go: goroutine ids (0 for libgomap, where tid is the actor). */
	__u64 gid;		/* goroutine doing this event */
	__u64 other_gid;	/* kind != NONE: the iterating goroutine, or the other writer */
	__u64 iter_seq;		/* the iteration this record is about (ITER_*, iter-* kinds, CONFIRM), or 0 */
	__u8  flags;		/* MW_RF_* */
	__u8  pad2;
	__u16 bsize;		/* the map's bucket size in bytes when the record names a bucket
				 * (EVACUATE: bucket_addr = oldbuckets + bucket * bsize), else 0 */
	__u32 n;		/* occurrences this record stands for: an alert repeated between
				 * two records of the same race is counted in BPF (struct mw_agg)
				 * and the next record carries the count; 0 = 1 */
};

/* In-kernel aggregation of repeated races. The same race — kind, process,
 * map, the two actors and the two code locations (return addresses) — is
 * sent as a record when first seen and then at most once per agg_ns, the
 * record carrying the occurrences counted since the last one (mw_record.n).
 * What is still counted when the probes are detached is read from the
 * table at the end (mw_loader_detach), so totals are exact. */
struct mw_akey {
	__u64 map;
	__u64 caller, other_caller;	/* the event's and the other side's code locations */
	__u64 actor, other_actor;	/* tid or goid of each side */
	__u32 pid;
	__u8  kind, type, op, pad;
};
struct mw_agg {
	__u64 unsent;		/* occurrences not yet carried by a record */
	__u64 last_ns;		/* when the last record for it went out (0: never) */
	struct mw_record tmpl;	/* the latest record's content (for what is left at the end) */
};
#define MW_MAX_AGG 16384

/* One captured user stack (the value of the BPF stack table): return
 * addresses, innermost first, unused slots 0. */
struct mw_ustack {
	__u64 ip[MW_MAX_STACK];
};

/* The processes a BPF object watches (the `pids` hash map, written by
 * userspace: one object may serve several processes of one binary). */
struct mw_proc {
	__u64 exec_gen;		/* bumped at each exec: per-map state of an older image is stale */
};
#define MW_MAX_PROCS 4096

/* Per-map state is keyed by process and hmap address: two processes of one
 * binary have maps at the same addresses. */
struct mw_mkey {
	__u64 h;
	__u32 pid;
	__u32 pad;
};

/* A goroutine of a process (Go's goids restart in every process). */
struct mw_gkey {
	__u64 goid;
	__u32 pid;
	__u32 pad;
};

/* Per-map state kept in BPF, keyed by struct mw_mkey. */
struct mw_iter_slot {
	__u64 hiter;		/* 0 = free slot. libgomap: the hiter's address; Go: where the hiter
				 * lives: MW_HITER_STACK | (g.stack.hi - hiter) for a hiter on the
				 * goroutine's stack (Go copies stacks; the offset from the top is
				 * stable), else its address */
	__u64 start_ts;
	__u64 owner;		/* the actor: tid (libgomap) or goid (Go); 0 while being claimed or released */
	__u64 g;		/* Go: the iterating goroutine's g */
	__u64 caller;		/* its return address (see mw_record.caller) */
	__u64 flagged_write;	/* sequence number (mw_mapstate.writes) of the last foreign write flagged against it */
	__u64 seq;		/* iteration number (global, from 1) */
	__u64 pos;		/* Go: fingerprint of the hiter's position at the last foreign write */
	__u32 tid;		/* the thread that started it */
	__s32 stack_id;		/* the iterating thread's stack at mapiterinit, or -1 */
	__u32 pending;		/* Go: alerts raised against it and not yet confirmed */
	__u32 gen;		/* iter_gen when it started (sampled mode: see mapwatch.bpf.c) */
};
#define MW_HITER_STACK (1ULL << 63)

struct mw_mapstate {
	struct mw_iter_slot iters[MW_MAX_ITERS];
	__u64 last_write_ts;	/* when the last writer's run of writes began (its first write after another thread's) */
	__u64 last_writer;	/* its actor (tid or goid); a write by the same actor skips all work */
	__u32 last_writer_tid;	/* its thread */
	__u32 n_iters;		/* open iterations (slots in use) */
	__u64 gen;		/* the exec generation it was made in (older: stale, reset on use) */
	__u64 wstack_actor;	/* the last writer whose stack was captured (it met an iteration) */
	__u64 wstack_caller;	/* its return address */
	__s32 wstack_id;	/* and its stack */
	__u32 lw_gen;		/* window_gen when last_writer was recorded (sampled mode) */
	__u64 writes;		/* probe-hit counters, read by userspace for rates */
	__u64 iterations;
	__u64 grows;
	__u64 evacuations;
};

/* Counters in BPF .bss (struct mw_counters counters). */
struct mw_counters {
	__u64 hits;		/* probe hits for the traced pid */
	__u64 records;		/* records submitted */
	__u64 rb_drops;		/* ring-buffer reserve failures */
	__u64 map_full;		/* per-map state could not be created */
	__u64 slots_full;	/* an iteration could not be tracked: all slots in use */
	__u64 bad_reads;	/* reads of target memory that failed */
	__u64 stack_fails;	/* user stacks that could not be captured (own walk: hash collision, table full) */
	__u64 expired;		/* Go: open iterations found dead at a foreign write (goroutine gone, hiter reused) */
	__u64 agg_counted;	/* alert occurrences counted in the aggregation table instead of a record */
	__u64 agg_full;		/* the aggregation table was full: a record per occurrence */
};

/* Which registers carry arguments in the probed code. */
enum mw_abi {
	MW_ABI_SYSV  = 0,	/* rdi, rsi, rdx, rcx, r8, r9  (the C runtime) */
	MW_ABI_GOREG = 1,	/* rax, rbx, rcx, rdi, rsi, r8 (Go ABIInternal) */
};

/* Argument registers, as the layout table names them (mw_layout.arg_reg). */
enum mw_reg {
	MW_REG_NONE = 0,
	MW_REG_AX, MW_REG_BX, MW_REG_CX, MW_REG_DX, MW_REG_SI, MW_REG_DI, MW_REG_R8, MW_REG_R9,
	MW_REG_MAX = MW_REG_R9
};

/* The layout table: everything the BPF side knows about the probed
 * runtime's structs and calling convention. Set in rodata by the loader
 * from user/layout.c, the only place that knows a runtime's layout. */
struct mw_layout {
	__u32 abi;		/* enum mw_abi */
	/* argument positions (0-based) */
	__u8  arg_h;		/* hmap in mapiterinit, writes, hashGrow, evacuate */
	__u8  arg_init_it;	/* hiter in mapiterinit */
	__u8  arg_done_it;	/* hiter in the end-of-iteration function */
	__u8  arg_evac_bucket;	/* old bucket index in evacuate */
	/* hmap */
	__u16 h_count, h_flags, h_B, h_buckets, h_oldbuckets, h_nevacuate;
	/* hiter */
	__u16 it_h, it_buckets, it_bptr, it_B, it_i, it_bucket;
	/* maptype */
	__u16 t_bucketsize;	/* u16 field */
	/* flag bits in hmap.flags */
	__u8  flag_writing, flag_samesize;
	__u8  max_B;		/* largest sane B */
	/* the runtime's own failed race check: mapfatal(h, kind) */
	__u8  arg_fatal_h;	/* hmap */
	__u8  arg_fatal_kind;	/* which check failed */
	__u8  fatal_iter_write;	/* kind value of "concurrent map iteration and map write" */
	__u8  arg_t;		/* maptype in evacuate (for its bucket size) */
	/* the other race checks' codes in arg_fatal_kind (0: none). libgomap
	 * passes a kind number; Go's runtime.fatal(s string) is told apart by
	 * the message's length. */
	__u8  fatal_writes;	/* "concurrent map writes" */
	__u8  fatal_read;	/* "concurrent map read and map write" */
	__u8  fatal_clone;	/* "concurrent map clone and map write" */
	__u8  go;		/* 1: a Go runtime (goroutine actors, hiter liveness) */
	__u8  g_dead;		/* Go: g.atomicstatus of a dead goroutine (_Gdead) */
	/* Go: runtime.g (R14 holds g) */
	__u16 g_stack_lo, g_stack_hi, g_status, g_goid;
	/* hiter: key (nil once the iteration is over), wrapped */
	__u16 it_key, it_wrapped;
	/* bytes of the hmap and hiter headers read in one go (at most 128) */
	__u8  h_size, it_size;
	/* the register of argument n (0..5) in the probed code's ABI (enum mw_reg) */
	__u8  arg_reg[6];
	__u8  pad[2];
};

/* bpf_cookie of each attached probe: how the site sits in its function. */
#define MW_COOKIE_FRAME 1	/* rbp already points at the function's own frame: the return
				 * address is at [rbp+8], not at [sp] */
#define MW_COOKIE_SPILL0 2	/* argument 0 was stored at [sp + bits 16..31] and its register reused */
#define MW_COOKIE_SPILL1 4	/* argument 1 likewise, at [sp + bits 32..47] */
#define MW_COOKIE_SPILL_SHIFT(n) (16 + 16 * (n))

#endif /* MAPWATCH_H */
