/*
 * bench.h -- a published benchmark client replayed as the workload: its
 * data (what each request holds) and its load loop (client_load.h).
 *
 * Clients: inference-perf (workload.inference_perf; inference_perf.h) and
 * `vllm bench serve` (workload.vllm_bench).  A bench workload sends request
 * k of a stage with content the client would send (shared prefixes, random
 * or corpus tokens, length files, multi-turn histories), waits for every
 * request of a stage to end before the next, and reports the client's
 * timeout (the run applies it as gateway.client_timeout_s when that is 0).
 *
 * Internal to workloads/ (es_workload.c drives it); names are esi_.
 */
#ifndef ES_BENCH_H
#define ES_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "client_load.h"
#include "es_content.h"
#include "es_err.h"
#include "es_workload_config.h"

typedef struct esi_bench esi_bench_t;

/* What the caller fills a request with. */
typedef struct esi_bench_req {
    esi_cl_item_t item;          /* when, stage, index, user */
    uint32_t      output_tokens;
    uint64_t      output_segment;
    /* inference-perf's synthetic images (data.multimodal): their ids, the
     * shared prefix's group images first; tokens are the workload's */
    uint64_t      img[ES_WL_MAX_IMAGES];
    uint32_t      nimg;
} esi_bench_req_t;

/* True when the config selects a benchmark client. */
bool esi_bench_wanted(const es_workload_config_t *cfg);
int  esi_bench_create(const es_workload_config_t *cfg, const char *base_dir, uint64_t seed,
                      esi_bench_t **out, es_err_t *err);
void esi_bench_destroy(esi_bench_t *b);

/* Next request due by now: 1 and the content in *segs (grown with realloc,
 * capacity *cap) and *nsegs; 0 none due yet; -1 done; < -1 error. */
int  esi_bench_next(esi_bench_t *b, es_time_t now, esi_bench_req_t *r, es_segment_t **segs,
                    uint32_t *cap, uint32_t *nsegs, es_err_t *err);
es_time_t esi_bench_next_time(const esi_bench_t *b);
/* The request ended at t with an HTTP status (200 = its output joins a
 * multi-turn history). */
int  esi_bench_on_complete(esi_bench_t *b, const esi_bench_req_t *r, int status, es_time_t t);

size_t esi_bench_stage_count(const esi_bench_t *b);
void   esi_bench_stage(const esi_bench_t *b, size_t i, double *rate, es_time_t *start, es_time_t *end);
const char *esi_bench_path(const esi_bench_t *b);      /* HTTP path */
double esi_bench_timeout_s(const esi_bench_t *b);       /* client timeout; 0 = none */
const char *esi_bench_server_model(const esi_bench_t *b);   /* inference-perf server.model_name; NULL if none */
size_t esi_bench_warning_count(const esi_bench_t *b);
const char *esi_bench_warning(const esi_bench_t *b, size_t i);
/* One line naming the client and build, e.g. "inference-perf 2025-10 (3b6f82a ...)". */
const char *esi_bench_client(const esi_bench_t *b);
/* How the client stamps a streamed response (client_metrics.h): streaming,
 * stamps per token, stamps after the last token. */
void esi_bench_stamps(const esi_bench_t *b, bool *streaming, uint32_t *per_token, uint32_t *trailing);

#endif /* ES_BENCH_H */
