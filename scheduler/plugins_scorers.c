/*
 * plugins_scorers.c -- the scorers that read the endpoints' metrics, the
 * request's prefix match info, in-flight counts: queue,
 * running requests, KV-cache utilisation, LoRA affinity, prefix cache, token
 * load, load-aware, active requests, no-hit LRU.
 *
 * Scorers return raw scores; the profile clamps them to [0,1] and applies
 * the weight.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "plugins_internal.h"

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
    for (size_t i = 0; i < m; i++) out[i] = 1.0 - esi_metric_kv(&cy->eps[idx[i]]);
}

static double lora_affinity(const es_endpoint_t *e, const char *target)
{
    const es_endpoint_metrics_t *mt = &e->metrics;
    if (esi_lora_listed(mt->running_lora, mt->n_running_lora, target)) return 1.0;
    if ((int64_t)mt->n_running_lora + mt->n_waiting_lora < mt->max_lora) return 0.8;
    if (esi_lora_listed(mt->waiting_lora, mt->n_waiting_lora, target)) return 0.6;
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

/* token-load-scorer: the endpoint's in-flight tokens plus this request's
 * uncached tokens there (InFlightLoad + UncachedRequestTokens) */
typedef struct { int64_t threshold; char producer[ESI_STR_MAX]; } token_load_params_t;
static const esi_param_t k_token_load_params[] = {
    {"queueThresholdTokens", ESI_P_INT, 0, "4194304", -1e15, 1e15, NULL},
    {"inFlightLoadProducerName", ESI_P_STR, offsetof(token_load_params_t, producer), "", 0, 0, NULL}, END};

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
        double t = (double)(cy->inflight_tok[idx[i]] + esi_request_tokens(cy, idx[i]));
        out[i] = t <= 0 ? 1.0 : 1.0 - (t < T ? t : T) / T;
    }
}

/* inflight-load-producer (requestcontrol/dataproducer/inflightload/producer.go):
 * its parameters set the scheduler's in-flight token estimate (internal.h) */
typedef struct inflight_params {
    bool    add_output, sync;
    double  ratio;
    int64_t max_output;
    char    producer[ESI_STR_MAX];
} inflight_params_t;
static const esi_param_t k_inflight_params[] = {
    {"addEstimatedOutputTokens", ESI_P_BOOL, offsetof(inflight_params_t, add_output), "false", 0, 0, NULL},
    {"outputRatio", ESI_P_DOUBLE, offsetof(inflight_params_t, ratio), "1.5", -INFINITY, INFINITY, NULL},
    {"maxEstimatedOutputTokens", ESI_P_INT, offsetof(inflight_params_t, max_output), "-1", -1e15, 1e15, NULL},
    {"prefixMatchInfoProducerName", ESI_P_STR, offsetof(inflight_params_t, producer), "", 0, 0, NULL},
    {"syncCrossReplicaState", ESI_P_BOOL, offsetof(inflight_params_t, sync), "true", 0, 0, NULL},
    END};

static int inflight_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    const inflight_params_t *p = params;
    if (p->ratio < 0) return es_node_err(err, ES_EINVAL, at, path, "outputRatio must be non-negative, got %g", p->ratio);
    if (at && at->kind == ES_NODE_MAP && es_map_get(at, "maxEstimatedOutputTokens") && p->max_output < 0)
        return es_node_err(err, ES_EINVAL, at, path, "maxEstimatedOutputTokens must be non-negative, got %lld",
                           (long long)p->max_output);
    (void)warning;   /* syncCrossReplicaState acts with a dataLayer syncer only (the loader warns without one) */
    return 0;
}

static const char *inflight_producer_ref(const void *params) { return ((const inflight_params_t *)params)->producer; }

static void inflight_cfg(const void *params, esi_inflight_cfg_t *out)
{
    const inflight_params_t *p = params;
    *out = (esi_inflight_cfg_t){p->add_output, p->ratio, p->max_output, p->sync};
}

/* load-aware-scorer (llm-d): at most 0.5 */
typedef struct { int64_t threshold; } load_aware_params_t;
static const esi_param_t k_load_aware_params[] = {
    {"threshold", ESI_P_INT, 0, "128", -1e15, 1e15, NULL}, END};

/* load_aware.go NewLoadAware: a non-positive threshold falls back, with a notice */
static int load_aware_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)at; (void)path; (void)err;
    load_aware_params_t *p = params;
    if (p->threshold <= 0) {
        p->threshold = 128;
        *warning = "threshold should be positive, using default queue threshold 128";
    }
    return 0;
}

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

/* session-affinity-scorer: plugins_placement.c (with the filter, whose
 * strategies it shares); the token a response carries: */
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
    {"lruSize", ESI_P_INT, P(nohit_params_t, lru_size), "1024", -2147483648.0, 1 << 20, NULL},
    {"prefixPluginType", ESI_P_ANY, 0, NULL, 0, 0, NULL},
    {"prefixPluginName", ESI_P_ANY, 0, NULL, 0, 0, NULL},
    {"prefixMatchInfoProducerName", ESI_P_STR, P(nohit_params_t, producer_name), "", 0, 0, NULL},
    END};

/* no_hit_lru.go NewNoHitLRU: a non-positive lruSize leaves the default (silently upstream) */
static int nohit_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)at; (void)path; (void)err;
    nohit_params_t *p = params;
    if (p->lru_size <= 0) {
        p->lru_size = 1024;
        *warning = "lruSize <= 0: using the default 1024 (as upstream)";
    }
    return 0;
}

typedef struct nohit {
    int64_t   cap;
    uint32_t *lru;     /* endpoint ids, oldest first */
    size_t    n;
    bool      cold;    /* last scored request was cold */
} nohit_t;

static int nohit_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s; (void)err;
    nohit_t *h = st;
    h->cap = ((const nohit_params_t *)params)->lru_size;
    h->lru = es_xmalloc((size_t)h->cap * sizeof *h->lru);
    return 0;
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

/* endpoint-attribute-scorer (v0.10.0 scheduling/scorer/endpointattribute/
 * endpointattribute.go): the attribute normalised linearly against a fixed
 * [min, max] (clamped) or the candidates' own range (adaptive, the default:
 * all equal -> 1); lower_is_better inverts; an endpoint without it scores 0
 * and takes no part in the adaptive range. */
typedef struct attr_scorer_params {
    char   attribute[ESI_STR_MAX];
    bool   lower_is_better;
    bool   fixed;
    double min, max;
    int    attr;            /* ESI_ATTR_*, resolved at link */
} attr_scorer_params_t;
static const esi_param_t k_attr_scorer_params[] = {
    {"attributeKey", ESI_P_STR, P(attr_scorer_params_t, attribute), "", 0, 0, NULL},
    {"algorithm", ESI_P_NODE, 0, NULL, 0, 0, NULL},
    END};

static int attr_scorer_check(void *params, const es_node_t *at, const char *path, const char **warning,
                             es_err_t *err)
{
    attr_scorer_params_t *p = params;
    if (!p->attribute[0])
        return es_node_err(err, ES_EINVAL, at, path, "endpoint attribute scorer requires a non-empty attributeKey");
    static const char *const akeys[] = {"type", "normalization", NULL},
                      *const nkeys[] = {"fixedRange", "adaptiveRange", NULL},
                      *const fkeys[] = {"min", "max", NULL};
    char full[300];
    int rc;
    const char *type = "";
    const es_node_t *alg = at && at->kind == ES_NODE_MAP ? es_map_get(at, "algorithm") : NULL;
    snprintf(full, sizeof full, "%s.algorithm", path);
    if (alg && !es_node_is_null(alg)) {
        if ((rc = es_node_expect_map(alg, full, err)) || (rc = es_map_check_keys(alg, full, akeys, err))) return rc;
        const es_node_t *t = es_map_get(alg, "type");
        snprintf(full, sizeof full, "%s.algorithm.type", path);
        if (t && !es_node_is_null(t) && (rc = es_node_to_str(t, full, &type, err))) return rc;
    }
    if (strcmp(type, "linear_lower_is_better") && strcmp(type, "linear_higher_is_better"))
        return es_node_err(err, ES_EINVAL, alg ? alg : at, full, "endpoint attribute scorer algorithm.type must be "
                           "\"linear_lower_is_better\" or \"linear_higher_is_better\", got \"%s\"", type);
    p->lower_is_better = strcmp(type, "linear_lower_is_better") == 0;
    const es_node_t *nm = es_map_get(alg, "normalization");
    snprintf(full, sizeof full, "%s.algorithm.normalization", path);
    if (nm && !es_node_is_null(nm)) {
        if ((rc = es_node_expect_map(nm, full, err)) || (rc = es_map_check_keys(nm, full, nkeys, err))) return rc;
        const es_node_t *fr = es_map_get(nm, "fixedRange"), *ar = es_map_get(nm, "adaptiveRange");
        if (fr && !es_node_is_null(fr) && ar && !es_node_is_null(ar))
            return es_node_err(err, ES_EINVAL, nm, full, "endpoint attribute scorer allows at most one normalization "
                               "strategy, got both fixedRange and adaptiveRange");
        if (ar && !es_node_is_null(ar)) {
            snprintf(full, sizeof full, "%s.algorithm.normalization.adaptiveRange", path);
            static const char *const none[] = {NULL};
            if ((rc = es_node_expect_map(ar, full, err)) || (rc = es_map_check_keys(ar, full, none, err))) return rc;
        }
        if (fr && !es_node_is_null(fr)) {
            snprintf(full, sizeof full, "%s.algorithm.normalization.fixedRange", path);
            if ((rc = es_node_expect_map(fr, full, err)) || (rc = es_map_check_keys(fr, full, fkeys, err))) return rc;
            p->fixed = true;
            p->min = p->max = 0;
            const es_node_t *lo = es_map_get(fr, "min"), *hi = es_map_get(fr, "max");
            char sub[340];
            snprintf(sub, sizeof sub, "%s.min", full);
            if (lo && !es_node_is_null(lo) && (rc = es_node_to_double(lo, sub, -INFINITY, INFINITY, &p->min, err)))
                return rc;
            snprintf(sub, sizeof sub, "%s.max", full);
            if (hi && !es_node_is_null(hi) && (rc = es_node_to_double(hi, sub, -INFINITY, INFINITY, &p->max, err)))
                return rc;
            if (p->min >= p->max)
                return es_node_err(err, ES_EINVAL, fr, full, "endpoint attribute scorer normalization.fixedRange "
                                   "requires min < max, got min %g, max %g", p->min, p->max);
        }
    }
    if (strcmp(p->attribute, ESI_ATTR_GPU_UTIL_KEY))
        *warning = "attribute is produced by nothing eppsim models (only " ESI_ATTR_GPU_UTIL_KEY
                   ", by a dcgm-extractor): every endpoint lacks it";
    return 0;
}

static int attr_scorer_link(void *params, const es_epp_config_t *c, const es_node_t *at, es_err_t *err)
{
    (void)at; (void)err;
    attr_scorer_params_t *p = params;
    p->attr = esi_attr_resolve(p->attribute, c);
    return 0;
}

static void attr_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    const attr_scorer_params_t *p = st;
    double lo = INFINITY, hi = -INFINITY, v;
    if (!p->fixed)
        for (size_t i = 0; i < m; i++)
            if (esi_attr_read(p->attr, &cy->eps[idx[i]], &v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
    for (size_t i = 0; i < m; i++) {
        if (!esi_attr_read(p->attr, &cy->eps[idx[i]], &v)) { out[i] = 0.0; continue; }
        double x;
        if (p->fixed) {
            x = (v - p->min) / (p->max - p->min);
            x = x < 0 ? 0 : x > 1 ? 1 : x;
        } else if (hi == lo) {
            out[i] = 1.0;   /* neutral: not inverted */
            continue;
        } else {
            x = (v - lo) / (hi - lo);
        }
        out[i] = p->lower_is_better ? 1.0 - x : x;
    }
}

/* header-label-affinity-scorer (scorer/headerlabelaffinity/plugin.go): 1 for
 * the pods whose labelKey label equals the request's headerName header, 0
 * for the rest (and for every pod without the header) */
typedef struct { char header[ESI_STR_MAX], label[ESI_STR_MAX]; } hla_params_t;
static const esi_param_t k_hla_params[] = {
    {"headerName", ESI_P_STR, offsetof(hla_params_t, header), "", 0, 0, NULL},
    {"labelKey", ESI_P_STR, offsetof(hla_params_t, label), "", 0, 0, NULL},
    END};

static int hla_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    hla_params_t *p = params;
    if (!at) return es_node_err(err, ES_EINVAL, at, path, "header-label-affinity-scorer requires parameters");
    if (!p->header[0]) return es_node_err(err, ES_EINVAL, at, path, "header-label-affinity-scorer headerName is required");
    if (!p->label[0]) return es_node_err(err, ES_EINVAL, at, path, "header-label-affinity-scorer labelKey is required");
    for (char *c = p->header; *c; c++) if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    return 0;
}

static void hla_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    const hla_params_t *p = st;
    const char *want = NULL;
    for (uint32_t h = 0; h < cy->req->nheaders; h++)
        if (strcmp(cy->req->headers[h].name, p->header) == 0) want = cy->req->headers[h].value;
    for (size_t i = 0; i < m; i++) {
        const char *v = want && *want ? es_endpoint_label(&cy->eps[idx[i]], p->label) : NULL;
        out[i] = v && strcmp(v, want) == 0 ? 1.0 : 0.0;
    }
}

static const esi_plugin_vt_t k_plugins[] = {
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
    {VT("inflight-load-producer", ESI_PRODUCER, k_inflight_params, sizeof(inflight_params_t), 0),
     .x_check = inflight_check, .x_producer_ref = inflight_producer_ref, .x_inflight_cfg = inflight_cfg},
    {VT("load-aware-scorer", ESI_SCORER, k_load_aware_params, sizeof(load_aware_params_t),
        sizeof(load_aware_params_t)), .x_check = load_aware_check, .x_score = load_aware_score},
    {VT("active-request-scorer", ESI_SCORER, k_active_req_params, sizeof(active_req_params_t),
        sizeof(active_req_params_t)), .x_check = active_req_check, .x_score = active_req_score},
    {VT("no-hit-lru-scorer", ESI_SCORER, k_nohit_params, sizeof(nohit_params_t), sizeof(nohit_t)),
     .consumes = ESI_DATA_PREFIX_MATCH, .x_check = nohit_check, .x_producer_ref = nohit_producer_ref, .x_init = nohit_init, .x_fini = nohit_fini, .x_score = nohit_score,
     .x_pre_request = nohit_pre, .x_removed = nohit_removed},
    {VT("header-label-affinity-scorer", ESI_SCORER, k_hla_params, sizeof(hla_params_t), sizeof(hla_params_t)),
     .alpha = true, .x_check = hla_check, .x_score = hla_score},
    {VT("endpoint-attribute-scorer", ESI_SCORER, k_attr_scorer_params, sizeof(attr_scorer_params_t),
        sizeof(attr_scorer_params_t)), .alpha = true, .x_check = attr_scorer_check, .x_link = attr_scorer_link,
     .x_score = attr_score},
};

ESI_PLUGIN_FAMILY(esi_scorer_plugins, k_plugins);
