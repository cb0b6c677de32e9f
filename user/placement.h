/* placement.h — where a uprobe lands in a function, decided from its first
 * bytes. Pure: unit-tested without root.
 *
 * The kernel handles a uprobe's instruction three ways (DESIGN.md, "Probe
 * points and costs"): a 5-byte nop is optimized into a call to a trampoline,
 * push %rbp is emulated, anything else is single-stepped out of line
 * (10–12 µs). The trampoline lives in a page a fork()ed child does not
 * inherit, so a child calling a function whose nop was rewritten dies of
 * SIGSEGV: the 5-byte nop that patchable_function_entry(5) puts at a
 * function's start is skipped, and the probe goes on the instruction after
 * it (push %rbp in libgomap), where registers and stack are still those of
 * the function's entry. An endbr64 must stay in place for indirect calls, so
 * the probe goes after it too.
 */
#ifndef MW_PLACEMENT_H
#define MW_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

enum mw_place_kind {
	MW_PLACE_NOP5 = 0,	/* a 5-byte nop: never chosen (forked children crash), see above */
	MW_PLACE_EMULATED = 1,	/* push %rbp (or another emulated insn) */
	MW_PLACE_SSTEP = 2,	/* may be single-stepped */
};

struct mw_placement {
	unsigned skip;		/* bytes from the symbol to the probe (4 after endbr64, 5 after the nop) */
	int kind;		/* enum mw_place_kind */
	int endbr;		/* an endbr64 was skipped */
	int nop5;		/* a 5-byte nop was skipped */
	char insn[48];		/* the probed instruction: "push %rbp", bytes otherwise */
	char how[96];		/* "emulated: push %rbp, after the 5-byte nop" … */
};

/* Classify the code at a function's start (len bytes available). */
void mw_place(const uint8_t *code, size_t len, struct mw_placement *p);

#endif
