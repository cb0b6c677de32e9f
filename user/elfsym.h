/* elfsym.h — walking an ELF symbol table: the one loop the probe's site
 * search, the symbolizer and the Go binary reader share (libelf only). */
#ifndef MW_ELFSYM_H
#define MW_ELFSYM_H

#include <gelf.h>
#include <libelf.h>

/* The first section of type TYPE (SHT_SYMTAB, SHT_DYNSYM), or NULL. */
static inline Elf_Scn *mw_elf_section(Elf *e, Elf64_Word type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			return scn;
	return NULL;
}

/* Calls fn(ctx, sym, name) for every defined symbol of the symbol table
 * SCN (st_shndx not SHN_UNDEF, st_value not 0, a non-empty name) until fn
 * returns non-zero. Returns fn's non-zero value, 0 at the end, or -1 when
 * SCN holds no symbol data. */
static inline int mw_elf_syms(Elf *e, Elf_Scn *scn,
			      int (*fn)(void *ctx, const GElf_Sym *s, const char *name), void *ctx)
{
	GElf_Shdr sh;
	Elf_Data *d;
	size_t esz = gelf_fsize(e, ELF_T_SYM, 1, EV_CURRENT);

	if (!scn || !gelf_getshdr(scn, &sh) || !(d = elf_getdata(scn, NULL)) || !esz ||
	    d->d_type != ELF_T_SYM)
		return -1;
	for (size_t i = 1, n = d->d_size / esz; i < n; i++) {
		GElf_Sym s;
		const char *name;
		int r;

		if (!gelf_getsym(d, (int)i, &s))
			break;
		if (s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		if (!(name = elf_strptr(e, sh.sh_link, s.st_name)) || !*name)
			continue;
		if ((r = fn(ctx, &s, name)))
			return r;
	}
	return 0;
}

#endif
