/*
 * plugins.c -- the plugin registry: the plugin families (plugins_*.c) in
 * lookup order, and the upstream types that have no functions here: fed by
 * the simulation, meaningless in a one-cluster simulation, or missing.
 */
#include <stddef.h>
#include <string.h>

#include "plugins_internal.h"

static const esi_param_t k_any_params[] = {{"*", ESI_P_ANY, 0, NULL, 0, 0, NULL}, END};

/* dcgm-data-source: validated as upstream (scheme http|https, interval a Go
 * duration); the connection settings have no effect in a simulation */
typedef struct dcgm_source_params {
    char    scheme[ESI_STR_MAX], path[ESI_STR_MAX], interval[ESI_STR_MAX];
    int64_t port;
    bool    insecure_skip_verify, use_node_address;
} dcgm_source_params_t;
static const esi_param_t k_dcgm_source_params[] = {
    {"scheme", ESI_P_STR, P(dcgm_source_params_t, scheme), "http", 0, 0, NULL},
    {"path", ESI_P_STR, P(dcgm_source_params_t, path), "/metrics", 0, 0, NULL},
    {"port", ESI_P_INT, P(dcgm_source_params_t, port), "9400", -2147483648.0, 2147483647.0, NULL},
    {"insecureSkipVerify", ESI_P_BOOL, P(dcgm_source_params_t, insecure_skip_verify), "true", 0, 0, NULL},
    {"useNodeAddress", ESI_P_BOOL, P(dcgm_source_params_t, use_node_address), "false", 0, 0, NULL},
    {"interval", ESI_P_STR, P(dcgm_source_params_t, interval), "", 0, 0, NULL},
    END};

static int dcgm_source_check(void *params, const es_node_t *at, const char *path, const char **warning,
                             es_err_t *err)
{
    const dcgm_source_params_t *p = params;
    es_time_t d;
    if (strcmp(p->scheme, "http") && strcmp(p->scheme, "https"))
        return es_node_err(err, ES_EINVAL, at, path, "unsupported scheme: %s", p->scheme);
    if (p->interval[0] && esi_parse_duration(p->interval, &d))
        return es_node_err(err, ES_EINVAL, at, path, "invalid interval \"%s\"", p->interval);
    if (at && at->kind == ES_NODE_MAP && at->n)
        *warning = "accepted, no effect in eppsim: the GPU utilisation is read from the server model at each "
                   "metrics scrape (scheme, path, port, TLS, node address and interval name the exporter)";
    return 0;
}

#define FED(name_, roles_, params_, note_) \
    {VT(name_, roles_, params_, 0, 0), .klass = ESI_CLASS_FED, .note = note_}
#define NOOP(name_, alpha_, note_) \
    {VT(name_, ESI_INERT, k_any_params, 0, 0), .klass = ESI_CLASS_MEANINGLESS, .alpha = alpha_, .note = note_}
#define MISSING(name_, alpha_, note_) \
    {VT(name_, ESI_INERT, NULL, 0, 0), .klass = ESI_CLASS_MISSING, .alpha = alpha_, .note = note_}

static const esi_plugin_vt_t k_plugins[] = {
    /* data producers fed by the simulation */
    FED("token-producer", ESI_PRODUCER, k_any_params, "requests carry their tokens; no tokenizer is called"),
    {VT("tokenizer", ESI_PRODUCER, k_any_params, 0, 0), .klass = ESI_CLASS_FED, .replaced_by = "token-producer",
     .note = "requests carry their tokens; no tokenizer is called"},
    FED("session-id-producer", ESI_PRODUCER, k_any_params, "the request's session comes from the workload"),
    /* the data layer and request handling: fed by the simulation */
    FED("metrics-data-source", ESI_SOURCE, k_any_params, "metrics are scraped from the server model"),
    FED("core-metrics-extractor", ESI_EXTRACTOR, k_any_params, "metrics are scraped from the server model"),
    FED("mock-metrics-source", ESI_SOURCE, k_any_params, "metrics are the server model's"),
    FED("models-data-source", ESI_SOURCE, k_any_params, "the served model is the experiment's"),
    FED("models-data-extractor", ESI_EXTRACTOR, k_any_params, "the served model is the experiment's"),
    FED("k8s-notification-source", ESI_SOURCE, k_any_params, "pods come from the cluster model"),
    FED("endpoint-notification-source", ESI_SOURCE, k_any_params,
        "KV events are delivered by the cluster model (epp.kv_events_delay_ms)"),
    FED("file-discovery", ESI_DISCOVERY, k_any_params, "pods come from the experiment or manifest"),
    FED("openai-parser", ESI_PARSER, k_any_params, "requests arrive parsed"),
    FED("passthrough-parser", ESI_PARSER, k_any_params, "requests arrive parsed"),
    FED("vllmgrpc-parser", ESI_PARSER, k_any_params, "requests arrive parsed"),
    FED("vllmhttp-parser", ESI_PARSER, k_any_params, "requests arrive parsed"),
    FED("anthropic-parser", ESI_PARSER, k_any_params, "requests arrive parsed"),
    FED("vertexai-parser", ESI_PARSER, k_any_params, "requests arrive parsed"),
    /* DCGM (datalayer/source/dcgm/datasource.go, extractor/dcgm/extractor.go):
     * the GPU utilisation is the server model's busy fraction (docs/scheduler.md) */
    {VT("dcgm-data-source", ESI_SOURCE, k_dcgm_source_params, sizeof(dcgm_source_params_t), 0),
     .klass = ESI_CLASS_FED, .alpha = true, .x_check = dcgm_source_check,
     .note = "GPU utilisation is the server model's busy fraction over the trailing second, read at each "
             "metrics scrape"},
    {VT("dcgm-extractor", ESI_EXTRACTOR, NULL, 0, 0), .klass = ESI_CLASS_FED, .alpha = true,
     .produces = ESI_DATA_GPU_UTIL,
     .note = "produces " ESI_ATTR_GPU_UTIL_KEY " (DCGM_FI_DEV_GPU_UTIL / 100) from the server model"},
    /* eppsim's CrossReplicaSyncer (v0.10.0 defines the interface, registers
     * no implementation): an ideal shared store, docs/scheduler.md */
    {VT("eppsim-shared-syncer", ESI_SYNCER, NULL, 0, 0), .klass = ESI_CLASS_IMPLEMENTED},
    /* meaningless in a one-cluster simulation: accepted with a warning */
    NOOP("request-attribute-reporter", false, "it reports request attributes to Envoy metadata"),
    NOOP("agent-identity", true, "agent identity headers have no routing effect"),
    NOOP("destination-endpoint-served-verifier", false, "an upstream conformance-test plugin"),
    NOOP("disaggregatedset-rollout-screener", true, "Kubernetes DisaggregatedSet rollouts are not modelled"),
    NOOP("multicluster-session-affinity-filter", true, "one cluster is simulated"),
    NOOP("multicluster-queue-scorer", true, "one cluster is simulated"),
    NOOP("multicluster-kv-cache-utilization-scorer", true, "one cluster is simulated"),
    NOOP("multicluster-prefix-cache-scorer", true, "one cluster is simulated"),
    NOOP("multicluster-approx-prefix-cache-producer", true, "one cluster is simulated"),
    NOOP("multicluster-metrics-data-source", true, "one cluster is simulated"),
    NOOP("multicluster-metrics-extractor", true, "one cluster is simulated"),
    NOOP("multicluster-file-discovery", true, "one cluster is simulated"),
};
static ESI_PLUGIN_FAMILY(k_inert, k_plugins);

/* Lookup order: also the order es_epp_plugin_type lists the types in (the
 * closest-name hint of an unknown type takes the first of equals). */
static const esi_plugin_family_t *const k_families[] = {
    &esi_scorer_plugins, &esi_prefix_plugins, &esi_filter_plugins, &esi_admission_plugins,
    &esi_picker_plugins, &esi_latency_plugins, &esi_burst_plugins, &esi_placement_plugins,
    &esi_multimodal_plugins, &k_inert,
};
#define NFAMILIES (sizeof k_families / sizeof k_families[0])

const esi_plugin_vt_t *esi_registry_find(const char *type_name)
{
    for (size_t f = 0; f < NFAMILIES; f++)
        for (size_t i = 0; i < k_families[f]->n; i++)
            if (strcmp(k_families[f]->vts[i].type_name, type_name) == 0) return &k_families[f]->vts[i];
    return NULL;
}

const esi_plugin_vt_t *esi_registry_with_role(unsigned role)
{
    for (size_t f = 0; f < NFAMILIES; f++)
        for (size_t i = 0; i < k_families[f]->n; i++)
            if (k_families[f]->vts[i].roles & role) return &k_families[f]->vts[i];
    return NULL;
}

const esi_plugin_vt_t *esi_registry_default_producer(unsigned data_key)
{
    for (size_t f = 0; f < NFAMILIES; f++)
        for (size_t i = 0; i < k_families[f]->n; i++) {
            const esi_plugin_vt_t *vt = &k_families[f]->vts[i];
            if ((vt->caps & ESI_CAP_DEFAULT_PRODUCER) && (vt->produces & data_key)) return vt;
        }
    return NULL;
}

const char *es_epp_plugin_type(size_t i)
{
    for (size_t f = 0; f < NFAMILIES; f++) {
        if (i < k_families[f]->n) return k_families[f]->vts[i].type_name;
        i -= k_families[f]->n;
    }
    return NULL;
}
