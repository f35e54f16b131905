/*
 * epp_service.c -- the EPP service: replicas chosen round-robin by the
 * gateway, each with its scheduler, per-pod scrape timers, workers and flow
 * control; KV events delivered to every replica after a delay
 * (cluster_internal.h).
 */
#include "cluster_internal.h"
#include "es_alloc.h"

#include <stdlib.h>
#include <string.h>

static void epp_start(es_cluster_t *c, epp_replica_t *e, es_client_request_t *r);
static void ev_epp_decided(es_sim_t *sim, void *target, uint64_t arg);
static void flow_cb(void *ud, const es_sched_request_t *req, const es_sched_result_t *res);
static void ev_flow_cycle(es_sim_t *sim, void *target, uint64_t arg);

/* ---------------------------------------------------------------- */
/* scrapes                                                           */

/* DCGM_FI_DEV_GPU_UTIL / 100: the share of the window the server ran steps,
 * from its cumulative busy time at two checkpoints ESI_GPU_UTIL_WINDOW or
 * more apart (the window is 1 to 2 s once the pod has run that long).  The
 * first scrape of a pod has no window: the endpoint lacks the attribute. */
static void scrape_gpu_util(scrape_timer_t *t, const es_server_t *srv, es_time_t now, es_endpoint_metrics_t *m)
{
    es_server_stats_t st;
    es_server_stats(srv, &st);
    if (t->gpu_n && st.busy < t->gpu_busy[t->gpu_n - 1]) t->gpu_n = 0;   /* a new server (restart) */
    if (t->gpu_n == 0) {
        t->gpu_t[0] = now; t->gpu_busy[0] = st.busy; t->gpu_n = 1;
        return;
    }
    if (now > t->gpu_t[0]) {
        double u = (double)(st.busy - t->gpu_busy[0]) / (double)(now - t->gpu_t[0]);
        m->has_gpu_util = true;
        m->gpu_util = u < 0 ? 0 : u > 1 ? 1 : u;
    }
    es_time_t last = t->gpu_t[t->gpu_n - 1];
    if (now - last < ESI_GPU_UTIL_WINDOW) return;
    if (t->gpu_n == 2) { t->gpu_t[0] = t->gpu_t[1]; t->gpu_busy[0] = t->gpu_busy[1]; }
    t->gpu_t[1] = now; t->gpu_busy[1] = st.busy; t->gpu_n = 2;
}

static void ev_scrape_done(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    scrape_timer_t *t = target;
    es_cluster_t *c = t->c;
    pod_t *p = &c->pods[t->pod];
    if (!p->alive || !p->server) return;   /* the poll failed: keep the last values */
    es_endpoint_t *v = &c->epps[t->epp].view[t->pod];
    es_server_metrics(p->server, &v->metrics);
    v->metrics.update_time = es_sim_now(sim);
    if (c->want_gpu_util) scrape_gpu_util(t, p->server, v->metrics.update_time, &v->metrics);
}

/* Publishes whose propagation is over reach the store, in order. */
static void ev_sync_land(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    es_cluster_t *c = target;
    es_time_t now = es_sim_now(sim);
    while (c->syncq_n && c->syncq[c->syncq_head].at <= now) {
        const sync_pending_t *p = &c->syncq[c->syncq_head];
        if (c->pods[p->pod].alive)   /* a deleted endpoint's late Set is dropped */
            es_sched_sync_set(c->sync, p->replica, p->pod, p->requests, p->tokens);
        c->syncq_head = (c->syncq_head + 1) % c->syncq_cap;
        c->syncq_n--;
    }
    c->sync_timer = false;
    if (c->syncq_n) {
        c->sync_timer = true;
        es_sim_schedule(sim, c->syncq[c->syncq_head].at, ev_sync_land, c, 0);
    }
}

/* Replica e publishes its local value of `pod`: in the store now, or
 * sync_delay later (its value as of now). */
static void sync_publish(es_cluster_t *c, epp_replica_t *e, uint32_t pod)
{
    if (c->sync_delay <= 0) { es_scheduler_sync_publish(e->sched, pod); return; }
    if (c->syncq_n == c->syncq_cap) {
        size_t cap = c->syncq_cap ? c->syncq_cap * 2 : 256;
        sync_pending_t *q = es_xmalloc(cap * sizeof *q);   /* grows with the publishes in flight */
        for (size_t i = 0; i < c->syncq_n; i++) q[i] = c->syncq[(c->syncq_head + i) % c->syncq_cap];
        free(c->syncq);
        c->syncq = q;
        c->syncq_cap = cap;
        c->syncq_head = 0;
    }
    sync_pending_t *p = &c->syncq[(c->syncq_head + c->syncq_n) % c->syncq_cap];
    p->at = es_sim_now(c->sim) + c->sync_delay;
    p->replica = e->id;
    p->pod = pod;
    es_scheduler_get_inflight(e->sched, pod, &p->requests, &p->tokens);
    c->syncq_n++;
    if (!c->sync_timer) {
        c->sync_timer = true;
        es_sim_schedule(c->sim, p->at, ev_sync_land, c, 0);
    }
}

static void ev_scrape_tick(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    scrape_timer_t *t = target;
    es_cluster_t *c = t->c;
    epp_replica_t *e = &c->epps[t->epp];
    es_sim_schedule_in(sim, c->scrape_every, ev_scrape_tick, t, 0);
    pod_t *p = &c->pods[t->pod];
    if (!p->alive || !p->server) return;
    /* the cross-replica publisher is one more dispatcher of the pod's collector */
    if (c->sync && es_sched_sync_tick(&t->sync_left, c->sync_period)) sync_publish(c, e, t->pod);
    if (esi_in_window(p->scrape_fail, p->nscrape_fail, es_sim_now(sim))) return;
    if (c->prm.epp->scrape_failure_rate > 0 && es_rng_uniform(&e->rng) < c->prm.epp->scrape_failure_rate) return;
    if (c->scrape_latency_fails) return;
    if (c->scrape_latency > 0) es_sim_schedule_in(sim, c->scrape_latency, ev_scrape_done, t, 0);
    else ev_scrape_done(sim, t, 0);
}

void esi_epp_pod_added(es_cluster_t *c, uint32_t pod)
{
    for (uint32_t e = 0; e < c->nepps; e++) {
        c->timers[e * c->maxpods + pod].sync_left = 1;   /* a new endpoint's collector */
        es_sim_schedule_in(c->sim, (es_time_t)(es_rng_uniform(&c->epps[e].rng) * (double)c->scrape_every),
                           ev_scrape_tick, &c->timers[e * c->maxpods + pod], 0);
    }
}

void esi_epp_pod_removed(es_cluster_t *c, uint32_t pod)
{
    for (uint32_t e = 0; e < c->nepps; e++) {
        es_scheduler_endpoint_removed(c->epps[e].sched, pod);
        c->epps[e].view[pod].ready = false;
    }
}

/* ---------------------------------------------------------------- */
/* KV events                                                         */

static void ev_kv_deliver(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    es_cluster_t *c = target;
    es_time_t now = es_sim_now(sim);
    while (c->kvq_n && c->kvq[c->kvq_head].at <= now) {
        const es_kv_event_t *ev = &c->kvq[c->kvq_head].ev;
        for (uint32_t e = 0; e < c->nepps; e++) es_scheduler_on_kv_event(c->epps[e].sched, ev);
        c->kvq_head = (c->kvq_head + 1) % c->kvq_cap;
        c->kvq_n--;
    }
    c->kv_timer = false;
    if (c->kvq_n) {
        c->kv_timer = true;
        es_sim_schedule(sim, c->kvq[c->kvq_head].at, ev_kv_deliver, c, 0);
    }
}

void esi_epp_on_kv_event(void *ud, const es_kv_event_t *ev)
{
    pod_t *p = ud;
    es_cluster_t *c = p->c;
    if (c->kvq_n == c->kvq_cap) {
        size_t cap = c->kvq_cap ? c->kvq_cap * 2 : 4096;
        kv_pending_t *q = es_xmalloc(cap * sizeof *q);
        for (size_t i = 0; i < c->kvq_n; i++) q[i] = c->kvq[(c->kvq_head + i) % c->kvq_cap];
        free(c->kvq);
    free(c->syncq);
        c->kvq = q;
        c->kvq_cap = cap;
        c->kvq_head = 0;
    }
    kv_pending_t *slot = &c->kvq[(c->kvq_head + c->kvq_n) % c->kvq_cap];
    slot->at = es_sim_now(c->sim) + c->kv_delay;
    slot->ev = *ev;
    c->kvq_n++;
    if (!c->kv_timer) {
        c->kv_timer = true;
        es_sim_schedule(c->sim, slot->at, ev_kv_deliver, c, 0);
    }
}

/* ---------------------------------------------------------------- */
/* decisions                                                         */

void esi_epp_first_chunk(es_cluster_t *c, es_client_request_t *r, es_time_t t)
{
    if (r->p.epp != UINT32_MAX) es_scheduler_on_first_chunk(c->epps[r->p.epp].sched, r->id, t);
}

void esi_epp_end(es_cluster_t *c, es_client_request_t *r, es_time_t t)
{
    if (r->p.epp != UINT32_MAX) es_scheduler_on_end(c->epps[r->p.epp].sched, r->id, t);
}

void esi_epp_stream_ended(es_cluster_t *c, es_client_request_t *r, es_time_t t)
{
    if (r->p.epp == UINT32_MAX) return;
    epp_replica_t *e = &c->epps[r->p.epp];
    /* with the replica's view: the latency predictor trains on the target's latest metrics */
    es_scheduler_on_complete(e->sched, r->id, t, r->prompt.tokens, r->output_received, e->view, c->npods);
}

void esi_epp_gateway_gave_up(es_cluster_t *c, es_client_request_t *r, es_time_t now)
{
    if (r->p.decided && r->p.decided_status == 200)
        es_scheduler_on_end(c->epps[r->p.epp].sched, r->id, now);
    else if (!r->p.decided)
        es_scheduler_flow_cancel(c->epps[r->p.epp].sched, r->id);
}

void esi_epp_client_gone(es_cluster_t *c, es_client_request_t *r, es_time_t now)
{
    es_scheduler_flow_cancel(c->epps[r->p.epp].sched, r->id);
    es_scheduler_on_end(c->epps[r->p.epp].sched, r->id, now);
}

void esi_epp_ev_receive(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    es_client_request_t *r = target;
    if (r->p.gen != ESI_ARG_GEN(arg)) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    if (r->p.phase != PH_EXTPROC || !r->p.extproc_pending) return;   /* timed out on the way */
    epp_replica_t *e = &c->epps[r->p.epp];
    int64_t workers = c->prm.epp->workers;
    if (workers > 0 && e->busy >= (uint32_t)workers) {
        r->p.next = NULL;
        if (e->qtail) e->qtail->p.next = r; else e->qhead = r;
        e->qtail = r;
        return;
    }
    epp_start(c, e, r);
}

static void epp_start(es_cluster_t *c, epp_replica_t *e, es_client_request_t *r)
{
    e->busy++;
    es_sim_schedule_in(c->sim, c->sched_latency, ev_epp_decided, r, ESI_ARG(r->p.gen, e->id));
}

/* The ready pods as this replica sees them.  When every pod is ready (the
 * usual case) that is the replica's view itself, so nothing is copied. */
static const es_endpoint_t *candidates(es_cluster_t *c, epp_replica_t *e, size_t *count)
{
    uint32_t ready = 0;
    for (uint32_t i = 0; i < c->npods; i++) ready += c->pods[i].ready;
    if (ready == c->npods) {
        for (uint32_t i = 0; i < c->npods; i++) e->view[i].ready = true;
        *count = c->npods;
        return e->view;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < c->npods; i++) {
        if (!c->pods[i].ready) continue;
        e->cand[n] = e->view[i];
        e->cand[n].ready = true;
        n++;
    }
    *count = n;
    return e->cand;
}

static void apply_decision(es_client_request_t *r, const es_sched_result_t *res)
{
    r->est_matched = res->est_prefix_blocks;
    r->est_total = res->est_total_blocks;
    r->est_block_tokens = res->est_block_tokens;
    r->p.decided = 1;
    r->p.decided_status = res->status;
    r->session_header = NULL;
    if (res->status == 200 && res->session_header) {
        r->session_header = res->session_header;
        memcpy(r->session_token, res->session_token, sizeof r->session_token);
    }
    if (res->status == 200) {
        r->pod = (int32_t)res->primary;
        r->p.prefill_pod = res->prefill;
        r->p.nencode = res->nencode;
        for (uint32_t i = 0; i < res->nencode; i++) r->p.encode_pods[i] = (int32_t)res->encode[i];
        r->p.kv_source = res->kv_source;
    }
}

/* A worker is free: start the next queued decision still wanted. */
static void epp_release(es_cluster_t *c, epp_replica_t *e)
{
    e->busy--;
    while (e->qhead && (c->prm.epp->workers <= 0 || e->busy < (uint32_t)c->prm.epp->workers)) {
        es_client_request_t *n = e->qhead;
        e->qhead = n->p.next;
        if (!e->qhead) e->qtail = NULL;
        n->p.next = NULL;
        if (n->p.phase == PH_EXTPROC && n->p.extproc_pending) epp_start(c, e, n);
    }
}

static void flow_arm(es_cluster_t *c, epp_replica_t *e)
{
    if (e->flow_timer || es_scheduler_flow_queued(e->sched) == 0) return;
    e->flow_timer = true;
    es_sim_schedule_in(c->sim, ES_MS, ev_flow_cycle, e, 0);
}

/* The candidates' in-flight counters as the replica reads them (synced or
 * its own), for the next decision record. */
static void snap_inflight(es_cluster_t *c, epp_replica_t *e, const es_endpoint_t *cand, size_t n)
{
    if (!c->hooks.on_decision) return;
    for (size_t i = 0; i < n; i++) {
        if (c->sync) es_sched_sync_get(c->sync, cand[i].id, &e->inflight[i][0], &e->inflight[i][1]);
        else es_scheduler_get_inflight(e->sched, cand[i].id, &e->inflight[i][0], &e->inflight[i][1]);
    }
}

/* Dispatch cycles until one dispatches nothing; each cycle's record sees
 * the counters before its pick. */
static void flow_cycles(es_cluster_t *c, epp_replica_t *e, const es_endpoint_t *cand, size_t n, es_time_t now)
{
    do snap_inflight(c, e, cand, n);
    while (es_scheduler_flow_cycle(e->sched, cand, n, now, flow_cb, e) > 0);
}

/* Decision records: the request's arrival with the queues it finds. */
static void record_arrival(es_cluster_t *c, epp_replica_t *e, const es_sched_request_t *req,
                           const es_endpoint_t *cand, size_t n, es_time_t now)
{
    size_t nq = es_scheduler_flow_items(e->sched, e->fq, e->fq_cap);
    if (nq > e->fq_cap) {
        e->fq_cap = nq * 2;
        e->fq = es_xrealloc(e->fq, e->fq_cap * sizeof *e->fq);
        nq = es_scheduler_flow_items(e->sched, e->fq, e->fq_cap);
    }
    size_t nb = es_scheduler_flow_bands(e->sched, e->fb, e->fb_cap);
    if (nb > e->fb_cap) {
        e->fb_cap = nb * 2;
        e->fb = es_xrealloc(e->fb, e->fb_cap * sizeof *e->fb);
        nb = es_scheduler_flow_bands(e->sched, e->fb, e->fb_cap);
    }
    es_flow_note_t note = {.arrival = true, .queued = e->fq, .nqueued = nq, .bands = e->fb, .nbands = nb};
    c->hooks.on_decision(c->hooks.ud, e->id, req, cand, n, (const int64_t (*)[2])e->inflight, now, NULL, &note);
}

static void ev_flow_cycle(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    epp_replica_t *e = target;
    es_cluster_t *c = e->c;
    e->flow_timer = false;
    size_t n;
    const es_endpoint_t *cand = candidates(c, e, &n);
    flow_cycles(c, e, cand, n, es_sim_now(sim));
    flow_arm(c, e);
}

static void ev_epp_decided(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    es_client_request_t *r = target;
    es_cluster_t *c = r->p.c;
    epp_replica_t *e = &c->epps[ESI_ARG_LOW(arg)];
    epp_release(c, e);
    if (r->p.gen != ESI_ARG_GEN(arg)) return;   /* the record was reused: a stale event */
    if (r->p.phase != PH_EXTPROC || !r->p.extproc_pending) return;   /* the gateway gave up already */
    size_t n;
    const es_endpoint_t *cand = candidates(c, e, &n);
    es_sched_result_t res;
    memset(&res, 0, sizeof res);
    es_time_t now = es_sim_now(sim);
    snap_inflight(c, e, cand, n);
    bool flow = es_epp_config_gate(c->prm.picker, "flowControl");
    if (c->hooks.on_decision && flow) record_arrival(c, e, &r->p.sched, cand, n, now);
    es_scheduler_submit(e->sched, &r->p.sched, cand, n, now, &res);
    if (c->hooks.on_decision && res.status != ES_SCHED_QUEUED)
        c->hooks.on_decision(c->hooks.ud, e->id, &r->p.sched, cand, n, (const int64_t (*)[2])e->inflight, now, &res,
                             flow ? &(es_flow_note_t){.at_arrival = "rejected"} : NULL);
    if (res.status == ES_SCHED_QUEUED) {
        e->arriving = &r->p.sched;
        flow_cycles(c, e, cand, n, now);
        e->arriving = NULL;
        flow_arm(c, e);
        return;
    }
    apply_decision(r, &res);
    es_sim_schedule_in(sim, c->hop, esi_gateway_ev_extproc_reply, r, ESI_ARG(r->p.gen, 0));
}

static void flow_cb(void *ud, const es_sched_request_t *req, const es_sched_result_t *res)
{
    epp_replica_t *e = ud;
    es_cluster_t *c = e->c;
    es_client_request_t probe;
    size_t off = (size_t)((char *)&probe.p.sched - (char *)&probe);
    es_client_request_t *r = (es_client_request_t *)((char *)req - off);
    if (c->hooks.on_decision && es_epp_config_gate(c->prm.picker, "flowControl")) {   /* the cycle's candidates */
        size_t n;
        const es_endpoint_t *cand = candidates(c, e, &n);
        c->hooks.on_decision(c->hooks.ud, e->id, req, cand, n, (const int64_t (*)[2])e->inflight, es_sim_now(c->sim), res,
                             &(es_flow_note_t){.at_arrival = req == e->arriving ? "dispatched" : "held"});
    }
    if (r->p.phase != PH_EXTPROC || !r->p.extproc_pending) {   /* gave up while queued */
        if (res->status == 200) es_scheduler_on_end(e->sched, r->id, es_sim_now(c->sim));
        return;
    }
    apply_decision(r, res);
    es_sim_schedule_in(c->sim, c->hop, esi_gateway_ev_extproc_reply, r, ESI_ARG(r->p.gen, 0));
}

/* In-flight eviction (flowControl.enableEviction): the EPP answers the
 * victim's ext_proc stream with an ImmediateResponse (429 "request evicted
 * by flow control", pkg/epp/handlers/server.go), Envoy resets the upstream
 * connection and the pod aborts the request; the stream's end confirms the
 * eviction to the scheduler.  One hop after the decision. */
static void ev_evicted(es_sim_t *sim, void *target, uint64_t arg)
{
    es_client_request_t *r = target;
    if (r->p.gen != ESI_ARG_GEN(arg)) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    if (r->p.phase == PH_DONE) {   /* it ended meanwhile: the end confirmed it already */
        return;
    }
    uint8_t phase = r->p.phase;
    r->p.phase = PH_DONE;   /* late callbacks of the request are ignored */
    esi_cluster_abort_at_pod(c, r, phase);
    esi_epp_end(c, r, es_sim_now(sim));
    r->p.phase = PH_NEW;
    esi_cluster_finish(c, r, 429, es_sim_now(sim));
}

static void evict_cb(void *ud, const es_sched_request_t *req)
{
    epp_replica_t *e = ud;
    es_client_request_t probe;
    size_t off = (size_t)((char *)&probe.p.sched - (char *)&probe);
    es_client_request_t *r = (es_client_request_t *)((char *)req - off);
    es_sim_schedule_in(e->c->sim, e->c->hop, ev_evicted, r, ESI_ARG(r->p.gen, 0));
}

/* ---------------------------------------------------------------- */
/* lifecycle                                                         */

int esi_epp_service_create(es_cluster_t *c, es_err_t *err)
{
    int rc;
    c->nepps = (uint32_t)c->prm.epp->replicas;
    c->epps = calloc(c->nepps, sizeof *c->epps);
    c->timers = calloc((size_t)c->nepps * c->maxpods, sizeof *c->timers);
    if (!c->epps || !c->timers) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (uint32_t e = 0; e < c->nepps; e++) {
        epp_replica_t *r = &c->epps[e];
        r->c = c;
        r->id = e;
        /* each replica its own streams: derived from the master seed and its index */
        uint64_t seed = es_rng_epp_seed(es_sim_master_seed(c->sim), e);
        if ((rc = es_scheduler_create(c->prm.picker, seed, &r->sched, err))) return rc;
        const es_epp_service_config_t *ep = c->prm.epp;
        es_scheduler_set_predictor_config(r->sched, &(es_sched_predictor_config_t){
            .retraining_interval_s = ep->predictor_retraining_interval_s,
            .model_sync_interval_s = ep->predictor_model_sync_interval_s,
            .min_samples_for_retrain = ep->predictor_min_samples_for_retrain,
            .max_samples_per_bucket = ep->predictor_max_samples_per_bucket,
            .quantile = ep->predictor_objective == 1, .quantile_alpha = ep->predictor_quantile});
        es_scheduler_set_evictor(r->sched, evict_cb, r, c->scrape_every);   /* when the config enables it */
        /* the replicas share one config: all sync or none (es_scheduler_sync_interval) */
        es_time_t sync_every = es_scheduler_sync_interval(r->sched);
        if (sync_every > 0) {
            if (!c->sync && (rc = es_sched_sync_create(c->nepps, c->maxpods, &c->sync, err))) return rc;
            /* interval_dispatcher.go periodTicks: rounded to poll ticks, at least 1 */
            c->sync_period = es_sched_sync_period_ticks(sync_every, c->scrape_every);
            c->sync_delay = es_time_from_ms(c->prm.epp->sync_delay_ms);
            es_scheduler_sync_attach(r->sched, c->sync, e);
        }
        es_rng_stream(&r->rng, es_sim_master_seed(c->sim), ES_ENTITY_EPP_REPLICA, e, ES_STREAM_SCRAPE);
        r->view = calloc(c->maxpods, sizeof *r->view);
        r->cand = calloc(c->maxpods, sizeof *r->cand);
        r->inflight = calloc(c->maxpods, sizeof *r->inflight);
        if (!r->view || !r->cand || !r->inflight) return es_err_set(err, ES_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < c->maxpods; i++) {
            r->view[i] = c->pods[i].ep;
            scrape_timer_t *t = &c->timers[(size_t)e * c->maxpods + i];
            *t = (scrape_timer_t){.c = c, .epp = e, .pod = i, .sync_left = 1};
            if (i < (uint32_t)c->prm.cluster->replicas)
                /* each poller starts with its own phase */
                es_sim_schedule(c->sim, (es_time_t)(es_rng_uniform(&r->rng) * (double)c->scrape_every),
                                ev_scrape_tick, t, 0);
        }
    }
    return 0;
}

void esi_epp_service_destroy(es_cluster_t *c)
{
    for (uint32_t e = 0; c->epps && e < c->nepps; e++) {
        es_scheduler_destroy(c->epps[e].sched);
        free(c->epps[e].view);
        free(c->epps[e].cand);
        free(c->epps[e].inflight);
        free(c->epps[e].fq);
        free(c->epps[e].fb);
    }
    free(c->epps);
    free(c->timers);
    es_sched_sync_destroy(c->sync);
    free(c->kvq);
    free(c->syncq);
}

void es_cluster_predictor_stats(const es_cluster_t *c, es_sched_predictor_stats_t *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t e = 0; e < c->nepps; e++) es_scheduler_predictor_stats(c->epps[e].sched, out);
}

bool es_cluster_evictions(const es_cluster_t *c, uint64_t *out)
{
    bool on = false;
    *out = 0;
    for (uint32_t e = 0; e < c->nepps; e++) {
        on |= es_scheduler_evicts(c->epps[e].sched);
        *out += es_scheduler_evictions(c->epps[e].sched);
    }
    return on;
}
