/* htab.c — the open-addressing hash table (htab.h). */
#include <stdlib.h>
#include <string.h>

#include "htab.h"

#define ENT(t, i) ((struct mw_hent *)((t)->e + (i) * (t)->esz))

static inline size_t home(const struct mw_htab *t, uint64_t k, uint64_t k2)
{
	return (size_t)(((k * 0x9E3779B97F4A7C15ull) ^ (k2 * 0xC2B2AE3D27D4EB4Full)) >> 17) & (t->cap - 1);
}

static int grow(struct mw_htab *t)
{
	struct mw_htab nt = { NULL, t->esz, t->cap ? t->cap * 2 : 64, 0, t->max };

	nt.e = calloc(nt.cap, nt.esz);
	if (!nt.e)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		struct mw_hent *o = ENT(t, i);

		if (!o->used)
			continue;
		size_t j = home(&nt, o->key, o->key2);
		while (ENT(&nt, j)->used)
			j = (j + 1) & (nt.cap - 1);
		memcpy(ENT(&nt, j), o, t->esz);
		nt.n++;
	}
	free(t->e);
	*t = nt;
	return 0;
}

void *mw_htab_get(struct mw_htab *t, uint64_t key, uint64_t key2, int create)
{
	size_t i;

	if (t->cap) {
		for (i = home(t, key, key2); ENT(t, i)->used; i = (i + 1) & (t->cap - 1))
			if (ENT(t, i)->key == key && ENT(t, i)->key2 == key2)
				return ENT(t, i);
	}
	if (!create || t->n >= t->max)
		return NULL;
	if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
		return NULL;
	for (i = home(t, key, key2); ENT(t, i)->used; i = (i + 1) & (t->cap - 1))
		;
	memset(ENT(t, i), 0, t->esz);
	ENT(t, i)->key = key;
	ENT(t, i)->key2 = key2;
	ENT(t, i)->used = 1;
	t->n++;
	return ENT(t, i);
}

void mw_htab_del(struct mw_htab *t, void *entry)
{
	size_t i = (size_t)((unsigned char *)entry - t->e) / t->esz, j = i;

	for (;;) {
		j = (j + 1) & (t->cap - 1);
		if (!ENT(t, j)->used)
			break;
		size_t h = home(t, ENT(t, j)->key, ENT(t, j)->key2);
		/* Move j back into the hole at i unless its home lies in (i, j]. */
		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			memcpy(ENT(t, i), ENT(t, j), t->esz);
			i = j;
		}
	}
	ENT(t, i)->used = 0;
	t->n--;
}

void *mw_htab_at(const struct mw_htab *t, size_t i)
{
	return i < t->cap && ENT(t, i)->used ? ENT(t, i) : NULL;
}

void mw_htab_free(struct mw_htab *t)
{
	free(t->e);
	t->e = NULL;
	t->cap = t->n = 0;
}
