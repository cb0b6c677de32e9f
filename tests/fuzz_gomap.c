/* fuzz_gomap.c — libFuzzer harness: the input is an operation sequence run on
 * a libgomap map and a reference array, including iterate-and-modify.
 *
 * byte 0: key family (u64, string, 4-byte, indirect 200/300-byte).
 * then ops: [op][id]: 0-3 insert/update, 4-5 delete, 6 lookup, 7 clear,
 * 8 iterate (following bytes: per produced key, an action byte: insert,
 * delete an unseen key, stop early, or nothing), 9 full check.
 */
#include "gomap_testutil.h"

#define FIDS 256
static uint8_t fz_has[FIDS];
static uint64_t fz_val[FIDS];

static void fz_fail(const char *what) { fprintf(stderr, "fuzz_gomap: %s\n", what); abort(); }

static void fz_check(const struct fam *f, hmap *h, long n)
{
	char key[BIGKEY];
	if (maplen(h) != n) fz_fail("maplen");
	for (uint64_t id = 0; id < FIDS; id++) {
		f->mk(id, key);
		bool ok; uint64_t v;
		void *e = mapaccess2(f->t, h, key, &ok);
		if (ok != fz_has[id] || !get_val(f, e, &v) || v != (ok ? fz_val[id] : 0)) fz_fail("lookup");
	}
	uint8_t seen[FIDS] = {0};
	long cnt = 0;
	hiter it;
	for (mapiterinit(f->t, h, &it); it.key; mapiternext(&it)) {
		uint64_t id = f->id(it.key);
		if (id >= FIDS || !fz_has[id] || seen[id]++) fz_fail("iterate");
		cnt++;
	}
	if (cnt != n) fz_fail("iterate count");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) { fams_init(); inited = 1; }
	if (size < 1) return 0;
	const struct fam *f = &fams[data[0] & 3];
	/* String backing bytes are indexed by id; make sure they exist for all ids. */
	char key[BIGKEY];
	memset(fz_has, 0, sizeof fz_has);
	hmap *h = makemap(f->t, data[0] >> 2);
	long n = 0;
	size_t p = 1;
	while (p + 1 < size) {
		uint8_t op = data[p] % 10, id = data[p + 1];
		p += 2;
		f->mk(id, key);
		if (op <= 3) {
			uint64_t v = ((uint64_t)op << 32) | p;
			put_val(f, mapassign(f->t, h, key), v);
			if (!fz_has[id]) { fz_has[id] = 1; n++; }
			fz_val[id] = v;
		} else if (op <= 5) {
			mapdelete(f->t, h, key);
			if (fz_has[id]) { fz_has[id] = 0; n--; }
		} else if (op == 6) {
			bool ok; uint64_t v;
			void *e = mapaccess2(f->t, h, key, &ok);
			if (ok != fz_has[id] || !get_val(f, e, &v) || v != (ok ? fz_val[id] : 0)) fz_fail("lookup");
		} else if (op == 7) {
			if (id < 16) { mapclear(f->t, h); memset(fz_has, 0, sizeof fz_has); n = 0; }
		} else if (op == 8) {
			/* Iterate and modify: start-set keys never deleted must appear
			 * exactly once (only without pointers in buckets: hazard H2),
			 * deleted-before-seen never, nothing twice. */
			uint8_t start[FIDS], deleted[FIDS] = {0}, everdel[FIDS] = {0}, seen[FIDS] = {0};
			memcpy(start, fz_has, sizeof start);
			int strict = !(f->t->flags & GOMAP_T_HASPTR), stopped = 0;
			hiter it;
			for (mapiterinit(f->t, h, &it); it.key; mapiternext(&it)) {
				uint64_t sid = f->id(it.key);
				if (sid >= FIDS || seen[sid]++ || deleted[sid] || !fz_has[sid]) fz_fail("iter-modify");
				if (p + 1 >= size) continue;
				uint8_t act = data[p] % 4, aid = data[p + 1];
				p += 2;
				f->mk(aid, key);
				if (act == 0) {
					uint64_t v = 7000 + p;
					put_val(f, mapassign(f->t, h, key), v);
					if (!fz_has[aid]) { fz_has[aid] = 1; n++; }
					fz_val[aid] = v;
					deleted[aid] = 0;	/* re-inserted: may or may not appear */
				} else if (act == 1 && !seen[aid]) {
					mapdelete(f->t, h, key);
					if (fz_has[aid]) { fz_has[aid] = 0; n--; }
					deleted[aid] = everdel[aid] = 1;
				} else if (act == 2 && data[p - 1] < 8) {
					mapiterdone(&it);
					stopped = 1;
					break;
				}
			}
			if (!stopped && strict)
				for (int i = 0; i < FIDS; i++)
					if (start[i] && !everdel[i] && seen[i] != 1) fz_fail("iter-modify missed");
		} else {
			fz_check(f, h, n);
		}
	}
	fz_check(f, h, n);
	mapfree(f->t, h);
	if (gomap_live_generations() != 0) fz_fail("generation leak");
	return 0;
}
