/*
 * server_config.c -- the `server` section's schema: the one place where the
 * server's defaults live.
 */
#include "es_server_config.h"

#include <stddef.h>

static const char *const k_policies[] = {"fcfs", "priority", NULL};
static const char *const k_step_models[] = {"profile", "linear", "roofline", "analytic", "auto", NULL};
static const char *const k_free_orders[] = {"fresh_prepend", "append", NULL};
static const char *const k_async[] = {"auto", "on", "off", NULL};
static const char *const k_fidelity[] = {"auto", "on", "off", NULL};

#define F(x) offsetof(es_server_config_t, x)
static const es_schema_entry_t k_entries[] = {
    {"gpu", ES_ST_STRING, F(gpu), "h100-sxm-80gb", 0, 0, NULL, "",
     "GPU: a profile data/profiles/<gpu>.json, or a GPU of the datasheet (server.gpu_datasheet)", NULL},
    {"model", ES_ST_STRING, F(model), "llama-3.1-8b", 0, 0, NULL, "",
     "a model key of the GPU profile, or a Hugging Face config.json path (relative to the experiment file)",
     NULL},
    {"tensor_parallel", ES_ST_INT, F(tensor_parallel), "1", 1, 8, NULL, "GPUs",
     "tensor-parallel degree of a pod (1, 2, 4 or 8)", NULL},
    {"step_model", ES_ST_ENUM, F(step_model), "auto", 0, 0, k_step_models, "",
     "step-time model: measured profile tables, linear coefficients, roofline, analytic (any model from its "
     "shape and the GPU datasheet), or auto (profile when measured, else analytic)", NULL},
    {"cpu_overhead_us", ES_ST_DOUBLE, F(cpu_overhead_us), "300", 0, 1e6, NULL, "us",
     "CPU-side scheduling and sampling time added to every engine step (docs/server.md)", NULL},
    {"block_size", ES_ST_INT, F(block_size), "16", 1, 1024, NULL, "tokens",
     "tokens per paged KV-cache block", NULL},
    {"num_gpu_blocks", ES_ST_INT, F(num_gpu_blocks), "0", 0, ES_SERVER_MAX_BLOCKS, NULL, "blocks",
     "KV-cache blocks per pod; 0 derives them from GPU memory", NULL},
    {"gpu_memory_utilization", ES_ST_DOUBLE, F(gpu_memory_utilization), "0.9", 0.05, 1.0, NULL, "",
     "fraction of GPU memory the server may use", NULL},
    {"max_num_seqs", ES_ST_INT, F(max_num_seqs), "1024", 1, 65536, NULL, "requests",
     "most requests running at once", NULL},
    {"max_num_batched_tokens", ES_ST_INT, F(max_num_batched_tokens), "8192", 1, 1048576, NULL, "tokens",
     "token budget of one engine step", NULL},
    {"long_prefill_token_threshold", ES_ST_INT, F(long_prefill_token_threshold), "0", 0, 1048576, NULL,
     "tokens", "most prompt tokens one request may prefill per step; 0 = no limit", NULL},
    {"scheduling_policy", ES_ST_ENUM, F(scheduling_policy), "fcfs", 0, 0, k_policies, "",
     "waiting-queue order", NULL},
    {"enable_prefix_caching", ES_ST_BOOL, F(enable_prefix_caching), "true", 0, 0, NULL, "",
     "automatic prefix caching", NULL},
    {"max_model_len", ES_ST_INT, F(max_model_len), "0", 0, 10485760, NULL, "tokens",
     "longest prompt + output accepted; 0 = the model's context length", NULL},
    {"max_loras", ES_ST_INT, F(max_loras), "0", 0, 1024, NULL, "adapters",
     "LoRA adapters that can run in one step; 0 disables LoRA", NULL},
    {"lora_load_ms", ES_ST_DOUBLE, F(lora_load_ms), "50", 0, 1e6, NULL, "ms",
     "time to load an adapter on demand", NULL},
    {"activation_reserve_gib", ES_ST_DOUBLE, F(activation_reserve_gib), "2", 0, 1024, NULL, "GiB",
     "per-GPU memory kept out of the KV cache: activation peak, CUDA graphs, non-torch", NULL},
    {"gpu_memory_gib", ES_ST_DOUBLE, F(gpu_memory_gib), "0", 0, 4096, NULL, "GiB",
     "memory of one GPU; 0 = the profile's hardware.memory_MiB", NULL},
    {"kv_free_order", ES_ST_ENUM, F(kv_free_order), "fresh_prepend", 0, 0, k_free_orders, "",
     "freed never-hashed blocks go to the free queue's head (newest vLLM) or all to its tail (older v1)",
     NULL},
    {"kv_watermark", ES_ST_DOUBLE, F(kv_watermark), "0", 0, 0.5, NULL, "",
     "fraction of KV blocks kept free when admitting waiting requests", NULL},
    {"tp_link_gbps", ES_ST_DOUBLE, F(tp_link_gbps), "360", 1, 1e5, NULL, "GB/s",
     "all-reduce bus bandwidth between the GPUs of a pod (NVLink 4: ~360 achieved of 450 per direction)",
     NULL},
    {"tp_allreduce_latency_us", ES_ST_DOUBLE, F(tp_allreduce_latency_us), "6", 0, 1e4, NULL, "us",
     "fixed latency of one all-reduce (two per layer)", NULL},
    {"linear_c0_us", ES_ST_DOUBLE, F(linear_c0_us), "7530", 0, 1e7, NULL, "us",
     "linear step model: constant per step (defaults fitted to the H100 Llama-3.1-8B profile)", NULL},
    {"linear_c1_us", ES_ST_DOUBLE, F(linear_c1_us), "20.2", 0, 1e6, NULL, "us",
     "linear step model: per prompt token in the step", NULL},
    {"linear_c2_us", ES_ST_DOUBLE, F(linear_c2_us), "15.5", 0, 1e6, NULL, "us",
     "linear step model: per decoding sequence", NULL},
    {"linear_c3_us", ES_ST_DOUBLE, F(linear_c3_us), "0.043", 0, 1e3, NULL, "us",
     "linear step model: per context token read by decoding sequences", NULL},
    {"linear_c4_us", ES_ST_DOUBLE, F(linear_c4_us), "0.00244", 0, 1e3, NULL, "us",
     "linear step model: per prefill attention unit q*(p+q/2)", NULL},
    {"roofline_mfu", ES_ST_DOUBLE, F(roofline_mfu), "0.5", 0.01, 1, NULL, "",
     "roofline step model: achieved fraction of the GPU's peak bf16 FLOP/s", NULL},
    {"roofline_bw_efficiency", ES_ST_DOUBLE, F(roofline_bw_efficiency), "0.6", 0.01, 1, NULL, "",
     "roofline step model: achieved fraction of the GPU's peak HBM bandwidth", NULL},
    {"gpu_datasheet", ES_ST_STRING, F(gpu_datasheet), "", 0, 0, NULL, "",
     "GPU datasheet file (relative to the experiment file); empty = the shipped data/gpus.yaml", NULL},
    {"step_coefficients", ES_ST_STRING, F(step_coefficients), "", 0, 0, NULL, "",
     "analytic step model's coefficients file (relative to the experiment file); empty = the shipped "
     "data/steptime-coeffs.yaml", NULL},
    {"fast_forward", ES_ST_BOOL, F(fast_forward), "true", 0, 0, NULL, "",
     "run a stretch of decode-only steps with nothing waiting as one event (same results, fewer events; "
     "docs/server.md)", NULL},
    {"vllm_version", ES_ST_STRING, F(vllm_version), "0.11", 0, 0, NULL, "",
     "vLLM version whose defaults fill flags absent from vllm_args / vllm_config (docs/validate.md)", NULL},
    {"vllm_args", ES_ST_STRING, F(vllm_args), "", 0, 0, NULL, "",
     "`vllm serve` arguments the pods ran with (e.g. \"--max-num-seqs 128 --block-size 16\"); they set the "
     "keys above, absent flags take vLLM's defaults for the version and GPU", NULL},
    {"vllm_config", ES_ST_STRING, F(vllm_config), "", 0, 0, NULL, "",
     "settings file of the pods (exp-config.yaml style: engine-argument keys), relative to the experiment", NULL},
    {"vllm_fidelity", ES_ST_ENUM, F(vllm_fidelity), "auto", 0, 0, k_fidelity, "",
     "model vLLM's KV sizing, engine CPU time and API server (docs/server.md); auto = on when the run names "
     "server.vllm_version, vllm_args or vllm_config, off (eppsim's own model) otherwise", NULL},
    {"async_scheduling", ES_ST_ENUM, F(async_scheduling), "auto", 0, 0, k_async, "",
     "overlap the engine's CPU work with the GPU step; auto = on from vLLM 0.14 (needs vllm_fidelity)", NULL},
    {"kv_sampler_bytes_per_logit", ES_ST_DOUBLE, F(kv_sampler_bytes_per_logit), "41", 0, 1e3, NULL, "B",
     "vLLM KV sizing: profile-run sampler peak per logit (max_num_seqs x vocab); fitted, docs/fidelity.md",
     NULL},
    {"kv_non_torch_gib", ES_ST_DOUBLE, F(kv_non_torch_gib), "0.91", 0, 64, NULL, "GiB",
     "vLLM KV sizing: non-torch memory of the profile run per GPU; fitted, docs/fidelity.md", NULL},
    {"kv_non_torch_tp_gib", ES_ST_DOUBLE, F(kv_non_torch_tp_gib), "0.15", 0, 64, NULL, "GiB",
     "vLLM KV sizing: more non-torch memory per GPU when TP > 1 (NCCL); fitted, docs/fidelity.md", NULL},
    {"engine_cpu_step_us", ES_ST_DOUBLE, F(engine_cpu_step_us), "0", 0, 1e6, NULL, "us",
     "engine CPU per step (schedule, prepare inputs, output processing); 0 until refitted with a production-speed step model (docs/fidelity.md); needs vllm_fidelity", NULL},
    {"engine_cpu_seq_us", ES_ST_DOUBLE, F(engine_cpu_seq_us), "0", 0, 1e5, NULL, "us",
     "engine CPU per scheduled sequence per step; needs vllm_fidelity", NULL},
    {"engine_cpu_token_us", ES_ST_DOUBLE, F(engine_cpu_token_us), "0", 0, 1e4, NULL, "us",
     "engine CPU per scheduled token per step; needs vllm_fidelity", NULL},
    {"engine_sync_us", ES_ST_DOUBLE, F(engine_sync_us), "0", 0, 1e5, NULL, "us",
     "with async scheduling, the step's CPU that still does not overlap the GPU; needs vllm_fidelity", NULL},
    {"api_server_count", ES_ST_INT, F(api_server_count), "1", 1, 64, NULL, "processes",
     "API-server processes in front of the engine (vllm serve --api-server-count); needs vllm_fidelity", NULL},
    {"api_request_us", ES_ST_DOUBLE, F(api_request_us), "3279.89", 0, 1e7, NULL, "us",
     "API-server CPU per request: HTTP parse, request setup; fitted jointly with the step time on the 28 BLIS v0.15.1 experiments (docs/fidelity.md §7); needs vllm_fidelity", NULL},
    {"api_chat_request_us", ES_ST_DOUBLE, F(api_chat_request_us), "20000", 0, 1e7, NULL, "us",
     "more API-server CPU per /v1/chat/completions request (messages parsed, chat template rendered, "
     "the templated prompt tokenised); fitted on the GPUStack v0.11 chat runs (docs/server.md); needs vllm_fidelity", NULL},
    {"api_latency_us", ES_ST_DOUBLE, F(api_latency_us), "2174.77", 0, 1e7, NULL, "us",
     "a request's way from the client into the engine beyond API CPU (event loops, ZMQ hops): a delay, not a "
     "queue; fitted jointly with the step time on the 28 BLIS v0.15.1 experiments (docs/fidelity.md §7); needs vllm_fidelity", NULL},
    {"api_prompt_token_us", ES_ST_DOUBLE, F(api_prompt_token_us), "0.5", 0, 1e4, NULL, "us",
     "API-server CPU per prompt token (tokenisation); needs vllm_fidelity", NULL},
    {"api_chunk_us", ES_ST_DOUBLE, F(api_chunk_us), "20", 0, 1e5, NULL, "us",
     "API-server CPU per streamed output chunk (detokenise, SSE event); fitted on the BLIS v0.15.1 runs (docs/fidelity.md §6); needs vllm_fidelity", NULL},
    {"api_chat_chunk_us", ES_ST_DOUBLE, F(api_chat_chunk_us), "0", 0, 1e5, NULL, "us",
     "more API-server CPU per streamed chunk of a /v1/chat/completions stream (the chat stream generator: "
     "delta message, response object, JSON, SSE write); needs vllm_fidelity", NULL},
    {"api_chat_yield", ES_ST_BOOL, F(api_chat_yield), "false", 0, 0, NULL, "",
     "a chat request yields the API process's event loop between its chat template and its engine request "
     "(asyncio: under a burst every template is rendered before any request reaches the engine); needs vllm_fidelity", NULL},
    {"kv_offloading_gib", ES_ST_DOUBLE, F(kv_offloading_gib), "0", 0, 1e5, NULL, "GiB",
     "host-memory KV tier per GPU (vllm serve --kv-offloading-size, CPU offloading connector); 0 = none; "
     "needs vllm_fidelity", NULL},
    {"kv_offload_gbps", ES_ST_DOUBLE, F(kv_offload_gbps), "50", 0.1, 1e4, NULL, "GB/s",
     "host-to-GPU copy bandwidth of the KV tier (PCIe Gen5 x16: 64 GB/s per direction, ~50 achieved)", NULL},
};
#undef F

ES_SCHEMA_DEFINE(es_server_schema, "server", k_entries);
