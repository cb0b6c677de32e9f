/* stacks.h — turn user-space instruction addresses into symbolized frames.
 *
 * BPF captures a thread's user stack as up to MW_MAX_STACK raw addresses
 * (its own frame-pointer walk, deduplicated by a hash of the frames in the
 * `stacks` hash map, plus the return address at [sp]); a symbolizer turns
 * each address into
 * "writer_loop+0x1f (mapsvc.c:212) [mapsvc]".
 *
 * How an address is resolved: /proc/PID/maps gives the mapping and so the
 * file offset (addr - start + pgoff, which undoes PIE and ASLR); the ELF
 * program headers turn the file offset into an ELF virtual address; the
 * function comes from .symtab (else .dynsym), file:line from DWARF through
 * libdw when the binary (or its separate debuginfo) has a line table. Each
 * binary is read once and cached process-wide (key: path, device, inode as
 * in the maps), shared by every symbolizer whose maps name it, so resolving
 * thousands of frames is cheap and the processes of one binary read it once;
 * a few binaries no symbolizer uses stay cached (a binary whose processes
 * restart every second), re-read if the file changed since. Binaries are
 * untrusted input: a stripped, truncated or corrupt file still yields the
 * module and offset, never a crash.
 *
 * Return addresses: the innermost frame of a stack is the exact instruction;
 * every outer frame is a return address, which points *after* the call and
 * may already belong to the next line or even the next function. Resolve
 * those with mw_sym_resolve_ret() (it looks up addr-1), or hand the whole
 * stack to mw_sym_resolve_stack(), which applies the convention itself.
 *
 * Symbolizers and their shared cache are used from one thread only (no
 * locks). Every string in a struct mw_frame stays valid until mw_sym_free()
 * of the symbolizer that resolved it.
 */
#ifndef MW_STACKS_H
#define MW_STACKS_H

#include <stddef.h>
#include <stdint.h>

struct mw_frame {
	uint64_t addr;		/* the address as captured */
	const char *module;	/* mapped file's path, "[vdso]", "[anon]"...; NULL: no mapping */
	uint64_t module_off;	/* ELF virtual address in the module (what `addr2line -e MODULE`
				 * wants) when its program headers are readable, else the
				 * offset from the start of the file (anon: of the mapping) */
	const char *func;	/* function symbol, or NULL */
	uint64_t func_off;	/* addr - function start */
	const char *file;	/* source file as the line table names it, or NULL */
	int line;		/* source line, 0 if unknown */
};

struct mw_symbolizer;

/* A symbolizer for a live process: reads /proc/PID/maps now, and again
 * whenever an address falls outside every known mapping (libraries loaded
 * later; a page that still misses is not retried for a second). Files are
 * opened through /proc/PID/map_files or /proc/PID/root so
 * that deleted binaries and other mount namespaces work when permitted.
 * NULL with errno set on failure. */
struct mw_symbolizer *mw_sym_new(int pid);

/* An offline symbolizer from the text of a /proc/PID/maps kept earlier
 * (say, with a trace). Files are opened by the paths in the text; the maps
 * are never re-read. NULL with errno set on failure. */
struct mw_symbolizer *mw_sym_new_from_maps(const char *maps_text);

/* Resolves one exact instruction address (the innermost frame).
 * 0: f is filled (func/file may be NULL when unknown); -1: no mapping holds
 * addr (f->addr set, the rest zero). */
int mw_sym_resolve(struct mw_symbolizer *s, uint64_t addr, struct mw_frame *f);

/* The same for a return address (any frame but the innermost): looks up
 * addr-1 so the call site's function and line are found. f->addr stays
 * addr and f->func_off/module_off are measured from addr. */
int mw_sym_resolve_ret(struct mw_symbolizer *s, uint64_t addr, struct mw_frame *f);

/* Resolves a captured stack, innermost first, as BPF stores it: ips[0]
 * exact, the rest return addresses; stops at the first 0 or after n.
 * Returns the number of frames written to out (out holds n). Frames with no
 * mapping are still written (module NULL). */
int mw_sym_resolve_stack(struct mw_symbolizer *s, const uint64_t *ips, int n,
			 struct mw_frame *out);

/* Drops the symbolizer's mappings and its references to binaries. */
void mw_sym_free(struct mw_symbolizer *s);

/* The process-wide binary cache, as counted since start. */
struct mw_sym_cache_stats {
	uint64_t loads;		/* binaries read (ELF opened, symbols loaded; failures too) */
	uint64_t dwarf_loads;	/* DWARF opened and its CUs indexed: once per binary read,
				 * again by the first user after it was idle */
	uint64_t hits;		/* a symbolizer got a binary already cached */
	uint64_t stale;		/* cached binaries dropped: their file changed */
	uint64_t bins;		/* binaries in memory now, used or not */
	uint64_t idle;		/* of those, used by no symbolizer (at most a few) */
};
void mw_sym_cache_stats(struct mw_sym_cache_stats *st);

/* Frees every cached binary no symbolizer uses (at exit, so leak checkers
 * see nothing; tests). Binaries in use stay. */
void mw_sym_cache_clear(void);

/* One frame as a line, module and source file shown by basename:
 *   "writer_loop+0x1f (mapsvc.c:212) [mapsvc]"
 *   "writer_loop+0x1f [mapsvc]"                   no line table
 *   "0x7f3a1c2b4567 [libfoo.so+0x1234]"           no symbol
 *   "0x7ffc1a2b3567 [vdso+0x567]"                  "[vdso]", "[anon]"...
 *   "0x7f3a1c2b4567"                              no mapping
 * snprintf semantics: returns the length it wanted; buf always terminated. */
int mw_frame_format(const struct mw_frame *f, char *buf, size_t len);

#endif
