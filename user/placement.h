/* placement.h — where a uprobe lands in a function, decided from its first
 * bytes. Pure: unit-tested without root.
 *
 * The kernel handles a uprobe's first instruction three ways (DESIGN.md,
 * "Probe points and costs"): a 5-byte nop is optimized into a jump to a
 * trampoline (~0.47 µs), push %rbp is emulated (~0.72 µs), anything else is
 * single-stepped out of line (10–12 µs). An endbr64 must stay in place for
 * indirect calls, so the probe goes on the instruction after it.
 */
#ifndef MW_PLACEMENT_H
#define MW_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

enum mw_place_kind {
	MW_PLACE_NOP5 = 0,	/* optimized: 5-byte nop, trampoline */
	MW_PLACE_EMULATED = 1,	/* push %rbp (or another emulated insn) */
	MW_PLACE_SSTEP = 2,	/* may be single-stepped */
};

struct mw_placement {
	unsigned skip;		/* bytes from the symbol to the probe (4 after endbr64) */
	int kind;		/* enum mw_place_kind */
	int endbr;		/* an endbr64 was skipped */
	char insn[48];		/* the probed instruction: "nopl 0x0(%rax,%rax,1)", "push %rbp", bytes otherwise */
	char how[96];		/* "optimized: 5-byte nop, trampoline" … */
};

/* Classify the code at a function's start (len bytes available). */
void mw_place(const uint8_t *code, size_t len, struct mw_placement *p);

#endif
