/*
 * server_setup.c -- a pod's lifetime: its profile, its KV capacity (the flat
 * derivation, or vLLM's memory profile with server.vllm_fidelity), the engine
 * CPU and API server settings of a vLLM version, create and destroy (see
 * es_server.h and docs/server.md).  The engine loop is server.c.
 */
#include "server_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_paths.h"
#include "es_str.h"
#include "es_util.h"
#include "es_alloc.h"
#include "es_vllm_args.h"

int es_profile_load(const char *gpu, es_profile_t **out, es_err_t *err)
{
    char rel[256], path[1024];
    snprintf(rel, sizeof rel, "profiles/%s.json", gpu);
    es_data_path(path, sizeof path, rel);
    char *text;
    int rc = es_file_read(path, &text, NULL);
    if (rc == ES_ENOTFOUND) return es_err_set(err, ES_ENOTFOUND, "server.gpu: no profile \"%s\" (%s)", gpu, path);
    if (rc == ES_ENOMEM) return es_err_set(err, ES_ENOMEM, "out of memory");
    if (rc) return es_err_set(err, rc, "%s: read error", path);
    rc = es_profile_parse(gpu, path, text, out, err);
    free(text);
    return rc;
}

static int derive_blocks(const es_server_config_t *cfg, const es_profile_t *prof,
                         const es_model_shape_t *m, uint32_t *out, es_err_t *err)
{
    if (cfg->num_gpu_blocks > 0) { *out = (uint32_t)cfg->num_gpu_blocks; return 0; }
    double tp = (double)cfg->tensor_parallel;
    double mem = cfg->gpu_memory_gib > 0 ? cfg->gpu_memory_gib * ES_GIB : prof->memory_bytes;
    double weights = m->weight_bytes / tp;
    double avail = mem * cfg->gpu_memory_utilization - weights - cfg->activation_reserve_gib * ES_GIB;
    double block = es_model_kv_bytes_per_token(m, (uint32_t)tp) * (double)cfg->block_size;
    double n = avail / block;
    if (!(n >= 2))   /* also NaN */
        return es_err_set(err, ES_ERANGE,
                          "server.gpu_memory_utilization: %.1f GiB of weights per GPU leave no room for the "
                          "KV cache (%.1f GiB x %.2f)", weights / ES_GIB, mem / ES_GIB,
                          cfg->gpu_memory_utilization);
    *out = n > ES_SERVER_MAX_BLOCKS ? ES_SERVER_MAX_BLOCKS : (uint32_t)n;
    return 0;
}

/* The profile's model shape as vLLM's memory profiler sees it: dense, bf16. */
static void kvmem_model_of(const es_model_shape_t *m, es_kvmem_model_t *out)
{
    memset(out, 0, sizeof *out);
    out->layers = m->layers;
    out->hidden = m->hidden;
    out->heads = m->heads;
    out->kv_heads = m->kv_heads;
    out->head_dim = m->head_dim;
    out->inter = m->inter;
    out->vocab = m->vocab;
    out->experts = m->experts;
    out->experts_per_token = m->top_k;
    out->moe_inter = m->moe_inter;
    out->shared_inter = m->shared_inter;
    out->moe_layers = m->moe_layers;
    out->tie_embeddings = m->tie_embeddings;
    out->weight_bytes = m->weight_bytes_per_param;
    out->attn_16bit_layers = m->attn_16bit_layers;
    out->kv_bytes = m->dtype_bytes;
}

static int setup_vllm(es_server_t *s, const es_server_config_t *cfg, const es_profile_t *prof, uint32_t *nblocks,
                      es_err_t *err)
{
    int ver;
    if (es_vllm_version_parse(cfg->vllm_version, &ver, err) != 0) {
        char msg[ES_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        return es_err_set(err, ES_EINVAL, "server.vllm_version: %s", msg);
    }
    s->vllm = true;
    /* async scheduling: opt-in in 0.11, the default from 0.14 (issue 15; vllm/config/scheduler.py) */
    s->async_sched = cfg->async_scheduling == ES_ASYNC_ON ||
                     (cfg->async_scheduling == ES_ASYNC_AUTO && ver >= 1400);
    s->cpu_step_us = cfg->engine_cpu_step_us;
    s->cpu_seq_us = cfg->engine_cpu_seq_us;
    s->cpu_tok_us = cfg->engine_cpu_token_us;
    s->sync_us = cfg->engine_sync_us;
    s->fe_on = true;
    s->n_api = (uint32_t)cfg->api_server_count;
    s->api_req = es_time_from_us(cfg->api_request_us);
    s->api_latency = es_time_from_us(cfg->api_latency_us);
    s->api_chat = es_time_from_us(cfg->api_chat_request_us);
    s->api_tok_ns = cfg->api_prompt_token_us * 1e3;
    s->api_chunk_d = cfg->api_chunk_us * 1e3;
    s->api_chat_chunk_d = cfg->api_chat_chunk_us * 1e3;
    s->chat_yield = cfg->api_chat_yield;
    es_kvmem_model_t m;
    kvmem_model_of(&s->pm->shape, &m);
    /* the model's own count: MLA latents, KV heads replicated past TP */
    double kv_token = es_model_kv_bytes_per_token(&s->pm->shape, (uint32_t)cfg->tensor_parallel);
    double block_bytes = kv_token * (double)cfg->block_size;
    if (cfg->kv_offloading_gib > 0 && cfg->enable_prefix_caching) {
        /* per TP rank, as vLLM's CPU offloading spec divides --kv-offloading-size */
        double n = floor(cfg->kv_offloading_gib * ES_GIB / block_bytes);
        if (n >= 1) {
            s->cpu_blocks = n > 100000000.0 ? 100000000u : (uint32_t)n;
            s->load_per_block = es_time_from_ns_f(block_bytes / (cfg->kv_offload_gbps * 1e9) * 1e9);
        }
    }
    if (cfg->num_gpu_blocks > 0) { *nblocks = (uint32_t)cfg->num_gpu_blocks; return 0; }
    es_kvmem_in_t in = {
        .gpu_bytes = cfg->gpu_memory_gib > 0 ? cfg->gpu_memory_gib * ES_GIB : prof->memory_bytes,
        .gpu_memory_utilization = cfg->gpu_memory_utilization,
        .tp = (uint32_t)cfg->tensor_parallel,
        .block_size = (uint32_t)cfg->block_size,
        .max_num_batched_tokens = (uint32_t)cfg->max_num_batched_tokens,
        .max_num_seqs = (uint32_t)cfg->max_num_seqs,
        .kv_bytes_per_token = kv_token,
    };
    es_kvmem_coeffs_t c = {cfg->kv_sampler_bytes_per_logit, cfg->kv_non_torch_gib, cfg->kv_non_torch_tp_gib};
    int rc = es_kvmem_derive(&m, &in, &c, &s->kvmem, err);
    if (rc != 0) return rc;
    s->have_kvmem = true;
    *nblocks = s->kvmem.blocks > 100000000u ? 100000000u : (uint32_t)s->kvmem.blocks;
    return 0;
}

int es_server_kv_blocks(const es_server_config_t *cfg, const es_profile_t *prof, uint32_t *blocks,
                        es_kvmem_t *mem, bool *derived, es_err_t *err)
{
    const es_profile_model_t *pm = es_profile_model(prof, cfg->model);
    if (!pm) return es_err_set(err, ES_ENOTFOUND, "server.model: no model \"%s\" in profile \"%s\"", cfg->model,
                               prof->gpu);
    es_server_t tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.pm = pm;
    int rc = cfg->vllm_fidelity == ES_FIDELITY_ON ? setup_vllm(&tmp, cfg, prof, blocks, err)
                                                       : derive_blocks(cfg, prof, &pm->shape, blocks, err);
    *derived = tmp.have_kvmem;
    if (tmp.have_kvmem) *mem = tmp.kvmem;
    return rc;
}

bool es_server_kv_memory(const es_server_t *s, es_kvmem_t *out)
{
    if (s->have_kvmem) *out = s->kvmem;
    return s->have_kvmem;
}

int es_server_create_with_profile(es_sim_t *sim, const es_server_config_t *cfg, const es_profile_t *profile,
                                  const es_server_hooks_t *hooks, uint32_t endpoint_id, es_server_t **out,
                                  es_err_t *err)
{
    int64_t tp = cfg->tensor_parallel;
    if (tp != 1 && tp != 2 && tp != 4 && tp != 8)
        return es_err_set(err, ES_EINVAL, "server.tensor_parallel: %lld is not 1, 2, 4 or 8", (long long)tp);
    if (cfg->max_num_batched_tokens < cfg->max_num_seqs)
        return es_err_set(err, ES_EINVAL, "server.max_num_batched_tokens: %lld is below max_num_seqs (%lld), "
                          "which vLLM rejects", (long long)cfg->max_num_batched_tokens,
                          (long long)cfg->max_num_seqs);
    if (!hooks || !hooks->on_finish)
        return es_err_set(err, ES_EINVAL, "server: hooks.on_finish is required");
    es_server_t *s = calloc(1, sizeof *s);
    if (!s) return es_err_set(err, ES_ENOMEM, "out of memory");
    int rc;
    if (!profile) {
        rc = es_profile_open(cfg->gpu, cfg->model, cfg->gpu_datasheet, cfg->step_coefficients, &s->own_prof, err);
        if (rc != 0) { free(s); return rc; }
        profile = s->own_prof;
    }
    s->prof = profile;
    s->pm = es_profile_model(profile, cfg->model);
    if (!s->pm) {
        char list[512];
        es_profile_model_list(profile, list, sizeof list);
        es_err_set(err, ES_ENOTFOUND, "server.model: no model \"%s\" in profile \"%s\" (it has: %s)",
                   cfg->model, profile->gpu, list);
        es_server_destroy(s);
        return ES_ENOTFOUND;
    }
    if (cfg->step_model == ES_STEP_PROFILE && !es_profile_model_has_tables(s->pm)) {
        es_err_set(err, ES_EINVAL, "server.step_model: profile needs measured tables of the model, and GPU \"%s\" "
                   "has none for %s (use analytic or auto)", profile->gpu, s->pm->name);
        es_server_destroy(s);
        return ES_EINVAL;
    }
    uint32_t nblocks = 0;
    es_server_config_t stcfg = *cfg;
    if (cfg->vllm_fidelity == ES_FIDELITY_ON) {
        rc = setup_vllm(s, cfg, profile, &nblocks, err);
        stcfg.cpu_overhead_us = 0;   /* the engine CPU model replaces the flat overhead */
    } else {
        rc = derive_blocks(cfg, profile, &s->pm->shape, &nblocks, err);
    }
    if (rc != 0) { es_server_destroy(s); return rc; }
    s->sim = sim;
    s->hooks = *hooks;
    s->endpoint = endpoint_id;
    es_steptime_init(&s->st, &stcfg, profile, s->pm);
    s->bs = (uint32_t)cfg->block_size;
    s->max_model_len = cfg->max_model_len > 0 ? (uint32_t)cfg->max_model_len : s->pm->shape.context_len;
    s->max_num_seqs = (uint32_t)cfg->max_num_seqs;
    s->budget_max = (uint32_t)cfg->max_num_batched_tokens;
    s->thr = (uint32_t)cfg->long_prefill_token_threshold;
    s->policy = cfg->scheduling_policy;
    s->prefix_caching = cfg->enable_prefix_caching;
    s->max_loras = (uint32_t)cfg->max_loras;
    s->lora_load = es_time_from_ms(cfg->lora_load_ms);
    s->watermark_blocks = (uint32_t)(cfg->kv_watermark * nblocks);
    rc = es_kvcache_init(&s->kv, nblocks, cfg->kv_free_order == ES_FREE_FRESH_PREPEND);
    if (rc != 0) { free(s->kv.b); es_server_destroy(s); return es_err_set(err, rc, "out of memory"); }
    if (s->cpu_blocks) {   /* + 1: the pool's block 0 is never used */
        rc = es_kvcache_init(&s->cpu, s->cpu_blocks + 1, false);
        if (rc != 0) { es_server_destroy(s); return es_err_set(err, rc, "out of memory"); }
        s->offload = true;
    }
    if (hooks->on_kv_event) { s->kv.ev = esi_server_kv_event; s->kv.ev_ud = s; }
    uint32_t ring = 1;
    while (ring < s->bs + 2) ring <<= 1;
    s->ring = calloc(ring, sizeof *s->ring);
    s->ff_dt = calloc(ring, sizeof *s->ff_dt);
    s->ring_mask = ring - 1;
    s->ff_on = cfg->fast_forward;
    size_t m = s->max_num_seqs + 1;
    s->pf = calloc(m, sizeof *s->pf);
    s->due = calloc(m, sizeof *s->due);
    s->late = calloc(m, sizeof *s->late);
    s->cq = calloc(m, sizeof *s->cq);
    s->cp = calloc(m, sizeof *s->cp);
    if (!s->ring || !s->ff_dt || !s->pf || !s->due || !s->late || !s->cq || !s->cp) {
        es_server_destroy(s);
        return es_err_set(err, ES_ENOMEM, "out of memory");
    }
    *out = s;
    return 0;
}

int es_server_create(es_sim_t *sim, const es_server_config_t *cfg, const es_server_hooks_t *hooks,
                     uint32_t endpoint_id, es_server_t **out, es_err_t *err)
{
    return es_server_create_with_profile(sim, cfg, NULL, hooks, endpoint_id, out, err);
}

void es_server_destroy(es_server_t *s)
{
    if (!s) return;
    if (s->pending && s->sim) es_sim_cancel(s->sim, s->ev);
    for (req_t *r = s->run_head; r; r = r->p.next) esi_server_release_table(s, r);
    /* a waiting request keeps the table phase_waiting gave it when admission failed */
    for (req_t *r = s->wait_head; r; r = r->p.next) esi_server_release_table(s, r);
    for (uint32_t i = 0; i < s->heap_n; i++) esi_server_release_table(s, s->heap[i]);
    for (uint32_t c = 0; c < 32; c++) {
        for (uint32_t i = 0; i < s->tpool_n[c]; i++) free(s->tpool[c][i]);
        free(s->tpool[c]);
    }
    if (s->kv.b) es_kvcache_fini(&s->kv);
    if (s->cpu.b) es_kvcache_fini(&s->cpu);
    free(s->enc_hash); free(s->enc_used);
    free(s->ring); free(s->ff_dt); free(s->pf); free(s->due); free(s->late); free(s->cq); free(s->cp);
    for (uint32_t i = 0; i < s->nlora; i++) free(s->lora[i].name);
    free(s->heap); free(s->lora);
    es_profile_destroy(s->own_prof);
    free(s);
}
