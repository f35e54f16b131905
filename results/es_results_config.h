/*
 * es_results_config.h -- the experiment's `results` section: measurement window,
 * SLOs, sampling and plots.  Defaults live in results_config.c.
 */
#ifndef ES_RESULTS_CONFIG_H
#define ES_RESULTS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "es_schema.h"

/* Client-side metrics (client_metrics.h): how the benchmark client stamps
 * a streamed response.  0 / -1 = as the workload's client does. */
typedef struct es_client_config {
    int     metrics;                /* 0 auto (benchmark-client workloads), 1 on, 2 off */
    int64_t timestamps_per_token;   /* 0 = the client's own (inference-perf 2025-10: 2; else 1) */
    int64_t trailing_timestamps;    /* -1 = the client's own (inference-perf 2025-10: 2; else 0) */
    double  event_gap_us;           /* gap of a token's extra stamps */
    double  output_count_scale;     /* output tokens as the client counts them / tokens generated */
} es_client_config_t;

typedef struct es_results_config {
    double  warmup_s;               /* trim requests that arrive before this */
    double  cooldown_s;             /* trim requests that arrive in the last cooldown_s */
    double  timeseries_interval_ms; /* per-pod sampling period */
    double  slo_ttft_ms;            /* goodput: TTFT threshold */
    double  slo_tpot_ms;            /* goodput: TPOT threshold */
    int64_t batch_count;            /* batches for batch-means confidence intervals */
    bool    plots;                  /* run gnuplot after the run */
    bool    requests_csv;           /* write requests.csv */
    bool    oracle;                 /* compute the oracle hit rate (memory: ~16 B per distinct block) */
    es_client_config_t client;      /* client-side metrics */
} es_results_config_t;

extern const es_schema_t es_results_schema;

#endif /* ES_RESULTS_CONFIG_H */
