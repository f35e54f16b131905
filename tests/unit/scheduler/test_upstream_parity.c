/*
 * test_upstream_parity.c -- more table-driven cases of llm-d-router v0.10.0
 * (commit 71f4f0999f95b96c49a9d0c4afbd18dfdb943c26) ported by reading, one
 * cmocka test per Go test, named after it (package_file_TestName), for the
 * plugins added after test_upstream.c: endpoint attributes (with the DCGM
 * GPU utilisation as the attribute), program-aware fairness.
 * tests/upstream/README lists what was ported and what was skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "helpers.h"
#include "upstream_helpers.h"
#include "internal.h"

/* eppsim produces one attribute, the DCGM GPU utilisation; upstream's tests
 * use custom metric keys, which eppsim's pods never carry */
#define DCGM "- type: dcgm-extractor\n"
#define GPU_KEY "GPUUtilization/dcgm-extractor"


/* A pool whose endpoint i has GPU utilisation v[i]; NAN: no value. */
static void gpu_pool(pool_t *p, const double *v, size_t n)
{
    pool_init(p, n, 0);
    for (size_t i = 0; i < n; i++) {
        p->eps[i].metrics.has_gpu_util = !isnan(v[i]);
        p->eps[i].metrics.gpu_util = isnan(v[i]) ? 0 : v[i];
    }
}

/* scheduling/filter/endpointattribute/filter_test.go TestEndpointAttributeFilterFactory */
static void test_endpointattribute_filter_test_go_TestEndpointAttributeFilterFactory(void **st)
{
    (void)st;
    static const struct { const char *name, *params, *want; } cases[] = {
        {"valid threshold with defaulted onMissing",
         "{attribute: " GPU_KEY ", algorithm: {type: threshold, threshold: {operator: LessThan, value: 10}}}", NULL},
        {"valid threshold with explicit policies",
         "{attribute: " GPU_KEY ", onMissing: Fail, fallbackOnEmpty: true, algorithm: {type: threshold, "
         "threshold: {operator: GreaterThanOrEqual, value: 0.5}}}", NULL},
        {"missing attribute", "{algorithm: {type: threshold, threshold: {operator: LessThan, value: 10}}}",
         "attribute"},
        {"invalid onMissing", "{attribute: a, onMissing: Maybe, algorithm: {type: threshold, "
         "threshold: {operator: LessThan, value: 10}}}", "onMissing"},
        {"missing algorithm type", "{attribute: a}", "algorithm.type"},
        {"unsupported algorithm type", "{attribute: a, algorithm: {type: percentile}}", "algorithm.type"},
        {"missing threshold block", "{attribute: a, algorithm: {type: threshold}}", "algorithm.threshold"},
        {"invalid threshold operator", "{attribute: a, algorithm: {type: threshold, "
         "threshold: {operator: Around, value: 10}}}", "threshold.operator"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: endpoint-attribute-filter\n  name: test-filter\n"
                 "  parameters: %s\n", cases[k].params);
        if (cases[k].want) { cfg_fails(text, cases[k].want); continue; }
        es_epp_config_destroy(cfg_text(text));
    }
    /* a key eppsim does not produce is accepted with a warning naming it */
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: endpoint-attribute-filter\n  parameters: {attribute: "
                                  "num_requests_running, algorithm: {type: threshold, threshold: {operator: LessThan, "
                                  "value: 10}}}\n");
    bool warned = false;
    for (size_t i = 0; es_epp_config_warning(c, i); i++)
        if (strstr(es_epp_config_warning(c, i), "every endpoint lacks it")) warned = true;
    assert_true(warned);
    es_epp_config_destroy(c);
}

/* scheduling/filter/endpointattribute/filter_test.go TestEndpointAttributeFilterFilter */
static void test_endpointattribute_filter_test_go_TestEndpointAttributeFilterFilter(void **st)
{
    (void)st;
    static const struct {
        const char *name, *op, *on_missing;
        bool fallback;
        size_t n;
        double v[3];
        const char *want;   /* survivors, 0/1 by index */
    } cases[] = {
        {"LessThan keeps values below the threshold", "LessThan", "", false, 3, {5, 10, 15}, "100"},
        {"LessThanOrEqual keeps the boundary value", "LessThanOrEqual", "", false, 3, {5, 10, 15}, "110"},
        {"GreaterThan keeps values above the threshold", "GreaterThan", "", false, 3, {5, 10, 15}, "001"},
        {"GreaterThanOrEqual keeps the boundary value", "GreaterThanOrEqual", "", false, 3, {5, 10, 15}, "011"},
        {"Equal keeps only the matching value", "Equal", "", false, 2, {5, 10}, "01"},
        {"NotEqual drops the matching value", "NotEqual", "", false, 2, {5, 10}, "10"},
        {"missing attribute passes by default", "LessThan", "Pass", false, 2, {15, NAN}, "01"},
        {"missing attribute fails when onMissing is Fail", "LessThan", "Fail", false, 2, {5, NAN}, "10"},
        {"empty result stays empty without fallback", "LessThan", "", false, 2, {15, 20}, "00"},
        {"empty result returns all candidates with fallbackOnEmpty", "LessThan", "", true, 2, {15, 20}, "11"},
        {"fallbackOnEmpty does not trigger when some endpoints survive", "LessThan", "", true, 2, {5, 20}, "10"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[640];
        snprintf(text, sizeof text, HEAD "plugins:\n" DCGM "- type: endpoint-attribute-filter\n  parameters: "
                 "{attribute: " GPU_KEY ", %s%s%s fallbackOnEmpty: %s, algorithm: {type: threshold, threshold: "
                 "{operator: %s, value: 10}}}\n", cases[k].on_missing[0] ? "onMissing: " : "", cases[k].on_missing,
                 cases[k].on_missing[0] ? "," : "", cases[k].fallback ? "true" : "false", cases[k].op);
        es_epp_config_t *c = cfg_text(text);
        pool_t p;
        gpu_pool(&p, cases[k].v, cases[k].n);
        const esi_plugin_vt_t *vt;
        void *s = instance(c, "endpoint-attribute-filter", &vt);
        esi_cycle_t cy;
        memset(&cy, 0, sizeof cy);
        cy.eps = p.eps;
        cy.n = p.n;
        uint32_t idx[4] = {0, 1, 2, 3};
        size_t m = vt->x_filter(s, &cy, idx, p.n);
        char got[4] = "000";
        got[p.n] = '\0';
        for (size_t i = 0; i < m; i++) got[idx[i]] = '1';
        if (strcmp(got, cases[k].want)) fail_msg("%s: got %s want %s", cases[k].name, got, cases[k].want);
        release(vt, s);
        es_epp_config_destroy(c);
    }
}

/* scheduling/scorer/endpointattribute/endpointattribute_test.go TestEndpointAttributeScorerFactory */
static void test_endpointattribute_test_go_TestEndpointAttributeScorerFactory(void **st)
{
    (void)st;
    static const struct { const char *name, *params, *want; } cases[] = {
        {"valid lower_is_better with defaulted adaptive range",
         "{attributeKey: custom.queue_depth, algorithm: {type: linear_lower_is_better}}", NULL},
        {"valid higher_is_better with explicit adaptive range", "{attributeKey: custom.tokens_per_second, "
         "algorithm: {type: linear_higher_is_better, normalization: {adaptiveRange: {}}}}", NULL},
        {"valid fixed range", "{attributeKey: custom.kv_cache_utilization, algorithm: {type: linear_lower_is_better, "
         "normalization: {fixedRange: {min: 0, max: 1}}}}", NULL},
        {"missing attributeKey", "{algorithm: {type: linear_lower_is_better}}", "attributeKey"},
        {"missing algorithm type", "{attributeKey: custom.queue_depth}", "algorithm.type"},
        {"unsupported algorithm type", "{attributeKey: custom.queue_depth, algorithm: {type: log_lower_is_better}}",
         "algorithm.type"},
        {"both normalization strategies set", "{attributeKey: custom.queue_depth, algorithm: {type: "
         "linear_lower_is_better, normalization: {fixedRange: {min: 0, max: 1}, adaptiveRange: {}}}}",
         "at most one normalization strategy"},
        {"fixed range with min not less than max", "{attributeKey: custom.queue_depth, algorithm: {type: "
         "linear_lower_is_better, normalization: {fixedRange: {min: 1, max: 1}}}}", "min < max"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: endpoint-attribute-scorer\n  name: test-scorer\n"
                 "  parameters: %s\n", cases[k].params);
        if (cases[k].want) { cfg_fails(text, cases[k].want); continue; }
        es_epp_config_destroy(cfg_text(text));
    }
}

static void scorer_case(const char *name, const char *algorithm, const double *v, size_t n, const double *want)
{
    char text[512];
    snprintf(text, sizeof text, HEAD "plugins:\n" DCGM "- type: endpoint-attribute-scorer\n  parameters: "
             "{attributeKey: " GPU_KEY ", algorithm: %s}\n", algorithm);
    es_epp_config_t *c = cfg_text(text);
    pool_t p;
    gpu_pool(&p, v, n);
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "endpoint-attribute-scorer", &vt);
    esi_cycle_t cy;
    memset(&cy, 0, sizeof cy);
    cy.eps = p.eps;
    cy.n = p.n;
    uint32_t idx[4] = {0, 1, 2, 3};
    double out[4];
    vt->x_score(s, &cy, idx, n, out);
    for (size_t i = 0; i < n; i++)
        if (fabs(out[i] - want[i]) > 1e-9) fail_msg("%s: endpoint %zu scored %g, want %g", name, i, out[i], want[i]);
    release(vt, s);
    es_epp_config_destroy(c);
}

/* ... TestEndpointAttributeScorerScoreAdaptiveRange */
static void test_endpointattribute_test_go_TestEndpointAttributeScorerScoreAdaptiveRange(void **st)
{
    (void)st;
    scorer_case("lower_is_better", "{type: linear_lower_is_better}", (double[]){10, 5, 0}, 3, (double[]){0, 0.5, 1});
    scorer_case("higher_is_better", "{type: linear_higher_is_better}", (double[]){10, 5, 0}, 3, (double[]){1, 0.5, 0});
    scorer_case("equal values get neutral score", "{type: linear_lower_is_better}", (double[]){7, 7}, 2,
                (double[]){1, 1});
    scorer_case("endpoint missing the attribute scores zero", "{type: linear_lower_is_better}",
                (double[]){10, NAN, 0}, 3, (double[]){0, 0, 1});
    scorer_case("all endpoints missing the attribute score zero", "{type: linear_lower_is_better}",
                (double[]){NAN, NAN}, 2, (double[]){0, 0});
}

/* ... TestEndpointAttributeScorerScoreFixedRange */
static void test_endpointattribute_test_go_TestEndpointAttributeScorerScoreFixedRange(void **st)
{
    (void)st;
#define FIXED(t) "{type: " t ", normalization: {fixedRange: {min: 0, max: 10}}}"
    scorer_case("lower_is_better", FIXED("linear_lower_is_better"), (double[]){10, 5, 0}, 3, (double[]){0, 0.5, 1});
    scorer_case("higher_is_better", FIXED("linear_higher_is_better"), (double[]){10, 5, 0}, 3, (double[]){1, 0.5, 0});
    scorer_case("equal values are not neutral", FIXED("linear_lower_is_better"), (double[]){7, 7}, 2,
                (double[]){0.3, 0.3});
    scorer_case("values outside the range are clamped", FIXED("linear_lower_is_better"), (double[]){15, -5}, 2,
                (double[]){0, 1});
    scorer_case("endpoint missing the attribute scores zero", FIXED("linear_higher_is_better"), (double[]){10, NAN}, 2,
                (double[]){1, 0});
#undef FIXED
}

/* Without a dcgm-extractor nothing produces the key: every endpoint lacks it. */
static void test_endpointattribute_without_extractor(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: endpoint-attribute-scorer\n  parameters: {attributeKey: "
                                  GPU_KEY ", algorithm: {type: linear_lower_is_better}}\n");
    pool_t p;
    gpu_pool(&p, (double[]){0.2, 0.9}, 2);
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "endpoint-attribute-scorer", &vt);
    esi_cycle_t cy;
    memset(&cy, 0, sizeof cy);
    cy.eps = p.eps;
    cy.n = p.n;
    uint32_t idx[2] = {0, 1};
    double out[2];
    vt->x_score(s, &cy, idx, 2, out);
    assert_double_equal(out[0], 0, 0);
    assert_double_equal(out[1], 0, 0);
    release(vt, s);
    assert_false(es_scheduler_wants_gpu_util(c));
    es_epp_config_destroy(c);
    /* the data source's parameters are validated as upstream */
    cfg_fails(HEAD "plugins:\n- type: dcgm-data-source\n  parameters: {scheme: ftp}\n", "unsupported scheme: ftp");
    cfg_fails(HEAD "plugins:\n- type: dcgm-data-source\n  parameters: {interval: soon}\n", "invalid interval");
    c = cfg_text(HEAD "plugins:\n- type: dcgm-data-source\n  parameters: {port: 9400, interval: 1s}\n" DCGM);
    assert_true(es_scheduler_wants_gpu_util(c));
    es_epp_config_destroy(c);
}

/* ---- program-aware-fairness (flowcontrol/fairness/program-aware) ---- */

static void flow_record(void *ud, const es_sched_request_t *req, const es_sched_result_t *res)
{
    struct { uint64_t *o; int n; } *u = ud;
    assert_int_equal(res->status, 200);
    u->o[u->n++] = req->id;
}

/* program-aware-fairness instance of a config with `params` */
static void *pa_instance(const char *params, const esi_plugin_vt_t **vt)
{
    char text[512];
    snprintf(text, sizeof text, HEAD "plugins:\n- type: program-aware-fairness\n  parameters: %s\n", params);
    es_epp_config_t *c = cfg_text(text);
    void *s = instance(c, "program-aware-fairness", vt);
    es_epp_config_destroy(c);   /* the state keeps a copy of the parameters */
    return s;
}

/* a request of program id dispatched (PreRequest) at now */
static void pa_dispatch(const esi_plugin_vt_t *vt, void *s, const char *id, es_time_t now)
{
    es_header_t h = {"x-llm-d-inference-fairness-id", id};
    es_sched_request_t r = {0};
    r.headers = &h;
    r.nheaders = id ? 1 : 0;
    esi_cycle_t cy;
    memset(&cy, 0, sizeof cy);
    cy.req = &r;
    cy.now = now;
    vt->x_pre_request(s, &cy);
}

/* a dispatched request of id that consumed `cost` input tokens ends at now */
static void pa_serve(const esi_plugin_vt_t *vt, void *s, const char *id, uint32_t cost, es_time_t now)
{
    pa_dispatch(vt, s, id, now);
    vt->x_on_end(s, id, true, cost, 0, now);
}

/* the flow Pick serves: ids[k] with len[k] queued, head enqueued at enq[k] */
static const char *pa_pick(const esi_plugin_vt_t *vt, void *s, const char *const *ids, const size_t *len,
                           const es_time_t *enq, size_t n, es_time_t now)
{
    esi_flow_view_t f[4];
    for (size_t k = 0; k < n; k++) f[k] = (esi_flow_view_t){ids[k], len[k], enq[k]};
    long i = vt->x_pick_flow(s, f, n, now);
    return i < 0 ? NULL : ids[i];
}

/* plugin_test.go TestFactory_DefaultConfig, _LASConfig, _UnknownStrategy, _InvalidConfig */
static void test_program_aware_plugin_test_go_TestFactory(void **st)
{
    (void)st;
    es_epp_config_destroy(cfg_text(HEAD "plugins:\n- type: program-aware-fairness\n"));
    es_epp_config_destroy(cfg_text(HEAD "plugins:\n- type: program-aware-fairness\n  parameters: {strategy: las, "
                                   "lasWeightService: 0.7, lasWeightHeadWait: 0.3, lasHalfLifeSeconds: 60}\n"));
    static const struct { const char *params, *want; } bad[] = {
        {"{strategy: wfq}", "unknown scoring strategy"},
        {"{evictionTtlSeconds: -1}", "evictionTtlSeconds must be >= 0"},
        {"{evictionSweepSeconds: 0}", "evictionSweepSeconds must be > 0"},
        {"{lasWeightService: -0.1}", "lasWeightService must be >= 0"},
        {"{lasDecayFactor: 1.5}", "lasDecayFactor must be in (0, 1]"},
        {"{lasDecayFactor: 0}", "lasDecayFactor must be in (0, 1]"},
        {"{lasHalfLifeSeconds: -1}", "lasHalfLifeSeconds must be >= 0"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char text[256];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: program-aware-fairness\n  parameters: %s\n", bad[k].params);
        cfg_fails(text, bad[k].want);
    }
}

/* strategy_las_test.go TestLAS_Pick_*, TestLAS_OnCompleted_AccumulatesWeightedCost,
 * TestLAS_TimedDecay_HalvesAtHalfLife, TestLAS_FactorDecay_AppliesPerCall;
 * plugin_test.go TestPick_AllQueuesEmpty, TestPick_SingleNonEmptyQueue */
static void test_program_aware_strategy_las_test_go_TestLAS(void **st)
{
    (void)st;
    const esi_plugin_vt_t *vt;
    const es_time_t now = 100 * ES_S;
    static const char *const ab[] = {"alpha", "beta"};
    /* _Pick_PrefersLowerService */
    void *s = pa_instance("{lasWeightService: 1.0, lasWeightHeadWait: 0.0, lasDecayFactor: 1.0}", &vt);
    pa_serve(vt, s, "alpha", 1000, now);
    pa_serve(vt, s, "beta", 10, now);
    assert_string_equal(pa_pick(vt, s, ab, (size_t[]){1, 1}, (es_time_t[]){now, now}, 2, now), "beta");
    release(vt, s);
    /* _Pick_ColdStartUsesHeadWait: equal service, alpha's head waited longer */
    s = pa_instance("{lasWeightService: 1.0, lasWeightHeadWait: 1.0, lasDecayFactor: 1.0}", &vt);
    assert_string_equal(pa_pick(vt, s, ab, (size_t[]){1, 1}, (es_time_t[]){now - 500 * ES_MS, now - 50 * ES_MS}, 2,
                                now), "alpha");
    /* TestPick_AllQueuesEmpty: nothing queued, nothing served */
    assert_null(pa_pick(vt, s, ab, (size_t[]){0, 0}, (es_time_t[]){0, 0}, 2, now));
    /* TestPick_SingleNonEmptyQueue */
    assert_string_equal(pa_pick(vt, s, ab, (size_t[]){0, 1}, (es_time_t[]){0, now - 100 * ES_MS}, 2, now), "beta");
    release(vt, s);
    /* _Pick_DecaysInactiveService (factor 0.5 per Pick): idle 100 -> 50, seen
     * against a busy flow "ref" with service 60 that stays queued */
    static const char *const ir[] = {"idle", "ref"};
    s = pa_instance("{lasWeightService: 1.0, lasWeightHeadWait: 0.0, lasDecayFactor: 0.5}", &vt);
    pa_serve(vt, s, "idle", 100, now);
    pa_serve(vt, s, "ref", 60, now);
    assert_string_equal(pa_pick(vt, s, ir, (size_t[]){1, 1}, (es_time_t[]){now, now}, 2, now), "ref");
    assert_null(pa_pick(vt, s, ir, (size_t[]){0, 0}, (es_time_t[]){0, 0}, 2, now));   /* both decay: 50, 30 */
    assert_string_equal(pa_pick(vt, s, ir, (size_t[]){1, 1}, (es_time_t[]){now, now}, 2, now), "ref");
    assert_string_equal(pa_pick(vt, s, ir, (size_t[]){0, 1}, (es_time_t[]){0, now}, 2, now), "ref");   /* idle 25, ref 30 */
    assert_string_equal(pa_pick(vt, s, ir, (size_t[]){1, 1}, (es_time_t[]){now, now}, 2, now), "idle");
    release(vt, s);
    /* _Pick_NoDecayWhenInFlight: busy keeps 100 while a request is in flight */
    static const char *const br[] = {"busy", "ref"};
    s = pa_instance("{lasWeightService: 1.0, lasWeightHeadWait: 0.0, lasDecayFactor: 0.5}", &vt);
    pa_serve(vt, s, "busy", 100, now);
    pa_serve(vt, s, "ref", 60, now);
    pa_dispatch(vt, s, "busy", now);
    for (int i = 0; i < 3; i++)   /* ref is queued (no decay), busy is in flight (no decay) */
        assert_string_equal(pa_pick(vt, s, br, (size_t[]){0, 1}, (es_time_t[]){0, now}, 2, now), "ref");
    assert_string_equal(pa_pick(vt, s, br, (size_t[]){1, 1}, (es_time_t[]){now, now}, 2, now), "ref");
    release(vt, s);
    /* _OnCompleted_AccumulatesWeightedCost: 1 x 100 + 2 x 50 = 200 (against a flow at 199 and one at 201) */
    static const char *const abc[] = {"alpha", "lo", "hi"};
    s = pa_instance("{lasWeightService: 1.0, lasWeightHeadWait: 0.0, lasDecayFactor: 1.0}", &vt);
    pa_dispatch(vt, s, "alpha", now);
    vt->x_on_end(s, "alpha", true, 100, 50, now);
    pa_serve(vt, s, "lo", 199, now);
    pa_serve(vt, s, "hi", 201, now);
    assert_string_equal(pa_pick(vt, s, abc, (size_t[]){1, 0, 1}, (es_time_t[]){now, 0, now}, 3, now), "alpha");
    assert_string_equal(pa_pick(vt, s, abc, (size_t[]){1, 1, 0}, (es_time_t[]){now, now, 0}, 3, now), "lo");
    /* an abandoned request (no end of stream) adds no service */
    pa_dispatch(vt, s, "lo", now);
    vt->x_on_end(s, "lo", false, 0, 0, now);
    assert_string_equal(pa_pick(vt, s, abc, (size_t[]){1, 1, 0}, (es_time_t[]){now, now, 0}, 3, now), "lo");
    release(vt, s);
    /* _TimedDecay_HalvesAtHalfLife: half-life 1 s, 100 served at now; one
     * second idle later it is 50, below ref's 60 */
    s = pa_instance("{lasWeightService: 1.0, lasWeightHeadWait: 0.0, lasHalfLifeSeconds: 1}", &vt);
    pa_serve(vt, s, "idle", 100, now);
    pa_serve(vt, s, "ref", 60, now);
    assert_string_equal(pa_pick(vt, s, ir, (size_t[]){0, 1}, (es_time_t[]){0, now}, 2, now + ES_S), "ref");
    assert_string_equal(pa_pick(vt, s, ir, (size_t[]){1, 1}, (es_time_t[]){now, now}, 2, now + ES_S), "idle");
    release(vt, s);
}

/* plugin_test.go TestEvictIdle_RemovesIdle, _KeepsInFlight, _EvictsNeverCompletedAfterTTL:
 * the sweep (every evictionSweepSeconds) forgets programs idle longer than the TTL */
static void test_program_aware_plugin_test_go_TestEvictIdle(void **st)
{
    (void)st;
    const esi_plugin_vt_t *vt;
    static const char *const ab[] = {"alpha", "beta"};
    void *s = pa_instance("{lasWeightService: 1.0, lasWeightHeadWait: 0.0, lasDecayFactor: 1.0, "
                          "evictionTtlSeconds: 1, evictionSweepSeconds: 1}", &vt);
    pa_serve(vt, s, "alpha", 100, 0);
    pa_serve(vt, s, "beta", 50, 0);
    pa_dispatch(vt, s, "beta", 0);   /* beta stays in flight: kept */
    /* at 10 s alpha, idle 10 s > 1 s, is forgotten (service 0), beta kept (50) */
    assert_string_equal(pa_pick(vt, s, ab, (size_t[]){1, 1}, (es_time_t[]){0, 0}, 2, 10 * ES_S), "alpha");
    release(vt, s);
    /* without eviction (TTL 0) alpha keeps its 100 */
    s = pa_instance("{lasWeightService: 1.0, lasWeightHeadWait: 0.0, lasDecayFactor: 1.0, evictionTtlSeconds: 0}",
                    &vt);
    pa_serve(vt, s, "alpha", 100, 0);
    pa_serve(vt, s, "beta", 50, 0);
    assert_string_equal(pa_pick(vt, s, ab, (size_t[]){1, 1}, (es_time_t[]){0, 0}, 2, 10 * ES_S), "beta");
    release(vt, s);
}

/* The flow controller serves the least-served program first (scheduler path). */
static void test_program_aware_flow_control(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "featureGates: [flowControl]\nplugins:\n- type: program-aware-fairness\n"
                                  "- type: queue-scorer\n- type: max-score-picker\n- type: single-profile-handler\n"
                                  "flowControl:\n  defaultPriorityBand:\n    fairnessPolicyRef: program-aware-fairness\n"
                                  "schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: queue-scorer\n"
                                  "  - pluginRef: max-score-picker\n");
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    pool_t p;
    pool_init(&p, 2, 0);
    es_header_t ha = {"x-llm-d-inference-fairness-id", "a"}, hb = {"x-gateway-inference-fairness-id", "b"};
    es_sched_request_t r[4] = {{0}};
    es_sched_result_t res = {0};
    for (int i = 0; i < 4; i++) {
        r[i].id = (uint64_t)i + 1;
        r[i].content.tokens = 100;
        r[i].headers = i % 2 ? &hb : &ha;
        r[i].nheaders = 1;
    }
    /* a served 1000 tokens, b 10 */
    assert_int_equal(es_scheduler_pick(s, &r[0], p.eps, p.n, 0, &res), 0);
    assert_int_equal(es_scheduler_pick(s, &r[1], p.eps, p.n, 0, &res), 0);
    es_scheduler_on_end_usage(s, 1, ES_MS, 1000, 0);
    es_scheduler_on_end_usage(s, 2, ES_MS, 10, 0);
    /* a's request queued first, b's second: b is served first */
    r[2].id = 3; r[3].id = 4;
    assert_int_equal(es_scheduler_submit(s, &r[2], p.eps, p.n, 2 * ES_MS, &res), 0);
    assert_int_equal(res.status, ES_SCHED_QUEUED);
    assert_int_equal(es_scheduler_submit(s, &r[3], p.eps, p.n, 2 * ES_MS, &res), 0);
    uint64_t order[2] = {0, 0};
    struct { uint64_t *o; int n; } ud = {order, 0};
    for (int i = 0; i < 2; i++)
        assert_int_equal(es_scheduler_flow_cycle(s, p.eps, p.n, 3 * ES_MS, flow_record, &ud), 1);
    assert_int_equal(order[0], 4);
    assert_int_equal(order[1], 3);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
}

/* ---- burst-prefix-cache-producer (requestcontrol/dataproducer/burstprefix) ---- */

/* A batch: groups of `count` identical requests with the given blocks (0-terminated). */
typedef struct { int count; uint64_t h[12]; } bgroup_t;

/* assigns the groups over `nrep` replicas pod1..; names[i] = the pod of request i ("" none) */
static size_t burst_run(const bgroup_t *g, size_t ng, size_t nrep, int64_t k, int64_t mc, bool by_tokens,
                        const char **names)
{
    const uint64_t *hs[64];
    uint32_t nb[64];
    size_t n = 0;
    for (size_t i = 0; i < ng; i++) {
        uint32_t len = 0;
        while (len < 12 && g[i].h[len]) len++;
        for (int j = 0; j < g[i].count; j++) { hs[n] = g[i].h; nb[n++] = len; }
    }
    pool_t p;
    pool_init(&p, nrep, 0);
    int64_t a[64];
    esi_burst_assign(hs, nb, n, p.eps, p.n, k, mc, by_tokens, a);
    static char names_buf[64][16];
    for (size_t i = 0; i < n; i++) {
        snprintf(names_buf[i], sizeof names_buf[i], "%s", a[i] < 0 ? "" : p.names[a[i]]);
        names[i] = names_buf[i];
    }
    return n;
}

/* requests per pod, "pod1=4 pod2=4" */
static void burst_counts(const char **names, size_t n, size_t nrep, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t r = 1; r <= nrep; r++) {
        char pod[16];
        snprintf(pod, sizeof pod, "pod%zu", r);
        int c = 0;
        for (size_t i = 0; i < n; i++) c += strcmp(names[i], pod) == 0;
        if (!c) continue;
        size_t l = strlen(out);
        snprintf(out + l, size - l, "%s%s=%d", l ? " " : "", pod, c);
    }
}

/* assign_test.go TestAssign_* (17 cases) */
static void test_burstprefix_assign_test_go_TestAssign(void **st)
{
    (void)st;
    const char *a[64];
    char c[128];
    size_t n;
    /* _UnlimitedColocatesWholeGroup */
    n = burst_run((bgroup_t[]){{8, {1, 2, 3}}}, 1, 4, -1, 0, false, a);
    for (size_t i = 0; i < n; i++) assert_string_equal(a[i], "pod1");
    /* _CapSpreadsEvenly */
    n = burst_run((bgroup_t[]){{8, {1, 2, 3}}}, 1, 4, 2, 0, false, a);
    burst_counts(a, n, 4, c, sizeof c);
    assert_string_equal(c, "pod1=2 pod2=2 pod3=2 pod4=2");
    /* _CapFillsBeforeSpilling */
    n = burst_run((bgroup_t[]){{8, {1, 2, 3}}}, 1, 4, 4, 0, false, a);
    burst_counts(a, n, 4, c, sizeof c);
    assert_string_equal(c, "pod1=4 pod2=4");
    /* _SingletonGetsNoAffinity */
    burst_run((bgroup_t[]){{1, {1, 2, 3}}}, 1, 2, -1, 0, false, a);
    assert_string_equal(a[0], "");
    /* _EmptyPrefixGetsNoAffinity */
    n = burst_run((bgroup_t[]){{2, {0}}}, 1, 2, -1, 0, false, a);
    assert_string_equal(a[0], "");
    assert_string_equal(a[1], "");
    /* _DistinctGroupsSpreadAcrossReplicas */
    n = burst_run((bgroup_t[]){{8, {1, 2, 3}}, {8, {9, 9, 9}}}, 2, 4, -1, 0, false, a);
    for (size_t i = 0; i < 8; i++) { assert_string_equal(a[i], "pod1"); assert_string_equal(a[8 + i], "pod2"); }
    /* _SharedPrefixFamiliesColocateWithinFairShare */
    n = burst_run((bgroup_t[]){{2, {1, 2, 3}}, {2, {1, 2, 4}}, {2, {7, 8, 5}}, {2, {7, 8, 6}}}, 4, 2, -1, 2, false, a);
    assert_string_equal(a[0], a[2]);
    assert_string_equal(a[4], a[6]);
    assert_string_not_equal(a[0], a[4]);
    burst_counts(a, n, 2, c, sizeof c);
    assert_string_equal(c, "pod1=4 pod2=4");
    /* _FairShareSpreadsPrefixSharingGroups */
    n = burst_run((bgroup_t[]){{2, {1, 2, 3}}, {2, {1, 2, 4}}, {2, {1, 2, 5}}, {2, {1, 2, 6}}}, 4, 4, -1, 2, false, a);
    burst_counts(a, n, 4, c, sizeof c);
    assert_string_equal(c, "pod1=2 pod2=2 pod3=2 pod4=2");
    /* _SingletonAttachesToOverlappingGroup */
    n = burst_run((bgroup_t[]){{2, {1, 2, 3}}, {1, {1, 2, 8}}, {2, {7, 8, 5}}, {1, {7, 8, 9}}}, 4, 2, -1, 2, false, a);
    assert_string_equal(a[0], a[1]);
    assert_string_equal(a[0], a[2]);
    assert_string_equal(a[3], a[5]);
    burst_counts(a, n, 2, c, sizeof c);
    assert_string_equal(c, "pod1=3 pod2=3");
    /* _LoneSingletonGetsNoAffinity */
    burst_run((bgroup_t[]){{2, {1, 2, 3}}, {1, {5, 5, 5}}}, 2, 2, -1, 2, false, a);
    assert_string_equal(a[2], "");
    assert_string_equal(a[0], a[1]);
    /* _OverlappingSingletonsColocateWithoutGroups */
    n = burst_run((bgroup_t[]){{1, {1, 2, 3}}, {1, {1, 2, 4}}, {1, {1, 2, 5}}, {1, {1, 2, 6}}}, 4, 2, -1, 2, false, a);
    for (size_t i = 0; i < n; i++) assert_string_not_equal(a[i], "");
    burst_counts(a, n, 2, c, sizeof c);
    assert_string_equal(c, "pod1=2 pod2=2");
    /* _SharedPrefixBelowThresholdDoesNotColocate */
    n = burst_run((bgroup_t[]){{2, {1, 2, 3}}, {2, {1, 2, 4}}, {2, {7, 8, 5}}, {2, {7, 8, 6}}}, 4, 2, -1, 3, false, a);
    assert_string_not_equal(a[0], a[2]);
    burst_counts(a, n, 2, c, sizeof c);
    assert_string_equal(c, "pod1=4 pod2=4");
    /* _SingleReplicaPlacesEverything */
    n = burst_run((bgroup_t[]){{4, {1, 2, 3}}, {4, {9, 9, 9}}}, 2, 1, -1, 2, false, a);
    for (size_t i = 0; i < n; i++) assert_string_equal(a[i], "pod1");
    /* _BalanceByTokensSpreadsLargePrefix: long = a[0..1], short1 = a[2..3], short2 = a[4..5] */
    burst_run((bgroup_t[]){{2, {1, 2, 3, 4}}, {2, {5}}, {2, {6}}}, 3, 2, -1, 0, false, a);
    assert_string_equal(a[0], a[4]);
    burst_run((bgroup_t[]){{2, {1, 2, 3, 4}}, {2, {5}}, {2, {6}}}, 3, 2, -1, 0, true, a);
    assert_string_not_equal(a[0], a[2]);
    assert_string_equal(a[2], a[4]);
    /* _BalanceByTokensDiscountsSharedPrefix */
    burst_run((bgroup_t[]){{2, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}, {2, {1, 2, 3, 4, 5, 6, 7, 8, 9, 11}},
                           {2, {1, 2, 3, 4, 5, 6, 7, 8, 9, 12}}}, 3, 2, -1, 9, true, a);
    assert_string_equal(a[0], a[2]);
    assert_string_equal(a[2], a[4]);
    /* _OverflowGuardBalancesBeyondCap */
    n = burst_run((bgroup_t[]){{8, {1, 2, 3}}}, 1, 2, 2, 0, false, a);
    for (size_t i = 0; i < n; i++) assert_string_not_equal(a[i], "");
    burst_counts(a, n, 2, c, sizeof c);
    assert_string_equal(c, "pod1=4 pod2=4");
}

/* plugin_test.go (newDataProducer validation) */
static void test_burstprefix_plugin_test_go_TestNewDataProducerValidation(void **st)
{
    (void)st;
    static const struct { const char *params, *want; } bad[] = {
        {"{windowDurationMs: 0}", "windowDurationMs must be > 0"},
        {"{windowDurationMs: 10001}", "windowDurationMs must be <= 10000"},
        {"{maxPerReplica: 0}", "maxPerReplica must be -1 (unlimited) or >= 1"},
        {"{blockSizeTokens: 0}", "blockSizeTokens must be > 0"},
        {"{maxPrefixTokensToMatch: -1}", "maxPrefixTokensToMatch must be >= 0"},
        {"{maxPrefixTokensToMatch: 32}", "must be 0 or >= blockSizeTokens"},
        {"{minColocateBlocks: -1}", "minColocateBlocks must be >= 0"},
        {"{maxBatchSize: 0}", "maxBatchSize must be -1 (unlimited) or >= 1"},
        {"{balanceBy: bytes}", "balanceBy must be \"requests\" or \"tokens\""},
        {"{window: 1}", "window"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char text[256];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: burst-prefix-cache-producer\n  parameters: %s\n",
                 bad[k].params);
        cfg_fails(text, bad[k].want);
    }
    es_epp_config_destroy(cfg_text(HEAD "plugins:\n- type: burst-prefix-cache-producer\n  parameters: "
                                   "{windowDurationMs: 100, maxPerReplica: -1, minColocateBlocks: 0, "
                                   "maxBatchSize: -1, balanceBy: tokens}\n"));
}

static void burst_record(void *ud, const es_sched_request_t *req, const es_sched_result_t *res)
{
    uint32_t *pick = ud;
    assert_int_equal(res->status, 200);
    pick[req->id] = res->primary;
}

/* Through the scheduler: requests are held for the window, then identical
 * prompts co-locate (Produce waits for the seal; the prefix-cache-scorer
 * reads the assignment). */
static void test_burstprefix_scheduler_window(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: burst-prefix-cache-producer\n  parameters: "
                                  "{windowDurationMs: 100}\n- type: prefix-cache-scorer\n  parameters: "
                                  "{prefixMatchInfoProducerName: burst-prefix-cache-producer}\n"
                                  "- type: queue-scorer\n- type: max-score-picker\n"
                                  "schedulingProfiles:\n- name: default\n  plugins:\n"
                                  "  - pluginRef: prefix-cache-scorer\n    weight: 2\n  - pluginRef: queue-scorer\n");
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    pool_t p;
    pool_init(&p, 4, 0);
    es_segment_t seg[2] = {{11, 512}, {22, 512}};
    es_sched_request_t r[9] = {{0}};
    es_sched_result_t res = {0};
    for (uint64_t i = 1; i <= 8; i++) {   /* 4 samples of prompt A, 4 of prompt B, interleaved */
        r[i].id = i;
        r[i].model = "m";
        r[i].content.segs = &seg[i % 2];
        r[i].content.nsegs = 1;
        r[i].content.tokens = 512;
        assert_int_equal(es_scheduler_submit(s, &r[i], p.eps, p.n, (es_time_t)i * ES_MS, &res), 0);
        assert_int_equal(res.status, ES_SCHED_QUEUED);
    }
    assert_int_equal(es_scheduler_flow_queued(s), 8);
    assert_int_equal(es_scheduler_flow_next_expiry(s), 101 * ES_MS);
    uint32_t pick[9];
    assert_int_equal(es_scheduler_flow_cycle(s, p.eps, p.n, 100 * ES_MS, burst_record, pick), 0);   /* still open */
    assert_int_equal(es_scheduler_flow_cycle(s, p.eps, p.n, 101 * ES_MS, burst_record, pick), 8);
    for (int i = 3; i <= 8; i++) assert_int_equal(pick[i], pick[i - 2]);   /* each prompt on one pod */
    assert_int_not_equal(pick[1], pick[2]);
    assert_int_equal(es_scheduler_flow_queued(s), 0);
    /* es_scheduler_pick decides at once: a batch of one has no affinity */
    r[1].id = 100;
    assert_int_equal(es_scheduler_pick(s, &r[1], p.eps, p.n, ES_S, &res), 0);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.est_total_blocks, 0);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
}

/* ---- token-load-scorer, inflight-load-producer ---- */

/* scoring/scorer/tokenload/token_load_test.go TestTokenLoadScorer */
static void test_tokenload_token_load_test_go_TestTokenLoadScorer(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: token-load-scorer\n  parameters: {queueThresholdTokens: 1000}\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "token-load-scorer", &vt);
    pool_t p;
    pool_init(&p, 3, 0);
    esi_cycle_t cy;
    memset(&cy, 0, sizeof cy);
    cy.eps = p.eps;
    cy.n = 3;
    uint32_t idx[3] = {0, 1, 2};
    double out[3];
    /* "in-flight load only" (the request has no tokens) */
    int64_t infl[3] = {0, 500, 1000};
    cy.inflight_tok = infl;
    vt->x_score(s, &cy, idx, 3, out);
    assert_double_equal(out[0], 1.0, 1e-4);
    assert_double_equal(out[1], 0.5, 1e-4);
    assert_double_equal(out[2], 0.0, 1e-4);
    /* "in-flight load plus current request impact": 250 uncached tokens everywhere */
    int64_t infl2[3] = {0, 250, 750};
    cy.inflight_tok = infl2;
    cy.est_tokens = 250;
    vt->x_score(s, &cy, idx, 3, out);
    assert_double_equal(out[0], 0.75, 1e-4);
    assert_double_equal(out[1], 0.5, 1e-4);
    assert_double_equal(out[2], 0.0, 1e-4);
    release(vt, s);
    es_epp_config_destroy(c);
}

/* requestcontrol/dataproducer/inflightload/producer_test.go TestUncachedInputTokens_Overestimate,
 * TestInFlightLoadProducer_PrefixCacheDiscount (_PerEndpoint) arithmetic */
static void test_inflightload_producer_test_go_TestUncachedInputTokens(void **st)
{
    (void)st;
    assert_int_equal(esi_uncached_tokens(5, 1, 2, 4), 4);   /* _Overestimate: indexed - matched wins */
    assert_int_equal(esi_uncached_tokens(8, 1, 2, 4), 4);   /* _PrefixCacheDiscount: (2-1)*4 + 0 */
    assert_int_equal(esi_uncached_tokens(8, 2, 2, 4), 0);   /* _PerEndpoint: fully cached */
    assert_int_equal(esi_uncached_tokens(8, 0, 2, 4), 8);   /* none cached */
    assert_int_equal(esi_uncached_tokens(10, 1, 2, 4), 6);  /* tail beyond the indexed blocks */
}

/* producer_test.go TestInFlightLoadProducer_Lifecycle, _ExcludeOutputTokens_StartOfStreamRelease,
 * TestInFlightLoadProducerFactory_OutputRatio, _MaxEstimatedOutputTokens, through the scheduler */
static void test_inflightload_producer_test_go_TestInFlightLoadProducer_Lifecycle(void **st)
{
    (void)st;
    static const struct { const char *params; int64_t want_tok, after_first; } cases[] = {
        {"{addEstimatedOutputTokens: true}", 10, 10},            /* 4 input + round(4 x 1.5) */
        {"{addEstimatedOutputTokens: true, outputRatio: 0.5}", 6, 6},
        {"{addEstimatedOutputTokens: true, maxEstimatedOutputTokens: 3}", 7, 7},
        {"{}", 4, 0},   /* default: no output estimate, the tokens go at the first chunk */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: inflight-load-producer\n  parameters: %s\n"
                 "- type: queue-scorer\n- type: max-score-picker\n", cases[k].params);
        es_epp_config_t *c = cfg_text(text);
        es_scheduler_t *s;
        es_err_t err;
        assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
        pool_t p;
        pool_init(&p, 2, 0);
        es_sched_request_t r = {0};
        r.id = 7;
        r.body_bytes = 16;   /* 4 tokens of 4 bytes */
        es_sched_result_t res = {0};
        assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
        int64_t q, t;
        es_scheduler_get_inflight(s, res.primary, &q, &t);
        assert_int_equal(q, 1);
        assert_int_equal(t, cases[k].want_tok);
        es_scheduler_on_first_chunk(s, 7, 1);
        es_scheduler_get_inflight(s, res.primary, &q, &t);
        assert_int_equal(q, 1);
        assert_int_equal(t, cases[k].after_first);
        es_scheduler_on_end_usage(s, 7, 2, 4, 6);
        es_scheduler_get_inflight(s, res.primary, &q, &t);
        assert_int_equal(q, 0);
        assert_int_equal(t, 0);
        es_scheduler_destroy(s);
        es_epp_config_destroy(c);
    }
    cfg_fails(HEAD "plugins:\n- type: inflight-load-producer\n  parameters: {outputRatio: -1}\n",
              "outputRatio must be non-negative");
    cfg_fails(HEAD "plugins:\n- type: inflight-load-producer\n  parameters: {maxEstimatedOutputTokens: -1}\n",
              "maxEstimatedOutputTokens must be non-negative");
}

/* ---- priority-holdback-policy, header-label-affinity-scorer ---- */

/* flowcontrol/usagelimits/priorityholdback/priority_holdback_test.go TestPolicyFactory (17 cases),
 * TestPolicyFactory_DefaultMaxCeiling, TestComputeLimit_*, TestStepwiseSpread_*, TestLinearProportional_* */
static void holdback_case(const char *params, const int64_t *prio, size_t n, const double *want)
{
    char text[256];
    snprintf(text, sizeof text, HEAD "plugins:\n- type: priority-holdback-policy\n  parameters: %s\n", params);
    es_epp_config_t *c = cfg_text(text);
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "priority-holdback-policy", &vt);
    double got[8];
    for (size_t i = 0; i < n; i++) got[i] = -1;
    vt->x_limits(s, 0.5, prio, n, got);
    for (size_t i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > 1e-9) fail_msg("%s: ceiling %zu = %g, want %g", params, i, got[i], want[i]);
    release(vt, s);
    es_epp_config_destroy(c);
}

static void test_priorityholdback_priority_holdback_test_go(void **st)
{
    (void)st;
    static const char *const good[] = {"{domain: rank, minCeiling: 0.5}", "{domain: value, minCeiling: 0.3, maxCeiling: 0.9}",
                                       "{domain: rank, minCeiling: 0.2, maxCeiling: 0.8}", "{minCeiling: 0.5}",
                                       "{shape: linear, minCeiling: 0.5}", "{minCeiling: 0.0}"};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        char text[256];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: priority-holdback-policy\n  parameters: %s\n", good[k]);
        es_epp_config_destroy(cfg_text(text));
    }
    static const struct { const char *params, *want; } bad[] = {
        {"{domain: rank}", "minCeiling is required"}, {"{}", "minCeiling is required"},
        {"{shape: sigmoid, minCeiling: 0.5}", "unsupported shape"}, {"{domain: unknown, minCeiling: 0.5}", "unsupported domain"},
        {"{minCeiling: -0.1}", "minCeiling must be in [0.0, 1.0)"}, {"{minCeiling: 1.0}", "minCeiling must be in [0.0, 1.0)"},
        {"{minCeiling: 0.5, maxCeiling: 0.0}", "maxCeiling must be in (0.0, 1.0]"},
        {"{minCeiling: 0.5, maxCeiling: 1.1}", "maxCeiling must be in (0.0, 1.0]"},
        {"{minCeiling: 0.5, maxCeiling: 0.5}", "must be strictly less than maxCeiling"},
        {"{minCeiling: 0.8, maxCeiling: 0.5}", "must be strictly less than maxCeiling"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char text[256];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: priority-holdback-policy\n  parameters: %s\n", bad[k].params);
        cfg_fails(text, bad[k].want);
    }
    cfg_fails(HEAD "plugins:\n- type: priority-holdback-policy\n", "minCeiling is required");   /* nil config */
    /* _SinglePriority: maxCeiling (default 1.0 / custom) */
    holdback_case("{minCeiling: 0.5}", (int64_t[]){10}, 1, (double[]){1.0});
    holdback_case("{domain: value, minCeiling: 0.5}", (int64_t[]){10}, 1, (double[]){1.0});
    holdback_case("{minCeiling: 0.5, maxCeiling: 0.9}", (int64_t[]){10}, 1, (double[]){0.9});
    /* stepwise (rank): two, three, four priorities; values ignored; boundary; narrow */
    holdback_case("{minCeiling: 0.5}", (int64_t[]){100, 10}, 2, (double[]){1.0, 0.5});
    holdback_case("{minCeiling: 0.5}", (int64_t[]){100, 50, 10}, 3, (double[]){1.0, 0.75, 0.5});
    holdback_case("{minCeiling: 0.5}", (int64_t[]){1000, 2, 1}, 3, (double[]){1.0, 0.75, 0.5});
    holdback_case("{minCeiling: 0.5}", (int64_t[]){100, 75, 50, 10}, 4, (double[]){1.0, 5.0 / 6, 4.0 / 6, 0.5});
    holdback_case("{minCeiling: 0.0}", (int64_t[]){10, 5, 1}, 3, (double[]){1.0, 0.5, 0.0});
    holdback_case("{minCeiling: 0.8, maxCeiling: 0.9}", (int64_t[]){10, 5, 1}, 3, (double[]){0.9, 0.85, 0.8});
    /* linear proportional (value): two; even spacing; skewed low; skewed; duplicates */
    holdback_case("{domain: value, minCeiling: 0.5}", (int64_t[]){100, 10}, 2, (double[]){1.0, 0.5});
    holdback_case("{domain: value, minCeiling: 0.5}", (int64_t[]){90, 50, 10}, 3, (double[]){1.0, 0.75, 0.5});
    holdback_case("{domain: value, minCeiling: 0.5}", (int64_t[]){100, 50, 10}, 3,
                  (double[]){1.0, 0.5 + 40.0 / 90 * 0.5, 0.5});
    holdback_case("{domain: value, minCeiling: 0.5}", (int64_t[]){100, 2, 1}, 3, (double[]){1.0, 0.5 + 0.5 / 99, 0.5});
    holdback_case("{domain: value, minCeiling: 0.5}", (int64_t[]){10, 10, 10}, 3, (double[]){1.0, 1.0, 1.0});
}

/* scheduling/scorer/headerlabelaffinity (plugin.go): read from the code */
static void test_headerlabelaffinity(void **st)
{
    (void)st;
    cfg_fails(HEAD "plugins:\n- type: header-label-affinity-scorer\n", "requires parameters");
    cfg_fails(HEAD "plugins:\n- type: header-label-affinity-scorer\n  parameters: {labelKey: tier}\n", "headerName is required");
    cfg_fails(HEAD "plugins:\n- type: header-label-affinity-scorer\n  parameters: {headerName: X-Tier}\n", "labelKey is required");
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: header-label-affinity-scorer\n  parameters: "
                                  "{headerName: X-Tier, labelKey: tier}\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "header-label-affinity-scorer", &vt);
    pool_t p;
    pool_init(&p, 3, 0);
    es_label_t l[3] = {{"tier", "gold"}, {"tier", "silver"}, {"zone", "gold"}};
    for (int i = 0; i < 3; i++) { p.eps[i].labels = &l[i]; p.eps[i].nlabels = 1; }
    es_header_t h = {"x-tier", "gold"};
    es_sched_request_t r = {0};
    r.headers = &h;
    r.nheaders = 1;
    esi_cycle_t cy;
    memset(&cy, 0, sizeof cy);
    cy.req = &r;
    cy.eps = p.eps;
    cy.n = 3;
    uint32_t idx[3] = {0, 1, 2};
    double out[3];
    vt->x_score(s, &cy, idx, 3, out);
    assert_double_equal(out[0], 1, 0);
    assert_double_equal(out[1], 0, 0);
    assert_double_equal(out[2], 0, 0);
    r.nheaders = 0;   /* no header: 0 everywhere */
    vt->x_score(s, &cy, idx, 3, out);
    assert_double_equal(out[0], 0, 0);
    release(vt, s);
    es_epp_config_destroy(c);
}

/* scheduling/test/filter/filter_test.go TestFilter (8 cases): survivors as a
 * 0/1 string by candidate (eppsim keeps the candidates' order) */
static void test_testfilter_filter_test_go_TestFilter(void **st)
{
    (void)st;
    static const struct { const char *name, *header; const char *addr[3]; size_t n; const char *want; } cases[] = {
        {"header unset in request", NULL, {"10.0.0.1:3000"}, 1, "0"},
        {"header set but no IP match", "10.0.0.99", {"10.0.0.1:3000"}, 1, "0"},
        {"IP-only header matches pod (port-agnostic)", "10.0.0.1", {"10.0.0.1:3002"}, 1, "1"},
        {"IP:port header matches exact port", "10.0.0.1:3002", {"10.0.0.1:3000", "10.0.0.1:3002", "10.0.0.2:3002"}, 3,
         "010"},
        {"IP:port header with non-matching port produces no match", "10.0.0.1:9999", {"10.0.0.1:3002"}, 1, "0"},
        {"multiple header values (IP and IP:port) ... deduped", "10.0.0.3:3004, 10.0.0.2, 10.0.0.3",
         {"10.0.0.1:3000", "10.0.0.2:3002", "10.0.0.3:3004"}, 3, "011"},
        {"IPv6 with brackets and port", "[fd00::1]:3002", {"[fd00::1]:3002", "[fd00::2]:3002"}, 2, "10"},
        {"IPv6 bare address (no port)", "fd00::2", {"[fd00::1]:3002", "[fd00::2]:3004"}, 2, "01"},
    };
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: header-based-testing-filter\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "header-based-testing-filter", &vt);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        pool_t p;
        pool_init(&p, cases[k].n, 0);
        for (size_t i = 0; i < cases[k].n; i++) p.eps[i].address = cases[k].addr[i];
        es_header_t h = {"test-epp-endpoint-selection", cases[k].header};
        es_sched_request_t r = {0};
        r.headers = &h;
        r.nheaders = cases[k].header ? 1 : 0;
        esi_cycle_t cy;
        memset(&cy, 0, sizeof cy);
        cy.req = &r;
        cy.eps = p.eps;
        cy.n = p.n;
        uint32_t idx[3] = {0, 1, 2};
        size_t m = vt->x_filter(s, &cy, idx, p.n);
        char got[4] = "000";
        got[p.n] = '\0';
        for (size_t i = 0; i < m; i++) got[idx[i]] = '1';
        if (strcmp(got, cases[k].want)) fail_msg("%s: got %s want %s", cases[k].name, got, cases[k].want);
    }
    release(vt, s);
    es_epp_config_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpointattribute_filter_test_go_TestEndpointAttributeFilterFactory),
        cmocka_unit_test(test_endpointattribute_filter_test_go_TestEndpointAttributeFilterFilter),
        cmocka_unit_test(test_endpointattribute_test_go_TestEndpointAttributeScorerFactory),
        cmocka_unit_test(test_endpointattribute_test_go_TestEndpointAttributeScorerScoreAdaptiveRange),
        cmocka_unit_test(test_endpointattribute_test_go_TestEndpointAttributeScorerScoreFixedRange),
        cmocka_unit_test(test_endpointattribute_without_extractor),
        cmocka_unit_test(test_program_aware_plugin_test_go_TestFactory),
        cmocka_unit_test(test_program_aware_strategy_las_test_go_TestLAS),
        cmocka_unit_test(test_program_aware_plugin_test_go_TestEvictIdle),
        cmocka_unit_test(test_program_aware_flow_control),
        cmocka_unit_test(test_burstprefix_assign_test_go_TestAssign),
        cmocka_unit_test(test_burstprefix_plugin_test_go_TestNewDataProducerValidation),
        cmocka_unit_test(test_burstprefix_scheduler_window),
        cmocka_unit_test(test_tokenload_token_load_test_go_TestTokenLoadScorer),
        cmocka_unit_test(test_inflightload_producer_test_go_TestUncachedInputTokens),
        cmocka_unit_test(test_inflightload_producer_test_go_TestInFlightLoadProducer_Lifecycle),
        cmocka_unit_test(test_priorityholdback_priority_holdback_test_go),
        cmocka_unit_test(test_headerlabelaffinity),
        cmocka_unit_test(test_testfilter_filter_test_go_TestFilter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
