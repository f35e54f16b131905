/*
 * key_lru.c -- the block-key LRU of the precise prefix index
 * (indexerConfig.kvBlockIndexConfig.inMemoryConfig.size; llm-d-router
 * v0.10.0 pkg/kvcache/kvblock/in_memory.go: the index's keys live in a
 * hashicorp golang-lru cache of `size` entries, the least recently used
 * key dropped with its pod entries when a new key would exceed it).
 *
 * Records (key, prev, next) in one array form the recency list, newest at
 * head; an open-addressed table (linear probing, backward-shift deletion)
 * maps a key to its record.  Both grow by doubling, so after warm-up
 * nothing is allocated.  Record 0 is the null record.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "es_alloc.h"
#include "es_util.h"

static inline size_t klru_home(const esi_klru_t *l, uint64_t key)
{
    key ^= key >> 31;
    key *= 0x7fb5d329728ea185ULL;
    key ^= key >> 27;
    return (size_t)(key >> 32) & l->mask;
}

void esi_klru_init(esi_klru_t *l, uint64_t limit)
{
    memset(l, 0, sizeof *l);
    l->limit = limit;
    l->mask = 1023;
    l->slots = es_xcalloc(l->mask + 1, sizeof *l->slots);
    l->cap = 512;
    l->recs = es_xmalloc(l->cap * sizeof *l->recs);
    l->nrec = 1;
}

void esi_klru_fini(esi_klru_t *l)
{
    free(l->slots);
    free(l->recs);
    memset(l, 0, sizeof *l);
}

static size_t klru_find(const esi_klru_t *l, uint64_t key)
{
    size_t i = klru_home(l, key);
    while (l->slots[i] && l->recs[l->slots[i]].key != key) i = (i + 1) & l->mask;
    return i;
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

bool esi_klru_contains(const esi_klru_t *l, uint64_t key) { return l->slots[klru_find(l, key)] != 0; }

bool esi_klru_touch(esi_klru_t *l, uint64_t key)
{
    uint32_t r = l->slots[klru_find(l, key)];
    if (!r) return false;
    if (l->head != r) { klru_unlink(l, r); klru_push_front(l, r); }
    return true;
}

static void klru_delete_slot(esi_klru_t *l, size_t i)
{
    uint32_t r = l->slots[i];
    for (size_t j = i;;) {
        j = (j + 1) & l->mask;
        if (!l->slots[j]) break;
        if (es_oa_moves_back(klru_home(l, l->recs[l->slots[j]].key), i, j, l->mask)) {
            l->slots[i] = l->slots[j];
            i = j;
        }
    }
    l->slots[i] = 0;
    klru_unlink(l, r);
    l->recs[r].next = l->free;   /* the free list reuses next */
    l->free = r;
    l->n--;
}

void esi_klru_remove(esi_klru_t *l, uint64_t key)
{
    size_t i = klru_find(l, key);
    if (l->slots[i]) klru_delete_slot(l, i);
}

static void klru_grow(esi_klru_t *l)
{
    size_t oldn = l->mask + 1;
    uint32_t *old = l->slots;
    l->slots = es_xcalloc(oldn * 2, sizeof *l->slots);
    l->mask = oldn * 2 - 1;
    for (size_t i = 0; i < oldn; i++) {
        if (!old[i]) continue;
        size_t j = klru_home(l, l->recs[old[i]].key);
        while (l->slots[j]) j = (j + 1) & l->mask;
        l->slots[j] = old[i];
    }
    free(old);
}

bool esi_klru_add(esi_klru_t *l, uint64_t key, uint64_t *evicted)
{
    size_t i = klru_find(l, key);
    if (l->slots[i]) { esi_klru_touch(l, key); return false; }
    if ((l->n + 1) * 2 > l->mask + 1) { klru_grow(l); i = klru_find(l, key); }
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
    l->slots[i] = r;
    klru_push_front(l, r);
    l->n++;
    if (l->n <= l->limit) return false;
    /* simplelru.Add: the oldest goes once the new key makes one too many */
    *evicted = l->recs[l->tail].key;
    klru_delete_slot(l, klru_find(l, *evicted));
    return true;
}
