/*
 * test_upstream_placement.c -- table-driven cases of llm-d-router v0.10.0
 * (commit 71f4f0999f95b96c49a9d0c4afbd18dfdb943c26) ported by reading, one
 * cmocka test per Go test, named after it (package_file_TestName), for
 * utilization-filter, context-length-aware, session-affinity-filter,
 * header-profile-handler and slo-deadline-ordering-policy.
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
#include "plugins_internal.h"

/* Survivors of x_filter over the whole pool as a 0/1 string by index. */
static void filter_mask(const esi_plugin_vt_t *vt, void *st, esi_cycle_t *cy, char *out)
{
    uint32_t idx[TEST_MAX_EPS];
    for (size_t i = 0; i < cy->n; i++) idx[i] = (uint32_t)i;
    size_t m = vt->x_filter(st, cy, idx, cy->n);
    for (size_t i = 0; i < cy->n; i++) out[i] = '0';
    out[cy->n] = '\0';
    for (size_t i = 0; i < m; i++) out[idx[i]] = '1';
}

static void cycle_of(esi_cycle_t *cy, const pool_t *p, const es_sched_request_t *r, int64_t *inflight)
{
    memset(cy, 0, sizeof *cy);
    cy->eps = p->eps;
    cy->n = p->n;
    cy->req = r;
    cy->inflight_req = inflight;
    cy->primary = 0;
    cy->prefill = -1;
}

/* ------------------------------------------------------------------ */
/* scheduling/filter/utilization/filter_test.go                        */
/* ------------------------------------------------------------------ */

/* TestUtilizationFilter_Filter: active-requests is the replica's in-flight
 * count (upstream: the inflight-load-producer's InFlightLoad) */
static void test_utilization_filter_test_go_TestUtilizationFilter_Filter(void **state)
{
    (void)state;
    static const struct {
        const char *name, *params;
        size_t n;
        int64_t active[3];
        int running[3], waiting[3];
        double kv[3];
        const char *want;
    } cases[] = {
        {"active-requests keeps endpoints at or below maxValue", "conditions: [{metric: active-requests, maxValue: 2}]",
         3, {1, 2, 3}, {0}, {0}, {0}, "110"},
        {"active-requests endpoints without load attribute are kept",
         "conditions: [{metric: active-requests, maxValue: 1}]", 2, {0, 5}, {0}, {0}, {0}, "10"},
        {"running-requests keeps endpoints at or below maxValue",
         "conditions: [{metric: running-requests, maxValue: 4}]", 2, {0}, {4, 5}, {0}, {0}, "10"},
        {"waiting-queue keeps endpoints at or below maxValue", "conditions: [{metric: waiting-queue, maxValue: 0}]",
         2, {0}, {0}, {0, 3}, {0}, "10"},
        {"kv-cache-utilization keeps endpoints at or below maxValue",
         "conditions: [{metric: kv-cache-utilization, maxValue: 0.8}]", 2, {0}, {0}, {0}, {0.5, 0.9}, "10"},
        {"multiple conditions drop endpoints exceeding any cap",
         "conditions: [{metric: running-requests, maxValue: 40}, {metric: waiting-queue, maxValue: 0}]", 3, {0},
         {10, 41, 10}, {0, 0, 1}, {0}, "100"},
        {"conditions mix EPP-tracked and model-server metrics",
         "conditions: [{metric: active-requests, maxValue: 10}, {metric: kv-cache-utilization, maxValue: 0.8}]", 3,
         {5, 11, 0}, {0}, {0}, {0, 0, 0.9}, "100"},
        {"all filtered out without fallback returns empty", "conditions: [{metric: active-requests, maxValue: 1}]",
         2, {2, 3}, {0}, {0}, {0}, "00"},
        {"all filtered out with fallback returns original candidates",
         "conditions: [{metric: active-requests, maxValue: 1}], fallbackOnEmpty: true", 2, {2, 3}, {0}, {0}, {0},
         "11"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: utilization-filter\n  parameters: {%s}\n", cases[k].params);
        es_epp_config_t *c = cfg_text(text);
        pool_t p;
        pool_init(&p, cases[k].n, 0);
        int64_t active[3];
        for (size_t i = 0; i < p.n; i++) {
            p.eps[i].metrics.running = (uint32_t)cases[k].running[i];
            p.eps[i].metrics.waiting = (uint32_t)cases[k].waiting[i];
            p.eps[i].metrics.kv_cache_usage = cases[k].kv[i];
            active[i] = cases[k].active[i];
        }
        es_sched_request_t r = text_req(1, "m", "");
        esi_cycle_t cy;
        cycle_of(&cy, &p, &r, active);
        const esi_plugin_vt_t *vt;
        void *st = instance(c, "utilization-filter", &vt);
        char got[8];
        filter_mask(vt, st, &cy, got);
        if (strcmp(got, cases[k].want)) fail_msg("%s: got %s want %s", cases[k].name, got, cases[k].want);
        release(vt, st);
        es_epp_config_destroy(c);
    }
}

/* TestNewUtilizationFilter_InvalidParameters, TestUtilizationFilter_Factory,
 * TestUtilizationFilter_FactoryRejectsMissingParameters */
static void test_utilization_filter_test_go_TestUtilizationFilter_Factory(void **state)
{
    (void)state;
    static const struct { const char *name, *params, *want; } bad[] = {
        {"no conditions", "{}", "requires at least one condition"},
        {"missing metric", "{conditions: [{maxValue: 1}]}", "metric must be one of"},
        {"unknown metric", "{conditions: [{metric: unknown, maxValue: 1}]}", "got \"unknown\""},
        {"missing maxValue", "{conditions: [{metric: active-requests}]}", "requires maxValue"},
        {"negative maxValue", "{conditions: [{metric: active-requests, maxValue: -1}]}", "non-negative maxValue"},
        {"kv-cache maxValue above 1", "{conditions: [{metric: kv-cache-utilization, maxValue: 80}]}",
         "must be at most 1"},
        /* strict decoding (DisallowUnknownFields) of the conditions too */
        {"unknown condition field", "{conditions: [{metric: waiting-queue, maxValue: 1, max: 2}]}", "max"},
        {"unknown parameter", "{conditions: [{metric: waiting-queue, maxValue: 1}], fallback: true}", "fallback"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: utilization-filter\n  parameters: %s\n", bad[k].params);
        cfg_fails(text, bad[k].want);
    }
    /* FactoryRejectsMissingParameters: no parameters at all */
    cfg_fails(HEAD "plugins:\n- type: utilization-filter\n", "requires at least one condition");
    /* TestUtilizationFilter_Factory: two conditions, in order */
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: utilization-filter\n  name: test-filter\n  parameters: "
                                  "{conditions: [{metric: running-requests, maxValue: 40}, {metric: waiting-queue, "
                                  "maxValue: 0}]}\n");
    const esi_plugin_vt_t *vt;
    void *st = instance(c, "test-filter", &vt);
    pool_t p;
    pool_init(&p, 3, 0);
    p.eps[0].metrics.running = 40;
    p.eps[1].metrics.running = 41;
    p.eps[2].metrics.waiting = 1;
    int64_t active[3] = {0};
    es_sched_request_t r = text_req(1, "m", "");
    esi_cycle_t cy;
    cycle_of(&cy, &p, &r, active);
    char got[8];
    filter_mask(vt, st, &cy, got);
    assert_string_equal(got, "100");
    release(vt, st);
    es_epp_config_destroy(c);
}

/* ------------------------------------------------------------------ */
/* scheduling/scorer/contextlengthaware/context_length_aware_test.go    */
/* ------------------------------------------------------------------ */

#define CLA_LABEL "llm-d.ai/context-length-range"

typedef struct cla_pool {
    pool_t     p;
    es_label_t lab[TEST_MAX_EPS];
} cla_pool_t;

/* endpoint i labelled ranges[i]; NULL: no label */
static void cla_pool(cla_pool_t *cp, const char *const *ranges, size_t n)
{
    pool_init(&cp->p, n, 0);
    for (size_t i = 0; i < n; i++) {
        if (!ranges[i]) continue;
        cp->lab[i] = (es_label_t){CLA_LABEL, ranges[i]};
        cp->p.eps[i].labels = &cp->lab[i];
        cp->p.eps[i].nlabels = 1;
    }
}

static void test_context_length_aware_test_go_TestFactory(void **state)
{
    (void)state;
    es_epp_config_destroy(cfg_text(HEAD "plugins:\n- type: context-length-aware\n  name: ctx-aware\n  parameters: {}\n"));
    cfg_fails(HEAD "plugins:\n- type: context-length-aware\n  parameters: {label: \"\"}\n", "'label' must be specified");
    /* "malformed JSON" is a YAML syntax error here (the loader's tests); strict decoding: */
    cfg_fails(HEAD "plugins:\n- type: context-length-aware\n  parameters: {labels: x}\n", "labels");
}

static void test_context_length_aware_test_go_TestContextLengthAwareFilter(void **state)
{
    (void)state;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: context-length-aware\n  parameters: {enableFiltering: true}\n");
    cla_pool_t cp;
    cla_pool(&cp, (const char *const[]){"0-100", "100-500", "0-2000", NULL}, 4);
    es_sched_request_t r = text_req(1, "m", NULL);   /* empty body: context length 0 */
    esi_cycle_t cy;
    int64_t active[4] = {0};
    cycle_of(&cy, &cp.p, &r, active);
    cy.est_tokens = 0;
    const esi_plugin_vt_t *vt;
    void *st = instance(c, "context-length-aware", &vt);
    char got[8];
    filter_mask(vt, st, &cy, got);
    assert_string_equal(got, "1011");
    release(vt, st);
    es_epp_config_destroy(c);
}

static void test_context_length_aware_test_go_TestContextLengthAwareScore(void **state)
{
    (void)state;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: context-length-aware\n");
    cla_pool_t cp;
    cla_pool(&cp, (const char *const[]){"0-20", "0-10000", "500-1000", NULL}, 4);
    es_sched_request_t r = text_req(1, "m", NULL);
    esi_cycle_t cy;
    int64_t active[4] = {0};
    cycle_of(&cy, &cp.p, &r, active);
    const esi_plugin_vt_t *vt;
    void *st = instance(c, "context-length-aware", &vt);
    uint32_t idx[4] = {0, 1, 2, 3};
    double s[4];
    vt->x_score(st, &cy, idx, 4, s);
    assert_true(s[0] > s[1]);
    assert_true(s[0] > 0.3 && s[1] > 0.3);
    assert_true(s[2] > 0 && s[2] < 0.3);
    assert_true(s[1] > s[2]);
    assert_double_equal(s[3], 0.5, 0);
    /* the formulas: 0.3 + 0.7(0.7/(1 + 20/10000) + 0.3); 0.3/(1 + 500/1000) */
    assert_double_equal(s[0], 0.3 + 0.7 * (0.7 / (1.0 + 20.0 / 10000.0) + 0.3), 1e-12);
    assert_double_equal(s[2], 0.3 / 1.5, 1e-12);
    /* without filtering the filter passes everything */
    char got[8];
    filter_mask(vt, st, &cy, got);
    assert_string_equal(got, "1111");
    /* a malformed label scores 0 (and is dropped by the filter) */
    cp.lab[0].value = "abc-100";
    vt->x_score(st, &cy, idx, 4, s);
    assert_double_equal(s[0], 0, 0);
    release(vt, st);
    es_epp_config_destroy(c);
}

static void test_context_length_aware_test_go_TestParseContextRange(void **state)
{
    (void)state;
    static const struct { const char *s; bool ok; int64_t lo, hi; } cases[] = {
        {"0-100", true, 0, 100},   /* valid range */
        {"", false, 0, 0},         /* empty string */
        {"0-100-200", false, 0, 0},/* three parts */
        {"100-50", false, 0, 0},   /* min greater than max */
        {"abc-100", false, 0, 0},  /* non-numeric */
        {" 2048 - 8192 ", true, 2048, 8192},   /* strings.TrimSpace on each bound */
        {"+5-10", true, 5, 10},    /* strconv.Atoi takes a sign */
        {"5-99999999999999999999", false, 0, 0},   /* out of range */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int64_t lo = -1, hi = -1;
        bool ok = esi_context_range_parse(cases[k].s, &lo, &hi);
        if (ok != cases[k].ok) fail_msg("\"%s\": got %d", cases[k].s, ok);
        if (ok) { assert_int_equal(lo, cases[k].lo); assert_int_equal(hi, cases[k].hi); }
    }
}

static void test_context_length_aware_test_go_TestCalculateRangeScoreFallback(void **state)
{
    (void)state;
    /* exceeds range: prefer the largest max */
    double small = esi_context_range_score(9000, 0, 2048), large = esi_context_range_score(9000, 0, 8192);
    assert_true(small > 0 && small < 0.3 && large > 0 && large < 0.3 && large > small);
    /* below range: prefer the smallest min */
    double far = esi_context_range_score(50, 500, 2048), close = esi_context_range_score(50, 100, 1024);
    assert_true(far > 0 && far < 0.3 && close > 0 && close < 0.3 && close > far);
    /* in range always beats out of range for wide ranges */
    double in = esi_context_range_score(14999, 0, 15000), out = esi_context_range_score(14999, 15001, 20000);
    assert_true(in > 0.3 && out < 0.3 && in > out);
    assert_double_equal(esi_context_range_score(7, 7, 7), 1.0, 0);   /* a zero-width range */
}

/* TestContextLengthAwareWithTokenizedPromptOnRequest and
 * TestContextLengthAwareNilTokenizedPromptIsZero: the context length is
 * the token producer's count, through the scheduler */
static void test_context_length_aware_test_go_TestContextLengthAwareTokenizedPrompt(void **state)
{
    (void)state;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: context-length-aware\n  parameters: {enableFiltering: true}\n");
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    cla_pool_t cp;
    cla_pool(&cp, (const char *const[]){"0-52", "142-242"}, 2);
    es_sched_request_t r = text_req(1, "m", NULL);
    r.content.tokens = 42;   /* 42 tokens */
    es_sched_result_t res;
    memset(&res, 0, sizeof res);
    assert_int_equal(es_scheduler_pick(s, &r, cp.p.eps, 2, 0, &res), 0);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.primary, 0);
    es_scheduler_on_end(s, 1, 0);
    /* no tokens: length 0 */
    cla_pool(&cp, (const char *const[]){"100-200", "0-50"}, 2);
    r = text_req(2, "m", NULL);
    assert_int_equal(es_scheduler_pick(s, &r, cp.p.eps, 2, 0, &res), 0);
    assert_int_equal(res.primary, 1);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
}

/* ------------------------------------------------------------------ */
/* scheduling/filter/sessionaffinity/ (session_affinity_test.go,        */
/* session_id_header_test.go) and util/sessionaffinity/session_id_test.go */
/* ------------------------------------------------------------------ */

/* base64.StdEncoding of s */
static void b64(const char *s, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16 | (i + 1 < n ? (uint32_t)(unsigned char)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? (unsigned char)s[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

static void name_pool(pool_t *p, const char *const *names, size_t n)
{
    pool_init(p, n, 0);
    for (size_t i = 0; i < n; i++) snprintf(p->names[i], sizeof p->names[i], "%s", names[i]);
}

static void test_session_affinity_test_go_TestSessionAffinity_Filter(void **state)
{
    (void)state;
    char tok_b[64], tok_missing[64];
    b64("/pod-b", tok_b);   /* NamespacedName{Name: "pod-b"}.String() */
    b64("pod-missing", tok_missing);
    static const char *const custom = "x-custom-session";
    const struct { const char *name, *header_param, *hname, *hval; size_t n; const char *want; } cases[] = {
        {"selects the session endpoint : endpointB", "", "x-session-token", tok_b, 2, "01"},
        {"custom header selects the session endpoint : endpointB", custom, custom, tok_b, 2, "01"},
        {"custom header ignores default header", custom, "x-session-token", tok_b, 2, "11"},
        {"no session token returns all endpoints", "", NULL, NULL, 2, "11"},
        {"invalid session token returns all endpoints", "", "x-session-token", "garbage-token", 2, "11"},
        {"session pod not among candidates returns all endpoints", "", "x-session-token", tok_missing, 2, "11"},
        {"no endpoints available", "", "x-session-token", tok_b, 0, ""},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: session-affinity-filter\n  parameters: "
                 "{encodedEndpointHeaderConfig: {header: \"%s\"}}\n", cases[k].header_param);
        es_epp_config_t *c = cfg_text(text);
        pool_t p;
        name_pool(&p, (const char *const[]){"pod-a", "pod-b"}, 2);
        p.n = cases[k].n;
        es_header_t h = {cases[k].hname, cases[k].hval};
        es_sched_request_t r = text_req(1, "m", "");
        if (h.name) { r.headers = &h; r.nheaders = 1; }
        esi_cycle_t cy;
        int64_t active[2] = {0};
        cycle_of(&cy, &p, &r, active);
        const esi_plugin_vt_t *vt;
        void *st = instance(c, "session-affinity-filter", &vt);
        char got[8];
        filter_mask(vt, st, &cy, got);
        if (strcmp(got, cases[k].want)) fail_msg("%s: got %s want %s", cases[k].name, got, cases[k].want);
        release(vt, st);
        es_epp_config_destroy(c);
    }
}

static void test_session_affinity_test_go_TestSessionAffinity_FactoryValidation(void **state)
{
    (void)state;
    static const struct { const char *name, *params, *want; } cases[] = {
        {"empty params default to encoded_endpoint_header", "{}", NULL},
        {"explicit encoded_endpoint_header", "{strategy: encoded_endpoint_header}", NULL},
        {"session_id with defaults", "{strategy: session_id}", NULL},
        {"session_id with attribute source", "{strategy: session_id, sessionIdConfig: {sources: [{attribute: "
         "agent-identity}]}}", NULL},
        {"session_id header then attribute fallback sources", "{strategy: session_id, sessionIdConfig: {sources: "
         "[{header: x-session-id}, {attribute: agent-identity}]}}", NULL},
        {"session_id empty sources defaults, valid", "{strategy: session_id, sessionIdConfig: {sources: []}}", NULL},
        {"session_id zero ttl defaults, valid", "{strategy: session_id, sessionIdConfig: {evictionTtlSeconds: 0}}",
         NULL},
        {"unknown strategy rejected", "{strategy: bogus}", "strategy must be"},
        {"session_id source with both header and attribute rejected", "{strategy: session_id, sessionIdConfig: "
         "{sources: [{header: h, attribute: a}]}}", "exactly one of header or attribute"},
        {"session_id negative ttl rejected", "{strategy: session_id, sessionIdConfig: {evictionTtlSeconds: -1}}",
         "evictionTtlSeconds must be > 0"},
        {"session_id negative sweep rejected", "{strategy: session_id, sessionIdConfig: {evictionSweepSeconds: -1}}",
         "evictionSweepSeconds must be > 0"},
        /* util/sessionaffinity TestSessionIDConfig_Validate: a source with neither */
        {"source with neither header nor attribute rejected", "{strategy: session_id, sessionIdConfig: {sources: "
         "[{}]}}", "exactly one of header or attribute"},
        /* strict decoding */
        {"unknown parameter", "{strategy: session_id, sessionIdConfig: {ttl: 3}}", "ttl"},
        {"unknown source field", "{strategy: session_id, sessionIdConfig: {sources: [{cookie: c}]}}", "cookie"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: session-affinity-filter\n  parameters: %s\n",
                 cases[k].params);
        if (cases[k].want) cfg_fails(text, cases[k].want);
        else es_epp_config_destroy(cfg_text(text));
    }
}

/* A session_id filter over pods pod-a, pod-b, pod-gone (ids 0..2); the
 * session id travels in x-session-token, as upstream's tests configure it. */
typedef struct sid_fx {
    es_epp_config_t       *c;
    const esi_plugin_vt_t *vt;
    void                  *st;
    pool_t                 p;
    es_header_t            h;
    es_sched_request_t     r;
    uint64_t               next_id;
} sid_fx_t;

/* sid_extra goes into sessionIdConfig, param_extra into the parameters */
static void sid_setup2(sid_fx_t *f, const char *sid_extra, const char *param_extra)
{
    char text[768];
    snprintf(text, sizeof text, HEAD "plugins:\n- type: session-affinity-filter\n  parameters: {strategy: session_id, "
             "sessionIdConfig: {sources: [{header: x-session-token}]%s}%s}\n"
             "- type: prefill-filter\n- type: disagg-profile-handler\nschedulingProfiles:\n- name: decode\n  plugins:\n"
             "  - pluginRef: session-affinity-filter\n- name: prefill\n  plugins:\n  - pluginRef: prefill-filter\n",
             sid_extra, param_extra);
    f->c = cfg_text(text);
    f->st = instance(f->c, "session-affinity-filter", &f->vt);
    name_pool(&f->p, (const char *const[]){"pod-a", "pod-b", "pod-gone"}, 3);
    f->next_id = 1;
}

static void sid_setup(sid_fx_t *f, const char *unused)
{
    (void)unused;
    sid_setup2(f, "", "");
}

static void sid_teardown(sid_fx_t *f)
{
    release(f->vt, f->st);
    es_epp_config_destroy(f->c);
}

/* a request of session sid (NULL: none); each a fresh request id */
static es_sched_request_t *sid_req(sid_fx_t *f, const char *sid)
{
    f->r = text_req(f->next_id++, "m", "");
    f->h = (es_header_t){"x-session-token", sid};
    if (sid) { f->r.headers = &f->h; f->r.nheaders = 1; }
    return &f->r;
}

/* Filter of the current request over the pods listed by index ("01": pod-a,
 * pod-b); returns the survivors as pod indexes. */
static void sid_filter(sid_fx_t *f, es_time_t now, const char *cands, char *got)
{
    es_endpoint_t eps[3];
    size_t n = 0;
    for (const char *c = cands; *c; c++) eps[n++] = f->p.eps[*c - '0'];
    esi_cycle_t cy;
    int64_t active[3] = {0};
    memset(&cy, 0, sizeof cy);
    cy.eps = eps; cy.n = n; cy.req = &f->r; cy.now = now; cy.inflight_req = active;
    uint32_t idx[3] = {0, 1, 2};
    size_t m = f->vt->x_filter(f->st, &cy, idx, n);
    for (size_t i = 0; i < m; i++) got[i] = (char)('0' + eps[idx[i]].id);
    got[m] = '\0';
}

/* PreRequest of the current request with pod `pod` picked by profile
 * `prof` (0 decode = the primary, 1 prefill; -1: nothing picked) */
static void sid_pre(sid_fx_t *f, es_time_t now, int pod, int prof)
{
    esi_cycle_t cy;
    memset(&cy, 0, sizeof cy);
    cy.eps = f->p.eps; cy.n = 3; cy.req = &f->r; cy.now = now;
    cy.primary = 0;
    cy.prefill = -1;
    if (prof >= 0) {
        cy.res[prof].ran = true;
        cy.res[prof].npicked = 1;
        cy.res[prof].picked[0] = (uint32_t)pod;
    }
    f->vt->x_pre_request(f->st, &cy);
}

static void test_session_id_header_test_go_TestSessionIDHeaderFilter(void **state)
{
    (void)state;
    sid_fx_t f;
    char got[4];
    /* _BoundPresentReturnsAlone */
    sid_setup(&f, NULL);
    sid_req(&f, "s1"); sid_pre(&f, 0, 1, 0);
    sid_req(&f, "s1"); sid_filter(&f, 0, "01", got);
    assert_string_equal(got, "1");
    /* _NoSessionReturnsAll */
    sid_req(&f, NULL); sid_filter(&f, 0, "01", got);
    assert_string_equal(got, "01");
    /* _UnboundReturnsAll (s1 is bound, s2 is not) */
    sid_req(&f, "s2"); sid_filter(&f, 0, "01", got);
    assert_string_equal(got, "01");
    sid_teardown(&f);
    /* _MigratesOnAbsence */
    sid_setup(&f, NULL);
    sid_req(&f, "s1"); sid_pre(&f, 0, 0, 0);
    sid_req(&f, "s1"); sid_filter(&f, 0, "1", got); sid_pre(&f, 0, 1, 0);
    sid_req(&f, "s1"); sid_filter(&f, 0, "01", got);
    assert_string_equal(got, "1");
    sid_teardown(&f);
    /* _NeverNarrowsToEmpty */
    sid_setup(&f, NULL);
    sid_req(&f, "s1"); sid_pre(&f, 0, 2, 0);   /* bound to pod-gone */
    sid_req(&f, "s3"); sid_pre(&f, 0, 0, 0);
    const char *const sessions[] = {NULL, "s2", "s1", "s3"};
    for (size_t i = 0; i < 4; i++) {
        sid_req(&f, sessions[i]);
        sid_filter(&f, 0, "01", got);
        assert_true(strlen(got) > 0);
    }
    sid_req(&f, "s3"); sid_filter(&f, 0, "", got);
    assert_string_equal(got, "");
    sid_teardown(&f);
}

static void test_session_id_test_go_TestSessionIDHeader_PreRequest(void **state)
{
    (void)state;
    sid_fx_t f;
    char got[4];
    /* _FirstBind */
    sid_setup(&f, NULL);
    sid_req(&f, "s1"); sid_pre(&f, 0, 0, 0);
    sid_req(&f, "s1"); sid_filter(&f, 0, "01", got);
    assert_string_equal(got, "0");
    sid_teardown(&f);
    /* _MigratesOnGenuineAbsence */
    sid_setup(&f, NULL);
    sid_req(&f, "s1"); sid_pre(&f, 0, 0, 0);
    sid_req(&f, "s1"); sid_filter(&f, 0, "1", got); sid_pre(&f, 0, 1, 0);
    sid_req(&f, "s1"); sid_filter(&f, 0, "01", got);
    assert_string_equal(got, "1");
    sid_teardown(&f);
    /* _HoldsPinWhenPresentButOutvoted */
    sid_setup(&f, NULL);
    sid_req(&f, "s1"); sid_pre(&f, 0, 0, 0);
    sid_req(&f, "s1"); sid_filter(&f, 0, "01", got); sid_pre(&f, 0, 1, 0);
    sid_req(&f, "s1"); sid_filter(&f, 0, "01", got);
    assert_string_equal(got, "0");
    sid_teardown(&f);
    /* _FirstBindRaceKeepsSingleBinding (the pinned order: no presence record, no migration) */
    sid_setup(&f, NULL);
    sid_req(&f, "pinned-session"); sid_pre(&f, 0, 0, 0);
    sid_req(&f, "pinned-session"); sid_pre(&f, 0, 1, 0);
    sid_req(&f, "pinned-session"); sid_filter(&f, 0, "01", got);
    assert_string_equal(got, "0");
    sid_teardown(&f);
    /* _ProfileName_BindsProfilePod, _ProfileName_DecodeOnlyDoesNotBind */
    sid_setup2(&f, "", ", profileName: prefill");
    sid_req(&f, "s1"); sid_pre(&f, 0, 2, 1);
    sid_req(&f, "s1"); sid_filter(&f, 0, "012", got);
    assert_string_equal(got, "2");
    sid_req(&f, "s2"); sid_pre(&f, 0, 0, 0);   /* decode only */
    sid_req(&f, "s2"); sid_filter(&f, 0, "012", got);
    assert_string_equal(got, "012");
    sid_teardown(&f);
}

/* _Expired, _RunEvictionDropsExpiredBinding, _RunEvictionSparesRefreshedBinding:
 * the sweep runs at the first hook at or after each evictionSweepSeconds tick */
static void test_session_id_test_go_TestSessionIDHeader_Eviction(void **state)
{
    (void)state;
    const es_time_t S = es_time_from_s(1);
    sid_fx_t f;
    char got[4];
    sid_setup2(&f, ", evictionTtlSeconds: 60", "");
    sid_req(&f, "s1"); sid_pre(&f, 0, 1, 0);
    sid_req(&f, "s2"); sid_pre(&f, 0, 1, 0);
    sid_req(&f, "s2"); sid_pre(&f, 50 * S, 1, 0);   /* s2 refreshed at 50 s */
    sid_req(&f, "s1"); sid_filter(&f, 59 * S, "01", got);   /* just seen: kept */
    assert_string_equal(got, "1");
    sid_req(&f, "s1"); sid_filter(&f, 65 * S, "01", got);   /* unused past the TTL at the 60 s sweep... */
    assert_string_equal(got, "1");                           /* ...not yet expired then (60 - 0 = TTL) */
    sid_req(&f, "s1"); sid_filter(&f, 75 * S, "01", got);   /* the 70 s sweep drops it */
    assert_string_equal(got, "01");
    sid_req(&f, "s2"); sid_filter(&f, 75 * S, "01", got);   /* refreshed: spared */
    assert_string_equal(got, "1");
    sid_teardown(&f);
}

/* TestResolveSessionID: header sources in priority order, trimmed; an
 * attribute source yields nothing in eppsim (no request attributes); a
 * simulated client's workload session is its x-session-id header */
static void test_session_id_test_go_TestResolveSessionID(void **state)
{
    (void)state;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: session-affinity-filter\n  parameters: {strategy: "
                                  "session_id, sessionIdConfig: {sources: [{attribute: a}, {header: X-First}, "
                                  "{header: x-session-id}]}}\n");
    bool warned = false;
    for (size_t i = 0; es_epp_config_warning(c, i); i++)
        if (strstr(es_epp_config_warning(c, i), "attribute source yields nothing")) warned = true;
    assert_true(warned);
    const esi_plugin_vt_t *vt;
    void *st = instance(c, "session-affinity-filter", &vt);
    pool_t p;
    name_pool(&p, (const char *const[]){"pod-a", "pod-b"}, 2);
    const struct { const char *first, *second, *session; bool bound_as_s1; } cases[] = {
        {"s1", NULL, NULL, true},        /* header source resolves */
        {"  s1 ", NULL, NULL, true},     /* trimmed */
        {"s1", "s9", NULL, true},        /* the first source wins */
        {"   ", "s1", NULL, true},       /* whitespace-only is empty: falls through */
        {NULL, NULL, "s1", true},        /* the workload's session as x-session-id */
        {NULL, "s1", "s9", true},        /* a header wins over the workload's session */
        {NULL, NULL, NULL, false},       /* none match */
    };
    /* bind s1 to pod-b */
    es_header_t h[2] = {{"x-first", "s1"}};
    es_sched_request_t r = text_req(100, "m", "");
    r.headers = h; r.nheaders = 1;
    esi_cycle_t cy;
    int64_t active[2] = {0};
    cycle_of(&cy, &p, &r, active);
    cy.res[0] = (esi_prof_result_t){.ran = true, .npicked = 1, .picked = {1}};
    vt->x_pre_request(st, &cy);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        r = text_req(k + 1, "m", "");
        uint32_t nh = 0;
        if (cases[k].first) h[nh++] = (es_header_t){"x-first", cases[k].first};
        if (cases[k].second) h[nh++] = (es_header_t){"x-session-id", cases[k].second};
        r.headers = h; r.nheaders = nh;
        r.session = cases[k].session;
        cycle_of(&cy, &p, &r, active);
        char got[4];
        filter_mask(vt, st, &cy, got);
        if (strcmp(got, cases[k].bound_as_s1 ? "01" : "11")) fail_msg("case %zu: got %s", k, got);
    }
    release(vt, st);
    es_epp_config_destroy(c);
}

/* ------------------------------------------------------------------ */
/* scheduling/profilehandler/headerprofile/header_profile_handler_test.go */
/* ------------------------------------------------------------------ */

/* Which profile a request ran ("" when none); status in *status. */
static void hp_run(const char *config, const char *hname, const char *hval, char *ran, int *status)
{
    es_epp_config_t *c = cfg_text(config);
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    pool_t p;
    pool_init(&p, 2, 0);
    es_header_t h = {hname, hval};
    es_sched_request_t r = text_req(1, "m", "");
    if (hname) { r.headers = &h; r.nheaders = 1; }
    es_sched_trace_t *t = es_sched_trace_create(p.n);
    es_sched_result_t res;
    memset(&res, 0, sizeof res);
    res.trace = t;
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    *status = res.status;
    assert_true(t->nprofiles <= 1);   /* exactly one profile, ever */
    snprintf(ran, 32, "%s", t->nprofiles ? t->profile[0].name : "");
    es_sched_trace_destroy(t);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
}

#define HP_CFG(params, profiles) HEAD "plugins:\n- type: header-profile-handler\n  parameters: " params "\n" \
    "schedulingProfiles:\n" profiles

static void test_header_profile_handler_test_go_TestHeaderProfilePick(void **state)
{
    (void)state;
    const char *two = HP_CFG("{}", "- name: encode\n- name: decode\n");
    const char *one = HP_CFG("{}", "- name: decode\n");
    static const char *const ingested = "epp-profile";
    const struct { const char *name, *cfg, *hval, *want; } cases[] = {
        {"header names a configured profile, not yet run", two, "encode", "encode"},
        {"missing header falls back to the default profile", two, NULL, "decode"},
        {"header names an unconfigured profile", two, "prefill", ""},
        {"header value has surrounding whitespace, still matches", two, "  encode  ", "encode"},
        {"whitespace-only header value falls back to the default profile", two, "   ", "decode"},
        {"header value case does not match the configured profile name", two, "Encode", ""},
        {"single configured profile runs with no header", one, NULL, "decode"},
        {"single configured profile runs even with an unrecognized header value", one, "prefill", "decode"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char ran[32];
        int status;
        hp_run(cases[k].cfg, cases[k].hval ? ingested : NULL, cases[k].hval, ran, &status);
        if (strcmp(ran, cases[k].want)) fail_msg("%s: ran '%s' want '%s'", cases[k].name, ran, cases[k].want);
        /* no profile ran: the scheduler fails without a reason, which the EPP answers with 429 */
        assert_int_equal(status, cases[k].want[0] ? 200 : 429);
    }
}

/* TestHeaderProfileHandlerFactory (through the header and default the handler reads) */
static void test_header_profile_handler_test_go_TestHeaderProfileHandlerFactory(void **state)
{
    (void)state;
    const struct { const char *name, *params, *hname, *hval, *want; } cases[] = {
        {"no parameters, uses default header and default profile", "{}", "epp-profile", NULL, "decode"},
        {"custom header name", "{headerName: x-profile}", "x-profile", "encode", "encode"},
        {"custom header name with mixed case and padding is normalized", "{headerName: \"  X-Custom-Profile  \"}",
         "x-custom-profile", "encode", "encode"},
        {"whitespace-only header name falls back to the default", "{headerName: \"   \"}", "epp-profile", "encode",
         "encode"},
        {"custom default profile", "{defaultProfile: prefill}", "epp-profile", NULL, "prefill"},
        {"whitespace-only default profile falls back to the default", "{defaultProfile: \"   \"}", "epp-profile", NULL,
         "decode"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512], ran[32];
        int status;
        snprintf(text, sizeof text, HEAD "plugins:\n- type: header-profile-handler\n  name: custom-name\n  parameters: "
                 "%s\nschedulingProfiles:\n- name: encode\n- name: prefill\n- name: decode\n", cases[k].params);
        hp_run(text, cases[k].hname, cases[k].hval, ran, &status);
        if (strcmp(ran, cases[k].want)) fail_msg("%s: ran '%s' want '%s'", cases[k].name, ran, cases[k].want);
    }
    /* the default header is EPP-Profile, matched in any case (headers arrive lower-cased) */
    char ran[32];
    int status;
    hp_run(HP_CFG("{}", "- name: encode\n- name: decode\n"), "EPP-Profile", "encode", ran, &status);
    assert_string_equal(ran, "encode");
    /* "malformed json" is a YAML syntax error here; strict decoding: */
    cfg_fails(HEAD "plugins:\n- type: header-profile-handler\n  parameters: {header: x}\n", "header");
}

/* TestHeaderProfilePickCustomDefaultProfile, _DefaultProfileNotConfiguredStillErrors */
static void test_header_profile_handler_test_go_TestHeaderProfilePickDefaults(void **state)
{
    (void)state;
    const char *cfg = HP_CFG("{defaultProfile: prefill}", "- name: encode\n- name: prefill\n");
    char ran[32];
    int status;
    hp_run(cfg, NULL, NULL, ran, &status);
    assert_string_equal(ran, "prefill");
    hp_run(cfg, "epp-profile", "encode", ran, &status);
    assert_string_equal(ran, "encode");
    hp_run(HP_CFG("{}", "- name: encode\n- name: prefill\n"), NULL, NULL, ran, &status);
    assert_string_equal(ran, "");
    assert_int_equal(status, 429);
}

/* ------------------------------------------------------------------ */
/* flowcontrol/ordering/slodeadline/slo_deadline_test.go                */
/* ------------------------------------------------------------------ */

typedef struct slo_item { es_header_t h[2]; es_sched_request_t r; es_time_t received; } slo_item_t;

static slo_item_t *slo_item(slo_item_t *it, es_time_t received, const char *name, const char *ms)
{
    memset(it, 0, sizeof *it);
    it->r = text_req(1, "m", "");
    if (name) { it->h[0] = (es_header_t){name, ms}; it->r.headers = it->h; it->r.nheaders = 1; }
    it->received = received;
    return it;
}

/* Less: earliest deadline first, then the earliest received (nil items last) */
static bool slo_less(const slo_item_t *a, const slo_item_t *b)
{
    if (!a) return false;
    if (!b) return true;
    es_time_t da = esi_slo_deadline_key(&a->r, a->received), db = esi_slo_deadline_key(&b->r, b->received);
    return da != db ? da < db : a->received < b->received;
}

static void test_slo_deadline_test_go_TestSLODeadline_Less(void **state)
{
    (void)state;
    const es_time_t now = es_time_from_s(1000), MS = es_time_from_ms(1);
    static const char *const H = "x-llm-d-slo-ttft-ms";
    slo_item_t A, B, C, D, E, F;
    slo_item(&A, now, H, "100");
    slo_item(&B, now, H, "50");
    slo_item(&C, now + 20 * MS, H, "50");
    slo_item(&D, now, NULL, NULL);
    slo_item(&E, now - 1000 * MS, H, "1050");
    slo_item(&F, now, H, "9223372036854775807");
    const struct { const char *name; const slo_item_t *a, *b; bool want; } cases[] = {
        {"earlier SLO deadline first (B before A)", &B, &A, true},
        {"later SLO deadline after (A after B)", &A, &B, false},
        {"received later but earlier deadline (C before A)", &C, &A, true},
        {"SLO-bound before no-header (A before D)", &A, &D, true},
        {"no-header after SLO-bound (D after A)", &D, &A, false},
        {"same deadline: earlier ReceivedTimestamp first (E before B)", &E, &B, true},
        {"same deadline: later ReceivedTimestamp after (B after E)", &B, &E, false},
        {"SLO-bound before overflowing TTFT (A before F)", &A, &F, true},
        {"overflowing TTFT after SLO-bound (F after A)", &F, &A, false},
        {"a is nil -> b wins", NULL, &A, false},
        {"b is nil -> a wins", &A, NULL, true},
        {"both nil -> false", NULL, NULL, false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        if (slo_less(cases[k].a, cases[k].b) != cases[k].want) fail_msg("%s", cases[k].name);
}

static void test_slo_deadline_test_go_TestCalculateSLODeadline(void **state)
{
    (void)state;
    const es_time_t now = es_time_from_s(1000), MS = es_time_from_ms(1);
    slo_item_t it;
    assert_true(esi_slo_deadline_key(&slo_item(&it, now, "x-llm-d-slo-ttft-ms", "200")->r, now) == now + 200 * MS);
    assert_true(esi_slo_deadline_key(&slo_item(&it, now, "x-slo-ttft-ms", "150")->r, now) == now + 150 * MS);
    slo_item(&it, now, "x-llm-d-slo-ttft-ms", "200");   /* the new name wins over the old alias */
    it.h[1] = (es_header_t){"x-slo-ttft-ms", "50"};
    it.r.nheaders = 2;
    assert_true(esi_slo_deadline_key(&it.r, now) == now + 200 * MS);
    it.h[0] = (es_header_t){"x-slo-ttft-ms", "50"};   /* same order reversed */
    it.h[1] = (es_header_t){"x-llm-d-slo-ttft-ms", "200"};
    assert_true(esi_slo_deadline_key(&it.r, now) == now + 200 * MS);
    assert_true(esi_slo_deadline_key(&slo_item(&it, now, NULL, NULL)->r, now) == ES_TIME_NEVER);
    assert_true(esi_slo_deadline_key(&slo_item(&it, now, "x-some-header", "200")->r, now) == ES_TIME_NEVER);
    assert_true(esi_slo_deadline_key(&slo_item(&it, now, "x-llm-d-slo-ttft-ms", "x")->r, now) == ES_TIME_NEVER);
    assert_true(esi_slo_deadline_key(&slo_item(&it, now, "x-llm-d-slo-ttft-ms", "9223372036854775807")->r, now) ==
                ES_TIME_NEVER);
    /* more of ParseInt after TrimSpace: spaces, signs, negatives, the largest scalable value */
    assert_true(esi_slo_deadline_key(&slo_item(&it, now, "x-llm-d-slo-ttft-ms", " 30 ")->r, now) == now + 30 * MS);
    assert_true(esi_slo_deadline_key(&slo_item(&it, now, "x-llm-d-slo-ttft-ms", "+30")->r, now) == now + 30 * MS);
    assert_true(esi_slo_deadline_key(&slo_item(&it, now, "x-llm-d-slo-ttft-ms", "-1")->r, now) == ES_TIME_NEVER);
    assert_true(esi_slo_deadline_key(&slo_item(&it, now, "x-llm-d-slo-ttft-ms", "-0")->r, now) == now);
    assert_true(esi_slo_deadline_key(&slo_item(&it, now, "x-llm-d-slo-ttft-ms", "1.5")->r, now) == ES_TIME_NEVER);
    assert_true(esi_slo_deadline_key(&slo_item(&it, now, "x-llm-d-slo-ttft-ms", "")->r, now) == ES_TIME_NEVER);
    assert_true(esi_slo_deadline_key(&slo_item(&it, 0, "x-llm-d-slo-ttft-ms", "9223372036854")->r, 0) ==
                9223372036854LL * MS);
    assert_true(esi_slo_deadline_key(&slo_item(&it, 0, "x-llm-d-slo-ttft-ms", "9223372036855")->r, 0) ==
                ES_TIME_NEVER);
}

/* The policy in a flow-control band: queued while saturated, then served by
 * SLO deadline (no header last, ties in arrival order). */
static void order_cb(void *ud, const es_sched_request_t *req, const es_sched_result_t *res)
{
    (void)res;
    char *s = ud;
    size_t n = strlen(s);
    s[n] = (char)('0' + req->id);
    s[n + 1] = '\0';
}

static void test_slo_deadline_ordering_in_flow_control(void **state)
{
    (void)state;
    es_epp_config_t *c = cfg_text(HEAD "featureGates: [flowControl]\nplugins:\n- type: slo-deadline-ordering-policy\n"
                                  "flowControl:\n  defaultPriorityBand:\n    orderingPolicyRef: slo-deadline-ordering-policy\n");
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    pool_t p;
    pool_init(&p, 1, 0);
    p.eps[0].metrics.waiting = 100;   /* saturated: everything queues */
    const char *slo[] = {NULL, "500", "100", NULL, "100"};
    es_header_t h[5];
    es_sched_request_t r[5];
    for (int i = 0; i < 5; i++) {
        r[i] = text_req((uint64_t)i + 1, "m", "");
        if (slo[i]) { h[i] = (es_header_t){"x-llm-d-slo-ttft-ms", slo[i]}; r[i].headers = &h[i]; r[i].nheaders = 1; }
        es_sched_result_t res;
        memset(&res, 0, sizeof res);
        assert_int_equal(es_scheduler_submit(s, &r[i], p.eps, 1, 0, &res), 0);
        assert_int_equal(res.status, ES_SCHED_QUEUED);
    }
    p.eps[0].metrics.waiting = 0;
    char order[8] = "";
    for (int i = 0; i < 5; i++) es_scheduler_flow_cycle(s, p.eps, 1, es_time_from_ms(1 + i), order_cb, order);
    assert_string_equal(order, "35214");
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
}

/* ------------------------------------------------------------------ */
/* flowcontrol/eviction/ (filtering/sheddable_test.go,                  */
/* ordering/priority_time_test.go) and the evictor they serve           */
/* (controller/internal/reclamation_test.go)                             */
/* ------------------------------------------------------------------ */

static void test_sheddable_test_go_TestSheddableFilter_Accept(void **state)
{
    (void)state;
    const esi_plugin_vt_t *f = esi_registry_find("sheddable-eviction-filter");
    static const struct { const char *name; int64_t prio; bool want; } cases[] = {
        {"negative priority is sheddable", -1, true},
        {"very negative priority is sheddable", -100, true},
        {"zero priority is not sheddable", 0, false},
        {"positive priority is not sheddable", 1, false},
        {"high priority is not sheddable", 100, false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        if (f->x_evict_accept(cases[k].prio) != cases[k].want) fail_msg("%s", cases[k].name);
    assert_ptr_equal(esi_registry_with_role(ESI_EVICT_FILTER), f);
}

static void test_priority_time_test_go_TestPriorityThenTimeOrdering_Less(void **state)
{
    (void)state;
    const esi_plugin_vt_t *o = esi_registry_find("priority-then-time-eviction-order-policy");
    const es_time_t now = es_time_from_s(100), S = es_time_from_s(1);
    typedef struct { int64_t p; es_time_t d; } item_t;
    const item_t low_old = {-2, now - S}, low_new = {-2, now}, mid = {0, now}, high = {5, now};
    const struct { const char *name; item_t a, b; bool want; } cases[] = {
        {"lower priority evicted first", low_old, mid, true},
        {"higher priority not evicted first", high, mid, false},
        {"same priority newer evicted first", low_new, low_old, true},
        {"same priority older not evicted first", low_old, low_new, false},
        {"same item no preference", mid, mid, false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        if (o->x_evict_less(cases[k].a.p, cases[k].a.d, cases[k].b.p, cases[k].b.d) != cases[k].want)
            fail_msg("%s", cases[k].name);
    assert_ptr_equal(esi_registry_with_role(ESI_EVICT_ORDER), o);
}

/* TestSheddableFilterFactory, TestPriorityThenTimeOrderingFactory: named
 * instances build (their factories ignore parameters); declared, they have
 * no effect (the evictor builds its own), which the loader says */
static void test_eviction_factories(void **state)
{
    (void)state;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: sheddable-eviction-filter\n  name: my-filter\n"
                                  "- type: priority-then-time-eviction-order-policy\n  name: my-ordering\n"
                                  "  parameters: {anything: 1}\n");
    size_t without = 0, ignored = 0;
    for (size_t i = 0; es_epp_config_warning(c, i); i++) {
        if (strstr(es_epp_config_warning(c, i), "declared without effect")) without++;
        if (strstr(es_epp_config_warning(c, i), "accepted, no effect")) ignored++;
    }
    assert_int_equal(without, 2);
    assert_int_equal(ignored, 1);
    es_epp_config_destroy(c);
}

#define EV_GRACE es_time_from_ms(100)   /* testReclamationConfig */

/* in_flight tracked requests, the first `evictable` sheddable (priority -1) */
static void ev_fill(esi_evictor_t *ev, es_sched_request_t *reqs, int in_flight, int evictable, es_time_t now)
{
    esi_evictor_init(ev, esi_registry_with_role(ESI_EVICT_FILTER), esi_registry_with_role(ESI_EVICT_ORDER), EV_GRACE);
    ev->timeout = es_time_from_s(5);
    for (int i = 0; i < in_flight; i++) {
        reqs[i] = text_req((uint64_t)i + 1, "m", "");
        reqs[i].priority = i < evictable ? -1 : 0;
        esi_evictor_track(ev, &reqs[i], now + i);
    }
}

static void test_reclamation_test_go_TestReclamationController_Sizing(void **state)
{
    (void)state;
    static const struct { const char *name; int in_flight, evictable; double sat, ceiling; size_t want; } cases[] = {
        {"SmallDeficit_EvictsOne", 6, 6, 1.2, 1.0, 1},
        {"DeepOverload_CappedByMaxPerDecision", 4, 4, 2.0, 1.0, 2},
        {"CappedByEvictable", 4, 1, 2.0, 1.0, 1},
        {"NoDeficit_NoEviction", 6, 6, 0.9, 1.0, 0},
        {"ExactBoundary_EvictsOne", 10, 10, 1.0, 1.0, 1},
        {"ZeroLeases_NoEviction", 0, 0, 1.5, 1.0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        esi_evictor_t ev;
        es_sched_request_t reqs[10];
        ev_fill(&ev, reqs, cases[k].in_flight, cases[k].evictable, 0);
        const es_sched_request_t *v[8];
        size_t n = esi_evictor_reclaim(&ev, cases[k].sat, cases[k].ceiling, 0, 0, v, 8);
        if (n != cases[k].want) fail_msg("%s: %zu victims, want %zu", cases[k].name, n, cases[k].want);
        esi_evictor_fini(&ev);
    }
}

static void test_reclamation_test_go_TestReclamationController_Gate(void **state)
{
    (void)state;
    const es_time_t MS = es_time_from_ms(1), t0 = es_time_from_s(10);
    esi_evictor_t ev;
    es_sched_request_t reqs[4];
    const es_sched_request_t *v[8];
    /* _GateLifecycle */
    ev_fill(&ev, reqs, 4, 4, 0);
    assert_true(esi_evictor_gate_open(&ev, t0));
    assert_int_equal(esi_evictor_reclaim(&ev, 2.0, 1.0, 0, t0, v, 8), 2);
    assert_false(esi_evictor_gate_open(&ev, t0));
    esi_evictor_untrack(&ev, v[0]->id, t0);
    assert_false(esi_evictor_gate_open(&ev, t0));
    esi_evictor_untrack(&ev, v[1]->id, t0);
    assert_false(esi_evictor_gate_open(&ev, t0));   /* the grace */
    assert_true(esi_evictor_gate_open(&ev, t0 + EV_GRACE + MS));
    esi_evictor_fini(&ev);
    /* _ConfirmUnknownID_Ignored */
    ev_fill(&ev, reqs, 4, 4, 0);
    esi_evictor_untrack(&ev, 999, t0);
    assert_true(esi_evictor_gate_open(&ev, t0));
    esi_evictor_fini(&ev);
    /* _ConfirmationTimeout_ReopensGate */
    ev_fill(&ev, reqs, 4, 4, 0);
    assert_int_equal(esi_evictor_reclaim(&ev, 2.0, 1.0, 0, t0, v, 8), 2);
    assert_false(esi_evictor_gate_open(&ev, t0));
    es_time_t t1 = t0 + es_time_from_s(5) + MS;
    assert_false(esi_evictor_gate_open(&ev, t1));   /* retired, the grace restarts */
    assert_true(esi_evictor_gate_open(&ev, t1 + EV_GRACE + MS));
    esi_evictor_untrack(&ev, v[0]->id, t1 + EV_GRACE + MS);   /* a late confirmation: no effect */
    assert_true(esi_evictor_gate_open(&ev, t1 + EV_GRACE + MS));
    esi_evictor_fini(&ev);
    /* _PendingDebit_SuppressesRepeatDecision */
    ev_fill(&ev, reqs, 4, 4, 0);
    assert_int_equal(esi_evictor_reclaim(&ev, 2.0, 1.0, 0, t0, v, 8), 2);
    assert_int_equal(esi_evictor_reclaim(&ev, 2.0, 1.0, 0, t0, v, 8), 0);
    esi_evictor_fini(&ev);
}

/* TestReclaim_PassesDemandPriorityAsVictimBound (the bound's effect) and
 * the victim order of EvictN */
static void test_reclamation_test_go_TestReclaim_VictimBoundAndOrder(void **state)
{
    (void)state;
    esi_evictor_t ev;
    es_sched_request_t reqs[4];
    const es_sched_request_t *v[8];
    ev_fill(&ev, reqs, 4, 4, 0);   /* all priority -1 */
    assert_int_equal(esi_evictor_reclaim(&ev, 2.0, 1.0, -1, 0, v, 8), 0);   /* not strictly below -1 */
    esi_evictor_fini(&ev);
    ev_fill(&ev, reqs, 4, 0, 0);
    reqs[0].priority = -2; reqs[1].priority = -1; reqs[2].priority = -2; reqs[3].priority = 3;
    for (int i = 0; i < 4; i++) esi_evictor_track(&ev, &reqs[i], i);   /* dispatched at 0, 1, 2, 3 */
    int64_t vp;
    assert_true(esi_evictor_victim_priority(&ev, &vp));
    assert_int_equal(vp, -2);
    assert_int_equal(esi_evictor_reclaim(&ev, 2.0, 1.0, 0, 10, v, 8), 2);
    assert_int_equal(v[0]->id, 3);   /* priority -2, newest */
    assert_int_equal(v[1]->id, 1);   /* priority -2, older */
    esi_evictor_fini(&ev);
}

/* TestDispatchCycle_*: the evictor in the scheduler's flow control, one pod,
 * saturation = waiting / 5 (utilization-detector) */
typedef struct ev_rec { uint64_t ids[16]; size_t n; } ev_rec_t;
static void ev_record(void *ud, const es_sched_request_t *req)
{
    ev_rec_t *r = ud;
    if (r->n < 16) r->ids[r->n++] = req->id;
}

typedef struct ev_fx {
    es_epp_config_t   *c;
    es_scheduler_t    *s;
    pool_t             p;
    es_sched_request_t r[16];
    size_t             nr;
    ev_rec_t           victims;
    char               order[32];
} ev_fx_t;

static void ev_setup(ev_fx_t *f, bool eviction)
{
    memset(f, 0, sizeof *f);
    char text[256];
    snprintf(text, sizeof text, HEAD "featureGates: [flowControl]\nplugins:\n- type: queue-scorer\nflowControl:\n"
             "  enableEviction: %s\n",
             eviction ? "true" : "false");
    f->c = cfg_text(text);
    es_err_t err;
    assert_int_equal(es_scheduler_create(f->c, 1, &f->s, &err), 0);
    es_scheduler_set_evictor(f->s, ev_record, &f->victims, es_time_from_ms(50));
    pool_init(&f->p, 1, 0);
}

static void ev_teardown(ev_fx_t *f)
{
    es_scheduler_destroy(f->s);
    es_epp_config_destroy(f->c);
}

/* submits a request of priority prio and runs a dispatch cycle at now */
static void ev_submit(ev_fx_t *f, int32_t prio, es_time_t now)
{
    es_sched_request_t *r = &f->r[f->nr];
    *r = text_req(f->nr + 1, "m", "");
    r->priority = prio;
    f->nr++;
    es_sched_result_t res;
    memset(&res, 0, sizeof res);
    f->p.eps[0].metrics.update_time = now;
    assert_int_equal(es_scheduler_submit(f->s, r, f->p.eps, 1, now, &res), 0);
    assert_int_equal(res.status, ES_SCHED_QUEUED);
    es_scheduler_flow_cycle(f->s, f->p.eps, 1, now, order_cb, f->order);
}

static void ev_cycle(ev_fx_t *f, es_time_t now)
{
    f->p.eps[0].metrics.update_time = now;
    es_scheduler_flow_cycle(f->s, f->p.eps, 1, now, order_cb, f->order);
}

static void test_reclamation_test_go_TestDispatchCycle(void **state)
{
    (void)state;
    const es_time_t MS = es_time_from_ms(1);
    ev_fx_t f;
    /* _HoLBlock_TriggersReclamation, _GateClosed_SkipsDemandScan, then the
     * confirmation and the grace (utilization-detector: 50 ms + 2 s + 250 ms) */
    ev_setup(&f, true);
    for (int i = 0; i < 3; i++) ev_submit(&f, -1, i * MS);   /* dispatched: ids 1..3 */
    for (int i = 0; i < 3; i++) ev_submit(&f, 5, (3 + i) * MS);   /* ids 4..6 */
    assert_string_equal(f.order, "123456");
    f.p.eps[0].metrics.waiting = 6;   /* saturation 1.2 */
    ev_submit(&f, 0, 10 * MS);        /* id 7 blocked */
    assert_int_equal(f.victims.n, 1); /* credit 1.2 / 6 = 0.2, deficit 0.2: one */
    assert_int_equal(f.victims.ids[0], 3);   /* the newest sheddable */
    for (int i = 0; i < 10; i++) ev_cycle(&f, (11 + i) * MS);
    assert_int_equal(f.victims.n, 1);
    es_scheduler_on_end(f.s, 3, 30 * MS);   /* the evicted stream ends: confirmed */
    ev_cycle(&f, 30 * MS + es_time_from_ms(2299));
    assert_int_equal(f.victims.n, 1);   /* cooling */
    ev_cycle(&f, 30 * MS + es_time_from_ms(2301));
    assert_int_equal(f.victims.n, 2);   /* still blocked: the next victim */
    assert_int_equal(f.victims.ids[1], 2);
    assert_int_equal(es_scheduler_evictions(f.s), 2);
    f.p.eps[0].metrics.waiting = 0;
    ev_cycle(&f, es_time_from_s(3));
    assert_string_equal(f.order, "1234567");
    ev_teardown(&f);
    /* _NoQueuedDemand_NoReclamation */
    ev_setup(&f, true);
    for (int i = 0; i < 3; i++) ev_submit(&f, -1, i * MS);
    f.p.eps[0].metrics.waiting = 6;
    for (int i = 0; i < 5; i++) ev_cycle(&f, (10 + i) * MS);
    assert_int_equal(f.victims.n, 0);
    /* _VictimNotStrictlyLower_NoReclamation: demand at the victims' priority */
    ev_submit(&f, -1, 20 * MS);
    assert_int_equal(f.victims.n, 0);
    ev_teardown(&f);
    /* _NoVictims_NoReclamation */
    ev_setup(&f, true);
    for (int i = 0; i < 3; i++) ev_submit(&f, 1, i * MS);
    f.p.eps[0].metrics.waiting = 6;
    ev_submit(&f, 2, 10 * MS);
    assert_int_equal(f.victims.n, 0);
    ev_teardown(&f);
    /* enableEviction off: nothing is evicted */
    ev_setup(&f, false);
    for (int i = 0; i < 3; i++) ev_submit(&f, -1, i * MS);
    f.p.eps[0].metrics.waiting = 6;
    ev_submit(&f, 0, 10 * MS);
    assert_int_equal(f.victims.n, 0);
    assert_int_equal(es_scheduler_evictions(f.s), 0);
    ev_teardown(&f);
}

/* scheduling/scorer/sessionaffinity/session_affinity_test.go TestSessionAffinity_Score,
 * session_id_header_test.go TestSessionIDHeaderScorer_*, and its factory
 * (the filter's parameters) */
static void scorer_scores(const char *params, const pool_t *p, size_t n, const char *hname, const char *hval,
                          const char *bind_sid, int bind_pod, double *out)
{
    char text[512];
    snprintf(text, sizeof text, HEAD "plugins:\n- type: session-affinity-scorer\n  parameters: %s\n", params);
    es_epp_config_t *c = cfg_text(text);
    const esi_plugin_vt_t *vt;
    void *st = instance(c, "session-affinity-scorer", &vt);
    int64_t active[4] = {0};
    esi_cycle_t cy;
    if (bind_sid) {   /* PreRequest of an earlier request of bind_sid, picked bind_pod */
        es_header_t bh = {"x-session-token", bind_sid};
        es_sched_request_t br = text_req(100, "m", "");
        br.headers = &bh; br.nheaders = 1;
        cycle_of(&cy, p, &br, active);
        cy.res[0] = (esi_prof_result_t){.ran = true, .npicked = 1, .picked = {(uint32_t)bind_pod}};
        vt->x_pre_request(st, &cy);
    }
    es_header_t h = {hname, hval};
    es_sched_request_t r = text_req(1, "m", "");
    if (hname) { r.headers = &h; r.nheaders = 1; }
    cycle_of(&cy, p, &r, active);
    uint32_t idx[4] = {0, 1, 2, 3};
    vt->x_score(st, &cy, idx, n, out);
    release(vt, st);
    es_epp_config_destroy(c);
}

static void test_scorer_session_affinity_test_go_TestSessionAffinity_Score(void **state)
{
    (void)state;
    char tok_b[64];
    b64("/pod-b", tok_b);
    pool_t p;
    name_pool(&p, (const char *const[]){"pod-a", "pod-b"}, 2);
    const char *def = "{}", *custom = "{encodedEndpointHeaderConfig: {header: x-custom-session}}";
    const struct { const char *name, *params, *hname, *hval; size_t n; double want[2]; } cases[] = {
        {"selects correct endpoint : endpointB", def, "x-session-token", tok_b, 2, {0, 1}},
        {"custom header selects endpointB", custom, "x-custom-session", tok_b, 2, {0, 1}},
        {"custom header ignores default header", custom, "x-session-token", tok_b, 2, {0, 0}},
        {"no session token", def, NULL, NULL, 2, {0, 0}},
        {"invalid session token", def, "x-session-token", "garbage-token", 2, {0, 0}},
        {"no endpoints available", def, NULL, NULL, 0, {0, 0}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double out[2] = {-1, -1};
        scorer_scores(cases[k].params, &p, cases[k].n, cases[k].hname, cases[k].hval, NULL, 0, out);
        for (size_t i = 0; i < cases[k].n; i++)
            if (out[i] != cases[k].want[i]) fail_msg("%s: endpoint %zu scored %g", cases[k].name, i, out[i]);
    }
    const char *sid = "{strategy: session_id, sessionIdConfig: {sources: [{header: x-session-token}]}}";
    double out[2];
    scorer_scores(sid, &p, 2, "x-session-token", "s1", "s1", 1, out);   /* _ScoresBoundPod */
    assert_true(out[0] == 0 && out[1] == 1);
    scorer_scores(sid, &p, 2, NULL, NULL, "s1", 0, out);                /* _NoSessionAbstains */
    assert_true(out[0] == 0 && out[1] == 0);
    scorer_scores(sid, &p, 2, "x-session-token", "s2", "s1", 0, out);   /* _UnboundAbstains */
    assert_true(out[0] == 0 && out[1] == 0);
    /* the factory validates as the filter's */
    es_epp_config_destroy(cfg_text(HEAD "plugins:\n- type: session-affinity-scorer\n"));
    cfg_fails(HEAD "plugins:\n- type: session-affinity-scorer\n  parameters: {strategy: bogus}\n", "strategy must be");
    cfg_fails(HEAD "plugins:\n- type: session-affinity-scorer\n  parameters: {strategy: session_id, sessionIdConfig: "
              "{evictionSweepSeconds: -1}}\n", "evictionSweepSeconds must be > 0");
}

/* The config as run (es_epp_config_write_yaml) re-reads to itself: the
 * conditions and the session sources are written too. */
static char *written(const es_epp_config_t *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    es_epp_config_write_yaml(f, c);
    fclose(f);
    char *copy = strdup(buf);   /* a heap copy: gcc 12's -Wdangling-pointer takes buf for the local it was */
    free(buf);
    assert_non_null(copy);
    return copy;
}

/* Drops every "added by the defaulting pipeline" line of s, in place. */
static void strip_marks(char *s)
{
    static const char mark[] = "  # added by the defaulting pipeline\n";
    const size_t ml = sizeof mark - 1;
    for (const char *m; (m = strstr(s, mark));) {
        size_t at = (size_t)(m - s);
        memmove(s + at, s + at + ml, strlen(s + at + ml) + 1);
    }
}

static void test_placement_config_round_trip(void **state)
{
    (void)state;
    es_epp_config_t *c = cfg_text(HEAD "featureGates: [flowControl]\nplugins:\n"
        "- type: session-affinity-filter\n  parameters: {strategy: session_id, sessionIdConfig: {sources: "
        "[{header: X-A}, {attribute: agent-identity}, {header: x-session-id}], evictionTtlSeconds: 60}}\n"
        "- type: utilization-filter\n  parameters: {conditions: [{metric: active-requests, maxValue: 10}, "
        "{metric: kv-cache-utilization, maxValue: 0.75}], fallbackOnEmpty: true}\n"
        "- type: context-length-aware\n  parameters: {label: ctx, enableFiltering: true}\n"
        "- type: header-profile-handler\n  parameters: {headerName: X-P}\n"
        "- type: slo-deadline-ordering-policy\n"
        "schedulingProfiles:\n- name: a\n  plugins: [{pluginRef: session-affinity-filter}, {pluginRef: "
        "utilization-filter}]\n- name: decode\n  plugins: [{pluginRef: context-length-aware}]\n"
        "flowControl:\n  enableEviction: true\n  defaultPriorityBand: {orderingPolicyRef: slo-deadline-ordering-policy}\n");
    char *a = written(c);
    assert_non_null(strstr(a, "- {metric: kv-cache-utilization, maxValue: 0.75}"));
    assert_non_null(strstr(a, "- {header: \"x-a\"}"));
    assert_non_null(strstr(a, "- {attribute: \"agent-identity\"}"));
    assert_non_null(strstr(a, "headerName: \"x-p\""));
    assert_non_null(strstr(a, "enableEviction: true"));
    es_epp_config_t *c2 = cfg_text(a);
    char *b = written(c2);
    /* the first line names the source file; auto-created plugins are marked only in the first */
    strip_marks(a);
    assert_string_equal(strchr(a, '\n'), strchr(b, '\n'));
    free(a); free(b);
    es_epp_config_destroy(c2);
    es_epp_config_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utilization_filter_test_go_TestUtilizationFilter_Filter),
        cmocka_unit_test(test_utilization_filter_test_go_TestUtilizationFilter_Factory),
        cmocka_unit_test(test_context_length_aware_test_go_TestFactory),
        cmocka_unit_test(test_context_length_aware_test_go_TestContextLengthAwareFilter),
        cmocka_unit_test(test_context_length_aware_test_go_TestContextLengthAwareScore),
        cmocka_unit_test(test_context_length_aware_test_go_TestParseContextRange),
        cmocka_unit_test(test_context_length_aware_test_go_TestCalculateRangeScoreFallback),
        cmocka_unit_test(test_context_length_aware_test_go_TestContextLengthAwareTokenizedPrompt),
        cmocka_unit_test(test_session_affinity_test_go_TestSessionAffinity_Filter),
        cmocka_unit_test(test_session_affinity_test_go_TestSessionAffinity_FactoryValidation),
        cmocka_unit_test(test_session_id_header_test_go_TestSessionIDHeaderFilter),
        cmocka_unit_test(test_session_id_test_go_TestSessionIDHeader_PreRequest),
        cmocka_unit_test(test_session_id_test_go_TestSessionIDHeader_Eviction),
        cmocka_unit_test(test_session_id_test_go_TestResolveSessionID),
        cmocka_unit_test(test_header_profile_handler_test_go_TestHeaderProfilePick),
        cmocka_unit_test(test_header_profile_handler_test_go_TestHeaderProfileHandlerFactory),
        cmocka_unit_test(test_header_profile_handler_test_go_TestHeaderProfilePickDefaults),
        cmocka_unit_test(test_slo_deadline_test_go_TestSLODeadline_Less),
        cmocka_unit_test(test_slo_deadline_test_go_TestCalculateSLODeadline),
        cmocka_unit_test(test_slo_deadline_ordering_in_flow_control),
        cmocka_unit_test(test_sheddable_test_go_TestSheddableFilter_Accept),
        cmocka_unit_test(test_priority_time_test_go_TestPriorityThenTimeOrdering_Less),
        cmocka_unit_test(test_eviction_factories),
        cmocka_unit_test(test_reclamation_test_go_TestReclamationController_Sizing),
        cmocka_unit_test(test_reclamation_test_go_TestReclamationController_Gate),
        cmocka_unit_test(test_reclamation_test_go_TestReclaim_VictimBoundAndOrder),
        cmocka_unit_test(test_reclamation_test_go_TestDispatchCycle),
        cmocka_unit_test(test_scorer_session_affinity_test_go_TestSessionAffinity_Score),
        cmocka_unit_test(test_placement_config_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
