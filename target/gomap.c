/* gomap.c — Go 1.19's classic map runtime, ported to C.
 *
 * Design. A map is an hmap (Go's 48-byte header) over an array of 2^B
 * buckets; each bucket holds 8 tophash bytes, 8 keys, 8 elems and an
 * overflow pointer. Inserting past a load factor of 6.5, or with too many
 * overflow buckets, starts a grow (hashGrow) that only allocates the new
 * array; every later write moves one or two old buckets (growWork/evacuate),
 * so no single operation pays for the whole rehash. Iterators walk a snapshot
 * of the array from a random bucket and slot offset; when an entry has moved
 * they look it up again, and while a grow is in progress they pick entries
 * out of old buckets that have not moved yet (checkBucket). See
 * the design notes' gomap-spec.md for the algorithm, which this file follows step
 * by step.
 *
 * Memory. Go's GC keeps retired arrays alive while iterators read them; C
 * cannot, so each bucket array and its overflow buckets form a reference
 * counted "generation" (struct gomap_gen, stored just before the array).
 * Owners: h->buckets, h->oldbuckets, every live iterator's snapshot, the
 * generation an iterator's bptr lies in, and each older generation holds its
 * successor (so indirect key/elem objects deleted from a newer generation,
 * which older ones may still point to, are freed only when every generation
 * that could reference them is gone). A generation whose count reaches zero is
 * freed at once, or, in GOMAP_ONRACE=count mode, parked in a small time- and
 * size-bounded quarantine so racy readers of another thread rarely touch
 * freed memory.
 *
 * Count mode. GOMAP_ONRACE=count counts the races the runtime's checks see
 * instead of exiting, so a racy program keeps running. Two writes in flight
 * at once would corrupt the map's structure (chains, counts, generation
 * references) and the process would die of it, so in count mode a write
 * that finds another write in flight counts the race at its entry, as Go's
 * check does, and then waits for that write to finish (hmap.wlock): writes
 * to one map are serialized, iterations and lookups still run alongside them
 * (the generations and the quarantine cover those). A write nested in a
 * hash or equal callback of the same thread does not wait, and no write
 * waits longer than a second (a callback blocked on another writer would
 * deadlock otherwise): past that it goes ahead unserialized, as before.
 *
 * Glossary: slot = one of 8 key/elem positions; chain = head bucket plus its
 * overflow buckets; X/Y = the low/high destination of a doubling grow.
 */
#include "gomap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* ---- layout: the eBPF tool reads these offsets --------------------------------- */
_Static_assert(offsetof(hmap, count) == 0, "hmap.count");
_Static_assert(offsetof(hmap, flags) == 8, "hmap.flags");
_Static_assert(offsetof(hmap, B) == 9, "hmap.B");
_Static_assert(offsetof(hmap, noverflow) == 10, "hmap.noverflow");
_Static_assert(offsetof(hmap, hash0) == 12, "hmap.hash0");
_Static_assert(offsetof(hmap, buckets) == 16, "hmap.buckets");
_Static_assert(offsetof(hmap, oldbuckets) == 24, "hmap.oldbuckets");
_Static_assert(offsetof(hmap, nevacuate) == 32, "hmap.nevacuate");
_Static_assert(offsetof(hmap, extra) == 40, "hmap.extra");
_Static_assert(offsetof(hmap, xtra) == 48, "hmap private fields start after Go's 48 bytes");
_Static_assert(offsetof(mapextra, nextOverflow) == 16, "mapextra.nextOverflow");
_Static_assert(offsetof(hiter, key) == 0, "hiter.key");
_Static_assert(offsetof(hiter, elem) == 8, "hiter.elem");
_Static_assert(offsetof(hiter, t) == 16, "hiter.t");
_Static_assert(offsetof(hiter, h) == 24, "hiter.h");
_Static_assert(offsetof(hiter, buckets) == 32, "hiter.buckets");
_Static_assert(offsetof(hiter, bptr) == 40, "hiter.bptr");
_Static_assert(offsetof(hiter, overflow) == 48, "hiter.overflow");
_Static_assert(offsetof(hiter, oldoverflow) == 56, "hiter.oldoverflow");
_Static_assert(offsetof(hiter, startBucket) == 64, "hiter.startBucket");
_Static_assert(offsetof(hiter, offset) == 72, "hiter.offset");
_Static_assert(offsetof(hiter, wrapped) == 73, "hiter.wrapped");
_Static_assert(offsetof(hiter, B) == 74, "hiter.B");
_Static_assert(offsetof(hiter, i) == 75, "hiter.i");
_Static_assert(offsetof(hiter, bucket) == 80, "hiter.bucket");
_Static_assert(offsetof(hiter, checkBucket) == 88, "hiter.checkBucket");
_Static_assert(offsetof(hiter, snap) == 96, "hiter private fields start after Go's 96 bytes");
/* The tool reads maptype.bucketsize (u16) at this offset. */
_Static_assert(offsetof(maptype, bucketsize) == GOMAP_MAPTYPE_BUCKETSIZE_OFFSET, "maptype.bucketsize");

/* ---- constants (gomap-spec section 1) ------------------------------------------ */
#define BUCKET_CNT 8
#define LOAD_NUM 13
#define LOAD_DEN 2
#define MAX_KEY_SIZE 128
#define MAX_ELEM_SIZE 128
#define DATA_OFFSET 8
#define EMPTY_REST 0
#define EMPTY_ONE 1
#define EVACUATED_X 2
#define EVACUATED_Y 3
#define EVACUATED_EMPTY 4
#define MIN_TOPHASH 5
#define MAX_ALLOC (1ull << 48)
#define MAX_ZERO 65536	/* largest elem a miss can return a zero value for */

static char zeroVal[MAX_ZERO];	/* what lookups return on a miss; callers must not write */

/* ---- small predicates ------------------------------------------------------------ */
static inline uintptr_t bucketShift(uint8_t b) { return (uintptr_t)1 << (b & 63); }
static inline uintptr_t bucketMask(uint8_t b) { return bucketShift(b) - 1; }
static inline bool isEmpty(uint8_t x) { return x <= EMPTY_ONE; }
static inline uint8_t tophash(uint64_t hash)
{
	uint8_t top = (uint8_t)(hash >> 56);
	return top < MIN_TOPHASH ? top + MIN_TOPHASH : top;
}
static inline bool evacuated(const void *b)
{
	uint8_t h = *(const uint8_t *)b;
	return h > EMPTY_ONE && h < MIN_TOPHASH;
}
static inline bool overLoadFactor(int64_t count, uint8_t B)
{
	return count > BUCKET_CNT && (uint64_t)count > LOAD_NUM * (bucketShift(B) / LOAD_DEN);
}
static inline bool tooManyOverflowBuckets(uint16_t noverflow, uint8_t B)
{
	if (B > 15)
		B = 15;
	return noverflow >= (uint16_t)((uint32_t)1 << (B & 15));
}

/* flags are read and written with plain (relaxed) accesses, as in Go: the
 * race checks are best-effort, but the loads must really happen. */
static inline uint8_t flags_load(const hmap *h) { return __atomic_load_n(&h->flags, __ATOMIC_RELAXED); }
static inline void flags_store(hmap *h, uint8_t f) { __atomic_store_n(&h->flags, f, __ATOMIC_RELAXED); }
static inline bool growing(const hmap *h) { return h->oldbuckets != NULL; }
static inline bool sameSizeGrow(const hmap *h) { return flags_load(h) & GOMAP_SAMESIZEGROW; }
static inline uintptr_t noldbuckets(const hmap *h)
{
	uint8_t b = h->B;
	if (!sameSizeGrow(h))
		b--;
	return bucketShift(b);
}
static inline uintptr_t oldbucketmask(const hmap *h) { return noldbuckets(h) - 1; }

static inline bool indirectKey(const maptype *t) { return t->flags & GOMAP_T_INDIRECTKEY; }
static inline bool indirectElem(const maptype *t) { return t->flags & GOMAP_T_INDIRECTELEM; }
static inline bool reflexiveKey(const maptype *t) { return t->flags & GOMAP_T_REFLEXIVEKEY; }
static inline bool hasPointers(const maptype *t) { return t->flags & GOMAP_T_HASPTR; }

/* ---- bucket access ------------------------------------------------------------ */
static inline uint8_t *bucketAt(const maptype *t, void *arr, uintptr_t i)
{
	return (uint8_t *)arr + i * t->bucketsize;
}
static inline uint8_t *slotKey(const maptype *t, uint8_t *b, unsigned i)
{
	return b + DATA_OFFSET + i * t->keysize;
}
static inline uint8_t *slotElem(const maptype *t, uint8_t *b, unsigned i)
{
	return b + DATA_OFFSET + BUCKET_CNT * t->keysize + i * t->elemsize;
}
static inline uint8_t *overflowOf(const maptype *t, uint8_t *b)
{
	return *(uint8_t **)(b + t->bucketsize - 8);
}
static inline void setOverflow(const maptype *t, uint8_t *b, void *ovf)
{
	*(void **)(b + t->bucketsize - 8) = ovf;
}
static inline void *deref(void *slot) { return *(void **)slot; }

/* ---- randomness: per-thread wyrand seeded from getrandom -------------------------- */
static __thread uint64_t rngState;
static __thread bool rngSeeded;

static void rngSeed(void)
{
	uint64_t s = 0;
	if (getrandom(&s, sizeof s, 0) != sizeof s)
		s = (uint64_t)time(NULL) ^ ((uint64_t)(uintptr_t)&s << 16);
	rngState = s;
	rngSeeded = true;
}
static uint64_t rand64(void)
{
	if (__builtin_expect(!rngSeeded, 0))
		rngSeed();
	rngState += 0xa0761d6478bd642full;
	__uint128_t m = (__uint128_t)rngState * (rngState ^ 0xe7037ed1a0b428dbull);
	return (uint64_t)(m >> 64) ^ (uint64_t)m;
}
static uint32_t rand32(void) { return (uint32_t)rand64(); }

/* ---- fatal errors and the race policy --------------------------------------------- */
enum { ONRACE_UNREAD = 0, ONRACE_EXIT = 1, ONRACE_COUNT = 2 };
static int onraceMode;	/* read once, lazily; racing first readers compute the same value */
static long raceCounts[GOMAP_RACE_NKINDS];
static const char *const raceMsgs[GOMAP_RACE_NKINDS] = {
	[GOMAP_RACE_WRITES] = "concurrent map writes",
	[GOMAP_RACE_READ_WRITE] = "concurrent map read and map write",
	[GOMAP_RACE_ITER_WRITE] = "concurrent map iteration and map write",
};

static int onrace(void)
{
	int m = __atomic_load_n(&onraceMode, __ATOMIC_ACQUIRE);
	if (m == ONRACE_UNREAD) {
		const char *e = getenv("GOMAP_ONRACE");
		m = (e && !strcmp(e, "count")) ? ONRACE_COUNT : ONRACE_EXIT;
		__atomic_store_n(&onraceMode, m, __ATOMIC_RELEASE);
	}
	return m;
}

/* Like Go's fatal/throw: one line, exit status 2, no atexit handlers. */
__attribute__((noreturn, cold)) static void die(const char *prefix, const char *msg)
{
	char buf[160];
	int n = snprintf(buf, sizeof buf, "%s%s\n", prefix, msg);
	if (n > 0 && write(2, buf, (size_t)n) < 0)
		n = 0;
	_exit(2);
}
__attribute__((noreturn, cold)) static void throw(const char *msg) { die("fatal error: ", msg); }

/* Every failed race check lands here, in Go's runtime.fatal's place: a probe
 * point, so a tracer learns of the runtime's own detection (map and kind)
 * before the process dies of it. */
GOMAP_PROBE __attribute__((cold)) void mapfatal(hmap *h, int kind)
{
	(void)h;
	if (onrace() == ONRACE_COUNT) {
		__atomic_fetch_add(&raceCounts[kind], 1, __ATOMIC_RELAXED);
		return;
	}
	die("fatal error: ", raceMsgs[kind]);
}

long gomap_races(void)
{
	long n = 0;
	for (int k = 0; k < GOMAP_RACE_NKINDS; k++)
		n += __atomic_load_n(&raceCounts[k], __ATOMIC_RELAXED);
	return n;
}
long gomap_races_kind(int kind)
{
	if (kind < 0 || kind >= GOMAP_RACE_NKINDS)
		return 0;
	return __atomic_load_n(&raceCounts[kind], __ATOMIC_RELAXED);
}

/* ---- hashing and key comparison, specialised per fast kind ------------------------- */
/* K is a compile-time constant at each always_inline call site, so the switch
 * folds away on the u64 and string paths. K_ANY switches on t->fastkind. */
enum { K_ANY = -1 };

static inline __attribute__((always_inline)) uint64_t khash(const maptype *t, const void *k, uint64_t seed, int K)
{
	int kind = K == K_ANY ? t->fastkind : K;
	switch (kind) {
	case GOMAP_KIND_U64:
		return XXH3_64bits_withSeed(k, 8, seed);
	case GOMAP_KIND_STR: {
		const gostring *s = k;
		return XXH3_64bits_withSeed(s->len ? s->ptr : "", (size_t)s->len, seed);
	}
	case GOMAP_KIND_MEM:
		return XXH3_64bits_withSeed(k, t->key_size, seed);
	default:
		return t->hasher(k, seed);
	}
}

static inline __attribute__((always_inline)) bool keq(const maptype *t, const void *a, const void *b, int K)
{
	int kind = K == K_ANY ? t->fastkind : K;
	switch (kind) {
	case GOMAP_KIND_U64: {
		uint64_t x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		return x == y;
	}
	case GOMAP_KIND_STR: {
		const gostring *s = a, *u = b;
		return s->len == u->len && (s->ptr == u->ptr || !s->len || !memcmp(s->ptr, u->ptr, (size_t)s->len));
	}
	case GOMAP_KIND_MEM:
		return !memcmp(a, b, t->key_size);
	default:
		return t->equal(a, b);
	}
}

/* k == k: false only for NaN-like keys of non-reflexive types. */
static inline bool keySelfEqual(const maptype *t, const void *k, int K)
{
	return reflexiveKey(t) || keq(t, k, k, K);
}

/* ---- map types -------------------------------------------------------------------- */
static bool strEqual(const void *a, const void *b) { return keq(NULL, a, b, GOMAP_KIND_STR); }
static uint64_t strHash(const void *k, uint64_t seed) { return khash(NULL, k, seed, GOMAP_KIND_STR); }
static bool u64Equal(const void *a, const void *b) { return keq(NULL, a, b, GOMAP_KIND_U64); }
static uint64_t u64Hash(const void *k, uint64_t seed) { return khash(NULL, k, seed, GOMAP_KIND_U64); }

const maptype maptype_u64 = {
	.keysize = 8, .elemsize = 8, .bucketsize = 8 + 8 * 8 + 8 * 8 + 8,
	.flags = GOMAP_T_REFLEXIVEKEY, .key_size = 8, .elem_size = 8,
	.hasher = u64Hash, .equal = u64Equal, .fastkind = GOMAP_KIND_U64,
};
const maptype maptype_str = {
	.keysize = 16, .elemsize = 8, .bucketsize = 8 + 8 * 16 + 8 * 8 + 8,
	.flags = GOMAP_T_REFLEXIVEKEY | GOMAP_T_NEEDKEYUPDATE | GOMAP_T_HASPTR, .key_size = 16, .elem_size = 8,
	.hasher = strHash, .equal = strEqual, .fastkind = GOMAP_KIND_STR,
};

void maptype_make_ex(maptype *t, size_t keysize, size_t elemsize, gomap_hashfn hash, gomap_eqfn eq,
		     uint32_t tflags)
{
	if (keysize == 0 || keysize > (1u << 30) || elemsize > MAX_ZERO || (!hash) != (!eq))
		throw("maptype_make: unsupported key or elem size");
	memset(t, 0, sizeof *t);
	t->key_size = (uint32_t)keysize;
	t->elem_size = (uint32_t)elemsize;
	t->flags = tflags & (GOMAP_T_NEEDKEYUPDATE | GOMAP_T_HASHPANIC | GOMAP_T_HASPTR);
	if (!(tflags & GOMAP_T_NOTREFLEXIVE))
		t->flags |= GOMAP_T_REFLEXIVEKEY;
	t->keysize = (uint8_t)keysize;
	if (keysize > MAX_KEY_SIZE) {
		t->keysize = 8;
		t->flags |= GOMAP_T_INDIRECTKEY | GOMAP_T_HASPTR;
	}
	t->elemsize = (uint8_t)elemsize;
	if (elemsize > MAX_ELEM_SIZE) {
		t->elemsize = 8;
		t->flags |= GOMAP_T_INDIRECTELEM | GOMAP_T_HASPTR;
	}
	t->bucketsize = (uint16_t)(DATA_OFFSET + BUCKET_CNT * t->keysize + BUCKET_CNT * t->elemsize + 8);
	t->hasher = hash;
	t->equal = eq;
	if (!hash)
		t->fastkind = keysize == 8 ? GOMAP_KIND_U64 : GOMAP_KIND_MEM;
}

void maptype_make(maptype *t, size_t keysize, size_t elemsize, gomap_hashfn hash, gomap_eqfn eq)
{
	maptype_make_ex(t, keysize, elemsize, hash, eq, 0);
}

/* ---- generations: reference-counted bucket arrays ------------------------------------ */
struct ovchunk {
	struct ovchunk *next;	/* next chunk of this generation */
	size_t n;		/* buckets in data */
	_Alignas(16) uint8_t data[];	/* zeroed overflow buckets, handed out in order */
};

struct garbage {
	struct garbage *next;	/* next deferred object */
	void *obj;		/* indirect key or elem object to free */
};

struct gomap_gen {
	long refs;		/* owners: hmap fields, iterators, the previous generation */
	int retired;		/* set once when refs first reach 0 (racy resurrection must not re-free) */
	uint16_t bucketsize;	/* bytes per bucket */
	size_t nbuckets;	/* head + preallocated overflow buckets in the array */
	struct gomap_gen *next;	/* generation this one was evacuated into (a reference), or NULL */
	struct ovchunk *chunks;	/* overflow buckets allocated for this array */
	uint8_t *ovcur;		/* next free overflow bucket in chunks */
	uint8_t *ovend;		/* end of the current chunk */
	struct garbage *garbage;	/* indirect objects freed when this generation dies */
	uint64_t retiredAt;	/* quarantine timestamp (ns) */
	_Alignas(16) uint8_t arr[];	/* the bucket array: h->buckets points here */
};

static long liveGens;	/* generations allocated and not yet freed */

static inline struct gomap_gen *genOf(void *arr)
{
	return (struct gomap_gen *)((uint8_t *)arr - offsetof(struct gomap_gen, arr));
}

long gomap_live_generations(void) { return __atomic_load_n(&liveGens, __ATOMIC_RELAXED); }

/* Go's malloc size classes below 32 KiB (sizeclasses.go). */
static const uint32_t sizeClasses[] = {
	8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320,
	352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
	2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472,
	9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264,
	28672, 32768,
};

static size_t roundupsize(size_t s)
{
	if (s < 32768) {
		for (size_t i = 0; i < sizeof sizeClasses / sizeof sizeClasses[0]; i++)
			if (sizeClasses[i] >= s)
				return sizeClasses[i];
	}
	return (s + 8191) & ~(size_t)8191;
}

size_t gomap_bucket_array_len(const maptype *t, unsigned b)
{
	size_t base = (size_t)1 << b, n = base;
	if (b >= 4) {
		n += base >> 4;
		size_t sz = roundupsize(n * t->bucketsize);
		if (sz != n * t->bucketsize)
			n = sz / t->bucketsize;
	}
	return n;
}

/* makeBucketArray for a fresh array: a new generation with one reference. */
static void *makeBucketArray(const maptype *t, uint8_t b, void **nextOverflow)
{
	size_t base = bucketShift(b), n = gomap_bucket_array_len(t, b);
	struct gomap_gen *g = calloc(1, sizeof *g + n * t->bucketsize);
	if (!g)
		throw("out of memory");
	g->refs = 1;
	g->bucketsize = t->bucketsize;
	g->nbuckets = n;
	__atomic_fetch_add(&liveGens, 1, __ATOMIC_RELAXED);
	*nextOverflow = NULL;
	if (n > base) {
		/* The last preallocated bucket's overflow word is a non-nil sentinel. */
		*nextOverflow = bucketAt(t, g->arr, base);
		setOverflow(t, bucketAt(t, g->arr, n - 1), g->arr);
	}
	return g->arr;
}

static void genAcquire(struct gomap_gen *g) { __atomic_fetch_add(&g->refs, 1, __ATOMIC_RELAXED); }

/* A reference on a generation read from the hmap without a reference (an
 * iterator's start, the old array it peeks into): refused once the count
 * has reached zero — a racing write released it, and a generation brought
 * back from there would be freed under the iterator by the quarantine. */
static bool genTryAcquire(struct gomap_gen *g)
{
	long r = __atomic_load_n(&g->refs, __ATOMIC_RELAXED);
	while (r > 0)
		if (__atomic_compare_exchange_n(&g->refs, &r, r + 1, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return true;
	return false;
}

static void genRetire(struct gomap_gen *g);

/* Drop a reference; the last one retires the generation. */
static void genRelease(struct gomap_gen *g)
{
	if (__atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) == 0 &&
	    !__atomic_exchange_n(&g->retired, 1, __ATOMIC_ACQ_REL))
		genRetire(g);
}

static void freeChunks(struct ovchunk *c)
{
	while (c) {
		struct ovchunk *n = c->next;
		free(c);
		c = n;
	}
}

/* Free a dead generation; dropping its successor reference may free that too. */
static void genDestroy(struct gomap_gen *g)
{
	while (g) {
		struct gomap_gen *next = g->next;
		freeChunks(g->chunks);
		for (struct garbage *x = g->garbage, *y; x; x = y) {
			y = x->next;
			free(x->obj);
			free(x);
		}
		free(g);
		__atomic_fetch_sub(&liveGens, 1, __ATOMIC_RELAXED);
		g = NULL;
		if (next && __atomic_sub_fetch(&next->refs, 1, __ATOMIC_ACQ_REL) == 0 &&
		    !__atomic_exchange_n(&next->retired, 1, __ATOMIC_ACQ_REL)) {
			if (onrace() == ONRACE_COUNT)
				genRetire(next);
			else
				g = next;
		}
	}
}

/* ---- the quarantine (GOMAP_ONRACE=count only) ------------------------------------- */
/* A racy reader in another thread may still be inside a generation that its
 * owner just released; keeping it a while makes a crash unlikely. */
#define QUAR_CAP 256
#define QUAR_AGE_NS 500000000ull
#define QUAR_BYTES (64ul << 20)

static pthread_mutex_t quarLock = PTHREAD_MUTEX_INITIALIZER;
static struct gomap_gen *quarRing[QUAR_CAP];	/* FIFO of retired generations */
static unsigned quarHead, quarLen;	/* oldest entry, entries */
static size_t quarBytes;	/* bucket bytes held */

static uint64_t nowNs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static size_t genBytes(const struct gomap_gen *g) { return g->nbuckets * g->bucketsize + sizeof *g; }

static void genRetire(struct gomap_gen *g)
{
	if (onrace() != ONRACE_COUNT) {
		genDestroy(g);
		return;
	}
	struct gomap_gen *victims[QUAR_CAP];
	unsigned nv = 0;
	uint64_t now = nowNs();
	pthread_mutex_lock(&quarLock);
	while (quarLen && (quarLen == QUAR_CAP || quarBytes > QUAR_BYTES ||
			   now - quarRing[quarHead]->retiredAt > QUAR_AGE_NS)) {
		struct gomap_gen *v = quarRing[quarHead];
		quarHead = (quarHead + 1) % QUAR_CAP;
		quarLen--;
		quarBytes -= genBytes(v);
		victims[nv++] = v;
	}
	g->retiredAt = now;
	quarRing[(quarHead + quarLen) % QUAR_CAP] = g;
	quarLen++;
	quarBytes += genBytes(g);
	pthread_mutex_unlock(&quarLock);
	/* Freed outside the lock: destroying may retire successors, which locks. */
	for (unsigned i = 0; i < nv; i++)
		genDestroy(victims[i]);
}

void gomap_quarantine_flush(void)
{
	for (;;) {
		pthread_mutex_lock(&quarLock);
		struct gomap_gen *v = NULL;
		if (quarLen) {
			v = quarRing[quarHead];
			quarHead = (quarHead + 1) % QUAR_CAP;
			quarLen--;
			quarBytes -= genBytes(v);
		}
		pthread_mutex_unlock(&quarLock);
		if (!v)
			return;
		genDestroy(v);
	}
}

/* ---- count mode: one write at a time per map ------------------------------------- */
#define WLOCK_WAIT_NS 1000000000ull
static __thread char selfToken;	/* its address names this thread */

static void futexWait(uint32_t *w, uint32_t val, uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

/* After the entry's race check: in count mode wait for the write in flight
 * (a futex mutex, Drepper's "mutex3"). True when the lock was taken and
 * writeUnlock must release it. */
static bool writeLock(hmap *h)
{
	if (onrace() != ONRACE_COUNT)
		return false;
	uintptr_t me = (uintptr_t)&selfToken;
	if (__atomic_load_n(&h->wowner, __ATOMIC_RELAXED) == me)
		return false;	/* nested in our own write (a callback) */
	uint32_t c = 0;
	if (!__atomic_compare_exchange_n(&h->wlock, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		uint64_t deadline = nowNs() + WLOCK_WAIT_NS;
		if (c != 2)
			c = __atomic_exchange_n(&h->wlock, 2, __ATOMIC_ACQUIRE);
		while (c != 0) {
			uint64_t now = nowNs();
			if (now >= deadline)
				return false;	/* stuck behind a blocked writer: go ahead */
			futexWait(&h->wlock, 2, deadline - now);
			c = __atomic_exchange_n(&h->wlock, 2, __ATOMIC_ACQUIRE);
		}
	}
	__atomic_store_n(&h->wowner, me, __ATOMIC_RELAXED);
	return true;
}

static void writeUnlock(hmap *h, bool locked)
{
	if (!locked)
		return;
	__atomic_store_n(&h->wowner, 0, __ATOMIC_RELAXED);
	if (__atomic_exchange_n(&h->wlock, 0, __ATOMIC_RELEASE) == 2)
		syscall(SYS_futex, &h->wlock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* A new zeroed overflow bucket owned by generation g. */
static uint8_t *genOverflow(struct gomap_gen *g)
{
	if (g->ovcur == g->ovend) {
		size_t n = 4;
		if (g->chunks)
			n = g->chunks->n * 2 > 512 ? 512 : g->chunks->n * 2;
		struct ovchunk *c = calloc(1, sizeof *c + n * g->bucketsize);
		if (!c)
			throw("out of memory");
		c->n = n;
		c->next = g->chunks;
		g->chunks = c;
		g->ovcur = c->data;
		g->ovend = c->data + n * g->bucketsize;
	}
	uint8_t *b = g->ovcur;
	g->ovcur += g->bucketsize;
	return b;
}

/* Dispose of an indirect key/elem object that left the current generation.
 * Older generations (kept by iterators) may still point to it; they all hold
 * the current one, so while it has other owners the free waits for its death. */
static void disposeObject(hmap *h, void *obj)
{
	if (!obj)
		return;
	struct gomap_gen *g = genOf(h->buckets);
	if (__atomic_load_n(&g->refs, __ATOMIC_ACQUIRE) == 1 && onrace() != ONRACE_COUNT) {
		free(obj);
		return;
	}
	struct garbage *x = malloc(sizeof *x);
	if (!x)
		throw("out of memory");
	x->obj = obj;
	x->next = g->garbage;
	g->garbage = x;
}

/* Hand every indirect object of the chains starting at arr[0..n) to dispose
 * (live slots only: evacuated slots' objects belong to the newer array). */
static void disposeArrayObjects(const maptype *t, hmap *h, void *arr, uintptr_t n)
{
	if (!(t->flags & (GOMAP_T_INDIRECTKEY | GOMAP_T_INDIRECTELEM)))
		return;
	for (uintptr_t j = 0; j < n; j++) {
		for (uint8_t *b = bucketAt(t, arr, j); b; b = overflowOf(t, b)) {
			for (unsigned i = 0; i < BUCKET_CNT; i++) {
				if (b[i] < MIN_TOPHASH)
					continue;
				if (indirectKey(t)) {
					disposeObject(h, deref(slotKey(t, b, i)));
					*(void **)slotKey(t, b, i) = NULL;
				}
				if (indirectElem(t)) {
					disposeObject(h, deref(slotElem(t, b, i)));
					*(void **)slotElem(t, b, i) = NULL;
				}
			}
		}
	}
}

/* ---- overflow buckets ----------------------------------------------------------- */
static inline void incrnoverflow(hmap *h)
{
	/* Past 2^16 buckets the count is sampled so it keeps fitting in 16 bits. */
	if (h->B < 16) {
		h->noverflow++;
		return;
	}
	uint32_t mask = ((uint32_t)1 << (h->B - 15)) - 1;
	if ((rand32() & mask) == 0)
		h->noverflow++;
}

static uint8_t *newoverflow(hmap *h, const maptype *t, uint8_t *b)
{
	uint8_t *ovf;
	if (h->extra && h->extra->nextOverflow) {
		ovf = h->extra->nextOverflow;
		if (overflowOf(t, ovf) == NULL) {
			h->extra->nextOverflow = ovf + t->bucketsize;
		} else {
			/* Last preallocated bucket: its overflow word was only a sentinel. */
			setOverflow(t, ovf, NULL);
			h->extra->nextOverflow = NULL;
		}
	} else {
		ovf = genOverflow(genOf(h->buckets));
	}
	incrnoverflow(h);
	setOverflow(t, b, ovf);
	return ovf;
}

/* ---- creation and destruction ----------------------------------------------------- */
GOMAP_PROBE hmap *makemap(const maptype *t, long hint)
{
	if (hint < 0 || (unsigned long)hint > MAX_ALLOC / t->bucketsize)
		hint = 0;
	hmap *h = calloc(1, sizeof *h);
	if (!h)
		throw("out of memory");
	h->hash0 = rand32();
	uint8_t B = 0;
	while (overLoadFactor(hint, B))
		B++;
	h->B = B;
	if (B > 0) {
		void *next;
		h->buckets = makeBucketArray(t, B, &next);
		if (next) {
			h->extra = &h->xtra;
			h->extra->nextOverflow = next;
		}
	}
	return h;
}

GOMAP_PROBE void mapfree(const maptype *t, hmap *h)
{
	if (!h)
		return;
	if (h->buckets) {
		/* Un-evacuated old chains still own their objects; evacuated ones moved them. */
		if (h->oldbuckets) {
			uintptr_t nold = noldbuckets(h);
			for (uintptr_t j = 0; j < nold; j++) {
				uint8_t *ob = bucketAt(t, h->oldbuckets, j);
				if (!evacuated(ob))
					disposeArrayObjects(t, h, ob, 1);
			}
		}
		disposeArrayObjects(t, h, h->buckets, bucketShift(h->B));
		if (h->oldbuckets)
			genRelease(genOf(h->oldbuckets));
		genRelease(genOf(h->buckets));
	}
	free(h);
}

GOMAP_PROBE long maplen(const hmap *h) { return h ? (long)h->count : 0; }

/* ---- lookup ----------------------------------------------------------------------- */
/* The bucket holding hash: the old one while it has not been evacuated. */
static inline __attribute__((always_inline)) uint8_t *lookupBucket(const maptype *t, hmap *h, uint64_t hash)
{
	uintptr_t m = bucketMask(h->B);
	uint8_t *b = bucketAt(t, h->buckets, hash & m);
	void *old = h->oldbuckets;
	if (old) {
		if (!sameSizeGrow(h))
			m >>= 1;
		uint8_t *ob = bucketAt(t, old, hash & m);
		if (!evacuated(ob))
			b = ob;
	}
	return b;
}

/* Find key; returns the elem (dereferenced) and stores the key pointer in *kout. */
static inline __attribute__((always_inline)) void *lookup(const maptype *t, hmap *h, const void *key,
							     void **kout, int K)
{
	uint64_t hash = khash(t, key, h->hash0, K);
	uint8_t *b = lookupBucket(t, h, hash);
	uint8_t top = tophash(hash);
	for (; b; b = overflowOf(t, b)) {
		for (unsigned i = 0; i < BUCKET_CNT; i++) {
			if (b[i] != top) {
				if (b[i] == EMPTY_REST)
					return NULL;
				continue;
			}
			void *k = slotKey(t, b, i);
			if (K == K_ANY && indirectKey(t))
				k = deref(k);
			if (!keq(t, key, k, K))
				continue;
			void *e = slotElem(t, b, i);
			if (indirectElem(t))
				e = deref(e);
			if (kout)
				*kout = k;
			return e;
		}
	}
	return NULL;
}

static void *lookupAny(const maptype *t, hmap *h, const void *key, void **kout)
{
	switch (t->fastkind) {
	case GOMAP_KIND_U64:
		return lookup(t, h, key, kout, GOMAP_KIND_U64);
	case GOMAP_KIND_STR:
		return lookup(t, h, key, kout, GOMAP_KIND_STR);
	default:
		return lookup(t, h, key, kout, K_ANY);
	}
}

/* lookup specialised on the type's fast kind (constant-folded per branch). */
static inline __attribute__((always_inline)) void *lookupByKind(const maptype *t, hmap *h, const void *key)
{
	if (t->fastkind == GOMAP_KIND_U64)
		return lookup(t, h, key, NULL, GOMAP_KIND_U64);
	if (t->fastkind == GOMAP_KIND_STR)
		return lookup(t, h, key, NULL, GOMAP_KIND_STR);
	return lookup(t, h, key, NULL, K_ANY);
}

GOMAP_PROBE void *mapaccess1(const maptype *t, hmap *h, const void *key)
{
	if (!h || h->count == 0)
		return zeroVal;
	if (flags_load(h) & GOMAP_HASHWRITING)
		mapfatal(h, GOMAP_RACE_READ_WRITE);
	void *e = lookupByKind(t, h, key);
	return e ? e : zeroVal;
}

GOMAP_PROBE void *mapaccess2(const maptype *t, hmap *h, const void *key, bool *present)
{
	if (!h || h->count == 0) {
		if (present)
			*present = false;
		return zeroVal;
	}
	if (flags_load(h) & GOMAP_HASHWRITING)
		mapfatal(h, GOMAP_RACE_READ_WRITE);
	void *e = lookupByKind(t, h, key);
	if (present)
		*present = e != NULL;
	return e ? e : zeroVal;
}

/* Go's mapaccessK: used by iterators to re-find moved entries; no race check. */
static void *mapaccessK(const maptype *t, hmap *h, const void *key, void **kout)
{
	*kout = NULL;
	if (!h || h->count == 0)
		return NULL;
	return lookupAny(t, h, key, kout);
}

/* ---- assign --------------------------------------------------------------------- */
static inline __attribute__((always_inline)) void *assign(const maptype *t, hmap *h, const void *key, int K)
{
	if (flags_load(h) & GOMAP_HASHWRITING)
		mapfatal(h, GOMAP_RACE_WRITES);
	uint32_t seed = h->hash0;
	uint64_t hash = khash(t, key, seed, K);
	bool locked = writeLock(h);
	if (locked && h->hash0 != seed)	/* the write we waited for reseeded the map */
		hash = khash(t, key, h->hash0, K);
	/* Set hashWriting after hashing: a panicking hasher would leave it set in Go. */
	flags_store(h, flags_load(h) ^ GOMAP_HASHWRITING);
	if (!h->buckets) {
		void *next;
		h->buckets = makeBucketArray(t, 0, &next);
	}
	uint8_t top = tophash(hash);
	uint8_t *inserti, *insertk, *elem, *b;
again:
	{
		uintptr_t bucket = hash & bucketMask(h->B);
		if (growing(h))
			growWork(t, h, bucket);
		b = bucketAt(t, h->buckets, bucket);
	}
	inserti = insertk = elem = NULL;
	for (;;) {
		for (unsigned i = 0; i < BUCKET_CNT; i++) {
			if (b[i] != top) {
				if (isEmpty(b[i]) && !inserti) {
					inserti = &b[i];
					insertk = slotKey(t, b, i);
					elem = slotElem(t, b, i);
				}
				if (b[i] == EMPTY_REST)
					goto notfound;
				continue;
			}
			uint8_t *k = slotKey(t, b, i);
			if (K == K_ANY && indirectKey(t))
				k = deref(k);
			if (!keq(t, key, k, K))
				continue;
			/* Strings: keep the new backing bytes, as Go does. */
			if (K != GOMAP_KIND_U64 && (t->flags & GOMAP_T_NEEDKEYUPDATE))
				memmove(k, key, t->key_size);
			elem = slotElem(t, b, i);
			goto done;
		}
		uint8_t *ovf = overflowOf(t, b);
		if (!ovf)
			break;
		b = ovf;
	}
notfound:
	/* Only a new key can grow the map, and at most once per call. */
	if (!growing(h) && (overLoadFactor(h->count + 1, h->B) || tooManyOverflowBuckets(h->noverflow, h->B))) {
		hashGrow(t, h);
		goto again;
	}
	if (!inserti) {
		uint8_t *newb = newoverflow(h, t, b);
		inserti = &newb[0];
		insertk = slotKey(t, newb, 0);
		elem = slotElem(t, newb, 0);
	}
	if (K == K_ANY && indirectKey(t)) {
		void *kmem = malloc(t->key_size);
		if (!kmem)
			throw("out of memory");
		*(void **)insertk = kmem;
		insertk = kmem;
	}
	if (indirectElem(t)) {
		void *vmem = calloc(1, t->elem_size);
		if (!vmem)
			throw("out of memory");
		*(void **)elem = vmem;
	}
	memmove(insertk, key, K == GOMAP_KIND_U64 ? 8 : t->key_size);
	*inserti = top;
	h->count++;
done: {
	uint8_t f = flags_load(h);
	if (!(f & GOMAP_HASHWRITING))
		mapfatal(h, GOMAP_RACE_WRITES);
	else
		flags_store(h, f & ~GOMAP_HASHWRITING);
}
	writeUnlock(h, locked);
	if (indirectElem(t))
		elem = deref(elem);
	return elem;
}

GOMAP_PROBE void *mapassign(const maptype *t, hmap *h, const void *key)
{
	if (!h)
		die("panic: ", "assignment to entry in nil map");
	if (t->fastkind == GOMAP_KIND_U64)
		return assign(t, h, key, GOMAP_KIND_U64);
	if (t->fastkind == GOMAP_KIND_STR)
		return assign(t, h, key, GOMAP_KIND_STR);
	return assign(t, h, key, K_ANY);
}

/* ---- delete --------------------------------------------------------------------- */
static inline __attribute__((always_inline)) void delete(const maptype *t, hmap *h, const void *key, int K)
{
	if (flags_load(h) & GOMAP_HASHWRITING)
		mapfatal(h, GOMAP_RACE_WRITES);
	uint32_t seed = h->hash0;
	uint64_t hash = khash(t, key, seed, K);
	bool locked = writeLock(h);
	if (locked && h->hash0 != seed)
		hash = khash(t, key, h->hash0, K);
	flags_store(h, flags_load(h) ^ GOMAP_HASHWRITING);
	uintptr_t bucket = hash & bucketMask(h->B);
	if (growing(h))
		growWork(t, h, bucket);
	uint8_t *bOrig = bucketAt(t, h->buckets, bucket), *b = bOrig;
	uint8_t top = tophash(hash);
	for (; b; b = overflowOf(t, b)) {
		for (unsigned i = 0; i < BUCKET_CNT; i++) {
			if (b[i] != top) {
				if (b[i] == EMPTY_REST)
					goto out;
				continue;
			}
			uint8_t *k = slotKey(t, b, i), *k2 = k;
			if (K == K_ANY && indirectKey(t))
				k2 = deref(k);
			if (!keq(t, key, k2, K))
				continue;
			/* Clear the key only where it holds pointers, like Go. */
			if (K == K_ANY && indirectKey(t)) {
				*(void **)k = NULL;
				disposeObject(h, k2);
			} else if (K != GOMAP_KIND_U64 && hasPointers(t)) {
				memset(k, 0, t->keysize);
			}
			uint8_t *e = slotElem(t, b, i);
			if (indirectElem(t)) {
				void *obj = deref(e);
				*(void **)e = NULL;
				disposeObject(h, obj);
			} else {
				memset(e, 0, t->elemsize);
			}
			b[i] = EMPTY_ONE;
			/* Extend the emptyRest run backwards if everything after is empty. */
			if (i == BUCKET_CNT - 1) {
				uint8_t *ovf = overflowOf(t, b);
				if (ovf && ovf[0] != EMPTY_REST)
					goto notLast;
			} else if (b[i + 1] != EMPTY_REST) {
				goto notLast;
			}
			for (;;) {
				b[i] = EMPTY_REST;
				if (i == 0) {
					if (b == bOrig)
						break;
					uint8_t *c = b;
					for (b = bOrig; overflowOf(t, b) != c; b = overflowOf(t, b))
						;
					i = BUCKET_CNT - 1;
				} else {
					i--;
				}
				if (b[i] != EMPTY_ONE)
					break;
			}
notLast:
			h->count--;
			/* Reseed so an attacker cannot keep colliding across empty states. */
			if (h->count == 0)
				h->hash0 = rand32();
			goto out;
		}
	}
out: {
	uint8_t f = flags_load(h);
	if (!(f & GOMAP_HASHWRITING))
		mapfatal(h, GOMAP_RACE_WRITES);
	else
		flags_store(h, f & ~GOMAP_HASHWRITING);
}
	writeUnlock(h, locked);
}

GOMAP_PROBE void mapdelete(const maptype *t, hmap *h, const void *key)
{
	if (!h || h->count == 0)
		return;
	if (t->fastkind == GOMAP_KIND_U64)
		delete(t, h, key, GOMAP_KIND_U64);
	else if (t->fastkind == GOMAP_KIND_STR)
		delete(t, h, key, GOMAP_KIND_STR);
	else
		delete(t, h, key, K_ANY);
}

/* ---- clear ------------------------------------------------------------------------ */
GOMAP_PROBE void mapclear(const maptype *t, hmap *h)
{
	if (!h || h->count == 0)
		return;
	if (flags_load(h) & GOMAP_HASHWRITING)
		mapfatal(h, GOMAP_RACE_WRITES);
	bool locked = writeLock(h);
	flags_store(h, flags_load(h) ^ GOMAP_HASHWRITING);
	void *old = h->oldbuckets;
	if (old) {
		uintptr_t nold = noldbuckets(h);
		for (uintptr_t j = 0; j < nold; j++) {
			uint8_t *ob = bucketAt(t, old, j);
			if (!evacuated(ob))
				disposeArrayObjects(t, h, ob, 1);
		}
	}
	disposeArrayObjects(t, h, h->buckets, bucketShift(h->B));
	flags_store(h, flags_load(h) & ~GOMAP_SAMESIZEGROW);
	h->oldbuckets = NULL;
	h->nevacuate = 0;
	h->noverflow = 0;
	h->count = 0;
	h->hash0 = rand32();
	if (h->extra)
		memset(h->extra, 0, sizeof *h->extra);
	/* The old array is dropped unmarked, as in Go (hazard H1 for iterators on it). */
	if (old)
		genRelease(genOf(old));

	/* makeBucketArray(t, B, buckets): zero the array in place, keep its address. */
	struct gomap_gen *g = genOf(h->buckets);
	memset(g->arr, 0, g->nbuckets * t->bucketsize);
	uintptr_t base = bucketShift(h->B);
	if (g->nbuckets > base) {
		setOverflow(t, bucketAt(t, g->arr, g->nbuckets - 1), g->arr);
		h->extra = &h->xtra;
		h->extra->nextOverflow = bucketAt(t, g->arr, base);
	}
	/* Non-preallocated overflow buckets are unreachable now. An iterator may
	 * still be inside one, so they stay with the generation while it is shared;
	 * otherwise they go (through the quarantine in count mode). */
	if (g->chunks && __atomic_load_n(&g->refs, __ATOMIC_ACQUIRE) == 1) {
		struct gomap_gen *z = calloc(1, sizeof *z);
		if (!z)
			throw("out of memory");
		z->bucketsize = g->bucketsize;
		z->chunks = g->chunks;
		z->retired = 1;
		__atomic_fetch_add(&liveGens, 1, __ATOMIC_RELAXED);
		g->chunks = NULL;
		genRetire(z);
	}
	g->ovcur = g->ovend = NULL;

	uint8_t f = flags_load(h);
	if (!(f & GOMAP_HASHWRITING))
		mapfatal(h, GOMAP_RACE_WRITES);
	else
		flags_store(h, f & ~GOMAP_HASHWRITING);
	writeUnlock(h, locked);
}

/* ---- growing ---------------------------------------------------------------------- */
GOMAP_PROBE void hashGrow(const maptype *t, hmap *h)
{
	/* Over the load factor: double. Otherwise too many overflow buckets:
	 * rehash at the same size to pack the chains. */
	uint8_t bigger = 1;
	if (!overLoadFactor(h->count + 1, h->B)) {
		bigger = 0;
		flags_store(h, flags_load(h) | GOMAP_SAMESIZEGROW);
	}
	void *old = h->buckets, *nextOverflow;
	void *newarr = makeBucketArray(t, h->B + bigger, &nextOverflow);
	/* The old generation holds the new one: objects deleted from the new array
	 * may still be referenced from old slots that iterators read. */
	genAcquire(genOf(newarr));
	genOf(old)->next = genOf(newarr);

	uint8_t f = flags_load(h);
	uint8_t newflags = f & ~(GOMAP_ITERATOR | GOMAP_OLDITERATOR);
	if (f & GOMAP_ITERATOR)
		newflags |= GOMAP_OLDITERATOR;
	/* Commit in Go's store order. */
	h->B += bigger;
	flags_store(h, newflags);
	h->oldbuckets = old;
	h->buckets = newarr;
	h->nevacuate = 0;
	h->noverflow = 0;
	if (h->extra)
		h->extra->oldoverflow = NULL;
	if (nextOverflow) {
		h->extra = &h->xtra;
		h->extra->nextOverflow = nextOverflow;
	} else if (h->extra) {
		/* Never hand out the old array's preallocated buckets. */
		h->extra->nextOverflow = NULL;
	}
}

static __attribute__((noinline)) void advanceEvacuationMark(hmap *h, const maptype *t, uintptr_t newbit)
{
	h->nevacuate++;
	uintptr_t stop = h->nevacuate + 1024;
	if (stop > newbit)
		stop = newbit;
	while (h->nevacuate != stop && evacuated(bucketAt(t, h->oldbuckets, h->nevacuate)))
		h->nevacuate++;
	if (h->nevacuate == newbit) {
		/* Grow done: the old array lives on only for iterators holding it. */
		void *old = h->oldbuckets;
		h->oldbuckets = NULL;
		if (h->extra)
			h->extra->oldoverflow = NULL;
		flags_store(h, flags_load(h) & ~GOMAP_SAMESIZEGROW);
		genRelease(genOf(old));
	}
}

struct evacDst {
	uint8_t *b;	/* current destination bucket */
	unsigned i;	/* next free slot in b */
};

GOMAP_PROBE void evacuate(const maptype *t, hmap *h, uintptr_t oldbucket)
{
	uint8_t *ob = bucketAt(t, h->oldbuckets, oldbucket);
	uintptr_t newbit = noldbuckets(h);
	if (!evacuated(ob)) {
		bool same = sameSizeGrow(h);
		struct evacDst xy[2];
		xy[0] = (struct evacDst){ bucketAt(t, h->buckets, oldbucket), 0 };
		xy[1] = (struct evacDst){ same ? NULL : bucketAt(t, h->buckets, oldbucket + newbit), 0 };
		uint8_t f = flags_load(h);
		for (uint8_t *c = ob; c; c = overflowOf(t, c)) {
			for (unsigned i = 0; i < BUCKET_CNT; i++) {
				uint8_t top = c[i];
				if (isEmpty(top)) {
					c[i] = EVACUATED_EMPTY;
					continue;
				}
				if (top < MIN_TOPHASH)
					throw("bad map state");
				uint8_t *k = slotKey(t, c, i), *k2 = indirectKey(t) ? deref(k) : k;
				unsigned useY = 0;
				if (!same) {
					uint64_t hash = khash(t, k2, h->hash0, K_ANY);
					if ((f & GOMAP_ITERATOR) && !keySelfEqual(t, k2, K_ANY)) {
						/* NaN-like key: route by the tophash low bit, which the
						 * iterator's filter also uses, and re-randomise top. */
						useY = top & 1;
						top = tophash(hash);
					} else {
						useY = (hash & newbit) != 0;
					}
				}
				c[i] = EVACUATED_X + useY;
				struct evacDst *dst = &xy[useY];
				if (dst->i == BUCKET_CNT) {
					dst->b = newoverflow(h, t, dst->b);
					dst->i = 0;
				}
				dst->b[dst->i] = top;
				memcpy(slotKey(t, dst->b, dst->i), k, t->keysize);
				memcpy(slotElem(t, dst->b, dst->i), slotElem(t, c, i), t->elemsize);
				dst->i++;
			}
		}
		/* Unless an iterator may still read it, wipe the old head bucket (keys,
		 * elems, overflow word); the tophash bytes keep the evacuation marks. */
		if (!(flags_load(h) & GOMAP_OLDITERATOR) && hasPointers(t))
			memset(ob + DATA_OFFSET, 0, t->bucketsize - DATA_OFFSET);
	}
	if (oldbucket == h->nevacuate)
		advanceEvacuationMark(h, t, newbit);
}

GOMAP_PROBE void growWork(const maptype *t, hmap *h, uintptr_t bucket)
{
	/* The old bucket feeding the one about to be used, then one more for progress. */
	evacuate(t, h, bucket & oldbucketmask(h));
	if (growing(h))
		evacuate(t, h, h->nevacuate);
}

/* ---- iteration -------------------------------------------------------------------- */
/* Make the iterator own a reference on the generation bptr lies in. */
static inline void iterPin(hiter *it, struct gomap_gen *g)
{
	if (g == it->snap)
		g = NULL;
	if (g == it->bgen)
		return;
	if (g)
		genAcquire(g);
	if (it->bgen)
		genRelease(it->bgen);
	it->bgen = g;
}

/* iterPin for a generation the iterator holds no reference on yet: false,
 * and nothing changed, when it is already released. */
static inline bool iterPinTry(hiter *it, struct gomap_gen *g)
{
	if (g == it->snap || g == it->bgen)
		return true;
	if (!genTryAcquire(g))
		return false;
	if (it->bgen)
		genRelease(it->bgen);
	it->bgen = g;
	return true;
}

GOMAP_PROBE void mapiterinit(const maptype *t, hmap *h, hiter *it)
{
	/* The caller's hiter may hold garbage: initialise every field. */
	memset(it, 0, sizeof *it);
	it->t = t;
	/* An empty map's iteration ends here, and like every end it goes
	 * through mapiterdone: a tracer that saw it start sees it end. */
	if (!h || h->count == 0 || !h->buckets) {
		it->h = h;	/* (Go leaves it nil) so the end names its map */
		mapiterdone(it);
		return;
	}
	/* B first: a grow raises B before it publishes the bigger array, so a
	 * racing grow can only make the walk cover part of a bigger array. The
	 * array must hold 2^B buckets and still be alive (a racing write may
	 * have retired it): else read both again. */
	void *buckets;
	uint8_t B;
	for (int tries = 0;; tries++) {
		B = __atomic_load_n(&h->B, __ATOMIC_ACQUIRE);
		buckets = __atomic_load_n(&h->buckets, __ATOMIC_ACQUIRE);
		struct gomap_gen *g = genOf(buckets);
		if (tries >= 64) {
			genAcquire(g);	/* the map is torn beyond repair; as before */
			break;
		}
		if (!genTryAcquire(g))
			continue;
		if (bucketShift(B) <= g->nbuckets)
			break;
		genRelease(g);
	}
	it->h = h;
	it->B = B;
	it->buckets = buckets;
	it->snap = genOf(buckets);
	uint64_t r = it->B > 28 ? rand64() : rand32();
	it->startBucket = r & bucketMask(it->B);
	it->offset = (uint8_t)((r >> it->B) & (BUCKET_CNT - 1));
	it->bucket = it->startBucket;
	/* Both bits: this iterator walks buckets now and oldbuckets after a grow. */
	if ((flags_load(h) & (GOMAP_ITERATOR | GOMAP_OLDITERATOR)) != (GOMAP_ITERATOR | GOMAP_OLDITERATOR))
		__atomic_fetch_or(&h->flags, GOMAP_ITERATOR | GOMAP_OLDITERATOR, __ATOMIC_RELAXED);
	mapiternext(it);
}

GOMAP_PROBE void mapiternext(hiter *it)
{
	hmap *h = it->h;
	if (!h || !it->snap) {
		/* Never started, or already finished. */
		it->key = it->elem = NULL;
		return;
	}
	if (flags_load(h) & GOMAP_HASHWRITING)
		mapfatal(h, GOMAP_RACE_ITER_WRITE);
	const maptype *t = it->t;
	uintptr_t bucket = it->bucket;
	uint8_t *b = it->bptr;
	unsigned i = it->i;
	uintptr_t checkBucket = it->checkBucket;
	/* Racy use can present torn chains; in count mode bound the walk. */
	uint64_t budget = onraceMode == ONRACE_COUNT ? 16 * bucketShift(it->B) + 4096 : UINT64_MAX;

next:
	if (!b) {
		if (bucket == it->startBucket && it->wrapped)
			goto end;
		void *old = h->oldbuckets;
		uint8_t *ob = NULL;
		/* Started during this grow (or only same-size grows since): the
		 * data of an un-evacuated bucket still lives in the old array —
		 * pinned before it is read, and gone (every bucket evacuated) when
		 * it cannot be pinned any more. */
		if (old && it->B == h->B && iterPinTry(it, genOf(old))) {
			uintptr_t j = bucket & oldbucketmask(h);
			if (j < genOf(old)->nbuckets && !evacuated(bucketAt(t, old, j)))
				ob = bucketAt(t, old, j);
		}
		if (ob) {
			b = ob;
			checkBucket = bucket;
		} else {
			b = bucketAt(t, it->buckets, bucket);
			checkBucket = GOMAP_NOCHECK;
			iterPin(it, it->snap);
		}
		bucket++;
		if (bucket == bucketShift(it->B)) {
			bucket = 0;
			it->wrapped = true;
		}
		i = 0;
	}
	for (; i < BUCKET_CNT; i++) {
		unsigned offi = (i + it->offset) & (BUCKET_CNT - 1);
		uint8_t top = b[offi];
		if (isEmpty(top) || top == EVACUATED_EMPTY)
			continue;
		uint8_t *k = slotKey(t, b, offi);
		if (indirectKey(t)) {
			k = deref(k);
			/* A wiped old bucket (hazard H2) has a nil key; Go faults here. */
			if (!k)
				continue;
		}
		uint8_t *e = slotElem(t, b, offi);
		if (checkBucket != GOMAP_NOCHECK && !sameSizeGrow(h)) {
			/* Old bucket seen through new bucket checkBucket: keep only the
			 * entries that go there. */
			if (keySelfEqual(t, k, K_ANY)) {
				uint64_t hash = khash(t, k, h->hash0, K_ANY);
				if ((hash & bucketMask(it->B)) != checkBucket)
					continue;
			} else if ((checkBucket >> (it->B - 1)) != (uintptr_t)(top & 1)) {
				continue;
			}
		}
		if ((top != EVACUATED_X && top != EVACUATED_Y) || !keySelfEqual(t, k, K_ANY)) {
			it->key = k;
			it->elem = indirectElem(t) ? deref(e) : e;
		} else {
			/* Moved to a newer array: find its current value, or skip it if deleted. */
			void *rk, *re = mapaccessK(t, h, k, &rk);
			if (!rk)
				continue;
			it->key = rk;
			it->elem = re;
		}
		it->bucket = bucket;
		if (it->bptr != b)
			it->bptr = b;
		it->i = (uint8_t)(i + 1);
		it->checkBucket = checkBucket;
		return;
	}
	b = overflowOf(t, b);
	i = 0;
	if (--budget == 0)
		goto end;
	goto next;
end:
	it->key = it->elem = NULL;
	mapiterdone(it);
}

GOMAP_PROBE void mapiterdone(hiter *it)
{
	/* Never touches it->h: the map may already be gone on an early exit. */
	it->key = it->elem = NULL;
	struct gomap_gen *bg = it->bgen, *sn = it->snap;
	it->bgen = NULL;
	it->snap = NULL;
	if (bg)
		genRelease(bg);
	if (sn)
		genRelease(sn);
}
