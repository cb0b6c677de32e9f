/* test_gomap_iter.c — iteration: every key exactly once without modification
 * (started before/during/after doubling and same-size grows); iterate-and-
 * modify with several grows inside one iteration; random start; early exit
 * with mapiterdone releasing every generation.
 */
#include "check.h"
#include "gomap_testutil.h"

#define NIDS 40000
static uint32_t seen[NIDS];
static uint8_t present[NIDS];

static hmap *fill(const struct fam *f, long n, long hint)
{
	char key[BIGKEY];
	hmap *h = makemap(f->t, hint);
	for (long id = 0; id < n; id++) {
		f->mk((uint64_t)id, key);
		put_val(f, mapassign(f->t, h, key), (uint64_t)id);
	}
	return h;
}

/* Iterate without modification: every key of [lo, hi) exactly once. */
static int exactly_once(const struct fam *f, hmap *h, long lo, long hi)
{
	memset(seen, 0, sizeof seen);
	hiter it;
	long n = 0;
	for (mapiterinit(f->t, h, &it); it.key; mapiternext(&it)) {
		uint64_t id = f->id(it.key), v;
		if (id < (uint64_t)lo || id >= (uint64_t)hi || seen[id]++) return 0;
		if (!get_val(f, it.elem, &v) || v != id) return 0;
		n++;
	}
	return n == hi - lo && it.snap == NULL;
}

TEST(iter_plain_all_families)
{
	fams_init();
	for (int fi = 0; fi < 4; fi++)
		for (long n = 0; n < 300; n += 7) {
			hmap *h = fill(&fams[fi], n, 0);
			CHECK(exactly_once(&fams[fi], h, 0, n));
			mapfree(fams[fi].t, h);
		}
	CHECK_EQ_U64(gomap_live_generations(), 0);
}

TEST(iter_started_during_doubling_grow)
{
	fams_init();
	for (int fi = 0; fi < 4; fi++) {
		int during = 0;
		static const long ns[] = { 9, 14, 27, 28, 53, 54, 105, 106, 209, 417, 833, 1665, 1700, 2500 };
		for (unsigned ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
			long n = ns[ni];
			hmap *h = fill(&fams[fi], n, 0);
			if (h->oldbuckets) during++;
			CHECK(exactly_once(&fams[fi], h, 0, n));
			/* and again after finishing the grow with updates */
			char key[BIGKEY];
			for (long id = 0; h->oldbuckets; id++) {
				fams[fi].mk((uint64_t)(id % n), key);
				put_val(&fams[fi], mapassign(fams[fi].t, h, key), (uint64_t)(id % n));
			}
			CHECK(exactly_once(&fams[fi], h, 0, n));
			mapfree(fams[fi].t, h);
		}
		CHECK(during > 5);
	}
	CHECK_EQ_U64(gomap_live_generations(), 0);
}

/* Delete/insert churn at constant count until a same-size grow is in progress. */
static hmap *churn_to_samesize(const struct fam *f, long count, long *lo)
{
	char key[BIGKEY];
	hmap *h = fill(f, count, 0);
	long head = 0, tail = count;
	for (int guard = 0; guard < 1000000; guard++) {
		f->mk((uint64_t)head++, key);
		mapdelete(f->t, h, key);
		f->mk((uint64_t)tail, key);
		put_val(f, mapassign(f->t, h, key), (uint64_t)tail);
		tail++;
		if (h->oldbuckets && (h->flags & GOMAP_SAMESIZEGROW))
			break;
	}
	*lo = head;
	return h;
}

TEST(iter_started_during_samesize_grow)
{
	fams_init();
	for (int fi = 0; fi < 4; fi++) {
		long lo;
		hmap *h = churn_to_samesize(&fams[fi], 60, &lo);
		CHECK(h->oldbuckets && (h->flags & GOMAP_SAMESIZEGROW));
		CHECK_EQ_U64(h->B, 4);
		CHECK(exactly_once(&fams[fi], h, lo, lo + 60));
		mapfree(fams[fi].t, h);
	}
	CHECK_EQ_U64(gomap_live_generations(), 0);
}

/* Iterate and modify from the iterating thread. perm keys [0, nperm) stay;
 * victims [nperm, nperm+nvict) are deleted when first seen or by the body
 * before being reached; inserts of fresh keys cause several grows. */
static int iter_modify(const struct fam *f, long nperm, long nvict, int inserts_per_step, int strict)
{
	char key[BIGKEY];
	memset(seen, 0, sizeof seen);
	memset(present, 0, sizeof present);
	hmap *h = fill(f, nperm + nvict, 0);
	for (long i = 0; i < nperm + nvict; i++) present[i] = 1;
	long next = nperm + nvict, victim = nperm;
	uint8_t B0 = h->B;
	int grows = 0;
	void *lastbuckets = h->buckets;
	hiter it;
	for (mapiterinit(f->t, h, &it); it.key; mapiternext(&it)) {
		uint64_t id = f->id(it.key), v;
		if (id >= NIDS || seen[id]++) { fprintf(stderr, "%s: dup %llu\n", f->name, (unsigned long long)id); return 0; }
		if (id >= (uint64_t)nperm && id < (uint64_t)(nperm + nvict) && !present[id]) { fprintf(stderr, "deleted seen\n"); return 0; }
		if (!get_val(f, it.elem, &v) || v != id) return 0;
		/* delete an unseen victim, insert fresh keys */
		if (victim < nperm + nvict) {
			f->mk((uint64_t)victim, key);
			mapdelete(f->t, h, key);
			present[victim++] = 0;
		}
		for (int j = 0; j < inserts_per_step && next < NIDS; j++) {
			f->mk((uint64_t)next, key);
			put_val(f, mapassign(f->t, h, key), (uint64_t)next);
			present[next++] = 1;
		}
		if (h->buckets != lastbuckets) { grows++; lastbuckets = h->buckets; }
	}
	for (long id = 0; id < nperm; id++)
		if (seen[id] != 1 && strict) { fprintf(stderr, "%s: perm %ld seen %u\n", f->name, id, seen[id]); return 0; }
	if (grows < 2 || h->B <= B0 + 1) { fprintf(stderr, "%s: grows %d\n", f->name, grows); return 0; }
	mapfree(f->t, h);
	return 1;
}

TEST(iter_modify_several_grows)
{
	fams_init();
	for (int fi = 0; fi < 4; fi++)
		for (int r = 0; r < 5; r++)
			CHECK(iter_modify(&fams[fi], 200 + r * 37, 100, 8, 1));
	CHECK_EQ_U64(gomap_live_generations(), 0);
}

/* Several same-size grows inside one iteration. Without pointers in the
 * bucket (u64, k4) Go's guarantee holds; with pointers hazard H2 may drop
 * keys, so there only memory safety and no duplicates are checked. */
TEST(iter_modify_samesize_churn)
{
	fams_init();
	for (int fi = 0; fi < 4; fi++) {
		int ssg = 0;
		for (int r = 0; r < 300; r++) {
			char key[BIGKEY];
			memset(seen, 0, sizeof seen);
			long perm = 8, fifo = 12, head = perm, tail = perm + fifo;
			hmap *h = fill(&fams[fi], perm + fifo, 0);
			hiter it;
			void *lastold = NULL;
			for (mapiterinit(fams[fi].t, h, &it); it.key; mapiternext(&it)) {
				uint64_t id = fams[fi].id(it.key);
				CHECK(id < NIDS);
				if (id < (uint64_t)perm) CHECK(seen[id]++ == 0);
				for (int j = 0; j < 100 && tail < NIDS; j++) {
					fams[fi].mk((uint64_t)head++, key);
					mapdelete(fams[fi].t, h, key);
					fams[fi].mk((uint64_t)tail, key);
					put_val(&fams[fi], mapassign(fams[fi].t, h, key), (uint64_t)tail);
					tail++;
					if (h->oldbuckets && h->oldbuckets != lastold && (h->flags & GOMAP_SAMESIZEGROW)) ssg++;
					lastold = h->oldbuckets;
				}
			}
			if (fi == 0 || fi == 2)
				for (long id = 0; id < perm; id++) CHECK_EQ_U64(seen[id], 1);
			mapfree(fams[fi].t, h);
		}
		printf("  %s: %d same-size grows inside iterations\n", fams[fi].name, ssg);
		CHECK(ssg >= 100);
	}
	CHECK_EQ_U64(gomap_live_generations(), 0);
}

TEST(iter_random_start)
{
	hmap *h = fill(&fams[0], 1000, 0);
	uint64_t firsts[200];
	int distinct = 0, offsets[8] = {0};
	for (int r = 0; r < 200; r++) {
		hiter it;
		mapiterinit(&maptype_u64, h, &it);
		CHECK(it.key);
		firsts[r] = *(uint64_t *)it.key;
		offsets[it.offset]++;
		CHECK(it.startBucket < 256 && it.B == 8);
		mapiterdone(&it);
		mapiterdone(&it);	/* idempotent */
		int dup = 0;
		for (int q = 0; q < r; q++) dup |= firsts[q] == firsts[r];
		distinct += !dup;
	}
	CHECK(distinct > 50);
	for (int o = 0; o < 8; o++) CHECK(offsets[o] > 0);
	mapfree(&maptype_u64, h);
	CHECK_EQ_U64(gomap_live_generations(), 0);
}

TEST(iter_early_exit_frees)
{
	fams_init();
	for (int fi = 0; fi < 4; fi++) {
		char key[BIGKEY];
		hmap *h = fill(&fams[fi], 52, 0);
		hiter it, it2;
		memset(&it, 0xa5, sizeof it);	/* garbage hiter: init must not care */
		mapiterinit(fams[fi].t, h, &it);
		CHECK(it.key);
		long next = 52;
		/* insert through two doubling grows while the iterator is open */
		for (int k = 0; k < 3 && it.key; k++) mapiternext(&it);
		for (; next < 400; next++) {
			fams[fi].mk((uint64_t)next, key);
			put_val(&fams[fi], mapassign(fams[fi].t, h, key), (uint64_t)next);
			if (next == 200) { mapiterinit(fams[fi].t, h, &it2); mapiternext(&it2); }
		}
		CHECK(gomap_live_generations() >= 2);
		mapiterdone(&it);
		mapiterdone(&it2);
		mapiterdone(&it2);
		mapfree(fams[fi].t, h);
		CHECK_EQ_U64(gomap_live_generations(), 0);
		/* iterator outliving the map: done after free must be fine */
		h = fill(&fams[fi], 100, 0);
		mapiterinit(fams[fi].t, h, &it);
		mapfree(fams[fi].t, h);
		CHECK(gomap_live_generations() == 1);
		mapiterdone(&it);
		CHECK_EQ_U64(gomap_live_generations(), 0);
	}
}

TEST(iter_empty_and_nil)
{
	hiter it;
	memset(&it, 0x5a, sizeof it);
	mapiterinit(&maptype_u64, NULL, &it);
	CHECK(it.key == NULL && it.h == NULL);
	mapiterdone(&it);
	hmap *h = makemap(&maptype_u64, 100);
	mapiterinit(&maptype_u64, h, &it);
	CHECK(it.key == NULL);
	mapiternext(&it);
	CHECK(it.key == NULL);
	mapfree(&maptype_u64, h);
	CHECK_EQ_U64(gomap_live_generations(), 0);
}

/* mapclear inside an iteration (hazard H1 only with a grow pending): memory safe. */
TEST(iter_mapclear_inside)
{
	fams_init();
	for (int fi = 0; fi < 4; fi++) {
		char key[BIGKEY];
		hmap *h = fill(&fams[fi], 104, 0);
		hiter it;
		long steps = 0;
		for (mapiterinit(fams[fi].t, h, &it); it.key; mapiternext(&it)) {
			if (steps++ == 0) {
				fams[fi].mk(104, key);
				put_val(&fams[fi], mapassign(fams[fi].t, h, key), 104);
				mapclear(fams[fi].t, h);
			}
			CHECK(steps < 1000);
		}
		CHECK_EQ_U64(maplen(h), 0);
		mapfree(fams[fi].t, h);
		CHECK_EQ_U64(gomap_live_generations(), 0);
	}
}

CHECK_MAIN()
