/*
 * es_metrics.h -- what a run measures, and its summary.
 *
 * Per request (es_req_record_t, one per request that arrived, whatever its
 * status) and the pooled inter-token gaps (ITL) of the requests that arrived
 * in the measured window (whatever their status: a failed stream's gaps
 * reached the client too).  Latencies are measured at the
 * client in milliseconds.  The summary covers the measured window: requests
 * that arrived in [warmup_s, last arrival - cooldown_s]; `requests.total`
 * counts every request.  Percentiles use linear interpolation between order
 * statistics (numpy's default); confidence intervals come from batch means
 * (requests of the window split in arrival order into batch_count batches,
 * Student t at 95%) or, in sweeps, from replications.
 *
 * Three prefix-cache hit rates over the same denominator, the prompt tokens
 * of the requests completed in the window: estimated (the tokens the EPP's
 * index matched on the picked pod at pick time), actual (served from the
 * pods' caches) and oracle (an infinite cache shared by all pods, in 16-token
 * blocks, output blocks included: the upper bound).  The EPP's own ratio,
 * matched / hashed index blocks (the index hashes a capped prefix), is the
 * separate `estimated_hashed_prefix_match`.
 *
 * Memory: one 80-byte record per request plus the oracle's block set.
 */
#ifndef ES_METRICS_H
#define ES_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "es_content.h"
#include "es_err.h"
#include "es_time.h"
#include "es_results_config.h"

typedef struct es_req_record {
    uint64_t  id;
    es_time_t arrival;          /* client send time */
    uint32_t  stage;            /* arrival-rate stage */
    int32_t   status;           /* HTTP status at the client */
    int32_t   pod;              /* endpoint id that served it; -1 none */
    uint32_t  prompt_tokens;
    uint32_t  output_tokens;    /* tokens received */
    uint32_t  cached_tokens;    /* served from the pod's prefix cache */
    uint32_t  est_matched;      /* EPP prefix index: blocks matched at pick time */
    uint32_t  est_total;        /* EPP prefix index: blocks of the prompt */
    uint32_t  est_tokens;       /* EPP prefix index: matched prompt tokens (<= prompt_tokens) */
    uint32_t  preemptions;
    uint32_t  oracle_tokens;    /* hit tokens an infinite shared cache gives it */
    float     queue_ms;         /* arrival at the server to first scheduled */
    float     sched_ms;         /* ext_proc round trip as the gateway saw it */
    float     ttft_ms;          /* < 0: no first token */
    float     e2e_ms;           /* < 0: never finished */
} es_req_record_t;

typedef struct es_metrics es_metrics_t;

/* Indexes of es_lat_stats_t.p and .ci */
typedef enum { ES_P50 = 0, ES_P90 = 1, ES_P95 = 2, ES_P99 = 3 } es_pct_t;

/* What es_metrics_latency measures. */
typedef enum { ES_LAT_TTFT = 0, ES_LAT_TPOT = 1, ES_LAT_E2E = 2 } es_lat_metric_t;

typedef struct es_lat_stats {
    double p[4];                /* p50, p90, p95, p99 (es_pct_t) */
    double mean;
    double ci[4][2];            /* 95% interval per percentile; NaN when unknown */
    double mean_ci[2];
    uint64_t n;
} es_lat_stats_t;

es_metrics_t *es_metrics_create(const es_results_config_t *cfg, bool oracle, uint32_t oracle_block);
void es_metrics_destroy(es_metrics_t *m);

/* A request ended (any status).  Records are kept in the order added. */
int es_metrics_add_request(es_metrics_t *m, const es_req_record_t *r);
/* `count` inter-token gaps of `gap` ns from requests of the measured window
 * (pooled ITL).  The caller knows which: a run flags a request as it sends
 * it (es_client_request_t.measured), in a second pass when a cool-down
 * leaves the window's end unknown until the last arrival (es_run.h). */
void es_metrics_add_gaps(es_metrics_t *m, es_time_t gap, uint32_t count);
/* `count` gaps of `gap` ns from requests of stage `stage` (benchmark-client
 * workloads, whose stages drain: the running stage owns every gap).  No
 * warm-up filter.  ES_ENOMEM when a stage's histogram cannot be allocated. */
int es_metrics_add_stage_gaps(es_metrics_t *m, uint32_t stage, es_time_t gap, uint32_t count);
/* ITL (ms) of the gaps of `stage` (ES_ALL_STAGES: all stages), their
 * counts rescaled to `real` gaps in all (0 = as recorded), pooled with
 * `extra` more gaps of extra_ns each (a client's extra stamps); no CIs. */
void es_metrics_stage_itl(const es_metrics_t *m, uint32_t stage, uint64_t real, uint64_t extra, double extra_ns,
                          es_lat_stats_t *out);
/* Oracle: a request with this prompt (and output chain) arrived.  Returns the
 * hit tokens an infinite shared cache would give it. */
uint32_t es_metrics_oracle_observe(es_metrics_t *m, const es_content_t *prompt,
                                   uint64_t output_segment, uint32_t output_tokens);

/* Oracle hit rate so far (hit tokens / prompt tokens); NaN before any request. */
double es_metrics_oracle_rate(const es_metrics_t *m);

const es_results_config_t *es_metrics_config(const es_metrics_t *m);

/* Computations over the measured window (exposed for tests). */
void es_metrics_window(const es_metrics_t *m, es_time_t *from, es_time_t *to);
size_t es_metrics_count(const es_metrics_t *m);
const es_req_record_t *es_metrics_records(const es_metrics_t *m);
/* Latency stats of `which` over 200-status requests in the window;
 * stage == ES_ALL_STAGES for every stage. */
#define ES_ALL_STAGES UINT32_MAX
void es_metrics_latency(const es_metrics_t *m, es_lat_metric_t which, uint32_t stage, es_lat_stats_t *out);
void es_metrics_itl(const es_metrics_t *m, es_lat_stats_t *out);

/* Percentile of sorted values (linear interpolation), q in [0, 1]. */
double es_percentile_sorted(const double *v, size_t n, double q);

/* TPOT of a record in ms: (e2e - ttft) / (output - 1); < 0 when undefined. */
double es_record_tpot_ms(const es_req_record_t *r);

#endif /* ES_METRICS_H */
