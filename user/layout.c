/* layout.c — the runtime table (see layout.h). The libgomap entry mirrors
 * target/gomap.h, which keeps Go's amd64 offsets for the first 48 bytes of
 * hmap and 96 of hiter (gomap-spec.md §2.2, §2.4); its maptype is its own
 * (bucketsize at GOMAP_MAPTYPE_BUCKETSIZE_OFFSET). SysV registers. */
#include <string.h>
#include "layout.h"

static const struct mw_runtime runtimes[] = {
	{
		.name = "libgomap",
		.desc = "C port of Go's classic map (target/gomap.h), SysV x86-64",
		.layout = {
			.abi = MW_ABI_SYSV,
			.arg_h = 1, .arg_init_it = 2, .arg_done_it = 0, .arg_evac_bucket = 2,
			.h_count = 0, .h_flags = 8, .h_B = 9, .h_buckets = 16,
			.h_oldbuckets = 24, .h_nevacuate = 32,
			.it_h = 24, .it_buckets = 32, .it_bptr = 40, .it_B = 74, .it_i = 75,
			.it_bucket = 80,
			.t_bucketsize = 2,
			.flag_writing = 4, .flag_samesize = 8,
			.max_B = 40,
			.arg_fatal_h = 0, .arg_fatal_kind = 1, .arg_t = 0,
			.fatal_iter_write = 2,	/* GOMAP_RACE_ITER_WRITE */
		},
		.sym = {
			[MW_P_ITERINIT] = "mapiterinit",
			[MW_P_ITERDONE] = "mapiterdone",
			[MW_P_ASSIGN] = "mapassign",
			[MW_P_DELETE] = "mapdelete",
			[MW_P_CLEAR] = "mapclear",
			[MW_P_GROW] = "hashGrow",
			[MW_P_EVACUATE] = "evacuate",
			[MW_P_FATAL] = "mapfatal",
		},
		.lib_hint = "libgomap",
		.frames = {
			"makemap", "mapfree", "maplen", "mapaccess1", "mapaccess2", "mapaccessK",
			"mapassign", "mapdelete", "mapclear", "mapiterinit", "mapiternext",
			"mapiterdone", "hashGrow", "growWork", "evacuate", "newoverflow", "mapfatal",
			"makeBucketArray", NULL,
		},
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
	/* hmap and hiter fields must sit inside Go's 48 and 96 bytes. */
	const unsigned short h8[] = { l->h_count, l->h_buckets, l->h_oldbuckets, l->h_nevacuate };
	const unsigned short it8[] = { l->it_h, l->it_buckets, l->it_bptr, l->it_bucket };

	if (l->abi > MW_ABI_GOREG)
		return -1;
	if (l->arg_h > 5 || l->arg_init_it > 5 || l->arg_done_it > 5 || l->arg_evac_bucket > 5 ||
	    l->arg_fatal_h > 5 || l->arg_fatal_kind > 5 || l->arg_t > 5)
		return -1;
	for (size_t i = 0; i < sizeof(h8) / sizeof(h8[0]); i++)
		if (h8[i] + 8 > 48 || h8[i] % 8)
			return -1;
	for (size_t i = 0; i < sizeof(it8) / sizeof(it8[0]); i++)
		if (it8[i] + 8 > 96 || it8[i] % 8)
			return -1;
	if (l->h_flags >= 48 || l->h_B >= 48 || l->it_B >= 96 || l->it_i >= 96)
		return -1;
	if (!one_bit(l->flag_writing) || !one_bit(l->flag_samesize))
		return -1;
	if (l->max_B == 0 || l->max_B > 63)
		return -1;
	return 0;
}
