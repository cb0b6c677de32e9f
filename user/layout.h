/* layout.h — the one table that knows a map runtime: struct layouts,
 * argument registers and probe symbol names.
 *
 * Today there is one runtime, libgomap (the C port of Go's classic map,
 * target/). Real Go binaries (Go 1.19–1.23 classic maps, ABIInternal) are
 * the next entry: same hmap/hiter offsets, other registers and symbols. No
 * other file in bpf/ or user/ may hard-code an offset or a symbol name.
 * Pure: unit-tested without root.
 */
#ifndef MW_LAYOUT_H
#define MW_LAYOUT_H

#include <stddef.h>
#include "mapwatch.h"

/* The probe points, in the order they are attached. */
enum mw_probe {
	MW_P_ITERINIT = 0,	/* iteration start: (t, h, it) */
	MW_P_ITERDONE,		/* iteration end: (it) */
	MW_P_ASSIGN,		/* write: (t, h, key) */
	MW_P_DELETE,		/* write: (t, h, key) */
	MW_P_CLEAR,		/* write: (t, h) */
	MW_P_GROW,		/* grow start: (t, h) */
	MW_P_EVACUATE,		/* grow step: (t, h, oldbucket) */
	MW_P_FATAL,		/* the runtime's own race check failed: (h, kind) */
	MW_P_N
};

#define MW_RT_FRAMES 24

struct mw_runtime {
	const char *name;		/* "libgomap" */
	const char *desc;		/* one line for -v and the man page */
	struct mw_layout layout;	/* written into BPF rodata */
	const char *sym[MW_P_N];	/* symbol of each probe point */
	const char *lib_hint;		/* shared-library name stem ("libgomap"), or NULL */
	/* The runtime's own functions as they appear on stacks: a finding is
	 * keyed by the first frame that is none of these (the caller's code). */
	const char *frames[MW_RT_FRAMES];
};

/* The table, and lookups into it. */
size_t mw_runtime_count(void);
const struct mw_runtime *mw_runtime_at(size_t i);
const struct mw_runtime *mw_runtime_find(const char *name);
/* The BPF program each probe point runs (names in bpf/mapwatch.bpf.c). */
const char *mw_probe_prog(enum mw_probe p);
/* Short name of a probe point: "iterinit", "assign", … */
const char *mw_probe_name(enum mw_probe p);
/* 0 when the layout is self-consistent (offsets inside the structs,
 * argument positions < 6, flag bits single bits, max_B sane). */
int mw_layout_check(const struct mw_layout *l);

#endif
