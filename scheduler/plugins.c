/*
 * plugins.c -- every filter, scorer, picker, decider and saturation detector,
 * with their upstream names, parameters, defaults and formulas (gie-epp §2,
 * §4), the eppsim baselines, and the static registry.
 *
 * Scorers return raw scores; the profile clamps them to [0,1] and applies
 * the weight.  After x_init, only the precise index grows and max-score-picker
 * takes a heap copy of the order when there are more than 128 candidates.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define P(type, field) offsetof(type, field)
#define END {NULL, ESI_P_END, 0, NULL, 0, 0, NULL}
static const esi_param_t k_any_params[] = {{"*", ESI_P_ANY, 0, NULL, 0, 0, NULL}, END};

static inline double metric_kv(const es_endpoint_t *e) { return e->metrics.kv_cache_usage; }

/* ------------------------------------------------------------------ */
/* scorers                                                             */
/* ------------------------------------------------------------------ */

/* queue-scorer / running-requests-size-scorer: min-max normalised, equal -> 1 */
static void minmax_score(const double *v, size_t m, double *out)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < m; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i]; }
    for (size_t i = 0; i < m; i++) out[i] = hi == lo ? 1.0 : (hi - v[i]) / (hi - lo);
}

static void queue_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    (void)st;
    for (size_t i = 0; i < m; i++) out[i] = cy->eps[idx[i]].metrics.waiting;
    minmax_score(out, m, out);
}

static void running_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    (void)st;
    for (size_t i = 0; i < m; i++) out[i] = cy->eps[idx[i]].metrics.running;
    minmax_score(out, m, out);
}

static void kv_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    (void)st;
    for (size_t i = 0; i < m; i++) out[i] = 1.0 - metric_kv(&cy->eps[idx[i]]);
}

static bool in_list(const char *const *list, uint32_t n, const char *name)
{
    if (!name) return false;
    for (uint32_t i = 0; i < n && i < ES_LORA_LIST_MAX; i++)
        if (list[i] && strcmp(list[i], name) == 0) return true;
    return false;
}

static double lora_affinity(const es_endpoint_t *e, const char *target)
{
    const es_endpoint_metrics_t *mt = &e->metrics;
    if (in_list(mt->running_lora, mt->n_running_lora, target)) return 1.0;
    if ((int64_t)mt->n_running_lora + mt->n_waiting_lora < mt->max_lora) return 0.8;
    if (in_list(mt->waiting_lora, mt->n_waiting_lora, target)) return 0.6;
    return 0.0;
}

static void lora_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    (void)st;
    for (size_t i = 0; i < m; i++) out[i] = lora_affinity(&cy->eps[idx[i]], cy->req->model);
}

/* prefix-cache-scorer */
typedef struct prefix_scorer_params {
    double  match_length_weight;
    int64_t match_length_scale;
    char    producer_name[ESI_STR_MAX];
} prefix_scorer_params_t;

static const esi_param_t k_prefix_scorer_params[] = {
    {"matchLengthWeight", ESI_P_DOUBLE, P(prefix_scorer_params_t, match_length_weight), "0", 0, 1, NULL},
    {"matchLengthScaleTokens", ESI_P_INT, P(prefix_scorer_params_t, match_length_scale), "8192", -1e12, 1e12, NULL},
    {"prefixMatchInfoProducerName", ESI_P_STR, P(prefix_scorer_params_t, producer_name), "", 0, 0, NULL},
    END};

typedef struct prefix_scorer { prefix_scorer_params_t p; } prefix_scorer_t;

static int prefix_scorer_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s; (void)err;
    ((prefix_scorer_t *)st)->p = *(const prefix_scorer_params_t *)params;
    return 0;
}

static void prefix_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    const prefix_scorer_t *ps = st;
    for (size_t i = 0; i < m; i++) {
        if (!cy->have_prefix || cy->total_blocks == 0) { out[i] = 0.0; continue; }
        double ratio = (double)cy->match[idx[i]] / cy->total_blocks;
        double w = ps->p.match_length_weight;
        if (w > 0) {
            double L = (double)cy->match[idx[i]] * cy->block_tokens / (double)ps->p.match_length_scale;
            if (L > 1) L = 1;
            out[i] = w * L * L + (1 - w) * ratio;
        } else {
            out[i] = ratio;
        }
    }
}

static const char *prefix_producer_ref(const void *params)
{
    return ((const prefix_scorer_params_t *)params)->producer_name;
}

/* llm-d-router v0.10.0 scheduling/scorer/prefix/plugin.go: the producer's
 * parameters are no longer accepted here (strict decoder); the weight range
 * is checked by the table; the scale must be > 0 when the weight is. */
static int prefix_params_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    const prefix_scorer_params_t *p = params;
    if (p->match_length_weight > 0 && p->match_length_scale <= 0)
        return es_node_err(err, ES_EINVAL, at, path, "matchLengthScaleTokens must be greater than 0 when "
                           "matchLengthWeight is greater than 0");
    return 0;
}

/* token-load-scorer */
typedef struct { int64_t threshold; } token_load_params_t;
static const esi_param_t k_token_load_params[] = {
    {"queueThresholdTokens", ESI_P_INT, 0, "4194304", -1e15, 1e15, NULL}, END};

/* v0.10.0 scorer/tokenload/token_load.go: a threshold <= 0 falls back to the default */
static int token_load_check(void *params, const es_node_t *at, const char *path, const char **warning,
                            es_err_t *err)
{
    (void)at; (void)path; (void)err;
    token_load_params_t *p = params;
    if (p->threshold <= 0) {
        p->threshold = 4194304;
        *warning = "queueThresholdTokens <= 0: using the default 4194304 (as upstream)";
    }
    return 0;
}

static void token_load_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    double T = (double)((token_load_params_t *)st)->threshold;
    for (size_t i = 0; i < m; i++) {
        double t = (double)cy->inflight_tok[idx[i]];
        out[i] = t <= 0 ? 1.0 : 1.0 - (t < T ? t : T) / T;
    }
}

/* load-aware-scorer (llm-d): at most 0.5 */
typedef struct { int64_t threshold; } load_aware_params_t;
static const esi_param_t k_load_aware_params[] = {
    {"threshold", ESI_P_INT, 0, "128", -1e15, 1e15, NULL}, END};

static void load_aware_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    int64_t t = ((load_aware_params_t *)st)->threshold;
    double T = t <= 0 ? 128.0 : (double)t;
    for (size_t i = 0; i < m; i++) {
        double q = cy->eps[idx[i]].metrics.waiting;
        out[i] = q <= 0 ? 0.5 : 0.5 * (1.0 - (q < T ? q : T) / T);
    }
}

/* active-request-scorer (llm-d) */
typedef struct { int64_t idle; double max_busy; } active_req_params_t;
static const esi_param_t k_active_req_params[] = {
    {"idleThreshold", ESI_P_INT, P(active_req_params_t, idle), "0", -1e15, 1e15, NULL},
    {"maxBusyScore", ESI_P_DOUBLE, P(active_req_params_t, max_busy), "1.0", -1e300, 1e300, NULL},
    {"requestTimeout", ESI_P_ANY, 0, NULL, 0, 0, NULL},   /* deprecated, ignored upstream */
    END};

/* v0.10.0 scorer/activerequest/active_request.go: out-of-range values fall back */
static int active_req_check(void *params, const es_node_t *at, const char *path, const char **warning,
                            es_err_t *err)
{
    (void)at; (void)path; (void)err;
    active_req_params_t *p = params;
    if (p->idle < 0) p->idle = 0;
    if (p->max_busy < 0 || p->max_busy > 1) {
        p->max_busy = 1.0;
        *warning = "Ignoring out-of-range maxBusyScore; using default 1.0";
    }
    return 0;
}

static void active_req_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    const active_req_params_t *p = st;
    int64_t maxc = 0;
    for (size_t i = 0; i < m; i++) if (cy->inflight_req[idx[i]] > maxc) maxc = cy->inflight_req[idx[i]];
    for (size_t i = 0; i < m; i++) {
        int64_t c = cy->inflight_req[idx[i]];
        out[i] = c <= p->idle ? 1.0 : (double)(maxc - c) / (double)maxc * p->max_busy;
    }
}

/* session-affinity-scorer (llm-d) */
static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Decodes base64 (std or url alphabet, padding optional); -1 if not base64. */
static int b64_decode(const char *in, char *out, size_t size)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (const char *p = in; *p && *p != '='; p++) {
        int v = b64val((unsigned char)*p);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= size) return -1;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return (int)o;
}

static const char *session_of(const es_sched_request_t *r)
{
    if (r->session) return r->session;
    for (uint32_t i = 0; i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, "x-session-token") == 0) return r->headers[i].value;
    return NULL;
}

static bool session_matches(const char *decoded, const es_endpoint_t *e)
{
    if (!e->name) return false;
    if (strcmp(decoded, e->name) == 0) return true;
    const char *slash = strrchr(decoded, '/');   /* "namespace/name" */
    return slash && strcmp(slash + 1, e->name) == 0;
}

static void session_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    (void)st;
    const char *tok = session_of(cy->req);
    char dec[256];
    bool ok = tok && b64_decode(tok, dec, sizeof dec) >= 0;
    for (size_t i = 0; i < m; i++) out[i] = ok && session_matches(dec, &cy->eps[idx[i]]) ? 1.0 : 0.0;
}

const char *es_sched_session_token(const es_endpoint_t *ep, char *buf, size_t size)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = (const unsigned char *)(ep->name ? ep->name : "");
    size_t len = strlen((const char *)s), o = 0;
    for (size_t i = 0; i < len && o + 5 < size; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < len ? (uint32_t)s[i + 1] << 8 : 0) |
                     (i + 2 < len ? s[i + 2] : 0);
        buf[o++] = tab[(v >> 18) & 63];
        buf[o++] = tab[(v >> 12) & 63];
        buf[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        buf[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    if (size) buf[o < size ? o : size - 1] = '\0';
    return buf;
}

/* no-hit-lru-scorer (llm-d): spreads cold requests over least recently used pods */
typedef struct { int64_t lru_size; char producer_name[ESI_STR_MAX]; } nohit_params_t;
static const esi_param_t k_nohit_params[] = {
    {"lruSize", ESI_P_INT, P(nohit_params_t, lru_size), "1024", 1, 1 << 20, NULL},
    {"prefixPluginType", ESI_P_ANY, 0, NULL, 0, 0, NULL},
    {"prefixPluginName", ESI_P_ANY, 0, NULL, 0, 0, NULL},
    {"prefixMatchInfoProducerName", ESI_P_STR, P(nohit_params_t, producer_name), "", 0, 0, NULL},
    END};

typedef struct nohit {
    int64_t   cap;
    uint32_t *lru;     /* endpoint ids, oldest first */
    size_t    n;
    bool      cold;    /* last scored request was cold */
} nohit_t;

static int nohit_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s;
    nohit_t *h = st;
    h->cap = ((const nohit_params_t *)params)->lru_size;
    h->lru = malloc((size_t)h->cap * sizeof *h->lru);
    return h->lru ? 0 : es_err_set(err, ES_ENOMEM, "no-hit-lru-scorer: out of memory");
}

static const char *nohit_producer_ref(const void *params) { return ((const nohit_params_t *)params)->producer_name; }

static void nohit_fini(void *st) { free(((nohit_t *)st)->lru); }

static long nohit_pos(const nohit_t *h, uint32_t id)
{
    for (size_t i = 0; i < h->n; i++) if (h->lru[i] == id) return (long)i;
    return -1;
}

static bool cycle_warm(const esi_cycle_t *cy, const uint32_t *idx, size_t m)
{
    if (!cy->have_prefix) return false;
    for (size_t i = 0; i < m; i++) if (cy->match[idx[i]] > 0) return true;
    return false;
}

static void nohit_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    nohit_t *h = st;
    h->cold = !cycle_warm(cy, idx, m);
    if (!h->cold) { for (size_t i = 0; i < m; i++) out[i] = 0.5; return; }
    if (m == 1) { out[0] = 1.0; return; }
    /* v0.10.0 nohitlru/no_hit_lru.go scoreColdRequestByLRU: never-used candidates
     * first, in candidate order; a used one ranks by its position in the whole
     * LRU (oldest first, filtered-out pods included) after them */
    double d = (double)(m - 1);
    size_t never = 0;
    for (size_t i = 0; i < m; i++)
        if (nohit_pos(h, cy->eps[idx[i]].id) < 0) out[i] = 1.0 - (double)never++ / d;
    for (size_t i = 0; i < m; i++) {
        long pos = nohit_pos(h, cy->eps[idx[i]].id);
        if (pos < 0) continue;
        double sc = 1.0 - (double)(never + (size_t)pos) / d;
        out[i] = sc > 0 ? sc : 0;
    }
}

static void nohit_touch(nohit_t *h, uint32_t id)
{
    long p = nohit_pos(h, id);
    if (p >= 0) {
        memmove(h->lru + p, h->lru + p + 1, (h->n - (size_t)p - 1) * sizeof *h->lru);
        h->n--;
    } else if ((int64_t)h->n == h->cap) {
        memmove(h->lru, h->lru + 1, (h->n - 1) * sizeof *h->lru);
        h->n--;
    }
    h->lru[h->n++] = id;
}

static void nohit_pre(void *st, esi_cycle_t *cy)
{
    nohit_t *h = st;
    if (cy->record_only) {   /* history replay: a request is cold when nobody matched */
        bool warm = false;
        for (size_t i = 0; cy->have_prefix && i < cy->n; i++) if (cy->match[i]) warm = true;
        if (!warm) nohit_touch(h, cy->eps[cy->record_target].id);
        return;
    }
    if (!h->cold) return;
    uint32_t p = esi_cycle_primary(cy), f = esi_cycle_prefill(cy);
    if (p != UINT32_MAX) nohit_touch(h, cy->eps[p].id);
    if (f != UINT32_MAX) nohit_touch(h, cy->eps[f].id);
}

static void nohit_removed(void *st, uint32_t id)
{
    nohit_t *h = st;
    long p = nohit_pos(h, id);
    if (p < 0) return;
    memmove(h->lru + p, h->lru + p + 1, (h->n - (size_t)p - 1) * sizeof *h->lru);
    h->n--;
}

/* precise-prefix-cache-scorer (llm-d): index fed by KV events */
typedef struct precise_params {
    int64_t block_size;
    char    hash_seed[ESI_STR_MAX];
    bool    speculative;
    es_time_t speculative_ttl;
} precise_params_t;

static const esi_param_t k_token_proc_params[] = {
    {"blockSize", ESI_P_INT, P(precise_params_t, block_size), "16", 1, 1 << 16, NULL},
    {"hashSeed", ESI_P_STR, P(precise_params_t, hash_seed), "", 0, 0, NULL},
    END};
static const esi_param_t k_precise_params[] = {
    {"tokenProcessorConfig", ESI_P_SUB, 0, NULL, 0, 0, k_token_proc_params},
    {"indexerConfig", ESI_P_ANY, 0, NULL, 0, 0, NULL},
    {"kvEventsConfig", ESI_P_ANY, 0, NULL, 0, 0, NULL},
    {"speculativeIndexing", ESI_P_BOOL, P(precise_params_t, speculative), "false", 0, 0, NULL},
    {"speculativeTTL", ESI_P_DURATION, P(precise_params_t, speculative_ttl), "2s", 0, 1e18, NULL},
    END};

static int precise_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    if (((const precise_params_t *)params)->speculative)
        return es_node_err(err, ES_EUNSUPP, at, path,
                           "speculativeIndexing is not supported by eppsim yet");
    return 0;
}

typedef struct precise {
    precise_params_t p;
    esi_pindex_t     ix;
    uint64_t        *keys;
    size_t           cap;
    uint8_t         *alive;   /* [n] per eps index during a walk */
    size_t           alive_cap;
    uint32_t        *stamp;   /* per pod id: last key index that holds it */
    size_t           stamp_cap;
} precise_t;

static int precise_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s;
    precise_t *pr = st;
    pr->p = *(const precise_params_t *)params;
    if (esi_pindex_init(&pr->ix)) return es_err_set(err, ES_ENOMEM, "precise index: out of memory");
    return 0;
}

static void precise_fini(void *st)
{
    precise_t *pr = st;
    esi_pindex_fini(&pr->ix);
    free(pr->keys); free(pr->alive); free(pr->stamp);
}

static size_t precise_keys(precise_t *pr, const es_sched_request_t *r)
{
    size_t need = (r->prompt_text ? strlen(r->prompt_text) / 4 : r->content.tokens) /
                  (size_t)pr->p.block_size + 1;
    if (need > pr->cap) {
        uint64_t *k = realloc(pr->keys, need * sizeof *k);
        ES_ASSERT(k != NULL, "precise scorer: out of memory");
        pr->keys = k;
        pr->cap = need;
    }
    if (r->prompt_text)
        return esi_text_full_block_keys(r->prompt_text, (uint32_t)pr->p.block_size, pr->keys, pr->cap);
    return es_content_block_hashes(&r->content, (uint32_t)pr->p.block_size, pr->keys, pr->cap);
}

static void precise_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    precise_t *pr = st;
    size_t nk = precise_keys(pr, cy->req);
    for (size_t i = 0; i < m; i++) out[i] = 0.0;
    if (nk == 0) return;
    /* LongestPrefix: a pod scores while it holds every key so far (contiguous) */
    for (size_t i = 0; i < m; i++) {
        uint32_t id = cy->eps[idx[i]].id;
        size_t run = 0;
        for (size_t k = 0; k < nk; k++) {
            bool has = false;
            for (uint32_t ni = esi_pindex_holders(&pr->ix, pr->keys[k]); ni; ni = pr->ix.nodes[ni].next)
                if (pr->ix.nodes[ni].pod == id) { has = true; break; }
            if (!has) break;
            run++;
        }
        double sc = (double)run / (double)nk;   /* gpu tier weight 1.0 */
        out[i] = sc > 1 ? 1 : sc;
    }
}

static void precise_removed(void *st, uint32_t id) { esi_pindex_remove_pod(&((precise_t *)st)->ix, id); }

static size_t precise_text_keys(void *st, const char *text, uint64_t *out, size_t max)
{
    return esi_text_full_block_keys(text, (uint32_t)((precise_t *)st)->p.block_size, out, max);
}

static void precise_on_event(void *st, const es_kv_event_t *ev)
{
    precise_t *pr = st;
    switch (ev->kind) {
    case ES_KV_BLOCK_STORED:  esi_pindex_add(&pr->ix, ev->block_hash, ev->endpoint, UINT32_MAX); break;
    case ES_KV_BLOCK_REMOVED: esi_pindex_remove(&pr->ix, ev->block_hash, ev->endpoint); break;
    case ES_KV_ALL_CLEARED:   esi_pindex_remove_pod(&pr->ix, ev->endpoint); break;
    }
}

/* precise-prefix-cache-producer (llm-d-router v0.10.0
 * requestcontrol/dataproducer/preciseprefixcache): the KV-event index as a
 * producer of PrefixCacheMatchInfo (match = the longest run of the request's
 * block keys a pod holds, from the first; total = the request's full
 * blocks), for prefix-cache-scorer with prefixMatchInfoProducerName.
 * speculativeIndexing adds the keys for the primary pick (and the pick of a
 * profile named "prefill") at PreRequest; they expire after speculativeTTL
 * unless a KV event stored them (prerequest.go). */
typedef struct pprod_params {
    int64_t   block_size;          /* tokenProcessorConfig.blockSize (deprecated) */
    int64_t   block_size_tokens;   /* tokenProcessorConfig.blockSizeTokens; 0 = blockSize or 16 */
    char      hash_seed[ESI_STR_MAX];
    bool      speculative;
    es_time_t speculative_ttl;     /* a Go duration; <= 0: 2s */
} pprod_params_t;

static const esi_param_t k_pprod_tokproc[] = {
    {"blockSize", ESI_P_INT, P(pprod_params_t, block_size), "0", 0, 1 << 16, NULL},
    {"blockSizeTokens", ESI_P_INT, P(pprod_params_t, block_size_tokens), "0", 0, 1 << 16, NULL},
    {"hashSeed", ESI_P_STR, P(pprod_params_t, hash_seed), "", 0, 0, NULL},
    END};
static const esi_param_t k_pprod_params[] = {
    {"tokenProcessorConfig", ESI_P_SUB, 0, NULL, 0, 0, k_pprod_tokproc},
    {"indexerConfig", ESI_P_ANY, 0, NULL, 0, 0, NULL},
    {"kvEventsConfig", ESI_P_ANY, 0, NULL, 0, 0, NULL},
    {"speculativeIndexing", ESI_P_BOOL, P(pprod_params_t, speculative), "false", 0, 0, NULL},
    {"speculativeTTL", ESI_P_DURATION, P(pprod_params_t, speculative_ttl), "2s", -1e18, 1e18, NULL},
    END};

static int pprod_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    pprod_params_t *p = params;
    (void)at; (void)path; (void)err;
    if (p->block_size_tokens == 0) p->block_size_tokens = p->block_size > 0 ? p->block_size : 16;
    return 0;
}

typedef struct spec_entry { es_time_t expire; uint64_t key; uint32_t pod; } spec_entry_t;

typedef struct pprod {
    precise_t     pr;           /* confirmed entries (KV events) */
    esi_pindex_t  spec;         /* speculative entries */
    spec_entry_t *ring;         /* FIFO of speculative entries by expiry */
    size_t        rcap, rhead, rlen;
    es_time_t     ttl;
} pprod_t;

static int pprod_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    pprod_t *pp = st;
    const pprod_params_t *p = params;
    precise_params_t pr = {.block_size = p->block_size_tokens, .speculative = p->speculative};
    snprintf(pr.hash_seed, sizeof pr.hash_seed, "%s", p->hash_seed);
    pp->ttl = p->speculative_ttl > 0 ? p->speculative_ttl : 2 * ES_S;
    if (precise_init(&pp->pr, &pr, s, err)) return err ? err->code : ES_ENOMEM;
    if (esi_pindex_init(&pp->spec)) return es_err_set(err, ES_ENOMEM, "speculative index: out of memory");
    return 0;
}

static void pprod_fini(void *st)
{
    pprod_t *pp = st;
    precise_fini(&pp->pr);
    esi_pindex_fini(&pp->spec);
    free(pp->ring);
}

static void pprod_expire(pprod_t *pp, es_time_t now)
{
    while (pp->rlen && pp->ring[pp->rhead].expire <= now) {
        const spec_entry_t *e = &pp->ring[pp->rhead];
        esi_pindex_remove(&pp->spec, e->key, e->pod);
        pp->rhead = (pp->rhead + 1) % pp->rcap;
        pp->rlen--;
    }
}

/* counts, for each candidate, the run of keys from the first that it holds */
static void count_run(const esi_pindex_t *ix, uint64_t key, size_t k, esi_cycle_t *cy, bool *any)
{
    for (uint32_t ni = esi_pindex_holders(ix, key); ni; ni = ix->nodes[ni].next) {
        uint32_t at = esi_cycle_pos(cy, ix->nodes[ni].pod);
        if (at != UINT32_MAX && cy->match[at] == k) { cy->match[at]++; *any = true; }
    }
}

static int pprod_prepare(void *st, esi_cycle_t *cy)
{
    pprod_t *pp = st;
    pprod_expire(pp, cy->now);
    size_t nk = precise_keys(&pp->pr, cy->req);
    memset(cy->match, 0, cy->n * sizeof *cy->match);
    cy->have_prefix = true;
    cy->total_blocks = (uint32_t)nk;
    cy->block_tokens = (uint32_t)pp->pr.p.block_size;
    cy->hashes = pp->pr.keys;
    for (size_t k = 0; k < nk; k++) {
        bool any = false;
        count_run(&pp->pr.ix, pp->pr.keys[k], k, cy, &any);
        count_run(&pp->spec, pp->pr.keys[k], k, cy, &any);
        if (!any) break;
    }
    return 0;
}

static void spec_add(pprod_t *pp, esi_cycle_t *cy, uint32_t e)
{
    if (e == UINT32_MAX) return;
    uint32_t pod = cy->eps[e].id;
    for (uint32_t k = 0; k < cy->total_blocks; k++) {
        if (pp->rlen == pp->rcap) {   /* grow the ring, keeping FIFO order */
            size_t nc = pp->rcap ? pp->rcap * 2 : 1024;
            spec_entry_t *nr = malloc(nc * sizeof *nr);
            ES_ASSERT(nr != NULL, "speculative index: out of memory");
            for (size_t i = 0; i < pp->rlen; i++) nr[i] = pp->ring[(pp->rhead + i) % pp->rcap];
            free(pp->ring);
            pp->ring = nr;
            pp->rcap = nc;
            pp->rhead = 0;
        }
        pp->ring[(pp->rhead + pp->rlen++) % pp->rcap] = (spec_entry_t){cy->now + pp->ttl, cy->hashes[k], pod};
        esi_pindex_add(&pp->spec, cy->hashes[k], pod, UINT32_MAX);
    }
}

static void pprod_pre(void *st, esi_cycle_t *cy)
{
    pprod_t *pp = st;
    if (!pp->pr.p.speculative || cy->record_only) return;
    spec_add(pp, cy, esi_cycle_primary(cy));
    spec_add(pp, cy, esi_cycle_prefill(cy));
}

static void pprod_kv_event(void *st, const es_kv_event_t *ev) { precise_on_event(&((pprod_t *)st)->pr, ev); }

static size_t pprod_text_keys(void *st, const char *text, uint64_t *out, size_t max)
{
    return precise_text_keys(&((pprod_t *)st)->pr, text, out, max);
}

static void pprod_removed(void *st, uint32_t id)
{
    pprod_t *pp = st;
    esi_pindex_remove_pod(&pp->pr.ix, id);
    esi_pindex_remove_pod(&pp->spec, id);
}

/* ------------------------------------------------------------------ */
/* filters                                                             */
/* ------------------------------------------------------------------ */

/* prefix-cache-affinity-filter */
typedef struct { double threshold, exploration, max_ttft_penalty_ms; } affinity_params_t;
static const esi_param_t k_affinity_params[] = {
    {"affinityThreshold", ESI_P_DOUBLE, P(affinity_params_t, threshold), "0.80", -1e9, 1, NULL},
    {"explorationProbability", ESI_P_DOUBLE, P(affinity_params_t, exploration), "0.01", 0, 1, NULL},
    {"maxTTFTPenaltyMs", ESI_P_DOUBLE, P(affinity_params_t, max_ttft_penalty_ms), "5000", 0, 1e12, NULL},
    END};

static size_t affinity_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const affinity_params_t *p = st;
    if (m <= 1 || p->threshold <= 0) return m;
    if (es_rng_uniform(cy->rng) < p->exploration) return m;
    if (!cy->have_prefix || cy->total_blocks == 0) return m;
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        if ((double)cy->match[idx[i]] / cy->total_blocks >= p->threshold) k++;
    if (k == 0) return m;
    /* The TTFT-penalty escape needs the latency predictor, which eppsim does
     * not model: the sticky set is kept (docs/scheduler.md). */
    size_t o = 0;
    for (size_t i = 0; i < m; i++)
        if ((double)cy->match[idx[i]] / cy->total_blocks >= p->threshold) idx[o++] = idx[i];
    return o;
}

/* label-selector-filter (and its deprecated alias by-label-selector): a
 * Kubernetes metav1.LabelSelector (matchLabels, matchExpressions with In,
 * NotIn, Exists, DoesNotExist), v0.10.0 scheduling/filter/bylabel/selector.go;
 * by-label: label, validValues, allowsNoLabel (filter.go). */
#define LBL_MAX 16
enum { LBL_IN, LBL_NOT_IN, LBL_EXISTS, LBL_NOT_EXISTS };
typedef struct lbl_req {
    char     key[ESI_STR_MAX];
    int      op;
    uint32_t nvals;
    char     vals[LBL_MAX][ESI_STR_MAX];
} lbl_req_t;
typedef struct selector_params {
    uint32_t  nreq;
    lbl_req_t req[2 * LBL_MAX];
} selector_params_t;
typedef struct by_label_params {
    char     label[ESI_STR_MAX];
    bool     allows_no_label;
    uint32_t nvals;
    char     vals[LBL_MAX][ESI_STR_MAX];
} by_label_params_t;

static const esi_param_t k_selector_params[] = {
    {"matchLabels", ESI_P_NODE, 0, NULL, 0, 0, NULL},
    {"matchExpressions", ESI_P_NODE, 0, NULL, 0, 0, NULL},
    END};
static const esi_param_t k_by_label_params[] = {
    {"label", ESI_P_STR, P(by_label_params_t, label), "", 0, 0, NULL},
    {"validValues", ESI_P_NODE, 0, NULL, 0, 0, NULL},
    {"allowsNoLabel", ESI_P_BOOL, P(by_label_params_t, allows_no_label), "false", 0, 0, NULL},
    END};

/* copies a scalar of at most ESI_STR_MAX - 1 characters */
static int lbl_str(const es_node_t *n, const char *path, char *out, es_err_t *err)
{
    const char *s;
    int rc = es_node_to_str(n, path, &s, err);
    if (!rc && strlen(s) >= ESI_STR_MAX)
        rc = es_node_err(err, ES_ERANGE, n, path, "longer than %d characters", ESI_STR_MAX - 1);
    if (!rc) snprintf(out, ESI_STR_MAX, "%s", s);
    return rc;
}

static int lbl_values(const es_node_t *seq, const char *path, char (*vals)[ESI_STR_MAX], uint32_t *n,
                      es_err_t *err)
{
    *n = 0;
    if (!seq || es_node_is_null(seq)) return 0;
    int rc = es_node_expect_seq(seq, path, err);
    if (!rc && seq->n > LBL_MAX) rc = es_node_err(err, ES_ERANGE, seq, path, "at most %d values", LBL_MAX);
    for (size_t i = 0; !rc && i < seq->n; i++) {
        char p[200];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        rc = lbl_str(seq->items[i], p, vals[(*n)++], err);
    }
    return rc;
}

static int selector_check(void *params, const es_node_t *at, const char *path, const char **warning,
                          es_err_t *err)
{
    (void)warning;
    selector_params_t *p = params;
    if (!at || at->kind != ES_NODE_MAP) return 0;   /* an empty selector matches everything */
    char full[240];
    int rc = 0;
    const es_node_t *ml = es_map_get(at, "matchLabels");
    snprintf(full, sizeof full, "%s.matchLabels", path);
    if (ml && !es_node_is_null(ml) && (rc = es_node_expect_map(ml, full, err))) return rc;
    for (size_t i = 0; ml && ml->kind == ES_NODE_MAP && i < ml->n; i++) {
        if (p->nreq == 2 * LBL_MAX) return es_node_err(err, ES_ERANGE, ml, full, "too many requirements");
        lbl_req_t *r = &p->req[p->nreq++];
        char kp[300];
        snprintf(kp, sizeof kp, "%s.%s", full, ml->keys[i]);
        if (strlen(ml->keys[i]) >= ESI_STR_MAX) return es_node_err(err, ES_ERANGE, ml, kp, "key too long");
        snprintf(r->key, sizeof r->key, "%s", ml->keys[i]);
        r->op = LBL_IN;
        r->nvals = 1;
        if ((rc = lbl_str(ml->items[i], kp, r->vals[0], err))) return rc;
    }
    const es_node_t *me = es_map_get(at, "matchExpressions");
    snprintf(full, sizeof full, "%s.matchExpressions", path);
    if (!me || es_node_is_null(me)) return 0;
    if ((rc = es_node_expect_seq(me, full, err))) return rc;
    static const char *const keys[] = {"key", "operator", "values", NULL};
    static const char *const ops[] = {"In", "NotIn", "Exists", "DoesNotExist", NULL};
    for (size_t i = 0; i < me->n; i++) {
        char ep[260], fp[300];
        snprintf(ep, sizeof ep, "%s[%zu]", full, i);
        const es_node_t *e = me->items[i];
        if ((rc = es_node_expect_map(e, ep, err)) || (rc = es_map_check_keys(e, ep, keys, err))) return rc;
        if (p->nreq == 2 * LBL_MAX) return es_node_err(err, ES_ERANGE, e, ep, "too many requirements");
        lbl_req_t *r = &p->req[p->nreq++];
        const es_node_t *k = es_map_get(e, "key"), *o = es_map_get(e, "operator");
        snprintf(fp, sizeof fp, "%s.key", ep);
        if (!k) return es_node_err(err, ES_EINVAL, e, fp, "missing");
        if ((rc = lbl_str(k, fp, r->key, err))) return rc;
        snprintf(fp, sizeof fp, "%s.operator", ep);
        if (!o) return es_node_err(err, ES_EINVAL, e, fp, "missing");
        if ((rc = es_node_to_enum(o, fp, ops, &r->op, err))) return rc;
        snprintf(fp, sizeof fp, "%s.values", ep);
        if ((rc = lbl_values(es_map_get(e, "values"), fp, r->vals, &r->nvals, err))) return rc;
        /* metav1.LabelSelectorAsSelector: In/NotIn need values, Exists/DoesNotExist none */
        if ((r->op == LBL_IN || r->op == LBL_NOT_IN) && r->nvals == 0)
            return es_node_err(err, ES_EINVAL, e, fp, "for 'in', 'notin' operators, values set can't be empty");
        if ((r->op == LBL_EXISTS || r->op == LBL_NOT_EXISTS) && r->nvals > 0)
            return es_node_err(err, ES_EINVAL, e, fp, "values set must be empty for exists and does not exist");
    }
    return 0;
}

static bool in_vals(const char (*vals)[ESI_STR_MAX], uint32_t n, const char *v)
{
    for (uint32_t i = 0; i < n; i++) if (strcmp(vals[i], v) == 0) return true;
    return false;
}

static bool selector_matches(const selector_params_t *p, const es_endpoint_t *e)
{
    for (uint32_t i = 0; i < p->nreq; i++) {
        const lbl_req_t *r = &p->req[i];
        const char *v = es_endpoint_label(e, r->key);
        bool ok;
        switch (r->op) {
        case LBL_IN:         ok = v && in_vals((const char (*)[ESI_STR_MAX])r->vals, r->nvals, v); break;
        case LBL_NOT_IN:     ok = !v || !in_vals((const char (*)[ESI_STR_MAX])r->vals, r->nvals, v); break;
        case LBL_EXISTS:     ok = v != NULL; break;
        default:             ok = v == NULL; break;
        }
        if (!ok) return false;
    }
    return true;
}

static size_t selector_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const selector_params_t *p = st;
    size_t o = 0;
    for (size_t i = 0; i < m; i++) if (selector_matches(p, &cy->eps[idx[i]])) idx[o++] = idx[i];
    return o;
}

static int by_label_check(void *params, const es_node_t *at, const char *path, const char **warning,
                          es_err_t *err)
{
    (void)warning;
    by_label_params_t *p = params;
    char full[240];
    snprintf(full, sizeof full, "%s.validValues", path);
    int rc = lbl_values(at && at->kind == ES_NODE_MAP ? es_map_get(at, "validValues") : NULL, full, p->vals,
                        &p->nvals, err);
    if (rc) return rc;
    if (!p->label[0])
        return es_node_err(err, ES_EINVAL, at, path, "invalid configuration for 'by-label' filter: 'label' must "
                           "be specified");
    if (p->nvals == 0 && !p->allows_no_label)
        return es_node_err(err, ES_EINVAL, at, path, "invalid configuration for 'by-label' filter: either "
                           "'validValues' must be non-empty or 'allowsNoLabel' must be true");
    return 0;
}

/* a pod passes when its value is valid, or it has no such label and that is allowed */
static size_t by_label_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const by_label_params_t *p = st;
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        const char *v = es_endpoint_label(&cy->eps[idx[i]], p->label);
        if ((!v && p->allows_no_label) || in_vals((const char (*)[ESI_STR_MAX])p->vals, p->nvals, v ? v : ""))
            idx[o++] = idx[i];
    }
    return o;
}

/* Topology (v0.10.0 datalayer/extractor/topology/extractor.go,
 * scheduling/util/topology, scheduling/filter/topologyaffinity,
 * scheduling/scorer/topologyaffinity): topology-extractor reads a pod's
 * hostname, rack, zone and region labels; the affinity filter and scorer
 * compare each candidate with the peer, the decode pick when the prefill
 * profile runs (disagg PeerEndpointAttributeKey).  Closeness: host < rack <
 * zone < region < none, equal non-empty values at the finest level. */
typedef struct topo_keys { char host[ESI_STR_MAX], rack[ESI_STR_MAX], zone[ESI_STR_MAX], region[ESI_STR_MAX]; } topo_keys_t;
enum { TOPO_HOST, TOPO_RACK, TOPO_ZONE, TOPO_REGION, TOPO_NONE };

static const esi_param_t k_topo_extractor_params[] = {
    {"hostname", ESI_P_STR, P(topo_keys_t, host), "kubernetes.io/hostname", 0, 0, NULL},
    {"rack", ESI_P_STR, P(topo_keys_t, rack), "topology.kubernetes.io/rack", 0, 0, NULL},
    {"zone", ESI_P_STR, P(topo_keys_t, zone), "topology.kubernetes.io/zone", 0, 0, NULL},
    {"region", ESI_P_STR, P(topo_keys_t, region), "topology.kubernetes.io/region", 0, 0, NULL},
    END};

typedef struct topo_params {
    char        min_affinity[ESI_STR_MAX];   /* filter: host (default), rack, zone, region */
    char        producer[ESI_STR_MAX];       /* topologyProducerName */
    int         min_level;
    bool        linked;                      /* an extractor feeds it */
    topo_keys_t keys;                        /* the extractor's labels */
} topo_params_t;
static const esi_param_t k_topo_filter_params[] = {
    {"minAffinity", ESI_P_STR, P(topo_params_t, min_affinity), "host", 0, 0, NULL},
    {"topologyProducerName", ESI_P_STR, P(topo_params_t, producer), "", 0, 0, NULL},
    END};
static const esi_param_t k_topo_scorer_params[] = {
    {"topologyProducerName", ESI_P_STR, P(topo_params_t, producer), "", 0, 0, NULL},
    END};

static int topo_filter_check(void *params, const es_node_t *at, const char *path, const char **warning,
                             es_err_t *err)
{
    (void)warning;
    topo_params_t *p = params;
    static const char *const levels[] = {"host", "rack", "zone", "region"};
    for (int l = 0; l < 4; l++) if (strcmp(p->min_affinity, levels[l]) == 0) { p->min_level = l; return 0; }
    return es_node_err(err, ES_EINVAL, at, path, "invalid configuration for 'topology-affinity-filter' filter: "
                       "invalid topology level \"%s\", must be one of host, rack, zone, region", p->min_affinity);
}

/* the extractor named topologyProducerName, else the first one; none: no topology */
static int topo_link(void *params, const es_epp_config_t *c, const es_node_t *at, es_err_t *err)
{
    topo_params_t *p = params;
    for (size_t i = 0; i < c->nplugins; i++) {
        if (!(c->plugins[i].vt->produces & ESI_DATA_TOPOLOGY)) continue;
        if (p->producer[0] && strcmp(p->producer, c->plugins[i].name)) continue;
        p->keys = *(const topo_keys_t *)c->plugins[i].params;
        p->linked = true;
        return 0;
    }
    if (p->producer[0])
        return es_node_err(err, ES_ENOTFOUND, at, "parameters.topologyProducerName",
                           "no topology producer named \"%s\"", p->producer);
    return 0;
}

static bool topo_same(const es_endpoint_t *a, const es_endpoint_t *b, const char *key)
{
    const char *x = es_endpoint_label(a, key), *y = es_endpoint_label(b, key);
    return x && y && *x && strcmp(x, y) == 0;
}

static bool topo_known(const topo_params_t *p, const es_endpoint_t *e)
{
    const char *k[4] = {p->keys.host, p->keys.rack, p->keys.zone, p->keys.region};
    for (int i = 0; i < 4; i++) { const char *v = es_endpoint_label(e, k[i]); if (v && *v) return true; }
    return false;
}

static int topo_compare(const topo_params_t *p, const es_endpoint_t *peer, const es_endpoint_t *cand)
{
    if (topo_same(peer, cand, p->keys.host)) return TOPO_HOST;
    if (topo_same(peer, cand, p->keys.rack)) return TOPO_RACK;
    if (topo_same(peer, cand, p->keys.zone)) return TOPO_ZONE;
    if (topo_same(peer, cand, p->keys.region)) return TOPO_REGION;
    return TOPO_NONE;
}

/* the peer: the decode pick, once the primary profile has picked */
static const es_endpoint_t *topo_peer(const topo_params_t *p, const esi_cycle_t *cy)
{
    uint32_t d = esi_cycle_primary(cy);
    if (!p->linked || d == UINT32_MAX || !topo_known(p, &cy->eps[d])) return NULL;
    return &cy->eps[d];
}

static size_t topo_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const topo_params_t *p = st;
    const es_endpoint_t *peer = topo_peer(p, cy);
    if (!peer) return m;
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        const es_endpoint_t *e = &cy->eps[idx[i]];
        if (topo_known(p, e) && topo_compare(p, peer, e) <= p->min_level) k++;
    }
    if (k == 0) return m;   /* nothing close enough: keep every candidate */
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        const es_endpoint_t *e = &cy->eps[idx[i]];
        if (topo_known(p, e) && topo_compare(p, peer, e) <= p->min_level) idx[o++] = idx[i];
    }
    return o;
}

static void topo_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    static const double level_score[] = {1.00, 0.20, 0.05, 0.02, 0.00};
    const topo_params_t *p = st;
    const es_endpoint_t *peer = topo_peer(p, cy);
    for (size_t i = 0; i < m; i++) {
        const es_endpoint_t *e = &cy->eps[idx[i]];
        out[i] = peer && topo_known(p, e) ? level_score[topo_compare(p, peer, e)] : 0.0;
    }
}

/* role filters, label llm-d.ai/role */
static bool role_in(const es_endpoint_t *e, const char *const *set, bool unlabeled)
{
    const char *r = es_endpoint_label(e, "llm-d.ai/role");
    if (!r) return unlabeled;
    for (; *set; set++) if (strcmp(*set, r) == 0) return true;
    return false;
}

static const char *const k_decode_roles[] = {"decode", "prefill-decode", "both", "encode-prefill-decode", NULL};
static const char *const k_prefill_roles[] = {"prefill", "encode-prefill", "prefill-decode", "both",
                                              "encode-prefill-decode", NULL};
static const char *const k_encode_roles[] = {"encode", "encode-prefill", "encode-prefill-decode", NULL};

#define ROLE_FILTER(fn, set, unl)                                                     \
    static size_t fn(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)             \
    {                                                                                 \
        (void)st;                                                                     \
        size_t o = 0;                                                                 \
        for (size_t i = 0; i < m; i++) if (role_in(&cy->eps[idx[i]], set, unl)) idx[o++] = idx[i]; \
        return o;                                                                     \
    }
ROLE_FILTER(decode_filter, k_decode_roles, true)
ROLE_FILTER(prefill_filter, k_prefill_roles, false)
ROLE_FILTER(encode_filter, k_encode_roles, false)

/* ------------------------------------------------------------------ */
/* saturation detectors (also filters)                                 */
/* ------------------------------------------------------------------ */
typedef struct util_params {
    int64_t   queue;
    double    kv;
    es_time_t stale;
    double    headroom;
} util_params_t;
static const esi_param_t k_util_params[] = {
    {"queueDepthThreshold", ESI_P_INT, P(util_params_t, queue), "5", 1, 1e15, NULL},
    {"kvCacheUtilThreshold", ESI_P_DOUBLE, P(util_params_t, kv), "0.8", 1e-9, 1, NULL},
    {"metricsStalenessThreshold", ESI_P_DURATION, P(util_params_t, stale), "200ms", 0, 1e18, NULL},
    {"headroom", ESI_P_DOUBLE, P(util_params_t, headroom), "0.0", 0, 1e9, NULL},
    END};

static bool fresh(const es_endpoint_t *e, es_time_t now, es_time_t stale)
{
    return e->metrics.update_time >= 0 && now - e->metrics.update_time <= stale;
}

static double util_saturation(void *st, esi_cycle_t *cy)
{
    const util_params_t *p = st;
    if (cy->n == 0) return 1.0;
    double sum = 0;
    for (size_t i = 0; i < cy->n; i++) {
        const es_endpoint_t *e = &cy->eps[i];
        if (!fresh(e, cy->now, p->stale)) { sum += 1.0; continue; }
        double a = (double)e->metrics.waiting / (double)p->queue, b = metric_kv(e) / p->kv;
        sum += a > b ? a : b;
    }
    return sum / (double)cy->n;
}

static size_t util_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const util_params_t *p = st;
    double ql = (double)p->queue * (1 + p->headroom), kl = p->kv * (1 + p->headroom);
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        const es_endpoint_t *e = &cy->eps[idx[i]];
        if (fresh(e, cy->now, p->stale) && e->metrics.waiting < ql && metric_kv(e) < kl) o++;
    }
    if (o == 0) return m;   /* fail open */
    o = 0;
    for (size_t i = 0; i < m; i++) {
        const es_endpoint_t *e = &cy->eps[idx[i]];
        if (fresh(e, cy->now, p->stale) && e->metrics.waiting < ql && metric_kv(e) < kl) idx[o++] = idx[i];
    }
    return o;
}

typedef struct conc_params {
    int64_t max;
    char    mode[ESI_STR_MAX];
    int64_t max_tokens;
    double  headroom;
} conc_params_t;
static const esi_param_t k_conc_params[] = {
    {"maxConcurrency", ESI_P_INT, P(conc_params_t, max), "100", 1, 1e15, NULL},
    {"concurrencyMode", ESI_P_STR, P(conc_params_t, mode), "requests", 0, 0, NULL},
    {"maxTokenConcurrency", ESI_P_INT, P(conc_params_t, max_tokens), "1000000", 1, 1e15, NULL},
    {"headroom", ESI_P_DOUBLE, P(conc_params_t, headroom), "0.0", 0, 1e9, NULL},
    END};

static int conc_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    const conc_params_t *p = params;
    if (strcmp(p->mode, "requests") && strcmp(p->mode, "tokens"))
        return es_node_err(err, ES_EINVAL, at, path,
                           "concurrencyMode must be requests or tokens, got \"%s\"", p->mode);
    return 0;
}

static double conc_saturation(void *st, esi_cycle_t *cy)
{
    const conc_params_t *p = st;
    bool tok = p->mode[0] == 't';
    double cap = (double)cy->n * (double)(tok ? p->max_tokens : p->max);
    if (cap <= 0) return 1.0;
    double sum = 0;
    for (size_t i = 0; i < cy->n; i++) sum += (double)(tok ? cy->inflight_tok[i] : cy->inflight_req[i]);
    return sum / cap;
}

static size_t conc_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const conc_params_t *p = st;
    bool tok = p->mode[0] == 't';
    int64_t lim = (int64_t)((double)(tok ? p->max_tokens : p->max) * (1 + p->headroom));
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        int64_t v = tok ? cy->inflight_tok[idx[i]] : cy->inflight_req[idx[i]];
        if (v < lim) idx[o++] = idx[i];
    }
    return o;
}

/* ------------------------------------------------------------------ */
/* admitters                                                           */
/* ------------------------------------------------------------------ */

/* probabilistic-admitter (v0.10.0 requestcontrol/admitter/probabilisticadmitter/
 * plugin.go): a sheddable request (priority < 0) is refused with probability
 * min(s^power * k, 1), s = the mean over the candidates of
 * max(waiting / queueDepthThreshold, kv / kvCacheUtilThreshold). */
typedef struct prob_admit_params {
    int64_t queue;
    double  kv, power, k;
} prob_admit_params_t;
static const esi_param_t k_prob_admit_params[] = {
    {"queueDepthThreshold", ESI_P_INT, P(prob_admit_params_t, queue), "5", -1e15, 1e15, NULL},
    {"kvCacheUtilThreshold", ESI_P_DOUBLE, P(prob_admit_params_t, kv), "0.8", -1e12, 1e12, NULL},
    {"power", ESI_P_DOUBLE, P(prob_admit_params_t, power), "5.0", -1e12, 1e12, NULL},
    {"k", ESI_P_DOUBLE, P(prob_admit_params_t, k), "300.0", -1e12, 1e12, NULL},
    END};

static int prob_admit_check(void *params, const es_node_t *at, const char *path, const char **warning,
                            es_err_t *err)
{
    (void)warning;
    const prob_admit_params_t *p = params;
    if (p->queue <= 0)
        return es_node_err(err, ES_EINVAL, at, path, "queueDepthThreshold must be > 0, got %lld", (long long)p->queue);
    if (p->kv <= 0) return es_node_err(err, ES_EINVAL, at, path, "kvCacheUtilThreshold must be > 0, got %g", p->kv);
    if (p->power <= 0) return es_node_err(err, ES_EINVAL, at, path, "power must be > 0, got %g", p->power);
    if (p->k <= 0) return es_node_err(err, ES_EINVAL, at, path, "k must be > 0, got %g", p->k);
    return 0;
}

static double prob_admit_saturation(const prob_admit_params_t *p, const esi_cycle_t *cy)
{
    double total = 0;
    for (size_t i = 0; i < cy->n; i++) {
        double q = (double)cy->eps[i].metrics.waiting / (double)p->queue, kv = metric_kv(&cy->eps[i]) / p->kv;
        total += q > kv ? q : kv;
    }
    return total / (double)cy->n;
}

static const char *prob_admit(void *st, esi_cycle_t *cy)
{
    const prob_admit_params_t *p = st;
    if (cy->req->priority >= 0 || cy->n == 0) return NULL;
    double prob = pow(prob_admit_saturation(p, cy), p->power) * p->k;
    if (prob > 1) prob = 1;
    return es_rng_uniform(cy->rng) < prob ? "request cannot be admitted: probabilistic-admitter: rejected" : NULL;
}

/* ------------------------------------------------------------------ */
/* pickers                                                             */
/* ------------------------------------------------------------------ */
typedef struct { int64_t max_n; } picker_params_t;
static const esi_param_t k_picker_params[] = {
    {"maxNumOfEndpoints", ESI_P_INT, 0, "1", -1e9, 1e9, NULL}, END};

static size_t pick_n(const void *st, size_t max)
{
    int64_t n = ((const picker_params_t *)st)->max_n;
    if (n <= 0) n = 1;
    return (size_t)n < max ? (size_t)n : max;
}

/* max-score-picker: shuffle, stable sort by score descending, first N;
 * equivalent selection: repeatedly take the first maximum of a shuffled list. */
static size_t max_score_pick(void *st, esi_cycle_t *cy, const uint32_t *idx, const double *tot,
                             size_t m, uint32_t *out, size_t max)
{
    size_t N = pick_n(st, max);
    if (N > m) N = m;
    if (N == 1) {   /* uniform among the maxima (reservoir), no shuffle needed */
        size_t best = 0, ties = 1;
        for (size_t i = 1; i < m; i++) {
            if (tot[i] > tot[best]) { best = i; ties = 1; }
            else if (tot[i] == tot[best] && es_rng_below(cy->rng, ++ties) == 0) best = i;
        }
        out[0] = idx[best];
        return 1;
    }
    uint32_t ord[ES_SCHED_MAX_TARGETS * 16];
    uint32_t *o = m <= sizeof ord / sizeof ord[0] ? ord : malloc(m * sizeof *o);
    ES_ASSERT(o != NULL, "out of memory");
    for (size_t i = 0; i < m; i++) o[i] = (uint32_t)i;
    for (size_t i = m - 1; i > 0; i--) {
        size_t j = es_rng_below(cy->rng, i + 1);
        uint32_t t = o[i]; o[i] = o[j]; o[j] = t;
    }
    for (size_t k = 0; k < N; k++) {   /* stable selection of the k-th best */
        size_t b = k;
        for (size_t i = k + 1; i < m; i++) if (tot[o[i]] > tot[o[b]]) b = i;
        uint32_t t = o[b];
        memmove(o + k + 1, o + k, (b - k) * sizeof *o);
        o[k] = t;
        out[k] = idx[t];
    }
    if (o != ord) free(o);
    return N;
}

static size_t random_pick(void *st, esi_cycle_t *cy, const uint32_t *idx, const double *tot,
                          size_t m, uint32_t *out, size_t max)
{
    (void)tot;
    size_t N = pick_n(st, max);
    if (N > m) N = m;
    /* N distinct positions by rejection: redraw a position already taken */
    uint32_t pos[ES_SCHED_MAX_TARGETS];
    for (size_t k = 0; k < N; k++) {
        size_t j;
        bool dup;
        do {   /* draw without replacement; N is tiny */
            j = es_rng_below(cy->rng, m);
            dup = false;
            for (size_t q = 0; q < k; q++) if (pos[q] == j) dup = true;
        } while (dup);
        pos[k] = (uint32_t)j;
        out[k] = idx[j];
    }
    return N;
}

/* weighted-random-picker: A-Res keys u^(1/score) */
static size_t weighted_random_pick(void *st, esi_cycle_t *cy, const uint32_t *idx, const double *tot,
                                   size_t m, uint32_t *out, size_t max)
{
    bool any = false;
    for (size_t i = 0; i < m; i++) if (tot[i] > 0) any = true;
    if (!any) return random_pick(st, cy, idx, tot, m, out, max);
    size_t N = pick_n(st, max);
    if (N > m) N = m;
    double keys[ES_SCHED_MAX_TARGETS];
    size_t got = 0;
    for (size_t i = 0; i < m; i++) {
        double key = 0;
        if (tot[i] > 0) {
            double u = es_rng_uniform(cy->rng);
            if (u == 0) u = 1e-10;
            key = pow(u, 1.0 / tot[i]);
        }
        /* keep the N largest keys, in descending order */
        size_t at = got;
        while (at > 0 && keys[at - 1] < key) at--;
        if (at >= N) continue;
        size_t last = got < N ? got : N - 1;
        for (size_t q = last; q > at; q--) { keys[q] = keys[q - 1]; out[q] = out[q - 1]; }
        keys[at] = key;
        out[at] = idx[i];
        if (got < N) got++;
    }
    return got;
}

/* eppsim-round-robin: the next endpoint id after the last pick (cyclic) */
typedef struct { uint32_t last; bool any; } rr_t;

static size_t rr_pick(void *st, esi_cycle_t *cy, const uint32_t *idx, const double *tot, size_t m,
                      uint32_t *out, size_t max)
{
    (void)tot; (void)max;
    rr_t *r = st;
    size_t best = SIZE_MAX, lowest = 0;
    for (size_t i = 0; i < m; i++) {
        uint32_t id = cy->eps[idx[i]].id;
        if (id < cy->eps[idx[lowest]].id) lowest = i;
        if ((!r->any || id > r->last) && (best == SIZE_MAX || id < cy->eps[idx[best]].id)) best = i;
    }
    if (best == SIZE_MAX) best = lowest;
    r->last = cy->eps[idx[best]].id;
    r->any = true;
    out[0] = idx[best];
    return 1;
}

/* eppsim-least-requests: fewest in-flight requests (this replica's view), random ties */
static size_t least_req_pick(void *st, esi_cycle_t *cy, const uint32_t *idx, const double *tot,
                             size_t m, uint32_t *out, size_t max)
{
    (void)st; (void)tot; (void)max;
    size_t best = 0, ties = 1;
    for (size_t i = 1; i < m; i++) {
        int64_t a = cy->inflight_req[idx[i]], b = cy->inflight_req[idx[best]];
        if (a < b) { best = i; ties = 1; }
        else if (a == b && es_rng_below(cy->rng, ++ties) == 0) best = i;
    }
    out[0] = idx[best];
    return 1;
}

/* eppsim-legacy-decision-tree: the GIE v0.3 scheduler (§2.6) as Filter+Picker */
typedef struct legacy_params {
    double  kv_threshold;
    int64_t queue_critical;
    int64_t queue_lora;
    double  lora_affinity;
} legacy_params_t;
static const esi_param_t k_legacy_params[] = {
    {"kvCacheThreshold", ESI_P_DOUBLE, P(legacy_params_t, kv_threshold), "0.8", 0, 1, NULL},
    {"queueThresholdCritical", ESI_P_INT, P(legacy_params_t, queue_critical), "5", 0, 1e15, NULL},
    {"queueingThresholdLoRA", ESI_P_INT, P(legacy_params_t, queue_lora), "128", 0, 1e15, NULL},
    {"loraAffinityThreshold", ESI_P_DOUBLE, P(legacy_params_t, lora_affinity), "0.999", 0, 1, NULL},
    END};

typedef size_t (*subfilter_fn)(const legacy_params_t *p, esi_cycle_t *cy, uint32_t *idx, size_t m);

static size_t least_queue(const legacy_params_t *p, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    (void)p;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < m; i++) {
        int64_t q = cy->eps[idx[i]].metrics.waiting;
        if (q < lo) lo = q;
        if (q > hi) hi = q;
    }
    int64_t lim = lo + (hi - lo) / (int64_t)m;   /* integer division, as upstream */
    size_t o = 0;
    for (size_t i = 0; i < m; i++) if (cy->eps[idx[i]].metrics.waiting <= lim) idx[o++] = idx[i];
    return o;
}

static size_t least_kv(const legacy_params_t *p, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    (void)p;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < m; i++) {
        double k = metric_kv(&cy->eps[idx[i]]);
        if (k < lo) lo = k;
        if (k > hi) hi = k;
    }
    double lim = lo + (hi - lo) / (double)m;
    size_t o = 0;
    for (size_t i = 0; i < m; i++) if (metric_kv(&cy->eps[idx[i]]) <= lim) idx[o++] = idx[i];
    return o;
}

static size_t low_queue(const legacy_params_t *p, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    size_t o = 0;
    for (size_t i = 0; i < m; i++) if (cy->eps[idx[i]].metrics.waiting <= p->queue_lora) idx[o++] = idx[i];
    return o;
}

static size_t lora_filter(const legacy_params_t *p, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    size_t na = 0, nv = 0;
    const char *t = cy->req->model;
    uint32_t aff[m ? m : 1], avail[m ? m : 1];
    for (size_t i = 0; i < m; i++) {
        const es_endpoint_metrics_t *mt = &cy->eps[idx[i]].metrics;
        bool a = in_list(mt->running_lora, mt->n_running_lora, t) ||
                 in_list(mt->waiting_lora, mt->n_waiting_lora, t);
        if (a) aff[na++] = idx[i];
        else if ((int64_t)mt->n_running_lora + mt->n_waiting_lora < mt->max_lora) avail[nv++] = idx[i];
    }
    bool use_aff = na > 0 && (nv == 0 || es_rng_uniform(cy->rng) < p->lora_affinity);
    if (use_aff) { memcpy(idx, aff, na * sizeof *idx); return na; }
    memcpy(idx, avail, nv * sizeof *idx);
    return nv;
}

static size_t has_capacity(const legacy_params_t *p, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        const es_endpoint_t *e = &cy->eps[idx[i]];
        if (e->metrics.waiting <= p->queue_critical && metric_kv(e) <= p->kv_threshold) idx[o++] = idx[i];
    }
    return o;
}

/* Applies a filter: success narrows the set, failure keeps the unfiltered set. */
static size_t step(const legacy_params_t *p, subfilter_fn f, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    uint32_t tmp[m ? m : 1];
    memcpy(tmp, idx, m * sizeof *idx);
    size_t k = f(p, cy, tmp, m);
    if (k == 0) return m;
    memcpy(idx, tmp, k * sizeof *idx);
    return k;
}

static size_t legacy_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const legacy_params_t *p = st;
    if (m == 0) return 0;
    if (cy->req->priority < 0) {   /* sheddable */
        m = has_capacity(p, cy, idx, m);
        if (m == 0) return 0;      /* dropped: 429 */
        m = step(p, least_queue, cy, idx, m);
        m = step(p, lora_filter, cy, idx, m);
        return step(p, least_kv, cy, idx, m);
    }
    uint32_t tmp[m];
    memcpy(tmp, idx, m * sizeof *idx);
    size_t k = low_queue(p, cy, tmp, m);
    if (k > 0) {
        memcpy(idx, tmp, k * sizeof *idx);
        m = step(p, lora_filter, cy, idx, k);
        m = step(p, least_queue, cy, idx, m);
        return step(p, least_kv, cy, idx, m);
    }
    m = step(p, least_queue, cy, idx, m);
    m = step(p, lora_filter, cy, idx, m);
    return step(p, least_kv, cy, idx, m);
}

static size_t legacy_pick(void *st, esi_cycle_t *cy, const uint32_t *idx, const double *tot, size_t m,
                          uint32_t *out, size_t max)
{
    (void)st; (void)tot; (void)max;
    out[0] = idx[es_rng_below(cy->rng, m)];
    return 1;
}

/* ------------------------------------------------------------------ */
/* deciders, handlers, producer (logic in scheduler.c; params here)    */
/* ------------------------------------------------------------------ */
/* prefix-based-pd-decider (v0.10.0 scheduling/profilehandler/disagg/
 * prefix_based_pd_decider.go): both thresholds must be >= 0 */
typedef struct { int64_t non_cached, prompt; } pd_params_t;
static const esi_param_t k_pd_params[] = {
    {"nonCachedTokens", ESI_P_INT, P(pd_params_t, non_cached), "0", 0, 1e15, NULL},
    {"promptTokens", ESI_P_INT, P(pd_params_t, prompt), "0", 0, 1e15, NULL},
    END};

static bool prefix_decide(void *st, esi_cycle_t *cy, uint32_t d)
{
    const pd_params_t *p = st;
    int64_t nc = p->non_cached;
    if (nc <= 0) return false;   /* 0 disables P/D */
    int64_t input = cy->req->prompt_text ? (int64_t)(strlen(cy->req->prompt_text) / 4)
                                         : (int64_t)cy->req->content.tokens;
    if (p->prompt > 0 && input < p->prompt) return false;
    if (input < nc) return false;
    int64_t hit = cy->have_prefix ? (int64_t)cy->match[d] * cy->block_tokens : 0;
    return input - hit >= nc;
}

/* always-disagg-multimodal-decider: encode when the request carries images,
 * video or audio; eppsim's requests carry none yet. */
static bool multimodal_decide(void *st, esi_cycle_t *cy, uint32_t d)
{
    (void)st; (void)cy; (void)d;
    return false;
}

/* data-parallel-profile-handler: primaryPort 8000, 0 or 1..65535 */
static const esi_param_t k_dp_params[] = {
    {"primaryPort", ESI_P_INT, 0, "8000", 0, 65535, NULL}, END};

/* mm-embeddings-cache-producer (dataproducer/multimodal/producer.go) */
static const esi_param_t k_mm_producer_params[] = {
    {"cacheSizeInMBPerServer", ESI_P_ANY, 0, NULL, 0, 0, NULL}, END};

static bool always_decide(void *st, esi_cycle_t *cy, uint32_t d)
{
    (void)st; (void)cy; (void)d;
    return true;
}

typedef struct esi_disagg_params {
    char decode[ESI_STR_MAX], prefill[ESI_STR_MAX], encode[ESI_STR_MAX];
    char prefill_decider[ESI_STR_MAX], encode_decider[ESI_STR_MAX];
    char legacy_decode[ESI_STR_MAX], legacy_prefill[ESI_STR_MAX], legacy_decider[ESI_STR_MAX];
} esi_disagg_params_t;

static const esi_param_t k_disagg_profiles[] = {
    {"decode", ESI_P_STR, P(esi_disagg_params_t, decode), "decode", 0, 0, NULL},
    {"prefill", ESI_P_STR, P(esi_disagg_params_t, prefill), "prefill", 0, 0, NULL},
    {"encode", ESI_P_STR, P(esi_disagg_params_t, encode), "encode", 0, 0, NULL},
    END};
static const esi_param_t k_disagg_deciders[] = {
    {"prefill", ESI_P_STR, P(esi_disagg_params_t, prefill_decider), "", 0, 0, NULL},
    {"encode", ESI_P_STR, P(esi_disagg_params_t, encode_decider), "", 0, 0, NULL},
    END};
static const esi_param_t k_disagg_params[] = {
    {"profiles", ESI_P_SUB, 0, NULL, 0, 0, k_disagg_profiles},
    {"deciders", ESI_P_SUB, 0, NULL, 0, 0, k_disagg_deciders},
    {"decodeProfile", ESI_P_STR, P(esi_disagg_params_t, legacy_decode), "", 0, 0, NULL},
    {"prefillProfile", ESI_P_STR, P(esi_disagg_params_t, legacy_prefill), "", 0, 0, NULL},
    {"deciderPluginName", ESI_P_STR, P(esi_disagg_params_t, legacy_decider), "", 0, 0, NULL},
    END};

static const esi_param_t k_producer_params[] = {
    {"autoTune", ESI_P_BOOL, P(esi_approx_params_t, auto_tune), "true", 0, 0, NULL},
    {"blockSizeTokens", ESI_P_INT, P(esi_approx_params_t, block_size_tokens), "16", -(1 << 20), 1 << 20, NULL},
    {"blockSize", ESI_P_INT, P(esi_approx_params_t, block_size_chars), "0", 0, 1 << 22, NULL},
    {"maxPrefixBlocksToMatch", ESI_P_INT, P(esi_approx_params_t, max_blocks), "2048", 0, 1 << 24, NULL},
    {"maxPrefixTokensToMatch", ESI_P_INT, P(esi_approx_params_t, max_tokens), "131072", 0, 1e12, NULL},
    {"lruCapacityPerServer", ESI_P_INT, P(esi_approx_params_t, lru_capacity), "31250", 1, 2147483647.0, NULL},
    END};

static int profile_named(const es_epp_config_t *c, const char *name)
{
    for (size_t i = 0; i < c->nprofiles; i++) if (strcmp(c->profiles[i].name, name) == 0) return (int)i;
    return -1;
}

static int single_bind(void *params, const es_epp_config_t *c, esi_handler_bind_t *b, const es_node_t *at,
                       es_err_t *err)
{
    (void)params;
    if (c->nprofiles > 1)
        return es_node_err(err, ES_EINVAL, at, "plugins", "single-profile-handler cannot run %zu profiles",
                           c->nprofiles);
    b->primary = 0;
    return 0;
}

/* disagg-profile-handler: decode first, then prefill when the decider says so */
static int disagg_bind(void *params, const es_epp_config_t *c, esi_handler_bind_t *b, const es_node_t *at,
                       es_err_t *err)
{
    esi_disagg_params_t *d = params;
    if (d->legacy_decode[0]) snprintf(d->decode, ESI_STR_MAX, "%s", d->legacy_decode);
    if (d->legacy_prefill[0]) snprintf(d->prefill, ESI_STR_MAX, "%s", d->legacy_prefill);
    if (d->legacy_decider[0]) snprintf(d->prefill_decider, ESI_STR_MAX, "%s", d->legacy_decider);
    b->split = true;
    b->primary = profile_named(c, d->decode);
    if (b->primary < 0)
        return es_node_err(err, ES_ENOTFOUND, at, "parameters.profiles.decode",
                           "no scheduling profile named \"%s\"", d->decode);
    b->prefill = profile_named(c, d->prefill);
    if (d->prefill_decider[0]) {
        for (size_t i = 0; i < c->nplugins && b->decider < 0; i++)
            if (strcmp(c->plugins[i].name, d->prefill_decider) == 0) b->decider = (int32_t)i;
        if (b->decider < 0 || !(c->plugins[b->decider].vt->roles & ESI_DECIDER))
            return es_node_err(err, ES_ENOTFOUND, at, "parameters.deciders.prefill",
                               "no decider plugin named \"%s\"", d->prefill_decider);
    }
    return 0;
}

/* approx-prefix-cache-producer (§2.7): owns the approximate index */
/* ApproxPrefixCacheFactory and newDataProducer (v0.10.0 plugin.go) */
static int producer_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    esi_approx_params_t *p = params;
    p->min_block_tokens = ESI_APPROX_MIN_BLOCK_TOKENS;
    if (p->block_size_chars > 0) {
        *warning = "'blockSize' is deprecated; use 'blockSizeTokens' instead";
        if (p->block_size_tokens == 16) p->block_size_tokens = p->block_size_chars;
        p->block_size_chars = 0;
    }
    if (!p->auto_tune && p->block_size_tokens <= 0)
        return es_node_err(err, ES_EINVAL, at, path, "invalid configuration: BlockSizeTokens must be > 0 when "
                           "AutoTune is disabled (current value: %lld)", (long long)p->block_size_tokens);
    bool written = at && at->kind == ES_NODE_MAP && es_map_get(at, "blockSizeTokens");
    if (written && p->block_size_tokens > 0 && p->block_size_tokens < p->min_block_tokens)
        *warning = "configured blockSizeTokens is below the recommended minimum (64), overriding it";
    return 0;
}

typedef struct approx {
    esi_approx_params_t p;
    esi_pindex_t        ix;
    esi_charview_t      cv;        /* character view sums */
    uint64_t           *hashes;    /* the current request's block hashes */
    size_t              hcap;
} approx_t;

static int approx_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s;
    approx_t *a = st;
    a->p = *(const esi_approx_params_t *)params;
    if (esi_pindex_init(&a->ix)) return es_err_set(err, ES_ENOMEM, "approximate index: out of memory");
    esi_charview_init(&a->cv);
    return 0;
}

static void approx_fini(void *st)
{
    approx_t *a = st;
    esi_pindex_fini(&a->ix);
    free(a->hashes);
}

/* GetBlockSize: the server's block size (autoTune) or blockSizeTokens, floored at 64 */
static uint32_t approx_block_tokens(const approx_t *a, const esi_cycle_t *cy)
{
    int64_t bs = a->p.block_size_tokens;
    if (a->p.auto_tune && cy->n > 0 && cy->eps[0].metrics.block_size > 0) bs = cy->eps[0].metrics.block_size;
    return (uint32_t)(bs < a->p.min_block_tokens ? a->p.min_block_tokens : bs);
}

/* PrepareRequestData: hashes, greedy match walk. */
static int approx_prepare(void *st, esi_cycle_t *cy)
{
    approx_t *a = st;
    uint32_t bs = approx_block_tokens(a, cy);
    /* resolveMaxBlocks: tokens cap first, then the blocks cap, 0 and 0 = the whole prompt */
    size_t maxb = a->p.max_tokens > 0 ? (size_t)(a->p.max_tokens / bs) : (size_t)a->p.max_blocks;
    size_t len = cy->req->prompt_text ? strlen(cy->req->prompt_text) : (size_t)cy->req->content.tokens * 7;
    size_t whole = len / ((size_t)bs * 4) + 1;   /* blocks the prompt can make (<= 7 characters a token) */
    if (maxb == 0 || maxb > whole) maxb = whole;
    if (maxb > a->hcap) {
        uint64_t *h = realloc(a->hashes, maxb * sizeof *h);
        if (!h) return ES_ENOMEM;
        a->hashes = h;
        a->hcap = maxb;
    }
    const char *model = cy->req->model ? cy->req->model : "";
    uint64_t seed = esi_xxh64(model, strlen(model), 0);
    size_t nh = cy->req->prompt_text
        ? esi_text_block_hashes(cy->req->prompt_text, strlen(cy->req->prompt_text), bs * 4, seed, a->hashes, maxb)
        : esi_char_block_hashes(&a->cv, &cy->req->content, bs * 4, seed, a->hashes, maxb);
    memset(cy->match, 0, cy->n * sizeof *cy->match);
    cy->have_prefix = true;
    cy->total_blocks = (uint32_t)nh;
    cy->block_tokens = bs;
    cy->hashes = a->hashes;
    for (size_t k = 0; k < nh; k++) {
        uint32_t ni = esi_pindex_holders(&a->ix, a->hashes[k]);
        if (!ni) break;   /* greedy: stop at the first block nobody has */
        for (; ni; ni = a->ix.nodes[ni].next) {
            uint32_t at = esi_cycle_pos(cy, a->ix.nodes[ni].pod);   /* pods outside the candidates are skipped */
            if (at != UINT32_MAX) cy->match[at]++;
        }
    }
    return 0;
}

static void approx_add(approx_t *a, esi_cycle_t *cy, uint32_t e)
{
    if (e == UINT32_MAX || cy->total_blocks == 0) return;
    const es_endpoint_t *ep = &cy->eps[e];
    uint32_t cap = a->p.auto_tune && ep->metrics.num_gpu_blocks > 0 ? ep->metrics.num_gpu_blocks
                                                                     : (uint32_t)a->p.lru_capacity;
    esi_pindex_add_n(&a->ix, cy->hashes, cy->total_blocks, ep->id, cap);
}

/* PreRequest: the primary pick and the prefill pick now hold the request's blocks. */
static void approx_pre(void *st, esi_cycle_t *cy)
{
    approx_t *a = st;
    if (cy->record_only) { approx_add(a, cy, cy->record_target); return; }
    approx_add(a, cy, esi_cycle_primary(cy));
    approx_add(a, cy, esi_cycle_prefill(cy));
}

static void approx_removed(void *st, uint32_t id) { esi_pindex_remove_pod(&((approx_t *)st)->ix, id); }

/* flow control */
static const esi_param_t k_usage_params[] = {
    {"threshold", ESI_P_DOUBLE, 0, "1.0", 0, 1e9, NULL}, END};

/* static-usage-limit-policy (usagelimits/usagelimitpolicy.go): every band the same ceiling */
static void static_limits(void *st, double saturation, const int64_t *priorities, size_t n, double *ceilings)
{
    (void)saturation; (void)priorities;
    double t = *(const double *)st;   /* the state is the params: {threshold} */
    for (size_t i = 0; i < n; i++) ceilings[i] = t;
}

/* soft-reflective-ceiling-policy (v0.10.0 usagelimits/softreflectiveceiling/
 * policy.go): the highest band is never gated; band i of n has the reflective
 * ceiling 1 - i * s / (n - 1); a band whose ceiling is above the saturation s
 * is open, every band is shut at s >= 1, and in between, when s >= 1 - s, the
 * gated bands open together once every round(s / (1 - s)) cycles. */
typedef struct { int64_t tick; } soft_ceiling_t;

static void soft_ceiling_limits(void *st, double s, const int64_t *priorities, size_t n, double *ceilings)
{
    (void)priorities;
    soft_ceiling_t *p = st;
    if (n == 0) return;
    if (n == 1) { ceilings[0] = 1.0; return; }
    bool open = false;
    if (s >= 1.0 - s && s < 1.0) {
        double per = round(s / (1.0 - s + 1e-9));
        int64_t period = per < 1 ? 1 : (int64_t)per;
        open = ++p->tick % period == 0;
    }
    ceilings[0] = 1.0;
    for (size_t i = 1; i < n; i++) {
        double reflective = 1.0 - (double)i * s / (double)(n - 1);
        if (s < reflective) ceilings[i] = 1.0;
        else if (s >= 1.0) ceilings[i] = 0.0;
        else ceilings[i] = open ? 1.0 : 0.0;
    }
}

static es_time_t edf_key(es_time_t enqueued, es_time_t deadline)
{
    (void)enqueued;
    return deadline;
}

/* ------------------------------------------------------------------ */
/* registry                                                            */
/* ------------------------------------------------------------------ */
#define VT(name_, roles_, params_, psize_, ssize_) .type_name = name_, .roles = roles_, \
    .params = params_, .params_size = psize_, .state_size = ssize_
#define FED(name_, roles_, params_, note_) \
    {VT(name_, roles_, params_, 0, 0), .klass = ESI_CLASS_FED, .note = note_}
#define NOOP(name_, alpha_, note_) \
    {VT(name_, ESI_INERT, k_any_params, 0, 0), .klass = ESI_CLASS_MEANINGLESS, .alpha = alpha_, .note = note_}
#define MISSING(name_, alpha_, note_) \
    {VT(name_, ESI_INERT, NULL, 0, 0), .klass = ESI_CLASS_MISSING, .alpha = alpha_, .note = note_}

static const esi_plugin_vt_t k_plugins[] = {
    /* scorers */
    {VT("queue-scorer", ESI_SCORER, NULL, 0, 0), .x_score = queue_score},
    {VT("running-requests-size-scorer", ESI_SCORER, NULL, 0, 0), .x_score = running_score},
    {VT("kv-cache-utilization-scorer", ESI_SCORER, NULL, 0, 0), .x_score = kv_score},
    {VT("lora-affinity-scorer", ESI_SCORER, NULL, 0, 0), .x_score = lora_score},
    {VT("prefix-cache-scorer", ESI_SCORER, k_prefix_scorer_params, sizeof(prefix_scorer_params_t),
        sizeof(prefix_scorer_t)), .consumes = ESI_DATA_PREFIX_MATCH, .x_check = prefix_params_check,
     .x_producer_ref = prefix_producer_ref,
     .x_init = prefix_scorer_init, .x_score = prefix_score},
    {VT("token-load-scorer", ESI_SCORER, k_token_load_params, sizeof(token_load_params_t),
        sizeof(token_load_params_t)), .x_check = token_load_check, .x_score = token_load_score},
    {VT("load-aware-scorer", ESI_SCORER, k_load_aware_params, sizeof(load_aware_params_t),
        sizeof(load_aware_params_t)), .x_score = load_aware_score},
    {VT("active-request-scorer", ESI_SCORER, k_active_req_params, sizeof(active_req_params_t),
        sizeof(active_req_params_t)), .x_check = active_req_check, .x_score = active_req_score},
    {VT("session-affinity-scorer", ESI_SCORER, NULL, 0, 0), .x_score = session_score},
    {VT("no-hit-lru-scorer", ESI_SCORER, k_nohit_params, sizeof(nohit_params_t), sizeof(nohit_t)),
     .consumes = ESI_DATA_PREFIX_MATCH, .x_producer_ref = nohit_producer_ref, .x_init = nohit_init, .x_fini = nohit_fini, .x_score = nohit_score,
     .x_pre_request = nohit_pre, .x_removed = nohit_removed},
    {VT("precise-prefix-cache-scorer", ESI_SCORER, k_precise_params, sizeof(precise_params_t),
        sizeof(precise_t)), .caps = ESI_CAP_KV_EVENTS, .x_check = precise_check, .x_init = precise_init,
     .x_fini = precise_fini, .x_score = precise_score, .x_kv_event = precise_on_event,
     .x_text_keys = precise_text_keys, .x_removed = precise_removed},
    /* filters */
    {VT("prefix-cache-affinity-filter", ESI_FILTER, k_affinity_params, sizeof(affinity_params_t),
        sizeof(affinity_params_t)), .consumes = ESI_DATA_PREFIX_MATCH,
     .x_filter = affinity_filter},
    {VT("label-selector-filter", ESI_FILTER, k_selector_params, sizeof(selector_params_t),
        sizeof(selector_params_t)), .x_check = selector_check, .x_filter = selector_filter},
    {VT("by-label-selector", ESI_FILTER, k_selector_params, sizeof(selector_params_t), sizeof(selector_params_t)),
     .replaced_by = "label-selector-filter", .x_check = selector_check, .x_filter = selector_filter},
    {VT("by-label", ESI_FILTER, k_by_label_params, sizeof(by_label_params_t), sizeof(by_label_params_t)),
     .replaced_by = "label-selector-filter (or decode-filter/prefill-filter/encode-filter for roles)",
     .x_check = by_label_check, .x_filter = by_label_filter},
    {VT("topology-affinity-filter", ESI_FILTER, k_topo_filter_params, sizeof(topo_params_t), sizeof(topo_params_t)),
     .alpha = true, .x_check = topo_filter_check, .x_link = topo_link, .x_filter = topo_filter},
    {VT("topology-affinity-scorer", ESI_SCORER, k_topo_scorer_params, sizeof(topo_params_t), sizeof(topo_params_t)),
     .alpha = true, .x_link = topo_link, .x_score = topo_score},
    {VT("topology-extractor", ESI_EXTRACTOR, k_topo_extractor_params, sizeof(topo_keys_t), 0),
     .produces = ESI_DATA_TOPOLOGY, .klass = ESI_CLASS_FED, .alpha = true,
     .note = "reads the pods' hostname/rack/zone/region labels (eppsim's pods carry only llm-d.ai/role today)"},
    {VT("decode-filter", ESI_FILTER, NULL, 0, 0), .x_filter = decode_filter},
    {VT("prefill-filter", ESI_FILTER, NULL, 0, 0), .x_filter = prefill_filter},
    {VT("encode-filter", ESI_FILTER, NULL, 0, 0), .x_filter = encode_filter},
    /* saturation detectors (also filters) */
    {VT("utilization-detector", ESI_SATURATION | ESI_FILTER, k_util_params, sizeof(util_params_t),
        sizeof(util_params_t)), .x_filter = util_filter,
     .x_saturation = util_saturation},
    {VT("concurrency-detector", ESI_SATURATION | ESI_FILTER, k_conc_params, sizeof(conc_params_t),
        sizeof(conc_params_t)), .x_check = conc_check,
     .x_filter = conc_filter, .x_saturation = conc_saturation},
    /* admitters */
    {VT("probabilistic-admitter", ESI_ADMITTER, k_prob_admit_params, sizeof(prob_admit_params_t),
        sizeof(prob_admit_params_t)), .x_check = prob_admit_check, .x_admit = prob_admit},
    /* pickers */
    {VT("max-score-picker", ESI_PICKER, k_picker_params, sizeof(picker_params_t), sizeof(picker_params_t)),
     .x_pick = max_score_pick},
    {VT("random-picker", ESI_PICKER, k_picker_params, sizeof(picker_params_t), sizeof(picker_params_t)),
     .x_pick = random_pick},
    {VT("weighted-random-picker", ESI_PICKER, k_picker_params, sizeof(picker_params_t),
        sizeof(picker_params_t)), .x_pick = weighted_random_pick},
    /* baselines (eppsim only) */
    {VT("eppsim-round-robin", ESI_PICKER, NULL, 0, sizeof(rr_t)), .x_pick = rr_pick},
    {VT("eppsim-least-requests", ESI_PICKER, NULL, 0, 0), .x_pick = least_req_pick},
    {VT("eppsim-legacy-decision-tree", ESI_FILTER | ESI_PICKER, k_legacy_params, sizeof(legacy_params_t),
        sizeof(legacy_params_t)), .x_filter = legacy_filter,
     .x_pick = legacy_pick},
    /* profile handlers and deciders */
    {VT("single-profile-handler", ESI_HANDLER, NULL, 0, 0), .x_bind = single_bind},
    {VT("disagg-profile-handler", ESI_HANDLER, k_disagg_params, sizeof(esi_disagg_params_t), 0),
     .x_bind = disagg_bind},
    {VT("disagg-headers-handler", ESI_HANDLER, k_disagg_params, sizeof(esi_disagg_params_t), 0),
     .replaced_by = "disagg-profile-handler", .x_bind = disagg_bind},
    {VT("prefill-header-handler", ESI_HANDLER, k_disagg_params, sizeof(esi_disagg_params_t), 0),
     .replaced_by = "disagg-profile-handler", .x_bind = disagg_bind},
    {VT("pd-profile-handler", ESI_HANDLER, k_disagg_params, sizeof(esi_disagg_params_t), 0),
     .replaced_by = "disagg-profile-handler", .x_bind = disagg_bind},
    {VT("data-parallel-profile-handler", ESI_HANDLER, k_dp_params, sizeof(int64_t), 0), .x_bind = single_bind,
     .note = "one rank per pod: the primaryPort rewrite does not change the pick"},
    {VT("always-disagg-multimodal-decider", ESI_DECIDER, NULL, 0, 0), .x_decide = multimodal_decide,
     .note = "eppsim requests carry no multimodal items yet: never disaggregates"},
    {VT("prefix-based-pd-decider", ESI_DECIDER, k_pd_params, sizeof(pd_params_t), sizeof(pd_params_t)),
     .consumes = ESI_DATA_PREFIX_MATCH, .x_decide = prefix_decide},
    {VT("always-disagg-pd-decider", ESI_DECIDER, NULL, 0, 0), .x_decide = always_decide},
    /* data producers */
    {VT("approx-prefix-cache-producer", ESI_PRODUCER, k_producer_params, sizeof(esi_approx_params_t),
        sizeof(approx_t)), .produces = ESI_DATA_PREFIX_MATCH, .caps = ESI_CAP_DEFAULT_PRODUCER,
     .x_check = producer_check, .x_init = approx_init, .x_fini = approx_fini, .x_prepare = approx_prepare,
     .x_pre_request = approx_pre, .x_removed = approx_removed},
    {VT("precise-prefix-cache-producer", ESI_PRODUCER, k_pprod_params, sizeof(pprod_params_t), sizeof(pprod_t)),
     .produces = ESI_DATA_PREFIX_MATCH, .caps = ESI_CAP_KV_EVENTS, .x_check = pprod_check, .x_init = pprod_init,
     .x_fini = pprod_fini, .x_prepare = pprod_prepare, .x_pre_request = pprod_pre, .x_kv_event = pprod_kv_event,
     .x_text_keys = pprod_text_keys, .x_removed = pprod_removed},
    FED("inflight-load-producer", ESI_PRODUCER, k_any_params,
        "in-flight counters are always kept per replica (input + 1.5 x input tokens per request)"),
    FED("token-producer", ESI_PRODUCER, k_any_params, "requests carry their tokens; no tokenizer is called"),
    {VT("tokenizer", ESI_PRODUCER, k_any_params, 0, 0), .klass = ESI_CLASS_FED, .replaced_by = "token-producer",
     .note = "requests carry their tokens; no tokenizer is called"},
    FED("session-id-producer", ESI_PRODUCER, k_any_params, "the request's session comes from the workload"),
    FED("mm-embeddings-cache-producer", ESI_PRODUCER, k_mm_producer_params,
        "eppsim requests carry no multimodal items yet: nothing to cache"),
    /* flow control policies */
    {VT("fcfs-ordering-policy", ESI_ORDERING, NULL, 0, 0)},
    {VT("edf-ordering-policy", ESI_ORDERING, NULL, 0, 0), .x_order_key = edf_key},
    {VT("global-strict-fairness-policy", ESI_FAIRNESS, NULL, 0, 0)},
    {VT("round-robin-fairness-policy", ESI_FAIRNESS, NULL, 0, 0), .caps = ESI_CAP_FLOWS_ROUND_ROBIN},
    {VT("static-usage-limit-policy", ESI_USAGE, k_usage_params, sizeof(double), sizeof(double)),
     .x_limits = static_limits},
    {VT("soft-reflective-ceiling-policy", ESI_USAGE, NULL, 0, sizeof(soft_ceiling_t)), .alpha = true,
     .x_limits = soft_ceiling_limits},
    /* the data layer and request handling: fed by the simulation */
    FED("metrics-data-source", ESI_SOURCE, k_any_params, "metrics are scraped from the server model"),
    FED("core-metrics-extractor", ESI_EXTRACTOR, k_any_params, "metrics are scraped from the server model"),
    FED("mock-metrics-source", ESI_SOURCE, k_any_params, "metrics are the server model's"),
    FED("models-data-source", ESI_SOURCE, k_any_params, "the served model is the experiment's"),
    FED("models-data-extractor", ESI_EXTRACTOR, k_any_params, "the served model is the experiment's"),
    FED("k8s-notification-source", ESI_SOURCE, k_any_params, "pods come from the cluster model"),
    FED("endpoint-notification-source", ESI_SOURCE, k_any_params,
        "KV events are delivered by the cluster model (epp.kv_events_delay_ms)"),
    FED("file-discovery", ESI_DISCOVERY, k_any_params, "pods come from the experiment or manifest"),
    FED("openai-parser", ESI_PARSER, k_any_params, "requests arrive parsed"),
    FED("passthrough-parser", ESI_PARSER, k_any_params, "requests arrive parsed"),
    FED("vllmgrpc-parser", ESI_PARSER, k_any_params, "requests arrive parsed"),
    FED("vllmhttp-parser", ESI_PARSER, k_any_params, "requests arrive parsed"),
    FED("anthropic-parser", ESI_PARSER, k_any_params, "requests arrive parsed"),
    FED("vertexai-parser", ESI_PARSER, k_any_params, "requests arrive parsed"),
    /* meaningless in a one-cluster simulation: accepted with a warning */
    NOOP("request-attribute-reporter", false, "it reports request attributes to Envoy metadata"),
    NOOP("agent-identity", true, "agent identity headers have no routing effect"),
    NOOP("destination-endpoint-served-verifier", false, "an upstream conformance-test plugin"),
    NOOP("disaggregatedset-rollout-screener", true, "Kubernetes DisaggregatedSet rollouts are not modelled"),
    NOOP("multicluster-session-affinity-filter", true, "one cluster is simulated"),
    NOOP("multicluster-queue-scorer", true, "one cluster is simulated"),
    NOOP("multicluster-kv-cache-utilization-scorer", true, "one cluster is simulated"),
    NOOP("multicluster-prefix-cache-scorer", true, "one cluster is simulated"),
    NOOP("multicluster-approx-prefix-cache-producer", true, "one cluster is simulated"),
    NOOP("multicluster-metrics-data-source", true, "one cluster is simulated"),
    NOOP("multicluster-metrics-extractor", true, "one cluster is simulated"),
    NOOP("multicluster-file-discovery", true, "one cluster is simulated"),
    /* recognised, not implemented yet (refused; docs/scheduler.md) */
    MISSING("session-affinity-filter", true, "session affinity filter"),
    MISSING("endpoint-attribute-filter", true, "endpoint attribute thresholds"),
    MISSING("endpoint-attribute-scorer", true, "endpoint attribute scoring"),
    MISSING("utilization-filter", true, "utilization filter"),
    MISSING("context-length-aware", false, "context-length ranges per pod"),
    MISSING("header-label-affinity-scorer", true, "header to label affinity"),
    MISSING("header-profile-handler", true, "profile chosen by a header"),
    MISSING("header-based-testing-filter", false, "upstream test filter"),
    MISSING("dcgm-data-source", true, "GPU utilisation and memory from the server model"),
    MISSING("dcgm-extractor", true, "GPU utilisation and memory from the server model"),
    MISSING("mm-embeddings-cache-scorer", false, "multimodal embeddings cache affinity"),
    MISSING("burst-prefix-cache-producer", true, "burst co-location of prompt-sharing requests"),
    MISSING("p2p-source-producer", true, "peer-to-peer KV source selection"),
    MISSING("predicted-latency-producer", false, "the online latency predictor"),
    MISSING("latency-scorer", false, "the online latency predictor"),
    MISSING("slo-headroom-tier-filter", false, "the online latency predictor"),
    MISSING("latency-slo-admitter", false, "the online latency predictor"),
    MISSING("program-aware-fairness", false, "program-aware fairness"),
    MISSING("slo-deadline-ordering-policy", false, "SLO deadline ordering"),
    MISSING("priority-holdback-policy", true, "priority holdback usage limit"),
    MISSING("sheddable-eviction-filter", true, "flow-control eviction"),
    MISSING("priority-then-time-eviction-order-policy", true, "flow-control eviction"),
};

#define NPLUGINS (sizeof k_plugins / sizeof k_plugins[0])

const esi_plugin_vt_t *esi_registry_find(const char *type_name)
{
    for (size_t i = 0; i < NPLUGINS; i++)
        if (strcmp(k_plugins[i].type_name, type_name) == 0) return &k_plugins[i];
    return NULL;
}

const esi_plugin_vt_t *esi_registry_default_producer(unsigned data_key)
{
    for (size_t i = 0; i < NPLUGINS; i++)
        if ((k_plugins[i].caps & ESI_CAP_DEFAULT_PRODUCER) && (k_plugins[i].produces & data_key)) return &k_plugins[i];
    return NULL;
}

const char *es_epp_plugin_type(size_t i)
{
    return i < NPLUGINS ? k_plugins[i].type_name : NULL;
}
