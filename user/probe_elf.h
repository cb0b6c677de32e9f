/* probe_elf.h — finding where a runtime's probe points live.
 *
 * Reads ELF symbol tables (.symtab, else .dynsym) and program headers to turn
 * each symbol into a file offset, decodes its first bytes for placement,
 * lists the libraries a running process maps (/proc/PID/maps) or an
 * executable will load (DT_NEEDED with RPATH/RUNPATH/$ORIGIN,
 * LD_LIBRARY_PATH and the standard directories), and picks the module that
 * holds the runtime's symbols.
 */
#ifndef MW_PROBE_ELF_H
#define MW_PROBE_ELF_H

#include <limits.h>
#include <stdint.h>
#include "layout.h"
#include "placement.h"

struct mw_site {
	const char *sym;	/* symbol name (from the runtime table) */
	uint64_t vaddr;		/* st_value */
	uint64_t file_off;	/* where the symbol starts in the file */
	uint64_t probe_off;	/* where the probe goes: file_off + placement.skip */
	struct mw_placement place;
};

struct mw_target {
	char module[PATH_MAX];	/* the ELF holding the symbols: what probes attach to */
	int is_exe;		/* 1: the executable itself (static), 0: a shared library */
	struct mw_site site[MW_P_N];
	/* Diagnostics when nothing matched. */
	char looked[2048];	/* the files checked, ", "-separated */
	char missing[512];	/* symbols missing from the best candidate */
};

/* Look up every probe symbol of rt in one ELF file. Returns the number
 * found (all found = MW_P_N), or -errno when the file is no readable ELF. */
int mw_elf_sites(const char *path, const struct mw_runtime *rt, struct mw_site site[MW_P_N]);

/* Find the module holding rt's symbols for a process: exe first, then the
 * libraries it maps (pid > 0 and running) or will load (pid <= 0, or the
 * process has not exec'd yet: resolve DT_NEEDED). 0 on success, -ENOENT
 * with t->looked / t->missing filled when no module has them all. */
int mw_find_target(const char *exe, int pid, int use_maps, const struct mw_runtime *rt,
		   struct mw_target *t);

/* Resolve DT_NEEDED of an ELF into paths. Returns the count (<= max). */
int mw_elf_needed(const char *exe, char (*out)[PATH_MAX], int max);

#endif
