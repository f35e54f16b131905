/*
 * client_load.h -- a benchmark client's load loop, as inference-perf and
 * `vllm bench serve` run it: when each request is sent.
 *
 * What it models (docs/workloads.md, "Benchmark clients"):
 *  - Stages run one after another.  A stage's send times are fixed when it
 *    starts (its timer), offset by `lead_s` (inference-perf schedules the
 *    first request one second after the stage begins).  A stage ends when
 *    every request it sent has ended (it drains); the next starts
 *    `interval_s` later.
 *  - Timers: constant (floor(rate x duration) exponential gaps rescaled to
 *    fill the stage exactly), poisson (a Poisson count per second, each
 *    second filled by a constant timer), gamma (vllm bench: gaps with shape
 *    `burstiness`, mean 1/rate; rate 0 = all at once) and given times (a trace).
 *  - A cap on requests in flight (worker slots): requests are taken in
 *    order; one waits for a free slot, then goes at max(its time, the
 *    freeing completion).
 *  - Users (multi-turn chat, conversations): request k of a stage belongs
 *    to user k mod users, and waits (holding its slot) for that user's
 *    previous request to end.
 *
 * Invariants: send times handed out never decrease when `now` does not;
 * every request handed out must be completed exactly once (on_complete).
 * Randomness: stream (seed, ES_WL_ENTITY_STAGE, stage, ES_STREAM_ARRIVALS).
 * Units: es_time_t ns; rates in req/s, durations in s.
 */
#ifndef ES_CLIENT_LOAD_H
#define ES_CLIENT_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "es_err.h"
#include "es_time.h"

enum { ESI_TIMER_CONSTANT = 0, ESI_TIMER_POISSON = 1, ESI_TIMER_GAMMA = 2, ESI_TIMER_TIMES = 3 };

typedef struct esi_cl_stage {
    int       timer;        /* ESI_TIMER_* */
    double    rate;         /* req/s; gamma: 0 = all at once */
    double    duration;     /* s (constant, poisson) */
    uint64_t  n;            /* requests; 0 = floor(rate x duration) (constant, poisson) */
    uint64_t  cap;          /* requests in flight at most; 0 = no cap */
    double    burstiness;   /* gamma shape (1 = Poisson) */
} esi_cl_stage_t;

typedef struct esi_cl_config {
    const esi_cl_stage_t *stages;
    size_t     nstages;
    double     lead_s;      /* first send time offset within a stage */
    double     interval_s;  /* pause between a stage's drain and the next stage */
    const double *times;    /* ESI_TIMER_TIMES: send offsets in s, nondecreasing */
    size_t     ntimes;
    uint64_t   users;       /* turn order per user; 0 = none */
    uint64_t   seed;
} esi_cl_config_t;

typedef struct esi_cl_item {
    es_time_t t;            /* send time */
    es_time_t scheduled;    /* the timer's time (before cap and turn waits) */
    uint32_t  stage;
    uint64_t  k;            /* index within the stage */
    uint64_t  user;         /* k mod users (0 when no users) */
} esi_cl_item_t;

typedef struct esi_cl esi_cl_t;

int  esi_cl_create(const esi_cl_config_t *cfg, esi_cl_t **out, es_err_t *err);
void esi_cl_destroy(esi_cl_t *l);
/* The next request due by `now`: 1 (and *out), 0 none due yet (see
 * next_time; a drain or a turn may be pending), -1 all stages done. */
int  esi_cl_next(esi_cl_t *l, es_time_t now, esi_cl_item_t *out);
/* Time of the next send known now; ES_TIME_NEVER when waiting on
 * completions or done. */
es_time_t esi_cl_next_time(const esi_cl_t *l);
/* A request handed out ended at t. */
void esi_cl_on_complete(esi_cl_t *l, const esi_cl_item_t *it, es_time_t t);
/* Stages as they ran: start (when the stage began), end (drained; 
 * ES_TIME_NEVER while running or not reached). */
size_t esi_cl_stage_count(const esi_cl_t *l);
void   esi_cl_stage_times(const esi_cl_t *l, size_t i, es_time_t *start, es_time_t *end);
/* Requests in stage i (known once it started; else its planned count or 0). */
uint64_t esi_cl_stage_requests(const esi_cl_t *l, size_t i);

#endif /* ES_CLIENT_LOAD_H */
