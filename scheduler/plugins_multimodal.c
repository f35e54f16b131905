/*
 * plugins_multimodal.c -- the multimodal encoder-cache affinity pair and the
 * P2P KV source producer (llm-d-router v0.10.0, commit 71f4f099):
 *
 *   mm-embeddings-cache-producer  requestcontrol/dataproducer/multimodal/
 *                                 (producer.go, prerequest.go)
 *   mm-embeddings-cache-scorer    scheduling/scorer/mmcacheaffinity/scorer.go
 *   p2p-source-producer           requestcontrol/dataproducer/p2psource/producer.go
 *
 * The producer remembers, per endpoint, an LRU of the multimodal item hashes
 * (images) of the requests the primary profile sent there; its
 * EncoderCacheMatchInfo is, per candidate, how many of the request's distinct
 * items the endpoint holds (each item weighs 1, as upstream's MatchItem.Size).
 * The scorer divides that by the request's item count.  The P2P producer
 * picks, among the candidates within one block of the most cached prompt
 * tokens, a pull source weighted by 1 / (1 + waiting queue) at a point fixed
 * by the request id, and keeps it when it out-caches the pod that computes
 * the prompt by minCachedTokenDelta tokens.  No allocation after warm-up.
 */
#include <stdio.h>
#include <stdlib.h>

#include "es_rng.h"
#include "plugins_internal.h"

/* ------------------------------------------------------------------ */
/* mm-embeddings-cache-producer                                        */

#define MM_DEFAULT_CACHE_MB 4096          /* defaultCacheSizeInMB */
#define MM_BYTES_PER_ITEM   (2u << 20)    /* bytesPerImage: 2 MiB a tracked item */

typedef struct mm_params { int64_t cache_mb; } mm_params_t;
static const esi_param_t k_mm_params[] = {
    {"cacheSizeInMBPerServer", ESI_P_INT, P(mm_params_t, cache_mb), "4096", -9.2e18, 9.2e18, NULL}, END};

/* lruCapacityFromCacheSizeMB: <= 0 is the default; at least one entry */
uint32_t esi_mm_lru_capacity(int64_t mb)
{
    if (mb <= 0) mb = MM_DEFAULT_CACHE_MB;
    int64_t n = mb / 2;   /* mb MiB / 2 MiB, as (mb << 20) / bytesPerImage without overflow */
    if (n < 1) return 1;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

typedef struct mm {
    uint32_t      cap;        /* entries per endpoint */
    esi_pindex_t  ix;         /* item hash -> endpoints holding it, per-endpoint LRU */
    uint64_t     *items;      /* the current request's distinct items */
    uint32_t      nitems, icap;
    uint32_t     *matched;    /* [n] by eps index */
    size_t        mcap;
} mm_t;

static int mm_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s; (void)err;
    mm_t *m = st;
    m->cap = esi_mm_lru_capacity(((const mm_params_t *)params)->cache_mb);
    esi_pindex_init(&m->ix);
    return 0;
}

static void mm_fini(void *st)
{
    mm_t *m = st;
    esi_pindex_fini(&m->ix);
    free(m->items);
    free(m->matched);
}

static bool mm_holds(const esi_pindex_t *ix, uint64_t key, uint32_t pod)
{
    for (uint32_t ni = esi_pindex_holders(ix, key); ni; ni = ix->nodes[ni].next)
        if (ix->nodes[ni].pod == pod) return true;
    return false;
}

/* Produce: the request's distinct items (ExtractMMItems), matched against
 * each candidate's LRU without touching its recency (Contains) */
static void mm_prepare(void *st, esi_cycle_t *cy)
{
    mm_t *m = st;
    const es_sched_request_t *r = cy->req;
    m->nitems = 0;
    if (r->nmm == 0) return;   /* no multimodal content: no match data */
    if (r->nmm > m->icap) {
        m->icap = r->nmm;
        m->items = es_xrealloc(m->items, m->icap * sizeof *m->items);
    }
    for (uint32_t i = 0; i < r->nmm; i++) {   /* repeated references count once */
        uint32_t k = 0;
        while (k < m->nitems && m->items[k] != r->mm[i].hash) k++;
        if (k == m->nitems) m->items[m->nitems++] = r->mm[i].hash;
    }
    if (cy->n > m->mcap) {
        m->mcap = cy->n;
        m->matched = es_xrealloc(m->matched, m->mcap * sizeof *m->matched);
    }
    for (size_t e = 0; e < cy->n; e++) {
        uint32_t hit = 0;
        for (uint32_t k = 0; k < m->nitems; k++) hit += mm_holds(&m->ix, m->items[k], cy->eps[e].id);
        m->matched[e] = hit;
    }
    cy->mm_matched = m->matched;
    cy->mm_total = m->nitems;
}

static void mm_add(mm_t *m, uint32_t pod)
{
    for (uint32_t k = 0; k < m->nitems; k++) esi_pindex_add(&m->ix, m->items[k], pod, m->cap);
}

/* PreRequest: every target of the primary profile now holds the items */
static void mm_pre(void *st, esi_cycle_t *cy)
{
    mm_t *m = st;
    if (m->nitems == 0) return;
    if (cy->record_only) { mm_add(m, cy->eps[cy->record_target].id); return; }
    if (cy->primary < 0) return;
    const esi_prof_result_t *pr = &cy->res[cy->primary];
    if (!pr->ran || pr->failed) return;
    for (uint32_t i = 0; i < pr->npicked; i++) mm_add(m, cy->eps[pr->picked[i]].id);
}

/* Extract on an endpoint delete event (and the 2-minute stale-pod sweep) */
static void mm_removed(void *st, uint32_t id) { esi_pindex_remove_pod(&((mm_t *)st)->ix, id); }

/* ------------------------------------------------------------------ */
/* mm-embeddings-cache-scorer                                          */

typedef struct mm_scorer_params { char producer[ESI_STR_MAX]; } mm_scorer_params_t;
static const esi_param_t k_mm_scorer_params[] = {
    {"producerName", ESI_P_STR, P(mm_scorer_params_t, producer), "", 0, 0, NULL}, END};

/* producerName scopes the data key to a named producer of EncoderCacheMatchInfo */
static int mm_scorer_link(void *params, const es_epp_config_t *c, const es_node_t *at, es_err_t *err)
{
    const mm_scorer_params_t *p = params;
    if (!p->producer[0]) return 0;
    for (size_t i = 0; i < c->nplugins; i++)
        if (strcmp(c->plugins[i].name, p->producer) == 0 && (c->plugins[i].vt->produces & ESI_DATA_MM_MATCH))
            return 0;
    return es_node_err(err, ES_ENOTFOUND, at, "parameters.producerName",
                       "no multimodal encoder-cache producer named \"%s\"", p->producer);
}

/* Score: matched item weight / request item weight; 0 without match info */
static void mm_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    (void)st;
    for (size_t i = 0; i < m; i++)
        out[i] = cy->mm_matched && cy->mm_total > 0 ? (double)cy->mm_matched[idx[i]] / (double)cy->mm_total : 0.0;
}

/* ------------------------------------------------------------------ */
/* p2p-source-producer                                                 */

typedef struct p2p_params {
    char    producer[ESI_STR_MAX];   /* prefixMatchInfoProducerName */
    int64_t min_delta;               /* minCachedTokenDelta, >= 1 */
    char    prefill[ESI_STR_MAX];    /* prefillProfileName; "" = "prefill" */
    int32_t prefill_prof;            /* not a parameter: that profile's index, -1 */
} p2p_params_t;
static const esi_param_t k_p2p_params[] = {
    {"prefixMatchInfoProducerName", ESI_P_STR, P(p2p_params_t, producer), "", 0, 0, NULL},
    {"minCachedTokenDelta", ESI_P_INT, P(p2p_params_t, min_delta), "1", -9.2e18, 9.2e18, NULL},
    {"prefillProfileName", ESI_P_STR, P(p2p_params_t, prefill), "prefill", 0, 0, NULL},
    END};

static int p2p_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    p2p_params_t *p = params;
    if (p->min_delta < 1)
        return es_node_err(err, ES_EINVAL, at, path, "p2p-source-producer: minCachedTokenDelta must be >= 1, got %lld",
                           (long long)p->min_delta);
    if (!p->prefill[0]) snprintf(p->prefill, sizeof p->prefill, "prefill");
    return 0;
}

static const char *p2p_producer_ref(const void *params) { return ((const p2p_params_t *)params)->producer; }

static int p2p_link(void *params, const es_epp_config_t *c, const es_node_t *at, es_err_t *err)
{
    (void)at; (void)err;
    p2p_params_t *p = params;
    p->prefill_prof = -1;
    for (size_t i = 0; i < c->nprofiles; i++)
        if (strcmp(c->profiles[i].name, p->prefill) == 0) p->prefill_prof = (int32_t)i;
    return 0;
}

typedef struct p2p {
    p2p_params_t p;
    uint32_t     best;          /* eps index of the stashed peer; UINT32_MAX none */
    int64_t      best_tokens;
} p2p_t;

static int p2p_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s; (void)err;
    p2p_t *q = st;
    q->p = *(const p2p_params_t *)params;
    q->best = UINT32_MAX;
    return 0;
}

/* requestSpreadFraction: FNV-1a (32 bits) of the request id, over 2^32 */
double esi_p2p_spread_fraction(const char *request_id)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *c = (const unsigned char *)request_id; *c; c++) h = (h ^ *c) * 16777619u;
    return (double)h / 4294967296.0;
}

/* Produce: the candidates caching within one block of the most prompt
 * tokens, one of them drawn by 1 / (1 + waiting) at the request's point */
static void p2p_prepare(void *st, esi_cycle_t *cy)
{
    p2p_t *q = st;
    q->best = UINT32_MAX;
    q->best_tokens = 0;
    if (!cy->have_prefix || cy->block_tokens == 0) return;
    int64_t bs = cy->block_tokens, max = 0;
    for (size_t i = 0; i < cy->n; i++)
        if ((int64_t)cy->match[i] * bs > max) max = (int64_t)cy->match[i] * bs;
    if (max == 0) return;   /* nothing cached anywhere: nothing to pull */
    double total = 0;
    for (size_t i = 0; i < cy->n; i++) {
        int64_t c = (int64_t)cy->match[i] * bs;
        if (c > 0 && c + bs >= max) total += 1.0 / (1.0 + (double)cy->eps[i].metrics.waiting);
    }
    /* a gateway's x-request-id is a random UUID: eppsim's is derived from the id */
    uint64_t x = cy->req->id, a = es_splitmix64(&x), b = es_splitmix64(&x);
    char id[40];
    snprintf(id, sizeof id, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffffu,
             (unsigned)a & 0xfffu, ((unsigned)(b >> 48) & 0x3fffu) | 0x8000u, (unsigned long long)b & 0xffffffffffffULL);
    double target = esi_p2p_spread_fraction(id) * total;
    for (size_t i = 0; i < cy->n; i++) {
        int64_t c = (int64_t)cy->match[i] * bs;
        if (c == 0 || c + bs < max) continue;
        double w = 1.0 / (1.0 + (double)cy->eps[i].metrics.waiting);
        q->best = (uint32_t)i;   /* the last candidate when rounding runs past the end */
        q->best_tokens = c;
        if (target < w) break;
        target -= w;
    }
}

/* PreRequest: the header names the peer when it out-caches the computing
 * pod (the prefill pick when that profile picked, else the primary one) */
static void p2p_pre(void *st, esi_cycle_t *cy)
{
    p2p_t *q = st;
    if (cy->record_only || q->best == UINT32_MAX) return;
    uint32_t comp = esi_cycle_pick(cy, q->p.prefill_prof);
    if (comp == UINT32_MAX) comp = esi_cycle_primary(cy);
    if (comp == UINT32_MAX || comp == q->best) return;
    int64_t comp_cached = (int64_t)cy->match[comp] * cy->block_tokens;
    if (q->best_tokens - comp_cached < q->p.min_delta) return;
    cy->kv_source = q->best;
    cy->kv_source_tokens = q->best_tokens;
}

static const esi_plugin_vt_t k_plugins[] = {
    {VT("mm-embeddings-cache-producer", ESI_PRODUCER, k_mm_params, sizeof(mm_params_t), sizeof(mm_t)),
     .produces = ESI_DATA_MM_MATCH, .caps = ESI_CAP_DEFAULT_PRODUCER, .x_init = mm_init, .x_fini = mm_fini,
     .x_prepare = mm_prepare, .x_pre_request = mm_pre, .x_removed = mm_removed},
    {VT("mm-embeddings-cache-scorer", ESI_SCORER, k_mm_scorer_params, sizeof(mm_scorer_params_t),
        sizeof(mm_scorer_params_t)),
     .consumes = ESI_DATA_MM_MATCH, .x_link = mm_scorer_link, .x_score = mm_score},
    {VT("p2p-source-producer", ESI_PRODUCER, k_p2p_params, sizeof(p2p_params_t), sizeof(p2p_t)), .alpha = true,
     .consumes = ESI_DATA_PREFIX_MATCH, .x_check = p2p_check, .x_producer_ref = p2p_producer_ref,
     .x_link = p2p_link, .x_init = p2p_init, .x_prepare = p2p_prepare, .x_pre_request = p2p_pre},
};

ESI_PLUGIN_FAMILY(esi_multimodal_plugins, k_plugins);
