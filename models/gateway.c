/*
 * gateway.c -- the client and the gateway: send, HTTPRoute matching, the
 * ext_proc call with its timeout, the InferencePool failure mode, client
 * timeouts and cancellations, re-sends (cluster_internal.h).
 */
#include "cluster_internal.h"
#include "es_util.h"

#include <stdlib.h>
#include <string.h>

static void ev_gateway_arrive(es_sim_t *sim, void *target, uint64_t arg);

static bool header_is(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        if (x != *b) return false;
    }
    return *a == *b;
}

static bool route_matches(const es_cluster_t *c, const es_client_request_t *r)
{
    const es_gateway_config_t *g = c->prm.gateway;
    if (g->routes_all) return true;
    const char *path = r->path ? r->path : "/";
    for (size_t i = 0; i < g->nroute_matches; i++) {
        const es_route_match_t *m = &g->route_matches[i];
        if (m->path) {
            if (m->exact ? strcmp(path, m->path) != 0 : !es_path_prefix_match(m->path, path)) continue;
        }
        bool ok = true;
        for (uint32_t k = 0; k < m->nheaders && ok; k++) {
            bool found = false;
            for (uint32_t h = 0; h < r->nheaders; h++)
                if (header_is(r->headers[h].name, m->hname[k]) && strcmp(r->headers[h].value, m->hvalue[k]) == 0)
                    found = true;
            ok = found;
        }
        if (ok) return true;
    }
    return false;
}

static bool is_prefill_pod(const pod_t *p)
{
    const char *role = es_endpoint_label(&p->ep, "llm-d.ai/role");
    return role && strcmp(role, "prefill") == 0;
}

static int32_t random_ready_pod(es_cluster_t *c, bool decode_only)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->npods; i++)
        if (c->pods[i].ready && !(decode_only && is_prefill_pod(&c->pods[i])))
            n++;
    if (n == 0) return -1;
    uint64_t k = es_rng_below(&c->gw_rng, n);
    for (uint32_t i = 0; i < c->npods; i++)
        if (c->pods[i].ready && !(decode_only && is_prefill_pod(&c->pods[i])))
            if (k-- == 0) return (int32_t)i;
    return -1;
}

/* The response (or an error) leaves the gateway now: the client has it one hop later. */
void esi_gateway_reply(es_cluster_t *c, es_client_request_t *r, int status)
{
    esi_cluster_finish(c, r, status, es_sim_now(c->sim) + c->hop);
}

static bool epp_down(const es_cluster_t *c, es_time_t t)
{
    return esi_in_window(c->prm.epp->outage_windows, c->prm.epp->noutages, t);
}

/* The EPP is unreachable or late: the InferencePool's failure mode decides. */
static void fail_open_or_close(es_cluster_t *c, es_client_request_t *r)
{
    if (c->prm.gateway->failure_mode == ES_FAIL_OPEN) {
        int32_t pod = random_ready_pod(c, true);
        if (pod >= 0) {
            r->p.epp = UINT32_MAX;
            r->p.nencode = 0;   /* no decision: the pod encodes its own images */
            r->p.kv_source = -1;
            esi_cluster_forward(c, r, pod, -1);
            return;
        }
    }
    esi_gateway_reply(c, r, 503);
}

static void ev_extproc_timeout(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    es_client_request_t *r = target;
    if (r->p.gen != ESI_ARG_GEN(arg)) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    r->p.extproc_ev = 0;
    if (r->p.phase != PH_EXTPROC || !r->p.extproc_pending) return;
    r->p.extproc_pending = 0;    /* a late answer is dropped */
    esi_epp_gateway_gave_up(c, r, es_sim_now(sim));
    r->sched_latency = es_sim_now(sim) - r->p.extproc_sent;
    fail_open_or_close(c, r);
}

void esi_gateway_ev_extproc_reply(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    es_client_request_t *r = target;
    if (r->p.gen != ESI_ARG_GEN(arg)) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    if (r->p.phase != PH_EXTPROC || !r->p.extproc_pending) return;   /* Envoy moved on (timeout) */
    r->p.extproc_pending = 0;
    if (r->p.extproc_ev) { es_sim_cancel(sim, r->p.extproc_ev); r->p.extproc_ev = 0; }
    r->sched_latency = es_sim_now(sim) - r->p.extproc_sent;
    if (r->p.decided_status != 200) {
        esi_gateway_reply(c, r, r->p.decided_status);
        return;
    }
    esi_cluster_forward(c, r, r->pod, r->p.prefill_pod);
}

static void resolve_priority(es_cluster_t *c, es_client_request_t *r)
{
    r->p.sched.priority = r->priority;
    if (!r->objective) return;
    const es_epp_service_config_t *e = c->prm.epp;
    for (size_t i = 0; i < e->nobjectives; i++)
        if (strcmp(e->objective_list[i].name, r->objective) == 0) {
            r->p.sched.priority = e->objective_list[i].priority;
            return;
        }
}

static void ev_gateway_arrive(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    es_client_request_t *r = target;
    if (r->p.gen != ESI_ARG_GEN(arg)) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    if (r->p.phase == PH_DONE) return;
    if (!route_matches(c, r)) {
        esi_gateway_reply(c, r, 404);
        return;
    }
    if (!r->model) {
        /* no body: nothing to schedule on; upstream sends it to a random endpoint */
        int32_t pod = random_ready_pod(c, true);
        if (pod < 0) { esi_gateway_reply(c, r, 503); return; }
        r->p.epp = UINT32_MAX;
        esi_cluster_forward(c, r, pod, -1);
        return;
    }
    uint32_t e = c->next_epp;
    c->next_epp = (c->next_epp + 1) % c->nepps;
    r->p.epp = e;
    r->p.phase = PH_EXTPROC;
    r->p.extproc_sent = es_sim_now(sim);
    if (epp_down(c, es_sim_now(sim))) {   /* connection refused */
        r->sched_latency = 0;
        fail_open_or_close(c, r);
        return;
    }
    r->p.extproc_pending = 1;
    r->p.extproc_ev = es_sim_schedule_in(sim, c->extproc_timeout, ev_extproc_timeout, r, ESI_ARG(r->p.gen, 0));
    es_sim_schedule_in(sim, c->hop, esi_epp_ev_receive, r, ESI_ARG(r->p.gen, 0));
}

static void ev_client_timeout(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    es_client_request_t *r = target;
    if (r->p.gen != ESI_ARG_GEN(arg)) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    r->p.timeout_ev = 0;
    if (r->p.phase == PH_DONE) return;
    uint8_t phase = r->p.phase;
    r->p.phase = PH_DONE;   /* from here on, late callbacks are ignored */
    esi_cluster_abort_at_pod(c, r, phase);
    if (r->p.epp != UINT32_MAX && phase >= PH_EXTPROC) esi_epp_client_gone(c, r, es_sim_now(sim));
    r->p.phase = PH_NEW;
    esi_cluster_finish(c, r, ESI_ARG_LOW(arg) == ESI_WHY_CANCEL ? 499 : 408, es_sim_now(sim));
}

void esi_gateway_resend(es_cluster_t *c, es_client_request_t *r)
{
    r->p.phase = PH_NEW;
    r->pod = -1;
    r->p.prefill_pod = -1;
    r->p.nencode = 0;
    r->p.kv_source = -1;
    es_sim_schedule_in(c->sim, c->hop, ev_gateway_arrive, r, ESI_ARG(r->p.gen, 0));
}

void es_cluster_send(es_cluster_t *c, es_client_request_t *r)
{
    memset(&r->p, 0, sizeof r->p);
    r->p.c = c;
    r->p.gen = ++c->next_gen;
    r->p.prefill_pod = -1;
    r->p.kv_source = -1;
    r->p.epp = UINT32_MAX;
    r->sent = es_sim_now(c->sim);
    r->first_token = -1;
    r->done = -1;
    r->status = 0;
    r->pod = -1;
    r->cached_tokens = r->est_matched = r->est_total = r->est_block_tokens = r->preemptions = r->output_received = 0;
    r->queue_wait = -1;
    r->sched_latency = 0;
    r->retries = 0;
    r->encode_wait = 0;
    r->p.nencode = 0;
    es_sched_request_t *q = &r->p.sched;
    q->id = r->id;
    q->model = r->lora ? r->lora : r->model;
    q->objective = r->objective;
    q->content = r->prompt;
    q->body_bytes = r->prompt.tokens * 4;   /* about 4 bytes of JSON text per token */
    q->max_tokens = r->output_tokens;
    q->session = r->session;
    q->headers = r->headers;
    q->nheaders = r->nheaders;
    q->prompt_text = NULL;
    q->mm = r->mm;
    q->nmm = r->nmm;
    resolve_priority(c, r);
    c->in_flight++;
    es_time_t give_up = c->client_timeout > 0 ? c->client_timeout : ES_TIME_NEVER;
    uint64_t why = ESI_WHY_TIMEOUT;
    double frac = c->prm.gateway->client_cancel_fraction;
    if (frac > 0 && es_rng_uniform(&c->cancel_rng) < frac) {
        es_time_t at = es_time_from_s(es_rng_exp(&c->cancel_rng, c->prm.gateway->client_cancel_after_s));
        if (at < give_up) { give_up = at; why = ESI_WHY_CANCEL; }
    }
    if (give_up != ES_TIME_NEVER) {
        es_time_t at = r->sent + give_up;
        if (why == ESI_WHY_TIMEOUT && c->timeout_whole_s) {   /* the client's clock reads simulated time */
            es_time_t s = es_time_from_s(1);
            at = (at + s - 1) / s * s;
        }
        r->p.timeout_ev = es_sim_schedule(c->sim, at, ev_client_timeout, r, ESI_ARG(r->p.gen, why));
    }
    es_sim_schedule_in(c->sim, c->hop, ev_gateway_arrive, r, ESI_ARG(r->p.gen, 0));
}

uint64_t es_cluster_in_flight(const es_cluster_t *c) { return c->in_flight; }
