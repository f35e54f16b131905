/*
 * lifecycle.h -- request-lifecycle metrics in kubernetes-sigs/inference-perf's
 * layout (its summary_lifecycle_metrics.json and stage_N_lifecycle_metrics.json),
 * computed from eppsim's request records or read from a real run's files.
 *
 * Both sides of a validation go through this one struct, so measured and
 * simulated figures are computed the same way.  Definitions (inference-perf,
 * docs/validate.md): request_latency = end - start of the POST; TTFT to the
 * first streamed chunk; TPOT = (last - first timestamp) / (timestamps - 1),
 * where a client that stamps every SSE line has `stamps_per_token` (2 in the
 * build behind ../shared/validation) timestamps per token and
 * `trailing_stamps` after the last (2 there: `data: [DONE]` and its blank
 * line; timestamps = stamps_per_token x tokens + trailing); ITL = the pooled
 * gaps between timestamps (only its mean is derived from records, and its
 * percentiles when stamps_per_token is 1 and the caller supplies the real
 * gaps); normalized TPOT = latency / output tokens.  Failures stay out of
 * every latency statistic.  Throughput = successes (tokens) over the span
 * from the first start to the last end.  Units: seconds and tokens, as
 * inference-perf writes them.
 */
#ifndef ES_LIFECYCLE_H
#define ES_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"
#include "es_metrics.h"

enum { ES_LC_MEAN, ES_LC_MIN, ES_LC_P0_1, ES_LC_P1, ES_LC_P5, ES_LC_P10, ES_LC_P25, ES_LC_MEDIAN, ES_LC_P75,
       ES_LC_P90, ES_LC_P95, ES_LC_P99, ES_LC_P99_9, ES_LC_MAX, ES_LC_NQ };
extern const char *const es_lc_quantile_names[ES_LC_NQ];   /* "mean", "min", "p0.1", ..., "max" */

typedef struct es_lc_dist {
    double v[ES_LC_NQ];          /* NaN: absent */
} es_lc_dist_t;

enum { ES_LC_LATENCY, ES_LC_NTPOT, ES_LC_TPOT, ES_LC_TTFT, ES_LC_ITL, ES_LC_NLAT };
extern const char *const es_lc_latency_names[ES_LC_NLAT];  /* "request_latency", ... */

typedef struct es_lc_stats {
    uint64_t     count;              /* load_summary.count: requests sent */
    double       send_duration_s;    /* stages only; NaN absent */
    double       requested_rate, achieved_rate;
    uint64_t     successes, failures;
    es_lc_dist_t lat[ES_LC_NLAT];    /* seconds */
    es_lc_dist_t prompt_len, output_len;
    double       input_tps, output_tps, total_tps, rps;
} es_lc_stats_t;

void es_lc_stats_init(es_lc_stats_t *s);

/* Statistics of the records of one stage (ES_ALL_STAGES: all), as the
 * benchmark computes them.  real_itl (es_metrics_itl: the pooled real gaps,
 * ms) gives the ITL median, p90, p95 and p99 when stamps_per_token is 1;
 * NULL leaves them absent. */
int es_lc_compute(const es_req_record_t *recs, size_t n, uint32_t stage, int stamps_per_token, int trailing_stamps,
                  double requested_rate, const es_lat_stats_t *real_itl, es_lc_stats_t *out);

/* The JSON text of one lifecycle-metrics file (caller frees). */
char *es_lc_to_json(const es_lc_stats_t *s, bool stage);
/* Reads one lifecycle-metrics file. */
int es_lc_read(const char *path, es_lc_stats_t *out, es_err_t *err);

#endif /* ES_LIFECYCLE_H */
