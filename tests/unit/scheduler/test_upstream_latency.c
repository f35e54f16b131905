/*
 * test_upstream_latency.c -- the predicted-latency family's Go test cases of
 * llm-d-router v0.10.0 (commit 71f4f0999f95b96c49a9d0c4afbd18dfdb943c26),
 * ported by reading, one cmocka test per Go test, named after it
 * (package_file_TestName); the Go case names are kept in comments or table
 * columns.  Where the Go test only checks an order or a sign, the case here
 * checks the exact value the formula gives.  tests/upstream/README lists what
 * was ported and what was skipped, with reasons.
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
#include "plugins_internal.h"



/* A cycle over pool p; latency may be NULL (no predictions). */
typedef struct fixture {
    pool_t             p;
    es_sched_request_t req;
    esi_latency_info_t li[TEST_MAX_EPS];
    uint32_t           match[TEST_MAX_EPS];
    int64_t            inreq[TEST_MAX_EPS], intok[TEST_MAX_EPS];
    es_rng_t           rng;
    esi_cycle_t        cy;
    uint32_t           idx[TEST_MAX_EPS];
} fixture_t;

static void fx_init(fixture_t *f, size_t n)
{
    memset(f, 0, sizeof *f);
    pool_init(&f->p, n, 0);
    es_rng_seed(&f->rng, 1);
    f->cy.req = &f->req;
    f->cy.eps = f->p.eps;
    f->cy.n = n;
    f->cy.rng = &f->rng;
    f->cy.match = f->match;
    f->cy.inflight_req = f->inreq;
    f->cy.inflight_tok = f->intok;
    f->cy.primary = 0;
    f->cy.prefill = -1;
    for (size_t i = 0; i < n; i++) f->idx[i] = (uint32_t)i;
}

/* NewLatencyPredictionInfo(ttftValid, tpotValid, ttftHeadroom, tpotHeadroom, ttft, tpot, dispatched) */
static void fx_pred(fixture_t *f, size_t i, bool tv, bool pv, double th, double ph, double ttft, double tpot,
                    uint32_t dispatched)
{
    f->li[i] = (esi_latency_info_t){.ttft = ttft, .tpot = tpot, .ttft_headroom = th, .tpot_headroom = ph,
                                     .ttft_valid = tv, .tpot_valid = pv, .dispatched = dispatched};
    f->cy.latency = f->li;
}

static void fx_metrics(fixture_t *f, size_t i, double kv, int32_t waiting, int32_t running)
{
    f->p.eps[i].metrics.kv_cache_usage = kv;
    f->p.eps[i].metrics.waiting = waiting;
    f->p.eps[i].metrics.running = running;
}

/* ---------------- scheduling/scorer/latency/plugin_test.go ---------------- */

static void score(const char *params, fixture_t *f, double *out)
{
    char text[512];
    snprintf(text, sizeof text, HEAD "plugins:\n- type: latency-scorer\n%s", params);
    es_epp_config_t *c = cfg_text(text);
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "latency-scorer", &vt);
    vt->x_score(s, &f->cy, f->idx, f->cy.n, out);
    release(vt, s);
    es_epp_config_destroy(c);
}

static void test_latency_plugin_test_go_TestScorePositiveHeadroom(void **st)
{
    (void)st;
    fixture_t f;
    fx_init(&f, 2);
    fx_pred(&f, 0, true, true, 100, 20, 50, 10, 0);
    fx_pred(&f, 1, true, true, 30, 5, 120, 25, 0);
    double out[2];
    score("", &f, out);
    /* least: the pod closest to its SLO first; both non-zero */
    assert_double_equal(out[0], 0.01, 1e-12);
    assert_double_equal(out[1], 1.01, 1e-12);
    score("  parameters: {headroomSelectionStrategy: most}\n", &f, out);
    assert_double_equal(out[0], 1.01, 1e-12);
    assert_double_equal(out[1], 0.01, 1e-12);
}

static void test_latency_plugin_test_go_TestScoreNegativeOnly(void **st)
{
    (void)st;
    fixture_t f;
    fx_init(&f, 2);
    fx_pred(&f, 0, false, false, -10, -5, 110, 35, 0);
    fx_pred(&f, 1, false, false, -100, -30, 200, 60, 0);
    double out[2];
    score("", &f, out);
    assert_double_equal(out[0], 1.01, 1e-12);   /* less violation scores higher */
    assert_double_equal(out[1], 0.01, 1e-12);
    /* "most" is overridden by "least" for negative headroom */
    score("  parameters: {headroomSelectionStrategy: most}\n", &f, out);
    assert_double_equal(out[0], 1.01, 1e-12);
}

static void test_latency_plugin_test_go_TestScoreTierSplit(void **st)
{
    (void)st;
    fixture_t f;
    fx_init(&f, 2);
    fx_pred(&f, 0, true, true, 10, 2, 90, 28, 0);
    fx_pred(&f, 1, true, true, 50, 10, 50, 20, 0);
    double out[2];
    score("", &f, out);
    assert_double_equal(out[0], 1.01, 1e-12);
    assert_double_equal(out[1], 0.01, 1e-12);
    /* a mix: only the positive endpoints are scored */
    fx_pred(&f, 1, false, true, -5, 10, 50, 20, 0);
    score("", &f, out);
    assert_double_equal(out[0], 0.51, 1e-12);
    assert_double_equal(out[1], 0, 0);
}

static void test_latency_plugin_test_go_TestScoreIdlePodPreference(void **st)
{
    (void)st;
    fixture_t f;
    fx_init(&f, 2);
    fx_pred(&f, 0, false, false, -50, -10, 150, 40, 5);   /* busy */
    fx_pred(&f, 1, false, false, -50, -10, 150, 40, 0);   /* idle */
    double out[2];
    score("", &f, out);
    assert_double_equal(out[0], 0, 0);
    assert_double_equal(out[1], 0.51, 1e-12);
}

static void test_latency_plugin_test_go_TestScoreHierarchicalBuckets(void **st)
{
    (void)st;
    fixture_t f;
    fx_init(&f, 3);
    /* as in Go: dispatched 0 everywhere, so the idle bucket holds all three */
    fx_pred(&f, 0, false, false, -50, -10, 150, 40, 0);   /* both-neg */
    fx_pred(&f, 1, false, true, -30, 5, 130, 25, 0);      /* ttft-neg */
    fx_pred(&f, 2, true, false, 10, -8, 90, 38, 0);       /* tpot-neg */
    double out[3];
    score("", &f, out);
    assert_double_equal(out[0], 0.01, 1e-12);
    assert_double_equal(out[1], 0.61, 1e-12);
    assert_double_equal(out[2], 0.89, 1e-12);
    /* eppsim case: all busy, so the deficit buckets apply; TPOT-only negative wins */
    for (int i = 0; i < 3; i++) f.li[i].dispatched = 3;
    score("", &f, out);
    assert_double_equal(out[0], 0, 0);
    assert_double_equal(out[1], 0, 0);
    assert_double_equal(out[2], 0.51, 1e-12);
    f.li[2].tpot_headroom = -1;   /* no TPOT-only pod left: TTFT-only next */
    f.li[2].ttft_headroom = -1;
    score("", &f, out);
    assert_double_equal(out[1], 0.51, 1e-12);
    assert_double_equal(out[0], 0, 0);
}

static void test_latency_plugin_test_go_TestScoreCompositeFallback(void **st)
{
    (void)st;
    fixture_t f;
    fx_init(&f, 2);
    fx_metrics(&f, 0, 0.2, 0, 3);
    fx_metrics(&f, 1, 0.8, 5, 10);
    double out[2];
    score("", &f, out);   /* no predictions: (kvFree + relQueue + prefix) / 3, rounded to 1/100 */
    assert_double_equal(out[0], 0.60, 1e-12);
    assert_double_equal(out[1], 0.07, 1e-12);
}

/* ------------- scheduling/filter/sloheadroomtier/plugin_test.go ------------- */

static size_t tier_filter(double eps, fixture_t *f, size_t m)
{
    char text[512];
    snprintf(text, sizeof text, HEAD "plugins:\n- type: slo-headroom-tier-filter\n  parameters: {epsilonExploreNeg: %g}\n", eps);
    es_epp_config_t *c = cfg_text(text);
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "slo-headroom-tier-filter", &vt);
    size_t k = vt->x_filter(s, &f->cy, f->idx, m);
    release(vt, s);
    es_epp_config_destroy(c);
    return k;
}

static void tier_pred(fixture_t *f, size_t i, double th, double ph)
{
    fx_pred(f, i, th >= 0, ph >= 0, th, ph, 100, 10, 0);
}

static void test_sloheadroomtier_plugin_test_go_TestFilter(void **st)
{
    (void)st;
    fixture_t f;
    /* TestFilter_SingleEndpoint */
    fx_init(&f, 1);
    tier_pred(&f, 0, 10, 5);
    assert_int_equal(tier_filter(0.01, &f, 1), 1);
    /* TestFilter_NoPredictions */
    fx_init(&f, 2);
    assert_int_equal(tier_filter(0.01, &f, 2), 2);
    /* TestFilter_AllPositive */
    fx_init(&f, 2);
    tier_pred(&f, 0, 100, 50);
    tier_pred(&f, 1, 200, 80);
    assert_int_equal(tier_filter(0, &f, 2), 2);
    /* TestFilter_AllNegative */
    tier_pred(&f, 0, -100, -50);
    tier_pred(&f, 1, -200, -80);
    assert_int_equal(tier_filter(0, &f, 2), 2);
    /* TestFilter_BothTiers_SelectPositive */
    fx_init(&f, 3);
    tier_pred(&f, 0, 100, 50);
    tier_pred(&f, 1, 200, 80);
    tier_pred(&f, 2, -100, -50);
    assert_int_equal(tier_filter(0, &f, 3), 2);
    assert_int_equal(f.idx[0], 0);
    assert_int_equal(f.idx[1], 1);
    /* TestFilter_BothTiers_EpsilonExploreNeg */
    fx_init(&f, 2);
    tier_pred(&f, 0, 100, 50);
    tier_pred(&f, 1, -100, -50);
    assert_int_equal(tier_filter(1.0, &f, 2), 1);
    assert_int_equal(f.idx[0], 1);
    /* a zero TTFT headroom is positive (>= 0) */
    fx_init(&f, 2);
    tier_pred(&f, 0, 0, 0);
    tier_pred(&f, 1, -1, 0);
    assert_int_equal(tier_filter(0, &f, 2), 1);
    assert_int_equal(f.idx[0], 0);
}

static void test_sloheadroomtier_plugin_test_go_TestFactory(void **st)
{
    (void)st;
    es_epp_config_destroy(cfg_text(HEAD "plugins:\n- type: slo-headroom-tier-filter\n"));   /* TestFactory_ValidConfig */
    cfg_fails(HEAD "plugins:\n- type: slo-headroom-tier-filter\n  parameters: {epsilonExploreNeg: 1.5}\n",
              "epsilonExploreNeg must be in [0, 1]");   /* TestFactory_InvalidEpsilon */
}

/* ------------- requestcontrol/admitter/latencyslo/plugin_test.go ------------- */

static void test_latencyslo_plugin_test_go_TestAdmit(void **st)
{
    (void)st;
    static const struct {
        const char *name;
        int32_t     priority;
        const char *hdr[4];     /* name, value, name, value */
        uint32_t    nep;
        double      kv[2];
        int32_t     running[2];
        int         pred[2];    /* 0 none, 1 invalid, 2 valid */
        bool        reject;
    } cases[] = {
        {"non-sheddable request — always admit", 1, {"x-llm-d-slo-ttft-ms", "100", "x-llm-d-slo-tpot-ms", "30"}, 1,
         {0.5}, {5}, {1}, false},
        {"no SLO headers — admit", -1, {"x-llm-d-slo-ttft-ms", "", "x-llm-d-slo-tpot-ms", ""}, 1, {0.5}, {5}, {0}, false},
        {"sheddable, all invalid, all busy, no cold — reject", -1,
         {"x-llm-d-slo-ttft-ms", "100", "x-llm-d-slo-tpot-ms", "30"}, 2, {0.5, 0.4}, {5, 3}, {1, 1}, true},
        {"sheddable, old SLO aliases — reject", -1, {"x-slo-ttft-ms", "100", "x-slo-tpot-ms", "30"}, 1, {0.5}, {5},
         {1}, true},
        {"new SLO headers take precedence over old aliases", -1,
         {"x-llm-d-slo-ttft-ms", "0", "x-slo-ttft-ms", "100"}, 1, {0.5}, {5}, {1}, false},
        {"sheddable, all invalid, but one pod idle — admit", -1,
         {"x-llm-d-slo-ttft-ms", "100", "x-llm-d-slo-tpot-ms", "30"}, 2, {0.5, 0.4}, {5, 0}, {1, 1}, false},
        {"sheddable, all invalid, but cold pod exists — admit", -1,
         {"x-llm-d-slo-ttft-ms", "100", "x-llm-d-slo-tpot-ms", "30"}, 2, {0.5, 0.01}, {5, 3}, {1, 1}, false},
        {"sheddable, one valid endpoint — admit", -1, {"x-llm-d-slo-ttft-ms", "100", "x-llm-d-slo-tpot-ms", "30"}, 2,
         {0.5, 0.4}, {5, 3}, {1, 2}, false},
        {"sheddable, no prediction data on endpoints — admit (fail-open)", -1,
         {"x-llm-d-slo-ttft-ms", "100", "x-llm-d-slo-tpot-ms", "30"}, 1, {0.5}, {5}, {0}, false},
    };
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: latency-slo-admitter\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "latency-slo-admitter", &vt);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fixture_t f;
        fx_init(&f, cases[k].nep);
        es_header_t h[2] = {{cases[k].hdr[0], cases[k].hdr[1]}, {cases[k].hdr[2], cases[k].hdr[3]}};
        f.req.headers = h;
        f.req.nheaders = 2;
        f.req.priority = cases[k].priority;
        for (uint32_t i = 0; i < cases[k].nep; i++) {
            fx_metrics(&f, i, cases[k].kv[i], 0, cases[k].running[i]);
            if (cases[k].pred[i] == 1) fx_pred(&f, i, false, false, -50, -10, 150, 40, 0);
            if (cases[k].pred[i] == 2) fx_pred(&f, i, true, true, 20, 5, 80, 25, 0);
        }
        const char *deny = vt->x_admit(s, &f.cy);
        if ((deny != NULL) != cases[k].reject) fail_msg("case %s: got %s", cases[k].name, deny ? deny : "admit");
        if (deny) assert_string_equal(deny, "request cannot be admitted: no valid endpoint available to serve the request");
    }
    release(vt, s);
    es_epp_config_destroy(c);
}

/* ---------- scheduling/filter/prefixcacheaffinity/plugin_test.go ---------- */

/* makeEndpoint(name, prefixMatch of 100 blocks, predicted TTFT, in-flight tokens) */
static void aff_ep(fixture_t *f, size_t i, uint32_t match, double ttft, int64_t tokens)
{
    f->cy.have_prefix = true;
    f->cy.total_blocks = 100;
    f->match[i] = match;
    fx_pred(f, i, true, true, 0, 0, ttft, 0, 0);
    f->intok[i] = tokens;
}

static size_t affinity(const char *params, fixture_t *f)
{
    char text[512];
    snprintf(text, sizeof text, HEAD "plugins:\n- type: prefix-cache-affinity-filter\n  parameters: %s\n", params);
    es_epp_config_t *c = cfg_text(text);
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "prefix-cache-affinity-filter", &vt);
    size_t k = vt->x_filter(s, &f->cy, f->idx, f->cy.n);
    release(vt, s);
    es_epp_config_destroy(c);
    return k;
}

static void test_prefixcacheaffinity_plugin_test_go_TestFilter(void **st)
{
    (void)st;
    fixture_t f;
    /* TestFilter_AffinityThresholdDisabled */
    fx_init(&f, 2);
    aff_ep(&f, 0, 0, 10, 0);
    aff_ep(&f, 1, 90, 20, 0);
    assert_int_equal(affinity("{affinityThreshold: 0}", &f), 2);
    /* TestFilter_SingleEndpoint */
    fx_init(&f, 1);
    aff_ep(&f, 0, 90, 10, 0);
    assert_int_equal(affinity("{affinityThreshold: 0.80}", &f), 1);
    /* TestFilter_NoStickyEndpoints */
    fx_init(&f, 3);
    aff_ep(&f, 0, 10, 10, 0);
    aff_ep(&f, 1, 20, 20, 0);
    aff_ep(&f, 2, 50, 30, 0);
    assert_int_equal(affinity("{affinityThreshold: 0.80, explorationProbability: 0}", &f), 3);
    /* TestFilter_NarrowToSticky */
    fx_init(&f, 3);
    aff_ep(&f, 0, 90, 100, 0);
    aff_ep(&f, 1, 85, 120, 0);
    aff_ep(&f, 2, 10, 50, 0);
    assert_int_equal(affinity("{affinityThreshold: 0.80, maxTTFTPenaltyMs: 5000, ttftSource: latencyPredictor}", &f), 2);
    /* TestFilter_TTFTPenaltyBreaksStickiness */
    fx_init(&f, 2);
    aff_ep(&f, 0, 90, 500, 0);
    aff_ep(&f, 1, 10, 50, 0);
    assert_int_equal(affinity("{affinityThreshold: 0.80, maxTTFTPenaltyMs: 100, ttftSource: latencyPredictor}", &f), 2);
    /* TestFilter_ThroughputTTFTBreaksStickiness: 500 and 50 tokens at 1000 tok/s */
    fx_init(&f, 2);
    aff_ep(&f, 0, 90, 10, 500);
    aff_ep(&f, 1, 10, 10, 50);
    assert_int_equal(affinity("{affinityThreshold: 0.80, maxTTFTPenaltyMs: 100, ttftSource: prefillThroughput, "
                              "peakPrefillThroughput: 1000}", &f), 2);
    /* TestFilter_ThroughputTTFTWithinThreshold */
    assert_int_equal(affinity("{affinityThreshold: 0.80, maxTTFTPenaltyMs: 1000, ttftSource: prefillThroughput, "
                              "peakPrefillThroughput: 1000}", &f), 1);
    assert_int_equal(f.idx[0], 0);
    /* TestFilter_TTFTPenaltyDisabled */
    fx_init(&f, 2);
    aff_ep(&f, 0, 90, 10, 5000);
    aff_ep(&f, 1, 10, 10, 50);
    assert_int_equal(affinity("{affinityThreshold: 0.80, maxTTFTPenaltyMs: 0, peakPrefillThroughput: 1000}", &f), 1);
    assert_int_equal(f.idx[0], 0);
    /* TestFilter_ExplorationProbability */
    fx_init(&f, 2);
    aff_ep(&f, 0, 90, 100, 0);
    aff_ep(&f, 1, 10, 50, 0);
    assert_int_equal(affinity("{affinityThreshold: 0.80, explorationProbability: 1.0}", &f), 2);
}

/* the producer a config auto-creates for the load gate (Consumes) */
static bool has_latency_producer(const char *params)
{
    char text[512];
    snprintf(text, sizeof text, HEAD "plugins:\n- type: prefix-cache-affinity-filter\n  parameters: %s\n", params);
    es_epp_config_t *c = cfg_text(text);
    bool found = false;
    for (size_t i = 0; i < c->nplugins; i++)
        if (strcmp(c->plugins[i].vt->type_name, "predicted-latency-producer") == 0) found = true;
    es_epp_config_destroy(c);
    return found;
}

static void test_prefixcacheaffinity_plugin_test_go_TestConsumes_ConditionalAttributes(void **st)
{
    (void)st;
    assert_false(has_latency_producer("{maxTTFTPenaltyMs: 0}"));
    assert_true(has_latency_producer("{maxTTFTPenaltyMs: 5000, ttftSource: latencyPredictor}"));
    assert_false(has_latency_producer("{maxTTFTPenaltyMs: 5000, ttftSource: prefillThroughput, peakPrefillThroughput: 1000}"));
}

static void test_prefixcacheaffinity_plugin_test_go_TestFactory(void **st)
{
    (void)st;
    const char *pre = HEAD "plugins:\n- type: prefix-cache-affinity-filter\n";
    char text[512];
#define AFF(params) (snprintf(text, sizeof text, "%s  parameters: %s\n", pre, params), text)
    /* TestFactory_ValidConfig, _DefaultsToPrefillThroughput, _PartialConfigPreservesDefaults */
    es_epp_config_t *c = cfg_text(AFF("{affinityThreshold: 0.95}"));
    FILE *f = tmpfile();
    es_epp_config_write_yaml(f, c);
    rewind(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    assert_non_null(strstr(buf, "affinityThreshold: 0.9499999"));
    assert_non_null(strstr(buf, "explorationProbability: 0\n"));
    assert_non_null(strstr(buf, "maxTTFTPenaltyMs: 18000"));
    assert_non_null(strstr(buf, "ttftSource: \"prefillThroughput\""));
    assert_non_null(strstr(buf, "peakPrefillThroughput: 15928"));
    es_epp_config_destroy(c);
    cfg_fails(AFF("{affinityThreshold: 1.5}"), "affinityThreshold must be <= 1.0");
    cfg_fails(AFF("{explorationProbability: -0.1}"), "explorationProbability must be in [0, 1]");
    cfg_fails(AFF("{peakPrefillThroughput: -1}"), "peakPrefillThroughput must be >= 0");
    cfg_fails(AFF("{ttftSource: prefillThroughput, peakPrefillThroughput: 0}"),
              "peakPrefillThroughput must be > 0 when ttftSource is prefillThroughput");
    es_epp_config_destroy(cfg_text(AFF("{ttftSource: prefillThroughput, peakPrefillThroughput: 1000}")));
    cfg_fails(AFF("{ttftSource: bogus}"), "ttftSource must be");
    cfg_fails(AFF("{ttftSource: \"\"}"), "ttftSource must be");
    /* TestFactory_ZeroPeakPrefillThroughputAllowedWhenUnused */
    es_epp_config_destroy(cfg_text(AFF("{maxTTFTPenaltyMs: 0, ttftSource: prefillThroughput, peakPrefillThroughput: 0}")));
    es_epp_config_destroy(cfg_text(AFF("{ttftSource: latencyPredictor, peakPrefillThroughput: 0}")));
    cfg_fails(AFF("{peakPrefillThroughput: 0}"), "peakPrefillThroughput must be > 0");
#undef AFF
}

/* ------ requestcontrol/dataproducer/predictedlatency/prediction_test.go ------ */

static void test_prediction_test_go_TestValidatePrediction_StreamingMode(void **st)
{
    (void)st;
    static const struct {
        const char *name;
        double ttft, tpot, ttft_slo, tpot_slo, pod_min;
        bool ttft_ok, tpot_ok;
        double tpot_headroom;
    } cases[] = {
        {"both within SLO", 50, 20, 100, 30, 0, true, true, 10},
        {"TTFT exceeds SLO", 150, 20, 100, 30, 0, false, true, 10},
        {"TPOT exceeds SLO", 50, 40, 100, 30, 0, true, false, -10},
        {"podMinTPOTSLO tightens threshold", 50, 25, 100, 30, 20, true, false, -5},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        esi_latency_info_t o;
        esi_latency_validate(true, 1.0, cases[k].ttft_slo, cases[k].tpot_slo, cases[k].pod_min, false, cases[k].ttft,
                             cases[k].tpot, &o);
        assert_int_equal(o.ttft_valid, cases[k].ttft_ok);
        assert_int_equal(o.tpot_valid, cases[k].tpot_ok);
        assert_double_equal(o.ttft_headroom, cases[k].ttft_slo - cases[k].ttft, 0);
        assert_double_equal(o.tpot_headroom, cases[k].tpot_headroom, 1e-12);
    }
    /* sloBufferFactor scales both the request's and the pod's TPOT SLO */
    esi_latency_info_t o;
    esi_latency_validate(true, 1.5, 100, 30, 20, false, 50, 25, &o);
    assert_true(o.tpot_valid);
    assert_double_equal(o.tpot_headroom, 5, 1e-12);
}

static void test_prediction_test_go_TestValidatePrediction_NonStreamingMode(void **st)
{
    (void)st;
    esi_latency_info_t o;
    esi_latency_validate(false, 1.0, 100, 30, 0, false, 50, 999, &o);
    assert_true(o.ttft_valid);
    assert_true(o.tpot_valid);
    assert_double_equal(o.tpot_headroom, 0, 0);
}

static void test_prediction_test_go_TestValidatePrediction_PrefillEndpointNeutralizeTPOT(void **st)
{
    (void)st;
    esi_latency_info_t o;
    esi_latency_validate(true, 1.0, 100, 30, 0, false, 50, 999, &o);   /* decode: not neutralised */
    assert_true(o.ttft_valid);
    assert_false(o.tpot_valid);
    assert_double_equal(o.tpot_headroom, -969, 0);
    esi_latency_validate(true, 1.0, 100, 30, 0, true, 50, 999, &o);    /* prefill */
    assert_true(o.tpot_valid);
    assert_double_equal(o.tpot_headroom, 0, 0);
}

/* ------ requestcontrol/dataproducer/predictedlatency/plugin_test.go ------ */

/* Produce on a fixture with the producer's own state; returns the predictions. */
static const esi_latency_info_t *produce(const esi_plugin_vt_t *vt, void *s, fixture_t *f)
{
    f->cy.latency = NULL;
    vt->x_prepare(s, &f->cy);
    assert_non_null(f->cy.latency);
    return f->cy.latency;
}

static void test_predictedlatency_plugin_test_go_TestParseSLOHeaders(void **st)
{
    (void)st;
    static const struct { const char *h[4]; double ttft, tpot; } cases[] = {
        {{"x-llm-d-slo-ttft-ms", "100", "x-llm-d-slo-tpot-ms", "50"}, 100, 50},   /* SLO headers */
        {{"x-slo-ttft-ms", "101", "x-slo-tpot-ms", "51"}, 101, 51},               /* old aliases */
        {{"x-llm-d-slo-ttft-ms", "102", "x-slo-ttft-ms", "999"}, 102, 0},         /* new headers take precedence */
        {{"x-llm-d-slo-ttft-ms", "abc", "x-llm-d-slo-tpot-ms", "1e2"}, 0, 100},   /* not a float: 0 */
    };
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: predicted-latency-producer\n  parameters: {streamingMode: true}\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "predicted-latency-producer", &vt);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fixture_t f;
        fx_init(&f, 1);
        es_header_t h[2] = {{cases[k].h[0], cases[k].h[1]}, {cases[k].h[2], cases[k].h[3]}};
        f.req.headers = h;
        f.req.nheaders = 2;
        const esi_latency_info_t *li = produce(vt, s, &f);
        /* a fresh predictor's default model predicts 10 ms for both */
        assert_double_equal(li[0].ttft, 10, 1e-9);
        assert_double_equal(li[0].tpot, 10, 1e-9);
        assert_double_equal(li[0].ttft_headroom, cases[k].ttft - 10, 1e-9);
        assert_double_equal(li[0].tpot_headroom, cases[k].tpot - 10, 1e-9);
    }
    release(vt, s);
    es_epp_config_destroy(c);
}

/* Dispatch the fixture's request to eps index d through PreRequest. */
static void dispatch(const esi_plugin_vt_t *vt, void *s, fixture_t *f, uint64_t id, uint32_t d, es_time_t now)
{
    f->req.id = id;
    f->cy.now = now;
    produce(vt, s, f);
    f->cy.res[0] = (esi_prof_result_t){.ran = true, .npicked = 1, .picked = {d}};
    vt->x_pre_request(s, &f->cy);
}

static void test_predictedlatency_plugin_test_go_TestPredictedLatency_GetPodRunningRequestCount_MinTPOTSLO(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: predicted-latency-producer\n  parameters: {streamingMode: true}\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "predicted-latency-producer", &vt);
    fixture_t f;
    fx_init(&f, 2);
    es_header_t h[2] = {{"x-llm-d-slo-ttft-ms", "100"}, {"x-llm-d-slo-tpot-ms", "30"}};
    f.req.headers = h;
    f.req.nheaders = 2;
    dispatch(vt, s, &f, 1, 0, 0);
    h[1].value = "20";
    dispatch(vt, s, &f, 2, 0, 0);
    h[1].value = "50";
    const esi_latency_info_t *li = produce(vt, s, &f);
    assert_int_equal(li[0].dispatched, 2);
    assert_int_equal(li[1].dispatched, 0);
    assert_double_equal(li[0].tpot_headroom, 20 - 10, 1e-9);   /* the tightest running SLO (20) wins */
    assert_double_equal(li[1].tpot_headroom, 50 - 10, 1e-9);
    /* request 2 ends: 30 is the minimum again */
    vt->x_response(s, &(esi_response_t){.kind = ESI_RESP_END, .req_id = 2, .now = ES_MS});
    li = produce(vt, s, &f);
    assert_int_equal(li[0].dispatched, 1);
    assert_double_equal(li[0].tpot_headroom, 30 - 10, 1e-9);
    vt->x_response(s, &(esi_response_t){.kind = ESI_RESP_END, .req_id = 1, .now = ES_MS});
    li = produce(vt, s, &f);
    assert_int_equal(li[0].dispatched, 0);
    assert_double_equal(li[0].tpot_headroom, 50 - 10, 1e-9);
    release(vt, s);
    es_epp_config_destroy(c);
}

static void test_predictedlatency_plugin_test_go_TestPredictedLatencyFactory(void **st)
{
    (void)st;
    const char *pre = HEAD "plugins:\n- type: predicted-latency-producer\n";
    char text[512];
#define PL(params) (snprintf(text, sizeof text, "%s  parameters: %s\n", pre, params), text)
    es_epp_config_t *c = cfg_text(PL("{samplingMean: 150.0, maxDecodeTokenSamplesForPrediction: 30, sloBufferFactor: 1.2}"));
    assert_non_null(strstr(es_epp_config_warning(c, 0), "Deprecated: samplingMean"));
    es_epp_config_destroy(c);
    c = cfg_text(PL("{}"));
    assert_null(es_epp_config_warning(c, 0));
    es_epp_config_destroy(c);
    es_epp_config_destroy(cfg_text(PL("{samplingMean: -1.0, maxDecodeTokenSamplesForPrediction: -1}")));
    cfg_fails(PL("{sloBufferFactor: 0}"), "sloBufferFactor must be > 0");
    /* TestPredictedLatencyFactoryInvalidJSON */
    cfg_fails(PL("{samplingMean: \"100\"}"), "samplingMean");
    cfg_fails(PL("{maxDecodeTokenSamplesForPrediction: 20.5}"), "maxDecodeTokenSamplesForPrediction");
#undef PL
}

static void strip_comments(char *t)
{
    char *w = t;
    for (char *r = t; *r;) {
        char *e = strchr(r, '\n');
        size_t len = e ? (size_t)(e - r) + 1 : strlen(r);
        const char *q = r;
        while (*q == ' ') q++;
        if (*q != '#') { memmove(w, r, len); w += len; }
        r += len;
    }
    *w = 0;
}

/* eppsim: producer references, one producer a config, auto-creation, and the
 * defaulted config written as run loads again to the same dump. */
static void test_predictedlatency_config_links(void **st)
{
    (void)st;
    cfg_fails(HEAD "plugins:\n- type: latency-scorer\n  parameters: {latencyPredictionInfoProducerName: nope}\n",
              "no latency prediction producer named \"nope\"");
    cfg_fails(HEAD "plugins:\n- type: predicted-latency-producer\n- {type: predicted-latency-producer, name: b}\n",
              "both produce latency predictions");
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- {type: predicted-latency-producer, name: p}\n"
                                  "- type: slo-headroom-tier-filter\n  parameters: {latencyPredictionInfoProducerName: p}\n");
    es_epp_config_destroy(c);
    /* a consumer alone auto-creates the producer, and it the approximate prefix producer */
    c = cfg_text(HEAD "plugins:\n- type: latency-slo-admitter\n");
    bool lat = false, pre = false;
    for (size_t i = 0; i < c->nplugins; i++) {
        lat |= strcmp(c->plugins[i].vt->type_name, "predicted-latency-producer") == 0;
        pre |= strcmp(c->plugins[i].vt->type_name, "approx-prefix-cache-producer") == 0;
    }
    assert_true(lat && pre);
    char a[16384], b[16384];
    FILE *f = fmemopen(a, sizeof a, "w");
    es_epp_config_write_yaml(f, c);
    fclose(f);
    es_epp_config_t *c2 = cfg_text(a);
    f = fmemopen(b, sizeof b, "w");
    es_epp_config_write_yaml(f, c2);
    fclose(f);
    /* the same dump, but for the comments (source, "added by the defaulting") */
    strip_comments(a);
    strip_comments(b);
    assert_string_equal(a, b);
    assert_int_equal(c->nplugins, c2->nplugins);
    es_epp_config_destroy(c2);
    es_epp_config_destroy(c);
}

/* The whole loop through a scheduler: dispatch, response, training, MAPE. */
static void test_predictedlatency_training_loop(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: predicted-latency-producer\n- type: latency-scorer\n"
                                  "schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: latency-scorer\n");
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    pool_t p;
    pool_init(&p, 2, 0);
    es_sched_request_t r = {.id = 7, .content = {.tokens = 100}};
    es_sched_result_t res = {0};
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.status, 200);
    /* non-streaming: TTFT is the whole request, 50 ms; the cold model said 10 ms */
    es_scheduler_on_first_chunk(s, 7, 20 * ES_MS);
    es_scheduler_on_complete(s, 7, 50 * ES_MS + 700 * ES_US, 100, 30, p.eps, p.n);
    es_sched_predictor_stats_t ps = {0};
    es_scheduler_predictor_stats(s, &ps);
    assert_true(ps.present);
    assert_int_equal(ps.ttft_n, 1);
    assert_double_equal(ps.ttft_ape_sum, 40.0 / 50.0, 1e-12);   /* whole ms: 50.7 -> 50 */
    assert_int_equal(ps.tpot_n, 0);
    assert_int_equal(ps.samples_ttft, 1);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
}

/* ---- flowcontrol/saturationdetector/utilization/detector_test.go (v0.10 path) ---- */

static void test_utilization_detector_test_go_TestUtilizationDetectorFactory(void **st)
{
    (void)st;
    const char *pre = HEAD "plugins:\n- type: utilization-detector\n";
    char text[512];
#define UD(params) (snprintf(text, sizeof text, "%s  parameters: %s\n", pre, params), text)
    es_epp_config_destroy(cfg_text(UD("{queueDepthThreshold: 5, kvCacheUtilThreshold: 0.8}")));   /* valid */
    cfg_fails(UD("{queueDepthThreshold: invalid_type}"), "queueDepthThreshold");                  /* invalid schema */
    es_epp_config_destroy(cfg_text(UD("{}")));                                                     /* defaults */
    cfg_fails(UD("{queueDepthThreshold: 0}"), "queueDepthThreshold");
    cfg_fails(UD("{kvCacheUtilThreshold: 1.5}"), "kvCacheUtilThreshold");
    cfg_fails(UD("{kvCacheUtilThreshold: 0.0}"), "kvCacheUtilThreshold");
    cfg_fails(UD("{metricsStalenessThreshold: 0s}"), "metricsStalenessThreshold");
    cfg_fails(UD("{headroom: -0.5}"), "headroom");
    es_epp_config_destroy(cfg_text(UD("{headroom: 2.0}")));                                        /* high headroom: accepted */
#undef UD
}

/* makePodMetric(name, waiting, kv, age in ms) on a fixture at now = 1 s */
static void ud_pod(fixture_t *f, size_t i, int32_t waiting, double kv, int age_ms)
{
    fx_metrics(f, i, kv, waiting, 0);
    f->p.eps[i].metrics.update_time = ES_S - (es_time_t)age_ms * ES_MS;
}

static void test_utilization_detector_test_go_TestDetector_Saturation(void **st)
{
    (void)st;
    static const struct { const char *name; int n; int32_t q[3]; double kv[3]; int age[3]; double want; } cases[] = {
        {"No candidate pods", 0, {0}, {0}, {0}, 1.0},
        {"Single pod with good capacity", 1, {2}, {0.5}, {0}, 0.5 / 0.9},
        {"Single pod with stale metrics", 1, {1}, {0.1}, {200}, 1.0},
        {"Single pod with high queue depth", 1, {10}, {0.1}, {0}, 2.0},
        {"Single pod with high KV cache utilization", 1, {1}, {0.95}, {0}, 0.95 / 0.90},
        {"Multiple pods, all good capacity", 2, {1, 0}, {0.1, 0.2}, {0, 0}, (0.2 + 0.2 / 0.9) / 2},
        {"Multiple pods, one good, one stale", 2, {1, 0}, {0.1, 0.2}, {0, 300}, 0.6},
        {"Multiple pods, one good, one bad (high queue)", 2, {1, 15}, {0.1, 0.2}, {0, 0}, 1.6},
        {"Multiple pods, all bad capacity", 3, {1, 20, 1}, {0.1, 0.2, 0.99}, {200, 0, 0}, (1.0 + 4.0 + 1.1) / 3},
        {"Queue depth exactly at threshold", 1, {5}, {0.1}, {0}, 1.0},
        {"Metrics age just over staleness threshold", 1, {1}, {0.1}, {101}, 1.0},
    };
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: utilization-detector\n  parameters: "
                                  "{queueDepthThreshold: 5, kvCacheUtilThreshold: 0.90, metricsStalenessThreshold: 100ms}\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "utilization-detector", &vt);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fixture_t f;
        fx_init(&f, (size_t)cases[k].n);
        f.cy.now = ES_S;
        for (int i = 0; i < cases[k].n; i++) ud_pod(&f, (size_t)i, cases[k].q[i], cases[k].kv[i], cases[k].age[i]);
        double got = vt->x_saturation(s, &f.cy);
        if (fabs(got - cases[k].want) > 1e-4) fail_msg("%s: %g, want %g", cases[k].name, got, cases[k].want);
    }
    release(vt, s);
    es_epp_config_destroy(c);
}

static void test_utilization_detector_test_go_TestDetector_Filter(void **st)
{
    (void)st;
    static const struct { const char *name; int n; int32_t q[2]; double kv[2]; int age[2]; size_t want; } cases[] = {
        {"All pass - under thresholds", 2, {1, 4}, {0.1, 0.7}, {0, 0}, 2},
        {"Pass - at threshold but under burst", 1, {5}, {0.8}, {0}, 1},
        {"Pass - in headroom burst", 1, {5}, {0.9}, {0}, 1},
        {"Filtered - exceeds queue burst", 2, {7, 1}, {0.1, 0.1}, {0, 0}, 1},
        {"Filtered - exceeds KV burst", 2, {1, 1}, {0.97, 0.5}, {0, 0}, 1},
        {"Pass - all stale (Fail open at pool level)", 2, {1, 1}, {0.1, 0.1}, {200, 200}, 2},
        {"Pass - all saturated (Fail open at pool level)", 2, {10, 1}, {0.1, 0.99}, {0, 0}, 2},
    };
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: utilization-detector\n  parameters: "
                                  "{queueDepthThreshold: 5, kvCacheUtilThreshold: 0.80, metricsStalenessThreshold: 100ms, headroom: 0.2}\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "utilization-detector", &vt);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fixture_t f;
        fx_init(&f, (size_t)cases[k].n);
        f.cy.now = ES_S;
        for (int i = 0; i < cases[k].n; i++) ud_pod(&f, (size_t)i, cases[k].q[i], cases[k].kv[i], cases[k].age[i]);
        size_t got = vt->x_filter(s, &f.cy, f.idx, (size_t)cases[k].n);
        if (got != cases[k].want) fail_msg("%s: %zu, want %zu", cases[k].name, got, cases[k].want);
    }
    release(vt, s);
    es_epp_config_destroy(c);
}

/* ---- flowcontrol/saturationdetector/concurrency/detector_test.go: hybrid mode ---- */

static void *hybrid_detector(es_epp_config_t **c, const esi_plugin_vt_t **vt)
{
    *c = cfg_text(HEAD "plugins:\n- type: concurrency-detector\n  parameters: "
                  "{concurrencyMode: hybrid, maxConcurrency: 10, maxTokenConcurrency: 100}\n");   /* "valid hybrid mode" */
    return instance(*c, "concurrency-detector", vt);
}

static void test_concurrency_detector_test_go_TestDetector_HybridSaturation(void **st)
{
    (void)st;
    static const struct { const char *name; int n; int64_t req[2], tok[2]; double want; } cases[] = {
        {"empty", 1, {0}, {0}, 0.0},
        {"tokens_dominate", 1, {2}, {80}, 0.8},
        {"requests_dominate", 1, {9}, {10}, 0.9},
        {"request_dimension_saturates_first", 1, {10}, {5}, 1.0},
        {"token_dimension_saturates_first", 1, {1}, {100}, 1.0},
        {"endpoints_saturated_on_different_dimensions", 2, {10, 0}, {0, 100}, 1.0},
        {"per_endpoint_average", 2, {10, 0}, {0, 0}, 0.5},
    };
    es_epp_config_t *c;
    const esi_plugin_vt_t *vt;
    void *s = hybrid_detector(&c, &vt);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fixture_t f;
        fx_init(&f, (size_t)cases[k].n);
        for (int i = 0; i < cases[k].n; i++) { f.inreq[i] = cases[k].req[i]; f.intok[i] = cases[k].tok[i]; }
        double got = vt->x_saturation(s, &f.cy);
        if (fabs(got - cases[k].want) > 1e-6) fail_msg("%s: %g, want %g", cases[k].name, got, cases[k].want);
    }
    release(vt, s);
    es_epp_config_destroy(c);
}

static void test_concurrency_detector_test_go_TestDetector_HybridFilter(void **st)
{
    (void)st;
    static const struct { const char *name; int64_t req, tok; size_t kept; } cases[] = {
        {"below_both_limits", 5, 50, 1},
        {"request_limit_reached", 10, 50, 0},
        {"token_limit_reached", 5, 100, 0},
        {"both_over", 20, 200, 0},
    };
    es_epp_config_t *c;
    const esi_plugin_vt_t *vt;
    void *s = hybrid_detector(&c, &vt);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fixture_t f;
        fx_init(&f, 1);
        f.inreq[0] = cases[k].req;
        f.intok[0] = cases[k].tok;
        size_t got = vt->x_filter(s, &f.cy, f.idx, 1);
        if (got != cases[k].kept) fail_msg("%s: kept %zu, want %zu", cases[k].name, got, cases[k].kept);
    }
    release(vt, s);
    es_epp_config_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency_plugin_test_go_TestScorePositiveHeadroom),
        cmocka_unit_test(test_latency_plugin_test_go_TestScoreNegativeOnly),
        cmocka_unit_test(test_latency_plugin_test_go_TestScoreTierSplit),
        cmocka_unit_test(test_latency_plugin_test_go_TestScoreIdlePodPreference),
        cmocka_unit_test(test_latency_plugin_test_go_TestScoreHierarchicalBuckets),
        cmocka_unit_test(test_latency_plugin_test_go_TestScoreCompositeFallback),
        cmocka_unit_test(test_sloheadroomtier_plugin_test_go_TestFilter),
        cmocka_unit_test(test_sloheadroomtier_plugin_test_go_TestFactory),
        cmocka_unit_test(test_latencyslo_plugin_test_go_TestAdmit),
        cmocka_unit_test(test_prefixcacheaffinity_plugin_test_go_TestFilter),
        cmocka_unit_test(test_prefixcacheaffinity_plugin_test_go_TestConsumes_ConditionalAttributes),
        cmocka_unit_test(test_prefixcacheaffinity_plugin_test_go_TestFactory),
        cmocka_unit_test(test_prediction_test_go_TestValidatePrediction_StreamingMode),
        cmocka_unit_test(test_prediction_test_go_TestValidatePrediction_NonStreamingMode),
        cmocka_unit_test(test_prediction_test_go_TestValidatePrediction_PrefillEndpointNeutralizeTPOT),
        cmocka_unit_test(test_predictedlatency_plugin_test_go_TestParseSLOHeaders),
        cmocka_unit_test(test_predictedlatency_plugin_test_go_TestPredictedLatency_GetPodRunningRequestCount_MinTPOTSLO),
        cmocka_unit_test(test_predictedlatency_plugin_test_go_TestPredictedLatencyFactory),
        cmocka_unit_test(test_predictedlatency_training_loop),
        cmocka_unit_test(test_predictedlatency_config_links),
        cmocka_unit_test(test_utilization_detector_test_go_TestUtilizationDetectorFactory),
        cmocka_unit_test(test_utilization_detector_test_go_TestDetector_Saturation),
        cmocka_unit_test(test_utilization_detector_test_go_TestDetector_Filter),
        cmocka_unit_test(test_concurrency_detector_test_go_TestDetector_HybridSaturation),
        cmocka_unit_test(test_concurrency_detector_test_go_TestDetector_HybridFilter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
