/*
 * key_lru.c -- the block-key LRU of the precise prefix index
 * (indexerConfig.kvBlockIndexConfig.inMemoryConfig.size; llm-d-router
 * v0.10.0 pkg/kvcache/kvblock/in_memory.go: the index's keys live in a
 * hashicorp golang-lru cache of `size` entries, the least recently used
 * key dropped with its pod entries when a new key would exceed it).
 *
 * Records (key, prev, next) in one array form the recency list, newest at
 * head; an es_hmap maps a key to its record.  Both grow by doubling, so
 * after warm-up nothing is allocated.  Record 0 is the null record.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "es_alloc.h"
#include "es_hmap.h"

static bool klru_eq(const void *ctx, uint32_t val, uint64_t key)
{
    return ((const esi_krec_t *)ctx)[val].key == key;
}

void esi_klru_init(esi_klru_t *l, uint64_t limit)
{
    memset(l, 0, sizeof *l);
    l->limit = limit;
    es_hmap_init(&l->map, 512);
    l->cap = 512;
    l->recs = es_xmalloc(l->cap * sizeof *l->recs);
    l->nrec = 1;
}

void esi_klru_fini(esi_klru_t *l)
{
    es_hmap_fini(&l->map);
    free(l->recs);
    memset(l, 0, sizeof *l);
}

static void klru_unlink(esi_klru_t *l, uint32_t r)
{
    esi_krec_t *x = &l->recs[r];
    if (x->prev) l->recs[x->prev].next = x->next; else l->head = x->next;
    if (x->next) l->recs[x->next].prev = x->prev; else l->tail = x->prev;
}

static void klru_push_front(esi_klru_t *l, uint32_t r)
{
    esi_krec_t *x = &l->recs[r];
    x->prev = 0;
    x->next = l->head;
    if (l->head) l->recs[l->head].prev = r; else l->tail = r;
    l->head = r;
}

bool esi_klru_contains(const esi_klru_t *l, uint64_t key) { return es_hmap_find(&l->map, key, klru_eq, l->recs) != NULL; }

bool esi_klru_touch(esi_klru_t *l, uint64_t key)
{
    const es_hmap_slot_t *s = es_hmap_find(&l->map, key, klru_eq, l->recs);
    if (!s) return false;
    if (l->head != s->val) { uint32_t r = s->val; klru_unlink(l, r); klru_push_front(l, r); }
    return true;
}

/* Frees the record of slot i's key. */
static void klru_delete_slot(esi_klru_t *l, size_t i)
{
    uint32_t r = l->map.slots[i].val;
    es_hmap_remove_at(&l->map, i, NULL);
    klru_unlink(l, r);
    l->recs[r].next = l->free;   /* the free list reuses next */
    l->free = r;
    l->n--;
}

void esi_klru_remove(esi_klru_t *l, uint64_t key)
{
    size_t i = es_hmap_probe(&l->map, key, klru_eq, l->recs);
    if (l->map.slots[i].tag) klru_delete_slot(l, i);
}

bool esi_klru_add(esi_klru_t *l, uint64_t key, uint64_t *evicted)
{
    size_t i = es_hmap_probe(&l->map, key, klru_eq, l->recs);
    if (l->map.slots[i].tag) { esi_klru_touch(l, key); return false; }
    uint32_t r;
    if (l->free) {
        r = l->free;
        l->free = l->recs[r].next;
    } else {
        if (l->nrec == l->cap) {
            l->cap *= 2;
            l->recs = es_xrealloc(l->recs, l->cap * sizeof *l->recs);
        }
        r = l->nrec++;
    }
    l->recs[r].key = key;
    es_hmap_insert_at(&l->map, i, key, r);
    klru_push_front(l, r);
    l->n++;
    if (l->n <= l->limit) return false;
    /* simplelru.Add: the oldest goes once the new key makes one too many */
    *evicted = l->recs[l->tail].key;
    klru_delete_slot(l, es_hmap_probe(&l->map, *evicted, klru_eq, l->recs));
    return true;
}
