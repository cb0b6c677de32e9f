/* uaccess.bpf.h — how the probes read the target: its arguments (in the
 * registers the layout table names, or spilled to the stack as the site's
 * bpf_cookie says), its memory (one scalar, or a header in one read), and
 * its user stack (a frame-pointer walk). Included by mapwatch.bpf.c after
 * the globals it uses: the rodata `layout` and the `counters`. */
#ifndef MW_UACCESS_BPF_H
#define MW_UACCESS_BPF_H

static __always_inline void bad_read(void)
{
	__sync_fetch_and_add(&counters.bad_reads, 1);
}

/* Argument n (0-based): in the register the layout table names for it
 * (user/layout.c). The registers are loaded first and pinned (barrier_var)
 * so that the compiler cannot turn the choice into a computed ctx offset,
 * which the verifier refuses ("dereference of modified ctx ptr"); n and the
 * table are constants at verification time, so the choice folds away. */
static __always_inline __u64 arg(struct pt_regs *ctx, __u8 n)
{
	__u64 ax = ctx->ax, bx = ctx->bx, cx = ctx->cx, dx = ctx->dx;
	__u64 si = ctx->si, di = ctx->di, r8 = ctx->r8, r9 = ctx->r9;

	barrier_var(ax); barrier_var(bx); barrier_var(cx); barrier_var(dx);
	barrier_var(si); barrier_var(di); barrier_var(r8); barrier_var(r9);
	switch (layout.arg_reg[n < 6 ? n : 5]) {
	case MW_REG_AX: return ax;
	case MW_REG_BX: return bx;
	case MW_REG_CX: return cx;
	case MW_REG_DX: return dx;
	case MW_REG_SI: return si;
	case MW_REG_DI: return di;
	case MW_REG_R8: return r8;
	default: return r9;
	}
}

/* Argument n (0 or 1) at this site: from its register, or from the stack
 * slot the function spilled it to before the site (bpf_cookie says which). */
static __always_inline __u64 site_arg(struct pt_regs *ctx, __u8 n)
{
	__u64 cookie = bpf_get_attach_cookie(ctx), v = 0;

	if (n > 1 || !(cookie & (MW_COOKIE_SPILL0 << n)))
		return arg(ctx, n);
	__u64 off = (cookie >> MW_COOKIE_SPILL_SHIFT(n)) & 0xffff;
	if (bpf_probe_read_user(&v, sizeof(v), (void *)(PT_REGS_SP(ctx) + off)))
		return 0;
	return v;
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
	/* A site after the frame is set up (Go 1.19's post-prologue sites, the
	 * end block of mapiternext): the rbp chain starts with the caller. */
	if (!(bpf_get_attach_cookie(ctx) & MW_COOKIE_FRAME)) {
		if (bpf_probe_read_user(&st->ip[n], sizeof(__u64), (void *)sp) || !st->ip[n])
			return n;
		n++;
	}
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

#endif
