/*
 * internal.h -- cross-file internals of the scheduler library (esi_ names).
 *
 * Plugins are static vtables registered by type name (style.md pattern): each
 * family file (plugins_scorers.c, plugins_prefix.c, plugins_filters.c,
 * plugins_admission.c, plugins_pickers.c; plugins_internal.h) keeps its
 * functions static and exports its table; plugins.c is the registry over the
 * families.  One vtable per upstream plugin type, with a
 * `roles` mask because an upstream plugin may implement several interfaces (a
 * saturation detector is also a Filter; the legacy decision tree is
 * Filter+Picker), `produces` / `consumes` masks of request data keys (as
 * upstream's Produces()/Consumes()), capability flags, and one hook per
 * extension point.  The core (config.c, scheduler.c) calls hooks and tests
 * flags; it never compares type names nor reads a plugin's parameters: adding
 * a plugin is one entry in its family's table plus its functions.  Parameters are described
 * by esi_param_t tables: the single place where a plugin's parameter names,
 * defaults and ranges live (parse, defaults and the config dump all read
 * them).
 *
 * A decision works on indexes into the caller's eps array ("eps index");
 * per-endpoint state that outlives a decision is kept by es_endpoint_t.id.
 */
#ifndef ESI_SCHEDULER_INTERNAL_H
#define ESI_SCHEDULER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "es_hmap.h"
#include "es_rng.h"
#include "es_scheduler.h"

/* ---- plugin roles ---- */
enum {
    ESI_FILTER = 1u << 0, ESI_SCORER = 1u << 1, ESI_PICKER = 1u << 2,
    ESI_HANDLER = 1u << 3, ESI_DECIDER = 1u << 4, ESI_PRODUCER = 1u << 5,
    ESI_SATURATION = 1u << 6, ESI_FAIRNESS = 1u << 7, ESI_ORDERING = 1u << 8,
    ESI_USAGE = 1u << 9, ESI_INERT = 1u << 10,  /* accepted, no effect here */
    ESI_PARSER = 1u << 11, ESI_SOURCE = 1u << 12, ESI_EXTRACTOR = 1u << 13, ESI_DISCOVERY = 1u << 14,
    ESI_ADMITTER = 1u << 15,
    ESI_SYNCER = 1u << 16,  /* a CrossReplicaSyncer (dataLayer.crossReplicaSyncerPluginRef) */
    ESI_EVICT_FILTER = 1u << 17, ESI_EVICT_ORDER = 1u << 18   /* in-flight eviction's victim filter and order */
};

#define ESI_STR_MAX 64

/* ---- parameter tables ---- */
typedef enum esi_ptype {
    ESI_P_END = 0,
    ESI_P_INT,        /* int64_t in [min, max] */
    ESI_P_DOUBLE,     /* double in [min, max] */
    ESI_P_BOOL,       /* bool */
    ESI_P_STR,        /* char[ESI_STR_MAX] */
    ESI_P_DURATION,   /* es_time_t ns; "200ms", "2s", "1m30s" (Go durations) or a number of ns */
    ESI_P_SUB,        /* nested mapping; its keys write into the same struct */
    ESI_P_ANY,        /* accepted with a warning: no effect in a simulation */
    ESI_P_NODE        /* lists and maps the plugin's x_check parses from the node */
} esi_ptype_t;

/* How eppsim treats an upstream plugin type (docs/scheduler.md, "Plugin types"). */
typedef enum esi_class {
    ESI_CLASS_IMPLEMENTED = 0,  /* upstream semantics, parameters, defaults, validation */
    ESI_CLASS_FED,              /* its input is supplied by the simulation (tokens, metrics, labels) */
    ESI_CLASS_MEANINGLESS,      /* no effect in a one-cluster simulation: accepted with a warning */
    ESI_CLASS_MISSING           /* recognised, not implemented yet: refused with a clear error */
} esi_class_t;

typedef struct esi_param {
    const char              *key;
    esi_ptype_t              type;
    size_t                   off;   /* offsetof into the plugin's params struct */
    const char              *def;   /* default as text; NULL: zero / empty */
    double                   min, max;
    const struct esi_param  *sub;   /* ESI_P_SUB */
} esi_param_t;

typedef struct esi_cycle esi_cycle_t;

/* request data keys (upstream plugin.DataKey) a plugin produces or consumes */
enum {
    ESI_DATA_PREFIX_MATCH = 1u << 0,   /* PrefixCacheMatchInfo: cy->match, total_blocks, ... */
    ESI_DATA_TOPOLOGY = 1u << 1,       /* Topology of an endpoint (hostname, rack, zone, region labels) */
    ESI_DATA_LATENCY = 1u << 2         /* LatencyPredictionInfo: cy->latency (predicted-latency-producer) */
};
/* EncoderCacheMatchInfo (attribute/multimodal/data_types.go): cy->mm_matched, mm_total */
enum { ESI_DATA_MM_MATCH = 1u << 9 };
/* GPUUtilization/dcgm-extractor (attribute/gpu/data_types.go): the scrape
 * fills es_endpoint_metrics_t.gpu_util when a plugin produces it */
enum { ESI_DATA_GPU_UTIL = 1u << 8 };

/* LatencyPredictionInfo of one endpoint (v0.10.0 datalayer/attribute/latency/
 * data_types.go): predictions in ms, headroom = SLO - prediction. */
typedef struct esi_latency_info {
    double   ttft, tpot;
    double   ttft_headroom, tpot_headroom;
    bool     ttft_valid, tpot_valid;
    uint32_t dispatched;     /* requests this replica dispatched to it, not yet ended */
} esi_latency_info_t;

/* A response event for the response hooks (ResponseBody plugins). */
enum { ESI_RESP_FIRST_CHUNK, ESI_RESP_COMPLETE, ESI_RESP_END };
typedef struct esi_response {
    int                  kind;           /* ESI_RESP_* */
    uint64_t             req_id;
    es_time_t            now;
    uint32_t             output_tokens;  /* COMPLETE: tokens generated */
    const es_endpoint_t *eps;            /* COMPLETE: the replica's current view (may be NULL) */
    size_t               n;
} esi_response_t;

/* capability flags */
enum {
    ESI_CAP_KV_EVENTS = 1u << 0,          /* wants the servers' KV events (x_kv_event) */
    ESI_CAP_DEFAULT_PRODUCER = 1u << 1,   /* auto-created when a consumer of its keys has no producer */
    ESI_CAP_FLOWS_ROUND_ROBIN = 1u << 2,  /* fairness: a cursor over the flows (else one global queue) */
    ESI_CAP_LEADING_SENSOR = 1u << 3,     /* saturation detector whose gauge drops when a stream ends (eviction grace) */
};

/* What a profile handler binds at build time (profile and plugin indexes). */
typedef struct esi_handler_bind {
    bool    split;      /* runs a second (prefill) profile after the primary one */
    int32_t primary;    /* profile whose pick is the result ("decode" for P/D) */
    int32_t prefill;    /* profile run when the decider says so; -1 */
    int32_t decider;    /* decider plugin; -1 */
    bool    by_request; /* the handler's x_select_profile names the one profile each request runs */
    int32_t encode;         /* encode profile (E/P/D), run when its decider says so; -1 */
    int32_t encode_decider; /* encode decider plugin; -1 */
    bool    prefill_first;  /* stageOrder prefill-first: prefill, encode, then decode */
} esi_handler_bind_t;

struct esi_flow_view;      /* defined below; x_pick_flow takes it */
struct esi_inflight_cfg;   /* defined below; x_inflight_cfg fills it */

struct esi_flow_view;      /* below: a fairness policy's view of a flow */
struct esi_inflight_cfg;   /* below: the in-flight token estimate */

typedef struct esi_plugin_vt {
    const char        *type_name;    /* upstream registry key */
    unsigned           roles;        /* ESI_* mask */
    esi_class_t        klass;        /* implemented / fed / meaningless / missing */
    const char        *note;         /* why (fed, meaningless, missing); NULL for implemented */
    const char        *replaced_by;  /* deprecated alias of this type (upstream RegisterDeprecated) */
    bool               alpha;        /* upstream StabilityAlpha */
    const esi_param_t *params;       /* NULL-key terminated; NULL = no parameters */
    size_t             params_size;  /* size of the typed params struct */
    size_t             state_size;   /* per-instance state (host allocates, zeroed) */
    unsigned           produces;     /* ESI_DATA_* keys it fills in x_prepare */
    unsigned           consumes;     /* ESI_DATA_* keys it reads (auto-creates a default producer) */
    /* further keys read depending on the parameters (may be NULL) */
    unsigned (*x_consumes)(const void *params);
    unsigned           caps;         /* ESI_CAP_* */
    /* cross-field validation after parsing (may record facts in params); may set
     * *warning to a static text the loader reports; may be NULL */
    int    (*x_check)(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err);
    /* consumer of prefix match info: the producer it names (prefixMatchInfoProducerName); may be NULL */
    const char *(*x_producer_ref)(const void *params);
    /* resolves references to other plugins after every plugin is parsed; may be NULL */
    int    (*x_link)(void *params, const es_epp_config_t *c, const es_node_t *at, es_err_t *err);
    /* whether the config writer leaves parameter `key` out, so that the file
     * re-reads as the user gave it (a default that warns when written); may be NULL */
    bool   (*x_param_omitted)(const void *params, const char *key);
    /* profile handler: resolves its profiles and decider against the config */
    int    (*x_bind)(void *params, const es_epp_config_t *c, esi_handler_bind_t *b,
                     const es_node_t *at, es_err_t *err);
    int    (*x_init)(void *state, const void *params, es_scheduler_t *s, es_err_t *err);
    void   (*x_fini)(void *state);
    /* compacts idx[0..m) in place; returns the survivors' count */
    size_t (*x_filter)(void *state, esi_cycle_t *cy, uint32_t *idx, size_t m);
    /* raw scores of idx[0..m) into out[0..m) (clamped by the caller) */
    void   (*x_score)(void *state, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out);
    /* picks up to max of idx[0..m) (totals in tot[0..m)); writes eps indexes */
    size_t (*x_pick)(void *state, esi_cycle_t *cy, const uint32_t *idx, const double *tot,
                     size_t m, uint32_t *out, size_t max);
    /* P/D decider: disaggregate this request, given the decode pick? */
    bool   (*x_decide)(void *state, esi_cycle_t *cy, uint32_t decode_idx);
    /* data producer (PrepareRequestData), before the profiles */
    void   (*x_prepare)(void *state, esi_cycle_t *cy);
    /* Admit (requestcontrol admission plugins), after the producers: NULL admits,
     * else a static reason (the request gets 500, as upstream's director) */
    const char *(*x_admit)(void *state, esi_cycle_t *cy);
    /* PreRequest hook, after the profiles ran (cy->record_only: history replay) */
    void   (*x_pre_request)(void *state, esi_cycle_t *cy);
    /* saturation detector */
    double (*x_saturation)(void *state, esi_cycle_t *cy);
    /* usage limit policy (ComputeLimit): the saturation ceiling of each
     * priority band, priorities[0..n) highest first; called once a dispatch cycle */
    void   (*x_limits)(void *state, double saturation, const int64_t *priorities, size_t n, double *ceilings);
    /* ordering policy: queued items are served by ascending key, then enqueue
     * order; the key is computed once, at enqueue */
    es_time_t (*x_order_key)(const es_sched_request_t *req, es_time_t enqueued, es_time_t deadline);
    /* a server's KV event (ESI_CAP_KV_EVENTS) */
    void   (*x_kv_event)(void *state, const es_kv_event_t *ev);
    /* keys this plugin's index would hold for plain text (explain's kv_blocks) */
    size_t (*x_text_keys)(void *state, const char *text, uint64_t *out, size_t max);
    /* pod deleted */
    void   (*x_removed)(void *state, uint32_t endpoint_id);
    /* fairness policy (Pick): the flow to serve among flows[0..n) of one band
     * (every flow seen so far, sorted by id, empty ones included); returns its
     * index, -1 for none.  NULL: one global queue or round robin (caps) */
    long   (*x_pick_flow)(void *state, const struct esi_flow_view *flows, size_t n, es_time_t now);
    /* end of a picked request: complete = its response stream ended
     * (ResponseBody at EndOfStream, with the usage in tokens); false when the
     * client or the gateway abandoned it (no usage) */
    void   (*x_on_end)(void *state, const char *fairness_id, bool complete, uint32_t prompt_tokens,
                       uint32_t completion_tokens, es_time_t now);
    /* batching producer (a Produce that waits for its window): takes the
     * request of cy into the open batch (opening one: *seal_at = when it
     * closes); false when the batch is full (the request goes on without) */
    bool   (*x_hold)(void *state, esi_cycle_t *cy, es_time_t *seal_at);
    /* closes the batch: assigns its requests over the candidates of cy (its
     * x_prepare then answers for each held request) */
    void   (*x_seal)(void *state, esi_cycle_t *cy);
    /* inflight-load-producer: how the scheduler's in-flight token accounting
     * estimates a request (esi_inflight_cfg_t) */
    void   (*x_inflight_cfg)(const void *params, struct esi_inflight_cfg *out);
    /* response hooks: first chunk, completion, end (any) of a request */
    void   (*x_response)(void *state, const esi_response_t *r);
    /* latency predictor settings (es_scheduler_set_predictor_config) */
    void   (*x_predictor_config)(void *state, const es_sched_predictor_config_t *cfg);
    /* latency predictor statistics (es_scheduler_predictor_stats), summed in */
    void   (*x_predictor_stats)(const void *state, es_sched_predictor_stats_t *out);
    /* the request's block keys this plugin's KV-event index holds for an
     * endpoint, the run from the first (es_scheduler_kv_held) */
    size_t (*x_held_keys)(void *state, const es_sched_request_t *req, uint32_t endpoint_id, uint64_t *out,
                          size_t max);
    /* profile handler whose bind sets by_request: the profile this request
     * runs (alone, as the primary); -1 when none (the decision fails) */
    int    (*x_select_profile)(const void *state, const esi_cycle_t *cy);
    /* in-flight eviction (ESI_EVICT_FILTER): whether a dispatched request of
     * this priority may be evicted (EvictionFilterPolicy.Accept) */
    bool   (*x_evict_accept)(int64_t priority);
    /* (ESI_EVICT_ORDER): a is evicted before b (EvictionOrderingPolicy.Less) */
    bool   (*x_evict_less)(int64_t prio_a, es_time_t dispatched_a, int64_t prio_b, es_time_t dispatched_b);
    /* writes the ESI_P_NODE parameter `key` as parsed (the config as run), at
     * indent, "key: value" lines included; may be NULL (not written) */
    void   (*x_write_node)(const void *params, const char *key, FILE *f, int indent);
} esi_plugin_vt_t;

/* In-flight token accounting (v0.10.0 requestcontrol/dataproducer/inflightload/
 * producer.go, token_estimator.go): a request counts, on each endpoint, its
 * input tokens the endpoint's PrefixCacheMatchInfo does not cover (+ the
 * estimated output when add_output); without add_output the tokens of the
 * non-prefill picks are released at the first chunk, the requests at the end. */
typedef struct esi_inflight_cfg {
    bool    add_output;     /* addEstimatedOutputTokens, false */
    double  output_ratio;   /* outputRatio, 1.5 */
    int64_t max_output;     /* maxEstimatedOutputTokens; -1: none */
    bool    sync;           /* syncCrossReplicaState, true: published to the syncer, read back aggregated */
} esi_inflight_cfg_t;

/* uncachedInputTokens: input tokens an endpoint's prefix match (match of
 * total blocks of bs tokens) leaves to compute: the unmatched indexed blocks
 * plus the tail beyond them (the indexed count wins over a smaller input) */
static inline int64_t esi_uncached_tokens(int64_t input, uint32_t match, uint32_t total, uint32_t bs)
{
    int64_t indexed = (int64_t)total * bs, unc = indexed - (int64_t)match * bs, tail = input - indexed;
    return (unc > 0 ? unc : 0) + (tail > 0 ? tail : 0);
}

/* One flow of a priority band as a fairness policy sees it (FlowQueueAccessor). */
typedef struct esi_flow_view {
    const char *id;         /* fairness id */
    size_t      len;        /* queued requests of the flow in this band */
    es_time_t   head_enq;   /* enqueue time of the ordering policy's head; len > 0 */
} esi_flow_view_t;

/* The fairness id of a request: x-llm-d-inference-fairness-id, else the
 * deprecated x-gateway-inference-fairness-id, else "default-flow"
 * (pkg/epp/metadata/consts.go). */
static inline const char *esi_fairness_id(const es_sched_request_t *r)
{
    const char *old = NULL;
    for (uint32_t i = 0; i < r->nheaders; i++) {
        const char *n = r->headers[i].name;
        if (n[0] != 'x') continue;
        if (strcmp(n, "x-llm-d-inference-fairness-id") == 0) return r->headers[i].value;
        if (!old && strcmp(n, "x-gateway-inference-fairness-id") == 0) old = r->headers[i].value;
    }
    return old ? old : "default-flow";
}

/* The sync store's Set (set_it) or Delete of replica r's value for an endpoint (sync.c). */
void esi_sync_put(es_sched_sync_t *st, uint32_t r, uint32_t id, bool set_it, int64_t requests, int64_t tokens);

const esi_plugin_vt_t *esi_registry_find(const char *type_name);
/* The first registered type with a role (ESI_EVICT_FILTER, ESI_EVICT_ORDER: the
 * evictor's policies, which upstream's runner builds itself); NULL if none. */
const esi_plugin_vt_t *esi_registry_with_role(unsigned role);
/* The registered default producer of a data key; NULL if none. */
const esi_plugin_vt_t *esi_registry_default_producer(unsigned data_key);

/* approx-prefix-cache-producer parameters (declared here for the tests) */
#define ESI_APPROX_MIN_BLOCK_TOKENS 64   /* v0.10 minBlockSizeTokens (approximateprefix/plugin.go) */
typedef struct esi_approx_params {
    bool    auto_tune;          /* block size from cache_config_info, LRU from num_gpu_blocks */
    int64_t block_size_tokens;  /* 16; floored at min_block_tokens when used */
    int64_t block_size_chars;   /* deprecated blockSize: promoted to block_size_tokens */
    int64_t max_blocks;         /* maxPrefixBlocksToMatch, 2048 (used when max_tokens is 0; 0 = no cap) */
    int64_t max_tokens;         /* maxPrefixTokensToMatch, 131072; > 0 wins: max_tokens / block size */
    int64_t lru_capacity;       /* lruCapacityPerServer, 31250 */
    int64_t min_block_tokens;   /* not a parameter: ESI_APPROX_MIN_BLOCK_TOKENS (upstream's tests lower it) */
    bool    block_size_given;   /* not a parameter: blockSizeTokens was written in the config */
} esi_approx_params_t;

/* burst-prefix-cache-producer's assignment (plugins_burst.c, assign.go) of
 * n requests with the given block hashes over eps: assigned[i] = endpoint id,
 * -1 for no affinity (for the tests) */
void esi_burst_assign(const uint64_t *const *hashes, const uint32_t *nblocks, size_t n, const es_endpoint_t *eps,
                      size_t neps, int64_t max_per_replica, int64_t min_colocate, bool by_tokens, int64_t *assigned);

/* mm-embeddings-cache-producer's entries per endpoint for cacheSizeInMBPerServer
 * (lruCapacityFromCacheSizeMB) and p2p-source-producer's requestSpreadFraction
 * (plugins_multimodal.c; for the tests) */
uint32_t esi_mm_lru_capacity(int64_t mb);
double   esi_p2p_spread_fraction(const char *request_id);

/* Placeholder tokens of a request's images: part of its token count, which
 * a plain-text prompt (explain) does not hold (content does). */
static inline int64_t esi_text_image_tokens(const es_sched_request_t *r)
{
    int64_t t = 0;
    for (uint32_t i = 0; r->prompt_text && i < r->nmm; i++) t += r->mm[i].tokens;
    return t;
}

/* ---- configuration ---- */
typedef struct esi_plugin_cfg {
    char                  *name;
    const esi_plugin_vt_t *vt;
    void                  *params;       /* typed, owned */
    uint32_t               line;
    bool                   auto_created; /* added by defaulting */
} esi_plugin_cfg_t;

typedef struct esi_ref {
    uint32_t plugin;      /* index into plugins */
    double   weight;
    bool     has_weight;
} esi_ref_t;

typedef struct esi_profile_cfg {
    char      *name;
    esi_ref_t *refs;
    uint32_t   nrefs;
    uint32_t   line;
} esi_profile_cfg_t;

typedef struct esi_band_cfg {
    int64_t  priority;
    uint64_t max_bytes;      /* 0 = unlimited */
    uint64_t max_requests;   /* 0 = unlimited */
    int32_t  fairness;       /* plugin index */
    int32_t  ordering;       /* plugin index */
} esi_band_cfg_t;

typedef struct esi_flow_cfg {
    uint64_t        max_bytes;      /* global; 0 = unlimited */
    uint64_t        max_requests;   /* global; 0 = unlimited */
    es_time_t       ttl;            /* defaultRequestTTL; 0 = none */
    esi_band_cfg_t  def_band;       /* template for bands not listed */
    esi_band_cfg_t  neg_band;       /* template for negative priorities (defaultNegativePriorityBand) */
    bool            has_neg_band;
    esi_band_cfg_t *bands;
    size_t          nbands;
    int32_t         usage;          /* usage limit policy plugin */
    bool            eviction;       /* enableEviction: demand-driven in-flight eviction */
} esi_flow_cfg_t;

struct es_epp_config {
    char              *file;
    char              *api_version;
    char             **gates;
    size_t             ngates;
    esi_plugin_cfg_t  *plugins;
    size_t             nplugins;
    esi_profile_cfg_t *profiles;
    size_t             nprofiles;
    int32_t            handler;      /* plugin index of the profile handler */
    esi_handler_bind_t bind;         /* what the handler runs */
    int32_t            saturation;   /* plugin index of the saturation detector */
    int32_t            producer;     /* producer of PrefixCacheMatchInfo, -1 if none */
    bool               flow_control; /* gate */
    esi_flow_cfg_t     flow;
    int32_t            syncer;        /* dataLayer.crossReplicaSyncerPluginRef's plugin; -1: none */
    es_time_t          sync_interval; /* dataLayer.crossReplicaSyncInterval; 0 = not set (200ms with a syncer) */
    char             **warnings;      /* "file:line: message", load order */
    size_t             nwarnings;
    bool               nomem;         /* a warning could not be stored: the load fails */
};

/* ---- in-flight eviction (evictor.c) ---- */
typedef struct esi_ev_item {
    uint64_t                  id;
    const es_sched_request_t *req;         /* the caller's, alive while in flight */
    es_time_t                 dispatched;  /* PreRequest time */
    int64_t                   priority;
    bool                      evictable;
} esi_ev_item_t;
typedef struct esi_ev_revocation { uint64_t id; double credit; es_time_t issued; } esi_ev_revocation_t;
typedef struct esi_ev_cooling { double credit; es_time_t expires; } esi_ev_cooling_t;
typedef struct esi_evictor {
    const esi_plugin_vt_t *filter, *order;   /* sheddable-eviction-filter, priority-then-time-eviction-order-policy */
    es_time_t            grace;             /* ConfirmationGrace */
    es_time_t            timeout;           /* ConfirmationTimeout, 10 s */
    int                  max_per_decision;  /* MaxRevocationsPerDecision, 2 */
    esi_ev_item_t       *items;             /* tracked in-flight requests, dense: [0, used) */
    size_t               used, capitems, nevictable;
    es_hmap_t            ids;               /* request id -> index in items */
    esi_ev_revocation_t *out; size_t nout, capout;    /* issued, not yet confirmed */
    esi_ev_cooling_t    *cool; size_t ncool, capcool; /* confirmed, within the grace */
    double               pending;           /* pendingReclaim, saturation units */
    uint64_t             evicted, confirmed, timed_out;
} esi_evictor_t;
void   esi_evictor_init(esi_evictor_t *ev, const esi_plugin_vt_t *filter, const esi_plugin_vt_t *order, es_time_t grace);
void   esi_evictor_fini(esi_evictor_t *ev);
/* PreRequest of a dispatched request; its end of stream (confirms an eviction) */
void   esi_evictor_track(esi_evictor_t *ev, const es_sched_request_t *req, es_time_t now);
void   esi_evictor_untrack(esi_evictor_t *ev, uint64_t id, es_time_t now);
/* GateOpen: nothing outstanding nor cooling (after retiring timeouts and expired debits) */
bool   esi_evictor_gate_open(esi_evictor_t *ev, es_time_t now);
/* PeekVictimPriority */
bool   esi_evictor_victim_priority(esi_evictor_t *ev, int64_t *priority);
/* Reclaim: one sizing decision; the victims (at most max) go to victims[] */
size_t esi_evictor_reclaim(esi_evictor_t *ev, double saturation, double ceiling, int64_t demand_priority, es_time_t now,
                           const es_sched_request_t **victims, size_t max);

/* ---- xxh64 (text mode hashing, as upstream) ---- */
uint64_t esi_xxh64(const void *data, size_t len, uint64_t seed);

/* ---- prefix index: block hash -> set of endpoints, per-endpoint LRU ---- */
typedef struct esi_pnode {
    uint64_t key;
    uint32_t pod;
    uint32_t next;          /* next holder of the same key (0 = end) */
    uint32_t lprev, lnext;  /* per-pod circular LRU list; lprev towards MRU */
} esi_pnode_t;

typedef struct esi_ppod { uint32_t mru, count, cap; } esi_ppod_t;   /* mru: newest of a circular list */

typedef struct esi_pindex {
    es_hmap_t    keys;      /* block hash -> first holder node */
    esi_pnode_t *nodes; uint32_t nnodes, capnodes, freelist;   /* node 0 unused */
    esi_ppod_t  *pods;  size_t npods;
    uint32_t     key_cap;   /* holders per key, most recently added kept; 0 = unbounded */
} esi_pindex_t;

/* Out of memory aborts (es_alloc.h): the index never drops an entry. */
void esi_pindex_init(esi_pindex_t *ix);
void esi_pindex_fini(esi_pindex_t *ix);
/* Adds (moves to MRU) key for pod; evicts the pod's LRU entry beyond cap.
 * cap is fixed at the pod's first add (upstream LRU).  With key_cap set, a
 * re-added holder moves to the front of its key's list and the key's least
 * recently added holder beyond key_cap goes (llm-d-router v0.10.0
 * pkg/kvcache/kvblock/in_memory.go: a PodCache LRU per key). */
void esi_pindex_add(esi_pindex_t *ix, uint64_t key, uint32_t pod, uint32_t cap);
/* esi_pindex_add of keys[0..n) in order (prefetching). */
void esi_pindex_add_n(esi_pindex_t *ix, const uint64_t *keys, size_t n, uint32_t pod, uint32_t cap);
void esi_pindex_remove(esi_pindex_t *ix, uint64_t key, uint32_t pod);
void esi_pindex_remove_pod(esi_pindex_t *ix, uint32_t pod);
/* First holder node of key (0: nobody); iterate with nodes[i].next. */
uint32_t esi_pindex_holders(const esi_pindex_t *ix, uint64_t key);
size_t esi_pindex_pod_count(const esi_pindex_t *ix, uint32_t pod);

/* ---- character view of content (approximate prefix index) ---- */
/* Characters of token pos of segment seg: 1..7, mean 4 (docs/scheduler.md).
 * The fraction is a Weyl sequence over pos: token pos+1's is token pos's
 * plus ESI_TOKEN_WEYL (mod 2^32). */
#define ESI_TOKEN_WEYL 0x9E3779B9u
static inline uint32_t esi_token_frac(uint64_t seg_id, uint32_t pos)
{
    uint32_t salt = (uint32_t)(seg_id ^ (seg_id >> 32));
    return salt + pos * ESI_TOKEN_WEYL;
}
static inline uint32_t esi_frac_chars(uint32_t frac) { return 1u + (uint32_t)(((uint64_t)frac * 7u) >> 32); }
static inline uint32_t esi_token_chars(uint64_t seg_id, uint32_t pos)
{
    return esi_frac_chars(esi_token_frac(seg_id, pos));
}
/* Characters of 4 and of 8 consecutive tokens by the first one's fraction:
 * both sums are step functions of the fraction with few steps (4 * 7 and
 * 8 * 7), so a table over its top ESI_CV_BITS bits holds the sum for all but
 * the few buckets where a step falls (0 there: count token by token). */
#define ESI_CV_BITS 12
typedef struct esi_charview {
    uint8_t sum4[1u << ESI_CV_BITS], sum8[1u << ESI_CV_BITS];
} esi_charview_t;
void esi_charview_init(esi_charview_t *cv);
/* Chained hashes of blocks of `chars` characters of the content's character
 * view (partial last block included, also when it is the only one, at most
 * max blocks; v0.10 prefixhash.GetBlockHashes).  seed: hash of the model name. */


size_t esi_char_block_hashes(const esi_charview_t *cv, const es_content_t *c, uint32_t chars,
                             uint64_t seed, uint64_t *out, size_t max);
/* Same on plain text with xxh64, as upstream hashPrompt. */
size_t esi_text_block_hashes(const char *text, size_t len, uint32_t chars, uint64_t seed,
                             uint64_t *out, size_t max);
/* Full blocks of `tokens_per_block` tokens of plain text (4 chars a token):
 * keys of the precise index in text mode (explain). */
size_t esi_text_full_block_keys(const char *text, uint32_t tokens_per_block, uint64_t *out,
                                size_t max);

/* ---- one decision ---- */
typedef struct esi_prof_result {
    bool     ran, failed;
    uint32_t npicked;
    uint32_t picked[ES_SCHED_MAX_TARGETS];   /* eps indexes */
} esi_prof_result_t;

struct esi_cycle {
    es_scheduler_t           *s;
    const es_sched_request_t *req;
    const es_endpoint_t      *eps;
    size_t                    n;
    es_time_t                 now;
    es_rng_t                 *rng;
    /* PrefixCacheMatchInfo (approx producer), by eps index */
    bool                      have_prefix;
    uint32_t                 *match;          /* [n] */
    uint32_t                  total_blocks;
    uint32_t                  block_tokens;
    const uint64_t           *hashes;         /* the request's block hashes */
    /* eps index of an endpoint id in this decision (esi_cycle_pos) */
    const uint32_t           *id_pos, *id_stamp;
    uint32_t                  stamp;
    size_t                    id_cap;
    /* in-flight counters gathered by eps index */
    int64_t                  *inflight_req;   /* [n] */
    int64_t                  *inflight_tok;   /* [n] */
    int64_t                   est_tokens;     /* this request's input tokens (token estimate) */
    int64_t                   out_tokens;     /* its estimated output tokens (addEstimatedOutputTokens; else 0) */
    /* profile results, indexed like the scheduler's profiles */
    esi_prof_result_t         res[ES_SCHED_MAX_PROFILES];
    int                       primary;        /* profile index, -1 before */
    int                       prefill;        /* profile named "prefill" that ran, -1 */
    /* LatencyPredictionInfo (predicted-latency-producer), by eps index; NULL: none */
    const esi_latency_info_t *latency;
    bool                      record_only;    /* es_scheduler_record: index hooks only */
    uint32_t                  record_target;  /* eps index */
    int                       encode;         /* encode profile that ran (E/P/D), -1 */
    /* EncoderCacheMatchInfo (mm-embeddings-cache-producer): item weight of the
     * request and, by eps index, of its items the endpoint holds; NULL: none */
    const uint32_t           *mm_matched;     /* [n] */
    uint32_t                  mm_total;
    /* p2p-source-producer's x-kv-cache-source-host-port at PreRequest: eps
     * index (UINT32_MAX: none) and the prompt tokens it holds */
    uint32_t                  kv_source;
    int64_t                   kv_source_tokens;
    /* session-affinity's ResponseHeader (encoded_endpoint_header), set at
     * PreRequest: header name (plugin-owned) and the eps index it names
     * (UINT32_MAX: none) */
    const char               *session_header;
    uint32_t                  session_pod;
};

/* The request's in-flight tokens on candidate i (UncachedRequestTokens
 * [+ estimated output]): its input not covered by i's prefix match. */
static inline int64_t esi_request_tokens(const esi_cycle_t *cy, uint32_t i)
{
    int64_t in = cy->est_tokens;
    if (cy->have_prefix && cy->block_tokens > 0) in = esi_uncached_tokens(in, cy->match[i], cy->total_blocks, cy->block_tokens);
    return in + cy->out_tokens;
}

/* Eps index of endpoint id in the cycle; UINT32_MAX when not a candidate. */
static inline uint32_t esi_cycle_pos(const esi_cycle_t *cy, uint32_t id)
{
    return id < cy->id_cap && cy->id_stamp[id] == cy->stamp ? cy->id_pos[id] : UINT32_MAX;
}

/* Pick (eps index) of profile p of the cycle; UINT32_MAX if none. */
static inline uint32_t esi_cycle_pick(const esi_cycle_t *cy, int p)
{
    if (p < 0) return UINT32_MAX;
    const esi_prof_result_t *r = &cy->res[p];
    return r->ran && !r->failed && r->npicked ? r->picked[0] : UINT32_MAX;
}
/* Primary and prefill picks of the cycle.  Plugins see the scheduler only
 * through the cycle: the plugin files call nothing in scheduler.c. */
static inline uint32_t esi_cycle_primary(const esi_cycle_t *cy) { return esi_cycle_pick(cy, cy->primary); }
static inline uint32_t esi_cycle_prefill(const esi_cycle_t *cy) { return esi_cycle_pick(cy, cy->prefill); }

/* Parsing helpers of config.c (loading only: the plugin files call nothing in config.c or scheduler.c). */
int esi_parse_duration(const char *s, es_time_t *out);
int esi_parse_quantity(const char *s, uint64_t *out);

/* ---- block-key LRU of the precise index (key_lru.c) ---- */
/* inMemoryConfig.size: at most `limit` keys, the least recently used one
 * dropped when a new key would exceed it (hashicorp golang-lru semantics:
 * touch = Get, add = Add). */
typedef struct esi_krec { uint64_t key; uint32_t prev, next; } esi_krec_t;
typedef struct esi_klru {
    es_hmap_t   map;     /* key -> record */
    esi_krec_t *recs;    /* record 0 unused */
    uint32_t    nrec, cap, free, head, tail;   /* head: most recently used */
    uint64_t    n, limit;
} esi_klru_t;
void esi_klru_init(esi_klru_t *l, uint64_t limit);
void esi_klru_fini(esi_klru_t *l);
bool esi_klru_contains(const esi_klru_t *l, uint64_t key);
/* Moves key to the front when present; returns whether it was. */
bool esi_klru_touch(esi_klru_t *l, uint64_t key);
/* Adds key at the front (touches it when present); returns true and sets
 * *evicted when the least recently used key had to go. */
bool esi_klru_add(esi_klru_t *l, uint64_t key, uint64_t *evicted);
void esi_klru_remove(esi_klru_t *l, uint64_t key);

#endif /* ESI_SCHEDULER_INTERNAL_H */
