/*
 * test_upstream_multimodal.c -- table-driven cases of llm-d-router v0.10.0
 * (commit 71f4f0999f95b96c49a9d0c4afbd18dfdb943c26) ported by reading, one
 * cmocka test per Go test, named after it (package_file_TestName): the E/P/D
 * stages of the disagg profile handler and the multimodal decider
 * (scheduling/profilehandler/disagg), the multimodal encoder-cache producer
 * and scorer (requestcontrol/dataproducer/multimodal,
 * scheduling/scorer/mmcacheaffinity) and the P2P KV source producer
 * (requestcontrol/dataproducer/p2psource).  Upstream's Pick tests call the
 * handler one stage at a time; here each case is a whole decision, checked
 * through the trace (the profiles that ran, in order) and the result.
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

/* ---- the disagg profile handler's E/P/D stages ---- */

#define ROLE_FILTERS "- type: encode-filter\n- type: prefill-filter\n- type: decode-filter\n"

/* E/PD as deploy/config/sim-e-pd-epp-config.yaml, with the encode decider named */
static const char *epd_cfg(const char *encode_decider)
{
    static char text[1024];
    snprintf(text, sizeof text, HEAD "plugins:\n" ROLE_FILTERS "- type: max-score-picker\n"
             "- type: always-disagg-multimodal-decider\n- type: always-disagg-pd-decider\n"
             "- type: prefix-based-pd-decider\n  name: never\n  parameters: {nonCachedTokens: 0}\n"
             "- type: disagg-profile-handler\n  parameters: {deciders: {encode: %s}}\n"
             "schedulingProfiles:\n- name: encode\n  plugins: [{pluginRef: encode-filter}]\n"
             "- name: decode\n  plugins: [{pluginRef: decode-filter}]\n", encode_decider);
    return text;
}

/* E/P/D as deploy/config/sim-e-p-d-epp-config.yaml (prefix-based P/D decider) */
static const char *epd_full_cfg(long non_cached, const char *encode_decider, const char *order)
{
    static char text[1400];
    snprintf(text, sizeof text, HEAD "plugins:\n- type: queue-scorer\n" ROLE_FILTERS
             "- type: always-disagg-multimodal-decider\n- type: always-disagg-pd-decider\n"
             "- type: prefix-based-pd-decider\n  name: never\n  parameters: {nonCachedTokens: 0}\n"
             "- type: prefix-based-pd-decider\n  name: pd\n  parameters: {nonCachedTokens: %ld}\n"
             "- type: disagg-profile-handler\n  parameters: {stageOrder: %s, deciders: {encode: %s%s}}\n"
             "schedulingProfiles:\n- name: encode\n  plugins: [{pluginRef: encode-filter}]\n"
             "- name: prefill\n  plugins: [{pluginRef: prefill-filter}, {pluginRef: queue-scorer}]\n"
             "- name: decode\n  plugins: [{pluginRef: decode-filter}, {pluginRef: queue-scorer}]\n",
             non_cached, order, encode_decider, strcmp(order, "decode-first") == 0 ? ", prefill: pd" : "");
    return text;
}

static const es_mm_item_t k_image[] = {{0x1234, 576}};

/* An 8-token prompt (testLongPrompt, 35 characters), with or without an image. */
static es_sched_request_t mm_req(uint64_t id, bool image)
{
    es_sched_request_t r = text_req(id, "m", "hello world hello world hello world");
    if (image) { r.mm = k_image; r.nmm = 1; }
    return r;
}

/* Runs one decision on a pool whose pod i has role roles[i] ("" = unlabelled)
 * and writes the profiles that ran, in order, "name" or "name!" when it
 * failed, comma-separated. */
static es_sched_result_t stages(const char *cfg_text_, const char *const *roles, size_t n,
                                const es_sched_request_t *r, char *ran, size_t cap)
{
    es_epp_config_t *c = cfg_text(cfg_text_);
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    pool_t p;
    pool_init(&p, n, 0);
    for (size_t i = 0; i < n; i++) if (roles[i][0]) pool_role(&p, i, roles[i]);
    es_sched_trace_t *t = es_sched_trace_create(n);
    es_sched_result_t res = {.trace = t};
    assert_int_equal(es_scheduler_pick(s, r, p.eps, n, 0, &res), 0);
    ran[0] = 0;
    for (uint32_t k = 0; k < t->nprofiles; k++) {
        size_t l = strlen(ran);
        snprintf(ran + l, cap - l, "%s%s%s", k ? "," : "", t->profile[k].name, t->profile[k].failed ? "!" : "");
    }
    res.trace = NULL;
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
    return res;
}

/* disagg_profile_handler_test.go TestHasMultimodalContent (through the decider) */
static void test_disagg_profile_handler_test_go_TestHasMultimodalContent(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: always-disagg-multimodal-decider\n");
    const esi_plugin_vt_t *vt;
    void *d = instance(c, "always-disagg-multimodal-decider", &vt);
    static const es_mm_item_t three[] = {{1, 576}, {2, 100}, {3, 10}};
    static const struct { const char *name; uint32_t nmm; bool want; } cases[] = {
        {"empty multimodal features", 0, false}, {"text only", 0, false}, {"image", 1, true},
        {"video", 1, true}, {"audio", 1, true}, {"feature present", 1, true}, {"all types", 3, true},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        es_sched_request_t r = mm_req(1, false);
        r.mm = cases[k].nmm ? three : NULL;
        r.nmm = cases[k].nmm;
        esi_cycle_t cy;
        memset(&cy, 0, sizeof cy);
        cy.req = &r;
        if (vt->x_decide(d, &cy, 0) != cases[k].want) fail_msg("case %s", cases[k].name);
    }
    release(vt, d);
    es_epp_config_destroy(c);
}

static const char *const k_de[] = {"decode", "encode"};
static const char *const k_dd[] = {"decode", "decode"};
static const char *const k_ee[] = {"encode", "encode"};
static const char *const k_dpe[] = {"decode", "prefill", "encode"};
static const char *const k_dp[] = {"decode", "prefill"};

/* disagg_profile_handler_test.go TestHandler_Pick_EPD, TestHandler_ProcessResults_EPD */
static void test_disagg_profile_handler_test_go_TestHandler_Pick_EPD(void **st)
{
    (void)st;
    char ran[128];
    const char *cfg = epd_cfg("always-disagg-multimodal-decider");
    /* "decode not run → run decode", "image → run encode", "all profiles done → done"
     * (ProcessResults "decode + encode"): decode, then encode */
    es_sched_request_t img = mm_req(1, true), text = mm_req(2, false);
    es_sched_result_t res = stages(cfg, k_de, 2, &img, ran, sizeof ran);
    assert_string_equal(ran, "decode,encode");
    assert_int_equal(res.status, 200);
    assert_int_equal(res.primary, 0);
    assert_int_equal(res.nencode, 1);
    assert_int_equal(res.encode[0], 1);
    assert_int_equal(res.prefill, -1);
    /* "video → run encode", "audio → run encode": any multimodal item */
    static const es_mm_item_t two[] = {{7, 100}, {8, 50}};
    es_sched_request_t av = mm_req(3, false);
    av.mm = two;
    av.nmm = 2;
    res = stages(cfg, k_de, 2, &av, ran, sizeof ran);
    assert_string_equal(ran, "decode,encode");
    /* "no multimodal → skip encode" (ProcessResults "decode only") */
    res = stages(cfg, k_de, 2, &text, ran, sizeof ran);
    assert_string_equal(ran, "decode");
    assert_int_equal(res.nencode, 0);
    /* "decode failed → done" (ProcessResults "decode failed → error") */
    res = stages(cfg, k_ee, 2, &img, ran, sizeof ran);
    assert_string_equal(ran, "decode!");
    assert_int_equal(res.status, 429);
    /* "encode failed → done" (ProcessResults "encode nil (rejected) → omitted") */
    res = stages(cfg, k_dd, 2, &img, ran, sizeof ran);
    assert_string_equal(ran, "decode,encode!");
    assert_int_equal(res.status, 200);
    assert_int_equal(res.nencode, 0);
}

/* disagg_profile_handler_test.go TestHandler_Pick_EPD_EncodeDecider: the mock
 * decider approves (always-disagg-pd-decider) or rejects (nonCachedTokens 0) */
static void test_disagg_profile_handler_test_go_TestHandler_Pick_EPD_EncodeDecider(void **st)
{
    (void)st;
    char ran[128];
    es_sched_request_t img = mm_req(1, true);
    es_sched_result_t res = stages(epd_cfg("always-disagg-pd-decider"), k_de, 2, &img, ran, sizeof ran);
    assert_string_equal(ran, "decode,encode");
    assert_int_equal(res.nencode, 1);
    res = stages(epd_cfg("never"), k_de, 2, &img, ran, sizeof ran);
    assert_string_equal(ran, "decode");
    assert_int_equal(res.nencode, 0);
}

/* disagg_profile_handler_test.go TestHandler_Pick_EPD_Full, TestHandler_ProcessResults_EPD_Full */
static void test_disagg_profile_handler_test_go_TestHandler_Pick_EPD_Full(void **st)
{
    (void)st;
    char ran[128];
    es_sched_request_t img = mm_req(1, true), text = mm_req(2, false);
    /* "decode not run", "multimodal → run encode next", "encode done → run
     * prefill", "all three done": decode, encode, prefill */
    es_sched_result_t res = stages(epd_full_cfg(1, "always-disagg-multimodal-decider", "decode-first"), k_dpe, 3,
                                   &img, ran, sizeof ran);
    assert_string_equal(ran, "decode,encode,prefill");
    assert_int_equal(res.primary, 0);
    assert_int_equal(res.prefill, 1);
    assert_int_equal(res.nencode, 1);
    assert_int_equal(res.encode[0], 2);
    /* "text-only, high uncached tokens → skip encode, run prefill" */
    res = stages(epd_full_cfg(1, "always-disagg-multimodal-decider", "decode-first"), k_dpe, 3, &text, ran,
                 sizeof ran);
    assert_string_equal(ran, "decode,prefill");
    assert_int_equal(res.nencode, 0);
    /* "text-only, prefill not needed → done" (8 tokens < 100) */
    res = stages(epd_full_cfg(100, "always-disagg-multimodal-decider", "decode-first"), k_dpe, 3, &text, ran,
                 sizeof ran);
    assert_string_equal(ran, "decode");
    assert_int_equal(res.prefill, -1);
    /* "decode failed → done" */
    static const char *const pe[] = {"prefill", "encode"};
    res = stages(epd_full_cfg(1, "always-disagg-multimodal-decider", "decode-first"), pe, 2, &img, ran, sizeof ran);
    assert_string_equal(ran, "decode!");
    assert_int_equal(res.status, 429);
    /* "encode failed → fall through, run prefill" */
    res = stages(epd_full_cfg(1, "always-disagg-multimodal-decider", "decode-first"), k_dp, 2, &img, ran,
                 sizeof ran);
    assert_string_equal(ran, "decode,encode!,prefill");
    assert_int_equal(res.prefill, 1);
    assert_int_equal(res.nencode, 0);
}

/* disagg_profile_handler_test.go TestHandler_Pick_EPD_Full_EncodeDecider */
static void test_disagg_profile_handler_test_go_TestHandler_Pick_EPD_Full_EncodeDecider(void **st)
{
    (void)st;
    char ran[128];
    es_sched_request_t img = mm_req(1, true);
    stages(epd_full_cfg(1, "always-disagg-pd-decider", "decode-first"), k_dpe, 3, &img, ran, sizeof ran);
    assert_string_equal(ran, "decode,encode,prefill");
    stages(epd_full_cfg(1, "never", "decode-first"), k_dpe, 3, &img, ran, sizeof ran);
    assert_string_equal(ran, "decode,prefill");
}

/* disagg_profile_handler_test.go TestHandler_Factory_StageOrder */
static void test_disagg_profile_handler_test_go_TestHandler_Factory_StageOrder(void **st)
{
    (void)st;
    static const struct { const char *name, *params, *want; } cases[] = {
        {"default stageOrder is decode-first", "{}", NULL},
        {"stageOrder prefill-first (kebab-case)", "{stageOrder: prefill-first}", NULL},
        {"stageOrder PrefillFirst (PascalCase)", "{stageOrder: PrefillFirst}", NULL},
        {"stageOrder decode-first (explicit)", "{stageOrder: decode-first}", NULL},
        {"stageOrder DecodeFirst (PascalCase)", "{stageOrder: DecodeFirst}", NULL},
        {"invalid stageOrder returns error", "{stageOrder: INVALID_ORDER}", "invalid stage order"},
        {"legacy flat format with stageOrder", "{decodeProfile: decode, stageOrder: prefill-first}", NULL},
        {"prefill-first with deciders.prefill returns error",
         "{stageOrder: prefill-first, deciders: {prefill: prefix-based-pd-decider}}", "prefill-first"},
        {"prefill-first with legacy deciderPluginName returns error",
         "{stageOrder: prefill-first, decodeProfile: decode, deciderPluginName: prefix-based-pd-decider}",
         "prefill-first"},
        {"prefill-first with legacy prefillDeciderPluginName returns error",
         "{stageOrder: prefill-first, decodeProfile: decode, prefillDeciderPluginName: prefix-based-pd-decider}",
         "prefill-first"},
        {"prefill-first with deciders.encode succeeds",
         "{stageOrder: prefill-first, deciders: {encode: always-disagg-multimodal-decider}}", NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[1024];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: decode-filter\n- type: prefix-based-pd-decider\n"
                 "- type: always-disagg-pd-decider\n- type: always-disagg-multimodal-decider\n"
                 "- type: disagg-profile-handler\n  parameters: %s\nschedulingProfiles:\n"
                 "- name: decode\n  plugins: [{pluginRef: decode-filter}]\n", cases[k].params);
        if (cases[k].want) { cfg_fails(text, cases[k].want); continue; }
        es_epp_config_destroy(cfg_text(text));
    }
}

/* disagg_profile_handler_test.go TestHandler_Pick_PrefillFirst_PD, TestHandler_ProcessResults_PrefillFirst */
static void test_disagg_profile_handler_test_go_TestHandler_Pick_PrefillFirst_PD(void **st)
{
    (void)st;
    char ran[128];
    es_sched_request_t text = mm_req(1, false);
    const char *cfg = epd_full_cfg(1, "always-disagg-multimodal-decider", "prefill-first");
    /* "prefill not run → run prefill", "prefill done → run decode", "decode done → done" */
    es_sched_result_t res = stages(cfg, k_dp, 2, &text, ran, sizeof ran);
    assert_string_equal(ran, "prefill,decode");
    assert_int_equal(res.primary, 0);
    assert_int_equal(res.prefill, 1);
    /* "prefill failed (nil) → run decode" */
    res = stages(cfg, k_dd, 2, &text, ran, sizeof ran);
    assert_string_equal(ran, "prefill!,decode");
    assert_int_equal(res.status, 200);
    assert_int_equal(res.prefill, -1);
    /* "decode failed → done" */
    static const char *const pp[] = {"prefill", "prefill"};
    res = stages(cfg, pp, 2, &text, ran, sizeof ran);
    assert_string_equal(ran, "prefill,decode!");
    assert_int_equal(res.status, 429);
}

/* disagg_profile_handler_test.go TestHandler_Pick_PrefillFirst_EPD_Full */
static void test_disagg_profile_handler_test_go_TestHandler_Pick_PrefillFirst_EPD_Full(void **st)
{
    (void)st;
    char ran[128];
    es_sched_request_t img = mm_req(1, true), text = mm_req(2, false);
    const char *cfg = epd_full_cfg(1, "always-disagg-multimodal-decider", "prefill-first");
    /* "nothing run, multimodal → run prefill first", "prefill done,
     * multimodal → run encode next", "prefill done, encode done → run decode" */
    es_sched_result_t res = stages(cfg, k_dpe, 3, &img, ran, sizeof ran);
    assert_string_equal(ran, "prefill,encode,decode");
    assert_int_equal(res.nencode, 1);
    assert_int_equal(res.encode[0], 2);
    /* "prefill done, text-only → skip encode, run decode" */
    stages(cfg, k_dpe, 3, &text, ran, sizeof ran);
    assert_string_equal(ran, "prefill,decode");
    /* "prefill failed, multimodal → run encode next" */
    static const char *const de[] = {"decode", "encode"};
    res = stages(cfg, de, 2, &img, ran, sizeof ran);
    assert_string_equal(ran, "prefill!,encode,decode");
    assert_int_equal(res.prefill, -1);
}

/* disagg_profile_handler_test.go TestHandler_Pick_PrefillFirst_CustomProfiles
 * (and TestHandler_Pick_CustomProfiles' names, decode-first) */
static void test_disagg_profile_handler_test_go_TestHandler_Pick_PrefillFirst_CustomProfiles(void **st)
{
    (void)st;
    char ran[128];
    es_sched_request_t img = mm_req(1, true);
    const char *cfg = HEAD "plugins:\n" ROLE_FILTERS "- type: always-disagg-multimodal-decider\n"
        "- type: disagg-profile-handler\n  parameters: {stageOrder: prefill-first, profiles: {decode: my-decode, "
        "prefill: my-prefill, encode: my-encode}, deciders: {encode: always-disagg-multimodal-decider}}\n"
        "schedulingProfiles:\n- name: my-encode\n  plugins: [{pluginRef: encode-filter}]\n"
        "- name: my-prefill\n  plugins: [{pluginRef: prefill-filter}]\n"
        "- name: my-decode\n  plugins: [{pluginRef: decode-filter}]\n";
    es_sched_result_t res = stages(cfg, k_dpe, 3, &img, ran, sizeof ran);
    assert_string_equal(ran, "my-prefill,my-encode,my-decode");
    assert_int_equal(res.primary, 0);
    assert_int_equal(res.encode[0], 2);
}

/* disagg_profile_handler_test.go TestHandler_PreRequest_EncodeMultipleEndpoints
 * (disagg_headers_handler_test.go TestPreRequestEncodeMultipleEndpoints): every
 * pick of the encode profile goes to x-encoder-hosts-ports */
static void test_disagg_profile_handler_test_go_TestHandler_PreRequest_EncodeMultipleEndpoints(void **st)
{
    (void)st;
    char ran[128];
    es_sched_request_t img = mm_req(1, true);
    const char *cfg = HEAD "plugins:\n" ROLE_FILTERS "- type: always-disagg-multimodal-decider\n"
        "- type: max-score-picker\n  name: all\n  parameters: {maxNumOfEndpoints: 3}\n"
        "- type: max-score-picker\n"
        "- type: disagg-profile-handler\n  parameters: {deciders: {encode: always-disagg-multimodal-decider}}\n"
        "schedulingProfiles:\n- name: encode\n  plugins: [{pluginRef: encode-filter}, {pluginRef: all}]\n"
        "- name: decode\n  plugins: [{pluginRef: decode-filter}, {pluginRef: max-score-picker}]\n";
    static const char *const roles[] = {"decode", "encode", "encode", "encode-prefill"};
    es_sched_result_t res = stages(cfg, roles, 4, &img, ran, sizeof ran);
    assert_string_equal(ran, "decode,encode");
    assert_int_equal(res.nencode, 3);
    bool seen[4] = {0};
    for (uint32_t i = 0; i < res.nencode; i++) seen[res.encode[i]] = true;
    assert_true(seen[1] && seen[2] && seen[3] && !seen[0]);
}

/* ---- mm-embeddings-cache-producer ---- */

/* multimodal/producer_test.go TestLRUCapacityFromCacheSizeMB */
static void test_multimodal_producer_test_go_TestLRUCapacityFromCacheSizeMB(void **st)
{
    (void)st;
    assert_int_equal(esi_mm_lru_capacity(4), 2);
    assert_int_equal(esi_mm_lru_capacity(2048), 1024);
    assert_int_equal(esi_mm_lru_capacity(0), 2048);
    assert_int_equal(esi_mm_lru_capacity(-5), 2048);   /* <= 0 falls back to the default */
    assert_int_equal(esi_mm_lru_capacity(1), 1);       /* at least one entry */
}

/* multimodal/producer_test.go TestFactory */
static void test_multimodal_producer_test_go_TestFactory(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: mm-embeddings-cache-producer\n  name: mm-producer\n"
                                  "  parameters: {cacheSizeInMBPerServer: 4}\n");
    assert_string_equal(c->plugins[0].name, "mm-producer");
    assert_string_equal(c->plugins[0].vt->type_name, "mm-embeddings-cache-producer");
    es_epp_config_destroy(c);
    cfg_fails(HEAD "plugins:\n- type: mm-embeddings-cache-producer\n  parameters: {cacheSizeInMBPerServer: bad}\n",
              "cacheSizeInMBPerServer");
    /* the shipped config's cacheSizeInMB is not a field (strict decoding) */
    cfg_fails(HEAD "plugins:\n- type: mm-embeddings-cache-producer\n  parameters: {cacheSizeInMB: 2048}\n",
              "cacheSizeInMB");
}

typedef struct mm_fixture {
    es_epp_config_t     *c;
    const esi_plugin_vt_t *vt;
    void                *p;
    pool_t               pool;
} mm_fixture_t;

static void mm_setup(mm_fixture_t *f, const char *params, size_t n)
{
    char text[256];
    snprintf(text, sizeof text, HEAD "plugins:\n- type: mm-embeddings-cache-producer\n  parameters: %s\n", params);
    f->c = cfg_text(text);
    f->p = instance(f->c, "mm-embeddings-cache-producer", &f->vt);
    pool_init(&f->pool, n, 0);
}

static void mm_teardown(mm_fixture_t *f)
{
    release(f->vt, f->p);
    es_epp_config_destroy(f->c);
}

/* Produce over the first n pods of the pool; the cycle keeps the match data. */
static void mm_produce(mm_fixture_t *f, esi_cycle_t *cy, const es_sched_request_t *r, size_t n)
{
    memset(cy, 0, sizeof *cy);
    cy->req = r;
    cy->eps = f->pool.eps;
    cy->n = n;
    cy->primary = -1;
    f->vt->x_prepare(f->p, cy);
}

/* PreRequest with `target` (eps index) as the primary profile's pick */
static void mm_pick(mm_fixture_t *f, esi_cycle_t *cy, uint32_t target)
{
    cy->primary = 0;
    cy->res[0].ran = true;
    cy->res[0].npicked = 1;
    cy->res[0].picked[0] = target;
    f->vt->x_pre_request(f->p, cy);
}

/* putCacheEntry: pods hold the items of r (a recorded placement) */
static void mm_put(mm_fixture_t *f, const es_sched_request_t *r, uint32_t pod)
{
    esi_cycle_t cy;
    mm_produce(f, &cy, r, f->pool.n);
    cy.record_only = true;
    cy.record_target = pod;
    f->vt->x_pre_request(f->p, &cy);
}

/* multimodal/producer_test.go TestExtractMMItemsFromTokenizedPrompt,
 * _NilTokenizedPromptReturnsNil, _EmptyMultiModalFeaturesReturnsNil */
static void test_multimodal_producer_test_go_TestExtractMMItems(void **st)
{
    (void)st;
    mm_fixture_t f;
    mm_setup(&f, "{}", 2);
    static const es_mm_item_t items[] = {{0xa, 576}, {0xb, 0}, {0xa, 144}};
    es_sched_request_t r = mm_req(1, false);
    r.mm = items;
    r.nmm = 3;
    esi_cycle_t cy;
    mm_produce(&f, &cy, &r, 2);
    assert_int_equal(cy.mm_total, 2);   /* image-a counted once, image-b */
    assert_non_null(cy.mm_matched);
    r.nmm = 0;
    r.mm = NULL;
    mm_produce(&f, &cy, &r, 2);
    assert_null(cy.mm_matched);         /* no features: no match data */
    mm_teardown(&f);
}

/* multimodal/producer_test.go TestProduceMatchesMultiplePodsAndPreRequestUpdatesPlacement */
static void test_multimodal_producer_test_go_TestProduceMatchesMultiplePodsAndPreRequestUpdatesPlacement(void **st)
{
    (void)st;
    mm_fixture_t f;
    mm_setup(&f, "{}", 3);
    static const es_mm_item_t a[] = {{0xa, 1}}, ac[] = {{0xa, 80}, {0xc, 20}}, c_[] = {{0xc, 1}};
    es_sched_request_t ra = mm_req(1, false), rac = mm_req(2, false), rc = mm_req(3, false);
    ra.mm = a; ra.nmm = 1;
    rac.mm = ac; rac.nmm = 2;
    rc.mm = c_; rc.nmm = 1;
    mm_put(&f, &ra, 0);
    mm_put(&f, &ra, 1);
    esi_cycle_t cy;
    mm_produce(&f, &cy, &rac, 3);
    assert_int_equal(cy.mm_total, 2);
    assert_int_equal(cy.mm_matched[0], 1);
    assert_int_equal(cy.mm_matched[1], 1);
    assert_int_equal(cy.mm_matched[2], 0);
    mm_pick(&f, &cy, 2);
    /* hash-a on A, B, C; hash-c on C only */
    mm_produce(&f, &cy, &ra, 3);
    assert_int_equal(cy.mm_matched[0], 1);
    assert_int_equal(cy.mm_matched[1], 1);
    assert_int_equal(cy.mm_matched[2], 1);
    mm_produce(&f, &cy, &rc, 3);
    assert_int_equal(cy.mm_matched[0], 0);
    assert_int_equal(cy.mm_matched[1], 0);
    assert_int_equal(cy.mm_matched[2], 1);
    mm_teardown(&f);
}

/* multimodal/producer_test.go TestLRUEviction: 4 MiB = 2 entries a pod */
static void test_multimodal_producer_test_go_TestLRUEviction(void **st)
{
    (void)st;
    mm_fixture_t f;
    mm_setup(&f, "{cacheSizeInMBPerServer: 4}", 1);
    es_mm_item_t h[3] = {{1, 1}, {2, 1}, {3, 1}};
    es_sched_request_t r[3];
    for (int i = 0; i < 3; i++) {
        r[i] = mm_req((uint64_t)i + 1, false);
        r[i].mm = &h[i];
        r[i].nmm = 1;
        esi_cycle_t cy;
        mm_produce(&f, &cy, &r[i], 1);
        mm_pick(&f, &cy, 0);
    }
    esi_cycle_t cy;
    mm_produce(&f, &cy, &r[0], 1);
    assert_int_equal(cy.mm_matched[0], 0);   /* hash-1 evicted */
    mm_produce(&f, &cy, &r[1], 1);
    assert_int_equal(cy.mm_matched[0], 1);
    mm_produce(&f, &cy, &r[2], 1);
    assert_int_equal(cy.mm_matched[0], 1);
    mm_teardown(&f);
}

/* multimodal/producer_test.go TestStalePodCleanup, TestExtractEndpointRemovesDeletedPod:
 * a removed endpoint forgets its items */
static void test_multimodal_producer_test_go_TestExtractEndpointRemovesDeletedPod(void **st)
{
    (void)st;
    mm_fixture_t f;
    mm_setup(&f, "{}", 2);
    static const es_mm_item_t a[] = {{0xa, 1}};
    es_sched_request_t ra = mm_req(1, false);
    ra.mm = a;
    ra.nmm = 1;
    mm_put(&f, &ra, 0);
    mm_put(&f, &ra, 1);
    f.vt->x_removed(f.p, 1);
    esi_cycle_t cy;
    mm_produce(&f, &cy, &ra, 2);
    assert_int_equal(cy.mm_total, 1);
    assert_int_equal(cy.mm_matched[0], 1);
    assert_int_equal(cy.mm_matched[1], 0);
    mm_teardown(&f);
}

/* ---- mm-embeddings-cache-scorer ---- */

/* mmcacheaffinity/scorer_test.go TestFactory, TestScorerConsumesMatchInfo */
static void test_mmcacheaffinity_scorer_test_go_TestFactory(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: mm-embeddings-cache-scorer\n  name: mm-scorer\n");
    assert_string_equal(c->plugins[0].name, "mm-scorer");
    /* it consumes EncoderCacheMatchInfo: the default producer is created */
    bool producer = false;
    for (size_t i = 0; i < c->nplugins; i++)
        if (!strcmp(c->plugins[i].vt->type_name, "mm-embeddings-cache-producer")) producer = c->plugins[i].auto_created;
    assert_true(producer);
    es_epp_config_destroy(c);
    /* producerName must name a producer of the data */
    c = cfg_text(HEAD "plugins:\n- type: mm-embeddings-cache-producer\n  name: mine\n"
                 "- type: mm-embeddings-cache-scorer\n  parameters: {producerName: mine}\n");
    es_epp_config_destroy(c);
    cfg_fails(HEAD "plugins:\n- type: queue-scorer\n- type: mm-embeddings-cache-scorer\n"
              "  parameters: {producerName: queue-scorer}\n", "producerName");
}

/* mmcacheaffinity/scorer_test.go TestScoreFromProducedMatchInfo,
 * TestScoreMissingOrInvalidMatchInfoReturnsZero */
static void test_mmcacheaffinity_scorer_test_go_TestScore(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: mm-embeddings-cache-scorer\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "mm-embeddings-cache-scorer", &vt);
    esi_cycle_t cy;
    memset(&cy, 0, sizeof cy);
    uint32_t idx[3] = {0, 1, 2};
    double out[3];
    /* items image (80) and icon (20): A holds image, B icon, C none */
    uint32_t matched[3] = {80, 20, 0};
    cy.mm_matched = matched;
    cy.mm_total = 100;
    vt->x_score(s, &cy, idx, 3, out);
    assert_double_equal(out[0], 0.8, 1e-12);
    assert_double_equal(out[1], 0.2, 1e-12);
    assert_double_equal(out[2], 0.0, 1e-12);
    /* missing match info; request items empty */
    cy.mm_matched = NULL;
    vt->x_score(s, &cy, idx, 2, out);
    assert_double_equal(out[0], 0.0, 0);
    uint32_t one[2] = {0, 1};
    cy.mm_matched = one;
    cy.mm_total = 0;
    vt->x_score(s, &cy, idx, 2, out);
    assert_double_equal(out[1], 0.0, 0);
    release(vt, s);
    es_epp_config_destroy(c);
}

/* the pair in one decision: the pod that served an image wins the next
 * request carrying it (weight 4 against queue 1, as the shipped config) */
static void test_mm_embeddings_cache_affinity_decision(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: mm-embeddings-cache-producer\n"
                                  "  parameters: {cacheSizeInMBPerServer: 2048}\n- type: mm-embeddings-cache-scorer\n"
                                  "- type: queue-scorer\n- type: max-score-picker\nschedulingProfiles:\n"
                                  "- name: default\n  plugins: [{pluginRef: mm-embeddings-cache-scorer, weight: 4}, "
                                  "{pluginRef: queue-scorer, weight: 1}, {pluginRef: max-score-picker}]\n");
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    pool_t p;
    pool_init(&p, 3, 0);
    p.eps[0].metrics.waiting = 3;
    p.eps[1].metrics.waiting = 0;
    p.eps[2].metrics.waiting = 1;
    es_sched_request_t r = mm_req(1, true);
    es_sched_result_t res = {0};
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, 3, 0, &res), 0);
    assert_int_equal(res.primary, 1);   /* no affinity yet: the shortest queue */
    es_scheduler_on_end(s, 1, 1);
    p.eps[1].metrics.waiting = 5;       /* now the busiest, but it holds the image */
    r.id = 2;
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, 3, 2, &res), 0);
    assert_int_equal(res.primary, 1);
    es_sched_request_t text = mm_req(3, false);
    assert_int_equal(es_scheduler_pick(s, &text, p.eps, 3, 3, &res), 0);
    assert_int_equal(res.primary, 2);   /* no image: the queue decides */
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
}

/* ---- p2p-source-producer ---- */

#define BS 16   /* testBlockSize */

/* p2psource/producer_test.go TestPluginFactory_Defaults, _WiresConfig,
 * _RejectsZeroDelta, _PrefillProfileName, TestConsumes_DeclaresPrefixCacheMatchInfo */
static void test_p2psource_producer_test_go_TestPluginFactory(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: p2p-source-producer\n");
    const esi_plugin_vt_t *vt = c->plugins[0].vt;
    assert_true(vt->consumes & ESI_DATA_PREFIX_MATCH);
    bool approx = false;   /* the default PrefixCacheMatchInfo producer is created */
    for (size_t i = 0; i < c->nplugins; i++)
        if (!strcmp(c->plugins[i].vt->type_name, "approx-prefix-cache-producer")) approx = true;
    assert_true(approx);
    es_epp_config_destroy(c);
    c = cfg_text(HEAD "plugins:\n- type: precise-prefix-cache-producer\n  name: precise\n"
                 "- type: p2p-source-producer\n  parameters: {prefixMatchInfoProducerName: precise, "
                 "minCachedTokenDelta: 33, prefillProfileName: P}\n");
    es_epp_config_destroy(c);
    cfg_fails(HEAD "plugins:\n- type: p2p-source-producer\n  parameters: {minCachedTokenDelta: 0}\n",
              "minCachedTokenDelta must be >= 1, got 0");
    cfg_fails(HEAD "plugins:\n- type: p2p-source-producer\n  parameters: {prefixMatchInfoProducerName: nobody}\n",
              "prefixMatchInfoProducerName");
}

typedef struct p2p_fixture {
    es_epp_config_t       *c;
    const esi_plugin_vt_t *vt;
    void                  *p;
    pool_t                 pool;
    uint32_t               match[TEST_MAX_EPS];
    es_sched_request_t     r;
    esi_cycle_t            cy;
} p2p_fixture_t;

static void p2p_setup(p2p_fixture_t *f, const char *params)
{
    char text[512];
    snprintf(text, sizeof text, HEAD "plugins:\n- type: p2p-source-producer\n  parameters: %s\n"
             "- type: decode-filter\n- type: disagg-profile-handler\nschedulingProfiles:\n"
             "- name: decode\n  plugins: [{pluginRef: decode-filter}]\n"
             "- name: P\n  plugins: [{pluginRef: decode-filter}]\n"
             "- name: prefill\n  plugins: [{pluginRef: decode-filter}]\n", params);
    f->c = cfg_text(text);
    f->p = instance(f->c, "p2p-source-producer", &f->vt);
    pool_init(&f->pool, 0, 0);
}

static void p2p_teardown(p2p_fixture_t *f)
{
    release(f->vt, f->p);
    es_epp_config_destroy(f->c);
}

/* endpoint(p, name, address, cachedBlocks) with a waiting queue */
static void p2p_ep(p2p_fixture_t *f, uint32_t blocks, int64_t waiting)
{
    size_t i = f->pool.n++;
    snprintf(f->pool.names[i], sizeof f->pool.names[i], "pod%zu", i);
    f->pool.eps[i].id = (uint32_t)i;
    f->pool.eps[i].name = f->pool.names[i];
    f->pool.eps[i].metrics.waiting = (uint32_t)waiting;
    f->match[i] = blocks;
}

/* Produce for request id: the stashed peer is the one PreRequest would name
 * against a computing pod holding nothing (an extra, uncached endpoint) */
static void p2p_produce(p2p_fixture_t *f, uint64_t id)
{
    memset(&f->cy, 0, sizeof f->cy);
    f->r = mm_req(id, false);
    f->cy.req = &f->r;
    f->cy.eps = f->pool.eps;
    f->cy.n = f->pool.n;
    f->cy.match = f->match;
    f->cy.have_prefix = true;
    f->cy.block_tokens = BS;
    f->cy.total_blocks = 16;
    f->cy.primary = -1;
    f->cy.prefill = -1;
    f->cy.kv_source = UINT32_MAX;
    f->vt->x_prepare(f->p, &f->cy);
}

/* PreRequest with the given picks (eps indexes; UINT32_MAX: the profile did not pick) */
static void p2p_pre(p2p_fixture_t *f, uint32_t decode, uint32_t p_profile, uint32_t prefill)
{
    const uint32_t picks[3] = {decode, p_profile, prefill};   /* profiles decode, P, prefill */
    f->cy.primary = 0;
    for (int k = 0; k < 3; k++) {
        f->cy.res[k].ran = picks[k] != UINT32_MAX;
        f->cy.res[k].npicked = picks[k] != UINT32_MAX;
        f->cy.res[k].picked[0] = picks[k];
    }
    f->vt->x_pre_request(f->p, &f->cy);
}

/* the peer Produce stashed (UINT32_MAX: none): PreRequest against an
 * uncached computing pod appended for the purpose */
static uint32_t p2p_stashed(p2p_fixture_t *f, uint64_t id, int64_t *tokens)
{
    size_t comp = f->pool.n;
    p2p_ep(f, 0, 0);
    p2p_produce(f, id);
    p2p_pre(f, (uint32_t)comp, UINT32_MAX, UINT32_MAX);
    f->pool.n--;
    if (tokens) *tokens = f->cy.kv_source_tokens;
    return f->cy.kv_source;
}

/* p2psource/producer_test.go TestProduce_StashesBestMatchPeer, _NoCachedBlocks_NoStash,
 * _MissingMatchInfo_TreatedAsZero, _NilMetrics_NeutralLoad, _NoTierData_FallsBackToUnweighted,
 * _BeyondBandWinsOverIdle */
static void test_p2psource_producer_test_go_TestProduce(void **st)
{
    (void)st;
    p2p_fixture_t f;
    int64_t tok;
    p2p_setup(&f, "{}");
    p2p_ep(&f, 1, 0);
    p2p_ep(&f, 3, 0);
    assert_int_equal(p2p_stashed(&f, 1, &tok), 1);   /* _StashesBestMatchPeer */
    assert_int_equal(tok, 48);
    f.pool.n = 0;
    p2p_ep(&f, 0, 0);
    p2p_ep(&f, 0, 0);
    assert_int_equal(p2p_stashed(&f, 1, NULL), UINT32_MAX);   /* _NoCachedBlocks_NoStash */
    f.pool.n = 0;
    p2p_ep(&f, 0, 0);
    p2p_ep(&f, 2, 0);
    assert_int_equal(p2p_stashed(&f, 1, NULL), 1);   /* _MissingMatchInfo_TreatedAsZero */
    f.pool.n = 0;
    p2p_ep(&f, 4, 0);
    assert_int_equal(p2p_stashed(&f, 1, &tok), 0);   /* _NoTierData_FallsBackToUnweighted */
    assert_int_equal(tok, 4 * BS);
    f.pool.n = 0;
    p2p_ep(&f, 5, 20);
    p2p_ep(&f, 3, 0);
    assert_int_equal(p2p_stashed(&f, 1, &tok), 0);   /* _BeyondBandWinsOverIdle */
    assert_int_equal(tok, 5 * BS);
    p2p_teardown(&f);
}

/* p2psource/producer_test.go TestProduce_SharesByInverseQueueWeight, _NearTie_NoHerding,
 * _OneBlockShort_SharesByQueue, _EqualQueues_SpreadByRequestID (the hashed
 * request id is a UUID derived from eppsim's integer id) */
static void test_p2psource_producer_test_go_TestProduce_Shares(void **st)
{
    (void)st;
    p2p_fixture_t f;
    p2p_setup(&f, "{}");
    int picks[3];
    /* weights 1/13, 1/3, 1/8 */
    p2p_ep(&f, 3, 12);
    p2p_ep(&f, 3, 2);
    p2p_ep(&f, 3, 7);
    memset(picks, 0, sizeof picks);
    for (uint64_t i = 0; i < 400; i++) picks[p2p_stashed(&f, i, NULL)]++;
    assert_true(picks[1] > picks[2] && picks[2] > picks[0] && picks[0] > 0);
    /* near tie 1 : 0.5 */
    f.pool.n = 0;
    p2p_ep(&f, 3, 0);
    p2p_ep(&f, 3, 1);
    memset(picks, 0, sizeof picks);
    for (uint64_t i = 0; i < 600; i++) picks[p2p_stashed(&f, 1000 + i, NULL)]++;
    assert_true(picks[0] > picks[1] && picks[1] > 600 / 6);
    /* one block short, idle, against a deep queue at the maximum */
    f.pool.n = 0;
    p2p_ep(&f, 4, 20);
    p2p_ep(&f, 3, 0);
    memset(picks, 0, sizeof picks);
    for (uint64_t i = 0; i < 400; i++) {
        int64_t tok;
        uint32_t b = p2p_stashed(&f, 5000 + i, &tok);
        picks[b]++;
        assert_int_equal(tok, b == 0 ? 4 * BS : 3 * BS);
    }
    assert_true(picks[1] > picks[0] && picks[0] > 0);
    /* equal queues: spread over the three by request id; the same id, the same peer */
    f.pool.n = 0;
    p2p_ep(&f, 3, 0);
    p2p_ep(&f, 3, 0);
    p2p_ep(&f, 3, 0);
    memset(picks, 0, sizeof picks);
    for (uint64_t i = 0; i < 64; i++) picks[p2p_stashed(&f, i, NULL)]++;
    assert_true(picks[0] > 0 && picks[1] > 0 && picks[2] > 0);
    assert_int_equal(p2p_stashed(&f, 7, NULL), p2p_stashed(&f, 7, NULL));
    p2p_teardown(&f);
    /* requestSpreadFraction is FNV-1a 32 of the id text */
    assert_double_equal(esi_p2p_spread_fraction(""), 2166136261.0 / 4294967296.0, 0);
    assert_double_equal(esi_p2p_spread_fraction("a"), 0xe40c292cu / 4294967296.0, 0);
}

/* p2psource/producer_test.go TestPreRequest_SetsKVCacheSourceHeader,
 * _DeltaBelowThreshold_NoHeader, _BestIsChosen_NoHeader,
 * _PrefillProfile_BestIsPrefill_NoHeader, _PrefillProfile_HeaderFromThirdPod,
 * _ConfiguredPrefillProfileName, _ComputingSideCountsAllTiers (one tier) */
static void test_p2psource_producer_test_go_TestPreRequest(void **st)
{
    (void)st;
    p2p_fixture_t f;
    /* best B (3 blocks, 48 tokens) against decode A (1 block): header B */
    p2p_setup(&f, "{}");
    p2p_ep(&f, 1, 0);
    p2p_ep(&f, 3, 0);
    p2p_produce(&f, 1);
    p2p_pre(&f, 0, UINT32_MAX, UINT32_MAX);
    assert_int_equal(f.cy.kv_source, 1);
    assert_int_equal(f.cy.kv_source_tokens, 48);
    /* the chosen decode pod is the best: no header */
    p2p_produce(&f, 1);
    p2p_pre(&f, 1, UINT32_MAX, UINT32_MAX);
    assert_int_equal(f.cy.kv_source, UINT32_MAX);
    /* P/D: the prefill pod is the best: no header, though decode holds less */
    p2p_produce(&f, 1);
    p2p_pre(&f, 0, UINT32_MAX, 1);
    assert_int_equal(f.cy.kv_source, UINT32_MAX);
    /* P/D: a third pod out-caches the prefill pod (1 block) */
    f.pool.n = 0;
    p2p_ep(&f, 0, 0);
    p2p_ep(&f, 1, 0);
    p2p_ep(&f, 4, 0);
    p2p_produce(&f, 1);
    p2p_pre(&f, 0, UINT32_MAX, 1);
    assert_int_equal(f.cy.kv_source, 2);
    assert_int_equal(f.cy.kv_source_tokens, 64);
    p2p_teardown(&f);
    /* delta 17: best 32 tokens against 16 -> below the threshold */
    p2p_setup(&f, "{minCachedTokenDelta: 17}");
    p2p_ep(&f, 1, 0);
    p2p_ep(&f, 2, 0);
    p2p_produce(&f, 1);
    p2p_pre(&f, 0, UINT32_MAX, UINT32_MAX);
    assert_int_equal(f.cy.kv_source, UINT32_MAX);
    p2p_teardown(&f);
    /* delta 2 blocks: source 6 blocks, computing 5 -> 1 block < delta */
    p2p_setup(&f, "{minCachedTokenDelta: 32}");
    p2p_ep(&f, 6, 0);
    p2p_ep(&f, 5, 0);
    p2p_produce(&f, 1);
    p2p_pre(&f, 1, UINT32_MAX, UINT32_MAX);
    assert_int_equal(f.cy.kv_source, UINT32_MAX);
    p2p_teardown(&f);
    /* a renamed prefill profile: the comparison is against its pick */
    p2p_setup(&f, "{prefillProfileName: P}");
    p2p_ep(&f, 0, 0);
    p2p_ep(&f, 3, 0);
    p2p_produce(&f, 1);
    p2p_pre(&f, 0, 1, UINT32_MAX);
    assert_int_equal(f.cy.kv_source, UINT32_MAX);
    p2p_teardown(&f);
}

/* the producer in a decision: the result names the source and its tokens */
static void test_p2psource_decision(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: p2p-source-producer\n- type: queue-scorer\n"
                                  "- type: max-score-picker\nschedulingProfiles:\n- name: default\n"
                                  "  plugins: [{pluginRef: queue-scorer}, {pluginRef: max-score-picker}]\n");
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    pool_t p;
    pool_init(&p, 2, 0);
    char prompt[2048];
    memset(prompt, 'x', sizeof prompt - 1);
    prompt[sizeof prompt - 1] = 0;
    es_sched_request_t r = text_req(1, "m", prompt);
    es_scheduler_record(s, &r, p.eps, 2, 0, 0);   /* pod 0 served the prompt */
    p.eps[0].metrics.waiting = 9;                 /* the queue sends the next one to pod 1 */
    r.id = 2;
    es_sched_result_t res = {0};
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, 2, 1, &res), 0);
    assert_int_equal(res.primary, 1);
    assert_int_equal(res.kv_source, 0);
    assert_int_equal(res.kv_source_tokens, 8 * 64);   /* 2047 characters: 8 blocks of 64 pseudo-tokens */
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disagg_profile_handler_test_go_TestHasMultimodalContent),
        cmocka_unit_test(test_disagg_profile_handler_test_go_TestHandler_Pick_EPD),
        cmocka_unit_test(test_disagg_profile_handler_test_go_TestHandler_Pick_EPD_EncodeDecider),
        cmocka_unit_test(test_disagg_profile_handler_test_go_TestHandler_Pick_EPD_Full),
        cmocka_unit_test(test_disagg_profile_handler_test_go_TestHandler_Pick_EPD_Full_EncodeDecider),
        cmocka_unit_test(test_disagg_profile_handler_test_go_TestHandler_Factory_StageOrder),
        cmocka_unit_test(test_disagg_profile_handler_test_go_TestHandler_Pick_PrefillFirst_PD),
        cmocka_unit_test(test_disagg_profile_handler_test_go_TestHandler_Pick_PrefillFirst_EPD_Full),
        cmocka_unit_test(test_disagg_profile_handler_test_go_TestHandler_Pick_PrefillFirst_CustomProfiles),
        cmocka_unit_test(test_disagg_profile_handler_test_go_TestHandler_PreRequest_EncodeMultipleEndpoints),
        cmocka_unit_test(test_multimodal_producer_test_go_TestLRUCapacityFromCacheSizeMB),
        cmocka_unit_test(test_multimodal_producer_test_go_TestFactory),
        cmocka_unit_test(test_multimodal_producer_test_go_TestExtractMMItems),
        cmocka_unit_test(test_multimodal_producer_test_go_TestProduceMatchesMultiplePodsAndPreRequestUpdatesPlacement),
        cmocka_unit_test(test_multimodal_producer_test_go_TestLRUEviction),
        cmocka_unit_test(test_multimodal_producer_test_go_TestExtractEndpointRemovesDeletedPod),
        cmocka_unit_test(test_mmcacheaffinity_scorer_test_go_TestFactory),
        cmocka_unit_test(test_mmcacheaffinity_scorer_test_go_TestScore),
        cmocka_unit_test(test_mm_embeddings_cache_affinity_decision),
        cmocka_unit_test(test_p2psource_producer_test_go_TestPluginFactory),
        cmocka_unit_test(test_p2psource_producer_test_go_TestProduce),
        cmocka_unit_test(test_p2psource_producer_test_go_TestProduce_Shares),
        cmocka_unit_test(test_p2psource_producer_test_go_TestPreRequest),
        cmocka_unit_test(test_p2psource_decision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
