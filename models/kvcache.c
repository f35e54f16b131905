/*
 * kvcache.c -- block pool, free queue and hash map (see es_kvcache.h).
 */
#include "es_kvcache.h"

#include <stdlib.h>
#include <string.h>

#include "es_err.h"
#include "es_rng.h"
#include "es_util.h"

#define TOMB ES_KV_NONE

/* (es_kvcache_prefetch_* in es_kvcache.h compute the same home slot) */
static inline uint32_t tag_of(uint64_t hash) { return es_kvcache_tag(hash); }

/* ---- free queue ---- */

/* Rewrites the live entries of [head, tail) without tombstones. */
static void q_compact(es_kvcache_t *kv)
{
    uint32_t w = kv->head;
    for (uint32_t r = kv->head; r != kv->tail; r++) {
        uint32_t id = kv->ring[r & kv->rmask];
        if (id == TOMB) continue;
        kv->ring[w & kv->rmask] = id;
        kv->b[id].qpos = w & kv->rmask;
        w++;
    }
    kv->tail = w;
}

static inline void q_room(es_kvcache_t *kv)
{
    if (kv->tail - kv->head > kv->rmask) q_compact(kv);   /* full: the ring is >= 4n, so there are tombstones */
}

static inline void q_push_tail(es_kvcache_t *kv, uint32_t id)
{
    q_room(kv);
    kv->b[id].qpos = kv->tail & kv->rmask;
    kv->ring[kv->tail++ & kv->rmask] = id;
    kv->nfree++;
}

static inline void q_push_head(es_kvcache_t *kv, uint32_t id)
{
    q_room(kv);
    kv->b[id].qpos = --kv->head & kv->rmask;
    kv->ring[kv->head & kv->rmask] = id;
    kv->nfree++;
}

static inline void q_remove(es_kvcache_t *kv, uint32_t id)
{
    kv->ring[kv->b[id].qpos] = TOMB;
    if (--kv->nfree == 0) kv->head = kv->tail;   /* drop the tombstones */
}

static inline uint32_t q_pop_head(es_kvcache_t *kv)
{
    ES_ASSERT(kv->nfree > 0, "KV alloc with no free block");
    uint32_t id;
    while ((id = kv->ring[kv->head++ & kv->rmask]) == TOMB) {}
    kv->nfree--;
    return id;
}

/* ---- map ---- */

#define SLOTS_PER_LINE (64 / sizeof(es_kvslot_t))

static inline const es_kvslot_t *home_slot(const es_kvcache_t *kv, uint64_t hash)
{
    return &kv->slot[tag_of(hash) & kv->mask];
}

uint32_t es_kvcache_lookup(const es_kvcache_t *kv, uint64_t hash)
{
    uint32_t tag = tag_of(hash), found = ES_KV_NONE;
    for (uint32_t i = tag & kv->mask; kv->slot[i].id; i = (i + 1) & kv->mask) {
        uint32_t id = kv->slot[i].id;
        if (kv->slot[i].tag == tag && kv->b[id].hash == hash) found = id;   /* the last is the newest */
    }
    return found;
}

uint32_t es_kvcache_match(const es_kvcache_t *kv, const uint64_t *hashes, uint32_t n, uint32_t *out)
{
    /* the slots, then the records of the blocks whose tags match (to verify
     * the hash), are random lines: prefetch them for all blocks first */
    for (uint32_t i = 0; i < n; i++) __builtin_prefetch(home_slot(kv, hashes[i]));
    for (uint32_t i = 0; i < n; i++) {
        uint32_t tag = tag_of(hashes[i]);
        for (uint32_t j = tag & kv->mask; kv->slot[j].id; j = (j + 1) & kv->mask)
            if (kv->slot[j].tag == tag) __builtin_prefetch(&kv->b[kv->slot[j].id]);
    }
    uint32_t k = 0;
    while (k < n && (out[k] = es_kvcache_lookup(kv, hashes[k])) != ES_KV_NONE) k++;
    return k;
}

static inline void map_insert(es_kvcache_t *kv, uint32_t id, uint64_t hash)
{
    uint32_t tag = tag_of(hash), i = tag & kv->mask;
    while (kv->slot[i].id) i = (i + 1) & kv->mask;
    kv->slot[i].tag = tag;
    kv->slot[i].id = id;
}

static inline void map_remove(es_kvcache_t *kv, uint32_t id)
{
    uint32_t m = kv->mask, i = tag_of(kv->b[id].hash) & m;
    while (kv->slot[i].id != id) {
        ES_ASSERT(kv->slot[i].id != 0, "cached block missing from the map");
        i = (i + 1) & m;
    }
    /* backward-shift deletion: keeps probe runs intact without tombstones,
     * and entries of one home in their order */
    for (uint32_t j = i;;) {
        j = (j + 1) & m;
        if (!kv->slot[j].id) break;
        uint32_t k = kv->slot[j].tag & m;        /* home of the entry at j */
        if (es_oa_moves_back(k, i, j, m)) {
            kv->slot[i] = kv->slot[j];
            i = j;
        }
    }
    kv->slot[i].id = 0;
    kv->b[id].cached = 0;
}

/* ---- blocks ---- */

int es_kvcache_init(es_kvcache_t *kv, uint32_t nblocks, bool fresh_prepend)
{
    ES_ASSERT(nblocks >= 2 && nblocks <= (1u << 29), "KV cache needs the null block and one more");
    memset(kv, 0, sizeof *kv);
    kv->n = nblocks;
    uint32_t ns = 1, nr = 1;
    while (ns < 2 * nblocks) ns <<= 1;
    while (nr < 4 * nblocks) nr <<= 1;   /* compaction at most every 3n queue operations */
    kv->b = calloc(nblocks, sizeof *kv->b);
    kv->slot = calloc(ns, sizeof *kv->slot);
    kv->ring = malloc(nr * sizeof *kv->ring);
    if (!kv->b || !kv->slot || !kv->ring) { es_kvcache_fini(kv); return ES_ENOMEM; }
    kv->mask = ns - 1;
    kv->rmask = nr - 1;
    kv->fresh_prepend = fresh_prepend;
    kv->b[0].ref = 1;               /* the null block is never free */
    for (uint32_t i = 1; i < nblocks; i++) q_push_tail(kv, i);
    return 0;
}

void es_kvcache_fini(es_kvcache_t *kv)
{
    free(kv->b); free(kv->slot); free(kv->ring);
    kv->b = NULL; kv->slot = NULL; kv->ring = NULL;
}

void es_kvcache_touch(es_kvcache_t *kv, uint32_t id)
{
    if (kv->b[id].ref == 0) q_remove(kv, id);
    kv->b[id].ref++;
}

/* Takes block id, just popped from the queue, evicting its hash. */
static inline void take(es_kvcache_t *kv, uint32_t id)
{
    if (kv->b[id].cached) {
        map_remove(kv, id);
        kv->evictions++;
        if (kv->ev) kv->ev(kv->ev_ud, ES_KV_BLOCK_REMOVED, kv->b[id].hash);
    }
    kv->b[id].ref = 1;
}

uint32_t es_kvcache_alloc(es_kvcache_t *kv)
{
    uint32_t id = q_pop_head(kv);
    take(kv, id);
    return id;
}

void es_kvcache_free(es_kvcache_t *kv, uint32_t id)
{
    ES_ASSERT(kv->b[id].ref > 0, "KV block freed twice");
    if (--kv->b[id].ref > 0) return;
    if (kv->fresh_prepend && !kv->b[id].cached) q_push_head(kv, id);   /* reused first */
    else q_push_tail(kv, id);                                           /* LRU tail */
}

void es_kvcache_cache(es_kvcache_t *kv, uint32_t id, uint64_t hash)
{
    if (kv->b[id].cached) return;
    kv->b[id].hash = hash;
    kv->b[id].cached = 1;
    map_insert(kv, id, hash);
    if (kv->ev) kv->ev(kv->ev_ud, ES_KV_BLOCK_STORED, hash);
}

/* Batched forms: the records and map slots of a request's blocks are
 * prefetched together, so that their cache misses overlap instead of running
 * one after another.  (The prefetches stay at the call sites: GCC deletes
 * calls to a function whose only effect is a prefetch.) */

void es_kvcache_alloc_n(es_kvcache_t *kv, uint32_t *out, uint32_t n)
{
    ES_ASSERT(n <= kv->nfree, "KV alloc with no free block");
    if (n == 1) { out[0] = es_kvcache_alloc(kv); return; }
    /* the next n live ids of the ring are the blocks to take, in order */
    for (uint32_t i = 0, r = kv->head; i < n; r++) {
        uint32_t id = kv->ring[r & kv->rmask];
        if (id != TOMB) { out[i++] = id; __builtin_prefetch(&kv->b[id], 1); }
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!kv->b[out[i]].cached) continue;
        uint32_t h = tag_of(kv->b[out[i]].hash);   /* deletion shifts the run back: often into the next line */
        __builtin_prefetch(&kv->slot[h & kv->mask], 1);
        __builtin_prefetch(&kv->slot[(h + SLOTS_PER_LINE) & kv->mask], 1);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t id = q_pop_head(kv);
        ES_ASSERT(id == out[i], "KV free queue changed under a batch");
        take(kv, id);
    }
}

void es_kvcache_free_rev(es_kvcache_t *kv, const uint32_t *ids, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) __builtin_prefetch(&kv->b[ids[i]], 1);
    for (uint32_t i = n; i-- > 0;) es_kvcache_free(kv, ids[i]);
}

void es_kvcache_cache_n(es_kvcache_t *kv, const uint32_t *ids, const uint64_t *hashes, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) __builtin_prefetch(home_slot(kv, hashes[i]), 1);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0) kv->ev_parent = hashes[i - 1];   /* the chain: block i follows block i-1 */
        es_kvcache_cache(kv, ids[i], hashes[i]);
    }
}

void es_kvcache_clear(es_kvcache_t *kv)
{
    ES_ASSERT(kv->nfree == kv->n - 1, "KV cache cleared while blocks are in use");
    memset(kv->slot, 0, ((size_t)kv->mask + 1) * sizeof *kv->slot);
    for (uint32_t i = 1; i < kv->n; i++) kv->b[i].cached = 0;
    if (kv->ev) kv->ev(kv->ev_ud, ES_KV_ALL_CLEARED, 0);
}
