/*
 * es_e2e_config.h -- configuration of the request path around the servers: the
 * cluster (pods, faults, disaggregation), the EPP service (replicas, scrapes)
 * and the gateway (routes, ext_proc, failure mode).  Sections `cluster`,
 * `epp` and `gateway` of the experiment; defaults live in e2e_config.c.
 *
 * The schema loader fills the scalar keys; the lists whose entries have a
 * shape of their own (routes, outage windows, objectives, faults, scaling)
 * are then parsed by es_e2e_config_parse into the typed arrays below, with
 * `file:line: key.path:` errors.  Models read only the typed arrays; the
 * `const es_node_t *` fields are the schema's view of the document (printing
 * the configuration) and are borrowed from it.
 */
#ifndef ES_E2E_CONFIG_H
#define ES_E2E_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "es_doc.h"
#include "es_endpoint.h"
#include "es_schema.h"
#include "es_time.h"

enum { ES_FAIL_CLOSE = 0, ES_FAIL_OPEN = 1 };
/* gateway.client_timeout_clock: when a client timeout fires.  aiohttp rounds
 * a timeout of 5 s or more up to the next whole second of its loop clock. */
enum { ES_TIMEOUT_CLOCK_AUTO = 0, ES_TIMEOUT_CLOCK_EXACT = 1, ES_TIMEOUT_CLOCK_AIOHTTP = 2 };

/* cluster.faults[].kind */
typedef enum { ES_FAULT_POD_CRASH = 0, ES_FAULT_POD_RESTART, ES_FAULT_SCRAPE_FAILURE } es_fault_kind_t;

/* The most pods a pool may have (replicas, prefill_replicas, scaling): each
 * pod holds its KV-cache index (~0.5 MB at the default size), so 10 000 pods
 * take ~6 GB; more is refused at load rather than running out of memory. */
#define ES_CLUSTER_MAX_PODS 10000

typedef struct es_fault {
    double          at_s;             /* when it happens */
    es_fault_kind_t kind;
    uint32_t        pod;              /* < es_cluster_max_pods() */
    double          duration_s;       /* scrape_failure: window length; 0 = to the end of the run */
} es_fault_t;

typedef struct es_scale_step {
    double   at_s;
    uint32_t replicas;                /* wanted pods from at_s on */
} es_scale_step_t;

/* [start, end) of simulated time. */
typedef struct es_window {
    es_time_t start, end;
} es_window_t;

typedef struct es_objective {
    char    *name;                    /* InferenceObjective name; owned */
    int32_t  priority;
} es_objective_t;

/* One HTTPRoute match (a rule without matches is one match of everything). */
typedef struct es_route_match {
    bool      exact;                  /* path type Exact; false = PathPrefix */
    char     *path;                   /* NULL: any path; owned */
    uint32_t  nheaders;               /* exact header matches, all required */
    char    **hname;                  /* lower-cased header names; owned */
    char    **hvalue;                 /* owned */
} es_route_match_t;

/* Labels of a pod (cluster.pod_labels): topology (kubernetes.io/hostname,
 * topology.kubernetes.io/zone, ...), roles, anything a label selector reads. */
#define ES_POD_LABELS_MAX 16
typedef struct es_pod_labels {
    es_label_t labels[ES_POD_LABELS_MAX];   /* owned strings */
    uint32_t   n;
} es_pod_labels_t;

/* A pod's spec.hostname: "" or an RFC 1123 label (Kubernetes validation). */
bool es_is_dns_label(const char *s);
#define ES_HOSTNAME_RULE "not a hostname (a DNS label: at most 63 characters a-z, 0-9 and '-', not first or last)"

typedef struct es_cluster_config {
    int64_t replicas;                 /* model-server pods */
    double  readiness_delay_s;        /* pod start to ready */
    const es_node_t *faults;          /* list of fault entries; borrowed */
    const es_node_t *scaling;         /* list of {at_s, replicas}; borrowed */
    int64_t prefill_replicas;         /* P/D: pods labelled prefill (0 = no disaggregation) */
    double  kv_transfer_gbps;         /* prefill -> decode KV transfer bandwidth */
    double  kv_transfer_latency_us;   /* fixed latency of one KV transfer */
    double  kv_events_delay_ms;       /* KV-event delivery delay to the EPP */
    int64_t retries_on_crash;         /* re-send requests of a crashed pod this many times */
    const es_node_t *pod_labels;      /* list of label maps; borrowed */
    const es_node_t *pod_hostnames;   /* list of spec.hostname strings; borrowed */
    /* E/P/D: encode pods and the encode stage (docs/e2e.md, "Encode stages") */
    int64_t encode_replicas;          /* pods labelled encode (the first ones); 0 = none */
    double  encode_us_per_token;      /* encoder time per image token */
    int64_t encode_bytes_per_token;   /* encoder output moved to the prefill/decode pod per image token */
    int64_t encoder_cache_images;     /* images a pod's encoder cache keeps (LRU) */
    /* parsed (es_e2e_config_parse); owned */
    es_pod_labels_t *label_sets;      /* pod i carries label_sets[i % nlabel_sets] */
    size_t           nlabel_sets;
    char           **hostnames;       /* pod i: hostnames[i % nhostnames]; "" = none */
    size_t           nhostnames;
    es_fault_t      *fault_list;      /* in document order */
    size_t           nfaults;
    es_scale_step_t *scale_steps;     /* in document order */
    size_t           nscale_steps;
    uint32_t         max_pods;        /* max(replicas, every scaling step) */
} es_cluster_config_t;

typedef struct es_epp_service_config {
    char   *config_file;              /* EndpointPickerConfig path; "" = upstream default */
    const es_node_t *config;          /* inline EndpointPickerConfig; borrowed */
    int64_t replicas;                 /* EPP replicas behind the gateway */
    double  refresh_interval_ms;      /* metrics scrape period per pod */
    double  scrape_latency_ms;        /* scrape round trip */
    double  scrape_failure_rate;      /* probability a scrape fails (last values kept) */
    double  scheduling_latency_us;    /* time to run one scheduling decision */
    int64_t workers;                  /* concurrent decisions per replica */
    const es_node_t *outages;         /* list of {start_s, end_s}; borrowed */
    const es_node_t *objectives;      /* InferenceObjectives: list of {name, priority}; borrowed */
    double  scrape_timeout_ms;        /* a scrape slower than this fails (defaultCollectionTimeout) */
    double  sync_delay_ms;            /* cross-replica store: a publish reaches the replicas this late */
    /* the latency predictor's sidecar settings (predicted-latency-producer) */
    double  predictor_retraining_interval_s;   /* LATENCY_RETRAINING_INTERVAL_SEC */
    double  predictor_model_sync_interval_s;   /* MODEL_SYNC_INTERVAL_SEC */
    int64_t predictor_min_samples_for_retrain; /* LATENCY_MIN_SAMPLES_FOR_RETRAIN */
    int64_t predictor_max_samples_per_bucket;  /* LATENCY_MAX_TRAINING_DATA_SIZE_PER_BUCKET */
    int     predictor_objective;               /* LATENCY_OBJECTIVE_TYPE: 0 mean, 1 quantile */
    double  predictor_quantile;                /* LATENCY_QUANTILE_ALPHA */
    /* parsed (es_e2e_config_parse); owned */
    es_window_t    *outage_windows;
    size_t          noutages;
    es_objective_t *objective_list;
    size_t          nobjectives;
} es_epp_service_config_t;

typedef struct es_gateway_config {
    double  hop_latency_us;           /* one network hop (client-gateway, gateway-EPP, gateway-pod) */
    double  ext_proc_timeout_ms;      /* Envoy ext_proc message timeout */
    int     failure_mode;             /* ES_FAIL_CLOSE or ES_FAIL_OPEN */
    double  client_timeout_s;         /* client gives up; 0 = never */
    int     client_timeout_clock;     /* ES_TIMEOUT_CLOCK_* */
    double  client_cancel_fraction;   /* share of requests the client cancels */
    double  client_cancel_after_s;    /* mean time to a cancellation (exponential) */
    const es_node_t *routes;          /* HTTPRoute-like rules; NULL = everything to the pool */
    /* parsed (es_e2e_config_parse); owned */
    bool              routes_all;     /* no routes key: every path goes to the pool */
    es_route_match_t *route_matches;  /* tried in order; the first match wins */
    size_t            nroute_matches;
} es_gateway_config_t;

extern const es_schema_t es_cluster_schema;
extern const es_schema_t es_epp_service_schema;
extern const es_schema_t es_gateway_schema;

/* Parses the list-valued keys of the three sections (already loaded by the
 * schema) into their typed arrays.  Errors name file, line and key path.
 * Pair with es_e2e_config_fini, also after a failure. */
int  es_e2e_config_parse(es_cluster_config_t *cluster, es_epp_service_config_t *epp,
                         es_gateway_config_t *gateway, es_err_t *err);
void es_e2e_config_fini(es_cluster_config_t *cluster, es_epp_service_config_t *epp,
                        es_gateway_config_t *gateway);

#endif /* ES_E2E_CONFIG_H */
