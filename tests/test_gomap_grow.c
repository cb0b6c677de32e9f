/* test_gomap_grow.c — growth matches Go 1.19: hint -> B, the inserts at which
 * B grows, same-size grows under churn, evacuation completion and freeing,
 * preallocated overflow counts, sticky iterator flags, reseeding.
 */
#include "check.h"
#include "gomap.h"
#include <stddef.h>

static void put(hmap *h, uint64_t k, uint64_t v) { *(uint64_t *)mapassign(&maptype_u64, h, &k) = v; }

TEST(hint_to_B)
{
	struct { long lo, hi; int B; } tab[] = {
		{ 0, 8, 0 }, { 9, 13, 1 }, { 14, 26, 2 }, { 27, 52, 3 }, { 53, 104, 4 }, { 105, 208, 5 }, { 209, 209, 6 },
	};
	for (unsigned i = 0; i < sizeof tab / sizeof tab[0]; i++)
		for (long hint = tab[i].lo; hint <= tab[i].hi; hint++) {
			hmap *h = makemap(&maptype_u64, hint);
			CHECK_EQ_U64(h->B, tab[i].B);
			CHECK((h->buckets != NULL) == (tab[i].B > 0));
			mapfree(&maptype_u64, h);
		}
	hmap *h = makemap(&maptype_u64, -5);
	CHECK_EQ_U64(h->B, 0);
	mapfree(&maptype_u64, h);
	CHECK_EQ_U64(gomap_live_generations(), 0);
}

TEST(B_grows_at_go_inserts)
{
	hmap *h = makemap(&maptype_u64, 0);
	int grows_at[8], ng = 0;
	uint8_t B = h->B;
	for (uint64_t k = 0; k < 120; k++) {
		long before = maplen(h);
		put(h, k, k);
		if (h->B != B) {
			CHECK(ng < 8);
			grows_at[ng++] = (int)before;
			CHECK_EQ_U64(h->B, B + 1);
			B = h->B;
		}
		CHECK_EQ_U64(h->count, k + 1);
	}
	static const int want[] = { 8, 13, 26, 52, 104 };
	CHECK_EQ_U64(ng, 5);
	for (int i = 0; i < 5; i++) CHECK_EQ_U64(grows_at[i], want[i]);
	mapfree(&maptype_u64, h);
}

TEST(grow_in_progress_and_completion)
{
	hmap *h = makemap(&maptype_u64, 0);
	for (uint64_t k = 0; k <= 52; k++) put(h, k, k);
	CHECK_EQ_U64(h->B, 4);
	CHECK(h->oldbuckets != NULL);
	CHECK(!(h->flags & GOMAP_SAMESIZEGROW));
	CHECK(h->nevacuate > 0 && h->nevacuate < 8);
	/* (no check of noverflow: with a random hash seed, 53 keys do overflow a
	 * bucket now and then, as in Go) */
	CHECK_EQ_U64(gomap_live_generations(), 2);
	/* updates also do grow work */
	for (uint64_t k = 0; h->oldbuckets; k++) put(h, k % 53, k);
	CHECK_EQ_U64(h->nevacuate, 8);
	CHECK_EQ_U64(gomap_live_generations(), 1);
	for (uint64_t k = 0; k <= 52; k++) {
		bool ok;
		mapaccess2(&maptype_u64, h, &k, &ok);
		CHECK(ok);
	}
	mapfree(&maptype_u64, h);
	CHECK_EQ_U64(gomap_live_generations(), 0);
}

TEST(same_size_grow_under_churn)
{
	hmap *h = makemap(&maptype_u64, 0);
	for (uint64_t k = 0; k < 60; k++) put(h, k, k);
	uint8_t B = h->B;
	int ssg = 0;
	void *lastold = NULL;
	for (uint64_t k = 60; k < 200000; k++) {
		uint64_t d = k - 60;
		mapdelete(&maptype_u64, h, &d);
		put(h, k, k);
		CHECK_EQ_U64(maplen(h), 60);
		CHECK_EQ_U64(h->B, B);
		if (h->oldbuckets && h->oldbuckets != lastold) {
			CHECK(h->flags & GOMAP_SAMESIZEGROW);
			ssg++;
		}
		lastold = h->oldbuckets;
		if (!h->oldbuckets) CHECK(!(h->flags & GOMAP_SAMESIZEGROW));
		CHECK(gomap_live_generations() <= 2);
	}
	CHECK(ssg > 10);
	mapfree(&maptype_u64, h);
	CHECK_EQ_U64(gomap_live_generations(), 0);
}

TEST(preallocated_overflow)
{
	CHECK_EQ_U64(maptype_u64.bucketsize, 144);
	CHECK_EQ_U64(offsetof(maptype, bucketsize), GOMAP_MAPTYPE_BUCKETSIZE_OFFSET);
	CHECK_EQ_U64(gomap_bucket_array_len(&maptype_u64, 3) - 8, 0);
	CHECK_EQ_U64(gomap_bucket_array_len(&maptype_u64, 4) - 16, 2);
	CHECK_EQ_U64(gomap_bucket_array_len(&maptype_u64, 5) - 32, 5);
	CHECK_EQ_U64(gomap_bucket_array_len(&maptype_u64, 8) - 256, 28);
	CHECK_EQ_U64(gomap_bucket_array_len(&maptype_u64, 14) - 16384, 1024);
	CHECK_EQ_U64(maptype_str.bucketsize, 208);
	hmap *h = makemap(&maptype_u64, 60);
	CHECK_EQ_U64(h->B, 4);
	CHECK(h->extra && h->extra->nextOverflow == (char *)h->buckets + 16 * 144);
	mapfree(&maptype_u64, h);
}

TEST(sticky_flags_and_reseed)
{
	hmap *h = makemap(&maptype_u64, 0);
	for (uint64_t k = 0; k < 52; k++) put(h, k, k);
	hiter it;
	for (mapiterinit(&maptype_u64, h, &it); it.key; mapiternext(&it))
		;
	CHECK_EQ_U64(h->flags, 3);
	put(h, 1000, 1);	/* 53rd: doubling grow */
	CHECK_EQ_U64(h->flags & 3, 2);
	for (mapiterinit(&maptype_u64, h, &it); it.key; mapiternext(&it))
		;
	CHECK_EQ_U64(h->flags & 3, 3);
	uint32_t s = h->hash0;
	for (uint64_t k = 0; k < 52; k++) mapdelete(&maptype_u64, h, &k);
	uint64_t k = 1000;
	mapdelete(&maptype_u64, h, &k);
	CHECK_EQ_U64(maplen(h), 0);
	CHECK(h->hash0 != s);
	for (k = 0; k < 300; k++) put(h, k, k);
	CHECK_EQ_U64(h->flags & 3, 0);	/* consumed by the grows since the last range */
	for (mapiterinit(&maptype_u64, h, &it); it.key; mapiternext(&it))
		;
	s = h->hash0;
	uint8_t B = h->B;
	void *b = h->buckets;
	mapclear(&maptype_u64, h);
	CHECK(h->hash0 != s);
	CHECK_EQ_U64(h->B, B);
	CHECK(h->buckets == b);
	CHECK(h->oldbuckets == NULL && h->noverflow == 0 && h->nevacuate == 0 && maplen(h) == 0);
	CHECK_EQ_U64(h->flags & 3, 3);
	for (k = 0; k < 300; k++) CHECK_EQ_U64(*(uint64_t *)mapaccess1(&maptype_u64, h, &k), 0);
	for (k = 0; k < 300; k++) put(h, k, k + 1);
	for (k = 0; k < 300; k++) CHECK_EQ_U64(*(uint64_t *)mapaccess1(&maptype_u64, h, &k), k + 1);
	mapfree(&maptype_u64, h);
	CHECK_EQ_U64(gomap_live_generations(), 0);
}

TEST(nil_and_empty_maps)
{
	uint64_t k = 7;
	bool ok = true;
	CHECK_EQ_U64(*(uint64_t *)mapaccess1(&maptype_u64, NULL, &k), 0);
	mapaccess2(&maptype_u64, NULL, &k, &ok);
	CHECK(!ok);
	mapdelete(&maptype_u64, NULL, &k);
	mapclear(&maptype_u64, NULL);
	CHECK_EQ_U64(maplen(NULL), 0);
	mapfree(&maptype_u64, NULL);
	hmap *h = makemap(&maptype_u64, 0);
	CHECK(h->buckets == NULL);
	mapdelete(&maptype_u64, h, &k);
	put(h, 7, 9);
	CHECK(h->buckets != NULL && h->B == 0);
	CHECK_EQ_U64(*(uint64_t *)mapaccess1(&maptype_u64, h, &k), 9);
	mapfree(&maptype_u64, h);
}

CHECK_MAIN()
