/* es_hmap: collisions, wraparound, growth at load 1/2, backward-shift
 * deletion chains, remove_at's followed slot, determinism of the layout, and
 * a long random run against a naive array of (key, value) pairs.  The
 * records are a global array of keys; a slot's val is a record index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "es_hmap.h"
#include "es_rng.h"

#define NREC 4096
static uint64_t g_key[NREC];   /* the records: val -> key */
static size_t g_eq_calls;

static bool rec_eq(const void *ctx, uint32_t val, uint64_t key)
{
    (void)ctx;
    g_eq_calls++;
    return g_key[val] == key;
}

/* record r holds key; puts it */
static es_hmap_slot_t *put(es_hmap_t *m, uint32_t r, uint64_t key)
{
    g_key[r] = key;
    return es_hmap_put(m, key, r, rec_eq, NULL);
}
static es_hmap_slot_t *find(const es_hmap_t *m, uint64_t key) { return es_hmap_find(m, key, rec_eq, NULL); }
static bool del(es_hmap_t *m, uint64_t key, uint32_t *val) { return es_hmap_remove(m, key, val, rec_eq, NULL); }
static uint64_t key_at(const es_hmap_t *m, size_t i) { return g_key[m->slots[i].val]; }

/* Every live key is reachable from its home without crossing an empty slot,
 * and count is the number of full slots. */
static void check_invariants(const es_hmap_t *m)
{
    size_t full = 0;
    for (size_t i = 0; i <= m->mask; i++) {
        if (!m->slots[i].tag) {
            assert_int_equal(m->slots[i].val, 0);   /* an empty slot is all zeros */
            continue;
        }
        full++;
        assert_int_equal(m->slots[i].tag, es_hmap_tag(key_at(m, i)));
        for (size_t j = es_hmap_home(m, key_at(m, i)); j != i; j = (j + 1) & m->mask) assert_true(m->slots[j].tag);
        assert_ptr_equal(find(m, key_at(m, i)), &m->slots[i]);
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
    assert_null(find(&m, 0));
    es_hmap_fini(&m);
    assert_null(m.slots);
}

static void test_zero_key_and_put(void **state)
{
    (void)state;
    es_hmap_t m;
    es_hmap_init(&m, 4);
    assert_null(find(&m, 0));
    put(&m, 0, 0);   /* 0 is a key like any other, and 0 a value */
    assert_non_null(find(&m, 0));
    assert_int_equal(find(&m, 0)->val, 0);
    put(&m, 1, 0);   /* record 1 has the same key: overwrite, not a second entry */
    assert_int_equal(m.count, 1);
    assert_int_equal(find(&m, 0)->val, 1);
    g_key[2] = 2;
    uint32_t v = 99;
    assert_false(del(&m, 2, &v));
    assert_int_equal(v, 99);
    assert_true(del(&m, 0, &v));
    assert_int_equal(v, 1);
    assert_int_equal(m.count, 0);
    assert_null(find(&m, 0));
    es_hmap_fini(&m);
}

/* eq is asked only on a tag match: a miss in a table of other keys reads no
 * record (a false tag match has odds of 2^-31 a probed slot). */
static void test_eq_only_on_tag_match(void **state)
{
    (void)state;
    es_hmap_t m;
    es_hmap_init(&m, 8);
    for (uint32_t r = 0; r < 8; r++) put(&m, r, r * 7919);
    g_eq_calls = 0;
    for (uint64_t k = 100000; k < 100100; k++) assert_null(find(&m, k));
    assert_int_equal(g_eq_calls, 0);
    for (uint32_t r = 0; r < 8; r++) assert_int_equal(find(&m, r * 7919)->val, r);
    assert_int_equal(g_eq_calls, 8);
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
    for (uint32_t i = 0; i < 5; i++) put(&m, i, k[i]);
    for (int i = 0; i < 5; i++) assert_true(m.slots[3 + i].tag && key_at(&m, 3 + (size_t)i) == k[i]);
    check_invariants(&m);
    assert_true(del(&m, k[0], NULL));
    for (int i = 1; i < 5; i++) assert_true(key_at(&m, 3 + (size_t)i - 1) == k[i]);
    assert_false(m.slots[7].tag);
    /* a middle one: the later ones close the gap */
    assert_true(del(&m, k[2], NULL));
    assert_true(key_at(&m, 3) == k[1] && key_at(&m, 4) == k[3] && key_at(&m, 5) == k[4]);
    assert_false(m.slots[6].tag);
    check_invariants(&m);
    for (int i = 0; i < 5; i++) assert_true((find(&m, k[i]) != NULL) == (i != 0 && i != 2));
    es_hmap_fini(&m);
}

/* A run at the end of the array wraps to slot 0; an entry of another home
 * placed behind the run shifts back only as far as its home allows. */
static void test_wraparound(void **state)
{
    (void)state;
    es_hmap_t m;
    es_hmap_init(&m, 8);   /* 16 slots */
    uint64_t end[3], zero[1];
    keys_with_home(&m, 15, 1, end, 3);
    keys_with_home(&m, 0, 1, zero, 1);
    for (uint32_t i = 0; i < 3; i++) put(&m, i, end[i]);   /* slots 15, 0, 1 */
    put(&m, 3, zero[0]);                                     /* home 0, lands at 2 */
    assert_true(key_at(&m, 15) == end[0] && key_at(&m, 0) == end[1] && key_at(&m, 1) == end[2]);
    assert_true(key_at(&m, 2) == zero[0]);
    check_invariants(&m);
    assert_true(del(&m, end[0], NULL));   /* the run shifts back across the wrap */
    assert_true(key_at(&m, 15) == end[1] && key_at(&m, 0) == end[2] && key_at(&m, 1) == zero[0]);
    assert_false(m.slots[2].tag);
    check_invariants(&m);
    assert_true(del(&m, end[1], NULL));
    assert_true(key_at(&m, 15) == end[2] && key_at(&m, 0) == zero[0]);
    assert_int_equal(find(&m, zero[0])->val, 3);
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
    put(&m, 0, a[0]);
    put(&m, 1, a[1]);
    put(&m, 2, b[0]);
    del(&m, a[1], NULL);   /* hole at 6; b stays at 7 */
    assert_false(m.slots[6].tag);
    assert_true(key_at(&m, 7) == b[0]);
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
    for (uint32_t k = 0; k < 8; k++) put(&m, k, k * 1000003ULL);
    assert_int_equal(es_hmap_cap(&m), 16);   /* full at load 1/2 */
    put(&m, 7, 7 * 1000003ULL);              /* overwrite: no growth */
    assert_int_equal(es_hmap_cap(&m), 16);
    put(&m, 8, 8 * 1000003ULL);
    assert_int_equal(es_hmap_cap(&m), 32);
    for (uint32_t k = 9; k < 1000; k++) put(&m, k, k * 1000003ULL);
    assert_int_equal(m.count, 1000);
    assert_int_equal(es_hmap_cap(&m), 2048);
    for (uint32_t k = 0; k < 1000; k++) assert_int_equal(find(&m, k * 1000003ULL)->val, k);
    check_invariants(&m);
    /* steady state: removing and inserting as many never grows again */
    es_hmap_slot_t *slots = m.slots;
    for (uint32_t k = 0; k < 1000; k++) {
        assert_true(del(&m, k * 1000003ULL, NULL));
        put(&m, 1000 + k, (k + 5000) * 1000003ULL);
    }
    assert_ptr_equal(m.slots, slots);
    check_invariants(&m);
    es_hmap_clear(&m);
    assert_int_equal(m.count, 0);
    assert_null(find(&m, 5000 * 1000003ULL));
    check_invariants(&m);
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
    for (uint32_t i = 0; i < 3; i++) put(&m, i, k[i]);
    size_t at = 11;   /* k[2]'s slot: shifts to 10 */
    es_hmap_remove_at(&m, 9, &at);
    assert_int_equal(at, 10);
    assert_true(key_at(&m, at) == k[2]);
    /* the empty slot ending the run (insertion point of a new key of home 9) */
    uint64_t n[1];
    keys_with_home(&m, 9, k[2] + 1, n, 1);
    g_key[3] = n[0];
    at = es_hmap_probe(&m, n[0], rec_eq, NULL);
    assert_int_equal(at, 11);
    assert_false(m.slots[at].tag);
    es_hmap_remove_at(&m, 9, &at);   /* the run is now 9 only: slot 11's point came earlier */
    assert_int_equal(at, SIZE_MAX);
    at = es_hmap_probe(&m, n[0], rec_eq, NULL);
    assert_int_equal(at, 10);
    assert_int_equal(es_hmap_insert_at(&m, at, n[0], 3), 10);
    /* an unrelated followed slot stays */
    at = 3;
    es_hmap_remove_at(&m, 9, &at);
    assert_int_equal(at, 3);
    check_invariants(&m);
    es_hmap_fini(&m);
}

/* The layout (hence the iteration order) depends on the operations only, and
 * the tag function is pinned: a change to it reorders every iteration. */
static void test_determinism(void **state)
{
    (void)state;
    assert_int_equal(es_hmap_tag(0), 1);
    assert_int_equal(es_hmap_tag(1), 0x7fb5d327u);
    assert_int_equal(es_hmap_tag(0xdeadbeefULL), 0x521d2e09u);
    es_hmap_t a, b;
    es_hmap_init(&a, 8);
    es_hmap_init(&b, 8);
    for (uint32_t k = 0; k < 300; k++) g_key[k] = k;
    es_rng_t r;
    es_rng_seed(&r, 7);
    for (int i = 0; i < 5000; i++) {
        uint32_t k = (uint32_t)(es_rng_u64(&r) % 300);
        if (es_rng_u64(&r) & 1) {
            es_hmap_put(&a, k, k, rec_eq, NULL);
            es_hmap_put(&b, k, k, rec_eq, NULL);
        } else {
            del(&a, k, NULL);
            del(&b, k, NULL);
        }
    }
    assert_int_equal(a.mask, b.mask);
    assert_memory_equal(a.slots, b.slots, es_hmap_cap(&a) * sizeof *a.slots);
    es_hmap_fini(&a);
    es_hmap_fini(&b);
}

/* A long random run over a small key space (many collisions, many chains)
 * against a naive array; record k always holds key g_key[k]. */
#define NAIVE_KEYS 512
static void test_random_against_naive(void **state)
{
    (void)state;
    bool in[NAIVE_KEYS] = {false};
    size_t n = 0;
    es_rng_t r;
    es_rng_seed(&r, 1);
    for (size_t i = 0; i < NAIVE_KEYS; i++)   /* 0, sequential, high-bit-only and random keys */
        g_key[i] = i < 128 ? i : i < 256 ? (uint64_t)i << 48 : es_rng_u64(&r);
    es_hmap_t m;
    es_hmap_init(&m, 0);
    for (int step = 0; step < 200000; step++) {
        uint32_t k = (uint32_t)(es_rng_u64(&r) % NAIVE_KEYS);
        uint64_t op = es_rng_u64(&r) % 8;
        if (op < 3) {
            es_hmap_put(&m, g_key[k], k, rec_eq, NULL);
            if (!in[k]) n++;
            in[k] = true;
        } else if (op < 4) {
            size_t i = es_hmap_probe(&m, g_key[k], rec_eq, NULL);
            assert_int_equal(m.slots[i].tag != 0, in[k]);
            if (!in[k]) {
                i = es_hmap_insert_at(&m, i, g_key[k], k);
                assert_int_equal(m.slots[i].val, k);
                in[k] = true;
                n++;
            }
        } else if (op < 7) {
            uint32_t v = UINT32_MAX;
            assert_int_equal(del(&m, g_key[k], &v), in[k]);
            if (in[k]) { assert_int_equal(v, k); n--; }
            in[k] = false;
        } else {
            const es_hmap_slot_t *s = find(&m, g_key[k]);
            assert_int_equal(s != NULL, in[k]);
            if (s) assert_int_equal(s->val, k);
        }
        assert_int_equal(m.count, n);
        if (step % 997 == 0) check_invariants(&m);
    }
    for (size_t k = 0; k < NAIVE_KEYS; k++) assert_int_equal(find(&m, g_key[k]) != NULL, in[k]);
    check_invariants(&m);
    es_hmap_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_capacity),
        cmocka_unit_test(test_zero_key_and_put),
        cmocka_unit_test(test_eq_only_on_tag_match),
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
