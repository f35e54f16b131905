/*
 * latency_model.c -- online Bayesian-ridge TTFT/TPOT model (latency_model.h).
 */
#include "latency_model.h"

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "es_alloc.h"
#include "es_rng.h"

#define NQ 5    /* queue buckets: 0, 1-2, 3-5, 6-10, 11+ */
#define NC 20   /* KV buckets of 5 % */
#define NP 4    /* prefix buckets of 25 % */
#define NBUCKETS (NQ * NC * NP)
#define TTFT_F 14
#define TPOT_F 11
#define Z90 1.2815515655446004   /* norm.ppf(0.9) */

/* full feature vectors (training_server.py _prepare_features_with_interaction,
 * pod_type one-hot over the categories "", prefill, decode) */
enum { T_QUEUED, T_KV, T_INPUT, T_WAITING, T_RUNNING, T_PTIF, T_DTIF, T_ENC_M, T_ENC_I, T_PREFIX, T_EFF,
       T_POD0, T_POD1, T_POD2 };
enum { P_QUEUED, P_KV, P_INPUT, P_WAITING, P_RUNNING, P_PTIF, P_DTIF, P_GEN, P_POD0, P_POD1, P_POD2 };

static const uint8_t k_ttft_cols[TTFT_F] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
static const uint8_t k_ttft_nq_cols[TTFT_F - 2] = {1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
static const uint8_t k_tpot_cols[TPOT_F] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const uint8_t k_tpot_nq_cols[TPOT_F - 2] = {1, 2, 4, 5, 6, 7, 8, 9, 10};

esi_lm_config_t esi_lm_default_config(void)
{
    return (esi_lm_config_t){
        .first_train = 10 * ES_S, .retrain_interval = 10 * ES_S, .sync_interval = 30 * ES_S,
        .min_samples = 100, .min_samples_fresh = 10, .bucket_size = 500, .max_test = 1000,
        .test_ratio = 0.1, .ensemble = true, .min_ensemble = 200, .quantile = false, .quantile_alpha = 0.9,
    };
}

static void ttft_features(const esi_lm_sample_t *s, double *x)
{
    double prefix = s->prefix;
    x[T_QUEUED] = s->waiting > 0;
    x[T_KV] = s->kv;
    x[T_INPUT] = s->input;
    x[T_WAITING] = s->waiting;
    x[T_RUNNING] = s->running;
    x[T_PTIF] = s->prefill_tif;
    x[T_DTIF] = s->decode_tif;
    x[T_ENC_M] = s->enc_matched;
    x[T_ENC_I] = s->enc_input;
    x[T_PREFIX] = prefix;
    x[T_EFF] = (1.0 - prefix) * s->input;
    x[T_POD0] = s->pod == ESI_LM_POD_NONE;
    x[T_POD1] = s->pod == ESI_LM_POD_PREFILL;
    x[T_POD2] = s->pod == ESI_LM_POD_DECODE;
}

static void tpot_features(const esi_lm_sample_t *s, double *x, bool training)
{
    x[P_QUEUED] = s->waiting > 0;
    x[P_KV] = s->kv;
    x[P_INPUT] = s->input;
    x[P_WAITING] = s->waiting;
    x[P_RUNNING] = s->running;
    x[P_PTIF] = s->prefill_tif;
    x[P_DTIF] = s->decode_tif;
    x[P_GEN] = training ? 0 : s->generated;   /* TPOT_ZERO_TOKEN_COUNT */
    x[P_POD0] = s->pod == ESI_LM_POD_NONE;
    x[P_POD1] = s->pod == ESI_LM_POD_PREFILL;
    x[P_POD2] = s->pod == ESI_LM_POD_DECODE;
}

/* ---- the fit: StandardScaler + sklearn BayesianRidge ---- */

typedef bool (*row_fn)(void *ctx, size_t i, double *x, double *y);

static void *workspace(esi_lm_t *m, uint32_t p)
{
    int k = p == TTFT_F ? 0 : p == TTFT_F - 2 ? 1 : p == TPOT_F ? 2 : 3;
    if (!m->ws[k]) {
        m->ws[k] = gsl_eigen_symmv_alloc(p);
        if (!m->ws[k]) es_oom(sizeof(gsl_eigen_symmv_workspace));
    }
    return m->ws[k];
}

/* rows i in [0, n) for which fn returns true */
static void fit_iter(esi_lm_t *m, row_fn fn, void *ctx, size_t n, uint32_t f, const uint8_t *cols, uint32_t p,
                     esi_lm_fit_t *out)
{
    double x[ESI_LM_MAX_F], y, ysum = 0, sum[ESI_LM_MAX_F] = {0}, sq[ESI_LM_MAX_F] = {0};
    size_t cnt = 0;
    (void)f;
    memset(out, 0, sizeof *out);
    out->p = p;
    memcpy(out->col, cols, p);
    for (size_t i = 0; i < n; i++) {
        if (!fn(ctx, i, x, &y)) continue;
        cnt++;
        ysum += y;
        for (uint32_t j = 0; j < p; j++) sum[j] += x[cols[j]];
    }
    if (cnt == 0) return;
    double ybar = ysum / (double)cnt;
    for (uint32_t j = 0; j < p; j++) out->mean[j] = sum[j] / (double)cnt;
    for (size_t i = 0; i < n; i++) {
        if (!fn(ctx, i, x, &y)) continue;
        for (uint32_t j = 0; j < p; j++) {
            double d = x[cols[j]] - out->mean[j];
            sq[j] += d * d;
        }
    }
    for (uint32_t j = 0; j < p; j++) {
        double sd = sqrt(sq[j] / (double)cnt);
        out->scale[j] = sd < 10 * 2.220446049250313e-16 ? 1.0 : sd;   /* _handle_zeros_in_scale */
    }
    double *g = m->work, *vec = m->work + ESI_LM_MAX_F * ESI_LM_MAX_F;
    double b[ESI_LM_MAX_F] = {0}, yy = 0, z[ESI_LM_MAX_F];
    memset(g, 0, (size_t)p * p * sizeof *g);
    for (size_t i = 0; i < n; i++) {
        if (!fn(ctx, i, x, &y)) continue;
        double yc = y - ybar;
        for (uint32_t j = 0; j < p; j++) z[j] = (x[cols[j]] - out->mean[j]) / out->scale[j];
        for (uint32_t j = 0; j < p; j++) {
            b[j] += z[j] * yc;
            for (uint32_t k = j; k < p; k++) g[j * p + k] += z[j] * z[k];
        }
        yy += yc * yc;
    }
    for (uint32_t j = 0; j < p; j++)
        for (uint32_t k = 0; k < j; k++) g[j * p + k] = g[k * p + j];
    /* G = V diag(ev) V^T */
    double ev[ESI_LM_MAX_F];
    gsl_matrix_view gm = gsl_matrix_view_array(g, p, p);
    gsl_matrix_view vm = gsl_matrix_view_array(vec, p, p);
    gsl_vector_view evv = gsl_vector_view_array(ev, p);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = gsl_eigen_symmv(&gm.matrix, &evv.vector, &vm.matrix, workspace(m, p));
    if (!rc) rc = gsl_eigen_symmv_sort(&evv.vector, &vm.matrix, GSL_EIGEN_SORT_VAL_DESC);
    gsl_set_error_handler(old);
    if (rc) return;   /* left as the mean model */
    for (uint32_t j = 0; j < p; j++) if (ev[j] < 0) ev[j] = 0;   /* rounding of a PSD matrix */
    double vb[ESI_LM_MAX_F];   /* V^T b */
    for (uint32_t k = 0; k < p; k++) {
        vb[k] = 0;
        for (uint32_t j = 0; j < p; j++) vb[k] += vec[j * p + k] * b[j];
    }
    const double a1 = 1e-6, a2 = 1e-6, l1 = 1e-6, l2 = 1e-6, tol = 1e-3;
    double alpha = 1.0 / (yy / (double)cnt + 2.220446049250313e-16), lambda = 1.0;
    double coef[ESI_LM_MAX_F], old_coef[ESI_LM_MAX_F], w[ESI_LM_MAX_F];
    for (int iter = 0; iter <= 300; iter++) {
        /* coef = V diag(1 / (ev + lambda/alpha)) V^T b; at iter 300 the final update */
        for (uint32_t k = 0; k < p; k++) w[k] = vb[k] / (ev[k] + lambda / alpha);
        double c2 = 0;
        for (uint32_t j = 0; j < p; j++) {
            coef[j] = 0;
            for (uint32_t k = 0; k < p; k++) coef[j] += vec[j * p + k] * w[k];
            c2 += coef[j] * coef[j];
        }
        if (iter == 300) break;
        /* ||y - Z coef||^2 = yy - 2 coef.b + sum_k ev_k w_k^2 */
        double rmse = yy;
        for (uint32_t k = 0; k < p; k++) rmse += -2 * w[k] * vb[k] + ev[k] * w[k] * w[k];
        if (rmse < 0) rmse = 0;
        double gamma = 0;
        for (uint32_t k = 0; k < p; k++) gamma += alpha * ev[k] / (lambda + alpha * ev[k]);
        lambda = (gamma + 2 * l1) / (c2 + 2 * l2);
        alpha = ((double)cnt - gamma + 2 * a1) / (rmse + 2 * a2);
        bool done = false;
        if (iter != 0) {
            double d = 0;
            for (uint32_t j = 0; j < p; j++) d += fabs(old_coef[j] - coef[j]);
            done = d < tol;
        }
        memcpy(old_coef, coef, sizeof coef);
        if (done) iter = 299;   /* one more pass: the final update with these alpha, lambda */
    }
    memcpy(out->coef, coef, p * sizeof *coef);
    out->intercept = ybar;
    out->alpha = alpha;
    /* sklearn takes the thin SVD of Z: with fewer samples than features only
     * the top cnt right-singular directions enter sigma_ (the cold-start
     * model's one sample gives a tiny predictive std, not a huge one) */
    uint32_t ks = cnt < p ? (uint32_t)cnt : p;
    for (uint32_t j = 0; j < p; j++)
        for (uint32_t l = 0; l < p; l++) {
            double s = 0;
            for (uint32_t k = 0; k < ks; k++) s += vec[j * p + k] * vec[l * p + k] / (ev[k] + lambda / alpha);
            out->sigma[j * p + l] = s / alpha;
        }
}

void esi_lm_fit_predict(const esi_lm_fit_t *fit, const double *x, double *mean, double *std)
{
    double z[ESI_LM_MAX_F], mu = fit->intercept, var = 0;
    uint32_t p = fit->p;
    for (uint32_t j = 0; j < p; j++) {
        z[j] = (x[fit->col[j]] - fit->mean[j]) / fit->scale[j];
        mu += fit->coef[j] * z[j];
    }
    if (mean) *mean = mu;
    if (!std) return;   /* the mean objective needs no variance */
    for (uint32_t j = 0; j < p; j++)
        for (uint32_t l = 0; l < p; l++) var += z[j] * fit->sigma[j * p + l] * z[l];
    *std = sqrt(var + (fit->alpha > 0 ? 1.0 / fit->alpha : 0));
}

typedef struct arr_ctx { const double *rows, *y; uint32_t f; } arr_ctx_t;

static bool arr_row(void *ctx, size_t i, double *x, double *y)
{
    const arr_ctx_t *a = ctx;
    memcpy(x, a->rows + i * a->f, a->f * sizeof *x);
    *y = a->y[i];
    return true;
}

void esi_lm_fit_rows(esi_lm_t *m, const double *rows, const double *y, size_t n, uint32_t f,
                     const uint8_t *cols, uint32_t p, esi_lm_fit_t *out)
{
    arr_ctx_t a = {rows, y, f};
    fit_iter(m, arr_row, &a, n, f, cols, p, out);
}

/* ---- the store ---- */

static uint32_t bucket_of(const esi_lm_sample_t *s)
{
    int w = s->waiting;
    uint32_t q = w == 0 ? 0 : w <= 2 ? 1 : w <= 5 ? 2 : w <= 10 ? 3 : 4;
    double kv = s->kv < 0 ? 0 : s->kv > 1 ? 1 : s->kv, pr = s->prefix < 0 ? 0 : s->prefix > 1 ? 1 : s->prefix;
    uint32_t c = (uint32_t)(kv * NC), pb = (uint32_t)(pr * NP);
    if (c > NC - 1) c = NC - 1;
    if (pb > NP - 1) pb = NP - 1;
    return (q * NC + c) * NP + pb;
}

static void store_init(esi_lm_store_t *st, const esi_lm_config_t *cfg)
{
    st->buf = es_xcalloc((size_t)NBUCKETS * (size_t)cfg->bucket_size, sizeof *st->buf);
    st->len = es_xcalloc(NBUCKETS, sizeof *st->len);
    st->head = es_xcalloc(NBUCKETS, sizeof *st->head);
    st->test = es_xcalloc((size_t)(cfg->max_test > 0 ? cfg->max_test : 1), sizeof *st->test);
}

static void store_fini(esi_lm_store_t *st)
{
    free(st->buf); free(st->len); free(st->head); free(st->test);
    memset(st, 0, sizeof *st);
}

static size_t store_count(const esi_lm_store_t *st)
{
    size_t n = 0;
    for (uint32_t b = 0; b < NBUCKETS; b++) n += st->len[b];
    return n;
}

/* iteration over the store in bucket order, filtered by queue regime */
typedef struct store_ctx {
    const esi_lm_t       *m;
    const esi_lm_store_t *st;
    bool                  ttft;
    int                   regime;   /* -1 all, 0 no queue, 1 queued */
    uint32_t              b, k;     /* cursor: bucket, entry */
    size_t                i;        /* index of the cursor */
} store_ctx_t;

static bool store_row(void *ctx, size_t i, double *x, double *y)
{
    store_ctx_t *c = ctx;
    const size_t cap = (size_t)c->m->cfg.bucket_size;
    if (i == 0) { c->b = 0; c->k = 0; c->i = 0; }
    while (c->b < NBUCKETS && c->k >= c->st->len[c->b]) { c->b++; c->k = 0; }
    if (c->b >= NBUCKETS) return false;
    const esi_lm_sample_t *s = &c->st->buf[(size_t)c->b * cap + (c->st->head[c->b] + c->k) % cap];
    c->k++;
    c->i++;
    if (c->regime == 0 && s->waiting != 0) return false;
    if (c->regime == 1 && s->waiting == 0) return false;
    if (c->ttft) ttft_features(s, x); else tpot_features(s, x, true);
    *y = s->target;
    return true;
}

static size_t store_regime_count(const esi_lm_store_t *st, int regime, size_t cap)
{
    size_t n = 0;
    for (uint32_t b = 0; b < NBUCKETS; b++) {
        bool nq = b / (NC * NP) == 0;
        if (regime < 0 || (regime == 0) == nq) n += st->len[b];
        (void)cap;
    }
    return n;
}

static void fit_store(esi_lm_t *m, const esi_lm_store_t *st, bool ttft, int regime, const uint8_t *cols,
                      uint32_t p, esi_lm_fit_t *out)
{
    store_ctx_t c = {.m = m, .st = st, .ttft = ttft, .regime = regime};
    fit_iter(m, store_row, &c, store_count(st), ttft ? TTFT_F : TPOT_F, cols, p, out);
}

/* ---- training loop ---- */

/* LatencyPredictor.train(): single models when each has enough samples,
 * then the ensemble when every regime has min_ensemble. */
static void train(esi_lm_t *m)
{
    size_t nt = store_count(&m->ttft), np = store_count(&m->tpot);
    if ((int64_t)(nt + np) < m->min_samples) return;
    bool any = false;
    if ((int64_t)nt >= m->min_samples) {
        fit_store(m, &m->ttft, true, -1, k_ttft_cols, TTFT_F, &m->trained.ttft);
        any = true;
    }
    if ((int64_t)np >= m->min_samples) {
        fit_store(m, &m->tpot, false, -1, k_tpot_cols, TPOT_F, &m->trained.tpot);
        any = true;
    }
    bool ens = false;
    if (m->cfg.ensemble) {
        size_t cap = (size_t)m->cfg.bucket_size, me = (size_t)m->cfg.min_ensemble;
        if (store_regime_count(&m->ttft, 0, cap) >= me && store_regime_count(&m->ttft, 1, cap) >= me &&
            store_regime_count(&m->tpot, 0, cap) >= me && store_regime_count(&m->tpot, 1, cap) >= me) {
            fit_store(m, &m->ttft, true, 0, k_ttft_nq_cols, TTFT_F - 2, &m->trained.ttft_nq);
            fit_store(m, &m->ttft, true, 1, k_ttft_cols, TTFT_F, &m->trained.ttft_q);
            fit_store(m, &m->tpot, false, 0, k_tpot_nq_cols, TPOT_F - 2, &m->trained.tpot_nq);
            fit_store(m, &m->tpot, false, 1, k_tpot_cols, TPOT_F, &m->trained.tpot_q);
            ens = true;
        }
    }
    m->trained.ensemble = ens;
    if (any || ens) { m->retrains++; m->fresh_model = true; }
}

/* _create_default_model: one sample of 10 ms with zero features, input 1 */
static void default_models(esi_lm_t *m)
{
    esi_lm_sample_t s = {.input = 1, .generated = 1};
    double xt[TTFT_F], xp[TPOT_F], y = 10.0;
    ttft_features(&s, xt);
    tpot_features(&s, xp, false);
    esi_lm_fit_rows(m, xt, &y, 1, TTFT_F, k_ttft_cols, TTFT_F, &m->trained.ttft);
    esi_lm_fit_rows(m, xp, &y, 1, TPOT_F, k_tpot_cols, TPOT_F, &m->trained.tpot);
    m->trained.ensemble = false;
    m->serving = m->trained;
    m->min_samples = m->cfg.min_samples_fresh;
}

void esi_lm_init(esi_lm_t *m, const esi_lm_config_t *cfg)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    if (m->cfg.bucket_size < 1) m->cfg.bucket_size = 1;
    store_init(&m->ttft, &m->cfg);
    store_init(&m->tpot, &m->cfg);
    default_models(m);
    m->next_train = m->cfg.first_train;
    m->next_sync = m->cfg.sync_interval;
}

void esi_lm_fini(esi_lm_t *m)
{
    store_fini(&m->ttft);
    store_fini(&m->tpot);
    for (int k = 0; k < 4; k++) if (m->ws[k]) gsl_eigen_symmv_free(m->ws[k]);
    memset(m->ws, 0, sizeof m->ws);
}

/* Trainings and syncs due by now, in time order (a training and a sync at
 * the same instant: the training first).  Several due trainings without new
 * samples in between give the same model: one is run. */
void esi_lm_advance(esi_lm_t *m, es_time_t now)
{
    while (m->next_train <= now || m->next_sync <= now) {
        if (m->next_train <= m->next_sync) {
            train(m);
            es_time_t iv = m->cfg.retrain_interval > 0 ? m->cfg.retrain_interval : ES_S;
            /* skip the trainings before the next sync that would see no new sample */
            m->next_train += iv;
            while (m->next_train <= now && m->next_train < m->next_sync) m->next_train += iv;
        } else {
            if (m->fresh_model) { m->serving = m->trained; m->fresh_model = false; }
            m->next_sync += m->cfg.sync_interval > 0 ? m->cfg.sync_interval : ES_S;
        }
    }
}

void esi_lm_add(esi_lm_t *m, const esi_lm_sample_t *s, bool ttft, uint64_t key)
{
    if (!(s->target > 0)) return;
    esi_lm_store_t *st = ttft ? &m->ttft : &m->tpot;
    if (ttft) m->samples_ttft++; else m->samples_tpot++;
    bool test = (es_mix64(key ^ 0x6c617465ULL) % 100) < (uint64_t)(m->cfg.test_ratio * 100);
    if (test) {
        size_t cap = (size_t)(m->cfg.max_test > 0 ? m->cfg.max_test : 1);
        if (st->test_len < cap) st->test[(st->test_head + st->test_len++) % cap] = *s;
        else { st->test[st->test_head] = *s; st->test_head = (st->test_head + 1) % cap; }
        return;
    }
    size_t cap = (size_t)m->cfg.bucket_size;
    uint32_t b = bucket_of(s);
    esi_lm_sample_t *ring = &st->buf[(size_t)b * cap];
    if (st->len[b] < cap) ring[(st->head[b] + st->len[b]++) % cap] = *s;
    else { ring[st->head[b]] = *s; st->head[b] = (uint32_t)((st->head[b] + 1) % cap); }   /* deque(maxlen) */
}

void esi_lm_predict(const esi_lm_t *m, const esi_lm_sample_t *x, double *ttft, double *tpot)
{
    double ft[TTFT_F], fp[TPOT_F], mt, st, mp, sp;
    ttft_features(x, ft);
    tpot_features(x, fp, false);
    const esi_lm_models_t *s = &m->serving;
    const esi_lm_fit_t *a = &s->ttft, *b = &s->tpot;
    if (s->ensemble) {
        a = x->waiting == 0 ? &s->ttft_nq : &s->ttft_q;
        b = x->waiting == 0 ? &s->tpot_nq : &s->tpot_q;
    }
    bool q = m->cfg.quantile;
    esi_lm_fit_predict(a, ft, &mt, q ? &st : NULL);
    esi_lm_fit_predict(b, fp, &mp, q ? &sp : NULL);
    if (q) {
        double zq = Z90;
        if (m->cfg.quantile_alpha != 0.9) {   /* inverse normal CDF by bisection: rare, not on the hot path */
            double lo = -10, hi = 10;
            for (int i = 0; i < 100; i++) {
                double mid = (lo + hi) / 2;
                if (0.5 * erfc(-mid / sqrt(2.0)) < m->cfg.quantile_alpha) lo = mid; else hi = mid;
            }
            zq = (lo + hi) / 2;
        }
        mt += zq * st;
        mp += zq * sp;
    }
    *ttft = mt;
    *tpot = mp;
}
