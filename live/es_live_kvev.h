/*
 * es_live_kvev.h -- vLLM's KV event stream for an emulated pod: ZMQ PUB,
 * msgpack-encoded KVEventBatch messages.
 *
 * Wire layout (vLLM v0.11, vllm/distributed/kv_events.py; vllm-project/vllm
 * commit b4e69e0af33f4698e157a262cc787fe61983cd3d for the msgspec structs,
 * array_like=True with tag=True, and 0181ea3173e53eea8cf04a86891488e3dc89bb34
 * for the publisher's frames and data_parallel_rank):
 *   one ZMQ multipart message per batch: [topic, seq, payload]
 *     topic   "kv@<pod-id>@<model>" (the convention llm-d's subscribers parse:
 *             llm-d-router pkg/kvevents/engineadapter/common.go parseTopic)
 *     seq     uint64 big-endian, 0, 1, 2, ... per publisher
 *     payload msgpack array [ts float64, [event...], data_parallel_rank 0]
 *   events (msgpack arrays, the tag first):
 *     ["BlockStored", [hash...], parent_hash|nil, [token_id...], block_size, nil, "GPU"]
 *       (lora_id nil; medium "GPU"); one per chain of blocks a request cached
 *       in one engine step, hashes in chain order, parent_hash the block
 *       before the first (nil when the first block of the sequence);
 *     ["BlockRemoved", [hash], "GPU"]  one per evicted block, as vLLM does;
 *     ["AllBlocksCleared"]
 *   Hashes are unsigned 64-bit integers (vLLM's default,
 *   VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=1): eppsim's chained content hashes
 *   of the stand-in tokenizer's blocks (es_content.h).  token_ids are
 *   stand-in ids derived from the block hash (block_size per block): they
 *   match no real tokenizer (docs/live.md).
 *
 * Units: ts is unix seconds; sim times es_time_t ns.
 * Bounds: PUB high-water mark ES_LIVE_KVEV_HWM messages per subscriber
 * (beyond it ZMQ drops, as vLLM's publisher does); a batch holds at most
 * ES_LIVE_KVEV_MAX_EVENTS events (a longer step is sent as several batches);
 * sends never block the event loop.
 */
#ifndef ES_LIVE_KVEV_H
#define ES_LIVE_KVEV_H

#include <stddef.h>
#include <stdint.h>

#include "es_endpoint.h"
#include "es_err.h"
#include "es_live.h"

#define ES_LIVE_KVEV_HWM        100000u   /* vLLM's default hwm */
#define ES_LIVE_KVEV_MAX_EVENTS 4096u

/* Stand-in token id j (< block_size) of the block with this hash. */
uint32_t es_live_kvev_token_id(uint64_t block_hash, uint32_t j);

/* One KV event with its chain parent (BLOCK_STORED; 0 = first block). */
typedef struct es_live_kv_event {
    es_kv_event_t ev;
    uint64_t      parent;
} es_live_kv_event_t;

/* Encodes ev[0..n) as one KVEventBatch payload (layout above) into b. */
void es_live_kvev_encode(es_live_buf_t *b, const es_live_kv_event_t *ev, uint32_t n, double ts,
                         uint32_t block_size);

typedef struct es_live_kvev es_live_kvev_t;

typedef struct es_live_kvev_stats {
    uint64_t batches;   /* messages sent */
    uint64_t events;    /* es_kv_event_t published */
    uint64_t dropped;   /* messages ZMQ refused (send error) */
} es_live_kvev_stats_t;

/* One publisher, bound to `endpoint` (e.g. "tcp://127.0.0.1:5557"; a port
 * of "*" lets the system choose: es_live_kvev_endpoint says which).  zctx is
 * a zmq context the caller owns and outlives the publisher. */
int  es_live_kvev_create(void *zctx, const char *endpoint, const char *topic, uint32_t block_size,
                         es_live_kvev_t **out, es_err_t *err);
/* The bound endpoint ("tcp://127.0.0.1:PORT"). */
const char *es_live_kvev_endpoint(const es_live_kvev_t *p);
/* Queues one event; an event of another sim time than those queued flushes
 * the queue as a batch first (one batch per engine step).  ts: the unix
 * time of the event's step, the batch's ts. */
void es_live_kvev_add(es_live_kvev_t *p, const es_live_kv_event_t *ev, double ts);
/* Sends what is queued as one batch (no-op when empty). */
void es_live_kvev_flush(es_live_kvev_t *p);
void es_live_kvev_stats(const es_live_kvev_t *p, es_live_kvev_stats_t *out);
void es_live_kvev_destroy(es_live_kvev_t *p);

#endif /* ES_LIVE_KVEV_H */
