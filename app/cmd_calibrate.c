/*
 * cmd_calibrate.c -- `eppsim calibrate RUN... -o coeffs.yaml`: fits the free
 * coefficients of server.vllm_fidelity (the API server's latency and CPU per
 * request, the engine's non-overlapped CPU per step) to real runs, with the
 * simulator in the loop: every evaluation replays the runs (es_val_replay) on
 * the libuv thread pool, and GSL's Nelder-Mead simplex minimises the sum over
 * runs of |ln(simulated / measured)| of E2E mean, TTFT mean and per-token
 * time (whole run): absolute, so that a few overloaded runs do not outweigh
 * the median run (the targets are median APEs).  --holdout loeo|lomo refits without each experiment or
 * each model and reports the error on the runs left out.
 *
 * --fit steptime fits instead the global coefficients of the analytic step
 * time that decide a decode-heavy run (hbm_efficiency, layer_us, step_us,
 * gemm_efficiency; data/steptime-coeffs.yaml): every evaluation writes them
 * to a coefficients file next to the output that the replays read
 * (server.step_coefficients), and the objective adds the shipped profiles'
 * whole-model points (|ln(analytic / measured)| each, times --profile-weight)
 * to the runs' loss, so the measured kernels stay data of the fit.
 *
 * --fit joint fits both at once: the step-time coefficients and the API
 * server's api_latency_us and api_request_us (a small model's TTFT is mostly
 * the front end, a large one's mostly its prefill step, so only together are
 * they told apart).  The loss and the tables are over rows (es_calibrate.h:
 * each stage of a multi-stage run and each whole run); a run given twice
 * (the same experiment name) counts once.  --rows FILE writes every row's
 * measured, in-sample and held-out figures as CSV.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_multimin.h>
#include <uv.h>

#include "es_calibrate.h"
#include "es_doc.h"
#include "es_cli.h"
#include "es_paths.h"
#include "es_server_config.h"
#include "es_steptime.h"
#include "es_validate.h"

#define NP 6   /* most free coefficients of a fit */

/* A free coefficient: scale > 0: scale * x^2 (never < 0); scale 0: logistic(x)
 * (an efficiency, in (0, 1)).  step: a field of the analytic step time
 * (written to the evaluation's coefficients file), else a server key. */
typedef struct param {
    const char *name;
    double      scale;
    bool        step;
    double      width;   /* --surrogate: the design's half-width in the coordinate */
} param_t;

static const param_t k_par_vf[] = {{"api_latency_us", 10000, false, 0.7}, {"api_request_us", 1000, false, 0.9},
                                   {"engine_sync_us", 1000, false, 0.5}};
static const param_t k_par_st[] = {{"hbm_efficiency", 0, true, 0.6}, {"layer_us", 100, true, 0.3},
                                   {"step_us", 100, true, 0.3}, {"gemm_efficiency", 0, true, 0.6}};
/* step_us (6 us a step) is left out: it trades one for one with layer_us */
static const param_t k_par_joint[] = {{"hbm_efficiency", 0, true, 0.6}, {"layer_us", 100, true, 0.3},
                                      {"gemm_efficiency", 0, true, 0.6}, {"api_latency_us", 10000, false, 0.7},
                                      {"api_request_us", 1000, false, 0.9}};

typedef struct cal {
    es_val_run_t           *base;     /* loaded runs, experiments as loaded */
    es_val_run_t           *work;     /* the copies replayed */
    size_t                  n;
    const es_val_options_t *opt;
    int                     jobs;
    bool                   *in;       /* runs of the objective */
    const es_cal_row_t     *rows;     /* rows of the kept runs */
    size_t                  nrows;
    unsigned                evals;
    bool                    verbose;
    int                     np;
    const param_t          *par;
    es_step_coeffs_t        step;       /* the step coefficients not fitted */
    const char             *step_file;  /* where an evaluation's coefficients go (absolute), or NULL */
    es_profile_points_t    *points;     /* profile points as data, or NULL */
    double                  points_w;
    /* --surrogate */
    double                 *sur;        /* per row and figure: es_cal_quad_terms(np) coefficients */
    bool                   *sur_ok;     /* per row and figure: a surrogate was fitted */
    double                 *ln_meas;    /* per row and figure: ln(measured), NAN when not measured */
    const double           *x0;         /* the design's centre (coordinates) */
} cal_t;

typedef struct job {
    uv_work_t               req;
    es_val_run_t           *run;
    const es_val_options_t *opt;
} job_t;

static void work(uv_work_t *req) { job_t *j = req->data; es_val_replay(j->run, j->opt); }
static void after(uv_work_t *req, int status) { (void)req; (void)status; }

static double coeff(const cal_t *cal, const gsl_vector *x, int k)
{
    double v = gsl_vector_get(x, (size_t)k);
    return cal->par[k].scale > 0 ? cal->par[k].scale * v * v : 1.0 / (1.0 + exp(-v));
}

/* The simplex coordinate of coefficient c; a scaled one at 0 starts at a
 * hundredth of its scale, so that the first simplex (steps of 0.25) reaches
 * an eighth of it (from 0 exactly it would reach only a sixteenth). */
static double coord(const cal_t *cal, double c, int k)
{
    double sc = cal->par[k].scale;
    if (sc > 0) return sqrt((c > 0 ? c : sc / 100) / sc);
    if (c < 0.01) c = 0.01;
    if (c > 0.99) c = 0.99;
    return log(c / (1 - c));
}

/* The step coefficients with the fitted ones at c. */
static es_step_coeffs_t step_at(const cal_t *cal, const double *c)
{
    es_step_coeffs_t k = cal->step;
    for (int i = 0; i < cal->np; i++) {
        const char *nm = cal->par[i].name;
        if (!cal->par[i].step) continue;
        if (!strcmp(nm, "hbm_efficiency")) k.hbm_eff = c[i];
        else if (!strcmp(nm, "layer_us")) k.layer_us = c[i];
        else if (!strcmp(nm, "step_us")) k.step_us = c[i];
        else if (!strcmp(nm, "gemm_efficiency")) k.gemm_eff = c[i];
    }
    return k;
}

static int write_step(FILE *f, const es_step_coeffs_t *k)
{
    return fprintf(f, "analytic:\n  gemm_efficiency: %.4f\n  attention_efficiency: %.4f\n  hbm_efficiency: %.4f\n"
                      "  link_efficiency: %.4g\n  allreduce_latency_us: %.4g\n  layer_us: %.3f\n  step_us: %.2f\n"
                      "  smoothness: %.3f\n",
                   k->gemm_eff, k->attn_eff, k->hbm_eff, k->link_eff, k->allreduce_us, k->layer_us, k->step_us,
                   k->smooth) < 0 ? -1 : 0;
}

/* The run's experiment with the coefficients set in its server block. */
static char *patched(const cal_t *cal, const char *yaml, const double *c)
{
    char add[1400];
    int m = 0;
    if (cal->step_file) m = snprintf(add, sizeof add, "  step_coefficients: \"%s\"\n", cal->step_file);
    for (int k = 0; k < cal->np; k++)
        if (!cal->par[k].step) m += snprintf(add + m, sizeof add - (size_t)m, "  %s: %.6g\n", cal->par[k].name, c[k]);
    const char *at = strstr(yaml, "\nserver:\n");
    size_t len = strlen(yaml), cut = at ? (size_t)(at - yaml) + 9 : len;
    char *out = malloc(len + (size_t)m + 16);
    if (!out) return NULL;
    memcpy(out, yaml, cut);
    size_t o = cut;
    if (!at) o += (size_t)sprintf(out + o, "\nserver:\n");
    memcpy(out + o, add, (size_t)m);
    memcpy(out + o + (size_t)m, yaml + cut, len - cut + 1);
    return out;
}

/* Replays the runs with mask[i] at coefficients c (on the thread pool). */
static int replay(cal_t *cal, const double *c, const bool *mask)
{
    if (cal->step_file) {   /* the replays read this evaluation's coefficients */
        FILE *f = fopen(cal->step_file, "w");
        es_step_coeffs_t k = step_at(cal, c);
        if (!f) return -1;
        int bad = write_step(f, &k);
        if (fclose(f) != 0 || bad) return -1;
    }
    uv_loop_t loop;
    if (uv_loop_init(&loop)) return -1;
    job_t *js = calloc(cal->n, sizeof *js);
    if (!js) { uv_loop_close(&loop); return -1; }
    for (size_t i = 0; i < cal->n; i++) {
        if (!mask[i]) continue;
        free(cal->work[i].experiment);
        cal->work[i] = cal->base[i];
        cal->work[i].experiment = patched(cal, cal->base[i].experiment, c);
        if (!cal->work[i].experiment) { cal->work[i].rc = -1; continue; }
        js[i] = (job_t){.run = &cal->work[i], .opt = cal->opt};
        js[i].req.data = &js[i];
        if (uv_queue_work(&loop, &js[i].req, work, after)) es_val_replay(&cal->work[i], cal->opt);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(js);
    return 0;
}

static double objective(const gsl_vector *x, void *ud)
{
    cal_t *cal = ud;
    double c[NP];
    for (int k = 0; k < cal->np; k++) c[k] = coeff(cal, x, k);
    if (replay(cal, c, cal->in)) return GSL_POSINF;
    cal->evals++;
    double l = 0;
    for (size_t i = 0; i < cal->nrows; i++)
        if (cal->in[cal->rows[i].run]) l += es_cal_row_loss(cal->work, &cal->rows[i]);
    if (cal->points) {
        es_step_coeffs_t k = step_at(cal, c);
        l += cal->points_w * es_profile_points_loss(cal->points, &k, NULL);
    }
    if (cal->verbose) {
        fprintf(stderr, "  eval %3u:", cal->evals);
        for (int k = 0; k < cal->np; k++) fprintf(stderr, " %s %.4g", cal->par[k].name, c[k]);
        fprintf(stderr, " -> %.5f\n", l);
    }
    return l;
}

/* The surrogate loss over the training rows: as objective(), with each row
 * figure's ln(simulated) from its quadratic, plus a steep wall outside the
 * design (the surrogates do not extrapolate). */
static double sur_objective(const gsl_vector *x, void *ud)
{
    cal_t *cal = ud;
    size_t nt = es_cal_quad_terms(cal->np);
    double xv[NP], c[NP], l = 0;
    for (int k = 0; k < cal->np; k++) {
        xv[k] = gsl_vector_get(x, (size_t)k);
        c[k] = coeff(cal, x, k);
        double d = fabs(xv[k] - cal->x0[k]) - cal->par[k].width;
        if (d > 0) l += 1e3 * d * d;
    }
    for (size_t i = 0; i < cal->nrows; i++) {
        if (!cal->in[cal->rows[i].run]) continue;
        for (int q = 0; q < ES_CAL_NFIG; q++) {
            size_t j = i * ES_CAL_NFIG + (size_t)q;
            if (cal->sur_ok[j]) l += fabs(es_cal_quad_eval(cal->np, cal->sur + j * nt, xv) - cal->ln_meas[j]);
        }
    }
    if (cal->points) {
        es_step_coeffs_t k = step_at(cal, c);
        l += cal->points_w * es_profile_points_loss(cal->points, &k, NULL);
    }
    return l;
}

/* Replays the design around x0 and fits every row figure's surrogate.
 * Returns how many row figures have none (not measured, or the run failed
 * at too many design points), or -1. */
static long sur_build(cal_t *cal, const double *x0, const bool *all)
{
    int p = cal->np;
    size_t nd = es_cal_design_size(p), nt = es_cal_quad_terms(p), nf = cal->nrows * ES_CAL_NFIG;
    double *unit = malloc(nd * (size_t)p * sizeof *unit), *X = malloc(nd * (size_t)p * sizeof *X);
    double *Y = malloc(nf * nd * sizeof *Y), *y = malloc(nd * sizeof *y);
    cal->sur = calloc(nf * nt, sizeof *cal->sur);
    cal->sur_ok = calloc(nf, sizeof *cal->sur_ok);
    cal->ln_meas = malloc(nf * sizeof *cal->ln_meas);
    long missing = -1;
    if (!unit || !X || !Y || !y || !cal->sur || !cal->sur_ok || !cal->ln_meas) goto out;
    es_cal_design(p, unit);
    for (size_t d = 0; d < nd; d++) {
        double c[NP];
        for (int k = 0; k < p; k++) {
            X[d * (size_t)p + (size_t)k] = x0[k] + cal->par[k].width * unit[d * (size_t)p + (size_t)k];
            double v = X[d * (size_t)p + (size_t)k];
            c[k] = cal->par[k].scale > 0 ? cal->par[k].scale * v * v : 1.0 / (1.0 + exp(-v));
        }
        if (replay(cal, c, all)) goto out;
        cal->evals++;
        for (size_t i = 0; i < cal->nrows; i++) {
            const es_val_run_t *r = &cal->work[cal->rows[i].run];
            for (int q = 0; q < ES_CAL_NFIG; q++) {
                double s = r->simulated[cal->rows[i].stage].v[es_cal_fig[q]];
                Y[(i * ES_CAL_NFIG + (size_t)q) * nd + d] = r->rc == 0 && isfinite(s) && s > 0 ? log(s) : NAN;
            }
        }
        if (cal->verbose) fprintf(stderr, "  design point %zu/%zu\n", d + 1, nd);
    }
    missing = 0;
    for (size_t i = 0; i < cal->nrows; i++) {
        const es_val_run_t *b = &cal->base[cal->rows[i].run];
        for (int q = 0; q < ES_CAL_NFIG; q++) {
            size_t j = i * ES_CAL_NFIG + (size_t)q;
            double m = b->measured[cal->rows[i].stage].v[es_cal_fig[q]];
            cal->ln_meas[j] = isfinite(m) && m > 0 ? log(m) : NAN;
            memcpy(y, Y + j * nd, nd * sizeof *y);
            cal->sur_ok[j] = isfinite(cal->ln_meas[j]) && es_cal_quad_fit(p, nd, X, y, cal->sur + j * nt) == 0;
            if (isfinite(cal->ln_meas[j]) && !cal->sur_ok[j]) missing++;
        }
    }
out:
    free(unit);
    free(X);
    free(Y);
    free(y);
    return missing;
}

/* Nelder-Mead on the surrogates from x0 (x: the result), restarted until it
 * stops improving. */
static double sur_fit(cal_t *cal, const double *x0, gsl_vector *x)
{
    size_t np = (size_t)cal->np;
    gsl_multimin_function fn = {sur_objective, np, cal};
    gsl_multimin_fminimizer *m = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, np);
    gsl_vector *step = gsl_vector_alloc(np);
    for (size_t k = 0; k < np; k++) gsl_vector_set(x, k, x0[k]);
    double best = INFINITY;
    for (int round = 0; round < 6; round++) {
        for (size_t k = 0; k < np; k++) gsl_vector_set(step, k, cal->par[k].width / 2);
        gsl_multimin_fminimizer_set(m, &fn, x, step);
        for (int it = 0; it < 5000; it++) {
            if (gsl_multimin_fminimizer_iterate(m)) break;
            if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(m), 1e-5) == GSL_SUCCESS) break;
        }
        double v = gsl_multimin_fminimizer_minimum(m);
        gsl_vector_memcpy(x, gsl_multimin_fminimizer_x(m));
        if (!(v < best - 1e-7)) { best = v < best ? v : best; break; }
        best = v;
    }
    gsl_vector_free(step);
    gsl_multimin_fminimizer_free(m);
    return best;
}

/* Nelder-Mead from x (updated in place). */
static double fit(cal_t *cal, gsl_vector *x, int iters)
{
    size_t np = (size_t)cal->np;
    gsl_multimin_function fn = {objective, np, cal};
    gsl_multimin_fminimizer *m = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, np);
    gsl_vector *step = gsl_vector_alloc(np);
    gsl_vector_set_all(step, 0.25);
    gsl_multimin_fminimizer_set(m, &fn, x, step);
    for (int it = 0; it < iters; it++) {
        if (gsl_multimin_fminimizer_iterate(m)) break;
        if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(m), 0.02) == GSL_SUCCESS) break;
    }
    gsl_vector_memcpy(x, gsl_multimin_fminimizer_x(m));
    double best = gsl_multimin_fminimizer_minimum(m);
    gsl_vector_free(step);
    gsl_multimin_fminimizer_free(m);
    return best;
}

/* One line per kind of row: median APE per figure, then the largest ratio per figure. */
static void report(FILE *f, const char *what, const es_val_run_t *runs, const cal_t *cal)
{
    bool *sel = calloc(cal->nrows ? cal->nrows : 1, sizeof *sel);
    if (!sel) return;
    for (int kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < cal->nrows; i++)
            sel[i] = kind == 2 || (kind == 1) == es_cal_row_whole(runs, &cal->rows[i]);
        es_cal_stats_t st;
        es_cal_stats(runs, cal->rows, cal->nrows, sel, &st);
        char label[96];
        snprintf(label, sizeof label, "%s, %s (%zu)", what, kind == 0 ? "stages" : kind == 1 ? "whole runs" : "all rows",
                 st.n[ES_CAL_E2E]);
        fprintf(f, "%-44s", label);
        for (int q = 0; q < ES_CAL_NFIG; q++) fprintf(f, " %9.1f", st.median_ape[q]);
        for (int q = 0; q < ES_CAL_NFIG; q++) fprintf(f, " %8.2f", st.max_ratio[q]);
        fprintf(f, " %7zu\n", st.off2x);
    }
    free(sel);
}

/* Every row: measured, in-sample and held-out figures (CSV, written atomically). */
static int write_rows(const char *path, const cal_t *cal, const es_val_run_t *fitted, es_val_run_t *const *held,
                      const es_cal_holdout_t *hk, int nh)
{
    static const char *const hname[] = {"none", "loeo", "lomo"};
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    static const char *const fig[ES_CAL_NFIG] = {"e2e_mean_ms", "ttft_mean_ms", "per_token_ms"};
    fprintf(f, "run,model,source,stage,figure,measured,fitted");
    for (int h = 0; h < nh; h++) fprintf(f, ",%s", hname[hk[h]]);
    fprintf(f, "\n");
    for (size_t i = 0; i < cal->nrows; i++) {
        const es_cal_row_t *r = &cal->rows[i];
        const es_val_run_t *b = &cal->base[r->run];
        char model[160];
        es_cal_model_key(b->experiment, model, sizeof model);
        for (int q = 0; q < ES_CAL_NFIG; q++) {
            int v = es_cal_fig[q];
            char st[16];
            if (es_cal_row_whole(cal->base, r)) snprintf(st, sizeof st, "run");
            else snprintf(st, sizeof st, "%zu", r->stage);
            fprintf(f, "\"%s\",%s,%s,%s,%s,%.6g,%.6g", b->name, model, b->kind, st, fig[q], b->measured[r->stage].v[v],
                    fitted[r->run].rc ? NAN : fitted[r->run].simulated[r->stage].v[v]);
            for (int h = 0; h < nh; h++)
                fprintf(f, ",%.6g", !held[h] || held[h][r->run].rc ? NAN : held[h][r->run].simulated[r->stage].v[v]);
            fprintf(f, "\n");
        }
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) { remove(tmp); return -1; }
    return 0;
}

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: eppsim calibrate [options] RUN... -o COEFFS.yaml\n\n"
               "Fits server.vllm_fidelity's free coefficients (api_latency_us, api_request_us, engine_sync_us)\n"
               "to real runs (the sources `eppsim validate` reads), simulator in the loop on the thread pool\n"
               "(GSL Nelder-Mead on |ln(simulated/measured)| of E2E mean, TTFT mean and per-token time, over\n"
               "each stage of a multi-stage run and each whole run), and writes them as a server: block with\n"
               "their data and fit in comments.  A run given twice (same name) counts once.\n\n"
               "--fit steptime fits instead the analytic step time's global hbm_efficiency, layer_us, step_us\n"
               "and gemm_efficiency (data/steptime-coeffs.yaml), the shipped profiles' whole-model points\n"
               "included as data, and writes a coefficients file (server.step_coefficients reads it);\n"
               "--fit joint fits those four and api_latency_us, api_request_us together and writes both.\n\n"
               "options:\n"
               "  -o, --out FILE             the coefficients (YAML; required)\n"
               "      --fit WHAT             vllm-fidelity (default), steptime or joint\n"
               "      --profile-weight W     steptime, joint: weight of each profile point (default 0.25; 0: none)\n"
               "      --holdout H[,H]        none (default), loeo (leave one experiment out) or lomo (leave\n"
               "                             one model out), or both: refit per fold, report the rows left out\n"
               "      --surrogate            fit a quadratic response surface of every row's ln(simulated) to a\n"
               "                             design of 2^p + 2p + 1 replays around the start, minimise over\n"
               "                             the surrogates (the full fit, and each fold over its training\n"
               "                             rows), then replay for real at each fit: the in-sample and\n"
               "                             held-out figures are always simulated, never predicted\n"
               "      --rows FILE            every row's measured, fitted and held-out figures (CSV)\n"
               "      --start FILE           start (the design's centre) at the free coefficients this file gives\n"
               "                             (analytic.NAME, server.NAME, as calibrate writes them) instead of\n"
               "                             the shipped ones\n"
               "      --iterations N         simplex iterations of the full fit (default 30)\n"
               "      --fold-iterations N    of each hold-out fold's fit (default: --iterations); a fold starts\n"
               "                             where the full fit started (the shipped defaults), never from\n"
               "                             the full fit, which saw the fold's rows\n"
               "  -j, --jobs N               replays at once (default: CPUs)\n"
               "      --model-configs DIR, --gpu NAME, --vllm-version V, --vllm-args ARGS,\n"
               "      --inference-perf-version V, --client-stamps N, -s/--seed N: as eppsim validate\n"
               "  -v, --verbose              every evaluation on stderr\n"
               "  -h, --help                 this help\n"
               "exit codes: 0 ok, 2 bad input, a failed replay or an output error.\n");
    return rc;
}

/* The free coefficients --start gives (analytic.NAME or server.NAME; the
 * others keep the shipped values). */
static int start_from(const char *path, const cal_t *cal, double *start, es_err_t *err)
{
    es_doc_t *doc;
    int rc = es_doc_load_file(path, &doc, err);
    if (rc) return rc;
    for (int k = 0; k < cal->np && !rc; k++) {
        char key[96];
        snprintf(key, sizeof key, "%s.%s", cal->par[k].step ? "analytic" : "server", cal->par[k].name);
        const es_node_t *n = doc->root ? es_node_find(doc->root, key) : NULL;
        if (n) rc = es_node_to_double(n, key, 0, 1e7, &start[k], err);
    }
    es_doc_destroy(doc);
    return rc;
}

static void free_runs(es_val_run_t *runs, size_t n)
{
    for (size_t k = 0; runs && k < n; k++) free(runs[k].experiment);
    free(runs);
}

int es_cmd_calibrate(int argc, char **argv)
{
    enum { O_MC = 256, O_GPU, O_VER, O_ARGS, O_STAMPS, O_IPV, O_HOLD, O_ITER, O_FIT, O_PW, O_ROWS, O_FITER, O_SUR, O_START };
    static const struct option lo[] = {
        {"out", required_argument, NULL, 'o'}, {"holdout", required_argument, NULL, O_HOLD},
        {"iterations", required_argument, NULL, O_ITER}, {"jobs", required_argument, NULL, 'j'},
        {"model-configs", required_argument, NULL, O_MC}, {"gpu", required_argument, NULL, O_GPU},
        {"vllm-version", required_argument, NULL, O_VER}, {"vllm-args", required_argument, NULL, O_ARGS},
        {"client-stamps", required_argument, NULL, O_STAMPS}, {"inference-perf-version", required_argument, NULL, O_IPV},
        {"seed", required_argument, NULL, 's'}, {"verbose", no_argument, NULL, 'v'},
        {"fit", required_argument, NULL, O_FIT}, {"profile-weight", required_argument, NULL, O_PW},
        {"rows", required_argument, NULL, O_ROWS}, {"fold-iterations", required_argument, NULL, O_FITER},
        {"surrogate", no_argument, NULL, O_SUR}, {"start", required_argument, NULL, O_START}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    char mc_default[1100] = "";
    const char *vdir = getenv("EPPSIM_VALIDATION_DIR");
    if (vdir && *vdir) snprintf(mc_default, sizeof mc_default, "%s/model-configs", vdir);
    es_val_options_t opt = {mc_default, "h100-sxm-80gb", "0.11", "", 0, "current", 1, NULL, 0};
    const char *out = NULL, *hold = "none", *what = "vllm-fidelity", *rows_out = NULL, *start_file = NULL;
    double pw = 0.25;
    int jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), iters = 30, fold_iters = 0, c;
    bool verbose = false, surrogate = false;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:j:s:vh", lo, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'o': out = optarg; break;
        case O_HOLD: hold = optarg; break;
        case O_FIT: what = optarg; break;
        case O_ROWS: rows_out = optarg; break;
        case O_PW:
            pw = strtod(optarg, &end);
            if (*end || !(pw >= 0 && pw <= 100)) goto bad;
            break;
        case O_ITER:
            iters = (int)strtol(optarg, &end, 10);
            if (*end || iters < 1 || iters > 1000) goto bad;
            break;
        case O_FITER:
            fold_iters = (int)strtol(optarg, &end, 10);
            if (*end || fold_iters < 1 || fold_iters > 1000) goto bad;
            break;
        case 'j':
            jobs = (int)strtol(optarg, &end, 10);
            if (*end || jobs < 1 || jobs > 256) goto bad;
            break;
        case O_MC: opt.model_configs = optarg; break;
        case O_GPU: opt.gpu = optarg; break;
        case O_VER: opt.vllm_version = optarg; break;
        case O_ARGS: opt.vllm_args = optarg; break;
        case O_STAMPS:
            opt.stamps_per_token = (int)strtol(optarg, &end, 10);
            if (*end || opt.stamps_per_token < 1 || opt.stamps_per_token > 16) goto bad;
            break;
        case O_IPV: opt.ip_version = optarg; break;
        case 's':
            opt.seed = strtoull(optarg, &end, 10);
            if (*end) goto bad;
            break;
        case 'v': verbose = true; break;
        case O_SUR: surrogate = true; break;
        case O_START: start_file = optarg; break;
        case 'h': return usage(stdout, ES_EXIT_OK);
        default: return usage(stderr, ES_EXIT_USAGE);
        bad:
            fprintf(stderr, "eppsim calibrate: bad value \"%s\"\n", optarg);
            return ES_EXIT_USAGE;
        }
    }
    if (!out || optind >= argc) return usage(stderr, ES_EXIT_USAGE);
    es_cal_holdout_t hks[2];
    int nh = 0;
    {
        char hb[64];
        snprintf(hb, sizeof hb, "%s", hold);
        char *save = NULL;
        for (char *t = strtok_r(hb, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (nh == 2 || es_cal_holdout_parse(t, &hks[nh])) {
                fprintf(stderr, "eppsim calibrate: --holdout: \"%s\" is not none, loeo or lomo (or two of them)\n", hold);
                return ES_EXIT_USAGE;
            }
            if (hks[nh] != ES_CAL_HOLD_NONE) nh++;
        }
    }
    bool joint = !strcmp(what, "joint"), st = joint || !strcmp(what, "steptime");
    if (!st && strcmp(what, "vllm-fidelity")) {
        fprintf(stderr, "eppsim calibrate: --fit: \"%s\" is not vllm-fidelity, steptime or joint\n", what);
        return ES_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++)
        if (es_cli_writes_input(out, argv[i]) || (rows_out && es_cli_writes_input(rows_out, argv[i]))) {
            bool o = es_cli_writes_input(out, argv[i]);
            fprintf(stderr, "eppsim calibrate: %s %s is an input or inside one (write elsewhere)\n", o ? "-o" : "--rows",
                    o ? out : rows_out);
            return ES_EXIT_USAGE;
        }
    char nj[16];
    snprintf(nj, sizeof nj, "%d", jobs);
    setenv("UV_THREADPOOL_SIZE", nj, 0);   /* read at the pool's first use */

    es_val_run_t *runs = NULL;
    size_t n = 0;
    es_val_set_t set;
    memset(&set, 0, sizeof set);
    es_err_t err;
    for (int i = optind; i < argc; i++) {
        if (es_val_load(argv[i], &opt, &runs, &n, &set, &err)) {
            fprintf(stderr, "eppsim: %s\n", err.msg);
            free_runs(runs, n);
            return ES_EXIT_USAGE;
        }
    }
    bool *keep = calloc(n, sizeof(bool)), *all = calloc(n, sizeof(bool));
    int *fold = calloc(n, sizeof(int));
    es_cal_row_t *rows = calloc(n * (ES_VAL_MAX_STAGES + 1), sizeof *rows);
    gsl_vector *x = NULL, *x0 = NULL;
    es_val_run_t *fitted = NULL, *held[2] = {NULL, NULL};
    int rc = ES_EXIT_OK;
    char step_file[1200] = "";
    cal_t cal = {runs, calloc(n, sizeof *runs), n, &opt, jobs, calloc(n, sizeof(bool)), rows, 0, 0, verbose,
                 0, NULL, {.gemm_eff = 0}, NULL, NULL, 0, NULL, NULL, NULL, NULL};
    if (!cal.work || !cal.in || !all || !keep || !fold || !rows) {
        fprintf(stderr, "eppsim: out of memory\n");
        rc = ES_EXIT_USAGE;
        goto done;
    }
    size_t kept = es_cal_dedupe(runs, n, keep);
    for (size_t i = 0; i < n; i++) {
        all[i] = cal.in[i] = keep[i];
        if (!keep[i]) fprintf(stderr, "eppsim calibrate: %s (%s) is given twice, counted once\n", runs[i].name, runs[i].source);
    }
    cal.nrows = es_cal_rows(runs, n, keep, rows);
    if (joint) { cal.par = k_par_joint; cal.np = (int)(sizeof k_par_joint / sizeof *k_par_joint); }
    else if (st) { cal.par = k_par_st; cal.np = (int)(sizeof k_par_st / sizeof *k_par_st); }
    else { cal.par = k_par_vf; cal.np = (int)(sizeof k_par_vf / sizeof *k_par_vf); }

    /* start from the shipped defaults */
    double start[NP] = {0}, def_latency, def_request, def_sync;
    {
        es_server_config_t def;
        es_schema_defaults(&es_server_schema, &def, &err);
        def_latency = def.api_latency_us;
        def_request = def.api_request_us;
        def_sync = def.engine_sync_us;
        es_schema_fini(&es_server_schema, &def);
    }
    if (st) {
        if (es_step_coeffs_load(NULL, &cal.step, &err)) {
            fprintf(stderr, "eppsim: %s\n", err.msg);
            rc = ES_EXIT_USAGE;
            goto done;
        }
        /* an evaluation's coefficients, next to the output (the replays resolve it absolutely) */
        char cwd[1024] = "";
        if (out[0] != '/' && !getcwd(cwd, sizeof cwd)) cwd[0] = '\0';
        snprintf(step_file, sizeof step_file, "%s%s%s.steptime.tmp", cwd, cwd[0] ? "/" : "", out);
        if (strchr(step_file, '"') || strchr(step_file, '\\') || strchr(step_file, '\n')) {
            fprintf(stderr, "eppsim calibrate: --out: \"%s\": quotes, backslashes or newlines in the path\n", out);
            rc = ES_EXIT_USAGE;
            goto done;
        }
        cal.step_file = step_file;
        cal.points_w = pw;
        if (pw > 0 && es_profile_points_open(&cal.points)) {
            fprintf(stderr, "eppsim calibrate: cannot read the profile points (data/profiles)\n");
            rc = ES_EXIT_USAGE;
            goto done;
        }
    }
    for (int k = 0; k < cal.np; k++) {
        const char *nm = cal.par[k].name;
        start[k] = !strcmp(nm, "hbm_efficiency") ? cal.step.hbm_eff
                 : !strcmp(nm, "layer_us")        ? cal.step.layer_us
                 : !strcmp(nm, "step_us")         ? cal.step.step_us
                 : !strcmp(nm, "gemm_efficiency") ? cal.step.gemm_eff
                 : !strcmp(nm, "api_latency_us")  ? def_latency
                 : !strcmp(nm, "api_request_us")  ? def_request
                                                  : def_sync;
    }
    if (start_file && start_from(start_file, &cal, start, &err)) {
        fprintf(stderr, "eppsim: %s\n", err.msg);
        rc = ES_EXIT_USAGE;
        goto done;
    }
    x = gsl_vector_alloc((size_t)cal.np);
    x0 = gsl_vector_alloc((size_t)cal.np);
    double xstart[NP] = {0};
    for (int k = 0; k < cal.np; k++) gsl_vector_set(x0, (size_t)k, xstart[k] = coord(&cal, start[k], k));
    gsl_vector_memcpy(x, x0);
    cal.x0 = xstart;
    if (fold_iters == 0) fold_iters = iters;

    /* Every run must replay before anything is fitted: one that cannot (its
     * model config not found...) is an error, not rows of inf in the tables. */
    if (replay(&cal, start, all)) {
        fprintf(stderr, "eppsim calibrate: cannot replay the runs (out of memory or --out not writable)\n");
        rc = ES_EXIT_USAGE;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (all[i] && cal.work[i].rc) {
            fprintf(stderr, "eppsim calibrate: %s (%s): not simulated: %s\n", runs[i].name, runs[i].source,
                    cal.work[i].error);
            rc = ES_EXIT_USAGE;
        }
    if (rc) goto done;

    fprintf(stderr, "eppsim calibrate: %zu runs (%zu rows), fit %s%s, holdout %s, %d jobs\n", kept, cal.nrows, what,
            surrogate ? " (surrogate)" : "", hold, jobs);
    setvbuf(stdout, NULL, _IOLBF, 0);   /* the in-sample table shows before the folds run */
    double loss;
    if (surrogate) {
        long missing = sur_build(&cal, xstart, all);
        if (missing < 0) {
            fprintf(stderr, "eppsim calibrate: the design's replays failed\n");
            rc = ES_EXIT_USAGE;
            goto done;
        }
        if (missing) fprintf(stderr, "eppsim calibrate: %ld row figures without a surrogate (left out of the fit)\n", missing);
        loss = sur_fit(&cal, xstart, x);
    } else loss = fit(&cal, x, iters);
    double best[NP] = {0};
    for (int k = 0; k < cal.np; k++) best[k] = coeff(&cal, x, k);
    replay(&cal, best, all);
    fitted = calloc(n, sizeof *fitted);
    if (!fitted) {
        fprintf(stderr, "eppsim: out of memory\n");
        rc = ES_EXIT_USAGE;
        goto done;
    }
    double true_loss = 0;
    for (size_t i = 0; i < cal.nrows; i++) true_loss += es_cal_row_loss(cal.work, &cal.rows[i]);
    for (size_t i = 0; i < n; i++) {
        fitted[i] = cal.work[i];
        fitted[i].experiment = NULL;
    }
    if (surrogate) {
        es_step_coeffs_t kb = step_at(&cal, best);
        double pl = cal.points ? cal.points_w * es_profile_points_loss(cal.points, &kb, NULL) : 0;
        fprintf(stderr, "  surrogate fit: the rows' loss %.4f predicted, %.4f simulated\n", loss - pl, true_loss);
    }
    printf("%-44s %9s %9s %9s %8s %8s %8s %7s\n", "median APE % (rows) | max ratio", "E2E mean", "TTFT mean",
           "per-token", "E2E", "TTFT", "per-tok", "off 2x");
    report(stdout, "fitted, in sample", fitted, &cal);
    unsigned evals_full = cal.evals;

    /* hold-out folds: refit without the fold (from where the full fit started), replay the fold at that fit */
    bool *grp = calloc(n, sizeof(bool));
    for (int h = 0; grp && h < nh; h++) {
        int nfolds = es_cal_folds(runs, n, keep, hks[h], fold);
        held[h] = calloc(n, sizeof **held);
        for (int fo = 0; held[h] && nfolds > 0 && fo < nfolds; fo++) {
            size_t first = n;
            for (size_t j = 0; j < n; j++) {
                grp[j] = fold[j] == fo;
                cal.in[j] = keep[j] && !grp[j];
                if (grp[j] && first == n) first = j;
            }
            if (surrogate) sur_fit(&cal, xstart, x0);
            else {
                for (int k = 0; k < cal.np; k++) gsl_vector_set(x0, (size_t)k, xstart[k]);
                fit(&cal, x0, fold_iters);
            }
            double cf[NP] = {0};
            for (int k = 0; k < cal.np; k++) cf[k] = coeff(&cal, x0, k);
            replay(&cal, cf, grp);
            for (size_t j = 0; j < n; j++) {
                if (!grp[j]) continue;
                held[h][j] = cal.work[j];
                held[h][j].experiment = NULL;
            }
            char mk[160];
            es_cal_model_key(runs[first].experiment, mk, sizeof mk);
            fprintf(stderr, "  fold %s:", hks[h] == ES_CAL_HOLD_LOMO ? mk : runs[first].name);
            for (int k = 0; k < cal.np; k++) fprintf(stderr, " %s %.4g", cal.par[k].name, cf[k]);
            fprintf(stderr, "\n");
        }
        for (size_t j = 0; j < n; j++) cal.in[j] = keep[j];
        if (held[h]) report(stdout, hks[h] == ES_CAL_HOLD_LOMO ? "left one model out" : "left one experiment out", held[h], &cal);
    }
    free(grp);
    if (rows_out && write_rows(rows_out, &cal, fitted, held, hks, nh)) {
        fprintf(stderr, "eppsim calibrate: cannot write %s\n", rows_out);
        rc = ES_EXIT_USAGE;
    }

    /* the coefficients, with their data and fit */
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f) { fprintf(stderr, "eppsim calibrate: cannot write %s\n", tmp); rc = ES_EXIT_USAGE; goto done; }
    fprintf(f, "# eppsim calibrate: %s coefficients fitted to %zu real runs (%zu rows)\n",
            joint ? "analytic step-time and API-server" : st ? "analytic step-time" : "server.vllm_fidelity", kept,
            cal.nrows);
    fprintf(f, "# objective: sum of |ln(simulated/measured)| of E2E mean, TTFT mean, per-token time (each stage of a "
               "multi-stage run, each whole run)\n");
    if (cal.points) {
        int np_pts = 0;
        es_step_coeffs_t k = step_at(&cal, best);
        double pl = es_profile_points_loss(cal.points, &k, &np_pts);
        fprintf(f, "# plus %g x |ln(analytic/measured)| of the %d whole-model profile points (mean %.4f at the fit)\n",
                pw, np_pts, np_pts ? pl / np_pts : 0.0);
    }
    fprintf(f, "# GSL nmsimplex2%s, %u evaluations, objective %.6f; settings: --vllm-version %s --gpu %s "
               "--inference-perf-version %s --seed %llu\n",
            surrogate ? " on quadratic surrogates of a central composite design" : "", evals_full, loss, opt.vllm_version, opt.gpu, opt.ip_version, (unsigned long long)opt.seed);
    fprintf(f, "# data:\n");
    for (size_t i = 0; i < n; i++)
        if (keep[i]) fprintf(f, "#   %s (%s)\n", runs[i].name, runs[i].source);
    int bad = 0;
    if (st) {
        es_step_coeffs_t k = step_at(&cal, best);
        bad = write_step(f, &k);
    }
    if (!st || joint) {
        fprintf(f, "server:\n  vllm_fidelity: on\n");
        for (int k = 0; k < cal.np; k++)
            if (!cal.par[k].step) fprintf(f, "  %s: %.6g\n", cal.par[k].name, best[k]);
    }
    if (fclose(f) != 0 || bad || rename(tmp, out) != 0) {
        fprintf(stderr, "eppsim calibrate: cannot write %s\n", out);
        remove(tmp);
        rc = ES_EXIT_USAGE;
    }
    if (rc == ES_EXIT_OK) printf("coefficients: %s\n", out);
done:
    if (cal.step_file) remove(step_file);
    if (cal.points) es_profile_points_close(cal.points);
    for (size_t i = 0; cal.work && i < n; i++) free(cal.work[i].experiment);
    free_runs(runs, n);
    free(held[0]);
    free(held[1]);
    free(fitted);
    free(cal.sur);
    free(cal.sur_ok);
    free(cal.ln_meas);
    free(cal.work);
    free(cal.in);
    free(all);
    free(keep);
    free(fold);
    free(rows);
    gsl_vector_free(x);
    gsl_vector_free(x0);
    return rc;
}
