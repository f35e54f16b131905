/*
 * kvcache.c -- block pool, free queue and hash map (see kvcache.h).
 */
#include "kvcache.h"

#include <stdlib.h>

#include "es_err.h"
#include "es_rng.h"

static inline uint32_t bucket_of(const es_kvcache_t *kv, uint64_t h)
{
    return (uint32_t)(es_mix64(h) & kv->mask);
}

static inline void q_unlink(es_kvcache_t *kv, uint32_t id)
{
    es_kvblock_t *b = kv->b;
    b[b[id].prev].next = b[id].next;
    b[b[id].next].prev = b[id].prev;
    kv->nfree--;
}

static inline void q_insert_after(es_kvcache_t *kv, uint32_t at, uint32_t id)
{
    es_kvblock_t *b = kv->b;
    b[id].prev = at;
    b[id].next = b[at].next;
    b[b[at].next].prev = id;
    b[at].next = id;
    kv->nfree++;
}

int es_kvcache_init(es_kvcache_t *kv, uint32_t nblocks, bool fresh_prepend)
{
    ES_ASSERT(nblocks >= 2, "KV cache needs the null block and one more");
    kv->n = nblocks;
    kv->b = calloc((size_t)nblocks + 1, sizeof *kv->b);
    uint32_t nb = 1;
    while (nb < 2 * nblocks) nb <<= 1;
    kv->bucket = malloc(nb * sizeof *kv->bucket);
    if (!kv->b || !kv->bucket) { es_kvcache_fini(kv); return ES_ENOMEM; }
    kv->mask = nb - 1;
    for (uint32_t i = 0; i < nb; i++) kv->bucket[i] = ES_KV_NONE;
    kv->fresh_prepend = fresh_prepend;
    kv->ev = NULL; kv->ev_ud = NULL; kv->evictions = 0;
    uint32_t s = nblocks;           /* sentinel */
    kv->b[s].next = kv->b[s].prev = s;
    kv->nfree = 0;
    kv->b[0].ref = 1;               /* the null block is never free */
    for (uint32_t i = 1; i < nblocks; i++) {
        kv->b[i].hnext = ES_KV_NONE;
        q_insert_after(kv, kv->b[s].prev, i);
    }
    return 0;
}

void es_kvcache_fini(es_kvcache_t *kv)
{
    free(kv->b); free(kv->bucket);
    kv->b = NULL; kv->bucket = NULL;
}

uint32_t es_kvcache_lookup(const es_kvcache_t *kv, uint64_t hash)
{
    for (uint32_t id = kv->bucket[bucket_of(kv, hash)]; id != ES_KV_NONE; id = kv->b[id].hnext)
        if (kv->b[id].hash == hash) return id;
    return ES_KV_NONE;
}

static void map_remove(es_kvcache_t *kv, uint32_t id)
{
    uint32_t *pp = &kv->bucket[bucket_of(kv, kv->b[id].hash)];
    while (*pp != id) {
        ES_ASSERT(*pp != ES_KV_NONE, "cached block missing from its bucket");
        pp = &kv->b[*pp].hnext;
    }
    *pp = kv->b[id].hnext;
    kv->b[id].hnext = ES_KV_NONE;
    kv->b[id].cached = 0;
}

void es_kvcache_touch(es_kvcache_t *kv, uint32_t id)
{
    if (kv->b[id].ref == 0) q_unlink(kv, id);
    kv->b[id].ref++;
}

uint32_t es_kvcache_alloc(es_kvcache_t *kv)
{
    uint32_t s = kv->n, id = kv->b[s].next;
    ES_ASSERT(id != s, "KV alloc with no free block");
    q_unlink(kv, id);
    if (kv->b[id].cached) {
        uint64_t h = kv->b[id].hash;
        map_remove(kv, id);
        kv->evictions++;
        if (kv->ev) kv->ev(kv->ev_ud, ES_KV_BLOCK_REMOVED, h);
    }
    kv->b[id].ref = 1;
    return id;
}

void es_kvcache_free(es_kvcache_t *kv, uint32_t id)
{
    ES_ASSERT(kv->b[id].ref > 0, "KV block freed twice");
    if (--kv->b[id].ref > 0) return;
    uint32_t s = kv->n;
    if (kv->fresh_prepend && !kv->b[id].cached) q_insert_after(kv, s, id);   /* reused first */
    else q_insert_after(kv, kv->b[s].prev, id);                                /* LRU tail */
}

void es_kvcache_cache(es_kvcache_t *kv, uint32_t id, uint64_t hash)
{
    if (kv->b[id].cached) return;
    kv->b[id].hash = hash;
    kv->b[id].cached = 1;
    uint32_t bk = bucket_of(kv, hash);
    kv->b[id].hnext = kv->bucket[bk];
    kv->bucket[bk] = id;
    if (kv->ev) kv->ev(kv->ev_ud, ES_KV_BLOCK_STORED, hash);
}

void es_kvcache_clear(es_kvcache_t *kv)
{
    ES_ASSERT(kv->nfree == kv->n - 1, "KV cache cleared while blocks are in use");
    for (uint32_t i = 0; i <= kv->mask; i++) kv->bucket[i] = ES_KV_NONE;
    for (uint32_t i = 1; i < kv->n; i++) { kv->b[i].cached = 0; kv->b[i].hnext = ES_KV_NONE; }
    if (kv->ev) kv->ev(kv->ev_ud, ES_KV_ALL_CLEARED, 0);
}
