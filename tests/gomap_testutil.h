/* gomap_testutil.h — key families shared by the gomap tests and the fuzzer.
 *
 * Every test key is derived from a small integer id, so the reference model is
 * just an array indexed by id, and a key seen during iteration maps back to its
 * id. Families: u64 keys, gostring keys, 4-byte memory keys, and 200-byte keys
 * with 300-byte elems (both stored indirectly).
 */
#ifndef GOMAP_TESTUTIL_H
#define GOMAP_TESTUTIL_H
#include "gomap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIGKEY 200
#define BIGELEM 300

struct fam {
	const char *name;	/* family name for messages */
	const maptype *t;	/* its map type */
	void (*mk)(uint64_t id, void *key);	/* build the key of id into key */
	uint64_t (*id)(const void *key);	/* id of a key */
	size_t keysz;		/* bytes of a key */
};

static maptype fam_t4, fam_tbig;
static char fam_strs[1 << 20][12];	/* backing bytes of string keys, by id (ids < 2^20) */

static void mk_u64(uint64_t id, void *k) { uint64_t v = id ^ 0x9e3779b97f4a7c15ull; memcpy(k, &v, 8); }
static uint64_t id_u64(const void *k) { uint64_t v; memcpy(&v, k, 8); return v ^ 0x9e3779b97f4a7c15ull; }
static void mk_str(uint64_t id, void *k)
{
	char *s = fam_strs[id & ((1 << 20) - 1)];
	int n = snprintf(s, 12, "k%llu", (unsigned long long)id);
	gostring g = { s, n };
	/* Half the time a distinct copy of the bytes, so pointer equality is not enough. */
	if (id & 1) {
		static char spare[1 << 20][12];
		memcpy(spare[id & ((1 << 20) - 1)], s, 12);
		g.ptr = spare[id & ((1 << 20) - 1)];
	}
	memcpy(k, &g, sizeof g);
}
static uint64_t id_str(const void *k)
{
	gostring g; memcpy(&g, k, sizeof g);
	char buf[16]; memcpy(buf, g.ptr, (size_t)g.len); buf[g.len] = 0;
	return strtoull(buf + 1, NULL, 10);
}
static void mk_4(uint64_t id, void *k) { uint32_t v = (uint32_t)id * 2654435761u; memcpy(k, &v, 4); }
static uint64_t id_4(const void *k) { uint32_t v; memcpy(&v, k, 4); return (uint32_t)(v * 244002641u); }
static void mk_big(uint64_t id, void *k)
{
	unsigned char *p = k;
	for (int i = 0; i < BIGKEY; i++) p[i] = (unsigned char)(id * 31 + i);
	memcpy(p, &id, 8);
}
static uint64_t id_big(const void *k) { uint64_t v; memcpy(&v, k, 8); return v; }

static struct fam fams[4];

static void fams_init(void)
{
	maptype_make(&fam_t4, 4, 8, NULL, NULL);
	maptype_make(&fam_tbig, BIGKEY, BIGELEM, NULL, NULL);
	fams[0] = (struct fam){ "u64", &maptype_u64, mk_u64, id_u64, 8 };
	fams[1] = (struct fam){ "str", &maptype_str, mk_str, id_str, 16 };
	fams[2] = (struct fam){ "k4", &fam_t4, mk_4, id_4, 4 };
	fams[3] = (struct fam){ "big", &fam_tbig, mk_big, id_big, BIGKEY };
}

/* Elem values: the first 8 bytes; big elems repeat them at the end. */
static void put_val(const struct fam *f, void *e, uint64_t v)
{
	memcpy(e, &v, 8);
	if (f->t->elem_size == BIGELEM)
		memcpy((char *)e + BIGELEM - 8, &v, 8);
}
static int get_val(const struct fam *f, const void *e, uint64_t *v)
{
	memcpy(v, e, 8);
	if (f->t->elem_size == BIGELEM) {
		uint64_t w; memcpy(&w, (const char *)e + BIGELEM - 8, 8);
		return w == *v;
	}
	return 1;
}

/* xorshift for test randomness */
static uint64_t trng = 88172645463325252ull;
__attribute__((unused)) static uint64_t trand(void) { trng ^= trng << 13; trng ^= trng >> 7; trng ^= trng << 17; return trng; }
#endif
