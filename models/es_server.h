/*
 * es_server.h -- a vLLM-like (v1 engine) model-server pod.
 *
 * Models continuous batching one engine step at a time: each step runs
 * vLLM's schedule() (running requests first, then admission from the waiting
 * queue under a token budget and max_num_seqs, chunked prefill, preemption by
 * recompute when KV blocks run out), takes a step time from a step-time model
 * (measured GPU profile tables by default, see steptime.h), and at the step's
 * end emits tokens, finishes requests and frees their KV blocks.  The paged
 * KV cache (kvcache.h) does automatic prefix caching over chained block
 * hashes of the request content (es_content.h), LRU eviction and KV events.
 * docs/server.md describes the model and every choice where vLLM versions
 * differ.
 *
 * Cost: one es_sim event per engine step and none per token.  Decoding
 * sequences advance together on a shared step counter; a sequence is touched
 * only at steps where something happens to it (a block fills or is needed,
 * its first token, its end), so a step costs O(1) + O(sequences with an
 * event) -- about 2 per block_size steps per sequence.  With
 * server.fast_forward, a stretch of steps where nothing but the clock moves
 * (every running request decodes, none has an event, none waits) takes one
 * event; the pod is brought up to date when the stretch ends or when a call
 * changes it (submit, abort, crash), with the results of one event per step.
 *
 * With server.vllm_version set, a request first waits for the pod's API
 * server (one CPU queue per API process: HTTP, chat template, tokenisation)
 * and every step's output chunks take that CPU's time too (detokenisation,
 * SSE), so tokens, first tokens and finishes reach the hooks when the API
 * process has sent them (docs/server.md "vLLM versions").
 *
 * Units: times es_time_t ns; lengths in tokens; KV in blocks.
 * Invariants: on_finish is called exactly once for every submitted request,
 * whatever its status; requests are caller-owned and must stay valid (and
 * unmoved) until their on_finish.
 */
#ifndef ES_SERVER_H
#define ES_SERVER_H

#include <stdbool.h>
#include <stddef.h>   /* es_endpoint.h uses NULL */
#include <stdint.h>

#include "es_content.h"
#include "es_endpoint.h"
#include "es_err.h"
#include "es_request.h"   /* es_mm_item_t */
#include "es_sim.h"
#include "es_time.h"
#include "es_server_config.h"

typedef struct es_server es_server_t;
typedef struct es_profile es_profile_t;   /* steptime.h: immutable loaded GPU profile */

/* Request status codes reported in es_server_request_t.status. */
#define ES_SERVER_OK           200
#define ES_SERVER_TOO_LONG     400   /* prompt + output exceeds max_model_len or the whole KV cache */
#define ES_SERVER_ABORTED      499   /* client cancelled (es_server_abort) */
#define ES_SERVER_UNAVAILABLE  503   /* the pod crashed (es_server_crash default) */

/* Private per-request state; fields are the server's, never touch them. */
typedef struct es_server_req_priv {
    struct es_server_request *next, *prev;      /* running list or FCFS waiting deque */
    struct es_server_request *ev_next, *ev_prev;/* step-event bucket */
    struct es_server_request *due_next;         /* scratch list within one step */
    uint64_t        seq;         /* running-list order (admission) */
    uint64_t        arrival;     /* submission order: priority tie-break */
    uint32_t        heap_idx;    /* priority waiting heap slot */
    uint8_t         state;       /* internal ES_RS_* */
    uint8_t         decoding;    /* on the shared decode clock */
    uint8_t         late;        /* next token's gap is reported on its own */
    uint8_t         in_bucket;
    uint8_t         due;         /* has an event in the step being scheduled */
    uint64_t        sched_step;  /* last step it was scheduled in (prompt chunks, slow path) */
    uint64_t        skip_step;   /* last step it was skipped in */
    uint32_t        prompt;      /* prompt tokens */
    uint32_t        out_target;  /* output tokens to produce (1 when prefill_only) */
    uint32_t        computed;    /* KV-computed tokens (prefilling requests) */
    uint32_t        outputs;     /* tokens emitted so far (prefilling requests) */
    uint32_t        chunk;       /* tokens scheduled in the current step */
    uint64_t        s0;          /* decoders: step index of decode base */
    uint32_t        c0, o0;      /* decoders: computed / outputs at step s0 */
    uint64_t        ev_step;     /* step of the next event when in a bucket */
    uint32_t       *blocks;      /* block table (pooled) */
    uint32_t        cap_class;   /* log2 capacity of blocks */
    uint32_t        held;        /* blocks in the table */
    uint32_t        hashed;      /* leading blocks with a cached hash */
    int32_t         lora_idx;    /* adapter slot index, -1 none */
    es_time_t       last_tok;    /* time of the last emitted token */
    es_block_iter_t it;          /* chained hashes; positioned at block `hashed` */
    uint64_t        root;        /* hash chain seed (LoRA adapters change it) */
    es_segment_t    out_seg;     /* the output as one segment */
    /* API server (server.vllm_version set) */
    struct es_server_request *fe_next, *fe_prev;  /* in the API queue or delivering its end */
    es_event_id_t   fe_ev;       /* the API job's end, or the finish's delivery */
    es_event_id_t   ft_ev;       /* the first token's delivery; 0 = none pending */
    uint8_t         api_proc;    /* its API process (a chat request's two turns run on one) */
    es_time_t       queued_at;   /* entered the waiting queue (async scheduling's admission) */
    /* P2P pull: tokens [pull_from, pull_to) come from the peer; pull_cpu of
     * the blocks before pull_from come from the pod's own host tier */
    uint32_t        pull_from, pull_to, pull_cpu;
    uint8_t         pull_state;  /* 0 none, 1 parked, 2 arrived, 3 failed */
} es_server_req_priv_t;

/* Caller-owned, intrusive request record: the e2e layer embeds it in its own request. */
typedef struct es_server_request {
    /* in */
    uint64_t     id;
    es_content_t prompt;          /* borrowed until on_finish */
    uint32_t     output_tokens;   /* tokens to generate (>= 1) */
    int32_t      priority;        /* priority policy: lower is served first */
    const char  *lora;            /* adapter name or NULL; borrowed until on_finish */
    uint64_t     output_segment;  /* content id of the output tokens (hashes output blocks) */
    bool         prefill_only;    /* P/D prefill side: finish right after the first token */
    bool         kv_preloaded;    /* P/D decode side: prompt KV transferred, compute only the last token */
    bool         kv_pull;         /* a P2P source is named (p2p-source-producer): at first admission the
                                   * connector asks hooks.kv_pull_lookup what the peer holds (below); with
                                   * kv_preloaded, the prompt's KV is read from the prefill pod at first
                                   * admission (kv_pull_start for [0, prompt - 1)) instead of being there */
    const es_mm_item_t *mm;       /* images this pod encodes itself (es_server_set_encoder), NULL none; each is
                                   * the prompt's segment(s) whose id is its hash; borrowed until on_finish */
    uint32_t     nmm;
    bool         measured;        /* its gaps count in on_decode_gaps's `measured` (the run's window) */
    bool         chat;            /* /v1/chat/completions: the API server renders the chat template */
    /* out */
    es_time_t    submitted;       /* es_server_submit time */
    es_time_t    admitted;        /* first scheduled; -1 until then */
    es_time_t    first_token;     /* -1 until then */
    es_time_t    finish;          /* -1 until then */
    uint32_t     cached_tokens;   /* prefix-cache hit at first admission, tokens */
    uint32_t     preemptions;
    int          status;          /* ES_SERVER_* */
    /* private */
    es_server_req_priv_t p;
} es_server_request_t;

typedef struct es_server_hooks {
    void *ud;
    void (*on_first_token)(void *ud, es_server_request_t *r, es_time_t t);   /* may be NULL */
    /* Exactly once per submitted request, any status; the server no longer
     * references r afterwards.  May be called from inside es_server_submit
     * (400) and es_server_crash. */
    void (*on_finish)(void *ud, es_server_request_t *r, es_time_t t);
    /* Pooled inter-token gaps: `count` gaps of length `gap`, the tokens
     * emitted at time t (may be NULL).  t may be earlier than now: a
     * fast-forwarded stretch reports its steps' gaps when it is brought up to
     * date, each with its own step's end time, in no promised order.  With
     * an API server (server.vllm_version) t and gap are when the client gets
     * the tokens, which may be later than now.  `measured` of the `count`
     * gaps are those of requests with `measured` set. */
    void (*on_decode_gaps)(void *ud, es_time_t t, es_time_t gap, uint32_t count, uint32_t measured);
    es_kv_event_fn on_kv_event;   /* NULL = KV events off; called at the emitting step, no delay */
    /* P2P KV pull (requests with kv_pull; both NULL = none), as vLLM's
     * scheduler meets an async connector load: at r's first admission,
     * kv_pull_lookup says how many leading prompt tokens (full blocks, at
     * most max_tokens) the peer can send; when that exceeds what the pod
     * holds, the pod allocates their blocks, parks r (WAITING_FOR_REMOTE_KVS:
     * counted as waiting, holding its blocks, taking no token budget) and
     * calls kv_pull_start for tokens [from, to); the caller moves them and
     * calls es_server_kv_pull_done. */
    uint32_t (*kv_pull_lookup)(void *ud, es_server_request_t *r, uint32_t max_tokens);
    void     (*kv_pull_start)(void *ud, es_server_request_t *r, uint32_t from, uint32_t to);
} es_server_hooks_t;

/* Counters for tests, benchmarks and results (mid-stretch, the steps begun
 * before now are counted). */
typedef struct es_server_stats {
    uint64_t steps;            /* engine steps run */
    uint64_t seq_steps;        /* sum over steps of sequences scheduled */
    uint64_t prefill_tokens;   /* prompt (and recompute) tokens computed */
    uint64_t decode_tokens;    /* tokens computed by decoding sequences */
    uint64_t preemptions;
    uint64_t rejected;         /* 400s */
    uint64_t finished;         /* on_finish calls, any status */
    uint64_t lora_loads;
    es_time_t busy;            /* sum of step durations */
    uint64_t offload_stores;     /* blocks copied to the host tier (server.kv_offloading_gib) */
    uint64_t offload_hit_tokens; /* prompt tokens loaded back from it instead of computed */
    uint64_t encoder_tokens;     /* image tokens the engine's own encoder ran (es_server_set_encoder) */
} es_server_stats_t;

/* Loads data/profiles/<gpu>.json (found with es_data_path) once; the result
 * is immutable and may be shared by many servers on many threads. */
int  es_profile_load(const char *gpu, es_profile_t **out, es_err_t *err);
void es_profile_destroy(es_profile_t *p);

/* Creates a pod.  `profile` may be NULL: the server loads (and owns) its own.
 * Errors name the config key ("server.model: ..."). */
int  es_server_create_with_profile(es_sim_t *sim, const es_server_config_t *cfg,
                                   const es_profile_t *profile, const es_server_hooks_t *hooks,
                                   uint32_t endpoint_id, es_server_t **out, es_err_t *err);
int  es_server_create(es_sim_t *sim, const es_server_config_t *cfg, const es_server_hooks_t *hooks,
                      uint32_t endpoint_id, es_server_t **out, es_err_t *err);
void es_server_destroy(es_server_t *s);

/* The pod's vision encoder runs inside its engine steps, as vLLM's
 * (v0.15.1 vllm/v1/worker/gpu_model_runner.py, _execute_mm_encoder before
 * the forward pass): a prompt chunk that reaches an image's placeholders
 * needs its encoder output; unless the encoder cache holds the image (LRU
 * of `cache_images`) or its placeholders are all computed already, the
 * step encodes it, taking tokens x us_per_token longer.  The scheduler's
 * encoder budget (vllm/v1/core/sched/scheduler.py,
 * _try_schedule_encoder_inputs) holds max_num_batched_tokens image tokens a
 * step (vLLM's max_num_encoder_input_tokens default; at least one whole
 * image): a chunk stops before an image that no longer fits.  Off (images
 * ignored) until called. */
void es_server_set_encoder(es_server_t *s, double us_per_token, uint32_t cache_images);
/* Enqueues r at es_sim_now(sim).  A request that can never fit
 * (prompt + output > max_model_len, or more blocks than the cache has)
 * finishes at once with ES_SERVER_TOO_LONG. */
void es_server_submit(es_server_t *s, es_server_request_t *r);
/* Client cancelled: frees its blocks and calls on_finish with
 * ES_SERVER_ABORTED unless r already finished. */
void es_server_abort(es_server_t *s, es_server_request_t *r);
/* The pull kv_pull_start began for r has ended: ok, its tokens count as
 * computed; failed (the source went away), they are computed here (vLLM's
 * default kv_load_failure_policy, recompute).  r rejoins the head of the
 * waiting queue.  A no-op unless r is parked for a pull on this server (it
 * was aborted, or the pod crashed, meanwhile). */
void es_server_kv_pull_done(es_server_t *s, es_server_request_t *r, bool ok);
/* Every request fails with `status` (on_finish each), the cache is cleared
 * (ES_KV_ALL_CLEARED), the server is idle and accepts new requests. */
void es_server_crash(es_server_t *s, int status);

/* Brings a fast-forwarded stretch up to now as if every event at or before
 * now had run: the gaps of its steps ended by now are reported.  For the end
 * of a run (after es_sim_run returned), before reading results; a no-op
 * without fast-forward. */
void es_server_sync(es_server_t *s);

/* Output tokens r has produced by now (engine side, before any API-server
 * delay), for a live server that streams them; up to date only with
 * server.fast_forward off, since a stretch moves no request. */
uint32_t es_server_request_outputs(const es_server_t *s, const es_server_request_t *r);
/* What /metrics shows now (update_time = now). */
void es_server_metrics(const es_server_t *s, es_endpoint_metrics_t *out);
uint32_t es_server_num_gpu_blocks(const es_server_t *s);
uint32_t es_server_free_blocks(const es_server_t *s);
uint32_t es_server_block_size(const es_server_t *s);
/* Leading tokens of `prompt` (of adapter `lora`, NULL for the base model)
 * whose KV the pod holds now, in full blocks, in GPU memory or, with
 * offloading, the host tier; at most max_tokens.  Touches nothing (no LRU
 * refresh, no event): what a peer's P2P connector would find. */
/* As es_server_cached_prefix, in the host tier alone (0 without
 * server.kv_offloading_gib): what a peer's P2P pull can read, since the
 * OffloadingConnector's P2P tier serves the source's CPU tier. */
uint32_t es_server_offloaded_prefix(const es_server_t *s, const es_content_t *prompt, const char *lora,
                                    uint32_t max_tokens);
uint32_t es_server_cached_prefix(const es_server_t *s, const es_content_t *prompt, const char *lora,
                                 uint32_t max_tokens);
/* Inside on_kv_event for an ES_KV_BLOCK_STORED event: the hash of the block
 * before it in its request's chain, 0 when it is the chain's first block
 * (vLLM's BlockStored.parent_block_hash). */
uint64_t es_server_kv_event_parent(const es_server_t *s);
void es_server_stats(const es_server_t *s, es_server_stats_t *out);
/* How the KV capacity was derived (kvmem.h); false when it was not derived
 * by vLLM's rule (num_gpu_blocks given, or no server.vllm_version). */
struct es_kvmem;
bool es_server_kv_memory(const es_server_t *s, struct es_kvmem *out);
/* The KV blocks (null block included) a pod of `cfg` gets, without making
 * one; *derived and *mem as es_server_kv_memory. */
int es_server_kv_blocks(const es_server_config_t *cfg, const es_profile_t *prof, uint32_t *blocks,
                        struct es_kvmem *mem, bool *derived, es_err_t *err);

/* Step time (us, overhead included) the server's model gives a step made of
 * `n_prefill` prompt chunks (q[i] new tokens over p[i] cached ones) plus
 * `n_decode` decoding sequences whose attention spans `sum_ctx` keys in all.
 * For fidelity tests and `eppsim explain`. */
double es_server_step_time_us(const es_server_t *s, uint32_t n_prefill, const uint32_t *q,
                              const uint32_t *p, uint32_t n_decode, uint64_t sum_ctx);

#endif /* ES_SERVER_H */
