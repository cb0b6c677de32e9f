/* probe_elf.h — finding where a runtime's probe points live.
 *
 * Reads ELF symbol tables (.symtab, else .dynsym) and program headers to turn
 * each symbol into a file offset, decodes its first bytes for placement,
 * lists the libraries a running process maps (/proc/PID/maps) or an
 * executable will load (DT_NEEDED with RPATH/RUNPATH/$ORIGIN,
 * LD_LIBRARY_PATH and the standard directories), and picks the module that
 * holds the runtime's symbols. Go binaries go through probe_go.c (build
 * info, .symtab or .gopclntab, sites found by decoding the code).
 */
#ifndef MW_PROBE_ELF_H
#define MW_PROBE_ELF_H

#include <limits.h>
#include <stdint.h>
#include "layout.h"
#include "placement.h"

struct mw_site {
	int point;		/* enum mw_probe */
	const char *sym;	/* symbol name (from the runtime table) */
	uint64_t vaddr;		/* the function's link-time address */
	uint64_t file_off;	/* where the function starts in the file */
	uint64_t probe_off;	/* where the probe goes (file offset) */
	uint64_t cookie;	/* bpf_cookie: MW_COOKIE_* */
	struct mw_placement place;	/* the probed instruction and the kernel's path for it */
};

#define MW_MAX_SITES (MW_P_N * MW_P_SYMS)

struct mw_target {
	char module[PATH_MAX];	/* the ELF holding the symbols: what probes attach to */
	int is_exe;		/* 1: the executable itself (static, or Go), 0: a shared library */
	const struct mw_runtime *rt;	/* the row that matched */
	struct mw_layout layout;	/* its layout, with what this binary's DWARF says (Go) */
	char layout_src[32];		/* "table", or "DWARF" when runtime.g was read from it */
	char version[48];	/* Go: the toolchain ("go1.21.13"); libgomap: "" */
	char gomain[128];	/* Go: the main package's path ("cmd/compile", "example.com/svc") */
	char symsrc[16];	/* where functions were found: ".symtab", ".dynsym", ".gopclntab" */
	int pie;		/* position-independent executable */
	struct mw_site site[MW_MAX_SITES];
	int nsites;
	/* Diagnostics when nothing matched. */
	char looked[2048];	/* the files checked, ", "-separated */
	char missing[512];	/* symbols missing from the best candidate */
	char why[512];		/* a Go binary that cannot be watched: why, in one line */
};

/* Look up every probe symbol of rt in one ELF file (libgomap's rule: the
 * placement classifier on each function's first bytes). Fills t->site;
 * returns the number of probe points with at least one symbol, or -errno
 * when the file is no readable ELF. want_reads: include MW_P_READ. */
int mw_elf_sites(const char *path, const struct mw_runtime *rt, int want_reads, struct mw_target *t);

/* Go binaries (probe_go.c): 1 and t filled when path is a Go binary whose
 * version a row serves and whose sites were all found; 0 when path is not
 * a Go binary; -1 with t->why set when it is one that cannot be watched. */
int mw_go_target(const char *path, int want_reads, struct mw_target *t);

/* Appends to t->missing the first symbol of every probe point rt requires
 * that is not in FOUND (a bit per enum mw_probe). */
void mw_target_missing(struct mw_target *t, const struct mw_runtime *rt, unsigned found);

/* Find the module holding a runtime for a process: a Go executable, else
 * libgomap in the exe, then the libraries it maps (pid > 0 and running) or
 * will load (pid <= 0, or the process has not exec'd yet: resolve
 * DT_NEEDED). 0 on success; -ENOENT with t->looked / t->missing filled when
 * no module has the symbols; -ENOTSUP with t->why for an unsupported Go. */
int mw_find_target(const char *exe, int pid, int use_maps, int want_reads, struct mw_target *t);
/* use_maps: only the file exe itself, no libraries (the host-wide scan). */
#define MW_FIND_FILE_ONLY (-1)

/* Resolve DT_NEEDED of an ELF into paths. Returns the count (<= max). */
int mw_elf_needed(const char *exe, char (*out)[PATH_MAX], int max);

#endif
