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
#include "internal.h"

#define HEAD "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\n"
/* eppsim produces one attribute, the DCGM GPU utilisation; upstream's tests
 * use custom metric keys, which eppsim's pods never carry */
#define DCGM "- type: dcgm-extractor\n"
#define GPU_KEY "GPUUtilization/dcgm-extractor"

static void *instance(const es_epp_config_t *c, const char *name, const esi_plugin_vt_t **vt_out)
{
    for (size_t i = 0; i < c->nplugins; i++) {
        if (strcmp(c->plugins[i].name, name)) continue;
        const esi_plugin_vt_t *vt = c->plugins[i].vt;
        void *st = calloc(1, vt->state_size ? vt->state_size : 8);
        assert_non_null(st);
        es_err_t err;
        if (vt->x_init) assert_int_equal(vt->x_init(st, c->plugins[i].params, NULL, &err), 0);
        else if (vt->params_size) memcpy(st, c->plugins[i].params, vt->params_size);
        *vt_out = vt;
        return st;
    }
    fail_msg("no plugin %s", name);
    return NULL;
}

static void release(const esi_plugin_vt_t *vt, void *st)
{
    if (vt->x_fini) vt->x_fini(st);
    free(st);
}

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpointattribute_filter_test_go_TestEndpointAttributeFilterFactory),
        cmocka_unit_test(test_endpointattribute_filter_test_go_TestEndpointAttributeFilterFilter),
        cmocka_unit_test(test_endpointattribute_test_go_TestEndpointAttributeScorerFactory),
        cmocka_unit_test(test_endpointattribute_test_go_TestEndpointAttributeScorerScoreAdaptiveRange),
        cmocka_unit_test(test_endpointattribute_test_go_TestEndpointAttributeScorerScoreFixedRange),
        cmocka_unit_test(test_endpointattribute_without_extractor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
