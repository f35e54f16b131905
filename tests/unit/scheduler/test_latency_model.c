/*
 * test_latency_model.c -- the in-process Bayesian-ridge latency predictor
 * (scheduler/latency_model.h): the fit against sklearn's documented example
 * and a known linear law, the cold start, the retrain / model-sync clock,
 * the bucket bounds and the queue-gated ensemble.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "helpers.h"
#include "latency_model.h"

static esi_lm_config_t quiet_config(void)
{
    esi_lm_config_t c = esi_lm_default_config();
    c.test_ratio = 0;   /* every sample trains */
    return c;
}

/* sklearn.linear_model.BayesianRidge docstring: fit([[0,0],[1,1],[2,2]], [0,1,2]).predict([[1,1]]) == [1.] */
static void test_fit_sklearn_docstring(void **st)
{
    (void)st;
    esi_lm_t m;
    esi_lm_config_t c = quiet_config();
    esi_lm_init(&m, &c);
    double rows[] = {0, 0, 1, 1, 2, 2}, y[] = {0, 1, 2}, x[] = {1, 1}, mean, sd;
    uint8_t cols[] = {0, 1};
    esi_lm_fit_t fit;
    esi_lm_fit_rows(&m, rows, y, 3, 2, cols, 2, &fit);
    esi_lm_fit_predict(&fit, x, &mean, &sd);
    assert_double_equal(mean, 1.0, 1e-6);
    double x2[] = {2, 2};
    esi_lm_fit_predict(&fit, x2, &mean, &sd);
    assert_double_equal(mean, 2.0, 1e-3);   /* the slope is barely shrunk with exact data */
    esi_lm_fini(&m);
}

/* y = 5 + 2 x0 + 0.5 x1 + small noise: the law is recovered, and the
 * posterior satisfies the evidence fixed point the fit iterates to. */
static void test_fit_recovers_linear_law(void **st)
{
    (void)st;
    esi_lm_t m;
    esi_lm_config_t c = quiet_config();
    esi_lm_init(&m, &c);
    enum { N = 400 };
    static double rows[N * 3], y[N];
    es_rng_t r;
    es_rng_seed(&r, 3);
    for (int i = 0; i < N; i++) {
        double a = es_rng_uniform(&r) * 10, b = es_rng_uniform(&r) * 100;
        rows[i * 3] = a;
        rows[i * 3 + 1] = b;
        rows[i * 3 + 2] = 7;   /* a constant column: scale 1, coefficient 0 */
        y[i] = 5 + 2 * a + 0.5 * b + (es_rng_uniform(&r) - 0.5) * 0.1;
    }
    uint8_t cols[] = {0, 1, 2};
    esi_lm_fit_t fit;
    esi_lm_fit_rows(&m, rows, y, N, 3, cols, 3, &fit);
    assert_double_equal(fit.coef[0] / fit.scale[0], 2.0, 1e-3);
    assert_double_equal(fit.coef[1] / fit.scale[1], 0.5, 1e-4);
    assert_double_equal(fit.coef[2], 0.0, 1e-9);
    double x[] = {4, 60, 7}, mean, sd;
    esi_lm_fit_predict(&fit, x, &mean, &sd);
    assert_double_equal(mean, 5 + 8 + 30, 0.02);
    /* noise sd 0.1/sqrt(12) = 0.029: alpha ~ 1/var, and the predictive sd near it */
    assert_true(fit.alpha > 0.5 / (0.1 * 0.1 / 12) && fit.alpha < 2 / (0.1 * 0.1 / 12));
    assert_true(sd > 0.02 && sd < 0.04);
    esi_lm_fini(&m);
}

static esi_lm_sample_t sample(int32_t input, int32_t waiting, float kv, float target)
{
    return (esi_lm_sample_t){.kv = kv, .input = input, .waiting = waiting, .running = 1, .generated = 1,
                             .target = target};
}

/* Cold start: 10 ms everywhere; first training at 10 s (10 samples suffice
 * after a cold start), served from the next model sync (30 s). */
static void test_cold_start_and_clock(void **st)
{
    (void)st;
    esi_lm_t m;
    esi_lm_config_t c = quiet_config();
    esi_lm_init(&m, &c);
    double ttft, tpot;
    esi_lm_sample_t q = sample(1000, 0, 0.1f, 0);
    esi_lm_predict(&m, &q, &ttft, &tpot);
    assert_double_equal(ttft, 10, 1e-9);
    assert_double_equal(tpot, 10, 1e-9);
    for (int i = 0; i < 9; i++) {   /* TTFT = 0.1 ms a token */
        esi_lm_sample_t s = sample(100 * (i + 1), 0, 0.1f, 0.1f * 100 * (float)(i + 1));
        esi_lm_add(&m, &s, true, (uint64_t)i);
    }
    esi_lm_advance(&m, 10 * ES_S);
    assert_int_equal(m.retrains, 0);   /* 9 < min_samples_fresh */
    esi_lm_sample_t s = sample(1000, 0, 0.1f, 100);
    esi_lm_add(&m, &s, true, 9);
    esi_lm_advance(&m, 20 * ES_S);
    assert_int_equal(m.retrains, 1);
    esi_lm_predict(&m, &q, &ttft, &tpot);
    assert_double_equal(ttft, 10, 1e-9);   /* trained, not yet synced to the prediction server */
    esi_lm_advance(&m, 30 * ES_S);
    esi_lm_predict(&m, &q, &ttft, &tpot);
    assert_double_equal(ttft, 100, 1.0);
    assert_double_equal(tpot, 10, 1e-9);   /* no TPOT sample: the default model stays */
    esi_lm_fini(&m);
}

/* A bucket keeps its newest bucket_size samples (deque(maxlen)). */
static void test_bucket_bound(void **st)
{
    (void)st;
    esi_lm_t m;
    esi_lm_config_t c = quiet_config();
    c.bucket_size = 3;
    c.min_samples_fresh = 3;
    esi_lm_init(&m, &c);
    for (int i = 1; i <= 5; i++) {
        esi_lm_sample_t s = sample(100, 0, 0.1f, (float)i);
        esi_lm_add(&m, &s, true, (uint64_t)i);
    }
    esi_lm_advance(&m, 30 * ES_S);
    double ttft, tpot;
    esi_lm_sample_t q = sample(100, 0, 0.1f, 0);
    esi_lm_predict(&m, &q, &ttft, &tpot);
    assert_double_equal(ttft, 4.0, 1e-9);   /* mean of 3, 4, 5 */
    esi_lm_fini(&m);
}

/* With enough samples in both queue regimes, the no-queue and queued
 * sub-models answer by num_request_waiting. */
static void test_ensemble_gating(void **st)
{
    (void)st;
    esi_lm_t m;
    esi_lm_config_t c = quiet_config();
    c.min_ensemble = 20;
    esi_lm_init(&m, &c);
    for (int i = 0; i < 40; i++) {
        int32_t w = i % 2 ? 3 + i % 5 : 0;
        esi_lm_sample_t s = sample(200 + 10 * i, w, 0.3f, w ? 500.0f : 50.0f);
        esi_lm_add(&m, &s, true, (uint64_t)i);
        s.target = w ? 40.0f : 8.0f;
        esi_lm_add(&m, &s, false, (uint64_t)i + 1000);
    }
    esi_lm_advance(&m, 30 * ES_S);
    assert_true(m.serving.ensemble);
    double ttft, tpot;
    esi_lm_sample_t q = sample(400, 0, 0.3f, 0);
    esi_lm_predict(&m, &q, &ttft, &tpot);
    assert_double_equal(ttft, 50, 1e-6);
    assert_double_equal(tpot, 8, 1e-6);
    q.waiting = 4;
    esi_lm_predict(&m, &q, &ttft, &tpot);
    assert_double_equal(ttft, 500, 1e-6);
    assert_double_equal(tpot, 40, 1e-6);
    esi_lm_fini(&m);
}

/* The objective "quantile" adds z(0.9) predictive standard deviations. */
static void test_quantile_objective(void **st)
{
    (void)st;
    esi_lm_config_t c = quiet_config();
    esi_lm_t a, b;
    esi_lm_init(&a, &c);
    c.quantile = true;
    esi_lm_init(&b, &c);
    /* the cold-start model: one sample, so (thin SVD, as sklearn) a tiny std */
    double t0, p0;
    esi_lm_sample_t far = sample(5000, 0, 0.9f, 0);   /* not queued: off the one direction kept */
    esi_lm_predict(&b, &far, &t0, &p0);
    assert_double_equal(t0, 10, 0.01);
    assert_double_equal(p0, 10, 0.01);
    es_rng_t r;
    es_rng_seed(&r, 5);
    for (int i = 0; i < 200; i++) {
        esi_lm_sample_t s = sample(100 + i, 0, 0.2f, (float)(20 + es_rng_uniform(&r) * 10));
        esi_lm_add(&a, &s, true, (uint64_t)i);
        esi_lm_add(&b, &s, true, (uint64_t)i);
    }
    esi_lm_advance(&a, 30 * ES_S);
    esi_lm_advance(&b, 30 * ES_S);
    double ma, mb, t;
    esi_lm_sample_t q = sample(150, 0, 0.2f, 0);
    esi_lm_predict(&a, &q, &ma, &t);
    esi_lm_predict(&b, &q, &mb, &t);
    /* uniform noise of width 10: sd 2.9, so the p90 sits ~3.7 ms above the mean */
    assert_true(mb - ma > 3.0 && mb - ma < 4.5);
    esi_lm_fini(&a);
    esi_lm_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_sklearn_docstring),
        cmocka_unit_test(test_fit_recovers_linear_law),
        cmocka_unit_test(test_cold_start_and_clock),
        cmocka_unit_test(test_bucket_bound),
        cmocka_unit_test(test_ensemble_gating),
        cmocka_unit_test(test_quantile_objective),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
