/* correlator.c — events in, alerts and a per-map model out (see correlator.h).
 *
 * BPF has already decided every overlap: a record whose kind is not NONE is
 * one alert occurrence, whatever order it arrives in. What is left here is
 * bookkeeping, and it must be cheap: `mapwatch analyze` replays gigabyte
 * traces through mw_corr_feed(), so a record costs O(1) amortized and no
 * allocation of its own. Two open-addressing hash tables (row key → row,
 * map address → model) index growable arrays; the arrays keep first-seen
 * order, which is the display order and never changes.
 *
 * Ordering. Records from different CPUs arrive slightly out of order. Alerts
 * do not care. The map model does: hmap fields are taken from a record only
 * when it is at least as new as the data already held, an iteration end
 * seen before its start is remembered so the late start does not open a
 * ghost iteration, and a start older than an iteration already open on the
 * same hiter and thread is known to be over already.
 *
 * Go's pending alerts. A write that meets a Go iteration whose liveness is
 * not proven yet (a `break` leaves no trace) arrives flagged PENDING with the
 * iteration's number. It is held here, not counted, until a CONFIRM record
 * or the iteration's end names that number (then every alert held for it is
 * raised, in order), or an abandoned end drops them; what is still held when
 * the run ends is reported as unconfirmed.
 *
 * Bounded maps. Go maps die in the GC with no event, so a long-running
 * service shows the correlator new maps forever. Past the cap (opts.maps_max,
 * MW_CORR_MAPS_MAX) a quarter of the models are forgotten at once, least
 * recently active first: only maps nothing still needs (no open iteration, no
 * grow in progress, no pending alert or remembered early end naming them).
 * Which ones and when follows from the records alone (their timestamps, never
 * a clock, never the live-only counter samples), so a replay forgets what the
 * live run forgot. Alerts never depend on the model; rows keep their own map
 * address and counts, so a forgotten map takes only its model with it.
 *
 * Pure C: libc only, no clock of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlator.h"
#include "layout.h"

#define PENDING_MAX	65536	/* pending (unconfirmed) alert groups kept */
#define EARLY_ENDS	64	/* iteration ends remembered until their start arrives */
#define TABLE_MIN	64	/* initial hash-table capacity (a power of two) */
/* A map whose records last showed a grow on may be forgotten once it has
 * been idle this long in record time: a grow moves on with every write, so
 * it is over (or the map is dead) and only its progress display is lost. */
#define GROW_IDLE_NS	1000000000ULL

/* A model plus what the correlator needs to keep it honest but does not show. */
struct map_ent {
	struct mw_map_model m;
	uint64_t hmap_ts;			/* ts of the data in the hmap fields */
	int      have_hmap;			/* the hmap fields were set at least once */
	int      have_sample;			/* a counter sample was taken */
	uint64_t sample_ts;			/* ts of the last counter sample */
	uint64_t pos_ts[MW_MAX_ITERS];		/* ts + 1 of each iteration's known position, 0 = none */
	/* For eviction: what the records alone say (counter samples come on
	 * the live clock and a replay has none, so they must not steer it). */
	uint64_t act_ts;			/* newest record on this map */
	uint64_t rec_hmap_ts;			/* ts of the record rec_growing comes from */
	uint8_t  in_recs;			/* a record named it (not only samples) */
	uint8_t  rec_growing;			/* a grow is on, as the records last said */
	uint8_t  mark;				/* maps_evict's scratch: MARK_* */
};

enum { MARK_NONE, MARK_PIN, MARK_DROP };

/* An ITER_END that matched no open iteration: its start may still come. */
struct early_end {
	uint64_t map, hiter, ts;
	uint64_t start;		/* the start BPF paired it with (other_ts), 0 if unknown */
	uint64_t tid;		/* the actor */
};

/* Open addressing, linear probing; a slot holds an array index + 1, 0 = empty. */
struct table {
	uint32_t *slot;
	size_t cap;	/* a power of two, or 0 before the first insert */
	size_t n;
};

/* Alerts held for one iteration; equal consecutive ones share an entry. */
struct pending {
	uint64_t seq;		/* 0 = unused */
	uint64_t n;		/* occurrences */
	struct mw_alert a;	/* the latest of them */
};

struct mw_corr {
	struct mw_corr_opts opts;
	uint8_t flag_samesize;		/* hmap.flags bit: the grow keeps B (Go's sameSizeGrow) */
	struct pending *pend;
	size_t npend, pend_cap;
	struct mw_summary sum;
	int have_ts;			/* sum.first_ts/last_ts are set */

	struct mw_alert_row *rows;
	size_t nrows, rows_cap;
	struct table row_tab;

	struct mw_alert *alerts;	/* opts.keep_alerts only */
	size_t nalerts, alerts_cap;

	struct map_ent *maps;
	size_t nmaps, maps_cap;
	struct table map_tab;
	size_t last_map;		/* index + 1 of the last map looked up: records come in runs */
	size_t maps_max;		/* the cap on models named by records */
	size_t nrec;			/* models named by records (the others only by samples) */
	size_t evict_at;		/* nrec at which eviction is tried again after it fell short */
	uint64_t maps_seen;		/* the summary's maps */
	uint64_t maps_evicted, maps_over_cap;

	struct early_end early[EARLY_ENDS];
	size_t n_early, early_next;
};

/* ---- small helpers -------------------------------------------------------- */

/* A 64-bit finalizer (murmur3 fmix64): good enough spreading for addresses. */
static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static inline uint64_t row_hash(unsigned kind, uint64_t map, uint64_t w, uint64_t i)
{
	return mix64(map ^ mix64(mix64(w) ^ (i * 0x9e3779b97f4a7c15ULL) ^ kind));
}

/* The actor of a record (the goroutine for Go, else the thread) and of its other side. */
static inline uint64_t rec_actor(const struct mw_record *r) { return r->gid ? r->gid : r->tid; }
static inline uint64_t rec_other(const struct mw_record *r)
{
	return r->other_gid ? r->other_gid : r->other_tid;
}

static inline uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* Grow an array to hold at least `need` elements; doubling keeps it amortized O(1). */
static int grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Rebuild a table at twice its size; hash(i) gives the hash of array element i. */
/* Puts v (an index + 1) in the first free slot from hash h on (linear probing). */
static void slot_put(uint32_t *slot, size_t cap, uint64_t h, uint32_t v)
{
	size_t j = h & (cap - 1);

	while (slot[j])
		j = (j + 1) & (cap - 1);
	slot[j] = v;
}

static int table_grow(struct table *t, uint64_t (*hash)(const struct mw_corr *, size_t),
		      const struct mw_corr *c)
{
	size_t ncap = t->cap ? t->cap * 2 : TABLE_MIN;
	uint32_t *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i])
			slot_put(ns, ncap, hash(c, t->slot[i] - 1), t->slot[i]);
	free(t->slot);
	t->slot = ns;
	t->cap = ncap;
	return 0;
}

/* ---- rows ---------------------------------------------------------------- */

static uint64_t row_hash_at(const struct mw_corr *c, size_t i)
{
	const struct mw_alert_row *r = &c->rows[i];
	return row_hash(r->kind, r->map, r->writer_gid ? r->writer_gid : r->writer_tid,
			r->iter_gid ? r->iter_gid : r->iter_tid);
}

/* The row for this occurrence's key, created (zeroed, id set) if new; NULL on OOM. */
static struct mw_alert_row *row_get(struct mw_corr *c, const struct mw_alert *a)
{
	struct table *t = &c->row_tab;
	uint64_t h = row_hash(a->kind, a->map, mw_alert_writer(a), mw_alert_iter(a));
	struct mw_alert_row *row;

	if (t->cap) {
		for (size_t j = h & (t->cap - 1); t->slot[j]; j = (j + 1) & (t->cap - 1)) {
			row = &c->rows[t->slot[j] - 1];
			if (row->kind == a->kind && row->map == a->map &&
			    row->writer_tid == a->writer_tid && row->iter_tid == a->iter_tid &&
			    row->writer_gid == a->writer_gid && row->iter_gid == a->iter_gid)
				return row;
		}
	}
	/* New row. Keep the load factor at or under 1/2. */
	if ((t->n + 1) * 2 > t->cap && table_grow(t, row_hash_at, c))
		return NULL;
	if (c->nrows >= UINT32_MAX - 1 ||
	    grow_array((void **)&c->rows, &c->rows_cap, c->nrows + 1, sizeof(*c->rows)))
		return NULL;
	row = &c->rows[c->nrows];
	memset(row, 0, sizeof(*row));
	row->id = c->nrows + 1;
	row->kind = a->kind;
	row->map = a->map;
	row->writer_tid = a->writer_tid;
	row->iter_tid = a->iter_tid;
	row->writer_gid = a->writer_gid;
	row->iter_gid = a->iter_gid;
	row->first_ts = a->ts;
	row->last_ts = a->ts;
	row->last = *a;
	c->nrows++;
	slot_put(t->slot, t->cap, h, (uint32_t)c->nrows);
	t->n++;
	return row;
}

/* ---- maps ---------------------------------------------------------------- */

static uint64_t map_hash_at(const struct mw_corr *c, size_t i)
{
	return mix64(c->maps[i].m.map);
}

static struct map_ent *map_find(const struct mw_corr *c, uint64_t map)
{
	const struct table *t = &c->map_tab;

	if (!t->cap)
		return NULL;
	for (size_t j = mix64(map) & (t->cap - 1); t->slot[j]; j = (j + 1) & (t->cap - 1)) {
		struct map_ent *e = &c->maps[t->slot[j] - 1];
		if (e->m.map == map)
			return e;
	}
	return NULL;
}

static void table_rebuild(struct table *t, uint64_t (*hash)(const struct mw_corr *, size_t),
			  const struct mw_corr *c, size_t n)
{
	memset(t->slot, 0, t->cap * sizeof(*t->slot));
	for (size_t i = 0; i < n; i++)
		slot_put(t->slot, t->cap, hash(c, i), (uint32_t)(i + 1));
	t->n = n;
}

struct evict_cand {
	uint64_t ts, map;
	size_t i;
};

static int evict_cmp(const void *x, const void *y)
{
	const struct evict_cand *a = x, *b = y;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->map < b->map ? -1 : a->map > b->map;
}

static void map_pin(struct mw_corr *c, uint64_t map)
{
	struct map_ent *e = map ? map_find(c, map) : NULL;

	if (e)
		e->mark = MARK_PIN;
}

/* May this record-named model be forgotten now? */
static int map_idle(const struct mw_corr *c, const struct map_ent *e)
{
	return e->mark == MARK_NONE && e->m.n_iters == 0 &&
	       (!e->rec_growing || c->sum.last_ts - e->act_ts >= GROW_IDLE_NS);
}

/* Forget models, keeping `keep` (the map being looked up). Those named by
 * samples only always go (they count for nothing); with `recs`, enough of
 * the record-named ones to get a quarter under the cap, least recently
 * active first (ties by address), among those nothing needs. Then compact
 * the array (first-seen order kept) and rebuild its index. */
static void maps_evict(struct mw_corr *c, uint64_t keep, int recs)
{
	size_t quarter = c->maps_max / 4 ? c->maps_max / 4 : 1;
	size_t want = recs && c->nrec + quarter > c->maps_max ? c->nrec + quarter - c->maps_max : 0;
	struct evict_cand *cd = want ? malloc(c->nrec * sizeof(*cd)) : NULL;
	size_t ncd = 0, j = 0;

	if (cd) {
		/* Everything that still names a map by its address keeps it. */
		for (size_t i = 0; i < c->npend; i++)
			map_pin(c, c->pend[i].a.map);
		for (size_t i = 0; i < c->n_early; i++)
			map_pin(c, c->early[i].map);
		map_pin(c, keep);
		for (size_t i = 0; i < c->nmaps; i++) {
			struct map_ent *e = &c->maps[i];

			if (e->in_recs && map_idle(c, e))
				cd[ncd++] = (struct evict_cand){ .ts = e->act_ts, .map = e->m.map, .i = i };
		}
		if (ncd > want) {
			qsort(cd, ncd, sizeof(*cd), evict_cmp);
			ncd = want;
		}
		for (size_t k = 0; k < ncd; k++)
			c->maps[cd[k].i].mark = MARK_DROP;
		free(cd);
	}
	for (size_t i = 0; i < c->nmaps; i++) {
		struct map_ent *e = &c->maps[i];

		if (e->mark == MARK_DROP || (!e->in_recs && e->m.map != keep)) {
			if (e->in_recs) {
				c->nrec--;
				c->maps_evicted++;
			}
			continue;
		}
		e->mark = MARK_NONE;
		if (j != i)
			c->maps[j] = *e;
		j++;
	}
	if (j == c->nmaps)
		return;
	c->nmaps = j;
	table_rebuild(&c->map_tab, map_hash_at, c, c->nmaps);
	c->last_map = 0;
}

/* The model of `map`, created if absent (first_ts = last_ts = ts); NULL on
 * OOM, or for a sample (rec = 0) when the cap is reached. */
static struct map_ent *map_get(struct mw_corr *c, uint64_t map, uint64_t ts, int rec)
{
	struct table *t = &c->map_tab;
	struct map_ent *e;

	if (c->last_map && c->maps[c->last_map - 1].m.map == map)
		e = &c->maps[c->last_map - 1];
	else
		e = map_find(c, map);
	if (e && (e->in_recs || !rec))
		goto found;
	if (rec && c->nrec >= c->maps_max) {
		if (c->nrec >= c->evict_at) {
			maps_evict(c, map, 1);
			/* Fell short (everything is in use): try again a quarter on. */
			c->evict_at = c->nrec >= c->maps_max ? c->nrec + c->maps_max / 4 : 0;
			e = map_find(c, map);
		}
		if (c->nrec >= c->maps_max)
			c->maps_over_cap++;
	}
	/* Full: a sample waits until there is room (forgetting for it, once per
	 * sample, would cost a pass over every model each); a record makes room
	 * by dropping the models only samples made. */
	if (!e && c->nmaps >= c->maps_max) {
		if (!rec)
			return NULL;
		maps_evict(c, map, 0);
	}
	if (!e) {
		if ((t->n + 1) * 2 > t->cap && table_grow(t, map_hash_at, c))
			return NULL;
		if (c->nmaps >= UINT32_MAX - 1 ||
		    grow_array((void **)&c->maps, &c->maps_cap, c->nmaps + 1, sizeof(*c->maps)))
			return NULL;
		e = &c->maps[c->nmaps];
		memset(e, 0, sizeof(*e));
		e->m.map = map;
		e->m.first_ts = ts;
		e->m.last_ts = ts;
		c->nmaps++;
		slot_put(t->slot, t->cap, mix64(map), (uint32_t)c->nmaps);
		t->n++;
	}
	if (rec) {
		/* A map forgotten and seen again counts again: telling it from a
		 * new map at a reused address would take memory per map. */
		e->in_recs = 1;
		c->nrec++;
		c->maps_seen++;
	}
found:
	c->last_map = (size_t)(e - c->maps) + 1;
	return e;
}

/* Take the hmap header into the model unless the model already holds newer data. */
static void map_set_hmap(const struct mw_corr *c, struct map_ent *e, uint64_t ts,
			 uint64_t count, uint8_t B, uint8_t flags,
			 uint64_t buckets, uint64_t oldbuckets, uint64_t nevacuate)
{
	struct mw_map_model *m = &e->m;

	if (e->have_hmap && ts < e->hmap_ts)
		return;
	e->have_hmap = 1;
	e->hmap_ts = ts;
	m->count = count;
	m->B = B;
	m->flags = flags;
	m->buckets = buckets;
	m->oldbuckets = oldbuckets;
	m->nevacuate = nevacuate;
	m->growing = oldbuckets != 0;
	m->samesize = (flags & c->flag_samesize) != 0;
}

static void recent_push(struct mw_map_model *m, uint64_t addr, uint8_t kind, int repeat)
{
	uint32_t newest = (m->recent_head + MW_RECENT_WRITES - 1) % MW_RECENT_WRITES;

	/* A repeat is the same event again: keep it only if it names another bucket. */
	if (repeat && m->n_recent && m->recent[newest] == addr)
		return;
	m->recent[m->recent_head] = addr;
	m->recent_kind[m->recent_head] = kind;
	m->recent_head = (m->recent_head + 1) % MW_RECENT_WRITES;
	if (m->n_recent < MW_RECENT_WRITES)
		m->n_recent++;
}

/* ---- iterations ------------------------------------------------------------ */

static void early_remember(struct mw_corr *c, uint64_t map, uint64_t hiter, uint64_t tid,
			   uint64_t ts, uint64_t start)
{
	c->early[c->early_next] = (struct early_end){ .map = map, .hiter = hiter, .ts = ts,
						      .start = start, .tid = tid };
	c->early_next = (c->early_next + 1) % EARLY_ENDS;
	if (c->n_early < EARLY_ENDS)
		c->n_early++;
}

/* Was an end for this start already seen? If so, forget it (it is used up). */
static int early_take(struct mw_corr *c, uint64_t map, uint64_t hiter, uint64_t tid, uint64_t start)
{
	for (size_t i = 0; i < c->n_early; i++) {
		struct early_end *x = &c->early[i];
		if (x->map == map && x->hiter == hiter && x->tid == tid && x->ts >= start &&
		    (!x->start || x->start == start)) {
			x->map = 0;	/* maps are never 0 here: the slot cannot match again */
			return 1;
		}
	}
	return 0;
}

static void iter_count(struct mw_map_model *m)
{
	uint32_t n = 0;

	for (int i = 0; i < MW_MAX_ITERS; i++)
		n += m->iters[i].hiter != 0;
	m->n_iters = n;
}

static void iter_clear(struct map_ent *e, int slot)
{
	memset(&e->m.iters[slot], 0, sizeof(e->m.iters[slot]));
	e->pos_ts[slot] = 0;
	iter_count(&e->m);
}

/* The slot of the iteration open through (hiter, tid), or -1. One thread
 * cannot walk two iterations through one hiter at once, so there is at most one. */
static inline uint64_t iter_actor(const struct mw_iter_model *it)
{
	return it->gid ? it->gid : it->tid;
}

static int iter_find(const struct mw_map_model *m, uint64_t hiter, uint64_t actor)
{
	for (int i = 0; i < MW_MAX_ITERS; i++)
		if (m->iters[i].hiter == hiter && iter_actor(&m->iters[i]) == actor)
			return i;
	return -1;
}

static void iter_open(struct mw_corr *c, struct map_ent *e, uint64_t hiter, const struct mw_record *r)
{
	uint64_t tid = rec_actor(r), ts = r->ts;
	struct mw_map_model *m = &e->m;
	int slot;

	if (!hiter)
		return;
	slot = iter_find(m, hiter, tid);
	/* A newer iteration open on this hiter: this start is late, its iteration over. */
	if (slot >= 0 && m->iters[slot].start_ts > ts)
		return;
	/* An older one open here lost its end (dropped): this start replaces it. */
	if (early_take(c, m->map, hiter, tid, ts)) {
		if (slot >= 0)
			iter_clear(e, slot);
		return;
	}
	if (slot < 0) {
		for (int i = 0; i < MW_MAX_ITERS; i++) {
			if (!m->iters[i].hiter) {
				slot = i;
				break;
			}
		}
	}
	if (slot < 0) {
		/* All slots in use: evict the oldest, most likely to have lost its end. */
		slot = 0;
		for (int i = 1; i < MW_MAX_ITERS; i++)
			if (m->iters[i].start_ts < m->iters[slot].start_ts)
				slot = i;
	}
	m->iters[slot] = (struct mw_iter_model){ .hiter = hiter, .start_ts = ts, .tid = r->tid,
						 .gid = r->gid };
	e->pos_ts[slot] = 0;
	iter_count(m);
}

/* `start` is the start BPF paired this end with (the record's other_ts), or 0. */
static void iter_close(struct mw_corr *c, struct map_ent *e, uint64_t hiter, uint64_t tid,
		       uint64_t ts, uint64_t start)
{
	struct mw_map_model *m = &e->m;
	int slot;

	if (!hiter)
		return;
	slot = iter_find(m, hiter, tid);
	if (slot >= 0) {
		uint64_t st = m->iters[slot].start_ts;
		/* Ours when BPF names its start, or (unnamed) it started before the end. */
		if (start ? st == start : st <= ts) {
			iter_clear(e, slot);
			return;
		}
		/* An older iteration than the one ending is over too (its end was lost). */
		if (start && st < start)
			iter_clear(e, slot);
	}
	/* Its start has not been seen (yet): remember the end for when it comes. */
	early_remember(c, m->map, hiter, tid, ts, start);
}

/* An iter-* alert read the iterator's position: note it on the open iteration. */
static void iter_position(struct map_ent *e, const struct mw_record *r)
{
	struct mw_map_model *m = &e->m;

	for (int i = 0; i < MW_MAX_ITERS; i++) {
		struct mw_iter_model *it = &m->iters[i];
		if (it->hiter != r->hiter || iter_actor(it) != rec_other(r) || !it->hiter)
			continue;
		if (r->ts + 1 < e->pos_ts[i])
			return;		/* older than what we know: no rollback */
		e->pos_ts[i] = r->ts + 1;
		it->bptr = r->iter_bptr;
		it->buckets = r->iter_buckets;
		it->next_bucket = r->iter_bucket;
		return;
	}
}

/* ---- feeding ------------------------------------------------------------- */

static void model_update(struct mw_corr *c, struct map_ent *e, const struct mw_record *r)
{
	struct mw_map_model *m = &e->m;
	int fresh = r->repeat == 0;

	if (r->ts < m->first_ts)
		m->first_ts = r->ts;
	if (r->ts > m->last_ts)
		m->last_ts = r->ts;
	if (r->ts > e->act_ts)
		e->act_ts = r->ts;
	if (r->ts >= e->rec_hmap_ts) {
		e->rec_hmap_ts = r->ts;
		e->rec_growing = r->oldbuckets != 0 || r->type == MW_REC_GROW;
	}
	map_set_hmap(c, e, r->ts, r->count, r->B, r->hflags, r->buckets, r->oldbuckets, r->nevacuate);

	switch (r->type) {
	case MW_REC_ITER_START:
		if (fresh) {
			m->iter_starts++;
			iter_open(c, e, r->hiter, r);
		}
		break;
	case MW_REC_ITER_END:
		if (fresh) {
			m->iter_ends++;
			iter_close(c, e, r->hiter, rec_actor(r), r->ts, r->other_ts);
		}
		break;
	case MW_REC_WRITE:
		if (fresh)
			m->writes++;
		if (r->iter_bptr)
			recent_push(m, r->iter_bptr, r->kind, r->repeat);
		break;
	case MW_REC_GROW:
		if (!fresh)
			break;
		m->grows++;
		if (r->ts >= m->grow_start_ts) {
			m->grow_start_ts = r->ts;
			/* B is read at hashGrow's entry, before the grow: 2^B old
			 * buckets to evacuate, for a doubling and a same-size grow. */
			m->grow_old_nbuckets = r->B < 64 ? 1ULL << r->B : 0;
		}
		/* At hashGrow's entry oldbuckets is still nil, but the grow is on. */
		if (r->ts >= e->hmap_ts)
			m->growing = 1;
		break;
	case MW_REC_EVACUATE:
		if (fresh)
			m->evacuations++;
		if (r->bucket_addr || r->iter_bptr)
			recent_push(m, r->bucket_addr ? r->bucket_addr : r->iter_bptr, r->kind, r->repeat);
		break;
	}
	if ((r->kind == MW_KIND_ITER_WRITE || r->kind == MW_KIND_ITER_GROW) && r->hiter &&
	    r->type != MW_REC_ITER_START)
		iter_position(e, r);
}

/* The alert a record describes. */
static void alert_of(const struct mw_corr *c, const struct mw_record *r, struct mw_alert *out)
{
	struct mw_alert a;

	memset(&a, 0, sizeof(a));
	a.seq = c->sum.alerts + 1;
	a.n = r->n ? r->n : 1;
	a.ts = r->ts;
	a.map = r->map;
	a.kind = r->kind;
	a.op = r->op;
	a.rec_type = (uint8_t)r->type;
	if (r->type == MW_REC_ITER_START) {
		/* An iteration that started inside another thread's write in
		 * flight: the record's own thread is the iterating one. */
		a.writer_tid = r->other_tid;
		a.iter_tid = r->tid;
		a.writer_gid = r->other_gid;
		a.iter_gid = r->gid;
		a.writer_stack = r->other_stack_id;
		a.iter_stack = r->stack_id;
		a.writer_caller = r->other_caller;
		a.iter_caller = r->caller;
	} else {
		a.writer_tid = r->tid;
		a.iter_tid = r->other_tid;
		a.writer_gid = r->gid;
		a.iter_gid = r->other_gid;
		a.writer_stack = r->stack_id;
		a.iter_stack = r->other_stack_id;
		a.writer_caller = r->caller;
		a.iter_caller = r->other_caller;
	}
	a.overlap_ns = r->other_ts > r->ts ? 0 : r->ts - r->other_ts;
	a.confidence = r->bucket_hit ? MW_CONF_BUCKET : MW_CONF_WINDOW;
	if (r->kind != MW_KIND_WRITE_WRITE) {
		a.hiter = r->hiter;
		a.bucket = r->iter_bptr;
		a.bucket2 = r->type == MW_REC_EVACUATE ? r->bucket_addr : 0;
		a.iter_seq = r->iter_seq;
	}
	*out = a;
}

/* Count one occurrence: summary, row, kept list, callback. */
static uint64_t count_alert(struct mw_corr *c, struct map_ent *e, struct mw_alert *ap)
{
	struct mw_alert a = *ap;
	struct mw_alert_row *row;

	if (!a.n)
		a.n = 1;
	a.seq = c->sum.alerts + 1;
	c->sum.alerts += a.n;
	c->sum.alerts_by_kind[a.kind] += a.n;
	if (e)
		e->m.alerts += a.n;

	row = row_get(c, &a);
	if (row) {
		row->count += a.n;
		if (a.ts < row->first_ts)
			row->first_ts = a.ts;
		/* "last" is the newest by time, so it agrees with last_ts. */
		if (a.ts >= row->last_ts) {
			row->last_ts = a.ts;
			row->last = a;
		}
		row->max_overlap_ns = max_u64(row->max_overlap_ns, a.overlap_ns);
		if (a.confidence > row->confidence)
			row->confidence = a.confidence;
	}
	if (c->opts.keep_alerts &&
	    !grow_array((void **)&c->alerts, &c->alerts_cap, c->nalerts + 1, sizeof(*c->alerts)))
		c->alerts[c->nalerts++] = a;
	if (c->opts.on_alert)
		c->opts.on_alert(c->opts.ctx, &a, row);
	return a.n;
}

static int raise_alert(struct mw_corr *c, struct map_ent *e, const struct mw_record *r)
{
	struct mw_alert a;

	alert_of(c, r, &a);
	return (int)count_alert(c, e, &a);
}

/* ---- pending (Go) ------------------------------------------------------------ */

static int same_side(const struct mw_alert *x, const struct mw_alert *y)
{
	return x->kind == y->kind && x->map == y->map && x->writer_tid == y->writer_tid &&
	       x->writer_gid == y->writer_gid && x->writer_stack == y->writer_stack &&
	       x->writer_caller == y->writer_caller && x->op == y->op;
}

static void pend_add(struct mw_corr *c, const struct mw_record *r)
{
	struct mw_alert a;

	alert_of(c, r, &a);
	/* The same write seen again for this iteration adds nothing. */
	for (size_t i = c->npend; i-- > 0;) {
		struct pending *p = &c->pend[i];
		if (p->seq != r->iter_seq)
			continue;
		if (same_side(&p->a, &a)) {
			p->n += r->repeat ? 0 : a.n;
			p->a = a;
			return;
		}
		break;
	}
	if (r->repeat)
		return;
	if (c->npend >= PENDING_MAX ||
	    grow_array((void **)&c->pend, &c->pend_cap, c->npend + 1, sizeof(*c->pend))) {
		c->sum.unconfirmed++;
		return;
	}
	c->pend[c->npend++] = (struct pending){ .seq = r->iter_seq, .n = a.n, .a = a };
}

/* Raise (confirm) or drop every alert held for iteration seq. */
static int pend_settle(struct mw_corr *c, uint64_t seq, int confirm)
{
	size_t j = 0;
	int raised = 0;

	for (size_t i = 0; i < c->npend; i++) {
		struct pending *p = &c->pend[i];
		if (p->seq != seq) {
			c->pend[j++] = *p;
			continue;
		}
		if (!confirm) {
			c->sum.unconfirmed += p->n;
			continue;
		}
		struct map_ent *e = map_find(c, p->a.map);
		/* Each occurrence held is one alert, as if raised one by one. */
		struct mw_alert one = p->a;
		one.n = 1;
		for (uint64_t k = 0; k < p->n; k++)
			raised += (int)count_alert(c, e, &one);
	}
	c->npend = j;
	return raised;
}

/* Pending alerts still unconfirmed now (the summary counts them as
 * unconfirmed: the run ends without their confirmation). */
static size_t npending(const struct mw_corr *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->npend; i++)
		n += c->pend[i].n;
	return n;
}

int mw_corr_feed(struct mw_corr *c, const struct mw_record *r)
{
	struct map_ent *e = NULL;

	c->sum.events++;
	/* The trace reader validates; stay defensive against anything else. */
	if (r->type < MW_REC_ITER_START || r->type >= MW_REC_TYPE_MAX ||
	    r->kind >= MW_KIND_MAX || r->repeat > 1)
		return 0;

	if (!c->have_ts || r->ts < c->sum.first_ts)
		c->sum.first_ts = r->ts;
	if (!c->have_ts || r->ts > c->sum.last_ts)
		c->sum.last_ts = r->ts;
	c->have_ts = 1;

	if (r->type == MW_REC_STATS) {
		/* Cumulative counters: the largest seen is the latest, whatever the order. */
		c->sum.rb_drops = max_u64(c->sum.rb_drops, r->aux);
		c->sum.map_drops = max_u64(c->sum.map_drops, r->aux2);
		c->sum.bpf_hits = max_u64(c->sum.bpf_hits, r->count);
		c->sum.drops = c->sum.rb_drops + c->sum.map_drops;
		return 0;
	}

	if (r->type == MW_REC_FATAL) {
		c->sum.runtime_caught[r->kind]++;
		return 0;
	}
	if (r->type == MW_REC_CONFIRM)
		return pend_settle(c, r->iter_seq, 1);
	if (r->type == MW_REC_EXEC) {
		/* A new image: no iteration of the old one is open any more, and
		 * what was held for them will never be confirmed. */
		for (size_t i = 0; i < c->nmaps; i++)
			for (int k = 0; k < MW_MAX_ITERS; k++)
				if (c->maps[i].m.iters[k].hiter)
					iter_clear(&c->maps[i], k);
		for (size_t i = 0; i < c->npend; i++)
			c->sum.unconfirmed += c->pend[i].n;
		c->npend = 0;
		c->n_early = 0;
		return 0;
	}
	if (r->type == MW_REC_FREE) {
		/* The map is gone: its iterations with it. */
		e = map_find(c, r->map);
		for (int k = 0; e && k < MW_MAX_ITERS; k++)
			if (e->m.iters[k].hiter)
				iter_clear(e, k);
		if (e)
			e->rec_growing = 0;
		return 0;
	}

	if (r->map) {
		e = map_get(c, r->map, r->ts, 1);
		if (e)
			model_update(c, e, r);
	}
	/* An iteration's end settles what was held for it: confirmed when it
	 * ran to its end, dropped when it was found abandoned. */
	if (r->type == MW_REC_ITER_END && r->iter_seq && c->npend)
		return pend_settle(c, r->iter_seq, !(r->flags & MW_RF_ABANDONED));
	if (r->kind == MW_KIND_NONE)
		return 0;
	if (r->flags & MW_RF_PENDING) {
		pend_add(c, r);
		return 0;
	}
	return raise_alert(c, e, r);
}

void mw_corr_map_sample(struct mw_corr *c, const struct mw_map_sample *s)
{
	struct map_ent *e;
	struct mw_map_model *m;

	if (!s->map)
		return;
	e = map_get(c, s->map, s->ts, 0);
	if (!e)
		return;
	m = &e->m;
	if (s->ts < m->first_ts)
		m->first_ts = s->ts;
	if (s->ts > m->last_ts)
		m->last_ts = s->ts;

	if (!e->have_sample || s->ts > e->sample_ts) {
		if (e->have_sample) {
			double dt = (double)(s->ts - e->sample_ts) / 1e9;
			/* A counter that went down was reset (map freed, address reused). */
			uint64_t dw = s->writes >= m->bpf_writes ? s->writes - m->bpf_writes : 0;
			uint64_t di = s->iterations >= m->bpf_iterations ? s->iterations - m->bpf_iterations : 0;

			m->write_rate = (double)dw / dt;
			m->iter_rate = (double)di / dt;
		}
		e->have_sample = 1;
		e->sample_ts = s->ts;
	} else if (s->ts < e->sample_ts) {
		return;		/* older than the last sample: nothing to learn */
	}
	/* Same instant as the last sample: take the counters, keep the rates. */
	m->bpf_writes = s->writes;
	m->bpf_iterations = s->iterations;
	m->bpf_grows = s->grows;
	m->bpf_evacuations = s->evacuations;
	if (s->have_hmap)
		map_set_hmap(c, e, s->ts, s->count, s->B, s->flags, s->buckets, s->oldbuckets, s->nevacuate);
}

/* ---- lifetime and accessors ------------------------------------------------ */

struct mw_corr *mw_corr_new(const struct mw_corr_opts *opts)
{
	struct mw_corr *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (opts)
		c->opts = *opts;
	c->maps_max = c->opts.maps_max ? c->opts.maps_max : MW_CORR_MAPS_MAX;
	c->flag_samesize = (c->opts.layout ? c->opts.layout : &mw_runtime_c()->layout)->flag_samesize;
	return c;
}

void mw_corr_free(struct mw_corr *c)
{
	if (!c)
		return;
	free(c->pend);
	free(c->rows);
	free(c->row_tab.slot);
	free(c->alerts);
	free(c->maps);
	free(c->map_tab.slot);
	free(c);
}

void mw_corr_summary(const struct mw_corr *c, struct mw_summary *s)
{
	*s = c->sum;
	s->unconfirmed += npending(c);
	s->rows = c->nrows;
	s->maps = c->maps_seen;
	s->maps_forgotten = c->maps_evicted;
}

void mw_corr_set_mode(struct mw_corr *c, const struct mw_run_mode *m)
{
	c->sum.mode = *m;
	c->sum.mode.set = 1;
}

size_t mw_corr_nalerts(const struct mw_corr *c) { return c->nalerts; }

const struct mw_alert *mw_corr_alert(const struct mw_corr *c, size_t i)
{
	return i < c->nalerts ? &c->alerts[i] : NULL;
}

size_t mw_corr_nrows(const struct mw_corr *c) { return c->nrows; }

const struct mw_alert_row *mw_corr_row(const struct mw_corr *c, size_t i)
{
	return i < c->nrows ? &c->rows[i] : NULL;
}

size_t mw_corr_nmaps(const struct mw_corr *c) { return c->nmaps; }

const struct mw_map_model *mw_corr_map(const struct mw_corr *c, size_t i)
{
	return i < c->nmaps ? &c->maps[i].m : NULL;
}

const struct mw_map_model *mw_corr_find_map(const struct mw_corr *c, uint64_t map)
{
	const struct map_ent *e = map_find(c, map);
	return e ? &e->m : NULL;
}

uint64_t mw_corr_maps_evicted(const struct mw_corr *c) { return c->maps_evicted; }
uint64_t mw_corr_maps_over_cap(const struct mw_corr *c) { return c->maps_over_cap; }

/* ---- names and JSON -------------------------------------------------------- */

const char *const mw_kind_names[MW_KIND_MAX] = {
	[MW_KIND_NONE] = "none", [MW_KIND_ITER_WRITE] = "iter-write", [MW_KIND_ITER_GROW] = "iter-grow",
	[MW_KIND_WRITE_WRITE] = "write-write", [MW_KIND_READ_WRITE] = "read-write",
	[MW_KIND_CLONE_WRITE] = "clone-write",
};
const char *const mw_op_names[MW_OP_MAX] = {
	[MW_OP_NONE] = "none", [MW_OP_ASSIGN] = "assign", [MW_OP_DELETE] = "delete", [MW_OP_CLEAR] = "clear",
};

const char *mw_kind_name(unsigned kind)
{
	return kind < MW_KIND_MAX ? mw_kind_names[kind] : "?";
}

const char *const mw_rec_type_names[MW_REC_TYPE_MAX] = {
	[MW_REC_ITER_START] = "iter-start",
	[MW_REC_ITER_END]   = "iter-end",
	[MW_REC_WRITE]      = "write",
	[MW_REC_GROW]       = "grow",
	[MW_REC_EVACUATE]   = "evacuate",
	[MW_REC_STATS]      = "stats",
	[MW_REC_CONFIRM]    = "confirm",
	[MW_REC_FATAL]      = "fatal",
	[MW_REC_READ]       = "read",
	[MW_REC_FREE]       = "free",
	[MW_REC_EXEC]       = "exec",
};

const char *mw_rec_type_name(unsigned type)
{
	return type < MW_REC_TYPE_MAX ? mw_rec_type_names[type] : NULL;
}

const char *mw_op_name(unsigned op)
{
	return op < MW_OP_MAX ? mw_op_names[op] : "?";
}

const char *mw_conf_name(unsigned conf)
{
	static const char *const names[] = { "window", "bucket" };
	return conf < sizeof(names) / sizeof(names[0]) ? names[conf] : "?";
}

int mw_run_mode_json(const struct mw_run_mode *m, char *buf, size_t len)
{
	if (m->set && m->sampled)
		return snprintf(buf, len, ",\"mode\":\"sampled\",\"budget\":%.4g,\"armed_fraction\":%.4f,"
				"\"windows\":%llu,\"iterations_windowed\":%s,\"target_cpu_ns\":%llu,"
				"\"probe_cost_ns\":%llu,\"hit_ns\":%.0f", m->budget, m->armed_fraction,
				(unsigned long long)m->windows, m->iters_windowed ? "true" : "false",
				(unsigned long long)m->target_cpu_ns, (unsigned long long)m->probe_cost_ns,
				m->hit_ns);
	if (m->set)
		return snprintf(buf, len, ",\"mode\":\"exact\"");
	if (len)
		buf[0] = 0;
	return 0;
}
