/*
 * kvlink.c -- transfers sharing the pods' NICs by max-min fairness
 * (kvlink.h).
 */
#include "es_kvlink.h"
#include "es_alloc.h"

#include <stdbool.h>
#include <stdlib.h>

typedef struct flow {
    uint32_t src, dst;
    double   left;          /* bytes still to move */
    double   rate;          /* Gbit/s while active */
    es_kvlink_done_fn fn;
    void    *ud;
    uint64_t arg, id;
    uint32_t next_free;     /* free list (slot + 1; 0 = end) */
    bool     active, frozen;
} flow_t;

struct es_kvlink {
    es_sim_t  *sim;
    uint32_t   nodes;
    double     gbps;
    es_time_t  latency;
    flow_t    *f;           /* slots; indices stay put */
    uint32_t   nf, free_head;
    uint32_t  *act;         /* active slots, in the order they became active */
    uint32_t   nact;
    double    *cap;         /* per link (tx 0..nodes-1, rx nodes..2 nodes-1): capacity left while filling */
    uint32_t  *cnt;         /* unfrozen flows on it */
    uint32_t  *touched;     /* links the active flows use */
    es_time_t  last;        /* when `left` was last brought up to date */
    es_event_id_t ev;       /* the next completion; 0 none */
    uint64_t   next_id;
};

static void ev_begin(es_sim_t *sim, void *target, uint64_t arg);
static void ev_complete(es_sim_t *sim, void *target, uint64_t arg);

int es_kvlink_create(es_sim_t *sim, uint32_t nodes, double gbps, es_time_t latency, es_kvlink_t **out,
                     es_err_t *err)
{
    es_kvlink_t *l = calloc(1, sizeof *l);
    if (!l) return es_err_set(err, ES_ENOMEM, "out of memory");
    l->sim = sim;
    l->nodes = nodes ? nodes : 1;
    l->gbps = gbps;
    l->latency = latency;
    l->cap = calloc(2 * (size_t)l->nodes, sizeof *l->cap);
    l->cnt = calloc(2 * (size_t)l->nodes, sizeof *l->cnt);
    l->touched = calloc(2 * (size_t)l->nodes, sizeof *l->touched);
    if (!l->cap || !l->cnt || !l->touched) {
        es_kvlink_destroy(l);
        return es_err_set(err, ES_ENOMEM, "out of memory");
    }
    *out = l;
    return 0;
}

void es_kvlink_destroy(es_kvlink_t *l)
{
    if (!l) return;
    free(l->f);
    free(l->act);
    free(l->cap);
    free(l->cnt);
    free(l->touched);
    free(l);
}

/* Time to move `bytes` at `gbps`: the expression a lone transfer always had. */
static es_time_t xfer_ns(double bytes, double gbps)
{
    return es_time_trunc_ns_f(bytes * 8.0 / (gbps * 1e9) * 1e9);   /* saturates: a model's KV can be huge */
}

/* Moves every active flow's bytes up to now. */
static void advance(es_kvlink_t *l)
{
    es_time_t now = es_sim_now(l->sim);
    double s = (double)(now - l->last) * 1e-9;
    l->last = now;
    if (s <= 0) return;
    for (uint32_t i = 0; i < l->nact; i++) {
        flow_t *f = &l->f[l->act[i]];
        f->left -= f->rate * 1e9 / 8.0 * s;
    }
}

/* Max-min fair rates by progressive filling: the link with the smallest
 * fair share fixes the rate of its unfixed flows, until all are fixed. */
static void share(es_kvlink_t *l)
{
    uint32_t nt = 0;
    for (uint32_t i = 0; i < l->nact; i++) {
        flow_t *f = &l->f[l->act[i]];
        uint32_t r[2] = {f->src, l->nodes + f->dst};
        for (int k = 0; k < 2; k++) {
            if (l->cnt[r[k]] == 0 && l->cap[r[k]] == 0) { l->touched[nt++] = r[k]; l->cap[r[k]] = l->gbps; }
            l->cnt[r[k]]++;
        }
        f->frozen = false;
    }
    for (uint32_t left = l->nact; left > 0;) {
        uint32_t best = UINT32_MAX;
        double bs = 0;
        for (uint32_t j = 0; j < nt; j++) {
            uint32_t r = l->touched[j];
            if (l->cnt[r] == 0) continue;
            double s = l->cap[r] / l->cnt[r];
            if (best == UINT32_MAX || s < bs) { best = r; bs = s; }
        }
        for (uint32_t i = 0; i < l->nact; i++) {
            flow_t *f = &l->f[l->act[i]];
            if (f->frozen || (f->src != best && l->nodes + f->dst != best)) continue;
            f->rate = bs;
            f->frozen = true;
            left--;
            uint32_t r[2] = {f->src, l->nodes + f->dst};
            for (int k = 0; k < 2; k++) { l->cap[r[k]] -= bs; l->cnt[r[k]]--; }
        }
    }
    for (uint32_t j = 0; j < nt; j++) { l->cap[l->touched[j]] = 0; l->cnt[l->touched[j]] = 0; }
}

/* Rates changed: the next completion is the earliest flow's. */
static void reschedule(es_kvlink_t *l)
{
    if (l->ev) { es_sim_cancel(l->sim, l->ev); l->ev = 0; }
    share(l);
    es_time_t dt = ES_TIME_NEVER;
    for (uint32_t i = 0; i < l->nact; i++) {
        const flow_t *f = &l->f[l->act[i]];
        es_time_t d = f->left > 0 ? xfer_ns(f->left, f->rate) : 0;
        if (d < dt) dt = d;
    }
    if (dt == ES_TIME_NEVER) return;
    l->ev = es_sim_schedule_in(l->sim, dt, ev_complete, l, 0);
    ES_ASSERT(l->ev != 0, "out of memory for an event");
}

uint64_t es_kvlink_send(es_kvlink_t *l, uint32_t src, uint32_t dst, double bytes, es_kvlink_done_fn fn, void *ud,
                        uint64_t arg)
{
    ES_ASSERT(src < l->nodes && dst < l->nodes && src != dst, "a transfer between two nodes of the network");
    uint32_t slot;
    if (l->free_head) {
        slot = l->free_head - 1;
        l->free_head = l->f[slot].next_free;
    } else {
        l->f = es_xrealloc(l->f, (l->nf + 1) * sizeof *l->f);   /* grows with the peak in flight */
        l->act = es_xrealloc(l->act, (l->nf + 1) * sizeof *l->act);
        slot = l->nf++;
    }
    l->f[slot] = (flow_t){src, dst, bytes, 0, fn, ud, arg, ++l->next_id, 0, false, false};
    es_event_id_t e = es_sim_schedule_in(l->sim, l->latency, ev_begin, l, slot);
    ES_ASSERT(e != 0, "out of memory for an event");
    return l->next_id;
}

/* A transfer's setup is over: it starts moving bytes. */
static void ev_begin(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim;
    es_kvlink_t *l = target;
    advance(l);
    l->f[arg].active = true;
    l->act[l->nact++] = (uint32_t)arg;
    reschedule(l);
}

/* The earliest flows have arrived (those within a nanosecond of it too). */
static void ev_complete(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    es_kvlink_t *l = target;
    l->ev = 0;
    advance(l);
    uint32_t done[64], nd = 0, keep = 0;
    for (uint32_t i = 0; i < l->nact; i++) {
        uint32_t slot = l->act[i];
        const flow_t *f = &l->f[slot];
        if (nd < 64 && (f->left <= 0 || xfer_ns(f->left, f->rate) < 1)) done[nd++] = slot;
        else l->act[keep++] = slot;
    }
    l->nact = keep;
    reschedule(l);
    for (uint32_t i = 0; i < nd; i++) {   /* the network is consistent: callbacks may send */
        flow_t f = l->f[done[i]];
        l->f[done[i]].active = false;
        l->f[done[i]].next_free = l->free_head;
        l->free_head = done[i] + 1;
        f.fn(f.ud, f.arg, f.id);
    }
}

uint32_t es_kvlink_active(const es_kvlink_t *l) { return l->nact; }

double es_kvlink_rate(const es_kvlink_t *l, uint64_t id)
{
    for (uint32_t i = 0; i < l->nact; i++)
        if (l->f[l->act[i]].id == id) return l->f[l->act[i]].rate;
    return 0;
}
