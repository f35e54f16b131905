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
    /* accepted for the auto-created producer (older configs put them here) */
    bool    auto_tune;
    int64_t block_size_tokens, block_size_chars, max_blocks, max_tokens, lru_capacity;
} prefix_scorer_params_t;

static const esi_param_t k_prefix_scorer_params[] = {
    {"matchLengthWeight", ESI_P_DOUBLE, P(prefix_scorer_params_t, match_length_weight), "0", 0, 1, NULL},
    {"matchLengthScaleTokens", ESI_P_INT, P(prefix_scorer_params_t, match_length_scale), "8192", 1, 1e12, NULL},
    {"prefixMatchInfoProducerName", ESI_P_STR, P(prefix_scorer_params_t, producer_name), "", 0, 0, NULL},
    {"autoTune", ESI_P_BOOL, P(prefix_scorer_params_t, auto_tune), "true", 0, 0, NULL},
    {"blockSizeTokens", ESI_P_INT, P(prefix_scorer_params_t, block_size_tokens), "16", 1, 1 << 20, NULL},
    {"blockSize", ESI_P_INT, P(prefix_scorer_params_t, block_size_chars), "0", 0, 1 << 22, NULL},
    {"maxPrefixBlocksToMatch", ESI_P_INT, P(prefix_scorer_params_t, max_blocks), "256", 1, 1 << 24, NULL},
    {"maxPrefixTokensToMatch", ESI_P_INT, P(prefix_scorer_params_t, max_tokens), "0", 0, 1e12, NULL},
    {"lruCapacityPerServer", ESI_P_INT, P(prefix_scorer_params_t, lru_capacity), "31250", 1, 2147483647.0, NULL},
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

static int prefix_params_check(const void *params, const es_node_t *at, const char *path, es_err_t *err)
{
    const prefix_scorer_params_t *p = params;
    if (p->block_size_chars > 0)
        return es_node_err(err, ES_EINVAL, at, path,
                           "blockSize (characters) is deprecated: use blockSizeTokens");
    return 0;
}

/* token-load-scorer */
typedef struct { int64_t threshold; } token_load_params_t;
static const esi_param_t k_token_load_params[] = {
    {"queueThresholdTokens", ESI_P_INT, 0, "4194304", 1, 1e15, NULL}, END};

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
    {"idleThreshold", ESI_P_INT, P(active_req_params_t, idle), "0", 0, 1e15, NULL},
    {"maxBusyScore", ESI_P_DOUBLE, P(active_req_params_t, max_busy), "1.0", 0, 1, NULL},
    {"requestTimeout", ESI_P_ANY, 0, NULL, 0, 0, NULL},   /* deprecated, ignored upstream */
    END};

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
typedef struct { int64_t lru_size; } nohit_params_t;
static const esi_param_t k_nohit_params[] = {
    {"lruSize", ESI_P_INT, 0, "1024", 1, 1 << 20, NULL},
    {"prefixPluginType", ESI_P_ANY, 0, NULL, 0, 0, NULL},
    {"prefixPluginName", ESI_P_ANY, 0, NULL, 0, 0, NULL},
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
    double d = (double)(m - 1);
    size_t never = 0;
    for (size_t i = 0; i < m; i++) {
        if (nohit_pos(h, cy->eps[idx[i]].id) < 0) out[i] = 1.0 - (double)never++ / d;
        else out[i] = -1;   /* ranked below */
    }
    /* used endpoints in LRU order (oldest first) after the never-used ones */
    size_t rank = never;
    for (size_t k = 0; k < h->n; k++)
        for (size_t i = 0; i < m; i++)
            if (out[i] < 0 && cy->eps[idx[i]].id == h->lru[k]) {
                double sc = 1.0 - (double)rank++ / d;
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

static int precise_check(const void *params, const es_node_t *at, const char *path, es_err_t *err)
{
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

void esi_precise_on_event(void *st, const es_kv_event_t *ev)
{
    precise_t *pr = st;
    switch (ev->kind) {
    case ES_KV_BLOCK_STORED:  esi_pindex_add(&pr->ix, ev->block_hash, ev->endpoint, UINT32_MAX); break;
    case ES_KV_BLOCK_REMOVED: esi_pindex_remove(&pr->ix, ev->block_hash, ev->endpoint); break;
    case ES_KV_ALL_CLEARED:   esi_pindex_remove_pod(&pr->ix, ev->endpoint); break;
    }
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

static int conc_check(const void *params, const es_node_t *at, const char *path, es_err_t *err)
{
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
typedef struct { int64_t non_cached; } pd_params_t;
static const esi_param_t k_pd_params[] = {
    {"nonCachedTokens", ESI_P_INT, 0, "0", 0, 1e15, NULL}, END};

static bool prefix_decide(void *st, esi_cycle_t *cy, uint32_t d)
{
    int64_t nc = ((const pd_params_t *)st)->non_cached;
    if (nc <= 0) return false;   /* 0 disables P/D */
    int64_t input = cy->req->prompt_text ? (int64_t)(strlen(cy->req->prompt_text) / 4)
                                         : (int64_t)cy->req->content.tokens;
    if (input < nc) return false;
    int64_t hit = cy->have_prefix ? (int64_t)cy->match[d] * cy->block_tokens : 0;
    return input - hit >= nc;
}

static bool always_decide(void *st, esi_cycle_t *cy, uint32_t d)
{
    (void)st; (void)cy; (void)d;
    return true;
}

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
    {"blockSizeTokens", ESI_P_INT, P(esi_approx_params_t, block_size_tokens), "16", 1, 1 << 20, NULL},
    {"blockSize", ESI_P_INT, P(esi_approx_params_t, block_size_chars), "0", 0, 1 << 22, NULL},
    {"maxPrefixBlocksToMatch", ESI_P_INT, P(esi_approx_params_t, max_blocks), "256", 1, 1 << 24, NULL},
    {"maxPrefixTokensToMatch", ESI_P_INT, P(esi_approx_params_t, max_tokens), "0", 0, 1e12, NULL},
    {"lruCapacityPerServer", ESI_P_INT, P(esi_approx_params_t, lru_capacity), "31250", 1, 2147483647.0, NULL},
    END};

static int producer_check(const void *params, const es_node_t *at, const char *path, es_err_t *err)
{
    if (((const esi_approx_params_t *)params)->block_size_chars > 0)
        return es_node_err(err, ES_EINVAL, at, path,
                           "blockSize (characters) is deprecated: use blockSizeTokens");
    return 0;
}

void esi_prefix_scorer_producer_params(const void *scorer_params, esi_approx_params_t *out)
{
    const prefix_scorer_params_t *p = scorer_params;
    out->auto_tune = p->auto_tune;
    out->block_size_tokens = p->block_size_tokens;
    out->block_size_chars = 0;
    out->max_blocks = p->max_blocks;
    out->max_tokens = p->max_tokens;
    out->lru_capacity = p->lru_capacity;
}

/* flow control */
static const esi_param_t k_usage_params[] = {
    {"threshold", ESI_P_DOUBLE, 0, "1.0", 0, 1e9, NULL}, END};

/* ------------------------------------------------------------------ */
/* registry                                                            */
/* ------------------------------------------------------------------ */
#define VT(name_, roles_, params_, psize_, ssize_) .type_name = name_, .roles = roles_, \
    .params = params_, .params_size = psize_, .state_size = ssize_

static const esi_plugin_vt_t k_plugins[] = {
    /* scorers */
    {VT("queue-scorer", ESI_SCORER, NULL, 0, 0), .x_score = queue_score},
    {VT("running-requests-size-scorer", ESI_SCORER, NULL, 0, 0), .x_score = running_score},
    {VT("kv-cache-utilization-scorer", ESI_SCORER, NULL, 0, 0), .x_score = kv_score},
    {VT("lora-affinity-scorer", ESI_SCORER, NULL, 0, 0), .x_score = lora_score},
    {VT("prefix-cache-scorer", ESI_SCORER, k_prefix_scorer_params, sizeof(prefix_scorer_params_t),
        sizeof(prefix_scorer_t)), .needs_prefix = true, .x_check = prefix_params_check,
     .x_init = prefix_scorer_init, .x_score = prefix_score},
    {VT("token-load-scorer", ESI_SCORER, k_token_load_params, sizeof(token_load_params_t),
        sizeof(token_load_params_t)), .x_score = token_load_score},
    {VT("load-aware-scorer", ESI_SCORER, k_load_aware_params, sizeof(load_aware_params_t),
        sizeof(load_aware_params_t)), .x_score = load_aware_score},
    {VT("active-request-scorer", ESI_SCORER, k_active_req_params, sizeof(active_req_params_t),
        sizeof(active_req_params_t)), .x_score = active_req_score},
    {VT("session-affinity-scorer", ESI_SCORER, NULL, 0, 0), .x_score = session_score},
    {VT("no-hit-lru-scorer", ESI_SCORER, k_nohit_params, sizeof(nohit_params_t), sizeof(nohit_t)),
     .needs_prefix = true, .x_init = nohit_init, .x_fini = nohit_fini, .x_score = nohit_score,
     .x_pre_request = nohit_pre, .x_removed = nohit_removed},
    {VT("precise-prefix-cache-scorer", ESI_SCORER, k_precise_params, sizeof(precise_params_t),
        sizeof(precise_t)), .x_check = precise_check, .x_init = precise_init, .x_fini = precise_fini,
     .x_score = precise_score, .x_removed = precise_removed},
    /* filters */
    {VT("prefix-cache-affinity-filter", ESI_FILTER, k_affinity_params, sizeof(affinity_params_t),
        sizeof(affinity_params_t)), .needs_prefix = true,
     .x_filter = affinity_filter},
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
    {VT("single-profile-handler", ESI_HANDLER, NULL, 0, 0)},
    {VT("disagg-profile-handler", ESI_HANDLER, k_disagg_params, sizeof(esi_disagg_params_t), 0)},
    {VT("prefix-based-pd-decider", ESI_DECIDER, k_pd_params, sizeof(pd_params_t), sizeof(pd_params_t)),
     .needs_prefix = true, .x_decide = prefix_decide},
    {VT("always-disagg-pd-decider", ESI_DECIDER, NULL, 0, 0), .x_decide = always_decide},
    /* data producers */
    {VT("approx-prefix-cache-producer", ESI_PRODUCER, k_producer_params, sizeof(esi_approx_params_t), 0),
     .x_check = producer_check},
    {VT("inflight-load-producer", ESI_INERT, NULL, 0, 0)},   /* always on in eppsim */
    /* flow control policies */
    {VT("fcfs-ordering-policy", ESI_ORDERING, NULL, 0, 0)},
    {VT("edf-ordering-policy", ESI_ORDERING, NULL, 0, 0)},
    {VT("global-strict-fairness-policy", ESI_FAIRNESS, NULL, 0, 0)},
    {VT("round-robin-fairness-policy", ESI_FAIRNESS, NULL, 0, 0)},
    {VT("static-usage-limit-policy", ESI_USAGE, k_usage_params, sizeof(double), 0)},
    /* accepted, no effect in a simulation (metrics come from the server model) */
    {VT("metrics-data-source", ESI_INERT, k_any_params, 0, 0)},
    {VT("core-metrics-extractor", ESI_INERT, k_any_params, 0, 0)},
    {VT("openai-parser", ESI_INERT, k_any_params, 0, 0)},
    {VT("passthrough-parser", ESI_INERT, k_any_params, 0, 0)},
    {VT("vllmgrpc-parser", ESI_INERT, k_any_params, 0, 0)},
    {VT("k8s-notification-source", ESI_INERT, k_any_params, 0, 0)},
    {VT("endpoint-notification-source", ESI_INERT, k_any_params, 0, 0)},
    {VT("request-attribute-reporter", ESI_INERT, k_any_params, 0, 0)},
};

#define NPLUGINS (sizeof k_plugins / sizeof k_plugins[0])

const esi_plugin_vt_t *esi_registry_find(const char *type_name)
{
    for (size_t i = 0; i < NPLUGINS; i++)
        if (strcmp(k_plugins[i].type_name, type_name) == 0) return &k_plugins[i];
    return NULL;
}

const char *es_epp_plugin_type(size_t i)
{
    return i < NPLUGINS ? k_plugins[i].type_name : NULL;
}
