/*
 * cluster.c -- the pods and what happens to them: readiness, the hop to a
 * pod and back, the P/D transfer, faults, scaling; creating and destroying
 * the whole request path (gateway.c, epp_service.c; cluster_internal.h).
 *
 * Each leg of a request is one event; the server adds one event per engine
 * step for the whole batch.  Scrapes are one timer per (EPP replica, pod).
 */
#include "cluster_internal.h"
#include "es_alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void pod_first_token(void *ud, es_server_request_t *sr, es_time_t t);
static void pod_finish(void *ud, es_server_request_t *sr, es_time_t t);
static void pod_gaps(void *ud, es_time_t t, es_time_t gap, uint32_t count, uint32_t measured);
static void ev_pod_arrive(es_sim_t *sim, void *target, uint64_t arg);
static uint32_t pod_kv_pull_lookup(void *ud, es_server_request_t *sr, uint32_t max_tokens);
static void pod_kv_pull_start(void *ud, es_server_request_t *sr, uint32_t from, uint32_t to);

/* ---------------------------------------------------------------- */
/* pods                                                              */

static void ev_pod_ready(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    pod_t *p = target;
    if (p->alive && p->wanted) p->ready = true;
    p->ep.ready = p->ready;
}

static int pod_start(es_cluster_t *c, uint32_t i, es_err_t *err)
{
    pod_t *p = &c->pods[i];
    if (!p->server) {
        es_server_hooks_t hooks = {p, pod_first_token, pod_finish, pod_gaps,
                                   c->want_kv_events ? esi_epp_on_kv_event : NULL,
                                   pod_kv_pull_lookup, pod_kv_pull_start};
        int rc = es_server_create_with_profile(c->sim, &c->scfg, c->profile, &hooks, i, &p->server, err);
        if (rc) return rc;
        /* a pod encodes the images of the requests that reach it unencoded inside its engine steps */
        es_server_set_encoder(p->server, c->prm.cluster->encode_us_per_token,
                              (uint32_t)c->prm.cluster->encoder_cache_images);
    }
    p->alive = true;
    p->wanted = true;
    p->ready = false;
    p->ep.ready = false;
    es_time_t delay = es_time_from_s(c->prm.cluster->readiness_delay_s);
    es_sim_schedule_in(c->sim, delay, ev_pod_ready, p, 0);
    if (i >= c->npods) c->npods = i + 1;
    return 0;
}

static void pod_down(es_cluster_t *c, pod_t *p)
{
    p->ready = false;
    p->ep.ready = false;
    esi_epp_pod_removed(c, p->id);
}

/* ---------------------------------------------------------------- */
/* request path at the pods                                          */

static void cancel_timers(es_cluster_t *c, es_client_request_t *r)
{
    if (r->p.timeout_ev) { es_sim_cancel(c->sim, r->p.timeout_ev); r->p.timeout_ev = 0; }
    if (r->p.extproc_ev) { es_sim_cancel(c->sim, r->p.extproc_ev); r->p.extproc_ev = 0; }
}

/* The response (or error) reaches the client at `at`. */
void esi_cluster_finish(es_cluster_t *c, es_client_request_t *r, int status, es_time_t at)
{
    if (r->p.phase == PH_DONE) return;
    cancel_timers(c, r);
    r->p.phase = PH_DONE;
    r->status = status;
    r->done = at;
    c->in_flight--;
    if (c->hooks.on_done) c->hooks.on_done(c->hooks.ud, r);
}

static es_client_request_t *req_of(es_server_request_t *sr)
{
    /* sr is either p.sreq or p.preq inside an es_client_request_t */
    es_client_request_t probe;
    size_t off_s = (size_t)((char *)&probe.p.sreq - (char *)&probe);
    size_t off_p = (size_t)((char *)&probe.p.preq - (char *)&probe);
    es_client_request_t *a = (es_client_request_t *)((char *)sr - off_s);
    if (sr->prefill_only) return (es_client_request_t *)((char *)sr - off_p);
    return a;
}

static void submit_server(pod_t *p, es_client_request_t *r, es_server_request_t *sr, bool prefill_only,
                          bool preloaded, bool pull)
{
    memset(sr, 0, sizeof *sr);
    sr->id = r->id;
    sr->prompt = r->prompt;
    sr->output_tokens = prefill_only ? 1 : (r->output_tokens ? r->output_tokens : 1);
    sr->priority = r->p.sched.priority;
    sr->lora = r->lora;
    sr->output_segment = r->output_segment;
    sr->prefill_only = prefill_only;
    sr->kv_preloaded = preloaded;
    sr->kv_pull = pull;
    if (r->nmm && r->p.nencode == 0 && !preloaded) {   /* no encode stage: the engine encodes them */
        sr->mm = r->mm;
        sr->nmm = r->nmm;
    }
    sr->measured = r->measured;
    sr->chat = r->path && strstr(r->path, "/chat/completions") != NULL;
    p->requests++;
    es_server_submit(p->server, sr);
}

/* Whether the pod's encoder keeps image h (a hit refreshes it); a miss
 * stores it, evicting the least recently used beyond encoder_cache_images. */
static bool encoder_cached(es_cluster_t *c, pod_t *p, uint64_t h)
{
    uint32_t cap = (uint32_t)c->prm.cluster->encoder_cache_images;
    if (cap == 0) return false;
    if (!p->enc_hash) {
        p->enc_hash = es_xcalloc(cap, sizeof *p->enc_hash);
        p->enc_used = es_xcalloc(cap, sizeof *p->enc_used);
    }
    uint32_t lru = 0;
    for (uint32_t i = 0; i < p->enc_n; i++) {
        if (p->enc_hash[i] == h) { p->enc_used[i] = ++p->enc_clock; return true; }
        if (p->enc_used[i] < p->enc_used[lru]) lru = i;
    }
    uint32_t at = p->enc_n < cap ? p->enc_n++ : lru;
    p->enc_hash[at] = h;
    p->enc_used[at] = ++p->enc_clock;
    return false;
}

/* Encode pod e runs image `it` arriving at `at` (a FIFO encoder): when its
 * output is ready there. */
static es_time_t encode_on(es_cluster_t *c, pod_t *p, const es_mm_item_t *it, es_time_t at)
{
    if (encoder_cached(c, p, it->hash)) return at;
    es_time_t start = at > p->enc_free ? at : p->enc_free;
    p->enc_free = start + (es_time_t)llround((double)it->tokens * c->prm.cluster->encode_us_per_token * 1e3);
    return p->enc_free;
}

/* Image i of r is a repeat of an earlier one (the sidecar sends one encode request per distinct image). */
static bool image_repeat(const es_client_request_t *r, uint32_t i)
{
    for (uint32_t j = 0; j < i; j++)
        if (r->mm[j].hash == r->mm[i].hash) return true;
    return false;
}

/* The encode pod of image i: the distinct images go round-robin over the picks. */
static pod_t *encode_pod_of(es_cluster_t *c, const es_client_request_t *r, uint32_t i)
{
    uint32_t k = 0;
    for (uint32_t j = 0; j < i; j++) k += !image_repeat(r, j);
    return &c->pods[r->p.encode_pods[k % r->p.nencode]];
}

static void encoded_arrived(void *ud, uint64_t arg, uint64_t id)
{
    (void)id;
    es_client_request_t *r = ud;
    if (r->p.gen != ESI_ARG_GEN(arg) || r->p.phase == PH_DONE) return;
    if (--r->p.enc_left > 0) return;
    es_cluster_t *c = r->p.c;
    r->encode_wait = es_sim_now(c->sim) - r->p.enc_from;
    ev_pod_arrive(c->sim, r, ESI_ARG(r->p.gen, 0));   /* the last output is in: the prompt goes on */
}

/* Image ESI_ARG_LOW(arg) of r is encoded: its output moves to the first pod over the KV link. */
static void ev_encoded(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim;
    es_client_request_t *r = target;
    if (r->p.gen != ESI_ARG_GEN(arg) || r->p.phase == PH_DONE) return;
    es_cluster_t *c = r->p.c;
    uint32_t i = (uint32_t)ESI_ARG_LOW(arg);
    const pod_t *e = encode_pod_of(c, r, i);
    uint32_t first = (uint32_t)(r->p.prefill_pod >= 0 ? r->p.prefill_pod : r->pod);
    if (e->id == first) { encoded_arrived(r, ESI_ARG(r->p.gen, 0), 0); return; }
    double bytes = (double)r->mm[i].tokens * (double)c->prm.cluster->encode_bytes_per_token;
    es_kvlink_send(c->link, e->id, first, bytes, encoded_arrived, r, ESI_ARG(r->p.gen, 0));
}

/* The encode stage (docs/e2e.md, "Encode stages"): with encode pods
 * (x-encoder-hosts-ports) the sidecar sends one encode request per distinct
 * image, round-robin over them, in parallel (v0.10.0
 * pkg/sidecar/proxy/connector_ec_common.go, fanoutEncoder); each output
 * then moves to the first pod over the shared KV link, and the prompt goes
 * on when the last is in.  Returns false when there is none (no images, or
 * no encode pods: the first pod's engine encodes them in its steps). */
static bool encode_stage(es_cluster_t *c, es_client_request_t *r, es_time_t arrive)
{
    if (r->nmm == 0 || r->p.nencode == 0) return false;
    r->p.enc_left = 0;
    r->p.enc_from = arrive;
    for (uint32_t i = 0; i < r->nmm; i++) {
        if (image_repeat(r, i)) continue;
        es_time_t done = encode_on(c, encode_pod_of(c, r, i), &r->mm[i], arrive);
        r->p.enc_left++;
        es_sim_schedule(c->sim, done, ev_encoded, r, ESI_ARG(r->p.gen, i));
    }
    return true;
}

void esi_cluster_forward(es_cluster_t *c, es_client_request_t *r, int32_t pod, int32_t prefill_pod)
{
    r->pod = pod;
    r->p.prefill_pod = prefill_pod;
    r->p.phase = PH_TO_POD;
    r->encode_wait = 0;
    if (encode_stage(c, r, es_sim_now(c->sim) + c->hop)) return;
    es_sim_schedule_in(c->sim, c->hop, ev_pod_arrive, r, ESI_ARG(r->p.gen, 0));
}

void esi_cluster_abort_at_pod(es_cluster_t *c, es_client_request_t *r, uint8_t phase)
{
    if (phase == PH_AT_POD) es_server_abort(c->pods[r->pod].server, &r->p.sreq);
    else if (phase == PH_PREFILL) es_server_abort(c->pods[r->p.prefill_pod].server, &r->p.preq);
}

/* The P2P pull p2p-source-producer asks for (x-kv-cache-source-host-port;
 * llm-d-router v0.10.0 pkg/sidecar/proxy/connector_p2p.go injects it as
 * kv_transfer_params.remote_kv_source): the computing pod's
 * OffloadingConnector asks the source's P2P tier, which serves its CPU
 * tier (v0.10.0 .../dataproducer/p2psource/README.md: "pulls are served
 * from the source's CPU tier"; docs/disaggregation.md, `offloading`), when
 * its scheduler first meets the request. */
static uint32_t pod_kv_pull_lookup(void *ud, es_server_request_t *sr, uint32_t max_tokens)
{
    pod_t *p = ud;
    es_cluster_t *c = p->c;
    es_client_request_t *r = req_of(sr);
    if ((uint32_t)r->p.kv_source >= c->npods) return 0;
    const pod_t *src = &c->pods[r->p.kv_source];
    if (src == p || !src->alive || !src->server) return 0;
    return es_server_offloaded_prefix(src->server, &r->prompt, r->lora, max_tokens);
}

static void pull_done(void *ud, uint64_t arg, uint64_t id)
{
    es_client_request_t *r = ud;
    if (r->p.gen != ESI_ARG_GEN(arg) || r->p.pull_id != id || r->p.phase == PH_DONE) return;
    r->p.pull_id = 0;
    es_cluster_t *c = r->p.c;
    pod_t *p = &c->pods[r->p.prefill_pod >= 0 ? r->p.prefill_pod : r->pod];
    const pod_t *src = &c->pods[r->p.kv_source];
    /* a source that crashed meanwhile sent nothing usable: computed here instead */
    bool ok = src->alive && src->life == r->p.pull_src_life;
    es_server_kv_pull_done(p->server, r->p.prefill_pod >= 0 ? &r->p.preq : &r->p.sreq, ok);
}

/* The decode pod parked the request with the prompt's blocks allocated:
 * its connector reads the prompt's KV from the prefill pod (vLLM's
 * NixlConnector, do_remote_prefill: the prompt beyond the decode pod's own
 * hits; the last token is computed again); a prefill pod that crashed meanwhile sent nothing
 * usable, and the decode pod computes the prompt (recompute policy). */
static void pd_pull_done(void *ud, uint64_t arg, uint64_t id)
{
    es_client_request_t *r = ud;
    if (r->p.gen != ESI_ARG_GEN(arg) || r->p.pull_id != id || r->p.phase == PH_DONE) return;
    r->p.pull_id = 0;
    es_cluster_t *c = r->p.c;
    const pod_t *src = &c->pods[r->p.prefill_pod];
    es_server_kv_pull_done(c->pods[r->pod].server, &r->p.sreq, src->alive && src->life == r->p.pull_src_life);
}

/* The pod parked the request with the blocks allocated: the tokens move
 * from the source over the shared KV link. */
static void pod_kv_pull_start(void *ud, es_server_request_t *sr, uint32_t from, uint32_t to)
{
    pod_t *p = ud;
    es_cluster_t *c = p->c;
    es_client_request_t *r = req_of(sr);
    if (sr->kv_preloaded) {
        const pod_t *pre = &c->pods[r->p.prefill_pod];
        r->p.pull_src_life = pre->life;
        r->p.pull_id = es_kvlink_send(c->link, pre->id, p->id, c->kv_bytes_per_token * (double)(r->prompt.tokens - from),
                                      pd_pull_done, r, ESI_ARG(r->p.gen, 0));
        return;
    }
    const pod_t *src = &c->pods[r->p.kv_source];
    r->p.pull_src_life = src->life;
    r->p.pull_id = es_kvlink_send(c->link, src->id, p->id, c->kv_bytes_per_token * (double)(to - from), pull_done,
                                  r, ESI_ARG(r->p.gen, 0));
}

static void ev_pod_arrive(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim;
    es_client_request_t *r = target;
    if (r->p.gen != ESI_ARG_GEN(arg)) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    if (r->p.phase == PH_DONE) return;
    int32_t first = r->p.prefill_pod >= 0 ? r->p.prefill_pod : r->pod;
    pod_t *p = &c->pods[first];
    if (!p->alive) {   /* connection refused: the pod died on the way */
        esi_epp_end(c, r, es_sim_now(c->sim));
        esi_gateway_reply(c, r, 503);
        return;
    }
    bool pull = r->p.kv_source >= 0 && r->p.kv_source != first;
    r->p.pull_id = 0;
    if (r->p.prefill_pod >= 0) {
        r->p.phase = PH_PREFILL;
        submit_server(p, r, &r->p.preq, true, false, pull);
    } else {
        r->p.phase = PH_AT_POD;
        submit_server(p, r, &r->p.sreq, false, false, pull);
    }
}

static void pod_first_token(void *ud, es_server_request_t *sr, es_time_t t)
{
    pod_t *p = ud;
    es_cluster_t *c = p->c;
    if (sr->prefill_only) return;    /* the client's first token comes from the decode pod */
    es_client_request_t *r = req_of(sr);
    if (r->p.phase == PH_DONE) return;
    r->first_token = t + c->hop;
    esi_epp_first_chunk(c, r, t);
}

static void pod_finish(void *ud, es_server_request_t *sr, es_time_t t)
{
    pod_t *p = ud;
    es_cluster_t *c = p->c;
    es_client_request_t *r = req_of(sr);
    if (r->p.phase == PH_DONE) return;   /* e.g. the client timed out and aborted */
    if (sr->prefill_only) {
        if (sr->status == ES_SERVER_OK) {
            /* prefill done: the decode pod takes the request and, when its
             * scheduler admits it, reads the prompt's KV (pd_pull_done) */
            r->cached_tokens = sr->cached_tokens;
            esi_epp_first_chunk(c, r, t);
            pod_t *d = &c->pods[r->pod];
            if (!d->alive) {
                esi_epp_end(c, r, es_sim_now(c->sim));
                esi_gateway_reply(c, r, 503);
                return;
            }
            r->p.phase = PH_AT_POD;
            r->p.pull_id = 0;
            submit_server(d, r, &r->p.sreq, false, true, true);
            return;
        }
    } else {
        r->queue_wait = sr->admitted >= 0 ? sr->admitted - sr->submitted : -1;
        if (r->p.prefill_pod < 0) r->cached_tokens = sr->cached_tokens;
        r->output_received = sr->status == ES_SERVER_OK ? sr->output_tokens : 0;
    }
    r->preemptions += sr->preemptions;
    esi_epp_stream_ended(c, r, t);
    if (sr->status == ES_SERVER_UNAVAILABLE && r->retries < (uint32_t)c->prm.cluster->retries_on_crash) {
        r->retries++;
        esi_gateway_resend(c, r);
        return;
    }
    int status = sr->status == ES_SERVER_OK ? 200 : sr->status;
    esi_cluster_finish(c, r, status, t + c->hop);
}

static void pod_gaps(void *ud, es_time_t t, es_time_t gap, uint32_t count, uint32_t measured)
{
    pod_t *p = ud;
    if (p->c->hooks.on_gaps) p->c->hooks.on_gaps(p->c->hooks.ud, t, gap, count, measured);
}

/* ---------------------------------------------------------------- */
/* faults and scaling                                                */

typedef struct fault {
    es_cluster_t *c;
    int kind;
    uint32_t pod;
} fault_t;

static void ev_fault(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    fault_t *f = target;
    es_cluster_t *c = f->c;
    if (f->pod >= c->npods) return;
    pod_t *p = &c->pods[f->pod];
    if (!p->server) return;
    pod_down(c, p);
    p->alive = false;
    p->life++;
    es_server_crash(p->server, ES_SERVER_UNAVAILABLE);
    if (f->kind == ES_FAULT_POD_RESTART) {
        /* the container restarts with a cold cache and passes readiness again */
        p->alive = true;
        es_sim_schedule_in(c->sim, es_time_from_s(c->prm.cluster->readiness_delay_s), ev_pod_ready, p, 0);
    }
}

typedef struct scale_ev {
    es_cluster_t *c;
    uint32_t replicas;
} scale_ev_t;

static void ev_scale(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    scale_ev_t *s = target;
    es_cluster_t *c = s->c;
    es_err_t err = {0};
    for (uint32_t i = 0; i < c->maxpods; i++) {
        pod_t *p = &c->pods[i];
        if (i < s->replicas) {
            if (!p->wanted) {
                if (p->server && p->alive) {
                    p->wanted = true;
                    es_sim_schedule_in(c->sim, es_time_from_s(c->prm.cluster->readiness_delay_s), ev_pod_ready, p, 0);
                } else {
                    /* the configuration already started the first pods: only memory can fail here */
                    int rc = pod_start(c, i, &err);
                    ES_ASSERT(rc == 0, err.msg);
                    esi_epp_pod_added(c, i);
                }
            }
        } else if (p->wanted) {
            /* scale down: no new requests; in-flight ones finish */
            p->wanted = false;
            pod_down(c, p);
        }
    }
}

/* Schedules the fault and scaling events; scrape failures become windows of their pod. */
static void schedule_faults(es_cluster_t *c)
{
    const es_cluster_config_t *cc = c->prm.cluster;
    for (size_t i = 0; i < cc->nfaults; i++) {
        const es_fault_t *f = &cc->fault_list[i];
        if (f->kind == ES_FAULT_SCRAPE_FAILURE) {
            pod_t *p = &c->pods[f->pod];
            window_t *w = es_xrealloc(p->scrape_fail, (p->nscrape_fail + 1) * sizeof *w);
            p->scrape_fail = w;
            w[p->nscrape_fail++] = (window_t){es_time_from_s(f->at_s),
                                              f->duration_s > 0 ? es_time_from_s(f->at_s + f->duration_s) : ES_TIME_NEVER};
            continue;
        }
        fault_t *ft = es_xmalloc(sizeof *ft);
        void **o = es_xrealloc(c->owned, (c->nowned + 1) * sizeof *o);
        c->owned = o;
        o[c->nowned++] = ft;
        *ft = (fault_t){c, (int)f->kind, f->pod};
        es_sim_schedule(c->sim, es_time_from_s(f->at_s), ev_fault, ft, 0);
    }
    for (size_t i = 0; i < cc->nscale_steps; i++) {
        scale_ev_t *s = es_xmalloc(sizeof *s);
        void **o = es_xrealloc(c->owned, (c->nowned + 1) * sizeof *o);
        c->owned = o;
        o[c->nowned++] = s;
        *s = (scale_ev_t){c, cc->scale_steps[i].replicas};
        es_sim_schedule(c->sim, es_time_from_s(cc->scale_steps[i].at_s), ev_scale, s, 0);
    }
}

/* ---------------------------------------------------------------- */
/* lifecycle                                                         */

int es_cluster_create(es_sim_t *sim, const es_cluster_params_t *prm, const es_cluster_hooks_t *hooks,
                      es_cluster_t **out, es_err_t *err)
{
    es_cluster_t *c = calloc(1, sizeof *c);
    if (!c) return es_err_set(err, ES_ENOMEM, "out of memory");
    c->sim = sim;
    c->prm = *prm;
    c->scfg = *prm->server;
    c->hooks = *hooks;
    c->hop = es_time_from_us(prm->gateway->hop_latency_us);
    c->extproc_timeout = es_time_from_ms(prm->gateway->ext_proc_timeout_ms);
    c->client_timeout = es_time_from_s(prm->gateway->client_timeout_s);
    /* aiohttp's TimeoutHandle.start: ceil(loop.time() + timeout) when timeout >= ceil_threshold (5 s) */
    c->timeout_whole_s = prm->gateway->client_timeout_clock == ES_TIMEOUT_CLOCK_AIOHTTP &&
                         prm->gateway->client_timeout_s >= 5;
    c->sched_latency = es_time_from_us(prm->epp->scheduling_latency_us);
    c->scrape_every = es_time_from_ms(prm->epp->refresh_interval_ms);
    c->scrape_latency = es_time_from_ms(prm->epp->scrape_latency_ms);
    c->scrape_latency_fails = prm->epp->scrape_latency_ms > prm->epp->scrape_timeout_ms;
    c->kv_delay = es_time_from_ms(prm->cluster->kv_events_delay_ms);
    c->want_kv_events = es_scheduler_wants_kv_events(prm->picker);
    c->want_gpu_util = es_scheduler_wants_gpu_util(prm->picker);
    es_rng_stream(&c->gw_rng, es_sim_master_seed(sim), ES_ENTITY_GATEWAY, 0, ES_STREAM_GATEWAY);
    es_rng_stream(&c->cancel_rng, es_sim_master_seed(sim), ES_ENTITY_GATEWAY, 1, ES_STREAM_GATEWAY);
    int rc;
    if ((rc = es_profile_open(prm->server->gpu, prm->server->model, prm->server->gpu_datasheet,
                              prm->server->step_coefficients, &c->profile, err)))
        goto fail;
    const es_profile_model_t *pm = es_profile_model(c->profile, prm->server->model);
    /* K and V, every layer: what a P/D transfer moves per prompt token */
    c->kv_bytes_per_token = pm ? es_model_kv_bytes_per_token(&pm->shape, 1) : 0;

    c->maxpods = prm->cluster->max_pods;   /* es_e2e_config_parse: max(replicas, scaling steps) */
    if (c->maxpods < (uint32_t)prm->cluster->replicas) c->maxpods = (uint32_t)prm->cluster->replicas;
    c->pods = calloc(c->maxpods, sizeof *c->pods);
    if (!c->pods) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
    uint32_t nprefill = (uint32_t)prm->cluster->prefill_replicas, nencode = (uint32_t)prm->cluster->encode_replicas;
    if (nprefill + nencode >= (uint32_t)prm->cluster->replicas && nprefill + nencode > 0) {
        rc = nencode ? es_err_set(err, ES_EINVAL, "cluster.encode_replicas: %u encode and %u prefill pods leave no "
                                  "decode pod out of %lld replicas", nencode, nprefill, (long long)prm->cluster->replicas)
                     : es_err_set(err, ES_EINVAL, "cluster.prefill_replicas: %u leaves no decode pod out of %lld replicas",
                                  nprefill, (long long)prm->cluster->replicas);
        goto fail;
    }
    ES_ASSERT(prm->pool_name && *prm->pool_name, "the caller names the pool (es_cluster_params_t)");
    const char *pool = prm->pool_name;
    for (uint32_t i = 0; i < c->maxpods; i++) {
        pod_t *p = &c->pods[i];
        p->c = c;
        p->id = i;
        snprintf(p->name, sizeof p->name, "%s-%u", pool, i);
        snprintf(p->address, sizeof p->address, "10.0.%u.%u:8000", i / 250, i % 250 + 1);
        p->ep.id = i;
        p->ep.name = p->name;
        p->ep.address = p->address;
        uint32_t nl = 0;
        if (nprefill + nencode > 0)   /* encode pods first, then prefill, then decode */
            p->labels[nl++] = (es_label_t){"llm-d.ai/role", i < nencode ? "encode" : i < nencode + nprefill ? "prefill"
                                                                                                          : "decode"};
        if (prm->cluster->nlabel_sets) {
            const es_pod_labels_t *set = &prm->cluster->label_sets[i % prm->cluster->nlabel_sets];
            for (uint32_t k = 0; k < set->n; k++) p->labels[nl++] = set->labels[k];
        }
        if (nl) { p->ep.labels = p->labels; p->ep.nlabels = nl; }
        if (prm->cluster->nhostnames) {
            const char *h = prm->cluster->hostnames[i % prm->cluster->nhostnames];
            p->ep.hostname = *h ? h : NULL;
        }
        p->ep.metrics.update_time = -1;
    }
    for (uint32_t i = 0; i < (uint32_t)prm->cluster->replicas; i++)
        if ((rc = pod_start(c, i, err))) goto fail;

    if ((rc = es_kvlink_create(sim, c->maxpods, prm->cluster->kv_transfer_gbps,
                               es_time_from_us(prm->cluster->kv_transfer_latency_us), &c->link, err)))
        goto fail;
    if ((rc = esi_epp_service_create(c, err))) goto fail;
    schedule_faults(c);
    *out = c;
    return 0;
fail:
    es_cluster_destroy(c);
    return rc;
}

void es_cluster_destroy(es_cluster_t *c)
{
    if (!c) return;
    for (uint32_t i = 0; c->pods && i < c->maxpods; i++) {
        es_server_destroy(c->pods[i].server);
        free(c->pods[i].scrape_fail);
        free(c->pods[i].enc_hash);
        free(c->pods[i].enc_used);
    }
    free(c->pods);
    es_kvlink_destroy(c->link);
    esi_epp_service_destroy(c);
    for (size_t i = 0; i < c->nowned; i++) free(c->owned[i]);
    free(c->owned);
    es_profile_destroy(c->profile);
    free(c);
}

uint32_t es_cluster_pod_count(const es_cluster_t *c) { return c->npods; }
const struct es_profile *es_cluster_profile(const es_cluster_t *c) { return c->profile; }

void es_cluster_sync(es_cluster_t *c)
{
    for (uint32_t i = 0; i < c->npods; i++)
        if (c->pods[i].server) es_server_sync(c->pods[i].server);
}

void es_cluster_pod_info(const es_cluster_t *c, uint32_t i, es_pod_info_t *out)
{
    const pod_t *p = &c->pods[i];
    memset(out, 0, sizeof *out);
    out->name = p->name;
    const char *role = es_endpoint_label(&p->ep, "llm-d.ai/role");
    out->role = role ? role : "";
    out->ready = p->ready;
    out->requests = p->requests;
    if (p->server) {
        es_server_metrics(p->server, &out->now);
        es_server_stats(p->server, &out->stats);
        out->kv_derived = es_server_kv_memory(p->server, &out->kv_mem);
    }
}
