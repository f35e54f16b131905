/* es_hmap: collisions, wraparound, growth at load 1/2, backward-shift
 * deletion chains, remove_at's followed slot, determinism of the layout, and
 * a long random run against a naive array of (key, value) pairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "es_hmap.h"
#include "es_rng.h"

/* Every live key is reachable from its home without crossing an empty slot,
 * and count is the number of full slots. */
static void check_invariants(const es_hmap_t *m)
{
    size_t full = 0;
    for (size_t i = 0; i <= m->mask; i++) {
        if (!m->slots[i].full) continue;
        full++;
        for (size_t j = es_hmap_home(m, m->slots[i].key); j != i; j = (j + 1) & m->mask)
            assert_true(m->slots[j].full);
        assert_ptr_equal(es_hmap_find(m, m->slots[i].key), &m->slots[i]);
    }
    assert_int_equal(full, m->count);
    assert_true(m->count * 2 <= es_hmap_cap(m));
}

/* The first n keys (from start) whose home is h in m. */
static void keys_with_home(const es_hmap_t *m, size_t h, uint64_t start, uint64_t *out, size_t n)
{
    for (uint64_t k = start; n > 0; k++)
        if (es_hmap_home(m, k) == h) { *out++ = k; n--; }
}

static void test_init_capacity(void **state)
{
    (void)state;
    es_hmap_t m;
    es_hmap_init(&m, 0);
    assert_int_equal(es_hmap_cap(&m), 16);
    es_hmap_fini(&m);
    es_hmap_init(&m, 8);
    assert_int_equal(es_hmap_cap(&m), 16);
    es_hmap_fini(&m);
    es_hmap_init(&m, 9);
    assert_int_equal(es_hmap_cap(&m), 32);
    assert_int_equal(m.count, 0);
    assert_null(es_hmap_find(&m, 0));
    es_hmap_fini(&m);
    assert_null(m.slots);
}

static void test_zero_key_and_put(void **state)
{
    (void)state;
    es_hmap_t m;
    es_hmap_init(&m, 4);
    assert_null(es_hmap_find(&m, 0));
    es_hmap_put(&m, 0, 7);   /* 0 is a key like any other */
    assert_non_null(es_hmap_find(&m, 0));
    assert_int_equal(es_hmap_find(&m, 0)->val, 7);
    es_hmap_put(&m, 0, 9);   /* overwrite, not a second entry */
    assert_int_equal(m.count, 1);
    assert_int_equal(es_hmap_find(&m, 0)->val, 9);
    uint32_t v = 0;
    assert_false(es_hmap_remove(&m, 1, &v));
    assert_true(es_hmap_remove(&m, 0, &v));
    assert_int_equal(v, 9);
    assert_int_equal(m.count, 0);
    assert_null(es_hmap_find(&m, 0));
    es_hmap_fini(&m);
}

/* Keys of one home fill consecutive slots in insertion order; removing the
 * first shifts the others back one slot each, keeping their order. */
static void test_collisions_and_chain_delete(void **state)
{
    (void)state;
    es_hmap_t m;
    es_hmap_init(&m, 8);   /* 16 slots */
    uint64_t k[5];
    keys_with_home(&m, 3, 1, k, 5);
    for (int i = 0; i < 5; i++) es_hmap_put(&m, k[i], (uint32_t)i);
    for (int i = 0; i < 5; i++) {
        assert_true(m.slots[3 + i].full);
        assert_true(m.slots[3 + i].key == k[i]);
    }
    check_invariants(&m);
    assert_true(es_hmap_remove(&m, k[0], NULL));
    for (int i = 1; i < 5; i++) assert_true(m.slots[3 + i - 1].key == k[i]);
    assert_false(m.slots[7].full);
    /* a middle one: the later ones close the gap */
    assert_true(es_hmap_remove(&m, k[2], NULL));
    assert_true(m.slots[3].key == k[1] && m.slots[4].key == k[3] && m.slots[5].key == k[4]);
    assert_false(m.slots[6].full);
    check_invariants(&m);
    for (int i = 0; i < 5; i++) assert_true((es_hmap_find(&m, k[i]) != NULL) == (i != 0 && i != 2));
    es_hmap_fini(&m);
}

/* A run at the end of the array wraps to slot 0; an entry of another home
 * placed behind the run is shifted only when its home allows. */
static void test_wraparound(void **state)
{
    (void)state;
    es_hmap_t m;
    es_hmap_init(&m, 8);   /* 16 slots */
    uint64_t end[3], zero[1];
    keys_with_home(&m, 15, 1, end, 3);
    keys_with_home(&m, 0, 1, zero, 1);
    for (int i = 0; i < 3; i++) es_hmap_put(&m, end[i], (uint32_t)i);   /* slots 15, 0, 1 */
    es_hmap_put(&m, zero[0], 100);                                       /* home 0, lands at 2 */
    assert_true(m.slots[15].key == end[0] && m.slots[0].key == end[1] && m.slots[1].key == end[2]);
    assert_true(m.slots[2].key == zero[0]);
    check_invariants(&m);
    assert_true(es_hmap_remove(&m, end[0], NULL));   /* the run shifts back across the wrap */
    assert_true(m.slots[15].key == end[1] && m.slots[0].key == end[2] && m.slots[1].key == zero[0]);
    assert_false(m.slots[2].full);
    check_invariants(&m);
    assert_true(es_hmap_remove(&m, end[1], NULL));
    assert_true(m.slots[15].key == end[2] && m.slots[0].key == zero[0]);
    assert_int_equal(es_hmap_find(&m, zero[0])->val, 100);
    check_invariants(&m);
    es_hmap_fini(&m);
}

/* A hole whose follower lives at its own home stays a hole: the follower must
 * not move before its home. */
static void test_delete_keeps_home_order(void **state)
{
    (void)state;
    es_hmap_t m;
    es_hmap_init(&m, 8);
    uint64_t a[2], b[1];
    keys_with_home(&m, 5, 1, a, 2);   /* slots 5, 6 */
    keys_with_home(&m, 7, 1, b, 1);   /* slot 7, its home */
    es_hmap_put(&m, a[0], 0);
    es_hmap_put(&m, a[1], 1);
    es_hmap_put(&m, b[0], 2);
    es_hmap_remove(&m, a[1], NULL);   /* hole at 6; b stays at 7 */
    assert_false(m.slots[6].full);
    assert_true(m.slots[7].key == b[0]);
    check_invariants(&m);
    es_hmap_fini(&m);
}

/* The table never passes load 1/2: it doubles on the insertion that would,
 * and every key and value survives the growth. */
static void test_growth_at_half(void **state)
{
    (void)state;
    es_hmap_t m;
    es_hmap_init(&m, 8);
    for (uint64_t k = 0; k < 8; k++) es_hmap_put(&m, k * 1000003, (uint32_t)k);
    assert_int_equal(es_hmap_cap(&m), 16);   /* full at load 1/2 */
    es_hmap_put(&m, 7 * 1000003, 70);        /* overwrite: no growth */
    assert_int_equal(es_hmap_cap(&m), 16);
    es_hmap_put(&m, 8 * 1000003, 8);
    assert_int_equal(es_hmap_cap(&m), 32);
    for (uint64_t k = 9; k < 1000; k++) es_hmap_put(&m, k * 1000003, (uint32_t)k);
    assert_int_equal(m.count, 1000);
    assert_int_equal(es_hmap_cap(&m), 2048);
    for (uint64_t k = 0; k < 1000; k++)
        assert_int_equal(es_hmap_find(&m, k * 1000003)->val, k == 7 ? 70 : (uint32_t)k);
    check_invariants(&m);
    /* steady state: removing and inserting as many never grows again */
    es_hmap_slot_t *slots = m.slots;
    for (uint64_t k = 0; k < 1000; k++) {
        assert_true(es_hmap_remove(&m, k * 1000003, NULL));
        es_hmap_put(&m, (k + 5000) * 1000003, (uint32_t)k);
    }
    assert_ptr_equal(m.slots, slots);
    check_invariants(&m);
    es_hmap_clear(&m);
    assert_int_equal(m.count, 0);
    assert_null(es_hmap_find(&m, 5000 * 1000003ULL));
    es_hmap_fini(&m);
}

/* remove_at moves the followed entry with the shift, and reports an
 * insertion point that the shift consumed. */
static void test_remove_at_follow(void **state)
{
    (void)state;
    es_hmap_t m;
    es_hmap_init(&m, 8);
    uint64_t k[3];
    keys_with_home(&m, 9, 1, k, 3);   /* slots 9, 10, 11 */
    for (int i = 0; i < 3; i++) es_hmap_put(&m, k[i], (uint32_t)i);
    size_t at = 11;   /* k[2]'s slot: shifts to 10 */
    es_hmap_remove_at(&m, 9, &at);
    assert_int_equal(at, 10);
    assert_true(m.slots[at].key == k[2]);
    /* the empty slot ending the run (insertion point of a new key of home 9) */
    uint64_t n[1];
    keys_with_home(&m, 9, k[2] + 1, n, 1);
    at = es_hmap_probe(&m, n[0]);
    assert_int_equal(at, 11);
    assert_false(m.slots[at].full);
    es_hmap_remove_at(&m, 9, &at);   /* the run is now 9 only: slot 11's point came earlier */
    assert_int_equal(at, SIZE_MAX);
    at = es_hmap_probe(&m, n[0]);
    assert_int_equal(at, 10);
    assert_int_equal(es_hmap_insert_at(&m, at, n[0], 42), 10);
    /* an unrelated followed slot stays */
    at = 3;
    es_hmap_remove_at(&m, 9, &at);
    assert_int_equal(at, 3);
    check_invariants(&m);
    es_hmap_fini(&m);
}

/* The layout (hence the iteration order) depends on the operations only, and
 * the home function is pinned: a change to it reorders every iteration. */
static void test_determinism(void **state)
{
    (void)state;
    es_hmap_t a, b;
    es_hmap_init(&a, 8);
    es_hmap_init(&b, 8);
    assert_int_equal(es_hmap_home(&a, 0), 0);
    es_hmap_t big = {.mask = (1ULL << 40) - 1};
    assert_true(es_hmap_home(&big, 1) == 0x26fb81178dULL);
    assert_true(es_hmap_home(&big, 0xdeadbeefULL) == 0x8c8e331f5ULL);
    es_rng_t r;
    es_rng_seed(&r, 7);
    for (int i = 0; i < 5000; i++) {
        uint64_t k = es_rng_u64(&r) % 300;
        if (es_rng_u64(&r) & 1) {
            es_hmap_put(&a, k, (uint32_t)i);
            es_hmap_put(&b, k, (uint32_t)i);
        } else {
            es_hmap_remove(&a, k, NULL);
            es_hmap_remove(&b, k, NULL);
        }
    }
    assert_int_equal(a.mask, b.mask);
    for (size_t i = 0; i <= a.mask; i++) {
        assert_int_equal(a.slots[i].full, b.slots[i].full);
        if (a.slots[i].full) assert_true(a.slots[i].key == b.slots[i].key && a.slots[i].val == b.slots[i].val);
    }
    es_hmap_fini(&a);
    es_hmap_fini(&b);
}

/* A long random run over a small key space (many collisions, many chains)
 * against a naive array. */
#define NAIVE_KEYS 512
static void test_random_against_naive(void **state)
{
    (void)state;
    uint64_t keys[NAIVE_KEYS];
    uint32_t vals[NAIVE_KEYS];
    bool in[NAIVE_KEYS] = {false};
    size_t n = 0;
    es_rng_t r;
    es_rng_seed(&r, 1);
    for (size_t i = 0; i < NAIVE_KEYS; i++)   /* 0, sequential, high-bit-only and random keys */
        keys[i] = i < 128 ? i : i < 256 ? (uint64_t)i << 48 : es_rng_u64(&r);
    es_hmap_t m;
    es_hmap_init(&m, 0);
    for (int step = 0; step < 200000; step++) {
        size_t k = es_rng_u64(&r) % NAIVE_KEYS;
        uint64_t op = es_rng_u64(&r) % 8;
        if (op < 3) {
            uint32_t v = (uint32_t)es_rng_u64(&r);
            es_hmap_put(&m, keys[k], v);
            if (!in[k]) n++;
            in[k] = true;
            vals[k] = v;
        } else if (op < 4) {
            size_t i = es_hmap_probe(&m, keys[k]);
            assert_int_equal(m.slots[i].full != 0, in[k]);
            if (!in[k]) {
                i = es_hmap_insert_at(&m, i, keys[k], 5);
                assert_true(m.slots[i].key == keys[k]);
                in[k] = true;
                vals[k] = 5;
                n++;
            }
        } else if (op < 7) {
            uint32_t v = 0;
            assert_int_equal(es_hmap_remove(&m, keys[k], &v), in[k]);
            if (in[k]) { assert_int_equal(v, vals[k]); n--; }
            in[k] = false;
        } else {
            const es_hmap_slot_t *s = es_hmap_find(&m, keys[k]);
            assert_int_equal(s != NULL, in[k]);
            if (s) assert_int_equal(s->val, vals[k]);
        }
        assert_int_equal(m.count, n);
        if (step % 997 == 0) check_invariants(&m);
    }
    for (size_t k = 0; k < NAIVE_KEYS; k++) assert_int_equal(es_hmap_find(&m, keys[k]) != NULL, in[k]);
    check_invariants(&m);
    es_hmap_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_capacity),
        cmocka_unit_test(test_zero_key_and_put),
        cmocka_unit_test(test_collisions_and_chain_delete),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_delete_keeps_home_order),
        cmocka_unit_test(test_growth_at_half),
        cmocka_unit_test(test_remove_at_follow),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_random_against_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
