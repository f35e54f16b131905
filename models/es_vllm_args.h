/*
 * vllm_args.h -- `vllm serve` settings as the server section.
 *
 * A real run's server is described by the flags it was started with (a
 * `vllm serve` argument list) or by a settings file (exp-config.yaml style:
 * snake_case engine-argument keys).  This module reads both into
 * es_vllm_serve_t, fills every absent flag with vLLM's own default for the
 * version and GPU (es_vllm_resolve), and maps the result onto the server
 * section (es_vllm_apply).  Flags eppsim does not model yet are kept, each
 * with a warning that says so; none is dropped silently.
 *
 * The argument list is tokenised here (POSIX-shell-like words: quotes,
 * backslashes, line continuations), never by a shell.
 *
 * Defaults (vllm/engine/arg_utils.py, EngineArgs._set_default_args and
 * get_batch_defaults, vllm-project/vllm v0.11.0; docs/validate.md): the
 * OpenAI server gets max_num_batched_tokens 8192 and max_num_seqs 1024 on
 * GPUs of 70 GiB or more whose name does not contain "a100", else 2048 and
 * 256; max_num_seqs is capped at max_num_batched_tokens; block size 16,
 * gpu_memory_utilization 0.9, prefix caching and chunked prefill on (V1),
 * max_model_len the model's.  Async scheduling is off before v0.14 and on
 * from it (as server.async_scheduling auto resolves it).
 */
#ifndef ES_VLLM_ARGS_H
#define ES_VLLM_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "es_doc.h"
#include "es_err.h"
#include "es_server_config.h"

#define ES_VLLM_UNSET (-1)

typedef struct es_vllm_serve {
    char    model[256];                 /* positional MODEL or --model; "" unset */
    int64_t max_num_seqs;               /* ES_VLLM_UNSET when absent (every number) */
    int64_t max_num_batched_tokens;
    int64_t max_model_len;
    int64_t tensor_parallel_size;
    int64_t pipeline_parallel_size;
    int64_t data_parallel_size;
    int64_t block_size;
    int64_t long_prefill_token_threshold;
    int64_t num_gpu_blocks_override;
    int64_t api_server_count;
    double  gpu_memory_utilization;
    double  kv_offloading_gib;          /* --kv-offloading-size (GiB of CPU KV) */
    double  swap_space_gib;
    double  cpu_offload_gib;
    int     enable_prefix_caching;      /* 1, 0, or ES_VLLM_UNSET */
    int     enable_chunked_prefill;
    int     async_scheduling;
    int     enforce_eager;
    int     scheduling_policy;          /* ES_POLICY_* or ES_VLLM_UNSET */
    char    kv_cache_dtype[24];         /* "" unset */
    char    dtype[24];
    char    quantization[32];
    /* flags read but not modelled (and unknown ones), "--name value" each */
    char    recorded[16][96];
    uint32_t nrecorded;
} es_vllm_serve_t;

/* Version "0.11", "0.11.0" or "v0.15.1" -> 1100, 1500 (major*10000 + minor*100).
 * vLLM before 0.8 (the V0 engine) is refused. */
int es_vllm_version_parse(const char *text, int *out, es_err_t *err);

void es_vllm_serve_init(es_vllm_serve_t *s);

/* Splits an argument list into words as a POSIX shell would, without
 * expansion of any kind.  *argv is one allocation (free it). */
int es_vllm_split_args(const char *text, char ***argv, int *argc, es_err_t *err);

/* Whether vLLM's --block-size accepts v (1, 8, 16, 32, 64, 128: BlockSize in
 * vllm-project/vllm vllm/config/cache.py). */
bool es_vllm_block_size_ok(int64_t v);

/* Whether vLLM's argparse accepts VALUE for FLAG (without its dashes): the
 * choices of --dtype (ModelDType) and --kv-cache-dtype (CacheDType); any
 * other flag accepts anything.  On a miss, CHOICES (SIZE bytes; may be NULL)
 * receives the accepted values, comma separated. */
bool es_vllm_choice_ok(const char *flag, const char *value, char *choices, size_t size);

/* Reads a `vllm serve` argument list ("vllm serve MODEL --flag v ...", or just
 * the flags) into s (flags set earlier stay unless given again).  `what` names
 * the source in messages. */
int es_vllm_parse_args(const char *text, const char *what, es_vllm_serve_t *s, es_err_t *err);

/* Reads a settings map (exp-config.yaml style: snake_case or dashed engine
 * argument names; `tensor_parallelism` as BLIS writes it) into s. */
int es_vllm_parse_map(const es_node_t *map, const char *path, es_vllm_serve_t *s, es_err_t *err);

/* Fills every unset flag with vLLM's default for `version` (es_vllm_version_parse)
 * on a GPU named `gpu_name` with `gpu_mem_gib` of memory.  max_model_len
 * stays 0 (= the model's context length) when absent. */
void es_vllm_resolve(const es_vllm_serve_t *in, int version, const char *gpu_name, double gpu_mem_gib,
                     es_vllm_serve_t *out);

/* Warnings about resolved settings eppsim does not model, one per line,
 * appended to buf (size bytes, NUL-terminated). */
void es_vllm_warnings(const es_vllm_serve_t *r, char *buf, size_t size);

/* Writes resolved settings onto the server section.  explicit_key(ud, key)
 * says whether the experiment set server.<key> itself: such a key keeps its
 * value (and a flag setting it too is an error, reported by the caller). */
typedef bool (*es_vllm_explicit_fn)(void *ud, const char *key);
void es_vllm_apply(const es_vllm_serve_t *r, es_vllm_explicit_fn explicit_key, void *ud,
                   es_server_config_t *cfg);

/* Conflict check: the first server key that the experiment set explicitly to
 * a value other than the one a flag of `given` sets, or NULL.  (Equal values
 * are no conflict, so a written experiment.yaml loads again.) */
const char *es_vllm_conflict(const es_vllm_serve_t *given, const es_server_config_t *cfg,
                             es_vllm_explicit_fn explicit_key, void *ud);

/* "llama-2-7b" from "meta-llama/Llama-2-7b-hf": the repository name
 * lowercased, without an organisation and a trailing -hf / -instruct / -chat. */
void es_vllm_model_key(const char *hf_name, char *buf, size_t size);

#endif /* ES_VLLM_ARGS_H */
