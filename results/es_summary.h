/*
 * es_summary.h -- summary.json, requests.csv and pods.csv (docs/results.md).
 *
 * summary.json has a versioned schema (ES_SUMMARY_SCHEMA_VERSION); keys are
 * only ever added.  Values that cannot be computed (no request in the window)
 * are null.  Everything here is a pure function of the metrics and the run's
 * inputs, so the same seed gives byte-identical files.
 */
#ifndef ES_SUMMARY_H
#define ES_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "es_err.h"
#include "es_time.h"
#include "es_client_metrics.h"
#include "es_metrics.h"

#define ES_SUMMARY_SCHEMA_VERSION 1

typedef struct es_summary_pod {
    const char *name;
    const char *role;            /* "prefill", "decode" or "" */
    uint64_t    requests;        /* requests submitted to it */
    uint64_t    prefix_queries;  /* tokens */
    uint64_t    prefix_hits;     /* tokens */
    uint64_t    preemptions;
    uint64_t    steps;
    es_time_t   busy;            /* time spent in engine steps */
} es_summary_pod_t;

typedef struct es_summary_stage {
    double    rate;              /* configured rate, 0 if unknown */
    es_time_t start, end;        /* ES_TIME_NEVER end: open */
} es_summary_stage_t;

typedef struct es_summary_input {
    const char               *experiment;
    uint64_t                  seed;
    const char               *rng;
    es_time_t                 sim_end;       /* simulated time at the end */
    uint64_t                  events;
    const es_summary_pod_t   *pods;
    size_t                    npods;
    const es_summary_stage_t *stages;
    size_t                    nstages;
    double                    slo_ttft_ms, slo_tpot_ms;
    uint64_t                  skipped_lines;  /* malformed trace lines skipped */
    const es_client_emul_t   *client;         /* client-side metrics; NULL = none (no `client` block) */
    /* the step model, written as "step_model" only when it is not the measured
     * profile (so profile runs' summaries stay as they were) */
    const char               *step_model;     /* NULL or "linear", "roofline", "analytic" */
    const char               *model_source;   /* config.json path or profile model key */
    const char               *gpu;
    const char               *coefficients;   /* analytic: the coefficients file */
    /* the first pod's KV cache, as vLLM logs "GPU KV cache size" */
    const char               *kv_rule;        /* "vllm", "eppsim", "given"; NULL: not known */
    uint32_t                  kv_blocks, kv_block_size;
    double                    kv_weights_gib, kv_peak_gib, kv_non_torch_gib, kv_gib;  /* per GPU; rule "vllm" */
    /* the EPP's latency predictor (predicted-latency-producer), written as
     * "latency_predictor" only when one ran: mean absolute percentage error
     * of its dispatch-time predictions for the chosen pod (NaN: none) */
    bool                      predictor;
    double                    pred_ttft_mape_pct, pred_tpot_mape_pct;
    uint64_t                  pred_ttft_n, pred_tpot_n, pred_retrains, pred_samples_ttft, pred_samples_tpot;
    /* flow control's in-flight eviction, written as "flow_control" only when
     * the EPP config enables it (its victims end as 429 in requests.csv) */
    bool                      evicting;
    uint64_t                  evictions;
} es_summary_input_t;

/* summary.json's tree (NULL when out of memory; cJSON_Delete it). */
cJSON *es_summary_build(const es_metrics_t *m, const es_summary_input_t *in);
/* Writes summary.json (pretty, stable key order) to path atomically. */
int es_summary_write(const char *path, const es_metrics_t *m, const es_summary_input_t *in, es_err_t *err);
int es_summary_write_json(const char *path, const cJSON *summary, es_err_t *err);
/* The run's summary as text, from summary.json's tree alone (the terminal
 * and report.md print this, so they cannot disagree with the file): the
 * measured window, requests by status when any failed, throughput, goodput,
 * mean/median/p99 of TTFT, TPOT, ITL and E2E, the three hit rates, a table
 * per stage when there are several, and pods flagged idle or far below
 * their share. */
void es_summary_print(FILE *f, const cJSON *summary);
/* Follows a summary.json key path ("latency_ms.ttft.p99", list items by
 * index: "stages.0.rate"); NULL when absent. */
const cJSON *es_json_find(const cJSON *j, const char *dotted);

/* Writes one requests.csv row / the header. */
void es_requests_csv_header(FILE *f);
void es_requests_csv_row(FILE *f, const es_req_record_t *r, const char *pod_name);
/* Writes pods.csv atomically. */
int es_pods_csv_write(const char *path, const es_summary_input_t *in, es_err_t *err);

#endif /* ES_SUMMARY_H */
