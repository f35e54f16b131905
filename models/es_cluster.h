/*
 * es_cluster.h -- the request path: client -> gateway -> ext_proc -> EPP
 * replicas -> model-server pods -> client, and the cluster around it
 * (readiness, scrapes, faults, scaling, prefill/decode disaggregation).
 *
 * What it models (docs/e2e.md):
 *  - Gateway: HTTPRoute matching (PathPrefix / Exact paths, exact header
 *    matches; no match: 404), one network hop per leg, the ext_proc call with
 *    its message timeout, the InferencePool failureMode (FailOpen: the gateway
 *    picks a random ready pod itself; FailClose: 503) when the EPP is down or
 *    late, requests without a body sent to a random ready pod unscheduled,
 *    client timeouts (408).
 *  - EPP service: replicas chosen round-robin by the gateway, each with its
 *    own scheduler (scheduler/), its own per-pod scrape timers (random phase,
 *    latency, failures keep the last values), in-flight counters and prefix
 *    index; scheduling latency and a worker limit; KV events delivered after
 *    a delay.  The decision itself is es_scheduler_pick / _submit, called as
 *    a live picker would.
 *  - Cluster: pods with a readiness delay, faults (pod crash with 503 or
 *    retry, restart with a cold cache, scrape failures), EPP outages, scaling;
 *    P/D: the prefill pick computes the prompt, its KV moves to the decode
 *    pod (bytes / bandwidth + latency), which then decodes.
 *
 * Every request handed to es_cluster_send ends exactly once, through
 * on_done, with a status.  Latencies are as the client sees them.
 * Units: es_time_t ns.
 */
#ifndef ES_CLUSTER_H
#define ES_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "es_e2e_config.h"
#include "es_content.h"
#include "es_err.h"
#include "es_request.h"
#include "es_scheduler.h"
#include "es_sim.h"
#include "es_server.h"
#include "es_server_config.h"
#include "es_kvmem.h"

typedef struct es_cluster es_cluster_t;

/* A client request: caller-owned, must stay valid until on_done. */
typedef struct es_client_request {
    /* in */
    uint64_t            id;
    const char         *path;
    const char         *model;          /* NULL: no body (not scheduled) */
    es_content_t        prompt;
    uint32_t            output_tokens;
    int32_t             priority;       /* used when objective is NULL or unknown */
    const char         *objective;
    const char         *session;
    const char         *lora;
    uint64_t            output_segment;
    const es_header_t  *headers;
    uint32_t            nheaders;
    bool                measured;       /* in the run's measured window: its gaps are on_gaps's `measured` */
    const es_mm_item_t *mm;             /* images; NULL if none (their tokens are in prompt) */
    uint32_t            nmm;
    void               *user;           /* caller's pointer (e.g. the workload request) */
    /* out */
    es_time_t           sent;           /* client send time */
    es_time_t           first_token;    /* at the client; -1 none */
    es_time_t           done;           /* at the client */
    int                 status;         /* HTTP status at the client */
    int32_t             pod;            /* endpoint id that served it; -1 none */
    uint32_t            cached_tokens;
    uint32_t            est_matched, est_total;
    uint32_t            est_block_tokens;  /* tokens per EPP index block (est_matched to tokens) */
    uint32_t            preemptions;
    uint32_t            output_received;
    es_time_t           queue_wait;     /* at the pod: submit to first scheduled */
    es_time_t           sched_latency;  /* ext_proc round trip seen by the gateway */
    uint32_t            retries;
    es_time_t           encode_wait;    /* images: from forwarding to the encoder outputs at the pod; 0 none */
    const char         *session_header; /* the EPP's session-affinity response header (last decision), NULL none */
    char                session_token[ES_SCHED_TOKEN_MAX];
    /* private */
    struct {
        struct es_cluster  *c;
        uint64_t            gen;        /* unique per send: stale events of a reused record are ignored */
        es_server_request_t sreq;       /* the pod's view (decode side under P/D) */
        es_server_request_t preq;       /* P/D prefill side */
        es_sched_request_t  sched;
        es_event_id_t       timeout_ev;
        es_event_id_t       extproc_ev;
        uint32_t            epp;        /* replica that decides */
        int32_t             prefill_pod;
        uint32_t            nencode;        /* E/P/D: encode pods the decision named (x-encoder-hosts-ports) */
        int32_t             encode_pods[ES_SCHED_MAX_TARGETS];
        int32_t             kv_source;      /* p2p-source-producer's peer (x-kv-cache-source-host-port), -1 none */
        uint64_t            pull_id;        /* the computing pod's P2P pull in flight (es_kvlink id), 0 none */
        uint32_t            pull_src_life;  /* kv_source's crash count when that pull started */
        uint32_t            enc_left;       /* E/P/D: encoder outputs still on their way to the first pod */
        es_time_t           enc_from;       /* when the request reached the encode pods */
        uint8_t             phase;
        uint8_t             extproc_pending; /* the gateway waits for the EPP's answer */
        uint8_t             decided;         /* the EPP picked (its in-flight counters hold r) */
        int32_t             decided_status;
        struct es_client_request *next; /* EPP worker queue */
        es_time_t           extproc_sent;
    } p;
} es_client_request_t;

struct es_flow_note;   /* below */

typedef struct es_cluster_hooks {
    void *ud;
    /* The request ended (any status) at client time r->done (>= now). */
    void (*on_done)(void *ud, es_client_request_t *r);
    /* Pooled inter-token gaps seen by clients, emitted at time t (<= now;
     * see es_server_hooks_t); `measured` of them from requests with
     * `measured` set. */
    void (*on_gaps)(void *ud, es_time_t t, es_time_t gap, uint32_t count, uint32_t measured);
    /* Optional (--record-decisions): one EPP decision, with what the replica
     * saw: the candidates as scraped and their in-flight counters before the
     * pick ({requests, tokens} per candidate).  flow: NULL without the
     * flowControl gate; with it, also each request's arrival (res NULL). */
    void (*on_decision)(void *ud, uint32_t replica, const es_sched_request_t *req, const es_endpoint_t *cand,
                        size_t n, const int64_t (*inflight)[2], es_time_t now, const es_sched_result_t *res,
                        const struct es_flow_note *flow);
} es_cluster_hooks_t;

/* Flow control's part of a decision record (explain --from-run replays the
 * queues from it).  An arrival: the queues the request finds before it is
 * submitted.  An outcome: what flow control did at the request's arrival,
 * "rejected" (capacity), "dispatched" (by the dispatch cycles run at its
 * arrival) or "held" (queued past its arrival: dispatched or timed out later). */
typedef struct es_flow_note {
    bool                        arrival;
    const es_sched_flow_item_t *queued;
    size_t                      nqueued;
    const es_sched_flow_band_t *bands;
    size_t                      nbands;
    const char                 *at_arrival;
} es_flow_note_t;

typedef struct es_cluster_params {
    const es_server_config_t      *server;
    const es_cluster_config_t     *cluster;
    const es_epp_service_config_t *epp;
    const es_gateway_config_t     *gateway;
    const es_epp_config_t         *picker;    /* EndpointPickerConfig as run */
    const char                    *pool_name; /* pod names are <pool_name>-<i>; required (run.c: the
                                                 InferencePool's name, else vllm-<server.model>) */
} es_cluster_params_t;

int  es_cluster_create(es_sim_t *sim, const es_cluster_params_t *params, const es_cluster_hooks_t *hooks,
                       es_cluster_t **out, es_err_t *err);
void es_cluster_destroy(es_cluster_t *c);

/* The client sends r now. */
void es_cluster_send(es_cluster_t *c, es_client_request_t *r);

/* Requests sent and not yet done. */
uint64_t es_cluster_in_flight(const es_cluster_t *c);

/* Pods (every pod ever created, in id order). */
typedef struct es_pod_info {
    const char *name;
    const char *role;          /* "prefill", "decode" or "" */
    bool        ready;
    uint64_t    requests;      /* requests submitted to it */
    es_endpoint_metrics_t now; /* its /metrics now */
    es_server_stats_t stats;
    bool        kv_derived;    /* kv_mem holds vLLM's KV sizing (server.vllm_fidelity) */
    es_kvmem_t  kv_mem;
} es_pod_info_t;
uint32_t es_cluster_pod_count(const es_cluster_t *c);
/* The GPU profile (or datasheet GPU) and model the pods run; shared, read-only. */
const struct es_profile *es_cluster_profile(const es_cluster_t *c);
/* Brings every pod up to now (es_server_sync): call once the simulation has
 * stopped, before reading results. */
void es_cluster_sync(es_cluster_t *c);
void es_cluster_pod_info(const es_cluster_t *c, uint32_t pod, es_pod_info_t *out);
/* The EPP replicas' latency predictor records, summed (present: one ran). */
void es_cluster_predictor_stats(const es_cluster_t *c, es_sched_predictor_stats_t *out);
/* Requests flow control evicted (flowControl.enableEviction), summed over
 * the EPP replicas; false when no replica evicts (*out = 0). */
bool es_cluster_evictions(const es_cluster_t *c, uint64_t *out);

#endif /* ES_CLUSTER_H */
