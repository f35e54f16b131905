/* KV event batches: vLLM's msgpack layout (live/es_live_kvev.h), decoded
 * back with msgpack-c's unpacker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <msgpack.h>

#include "es_live_kvev.h"

static bool is_str(const msgpack_object *o, const char *s)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) && memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

static void test_batch_layout(void **state)
{
    (void)state;
    /* a chain of 3 stored blocks (the first of its sequence), one more chained
     * elsewhere, two evictions, a clear */
    es_live_kv_event_t ev[] = {
        {{ES_KV_BLOCK_STORED, 0, 11, 5}, 0},  {{ES_KV_BLOCK_STORED, 0, 12, 5}, 11},
        {{ES_KV_BLOCK_STORED, 0, 13, 5}, 12}, {{ES_KV_BLOCK_STORED, 0, 21, 5}, 99},
        {{ES_KV_BLOCK_REMOVED, 0, 7, 5}, 0},  {{ES_KV_BLOCK_REMOVED, 0, 8, 5}, 0},
        {{ES_KV_ALL_CLEARED, 0, 0, 5}, 0},
    };
    es_live_buf_t b = {0};
    es_live_kvev_encode(&b, ev, 7, 1234.5, 4);
    assert_false(b.oom);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, b.data, b.len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, b.len);   /* one object, nothing after it */
    const msgpack_object *top = &u.data;
    assert_int_equal(top->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(top->via.array.size, 3);
    assert_true(top->via.array.ptr[0].type == MSGPACK_OBJECT_FLOAT64 && top->via.array.ptr[0].via.f64 == 1234.5);
    assert_int_equal(top->via.array.ptr[2].via.u64, 0);   /* data_parallel_rank */
    const msgpack_object_array *e = &top->via.array.ptr[1].via.array;
    assert_int_equal(e->size, 5);   /* stored chain, stored, removed, removed, cleared */

    const msgpack_object_array *s0 = &e->ptr[0].via.array;
    assert_int_equal(s0->size, 7);
    assert_true(is_str(&s0->ptr[0], "BlockStored"));
    assert_int_equal(s0->ptr[1].via.array.size, 3);
    assert_int_equal(s0->ptr[1].via.array.ptr[0].via.u64, 11);
    assert_int_equal(s0->ptr[1].via.array.ptr[2].via.u64, 13);
    assert_int_equal(s0->ptr[2].type, MSGPACK_OBJECT_NIL);           /* first block of its sequence */
    assert_int_equal(s0->ptr[3].via.array.size, 12);                 /* 3 blocks x 4 token ids */
    assert_int_equal(s0->ptr[3].via.array.ptr[5].via.u64, es_live_kvev_token_id(12, 1));
    assert_int_equal(s0->ptr[4].via.u64, 4);
    assert_int_equal(s0->ptr[5].type, MSGPACK_OBJECT_NIL);           /* lora_id */
    assert_true(is_str(&s0->ptr[6], "GPU"));

    const msgpack_object_array *s1 = &e->ptr[1].via.array;
    assert_int_equal(s1->ptr[1].via.array.size, 1);
    assert_int_equal(s1->ptr[2].via.u64, 99);                        /* parent given */

    const msgpack_object_array *r0 = &e->ptr[2].via.array, *r1 = &e->ptr[3].via.array;
    assert_true(is_str(&r0->ptr[0], "BlockRemoved") && r0->size == 3 && is_str(&r0->ptr[2], "GPU"));
    assert_int_equal(r0->ptr[1].via.array.ptr[0].via.u64, 7);
    assert_int_equal(r1->ptr[1].via.array.ptr[0].via.u64, 8);
    assert_true(is_str(&e->ptr[4].via.array.ptr[0], "AllBlocksCleared") && e->ptr[4].via.array.size == 1);
    msgpack_unpacked_destroy(&u);
    es_live_buf_free(&b);
}

static void test_token_ids(void **state)
{
    (void)state;
    /* deterministic, per block and position */
    assert_int_equal(es_live_kvev_token_id(42, 3), es_live_kvev_token_id(42, 3));
    assert_int_not_equal(es_live_kvev_token_id(42, 3), es_live_kvev_token_id(42, 4));
    assert_int_not_equal(es_live_kvev_token_id(42, 3), es_live_kvev_token_id(43, 3));
    for (uint32_t j = 0; j < 64; j++) assert_true(es_live_kvev_token_id(7, j) < 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_layout),
        cmocka_unit_test(test_token_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
