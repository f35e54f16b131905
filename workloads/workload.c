/*
 * workload.c -- the request stream (es_workload.h).
 *
 * Structure: a *source* makes the content of the next request (a trace
 * record, a shared_prefix question, synthetic lengths, a session turn), and
 * a *clock* says when it arrives (trace timestamps, an open-loop process
 * with rate stages, closed-loop clients, session think times).  Open-loop
 * requests are materialised one ahead (`ahead`); requests that depend on
 * completions (closed-loop clients, next session turns, closed-loop session
 * starts) wait in a small binary heap keyed by (time, seq).  Requests are
 * records from a free-list pool; each keeps its segment array and string
 * arena between uses, so steady state allocates nothing.
 */
#include "es_workload.h"

#include <gsl/gsl_randist.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dist.h"
#include "es_gsl.h"
#include "es_trace.h"
#include "es_alloc.h"
#include "es_str.h"

/* Segment-id namespaces: ids of different origins never meet. */
enum {
    TAG_UNIQUE = 2, TAG_PREFIX = 3, TAG_SYSTEM = 4, TAG_QUESTION = 5,
    TAG_OUTPUT = 6, TAG_SESSION_SYS = 7, TAG_TURN = 8, TAG_IMAGE = 9
};

static inline uint64_t seg_id(uint64_t tag, uint64_t a, uint64_t b)
{
    return es_mix64(es_mix64(tag * ES_HASH_WEYL ^ a) ^ (b + ES_HASH_OFFSET));
}

typedef struct wl_req {
    es_wl_request_t pub;            /* first: es_wl_request_t * <-> wl_req * */
    es_segment_t   *segs;           /* grow-only */
    uint32_t        segs_cap;
    char           *arena;          /* strings of this request (grow-only) */
    size_t          arena_cap, arena_used;
    es_header_t     hdrs[ES_TRACE_MAX_HEADERS];
    struct wl_req  *next_free;
    struct wl_req  *all_next;       /* every record ever allocated (freed by destroy) */
    esi_bench_req_t breq;           /* bench workloads: what the client's loop needs back */
    es_mm_item_t   *mm;             /* images (grow-only; kept by req_get) */
    uint32_t        mm_cap;
} wl_req_t;

typedef struct stage {
    double    rate;
    es_time_t start, end;
} stage_t;

enum { EV_CLIENT = 1, EV_TURN = 2, EV_SESSION_START = 3 };
typedef struct hent {
    es_time_t t;
    uint64_t  seq;
    uint32_t  kind, idx;
} hent_t;

typedef struct session {
    es_segment_t *hist;      /* system prompt, user 1, output 1, ... (grow-only) */
    uint32_t      nhist, cap;
    uint32_t      turns_left;
    uint64_t      sid;
    es_rng_t      rng;       /* think times */
    gsl_rng      *len_rng;   /* user and output lengths */
    uint32_t      next_free; /* free-list link (slot + 1) */
    char          tok_name[ES_WL_TOKEN_MAX], tok[ES_WL_TOKEN_MAX];   /* echoed response header; "" none */
} session_t;

/* A replayed trace's session (eppsim JSONL `session`): the last
 * session-affinity token an answer of it carried, which its next requests
 * send, as a chat client would.  id, header name and value: one block. */
typedef struct trace_token {
    uint64_t hash;   /* 0: empty slot */
    char    *block;  /* id\0name\0value\0 */
    char    *name, *value;
} trace_token_t;

typedef struct mix_item {
    char    *name;
    char    *lora;
    int32_t  priority;
    double   cum;            /* cumulative probability */
    /* objectives: the class's SLO headers (x-slo-ttft-ms, x-slo-tpot-ms) */
    char        slo_val[2][32];
    es_header_t slo_hdr[2];
    uint32_t    nslo;
    int64_t     images, image_tokens;   /* objectives: the class's images; -1 = workload.images */
} mix_item_t;

struct es_workload {
    int       type;                    /* ES_WL_* */
    uint64_t  seed;
    char     *model, *path;
    uint64_t  limit;                   /* num_requests; 0 = none */
    es_time_t horizon;                 /* duration_s; ES_TIME_NEVER = none */
    /* clock */
    int       process;                 /* ES_ARRIVAL_* */
    double    cv;
    int64_t   concurrency;
    stage_t  *stages; size_t nstages;
    size_t    cur_stage;
    es_time_t next_t;                  /* next open-loop arrival */
    bool      clock_started, clock_done;
    bool      drain;                   /* arrival.drain_stages */
    bool      clock_wait;              /* a stage's time is up; waiting for its requests to end */
    double    stage_interval_s;
    uint64_t  stage_out;               /* requests of the current stage handed out, not ended (drain) */
    es_time_t drained_at;              /* when the waiting stage's last request ended */
    es_rng_t  arr_rng;
    gsl_rng  *arr_gsl;
    /* trace source */
    es_trace_t *trace;
    bool      trace_time;              /* timestamps drive arrivals */
    double    tscale;                  /* arrival = (t - start) * tscale */
    es_time_t win_start, win_end;
    double    sample;
    es_rng_t  sample_rng;
    uint32_t  block_tokens;
    bool      source_done;
    /* generators */
    esi_dist_t in_dist, out_dist;
    gsl_rng  *len_gsl;
    esi_zipf_t prefix_zipf, group_zipf, sys_zipf;
    es_content_config_t content;
    es_shared_prefix_config_t sp;
    es_sessions_config_t sess_cfg;
    es_images_config_t img;
    esi_zipf_t img_zipf;
    const es_mm_item_t *trace_mm;      /* the current trace line's "images" */
    uint32_t  trace_nmm;
    /* mix */
    mix_item_t *models; size_t nmodels;
    mix_item_t *objs; size_t nobjs;
    double    shed;
    /* state */
    wl_req_t *ahead;                   /* next open-loop request, materialised */
    hent_t   *heap; size_t nheap, heap_cap;
    uint64_t  heap_seq;
    session_t *sess; uint32_t nsess, sess_cap, sess_free;
    uint64_t  sessions_started;
    trace_token_t *toks; size_t ntoks, toks_cap;   /* open addressing, cap a power of two */
    uint64_t  made;                    /* materialised requests (content ids) */
    uint64_t  handed;                  /* handed out (pub.id) */
    uint64_t  inflight;                /* handed out, not completed (closed loop / sessions) */
    wl_req_t *free_list;
    wl_req_t *all;                     /* every record, handed out or not */
    int       pending_err; es_err_t pending_msg;
    esi_bench_t *bench;                /* a benchmark client's replay (bench.h); NULL otherwise */
};

/* ---------------------------------------------------------------- pool */

static wl_req_t *req_get(es_workload_t *w)
{
    wl_req_t *r = w->free_list;
    if (r) w->free_list = r->next_free;
    else if ((r = calloc(1, sizeof *r))) { r->all_next = w->all; w->all = r; }
    else return NULL;
    es_segment_t *segs = r->segs; uint32_t cap = r->segs_cap;
    char *arena = r->arena; size_t acap = r->arena_cap;
    wl_req_t *all_next = r->all_next;
    memset(r, 0, offsetof(wl_req_t, breq));
    memset(&r->breq, 0, sizeof r->breq);
    r->segs = segs; r->segs_cap = cap; r->arena = arena; r->arena_cap = acap;
    r->all_next = all_next;
    return r;
}

static int req_segs(wl_req_t *r, uint32_t n)
{
    if (n <= r->segs_cap) return 0;
    uint32_t c = r->segs_cap ? r->segs_cap : 16;
    while (c < n) c *= 2;
    es_segment_t *s = realloc(r->segs, c * sizeof *s);
    if (!s) return ES_ENOMEM;
    r->segs = s; r->segs_cap = c;
    return 0;
}

/* Reserves arena room for strings of total length `need` (call once per request
 * before req_str, so pointers into the arena stay valid). */
static int req_arena(wl_req_t *r, size_t need)
{
    if (need <= r->arena_cap) return 0;
    size_t c = r->arena_cap ? r->arena_cap : 256;
    while (c < need) c *= 2;
    char *a = realloc(r->arena, c);
    if (!a) return ES_ENOMEM;
    r->arena = a; r->arena_cap = c;
    return 0;
}

static const char *req_str(wl_req_t *r, const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    ES_ASSERT(r->arena_used + n <= r->arena_cap, "arena reserved too small");
    char *d = r->arena + r->arena_used;
    memcpy(d, s, n);
    r->arena_used += n;
    return d;
}

static void req_put(es_workload_t *w, wl_req_t *r)
{
    r->next_free = w->free_list;
    w->free_list = r;
}

/* ---------------------------------------------------------------- heap */

static bool hless(const hent_t *a, const hent_t *b) { return a->t < b->t || (a->t == b->t && a->seq < b->seq); }

static int heap_push(es_workload_t *w, es_time_t t, uint32_t kind, uint32_t idx)
{
    if (w->nheap == w->heap_cap) {
        size_t c = w->heap_cap ? w->heap_cap * 2 : 64;
        hent_t *h = realloc(w->heap, c * sizeof *h);
        if (!h) return ES_ENOMEM;
        w->heap = h; w->heap_cap = c;
    }
    hent_t e = {t, w->heap_seq++, kind, idx};
    size_t i = w->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hless(&e, &w->heap[p])) break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = e;
    return 0;
}

static hent_t heap_pop(es_workload_t *w)
{
    hent_t top = w->heap[0], last = w->heap[--w->nheap];
    size_t i = 0, n = w->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && hless(&w->heap[c + 1], &w->heap[c])) c++;
        if (!hless(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

/* ---------------------------------------------------------------- clock */

static void enter_stage(es_workload_t *w, size_t i)
{
    w->cur_stage = i;
    es_rng_stream(&w->arr_rng, w->seed, ES_WL_ENTITY_STAGE, i, ES_STREAM_ARRIVALS);
    if (w->arr_gsl) memcpy(es_gsl_rng_state(w->arr_gsl), &w->arr_rng, sizeof w->arr_rng);
}

static double gap_s(es_workload_t *w, double rate)
{
    switch (w->process) {
    case ES_ARRIVAL_CONSTANT: return 1.0 / rate;
    case ES_ARRIVAL_GAMMA: {
        double k = 1.0 / (w->cv * w->cv);
        return gsl_ran_gamma(w->arr_gsl, k, 1.0 / (rate * k));
    }
    default: return es_rng_exp(&w->arr_rng, 1.0 / rate);
    }
}

/* Next open-loop arrival time, or ES_TIME_NEVER when the stages are over.
 * A stage boundary restarts the process at the boundary with the new rate. */
static es_time_t clock_next(es_workload_t *w)
{
    if (w->clock_done) return ES_TIME_NEVER;
    es_time_t t = w->clock_started ? w->next_t : w->stages[0].start;
    if (!w->clock_started) {
        w->clock_started = true;
        enter_stage(w, 0);
        /* the first request of a constant process arrives at 0, others after one gap */
        if (w->process != ES_ARRIVAL_CONSTANT && w->stages[0].rate > 0)
            t = es_time_add_sat(t, es_time_from_s(gap_s(w, w->stages[0].rate)));
    }
    for (;;) {
        stage_t *st = &w->stages[w->cur_stage];
        if (st->rate > 0 && t < st->end) break;
        if (w->cur_stage + 1 >= w->nstages) { w->clock_done = true; return ES_TIME_NEVER; }
        if (w->drain) {
            /* the next stage starts stage_interval_s after this one drained (its
             * time is up and every request it sent has ended); later stages shift */
            if (w->stage_out > 0) {
                w->clock_wait = true;
                w->next_t = t;
                return ES_TIME_NEVER;
            }
            es_time_t drained = w->clock_wait && w->drained_at > st->end ? w->drained_at : st->end;
            w->clock_wait = false;
            es_time_t shift = drained + es_time_from_s(w->stage_interval_s) - w->stages[w->cur_stage + 1].start;
            for (size_t i = w->cur_stage + 1; i < w->nstages; i++) {
                w->stages[i].start += shift;
                if (w->stages[i].end != ES_TIME_NEVER) w->stages[i].end += shift;
            }
            if (w->horizon != ES_TIME_NEVER) w->horizon += shift;
        }
        t = w->drain ? w->stages[w->cur_stage + 1].start : st->end;
        enter_stage(w, w->cur_stage + 1);
        if (w->process != ES_ARRIVAL_CONSTANT && w->stages[w->cur_stage].rate > 0)
            t = es_time_add_sat(t, es_time_from_s(gap_s(w, w->stages[w->cur_stage].rate)));
    }
    w->next_t = es_time_add_sat(t, es_time_from_s(gap_s(w, w->stages[w->cur_stage].rate)));
    return t;
}

static uint32_t stage_of(const es_workload_t *w, es_time_t t)
{
    for (size_t i = 0; i < w->nstages; i++)
        if (t < w->stages[i].end) return (uint32_t)i;
    return (uint32_t)(w->nstages - 1);
}

/* ---------------------------------------------------------------- content */

/* Length-only content: an optional shared prefix (Zipf over the pool), then
 * tokens unique to this request. */
static int synth_content(es_workload_t *w, wl_req_t *r, uint32_t tokens, uint64_t key)
{
    if (req_segs(r, 2) < 0) return ES_ENOMEM;
    uint32_t n = 0;
    const es_content_config_t *c = &w->content;
    if (c->prefix_pool > 0 && c->prefix_len > 0 && tokens > 1) {
        es_rng_t rng;
        es_rng_stream(&rng, w->seed, ES_WL_ENTITY_REQUEST, key, ES_STREAM_CONTENT);
        if (c->prefix_fraction >= 1 || es_rng_uniform(&rng) < c->prefix_fraction) {
            uint64_t k = esi_zipf_draw(&w->prefix_zipf, &rng);
            uint32_t len = (uint64_t)c->prefix_len < tokens - 1 ? (uint32_t)c->prefix_len : tokens - 1;
            r->segs[n++] = (es_segment_t){seg_id(TAG_PREFIX, k, 0), len};
            tokens -= len;
        }
    }
    r->segs[n++] = (es_segment_t){seg_id(TAG_UNIQUE, w->seed, key), tokens};
    r->pub.prompt.nsegs = n;
    return 0;
}

static void finish_prompt(wl_req_t *r)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i < r->pub.prompt.nsegs; i++) sum += r->segs[i].len;
    r->pub.prompt.segs = r->segs;
    r->pub.prompt.tokens = sum;
}

/* The class's SLO headers go with the request: as its only headers, or after
 * those its trace line carried (while they fit in ES_TRACE_MAX_HEADERS). */
static void add_slo_headers(wl_req_t *r, const mix_item_t *it)
{
    if (!it->nslo) return;
    if (r->pub.nheaders == 0) {
        r->pub.headers = it->slo_hdr;
        r->pub.nheaders = it->nslo;
        return;
    }
    if (r->pub.headers != r->hdrs) return;
    for (uint32_t i = 0; i < it->nslo && r->pub.nheaders < ES_TRACE_MAX_HEADERS; i++) r->hdrs[r->pub.nheaders++] = it->slo_hdr[i];
}

/* The request's images (workload.images, its class's override, or its trace
 * line's): items drawn from their own stream, so nothing else shifts; their
 * placeholder tokens go before the prompt's last segment (the request's own
 * text: question, user turn, unique part). */
static void attach_images(es_workload_t *w, wl_req_t *r, uint64_t key, const mix_item_t *cls)
{
    uint32_t n = w->trace_nmm;
    if (n == 0) {
        int64_t per = cls && cls->images >= 0 ? cls->images : w->img.per_request;
        if (per <= 0) return;
        es_rng_t rng;
        es_rng_stream(&rng, w->seed, ES_WL_ENTITY_REQUEST, key, ES_STREAM_IMAGES);
        if (w->img.fraction < 1 && es_rng_uniform(&rng) >= w->img.fraction) return;
        uint32_t tokens = (uint32_t)(cls && cls->image_tokens > 0 ? cls->image_tokens : w->img.tokens);
        n = (uint32_t)per;
        if (n > r->mm_cap) { r->mm = es_xrealloc(r->mm, n * sizeof *r->mm); r->mm_cap = n; }
        for (uint32_t j = 0; j < n; j++) {
            uint64_t id = w->img.pool > 0 ? seg_id(TAG_IMAGE, w->seed, esi_zipf_draw(&w->img_zipf, &rng))
                                          : seg_id(TAG_IMAGE, w->seed ^ (key << 7), j + 1);
            r->mm[j] = (es_mm_item_t){id, tokens};
        }
    } else {
        if (n > r->mm_cap) { r->mm = es_xrealloc(r->mm, n * sizeof *r->mm); r->mm_cap = n; }
        memcpy(r->mm, w->trace_mm, n * sizeof *r->mm);
    }
    uint32_t ns = r->pub.prompt.nsegs, at = ns ? ns - 1 : 0;
    if (ns + n > r->segs_cap) {
        r->segs = es_xrealloc(r->segs, (ns + n) * sizeof *r->segs);
        r->segs_cap = ns + n;
    }
    memmove(r->segs + at + n, r->segs + at, (ns - at) * sizeof *r->segs);
    for (uint32_t j = 0; j < n; j++) r->segs[at + j] = (es_segment_t){r->mm[j].hash, r->mm[j].tokens};
    r->pub.prompt.nsegs = ns + n;
    finish_prompt(r);
    r->pub.mm = r->mm;
    r->pub.nmm = n;
}

/* Mix of models / objectives / sheddable share: drawn from the request's own
 * stream, so they never shift arrivals or lengths.  Fields already set by
 * the source (eppsim JSONL) are kept. */
static void apply_mix(es_workload_t *w, wl_req_t *r, uint64_t key, bool has_model, bool has_obj)
{
    es_rng_t rng;
    es_rng_stream(&rng, w->seed, ES_WL_ENTITY_REQUEST, key, ES_STREAM_WORKLOAD_MIX);
    double um = es_rng_uniform(&rng), uo = es_rng_uniform(&rng), us = es_rng_uniform(&rng);
    if (!has_model) {
        r->pub.model = w->model;
        for (size_t i = 0; i < w->nmodels; i++)
            if (um < w->models[i].cum) { r->pub.model = w->models[i].name; r->pub.lora = w->models[i].lora; break; }
    }
    const mix_item_t *cls = NULL;
    if (!has_obj) {
        for (size_t i = 0; i < w->nobjs; i++)
            if (uo < w->objs[i].cum) {
                r->pub.objective = w->objs[i].name;
                r->pub.priority = w->objs[i].priority;
                add_slo_headers(r, &w->objs[i]);
                cls = &w->objs[i];
                break;
            }
        if (us < w->shed) { r->pub.objective = "sheddable"; r->pub.priority = -1; }
    }
    attach_images(w, r, key, cls);
}

/* Reads the next kept trace record into r; 0 = none left. */
static int trace_fill(es_workload_t *w, wl_req_t *r, es_time_t *t_out, es_err_t *err)
{
    es_trace_rec_t rec;
    for (;;) {
        int rc = es_trace_next(w->trace, &rec, err);
        if (rc <= 0) return rc;
        if (rec.has_time && w->trace_time) {
            if (rec.t < w->win_start) continue;
            if (w->win_end > 0 && rec.t >= w->win_end) return 0;
        }
        if (w->sample < 1 && es_rng_uniform(&w->sample_rng) >= w->sample) continue;
        break;
    }
    uint64_t key = w->made;
    if (rec.nhash) {
        if (req_segs(r, rec.nhash) < 0) return es_err_set(err, ES_ENOMEM, "out of memory");
        es_trace_mooncake_content(&rec, w->block_tokens, r->segs);
        r->pub.prompt.nsegs = rec.nhash;
    } else if (rec.nsegs) {
        if (req_segs(r, rec.nsegs) < 0) return es_err_set(err, ES_ENOMEM, "out of memory");
        memcpy(r->segs, rec.segs, rec.nsegs * sizeof *rec.segs);
        r->pub.prompt.nsegs = rec.nsegs;
    } else if (synth_content(w, r, rec.input_tokens ? rec.input_tokens : 1, key) < 0) {
        return es_err_set(err, ES_ENOMEM, "out of memory");
    }
    finish_prompt(r);
    r->pub.output_tokens = rec.output_tokens ? rec.output_tokens : 1;
    r->pub.output_segment = rec.has_output_segment ? rec.output_segment : seg_id(TAG_OUTPUT, w->seed, key);
    bool eppsim = es_trace_format(w->trace) == ES_TRACE_EPPSIM;
    if (eppsim) {
        size_t need = 0;
        const char *strs[] = {rec.path, rec.model, rec.objective, rec.session, rec.lora};
        for (size_t i = 0; i < 5; i++) if (strs[i]) need += strlen(strs[i]) + 1;
        for (uint32_t i = 0; i < rec.nheaders; i++)
            need += strlen(rec.headers[i].name) + strlen(rec.headers[i].value) + 2;
        if (rec.session) need += 2 * ES_WL_TOKEN_MAX;   /* room for the echoed token (trace_echo) */
        if (req_arena(r, need) < 0) return es_err_set(err, ES_ENOMEM, "out of memory");
        if (rec.path) r->pub.path = req_str(r, rec.path);
        r->pub.model = req_str(r, rec.model);
        r->pub.objective = req_str(r, rec.objective);
        r->pub.session = req_str(r, rec.session);
        r->pub.lora = req_str(r, rec.lora);
        if (rec.has_priority) r->pub.priority = rec.priority;
        for (uint32_t i = 0; i < rec.nheaders; i++) {
            r->hdrs[i].name = req_str(r, rec.headers[i].name);
            r->hdrs[i].value = req_str(r, rec.headers[i].value);
        }
        r->pub.headers = rec.nheaders ? r->hdrs : NULL;
        r->pub.nheaders = rec.nheaders;
    }
    w->trace_mm = rec.images;
    w->trace_nmm = rec.nimages;
    apply_mix(w, r, key, eppsim && rec.model, eppsim && (rec.objective || rec.has_priority));
    w->trace_nmm = 0;
    if (w->trace_time) {
        if (!rec.has_time) return es_err_set(err, ES_EPARSE, "%s:%" PRIu64 ": expected a timestamp",
                                             es_trace_path(w->trace), rec.line);
        double ns = (double)(rec.t - w->win_start) * w->tscale;
        if (ns > ES_TIME_MAX_S * 1e9)   /* time_scale or target_rate stretched the trace beyond any run */
            return es_err_set(err, ES_ERANGE, "%s:%" PRIu64 ": workload.trace.time_scale: this arrival lands at %g s, "
                              "beyond the %g s a run may last", es_trace_path(w->trace), rec.line, ns / 1e9,
                              ES_TIME_MAX_S);
        *t_out = es_time_trunc_ns_f(ns);
    }
    return 1;
}

static int shared_prefix_fill(es_workload_t *w, wl_req_t *r)
{
    const es_shared_prefix_config_t *sp = &w->sp;
    uint64_t key = w->made;
    es_rng_t rng;
    es_rng_stream(&rng, w->seed, ES_WL_ENTITY_REQUEST, key, ES_STREAM_CONTENT);
    uint64_t g = esi_zipf_draw(&w->group_zipf, &rng);
    uint64_t q = es_rng_below(&rng, (uint64_t)sp->num_prompts_per_group);
    uint64_t qi = g * (uint64_t)sp->num_prompts_per_group + q;
    /* the question's length is a property of the question: its own stream */
    es_rng_t qr;
    es_rng_stream(&qr, w->seed, ES_WL_ENTITY_QUESTION, qi, ES_STREAM_LENGTHS);
    gsl_rng *gq = w->len_gsl;
    es_rng_t saved = *es_gsl_rng_state(gq);
    *es_gsl_rng_state(gq) = qr;
    uint32_t qlen = esi_normal_len(gq, (double)sp->question_len, sp->question_len_std);
    *es_gsl_rng_state(gq) = saved;
    if (req_segs(r, 2) < 0) return ES_ENOMEM;
    uint32_t n = 0;
    if (sp->system_prompt_len > 0)
        r->segs[n++] = (es_segment_t){seg_id(TAG_SYSTEM, w->seed, g), (uint32_t)sp->system_prompt_len};
    r->segs[n++] = (es_segment_t){seg_id(TAG_QUESTION, w->seed, qi), qlen};
    r->pub.prompt.nsegs = n;
    finish_prompt(r);
    r->pub.output_tokens = esi_normal_len(w->len_gsl, (double)sp->output_len, sp->output_len_std);
    r->pub.output_segment = seg_id(TAG_OUTPUT, w->seed, key);
    apply_mix(w, r, key, false, false);
    return 1;
}

static int synthetic_fill(es_workload_t *w, wl_req_t *r)
{
    uint64_t key = w->made;
    uint32_t in = esi_dist_draw(&w->in_dist, w->len_gsl);
    r->pub.output_tokens = esi_dist_draw(&w->out_dist, w->len_gsl);
    if (synth_content(w, r, in, key) < 0) return ES_ENOMEM;
    finish_prompt(r);
    r->pub.output_segment = seg_id(TAG_OUTPUT, w->seed, key);
    apply_mix(w, r, key, false, false);
    return 1;
}

/* ---------------------------------------------------------------- sessions */

static int session_start(es_workload_t *w, uint32_t *slot_out)
{
    uint32_t slot;
    if (w->sess_free) {
        slot = w->sess_free - 1;
        w->sess_free = w->sess[slot].next_free;
    } else {
        if (w->nsess == w->sess_cap) {
            uint32_t c = w->sess_cap ? w->sess_cap * 2 : 64;
            session_t *s = realloc(w->sess, c * sizeof *s);
            if (!s) return ES_ENOMEM;
            memset(s + w->sess_cap, 0, (c - w->sess_cap) * sizeof *s);
            w->sess = s; w->sess_cap = c;
        }
        slot = w->nsess++;
        es_rng_t z = {{1, 0, 0, 0}};
        if (!(w->sess[slot].len_rng = es_gsl_rng_new(&z))) return ES_ENOMEM;
    }
    session_t *s = &w->sess[slot];
    s->sid = w->sessions_started++;
    s->nhist = 0;
    s->tok[0] = '\0';
    es_rng_stream(&s->rng, w->seed, ES_WL_ENTITY_SESSION, s->sid, ES_STREAM_SESSIONS);
    es_rng_t lr;
    es_rng_stream(&lr, w->seed, ES_WL_ENTITY_SESSION, s->sid, ES_STREAM_LENGTHS);
    *es_gsl_rng_state(s->len_rng) = lr;
    const es_sessions_config_t *c = &w->sess_cfg;
    uint64_t span = (uint64_t)(c->turns_max - c->turns_min + 1);
    s->turns_left = (uint32_t)c->turns_min + (uint32_t)es_rng_below(&s->rng, span);
    if (c->system_prompt_len > 0) {
        es_rng_t cr;
        es_rng_stream(&cr, w->seed, ES_WL_ENTITY_SESSION, s->sid, ES_STREAM_CONTENT);
        uint64_t k = esi_zipf_draw(&w->sys_zipf, &cr);
        if (s->cap < 16) {
            es_segment_t *h = realloc(s->hist, 16 * sizeof *h);
            if (!h) return ES_ENOMEM;
            s->hist = h; s->cap = 16;
        }
        s->hist[s->nhist++] = (es_segment_t){seg_id(TAG_SESSION_SYS, w->seed, k), (uint32_t)c->system_prompt_len};
    }
    *slot_out = slot;
    return 0;
}

static void session_end(es_workload_t *w, uint32_t slot)
{
    w->sess[slot].next_free = w->sess_free;
    w->sess_free = slot + 1;
}

/* The next turn of session `slot`: history + a new user message. */
static int session_fill(es_workload_t *w, wl_req_t *r, uint32_t slot)
{
    session_t *s = &w->sess[slot];
    if (s->nhist + 2 > s->cap) {
        uint32_t c = s->cap ? s->cap * 2 : 16;
        while (c < s->nhist + 2) c *= 2;
        es_segment_t *h = realloc(s->hist, c * sizeof *h);
        if (!h) return ES_ENOMEM;
        s->hist = h; s->cap = c;
    }
    uint32_t user = esi_dist_draw(&w->in_dist, s->len_rng);
    uint32_t turn = s->nhist;   /* unique within the session */
    s->hist[s->nhist++] = (es_segment_t){seg_id(TAG_TURN, s->sid ^ (w->seed << 20), turn), user};
    if (req_segs(r, s->nhist) < 0) return ES_ENOMEM;
    memcpy(r->segs, s->hist, s->nhist * sizeof *s->hist);
    r->pub.prompt.nsegs = s->nhist;
    finish_prompt(r);
    r->pub.output_tokens = esi_dist_draw(&w->out_dist, s->len_rng);
    r->pub.output_segment = seg_id(TAG_OUTPUT, w->seed ^ 0x5e55, (s->sid << 24) ^ turn);
    if (req_arena(r, 24 + (s->tok[0] ? strlen(s->tok_name) + strlen(s->tok) + 2 : 0)) < 0) return ES_ENOMEM;
    char sid[24];
    snprintf(sid, sizeof sid, "s%" PRIu64, s->sid);
    r->pub.session = req_str(r, sid);
    if (s->tok[0]) {   /* the token the last answer carried */
        r->hdrs[0] = (es_header_t){.name = req_str(r, s->tok_name), .value = req_str(r, s->tok)};
        r->pub.headers = r->hdrs;
        r->pub.nheaders = 1;
    }
    r->pub.session_idx_ = slot + 1;
    s->turns_left--;
    apply_mix(w, r, w->made, false, false);
    return 1;
}

/* ---------------------------------------------------------------- create */

static int load_mix_list(const es_node_t *list, const char *path, bool objectives,
                         mix_item_t **out, size_t *n_out, es_err_t *err)
{
    *out = NULL; *n_out = 0;
    if (!list || es_node_is_null(list)) return 0;
    int rc = es_node_expect_seq(list, path, err);
    if (rc < 0) return rc;
    static const char *const k_model_keys[] = {"name", "weight", "lora", NULL};
    static const char *const k_obj_keys[] = {"name", "priority", "weight", "slo_ttft_ms", "slo_tpot_ms",
                                             "images_per_request", "image_tokens", NULL};
    mix_item_t *items = calloc(list->n ? list->n : 1, sizeof *items);
    if (!items) return es_err_set(err, ES_ENOMEM, "out of memory");
    double sum = 0;
    char p[256];
    for (size_t i = 0; i < list->n; i++) {
        const es_node_t *it = list->items[i];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if ((rc = es_node_expect_map(it, p, err)) < 0) goto fail;
        if ((rc = es_map_check_keys(it, p, objectives ? k_obj_keys : k_model_keys, err)) < 0) goto fail;
        const char *name = NULL, *lora = NULL;
        const es_node_t *nn = es_map_get(it, "name");
        char kp[300];
        snprintf(kp, sizeof kp, "%s.name", p);
        if (!nn) { rc = es_node_err(err, ES_EINVAL, it, kp, "missing"); goto fail; }
        if ((rc = es_node_to_str(nn, kp, &name, err)) < 0) goto fail;
        double wgt = 1;
        const es_node_t *wn = es_map_get(it, "weight");
        snprintf(kp, sizeof kp, "%s.weight", p);
        if (wn && (rc = es_node_to_double(wn, kp, 0, 1e9, &wgt, err)) < 0) goto fail;
        if (objectives) {
            int64_t pr = 0;
            const es_node_t *pn = es_map_get(it, "priority");
            snprintf(kp, sizeof kp, "%s.priority", p);
            if (pn && (rc = es_node_to_i64(pn, kp, INT32_MIN, INT32_MAX, &pr, err)) < 0) goto fail;
            items[i].priority = (int32_t)pr;
            /* the class's images (workload.images per class) */
            static const char *const ik[2] = {"images_per_request", "image_tokens"};
            int64_t *iv[2] = {&items[i].images, &items[i].image_tokens};
            for (int k = 0; k < 2; k++) {
                *iv[k] = -1;
                const es_node_t *in_ = es_map_get(it, ik[k]);
                snprintf(kp, sizeof kp, "%s.%s", p, ik[k]);
                if (in_ && (rc = es_node_to_i64(in_, kp, k, k ? 1000000 : ES_WL_MAX_IMAGES, iv[k], err)) < 0) goto fail;
            }
            /* per-class SLOs, sent as llm-d-router v0.10's x-llm-d-slo-ttft-ms / x-llm-d-slo-tpot-ms
             * headers (pkg/epp/metadata/consts.go; x-slo-* are their deprecated aliases) */
            static const char *const sk[2] = {"slo_ttft_ms", "slo_tpot_ms"};
            static const char *const sh[2] = {"x-llm-d-slo-ttft-ms", "x-llm-d-slo-tpot-ms"};
            for (int k = 0; k < 2; k++) {
                const es_node_t *sn = es_map_get(it, sk[k]);
                if (!sn) continue;
                double v;
                snprintf(kp, sizeof kp, "%s.%s", p, sk[k]);
                if ((rc = es_node_to_double(sn, kp, 0, 1e9, &v, err)) < 0) goto fail;
                mix_item_t *m = &items[i];
                snprintf(m->slo_val[m->nslo], sizeof m->slo_val[m->nslo], "%.17g", v);
                m->slo_hdr[m->nslo] = (es_header_t){.name = sh[k], .value = m->slo_val[m->nslo]};
                m->nslo++;
            }
        } else {
            const es_node_t *ln = es_map_get(it, "lora");
            snprintf(kp, sizeof kp, "%s.lora", p);
            if (ln && !es_node_is_null(ln) && (rc = es_node_to_str(ln, kp, &lora, err)) < 0) goto fail;
        }
        items[i].name = es_strdup(name);
        items[i].lora = es_strdup(lora);
        sum += wgt;
        items[i].cum = wgt;
    }
    /* models: weights are relative; objectives: absolute shares when they
     * sum to at most 1 (the rest has no objective), else relative */
    double norm = (!objectives || sum > 1) ? sum : 1;
    if (norm <= 0) { rc = es_node_err(err, ES_EINVAL, list, path, "weights sum to 0"); goto fail; }
    double acc = 0;
    for (size_t i = 0; i < list->n; i++) { acc += items[i].cum / norm; items[i].cum = acc; }
    if (!objectives || sum > 1) items[list->n - 1].cum = 1.0 + 1e-9;
    *out = items; *n_out = list->n;
    return 0;
fail:
    for (size_t i = 0; i < list->n; i++) { free(items[i].name); free(items[i].lora); }
    free(items);
    return rc;
}

static int load_stages(es_workload_t *w, const es_workload_config_t *cfg, es_err_t *err)
{
    const es_node_t *st = cfg->arrival.stages;
    es_time_t horizon = w->horizon;
    if (!st || es_node_is_null(st)) {
        if (!(w->stages = calloc(1, sizeof *w->stages))) return es_err_set(err, ES_ENOMEM, "out of memory");
        w->nstages = 1;
        w->stages[0] = (stage_t){cfg->arrival.rate, 0, horizon};
        return 0;
    }
    int rc = es_node_expect_seq(st, "workload.arrival.stages", err);
    if (rc < 0) return rc;
    if (st->n == 0) return es_node_err(err, ES_EINVAL, st, "workload.arrival.stages", "needs at least one stage");
    if (!(w->stages = calloc(st->n, sizeof *w->stages))) return es_err_set(err, ES_ENOMEM, "out of memory");
    w->nstages = st->n;
    static const char *const keys[] = {"rate", "duration_s", NULL};
    es_time_t t = 0;
    for (size_t i = 0; i < st->n; i++) {
        char p[96], kp[128];
        snprintf(p, sizeof p, "workload.arrival.stages[%zu]", i);
        const es_node_t *it = st->items[i];
        if ((rc = es_node_expect_map(it, p, err)) < 0) return rc;
        if ((rc = es_map_check_keys(it, p, keys, err)) < 0) return rc;
        const es_node_t *rn = es_map_get(it, "rate"), *dn = es_map_get(it, "duration_s");
        double rate, dur;
        snprintf(kp, sizeof kp, "%s.rate", p);
        if (!rn) return es_node_err(err, ES_EINVAL, it, kp, "missing");
        if ((rc = es_node_to_double(rn, kp, 0, 1e9, &rate, err)) < 0) return rc;
        if (rate > 0 && rate < ES_WL_MIN_RATE)
            return es_node_err(err, ES_EINVAL, rn, kp, "%g req/s is below %g (0 = no arrivals in this stage)", rate,
                               ES_WL_MIN_RATE);
        snprintf(kp, sizeof kp, "%s.duration_s", p);
        if (!dn) return es_node_err(err, ES_EINVAL, it, kp, "missing");
        if ((rc = es_node_to_double(dn, kp, 1e-9, ES_TIME_MAX_S, &dur, err)) < 0) return rc;
        if (es_time_to_s(t) + dur > ES_TIME_MAX_S)
            return es_node_err(err, ES_EINVAL, dn, kp, "the stages last longer than %g s in all", ES_TIME_MAX_S);
        w->stages[i] = (stage_t){rate, t, t + es_time_from_s(dur)};
        t = w->stages[i].end;
    }
    return 0;
}

/* target_rate: one pass over the trace window to learn its mean rate. */
static int trace_rate(const char *file, es_trace_format_t fmt, const es_workload_t *w,
                      bool skip, double *rate, es_err_t *err)
{
    es_trace_t *t;
    int rc = es_trace_open(file, fmt, w->block_tokens, skip, &t, err);
    if (rc < 0) return rc;
    es_trace_rec_t rec;
    uint64_t n = 0;
    es_time_t first = 0, last = 0;
    while ((rc = es_trace_next(t, &rec, err)) == 1) {
        if (!rec.has_time || rec.t < w->win_start) continue;
        if (w->win_end > 0 && rec.t >= w->win_end) break;
        if (n++ == 0) first = rec.t;
        last = rec.t;
    }
    es_trace_close(t);
    if (rc < 0) return rc;
    *rate = (n > 1 && last > first) ? (double)(n - 1) * w->sample / es_time_to_s(last - first) : 0;
    return 0;
}

int es_workload_create(const es_workload_config_t *cfg, const char *base_dir,
                       uint64_t master_seed, es_workload_t **out, es_err_t *err)
{
    *out = NULL;
    es_workload_t *w = calloc(1, sizeof *w);
    if (!w) return es_err_set(err, ES_ENOMEM, "out of memory");
    int rc = 0;
    w->type = cfg->type;
    w->seed = master_seed;
    w->model = es_strdup(cfg->model);
    w->path = es_strdup(cfg->path && *cfg->path ? cfg->path : "/v1/completions");
    w->limit = (uint64_t)cfg->num_requests;
    w->horizon = cfg->duration_s > 0 ? es_time_from_s(cfg->duration_s) : ES_TIME_NEVER;
    w->process = cfg->arrival.process;
    w->drain = cfg->arrival.drain_stages;
    w->stage_interval_s = cfg->arrival.stage_interval_s;
    w->cv = cfg->arrival.cv;
    w->concurrency = cfg->arrival.concurrency;
    w->content = cfg->content;
    w->sp = cfg->shared_prefix;
    w->sess_cfg = cfg->sessions;
    w->shed = cfg->sheddable_fraction;
    w->block_tokens = (uint32_t)cfg->trace.block_tokens;
    if (!w->model || !w->path) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
    if (w->process == ES_ARRIVAL_CLOSED && w->concurrency < 1) {
        rc = es_err_set(err, ES_EINVAL, "workload.arrival.concurrency: closed_loop needs at least 1 client");
        goto fail;
    }
    if (cfg->sessions.turns_max < cfg->sessions.turns_min) {
        rc = es_err_set(err, ES_EINVAL, "workload.sessions.turns_max: below turns_min");
        goto fail;
    }
    if (esi_bench_wanted(cfg)) {
        /* the client's config decides data, pacing and counts */
        if ((rc = esi_bench_create(cfg, base_dir, master_seed, &w->bench, err)) < 0) goto fail;
        free(w->path);
        if (!(w->path = es_strdup(esi_bench_path(w->bench)))) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
        w->limit = 0;
        w->horizon = ES_TIME_NEVER;
    }
    if ((rc = load_stages(w, cfg, err)) < 0) goto fail;
    es_rng_t z;
    es_rng_stream(&z, master_seed, ES_WL_ENTITY_WORKLOAD, 0, ES_STREAM_ARRIVALS);
    if (!(w->arr_gsl = es_gsl_rng_new(&z))) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
    es_rng_stream(&z, master_seed, ES_WL_ENTITY_WORKLOAD, 0, ES_STREAM_LENGTHS);
    if (!(w->len_gsl = es_gsl_rng_new(&z))) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
    if ((rc = esi_dist_init(&w->in_dist, &cfg->lengths.input, base_dir, "workload.lengths.input", err)) < 0) goto fail;
    if ((rc = esi_dist_init(&w->out_dist, &cfg->lengths.output, base_dir, "workload.lengths.output", err)) < 0) goto fail;
    esi_zipf_init(&w->prefix_zipf, cfg->content.prefix_pool > 0 ? (uint64_t)cfg->content.prefix_pool : 1,
                  cfg->content.prefix_zipf_s);
    esi_zipf_init(&w->group_zipf, (uint64_t)cfg->shared_prefix.num_groups, cfg->shared_prefix.group_zipf_s);
    esi_zipf_init(&w->sys_zipf, (uint64_t)cfg->sessions.num_system_prompts, cfg->sessions.zipf_s);
    w->img = cfg->images;
    esi_zipf_init(&w->img_zipf, cfg->images.pool > 0 ? (uint64_t)cfg->images.pool : 1, cfg->images.zipf_s);
    if ((rc = load_mix_list(cfg->mix.models, "workload.mix.models", false, &w->models, &w->nmodels, err)) < 0) goto fail;
    if ((rc = load_mix_list(cfg->mix.objectives, "workload.mix.objectives", true, &w->objs, &w->nobjs, err)) < 0) goto fail;

    if (w->type == ES_WL_TRACE) {
        const es_trace_config_t *tc = &cfg->trace;
        if (!tc->file || !*tc->file) { rc = es_err_set(err, ES_EINVAL, "workload.trace.file: a trace workload needs a file"); goto fail; }
        int fmt = es_trace_format_parse(tc->format ? tc->format : "auto");
        if (fmt < 0) {
            rc = es_err_set(err, ES_EINVAL, "workload.trace.format: unknown format '%s' (known: auto, mooncake, "
                            "azure, burstgpt, sharegpt, eppsim)", tc->format);
            goto fail;
        }
        char file[4096];
        esi_resolve(base_dir, tc->file, file, sizeof file);
        if ((rc = es_trace_open(file, (es_trace_format_t)fmt, w->block_tokens, tc->skip_bad_lines, &w->trace, err)) < 0)
            goto fail;
        /* closed-loop clients set the pace themselves */
        w->trace_time = tc->replay_timestamps && es_trace_format(w->trace) != ES_TRACE_SHAREGPT &&
                        w->process != ES_ARRIVAL_CLOSED;
        w->win_start = es_time_from_s(tc->start_s);
        w->win_end = tc->end_s > 0 ? es_time_from_s(tc->end_s) : 0;
        w->sample = tc->sample_fraction;
        es_rng_stream(&w->sample_rng, master_seed, ES_WL_ENTITY_WORKLOAD, 1, ES_STREAM_WORKLOAD_MIX);
        w->tscale = tc->time_scale;
        if (w->trace_time && tc->target_rate > 0) {
            double r0;
            if ((rc = trace_rate(file, es_trace_format(w->trace), w, tc->skip_bad_lines, &r0, err)) < 0) goto fail;
            if (r0 > 0) w->tscale = r0 / tc->target_rate;
        }
        if (w->trace_time) {
            /* one stage for per-stage results; its rate is the target or unknown */
            w->stages[0] = (stage_t){tc->target_rate, 0, w->horizon};
            w->nstages = 1;
        }
    }
    if (w->process == ES_ARRIVAL_CLOSED) {
        w->stages[0] = (stage_t){0, 0, w->horizon};
        w->nstages = 1;
        uint32_t kind = w->type == ES_WL_SESSIONS ? EV_SESSION_START : EV_CLIENT;
        for (int64_t c = 0; c < w->concurrency; c++)
            if ((rc = heap_push(w, 0, kind, (uint32_t)c)) < 0) { es_err_set(err, rc, "out of memory"); goto fail; }
    }
    *out = w;
    return 0;
fail:
    es_workload_destroy(w);
    return rc;
}

void es_workload_destroy(es_workload_t *w)
{
    if (!w) return;
    /* every record, including those still handed out (an aborted run) */
    for (wl_req_t *r = w->all, *n; r; r = n) {
        n = r->all_next;
        free(r->segs);
        free(r->arena);
        free(r->mm);
        free(r);
    }
    for (uint32_t i = 0; i < w->nsess; i++) { free(w->sess[i].hist); gsl_rng_free(w->sess[i].len_rng); }
    free(w->sess);
    for (size_t i = 0; i < w->toks_cap; i++) free(w->toks[i].block);
    free(w->toks);
    for (size_t i = 0; i < w->nmodels; i++) { free(w->models[i].name); free(w->models[i].lora); }
    for (size_t i = 0; i < w->nobjs; i++) { free(w->objs[i].name); free(w->objs[i].lora); }
    free(w->models);
    free(w->objs);
    es_trace_close(w->trace);
    esi_dist_fini(&w->in_dist);
    esi_dist_fini(&w->out_dist);
    if (w->arr_gsl) gsl_rng_free(w->arr_gsl);
    if (w->len_gsl) gsl_rng_free(w->len_gsl);
    free(w->stages);
    free(w->heap);
    esi_bench_destroy(w->bench);
    free(w->model);
    free(w->path);
    free(w);
}

/* ---------------------------------------------------------------- next */

static bool limit_reached(const es_workload_t *w) { return w->limit && w->handed >= w->limit; }

/* Makes the next open-loop request (w->ahead).  0 when the source is done. */
static int make_ahead(es_workload_t *w, es_err_t *err)
{
    if (w->ahead) return 1;
    if (w->source_done || limit_reached(w)) return 0;
    if (w->process == ES_ARRIVAL_CLOSED) return 0;   /* every arrival comes from the heap */
    wl_req_t *r = req_get(w);
    if (!r) return es_err_set(err, ES_ENOMEM, "out of memory");
    r->pub.path = w->path;
    es_time_t t = 0;
    int rc;
    if (w->type == ES_WL_TRACE && w->trace_time) {
        rc = trace_fill(w, r, &t, err);
    } else {
        t = clock_next(w);
        if (t == ES_TIME_NEVER) rc = 0;
        else if (w->type == ES_WL_TRACE) rc = trace_fill(w, r, &t, err);
        else if (w->type == ES_WL_SHARED_PREFIX) rc = shared_prefix_fill(w, r);
        else if (w->type == ES_WL_SESSIONS) {
            if (w->sess_cfg.num_sessions && w->sessions_started >= (uint64_t)w->sess_cfg.num_sessions) rc = 0;
            else {
                uint32_t slot;
                rc = session_start(w, &slot);
                if (rc == 0) rc = session_fill(w, r, slot);
            }
        } else rc = synthetic_fill(w, r);
        if (rc == ES_ENOMEM) rc = es_err_set(err, ES_ENOMEM, "out of memory");
    }
    if (rc == 0 && w->clock_wait) { req_put(w, r); return 0; }   /* waiting for a stage to drain */
    if (rc <= 0 || t >= w->horizon) {
        req_put(w, r);
        if (rc >= 0) w->source_done = true;
        return rc < 0 ? rc : 0;
    }
    w->made++;
    r->pub.arrival = t;
    r->pub.stage = stage_of(w, t);
    if (w->drain) { r->pub.drain_ = 1; w->stage_out++; }
    w->ahead = r;
    return 1;
}

es_time_t es_workload_next_time(es_workload_t *w)
{
    if (w->bench) return w->pending_err ? ES_TIME_NEVER : esi_bench_next_time(w->bench);
    es_time_t t = ES_TIME_NEVER;
    if (!w->pending_err) {
        int rc = make_ahead(w, &w->pending_msg);
        if (rc < 0) w->pending_err = rc;
    }
    if (w->ahead) t = w->ahead->pub.arrival;
    if (w->nheap && w->heap[0].t < t && !limit_reached(w) && w->heap[0].t < w->horizon) t = w->heap[0].t;
    return t;
}

/* Materialises a heap entry (closed-loop client, session turn or start). */
static int make_from_heap(es_workload_t *w, hent_t e, wl_req_t **out, es_err_t *err)
{
    wl_req_t *r = req_get(w);
    if (!r) return es_err_set(err, ES_ENOMEM, "out of memory");
    r->pub.path = w->path;
    int rc;
    es_time_t t = e.t;
    if (e.kind == EV_TURN) {
        rc = session_fill(w, r, e.idx);
    } else if (e.kind == EV_SESSION_START) {
        if (w->sess_cfg.num_sessions && w->sessions_started >= (uint64_t)w->sess_cfg.num_sessions) rc = 0;
        else {
            uint32_t slot;
            rc = session_start(w, &slot);
            if (rc == 0) rc = session_fill(w, r, slot);
        }
    } else {
        if (w->type == ES_WL_TRACE) { es_time_t dummy; rc = trace_fill(w, r, &dummy, err); }
        else if (w->type == ES_WL_SHARED_PREFIX) rc = shared_prefix_fill(w, r);
        else rc = synthetic_fill(w, r);
        r->pub.client_ = e.idx + 1;
    }
    if (rc == ES_ENOMEM) rc = es_err_set(err, ES_ENOMEM, "out of memory");
    if (rc <= 0) { req_put(w, r); return rc; }
    w->made++;
    r->pub.arrival = t;
    r->pub.stage = stage_of(w, t);
    *out = r;
    return 1;
}

/* A benchmark client's next request (bench.h). */
static int bench_next(es_workload_t *w, es_time_t now, es_wl_request_t **out, es_err_t *err)
{
    wl_req_t *r = req_get(w);
    if (!r) return es_err_set(err, ES_ENOMEM, "out of memory");
    uint32_t nsegs = 0;
    int rc = esi_bench_next(w->bench, now, &r->breq, &r->segs, &r->segs_cap, &nsegs, err);
    if (rc <= 0) { req_put(w, r); return rc; }
    uint64_t key = w->made++;
    r->pub.path = w->path;
    r->pub.prompt.nsegs = nsegs;
    finish_prompt(r);
    r->pub.output_tokens = r->breq.output_tokens;
    r->pub.output_segment = r->breq.output_segment;
    r->pub.arrival = r->breq.item.t;
    r->pub.stage = r->breq.item.stage;
    r->pub.bench_ = 1;
    es_mm_item_t img[ES_WL_MAX_IMAGES];   /* inference-perf's synthetic images: as a trace line's */
    for (uint32_t j = 0; j < r->breq.nimg; j++) img[j] = (es_mm_item_t){r->breq.img[j], (uint32_t)w->img.tokens};
    w->trace_mm = r->breq.nimg ? img : NULL;
    w->trace_nmm = r->breq.nimg;
    apply_mix(w, r, key, false, false);
    w->trace_mm = NULL;
    w->trace_nmm = 0;
    r->pub.id = w->handed++;
    *out = &r->pub;
    return 1;
}

/* ------------------------------------------------ replayed sessions' tokens */

static uint64_t sid_hash(const char *sid)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sid; *p; p++) h = (h ^ *p) * 1099511628211ull;
    return h ? h : 1;
}

static trace_token_t *token_slot(trace_token_t *t, size_t cap, const char *sid, uint64_t h)
{
    for (size_t i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!t[i].hash || (t[i].hash == h && strcmp(t[i].block, sid) == 0)) return &t[i];
}

static int trace_token_set(es_workload_t *w, const char *sid, const char *name, const char *value)
{
    if ((w->ntoks + 1) * 2 > w->toks_cap) {   /* load factor at most 1/2 */
        size_t cap = w->toks_cap ? w->toks_cap * 2 : 64;
        trace_token_t *t = calloc(cap, sizeof *t);
        if (!t) return ES_ENOMEM;
        for (size_t i = 0; i < w->toks_cap; i++)
            if (w->toks[i].hash) *token_slot(t, cap, w->toks[i].block, w->toks[i].hash) = w->toks[i];
        free(w->toks);
        w->toks = t;
        w->toks_cap = cap;
    }
    uint64_t h = sid_hash(sid);
    trace_token_t *e = token_slot(w->toks, w->toks_cap, sid, h);
    size_t ls = strlen(sid) + 1, ln = strlen(name) + 1, lv = strlen(value) + 1;
    char *b = malloc(ls + ln + lv);   /* a fresh block: e's old one may hold sid */
    if (!b) return ES_ENOMEM;
    memcpy(b, sid, ls);
    memcpy(b + ls, name, ln);
    memcpy(b + ls + ln, value, lv);
    if (!e->hash) w->ntoks++;
    free(e->block);
    *e = (trace_token_t){.hash = h, .block = b, .name = b + ls, .value = b + ls + ln};
    return 0;
}

static bool header_name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (x != y) return false;
    }
    return *a == *b;
}

/* A replayed request of a session that already got a token sends it, after
 * its own headers; a header of that name in the trace wins.  Applied at
 * hand-out, so the token is the last one answered before the request goes. */
static void trace_echo(es_workload_t *w, wl_req_t *r)
{
    if (!w->ntoks || !r->pub.session || r->pub.session_idx_ || r->pub.bench_) return;
    const trace_token_t *t = token_slot(w->toks, w->toks_cap, r->pub.session, sid_hash(r->pub.session));
    uint32_t n = r->pub.nheaders;
    if (!t->hash || n >= ES_TRACE_MAX_HEADERS) return;
    for (uint32_t i = 0; i < n; i++) if (header_name_eq(r->pub.headers[i].name, t->name)) return;
    if (r->pub.headers != r->hdrs) {   /* the class's SLO headers: copied, not written through */
        if (n) memcpy(r->hdrs, r->pub.headers, n * sizeof *r->hdrs);
        r->pub.headers = r->hdrs;
    }
    r->hdrs[n] = (es_header_t){.name = req_str(r, t->name), .value = req_str(r, t->value)};
    r->pub.nheaders = n + 1;
}

int es_workload_next(es_workload_t *w, es_time_t now, es_wl_request_t **out, es_err_t *err)
{
    *out = NULL;
    if (w->pending_err) {
        if (err) *err = w->pending_msg;
        return w->pending_err;
    }
    if (w->bench) return bench_next(w, now, out, err);
    for (;;) {
        if (limit_reached(w)) return -1;
        int rc = make_ahead(w, err);
        if (rc < 0) return rc;
        bool use_heap = w->nheap && w->heap[0].t < w->horizon &&
                        (!w->ahead || hless(&w->heap[0], &(hent_t){w->ahead->pub.arrival, UINT64_MAX, 0, 0}));
        wl_req_t *r = NULL;
        if (use_heap) {
            if (w->heap[0].t > now) return 0;
            hent_t e = heap_pop(w);
            rc = make_from_heap(w, e, &r, err);
            if (rc < 0) return rc;
            if (rc == 0) continue;   /* that source ran dry; look again */
        } else if (w->ahead) {
            if (w->ahead->pub.arrival > now) return 0;
            r = w->ahead;
            w->ahead = NULL;
        } else {
            /* nothing known: finished unless completions may still produce requests */
            bool waits = ((w->process == ES_ARRIVAL_CLOSED || w->type == ES_WL_SESSIONS) && w->inflight > 0) ||
                         w->clock_wait;
            return waits ? 0 : -1;
        }
        trace_echo(w, r);
        r->pub.id = w->handed++;
        if (r->pub.client_ || r->pub.session_idx_) w->inflight++;
        *out = &r->pub;
        return 1;
    }
}

void es_workload_on_complete(es_workload_t *w, es_wl_request_t *pub, es_time_t t, int status)
{
    if (pub->bench_) {
        if (esi_bench_on_complete(w->bench, &((wl_req_t *)pub)->breq, status, t) < 0 && !w->pending_err) {
            w->pending_err = ES_ENOMEM;
            es_err_set(&w->pending_msg, ES_ENOMEM, "workload: out of memory");
        }
        return;
    }
    if (pub->drain_ && w->stage_out > 0 && --w->stage_out == 0 && w->clock_wait)
        w->drained_at = t;   /* the waiting stage drained: the clock resumes from here */
    if (!pub->client_ && !pub->session_idx_) return;
    if (w->inflight) w->inflight--;
    int rc = 0;
    if (pub->client_) {
        rc = heap_push(w, t, EV_CLIENT, pub->client_ - 1);
    } else {
        uint32_t slot = pub->session_idx_ - 1;
        session_t *s = &w->sess[slot];
        /* the answer joins the history: the next turn replays it */
        if (s->nhist + 1 > s->cap) {
            uint32_t c = s->cap * 2;
            es_segment_t *h = realloc(s->hist, c * sizeof *h);
            if (!h) rc = ES_ENOMEM;
            else { s->hist = h; s->cap = c; }
        }
        if (rc == 0) {
            s->hist[s->nhist++] = (es_segment_t){pub->output_segment, pub->output_tokens};
            if (s->turns_left > 0) {
                es_time_t think = es_time_from_s(es_rng_exp(&s->rng, w->sess_cfg.think_time_s));
                rc = heap_push(w, t + think, EV_TURN, slot);
            } else {
                session_end(w, slot);
                if (w->process == ES_ARRIVAL_CLOSED) rc = heap_push(w, t, EV_SESSION_START, 0);
            }
        }
    }
    if (rc < 0 && !w->pending_err) {
        w->pending_err = rc;
        es_err_set(&w->pending_msg, rc, "workload: out of memory");
    }
}

void es_workload_on_response_header(es_workload_t *w, es_wl_request_t *r, const char *name, const char *value)
{
    if (r->bench_) return;
    if (!r->session_idx_) {
        if (!r->session || strlen(name) >= ES_WL_TOKEN_MAX || strlen(value) >= ES_WL_TOKEN_MAX) return;
        if (trace_token_set(w, r->session, name, value) < 0 && !w->pending_err) {
            w->pending_err = ES_ENOMEM;
            es_err_set(&w->pending_msg, ES_ENOMEM, "workload: out of memory");
        }
        return;
    }
    session_t *s = &w->sess[r->session_idx_ - 1];
    if (strlen(name) >= sizeof s->tok_name || strlen(value) >= sizeof s->tok) return;
    snprintf(s->tok_name, sizeof s->tok_name, "%s", name);
    snprintf(s->tok, sizeof s->tok, "%s", value);
}

void es_workload_release(es_workload_t *w, es_wl_request_t *r)
{
    if (r) req_put(w, (wl_req_t *)r);
}

size_t es_workload_stage_count(const es_workload_t *w) { return w->bench ? esi_bench_stage_count(w->bench) : w->nstages; }

void es_workload_stage(const es_workload_t *w, size_t i, double *rate, es_time_t *start, es_time_t *end)
{
    if (w->bench) {
        ES_ASSERT(i < esi_bench_stage_count(w->bench), "stage index out of range");
        esi_bench_stage(w->bench, i, rate, start, end);
        return;
    }
    ES_ASSERT(i < w->nstages, "stage index out of range");
    if (rate) *rate = w->stages[i].rate;
    if (start) *start = w->stages[i].start;
    if (end) *end = w->stages[i].end;
}

size_t es_workload_skipped_lines(const es_workload_t *w) { return w->trace ? es_trace_skipped(w->trace) : 0; }
uint64_t es_workload_count(const es_workload_t *w) { return w->handed; }

double es_workload_client_timeout_s(const es_workload_t *w) { return w->bench ? esi_bench_timeout_s(w->bench) : 0; }
const char *es_workload_client(const es_workload_t *w) { return w->bench ? esi_bench_client(w->bench) : NULL; }
const char *es_workload_server_model(const es_workload_t *w) { return w->bench ? esi_bench_server_model(w->bench) : NULL; }
size_t es_workload_warning_count(const es_workload_t *w) { return w->bench ? esi_bench_warning_count(w->bench) : 0; }
const char *es_workload_warning(const es_workload_t *w, size_t i) { return w->bench ? esi_bench_warning(w->bench, i) : NULL; }

bool es_workload_client_stamps(const es_workload_t *w, bool *streaming, uint32_t *per_token, uint32_t *trailing)
{
    if (!w->bench) return false;
    esi_bench_stamps(w->bench, streaming, per_token, trailing);
    return true;
}

uint32_t es_workload_stage_at(const es_workload_t *w, es_time_t t)
{
    size_t n = es_workload_stage_count(w);
    uint32_t at = 0;
    for (size_t i = 0; i < n; i++) {
        es_time_t start;
        es_workload_stage(w, i, NULL, &start, NULL);
        if (start == ES_TIME_NEVER || start > t) break;
        at = (uint32_t)i;
    }
    return at;
}
