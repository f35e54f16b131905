/* hmap.c -- es_hmap's allocation (es_hmap.h): init, growth, release. */
#include <stdlib.h>
#include <string.h>

#include "es_alloc.h"
#include "es_err.h"
#include "es_hmap.h"

void es_hmap_init(es_hmap_t *m, size_t min_count)
{
    size_t cap = 16;
    while (cap / 2 < min_count) cap *= 2;
    ES_ASSERT(cap <= (size_t)1 << 31, "es_hmap: more than 2^31 slots (a tag's home has 31 bits)");
    m->slots = es_xcalloc(cap, sizeof *m->slots);
    m->mask = cap - 1;
    m->count = 0;
}

void es_hmap_fini(es_hmap_t *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

void es_hmap_clear(es_hmap_t *m)
{
    memset(m->slots, 0, es_hmap_cap(m) * sizeof *m->slots);
    m->count = 0;
}

void es_hmap_grow(es_hmap_t *m)
{
    size_t on = es_hmap_cap(m);
    es_hmap_slot_t *old = m->slots;
    m->slots = es_xcalloc(on * 2, sizeof *m->slots);
    m->mask = on * 2 - 1;
    ES_ASSERT(on * 2 <= (size_t)1 << 31, "es_hmap: more than 2^31 slots (a tag's home has 31 bits)");
    for (size_t i = 0; i < on; i++) {   /* keys are distinct: each goes to the first empty slot of its run */
        if (!old[i].tag) continue;
        size_t j = es_hmap_tag_home(m, old[i].tag);
        while (m->slots[j].tag) j = (j + 1) & m->mask;
        m->slots[j] = old[i];
    }
    free(old);
}
