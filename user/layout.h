/* layout.h — the one table that knows a map runtime: struct layouts,
 * argument registers, goroutine fields, probe symbols and how each probe's
 * site is found, and which versions a row serves.
 *
 * Rows: libgomap (the C port of Go's classic map, target/; SysV), and real
 * Go binaries with the classic map, Go 1.19 and 1.21–1.23 (ABIInternal).
 * Their hmap/hiter/maptype layouts are one and the same (DWARF of all four,
 * go-versions.md §4); what differs is the offset of goid and atomicstatus in
 * runtime.g (1.23 inserted a field) and the prologue the site finder sees.
 * A probe point may need several symbols (mapassign and its fast variants);
 * a binary links only the variants it uses. No other file in bpf/ or user/
 * may hard-code an offset, a register or a symbol name.
 * Pure: unit-tested without root.
 */
#ifndef MW_LAYOUT_H
#define MW_LAYOUT_H

#include <stddef.h>
#include "mapwatch.h"

/* The probe points, in the order they are attached. */
enum mw_probe {
	MW_P_ITERINIT = 0,	/* iteration start: (t, h, it) */
	MW_P_ITERDONE,		/* iteration end: (it) — libgomap's mapiterdone, Go's end block in mapiternext */
	MW_P_ASSIGN,		/* write: (t, h, key) */
	MW_P_DELETE,		/* write: (t, h, key) */
	MW_P_CLEAR,		/* write: (t, h) */
	MW_P_GROW,		/* grow start: (t, h) */
	MW_P_EVACUATE,		/* grow step: (t, h, oldbucket) */
	MW_P_FATAL,		/* the runtime's own race check failed: (h, kind) or Go's fatal(msg) */
	MW_P_READ,		/* a lookup: (t, h, key) — only with --reads */
	MW_P_CLONE,		/* Go 1.21+ maps.Clone: runtime.mapclone2(t, src) */
	MW_P_FREE,		/* libgomap's mapfree(t, h) (Go frees maps by GC: no event) */
	MW_P_N
};

#define MW_RT_FRAMES 24
#define MW_P_SYMS 10	/* symbols per probe point */

/* How a probe's site is found in its function. */
enum mw_site_rule {
	MW_SITE_C = 0,		/* placement.c on the first bytes (libgomap) */
	MW_SITE_GO_ENTRY,	/* after Go's stack check: the push, or (1.19) the first emulated instruction */
	MW_SITE_GO_ITEREND,	/* the end-of-iteration block of mapiternext */
};

struct mw_runtime {
	const char *name;		/* "libgomap", "go1.21" */
	const char *desc;		/* one line for -v and the man page */
	int go_min, go_max;		/* Go 1.x minor versions served; 0: not Go */
	int classic_opt_in;		/* served only when built with GOEXPERIMENT=noswissmap */
	struct mw_layout layout;	/* written into BPF rodata */
	const char *sym[MW_P_N][MW_P_SYMS];	/* symbols of each probe point (NULL-terminated) */
	unsigned required;		/* probe points that must have a symbol (bit per enum mw_probe) */
	unsigned char site_rule[MW_P_N];	/* enum mw_site_rule */
	const char *lib_hint;		/* shared-library name stem ("libgomap"), or NULL */
	/* The runtime's own functions as they appear on stacks: a finding is
	 * keyed by the first frame that is none of these (the caller's code).
	 * An entry ending in '*' is a prefix. */
	const char *frames[MW_RT_FRAMES];
	/* Go: names of runtime.g's fields in DWARF, read when present (the
	 * table's offsets are the fallback for stripped binaries). */
	const char *dwarf_g;		/* "runtime.g", or NULL */
};

/* The table, and lookups into it. */
size_t mw_runtime_count(void);
const struct mw_runtime *mw_runtime_at(size_t i);
const struct mw_runtime *mw_runtime_find(const char *name);
/* The row of the C port (libgomap): the one that is not Go. */
const struct mw_runtime *mw_runtime_c(void);
/* The row a recorded trace is read with (its header names no runtime):
 * the runtime whose own frames findings skip. */
const struct mw_runtime *mw_runtime_of_trace(void);
/* Is a Go binary whose main package is gomain one of the Go toolchain's
 * own programs (go, compile, link, …: "cmd/…")? */
int mw_go_toolchain_main(const char *gomain);
/* The Go row serving Go 1.minor (noswiss: built with GOEXPERIMENT=noswissmap),
 * or NULL (unsupported). */
const struct mw_runtime *mw_runtime_for_go(int minor, int noswiss);
/* "1.19, 1.21–1.23": the Go versions served, for messages. */
const char *mw_runtime_go_supported(void);
/* The BPF program each probe point runs (names in bpf/mapwatch.bpf.c). */
const char *mw_probe_prog(enum mw_probe p);
/* Short name of a probe point: "iterinit", "assign", … */
const char *mw_probe_name(enum mw_probe p);
/* The map-runtime function a probe point stands for, as Go's runtime
 * names it without its package: "mapassign", "hashGrow", … ("?" if none). */
const char *mw_probe_func(enum mw_probe p);
/* 0 when the layout is self-consistent (offsets inside the structs,
 * argument positions < 6, flag bits single bits, max_B sane). */
int mw_layout_check(const struct mw_layout *l);

#endif
