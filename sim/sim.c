/*
 * sim.c -- pending-event set (4-ary heap), event pool and run loop.
 *
 * Heap entries are {time, seq << 24 | slot}: 16 bytes, four children per
 * 64-byte line.  `seq` (40 bits, ~1.1e12 events) breaks ties FIFO; `slot`
 * (24 bits, 16.7M pending events) indexes the record pool.  Records carry a
 * generation so that a stale es_event_id_t never cancels a reused slot.
 */
#include "es_sim.h"
#include "es_alloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOT_BITS 24
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define MAX_SLOTS (1u << SLOT_BITS)
#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)

/* (time + 2^63) << 64 | seq << SLOT_BITS | slot: one unsigned compare
 * orders by time, then FIFO. */
__extension__ typedef unsigned __int128 heap_key_t;
#define KEY_MAKE(t, seqslot) (((heap_key_t)((uint64_t)(t) ^ (1ULL << 63)) << 64) | (seqslot))
#define KEY_TIME(k) ((es_time_t)((uint64_t)((k) >> 64) ^ (1ULL << 63)))
#define KEY_SLOT(k) ((uint32_t)((uint64_t)(k) & SLOT_MASK))

typedef struct event_rec {
    es_event_fn fn;
    void       *target;
    uint64_t    arg;
    uint32_t    gen;         /* bumped on every reuse of the slot */
    uint32_t    next_free;   /* free-list link (slot + 1; 0 = end) */
    bool        cancelled;
} event_rec_t;

struct es_sim {
    es_time_t     now;
    uint64_t      seed;
    uint64_t      seq;
    uint64_t      events_run;
    size_t        live;        /* scheduled, not run, not cancelled */
    bool          stop;
    volatile sig_atomic_t *watch; /* es_sim_watch: stop when set */
    bool          top_running; /* heap[0] is the event being run; the next
                                  schedule replaces it (fused pop + push) */
    heap_key_t   *heap;        /* heap[0] is the earliest */
    size_t        hn, hcap;
    event_rec_t **chunks;      /* pool: chunks of CHUNK_SIZE records */
    size_t        nchunks;
    uint32_t      nslots;      /* slots handed out so far */
    uint32_t      free_head;   /* slot + 1 of the first free record, 0 = none */
};


static inline event_rec_t *rec(es_sim_t *s, uint32_t slot)
{
    return &s->chunks[slot >> CHUNK_BITS][slot & (CHUNK_SIZE - 1)];
}

es_sim_t *es_sim_create(uint64_t master_seed)
{
    es_sim_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->seed = master_seed;
    return s;
}

void es_sim_destroy(es_sim_t *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nchunks; i++) free(s->chunks[i]);
    free(s->chunks);
    free(s->heap);
    free(s);
}

es_time_t es_sim_now(const es_sim_t *s) { return s->now; }
uint64_t es_sim_master_seed(const es_sim_t *s) { return s->seed; }
uint64_t es_sim_events_run(const es_sim_t *s) { return s->events_run; }
size_t es_sim_pending(const es_sim_t *s) { return s->live; }

void es_sim_stream(const es_sim_t *s, es_rng_t *rng, uint64_t kind, uint64_t id, uint64_t purpose)
{
    es_rng_stream(rng, s->seed, kind, id, purpose);
}

static void alloc_slot(es_sim_t *s, uint32_t *slot)
{
    if (s->free_head) {
        *slot = s->free_head - 1;
        s->free_head = rec(s, *slot)->next_free;
        return;
    }
    if (s->nslots >= MAX_SLOTS) es_oom(sizeof(event_rec_t));   /* slot ids are 32-bit */
    if ((s->nslots >> CHUNK_BITS) >= s->nchunks) {
        event_rec_t **c = es_xrealloc(s->chunks, (s->nchunks + 1) * sizeof *c);
        s->chunks = c;
        c[s->nchunks] = es_xcalloc(CHUNK_SIZE, sizeof(event_rec_t));
        s->nchunks++;
    }
    *slot = s->nslots++;
}

static inline void free_slot(es_sim_t *s, uint32_t slot)
{
    event_rec_t *r = rec(s, slot);
    r->gen++;
    r->next_free = s->free_head;
    s->free_head = slot + 1;
}

static inline void sift_up(heap_key_t *h, size_t i, heap_key_t k)
{
    while (i > 0) {
        size_t p = (i - 1) >> 2;
        if (!(k < h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = k;
}

/* Places k at the root's hole and sifts it down (fused replace-top). */
static inline void sift_down(heap_key_t *h, size_t n, size_t i, heap_key_t k)
{
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= n) break;
        size_t end = c + 4 < n ? c + 4 : n;
        size_t m = c;
        for (size_t j = c + 1; j < end; j++)
            m = h[j] < h[m] ? j : m;
        if (!(h[m] < k)) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = k;
}

es_event_id_t es_sim_schedule(es_sim_t *s, es_time_t at, es_event_fn fn, void *target, uint64_t arg)
{
    ES_ASSERT(at >= s->now, "event scheduled in the past");
    ES_ASSERT(fn != NULL, "event without a handler");
    if (s->hn == s->hcap) {
        size_t cap = s->hcap ? s->hcap * 2 : 256;
        s->heap = es_xrealloc(s->heap, cap * sizeof *s->heap);
        s->hcap = cap;
    }
    uint32_t slot;
    alloc_slot(s, &slot);
    event_rec_t *r = rec(s, slot);
    r->fn = fn; r->target = target; r->arg = arg; r->cancelled = false;
    heap_key_t k = KEY_MAKE(at, (s->seq++ << SLOT_BITS) | slot);
    if (s->top_running) {
        s->top_running = false;
        sift_down(s->heap, s->hn, 0, k);
    } else {
        sift_up(s->heap, s->hn++, k);
    }
    s->live++;
    return ((uint64_t)r->gen << 32 | slot) + 1;
}

int es_sim_cancel(es_sim_t *s, es_event_id_t id)
{
    if (id == 0) return ES_ENOTFOUND;
    id -= 1;
    uint32_t slot = (uint32_t)(id & 0xffffffffu), gen = (uint32_t)(id >> 32);
    if (slot >= s->nslots) return ES_ENOTFOUND;
    event_rec_t *r = rec(s, slot);
    if (r->gen != gen || r->cancelled || r->fn == NULL) return ES_ENOTFOUND;
    r->cancelled = true;
    s->live--;
    return 0;
}

static inline void pop_top(es_sim_t *s)
{
    heap_key_t last = s->heap[--s->hn];
    if (s->hn > 0) sift_down(s->heap, s->hn, 0, last);
}

/* Completes the pop of the event that just ran, unless a schedule reused its place. */
static inline void settle(es_sim_t *s)
{
    if (s->top_running) {
        s->top_running = false;
        pop_top(s);
    }
}

/* Drops cancelled entries from the top. */
static inline void skip_cancelled(es_sim_t *s)
{
    settle(s);
    while (s->hn > 0) {
        uint32_t slot = KEY_SLOT(s->heap[0]);
        event_rec_t *r = rec(s, slot);
        if (!r->cancelled) return;
        r->fn = NULL;
        free_slot(s, slot);
        pop_top(s);
    }
}

es_time_t es_sim_next_time(es_sim_t *s)
{
    skip_cancelled(s);
    return s->hn ? KEY_TIME(s->heap[0]) : ES_TIME_NEVER;
}

void es_sim_stop(es_sim_t *s) { s->stop = true; }

uint64_t es_sim_run(es_sim_t *s, es_time_t until)
{
    uint64_t ran = 0;
    s->stop = false;
    while (!s->stop) {
        settle(s);
        if (s->hn == 0) break;
        heap_key_t top = s->heap[0];
        if (KEY_TIME(top) > until) break;
        uint32_t slot = KEY_SLOT(top);
        event_rec_t *r = rec(s, slot);
        if (r->cancelled) {   /* lazy cancellation: drop it now */
            r->fn = NULL;
            free_slot(s, slot);
            pop_top(s);
            continue;
        }
        es_event_fn fn = r->fn;
        void *target = r->target;
        uint64_t arg = r->arg;
        r->fn = NULL;
        free_slot(s, slot);
        s->top_running = true;
        s->live--;
        s->now = KEY_TIME(top);
        fn(s, target, arg);
        ran++;
        if ((ran & 1023) == 0 && s->watch && *s->watch) s->stop = true;
    }
    settle(s);
    s->events_run += ran;
    if (!s->stop && until != ES_TIME_NEVER && until > s->now) {
        skip_cancelled(s);
        if (s->hn == 0 || KEY_TIME(s->heap[0]) > until) s->now = until;
    }
    return ran;
}

void es_sim_watch(es_sim_t *s, volatile sig_atomic_t *flag)
{
    s->watch = flag;
}

/* ---- benchmark ---- */

typedef struct bench_ctx {
    es_rng_t rng;
    double mean_ns;
    uint64_t left;
} bench_ctx_t;

static void bench_handler(es_sim_t *s, void *target, uint64_t arg)
{
    bench_ctx_t *b = target;
    (void)arg;
    if (b->left == 0) { es_sim_stop(s); return; }
    b->left--;
    es_time_t dt = (es_time_t)es_rng_exp(&b->rng, b->mean_ns);
    es_sim_schedule(s, s->now + dt, bench_handler, b, 0);
}

double es_sim_bench_hold(size_t pending, uint64_t holds, double mean_ns, uint64_t seed)
{
    es_sim_t *s = es_sim_create(seed);
    if (!s) return -1;
    bench_ctx_t b;
    es_rng_seed(&b.rng, seed);
    b.mean_ns = mean_ns;
    b.left = 0;
    /* pre-fill with Exp(mean) times, the classic hold model */
    for (size_t i = 0; i < pending; i++)
        es_sim_schedule(s, (es_time_t)es_rng_exp(&b.rng, mean_ns), bench_handler, &b, 0);
    /* warm-up */
    b.left = holds / 10 + 1;
    es_sim_run(s, ES_TIME_NEVER);
    b.left = holds;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    es_sim_run(s, ES_TIME_NEVER);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    es_sim_destroy(s);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    return ns / (double)holds;
}
