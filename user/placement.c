/* placement.c — probe placement from a function's first bytes (placement.h). */
#include <stdio.h>
#include <string.h>
#include "placement.h"

static void hex(const uint8_t *c, size_t n, char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < n && o + 4 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%02x", i ? " " : "", c[i]);
}

void mw_place(const uint8_t *code, size_t len, struct mw_placement *p)
{
	const char *after = "";

	memset(p, 0, sizeof(*p));
	/* endbr64: leave it in place, probe the next instruction. */
	if (len >= 4 && code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa) {
		p->skip = 4;
		p->endbr = 1;
		code += 4;
		len -= 4;
		after = ", after endbr64";
	}
	/* 0f 1f 44 00 xx: nopl disp8(%rax,%rax,1), the 5-byte nop of
	 * patchable_function_entry(5). Not probed: once hit, the kernel
	 * rewrites it into a call to a trampoline page that a fork()ed child
	 * does not inherit, and the child's first call there dies of SIGSEGV.
	 * The next instruction sees the same registers and stack (a nop
	 * changes nothing), so the probe goes there. */
	if (len >= 5 && code[0] == 0x0f && code[1] == 0x1f && code[2] == 0x44 && code[3] == 0x00) {
#ifdef MW_BENCH_NOP5_SITE
		/* the old site, built only by bench/probe_site.sh to measure it */
		p->kind = MW_PLACE_NOP5;
		snprintf(p->insn, sizeof(p->insn), "nopl 0x%x(%%rax,%%rax,1)", code[4]);
		snprintf(p->how, sizeof(p->how), "optimized: 5-byte nop, trampoline%s", after);
		return;
#endif
		p->skip += 5;
		p->nop5 = 1;
		code += 5;
		len -= 5;
		after = p->endbr ? ", after endbr64 and the 5-byte nop" : ", after the 5-byte nop";
	}
	if (len >= 1 && code[0] == 0x55) {
		p->kind = MW_PLACE_EMULATED;
		snprintf(p->insn, sizeof(p->insn), "push %%rbp");
		snprintf(p->how, sizeof(p->how), "emulated: push %%rbp%s", after);
	} else {
		p->kind = MW_PLACE_SSTEP;
		hex(code, len < 8 ? len : 8, p->insn, sizeof(p->insn));
		if (!len)
			snprintf(p->insn, sizeof(p->insn), "(no code)");
		snprintf(p->how, sizeof(p->how), "may be single-stepped (slow: ~10 us per hit)%s", after);
	}
}
