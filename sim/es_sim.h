/*
 * es_sim.h -- the discrete-event core.
 *
 * Models simulated time as int64 nanoseconds and a pending-event set ordered
 * by (time, insertion sequence): events at equal times run in the order they
 * were scheduled (FIFO), which, with the seeded streams of es_rng.h, makes a
 * run a pure function of its inputs and master seed.
 *
 * The pending set is an array-based 4-ary heap of 16-byte keys; event records
 * live in a pooled, chunked array with a free list, so scheduling never
 * mallocs once the pool has grown to the peak number of pending events.
 * Cancellation is lazy: a cancelled record stays in the heap and is skipped
 * (and recycled) when it reaches the top.
 *
 * No global state: several es_sim_t can run at once on different threads.
 * Depends on nothing of eppsim but the common value types.
 */
#ifndef ES_SIM_H
#define ES_SIM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"
#include "es_rng.h"
#include "es_time.h"

typedef struct es_sim es_sim_t;

/* An event handler: `target` and `arg` are what was given to es_sim_schedule. */
typedef void (*es_event_fn)(es_sim_t *sim, void *target, uint64_t arg);

/* Handle of a scheduled event; 0 is never a valid id. */
typedef uint64_t es_event_id_t;

es_sim_t *es_sim_create(uint64_t master_seed);
void es_sim_destroy(es_sim_t *sim);

/* Current simulated time (ns). */
es_time_t es_sim_now(const es_sim_t *sim);
uint64_t es_sim_master_seed(const es_sim_t *sim);
/* Events executed so far (cancelled ones excluded). */
uint64_t es_sim_events_run(const es_sim_t *sim);
/* Events scheduled and not yet run or cancelled. */
size_t es_sim_pending(const es_sim_t *sim);

/* Schedules fn(sim, target, arg) at absolute time `at` (>= now).  Returns
 * the event id (never 0); out of memory aborts (es_alloc.h), so callers need
 * not check.  Scheduling in the past is a programming error (assertion). */
es_event_id_t es_sim_schedule(es_sim_t *sim, es_time_t at, es_event_fn fn, void *target, uint64_t arg);
static inline es_event_id_t es_sim_schedule_in(es_sim_t *sim, es_time_t delay, es_event_fn fn,
                                               void *target, uint64_t arg)
{
    return es_sim_schedule(sim, es_sim_now(sim) + delay, fn, target, arg);
}
/* Cancels a pending event; returns ES_ENOTFOUND if it already ran or was
 * cancelled (a stale id is harmless). */
int es_sim_cancel(es_sim_t *sim, es_event_id_t id);

/* Runs events with time <= until (ES_TIME_NEVER: until empty) or until
 * es_sim_stop is called from a handler.  The clock ends at the last event run
 * (or at `until` when it is finite and the queue drained past it).  Returns
 * the number of events run. */
uint64_t es_sim_run(es_sim_t *sim, es_time_t until);
/* Asks es_sim_run to return after the current event. */
void es_sim_stop(es_sim_t *sim);
/* es_sim_run also returns (as if stopped) once *flag is set, looking every
 * 1024 events: a signal handler's flag stops a run within microseconds of
 * wall-clock time, however much simulated time a slice covers.  NULL: none. */
void es_sim_watch(es_sim_t *sim, volatile sig_atomic_t *flag);
/* Time of the earliest pending event, or ES_TIME_NEVER. */
es_time_t es_sim_next_time(es_sim_t *sim);

/* Derives a stream for (entity kind, entity id, purpose) from the master seed. */
void es_sim_stream(const es_sim_t *sim, es_rng_t *rng, uint64_t entity_kind, uint64_t entity_id,
                   uint64_t purpose);

/* Benchmark helper: hold operations (pop min, push one new event at
 * now + Exp(mean_ns), one random draw) with `pending` events; returns ns per
 * hold measured over `holds` operations. */
double es_sim_bench_hold(size_t pending, uint64_t holds, double mean_ns, uint64_t seed);

#endif /* ES_SIM_H */
