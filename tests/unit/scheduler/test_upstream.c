/*
 * test_upstream.c -- table-driven cases of llm-d-router v0.10.0 (commit
 * 71f4f0999f95b96c49a9d0c4afbd18dfdb943c26) ported by reading, one cmocka
 * test per Go test, named after it (package_file_TestName).  Each case keeps
 * the Go case's name in a comment or a table column.  tests/upstream/README
 * lists what was ported and what was skipped, with reasons.
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



/* A cycle over pool p carrying PrefixCacheMatchInfo (match blocks per endpoint). */
static void prefix_cycle(esi_cycle_t *cy, const pool_t *p, const es_sched_request_t *r, uint32_t *match,
                         uint32_t total, uint32_t block_tokens)
{
    memset(cy, 0, sizeof *cy);
    cy->req = r;
    cy->eps = p->eps;
    cy->n = p->n;
    cy->have_prefix = true;
    cy->match = match;
    cy->total_blocks = total;
    cy->block_tokens = block_tokens;
}

/* scheduling/scorer/prefix/plugin_test.go TestPrefixPluginScore */
static void test_prefix_plugin_test_go_TestPrefixPluginScore(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: prefix-cache-scorer\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "prefix-cache-scorer", &vt);
    pool_t p;
    pool_init(&p, 2, 0);
    es_sched_request_t r = {0};
    uint32_t match[2] = {5, 2}, idx[2] = {0, 1};
    esi_cycle_t cy;
    prefix_cycle(&cy, &p, &r, match, 10, 1);
    double out[2];
    vt->x_score(s, &cy, idx, 2, out);
    assert_double_equal(out[0], 0.5, 0);
    assert_double_equal(out[1], 0.2, 0);
    release(vt, s);
    es_epp_config_destroy(c);
}

/* TestPrefixPluginScoreWithWeights: matchLengthWeight 0.5, scale 100; each
 * endpoint has its own total, so each is scored in its own cycle (eppsim
 * keeps one total per request) */
static void test_prefix_plugin_test_go_TestPrefixPluginScoreWithWeights(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: prefix-cache-scorer\n"
                                  "  parameters: {matchLengthWeight: 0.5, matchLengthScaleTokens: 100}\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "prefix-cache-scorer", &vt);
    pool_t p;
    pool_init(&p, 1, 0);
    es_sched_request_t r = {0};
    static const struct { uint32_t match, total; double want; } cases[] = {
        {5, 10, 0.25125},   /* endpoint1: 0.5*0.05^2 + 0.5*0.5 */
        {50, 100, 0.375},   /* endpoint2: 0.5*0.5^2 + 0.5*0.5 */
    };
    for (size_t k = 0; k < 2; k++) {
        uint32_t match[1] = {cases[k].match}, idx[1] = {0};
        esi_cycle_t cy;
        prefix_cycle(&cy, &p, &r, match, cases[k].total, 1);
        double out[1];
        vt->x_score(s, &cy, idx, 1, out);
        assert_double_equal(out[0], cases[k].want, 1e-6);
    }
    release(vt, s);
    es_epp_config_destroy(c);
}

/* TestPrefixPluginFactoryValidation */
static void test_prefix_plugin_test_go_TestPrefixPluginFactoryValidation(void **st)
{
    (void)st;
    static const struct { const char *name, *params; bool err; double w; int64_t scale; } cases[] = {
        {"valid config with defaults", "{}", false, 0.0, 8192},
        {"valid config with custom values", "{matchLengthWeight: 0.5, matchLengthScaleTokens: 100}", false, 0.5, 100},
        {"invalid matchLengthWeight < 0", "{matchLengthWeight: -0.1, matchLengthScaleTokens: 100}", true, 0, 0},
        {"invalid matchLengthWeight > 1", "{matchLengthWeight: 1.1, matchLengthScaleTokens: 100}", true, 0, 0},
        {"invalid matchLengthScaleTokens <= 0", "{matchLengthWeight: 0.5, matchLengthScaleTokens: 0}", true, 0, 0},
        {"missing matchLengthScaleTokens when matchLengthWeight > 0 uses default", "{matchLengthWeight: 0.5}",
         false, 0.5, 8192},
        {"zero matchLengthWeight doesn't require matchLengthScaleTokens", "{matchLengthWeight: 0.0}", false, 0.0,
         8192},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: prefix-cache-scorer\n  parameters: %s\n",
                 cases[k].params);
        es_epp_config_t *c = NULL;
        es_err_t err;
        int rc = es_epp_config_load_string("case.yaml", text, &c, &err);
        if ((rc != 0) != cases[k].err) fail_msg("%s: rc=%d %s", cases[k].name, rc, rc ? err.msg : "");
        if (rc) continue;
        const esi_plugin_vt_t *vt;
        struct { double w; int64_t scale; } *s = instance(c, "prefix-cache-scorer", &vt);
        assert_double_equal(s->w, cases[k].w, 0);
        assert_int_equal(s->scale, cases[k].scale);
        release(vt, s);
        es_epp_config_destroy(c);
    }
}

/* scheduling/profilehandler/disagg/prefix_based_pd_decider_test.go
 * TestDisaggregate (block size 1: cached tokens = match blocks; input 10
 * tokens) and TestPrefixBasedPDDeciderConfigValidation */
static void test_prefix_based_pd_decider_test_go_TestDisaggregate(void **st)
{
    (void)st;
    static const struct { const char *name; int nc, prompt, cached; bool err, want; } cases[] = {
        {"threshold zero disables disaggregation", 0, 0, 5, false, false},
        {"input shorter than promptTokens threshold", 5, 20, 0, false, false},
        {"negative promptTokens is invalid", 5, -1, 0, true, false},
        {"input shorter than threshold", 20, 0, 0, false, false},
        {"input equals promptTokens threshold", 5, 10, 5, false, true},
        {"non-cached suffix below threshold", 5, 0, 8, false, false},
        {"non-cached suffix equals threshold", 5, 0, 5, false, true},
        {"non-cached suffix above threshold", 3, 0, 2, false, true},
        {"fully cached prompt", 1, 0, 10, false, false},
        {"no cache hit at all", 5, 0, 0, false, true},
        /* TestPrefixBasedPDDeciderConfigValidation */
        {"zero is valid", 0, 0, 0, false, false},
        {"positive is valid", 100, 0, 0, false, false},
        {"negative is invalid", -1, 0, 0, true, false},
    };
    pool_t p;
    pool_init(&p, 1, 0);
    es_sched_request_t r = {0};
    r.content.tokens = 10;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: prefix-based-pd-decider\n"
                 "  parameters: {nonCachedTokens: %d, promptTokens: %d}\n", cases[k].nc, cases[k].prompt);
        es_epp_config_t *c = NULL;
        es_err_t err;
        int rc = es_epp_config_load_string("case.yaml", text, &c, &err);
        if ((rc != 0) != cases[k].err) fail_msg("%s: rc=%d %s", cases[k].name, rc, rc ? err.msg : "");
        if (rc) continue;
        const esi_plugin_vt_t *vt;
        void *s = instance(c, "prefix-based-pd-decider", &vt);
        uint32_t match[1] = {(uint32_t)cases[k].cached};
        esi_cycle_t cy;
        prefix_cycle(&cy, &p, &r, match, 10, 1);
        if (vt->x_decide(s, &cy, 0) != cases[k].want) fail_msg("%s: want %d", cases[k].name, cases[k].want);
        release(vt, s);
        es_epp_config_destroy(c);
    }
}

/* flowcontrol/saturationdetector/concurrency/detector_test.go
 * TestDetector_Saturation (maxConcurrency 10, requests mode) */
static void test_concurrency_detector_test_go_TestDetector_Saturation(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: concurrency-detector\n  parameters: {maxConcurrency: 10}\n"
                                  "- type: queue-scorer\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "concurrency-detector", &vt);
    static const struct { const char *name; size_t n; int64_t load[2]; double want; } cases[] = {
        {"empty_candidate_list_fail_closed", 0, {0, 0}, 1.0},
        {"single_endpoint_empty", 1, {0, 0}, 0.0},
        {"single_endpoint_half_full", 1, {5, 0}, 0.5},
        {"single_endpoint_full", 1, {10, 0}, 1.0},
        {"multi_endpoint_mixed_load", 2, {10, 0}, 0.5},
        {"multi_endpoint_overloaded", 2, {15, 5}, 1.0},
        {"multi_endpoint_very_overloaded", 2, {15, 15}, 1.5},
        {"unknown_endpoint_assumed_empty", 1, {0, 0}, 0.0},
    };
    pool_t p;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        pool_init(&p, cases[k].n, 0);
        int64_t req[2] = {cases[k].load[0], cases[k].load[1]}, tok[2] = {0, 0};
        esi_cycle_t cy;
        memset(&cy, 0, sizeof cy);
        cy.eps = p.eps;
        cy.n = p.n;
        cy.inflight_req = req;
        cy.inflight_tok = tok;
        double got = vt->x_saturation(s, &cy);
        if (fabs(got - cases[k].want) > 1e-6) fail_msg("%s: got %g want %g", cases[k].name, got, cases[k].want);
    }
    release(vt, s);
    es_epp_config_destroy(c);
}

/* TestConcurrencyDetectorFactory ("valid hybrid mode" skipped: README) */
static void test_concurrency_detector_test_go_TestConcurrencyDetectorFactory(void **st)
{
    (void)st;
    static const struct { const char *name, *params; bool err; } cases[] = {
        {"valid configuration", "{maxConcurrency: 50, headroom: 0.2}", false},
        {"invalid schema", "{maxConcurrency: invalid_type}", true},
        {"empty config applies defaults", "{}", false},
        {"invalid max concurrency", "{maxConcurrency: 0}", true},
        {"invalid max token concurrency", "{maxTokenConcurrency: 0}", true},
        {"invalid headroom", "{headroom: -0.5}", true},
        {"invalid mode", "{concurrencyMode: magic}", true},
        {"high headroom warning", "{headroom: 2.0}", false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: concurrency-detector\n  parameters: %s\n",
                 cases[k].params);
        es_epp_config_t *c = NULL;
        es_err_t err;
        int rc = es_epp_config_load_string("case.yaml", text, &c, &err);
        if ((rc != 0) != cases[k].err) fail_msg("%s: rc=%d %s", cases[k].name, rc, rc ? err.msg : "");
        es_epp_config_destroy(c);
    }
}

/* scheduling/scorer/queuedepth/queue_test.go TestQueueScorer */
static void test_queue_test_go_TestQueueScorer(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: queue-scorer\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "queue-scorer", &vt);
    static const struct { const char *name; size_t n; int32_t q[3]; double want[3]; } cases[] = {
        {"Different queue sizes", 3, {10, 5, 0}, {0.0, 0.5, 1.0}},
        {"Same queue sizes", 2, {5, 5, 0}, {1.0, 1.0, 0}},
        {"Zero queue sizes", 2, {0, 0, 0}, {1.0, 1.0, 0}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        pool_t p;
        pool_init(&p, cases[k].n, 0);
        uint32_t idx[3] = {0, 1, 2};
        for (size_t i = 0; i < cases[k].n; i++) p.eps[i].metrics.waiting = cases[k].q[i];
        esi_cycle_t cy;
        memset(&cy, 0, sizeof cy);
        cy.eps = p.eps;
        cy.n = p.n;
        double out[3];
        vt->x_score(s, &cy, idx, cases[k].n, out);
        for (size_t i = 0; i < cases[k].n; i++)
            if (fabs(out[i] - cases[k].want[i]) > 1e-12) fail_msg("%s: endpoint %zu", cases[k].name, i);
    }
    release(vt, s);
    es_epp_config_destroy(c);
}

/* scheduling/filter/bylabel/roles_test.go TestRoleFilter{Decode,Prefill,Encode}Role */
static void test_roles_test_go_TestRoleFilterRoles(void **st)
{
    (void)st;
    static const char *const roles[] = {"decode", "prefill", "prefill-decode", "both", "encode-prefill-decode",
                                        "encode", "encode-prefill", NULL /* no label */};
    static const struct { const char *filter; const char *want; } cases[] = {
        /* survivors by index into roles[], unlabeled last */
        {"decode-filter", "10111001"},
        {"prefill-filter", "01111010"},
        {"encode-filter", "00001110"},
    };
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: decode-filter\n- type: prefill-filter\n- type: encode-filter\n");
    for (size_t k = 0; k < 3; k++) {
        pool_t p;
        pool_init(&p, 8, 0);
        for (size_t i = 0; i < 7; i++) pool_role(&p, i, roles[i]);
        const esi_plugin_vt_t *vt;
        void *s = instance(c, cases[k].filter, &vt);
        uint32_t idx[8];
        for (uint32_t i = 0; i < 8; i++) idx[i] = i;
        esi_cycle_t cy;
        memset(&cy, 0, sizeof cy);
        cy.eps = p.eps;
        cy.n = p.n;
        size_t m = vt->x_filter(s, &cy, idx, 8);
        char got[9] = "00000000";
        for (size_t i = 0; i < m; i++) got[idx[i]] = '1';
        assert_string_equal(got, cases[k].want);
        release(vt, s);
    }
    es_epp_config_destroy(c);
}

/* pkg/epp/config/loader: apiVersion and top-level deprecations
 * (configloader.go LoadRawConfig) -- the notices, and the new field wins */
static void test_configloader_go_deprecations(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text("apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n"
        "plugins:\n- type: queue-scorer\n- type: utilization-detector\n- type: concurrency-detector\n"
        "saturationDetector: {pluginRef: utilization-detector}\n"
        "flowControl: {saturationDetector: {pluginRef: concurrency-detector}}\n");
    assert_string_equal(c->plugins[c->saturation].name, "concurrency-detector");
    assert_non_null(strstr(es_epp_config_warning(c, 0), "DEPRECATION: apiVersion inference.networking.x-k8s.io"));
    assert_non_null(strstr(es_epp_config_warning(c, 1), "DEPRECATION: top-level saturationDetector"));
    es_epp_config_destroy(c);
    /* requestHandler.parsers must name parsers; deprecated plugin aliases warn */
    cfg_fails(HEAD "plugins:\n- type: queue-scorer\nrequestHandler: {parsers: [{pluginRef: queue-scorer}]}\n",
              "requestHandler.parsers[0].pluginRef: plugin \"queue-scorer\" is not a parser");
    c = cfg_text(HEAD "plugins:\n- type: queue-scorer\n- type: tokenizer\n  parameters: {modelName: m}\n");
    bool dep = false, noeff = false;
    for (size_t i = 0; es_epp_config_warning(c, i); i++) {
        if (strstr(es_epp_config_warning(c, i), "DEPRECATION warning: plugin is deprecated (plugin tokenizer, "
                                                 "type tokenizer; use token-producer)")) dep = true;
        if (strstr(es_epp_config_warning(c, i), "plugins[1].parameters: accepted, no effect")) noeff = true;
    }
    assert_true(dep && noeff);
    es_epp_config_destroy(c);
    /* meaningless types: accepted with a warning naming them */
    c = cfg_text(HEAD "plugins:\n- type: queue-scorer\n- type: multicluster-queue-scorer\n");
    bool named = false;
    for (size_t i = 0; es_epp_config_warning(c, i); i++)
        if (strstr(es_epp_config_warning(c, i), "'multicluster-queue-scorer'") &&
            strstr(es_epp_config_warning(c, i), "one cluster is simulated")) named = true;
    assert_true(named);
    es_epp_config_destroy(c);
}

/* requestcontrol/dataproducer/preciseprefixcache: the producer feeds
 * prefix-cache-scorer (match = longest run of full blocks from the first);
 * speculative entries count until speculativeTTL passes (prerequest.go) */
static void test_preciseprefixcache_producer_speculative(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: precise-prefix-cache-producer\n"
        "  parameters: {tokenProcessorConfig: {blockSizeTokens: 16}, speculativeIndexing: true, speculativeTTL: 1s}\n"
        "- type: prefix-cache-scorer\n  parameters: {prefixMatchInfoProducerName: precise-prefix-cache-producer}\n");
    assert_true(es_scheduler_wants_kv_events(c));
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    pool_t p;
    pool_init(&p, 2, 0);
    es_segment_t seg = {7, 64};   /* 4 blocks of 16 */
    es_sched_request_t r = {0};
    r.id = 1;
    r.model = "m";
    r.content.segs = &seg;
    r.content.nsegs = 1;
    r.content.tokens = 64;
    uint64_t keys[4];
    assert_int_equal(es_content_block_hashes(&r.content, 16, keys, 4), 4);
    /* pod2 stored the first two blocks */
    for (int b = 0; b < 2; b++) {
        es_kv_event_t ev = {.kind = ES_KV_BLOCK_STORED, .endpoint = 1, .block_hash = keys[b]};
        es_scheduler_on_kv_event(s, &ev);
    }
    /* es_scheduler_kv_held (a live gateway's kv_blocks): the run each pod holds */
    uint64_t held[4] = {0};
    assert_int_equal(es_scheduler_kv_held(s, &r, 1, held, 4), 2);
    assert_true(held[0] == keys[0] && held[1] == keys[1]);
    assert_int_equal(es_scheduler_kv_held(s, &r, 0, held, 4), 0);
    held[1] = 0;
    assert_int_equal(es_scheduler_kv_held(s, &r, 1, held, 1), 2);   /* the length; only max written */
    assert_true(held[1] == 0);
    es_sched_result_t res = {0};
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.primary, 1);
    assert_int_equal(res.est_prefix_blocks, 2);
    assert_int_equal(res.est_total_blocks, 4);
    assert_int_equal(es_scheduler_kv_held(s, &r, 1, held, 4), 4);   /* the pick's speculative entries count */
    es_scheduler_on_end(s, 1, 0);
    /* speculative: pod2 now holds all four blocks until the TTL passes */
    r.id = 2;
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, ES_MS * 500, &res), 0);
    assert_int_equal(res.est_prefix_blocks, 4);
    es_scheduler_on_end(s, 2, ES_MS * 500);
    r.id = 3;
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, ES_MS * 2600, &res), 0);
    assert_int_equal(res.primary, 1);
    assert_int_equal(res.est_prefix_blocks, 2);   /* the confirmed (KV-event) entries remain */
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
}

/* pods of 0..npods-1 store r's first block in that order; returns how many
 * of them the index still holds it for (es_scheduler_kv_held) */
static int pod_cache_holders(const char *config, int npods, bool *held_by)
{
    es_epp_config_t *c = cfg_text(config);
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    es_segment_t seg = {7, 16};
    es_sched_request_t r = {0};
    r.model = "m";
    r.content.segs = &seg;
    r.content.nsegs = 1;
    r.content.tokens = 16;
    uint64_t key;
    assert_int_equal(es_content_block_hashes(&r.content, 16, &key, 1), 1);
    for (int e = 0; e < npods; e++) {
        es_kv_event_t ev = {.kind = ES_KV_BLOCK_STORED, .endpoint = (uint32_t)e, .block_hash = key};
        es_scheduler_on_kv_event(s, &ev);
    }
    int n = 0;
    for (int e = 0; e < npods; e++) {
        uint64_t held;
        held_by[e] = es_scheduler_kv_held(s, &r, (uint32_t)e, &held, 1) == 1;
        n += held_by[e];
    }
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
    return n;
}

/* kvcache/kvblock/in_memory_test.go TestInMemoryIndexPodCacheSize: with
 * podCacheSize 2 a key keeps its two most recently added pods (pod1 goes);
 * the default is 10 (defaultPodsPerKey), on the producer and on the
 * self-hosting scorer; podCacheSize must be positive (upstream's per-key
 * lru.New fails on every add otherwise); size is validated and modelled
 * (TestInMemoryIndexSize below). */
static void test_in_memory_test_go_TestInMemoryIndexPodCacheSize(void **st)
{
    (void)st;
    bool held[12];
#define PPROD(params) HEAD "plugins:\n- type: precise-prefix-cache-producer\n  parameters: " params "\n" \
    "- type: prefix-cache-scorer\n  parameters: {prefixMatchInfoProducerName: precise-prefix-cache-producer}\n"
#define INMEM(x) "{tokenProcessorConfig: {blockSizeTokens: 16}, indexerConfig: {kvBlockIndexConfig: " \
    "{enableMetrics: true, inMemoryConfig: " x "}}}"
    assert_int_equal(pod_cache_holders(PPROD(INMEM("{size: 1, podCacheSize: 2}")), 3, held), 2);
    assert_true(!held[0] && held[1] && held[2]);
    assert_int_equal(pod_cache_holders(PPROD("{tokenProcessorConfig: {blockSizeTokens: 16}}"), 12, held), 10);
    assert_true(!held[0] && !held[1] && held[2] && held[11]);
    assert_int_equal(pod_cache_holders(PPROD(INMEM("{podCacheSize: 11}")), 12, held), 11);
    /* the legacy self-hosting scorer reads the same keys */
    assert_int_equal(pod_cache_holders(HEAD "plugins:\n- type: precise-prefix-cache-scorer\n  parameters: "
                                       "{indexerConfig: {kvBlockIndexConfig: {inMemoryConfig: {podCacheSize: 3}}}}\n",
                                       5, held), 3);
    assert_true(!held[1] && held[2] && held[4]);
    cfg_fails(PPROD(INMEM("{podCacheSize: 0}")),
              "indexerConfig.kvBlockIndexConfig.inMemoryConfig.podCacheSize");
    cfg_fails(PPROD(INMEM("{size: 0}")), "indexerConfig.kvBlockIndexConfig.inMemoryConfig.size");
    cfg_fails(PPROD(INMEM("{podCacheSiz: 4}")), "podCacheSiz");
    es_epp_config_t *c = cfg_text(PPROD(INMEM("{size: 1000}")));
    bool size_warned = false, metrics_warned = false;
    for (size_t i = 0; es_epp_config_warning(c, i); i++) {
        const char *w = es_epp_config_warning(c, i);
        if (strstr(w, "inMemoryConfig.size")) size_warned = true;
        if (strstr(w, "kvBlockIndexConfig.enableMetrics: accepted, no effect")) metrics_warned = true;
    }
    assert_true(!size_warned && metrics_warned);   /* size is modelled now */
    es_epp_config_destroy(c);
#undef INMEM
#undef PPROD
}

/* The key LRU (inMemoryConfig.size, scheduler/key_lru.c) through the
 * scheduler: block keys of one-block requests (segment id, 16 tokens). */
typedef struct klru_fx { es_epp_config_t *c; es_scheduler_t *s; es_segment_t seg[8]; es_sched_request_t r[8]; } klru_fx_t;

static void klru_fx_init(klru_fx_t *f, const char *config)
{
    memset(f, 0, sizeof *f);
    f->c = cfg_text(config);
    es_err_t err;
    assert_int_equal(es_scheduler_create(f->c, 1, &f->s, &err), 0);
    for (int k = 0; k < 8; k++) {
        f->seg[k] = (es_segment_t){(uint64_t)(k + 1) * 7919, 16};
        f->r[k] = (es_sched_request_t){.id = (uint64_t)k + 1, .model = "m"};
        f->r[k].content = (es_content_t){&f->seg[k], 1, 16};
    }
}

static uint64_t klru_key(klru_fx_t *f, int k)
{
    uint64_t key = 0;
    assert_int_equal(es_content_block_hashes(&f->r[k].content, 16, &key, 1), 1);
    return key;
}

static void klru_event(klru_fx_t *f, es_kv_event_kind_t kind, int k, uint32_t pod)
{
    es_kv_event_t ev = {.kind = kind, .endpoint = pod, .block_hash = kind == ES_KV_ALL_CLEARED ? 0 : klru_key(f, k)};
    es_scheduler_on_kv_event(f->s, &ev);
}

static bool klru_held(klru_fx_t *f, int k, uint32_t pod)
{
    uint64_t held;
    return es_scheduler_kv_held(f->s, &f->r[k], pod, &held, 1) == 1;
}

static void klru_fx_fini(klru_fx_t *f)
{
    es_scheduler_destroy(f->s);
    es_epp_config_destroy(f->c);
}

#define KLRU_PPROD(size) HEAD "plugins:\n- type: precise-prefix-cache-producer\n  parameters: " \
    "{tokenProcessorConfig: {blockSizeTokens: 16}, indexerConfig: {kvBlockIndexConfig: {inMemoryConfig: " \
    "{size: " size "}}}}\n- type: prefix-cache-scorer\n  parameters: {prefixMatchInfoProducerName: precise-prefix-cache-producer}\n"

/* kvcache/kvblock/in_memory_test.go TestInMemoryIndexSize: Size 2, three
 * keys added on pod1, pod2, pod3: the first key went (LRU), the last two
 * remain with their pod.  Also on the legacy self-hosting scorer. */
static void test_in_memory_test_go_TestInMemoryIndexSize(void **st)
{
    (void)st;
    const char *configs[] = {KLRU_PPROD("2"),
                             HEAD "plugins:\n- type: precise-prefix-cache-scorer\n  parameters: "
                                  "{indexerConfig: {kvBlockIndexConfig: {inMemoryConfig: {size: 2}}}}\n"};
    for (int c = 0; c < 2; c++) {
        klru_fx_t f;
        klru_fx_init(&f, configs[c]);
        for (int k = 0; k < 3; k++) klru_event(&f, ES_KV_BLOCK_STORED, k, (uint32_t)k);
        assert_false(klru_held(&f, 0, 0));
        assert_true(klru_held(&f, 1, 1));
        assert_true(klru_held(&f, 2, 2));
        klru_fx_fini(&f);
    }
}

/* What counts as use (in_memory.go over hashicorp golang-lru v2): Lookup
 * Gets every key of the request (the producer's Produce, once a decision);
 * Add Gets an existing key; Evict (BlockRemoved) Gets the key, so one that
 * keeps a holder is promoted, and an emptied one is removed; Clear
 * (AllBlocksCleared) promotes, oldest first, each key the pod shared and
 * removes those it held alone.  Without size nothing is dropped. */
static void test_in_memory_go_key_lru_use(void **st)
{
    (void)st;
    klru_fx_t f;
    es_endpoint_t ep[2] = {{.id = 0, .name = "p0", .address = "a", .ready = true},
                           {.id = 1, .name = "p1", .address = "b", .ready = true}};
    es_sched_result_t res;
    /* Lookup: k0 looked up after k1 was added, so k1 is the oldest when k2 comes */
    klru_fx_init(&f, KLRU_PPROD("2"));
    klru_event(&f, ES_KV_BLOCK_STORED, 0, 0);
    klru_event(&f, ES_KV_BLOCK_STORED, 1, 0);
    memset(&res, 0, sizeof res);
    assert_int_equal(es_scheduler_pick(f.s, &f.r[0], ep, 2, ES_MS, &res), 0);
    assert_int_equal(res.est_prefix_blocks, 1);
    klru_event(&f, ES_KV_BLOCK_STORED, 2, 1);
    assert_true(klru_held(&f, 0, 0) && !klru_held(&f, 1, 0) && klru_held(&f, 2, 1));
    /* Add of an existing key (another pod) promotes it: k2 re-stored, k3 drops k0 */
    klru_event(&f, ES_KV_BLOCK_STORED, 2, 0);
    klru_event(&f, ES_KV_BLOCK_STORED, 3, 0);
    assert_true(!klru_held(&f, 0, 0) && klru_held(&f, 2, 0) && klru_held(&f, 2, 1) && klru_held(&f, 3, 0));
    /* Evict with a holder left promotes: k2 loses pod 1 (keeps pod 0), k4 drops k3 */
    klru_event(&f, ES_KV_BLOCK_REMOVED, 2, 1);
    klru_event(&f, ES_KV_BLOCK_STORED, 4, 0);
    assert_true(klru_held(&f, 2, 0) && !klru_held(&f, 2, 1) && !klru_held(&f, 3, 0) && klru_held(&f, 4, 0));
    /* Evict of the last holder removes the key: room for k5 without dropping k4 */
    klru_event(&f, ES_KV_BLOCK_REMOVED, 2, 0);
    klru_event(&f, ES_KV_BLOCK_STORED, 5, 1);
    assert_true(klru_held(&f, 4, 0) && klru_held(&f, 5, 1));
    klru_fx_fini(&f);
    /* Clear: size 3 holding k0 (pods 0, 1), k1 (pod 1), k2 (pod 0), k0 the oldest;
     * clearing pod 1 removes k1 and promotes k0, so k3 fits and k4 drops k2 */
    klru_fx_init(&f, KLRU_PPROD("3"));
    klru_event(&f, ES_KV_BLOCK_STORED, 0, 0);
    klru_event(&f, ES_KV_BLOCK_STORED, 0, 1);
    klru_event(&f, ES_KV_BLOCK_STORED, 1, 1);
    klru_event(&f, ES_KV_BLOCK_STORED, 2, 0);
    klru_event(&f, ES_KV_ALL_CLEARED, 0, 1);
    klru_event(&f, ES_KV_BLOCK_STORED, 3, 0);
    assert_true(klru_held(&f, 0, 0) && klru_held(&f, 2, 0) && klru_held(&f, 3, 0));
    klru_event(&f, ES_KV_BLOCK_STORED, 4, 0);
    assert_true(klru_held(&f, 0, 0) && !klru_held(&f, 2, 0) && klru_held(&f, 3, 0) && klru_held(&f, 4, 0));
    /* a removed pod (es_scheduler_endpoint_removed) is a Clear too */
    es_scheduler_endpoint_removed(f.s, 0);
    klru_event(&f, ES_KV_BLOCK_STORED, 5, 1);
    klru_event(&f, ES_KV_BLOCK_STORED, 6, 1);
    klru_event(&f, ES_KV_BLOCK_STORED, 7, 1);
    assert_true(klru_held(&f, 5, 1) && klru_held(&f, 6, 1) && klru_held(&f, 7, 1));
    klru_fx_fini(&f);
    /* unwritten size: nothing is dropped */
    klru_fx_init(&f, HEAD "plugins:\n- type: precise-prefix-cache-producer\n  parameters: "
                     "{tokenProcessorConfig: {blockSizeTokens: 16}}\n");
    for (int k = 0; k < 8; k++) klru_event(&f, ES_KV_BLOCK_STORED, k, 0);
    for (int k = 0; k < 8; k++) assert_true(klru_held(&f, k, 0));
    klru_fx_fini(&f);
}

/* key_lru.c itself: many keys through growth, removals in the middle
 * (backward-shift deletion), the eviction order. */
static void test_key_lru_table(void **st)
{
    (void)st;
    esi_klru_t l;
    esi_klru_init(&l, 3000);
    uint64_t gone;
    for (uint64_t k = 1; k <= 3000; k++) assert_false(esi_klru_add(&l, k * 1024, &gone));   /* poorly mixed keys */
    for (uint64_t k = 2; k <= 3000; k += 2) esi_klru_remove(&l, k * 1024);
    assert_int_equal(l.n, 1500);
    for (uint64_t k = 1; k <= 3000; k++) assert_int_equal(esi_klru_contains(&l, k * 1024), k % 2 == 1);
    assert_true(esi_klru_touch(&l, 1024));        /* the oldest becomes the newest */
    assert_false(esi_klru_touch(&l, 2048));
    for (uint64_t k = 0; k < 1500; k++) assert_false(esi_klru_add(&l, (k + 5000) * 1024, &gone));
    assert_true(esi_klru_add(&l, 9999999, &gone));
    assert_int_equal(gone, 3 * 1024);              /* 1024 was touched: 3 * 1024 is the oldest */
    assert_true(esi_klru_add(&l, 9999998, &gone));
    assert_int_equal(gone, 5 * 1024);
    assert_int_equal(l.n, 3000);
    esi_klru_fini(&l);
}

/* scheduling/scorer/nohitlru/no_hit_lru_test.go: a cold request over pool
 * p (candidates idx[0..m)); returns scores; pick >= 0: PreRequest with that
 * eps index as the primary pick */
static void nohit_round(const esi_plugin_vt_t *vt, void *s, const pool_t *p, const uint32_t *idx, size_t m,
                        const uint32_t *match, int pick, double *out)
{
    es_sched_request_t r = {0};
    uint32_t zero[TEST_MAX_EPS] = {0};
    esi_cycle_t cy;
    prefix_cycle(&cy, p, &r, (uint32_t *)(match ? match : zero), 10, 1);
    vt->x_score(s, &cy, idx, m, out);
    if (pick < 0) return;
    cy.primary = 0;
    cy.prefill = -1;
    cy.res[0].ran = true;
    cy.res[0].npicked = 1;
    cy.res[0].picked[0] = (uint32_t)pick;
    vt->x_pre_request(s, &cy);
}

/* TestNoHitLRUScorer, TestNoHitLRUPreferLeastRecentlyUsedAfterColdRequests,
 * and v0.10's ranking by the position in the whole LRU */
static void test_no_hit_lru_test_go(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: no-hit-lru-scorer\n");
    const esi_plugin_vt_t *vt;
    pool_t p;
    pool_init(&p, 4, 0);
    uint32_t idx[4] = {0, 1, 2, 3};
    double out[4];
    /* "cold request - all endpoints never used" */
    void *s = instance(c, "no-hit-lru-scorer", &vt);
    nohit_round(vt, s, &p, idx, 3, NULL, -1, out);
    assert_double_equal(out[0], 1.0, 0); assert_double_equal(out[1], 0.5, 0); assert_double_equal(out[2], 0.0, 0);
    /* "cache hit - neutral scores" */
    uint32_t warm[4] = {1, 0, 0, 0};
    nohit_round(vt, s, &p, idx, 3, warm, -1, out);
    for (int i = 0; i < 3; i++) assert_double_equal(out[i], 0.5, 0);
    /* "single endpoint - max score" */
    nohit_round(vt, s, &p, idx, 1, NULL, -1, out);
    assert_double_equal(out[0], 1.0, 0);
    release(vt, s);
    /* PreferLeastRecentlyUsedAfterColdRequests: a cold request to pod-a; then
     * pod-b 1.0, pod-c 0.5; a warm request leaves the LRU untouched; a cold
     * one to pod-b makes pod-c the best */
    s = instance(c, "no-hit-lru-scorer", &vt);
    nohit_round(vt, s, &p, idx, 3, NULL, 0, out);
    nohit_round(vt, s, &p, idx, 3, NULL, -1, out);
    assert_double_equal(out[1], 1.0, 0);
    assert_double_equal(out[2], 0.5, 0);
    assert_true(out[1] > out[0]);
    nohit_round(vt, s, &p, idx, 3, warm, 1, out);
    nohit_round(vt, s, &p, idx, 3, NULL, -1, out);
    assert_true(out[1] > out[0]);
    nohit_round(vt, s, &p, idx, 3, NULL, 1, out);
    nohit_round(vt, s, &p, idx, 3, NULL, -1, out);
    assert_true(out[2] > out[0] && out[2] > out[1]);
    release(vt, s);
    /* whole-LRU position: pods 0, 1, 2 used in that order; pod 0 filtered out.
     * Candidates {1, 2}: pod 1 is at LRU position 1 -> 1 - 1/1 = 0 (it would
     * be 1.0 ranked among the candidates only), pod 2 at 2 -> clamped to 0 */
    s = instance(c, "no-hit-lru-scorer", &vt);
    for (int k = 0; k < 3; k++) nohit_round(vt, s, &p, idx, 3, NULL, k, out);
    uint32_t sub[2] = {1, 2};
    nohit_round(vt, s, &p, sub, 2, NULL, -1, out);
    assert_double_equal(out[0], 0.0, 0);
    assert_double_equal(out[1], 0.0, 0);
    /* with a never-used candidate: pod 3 first (1.0), pod 1 rank 1 + 1 = 2 -> 0 */
    uint32_t sub2[3] = {3, 1, 0};
    nohit_round(vt, s, &p, sub2, 3, NULL, -1, out);
    assert_double_equal(out[0], 1.0, 0);
    assert_double_equal(out[2], 0.5, 0);   /* pod 0: LRU position 0 -> rank 1 -> 1 - 1/2 */
    assert_double_equal(out[1], 0.0, 0);   /* pod 1: rank 1 + 1 = 2 -> 0 */
    release(vt, s);
    es_epp_config_destroy(c);
}

/* The pods of selector_test.go / filter_test.go (no-tier-pod last, only in filter_test.go) */
typedef struct lbl_pool {
    pool_t     p;
    es_label_t labels[6][3];
} lbl_pool_t;

static void lbl_pool_init(lbl_pool_t *lp, size_t n)
{
    static const char *const names[] = {"nginx-1", "nginx-2", "coredns-1", "redis-1", "web-1", "no-tier-pod"};
    static const es_label_t l[6][3] = {
        {{"app", "nginx"}, {"version", "v1.0"}, {"tier", "frontend"}},
        {{"app", "nginx"}, {"version", "v1.1"}, {"tier", "frontend"}},
        {{"app", "coredns"}, {"tier", "system"}, {NULL, NULL}},
        {{"app", "redis"}, {"tier", "backend"}, {"deprecated", "true"}},
        {{"app", "web"}, {"tier", "frontend"}, {"environment", "production"}},
        {{"app", "unknown"}, {NULL, NULL}, {NULL, NULL}},
    };
    pool_init(&lp->p, n, 0);
    memcpy(lp->labels, l, sizeof l);
    for (size_t i = 0; i < n; i++) {
        lp->p.eps[i].name = names[i];
        lp->p.eps[i].labels = lp->labels[i];
        lp->p.eps[i].nlabels = l[i][2].key ? 3 : l[i][1].key ? 2 : 1;
    }
}

/* survivors as a 0/1 string by pod index */
static void filter_names(const es_epp_config_t *c, const char *name, lbl_pool_t *lp, char *got)
{
    const esi_plugin_vt_t *vt;
    void *s = instance(c, name, &vt);
    uint32_t idx[8];
    for (uint32_t i = 0; i < lp->p.n; i++) { idx[i] = i; got[i] = '0'; }
    got[lp->p.n] = '\0';
    esi_cycle_t cy;
    memset(&cy, 0, sizeof cy);
    cy.eps = lp->p.eps;
    cy.n = lp->p.n;
    size_t m = vt->x_filter(s, &cy, idx, lp->p.n);
    for (size_t i = 0; i < m; i++) got[idx[i]] = '1';
    release(vt, s);
}

/* scheduling/filter/bylabel/selector_test.go TestLabelSelectorFilterFiltering */
static void test_selector_test_go_TestLabelSelectorFilterFiltering(void **st)
{
    (void)st;
    static const struct { const char *name, *params, *want; } cases[] = {
        {"matchLabels - app nginx", "{matchLabels: {app: nginx}}", "11000"},
        {"matchLabels - exact match", "{matchLabels: {app: nginx, version: v1.0}}", "10000"},
        {"matchExpressions - In operator", "{matchExpressions: [{key: tier, operator: In, values: [frontend, backend]}]}",
         "11011"},
        {"matchExpressions - NotIn operator", "{matchExpressions: [{key: tier, operator: NotIn, values: [system]}]}",
         "11011"},
        {"matchExpressions - Exists operator", "{matchExpressions: [{key: deprecated, operator: Exists}]}", "00010"},
        {"matchExpressions - DoesNotExist operator", "{matchExpressions: [{key: deprecated, operator: DoesNotExist}]}",
         "11101"},
        {"combined matchLabels and matchExpressions",
         "{matchLabels: {tier: frontend}, matchExpressions: [{key: environment, operator: Exists}]}", "00001"},
        {"empty selector - matches all", "{}", "11111"},
        {"no matches", "{matchLabels: {app: nonexistent}}", "00000"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512], got[8];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: label-selector-filter\n  parameters: %s\n", cases[k].params);
        es_epp_config_t *c = cfg_text(text);
        lbl_pool_t lp;
        lbl_pool_init(&lp, 5);
        filter_names(c, "label-selector-filter", &lp, got);
        if (strcmp(got, cases[k].want)) fail_msg("%s: got %s want %s", cases[k].name, got, cases[k].want);
        es_epp_config_destroy(c);
    }
    /* TestLabelSelectorFilterFactoryWithInvalidJSON: an unknown operator */
    cfg_fails(HEAD "plugins:\n- type: label-selector-filter\n  parameters: {matchExpressions: [{key: a, "
              "operator: InvalidOperator, values: [x]}]}\n", "operator");
    /* TestDeprecatedSelectorFactoryBackwardCompat: by-label-selector behaves the same, with a notice */
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: by-label-selector\n  parameters: {matchLabels: {app: nginx}}\n");
    lbl_pool_t lp;
    char got[8];
    lbl_pool_init(&lp, 5);
    filter_names(c, "by-label-selector", &lp, got);
    assert_string_equal(got, "11000");
    assert_non_null(strstr(es_epp_config_warning(c, 0), "DEPRECATION warning: plugin is deprecated"));
    es_epp_config_destroy(c);
}

/* scheduling/filter/bylabel/filter_test.go TestByLabelFiltering and TestFactory */
static void test_filter_test_go_TestByLabelFiltering(void **st)
{
    (void)st;
    static const struct { const char *name, *params, *want; } cases[] = {
        {"match app nginx", "{label: app, validValues: [nginx]}", "110000"},
        {"match exact version v1.0", "{label: version, validValues: [v1.0]}", "100000"},
        {"allow pods without 'tier' label", "{label: tier, allowsNoLabel: true}", "000001"},
        {"allow all known tier values", "{label: tier, validValues: [frontend, backend, system]}", "111110"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512], got[8];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: by-label\n  parameters: %s\n", cases[k].params);
        es_epp_config_t *c = cfg_text(text);
        lbl_pool_t lp;
        lbl_pool_init(&lp, 6);
        filter_names(c, "by-label", &lp, got);
        if (strcmp(got, cases[k].want)) fail_msg("%s: got %s want %s", cases[k].name, got, cases[k].want);
        es_epp_config_destroy(c);
    }
    /* TestFactory */
    static const struct { const char *name, *params; bool err; } fac[] = {
        {"valid configuration with non-empty validValues", "{label: r, allowsNoLabel: false, validValues: [a]}", false},
        {"allowsNoLabel true with empty validValues", "{label: r, allowsNoLabel: true, validValues: []}", false},
        {"allowsNoLabel true with multiple valid roles", "{label: r, allowsNoLabel: true, validValues: [a, b]}", false},
        {"empty label name should error", "{label: '', allowsNoLabel: false, validValues: [a]}", true},
        {"missing label field should error", "{allowsNoLabel: false, validValues: [a]}", true},
        {"contradictory config: empty validValues and allowsNoLabel=false",
         "{label: r, allowsNoLabel: false, validValues: []}", true},
        {"contradictory config: no validValues field and allowsNoLabel=false", "{label: r, allowsNoLabel: false}", true},
        /* TestFactoryInvalidJSON */
        {"validValues as string instead of array", "{label: app, validValues: 'true'}", true},
        {"allowsNoLabel as string", "{label: app, allowsNoLabel: 'yes', validValues: ['true']}", true},
    };
    for (size_t k = 0; k < sizeof fac / sizeof fac[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: by-label\n  parameters: %s\n", fac[k].params);
        es_epp_config_t *c = NULL;
        es_err_t err;
        int rc = es_epp_config_load_string("case.yaml", text, &c, &err);
        if ((rc != 0) != fac[k].err) fail_msg("%s: rc=%d %s", fac[k].name, rc, rc ? err.msg : "");
        es_epp_config_destroy(c);
    }
}

/* flowcontrol/usagelimits/softreflectiveceiling/policy_test.go TestComputeLimit_* */
static void limits(const esi_plugin_vt_t *vt, void *st, double sat, size_t n, double *out)
{
    static const int64_t prios[4] = {100, 50, 0, -50};
    for (size_t i = 0; i < n; i++) out[i] = 1.0;
    vt->x_limits(st, sat, prios, n, out);
}

static void test_softreflectiveceiling_policy_test_go_TestComputeLimit(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: soft-reflective-ceiling-policy\n- type: queue-scorer\n");
    const esi_plugin_vt_t *vt;
    double got[4];
    void *p = instance(c, "soft-reflective-ceiling-policy", &vt);
    /* TestComputeLimit_SingleBand, _CriticalBandNeverGated */
    static const double sats[] = {0.0, 0.3, 0.5, 0.7, 0.99, 1.0, 1.5};
    for (size_t k = 0; k < 7; k++) {
        limits(vt, p, sats[k], 1, got);
        assert_double_equal(got[0], 1.0, 0);
        limits(vt, p, sats[k], 3, got);
        assert_double_equal(got[0], 1.0, 0);
    }
    release(vt, p);
    /* _BelowCeilingAllOpen (0.3, N=3) and _FullySaturated (1.0) */
    p = instance(c, "soft-reflective-ceiling-policy", &vt);
    limits(vt, p, 0.3, 3, got);
    for (int i = 0; i < 3; i++) assert_double_equal(got[i], 1.0, 0);
    limits(vt, p, 1.0, 3, got);
    assert_double_equal(got[0], 1.0, 0);
    assert_double_equal(got[1], 0.0, 0);
    assert_double_equal(got[2], 0.0, 0);
    release(vt, p);
    /* _ReflectiveFormula: N=4, 0.7: band 1 open, bands 2 and 3 gated (0 or 1) */
    p = instance(c, "soft-reflective-ceiling-policy", &vt);
    limits(vt, p, 0.7, 4, got);
    assert_double_equal(got[1], 1.0, 0);
    assert_true((got[2] == 0.0 || got[2] == 1.0) && (got[3] == 0.0 || got[3] == 1.0));
    release(vt, p);
    /* _Alternation: N=2, 0.7 -> period 2; _AlternationLongerPeriod: 0.75 -> period 3 */
    static const double want2[] = {0, 1, 0, 1, 0, 1}, want3[] = {0, 0, 1, 0, 0, 1};
    p = instance(c, "soft-reflective-ceiling-policy", &vt);
    for (int i = 0; i < 6; i++) { limits(vt, p, 0.7, 2, got); assert_double_equal(got[1], want2[i], 0); }
    release(vt, p);
    p = instance(c, "soft-reflective-ceiling-policy", &vt);
    for (int i = 0; i < 6; i++) { limits(vt, p, 0.75, 2, got); assert_double_equal(got[1], want3[i], 0); }
    release(vt, p);
    /* _NoStarvationUnderRisingSaturation: gated bands open and close together */
    p = instance(c, "soft-reflective-ceiling-policy", &vt);
    for (int i = 0; i < 3; i++) limits(vt, p, 0.6, 3, got);
    int open1 = 0, open2 = 0;
    for (int i = 0; i < 100; i++) {
        limits(vt, p, 0.7, 3, got);
        assert_true(got[1] >= got[2]);
        open1 += got[1] == 1.0;
        open2 += got[2] == 1.0;
    }
    assert_true(open1 > 0 && open2 > 0);
    release(vt, p);
    es_epp_config_destroy(c);
    /* TestFactory_UnknownFieldRejected: the policy takes no parameters */
    cfg_fails(HEAD "plugins:\n- type: soft-reflective-ceiling-policy\n  parameters: {x: 1}\n", "takes none");
}

/* requestcontrol/admitter/probabilisticadmitter/plugin_test.go: eppsim draws
 * from the replica's stream, so cases whose probability is 0 or 1 are exact
 * and TestProbabilisticShedding (p = 0.2^5 * 300 = 0.096) is a frequency */
static const char *admit(const esi_plugin_vt_t *vt, void *st, es_rng_t *rng, int32_t prio, size_t n,
                         const int32_t *q, const double *kv)
{
    pool_t p;
    pool_init(&p, n, 0);
    for (size_t i = 0; i < n; i++) { p.eps[i].metrics.waiting = q[i]; p.eps[i].metrics.kv_cache_usage = kv[i]; }
    es_sched_request_t r = {0};
    r.priority = prio;
    esi_cycle_t cy;
    memset(&cy, 0, sizeof cy);
    cy.req = &r;
    cy.eps = p.eps;
    cy.n = n;
    cy.rng = rng;
    return vt->x_admit(st, &cy);
}

static void test_probabilisticadmitter_plugin_test_go(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: probabilistic-admitter\n- type: random-picker\n");
    const esi_plugin_vt_t *vt;
    void *a = instance(c, "probabilistic-admitter", &vt);
    es_rng_t rng;
    es_rng_seed(&rng, 3);
    int32_t q100[1] = {100}, q0[2] = {0, 0}, q10[2] = {10, 0}, q5[1] = {5};
    double kv0[2] = {0, 0}, kv272[1] = {0.272}, kv8[1] = {0.8}, kv16[1] = {0.16};
    for (int i = 0; i < 50; i++) {
        assert_null(admit(vt, a, &rng, 0, 1, q100, kv0));          /* TestProtectedTiersAlwaysAdmitted */
        assert_null(admit(vt, a, &rng, 100, 1, q100, kv0));
        assert_non_null(admit(vt, a, &rng, -1, 1, q100, kv0));     /* TestDroppableRejectedAtHighSaturation */
        assert_null(admit(vt, a, &rng, -1, 1, q0, kv0));           /* TestDroppableAdmittedAtZeroSaturation */
        assert_null(admit(vt, a, &rng, -1, 0, q0, kv0));           /* TestNoPods */
        assert_non_null(admit(vt, a, &rng, -1, 2, q10, kv0));      /* TestMultiplePodsSaturationAveraging */
        assert_non_null(admit(vt, a, &rng, -1, 1, q0, kv272));     /* TestQuinticProperty */
        assert_non_null(admit(vt, a, &rng, -1, 1, q5, kv8));       /* TestErrorTypeIsStructured (sat 1) */
    }
    int rejected = 0;
    for (int i = 0; i < 20000; i++) rejected += admit(vt, a, &rng, -1, 1, q0, kv16) != NULL;
    assert_true(fabs(rejected / 20000.0 - 0.096) < 0.01);         /* TestProbabilisticShedding */
    release(vt, a);
    es_epp_config_destroy(c);
    /* TestFactory_Zero*, _Negative*: every parameter must be > 0 */
    static const char *const bad[] = {"{queueDepthThreshold: 0}", "{kvCacheUtilThreshold: 0}", "{power: -1}",
                                      "{power: 0}", "{k: -1}", "{k: 0}"};
    for (size_t k = 0; k < 6; k++) {
        char text[256];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: probabilistic-admitter\n  parameters: %s\n", bad[k]);
        cfg_fails(text, "must be > 0");
    }
    /* TestFactory: custom values load */
    c = cfg_text(HEAD "plugins:\n- type: probabilistic-admitter\n  parameters: {queueDepthThreshold: 10, "
                 "kvCacheUtilThreshold: 0.9, power: 3, k: 100}\n");
    es_epp_config_destroy(c);
}

/* scheduling/filter/topologyaffinity, scorer/topologyaffinity, util/topology
 * (Compare, level scores): the prefill pick is filtered and scored by its
 * closeness to the decode pick */
static void test_topologyaffinity(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: topology-extractor\n- type: topology-affinity-filter\n"
        "  parameters: {minAffinity: zone}\n- type: topology-affinity-scorer\n- type: decode-filter\n- type: prefill-filter\n"
        "- type: always-disagg-pd-decider\n- type: disagg-profile-handler\n  parameters: {deciders: {prefill: always-disagg-pd-decider}}\n"
        "- type: max-score-picker\nschedulingProfiles:\n- {name: decode, plugins: [{pluginRef: decode-filter}]}\n"
        "- name: prefill\n  plugins: [{pluginRef: prefill-filter}, {pluginRef: topology-affinity-filter}, "
        "{pluginRef: topology-affinity-scorer}]\n");
    /* pod0 decode (host h1, zone z1); pod1 prefill same host; pod2 prefill same zone; pod3 other zone */
    static const es_label_t l[4][3] = {
        {{"llm-d.ai/role", "decode"}, {"kubernetes.io/hostname", "h1"}, {"topology.kubernetes.io/zone", "z1"}},
        {{"llm-d.ai/role", "prefill"}, {"kubernetes.io/hostname", "h1"}, {"topology.kubernetes.io/zone", "z1"}},
        {{"llm-d.ai/role", "prefill"}, {"kubernetes.io/hostname", "h2"}, {"topology.kubernetes.io/zone", "z1"}},
        {{"llm-d.ai/role", "prefill"}, {"kubernetes.io/hostname", "h3"}, {"topology.kubernetes.io/zone", "z2"}},
    };
    pool_t p;
    pool_init(&p, 4, 0);
    for (int i = 0; i < 4; i++) { p.eps[i].labels = l[i]; p.eps[i].nlabels = 3; }
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    es_sched_trace_t *t = es_sched_trace_create(4);
    es_sched_request_t r = text_req(1, "m", "hello");
    es_sched_result_t res = {0};
    res.trace = t;
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.primary, 0);
    assert_int_equal(res.prefill, 1);   /* same host: score 1.0 */
    const es_sched_trace_profile_t *pf = &t->profile[1];
    assert_string_equal(pf->name, "prefill");
    assert_int_equal(pf->nsurvivors, 2);   /* minAffinity zone: pods 1 and 2, pod 3 filtered out */
    assert_double_equal(pf->raw[0 * t->cap_eps + 1], 1.0, 0);    /* host */
    assert_double_equal(pf->raw[0 * t->cap_eps + 2], 0.05, 0);   /* zone */
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    /* datalayer/extractor/topology extractor.go: without the hostname label the
     * pod's spec.hostname is the host (pods 0 and 1 share h1); a label, where
     * present, wins over spec.hostname (pod 2: label h2, spec.hostname h1) */
    static const es_label_t m[4][2] = {
        {{"llm-d.ai/role", "decode"}, {"topology.kubernetes.io/zone", "z1"}},
        {{"llm-d.ai/role", "prefill"}, {"topology.kubernetes.io/zone", "z1"}},
        {{"llm-d.ai/role", "prefill"}, {"kubernetes.io/hostname", "h2"}},
        {{"llm-d.ai/role", "prefill"}, {"topology.kubernetes.io/zone", "z1"}},
    };
    static const char *const host[4] = {"h1", "h1", "h1", NULL};
    for (int i = 0; i < 4; i++) { p.eps[i].labels = m[i]; p.eps[i].nlabels = 2; p.eps[i].hostname = host[i]; }
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    t = es_sched_trace_create(4);
    res = (es_sched_result_t){0};
    res.trace = t;
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.primary, 0);
    assert_int_equal(res.prefill, 1);   /* same host by spec.hostname */
    pf = &t->profile[1];
    assert_int_equal(pf->nsurvivors, 2);   /* pods 1 and 3 (zone z1); pod 2 shares no level */
    assert_double_equal(pf->raw[0 * t->cap_eps + 1], 1.0, 0);    /* host */
    assert_double_equal(pf->raw[0 * t->cap_eps + 3], 0.05, 0);   /* zone */
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
    cfg_fails(HEAD "plugins:\n- type: topology-affinity-filter\n  parameters: {minAffinity: planet}\n",
              "invalid topology level \"planet\"");
    cfg_fails(HEAD "plugins:\n- type: topology-affinity-scorer\n  parameters: {topologyProducerName: nope}\n",
              "no topology producer named \"nope\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_memory_test_go_TestInMemoryIndexPodCacheSize),
        cmocka_unit_test(test_in_memory_test_go_TestInMemoryIndexSize),
        cmocka_unit_test(test_in_memory_go_key_lru_use),
        cmocka_unit_test(test_key_lru_table),
        cmocka_unit_test(test_prefix_plugin_test_go_TestPrefixPluginScore),
        cmocka_unit_test(test_prefix_plugin_test_go_TestPrefixPluginScoreWithWeights),
        cmocka_unit_test(test_prefix_plugin_test_go_TestPrefixPluginFactoryValidation),
        cmocka_unit_test(test_prefix_based_pd_decider_test_go_TestDisaggregate),
        cmocka_unit_test(test_concurrency_detector_test_go_TestDetector_Saturation),
        cmocka_unit_test(test_concurrency_detector_test_go_TestConcurrencyDetectorFactory),
        cmocka_unit_test(test_queue_test_go_TestQueueScorer),
        cmocka_unit_test(test_roles_test_go_TestRoleFilterRoles),
        cmocka_unit_test(test_configloader_go_deprecations),
        cmocka_unit_test(test_preciseprefixcache_producer_speculative),
        cmocka_unit_test(test_no_hit_lru_test_go),
        cmocka_unit_test(test_selector_test_go_TestLabelSelectorFilterFiltering),
        cmocka_unit_test(test_filter_test_go_TestByLabelFiltering),
        cmocka_unit_test(test_softreflectiveceiling_policy_test_go_TestComputeLimit),
        cmocka_unit_test(test_probabilisticadmitter_plugin_test_go),
        cmocka_unit_test(test_topologyaffinity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
