/*
 * es_hmap.h -- the one hash table: an index from 64-bit keys to the caller's
 * records (32-bit values: an index into its array, a list head).
 *
 * Open addressing with linear probing over a power-of-two array of 8-byte
 * slots {tag, val}; deletion is backward-shift (es_oa_moves_back), so there
 * are no tombstones.  The key itself lives in the caller's record, not in the
 * table: a slot keeps a 32-bit tag of the key (its home and a fingerprint),
 * and a lookup asks the caller's eq(ctx, val, key) only on a tag match, so a
 * probe touches one cache line of slots plus the record it finds.  Growth and
 * deletion work on tags alone and never read a record.  Any 64-bit key is
 * allowed and keys need not be well mixed (the tag mixes all 64 bits:
 * sequential or high-bit-only keys spread); any value is allowed.
 *
 * Invariants:
 *  - tag 0 marks an empty slot, and an empty slot is all zeros (its val
 *    reads 0, a list head's "none"); a full slot's tag has its low bit set,
 *    and its home is tag >> 1 masked, so capacity is at most 2^31 slots;
 *  - every key sits in its run: no empty slot between its home and its slot;
 *    the caller puts a key in at most once (es_hmap_put checks);
 *  - load <= 1/2: es_hmap_insert_at / es_hmap_put double the array first when
 *    an insertion would pass it, so allocation happens only while the count
 *    rises above its high-water mark (never in a lookup, a removal, or an
 *    insertion in steady state);
 *  - the slot of every key, hence the iteration order (slot index 0..cap-1),
 *    is a function of the sequence of operations alone: no addresses, no
 *    randomness, the same on every run and at any thread count.
 *
 * Complexity: find, insert and remove are O(1) expected (a probe run at load
 * 1/2 averages 1.5 slots for a hit and 2.5 for a miss); growth is O(cap),
 * amortised O(1); iteration is O(cap).  A removal or a growth moves other
 * entries: slot indices (and pointers to slots) held across them are stale,
 * except the one es_hmap_remove_at is told to follow.
 *
 * The lookups are static inline and always inlined, so that eq (a constant
 * function at every call) is inlined too: the prefix index probes this table
 * for every block of every request.  Tested in tests/unit/common/test_hmap.c.
 */
#ifndef ES_HMAP_H
#define ES_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_util.h"

#if defined(__GNUC__)
#define ES_HMAP_INLINE static inline __attribute__((always_inline))
#else
#define ES_HMAP_INLINE static inline
#endif

typedef struct es_hmap_slot {
    uint32_t tag;                /* 0: empty; else the key's tag (low bit set) */
    uint32_t val;                /* the caller's */
} es_hmap_slot_t;

typedef struct es_hmap {
    es_hmap_slot_t *slots;       /* mask + 1 slots */
    size_t          mask;        /* capacity - 1 (a power of two minus one) */
    size_t          count;       /* live keys, <= (mask + 1) / 2 */
} es_hmap_t;

/* Whether the caller's record val has key (ctx: the caller's records). */
typedef bool es_hmap_eq_fn(const void *ctx, uint32_t val, uint64_t key);

/* Allocates room for at least min_count keys (capacity: the next power of
 * two >= 2 * min_count, at least 16).  Aborts on out of memory (es_alloc.h). */
void es_hmap_init(es_hmap_t *m, size_t min_count);
void es_hmap_fini(es_hmap_t *m);
/* Empties the table, keeping its capacity. */
void es_hmap_clear(es_hmap_t *m);
/* Doubles the capacity, re-placing every key (cold: called by the inserts). */
void es_hmap_grow(es_hmap_t *m);

static inline size_t es_hmap_cap(const es_hmap_t *m) { return m->mask + 1; }

/* key's tag: the high half of one multiply of a fold of all 64 bits, low
 * bit set (nonzero: a full slot). */
static inline uint32_t es_hmap_tag(uint64_t key)
{
    key ^= key >> 31;
    key *= 0x7fb5d329728ea185ULL;
    key ^= key >> 27;
    return (uint32_t)(key >> 32) | 1u;
}

static inline size_t es_hmap_tag_home(const es_hmap_t *m, uint32_t tag) { return (size_t)(tag >> 1) & m->mask; }

/* The home slot of key (also for prefetching it). */
static inline size_t es_hmap_home(const es_hmap_t *m, uint64_t key) { return es_hmap_tag_home(m, es_hmap_tag(key)); }

/* The slot holding key, else the empty slot that ends key's run (where
 * es_hmap_insert_at would put it).  Tell them apart by .tag. */
ES_HMAP_INLINE size_t es_hmap_probe(const es_hmap_t *m, uint64_t key, es_hmap_eq_fn *eq, const void *ctx)
{
    uint32_t t = es_hmap_tag(key);
    size_t i = es_hmap_tag_home(m, t);
    while (m->slots[i].tag && (m->slots[i].tag != t || !eq(ctx, m->slots[i].val, key))) i = (i + 1) & m->mask;
    return i;
}

/* The slot of key; NULL when key is absent. */
ES_HMAP_INLINE es_hmap_slot_t *es_hmap_find(const es_hmap_t *m, uint64_t key, es_hmap_eq_fn *eq, const void *ctx)
{
    es_hmap_slot_t *s = &m->slots[es_hmap_probe(m, key, eq, ctx)];
    return s->tag ? s : NULL;
}

/* Puts key (absent) into slot i, which es_hmap_probe returned for it; first
 * grows the table when the insertion would pass load 1/2 (then i moves).
 * Returns the slot index key now has. */
ES_HMAP_INLINE size_t es_hmap_insert_at(es_hmap_t *m, size_t i, uint64_t key, uint32_t val)
{
    uint32_t t = es_hmap_tag(key);
    if ((m->count + 1) * 2 > m->mask + 1) {
        es_hmap_grow(m);
        i = es_hmap_tag_home(m, t);   /* key is absent: the first empty slot of its run */
        while (m->slots[i].tag) i = (i + 1) & m->mask;
    }
    m->slots[i] = (es_hmap_slot_t){t, val};
    m->count++;
    return i;
}

/* Sets key's value, inserting key when absent.  Returns its slot. */
ES_HMAP_INLINE es_hmap_slot_t *es_hmap_put(es_hmap_t *m, uint64_t key, uint32_t val, es_hmap_eq_fn *eq,
                                           const void *ctx)
{
    size_t i = es_hmap_probe(m, key, eq, ctx);
    if (m->slots[i].tag) m->slots[i].val = val;
    else i = es_hmap_insert_at(m, i, key, val);
    return &m->slots[i];
}

/* Empties slot i (full) and shifts the rest of its run back.  *follow, a
 * slot index the caller holds (NULL: none), follows its entry if that moves;
 * it becomes SIZE_MAX when it was the empty slot that ended the shifted run
 * (an insertion point that may now come earlier: probe again). */
ES_HMAP_INLINE void es_hmap_remove_at(es_hmap_t *m, size_t i, size_t *follow)
{
    size_t none = SIZE_MAX, *at = follow ? follow : &none;
    for (size_t j = i;;) {
        j = (j + 1) & m->mask;
        if (!m->slots[j].tag) {
            if (j == *at) *at = SIZE_MAX;
            break;
        }
        if (es_oa_moves_back(es_hmap_tag_home(m, m->slots[j].tag), i, j, m->mask)) {
            m->slots[i] = m->slots[j];
            if (j == *at) *at = i;
            i = j;
        }
    }
    m->slots[i] = (es_hmap_slot_t){0, 0};
    m->count--;
}

/* Removes key; returns whether it was there (its value goes to *val unless
 * val is NULL). */
ES_HMAP_INLINE bool es_hmap_remove(es_hmap_t *m, uint64_t key, uint32_t *val, es_hmap_eq_fn *eq, const void *ctx)
{
    size_t i = es_hmap_probe(m, key, eq, ctx);
    if (!m->slots[i].tag) return false;
    if (val) *val = m->slots[i].val;
    es_hmap_remove_at(m, i, NULL);
    return true;
}

#endif /* ES_HMAP_H */
