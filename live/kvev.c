/*
 * kvev.c -- KV events of an emulated pod on ZMQ, msgpack-encoded as vLLM
 * publishes them (es_live_kvev.h has the layout and its sources).
 */
#include "es_live_kvev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <zmq.h>

#include "es_rng.h"

struct es_live_kvev {
    void          *sock;
    char           endpoint[128];
    char           topic[256];
    size_t         topic_len;
    uint32_t       block_size;
    uint64_t       seq;
    es_live_kv_event_t q[ES_LIVE_KVEV_MAX_EVENTS];
    uint32_t       nq;
    double         q_ts;
    es_live_buf_t  payload;      /* reused for every batch */
    es_live_kvev_stats_t st;
};

uint32_t es_live_kvev_token_id(uint64_t block_hash, uint32_t j)
{
    return (uint32_t)(es_mix64(block_hash ^ ((uint64_t)(j + 1) * ES_HASH_WEYL)) % 100000u);
}

static int buf_write(void *data, const char *s, size_t n)
{
    es_live_buf_t *b = data;
    es_live_buf_append(b, s, n);
    return b->oom ? -1 : 0;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* BlockStored of ev[0..n), a chain (ev[i].parent == ev[i-1].ev.block_hash). */
static void pack_stored(msgpack_packer *pk, const es_live_kv_event_t *ev, uint32_t n, uint32_t bs)
{
    msgpack_pack_array(pk, 7);
    pack_str(pk, "BlockStored");
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++) msgpack_pack_uint64(pk, ev[i].ev.block_hash);
    if (ev[0].parent) msgpack_pack_uint64(pk, ev[0].parent);
    else msgpack_pack_nil(pk);
    msgpack_pack_array(pk, (size_t)n * bs);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < bs; j++) msgpack_pack_uint32(pk, es_live_kvev_token_id(ev[i].ev.block_hash, j));
    msgpack_pack_uint32(pk, bs);
    msgpack_pack_nil(pk);          /* lora_id: LoRA is folded into the hash chain's root */
    pack_str(pk, "GPU");           /* medium */
}

/* ev[i] continues the chain of ev[i-1]: one BlockStored holds both. */
static bool chained(const es_live_kv_event_t *ev, uint32_t i)
{
    return i > 0 && ev[i].ev.kind == ES_KV_BLOCK_STORED && ev[i - 1].ev.kind == ES_KV_BLOCK_STORED &&
           ev[i].parent == ev[i - 1].ev.block_hash;
}

void es_live_kvev_encode(es_live_buf_t *b, const es_live_kv_event_t *ev, uint32_t n, double ts,
                         uint32_t block_size)
{
    uint32_t nev = 0;   /* counted first: a chain of stores is one BlockStored */
    for (uint32_t i = 0; i < n; i++) nev += !chained(ev, i);
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, buf_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_double(&pk, ts);
    msgpack_pack_array(&pk, nev);
    for (uint32_t i = 0; i < n;) {
        switch (ev[i].ev.kind) {
        case ES_KV_BLOCK_STORED: {
            uint32_t k = 1;
            while (i + k < n && chained(ev, i + k)) k++;
            pack_stored(&pk, &ev[i], k, block_size);
            i += k;
            break;
        }
        case ES_KV_BLOCK_REMOVED:
            msgpack_pack_array(&pk, 3);
            pack_str(&pk, "BlockRemoved");
            msgpack_pack_array(&pk, 1);
            msgpack_pack_uint64(&pk, ev[i].ev.block_hash);
            pack_str(&pk, "GPU");
            i++;
            break;
        default:
            msgpack_pack_array(&pk, 1);
            pack_str(&pk, "AllBlocksCleared");
            i++;
            break;
        }
    }
    msgpack_pack_int(&pk, 0);   /* data_parallel_rank */
}

int es_live_kvev_create(void *zctx, const char *endpoint, const char *topic, uint32_t block_size,
                        es_live_kvev_t **out, es_err_t *err)
{
    *out = NULL;
    es_live_kvev_t *p = calloc(1, sizeof *p);
    if (!p) return es_err_set(err, ES_ENOMEM, "out of memory");
    p->block_size = block_size;
    p->topic_len = (size_t)snprintf(p->topic, sizeof p->topic, "%s", topic);
    if (p->topic_len >= sizeof p->topic) p->topic_len = sizeof p->topic - 1;
    p->sock = zmq_socket(zctx, ZMQ_PUB);
    int hwm = (int)ES_LIVE_KVEV_HWM, linger = 0, ipv6 = strchr(endpoint, '[') != NULL;
    if (!p->sock || zmq_setsockopt(p->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(p->sock, ZMQ_IPV6, &ipv6, sizeof ipv6) != 0 ||
        zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 || zmq_bind(p->sock, endpoint) != 0) {
        int e = zmq_errno();
        es_live_kvev_destroy(p);
        return es_err_set(err, ES_EIO, "--kv-events: %s: %s", endpoint, zmq_strerror(e));
    }
    size_t len = sizeof p->endpoint;
    if (zmq_getsockopt(p->sock, ZMQ_LAST_ENDPOINT, p->endpoint, &len) != 0)
        snprintf(p->endpoint, sizeof p->endpoint, "%s", endpoint);
    *out = p;
    return 0;
}

const char *es_live_kvev_endpoint(const es_live_kvev_t *p) { return p->endpoint; }

void es_live_kvev_flush(es_live_kvev_t *p)
{
    if (p->nq == 0) return;
    p->payload.len = 0;
    p->payload.oom = false;
    es_live_kvev_encode(&p->payload, p->q, p->nq, p->q_ts, p->block_size);
    p->st.events += p->nq;
    p->nq = 0;
    unsigned char seq[8];
    for (int i = 0; i < 8; i++) seq[i] = (unsigned char)(p->seq >> (56 - 8 * i));
    p->seq++;   /* a dropped batch leaves a gap in the sequence, as a subscriber can detect */
    if (p->payload.oom || zmq_send(p->sock, p->topic, p->topic_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(p->sock, seq, sizeof seq, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(p->sock, p->payload.data, p->payload.len, ZMQ_DONTWAIT) < 0) {
        p->st.dropped++;
        return;
    }
    p->st.batches++;
}

void es_live_kvev_add(es_live_kvev_t *p, const es_live_kv_event_t *ev, double ts)
{
    if (p->nq > 0 && (p->q[0].ev.time != ev->ev.time || p->nq == ES_LIVE_KVEV_MAX_EVENTS)) es_live_kvev_flush(p);
    if (p->nq == 0) p->q_ts = ts;
    p->q[p->nq++] = *ev;
}

void es_live_kvev_stats(const es_live_kvev_t *p, es_live_kvev_stats_t *out) { *out = p->st; }

void es_live_kvev_destroy(es_live_kvev_t *p)
{
    if (!p) return;
    if (p->sock) zmq_close(p->sock);
    es_live_buf_free(&p->payload);
    free(p);
}
