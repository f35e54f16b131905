/* The pods' KV-transfer network: a lone transfer takes latency + bytes x 8 /
 * gbps to the nanosecond; concurrent ones share their links max-min fairly
 * (rates checked against progressive filling done by hand); a later arrival
 * slows an earlier one; callbacks may send again; the same sends give the
 * same times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "es_kvlink.h"

#define GBPS 100.0
#define MB   1e6

typedef struct rec {
    es_kvlink_t *l;
    es_sim_t    *sim;
    es_time_t    at[8];
    int          n;
    bool         chain;   /* the first arrival sends 0 -> 1 again */
} rec_t;

static void on_done(void *ud, uint64_t arg, uint64_t id)
{
    rec_t *r = ud;
    (void)id;
    r->at[arg] = es_sim_now(r->sim);
    r->n++;
    if (r->chain && arg == 0) { r->chain = false; es_kvlink_send(r->l, 0, 1, MB, on_done, r, 7); }
}

static void setup(rec_t *r, uint32_t nodes, es_time_t latency)
{
    memset(r, 0, sizeof *r);
    r->sim = es_sim_create(1);
    es_err_t err;
    es_err_clear(&err);
    assert_int_equal(es_kvlink_create(r->sim, nodes, GBPS, latency, &r->l, &err), 0);
}

static void teardown(rec_t *r)
{
    es_kvlink_destroy(r->l);
    es_sim_destroy(r->sim);
}

static es_time_t alone(double bytes) { return (es_time_t)(bytes * 8.0 / (GBPS * 1e9) * 1e9); }

static void test_lone_transfer(void **st)
{
    (void)st;
    rec_t r;
    setup(&r, 4, 50 * ES_US);
    es_kvlink_send(r.l, 0, 1, 3.3 * MB, on_done, &r, 0);
    es_sim_run(r.sim, ES_TIME_NEVER);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.at[0], 50 * ES_US + alone(3.3 * MB));
    teardown(&r);
}

static void test_fair_share(void **st)
{
    (void)st;
    rec_t r;
    setup(&r, 4, 0);
    /* two into one receiver: half each, both done after twice the lone time */
    es_kvlink_send(r.l, 0, 2, MB, on_done, &r, 0);
    es_kvlink_send(r.l, 1, 2, MB, on_done, &r, 1);
    /* disjoint links: full rate */
    es_kvlink_send(r.l, 3, 0, MB, on_done, &r, 2);
    es_sim_run(r.sim, ES_TIME_NEVER);
    assert_int_equal(r.n, 3);
    assert_true(llabs(r.at[0] - 2 * alone(MB)) <= 2 && llabs(r.at[1] - 2 * alone(MB)) <= 2);
    assert_int_equal(r.at[2], alone(MB));
    teardown(&r);
}

static void ev_check_rates(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    rec_t *r = target;
    /* A 0->1, B 0->2, C 0->3 share node 0's send side: a third each; D 4->1
     * gets what A leaves of node 1's receive side, two thirds */
    assert_int_equal(es_kvlink_active(r->l), 4);
    assert_true(fabs(es_kvlink_rate(r->l, 1) - GBPS / 3) < 1e-9);
    assert_true(fabs(es_kvlink_rate(r->l, 2) - GBPS / 3) < 1e-9);
    assert_true(fabs(es_kvlink_rate(r->l, 3) - GBPS / 3) < 1e-9);
    assert_true(fabs(es_kvlink_rate(r->l, 4) - 2 * GBPS / 3) < 1e-9);
    r->n += 100;
}

static void test_max_min(void **st)
{
    (void)st;
    rec_t r;
    setup(&r, 5, 0);
    es_kvlink_send(r.l, 0, 1, MB, on_done, &r, 0);
    es_kvlink_send(r.l, 0, 2, MB, on_done, &r, 1);
    es_kvlink_send(r.l, 0, 3, MB, on_done, &r, 2);
    es_kvlink_send(r.l, 4, 1, 10 * MB, on_done, &r, 3);
    es_sim_schedule(r.sim, 1000, ev_check_rates, &r, 0);
    es_sim_run(r.sim, ES_TIME_NEVER);
    assert_int_equal(r.n, 104);
    /* A, B, C end together at 3 lone times; D moved 2/3 x 3 = 2 MB by then, alone after */
    es_time_t t = 3 * alone(MB);
    for (int i = 0; i < 3; i++) assert_true(llabs(r.at[i] - t) <= 3);
    assert_true(llabs(r.at[3] - (t + alone(8 * MB))) <= 3);
    teardown(&r);
}

static void ev_second(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    rec_t *r = target;
    es_kvlink_send(r->l, 2, 1, MB, on_done, r, 1);
}

static void test_late_arrival_and_chain(void **st)
{
    (void)st;
    rec_t r;
    setup(&r, 3, 0);
    es_time_t T = alone(MB);
    r.chain = true;
    es_kvlink_send(r.l, 0, 1, MB, on_done, &r, 0);
    es_sim_schedule(r.sim, T / 2, ev_second, &r, 0);
    es_sim_run(r.sim, ES_TIME_NEVER);
    /* A alone for T/2, then both at half rate: A ends at 1.5 T; B then has
     * half left, shared with the chained send (0 -> 1): B at 2.5 T, the
     * chained one (half moved by then) at 3 T */
    assert_int_equal(r.n, 3);
    assert_true(llabs(r.at[0] - 3 * T / 2) <= 2);
    assert_true(llabs(r.at[1] - 5 * T / 2) <= 3);
    assert_true(llabs(r.at[7] - 3 * T) <= 3);
    teardown(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lone_transfer),
        cmocka_unit_test(test_fair_share),
        cmocka_unit_test(test_max_min),
        cmocka_unit_test(test_late_arrival_and_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
