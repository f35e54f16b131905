/* results_config.c -- the `results` section's schema (its defaults). */
#include "es_results_config.h"

#include <stddef.h>

#include "es_time.h"

static const char *const k_client_metrics[] = {"auto", "on", "off", NULL};
#define C(x) offsetof(es_client_config_t, x)
static const es_schema_entry_t k_client[] = {
    {"metrics", ES_ST_ENUM, C(metrics), "auto", 0, 0, k_client_metrics, "",
     "client-side metrics next to eppsim's (summary.json `client`): auto = when the workload is a benchmark "
     "client (workload.inference_perf, workload.vllm_bench)", NULL},
    {"timestamps_per_token", ES_ST_INT, C(timestamps_per_token), "0", 0, 16, NULL, "",
     "stamps the client takes per streamed token; 0 = the client's own (inference-perf 2025-10: 2, one per SSE "
     "line and blank separator; others 1)", NULL},
    {"trailing_timestamps", ES_ST_INT, C(trailing_timestamps), "-1", -1, 16, NULL, "",
     "stamps after the last token (`data: [DONE]` and its blank line); -1 = the client's own (2025-10: 2; others 0)",
     NULL},
    {"event_gap_us", ES_ST_DOUBLE, C(event_gap_us), "0", 0, 1e9, NULL, "us",
     "time between a token's first stamp and its further ones (and the trailing ones)", NULL},
    {"output_count_scale", ES_ST_DOUBLE, C(output_count_scale), "1", 0.01, 100, NULL, "",
     "output tokens as the client counts them (re-tokenising the text it got) per token generated; scales the "
     "client's output_len, normalized TPOT, per-token time and output tokens/s (not its stamps)", NULL},
};
#undef C
ES_SCHEMA_DEFINE(k_client_schema, "results.client", k_client);

#define R(x) offsetof(es_results_config_t, x)
static const es_schema_entry_t k_results[] = {
    {"warmup_s", ES_ST_DOUBLE, R(warmup_s), "0", 0, ES_TIME_MAX_S, NULL, "s",
     "requests arriving before this are excluded from latency statistics", NULL},
    {"cooldown_s", ES_ST_DOUBLE, R(cooldown_s), "0", 0, ES_TIME_MAX_S, NULL, "s",
     "requests arriving in the last cooldown_s of arrivals are excluded", NULL},
    {"timeseries_interval_ms", ES_ST_DOUBLE, R(timeseries_interval_ms), "1000", 1, 1e9, NULL, "ms",
     "sampling period of timeseries.csv", NULL},
    {"slo_ttft_ms", ES_ST_DOUBLE, R(slo_ttft_ms), "2000", 0, ES_TIME_MAX_S * 1e3, NULL, "ms", "goodput TTFT threshold", NULL},
    {"slo_tpot_ms", ES_ST_DOUBLE, R(slo_tpot_ms), "100", 0, ES_TIME_MAX_S * 1e3, NULL, "ms", "goodput TPOT threshold", NULL},
    {"batch_count", ES_ST_INT, R(batch_count), "10", 2, 1000, NULL, "",
     "batches for batch-means confidence intervals", NULL},
    {"plots", ES_ST_BOOL, R(plots), "true", 0, 0, NULL, "", "draw plots with gnuplot after the run", NULL},
    {"requests_csv", ES_ST_BOOL, R(requests_csv), "true", 0, 0, NULL, "", "write requests.csv", NULL},
    {"oracle", ES_ST_BOOL, R(oracle), "true", 0, 0, NULL, "",
     "compute the oracle hit rate (an infinite shared cache; costs ~16 bytes per distinct 16-token block)", NULL},
    {"client", ES_ST_SECTION, R(client), NULL, 0, 0, NULL, "",
     "client-side metrics as a benchmark client computes them (docs/results.md)", &k_client_schema},
};
#undef R
ES_SCHEMA_DEFINE(es_results_schema, "results", k_results);
