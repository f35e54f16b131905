/*
 * server.c -- the engine loop of a vLLM-like pod (see es_server.h and
 * docs/server.md).
 *
 * Step k runs at the end of step k-1: it finishes step k-1 (tokens, first
 * tokens, finishes), then schedules step k (vLLM schedule(): running first,
 * then admission) and sets one event at now + step time.
 *
 * Decoding sequences share a clock: a decoder admitted to the clock at step
 * s0 with c0 computed tokens and o0 outputs has c0 + (k - s0) computed and
 * o0 + (k - s0) outputs at step k.  Its next event (a block fills, a block is
 * needed, its last token) is at most block_size steps ahead, so events live in
 * a ring of buckets indexed by step.  The sum of decode contexts is kept as
 * sum(c0 - s0) + n_dec * (k + 1).  A decoder that is not scheduled in a step
 * (budget exhausted behind a prefill, or Phase A stopped by a self-preemption)
 * is "skipped": s0 moves one step later and its next token's gap is reported
 * on its own.
 *
 * Fast-forward: a plain step (every running request decodes, none has an
 * event, nothing waits) changes nothing but the clock, the counters and one
 * pooled gap.  When the steps after step k are plain up to the next decoder
 * event at step k + m, their durations are computed at once and one event is
 * set at the end of step k+m-1 instead of one per step; the state stays at
 * step k.  ff_step moves it one step, exactly as end_step and start_step
 * would, when that event runs or when submit, abort or crash change the pod
 * mid-stretch (ff_sync: the steps ended before now are run and the event is
 * set back to the end of the step in flight).  /metrics does not move inside
 * a stretch; es_server_stats adds the steps begun by now.
 *
 * Creation, KV sizing and destruction are in server_setup.c.
 */
#include "server_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "es_str.h"
#include "es_util.h"
#include "es_alloc.h"

static void on_step(es_sim_t *sim, void *target, uint64_t arg);

/* ---------------------------------------------------------------- helpers */

static inline es_time_t now_of(const es_server_t *s) { return es_sim_now(s->sim); }

static inline uint32_t ceil_div(uint64_t a, uint32_t b) { return (uint32_t)((a + b - 1) / b); }

void esi_server_kv_event(void *ud, es_kv_event_kind_t kind, uint64_t hash)
{
    es_server_t *s = ud;
    es_kv_event_t ev = {kind, s->endpoint, hash, now_of(s)};
    s->hooks.on_kv_event(s->hooks.ud, &ev);
}

static uint32_t *table_get(es_server_t *s, uint32_t cls)
{
    if (s->tpool_n[cls] > 0) return s->tpool[cls][--s->tpool_n[cls]];
    return es_xmalloc(((size_t)1 << cls) * sizeof(uint32_t));
}

static void table_put(es_server_t *s, uint32_t cls, uint32_t *t)
{
    if (s->tpool_n[cls] == s->tpool_cap[cls]) {
        uint32_t nc = s->tpool_cap[cls] ? 2 * s->tpool_cap[cls] : 16;
        s->tpool[cls] = es_xrealloc(s->tpool[cls], nc * sizeof *s->tpool[cls]);
        s->tpool_cap[cls] = nc;
    }
    s->tpool[cls][s->tpool_n[cls]++] = t;
}

/* ---- running list ---- */

static void run_append(es_server_t *s, req_t *r)
{
    r->p.next = NULL;
    r->p.prev = s->run_tail;
    if (s->run_tail) s->run_tail->p.next = r; else s->run_head = r;
    s->run_tail = r;
    r->p.seq = ++s->seq_ctr;
    s->n_running++;
}

static void run_remove(es_server_t *s, req_t *r)
{
    if (r->p.prev) r->p.prev->p.next = r->p.next; else s->run_head = r->p.next;
    if (r->p.next) r->p.next->p.prev = r->p.prev; else s->run_tail = r->p.prev;
    r->p.next = r->p.prev = NULL;
    s->n_running--;
}

/* ---- waiting queue ---- */

static inline bool prio_less(const req_t *a, const req_t *b)
{
    if (a->priority != b->priority) return a->priority < b->priority;
    return a->p.arrival < b->p.arrival;
}

static void heap_set(es_server_t *s, uint32_t i, req_t *r) { s->heap[i] = r; r->p.heap_idx = i; }

static void heap_up(es_server_t *s, uint32_t i)
{
    req_t *r = s->heap[i];
    while (i > 0) {
        uint32_t par = (i - 1) / 2;
        if (!prio_less(r, s->heap[par])) break;
        heap_set(s, i, s->heap[par]);
        i = par;
    }
    heap_set(s, i, r);
}

static void heap_down(es_server_t *s, uint32_t i)
{
    req_t *r = s->heap[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= s->heap_n) break;
        if (c + 1 < s->heap_n && prio_less(s->heap[c + 1], s->heap[c])) c++;
        if (!prio_less(s->heap[c], r)) break;
        heap_set(s, i, s->heap[c]);
        i = c;
    }
    heap_set(s, i, r);
}

static void heap_remove_at(es_server_t *s, uint32_t i)
{
    req_t *last = s->heap[--s->heap_n];
    if (i == s->heap_n) return;
    heap_set(s, i, last);
    heap_down(s, i);
    heap_up(s, last->p.heap_idx);
}

static void lora_wait_add(es_server_t *s, req_t *r, int d)
{
    if (r->p.lora_idx >= 0) s->lora[r->p.lora_idx].waiting += (uint32_t)d;
}

static void lora_run_add(es_server_t *s, req_t *r, int d)
{
    if (r->p.lora_idx < 0) return;
    lora_slot_t *l = &s->lora[r->p.lora_idx];
    if (d > 0 && l->running++ == 0) s->n_lora_active++;
    if (d < 0 && --l->running == 0) s->n_lora_active--;
}

/* front: the preempted go back to the head (FCFS); a heap has no front. */
static void wait_push(es_server_t *s, req_t *r, bool front)
{
    r->p.state = RS_WAITING;
    if (!front) r->p.queued_at = now_of(s);   /* the preempted keep theirs: they rejoin at once */
    s->n_waiting++;
    lora_wait_add(s, r, 1);
    if (s->policy == ES_POLICY_PRIORITY) {
        if (s->heap_n == s->heap_cap) {
            uint32_t nc = s->heap_cap ? 2 * s->heap_cap : 64;
            s->heap = es_xrealloc(s->heap, nc * sizeof *s->heap);
            s->heap_cap = nc;
        }
        heap_set(s, s->heap_n++, r);
        heap_up(s, s->heap_n - 1);
        return;
    }
    r->p.next = r->p.prev = NULL;
    if (front) {
        r->p.next = s->wait_head;
        if (s->wait_head) s->wait_head->p.prev = r; else s->wait_tail = r;
        s->wait_head = r;
    } else {
        r->p.prev = s->wait_tail;
        if (s->wait_tail) s->wait_tail->p.next = r; else s->wait_head = r;
        s->wait_tail = r;
    }
}

static req_t *wait_peek(const es_server_t *s)
{
    if (s->policy == ES_POLICY_PRIORITY) return s->heap_n ? s->heap[0] : NULL;
    return s->wait_head;
}

static void wait_remove(es_server_t *s, req_t *r)
{
    s->n_waiting--;
    lora_wait_add(s, r, -1);
    if (s->policy == ES_POLICY_PRIORITY) { heap_remove_at(s, r->p.heap_idx); return; }
    if (r->p.prev) r->p.prev->p.next = r->p.next; else s->wait_head = r->p.next;
    if (r->p.next) r->p.next->p.prev = r->p.prev; else s->wait_tail = r->p.prev;
    r->p.next = r->p.prev = NULL;
}

/* ---- event ring ---- */

static void bucket_insert(es_server_t *s, req_t *r, uint64_t step)
{
    ES_ASSERT(step > s->k && step - s->k <= s->ring_mask, "decoder event outside the ring");
    req_t **b = &s->ring[step & s->ring_mask];
    r->p.ev_step = step;
    r->p.ev_prev = NULL;
    r->p.ev_next = *b;
    if (*b) (*b)->p.ev_prev = r;
    *b = r;
    r->p.in_bucket = 1;
}

static void bucket_remove(es_server_t *s, req_t *r)
{
    if (!r->p.in_bucket) return;
    if (r->p.ev_prev) r->p.ev_prev->p.ev_next = r->p.ev_next;
    else s->ring[r->p.ev_step & s->ring_mask] = r->p.ev_next;
    if (r->p.ev_next) r->p.ev_next->p.ev_prev = r->p.ev_prev;
    r->p.in_bucket = 0;
}

/* Step of a decoder's next event after step k: its last token, the step that
 * fills its last block, or the step that needs a new block. */
static uint64_t next_event(const es_server_t *s, const req_t *r)
{
    const es_server_req_priv_t *p = &r->p;
    uint64_t fin = p->s0 + (uint64_t)(p->out_target - 1 - p->o0);
    uint64_t edge = p->s0 + (uint64_t)p->held * s->bs - p->c0;   /* c == held * bs: needs a block */
    uint64_t blk = p->hashed < p->held ? edge - 1 : edge;        /* c + 1 == held * bs: block full */
    return fin < blk ? fin : blk;
}

/* ---- KV per request ---- */

static void iter_reset(es_server_t *s, req_t *r)
{
    es_block_iter_init(&r->p.it, &r->prompt, &r->p.out_seg, 1, r->p.out_target, s->bs,
                       r->p.prompt + r->p.out_target);
    r->p.it.parent = r->p.root;
    r->p.hashed = 0;
}

/* The offloading connector copies every newly full block to host memory
 * (write-through, asynchronous: no step waits for it); the host tier keeps
 * the most recently stored or hit ones. */
static void cpu_store(es_server_t *s, uint64_t hash)
{
    uint32_t id = es_kvcache_lookup(&s->cpu, hash);
    if (id == ES_KV_NONE) {
        id = es_kvcache_alloc(&s->cpu);   /* the host tier is never held: always one free */
        es_kvcache_cache(&s->cpu, id, hash);
        s->stats.offload_stores++;
    } else {
        es_kvcache_touch(&s->cpu, id);
    }
    es_kvcache_free(&s->cpu, id);          /* to the tail: most recently used */
}

/* Blocks after the GPU hits that the host tier holds, up to `max`; the
 * iterator is left where it was. */
static uint32_t cpu_match(es_server_t *s, req_t *r, uint32_t max)
{
    es_block_iter_t it = r->p.it;
    uint32_t n = 0;
    uint64_t h;
    while (n < max && es_block_iter_next(&it, &h) && es_kvcache_lookup(&s->cpu, h) != ES_KV_NONE) n++;
    return n;
}

/* Hashes and caches the request's blocks that are full with `upto` tokens. */
static void cache_full(es_server_t *s, req_t *r, uint32_t upto)
{
    uint32_t target = upto / s->bs;
    if (!s->prefix_caching) { r->p.hashed = target; return; }
    uint64_t h[64];   /* hashed in batches so that the cache can prefetch their buckets */
    while (r->p.hashed < target) {
        uint32_t m = target - r->p.hashed < 64 ? target - r->p.hashed : 64;
        uint64_t parent = r->p.it.parent;
        for (uint32_t i = 0; i < m; i++) {
            int ok = es_block_iter_next(&r->p.it, &h[i]);
            ES_ASSERT(ok, "block hash past the end of the request");
            es_kvcache_prefetch_hash(&s->kv, h[i]);   /* lands while the next ones are hashed */
        }
        s->kv.ev_parent = r->p.hashed == 0 ? 0 : parent;   /* KV events: the chain's previous block */
        es_kvcache_cache_n(&s->kv, &r->p.blocks[r->p.hashed], h, m);
        if (s->offload)
            for (uint32_t i = 0; i < m; i++) cpu_store(s, h[i]);
        r->p.hashed += m;
    }
}

static void free_blocks(es_server_t *s, req_t *r)
{
    es_kvcache_free_rev(&s->kv, r->p.blocks, r->p.held);   /* reverse order */
    r->p.held = 0;
    r->p.hashed = 0;
}

static void release_table(es_server_t *s, req_t *r)
{
    if (r->p.blocks) table_put(s, r->p.cap_class, r->p.blocks);
    r->p.blocks = NULL;
}

void esi_server_release_table(es_server_t *s, req_t *r) { release_table(s, r); }

/* ---- leaving the running set ---- */

static void dec_leave(es_server_t *s, req_t *r)
{
    s->n_dec--;
    s->n_dec_meas -= r->measured;
    s->n_dec_chat -= r->chat;
    s->dec_base -= (int64_t)r->p.c0 - (int64_t)r->p.s0;
    bucket_remove(s, r);
    r->p.decoding = 0;
}

/* Fields of a decoder at step k, before its token of that step. */
static inline uint32_t dec_computed(const es_server_t *s, const req_t *r)
{
    return r->p.c0 + (uint32_t)(s->k - r->p.s0);
}
static inline uint32_t dec_outputs(const es_server_t *s, const req_t *r)
{
    return r->p.o0 + (uint32_t)(s->k - r->p.s0);
}

/* The API server streams the `chunks` tokens of a step that ended at t, `chat`
 * of them to chat streams: each process takes its share after what it already
 * has queued (asyncio runs ready work in order).  Sets d_now. */
static void api_stream(es_server_t *s, es_time_t t, uint32_t chunks, uint32_t chat)
{
    if (!s->fe_on) return;
    s->d_prev = s->d_now;
    double cpu = s->api_chunk_d * chunks + s->api_chat_chunk_d * chat;
    es_time_t w = (es_time_t)(cpu / s->n_api + 0.5), done = t;
    for (uint32_t i = 0; i < s->n_api; i++) {
        es_time_t f = (s->api_free[i] > t ? s->api_free[i] : t) + w;
        if (chunks) s->api_free[i] = f;
        if (f > done) done = f;
    }
    s->d_now = chunks ? done - t : 0;
}

static void fe_link(es_server_t *s, req_t *r)
{
    r->p.fe_prev = NULL;
    r->p.fe_next = s->fe_head;
    if (s->fe_head) s->fe_head->p.fe_prev = r;
    s->fe_head = r;
}

static void fe_unlink(es_server_t *s, req_t *r)
{
    if (r->p.fe_prev) r->p.fe_prev->p.fe_next = r->p.fe_next; else s->fe_head = r->p.fe_next;
    if (r->p.fe_next) r->p.fe_next->p.fe_prev = r->p.fe_prev;
    r->p.fe_next = r->p.fe_prev = NULL;
}

static void ev_first_token(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim;
    es_server_t *s = target;
    req_t *r = (req_t *)(uintptr_t)arg;
    r->p.ft_ev = 0;
    if (s->hooks.on_first_token) s->hooks.on_first_token(s->hooks.ud, r, now_of(s));
}

static void ev_deliver_end(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim;
    es_server_t *s = target;
    req_t *r = (req_t *)(uintptr_t)arg;
    fe_unlink(s, r);
    r->p.fe_ev = 0;
    r->p.state = RS_DONE;
    s->hooks.on_finish(s->hooks.ud, r, r->finish);
}

static void finish_running(es_server_t *s, req_t *r, int status)
{
    if (r->p.decoding) dec_leave(s, r); else s->n_prefilling--;
    free_blocks(s, r);
    release_table(s, r);
    run_remove(s, r);
    lora_run_add(s, r, -1);
    r->p.state = RS_DONE;
    r->finish = now_of(s);
    r->status = status;
    s->stats.finished++;
    if (status == ES_SERVER_OK && s->d_now > 0) {   /* the API server has not sent the end yet */
        r->finish += s->d_now;
        r->p.state = RS_DELIVER;
        fe_link(s, r);
        r->p.fe_ev = es_sim_schedule(s->sim, r->finish, ev_deliver_end, s, (uint64_t)(uintptr_t)r);
        ES_ASSERT(r->p.fe_ev != 0, "out of memory for an event");
        return;
    }
    s->hooks.on_finish(s->hooks.ud, r, r->finish);
}

static void preempt(es_server_t *s, req_t *v)
{
    es_time_t now = now_of(s);
    if (v->p.decoding) {
        uint32_t c = dec_computed(s, v), o = dec_outputs(s, v);
        bool scheduled = s->fast ? s->stage_prefill : v->p.sched_step == s->k;
        if (scheduled) {   /* give its token back */
            s->budget++;
            if (!s->fast) {
                s->n_dec_sched--;
                s->n_dec_sched_meas -= v->measured;
                s->n_dec_sched_chat -= v->chat;
                s->sum_ctx -= c + 1;
            }
        }
        if (!v->p.late) v->p.last_tok = now;
        v->p.late = 0;
        v->p.due = 0;
        dec_leave(s, v);
        v->p.outputs = o;
        (void)c;
    } else {
        s->n_prefilling--;
        if (v->p.sched_step == s->k && v->p.chunk > 0) { s->budget += v->p.chunk; v->p.chunk = 0; }
    }
    free_blocks(s, v);
    v->p.computed = 0;
    v->p.sched_step = 0;
    run_remove(s, v);
    lora_run_add(s, v, -1);
    v->preemptions++;
    s->stats.preemptions++;
    s->preempted = true;
    wait_push(s, v, true);
}

static req_t *pick_victim(const es_server_t *s)
{
    if (s->policy != ES_POLICY_PRIORITY) return s->run_tail;
    req_t *v = s->run_head;
    for (req_t *r = v ? v->p.next : NULL; r; r = r->p.next)
        if (prio_less(v, r)) v = r;   /* the largest (priority, arrival) */
    return v;
}

/* Makes `need` blocks free by preempting; -1 when r itself was preempted. */
static int reserve(es_server_t *s, req_t *r, uint32_t need)
{
    while (s->kv.nfree < need) {
        req_t *v = pick_victim(s);
        preempt(s, v);
        if (v == r) return -1;
    }
    return 0;
}

static void alloc_blocks(es_server_t *s, req_t *r, uint32_t n)
{
    es_kvcache_alloc_n(&s->kv, &r->p.blocks[r->p.held], n);
    r->p.held += n;
}

/* ---- scheduling one step ---- */

/* A decoder not scheduled in step k: its clock moves one step later. */
static void skip_decoder(es_server_t *s, req_t *r)
{
    if (!r->p.late) { r->p.late = 1; r->p.last_tok = now_of(s); }
    bucket_remove(s, r);
    r->p.due = 0;
    r->p.s0++;
    s->dec_base--;
    s->skip_n++;
    s->skip_meas += r->measured;
    s->skip_chat += r->chat;
    s->skip_ctx += (int64_t)r->p.c0 - (int64_t)r->p.s0 + (int64_t)s->k + 1;
    r->p.skip_step = s->k;
    bucket_insert(s, r, s->k + 1);   /* touched next step to report its gap */
}

static void skip_from(es_server_t *s, req_t *r)
{
    for (; r; r = r->p.next)
        if (r->p.decoding) skip_decoder(s, r);
}

/* A decoder with an event at step k; -1 if it preempted itself. */
static int decoder_due(es_server_t *s, req_t *r)
{
    r->p.due = 0;
    if (r->p.late && r->p.skip_step != s->k) { s->late[s->nlate++] = r; r->p.late = 0; }
    uint32_t c = dec_computed(s, r), o = dec_outputs(s, r);
    if (c == r->p.held * s->bs) {
        if (reserve(s, r, 1) < 0) return -1;
        alloc_blocks(s, r, 1);
    }
    cache_full(s, r, c + 1);
    if (o + 1 >= r->p.out_target) {
        r->p.due_next = s->fin;
        s->fin = r;
    } else {
        bucket_insert(s, r, next_event(s, r));
    }
    return 0;
}

/* ---- the engine's vision encoder ---- */

static int32_t enc_find(const es_server_t *s, uint64_t h)
{
    for (uint32_t i = 0; i < s->enc_n; i++)
        if (s->enc_hash[i] == h) return (int32_t)i;
    return -1;
}

static void enc_store(es_server_t *s, uint64_t h)
{
    if (s->enc_cap == 0) return;
    int32_t at = enc_find(s, h);
    if (at < 0) {
        uint32_t lru = 0;
        for (uint32_t i = 1; i < s->enc_n; i++)
            if (s->enc_used[i] < s->enc_used[lru]) lru = i;
        at = (int32_t)(s->enc_n < s->enc_cap ? s->enc_n++ : lru);
        s->enc_hash[at] = h;
    }
    s->enc_used[at] = ++s->enc_clock;
}

static bool is_image(const req_t *r, uint64_t id)
{
    for (uint32_t i = 0; i < r->nmm; i++)
        if (r->mm[i].hash == id) return true;
    return false;
}

/* The chunk [computed, computed + n) of r under the step's encoder budget:
 * returns the tokens it may take (it stops before the first image whose
 * output is missing and does not fit); with `commit`, the images it takes
 * are encoded in this step (budget, cache, step time). */
static uint32_t enc_chunk(es_server_t *s, req_t *r, uint32_t computed, uint32_t n, bool commit)
{
    if (!s->enc_on || r->nmm == 0 || n == 0) return n;
    int64_t budget = s->enc_budget;
    uint32_t pos = 0, end = computed + n;
    for (uint32_t k = 0; k < r->prompt.nsegs && pos < end; k++) {
        const es_segment_t *g = &r->prompt.segs[k];
        uint32_t start = pos;
        pos += g->len;
        if (pos <= computed || !is_image(r, g->id)) continue;   /* text, or already in the KV cache */
        int32_t at = enc_find(s, g->id);
        if (at >= 0) {   /* the encoder cache has it */
            if (commit) s->enc_used[at] = ++s->enc_clock;
            continue;
        }
        bool first = budget == (int64_t)s->budget_max;   /* a whole image always fits an unused budget */
        if ((int64_t)g->len > budget && !first) return start > computed ? start - computed : 0;
        budget -= g->len;
        if (!commit) continue;
        enc_store(s, g->id);
        s->extra += (es_time_t)((double)g->len * s->enc_ns_per_token + 0.5);
        s->stats.encoder_tokens += g->len;
    }
    if (commit) s->enc_budget = budget;
    return n;
}

static void schedule_chunk_commit(es_server_t *s, req_t *r, uint32_t n)
{
    r->p.chunk = n;
    r->p.sched_step = s->k;
    s->pf[s->npf++] = r;
    s->budget -= n;
    cache_full(s, r, r->p.computed + n);
}

/* A running request still computing its prompt (or recomputing); -1 if it
 * preempted itself. */
static int prefill_running(es_server_t *s, req_t *r)
{
    uint32_t num_tokens = r->p.prompt + r->p.outputs;
    uint32_t n = num_tokens - r->p.computed;
    if (s->thr && n > s->thr) n = s->thr;
    if ((int64_t)n > s->budget) n = (uint32_t)s->budget;
    n = enc_chunk(s, r, r->p.computed, n, false);
    if (n == 0) return 0;
    uint32_t need = ceil_div((uint64_t)r->p.computed + n, s->bs);
    need = need > r->p.held ? need - r->p.held : 0;
    if (reserve(s, r, need) < 0) return -1;
    alloc_blocks(s, r, need);
    enc_chunk(s, r, r->p.computed, n, true);
    schedule_chunk_commit(s, r, n);
    return 0;
}

static int cmp_seq(const void *a, const void *b)
{
    const req_t *x = *(req_t *const *)a, *y = *(req_t *const *)b;
    return (x->p.seq > y->p.seq) - (x->p.seq < y->p.seq);
}

/* Running order (seq is unique).  A step's due decoders are usually few:
 * insertion then beats qsort's calls through a pointer. */
static void sort_by_seq(req_t **v, uint32_t n)
{
    if (n > 24) { qsort(v, n, sizeof *v, cmp_seq); return; }
    for (uint32_t i = 1; i < n; i++) {
        req_t *x = v[i];
        uint32_t j = i;
        for (; j > 0 && v[j - 1]->p.seq > x->p.seq; j--) v[j] = v[j - 1];
        v[j] = x;
    }
}

static bool prefillers_at_tail(const es_server_t *s)
{
    uint32_t n = 0;
    for (const req_t *r = s->run_tail; r && n < s->n_prefilling; r = r->p.prev, n++)
        if (r->p.decoding) return false;
    return true;
}

/* The KV state that the due decoders will touch this step is in random
 * places (blocks from the free queue's head, the slots of blocks they fill,
 * their own block records): prefetch it for all of them first, so that the
 * misses overlap instead of coming one per decoder. */
static void prefetch_due(const es_server_t *s)
{
    uint32_t allocs = 0;
    for (uint32_t i = 0; i < s->ndue; i++) {
        const req_t *r = s->due[i];
        uint32_t c = dec_computed(s, r);
        if (c == r->p.held * s->bs) allocs++;
        if (s->prefix_caching && (c + 1) / s->bs > r->p.hashed && r->p.hashed < r->p.held) {
            es_block_iter_t it = r->p.it;
            uint64_t h;
            if (es_block_iter_next(&it, &h)) es_kvcache_prefetch_hash(&s->kv, h);
            es_kvcache_prefetch_block(&s->kv, r->p.blocks[r->p.hashed]);
        }
    }
    if (allocs) es_kvcache_prefetch_allocs(&s->kv, allocs);
}

static void phase_running(es_server_t *s)
{
    /* decoders with an event at this step, in running order */
    req_t **b = &s->ring[s->k & s->ring_mask];
    for (req_t *r = *b; r; r = r->p.ev_next) {
        ES_ASSERT(r->p.ev_step == s->k, "stale decoder event");
        r->p.in_bucket = 0;
        r->p.due = 1;
        s->due[s->ndue++] = r;
    }
    *b = NULL;
    sort_by_seq(s->due, s->ndue);
    prefetch_due(s);

    s->fast = prefillers_at_tail(s);
    if (s->fast) {
        /* All decoders come first and fit (max_num_batched_tokens >=
         * max_num_seqs): each takes one token; only those with an event are
         * touched. */
        for (uint32_t i = 0; i < s->ndue; i++) {
            req_t *r = s->due[i];
            if (!r->p.due) continue;   /* preempted or skipped meanwhile */
            req_t *nxt = r->p.next;
            if (decoder_due(s, r) < 0) { skip_from(s, nxt); return; }
        }
        s->budget -= s->n_dec - s->skip_n;
        s->stage_prefill = true;
        req_t *r = s->run_tail;
        for (uint32_t n = 1; r && n < s->n_prefilling; n++) r = r->p.prev;
        if (s->n_prefilling == 0) r = NULL;
        while (r && s->budget > 0) {
            if (prefill_running(s, r) < 0) return;
            r = r->p.next;
        }
        return;
    }
    /* Slow path: prompt chunks sit between decoders; walk in order. */
    for (req_t *r = s->run_head; r;) {
        if (s->budget <= 0) { skip_from(s, r); return; }
        req_t *nxt = r->p.next;
        if (r->p.decoding) {
            if (r->p.due && decoder_due(s, r) < 0) { skip_from(s, nxt); return; }
            r->p.sched_step = s->k;
            s->budget--;
            s->n_dec_sched++;
            s->n_dec_sched_meas += r->measured;
            s->n_dec_sched_chat += r->chat;
            s->sum_ctx += dec_computed(s, r) + 1;
        } else if (prefill_running(s, r) < 0) {
            skip_from(s, nxt);
            return;
        }
        r = r->p.next;
    }
}

static int32_t lora_slot(es_server_t *s, const char *name)
{
    for (uint32_t i = 0; i < s->nlora; i++)
        if (strcmp(s->lora[i].name, name) == 0) return (int32_t)i;
    if (s->nlora == s->lora_cap) {
        uint32_t nc = s->lora_cap ? 2 * s->lora_cap : 8;
        s->lora = es_xrealloc(s->lora, nc * sizeof *s->lora);
        s->lora_cap = nc;
    }
    char *own = es_strdup(name);   /* once per adapter, not per request */
    ES_ASSERT(own != NULL, "out of memory for a LoRA adapter name");
    s->lora[s->nlora] = (lora_slot_t){own, 0, 0, false, 0};
    return (int32_t)s->nlora++;
}

/* Loads r's adapter if needed (a step that loads one takes lora_load_ms
 * longer); the loaded set holds max_loras adapters, evicting the least
 * recently used idle one. */
static void lora_activate(es_server_t *s, req_t *r)
{
    if (r->p.lora_idx < 0) return;
    lora_slot_t *l = &s->lora[r->p.lora_idx];
    l->last_use = ++s->lora_clock;
    if (l->loaded) return;
    l->loaded = true;
    s->n_lora_loaded++;
    s->stats.lora_loads++;
    s->extra += s->lora_load;
    if (s->n_lora_loaded > s->max_loras) {
        lora_slot_t *v = NULL;
        for (uint32_t i = 0; i < s->nlora; i++) {
            lora_slot_t *c = &s->lora[i];
            if (c->loaded && c->running == 0 && c != l && (!v || c->last_use < v->last_use)) v = c;
        }
        if (v) { v->loaded = false; s->n_lora_loaded--; }
    }
}

/* What r finds at admission: the longest prefix of at most num_tokens - 1
 * tokens in GPU blocks (*nhit, their ids in r's table, the iterator after
 * them) and then in the host tier (*ncpu blocks); returns the tokens.  A
 * P/D decode side counts its prompt as there (prompt - 1), unless its
 * connector reads it now (remote_read): then its own GPU hits count. */
static uint32_t lookup_cached(es_server_t *s, req_t *r, uint32_t num_tokens, bool remote_read, uint32_t *nhit_out,
                              uint32_t *ncpu_out)
{
    uint32_t cached = 0, nhit = 0, ncpu = 0;
    iter_reset(s, r);
    if (r->kv_preloaded && r->p.outputs == 0 && !remote_read) {
        cached = r->p.prompt - 1;   /* transferred KV; the last token is recomputed to sample */
    } else if (s->prefix_caching) {
        /* longest cached prefix of at most num_tokens - 1 tokens, looked up
         * in batches (1, 4, 16, 32 blocks: a first miss costs no extra
         * hashing) so that the map's misses overlap; the iterator ends
         * after the last hit */
        uint32_t maxhit = (num_tokens - 1) / s->bs, batch = 1;
        while (nhit < maxhit) {
            es_block_iter_t st[32];
            uint64_t h[32];
            uint32_t want = maxhit - nhit < batch ? maxhit - nhit : batch, m = 0;
            for (; m < want; m++) {
                st[m] = r->p.it;
                if (!es_block_iter_next(&r->p.it, &h[m])) break;
            }
            uint32_t got = es_kvcache_match(&s->kv, h, m, &r->p.blocks[nhit]);
            nhit += got;
            if (got < m) { r->p.it = st[got]; break; }
            if (m < want) break;
            batch = batch < 8 ? batch * 4 : 32;
        }
        cached = nhit * s->bs;
    }
    /* blocks loaded from the host tier */
    if (s->offload && !(r->kv_preloaded && r->p.outputs == 0)) {
        ncpu = cpu_match(s, r, (num_tokens - 1) / s->bs - nhit);
        cached += ncpu * s->bs;
    }
    *nhit_out = nhit;
    *ncpu_out = ncpu;
    return cached;
}

static void remote_link(es_server_t *s, req_t *r)
{
    r->p.prev = NULL;
    r->p.next = s->remote_head;
    if (s->remote_head) s->remote_head->p.prev = r;
    s->remote_head = r;
    s->n_remote++;
}

static void remote_unlink(es_server_t *s, req_t *r)
{
    if (r->p.prev) r->p.prev->p.next = r->p.next; else s->remote_head = r->p.next;
    if (r->p.next) r->p.next->p.prev = r->p.prev;
    r->p.next = r->p.prev = NULL;
    s->n_remote--;
}

/* vLLM's scheduler meeting an async connector load (v0.15.1
 * vllm/v1/core/sched/scheduler.py, schedule(): load_kv_async): the blocks
 * of every token up to `have` are allocated now (the nhit GPU hits held,
 * the rest fresh), r leaves the waiting queue for WAITING_FOR_REMOTE_KVS
 * with no token budget, and the connector starts the transfer of
 * [cached, have).  -1 (r stays) when the blocks are not free. */
static int park_for_pull(es_server_t *s, req_t *r, uint32_t nhit, uint32_t ncpu, uint32_t cached, uint32_t have)
{
    uint32_t need = have / s->bs - nhit, idle_hits = 0;
    for (uint32_t i = 0; i < nhit; i++) idle_hits += s->kv.b[r->p.blocks[i]].ref == 0;
    if ((uint64_t)need + idle_hits + s->watermark_blocks > s->kv.nfree) {
        iter_reset(s, r);
        return -1;   /* head-of-line, as any admission */
    }
    for (uint32_t i = 0; i < nhit; i++) es_kvcache_touch(&s->kv, r->p.blocks[i]);
    r->p.held = nhit;
    r->p.hashed = nhit;
    alloc_blocks(s, r, need);
    wait_remove(s, r);
    r->p.state = RS_REMOTE;
    r->p.pull_from = cached;
    r->p.pull_to = have;
    r->p.pull_cpu = ncpu;
    r->p.pull_state = 1;
    remote_link(s, r);
    s->pulls_started = true;
    s->hooks.kv_pull_start(s->hooks.ud, r, cached, have);
    return 0;
}

/* Phase B: admission from the waiting queue. */
static void phase_waiting(es_server_t *s)
{
    req_t *skipped = NULL, *skipped_tail = NULL;
    es_time_t now = now_of(s);
    while (s->n_waiting > 0 && s->budget > 0) {
        if (s->n_running >= s->max_num_seqs) break;
        req_t *r = wait_peek(s);
        /* async scheduling formed this step's batch while the last one ran
         * (vllm/v1/engine/core.py step_with_batch_queue): a request that came
         * after that step started waits one more step, unless the engine
         * would otherwise idle */
        if (s->async_sched && (s->n_dec_sched > 0 || s->npf > 0) && r->p.queued_at > s->admit_cutoff) break;
        if (r->p.lora_idx >= 0 && s->lora[r->p.lora_idx].running == 0 && s->n_lora_active >= s->max_loras) {
            wait_remove(s, r);   /* its adapter cannot join this step: try the next request */
            r->p.next = NULL;
            if (skipped_tail) skipped_tail->p.next = r; else skipped = r;
            skipped_tail = r;
            continue;
        }
        if (!r->p.blocks) {
            uint32_t maxb = ceil_div((uint64_t)r->p.prompt + r->p.out_target, s->bs), cls = 0;
            while ((1u << cls) < maxb) cls++;
            r->p.cap_class = cls;
            r->p.blocks = table_get(s, cls);
        }
        uint32_t num_tokens = r->p.prompt + r->p.outputs, cached = 0, nhit = 0, ncpu = 0, pulled = 0;
        bool resumed = r->p.pull_state >= 2;   /* back from a P2P pull, holding its blocks */
        if (resumed) {
            /* the hits of its first admission are held and the iterator sits after them */
            nhit = r->p.hashed;
            ncpu = r->p.pull_cpu;
            bool ok = r->p.pull_state == 2;
            cached = ok ? r->p.pull_to : (nhit + ncpu) * s->bs;
            pulled = ok ? r->p.pull_to - r->p.pull_from : 0;
        } else {
            bool remote = r->kv_preloaded && r->kv_pull && r->p.outputs == 0 && r->admitted < 0 &&
                          s->hooks.kv_pull_start != NULL;
            cached = lookup_cached(s, r, num_tokens, remote, &nhit, &ncpu);
            if (remote && r->p.prompt - 1 > cached) {
                /* P/D decode side: the connector reads the prompt's KV beyond its own hits from the
                 * prefill pod now (NixlConnector do_remote_prefill: prompt - computed tokens) */
                if (park_for_pull(s, r, nhit, 0, cached, r->p.prompt - 1) < 0) break;
                continue;
            }
            if (r->kv_pull && r->admitted < 0 && !r->kv_preloaded && s->hooks.kv_pull_lookup) {
                uint32_t have = s->hooks.kv_pull_lookup(s->hooks.ud, r, num_tokens - 1) / s->bs * s->bs;
                if (have > cached) {
                    if (park_for_pull(s, r, nhit, ncpu, cached, have) < 0) break;
                    continue;
                }
            }
        }
        uint32_t n = num_tokens - cached;
        if (s->thr && n > s->thr) n = s->thr;
        if ((int64_t)n > s->budget) n = (uint32_t)s->budget;
        n = enc_chunk(s, r, cached, n, false);
        if (n == 0) {   /* its next image does not fit this step's encoder budget */
            if (!resumed) iter_reset(s, r);
            break;
        }
        uint32_t total = ceil_div((uint64_t)cached + n, s->bs);
        uint32_t have = resumed ? r->p.held : nhit;
        uint32_t need = total > have ? total - have : 0, idle_hits = 0;
        for (uint32_t i = 0; i < nhit && !resumed; i++) idle_hits += s->kv.b[r->p.blocks[i]].ref == 0;
        if ((uint64_t)need + idle_hits + s->watermark_blocks > s->kv.nfree) {
            if (!resumed) iter_reset(s, r);
            break;   /* head-of-line: no skipping on KV shortage */
        }
        if (!resumed) {
            for (uint32_t i = 0; i < nhit; i++) es_kvcache_touch(&s->kv, r->p.blocks[i]);
            r->p.held = nhit;
            r->p.hashed = nhit;
        }
        r->p.pull_state = 0;
        alloc_blocks(s, r, need);
        wait_remove(s, r);
        run_append(s, r);
        r->p.state = RS_RUNNING;
        r->p.decoding = 0;
        s->n_prefilling++;
        lora_run_add(s, r, 1);
        lora_activate(s, r);
        if (ncpu) {   /* the request's blocks come over PCIe before its chunk computes */
            s->extra += (es_time_t)ncpu * s->load_per_block;
            s->stats.offload_hit_tokens += ncpu * s->bs;
        }
        if (r->admitted < 0) {
            r->admitted = now;
            r->cached_tokens = cached;
            /* vLLM's prefix-cache counters are the GPU's; connector hits are reported apart */
            if (!r->kv_preloaded && s->prefix_caching) {
                s->q_tokens += num_tokens;
                s->h_tokens += cached - ncpu * s->bs - pulled;
            }
        }
        r->p.computed = cached;
        enc_chunk(s, r, cached, n, true);
        schedule_chunk_commit(s, r, n);
    }
    /* adapters that could not join go back to the front, in order */
    if (s->policy == ES_POLICY_PRIORITY) {
        while (skipped) {
            req_t *nx = skipped->p.next;
            wait_push(s, skipped, false);
            skipped = nx;
        }
        return;
    }
    req_t *prev = NULL;
    for (req_t *r = skipped; r; r = r->p.next) { r->p.prev = prev; prev = r; }
    while (skipped_tail) {   /* push_front from the last one keeps the order */
        req_t *pv = skipped_tail->p.prev;
        wait_push(s, skipped_tail, true);
        skipped_tail = pv;
    }
}

/* A step's duration: the step-time model, plus (vllm_version) the engine's
 * CPU work, added to the GPU time, or hidden behind it by async scheduling
 * but for what never overlaps. */
static es_time_t step_time(const es_server_t *s, const es_step_comp_t *c, uint64_t tokens)
{
    double us = es_steptime_us(&s->st, c);
    if (s->vllm) {
        double cpu = s->cpu_step_us + s->cpu_seq_us * c->n_sampled + s->cpu_tok_us * (double)tokens;
        us = s->async_sched ? (us > cpu ? us : cpu) + s->sync_us : us + cpu;
    }
    return es_time_from_us(us);
}

/* Schedules step k+1; returns false when nothing could run. */
static bool start_step(es_server_t *s)
{
    s->admit_cutoff = s->step_started;
    s->step_started = now_of(s);
    s->k++;
    s->budget = s->budget_max;
    s->fast = s->stage_prefill = s->preempted = false;
    s->npf = s->ndue = s->nlate = 0;
    s->fin = NULL;
    s->n_dec_sched = s->n_dec_sched_meas = s->n_dec_sched_chat = 0;
    s->sum_ctx = 0;
    s->skip_n = s->skip_meas = s->skip_chat = 0;
    s->skip_ctx = 0;
    s->extra = 0;
    s->pulls_started = false;
    s->enc_budget = s->budget_max;

    phase_running(s);
    if (s->fast) {
        s->n_dec_sched = s->n_dec - s->skip_n;
        s->n_dec_sched_meas = s->n_dec_meas - s->skip_meas;
        s->n_dec_sched_chat = s->n_dec_chat - s->skip_chat;
        int64_t ctx = s->dec_base + (int64_t)s->n_dec * (int64_t)(s->k + 1) - s->skip_ctx;
        s->sum_ctx = (uint64_t)ctx;
    }
    if (!s->preempted) phase_waiting(s);

    /* composition */
    uint32_t n_decode = s->n_dec_sched, np = 0, nsampled = s->n_dec_sched, chunks = s->n_dec_sched;
    uint32_t chat_chunks = s->n_dec_sched_chat;
    uint64_t sum_ctx = s->sum_ctx, ptok = 0;
    for (uint32_t i = 0; i < s->npf; i++) {
        req_t *r = s->pf[i];
        if (r->p.state != RS_RUNNING || r->p.sched_step != s->k || r->p.chunk == 0) continue;
        nsampled++;
        ptok += r->p.chunk;
        if (r->p.computed + r->p.chunk >= r->p.prompt + r->p.outputs) { chunks++; chat_chunks += r->chat; }
        if (r->p.chunk == 1) { n_decode++; sum_ctx += r->p.computed + 1; continue; }
        s->cq[np] = r->p.chunk;
        s->cp[np] = r->p.computed;
        np++;
    }
    if (nsampled == 0) return false;
    es_step_comp_t comp = {np, s->cq, s->cp, n_decode, sum_ctx, nsampled};
    es_time_t dt = step_time(s, &comp, ptok + s->n_dec_sched) + s->extra;
    if (dt < 1) dt = 1;
    s->step_dt = dt;
    s->step_chunks = chunks;
    s->step_chat_chunks = chat_chunks;
    s->stats.steps++;
    s->stats.seq_steps += nsampled;
    s->stats.decode_tokens += s->n_dec_sched;
    s->stats.prefill_tokens += ptok;
    s->stats.busy += dt;
    return true;
}

/* Gaps as the client sees them: tokens leave the API server d_now after the
 * step's end, the previous ones d_prev after theirs. */
static void emit_gap(es_server_t *s, es_time_t t, es_time_t gap, uint32_t n, uint32_t measured)
{
    if (n && s->hooks.on_decode_gaps)
        s->hooks.on_decode_gaps(s->hooks.ud, t + s->d_now, gap + s->d_now - s->d_prev, n, measured);
}

/* End of step k at now: tokens, first tokens, finishes. */
static void end_step(es_server_t *s)
{
    es_time_t now = now_of(s);
    uint32_t late_alive = 0, late_meas = 0;
    api_stream(s, now, s->step_chunks, s->step_chat_chunks);
    for (uint32_t i = 0; i < s->nlate; i++) {
        req_t *r = s->late[i];
        if (r->p.state != RS_RUNNING || !r->p.decoding) continue;
        late_alive++;
        late_meas += r->measured;
        emit_gap(s, now, now - r->p.last_tok, 1, r->measured);
    }
    emit_gap(s, now, s->step_dt, s->n_dec_sched - late_alive, s->n_dec_sched_meas - late_meas);

    for (uint32_t i = 0; i < s->npf; i++) {
        req_t *r = s->pf[i];
        if (r->p.state != RS_RUNNING || r->p.sched_step != s->k || r->p.decoding) continue;
        r->p.computed += r->p.chunk;
        r->p.chunk = 0;
        if (r->p.computed < r->p.prompt + r->p.outputs) continue;   /* mid-prompt chunk: no token */
        r->p.outputs++;
        if (r->p.outputs == 1) {
            r->first_token = now + s->d_now;
            if (s->d_now > 0) {
                r->p.ft_ev = es_sim_schedule(s->sim, r->first_token, ev_first_token, s, (uint64_t)(uintptr_t)r);
                ES_ASSERT(r->p.ft_ev != 0, "out of memory for an event");
            } else if (s->hooks.on_first_token) {
                s->hooks.on_first_token(s->hooks.ud, r, now);
            }
            if (r->p.state != RS_RUNNING) continue;   /* aborted from the hook */
        } else {
            emit_gap(s, now, now - r->p.last_tok, 1, r->measured);
        }
        r->p.last_tok = now;
        if (r->p.outputs >= r->p.out_target) { finish_running(s, r, ES_SERVER_OK); continue; }
        /* joins the decode clock at the next step */
        s->n_prefilling--;
        r->p.decoding = 1;
        r->p.late = 0;
        r->p.s0 = s->k + 1;
        r->p.c0 = r->p.computed;
        r->p.o0 = r->p.outputs;
        s->n_dec++;
        s->n_dec_meas += r->measured;
        s->n_dec_chat += r->chat;
        s->dec_base += (int64_t)r->p.c0 - (int64_t)r->p.s0;
        bucket_insert(s, r, next_event(s, r));
    }
    for (req_t *r = s->fin; r;) {
        req_t *nx = r->p.due_next;
        if (r->p.state == RS_RUNNING && r->p.decoding) finish_running(s, r, ES_SERVER_OK);
        r = nx;
    }
    s->fin = NULL;
    s->npf = s->nlate = 0;
}

/* ---- fast-forward ---- */

/* Step k as start_step left it ends with its pooled gap alone (no prompt
 * chunk, no late decoder, no finish), and the steps after it are plain until
 * the next decoder event: every running request decodes and none waits. */
static bool quiet_after(const es_server_t *s)
{
    return s->fast && s->npf == 0 && s->nlate == 0 && s->skip_n == 0 && !s->preempted && s->fin == NULL &&
           s->n_waiting == 0 && s->n_prefilling == 0 && s->n_dec > 0;
}

/* Duration of plain step `step`: start_step's composition and rounding. */
static es_time_t plain_dt(const es_server_t *s, uint64_t step)
{
    uint64_t sum_ctx = (uint64_t)(s->dec_base + (int64_t)s->n_dec * (int64_t)(step + 1));
    es_step_comp_t comp = {0, s->cq, s->cp, s->n_dec, sum_ctx, s->n_dec};
    es_time_t dt = step_time(s, &comp, s->n_dec);
    return dt < 1 ? 1 : dt;
}

static inline void count_plain(es_server_stats_t *st, uint32_t n_dec, es_time_t dt)
{
    st->steps++;
    st->seq_steps += n_dec;
    st->decode_tokens += n_dec;
    st->busy += dt;
}

/* Called when start_step has set up step k: returns the time of the event to
 * set, the end of step k or, when the steps after k are plain, of the step
 * before the next decoder event (a stretch). */
static es_time_t ff_begin(es_server_t *s)
{
    es_time_t end = now_of(s) + s->step_dt;
    if (!s->ff_on || !quiet_after(s) || s->ring[(s->k + 1) & s->ring_mask]) return end;
    uint64_t last = s->k + 1;
    while (!s->ring[(last + 1) & s->ring_mask]) {
        last++;
        ES_ASSERT(last - s->k < s->ring_mask, "a decoder without an event in the ring");
    }
    s->ff = true;
    s->ff_last = last;
    s->ff_t = end;
    for (uint64_t i = s->k + 1; i <= last; i++) {
        es_time_t dt = plain_dt(s, i);
        s->ff_dt[i & s->ring_mask] = dt;
        end += dt;
    }
    return end;
}

/* Ends step k at ff_t and starts plain step k + 1, as end_step and
 * start_step would (the fields they set that differ from step k's). */
static void ff_step(es_server_t *s)
{
    api_stream(s, s->ff_t, s->n_dec_sched, s->n_dec_sched_chat);
    emit_gap(s, s->ff_t, s->step_dt, s->n_dec_sched, s->n_dec_sched_meas);
    s->k++;
    s->ndue = 0;
    s->extra = 0;
    s->step_dt = s->ff_dt[s->k & s->ring_mask];
    s->step_started = s->ff_t;
    s->ff_t += s->step_dt;
    s->sum_ctx = (uint64_t)(s->dec_base + (int64_t)s->n_dec * (int64_t)(s->k + 1));
    count_plain(&s->stats, s->n_dec, s->step_dt);
}

/* Ends a stretch at now: runs its steps that ended before now (at now too when
 * `inclusive`) and sets the event back to the end of the step in flight.  A
 * step ending exactly at now is otherwise taken as still running: the caller's
 * event goes first, as an event scheduled before that step's would. */
static void ff_sync(es_server_t *s, bool inclusive)
{
    if (!s->ff) return;
    es_time_t now = now_of(s);
    while (s->k < s->ff_last && (s->ff_t < now || (inclusive && s->ff_t == now))) ff_step(s);
    s->ff = false;
    if (s->k == s->ff_last) return;   /* the stretch's event already ends this step */
    es_sim_cancel(s->sim, s->ev);
    s->ev = es_sim_schedule(s->sim, s->ff_t, on_step, s, 0);
}

static void kick(es_server_t *s)
{
    if (s->pending || s->in_handler) return;
    s->ev = es_sim_schedule(s->sim, now_of(s), on_step, s, 0);
    s->pending = true;
}

static void on_step(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    es_server_t *s = target;
    s->pending = false;
    s->in_handler = true;
    if (s->ff) {   /* the end of a stretch: catch up to its last step */
        while (s->k < s->ff_last) ff_step(s);
        s->ff = false;
    }
    if (s->in_step) { end_step(s); s->in_step = false; }
    while (s->n_running + s->n_waiting > 0) {
        if (start_step(s)) {
            s->in_step = true;
            s->ev = es_sim_schedule(s->sim, ff_begin(s), on_step, s, 0);
            s->pending = true;
            break;
        }
        if (s->preempted) continue;   /* everything was preempted: admit again */
        if (s->pulls_started) continue;   /* parked for a pull: try the rest */
        if (s->n_running == 0 && s->n_remote == 0) {
            /* the head can never be admitted (watermark or adapters): reject it */
            req_t *r = wait_peek(s);
            wait_remove(s, r);
            free_blocks(s, r);   /* back from a pull, it holds some */
            release_table(s, r);
            r->p.state = RS_DONE;
            r->finish = now_of(s);
            r->status = ES_SERVER_TOO_LONG;
            s->stats.rejected++;
            s->stats.finished++;
            s->hooks.on_finish(s->hooks.ud, r, r->finish);
            continue;
        }
        break;
    }
    s->in_handler = false;
}

/* ---------------------------------------------------------------- public */

/* The API server has processed r: it reaches the engine's waiting queue. */
static void ev_api_done(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim;
    es_server_t *s = target;
    req_t *r = (req_t *)(uintptr_t)arg;
    fe_unlink(s, r);
    r->p.fe_ev = 0;
    r->p.state = RS_NEW;
    ff_sync(s, false);
    wait_push(s, r, false);
    kick(s);
}

/* A chat request's first turn on its API process is over; its templated
 * prompt comes back from the tokeniser (off the event loop) at once, and its
 * second turn (the token ids checked, the engine request built and sent, in
 * proportion to the prompt) waits behind the work that became ready before it:
 * under a burst every request renders its template before any reaches the
 * engine, as asyncio runs them (vllm/entrypoints/openai/serving_chat.py). */
static void ev_api_rendered(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim;
    es_server_t *s = target;
    req_t *r = (req_t *)(uintptr_t)arg;
    es_time_t now = now_of(s);
    ff_sync(s, false);   /* the chunks of the steps ended by now are ahead of it */
    uint32_t i = r->p.api_proc;
    es_time_t start = s->api_free[i] > now ? s->api_free[i] : now;
    es_time_t done = start + (es_time_t)(s->api_tok_ns * r->p.prompt + 0.5);
    s->api_free[i] = done;
    r->p.fe_ev = es_sim_schedule(s->sim, done + s->api_latency, ev_api_done, s, (uint64_t)(uintptr_t)r);
    ES_ASSERT(r->p.fe_ev != 0, "out of memory for an event");
}

/* The parent hash of a request's first block: extra_keys, an adapter's
 * blocks never match the base model's */
static uint64_t chain_root(const char *lora)
{
    uint64_t h = ES_CONTENT_ROOT_HASH;
    if (lora)
        for (const char *c = lora; *c; c++) h = es_mix64(h ^ (uint8_t)*c);
    return h;
}

void es_server_submit(es_server_t *s, es_server_request_t *r)
{
    es_time_t now = now_of(s);
    memset(&r->p, 0, sizeof r->p);
    r->p.lora_idx = -1;
    r->submitted = now;
    r->admitted = r->first_token = r->finish = -1;
    r->cached_tokens = 0;
    r->preemptions = 0;
    r->status = 0;
    r->p.prompt = r->prompt.tokens;
    r->p.out_target = r->prefill_only ? 1 : (r->output_tokens ? r->output_tokens : 1);
    r->p.arrival = ++s->arr_ctr;
    r->p.root = ES_CONTENT_ROOT_HASH;
    r->p.out_seg.id = r->output_segment;
    r->p.out_seg.len = r->p.out_target;
    uint64_t total = (uint64_t)r->p.prompt + r->p.out_target;
    bool bad = r->p.prompt == 0 || total > s->max_model_len ||
               ceil_div(total, s->bs) > s->kv.n - 1 || (r->lora && s->max_loras == 0);
    if (bad) {
        r->p.state = RS_DONE;
        r->finish = now;
        r->status = ES_SERVER_TOO_LONG;
        s->stats.rejected++;
        s->stats.finished++;
        s->hooks.on_finish(s->hooks.ud, r, now);
        return;
    }
    if (r->lora) {
        r->p.lora_idx = lora_slot(s, r->lora);
        r->p.root = chain_root(r->lora);
    }
    if (s->fe_on) {   /* the API server first: one FIFO CPU per process */
        ff_sync(s, false);   /* the chunks of the steps ended by now are its earlier work */
        uint32_t best = 0;
        for (uint32_t i = 1; i < s->n_api; i++)
            if (s->api_free[i] < s->api_free[best]) best = i;
        es_time_t start = s->api_free[best] > now ? s->api_free[best] : now;
        r->p.state = RS_API;
        r->p.api_proc = (uint8_t)best;
        fe_link(s, r);
        if (r->chat && s->chat_yield) {   /* turn one: messages, chat template; then it awaits the tokeniser */
            es_time_t done = start + s->api_req + s->api_chat;
            s->api_free[best] = done;
            r->p.fe_ev = es_sim_schedule(s->sim, done, ev_api_rendered, s, (uint64_t)(uintptr_t)r);
            ES_ASSERT(r->p.fe_ev != 0, "out of memory for an event");
            return;
        }
        es_time_t done = start + s->api_req + (r->chat ? s->api_chat : 0) +
                         (es_time_t)(s->api_tok_ns * r->p.prompt + 0.5);
        s->api_free[best] = done;
        r->p.fe_ev = es_sim_schedule(s->sim, done + s->api_latency, ev_api_done, s, (uint64_t)(uintptr_t)r);
        ES_ASSERT(r->p.fe_ev != 0, "out of memory for an event");
        return;
    }
    ff_sync(s, false);
    wait_push(s, r, false);
    kick(s);
}

void es_server_abort(es_server_t *s, es_server_request_t *r)
{
    if (r->p.ft_ev) { es_sim_cancel(s->sim, r->p.ft_ev); r->p.ft_ev = 0; }
    if (r->p.state == RS_API || r->p.state == RS_DELIVER) {   /* never reached the client */
        es_sim_cancel(s->sim, r->p.fe_ev);
        r->p.fe_ev = 0;
        fe_unlink(s, r);
        if (r->p.state == RS_API) s->stats.finished++;   /* a delivering one was counted */
        r->p.state = RS_DONE;
        r->finish = now_of(s);
        r->status = ES_SERVER_ABORTED;
        s->hooks.on_finish(s->hooks.ud, r, r->finish);
        return;
    }
    if (r->p.state == RS_WAITING || r->p.state == RS_REMOTE) {
        if (r->p.state == RS_WAITING) wait_remove(s, r); else remote_unlink(s, r);
        free_blocks(s, r);   /* a pull's, parked or back */
        release_table(s, r);
        r->p.state = RS_DONE;
        r->finish = now_of(s);
        r->status = ES_SERVER_ABORTED;
        s->stats.finished++;
        s->hooks.on_finish(s->hooks.ud, r, r->finish);
        return;
    }
    if (r->p.state != RS_RUNNING) return;
    ff_sync(s, false);
    if (s->in_step && r->p.decoding) {
        bool scheduled = s->fast ? r->p.skip_step != s->k : r->p.sched_step == s->k;
        if (scheduled) {
            s->n_dec_sched--;
            s->n_dec_sched_meas -= r->measured;
            s->n_dec_sched_chat -= r->chat;
            s->step_chunks--;
            s->step_chat_chunks -= r->chat;
        }
    }
    finish_running(s, r, ES_SERVER_ABORTED);
}

void es_server_set_encoder(es_server_t *s, double us_per_token, uint32_t cache_images)
{
    s->enc_on = true;
    s->enc_ns_per_token = us_per_token * 1e3;
    s->enc_cap = cache_images;
    s->enc_n = 0;
    free(s->enc_hash);
    free(s->enc_used);
    s->enc_hash = cache_images ? es_xcalloc(cache_images, sizeof *s->enc_hash) : NULL;
    s->enc_used = cache_images ? es_xcalloc(cache_images, sizeof *s->enc_used) : NULL;
}

void es_server_kv_pull_done(es_server_t *s, es_server_request_t *r, bool ok)
{
    if (r->p.state != RS_REMOTE) return;
    ff_sync(s, false);
    remote_unlink(s, r);
    r->p.pull_state = ok ? 2 : 3;
    wait_push(s, r, true);   /* vLLM puts it back at the head of the waiting queue */
    kick(s);
}

void es_server_crash(es_server_t *s, int status)
{
    ff_sync(s, false);   /* the steps that ended before the crash count */
    if (s->pending) es_sim_cancel(s->sim, s->ev);
    s->pending = s->in_step = false;
    /* detach everything first: hooks may submit again */
    req_t *list = NULL;
    while (s->run_head) {
        req_t *r = s->run_head;
        if (r->p.decoding) dec_leave(s, r); else s->n_prefilling--;
        free_blocks(s, r);
        release_table(s, r);
        run_remove(s, r);
        lora_run_add(s, r, -1);
        r->p.due_next = list;
        list = r;
    }
    for (req_t *r; (r = wait_peek(s)) != NULL;) {
        wait_remove(s, r);
        free_blocks(s, r);
        release_table(s, r);
        r->p.due_next = list;
        list = r;
    }
    while (s->remote_head) {
        req_t *r = s->remote_head;
        remote_unlink(s, r);
        free_blocks(s, r);
        release_table(s, r);
        r->p.due_next = list;
        list = r;
    }
    while (s->fe_head) {   /* the API server goes down with the engine */
        req_t *r = s->fe_head;
        fe_unlink(s, r);
        es_sim_cancel(s->sim, r->p.fe_ev);
        r->p.fe_ev = 0;
        if (r->p.state == RS_DELIVER) s->stats.finished--;   /* counted once below */
        r->p.due_next = list;
        list = r;
    }
    for (uint32_t i = 0; i < s->n_api; i++) s->api_free[i] = 0;
    s->d_now = s->d_prev = 0;
    s->npf = s->nlate = s->ndue = 0;
    s->fin = NULL;
    for (uint32_t i = 0; i < s->nlora; i++) s->lora[i].loaded = false;
    s->n_lora_loaded = 0;
    es_kvcache_clear(&s->kv);
    s->enc_n = 0;   /* the encoder cache too */
    if (s->offload) es_kvcache_clear(&s->cpu);   /* the host copies go with the process */
    es_time_t now = now_of(s);
    while (list) {
        req_t *r = list;
        list = r->p.due_next;
        if (r->p.ft_ev) { es_sim_cancel(s->sim, r->p.ft_ev); r->p.ft_ev = 0; }
        r->p.state = RS_DONE;
        r->finish = now;
        r->status = status;
        s->stats.finished++;
        s->hooks.on_finish(s->hooks.ud, r, now);
    }
}

uint32_t es_server_request_outputs(const es_server_t *s, const es_server_request_t *r)
{
    if (r->finish >= 0) return r->p.out_target;
    return r->p.decoding ? dec_outputs(s, r) : r->p.outputs;
}

void es_server_metrics(const es_server_t *s, es_endpoint_metrics_t *m)
{
    memset(m, 0, sizeof *m);
    m->update_time = now_of(s);
    m->waiting = (int32_t)(s->n_waiting + s->n_remote);   /* vLLM keeps WAITING_FOR_REMOTE_KVS in waiting */
    m->running = (int32_t)s->n_running;
    m->kv_cache_usage = es_kvcache_usage(&s->kv);
    m->prefix_queries = s->q_tokens;
    m->prefix_hits = s->h_tokens;
    m->block_size = s->bs;
    m->num_gpu_blocks = s->kv.n;
    m->max_lora = (int32_t)s->max_loras;
    for (uint32_t i = 0; i < s->nlora; i++) {
        if (s->lora[i].running && m->n_running_lora < ES_LORA_LIST_MAX)
            m->running_lora[m->n_running_lora++] = s->lora[i].name;
        if (s->lora[i].waiting && m->n_waiting_lora < ES_LORA_LIST_MAX)
            m->waiting_lora[m->n_waiting_lora++] = s->lora[i].name;
    }
}

uint32_t es_server_num_gpu_blocks(const es_server_t *s) { return s->kv.n; }
uint32_t es_server_free_blocks(const es_server_t *s) { return s->kv.nfree; }
uint64_t es_server_kv_event_parent(const es_server_t *s) { return s->kv.ev_parent; }
uint32_t es_server_block_size(const es_server_t *s) { return s->bs; }

/* Tokens of the prompt's leading full blocks found in the GPU tier (gpu)
 * and/or the host tier (cpu), at most max_tokens. */
static uint32_t held_prefix(const es_server_t *s, const es_content_t *prompt, const char *lora, uint32_t max_tokens,
                            bool gpu, bool cpu)
{
    es_block_iter_t it;
    es_block_iter_init(&it, prompt, NULL, 0, 0, s->bs, max_tokens);
    it.parent = chain_root(lora);
    uint32_t n = 0;
    uint64_t h;
    while (es_block_iter_next(&it, &h) && ((gpu && es_kvcache_lookup(&s->kv, h) != ES_KV_NONE) ||
                                           (cpu && es_kvcache_lookup(&s->cpu, h) != ES_KV_NONE)))
        n++;
    return n * s->bs;
}

uint32_t es_server_offloaded_prefix(const es_server_t *s, const es_content_t *prompt, const char *lora,
                                    uint32_t max_tokens)
{
    return s->offload ? held_prefix(s, prompt, lora, max_tokens, false, true) : 0;
}

uint32_t es_server_cached_prefix(const es_server_t *s, const es_content_t *prompt, const char *lora,
                                 uint32_t max_tokens)
{
    return s->prefix_caching ? held_prefix(s, prompt, lora, max_tokens, true, s->offload) : 0;
}
void es_server_sync(es_server_t *s) { ff_sync(s, true); }

void es_server_stats(const es_server_t *s, es_server_stats_t *out)
{
    *out = s->stats;
    if (!s->ff) return;
    /* the stretch's steps begun before now (ff_sync's rule at a tie) */
    es_time_t start = s->ff_t, now = now_of(s);
    for (uint64_t i = s->k + 1; i <= s->ff_last && start < now; i++) {
        es_time_t dt = s->ff_dt[i & s->ring_mask];
        count_plain(out, s->n_dec, dt);
        start += dt;
    }
}

double es_server_step_time_us(const es_server_t *s, uint32_t n_prefill, const uint32_t *q,
                              const uint32_t *p, uint32_t n_decode, uint64_t sum_ctx)
{
    es_step_comp_t c = {n_prefill, q, p, n_decode, sum_ctx, n_prefill + n_decode};
    return es_steptime_us(&s->st, &c);
}
