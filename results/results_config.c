/* results_config.c -- the `results` section's schema (its defaults). */
#include "es_results_config.h"

#include <stddef.h>

#include "es_time.h"

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
};
#undef R
ES_SCHEMA_DEFINE(es_results_schema, "results", k_results);
