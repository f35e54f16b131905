/*
 * kvmem.c -- vLLM's KV-cache sizing (see kvmem.h for the derivation and its
 * source).
 */
#include "es_kvmem.h"
#include "es_server_config.h"   /* ES_GIB */

#include <math.h>

static double or_default(double v, double d) { return v > 0 ? v : d; }

/* KV heads one rank holds: split by TP, replicated when there are fewer than TP. */
static uint32_t kv_heads_per_rank(const es_kvmem_model_t *m, uint32_t tp)
{
    return m->kv_heads >= tp ? m->kv_heads / tp : 1;
}

double es_kvmem_weights(const es_kvmem_model_t *m, uint32_t tp)
{
    double h = m->hidden, wb = or_default(m->weight_bytes, 2.0);
    double attn = h * (double)(m->heads / tp) * m->head_dim              /* q */
                  + 2.0 * h * kv_heads_per_rank(m, tp) * m->head_dim     /* k, v */
                  + (double)(m->heads / tp) * m->head_dim * h;           /* o */
    double dense = 3.0 * h * (double)m->inter / tp, moe = dense;
    uint32_t nmoe = 0;
    if (m->experts > 0) {
        double ei = or_default(m->moe_inter, m->inter);
        moe = (double)m->experts * 3.0 * h * ei / tp + 3.0 * h * (double)m->shared_inter / tp;
        nmoe = m->moe_layers && m->moe_layers < m->layers ? m->moe_layers : m->layers;
    }
    double router = h * m->experts * 2.0;                               /* gate stays bf16 */
    double norms = 2.0 * h * 2.0;                                       /* two per layer, bf16 */
    double layers = (double)m->layers * (attn * wb + norms) + (double)(m->layers - nmoe) * dense * wb +
                    (double)nmoe * (moe * wb + router);
    if (m->attn_16bit_layers > 0 && wb < 2.0) layers += (double)m->attn_16bit_layers * attn * (2.0 - wb);
    double vocab_rank = ceil(m->vocab / 64.0) * 64.0 / tp;               /* VocabParallelEmbedding */
    double embed = vocab_rank * h * 2.0 * (m->tie_embeddings ? 1.0 : 2.0);
    return layers + embed + h * 2.0;
}

double es_kvmem_kv_bytes_per_token(const es_kvmem_model_t *m, uint32_t tp)
{
    return 2.0 * m->layers * kv_heads_per_rank(m, tp) * m->head_dim * or_default(m->kv_bytes, 2.0);
}

/* Peak of the profile forward pass: the MLP's gate_up output (2 x inter) and
 * activation output (inter), plus the hidden-size buffers around it
 * (residual, norm output, attention output, qkv), per token, bf16. */
static double activation_peak(const es_kvmem_model_t *m, uint32_t tp, uint32_t tokens)
{
    double inter;
    if (m->experts > 0) {
        double k = m->experts_per_token ? m->experts_per_token : 1;
        inter = (k * or_default(m->moe_inter, m->inter) + m->shared_inter) / tp;
    } else {
        inter = (double)(m->inter / tp);
    }
    return (double)tokens * (3.0 * inter + 4.0 * m->hidden) * 2.0;
}

int es_kvmem_derive(const es_kvmem_model_t *m, const es_kvmem_in_t *in, const es_kvmem_coeffs_t *c,
                    es_kvmem_t *out, es_err_t *err)
{
    uint32_t tp = in->tp ? in->tp : 1;
    out->requested = in->gpu_bytes * in->gpu_memory_utilization;
    out->weights = es_kvmem_weights(m, tp);
    out->activation_peak = activation_peak(m, tp, in->max_num_batched_tokens);
    out->sampler_peak = c->sampler_bytes_per_logit * (double)in->max_num_seqs * (double)m->vocab;
    out->non_torch = (c->non_torch_gib + (tp > 1 ? c->non_torch_tp_gib : 0.0)) * ES_GIB;
    double peak = out->activation_peak > out->sampler_peak ? out->activation_peak : out->sampler_peak;
    out->available = out->requested - out->weights - peak - out->non_torch;
    out->kv_bytes_per_token = in->kv_bytes_per_token > 0 ? in->kv_bytes_per_token : es_kvmem_kv_bytes_per_token(m, tp);
    out->block_bytes = out->kv_bytes_per_token * in->block_size;
    double n = out->available > 0 ? floor(out->available / out->block_bytes) : 0.0;
    out->blocks = n > 0 ? (uint64_t)n : 0;
    if (out->blocks < 2)
        return es_err_set(err, ES_ERANGE,
                          "server.gpu_memory_utilization: %.1f GiB of weights and %.1f GiB of profile-run "
                          "peak per GPU leave no room for the KV cache (%.1f GiB x %.2f)",
                          out->weights / ES_GIB, (peak + out->non_torch) / ES_GIB, in->gpu_bytes / ES_GIB,
                          in->gpu_memory_utilization);
    return 0;
}
