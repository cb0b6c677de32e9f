/* layout.c — the runtime table (see layout.h).
 *
 * libgomap mirrors target/gomap.h, which keeps Go's amd64 offsets for the
 * first 48 bytes of hmap and 96 of hiter (gomap-spec.md §2.2, §2.4); its
 * maptype is its own (bucketsize at GOMAP_MAPTYPE_BUCKETSIZE_OFFSET). SysV
 * registers.
 *
 * Go rows: ABIInternal registers (AX, BX, CX, DI, SI, R8; R14 = g), the
 * classic map's layout as DWARF shows it in 1.19, 1.21, 1.22 and 1.23
 * (go-versions.md §4.1: hmap 48 bytes, hiter 96, maptype.bucketsize at 82),
 * runtime.g's goid/atomicstatus (§4.2: 152/144, 160/152 from 1.23), and
 * runtime.fatal's messages told apart by their length (§2). */
#include <stdio.h>
#include <string.h>
#include "layout.h"

#define BIT(p) (1u << (p))

/* The classic map as Go lays it out (the same in every row below). */
#define GO_CLASSIC_LAYOUT(goid, status)						\
	.abi = MW_ABI_GOREG,							\
	.h_size = 48, .it_size = 96,						\
	.arg_reg = { MW_REG_AX, MW_REG_BX, MW_REG_CX, MW_REG_DI, MW_REG_SI, MW_REG_R8 },	\
	.arg_h = 1, .arg_init_it = 2, .arg_done_it = 0, .arg_evac_bucket = 2,	\
	.arg_t = 0, .arg_fatal_h = 0, .arg_fatal_kind = 1,			\
	.h_count = 0, .h_flags = 8, .h_B = 9, .h_buckets = 16,			\
	.h_oldbuckets = 24, .h_nevacuate = 32,					\
	.it_key = 0, .it_h = 24, .it_buckets = 32, .it_bptr = 40, .it_wrapped = 73,	\
	.it_B = 74, .it_i = 75, .it_bucket = 80,				\
	.t_bucketsize = 82,							\
	.flag_writing = 4, .flag_samesize = 8, .max_B = 40,			\
	.fatal_iter_write = 38,	/* "concurrent map iteration and map write" */	\
	.fatal_writes = 21,	/* "concurrent map writes" */			\
	.fatal_read = 33,	/* "concurrent map read and map write" */	\
	.fatal_clone = 34,	/* "concurrent map clone and map write" */	\
	.go = 1, .g_dead = 6,	/* _Gdead */					\
	.g_stack_lo = 0, .g_stack_hi = 8, .g_status = (status), .g_goid = (goid)

#define GO_CLASSIC_SYMS								\
	.sym = {								\
		[MW_P_ITERINIT] = { "runtime.mapiterinit" },			\
		[MW_P_ITERDONE] = { "runtime.mapiternext" },			\
		[MW_P_ASSIGN] = { "runtime.mapassign", "runtime.mapassign_fast32",	\
			"runtime.mapassign_fast32ptr", "runtime.mapassign_fast64",	\
			"runtime.mapassign_fast64ptr", "runtime.mapassign_faststr" },	\
		[MW_P_DELETE] = { "runtime.mapdelete", "runtime.mapdelete_fast32",	\
			"runtime.mapdelete_fast64", "runtime.mapdelete_faststr" },	\
		[MW_P_CLEAR] = { "runtime.mapclear" },				\
		[MW_P_GROW] = { "runtime.hashGrow" },				\
		[MW_P_EVACUATE] = { "runtime.evacuate", "runtime.evacuate_fast32",	\
			"runtime.evacuate_fast64", "runtime.evacuate_faststr" },	\
		[MW_P_FATAL] = { "runtime.fatal" },				\
		[MW_P_READ] = { "runtime.mapaccess1", "runtime.mapaccess2",	\
			"runtime.mapaccess1_fast32", "runtime.mapaccess2_fast32",	\
			"runtime.mapaccess1_fast64", "runtime.mapaccess2_fast64",	\
			"runtime.mapaccess1_faststr", "runtime.mapaccess2_faststr",	\
			"runtime.mapaccessK" },					\
		[MW_P_CLONE] = { "runtime.mapclone2" },			\
	},									\
	.required = BIT(MW_P_ITERINIT) | BIT(MW_P_ITERDONE) | BIT(MW_P_ASSIGN) | BIT(MW_P_GROW), \
	.site_rule = {								\
		[MW_P_ITERINIT] = MW_SITE_GO_ENTRY, [MW_P_ITERDONE] = MW_SITE_GO_ITEREND, \
		[MW_P_ASSIGN] = MW_SITE_GO_ENTRY, [MW_P_DELETE] = MW_SITE_GO_ENTRY,	\
		[MW_P_CLEAR] = MW_SITE_GO_ENTRY, [MW_P_GROW] = MW_SITE_GO_ENTRY,	\
		[MW_P_EVACUATE] = MW_SITE_GO_ENTRY, [MW_P_FATAL] = MW_SITE_GO_ENTRY,	\
		[MW_P_READ] = MW_SITE_GO_ENTRY, [MW_P_CLONE] = MW_SITE_GO_ENTRY,	\
	},									\
	.frames = {								\
		"runtime.map*", "runtime.hashGrow", "runtime.growWork*",	\
		"runtime.evacuate*", "runtime.fatal", "runtime.throw",		\
		"runtime.makeBucketArray", "runtime.newobject", "runtime.makemap*", \
		"runtime.advanceEvacuationMark", "runtime.(*hmap).*",		\
		"reflect.map*", "maps.clone", "maps.Clone*", "runtime.moveToBmap", \
		"runtime.fatalthrow", "runtime.systemstack", NULL,		\
	},									\
	.dwarf_g = "runtime.g"

static const struct mw_runtime runtimes[] = {
	{
		.name = "libgomap",
		.desc = "C port of Go's classic map (target/gomap.h), SysV x86-64",
		.layout = {
			.abi = MW_ABI_SYSV,
			.h_size = 48, .it_size = 96,
			.arg_reg = { MW_REG_DI, MW_REG_SI, MW_REG_DX, MW_REG_CX, MW_REG_R8, MW_REG_R9 },
			.arg_h = 1, .arg_init_it = 2, .arg_done_it = 0, .arg_evac_bucket = 2,
			.h_count = 0, .h_flags = 8, .h_B = 9, .h_buckets = 16,
			.h_oldbuckets = 24, .h_nevacuate = 32,
			.it_key = 0, .it_h = 24, .it_buckets = 32, .it_bptr = 40, .it_wrapped = 73,
			.it_B = 74, .it_i = 75, .it_bucket = 80,
			.t_bucketsize = 2,
			.flag_writing = 4, .flag_samesize = 8,
			.max_B = 40,
			.arg_fatal_h = 0, .arg_fatal_kind = 1, .arg_t = 0,
			.fatal_iter_write = 2,	/* GOMAP_RACE_ITER_WRITE */
		},
		.sym = {
			[MW_P_ITERINIT] = { "mapiterinit" },
			[MW_P_ITERDONE] = { "mapiterdone" },
			[MW_P_ASSIGN] = { "mapassign" },
			[MW_P_DELETE] = { "mapdelete" },
			[MW_P_CLEAR] = { "mapclear" },
			[MW_P_GROW] = { "hashGrow" },
			[MW_P_EVACUATE] = { "evacuate" },
			[MW_P_FATAL] = { "mapfatal" },
			[MW_P_READ] = { "mapaccess1", "mapaccess2" },
			[MW_P_FREE] = { "mapfree" },
		},
		.required = BIT(MW_P_N) - 1 - BIT(MW_P_READ) - BIT(MW_P_CLONE) - BIT(MW_P_FREE),
		.lib_hint = "libgomap",
		.frames = {
			"makemap", "mapfree", "maplen", "mapaccess1", "mapaccess2", "mapaccessK",
			"mapassign", "mapdelete", "mapclear", "mapiterinit", "mapiternext",
			"mapiterdone", "hashGrow", "growWork", "evacuate", "newoverflow", "mapfatal",
			"makeBucketArray", NULL,
		},
	},
	{
		.name = "go1.19",
		.desc = "Go 1.19 classic map (ABIInternal; no push in the prologue)",
		.go_min = 19, .go_max = 19,
		.layout = { GO_CLASSIC_LAYOUT(152, 144) },
		GO_CLASSIC_SYMS,
	},
	{
		.name = "go1.21",
		.desc = "Go 1.21-1.22 classic map (ABIInternal)",
		.go_min = 21, .go_max = 22,
		.layout = { GO_CLASSIC_LAYOUT(152, 144) },
		GO_CLASSIC_SYMS,
	},
	{
		.name = "go1.23",
		.desc = "Go 1.23 classic map (ABIInternal; runtime.g gained syscallbp)",
		.go_min = 23, .go_max = 23,
		.layout = { GO_CLASSIC_LAYOUT(160, 152) },
		GO_CLASSIC_SYMS,
	},
	{
		/* go-swiss.md §7: hmap grew to 56 bytes (extra at 48) and hiter to
		 * 104 (clearSeq at 96); every field read here keeps its offset. */
		.name = "go1.24-noswissmap",
		.desc = "Go 1.24 built with GOEXPERIMENT=noswissmap: the classic map (ABIInternal)",
		.go_min = 24, .go_max = 24, .classic_opt_in = 1,
		.layout = { GO_CLASSIC_LAYOUT(160, 152) },
		GO_CLASSIC_SYMS,
	},
};

static const char *const progs[MW_P_N] = {
	[MW_P_ITERINIT] = "mw_iterinit",
	[MW_P_ITERDONE] = "mw_iterdone",
	[MW_P_ASSIGN] = "mw_assign",
	[MW_P_DELETE] = "mw_delete",
	[MW_P_CLEAR] = "mw_clear",
	[MW_P_GROW] = "mw_grow",
	[MW_P_EVACUATE] = "mw_evacuate",
	[MW_P_FATAL] = "mw_fatal",
	[MW_P_READ] = "mw_read",
	[MW_P_CLONE] = "mw_clone",
	[MW_P_FREE] = "mw_free",
};

static const char *const names[MW_P_N] = {
	[MW_P_ITERINIT] = "iterinit",
	[MW_P_ITERDONE] = "iterdone",
	[MW_P_ASSIGN] = "assign",
	[MW_P_DELETE] = "delete",
	[MW_P_CLEAR] = "clear",
	[MW_P_GROW] = "grow",
	[MW_P_EVACUATE] = "evacuate",
	[MW_P_FATAL] = "fatal",
	[MW_P_READ] = "read",
	[MW_P_CLONE] = "clone",
	[MW_P_FREE] = "free",
};

size_t mw_runtime_count(void)
{
	return sizeof(runtimes) / sizeof(runtimes[0]);
}

const struct mw_runtime *mw_runtime_at(size_t i)
{
	return i < mw_runtime_count() ? &runtimes[i] : NULL;
}

const struct mw_runtime *mw_runtime_find(const char *name)
{
	for (size_t i = 0; name && i < mw_runtime_count(); i++)
		if (!strcmp(runtimes[i].name, name))
			return &runtimes[i];
	return NULL;
}

const struct mw_runtime *mw_runtime_for_go(int minor, int noswiss)
{
	for (size_t i = 0; i < mw_runtime_count(); i++) {
		const struct mw_runtime *r = &runtimes[i];
		if (r->go_min && minor >= r->go_min && minor <= r->go_max &&
		    (!r->classic_opt_in || noswiss))
			return r;
	}
	return NULL;
}

const char *mw_runtime_go_supported(void)
{
	static char buf[128];
	size_t n = 0;

	if (buf[0])
		return buf;
	for (size_t i = 0; i < mw_runtime_count() && n < sizeof(buf) - 16; i++) {
		const struct mw_runtime *r = &runtimes[i];
		if (!r->go_min)
			continue;
		if (r->go_min == r->go_max)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s1.%d%s", n ? ", " : "", r->go_min,
					      r->classic_opt_in ? " (GOEXPERIMENT=noswissmap)" : "");
		else
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s1.%d-1.%d", n ? ", " : "",
					      r->go_min, r->go_max);
	}
	return buf;
}

const char *mw_probe_prog(enum mw_probe p)
{
	return (unsigned)p < MW_P_N ? progs[p] : NULL;
}

const char *mw_probe_name(enum mw_probe p)
{
	return (unsigned)p < MW_P_N ? names[p] : "?";
}

static int one_bit(unsigned v)
{
	return v && !(v & (v - 1));
}

int mw_layout_check(const struct mw_layout *l)
{
	/* hmap and hiter fields must sit inside the headers BPF reads (h_size,
	 * it_size: at most 128 bytes). */
	const unsigned short h8[] = { l->h_count, l->h_buckets, l->h_oldbuckets, l->h_nevacuate };
	const unsigned short it8[] = { l->it_h, l->it_buckets, l->it_bptr, l->it_bucket };
	const unsigned hs = l->h_size, is = l->it_size;

	if (l->abi > MW_ABI_GOREG || !hs || hs > 128 || !is || is > 128)
		return -1;
	for (int i = 0; i < 6; i++)
		if (!l->arg_reg[i] || l->arg_reg[i] > MW_REG_MAX)
			return -1;
	if (l->arg_h > 5 || l->arg_init_it > 5 || l->arg_done_it > 5 || l->arg_evac_bucket > 5 ||
	    l->arg_fatal_h > 5 || l->arg_fatal_kind > 5 || l->arg_t > 5)
		return -1;
	for (size_t i = 0; i < sizeof(h8) / sizeof(h8[0]); i++)
		if (h8[i] + 8 > hs || h8[i] % 8)
			return -1;
	for (size_t i = 0; i < sizeof(it8) / sizeof(it8[0]); i++)
		if (it8[i] + 8 > is || it8[i] % 8)
			return -1;
	if (l->h_flags >= hs || l->h_B >= hs || l->it_B >= is || l->it_i >= is ||
	    l->it_wrapped >= is || l->it_key + 8 > is || l->it_key % 8)
		return -1;
	if (l->go && (l->g_goid % 8 || l->g_stack_hi % 8 || l->g_stack_lo % 8 || l->g_status % 4 ||
		      !l->g_goid || l->g_goid > 4096 || l->g_status > 4096))
		return -1;
	if (!one_bit(l->flag_writing) || !one_bit(l->flag_samesize))
		return -1;
	if (l->max_B == 0 || l->max_B > 63)
		return -1;
	return 0;
}
