/*
 * e2e_config.c -- schemas (and so the defaults) of the cluster, epp and
 * gateway sections.
 */
#include "es_e2e_config.h"

#include <stddef.h>

static const char *const k_failure_modes[] = {"FailClose", "FailOpen", NULL};

#define C(x) offsetof(es_cluster_config_t, x)
static const es_schema_entry_t k_cluster[] = {
    {"replicas", ES_ST_INT, C(replicas), "3", 1, 100000, NULL, "pods", "model-server pods in the pool", NULL},
    {"readiness_delay_s", ES_ST_DOUBLE, C(readiness_delay_s), "0", 0, 1e6, NULL, "s",
     "time from pod start to ready (readinessProbe initialDelaySeconds)", NULL},
    {"faults", ES_ST_NODE, C(faults), NULL, 0, 0, NULL, "",
     "fault schedule: list of {at_s, kind: pod_crash|pod_restart|scrape_failure, pod, duration_s}", NULL},
    {"scaling", ES_ST_NODE, C(scaling), NULL, 0, 0, NULL, "", "list of {at_s, replicas}", NULL},
    {"prefill_replicas", ES_ST_INT, C(prefill_replicas), "0", 0, 100000, NULL, "pods",
     "pods labelled llm-d.ai/role=prefill (the rest decode); 0 = no disaggregation", NULL},
    {"kv_transfer_gbps", ES_ST_DOUBLE, C(kv_transfer_gbps), "100", 0.001, 1e6, NULL, "Gbit/s",
     "prefill-to-decode KV transfer bandwidth", NULL},
    {"kv_transfer_latency_us", ES_ST_DOUBLE, C(kv_transfer_latency_us), "50", 0, 1e9, NULL, "us",
     "fixed latency of one KV transfer", NULL},
    {"kv_events_delay_ms", ES_ST_DOUBLE, C(kv_events_delay_ms), "10", 0, 1e9, NULL, "ms",
     "delay before the EPP sees a server's KV events", NULL},
    {"retries_on_crash", ES_ST_INT, C(retries_on_crash), "0", 0, 100, NULL, "",
     "times a request on a crashed pod is re-sent; 0 fails it with 503", NULL},
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
    {"client_cancel_fraction", ES_ST_DOUBLE, G(client_cancel_fraction), "0", 0, 1, NULL, "",
     "share of requests the client cancels before they end (status 499)", NULL},
    {"client_cancel_after_s", ES_ST_DOUBLE, G(client_cancel_after_s), "2", 0.000001, 1e9, NULL, "s",
     "mean time from send to a cancellation (exponential)", NULL},
    {"routes", ES_ST_NODE, G(routes), NULL, 0, 0, NULL, "",
     "HTTPRoute rules: list of {matches: [{path: {type: PathPrefix|Exact, value}, headers: [{name, value}]}]}; absent = every path goes to the pool", NULL},
};
#undef G
ES_SCHEMA_DEFINE(es_gateway_schema, "gateway", k_gateway);
