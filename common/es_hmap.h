/*
 * es_hmap.h -- the one hash table: 64-bit key -> 32-bit value.
 *
 * Open addressing with linear probing over a power-of-two array of 16-byte
 * slots {key, val, full}; deletion is backward-shift (es_oa_moves_back), so
 * there are no tombstones and a probe run never outgrows what the live keys
 * need.  Any 64-bit key is allowed (0 included: emptiness is the full flag),
 * keys need not be well mixed (a key's home mixes all of its bits), and the
 * value is the caller's: an index into its own array of records, a list head.
 *
 * Invariants:
 *  - every live key sits in its run: between its home and its slot no slot
 *    is empty; a key is in the table at most once;
 *  - an empty slot is all zeros, so its val reads 0 (a list head's "none");
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
 * The lookups are static inline: the prefix index probes this table for every
 * block of every request.  Tested in tests/unit/common/test_hmap.c.
 */
#ifndef ES_HMAP_H
#define ES_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_util.h"

typedef struct es_hmap_slot {
    uint64_t key;
    uint32_t val;
    uint32_t full;               /* 0: empty slot, then all of it is 0 (val reads 0) */
} es_hmap_slot_t;

typedef struct es_hmap {
    es_hmap_slot_t *slots;       /* mask + 1 slots */
    size_t          mask;        /* capacity - 1 (a power of two minus one) */
    size_t          count;       /* live keys, <= (mask + 1) / 2 */
} es_hmap_t;

/* Allocates room for at least min_count keys (capacity: the next power of
 * two >= 2 * min_count, at least 16).  Aborts on out of memory (es_alloc.h). */
void es_hmap_init(es_hmap_t *m, size_t min_count);
void es_hmap_fini(es_hmap_t *m);
/* Empties the table, keeping its capacity. */
void es_hmap_clear(es_hmap_t *m);
/* Doubles the capacity, re-placing every key (cold: called by the inserts). */
void es_hmap_grow(es_hmap_t *m);

static inline size_t es_hmap_cap(const es_hmap_t *m) { return m->mask + 1; }

/* The home slot of key: one multiply of a fold of all 64 bits, so that
 * sequential or high-bit-only keys spread over the table. */
static inline size_t es_hmap_home(const es_hmap_t *m, uint64_t key)
{
    key ^= key >> 31;
    key *= 0x7fb5d329728ea185ULL;
    key ^= key >> 27;
    return (size_t)(key ^ (key >> 32)) & m->mask;
}

/* The slot holding key, else the empty slot that ends key's run (where
 * es_hmap_insert_at would put it).  Tell them apart by .full. */
static inline size_t es_hmap_probe(const es_hmap_t *m, uint64_t key)
{
    size_t i = es_hmap_home(m, key);
    while (m->slots[i].full && m->slots[i].key != key) i = (i + 1) & m->mask;
    return i;
}

/* The slot of key; NULL when key is absent. */
static inline es_hmap_slot_t *es_hmap_find(const es_hmap_t *m, uint64_t key)
{
    es_hmap_slot_t *s = &m->slots[es_hmap_probe(m, key)];
    return s->full ? s : NULL;
}

/* Puts key (absent) into slot i, which es_hmap_probe(m, key) returned; first
 * grows the table when the insertion would pass load 1/2 (then i moves).
 * Returns the slot index key now has. */
static inline size_t es_hmap_insert_at(es_hmap_t *m, size_t i, uint64_t key, uint32_t val)
{
    if ((m->count + 1) * 2 > m->mask + 1) {
        es_hmap_grow(m);
        i = es_hmap_probe(m, key);
    }
    m->slots[i] = (es_hmap_slot_t){key, val, 1};
    m->count++;
    return i;
}

/* Sets key's value, inserting key when absent.  Returns its slot. */
static inline es_hmap_slot_t *es_hmap_put(es_hmap_t *m, uint64_t key, uint32_t val)
{
    size_t i = es_hmap_probe(m, key);
    if (m->slots[i].full) m->slots[i].val = val;
    else i = es_hmap_insert_at(m, i, key, val);
    return &m->slots[i];
}

/* Empties slot i (full) and shifts the rest of its run back.  *follow, a
 * slot index the caller holds (NULL: none), follows its entry if that moves;
 * it becomes SIZE_MAX when it was the empty slot that ended the shifted run
 * (an insertion point that may now come earlier: probe again). */
static inline void es_hmap_remove_at(es_hmap_t *m, size_t i, size_t *follow)
{
    size_t none = SIZE_MAX, *at = follow ? follow : &none;
    for (size_t j = i;;) {
        j = (j + 1) & m->mask;
        if (!m->slots[j].full) {
            if (j == *at) *at = SIZE_MAX;
            break;
        }
        if (es_oa_moves_back(es_hmap_home(m, m->slots[j].key), i, j, m->mask)) {
            m->slots[i] = m->slots[j];
            if (j == *at) *at = i;
            i = j;
        }
    }
    m->slots[i] = (es_hmap_slot_t){0, 0, 0};
    m->count--;
}

/* Removes key; returns whether it was there (its value goes to *val unless
 * val is NULL). */
static inline bool es_hmap_remove(es_hmap_t *m, uint64_t key, uint32_t *val)
{
    size_t i = es_hmap_probe(m, key);
    if (!m->slots[i].full) return false;
    if (val) *val = m->slots[i].val;
    es_hmap_remove_at(m, i, NULL);
    return true;
}

#endif /* ES_HMAP_H */
