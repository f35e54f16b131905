/* test_sync.c -- cross-replica sync of in-flight state (dataLayer.
 * crossReplicaSyncerPluginRef, crossReplicaSyncInterval, inflight-load-producer
 * syncCrossReplicaState): the store, the publisher's period, and decisions of
 * two replicas with and without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "es_scheduler.h"
#include "helpers.h"

#define SYNC_CFG(extra) "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n" \
    "- type: active-request-scorer\n- type: max-score-picker\n" extra                            \
    "schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: active-request-scorer\n"    \
    "  - pluginRef: max-score-picker\n"
#define SYNCER "- type: eppsim-shared-syncer\n  name: shared\n"

static const char *k_sync = SYNC_CFG(SYNCER) "dataLayer:\n  crossReplicaSyncerPluginRef: shared\n";

/* upstream interval_dispatcher_test.go TestPeriodTicks (the error case is an
 * assertion here: eppsim's poll interval is positive by validation) */
static void test_period_ticks(void **st)
{
    (void)st;
    const es_time_t base = 50 * ES_MS;
    assert_int_equal(es_sched_sync_period_ticks(0, base), 1);            /* zero interval: every tick */
    assert_int_equal(es_sched_sync_period_ticks(-ES_S, base), 1);        /* negative interval */
    assert_int_equal(es_sched_sync_period_ticks(base, base), 1);         /* equal to base */
    assert_int_equal(es_sched_sync_period_ticks(ES_S, base), 20);        /* 1s is 20 ticks */
    assert_int_equal(es_sched_sync_period_ticks(5 * ES_S, base), 100);   /* 5s is 100 ticks */
    assert_int_equal(es_sched_sync_period_ticks(75 * ES_MS, base), 2);   /* rounds to nearest */
    assert_int_equal(es_sched_sync_period_ticks(130 * ES_MS, base), 3);  /* rounds up */
    assert_int_equal(es_sched_sync_period_ticks(120 * ES_MS, base), 2);  /* rounds down */
    assert_int_equal(es_sched_sync_period_ticks(25 * ES_MS, base), 1);   /* smaller than base clamps to 1 */
}

/* upstream interval_dispatcher_test.go TestIntervalDispatcher: the calls
 * forwarded over a number of ticks (period 0 is upstream's unwrapped
 * dispatcher: every tick, as period 1) */
static void test_interval_dispatcher(void **st)
{
    (void)st;
    static const struct { uint32_t period, ticks, want; } cases[] = {
        {1, 5, 5},   /* period 1 fires every tick */
        {2, 6, 3},   /* period 2 fires every other tick */
        {3, 7, 3},   /* period 3 fires every third tick */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint32_t left = 1, calls = 0;
        for (uint32_t i = 0; i < cases[k].ticks; i++) calls += es_sched_sync_tick(&left, cases[k].period);
        assert_int_equal(calls, cases[k].want);
    }
    uint32_t left = 1, calls = 0;   /* period 0 returns unwrapped: 4 of 4 */
    for (int i = 0; i < 4; i++) calls += es_sched_sync_tick(&left, es_sched_sync_period_ticks(0, 50 * ES_MS));
    assert_int_equal(calls, 4);
}

static void test_config(void **st)
{
    (void)st;
    es_scheduler_t *s;
    es_err_t err;
    /* no syncer: no sync, the interval warns that it has no effect */
    es_epp_config_t *c = cfg_text(SYNC_CFG("") "dataLayer:\n  crossReplicaSyncInterval: 100ms\n");
    assert_non_null(es_epp_config_warning(c, 0));
    assert_non_null(strstr(es_epp_config_warning(c, 0), "no effect without crossReplicaSyncerPluginRef"));
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    assert_int_equal(es_scheduler_sync_interval(s), 0);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
    /* TestCrossReplicaPublisher_SkipsSyncDisabled: a zero interval falls back to
     * 200ms; _ConfiguredInterval: 500ms kept */
    c = cfg_text(SYNC_CFG(SYNCER) "dataLayer:\n  crossReplicaSyncerPluginRef: shared\n  crossReplicaSyncInterval: 0s\n");
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    assert_int_equal(es_scheduler_sync_interval(s), 200 * ES_MS);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
    c = cfg_text(SYNC_CFG(SYNCER) "dataLayer:\n  crossReplicaSyncerPluginRef: shared\n  crossReplicaSyncInterval: 500ms\n");
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    assert_int_equal(es_scheduler_sync_interval(s), 500 * ES_MS);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
    /* a syncer without an interval: 200ms (cross_replica_publisher.go) */
    c = cfg_text(k_sync);
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    assert_int_equal(es_scheduler_sync_interval(s), 200 * ES_MS);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
    c = cfg_text(SYNC_CFG(SYNCER) "dataLayer:\n  crossReplicaSyncerPluginRef: shared\n  crossReplicaSyncInterval: 1s\n");
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    assert_int_equal(es_scheduler_sync_interval(s), ES_S);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
    /* syncCrossReplicaState false keeps the load local */
    c = cfg_text(SYNC_CFG(SYNCER "- type: inflight-load-producer\n  parameters: {syncCrossReplicaState: false}\n")
                 "dataLayer:\n  crossReplicaSyncerPluginRef: shared\n");
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    assert_int_equal(es_scheduler_sync_interval(s), 0);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
    /* configloader.go: the reference must be a CrossReplicaSyncer */
    cfg_fails(SYNC_CFG("") "dataLayer:\n  crossReplicaSyncerPluginRef: max-score-picker\n",
              "dataLayer.crossReplicaSyncerPluginRef: the plugin max-score-picker is not a fwkdl.CrossReplicaSyncer");
    cfg_fails(SYNC_CFG("") "dataLayer:\n  crossReplicaSyncerPluginRef: nothere\n",
              "the plugin nothere is not a fwkdl.CrossReplicaSyncer");
}

static void test_store(void **st)
{
    (void)st;
    es_sched_sync_t *ss;
    es_err_t err;
    assert_int_equal(es_sched_sync_create(2, 4, &ss, &err), 0);
    es_epp_config_t *c = cfg_text(k_sync);
    es_scheduler_t *a, *b;
    assert_int_equal(es_scheduler_create(c, 1, &a, &err), 0);
    assert_int_equal(es_scheduler_create(c, 2, &b, &err), 0);
    es_scheduler_sync_attach(a, ss, 0);
    es_scheduler_sync_attach(b, ss, 1);
    int64_t r, t;
    es_scheduler_set_inflight(a, 1, 3, 300);
    es_scheduler_set_inflight(b, 1, 2, 50);
    es_sched_sync_get(ss, 1, &r, &t);
    assert_int_equal(r, 0);   /* nothing published yet */
    es_scheduler_sync_publish(a, 1);
    es_sched_sync_get(ss, 1, &r, &t);
    assert_int_equal(r, 3); assert_int_equal(t, 300);
    es_scheduler_sync_publish(b, 1);
    es_sched_sync_get(ss, 1, &r, &t);
    assert_int_equal(r, 5); assert_int_equal(t, 350);   /* Aggregate: the sum over replicas */
    es_scheduler_set_inflight(a, 1, 1, 100);
    es_scheduler_sync_publish(a, 1);                   /* Set replaces the replica's value */
    es_sched_sync_get(ss, 1, &r, &t);
    assert_int_equal(r, 3); assert_int_equal(t, 150);
    es_scheduler_endpoint_removed(b, 1);               /* Delete of b's value at EventDelete */
    es_sched_sync_get(ss, 1, &r, &t);
    assert_int_equal(r, 1); assert_int_equal(t, 100);
    es_sched_sync_get(ss, 9, &r, &t);                  /* beyond the store: a miss */
    assert_int_equal(r, 0);
    es_scheduler_destroy(a);
    es_scheduler_destroy(b);
    es_epp_config_destroy(c);
    es_sched_sync_destroy(ss);
}

/* Replica b has 2 requests on pod2 (its own); replica a 4 on pod1.  Without
 * sync b sends to pod1; synced (a published), b sees pod1 busier and sends
 * to pod2 until b has published its own pod2 load as well. */
static uint32_t pick_b(bool sync, int publish_b)
{
    es_err_t err;
    es_epp_config_t *c = cfg_text(sync ? k_sync : SYNC_CFG(""));
    es_scheduler_t *a, *b;
    es_sched_sync_t *ss = NULL;
    assert_int_equal(es_scheduler_create(c, 1, &a, &err), 0);
    assert_int_equal(es_scheduler_create(c, 2, &b, &err), 0);
    if (sync) {
        assert_int_equal(es_sched_sync_create(2, 4, &ss, &err), 0);
        es_scheduler_sync_attach(a, ss, 0);
        es_scheduler_sync_attach(b, ss, 1);
    }
    pool_t p;
    pool_init(&p, 2, ES_S);
    es_scheduler_set_inflight(a, 0, 4, 400);
    es_scheduler_set_inflight(b, 1, 2, 200);
    for (uint32_t i = 0; i < 2; i++) es_scheduler_sync_publish(a, i);
    for (int i = 0; i < publish_b; i++) es_scheduler_sync_publish(b, (uint32_t)i);
    es_sched_request_t req = text_req(7, "m", "hello");
    es_sched_result_t res = {0};
    assert_int_equal(es_scheduler_pick(b, &req, p.eps, p.n, ES_S, &res), 0);
    assert_int_equal(res.status, 200);
    uint32_t got = p.eps[res.primary].id;
    /* b's own pick counts locally at once, in the store only once published */
    int64_t r, t;
    if (sync) {
        es_sched_sync_get(ss, got, &r, &t);
        int64_t before = got == 0 ? 4 : (publish_b > 1 ? 2 : 0);
        assert_int_equal(r, before);
        es_scheduler_sync_publish(b, got);
        es_sched_sync_get(ss, got, &r, &t);
        assert_int_equal(r, before + 1 + (got == 0 ? 0 : (publish_b > 1 ? 0 : 2)));
    }
    es_scheduler_destroy(a);
    es_scheduler_destroy(b);
    es_epp_config_destroy(c);
    es_sched_sync_destroy(ss);
    return got;
}

static void test_decisions(void **st)
{
    (void)st;
    assert_int_equal(pick_b(false, 0), 0);   /* own view: pod1 idle, pod2 has b's 2 */
    assert_int_equal(pick_b(true, 0), 1);    /* synced: pod1 has a's 4, b's 2 on pod2 not yet published */
    assert_int_equal(pick_b(true, 2), 1);    /* published: 4 vs 2 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_ticks), cmocka_unit_test(test_interval_dispatcher), cmocka_unit_test(test_config), cmocka_unit_test(test_store),
        cmocka_unit_test(test_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
