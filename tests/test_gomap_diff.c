/* test_gomap_diff.c — differential tests: random insert/update/delete/lookup/
 * clear sequences on libgomap against a reference array indexed by key id,
 * for u64, string, 4-byte and indirect 200-byte-key/300-byte-elem maps. After
 * each phase every lookup, maplen and a full iteration are checked.
 */
#include "check.h"
#include "gomap_testutil.h"

#define NIDS 20000

static uint8_t ref_has[NIDS];
static uint64_t ref_val[NIDS];
static uint32_t seen[NIDS];

static int verify(const struct fam *f, hmap *h, long n)
{
	char key[BIGKEY];
	if (maplen(h) != n) { fprintf(stderr, "%s: maplen %ld != %ld\n", f->name, maplen(h), n); return 0; }
	for (uint64_t id = 0; id < NIDS; id++) {
		f->mk(id, key);
		bool ok;
		void *e = mapaccess2(f->t, h, key, &ok);
		if (ok != ref_has[id]) { fprintf(stderr, "%s: id %llu present %d\n", f->name, (unsigned long long)id, ok); return 0; }
		uint64_t v;
		if (!get_val(f, e, &v) || v != (ok ? ref_val[id] : 0)) { fprintf(stderr, "%s: id %llu value\n", f->name, (unsigned long long)id); return 0; }
	}
	static uint32_t gen;
	gen++;
	long cnt = 0;
	hiter it;
	for (mapiterinit(f->t, h, &it); it.key; mapiternext(&it)) {
		uint64_t id = f->id(it.key), v;
		if (id >= NIDS || !ref_has[id] || seen[id] == gen) { fprintf(stderr, "%s: iter bad/dup id %llu\n", f->name, (unsigned long long)id); mapiterdone(&it); return 0; }
		seen[id] = gen;
		if (!get_val(f, it.elem, &v) || v != ref_val[id]) { fprintf(stderr, "%s: iter value\n", f->name); mapiterdone(&it); return 0; }
		cnt++;
	}
	if (cnt != n) { fprintf(stderr, "%s: iterated %ld != %ld\n", f->name, cnt, n); return 0; }
	return 1;
}

static int run_family(const struct fam *f, long ops, uint64_t seed)
{
	char key[BIGKEY];
	trng = seed;
	memset(ref_has, 0, sizeof ref_has);
	hmap *h = makemap(f->t, (long)(trand() % 64));
	long n = 0;
	for (int phase = 0; phase < 10; phase++) {
		/* Vary the live key range per phase so the map grows and shrinks. */
		uint64_t range = 16u << (trand() % 11);
		if (range > NIDS) range = NIDS;
		int delw = (int)(trand() % 60) + 10;
		for (long op = 0; op < ops / 10; op++) {
			uint64_t id = trand() % range, r = trand() % 100;
			f->mk(id, key);
			if (r < (uint64_t)delw / 2) {
				mapdelete(f->t, h, key);
				if (ref_has[id]) { ref_has[id] = 0; n--; }
			} else if (r < 55) {
				uint64_t v = trand();
				put_val(f, mapassign(f->t, h, key), v);
				if (!ref_has[id]) { ref_has[id] = 1; n++; }
				ref_val[id] = v;
			} else if (r == 99 && trand() % 500 == 0) {
				mapclear(f->t, h);
				memset(ref_has, 0, sizeof ref_has);
				n = 0;
			} else {
				bool ok;
				void *e = mapaccess2(f->t, h, key, &ok);
				uint64_t v;
				if (ok != ref_has[id] || !get_val(f, e, &v) || v != (ok ? ref_val[id] : 0)) {
					fprintf(stderr, "%s: lookup id %llu op %ld\n", f->name, (unsigned long long)id, op);
					return 0;
				}
				void *e1 = mapaccess1(f->t, h, key);
				if (e1 != e) return 0;
			}
			if (maplen(h) != n) { fprintf(stderr, "%s: len\n", f->name); return 0; }
		}
		if (!verify(f, h, n)) return 0;
	}
	mapfree(f->t, h);
	return 1;
}

TEST(diff_u64) { fams_init(); CHECK(run_family(&fams[0], 1500000, 1)); CHECK_EQ_U64(gomap_live_generations(), 0); }
TEST(diff_str) { fams_init(); CHECK(run_family(&fams[1], 600000, 2)); CHECK_EQ_U64(gomap_live_generations(), 0); }
TEST(diff_k4) { fams_init(); CHECK(run_family(&fams[2], 800000, 3)); CHECK_EQ_U64(gomap_live_generations(), 0); }
TEST(diff_big) { fams_init(); CHECK(run_family(&fams[3], 300000, 4)); CHECK_EQ_U64(gomap_live_generations(), 0); }

/* Small maps with many seeds: exercise B=0 and the first grows. */
TEST(diff_small_many)
{
	fams_init();
	for (int s = 0; s < 40; s++)
		for (int f = 0; f < 4; f++) {
			char key[BIGKEY];
			trng = 1000 + s;
			memset(ref_has, 0, sizeof ref_has);
			hmap *h = makemap(fams[f].t, 0);
			long n = 0;
			for (int op = 0; op < 3000; op++) {
				uint64_t id = trand() % 40;
				fams[f].mk(id, key);
				if (trand() % 3 == 0) { mapdelete(fams[f].t, h, key); if (ref_has[id]) { ref_has[id] = 0; n--; } }
				else { uint64_t v = trand(); put_val(&fams[f], mapassign(fams[f].t, h, key), v); if (!ref_has[id]) n++; ref_has[id] = 1; ref_val[id] = v; }
			}
			CHECK(verify(&fams[f], h, n));
			mapfree(fams[f].t, h);
		}
	CHECK_EQ_U64(gomap_live_generations(), 0);
}

CHECK_MAIN()
