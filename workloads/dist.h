/*
 * dist.h -- internal: length distributions and Zipf draws for the workload.
 *
 * A length distribution (es_dist_config_t) draws token counts, rounded and
 * clamped to [min, max]; the empirical one resamples a trace's lengths (held
 * as a uint32 array: 4 bytes a request).  Zipf uses rejection-inversion
 * (Hormann & Derflinger), O(1) memory for any number of items.
 */
#ifndef ESI_WL_DIST_H
#define ESI_WL_DIST_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

#include "es_err.h"
#include "es_rng.h"
#include "es_workload_config.h"

typedef struct esi_dist {
    int       kind;         /* ES_DIST_* */
    double    a, b;         /* normal: mean, std; lognormal: zeta, sigma; uniform: lo, hi */
    double    min, max;
    uint32_t *values;       /* empirical samples (owned) */
    size_t    nvalues;
} esi_dist_t;

/* base_dir resolves a relative empirical file; path names the key in errors. */
int  esi_dist_init(esi_dist_t *d, const es_dist_config_t *cfg, const char *base_dir,
                   const char *path, es_err_t *err);
void esi_dist_fini(esi_dist_t *d);
/* One draw (>= 1).  r is a gsl_rng made by es_gsl_rng_new. */
uint32_t esi_dist_draw(const esi_dist_t *d, gsl_rng *r);
/* Normal(mean, std) rounded, truncated to >= 1. */
uint32_t esi_normal_len(gsl_rng *r, double mean, double std);

typedef struct esi_zipf {
    uint64_t n;
    double   s;
    double   hx1, hn, sc;   /* rejection-inversion constants */
} esi_zipf_t;

void     esi_zipf_init(esi_zipf_t *z, uint64_t n, double s);
/* Item in [0, n): item 0 is the most popular.  s == 0 is uniform. */
uint64_t esi_zipf_draw(const esi_zipf_t *z, es_rng_t *r);

/* Resolves rel against base_dir into buf (absolute paths and NULL base pass through). */
const char *esi_resolve(const char *base_dir, const char *rel, char *buf, size_t size);

#endif /* ESI_WL_DIST_H */
