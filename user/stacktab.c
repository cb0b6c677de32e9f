/* stacktab.c — the table of symbolized stacks, their JSON, and findings (stacktab.h).
 *
 * The table is an htab.h table on (id, caller) pointing at the entries (so a
 * stack stays where it is while the table grows). Each entry owns one block of
 * strings; its JSON array is built once, when the frames are stored, so
 * every output (live JSON, trace, analyze) prints the very same text.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacktab.h"
#include "htab.h"
#include "json.h"

struct ent {
	struct mw_rstack s;
	char *strs;		/* the frames' strings, one block */
};

struct slot {
	struct mw_hent h;	/* key: (uint32_t)id, caller */
	struct ent *e;
};

struct mw_stacktab {
	struct mw_htab tab;
};

struct mw_stacktab *mw_stacktab_new(void)
{
	struct mw_stacktab *t = malloc(sizeof(*t));

	if (t)
		t->tab = MW_HTAB_INIT(struct slot, SIZE_MAX);
	return t;
}

static void ent_free(struct ent *e)
{
	free(e->strs);
	free(e->s.json);
	free(e);
}

void mw_stacktab_free(struct mw_stacktab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->tab.cap; i++) {
		struct slot *sl = mw_htab_at(&t->tab, i);

		if (sl)
			ent_free(sl->e);
	}
	mw_htab_free(&t->tab);
	free(t);
}

struct mw_rstack *mw_stacktab_get(struct mw_stacktab *t, int32_t id, uint64_t caller)
{
	if (!t || id < 0)
		return NULL;
	struct slot *sl = mw_htab_get(&t->tab, (uint32_t)id, caller, 0);

	return sl ? &sl->e->s : NULL;
}

/* ---- JSON ------------------------------------------------------------------ */

static int frame_json(const struct mw_sframe *f, char *buf, size_t len)
{
	char e[6 * MW_STACK_STR + 8];
	size_t o = 0;
	int n;

#define ADD(...) do { n = snprintf(buf + o, o < len ? len - o : 0, __VA_ARGS__); \
		      if (n < 0) return -1; o += (size_t)n; } while (0)
	ADD("{\"addr\":\"0x%" PRIx64 "\"", f->addr);
	if (f->sym) {
		mw_json_escape(f->sym, e, sizeof(e));
		ADD(",\"sym\":\"%s\"", e);
	}
	if (f->file) {
		mw_json_escape(f->file, e, sizeof(e));
		ADD(",\"file\":\"%s\",\"line\":%d", e, f->line);
	}
	if (f->module) {
		mw_json_escape(f->module, e, sizeof(e));
		ADD(",\"module\":\"%s\"", e);
	}
	ADD("}");
#undef ADD
	return (int)o;
}

static char *stack_json(const struct mw_sframe *f, int n, size_t *jlen)
{
	size_t cap = 64 + (size_t)n * (80 + 3 * 6 * MW_STACK_STR), o = 0;
	char *j = malloc(cap);

	if (!j)
		return NULL;
	j[o++] = '[';
	for (int i = 0; i < n; i++) {
		if (i)
			j[o++] = ',';
		int w = frame_json(&f[i], j + o, cap - o);
		if (w < 0 || (size_t)w >= cap - o) {
			free(j);
			return NULL;
		}
		o += (size_t)w;
	}
	j[o++] = ']';
	j[o] = 0;
	*jlen = o;
	return j;
}

/* ---- storing ---------------------------------------------------------------- */

static size_t bounded_len(const char *s)
{
	return s ? strnlen(s, MW_STACK_STR) : 0;
}

static const char *copy_str(char **p, const char *s)
{
	size_t n = bounded_len(s);
	char *d = *p;

	if (!s)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	*p += n + 1;
	return d;
}

struct mw_rstack *mw_stacktab_put(struct mw_stacktab *t, int32_t id, uint64_t caller,
				  const struct mw_sframe *f, int n)
{
	struct ent *e;
	struct slot *sl;
	size_t need = 1;
	char *p;

	if (!t || id < 0)
		return NULL;
	if (n > MW_STACK_FRAMES)
		n = MW_STACK_FRAMES;
	if (n < 0)
		n = 0;
	for (int i = 0; i < n; i++)
		need += bounded_len(f[i].sym) + bounded_len(f[i].file) + bounded_len(f[i].module) + 3;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->strs = malloc(need))) {
		free(e);
		return NULL;
	}
	p = e->strs;
	e->s.id = id;
	e->s.caller = caller;
	e->s.n = n;
	for (int i = 0; i < n; i++) {
		e->s.f[i].addr = f[i].addr;
		e->s.f[i].line = f[i].line;
		e->s.f[i].sym = copy_str(&p, f[i].sym);
		e->s.f[i].file = copy_str(&p, f[i].file);
		e->s.f[i].module = copy_str(&p, f[i].module);
	}
	e->s.json = stack_json(e->s.f, n, &e->s.jlen);
	if (!e->s.json) {
		ent_free(e);
		return NULL;
	}
	/* Replace an entry with the same key. */
	sl = mw_htab_get(&t->tab, (uint32_t)id, caller, 1);
	if (!sl) {
		ent_free(e);
		return NULL;
	}
	if (sl->e)
		ent_free(sl->e);
	sl->e = e;
	return &e->s;
}

static const struct mw_jmember *member(const struct mw_jmember *m, int n, const char *k)
{
	return mw_json_member_n(m, n, k, strlen(k));
}

static int str_member(const struct mw_jmember *m, int n, const char *k, char *buf,
		      const char **out, char *err, size_t errlen)
{
	const struct mw_jmember *v = member(m, n, k);

	*out = NULL;
	if (!v)
		return 0;
	if (v->v.type != MW_J_STR || mw_json_string(&v->v, buf, MW_STACK_STR + 1) < 0) {
		snprintf(err, errlen, "frame \"%s\": expected a string", k);
		return -1;
	}
	*out = buf;
	return 0;
}

int mw_stacktab_put_json(struct mw_stacktab *t, int32_t id, uint64_t caller,
			 const char *arr, size_t n, char *err, size_t errlen)
{
	struct mw_jval v[MW_STACK_FRAMES];
	struct mw_sframe f[MW_STACK_FRAMES];
	char strs[MW_STACK_FRAMES][3][MW_STACK_STR + 1];
	struct mw_jmember m[16];
	int nf = mw_json_array(arr, n, v, MW_STACK_FRAMES, err, errlen);

	if (nf < 0)
		return -1;
	memset(f, 0, sizeof(f));
	for (int i = 0; i < nf; i++) {
		const struct mw_jmember *a, *l;
		int nm;

		if (v[i].type != MW_J_OBJ) {
			snprintf(err, errlen, "frame %d: expected an object", i);
			return -1;
		}
		nm = mw_json_object(v[i].s, v[i].n, m, 16, err, errlen);
		if (nm < 0)
			return -1;
		a = member(m, nm, "addr");
		if (!a || a->v.type != MW_J_STR || a->v.n < 3 || a->v.n > 18 ||
		    a->v.s[0] != '0' || a->v.s[1] != 'x') {
			snprintf(err, errlen, "frame %d: expected \"addr\":\"0x…\"", i);
			return -1;
		}
		for (size_t k = 2; k < a->v.n; k++) {
			char c = a->v.s[k];
			int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

			if (h < 0) {
				snprintf(err, errlen, "frame %d: bad \"addr\"", i);
				return -1;
			}
			f[i].addr = f[i].addr << 4 | (unsigned)h;
		}
		if (str_member(m, nm, "sym", strs[i][0], &f[i].sym, err, errlen) < 0 ||
		    str_member(m, nm, "file", strs[i][1], &f[i].file, err, errlen) < 0 ||
		    str_member(m, nm, "module", strs[i][2], &f[i].module, err, errlen) < 0)
			return -1;
		l = member(m, nm, "line");
		if (l) {
			if (l->v.type != MW_J_INT || l->v.neg || l->v.ovf || l->v.u > 100000000) {
				snprintf(err, errlen, "frame %d: bad \"line\"", i);
				return -1;
			}
			f[i].line = (int)l->v.u;
		}
	}
	if (!mw_stacktab_put(t, id, caller, f, nf)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- lines -------------------------------------------------------------------- */

int mw_stack_line(const struct mw_rstack *s, char *buf, size_t len)
{
	return snprintf(buf, len, "{\"type\":\"stack\",\"id\":%d,\"caller\":\"0x%" PRIx64 "\",\"frames\":%s}",
			(int)s->id, s->caller, s->json);
}

int mw_sframe_format(const struct mw_sframe *f, char *buf, size_t len)
{
	char where[MW_STACK_STR + 24] = "", mod[MW_STACK_STR + 4] = "";

	if (f->file)
		snprintf(where, sizeof(where), " (%s:%d)", f->file, f->line);
	if (f->module)
		snprintf(mod, sizeof(mod), " [%s]", f->module);
	if (f->sym)
		return snprintf(buf, len, "%s%s%s", f->sym, where, mod);
	return snprintf(buf, len, "0x%" PRIx64 "%s%s", f->addr, where, mod);
}

/* ---- runtime frames and locations ----------------------------------------------- */

int mw_runtime_frame(const struct mw_runtime *rt, const char *sym)
{
	size_t n;

	if (!rt || !sym)
		return 0;
	n = strcspn(sym, "+");
	/* An entry ending in '*' names every function it starts ("runtime.map*"). */
	for (int i = 0; i < MW_RT_FRAMES && rt->frames[i]; i++) {
		size_t k = strlen(rt->frames[i]);
		if (k && rt->frames[i][k - 1] == '*') {
			if (n >= k - 1 && !memcmp(rt->frames[i], sym, k - 1))
				return 1;
		} else if (k == n && !memcmp(rt->frames[i], sym, n)) {
			return 1;
		}
	}
	return 0;
}

int mw_stack_user_frame(const struct mw_rstack *s, const struct mw_runtime *rt)
{
	if (!s)
		return -1;
	for (int i = 0; i < s->n; i++)
		if (!mw_runtime_frame(rt, s->f[i].sym))
			return i;
	return -1;
}

void mw_stack_location(const struct mw_rstack *s, const struct mw_runtime *rt,
		       char *buf, size_t len)
{
	int i = mw_stack_user_frame(s, rt);
	const struct mw_sframe *f;

	if (i < 0) {
		snprintf(buf, len, "?");
		return;
	}
	f = &s->f[i];
	if (f->sym && f->file)
		snprintf(buf, len, "%.*s (%s:%d)", (int)strcspn(f->sym, "+"), f->sym, f->file, f->line);
	else if (f->sym)
		snprintf(buf, len, "%s [%s]", f->sym, f->module ? f->module : "?");
	else
		snprintf(buf, len, "0x%" PRIx64 " [%s]", f->addr, f->module ? f->module : "?");
}

/* ---- findings --------------------------------------------------------------------- */

struct mw_findings {
	const struct mw_runtime *rt;
	struct mw_finding *v;
	size_t n, cap;
};

struct mw_findings *mw_findings_new(const struct mw_runtime *rt)
{
	struct mw_findings *f = calloc(1, sizeof(*f));

	if (f)
		f->rt = rt;
	return f;
}

void mw_findings_free(struct mw_findings *f)
{
	if (!f)
		return;
	free(f->v);
	free(f);
}

void mw_findings_add(struct mw_findings *f, const struct mw_alert *a,
		     const struct mw_rstack *ws, const struct mw_rstack *is)
{
	char w[2 * MW_STACK_STR], it[2 * MW_STACK_STR];

	if (!f)
		return;
	mw_stack_location(ws, f->rt, w, sizeof(w));
	mw_stack_location(is, f->rt, it, sizeof(it));
	/* Few distinct findings in practice: a linear scan is enough. */
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].kind == a->kind && !strcmp(f->v[i].writer, w) && !strcmp(f->v[i].iter, it)) {
			f->v[i].count += a->n ? a->n : 1;
			return;
		}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct mw_finding *nv = realloc(f->v, cap * sizeof(*nv));

		if (!nv)
			return;
		f->v = nv;
		f->cap = cap;
	}
	memset(&f->v[f->n], 0, sizeof(f->v[0]));
	f->v[f->n].kind = a->kind;
	f->v[f->n].count = a->n ? a->n : 1;
	f->v[f->n].first_seq = a->seq;
	memcpy(f->v[f->n].writer, w, sizeof(w));
	memcpy(f->v[f->n].iter, it, sizeof(it));
	f->n++;
}

size_t mw_findings_count(const struct mw_findings *f)
{
	return f ? f->n : 0;
}

const struct mw_finding *mw_findings_at(const struct mw_findings *f, size_t i)
{
	return f && i < f->n ? &f->v[i] : NULL;
}
