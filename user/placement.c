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
	memset(p, 0, sizeof(*p));
	/* endbr64: leave it in place, probe the next instruction. */
	if (len >= 4 && code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa) {
		p->skip = 4;
		p->endbr = 1;
		code += 4;
		len -= 4;
	}
	/* 0f 1f 44 00 xx: nopl disp8(%rax,%rax,1), the 5-byte nop. */
	if (len >= 5 && code[0] == 0x0f && code[1] == 0x1f && code[2] == 0x44 && code[3] == 0x00) {
		p->kind = MW_PLACE_NOP5;
		snprintf(p->insn, sizeof(p->insn), "nopl 0x%x(%%rax,%%rax,1)", code[4]);
		snprintf(p->how, sizeof(p->how), "optimized: 5-byte nop, trampoline");
	} else if (len >= 1 && code[0] == 0x55) {
		p->kind = MW_PLACE_EMULATED;
		snprintf(p->insn, sizeof(p->insn), "push %%rbp");
		snprintf(p->how, sizeof(p->how), "emulated: push %%rbp");
	} else {
		p->kind = MW_PLACE_SSTEP;
		hex(code, len < 8 ? len : 8, p->insn, sizeof(p->insn));
		if (!len)
			snprintf(p->insn, sizeof(p->insn), "(no code)");
		snprintf(p->how, sizeof(p->how), "may be single-stepped (slow: ~10 us per hit)");
	}
	if (p->endbr) {
		size_t n = strlen(p->how);
		snprintf(p->how + n, sizeof(p->how) - n, ", after endbr64");
	}
}
