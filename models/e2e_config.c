/*
 * e2e_config.c -- schemas (and so the defaults) of the cluster, epp and
 * gateway sections, and the parsers of their list-valued keys.
 */
#include "es_e2e_config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_str.h"
#include "es_time.h"

static const char *const k_failure_modes[] = {"FailClose", "FailOpen", NULL};
static const char *const k_timeout_clocks[] = {"auto", "exact", "aiohttp", NULL};
static const char *const k_objectives[] = {"mean", "quantile", NULL};

#define C(x) offsetof(es_cluster_config_t, x)
static const es_schema_entry_t k_cluster[] = {
    {"replicas", ES_ST_INT, C(replicas), "3", 1, ES_CLUSTER_MAX_PODS, NULL, "pods", "model-server pods in the pool", NULL},
    {"readiness_delay_s", ES_ST_DOUBLE, C(readiness_delay_s), "0", 0, 1e6, NULL, "s",
     "time from pod start to ready (readinessProbe initialDelaySeconds)", NULL},
    {"faults", ES_ST_NODE, C(faults), NULL, 0, 0, NULL, "",
     "fault schedule: list of {at_s, kind: pod_crash|pod_restart|scrape_failure, pod, duration_s (scrape_failure; 0 = to the end)}", NULL},
    {"scaling", ES_ST_NODE, C(scaling), NULL, 0, 0, NULL, "", "list of {at_s, replicas}", NULL},
    {"prefill_replicas", ES_ST_INT, C(prefill_replicas), "0", 0, ES_CLUSTER_MAX_PODS, NULL, "pods",
     "pods labelled llm-d.ai/role=prefill (the rest decode); 0 = no disaggregation", NULL},
    {"kv_transfer_gbps", ES_ST_DOUBLE, C(kv_transfer_gbps), "100", 0.001, 1e6, NULL, "Gbit/s",
     "each pod's KV-transfer link, each way, shared max-min fairly by the transfers in flight: P/D prefill-to-decode, "
     "P2P pulls (p2p-source-producer), encoder outputs (docs/e2e.md, \"The KV-transfer link\")", NULL},
    {"kv_transfer_latency_us", ES_ST_DOUBLE, C(kv_transfer_latency_us), "50", 0, 1e9, NULL, "us",
     "fixed latency of one KV transfer (P/D, P2P pull, encoder output)", NULL},
    {"kv_events_delay_ms", ES_ST_DOUBLE, C(kv_events_delay_ms), "10", 0, 1e9, NULL, "ms",
     "delay before the EPP sees a server's KV events", NULL},
    {"retries_on_crash", ES_ST_INT, C(retries_on_crash), "0", 0, 100, NULL, "",
     "times a request on a crashed pod is re-sent; 0 fails it with 503", NULL},
    {"pod_labels", ES_ST_NODE, C(pod_labels), NULL, 0, 0, NULL, "",
     "labels of the pods: a list of maps {key: value} (at most 16 each), pod i gets item i mod its length "
     "(topology: kubernetes.io/hostname, topology.kubernetes.io/zone, ...; llm-d.ai/role unless prefill_replicas "
     "sets it); read by label selectors and the topology plugins", NULL},
    {"pod_hostnames", ES_ST_NODE, C(pod_hostnames), NULL, 0, 0, NULL, "",
     "the pods' spec.hostname: a list of DNS labels (\"\" = none), pod i gets item i mod its length; the topology "
     "extractor falls back to it where the hostname label is absent (set from the manifests' pod templates)", NULL},
    {"encode_replicas", ES_ST_INT, C(encode_replicas), "0", 0, ES_CLUSTER_MAX_PODS, NULL, "pods",
     "E/P/D: pods labelled llm-d.ai/role=encode, the first ones (then prefill_replicas, then decode); they encode "
     "the images of the requests the encode profile sends them; 0 = none", NULL},
    {"encode_us_per_token", ES_ST_DOUBLE, C(encode_us_per_token), "10", 0, 1e6, NULL, "us",
     "encoder time per image token, on an encode pod or on the pod that encodes its own images "
     "(unvalidated: docs/fidelity.md)", NULL},
    {"encode_bytes_per_token", ES_ST_INT, C(encode_bytes_per_token), "8192", 0, 1000000000, NULL, "bytes",
     "encoder output per image token moved from the encode pod to the prefill (or decode) pod over the "
     "kv_transfer link (8192: a 4096-wide bf16 embedding)", NULL},
    {"encoder_cache_images", ES_ST_INT, C(encoder_cache_images), "2048", 0, 100000, NULL, "images",
     "images whose encoder output a pod keeps (LRU; a hit skips the encoding; 2048 = the 4 GiB at 2 MiB an item "
     "that mm-embeddings-cache-producer assumes); 0 = none", NULL},
};
#undef C
ES_SCHEMA_DEFINE(es_cluster_schema, "cluster", k_cluster);

#define E(x) offsetof(es_epp_service_config_t, x)
static const es_schema_entry_t k_epp[] = {
    {"config_file", ES_ST_STRING, E(config_file), "", 0, 0, NULL, "",
     "EndpointPickerConfig file (YAML or JSON); empty = the upstream default", NULL},
    {"config", ES_ST_NODE, E(config), NULL, 0, 0, NULL, "",
     "EndpointPickerConfig written inline (instead of config_file)", NULL},
    {"replicas", ES_ST_INT, E(replicas), "1", 1, 64, NULL, "", "EPP replicas", NULL},
    {"refresh_interval_ms", ES_ST_DOUBLE, E(refresh_interval_ms), "50", 0.1, 1e7, NULL, "ms",
     "metrics scrape period per pod (--refresh-metrics-interval)", NULL},
    {"scrape_latency_ms", ES_ST_DOUBLE, E(scrape_latency_ms), "1", 0, 1e6, NULL, "ms",
     "time from scrape start to values in the EPP", NULL},
    {"scrape_failure_rate", ES_ST_DOUBLE, E(scrape_failure_rate), "0", 0, 1, NULL, "",
     "probability that a scrape fails (the last values are kept)", NULL},
    {"scheduling_latency_us", ES_ST_DOUBLE, E(scheduling_latency_us), "200", 0, 1e9, NULL, "us",
     "time one scheduling decision takes", NULL},
    {"workers", ES_ST_INT, E(workers), "0", 0, 100000, NULL, "",
     "decisions one replica runs at once; 0 = unlimited", NULL},
    {"outages", ES_ST_NODE, E(outages), NULL, 0, 0, NULL, "", "EPP down windows: list of {start_s, end_s}", NULL},
    {"objectives", ES_ST_NODE, E(objectives), NULL, 0, 0, NULL, "",
     "InferenceObjectives: list of {name, priority}; requests name one in workload objectives", NULL},
    {"scrape_timeout_ms", ES_ST_DOUBLE, E(scrape_timeout_ms), "1000", 0.1, 1e9, NULL, "ms",
     "a scrape slower than this fails and the last values are kept", NULL},
    /* the llm-d-latency-predictor sidecar's settings, defaults of llm-d-router v0.10.0's chart
     * (config/charts/routerlib/values.yaml latencyPredictor) */
    {"predictor_retraining_interval_s", ES_ST_DOUBLE, E(predictor_retraining_interval_s), "10", 0.001, 1e9, NULL, "s",
     "latency predictor (predicted-latency-producer): retraining period, LATENCY_RETRAINING_INTERVAL_SEC (the chart's; the sidecar's own default is 1800)", NULL},
    {"predictor_model_sync_interval_s", ES_ST_DOUBLE, E(predictor_model_sync_interval_s), "30", 0.001, 1e9, NULL, "s",
     "latency predictor: how often the prediction server picks up the trained model, MODEL_SYNC_INTERVAL_SEC", NULL},
    {"predictor_min_samples_for_retrain", ES_ST_INT, E(predictor_min_samples_for_retrain), "100", 1, 1e12, NULL, "",
     "latency predictor: samples a retraining needs, LATENCY_MIN_SAMPLES_FOR_RETRAIN (10 after a cold start, as the sidecar)", NULL},
    {"predictor_max_samples_per_bucket", ES_ST_INT, E(predictor_max_samples_per_bucket), "500", 1, 100000, NULL, "",
     "latency predictor: samples kept per (queue, KV, prefix) bucket, LATENCY_MAX_TRAINING_DATA_SIZE_PER_BUCKET", NULL},
    {"predictor_objective", ES_ST_ENUM, E(predictor_objective), "mean", 0, 0, k_objectives, "",
     "latency predictor: LATENCY_OBJECTIVE_TYPE, mean (the chart's) or quantile (mean + z(q) predictive std)", NULL},
    {"predictor_quantile", ES_ST_DOUBLE, E(predictor_quantile), "0.9", 0.5, 0.999, NULL, "",
     "latency predictor: LATENCY_QUANTILE_ALPHA, for the quantile objective", NULL},
    {"sync_delay_ms", ES_ST_DOUBLE, E(sync_delay_ms), "0", 0, 1e7, NULL, "ms",
     "cross-replica sync (eppsim-shared-syncer): time from a replica's publish (Set) to the value in the store every "
     "replica reads; 0 = an ideal store (docs/scheduler.md, \"Cross-replica sync of in-flight state\")", NULL},
};
#undef E
ES_SCHEMA_DEFINE(es_epp_service_schema, "epp", k_epp);

#define G(x) offsetof(es_gateway_config_t, x)
static const es_schema_entry_t k_gateway[] = {
    {"hop_latency_us", ES_ST_DOUBLE, G(hop_latency_us), "100", 0, 1e9, NULL, "us",
     "one network hop (client-gateway, gateway-EPP, gateway-pod)", NULL},
    {"ext_proc_timeout_ms", ES_ST_DOUBLE, G(ext_proc_timeout_ms), "200", 0.001, 1e9, NULL, "ms",
     "Envoy ext_proc message timeout", NULL},
    {"failure_mode", ES_ST_ENUM, G(failure_mode), "FailClose", 0, 0, k_failure_modes, "",
     "InferencePool failureMode when the EPP is down or times out", NULL},
    {"client_timeout_s", ES_ST_DOUBLE, G(client_timeout_s), "0", 0, 1e9, NULL, "s",
     "client gives up after this long (counted as 408); 0 = never", NULL},
    {"client_timeout_clock", ES_ST_ENUM, G(client_timeout_clock), "auto", 0, 0, k_timeout_clocks, "",
     "when the timeout fires: exact, or aiohttp (5 s or more: rounded up to the next whole second of the "
     "client's clock, as aiohttp's TimeoutHandle does); auto = aiohttp for inference-perf and vllm-bench "
     "replays, exact otherwise", NULL},
    {"client_cancel_fraction", ES_ST_DOUBLE, G(client_cancel_fraction), "0", 0, 1, NULL, "",
     "share of requests the client cancels before they end (status 499)", NULL},
    {"client_cancel_after_s", ES_ST_DOUBLE, G(client_cancel_after_s), "2", 0.000001, 1e9, NULL, "s",
     "mean time from send to a cancellation (exponential)", NULL},
    {"routes", ES_ST_NODE, G(routes), NULL, 0, 0, NULL, "",
     "HTTPRoute rules: list of {matches: [{path: {type: PathPrefix|Exact, value}, headers: [{name, value}]}]}; absent = every path goes to the pool", NULL},
};
#undef G
ES_SCHEMA_DEFINE(es_gateway_schema, "gateway", k_gateway);

/* ---------------------------------------------------------------- */
/* list-valued keys                                                  */

static const char *const k_fault_kinds[] = {"pod_crash", "pod_restart", "scrape_failure", NULL};

/* map[key] as a double in [min, max]; absent: error when required, else *out unchanged. */
static int node_double(const es_node_t *map, const char *key, const char *path, double min, double max,
                       double *out, bool required, es_err_t *err)
{
    const es_node_t *n = es_map_get(map, key);
    char full[256];
    snprintf(full, sizeof full, "%s.%s", path, key);
    if (!n) {
        if (required) return es_node_err(err, ES_EINVAL, map, full, "missing");
        return 0;
    }
    return es_node_to_double(n, full, min, max, out, err);
}

static int parse_routes(es_gateway_config_t *g, es_err_t *err)
{
    const es_node_t *routes = g->routes;
    g->routes_all = routes == NULL;
    if (!routes) return 0;
    int rc = es_node_expect_seq(routes, "gateway.routes", err);
    if (rc) return rc;
    size_t total = 0;
    for (size_t i = 0; i < routes->n; i++) {
        const es_node_t *rule = routes->items[i];
        static const char *const rk[] = {"matches", "name", NULL};
        if ((rc = es_node_expect_map(rule, "gateway.routes[]", err))) return rc;
        if ((rc = es_map_check_keys(rule, "gateway.routes[]", rk, err))) return rc;
        const es_node_t *m = es_map_get(rule, "matches");
        if (!m) { total++; continue; }
        if ((rc = es_node_expect_seq(m, "gateway.routes[].matches", err))) return rc;
        total += m->n ? m->n : 1;
    }
    g->route_matches = calloc(total ? total : 1, sizeof *g->route_matches);
    if (!g->route_matches) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < routes->n; i++) {
        const es_node_t *rule = routes->items[i];
        const es_node_t *m = es_map_get(rule, "matches");
        if (!m || m->n == 0) { g->route_matches[g->nroute_matches++].path = NULL; continue; }   /* matches everything */
        for (size_t j = 0; j < m->n; j++) {
            const es_node_t *mt = m->items[j];
            static const char *const mk[] = {"path", "headers", NULL};
            if ((rc = es_node_expect_map(mt, "gateway.routes[].matches[]", err))) return rc;
            if ((rc = es_map_check_keys(mt, "gateway.routes[].matches[]", mk, err))) return rc;
            es_route_match_t *rm = &g->route_matches[g->nroute_matches++];
            rm->exact = false;
            const es_node_t *p = es_map_get(mt, "path");
            if (p) {
                static const char *const pk[] = {"type", "value", NULL};
                static const char *const types[] = {"PathPrefix", "Exact", NULL};
                if ((rc = es_node_expect_map(p, "gateway.routes[].matches[].path", err))) return rc;
                if ((rc = es_map_check_keys(p, "gateway.routes[].matches[].path", pk, err))) return rc;
                int type = 0;
                const es_node_t *tn = es_map_get(p, "type");
                if (tn && (rc = es_node_to_enum(tn, "gateway.routes[].matches[].path.type", types, &type, err)))
                    return rc;
                rm->exact = type == 1;
                const char *v = "/";
                const es_node_t *vn = es_map_get(p, "value");
                if (vn && (rc = es_node_to_str(vn, "gateway.routes[].matches[].path.value", &v, err))) return rc;
                rm->path = es_strdup(v);
                if (!rm->path) return es_err_set(err, ES_ENOMEM, "out of memory");
            }
            const es_node_t *h = es_map_get(mt, "headers");
            if (h) {
                if ((rc = es_node_expect_seq(h, "gateway.routes[].matches[].headers", err))) return rc;
                rm->hname = calloc(h->n ? h->n : 1, sizeof(char *));
                rm->hvalue = calloc(h->n ? h->n : 1, sizeof(char *));
                if (!rm->hname || !rm->hvalue) return es_err_set(err, ES_ENOMEM, "out of memory");
                for (size_t k = 0; k < h->n; k++) {
                    static const char *const hk[] = {"name", "value", "type", NULL};
                    const char *hn_, *hv_;
                    const es_node_t *hh = h->items[k];
                    if ((rc = es_node_expect_map(hh, "gateway.routes[].matches[].headers[]", err))) return rc;
                    if ((rc = es_map_check_keys(hh, "gateway.routes[].matches[].headers[]", hk, err))) return rc;
                    if ((rc = es_node_to_str(es_map_get(hh, "name"), "gateway.routes[].matches[].headers[].name",
                                             &hn_, err)))
                        return rc;
                    if ((rc = es_node_to_str(es_map_get(hh, "value"), "gateway.routes[].matches[].headers[].value",
                                             &hv_, err)))
                        return rc;
                    rm->hname[k] = es_strdup(hn_);
                    rm->hvalue[k] = es_strdup(hv_);
                    rm->nheaders++;
                    if (!rm->hname[k] || !rm->hvalue[k]) return es_err_set(err, ES_ENOMEM, "out of memory");
                    /* header names are case-insensitive: matched lower-cased */
                    for (char *q = rm->hname[k]; *q; q++)
                        if (*q >= 'A' && *q <= 'Z') *q = (char)(*q - 'A' + 'a');
                }
            }
        }
    }
    return 0;
}

static int parse_windows(const es_node_t *list, const char *path, es_window_t **out, size_t *n, es_err_t *err)
{
    *out = NULL;
    *n = 0;
    if (!list) return 0;
    int rc = es_node_expect_seq(list, path, err);
    if (rc) return rc;
    *out = calloc(list->n ? list->n : 1, sizeof **out);
    if (!*out) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < list->n; i++) {
        static const char *const keys[] = {"start_s", "end_s", NULL};
        const es_node_t *w = list->items[i];
        if ((rc = es_node_expect_map(w, path, err)) || (rc = es_map_check_keys(w, path, keys, err))) return rc;
        double s = 0, e = 0;
        if ((rc = node_double(w, "start_s", path, 0, ES_TIME_MAX_S, &s, true, err))) return rc;
        if ((rc = node_double(w, "end_s", path, 0, ES_TIME_MAX_S, &e, true, err))) return rc;
        if (e <= s) return es_node_err(err, ES_EINVAL, w, path, "end_s must be after start_s");
        (*out)[(*n)++] = (es_window_t){es_time_from_s(s), es_time_from_s(e)};
    }
    return 0;
}

static int parse_objectives(es_epp_service_config_t *e, es_err_t *err)
{
    const es_node_t *list = e->objectives;
    if (!list) return 0;
    int rc = es_node_expect_seq(list, "epp.objectives", err);
    if (rc) return rc;
    e->objective_list = calloc(list->n ? list->n : 1, sizeof *e->objective_list);
    if (!e->objective_list) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < list->n; i++) {
        static const char *const keys[] = {"name", "priority", NULL};
        const es_node_t *o = list->items[i];
        const char *name;
        int64_t prio = 0;
        if ((rc = es_node_expect_map(o, "epp.objectives[]", err)) ||
            (rc = es_map_check_keys(o, "epp.objectives[]", keys, err)))
            return rc;
        if ((rc = es_node_to_str(es_map_get(o, "name"), "epp.objectives[].name", &name, err))) return rc;
        const es_node_t *p = es_map_get(o, "priority");
        if (p && (rc = es_node_to_i64(p, "epp.objectives[].priority", -1000000, 1000000, &prio, err))) return rc;
        es_objective_t *ob = &e->objective_list[e->nobjectives++];
        ob->name = es_strdup(name);
        ob->priority = (int32_t)prio;
        if (!ob->name) return es_err_set(err, ES_ENOMEM, "out of memory");
    }
    return 0;
}

static int parse_scaling(es_cluster_config_t *c, es_err_t *err)
{
    const es_node_t *list = c->scaling;
    if (!list) return 0;
    int rc = es_node_expect_seq(list, "cluster.scaling", err);
    if (rc) return rc;
    c->scale_steps = calloc(list->n ? list->n : 1, sizeof *c->scale_steps);
    if (!c->scale_steps) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < list->n; i++) {
        static const char *const keys[] = {"at_s", "replicas", NULL};
        const es_node_t *f = list->items[i];
        if ((rc = es_node_expect_map(f, "cluster.scaling[]", err)) ||
            (rc = es_map_check_keys(f, "cluster.scaling[]", keys, err)))
            return rc;
        double at = 0;
        int64_t n = 0;
        if ((rc = node_double(f, "at_s", "cluster.scaling[]", 0, ES_TIME_MAX_S, &at, true, err))) return rc;
        const es_node_t *rn = es_map_get(f, "replicas");
        if (!rn) return es_node_err(err, ES_EINVAL, f, "cluster.scaling[].replicas", "missing");
        if ((rc = es_node_to_i64(rn, "cluster.scaling[].replicas", 0, ES_CLUSTER_MAX_PODS, &n, err))) return rc;
        c->scale_steps[c->nscale_steps++] = (es_scale_step_t){at, (uint32_t)n};
        if ((uint32_t)n > c->max_pods) c->max_pods = (uint32_t)n;
    }
    return 0;
}

static int parse_faults(es_cluster_config_t *c, es_err_t *err)
{
    const es_node_t *list = c->faults;
    if (!list) return 0;
    int rc = es_node_expect_seq(list, "cluster.faults", err);
    if (rc) return rc;
    c->fault_list = calloc(list->n ? list->n : 1, sizeof *c->fault_list);
    if (!c->fault_list) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < list->n; i++) {
        static const char *const keys[] = {"at_s", "kind", "pod", "duration_s", NULL};
        const es_node_t *f = list->items[i];
        if ((rc = es_node_expect_map(f, "cluster.faults[]", err)) ||
            (rc = es_map_check_keys(f, "cluster.faults[]", keys, err)))
            return rc;
        double at = 0, dur = 0;
        int kind = 0;
        int64_t pod = 0;
        if ((rc = node_double(f, "at_s", "cluster.faults[]", 0, ES_TIME_MAX_S, &at, true, err))) return rc;
        if ((rc = node_double(f, "duration_s", "cluster.faults[]", 0, ES_TIME_MAX_S, &dur, false, err))) return rc;
        const es_node_t *kn = es_map_get(f, "kind");
        if (!kn) return es_node_err(err, ES_EINVAL, f, "cluster.faults[].kind", "missing");
        if ((rc = es_node_to_enum(kn, "cluster.faults[].kind", k_fault_kinds, &kind, err))) return rc;
        const es_node_t *pn = es_map_get(f, "pod");
        if (pn && (rc = es_node_to_i64(pn, "cluster.faults[].pod", 0, (int64_t)c->max_pods - 1, &pod, err)))
            return rc;
        c->fault_list[c->nfaults++] = (es_fault_t){at, (es_fault_kind_t)kind, (uint32_t)pod, dur};
    }
    return 0;
}

static int parse_pod_labels(es_cluster_config_t *c, es_err_t *err)
{
    const es_node_t *list = c->pod_labels;
    if (!list) return 0;
    int rc = es_node_expect_seq(list, "cluster.pod_labels", err);
    if (rc) return rc;
    if (list->n > ES_CLUSTER_MAX_PODS)
        return es_node_err(err, ES_ERANGE, list, "cluster.pod_labels", "at most %d entries", ES_CLUSTER_MAX_PODS);
    c->label_sets = calloc(list->n ? list->n : 1, sizeof *c->label_sets);
    if (!c->label_sets) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < list->n; i++) {
        const es_node_t *m = list->items[i];
        char path[64];
        snprintf(path, sizeof path, "cluster.pod_labels[%zu]", i);
        if ((rc = es_node_expect_map(m, path, err))) return rc;
        if (m->n > ES_POD_LABELS_MAX) return es_node_err(err, ES_ERANGE, m, path, "at most %d labels", ES_POD_LABELS_MAX);
        es_pod_labels_t *set = &c->label_sets[c->nlabel_sets++];
        for (size_t k = 0; k < m->n; k++) {
            char kp[400];
            snprintf(kp, sizeof kp, "%s.%s", path, m->keys[k]);
            const char *v;
            if ((rc = es_node_to_str(m->items[k], kp, &v, err))) return rc;
            /* a Kubernetes label: key [prefix/]name, name <= 63 characters; value <= 63 */
            const char *slash = strrchr(m->keys[k], '/');
            size_t name_len = strlen(slash ? slash + 1 : m->keys[k]);
            if (name_len == 0 || name_len > 63 || strlen(m->keys[k]) > 316)
                return es_node_err(err, ES_EINVAL, m->items[k], kp, "not a label key (a name of 1 to 63 characters, "
                                   "with an optional DNS prefix and '/')");
            if (strlen(v) > 63) return es_node_err(err, ES_EINVAL, m->items[k], kp, "label value longer than 63 characters");
            if ((c->prefill_replicas > 0 || c->encode_replicas > 0) && strcmp(m->keys[k], "llm-d.ai/role") == 0)
                return es_node_err(err, ES_EINVAL, m->items[k], kp,
                                   "the role is set by cluster.prefill_replicas and cluster.encode_replicas");
            char *key = es_strdup(m->keys[k]), *val = es_strdup(v);
            if (!key || !val) { free(key); free(val); return es_err_set(err, ES_ENOMEM, "out of memory"); }
            set->labels[set->n++] = (es_label_t){key, val};
        }
    }
    return 0;
}

bool es_is_dns_label(const char *s)
{
    size_t len = strlen(s);
    bool ok = len <= 63;
    for (size_t k = 0; ok && k < len; k++)
        ok = (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= '0' && s[k] <= '9') || (s[k] == '-' && k > 0 && k + 1 < len);
    return ok;
}

/* A pod's spec.hostname: an RFC 1123 label (Kubernetes validation), or "". */
static int parse_pod_hostnames(es_cluster_config_t *c, es_err_t *err)
{
    const es_node_t *list = c->pod_hostnames;
    if (!list) return 0;
    int rc = es_node_expect_seq(list, "cluster.pod_hostnames", err);
    if (rc) return rc;
    if (list->n > ES_CLUSTER_MAX_PODS)
        return es_node_err(err, ES_ERANGE, list, "cluster.pod_hostnames", "at most %d entries", ES_CLUSTER_MAX_PODS);
    c->hostnames = calloc(list->n ? list->n : 1, sizeof *c->hostnames);
    if (!c->hostnames) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < list->n; i++) {
        char path[64];
        snprintf(path, sizeof path, "cluster.pod_hostnames[%zu]", i);
        const char *v;
        if ((rc = es_node_to_str(list->items[i], path, &v, err))) return rc;
        if (!es_is_dns_label(v))
            return es_node_err(err, ES_EINVAL, list->items[i], path, ES_HOSTNAME_RULE);
        if (!(c->hostnames[c->nhostnames++] = es_strdup(v))) return es_err_set(err, ES_ENOMEM, "out of memory");
    }
    return 0;
}

int es_e2e_config_parse(es_cluster_config_t *cluster, es_epp_service_config_t *epp,
                        es_gateway_config_t *gateway, es_err_t *err)
{
    int rc;
    if ((rc = parse_pod_labels(cluster, err))) return rc;
    if ((rc = parse_pod_hostnames(cluster, err))) return rc;
    if ((rc = parse_routes(gateway, err))) return rc;
    if ((rc = parse_windows(epp->outages, "epp.outages[]", &epp->outage_windows, &epp->noutages, err))) return rc;
    if ((rc = parse_objectives(epp, err))) return rc;
    /* the scaling steps bound the pod ids a fault may name; a fault's error
     * is reported before a scaling error, in document order of the keys */
    cluster->max_pods = (uint32_t)cluster->replicas;
    es_err_t scale_err = {0};
    int scale_rc = parse_scaling(cluster, &scale_err);
    if ((rc = parse_faults(cluster, err))) return rc;
    if (scale_rc && err) *err = scale_err;
    return scale_rc;
}

void es_e2e_config_fini(es_cluster_config_t *cluster, es_epp_service_config_t *epp,
                        es_gateway_config_t *gateway)
{
    free(cluster->fault_list);
    free(cluster->scale_steps);
    for (size_t i = 0; i < cluster->nlabel_sets; i++)
        for (uint32_t k = 0; k < cluster->label_sets[i].n; k++) {
            free((char *)cluster->label_sets[i].labels[k].key);
            free((char *)cluster->label_sets[i].labels[k].value);
        }
    free(cluster->label_sets);
    cluster->label_sets = NULL;
    for (size_t i = 0; i < cluster->nhostnames; i++) free(cluster->hostnames[i]);
    free(cluster->hostnames);
    cluster->hostnames = NULL;
    cluster->nhostnames = 0;
    cluster->nlabel_sets = 0;
    cluster->fault_list = NULL;
    cluster->scale_steps = NULL;
    cluster->nfaults = cluster->nscale_steps = 0;
    free(epp->outage_windows);
    for (size_t i = 0; i < epp->nobjectives; i++) free(epp->objective_list[i].name);
    free(epp->objective_list);
    epp->outage_windows = NULL;
    epp->objective_list = NULL;
    epp->noutages = epp->nobjectives = 0;
    for (size_t i = 0; i < gateway->nroute_matches; i++) {
        es_route_match_t *m = &gateway->route_matches[i];
        free(m->path);
        for (uint32_t k = 0; k < m->nheaders; k++) { free(m->hname[k]); free(m->hvalue[k]); }
        free(m->hname);
        free(m->hvalue);
    }
    free(gateway->route_matches);
    gateway->route_matches = NULL;
    gateway->nroute_matches = 0;
}
