/*
 * server_internal.h -- what the engine loop (server.c) and its setup
 * (server_setup.c: profile loading, vLLM's KV sizing, create/destroy) share
 * (models/ only; nothing outside includes it).
 */
#ifndef ESI_SERVER_INTERNAL_H
#define ESI_SERVER_INTERNAL_H

#include "es_server.h"
#include "es_kvcache.h"
#include "es_kvmem.h"
#include "es_steptime.h"

/* RS_API: in the API server's queue; RS_DELIVER: done in the engine, its end
 * not yet sent by the API server. */
/* RS_REMOTE: parked while a P2P pull fills its blocks (WAITING_FOR_REMOTE_KVS). */
enum { RS_NEW = 0, RS_WAITING = 1, RS_RUNNING = 2, RS_DONE = 3, RS_API = 4, RS_DELIVER = 5, RS_REMOTE = 6 };

#define API_MAX 64   /* server.api_server_count's maximum */

typedef struct lora_slot {
    char       *name;   /* owned: requests (and their workload records) end before the
                         * server does, and scraped metrics publish this pointer */
    uint32_t    running, waiting;
    bool        loaded;
    uint64_t    last_use;
} lora_slot_t;

typedef es_server_request_t req_t;

struct es_server {
    es_sim_t          *sim;
    es_server_hooks_t  hooks;
    uint32_t           endpoint;
    es_profile_t      *own_prof;
    const es_profile_t *prof;
    const es_profile_model_t *pm;
    es_steptime_t      st;
    es_kvcache_t       kv;
    uint32_t bs, max_model_len, max_num_seqs, budget_max, thr, watermark_blocks;
    int      policy;
    bool     prefix_caching;
    uint32_t max_loras;
    es_time_t lora_load;

    /* running list in admission order */
    req_t   *run_head, *run_tail;
    uint32_t n_running, n_prefilling;
    uint32_t n_dec;            /* decoders on the shared clock */
    uint32_t n_dec_meas;       /* those of them with `measured` set */
    uint32_t n_dec_chat;       /* those of them on a chat stream */
    int64_t  dec_base;         /* sum over decoders of (c0 - s0) */
    req_t  **ring;             /* event buckets, indexed by step & ring_mask */
    uint32_t ring_mask;

    /* waiting: FCFS deque or priority heap */
    req_t   *wait_head, *wait_tail;
    req_t  **heap;
    uint32_t heap_n, heap_cap;
    uint32_t n_waiting;

    /* engine */
    uint64_t k;                /* index of the step in flight (or last run) */
    bool     pending, in_step, in_handler;
    es_event_id_t ev;
    es_time_t step_dt;
    /* async scheduling: step k+1's batch is formed while step k runs, so a
     * request queued after step k started joins step k+2 at the earliest */
    es_time_t step_started, admit_cutoff;

    /* fast-forward: steps k+1 .. ff_last are plain and not run yet */
    bool       ff_on;          /* server.fast_forward */
    bool       ff;             /* a stretch is pending; ev is at the end of ff_last */
    uint64_t   ff_last;
    es_time_t  ff_t;           /* end of step k */
    es_time_t *ff_dt;          /* step durations, indexed by step & ring_mask */

    /* the step being scheduled / in flight */
    bool     fast, stage_prefill, preempted;
    int64_t  budget;
    req_t  **pf;  uint32_t npf;     /* prompt chunks scheduled */
    req_t  **due; uint32_t ndue;
    req_t  **late; uint32_t nlate;
    uint32_t *cq, *cp;              /* composition scratch */
    req_t   *fin;                   /* decoders finishing at this step's end */
    uint32_t n_dec_sched;
    uint32_t n_dec_sched_meas;      /* those of them with `measured` set */
    uint32_t n_dec_sched_chat;      /* those of them on a chat stream */
    uint64_t sum_ctx;               /* slow path: decode keys, accumulated */
    uint32_t skip_n, skip_meas, skip_chat;
    int64_t  skip_ctx;
    es_time_t extra;                /* LoRA loads in this step */

    /* pooled block tables, by log2 capacity */
    uint32_t **tpool[32];
    uint32_t   tpool_n[32], tpool_cap[32];

    lora_slot_t *lora;
    uint32_t     nlora, lora_cap, n_lora_active, n_lora_loaded;
    uint64_t     lora_clock;

    es_server_stats_t stats;
    uint64_t q_tokens, h_tokens;
    uint64_t seq_ctr, arr_ctr;

    /* server.vllm_version: engine CPU time per step */
    bool       vllm;                    /* a vLLM version is named */
    bool       async_sched;             /* CPU overlaps the GPU step */
    double     cpu_step_us, cpu_seq_us, cpu_tok_us, sync_us;
    bool       have_kvmem;
    es_kvmem_t kvmem;
    uint32_t   step_chunks;             /* output chunks the step in flight emits */
    uint32_t   step_chat_chunks;        /* those of them on chat streams */
    /* the API server: a FIFO CPU per process */
    bool       fe_on;
    uint32_t   n_api;
    es_time_t  api_free[API_MAX];       /* when each process is next idle */
    es_time_t  api_req, api_latency;    /* CPU per request; its wait that holds no CPU */
    es_time_t  api_chat;                /* more CPU per chat request (chat template) */
    double     api_tok_ns, api_chunk_d;
    double     api_chat_chunk_d;        /* more CPU per chunk of a chat stream */
    bool       chat_yield;              /* a chat request yields the loop between template and engine */
    es_time_t  d_now, d_prev;           /* API delay of this step's / the previous step's tokens */
    req_t     *fe_head;                 /* RS_API and RS_DELIVER requests */
    /* P2P pulls (hooks.kv_pull_*): RS_REMOTE requests, linked by p.next/p.prev */
    req_t     *remote_head;
    uint32_t   n_remote;
    bool       pulls_started;           /* the step being formed parked a request */
    /* the engine's vision encoder (es_server_set_encoder) */
    bool       enc_on;
    double     enc_ns_per_token;
    int64_t    enc_budget;              /* image tokens the step being formed may still encode */
    uint64_t  *enc_hash, *enc_used;     /* encoder cache: [enc_n] image hash, last use */
    uint32_t   enc_n, enc_cap;
    uint64_t   enc_clock;
    /* CPU KV offload (server.kv_offloading_gib): a second block tier */
    bool         offload;
    es_kvcache_t cpu;                   /* hashes of blocks copied to host memory, LRU */
    uint32_t     cpu_blocks;            /* host blocks (0 = no offload) */
    es_time_t    load_per_block;        /* host -> GPU copy of one block over PCIe */
};

/* server.c's pieces that setup needs */
void esi_server_kv_event(void *ud, es_kv_event_kind_t kind, uint64_t hash);   /* kv.ev of a pod with KV events */
void esi_server_release_table(es_server_t *s, req_t *r);                      /* r's block table back to the pool */

#endif
