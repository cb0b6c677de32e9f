/* gomap.h — libgomap: a C port of Go 1.19's classic hash map runtime.
 *
 * The algorithm is Go's (see the design notes' gomap-spec.md): 8-slot buckets
 * (tophash[8], keys[8], elems[8], overflow pointer last), load factor 6.5,
 * incremental evacuation during doubling and same-size grows, iterators with
 * a random start that stay correct across growth. The exported functions keep
 * Go's runtime names because they are the eBPF probe points; hmap's first 48
 * bytes and hiter's first 96 bytes are Go's amd64 layout, so one layout table
 * in the tool serves both. Go's GC is replaced by reference-counted bucket
 * "generations" (a bucket array plus its overflow buckets); see gomap.c.
 *
 * Usage, as in Go's lowering of m[k] = v and range:
 *	hmap *h = makemap(&maptype_u64, 0);
 *	*(uint64_t *)mapassign(&maptype_u64, h, &k) = v;
 *	hiter it;
 *	for (mapiterinit(&maptype_u64, h, &it); it.key; mapiternext(&it))
 *		use(*(uint64_t *)it.key, *(uint64_t *)it.elem);
 *	mapiterdone(&it);	// only needed when leaving the loop early
 *	mapfree(&maptype_u64, h);
 */
#ifndef GOMAP_H
#define GOMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every probe point: a real global function that starts with a 5-byte nop. */
#define GOMAP_PROBE __attribute__((noinline, used, visibility("default"), patchable_function_entry(5)))

/* ---- map types -------------------------------------------------------------- */

/* hash(key, seed): any well-mixed 64-bit hash; equal(a, b): key equality. */
typedef uint64_t (*gomap_hashfn)(const void *key, uint64_t seed);
typedef bool (*gomap_eqfn)(const void *a, const void *b);

/* maptype.flags: bits 1..16 numbered as Go's maptype.flags. */
#define GOMAP_T_INDIRECTKEY   1u	/* key slot holds a pointer to the key */
#define GOMAP_T_INDIRECTELEM  2u	/* elem slot holds a pointer to the elem */
#define GOMAP_T_REFLEXIVEKEY  4u	/* k == k for every key (false for NaN-like keys) */
#define GOMAP_T_NEEDKEYUPDATE 8u	/* overwrite the stored key on update (strings) */
#define GOMAP_T_HASHPANIC     16u	/* unused in C; kept for Go's numbering */
#define GOMAP_T_HASPTR        32u	/* bucket holds pointers: evacuate wipes old head buckets */

/* maptype.fastkind: which inline hash/compare the hot paths may use. */
enum {
	GOMAP_KIND_FUNC = 0,	/* call t->hasher / t->equal */
	GOMAP_KIND_MEM = 1,	/* key is key_size plain bytes: XXH3 + memcmp */
	GOMAP_KIND_U64 = 2,	/* key is 8 plain bytes */
	GOMAP_KIND_STR = 3,	/* key is a gostring */
};

typedef struct maptype {
	uint8_t keysize;	/* @0 slot size of a key: key_size, or 8 when indirect */
	uint8_t elemsize;	/* @1 slot size of an elem: elem_size, or 8 when indirect */
	uint16_t bucketsize;	/* @2 bytes per bucket: 8 + 8*keysize + 8*elemsize + 8 (probe-read) */
	uint32_t flags;		/* @4 GOMAP_T_* bits */
	uint32_t key_size;	/* @8 real size of a key in bytes */
	uint32_t elem_size;	/* @12 real size of an elem in bytes */
	gomap_hashfn hasher;	/* @16 seeded hash of a key (used when fastkind is FUNC) */
	gomap_eqfn equal;	/* @24 key equality (used when fastkind is FUNC) */
	uint8_t fastkind;	/* @32 GOMAP_KIND_*: lets hot paths inline hash and compare */
	uint8_t pad[7];		/* @33 reserved, zero */
} maptype;
#define GOMAP_MAPTYPE_BUCKETSIZE_OFFSET 2

/* Go's string header: the key of maptype_str. */
typedef struct gostring {
	const char *ptr;	/* bytes, not NUL-terminated */
	int64_t len;		/* number of bytes */
} gostring;

extern const maptype maptype_u64;	/* uint64_t -> uint64_t */
extern const maptype maptype_str;	/* gostring -> uint64_t */

/* Build a map type. hash == NULL means "key is plain memory" (XXH3 over
 * keysize bytes, memcmp equality). Keys or elems over 128 bytes are stored
 * indirectly, as in Go. maptype_make_ex also takes extra GOMAP_T_* bits
 * (REFLEXIVEKEY is assumed unless GOMAP_T_NOTREFLEXIVE is passed). */
#define GOMAP_T_NOTREFLEXIVE  (1u << 30)
void maptype_make(maptype *t, size_t keysize, size_t elemsize, gomap_hashfn hash, gomap_eqfn eq);
void maptype_make_ex(maptype *t, size_t keysize, size_t elemsize, gomap_hashfn hash, gomap_eqfn eq,
		     uint32_t tflags);

/* ---- the map header ------------------------------------------------------------ */

/* Go's mapextra. overflow/oldoverflow are always NULL in C: overflow buckets
 * are owned by their generation instead of GC side lists. */
typedef struct mapextra {
	void *overflow;		/* @0 Go: list of overflow buckets of buckets (NULL here) */
	void *oldoverflow;	/* @8 Go: same for oldbuckets (NULL here) */
	void *nextOverflow;	/* @16 next free preallocated overflow bucket, or NULL */
} mapextra;

/* hmap flags */
#define GOMAP_ITERATOR     1	/* an iterator may be walking buckets */
#define GOMAP_OLDITERATOR  2	/* an iterator may be walking oldbuckets */
#define GOMAP_HASHWRITING  4	/* a write is in progress (best-effort race check) */
#define GOMAP_SAMESIZEGROW 8	/* the current grow keeps 2^B buckets */

typedef struct hmap {
	int64_t count;		/* @0 live entries (len) */
	uint8_t flags;		/* @8 GOMAP_ITERATOR | OLDITERATOR | HASHWRITING | SAMESIZEGROW */
	uint8_t B;		/* @9 log2 of the number of head buckets */
	uint16_t noverflow;	/* @10 overflow buckets in use on buckets (sampled when B >= 16) */
	uint32_t hash0;		/* @12 hash seed, reseeded when count reaches 0 */
	void *buckets;		/* @16 2^B head buckets (+ preallocated overflow), NULL until first insert */
	void *oldbuckets;	/* @24 previous array while growing, else NULL */
	uintptr_t nevacuate;	/* @32 old buckets below this index are evacuated */
	mapextra *extra;	/* @40 NULL, or &xtra once something needs it */
	/* ---- private, after Go's 48 bytes ---- */
	mapextra xtra;		/* @48 storage *extra points to (never freed separately) */
	uint32_t wlock;		/* @72 GOMAP_ONRACE=count: serializes writes (0 free, 1 held, 2 contended) */
	uintptr_t wowner;	/* @80 the thread holding wlock (a thread-local address), or 0 */
} hmap;

/* ---- iterators ---------------------------------------------------------------- */

struct gomap_gen;

typedef struct hiter {
	void *key;		/* @0 current key, NULL when the iteration is over */
	void *elem;		/* @8 current elem */
	const maptype *t;	/* @16 map type */
	hmap *h;		/* @24 map (NULL if it was empty at init) */
	void *buckets;		/* @32 h->buckets at init: the snapshot walked */
	void *bptr;		/* @40 bucket being scanned (may lie in h->oldbuckets) */
	void *overflow;		/* @48 Go: pins extra.overflow; always NULL here */
	void *oldoverflow;	/* @56 Go: pins extra.oldoverflow; always NULL here */
	uintptr_t startBucket;	/* @64 random first bucket */
	uint8_t offset;		/* @72 random slot rotation 0..7 */
	bool wrapped;		/* @73 walk has passed the last bucket */
	uint8_t B;		/* @74 h->B at init */
	uint8_t i;		/* @75 rotated slots of bptr consumed */
	uint32_t pad0;		/* @76 padding, as in Go */
	uintptr_t bucket;	/* @80 next bucket index to start */
	uintptr_t checkBucket;	/* @88 GOMAP_NOCHECK or new bucket filtered from an old one */
	/* ---- private, after Go's 96 bytes ---- */
	struct gomap_gen *snap;	/* @96 reference held on the generation of buckets, NULL when done */
	struct gomap_gen *bgen;	/* @104 reference held on the generation bptr lies in, or NULL */
} hiter;
#define GOMAP_NOCHECK ((uintptr_t)-1)

/* ---- the runtime: probe points ---------------------------------------------------- */

GOMAP_PROBE hmap *makemap(const maptype *t, long hint);
GOMAP_PROBE void mapfree(const maptype *t, hmap *h);
GOMAP_PROBE long maplen(const hmap *h);
/* Zero value on a miss, never NULL. */
GOMAP_PROBE void *mapaccess1(const maptype *t, hmap *h, const void *key);
GOMAP_PROBE void *mapaccess2(const maptype *t, hmap *h, const void *key, bool *present);
/* Returns the elem slot; the caller stores the value. */
GOMAP_PROBE void *mapassign(const maptype *t, hmap *h, const void *key);
GOMAP_PROBE void mapdelete(const maptype *t, hmap *h, const void *key);
GOMAP_PROBE void mapclear(const maptype *t, hmap *h);
/* hiter is caller-owned and need not be initialised; it->key == NULL when done. */
GOMAP_PROBE void mapiterinit(const maptype *t, hmap *h, hiter *it);
GOMAP_PROBE void mapiternext(hiter *it);
/* Ends an iteration early (also called by mapiternext at the end); idempotent. */
GOMAP_PROBE void mapiterdone(hiter *it);
GOMAP_PROBE void hashGrow(const maptype *t, hmap *h);
GOMAP_PROBE void growWork(const maptype *t, hmap *h, uintptr_t bucket);
GOMAP_PROBE void evacuate(const maptype *t, hmap *h, uintptr_t oldbucket);
/* The runtime's own race check failed on h (kind: GOMAP_RACE_*): prints Go's
 * `fatal error: …` and exits 2, or counts it with GOMAP_ONRACE=count (a
 * write then waits for the write in flight on h before it goes on). */
GOMAP_PROBE void mapfatal(hmap *h, int kind);

/* ---- race detection and introspection ------------------------------------------- */

/* Races detected so far (GOMAP_ONRACE=count; otherwise the process exits). */
enum { GOMAP_RACE_WRITES = 0, GOMAP_RACE_READ_WRITE = 1, GOMAP_RACE_ITER_WRITE = 2, GOMAP_RACE_NKINDS = 3 };
long gomap_races(void);
long gomap_races_kind(int kind);

/* Bucket generations currently allocated (including retired ones still in
 * the deferred-free quarantine), and a way to empty that quarantine. */
long gomap_live_generations(void);
void gomap_quarantine_flush(void);
/* Buckets makeBucketArray allocates for 2^b heads (heads + preallocated overflow). */
size_t gomap_bucket_array_len(const maptype *t, unsigned b);

#ifdef __cplusplus
}
#endif
#endif
