/* test_placement.c — probe placement from first bytes, and the layout table. */
#include <stddef.h>
#include "check.h"
#include "placement.h"
#include <string.h>
#include "layout.h"
#include "gomap.h"

/* The 5-byte nop is never probed: once hit it becomes a call to a trampoline
 * that forked children lack. The probe goes on the instruction after it. */
TEST(nop5_is_skipped)
{
	const uint8_t c[] = { 0x0f, 0x1f, 0x44, 0x00, 0x08, 0x55, 0x48, 0x89, 0xe5 };
	struct mw_placement p;
	mw_place(c, sizeof(c), &p);
	CHECK_EQ_U64(p.skip, 5);
	CHECK_EQ_U64(p.nop5, 1);
	CHECK_EQ_U64(p.kind, MW_PLACE_EMULATED);
	CHECK_EQ_STR(p.insn, "push %rbp");
	CHECK_EQ_STR(p.how, "emulated: push %rbp, after the 5-byte nop");
}

TEST(nop5_then_other_is_skipped_too)
{
	const uint8_t c[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00 };
	struct mw_placement p;
	mw_place(c, sizeof(c), &p);
	CHECK_EQ_U64(p.skip, 5);
	CHECK_EQ_U64(p.kind, MW_PLACE_SSTEP);
	CHECK_EQ_STR(p.insn, "48 8d 05 00 00 00 00");
	CHECK(strstr(p.how, "single-stepped") != NULL);
	CHECK(strstr(p.how, "after the 5-byte nop") != NULL);
}

TEST(endbr64_then_nop5)
{
	const uint8_t c[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x55 };
	struct mw_placement p;
	mw_place(c, sizeof(c), &p);
	CHECK_EQ_U64(p.skip, 9);
	CHECK_EQ_U64(p.endbr, 1);
	CHECK_EQ_U64(p.nop5, 1);
	CHECK_EQ_U64(p.kind, MW_PLACE_EMULATED);
	CHECK_EQ_STR(p.how, "emulated: push %rbp, after endbr64 and the 5-byte nop");
}

TEST(endbr64_is_skipped)
{
	const uint8_t c[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5 };
	struct mw_placement p;
	mw_place(c, sizeof(c), &p);
	CHECK_EQ_U64(p.skip, 4);
	CHECK_EQ_U64(p.kind, MW_PLACE_EMULATED);
	CHECK_EQ_STR(p.insn, "push %rbp");
	CHECK_EQ_STR(p.how, "emulated: push %rbp, after endbr64");
}

TEST(push_rbp_is_emulated)
{
	const uint8_t c[] = { 0x55 };
	struct mw_placement p;
	mw_place(c, 1, &p);
	CHECK_EQ_U64(p.kind, MW_PLACE_EMULATED);
	CHECK_EQ_U64(p.skip, 0);
}

TEST(other_may_single_step)
{
	const uint8_t c[] = { 0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00 };
	struct mw_placement p;
	mw_place(c, sizeof(c), &p);
	CHECK_EQ_U64(p.kind, MW_PLACE_SSTEP);
	CHECK_EQ_STR(p.insn, "48 8d 05 00 00 00 00");
	CHECK(strstr(p.how, "single-stepped") != NULL);
}

TEST(short_and_empty_input)
{
	struct mw_placement p;
	const uint8_t c[] = { 0x0f, 0x1f, 0x44 };	/* a truncated nop5 */
	mw_place(c, sizeof(c), &p);
	CHECK_EQ_U64(p.kind, MW_PLACE_SSTEP);
	CHECK_EQ_U64(p.skip, 0);
	const uint8_t n5[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };	/* the nop and nothing after */
	mw_place(n5, sizeof(n5), &p);
	CHECK_EQ_U64(p.skip, 5);
	CHECK_EQ_U64(p.kind, MW_PLACE_SSTEP);
	CHECK_EQ_STR(p.insn, "(no code)");
	mw_place(NULL, 0, &p);
	CHECK_EQ_U64(p.kind, MW_PLACE_SSTEP);
	CHECK_EQ_STR(p.insn, "(no code)");
	const uint8_t e[] = { 0xf3, 0x0f, 0x1e, 0xfa };	/* endbr64 and nothing after */
	mw_place(e, sizeof(e), &p);
	CHECK_EQ_U64(p.skip, 4);
	CHECK_EQ_U64(p.kind, MW_PLACE_SSTEP);
}

/* The libgomap entry must agree with target/gomap.h. */
TEST(libgomap_layout_matches_gomap_h)
{
	const struct mw_runtime *rt = mw_runtime_find("libgomap");
	CHECK(rt != NULL);
	const struct mw_layout *l = &rt->layout;
	CHECK_EQ_U64(mw_layout_check(l), 0);
	CHECK_EQ_U64(l->abi, MW_ABI_SYSV);
	CHECK_EQ_U64(l->h_count, offsetof(hmap, count));
	CHECK_EQ_U64(l->h_flags, offsetof(hmap, flags));
	CHECK_EQ_U64(l->h_B, offsetof(hmap, B));
	CHECK_EQ_U64(l->h_buckets, offsetof(hmap, buckets));
	CHECK_EQ_U64(l->h_oldbuckets, offsetof(hmap, oldbuckets));
	CHECK_EQ_U64(l->h_nevacuate, offsetof(hmap, nevacuate));
	CHECK_EQ_U64(l->it_h, offsetof(hiter, h));
	CHECK_EQ_U64(l->it_buckets, offsetof(hiter, buckets));
	CHECK_EQ_U64(l->it_bptr, offsetof(hiter, bptr));
	CHECK_EQ_U64(l->it_B, offsetof(hiter, B));
	CHECK_EQ_U64(l->it_i, offsetof(hiter, i));
	CHECK_EQ_U64(l->it_bucket, offsetof(hiter, bucket));
	CHECK_EQ_U64(l->t_bucketsize, GOMAP_MAPTYPE_BUCKETSIZE_OFFSET);
	CHECK_EQ_U64(l->t_bucketsize, offsetof(maptype, bucketsize));
	CHECK_EQ_U64(l->flag_writing, GOMAP_HASHWRITING);
	CHECK_EQ_U64(l->flag_samesize, GOMAP_SAMESIZEGROW);
	/* SysV: mapiterinit(t, h, it), mapiterdone(it), evacuate(t, h, oldbucket) */
	CHECK_EQ_U64(l->arg_h, 1);
	CHECK_EQ_U64(l->arg_init_it, 2);
	CHECK_EQ_U64(l->arg_done_it, 0);
	CHECK_EQ_U64(l->arg_evac_bucket, 2);
}

TEST(probe_table)
{
	const struct mw_runtime *rt = mw_runtime_find("libgomap");
	CHECK_EQ_STR(rt->sym[MW_P_ITERINIT][0], "mapiterinit");
	CHECK_EQ_STR(rt->sym[MW_P_EVACUATE][0], "evacuate");
	CHECK_EQ_STR(mw_probe_prog(MW_P_ASSIGN), "mw_assign");
	CHECK(mw_probe_prog(MW_P_N) == NULL);
	CHECK_EQ_STR(mw_probe_name(MW_P_N), "?");
	CHECK(mw_runtime_find("nope") == NULL);
	CHECK(mw_runtime_find(NULL) == NULL);
	CHECK(mw_runtime_at(mw_runtime_count()) == NULL);
	for (int p = 0; p < MW_P_N; p++) {
		CHECK(mw_probe_prog(p) != NULL);
		if (rt->required & (1u << p))
			CHECK(rt->sym[p][0] != NULL);
	}
}

/* The Go rows: which version each serves, their layouts, their symbols. */
TEST(go_rows)
{
	CHECK_EQ_STR(mw_runtime_for_go(19, 0)->name, "go1.19");
	CHECK(mw_runtime_for_go(20, 0) == NULL);	/* not measured: refused, not guessed */
	CHECK_EQ_STR(mw_runtime_for_go(21, 0)->name, "go1.21");
	CHECK_EQ_STR(mw_runtime_for_go(22, 0)->name, "go1.21");
	CHECK_EQ_STR(mw_runtime_for_go(23, 0)->name, "go1.23");
	CHECK(mw_runtime_for_go(24, 0) == NULL);	/* Swiss tables */
	CHECK_EQ_STR(mw_runtime_for_go(24, 1)->name, "go1.24-noswissmap");
	CHECK(mw_runtime_for_go(25, 1) == NULL);
	CHECK_EQ_U64(mw_runtime_for_go(21, 0)->layout.g_goid, 152);
	CHECK_EQ_U64(mw_runtime_for_go(23, 0)->layout.g_goid, 160);
	CHECK_EQ_U64(mw_runtime_for_go(23, 0)->layout.g_status, 152);
	for (size_t i = 0; i < mw_runtime_count(); i++) {
		const struct mw_runtime *rt = mw_runtime_at(i);
		CHECK_EQ_U64(mw_layout_check(&rt->layout), 0);
		if (!rt->go_min)
			continue;
		CHECK_EQ_U64(rt->layout.abi, MW_ABI_GOREG);
		CHECK_EQ_U64(rt->layout.fatal_iter_write, strlen("concurrent map iteration and map write"));
		CHECK_EQ_U64(rt->layout.fatal_writes, strlen("concurrent map writes"));
		CHECK_EQ_U64(rt->layout.fatal_read, strlen("concurrent map read and map write"));
		CHECK_EQ_U64(rt->layout.fatal_clone, strlen("concurrent map clone and map write"));
		CHECK_EQ_STR(rt->sym[MW_P_ASSIGN][3], "runtime.mapassign_fast64");
		CHECK_EQ_U64(rt->site_rule[MW_P_ITERDONE], MW_SITE_GO_ITEREND);
	}
	CHECK(strstr(mw_runtime_go_supported(), "1.21-1.22") != NULL);
}

TEST(layout_check_rejects_nonsense)
{
	struct mw_layout l = mw_runtime_find("libgomap")->layout;
	l.h_buckets = 44;
	CHECK(mw_layout_check(&l) != 0);
	l = mw_runtime_find("libgomap")->layout;
	l.flag_writing = 6;
	CHECK(mw_layout_check(&l) != 0);
	l = mw_runtime_find("libgomap")->layout;
	l.max_B = 64;
	CHECK(mw_layout_check(&l) != 0);
	l = mw_runtime_find("libgomap")->layout;
	l.arg_h = 6;
	CHECK(mw_layout_check(&l) != 0);
}

CHECK_MAIN()
