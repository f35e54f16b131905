/*
 * dist.c -- length distributions and Zipf draws (dist.h).
 */
#include "dist.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_gsl.h"
#include "es_trace.h"

const char *esi_resolve(const char *base_dir, const char *rel, char *buf, size_t size)
{
    if (!base_dir || !*base_dir || rel[0] == '/') snprintf(buf, size, "%s", rel);
    else snprintf(buf, size, "%s/%s", base_dir, rel);
    return buf;
}

static int load_empirical(esi_dist_t *d, const es_dist_config_t *cfg, const char *base_dir,
                          const char *path, es_err_t *err)
{
    if (!cfg->file || !*cfg->file)
        return es_err_set(err, ES_EINVAL, "%s.file: an empirical distribution needs a trace file", path);
    char file[4096];
    esi_resolve(base_dir, cfg->file, file, sizeof file);
    es_trace_t *t;
    int rc = es_trace_open(file, ES_TRACE_AUTO, 512, false, &t, err);
    if (rc < 0) return rc;
    size_t cap = 0;
    es_trace_rec_t rec;
    while ((rc = es_trace_next(t, &rec, err)) == 1) {
        if (d->nvalues == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            uint32_t *v = realloc(d->values, ncap * sizeof *v);
            if (!v) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); break; }
            d->values = v;
            cap = ncap;
        }
        uint32_t x = cfg->column == 0 ? rec.input_tokens : rec.output_tokens;
        d->values[d->nvalues++] = x ? x : 1;
    }
    es_trace_close(t);
    if (rc < 0) return rc;
    if (d->nvalues == 0) return es_err_set(err, ES_EINVAL, "%s.file: %s has no requests", path, file);
    return 0;
}

int esi_dist_init(esi_dist_t *d, const es_dist_config_t *cfg, const char *base_dir,
                  const char *path, es_err_t *err)
{
    memset(d, 0, sizeof *d);
    d->kind = cfg->dist;
    d->min = cfg->min;
    d->max = cfg->max;
    if (d->max < d->min) return es_err_set(err, ES_EINVAL, "%s: max (%g) is below min (%g)", path, d->max, d->min);
    switch (cfg->dist) {
    case ES_DIST_CONSTANT: d->a = cfg->mean; break;
    case ES_DIST_NORMAL: d->a = cfg->mean; d->b = cfg->std; break;
    case ES_DIST_LOGNORMAL: {
        if (cfg->mean <= 0) return es_err_set(err, ES_EINVAL, "%s.mean: lognormal needs mean > 0", path);
        double s2 = log1p((cfg->std * cfg->std) / (cfg->mean * cfg->mean));
        d->a = log(cfg->mean) - s2 / 2;
        d->b = sqrt(s2);
        break;
    }
    case ES_DIST_UNIFORM: d->a = cfg->min; d->b = cfg->max; break;
    case ES_DIST_EMPIRICAL: return load_empirical(d, cfg, base_dir, path, err);
    default: return es_err_set(err, ES_EINVAL, "%s.dist: unknown distribution", path);
    }
    return 0;
}

void esi_dist_fini(esi_dist_t *d) { free(d->values); d->values = NULL; }

static uint32_t clamp_round(double x, double lo, double hi)
{
    if (!(x >= lo)) x = lo;   /* also catches NaN */
    if (x > hi) x = hi;
    x = floor(x + 0.5);
    return x < 1 ? 1 : x > 4e9 ? 4000000000u : (uint32_t)x;
}

uint32_t esi_dist_draw(const esi_dist_t *d, gsl_rng *r)
{
    switch (d->kind) {
    case ES_DIST_CONSTANT: return clamp_round(d->a, d->min, d->max);
    case ES_DIST_NORMAL: return clamp_round(d->a + gsl_ran_gaussian_ziggurat(r, d->b), d->min, d->max);
    case ES_DIST_LOGNORMAL: return clamp_round(gsl_ran_lognormal(r, d->a, d->b), d->min, d->max);
    case ES_DIST_UNIFORM: return clamp_round(d->a + (d->b - d->a) * gsl_rng_uniform(r), d->min, d->max);
    case ES_DIST_EMPIRICAL:
        return clamp_round(d->values[es_rng_below(es_gsl_rng_state(r), d->nvalues)], d->min, d->max);
    default: ES_ASSERT(0, "bad distribution kind"); return 1;
    }
}

uint32_t esi_normal_len(gsl_rng *r, double mean, double std)
{
    double x = std > 0 ? mean + gsl_ran_gaussian_ziggurat(r, std) : mean;
    return clamp_round(x, 1, 4e9);
}

/* ---- Zipf by rejection-inversion: P(k) ~ 1/k^s for k = 1..n ---- */

static double helper1(double x) { return fabs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x / 3); }
static double helper2(double x) { return fabs(x) > 1e-8 ? expm1(x) / x : 1 + x * (0.5 + x / 6); }
static double zh(double s, double x) { return exp(-s * log(x)); }
static double zH(double s, double x) { double lx = log(x); return helper2((1 - s) * lx) * lx; }
static double zHinv(double s, double x)
{
    double t = x * (1 - s);
    if (t < -1) t = -1;   /* guard rounding at the boundary */
    return exp(helper1(t) * x);
}

void esi_zipf_init(esi_zipf_t *z, uint64_t n, double s)
{
    ES_ASSERT(n > 0, "zipf needs n > 0");
    z->n = n;
    z->s = s;
    if (s <= 0) return;
    z->hx1 = zH(s, 1.5) - 1;
    z->hn = zH(s, (double)n + 0.5);
    z->sc = 2 - zHinv(s, zH(s, 2.5) - zh(s, 2));
}

uint64_t esi_zipf_draw(const esi_zipf_t *z, es_rng_t *r)
{
    if (z->s <= 0 || z->n == 1) return es_rng_below(r, z->n);
    double s = z->s;
    for (;;) {
        double u = z->hn + es_rng_uniform(r) * (z->hx1 - z->hn);
        double x = zHinv(s, u);
        double kd = floor(x + 0.5);
        if (kd < 1) kd = 1;
        if (kd > (double)z->n) kd = (double)z->n;
        if (kd - x <= z->sc || u >= zH(s, kd + 0.5) - zh(s, kd)) return (uint64_t)kd - 1;
    }
}
