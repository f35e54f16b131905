/* KV block pool: LRU free queue, fresh-prepend, hashes kept until reuse,
 * no-dedup map, usage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "kvcache.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_order),
        cmocka_unit_test(test_fresh_prepend_and_dups),
        cmocka_unit_test(test_refcount_and_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
