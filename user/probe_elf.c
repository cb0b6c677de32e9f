/* probe_elf.c — ELF symbol lookup, library resolution, placement (probe_elf.h). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "probe_elf.h"
#include "elfsym.h"
#include "procmaps.h"

static void elf_init(void)
{
	static int done;

	if (!done) {
		elf_version(EV_CURRENT);
		done = 1;
	}
}

/* st_value → file offset through the PT_LOAD segment that holds it. */
static int vaddr_to_off(Elf *e, uint64_t va, uint64_t *off)
{
	size_t n;

	if (elf_getphdrnum(e, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (va >= ph.p_vaddr && va < ph.p_vaddr + ph.p_filesz) {
			*off = va - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -1;
}

struct scan {
	Elf *e;
	const struct mw_runtime *rt;
	int want_reads;
	struct mw_target *t;
};

/* One symbol: a site when it names one of the runtime's probe points. */
static int scan_sym(void *ctx, const GElf_Sym *s, const char *name)
{
	struct scan *c = ctx;
	const struct mw_runtime *rt = c->rt;
	struct mw_target *t = c->t;

	if (GELF_ST_TYPE(s->st_info) != STT_FUNC)
		return 0;
	for (int p = 0; p < MW_P_N; p++) {
		if (p == MW_P_READ && !c->want_reads)
			continue;
		for (int k = 0; k < MW_P_SYMS && rt->sym[p][k]; k++) {
			if (strcmp(name, rt->sym[p][k]))
				continue;
			int dup = 0;
			for (int x = 0; x < t->nsites && !dup; x++)
				dup = t->site[x].sym == rt->sym[p][k];
			uint64_t off;
			if (dup || t->nsites >= MW_MAX_SITES || vaddr_to_off(c->e, s->st_value, &off))
				continue;
			struct mw_site *st = &t->site[t->nsites++];
			st->point = p;
			st->sym = rt->sym[p][k];
			st->vaddr = s->st_value;
			st->file_off = off;
		}
	}
	return 0;
}

/* Probe points with at least one site. */
static int points_found(const struct mw_target *t, unsigned *mask)
{
	unsigned m = 0;
	int n = 0;

	for (int i = 0; i < t->nsites; i++)
		m |= 1u << t->site[i].point;
	for (int p = 0; p < MW_P_N; p++)
		n += !!(m & (1u << p));
	if (mask)
		*mask = m;
	return n;
}

int mw_elf_sites(const char *path, const struct mw_runtime *rt, int want_reads, struct mw_target *t)
{
	int fd;
	Elf *e;

	elf_init();
	t->nsites = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		close(fd);
		return -ENOEXEC;
	}
	/* .symtab first (has static functions too), then .dynsym for what is left. */
	struct scan c = { e, rt, want_reads, t };
	mw_elf_syms(e, mw_elf_section(e, SHT_SYMTAB), scan_sym, &c);
	mw_elf_syms(e, mw_elf_section(e, SHT_DYNSYM), scan_sym, &c);
	for (int i = 0; i < t->nsites; i++) {
		struct mw_site *s = &t->site[i];
		uint8_t code[16] = { 0 };
		ssize_t n = pread(fd, code, sizeof(code), (off_t)s->file_off);
		mw_place(code, n > 0 ? (size_t)n : 0, &s->place);
		s->probe_off = s->file_off + s->place.skip;
		s->cookie = 0;
	}
	elf_end(e);
	close(fd);
	return points_found(t, NULL);
}

/* ---- libraries ------------------------------------------------------------- */

static void add_dirs(char (*dirs)[PATH_MAX], int *nd, int max, const char *list, const char *origin)
{
	char buf[4096];
	char *save = NULL;

	if (!list || !*list)
		return;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = strtok_r(buf, ":", &save); tok && *nd < max; tok = strtok_r(NULL, ":", &save)) {
		const char *o = strstr(tok, "$ORIGIN");
		const char *o2 = strstr(tok, "${ORIGIN}");
		if (o)
			snprintf(dirs[(*nd)++], PATH_MAX, "%.*s%s%s", (int)(o - tok), tok, origin, o + 7);
		else if (o2)
			snprintf(dirs[(*nd)++], PATH_MAX, "%.*s%s%s", (int)(o2 - tok), tok, origin, o2 + 9);
		else
			snprintf(dirs[(*nd)++], PATH_MAX, "%s", tok);
	}
}

int mw_elf_needed(const char *exe, char (*out)[PATH_MAX], int max)
{
	char needed[32][256];
	int nneeded = 0, nout = 0;
	char rpath[2048] = "", runpath[2048] = "";
	char origin[PATH_MAX], real[PATH_MAX];
	int fd;
	Elf *e;
	Elf_Scn *scn = NULL;

	elf_init();
	if (!realpath(exe, real))
		snprintf(real, sizeof(real), "%s", exe);
	snprintf(origin, sizeof(origin), "%s", real);
	char *slash = strrchr(origin, '/');
	if (slash)
		*slash = 0;
	fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	e = elf_begin(fd, ELF_C_READ, NULL);
	while (e && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Dyn dyn;
			if (!gelf_getdyn(d, (int)i, &dyn))
				break;
			const char *s = NULL;
			if (dyn.d_tag == DT_NEEDED || dyn.d_tag == DT_RPATH || dyn.d_tag == DT_RUNPATH)
				s = elf_strptr(e, sh.sh_link, dyn.d_un.d_val);
			if (!s)
				continue;
			if (dyn.d_tag == DT_NEEDED && nneeded < 32)
				snprintf(needed[nneeded++], sizeof(needed[0]), "%s", s);
			else if (dyn.d_tag == DT_RPATH)
				snprintf(rpath, sizeof(rpath), "%s", s);
			else if (dyn.d_tag == DT_RUNPATH)
				snprintf(runpath, sizeof(runpath), "%s", s);
		}
	}
	if (e)
		elf_end(e);
	close(fd);

	/* ld.so's order: RPATH (only without RUNPATH), LD_LIBRARY_PATH, RUNPATH, defaults. */
	static char dirs[64][PATH_MAX];
	int nd = 0;
	if (!*runpath)
		add_dirs(dirs, &nd, 64, rpath, origin);
	add_dirs(dirs, &nd, 64, getenv("LD_LIBRARY_PATH"), origin);
	add_dirs(dirs, &nd, 64, runpath, origin);
	add_dirs(dirs, &nd, 64, "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:"
		 "/lib:/usr/lib:/usr/local/lib", origin);
	for (int i = 0; i < nneeded && nout < max; i++) {
		if (strchr(needed[i], '/')) {
			snprintf(out[nout++], PATH_MAX, "%s", needed[i]);
			continue;
		}
		for (int j = 0; j < nd; j++) {
			char p[PATH_MAX];
			if (snprintf(p, sizeof(p), "%s/%s", dirs[j], needed[i]) >= (int)sizeof(p))
				continue;
			if (access(p, R_OK) == 0) {
				snprintf(out[nout++], PATH_MAX, "%s", p);
				break;
			}
		}
	}
	return nout;
}

/* File-backed mappings of a process, deduplicated, in order. */
static int maps_libs(int pid, char (*out)[PATH_MAX], int max)
{
	char *text = mw_maps_read(pid);
	const char *l = text;
	struct mw_maps_ent m;
	int n = 0;

	while (n < max && mw_maps_next(&l, &m)) {
		if (!m.pathlen || m.path[0] != '/' || m.deleted || m.pathlen >= PATH_MAX)
			continue;
		int dup = 0;
		for (int i = 0; i < n && !dup; i++)
			dup = strlen(out[i]) == m.pathlen && !memcmp(out[i], m.path, m.pathlen);
		if (!dup)
			snprintf(out[n++], PATH_MAX, "%.*s", (int)m.pathlen, m.path);
	}
	free(text);
	return n;
}

static void append(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	if (n + 3 >= len)
		return;
	snprintf(buf + n, len - n, "%s%s", n ? ", " : "", s);
}

void mw_target_missing(struct mw_target *t, const struct mw_runtime *rt, unsigned found)
{
	for (int p = 0; p < MW_P_N; p++)
		if ((rt->required & (1u << p)) && !(found & (1u << p)))
			append(t->missing, sizeof(t->missing), rt->sym[p][0]);
}

int mw_find_target(const char *exe, int pid, int use_maps, int want_reads, struct mw_target *t)
{
	static char cand[128][PATH_MAX];
	static struct mw_target cur;
	const struct mw_runtime *rt = mw_runtime_c();
	int ncand = 0, best = -1;
	unsigned best_mask = 0;

	memset(t, 0, sizeof(*t));
	/* A Go executable carries its own runtime. */
	int g = mw_go_target(exe, want_reads, t);
	if (g > 0)
		return 0;
	if (g < 0)
		return -ENOTSUP;

	snprintf(cand[ncand++], PATH_MAX, "%s", exe);
	if (use_maps == MW_FIND_FILE_ONLY)
		;
	else if (use_maps && pid > 0)
		ncand += maps_libs(pid, cand + ncand, 128 - ncand);
	else
		ncand += mw_elf_needed(exe, cand + ncand, 128 - ncand);

	char real_exe[PATH_MAX];
	if (!realpath(exe, real_exe))
		real_exe[0] = 0;
	for (int i = 0; i < ncand; i++) {
		char real[PATH_MAX];
		unsigned mask;
		/* The exe shows up again in its own maps. */
		if (i > 0 && realpath(cand[i], real) && !strcmp(real, real_exe))
			continue;
		memset(&cur, 0, sizeof(cur));
		int n = mw_elf_sites(cand[i], rt, want_reads, &cur);
		if (n < 0)
			continue;
		append(t->looked, sizeof(t->looked), cand[i]);
		points_found(&cur, &mask);
		if ((mask & rt->required) == rt->required) {
			snprintf(cur.module, sizeof(cur.module), "%s", cand[i]);
			snprintf(cur.looked, sizeof(cur.looked), "%s", t->looked);
			cur.is_exe = i == 0;
			cur.rt = rt;
			cur.layout = rt->layout;
			snprintf(cur.layout_src, sizeof(cur.layout_src), "table");
			snprintf(cur.symsrc, sizeof(cur.symsrc), "symbols");
			*t = cur;
			return 0;
		}
		if (n > best) {
			best = n;
			best_mask = mask;
		}
	}
	mw_target_missing(t, rt, best < 0 ? 0 : best_mask);
	return -ENOENT;
}
