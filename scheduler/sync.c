/*
 * sync.c -- the shared store of a CrossReplicaSyncer (es_sched_sync_t):
 * per replica and endpoint id, the in-flight requests and tokens it last
 * published, and their sums over replicas (the InFlightLoad aggregate of
 * inflightload/producer.go CrossReplicaState: Requests and Tokens added).
 * A deleted entry (pod removed) leaves the sum until published again.
 */
#include <stdlib.h>

#include "internal.h"

struct es_sched_sync {
    uint32_t replicas, cap;       /* cap: endpoint ids */
    int64_t *req, *tok;           /* [replica * cap + id] last published */
    uint8_t *set;                 /* [replica * cap + id] published, not deleted */
    int64_t *sum_req, *sum_tok;   /* [id] over the replicas with set */
};

int es_sched_sync_create(uint32_t replicas, uint32_t max_endpoints, es_sched_sync_t **out, es_err_t *err)
{
    *out = NULL;
    if (replicas == 0 || max_endpoints == 0) return es_err_set(err, ES_EINVAL, "sync store: no replicas or endpoints");
    es_sched_sync_t *st = calloc(1, sizeof *st);
    size_t n = (size_t)replicas * max_endpoints;
    if (st) {
        st->replicas = replicas;
        st->cap = max_endpoints;
        st->req = calloc(n, sizeof *st->req);
        st->tok = calloc(n, sizeof *st->tok);
        st->set = calloc(n, 1);
        st->sum_req = calloc(max_endpoints, sizeof *st->sum_req);
        st->sum_tok = calloc(max_endpoints, sizeof *st->sum_tok);
    }
    if (!st || !st->req || !st->tok || !st->set || !st->sum_req || !st->sum_tok) {
        es_sched_sync_destroy(st);
        return es_err_set(err, ES_ENOMEM, "out of memory");
    }
    *out = st;
    return 0;
}

void es_sched_sync_destroy(es_sched_sync_t *st)
{
    if (!st) return;
    free(st->req); free(st->tok); free(st->set); free(st->sum_req); free(st->sum_tok);
    free(st);
}

void es_sched_sync_get(const es_sched_sync_t *st, uint32_t id, int64_t *requests, int64_t *tokens)
{
    *requests = id < st->cap ? st->sum_req[id] : 0;
    *tokens = id < st->cap ? st->sum_tok[id] : 0;
}

void esi_sync_put(es_sched_sync_t *st, uint32_t r, uint32_t id, bool set_it, int64_t requests, int64_t tokens)
{
    if (id >= st->cap || r >= st->replicas) return;
    size_t k = (size_t)r * st->cap + id;
    if (st->set[k]) { st->sum_req[id] -= st->req[k]; st->sum_tok[id] -= st->tok[k]; }
    st->set[k] = set_it;
    st->req[k] = set_it ? requests : 0;
    st->tok[k] = set_it ? tokens : 0;
    st->sum_req[id] += st->req[k];
    st->sum_tok[id] += st->tok[k];
}

uint32_t es_sched_sync_period_ticks(es_time_t interval, es_time_t base)
{
    ES_ASSERT(base > 0, "periodTicks: base tick must be positive");
    if (interval <= 0) return 1;
    double ticks = (double)interval / (double)base;
    return ticks < 1.5 ? 1u : ticks >= 4e9 ? UINT32_MAX : (uint32_t)(ticks + 0.5);
}

void es_sched_sync_set(es_sched_sync_t *st, uint32_t replica, uint32_t id, int64_t requests, int64_t tokens)
{
    esi_sync_put(st, replica, id, true, requests, tokens);
}
