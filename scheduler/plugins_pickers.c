/*
 * plugins_pickers.c -- the pickers (max-score, random, weighted random), the
 * eppsim baselines (round robin, least requests, the GIE v0.3 decision tree
 * as Filter+Picker), the profile handlers and the P/D deciders.
 *
 * max-score-picker takes a heap copy of the order when there are more than
 * 128 candidates; nothing else here allocates.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "es_str.h"
#include "plugins_internal.h"

typedef struct { int64_t max_n; } picker_params_t;
static const esi_param_t k_picker_params[] = {
    {"maxNumOfEndpoints", ESI_P_INT, 0, "1", -1e9, 1e9, NULL}, END};

/* maxscore/random/weightedrandom picker.go: a non-positive maxNumOfEndpoints
 * falls back to 1 (silently upstream) */
static int picker_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)at; (void)path; (void)err;
    picker_params_t *p = params;
    if (p->max_n <= 0) {
        p->max_n = 1;
        *warning = "maxNumOfEndpoints <= 0: using the default 1 (as upstream)";
    }
    return 0;
}

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
    uint32_t *o = m <= sizeof ord / sizeof ord[0] ? ord : es_xmalloc(m * sizeof *o);
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

/* eppsim-legacy-decision-tree: the GIE v0.3.0 scheduler (gateway-api-inference-extension
 * pkg/epp/scheduling/scheduler.go at tag v0.3.0) as Filter+Picker */
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
        double k = esi_metric_kv(&cy->eps[idx[i]]);
        if (k < lo) lo = k;
        if (k > hi) hi = k;
    }
    double lim = lo + (hi - lo) / (double)m;
    size_t o = 0;
    for (size_t i = 0; i < m; i++) if (esi_metric_kv(&cy->eps[idx[i]]) <= lim) idx[o++] = idx[i];
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
        bool a = esi_lora_listed(mt->running_lora, mt->n_running_lora, t) ||
                 esi_lora_listed(mt->waiting_lora, mt->n_waiting_lora, t);
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
        if (e->metrics.waiting <= p->queue_critical && esi_metric_kv(e) <= p->kv_threshold) idx[o++] = idx[i];
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

/* profile handlers and deciders */
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
    int64_t input = cy->req->prompt_text ? (int64_t)(strlen(cy->req->prompt_text) / 4) + esi_text_image_tokens(cy->req)
                                         : (int64_t)cy->req->content.tokens;
    if (p->prompt > 0 && input < p->prompt) return false;
    if (input < nc) return false;
    int64_t hit = cy->have_prefix ? (int64_t)cy->match[d] * cy->block_tokens : 0;
    return input - hit >= nc;
}

/* always-disagg-multimodal-decider (always_disagg_mm_decider.go,
 * multimodal_helpers.go): encode when the tokenized prompt carries
 * multimodal features (eppsim's requests: images) */
static bool multimodal_decide(void *st, esi_cycle_t *cy, uint32_t d)
{
    (void)st; (void)d;
    return cy->req->nmm > 0;
}

/* data-parallel-profile-handler: primaryPort 8000, 0 or 1..65535 */
static const esi_param_t k_dp_params[] = {
    {"primaryPort", ESI_P_INT, 0, "8000", 0, 65535, NULL}, END};

static bool always_decide(void *st, esi_cycle_t *cy, uint32_t d)
{
    (void)st; (void)cy; (void)d;
    return true;
}

typedef struct esi_disagg_params {
    char decode[ESI_STR_MAX], prefill[ESI_STR_MAX], encode[ESI_STR_MAX];
    char prefill_decider[ESI_STR_MAX], encode_decider[ESI_STR_MAX];
    char legacy_decode[ESI_STR_MAX], legacy_prefill[ESI_STR_MAX], legacy_decider[ESI_STR_MAX];
    char legacy_encode[ESI_STR_MAX], legacy_prefill_decider[ESI_STR_MAX], legacy_encode_decider[ESI_STR_MAX];
    char stage_order[ESI_STR_MAX];
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
    {"encodeProfile", ESI_P_STR, P(esi_disagg_params_t, legacy_encode), "", 0, 0, NULL},
    {"prefillDeciderPluginName", ESI_P_STR, P(esi_disagg_params_t, legacy_prefill_decider), "", 0, 0, NULL},
    {"encodeDeciderPluginName", ESI_P_STR, P(esi_disagg_params_t, legacy_encode_decider), "", 0, 0, NULL},
    {"stageOrder", ESI_P_STR, P(esi_disagg_params_t, stage_order), "decode-first", 0, 0, NULL},
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

static int decider_named(const es_epp_config_t *c, const char *name, int32_t *out, const es_node_t *at,
                         const char *path, es_err_t *err)
{
    for (size_t i = 0; i < c->nplugins && *out < 0; i++)
        if (strcmp(c->plugins[i].name, name) == 0) *out = (int32_t)i;
    if (*out < 0 || !(c->plugins[*out].vt->roles & ESI_DECIDER))
        return es_node_err(err, ES_ENOTFOUND, at, path, "no decider plugin named \"%s\"", name);
    return 0;
}

/* ParseStageOrder: case, '-' and '_' ignored; "" / decodefirst / decode, or
 * prefillfirst / prefill; 1 for prefill-first, 0 decode-first, -1 invalid */
static int stage_order(const char *s)
{
    char k[ESI_STR_MAX];
    size_t n = 0;
    for (; *s && n + 1 < sizeof k; s++)
        if (*s != '-' && *s != '_') k[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
    k[n] = 0;
    if (!n || !strcmp(k, "decodefirst") || !strcmp(k, "decode")) return 0;
    if (!strcmp(k, "prefillfirst") || !strcmp(k, "prefill")) return 1;
    return -1;
}

/* disagg-profile-handler (disagg_profile_handler.go): decode first, then
 * encode and prefill, each when its decider says so; prefill-first runs
 * prefill (when the profile exists), encode, then decode */
static int disagg_bind(void *params, const es_epp_config_t *c, esi_handler_bind_t *b, const es_node_t *at,
                       es_err_t *err)
{
    esi_disagg_params_t *d = params;
    int rc;
    if (d->legacy_decode[0]) snprintf(d->decode, ESI_STR_MAX, "%s", d->legacy_decode);
    if (d->legacy_prefill[0]) snprintf(d->prefill, ESI_STR_MAX, "%s", d->legacy_prefill);
    if (d->legacy_encode[0]) snprintf(d->encode, ESI_STR_MAX, "%s", d->legacy_encode);
    if (d->legacy_prefill_decider[0]) snprintf(d->prefill_decider, ESI_STR_MAX, "%s", d->legacy_prefill_decider);
    /* deciderPluginName: the lower-priority alias of the prefill decider */
    if (d->legacy_decider[0] && !d->prefill_decider[0])
        snprintf(d->prefill_decider, ESI_STR_MAX, "%s", d->legacy_decider);
    if (d->legacy_encode_decider[0]) snprintf(d->encode_decider, ESI_STR_MAX, "%s", d->legacy_encode_decider);
    int order = stage_order(d->stage_order);
    if (order < 0)
        return es_node_err(err, ES_EINVAL, at, "parameters.stageOrder",
                           "invalid stage order \"%s\", must be \"decode-first\" or \"prefill-first\"",
                           d->stage_order);
    if (order == 1 && d->prefill_decider[0])
        return es_node_err(err, ES_EINVAL, at, "parameters.deciders.prefill",
                           "prefill decider is not supported in prefill-first stage order");
    b->split = true;
    b->prefill_first = order == 1;
    b->primary = profile_named(c, d->decode);
    if (b->primary < 0)
        return es_node_err(err, ES_ENOTFOUND, at, "parameters.profiles.decode",
                           "no scheduling profile named \"%s\"", d->decode);
    b->prefill = profile_named(c, d->prefill);
    b->encode = profile_named(c, d->encode);
    if (d->prefill_decider[0] &&
        (rc = decider_named(c, d->prefill_decider, &b->decider, at, "parameters.deciders.prefill", err)))
        return rc;
    if (d->encode_decider[0] &&
        (rc = decider_named(c, d->encode_decider, &b->encode_decider, at, "parameters.deciders.encode", err)))
        return rc;
    return 0;
}

/* header-profile-handler (profilehandler/headerprofile/header_profile_handler.go):
 * runs the one profile the request's header names (trimmed, matched
 * verbatim), defaultProfile when the header is missing or blank, the only
 * profile when there is one; a name that is not a profile runs none */
typedef struct header_profile_params {
    char        header[ESI_STR_MAX];    /* headerName, EPP-Profile (lower-cased) */
    char        def[ESI_STR_MAX];       /* defaultProfile, decode */
    /* not parameters: the profiles, resolved at load */
    uint32_t    nprof;
    const char *names[ES_SCHED_MAX_PROFILES];
} header_profile_params_t;
static const esi_param_t k_header_profile_params[] = {
    {"headerName", ESI_P_STR, P(header_profile_params_t, header), "", 0, 0, NULL},
    {"defaultProfile", ESI_P_STR, P(header_profile_params_t, def), "", 0, 0, NULL},
    END};

/* strings.TrimSpace of s as [*b, *e) */
/* NewHeaderProfileHandler: both trimmed and defaulted, the header lower-cased */
static int header_profile_check(void *params, const es_node_t *at, const char *path, const char **warning,
                                es_err_t *err)
{
    (void)at; (void)path; (void)warning; (void)err;
    header_profile_params_t *p = params;
    const char *b, *e;
    char tmp[ESI_STR_MAX];
    es_str_trim_span(p->header, &b, &e);
    size_t n = (size_t)(e - b);
    for (size_t i = 0; i < n; i++) tmp[i] = (char)(b[i] >= 'A' && b[i] <= 'Z' ? b[i] + 32 : b[i]);
    tmp[n] = '\0';
    snprintf(p->header, sizeof p->header, "%s", n ? tmp : "epp-profile");
    es_str_trim_span(p->def, &b, &e);
    n = (size_t)(e - b);
    memcpy(tmp, b, n);
    tmp[n] = '\0';
    snprintf(p->def, sizeof p->def, "%s", n ? tmp : "decode");
    return 0;
}

static int header_profile_bind(void *params, const es_epp_config_t *c, esi_handler_bind_t *b, const es_node_t *at,
                               es_err_t *err)
{
    (void)at; (void)err;
    header_profile_params_t *p = params;
    b->by_request = true;
    b->primary = 0;
    p->nprof = (uint32_t)(c->nprofiles < ES_SCHED_MAX_PROFILES ? c->nprofiles : ES_SCHED_MAX_PROFILES);
    for (uint32_t i = 0; i < p->nprof; i++) p->names[i] = c->profiles[i].name;
    return 0;
}

static int header_profile_select(const void *state, const esi_cycle_t *cy)
{
    const header_profile_params_t *p = state;
    if (p->nprof == 1) return 0;
    const char *v = NULL;
    for (uint32_t i = 0; i < cy->req->nheaders && !v; i++)
        if (cy->req->headers[i].name && strcasecmp(cy->req->headers[i].name, p->header) == 0)
            v = cy->req->headers[i].value;
    const char *b = p->def, *e = p->def + strlen(p->def);
    if (v) {
        const char *vb, *ve;
        es_str_trim_span(v, &vb, &ve);
        if (ve > vb) { b = vb; e = ve; }
    }
    size_t n = (size_t)(e - b);
    for (uint32_t i = 0; i < p->nprof; i++)
        if (strlen(p->names[i]) == n && memcmp(p->names[i], b, n) == 0) return (int)i;
    return -1;
}

static const esi_plugin_vt_t k_plugins[] = {
    {VT("max-score-picker", ESI_PICKER, k_picker_params, sizeof(picker_params_t), sizeof(picker_params_t)),
     .x_check = picker_check, .x_pick = max_score_pick},
    {VT("random-picker", ESI_PICKER, k_picker_params, sizeof(picker_params_t), sizeof(picker_params_t)),
     .x_check = picker_check, .x_pick = random_pick},
    {VT("weighted-random-picker", ESI_PICKER, k_picker_params, sizeof(picker_params_t),
        sizeof(picker_params_t)), .x_check = picker_check, .x_pick = weighted_random_pick},
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
    {VT("header-profile-handler", ESI_HANDLER, k_header_profile_params, sizeof(header_profile_params_t),
        sizeof(header_profile_params_t)), .alpha = true, .x_check = header_profile_check,
     .x_bind = header_profile_bind, .x_select_profile = header_profile_select},
    {VT("always-disagg-multimodal-decider", ESI_DECIDER, NULL, 0, 0), .x_decide = multimodal_decide},
    {VT("prefix-based-pd-decider", ESI_DECIDER, k_pd_params, sizeof(pd_params_t), sizeof(pd_params_t)),
     .consumes = ESI_DATA_PREFIX_MATCH, .x_decide = prefix_decide},
    {VT("always-disagg-pd-decider", ESI_DECIDER, NULL, 0, 0), .x_decide = always_decide},
};

ESI_PLUGIN_FAMILY(esi_picker_plugins, k_plugins);
