/* Event core: ordering, FIFO ties, cancellation, run limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "es_sim.h"

typedef struct trace {
    es_time_t t[20000];
    uint64_t arg[20000];
    size_t n;
} trace_t;

static void record(es_sim_t *s, void *target, uint64_t arg)
{
    trace_t *tr = target;
    tr->t[tr->n] = es_sim_now(s);
    tr->arg[tr->n++] = arg;
}

static void test_order_and_fifo_ties(void **state)
{
    (void)state;
    es_sim_t *s = es_sim_create(1);
    trace_t *tr = calloc(1, sizeof *tr);
    es_sim_schedule(s, 30, record, tr, 0);
    es_sim_schedule(s, 10, record, tr, 1);
    es_sim_schedule(s, 20, record, tr, 2);
    es_sim_schedule(s, 10, record, tr, 3);
    es_sim_schedule(s, 10, record, tr, 4);
    assert_int_equal(es_sim_run(s, ES_TIME_NEVER), 5);
    uint64_t want[] = {1, 3, 4, 2, 0};
    for (int i = 0; i < 5; i++) assert_int_equal(tr->arg[i], want[i]);
    assert_int_equal(es_sim_now(s), 30);
    free(tr);
    es_sim_destroy(s);
}

typedef struct ref_ev { es_time_t t; uint64_t seq; bool cancelled; es_event_id_t id; } ref_ev_t;

static int ref_cmp(const void *a, const void *b)
{
    const ref_ev_t *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Randomized: many events with colliding times and random cancellations,
 * compared against a stable sort of (time, insertion order). */
static void test_randomized_against_sorted_reference(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        es_rng_t r;
        es_rng_seed(&r, seed);
        es_sim_t *s = es_sim_create(seed);
        trace_t *tr = calloc(1, sizeof *tr);
        size_t n = 5000;
        ref_ev_t *ref = calloc(n, sizeof *ref);
        for (size_t i = 0; i < n; i++) {
            ref[i].t = (es_time_t)es_rng_below(&r, 500);  /* many ties */
            ref[i].seq = i;
            ref[i].id = es_sim_schedule(s, ref[i].t, record, tr, i);
            assert_true(ref[i].id != 0);
        }
        for (size_t i = 0; i < n; i++) {
            if (es_rng_below(&r, 4) == 0) {
                assert_int_equal(es_sim_cancel(s, ref[i].id), 0);
                assert_int_equal(es_sim_cancel(s, ref[i].id), ES_ENOTFOUND);
                ref[i].cancelled = true;
            }
        }
        size_t live = 0;
        for (size_t i = 0; i < n; i++) live += !ref[i].cancelled;
        assert_int_equal(es_sim_pending(s), live);
        qsort(ref, n, sizeof *ref, ref_cmp);
        es_sim_run(s, ES_TIME_NEVER);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (ref[i].cancelled) continue;
            assert_int_equal(tr->arg[k], ref[i].seq);
            assert_int_equal(tr->t[k], ref[i].t);
            k++;
        }
        assert_int_equal(k, tr->n);
        assert_int_equal(es_sim_pending(s), 0);
        free(ref);
        free(tr);
        es_sim_destroy(s);
    }
}

static void rescheduler(es_sim_t *s, void *target, uint64_t arg)
{
    trace_t *tr = target;
    record(s, target, arg);
    if (arg < 100) es_sim_schedule_in(s, 7, rescheduler, tr, arg + 1);
}

static void test_run_until_and_stale_cancel(void **state)
{
    (void)state;
    es_sim_t *s = es_sim_create(1);
    trace_t *tr = calloc(1, sizeof *tr);
    es_sim_schedule(s, 0, rescheduler, tr, 0);
    es_sim_run(s, 70);
    assert_int_equal(tr->n, 11);            /* t = 0, 7, ..., 70 */
    assert_int_equal(es_sim_now(s), 70);
    es_sim_run(s, 75);
    assert_int_equal(es_sim_now(s), 75);    /* clock advances to the limit */
    es_sim_run(s, ES_TIME_NEVER);
    assert_int_equal(tr->n, 101);
    /* a stale id (its slot reused) must not cancel the new event */
    es_event_id_t a = es_sim_schedule(s, 1000, record, tr, 7);
    es_sim_cancel(s, a);
    es_sim_run(s, ES_TIME_NEVER);
    es_event_id_t b = es_sim_schedule(s, 2000, record, tr, 8);
    assert_int_equal(es_sim_cancel(s, a), ES_ENOTFOUND);
    es_sim_run(s, ES_TIME_NEVER);
    assert_int_equal(tr->arg[tr->n - 1], 8);
    (void)b;
    free(tr);
    es_sim_destroy(s);
}

static void stopper(es_sim_t *s, void *target, uint64_t arg)
{
    record(s, target, arg);
    if (arg == 2) es_sim_stop(s);
}

static void test_stop_condition(void **state)
{
    (void)state;
    es_sim_t *s = es_sim_create(1);
    trace_t *tr = calloc(1, sizeof *tr);
    for (uint64_t i = 0; i < 5; i++) es_sim_schedule(s, (es_time_t)i, stopper, tr, i);
    assert_int_equal(es_sim_run(s, ES_TIME_NEVER), 3);
    assert_int_equal(es_sim_now(s), 2);
    assert_int_equal(es_sim_next_time(s), 3);
    es_sim_run(s, ES_TIME_NEVER);
    assert_int_equal(tr->n, 5);
    free(tr);
    es_sim_destroy(s);
}

static void test_pool_reuse_bounded(void **state)
{
    (void)state;
    /* a hold loop keeps memory flat: pending stays 1 for 1e5 events */
    es_sim_t *s = es_sim_create(1);
    trace_t *tr = calloc(1, sizeof *tr);
    es_sim_schedule(s, 0, rescheduler, tr, 0);
    es_sim_run(s, ES_TIME_NEVER);
    assert_int_equal(es_sim_events_run(s), 101);
    free(tr);
    es_sim_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_fifo_ties),
        cmocka_unit_test(test_randomized_against_sorted_reference),
        cmocka_unit_test(test_run_until_and_stale_cancel),
        cmocka_unit_test(test_stop_condition),
        cmocka_unit_test(test_pool_reuse_bounded),
    };
    return cmocka_run_group_tests_name("sim_queue", tests, NULL, NULL);
}
