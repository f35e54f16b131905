/*
 * plugins_admission.c -- what decides whether and when a request is served:
 * the saturation detectors (also filters), the admitters and the flow-control
 * policies (ordering, fairness, usage limits).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plugins_internal.h"

/* saturation detectors (also filters) */
typedef struct util_params {
    int64_t   queue;
    double    kv;
    es_time_t stale;
    double    headroom;
} util_params_t;
static const esi_param_t k_util_params[] = {
    {"queueDepthThreshold", ESI_P_INT, P(util_params_t, queue), "5", 1, 1e15, NULL},
    {"kvCacheUtilThreshold", ESI_P_DOUBLE, P(util_params_t, kv), "0.8", 1e-9, 1, NULL},
    {"metricsStalenessThreshold", ESI_P_DURATION, P(util_params_t, stale), "200ms", 1, 1e18, NULL},   /* > 0 (validateConfig) */
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
        double a = (double)e->metrics.waiting / (double)p->queue, b = esi_metric_kv(e) / p->kv;
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
        if (fresh(e, cy->now, p->stale) && e->metrics.waiting < ql && esi_metric_kv(e) < kl) o++;
    }
    if (o == 0) return m;   /* fail open */
    o = 0;
    for (size_t i = 0; i < m; i++) {
        const es_endpoint_t *e = &cy->eps[idx[i]];
        if (fresh(e, cy->now, p->stale) && e->metrics.waiting < ql && esi_metric_kv(e) < kl) idx[o++] = idx[i];
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
    if (strcmp(p->mode, "requests") && strcmp(p->mode, "tokens") && strcmp(p->mode, "hybrid"))
        return es_node_err(err, ES_EINVAL, at, path,
                           "unsupported concurrencyMode: \"%s\" (requests, tokens or hybrid)", p->mode);
    return 0;
}

/* v0.10.0 flowcontrol/saturationdetector/concurrency/detector.go: "requests"
 * and "tokens" are aggregate ratios; "hybrid" averages over the endpoints
 * the larger of each one's request and token ratios, and filters out an
 * endpoint at either limit. */
static double conc_saturation(void *st, esi_cycle_t *cy)
{
    const conc_params_t *p = st;
    if (p->mode[0] == 'h') {
        if (cy->n == 0) return 1.0;
        double sum = 0;
        for (size_t i = 0; i < cy->n; i++) {
            double a = (double)cy->inflight_req[i] / (double)p->max, b = (double)cy->inflight_tok[i] / (double)p->max_tokens;
            sum += a > b ? a : b;
        }
        return sum / (double)cy->n;
    }
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
    /* maxConcurrency (up to 1e15) times 1 + headroom (up to 1e9) can pass
     * int64: such a limit is no limit, never a cast out of range */
    double rl = (double)p->max * (1 + p->headroom), tl = (double)p->max_tokens * (1 + p->headroom);
    int64_t rlim = rl >= 9e18 ? INT64_MAX : (int64_t)rl;
    int64_t tlim = tl >= 9e18 ? INT64_MAX : (int64_t)tl;
    bool use_r = p->mode[0] != 't', use_t = p->mode[0] != 'r';   /* hybrid: both */
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        bool ok = (!use_r || cy->inflight_req[idx[i]] < rlim) && (!use_t || cy->inflight_tok[idx[i]] < tlim);
        if (ok) idx[o++] = idx[i];
    }
    return o;
}

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
        double q = (double)cy->eps[i].metrics.waiting / (double)p->queue, kv = esi_metric_kv(&cy->eps[i]) / p->kv;
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

static es_time_t edf_key(const es_sched_request_t *req, es_time_t enqueued, es_time_t deadline)
{
    (void)req; (void)enqueued;
    return deadline;
}

/* slo-deadline-ordering-policy (flowcontrol/ordering/slodeadline/slo_deadline.go):
 * received + the x-llm-d-slo-ttft-ms header (else its deprecated alias
 * x-slo-ttft-ms) in ms; missing, empty, not a base-10 int64 (after trimming),
 * negative or too large to scale to ns: the far future (after every
 * SLO-bound request); ties in arrival order */
es_time_t esi_slo_deadline_key(const es_sched_request_t *req, es_time_t received)
{
    const char *v = NULL;
    for (int pass = 0; pass < 2 && !v; pass++)
        for (uint32_t i = 0; i < req->nheaders && !v; i++)
            if (req->headers[i].name && strcasecmp(req->headers[i].name, pass ? "x-slo-ttft-ms"
                                                                              : "x-llm-d-slo-ttft-ms") == 0)
                v = req->headers[i].value;
    if (!v) return ES_TIME_NEVER;
    while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r' || *v == '\v' || *v == '\f') v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' || v[n - 1] == '\r' ||
                 v[n - 1] == '\v' || v[n - 1] == '\f')) n--;
    size_t i = 0;
    bool neg = false;
    if (i < n && (v[i] == '+' || v[i] == '-')) neg = v[i++] == '-';
    if (i == n) return ES_TIME_NEVER;
    int64_t ms = 0;
    for (; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return ES_TIME_NEVER;
        if (ms > (INT64_MAX - (v[i] - '0')) / 10) return ES_TIME_NEVER;   /* ParseInt: out of range */
        ms = ms * 10 + (v[i] - '0');
    }
    if (neg && ms > 0) return ES_TIME_NEVER;
    if (ms > INT64_MAX / ES_MS) return ES_TIME_NEVER;
    return es_time_add_sat(received, ms * ES_MS);
}

/* the factories of these three ignore their parameters (no decoding): any
 * are accepted, reported as without effect */
static const esi_param_t k_ignored_params[] = {{"*", ESI_P_ANY, 0, NULL, 0, 0, NULL}, END};

/* a declared eviction policy: the evictor never references it */
static int evict_policy_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)params; (void)at; (void)path; (void)err;
    *warning = "declared without effect: with flowControl.enableEviction the evictor builds its own "
               "sheddable-eviction-filter and priority-then-time-eviction-order-policy (cmd/epp/runner/runner.go "
               "buildRequestEvictor), as upstream";
    return 0;
}

/* sheddable-eviction-filter (flowcontrol/eviction/filtering/sheddable.go):
 * only sheddable requests (priority < 0) are eviction victims */
static bool sheddable_accept(int64_t priority) { return priority < 0; }

/* priority-then-time-eviction-order-policy (eviction/ordering/priority_time.go):
 * the lowest priority first, then the newest dispatch (least KV invested) */
static bool priority_then_time_less(int64_t pa, es_time_t da, int64_t pb, es_time_t db)
{
    return pa != pb ? pa < pb : da > db;
}

static es_time_t slo_deadline_key(const es_sched_request_t *req, es_time_t enqueued, es_time_t deadline)
{
    (void)deadline;
    return esi_slo_deadline_key(req, enqueued);
}

/* program-aware-fairness (v0.10.0 flowcontrol/fairness/program-aware/
 * plugin.go, strategy_las.go, programmetrics.go): Least Attained Service
 * over programs (fairness ids).  A program's service is 1 x prompt + 2 x
 * completion tokens of its finished responses, decayed while it has nothing
 * queued nor in flight (per Pick by lasDecayFactor, or by wall-clock
 * half-life when lasHalfLifeSeconds > 0).  Pick scores every queued flow
 * wS (1 - norm(service)) + wW norm(head wait ms), norm = min-max over the
 * queued flows (all equal: 0.5), and serves the best. */
typedef struct pa_params {
    char   strategy[ESI_STR_MAX];
    double ttl_s, sweep_s, w_service, w_wait, decay, half_life_s;
} pa_params_t;
static const esi_param_t k_pa_params[] = {
    {"strategy", ESI_P_STR, P(pa_params_t, strategy), "las", 0, 0, NULL},
    {"evictionTtlSeconds", ESI_P_DOUBLE, P(pa_params_t, ttl_s), "3600", -INFINITY, INFINITY, NULL},
    {"evictionSweepSeconds", ESI_P_DOUBLE, P(pa_params_t, sweep_s), "300", -INFINITY, INFINITY, NULL},
    {"lasWeightService", ESI_P_DOUBLE, P(pa_params_t, w_service), "0.8", -INFINITY, INFINITY, NULL},
    {"lasWeightHeadWait", ESI_P_DOUBLE, P(pa_params_t, w_wait), "0.2", -INFINITY, INFINITY, NULL},
    {"lasDecayFactor", ESI_P_DOUBLE, P(pa_params_t, decay), "0.99997", -INFINITY, INFINITY, NULL},
    {"lasHalfLifeSeconds", ESI_P_DOUBLE, P(pa_params_t, half_life_s), "0", -INFINITY, INFINITY, NULL},
    END};

typedef struct pa_prog {
    char     *id;
    double    service;        /* attained service, weighted tokens, decayed */
    es_time_t anchor;         /* last AddService or Decay (half-life mode) */
    bool      anchored;
    int64_t   inflight;       /* dispatched, response not ended */
    es_time_t last_done;      /* last completion; creation time before one */
} pa_prog_t;

typedef struct pa_state {
    pa_params_t p;
    pa_prog_t  *progs;
    size_t      n, cap;
    es_time_t   next_sweep;   /* eviction: the sweep due at or after this time */
} pa_state_t;

static int pa_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    pa_params_t *p = params;
#define PA_BAD(cond, ...) if (cond) return es_node_err(err, ES_EINVAL, at, path, __VA_ARGS__)
    PA_BAD(p->ttl_s < 0, "evictionTtlSeconds must be >= 0, got %g", p->ttl_s);
    PA_BAD(!(p->sweep_s > 0), "evictionSweepSeconds must be > 0, got %g", p->sweep_s);
    PA_BAD(p->w_service < 0, "lasWeightService must be >= 0, got %g", p->w_service);
    PA_BAD(p->w_wait < 0, "lasWeightHeadWait must be >= 0, got %g", p->w_wait);
    PA_BAD(!(p->decay > 0 && p->decay <= 1), "lasDecayFactor must be in (0, 1], got %g", p->decay);
    PA_BAD(p->half_life_s < 0, "lasHalfLifeSeconds must be >= 0, got %g", p->half_life_s);
    PA_BAD(p->strategy[0] && strcmp(p->strategy, "las"),
           "unknown scoring strategy \"%s\": only \"las\" is supported", p->strategy);
#undef PA_BAD
    return 0;
}

static int pa_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s; (void)err;
    pa_state_t *pa = st;
    pa->p = *(const pa_params_t *)params;
    /* the seconds are any float (as upstream's): saturated, not cast out of range */
    pa->next_sweep = es_time_trunc_ns_f(pa->p.sweep_s * 1e9);
    return 0;
}

static void pa_fini(void *st)
{
    pa_state_t *pa = st;
    for (size_t i = 0; i < pa->n; i++) free(pa->progs[i].id);
    free(pa->progs);
}

static pa_prog_t *pa_get(pa_state_t *pa, const char *id, es_time_t now)
{
    for (size_t i = 0; i < pa->n; i++) if (strcmp(pa->progs[i].id, id) == 0) return &pa->progs[i];
    if (pa->n == pa->cap) {
        pa->cap = pa->cap ? pa->cap * 2 : 8;
        pa->progs = es_xrealloc(pa->progs, pa->cap * sizeof *pa->progs);
    }
    pa_prog_t *g = &pa->progs[pa->n++];
    memset(g, 0, sizeof *g);
    size_t len = strlen(id) + 1;
    g->id = es_xmalloc(len);
    memcpy(g->id, id, len);
    g->last_done = now;   /* a program seen but never completing still becomes evictable */
    return g;
}

/* the eviction sweep (upstream's ticker every evictionSweepSeconds, run
 * here at the first Pick or hook at or after each tick): programs idle, with
 * nothing in flight, for longer than evictionTtlSeconds are forgotten */
static void pa_sweep(pa_state_t *pa, es_time_t now)
{
    if (pa->p.ttl_s <= 0 || now < pa->next_sweep) return;
    es_time_t every = es_time_trunc_ns_f(pa->p.sweep_s * 1e9);
    if (every < 1) every = 1;
    pa->next_sweep += ((now - pa->next_sweep) / every + 1) * every;
    es_time_t ttl = es_time_trunc_ns_f(pa->p.ttl_s * 1e9);
    for (size_t i = 0; i < pa->n;) {
        pa_prog_t *g = &pa->progs[i];
        if (g->inflight != 0 || now - g->last_done <= ttl) { i++; continue; }
        free(g->id);
        pa->progs[i] = pa->progs[--pa->n];
    }
}

static void pa_decay(const pa_params_t *p, pa_prog_t *g, es_time_t now)
{
    if (p->half_life_s > 0) {
        if (!g->anchored) { g->anchor = now; g->anchored = true; return; }
        double elapsed = (double)(now - g->anchor) / 1e9;
        if (elapsed <= 0) return;
        g->service *= pow(0.5, elapsed / p->half_life_s);
        g->anchor = now;
        return;
    }
    g->service *= p->decay;
}

static double pa_norm(double v, double lo, double hi) { return hi == lo ? 0.5 : (v - lo) / (hi - lo); }

static long pa_pick_flow(void *st, const esi_flow_view_t *f, size_t n, es_time_t now)
{
    pa_state_t *pa = st;
    pa_sweep(pa, now);
    double lo_s = 0, hi_s = 0, lo_w = 0, hi_w = 0;
    bool any = false;
    for (size_t k = 0; k < n; k++) {
        pa_prog_t *g = pa_get(pa, f[k].id, now);
        if (f[k].len == 0) {
            if (g->inflight == 0) pa_decay(&pa->p, g, now);   /* not while a completion is coming */
            continue;
        }
        double w = floor((double)(now - f[k].head_enq) / 1e6);   /* whole milliseconds, as Go's Milliseconds() */
        if (!any) { lo_s = hi_s = g->service; lo_w = hi_w = w; any = true; continue; }
        lo_s = fmin(lo_s, g->service); hi_s = fmax(hi_s, g->service);
        lo_w = fmin(lo_w, w); hi_w = fmax(hi_w, w);
    }
    long best = -1;
    double best_score = -INFINITY;
    for (size_t k = 0; any && k < n; k++) {   /* ties: the first flow by id (upstream: map order) */
        if (f[k].len == 0) continue;
        const pa_prog_t *g = pa_get(pa, f[k].id, now);
        double w = floor((double)(now - f[k].head_enq) / 1e6);
        double score = pa->p.w_service * (1 - pa_norm(g->service, lo_s, hi_s)) + pa->p.w_wait * pa_norm(w, lo_w, hi_w);
        if (score > best_score) { best_score = score; best = (long)k; }
    }
    return best;
}

static void pa_pre_request(void *st, esi_cycle_t *cy)
{
    if (cy->record_only) return;
    pa_state_t *pa = st;
    pa_sweep(pa, cy->now);
    pa_get(pa, esi_fairness_id(cy->req), cy->now)->inflight++;
}

static void pa_on_end(void *st, const char *id, bool complete, uint32_t prompt, uint32_t completion, es_time_t now)
{
    if (!complete) return;   /* no end of stream: upstream's count stays in flight (README trade-offs) */
    pa_state_t *pa = st;
    pa_prog_t *g = pa_get(pa, id, now);
    g->service += (double)prompt + 2.0 * (double)completion;
    g->anchor = now;
    g->anchored = true;
    g->inflight--;
    g->last_done = now;
}

/* priority-holdback-policy (v0.10.0 flowcontrol/usagelimits/priorityholdback/
 * priority_holdback.go, config.go): band ceilings spread from maxCeiling (the
 * highest priority) down to minCeiling (the lowest): by rank (domain rank,
 * equal steps) or by priority value (domain value, linear in the value; all
 * equal: maxCeiling); one band: maxCeiling */
typedef struct holdback_params {
    char   shape[ESI_STR_MAX], domain[ESI_STR_MAX];
    double min_ceiling, max_ceiling;
    bool   by_value;
} holdback_params_t;
static const esi_param_t k_holdback_params[] = {
    {"shape", ESI_P_STR, P(holdback_params_t, shape), "linear", 0, 0, NULL},
    {"domain", ESI_P_STR, P(holdback_params_t, domain), "rank", 0, 0, NULL},
    {"minCeiling", ESI_P_DOUBLE, P(holdback_params_t, min_ceiling), "nan", -INFINITY, INFINITY, NULL},
    {"maxCeiling", ESI_P_DOUBLE, P(holdback_params_t, max_ceiling), "1.0", -INFINITY, INFINITY, NULL},
    END};

static int holdback_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    holdback_params_t *p = params;
#define HB_BAD(cond, ...) if (cond) return es_node_err(err, ES_EINVAL, at, path, \
                                                      "invalid priority holdback policy configuration: " __VA_ARGS__)
    HB_BAD(isnan(p->min_ceiling), "minCeiling is required");
    HB_BAD(strcmp(p->shape, "linear"), "unsupported shape \"%s\", must be \"linear\"", p->shape);
    HB_BAD(strcmp(p->domain, "rank") && strcmp(p->domain, "value"),
           "unsupported domain \"%s\", must be one of: \"rank\", \"value\"", p->domain);
    HB_BAD(p->min_ceiling < 0 || p->min_ceiling >= 1, "minCeiling must be in [0.0, 1.0), got %f", p->min_ceiling);
    HB_BAD(p->max_ceiling <= 0 || p->max_ceiling > 1, "maxCeiling must be in (0.0, 1.0], got %f", p->max_ceiling);
    HB_BAD(p->min_ceiling >= p->max_ceiling, "minCeiling (%f) must be strictly less than maxCeiling (%f)",
           p->min_ceiling, p->max_ceiling);
#undef HB_BAD
    p->by_value = strcmp(p->domain, "value") == 0;
    return 0;
}

static void holdback_limits(void *st, double sat, const int64_t *prio, size_t n, double *ceilings)
{
    (void)sat;
    const holdback_params_t *p = st;
    if (n == 0) return;
    if (n == 1) { ceilings[0] = p->max_ceiling; return; }
    double spread = p->max_ceiling - p->min_ceiling;
    if (!p->by_value) {
        for (size_t i = 0; i < n; i++) ceilings[i] = p->max_ceiling - (double)i * spread / (double)(n - 1);
        return;
    }
    double lo = (double)prio[n - 1], range = (double)prio[0] - lo;
    for (size_t i = 0; i < n; i++)
        ceilings[i] = range == 0 ? p->max_ceiling : p->min_ceiling + ((double)prio[i] - lo) / range * spread;
}

static const esi_plugin_vt_t k_plugins[] = {
    /* saturation detectors (also filters) */
    {VT("utilization-detector", ESI_SATURATION | ESI_FILTER, k_util_params, sizeof(util_params_t),
        sizeof(util_params_t)), .x_filter = util_filter,
     .x_saturation = util_saturation},
    {VT("concurrency-detector", ESI_SATURATION | ESI_FILTER, k_conc_params, sizeof(conc_params_t),
        sizeof(conc_params_t)), .caps = ESI_CAP_LEADING_SENSOR, .x_check = conc_check,
     .x_filter = conc_filter, .x_saturation = conc_saturation},
    /* admitters */
    {VT("probabilistic-admitter", ESI_ADMITTER, k_prob_admit_params, sizeof(prob_admit_params_t),
        sizeof(prob_admit_params_t)), .x_check = prob_admit_check, .x_admit = prob_admit},
    /* flow control: ordering, fairness and usage limit policies */
    {VT("fcfs-ordering-policy", ESI_ORDERING, NULL, 0, 0)},
    {VT("edf-ordering-policy", ESI_ORDERING, NULL, 0, 0), .x_order_key = edf_key},
    {VT("slo-deadline-ordering-policy", ESI_ORDERING, k_ignored_params, 0, 0), .x_order_key = slo_deadline_key},
    {VT("global-strict-fairness-policy", ESI_FAIRNESS, NULL, 0, 0)},
    /* in-flight eviction's victim policies (flowControl.enableEviction) */
    {VT("sheddable-eviction-filter", ESI_EVICT_FILTER, k_ignored_params, 0, 0), .alpha = true,
     .x_check = evict_policy_check, .x_evict_accept = sheddable_accept},
    {VT("priority-then-time-eviction-order-policy", ESI_EVICT_ORDER, k_ignored_params, 0, 0), .alpha = true,
     .x_check = evict_policy_check, .x_evict_less = priority_then_time_less},
    {VT("round-robin-fairness-policy", ESI_FAIRNESS, NULL, 0, 0), .caps = ESI_CAP_FLOWS_ROUND_ROBIN},
    {VT("program-aware-fairness", ESI_FAIRNESS, k_pa_params, sizeof(pa_params_t), sizeof(pa_state_t)),
     .x_check = pa_check, .x_init = pa_init, .x_fini = pa_fini, .x_pick_flow = pa_pick_flow,
     .x_pre_request = pa_pre_request, .x_on_end = pa_on_end},
    {VT("static-usage-limit-policy", ESI_USAGE, k_usage_params, sizeof(double), sizeof(double)),
     .x_limits = static_limits},
    {VT("soft-reflective-ceiling-policy", ESI_USAGE, NULL, 0, sizeof(soft_ceiling_t)), .alpha = true,
     .x_limits = soft_ceiling_limits},
    {VT("priority-holdback-policy", ESI_USAGE, k_holdback_params, sizeof(holdback_params_t),
        sizeof(holdback_params_t)), .alpha = true, .x_check = holdback_check, .x_limits = holdback_limits},
};

ESI_PLUGIN_FAMILY(esi_admission_plugins, k_plugins);
