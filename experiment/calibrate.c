/*
 * calibrate.c -- rows, folds and scores of `eppsim calibrate` (es_calibrate.h).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_multifit.h>

#include "es_calibrate.h"

const int es_cal_fig[ES_CAL_NFIG] = {ES_VF_E2E_MEAN, ES_VF_TTFT_MEAN, ES_VF_PER_TOKEN};

int es_cal_holdout_parse(const char *s, es_cal_holdout_t *h)
{
    if (!strcmp(s, "none")) *h = ES_CAL_HOLD_NONE;
    else if (!strcmp(s, "loeo")) *h = ES_CAL_HOLD_LOEO;
    else if (!strcmp(s, "lomo")) *h = ES_CAL_HOLD_LOMO;
    else return -1;
    return 0;
}

void es_cal_model_key(const char *experiment, char *buf, size_t size)
{
    buf[0] = '\0';
    const char *m = experiment ? strstr(experiment, "\n  model: ") : NULL;
    if (!m || size == 0) return;
    m += 10;
    size_t len = strcspn(m, "\n");
    for (const char *slash; (slash = memchr(m, '/', len));) {   /* basename */
        len -= (size_t)(slash + 1 - m);
        m = slash + 1;
    }
    while (len && (*m == '"' || *m == '\'' || *m == ' ')) { m++; len--; }
    while (len && (m[len - 1] == '"' || m[len - 1] == '\'' || m[len - 1] == ' ')) len--;
    if (len > 5 && !strncmp(m + len - 5, ".json", 5)) len -= 5;   /* a config.json read from a folder */
    if (len >= size) len = size - 1;
    for (size_t i = 0; i < len; i++) buf[i] = (char)tolower((unsigned char)m[i]);
    buf[len] = '\0';
}

size_t es_cal_dedupe(const es_val_run_t *runs, size_t n, bool *keep)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        keep[i] = true;
        for (size_t j = 0; j < i && keep[i]; j++)
            if (keep[j] && !strcmp(runs[i].name, runs[j].name)) keep[i] = false;
        kept += keep[i];
    }
    return kept;
}

int es_cal_folds(const es_val_run_t *runs, size_t n, const bool *keep, es_cal_holdout_t h, int *fold)
{
    char (*key)[160] = calloc(n ? n : 1, sizeof *key);
    if (!key) return -1;
    int folds = 0;
    for (size_t i = 0; i < n; i++) {
        fold[i] = -1;
        if (!keep[i]) continue;
        if (h == ES_CAL_HOLD_NONE) { fold[i] = 0; folds = 1; continue; }
        if (h == ES_CAL_HOLD_LOEO) { fold[i] = folds++; continue; }
        es_cal_model_key(runs[i].experiment, key[i], sizeof key[i]);
        for (size_t j = 0; j < i && fold[i] < 0; j++)
            if (fold[j] >= 0 && !strcmp(key[i], key[j])) fold[i] = fold[j];
        if (fold[i] < 0) fold[i] = folds++;
    }
    free(key);
    return folds;
}

size_t es_cal_rows(const es_val_run_t *runs, size_t n, const bool *keep, es_cal_row_t *rows)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (keep && !keep[i]) continue;
        if (runs[i].nstages > 1)
            for (size_t s = 0; s < runs[i].nstages; s++) rows[k++] = (es_cal_row_t){i, s};
        rows[k++] = (es_cal_row_t){i, runs[i].nstages};
    }
    return k;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void es_cal_stats(const es_val_run_t *runs, const es_cal_row_t *rows, size_t nrows, const bool *sel,
                  es_cal_stats_t *st)
{
    memset(st, 0, sizeof *st);
    double *v = malloc((nrows ? nrows : 1) * sizeof *v);
    for (int q = 0; q < ES_CAL_NFIG; q++) {
        size_t k = 0;
        double worst = 0;
        for (size_t i = 0; i < nrows; i++) {
            if (sel && !sel[i]) continue;
            const es_val_run_t *r = &runs[rows[i].run];
            double m = r->measured[rows[i].stage].v[es_cal_fig[q]], s = r->simulated[rows[i].stage].v[es_cal_fig[q]];
            if (!(isfinite(m) && m > 0)) continue;   /* not measured */
            double ratio = r->rc == 0 && isfinite(s) && s > 0 ? (s > m ? s / m : m / s) : INFINITY;
            if (ratio > worst) worst = ratio;
            if (ratio > 2) st->off2x++;
            if (v) v[k++] = isfinite(ratio) ? 100 * fabs(s - m) / m : INFINITY;
        }
        if (v && k) qsort(v, k, sizeof *v, cmp_d);
        st->n[q] = k;
        st->median_ape[q] = !v || k == 0 ? NAN : k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
        st->max_ratio[q] = k ? worst : NAN;
    }
    free(v);
}

double es_cal_row_loss(const es_val_run_t *runs, const es_cal_row_t *row)
{
    const es_val_run_t *r = &runs[row->run];
    double l = 0;
    for (int q = 0; q < ES_CAL_NFIG; q++) {
        double m = r->measured[row->stage].v[es_cal_fig[q]], s = r->simulated[row->stage].v[es_cal_fig[q]];
        if (!(isfinite(m) && m > 0)) continue;
        l += r->rc == 0 && isfinite(s) && s > 0 ? fabs(log(s / m)) : 30.0;
    }
    return l;
}

size_t es_cal_quad_terms(int p) { return 1 + (size_t)p + (size_t)p * ((size_t)p + 1) / 2; }

void es_cal_quad_features(int p, const double *x, double *f)
{
    size_t k = 0;
    f[k++] = 1;
    for (int i = 0; i < p; i++) f[k++] = x[i];
    for (int i = 0; i < p; i++)
        for (int j = i; j < p; j++) f[k++] = x[i] * x[j];
}

double es_cal_quad_eval(int p, const double *coef, const double *x)
{
    double f[64], v = 0;
    size_t nt = es_cal_quad_terms(p);
    if (nt > 64) return NAN;
    es_cal_quad_features(p, x, f);
    for (size_t k = 0; k < nt; k++) v += coef[k] * f[k];
    return v;
}

int es_cal_quad_fit(int p, size_t npts, const double *X, const double *y, double *coef)
{
    size_t nt = es_cal_quad_terms(p), m = 0;
    if (nt > 64) return -1;
    for (size_t i = 0; i < npts; i++) m += isfinite(y[i]);
    if (m < nt) return -1;
    gsl_matrix *A = gsl_matrix_alloc(m, nt), *cov = gsl_matrix_alloc(nt, nt);
    gsl_vector *b = gsl_vector_alloc(m), *c = gsl_vector_alloc(nt);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(m, nt);
    int rc = -1;
    if (A && cov && b && c && w) {
        double f[64], chisq;
        for (size_t i = 0, r = 0; i < npts; i++) {
            if (!isfinite(y[i])) continue;
            es_cal_quad_features(p, X + i * (size_t)p, f);
            for (size_t k = 0; k < nt; k++) gsl_matrix_set(A, r, k, f[k]);
            gsl_vector_set(b, r++, y[i]);
        }
        if (gsl_multifit_linear(A, b, c, cov, &chisq, w) == 0) {
            for (size_t k = 0; k < nt; k++) coef[k] = gsl_vector_get(c, k);
            rc = 0;
        }
    }
    if (w) gsl_multifit_linear_free(w);
    if (A) gsl_matrix_free(A);
    if (cov) gsl_matrix_free(cov);
    if (b) gsl_vector_free(b);
    if (c) gsl_vector_free(c);
    return rc;
}

size_t es_cal_design_size(int p) { return ((size_t)1 << p) + 2 * (size_t)p + 1; }

size_t es_cal_design(int p, double *unit)
{
    size_t k = 0;
    for (size_t m = 0; m < ((size_t)1 << p); m++, k++)
        for (int i = 0; i < p; i++) unit[k * (size_t)p + (size_t)i] = (m >> i) & 1 ? 1 : -1;
    for (int i = 0; i < p; i++)
        for (int sgn = -1; sgn <= 1; sgn += 2, k++)
            for (int j = 0; j < p; j++) unit[k * (size_t)p + (size_t)j] = j == i ? sgn : 0;
    for (int j = 0; j < p; j++) unit[k * (size_t)p + (size_t)j] = 0;
    return k + 1;
}
