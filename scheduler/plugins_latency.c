/*
 * plugins_latency.c -- the predicted-latency family of llm-d-router v0.10.0
 * (commit 71f4f099): predicted-latency-producer
 * (requestcontrol/dataproducer/predictedlatency), latency-scorer
 * (scheduling/scorer/latency), slo-headroom-tier-filter
 * (scheduling/filter/sloheadroomtier) and latency-slo-admitter
 * (requestcontrol/admitter/latencyslo).
 *
 * The producer predicts TTFT/TPOT for every candidate with an in-process
 * Bayesian-ridge model (latency_model.h; upstream asks its sidecar) and
 * publishes LatencyPredictionInfo (cy->latency); it learns from the
 * requests it dispatched, as upstream's response hooks do: TTFT at the
 * first chunk (streamingMode) or at the end of stream (e2e otherwise), TPOT
 * at the end of stream (streamingMode only) = (e2e - TTFT) / (tokens - 1),
 * both in whole milliseconds (Go's Duration.Milliseconds()).  The SLOs come
 * from the request headers x-llm-d-slo-ttft-ms and x-llm-d-slo-tpot-ms (or
 * their deprecated aliases x-slo-ttft-ms, x-slo-tpot-ms).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "es_util.h"
#include "latency_model.h"
#include "plugins_internal.h"

#define ANYD -1e300, 1e300

/* ---- predicted-latency-producer (plugin.go Config, DefaultConfig) ---- */

typedef struct pl_params {
    double    sampling_mean;       /* deprecated, ignored */
    int64_t   max_decode_samples;  /* deprecated, ignored */
    double    slo_buffer;          /* sloBufferFactor > 0 */
    es_time_t context_ttl;
    bool      streaming;
    char      role_label[ESI_STR_MAX];
    bool      predict_in_produce;
    char      prefix_producer[ESI_STR_MAX];
    char      inflight_producer[ESI_STR_MAX];
    bool      use_encoder;
    char      encoder_producer[ESI_STR_MAX];
} pl_params_t;

static const esi_param_t k_pl_params[] = {
    {"samplingMean", ESI_P_DOUBLE, P(pl_params_t, sampling_mean), "1000", ANYD, NULL},
    {"maxDecodeTokenSamplesForPrediction", ESI_P_INT, P(pl_params_t, max_decode_samples), "0", -1e15, 1e15, NULL},
    {"sloBufferFactor", ESI_P_DOUBLE, P(pl_params_t, slo_buffer), "1.0", ANYD, NULL},
    {"contextTTL", ESI_P_DURATION, P(pl_params_t, context_ttl), "5m", 0, 1e18, NULL},
    {"streamingMode", ESI_P_BOOL, P(pl_params_t, streaming), "false", 0, 0, NULL},
    {"endpointRoleLabel", ESI_P_STR, P(pl_params_t, role_label), "", 0, 0, NULL},
    {"predictInProduce", ESI_P_BOOL, P(pl_params_t, predict_in_produce), "true", 0, 0, NULL},
    {"prefixMatchInfoProducerName", ESI_P_STR, P(pl_params_t, prefix_producer), "", 0, 0, NULL},
    {"inFlightLoadProducerName", ESI_P_STR, P(pl_params_t, inflight_producer), "", 0, 0, NULL},
    {"useEncoderCacheFeatures", ESI_P_BOOL, P(pl_params_t, use_encoder), "false", 0, 0, NULL},
    {"encoderCacheMatchInfoProducerName", ESI_P_STR, P(pl_params_t, encoder_producer), "", 0, 0, NULL},
    END};

static int pl_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    const pl_params_t *p = params;
    if (!(p->slo_buffer > 0))
        return es_node_err(err, ES_EINVAL, at, path, "invalid PredictedLatency config: sloBufferFactor must be > 0, got %f",
                           p->slo_buffer);
    if (p->sampling_mean != 1000 || p->max_decode_samples != 0)
        *warning = "Deprecated: samplingMean and maxDecodeTokenSamplesForPrediction are ignored; mid-stream TPOT "
                   "predictions were removed";
    else if (p->use_encoder)
        *warning = "useEncoderCacheFeatures: eppsim requests carry no multimodal items, the encoder features stay 0";
    return 0;
}

static const char *pl_producer_ref(const void *params) { return ((const pl_params_t *)params)->prefix_producer; }

#define PL_SLO_MAX 16   /* distinct TPOT SLOs tracked per endpoint (the workload's classes) */

typedef struct pl_ep {           /* per endpoint id: the running-request queue */
    uint32_t count;
    uint32_t nslo;
    double   slo[PL_SLO_MAX];
    uint32_t slo_n[PL_SLO_MAX];
} pl_ep_t;

typedef struct pl_ctx {          /* predictedLatencyCtx of a dispatched request */
    uint64_t        id;
    bool            have_ttft;
    bool            queued;      /* counted in its target's running queue */
    uint8_t         chunks;      /* first-chunk events still to come before the client's first chunk */
    uint32_t        target;      /* endpoint id of the primary pick */
    es_time_t       received;    /* PreRequest */
    es_time_t       touched;     /* for contextTTL */
    double          tpot_slo;
    double          ttft_ms;     /* observed, whole ms */
    double          pred_ttft, pred_tpot;
    bool            have_pred;
    esi_lm_sample_t f_ttft;      /* TTFT training features at dispatch */
    esi_lm_sample_t f_tpot;      /* TPOT training features (metrics refreshed at the end) */
} pl_ctx_t;

typedef struct pl_state {
    pl_params_t         p;
    esi_lm_t            lm;
    /* this decision (Produce -> PreRequest) */
    size_t              cap_n;
    esi_latency_info_t *info;     /* [cap_n] */
    float              *prefix;   /* [cap_n] prefix cache score by eps index */
    double              ttft_slo, tpot_slo;
    bool                have_info;
    /* per endpoint id */
    pl_ep_t            *ep;
    size_t              cap_ep;
    /* contexts, dense, indexed by request id */
    pl_ctx_t           *ctx;
    size_t              nctx, capctx;
    es_hmap_t           ctx_ids;    /* request id -> index in ctx */
    es_sched_predictor_stats_t stats;
} pl_state_t;

static int pl_init(void *state, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s; (void)err;
    pl_state_t *st = state;
    st->p = *(const pl_params_t *)params;
    esi_lm_config_t cfg = esi_lm_default_config();
    esi_lm_init(&st->lm, &cfg);
    st->capctx = 64;
    st->ctx = es_xmalloc(st->capctx * sizeof *st->ctx);
    es_hmap_init(&st->ctx_ids, st->capctx);
    st->stats.present = true;
    return 0;
}

static void pl_fini(void *state)
{
    pl_state_t *st = state;
    esi_lm_fini(&st->lm);
    free(st->info); free(st->prefix); free(st->ep); free(st->ctx);
    es_hmap_fini(&st->ctx_ids);
}

static void pl_grow_n(pl_state_t *st, size_t n)
{
    if (n <= st->cap_n) return;   /* warm-up only: the largest candidate set so far */
    size_t nc = st->cap_n ? st->cap_n : 16;
    while (nc < n) nc *= 2;
    st->info = es_xrealloc(st->info, nc * sizeof *st->info);
    st->prefix = es_xrealloc(st->prefix, nc * sizeof *st->prefix);
    st->cap_n = nc;
}

static pl_ep_t *pl_ep(pl_state_t *st, uint32_t id)
{
    if (id >= st->cap_ep) {   /* warm-up only: ids are dense pod indexes */
        size_t nc = st->cap_ep ? st->cap_ep : 16;
        while (nc <= id) nc *= 2;
        st->ep = es_xrealloc(st->ep, nc * sizeof *st->ep);
        memset(st->ep + st->cap_ep, 0, (nc - st->cap_ep) * sizeof *st->ep);
        st->cap_ep = nc;
    }
    return &st->ep[id];
}

/* requestPriorityQueue.Peek: the smallest TPOT SLO of the running requests (0: none) */
static double pl_min_tpot_slo(const pl_state_t *st, uint32_t id)
{
    if (id >= st->cap_ep || st->ep[id].count == 0) return 0;
    const pl_ep_t *e = &st->ep[id];
    double m = INFINITY;
    for (uint32_t i = 0; i < e->nslo; i++) if (e->slo_n[i] && e->slo[i] < m) m = e->slo[i];
    return isinf(m) ? 0 : m;
}

static void pl_queue_add(pl_state_t *st, uint32_t id, double slo)
{
    pl_ep_t *e = pl_ep(st, id);
    e->count++;
    if (!(slo >= 0)) return;   /* Add rejects a negative SLO: counted, no SLO */
    for (uint32_t i = 0; i < e->nslo; i++)
        if (e->slo[i] == slo) { e->slo_n[i]++; return; }
    if (e->nslo < PL_SLO_MAX) { e->slo[e->nslo] = slo; e->slo_n[e->nslo++] = 1; return; }
    /* more distinct SLOs than tracked: kept under the smallest, which keeps the minimum right */
    uint32_t k = 0;
    for (uint32_t i = 1; i < e->nslo; i++) if (e->slo[i] < e->slo[k]) k = i;
    if (slo < e->slo[k]) e->slo[k] = slo;
    e->slo_n[k]++;
}

static void pl_queue_remove(pl_state_t *st, uint32_t id, double slo)
{
    if (id >= st->cap_ep) return;
    pl_ep_t *e = &st->ep[id];
    if (e->count) e->count--;
    if (!(slo >= 0)) return;
    uint32_t k = UINT32_MAX;
    for (uint32_t i = 0; i < e->nslo; i++) if (e->slo[i] == slo && e->slo_n[i]) { k = i; break; }
    if (k == UINT32_MAX)   /* merged under a smaller one */
        for (uint32_t i = 0; i < e->nslo; i++) if (e->slo_n[i] && e->slo[i] <= slo) { k = i; break; }
    if (k != UINT32_MAX && e->slo_n[k]) e->slo_n[k]--;
    if (e->count == 0) e->nslo = 0;
}

/* es_hmap's key test: context val has id */
static bool ctx_has(const void *st, uint32_t i, uint64_t id) { return ((const pl_state_t *)st)->ctx[i].id == id; }

static pl_ctx_t *ctx_find(pl_state_t *st, uint64_t id)
{
    const es_hmap_slot_t *s = es_hmap_find(&st->ctx_ids, id, ctx_has, st);
    return s ? &st->ctx[s->val] : NULL;
}

/* The context of id, a zeroed new one when it has none. */
static pl_ctx_t *ctx_insert(pl_state_t *st, uint64_t id)
{
    pl_ctx_t *c = ctx_find(st, id);
    if (c) return c;
    if (st->nctx == st->capctx) {   /* grows while the in-flight count rises */
        st->capctx *= 2;
        st->ctx = es_xrealloc(st->ctx, st->capctx * sizeof *st->ctx);
    }
    ES_ASSERT(st->nctx < UINT32_MAX, "predicted latency: more than 2^32 requests in flight");
    c = &st->ctx[st->nctx];
    memset(c, 0, sizeof *c);
    c->id = id;
    es_hmap_put(&st->ctx_ids, id, (uint32_t)st->nctx++, ctx_has, st);
    return c;
}

/* Removes c; the last context moves into its place. */
static void ctx_delete(pl_state_t *st, pl_ctx_t *c)
{
    size_t i = (size_t)(c - st->ctx);
    es_hmap_remove(&st->ctx_ids, c->id, NULL, ctx_has, st);
    if (i != --st->nctx) {
        es_hmap_find(&st->ctx_ids, st->ctx[st->nctx].id, ctx_has, st)->val = (uint32_t)i;
        st->ctx[i] = st->ctx[st->nctx];
    }
}

/* a header value by lower-case name (metadata.GetLowerCaseHeaderValue) */
static const char *header(const es_sched_request_t *r, const char *name)
{
    for (uint32_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

/* SLO headers (v0.10.0 pkg/epp/metadata/consts.go): the current name, else
 * its deprecated alias (GetLowerCaseHeaderValue's headerAliases). */
#define SLO_TTFT "x-llm-d-slo-ttft-ms", "x-slo-ttft-ms"
#define SLO_TPOT "x-llm-d-slo-tpot-ms", "x-slo-tpot-ms"

/* parseFloatHeader: absent or not a float -> 0 (strconv.ParseFloat also
 * takes "inf" and "nan", as strtod does) */
static double header_float(const es_sched_request_t *r, const char *name, const char *alias)
{
    const char *v = header(r, name);
    if (!v) v = header(r, alias);
    if (!v || !*v) return 0;
    char *end;
    double d = strtod(v, &end);
    return *end ? 0 : d;
}

static uint8_t pod_type(const pl_params_t *p, const es_endpoint_t *e)
{
    if (!p->role_label[0]) return ESI_LM_POD_NONE;
    const char *v = es_endpoint_label(e, p->role_label);
    if (!v || !*v) return ESI_LM_POD_NONE;
    if (strcmp(v, "prefill") == 0) return ESI_LM_POD_PREFILL;
    if (strcmp(v, "decode") == 0) return ESI_LM_POD_DECODE;
    return 3;   /* outside the model's categories: no one-hot column set */
}

static int32_t input_tokens(const es_sched_request_t *r)
{
    if (r->content.tokens > 0) return (int32_t)r->content.tokens;
    if (r->prompt_text) return (int32_t)(strlen(r->prompt_text) / 4);
    return 0;
}

static esi_lm_sample_t features(const pl_state_t *st, const esi_cycle_t *cy, uint32_t i)
{
    const es_endpoint_t *e = &cy->eps[i];
    double kv = esi_metric_kv(e);
    return (esi_lm_sample_t){
        .kv = (float)(kv < 0 ? 0 : kv > 1 ? 1 : kv), .prefix = st->prefix[i], .input = input_tokens(cy->req),
        .waiting = e->metrics.waiting, .running = (int32_t)cy->inflight_req[i],
        .prefill_tif = (int32_t)(cy->inflight_tok[i] < INT32_MAX ? cy->inflight_tok[i] : INT32_MAX),
        .generated = 1, .pod = pod_type(&st->p, e)};
}

void esi_latency_validate(bool streaming, double slo_buffer, double ttft_slo, double tpot_slo, double pod_min_tpot_slo,
                          bool prefill, double ttft, double tpot, esi_latency_info_t *o)
{
    o->ttft = ttft;
    o->tpot = tpot;
    o->ttft_valid = ttft < ttft_slo;
    o->ttft_headroom = ttft_slo - ttft;
    o->tpot_valid = true;
    o->tpot_headroom = 0;
    if (streaming) {
        double buffered = tpot_slo * slo_buffer;
        if (pod_min_tpot_slo > 0 && pod_min_tpot_slo * slo_buffer < buffered) buffered = pod_min_tpot_slo * slo_buffer;
        o->tpot_valid = tpot < buffered;
        o->tpot_headroom = buffered - tpot;
    }
    /* neutralised when not streaming (TPOT is not trained) and on prefill pods */
    if (!streaming || prefill) { o->tpot_valid = true; o->tpot_headroom = 0; }
}

/* Produce: SLO headers, prefix scores, in-flight snapshot, bulk predictions
 * and validatePrediction / TPOT neutralisation (prediction.go). */
static void pl_prepare(void *state, esi_cycle_t *cy)
{
    pl_state_t *st = state;
    esi_lm_advance(&st->lm, cy->now);
    pl_grow_n(st, cy->n);
    st->ttft_slo = header_float(cy->req, SLO_TTFT);
    st->tpot_slo = header_float(cy->req, SLO_TPOT);
    for (size_t i = 0; i < cy->n; i++)
        st->prefix[i] = cy->have_prefix && cy->total_blocks ? (float)cy->match[i] / (float)cy->total_blocks : 0.0f;
    st->have_info = st->p.predict_in_produce && cy->n > 0;
    cy->latency = NULL;
    if (!st->have_info) return;
    const pl_params_t *p = &st->p;
    for (size_t i = 0; i < cy->n; i++) {
        esi_lm_sample_t x = features(st, cy, (uint32_t)i);
        esi_latency_info_t *o = &st->info[i];
        double ttft, tpot;
        esi_lm_predict(&st->lm, &x, &ttft, &tpot);
        uint32_t id = cy->eps[i].id;
        esi_latency_validate(p->streaming, p->slo_buffer, st->ttft_slo, st->tpot_slo, pl_min_tpot_slo(st, id),
                             x.pod == ESI_LM_POD_PREFILL, ttft, tpot, o);
        o->dispatched = id < st->cap_ep ? st->ep[id].count : 0;
    }
    cy->latency = st->info;
}

/* PreRequest: the running-request queue, the request's context with its
 * dispatch-time features (requestcontrol_hooks.go, training.go) */
static void pl_pre_request(void *state, esi_cycle_t *cy)
{
    pl_state_t *st = state;
    if (cy->record_only) return;
    uint32_t d = esi_cycle_primary(cy), f = esi_cycle_prefill(cy);
    if (d == UINT32_MAX) return;
    pl_ctx_t *c = ctx_insert(st, cy->req->id);
    if (c->queued) pl_queue_remove(st, c->target, c->tpot_slo);   /* picked again */
    c->target = cy->eps[d].id;
    c->received = cy->now;
    c->touched = cy->now;
    c->tpot_slo = st->tpot_slo;
    c->have_ttft = false;
    /* P/D: the prefill pod's completion is reported as a first chunk too; the
     * client's first chunk is the decode pod's */
    c->chunks = f != UINT32_MAX ? 2 : 1;
    pl_queue_add(st, c->target, c->tpot_slo);
    c->queued = true;
    uint32_t t = f != UINT32_MAX ? f : d;   /* TTFT is incurred on the prefill pod */
    c->f_ttft = features(st, cy, t);
    c->f_ttft.generated = 0;
    c->f_tpot = features(st, cy, d);
    c->f_tpot.generated = 0;
    c->f_tpot.prefix = 0;
    c->have_pred = st->have_info;
    if (st->have_info) {
        c->pred_ttft = st->info[t].ttft;
        c->pred_tpot = st->info[d].tpot;
    }
}

static double whole_ms(es_time_t d) { return d > 0 ? (double)(d / ES_MS) : 0; }

static void record_ttft(pl_state_t *st, pl_ctx_t *c, es_time_t now)
{
    c->ttft_ms = whole_ms(now - c->received);
    c->have_ttft = true;
    esi_lm_sample_t s = c->f_ttft;
    s.target = (float)c->ttft_ms;
    esi_lm_add(&st->lm, &s, true, c->id * 2);
    if (c->have_pred && c->ttft_ms > 0) {
        st->stats.ttft_n++;
        st->stats.ttft_ape_sum += fabs(c->pred_ttft - c->ttft_ms) / c->ttft_ms;
    }
}

static void pl_response(void *state, const esi_response_t *r)
{
    pl_state_t *st = state;
    pl_ctx_t *c = ctx_find(st, r->req_id);
    if (!c) return;
    /* expired from the TTL cache; a stream's chunks (not seen here) touch it
     * after its first one, so a streaming end is never late */
    bool streamed = st->p.streaming && c->have_ttft && r->kind != ESI_RESP_FIRST_CHUNK;
    if (st->p.context_ttl > 0 && !streamed && r->now - c->touched > st->p.context_ttl) {
        if (c->queued) pl_queue_remove(st, c->target, c->tpot_slo);
        ctx_delete(st, c);
        return;
    }
    c->touched = r->now;
    esi_lm_advance(&st->lm, r->now);
    if (r->kind == ESI_RESP_FIRST_CHUNK) {
        if (c->chunks && --c->chunks == 0 && st->p.streaming && !c->have_ttft) record_ttft(st, c, r->now);
        return;
    }
    if (r->kind == ESI_RESP_COMPLETE && r->output_tokens > 0) {   /* a stream that produced tokens */
        if (!st->p.streaming) record_ttft(st, c, r->now);
        else if (c->have_ttft && r->output_tokens > 1) {
            double tpot = (whole_ms(r->now - c->received) - c->ttft_ms) / (double)(r->output_tokens - 1);
            if (tpot > 0) {
                esi_lm_sample_t s = c->f_tpot;
                for (size_t i = 0; r->eps && i < r->n; i++)   /* lastSeenMetrics: the target's latest scrape */
                    if (r->eps[i].id == c->target) {
                        double kv = esi_metric_kv(&r->eps[i]);
                        s.kv = (float)(kv < 0 ? 0 : kv > 1 ? 1 : kv);
                        s.waiting = r->eps[i].metrics.waiting;
                        break;
                    }
                s.target = (float)tpot;
                esi_lm_add(&st->lm, &s, false, c->id * 2 + 1);
                if (c->have_pred) {
                    st->stats.tpot_n++;
                    st->stats.tpot_ape_sum += fabs(c->pred_tpot - tpot) / tpot;
                }
            }
        }
    }
    if (c->queued) pl_queue_remove(st, c->target, c->tpot_slo);
    ctx_delete(st, c);
}

static void pl_removed(void *state, uint32_t id)
{
    pl_state_t *st = state;
    if (id < st->cap_ep) memset(&st->ep[id], 0, sizeof st->ep[id]);
}

es_sched_predictor_config_t es_sched_predictor_config_default(void)
{
    esi_lm_config_t d = esi_lm_default_config();
    return (es_sched_predictor_config_t){
        .retraining_interval_s = (double)d.retrain_interval / ES_S, .model_sync_interval_s = (double)d.sync_interval / ES_S,
        .min_samples_for_retrain = d.min_samples, .max_samples_per_bucket = d.bucket_size, .quantile = d.quantile,
        .quantile_alpha = d.quantile_alpha};
}

/* a fresh predictor with the sidecar's settings (a value <= 0: the default) */
static void pl_config(void *state, const es_sched_predictor_config_t *pc)
{
    pl_state_t *st = state;
    esi_lm_config_t c = esi_lm_default_config();
    if (pc->retraining_interval_s > 0) c.retrain_interval = (es_time_t)(pc->retraining_interval_s * ES_S);
    if (pc->model_sync_interval_s > 0) c.sync_interval = (es_time_t)(pc->model_sync_interval_s * ES_S);
    if (pc->min_samples_for_retrain > 0) c.min_samples = pc->min_samples_for_retrain;
    if (pc->max_samples_per_bucket > 0) c.bucket_size = pc->max_samples_per_bucket;
    c.quantile = pc->quantile;
    if (pc->quantile_alpha > 0 && pc->quantile_alpha < 1) c.quantile_alpha = pc->quantile_alpha;
    esi_lm_fini(&st->lm);
    esi_lm_init(&st->lm, &c);
}

static void pl_stats(const void *state, es_sched_predictor_stats_t *out)
{
    const pl_state_t *st = state;
    out->present = true;
    out->ttft_n += st->stats.ttft_n;
    out->tpot_n += st->stats.tpot_n;
    out->ttft_ape_sum += st->stats.ttft_ape_sum;
    out->tpot_ape_sum += st->stats.tpot_ape_sum;
    out->retrains += st->lm.retrains;
    out->samples_ttft += st->lm.samples_ttft;
    out->samples_tpot += st->lm.samples_tpot;
}

/* latencyPredictionInfoProducerName, on the consumers: must name the producer */
static int lat_ref_link(const char *ref, const es_epp_config_t *c, const es_node_t *at, es_err_t *err)
{
    if (!ref[0]) return 0;
    for (size_t i = 0; i < c->nplugins; i++)
        if (strcmp(c->plugins[i].name, ref) == 0 && (c->plugins[i].vt->produces & ESI_DATA_LATENCY)) return 0;
    return es_node_err(err, ES_ENOTFOUND, at, "parameters.latencyPredictionInfoProducerName",
                       "no latency prediction producer named \"%s\"", ref);
}

/* ---- latency-scorer (scorer/latency/plugin.go) ---- */

typedef struct ls_params {
    double ttft_w, tpot_w;
    char   strategy[ESI_STR_MAX];
    double kv_w, queue_w, prefix_w;
    char   lat_producer[ESI_STR_MAX];
    char   prefix_producer[ESI_STR_MAX];
} ls_params_t;

static const esi_param_t k_ls_params[] = {
    {"ttftWeight", ESI_P_DOUBLE, P(ls_params_t, ttft_w), "0.8", ANYD, NULL},
    {"tpotWeight", ESI_P_DOUBLE, P(ls_params_t, tpot_w), "0.2", ANYD, NULL},
    {"headroomSelectionStrategy", ESI_P_STR, P(ls_params_t, strategy), "least", 0, 0, NULL},
    {"compositeKVWeight", ESI_P_DOUBLE, P(ls_params_t, kv_w), "1", ANYD, NULL},
    {"compositeQueueWeight", ESI_P_DOUBLE, P(ls_params_t, queue_w), "1", ANYD, NULL},
    {"compositePrefixWeight", ESI_P_DOUBLE, P(ls_params_t, prefix_w), "1", ANYD, NULL},
    {"latencyPredictionInfoProducerName", ESI_P_STR, P(ls_params_t, lat_producer), "", 0, 0, NULL},
    {"prefixMatchInfoProducerName", ESI_P_STR, P(ls_params_t, prefix_producer), "", 0, 0, NULL},
    END};

static const char *ls_producer_ref(const void *params) { return ((const ls_params_t *)params)->prefix_producer; }
static int ls_link(void *params, const es_epp_config_t *c, const es_node_t *at, es_err_t *err)
{
    return lat_ref_link(((const ls_params_t *)params)->lat_producer, c, at, err);
}

#define LS_WMAX 100
#define LS_EPS 1e-9

/* scoreBucket: normalised |headroom| blended, mapped to (w + 1) / 100.  The
 * members of the bucket are the candidates whose out[i] is -which (the
 * caller tags them there, so scoring needs no scratch memory). */
static void ls_bucket(const ls_params_t *p, const esi_latency_info_t *li, const uint32_t *idx, double *out,
                      int which, size_t m, bool force_least)
{
    const double tag = -(double)which;
    double a = p->ttft_w, b = p->tpot_w, sum = a + b;
    if (sum <= 0) { a = 1; b = 0; } else { a /= sum; b /= sum; }
    double min_t = INFINITY, max_t = -INFINITY, min_p = INFINITY, max_p = -INFINITY;
    for (size_t i = 0; i < m; i++) {
        if (out[i] != tag) continue;
        double h = fabs(li[idx[i]].ttft_headroom), g = fabs(li[idx[i]].tpot_headroom);
        if (h < min_t) min_t = h;
        if (h > max_t) max_t = h;
        if (g < min_p) min_p = g;
        if (g > max_p) max_p = g;
    }
    double rt = max_t - min_t, rp = max_p - min_p;
    if (rt <= LS_EPS && rp > LS_EPS) { a = 0; b = 1; }
    else if (rp <= LS_EPS && rt > LS_EPS) { a = 1; b = 0; }
    bool most = !force_least && strcmp(p->strategy, "most") == 0;
    for (size_t i = 0; i < m; i++) {
        if (out[i] != tag) continue;
        double nt = rt > LS_EPS ? (fabs(li[idx[i]].ttft_headroom) - min_t) / rt : 0.5;
        double np = rp > LS_EPS ? (fabs(li[idx[i]].tpot_headroom) - min_p) / rp : 0.5;
        double comb = a * nt + b * np;
        /* an SLO header "inf" or "nan" (strtod takes both) makes it NaN: kept
         * in [0, 1] so the bucket index is never a cast out of range */
        if (!(comb >= 0)) comb = 0;
        else if (comb > 1) comb = 1;
        double w = most ? (double)((int)(comb * LS_WMAX) + 1) : (double)((int)((1.0 - comb) * LS_WMAX) + 1);
        out[i] = w / LS_WMAX;
    }
}

static void ls_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    const ls_params_t *p = st;
    for (size_t i = 0; i < m; i++) out[i] = 0;
    if (!cy->latency) {   /* compositeScores */
        double wkv = p->kv_w, wq = p->queue_w, wp = p->prefix_w, sw = wkv + wq + wp;
        if (sw <= 0) { wkv = 1; wq = 0; wp = 0; sw = 1; }
        wkv /= sw; wq /= sw; wp /= sw;
        int32_t maxq = 0;
        for (size_t i = 0; i < m; i++) if (cy->eps[idx[i]].metrics.waiting > maxq) maxq = cy->eps[idx[i]].metrics.waiting;
        for (size_t i = 0; i < m; i++) {
            const es_endpoint_t *e = &cy->eps[idx[i]];
            double rel = maxq > 0 ? (double)(maxq - e->metrics.waiting) / maxq : 1.0;
            double pre = cy->have_prefix && cy->total_blocks ? (double)cy->match[idx[i]] / cy->total_blocks : 0;
            double comp = wkv * (1.0 - esi_metric_kv(e)) + wq * rel + wp * pre;
            out[i] = (double)(int)llround(LS_WMAX * comp) / LS_WMAX;
        }
        return;
    }
    const esi_latency_info_t *li = cy->latency;
    /* tags in out[]: -1 positive, -2 negative, then the scored bucket's tag;
     * whatever is still tagged at the end scores 0 */
    size_t npos = 0;
    for (size_t i = 0; i < m; i++) {
        const esi_latency_info_t *l = &li[idx[i]];
        out[i] = (l->ttft_headroom < 0 || l->tpot_headroom < 0) ? -2 : -1;
        npos += out[i] == -1;
    }
    if (npos > 0) ls_bucket(p, li, idx, out, 1, m, false);
    else {
        size_t nidle = 0;
        for (size_t i = 0; i < m; i++) if (li[idx[i]].dispatched == 0) { out[i] = -3; nidle++; }
        if (nidle > 0) ls_bucket(p, li, idx, out, 3, m, true);
        else {
            /* deficit buckets: TPOT only (-4), TTFT only (-5), both (-6) */
            size_t cnt[7] = {0};
            for (size_t i = 0; i < m; i++) {
                const esi_latency_info_t *l = &li[idx[i]];
                bool tn = l->ttft_headroom < 0, pn = l->tpot_headroom < 0;
                int b = tn && pn ? 6 : tn ? 5 : pn ? 4 : 6;
                out[i] = -(double)b;
                cnt[b]++;
            }
            for (int k = 4; k <= 6; k++)
                if (cnt[k]) { ls_bucket(p, li, idx, out, k, m, true); break; }
        }
    }
    for (size_t i = 0; i < m; i++) if (out[i] < 0) out[i] = 0;
}

/* ---- slo-headroom-tier-filter (filter/sloheadroomtier/plugin.go) ---- */

typedef struct tf_params {
    double epsilon;
    char   lat_producer[ESI_STR_MAX];
} tf_params_t;

static const esi_param_t k_tf_params[] = {
    {"epsilonExploreNeg", ESI_P_DOUBLE, P(tf_params_t, epsilon), "0.01", ANYD, NULL},
    {"latencyPredictionInfoProducerName", ESI_P_STR, P(tf_params_t, lat_producer), "", 0, 0, NULL},
    END};

static int tf_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    const tf_params_t *p = params;
    if (p->epsilon < 0 || p->epsilon > 1.0)
        return es_node_err(err, ES_ERANGE, at, path, "epsilonExploreNeg must be in [0, 1], got %f", p->epsilon);
    return 0;
}

static int tf_link(void *params, const es_epp_config_t *c, const es_node_t *at, es_err_t *err)
{
    return lat_ref_link(((const tf_params_t *)params)->lat_producer, c, at, err);
}

static size_t tf_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const tf_params_t *p = st;
    if (m <= 1 || !cy->latency) return m;   /* no predictions: keep all */
    size_t npos = 0;
    for (size_t i = 0; i < m; i++) {
        const esi_latency_info_t *l = &cy->latency[idx[i]];
        npos += l->ttft_headroom >= 0 && l->tpot_headroom >= 0;
    }
    if (npos == 0 || npos == m) return m;   /* one tier only */
    bool neg = es_rng_uniform(cy->rng) < p->epsilon;
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        const esi_latency_info_t *l = &cy->latency[idx[i]];
        bool pos = l->ttft_headroom >= 0 && l->tpot_headroom >= 0;
        if (pos != neg) idx[o++] = idx[i];
    }
    return o;
}

/* ---- latency-slo-admitter (admitter/latencyslo/plugin.go) ---- */

typedef struct la_params { char lat_producer[ESI_STR_MAX]; } la_params_t;

static const esi_param_t k_la_params[] = {
    {"latencyPredictionInfoProducerName", ESI_P_STR, P(la_params_t, lat_producer), "", 0, 0, NULL},
    END};

static int la_link(void *params, const es_epp_config_t *c, const es_node_t *at, es_err_t *err)
{
    return lat_ref_link(((const la_params_t *)params)->lat_producer, c, at, err);
}

static const char *la_admit(void *st, esi_cycle_t *cy)
{
    (void)st;
    if (cy->req->priority >= 0) return NULL;
    double ttft = header_float(cy->req, SLO_TTFT), tpot = header_float(cy->req, SLO_TPOT);
    if (!(ttft > 0 || tpot > 0)) return NULL;
    if (!cy->latency) return NULL;   /* no predictions: fail open */
    bool valid = false, cold = false, idle = false;
    for (size_t i = 0; i < cy->n; i++) {
        const es_endpoint_t *e = &cy->eps[i];
        if (esi_metric_kv(e) < 0.02) cold = true;
        if (e->metrics.running == 0) idle = true;
        if (cy->latency[i].ttft_valid && cy->latency[i].tpot_valid) valid = true;
    }
    if (!valid && !idle && !cold) return "request cannot be admitted: no valid endpoint available to serve the request";
    return NULL;
}

static const esi_plugin_vt_t k_plugins[] = {
    {VT("predicted-latency-producer", ESI_PRODUCER, k_pl_params, sizeof(pl_params_t), sizeof(pl_state_t)),
     .produces = ESI_DATA_LATENCY, .consumes = ESI_DATA_PREFIX_MATCH, .caps = ESI_CAP_DEFAULT_PRODUCER,
     .x_check = pl_check, .x_producer_ref = pl_producer_ref, .x_init = pl_init, .x_fini = pl_fini,
     .x_prepare = pl_prepare, .x_pre_request = pl_pre_request, .x_response = pl_response, .x_removed = pl_removed,
     .x_predictor_config = pl_config, .x_predictor_stats = pl_stats},
    {VT("latency-scorer", ESI_SCORER, k_ls_params, sizeof(ls_params_t), sizeof(ls_params_t)),
     .consumes = ESI_DATA_LATENCY | ESI_DATA_PREFIX_MATCH, .x_producer_ref = ls_producer_ref, .x_link = ls_link,
     .x_score = ls_score},
    {VT("slo-headroom-tier-filter", ESI_FILTER, k_tf_params, sizeof(tf_params_t), sizeof(tf_params_t)),
     .consumes = ESI_DATA_LATENCY, .x_check = tf_check, .x_link = tf_link, .x_filter = tf_filter},
    {VT("latency-slo-admitter", ESI_ADMITTER, k_la_params, sizeof(la_params_t), sizeof(la_params_t)),
     .consumes = ESI_DATA_LATENCY, .x_link = la_link, .x_admit = la_admit},
};

ESI_PLUGIN_FAMILY(esi_latency_plugins, k_plugins);
