/* Test harness for the server model: a sim, one server, recording hooks. */
#ifndef ES_TEST_SERVER_HARNESS_H
#define ES_TEST_SERVER_HARNESS_H

#include <string.h>

#include "es_server.h"

typedef struct rec {
    es_server_request_t r;       /* first: a request pointer is a rec pointer */
    es_segment_t        seg[2];
    int                 nfinish, nfirst;
} rec_t;

typedef struct harness {
    es_sim_t           *sim;
    es_server_t        *srv;
    es_server_config_t  cfg;
    uint64_t            gap_count;
    uint64_t            measured_gap_count;   /* of requests with `measured` set */
    es_time_t           first_gap;     /* the first pooled gap reported */
    uint64_t            finished, kv_stored, kv_removed, kv_cleared;
    uint64_t            last_removed;
    /* optional: submit `chain` when `chain_after` first tokens were seen */
    rec_t              *chain;
    uint64_t            chain_after, firsts;
} harness_t;

static inline void h_first(void *ud, es_server_request_t *r, es_time_t t)
{
    harness_t *h = ud;
    (void)t;
    ((rec_t *)r)->nfirst++;
    if (h->chain && ++h->firsts == h->chain_after) es_server_submit(h->srv, &h->chain->r);
}

static inline void h_finish(void *ud, es_server_request_t *r, es_time_t t)
{
    harness_t *h = ud;
    (void)t;
    ((rec_t *)r)->nfinish++;
    h->finished++;
}

static inline void h_gaps(void *ud, es_time_t t, es_time_t gap, uint32_t n, uint32_t measured)
{
    harness_t *h = ud;
    (void)t;
    if (h->gap_count == 0) h->first_gap = gap;
    h->gap_count += n;
    h->measured_gap_count += measured;
}

static inline void h_kv(void *ud, const es_kv_event_t *ev)
{
    harness_t *h = ud;
    if (ev->kind == ES_KV_BLOCK_STORED) h->kv_stored++;
    if (ev->kind == ES_KV_BLOCK_REMOVED) { h->kv_removed++; h->last_removed = ev->block_hash; }
    if (ev->kind == ES_KV_ALL_CLEARED) h->kv_cleared++;
}

/* Defaults with the per-step overhead off (fidelity against the profiles). */
static inline void h_config(harness_t *h, const char *gpu)
{
    memset(h, 0, sizeof *h);
    es_err_t err;
    es_schema_defaults(&es_server_schema, &h->cfg, &err);
    free(h->cfg.gpu);
    h->cfg.gpu = strdup(gpu);
    h->cfg.cpu_overhead_us = 0;
}

static inline int h_start(harness_t *h)
{
    es_err_t err;
    es_err_clear(&err);
    h->sim = es_sim_create(1);
    es_server_hooks_t hooks = {h, h_first, h_finish, h_gaps, h_kv, NULL, NULL};
    int rc = es_server_create(h->sim, &h->cfg, &hooks, 0, &h->srv, &err);
    if (rc != 0) fprintf(stderr, "server create: %s\n", err.msg);
    return rc;
}

static inline void h_stop(harness_t *h)
{
    es_server_destroy(h->srv);
    es_sim_destroy(h->sim);
    es_schema_fini(&es_server_schema, &h->cfg);
}

/* A request of `prompt` tokens of fresh content `id` (or shared, if equal ids). */
static inline void rec_init(rec_t *q, uint64_t id, uint32_t prompt, uint32_t out)
{
    memset(q, 0, sizeof *q);
    q->seg[0].id = id;
    q->seg[0].len = prompt;
    q->r.id = id;
    q->r.prompt.segs = q->seg;
    q->r.prompt.nsegs = 1;
    q->r.prompt.tokens = prompt;
    q->r.output_tokens = out;
    q->r.output_segment = id ^ 0xabcdef;
}

#endif
