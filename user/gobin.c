/* gobin.c — the Go executable reader (see gobin.h for the API).
 *
 * Layouts, from the Go sources (debug/buildinfo, debug/gosym,
 * runtime/symtab.go, runtime/runtime2.go, cmd/link/internal/ld/pcln.go):
 *
 * .go.buildinfo: 32-byte header "\xff Go buildinf:", pointer size, flags;
 *   flag bit 2 (Go 1.18+): the version and the modinfo follow inline as
 *   uvarint-length strings; otherwise two pointers to Go string headers.
 *   The modinfo is `path`/`mod`/`dep`/`=>`/`build KEY=VALUE` lines between
 *   two 16-byte sentinels.
 *
 * .gopclntab: a header (magic, 0, 0, pc quantum, pointer size, then words:
 *   nfunc, nfiles, [textStart: 1.18+], and the offsets of funcnametab,
 *   cutab, filetab, pctab and pclntable), then those tables. pclntable
 *   begins with the functab: nfunc+1 (entry, funcoff) pairs, sorted, whose
 *   last entry is the end of the text; entries are uint32 offsets from
 *   textStart in 1.18+, absolute pointers in 1.16. funcoff points to a
 *   _func (relative to pclntable): entry, nameoff, args, deferreturn, pcsp,
 *   pcfile, pcln, npcdata, cuOffset, [startLine: 1.20+], funcID, flag, pad,
 *   nfuncdata; then npcdata uint32 pcdata table offsets and nfuncdata
 *   uint32 funcdata offsets (relative to moduledata.gofunc, 1.18+).
 *   A pc-value table is pairs of uvarints (zig-zag value delta, pc delta /
 *   quantum) starting from value -1 at the entry; a 0 value delta after
 *   the first pair ends it. pcfile values index the function's CU in cutab,
 *   which gives offsets into filetab.
 *
 * Open reads both tables into memory once (pread through libelf's
 * ELF_C_READ: no mmap, so a file truncated under us cannot SIGBUS), checks
 * every offset the lookups will follow, and builds two indexes: the entries
 * (a sorted array, binary-searched by pc) and the names (sorted, binary-
 * searched by name); .symtab's functions get a name index of their own.
 * A pc lookup is then a binary search plus two short pc-value decodes.
 * Hand-written rather than libdw because a stripped Go binary has no DWARF
 * for libdw to read.
 */
#include "gobin.h"
#include "elfsym.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bounds on what an untrusted file may make us allocate or scan. */
#define MAX_SEGS	64		/* PT_LOAD segments kept */
#define MAX_TABLE	(1ull << 30)	/* bytes of pclntab read */
#define MAX_SCAN	(1ull << 30)	/* bytes of a segment searched for a magic */
#define MAX_BUILDINFO	(1u << 20)	/* bytes of version + modinfo */
#define MAX_SETTINGS	4096		/* build lines kept */
#define MAX_SYMS	(1u << 23)	/* .symtab FUNC symbols kept */
#define MAX_RELOCS	(1u << 24)	/* RELATIVE relocations kept */
#define MAX_INLINE	64		/* inline depth followed */
#define MAX_CANDIDATES	16		/* pclntab or moduledata look-alikes tried */

#define PCLN_116	0xfffffffau
#define PCLN_118	0xfffffff0u
#define PCLN_120	0xfffffff1u

#define PCDATA_INLTREEINDEX	2
#define FUNCDATA_INLTREE	3

static const char buildinfo_magic[14] = "\xff Go buildinf:";

/* One PT_LOAD; filesz is clamped to what the file holds. */
struct seg {
	uint64_t vaddr, memsz, off, filesz;
	uint32_t flags;
};

/* A parsed pclntab. d[n] is a 0 byte so a string at any offset < n ends. */
struct pcln {
	uint8_t *d;
	size_t n;
	uint64_t vaddr;		/* where the table is loaded */
	uint32_t magic;
	unsigned quantum, ptrsize;
	uint64_t nfunc, text;
	/* subtable offsets in d */
	uint64_t funcname, cu, file, pc, func;
	unsigned fsz;		/* functab field size: 4, or ptrsize in 1.16 */
	unsigned esz;		/* _func.entry size: 4, or ptrsize in 1.16 */
	unsigned hdr;		/* _func size before pcdata */
};

/* A .symtab function; name is an offset into mw_gobin.symnames. */
struct sym {
	uint64_t addr, size;
	uint32_t name;
};

/* A build setting. */
struct kv {
	char *key, *val;
};

/* A dynamic RELATIVE relocation: the loader writes base + addend at off. */
struct reloc {
	uint64_t off, addend;
};

struct mw_gobin {
	int fd;
	uint64_t fsize;
	bool pie, stripped;
	struct seg segs[MAX_SEGS];
	int nsegs;

	char *version;		/* as recorded */
	char *path;		/* "path" line, or NULL */
	struct kv *settings;
	size_t nsettings;

	struct pcln t;
	uint64_t *entries;	/* nfunc+1 entry pcs, sorted; the last is the end */
	uint32_t *funcoffs;	/* nfunc _func offsets (absolute in t.d) */
	uint32_t *by_name;	/* nfunc function indexes sorted by name */

	struct sym *syms;	/* .symtab functions sorted by name */
	size_t nsyms;
	struct sym *syms_addr;	/* the same, sorted by address (cgo C code) */
	char *symnames;
	size_t symnames_len;

	struct reloc *relocs;	/* sorted by off */
	size_t nrelocs;

	uint64_t gofunc;	/* moduledata.gofunc (inline trees); 0: unknown */
	uint64_t gofunc_sym;	/* the go:func.* symbol in .symtab, if any */
	int major, minor;	/* from the version; 0 if unparsed */
};

static void seterr(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* ---- little helpers over untrusted bytes ---------------------------------- */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint64_t leptr(const uint8_t *p, unsigned ptrsize)
{
	return ptrsize == 8 ? le64(p) : le32(p);
}

/* [off, off+len) lies inside [0, n). */
static bool in(uint64_t off, uint64_t len, uint64_t n)
{
	return off <= n && len <= n - off;
}

/* Reads exactly len bytes at off; 0 or -1. */
static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* The segment holding vaddr in its file data, or NULL. */
static const struct seg *seg_of(const struct mw_gobin *g, uint64_t va)
{
	for (int i = 0; i < g->nsegs; i++) {
		const struct seg *s = &g->segs[i];
		if (va >= s->vaddr && va - s->vaddr < s->filesz)
			return s;
	}
	return NULL;
}

/* Reads exactly len bytes at a vaddr, within one segment; 0 or -1. */
static int read_va(const struct mw_gobin *g, uint64_t va, void *buf, size_t len)
{
	const struct seg *s = seg_of(g, va);

	if (!s || !in(va - s->vaddr, len, s->filesz))
		return -1;
	return pread_full(g->fd, buf, len, s->off + (va - s->vaddr));
}

/* The addend of the RELATIVE relocation at va, if any. */
static bool reloc_at(const struct mw_gobin *g, uint64_t va, uint64_t *val)
{
	size_t lo = 0, hi = g->nrelocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->relocs[mid].off < va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < g->nrelocs && g->relocs[lo].off == va) {
		*val = g->relocs[lo].addend;
		return true;
	}
	return false;
}

/* A pointer stored at va as the loaded program sees it: the bytes in the
 * file, or, where a linker left 0 there (lld's default for RELA), the
 * RELATIVE relocation's addend (load bias excluded: a link-time vaddr). */
static int read_ptr(const struct mw_gobin *g, uint64_t va, unsigned ptrsize, uint64_t *val)
{
	uint8_t b[8];

	if (read_va(g, va, b, ptrsize))
		return -1;
	*val = leptr(b, ptrsize);
	if (!*val)
		reloc_at(g, va, val);
	return 0;
}

/* Reads a whole segment's file data (capped); NULL on failure. */
static uint8_t *read_seg(const struct mw_gobin *g, const struct seg *s, size_t *len)
{
	size_t n = s->filesz > MAX_SCAN ? (size_t)MAX_SCAN : (size_t)s->filesz;
	uint8_t *buf = malloc(n ? n : 1);

	if (!buf || pread_full(g->fd, buf, n, s->off)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* ---- ELF ------------------------------------------------------------------- */

/* The places open needs from the section headers (all optional). */
struct elf_info {
	uint64_t bi_off, bi_size;	/* .go.buildinfo */
	bool has_bi;
	uint64_t pc_off, pc_size, pc_addr;	/* .gopclntab or .data.rel.ro.gopclntab */
	bool has_pc;
	Elf_Scn *symtab;
	uint16_t machine;
};

static int read_phdrs(struct mw_gobin *g, Elf *e)
{
	size_t n;

	if (elf_getphdrnum(e, &n))
		return -1;
	for (size_t i = 0; i < n && g->nsegs < MAX_SEGS; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		struct seg *s = &g->segs[g->nsegs];
		s->vaddr = ph.p_vaddr;
		s->memsz = ph.p_memsz;
		s->off = ph.p_offset;
		s->flags = ph.p_flags;
		/* What the file really holds: a truncated file keeps less. */
		s->filesz = ph.p_offset >= g->fsize ? 0 : ph.p_filesz;
		if (s->filesz > g->fsize - ph.p_offset)
			s->filesz = g->fsize - ph.p_offset;
		if (s->filesz > s->memsz)
			s->filesz = s->memsz;
		if (s->vaddr + s->filesz < s->vaddr)
			continue;	/* wraps */
		g->nsegs++;
	}
	return 0;
}

static int cmp_reloc(const void *a, const void *b)
{
	const struct reloc *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Collects the RELATIVE relocations of every SHT_RELA section. */
static void read_relocs(struct mw_gobin *g, Elf *e, uint16_t machine)
{
	uint32_t rel_type;
	Elf_Scn *scn = NULL;
	size_t cap = 0;

	switch (machine) {
	case EM_X86_64: rel_type = R_X86_64_RELATIVE; break;
	case EM_AARCH64: rel_type = R_AARCH64_RELATIVE; break;
	case EM_386: rel_type = R_386_RELATIVE; break;
	default: return;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		size_t cnt = d->d_size / sh.sh_entsize;
		for (size_t i = 0; i < cnt && g->nrelocs < MAX_RELOCS; i++) {
			GElf_Rela r;
			if (!gelf_getrela(d, (int)i, &r))
				break;
			if (GELF_R_TYPE(r.r_info) != rel_type)
				continue;
			if (g->nrelocs == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				struct reloc *p = realloc(g->relocs, nc * sizeof(*p));
				if (!p)
					return;
				g->relocs = p;
				cap = nc;
			}
			g->relocs[g->nrelocs++] = (struct reloc){ r.r_offset, (uint64_t)r.r_addend };
		}
	}
	if (g->nrelocs)
		qsort(g->relocs, g->nrelocs, sizeof(*g->relocs), cmp_reloc);
}

static void read_sections(Elf *e, struct elf_info *ei, uint64_t fsize)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(e, &shstrndx))
		return;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(e, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_SYMTAB && !ei->symtab)
			ei->symtab = scn;
		if (!name || sh.sh_type == SHT_NOBITS || !in(sh.sh_offset, sh.sh_size, fsize))
			continue;
		if (!strcmp(name, ".go.buildinfo") && !ei->has_bi) {
			ei->bi_off = sh.sh_offset;
			ei->bi_size = sh.sh_size;
			ei->has_bi = true;
		} else if ((!strcmp(name, ".gopclntab") || !strcmp(name, ".data.rel.ro.gopclntab")) &&
			   !ei->has_pc) {
			ei->pc_off = sh.sh_offset;
			ei->pc_size = sh.sh_size;
			ei->pc_addr = sh.sh_addr;
			ei->has_pc = true;
		}
	}
}

/* ---- .go.buildinfo --------------------------------------------------------- */

/* A uvarint at *p in [*p, end); false when it does not fit in 64 bits. */
static bool uvarint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* Reads a Go string header {ptr, len} at va into a new C string. */
static char *read_gostring(const struct mw_gobin *g, uint64_t va, unsigned ptrsize)
{
	uint64_t p, len;
	char *s;

	if (read_ptr(g, va, ptrsize, &p) || read_ptr(g, va + ptrsize, ptrsize, &len) ||
	    len > MAX_BUILDINFO)
		return NULL;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	if (len && read_va(g, p, s, len)) {
		free(s);
		return NULL;
	}
	s[len] = 0;
	return s;
}

/* strconv.Unquote of s[0, len) (a `raw` or "interpreted" Go string) into a
 * new string; *used is how many bytes the quoted string took. NULL when s
 * is not a complete quoted string. */
static char *go_unquote(const char *s, size_t len, size_t *used)
{
	char q = s[0], *out = malloc(len * 2 + 1), *o = out;
	size_t i = 1;

	if (!out)
		return NULL;
	for (; i < len && s[i] != q; i++) {
		if (q == '`' || s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		if (++i >= len)
			break;
		char c = s[i], e = 0;
		switch (c) {
		case 'a': e = '\a'; break;
		case 'b': e = '\b'; break;
		case 'f': e = '\f'; break;
		case 'n': e = '\n'; break;
		case 'r': e = '\r'; break;
		case 't': e = '\t'; break;
		case 'v': e = '\v'; break;
		case '\\': case '"': case '\'': e = c; break;
		}
		if (e) {
			*o++ = e;
		} else if (c == 'x' || c == 'u' || c == 'U') {
			unsigned nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			uint32_t r = 0;
			for (unsigned k = 0; k < nd; k++) {
				int h = i + 1 < len ? mw_hexval(s[++i]) : -1;
				if (h < 0)
					goto bad;
				r = r << 4 | (uint32_t)h;
			}
			if (c == 'x')
				*o++ = (char)r;
			else
				o += mw_utf8_put(o, r > 0x10ffff ? 0xfffd : r);
		} else if (c >= '0' && c <= '7') {
			unsigned r = (unsigned)(c - '0');
			for (int k = 0; k < 2; k++) {
				if (i + 1 >= len || s[i + 1] < '0' || s[i + 1] > '7')
					goto bad;
				r = r * 8 + (unsigned)(s[++i] - '0');
			}
			*o++ = (char)r;
		} else {
			goto bad;
		}
	}
	if (i >= len)
		goto bad;
	*o = 0;
	*used = i + 1;
	return out;
bad:
	free(out);
	return NULL;
}

/* One `build` line's KEY=VALUE (quoted as runtime/debug quotes them). */
static int parse_build_line(struct mw_gobin *g, const char *kv, size_t len)
{
	char *key = NULL, *val = NULL;
	size_t used = 0;
	const char *eq;

	if (!len || g->nsettings >= MAX_SETTINGS)
		return 0;
	if (kv[0] == '"' || kv[0] == '`') {
		key = go_unquote(kv, len, &used);
		if (!key || used >= len || kv[used] != '=')
			goto skip;
		eq = kv + used;
	} else {
		eq = memchr(kv, '=', len);
		if (!eq || eq == kv)
			return 0;
		key = strndup(kv, (size_t)(eq - kv));
	}
	const char *v = eq + 1;
	size_t vlen = len - (size_t)(v - kv);
	if (vlen && (v[0] == '"' || v[0] == '`')) {
		val = go_unquote(v, vlen, &used);
		if (!val || used != vlen)
			goto skip;
	} else {
		val = strndup(v, vlen);
	}
	if (!key || !val)
		goto skip;
	struct kv *p = realloc(g->settings, (g->nsettings + 1) * sizeof(*p));
	if (!p)
		goto skip;
	g->settings = p;
	g->settings[g->nsettings++] = (struct kv){ key, val };
	return 0;
skip:
	free(key);
	free(val);
	return 0;
}

/* The modinfo text: sentinels off, then one line at a time. */
static void parse_modinfo(struct mw_gobin *g, const char *mod, size_t len)
{
	/* 16 bytes of sentinel on each side, and a '\n' before the closing one. */
	if (len < 33 || mod[len - 17] != '\n')
		return;
	mod += 16;
	len -= 32;
	while (len) {
		const char *nl = memchr(mod, '\n', len);
		if (!nl)
			break;
		size_t ll = (size_t)(nl - mod);
		if (ll > 6 && !memcmp(mod, "build\t", 6))
			parse_build_line(g, mod + 6, ll - 6);
		else if (ll > 5 && !memcmp(mod, "path\t", 5) && !g->path)
			g->path = strndup(mod + 5, ll - 5);
		len -= ll + 1;
		mod = nl + 1;
	}
}

static void parse_version(struct mw_gobin *g)
{
	const char *v = strstr(g->version, "go");
	int maj, min;

	/* "go1.21.13", "go1.24.4 X:noswissmap", "devel go1.25-abc..." */
	while (v && sscanf(v, "go%d.%d", &maj, &min) != 2)
		v = strstr(v + 2, "go");
	if (v && maj > 0 && min >= 0) {
		g->major = maj;
		g->minor = min;
	}
}

/* Finds and parses the buildinfo in buf (the section, or the first data
 * segment as Go's debug/buildinfo does). 0, or -1 with err set. */
static int parse_buildinfo(struct mw_gobin *g, const uint8_t *buf, size_t len, char *err,
			   size_t errlen)
{
	size_t i;

	for (i = 0; i + 32 <= len; i += 16)
		if (!memcmp(buf + i, buildinfo_magic, sizeof(buildinfo_magic)))
			break;
	if (i + 32 > len) {
		seterr(err, errlen, "not a Go binary: no .go.buildinfo");
		return -1;
	}
	const uint8_t *h = buf + i, *end = buf + len;
	unsigned ptrsize = h[14], flags = h[15];
	char *mod = NULL;
	size_t modlen = 0;

	if (flags & 2) {
		const uint8_t *p = h + 32;
		uint64_t vl, ml;
		if (!uvarint(&p, end, &vl) || vl > (uint64_t)(end - p) || vl > MAX_BUILDINFO)
			goto corrupt;
		g->version = strndup((const char *)p, (size_t)vl);
		p += vl;
		if (uvarint(&p, end, &ml) && ml <= (uint64_t)(end - p) && ml <= MAX_BUILDINFO) {
			mod = malloc(ml + 1);
			if (mod) {
				memcpy(mod, p, ml);
				modlen = (size_t)ml;
			}
		}
	} else {
		/* Before Go 1.18: pointers to string headers; flags = big endian. */
		if ((ptrsize != 4 && ptrsize != 8) || flags & 1)
			goto corrupt;
		uint64_t va = leptr(h + 16, ptrsize), ma = leptr(h + 16 + ptrsize, ptrsize);
		g->version = read_gostring(g, va, ptrsize);
		mod = read_gostring(g, ma, ptrsize);
		modlen = mod ? strlen(mod) : 0;
	}
	if (!g->version || !g->version[0])
		goto corrupt;
	if (mod)
		parse_modinfo(g, mod, modlen);
	free(mod);
	parse_version(g);
	return 0;
corrupt:
	free(mod);
	seterr(err, errlen, "corrupt .go.buildinfo");
	return -1;
}

static int read_buildinfo(struct mw_gobin *g, const struct elf_info *ei, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (ei->has_bi) {
		len = ei->bi_size > MAX_SCAN ? (size_t)MAX_SCAN : (size_t)ei->bi_size;
		buf = malloc(len ? len : 1);
		if (buf && pread_full(g->fd, buf, len, ei->bi_off)) {
			free(buf);
			buf = NULL;
		}
	} else {
		/* No section headers: the first writable, non-executable PT_LOAD. */
		for (int i = 0; i < g->nsegs && !buf; i++)
			if ((g->segs[i].flags & (PF_W | PF_X)) == PF_W && g->segs[i].filesz)
				buf = read_seg(g, &g->segs[i], &len);
	}
	if (!buf) {
		seterr(err, errlen, "not a Go binary: no .go.buildinfo");
		return -1;
	}
	rc = parse_buildinfo(g, buf, len, err, errlen);
	free(buf);
	return rc;
}

/* ---- .gopclntab ------------------------------------------------------------ */

/* A uvarint of at most 32 bits at *p (< t->n); false past the end. */
static bool pvarint(const struct pcln *t, uint64_t *p, uint32_t *v)
{
	uint32_t x = 0;

	for (unsigned shift = 0; shift < 35; shift += 7) {
		if (*p >= t->n)
			return false;
		uint8_t b = t->d[(*p)++];
		x |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* The value the pc-value table at pctab+off gives targetpc, in a function
 * starting at entry (runtime.pcvalue). false when there is no table, the
 * pc is past its end, or the table is corrupt. */
static bool pcvalue(const struct pcln *t, uint32_t off, uint64_t entry, uint64_t target,
		    int32_t *out)
{
	uint64_t p = t->pc + off, pc = entry;
	uint32_t val = (uint32_t)-1;	/* unsigned: deltas may wrap, harmlessly */

	if (!off || p >= t->n)
		return false;
	for (;;) {
		uint32_t uv, pd;
		bool first = pc == entry;
		if (!pvarint(t, &p, &uv) || (uv == 0 && !first))
			return false;
		uv = uv & 1 ? ~(uv >> 1) : uv >> 1;
		if (!pvarint(t, &p, &pd))
			return false;
		pc += (uint64_t)pd * t->quantum;
		val += uv;
		if (target < pc) {
			*out = (int32_t)val;
			return true;
		}
	}
}

/* uint32 at d[off], 0 when out of bounds (a 0 offset means "none" to every
 * caller). */
static uint32_t t32(const struct pcln *t, uint64_t off)
{
	return in(off, 4, t->n) ? le32(t->d + off) : 0;
}

/* A NUL-terminated string at d[base + off], or NULL. */
static const char *tstr(const struct pcln *t, uint64_t base, uint64_t off)
{
	if (base + off < base || base + off >= t->n)
		return NULL;
	return (const char *)t->d + base + off;
}

static const char *func_name(const struct pcln *t, uint32_t fo)
{
	return tstr(t, t->funcname, t32(t, (uint64_t)fo + t->esz));
}

/* The file and line of pc in the function whose _func is at fo. */
static void file_line(const struct pcln *t, uint32_t fo, uint64_t entry, uint64_t pc,
		      const char **file, int *line)
{
	int32_t fno, ln;

	*file = NULL;
	*line = 0;
	if (pcvalue(t, t32(t, (uint64_t)fo + t->esz + 16), entry, pc, &fno) && fno >= 0) {
		uint64_t cuoff = t32(t, (uint64_t)fo + t->esz + 28);
		uint64_t slot = t->cu + (cuoff + (uint64_t)fno) * 4;
		if (in(slot, 4, t->n)) {
			uint32_t fileoff = le32(t->d + slot);
			if (fileoff != UINT32_MAX)
				*file = tstr(t, t->file, fileoff);
		}
	}
	if (pcvalue(t, t32(t, (uint64_t)fo + t->esz + 20), entry, pc, &ln) && ln > 0)
		*line = ln;
}

/* Parses the header of the table in d[0, n); 0 or -1 with err set. */
static int pcln_header(struct pcln *t, char *err, size_t errlen)
{
	const uint8_t *d = t->d;

	if (t->n < 16 || d[4] || d[5] || (d[6] != 1 && d[6] != 2 && d[6] != 4) ||
	    (d[7] != 4 && d[7] != 8)) {
		seterr(err, errlen, "corrupt .gopclntab: bad header");
		return -1;
	}
	t->magic = le32(d);
	t->quantum = d[6];
	t->ptrsize = d[7];
	unsigned words = t->magic == PCLN_116 ? 7 : 8;
	if (t->magic != PCLN_116 && t->magic != PCLN_118 && t->magic != PCLN_120) {
		seterr(err, errlen, "unsupported .gopclntab format (magic 0x%08x; Go 1.16+ needed)",
		       t->magic);
		return -1;
	}
	if (!in(8, (uint64_t)words * t->ptrsize, t->n)) {
		seterr(err, errlen, "corrupt .gopclntab: truncated header");
		return -1;
	}
#define W(k) leptr(d + 8 + (k) * t->ptrsize, t->ptrsize)
	t->nfunc = W(0);
	if (t->magic == PCLN_116) {
		t->text = 0;
		t->funcname = W(2);
		t->cu = W(3);
		t->file = W(4);
		t->pc = W(5);
		t->func = W(6);
		t->fsz = t->esz = t->ptrsize;
		t->hdr = t->ptrsize + 36;
	} else {
		t->text = W(2);
		t->funcname = W(3);
		t->cu = W(4);
		t->file = W(5);
		t->pc = W(6);
		t->func = W(7);
		t->fsz = t->esz = 4;
		t->hdr = t->magic == PCLN_118 ? 40 : 44;
	}
#undef W
	if (t->funcname >= t->n || t->cu >= t->n || t->file >= t->n || t->pc >= t->n ||
	    t->func >= t->n || !t->nfunc || t->nfunc > t->n / (2 * t->fsz) ||
	    !in(t->func, (2 * t->nfunc + 1) * t->fsz, t->n)) {
		seterr(err, errlen, "corrupt .gopclntab: tables out of bounds");
		return -1;
	}
	return 0;
}

struct name_ix {
	const char *name;
	uint32_t ix;
	uint8_t rank;		/* among equal names, the lowest wins */
};

static int cmp_name_ix(const void *a, const void *b)
{
	const struct name_ix *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return (x->ix > y->ix) - (x->ix < y->ix);
}

/* _func.funcID of the ABI wrappers the linker generates, by Go version
 * (internal/abi FuncIDWrapper; runtime funcID_wrapper before 1.21). */
static const struct {
	int minor;		/* this Go 1.minor and later... */
	uint8_t wrapper;	/* ...use this funcID for wrappers */
} funcid_wrapper[] = {
	{ 19, 21 },	/* 1.19–1.21 */
	{ 22, 22 },	/* 1.22: FuncID_corostart added before it */
};
#define FUNCFLAG_ASM	4

/* Two pclntab functions share a name when one is an assembly function or
 * a Go function called from assembly and the other its ABI wrapper; .symtab
 * tells them apart (foo vs foo.abi0), the pclntab does not. Rank them so
 * the name finds what .symtab calls foo, the ABIInternal one: not the
 * assembly body, and not a wrapper around a Go body. */
static uint8_t func_rank(const struct mw_gobin *g, uint32_t fo)
{
	const struct pcln *t = &g->t;
	uint8_t id = t->d[fo + t->hdr - 4], flag = t->magic == PCLN_116 ? 0 : t->d[fo + t->hdr - 3];
	int wrapper = -1;

	if (g->major == 1)
		for (size_t i = 0; i < sizeof(funcid_wrapper) / sizeof(funcid_wrapper[0]); i++)
			if (g->minor >= funcid_wrapper[i].minor)
				wrapper = funcid_wrapper[i].wrapper;
	return (uint8_t)((flag & FUNCFLAG_ASM ? 2 : 0) + (id == wrapper ? 1 : 0));
}

/* Reads the functab into g->entries/funcoffs, checking each _func, and
 * sorts the names. 0 or -1 with err set. */
static int pcln_index(struct mw_gobin *g, char *err, size_t errlen)
{
	struct pcln *t = &g->t;
	size_t nf = (size_t)t->nfunc;
	struct name_ix *ni;

	g->entries = malloc((nf + 1) * sizeof(*g->entries));
	g->funcoffs = malloc(nf * sizeof(*g->funcoffs));
	g->by_name = malloc(nf * sizeof(*g->by_name));
	ni = malloc(nf * sizeof(*ni));
	if (!g->entries || !g->funcoffs || !g->by_name || !ni) {
		free(ni);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i <= nf; i++) {
		const uint8_t *e = t->d + t->func + 2 * i * t->fsz;
		uint64_t pc = t->fsz == 4 ? t->text + le32(e) : leptr(e, t->fsz);
		if (i && pc < g->entries[i - 1])
			goto corrupt;
		g->entries[i] = pc;
		if (i == nf)
			break;
		uint64_t fo = t->func + leptr(e + t->fsz, t->fsz);
		if (!in(fo, t->hdr, t->n) || fo > UINT32_MAX)
			goto corrupt;
		/* The _func must agree with the functab on its entry. */
		uint64_t fe = t->esz == 4 ? t->text + le32(t->d + fo) : leptr(t->d + fo, t->esz);
		if (fe != pc)
			goto corrupt;
		g->funcoffs[i] = (uint32_t)fo;
		ni[i].name = func_name(t, (uint32_t)fo);
		ni[i].ix = (uint32_t)i;
		ni[i].rank = func_rank(g, (uint32_t)fo);
		if (!ni[i].name)
			goto corrupt;
	}
	qsort(ni, nf, sizeof(*ni), cmp_name_ix);
	for (size_t i = 0; i < nf; i++)
		g->by_name[i] = ni[i].ix;
	free(ni);
	return 0;
corrupt:
	free(ni);
	seterr(err, errlen, "corrupt .gopclntab: bad function table");
	return -1;
}

/* Takes ownership of buf (n bytes plus one spare) as the pclntab loaded at
 * vaddr, parses and indexes it. 0 or -1 with err set (buf freed). */
static int pcln_load(struct mw_gobin *g, uint8_t *buf, size_t n, uint64_t vaddr, char *err,
		     size_t errlen)
{
	struct pcln *t = &g->t;

	memset(t, 0, sizeof(*t));
	t->d = buf;
	t->n = n;
	t->d[n] = 0;
	t->vaddr = vaddr;
	if (pcln_header(t, err, errlen))
		goto fail;
	/* textStart is a pointer; linkers that leave RELA targets 0 (lld)
	 * keep it only in the relocation. */
	if (t->magic != PCLN_116 && !t->text && vaddr)
		reloc_at(g, vaddr + 8 + 2 * (uint64_t)t->ptrsize, &t->text);
	if (t->magic != PCLN_116 && !t->text) {
		seterr(err, errlen, "corrupt .gopclntab: no text start");
		goto fail;
	}
	if (pcln_index(g, err, errlen))
		goto fail;
	return 0;
fail:
	free(g->entries);
	free(g->funcoffs);
	free(g->by_name);
	g->entries = NULL;
	g->funcoffs = NULL;
	g->by_name = NULL;
	free(t->d);
	memset(t, 0, sizeof(*t));
	return -1;
}

/* Without a named section: the magic in a non-executable segment, at a
 * 4-byte aligned address, whose header and function table parse. A header
 * is checked where it lies; only a few that pass are copied out and
 * indexed, so a segment full of fake headers costs a bounded amount. */
static int pcln_search(struct mw_gobin *g, char *err, size_t errlen)
{
	int tries = 0;

	for (int i = 0; i < g->nsegs && tries < MAX_CANDIDATES; i++) {
		const struct seg *s = &g->segs[i];
		size_t len;
		uint8_t *seg;

		if (s->flags & PF_X || s->filesz < 64)
			continue;
		seg = read_seg(g, s, &len);
		if (!seg)
			continue;
		for (size_t o = (4 - (s->vaddr & 3)) & 3; o + 64 <= len && tries < MAX_CANDIDATES;
		     o += 4) {
			uint32_t m = le32(seg + o);
			if ((m != PCLN_120 && m != PCLN_118 && m != PCLN_116) || seg[o + 4] || seg[o + 5])
				continue;
			struct pcln probe = { .d = seg + o, .n = len - o };
			if (pcln_header(&probe, NULL, 0))
				continue;
			tries++;
			uint8_t *buf = malloc(len - o + 1);
			if (!buf)
				break;
			memcpy(buf, seg + o, len - o);
			if (!pcln_load(g, buf, len - o, s->vaddr + o, NULL, 0)) {
				free(seg);
				return 0;
			}
		}
		free(seg);
	}
	seterr(err, errlen, "not a Go binary: no .gopclntab");
	return -1;
}

static int read_pclntab(struct mw_gobin *g, const struct elf_info *ei, char *err, size_t errlen)
{
	if (ei->has_pc) {
		size_t n = ei->pc_size > MAX_TABLE ? (size_t)MAX_TABLE : (size_t)ei->pc_size;
		uint8_t *buf = malloc(n + 1);
		if (!buf || pread_full(g->fd, buf, n, ei->pc_off)) {
			free(buf);
			seterr(err, errlen, "cannot read .gopclntab");
			return -1;
		}
		return pcln_load(g, buf, n, ei->pc_addr, err, errlen);
	}
	return pcln_search(g, err, errlen);
}

/* ---- .symtab --------------------------------------------------------------- */

static const char *sym_name(const struct mw_gobin *g, const struct sym *s)
{
	return g->symnames + s->name;
}

static int cmp_sym_name(const void *a, const void *b, void *gp)
{
	const struct sym *x = a, *y = b;
	int c = strcmp(sym_name(gp, x), sym_name(gp, y));
	return c ? c : (x->addr > y->addr) - (x->addr < y->addr);
}

static int cmp_sym_addr(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

struct symread {
	struct mw_gobin *g;
	size_t cap, pcap;
	int oom;
};

/* One symbol: a FUNC into syms and the name pool, go:func.* noted.
 * Non-zero when the table is full or memory ran out (oom set). */
static int add_sym(void *ctx, const GElf_Sym *s, const char *name)
{
	struct symread *c = ctx;
	struct mw_gobin *g = c->g;

	if (GELF_ST_TYPE(s->st_info) == STT_OBJECT && !g->gofunc_sym) {
		/* Where FUNCDATA offsets count from (inline trees). */
		if (!strcmp(name, "go:func.*") || !strcmp(name, "go.func.*"))
			g->gofunc_sym = s->st_value;
		return 0;
	}
	if (GELF_ST_TYPE(s->st_info) != STT_FUNC)
		return 0;
	if (g->nsyms >= MAX_SYMS)
		return 1;
	size_t nl = strlen(name) + 1;
	if (g->symnames_len + nl > UINT32_MAX)
		return 1;
	if (g->nsyms == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 1024;
		struct sym *p = realloc(g->syms, nc * sizeof(*p));
		if (!p)
			return c->oom = 1;
		g->syms = p;
		c->cap = nc;
	}
	if (g->symnames_len + nl > c->pcap) {
		size_t nc = c->pcap ? c->pcap * 2 : 65536;
		while (nc < g->symnames_len + nl)
			nc *= 2;
		char *p = realloc(g->symnames, nc);
		if (!p)
			return c->oom = 1;
		g->symnames = p;
		c->pcap = nc;
	}
	memcpy(g->symnames + g->symnames_len, name, nl);
	g->syms[g->nsyms++] = (struct sym){ s->st_value, s->st_size, (uint32_t)g->symnames_len };
	g->symnames_len += nl;
	return 0;
}

/* Copies the FUNC symbols into syms and one name pool. */
static int read_symtab(struct mw_gobin *g, Elf *e, Elf_Scn *scn)
{
	struct symread c = { g, 0, 0, 0 };

	mw_elf_syms(e, scn, add_sym, &c);
	if (c.oom)
		return -1;
	if (!g->nsyms)
		return 0;
	g->syms_addr = malloc(g->nsyms * sizeof(*g->syms_addr));
	if (!g->syms_addr)
		return -1;
	qsort_r(g->syms, g->nsyms, sizeof(*g->syms), cmp_sym_name, g);
	memcpy(g->syms_addr, g->syms, g->nsyms * sizeof(*g->syms));
	qsort(g->syms_addr, g->nsyms, sizeof(*g->syms_addr), cmp_sym_addr);
	return 0;
}

/* The first symbol named name in a name-sorted array, or NULL. */
static const struct sym *sym_find(const struct mw_gobin *g, const char *name)
{
	size_t lo = 0, hi = g->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(sym_name(g, &g->syms[mid]), name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < g->nsyms && !strcmp(sym_name(g, &g->syms[lo]), name))
		return &g->syms[lo];
	return NULL;
}

/* ---- inline trees: moduledata.gofunc ---------------------------------------- */

/* Offsets in runtime.moduledata (64-bit): funcnametab's data pointer, text,
 * and gofunc, which 1.20 moved by 16 bytes (covctrs, ecovctrs). */
#define MD_FUNCNAMETAB	8
#define MD_TEXT		176
#define MD_GOFUNC_119	304
#define MD_GOFUNC_120	320

/* Checks that a moduledata at md belongs to our pclntab; sets gofunc. */
static bool try_moduledata(struct mw_gobin *g, uint64_t md)
{
	const struct pcln *t = &g->t;
	uint64_t fnt, text, gofunc;

	if (read_ptr(g, md + MD_FUNCNAMETAB, 8, &fnt) || fnt != t->vaddr + t->funcname ||
	    read_ptr(g, md + MD_TEXT, 8, &text) || text != t->text ||
	    read_ptr(g, md + (t->magic == PCLN_118 ? MD_GOFUNC_119 : MD_GOFUNC_120), 8, &gofunc) ||
	    !seg_of(g, gofunc))
		return false;
	g->gofunc = gofunc;
	return true;
}

/* gofunc is where FUNCDATA offsets (the inline trees) count from: the
 * go:func.* symbol, or, stripped, the field of runtime.firstmoduledata,
 * found as the pointer to the pclntab whose neighbours agree. Only the
 * 1.19+ layouts on 64-bit targets are known here. */
static void find_gofunc(struct mw_gobin *g)
{
	const struct pcln *t = &g->t;

	if (t->magic == PCLN_116 || t->ptrsize != 8 || !t->vaddr ||
	    (g->major == 1 && g->minor < 19) || !g->major)
		return;
	if (g->gofunc_sym && seg_of(g, g->gofunc_sym)) {
		g->gofunc = g->gofunc_sym;
		return;
	}
	/* go:func.* is an object, not a function: look in the relocations and
	 * the writable segments for moduledata.pcHeader. */
	int tries = 0;
	for (size_t i = 0; i < g->nrelocs && tries < MAX_CANDIDATES; i++)
		if (g->relocs[i].addend == t->vaddr && (tries++, try_moduledata(g, g->relocs[i].off)))
			return;
	for (int i = 0; i < g->nsegs && tries < 2 * MAX_CANDIDATES; i++) {
		const struct seg *sg = &g->segs[i];
		size_t len;
		uint8_t *buf;

		if (!(sg->flags & PF_W) || sg->flags & PF_X || !(buf = read_seg(g, sg, &len)))
			continue;
		for (size_t o = (8 - (sg->vaddr & 7)) & 7; o + 8 <= len && tries < 2 * MAX_CANDIDATES;
		     o += 8) {
			if (le64(buf + o) == t->vaddr && (tries++, try_moduledata(g, sg->vaddr + o))) {
				free(buf);
				return;
			}
		}
		free(buf);
	}
}

/* ---- open / close ---------------------------------------------------------- */

struct mw_gobin *mw_gobin_open(const char *path, char *err, size_t errlen)
{
	struct mw_gobin *g = calloc(1, sizeof(*g));
	struct elf_info ei = { 0 };
	struct stat st;
	Elf *e = NULL;
	GElf_Ehdr eh;

	if (err && errlen)
		err[0] = 0;
	if (!g) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	elf_version(EV_CURRENT);
	g->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (g->fd < 0) {
		seterr(err, errlen, "cannot open: %s", strerror(errno));
		free(g);
		return NULL;
	}
	if (fstat(g->fd, &st) || !S_ISREG(st.st_mode)) {
		seterr(err, errlen, "not a regular file");
		goto fail;
	}
	g->fsize = (uint64_t)st.st_size;
	e = elf_begin(g->fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		seterr(err, errlen, "not an ELF file");
		goto fail;
	}
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		seterr(err, errlen, "big-endian ELF is not supported");
		goto fail;
	}
	g->pie = eh.e_type == ET_DYN;
	ei.machine = eh.e_machine;
	if (read_phdrs(g, e) || !g->nsegs) {
		seterr(err, errlen, "no loadable segments");
		goto fail;
	}
	read_sections(e, &ei, g->fsize);
	g->stripped = !ei.symtab;
	read_relocs(g, e, ei.machine);
	if (read_buildinfo(g, &ei, err, errlen) || read_pclntab(g, &ei, err, errlen))
		goto fail;
	if (ei.symtab && read_symtab(g, e, ei.symtab)) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	find_gofunc(g);
	elf_end(e);
	return g;
fail:
	if (e)
		elf_end(e);
	mw_gobin_close(g);
	return NULL;
}

void mw_gobin_close(struct mw_gobin *g)
{
	if (!g)
		return;
	if (g->fd >= 0)
		close(g->fd);
	free(g->version);
	free(g->path);
	for (size_t i = 0; i < g->nsettings; i++) {
		free(g->settings[i].key);
		free(g->settings[i].val);
	}
	free(g->settings);
	free(g->t.d);
	free(g->entries);
	free(g->funcoffs);
	free(g->by_name);
	free(g->syms);
	free(g->syms_addr);
	free(g->symnames);
	free(g->relocs);
	free(g);
}

/* ---- queries --------------------------------------------------------------- */

const char *mw_gobin_version(const struct mw_gobin *g)
{
	return g->version;
}

int mw_gobin_goversion(const struct mw_gobin *g, int *major, int *minor)
{
	if (!g->major)
		return -EINVAL;
	if (major)
		*major = g->major;
	if (minor)
		*minor = g->minor;
	return 0;
}

const char *mw_gobin_setting(const struct mw_gobin *g, const char *key)
{
	for (size_t i = 0; i < g->nsettings; i++)
		if (!strcmp(g->settings[i].key, key))
			return g->settings[i].val;
	return NULL;
}

const char *mw_gobin_path(const struct mw_gobin *g)
{
	return g->path;
}

int mw_gobin_stripped(const struct mw_gobin *g)
{
	return g->stripped;
}

int mw_gobin_pie(const struct mw_gobin *g)
{
	return g->pie;
}

size_t mw_gobin_nfuncs(const struct mw_gobin *g)
{
	return (size_t)g->t.nfunc;
}

int mw_gobin_func_at(const struct mw_gobin *g, size_t i, const char **name, uint64_t *entry,
		     uint64_t *end)
{
	if (i >= g->t.nfunc)
		return -ENOENT;
	if (name)
		*name = func_name(&g->t, g->funcoffs[i]);
	if (entry)
		*entry = g->entries[i];
	if (end)
		*end = g->entries[i + 1];
	return 0;
}

int mw_gobin_vaddr_to_off(const struct mw_gobin *g, uint64_t vaddr, uint64_t *off)
{
	const struct seg *s = seg_of(g, vaddr);

	if (!s)
		return -ENOENT;
	*off = s->off + (vaddr - s->vaddr);
	return 0;
}

size_t mw_gobin_read(const struct mw_gobin *g, uint64_t vaddr, void *buf, size_t len)
{
	const struct seg *s = seg_of(g, vaddr);

	if (!s || !len)
		return 0;
	if (len > s->filesz - (vaddr - s->vaddr))
		len = (size_t)(s->filesz - (vaddr - s->vaddr));
	ssize_t r;
	do
		r = pread(g->fd, buf, len, (off_t)(s->off + (vaddr - s->vaddr)));
	while (r < 0 && errno == EINTR);
	return r > 0 ? (size_t)r : 0;
}

int mw_gobin_func(const struct mw_gobin *g, const char *name, uint64_t *entry, uint64_t *end)
{
	const struct sym *s = g->nsyms ? sym_find(g, name) : NULL;
	size_t lo = 0, hi = (size_t)g->t.nfunc;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(func_name(&g->t, g->funcoffs[g->by_name[mid]]), name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	bool in_pcln = lo < g->t.nfunc && !strcmp(func_name(&g->t, g->funcoffs[g->by_name[lo]]), name);
	if (s) {
		if (entry)
			*entry = s->addr;
		if (end)
			*end = s->size ? s->addr + s->size :
			       in_pcln ? g->entries[g->by_name[lo] + 1] : s->addr;
		return 0;
	}
	if (!in_pcln)
		return -ENOENT;
	if (entry)
		*entry = g->entries[g->by_name[lo]];
	if (end)
		*end = g->entries[g->by_name[lo] + 1];
	return 0;
}

/* The index of the Go function holding pc, or -1. */
static long func_at(const struct mw_gobin *g, uint64_t pc)
{
	size_t nf = (size_t)g->t.nfunc, lo = 0, hi = nf;

	if (!nf || pc < g->entries[0] || pc >= g->entries[nf])
		return -1;
	/* The last entry <= pc. */
	while (lo + 1 < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->entries[mid] <= pc)
			lo = mid;
		else
			hi = mid;
	}
	return (long)lo;
}

/* A .symtab function holding pc (C code in a cgo binary), or NULL. */
static const struct sym *sym_at(const struct mw_gobin *g, uint64_t pc)
{
	size_t lo = 0, hi = g->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->syms_addr[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct sym *s = &g->syms_addr[lo - 1];
	return pc - s->addr < s->size ? s : NULL;
}

int mw_gobin_pc(const struct mw_gobin *g, uint64_t pc, const char **func, uint64_t *entry,
		const char **file, int *line)
{
	long i = func_at(g, pc);
	const char *fn, *fl = NULL;
	uint64_t en;
	int ln = 0;

	if (i >= 0) {
		uint32_t fo = g->funcoffs[i];
		en = g->entries[i];
		fn = func_name(&g->t, fo);
		file_line(&g->t, fo, en, pc, &fl, &ln);
	} else {
		const struct sym *s = sym_at(g, pc);
		if (!s)
			return -ENOENT;
		en = s->addr;
		fn = sym_name(g, s);
	}
	if (func)
		*func = fn;
	if (entry)
		*entry = en;
	if (file)
		*file = fl;
	if (line)
		*line = ln;
	return 0;
}

/* Where function i's inline tree is (a vaddr), or 0. */
static uint64_t inltree(const struct mw_gobin *g, long i, uint32_t *npcdata)
{
	const struct pcln *t = &g->t;
	uint32_t fo = g->funcoffs[i];
	uint8_t nfuncdata;

	if (!g->gofunc || !in(fo, t->hdr, t->n))
		return 0;
	*npcdata = t32(t, (uint64_t)fo + t->esz + 24);
	nfuncdata = t->d[fo + t->hdr - 1];
	if (nfuncdata <= FUNCDATA_INLTREE || *npcdata <= PCDATA_INLTREEINDEX)
		return 0;
	uint64_t slot = (uint64_t)fo + t->hdr + ((uint64_t)*npcdata + FUNCDATA_INLTREE) * 4;
	if (!in(slot, 4, t->n))
		return 0;
	uint32_t off = le32(t->d + slot);
	return off == UINT32_MAX ? 0 : g->gofunc + off;
}

int mw_gobin_pc_inline(const struct mw_gobin *g, uint64_t pc, struct mw_gobin_frame *out, int max)
{
	const struct pcln *t = &g->t;
	long i = func_at(g, pc);
	uint32_t npcdata = 0;
	uint64_t tree, cur = pc;
	int n = 0;
	/* inlinedCall: 1.20+ {funcID, pad[3], nameOff, parentPc, startLine};
	 * 1.19 {parent, funcID, pad, file, line, func_, parentPc}. */
	unsigned esize = t->magic == PCLN_118 ? 20 : 16;
	unsigned name_at = t->magic == PCLN_118 ? 12 : 4, ppc_at = name_at + 4;

	if (i < 0) {
		struct mw_gobin_frame f = { 0 };
		if (mw_gobin_pc(g, pc, &f.func, NULL, &f.file, &f.line))
			return -ENOENT;
		if (max > 0)
			out[0] = f;
		return 1;
	}
	uint32_t fo = g->funcoffs[i];
	uint64_t entry = g->entries[i];
	tree = inltree(g, i, &npcdata);
	uint32_t ixtab = tree ? t32(t, (uint64_t)fo + t->hdr + PCDATA_INLTREEINDEX * 4) : 0;
	for (int depth = 0; ixtab && depth < MAX_INLINE; depth++) {
		int32_t ix;
		uint8_t call[20];
		if (!pcvalue(t, ixtab, entry, cur, &ix) || ix < 0 ||
		    read_va(g, tree + (uint64_t)ix * esize, call, esize))
			break;
		const char *name = tstr(t, t->funcname, le32(call + name_at));
		if (!name)
			break;
		if (n < max) {
			out[n].func = name;
			out[n].inlined = 1;
			file_line(t, fo, entry, cur, &out[n].file, &out[n].line);
		}
		n++;	/* past max: counted, not written (the innermost are kept) */
		cur = entry + (uint64_t)(int64_t)(int32_t)le32(call + ppc_at);
		if (cur >= g->entries[i + 1] || cur < entry)
			break;
	}
	if (n < max) {
		out[n].func = func_name(t, fo);
		out[n].inlined = 0;
		file_line(t, fo, entry, cur, &out[n].file, &out[n].line);
	}
	return n + 1;
}
