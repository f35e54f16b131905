/*
 * es_e2e_config.h -- configuration of the request path around the servers: the
 * cluster (pods, faults, disaggregation), the EPP service (replicas, scrapes)
 * and the gateway (routes, ext_proc, failure mode).  Sections `cluster`,
 * `epp` and `gateway` of the experiment; defaults live in e2e_config.c.
 */
#ifndef ES_E2E_CONFIG_H
#define ES_E2E_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "es_doc.h"
#include "es_schema.h"

enum { ES_FAIL_CLOSE = 0, ES_FAIL_OPEN = 1 };

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
} es_epp_service_config_t;

typedef struct es_gateway_config {
    double  hop_latency_us;           /* one network hop (client-gateway, gateway-EPP, gateway-pod) */
    double  ext_proc_timeout_ms;      /* Envoy ext_proc message timeout */
    int     failure_mode;             /* ES_FAIL_CLOSE or ES_FAIL_OPEN */
    double  client_timeout_s;         /* client gives up; 0 = never */
    double  client_cancel_fraction;   /* share of requests the client cancels */
    double  client_cancel_after_s;    /* mean time to a cancellation (exponential) */
    const es_node_t *routes;          /* HTTPRoute-like rules; NULL = everything to the pool */
} es_gateway_config_t;

extern const es_schema_t es_cluster_schema;
extern const es_schema_t es_epp_service_schema;
extern const es_schema_t es_gateway_schema;

#endif /* ES_E2E_CONFIG_H */
