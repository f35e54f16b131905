/*
 * Conformance vectors, each named after its upstream unit test (GIE,
 * kubernetes-sigs/gateway-api-inference-extension commit 1748e829, a file
 * under pkg/epp/ ending in the path given), plus pickers (statistical, fixed
 * seeds), prefix indexes and baselines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/resource.h>

#include "helpers.h"
#include "internal.h"

/* Runs one pick with a trace on the pool; returns the trace (caller frees). */
static es_sched_trace_t *run(es_scheduler_t *s, pool_t *p, es_sched_request_t *r, es_time_t now,
                             es_sched_result_t *res)
{
    es_sched_trace_t *t = es_sched_trace_create(p->n);
    memset(res, 0, sizeof *res);
    res->trace = t;
    assert_int_equal(es_scheduler_pick(s, r, p->eps, p->n, now, res), 0);
    return t;
}

static const char k_one_scorer_fmt[] = CFG_HEAD
    "plugins:\n- type: %s\n%s"
    "schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: %s\n";

static es_scheduler_t *one_scorer(const char *type, const char *params, es_epp_config_t **cfg)
{
    char text[1024];
    snprintf(text, sizeof text, k_one_scorer_fmt, type, params ? params : "", type);
    *cfg = cfg_text(text);
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(*cfg, 1, &s, &err), 0);
    return s;
}

static void check_scores(const char *type, const char *params, pool_t *p, const double *want)
{
    es_epp_config_t *cfg;
    es_scheduler_t *s = one_scorer(type, params, &cfg);
    es_sched_request_t r = text_req(1, "m", "");
    es_sched_result_t res;
    es_sched_trace_t *t = run(s, p, &r, 0, &res);
    for (size_t i = 0; i < p->n; i++) assert_double_equal(raw_of(t, 0, (uint32_t)i), want[i], 1e-12);
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

/* scorer/queuedepth/queue_test.go */
static void test_queue_test_go(void **st)
{
    (void)st;
    pool_t p;
    pool_init(&p, 3, 0);
    p.eps[0].metrics.waiting = 10; p.eps[1].metrics.waiting = 5; p.eps[2].metrics.waiting = 0;
    check_scores("queue-scorer", NULL, &p, (double[]){0.0, 0.5, 1.0});
    pool_init(&p, 2, 0);
    p.eps[0].metrics.waiting = 5; p.eps[1].metrics.waiting = 5;
    check_scores("queue-scorer", NULL, &p, (double[]){1, 1});
    pool_init(&p, 2, 0);
    check_scores("queue-scorer", NULL, &p, (double[]){1, 1});
}

/* kvcacheutilization/kvcache_utilization_test.go */
static void test_kvcache_utilization_test_go(void **st)
{
    (void)st;
    pool_t p;
    pool_init(&p, 3, 0);
    p.eps[0].metrics.kv_cache_usage = 0.8; p.eps[1].metrics.kv_cache_usage = 0.5;
    check_scores("kv-cache-utilization-scorer", NULL, &p, (double[]){1 - 0.8, 0.5, 1.0});
    pool_init(&p, 2, 0);
    p.eps[0].metrics.kv_cache_usage = 0.6; p.eps[1].metrics.kv_cache_usage = 0.6;
    check_scores("kv-cache-utilization-scorer", NULL, &p, (double[]){0.4, 0.4});
    pool_init(&p, 2, 0);
    p.eps[0].metrics.kv_cache_usage = 1.0; p.eps[1].metrics.kv_cache_usage = 0.5;
    check_scores("kv-cache-utilization-scorer", NULL, &p, (double[]){0.0, 0.5});
}

static void lora(es_endpoint_t *e, const char *const *act, uint32_t na, const char *const *wait, uint32_t nw, int max)
{
    for (uint32_t i = 0; i < na; i++) e->metrics.running_lora[i] = act[i];
    for (uint32_t i = 0; i < nw; i++) e->metrics.waiting_lora[i] = wait[i];
    e->metrics.n_running_lora = na;
    e->metrics.n_waiting_lora = nw;
    e->metrics.max_lora = max;
}

/* loraaffinity/lora_affinity_test.go (target active-model-1) */
static void test_lora_affinity_test_go(void **st)
{
    (void)st;
    pool_t p;
    pool_init(&p, 6, 0);
    const char *m1[] = {"active-model-1"}, *m2[] = {"active-model-2"}, *m3[] = {"active-model-3"};
    const char *m45[] = {"active-model-4", "active-model-5"};
    lora(&p.eps[0], m1, 1, NULL, 0, 5);
    lora(&p.eps[1], m2, 1, m1, 1, 5);
    lora(&p.eps[2], m2, 1, NULL, 0, 2);
    lora(&p.eps[3], m3, 1, m1, 1, 2);
    lora(&p.eps[4], m45, 2, NULL, 0, 2);
    lora(&p.eps[5], m2, 1, m1, 1, 2);
    es_epp_config_t *cfg;
    es_scheduler_t *s = one_scorer("lora-affinity-scorer", NULL, &cfg);
    es_sched_request_t r = text_req(1, "active-model-1", "");
    es_sched_result_t res;
    es_sched_trace_t *t = run(s, &p, &r, 0, &res);
    double want[] = {1.0, 0.8, 0.8, 0.6, 0.0, 0.6};
    for (uint32_t i = 0; i < 6; i++) assert_double_equal(raw_of(t, 0, i), want[i], 1e-12);
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

/* pkg/epp/scheduling/scheduler_test.go TestSchedule */
static void test_scheduler_test_go_TestSchedule(void **st)
{
    (void)st;
    es_epp_config_t *cfg = cfg_text(CFG_HEAD
        "plugins:\n- type: kv-cache-utilization-scorer\n- type: queue-scorer\n- type: prefix-cache-scorer\n"
        "- type: lora-affinity-scorer\n"
        "schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: kv-cache-utilization-scorer\n"
        "  - pluginRef: queue-scorer\n  - pluginRef: prefix-cache-scorer\n  - pluginRef: lora-affinity-scorer\n");
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(cfg, 7, &s, &err), 0);
    pool_t p;
    pool_init(&p, 3, 0);
    const char *a1[] = {"foo", "bar"}, *a2[] = {"foo", "critical"}, *a3[] = {"foo"};
    p.eps[0].metrics.kv_cache_usage = 0.2; lora(&p.eps[0], a1, 2, NULL, 0, 2);
    p.eps[1].metrics.kv_cache_usage = 0.2; lora(&p.eps[1], a2, 2, NULL, 0, 2);
    p.eps[2].metrics.waiting = 10; p.eps[2].metrics.kv_cache_usage = 0.8; lora(&p.eps[2], a3, 1, NULL, 0, 2);
    es_sched_request_t r = text_req(1, "critical", "a prompt of some characters, long enough to hash....");
    es_sched_result_t res;
    es_sched_trace_t *t = run(s, &p, &r, 0, &res);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.primary, 1);
    assert_double_equal(t->profile[0].total[0], 1.8, 1e-12);
    assert_double_equal(t->profile[0].total[1], 2.8, 1e-12);
    assert_double_equal(t->profile[0].total[2], 1.0, 1e-12);
    es_sched_trace_destroy(t);
    /* empty candidates: an error upstream, 503 at the director */
    memset(&res, 0, sizeof res);
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, 0, 0, &res), 0);
    assert_int_equal(res.status, 503);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

/* scheduler_profile_test.go: un-normalised weighted sum.  Scores 0.3
 * (kv scorer at usage 0.7) and 0.8 (lora scorer with room). */
static void test_scheduler_profile_test_go_weights(void **st)
{
    (void)st;
    double ws[][2] = {{1, 1}, {60, 40}}, want[] = {1.1, 50};
    for (int k = 0; k < 2; k++) {
        char text[1024];
        snprintf(text, sizeof text, CFG_HEAD
            "plugins:\n- type: kv-cache-utilization-scorer\n- type: lora-affinity-scorer\n"
            "schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: kv-cache-utilization-scorer\n"
            "    weight: %g\n  - pluginRef: lora-affinity-scorer\n    weight: %g\n", ws[k][0], ws[k][1]);
        es_epp_config_t *cfg = cfg_text(text);
        es_scheduler_t *s;
        es_err_t err;
        assert_int_equal(es_scheduler_create(cfg, 1, &s, &err), 0);
        pool_t p;
        pool_init(&p, 1, 0);
        p.eps[0].metrics.kv_cache_usage = 0.7;
        p.eps[0].metrics.max_lora = 4;
        es_sched_request_t r = text_req(1, "x", "");
        es_sched_result_t res;
        es_sched_trace_t *t = run(s, &p, &r, 0, &res);
        assert_double_equal(t->profile[0].total[0], want[k], 1e-9);
        es_sched_trace_destroy(t);
        es_scheduler_destroy(s);
        es_epp_config_destroy(cfg);
    }
}

/* TestEnforceScoreRange: raw -0.5 and 1.5 are clamped */
static void test_scheduler_profile_test_go_TestEnforceScoreRange(void **st)
{
    (void)st;
    pool_t p;
    pool_init(&p, 4, 0);
    p.eps[0].metrics.kv_cache_usage = 1.5;    /* raw -0.5 */
    p.eps[1].metrics.kv_cache_usage = -0.5;   /* raw 1.5 */
    p.eps[2].metrics.kv_cache_usage = 1.0;    /* raw 0 */
    p.eps[3].metrics.kv_cache_usage = 0.0;    /* raw 1 */
    es_epp_config_t *cfg;
    es_scheduler_t *s = one_scorer("kv-cache-utilization-scorer", NULL, &cfg);
    es_sched_request_t r = text_req(1, "m", "");
    es_sched_result_t res;
    es_sched_trace_t *t = run(s, &p, &r, 0, &res);
    double raw[] = {-0.5, 1.5, 0, 1}, tot[] = {0, 1, 0, 1};
    for (uint32_t i = 0; i < 4; i++) {
        assert_double_equal(raw_of(t, 0, i), raw[i], 1e-12);
        assert_double_equal(t->profile[0].total[i], tot[i], 1e-12);
    }
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

/* Calls a picker's x_pick directly on totals. */
static size_t pick_direct(const char *type, int64_t n, const double *tot, size_t m, es_rng_t *rng, uint32_t *out)
{
    const esi_plugin_vt_t *vt = esi_registry_find(type);
    assert_non_null(vt);
    esi_cycle_t cy;
    memset(&cy, 0, sizeof cy);
    cy.rng = rng;
    uint32_t idx[16];
    for (size_t i = 0; i < m; i++) idx[i] = (uint32_t)i;
    int64_t state = n;   /* picker params: maxNumOfEndpoints */
    return vt->x_pick(&state, &cy, idx, tot, m, out, ES_SCHED_MAX_TARGETS);
}

/* picker/maxscore/picker_test.go */
static void test_maxscore_picker_test_go(void **st)
{
    (void)st;
    es_rng_t rng;
    es_rng_seed(&rng, 3);
    uint32_t out[8];
    assert_int_equal(pick_direct("max-score-picker", 1, (double[]){10, 25, 15}, 3, &rng, out), 1);
    assert_int_equal(out[0], 1);
    int seen01 = 0, seen10 = 0;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(pick_direct("max-score-picker", 2, (double[]){50, 50, 30}, 3, &rng, out), 2);
        assert_true((out[0] == 0 && out[1] == 1) || (out[0] == 1 && out[1] == 0));
        if (out[0] == 0) seen01++; else seen10++;
    }
    assert_true(seen01 > 50 && seen10 > 50);   /* ties broken at random */
    assert_int_equal(pick_direct("max-score-picker", 2, (double[]){20, 25, 30}, 3, &rng, out), 2);
    assert_int_equal(out[0], 2); assert_int_equal(out[1], 1);
    assert_int_equal(pick_direct("max-score-picker", 4, (double[]){20, 25, 30}, 3, &rng, out), 3);
    assert_int_equal(out[0], 2); assert_int_equal(out[1], 1); assert_int_equal(out[2], 0);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(pick_direct("max-score-picker", 3, (double[]){30, 25, 30}, 3, &rng, out), 3);
        assert_true((out[0] == 0 && out[1] == 2) || (out[0] == 2 && out[1] == 0));
        assert_int_equal(out[2], 1);
    }
    /* N=1 with ties: uniform among the maxima */
    int cnt[3] = {0};
    for (int i = 0; i < 30000; i++) {
        pick_direct("max-score-picker", 1, (double[]){5, 5, 5}, 3, &rng, out);
        cnt[out[0]]++;
    }
    for (int i = 0; i < 3; i++) assert_true(fabs(cnt[i] / 30000.0 - 1 / 3.0) < 0.02);
}

/* picker/weightedrandom/picker_test.go: 10000 draws, within 5 % */
static void test_weightedrandom_picker_test_go(void **st)
{
    (void)st;
    es_rng_t rng;
    es_rng_seed(&rng, 42);
    const double cases[][5] = {{10, 90}, {100, 100, 100}, {30, 0}, {100, 90, 50, 30, 20}};
    const size_t ms[] = {2, 3, 2, 5};
    uint32_t out[8];
    for (int c = 0; c < 4; c++) {
        int cnt[5] = {0};
        double sum = 0;
        for (size_t i = 0; i < ms[c]; i++) sum += cases[c][i];
        for (int it = 0; it < 10000; it++) {
            assert_int_equal(pick_direct("weighted-random-picker", 1, cases[c], ms[c], &rng, out), 1);
            cnt[out[0]]++;
        }
        for (size_t i = 0; i < ms[c]; i++) {
            double got = cnt[i] / 10000.0, want = cases[c][i] / sum;
            assert_true(fabs(got - want) < 0.05);
            if (cases[c][i] == 0) assert_int_equal(cnt[i], 0);
        }
    }
    /* all zero: delegates to random-picker (uniform) */
    int cnt[2] = {0};
    for (int it = 0; it < 10000; it++) { pick_direct("weighted-random-picker", 1, (double[]){0, 0}, 2, &rng, out); cnt[out[0]]++; }
    assert_true(fabs(cnt[0] / 10000.0 - 0.5) < 0.05);
}

static void test_random_picker(void **st)
{
    (void)st;
    es_rng_t rng;
    es_rng_seed(&rng, 9);
    uint32_t out[8];
    int cnt[4] = {0};
    for (int it = 0; it < 20000; it++) {
        assert_int_equal(pick_direct("random-picker", 2, (double[]){1, 100, 1, 1}, 4, &rng, out), 2);
        assert_true(out[0] != out[1]);
        cnt[out[0]]++;
    }
    for (int i = 0; i < 4; i++) assert_true(fabs(cnt[i] / 20000.0 - 0.25) < 0.02);
}

/* approximateprefix/plugin_test.go (blockSizeTokens 1 => 4-char blocks) */
static void test_approximateprefix_plugin_test_go(void **st)
{
    (void)st;
    es_epp_config_t *cfg = cfg_text(CFG_HEAD
        "plugins:\n- type: approx-prefix-cache-producer\n  parameters: {blockSizeTokens: 1, autoTune: false}\n"
        "- type: prefix-cache-scorer\n"
        "schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: prefix-cache-scorer\n");
    /* the Go test lowers minBlockSizeTokens to 1 (plugin_test.go), so does this one */
    ((esi_approx_params_t *)cfg->plugins[cfg->producer].params)->min_block_tokens = 1;
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(cfg, 1, &s, &err), 0);
    pool_t p;
    pool_init(&p, 3, 0);
    es_sched_request_t r = text_req(1, "test-model", "aaaabbbb");
    es_sched_result_t res;
    es_sched_trace_t *t = run(s, &p, &r, 0, &res);
    assert_int_equal(res.est_total_blocks, 2);
    for (uint32_t i = 0; i < 3; i++) assert_double_equal(raw_of(t, 0, i), 0.0, 0);
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    /* fresh index: "aaaaaa" = 1 full block + partial "aa"; PreRequest primary pod1, prefill pod3 */
    assert_int_equal(es_scheduler_create(cfg, 1, &s, &err), 0);
    es_sched_request_t h = text_req(2, "test-model", "aaaaaa");
    es_scheduler_record(s, &h, p.eps, p.n, 0, 0);
    es_scheduler_record(s, &h, p.eps, p.n, 2, 0);
    r.id = 3;
    t = run(s, &p, &r, 0, &res);
    assert_int_equal(res.est_total_blocks, 2);
    assert_double_equal(raw_of(t, 0, 0), 0.5, 0);
    assert_double_equal(raw_of(t, 0, 1), 0.0, 0);
    assert_double_equal(raw_of(t, 0, 2), 0.5, 0);
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

/* utilization/detector_test.go (Q=5, K=0.9, staleness 100ms) */
static double sat_of(es_scheduler_t *s, pool_t *p, es_time_t now) { return es_scheduler_saturation(s, p->eps, p->n, now); }

static void test_utilization_detector_test_go(void **st)
{
    (void)st;
    es_epp_config_t *cfg = cfg_text(CFG_HEAD
        "plugins:\n- type: queue-scorer\n- type: utilization-detector\n"
        "  parameters: {queueDepthThreshold: 5, kvCacheUtilThreshold: 0.9, metricsStalenessThreshold: 100ms}\n"
        "saturationDetector: {pluginRef: utilization-detector}\n");
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(cfg, 1, &s, &err), 0);
    es_time_t now = 10 * ES_S, stale = now - 200 * ES_MS;
    pool_t p;
    pool_init(&p, 1, now);
    p.eps[0].metrics.waiting = 2; p.eps[0].metrics.kv_cache_usage = 0.5;
    assert_double_equal(sat_of(s, &p, now), 0.5 / 0.9, 1e-12);
    p.eps[0].metrics.update_time = stale;
    assert_double_equal(sat_of(s, &p, now), 1.0, 1e-12);
    p.eps[0].metrics.update_time = now;
    p.eps[0].metrics.waiting = 10; p.eps[0].metrics.kv_cache_usage = 0.1;
    assert_double_equal(sat_of(s, &p, now), 2.0, 1e-12);
    p.eps[0].metrics.waiting = 1; p.eps[0].metrics.kv_cache_usage = 0.95;
    assert_double_equal(sat_of(s, &p, now), 0.95 / 0.9, 1e-12);
    p.eps[0].metrics.update_time = -1;   /* nil metrics */
    assert_double_equal(sat_of(s, &p, now), 1.0, 1e-12);
    p.n = 0;
    assert_double_equal(sat_of(s, &p, now), 1.0, 1e-12);
    pool_init(&p, 2, now);
    p.eps[0].metrics.waiting = 1; p.eps[0].metrics.kv_cache_usage = 0.1;
    p.eps[1].metrics.waiting = 0; p.eps[1].metrics.kv_cache_usage = 0.2;
    assert_double_equal(sat_of(s, &p, now), (0.2 + 0.2 / 0.9) / 2, 1e-12);
    p.eps[1].metrics.update_time = stale;
    assert_double_equal(sat_of(s, &p, now), 0.6, 1e-12);
    p.eps[1].metrics.update_time = now;
    p.eps[1].metrics.waiting = 15;
    assert_double_equal(sat_of(s, &p, now), 1.6, 1e-12);
    pool_init(&p, 3, now);
    p.eps[0].metrics.update_time = stale;
    p.eps[1].metrics.waiting = 20; p.eps[1].metrics.kv_cache_usage = 0.2;
    p.eps[2].metrics.waiting = 1; p.eps[2].metrics.kv_cache_usage = 0.99;
    assert_double_equal(sat_of(s, &p, now), (1 + 4 + 1.1) / 3, 1e-12);
    pool_init(&p, 1, now);
    p.eps[0].metrics.waiting = 5;
    assert_double_equal(sat_of(s, &p, now), 1.0, 1e-12);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);

    /* Filter (Q=5, K=0.8, headroom 0.2): all stale -> all; all over -> all; else strict < */
    cfg = cfg_text(CFG_HEAD
        "plugins:\n- type: utilization-detector\n  parameters: {headroom: 0.2}\n- type: queue-scorer\n"
        "schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: utilization-detector\n"
        "  - pluginRef: queue-scorer\n");
    assert_int_equal(es_scheduler_create(cfg, 1, &s, &err), 0);
    pool_init(&p, 3, stale);
    es_sched_request_t r = text_req(1, "m", "");
    es_sched_result_t res;
    es_sched_trace_t *t = run(s, &p, &r, now, &res);
    assert_int_equal(t->profile[0].nsurvivors, 3);
    es_sched_trace_destroy(t);
    pool_init(&p, 3, now);
    for (int i = 0; i < 3; i++) p.eps[i].metrics.waiting = 6;   /* 6 = 5*1.2: not < */
    t = run(s, &p, &r, now, &res);
    assert_int_equal(t->profile[0].nsurvivors, 3);
    es_sched_trace_destroy(t);
    p.eps[1].metrics.waiting = 5;
    t = run(s, &p, &r, now, &res);
    assert_int_equal(t->profile[0].nsurvivors, 1);
    assert_int_equal(t->profile[0].survivors[0], 1);
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

/* llm-d loadaware/load_aware_test.go (threshold 10) */
static void test_load_aware_test_go(void **st)
{
    (void)st;
    pool_t p;
    pool_init(&p, 3, 0);
    p.eps[0].metrics.waiting = 2; p.eps[1].metrics.waiting = 0; p.eps[2].metrics.waiting = 15;
    check_scores("load-aware-scorer", "  parameters: {threshold: 10}\n", &p, (double[]){0.4, 0.5, 0.0});
}

/* llm-d activerequest/active_request_test.go */
static void active_case(const char *params, const int64_t *reqs, const double *want)
{
    es_epp_config_t *cfg;
    es_scheduler_t *s = one_scorer("active-request-scorer", params, &cfg);
    pool_t p;
    pool_init(&p, 3, 0);
    for (uint32_t i = 0; i < 3; i++) es_scheduler_set_inflight(s, i, reqs[i], 0);
    es_sched_request_t r = text_req(1, "m", "");
    es_sched_result_t res;
    es_sched_trace_t *t = run(s, &p, &r, 0, &res);
    for (uint32_t i = 0; i < 3; i++) assert_double_equal(raw_of(t, 0, i), want[i], 1e-12);
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

static void test_active_request_test_go(void **st)
{
    (void)st;
    active_case(NULL, (int64_t[]){0, 0, 0}, (double[]){1, 1, 1});
    active_case(NULL, (int64_t[]){3, 0, 6}, (double[]){0.5, 1.0, 0.0});
    active_case(NULL, (int64_t[]){4, 0, 1}, (double[]){0.0, 1.0, 0.75});
    active_case("  parameters: {idleThreshold: 1, maxBusyScore: 0.5}\n", (int64_t[]){1, 2, 0}, (double[]){1.0, 0.0, 1.0});
}

static void test_token_load_and_running_scorers(void **st)
{
    (void)st;
    es_epp_config_t *cfg;
    es_scheduler_t *s = one_scorer("token-load-scorer", "  parameters: {queueThresholdTokens: 1000}\n", &cfg);
    pool_t p;
    pool_init(&p, 3, 0);
    es_scheduler_set_inflight(s, 0, 1, 0);
    es_scheduler_set_inflight(s, 1, 1, 250);
    es_scheduler_set_inflight(s, 2, 1, 5000);
    es_sched_request_t r = text_req(1, "m", "");
    es_sched_result_t res;
    es_sched_trace_t *t = run(s, &p, &r, 0, &res);
    assert_double_equal(raw_of(t, 0, 0), 1.0, 1e-12);
    assert_double_equal(raw_of(t, 0, 1), 0.75, 1e-12);
    assert_double_equal(raw_of(t, 0, 2), 0.0, 1e-12);
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
    pool_init(&p, 3, 0);
    p.eps[0].metrics.running = 4; p.eps[1].metrics.running = 2; p.eps[2].metrics.running = 0;
    check_scores("running-requests-size-scorer", NULL, &p, (double[]){0, 0.5, 1});
}

static void test_session_affinity(void **st)
{
    (void)st;
    pool_t p;
    pool_init(&p, 3, 0);
    char tok[64];
    es_sched_session_token(&p.eps[1], tok, sizeof tok);
    assert_string_equal(tok, "cG9kMg==");   /* base64("pod2") */
    es_epp_config_t *cfg;
    es_scheduler_t *s = one_scorer("session-affinity-scorer", NULL, &cfg);
    es_sched_request_t r = text_req(1, "m", "");
    es_header_t h = {"x-session-token", tok};   /* the token travels as a header */
    r.headers = &h;
    r.nheaders = 1;
    r.session = "s1";   /* a workload session id is not a token */
    es_sched_result_t res;
    es_sched_trace_t *t = run(s, &p, &r, 0, &res);
    assert_double_equal(raw_of(t, 0, 0), 0, 0);
    assert_double_equal(raw_of(t, 0, 1), 1, 0);
    assert_int_equal(res.primary, 1);
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

static void test_no_hit_lru(void **st)
{
    (void)st;
    es_epp_config_t *cfg = cfg_text(CFG_HEAD
        "plugins:\n- type: no-hit-lru-scorer\n- type: prefix-cache-scorer\n"
        "schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: no-hit-lru-scorer\n");
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(cfg, 1, &s, &err), 0);
    pool_t p;
    pool_init(&p, 3, 0);
    /* cold requests with distinct prompts go to never-used pods first, then the LRU one */
    const char *prompts[] = {"first prompt, long enough to fill several blocks of sixty-four characters each......",
                             "second prompt, long enough to fill several blocks of sixty-four characters each.....",
                             "third prompt, long enough to fill several blocks of sixty-four characters each......",
                             "fourth prompt, long enough to fill several blocks of sixty-four characters each....."};
    uint32_t got[4];
    for (int i = 0; i < 4; i++) {
        es_sched_request_t r = text_req((uint64_t)i + 1, "m", prompts[i]);
        es_sched_result_t res;
        es_sched_trace_t *t = run(s, &p, &r, 0, &res);
        got[i] = res.primary;
        es_sched_trace_destroy(t);
    }
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], 1);
    assert_int_equal(got[2], 2);
    assert_int_equal(got[3], 0);   /* least recently used */
    /* warm request: all 0.5 */
    es_sched_request_t r = text_req(9, "m", prompts[1]);
    es_sched_result_t res;
    es_sched_trace_t *t = run(s, &p, &r, 0, &res);
    for (uint32_t i = 0; i < 3; i++) assert_double_equal(raw_of(t, 0, i), 0.5, 0);
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

static void test_precise_prefix_kv_events(void **st)
{
    (void)st;
    es_epp_config_t *cfg;
    es_scheduler_t *s = one_scorer("precise-prefix-cache-scorer", NULL, &cfg);
    pool_t p;
    pool_init(&p, 3, 0);
    es_segment_t segs[2] = {{111, 40}, {222, 24}};   /* 64 tokens = 4 blocks of 16 */
    es_sched_request_t r = text_req(1, "m", NULL);
    r.content.segs = segs; r.content.nsegs = 2; r.content.tokens = 64;
    uint64_t keys[4];
    assert_int_equal(es_content_block_hashes(&r.content, 16, keys, 4), 4);
    /* pod1 holds blocks 0,1; pod2 holds 0,2,3 (not contiguous); pod3 all */
    uint64_t held[3][4] = {{keys[0], keys[1]}, {keys[0], keys[2], keys[3]}, {keys[0], keys[1], keys[2], keys[3]}};
    int nheld[3] = {2, 3, 4};
    for (uint32_t e = 0; e < 3; e++)
        for (int k = 0; k < nheld[e]; k++) {
            es_kv_event_t ev = {ES_KV_BLOCK_STORED, e, held[e][k], 0};
            es_scheduler_on_kv_event(s, &ev);
        }
    es_sched_result_t res;
    es_sched_trace_t *t = run(s, &p, &r, 0, &res);
    assert_double_equal(raw_of(t, 0, 0), 0.5, 0);
    assert_double_equal(raw_of(t, 0, 1), 0.25, 0);
    assert_double_equal(raw_of(t, 0, 2), 1.0, 0);
    assert_int_equal(res.primary, 2);
    es_sched_trace_destroy(t);
    es_kv_event_t ev = {ES_KV_BLOCK_REMOVED, 2, keys[1], 0};
    es_scheduler_on_kv_event(s, &ev);
    ev.kind = ES_KV_ALL_CLEARED; ev.endpoint = 0;
    es_scheduler_on_kv_event(s, &ev);
    t = run(s, &p, &r, 0, &res);
    assert_double_equal(raw_of(t, 0, 0), 0.0, 0);
    assert_double_equal(raw_of(t, 0, 2), 0.25, 0);
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

/* KV events are outside input: hashes 0, 1, 2, ... (alike in their high
 * half) once shared one probe run, each add O(n): 200000 of them took
 * minutes.  A CPU limit turns that hang into a failure (SIGXCPU). */
static void test_precise_prefix_sequential_hashes(void **st)
{
    (void)st;
    struct rlimit rl;
    getrlimit(RLIMIT_CPU, &rl);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    rlim_t limit = (rlim_t)ru.ru_utime.tv_sec + (rlim_t)ru.ru_stime.tv_sec + 20;
    if (rl.rlim_max == RLIM_INFINITY || limit < rl.rlim_max) {
        struct rlimit nl = {limit, rl.rlim_max};
        setrlimit(RLIMIT_CPU, &nl);
    }
    es_epp_config_t *cfg;
    es_scheduler_t *s = one_scorer("precise-prefix-cache-scorer", NULL, &cfg);
    pool_t p;
    pool_init(&p, 2, 0);
    es_segment_t segs[1] = {{333, 32}};
    es_sched_request_t r = text_req(1, "m", NULL);
    r.content.segs = segs; r.content.nsegs = 1; r.content.tokens = 32;
    uint64_t keys[2];
    assert_int_equal(es_content_block_hashes(&r.content, 16, keys, 2), 2);
    es_kv_event_t ev = {ES_KV_BLOCK_STORED, 0, 0, 0};
    for (uint64_t k = 0; k < 200000; k++) { ev.block_hash = k; es_scheduler_on_kv_event(s, &ev); }
    for (int k = 0; k < 2; k++) { es_kv_event_t e = {ES_KV_BLOCK_STORED, 1, keys[k], 0}; es_scheduler_on_kv_event(s, &e); }
    ev.kind = ES_KV_BLOCK_REMOVED;
    for (uint64_t k = 0; k < 200000; k += 2) { ev.block_hash = k; es_scheduler_on_kv_event(s, &ev); }
    es_sched_result_t res;
    es_sched_trace_t *t = run(s, &p, &r, 0, &res);
    assert_double_equal(raw_of(t, 0, 0), 0.0, 0);
    assert_double_equal(raw_of(t, 0, 1), 1.0, 0);
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
    setrlimit(RLIMIT_CPU, &rl);
}

/* The character view: ~4 characters a token, deterministic, prefix-stable. */
static void test_char_view(void **st)
{
    (void)st;
    esi_charview_t cv;
    esi_charview_init(&cv);
    uint64_t total = 0;
    for (uint32_t pos = 0; pos < 100000; pos++) {
        uint32_t c = esi_token_chars(12345, pos);
        assert_true(c >= 1 && c <= 7);
        total += c;
    }
    assert_true(fabs(total / 100000.0 - 4.0) < 0.01);
    es_segment_t a[2] = {{7, 1000}, {8, 500}}, b[2] = {{7, 1000}, {9, 500}};
    es_content_t ca = {a, 2, 1500}, cb = {b, 2, 1500};
    uint64_t ha[256], hb[256];
    size_t na = esi_char_block_hashes(&cv, &ca, 64, 1, ha, 256), nb = esi_char_block_hashes(&cv, &cb, 64, 1, hb, 256);
    assert_true(na > 80 && na < 110);   /* ~6000 characters / 64 */
    assert_int_equal(esi_char_block_hashes(&cv, &ca, 64, 1, hb, 0), 0);   /* max 0 -> none */
    nb = esi_char_block_hashes(&cv, &cb, 64, 1, hb, 256);
    size_t same = 0;
    while (same < na && same < nb && ha[same] == hb[same]) same++;
    assert_true(same >= 55 && same <= 70);   /* the shared 1000 tokens ~ 4000 chars ~ 62 blocks */
    assert_int_equal(esi_char_block_hashes(&cv, &ca, 64, 1, ha, 10), 10);   /* only what the index can use */
    assert_true(esi_char_block_hashes(&cv, &ca, 64, 2, hb, 1) == 1 && hb[0] != ha[0]);   /* model seeds */
    es_segment_t tiny = {5, 3};
    es_content_t ct = {&tiny, 1, 3};
    assert_int_equal(esi_char_block_hashes(&cv, &ct, 64, 1, ha, 10), 1);   /* shorter than one block: one partial (v0.10) */
    /* xxh64 known answers */
    assert_true(esi_xxh64("", 0, 0) == 0xEF46DB3751D8E999ULL);
    assert_true(esi_xxh64("a", 1, 0) == 0xD24EC4F1A98C6E5BULL);
}

/* The character view hashed one token at a time, as docs/scheduler.md
 * defines it (the library skips through tokens that do not end a block).
 * The domain constants are written out on purpose (ES_HASH_*_DOMAIN in the
 * library): changing one there must fail here. */
static uint64_t ref_piece(uint64_t h, uint64_t id, uint32_t p0, uint32_t o0, uint32_t p1, uint32_t o1)
{
    uint64_t a = ((uint64_t)p0 << 3) | o0, b = ((uint64_t)p1 << 3) | o1;
    uint64_t v = es_mix64(es_mix64(id ^ 0x6a09e667f3bcc909ULL) ^ a ^ (b << 32) ^ (b >> 32) * 0x9E3779B97F4A7C15ULL);
    return es_mix64(h ^ v);
}

static size_t ref_char_hashes(const es_content_t *c, uint32_t C, uint64_t seed, uint64_t *out, size_t max)
{
    if (max == 0 || C == 0) return 0;
    uint64_t h = seed ^ 0xbb67ae8584caa73bULL;
    uint32_t fill = 0;
    size_t nb = 0;
    for (uint32_t si = 0; si < c->nsegs; si++) {
        const es_segment_t *sg = &c->segs[si];
        uint32_t pp = 0, po = 0;
        for (uint32_t pos = 0; pos < sg->len; pos++) {
            uint32_t tc = esi_token_chars(sg->id, pos), used = 0;
            while (fill + (tc - used) >= C) {
                uint32_t end_off = used + (C - fill);
                h = ref_piece(h, sg->id, pp, po, pos, end_off);
                out[nb] = h;
                h = out[nb++] ^ 0xbb67ae8584caa73bULL;
                if (nb == max) return nb;
                fill = 0;
                used = end_off;
                if (end_off == tc) { pp = pos + 1; po = 0; } else { pp = pos; po = end_off; }
            }
            fill += tc - used;
        }
        if (pp < sg->len) h = ref_piece(h, sg->id, pp, po, sg->len, 0);
    }
    if (fill > 0) out[nb++] = es_mix64(h ^ 0x3c6ef372fe94f82bULL);
    return nb;
}

static void test_char_view_matches_reference(void **st)
{
    (void)st;
    esi_charview_t cv;
    esi_charview_init(&cv);
    /* the tables: every bucket not marked mixed holds the exact sum for every
     * fraction in it (checked at its ends and at random points) */
    uint32_t mixed = 0;
    uint64_t y = 7;
    for (uint32_t b = 0; b < (1u << ESI_CV_BITS); b++) {
        mixed += !cv.sum8[b];
        for (int k = 0; k < 6; k++) {
            y ^= y << 13; y ^= y >> 7; y ^= y << 17;
            uint32_t span = 1u << (32 - ESI_CV_BITS);
            uint32_t f = (b << (32 - ESI_CV_BITS)) + (k == 0 ? 0 : k == 1 ? span - 1 : (uint32_t)y % span);
            uint32_t s4 = 0, s8 = 0;
            for (uint32_t i = 0; i < 8; i++) {
                uint32_t ch = esi_frac_chars(f + i * ESI_TOKEN_WEYL);
                s8 += ch;
                if (i < 4) s4 += ch;
            }
            if (cv.sum4[b]) assert_int_equal(cv.sum4[b], s4);
            if (cv.sum8[b]) assert_int_equal(cv.sum8[b], s8);
        }
    }
    assert_true(mixed <= 56);   /* one bucket per step of the 8 tokens' counts */
    uint64_t x = 99, ha[300], hb[300];
    for (int trial = 0; trial < 300; trial++) {
        es_segment_t segs[6];
        uint32_t nsegs = 1 + (uint32_t)(trial % 6), tokens = 0;
        for (uint32_t i = 0; i < nsegs; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            segs[i] = (es_segment_t){x, (uint32_t)(x >> 48) % 700};   /* empty segments too */
            tokens += segs[i].len;
        }
        es_content_t c = {segs, nsegs, tokens};
        uint32_t C = trial % 3 == 0 ? 64 : 1 + (uint32_t)(x % 100);
        size_t max = trial % 4 == 0 ? 1 + (size_t)(x >> 20) % 40 : 300;
        size_t na = esi_char_block_hashes(&cv, &c, C, x, ha, max), nb = ref_char_hashes(&c, C, x, hb, max);
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) assert_true(ha[i] == hb[i]);
    }
}

/* The prefix index against a plain model: per pod, keys in recency order
 * (the LRU evicts the oldest beyond the pod's capacity; a re-added key moves
 * to the newest); with key_cap, a key keeps its key_cap most recently added
 * holders.  Random adds (single and batched), removals and pod
 * removals over few keys, pods and small capacities: after every operation
 * each key's holders and each pod's count must agree. */
#define PX_PODS 4
#define PX_KEYS 40
typedef struct px_model {
    uint32_t keys[PX_PODS][PX_KEYS], n[PX_PODS], cap[PX_PODS];
    uint32_t key_cap;                       /* holders per key; 0 = unbounded */
    uint64_t added[PX_PODS][PX_KEYS], now;  /* when (pod, key) was last added */
} px_model_t;

static void px_drop(px_model_t *m, uint32_t pod, uint32_t i)
{
    for (; i + 1 < m->n[pod]; i++) m->keys[pod][i] = m->keys[pod][i + 1];
    m->n[pod]--;
}

static void px_add(px_model_t *m, uint32_t key, uint32_t pod, uint32_t cap)
{
    if (m->cap[pod] == 0) m->cap[pod] = cap;
    bool held = false;
    for (uint32_t i = 0; i < m->n[pod]; i++)
        if (m->keys[pod][i] == key) { px_drop(m, pod, i); held = true; break; }
    m->keys[pod][m->n[pod]++] = key;
    if (m->n[pod] > m->cap[pod]) px_drop(m, pod, 0);
    if (!held && m->key_cap) {   /* the key's least recently added holder beyond key_cap goes */
        uint32_t holders = 0, oldest = PX_PODS, oldest_i = 0;
        for (uint32_t p = 0; p < PX_PODS; p++)
            for (uint32_t i = 0; p != pod && i < m->n[p]; i++)
                if (m->keys[p][i] == key) {
                    holders++;
                    if (oldest == PX_PODS || m->added[p][key] < m->added[oldest][key]) { oldest = p; oldest_i = i; }
                }
        if (holders >= m->key_cap) px_drop(m, oldest, oldest_i);
    }
    m->added[pod][key] = ++m->now;
}

/* Index keys: spread hashes, or (clustered) groups of eight keys on four
 * neighbouring home slots, so that deletions shift runs. */
static uint64_t px_key(uint32_t k, bool clustered)
{
    if (clustered) return ((uint64_t)(((k >> 3) << 6) | ((k & 7) >> 1)) << 32) | (0x9E3779B9u * (k + 1));
    return 0x9E3779B97F4A7C15ULL * (k + 1);
}

static void prefix_index_matches_model(bool clustered, uint32_t key_cap)
{
    esi_pindex_t ix;
    esi_pindex_init(&ix);
    ix.key_cap = key_cap;
    px_model_t m;
    memset(&m, 0, sizeof m);
    m.key_cap = key_cap;
    uint64_t x = 7;
    for (int step = 0; step < 30000; step++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        uint32_t pod = (uint32_t)(x >> 8) % PX_PODS, key = (uint32_t)(x >> 16) % PX_KEYS;
        uint32_t cap = 3 + (uint32_t)(x >> 24) % 50, op = (uint32_t)(x >> 32) % 100;   /* counts past 32: the ring grows */
        if (op < 55) {
            esi_pindex_add(&ix, px_key(key, clustered), pod, cap);
            px_add(&m, key, pod, cap);
        } else if (op < 80) {   /* a request's blocks in one batch */
            uint64_t keys[8];
            uint32_t nk = 1 + (uint32_t)(x >> 40) % 8;
            for (uint32_t i = 0; i < nk; i++) {
                uint32_t k = (key + i * 7) % PX_KEYS;
                keys[i] = px_key(k, clustered);
                px_add(&m, k, pod, cap);
            }
            esi_pindex_add_n(&ix, keys, nk, pod, cap);
        } else if (op < 98) {
            esi_pindex_remove(&ix, px_key(key, clustered), pod);
            for (uint32_t i = 0; i < m.n[pod]; i++)
                if (m.keys[pod][i] == key) { px_drop(&m, pod, i); break; }
        } else {
            esi_pindex_remove_pod(&ix, pod);
            m.n[pod] = 0;
            m.cap[pod] = 0;
        }
        for (uint32_t p = 0; p < PX_PODS; p++) assert_int_equal(esi_pindex_pod_count(&ix, p), m.n[p]);
        for (uint32_t k = 0; k < PX_KEYS; k++) {
            uint32_t want = 0, got = 0;
            for (uint32_t p = 0; p < PX_PODS; p++)
                for (uint32_t i = 0; i < m.n[p]; i++)
                    if (m.keys[p][i] == k) want |= 1u << p;
            for (uint32_t ni = esi_pindex_holders(&ix, px_key(k, clustered)); ni; ni = ix.nodes[ni].next) {
                assert_false(got & (1u << ix.nodes[ni].pod));   /* one node per (key, pod) */
                got |= 1u << ix.nodes[ni].pod;
            }
            assert_int_equal(got, want);
        }
    }
    esi_pindex_fini(&ix);
}

static void test_prefix_index_matches_model(void **st)
{
    (void)st;
    prefix_index_matches_model(false, 0);
    prefix_index_matches_model(true, 0);
    /* the precise index's per-key bound (kvblock in_memory.go podCacheSize) */
    for (uint32_t key_cap = 1; key_cap <= 3; key_cap++) {
        prefix_index_matches_model(false, key_cap);
        prefix_index_matches_model(true, key_cap);
    }
}

static void test_baselines(void **st)
{
    (void)st;
    es_epp_config_t *cfg = cfg_text(CFG_HEAD
        "plugins:\n- type: eppsim-round-robin\n"
        "schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: eppsim-round-robin\n");
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(cfg, 1, &s, &err), 0);
    pool_t p;
    pool_init(&p, 3, 0);
    for (int i = 0; i < 7; i++) {
        es_sched_request_t r = text_req((uint64_t)i, "m", "");
        es_sched_result_t res = {0};
        assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
        assert_int_equal(res.primary, (uint32_t)(i % 3));
    }
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);

    cfg = cfg_text(CFG_HEAD "plugins:\n- type: eppsim-least-requests\n");
    assert_int_equal(es_scheduler_create(cfg, 1, &s, &err), 0);
    for (int i = 0; i < 9; i++) {   /* fills the pods evenly */
        es_sched_request_t r = text_req((uint64_t)i + 1, "m", "");
        es_sched_result_t res = {0};
        assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    }
    for (uint32_t e = 0; e < 3; e++) {
        int64_t q, tk;
        es_scheduler_get_inflight(s, e, &q, &tk);
        assert_int_equal(q, 3);
    }
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);

    /* legacy decision tree: sheddable without capacity is dropped (429) */
    /* (v0.3 had no saturation detector: an idle concurrency detector keeps admission out of the way) */
    cfg = cfg_text(CFG_HEAD "plugins:\n- type: eppsim-legacy-decision-tree\n- type: concurrency-detector\n"
                   "saturationDetector: {pluginRef: concurrency-detector}\n");
    assert_int_equal(es_scheduler_create(cfg, 1, &s, &err), 0);
    for (int i = 0; i < 3; i++) { p.eps[i].metrics.waiting = 10; p.eps[i].metrics.kv_cache_usage = 0.5; }
    p.eps[1].metrics.waiting = 3;
    es_sched_request_t r = text_req(1, "m", "");
    r.priority = -1;
    es_sched_result_t res = {0};
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.primary, 1);
    p.eps[1].metrics.waiting = 8;
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.status, 429);
    r.priority = 0;   /* critical: least queue wins */
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.primary, 1);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_test_go),
        cmocka_unit_test(test_kvcache_utilization_test_go),
        cmocka_unit_test(test_lora_affinity_test_go),
        cmocka_unit_test(test_scheduler_test_go_TestSchedule),
        cmocka_unit_test(test_scheduler_profile_test_go_weights),
        cmocka_unit_test(test_scheduler_profile_test_go_TestEnforceScoreRange),
        cmocka_unit_test(test_maxscore_picker_test_go),
        cmocka_unit_test(test_weightedrandom_picker_test_go),
        cmocka_unit_test(test_random_picker),
        cmocka_unit_test(test_approximateprefix_plugin_test_go),
        cmocka_unit_test(test_utilization_detector_test_go),
        cmocka_unit_test(test_load_aware_test_go),
        cmocka_unit_test(test_active_request_test_go),
        cmocka_unit_test(test_token_load_and_running_scorers),
        cmocka_unit_test(test_session_affinity),
        cmocka_unit_test(test_no_hit_lru),
        cmocka_unit_test(test_precise_prefix_kv_events),
        cmocka_unit_test(test_precise_prefix_sequential_hashes),
        cmocka_unit_test(test_char_view),
        cmocka_unit_test(test_char_view_matches_reference),
        cmocka_unit_test(test_prefix_index_matches_model),
        cmocka_unit_test(test_baselines),
    };
    return cmocka_run_group_tests_name("scheduler_vectors", tests, NULL, NULL);
}
