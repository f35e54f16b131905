/*
 * latency_model.h -- the latency predictor's training side, in process: an
 * online Bayesian-ridge model of TTFT and TPOT (esi_lm_ names).
 *
 * Upstream's predicted-latency-producer (llm-d-router v0.10.0, commit
 * 71f4f099, requestcontrol/dataproducer/predictedlatency) sends training
 * entries to the llm-d-latency-predictor sidecar and asks it for bulk
 * predictions.  The sidecar (github llm-d/llm-d-latency-predictor, commit
 * 04e44cd8, training/training_server.py and prediction/prediction_server.py)
 * trains XGBoost by default, Bayesian ridge (sklearn BayesianRidge on
 * StandardScaler'd features) when LATENCY_MODEL_TYPE=bayesian_ridge.  This
 * module is that Bayesian-ridge path, trained as the sidecar does:
 *  - features: TTFT is_queued, kv_cache_percentage, input_token_length,
 *    num_request_waiting, num_request_running, prefill/decode tokens in
 *    flight, encoder matched/input size, prefix_cache_score,
 *    effective_input_tokens = (1 - prefix) x input, pod_type one-hot ("",
 *    prefill, decode); TPOT the same without the prefix/encoder columns and
 *    with num_tokens_generated (zeroed for training, TPOT_ZERO_TOKEN_COUNT);
 *  - samples: 5 queue x 20 KV x 4 prefix buckets of at most
 *    MAX_TRAINING_DATA_SIZE_PER_BUCKET (oldest dropped), 10 % held out as a
 *    test set (deterministic here: a hash of the request id);
 *  - cold start: a default model fitted on one sample of 10 ms (so every
 *    prediction is 10 ms until the first retrain) and MIN_SAMPLES_FOR_RETRAIN
 *    lowered to MIN_SAMPLES_FOR_RETRAIN_FRESH (10);
 *  - retraining: first 10 s after start, then every RETRAINING_INTERVAL_SEC;
 *    the prediction server picks the trained model up every
 *    MODEL_SYNC_INTERVAL_SEC; with at least MIN_SAMPLES_FOR_ENSEMBLE_SPLIT
 *    samples in each queue regime, separate no-queue / queued sub-models
 *    (the no-queue ones without is_queued and num_request_waiting) answer by
 *    the request's num_request_waiting (ENSEMBLE_MODE);
 *  - objective "mean" (the chart's LATENCY_OBJECTIVE_TYPE) or "quantile"
 *    (mean + z(q) x predictive std).
 * Defaults are the v0.10.0 chart's (config/charts/routerlib/values.yaml:
 * retraining every 10 s, 100 samples, 500 a bucket, objective mean, model
 * sync 30 s); the sidecar's own defaults are noted in esi_lm_default_config.
 *
 * Times are es_time_t ns of simulated time, latencies ms.  Memory: the sample
 * store is allocated once at init (calloc: pages are touched as buckets
 * fill); training and prediction allocate nothing.  Deterministic: sums run
 * in bucket order, the eigen-decomposition is GSL's.
 */
#ifndef ESI_LATENCY_MODEL_H
#define ESI_LATENCY_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_time.h"

#define ESI_LM_MAX_F 14   /* TTFT features (the widest model) */

enum { ESI_LM_POD_NONE = 0, ESI_LM_POD_PREFILL = 1, ESI_LM_POD_DECODE = 2 };

/* One training entry or prediction request (latencypredictorclient/types.go). */
typedef struct esi_lm_sample {
    float   kv;              /* kv_cache_percentage 0..1 */
    float   prefix;          /* prefix_cache_score 0..1 */
    float   target;          /* actual_ttft_ms or actual_tpot_ms (training) */
    int32_t input;           /* input_token_length */
    int32_t waiting;         /* num_request_waiting */
    int32_t running;         /* num_request_running */
    int32_t prefill_tif;     /* prefill_tokens_in_flight */
    int32_t decode_tif;      /* decode_tokens_in_flight */
    int32_t enc_input;       /* encoder_input_size */
    int32_t enc_matched;     /* encoder_matched_size */
    int32_t generated;       /* num_tokens_generated */
    uint8_t pod;             /* ESI_LM_POD_* */
} esi_lm_sample_t;

typedef struct esi_lm_config {
    es_time_t first_train;       /* continuous_training_loop's initial sleep: 10 s */
    es_time_t retrain_interval;  /* LATENCY_RETRAINING_INTERVAL_SEC: chart 10 s (sidecar default 1800 s) */
    es_time_t sync_interval;     /* MODEL_SYNC_INTERVAL_SEC: chart 30 s (prediction server default 10 s) */
    int64_t   min_samples;       /* LATENCY_MIN_SAMPLES_FOR_RETRAIN: chart 100 (default 1000) */
    int64_t   min_samples_fresh; /* LATENCY_MIN_SAMPLES_FOR_RETRAIN_FRESH: 10, used after a cold start */
    int64_t   bucket_size;       /* LATENCY_MAX_TRAINING_DATA_SIZE_PER_BUCKET: 500 */
    int64_t   max_test;          /* LATENCY_MAX_TEST_DATA_SIZE: 1000 */
    double    test_ratio;        /* LATENCY_TEST_TRAIN_RATIO: 0.1 */
    bool      ensemble;          /* LATENCY_ENSEMBLE_MODE: true */
    int64_t   min_ensemble;      /* LATENCY_MIN_SAMPLES_FOR_ENSEMBLE_SPLIT: 200 */
    bool      quantile;          /* objective quantile (sidecar default) instead of mean (chart) */
    double    quantile_alpha;    /* LATENCY_QUANTILE_ALPHA: 0.9 */
} esi_lm_config_t;

/* One fitted BayesianRidge with its StandardScaler, on a subset of columns. */
typedef struct esi_lm_fit {
    uint32_t p;                              /* columns used */
    uint8_t  col[ESI_LM_MAX_F];              /* indexes into the full feature vector */
    double   mean[ESI_LM_MAX_F], scale[ESI_LM_MAX_F];
    double   coef[ESI_LM_MAX_F];             /* on scaled features */
    double   intercept;                      /* mean of the targets */
    double   alpha;                          /* noise precision */
    double   sigma[ESI_LM_MAX_F * ESI_LM_MAX_F];  /* posterior covariance of coef */
} esi_lm_fit_t;

typedef struct esi_lm_models {
    esi_lm_fit_t ttft, tpot;                     /* single models */
    esi_lm_fit_t ttft_nq, ttft_q, tpot_nq, tpot_q;  /* ensemble (no-queue / queued) */
    bool         ensemble;                       /* ensemble_active */
} esi_lm_models_t;

typedef struct esi_lm_store {
    esi_lm_sample_t *buf;        /* nbuckets x cap */
    uint32_t        *len, *head; /* per bucket ring */
    esi_lm_sample_t *test;       /* ring of max_test */
    size_t           test_len, test_head;
} esi_lm_store_t;

typedef struct esi_lm {
    esi_lm_config_t cfg;
    esi_lm_store_t  ttft, tpot;
    esi_lm_models_t trained, serving;
    bool            fresh_model;     /* trained newer than serving */
    es_time_t       next_train, next_sync;
    int64_t         min_samples;     /* effective (fresh after a cold start) */
    uint64_t        retrains;        /* trainings that produced a model */
    uint64_t        samples_ttft, samples_tpot;
    void           *ws[4];           /* gsl eigen workspaces by model width */
    double          work[2 * ESI_LM_MAX_F * ESI_LM_MAX_F];
} esi_lm_t;

/* The v0.10.0 chart's settings (see above). */
esi_lm_config_t esi_lm_default_config(void);
/* Allocates the store and fits the cold-start default models.  Aborts when
 * out of memory (es_alloc.h), like the rest of a scheduler. */
void esi_lm_init(esi_lm_t *m, const esi_lm_config_t *cfg);
void esi_lm_fini(esi_lm_t *m);
/* Runs the trainings and model syncs due by now (call before adding samples
 * or predicting at now; times never decrease). */
void esi_lm_advance(esi_lm_t *m, es_time_t now);
/* Adds a training entry (target > 0) for TTFT or TPOT; key picks test/train. */
void esi_lm_add(esi_lm_t *m, const esi_lm_sample_t *s, bool ttft, uint64_t key);
/* Predicts with the serving model: TTFT and TPOT in ms. */
void esi_lm_predict(const esi_lm_t *m, const esi_lm_sample_t *x, double *ttft, double *tpot);

/* Fits one model on rows[0..n) of full feature vectors (width f) and targets
 * y, using the columns cols[0..p): scaling, then sklearn's BayesianRidge
 * evidence maximisation (alpha_1..lambda_2 = 1e-6, tol 1e-3, 300 iterations).
 * Exposed for the unit tests. */
void esi_lm_fit_rows(esi_lm_t *m, const double *rows, const double *y, size_t n, uint32_t f,
                     const uint8_t *cols, uint32_t p, esi_lm_fit_t *out);
/* Mean and predictive std of a fit on a full feature vector. */
void esi_lm_fit_predict(const esi_lm_fit_t *fit, const double *x, double *mean, double *std);

#endif /* ESI_LATENCY_MODEL_H */
