/* The decision pipeline: admission, in-flight hooks, P/D, flow control, determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "helpers.h"

static es_scheduler_t *mk(const char *text, es_epp_config_t **cfg, uint64_t seed)
{
    *cfg = text ? cfg_text(text) : NULL;
    es_err_t err;
    if (!text) assert_int_equal(es_epp_config_default(cfg, &err), 0);
    es_scheduler_t *s;
    assert_int_equal(es_scheduler_create(*cfg, seed, &s, &err), 0);
    return s;
}

static void test_sheddable_429(void **st)
{
    (void)st;
    es_epp_config_t *cfg;
    es_scheduler_t *s = mk(NULL, &cfg, 1);
    pool_t p;
    pool_init(&p, 2, 0);
    for (int i = 0; i < 2; i++) p.eps[i].metrics.waiting = 6;   /* 6/5 >= 1 */
    es_sched_request_t r = text_req(1, "m", "hello");
    r.priority = -1;
    es_sched_result_t res = {0};
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.status, 429);
    assert_string_equal(res.reason, "system saturated, sheddable request dropped");
    r.priority = 0;   /* non-sheddable always admitted */
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.status, 200);
    p.eps[0].metrics.waiting = 0;   /* mean (0 + 1.2) / 2 < 1 */
    r.priority = -1; r.id = 2;
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.status, 200);
    /* all filtered out: 429 failed to find target endpoint */
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
    s = mk(CFG_HEAD "plugins:\n- type: prefill-filter\n- type: queue-scorer\n", &cfg, 1);
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.status, 429);
    assert_string_equal(res.reason, "failed to find target endpoint");
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

static void test_inflight_hooks(void **st)
{
    (void)st;
    es_epp_config_t *cfg;
    es_scheduler_t *s = mk(NULL, &cfg, 1);
    pool_t p;
    pool_init(&p, 2, 0);
    es_sched_request_t r = text_req(5, "m", NULL);
    es_segment_t seg = {77, 100};
    r.content.segs = &seg; r.content.nsegs = 1; r.content.tokens = 100;
    es_sched_result_t res = {0};
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    int64_t q, t;
    es_scheduler_get_inflight(s, res.primary, &q, &t);
    assert_int_equal(q, 1);
    /* v0.10 inflight-load-producer: the uncached input, in whole blocks of the
     * approximate producer (100 tokens = 2 blocks of 64, the partial one
     * included, as upstream's estimateRequestTokens), no output estimate */
    assert_int_equal(t, 128);
    es_scheduler_on_first_chunk(s, 5, 1);   /* releaseTokensEarly: the tokens go, the request stays */
    es_scheduler_get_inflight(s, res.primary, &q, &t);
    assert_int_equal(q, 1);
    assert_int_equal(t, 0);
    es_scheduler_on_end(s, 5, 2);
    es_scheduler_get_inflight(s, res.primary, &q, &t);
    assert_int_equal(q, 0);
    assert_int_equal(t, 0);
    es_scheduler_on_end(s, 5, 3);   /* unknown now: ignored */
    /* many concurrent requests, then endpoint removal clears the counters */
    for (uint64_t i = 100; i < 3100; i++) { r.id = i; es_scheduler_pick(s, &r, p.eps, p.n, 0, &res); }
    int64_t q0, q1;
    es_scheduler_get_inflight(s, 0, &q0, &t);
    es_scheduler_get_inflight(s, 1, &q1, &t);
    assert_int_equal(q0 + q1, 3000);
    es_scheduler_endpoint_removed(s, 0);
    es_scheduler_get_inflight(s, 0, &q0, &t);
    assert_int_equal(q0, 0);
    for (uint64_t i = 100; i < 3100; i++) es_scheduler_on_end(s, i, 4);
    es_scheduler_get_inflight(s, 1, &q1, &t);
    assert_int_equal(q1, 0);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

static const char k_pd[] = CFG_HEAD
    "plugins:\n- type: prefix-cache-scorer\n- type: queue-scorer\n- type: prefill-filter\n- type: decode-filter\n"
    "- type: max-score-picker\n- type: %s\n  parameters: {%s}\n"
    "- type: disagg-profile-handler\n  parameters: {deciders: {prefill: %s}}\n"
    "schedulingProfiles:\n"
    "- name: prefill\n  plugins: [{pluginRef: prefill-filter}, {pluginRef: prefix-cache-scorer, weight: 2}, {pluginRef: queue-scorer}]\n"
    "- name: decode\n  plugins: [{pluginRef: decode-filter}, {pluginRef: prefix-cache-scorer, weight: 2}, {pluginRef: queue-scorer}]\n";

static void test_disagg(void **st)
{
    (void)st;
    char text[2048];
    snprintf(text, sizeof text, k_pd, "always-disagg-pd-decider", "", "always-disagg-pd-decider");
    es_epp_config_t *cfg;
    es_scheduler_t *s = mk(text, &cfg, 1);
    pool_t p;
    pool_init(&p, 4, 0);
    pool_role(&p, 0, "prefill"); pool_role(&p, 1, "prefill"); pool_role(&p, 2, "decode");   /* pod4 unlabeled: decode */
    es_sched_request_t r = text_req(1, "m", "some prompt text that is long enough for a few blocks of 64 chars..........");
    es_sched_result_t res = {0};
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.status, 200);
    assert_true(res.primary == 2 || res.primary == 3);
    assert_true(res.prefill == 0 || res.prefill == 1);
    int64_t q, t;
    es_scheduler_on_first_chunk(s, 1, 1);   /* releases the prefill pod */
    es_scheduler_get_inflight(s, (uint32_t)res.prefill, &q, &t);
    assert_int_equal(q, 0);
    es_scheduler_get_inflight(s, res.primary, &q, &t);
    assert_int_equal(q, 1);
    es_scheduler_on_end(s, 1, 2);
    es_scheduler_get_inflight(s, res.primary, &q, &t);
    assert_int_equal(q, 0);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);

    /* prefix-based decider: 16 uncached tokens needed.  A prompt of 40 chars = 10 tokens: no P/D */
    snprintf(text, sizeof text, k_pd, "prefix-based-pd-decider", "nonCachedTokens: 16", "prefix-based-pd-decider");
    s = mk(text, &cfg, 1);
    r = text_req(2, "m", "0123456789012345678901234567890123456789");
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.prefill, -1);
    /* 400 chars = 100 tokens, cold: P/D */
    static char longp[401];
    memset(longp, 'x', 400);
    r = text_req(3, "m", longp);
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_true(res.prefill >= 0);
    uint32_t dec = res.primary;
    /* same prompt again: the decode pod now matches every block, 100 - 112 < 16: no P/D */
    r.id = 4;
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.primary, dec);
    assert_int_equal(res.prefill, -1);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

/* token-mode content: a shared prefix brings requests back to the same pod */
static void test_prefix_affinity_tokens(void **st)
{
    (void)st;
    es_epp_config_t *cfg;
    es_scheduler_t *s = mk(NULL, &cfg, 3);
    pool_t p;
    pool_init(&p, 8, 0);
    es_segment_t segs[2] = {{1000, 1500}, {0, 500}};
    es_sched_request_t r = text_req(1, "m", NULL);
    r.content.segs = segs; r.content.nsegs = 2; r.content.tokens = 2000;
    es_sched_result_t res = {0};
    segs[1].id = 1;
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    uint32_t first = res.primary;
    assert_int_equal(res.est_prefix_blocks, 0);
    assert_true(res.est_total_blocks >= 28 && res.est_total_blocks <= 36);   /* ~8000 chars / 256 (64-token floor) */
    for (uint64_t i = 2; i < 10; i++) {
        segs[1].id = i;   /* same system prompt, different question */
        r.id = i;
        assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
        assert_int_equal(res.primary, first);
        assert_true(res.est_prefix_blocks >= 21 && res.est_prefix_blocks < res.est_total_blocks);   /* ~6000 / 256 */
    }
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

static void test_seed_determinism(void **st)
{
    (void)st;
    uint32_t seq[2][200];
    for (int k = 0; k < 2; k++) {
        es_epp_config_t *cfg;
        es_scheduler_t *s = mk(CFG_HEAD "plugins:\n- type: random-picker\n", &cfg, 99);
        pool_t p;
        pool_init(&p, 16, 0);
        for (int i = 0; i < 200; i++) {
            es_sched_request_t r = text_req((uint64_t)i, "m", "");
            es_sched_result_t res = {0};
            es_scheduler_pick(s, &r, p.eps, p.n, 0, &res);
            seq[k][i] = res.primary;
        }
        es_scheduler_destroy(s);
        es_epp_config_destroy(cfg);
    }
    assert_memory_equal(seq[0], seq[1], sizeof seq[0]);
}

/* es_scheduler_reseed: after any history, a decision reseeded with X picks
 * what a fresh scheduler created with seed X picks (the live gateway's replay) */
static void test_reseed_replays(void **st)
{
    (void)st;
    es_epp_config_t *cfg;
    es_scheduler_t *s = mk(CFG_HEAD "plugins:\n- type: random-picker\n", &cfg, 1);
    pool_t p;
    pool_init(&p, 16, 0);
    uint32_t seen = 0;
    for (int i = 0; i < 100; i++) {
        es_sched_request_t r = text_req((uint64_t)i, "m", "");
        es_sched_result_t a = {0}, b = {0};
        es_scheduler_pick(s, &r, p.eps, p.n, 0, &a);   /* moves the stream */
        uint64_t seed = 1000u + (uint64_t)i;
        es_scheduler_reseed(s, seed);
        es_scheduler_pick(s, &r, p.eps, p.n, 0, &a);
        es_scheduler_t *fresh;
        es_err_t err;
        assert_int_equal(es_scheduler_create(cfg, seed, &fresh, &err), 0);
        es_scheduler_pick(fresh, &r, p.eps, p.n, 0, &b);
        assert_int_equal(a.primary, b.primary);
        seen |= 1u << a.primary;
        es_scheduler_destroy(fresh);
    }
    assert_true((seen & (seen - 1)) != 0);   /* the picks vary: the seed matters */
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

typedef struct got { uint64_t ids[64]; int status[64]; int n; } got_t;

static void on_out(void *ud, const es_sched_request_t *req, const es_sched_result_t *res)
{
    got_t *g = ud;
    g->ids[g->n] = req->id;
    g->status[g->n++] = res->status;
}

static void test_flow_control(void **st)
{
    (void)st;
    es_epp_config_t *cfg;
    es_scheduler_t *s = mk(CFG_HEAD "featureGates: [flowControl]\nplugins:\n- type: queue-scorer\n"
                           "flowControl:\n  maxRequests: 4\n  defaultRequestTTL: 10s\n", &cfg, 1);
    pool_t p;
    pool_init(&p, 2, 0);
    for (int i = 0; i < 2; i++) p.eps[i].metrics.waiting = 10;   /* saturated */
    es_sched_request_t rq[6];
    int prio[] = {0, 5, -1, 5, 0, 0};
    es_sched_result_t res = {0};
    for (int i = 0; i < 5; i++) {
        rq[i] = text_req((uint64_t)i + 1, "m", "x");
        rq[i].priority = prio[i];
        assert_int_equal(es_scheduler_submit(s, &rq[i], p.eps, p.n, 0, &res), 0);
        assert_int_equal(res.status, i < 4 ? ES_SCHED_QUEUED : 429);   /* capacity: 4 requests */
    }
    assert_int_equal(es_scheduler_flow_queued(s), 4);
    got_t g = {0};
    assert_int_equal(es_scheduler_flow_cycle(s, p.eps, p.n, ES_MS, on_out, &g), 0);   /* saturated: paused */
    assert_int_equal(g.n, 0);
    for (int i = 0; i < 2; i++) p.eps[i].metrics.waiting = 0;
    for (int c = 0; c < 4; c++) assert_int_equal(es_scheduler_flow_cycle(s, p.eps, p.n, 2 * ES_MS, on_out, &g), 1);
    /* one per cycle, highest band first, FCFS inside a band */
    uint64_t order[] = {2, 4, 1, 3};
    for (int i = 0; i < 4; i++) { assert_int_equal(g.ids[i], order[i]); assert_int_equal(g.status[i], 200); }
    /* TTL eviction: 503 */
    for (int i = 0; i < 2; i++) p.eps[i].metrics.waiting = 10;
    rq[5] = text_req(6, "m", "x");
    assert_int_equal(es_scheduler_submit(s, &rq[5], p.eps, p.n, 3 * ES_S, &res), 0);
    assert_int_equal(es_scheduler_flow_next_expiry(s), 13 * ES_S);
    g.n = 0;
    assert_int_equal(es_scheduler_flow_cycle(s, p.eps, p.n, 12 * ES_S, on_out, &g), 0);
    assert_int_equal(g.n, 0);
    assert_int_equal(es_scheduler_flow_cycle(s, p.eps, p.n, 13 * ES_S, on_out, &g), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.status[0], 503);
    assert_int_equal(es_scheduler_flow_queued(s), 0);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);

    /* round-robin fairness across flows */
    s = mk(CFG_HEAD "featureGates: [flowControl]\nplugins:\n- type: queue-scorer\n- type: round-robin-fairness-policy\n"
           "flowControl:\n  defaultPriorityBand: {fairnessPolicyRef: round-robin-fairness-policy}\n", &cfg, 1);
    es_header_t ha = {"x-gateway-inference-fairness-id", "a"}, hb = {"x-gateway-inference-fairness-id", "b"};
    es_sched_request_t fr[6];
    for (int i = 0; i < 6; i++) {   /* a a a a b b */
        fr[i] = text_req((uint64_t)i + 1, "m", "x");
        fr[i].headers = i < 4 ? &ha : &hb;
        fr[i].nheaders = 1;
        assert_int_equal(es_scheduler_submit(s, &fr[i], p.eps, p.n, 0, &res), 0);
    }
    for (int i = 0; i < 2; i++) p.eps[i].metrics.waiting = 0;
    g.n = 0;
    for (int c = 0; c < 6; c++) es_scheduler_flow_cycle(s, p.eps, p.n, ES_MS, on_out, &g);
    uint64_t rr[] = {1, 5, 2, 6, 3, 4};
    for (int i = 0; i < 6; i++) assert_int_equal(g.ids[i], rr[i]);
    assert_false(es_scheduler_flow_cancel(s, 1));
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);

    /* gate off: submit == pick */
    s = mk(NULL, &cfg, 1);
    assert_int_equal(es_scheduler_submit(s, &fr[0], p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.status, 200);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

static void test_max_targets_and_trace(void **st)
{
    (void)st;
    es_epp_config_t *cfg;
    es_scheduler_t *s = mk(CFG_HEAD "plugins:\n- type: queue-scorer\n- type: max-score-picker\n"
                           "  parameters: {maxNumOfEndpoints: 3}\n", &cfg, 1);
    pool_t p;
    pool_init(&p, 4, 0);
    for (int i = 0; i < 4; i++) p.eps[i].metrics.waiting = 10 * i;
    es_sched_request_t r = text_req(1, "m", "");
    es_sched_result_t res = {0};
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.ntargets, 3);
    assert_int_equal(res.targets[0], 0);
    assert_int_equal(res.targets[1], 1);
    assert_int_equal(res.targets[2], 2);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sheddable_429),
        cmocka_unit_test(test_reseed_replays),
        cmocka_unit_test(test_inflight_hooks),
        cmocka_unit_test(test_disagg),
        cmocka_unit_test(test_prefix_affinity_tokens),
        cmocka_unit_test(test_seed_determinism),
        cmocka_unit_test(test_flow_control),
        cmocka_unit_test(test_max_targets_and_trace),
    };
    return cmocka_run_group_tests_name("scheduler_pipeline", tests, NULL, NULL);
}
