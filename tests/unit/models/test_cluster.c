/* The request path (gateway, EPP service, cluster) on the event core:
 * HTTPRoute matching, faults, failure modes, timeouts, and the typed
 * e2e configuration with its errors.  Every request sent ends exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "es_cluster.h"
#include "es_doc.h"
#include "es_e2e_config.h"
#include "es_server_config.h"

#define MAXREQ 64
#define RUN_UNTIL_S 120.0   /* every test request ends well before */

typedef struct fx {
    es_doc_t                *doc;
    es_server_config_t       server;
    es_cluster_config_t      cluster;
    es_epp_service_config_t  epp;
    es_gateway_config_t      gateway;
    es_epp_config_t         *picker;
    es_sim_t                *sim;
    es_cluster_t            *cl;
    es_client_request_t      req[MAXREQ];
    es_segment_t             seg[MAXREQ];
    int                      ndone[MAXREQ];
    size_t                   nreq;
} fx_t;

static void on_done(void *ud, es_client_request_t *r)
{
    fx_t *f = ud;
    f->ndone[r - f->req]++;
}

/* Loads the cluster, epp and gateway sections of `yaml` (schema defaults
 * for the rest) and parses their lists.  Returns the parse result. */
static int load(fx_t *f, const char *yaml, es_err_t *err)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(es_doc_load_string("exp.yaml", yaml, strlen(yaml), &f->doc, err), 0);
    assert_int_equal(es_schema_defaults(&es_server_schema, &f->server, err), 0);
    assert_int_equal(es_schema_defaults(&es_cluster_schema, &f->cluster, err), 0);
    assert_int_equal(es_schema_defaults(&es_epp_service_schema, &f->epp, err), 0);
    assert_int_equal(es_schema_defaults(&es_gateway_schema, &f->gateway, err), 0);
    const es_node_t *root = f->doc->root;
    const es_node_t *n;
    if ((n = es_map_get(root, "cluster"))) assert_int_equal(es_schema_load(&es_cluster_schema, &f->cluster, n, "cluster", err), 0);
    if ((n = es_map_get(root, "epp"))) assert_int_equal(es_schema_load(&es_epp_service_schema, &f->epp, n, "epp", err), 0);
    if ((n = es_map_get(root, "gateway"))) assert_int_equal(es_schema_load(&es_gateway_schema, &f->gateway, n, "gateway", err), 0);
    return es_e2e_config_parse(&f->cluster, &f->epp, &f->gateway, err);
}

static void start(fx_t *f, const char *yaml)
{
    es_err_t err;
    es_err_clear(&err);
    if (load(f, yaml, &err)) fail_msg("config: %s", err.msg);
    assert_int_equal(es_epp_config_default(&f->picker, &err), 0);
    f->sim = es_sim_create(1);
    es_cluster_params_t prm = {&f->server, &f->cluster, &f->epp, &f->gateway, f->picker, "pool"};
    es_cluster_hooks_t hooks = {f, on_done, NULL, NULL};
    if (es_cluster_create(f->sim, &prm, &hooks, &f->cl, &err)) fail_msg("create: %s", err.msg);
}

static void stop(fx_t *f)
{
    es_cluster_destroy(f->cl);
    es_sim_destroy(f->sim);
    es_epp_config_destroy(f->picker);
    es_e2e_config_fini(&f->cluster, &f->epp, &f->gateway);
    es_schema_fini(&es_server_schema, &f->server);
    es_schema_fini(&es_cluster_schema, &f->cluster);
    es_schema_fini(&es_epp_service_schema, &f->epp);
    es_schema_fini(&es_gateway_schema, &f->gateway);
    es_doc_destroy(f->doc);
}

/* A request of 200 prompt tokens and 20 output tokens, sent at `at_s`. */
static es_client_request_t *add(fx_t *f, const char *path, const char *model)
{
    assert_true(f->nreq < MAXREQ);
    size_t i = f->nreq++;
    es_client_request_t *r = &f->req[i];
    memset(r, 0, sizeof *r);
    f->seg[i] = (es_segment_t){1000 + i, 200};
    r->id = i;
    r->path = path;
    r->model = model;
    r->prompt = (es_content_t){&f->seg[i], 1, 200};
    r->output_tokens = 20;
    return r;
}

static void send_all_and_run(fx_t *f)
{
    for (size_t i = 0; i < f->nreq; i++) es_cluster_send(f->cl, &f->req[i]);
    es_sim_run(f->sim, es_time_from_s(RUN_UNTIL_S));   /* scrapes tick forever: stop the clock */
    for (size_t i = 0; i < f->nreq; i++) assert_int_equal(f->ndone[i], 1);   /* exactly once */
    assert_int_equal(es_cluster_in_flight(f->cl), 0);
}

/* Runs until time t, then sends the requests added since `from`. */
static void send_at(fx_t *f, double t_s, size_t from)
{
    es_sim_run(f->sim, es_time_from_s(t_s));
    for (size_t i = from; i < f->nreq; i++) es_cluster_send(f->cl, &f->req[i]);
}

static void test_all_ok(void **state)
{
    (void)state;
    fx_t f;
    start(&f, "cluster: {replicas: 2}\n");
    for (int i = 0; i < 6; i++) add(&f, "/v1/completions", "m");
    send_all_and_run(&f);
    for (size_t i = 0; i < f.nreq; i++) {
        assert_int_equal(f.req[i].status, 200);
        assert_true(f.req[i].pod == 0 || f.req[i].pod == 1);
        assert_int_equal(f.req[i].output_received, 20);
        assert_true(f.req[i].first_token > f.req[i].sent && f.req[i].done >= f.req[i].first_token);
    }
    stop(&f);
}

static void test_routes(void **state)
{
    (void)state;
    fx_t f;
    start(&f, "gateway:\n"
              "  routes:\n"
              "  - matches:\n"
              "    - path: {type: PathPrefix, value: /v1/}\n"
              "    - path: {type: Exact, value: /x}\n"
              "      headers: [{name: X-Tenant, value: a}]\n");
    static const es_header_t tenant_a = {"x-TENANT", "a"}, tenant_b = {"X-Tenant", "b"};
    add(&f, "/v1/completions", "m");        /* 0: prefix, whole element */
    add(&f, "/v1", "m");                    /* 1: the prefix itself (trailing slash ignored) */
    add(&f, "/v10/completions", "m");       /* 2: not a whole element: 404 */
    add(&f, "/x", "m");                     /* 3: Exact, but the header is required: 404 */
    es_client_request_t *r = add(&f, "/x", "m");   /* 4: header names match case-insensitively */
    r->headers = &tenant_a; r->nheaders = 1;
    r = add(&f, "/x", "m");                 /* 5: wrong header value: 404 */
    r->headers = &tenant_b; r->nheaders = 1;
    add(&f, "/x/y", "m");                   /* 6: Exact is exact: 404 */
    send_all_and_run(&f);
    static const int want[] = {200, 200, 404, 404, 200, 404, 404};
    for (size_t i = 0; i < f.nreq; i++) assert_int_equal(f.req[i].status, want[i]);
    stop(&f);
}

static void test_no_body_goes_unscheduled(void **state)
{
    (void)state;
    fx_t f;
    start(&f, "cluster: {replicas: 3}\n");
    add(&f, "/health", NULL);
    send_all_and_run(&f);
    assert_int_equal(f.req[0].status, 200);
    assert_true(f.req[0].pod >= 0);
    assert_int_equal(f.req[0].sched_latency, 0);   /* no ext_proc round trip */
    stop(&f);
}

static void test_outage_fail_close_and_open(void **state)
{
    (void)state;
    static const char *const modes[] = {"FailClose", "FailOpen"};
    for (int m = 0; m < 2; m++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, "epp: {outages: [{start_s: 0, end_s: 100}]}\ngateway: {failure_mode: %s}\n",
                 modes[m]);
        fx_t f;
        start(&f, yaml);
        for (int i = 0; i < 4; i++) add(&f, "/v1/completions", "m");
        send_all_and_run(&f);
        for (size_t i = 0; i < f.nreq; i++) assert_int_equal(f.req[i].status, m == 0 ? 503 : 200);
        stop(&f);
    }
}

static void test_ext_proc_timeout(void **state)
{
    (void)state;
    fx_t f;
    /* each decision takes 50 ms; Envoy waits 10 ms */
    start(&f, "epp: {scheduling_latency_us: 50000}\ngateway: {ext_proc_timeout_ms: 10}\n");
    add(&f, "/v1/completions", "m");
    send_all_and_run(&f);
    assert_int_equal(f.req[0].status, 503);
    assert_true(f.req[0].sched_latency >= 10 * ES_MS);
    stop(&f);
}

static void test_client_timeout(void **state)
{
    (void)state;
    fx_t f;
    start(&f, "gateway: {client_timeout_s: 0.001}\n");
    add(&f, "/v1/completions", "m");
    send_all_and_run(&f);
    assert_int_equal(f.req[0].status, 408);
    stop(&f);
}

/* The pod's API server charges api_chat_request_us to requests on a chat
 * path only: the gateway passes the path down (es_server_request_t.chat). */
static es_time_t first_token_of(const char *path, double chat_us)
{
    fx_t f;
    es_err_t err;
    es_err_clear(&err);
    if (load(&f, "gateway: {hop_latency_us: 0}\n", &err)) fail_msg("config: %s", err.msg);
    f.server.vllm_fidelity = ES_FIDELITY_ON;
    free(f.server.vllm_version);
    f.server.vllm_version = strdup("0.15.1");
    f.server.api_request_us = 1000;
    f.server.api_latency_us = 0;
    f.server.api_chat_request_us = chat_us;
    assert_int_equal(es_epp_config_default(&f.picker, &err), 0);
    f.sim = es_sim_create(1);
    es_cluster_params_t prm = {&f.server, &f.cluster, &f.epp, &f.gateway, f.picker, "pool"};
    es_cluster_hooks_t hooks = {&f, on_done, NULL, NULL};
    if (es_cluster_create(f.sim, &prm, &hooks, &f.cl, &err)) fail_msg("create: %s", err.msg);
    es_client_request_t *r = add(&f, path, "m");
    send_all_and_run(&f);
    assert_int_equal(r->status, 200);
    es_time_t t = r->first_token - r->sent;
    stop(&f);
    return t;
}

static void test_chat_path_reaches_the_api_server(void **state)
{
    (void)state;
    es_time_t completion = first_token_of("/v1/completions", 30000);
    es_time_t chat = first_token_of("/v1/chat/completions", 30000);
    es_time_t chat_free = first_token_of("/v1/chat/completions", 0);
    assert_int_equal(chat - completion, 30 * ES_MS);   /* one request, idle pod: the cost itself */
    assert_int_equal(chat_free, completion);
}

/* gateway.client_timeout_clock aiohttp: a timeout of 5 s or more fires at
 * the next whole second (aiohttp's TimeoutHandle: ceil(loop.time() +
 * timeout)), a shorter one on time; exact fires on time.  Sent at 0.3 s with
 * 3,000 tokens to generate, each request is still running when it fires. */
static void test_client_timeout_clock(void **state)
{
    (void)state;
    static const struct { const char *yaml; double done_s; } cases[] = {
        {"gateway: {client_timeout_s: 6, client_timeout_clock: aiohttp}\n", 7.0},
        {"gateway: {client_timeout_s: 6, client_timeout_clock: exact}\n", 6.3},
        {"gateway: {client_timeout_s: 6}\n", 6.3},   /* auto outside a benchmark replay: exact */
        {"gateway: {client_timeout_s: 4, client_timeout_clock: aiohttp}\n", 4.3},
        {"gateway: {client_timeout_s: 6.7, client_timeout_clock: aiohttp}\n", 7.0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fx_t f;
        start(&f, cases[k].yaml);
        es_client_request_t *r = add(&f, "/v1/completions", "m");
        r->output_tokens = 3000;
        send_at(&f, 0.3, 0);
        es_sim_run(f.sim, es_time_from_s(RUN_UNTIL_S));
        assert_int_equal(f.ndone[0], 1);
        assert_int_equal(r->status, 408);
        assert_int_equal(r->done, es_time_from_s(cases[k].done_s));
        stop(&f);
    }
}

/* Pod 0 crashes while serving: its requests fail with 503 without retries,
 * and are re-sent (to pod 1) with one; pod 1's requests are not touched. */
static void test_crash_and_retry(void **state)
{
    (void)state;
    for (int retries = 0; retries <= 1; retries++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml,
                 "cluster:\n  replicas: 2\n  retries_on_crash: %d\n"
                 "  faults: [{at_s: 1.05, kind: pod_crash, pod: 0}]\n", retries);
        fx_t f;
        start(&f, yaml);
        for (int i = 0; i < 8; i++) add(&f, "/v1/completions", "m");
        send_at(&f, 1.0, 0);   /* in flight when pod 0 crashes */
        es_sim_run(f.sim, es_time_from_s(RUN_UNTIL_S));
        int crashed = 0;
        for (size_t i = 0; i < f.nreq; i++) {
            assert_int_equal(f.ndone[i], 1);
            const es_client_request_t *r = &f.req[i];
            if (retries == 0 && r->status == 503) { assert_int_equal(r->pod, 0); crashed++; continue; }
            assert_int_equal(r->status, 200);
            assert_int_equal(r->pod, 1);
            crashed += r->retries == 1;
        }
        assert_true(crashed > 0);   /* some requests were on pod 0 */
        stop(&f);
    }
}

static void test_objectives_set_priority(void **state)
{
    (void)state;
    fx_t f;
    start(&f, "epp: {objectives: [{name: hi, priority: 7}]}\n");
    es_client_request_t *r = add(&f, "/v1/completions", "m");
    r->objective = "hi";
    r->priority = 1;
    r = add(&f, "/v1/completions", "m");
    r->objective = "unknown";
    r->priority = 3;
    send_all_and_run(&f);
    assert_int_equal(f.req[0].p.sched.priority, 7);
    assert_int_equal(f.req[1].p.sched.priority, 3);
    stop(&f);
}

/* The typed configuration: lists parsed at load, errors with file:line: key. */
/* E/P/D (docs/e2e.md, "Encode stages"): one encode pod (pod 0) and the
 * E/PD config of llm-d-router v0.10.0 (sim-e-pd-epp-config.yaml). */
static const char *const k_epd_picker =
    "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: encode-filter\n"
    "- type: decode-filter\n- type: max-score-picker\n- type: always-disagg-multimodal-decider\n"
    "- type: disagg-profile-handler\n  parameters: {deciders: {encode: always-disagg-multimodal-decider}}\n"
    "schedulingProfiles:\n- name: encode\n  plugins: [{pluginRef: encode-filter}]\n"
    "- name: decode\n  plugins: [{pluginRef: decode-filter}]\n";

static void start_picker(fx_t *f, const char *yaml, const char *picker)
{
    es_err_t err;
    es_err_clear(&err);
    if (load(f, yaml, &err)) fail_msg("config: %s", err.msg);
    if (picker) assert_int_equal(es_epp_config_load_string("epp.yaml", picker, &f->picker, &err), 0);
    else assert_int_equal(es_epp_config_default(&f->picker, &err), 0);
    f->sim = es_sim_create(1);
    es_cluster_params_t prm = {&f->server, &f->cluster, &f->epp, &f->gateway, f->picker, "pool"};
    es_cluster_hooks_t hooks = {f, on_done, NULL, NULL};
    if (es_cluster_create(f->sim, &prm, &hooks, &f->cl, &err)) fail_msg("create: %s", err.msg);
}

#define ENCODE_NS 5760000     /* 576 tokens x 10 us */
#define XFER_NS   427487      /* 50 us + 576 x 8192 bytes at 100 Gbit/s (377,487.36 ns, truncated) */

static void test_encode_stage(void **state)
{
    (void)state;
    static const es_mm_item_t cat[] = {{77, 576}}, two[] = {{78, 576}, {79, 576}, {78, 576}};
    fx_t f;
    start_picker(&f, "cluster: {replicas: 3, encode_replicas: 1, encode_us_per_token: 10, encode_bytes_per_token: 8192,"
                     " kv_transfer_gbps: 100, kv_transfer_latency_us: 50}\n", k_epd_picker);
    es_client_request_t *a = add(&f, "/v1/completions", "m");
    a->mm = cat;
    a->nmm = 1;
    es_client_request_t *t = add(&f, "/v1/completions", "m");   /* text only */
    es_client_request_t *b = add(&f, "/v1/completions", "m");   /* two distinct images (one repeated) */
    b->mm = two;
    b->nmm = 3;
    send_at(&f, 0, 0);
    es_client_request_t *c = add(&f, "/v1/completions", "m");   /* the first image again, later */
    c->mm = cat;
    c->nmm = 1;
    send_at(&f, 5, 3);
    es_sim_run(f.sim, es_time_from_s(RUN_UNTIL_S));
    for (size_t i = 0; i < f.nreq; i++) {
        assert_int_equal(f.ndone[i], 1);
        assert_int_equal(f.req[i].status, 200);
        assert_true(f.req[i].pod == 1 || f.req[i].pod == 2);   /* never the encode pod */
    }
    assert_int_equal(t->encode_wait, 0);
    /* a and b reach the encoder together: whichever is second waits for the first's image */
    es_time_t first = a->encode_wait < b->encode_wait ? a->encode_wait : b->encode_wait;
    es_time_t second = a->encode_wait < b->encode_wait ? b->encode_wait : a->encode_wait;
    assert_int_equal(first, ENCODE_NS + XFER_NS);
    assert_int_equal(second, 3 * ENCODE_NS + XFER_NS);   /* a FIFO encoder: three images one after another */
    assert_int_equal(c->encode_wait, XFER_NS);           /* the encoder cache holds it: only the transfer */
    assert_int_equal(es_cluster_in_flight(f.cl), 0);
    stop(&f);
    /* without encode pods the pod's engine encodes its images inside its
     * steps (no encode wait, no transfer): the request's TTFT is its text
     * twin's plus the encoder's time */
    es_time_t ttft[2];
    for (int img = 0; img < 2; img++) {
        static es_segment_t segs[2][2] = {{{76, 576}, {5, 200}}, {{77, 576}, {5, 200}}};
        start_picker(&f, "cluster: {replicas: 1, encode_us_per_token: 10, encoder_cache_images: 0}\n", NULL);
        a = add(&f, "/v1/completions", "m");
        a->prompt = (es_content_t){segs[img], 2, 776};
        a->mm = img ? cat : NULL;
        a->nmm = img ? 1 : 0;
        send_all_and_run(&f);
        assert_int_equal(a->status, 200);
        assert_int_equal(a->encode_wait, 0);
        ttft[img] = a->first_token - a->sent;
        es_pod_info_t info;
        es_cluster_pod_info(f.cl, 0, &info);
        assert_int_equal(info.stats.encoder_tokens, img ? 576 : 0);
        stop(&f);
    }
    assert_int_equal(ttft[1] - ttft[0], ENCODE_NS);
    /* encode and prefill pods must leave a decode pod */
    es_err_t err;
    es_err_clear(&err);
    assert_int_equal(load(&f, "cluster: {replicas: 2, encode_replicas: 1, prefill_replicas: 1}\n", &err), 0);
    assert_int_equal(es_epp_config_default(&f.picker, &err), 0);
    f.sim = es_sim_create(1);
    es_cluster_params_t prm = {&f.server, &f.cluster, &f.epp, &f.gateway, f.picker, "pool"};
    es_cluster_hooks_t hooks = {&f, on_done, NULL, NULL};
    assert_int_equal(es_cluster_create(f.sim, &prm, &hooks, &f.cl, &err), ES_EINVAL);
    assert_non_null(strstr(err.msg, "cluster.encode_replicas: 1 encode and 1 prefill pods leave no decode pod"));
    f.cl = NULL;
    stop(&f);
}

/* Cross-replica sync (eppsim-shared-syncer) with epp.sync_delay_ms: a
 * replica's pick reaches the other replica's reads only after its next
 * publish plus the delay.  Two replicas (the gateway alternates), one pod,
 * publishes every poll tick (50 ms). */
static int64_t g_seen[MAXREQ];

static void on_decision_seen(void *ud, uint32_t replica, const es_sched_request_t *req, const es_endpoint_t *cand,
                             size_t n, const int64_t (*inflight)[2], es_time_t now, const es_sched_result_t *res,
                             const struct es_flow_note *flow)
{
    (void)ud; (void)replica; (void)cand; (void)now; (void)res; (void)flow;
    if (n && req->id < MAXREQ) g_seen[req->id] = inflight[0][0];
}

static void test_sync_delay(void **state)
{
    (void)state;
    static const char *const picker =
        "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: active-request-scorer\n"
        "- type: eppsim-shared-syncer\n  name: shared\n"
        "schedulingProfiles:\n- name: default\n  plugins: [{pluginRef: active-request-scorer}]\n"
        "dataLayer: {crossReplicaSyncerPluginRef: shared, crossReplicaSyncInterval: 50ms}\n";
    for (int delayed = 0; delayed < 2; delayed++) {
        fx_t f;
        es_err_t err;
        es_err_clear(&err);
        const char *yaml = delayed ? "cluster: {replicas: 1}\nepp: {replicas: 2, refresh_interval_ms: 50, sync_delay_ms: 1000}\n"
                                   : "cluster: {replicas: 1}\nepp: {replicas: 2, refresh_interval_ms: 50}\n";
        if (load(&f, yaml, &err)) fail_msg("config: %s", err.msg);
        assert_int_equal(es_epp_config_load_string("epp.yaml", picker, &f.picker, &err), 0);
        f.sim = es_sim_create(1);
        es_cluster_params_t prm = {&f.server, &f.cluster, &f.epp, &f.gateway, f.picker, "pool"};
        es_cluster_hooks_t hooks = {&f, on_done, NULL, on_decision_seen};
        if (es_cluster_create(f.sim, &prm, &hooks, &f.cl, &err)) fail_msg("create: %s", err.msg);
        memset(g_seen, 0xff, sizeof g_seen);
        add(&f, "/v1/completions", "m")->output_tokens = 2000;   /* in flight for seconds */
        send_at(&f, 0, 0);       /* A: replica 0 */
        add(&f, "/v1/completions", "m")->output_tokens = 2000;
        send_at(&f, 0.2, 1);     /* B: replica 1 */
        add(&f, "/v1/completions", "m")->output_tokens = 2000;
        send_at(&f, 1.4, 2);     /* C: replica 0 again */
        es_sim_run(f.sim, es_time_from_s(RUN_UNTIL_S));
        for (size_t i = 0; i < 3; i++) assert_int_equal(f.ndone[i], 1);
        assert_int_equal(g_seen[0], 0);
        /* B: A's pick published within 50 ms; in the store at once, or a second later */
        assert_int_equal(g_seen[1], delayed ? 0 : 1);
        assert_int_equal(g_seen[2], 2);   /* by 1.4 s both picks have landed */
        stop(&f);
    }
}

static void test_config_errors(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"cluster: {replicas: 2, faults: [{at_s: 1, kind: pod_crash, pod: 2}]}\n",
         "exp.yaml:1: cluster.faults[].pod: "},
        {"cluster: {replicas: 2, scaling: [{at_s: 1, replicas: many}]}\n",
         "exp.yaml:1: cluster.scaling[].replicas: "},
        {"cluster: {faults: [{at_s: 1, kind: pod_meltdown}]}\n", "exp.yaml:1: cluster.faults[].kind: "},
        {"epp: {outages: [{start_s: 5, end_s: 2}]}\n", "exp.yaml:1: epp.outages[]: end_s must be after start_s"},
        {"gateway: {routes: [{matches: [{path: {type: Regex, value: /}}]}]}\n",
         "exp.yaml:1: gateway.routes[].matches[].path.type: "},
        {"epp: {objectives: [{name: a, priority: x}]}\n", "exp.yaml:1: epp.objectives[].priority: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_t f;
        es_err_t err;
        es_err_clear(&err);
        assert_int_not_equal(load(&f, cases[i][0], &err), 0);
        if (strncmp(err.msg, cases[i][1], strlen(cases[i][1])) != 0)
            fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, err.msg, cases[i][1]);
        es_e2e_config_fini(&f.cluster, &f.epp, &f.gateway);
        es_schema_fini(&es_server_schema, &f.server);
        es_schema_fini(&es_cluster_schema, &f.cluster);
        es_schema_fini(&es_epp_service_schema, &f.epp);
        es_schema_fini(&es_gateway_schema, &f.gateway);
        es_doc_destroy(f.doc);
    }
    /* a scaling step raises the pods a fault may name */
    fx_t f;
    es_err_t err;
    es_err_clear(&err);
    assert_int_equal(load(&f, "cluster: {replicas: 2, scaling: [{at_s: 1, replicas: 5}],\n"
                              "          faults: [{at_s: 2, kind: scrape_failure, pod: 4}]}\n", &err), 0);
    assert_int_equal(f.cluster.max_pods, 5);
    assert_int_equal(f.cluster.nfaults, 1);
    assert_int_equal(f.cluster.fault_list[0].kind, ES_FAULT_SCRAPE_FAILURE);
    assert_int_equal(f.cluster.fault_list[0].pod, 4);
    assert_int_equal(f.cluster.nscale_steps, 1);
    assert_true(f.gateway.routes_all);
    es_e2e_config_fini(&f.cluster, &f.epp, &f.gateway);
    es_schema_fini(&es_server_schema, &f.server);
    es_schema_fini(&es_cluster_schema, &f.cluster);
    es_schema_fini(&es_epp_service_schema, &f.epp);
    es_schema_fini(&es_gateway_schema, &f.gateway);
    es_doc_destroy(f.doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_ok),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_no_body_goes_unscheduled),
        cmocka_unit_test(test_outage_fail_close_and_open),
        cmocka_unit_test(test_ext_proc_timeout),
        cmocka_unit_test(test_client_timeout),
        cmocka_unit_test(test_client_timeout_clock),
        cmocka_unit_test(test_chat_path_reaches_the_api_server),
        cmocka_unit_test(test_crash_and_retry),
        cmocka_unit_test(test_objectives_set_priority),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_encode_stage),
        cmocka_unit_test(test_sync_delay),
    };
    return cmocka_run_group_tests_name("models_cluster", tests, NULL, NULL);
}
