/*
 * es_model_config.h -- the shape of a transformer model, read from a Hugging
 * Face `config.json` or from a GPU profile's `config` block.
 *
 * The shape is what the step-time and KV-capacity models need: layer count
 * and widths, attention layout (MHA, GQA, MLA), the MLP (dense, or MoE with
 * routed and shared experts), vocabulary, dtypes, and the parameter and byte
 * counts derived from them.  Counts are exact integers held in doubles (all
 * below 2^53).  Units: parameters, bytes, tokens.
 *
 * What `config.json` readers accept (docs/server.md, "Any model"):
 *  - dense and GQA decoders (Llama, Mistral, Qwen2/3, Yi, ...): hidden_size,
 *    num_hidden_layers, num_attention_heads, num_key_value_heads, head_dim
 *    (default hidden/heads), intermediate_size, vocab_size;
 *  - MoE: num_local_experts | num_experts | n_routed_experts, with
 *    num_experts_per_tok (top-k), moe_intermediate_size (default
 *    intermediate_size), shared experts (n_shared_experts x
 *    moe_intermediate_size, shared_expert_intermediate_size, or Llama-4's one
 *    shared expert), first_k_dense_replace / decoder_sparse_step /
 *    interleave_moe_layer_step / mlp_only_layers for the dense layers;
 *  - MLA (DeepSeek-V2/V3, GLM): q_lora_rank, kv_lora_rank, qk_nope_head_dim,
 *    qk_rope_head_dim, v_head_dim; its KV cache is one latent per token;
 *  - nesting: Llama-4 and other multimodal configs keep the decoder in
 *    `text_config` (the vision tower is not counted);
 *  - dtype: 2 bytes (vLLM serves fp32 checkpoints in 16 bits too; a
 *    torch_dtype / dtype of float8_* means FP8 weights), and
 *    quantization_config (fp8, float-quantized / compressed-tensors with
 *    8-bit weights): linear weights 1 byte, embeddings, lm_head, norms and
 *    MoE routers stay in the model dtype, and so do the attention
 *    projections of the decoder layers its `ignore` list names (one by one
 *    as llm-compressor writes them, or an "re:" pattern: every layer; the
 *    vision tower's entries are not the decoder's); the KV cache stays in
 *    the model dtype;
 *  - windows: sliding_window (with use_sliding_window, max_window_layers,
 *    layer_types) and Llama-4's attention_chunk_size (3 of every 4 layers
 *    chunked-local), used by the analytic step time; the KV capacity model
 *    of issue 15 may use them too.
 */
#ifndef ES_MODEL_CONFIG_H
#define ES_MODEL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "es_err.h"

typedef struct es_model_shape {
    /* read from the config */
    uint32_t layers, hidden, heads, kv_heads, head_dim;
    uint32_t inter;             /* intermediate size of a dense MLP layer */
    uint32_t vocab;
    uint32_t context_len;       /* longest sequence the model accepts */
    uint32_t experts;           /* routed experts per MoE layer; 0 = dense model */
    uint32_t top_k;             /* routed experts per token */
    uint32_t moe_inter;         /* intermediate size of one routed expert */
    uint32_t shared_inter;      /* summed intermediate size of the shared experts; 0 = none */
    uint32_t moe_layers;        /* layers with experts (the others are dense) */
    uint32_t q_lora_rank, kv_lora_rank, qk_rope_dim, v_head_dim;   /* MLA; kv_lora_rank 0 = not MLA */
    uint32_t sliding_window;    /* tokens; 0 = none */
    uint32_t sliding_layers;    /* layers using the window */
    uint32_t attn_chunk;        /* chunked-local attention size (Llama-4); 0 = none */
    uint32_t chunked_layers;    /* layers using it */
    bool     tie_embeddings;   /* lm_head shares the embedding matrix */
    bool     fp8;               /* linear weights stored in 8 bits */
    bool     qk_norm;           /* use_qk_norm (Llama-4: on its RoPE, chunked-local layers) */
    uint32_t attn_16bit_layers; /* layers whose attention projections quantization_config.ignore
                                   leaves in the model dtype (0 when nothing is quantised) */
    double   dtype_bytes;       /* model dtype: embeddings, norms, activations, KV cache */
    double   weight_bytes_per_param;   /* linear layers: dtype_bytes, or 1 for fp8 */
    /* derived by es_model_shape_finish */
    double   params_total;      /* every weight, embeddings and lm_head included */
    double   params_active;     /* weights one token uses (top-k experts, shared experts) */
    double   weight_bytes;      /* params at their storage width */
    double   expert_params;     /* one routed expert of one layer */
    double   attn_params;       /* one layer's attention projections */
    double   kv_bytes_per_token_layer;  /* K and V (or MLA latent) of one token in one layer */
} es_model_shape_t;

/* Fills the derived fields from the read ones.  A shape with only the
 * profile fields (layers..vocab) gets the counts the profile model always
 * used: untied bf16 embeddings, 2 norms per layer, one final norm. */
void es_model_shape_finish(es_model_shape_t *m);

/* Parses a Hugging Face config.json text; `file` names it in messages
 * ("file:line: key: message"). */
int es_model_config_parse(const char *file, const char *text, es_model_shape_t *out, es_err_t *err);
int es_model_config_load(const char *path, es_model_shape_t *out, es_err_t *err);

/* True when `server.model` names a file (it holds '/' or ends in .json)
 * rather than a model key inside a GPU profile. */
bool es_model_is_path(const char *model);

/* KV cache bytes of one token, all layers, on one of `tp` GPUs: KV heads
 * split over the GPUs (replicated when fewer than TP); an MLA latent is
 * replicated. */
double es_model_kv_bytes_per_token(const es_model_shape_t *m, uint32_t tp);

/* Expected routed experts a layer reads for `tokens` tokens, each picking
 * top_k of the experts uniformly: E (1 - (1 - k/E)^tokens). */
double es_model_experts_touched(const es_model_shape_t *m, double tokens);

#endif /* ES_MODEL_CONFIG_H */
