/* hmap.c -- es_hmap's allocation (es_hmap.h): init, growth, release. */
#include <stdlib.h>
#include <string.h>

#include "es_alloc.h"
#include "es_hmap.h"

void es_hmap_init(es_hmap_t *m, size_t min_count)
{
    size_t cap = 16;
    while (cap / 2 < min_count) cap *= 2;
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
    for (size_t i = 0; i < on; i++) {   /* keys are distinct: each goes to the first empty slot of its run */
        if (!old[i].full) continue;
        size_t j = es_hmap_home(m, old[i].key);
        while (m->slots[j].full) j = (j + 1) & m->mask;
        m->slots[j] = old[i];
    }
    free(old);
}
