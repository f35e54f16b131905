/*
 * es_kvcache.h -- vLLM's paged KV block pool with automatic prefix caching.
 *
 * Blocks 1..n-1 are usable; block 0 is vLLM's null block and never free, so
 * usage = 1 - free / (n - 1).  Free blocks sit in a queue: the head is reused
 * (and, if it still has a hash, evicted) first.  A freed block keeps its hash
 * and stays a valid prefix hit until reused; freeing goes to the tail (LRU),
 * except that never-hashed blocks go to the head in the "fresh_prepend" order
 * of the newest vLLM.  The hash map does not deduplicate (two requests that
 * compute the same block both keep theirs); a lookup returns the most
 * recently cached of them.
 *
 * Layout (the cost of this module is cache misses: a pod has ~28k blocks and
 * a run has many pods):
 *  - the free queue is a ring of block ids with tombstones (a hit on a free
 *    block leaves one), compacted when full, so the next blocks to reuse are
 *    read in sequence and their records can be prefetched together;
 *  - the map is an open-addressing table (linear probing, backward-shift
 *    deletion, load <= 1/2) of 8-byte slots {tag, block id}: the tag holds
 *    the home slot and a fingerprint, so evicting a block finds its slot
 *    without touching other blocks' records.  Copies of one hash share a home
 *    and keep their caching order along the probe run (insertion goes past
 *    the run, deletion shifts back in order): the newest is the last one.
 * All operations are O(1) (amortised for the ring).  No allocation after init.
 */
#ifndef ES_KVCACHE_H
#define ES_KVCACHE_H

#include <stdbool.h>
#include <stddef.h>   /* es_endpoint.h uses NULL */
#include <stdint.h>

#include "es_endpoint.h"
#include "es_rng.h"

#define ES_KV_NONE UINT32_MAX

typedef struct es_kvblock {
    uint64_t hash;
    uint32_t qpos;           /* ring index while in the free queue */
    uint32_t ref : 31;       /* holders; 0 = in the free queue */
    uint32_t cached : 1;     /* hash valid and in the map */
} es_kvblock_t;

/* A map slot: tag = es_kvcache_tag(hash) (its low bits are the home slot),
 * id = the block (0 = empty: the null block is never cached).  Block hashes
 * are chained es_mix64 outputs already; one multiply spreads the rest. */
static inline uint32_t es_kvcache_tag(uint64_t hash)
{
    return (uint32_t)((hash * ES_HASH_WEYL) >> 32);
}
typedef struct es_kvslot { uint32_t tag, id; } es_kvslot_t;

/* Event sink: kind and hash of one KV event. */
typedef void (*es_kvcache_event_fn)(void *ud, es_kv_event_kind_t kind, uint64_t hash);

typedef struct es_kvcache {
    uint32_t      n;           /* num_gpu_blocks, null block included */
    es_kvblock_t *b;           /* n */
    uint32_t      nfree;
    uint32_t     *ring;        /* free queue: ids or ES_KV_NONE (tombstone), rmask + 1 */
    uint32_t      rmask;
    uint32_t      head, tail;  /* ring positions (mod 2^32): live range [head, tail) */
    es_kvslot_t  *slot;        /* mask + 1 slots */
    uint32_t      mask;
    bool          fresh_prepend;
    es_kvcache_event_fn ev;    /* NULL = no events */
    void         *ev_ud;
    uint64_t      ev_parent;   /* chain parent of the block cached next (0 = first block): set by
                                * the caller of es_kvcache_cache, kept by es_kvcache_cache_n */
    uint64_t      evictions;
} es_kvcache_t;

int  es_kvcache_init(es_kvcache_t *kv, uint32_t nblocks, bool fresh_prepend);
void es_kvcache_fini(es_kvcache_t *kv);

/* The most recently cached block with this hash, or ES_KV_NONE. */
uint32_t es_kvcache_lookup(const es_kvcache_t *kv, uint64_t hash);
/* Leading hits of a chain of hashes: out[i] = lookup(hashes[i]) for i < the
 * returned count, which stops at the first miss (prefetching). */
uint32_t es_kvcache_match(const es_kvcache_t *kv, const uint64_t *hashes, uint32_t n, uint32_t *out);
/* Takes a reference on a (cached) block, removing it from the free queue if idle. */
void     es_kvcache_touch(es_kvcache_t *kv, uint32_t id);
/* Pops the free queue's head (evicting its hash); caller checks nfree first. */
uint32_t es_kvcache_alloc(es_kvcache_t *kv);
/* Drops a reference; at 0 the block enters the free queue. */
void     es_kvcache_free(es_kvcache_t *kv, uint32_t id);
/* Gives a full block its hash (BlockStored). */
void     es_kvcache_cache(es_kvcache_t *kv, uint32_t id, uint64_t hash);
/* Batched forms (prefetching; same effects and events, in the same order, as
 * n single calls): out[i] = alloc() for i < n (caller checks nfree);
 * free(ids[i]) from i = n-1 down to 0; cache(ids[i], hashes[i]) for i < n. */
void     es_kvcache_alloc_n(es_kvcache_t *kv, uint32_t *out, uint32_t n);
void     es_kvcache_free_rev(es_kvcache_t *kv, const uint32_t *ids, uint32_t n);
void     es_kvcache_cache_n(es_kvcache_t *kv, const uint32_t *ids, const uint64_t *hashes, uint32_t n);
/* Hints (no effect but on timing): prefetch what the next `m` allocs will
 * touch, the map slot a block with this hash will take, a block's record.
 * Inline so that the prefetches stay: GCC deletes calls to a function whose
 * only effect is a prefetch. */
static inline __attribute__((always_inline)) void es_kvcache_prefetch_allocs(const es_kvcache_t *kv, uint32_t m)
{
    uint32_t ids[16], k = 0;
    for (uint32_t r = kv->head; k < m && k < 16 && r != kv->tail; r++)
        if ((ids[k] = kv->ring[r & kv->rmask]) != ES_KV_NONE) __builtin_prefetch(&kv->b[ids[k++]]);
    for (uint32_t i = 0; i < k; i++)
        if (kv->b[ids[i]].cached) __builtin_prefetch(&kv->slot[es_kvcache_tag(kv->b[ids[i]].hash) & kv->mask]);
}
static inline __attribute__((always_inline)) void es_kvcache_prefetch_hash(const es_kvcache_t *kv, uint64_t hash)
{
    __builtin_prefetch(&kv->slot[es_kvcache_tag(hash) & kv->mask]);
}
static inline __attribute__((always_inline)) void es_kvcache_prefetch_block(const es_kvcache_t *kv, uint32_t id)
{
    __builtin_prefetch(&kv->b[id]);
}

/* Forgets every hash (AllBlocksCleared); every block must be free. */
void     es_kvcache_clear(es_kvcache_t *kv);

static inline double es_kvcache_usage(const es_kvcache_t *kv)
{
    return kv->n > 1 ? 1.0 - (double)kv->nfree / (double)(kv->n - 1) : 0.0;
}

#endif /* ES_KVCACHE_H */
