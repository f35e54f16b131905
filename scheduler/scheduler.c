/*
 * scheduler.c -- one EPP replica: the decision pipeline (llm-d-router v0.10.0,
 * commit 71f4f099: pkg/epp/requestcontrol/director.go,
 * pkg/epp/scheduling/scheduler.go), in-flight tracking (upstream's
 * inflight-load-producer), the response hooks and flow control
 * (pkg/epp/flowcontrol/controller/internal/processor.go).
 *
 * Per-endpoint state that outlives a decision is indexed by endpoint id;
 * per-decision scratch arrays are indexed by the position in the caller's eps
 * array.  Both grow only when a larger pool or id shows up.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "es_alloc.h"
#include "es_util.h"


typedef struct inst {
    const esi_plugin_cfg_t *cfg;
    void                   *state;
} inst_t;

typedef struct prof {
    const esi_profile_cfg_t *cfg;
    uint32_t filters[64];  uint32_t nf;   /* plugin indexes */
    uint32_t scorers[ES_SCHED_MAX_SCORERS]; double weights[ES_SCHED_MAX_SCORERS]; uint32_t ns;
    int32_t  picker;
} prof_t;

/* in-flight record of a picked request */
typedef struct req_rec {
    uint64_t id;
    uint32_t prefill;                        /* endpoint id released on first chunk; UINT32_MAX */
    uint32_t nothers;
    uint32_t others[ES_SCHED_MAX_PROFILES];  /* released at end of stream */
    int64_t  prefill_tok;                    /* in-flight tokens counted on each pick */
    int64_t  others_tok[ES_SCHED_MAX_PROFILES];
    uint32_t flow;                           /* interned fairness id (end hooks); UINT32_MAX */
} req_rec_t;

/* flow control */
typedef struct fc_item {
    const es_sched_request_t *req;
    es_time_t enq, deadline;
    es_time_t key;        /* the ordering policy's key, fixed at enqueue */
    uint64_t  bytes;
    uint32_t  flow;
} fc_item_t;

typedef struct fc_band {
    int64_t    priority;
    const esi_band_cfg_t *cfg;
    bool       rr;        /* fairness rotates over the flows (else one global queue) */
    long     (*pick_flow)(void *st, const esi_flow_view_t *f, size_t n, es_time_t now);   /* or NULL */
    void      *fair_state;
    es_time_t (*order_key)(const es_sched_request_t *req, es_time_t enqueued, es_time_t deadline);   /* NULL: arrival order */
    fc_item_t *items;     /* enqueue order */
    size_t     n, cap;
    uint64_t   bytes;
    uint32_t   cursor;    /* round-robin: last flow served (index into sorted flows) */
    bool       any;
} fc_band_t;

struct es_scheduler {
    const es_epp_config_t *cfg;
    es_decide_hook decide_hook;   /* es_scheduler_set_decide_hook; NULL: none */
    void      *decide_ud;
    es_rng_t   rng;
    inst_t    *inst;
    prof_t     prof[ES_SCHED_MAX_PROFILES];
    uint32_t   nprof;
    esi_handler_bind_t bind;      /* the profile handler's profiles and decider */
    int        saturation;        /* plugin index */
    /* plugin indexes by hook, config order (no scan of every plugin per call) */
    uint32_t  *producers, nproducers;   /* x_prepare */
    uint32_t  *pre_hooks, npre;         /* x_pre_request */
    uint32_t  *kv_hooks, nkv;           /* x_kv_event (ESI_CAP_KV_EVENTS) */
    uint32_t  *rm_hooks, nrm;           /* x_removed */
    uint32_t  *admit_hooks, nadmit;     /* x_admit */
    uint32_t  *resp_hooks, nresp;       /* x_response */
    uint32_t  *end_hooks, nend;         /* x_on_end */
    /* per endpoint id */
    size_t     id_cap;
    int64_t   *inflight_req, *inflight_tok;
    uint32_t  *id_pos, *id_stamp;     /* eps index of an id in the current decision */
    uint32_t   stamp;
    /* per eps index scratch */
    size_t     n_cap;
    uint32_t  *match, *idx;
    int64_t   *g_req, *g_tok;
    esi_inflight_cfg_t infl;              /* the in-flight token estimate (inflight-load-producer) */
    es_sched_sync_t *sync;                /* InFlightLoad read from the replicas' shared store; NULL: local */
    uint32_t   sync_replica;
    double    *scores, *total;
    /* in-flight request records, dense, indexed by request id */
    req_rec_t *reqs; size_t nreqs, capreqs;
    es_hmap_t  req_ids;                   /* request id -> index in reqs */
    /* flow control */
    fc_band_t *bands; size_t nbands, bcap;
    int64_t   *prios; double *ceilings;      /* [bcap] per band, for the usage limit policy */
    char     **flows; size_t nflows, fcap;   /* fairness ids, sorted */
    esi_flow_view_t *fviews;                 /* [fcap] a band's flows for x_pick_flow */
    /* a batching producer's held requests (burst-prefix-cache-producer) */
    int32_t    batcher;                      /* plugin index with x_hold; -1 */
    const es_sched_request_t **held; size_t nheld, hcap;
    es_time_t  seal_at;
    size_t     fc_queued;
    uint64_t   fc_bytes;
    /* in-flight eviction (flowControl.enableEviction; es_scheduler_set_evictor) */
    bool       ev_on;
    esi_evictor_t ev;
    es_evict_cb evict_cb;
    void      *evict_ud;
};

static fc_band_t *band_of(es_scheduler_t *s, int64_t prio);
static uint32_t flow_of(es_scheduler_t *s, const char *name);

/* ------------------------------------------------------------------ */
/* create / destroy                                                    */
/* ------------------------------------------------------------------ */

/* Out of memory aborts (es_alloc.h): a decision never fails half-way. */
static void grow_ids(es_scheduler_t *s, size_t need)
{
    if (need <= s->id_cap) return;
    size_t nc = s->id_cap ? s->id_cap : 64;
    while (nc < need) nc *= 2;
    int64_t *a = s->inflight_req = es_xrealloc(s->inflight_req, nc * sizeof *a);
    int64_t *b = s->inflight_tok = es_xrealloc(s->inflight_tok, nc * sizeof *b);
    memset(a + s->id_cap, 0, (nc - s->id_cap) * sizeof *a);
    memset(b + s->id_cap, 0, (nc - s->id_cap) * sizeof *b);
    s->id_pos = es_xrealloc(s->id_pos, nc * sizeof *s->id_pos);
    uint32_t *d = s->id_stamp = es_xrealloc(s->id_stamp, nc * sizeof *d);
    memset(d + s->id_cap, 0, (nc - s->id_cap) * sizeof *d);
    s->id_cap = nc;
}

static void grow_n(es_scheduler_t *s, size_t n)
{
    if (n <= s->n_cap) return;
    size_t nc = s->n_cap ? s->n_cap : 64;
    while (nc < n) nc *= 2;
#define GROW(p) (s->p = es_xrealloc(s->p, nc * sizeof *s->p))
    GROW(match); GROW(idx); GROW(g_req); GROW(g_tok); GROW(total); GROW(scores);
#undef GROW
    s->n_cap = nc;
}

static void rtable_init(es_scheduler_t *s)
{
    s->capreqs = 512;
    s->reqs = es_xmalloc(s->capreqs * sizeof *s->reqs);
    es_hmap_init(&s->req_ids, s->capreqs);
}

static int prof_add(es_scheduler_t *s, prof_t *p, const esi_ref_t *r, es_err_t *err)
{
    const esi_plugin_cfg_t *pc = &s->cfg->plugins[r->plugin];
    unsigned roles = pc->vt->roles;
    if ((roles & ESI_FILTER) && pc->vt->x_filter) {
        if (p->nf == 64) return es_err_set(err, ES_ERANGE, "profile %s: too many filters", p->cfg->name);
        p->filters[p->nf++] = r->plugin;
    }
    if ((roles & ESI_SCORER) && pc->vt->x_score) {
        p->scorers[p->ns] = r->plugin;
        p->weights[p->ns++] = r->weight;
    }
    if ((roles & ESI_PICKER) && pc->vt->x_pick) p->picker = (int32_t)r->plugin;
    return 0;
}

/* Plugins with a given hook, listed once so that a call site does not scan
 * every plugin (the KV-event path runs per block stored or evicted). */
enum hook { HOOK_PREPARE, HOOK_PRE_REQUEST, HOOK_KV_EVENT, HOOK_REMOVED, HOOK_ADMIT, HOOK_RESPONSE, HOOK_END };

static bool has_hook(const esi_plugin_vt_t *vt, enum hook h)
{
    switch (h) {
    case HOOK_PREPARE:     return vt->x_prepare != NULL;
    case HOOK_PRE_REQUEST: return vt->x_pre_request != NULL;
    case HOOK_KV_EVENT:    return (vt->caps & ESI_CAP_KV_EVENTS) && vt->x_kv_event;
    case HOOK_REMOVED:     return vt->x_removed != NULL;
    case HOOK_ADMIT:       return vt->x_admit != NULL;
    case HOOK_RESPONSE:    return vt->x_response != NULL;
    case HOOK_END:         return vt->x_on_end != NULL;
    }
    return false;
}

static void hook_list(const es_epp_config_t *cfg, enum hook h, uint32_t **out, uint32_t *n)
{
    *out = es_xmalloc((cfg->nplugins + 1) * sizeof **out);
    *n = 0;
    /* data producers run in dependency order (upstream's data-layer DAG):
     * those that consume a key another producer makes come second */
    unsigned made = 0;
    for (size_t i = 0; h == HOOK_PREPARE && i < cfg->nplugins; i++)
        if (has_hook(cfg->plugins[i].vt, h)) made |= cfg->plugins[i].vt->produces;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < cfg->nplugins; i++) {
            const esi_plugin_vt_t *vt = cfg->plugins[i].vt;
            if (!has_hook(vt, h) || ((vt->consumes & made) != 0) != (pass == 1)) continue;
            (*out)[(*n)++] = (uint32_t)i;
        }
}

void es_scheduler_reseed(es_scheduler_t *s, uint64_t seed)
{
    es_rng_stream(&s->rng, seed, ES_ENTITY_EPP_SCHEDULER, 0, ES_STREAM_SCHEDULER);
}

int es_scheduler_create(const es_epp_config_t *cfg, uint64_t seed, es_scheduler_t **out, es_err_t *err)
{
    es_err_clear(err);
    *out = NULL;
    es_scheduler_t *s = es_xcalloc(1, sizeof *s);
    s->cfg = cfg;
    es_rng_stream(&s->rng, seed, ES_ENTITY_EPP_SCHEDULER, 0, ES_STREAM_SCHEDULER);
    s->inst = es_xcalloc(cfg->nplugins + 1, sizeof *s->inst);
    rtable_init(s);
    grow_ids(s, 64);
    grow_n(s, 64);
    int rc = 0;
    for (size_t i = 0; i < cfg->nplugins; i++) {
        const esi_plugin_vt_t *vt = cfg->plugins[i].vt;
        s->inst[i].cfg = &cfg->plugins[i];
        if (vt->state_size) {
            s->inst[i].state = es_xcalloc(1, vt->state_size);
            /* plugins without x_init use their parameters as their state */
            if (!vt->x_init && vt->params_size) memcpy(s->inst[i].state, cfg->plugins[i].params, vt->params_size);
        }
        if (vt->x_init && (rc = vt->x_init(s->inst[i].state, cfg->plugins[i].params, s, err))) goto fail;
    }
    s->nprof = (uint32_t)cfg->nprofiles;
    for (uint32_t p = 0; p < s->nprof; p++) {
        s->prof[p].cfg = &cfg->profiles[p];
        s->prof[p].picker = -1;
        for (uint32_t k = 0; k < cfg->profiles[p].nrefs; k++)
            if ((rc = prof_add(s, &s->prof[p], &cfg->profiles[p].refs[k], err))) goto fail;
        ES_ASSERT(s->prof[p].picker >= 0, "defaulting left a profile without a picker");
    }
    s->bind = cfg->bind;
    s->saturation = cfg->saturation;
    hook_list(cfg, HOOK_PREPARE, &s->producers, &s->nproducers);
    hook_list(cfg, HOOK_PRE_REQUEST, &s->pre_hooks, &s->npre);
    hook_list(cfg, HOOK_KV_EVENT, &s->kv_hooks, &s->nkv);
    hook_list(cfg, HOOK_REMOVED, &s->rm_hooks, &s->nrm);
    hook_list(cfg, HOOK_ADMIT, &s->admit_hooks, &s->nadmit);
    hook_list(cfg, HOOK_RESPONSE, &s->resp_hooks, &s->nresp);
    hook_list(cfg, HOOK_END, &s->end_hooks, &s->nend);
    s->infl = (esi_inflight_cfg_t){false, 1.5, -1, true};
    for (size_t i = 0; i < cfg->nplugins; i++)
        if (cfg->plugins[i].vt->x_inflight_cfg) cfg->plugins[i].vt->x_inflight_cfg(cfg->plugins[i].params, &s->infl);
    s->batcher = -1;
    for (size_t i = 0; i < cfg->nplugins; i++) if (cfg->plugins[i].vt->x_hold) s->batcher = (int32_t)i;
    s->flows = NULL;
    /* the configured bands exist from the start, as in upstream's registry
     * (usage limit policies see every band, not only those used so far) */
    for (size_t i = 0; cfg->flow_control && i < cfg->flow.nbands; i++) band_of(s, cfg->flow.bands[i].priority);
    *out = s;
    return 0;
fail:   /* a plugin's x_init or a profile refused the config (err says why) */
    es_scheduler_destroy(s);
    return rc;
}

void es_scheduler_destroy(es_scheduler_t *s)
{
    if (!s) return;
    for (size_t i = 0; s->inst && i < s->cfg->nplugins; i++) {
        if (s->inst[i].cfg && s->inst[i].cfg->vt->x_fini && s->inst[i].state) s->inst[i].cfg->vt->x_fini(s->inst[i].state);
        free(s->inst[i].state);
    }
    free(s->inst);
    free(s->producers); free(s->pre_hooks); free(s->kv_hooks); free(s->rm_hooks); free(s->admit_hooks); free(s->end_hooks);
    free(s->resp_hooks);
    free(s->inflight_req); free(s->inflight_tok); free(s->id_pos); free(s->id_stamp);
    free(s->match); free(s->idx); free(s->g_req); free(s->g_tok); free(s->scores); free(s->total);
    free(s->reqs);
    es_hmap_fini(&s->req_ids);
    for (size_t i = 0; i < s->nbands; i++) free(s->bands[i].items);
    free(s->bands);
    free(s->prios); free(s->ceilings);
    for (size_t i = 0; i < s->nflows; i++) free(s->flows[i]);
    free(s->flows);
    free(s->fviews);
    free(s->held);
    if (s->ev_on) esi_evictor_fini(&s->ev);
    free(s);
}

/* ------------------------------------------------------------------ */
/* request table                                                       */
/* ------------------------------------------------------------------ */

/* es_hmap's key test: record val has id */
static bool req_has(const void *s, uint32_t i, uint64_t id) { return ((const es_scheduler_t *)s)->reqs[i].id == id; }

static req_rec_t *rfind(es_scheduler_t *s, uint64_t id)
{
    const es_hmap_slot_t *h = es_hmap_find(&s->req_ids, id, req_has, s);
    return h ? &s->reqs[h->val] : NULL;
}

/* The record of id; a zeroed new one when it has none. */
static req_rec_t *rinsert(es_scheduler_t *s, uint64_t id)
{
    req_rec_t *r = rfind(s, id);
    if (r) return r;   /* same id picked again (retry): reuse the record */
    if (s->nreqs == s->capreqs) {   /* grow: rare, only while in-flight count rises */
        s->capreqs *= 2;
        s->reqs = es_xrealloc(s->reqs, s->capreqs * sizeof *s->reqs);
    }
    ES_ASSERT(s->nreqs < UINT32_MAX, "scheduler: more than 2^32 requests in flight");
    r = &s->reqs[s->nreqs];
    *r = (req_rec_t){.id = id};
    es_hmap_put(&s->req_ids, id, (uint32_t)s->nreqs++, req_has, s);
    return r;
}

/* Removes r; the last record moves into its place. */
static void rdelete(es_scheduler_t *s, req_rec_t *r)
{
    size_t i = (size_t)(r - s->reqs);
    es_hmap_remove(&s->req_ids, r->id, NULL, req_has, s);
    if (i != --s->nreqs) {
        es_hmap_find(&s->req_ids, s->reqs[s->nreqs].id, req_has, s)->val = (uint32_t)i;
        s->reqs[i] = s->reqs[s->nreqs];
    }
}

static void release(es_scheduler_t *s, uint32_t ep, int64_t tokens)
{
    if (ep >= s->id_cap) return;
    if (s->inflight_req[ep] > 0) s->inflight_req[ep]--;
    s->inflight_tok[ep] -= tokens;
    if (s->inflight_tok[ep] < 0) s->inflight_tok[ep] = 0;
}

static void response_hooks(es_scheduler_t *s, const esi_response_t *ev)
{
    for (uint32_t k = 0; k < s->nresp; k++) {
        inst_t *in = &s->inst[s->resp_hooks[k]];
        in->cfg->vt->x_response(in->state, ev);
    }
}

void es_scheduler_on_first_chunk(es_scheduler_t *s, uint64_t req_id, es_time_t now_ns)
{
    if (s->nresp) response_hooks(s, &(esi_response_t){.kind = ESI_RESP_FIRST_CHUNK, .req_id = req_id, .now = now_ns});
    req_rec_t *r = rfind(s, req_id);
    if (!r) return;
    if (r->prefill != UINT32_MAX) release(s, r->prefill, r->prefill_tok);
    r->prefill = UINT32_MAX;
    if (s->infl.add_output) return;
    for (uint32_t i = 0; i < r->nothers; i++) {   /* releaseTokensEarly: the prompt is computed */
        uint32_t ep = r->others[i];
        if (ep < s->id_cap) s->inflight_tok[ep] = s->inflight_tok[ep] > r->others_tok[i] ? s->inflight_tok[ep] - r->others_tok[i] : 0;
        r->others_tok[i] = 0;
    }
}

void es_scheduler_set_predictor_config(es_scheduler_t *s, const es_sched_predictor_config_t *cfg)
{
    for (size_t i = 0; i < s->cfg->nplugins; i++)
        if (s->inst[i].cfg->vt->x_predictor_config) s->inst[i].cfg->vt->x_predictor_config(s->inst[i].state, cfg);
}

void es_scheduler_predictor_stats(const es_scheduler_t *s, es_sched_predictor_stats_t *out)
{
    for (size_t i = 0; i < s->cfg->nplugins; i++)
        if (s->inst[i].cfg->vt->x_predictor_stats) s->inst[i].cfg->vt->x_predictor_stats(s->inst[i].state, out);
}

static void on_end(es_scheduler_t *s, uint64_t req_id, es_time_t now_ns, bool complete, uint32_t prompt_tokens,
                   uint32_t completion_tokens, const es_endpoint_t *eps, size_t n)
{
    if (s->nresp)
        response_hooks(s, &(esi_response_t){.kind = complete ? ESI_RESP_COMPLETE : ESI_RESP_END, .req_id = req_id,
                                            .now = now_ns, .output_tokens = completion_tokens, .eps = eps, .n = n});
    if (s->ev_on) esi_evictor_untrack(&s->ev, req_id, now_ns);   /* an evicted stream's end confirms it */
    req_rec_t *r = rfind(s, req_id);
    if (!r) return;
    if (r->prefill != UINT32_MAX) release(s, r->prefill, r->prefill_tok);
    for (uint32_t i = 0; i < r->nothers; i++) release(s, r->others[i], r->others_tok[i]);
    for (uint32_t k = 0; k < s->nend && r->flow != UINT32_MAX; k++) {
        inst_t *in = &s->inst[s->end_hooks[k]];
        in->cfg->vt->x_on_end(in->state, s->flows[r->flow], complete, prompt_tokens, completion_tokens, now_ns);
    }
    rdelete(s, r);
}

void es_scheduler_on_end(es_scheduler_t *s, uint64_t req_id, es_time_t now_ns)
{
    on_end(s, req_id, now_ns, false, 0, 0, NULL, 0);
}

void es_scheduler_on_end_usage(es_scheduler_t *s, uint64_t req_id, es_time_t now_ns, uint32_t prompt_tokens,
                               uint32_t completion_tokens)
{
    on_end(s, req_id, now_ns, true, prompt_tokens, completion_tokens, NULL, 0);
}

void es_scheduler_on_complete(es_scheduler_t *s, uint64_t req_id, es_time_t now_ns, uint32_t prompt_tokens,
                              uint32_t completion_tokens, const es_endpoint_t *eps, size_t n)
{
    on_end(s, req_id, now_ns, true, prompt_tokens, completion_tokens, eps, n);
}

void es_scheduler_set_inflight(es_scheduler_t *s, uint32_t id, int64_t requests, int64_t tokens)
{
    grow_ids(s, (size_t)id + 1);
    s->inflight_req[id] = requests;
    s->inflight_tok[id] = tokens;
}

void es_scheduler_get_inflight(const es_scheduler_t *s, uint32_t id, int64_t *requests, int64_t *tokens)
{
    *requests = id < s->id_cap ? s->inflight_req[id] : 0;
    *tokens = id < s->id_cap ? s->inflight_tok[id] : 0;
}

es_time_t es_scheduler_sync_interval(const es_scheduler_t *s)
{
    return s->cfg->syncer >= 0 && s->infl.sync ? s->cfg->sync_interval : 0;
}

void es_scheduler_sync_attach(es_scheduler_t *s, es_sched_sync_t *st, uint32_t replica)
{
    ES_ASSERT(es_scheduler_sync_interval(s) > 0, "sync store attached to a replica that does not sync");
    s->sync = st;
    s->sync_replica = replica;
}

void es_scheduler_sync_publish(es_scheduler_t *s, uint32_t id)
{
    if (!s->sync) return;
    int64_t r, t;
    es_scheduler_get_inflight(s, id, &r, &t);
    esi_sync_put(s->sync, s->sync_replica, id, true, r, t);
}

/* ------------------------------------------------------------------ */
/* decision                                                            */
/* ------------------------------------------------------------------ */

static void cycle_setup(es_scheduler_t *s, esi_cycle_t *cy, const es_sched_request_t *req,
                        const es_endpoint_t *eps, size_t n, es_time_t now)
{
    grow_n(s, n);
    uint32_t maxid = 0;
    for (size_t i = 0; i < n; i++) if (eps[i].id > maxid) maxid = eps[i].id;
    grow_ids(s, (size_t)maxid + 1);
    memset(cy, 0, sizeof *cy);
    cy->s = s; cy->req = req; cy->eps = eps; cy->n = n; cy->now = now; cy->rng = &s->rng;
    cy->match = s->match;
    cy->id_pos = s->id_pos;
    cy->id_stamp = s->id_stamp;
    cy->id_cap = s->id_cap;
    cy->inflight_req = s->g_req;
    cy->inflight_tok = s->g_tok;
    if (++s->stamp == 0) { memset(s->id_stamp, 0, s->id_cap * sizeof *s->id_stamp); s->stamp = 1; }
    for (size_t i = 0; i < n; i++) {
        s->id_pos[eps[i].id] = (uint32_t)i;
        s->id_stamp[eps[i].id] = s->stamp;
        s->g_req[i] = s->inflight_req[eps[i].id];
        s->g_tok[i] = s->inflight_tok[eps[i].id];
    }
    if (s->sync)   /* InFlightLoad as the replicas last published it */
        for (size_t i = 0; i < n; i++) es_sched_sync_get(s->sync, eps[i].id, &s->g_req[i], &s->g_tok[i]);
    cy->stamp = s->stamp;
    cy->primary = s->bind.by_request ? -1 : s->bind.primary;
    cy->prefill = -1;
    cy->encode = -1;
    cy->kv_source = UINT32_MAX;
    cy->session_header = NULL;
    cy->session_pod = UINT32_MAX;
}

/* PrepareRequestData of every data producer, config order. */
static void prepare(es_scheduler_t *s, esi_cycle_t *cy)
{
    for (uint32_t k = 0; k < s->nproducers; k++) {
        inst_t *in = &s->inst[s->producers[k]];
        in->cfg->vt->x_prepare(in->state, cy);
    }
}

static void pre_request_hooks(es_scheduler_t *s, esi_cycle_t *cy)
{
    for (uint32_t k = 0; k < s->npre; k++) {
        inst_t *in = &s->inst[s->pre_hooks[k]];
        in->cfg->vt->x_pre_request(in->state, cy);
    }
}

static inline double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

static void run_profile(es_scheduler_t *s, esi_cycle_t *cy, int p, es_sched_trace_t *tr)
{
    prof_t *pf = &s->prof[p];
    esi_prof_result_t *res = &cy->res[p];
    res->ran = true;
    uint32_t *idx = s->idx;
    size_t m = cy->n;
    for (size_t i = 0; i < m; i++) idx[i] = (uint32_t)i;
    for (uint32_t f = 0; f < pf->nf && m > 0; f++) {
        inst_t *in = &s->inst[pf->filters[f]];
        m = in->cfg->vt->x_filter(in->state, cy, idx, m);
    }
    es_sched_trace_profile_t *tp = NULL;
    if (tr && tr->nprofiles < ES_SCHED_MAX_PROFILES) {
        tp = &tr->profile[tr->nprofiles++];
        tp->name = pf->cfg->name;
        tp->ran = true;
        tp->nsurvivors = (uint32_t)(m < tr->cap_eps ? m : tr->cap_eps);
        for (uint32_t i = 0; i < tp->nsurvivors; i++) tp->survivors[i] = idx[i];
        tp->nscorers = pf->ns;
        for (size_t i = 0; i < tr->cap_eps; i++) tp->total[i] = NAN;
    }
    if (m == 0) {
        res->failed = true;
        if (tp) tp->failed = true;
        return;
    }
    double *tot = s->total, *sc = s->scores;
    for (size_t i = 0; i < m; i++) tot[i] = 0;
    for (uint32_t k = 0; k < pf->ns; k++) {
        inst_t *in = &s->inst[pf->scorers[k]];
        in->cfg->vt->x_score(in->state, cy, idx, m, sc);
        double w = pf->weights[k];
        for (size_t i = 0; i < m; i++) tot[i] += clamp01(sc[i]) * w;   /* enforceScoreRange */
        if (tp) {
            tp->scorer[k] = in->cfg->name;
            tp->weight[k] = w;
            for (size_t i = 0; i < tr->cap_eps; i++) tp->raw[k * tr->cap_eps + i] = NAN;
            for (size_t i = 0; i < m; i++) if (idx[i] < tr->cap_eps) tp->raw[k * tr->cap_eps + idx[i]] = sc[i];
        }
    }
    inst_t *pk = &s->inst[pf->picker];
    res->npicked = (uint32_t)pk->cfg->vt->x_pick(pk->state, cy, idx, tot, m, res->picked, ES_SCHED_MAX_TARGETS);
    if (res->npicked == 0) res->failed = true;
    if (tp) {
        for (size_t i = 0; i < m; i++) if (idx[i] < tr->cap_eps) tp->total[idx[i]] = tot[i];
        tp->npicked = res->npicked;
        memcpy(tp->picked, res->picked, sizeof tp->picked);
        tp->failed = res->failed;
    }
}

static bool decides(es_scheduler_t *s, int32_t decider, esi_cycle_t *cy, uint32_t d)
{
    inst_t *di = &s->inst[decider];
    return di->cfg->vt->x_decide(di->state, cy, d);
}

/* The profile handler loop (pkg/epp/scheduling/scheduler.go, v0.10.0; the
 * disagg handler's stages: profilehandler/disagg/disagg_profile_handler.go).
 * A failed encode or prefill profile leaves that stage out. */
static void run_profiles(es_scheduler_t *s, esi_cycle_t *cy, es_sched_trace_t *tr)
{
    const esi_handler_bind_t *b = &s->bind;
    if (b->by_request) {   /* one profile, chosen per request (header-profile-handler) */
        inst_t *h = &s->inst[s->cfg->handler];
        int p = h->cfg->vt->x_select_profile(h->state, cy);
        if (p < 0) return;   /* no profile ran: no primary pick */
        cy->primary = p;
        run_profile(s, cy, p, tr);
        return;
    }
    if (b->split && b->prefill_first) {
        if (b->prefill >= 0) {
            run_profile(s, cy, b->prefill, tr);
            cy->prefill = b->prefill;
        }
        if (b->encode >= 0 && b->encode_decider >= 0 && decides(s, b->encode_decider, cy, UINT32_MAX)) {
            run_profile(s, cy, b->encode, tr);
            cy->encode = b->encode;
        }
        run_profile(s, cy, b->primary, tr);
        return;
    }
    run_profile(s, cy, b->primary, tr);   /* decode first */
    if (!b->split) return;
    uint32_t d = esi_cycle_primary(cy);
    if (d == UINT32_MAX) return;
    if (b->encode >= 0 && b->encode_decider >= 0 && decides(s, b->encode_decider, cy, d)) {
        run_profile(s, cy, b->encode, tr);
        cy->encode = b->encode;
    }
    if (b->prefill >= 0 && b->decider >= 0 && decides(s, b->decider, cy, d)) {
        run_profile(s, cy, b->prefill, tr);
        cy->prefill = b->prefill;
    }
}

/* EstimateInput: the token producer's count (no tokenizer: bytes / 4) */
static int64_t input_tokens(const es_sched_request_t *r)
{
    if (r->body_bytes > 0) return r->body_bytes / 4;
    if (r->content.tokens > 0) return r->content.tokens;
    return r->prompt_text ? llround((double)strlen(r->prompt_text) / 4.0) + esi_text_image_tokens(r) : 0;
}

/* estimateRequestTokens' parts: the input (discounted per candidate by
 * esi_request_tokens) and EstimateOutput when addEstimatedOutputTokens */
static void request_tokens(const es_scheduler_t *s, esi_cycle_t *cy)
{
    int64_t in = input_tokens(cy->req), out = 0;
    cy->est_tokens = in;
    if (s->infl.add_output) {
        out = llround((double)in * s->infl.output_ratio);
        if (cy->req->max_tokens > 0 && cy->req->max_tokens < out) out = cy->req->max_tokens;
        if (s->infl.max_output >= 0 && s->infl.max_output < out) out = s->infl.max_output;
    }
    cy->out_tokens = out;
}

static void pre_request(es_scheduler_t *s, esi_cycle_t *cy)
{
    req_rec_t *rec = rinsert(s, cy->req->id);
    rec->prefill = UINT32_MAX;
    rec->nothers = 0;
    rec->flow = s->nend ? flow_of(s, esi_fairness_id(cy->req)) : UINT32_MAX;
    for (uint32_t k = 0; k < s->nprof; k++) {
        const esi_prof_result_t *r = &cy->res[k];
        if (!r->ran || r->failed || !r->npicked) continue;
        uint32_t id = cy->eps[r->picked[0]].id;
        int64_t tok = esi_request_tokens(cy, r->picked[0]);
        s->inflight_req[id]++;
        s->inflight_tok[id] += tok;
        if ((int)k == cy->prefill && strcmp(s->prof[k].cfg->name, "prefill") == 0) { rec->prefill = id; rec->prefill_tok = tok; }
        else { rec->others_tok[rec->nothers] = tok; rec->others[rec->nothers++] = id; }
    }
    if (s->ev_on) esi_evictor_track(&s->ev, cy->req, cy->now);
    pre_request_hooks(s, cy);
}

static double saturation_of(es_scheduler_t *s, esi_cycle_t *cy)
{
    inst_t *in = &s->inst[s->saturation];
    return in->cfg->vt->x_saturation(in->state, cy);
}

double es_scheduler_saturation(es_scheduler_t *s, const es_endpoint_t *eps, size_t n, es_time_t now)
{
    esi_cycle_t cy;
    es_sched_request_t dummy = {0};
    cycle_setup(s, &cy, &dummy, eps, n, now);
    return saturation_of(s, &cy);
}

/* base64.StdEncoding.EncodeToString of s into out; false when it does not fit */
static bool b64_std_encode(const char *s, char *out, size_t size)
{
    static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    if ((n + 2) / 3 * 4 + 1 > size) return false;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t rem = (uint32_t)(n - i), acc = (uint32_t)(unsigned char)s[i] << 16;
        if (rem > 1) acc |= (uint32_t)(unsigned char)s[i + 1] << 8;
        if (rem > 2) acc |= (unsigned char)s[i + 2];
        out[o++] = k[acc >> 18 & 63];
        out[o++] = k[acc >> 12 & 63];
        out[o++] = rem > 1 ? k[acc >> 6 & 63] : '=';
        out[o++] = rem > 2 ? k[acc & 63] : '=';
    }
    out[o] = '\0';
    return true;
}

static void result_init(es_sched_result_t *out)
{
    es_sched_trace_t *tr = out->trace;
    memset(out, 0, sizeof *out);
    out->trace = tr;
    out->prefill = -1;
    out->kv_source = -1;
    if (tr) tr->nprofiles = 0;
}

/* How a decision may proceed: admission (flow control off), and whether a
 * batching producer may hold the request (not for es_scheduler_pick, whose
 * caller wants the answer now: its request is a batch of one). */
enum { DECIDE_ADMIT = 1, DECIDE_HOLD = 2, DECIDE_HELD = 4 };

static void decide(es_scheduler_t *s, const es_sched_request_t *req, const es_endpoint_t *eps, size_t n,
                   es_time_t now, es_sched_result_t *out, unsigned how)
{
    if (s->decide_hook) s->decide_hook(s->decide_ud, req);
    result_init(out);
    if (n == 0) {
        out->status = 503;
        out->reason = "failed to find endpoint candidates";
        return;
    }
    esi_cycle_t cy;
    cycle_setup(s, &cy, req, eps, n, now);
    if ((how & DECIDE_ADMIT) && (req->priority < 0 || out->trace)) {
        out->saturation = saturation_of(s, &cy);
        if (out->trace) out->trace->saturation = out->saturation;
        if (req->priority < 0 && out->saturation >= 1.0) {
            out->status = 429;
            out->reason = "system saturated, sheddable request dropped";
            return;
        }
    }
    if ((how & DECIDE_HOLD) && s->batcher >= 0) {   /* the producer waits for its window (director.go) */
        inst_t *in = &s->inst[s->batcher];
        es_time_t seal = 0;
        if (in->cfg->vt->x_hold(in->state, &cy, &seal)) {
            if (s->nheld == 0) s->seal_at = seal;
            if (s->nheld == s->hcap) {
                s->hcap = s->hcap ? s->hcap * 2 : 64;
                s->held = es_xrealloc(s->held, s->hcap * sizeof *s->held);
            }
            s->held[s->nheld++] = req;
            out->status = ES_SCHED_QUEUED;
            return;
        }
    }
    prepare(s, &cy);
    request_tokens(s, &cy);
    if (out->trace) {
        es_sched_trace_t *tr = out->trace;
        tr->have_latency = cy.latency != NULL;
        for (size_t i = 0; cy.latency && i < n && i < tr->cap_eps; i++) {
            tr->pred_ttft[i] = cy.latency[i].ttft;
            tr->pred_tpot[i] = cy.latency[i].tpot;
            tr->ttft_headroom[i] = cy.latency[i].ttft_headroom;
            tr->tpot_headroom[i] = cy.latency[i].tpot_headroom;
            tr->pred_valid[i] = cy.latency[i].ttft_valid && cy.latency[i].tpot_valid;
        }
    }
    /* admission plugins, after the producers (director.go runAdmissionPlugins) */
    for (uint32_t k = 0; k < s->nadmit; k++) {
        inst_t *in = &s->inst[s->admit_hooks[k]];
        const char *deny = in->cfg->vt->x_admit(in->state, &cy);
        if (deny) {
            out->status = 500;
            out->reason = deny;
            return;
        }
    }
    run_profiles(s, &cy, out->trace);
    uint32_t p = esi_cycle_primary(&cy);
    if (p == UINT32_MAX) {
        out->status = 429;
        out->reason = "failed to find target endpoint";
        return;
    }
    pre_request(s, &cy);
    const esi_prof_result_t *pr = &cy.res[cy.primary];
    out->status = 200;
    out->primary = eps[p].id;
    out->ntargets = pr->npicked;
    for (uint32_t i = 0; i < pr->npicked; i++) out->targets[i] = eps[pr->picked[i]].id;
    uint32_t f = esi_cycle_prefill(&cy);
    if (f != UINT32_MAX) out->prefill = (int32_t)eps[f].id;
    if (cy.encode >= 0 && !cy.res[cy.encode].failed) {   /* x-encoder-hosts-ports: every encode pick */
        const esi_prof_result_t *er = &cy.res[cy.encode];
        out->nencode = er->npicked;
        for (uint32_t i = 0; i < er->npicked; i++) out->encode[i] = eps[er->picked[i]].id;
    }
    if (cy.kv_source != UINT32_MAX) {
        out->kv_source = (int32_t)eps[cy.kv_source].id;
        out->kv_source_tokens = cy.kv_source_tokens;
    }
    /* ID.String() is namespace/name; eppsim's pods have a name only */
    if (cy.session_pod != UINT32_MAX && eps[cy.session_pod].name &&
        b64_std_encode(eps[cy.session_pod].name, out->session_token, sizeof out->session_token))
        out->session_header = cy.session_header;
    if (cy.have_prefix) {
        out->est_prefix_blocks = cy.match[p];
        out->est_total_blocks = cy.total_blocks;
        out->est_block_tokens = cy.block_tokens;
    }
}

int es_scheduler_pick(es_scheduler_t *s, const es_sched_request_t *req, const es_endpoint_t *eps, size_t n,
                      es_time_t now_ns, es_sched_result_t *out)
{
    if (!s || !req || !out || (n && !eps)) return ES_EINVAL;
    decide(s, req, eps, n, now_ns, out, s->cfg->flow_control ? 0 : DECIDE_ADMIT);
    return 0;
}

void es_scheduler_record(es_scheduler_t *s, const es_sched_request_t *req, const es_endpoint_t *eps,
                         size_t n, uint32_t endpoint_id, es_time_t now_ns)
{
    esi_cycle_t cy;
    cycle_setup(s, &cy, req, eps, n, now_ns);
    prepare(s, &cy);
    uint32_t e = UINT32_MAX;
    for (size_t i = 0; i < n; i++) if (eps[i].id == endpoint_id) e = (uint32_t)i;
    if (e == UINT32_MAX) return;
    cy.record_only = true;
    cy.record_target = e;
    pre_request_hooks(s, &cy);
}

bool es_scheduler_wants_kv_events(const es_epp_config_t *cfg)
{
    for (size_t i = 0; i < cfg->nplugins; i++)
        if (cfg->plugins[i].vt->caps & ESI_CAP_KV_EVENTS) return true;
    return false;
}

bool es_scheduler_wants_gpu_util(const es_epp_config_t *cfg)
{
    for (size_t i = 0; i < cfg->nplugins; i++)
        if (cfg->plugins[i].vt->produces & ESI_DATA_GPU_UTIL) return true;
    return false;
}

void es_scheduler_on_kv_event(es_scheduler_t *s, const es_kv_event_t *ev)
{
    for (uint32_t k = 0; k < s->nkv; k++) {
        inst_t *in = &s->inst[s->kv_hooks[k]];
        in->cfg->vt->x_kv_event(in->state, ev);
    }
}

size_t es_sched_text_block_keys(const es_scheduler_t *s, const char *text, uint64_t *out, size_t max)
{
    for (size_t i = 0; i < s->cfg->nplugins; i++)
        if (s->inst[i].cfg->vt->x_text_keys) return s->inst[i].cfg->vt->x_text_keys(s->inst[i].state, text, out, max);
    return 0;
}

size_t es_scheduler_kv_held(es_scheduler_t *s, const es_sched_request_t *req, uint32_t endpoint_id, uint64_t *out,
                            size_t max)
{
    for (size_t i = 0; i < s->cfg->nplugins; i++)
        if (s->inst[i].cfg->vt->x_held_keys)
            return s->inst[i].cfg->vt->x_held_keys(s->inst[i].state, req, endpoint_id, out, max);
    return 0;
}

void es_scheduler_endpoint_removed(es_scheduler_t *s, uint32_t id)
{
    if (id < s->id_cap) { s->inflight_req[id] = 0; s->inflight_tok[id] = 0; }
    if (s->sync) esi_sync_put(s->sync, s->sync_replica, id, false, 0, 0);   /* runtime.go: Delete at EventDelete */
    for (uint32_t k = 0; k < s->nrm; k++) {
        inst_t *in = &s->inst[s->rm_hooks[k]];
        in->cfg->vt->x_removed(in->state, id);
    }
    /* forget the released pod in pending request records */
    for (size_t i = 0; i < s->nreqs; i++) {
        req_rec_t *r = &s->reqs[i];
        if (r->prefill == id) r->prefill = UINT32_MAX;
        for (uint32_t k = 0; k < r->nothers; k++)
            if (r->others[k] == id) r->others[k--] = r->others[--r->nothers];
    }
}

/* ------------------------------------------------------------------ */
/* trace                                                               */
/* ------------------------------------------------------------------ */

es_sched_trace_t *es_sched_trace_create(size_t cap)
{
    es_sched_trace_t *t = es_xcalloc(1, sizeof *t);
    t->cap_eps = cap;
    for (int p = 0; p < ES_SCHED_MAX_PROFILES; p++) {
        t->profile[p].survivors = es_xcalloc(cap + 1, sizeof(uint32_t));
        t->profile[p].raw = es_xcalloc((cap + 1) * ES_SCHED_MAX_SCORERS, sizeof(double));
        t->profile[p].total = es_xcalloc(cap + 1, sizeof(double));
    }
    t->pred_ttft = es_xcalloc(cap + 1, sizeof(double));
    t->pred_tpot = es_xcalloc(cap + 1, sizeof(double));
    t->ttft_headroom = es_xcalloc(cap + 1, sizeof(double));
    t->tpot_headroom = es_xcalloc(cap + 1, sizeof(double));
    t->pred_valid = es_xcalloc(cap + 1, sizeof(bool));
    return t;
}

void es_sched_trace_destroy(es_sched_trace_t *t)
{
    if (!t) return;
    for (int p = 0; p < ES_SCHED_MAX_PROFILES; p++) {
        free(t->profile[p].survivors); free(t->profile[p].raw); free(t->profile[p].total);
    }
    free(t->pred_ttft); free(t->pred_tpot); free(t->ttft_headroom); free(t->tpot_headroom); free(t->pred_valid);
    free(t);
}

/* ------------------------------------------------------------------ */
/* flow control                                                        */
/* ------------------------------------------------------------------ */

/* Interned flow id; the flows array is kept sorted (round-robin order). */
static uint32_t flow_of(es_scheduler_t *s, const char *name)
{
    size_t lo = 0, hi = s->nflows;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->flows[mid], name);
        if (c == 0) return (uint32_t)mid;
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    if (s->nflows == s->fcap) {
        s->fcap = s->fcap ? s->fcap * 2 : 8;
        s->flows = es_xrealloc(s->flows, s->fcap * sizeof *s->flows);
        s->fviews = es_xrealloc(s->fviews, s->fcap * sizeof *s->fviews);
    }
    size_t len = strlen(name) + 1;
    char *d = es_xmalloc(len);
    memcpy(d, name, len);
    memmove(s->flows + lo + 1, s->flows + lo, (s->nflows - lo) * sizeof *s->flows);
    s->flows[lo] = d;
    s->nflows++;
    /* renumber queued items' and in-flight records' flows at or after lo (new flows are rare) */
    for (size_t i = 0; s->nend && i < s->nreqs; i++)
        if (s->reqs[i].flow != UINT32_MAX && s->reqs[i].flow >= lo) s->reqs[i].flow++;
    for (size_t b = 0; b < s->nbands; b++)
        for (size_t i = 0; i < s->bands[b].n; i++) if (s->bands[b].items[i].flow >= lo) s->bands[b].items[i].flow++;
    for (size_t b = 0; b < s->nbands; b++) if (s->bands[b].any && s->bands[b].cursor >= lo) s->bands[b].cursor++;
    return (uint32_t)lo;
}

static fc_band_t *band_of(es_scheduler_t *s, int64_t prio)
{
    for (size_t i = 0; i < s->nbands; i++) if (s->bands[i].priority == prio) return &s->bands[i];
    if (s->nbands == s->bcap) {
        size_t nc = s->bcap ? s->bcap * 2 : 4;
        s->bands = es_xrealloc(s->bands, nc * sizeof *s->bands);
        s->prios = es_xrealloc(s->prios, nc * sizeof *s->prios);
        s->ceilings = es_xrealloc(s->ceilings, nc * sizeof *s->ceilings);
        s->bcap = nc;
    }
    const esi_band_cfg_t *cfg = prio < 0 && s->cfg->flow.has_neg_band ? &s->cfg->flow.neg_band
                                                                        : &s->cfg->flow.def_band;   /* auto-provisioned */
    for (size_t i = 0; i < s->cfg->flow.nbands; i++)
        if (s->cfg->flow.bands[i].priority == prio) cfg = &s->cfg->flow.bands[i];
    size_t at = 0;   /* keep bands sorted by priority, highest first */
    while (at < s->nbands && s->bands[at].priority > prio) at++;
    memmove(s->bands + at + 1, s->bands + at, (s->nbands - at) * sizeof *s->bands);
    fc_band_t *b = &s->bands[at];
    memset(b, 0, sizeof *b);
    b->priority = prio;
    b->cfg = cfg;
    b->rr = (s->cfg->plugins[cfg->fairness].vt->caps & ESI_CAP_FLOWS_ROUND_ROBIN) != 0;
    b->pick_flow = s->cfg->plugins[cfg->fairness].vt->x_pick_flow;
    b->fair_state = s->inst[cfg->fairness].state;
    b->order_key = s->cfg->plugins[cfg->ordering].vt->x_order_key;
    s->nbands++;
    return b;
}

static uint64_t req_bytes(const es_sched_request_t *r)
{
    if (r->body_bytes) return r->body_bytes;
    if (r->prompt_text) return strlen(r->prompt_text);
    return (uint64_t)r->content.tokens * 4;
}

int es_scheduler_submit(es_scheduler_t *s, const es_sched_request_t *req, const es_endpoint_t *eps, size_t n,
                        es_time_t now, es_sched_result_t *out)
{
    if (!s->cfg->flow_control) {
        if (!req || !out || (n && !eps)) return ES_EINVAL;
        decide(s, req, eps, n, now, out, DECIDE_ADMIT | DECIDE_HOLD);
        return 0;
    }
    result_init(out);
    const esi_flow_cfg_t *fc = &s->cfg->flow;
    fc_band_t *b = band_of(s, req->priority);
    uint32_t flow = flow_of(s, esi_fairness_id(req));
    uint64_t bytes = req_bytes(req);
    if ((fc->max_requests && s->fc_queued + 1 > fc->max_requests) ||
        (fc->max_bytes && s->fc_bytes + bytes > fc->max_bytes) ||
        (b->cfg->max_requests && b->n + 1 > b->cfg->max_requests) ||
        (b->cfg->max_bytes && b->bytes + bytes > b->cfg->max_bytes)) {
        out->status = 429;
        out->reason = "request rejected: flow control capacity";
        return 0;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->items = es_xrealloc(b->items, b->cap * sizeof *b->items);
    }
    fc_item_t *it = &b->items[b->n++];
    it->req = req;
    it->enq = now;
    it->deadline = fc->ttl > 0 ? now + fc->ttl : ES_TIME_NEVER;
    it->key = b->order_key ? b->order_key(req, now, it->deadline) : 0;
    it->bytes = bytes;
    it->flow = flow;
    b->bytes += bytes;
    s->fc_queued++;
    s->fc_bytes += bytes;
    out->status = ES_SCHED_QUEUED;
    return 0;
}

static void fc_remove(es_scheduler_t *s, fc_band_t *b, size_t i)
{
    b->bytes -= b->items[i].bytes;
    s->fc_bytes -= b->items[i].bytes;
    s->fc_queued--;
    memmove(b->items + i, b->items + i + 1, (b->n - i - 1) * sizeof *b->items);
    b->n--;
}

/* Ordering policy: the head of flow (or of the band when flow < 0): the least
 * key, the earliest enqueued among equal keys (items are in enqueue order). */
static long fc_head(const fc_band_t *b, long flow)
{
    long best = -1;
    es_time_t best_key = 0;
    for (size_t i = 0; i < b->n; i++) {
        const fc_item_t *it = &b->items[i];
        if (flow >= 0 && it->flow != (uint32_t)flow) continue;
        if (!b->order_key) return (long)i;   /* arrival order: the first is the head */
        es_time_t k = it->key;
        if (best < 0 || k < best_key) { best = (long)i; best_key = k; }
    }
    return best;
}

/* maybeReclaim (controller/internal/reclamation.go): at a head-of-line block
 * of band bi, the first blocked band from bi on with queued demand above the
 * next victim's priority sizes one reclamation decision */
static void maybe_reclaim(es_scheduler_t *s, double sat, size_t bi, es_time_t now)
{
    if (!esi_evictor_gate_open(&s->ev, now)) return;
    int64_t victim;
    if (!esi_evictor_victim_priority(&s->ev, &victim)) return;
    for (size_t j = bi; j < s->nbands; j++) {
        if (s->bands[j].priority <= victim) return;
        if (s->ceilings[j] <= 0 || sat < s->ceilings[j] || s->bands[j].n == 0) continue;
        const es_sched_request_t *v[8];
        size_t k = esi_evictor_reclaim(&s->ev, sat, s->ceilings[j], s->bands[j].priority, now, v, 8);
        for (size_t i = 0; i < k; i++) s->evict_cb(s->evict_ud, v[i]);
        return;
    }
}

void es_scheduler_set_evictor(es_scheduler_t *s, es_evict_cb cb, void *ud, es_time_t refresh)
{
    if (s->ev_on || !cb || !s->cfg->flow_control || !s->cfg->flow.eviction) return;
    const esi_plugin_vt_t *filter = esi_registry_with_role(ESI_EVICT_FILTER), *order = esi_registry_with_role(ESI_EVICT_ORDER);
    ES_ASSERT(filter && order, "the eviction policies are registered");
    /* deriveEvictionConfirmationGrace (cmd/epp/runner/runner.go): a leading
     * sensor 10 ms; a scraped one the refresh interval + the runner's
     * MetricsStalenessThreshold (2 s) + the engine's reclaim budget (250 ms) */
    const esi_plugin_vt_t *det = s->cfg->plugins[s->cfg->saturation].vt;
    es_time_t grace = (det->caps & ESI_CAP_LEADING_SENSOR) ? 10 * ES_MS : refresh + 2000 * ES_MS + 250 * ES_MS;
    esi_evictor_init(&s->ev, filter, order, grace);
    s->evict_cb = cb;
    s->evict_ud = ud;
    s->ev_on = true;
}

uint64_t es_scheduler_evictions(const es_scheduler_t *s) { return s->ev_on ? s->ev.evicted : 0; }
bool es_scheduler_evicts(const es_scheduler_t *s) { return s->ev_on; }

int es_scheduler_flow_cycle(es_scheduler_t *s, const es_endpoint_t *eps, size_t n, es_time_t now,
                            es_flow_cb cb, void *ud)
{
    es_sched_result_t res;
    memset(&res, 0, sizeof res);
    /* TTL eviction */
    for (size_t bi = 0; bi < s->nbands; bi++) {
        fc_band_t *b = &s->bands[bi];
        for (size_t i = 0; i < b->n;) {
            if (b->items[i].deadline <= now) {
                const es_sched_request_t *r = b->items[i].req;
                fc_remove(s, b, i);
                result_init(&res);
                res.status = 503;
                res.reason = "request timed out in queue";
                if (cb) cb(ud, r, &res);
            } else {
                i++;
            }
        }
    }
    if (s->nheld && now >= s->seal_at) {   /* the batch window closed: assign, then decide each */
        esi_cycle_t cy;
        es_sched_request_t dummy = {0};
        cycle_setup(s, &cy, &dummy, eps, n, now);
        inst_t *in = &s->inst[s->batcher];
        in->cfg->vt->x_seal(in->state, &cy);
        size_t k = s->nheld;
        s->nheld = 0;
        for (size_t i = 0; i < k; i++) {
            decide(s, s->held[i], eps, n, now, &res, DECIDE_HELD);
            if (cb) cb(ud, s->held[i], &res);
        }
        return (int)k;
    }
    if (s->fc_queued == 0) return 0;
    esi_cycle_t cy;
    es_sched_request_t dummy = {0};
    cycle_setup(s, &cy, &dummy, eps, n, now);
    double sat = saturation_of(s, &cy);
    /* ComputeLimit over every band, highest priority first (unset entries stay open) */
    inst_t *usage = &s->inst[s->cfg->flow.usage];
    for (size_t bi = 0; bi < s->nbands; bi++) { s->prios[bi] = s->bands[bi].priority; s->ceilings[bi] = 1.0; }
    usage->cfg->vt->x_limits(usage->state, sat, s->prios, s->nbands, s->ceilings);
    for (size_t bi = 0; bi < s->nbands; bi++) {   /* highest priority first */
        fc_band_t *b = &s->bands[bi];
        if (sat >= s->ceilings[bi]) {   /* head-of-line: the whole cycle stops */
            if (s->ev_on) maybe_reclaim(s, sat, bi, now);
            return 0;
        }
        if (b->n == 0) continue;
        long pick;
        if (b->pick_flow) {
            for (size_t k = 0; k < s->nflows; k++) s->fviews[k] = (esi_flow_view_t){s->flows[k], 0, 0};
            for (size_t i = 0; i < b->n; i++) s->fviews[b->items[i].flow].len++;
            for (size_t k = 0; k < s->nflows; k++)
                if (s->fviews[k].len) s->fviews[k].head_enq = b->items[fc_head(b, (long)k)].enq;
            long fl = b->pick_flow(b->fair_state, s->fviews, s->nflows, now);
            pick = fl >= 0 ? fc_head(b, fl) : -1;
        } else if (b->rr) {
            uint32_t start = b->any ? b->cursor + 1 : 0;
            pick = -1;
            for (size_t k = 0; k < s->nflows && pick < 0; k++) {
                uint32_t fl = (uint32_t)((start + k) % s->nflows);
                pick = fc_head(b, fl);
                if (pick >= 0) { b->cursor = fl; b->any = true; }
            }
        } else {
            pick = fc_head(b, -1);
        }
        if (pick < 0) continue;
        const es_sched_request_t *r = b->items[pick].req;
        fc_remove(s, b, (size_t)pick);
        decide(s, r, eps, n, now, &res, DECIDE_HOLD);
        if (res.status == ES_SCHED_QUEUED) return 1;   /* held by the batching producer */
        res.saturation = sat;
        if (cb) cb(ud, r, &res);
        return 1;
    }
    return 0;
}

void es_scheduler_set_decide_hook(es_scheduler_t *s, es_decide_hook fn, void *ud)
{
    s->decide_hook = fn;
    s->decide_ud = ud;
}

void es_scheduler_flow_explain(es_scheduler_t *s, const es_sched_request_t *req, const es_endpoint_t *eps,
                               size_t n, es_time_t now, es_sched_flow_explain_t *out)
{
    const es_epp_config_t *c = s->cfg;
    memset(out, 0, sizeof *out);
    esi_cycle_t cy;
    cycle_setup(s, &cy, req, eps, n, now);
    out->gate = c->flow_control;
    out->detector = c->plugins[c->saturation].name;
    out->detector_type = c->plugins[c->saturation].vt->type_name;
    out->saturation = saturation_of(s, &cy);
    out->band = req->priority;
    out->flow = esi_fairness_id(req);
    out->bytes = req_bytes(req);
    if (!c->flow_control) {   /* director.go: only the detector sheds, sheddable requests only */
        bool shed = req->priority < 0 && out->saturation >= 1.0;
        out->status = shed ? 429 : 200;
        out->verdict = shed ? "shed: sheddable request (priority < 0) and the pool is saturated"
                            : "admitted: flow control is off (only sheddable requests are shed when saturated)";
        return;
    }
    fc_band_t *b = band_of(s, req->priority);
    const esi_band_cfg_t *bc = b->cfg;
    for (size_t i = 0; i < c->flow.nbands; i++) if (bc == &c->flow.bands[i]) out->band_listed = true;
    out->fairness = c->plugins[bc->fairness].name;
    out->fairness_type = c->plugins[bc->fairness].vt->type_name;
    out->ordering = c->plugins[bc->ordering].name;
    out->ordering_type = c->plugins[bc->ordering].vt->type_name;
    out->usage = c->plugins[c->flow.usage].name;
    out->usage_type = c->plugins[c->flow.usage].vt->type_name;
    b = NULL;   /* band_of may move the bands */
    inst_t *usage = &s->inst[c->flow.usage];
    for (size_t bi = 0; bi < s->nbands; bi++) { s->prios[bi] = s->bands[bi].priority; s->ceilings[bi] = 1.0; }
    usage->cfg->vt->x_limits(usage->state, out->saturation, s->prios, s->nbands, s->ceilings);
    out->nbands = s->nbands < ES_SCHED_EXPLAIN_BANDS ? s->nbands : ES_SCHED_EXPLAIN_BANDS;
    for (size_t bi = 0; bi < out->nbands; bi++) {
        out->band_priority[bi] = s->prios[bi];
        out->band_ceiling[bi] = s->ceilings[bi];
    }
    const esi_flow_cfg_t *fc = &c->flow;
    if ((fc->max_requests && fc->max_requests < 1) || (fc->max_bytes && out->bytes > fc->max_bytes) ||
        (bc->max_requests && bc->max_requests < 1) || (bc->max_bytes && out->bytes > bc->max_bytes)) {
        out->status = 429;
        out->verdict = "rejected: flow control capacity (maxBytes / maxRequests)";
        return;
    }
    out->status = 200;
    out->verdict = "dispatched at the next cycle: every band down to its own is below its usage limit";
    for (size_t bi = 0; bi < s->nbands; bi++) {   /* the cycle stops at the first band at its limit */
        if (out->saturation >= s->ceilings[bi]) {
            out->status = ES_SCHED_QUEUED;
            out->verdict = s->prios[bi] == req->priority
                ? "held in its queue: the saturation is at or above its band's usage limit"
                : "held in its queue: a higher-priority band is at its usage limit (head of line)";
            return;
        }
        if (s->prios[bi] == req->priority) return;
    }
}

bool es_scheduler_flow_cancel(es_scheduler_t *s, uint64_t req_id)
{
    for (size_t i = 0; i < s->nheld; i++)
        if (s->held[i]->id == req_id) {   /* its batch entry stays: upstream's assignment counts it too */
            memmove(s->held + i, s->held + i + 1, (s->nheld - i - 1) * sizeof *s->held);
            s->nheld--;
            return true;
        }
    for (size_t bi = 0; bi < s->nbands; bi++)
        for (size_t i = 0; i < s->bands[bi].n; i++)
            if (s->bands[bi].items[i].req->id == req_id) { fc_remove(s, &s->bands[bi], i); return true; }
    return false;
}

size_t es_scheduler_flow_queued(const es_scheduler_t *s) { return s->fc_queued + s->nheld; }

es_time_t es_scheduler_flow_next_expiry(const es_scheduler_t *s)
{
    es_time_t t = s->nheld ? s->seal_at : ES_TIME_NEVER;
    for (size_t bi = 0; bi < s->nbands; bi++)
        for (size_t i = 0; i < s->bands[bi].n; i++)
            if (s->bands[bi].items[i].deadline < t) t = s->bands[bi].items[i].deadline;
    return t;
}

size_t es_scheduler_flow_items(const es_scheduler_t *s, es_sched_flow_item_t *out, size_t max)
{
    size_t k = 0;
    for (size_t bi = 0; bi < s->nbands; bi++)
        for (size_t i = 0; i < s->bands[bi].n; i++, k++)
            if (k < max) out[k] = (es_sched_flow_item_t){s->bands[bi].items[i].req->id, s->bands[bi].items[i].enq};
    return k;
}

size_t es_scheduler_flow_bands(const es_scheduler_t *s, es_sched_flow_band_t *out, size_t max)
{
    for (size_t bi = 0; bi < s->nbands && bi < max; bi++)
        out[bi] = (es_sched_flow_band_t){s->bands[bi].priority,
                                         s->bands[bi].rr && s->bands[bi].any ? s->flows[s->bands[bi].cursor] : NULL};
    return s->nbands;
}

void es_scheduler_flow_restore_band(es_scheduler_t *s, int64_t priority, const char *last_flow)
{
    if (!s->cfg->flow_control) return;
    uint32_t fl = last_flow ? flow_of(s, last_flow) : 0;   /* interned first: band_of's pointer stays valid */
    fc_band_t *b = band_of(s, priority);
    if (last_flow && b->rr) { b->cursor = fl; b->any = true; }
}
