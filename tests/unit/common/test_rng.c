/* Known-answer vectors of the random streams.  Every result of eppsim is a
 * function of these numbers: a change here moves every output, so these
 * tests fail on any change to splitmix64, xoshiro256++, the per-entity
 * derivation, the entity kinds, purposes or the EPP replica seeds.  The
 * splitmix64 and xoshiro256++ values are the published reference outputs
 * (Vigna's splitmix64.c from state 0; xoshiro256plusplus.c from {1,2,3,4}). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "es_rng.h"

static void test_splitmix64_reference(void **state)
{
    (void)state;
    uint64_t x = 0;
    assert_true(es_splitmix64(&x) == 0xe220a8397b1dcdafULL);
    assert_true(es_splitmix64(&x) == 0x6e789e6aa1b965f4ULL);
    assert_true(es_splitmix64(&x) == 0x06c45d188009454fULL);
    assert_true(es_mix64(0) == 0);
    assert_true(es_mix64(1) == 0x5692161d100b05e5ULL);
}

static void test_xoshiro256pp_reference(void **state)
{
    (void)state;
    es_rng_t r = {{1, 2, 3, 4}};
    assert_true(es_rng_u64(&r) == 41943041ULL);
    assert_true(es_rng_u64(&r) == 58720359ULL);
    assert_true(es_rng_u64(&r) == 3588806011781223ULL);
    es_rng_seed(&r, 1);
    assert_true(es_rng_u64(&r) == 0xcfc5d07f6f03c29bULL);
    assert_true(es_rng_u64(&r) == 0xbf424132963fe08dULL);
}

/* (entity kind, id, purpose) at master seed 1: first two outputs. */
static void test_entity_streams(void **state)
{
    (void)state;
    static const struct { uint64_t kind, id, purpose, v0, v1; } k[] = {
        {ES_ENTITY_GATEWAY, 0, ES_STREAM_GATEWAY, 0x4e83363f35827280ULL, 0xfa9f56c1598d6c9eULL},
        {ES_ENTITY_GATEWAY, 1, ES_STREAM_GATEWAY, 0xb0caa95f8bf82913ULL, 0x67096e934b078c6aULL},
        {ES_ENTITY_EPP_REPLICA, 0, ES_STREAM_SCRAPE, 0xab48e5a271e922caULL, 0xd9c359de767e49acULL},
        {ES_ENTITY_EPP_SCHEDULER, 0, ES_STREAM_SCHEDULER, 0x6de80c044bb59dcdULL, 0x91f1bd36e3dabfd3ULL},
        {0x574c00, 0, ES_STREAM_ARRIVALS, 0x0426e83a3019c297ULL, 0x2b6e093116fdbe93ULL},  /* ES_WL_ENTITY_WORKLOAD */
        {0x574c05, 7, ES_STREAM_CONTENT, 0xc69e93f6abab2c4dULL, 0x327302d3a9c830e7ULL},   /* ES_WL_ENTITY_REQUEST */
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        es_rng_t r;
        es_rng_stream(&r, 1, k[i].kind, k[i].id, k[i].purpose);
        assert_true(es_rng_u64(&r) == k[i].v0);
        assert_true(es_rng_u64(&r) == k[i].v1);
    }
    es_rng_t r;
    es_rng_stream(&r, 1, ES_ENTITY_GATEWAY, 0, ES_STREAM_GATEWAY);
    assert_true(es_rng_uniform(&r) == 0.30668963473500255);
    assert_true(es_rng_below(&r, 1000) == 978);
}

/* The seeds decisions.jsonl records and `explain --from-run` replays. */
static void test_epp_replica_seeds(void **state)
{
    (void)state;
    assert_true(es_rng_epp_seed(1, 0) == 0xd4a06f4b9d5b17c3ULL);   /* 15321368302867650499 */
    assert_true(es_rng_epp_seed(1, 1) == 0xe7def39a9876bb46ULL);
    assert_true(es_rng_epp_seed(1, 2) == 0x6d941b55bf6162bfULL);
    assert_true(es_rng_epp_seed(42, 1) == 0x5791c3257d56ba66ULL);
}

/* Values of the determinism contract that must never be renumbered. */
static void test_contract_numbers(void **state)
{
    (void)state;
    assert_int_equal(ES_ENTITY_EPP_REPLICA, 2);
    assert_int_equal(ES_ENTITY_GATEWAY, 3);
    assert_int_equal(ES_ENTITY_EPP_SCHEDULER, 4);
    assert_int_equal(ES_STREAM_SCRAPE, 6);
    assert_int_equal(ES_STREAM_GATEWAY, 9);
    assert_int_equal(ES_STREAM_SCHEDULER, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splitmix64_reference),
        cmocka_unit_test(test_xoshiro256pp_reference),
        cmocka_unit_test(test_entity_streams),
        cmocka_unit_test(test_epp_replica_seeds),
        cmocka_unit_test(test_contract_numbers),
    };
    return cmocka_run_group_tests_name("common_rng", tests, NULL, NULL);
}
