/*
 * es_compare.h -- is CURRENT worse than BASE?  Run and sweep directories.
 *
 * A run directory is compared through its summary.json; a sweep directory
 * through the aggregated rows of its sweep.csv (matched by the values of the
 * swept keys).  Metrics are summary.json key paths ("latency_ms.ttft.p99").
 * Direction: throughput.*, goodput.*, prefix_cache.* and requests.completed /
 * measured_completed are better higher; everything else (latencies,
 * preemptions) better lower.
 *
 * A metric regresses when it is worse by more than its tolerance AND the two
 * 95 % intervals do not overlap; when either side has no interval, the
 * tolerance alone decides.  Intervals: a run's `<metric>_ci` pair, a sweep's
 * across-seed interval.  The change is relative, in percent of |BASE|, except
 * for fractions (names ending in _hit_rate or fraction), whose change is in
 * percentage points, so that a hit rate near 0 does not blow up.
 */
#ifndef ES_COMPARE_H
#define ES_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "es_err.h"

#define ES_COMPARE_DEFAULT_TOLERANCE_PCT 5.0

typedef enum es_compare_format {
    ES_COMPARE_TEXT = 0,
    ES_COMPARE_MARKDOWN,
    ES_COMPARE_JUNIT
} es_compare_format_t;

typedef struct es_compare_options {
    const char *const *metrics;     /* metrics to compare; NULL/0: the default set */
    size_t       nmetrics;
    const char *const *tol_metric;  /* per-metric tolerances: name, or prefix ending in '*' */
    const double *tol_pct;
    size_t       ntol;
    double       default_tol_pct;   /* <0: ES_COMPARE_DEFAULT_TOLERANCE_PCT */
} es_compare_options_t;

typedef struct es_compare_row {
    char  *label;          /* "" for runs; "key=value, ..." for sweep points */
    char  *metric;
    double base, cur;      /* NAN when null or absent */
    double base_lo, base_hi, cur_lo, cur_hi;   /* NAN when no interval */
    double change;         /* cur - base: in % of |base|, or in points for fractions */
    bool   points;         /* change is in percentage points */
    double tolerance;      /* same unit as change */
    bool   higher_better;
    bool   worse;          /* worse by more than the tolerance */
    bool   overlap;        /* both intervals present and overlapping */
    bool   regression;     /* worse && !overlap */
} es_compare_row_t;

typedef struct es_compare {
    size_t            n;
    es_compare_row_t *rows;
    size_t            nregressions;
    size_t            nmissing;    /* rows with a value missing on one side */
    char             *base_dir, *cur_dir;
} es_compare_t;

/* Compares two run or sweep directories (both of the same kind).  Fails with
 * ES_ENOTFOUND / ES_EPARSE / ES_EINVAL and a message for bad input (no
 * summary.json, sweeps without common points, an explicit metric absent). */
int  es_compare_dirs(const char *base, const char *cur, const es_compare_options_t *opt,
                     es_compare_t *out, es_err_t *err);
void es_compare_fini(es_compare_t *c);
void es_compare_write(FILE *f, const es_compare_t *c, es_compare_format_t fmt);

/* True when a larger value of the metric is better. */
bool es_compare_higher_better(const char *metric);

/* The metrics compared when none are named (NULL-terminated). */
extern const char *const es_compare_default_metrics[];

#endif /* ES_COMPARE_H */
