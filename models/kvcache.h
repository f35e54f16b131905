/*
 * kvcache.h -- vLLM's paged KV block pool with automatic prefix caching.
 *
 * Blocks 1..n-1 are usable; block 0 is vLLM's null block and never free, so
 * usage = 1 - free / (n - 1).  Free blocks sit in a doubly linked queue: the
 * head is reused (and, if it still has a hash, evicted) first.  A freed block
 * keeps its hash and stays a valid prefix hit until reused; freeing goes to
 * the tail (LRU), except that never-hashed blocks go to the head in the
 * "fresh_prepend" order of the newest vLLM.  The hash map does not
 * deduplicate (two requests that compute the same block both keep theirs).
 * All operations are O(1) except hash-chain walks (short: 2 buckets per
 * block).  No allocation after init.
 */
#ifndef ES_KVCACHE_H
#define ES_KVCACHE_H

#include <stdbool.h>
#include <stddef.h>   /* es_endpoint.h uses NULL */
#include <stdint.h>

#include "es_endpoint.h"

#define ES_KV_NONE UINT32_MAX

typedef struct es_kvblock {
    uint64_t hash;
    uint32_t prev, next;   /* free queue links (sentinel = n) */
    uint32_t hnext;        /* hash bucket chain */
    int32_t  ref;          /* holders; 0 = in the free queue */
    uint8_t  cached;       /* hash valid and in the map */
} es_kvblock_t;

/* Event sink: kind and hash of one KV event. */
typedef void (*es_kvcache_event_fn)(void *ud, es_kv_event_kind_t kind, uint64_t hash);

typedef struct es_kvcache {
    uint32_t      n;           /* num_gpu_blocks, null block included */
    es_kvblock_t *b;           /* n + 1: the last is the free-queue sentinel */
    uint32_t      nfree;
    uint32_t     *bucket;
    uint32_t      mask;
    bool          fresh_prepend;
    es_kvcache_event_fn ev;    /* NULL = no events */
    void         *ev_ud;
    uint64_t      evictions;
} es_kvcache_t;

int  es_kvcache_init(es_kvcache_t *kv, uint32_t nblocks, bool fresh_prepend);
void es_kvcache_fini(es_kvcache_t *kv);

/* A cached block with this hash, or ES_KV_NONE. */
uint32_t es_kvcache_lookup(const es_kvcache_t *kv, uint64_t hash);
/* Takes a reference on a (cached) block, removing it from the free queue if idle. */
void     es_kvcache_touch(es_kvcache_t *kv, uint32_t id);
/* Pops the free queue's head (evicting its hash); caller checks nfree first. */
uint32_t es_kvcache_alloc(es_kvcache_t *kv);
/* Drops a reference; at 0 the block enters the free queue. */
void     es_kvcache_free(es_kvcache_t *kv, uint32_t id);
/* Gives a full block its hash (BlockStored). */
void     es_kvcache_cache(es_kvcache_t *kv, uint32_t id, uint64_t hash);
/* Forgets every hash (AllBlocksCleared); every block must be free. */
void     es_kvcache_clear(es_kvcache_t *kv);

static inline double es_kvcache_usage(const es_kvcache_t *kv)
{
    return kv->n > 1 ? 1.0 - (double)kv->nfree / (double)(kv->n - 1) : 0.0;
}

#endif /* ES_KVCACHE_H */
