/* probe_go.c — where to probe an unmodified Go binary (probe_elf.h).
 *
 * The Go version comes from the binary's build info (.go.buildinfo, kept
 * by -ldflags='-s -w'), and picks a row of the runtime table (layout.c).
 * Functions come from .symtab, or from .gopclntab when the binary is
 * stripped (gobin.c). Each probe's site is found by decoding the function
 * (gosites.c): never +0 (single-stepped, and it fires twice when morestack
 * re-enters the function), never a single-stepped instruction; the push
 * after the stack check (1.21+), the first emulated instruction after the
 * prologue (1.19), the end-of-iteration block of mapiternext. A binary
 * links only the variants it uses, so a probe point is satisfied by any of
 * its symbols; the points the row marks required must all be found.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include "gobin.h"
#include "gosites.h"
#include "probe_elf.h"

/* ABIInternal's argument registers, in order (layout.c's argument positions). */
static const int go_arg_reg[6] = { MW_GO_RAX, MW_GO_RBX, MW_GO_RCX, MW_GO_RDI, MW_GO_RSI, MW_GO_R8 };

/* The registers the BPF program of a probe point reads: the arguments the
 * layout names for it, and R14 (g). A site must come before any
 * instruction that writes one of them. */
static unsigned point_regs(const struct mw_runtime *rt, int point)
{
	const struct mw_layout *l = &rt->layout;
	unsigned m = MW_GO_REG(MW_GO_R14);
	int args[3] = { -1, -1, -1 };

	switch (point) {
	case MW_P_ITERINIT: args[0] = l->arg_h; args[1] = l->arg_init_it; break;
	case MW_P_ITERDONE: args[0] = l->arg_done_it; break;
	case MW_P_EVACUATE: args[0] = l->arg_h; args[1] = l->arg_t; args[2] = l->arg_evac_bucket; break;
	case MW_P_FATAL: args[0] = l->arg_fatal_kind; args[1] = 0; break;	/* the message: ptr, len */
	default: args[0] = l->arg_h; break;	/* writes, grow, reads, clone: h (src) */
	}
	for (int i = 0; i < 3; i++)
		if (args[i] >= 0 && args[i] < 6)
			m |= MW_GO_REG(go_arg_reg[args[i]]);
	return m;
}

/* Find one function's site; 0 on success. */
static int go_site(struct mw_gobin *g, const struct mw_runtime *rt, int point, const char *sym,
		   struct mw_site *s, char *why, size_t whylen)
{
	uint64_t entry, end;
	static uint8_t code[16384];

	if (mw_gobin_func(g, sym, &entry, &end))
		return -ENOENT;
	size_t want = end > entry && end - entry < sizeof(code) ? (size_t)(end - entry) : sizeof(code);
	size_t n = mw_gobin_read(g, entry, code, want);
	if (n < 8) {
		snprintf(why, whylen, "cannot read the code of %s", sym);
		return -EIO;
	}
	struct mw_go_site gs;
	int e = rt->site_rule[point] == MW_SITE_GO_ITEREND
		? mw_go_iterend_site(code, n, entry, rt->layout.it_wrapped, &gs, why, whylen)
		: mw_go_entry_site(code, n, entry, point_regs(rt, point),
					 /* runtime.fatal(s) in 1.19 has no emulated site before it
					  * reuses AX/BX, but it has spilled them by then */
					 point == MW_P_FATAL ? MW_GO_SPILL_OK : 0, &gs, why, whylen);
	if (e)
		return -EINVAL;
	if (mw_gobin_vaddr_to_off(g, entry, &s->file_off)) {
		snprintf(why, whylen, "%s at 0x%llx is in no loadable segment", sym,
			 (unsigned long long)entry);
		return -EINVAL;
	}
	s->point = point;
	s->sym = sym;
	s->vaddr = entry;
	s->probe_off = s->file_off + gs.off;
	s->cookie = gs.frame_set_up ? MW_COOKIE_FRAME : 0;
	for (int a = 0; a < MW_GO_SPILL_ARGS; a++)
		if (gs.args_spilled & (1 << a))
			s->cookie |= (uint64_t)(MW_COOKIE_SPILL0 << a) |
				     (uint64_t)(uint16_t)gs.arg_sp_off[a] << MW_COOKIE_SPILL_SHIFT(a);
	memset(&s->place, 0, sizeof(s->place));
	s->place.skip = gs.off;
	s->place.kind = MW_PLACE_EMULATED;
	snprintf(s->place.insn, sizeof(s->place.insn), "%s", gs.insn);
	snprintf(s->place.how, sizeof(s->place.how), "%s", gs.how);
	return 0;
}

/* The offset of member `name` of a structure DIE, or -1. */
static long member_off(Dwarf_Die *st, const char *name)
{
	Dwarf_Die m;

	if (dwarf_child(st, &m))
		return -1;
	do {
		Dwarf_Attribute a;
		Dwarf_Word off;
		const char *n = dwarf_diename(&m);
		if (dwarf_tag(&m) != DW_TAG_member || !n || strcmp(n, name))
			continue;
		if (!dwarf_attr(&m, DW_AT_data_member_location, &a) || dwarf_formudata(&a, &off))
			return -1;
		return (long)off;
	} while (!dwarf_siblingof(&m, &m));
	return -1;
}

/* runtime.g's goid, atomicstatus and stack from the binary's DWARF, when it
 * has DWARF (not -w): the table's offsets stay for stripped binaries. 1 when
 * read (and consistent), 0 otherwise. */
static int dwarf_g(const char *path, const char *gname, struct mw_layout *l)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
	Dwarf *dw = fd >= 0 ? dwarf_begin(fd, DWARF_C_READ) : NULL;
	Dwarf_Off off = 0, next;
	size_t hsize;

	while (dw && !found && !dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL)) {
		Dwarf_Die cu, d;
		const char *cn;
		if (dwarf_offdie(dw, off + hsize, &cu) && (cn = dwarf_diename(&cu)) &&
		    !strcmp(cn, "runtime") && !dwarf_child(&cu, &d)) {
			do {
				const char *n = dwarf_diename(&d);
				if (dwarf_tag(&d) != DW_TAG_structure_type || !n || strcmp(n, gname))
					continue;
				long goid = member_off(&d, "goid"), status = member_off(&d, "atomicstatus");
				long stack = member_off(&d, "stack");
				if (goid > 0 && status > 0 && stack >= 0 && goid < 4096 && status < 4096) {
					struct mw_layout c = *l;
					c.g_goid = (uint16_t)goid;
					c.g_status = (uint16_t)status;
					c.g_stack_lo = (uint16_t)stack;
					c.g_stack_hi = (uint16_t)(stack + 8);
					if (!mw_layout_check(&c)) {
						*l = c;
						found = 1;
					}
				}
				break;
			} while (!dwarf_siblingof(&d, &d));
		}
		off = next;
	}
	if (dw)
		dwarf_end(dw);
	if (fd >= 0)
		close(fd);
	return found;
}

int mw_go_target(const char *path, int want_reads, struct mw_target *t)
{
	char err[256];
	struct mw_gobin *g = mw_gobin_open(path, err, sizeof(err));
	int major = 0, minor = 0;

	if (!g)
		return 0;
	snprintf(t->version, sizeof(t->version), "%s", mw_gobin_version(g));
	snprintf(t->gomain, sizeof(t->gomain), "%s", mw_gobin_path(g) ? mw_gobin_path(g) : "");
	mw_gobin_goversion(g, &major, &minor);
	const char *exp = mw_gobin_setting(g, "GOEXPERIMENT");
	int noswiss = exp && strstr(exp, "noswissmap") != NULL;
	const struct mw_runtime *rt = major == 1 ? mw_runtime_for_go(minor, noswiss) : NULL;
	if (!rt) {
		if (major == 1 && minor >= 24 && !noswiss)
			snprintf(t->why, sizeof(t->why), "%s is built with %s, whose maps are Swiss tables, "
				 "which are not supported yet (supported: Go %s)", path, t->version,
				 mw_runtime_go_supported());
		else
			snprintf(t->why, sizeof(t->why), "%s is built with %s, which is not supported "
				 "(supported: Go %s)", path, t->version, mw_runtime_go_supported());
		mw_gobin_close(g);
		return -1;
	}
	t->rt = rt;
	t->layout = rt->layout;
	snprintf(t->layout_src, sizeof(t->layout_src), "table");
	if (!mw_gobin_stripped(g) && rt->dwarf_g && dwarf_g(path, rt->dwarf_g, &t->layout))
		snprintf(t->layout_src, sizeof(t->layout_src), "DWARF");
	t->is_exe = 1;
	t->pie = mw_gobin_pie(g);
	snprintf(t->symsrc, sizeof(t->symsrc), "%s", mw_gobin_stripped(g) ? ".gopclntab" : ".symtab");
	snprintf(t->module, sizeof(t->module), "%s", path);
	snprintf(t->looked, sizeof(t->looked), "%s", path);
	unsigned found = 0;
	for (int p = 0; p < MW_P_N; p++) {
		if (p == MW_P_READ && !want_reads)
			continue;
		for (int k = 0; k < MW_P_SYMS && rt->sym[p][k] && t->nsites < MW_MAX_SITES; k++) {
			char why[256] = "";
			int e = go_site(g, rt, p, rt->sym[p][k], &t->site[t->nsites], why, sizeof(why));
			if (e == -ENOENT)
				continue;
			if (e) {
				/* A required point without a safe site: refuse, saying why. An
				 * optional one is left out (-v names it). */
				if (rt->required & (1u << p)) {
					snprintf(t->why, sizeof(t->why), "no safe probe site in %s: %s",
						 rt->sym[p][k], why);
					mw_gobin_close(g);
					return -1;
				}
				continue;
			}
			t->nsites++;
			found |= 1u << p;
		}
	}
	mw_gobin_close(g);
	if ((found & rt->required) != rt->required) {
		mw_target_missing(t, rt, found);
		snprintf(t->why, sizeof(t->why), "%s (%s) has no %s: it uses no maps this tool can watch",
			 path, t->version, t->missing);
		return -1;
	}
	return 1;
}
