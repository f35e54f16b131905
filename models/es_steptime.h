/*
 * es_steptime.h -- how long one engine step takes on a pod's GPUs.
 *
 * A step is described by its composition: prompt chunks (q new tokens over p
 * already-computed ones each), decoding sequences (count and the sum of the
 * keys their attention reads) and the number of sampled rows.  Three models:
 *
 *  - profile (default): measured per-layer tables of a GPU profile
 *    (data/profiles/<gpu>.json, format in docs/server.md), added up as the
 *    profile script validates them: layers x (dense(T) + sum of prompt-chunk
 *    attention(q, p) + decode attention(B, mean keys)) + lm_head(rows).
 *    Tables are interpolated piecewise-linearly (bilinear over the 2-D ones)
 *    and extrapolated linearly past their last point.
 *  - linear: c0 + c1 prompt tokens + c2 decodes + c3 context + c4 prefill
 *    attention units.
 *  - roofline: max(FLOPs / (peak x mfu), bytes / (HBM x efficiency)).
 *
 * Tensor parallelism (TP > 1) is a model, not a measurement: per-layer and
 * lm_head time divided by TP plus two ring all-reduces of the step's hidden
 * states per layer.  TP = 1 is exactly the tables.  Every model adds the
 * per-step CPU overhead.  Units: microseconds (double); the profile is
 * immutable after loading and safe to share between threads.
 */
#ifndef ES_STEPTIME_H
#define ES_STEPTIME_H

#include <stdint.h>

#include "es_err.h"
#include "es_server_config.h"

typedef struct es_table1 {   /* y(x), x ascending */
    uint32_t n;
    double  *x, *y;
} es_table1_t;

typedef struct es_table2 {   /* rows keyed ascending; each row y(x), x ascending */
    uint32_t     nrows;
    double      *key;
    es_table1_t *row;
} es_table2_t;

typedef struct es_model_shape {
    uint32_t layers, hidden, heads, kv_heads, head_dim, inter, vocab;
    uint32_t context_len;    /* longest sequence the model accepts */
} es_model_shape_t;

typedef struct es_profile_model {
    char             name[64];
    es_model_shape_t shape;
    es_table1_t      dense;     /* us per layer, T tokens */
    es_table1_t      lm_head;   /* us per step, T sampled rows */
    es_table2_t      prefill;   /* us per layer, rows q, x = p */
    es_table2_t      decode;    /* us per layer, rows B, x = L keys */
} es_profile_model_t;

struct es_profile {
    char                gpu[96];        /* profile name (file stem) */
    char                device[128];    /* "gpu" field: the measured device */
    double              memory_bytes;   /* one GPU */
    double              hbm_Bps;        /* datasheet peak */
    double              peak_flops;     /* datasheet bf16 dense */
    uint32_t            nmodels;
    es_profile_model_t *models;
};
typedef struct es_profile es_profile_t;

/* Parses a profile document (JSON text); `name` is the file stem, `file` the
 * path for messages. */
int es_profile_parse(const char *name, const char *file, const char *text, es_profile_t **out,
                     es_err_t *err);
const es_profile_model_t *es_profile_model(const es_profile_t *p, const char *model);
/* "a, b, c": the models a profile holds, for error messages. */
void es_profile_model_list(const es_profile_t *p, char *buf, size_t size);

double es_table1_eval(const es_table1_t *t, double x);
double es_table2_eval(const es_table2_t *t, double key, double x);

/* Parameter count (bf16 weights = 2 bytes each), embeddings and lm_head included. */
double es_model_params(const es_model_shape_t *m);

typedef struct es_step_comp {
    uint32_t        n_prefill;
    const uint32_t *q, *p;      /* per prompt chunk: new tokens, computed tokens before */
    uint32_t        n_decode;   /* sequences computing one token each */
    uint64_t        sum_ctx;    /* keys read by the decoding sequences, in all */
    uint32_t        n_sampled;  /* logits rows: one per scheduled sequence */
} es_step_comp_t;

typedef struct es_steptime {
    int                       kind;    /* ES_STEP_* */
    const es_profile_model_t *pm;
    const es_profile_t       *prof;
    uint32_t                  tp;
    double                    overhead_us;
    double                    c[5];            /* linear */
    double                    mfu, bw_eff;     /* roofline */
    double                    link_Bps, ar_lat_us;
} es_steptime_t;

void   es_steptime_init(es_steptime_t *st, const es_server_config_t *cfg, const es_profile_t *prof,
                        const es_profile_model_t *pm);
double es_steptime_us(const es_steptime_t *st, const es_step_comp_t *c);

#endif /* ES_STEPTIME_H */
