/*
 * workload_config.c -- the `workload` section's schema (the one place for its
 * defaults).
 */
#include "es_workload_config.h"

#include <stddef.h>

#include "es_time.h"

static const char *const k_types[] = {"shared_prefix", "trace", "synthetic", "sessions", NULL};
static const char *const k_processes[] = {"poisson", "gamma", "constant", "closed_loop", NULL};

#define F(x) offsetof(es_workload_config_t, x)

#define A(x) offsetof(es_arrival_config_t, x)
static const es_schema_entry_t k_arrival[] = {
    {"process", ES_ST_ENUM, A(process), "poisson", 0, 0, k_processes, "",
     "arrival process", NULL},
    {"rate", ES_ST_DOUBLE, A(rate), "10", 0, 1e9, NULL, "req/s", "mean arrival rate", NULL},
    {"cv", ES_ST_DOUBLE, A(cv), "1", 0.01, 100, NULL, "",
     "coefficient of variation of inter-arrival gaps (gamma; 1 = Poisson)", NULL},
    {"concurrency", ES_ST_INT, A(concurrency), "0", 0, 1000000, NULL, "clients",
     "closed loop: clients that each send the next request when the last one ends", NULL},
    {"stages", ES_ST_NODE, A(stages), NULL, 0, 0, NULL, "",
     "rate stages: a list of {rate, duration_s}; overrides rate", NULL},
    {"drain_stages", ES_ST_BOOL, A(drain_stages), "false", 0, 0, NULL, "",
     "as inference-perf runs stages: when a stage's time is up, wait until all its requests have ended, then "
     "stage_interval_s, then start the next (later stages shift); false carries the backlog into the next stage", NULL},
    {"stage_interval_s", ES_ST_DOUBLE, A(stage_interval_s), "0", 0, 1e9, NULL, "s",
     "pause between a drained stage and the next (inference-perf's load.interval, 1 s there)", NULL},
};
#undef A
ES_SCHEMA_DEFINE(k_arrival_schema, "workload.arrival", k_arrival);

#define S(x) offsetof(es_shared_prefix_config_t, x)
static const es_schema_entry_t k_shared_prefix[] = {
    {"num_groups", ES_ST_INT, S(num_groups), "6", 1, 1000000, NULL, "", "prompt groups sharing a system prompt", NULL},
    {"num_prompts_per_group", ES_ST_INT, S(num_prompts_per_group), "100", 1, 100000000, NULL, "",
     "distinct questions per group", NULL},
    {"system_prompt_len", ES_ST_INT, S(system_prompt_len), "1000", 0, 10000000, NULL, "tokens",
     "shared system prompt length", NULL},
    {"question_len", ES_ST_INT, S(question_len), "300", 1, 10000000, NULL, "tokens", "mean question length", NULL},
    {"question_len_std", ES_ST_DOUBLE, S(question_len_std), "0", 0, 1e7, NULL, "tokens",
     "standard deviation of the question length (normal, truncated at 1)", NULL},
    {"output_len", ES_ST_INT, S(output_len), "100", 1, 10000000, NULL, "tokens", "mean output length", NULL},
    {"output_len_std", ES_ST_DOUBLE, S(output_len_std), "0", 0, 1e7, NULL, "tokens",
     "standard deviation of the output length", NULL},
    {"group_zipf_s", ES_ST_DOUBLE, S(group_zipf_s), "0", 0, 10, NULL, "",
     "Zipf exponent of group popularity; 0 = groups drawn uniformly", NULL},
};
#undef S
ES_SCHEMA_DEFINE(k_shared_prefix_schema, "workload.shared_prefix", k_shared_prefix);

#define T(x) offsetof(es_trace_config_t, x)
static const es_schema_entry_t k_trace[] = {
    {"file", ES_ST_STRING, T(file), "", 0, 0, NULL, "", "trace file", NULL},
    {"format", ES_ST_STRING, T(format), "auto", 0, 0, NULL, "",
     "mooncake, azure, burstgpt, sharegpt, eppsim, or auto (detected)", NULL},
    {"block_tokens", ES_ST_INT, T(block_tokens), "512", 1, 1000000, NULL, "tokens",
     "tokens per hash id in Mooncake traces", NULL},
    {"time_scale", ES_ST_DOUBLE, T(time_scale), "1", 1e-9, 1e9, NULL, "",
     "multiplies trace timestamps (0.5 replays twice as fast)", NULL},
    {"target_rate", ES_ST_DOUBLE, T(target_rate), "0", 0, 1e9, NULL, "req/s",
     "rescales timestamps to this mean rate; 0 keeps them", NULL},
    {"start_s", ES_ST_DOUBLE, T(start_s), "0", 0, ES_TIME_MAX_S, NULL, "s", "skip requests before this trace time", NULL},
    {"end_s", ES_ST_DOUBLE, T(end_s), "0", 0, ES_TIME_MAX_S, NULL, "s",
     "skip requests at or after this trace time; 0 = no end", NULL},
    {"sample_fraction", ES_ST_DOUBLE, T(sample_fraction), "1", 0, 1, NULL, "",
     "keep each trace request with this probability (deterministic per seed)", NULL},
    {"replay_timestamps", ES_ST_BOOL, T(replay_timestamps), "true", 0, 0, NULL, "",
     "use the trace's timestamps; false (or a trace without them) takes arrivals from workload.arrival", NULL},
    {"skip_bad_lines", ES_ST_BOOL, T(skip_bad_lines), "false", 0, 0, NULL, "",
     "skip malformed lines (and report how many) instead of failing", NULL},
};
#undef T
ES_SCHEMA_DEFINE(k_trace_schema, "workload.trace", k_trace);

static const char *const k_dists[] = {"constant", "normal", "lognormal", "uniform", "empirical", NULL};
static const char *const k_columns[] = {"input", "output", NULL};

/* One table per distribution so that each has its own defaults. */
#define D(x) offsetof(es_dist_config_t, x)
#define DIST_TABLE(var, name, def_mean, def_std, def_max)                                                     \
    static const es_schema_entry_t var##_e[] = {                                                  \
        {"dist", ES_ST_ENUM, D(dist), "lognormal", 0, 0, k_dists, "", "distribution", NULL},       \
        {"mean", ES_ST_DOUBLE, D(mean), def_mean, 0, 1e8, NULL, "tokens",                              \
         "mean (the value itself for constant)", NULL},                                            \
        {"std", ES_ST_DOUBLE, D(std), def_std, 0, 1e8, NULL, "tokens", "standard deviation", NULL},    \
        {"min", ES_ST_DOUBLE, D(min), "1", 1, 1e8, NULL, "tokens", "smallest value (clamp; uniform low end)", NULL}, \
        {"max", ES_ST_DOUBLE, D(max), def_max, 1, 1e8, NULL, "tokens", "largest value (clamp; uniform high end)", NULL}, \
        {"file", ES_ST_STRING, D(file), "", 0, 0, NULL, "",                                        \
         "empirical: trace file whose lengths are resampled (any format)", NULL},                  \
        {"column", ES_ST_ENUM, D(column), name, 0, 0, k_columns, "",                               \
         "empirical: which length of the trace to resample", NULL},                                \
    };                                                                                            \
    ES_SCHEMA_DEFINE(var, "workload.lengths." name, var##_e)
DIST_TABLE(k_input_schema, "input", "512", "256", "32768");
DIST_TABLE(k_output_schema, "output", "128", "64", "8192");
#undef DIST_TABLE
#undef D

#define L(x) offsetof(es_lengths_config_t, x)
static const es_schema_entry_t k_lengths[] = {
    {"input", ES_ST_SECTION, L(input), NULL, 0, 0, NULL, "",
     "prompt length (synthetic requests; user message of a session turn)", &k_input_schema},
    {"output", ES_ST_SECTION, L(output), NULL, 0, 0, NULL, "", "output length", &k_output_schema},
};
#undef L
ES_SCHEMA_DEFINE(k_lengths_schema, "workload.lengths", k_lengths);

#define C(x) offsetof(es_content_config_t, x)
static const es_schema_entry_t k_content[] = {
    {"prefix_pool", ES_ST_INT, C(prefix_pool), "0", 0, 100000000, NULL, "prefixes",
     "distinct shared prefixes for length-only traces and synthetic requests; 0 = no sharing", NULL},
    {"prefix_len", ES_ST_INT, C(prefix_len), "0", 0, 10000000, NULL, "tokens",
     "length of each shared prefix (capped at the prompt length - 1)", NULL},
    {"prefix_zipf_s", ES_ST_DOUBLE, C(prefix_zipf_s), "1", 0, 10, NULL, "",
     "Zipf exponent of prefix popularity; 0 = uniform", NULL},
    {"prefix_fraction", ES_ST_DOUBLE, C(prefix_fraction), "1", 0, 1, NULL, "",
     "share of requests that start with a shared prefix", NULL},
};
#undef C
ES_SCHEMA_DEFINE(k_content_schema, "workload.content", k_content);

#define SS(x) offsetof(es_sessions_config_t, x)
static const es_schema_entry_t k_sessions[] = {
    {"num_sessions", ES_ST_INT, SS(num_sessions), "0", 0, 1000000000, NULL, "sessions",
     "sessions in all (they start as workload.arrival says); 0 = until num_requests or duration_s", NULL},
    {"turns_min", ES_ST_INT, SS(turns_min), "1", 1, 100000, NULL, "turns", "fewest turns of a session", NULL},
    {"turns_max", ES_ST_INT, SS(turns_max), "8", 1, 100000, NULL, "turns",
     "most turns of a session (uniform between min and max)", NULL},
    {"think_time_s", ES_ST_DOUBLE, SS(think_time_s), "5", 0, 1e6, NULL, "s",
     "mean time between a reply and the next turn (exponential)", NULL},
    {"num_system_prompts", ES_ST_INT, SS(num_system_prompts), "10", 1, 100000000, NULL, "prompts",
     "distinct system prompts sessions start with", NULL},
    {"system_prompt_len", ES_ST_INT, SS(system_prompt_len), "1000", 0, 10000000, NULL, "tokens",
     "system prompt length", NULL},
    {"zipf_s", ES_ST_DOUBLE, SS(zipf_s), "1", 0, 10, NULL, "",
     "Zipf exponent of system-prompt popularity; 0 = uniform", NULL},
};
#undef SS
ES_SCHEMA_DEFINE(k_sessions_schema, "workload.sessions", k_sessions);

#define M(x) offsetof(es_mix_config_t, x)
static const es_schema_entry_t k_mix[] = {
    {"models", ES_ST_NODE, M(models), NULL, 0, 0, NULL, "",
     "list of {name, weight, lora}: each request draws its model (and LoRA adapter); none = workload.model", NULL},
    {"objectives", ES_ST_NODE, M(objectives), NULL, 0, 0, NULL, "",
     "list of {name, priority, weight, slo_ttft_ms, slo_tpot_ms, images_per_request, image_tokens}: each request draws its InferenceObjective; weights may sum below 1 (rest: none); a class's slo_ttft_ms / slo_tpot_ms go with its requests as the x-llm-d-slo-ttft-ms / x-llm-d-slo-tpot-ms headers (predicted-latency plugins); images_per_request / image_tokens override workload.images for the class", NULL},
};
#undef M
ES_SCHEMA_DEFINE(k_mix_schema, "workload.mix", k_mix);

#define I(x) offsetof(es_images_config_t, x)
static const es_schema_entry_t k_images[] = {
    {"per_request", ES_ST_INT, I(per_request), "0", 0, ES_WL_MAX_IMAGES, NULL, "images",
     "images a request carries (multimodal requests: the always-disagg-multimodal-decider sends them to an encode "
     "pod); 0 = text only; a mix.objectives class may set its own images_per_request", NULL},
    {"fraction", ES_ST_DOUBLE, I(fraction), "1", 0, 1, NULL, "", "share of requests that carry images", NULL},
    {"tokens", ES_ST_INT, I(tokens), "576", 1, 1000000, NULL, "tokens",
     "placeholder tokens per image, part of the prompt (576: LLaVA-1.5, a 336 px image in 14 px patches of "
     "CLIP ViT-L/14); a mix.objectives class may set its own image_tokens", NULL},
    {"pool", ES_ST_INT, I(pool), "0", 0, 1000000000, NULL, "images",
     "distinct images requests draw from (repeats hit encoder caches); 0 = every image unique", NULL},
    {"zipf_s", ES_ST_DOUBLE, I(zipf_s), "1", 0, 10, NULL, "", "Zipf exponent of image popularity in the pool; 0 = uniform", NULL},
};
#undef I
ES_SCHEMA_DEFINE(k_images_schema, "workload.images", k_images);

static const es_schema_entry_t k_entries[] = {
    {"type", ES_ST_ENUM, F(type), "shared_prefix", 0, 0, k_types, "", "workload source", NULL},
    {"num_requests", ES_ST_INT, F(num_requests), "600", 0, 1000000000000LL, NULL, "requests",
     "stop after this many requests; 0 = no limit", NULL},
    {"duration_s", ES_ST_DOUBLE, F(duration_s), "0", 0, ES_TIME_MAX_S, NULL, "s", "stop arrivals after this time; 0 = no limit", NULL},
    {"model", ES_ST_STRING, F(model), "meta-llama/Llama-3.1-8B-Instruct", 0, 0, NULL, "",
     "model name in the request body", NULL},
    {"path", ES_ST_STRING, F(path), "/v1/completions", 0, 0, NULL, "", "HTTP path of the requests", NULL},
    {"arrival", ES_ST_SECTION, F(arrival), NULL, 0, 0, NULL, "", "arrival process", &k_arrival_schema},
    {"shared_prefix", ES_ST_SECTION, F(shared_prefix), NULL, 0, 0, NULL, "",
     "inference-perf shared_prefix shape", &k_shared_prefix_schema},
    {"trace", ES_ST_SECTION, F(trace), NULL, 0, 0, NULL, "", "trace replay", &k_trace_schema},
    {"sheddable_fraction", ES_ST_DOUBLE, F(sheddable_fraction), "0", 0, 1, NULL, "",
     "share of requests sent with a sheddable objective (priority -1)", NULL},
    {"lengths", ES_ST_SECTION, F(lengths), NULL, 0, 0, NULL, "", "length distributions", &k_lengths_schema},
    {"content", ES_ST_SECTION, F(content), NULL, 0, 0, NULL, "",
     "content synthesis for length-only traces and synthetic requests", &k_content_schema},
    {"sessions", ES_ST_SECTION, F(sessions), NULL, 0, 0, NULL, "", "multi-turn chat sessions", &k_sessions_schema},
    {"mix", ES_ST_SECTION, F(mix), NULL, 0, 0, NULL, "", "mix of models, adapters and objectives", &k_mix_schema},
    {"images", ES_ST_SECTION, F(images), NULL, 0, 0, NULL, "", "images in requests (multimodal)", &k_images_schema},
    {"inference_perf", ES_ST_NODE, F(inference_perf), NULL, 0, 0, NULL, "",
     "replay an inference-perf config instead of type: a path, an inline config, or {file|config, version: "
     "current|2025-10, prompt_scale}; its stages drain, num_requests and duration_s do not apply (docs/workloads.md)",
     NULL},
    {"vllm_bench", ES_ST_NODE, F(vllm_bench), NULL, 0, 0, NULL, "",
     "replay a `vllm bench serve` run instead of type: {result: RESULT.json, dataset: random|sharegpt, "
     "num_prompts, random_input_len, random_output_len, random_range_ratio, request_rate, burstiness, "
     "max_concurrency, backend: openai|openai-chat, chat_template_tokens, total_input_tokens, "
     "total_output_tokens} (docs/workloads.md)", NULL},
};
#undef F

ES_SCHEMA_DEFINE(es_workload_schema, "workload", k_entries);
