/* test_gosites.c — the Go probe-site finder (user/gosites.c) on real code.
 *
 * tests/gosites_fixtures.h holds the bytes of the runtime's map functions
 * from Go 1.19, 1.21, 1.22, 1.23 and 1.24 binaries (1.24 also built with
 * GOEXPERIMENT=noswissmap), and per function the sites that
 * tests/gen_gosites_fixtures.sh read off `go tool objdump`'s text by its own
 * rules. Here the capstone-based finder must agree with them on every
 * function, and every site it picks must be one the kernel emulates: never
 * +0 or the jbe of a function with a stack check, never a single-stepped
 * instruction, never a 5-byte nop. Hand-assembled functions cover the cases
 * the runtime does not show (a jump onto the push, a 66-prefixed jcc, the
 * large-frame check, an overwritten spill slot), and cut-off or random bytes
 * must give -1, not a crash (run under ASan/UBSan).
 */
#include "check.h"
#include "gosites.h"
#include "gosites_fixtures.h"

#define WHY 160
/* hiter.wrapped in the fixtures' classic maps (user/layout.c: it_wrapped, Go 1.19–1.24). */
#define HITER_WRAPPED 0x49

/* mw_go_entry_site without flags. */
static int entry_site(const uint8_t *code, size_t len, uint64_t vaddr, unsigned keep,
		      struct mw_go_site *out, char *why, size_t whylen)
{
	return mw_go_entry_site(code, len, vaddr, keep, 0, out, why, whylen);
}

/* ---- independent readings of the bytes --------------------------------- */

static int is_nop5(const uint8_t *p, size_t left)
{
	return left >= 5 && p[0] == 0x0f && p[1] == 0x1f && p[2] == 0x44 && p[3] == 0x00 && p[4] == 0x00;
}

/* What the kernel does with the forms Go emits; NULL for anything else. */
static const char *byte_how(const uint8_t *p, size_t left)
{
	if (!left)
		return NULL;
	if (p[0] == 0x55)
		return "emulated (push)";
	if ((p[0] >= 0x70 && p[0] <= 0x7f) || (left > 1 && p[0] == 0x0f && (p[1] & 0xf0) == 0x80))
		return "emulated (jcc)";
	if (p[0] == 0xe8)
		return "emulated (call)";
	if (p[0] == 0xe9 || p[0] == 0xeb)
		return "emulated (jmp)";
	if (is_nop5(p, left))
		return NULL;
	if (p[0] == 0x90 || (left > 1 && p[0] == 0x0f && p[1] == 0x1f) ||
	    (left > 2 && p[0] == 0x66 && (p[1] == 0x90 || (p[1] == 0x0f && p[2] == 0x1f))))
		return "emulated (nop)";
	return NULL;
}

/* Offset just past Go's stack check (lea r12 / cmp / jbe), 0 without one. */
static size_t check_end(const uint8_t *p, size_t n)
{
	size_t i = 0;

	if (n > 5 && p[0] == 0x4c && p[1] == 0x8d && p[2] == 0x64 && p[3] == 0x24)
		i = 5;
	else if (n > 8 && p[0] == 0x4c && p[1] == 0x8d && p[2] == 0xa4 && p[3] == 0x24)
		i = 8;
	if (i + 4 > n || (p[i] != 0x49 && p[i] != 0x4d) || p[i + 1] != 0x3b || p[i + 2] != 0x66 || p[i + 3] != 0x10)
		return 0;
	i += 4;
	if (i + 2 <= n && p[i] == 0x76)
		return i + 2;
	if (i + 6 <= n && p[i] == 0x0f && p[i + 1] == 0x86)
		return i + 6;
	return 0;
}

static int is(const struct gs_fixture *f, const char *go) { return !strcmp(f->go, go); }
static int named(const struct gs_fixture *f, const char *name) { return !strcmp(f->name, name); }

/* A site that may be probed: emulated by its bytes and by its "how". */
static int site_ok(const struct gs_fixture *f, const struct mw_go_site *s)
{
	const char *how;

	if (s->off >= f->len)
		return 0;
	how = byte_how(f->code + s->off, f->len - s->off);
	return how && s->how && !strcmp(how, s->how) && !is_nop5(f->code + s->off, f->len - s->off) &&
	       s->insn[0] && strncmp(s->how, "emulated (", 10) == 0;
}

/* ---- the fixtures ------------------------------------------------------- */

TEST(fixtures_cover_every_version)
{
	static const char *const gos[] = { "1.19", "1.21", "1.22", "1.23", "1.24", "1.24ns" };
	for (size_t g = 0; g < sizeof(gos) / sizeof(gos[0]); g++) {
		int n = 0, next = 0;
		for (size_t i = 0; i < GS_NFIXTURES; i++)
			if (is(&gs_fixtures[i], gos[g])) {
				n++;
				next += named(&gs_fixtures[i], "runtime.mapiternext") ||
					named(&gs_fixtures[i], "internal/runtime/maps.(*Iter).Next");
			}
		if (n < 8 || next != 1)
			CHECK_FAIL("Go %s: %d fixtures, %d iterators", gos[g], n, next);
	}
}

TEST(entry_site_matches_objdump)
{
	int bad = 0;
	for (size_t i = 0; i < GS_NFIXTURES; i++) {
		const struct gs_fixture *f = &gs_fixtures[i];
		struct mw_go_site s;
		char why[WHY] = "";
		int rc = entry_site(f->code, f->len, f->vaddr, f->keep, &s, why, sizeof(why));
		if (f->entry < 0 ? rc != -1 || !why[0]
				 : rc != 0 || s.off != (uint32_t)f->entry || s.frame_set_up != f->entry_frame ||
				   s.args_spilled) {
			fprintf(stderr, "  Go %s %s: rc %d +0x%x frame %d (%s), objdump says %d/+0x%x frame %d\n",
				f->go, f->name, rc, rc ? 0 : s.off, rc ? -1 : s.frame_set_up, rc ? why : s.insn,
				f->entry < 0 ? -1 : 0, f->entry < 0 ? 0 : f->entry, f->entry_frame);
			bad++;
		}
	}
	CHECK_EQ_U64(bad, 0);
}

TEST(entry_site_is_emulated_and_after_the_check)
{
	int checked = 0;
	for (size_t i = 0; i < GS_NFIXTURES; i++) {
		const struct gs_fixture *f = &gs_fixtures[i];
		struct mw_go_site s;
		char why[WHY];
		size_t end = check_end(f->code, f->len);

		if (entry_site(f->code, f->len, f->vaddr, f->keep, &s, why, sizeof(why)))
			continue;
		if (!site_ok(f, &s))
			CHECK_FAIL("Go %s %s: +0x%x %s is %s", f->go, f->name, s.off, s.insn, s.how);
		CHECK_EQ_U64(!!end, f->has_check);
		if (f->has_check && (s.off == 0 || s.off < end))
			CHECK_FAIL("Go %s %s: +0x%x is in the stack check (ends +0x%zx)", f->go, f->name, s.off, end);
		checked++;
	}
	CHECK(checked > 100);
}

TEST(push_site_from_go_1_21_on)
{
	for (size_t i = 0; i < GS_NFIXTURES; i++) {
		const struct gs_fixture *f = &gs_fixtures[i];
		struct mw_go_site s;
		char why[WHY];
		if (is(f, "1.19"))
			continue;
		CHECK(entry_site(f->code, f->len, f->vaddr, f->keep, &s, why, sizeof(why)) == 0);
		CHECK_EQ_U64(f->code[s.off], 0x55);
		CHECK_EQ_STR(s.insn, "push rbp");
		CHECK_EQ_STR(s.how, "emulated (push)");
		CHECK_EQ_U64(s.frame_set_up, 0);
		/* right after the check: +0x6 short jbe, +0xa, +0xf with lea r12 */
		CHECK_EQ_U64(s.off, check_end(f->code, f->len));
	}
}

TEST(go_1_19_site_after_the_prologue)
{
	int n = 0, jcc = 0, nop = 0;
	for (size_t i = 0; i < GS_NFIXTURES; i++) {
		const struct gs_fixture *f = &gs_fixtures[i];
		struct mw_go_site s;
		char why[WHY];
		if (!is(f, "1.19") || !f->has_check)
			continue;
		CHECK(entry_site(f->code, f->len, f->vaddr, f->keep, &s, why, sizeof(why)) == 0);
		CHECK_EQ_U64(s.frame_set_up, 1);
		CHECK(s.off >= check_end(f->code, f->len) + 12);	/* sub, mov, lea */
		jcc += !strcmp(s.how, "emulated (jcc)");
		nop += !strcmp(s.how, "emulated (nop)");
		n++;
	}
	CHECK(n >= 25);
	CHECK(jcc > 0 && nop > 0 && jcc + nop == n);
}

/* evacuate_fast32 in 1.19 has a 5-byte nop first (+0x3b): the site is the
 * jne after it. */
TEST(go_1_19_skips_the_5_byte_nop)
{
	int seen = 0;
	for (size_t i = 0; i < GS_NFIXTURES; i++) {
		const struct gs_fixture *f = &gs_fixtures[i];
		struct mw_go_site s;
		char why[WHY];
		size_t end = check_end(f->code, f->len);
		if (!is(f, "1.19") || !f->has_check)
			continue;
		CHECK(entry_site(f->code, f->len, f->vaddr, f->keep, &s, why, sizeof(why)) == 0);
		for (size_t o = end; o + 5 <= s.off; o++)
			if (is_nop5(f->code + o, s.off - o))
				seen++;
	}
	CHECK(seen > 0);
}

TEST(kept_registers_bound_the_site)
{
	/* 1.19 mapiternext keeps only AX (it): its site is the hashWriting je,
	 * after `mov 0x18(%rax),%rbx`; asking to keep BX too leaves none. */
	for (size_t i = 0; i < GS_NFIXTURES; i++) {
		const struct gs_fixture *f = &gs_fixtures[i];
		struct mw_go_site s;
		char why[WHY] = "";
		if (!is(f, "1.19") || !named(f, "runtime.mapiternext"))
			continue;
		CHECK(entry_site(f->code, f->len, f->vaddr, f->keep, &s, why, sizeof(why)) == 0);
		CHECK_EQ_STR(s.how, "emulated (jcc)");
		CHECK(entry_site(f->code, f->len, f->vaddr, f->keep | MW_GO_REG(MW_GO_RBX), &s, why,
				       sizeof(why)) == -1);
		CHECK(strstr(why, "rbx") != NULL);
		return;
	}
	CHECK_FAIL("no 1.19 mapiternext");
}

TEST(spilled_arguments_match_objdump)
{
	int bad = 0;
	for (size_t i = 0; i < GS_NFIXTURES; i++) {
		const struct gs_fixture *f = &gs_fixtures[i];
		struct mw_go_site s;
		char why[WHY] = "";
		int rc = mw_go_entry_site(f->code, f->len, f->vaddr, f->keep, MW_GO_SPILL_OK, &s, why,
						sizeof(why));
		int ax = rc || !(s.args_spilled & 1) ? -1 : s.arg_sp_off[0];
		int bx = rc || !(s.args_spilled & 2) ? -1 : s.arg_sp_off[1];
		if (f->spill < 0 ? rc != -1
				 : rc != 0 || s.off != (uint32_t)f->spill || s.frame_set_up != f->spill_frame ||
				   ax != f->spill_ax || bx != f->spill_bx || !site_ok(f, &s)) {
			fprintf(stderr, "  Go %s %s: rc %d +0x%x ax %d bx %d (%s), objdump says +0x%x ax %d bx %d\n",
				f->go, f->name, rc, rc ? 0 : s.off, ax, bx, rc ? why : s.insn, f->spill, f->spill_ax,
				f->spill_bx);
			bad++;
		}
	}
	CHECK_EQ_U64(bad, 0);
}

/* runtime.fatal(s string) in 1.19: no push, AX overwritten before the first
 * emulated instruction (the call to systemstack); with spills allowed the
 * site is that call, the pointer read from the slot it was stored to. */
TEST(go_1_19_fatal_site_with_spilled_pointer)
{
	for (size_t i = 0; i < GS_NFIXTURES; i++) {
		const struct gs_fixture *f = &gs_fixtures[i];
		struct mw_go_site s;
		char why[WHY] = "";
		if (!is(f, "1.19") || !named(f, "runtime.fatal"))
			continue;
		CHECK_EQ_U64(f->has_check, 0);
		CHECK(entry_site(f->code, f->len, f->vaddr, f->keep, &s, why, sizeof(why)) == -1);
		CHECK(strstr(why, "rax") != NULL);
		CHECK(mw_go_entry_site(f->code, f->len, f->vaddr, f->keep, MW_GO_SPILL_OK, &s, why,
					     sizeof(why)) == 0);
		CHECK_EQ_U64(f->code[s.off], 0xe8);
		CHECK_EQ_STR(s.how, "emulated (call)");
		CHECK_EQ_U64(s.frame_set_up, 1);
		CHECK_EQ_U64(s.args_spilled, 1);		/* ptr spilled, len still in BX */
		CHECK_EQ_U64(s.arg_sp_off[0], f->spill_ax);
		/* the slot holds AX: the bytes store it there (48 89 44 24 disp8) */
		for (size_t o = 0; o + 5 <= s.off; o++)
			if (!memcmp(f->code + o, "\x48\x89\x44\x24", 4) && f->code[o + 4] == s.arg_sp_off[0])
				return;
		CHECK_FAIL("no mov %%rax,0x%x(%%rsp) before the site", s.arg_sp_off[0]);
	}
	CHECK_FAIL("no 1.19 fatal");
}

TEST(iterend_site_matches_objdump)
{
	int n = 0;
	for (size_t i = 0; i < GS_NFIXTURES; i++) {
		const struct gs_fixture *f = &gs_fixtures[i];
		struct mw_go_site s;
		char why[WHY] = "";
		int rc = mw_go_iterend_site(f->code, f->len, f->vaddr, HITER_WRAPPED, &s, why, sizeof(why));
		if (!named(f, "runtime.mapiternext")) {
			if (rc != -1 || !why[0])
				CHECK_FAIL("Go %s %s: end site +0x%x", f->go, f->name, s.off);
			continue;
		}
		if (rc)
			CHECK_FAIL("Go %s mapiternext: %s", f->go, why);
		CHECK(f->iterend > 0);
		CHECK_EQ_U64(s.off, f->iterend);
		CHECK_EQ_STR(s.how, "emulated (jcc)");
		CHECK(site_ok(f, &s));
		CHECK_EQ_U64(s.frame_set_up, 1);
		CHECK(s.insn[0] == 'j');
		n++;
	}
	CHECK_EQ_U64(n, 5);	/* 1.19, 1.21, 1.22, 1.23, 1.24 noswissmap */
}

TEST(swiss_iterend_sites_match_objdump)
{
	int n = 0;
	for (size_t i = 0; i < GS_NFIXTURES; i++) {
		const struct gs_fixture *f = &gs_fixtures[i];
		struct mw_go_site s[4];
		size_t ns = 99;
		char why[WHY] = "";
		int rc = mw_go_swiss_iterend_sites(f->code, f->len, f->vaddr, s, 4, &ns, why, sizeof(why));
		if (!named(f, "internal/runtime/maps.(*Iter).Next")) {
			if (is(f, "1.24") && (rc != -1 || ns != 0))
				CHECK_FAIL("Go %s %s: %zu end sites", f->go, f->name, ns);
			continue;
		}
		if (rc)
			CHECK_FAIL("Go %s (*Iter).Next: %s", f->go, why);
		CHECK_EQ_U64(ns, 3);
		CHECK_EQ_U64(f->nswiss, 3);
		for (size_t k = 0; k < ns; k++) {
			CHECK_EQ_U64(s[k].off, f->swiss[k]);
			CHECK(site_ok(f, &s[k]));
			CHECK_EQ_STR(s[k].how, "emulated (jcc)");
			CHECK_EQ_U64(s[k].frame_set_up, 1);
		}
		/* no wrapped test in the Swiss iterator; and too little room fails */
		CHECK(mw_go_iterend_site(f->code, f->len, f->vaddr, HITER_WRAPPED, s, why, sizeof(why)) == -1);
		CHECK(mw_go_swiss_iterend_sites(f->code, f->len, f->vaddr, s, 2, &ns, why, sizeof(why)) == -1);
		n++;
	}
	CHECK_EQ_U64(n, 1);
}

/* ---- cut-off and random bytes ------------------------------------------- */

static void try_all(const uint8_t *p, size_t n, uint64_t va, int *ok)
{
	struct mw_go_site s[4];
	size_t ns;
	char why[WHY];

	ok[0] += entry_site(p, n, va, MW_GO_ALL_REGS, s, why, sizeof(why)) == 0;
	ok[1] += mw_go_entry_site(p, n, va, MW_GO_REG(MW_GO_RAX), MW_GO_SPILL_OK, s, why, sizeof(why)) == 0;
	ok[2] += mw_go_iterend_site(p, n, va, HITER_WRAPPED, s, why, sizeof(why)) == 0;
	ok[3] += mw_go_swiss_iterend_sites(p, n, va, s, 4, &ns, why, sizeof(why)) == 0;
}

TEST(truncated_functions_fail)
{
	for (size_t i = 0; i < GS_NFIXTURES; i++) {
		const struct gs_fixture *f = &gs_fixtures[i];
		/* every length for a few, a sample (and the last bytes) for the rest */
		size_t step = (is(f, "1.23") && named(f, "runtime.mapiternext")) || named(f, "runtime.fatal") ? 1 :
			      named(f, "internal/runtime/maps.(*Iter).Next") ? 3 : 61;
		for (size_t cut = 0; cut < f->len; cut++) {
			int ok[4] = { 0 };
			uint8_t *copy;
			if (cut % step && cut + 8 < f->len)
				continue;
			/* a heap copy of exactly cut bytes, so ASan sees any read past it */
			copy = malloc(cut ? cut : 1);
			CHECK(copy != NULL);
			memcpy(copy, f->code, cut);
			try_all(copy, cut, f->vaddr, ok);
			free(copy);
			if (ok[0] || ok[1] || ok[2] || ok[3])
				CHECK_FAIL("Go %s %s cut to %zu bytes: accepted (%d %d %d %d)", f->go, f->name, cut,
					   ok[0], ok[1], ok[2], ok[3]);
		}
	}
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

TEST(garbage_fails)
{
	static uint8_t buf[4096];
	struct mw_go_site s;
	size_t ns = 7;
	char why[WHY];
	int ok[4] = { 0 };

	CHECK(entry_site(NULL, 10, 0x1000, 0, &s, why, sizeof(why)) == -1);
	CHECK(entry_site(buf, 0, 0x1000, 0, &s, why, sizeof(why)) == -1);
	CHECK(entry_site(buf, 16, 0x1000, 0, NULL, why, sizeof(why)) == -1);
	CHECK(entry_site(buf, 16, 0x1000, 1u << 20, &s, why, sizeof(why)) == -1);
	CHECK(strstr(why, "register") != NULL);
	CHECK(mw_go_entry_site(buf, 16, 0x1000, 0, 0x80, &s, why, sizeof(why)) == -1);
	CHECK(entry_site(buf, (size_t)1 << 30, 0x1000, 0, &s, why, sizeof(why)) == -1);	/* not read */
	CHECK(entry_site(buf, 16, UINT64_MAX - 4, 0, &s, NULL, 0) == -1);
	CHECK(mw_go_iterend_site(NULL, 0, 0, HITER_WRAPPED, &s, why, sizeof(why)) == -1);
	CHECK(mw_go_swiss_iterend_sites(buf, 16, 0x1000, &s, 0, &ns, why, sizeof(why)) == -1 && ns == 0);
	CHECK(mw_go_swiss_iterend_sites(buf, 16, 0x1000, &s, 1, NULL, why, sizeof(why)) == -1);

	memset(buf, 0xcc, sizeof(buf));
	try_all(buf, sizeof(buf), 0x401000, ok);
	memset(buf, 0x00, sizeof(buf));
	try_all(buf, sizeof(buf), 0x401000, ok);
	memset(buf, 0x90, sizeof(buf));
	try_all(buf, sizeof(buf), 0x401000, ok);
	buf[0] = 0x55;		/* a push, then nops off the end */
	try_all(buf, sizeof(buf), 0x401000, ok);
	for (int round = 0; round < 400; round++) {
		size_t n = 1 + next_rand() % sizeof(buf);
		uint8_t *p;
		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)next_rand();
		if (round % 4 == 0)
			memcpy(buf, "\x49\x3b\x66\x10\x0f\x86", n < 6 ? n : 6);	/* a stack check first */
		if (round % 4 == 1)
			buf[0] = 0x55;
		p = malloc(n);
		CHECK(p != NULL);
		memcpy(p, buf, n);
		try_all(p, n, 0x400000 + (next_rand() & 0xffff0), ok);
		free(p);
	}
	CHECK_EQ_U64(ok[0] + ok[1] + ok[2] + ok[3], 0);
	/* the why buffer is always terminated, however short */
	memset(buf, 0, 3);
	CHECK(entry_site(buf, 3, 0x1000, 0, &s, why, 4) == -1);
	CHECK(strlen(why) <= 3);
}

/* ---- hand-assembled functions ------------------------------------------- */

#define VA 0x401000

/* 1.19 shape: cmp; jbe tail; sub; mov %rbp; lea %rbp; 5-byte nop; mov
 * 0x18(%rax),%rbx; 4-byte nop; epilogue; tail: call; jmp entry. */
static const uint8_t f119[] = {
	0x49, 0x3b, 0x66, 0x10,			/* +0x00 cmp 0x10(%r14),%rsp */
	0x76, 0x25,				/* +0x04 jbe +0x2b */
	0x48, 0x83, 0xec, 0x18,			/* +0x06 sub $0x18,%rsp */
	0x48, 0x89, 0x6c, 0x24, 0x10,		/* +0x0a mov %rbp,0x10(%rsp) */
	0x48, 0x8d, 0x6c, 0x24, 0x10,		/* +0x0f lea 0x10(%rsp),%rbp */
	0x0f, 0x1f, 0x44, 0x00, 0x00,		/* +0x14 nop (5 bytes: never a site) */
	0x48, 0x8b, 0x58, 0x18,			/* +0x19 mov 0x18(%rax),%rbx */
	0x0f, 0x1f, 0x40, 0x00,			/* +0x1d nop (4 bytes) */
	0x48, 0x8b, 0x6c, 0x24, 0x10,		/* +0x21 mov 0x10(%rsp),%rbp */
	0x48, 0x83, 0xc4, 0x18,			/* +0x26 add $0x18,%rsp */
	0xc3,					/* +0x2a ret */
	0xe8, 0x00, 0x01, 0x00, 0x00,		/* +0x2b call morestack (outside) */
	0xeb, 0xce,				/* +0x30 jmp +0 */
};

TEST(synthetic_go_1_19_shape)
{
	struct mw_go_site s;
	char why[WHY];
	uint8_t bad[sizeof(f119)];

	CHECK(entry_site(f119, sizeof(f119), VA, MW_GO_REG(MW_GO_RAX), &s, why, sizeof(why)) == 0);
	CHECK_EQ_U64(s.off, 0x1d);
	CHECK_EQ_STR(s.insn, "nop dword ptr [rax]");
	CHECK_EQ_STR(s.how, "emulated (nop)");
	CHECK_EQ_U64(s.frame_set_up, 1);
	/* keeping rbx: written at +0x19, before any emulated instruction */
	CHECK(entry_site(f119, sizeof(f119), VA, MW_GO_REG(MW_GO_RAX) | MW_GO_REG(MW_GO_RBX), &s, why,
			       sizeof(why)) == -1);
	CHECK(strstr(why, "rbx") && strstr(why, "+0x19"));
	/* the morestack tail must jump back to the entry (here: to the ret) */
	memcpy(bad, f119, sizeof(bad));
	bad[sizeof(bad) - 1] = 0xf8;
	CHECK(entry_site(bad, sizeof(bad), VA, MW_GO_REG(MW_GO_RAX), &s, why, sizeof(why)) == -1);
	CHECK(strstr(why, "entry") != NULL);
	/* a jump onto the nop: it could run twice per call */
	memcpy(bad, f119, sizeof(bad));
	memcpy(bad + 0x21, "\x75\xfa\x90\x90\x90", 5);	/* +0x21 jne +0x1d */
	CHECK(entry_site(bad, sizeof(bad), VA, MW_GO_REG(MW_GO_RAX), &s, why, sizeof(why)) == -1);
	CHECK(strstr(why, "jump target") != NULL);
	/* a 66-prefixed jcc is refused by the kernel: not a site, and the
	 * straight line ends there */
	memcpy(bad, f119, sizeof(bad));
	memcpy(bad + 0x14, "\x66\x74\x00\x90\x90", 5);
	CHECK(entry_site(bad, sizeof(bad), VA, MW_GO_REG(MW_GO_RAX), &s, why, sizeof(why)) == -1);
}

/* A nop inside the 1.19 prologue is no site: rbp is neither the caller's
 * frame pointer with [sp] the return address, nor this function's. */
static const uint8_t fpro[] = {
	0x49, 0x3b, 0x66, 0x10,			/* +0x00 cmp */
	0x76, 0x1b,				/* +0x04 jbe +0x21 */
	0x48, 0x83, 0xec, 0x18,			/* +0x06 sub $0x18,%rsp */
	0x66, 0x90,				/* +0x0a nop */
	0x48, 0x89, 0x6c, 0x24, 0x10,		/* +0x0c mov %rbp,0x10(%rsp) */
	0x48, 0x8d, 0x6c, 0x24, 0x10,		/* +0x11 lea 0x10(%rsp),%rbp */
	0x90,					/* +0x16 nop */
	0x48, 0x8b, 0x6c, 0x24, 0x10,		/* +0x17 mov 0x10(%rsp),%rbp */
	0x48, 0x83, 0xc4, 0x18,			/* +0x1c add $0x18,%rsp */
	0xc3,					/* +0x20 ret */
	0xe8, 0x00, 0x01, 0x00, 0x00,		/* +0x21 call morestack */
	0xeb, 0xd8,				/* +0x26 jmp +0 */
};

TEST(synthetic_no_site_inside_the_prologue)
{
	struct mw_go_site s;
	char why[WHY];

	CHECK(entry_site(fpro, sizeof(fpro), VA, MW_GO_ALL_REGS, &s, why, sizeof(why)) == 0);
	CHECK_EQ_U64(s.off, 0x16);
	CHECK_EQ_STR(s.insn, "nop");
	CHECK_EQ_U64(s.frame_set_up, 1);
}

/* 1.21+ shape with a jne back onto the push. */
static const uint8_t f121[] = {
	0x49, 0x3b, 0x66, 0x10,			/* +0x00 cmp */
	0x76, 0x10,				/* +0x04 jbe +0x16 */
	0x55,					/* +0x06 push %rbp */
	0x48, 0x89, 0xe5,			/* +0x07 mov %rsp,%rbp */
	0x48, 0x83, 0xec, 0x10,			/* +0x0a sub $0x10,%rsp */
	0x75, 0xf6,				/* +0x0e jne +0x06 */
	0x48, 0x83, 0xc4, 0x10,			/* +0x10 add $0x10,%rsp */
	0x5d,					/* +0x14 pop %rbp */
	0xc3,					/* +0x15 ret */
	0xe8, 0x00, 0x01, 0x00, 0x00,		/* +0x16 call morestack */
	0xeb, 0xe3,				/* +0x1b jmp +0 */
};

TEST(synthetic_push_site)
{
	struct mw_go_site s;
	char why[WHY];
	uint8_t ok[sizeof(f121)];

	CHECK(entry_site(f121, sizeof(f121), VA, MW_GO_ALL_REGS, &s, why, sizeof(why)) == -1);
	CHECK(strstr(why, "+0x6") && strstr(why, "jump target"));
	memcpy(ok, f121, sizeof(ok));
	ok[0x0e] = 0x66;
	ok[0x0f] = 0x90;	/* xchg %ax,%ax: a 2-byte nop */
	CHECK(entry_site(ok, sizeof(ok), VA, MW_GO_ALL_REGS, &s, why, sizeof(why)) == 0);
	CHECK_EQ_U64(s.off, 6);
	CHECK_EQ_STR(s.insn, "push rbp");
	CHECK_EQ_U64(s.frame_set_up, 0);
	CHECK_EQ_U64(s.args_spilled, 0);
}

/* Frames over StackBig: mov %rsp,%r12; sub $x,%r12; jb; cmp; jbe; push. */
static const uint8_t fbig[] = {
	0x49, 0x89, 0xe4,				/* +0x00 mov %rsp,%r12 */
	0x49, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00,	/* +0x03 sub $0x1000,%r12 */
	0x72, 0x1a,					/* +0x0a jb +0x26 */
	0x4d, 0x3b, 0x66, 0x10,				/* +0x0c cmp 0x10(%r14),%r12 */
	0x76, 0x14,					/* +0x10 jbe +0x26 */
	0x55,						/* +0x12 push %rbp */
	0x48, 0x89, 0xe5,				/* +0x13 mov %rsp,%rbp */
	0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00,	/* +0x16 sub $0x1000,%rsp */
	0x48, 0x81, 0xc4, 0x00, 0x10, 0x00, 0x00,	/* +0x1d add $0x1000,%rsp */
	0x5d,						/* +0x24 pop %rbp */
	0xc3,						/* +0x25 ret */
	0xe8, 0x00, 0x01, 0x00, 0x00,			/* +0x26 call morestack */
	0xeb, 0xd3,					/* +0x2b jmp +0 */
	0xcc, 0xcc, 0xcc,				/* padding */
};

TEST(synthetic_large_frame_check)
{
	struct mw_go_site s;
	char why[WHY];

	CHECK(entry_site(fbig, sizeof(fbig), VA, MW_GO_ALL_REGS, &s, why, sizeof(why)) == 0);
	CHECK_EQ_U64(s.off, 0x12);
	CHECK_EQ_STR(s.how, "emulated (push)");
}

/* No stack check, 1.19 style: sub/mov/lea, a spill of AX, a store, AX
 * reused, then a call. */
static const uint8_t fspill[] = {
	0x48, 0x83, 0xec, 0x28,					/* +0x00 sub $0x28,%rsp */
	0x48, 0x89, 0x6c, 0x24, 0x20,				/* +0x04 mov %rbp,0x20(%rsp) */
	0x48, 0x8d, 0x6c, 0x24, 0x20,				/* +0x09 lea 0x20(%rsp),%rbp */
	0x48, 0x89, 0x44, 0x24, 0x10,				/* +0x0e mov %rax,0x10(%rsp) */
	0x48, 0xc7, 0x44, 0x24, 0x18, 0x00, 0x00, 0x00, 0x00,	/* +0x13 movq $0,0x18(%rsp) */
	0x48, 0x8d, 0x44, 0x24, 0x08,				/* +0x1c lea 0x8(%rsp),%rax */
	0xe8, 0x00, 0x01, 0x00, 0x00,				/* +0x21 call */
	0x48, 0x8b, 0x6c, 0x24, 0x20,				/* +0x26 mov 0x20(%rsp),%rbp */
	0x48, 0x83, 0xc4, 0x28,					/* +0x2b add $0x28,%rsp */
	0xc3,							/* +0x2f ret */
};

TEST(synthetic_spill)
{
	struct mw_go_site s;
	char why[WHY];
	uint8_t bad[sizeof(fspill)];
	unsigned keep = MW_GO_REG(MW_GO_RAX) | MW_GO_REG(MW_GO_RBX);

	CHECK(entry_site(fspill, sizeof(fspill), VA, keep, &s, why, sizeof(why)) == -1);
	CHECK(mw_go_entry_site(fspill, sizeof(fspill), VA, keep, MW_GO_SPILL_OK, &s, why, sizeof(why)) == 0);
	CHECK_EQ_U64(s.off, 0x21);
	CHECK_EQ_STR(s.how, "emulated (call)");
	CHECK_EQ_U64(s.frame_set_up, 1);
	CHECK_EQ_U64(s.args_spilled, 1);
	CHECK_EQ_U64(s.arg_sp_off[0], 0x10);
	/* the store hits the slot: the pointer is gone before the site */
	memcpy(bad, fspill, sizeof(bad));
	bad[0x17] = 0x10;
	CHECK(mw_go_entry_site(bad, sizeof(bad), VA, keep, MW_GO_SPILL_OK, &s, why, sizeof(why)) == -1);
	/* only arguments 0 and 1 may move: keeping RCX, written nowhere, is fine;
	 * keeping RCX when it is the one overwritten is not */
	memcpy(bad, fspill, sizeof(bad));
	bad[0x1e] = 0x4c;	/* lea 0x8(%rsp),%rcx */
	CHECK(mw_go_entry_site(bad, sizeof(bad), VA, MW_GO_REG(MW_GO_RCX), MW_GO_SPILL_OK, &s, why,
				     sizeof(why)) == -1);
	CHECK(strstr(why, "rcx") != NULL);
}

TEST(synthetic_no_check_push_at_0)
{
	static const uint8_t f[] = { 0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3 };
	struct mw_go_site s;
	char why[WHY];

	CHECK(entry_site(f, sizeof(f), VA, MW_GO_ALL_REGS, &s, why, sizeof(why)) == 0);
	CHECK_EQ_U64(s.off, 0);
	CHECK_EQ_U64(s.frame_set_up, 0);
	/* the same, cut before the ret */
	CHECK(entry_site(f, sizeof(f) - 1, VA, MW_GO_ALL_REGS, &s, why, sizeof(why)) == -1);
}

/* A 1.21-style mapiternext in miniature: the wrapped test jumps to the end
 * block (cmpl $0,writeBarrier; je; write-barrier path; movups %xmm15,(%rax);
 * epilogue; ret). */
static const uint8_t fend[] = {
	0x49, 0x3b, 0x66, 0x10,				/* +0x00 cmp */
	0x76, 0x2f,					/* +0x04 jbe +0x35 */
	0x55,						/* +0x06 push %rbp */
	0x48, 0x89, 0xe5,				/* +0x07 mov %rsp,%rbp */
	0x48, 0x83, 0xec, 0x10,				/* +0x0a sub $0x10,%rsp */
	0x80, 0x78, 0x49, 0x00,				/* +0x0e cmpb $0,0x49(%rax): it.wrapped */
	0x75, 0x06,					/* +0x12 jne +0x1a */
	0x48, 0x83, 0xc4, 0x10,				/* +0x14 add $0x10,%rsp */
	0x5d,						/* +0x18 pop %rbp */
	0xc3,						/* +0x19 ret */
	0x83, 0x3d, 0x00, 0x00, 0x00, 0x00, 0x00,	/* +0x1a cmpl $0,writeBarrier(%rip) */
	0x74, 0x08,					/* +0x21 je +0x2b */
	0x48, 0x8b, 0x08,				/* +0x23 mov (%rax),%rcx */
	0xe8, 0x00, 0x01, 0x00, 0x00,			/* +0x26 call gcWriteBarrier */
	0x44, 0x0f, 0x11, 0x38,				/* +0x2b movups %xmm15,(%rax) */
	0x48, 0x83, 0xc4, 0x10,				/* +0x2f add $0x10,%rsp */
	0x5d,						/* +0x33 pop %rbp */
	0xc3,						/* +0x34 ret */
	0xe8, 0x00, 0x01, 0x00, 0x00,			/* +0x35 call morestack */
	0xeb, 0xc4,					/* +0x3a jmp +0 */
};

TEST(synthetic_end_block)
{
	struct mw_go_site s[2];
	size_t n;
	char why[WHY];
	uint8_t bad[sizeof(fend)];

	CHECK(mw_go_iterend_site(fend, sizeof(fend), VA, HITER_WRAPPED, s, why, sizeof(why)) == 0);
	CHECK_EQ_U64(s[0].off, 0x21);
	CHECK_EQ_STR(s[0].insn, "je 0x40102b");
	CHECK_EQ_STR(s[0].how, "emulated (jcc)");
	CHECK_EQ_U64(s[0].frame_set_up, 1);
	CHECK(mw_go_swiss_iterend_sites(fend, sizeof(fend), VA, s, 2, &n, why, sizeof(why)) == 0);
	CHECK_EQ_U64(n, 1);
	CHECK_EQ_U64(s[0].off, 0x21);
	/* reached from some other test than it.wrapped: not the classic end
	 * block (the Swiss finder does not look at the source) */
	memcpy(bad, fend, sizeof(bad));
	bad[0x10] = 0x48;
	CHECK(mw_go_iterend_site(bad, sizeof(bad), VA, HITER_WRAPPED, s, why, sizeof(why)) == -1);
	CHECK(mw_go_swiss_iterend_sites(bad, sizeof(bad), VA, s, 2, &n, why, sizeof(why)) == 0 && n == 1);
	/* rax written between the block's start and the jcc */
	memcpy(bad, fend, sizeof(bad));
	memcpy(bad + 0x1a, "\x48\x8b\x40\x08\x0f\x1f\x00", 7);	/* mov 8(%rax),%rax; nop */
	CHECK(mw_go_iterend_site(bad, sizeof(bad), VA, HITER_WRAPPED, s, why, sizeof(why)) == -1);
	/* rax written on the way from the jcc to the store */
	memcpy(bad, fend, sizeof(bad));
	bad[0x22] = 0x00;	/* je +0x23 */
	bad[0x25] = 0x00;	/* mov (%rax),%rax */
	memcpy(bad + 0x26, "\x0f\x1f\x44\x00\x00", 5);	/* instead of the call */
	CHECK(mw_go_iterend_site(bad, sizeof(bad), VA, HITER_WRAPPED, s, why, sizeof(why)) == -1);
	/* the block can also be entered by falling through */
	memcpy(bad, fend, sizeof(bad));
	bad[0x19] = 0x90;
	CHECK(mw_go_iterend_site(bad, sizeof(bad), VA, HITER_WRAPPED, s, why, sizeof(why)) == -1);
	/* a store through another register is not it.key = it.elem = nil */
	memcpy(bad, fend, sizeof(bad));
	bad[0x2e] = 0x39;	/* movups %xmm15,(%rcx) */
	CHECK(mw_go_iterend_site(bad, sizeof(bad), VA, HITER_WRAPPED, s, why, sizeof(why)) == -1);
}

TEST(insn_how)
{
	static const struct { const char *bytes; size_t n; const char *how; int emu; } cases[] = {
		{ "\x55", 1, "emulated (push)", 1 },
		{ "\x41\x55", 2, "emulated (push)", 1 },
		{ "\x48\x55", 2, "single-stepped", 0 },
		{ "\x74\x05", 2, "emulated (jcc)", 1 },
		{ "\x0f\x86\x10\x00\x00\x00", 6, "emulated (jcc)", 1 },
		{ "\xe8\x00\x00\x00\x00", 5, "emulated (call)", 1 },
		{ "\xe9\x00\x00\x00\x00", 5, "emulated (jmp)", 1 },
		{ "\xeb\x00", 2, "emulated (jmp)", 1 },
		{ "\x90", 1, "emulated (nop)", 1 },
		{ "\x66\x90", 2, "emulated (nop)", 1 },
		{ "\x0f\x1f\x00", 3, "emulated (nop)", 1 },
		{ "\x0f\x1f\x40\x00", 4, "emulated (nop)", 1 },
		{ "\x0f\x1f\x44\x00\x00", 5, "optimized (nop: trampoline)", 0 },
		{ "\x66\x0f\x1f\x44\x00\x00", 6, "emulated (nop)", 1 },
		{ "\x0f\x1f\x80\x00\x00\x00\x00", 7, "emulated (nop)", 1 },
		{ "\x0f\x1f\x84\x00\x00\x00\x00\x00", 8, "emulated (nop)", 1 },
		{ "\x66\x0f\x1f\x84\x00\x00\x00\x00\x00", 9, "emulated (nop)", 1 },
		{ "\x66\x2e\x0f\x1f\x84\x00\x00\x00\x00\x00", 10, "optimized (nop: trampoline)", 0 },
		{ "\xf3\x90", 2, "single-stepped", 0 },
		{ "\x41\x90", 2, "rejected (xchg read as nop)", 0 },
		{ "\x66\x74\x05", 3, "rejected (0x66 branch)", 0 },
		{ "\x49\x3b\x66\x10", 4, "single-stepped", 0 },
		{ "\x48\x89\x44\x24\x70", 5, "single-stepped", 0 },
		{ "\xc3", 1, "single-stepped", 0 },
		{ "\xff\xd0", 2, "single-stepped", 0 },
		{ "\x0f\x86", 2, "undecodable", 0 },
		{ "", 0, "undecodable", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int emu = -1;
		const char *how = mw_go_insn_how((const uint8_t *)cases[i].bytes, cases[i].n, &emu);
		if (strcmp(how, cases[i].how) || emu != cases[i].emu)
			CHECK_FAIL("case %zu: %s (%d), want %s", i, how, emu, cases[i].how);
	}
	CHECK_EQ_STR(mw_go_insn_how((const uint8_t *)"\x55", 1, NULL), "emulated (push)");
}

CHECK_MAIN()
