/*
 * vllm_bench.h -- a `vllm bench serve` run read as a workload: its settings
 * (given as keys, or taken from the result JSON it saved) become a request
 * list and a pace (docs/workloads.md, "vllm bench serve").
 *
 * What is replayed (vLLM benchmarks/serve.py and datasets.py, v0.11):
 *  - dataset random: every prompt random tokens of random_input_len
 *    (x U[1 - range_ratio, 1 + range_ratio]), output random_output_len;
 *  - dataset sharegpt: the result's input_lens/output_lens when it saved
 *    them (--save-detailed: exact); else num_prompts pairs drawn from
 *    eppsim's bundled ShareGPT length file (vLLM's filter: prompt and output
 *    >= 4 tokens, prompt <= 1024, sum <= 2048), rescaled so their sums are
 *    the run's total_input_tokens / total_output_tokens: approximate;
 *  - request_rate inf (all at once) or gamma gaps (burstiness), the first
 *    request at once; max_concurrency caps requests in flight;
 *  - backend openai-chat: the chat template adds chat_template_tokens to
 *    every prompt (default 9: ChatML's "<|im_start|>user\n" ...
 *    "<|im_end|>\n<|im_start|>assistant\n", as Qwen's templates have it);
 *  - the client: one stamp per streamed token, aiohttp total timeout 6 h.
 * Units: tokens, req/s, s.
 */
#ifndef ES_VLLM_BENCH_H
#define ES_VLLM_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "es_doc.h"
#include "es_err.h"

#define ES_VB_TIMEOUT_S (6.0 * 3600.0)   /* AIOHTTP_TIMEOUT in vLLM's backend_request_func */

typedef struct es_vb_config {
    uint64_t  num_prompts;
    double    request_rate;        /* req/s; 0 = inf (all at once) */
    double    burstiness;          /* gamma shape; 1 = Poisson */
    uint64_t  max_concurrency;     /* 0 = none */
    bool      chat;                /* backend openai-chat (/v1/chat/completions) */
    uint32_t  chat_template_tokens;
    uint32_t *input_lens, *output_lens;   /* num_prompts each (before the template) */
    bool      approximate;         /* lengths matched to totals, not the run's own */
    char      dataset[16];         /* random | sharegpt */
    char     *file;                /* source (messages) */
} es_vb_config_t;

/* Parses workload.vllm_bench (keys, and `result`: a saved result JSON whose
 * fields fill what the keys leave out).  seed draws the sharegpt sample and
 * random lengths. */
int  es_vb_parse(const es_node_t *n, const char *base_dir, uint64_t seed, es_vb_config_t *out, es_err_t *err);
void es_vb_fini(es_vb_config_t *c);

#endif /* ES_VLLM_BENCH_H */
