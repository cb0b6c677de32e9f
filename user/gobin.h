/* gobin.h — what an unmodified Go executable says about itself.
 *
 * Go binaries carry two tables that survive `-ldflags='-s -w'` because the
 * runtime needs them: .go.buildinfo (the toolchain version and the build
 * settings that `go version -m` prints) and .gopclntab (every function's
 * name and entry, and the pc → file/line tables the runtime's tracebacks
 * use). Reading them lets mapwatch find runtime.mapassign_fast64 & co. and
 * symbolize Go stacks in stripped binaries, where .symtab and DWARF are gone
 * and libdw (stacks.h) has nothing to say.
 *
 * Supported: ELF, little-endian; pclntab formats of Go 1.16/1.17
 * (magic 0xfffffffa), 1.18/1.19 (0xfffffff0) and 1.20+ (0xfffffff1); the
 * buildinfo header of Go 1.18+ (inline strings) and the older pointer one.
 * PIE and externally linked (cgo) binaries too, including those whose
 * linker folded .gopclntab into .data.rel.ro (found by its magic) or left
 * pointers to dynamic relocations (read from the RELA tables).
 *
 * Addresses are link-time virtual addresses, as in the ELF; a live PIE's
 * addresses must first have the load bias taken off. Files are untrusted:
 * every offset is bounds-checked and a corrupt file fails mw_gobin_open()
 * with a reason, never a crash. A struct mw_gobin is read-only after open,
 * so lookups may run concurrently.
 */
#ifndef MW_GOBIN_H
#define MW_GOBIN_H

#include <stddef.h>
#include <stdint.h>

struct mw_gobin;

/* Reads path's buildinfo and pclntab and indexes its functions. NULL with a
 * one-line reason in err when the file is not a readable ELF, not a Go
 * binary ("no .go.buildinfo") or its tables are corrupt. */
struct mw_gobin *mw_gobin_open(const char *path, char *err, size_t errlen);
void mw_gobin_close(struct mw_gobin *g);

/* The version as the binary records it: "go1.21.13", or with the
 * experiments it was built with, "go1.24.4 X:noswissmap". */
const char *mw_gobin_version(const struct mw_gobin *g);
/* 1, 21 from the version; -EINVAL when it does not read as goM.N. */
int mw_gobin_goversion(const struct mw_gobin *g, int *major, int *minor);
/* A `build KEY=VALUE` setting ("GOEXPERIMENT", "-buildmode", "CGO_ENABLED",
 * "-ldflags", "vcs.revision"...), unquoted; NULL if absent. */
const char *mw_gobin_setting(const struct mw_gobin *g, const char *key);
/* The main package's import path ("path" line), or NULL. */
const char *mw_gobin_path(const struct mw_gobin *g);

int mw_gobin_stripped(const struct mw_gobin *g);	/* no .symtab */
int mw_gobin_pie(const struct mw_gobin *g);		/* ET_DYN */

/* A function by its full name ("runtime.mapassign_fast64"): from .symtab
 * when present, else from .gopclntab. entry and end (either may be NULL)
 * are link-time vaddrs; end is entry + the symbol's size, or, from the
 * pclntab, the next function's entry (alignment padding included).
 * 0 or -ENOENT. */
int mw_gobin_func(const struct mw_gobin *g, const char *name, uint64_t *entry, uint64_t *end);

/* Link-time vaddr → file offset through the PT_LOAD that holds it in the
 * file. 0 or -ENOENT. */
int mw_gobin_vaddr_to_off(const struct mw_gobin *g, uint64_t vaddr, uint64_t *off);

/* Reads up to len bytes at a link-time vaddr, stopping at the end of its
 * segment's file data. Returns the bytes read (0: not mapped from the file). */
size_t mw_gobin_read(const struct mw_gobin *g, uint64_t vaddr, void *buf, size_t len);

/* Symbolizes a link-time pc with the pclntab: the physical function's name
 * and entry, and the file and line the pc/file and pc/line tables give (for
 * code inlined from elsewhere, the inlined source's file and line). For a
 * return address pass pc-1. A pc outside every Go function but inside a
 * .symtab function (C code of a cgo binary) gets that symbol, file NULL,
 * line 0. Any out pointer may be NULL; strings live until close.
 * 0 or -ENOENT. */
int mw_gobin_pc(const struct mw_gobin *g, uint64_t pc, const char **func, uint64_t *entry,
		const char **file, int *line);

/* One logical frame at a pc: inlined calls expanded. */
struct mw_gobin_frame {
	const char *func;	/* the function whose source this is */
	const char *file;	/* NULL if unknown */
	int line;		/* 0 if unknown */
	int inlined;		/* 1: inlined into the next frame; 0: the physical function */
};

/* Expands the inline tree (FUNCDATA_InlTree) at pc: innermost frame first,
 * the physical function last, each with the file:line of the pc (innermost)
 * or of the call site in its caller. Writes at most max frames and returns
 * how many there are (more than max: truncated, the innermost kept), or
 * -ENOENT. Without an inline tree (no inlining there, Go < 1.19, or the
 * tree's base could not be found) it is the one frame of mw_gobin_pc. */
int mw_gobin_pc_inline(const struct mw_gobin *g, uint64_t pc, struct mw_gobin_frame *out, int max);

/* Functions in the pclntab. */
size_t mw_gobin_nfuncs(const struct mw_gobin *g);
/* The i-th pclntab function in address order (i < mw_gobin_nfuncs):
 * name, entry, end (the next entry). Any out pointer may be NULL.
 * 0 or -ENOENT. */
int mw_gobin_func_at(const struct mw_gobin *g, size_t i, const char **name, uint64_t *entry,
		     uint64_t *end);

#endif
