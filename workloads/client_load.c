/*
 * client_load.c -- a benchmark client's load loop (client_load.h).
 *
 * Upstream (kubernetes-sigs/inference-perf, commit 7de5ef2, and 3b6f82a for
 * the 2025-10 build; the two agree on everything here):
 *  - loadgen/load_timer.py ConstantLoadTimer: int(rate * duration) draws of
 *    exponential(1 / rate), rescaled to sum to the duration, accumulated
 *    from the start time; PoissonLoadTimer: poisson(rate) requests per
 *    second, each second filled by a ConstantLoadTimer of that count;
 *  - loadgen/load_generator.py run_stage: start = now + 1 s, the stage waits
 *    until every request finished, then mp_run sleeps `interval`; a worker
 *    takes a semaphore slot (worker_max_concurrency) before it takes the
 *    next request from the queue and holds it until the request ends.
 * vLLM (benchmarks/serve.py get_request): gamma gaps with shape burstiness
 * and scale 1 / (rate x burstiness), the first request at once.
 */
#include "client_load.h"

#include <gsl/gsl_randist.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "es_gsl.h"
#include "es_workload.h"

struct esi_cl {
    esi_cl_config_t cfg;
    esi_cl_stage_t *stages;
    double   *times;              /* copy of cfg.times */
    es_time_t *start, *end;       /* per stage, as run */
    uint64_t *count;              /* requests per stage, once started */
    size_t    cur;                /* current stage; == nstages when done */
    bool      running;            /* the current stage has started */
    es_time_t next_start;         /* when the current stage starts */
    double   *sched;              /* this stage's send offsets (s, from start + lead) */
    uint64_t  n, idx;             /* requests of the stage, next to take */
    uint64_t  out;                /* taken, not ended (this stage) */
    uint64_t  inflight;           /* slot holders */
    es_time_t free_t;             /* the completion that last freed a full cap */
    /* users */
    uint8_t  *busy;               /* per user: a request is at the server */
    uint64_t *whead, *wtail;      /* per user: waiting requests (k + 1; 0 none) */
    uint64_t *wnext;              /* per request of the stage: next waiting k + 1 */
    uint64_t *ready_k;            /* ready queue (ring): k */
    es_time_t *ready_t;
    size_t    rcap, rhead, rlen;
};

static es_time_t at(const esi_cl_t *l, double off)
{
    return l->start[l->cur] + es_time_from_s(l->cfg.lead_s + off);
}

/* Send offsets of stage i (inference-perf's timers, vLLM's gamma gaps). */
static int plan_stage(esi_cl_t *l, size_t i)
{
    const esi_cl_stage_t *st = &l->stages[i];
    uint64_t n = st->n;
    if (n == 0 && (st->timer == ESI_TIMER_CONSTANT || st->timer == ESI_TIMER_POISSON))
        n = (uint64_t)(st->rate * st->duration);   /* Python's int(): truncation */
    if (st->timer == ESI_TIMER_TIMES && (n == 0 || n > l->cfg.ntimes)) n = l->cfg.ntimes;
    free(l->sched);
    l->sched = NULL;
    if (n && !(l->sched = malloc(n * sizeof *l->sched))) return ES_ENOMEM;
    es_rng_t rng;
    es_rng_stream(&rng, l->cfg.seed, ES_WL_ENTITY_STAGE, i, ES_STREAM_ARRIVALS);
    double *s = l->sched;
    switch (st->timer) {
    case ESI_TIMER_CONSTANT: {
        double sum = 0;
        for (uint64_t k = 0; k < n; k++) { s[k] = es_rng_exp(&rng, 1.0 / st->rate); sum += s[k]; }
        double scale = sum > 0 ? st->duration / sum : 0, t = 0;
        for (uint64_t k = 0; k < n; k++) { t += s[k] * scale; s[k] = t; }
        break;
    }
    case ESI_TIMER_POISSON: {
        gsl_rng *g = es_gsl_rng_new(&rng);
        if (!g) return ES_ENOMEM;
        double sec = 0;
        uint64_t k = 0;
        while (k < n) {
            uint64_t c = gsl_ran_poisson(g, st->rate);
            if (c < 1) { sec += 1; continue; }
            double sum = 0, *e = &s[k];
            uint64_t take = c < n - k ? c : n - k;
            /* the second's c gaps are drawn in full, so a cut-off second spaces like upstream */
            for (uint64_t j = 0; j < c; j++) {
                double x = es_rng_exp(es_gsl_rng_state(g), 1.0 / (double)c);
                if (j < take) e[j] = x;
                sum += x;
            }
            double t = 0;
            for (uint64_t j = 0; j < take; j++) { t += e[j] / sum; e[j] = sec + t; }
            k += take;
            sec += 1;
        }
        gsl_rng_free(g);
        break;
    }
    case ESI_TIMER_GAMMA: {
        gsl_rng *g = es_gsl_rng_new(&rng);
        if (!g) return ES_ENOMEM;
        double t = 0, shape = st->burstiness > 0 ? st->burstiness : 1;
        for (uint64_t k = 0; k < n; k++) {
            s[k] = t;
            if (st->rate > 0) t += gsl_ran_gamma(g, shape, 1.0 / (st->rate * shape));
        }
        gsl_rng_free(g);
        break;
    }
    default:
        for (uint64_t k = 0; k < n; k++) s[k] = l->times[k] - l->times[0];
        break;
    }
    if (l->cfg.users && n) {
        free(l->wnext);
        if (!(l->wnext = calloc(n, sizeof *l->wnext))) return ES_ENOMEM;
    }
    l->n = n;
    l->idx = 0;
    l->count[i] = n;
    return 0;
}

int esi_cl_create(const esi_cl_config_t *cfg, esi_cl_t **out, es_err_t *err)
{
    *out = NULL;
    esi_cl_t *l = calloc(1, sizeof *l);
    if (!l) return es_err_set(err, ES_ENOMEM, "out of memory");
    l->cfg = *cfg;
    size_t ns = cfg->nstages;
    l->stages = calloc(ns ? ns : 1, sizeof *l->stages);
    l->start = calloc(ns ? ns : 1, sizeof *l->start);
    l->end = calloc(ns ? ns : 1, sizeof *l->end);
    l->count = calloc(ns ? ns : 1, sizeof *l->count);
    if (!l->stages || !l->start || !l->end || !l->count) goto oom;
    if (ns) memcpy(l->stages, cfg->stages, ns * sizeof *l->stages);
    for (size_t i = 0; i < ns; i++) { l->start[i] = l->end[i] = ES_TIME_NEVER; }
    if (cfg->ntimes) {
        if (!(l->times = malloc(cfg->ntimes * sizeof *l->times))) goto oom;
        memcpy(l->times, cfg->times, cfg->ntimes * sizeof *l->times);
    }
    if (cfg->users) {
        l->busy = calloc(cfg->users, 1);
        l->whead = calloc(cfg->users, sizeof *l->whead);
        l->wtail = calloc(cfg->users, sizeof *l->wtail);
        if (!l->busy || !l->whead || !l->wtail) goto oom;
    }
    l->cfg.stages = NULL;
    l->cfg.times = NULL;
    l->next_start = 0;
    l->cur = 0;
    *out = l;
    return 0;
oom:
    esi_cl_destroy(l);
    return es_err_set(err, ES_ENOMEM, "out of memory");
}

void esi_cl_destroy(esi_cl_t *l)
{
    if (!l) return;
    free(l->stages); free(l->times); free(l->start); free(l->end); free(l->count); free(l->sched);
    free(l->busy); free(l->whead); free(l->wtail); free(l->wnext); free(l->ready_k); free(l->ready_t);
    free(l);
}

static bool done(const esi_cl_t *l) { return l->cur >= l->cfg.nstages; }

/* The current stage drained at t: the next one starts interval_s later. */
static void end_stage(esi_cl_t *l, es_time_t t)
{
    l->end[l->cur] = t;
    l->running = false;
    l->cur++;
    l->next_start = t + es_time_from_s(l->cfg.interval_s);
}

static int ready_push(esi_cl_t *l, uint64_t k, es_time_t t)
{
    if (l->rlen == l->rcap) {
        size_t c = l->rcap ? l->rcap * 2 : 16;
        uint64_t *nk = malloc(c * sizeof *nk);
        es_time_t *nt = malloc(c * sizeof *nt);
        if (!nk || !nt) { free(nk); free(nt); return ES_ENOMEM; }
        for (size_t i = 0; i < l->rlen; i++) {
            nk[i] = l->ready_k[(l->rhead + i) % l->rcap];
            nt[i] = l->ready_t[(l->rhead + i) % l->rcap];
        }
        free(l->ready_k); free(l->ready_t);
        l->ready_k = nk; l->ready_t = nt; l->rcap = c; l->rhead = 0;
    }
    size_t i = (l->rhead + l->rlen++) % l->rcap;
    l->ready_k[i] = k;
    l->ready_t[i] = t;
    return 0;
}

static void fill(const esi_cl_t *l, uint64_t k, es_time_t t, esi_cl_item_t *out)
{
    out->t = t;
    out->scheduled = at(l, l->sched[k]);
    out->stage = (uint32_t)l->cur;
    out->k = k;
    out->user = l->cfg.users ? k % l->cfg.users : 0;
}

int esi_cl_next(esi_cl_t *l, es_time_t now, esi_cl_item_t *out)
{
    for (;;) {
        if (done(l)) return -1;
        if (!l->running) {
            if (now < l->next_start) return 0;
            l->start[l->cur] = l->next_start;
            if (plan_stage(l, l->cur) < 0) return -2;
            l->running = true;
            l->out = 0;
            for (uint64_t u = 0; u < l->cfg.users; u++) l->busy[u] = 0, l->whead[u] = l->wtail[u] = 0;
        }
        if (l->rlen && l->ready_t[l->rhead] <= now) {
            uint64_t k = l->ready_k[l->rhead];
            es_time_t t = l->ready_t[l->rhead];
            l->rhead = (l->rhead + 1) % l->rcap;
            l->rlen--;
            fill(l, k, t, out);
            return 1;
        }
        while (l->idx < l->n) {
            es_time_t t = at(l, l->sched[l->idx]);
            if (t > now) return 0;
            uint64_t cap = l->stages[l->cur].cap;
            if (cap && l->inflight >= cap) return 0;
            uint64_t k = l->idx++;
            l->inflight++;
            l->out++;
            if (l->free_t > t) t = l->free_t;
            if (l->cfg.users) {
                uint64_t u = k % l->cfg.users;
                if (l->busy[u]) {   /* holds its slot until the user's turn */
                    if (l->wtail[u]) l->wnext[l->wtail[u] - 1] = k + 1;
                    else l->whead[u] = k + 1;
                    l->wtail[u] = k + 1;
                    l->wnext[k] = 0;
                    continue;
                }
                l->busy[u] = 1;
            }
            fill(l, k, t, out);
            return 1;
        }
        if (l->out > 0) return 0;
        end_stage(l, l->start[l->cur]);   /* an empty stage ends where it starts */
    }
}

es_time_t esi_cl_next_time(const esi_cl_t *l)
{
    if (done(l)) return ES_TIME_NEVER;
    if (!l->running) return l->next_start;
    es_time_t t = ES_TIME_NEVER;
    if (l->rlen) t = l->ready_t[l->rhead];
    uint64_t cap = l->stages[l->cur].cap;
    if (l->idx < l->n && (!cap || l->inflight < cap)) {
        es_time_t s = at(l, l->sched[l->idx]);
        if (s < t) t = s;
    }
    if (l->idx >= l->n && l->out == 0 && t == ES_TIME_NEVER) t = l->start[l->cur];
    return t;
}

void esi_cl_on_complete(esi_cl_t *l, const esi_cl_item_t *it, es_time_t t)
{
    ES_ASSERT(l->running && it->stage == l->cur && l->out > 0, "completion outside the running stage");
    uint64_t cap = l->stages[l->cur].cap;
    if (cap && l->inflight >= cap) l->free_t = t;
    l->inflight--;
    l->out--;
    if (l->cfg.users) {
        uint64_t u = it->user;
        l->busy[u] = 0;
        if (l->whead[u]) {
            uint64_t k = l->whead[u] - 1;
            l->whead[u] = l->wnext[k];
            if (!l->whead[u]) l->wtail[u] = 0;
            l->busy[u] = 1;
            if (ready_push(l, k, t) < 0) { l->busy[u] = 0; }
        }
    }
    if (l->idx >= l->n && l->out == 0) end_stage(l, t);
}

size_t esi_cl_stage_count(const esi_cl_t *l) { return l->cfg.nstages; }

void esi_cl_stage_times(const esi_cl_t *l, size_t i, es_time_t *start, es_time_t *end)
{
    ES_ASSERT(i < l->cfg.nstages, "stage index out of range");
    if (start) *start = l->start[i];
    if (end) *end = l->end[i];
}

uint64_t esi_cl_stage_requests(const esi_cl_t *l, size_t i)
{
    ES_ASSERT(i < l->cfg.nstages, "stage index out of range");
    return l->count[i];
}
