/* htab.h — a small open-addressing hash table keyed by two u64 words.
 *
 * Entries are ESZ bytes each, stored in the table and beginning with a
 * struct mw_hent; the rest is the caller's. Linear probing at a load of at
 * most 1/2, doubling on growth (entries move: a pointer an mw_htab_get()
 * gave stays valid only until the next creating get), backward-shift
 * deletion. MAX bounds the entry count: a creating get fails beyond it.
 */
#ifndef MW_HTAB_H
#define MW_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct mw_hent {
	uint64_t key, key2;
	uint32_t used;
};

struct mw_htab {
	unsigned char *e;
	size_t esz, cap, n, max;
};

#define MW_HTAB_INIT(type, max) ((struct mw_htab){ NULL, sizeof(type), 0, 0, (max) })

/* The entry for (KEY, KEY2); created zeroed when CREATE (NULL when the table
 * is full or out of memory, or when absent and not CREATE). */
void *mw_htab_get(struct mw_htab *t, uint64_t key, uint64_t key2, int create);
/* Remove an entry that mw_htab_get gave. */
void mw_htab_del(struct mw_htab *t, void *entry);
/* Slot I (0 ≤ I < cap) when it holds an entry, else NULL: for walking the table. */
void *mw_htab_at(const struct mw_htab *t, size_t i);
/* Frees the slots (the entries' own allocations are the caller's). */
void mw_htab_free(struct mw_htab *t);

#endif
