/*
 * calibrate.h -- the rows and hold-out folds of `eppsim calibrate`
 * (app/cmd_calibrate.c, docs/fidelity.md section 7).
 *
 * A row is what the fit and the hold-out tables score: each stage of a run
 * with more than one stage, and each whole run (a one-stage run's stage is
 * its whole run, counted once).  Figures per row: E2E mean, TTFT mean and
 * per-token time (milliseconds, es_validate.h).
 *
 * An experiment loaded twice (the blis-trainval aggregates repeat one
 * blis-training run) counts once: the first source given is kept.  Folds:
 * leave-one-experiment-out puts each kept experiment in a fold of its own;
 * leave-one-model-out puts together every experiment of one model, whatever
 * its TP or source (the model is server.model's basename, case folded).  A
 * fold's fit never sees a row of its own fold.
 */
#ifndef ES_CALIBRATE_H
#define ES_CALIBRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "es_validate.h"

typedef enum { ES_CAL_HOLD_NONE, ES_CAL_HOLD_LOEO, ES_CAL_HOLD_LOMO } es_cal_holdout_t;

enum { ES_CAL_E2E, ES_CAL_TTFT, ES_CAL_PER_TOKEN, ES_CAL_NFIG };
extern const int es_cal_fig[ES_CAL_NFIG];   /* ES_VF_E2E_MEAN, ES_VF_TTFT_MEAN, ES_VF_PER_TOKEN */

/* "none", "loeo", "lomo" -> *h; -1 when not one of them. */
int es_cal_holdout_parse(const char *s, es_cal_holdout_t *h);

/* The model a replay serves: the basename of its server.model line, lower
 * case, without ".json" ("meta-llama/Llama-2-7b-hf" and
 * ".../llama-2-7b-hf.json" are both "llama-2-7b-hf"); "" when it names none. */
void es_cal_model_key(const char *experiment, char *buf, size_t size);

/* keep[i] = false for a run whose name an earlier run has.  Returns how many are kept. */
size_t es_cal_dedupe(const es_val_run_t *runs, size_t n, bool *keep);

/* fold[i] in [0, folds) for each kept run (ES_CAL_HOLD_NONE: all 0), -1 for
 * the others; folds are numbered in order of first appearance.  Returns the
 * number of folds, or -1 out of memory. */
int es_cal_folds(const es_val_run_t *runs, size_t n, const bool *keep, es_cal_holdout_t h, int *fold);

typedef struct es_cal_row {
    size_t run;
    size_t stage;   /* == runs[run].nstages: the whole run */
} es_cal_row_t;

/* The rows of the kept runs, in run order, stages before the whole run.
 * rows has room for n * (ES_VAL_MAX_STAGES + 1).  Returns the count. */
size_t es_cal_rows(const es_val_run_t *runs, size_t n, const bool *keep, es_cal_row_t *rows);

static inline bool es_cal_row_whole(const es_val_run_t *runs, const es_cal_row_t *r)
{
    return r->stage == runs[r->run].nstages;
}

/* Over the rows with sel[k] (NULL: all): per figure the median APE (%), the
 * largest ratio max(sim/meas, meas/sim), and how many rows had both figures;
 * a run not simulated counts as an infinite ratio in every figure. */
typedef struct es_cal_stats {
    double median_ape[ES_CAL_NFIG];
    double max_ratio[ES_CAL_NFIG];
    size_t n[ES_CAL_NFIG];
    size_t off2x;   /* row-figures off by more than a factor 2 */
} es_cal_stats_t;

/* sim: the figures scored (runs[i].simulated, or a held-out copy's). */
void es_cal_stats(const es_val_run_t *runs, const es_cal_row_t *rows, size_t nrows, const bool *sel,
                  es_cal_stats_t *st);

/* |ln(sim/meas)| summed over the row's figures; 30 per figure for a run not simulated. */
double es_cal_row_loss(const es_val_run_t *runs, const es_cal_row_t *r);

/* ---- the response-surface fit (--surrogate): every row figure's ln(simulated)
 * as a full quadratic in the p free coordinates, least squares over a design
 * of simulator runs; the folds minimise over the surrogates of their
 * training rows only, and their held-out rows are then replayed for real. */

/* Terms of a full quadratic in p variables: 1 + p + p(p+1)/2. */
size_t es_cal_quad_terms(int p);
/* The terms at x: 1, x_i, x_i x_j (i <= j). */
void es_cal_quad_features(int p, const double *x, double *f);
double es_cal_quad_eval(int p, const double *coef, const double *x);
/* Least squares over the points with a finite y (X: npts rows of p).
 * Returns 0, or -1 when fewer such points than terms. */
int es_cal_quad_fit(int p, size_t npts, const double *X, const double *y, double *coef);
/* A face-centred central composite design in [-1, 1]^p: the 2^p corners, the
 * 2p face centres, the centre.  unit has room for es_cal_design_size(p) * p. */
size_t es_cal_design_size(int p);
size_t es_cal_design(int p, double *unit);

#endif /* ES_CALIBRATE_H */
