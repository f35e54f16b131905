/*
 * kvmem.h -- how many KV-cache blocks a vLLM pod gets, derived as vLLM's
 * memory profiler derives them.
 *
 * vLLM v1 (vllm/v1/worker/gpu_worker.py determine_available_memory,
 * vllm-project/vllm@35d5cda1) sets
 *
 *   available = total x gpu_memory_utilization
 *               - (weights + torch peak increase of the profile run + non-torch increase)
 *
 * per GPU, and kv_cache_utils.py divides it by the page size of all layers:
 * blocks = floor(available / (block_size x KV bytes per token per rank)).
 * CUDA-graph memory is captured after the KV cache is allocated and is not
 * subtracted (it lives in the 1 - utilization headroom), so it is reported
 * here but never charged.  The profile run is one forward pass of
 * max_num_batched_tokens tokens followed by a dummy sampler run over
 * max_num_seqs rows of full-vocabulary logits; the two peaks do not overlap,
 * so the torch peak is the larger of them.
 *
 * Weights per rank follow vLLM's sharding: column/row-parallel linears and
 * experts split by TP, KV heads split (replicated when kv_heads < TP), the
 * vocabulary padded to 64 and split, norms replicated.
 *
 * Units: bytes (double) and blocks.  Pure functions, no state.
 */
#ifndef ES_KVMEM_H
#define ES_KVMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "es_err.h"

/* The model as vLLM's memory profiler sees it (whole model, before TP). */
typedef struct es_kvmem_model {
    uint32_t layers, hidden, heads, kv_heads, head_dim;
    uint32_t inter;             /* dense MLP intermediate size */
    uint32_t vocab;
    uint32_t experts;           /* MoE experts per layer; 0 = dense MLP */
    uint32_t experts_per_token; /* MoE top-k (0 = 1) */
    uint32_t moe_inter;         /* one expert's intermediate size (0 = inter) */
    uint32_t shared_inter;      /* shared expert's intermediate size; 0 = none */
    uint32_t moe_layers;        /* layers with experts, the others dense; 0 = all (when experts > 0) */
    bool     tie_embeddings;    /* lm_head shares the embedding */
    double   weight_bytes;      /* bytes per linear-layer parameter: 2 (bf16/fp16), 1 (fp8); 0 = 2 */
    uint32_t attn_16bit_layers; /* layers whose attention projections stay 2 B when weight_bytes < 2
                                   (quantization_config.ignore) */
    double   kv_bytes;          /* bytes per KV element: 2 (bf16), 1 (fp8 cache); 0 = 2 */
} es_kvmem_model_t;

/* The coefficients no model file gives: fitted once, global (docs/fidelity.md). */
typedef struct es_kvmem_coeffs {
    double sampler_bytes_per_logit;  /* dummy sampler peak per (max_num_seqs x vocab) logit */
    double non_torch_gib;            /* non-torch increase of the profile run, one GPU */
    double non_torch_tp_gib;         /* more of it when TP > 1 (NCCL, custom all-reduce buffers) */
} es_kvmem_coeffs_t;

typedef struct es_kvmem_in {
    double   gpu_bytes;               /* total memory of one GPU as the driver reports it */
    double   gpu_memory_utilization;
    uint32_t tp;
    uint32_t block_size;
    uint32_t max_num_batched_tokens;
    uint32_t max_num_seqs;
    double   kv_bytes_per_token;      /* one rank's KV bytes per token; 0 = from the model's KV heads */
} es_kvmem_in_t;

typedef struct es_kvmem {   /* one GPU (TP rank) */
    double   requested;        /* total x utilization */
    double   weights;
    double   activation_peak;  /* forward pass of max_num_batched_tokens tokens */
    double   sampler_peak;     /* dummy sampler run */
    double   non_torch;
    double   available;        /* for the KV cache */
    double   kv_bytes_per_token;
    double   block_bytes;
    uint64_t blocks;           /* floor(available / block_bytes); 0 when nothing is left */
} es_kvmem_t;

/* Weights of one TP rank, bytes. */
double es_kvmem_weights(const es_kvmem_model_t *m, uint32_t tp);
/* KV bytes per token on one TP rank (K and V, every layer). */
double es_kvmem_kv_bytes_per_token(const es_kvmem_model_t *m, uint32_t tp);
/* The whole derivation; always fills *out.  Returns ES_ERANGE (naming
 * server.gpu_memory_utilization) when no block fits. */
int es_kvmem_derive(const es_kvmem_model_t *m, const es_kvmem_in_t *in, const es_kvmem_coeffs_t *c,
                    es_kvmem_t *out, es_err_t *err);

#endif /* ES_KVMEM_H */
