/*
 * cluster.c -- gateway, EPP service and pods wired on the event core.
 *
 * Each leg of a request is one event; the server adds one event per engine
 * step for the whole batch.  Scrapes are one timer per (EPP replica, pod).
 */
#include "cluster.h"

#include <stdlib.h>
#include <string.h>

#include "es_rng.h"
#include "steptime.h"

#define ENTITY_POD 1
#define ENTITY_EPP 2
#define ENTITY_GATEWAY 3

enum {
    PH_NEW = 0, PH_ROUTING, PH_EXTPROC, PH_TO_POD, PH_PREFILL, PH_TRANSFER, PH_AT_POD, PH_DONE
};

enum { FAULT_CRASH = 0, FAULT_RESTART, FAULT_SCRAPE_FAILURE };
static const char *const k_fault_kinds[] = {"pod_crash", "pod_restart", "scrape_failure", NULL};

typedef struct route_match {
    int         exact;          /* 1 Exact, 0 PathPrefix */
    char       *path;           /* NULL: any path */
    uint32_t    nheaders;
    char      **hname, **hvalue;
} route_match_t;

typedef struct window {
    es_time_t start, end;
} window_t;

typedef struct pod {
    es_server_t  *server;
    es_endpoint_t ep;
    es_label_t    label;         /* llm-d.ai/role when disaggregated */
    char          name[64];
    char          address[32];
    bool          alive;         /* running (false after a crash until restart) */
    bool          ready;         /* passes readiness: a candidate */
    bool          wanted;        /* within the scaled replica count */
    uint64_t      requests;
    window_t     *scrape_fail;   /* scrape-failure windows */
    size_t        nscrape_fail;
    struct es_cluster *c;
    uint32_t      id;
} pod_t;

typedef struct epp_replica {
    es_scheduler_t *sched;
    es_endpoint_t  *view;        /* per pod: metrics as last scraped by this replica */
    es_endpoint_t  *cand;        /* scratch: ready candidates */
    int64_t       (*inflight)[2];/* scratch: their in-flight counters (decision records) */
    es_rng_t        rng;         /* scrape failures */
    uint32_t        busy;        /* decisions running */
    es_client_request_t *qhead, *qtail;   /* waiting for a worker */
    bool            flow_timer;  /* a flow-control cycle event is pending */
    struct es_cluster *c;
    uint32_t        id;
} epp_replica_t;

typedef struct scrape_timer {
    struct es_cluster *c;
    uint32_t epp, pod;
} scrape_timer_t;

typedef struct kv_pending {
    es_time_t     at;
    es_kv_event_t ev;
} kv_pending_t;

struct es_cluster {
    es_sim_t                *sim;
    es_cluster_params_t      prm;
    es_server_config_t       scfg;
    es_cluster_hooks_t       hooks;
    es_profile_t            *profile;
    pod_t                   *pods;
    uint32_t                 npods, maxpods;
    epp_replica_t           *epps;
    uint32_t                 nepps, next_epp;
    scrape_timer_t          *timers;
    route_match_t           *routes;
    size_t                   nroutes;
    bool                     routes_all;
    window_t                *outages;
    size_t                   noutages;
    char                   **obj_name;
    int32_t                 *obj_prio;
    size_t                   nobj;
    es_rng_t                 gw_rng;       /* FailOpen and body-less picks */
    es_rng_t                 cancel_rng;   /* client cancellations */
    es_time_t                hop, extproc_timeout, client_timeout, sched_latency;
    es_time_t                scrape_every, scrape_latency, kv_delay;
    bool                     scrape_latency_fails;
    double                   kv_bytes_per_token;
    bool                     want_kv_events;
    kv_pending_t            *kvq;          /* ring of KV events on their way to the EPPs */
    size_t                   kvq_head, kvq_n, kvq_cap;
    bool                     kv_timer;
    uint64_t                 in_flight;
    uint64_t                 next_gen;     /* request generations */
    void                   **owned;        /* fault and scaling records */
    size_t                   nowned;
};

/* ---------------------------------------------------------------- */
/* helpers                                                           */

static int node_double(const es_node_t *map, const char *key, const char *path, double min, double max,
                       double *out, bool required, es_err_t *err)
{
    const es_node_t *n = es_map_get(map, key);
    char full[256];
    snprintf(full, sizeof full, "%s.%s", path, key);
    if (!n) {
        if (required) return es_node_err(err, ES_EINVAL, map, full, "missing");
        return 0;
    }
    return es_node_to_double(n, full, min, max, out, err);
}

static bool in_window(const window_t *w, size_t n, es_time_t t)
{
    for (size_t i = 0; i < n; i++)
        if (t >= w[i].start && t < w[i].end) return true;
    return false;
}

static void finish_client(es_cluster_t *c, es_client_request_t *r, int status, es_time_t at);

/* Response hooks of the replica that scheduled r (none when the gateway picked). */
static void epp_first_chunk(es_cluster_t *c, es_client_request_t *r, es_time_t t);
static void epp_end(es_cluster_t *c, es_client_request_t *r, es_time_t t);

/* ---------------------------------------------------------------- */
/* configuration parsing                                             */

static int parse_routes(es_cluster_t *c, const es_node_t *routes, es_err_t *err)
{
    c->routes_all = routes == NULL;
    if (!routes) return 0;
    int rc = es_node_expect_seq(routes, "gateway.routes", err);
    if (rc) return rc;
    size_t total = 0;
    for (size_t i = 0; i < routes->n; i++) {
        const es_node_t *rule = routes->items[i];
        static const char *const rk[] = {"matches", "name", NULL};
        if ((rc = es_node_expect_map(rule, "gateway.routes[]", err))) return rc;
        if ((rc = es_map_check_keys(rule, "gateway.routes[]", rk, err))) return rc;
        const es_node_t *m = es_map_get(rule, "matches");
        if (!m) { total++; continue; }
        if ((rc = es_node_expect_seq(m, "gateway.routes[].matches", err))) return rc;
        total += m->n ? m->n : 1;
    }
    c->routes = calloc(total ? total : 1, sizeof *c->routes);
    if (!c->routes) return ES_ENOMEM;
    for (size_t i = 0; i < routes->n; i++) {
        const es_node_t *rule = routes->items[i];
        const es_node_t *m = es_map_get(rule, "matches");
        if (!m || m->n == 0) { c->routes[c->nroutes++].path = NULL; continue; }   /* matches everything */
        for (size_t j = 0; j < m->n; j++) {
            const es_node_t *mt = m->items[j];
            static const char *const mk[] = {"path", "headers", NULL};
            if ((rc = es_node_expect_map(mt, "gateway.routes[].matches[]", err))) return rc;
            if ((rc = es_map_check_keys(mt, "gateway.routes[].matches[]", mk, err))) return rc;
            route_match_t *rm = &c->routes[c->nroutes++];
            rm->exact = 0;
            const es_node_t *p = es_map_get(mt, "path");
            if (p) {
                static const char *const pk[] = {"type", "value", NULL};
                static const char *const types[] = {"PathPrefix", "Exact", NULL};
                if ((rc = es_node_expect_map(p, "gateway.routes[].matches[].path", err))) return rc;
                if ((rc = es_map_check_keys(p, "gateway.routes[].matches[].path", pk, err))) return rc;
                int type = 0;
                const es_node_t *tn = es_map_get(p, "type");
                if (tn && (rc = es_node_to_enum(tn, "gateway.routes[].matches[].path.type", types, &type, err)))
                    return rc;
                rm->exact = type == 1;
                const char *v = "/";
                const es_node_t *vn = es_map_get(p, "value");
                if (vn && (rc = es_node_to_str(vn, "gateway.routes[].matches[].path.value", &v, err))) return rc;
                rm->path = strdup(v);
                if (!rm->path) return ES_ENOMEM;
            }
            const es_node_t *h = es_map_get(mt, "headers");
            if (h) {
                if ((rc = es_node_expect_seq(h, "gateway.routes[].matches[].headers", err))) return rc;
                rm->hname = calloc(h->n ? h->n : 1, sizeof(char *));
                rm->hvalue = calloc(h->n ? h->n : 1, sizeof(char *));
                if (!rm->hname || !rm->hvalue) return ES_ENOMEM;
                for (size_t k = 0; k < h->n; k++) {
                    static const char *const hk[] = {"name", "value", "type", NULL};
                    const char *hn_, *hv_;
                    const es_node_t *hh = h->items[k];
                    if ((rc = es_node_expect_map(hh, "gateway.routes[].matches[].headers[]", err))) return rc;
                    if ((rc = es_map_check_keys(hh, "gateway.routes[].matches[].headers[]", hk, err))) return rc;
                    if ((rc = es_node_to_str(es_map_get(hh, "name"), "gateway.routes[].matches[].headers[].name",
                                             &hn_, err)))
                        return rc;
                    if ((rc = es_node_to_str(es_map_get(hh, "value"), "gateway.routes[].matches[].headers[].value",
                                             &hv_, err)))
                        return rc;
                    rm->hname[k] = strdup(hn_);
                    rm->hvalue[k] = strdup(hv_);
                    for (char *q = rm->hname[k]; q && *q; q++)
                        if (*q >= 'A' && *q <= 'Z') *q = (char)(*q - 'A' + 'a');
                    rm->nheaders++;
                }
            }
        }
    }
    return 0;
}

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
    if (c->routes_all) return true;
    const char *path = r->path ? r->path : "/";
    for (size_t i = 0; i < c->nroutes; i++) {
        const route_match_t *m = &c->routes[i];
        if (m->path) {
            size_t n = strlen(m->path);
            if (m->exact) {
                if (strcmp(path, m->path) != 0) continue;
            } else {
                /* PathPrefix matches whole path elements: /get matches /get and /get/x, not /getter */
                while (n > 1 && m->path[n - 1] == '/') n--;
                if (strncmp(path, m->path, n) != 0) continue;
                if (!(n == 1 || path[n] == '\0' || path[n] == '/')) continue;
            }
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

static int parse_windows(const es_node_t *list, const char *path, window_t **out, size_t *n, es_err_t *err)
{
    *out = NULL;
    *n = 0;
    if (!list) return 0;
    int rc = es_node_expect_seq(list, path, err);
    if (rc) return rc;
    *out = calloc(list->n ? list->n : 1, sizeof **out);
    if (!*out) return ES_ENOMEM;
    for (size_t i = 0; i < list->n; i++) {
        static const char *const keys[] = {"start_s", "end_s", NULL};
        const es_node_t *w = list->items[i];
        if ((rc = es_node_expect_map(w, path, err)) || (rc = es_map_check_keys(w, path, keys, err))) return rc;
        double s = 0, e = 0;
        if ((rc = node_double(w, "start_s", path, 0, 1e12, &s, true, err))) return rc;
        if ((rc = node_double(w, "end_s", path, 0, 1e12, &e, true, err))) return rc;
        if (e <= s) return es_node_err(err, ES_EINVAL, w, path, "end_s must be after start_s");
        (*out)[(*n)++] = (window_t){es_time_from_s(s), es_time_from_s(e)};
    }
    return 0;
}

static int parse_objectives(es_cluster_t *c, const es_node_t *list, es_err_t *err)
{
    if (!list) return 0;
    int rc = es_node_expect_seq(list, "epp.objectives", err);
    if (rc) return rc;
    c->obj_name = calloc(list->n ? list->n : 1, sizeof *c->obj_name);
    c->obj_prio = calloc(list->n ? list->n : 1, sizeof *c->obj_prio);
    if (!c->obj_name || !c->obj_prio) return ES_ENOMEM;
    for (size_t i = 0; i < list->n; i++) {
        static const char *const keys[] = {"name", "priority", NULL};
        const es_node_t *o = list->items[i];
        const char *name;
        int64_t prio = 0;
        if ((rc = es_node_expect_map(o, "epp.objectives[]", err)) ||
            (rc = es_map_check_keys(o, "epp.objectives[]", keys, err)))
            return rc;
        if ((rc = es_node_to_str(es_map_get(o, "name"), "epp.objectives[].name", &name, err))) return rc;
        const es_node_t *p = es_map_get(o, "priority");
        if (p && (rc = es_node_to_i64(p, "epp.objectives[].priority", -1000000, 1000000, &prio, err))) return rc;
        c->obj_name[c->nobj] = strdup(name);
        c->obj_prio[c->nobj++] = (int32_t)prio;
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* pods                                                              */

static void pod_first_token(void *ud, es_server_request_t *sr, es_time_t t);
static void pod_finish(void *ud, es_server_request_t *sr, es_time_t t);
static void pod_gaps(void *ud, es_time_t t, es_time_t gap, uint32_t count);
static void pod_kv_event(void *ud, const es_kv_event_t *ev);

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
                                   c->want_kv_events ? pod_kv_event : NULL};
        int rc = es_server_create_with_profile(c->sim, &c->scfg, c->profile, &hooks, i, &p->server, err);
        if (rc) return rc;
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
    for (uint32_t e = 0; e < c->nepps; e++) {
        es_scheduler_endpoint_removed(c->epps[e].sched, p->id);
        c->epps[e].view[p->id].ready = false;
    }
}

/* ---------------------------------------------------------------- */
/* scrapes                                                           */

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
    if (in_window(p->scrape_fail, p->nscrape_fail, es_sim_now(sim))) return;
    if (c->prm.epp->scrape_failure_rate > 0 && es_rng_uniform(&e->rng) < c->prm.epp->scrape_failure_rate) return;
    if (c->scrape_latency_fails) return;
    if (c->scrape_latency > 0) es_sim_schedule_in(sim, c->scrape_latency, ev_scrape_done, t, 0);
    else ev_scrape_done(sim, t, 0);
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

static void pod_kv_event(void *ud, const es_kv_event_t *ev)
{
    pod_t *p = ud;
    es_cluster_t *c = p->c;
    if (c->kvq_n == c->kvq_cap) {
        size_t cap = c->kvq_cap ? c->kvq_cap * 2 : 4096;
        kv_pending_t *q = malloc(cap * sizeof *q);
        if (!q) return;   /* dropped: the precise index misses one block (out of memory) */
        for (size_t i = 0; i < c->kvq_n; i++) q[i] = c->kvq[(c->kvq_head + i) % c->kvq_cap];
        free(c->kvq);
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
/* request path                                                      */

static int32_t random_ready_pod(es_cluster_t *c, bool decode_only)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->npods; i++)
        if (c->pods[i].ready && !(decode_only && c->pods[i].label.value && strcmp(c->pods[i].label.value, "prefill") == 0))
            n++;
    if (n == 0) return -1;
    uint64_t k = es_rng_below(&c->gw_rng, n);
    for (uint32_t i = 0; i < c->npods; i++)
        if (c->pods[i].ready && !(decode_only && c->pods[i].label.value && strcmp(c->pods[i].label.value, "prefill") == 0))
            if (k-- == 0) return (int32_t)i;
    return -1;
}

static void epp_first_chunk(es_cluster_t *c, es_client_request_t *r, es_time_t t)
{
    if (r->p.epp != UINT32_MAX) es_scheduler_on_first_chunk(c->epps[r->p.epp].sched, r->id, t);
}

static void epp_end(es_cluster_t *c, es_client_request_t *r, es_time_t t)
{
    if (r->p.epp != UINT32_MAX) es_scheduler_on_end(c->epps[r->p.epp].sched, r->id, t);
}

static void cancel_timers(es_cluster_t *c, es_client_request_t *r)
{
    if (r->p.timeout_ev) { es_sim_cancel(c->sim, r->p.timeout_ev); r->p.timeout_ev = 0; }
    if (r->p.extproc_ev) { es_sim_cancel(c->sim, r->p.extproc_ev); r->p.extproc_ev = 0; }
}

/* The response (or error) reaches the client at `at`. */
static void finish_client(es_cluster_t *c, es_client_request_t *r, int status, es_time_t at)
{
    if (r->p.phase == PH_DONE) return;
    cancel_timers(c, r);
    r->p.phase = PH_DONE;
    r->status = status;
    r->done = at;
    c->in_flight--;
    if (c->hooks.on_done) c->hooks.on_done(c->hooks.ud, r);
}

static void ev_pod_arrive(es_sim_t *sim, void *target, uint64_t arg);
static void ev_transfer_done(es_sim_t *sim, void *target, uint64_t arg);

/* The response (or an error) leaves the gateway now: the client has it one hop later. */
static void gateway_reply(es_cluster_t *c, es_client_request_t *r, int status)
{
    finish_client(c, r, status, es_sim_now(c->sim) + c->hop);
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
                          bool preloaded)
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
    p->requests++;
    es_server_submit(p->server, sr);
}

static void forward_to_pod(es_cluster_t *c, es_client_request_t *r, int32_t pod, int32_t prefill_pod)
{
    r->pod = pod;
    r->p.prefill_pod = prefill_pod;
    r->p.phase = PH_TO_POD;
    es_sim_schedule_in(c->sim, c->hop, ev_pod_arrive, r, r->p.gen << 8);
}

static void ev_pod_arrive(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    es_client_request_t *r = target;
    if (r->p.gen != arg >> 8) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    if (r->p.phase == PH_DONE) return;
    int32_t first = r->p.prefill_pod >= 0 ? r->p.prefill_pod : r->pod;
    pod_t *p = &c->pods[first];
    if (!p->alive) {   /* connection refused: the pod died on the way */
        epp_end(c, r, es_sim_now(c->sim));
        gateway_reply(c, r, 503);
        return;
    }
    if (r->p.prefill_pod >= 0) {
        r->p.phase = PH_PREFILL;
        submit_server(p, r, &r->p.preq, true, false);
    } else {
        r->p.phase = PH_AT_POD;
        submit_server(p, r, &r->p.sreq, false, false);
    }
}

static void ev_transfer_done(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    es_client_request_t *r = target;
    if (r->p.gen != arg >> 8) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    if (r->p.phase == PH_DONE) return;
    pod_t *p = &c->pods[r->pod];
    if (!p->alive) {
        epp_end(c, r, es_sim_now(c->sim));
        gateway_reply(c, r, 503);
        return;
    }
    r->p.phase = PH_AT_POD;
    submit_server(p, r, &r->p.sreq, false, true);
}

static void pod_first_token(void *ud, es_server_request_t *sr, es_time_t t)
{
    pod_t *p = ud;
    es_cluster_t *c = p->c;
    if (sr->prefill_only) return;    /* the client's first token comes from the decode pod */
    es_client_request_t *r = req_of(sr);
    if (r->p.phase == PH_DONE) return;
    r->first_token = t + c->hop;
    epp_first_chunk(c, r, t);
}

static void resend(es_cluster_t *c, es_client_request_t *r);

static void pod_finish(void *ud, es_server_request_t *sr, es_time_t t)
{
    pod_t *p = ud;
    es_cluster_t *c = p->c;
    es_client_request_t *r = req_of(sr);
    if (r->p.phase == PH_DONE) return;   /* e.g. the client timed out and aborted */
    if (sr->prefill_only) {
        if (sr->status == ES_SERVER_OK) {
            /* prefill done: KV moves to the decode pod */
            r->cached_tokens = sr->cached_tokens;
            double bytes = c->kv_bytes_per_token * (double)r->prompt.tokens;
            es_time_t xfer = es_time_from_us(c->prm.cluster->kv_transfer_latency_us) +
                             (es_time_t)(bytes * 8.0 / (c->prm.cluster->kv_transfer_gbps * 1e9) * 1e9);
            r->p.phase = PH_TRANSFER;
            epp_first_chunk(c, r, t);
            es_sim_schedule_in(c->sim, xfer, ev_transfer_done, r, r->p.gen << 8);
            return;
        }
    } else {
        r->queue_wait = sr->admitted >= 0 ? sr->admitted - sr->submitted : -1;
        if (r->p.prefill_pod < 0) r->cached_tokens = sr->cached_tokens;
        r->output_received = sr->status == ES_SERVER_OK ? sr->output_tokens : 0;
    }
    r->preemptions += sr->preemptions;
    epp_end(c, r, t);
    if (sr->status == ES_SERVER_UNAVAILABLE && r->retries < (uint32_t)c->prm.cluster->retries_on_crash) {
        r->retries++;
        resend(c, r);
        return;
    }
    int status = sr->status == ES_SERVER_OK ? 200 : sr->status;
    finish_client(c, r, status, t + c->hop);
}

static void pod_gaps(void *ud, es_time_t t, es_time_t gap, uint32_t count)
{
    pod_t *p = ud;
    if (p->c->hooks.on_gaps) p->c->hooks.on_gaps(p->c->hooks.ud, t, gap, count);
}

/* ---------------------------------------------------------------- */
/* EPP: ext_proc                                                     */

static void epp_start(es_cluster_t *c, epp_replica_t *e, es_client_request_t *r);
static void ev_epp_decided(es_sim_t *sim, void *target, uint64_t arg);
static void ev_extproc_reply(es_sim_t *sim, void *target, uint64_t arg);

static bool epp_down(const es_cluster_t *c, es_time_t t)
{
    return in_window(c->outages, c->noutages, t);
}

/* The EPP is unreachable or late: the InferencePool's failure mode decides. */
static void fail_open_or_close(es_cluster_t *c, es_client_request_t *r)
{
    if (c->prm.gateway->failure_mode == ES_FAIL_OPEN) {
        int32_t pod = random_ready_pod(c, true);
        if (pod >= 0) {
            r->p.epp = UINT32_MAX;
            forward_to_pod(c, r, pod, -1);
            return;
        }
    }
    gateway_reply(c, r, 503);
}

static void ev_extproc_timeout(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    es_client_request_t *r = target;
    if (r->p.gen != arg >> 8) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    r->p.extproc_ev = 0;
    if (r->p.phase != PH_EXTPROC || !r->p.extproc_pending) return;
    r->p.extproc_pending = 0;    /* a late answer is dropped */
    if (r->p.decided && r->p.decided_status == 200)
        es_scheduler_on_end(c->epps[r->p.epp].sched, r->id, es_sim_now(sim));
    else if (!r->p.decided)
        es_scheduler_flow_cancel(c->epps[r->p.epp].sched, r->id);
    r->sched_latency = es_sim_now(sim) - r->p.extproc_sent;
    fail_open_or_close(c, r);
}

static void ev_epp_receive(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    es_client_request_t *r = target;
    if (r->p.gen != arg >> 8) return;   /* the record was reused: a stale event */
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
    es_sim_schedule_in(c->sim, c->sched_latency, ev_epp_decided, r, r->p.gen << 8 | e->id);
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
    if (res->status == 200) {
        r->pod = (int32_t)res->primary;
        r->p.prefill_pod = res->prefill;
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

static void flow_cb(void *ud, const es_sched_request_t *req, const es_sched_result_t *res);
static void ev_flow_cycle(es_sim_t *sim, void *target, uint64_t arg);

static void flow_arm(es_cluster_t *c, epp_replica_t *e)
{
    if (e->flow_timer || es_scheduler_flow_queued(e->sched) == 0) return;
    e->flow_timer = true;
    es_sim_schedule_in(c->sim, ES_MS, ev_flow_cycle, e, 0);
}

static void ev_flow_cycle(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    epp_replica_t *e = target;
    es_cluster_t *c = e->c;
    e->flow_timer = false;
    size_t n;
    const es_endpoint_t *cand = candidates(c, e, &n);
    while (es_scheduler_flow_cycle(e->sched, cand, n, es_sim_now(sim), flow_cb, e) > 0) {}
    flow_arm(c, e);
}

static void ev_epp_decided(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    es_client_request_t *r = target;
    es_cluster_t *c = r->p.c;
    epp_replica_t *e = &c->epps[arg & 0xff];
    epp_release(c, e);
    if (r->p.gen != arg >> 8) return;   /* the record was reused: a stale event */
    if (r->p.phase != PH_EXTPROC || !r->p.extproc_pending) return;   /* the gateway gave up already */
    size_t n;
    const es_endpoint_t *cand = candidates(c, e, &n);
    es_sched_result_t res;
    memset(&res, 0, sizeof res);
    es_time_t now = es_sim_now(sim);
    if (c->hooks.on_decision)
        for (size_t i = 0; i < n; i++)
            es_scheduler_get_inflight(e->sched, cand[i].id, &e->inflight[i][0], &e->inflight[i][1]);
    es_scheduler_submit(e->sched, &r->p.sched, cand, n, now, &res);
    if (c->hooks.on_decision && res.status != ES_SCHED_QUEUED)
        c->hooks.on_decision(c->hooks.ud, e->id, &r->p.sched, cand, n, (const int64_t (*)[2])e->inflight, now, &res);
    if (res.status == ES_SCHED_QUEUED) {
        while (es_scheduler_flow_cycle(e->sched, cand, n, now, flow_cb, e) > 0) {}
        flow_arm(c, e);
        return;
    }
    apply_decision(r, &res);
    es_sim_schedule_in(sim, c->hop, ev_extproc_reply, r, r->p.gen << 8);
}

static void flow_cb(void *ud, const es_sched_request_t *req, const es_sched_result_t *res)
{
    epp_replica_t *e = ud;
    es_cluster_t *c = e->c;
    es_client_request_t probe;
    size_t off = (size_t)((char *)&probe.p.sched - (char *)&probe);
    es_client_request_t *r = (es_client_request_t *)((char *)req - off);
    if (r->p.phase != PH_EXTPROC || !r->p.extproc_pending) {   /* gave up while queued */
        if (res->status == 200) es_scheduler_on_end(e->sched, r->id, es_sim_now(c->sim));
        return;
    }
    apply_decision(r, res);
    es_sim_schedule_in(c->sim, c->hop, ev_extproc_reply, r, r->p.gen << 8);
}

static void ev_extproc_reply(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    es_client_request_t *r = target;
    if (r->p.gen != arg >> 8) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    if (r->p.phase != PH_EXTPROC || !r->p.extproc_pending) return;   /* Envoy moved on (timeout) */
    r->p.extproc_pending = 0;
    if (r->p.extproc_ev) { es_sim_cancel(sim, r->p.extproc_ev); r->p.extproc_ev = 0; }
    r->sched_latency = es_sim_now(sim) - r->p.extproc_sent;
    if (r->p.decided_status != 200) {
        gateway_reply(c, r, r->p.decided_status);
        return;
    }
    forward_to_pod(c, r, r->pod, r->p.prefill_pod);
}

/* ---------------------------------------------------------------- */
/* gateway                                                           */

static void resolve_priority(es_cluster_t *c, es_client_request_t *r)
{
    r->p.sched.priority = r->priority;
    if (!r->objective) return;
    for (size_t i = 0; i < c->nobj; i++)
        if (strcmp(c->obj_name[i], r->objective) == 0) { r->p.sched.priority = c->obj_prio[i]; return; }
}

static void ev_gateway_arrive(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    es_client_request_t *r = target;
    if (r->p.gen != arg >> 8) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    if (r->p.phase == PH_DONE) return;
    if (!route_matches(c, r)) {
        gateway_reply(c, r, 404);
        return;
    }
    if (!r->model) {
        /* no body: nothing to schedule on; upstream sends it to a random endpoint */
        int32_t pod = random_ready_pod(c, true);
        if (pod < 0) { gateway_reply(c, r, 503); return; }
        r->p.epp = UINT32_MAX;
        forward_to_pod(c, r, pod, -1);
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
    r->p.extproc_ev = es_sim_schedule_in(sim, c->extproc_timeout, ev_extproc_timeout, r, r->p.gen << 8);
    es_sim_schedule_in(sim, c->hop, ev_epp_receive, r, r->p.gen << 8);
}

static void ev_client_timeout(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    es_client_request_t *r = target;
    if (r->p.gen != arg >> 8) return;   /* the record was reused: a stale event */
    es_cluster_t *c = r->p.c;
    r->p.timeout_ev = 0;
    if (r->p.phase == PH_DONE) return;
    uint8_t phase = r->p.phase;
    r->p.phase = PH_DONE;   /* from here on, late callbacks are ignored */
    if (phase == PH_AT_POD) es_server_abort(c->pods[r->pod].server, &r->p.sreq);
    else if (phase == PH_PREFILL) es_server_abort(c->pods[r->p.prefill_pod].server, &r->p.preq);
    if (r->p.epp != UINT32_MAX && phase >= PH_EXTPROC) {
        es_scheduler_flow_cancel(c->epps[r->p.epp].sched, r->id);
        es_scheduler_on_end(c->epps[r->p.epp].sched, r->id, es_sim_now(sim));
    }
    r->p.phase = PH_NEW;
    /* arg's low bit: 0 the client timed out (408), 1 it cancelled (499) */
    finish_client(c, r, (arg & 1) ? 499 : 408, es_sim_now(sim));
}

static void resend(es_cluster_t *c, es_client_request_t *r)
{
    r->p.phase = PH_NEW;
    r->pod = -1;
    r->p.prefill_pod = -1;
    es_sim_schedule_in(c->sim, c->hop, ev_gateway_arrive, r, r->p.gen << 8);
}

void es_cluster_send(es_cluster_t *c, es_client_request_t *r)
{
    memset(&r->p, 0, sizeof r->p);
    r->p.c = c;
    r->p.gen = ++c->next_gen;
    r->p.prefill_pod = -1;
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
    resolve_priority(c, r);
    c->in_flight++;
    es_time_t give_up = c->client_timeout > 0 ? c->client_timeout : ES_TIME_NEVER;
    uint64_t why = 0;
    double frac = c->prm.gateway->client_cancel_fraction;
    if (frac > 0 && es_rng_uniform(&c->cancel_rng) < frac) {
        es_time_t at = es_time_from_s(es_rng_exp(&c->cancel_rng, c->prm.gateway->client_cancel_after_s));
        if (at < give_up) { give_up = at; why = 1; }
    }
    if (give_up != ES_TIME_NEVER)
        r->p.timeout_ev = es_sim_schedule_in(c->sim, give_up, ev_client_timeout, r, r->p.gen << 8 | why);
    es_sim_schedule_in(c->sim, c->hop, ev_gateway_arrive, r, r->p.gen << 8);
}

uint64_t es_cluster_in_flight(const es_cluster_t *c) { return c->in_flight; }

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
    es_server_crash(p->server, ES_SERVER_UNAVAILABLE);
    if (f->kind == FAULT_RESTART) {
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
    es_err_t err;
    for (uint32_t i = 0; i < c->maxpods; i++) {
        pod_t *p = &c->pods[i];
        if (i < s->replicas) {
            if (!p->wanted) {
                if (p->server && p->alive) {
                    p->wanted = true;
                    es_sim_schedule_in(c->sim, es_time_from_s(c->prm.cluster->readiness_delay_s), ev_pod_ready, p, 0);
                } else if (pod_start(c, i, &err) == 0) {
                    for (uint32_t e = 0; e < c->nepps; e++)
                        es_sim_schedule_in(c->sim, (es_time_t)(es_rng_uniform(&c->epps[e].rng) * (double)c->scrape_every),
                                           ev_scrape_tick, &c->timers[e * c->maxpods + i], 0);
                }
            }
        } else if (p->wanted) {
            /* scale down: no new requests; in-flight ones finish */
            p->wanted = false;
            pod_down(c, p);
        }
    }
}

static int parse_faults(es_cluster_t *c, const es_node_t *list, void ***owned, size_t *nowned, es_err_t *err)
{
    if (!list) return 0;
    int rc = es_node_expect_seq(list, "cluster.faults", err);
    if (rc) return rc;
    for (size_t i = 0; i < list->n; i++) {
        static const char *const keys[] = {"at_s", "kind", "pod", "duration_s", NULL};
        const es_node_t *f = list->items[i];
        if ((rc = es_node_expect_map(f, "cluster.faults[]", err)) ||
            (rc = es_map_check_keys(f, "cluster.faults[]", keys, err)))
            return rc;
        double at = 0, dur = 0;
        int kind = 0;
        int64_t pod = 0;
        if ((rc = node_double(f, "at_s", "cluster.faults[]", 0, 1e12, &at, true, err))) return rc;
        if ((rc = node_double(f, "duration_s", "cluster.faults[]", 0, 1e12, &dur, false, err))) return rc;
        const es_node_t *kn = es_map_get(f, "kind");
        if (!kn) return es_node_err(err, ES_EINVAL, f, "cluster.faults[].kind", "missing");
        if ((rc = es_node_to_enum(kn, "cluster.faults[].kind", k_fault_kinds, &kind, err))) return rc;
        const es_node_t *pn = es_map_get(f, "pod");
        if (pn && (rc = es_node_to_i64(pn, "cluster.faults[].pod", 0, (int64_t)c->maxpods - 1, &pod, err))) return rc;
        if (kind == FAULT_SCRAPE_FAILURE) {
            pod_t *p = &c->pods[pod];
            window_t *w = realloc(p->scrape_fail, (p->nscrape_fail + 1) * sizeof *w);
            if (!w) return ES_ENOMEM;
            p->scrape_fail = w;
            w[p->nscrape_fail++] = (window_t){es_time_from_s(at), es_time_from_s(at + (dur > 0 ? dur : 1e12))};
            continue;
        }
        fault_t *ft = malloc(sizeof *ft);
        void **o = realloc(*owned, (*nowned + 1) * sizeof *o);
        if (!ft || !o) { free(ft); return ES_ENOMEM; }
        *owned = o;
        o[(*nowned)++] = ft;
        *ft = (fault_t){c, kind, (uint32_t)pod};
        es_sim_schedule(c->sim, es_time_from_s(at), ev_fault, ft, 0);
    }
    return 0;
}

static int parse_scaling(es_cluster_t *c, const es_node_t *list, void ***owned, size_t *nowned, es_err_t *err)
{
    if (!list) return 0;
    int rc = es_node_expect_seq(list, "cluster.scaling", err);
    if (rc) return rc;
    for (size_t i = 0; i < list->n; i++) {
        static const char *const keys[] = {"at_s", "replicas", NULL};
        const es_node_t *f = list->items[i];
        if ((rc = es_node_expect_map(f, "cluster.scaling[]", err)) ||
            (rc = es_map_check_keys(f, "cluster.scaling[]", keys, err)))
            return rc;
        double at = 0;
        int64_t n = 0;
        if ((rc = node_double(f, "at_s", "cluster.scaling[]", 0, 1e12, &at, true, err))) return rc;
        const es_node_t *rn = es_map_get(f, "replicas");
        if (!rn) return es_node_err(err, ES_EINVAL, f, "cluster.scaling[].replicas", "missing");
        if ((rc = es_node_to_i64(rn, "cluster.scaling[].replicas", 0, 100000, &n, err))) return rc;
        scale_ev_t *s = malloc(sizeof *s);
        void **o = realloc(*owned, (*nowned + 1) * sizeof *o);
        if (!s || !o) { free(s); return ES_ENOMEM; }
        *owned = o;
        o[(*nowned)++] = s;
        *s = (scale_ev_t){c, (uint32_t)n};
        es_sim_schedule(c->sim, es_time_from_s(at), ev_scale, s, 0);
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* lifecycle                                                         */

static uint32_t max_replicas(const es_cluster_params_t *prm)
{
    uint32_t m = (uint32_t)prm->cluster->replicas;
    const es_node_t *list = prm->cluster->scaling;
    if (list && list->kind == ES_NODE_SEQ)
        for (size_t i = 0; i < list->n; i++) {
            const es_node_t *r = es_map_get(list->items[i], "replicas");
            int64_t v;
            if (r && es_node_to_i64(r, "", 0, 100000, &v, NULL) == 0 && (uint32_t)v > m) m = (uint32_t)v;
        }
    return m;
}

static bool config_wants_kv_events(const es_epp_config_t *cfg)
{
    /* the precise prefix scorer is the only consumer of KV events */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return true;
    es_epp_config_write_yaml(f, cfg);
    fclose(f);
    bool yes = text && strstr(text, "precise-prefix-cache-scorer") != NULL;
    free(text);
    return yes;
}

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
    c->sched_latency = es_time_from_us(prm->epp->scheduling_latency_us);
    c->scrape_every = es_time_from_ms(prm->epp->refresh_interval_ms);
    c->scrape_latency = es_time_from_ms(prm->epp->scrape_latency_ms);
    c->scrape_latency_fails = prm->epp->scrape_latency_ms > prm->epp->scrape_timeout_ms;
    c->kv_delay = es_time_from_ms(prm->cluster->kv_events_delay_ms);
    c->want_kv_events = config_wants_kv_events(prm->picker);
    es_rng_stream(&c->gw_rng, es_sim_master_seed(sim), ENTITY_GATEWAY, 0, ES_STREAM_GATEWAY);
    es_rng_stream(&c->cancel_rng, es_sim_master_seed(sim), ENTITY_GATEWAY, 1, ES_STREAM_GATEWAY);
    int rc;
    if ((rc = parse_routes(c, prm->gateway->routes, err))) goto fail;
    if ((rc = parse_windows(prm->epp->outages, "epp.outages[]", &c->outages, &c->noutages, err))) goto fail;
    if ((rc = parse_objectives(c, prm->epp->objectives, err))) goto fail;
    if ((rc = es_profile_load(prm->server->gpu, &c->profile, err))) goto fail;
    const es_profile_model_t *pm = es_profile_model(c->profile, prm->server->model);
    /* K and V, bf16, every layer: what a P/D transfer moves per prompt token */
    c->kv_bytes_per_token = pm ? 2.0 * pm->shape.layers * pm->shape.kv_heads * pm->shape.head_dim * 2.0 : 0;

    c->maxpods = max_replicas(prm);
    c->pods = calloc(c->maxpods, sizeof *c->pods);
    if (!c->pods) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
    uint32_t nprefill = (uint32_t)prm->cluster->prefill_replicas;
    if (nprefill >= (uint32_t)prm->cluster->replicas && nprefill > 0) {
        rc = es_err_set(err, ES_EINVAL, "cluster.prefill_replicas: %u leaves no decode pod out of %lld replicas",
                        nprefill, (long long)prm->cluster->replicas);
        goto fail;
    }
    const char *pool = prm->pool_name && *prm->pool_name ? prm->pool_name : "vllm";
    for (uint32_t i = 0; i < c->maxpods; i++) {
        pod_t *p = &c->pods[i];
        p->c = c;
        p->id = i;
        snprintf(p->name, sizeof p->name, "%s-%u", pool, i);
        snprintf(p->address, sizeof p->address, "10.0.%u.%u:8000", i / 250, i % 250 + 1);
        p->ep.id = i;
        p->ep.name = p->name;
        p->ep.address = p->address;
        if (nprefill > 0) {
            p->label.key = "llm-d.ai/role";
            p->label.value = i < nprefill ? "prefill" : "decode";
            p->ep.labels = &p->label;
            p->ep.nlabels = 1;
        }
        p->ep.metrics.update_time = -1;
    }
    for (uint32_t i = 0; i < (uint32_t)prm->cluster->replicas; i++)
        if ((rc = pod_start(c, i, err))) goto fail;

    c->nepps = (uint32_t)prm->epp->replicas;
    c->epps = calloc(c->nepps, sizeof *c->epps);
    c->timers = calloc((size_t)c->nepps * c->maxpods, sizeof *c->timers);
    if (!c->epps || !c->timers) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
    for (uint32_t e = 0; e < c->nepps; e++) {
        epp_replica_t *r = &c->epps[e];
        r->c = c;
        r->id = e;
        /* each replica its own streams: derived from the master seed and its index */
        uint64_t seed = es_mix64(es_sim_master_seed(sim) ^ (0x45505000ULL + e));
        if ((rc = es_scheduler_create(prm->picker, seed, &r->sched, err))) goto fail;
        es_rng_stream(&r->rng, es_sim_master_seed(sim), ENTITY_EPP, e, ES_STREAM_SCRAPE);
        r->view = calloc(c->maxpods, sizeof *r->view);
        r->cand = calloc(c->maxpods, sizeof *r->cand);
        r->inflight = calloc(c->maxpods, sizeof *r->inflight);
        if (!r->view || !r->cand || !r->inflight) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
        for (uint32_t i = 0; i < c->maxpods; i++) {
            r->view[i] = c->pods[i].ep;
            scrape_timer_t *t = &c->timers[(size_t)e * c->maxpods + i];
            *t = (scrape_timer_t){c, e, i};
            if (i < (uint32_t)prm->cluster->replicas)
                /* each poller starts with its own phase */
                es_sim_schedule(sim, (es_time_t)(es_rng_uniform(&r->rng) * (double)c->scrape_every),
                                ev_scrape_tick, t, 0);
        }
    }
    if ((rc = parse_faults(c, prm->cluster->faults, &c->owned, &c->nowned, err))) goto fail;
    if ((rc = parse_scaling(c, prm->cluster->scaling, &c->owned, &c->nowned, err))) goto fail;
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
    }
    free(c->pods);
    for (uint32_t e = 0; c->epps && e < c->nepps; e++) {
        es_scheduler_destroy(c->epps[e].sched);
        free(c->epps[e].view);
        free(c->epps[e].cand);
        free(c->epps[e].inflight);
    }
    free(c->epps);
    free(c->timers);
    for (size_t i = 0; i < c->nroutes; i++) {
        free(c->routes[i].path);
        for (uint32_t k = 0; k < c->routes[i].nheaders; k++) { free(c->routes[i].hname[k]); free(c->routes[i].hvalue[k]); }
        free(c->routes[i].hname);
        free(c->routes[i].hvalue);
    }
    free(c->routes);
    free(c->outages);
    for (size_t i = 0; i < c->nobj; i++) free(c->obj_name[i]);
    free(c->obj_name);
    free(c->obj_prio);
    for (size_t i = 0; i < c->nowned; i++) free(c->owned[i]);
    free(c->owned);
    free(c->kvq);
    es_profile_free(c->profile);
    free(c);
}

uint32_t es_cluster_pod_count(const es_cluster_t *c) { return c->npods; }

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
    out->role = p->label.value ? p->label.value : "";
    out->ready = p->ready;
    out->requests = p->requests;
    if (p->server) {
        es_server_metrics(p->server, &out->now);
        es_server_stats(p->server, &out->stats);
    }
}
