/*
 * es_scheduler.h -- the endpoint picker (EPP) scheduling library.
 *
 * Decides as the endpoint picker does (llm-d-router v0.10.0, commit 71f4f099;
 * formulas first written against GIE commit 1748e829): EndpointPickerConfig
 * loading and defaulting, admission (saturation, sheddable 429), filters,
 * scorers (un-normalised weighted sum of scores clamped to [0,1]), pickers,
 * profile handlers (single, P/D disaggregation), PreRequest hooks (prefix
 * index update, in-flight counters), response hooks, the approximate and the
 * precise prefix indexes and flow control.  See docs/scheduler.md.
 *
 * Includes only common/: the same code could run inside a live picker.  No
 * global mutable state; one es_scheduler_t per EPP replica; not thread-safe
 * (one thread per scheduler).  All randomness comes from es_rng_t streams
 * derived from the seed given to es_scheduler_create.
 *
 * Units: times are es_time_t ns (now_ns); kv_cache_usage a fraction 0..1;
 * token counts are tokens; endpoint ids are es_endpoint_t.id, stable indexes
 * of the pods in their pool (per-endpoint state is kept in arrays indexed by
 * id, so keep ids dense).
 */
#ifndef ES_SCHEDULER_H
#define ES_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "es_doc.h"
#include "es_endpoint.h"
#include "es_err.h"
#include "es_request.h"
#include "es_time.h"

#define ES_SCHED_MAX_TARGETS   8    /* maxNumOfEndpoints is capped here */
#define ES_SCHED_MAX_PROFILES  4
#define ES_SCHED_MAX_SCORERS   16   /* scorers per profile */

/* ------------------------------------------------------------------ */
/* EndpointPickerConfig                                                */
/* ------------------------------------------------------------------ */

/* Parsed, validated and defaulted EndpointPickerConfig (llm-d-router v0.10.0
 * apix/config/v1alpha1/endpointpickerconfig_types.go, commit 71f4f099).  Owns
 * copies of every string; independent of the document it came from. */
typedef struct es_epp_config es_epp_config_t;

/* Loads a YAML or JSON file.  Errors name file:line: field. */
int  es_epp_config_load_file(const char *path, es_epp_config_t **out, es_err_t *err);
/* Loads an EndpointPickerConfig node (inline in an experiment, or the text of
 * a ConfigMap already parsed); the node may be freed afterwards. */
int  es_epp_config_load_node(const es_node_t *node, es_epp_config_t **out, es_err_t *err);
/* Loads from text (YAML or JSON); `name` is used in messages. */
int  es_epp_config_load_string(const char *name, const char *text, es_epp_config_t **out,
                               es_err_t *err);
/* The upstream default (loadDefaultConfig): queue 2, kv-cache-utilization 2,
 * prefix 3, defaulted like any other config. */
int  es_epp_config_default(es_epp_config_t **out, es_err_t *err);
/* Frees a config of es_epp_config_load_* or es_epp_config_default; NULL is a no-op. */
void es_epp_config_destroy(es_epp_config_t *c);
/* The upstream default config (loadDefaultConfig) as YAML text, for tools
 * that edit it (sweeps). */
const char *es_epp_config_default_text(void);
/* Writes the defaulted configuration as run (YAML; every plugin with every
 * parameter, auto-created plugins included) for the results directory. */
void es_epp_config_write_yaml(FILE *f, const es_epp_config_t *c);
/* True when the feature gate is on ("flowControl", ...). */
bool es_epp_config_gate(const es_epp_config_t *c, const char *gate);
/* Warnings of the load, "file:line: message" (deprecations, plugins or
 * parameters without effect in a simulation, alpha stability); NULL past
 * the end.  Callers print them (the library does not write to stderr). */
const char *es_epp_config_warning(const es_epp_config_t *c, size_t i);
/* Upstream's ValidatePluginStability (framework/interface/plugin/registry.go)
 * without --allow-experimental-plugins: the first Alpha plugin of the config
 * by name is an error (ES_EUNSUPP), as the EPP refuses to start.  eppsim
 * accepts Alpha plugins with a warning unless asked (--strict-stability). */
int  es_epp_config_check_stability(const es_epp_config_t *c, es_err_t *err);
/* Name of the i-th registered plugin type; NULL past the end. */
const char *es_epp_plugin_type(size_t i);

/* ------------------------------------------------------------------ */
/* Scheduler                                                           */
/* ------------------------------------------------------------------ */

/* One EPP replica: plugin instances, prefix indexes, in-flight counters,
 * saturation, flow-control queues, the request table of in-flight picks.
 * Out of memory in a scheduler aborts (common/es_alloc.h): no call below
 * fails or drops a KV event for want of memory.  Loading a config returns
 * ES_ENOMEM instead, as every input loader. */
typedef struct es_scheduler es_scheduler_t;

/* Creates a scheduler; the config must outlive it.  `seed` is the master seed;
 * the scheduler derives its streams with es_rng_stream(seed, kind, replica...)
 * -- callers with several replicas pass distinct seeds (or use the replica
 * index in the seed they derive). */
int  es_scheduler_create(const es_epp_config_t *cfg, uint64_t seed, es_scheduler_t **out,
                         es_err_t *err);
void es_scheduler_destroy(es_scheduler_t *s);
/* Restarts the decision stream (random tie-breaks, exploration) as
 * es_scheduler_create(cfg, seed) starts it; the rest of the state is kept.
 * A live picker that reseeds before each decision with a seed it logs lets
 * `eppsim explain --seed` replay that decision's random choices exactly. */
void es_scheduler_reseed(es_scheduler_t *s, uint64_t seed);

/* Optional detailed trace of one decision (for `eppsim explain`).  Indexes
 * are into the eps array given to the pick; raw scores are before clamping. */
typedef struct es_sched_trace_profile {
    const char *name;                            /* profile name (config-owned) */
    bool        ran;                             /* the handler ran this profile */
    bool        failed;                          /* no endpoint left after filters */
    uint32_t    nsurvivors;
    uint32_t   *survivors;                       /* [cap_eps] eps indexes after filters */
    uint32_t    nscorers;
    const char *scorer[ES_SCHED_MAX_SCORERS];    /* scorer plugin names, config order */
    double      weight[ES_SCHED_MAX_SCORERS];
    double     *raw;                             /* [nscorers][cap_eps] raw score by eps index */
    double     *total;                           /* [cap_eps] sum of clamp(raw)*weight */
    uint32_t    npicked;
    uint32_t    picked[ES_SCHED_MAX_TARGETS];    /* eps indexes, primary first */
} es_sched_trace_profile_t;

typedef struct es_sched_trace {
    size_t   cap_eps;                                     /* endpoints it can describe */
    /* LatencyPredictionInfo by eps index (predicted-latency-producer), when have_latency */
    bool     have_latency;
    double  *pred_ttft, *pred_tpot, *ttft_headroom, *tpot_headroom;   /* [cap_eps] ms */
    bool    *pred_valid;                                  /* [cap_eps] TTFT and TPOT within SLO */
    uint32_t nprofiles;                                   /* profiles that ran */
    es_sched_trace_profile_t profile[ES_SCHED_MAX_PROFILES];
    double   saturation;                                  /* detector value at admission */
} es_sched_trace_t;

es_sched_trace_t *es_sched_trace_create(size_t cap_eps);   /* never NULL */
void es_sched_trace_destroy(es_sched_trace_t *t);

/* Status values besides HTTP codes. */
#define ES_SCHED_QUEUED 0     /* flow control holds the request (es_scheduler_submit) */

/* Room for a session-affinity token: base64 of a pod name (NUL included). */
#define ES_SCHED_TOKEN_MAX 256

typedef struct es_sched_result {
    /* out */
    int         status;             /* 200, 429, 503, 500 (an admission plugin refused), or ES_SCHED_QUEUED */
    const char *reason;             /* static text for non-200 */
    uint32_t    primary;            /* endpoint id of the pick (profile "default"/"decode") */
    int32_t     prefill;            /* P/D: endpoint id of the prefill pick; -1 when not split */
    uint32_t    ntargets;           /* primary profile's picks (Envoy fallback order) */
    uint32_t    targets[ES_SCHED_MAX_TARGETS];
    uint32_t    est_prefix_blocks;  /* approx index: blocks the primary was believed to hold */
    uint32_t    est_total_blocks;   /* approx index: blocks of the request (0 if none) */
    uint32_t    est_block_tokens;   /* tokens per approx block (to turn blocks into tokens) */
    double      saturation;         /* detector value seen at admission */
    /* in: set to a trace to have it filled; NULL on the hot path */
    es_sched_trace_t *trace;
    /* out, E/P/D: the encode profile's picks (x-encoder-hosts-ports), endpoint ids */
    uint32_t    nencode;
    uint32_t    encode[ES_SCHED_MAX_TARGETS];
    /* out, p2p-source-producer: the pod to pull the prompt's cached KV from
     * (x-kv-cache-source-host-port), -1 when none, and the prompt tokens it holds */
    int32_t     kv_source;
    int64_t     kv_source_tokens;
    /* out, session-affinity with encoded_endpoint_header (ResponseHeader):
     * the response header the EPP sets, base64 of the pod it names (the
     * profileName profile's pick, else the primary); NULL when none.  The
     * client echoes it on the session's next request. */
    const char *session_header;
    char        session_token[ES_SCHED_TOKEN_MAX];
} es_sched_result_t;

/*
 * One decision as the picker runs it: candidates (n == 0: 503) -> admission
 * (sheddable and saturation >= 1: 429) -> data producers (approximate prefix
 * match) -> profile handler loop (filters -> scorers -> picker) -> PreRequest
 * hooks (prefix index add for primary and the "prefill" profile's pick,
 * in-flight counters, no-hit LRU).  eps: ready candidates, metrics as last
 * scraped.  A failed primary profile gives 429 "failed to find target
 * endpoint".  With the flowControl gate on, use es_scheduler_submit instead;
 * pick then skips admission (the flow controller did it).  Does not allocate
 * after warm-up.  Returns 0, or ES_EINVAL for a bad argument.
 */
int  es_scheduler_pick(es_scheduler_t *s, const es_sched_request_t *req, const es_endpoint_t *eps,
                       size_t n, es_time_t now_ns, es_sched_result_t *out);

/* Response hooks (ResponseBody plugins): the first chunk releases the prefill
 * pick's in-flight counters; the end of stream (or an error/cancel) releases
 * the rest and forgets the request.  Unknown ids are ignored. */
void es_scheduler_on_first_chunk(es_scheduler_t *s, uint64_t req_id, es_time_t now_ns);
void es_scheduler_on_end(es_scheduler_t *s, uint64_t req_id, es_time_t now_ns);
/* es_scheduler_on_end for a response whose stream ended (any status), with
 * its usage (prompt and completion tokens) for the plugins that account for
 * it (program-aware-fairness); plain es_scheduler_on_end is a request the
 * client or the gateway abandoned. */
void es_scheduler_on_end_usage(es_scheduler_t *s, uint64_t req_id, es_time_t now_ns, uint32_t prompt_tokens,
                               uint32_t completion_tokens);
/* es_scheduler_on_end_usage with the replica's current endpoint view (eps
 * may be NULL): the response hooks see the stream's end with the tokens
 * generated, and the latency predictor trains TPOT on the target's latest
 * metrics there. */
void es_scheduler_on_complete(es_scheduler_t *s, uint64_t req_id, es_time_t now_ns, uint32_t prompt_tokens,
                              uint32_t completion_tokens, const es_endpoint_t *eps, size_t n);

/* The latency predictor's record (predicted-latency-producer): absolute
 * percentage errors of the prediction made at dispatch for the chosen pod
 * against what the request then showed, as upstream measures them (TTFT:
 * first chunk when streaming, else end of stream; TPOT: streaming only). */
typedef struct es_sched_predictor_stats {
    bool     present;                   /* a predicted-latency-producer runs */
    uint64_t ttft_n, tpot_n;            /* requests compared */
    double   ttft_ape_sum, tpot_ape_sum;/* sums of |predicted - actual| / actual */
    uint64_t retrains;                  /* trainings that produced a model */
    uint64_t samples_ttft, samples_tpot;/* training entries recorded */
} es_sched_predictor_stats_t;
/* The latency predictor sidecar's settings (llm-d-latency-predictor's
 * environment; es_sched_predictor_config_default: the v0.10.0 chart's). */
typedef struct es_sched_predictor_config {
    double  retraining_interval_s;    /* LATENCY_RETRAINING_INTERVAL_SEC: 10 */
    double  model_sync_interval_s;    /* MODEL_SYNC_INTERVAL_SEC: 30 */
    int64_t min_samples_for_retrain;  /* LATENCY_MIN_SAMPLES_FOR_RETRAIN: 100 (10 after a cold start) */
    int64_t max_samples_per_bucket;   /* LATENCY_MAX_TRAINING_DATA_SIZE_PER_BUCKET: 500 */
    bool    quantile;                 /* LATENCY_OBJECTIVE_TYPE quantile (else mean) */
    double  quantile_alpha;           /* LATENCY_QUANTILE_ALPHA: 0.9 */
} es_sched_predictor_config_t;
es_sched_predictor_config_t es_sched_predictor_config_default(void);
/* Applies them to the scheduler's predictor (a fresh one: call before the
 * first decision); no effect without a predicted-latency-producer. */
void es_scheduler_set_predictor_config(es_scheduler_t *s, const es_sched_predictor_config_t *cfg);
/* Adds this scheduler's predictor record into *out (callers zero it first
 * and sum over replicas). */
void es_scheduler_predictor_stats(const es_scheduler_t *s, es_sched_predictor_stats_t *out);

/* True when a plugin of the config consumes the servers' KV events (the
 * precise prefix index): without one, the caller need not deliver them. */
bool es_scheduler_wants_kv_events(const es_epp_config_t *cfg);
/* True when a plugin reads the GPU utilisation (dcgm-extractor): the
 * scraper must fill es_endpoint_metrics_t.gpu_util. */
bool es_scheduler_wants_gpu_util(const es_epp_config_t *cfg);
/* A server's KV event as the EPP receives it (the caller applies the
 * delivery delay), to every plugin that wants KV events. */
void es_scheduler_on_kv_event(es_scheduler_t *s, const es_kv_event_t *ev);
/* Pod deleted or crashed: clears its in-flight counters, prefix index
 * entries, LRU positions. */
void es_scheduler_endpoint_removed(es_scheduler_t *s, uint32_t endpoint_id);

/* Replays a past request served by `endpoint_id` through the prefix-index
 * PreRequest hooks only (no in-flight change): builds history for explain. */
void es_scheduler_record(es_scheduler_t *s, const es_sched_request_t *req,
                         const es_endpoint_t *eps, size_t n, uint32_t endpoint_id,
                         es_time_t now_ns);
/* Sets an endpoint's in-flight counters (explain's `inflight`). */
void es_scheduler_set_inflight(es_scheduler_t *s, uint32_t endpoint_id, int64_t requests,
                               int64_t tokens);
/* Reads them back (tests, metrics). */
void es_scheduler_get_inflight(const es_scheduler_t *s, uint32_t endpoint_id, int64_t *requests,
                               int64_t *tokens);

/* Cross-replica sync of in-flight state (v0.10.0 datalayer/
 * cross_replica_publisher.go, runtime.go; inflightload/producer.go
 * CrossReplicaState).  With dataLayer.crossReplicaSyncerPluginRef and
 * syncCrossReplicaState true, each replica publishes (Set) its local
 * in-flight requests and tokens of an endpoint at the endpoint's poll
 * ticks, and every consumer of InFlightLoad reads the sum over replicas of
 * their last published values (0 before any): its own picks show only
 * once published.  The store is shared by the replicas of one EPP service;
 * values are endpoint-id indexed, ids below max_endpoints. */
typedef struct es_sched_sync es_sched_sync_t;
int  es_sched_sync_create(uint32_t replicas, uint32_t max_endpoints, es_sched_sync_t **out, es_err_t *err);
void es_sched_sync_destroy(es_sched_sync_t *st);
/* The aggregate (Get) of an endpoint: requests and tokens summed over replicas. */
void es_sched_sync_get(const es_sched_sync_t *st, uint32_t endpoint_id, int64_t *requests, int64_t *tokens);
/* Poll ticks of `base` between two publishes of an endpoint: interval /
 * base rounded half away from zero, at least 1 (interval_dispatcher.go
 * periodTicks; each endpoint's countdown starts at 1: its first tick
 * publishes).  base must be positive. */
uint32_t es_sched_sync_period_ticks(es_time_t interval, es_time_t base);
/* One poll tick of an endpoint's publisher countdown (interval_dispatcher.go
 * Dispatch): true when it publishes, once every `period` ticks, the first
 * tick included (*left starts at 1). */
static inline bool es_sched_sync_tick(uint32_t *left, uint32_t period)
{
    if (--*left > 0) return false;
    *left = period;
    return true;
}
/* How often a replica publishes (0: this config does not sync). */
es_time_t es_scheduler_sync_interval(const es_scheduler_t *s);
/* Makes replica `replica` of st read its InFlightLoad from st (the
 * scheduler must sync: es_scheduler_sync_interval > 0). */
void es_scheduler_sync_attach(es_scheduler_t *s, es_sched_sync_t *st, uint32_t replica);
/* Dispatch of the publisher for one endpoint: Set(local value). */
void es_scheduler_sync_publish(es_scheduler_t *s, uint32_t endpoint_id);
/* A Set that reaches the store now: replica's value of an endpoint (a
 * publish that took time to propagate; es_scheduler_sync_publish is one
 * that lands at once). */
void es_sched_sync_set(es_sched_sync_t *st, uint32_t replica, uint32_t endpoint_id, int64_t requests,
                       int64_t tokens);

/* What flow control does with one request arriving at an empty queue
 * (explain): the detector's verdict, the request's band and flow, the
 * policies of its band and the usage limit of each band at this saturation
 * (as at the first dispatch cycle).  Plugin names and types point into the
 * config; verdict is static text. */
#define ES_SCHED_EXPLAIN_BANDS 16
typedef struct es_sched_flow_explain {
    bool        gate;                     /* featureGates lists flowControl */
    const char *detector, *detector_type;
    double      saturation;               /* the detector's value, >= 1: saturated */
    int64_t     band;                     /* the request's priority */
    bool        band_listed;              /* in priorityBands (else a default band template) */
    const char *flow;                     /* fairness id */
    const char *fairness, *fairness_type, *ordering, *ordering_type, *usage, *usage_type;
    uint64_t    bytes;                    /* the request's size as flow control counts it */
    size_t      nbands;                   /* bands the usage limit policy saw, highest first */
    int64_t     band_priority[ES_SCHED_EXPLAIN_BANDS];
    double      band_ceiling[ES_SCHED_EXPLAIN_BANDS];
    int         status;                   /* 200 dispatched now, ES_SCHED_QUEUED held, 429 rejected */
    const char *verdict;
} es_sched_flow_explain_t;
void es_scheduler_flow_explain(es_scheduler_t *s, const es_sched_request_t *req, const es_endpoint_t *eps,
                               size_t n, es_time_t now_ns, es_sched_flow_explain_t *out);

/* Saturation of the configured detector over eps at now (1.0 = saturated). */
double es_scheduler_saturation(es_scheduler_t *s, const es_endpoint_t *eps, size_t n,
                               es_time_t now_ns);
/* Keys of the precise prefix index for plain text (explain's kv_blocks):
 * full blocks of the precise scorer's blockSize tokens at 4 characters a
 * token, chained as in es_content.  Returns the count (0 without a precise
 * scorer). */
size_t es_sched_text_block_keys(const es_scheduler_t *s, const char *text, uint64_t *out, size_t max);
/* The request's block keys the KV-event index (the first plugin that keeps
 * one) holds for an endpoint: the run from the first key, as a decision would
 * match them now (explain's kv_blocks).  Returns the run's length, of which
 * the first max are written; 0 without such a plugin. */
size_t es_scheduler_kv_held(es_scheduler_t *s, const es_sched_request_t *req, uint32_t endpoint_id, uint64_t *out,
                            size_t max);
/* Called at the start of every decision (es_scheduler_pick, es_scheduler_submit,
 * a flow-control dispatch, each member of a sealed batch), before any plugin
 * reads or indexes the request: what a caller reads here (es_scheduler_kv_held)
 * is what that decision reads.  A live gateway logs its snapshot here, since a
 * queued request's decision happens inside es_scheduler_flow_cycle.  NULL
 * (the default): none.  Not called for a request refused without a decision
 * (flow control's capacity 429, a queue TTL eviction). */
typedef void (*es_decide_hook)(void *ud, const es_sched_request_t *req);
void es_scheduler_set_decide_hook(es_scheduler_t *s, es_decide_hook fn, void *ud);
/* Value of the x-session-token response header for an endpoint (base64 of
 * its name), written to buf; returns buf. */
const char *es_sched_session_token(const es_endpoint_t *ep, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* Flow control (feature gate flowControl; llm-d-router v0.10.0         */
/* pkg/epp/flowcontrol/controller/internal/processor.go)               */
/* ------------------------------------------------------------------ */
/*
 * The e2e layer drives it with time:
 *   es_scheduler_submit(): gate off -> same as es_scheduler_pick.  Gate on ->
 *     capacity check (429 "request rejected: flow control capacity"), else the
 *     request is queued (status ES_SCHED_QUEUED); the caller keeps *req and
 *     its content alive until the request is dispatched, evicted or cancelled.
 *   es_scheduler_flow_cycle(): one dispatch cycle (call it after every
 *     submit and every 1 ms while es_scheduler_flow_queued() > 0): evicts
 *     expired requests (503 "request timed out in queue"), then, unless the
 *     saturation is >= the band ceiling (1.0), takes ONE request of the
 *     highest non-empty priority band (fairness policy picks the flow,
 *     ordering policy the item) and runs es_scheduler_pick on it.  Each
 *     outcome goes to `cb`.  Returns the number of requests dispatched (0/1).
 *   es_scheduler_flow_cancel(): client went away: removes it (cb not called).
 */
typedef void (*es_flow_cb)(void *ud, const es_sched_request_t *req, const es_sched_result_t *res);

int    es_scheduler_submit(es_scheduler_t *s, const es_sched_request_t *req,
                           const es_endpoint_t *eps, size_t n, es_time_t now_ns,
                           es_sched_result_t *out);
int    es_scheduler_flow_cycle(es_scheduler_t *s, const es_endpoint_t *eps, size_t n,
                               es_time_t now_ns, es_flow_cb cb, void *ud);
bool   es_scheduler_flow_cancel(es_scheduler_t *s, uint64_t req_id);
size_t es_scheduler_flow_queued(const es_scheduler_t *s);
/* Earliest TTL expiry of a queued request; ES_TIME_NEVER when none. */
es_time_t es_scheduler_flow_next_expiry(const es_scheduler_t *s);

/* Flow control's queues as they stand (explain --from-run replays them at a
 * request's arrival): the queued requests, every band highest priority
 * first, each band in enqueue order; and every band this replica knows
 * (usage limit policies rank them all) with its round-robin position, the
 * flow served last (NULL: none yet).  Each returns the count and writes the
 * first max.  es_scheduler_flow_restore_band provisions band `priority` and
 * sets its position (flow NULL: none), before the queued requests are
 * submitted again at their enqueue times. */
typedef struct es_sched_flow_item {
    uint64_t  id;
    es_time_t enq;
} es_sched_flow_item_t;
typedef struct es_sched_flow_band {
    int64_t     priority;
    const char *last_flow;
} es_sched_flow_band_t;
size_t es_scheduler_flow_items(const es_scheduler_t *s, es_sched_flow_item_t *out, size_t max);
size_t es_scheduler_flow_bands(const es_scheduler_t *s, es_sched_flow_band_t *out, size_t max);
void   es_scheduler_flow_restore_band(es_scheduler_t *s, int64_t priority, const char *last_flow);

/* Demand-driven in-flight eviction (flowControl.enableEviction with the
 * flowControl gate; v0.10.0 pkg/epp/flowcontrol/eviction/,
 * controller/internal/reclamation.go): at a head-of-line block with queued
 * demand above the next victim's priority, a dispatch cycle revokes
 * dispatched sheddable requests (priority < 0; lowest priority, then the
 * newest dispatch, first).  cb receives each victim, the request given to
 * its pick (still alive); the caller answers it 429 "request evicted by flow
 * control", has the pod abort it, and calls es_scheduler_on_end, which
 * confirms the eviction.  The callback must not call the scheduler.
 * refresh: the metrics refresh interval (a scraped detector's confirmation
 * grace is refresh + 2 s + 250 ms; concurrency-detector's 10 ms).  Without
 * a callback (explain, bench, live) nothing is evicted. */
typedef void (*es_evict_cb)(void *ud, const es_sched_request_t *req);
void     es_scheduler_set_evictor(es_scheduler_t *s, es_evict_cb cb, void *ud, es_time_t refresh);
/* Requests evicted so far by this replica. */
uint64_t es_scheduler_evictions(const es_scheduler_t *s);
/* Whether this replica evicts (the config enables it and a callback is set). */
bool     es_scheduler_evicts(const es_scheduler_t *s);

#endif /* ES_SCHEDULER_H */
