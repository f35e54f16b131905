/*
 * es_endpoint.h -- what the endpoint picker knows about one model-server pod.
 *
 * This is the contract between the server model (which produces metrics and
 * KV events, as vLLM does on /metrics and its KV-event stream) and the
 * scheduler library (which consumes them).  Metrics are a scraped snapshot:
 * `update_time` is when the scrape that produced them completed; scorers use
 * the last values whatever their age, only the saturation detector checks
 * staleness (upstream GIE `pkg/epp/saturationdetector/saturationdetector.go`
 * at 1748e829).
 *
 * Units: times are es_time_t ns; kv_cache_usage is a fraction 0..1 (as
 * vllm:kv_cache_usage_perc); prefix counters are tokens.
 */
#ifndef ES_ENDPOINT_H
#define ES_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_time.h"

#define ES_LORA_LIST_MAX 16

typedef struct es_label {
    const char *key;
    const char *value;
} es_label_t;

typedef struct es_endpoint_metrics {
    es_time_t   update_time;        /* sim time of the last successful scrape; < 0: never */
    int32_t     waiting;            /* vllm:num_requests_waiting (preempted included) */
    int32_t     running;            /* vllm:num_requests_running */
    double      kv_cache_usage;     /* vllm:kv_cache_usage_perc, 0..1 */
    uint64_t    prefix_queries;     /* vllm:prefix_cache_queries_total (tokens) */
    uint64_t    prefix_hits;        /* vllm:prefix_cache_hits_total (tokens) */
    uint32_t    block_size;         /* cache_config_info block_size; 0 = unknown */
    uint32_t    num_gpu_blocks;     /* cache_config_info num_gpu_blocks; 0 = unknown */
    int32_t     max_lora;           /* lora_requests_info max_lora; 0 = no LoRA */
    uint32_t    n_running_lora;     /* adapters in running_lora_adapters */
    uint32_t    n_waiting_lora;     /* adapters in waiting_lora_adapters */
    const char *running_lora[ES_LORA_LIST_MAX];  /* interned names, borrowed */
    const char *waiting_lora[ES_LORA_LIST_MAX];
    /* DCGM_FI_DEV_GPU_UTIL / 100 (dcgm-data-source): the fraction of the
     * trailing second the GPU ran a step; filled only when a config asks */
    bool        has_gpu_util;
    double      gpu_util;
} es_endpoint_metrics_t;

typedef struct es_endpoint {
    uint32_t              id;        /* stable index of the pod in its pool */
    const char           *name;      /* pod name */
    const char           *address;   /* "ip:port" */
    const es_label_t     *labels;    /* e.g. llm-d.ai/role=prefill */
    uint32_t              nlabels;
    const char           *hostname;  /* the pod's spec.hostname; NULL = none */
    bool                  ready;     /* passes its readiness probe */
    es_endpoint_metrics_t metrics;   /* last scraped values */
} es_endpoint_t;

/* KV-cache events (vLLM's KV event stream), one block each. */
typedef enum es_kv_event_kind {
    ES_KV_BLOCK_STORED  = 1,   /* a full block got its hash and is cached */
    ES_KV_BLOCK_REMOVED = 2,   /* a cached block was evicted */
    ES_KV_ALL_CLEARED   = 3    /* the pod lost its cache (restart) */
} es_kv_event_kind_t;

typedef struct es_kv_event {
    es_kv_event_kind_t kind;
    uint32_t           endpoint;    /* es_endpoint_t.id */
    uint64_t           block_hash;  /* es_content chained hash (server block size) */
    es_time_t          time;        /* when the server emitted it */
} es_kv_event_t;

/* Sink for KV events; the models layer adds the configured delivery delay. */
typedef void (*es_kv_event_fn)(void *ud, const es_kv_event_t *ev);

static inline const char *es_endpoint_label(const es_endpoint_t *ep, const char *key)
{
    for (uint32_t i = 0; i < ep->nlabels; i++) {
        const char *a = ep->labels[i].key, *b = key;
        while (*a && *a == *b) { a++; b++; }
        if (*a == *b) return ep->labels[i].value;
    }
    return NULL;
}

#endif /* ES_ENDPOINT_H */
