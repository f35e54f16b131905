/*
 * es_steptime.h -- how long one engine step takes on a pod's GPUs.
 *
 * A step is described by its composition: prompt chunks (q new tokens over p
 * already-computed ones each), decoding sequences (count and the sum of the
 * keys their attention reads) and the number of sampled rows.  The models:
 *
 *  - profile: measured per-layer tables of a GPU profile
 *    (data/profiles/<gpu>.json, format in docs/server.md), added up as the
 *    profile script validates them: layers x (dense(T) + sum of prompt-chunk
 *    attention(q, p) + decode attention(B, mean keys)) + lm_head(rows).
 *    Tables are interpolated piecewise-linearly (bilinear over the 2-D ones)
 *    and extrapolated linearly past their last point.
 *  - linear: c0 + c1 prompt tokens + c2 decodes + c3 context + c4 prefill
 *    attention units.
 *  - roofline: max(FLOPs / (peak x mfu), bytes / (HBM x efficiency)).
 *  - analytic (any model, any GPU of the datasheet): roofline-shaped terms
 *    from the model's shape (es_model_config.h) and the GPU's datasheet
 *    (es_gpu_spec.h), each divided by a GLOBAL efficiency coefficient of the
 *    coefficients file (data/steptime-coeffs.yaml):
 *      compute = GEMM FLOPs / (peak x gemm_eff) + attention FLOPs / (bf16 peak x attn_eff)
 *      memory  = (weights read + KV read and written) / (HBM x hbm_eff)
 *      sample  = sampled rows x vocab x ES_SAMPLER_BYTES_PER_LOGIT / (HBM x hbm_eff)
 *      step    = (compute^s + memory^s)^(1/s) + sample + layers x layer_us + step_us
 *                + TP all-reduces (two per layer, as vLLM's custom all-reduce: one
 *                stage reading TP - 1 peers for small messages, two above);  all per GPU (divided by TP) but the
 *                sampler, which every rank runs over the whole vocabulary.
 *    GEMM FLOPs count 2 x active params x tokens (top-k experts per token);
 *    an FP8 model's GEMMs run at the FP8 peak but for lm_head, the routers
 *    and the attention its quantization_config leaves in 16 bits (bf16 peak);
 *    MoE weights read are the experts the step's tokens touch in expectation.
 *    Sliding-window and chunked-local layers read and attend to at most
 *    their window of keys (decodes taken at their mean context).
 *  - auto (default): profile when the GPU profile measured the model,
 *    analytic otherwise.
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
#include "es_gpu_spec.h"
#include "es_model_config.h"
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

typedef struct es_profile_model {
    char             name[64];
    es_model_shape_t shape;
    es_table1_t      dense;     /* us per layer, T tokens */
    es_table1_t      lm_head;   /* us per step, T sampled rows */
    es_table2_t      prefill;   /* us per layer, rows q, x = p */
    es_table2_t      decode;    /* us per layer, rows B, x = L keys */
    char             source[256];   /* "profile", or the config.json it was read from */
} es_profile_model_t;

/* HBM bytes per logit of vLLM v1's sampler (vllm/v1/sample/sampler.py,
 * random sampling, no penalties, top-k/top-p or logprobs): bf16 -> float32
 * cast 2 + 4, temperature 4 + 4, softmax 4 + 4 + 4, exponential noise 4,
 * probs / noise 4 + 4 + 4, argmax 4.  A count of memory passes, not a fit. */
#define ES_SAMPLER_BYTES_PER_LOGIT 46.0

/* Global coefficients of the analytic step model (data/steptime-coeffs.yaml). */
typedef struct es_step_coeffs {
    double gemm_eff;        /* achieved fraction of peak dense FLOP/s in GEMMs */
    double attn_eff;        /* achieved fraction of peak BF16 FLOP/s in attention */
    double hbm_eff;         /* achieved fraction of peak HBM bandwidth */
    double link_eff;        /* all-reduce bus bandwidth / NVLink (or PCIe) one-direction bandwidth */
    double allreduce_us;    /* fixed cost of one all-reduce */
    double layer_us;        /* fixed GPU time per layer per step (launches, norms, small kernels) */
    double step_us;         /* fixed GPU time per step (embedding, sampling) */
    double smooth;          /* s of the (compute^s + memory^s)^(1/s) combination; large = max */
    char   file[256];       /* where they were read from */
} es_step_coeffs_t;

struct es_profile {
    char                gpu[96];        /* profile name (file stem) */
    char                device[128];    /* "gpu" field: the measured device */
    double              memory_bytes;   /* one GPU */
    double              hbm_Bps;        /* datasheet peak */
    double              peak_flops;     /* datasheet bf16 dense */
    uint32_t            nmodels;
    es_profile_model_t *models;
    /* from the GPU datasheet (es_gpu_spec.h), for the analytic model */
    double              fp8_flops;      /* 0: no FP8 tensor cores (GEMMs run at bf16 peak) */
    double              link_Bps;       /* NVLink one direction; 0 = PCIe only */
    double              pcie_Bps;
    int                 config_model;   /* index of the model read from a config.json; -1 none */
    es_step_coeffs_t    coeffs;
};
typedef struct es_profile es_profile_t;

/* Parses a profile document (JSON text); `name` is the file stem, `file` the
 * path for messages. */
int es_profile_parse(const char *name, const char *file, const char *text, es_profile_t **out,
                     es_err_t *err);
/* The model `model` names: a model key of the profile, or (a path) the
 * config.json es_profile_open read. */
const es_profile_model_t *es_profile_model(const es_profile_t *p, const char *model);
/* True when the model has measured tables (the profile step model can run). */
int es_profile_model_has_tables(const es_profile_model_t *m);

/* Everything a pod's step time needs, loaded once: `gpu` is a profile
 * (data/profiles/<gpu>.json) or a GPU of the datasheet `gpus_file` (NULL or
 * "": data/gpus.yaml); `model` a profile model key or a config.json path
 * (already resolved against the experiment's folder); `coeffs_file` the
 * analytic model's coefficients (NULL or "": data/steptime-coeffs.yaml).
 * Free with es_profile_free. */
int es_profile_open(const char *gpu, const char *model, const char *gpus_file, const char *coeffs_file,
                    es_profile_t **out, es_err_t *err);
/* Reads a coefficients file; errors name file:line: key. */
int es_step_coeffs_load(const char *path, es_step_coeffs_t *out, es_err_t *err);
/* "a, b, c": the models a profile holds, for error messages. */
void es_profile_model_list(const es_profile_t *p, char *buf, size_t size);

double es_table1_eval(const es_table1_t *t, double x);
double es_table2_eval(const es_table2_t *t, double key, double x);

/* Parameter count, embeddings and lm_head included (es_model_shape_finish). */
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
    /* analytic: per-step constants precomputed from the shape and the GPU */
    double                    gemm_flops_tok;   /* GEMM FLOPs per token (active linear params x 2) */
    double                    lm_flops_row;     /* lm_head FLOPs per sampled row */
    double                    gemm16_flops_tok; /* of an FP8 model: the GEMM FLOPs per token that run in
                                                   16 bits (unquantised attention, routers); else 0 */
    double                    lm16_flops_row;   /* of an FP8 model: lm_head FLOPs per row (16 bits); else 0 */
    double                    attn_flops_unit;  /* attention FLOPs per (query, key) pair, all layers */
    double                    fixed_bytes;      /* weights read every step, experts excluded, one GPU */
    double                    expert_bytes;     /* one routed expert of one layer, one GPU */
    double                    kv_bytes_tok;     /* KV bytes of one token, all layers, one GPU */
    double                    sample_bytes_row; /* sampler HBM traffic per sampled row, every GPU */
    double                    local_window;     /* keys a sliding-window / chunked-local layer sees at most */
    double                    local_frac;       /* fraction of layers that are windowed; 0 = none */
    double                    layer_units;      /* layers in dense-layer kernel counts (ES_DENSE_LAYER_KERNELS) */
    double                    gemm_Bps_inv, attn_inv, hbm_inv;   /* 1 / achieved rates (us per unit) */
    double                    gemm16_inv;       /* 1 / achieved 16-bit GEMM rate of an FP8 model */
} es_steptime_t;

/* Terms of one analytic step, for tests and bench: us each, before the
 * combination; total = the step's us including cpu overhead. */
typedef struct es_step_terms {
    double gemm_us, attn_us, weight_us, kv_us, sample_us, comm_us, fixed_us, total_us;
    double experts_touched;   /* per MoE layer */
} es_step_terms_t;
void es_steptime_terms(const es_steptime_t *st, const es_step_comp_t *c, es_step_terms_t *out);
/* The model a pod runs for server.step_model `kind` (auto: profile when the
 * model has measured tables, analytic otherwise). */
int es_steptime_resolve(int kind, const es_profile_model_t *pm);
/* "profile", "linear", "roofline" or "analytic": what the pod runs. */
const char *es_steptime_kind_name(int kind);

void   es_steptime_init(es_steptime_t *st, const es_server_config_t *cfg, const es_profile_t *prof,
                        const es_profile_model_t *pm);
double es_steptime_us(const es_steptime_t *st, const es_step_comp_t *c);

#endif /* ES_STEPTIME_H */
