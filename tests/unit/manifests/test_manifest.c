/* Kubernetes manifests onto an experiment: the Istio guide's mapping,
 * precedence warnings, ignored kinds, multi-file input, and errors that
 * name file, line, object and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "es_experiment.h"
#include "es_manifest.h"

#define GUIDE ES_SOURCE_DIR "/examples/manifests/istio-inference-guide.yaml"
#define DATA ES_SOURCE_DIR "/tests/data/manifests/"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* text with the first `old` replaced by `new_` (old must occur). */
static char *replace(const char *text, const char *old, const char *new_)
{
    const char *at = strstr(text, old);
    if (!at) fail_msg("test input lacks \"%s\"", old);
    size_t head = (size_t)(at - text), ol = strlen(old), nl = strlen(new_);
    char *s = malloc(strlen(text) - ol + nl + 1);
    assert_non_null(s);
    memcpy(s, text, head);
    memcpy(s + head, new_, nl);
    strcpy(s + head + nl, at + ol);
    return s;
}

static unsigned line_of(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    if (!at) fail_msg("no \"%s\"", needle);
    unsigned line = 1;
    for (const char *p = text; p < at; p++) line += *p == '\n';
    return line;
}

static void write_tmp(const char *text, char *path, size_t size)
{
    snprintf(path, size, "/tmp/eppsim-manifest-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static es_doc_t *exp_doc(const char *text)
{
    if (!text) return es_doc_create("<no experiment>");
    es_doc_t *doc;
    es_err_t err;
    if (es_doc_load_string("exp.yaml", text, strlen(text), &doc, &err)) fail_msg("%s", err.msg);
    return doc;
}

/* Applies manifest texts (written to temporary files) onto an experiment. */
static int apply_texts(const char *const *texts, size_t n, es_doc_t *doc, es_manifest_t *m, es_err_t *err,
                       char paths[][64])
{
    const char *p[8];
    for (size_t i = 0; i < n; i++) {
        write_tmp(texts[i], paths[i], 64);
        p[i] = paths[i];
    }
    es_manifest_init(m);
    int rc = es_manifest_apply(m, p, n, doc, err);
    for (size_t i = 0; i < n; i++) unlink(paths[i]);
    return rc;
}

static bool has_warning(const es_manifest_t *m, const char *part)
{
    for (size_t i = 0; i < m->nwarnings; i++)
        if (strstr(m->warnings[i], part)) return true;
    return false;
}

static void dump_warnings(const es_manifest_t *m)
{
    for (size_t i = 0; i < m->nwarnings; i++) fprintf(stderr, "# warning: %s\n", m->warnings[i]);
}

/* Mutates the guide, applies it, and expects an error containing each of
 * the NULL-terminated parts; "@LINE" in a part becomes ":<line of at>:". */
static void expect_guide_error(const char *old, const char *new_, const char *at, const char *const *parts)
{
    char *guide = slurp(GUIDE);
    char *text = replace(guide, old, new_);
    char paths[1][64];
    es_manifest_t m;
    es_err_t err;
    es_doc_t *doc = exp_doc(NULL);
    int rc = apply_texts((const char *[]){text}, 1, doc, &m, &err, paths);
    if (rc == 0) fail_msg("expected an error after replacing \"%s\"", old);
    assert_int_equal(err.code, rc);
    for (const char *const *p = parts; *p; p++) {
        char want[256];
        if (!strcmp(*p, "@LINE")) snprintf(want, sizeof want, "%s:%u: ", paths[0], line_of(text, at));
        else snprintf(want, sizeof want, "%s", *p);
        if (!strstr(err.msg, want)) fail_msg("got \"%s\", want it to contain \"%s\"", err.msg, want);
    }
    es_manifest_fini(&m);
    es_doc_destroy(doc);
    free(text);
    free(guide);
}

/* A route under /v1 takes the OpenAI path as is: /v1/completions, never
 * /v1/v1/completions. */
static void test_route_prefix_v1(void **state)
{
    (void)state;
    static const char *const prefixes[][2] = {{"/v1", "/v1/completions"}, {"/v1/", "/v1/completions"},
                                              {"/", "/v1/completions"}, {"/llama", "/llama/v1/completions"}};
    char *guide = slurp(GUIDE);
    for (size_t i = 0; i < 4; i++) {
        char value[64];
        snprintf(value, sizeof value, "value: %s\n", prefixes[i][0]);
        char *text = replace(guide, "value: /get\n", value);
        char paths[1][64];
        es_manifest_t m;
        es_err_t err;
        es_doc_t *doc = exp_doc(NULL);
        if (apply_texts((const char *[]){text}, 1, doc, &m, &err, paths)) fail_msg("%s", err.msg);
        es_experiment_t exp;
        if (es_experiment_from_doc(doc, ".", &exp, &err)) fail_msg("%s", err.msg);
        if (strcmp(exp.workload.path, prefixes[i][1]))
            fail_msg("PathPrefix %s: client path %s, want %s", prefixes[i][0], exp.workload.path, prefixes[i][1]);
        es_experiment_fini(&exp);
        es_manifest_fini(&m);
        free(text);
    }
    free(guide);
}

/* ---- the Istio guide ---- */

static void test_guide_maps_onto_defaults(void **state)
{
    (void)state;
    es_manifest_t m;
    es_err_t err;
    es_manifest_init(&m);
    es_doc_t *doc = exp_doc(NULL);
    const char *paths[] = {GUIDE};
    if (es_manifest_apply(&m, paths, 1, doc, &err)) fail_msg("%s", err.msg);
    dump_warnings(&m);
    assert_string_equal(m.pool_name, "inference-model-server-pool");

    es_experiment_t exp;
    if (es_experiment_from_doc(doc, ".", &exp, &err)) fail_msg("%s", err.msg);
    assert_int_equal(exp.cluster.replicas, 3);
    assert_true(exp.cluster.readiness_delay_s == 3.0);
    assert_int_equal(exp.cluster.prefill_replicas, 0);
    assert_int_equal(exp.gateway.failure_mode, ES_FAIL_CLOSE);
    assert_int_equal(exp.epp.replicas, 1);
    assert_string_equal(exp.epp.config_file, "");

    /* epp.config is the ConfigMap's EndpointPickerConfig, lines in the manifest */
    char *guide = slurp(GUIDE);
    const es_node_t *cfg = exp.epp.config;
    assert_non_null(cfg);
    assert_string_equal(es_map_get(cfg, "kind")->str, "EndpointPickerConfig");
    const es_node_t *plugins = es_map_get(cfg, "plugins");
    assert_int_equal(plugins->n, 3);
    assert_string_equal(es_map_get(plugins->items[2], "type")->str, "prefix-cache-scorer");
    assert_int_equal(plugins->line, line_of(guide, "    - type: queue-scorer"));
    assert_string_equal(plugins->doc->file, GUIDE);
    const es_node_t *prof = es_node_find(es_map_get(cfg, "schedulingProfiles")->items[0], "plugins");
    assert_string_equal(es_map_get(prof->items[0], "pluginRef")->str, "queue-scorer");
    assert_string_equal(es_map_get(prof->items[0], "weight")->str, "2");
    assert_string_equal(es_map_get(prof->items[2], "weight")->str, "3");

    /* the route: PathPrefix /get, and the default workload sends under it */
    const es_node_t *routes = exp.gateway.routes;
    assert_non_null(routes);
    assert_int_equal(routes->n, 1);
    const es_node_t *path = es_node_find(es_map_get(routes->items[0], "matches")->items[0], "path");
    assert_string_equal(es_map_get(path, "type")->str, "PathPrefix");
    assert_string_equal(es_map_get(path, "value")->str, "/get");
    assert_string_equal(exp.workload.path, "/get/v1/completions");
    assert_string_equal(exp.name, "inference-model-server-pool");   /* not "default" */

    /* the echo server is not vLLM: server settings stay the experiment's */
    assert_string_equal(exp.server.model, "llama-3.1-8b");
    assert_true(has_warning(&m, "Deployment/inference-model-server-deployment: no container runs vLLM"));
    /* one warning names every ignored kind once, in order of appearance */
    assert_true(has_warning(&m, "manifest kinds not simulated (ignored): Namespace, DestinationRule, Role, RoleBinding"));
    assert_false(has_warning(&m, "override"));
    /* --v and --zap-encoder are known EPP flags: no warning */
    assert_false(has_warning(&m, "endpoint picker flags"));

    es_experiment_fini(&exp);
    es_manifest_fini(&m);
    free(guide);
}

static void test_precedence_warning_names_overridden_keys(void **state)
{
    (void)state;
    const char *exp_text =
        "name: mine\n"
        "cluster: {replicas: 8, readiness_delay_s: 1}\n"
        "gateway: {failure_mode: FailOpen}\n"
        "epp: {config_file: my-epp.yaml, refresh_interval_ms: 10}\n"
        "workload: {path: /v1/completions, num_requests: 50}\n";
    es_manifest_t m;
    es_err_t err;
    es_manifest_init(&m);
    es_doc_t *doc = exp_doc(exp_text);
    const char *paths[] = {GUIDE};
    if (es_manifest_apply(&m, paths, 1, doc, &err)) fail_msg("%s", err.msg);
    dump_warnings(&m);
    assert_true(has_warning(&m, "the manifests override experiment keys: "));
    assert_true(has_warning(&m, "cluster.replicas (exp.yaml:2)"));
    assert_true(has_warning(&m, "cluster.readiness_delay_s (exp.yaml:2)"));
    assert_true(has_warning(&m, "gateway.failure_mode (exp.yaml:3)"));
    assert_true(has_warning(&m, "epp.config_file (exp.yaml:4)"));
    assert_false(has_warning(&m, "epp.refresh_interval_ms"));  /* the guide's EPP does not set it */
    /* the experiment's own path is kept, but it misses the route */
    assert_true(has_warning(&m, "exp.yaml:5: workload.path \"/v1/completions\" matches no HTTPRoute rule"));

    es_experiment_t exp;
    if (es_experiment_from_doc(doc, ".", &exp, &err)) fail_msg("%s", err.msg);
    assert_int_equal(exp.cluster.replicas, 3);
    assert_true(exp.cluster.readiness_delay_s == 3.0);
    assert_int_equal(exp.gateway.failure_mode, ES_FAIL_CLOSE);
    assert_string_equal(exp.epp.config_file, "");
    assert_non_null(exp.epp.config);
    assert_true(exp.epp.refresh_interval_ms == 10.0);   /* what the manifests do not say stays */
    assert_int_equal(exp.workload.num_requests, 50);
    assert_string_equal(exp.workload.path, "/v1/completions");
    assert_string_equal(exp.name, "mine");
    es_experiment_fini(&exp);
    es_manifest_fini(&m);
}

static void test_manifest_values_fail_validation_at_manifest_line(void **state)
{
    (void)state;
    /* a value the experiment schema rejects names the manifest's line */
    char *guide = slurp(GUIDE);
    char *text = replace(guide, "  replicas: 1\n", "  replicas: 100\n");  /* the EPP's; at most 64 */
    char paths[1][64];
    es_manifest_t m;
    es_err_t err;
    es_doc_t *doc = exp_doc(NULL);
    if (apply_texts((const char *[]){text}, 1, doc, &m, &err, paths)) fail_msg("%s", err.msg);
    es_experiment_t exp;
    assert_int_not_equal(es_experiment_from_doc(doc, ".", &exp, &err), 0);
    char want[128];
    snprintf(want, sizeof want, "%s:%u: epp.replicas", paths[0], line_of(text, "  replicas: 100"));
    if (!strstr(err.msg, want)) fail_msg("got \"%s\", want \"%s\"", err.msg, want);
    es_manifest_fini(&m);
    free(text);
    free(guide);
}

/* ---- errors ---- */

static void test_unknown_field_in_used_kind(void **state)
{
    (void)state;
    expect_guide_error("initialDelaySeconds: 3", "initialDelaySecond: 3", "initialDelaySecond: 3",
                       (const char *[]){"@LINE",
                                        "Deployment/inference-model-server-deployment: "
                                        "spec.template.spec.containers[0].readinessProbe.initialDelaySecond: unknown field",
                                        NULL});
    expect_guide_error("  endpointPickerRef:", "  endpointPickerRf:", "endpointPickerRf:",
                       (const char *[]){"@LINE", "InferencePool/inference-model-server-pool: spec.endpointPickerRf: unknown field",
                                        NULL});
    expect_guide_error("    - path:\n        type: PathPrefix", "    - paht:\n        type: PathPrefix", "- paht:",
                       (const char *[]){"@LINE", "HTTPRoute/httproute-for-inferencepool: spec.rules[0].matches[0].paht: unknown field",
                                        NULL});
    expect_guide_error("  gatewayClassName: istio", "  gatewayClass: istio", "gatewayClass:",
                       (const char *[]){"@LINE", "Gateway/gateway: spec.gatewayClass: unknown field", NULL});
    /* fields eppsim does not read but Kubernetes has are accepted (env, ports, image above);
     * a misspelt top-level field of a used kind is not */
    expect_guide_error("kind: Service\nmetadata:", "kind: Service\nmetdata: {}\nmetadata:", "metdata:",
                       (const char *[]){"@LINE", "Service/endpoint-picker-svc: metdata: unknown field", NULL});
}

static void test_missing_service(void **state)
{
    (void)state;
    expect_guide_error("  name: endpoint-picker-svc\n  namespace", "  name: other-svc\n  namespace",
                       "name: endpoint-picker-svc",
                       (const char *[]){"@LINE", "InferencePool/inference-model-server-pool: endpoint picker Service "
                                                 "\"endpoint-picker-svc\" not found in namespace inference-model-server",
                                        NULL});
}

static void test_missing_configmap(void **state)
{
    (void)state;
    expect_guide_error("  name: plugins-config\n  namespace", "  name: plugins-config-v2\n  namespace",
                       "          name: plugins-config",
                       (const char *[]){"@LINE", "Deployment/inference-endpoint-picker", "ConfigMap \"plugins-config\" not found",
                                        NULL});
    expect_guide_error("/config/default-plugins.yaml", "/config/other.yaml", "default-plugins.yaml: |",
                       (const char *[]){"@LINE", "ConfigMap/plugins-config: data: no key \"other.yaml\"", NULL});
    expect_guide_error("/config/default-plugins.yaml", "/etc/default-plugins.yaml", "/etc/default-plugins.yaml",
                       (const char *[]){"@LINE", "--config-file /etc/default-plugins.yaml: no volumeMount", NULL});
}

static void test_pool_name_mismatch(void **state)
{
    (void)state;
    expect_guide_error("- \"inference-model-server-pool\"", "- \"other-pool\"", "\"other-pool\"",
                       (const char *[]){"@LINE", "Deployment/inference-endpoint-picker",
                                        "--pool-name \"other-pool\" does not name the InferencePool \"inference-model-server-pool\"",
                                        NULL});
}

static void test_other_errors(void **state)
{
    (void)state;
    /* no pool at all */
    expect_guide_error("\nkind: InferencePool", "\nkind: SomethingElse", "kind: SomethingElse",
                       (const char *[]){"no InferencePool in the manifests", NULL});
    /* failureMode outside its enum */
    expect_guide_error("    name: endpoint-picker-svc\n", "    name: endpoint-picker-svc\n    failureMode: FailSometimes\n",
                       "failureMode: FailSometimes",
                       (const char *[]){"@LINE", "spec.endpointPickerRef.failureMode", "FailSometimes", NULL});
    /* the pool selects nothing */
    expect_guide_error("      app: inference-model-server\n  targetPorts", "      app: nothing\n  targetPorts", "app: nothing",
                       (const char *[]){"@LINE", "no Deployment in namespace inference-model-server has pods labelled app=nothing",
                                        NULL});
    /* regular-expression paths cannot be simulated */
    expect_guide_error("type: PathPrefix", "type: RegularExpression", "type: RegularExpression",
                       (const char *[]){"@LINE", "RegularExpression paths are not supported", NULL});
    /* a route to a pool the manifests do not define */
    expect_guide_error("      name: inference-model-server-pool\n", "      name: missing-pool\n", "name: missing-pool",
                       (const char *[]){"InferencePool \"missing-pool\" not found", NULL});
    /* wrong type where a count is expected */
    expect_guide_error("  replicas: 3\n", "  replicas: three\n", "replicas: three",
                       (const char *[]){"@LINE", "Deployment/inference-model-server-deployment: spec.replicas", NULL});
    /* an unsupported apiVersion of a used kind */
    expect_guide_error("apiVersion: inference.networking.k8s.io/v1\nkind: InferencePool",
                       "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: InferencePool",
                       "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: InferencePool",
                       (const char *[]){"@LINE", "unsupported apiVersion", NULL});
    /* the same object twice */
    expect_guide_error("---\napiVersion: v1\nkind: ConfigMap",
                       "---\napiVersion: v1\nkind: Service\nmetadata: {name: endpoint-picker-svc, namespace: inference-model-server}\n"
                       "spec: {selector: {app: x}}\n---\napiVersion: v1\nkind: ConfigMap",
                       "apiVersion: v1\nkind: Service\nmetadata: {name: endpoint-picker-svc",
                       (const char *[]){"@LINE", "defined twice", NULL});
}

static void test_epp_config_syntax_error_names_manifest_line(void **state)
{
    (void)state;
    es_manifest_t m;
    es_err_t err;
    es_manifest_init(&m);
    es_doc_t *doc = exp_doc(NULL);
    const char *paths[] = {DATA "bad-epp-config.yaml"};
    assert_int_equal(es_manifest_apply(&m, paths, 1, doc, &err), ES_EPARSE);
    char *text = slurp(paths[0]);
    unsigned bad = line_of(text, "- type: [queue-scorer");
    char want[300];
    /* libyaml reports an unclosed flow sequence where it gives up: the bad line or the next one */
    snprintf(want, sizeof want, "%s:%u: ConfigMap/epp-config: data.config.yaml: EndpointPickerConfig:", paths[0], bad);
    char want2[300];
    snprintf(want2, sizeof want2, "%s:%u: ConfigMap/epp-config: data.config.yaml: EndpointPickerConfig:", paths[0], bad + 1);
    if (!strstr(err.msg, want) && !strstr(err.msg, want2)) fail_msg("got \"%s\", want \"%s\"", err.msg, want);
    free(text);
    es_manifest_fini(&m);
    es_doc_destroy(doc);
}

/* ---- vLLM, P/D, objectives, routes with headers, --config-text, two files ---- */

static void test_multi_file_vllm_pool(void **state)
{
    (void)state;
    es_manifest_t m;
    es_err_t err;
    es_manifest_init(&m);
    es_doc_t *doc = exp_doc("server: {max_num_seqs: 256}\n");
    const char *paths[] = {DATA "vllm-pool.yaml", DATA "vllm-epp.yaml"};
    if (es_manifest_apply(&m, paths, 2, doc, &err)) fail_msg("%s", err.msg);
    dump_warnings(&m);
    assert_true(has_warning(&m, "manifest kinds not simulated (ignored): Role"));
    assert_true(has_warning(&m, "server.max_num_seqs (exp.yaml:1)"));
    assert_true(has_warning(&m, "Deployment/llama-prefill: --max-num-seqs 64 differs from Deployment/llama-decode (128)"));
    assert_true(has_warning(&m, "Deployment/llama-decode: vLLM flags not simulated (ignored): --kv-cache-dtype"));
    assert_false(has_warning(&m, "--port"));
    assert_false(has_warning(&m, "endpoint picker flags"));

    es_experiment_t exp;
    if (es_experiment_from_doc(doc, ".", &exp, &err)) fail_msg("%s", err.msg);
    assert_int_equal(exp.cluster.replicas, 4);
    assert_int_equal(exp.cluster.prefill_replicas, 1);
    assert_true(exp.cluster.readiness_delay_s == 60.0);
    assert_int_equal(exp.server.max_num_seqs, 128);
    assert_int_equal(exp.server.block_size, 32);
    assert_int_equal(exp.server.max_model_len, 32000);
    assert_false(exp.server.enable_prefix_caching);
    assert_true(exp.server.gpu_memory_utilization == 0.85);
    assert_string_equal(exp.server.model, "llama-3.1-8b");
    assert_string_equal(exp.workload.model, "llama");           /* --served-model-name */
    assert_int_equal(exp.gateway.failure_mode, ES_FAIL_OPEN);
    assert_int_equal(exp.epp.replicas, 2);
    assert_true(exp.epp.refresh_interval_ms == 100.0);
    const es_node_t *sp = es_map_get(exp.epp.config, "schedulingProfiles");
    assert_non_null(sp);
    assert_string_equal(es_map_get(es_map_get(sp->items[0], "plugins")->items[0], "weight")->str, "5");

    const es_node_t *obj = exp.epp.objectives;
    assert_non_null(obj);
    assert_int_equal(obj->n, 2);
    assert_string_equal(es_map_get(obj->items[0], "name")->str, "critical");
    assert_string_equal(es_map_get(obj->items[0], "priority")->str, "10");
    assert_string_equal(es_map_get(obj->items[1], "priority")->str, "-1");

    /* only the rule that reaches the pool; header matches kept */
    const es_node_t *routes = exp.gateway.routes;
    assert_int_equal(routes->n, 1);
    const es_node_t *ms = es_map_get(routes->items[0], "matches");
    assert_int_equal(ms->n, 2);
    const es_node_t *h = es_map_get(ms->items[0], "headers");
    assert_string_equal(es_map_get(h->items[0], "name")->str, "x-tenant");
    assert_string_equal(es_map_get(h->items[0], "value")->str, "blue");
    /* the default workload takes the match that needs no header */
    assert_string_equal(exp.workload.path, "/v1/chat/completions");
    es_experiment_fini(&exp);
    es_manifest_fini(&m);
}

static void test_model_mapping_and_lora(void **state)
{
    (void)state;
    char *base = slurp(DATA "vllm-pool.yaml");
    char *a = replace(base, "[\"vllm\", \"serve\", \"meta-llama/Llama-3.1-8B-Instruct\"]",
                      "[\"python3\", \"-m\", \"vllm.entrypoints.openai.api_server\", \"--model\", \"Qwen/Qwen3-32B\", "
                      "\"--enable-lora\", \"--max-loras\", \"4\", \"-tp\", \"2\"]");
    char *b = replace(a, "exec vllm serve meta-llama/Llama-3.1-8B-Instruct", "exec vllm serve Qwen/Qwen3-32B");
    char *epp = slurp(DATA "vllm-epp.yaml");
    char paths[2][64];
    es_manifest_t m;
    es_err_t err;
    es_doc_t *doc = exp_doc("workload: {model: some-other-model}\n");
    if (apply_texts((const char *[]){b, epp}, 2, doc, &m, &err, paths)) fail_msg("%s", err.msg);
    dump_warnings(&m);
    assert_true(has_warning(&m, "workload.model \"some-other-model\" is not the model the pool serves (\"llama\")"));
    es_experiment_t exp;
    if (es_experiment_from_doc(doc, ".", &exp, &err)) fail_msg("%s", err.msg);
    assert_string_equal(exp.server.model, "qwen3-32b");
    assert_int_equal(exp.server.max_loras, 4);
    assert_int_equal(exp.server.tensor_parallel, 2);
    assert_string_equal(exp.workload.model, "some-other-model");  /* the experiment's workload is its own */
    es_experiment_fini(&exp);
    es_manifest_fini(&m);

    /* a model without a profile table is warned about and left alone */
    char *c = replace(b, "\"Qwen/Qwen3-32B\"", "\"mistralai/Mistral-7B-v0.3\"");
    doc = exp_doc(NULL);
    if (apply_texts((const char *[]){c, epp}, 2, doc, &m, &err, paths)) fail_msg("%s", err.msg);
    assert_true(has_warning(&m, "vLLM model \"mistralai/Mistral-7B-v0.3\" has no step-time table"));
    assert_null(es_node_find(doc->root, "server.model"));
    es_doc_destroy(doc);
    es_manifest_fini(&m);

    /* a bad vLLM flag value names its line */
    char *d = replace(base, "- \"128\"", "- \"many\"");
    doc = exp_doc(NULL);
    assert_int_not_equal(apply_texts((const char *[]){d, epp}, 2, doc, &m, &err, paths), 0);
    char want[200];
    snprintf(want, sizeof want, "%s:%u: Deployment/llama-decode: spec.template.spec.containers[0].args: --max-num-seqs: expected an integer",
             paths[0], line_of(d, "\"many\""));
    if (!strstr(err.msg, want)) fail_msg("got \"%s\", want \"%s\"", err.msg, want);
    es_doc_destroy(doc);
    es_manifest_fini(&m);
    free(a); free(b); free(c); free(d); free(base); free(epp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_prefix_v1),
        cmocka_unit_test(test_guide_maps_onto_defaults),
        cmocka_unit_test(test_precedence_warning_names_overridden_keys),
        cmocka_unit_test(test_manifest_values_fail_validation_at_manifest_line),
        cmocka_unit_test(test_unknown_field_in_used_kind),
        cmocka_unit_test(test_missing_service),
        cmocka_unit_test(test_missing_configmap),
        cmocka_unit_test(test_pool_name_mismatch),
        cmocka_unit_test(test_other_errors),
        cmocka_unit_test(test_epp_config_syntax_error_names_manifest_line),
        cmocka_unit_test(test_multi_file_vllm_pool),
        cmocka_unit_test(test_model_mapping_and_lora),
    };
    return cmocka_run_group_tests_name("app_manifest", tests, NULL, NULL);
}
