/*
 * es_workload_config.h -- the experiment's `workload` section: where requests
 * come from (a trace or a generator), when they arrive, and what they hold.
 * Every key and default is in the schema table in workload_config.c.
 */
#ifndef ES_WORKLOAD_CONFIG_H
#define ES_WORKLOAD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "es_doc.h"
#include "es_schema.h"

enum { ES_WL_SHARED_PREFIX = 0, ES_WL_TRACE = 1, ES_WL_SYNTHETIC = 2, ES_WL_SESSIONS = 3 };
/* The lowest non-zero arrival rate (req/s): a request every ~11.6 days.
 * Lower rates would put arrivals beyond any simulated time (ES_TIME_MAX_S). */
#define ES_WL_MIN_RATE 1e-6

enum { ES_ARRIVAL_POISSON = 0, ES_ARRIVAL_GAMMA = 1, ES_ARRIVAL_CONSTANT = 2, ES_ARRIVAL_CLOSED = 3 };

typedef struct es_arrival_config {
    int     process;              /* ES_ARRIVAL_* */
    double  rate;                 /* requests per second */
    double  cv;                   /* coefficient of variation for gamma */
    int64_t concurrency;          /* closed loop: clients */
    const es_node_t *stages;      /* list of {rate, duration_s}; borrowed */
    bool    drain_stages;         /* a stage's requests all end before the next stage starts */
    double  stage_interval_s;     /* pause after a drained stage */
} es_arrival_config_t;

/* A length distribution (tokens).  Draws are rounded and clamped to [min, max]. */
enum { ES_DIST_CONSTANT = 0, ES_DIST_NORMAL = 1, ES_DIST_LOGNORMAL = 2, ES_DIST_UNIFORM = 3,
       ES_DIST_EMPIRICAL = 4 };
typedef struct es_dist_config {
    int     dist;                 /* ES_DIST_* */
    double  mean;                 /* tokens (constant value; normal/lognormal mean) */
    double  std;                  /* tokens (normal/lognormal standard deviation) */
    double  min, max;             /* clamp; uniform range */
    char   *file;                 /* empirical: a trace whose lengths are resampled */
    int     column;               /* empirical: 0 = input tokens, 1 = output tokens */
} es_dist_config_t;

typedef struct es_lengths_config {
    es_dist_config_t input;       /* prompt tokens (synthetic; user turn in sessions) */
    es_dist_config_t output;      /* output tokens */
} es_lengths_config_t;

/* How prompts of length-only traces and synthetic requests get content:
 * a pool of shared prefixes with Zipf popularity, then unique tokens. */
typedef struct es_content_config {
    int64_t prefix_pool;          /* distinct shared prefixes; 0 = no sharing */
    int64_t prefix_len;           /* tokens of each shared prefix (capped at prompt - 1) */
    double  prefix_zipf_s;        /* Zipf exponent of prefix popularity; 0 = uniform */
    double  prefix_fraction;      /* share of requests that start with a shared prefix */
} es_content_config_t;

typedef struct es_sessions_config {
    int64_t num_sessions;         /* sessions in all; 0 = until num_requests / duration */
    int64_t turns_min, turns_max; /* turns per session, uniform */
    double  think_time_s;         /* mean think time between a reply and the next turn (exponential) */
    int64_t num_system_prompts;   /* distinct system prompts sessions start with */
    int64_t system_prompt_len;    /* tokens */
    double  zipf_s;               /* Zipf exponent of system-prompt popularity; 0 = uniform */
} es_sessions_config_t;

typedef struct es_mix_config {
    const es_node_t *models;      /* list of {name, weight, lora}; borrowed */
    const es_node_t *objectives;  /* list of {name, priority, weight, slo_ttft_ms, slo_tpot_ms}; borrowed */
} es_mix_config_t;

typedef struct es_shared_prefix_config {
    int64_t num_groups;
    int64_t num_prompts_per_group;
    int64_t system_prompt_len;
    int64_t question_len;
    double  question_len_std;
    int64_t output_len;
    double  output_len_std;
    double  group_zipf_s;         /* Zipf exponent of group popularity; 0 = uniform */
} es_shared_prefix_config_t;

typedef struct es_trace_config {
    char   *file;                 /* trace path */
    char   *format;               /* mooncake|azure|burstgpt|sharegpt|eppsim|auto */
    int64_t block_tokens;         /* tokens per hash id (mooncake) */
    double  time_scale;           /* multiply timestamps (0.5 = twice the rate) */
    double  target_rate;          /* rescale to this mean rate; 0 = keep */
    double  start_s;              /* window start */
    double  end_s;                /* window end; 0 = none */
    double  sample_fraction;      /* keep each request with this probability */
    bool    replay_timestamps;    /* false: arrivals come from workload.arrival */
    bool    skip_bad_lines;
} es_trace_config_t;

/* Images that requests carry (multimodal requests; E/P/D encode stages).
 * Their placeholder tokens are part of the prompt. */
#define ES_WL_MAX_IMAGES 64
typedef struct es_images_config {
    int64_t per_request;          /* images of a request that carries them; 0 = none */
    double  fraction;             /* share of requests that carry them */
    int64_t tokens;               /* placeholder tokens per image */
    int64_t pool;                 /* distinct images drawn from; 0 = every image unique */
    double  zipf_s;               /* Zipf exponent of image popularity in the pool; 0 = uniform */
} es_images_config_t;

typedef struct es_workload_config {
    int      type;            /* ES_WL_* */
    int64_t  num_requests;    /* stop after this many requests; 0 = no limit */
    double   duration_s;      /* stop arrivals after this time; 0 = no limit */
    char    *model;           /* model name requests carry */
    char    *path;            /* HTTP path requests go to */
    es_arrival_config_t       arrival;
    es_shared_prefix_config_t shared_prefix;
    es_trace_config_t         trace;
    double   sheddable_fraction;  /* share of requests with priority -1 */
    es_lengths_config_t       lengths;
    es_content_config_t       content;
    es_sessions_config_t      sessions;
    es_mix_config_t           mix;
    es_images_config_t        images;
    const es_node_t          *inference_perf;  /* an inference-perf config (bench.h); borrowed */
    const es_node_t          *vllm_bench;      /* `vllm bench serve` settings / result (vllm_bench.h); borrowed */
} es_workload_config_t;

extern const es_schema_t es_workload_schema;

#endif /* ES_WORKLOAD_CONFIG_H */
