/*
 * cluster_internal.h -- what the three parts of the request path share
 * (models/ only; nothing outside includes it).
 *
 *   cluster.c      pods (readiness, crashes, restarts), the hop to a pod and
 *                  back, P/D transfer, faults, scaling, create/destroy
 *   gateway.c      the client's send, HTTPRoute matching, the ext_proc call,
 *                  its timeout and the InferencePool failure mode, client
 *                  timeouts and cancellations, re-sends after a crash
 *   epp_service.c  EPP replicas: scrapes, KV-event delivery, workers,
 *                  scheduling decisions, flow control
 *
 * Event arguments (es_sim_schedule's uint64_t arg) of request events:
 *   bits 63..8  the request's generation (r->p.gen): an event whose
 *               generation differs from the record's is stale (the record was
 *               reused) and is ignored;
 *   bits  7..0  per event: the EPP replica id (decisions; replicas <= 64),
 *               or the client's reason (ESI_WHY_TIMEOUT / ESI_WHY_CANCEL).
 */
#ifndef ESI_CLUSTER_INTERNAL_H
#define ESI_CLUSTER_INTERNAL_H

#include "es_cluster.h"
#include "es_kvlink.h"
#include "es_rng.h"
#include "es_steptime.h"

/* Event argument of a request event (layout above). */
#define ESI_ARG(gen, low) ((uint64_t)(gen) << 8 | (uint64_t)(low))
#define ESI_ARG_GEN(arg)  ((arg) >> 8)
#define ESI_ARG_LOW(arg)  ((arg) & 0xff)
enum { ESI_WHY_TIMEOUT = 0, ESI_WHY_CANCEL = 1 };   /* client timeout event: 408 or 499 */

enum {
    PH_NEW = 0, PH_ROUTING, PH_EXTPROC, PH_TO_POD, PH_PREFILL, PH_AT_POD, PH_DONE
};

typedef es_window_t window_t;

typedef struct pod {
    es_server_t  *server;
    es_endpoint_t ep;
    es_label_t    labels[1 + ES_POD_LABELS_MAX];   /* llm-d.ai/role when disaggregated, cluster.pod_labels */
    char          name[64];
    char          address[32];
    bool          alive;         /* running (false after a crash until restart) */
    bool          ready;         /* passes readiness: a candidate */
    bool          wanted;        /* within the scaled replica count */
    uint64_t      requests;
    window_t     *scrape_fail;   /* scrape-failure windows */
    size_t        nscrape_fail;
    struct es_cluster *c;
    uint32_t      id;
    uint32_t      life;          /* crashes so far: a pull from a pod that crashed since it began fails */
    /* the pod's encoder (images): a FIFO busy until enc_free, and the LRU of
     * the images whose output it keeps (grown on first use) */
    es_time_t     enc_free;
    uint64_t     *enc_hash, *enc_used;   /* [enc_n] image hash, last use (enc_clock) */
    uint32_t      enc_n;
    uint64_t      enc_clock;
} pod_t;

typedef struct epp_replica {
    es_scheduler_t *sched;
    es_endpoint_t  *view;        /* per pod: metrics as last scraped by this replica */
    es_endpoint_t  *cand;        /* scratch: ready candidates */
    int64_t       (*inflight)[2];/* scratch: their in-flight counters (decision records) */
    es_rng_t        rng;         /* scrape failures */
    uint32_t        busy;        /* decisions running */
    es_client_request_t *qhead, *qtail;   /* waiting for a worker */
    bool            flow_timer;  /* a flow-control cycle event is pending */
    /* decision records with flow control: the request whose arrival cycles
     * run now, and scratch copies of the queues it found */
    const es_sched_request_t *arriving;
    es_sched_flow_item_t *fq;
    es_sched_flow_band_t *fb;
    size_t          fq_cap, fb_cap;
    struct es_cluster *c;
    uint32_t        id;
} epp_replica_t;

typedef struct scrape_timer {
    struct es_cluster *c;
    uint32_t epp, pod;
    uint32_t sync_left;   /* poll ticks to the next cross-replica publish (the pod's intervalDispatcher) */
    /* GPU utilisation (dcgm-data-source): two checkpoints of the server's
     * cumulative busy time, at least ESI_GPU_UTIL_WINDOW apart */
    uint32_t  gpu_n;
    es_time_t gpu_t[2], gpu_busy[2];
} scrape_timer_t;
#define ESI_GPU_UTIL_WINDOW ES_S   /* NVML samples GPU utilisation over 1/6 s to 1 s */

/* A cross-replica publish on its way to the store (epp.sync_delay_ms). */
typedef struct sync_pending {
    es_time_t at;
    uint32_t  replica, pod;
    int64_t   requests, tokens;
} sync_pending_t;

typedef struct kv_pending {
    es_time_t     at;
    es_kv_event_t ev;
} kv_pending_t;

struct es_cluster {
    es_sim_t                *sim;
    es_cluster_params_t      prm;
    es_server_config_t       scfg;
    es_cluster_hooks_t       hooks;
    es_profile_t            *profile;
    pod_t                   *pods;
    uint32_t                 npods, maxpods;
    epp_replica_t           *epps;
    uint32_t                 nepps, next_epp;
    scrape_timer_t          *timers;
    es_rng_t                 gw_rng;       /* FailOpen and body-less picks */
    es_rng_t                 cancel_rng;   /* client cancellations */
    es_time_t                hop, extproc_timeout, client_timeout, sched_latency;
    bool                     timeout_whole_s;   /* aiohttp: the timeout fires on a whole second */
    es_time_t                scrape_every, scrape_latency, kv_delay;
    bool                     scrape_latency_fails;
    double                   kv_bytes_per_token;
    es_kvlink_t             *link;         /* the pods' KV-transfer NICs, shared by every transfer */
    bool                     want_kv_events;
    bool                     want_gpu_util;  /* a dcgm-extractor reads the GPU utilisation */
    kv_pending_t            *kvq;          /* ring of KV events on their way to the EPPs */
    size_t                   kvq_head, kvq_n, kvq_cap;
    bool                     kv_timer;
    uint64_t                 in_flight;
    uint64_t                 next_gen;     /* request generations */
    void                   **owned;        /* fault and scaling records */
    size_t                   nowned;
    es_sched_sync_t         *sync;         /* cross-replica in-flight store; NULL: replicas count their own */
    uint32_t                 sync_period;  /* poll ticks between publishes (periodTicks) */
    es_time_t                sync_delay;   /* epp.sync_delay_ms */
    sync_pending_t          *syncq;        /* ring of publishes in propagation (constant delay: FIFO) */
    size_t                   syncq_head, syncq_n, syncq_cap;
    bool                     sync_timer;
};

static inline bool esi_in_window(const window_t *w, size_t n, es_time_t t)
{
    for (size_t i = 0; i < n; i++)
        if (t >= w[i].start && t < w[i].end) return true;
    return false;
}

/* ---- cluster.c ---- */
/* The response (or error) reaches the client at `at`: r ends (once). */
void esi_cluster_finish(es_cluster_t *c, es_client_request_t *r, int status, es_time_t at);
/* The gateway sends r to `pod` (and first to `prefill_pod` under P/D, else -1). */
void esi_cluster_forward(es_cluster_t *c, es_client_request_t *r, int32_t pod, int32_t prefill_pod);
/* The client gave up on r while it was in `phase`: abort it at its pod. */
void esi_cluster_abort_at_pod(es_cluster_t *c, es_client_request_t *r, uint8_t phase);

/* ---- gateway.c ---- */
/* The response (or an error) leaves the gateway now: the client has it one hop later. */
void esi_gateway_reply(es_cluster_t *c, es_client_request_t *r, int status);
/* Sends r again from the client (a retry after a crash). */
void esi_gateway_resend(es_cluster_t *c, es_client_request_t *r);
/* Event: the EPP's answer reaches the gateway (target r, arg ESI_ARG(gen, 0)). */
void esi_gateway_ev_extproc_reply(es_sim_t *sim, void *target, uint64_t arg);

/* ---- epp_service.c ---- */
/* Creates the replicas (schedulers, views, scrape timers with random phases). */
int  esi_epp_service_create(es_cluster_t *c, es_err_t *err);
void esi_epp_service_destroy(es_cluster_t *c);
/* Event: the ext_proc request reaches replica r->p.epp (arg ESI_ARG(gen, 0)). */
void esi_epp_ev_receive(es_sim_t *sim, void *target, uint64_t arg);
/* Response hooks of the replica that scheduled r (none when the gateway picked). */
void esi_epp_first_chunk(es_cluster_t *c, es_client_request_t *r, es_time_t t);
void esi_epp_end(es_cluster_t *c, es_client_request_t *r, es_time_t t);
/* esi_epp_end for a response the pod finished (any status), with its usage
 * (prompt tokens, r->output_received). */
void esi_epp_stream_ended(es_cluster_t *c, es_client_request_t *r, es_time_t t);
/* The gateway stopped waiting for the decision on r (ext_proc timeout). */
void esi_epp_gateway_gave_up(es_cluster_t *c, es_client_request_t *r, es_time_t now);
/* The client went away: r leaves the replica's queues and counters. */
void esi_epp_client_gone(es_cluster_t *c, es_client_request_t *r, es_time_t now);
/* A server's KV event (es_server_hooks_t.on_kv_event; ud is the pod). */
void esi_epp_on_kv_event(void *ud, const es_kv_event_t *ev);
/* Pod `pod` was started by scaling: every replica starts scraping it. */
void esi_epp_pod_added(es_cluster_t *c, uint32_t pod);
/* Pod `pod` is no candidate any more (crash, scale-down). */
void esi_epp_pod_removed(es_cluster_t *c, uint32_t pod);

#endif /* ESI_CLUSTER_INTERNAL_H */
