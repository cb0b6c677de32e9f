/* stacks.c — the user-stack symbolizer (see stacks.h for the API).
 *
 * A symbolizer holds the process's mappings (sorted by start, re-read from
 * /proc/PID/maps when an address misses them all) and references to the
 * binaries they name. Binaries live in one process-wide cache shared by
 * every symbolizer (key: device and inode as the maps name them, and the
 * path), so the processes of one binary read it once. A binary is read on
 * first use by whichever symbolizer needs it first (through that process's
 * /proc/PID/map_files or /proc/PID/root; the result is shared): its PT_LOAD
 * segments (file offset → ELF virtual address), its FUNC symbols copied
 * into one sorted array and one string pool, and, the first time a line is
 * wanted, its DWARF: a sorted table of CU address ranges built from every
 * CU's DW_AT_ranges/low_pc (not .debug_aranges, which clang does not emit
 * and libdw 0.188 relies on), and libdw's own per-CU line tables. When the
 * binary has no line table, or no .symtab, the separate debug file named by
 * its build-id under /usr/lib/debug/.build-id is used if installed (never
 * debuginfod: no network in the middle of a live trace).
 *
 * Every file is untrusted: libelf reads it with ELF_C_READ (pread, no mmap,
 * so a file truncated under us cannot SIGBUS), every count is capped, and
 * any failure just leaves less to show (module+offset at worst).
 *
 * The cache: each symbolizer holds one reference to each binary its maps
 * ever named (a maps re-read takes none twice) and drops them in
 * mw_sym_free. A binary nobody references stays cached, at most CACHE_IDLE
 * of them, the least recently released evicted first, so a binary whose
 * processes restart every second is read once and memory stays bounded.
 * Only a binary whose open file is exactly the inode the maps named is kept
 * that way: its fd stays open, so the inode cannot be reused by another
 * file, and before it serves again its size, mtime and ctime (fstat) must
 * still be those seen when it was read, else it is dropped and the file read
 * afresh (a file rewritten in place). An idle binary keeps its ELF data
 * (symbols, the Go tables, the DWARF sections libelf read and inflated) but
 * not libdw's CU index and line tables, rebuilt cheaply by its next user, so
 * what it holds does not depend on which stacks were resolved in it. A
 * binary whose read failed (the first process already gone, a path only
 * inside a container) is tried again by the next symbolizer that resolves
 * in it, and never kept once unreferenced.
 * Strings in frames point into a binary (symbol names, gobin and DWARF file
 * names) or into the symbolizer (module paths): both live as long as the
 * symbolizer that resolved them.
 *
 * Symbolizers and the cache are used from the main thread only: no locks.
 */
#include "stacks.h"
#include "gobin.h"
#include "elfsym.h"
#include "procmaps.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bounds on what an untrusted file or maps text may make us allocate. */
#define MAX_SEGS	64		/* PT_LOAD segments per binary */
#define MAX_SYMS	(1u << 23)	/* FUNC symbols per binary */
#define MAX_NAME	1024		/* symbol name bytes kept */
#define MAX_POOL	(256u << 20)	/* symbol-name pool per binary */
#define MAX_CUS		(1u << 20)	/* compile units per binary */
#define MAX_RANGES	(1u << 22)	/* CU address ranges per binary */
#define MAX_MAPS	(1u << 20)	/* lines of a maps text */
#define DEBUG_DIR	"/usr/lib/debug/.build-id"
#define MISS_SLOTS	256		/* remembered misses (pages) */
#define MISS_TTL_NS	1000000000ull	/* how long a miss stops a maps re-read */
#define CACHE_IDLE	4		/* binaries kept with no symbolizer using them */

/* One PT_LOAD: file bytes [off, off+filesz) are loaded at vaddr. */
struct seg {
	uint64_t off, filesz, vaddr;
};

/* One function symbol; name is an offset into bin.names. */
struct sym {
	uint64_t addr, size;
	uint32_t name;
	uint32_t rank;		/* lower is the better name for an address */
};

/* One CU address range; cu indexes bin.cus. */
struct cu_range {
	uint64_t lo, hi;
	uint32_t cu;
};

/* An open ELF file: fd owned, elf read with ELF_C_READ. */
struct elf_file {
	int fd;
	Elf *elf;
};

/* One binary, read once and shared by every symbolizer whose maps name it. */
struct bin {
	struct bin *prev, *next;/* the cache's list of every live binary */
	char *path;		/* owned, as the maps name it */
	uint64_t dev, ino;	/* as the maps name them */
	unsigned refs;		/* symbolizers holding it; 0: idle in the cache */
	uint64_t released;	/* when refs last fell to 0 (cache.seq) */
	bool stale;		/* the file changed: no longer handed out */
	bool exact;		/* main.fd is inode ino: may stay cached when idle */
	struct timespec mtime, ctime;	/* of main.fd when read */
	off_t size;
	bool loaded;		/* ELF read (successfully or not) */
	uint64_t tried_by;	/* serial of the symbolizer that read it */
	bool dwarf_tried;
	struct mw_gobin *go;	/* a Go binary: its .gopclntab names functions and lines,
				 * stripped or not (DWARF is not needed) */
	struct elf_file main;	/* the mapped file */
	struct elf_file dbg;	/* its separate debug file, if any */
	struct seg segs[MAX_SEGS];
	int nsegs;
	struct sym *syms;	/* sorted by addr, one per address */
	size_t nsyms, syms_cap;
	char *names;
	size_t names_len, names_cap;
	Dwarf *dw;		/* on main or dbg, or NULL */
	Dwarf_Die *cus;
	size_t ncus;
	struct cu_range *ranges;/* sorted by lo */
	size_t nranges;
};

/* One mapping of the process. */
struct map {
	uint64_t start, end, pgoff, dev, ino;
	const char *name;	/* interned path, "[vdso]", "[anon]"... */
	bool deleted;		/* the maps said "(deleted)" */
	struct bin *bin;	/* NULL: not a file (anon, [vdso], [stack]...) */
};

/* Interned strings: names handed out in frames must outlive map refreshes. */
struct str {
	struct str *next;
	char s[];
};

struct mw_symbolizer {
	int pid;		/* 0: offline, maps never re-read */
	uint64_t serial;	/* unique per symbolizer (a failed read is retried by another) */
	struct map *maps;	/* sorted by start */
	size_t nmaps;
	struct bin **bins;	/* one reference each */
	size_t nbins, bins_cap;
	struct bin *last_bin;	/* consecutive mappings share a binary */
	struct str *strs;
	const char *last_str;	/* consecutive mappings share a path */
	/* Pages that missed every mapping even after a re-read, and when: the
	 * same garbage frame in a thousand stacks re-reads the maps once. */
	struct { uint64_t page, ns; } miss[MISS_SLOTS];
};

/* ---- strings ------------------------------------------------------------ */

static const char *intern(struct mw_symbolizer *s, const char *p, size_t n)
{
	if (s->last_str && strlen(s->last_str) == n && !memcmp(s->last_str, p, n))
		return s->last_str;
	for (struct str *t = s->strs; t; t = t->next)
		if (strlen(t->s) == n && !memcmp(t->s, p, n))
			return s->last_str = t->s;
	struct str *t = malloc(sizeof(*t) + n + 1);
	if (!t)
		return NULL;
	memcpy(t->s, p, n);
	t->s[n] = '\0';
	t->next = s->strs;
	s->strs = t;
	return s->last_str = t->s;
}

static const char *base_name(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

/* ---- the binary cache ------------------------------------------------------ */

static struct {
	struct bin *all;	/* every live binary, referenced or idle */
	uint64_t seq;		/* release clock, for least recently released */
	uint64_t serials;	/* symbolizers made */
	struct mw_sym_cache_stats st;
} cache;

static void elf_file_close(struct elf_file *f);

/* Drops libdw's state (the CU index, the line tables parsed so far: they
 * grow with every new CU a stack lands in) but not the ELF files, which
 * keep the DWARF sections libelf has read and decompressed: the next
 * dwarf_begin_elf on them reads and inflates nothing again. */
static void bin_drop_dwarf(struct bin *b)
{
	if (b->dw)
		dwarf_end(b->dw);
	b->dw = NULL;
	free(b->cus);
	free(b->ranges);
	b->cus = NULL;
	b->ranges = NULL;
	b->ncus = b->nranges = 0;
	b->dwarf_tried = false;
}

static void bin_destroy(struct bin *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		cache.all = b->next;
	if (b->next)
		b->next->prev = b->prev;
	cache.st.bins--;
	bin_drop_dwarf(b);
	elf_file_close(&b->dbg);
	mw_gobin_close(b->go);
	elf_file_close(&b->main);
	free(b->syms);
	free(b->names);
	free(b->path);
	free(b);
}

static bool same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Whether the file a binary read is still as it was then. */
static bool bin_unchanged(const struct bin *b)
{
	struct stat st;
	if (!b->main.elf)
		return true;	/* nothing read from it yet (or the read failed) */
	return !fstat(b->main.fd, &st) && st.st_size == b->size &&
	       same_time(st.st_mtim, b->mtime) && same_time(st.st_ctim, b->ctime);
}

/* Is b the binary the maps name as (path, dev, ino)? */
static bool bin_is(const struct bin *b, const char *path, uint64_t dev, uint64_t ino)
{
	return b->dev == dev && b->ino == ino && !strcmp(b->path, path);
}

/* A reference to the cached binary for (path, dev, ino), or a new one. */
static struct bin *cache_take(const char *path, uint64_t dev, uint64_t ino)
{
	for (struct bin *b = cache.all, *nb; b; b = nb) {
		nb = b->next;
		if (b->stale || !bin_is(b, path, dev, ino))
			continue;
		if (!bin_unchanged(b)) {
			/* Rewritten in place: the users it has keep what they
			 * resolved; nobody new gets it. */
			cache.st.stale++;
			if (b->refs) {
				b->stale = true;
				continue;
			}
			cache.st.idle--;
			bin_destroy(b);
			continue;
		}
		if (!b->refs++)
			cache.st.idle--;
		cache.st.hits++;
		return b;
	}
	struct bin *b = calloc(1, sizeof(*b));
	if (!b || !(b->path = strdup(path))) {
		free(b);
		return NULL;
	}
	b->dev = dev;
	b->ino = ino;
	b->refs = 1;
	b->main.fd = b->dbg.fd = -1;
	b->next = cache.all;
	if (cache.all)
		cache.all->prev = b;
	cache.all = b;
	cache.st.bins++;
	return b;
}

/* Drops one reference; an unused binary stays cached if it is worth it. */
static void cache_release(struct bin *b)
{
	if (--b->refs)
		return;
	if (b->stale || !b->main.elf || !b->exact) {
		bin_destroy(b);
		return;
	}
	/* No frame of it is alive any more: what libdw parsed can go, so an
	 * idle binary's memory is the same whatever stacks were resolved. */
	bin_drop_dwarf(b);
	b->released = ++cache.seq;
	if (++cache.st.idle <= CACHE_IDLE)
		return;
	struct bin *old = NULL;
	for (struct bin *c = cache.all; c; c = c->next)
		if (!c->refs && (!old || c->released < old->released))
			old = c;
	cache.st.idle--;
	bin_destroy(old);
}

void mw_sym_cache_clear(void)
{
	for (struct bin *b = cache.all, *nb; b; b = nb) {
		nb = b->next;
		if (!b->refs) {
			cache.st.idle--;
			bin_destroy(b);
		}
	}
}

void mw_sym_cache_stats(struct mw_sym_cache_stats *st)
{
	*st = cache.st;
}

/* ---- maps ----------------------------------------------------------------- */

static int map_cmp(const void *a, const void *b)
{
	const struct map *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The binary path (dev, ino) names, one reference held by s: the one s holds
 * already, else one from the cache, else a new one (read on first use). */
static struct bin *bin_get(struct mw_symbolizer *s, const char *path,
			   uint64_t dev, uint64_t ino)
{
	if (s->last_bin && bin_is(s->last_bin, path, dev, ino))
		return s->last_bin;
	for (size_t i = 0; i < s->nbins; i++)
		if (bin_is(s->bins[i], path, dev, ino))
			return s->last_bin = s->bins[i];
	if (s->nbins == s->bins_cap) {
		size_t nc = s->bins_cap ? 2 * s->bins_cap : 16;
		struct bin **nb = realloc(s->bins, nc * sizeof(*nb));
		if (!nb)
			return NULL;
		s->bins = nb;
		s->bins_cap = nc;
	}
	struct bin *b = cache_take(path, dev, ino);
	if (b)
		s->bins[s->nbins++] = s->last_bin = b;
	return b;
}

/* One maps line as the symbolizer keeps it. 0 ok, -1 malformed (skipped). */
static int parse_map_line(struct mw_symbolizer *s, const struct mw_maps_ent *e, struct map *m)
{
	size_t n = e->pathlen;

	memset(m, 0, sizeof(*m));
	m->start = e->start;
	m->end = e->end;
	m->pgoff = e->pgoff;
	m->dev = e->dev;
	m->ino = e->ino;
	m->deleted = e->deleted;
	if (n > PATH_MAX)
		return -1;
	m->name = n ? intern(s, e->path, n) : "[anon]";
	if (!m->name)
		return -1;
	/* Only real files have symbols: "[vdso]", "[stack]", "[anon:x]" do not. */
	if (m->name[0] == '/') {
		m->bin = bin_get(s, m->name, m->dev, m->ino);
		if (!m->bin)
			return -1;
	}
	return 0;
}

/* Replaces the mapping table with the one in text. */
static int load_maps(struct mw_symbolizer *s, const char *text)
{
	size_t cap = 64, n = 0;
	struct map *maps = malloc(cap * sizeof(*maps));
	if (!maps)
		return -1;
	struct mw_maps_ent e;
	for (const char *l = text; n < MAX_MAPS && mw_maps_next(&l, &e);) {
		if (n == cap) {
			struct map *nm = realloc(maps, 2 * cap * sizeof(*maps));
			if (!nm) {
				free(maps);
				return -1;
			}
			maps = nm;
			cap *= 2;
		}
		if (parse_map_line(s, &e, &maps[n]) == 0)
			n++;
	}
	qsort(maps, n, sizeof(*maps), map_cmp);
	free(s->maps);
	s->maps = maps;
	s->nmaps = n;
	return 0;
}

static int refresh_maps(struct mw_symbolizer *s)
{
	char *text = mw_maps_read(s->pid);
	if (!text)
		return -1;
	int r = load_maps(s, text);
	free(text);
	return r;
}

static struct map *find_map(struct mw_symbolizer *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nmaps;
	while (lo < hi) {		/* first mapping with start > addr */
		size_t mid = lo + (hi - lo) / 2;
		if (s->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	struct map *m = &s->maps[lo - 1];
	return addr < m->end ? m : NULL;
}

/* ---- ELF: segments and symbols -------------------------------------------- */

static void elf_file_close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	f->elf = NULL;
	f->fd = -1;
}

/* Opens path as an ELF file; when ino is non-zero the file must be that inode. */
static int elf_file_open(struct elf_file *f, const char *path, uint64_t ino)
{
	struct stat st;
	f->elf = NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -1;
	if (fstat(f->fd, &st) || !S_ISREG(st.st_mode) || (ino && st.st_ino != ino))
		goto fail;
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF)
		goto fail;
	return 0;
fail:
	elf_file_close(f);
	return -1;
}

/* Opens the file behind mapping m: the exact mapped file through map_files
 * (works for deleted files; needs privilege), else through the process's
 * root (other mount namespaces), else by path — the last two only when the
 * inode still matches, or, for a file not deleted, as a last resort. */
static void bin_open(struct mw_symbolizer *s, struct bin *b, const struct map *m)
{
	char mf[64], root[PATH_MAX + 32];

	if (s->pid) {
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", s->pid,
			 (unsigned long long)m->start, (unsigned long long)m->end);
		snprintf(root, sizeof(root), "/proc/%d/root%s", s->pid, b->path);
		if (!elf_file_open(&b->main, mf, 0) ||
		    !elf_file_open(&b->main, root, b->ino))
			return;
	}
	if (!elf_file_open(&b->main, b->path, b->ino) || m->deleted)
		return;
	/* Inode differs (rebuilt binary, overlayfs): better than nothing. */
	if (s->pid && !elf_file_open(&b->main, root, 0))
		return;
	elf_file_open(&b->main, b->path, 0);
}

static void load_segs(struct bin *b, Elf *e)
{
	size_t n;
	if (elf_getphdrnum(e, &n))
		return;
	for (size_t i = 0; i < n && i < 4096 && b->nsegs < MAX_SEGS; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD || !ph.p_filesz)
			continue;
		if (ph.p_offset + ph.p_filesz < ph.p_offset ||
		    ph.p_vaddr + ph.p_filesz < ph.p_vaddr)
			continue;
		b->segs[b->nsegs++] = (struct seg){ ph.p_offset, ph.p_filesz, ph.p_vaddr };
	}
}

/* File offset → ELF virtual address. */
static bool bin_vaddr(const struct bin *b, uint64_t off, uint64_t *va)
{
	for (int i = 0; i < b->nsegs; i++) {
		const struct seg *g = &b->segs[i];
		if (off >= g->off && off - g->off < g->filesz) {
			*va = off - g->off + g->vaddr;
			return true;
		}
	}
	return false;
}

/* Which of several names for one address to show: public names (fewer
 * leading underscores: getpid over __getpid) first, then global, weak, local. */
static uint32_t sym_rank(const char *name, int bind)
{
	uint32_t u = 0;
	while (name[u] == '_' && u < 3)
		u++;
	return u * 4 + (bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2);
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->size > y->size ? -1 : x->size < y->size;
}

static uint32_t pool_add(struct bin *b, const char *name)
{
	size_t n = strnlen(name, MAX_NAME);
	if (b->names_len + n + 1 > MAX_POOL)
		return UINT32_MAX;
	if (b->names_len + n + 1 > b->names_cap) {
		size_t cap = b->names_cap ? b->names_cap : 4096;
		while (cap < b->names_len + n + 1)
			cap *= 2;
		char *nn = realloc(b->names, cap);
		if (!nn)
			return UINT32_MAX;
		b->names = nn;
		b->names_cap = cap;
	}
	uint32_t off = (uint32_t)b->names_len;
	memcpy(b->names + off, name, n);
	b->names[off + n] = '\0';
	b->names_len += n + 1;
	return off;
}

/* Adds the FUNC symbols of the first section of type want; false if none. */
/* One function symbol into the binary's table; stops when it is full. */
static int add_sym(void *ctx, const GElf_Sym *st, const char *name)
{
	struct bin *b = ctx;
	int type = GELF_ST_TYPE(st->st_info);

	if (type != STT_FUNC && type != STT_GNU_IFUNC)
		return 0;
	if (b->nsyms >= MAX_SYMS)
		return 1;
	if (b->nsyms == b->syms_cap) {
		size_t nc = b->syms_cap ? b->syms_cap * 2 : 1024;
		struct sym *ns = realloc(b->syms, nc * sizeof(*ns));
		if (!ns)
			return 1;
		b->syms = ns;
		b->syms_cap = nc;
	}
	uint32_t off = pool_add(b, name);
	if (off == UINT32_MAX)
		return 1;
	b->syms[b->nsyms++] = (struct sym){
		.addr = st->st_value, .size = st->st_size, .name = off,
		.rank = sym_rank(name, GELF_ST_BIND(st->st_info)),
	};
	return 0;
}

static bool load_syms(struct bin *b, Elf *e, Elf64_Word want)
{
	size_t before = b->nsyms;

	b->syms_cap = b->nsyms;
	mw_elf_syms(e, mw_elf_section(e, want), add_sym, b);
	return b->nsyms > before;
}

/* Sorts the symbols and keeps one per address: the best-ranked name, the
 * largest size seen for it. */
static void sort_syms(struct bin *b)
{
	if (!b->nsyms)
		return;
	qsort(b->syms, b->nsyms, sizeof(*b->syms), sym_cmp);
	size_t o = 0;
	for (size_t i = 1; i < b->nsyms; i++) {
		if (b->syms[i].addr == b->syms[o].addr) {
			if (b->syms[i].size > b->syms[o].size)
				b->syms[o].size = b->syms[i].size;
			continue;
		}
		b->syms[++o] = b->syms[i];
	}
	b->nsyms = o + 1;
}

static const struct sym *find_sym(const struct bin *b, uint64_t va)
{
	size_t lo = 0, hi = b->nsyms;
	while (lo < hi) {		/* first symbol with addr > va */
		size_t mid = lo + (hi - lo) / 2;
		if (b->syms[mid].addr <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* The nearest symbol below usually holds va; a few steps back cover a
	 * function with a nested (cold/local) symbol inside it. */
	for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++) {
		const struct sym *y = &b->syms[i - 1];
		if (va == y->addr || va - y->addr < y->size)
			return y;
	}
	return NULL;
}

/* The NT_GNU_BUILD_ID of e as hex, or false. */
static bool build_id_hex(Elf *e, char *hex, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t off = 0, noff, doff;
		GElf_Nhdr nh;
		while (d && off < d->d_size && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((char *)d->d_buf + noff, "GNU", 4) ||
			    nh.n_descsz < 2 || nh.n_descsz * 2 + 1 > len)
				continue;
			const unsigned char *id = (const unsigned char *)d->d_buf + doff;
			for (size_t i = 0; i < nh.n_descsz; i++)
				snprintf(hex + 2 * i, 3, "%02x", id[i]);
			return true;
		}
	}
	return false;
}

static bool has_section(Elf *e, const char *name)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	if (elf_getshdrstrndx(e, &shstrndx))
		return false;
	while ((scn = elf_nextscn(e, scn))) {
		const char *n;
		if (gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS &&
		    (n = elf_strptr(e, shstrndx, sh.sh_name)) && !strcmp(n, name))
			return true;
	}
	return false;
}

/* .zdebug_line: older Go and GNU toolchains compressed it that way. */
static bool has_line_table(Elf *e)
{
	return has_section(e, ".debug_line") || has_section(e, ".zdebug_line");
}

/* /usr/lib/debug/.build-id/ab/cdef….debug, when installed. */
static void open_debug_file(struct bin *b)
{
	char hex[2 * 64 + 1], p[sizeof(DEBUG_DIR) + sizeof(hex) + 16];
	if (!build_id_hex(b->main.elf, hex, sizeof(hex)))
		return;
	snprintf(p, sizeof(p), "%s/%.2s/%s.debug", DEBUG_DIR, hex, hex + 2);
	elf_file_open(&b->dbg, p, 0);
}

static void bin_load(struct mw_symbolizer *s, struct bin *b, const struct map *m)
{
	struct stat st;

	b->loaded = true;
	b->tried_by = s->serial;
	cache.st.loads++;
	bin_open(s, b, m);
	if (!b->main.elf)
		return;
	if (!fstat(b->main.fd, &st)) {
		b->size = st.st_size;
		b->mtime = st.st_mtim;
		b->ctime = st.st_ctim;
		b->exact = b->ino && st.st_ino == b->ino;
	}
	load_segs(b, b->main.elf);
	if (has_section(b->main.elf, ".gopclntab")) {
		char p[64], err[128];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", b->main.fd);
		b->go = mw_gobin_open(p, err, sizeof(err));
	}
	bool symtab = load_syms(b, b->main.elf, SHT_SYMTAB);
	if (!symtab || !has_line_table(b->main.elf))
		open_debug_file(b);
	if (!symtab && !(b->dbg.elf && load_syms(b, b->dbg.elf, SHT_SYMTAB)))
		load_syms(b, b->main.elf, SHT_DYNSYM);
	sort_syms(b);
}

/* ---- DWARF: file and line -------------------------------------------------- */

static int range_cmp(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Builds the CU range table of dw; false if it has no usable CU. */
static bool index_cus(struct bin *b, Dwarf *dw)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	uint8_t type;
	size_t cucap = 0, rcap = 0;

	while (b->ncus < MAX_CUS && dwarf_get_units(dw, cu, &cu, NULL, &type, &cudie, NULL) == 0) {
		if (type != DW_UT_compile && type != DW_UT_partial)
			continue;
		if (b->ncus == cucap) {
			size_t nc = cucap ? cucap * 2 : 64;
			Dwarf_Die *n = realloc(b->cus, nc * sizeof(*n));
			if (!n)
				break;
			b->cus = n;
			cucap = nc;
		}
		b->cus[b->ncus] = cudie;
		Dwarf_Addr base, lo, hi;
		ptrdiff_t o = 0;
		while (b->nranges < MAX_RANGES &&
		       (o = dwarf_ranges(&b->cus[b->ncus], o, &base, &lo, &hi)) > 0) {
			if (hi <= lo)
				continue;
			if (b->nranges == rcap) {
				size_t nc = rcap ? rcap * 2 : 256;
				struct cu_range *n = realloc(b->ranges, nc * sizeof(*n));
				if (!n)
					goto out;
				b->ranges = n;
				rcap = nc;
			}
			b->ranges[b->nranges++] = (struct cu_range){ lo, hi, (uint32_t)b->ncus };
		}
		b->ncus++;
	}
out:
	qsort(b->ranges, b->nranges, sizeof(*b->ranges), range_cmp);
	return b->nranges > 0;
}

static void bin_load_dwarf(struct bin *b)
{
	b->dwarf_tried = true;
	cache.st.dwarf_loads++;
	Elf *cands[2] = { b->main.elf, b->dbg.elf };
	for (int i = 0; i < 2; i++) {
		if (!cands[i] || !has_line_table(cands[i]))
			continue;
		Dwarf *dw = dwarf_begin_elf(cands[i], DWARF_C_READ, NULL);
		if (!dw)
			continue;
		b->dw = dw;
		if (index_cus(b, dw))
			return;
		bin_drop_dwarf(b);
		b->dwarf_tried = true;
	}
}

static void find_line(struct bin *b, uint64_t va, struct mw_frame *f)
{
	if (!b->dwarf_tried)
		bin_load_dwarf(b);
	if (!b->dw)
		return;
	size_t lo = 0, hi = b->nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->ranges[mid].lo <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, k = 0; i > 0 && k < 4; i--, k++) {
		const struct cu_range *r = &b->ranges[i - 1];
		if (va >= r->hi)
			continue;
		Dwarf_Line *ln = dwarf_getsrc_die(&b->cus[r->cu], va);
		int lineno = 0;
		if (!ln || dwarf_lineno(ln, &lineno) || lineno <= 0)
			continue;
		f->file = dwarf_linesrc(ln, NULL, NULL);
		f->line = f->file ? lineno : 0;
		return;
	}
}

/* ---- API ----------------------------------------------------------------- */

static struct mw_symbolizer *sym_alloc(int pid)
{
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return NULL;
	}
	struct mw_symbolizer *s = calloc(1, sizeof(*s));
	if (s) {
		s->pid = pid;
		s->serial = ++cache.serials;
	}
	return s;
}

struct mw_symbolizer *mw_sym_new(int pid)
{
	if (pid <= 0) {
		errno = EINVAL;
		return NULL;
	}
	struct mw_symbolizer *s = sym_alloc(pid);
	if (s && refresh_maps(s)) {
		int e = errno;
		mw_sym_free(s);
		errno = e;
		return NULL;
	}
	return s;
}

struct mw_symbolizer *mw_sym_new_from_maps(const char *maps_text)
{
	if (!maps_text) {
		errno = EINVAL;
		return NULL;
	}
	struct mw_symbolizer *s = sym_alloc(0);
	if (s && load_maps(s, maps_text)) {
		mw_sym_free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The mapping holding addr; on a miss, re-reads the maps of a live process
 * (a library loaded since) unless this page missed a re-read recently. */
static struct map *find_map_refresh(struct mw_symbolizer *s, uint64_t addr)
{
	struct map *m = find_map(s, addr);
	if (m || !s->pid)
		return m;
	uint64_t page = addr >> 12, t = now_ns();
	size_t slot = (size_t)((page * 0x9e3779b97f4a7c15ull) >> 56) % MISS_SLOTS;
	if (s->miss[slot].page == page && t - s->miss[slot].ns < MISS_TTL_NS)
		return NULL;
	if (refresh_maps(s) == 0 && (m = find_map(s, addr)))
		return m;
	s->miss[slot].page = page;
	s->miss[slot].ns = t;
	return NULL;
}

/* Resolves addr, looking the code up at addr - back (1 for return addresses). */
static int resolve(struct mw_symbolizer *s, uint64_t addr, uint64_t back, struct mw_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->addr = addr;
	if (!s || addr < back)
		return -1;
	uint64_t at = addr - back;
	struct map *m = find_map_refresh(s, at);
	if (!m)
		return -1;

	f->module = m->name;
	f->module_off = addr - m->start + (m->bin ? m->pgoff : 0);
	struct bin *b = m->bin;
	if (!b)
		return 0;
	/* A read that failed for another symbolizer (its process gone, the
	 * file in its mount namespace only) may work for this one. */
	if (!b->loaded || (!b->main.elf && b->tried_by != s->serial))
		bin_load(s, b, m);
	uint64_t va;
	if (!bin_vaddr(b, at - m->start + m->pgoff, &va))
		return 0;
	f->module_off = va + back;
	if (b->go) {
		const char *fn = NULL, *file = NULL;
		uint64_t entry = 0;
		int line = 0;
		if (!mw_gobin_pc(b->go, va, &fn, &entry, &file, &line) && fn) {
			f->func = fn;
			f->func_off = va + back - entry;
			f->file = file;
			f->line = line;
			return 0;
		}
	}
	const struct sym *y = find_sym(b, va);
	if (y) {
		f->func = b->names + y->name;
		f->func_off = va + back - y->addr;
	}
	find_line(b, va, f);
	return 0;
}

int mw_sym_resolve(struct mw_symbolizer *s, uint64_t addr, struct mw_frame *f)
{
	return resolve(s, addr, 0, f);
}

int mw_sym_resolve_ret(struct mw_symbolizer *s, uint64_t addr, struct mw_frame *f)
{
	return resolve(s, addr, 1, f);
}

int mw_sym_resolve_stack(struct mw_symbolizer *s, const uint64_t *ips, int n,
			 struct mw_frame *out)
{
	int i;
	for (i = 0; i < n && ips[i]; i++)
		resolve(s, ips[i], i ? 1 : 0, &out[i]);
	return i;
}

void mw_sym_free(struct mw_symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nbins; i++)
		cache_release(s->bins[i]);
	free(s->bins);
	for (struct str *t = s->strs, *nt; t; t = nt) {
		nt = t->next;
		free(t);
	}
	free(s->maps);
	free(s);
}

/* ---- formatting ------------------------------------------------------------ */

struct out {
	char *buf;
	size_t len, pos;
};

__attribute__((format(printf, 2, 3)))
static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = o->pos < o->len ? o->len - o->pos : 0;
	va_start(ap, fmt);
	int n = vsnprintf(room ? o->buf + o->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
}

int mw_frame_format(const struct mw_frame *f, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };
	if (buf && len)
		buf[0] = '\0';
	if (!f)
		return 0;
	const char *mod = f->module ? base_name(f->module) : NULL;
	if (f->func) {
		out_printf(&o, "%s+0x%llx", f->func, (unsigned long long)f->func_off);
		if (f->file && f->line > 0)
			out_printf(&o, " (%s:%d)", base_name(f->file), f->line);
		if (mod)
			out_printf(&o, " [%s]", mod);
	} else {
		out_printf(&o, "0x%llx", (unsigned long long)f->addr);
		/* "[vdso]" shows as [vdso+0x...], not [[vdso]+0x...] */
		size_t n = mod ? strlen(mod) : 0;
		if (n > 2 && mod[0] == '[' && mod[n - 1] == ']')
			out_printf(&o, " [%.*s+0x%llx]", (int)(n - 2), mod + 1,
				   (unsigned long long)f->module_off);
		else if (mod)
			out_printf(&o, " [%s+0x%llx]", mod, (unsigned long long)f->module_off);
	}
	return o.pos > INT_MAX ? INT_MAX : (int)o.pos;
}
