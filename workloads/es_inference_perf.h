/*
 * inference_perf.h -- an inference-perf config (kubernetes-sigs/inference-perf)
 * read as a workload: what data it sends, how its load generator paces it,
 * and what its client measures.
 *
 * Two builds are mirrored, chosen by `version` (docs/workloads.md):
 *  - ES_IP_2025_10: the build behind ../shared/validation, between commits
 *    b81afa4 (2025-10-15) and ad40050 (2025-11-14); its config schema is the
 *    one of 3b6f82a (inference_perf/config.py).  Pydantic's default there
 *    ignores unknown keys, so `num_unique_system_prompts`,
 *    `num_users_per_system_prompt`, `enable_multi_turn_chat`, ... were
 *    dropped without a word and the defaults (10 x 10, single turn) ran.
 *    Such keys load with a warning that says what that build did instead.
 *  - ES_IP_CURRENT: 7de5ef2 (2026-08-19; inference_perf/config/ modules), strict
 *    (unknown keys are an error), aliases num_unique_system_prompts /
 *    num_users_per_system_prompt, multi-turn chat, `concurrent` and
 *    `trace_replay` loads, `conversation_replay` data.
 *
 * Units: lengths in tokens, times in seconds (as the file has them).
 * Errors: `file:line: key.path: message` (ES_EINVAL / ES_EPARSE).
 */
#ifndef ES_INFERENCE_PERF_H
#define ES_INFERENCE_PERF_H

#include <stdbool.h>
#include <stdint.h>

#include "es_doc.h"
#include "es_err.h"

enum { ES_IP_CURRENT = 0, ES_IP_2025_10 = 1 };

enum { ES_IP_DATA_SHARED_PREFIX = 0, ES_IP_DATA_RANDOM, ES_IP_DATA_SYNTHETIC, ES_IP_DATA_SHAREGPT,
       ES_IP_DATA_CONVERSATION_REPLAY, ES_IP_DATA_MOCK };
enum { ES_IP_LOAD_CONSTANT = 0, ES_IP_LOAD_POISSON, ES_IP_LOAD_CONCURRENT, ES_IP_LOAD_TRACE_REPLAY };

/* inference-perf's Distribution: normal, clipped to [min, max], rounded
 * (utils/distribution.py).  `fixed` (current build) is mean exactly. */
typedef struct es_ip_dist {
    double  min, max, mean, std_dev;
    int64_t total_count;          /* 0 = not given */
    bool    fixed;
} es_ip_dist_t;

/* Synthetic images (data.multimodal.image, data.shared_prefix.multimodal.image;
 * config/datagen/multimodal.py): `count` per request (per group for the
 * shared prefix's), on when count is given (MultimodalDataGenerator._build_spec). */
typedef struct es_ip_images {
    bool         on;
    es_ip_dist_t count;
} es_ip_images_t;

typedef struct es_ip_stage {
    double   rate;                /* req/s (constant, poisson, trace_replay) */
    double   duration;            /* s */
    int64_t  num_requests;        /* concurrent */
    int64_t  concurrency_level;   /* concurrent */
} es_ip_stage_t;

typedef struct es_ip_config {
    int      version;             /* ES_IP_* */
    char    *file;                /* where it came from (messages) */
    /* api */
    bool     chat;                /* api.type chat (else completion) */
    bool     streaming;
    /* data */
    int      data;                /* ES_IP_DATA_* */
    char    *data_path;           /* shareGPT: a length file eppsim can read (sharegpt CSV or any trace) */
    bool     has_input, has_output;
    es_ip_dist_t input, output;   /* random / synthetic / shareGPT filters */
    int64_t  groups, users;       /* shared_prefix: G x U */
    es_ip_dist_t sys_len, question_len, output_len;  /* shared_prefix lengths (fixed unless a distribution) */
    bool     multi_turn;          /* shared_prefix enable_multi_turn_chat (current only) */
    es_ip_images_t images;        /* data.multimodal: each request's own images */
    es_ip_images_t group_images;  /* data.shared_prefix.multimodal: each group's prefix images */
    int64_t  seed;                /* data seed; -1 = unseeded upstream (eppsim's own seed is used) */
    /* conversation_replay (current only) */
    int64_t  conv_count, conv_shared_len;
    es_ip_dist_t conv_dynamic_len, conv_turns, conv_input, conv_output;
    bool     has_conv_dynamic;
    /* load */
    int      load;                /* ES_IP_LOAD_* */
    double   interval;            /* s between a stage's drain and the next stage */
    es_ip_stage_t *stages;
    size_t   nstages;
    int64_t  num_workers;         /* 0 = not given (upstream: the client machine's CPU count) */
    int64_t  worker_max_concurrency;
    double   request_timeout;     /* s; 0 = null (aiohttp's 300 s total applies) */
    char    *trace_file;          /* load.trace.file (AzurePublicDataset CSV) */
    /* server */
    char    *model_name;
    bool     ignore_eos;
    /* what this build ignored or did differently */
    char   **warnings;
    size_t   nwarnings;
} es_ip_config_t;

/* aiohttp.ClientSession's default total timeout (aiohttp/client.py
 * DEFAULT_TIMEOUT), used when load.request_timeout is null. */
#define ES_IP_AIOHTTP_TIMEOUT_S 300.0
/* CPU count assumed for num_workers when the file leaves it to the client
 * machine (warned). */
#define ES_IP_DEFAULT_WORKERS 16
/* Most requests of a stage, prompts of a shared_prefix table, lengths of a
 * distribution, conversation turns: beyond this a config is refused (each
 * is held in memory). */
#define ES_IP_MAX_REQUESTS 100000000LL
#define ES_IP_MAX_IMAGES   64      /* images a request carries (ES_WL_MAX_IMAGES) */

/* Parses an inference-perf config document node.  base_dir resolves
 * relative data paths (NULL = current directory). */
int  es_ip_parse(const es_node_t *root, int version, const char *base_dir, es_ip_config_t *out, es_err_t *err);
/* Loads a config file (YAML or JSON). */
int  es_ip_load_file(const char *path, int version, es_ip_config_t *out, es_err_t *err);
void es_ip_fini(es_ip_config_t *c);

/* Parses a version name: "current", "2025-10" or "2025-11" (the same
 * build); -1 when unknown. */
int  es_ip_version_parse(const char *name);
const char *es_ip_version_name(int version);
/* The upstream commit a version mirrors. */
const char *es_ip_version_commit(int version);

/* Effective client timeout in s (request_timeout, or aiohttp's 300 s). */
double es_ip_timeout_s(const es_ip_config_t *c);
/* Effective concurrency cap: num_workers x worker_max_concurrency. */
int64_t es_ip_worker_cap(const es_ip_config_t *c);

#endif /* ES_INFERENCE_PERF_H */
