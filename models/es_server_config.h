/*
 * es_server_config.h -- configuration of one vLLM-like model-server pod
 * (the experiment's `server` section).  Every key, default, unit and range is
 * in the schema table in server_config.c; docs/configuration.md lists them.
 */
#ifndef ES_SERVER_CONFIG_H
#define ES_SERVER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "es_schema.h"

#define ES_GIB 1073741824.0   /* bytes in a GiB: the unit of the server.*_gib keys */

enum { ES_POLICY_FCFS = 0, ES_POLICY_PRIORITY = 1 };
enum { ES_STEP_PROFILE = 0, ES_STEP_LINEAR = 1, ES_STEP_ROOFLINE = 2, ES_STEP_ANALYTIC = 3, ES_STEP_AUTO = 4 };
enum { ES_FREE_FRESH_PREPEND = 0, ES_FREE_APPEND = 1 };
enum { ES_ASYNC_AUTO = 0, ES_ASYNC_ON = 1, ES_ASYNC_OFF = 2 };
enum { ES_FIDELITY_AUTO = 0, ES_FIDELITY_ON = 1, ES_FIDELITY_OFF = 2 };

/* The most KV-cache blocks a pod may have (given or derived): ~40 bytes of
 * index each, so 4M blocks (64M tokens at block_size 16, far beyond any
 * GPU) take ~160 MB per pod. */
#define ES_SERVER_MAX_BLOCKS 4000000u

typedef struct es_server_config {
    char    *gpu;                          /* profile or datasheet GPU name, e.g. "h100-sxm-80gb" */
    char    *model;                        /* model key inside the profile, or a config.json path */
    int64_t  tensor_parallel;              /* GPUs per pod */
    int      step_model;                   /* ES_STEP_* */
    double   cpu_overhead_us;              /* per-step CPU overhead added to GPU time */
    int64_t  block_size;                   /* tokens per KV block */
    int64_t  num_gpu_blocks;               /* 0: derive from memory */
    double   gpu_memory_utilization;       /* fraction of GPU memory vLLM may use */
    int64_t  max_num_seqs;
    int64_t  max_num_batched_tokens;
    int64_t  long_prefill_token_threshold; /* 0: off */
    int      scheduling_policy;            /* ES_POLICY_* */
    bool     enable_prefix_caching;
    int64_t  max_model_len;                /* 0: the model's context length */
    int64_t  max_loras;                    /* adapter slots per step; 0: no LoRA */
    double   lora_load_ms;                 /* time to load an adapter */
    double   activation_reserve_gib;       /* per-GPU memory kept for activations, graphs, non-torch */
    double   gpu_memory_gib;               /* 0: the profile's GPU memory */
    int      kv_free_order;                /* ES_FREE_*: where freed blocks enter the free queue */
    double   kv_watermark;                 /* fraction of blocks kept free when admitting */
    double   tp_link_gbps;                 /* all-reduce bus bandwidth between a pod's GPUs */
    double   tp_allreduce_latency_us;      /* fixed cost of one all-reduce */
    double   linear_c0_us;                 /* linear step model: per step */
    double   linear_c1_us;                 /* per prompt token */
    double   linear_c2_us;                 /* per decoding sequence */
    double   linear_c3_us;                 /* per decode context token */
    double   linear_c4_us;                 /* per prefill attention unit q*(p+q/2) */
    double   roofline_mfu;                 /* achieved fraction of peak FLOP/s */
    double   roofline_bw_efficiency;       /* achieved fraction of peak HBM bandwidth */
    bool     fast_forward;                 /* one event per stretch of decode-only steps */
    char    *vllm_version;                 /* the vLLM whose defaults fill absent flags */
    char    *vllm_args;                    /* `vllm serve` flags (models/vllm_args.h); "" none */
    char    *vllm_config;                  /* settings file (exp-config.yaml style); "" none */
    char    *gpu_datasheet;                /* "" = data/gpus.yaml */
    char    *step_coefficients;            /* "" = data/steptime-coeffs.yaml */
    /* vLLM fidelity (docs/server.md "vLLM versions"): KV sizing, engine CPU, API server */
    int      vllm_fidelity;                /* ES_FIDELITY_*: auto = on when the run names vLLM settings */
    int      async_scheduling;             /* ES_ASYNC_*: auto = by vllm_version (on from 0.14) */
    double   kv_sampler_bytes_per_logit;   /* profile-run sampler peak per max_num_seqs x vocab logit */
    double   kv_non_torch_gib;             /* non-torch memory of the profile run, one GPU */
    double   kv_non_torch_tp_gib;          /* more of it when TP > 1 */
    double   engine_cpu_step_us;           /* engine CPU per step: schedule, prepare inputs, outputs */
    double   engine_cpu_seq_us;            /* ... per scheduled sequence */
    double   engine_cpu_token_us;          /* ... per scheduled token */
    double   engine_sync_us;               /* async: CPU that never overlaps the GPU (sync, launch) */
    int64_t  api_server_count;             /* API-server processes (vllm --api-server-count) */
    double   api_request_us;               /* API CPU per request: HTTP, request setup */
    double   api_chat_request_us;          /* more API CPU per chat request: messages, chat template */
    double   api_latency_us;               /* a request's way to the engine that holds no API CPU */
    double   api_prompt_token_us;          /* API CPU per prompt token (tokenisation) */
    double   api_chunk_us;                 /* API CPU per streamed output chunk (detokenise, SSE) */
    double   api_chat_chunk_us;            /* more API CPU per chunk of a chat stream */
    bool     api_chat_yield;               /* chat intake in two turns of the event loop */
    double   kv_offloading_gib;            /* host KV tier per GPU (vllm --kv-offloading-size); 0 = off */
    double   kv_offload_gbps;              /* host <-> GPU copy bandwidth */
} es_server_config_t;

extern const es_schema_t es_server_schema;

#endif /* ES_SERVER_CONFIG_H */
