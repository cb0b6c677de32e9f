/* gosites.c — uprobe sites in Go runtime functions, found by decoding the
 * function's bytes with capstone (gosites.h says what each site is and why).
 *
 * The function is decoded once, linearly (Go puts no data in .text), into a
 * compact table: per instruction its offset, length, how the kernel would
 * handle a uprobe on it, its control flow, the general registers it writes,
 * and its first two operands. Every question below is then asked of that
 * table:
 *   - which offsets are jump targets (a site must not be one, nor may any
 *     instruction between the straight-line start and the site);
 *   - where Go's stack-bound check ends, and that its morestack tail jumps
 *     back to the entry (which also rejects truncated bytes);
 *   - the prologue's effect on rsp/rbp, so a site knows whether rbp is its
 *     own frame yet and where a spilled argument sits relative to rsp.
 *
 * How the kernel treats an instruction follows arch/x86/kernel/uprobes.c:
 * branch_setup_xol_ops emulates nops (0x90 without f3, 0f 1f), jmp rel8/32,
 * call rel32 and jcc, and refuses 0x66-prefixed branches; push_setup_xol_ops
 * emulates `push reg` (one byte, or 0x41 + one byte); the rest is
 * single-stepped out of line. The kernel turns a 5-byte nop (10-byte in newer
 * kernels) into a call to a trampoline that a forked child does not inherit,
 * so those are never sites.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>

#include "gosites.h"

#define MAX_CODE (256u * 1024)	/* no Go function is near this */
#define SLOTS 4			/* stack copies remembered per argument */

/* General registers by hardware number; G_RIP for rip-relative operands. */
enum { G_RAX, G_RCX, G_RDX, G_RBX, G_RSP, G_RBP, G_RSI, G_RDI,
       G_R8, G_R9, G_R10, G_R11, G_R12, G_R13, G_R14, G_R15, G_RIP, G_NONE = -1 };
#define GB(g) (1u << (g))

static const int pub_gpr[MW_GO_NREGS] = {
	[MW_GO_RAX] = G_RAX, [MW_GO_RBX] = G_RBX, [MW_GO_RCX] = G_RCX, [MW_GO_RDI] = G_RDI,
	[MW_GO_RSI] = G_RSI, [MW_GO_R8] = G_R8, [MW_GO_R9] = G_R9, [MW_GO_R10] = G_R10,
	[MW_GO_R11] = G_R11, [MW_GO_R14] = G_R14,
};
static const char *const pub_name[MW_GO_NREGS] = {
	"rax", "rbx", "rcx", "rdi", "rsi", "r8", "r9", "r10", "r11", "r14",
};

/* How the kernel handles a probe on an instruction. */
enum kind { K_SSTEP, K_PUSH, K_JCC, K_JMP, K_CALL, K_NOP, K_NOPOPT, K_REJ66, K_REJNOP, K_BAD };
static const char *const kind_how[] = {
	[K_SSTEP] = "single-stepped",
	[K_PUSH] = "emulated (push)",
	[K_JCC] = "emulated (jcc)",
	[K_JMP] = "emulated (jmp)",
	[K_CALL] = "emulated (call)",
	[K_NOP] = "emulated (nop)",
	[K_NOPOPT] = "optimized (nop: trampoline)",
	[K_REJ66] = "rejected (0x66 branch)",
	[K_REJNOP] = "rejected (xchg read as nop)",
	[K_BAD] = "undecodable",
};
static int emulated(int k) { return k == K_PUSH || k == K_JCC || k == K_JMP || k == K_CALL || k == K_NOP; }

/* Control flow of an instruction. */
enum flow { F_NONE, F_JCC, F_JMP, F_CALL, F_RET, F_IJMP, F_ICALL, F_STOP };

struct opnd {
	uint8_t type;		/* X86_OP_* */
	uint8_t size;
	int8_t reg;		/* G_* of a register operand */
	int8_t base, index;	/* G_* of a memory operand, G_NONE if absent */
	int8_t seg;		/* memory operand has a segment override */
	unsigned rawreg;	/* capstone's register id */
	int64_t imm, disp;
};

struct dinsn {
	uint32_t off;
	uint8_t size;
	uint8_t kind;
	uint8_t flow;
	uint8_t nops;
	unsigned id;		/* X86_INS_* */
	uint32_t wr;		/* GB(G_*) of registers written */
	int64_t tidx;		/* index of an in-function branch target, -1 if none */
	uint64_t tva;		/* direct branch target address */
	int ntargeted;		/* jumps landing here */
	int64_t first_src;	/* index of the first of them */
	struct opnd op[2];
	char text[64];
};

struct ctx {
	const uint8_t *code;
	size_t len;
	uint64_t vaddr;
	struct dinsn *in;
	size_t n;
	size_t check_end;	/* index after the stack check's jbe; 0 without one */
	int has_check;
};

static int fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	if (why && whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int gpr_of(unsigned r)
{
	switch (r) {
	case X86_REG_AL: case X86_REG_AH: case X86_REG_AX: case X86_REG_EAX: case X86_REG_RAX: return G_RAX;
	case X86_REG_CL: case X86_REG_CH: case X86_REG_CX: case X86_REG_ECX: case X86_REG_RCX: return G_RCX;
	case X86_REG_DL: case X86_REG_DH: case X86_REG_DX: case X86_REG_EDX: case X86_REG_RDX: return G_RDX;
	case X86_REG_BL: case X86_REG_BH: case X86_REG_BX: case X86_REG_EBX: case X86_REG_RBX: return G_RBX;
	case X86_REG_SPL: case X86_REG_SP: case X86_REG_ESP: case X86_REG_RSP: return G_RSP;
	case X86_REG_BPL: case X86_REG_BP: case X86_REG_EBP: case X86_REG_RBP: return G_RBP;
	case X86_REG_SIL: case X86_REG_SI: case X86_REG_ESI: case X86_REG_RSI: return G_RSI;
	case X86_REG_DIL: case X86_REG_DI: case X86_REG_EDI: case X86_REG_RDI: return G_RDI;
	case X86_REG_R8B: case X86_REG_R8W: case X86_REG_R8D: case X86_REG_R8: return G_R8;
	case X86_REG_R9B: case X86_REG_R9W: case X86_REG_R9D: case X86_REG_R9: return G_R9;
	case X86_REG_R10B: case X86_REG_R10W: case X86_REG_R10D: case X86_REG_R10: return G_R10;
	case X86_REG_R11B: case X86_REG_R11W: case X86_REG_R11D: case X86_REG_R11: return G_R11;
	case X86_REG_R12B: case X86_REG_R12W: case X86_REG_R12D: case X86_REG_R12: return G_R12;
	case X86_REG_R13B: case X86_REG_R13W: case X86_REG_R13D: case X86_REG_R13: return G_R13;
	case X86_REG_R14B: case X86_REG_R14W: case X86_REG_R14D: case X86_REG_R14: return G_R14;
	case X86_REG_R15B: case X86_REG_R15W: case X86_REG_R15D: case X86_REG_R15: return G_R15;
	case X86_REG_RIP: return G_RIP;
	default: return G_NONE;
	}
}

static int legacy_prefix(uint8_t b)
{
	return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 ||
	       b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65;
}

/* The kernel's view of one whole instruction of n bytes. */
static int classify(const uint8_t *b, size_t n)
{
	static const uint8_t nop10[] = { 0x66, 0x2e, 0x0f, 0x1f, 0x84 };
	size_t i = 0;
	int p66 = 0, pf3 = 0;
	uint8_t rex = 0, op;

	while (i < n && legacy_prefix(b[i])) {
		p66 |= b[i] == 0x66;
		pf3 |= b[i] == 0xf3;
		i++;
	}
	if (i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i >= n)
		return K_BAD;
	op = b[i];
	/* insn_is_nop(): 0x90 without f3 (f3 90 is pause), or 0f 1f. */
	if ((op == 0x90 && !pf3) || (op == 0x0f && i + 1 < n && b[i + 1] == 0x1f)) {
		if (op == 0x90 && (rex & 1))
			return K_REJNOP;	/* xchg %eax,%r8d: the kernel would skip it */
		if (n == 5 || (n == 10 && !memcmp(b, nop10, sizeof(nop10))))
			return K_NOPOPT;
		return K_NOP;
	}
	if (op == 0xeb || op == 0xe9)
		return p66 ? K_REJ66 : K_JMP;
	if (op == 0xe8)
		return p66 ? K_REJ66 : K_CALL;
	if ((op >= 0x70 && op <= 0x7f) || (op == 0x0f && i + 1 < n && (b[i + 1] & 0xf0) == 0x80))
		return p66 ? K_REJ66 : K_JCC;
	/* push_setup_xol_ops(): 50+r, or 41 50+r; nothing longer. */
	if (op >= 0x50 && op <= 0x57 && (n == 1 || (n == 2 && b[0] == 0x41)))
		return K_PUSH;
	return K_SSTEP;
}

static int has_group(const cs_insn *ci, uint8_t g)
{
	for (int i = 0; i < ci->detail->groups_count; i++)
		if (ci->detail->groups[i] == g)
			return 1;
	return 0;
}

static void fill(struct ctx *c, csh h, const cs_insn *ci, struct dinsn *d)
{
	const cs_x86 *x = &ci->detail->x86;
	cs_regs rr, ww;
	uint8_t nr = 0, nw = 0;

	memset(d, 0, sizeof(*d));
	d->off = (uint32_t)(ci->address - c->vaddr);
	d->size = (uint8_t)ci->size;
	d->id = ci->id;
	d->kind = (uint8_t)classify(ci->bytes, ci->size);
	d->tidx = -1;
	d->first_src = -1;
	if (snprintf(d->text, sizeof(d->text), "%s%s%s", ci->mnemonic, ci->op_str[0] ? " " : "", ci->op_str) >=
	    (int)sizeof(d->text))
		memcpy(d->text + sizeof(d->text) - 4, "...", 4);	/* long operands, cut */
	if (cs_regs_access(h, ci, rr, &nr, ww, &nw) == CS_ERR_OK)
		for (int i = 0; i < nw; i++) {
			int g = gpr_of(ww[i]);
			if (g >= 0 && g < G_RIP)
				d->wr |= GB(g);
		}
	d->nops = x->op_count;
	for (int i = 0; i < x->op_count && i < 2; i++) {
		const cs_x86_op *o = &x->operands[i];
		struct opnd *p = &d->op[i];
		p->type = (uint8_t)o->type;
		p->size = o->size;
		p->reg = p->base = p->index = G_NONE;
		if (o->type == X86_OP_REG) {
			p->rawreg = o->reg;
			p->reg = (int8_t)gpr_of(o->reg);
		} else if (o->type == X86_OP_IMM) {
			p->imm = o->imm;
		} else if (o->type == X86_OP_MEM) {
			p->base = (int8_t)gpr_of(o->mem.base);
			p->index = (int8_t)gpr_of(o->mem.index);
			if (o->mem.index != X86_REG_INVALID && p->index == G_NONE)
				p->index = G_RIP;	/* some other index register: never matches */
			p->seg = o->mem.segment != X86_REG_INVALID;
			p->disp = o->mem.disp;
		}
	}
	if (has_group(ci, X86_GRP_RET) || has_group(ci, X86_GRP_IRET)) {
		d->flow = F_RET;
	} else if (has_group(ci, X86_GRP_CALL)) {
		d->flow = x->op_count == 1 && x->operands[0].type == X86_OP_IMM ? F_CALL : F_ICALL;
	} else if (has_group(ci, X86_GRP_JUMP)) {
		int direct = x->op_count == 1 && x->operands[0].type == X86_OP_IMM;
		if (ci->id == X86_INS_JMP || ci->id == X86_INS_LJMP)
			d->flow = direct ? F_JMP : F_IJMP;
		else
			d->flow = direct ? F_JCC : F_IJMP;
	} else if (has_group(ci, X86_GRP_INT) || ci->id == X86_INS_UD2 || ci->id == X86_INS_HLT ||
		   ci->id == X86_INS_SYSCALL || ci->id == X86_INS_SYSENTER) {
		d->flow = F_STOP;
	}
	if (d->flow == F_JMP || d->flow == F_JCC || d->flow == F_CALL)
		d->tva = (uint64_t)x->operands[0].imm;
}

static int64_t index_of(const struct ctx *c, uint64_t off)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->in[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n && c->in[lo].off == off ? (int64_t)lo : -1;
}

static int is_int3(const struct dinsn *d) { return d->id == X86_INS_INT3; }

/* `cmp 0x10(%r14), %rsp|%r12` in either operand order. */
static int is_guard_cmp(const struct dinsn *d)
{
	const struct opnd *m, *r;

	if (d->id != X86_INS_CMP || d->nops != 2)
		return 0;
	m = d->op[0].type == X86_OP_MEM ? &d->op[0] : &d->op[1];
	r = d->op[0].type == X86_OP_MEM ? &d->op[1] : &d->op[0];
	return m->type == X86_OP_MEM && r->type == X86_OP_REG && m->base == G_R14 &&
	       m->index == G_NONE && !m->seg && m->disp == 0x10 && (r->reg == G_RSP || r->reg == G_R12);
}

/* The morestack tail at index t runs straight (spills, call morestack,
 * reloads) into `jmp <entry>`. */
static int tail_reenters(const struct ctx *c, size_t t)
{
	for (size_t k = t; k < c->n && k < t + 64; k++) {
		const struct dinsn *d = &c->in[k];
		if (d->flow == F_NONE || d->flow == F_CALL)
			continue;
		return d->flow == F_JMP && d->tva == c->vaddr;
	}
	return 0;
}

/* Finds Go's stack-bound check at the start (c->check_end, c->has_check). */
static int find_stack_check(struct ctx *c, char *why, size_t whylen)
{
	for (size_t i = 0; i < c->n && i < 6; i++) {
		const struct dinsn *d = &c->in[i];
		if (is_guard_cmp(d)) {
			const struct dinsn *j = i + 1 < c->n ? &c->in[i + 1] : NULL;
			if (!j || j->id != X86_INS_JBE || j->tidx < 0)
				return fail(why, whylen, "stack check at +0x%x is not followed by an in-function jbe", d->off);
			if (!tail_reenters(c, (size_t)j->tidx))
				return fail(why, whylen, "the jbe's target +0x%x does not jump back to the entry (truncated?)",
					    c->in[j->tidx].off);
			c->has_check = 1;
			c->check_end = i + 2;
			return 0;
		}
		/* Before the cmp only the large-frame set-up: r12 = rsp - x, jb. */
		if (d->flow == F_JCC)
			continue;
		if (d->flow != F_NONE || (d->wr & ~GB(G_R12)))
			break;
	}
	c->has_check = 0;
	c->check_end = 0;
	return 0;
}

static void ctx_free(struct ctx *c)
{
	free(c->in);
	c->in = NULL;
}

static int ctx_open(struct ctx *c, const uint8_t *code, size_t len, uint64_t vaddr, char *why, size_t whylen)
{
	csh h;
	cs_insn *ci;
	const uint8_t *p = code;
	size_t left = len, cap = 0;
	uint64_t addr = vaddr;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->code = code;
	c->len = len;
	c->vaddr = vaddr;
	if (!code || !len)
		return fail(why, whylen, "no code");
	if (len > MAX_CODE)
		return fail(why, whylen, "function too large (%zu bytes)", len);
	if (vaddr + len < vaddr)
		return fail(why, whylen, "address range wraps");
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return fail(why, whylen, "capstone: cannot open an x86-64 decoder");
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	ci = cs_malloc(h);
	if (!ci) {
		cs_close(&h);
		return fail(why, whylen, "capstone: out of memory");
	}
	while (left) {
		uint64_t at = addr;
		if (!cs_disasm_iter(h, &p, &left, &addr, ci)) {
			fail(why, whylen, "undecodable bytes at +0x%llx", (unsigned long long)(at - vaddr));
			goto out;
		}
		if (c->n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct dinsn *nin = realloc(c->in, ncap * sizeof(*nin));
			if (!nin) {
				fail(why, whylen, "out of memory");
				goto out;
			}
			c->in = nin;
			cap = ncap;
		}
		fill(c, h, ci, &c->in[c->n++]);
	}
	/* Branch targets inside the function must be instruction boundaries;
	 * a jcc never leaves a Go function. */
	for (size_t i = 0; i < c->n; i++) {
		struct dinsn *d = &c->in[i];
		int64_t t;
		if (d->flow != F_JMP && d->flow != F_JCC && d->flow != F_CALL)
			continue;
		if (d->tva < vaddr || d->tva >= vaddr + len) {
			if (d->flow == F_JCC) {
				fail(why, whylen, "%s at +0x%x leaves the function (truncated?)", d->text, d->off);
				goto out;
			}
			continue;
		}
		t = index_of(c, d->tva - vaddr);
		if (t < 0) {
			fail(why, whylen, "%s at +0x%x lands inside an instruction", d->text, d->off);
			goto out;
		}
		d->tidx = t;
		if (c->in[t].ntargeted++ == 0)
			c->in[t].first_src = (int64_t)i;
	}
	/* The code must not run off its end: the last instruction before any
	 * int3 or nop padding is a jmp, ret or trap (Go ends every function so;
	 * a cut-off copy almost never does). */
	{
		size_t k = c->n;
		while (k && (is_int3(&c->in[k - 1]) || c->in[k - 1].id == X86_INS_NOP))
			k--;
		if (!k || (c->in[k - 1].flow != F_JMP && c->in[k - 1].flow != F_IJMP &&
			   c->in[k - 1].flow != F_RET && c->in[k - 1].flow != F_STOP)) {
			fail(why, whylen, "the code runs off its end (truncated?)");
			goto out;
		}
	}
	if (find_stack_check(c, why, whylen))
		goto out;
	rc = 0;
out:
	cs_free(ci, 1);
	cs_close(&h);
	if (rc)
		ctx_free(c);
	return rc;
}

static void site_fill(struct mw_go_site *out, const struct dinsn *d, int frame)
{
	memset(out, 0, sizeof(*out));
	out->off = d->off;
	out->frame_set_up = frame;
	snprintf(out->insn, sizeof(out->insn), "%s", d->text);
	out->how = kind_how[d->kind];
}

/* ---- the entry site ------------------------------------------------------ */

/* Frame states while walking the prologue. */
enum { ST_NONE, ST_PUSHED, ST_SUBBED, ST_SAVED, ST_FRAME };

struct argtrack {
	int in_reg;		/* the register still holds the argument */
	int ns;
	int32_t slot[SLOTS];	/* rsp-relative copies */
};

static int is_reg(const struct opnd *o, int g) { return o->type == X86_OP_REG && o->reg == g; }
static int is_imm(const struct opnd *o) { return o->type == X86_OP_IMM; }
static int is_rsp_mem(const struct opnd *o)
{
	return o->type == X86_OP_MEM && o->base == G_RSP && o->index == G_NONE && !o->seg;
}

/* Instructions whose first (memory) operand is only read. */
static int reads_op0_only(unsigned id)
{
	switch (id) {
	case X86_INS_CMP: case X86_INS_TEST: case X86_INS_BT: case X86_INS_NOP: case X86_INS_PUSH:
	case X86_INS_LEA: case X86_INS_UCOMISS: case X86_INS_UCOMISD: case X86_INS_COMISS:
	case X86_INS_COMISD: case X86_INS_PREFETCH: case X86_INS_PREFETCHT0: case X86_INS_PREFETCHT1:
	case X86_INS_PREFETCHT2: case X86_INS_PREFETCHNTA: case X86_INS_PREFETCHW:
		return 1;
	default:
		return 0;
	}
}

static void slots_shift(struct argtrack *t, int32_t by)
{
	for (int a = 0; a < MW_GO_SPILL_ARGS; a++)
		for (int s = 0; s < t[a].ns; s++)
			t[a].slot[s] += by;
}

/* A write of size bytes at [rsp+off] (all slots when off is unknown). */
static void slots_kill(struct argtrack *t, int known, int64_t off, int64_t size)
{
	for (int a = 0; a < MW_GO_SPILL_ARGS; a++) {
		int k = 0;
		for (int s = 0; s < t[a].ns; s++) {
			int64_t lo = t[a].slot[s];
			if (known && (off + size <= lo || lo + 8 <= off))
				t[a].slot[k++] = t[a].slot[s];
		}
		t[a].ns = k;
	}
}

int mw_go_entry_site(const uint8_t *code, size_t len, uint64_t vaddr, unsigned keep_regs_mask,
		     unsigned flags, struct mw_go_site *out, char *why, size_t whylen)
{
	struct ctx c;
	struct argtrack track[MW_GO_SPILL_ARGS];
	int state = ST_NONE, rc = -1, spill_ok = !!(flags & MW_GO_SPILL_OK);
	int64_t saved_at = 0;

	if (!out)
		return fail(why, whylen, "no output");
	if (keep_regs_mask & ~MW_GO_ALL_REGS)
		return fail(why, whylen, "unknown register bits 0x%x", keep_regs_mask & ~MW_GO_ALL_REGS);
	if (flags & ~MW_GO_SPILL_OK)
		return fail(why, whylen, "unknown flags 0x%x", flags);
	memset(track, 0, sizeof(track));
	for (int a = 0; a < MW_GO_SPILL_ARGS; a++)
		track[a].in_reg = 1;
	if (ctx_open(&c, code, len, vaddr, why, whylen))
		return -1;

	for (size_t i = c.check_end; i < c.n; i++) {
		const struct dinsn *d = &c.in[i];
		uint32_t w = d->wr;

		if (d->ntargeted) {
			fail(why, whylen, "+0x%x (%s) is a jump target, before any usable site", d->off, d->text);
			goto out;
		}
		if (!c.has_check && is_guard_cmp(d)) {
			fail(why, whylen, "unrecognized stack check at +0x%x", d->off);
			goto out;
		}
		if ((state == ST_NONE || state == ST_FRAME) && emulated(d->kind)) {
			site_fill(out, d, state == ST_FRAME);
			for (int a = 0; a < MW_GO_SPILL_ARGS; a++)
				if ((keep_regs_mask & MW_GO_REG(a)) && !track[a].in_reg) {
					out->args_spilled |= 1 << a;
					out->arg_sp_off[a] = track[a].slot[0];
				}
			rc = 0;
			goto out;
		}
		if (d->flow != F_NONE) {
			fail(why, whylen, "reached %s at +0x%x before an emulated site", d->text, d->off);
			goto out;
		}

		/* The frame: rsp and rbp change only as a Go prologue changes them. */
		if (state == ST_SUBBED && d->id == X86_INS_MOV && is_rsp_mem(&d->op[0]) && is_reg(&d->op[1], G_RBP)) {
			state = ST_SAVED;
			saved_at = d->op[0].disp;
		}
		if (w & (GB(G_RSP) | GB(G_RBP))) {
			int sub = (d->id == X86_INS_SUB && is_reg(&d->op[0], G_RSP) && is_imm(&d->op[1]) && d->op[1].imm > 0) ||
				  (d->id == X86_INS_ADD && is_reg(&d->op[0], G_RSP) && is_imm(&d->op[1]) && d->op[1].imm < 0);
			int64_t by = d->id == X86_INS_SUB ? d->op[1].imm : -d->op[1].imm;

			if (state == ST_NONE && d->id == X86_INS_PUSH && is_reg(&d->op[0], G_RBP)) {
				state = ST_PUSHED;
				slots_shift(track, 8);
			} else if (state == ST_PUSHED && d->id == X86_INS_MOV && is_reg(&d->op[0], G_RBP) &&
				   is_reg(&d->op[1], G_RSP)) {
				state = ST_FRAME;
			} else if ((state == ST_NONE || state == ST_FRAME) && sub && !(w & GB(G_RBP))) {
				if (state == ST_NONE)
					state = ST_SUBBED;
				slots_shift(track, (int32_t)by);
			} else if (state == ST_SAVED && d->id == X86_INS_LEA && is_reg(&d->op[0], G_RBP) &&
				   is_rsp_mem(&d->op[1]) && d->op[1].disp == saved_at) {
				state = ST_FRAME;
			} else {
				fail(why, whylen, "%s at +0x%x changes rsp/rbp outside a Go prologue", d->text, d->off);
				goto out;
			}
		}

		/* Memory writes end the stack copies they overlap. */
		if (d->nops && d->op[0].type == X86_OP_MEM && !reads_op0_only(d->id)) {
			const struct opnd *m = &d->op[0];
			if (is_rsp_mem(m))
				slots_kill(track, 1, m->disp, m->size ? m->size : 8);
			else if (m->base != G_RIP || m->index != G_NONE)
				slots_kill(track, 0, 0, 0);
		}
		for (int a = 0; a < MW_GO_SPILL_ARGS; a++)
			if (!track[a].in_reg && !track[a].ns) {
				fail(why, whylen, "%s at +0x%x overwrites the only copy of %s", d->text, d->off, pub_name[a]);
				goto out;
			}

		/* Registers to keep. */
		for (int r = 0; r < MW_GO_NREGS; r++) {
			if (!(keep_regs_mask & MW_GO_REG(r)) || !(w & GB(pub_gpr[r])))
				continue;
			if (spill_ok && r < MW_GO_SPILL_ARGS && (!track[r].in_reg || track[r].ns)) {
				track[r].in_reg = 0;
				continue;
			}
			fail(why, whylen, "%s at +0x%x writes %s before an emulated site", d->text, d->off, pub_name[r]);
			goto out;
		}

		/* A spill: mov %reg, x(%rsp) while reg still holds the argument. */
		if (d->id == X86_INS_MOV && is_rsp_mem(&d->op[0]) && d->op[0].size == 8 && d->op[1].type == X86_OP_REG)
			for (int a = 0; a < MW_GO_SPILL_ARGS; a++)
				if (track[a].in_reg && d->op[1].reg == pub_gpr[a] && track[a].ns < SLOTS &&
				    d->op[0].disp >= 0 && d->op[0].disp < INT32_MAX)
					track[a].slot[track[a].ns++] = (int32_t)d->op[0].disp;
	}
	fail(why, whylen, "no emulated site before the end");
out:
	ctx_free(&c);
	return rc;
}

/* ---- end-of-iteration blocks --------------------------------------------- */

/* Whether rbp is this function's frame from index i on: the prologue after
 * the stack check reaches `mov %rsp,%rbp` or `lea x(%rsp),%rbp` before i. */
static int frame_before(const struct ctx *c, size_t i)
{
	for (size_t k = c->check_end; k < i && k < c->check_end + 8; k++) {
		const struct dinsn *d = &c->in[k];
		if ((d->id == X86_INS_MOV && is_reg(&d->op[0], G_RBP) && is_reg(&d->op[1], G_RSP)) ||
		    (d->id == X86_INS_LEA && is_reg(&d->op[0], G_RBP) && is_rsp_mem(&d->op[1])))
			return 1;
		if (d->flow != F_NONE)
			return 0;
	}
	return 0;
}

/* movups %xmm15, (%rax): it.key = it.elem = nil. */
static int is_nil_store(const struct dinsn *d)
{
	return d->id == X86_INS_MOVUPS && d->nops == 2 && d->op[0].type == X86_OP_MEM &&
	       d->op[0].base == G_RAX && d->op[0].index == G_NONE && !d->op[0].seg && d->op[0].disp == 0 &&
	       d->op[1].type == X86_OP_REG && d->op[1].rawreg == X86_REG_XMM15;
}

/* From index k, straight on (following jmps), reaches the nil store with rax
 * unchanged and then a ret with no call or branch in between. */
static int path_store_ret(const struct ctx *c, int64_t k)
{
	int stored = 0;

	for (int steps = 0; steps < 64 && k >= 0 && (size_t)k < c->n; steps++) {
		const struct dinsn *d = &c->in[k];
		if (!stored && is_nil_store(d))
			stored = 1;
		else if (!stored && (d->wr & GB(G_RAX)))
			return 0;
		switch (d->flow) {
		case F_NONE:
			k++;
			break;
		case F_JMP:
			k = d->tidx;
			break;
		case F_RET:
			return stored;
		default:
			return 0;
		}
	}
	return 0;
}

struct endblk {
	size_t start, site, src;
};

/* All end blocks: entered by exactly one jump and not by falling through;
 * straight to an emulated jcc with rax unchanged; one of its two ways runs
 * to the nil store and a ret. */
static size_t end_blocks(const struct ctx *c, struct endblk *out, size_t max)
{
	size_t n = 0;

	for (size_t b = c->check_end ? c->check_end : 1; b < c->n; b++) {
		const struct dinsn *prev = &c->in[b - 1];
		size_t j = b;
		int ok = 1;

		if (c->in[b].ntargeted != 1)
			continue;
		if (prev->flow != F_JMP && prev->flow != F_RET && prev->flow != F_IJMP && prev->flow != F_STOP)
			continue;
		for (; j < c->n && j < b + 16 && c->in[j].flow == F_NONE; j++)
			if ((c->in[j].wr & GB(G_RAX)) || (j > b && c->in[j].ntargeted)) {
				ok = 0;
				break;
			}
		if (!ok || j >= c->n || c->in[j].flow != F_JCC || !emulated(c->in[j].kind) ||
		    (j > b && c->in[j].ntargeted))
			continue;
		if (!path_store_ret(c, (int64_t)j + 1) && !path_store_ret(c, c->in[j].tidx))
			continue;
		if (n < max)
			out[n] = (struct endblk){ b, j, (size_t)c->in[b].first_src };
		n++;
	}
	return n;
}

/* The jump at index src follows (nops aside) `cmpb $0, WRAPPED(reg)`. */
static int after_wrapped_test(const struct ctx *c, size_t src, unsigned wrapped)
{
	for (size_t k = src; k-- > 0;) {
		const struct dinsn *d = &c->in[k];
		if (d->kind == K_NOP || d->kind == K_NOPOPT)
			continue;
		return d->id == X86_INS_CMP && d->nops == 2 && d->op[0].type == X86_OP_MEM &&
		       d->op[0].size == 1 && d->op[0].index == G_NONE && d->op[0].base >= 0 &&
		       d->op[0].base < G_RIP && !d->op[0].seg && d->op[0].disp == (int64_t)wrapped &&
		       is_imm(&d->op[1]) && d->op[1].imm == 0;
	}
	return 0;
}

#define MAX_BLOCKS 16

int mw_go_iterend_site(const uint8_t *code, size_t len, uint64_t vaddr, unsigned wrapped,
		       struct mw_go_site *out, char *why, size_t whylen)
{
	struct ctx c;
	struct endblk blk[MAX_BLOCKS];
	size_t n, found = 0, pick = 0;

	if (!out)
		return fail(why, whylen, "no output");
	if (ctx_open(&c, code, len, vaddr, why, whylen))
		return -1;
	n = end_blocks(&c, blk, MAX_BLOCKS);
	if (n > MAX_BLOCKS)
		n = MAX_BLOCKS;
	for (size_t i = 0; i < n; i++)
		if (c.in[blk[i].src].flow == F_JCC && after_wrapped_test(&c, blk[i].src, wrapped)) {
			if (!found++)
				pick = i;
		}
	if (found != 1) {
		if (found)
			fail(why, whylen, "%zu end-of-iteration blocks after the wrapped test", found);
		else
			fail(why, whylen, "no end-of-iteration block (nil store, ret) after the wrapped test"
				     " (%zu elsewhere)", n);
		ctx_free(&c);
		return -1;
	}
	site_fill(out, &c.in[blk[pick].site], frame_before(&c, blk[pick].site));
	ctx_free(&c);
	return 0;
}

int mw_go_swiss_iterend_sites(const uint8_t *code, size_t len, uint64_t vaddr, struct mw_go_site *out,
			      size_t max, size_t *n, char *why, size_t whylen)
{
	struct ctx c;
	struct endblk blk[MAX_BLOCKS];
	size_t nb;

	if (n)
		*n = 0;
	if (!out || !n || !max)
		return fail(why, whylen, "no output");
	if (ctx_open(&c, code, len, vaddr, why, whylen))
		return -1;
	nb = end_blocks(&c, blk, MAX_BLOCKS);
	if (!nb || nb > max || nb > MAX_BLOCKS) {
		ctx_free(&c);
		if (!nb)
			return fail(why, whylen, "no end-of-iteration block (nil store, ret)");
		return fail(why, whylen, "%zu end-of-iteration blocks, room for %zu", nb, max);
	}
	for (size_t i = 0; i < nb; i++)
		site_fill(&out[i], &c.in[blk[i].site], frame_before(&c, blk[i].site));
	*n = nb;
	ctx_free(&c);
	return 0;
}

/* ---- one instruction ----------------------------------------------------- */

const char *mw_go_insn_how(const uint8_t *code, size_t len, int *emu)
{
	csh h;
	cs_insn *ci = NULL;
	int k = K_BAD;

	if (emu)
		*emu = 0;
	if (!code || !len)
		return kind_how[K_BAD];
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return kind_how[K_BAD];
	if (cs_disasm(h, code, len < 16 ? len : 16, 0, 1, &ci) == 1) {
		k = classify(ci->bytes, ci->size);
		cs_free(ci, 1);
	}
	cs_close(&h);
	if (emu)
		*emu = emulated(k);
	return kind_how[k];
}
