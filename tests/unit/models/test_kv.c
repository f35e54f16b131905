/* KV block pool: LRU free queue, fresh-prepend, hashes kept until reuse,
 * no-dedup map, usage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "es_kvcache.h"

typedef struct evlog { int stored, removed, cleared; uint64_t last; } evlog_t;

static void on_ev(void *ud, es_kv_event_kind_t kind, uint64_t hash)
{
    evlog_t *l = ud;
    if (kind == ES_KV_BLOCK_STORED) l->stored++;
    if (kind == ES_KV_BLOCK_REMOVED) { l->removed++; l->last = hash; }
    if (kind == ES_KV_ALL_CLEARED) l->cleared++;
}

static void test_lru_order(void **st)
{
    (void)st;
    es_kvcache_t kv;
    evlog_t log = {0};
    assert_int_equal(es_kvcache_init(&kv, 5, true), 0);
    kv.ev = on_ev; kv.ev_ud = &log;
    assert_int_equal(kv.nfree, 4);
    assert_float_equal(es_kvcache_usage(&kv), 0, 1e-12);
    uint32_t b[4];
    for (int i = 0; i < 4; i++) { b[i] = es_kvcache_alloc(&kv); es_kvcache_cache(&kv, b[i], 100 + (uint64_t)i); }
    assert_int_equal(b[0], 1);   /* initial free queue is in id order */
    assert_float_equal(es_kvcache_usage(&kv), 1, 1e-12);
    /* free 2, 0, 3, 1: reuse must follow that order */
    es_kvcache_free(&kv, b[2]); es_kvcache_free(&kv, b[0]); es_kvcache_free(&kv, b[3]); es_kvcache_free(&kv, b[1]);
    assert_int_equal(es_kvcache_lookup(&kv, 102), b[2]);   /* freed blocks still hit */
    /* a hit on a free block takes it out of the queue (touch); freed again, it goes to the tail */
    es_kvcache_touch(&kv, b[0]);
    assert_int_equal(kv.nfree, 3);
    es_kvcache_free(&kv, b[0]);
    uint32_t want[] = {b[2], b[3], b[1], b[0]};
    for (int i = 0; i < 4; i++) {
        uint32_t id = es_kvcache_alloc(&kv);
        assert_int_equal(id, want[i]);
        assert_int_equal(log.last, kv.b[id].hash);
    }
    assert_int_equal(log.removed, 4);
    assert_int_equal(es_kvcache_lookup(&kv, 100), ES_KV_NONE);
    es_kvcache_fini(&kv);
}

static void test_fresh_prepend_and_dups(void **st)
{
    (void)st;
    for (int mode = 0; mode < 2; mode++) {
        es_kvcache_t kv;
        assert_int_equal(es_kvcache_init(&kv, 4, mode == 0), 0);
        uint32_t a = es_kvcache_alloc(&kv), b = es_kvcache_alloc(&kv), c = es_kvcache_alloc(&kv);
        es_kvcache_cache(&kv, a, 7);
        es_kvcache_cache(&kv, b, 7);   /* same content computed twice: both kept */
        es_kvcache_free(&kv, a);
        es_kvcache_free(&kv, c);       /* never hashed */
        uint32_t first = es_kvcache_alloc(&kv);
        assert_int_equal(first, mode == 0 ? c : a);   /* fresh_prepend reuses the unhashed block first */
        assert_int_not_equal(es_kvcache_lookup(&kv, 7), ES_KV_NONE);
        es_kvcache_free(&kv, b);
        es_kvcache_free(&kv, first);
        while (kv.nfree) es_kvcache_alloc(&kv);
        assert_int_equal(es_kvcache_lookup(&kv, 7), ES_KV_NONE);
        es_kvcache_fini(&kv);
    }
}

static void test_refcount_and_clear(void **st)
{
    (void)st;
    es_kvcache_t kv;
    evlog_t log = {0};
    assert_int_equal(es_kvcache_init(&kv, 3, true), 0);
    kv.ev = on_ev; kv.ev_ud = &log;
    uint32_t a = es_kvcache_alloc(&kv);
    es_kvcache_cache(&kv, a, 9);
    es_kvcache_touch(&kv, a);      /* shared by a second request */
    es_kvcache_free(&kv, a);
    assert_int_equal(kv.nfree, 1);
    es_kvcache_free(&kv, a);
    assert_int_equal(kv.nfree, 2);
    es_kvcache_clear(&kv);
    assert_int_equal(log.cleared, 1);
    assert_int_equal(es_kvcache_lookup(&kv, 9), ES_KV_NONE);
    es_kvcache_fini(&kv);
}

/* Reference model of the pool, written the plain way (an ordered queue, a
 * scan for lookups): random operations must give the same blocks, hits
 * (single and chained) and events.  Few blocks and few hashes make
 * duplicates, hits on free blocks (ring tombstones) and ring compactions
 * common. */
#define RN 17
typedef struct ref_model {
    uint32_t q[RN], nq;                 /* free queue, head first */
    uint64_t hash[RN], seq[RN], clock;  /* seq 0 = not cached */
    int      ref[RN];
} ref_model_t;

static void rm_free(ref_model_t *m, uint32_t id, bool fresh_prepend)
{
    if (--m->ref[id] > 0) return;
    if (fresh_prepend && !m->seq[id]) {
        for (uint32_t i = m->nq; i > 0; i--) m->q[i] = m->q[i - 1];
        m->q[0] = id;
    } else {
        m->q[m->nq] = id;
    }
    m->nq++;
}

static uint32_t rm_lookup(const ref_model_t *m, uint64_t h)
{
    uint32_t best = ES_KV_NONE;
    for (uint32_t id = 1; id < RN; id++)
        if (m->seq[id] && m->hash[id] == h && (best == ES_KV_NONE || m->seq[id] > m->seq[best])) best = id;
    return best;
}

typedef struct evtrace { uint64_t h[4096]; int kind[4096]; size_t n; } evtrace_t;

static void on_trace(void *ud, es_kv_event_kind_t kind, uint64_t hash)
{
    evtrace_t *t = ud;
    if (t->n < 4096) { t->kind[t->n] = (int)kind; t->h[t->n++] = hash; }
}

static void test_matches_reference_model(void **st)
{
    (void)st;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int mode = 0; mode < 2; mode++) {
        es_kvcache_t kv;
        assert_int_equal(es_kvcache_init(&kv, RN, mode == 0), 0);
        ref_model_t m = {.nq = 0, .clock = 0};
        for (uint32_t i = 1; i < RN; i++) m.q[m.nq++] = i;
        m.ref[0] = 1;
        uint32_t held[64];
        size_t nheld = 0;
        for (int step = 0; step < 200000; step++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            uint64_t h = 1000 + (x >> 40) % 24;   /* few distinct hashes: duplicates */
            evtrace_t ta = {.n = 0}, tb = {.n = 0};
            kv.ev = on_trace; kv.ev_ud = &ta;
            switch ((x >> 8) % 16) {
            case 0: {           /* allocate a batch or one block */
                uint32_t want = 1 + (uint32_t)((x >> 20) % 3);
                if (want > kv.nfree || nheld + want > 64) break;
                uint32_t out[3];
                if (want == 1) out[0] = es_kvcache_alloc(&kv); else es_kvcache_alloc_n(&kv, out, want);
                for (uint32_t i = 0; i < want; i++) {
                    uint32_t id = m.q[0];
                    for (uint32_t k = 1; k < m.nq; k++) m.q[k - 1] = m.q[k];
                    m.nq--;
                    if (m.seq[id]) { tb.kind[tb.n] = ES_KV_BLOCK_REMOVED; tb.h[tb.n++] = m.hash[id]; }
                    m.seq[id] = 0;
                    m.ref[id] = 1;
                    assert_int_equal(out[i], id);
                    held[nheld++] = id;
                }
                break;
            }
            case 1: {           /* hash a held block (possibly a duplicate) */
                if (!nheld) break;
                uint32_t id = held[(x >> 24) % nheld];
                es_kvcache_cache_n(&kv, &id, &h, 1);
                if (!m.seq[id]) {
                    m.seq[id] = ++m.clock; m.hash[id] = h;
                    tb.kind[tb.n] = ES_KV_BLOCK_STORED; tb.h[tb.n++] = h;
                }
                break;
            }
            case 2: case 3: case 4: case 5: case 6: case 7: {   /* prefix hit: touch the newest copy */
                uint64_t chain[4];   /* leading hits of a chain, as lookups one by one */
                uint32_t got[4], nchain = 1 + (uint32_t)((x >> 44) % 4), want = 0;
                for (uint32_t i = 0; i < nchain; i++) chain[i] = 1000 + (x >> (20 + 5 * i)) % 24;
                uint32_t nhit = es_kvcache_match(&kv, chain, nchain, got);
                while (want < nchain && rm_lookup(&m, chain[want]) != ES_KV_NONE) want++;
                assert_int_equal(nhit, want);
                for (uint32_t i = 0; i < nhit; i++) assert_int_equal(got[i], rm_lookup(&m, chain[i]));
                uint32_t id = es_kvcache_lookup(&kv, h);
                assert_int_equal(id, rm_lookup(&m, h));
                if (id == ES_KV_NONE || nheld == 64) break;
                es_kvcache_touch(&kv, id);
                if (m.ref[id]++ == 0) {
                    uint32_t k = 0;
                    while (m.q[k] != id) k++;
                    for (; k + 1 < m.nq; k++) m.q[k] = m.q[k + 1];
                    m.nq--;
                }
                held[nheld++] = id;
                break;
            }
            default: {          /* free a few held references, last first */
                uint32_t cnt = 1 + (uint32_t)((x >> 28) % 3);
                if (cnt > nheld) cnt = (uint32_t)nheld;
                es_kvcache_free_rev(&kv, &held[nheld - cnt], cnt);
                for (uint32_t i = cnt; i-- > 0;) rm_free(&m, held[nheld - cnt + i], mode == 0);
                nheld -= cnt;
                if (nheld == 0 && (x >> 40) % 256 == 0) {
                    es_kvcache_clear(&kv);
                    for (uint32_t id = 0; id < RN; id++) m.seq[id] = 0;
                    tb.kind[tb.n] = ES_KV_ALL_CLEARED; tb.h[tb.n++] = 0;
                }
                break;
            }
            }
            assert_int_equal(kv.nfree, m.nq);
            assert_int_equal(ta.n, tb.n);
            for (size_t i = 0; i < ta.n; i++) {
                assert_int_equal(ta.kind[i], tb.kind[i]);
                assert_int_equal(ta.h[i], tb.h[i]);
            }
        }
        es_kvcache_fini(&kv);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_order),
        cmocka_unit_test(test_fresh_prepend_and_dups),
        cmocka_unit_test(test_refcount_and_clear),
        cmocka_unit_test(test_matches_reference_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
