/*
 * workload_config.c -- the `workload` section's schema (the one place for its
 * defaults).
 */
#include "workload_config.h"

#include <stddef.h>

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
    {"start_s", ES_ST_DOUBLE, T(start_s), "0", 0, 1e12, NULL, "s", "skip requests before this trace time", NULL},
    {"skip_bad_lines", ES_ST_BOOL, T(skip_bad_lines), "false", 0, 0, NULL, "",
     "skip malformed lines (and report how many) instead of failing", NULL},
};
#undef T
ES_SCHEMA_DEFINE(k_trace_schema, "workload.trace", k_trace);

static const es_schema_entry_t k_entries[] = {
    {"type", ES_ST_ENUM, F(type), "shared_prefix", 0, 0, k_types, "", "workload source", NULL},
    {"num_requests", ES_ST_INT, F(num_requests), "600", 0, 1000000000000LL, NULL, "requests",
     "stop after this many requests; 0 = no limit", NULL},
    {"duration_s", ES_ST_DOUBLE, F(duration_s), "0", 0, 1e12, NULL, "s", "stop arrivals after this time; 0 = no limit", NULL},
    {"model", ES_ST_STRING, F(model), "meta-llama/Llama-3.1-8B-Instruct", 0, 0, NULL, "",
     "model name in the request body", NULL},
    {"path", ES_ST_STRING, F(path), "/v1/completions", 0, 0, NULL, "", "HTTP path of the requests", NULL},
    {"arrival", ES_ST_SECTION, F(arrival), NULL, 0, 0, NULL, "", "arrival process", &k_arrival_schema},
    {"shared_prefix", ES_ST_SECTION, F(shared_prefix), NULL, 0, 0, NULL, "",
     "inference-perf shared_prefix shape", &k_shared_prefix_schema},
    {"trace", ES_ST_SECTION, F(trace), NULL, 0, 0, NULL, "", "trace replay", &k_trace_schema},
    {"sheddable_fraction", ES_ST_DOUBLE, F(sheddable_fraction), "0", 0, 1, NULL, "",
     "share of requests sent with a sheddable objective (priority -1)", NULL},
};
#undef F

ES_SCHEMA_DEFINE(es_workload_schema, "workload", k_entries);
