/*
 * es_workload.h -- where requests come from: trace replay and generators.
 *
 * A workload turns the experiment's `workload` section into a stream of
 * requests in arrival order.  Sources are trace readers (Mooncake, Azure,
 * BurstGPT, ShareGPT lengths, eppsim's own JSONL; es_trace.h) and generators
 * (inference-perf shared_prefix, synthetic lengths, multi-turn chat
 * sessions).  Arrivals come from the trace's timestamps or from an arrival
 * process (Poisson, Gamma with a cv, constant, closed-loop clients, rate
 * stages).  Transforms (time scale, target rate, window, first N, sampling)
 * and a mix of models / objectives / priorities apply on top.
 *
 * Invariants:
 *  - Times are int64 ns of simulated time (es_time_t), starting at 0.
 *  - Requests are produced incrementally: only requests handed out and not yet
 *    released are held, so a 1M-request trace runs in bounded memory.
 *    Records and their segment arrays come from a pool recycled on release.
 *  - Content is shared segments (es_content.h), never token arrays; equal
 *    segment ids mean equal tokens, so prefix sharing follows the source.
 *  - Every draw comes from a stream es_rng_stream(seed, ES_WL_ENTITY_*, id,
 *    ES_STREAM_*): the arrival stream never shifts when lengths, content or
 *    the mix change, nor when anything outside the workload changes.
 *  - es_workload_next hands out requests in nondecreasing arrival order as
 *    long as `now` never decreases between calls.
 */
#ifndef ES_WORKLOAD_H
#define ES_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "es_content.h"
#include "es_err.h"
#include "es_request.h"
#include "es_time.h"
#include "es_workload_config.h"

/* Entity kinds of the workload's random streams (es_rng_stream's second
 * argument).  Part of the determinism contract: never renumber. */
enum {
    ES_WL_ENTITY_WORKLOAD = 0x574c00,  /* id 0: the whole workload */
    ES_WL_ENTITY_STAGE    = 0x574c01,  /* id: rate stage index */
    ES_WL_ENTITY_CLIENT   = 0x574c02,  /* id: closed-loop client */
    ES_WL_ENTITY_SESSION  = 0x574c03,  /* id: chat session */
    ES_WL_ENTITY_QUESTION = 0x574c04,  /* id: shared_prefix question (group * per_group + i) */
    ES_WL_ENTITY_REQUEST  = 0x574c05   /* id: request id */
};

typedef struct es_wl_request {
    uint64_t     id;              /* 0, 1, ... in the order handed out */
    es_time_t    arrival;         /* ns of simulated time */
    const char  *path;            /* HTTP path, e.g. "/v1/completions" */
    const char  *model;           /* "model" in the body; NULL = request without body */
    es_content_t prompt;          /* segments owned by the workload until release */
    uint32_t     output_tokens;   /* tokens the server generates (>= 1) */
    int32_t      priority;        /* objective priority; < 0 is sheddable */
    const char  *objective;       /* InferenceObjective name or NULL */
    const char  *session;         /* session id or NULL */
    const char  *lora;            /* LoRA adapter (target model) or NULL */
    uint64_t     output_segment;  /* segment id the output tokens get; later turns replay it */
    const es_header_t *headers;   /* extra HTTP headers (eppsim JSONL), may be NULL */
    uint32_t     nheaders;
    uint32_t     stage;           /* index of the arrival-rate stage it belongs to */
    const es_mm_item_t *mm;       /* images (workload.images or the trace's "images"), NULL if none; their
                                   * tokens are segments of prompt, before its last segment */
    uint32_t     nmm;
    /* private */
    uint32_t     session_idx_;    /* session slot + 1, 0 if none */
    uint32_t     client_;         /* closed-loop client + 1, 0 if none */
    uint8_t      bench_;          /* sent by a benchmark client's loop (bench.h) */
    uint8_t      drain_;          /* open-loop request of a draining stage */
} es_wl_request_t;

typedef struct es_workload es_workload_t;

/* Builds the workload from its config section.  Relative trace paths are
 * resolved against base_dir (NULL = current directory).  Opens the trace but
 * reads only its first record.  Errors (missing file, bad keys inside NODE
 * entries, malformed first line) fill err with file:line: what was expected. */
int  es_workload_create(const es_workload_config_t *cfg, const char *base_dir,
                        uint64_t master_seed, es_workload_t **out, es_err_t *err);
void es_workload_destroy(es_workload_t *w);

/* Hands out the next request whose arrival is <= now, in arrival order.
 * Returns 1 (and *out), 0 when none is due by `now` (see es_workload_next_time;
 * closed-loop clients and chat sessions also wait for completions), -1 when
 * the workload is finished, or a negative ES_E* code below -1 on error (err
 * filled with "file:line: what was expected").  Pass now = ES_TIME_NEVER to
 * read an open-loop source ahead (tools, benchmarks).
 * Caller pattern: at time t, call next(t) until it returns 0 or -1, then
 * schedule a wake-up at es_workload_next_time(); also call next after each
 * es_workload_on_complete. */
int  es_workload_next(es_workload_t *w, es_time_t now, es_wl_request_t **out, es_err_t *err);

/* Arrival time of the earliest request the workload already knows about,
 * or ES_TIME_NEVER when none (finished, or waiting for completions). */
es_time_t es_workload_next_time(es_workload_t *w);

/* Request r ended at time t with an HTTP status (any): closed-loop clients
 * send their next request, chat sessions schedule their next turn (t + think
 * time), a benchmark client frees a slot, ends a drained stage, and (status
 * 200) adds the answer to a multi-turn history.  Does not release r. */
void es_workload_on_complete(es_workload_t *w, es_wl_request_t *r, es_time_t t, int status);

/* A response header of r the client keeps (session affinity's token): a
 * chat session sends the last one it got, as that header, on its next
 * turns; a replayed trace's requests with the same session id send the
 * last one their session got when they are handed out (a header of that
 * name in the trace wins).  No effect for requests outside a session, a
 * benchmark client's, or a name or value of ES_WL_TOKEN_MAX characters or
 * more. */
#define ES_WL_TOKEN_MAX 256
void es_workload_on_response_header(es_workload_t *w, es_wl_request_t *r, const char *name, const char *value);
/* Gives r back; its storage is reused (pool).  r must not be used after. */
void es_workload_release(es_workload_t *w, es_wl_request_t *r);

/* Arrival-rate stages, for per-stage results.  A workload without stages has
 * one stage.  end is ES_TIME_NEVER for an open-ended last stage; rate is 0
 * when unknown (trace timestamps). */
size_t es_workload_stage_count(const es_workload_t *w);
void   es_workload_stage(const es_workload_t *w, size_t i, double *rate,
                         es_time_t *start, es_time_t *end);

/* Benchmark-client workloads (workload.inference_perf): the client's timeout
 * in s (0 = none; the run applies it when gateway.client_timeout_s is 0),
 * a line naming the client and build (NULL for other workloads), and what
 * the config asked that the build mirrored did not do (warnings). */
double      es_workload_client_timeout_s(const es_workload_t *w);
const char *es_workload_client(const es_workload_t *w);
size_t      es_workload_warning_count(const es_workload_t *w);
/* The model a benchmark client names in its requests (inference-perf's
 * server.model_name), NULL when it names none: a live client sends it. */
const char *es_workload_server_model(const es_workload_t *w);
const char *es_workload_warning(const es_workload_t *w, size_t i);
/* How the benchmark client stamps streamed responses (false for other
 * workloads): streaming, stamps per token, stamps after the last token. */
bool es_workload_client_stamps(const es_workload_t *w, bool *streaming, uint32_t *per_token, uint32_t *trailing);
/* The stage running at time t (benchmark clients: stages drain, so their
 * [start, end] never overlap); the last stage started by t. */
uint32_t es_workload_stage_at(const es_workload_t *w, es_time_t t);

/* Malformed trace lines skipped so far (trace.skip_bad_lines). */
size_t es_workload_skipped_lines(const es_workload_t *w);
/* Requests handed out so far. */
uint64_t es_workload_count(const es_workload_t *w);

#endif /* ES_WORKLOAD_H */
