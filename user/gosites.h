/* gosites.h — uprobe sites inside Go runtime functions, found per binary by
 * decoding the function's machine code (capstone), never from offsets
 * written in the source.
 *
 * Why: the kernel single-steps most instructions a uprobe lands on (~20 µs a
 * hit) but emulates a few (push reg, jcc/jmp/call rel, nops: ~5 µs). A Go
 * function's +0 is `cmp 0x10(%r14),%rsp`, single-stepped, and both it and the
 * `jbe` after it run again when morestack or a preemption request re-enters
 * the function, so a probe there fires twice for one call. The site must be
 * after the stack check, on an emulated instruction, reached once per call,
 * before the argument registers change. Where that is depends on the Go
 * version (1.19 has no `push %rbp`; 1.21+ do) and on the build, so it is
 * decided here from the bytes. The same decoder finds the end-of-iteration
 * block of runtime.mapiternext and the three of Go 1.24's (*Iter).Next.
 *
 * Pure except for capstone: no I/O, no global state; unit-tested on real
 * function bytes from Go 1.19, 1.21, 1.22, 1.23 and 1.24 binaries.
 */
#ifndef MW_GOSITES_H
#define MW_GOSITES_H

#include <stddef.h>
#include <stdint.h>

/* Registers a site must find unchanged. The first nine are the Go
 * ABIInternal integer argument registers in argument order, so bit i is
 * also argument i; R14 holds the current g. */
enum mw_go_reg {
	MW_GO_RAX = 0,
	MW_GO_RBX,
	MW_GO_RCX,
	MW_GO_RDI,
	MW_GO_RSI,
	MW_GO_R8,
	MW_GO_R9,
	MW_GO_R10,
	MW_GO_R11,
	MW_GO_R14,
	MW_GO_NREGS
};
#define MW_GO_REG(r) (1u << (r))
#define MW_GO_ALL_REGS ((1u << MW_GO_NREGS) - 1)

/* Arguments that may be read from a stack slot instead of their register
 * (mw_go_entry_site with MW_GO_SPILL_OK): arguments 0 and 1. */
#define MW_GO_SPILL_ARGS 2

struct mw_go_site {
	uint32_t off;		/* from the function's entry */
	int frame_set_up;	/* 1: rbp already points at this function's frame (return
				 * address at [rbp+8]); 0: [sp] is the return address and
				 * rbp is the caller's */
	char insn[64];		/* capstone's text (Intel syntax): "push rbp", "je 0x40e2a6",
				 * "nop dword ptr [rax]" */
	const char *how;	/* the kernel path: "emulated (push)", "emulated (jcc)", … */
	/* Bit i set: argument i (register i of enum mw_go_reg) was overwritten
	 * before the site and is read from [rsp + arg_sp_off[i]] there (the
	 * site's rsp); clear: it is still in its register. Only set by
	 * mw_go_entry_site(…, MW_GO_SPILL_OK, …). */
	int args_spilled;
	int32_t arg_sp_off[MW_GO_SPILL_ARGS];
};

/* The entry site of a Go ABIInternal function.
 *
 * After the stack-bound check (`cmp 0x10(%r14),%rsp|%r12 ; jbe`, optionally
 * preceded by `lea -x(%rsp),%r12`, or the large-frame `mov %rsp,%r12 ; sub
 * $x,%r12 ; jb`), never at +0 and never on the jbe. Go 1.21+: the `push %rbp`
 * right after the check. Go 1.19 (no push): the first instruction after the
 * prologue (`sub/add $x,%rsp ; mov %rbp,x(%rsp) ; lea x(%rsp),%rbp`) that the
 * kernel emulates and that comes before any instruction writing one of the
 * registers in keep_regs_mask (MW_GO_REG bits), before any call/ret/jump that
 * leaves the straight line from the entry, and at or before which no jump
 * of the function lands (all jcc/jmp/call targets in [entry, end) are
 * scanned). A function without a stack check (leaf or nosplit, e.g.
 * runtime.fatal in 1.21+) may be probed at +0 when +0 is `push %rbp`: that
 * is emulated, and nothing re-enters it.
 *
 * code/len are the whole function (symbol size, or up to the next function;
 * trailing int3 padding is fine); vaddr is its entry address (only used for
 * the text of branch targets and to tell in-function jumps from others).
 * flags: 0, or MW_GO_SPILL_OK below.
 * Returns 0 with *out filled, or -1 with a one-line reason in why. */
int mw_go_entry_site(const uint8_t *code, size_t len, uint64_t vaddr, unsigned keep_regs_mask,
		     unsigned flags, struct mw_go_site *out, char *why, size_t whylen);

/* Flags for mw_go_entry_site. */
#define MW_GO_SPILL_OK 1u	/* arguments 0 and 1 may be overwritten once they were stored
				 * to a stack slot that still holds them at the site
				 * (out->args_spilled, out->arg_sp_off) */

/* The end-of-iteration site of runtime.mapiternext (classic maps; whole
 * function bytes): the emulated jcc at the start of the block that sets
 * it.key = it.elem = nil (`movups %xmm15,(%rax)`) and returns, reached only
 * from the `bucket == it.startBucket && it.wrapped` test (the jump after
 * `cmpb $0,WRAPPED(reg)`, WRAPPED the offset of it.wrapped in the runtime
 * row's hiter layout: 0x49 in Go 1.19–1.24). RAX = hiter there: no instruction from the block's
 * start to the site, or from the site to the store, writes RAX. Fires once
 * per completed iteration (not after `break`). Returns 0 or -1 with why. */
int mw_go_iterend_site(const uint8_t *code, size_t len, uint64_t vaddr, unsigned wrapped,
		       struct mw_go_site *out, char *why, size_t whylen);

/* Go 1.24 Swiss maps: the end-of-iteration sites of
 * internal/runtime/maps.(*Iter).Next, one per map shape (nil or empty map at
 * Init, table map, small map). Each is the emulated jcc at the start of a
 * block that is entered by exactly one jump, falls through from nothing,
 * and reaches `movups %xmm15,(%rax)` and a RET with RAX = it unchanged.
 * Fills up to max sites in function order and sets *n; returns 0 when at
 * least one was found (the go1.24 runtime has three), else -1 with why. */
int mw_go_swiss_iterend_sites(const uint8_t *code, size_t len, uint64_t vaddr, struct mw_go_site *out,
			      size_t max, size_t *n, char *why, size_t whylen);

/* How the kernel handles a uprobe on the instruction at code (one
 * instruction; len bytes available): "emulated (push)", "emulated (jcc)",
 * "emulated (jmp)", "emulated (call)", "emulated (nop)", "single-stepped",
 * "optimized (nop: trampoline)" (5-byte or 10-byte nop; a forked child does
 * not inherit the trampoline — never a site), "rejected (0x66 branch)", or
 * "undecodable". *emulated (may be NULL) is set to 1 for the emulated ones. */
const char *mw_go_insn_how(const uint8_t *code, size_t len, int *emulated);

#endif
