/*
 * es_live_gw.h -- `eppsim gateway`: the scheduler library as a live HTTP
 * reverse proxy in front of vLLM-like pods (`eppsim serve`, or anything that
 * speaks vLLM's OpenAI API and /metrics).
 *
 * Each completion is decided by es_scheduler_pick with the same
 * EndpointPickerConfig, plugins and prefix index as in simulation, on the
 * pods' metrics as last scraped from their /metrics (vLLM names, as the EPP
 * reads them) every refresh interval, then proxied to the picked pod; the
 * response streams back as it arrives (SSE chunks are forwarded, never
 * gathered).  Per decision it writes one decisions.jsonl line in the format
 * of `eppsim run --record-decisions`, with a per-decision seed (the
 * scheduler is reseeded before each pick), so `eppsim explain --from-run`
 * replays it exactly.  docs/live.md describes it.
 *
 * Units: the scheduler's clock is model time, es_time_t ns =
 * (uv_hrtime() - start) * time_scale, so the refresh interval and metric
 * ages mean what they mean in simulation at any --time-scale.
 * Bounds: client connections <= max_conns; request head <= max_header,
 * body <= max_body; one request in flight per client connection; a client
 * that stops reading pauses its pod's response once 1 MiB is queued for it;
 * a client connection idle past idle_timeout_ms, a pod silent past
 * upstream_timeout_ms and a scrape past scrape_timeout are closed; one
 * kept-alive scrape connection per pod, at most 64 idle proxy connections
 * per pod (each closed after 5 s idle); a KV
 * event message is at most 16 MiB (ZMQ_MAXMSGSIZE) and its subscriber
 * queue ZMQ's default high-water mark.
 *
 * KV events: with kv_endpoints, one ZMQ SUB socket per pod (all topics) is
 * read on the loop through ZMQ_FD, each batch decoded by es_live_kv_decode
 * and given to es_scheduler_on_kv_event at once (no delivery delay but the
 * real one).  The events are not in decisions.jsonl; each candidate's
 * kv_blocks there is what the index held for the request as the decision
 * started (es_scheduler_set_decide_hook), which explain replays.
 */
#ifndef ES_LIVE_GW_H
#define ES_LIVE_GW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "es_endpoint.h"
#include "es_err.h"
#include "es_scheduler.h"

/* ---- one scrape of a pod's /metrics (pure; fuzzed by tests/fuzz/fuzz_prom.c) ---- */
#define ES_LIVE_LORA_NAME_MAX 64

typedef struct es_live_scrape {
    es_endpoint_metrics_t m;       /* update_time untouched; lora names point into names[] */
    char     names[2 * ES_LORA_LIST_MAX][ES_LIVE_LORA_NAME_MAX];   /* running, then waiting */
    bool     has_waiting, has_running, has_kv;
} es_live_scrape_t;

/* Reads the vLLM metrics an EPP uses from a Prometheus text page:
 * vllm:num_requests_waiting, vllm:num_requests_running,
 * vllm:kv_cache_usage_perc (or the older vllm:gpu_cache_usage_perc),
 * vllm:prefix_cache_queries_total / _hits_total, vllm:cache_config_info
 * (block_size, num_gpu_blocks labels) and vllm:lora_requests_info (the
 * series with the largest value, as upstream: max_lora,
 * running_lora_adapters, waiting_lora_adapters).  Other families and
 * malformed lines are skipped.  Returns 0 when waiting, running and the KV
 * usage were all found, else -1 with msg set (the scrape failed). */
int es_live_parse_metrics(const char *text, size_t len, es_live_scrape_t *out, char *msg, size_t msgsize);

/* ---- KV events (pure; fuzzed by tests/fuzz/fuzz_kv_decode.c) ---- */
/* Decodes one KVEventBatch payload (msgpack, the layout of es_live_kvev.h:
 * [ts, [event...], data_parallel_rank]) into one es_kv_event_t per block
 * for pod `endpoint` at `now`, each passed to fn: BlockStored and
 * BlockRemoved hashes (unsigned integers; other hash forms are skipped),
 * AllBlocksCleared.  Unknown event tags are skipped.  Returns the number of
 * events, or -1 when the payload is not a batch (nothing was passed). */
int es_live_kv_decode(const char *data, size_t len, uint32_t endpoint, es_time_t now, es_kv_event_fn fn, void *ud);

/* ---- the gateway ---- */
typedef struct es_live_gw_config {
    const es_epp_config_t *epp;       /* outlives the gateway */
    uint64_t    seed;                 /* master seed; decision i uses es_live_gw_decision_seed(seed, i) */
    const char *listen;               /* address; "127.0.0.1" by default */
    int         port;                 /* 0 = ephemeral */
    const char *const *pods;          /* "ip:port" each */
    uint32_t    npods;
    const char *pool_name;            /* pods are named <pool_name>-<i> in decisions and headers */
    double      refresh_interval_ms;  /* model ms between scrapes of one pod */
    double      scrape_timeout_ms;    /* model ms; a slower scrape fails (last values kept) */
    double      time_scale;           /* model seconds per wall second, as `eppsim serve --time-scale` */
    size_t      max_body, max_header;
    uint32_t    max_conns;
    uint64_t    idle_timeout_ms;      /* wall ms; 0 never */
    uint64_t    upstream_timeout_ms;  /* wall ms a pod may stay silent mid-request; 0 never */
    FILE       *decisions;            /* decisions.jsonl; NULL: not written */
    const char *const *kv_endpoints;  /* pod i's KV event publisher ("tcp://IP:PORT"; NULL entry:
                                         none); NULL: no KV events */
} es_live_gw_config_t;

typedef struct es_live_gw es_live_gw_t;

typedef struct es_live_gw_stats {
    uint64_t requests;                /* completions decided */
    uint64_t proxied;                 /* responses that ended whole */
    uint64_t rejected;                /* decisions other than 200 */
    uint64_t upstream_errors;         /* pod unreachable, silent or cut off */
    uint64_t scrapes, scrape_failures;
    uint64_t scrape_connections;      /* connections opened for scrapes (each kept alive) */
    uint64_t scrape_retries;          /* stale kept-alive scrape connections replaced */
    uint64_t scrape_local_errors;     /* scrape connects that failed here, not at the pod (pod kept as it was) */
    uint64_t kv_batches, kv_events;   /* KV event messages decoded, block events delivered */
    uint64_t kv_bad;                  /* messages that were not a KVEventBatch */
    uint64_t pod_connections;         /* connections opened to pods for requests */
    uint64_t pod_reused;              /* requests sent on a kept-alive connection */
    uint64_t pod_retries;             /* stale kept-alive connections retried on a new one */
    uint64_t flow_queued;             /* requests that waited in flow control (or a batching producer) */
} es_live_gw_stats_t;

/* The seed decision `request_id` is made with (and logged with). */
uint64_t es_live_gw_decision_seed(uint64_t master, uint64_t request_id);

int  es_live_gw_create(uv_loop_t *loop, const es_live_gw_config_t *cfg, es_live_gw_t **out, es_err_t *err);
int  es_live_gw_port(const es_live_gw_t *gw);
void es_live_gw_stats(const es_live_gw_t *gw, es_live_gw_stats_t *out);
/* Stops listening and scraping, aborts requests, closes every handle. */
void es_live_gw_close(es_live_gw_t *gw);
/* After the loop has ended. */
void es_live_gw_destroy(es_live_gw_t *gw);

#endif /* ES_LIVE_GW_H */
