/* eppsim gateway's KV event subscriber: a batch as `eppsim serve` publishes
 * it decodes back to the same block events; malformed payloads and
 * allocation bombs are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "es_live_gw.h"
#include "es_live_kvev.h"

typedef struct got { es_kv_event_t ev[16]; int n; } got_t;

static void collect(void *ud, const es_kv_event_t *ev)
{
    got_t *g = ud;
    if (g->n < 16) g->ev[g->n] = *ev;
    g->n++;
}

static void test_round_trip(void **state)
{
    (void)state;
    es_live_kv_event_t ev[] = {
        {{ES_KV_BLOCK_STORED, 0, 11, 5}, 0},  {{ES_KV_BLOCK_STORED, 0, 12, 5}, 11},
        {{ES_KV_BLOCK_STORED, 0, 0xfedcba9876543210ull, 5}, 12}, {{ES_KV_BLOCK_STORED, 0, 21, 5}, 99},
        {{ES_KV_BLOCK_REMOVED, 0, 7, 5}, 0},  {{ES_KV_ALL_CLEARED, 0, 0, 5}, 0},
    };
    es_live_buf_t b = {0};
    es_live_kvev_encode(&b, ev, 6, 1234.5, 16);
    got_t g = {0};
    assert_int_equal(es_live_kv_decode(b.data, b.len, 3, 777, collect, &g), 6);
    assert_int_equal(g.n, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(g.ev[i].kind, ev[i].ev.kind);
        assert_true(g.ev[i].block_hash == ev[i].ev.block_hash);   /* 64-bit hashes exact */
        assert_int_equal(g.ev[i].endpoint, 3);                    /* the subscriber's pod */
        assert_int_equal(g.ev[i].time, 777);
    }
    es_live_buf_free(&b);
}

static void test_refused(void **state)
{
    (void)state;
    got_t g = {0};
    /* not msgpack, a bare integer, a batch without events, truncated */
    assert_int_equal(es_live_kv_decode("\xc1", 1, 0, 0, collect, &g), -1);
    assert_int_equal(es_live_kv_decode("\x05", 1, 0, 0, collect, &g), -1);
    assert_int_equal(es_live_kv_decode("\x92\xcb\0\0\0\0\0\0\0\0\x05", 11, 0, 0, collect, &g), -1);
    assert_int_equal(es_live_kv_decode("\x93\xcb\0\0", 4, 0, 0, collect, &g), -1);
    /* an array32 header declaring 2^32-1 elements in 5 bytes: refused before
     * the unpacker allocates for them */
    assert_int_equal(es_live_kv_decode("\x92\x00\xdd\xff\xff\xff\xff", 7, 0, 0, collect, &g), -1);
    /* unknown tags and byte-string hashes are skipped, the rest delivered:
     * [0, [["Other"], ["BlockRemoved", [bin "ab", 9]]]] */
    const char ok[] = "\x92\x00\x92\x91\xa5" "Other\x92\xac" "BlockRemoved\x92\xc4\x02" "ab\x09";
    assert_int_equal(es_live_kv_decode(ok, sizeof ok - 1, 1, 0, collect, &g), 1);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.ev[0].kind, ES_KV_BLOCK_REMOVED);
    assert_int_equal(g.ev[0].block_hash, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_round_trip), cmocka_unit_test(test_refused)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
