/*
 * live.c -- the network side of `eppsim serve` (see es_live.h): libuv
 * listeners and connections, HTTP/1.1 through http-parser, and the pods'
 * shared es_sim_t driven by the wall clock through a timerfd.
 */
#define _GNU_SOURCE   /* timerfd */
#include "es_live.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <zmq.h>

#include "es_live_conn.h"
#include "es_live_http.h"
#include "es_live_kvev.h"
#include "es_rng.h"
#include "es_sim.h"

typedef struct live_pod live_pod_t;
typedef struct live_conn live_conn_t;

/* Steps whose tokens can wait for the API server at once, to begin with:
 * a pod's queue doubles when its API-server delay spans more steps (so an
 * allocation only when it passes its previous peak, never per step). */
#define LIVE_DELIVERIES 64

/* One completion in flight: owned by the pod from submit to on_finish. */
typedef struct live_req {
    es_server_request_t sr;        /* first: the hooks cast back */
    live_pod_t  *pod;
    live_conn_t *conn;             /* NULL once the client has gone */
    struct live_req *next, *prev;  /* pod's active list */
    es_live_completion_t c;
    es_segment_t *segs;
    uint32_t     sent;             /* tokens sent to the client */
    int64_t      created;          /* unix seconds */
    char         id[40];
} live_req_t;

struct live_pod {
    es_live_t   *lv;
    uint32_t     index;
    uv_tcp_t     listener;
    int          port;
    es_server_t *srv;
    live_req_t  *active;           /* streaming and non-streaming requests in flight */
    uint64_t     next_id;
    bool         dirty;            /* tokens may have moved since the last flush */
    es_time_t    dirty_at;         /* sim time of the first event that set dirty */
    /* steps whose tokens the model's API server has not sent yet: their send
     * times (sim, non-decreasing), oldest at dq_head */
    es_time_t   *dq;
    uint32_t     dq_head, dq_n, dq_cap;
    es_time_t    dq_step;          /* the end of the step last queued (a step reports its gaps twice) */
    es_event_id_t deliver_ev;      /* flushes at dq's oldest send time; 0 none */
    es_live_kvev_t *kv;            /* KV event publisher, NULL when off */
    bool         down;             /* crashed: not listening (connections refused) */
    bool         relisten;         /* restart due while the listener was still closing */
    bool         listener_closing; /* uv_close called, its callback not yet run */
    es_rng_t     scrape_rng;       /* scrape_failure_rate draws */
    es_live_pod_stats_t st;
};

struct live_conn {
    uv_tcp_t     tcp;
    live_pod_t  *pod;
    es_live_http_t http;
    bool         closing, busy, keep_alive;
    bool         started;          /* bytes of the next request have arrived */
    size_t       unsent;           /* es_live_unsent at the last reap (idle only) */
    bool         failed;           /* on es_live.failed: a write failed, closed at the callback's end */
    live_conn_t *next_failed;
    uint64_t     since;            /* wall ms of its last activity (accepted, a request's first bytes, a response queued) */
    live_req_t  *req;
    live_conn_t *next, *prev;
    es_event_id_t scrape_ev;       /* a /metrics answer waiting for the scrape latency; 0 none */
    es_live_buf_t scrape;          /* its page */
};

struct es_live {
    es_live_config_t cfg;
    uv_loop_t   *loop;
    es_sim_t    *sim;
    uint64_t     t0;               /* uv_hrtime at sim time 0 */
    double       unix0;            /* unix time at sim time 0, seconds (KV event batches' ts) */
    void        *zctx;             /* zmq context of the KV event publishers, NULL when off */
    int          tfd;
    uv_poll_t    tpoll;
    bool         tpoll_open;
    uv_timer_t   reaper;           /* closes connections idle past cfg.idle_timeout_ms */
    bool         reaper_open;
    live_pod_t  *pods;
    uint32_t     npods;
    live_conn_t *conns;
    uint32_t     nconns;
    bool         closed;
    char         listen[64];
    char         model[128];
    char        *model_json;       /* the model name as a JSON string (quoted, escaped) */
    es_live_buf_t scratch_out;     /* reused by every streamed token */
    char         rbuf[65536];      /* every connection's reads, parsed at once */
    es_live_lat_hist_t *lat;       /* step lateness (cfg.stats), else NULL */
    es_live_lat_hist_t *tok;       /* token lateness (cfg.stats), else NULL */
    live_conn_t *failed;           /* connections to close once the current callback is done */
    size_t       queued;           /* bytes in every connection's write queue (cfg.max_queued) */
};

/* ---- the clock ---- */

static es_time_t wall_sim_now(const es_live_t *lv)
{
    return (es_time_t)((double)(uv_hrtime() - lv->t0) * lv->cfg.time_scale);
}

static bool flush_pod(live_pod_t *p);
static void sweep_failed(es_live_t *lv);

/* The wall time (uv_hrtime ns) sim time t is due. */
static uint64_t wall_due(const es_live_t *lv, es_time_t t)
{
    /* a fault at 1e9 s over --time-scale 0.001 is 1e21 wall ns: past uint64,
     * so due "never" (year 2255), not a cast out of range */
    double w = (double)t / lv->cfg.time_scale;
    return lv->t0 + (w < 9e18 ? (uint64_t)w : 9000000000000000000u);
}

/* An engine event is due by the wall clock. */
static bool event_due(const es_live_t *lv)
{
    es_time_t next = es_sim_next_time(lv->sim);
    return next != ES_TIME_NEVER && next <= wall_sim_now(lv);
}

void es_live_lat_add(es_live_lat_hist_t *h, uint64_t ns)
{
    h->n++;
    if (ns > h->max_ns) h->max_ns = ns;
    uint64_t us = ns / 1000;
    if (us < ES_LIVE_LAT_FINE) h->fine[us]++;
    else if (us < ES_LIVE_LAT_FINE + 100ull * ES_LIVE_LAT_COARSE) h->coarse[(us - ES_LIVE_LAT_FINE) / 100]++;
    else h->over++;
}

double es_live_lat_quantile_us(const es_live_lat_hist_t *h, double q)
{
    if (h->n == 0) return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->n), seen = 0;
    if (rank == 0) rank = 1;
    for (uint32_t i = 0; i < ES_LIVE_LAT_FINE; i++)
        if ((seen += h->fine[i]) >= rank) return i + 1.0;
    for (uint32_t i = 0; i < ES_LIVE_LAT_COARSE; i++)
        if ((seen += h->coarse[i]) >= rank) return ES_LIVE_LAT_FINE + 100.0 * (i + 1);
    return (double)h->max_ns / 1000.0;
}

/* Runs the events due by sim time `now`, one sim time at a time, so that
 * each can be timed against the wall time it was scheduled for. */
static void run_due(es_live_t *lv, es_time_t now)
{
    if (!lv->lat) {
        if (now > es_sim_now(lv->sim)) es_sim_run(lv->sim, now);
        return;
    }
    es_time_t next;
    while ((next = es_sim_next_time(lv->sim)) != ES_TIME_NEVER && next <= now) {
        uint64_t due = wall_due(lv, next), at = uv_hrtime();
        es_live_lat_add(lv->lat, at > due ? at - due : 0);
        es_sim_run(lv->sim, next);
    }
    if (now > es_sim_now(lv->sim)) es_sim_run(lv->sim, now);
}

static void arm_timer(es_live_t *lv)
{
    if (lv->tfd < 0) return;
    es_time_t next = es_sim_next_time(lv->sim);
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    bool pending = false;   /* tokens left unsent by a bounded advance: come back at once */
    for (uint32_t i = 0; i < lv->npods && !pending; i++) pending = lv->pods[i].dirty;
    if (pending) {
        its.it_value.tv_nsec = 1;   /* an absolute time long past: fires now (all zero would disarm) */
    } else if (next != ES_TIME_NEVER) {
        uint64_t at = wall_due(lv, next) + 1;
        its.it_value.tv_sec = (time_t)(at / 1000000000u);
        its.it_value.tv_nsec = (long)(at % 1000000000u);
    }
    timerfd_settime(lv->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Runs every event due by the wall clock and streams what moved, then
 * re-arms.  Streaming is many socket writes; an engine event that falls due
 * meanwhile runs first (flush_pod stops for it, and a pod left dirty is
 * flushed again from its first request: what was sent is not sent twice),
 * so a step is not late because other pods' tokens were being written.  At
 * most ADVANCE_PASSES such interruptions per call: a server that cannot keep
 * up still returns to the loop (reads, accepts) and comes back at once. */
#define ADVANCE_PASSES 64
static void advance(es_live_t *lv)
{
    for (int pass = 0; pass < ADVANCE_PASSES; pass++) {
        run_due(lv, wall_sim_now(lv));
        bool flushed = true;
        for (uint32_t i = 0; i < lv->npods && flushed; i++)
            if (lv->pods[i].dirty) flushed = flush_pod(&lv->pods[i]);
        if (flushed) break;
    }
    for (uint32_t i = 0; i < lv->npods; i++)
        if (lv->pods[i].kv) es_live_kvev_flush(lv->pods[i].kv);
    sweep_failed(lv);
    arm_timer(lv);
}

static void on_tick(uv_poll_t *h, int status, int events)
{
    (void)status; (void)events;
    es_live_t *lv = h->data;
    uint64_t expirations;
    if (read(lv->tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) return;
    advance(lv);
}

/* ---- writing ---- */

typedef struct live_write {
    uv_write_t w;
    size_t     n;                  /* counted in es_live.queued until written or cancelled */
    char       data[];
} live_write_t;

static void conn_close(live_conn_t *c);

/* A write failed where closing at once is not safe: closing aborts the
 * connection's request, which frees it under the loops that stream to it
 * (flush_pod, send_tokens).  The connection takes no more writes and is
 * closed by sweep_failed at the end of the callback. */
static void conn_fail(live_conn_t *c)
{
    if (c->closing || c->failed) return;
    es_live_t *lv = c->pod->lv;
    c->failed = true;
    c->next_failed = lv->failed;
    lv->failed = c;
}

static void sweep_failed(es_live_t *lv)
{
    while (lv->failed) {
        live_conn_t *c = lv->failed;
        lv->failed = c->next_failed;
        c->next_failed = NULL;
        c->failed = false;   /* off the list: conn_close's callback need not look for it */
        conn_close(c);
    }
}

/* Wall milliseconds, read now: uv_now is the loop iteration's start, which
 * a long iteration (a backlog of engine steps) leaves far behind. */
static uint64_t now_ms(void) { return uv_hrtime() / 1000000u; }

static void on_written(uv_write_t *w, int status)
{
    /* a failed write (EPIPE, ECONNRESET): the client hung up mid-response; while a
     * request is in flight nothing reads the socket, so this is how it is seen */
    live_write_t *lw = (live_write_t *)w;
    live_conn_t *c = w->handle->data;
    c->pod->lv->queued -= lw->n;
    if (status < 0 && status != UV_ECANCELED) conn_close(c);
    free(lw);
}

static void conn_write(live_conn_t *c, const char *data, size_t n)
{
    if (c->closing || c->failed || n == 0) return;
    /* a client that stops reading is cut off rather than buffered without bound */
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > 8u << 20) { conn_fail(c); return; }
    /* straight to the socket when nothing is queued before it (the usual
     * case): no allocation; the rest, if any, is queued in order */
    uv_buf_t now = uv_buf_init((char *)data, (unsigned)n);
    int sent = uv_try_write((uv_stream_t *)&c->tcp, &now, 1);
    if (sent == (int)n) return;
    if (sent < 0 && sent != UV_EAGAIN) { conn_fail(c); return; }
    if (sent > 0) { data += sent; n -= (size_t)sent; }
    /* and all slow clients together stay within max_queued: memory is bounded
     * however many connect (the one that would pass it is cut off) */
    es_live_t *lv = c->pod->lv;
    if (lv->cfg.max_queued && lv->queued + n > lv->cfg.max_queued) { conn_fail(c); return; }
    live_write_t *w = malloc(sizeof *w + n);
    if (!w) { conn_fail(c); return; }
    w->n = n;
    memcpy(w->data, data, n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->w, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(w);
        conn_fail(c);
        return;
    }
    lv->queued += n;
}

static void conn_done(live_conn_t *c);
static void conn_end(live_conn_t *c);

static void respond(live_conn_t *c, int status, const char *ctype, const char *body, size_t n)
{
    char head[256];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", status,
                     es_live_reason(status), ctype, n, c->keep_alive ? "" : "Connection: close\r\n");
    es_live_buf_t b = {0};
    es_live_buf_append(&b, head, (size_t)h);
    es_live_buf_append(&b, body, n);
    if (b.oom) conn_close(c);
    else conn_write(c, b.data, b.len);
    es_live_buf_free(&b);
    conn_done(c);
}

static void respond_error(live_conn_t *c, int status, const char *msg)
{
    char *s = es_live_error_body(status, msg);
    if (!s) { conn_close(c); return; }
    respond(c, status, "application/json", s, strlen(s));
    free(s);
}

/* One chunk of the chunked body, as one write (one segment with TCP_NODELAY). */
static void chunk(live_conn_t *c, const char *data, size_t n)
{
    es_live_buf_t b = {0};
    es_live_buf_printf(&b, "%zx\r\n", n);
    es_live_buf_append(&b, data, n);
    es_live_buf_append(&b, "\r\n", 2);
    if (b.oom) conn_close(c);
    else conn_write(c, b.data, b.len);
    es_live_buf_free(&b);
}

/* ---- completions ---- */

static cJSON *usage_json(const live_req_t *r, uint32_t completion)
{
    cJSON *u = cJSON_CreateObject();
    uint32_t prompt = r->sr.prompt.tokens;
    cJSON_AddNumberToObject(u, "prompt_tokens", prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", completion);
    cJSON_AddNumberToObject(u, "total_tokens", (double)prompt + completion);
    if (r->sr.cached_tokens) {
        cJSON *d = cJSON_AddObjectToObject(u, "prompt_tokens_details");
        cJSON_AddNumberToObject(d, "cached_tokens", r->sr.cached_tokens);
    }
    return u;
}

static cJSON *response_base(const live_req_t *r, bool chunked)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", r->id);
    cJSON_AddStringToObject(j, "object",
                            r->c.chat ? (chunked ? "chat.completion.chunk" : "chat.completion") : "text_completion");
    cJSON_AddNumberToObject(j, "created", (double)r->created);
    cJSON_AddStringToObject(j, "model", r->pod->lv->model);
    return j;
}

static void sse(live_conn_t *c, cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) { conn_close(c); return; }
    size_t n = strlen(s);
    es_live_buf_t b = {0};
    es_live_buf_printf(&b, "%zx\r\ndata: ", n + 8);
    es_live_buf_append(&b, s, n);
    es_live_buf_append(&b, "\n\n\r\n", 4);
    free(s);
    if (b.oom) conn_close(c);
    else conn_write(c, b.data, b.len);
    es_live_buf_free(&b);
}

/* Streams tokens [r->sent, upto) as one event each, in one write: a server
 * running behind (several steps in one wake-up) makes one system call per
 * stream, not one per token. */
static void send_tokens(live_req_t *r, uint32_t upto)
{
    es_live_t *lv = r->pod->lv;
    lv->scratch_out.len = 0;
    lv->scratch_out.oom = false;
    for (; r->sent < upto && !r->conn->failed; r->sent++)
        es_live_sse_token_chunk(&lv->scratch_out, r->c.chat, r->id, (long long)r->created, lv->model_json,
                                r->sr.output_segment, r->sent, 1, r->sent + 1 == r->sr.output_tokens);
    if (lv->scratch_out.oom) conn_fail(r->conn);
    else conn_write(r->conn, lv->scratch_out.data, lv->scratch_out.len);
}

static void stream_head(live_conn_t *c)
{
    static const char h[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n";
    conn_write(c, h, sizeof h - 1);
}

/* Sends the tokens the engine has produced since the last call, one event each. */
static uint32_t pod_pending(live_pod_t *p, es_time_t now);

static void flush_req(live_req_t *r)
{
    if (!r->conn || !r->c.stream) return;
    es_time_t now = es_sim_now(r->pod->lv->sim);
    uint32_t have = es_server_request_outputs(r->pod->srv, &r->sr);
    if (have > r->sr.output_tokens) have = r->sr.output_tokens;
    /* not before the API server sends them (first_token is that time; one
     * token per step not yet sent is held back) */
    if (r->sr.first_token < 0 || r->sr.first_token > now) return;
    uint32_t held = pod_pending(r->pod, now);
    have = have > held ? have - held : 0;
    if (r->sent == 0 && have == 0) have = 1;   /* the first token is out */
    if (r->sent < have) send_tokens(r, have);
}

/* Sends every stream of the pod what it has made; false (the pod still
 * dirty) when an engine event fell due meanwhile (advance runs it first). */
static bool flush_pod(live_pod_t *p)
{
    es_live_t *lv = p->lv;
    for (live_req_t *r = p->active; r; r = r->next) {
        flush_req(r);
        if (r->next && event_due(lv)) return false;
    }
    p->dirty = false;
    if (lv->tok) {
        uint64_t due = wall_due(lv, p->dirty_at), at = uv_hrtime();
        es_live_lat_add(lv->tok, at > due ? at - due : 0);
    }
    return true;
}

static void finish_stream(live_req_t *r)
{
    flush_req(r);
    if (r->conn && r->sent < r->sr.output_tokens) send_tokens(r, r->sr.output_tokens);   /* the last step's tokens */
    live_conn_t *c = r->conn;
    if (!c) return;
    if (r->c.include_usage) {
        cJSON *j = response_base(r, true);
        cJSON_AddArrayToObject(j, "choices");
        cJSON_AddItemToObject(j, "usage", usage_json(r, r->sent));
        sse(c, j);
    }
    static const char done[] = "data: [DONE]\n\n";
    if (!c->closing) chunk(c, done, sizeof done - 1);
    conn_write(c, "0\r\n\r\n", 5);
    conn_done(c);
}

static void finish_whole(live_req_t *r)
{
    live_conn_t *c = r->conn;
    es_live_buf_t text = {0};
    es_live_filler(&text, r->sr.output_segment, 0, r->sr.output_tokens);
    cJSON *j = response_base(r, false), *ch = cJSON_AddArrayToObject(j, "choices"), *c0 = cJSON_CreateObject();
    cJSON_AddItemToArray(ch, c0);
    cJSON_AddNumberToObject(c0, "index", 0);
    if (r->c.chat) {
        cJSON *m = cJSON_AddObjectToObject(c0, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "content", text.data ? text.data : "");
    } else {
        cJSON_AddStringToObject(c0, "text", text.data ? text.data : "");
    }
    cJSON_AddStringToObject(c0, "finish_reason", "length");
    cJSON_AddItemToObject(j, "usage", usage_json(r, r->sr.output_tokens));
    es_live_buf_free(&text);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) { conn_close(c); return; }
    respond(c, 200, "application/json", s, strlen(s));
    free(s);
}

static void req_free(live_req_t *r)
{
    es_live_completion_fini(&r->c);
    free(r->segs);
    free(r);
}

static void mark_dirty(live_pod_t *p, es_time_t t)
{
    if (!p->dirty) p->dirty_at = t;
    p->dirty = true;
}

static void on_first_token(void *ud, es_server_request_t *sr, es_time_t t)
{
    live_pod_t *p = ud;
    es_live_hist_add(&p->st.ttft, (double)(t - sr->submitted) * 1e-9, 1);
    mark_dirty(p, t);
}

/* Steps of p still waiting for the API server at sim time now. */
static uint32_t pod_pending(live_pod_t *p, es_time_t now)
{
    while (p->dq_n && p->dq[p->dq_head] <= now) {
        p->dq_head = (p->dq_head + 1) % p->dq_cap;
        p->dq_n--;
    }
    return p->dq_n;
}

/* The API server sends a step's tokens now: they are flushed. */
static void ev_deliver(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    live_pod_t *p = target;
    es_time_t now = es_sim_now(sim);
    p->deliver_ev = 0;
    mark_dirty(p, now);
    if (pod_pending(p, now)) p->deliver_ev = es_sim_schedule(sim, p->dq[p->dq_head], ev_deliver, p, 0);
}

/* Doubles p's delivery queue (full), keeping its order; false when out of memory. */
static bool dq_grow(live_pod_t *p)
{
    uint32_t cap = p->dq_cap ? p->dq_cap * 2 : LIVE_DELIVERIES;
    if (cap < p->dq_cap) return false;
    es_time_t *q = malloc((size_t)cap * sizeof *q);
    if (!q) return false;
    for (uint32_t i = 0; i < p->dq_n; i++) q[i] = p->dq[(p->dq_head + i) % p->dq_cap];
    free(p->dq);
    p->dq = q;
    p->dq_cap = cap;
    p->dq_head = 0;
    return true;
}

/* A step's tokens: `t` is when the model's API server sends them (the step's
 * end plus its delay: server.vllm_version's api_chunk_us per chunk, queued
 * behind the server's other work); the streams get them then, not at the
 * step's end.  Each decoding request has one token per step, so a stream
 * holds back as many tokens as its pod has steps not yet sent (flush_req). */
static void on_decode_gaps(void *ud, es_time_t t, es_time_t gap, uint32_t count, uint32_t measured)
{
    (void)measured;
    live_pod_t *p = ud;
    es_live_hist_add(&p->st.itl, (double)gap * 1e-9, count);
    es_sim_t *sim = p->lv->sim;
    es_time_t now = es_sim_now(sim);
    if (t <= now) { mark_dirty(p, t); return; }
    if (p->dq_n && p->dq_step == now) return;   /* this step is queued already */
    if (p->dq_n == p->dq_cap && !dq_grow(p)) {  /* out of memory: the oldest step goes out early */
        p->dq_head = (p->dq_head + 1) % p->dq_cap;
        p->dq_n--;
        mark_dirty(p, now);
    }
    p->dq[(p->dq_head + p->dq_n++) % p->dq_cap] = t;
    p->dq_step = now;
    if (!p->deliver_ev && !(p->deliver_ev = es_sim_schedule(sim, p->dq[p->dq_head], ev_deliver, p, 0)))
        mark_dirty(p, t);
}

static void on_kv_event(void *ud, const es_kv_event_t *ev)
{
    live_pod_t *p = ud;
    es_live_t *lv = p->lv;
    es_live_kv_event_t e = {*ev, ev->kind == ES_KV_BLOCK_STORED ? es_server_kv_event_parent(p->srv) : 0};
    es_live_kvev_add(p->kv, &e, lv->unix0 + (double)ev->time / lv->cfg.time_scale * 1e-9);
}

static void on_finish(void *ud, es_server_request_t *sr, es_time_t t)
{
    (void)t;
    live_pod_t *p = ud;
    live_req_t *r = (live_req_t *)sr;
    if (r->prev) r->prev->next = r->next; else p->active = r->next;
    if (r->next) r->next->prev = r->prev;
    if (sr->status == ES_SERVER_OK) {
        p->st.success++;
        p->st.prompt_tokens += sr->prompt.tokens - sr->cached_tokens;
        p->st.generation_tokens += sr->output_tokens;
    }
    if (r->conn) {
        live_conn_t *c = r->conn;
        c->req = NULL;
        if (sr->status != ES_SERVER_OK) {
            if (r->c.stream && r->sent > 0) conn_close(c);
            else respond_error(c, sr->status == ES_SERVER_TOO_LONG ? 400 : 503,
                               sr->status == ES_SERVER_TOO_LONG
                                   ? "prompt plus max_tokens exceeds the model's context or KV cache"
                                   : "the pod cannot serve the request");
        } else if (r->c.stream) {
            finish_stream(r);
        } else {
            finish_whole(r);
        }
    }
    req_free(r);
}

static void start_completion(live_conn_t *c, bool chat)
{
    live_pod_t *p = c->pod;
    char msg[160];
    live_req_t *r = calloc(1, sizeof *r);
    if (!r) { respond_error(c, 500, "out of memory"); return; }
    if (es_live_parse_completion(c->http.body.data ? c->http.body.data : "", c->http.body.len, chat, &r->c, msg, sizeof msg)) {
        free(r);
        respond_error(c, 400, msg);
        return;
    }
    if (r->c.model[0] && strcmp(r->c.model, p->lv->model) != 0) {
        req_free(r);
        respond_error(c, 404, "model: not served here (see /v1/models)");
        return;
    }
    r->segs = malloc(sizeof *r->segs * es_live_segment_count(r->c.prompt_len));
    if (!r->segs) { req_free(r); respond_error(c, 500, "out of memory"); return; }
    es_live_tokenize(r->c.prompt, r->c.prompt_len, r->segs, &r->sr.prompt);
    r->pod = p;
    r->conn = c;
    r->created = (int64_t)time(NULL);
    uint64_t n = p->next_id++;
    snprintf(r->id, sizeof r->id, "%s-%u-%" PRIu64, chat ? "chatcmpl" : "cmpl", p->index, n);
    r->sr.id = ((uint64_t)p->index << 40) | n;
    r->sr.output_tokens = r->c.max_tokens;
    r->sr.output_segment = es_mix64(p->lv->cfg.seed ^ es_mix64(r->sr.id + 1));
    r->next = p->active;
    if (p->active) p->active->prev = r;
    p->active = r;
    c->req = r;
    es_live_t *lv = p->lv;
    run_due(lv, wall_sim_now(lv));
    if (r->c.stream) stream_head(c);
    es_server_submit(p->srv, &r->sr);   /* may finish at once (400) */
    if (p->kv) es_live_kvev_flush(p->kv);
    arm_timer(lv);
}

/* ---- simple endpoints ---- */

static void respond_json(live_conn_t *c, cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) { conn_close(c); return; }
    respond(c, 200, "application/json", s, strlen(s));
    free(s);
}

static void models(live_conn_t *c)
{
    cJSON *j = cJSON_CreateObject(), *d;
    cJSON_AddStringToObject(j, "object", "list");
    d = cJSON_AddArrayToObject(j, "data");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", c->pod->lv->model);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddStringToObject(m, "owned_by", "eppsim");
    cJSON_AddItemToArray(d, m);
    respond_json(c, j);
}

/* A scrape_failure window of the fault schedule covers pod p at sim time t. */
static bool scrape_failing(const es_live_t *lv, const live_pod_t *p, es_time_t t)
{
    for (size_t i = 0; i < lv->cfg.nfaults; i++) {
        const es_fault_t *f = &lv->cfg.faults[i];
        if (f->kind != ES_FAULT_SCRAPE_FAILURE || f->pod != p->index || t < es_time_from_s(f->at_s)) continue;
        if (f->duration_s <= 0 || t < es_time_from_s(f->at_s + f->duration_s)) return true;
    }
    return false;
}

static void send_scrape(live_conn_t *c)
{
    if (c->scrape.oom) respond_error(c, 500, "out of memory");
    else if (!c->scrape.data) respond_error(c, 503, "scrape failure (fault schedule)");
    else respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", c->scrape.data, c->scrape.len);
    es_live_buf_free(&c->scrape);
}

static void ev_scrape_due(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    live_conn_t *c = target;
    c->scrape_ev = 0;
    send_scrape(c);
}

/* The page holds the values at the scrape's start; it is sent after the
 * scrape latency, or answers 503 in a scrape_failure window or by
 * scrape_failure_rate. */
static void metrics(live_conn_t *c)
{
    live_pod_t *p = c->pod;
    es_live_t *lv = p->lv;
    advance(lv);
    es_time_t now = es_sim_now(lv->sim);
    bool fail = scrape_failing(lv, p, now) ||
                (lv->cfg.scrape_failure_rate > 0 && es_rng_uniform(&p->scrape_rng) < lv->cfg.scrape_failure_rate);
    c->scrape = (es_live_buf_t){0};
    if (!fail) {
        es_server_metrics(p->srv, &p->st.m);
        es_server_stats_t ss;
        es_server_stats(p->srv, &ss);
        p->st.preemptions = ss.preemptions;
        es_live_write_metrics(&c->scrape, &p->st);
    }
    if (lv->cfg.scrape_latency_ms <= 0) { send_scrape(c); return; }
    c->scrape_ev = es_sim_schedule(lv->sim, now + es_time_from_ms(lv->cfg.scrape_latency_ms), ev_scrape_due, c, 0);
    arm_timer(lv);
}

static void dispatch(live_conn_t *c)
{
    const char *m = http_method_str((enum http_method)c->http.method);
    const char *path = c->http.url;
    size_t plen = strcspn(path, "?");
    bool post = c->http.method == HTTP_POST, get = c->http.method == HTTP_GET;
#define IS(s) (plen == sizeof(s) - 1 && memcmp(path, s, plen) == 0)
    if (IS("/v1/completions") || IS("/v1/chat/completions")) {
        if (!post) { respond_error(c, 405, "use POST"); return; }
        start_completion(c, IS("/v1/chat/completions"));
    } else if (IS("/health") || IS("/v1/models") || IS("/metrics")) {
        if (!get) { respond_error(c, 405, "use GET"); return; }
        if (IS("/health")) respond(c, 200, "text/plain", "", 0);
        else if (IS("/metrics")) metrics(c);
        else models(c);
    } else {
        char msg[96];
        snprintf(msg, sizeof msg, "%s: no such route", m);
        respond_error(c, 404, msg);
    }
#undef IS
}

/* ---- connections ---- */

static void on_conn_closed(uv_handle_t *h)
{
    live_conn_t *c = h->data;
    es_live_t *lv = c->pod->lv;
    if (c->scrape_ev) {   /* closed after its writes (conn_end) with a /metrics answer still due */
        es_sim_cancel(lv->sim, c->scrape_ev);
        c->scrape_ev = 0;
        es_live_buf_free(&c->scrape);
    }
    if (c->failed)   /* closed another way before the sweep */
        for (live_conn_t **q = &lv->failed; *q; q = &(*q)->next_failed)
            if (*q == c) { *q = c->next_failed; break; }
    if (c->prev) c->prev->next = c->next; else lv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    lv->nconns--;
    es_live_http_fini(&c->http);
    free(c);
}

/* Closes after the queued writes have gone out. */
static void conn_end(live_conn_t *c)
{
    if (c->closing) return;
    if (es_live_close_after_writes((uv_stream_t *)&c->tcp, on_conn_closed) != 0) { conn_close(c); return; }
    c->closing = true;
}

static void conn_close(live_conn_t *c)
{
    if (c->closing) return;
    c->closing = true;
    if (c->scrape_ev) {
        es_sim_cancel(c->pod->lv->sim, c->scrape_ev);
        c->scrape_ev = 0;
        es_live_buf_free(&c->scrape);
    }
    if (c->req) {   /* client gone: the pod stops working for it */
        live_req_t *r = c->req;
        c->req = NULL;
        r->conn = NULL;
        es_server_abort(c->pod->srv, &r->sr);
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    es_live_t *lv = ((live_conn_t *)h->data)->pod->lv;   /* one read buffer: consumed before the next read */
    *buf = uv_buf_init(lv->rbuf, sizeof lv->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);


/* A response has been queued in full: read the next request or close. */
static void conn_done(live_conn_t *c)
{
    c->busy = false;
    c->started = false;
    c->since = now_ms();
    c->unsent = SIZE_MAX;
    if (c->closing || c->failed) return;
    if (!c->keep_alive) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        conn_end(c);
        return;
    }
    es_live_http_next(&c->http);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    live_conn_t *c = s->data;
    es_live_t *lv = c->pod->lv;
    if (nread < 0) { conn_close(c); return; }
    if (nread == 0 || c->closing) return;
    if (c->busy) { conn_close(c); return; }   /* bytes while a request is in flight: not supported */
    /* idle until a request starts, which then has the idle timeout to arrive
     * whole: a client trickling bytes (slowloris) is cut off all the same */
    if (!c->started) { c->since = now_ms(); c->started = true; }
    size_t used;
    int rc = es_live_http_feed(&c->http, buf->base, (size_t)nread, &used);
    if (rc == ES_LIVE_HTTP_MORE) return;
    uv_read_stop(s);
    c->busy = true;
    if (rc == ES_LIVE_HTTP_DONE) {
        c->keep_alive = c->http.keep_alive && used == (size_t)nread;   /* pipelined: answer, then close */
        dispatch(c);
    } else {
        c->keep_alive = false;
        respond_error(c, rc, es_live_http_error(&c->http, rc));
    }
    sweep_failed(lv);
}

static void on_connection(uv_stream_t *server, int status)
{
    live_pod_t *p = server->data;
    es_live_t *lv = p->lv;
    if (status < 0 || lv->closed) return;
    live_conn_t *c = calloc(1, sizeof *c);
    if (!c) return;
    uv_tcp_init(lv->loop, &c->tcp);
    c->tcp.data = c;
    c->pod = p;
    c->since = now_ms();
    es_live_http_init(&c->http, lv->cfg.max_header, lv->cfg.max_body);
    c->next = lv->conns;
    if (lv->conns) lv->conns->prev = c;
    lv->conns = c;
    lv->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || lv->nconns > lv->cfg.max_conns) {
        conn_close(c);   /* over the cap: accepted and closed at once */
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->keep_alive = true;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* A connection without a request in flight (idle, still sending its request,
 * or not reading what it was sent) for longer than the idle timeout is
 * closed: nothing waits forever. */
static void on_reap(uv_timer_t *t)
{
    es_live_t *lv = t->data;
    uint64_t now = now_ms();
    for (live_conn_t *c = lv->conns; c; c = c->next) {
        if (c->busy || c->closing) continue;
        size_t unsent = c->started ? 0 : es_live_unsent(&c->tcp);
        if (unsent < c->unsent) c->since = now;   /* the client is taking its response */
        c->unsent = unsent;
        if (now - c->since > lv->cfg.idle_timeout_ms) conn_close(c);
    }
}

/* ---- faults ---- */

static void ev_fault(es_sim_t *sim, void *target, uint64_t arg);

/* Listens on the pod's port (cfg.port + index, or its first ephemeral port
 * again after a restart). */
static int pod_listen(live_pod_t *p, es_err_t *err)
{
    es_live_t *lv = p->lv;
    int port = p->port ? p->port : lv->cfg.port ? lv->cfg.port + (int)p->index : 0;
    struct sockaddr_storage addr;
    if (uv_ip4_addr(lv->listen, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(lv->listen, port, (struct sockaddr_in6 *)&addr) != 0)
        return es_err_set(err, ES_EINVAL, "--listen: %s: not an IPv4 or IPv6 address", lv->listen);
    uv_tcp_init(lv->loop, &p->listener);
    p->listener.data = p;
    int e = uv_tcp_bind(&p->listener, (const struct sockaddr *)&addr, 0);
    /* a deep accept queue: a burst of new connections while a long loop
     * iteration catches up must not overflow it (SYNs dropped, clients reset) */
    if (!e) e = uv_listen((uv_stream_t *)&p->listener, SOMAXCONN, on_connection);
    if (e) return es_err_set(err, ES_EIO, "--listen %s --port %d: pod %u: %s", lv->listen, port, p->index, uv_strerror(e));
    struct sockaddr_storage got;
    int len = sizeof got;
    uv_tcp_getsockname(&p->listener, (struct sockaddr *)&got, &len);
    p->port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                             : ((struct sockaddr_in6 *)&got)->sin6_port);
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    live_pod_t *p = h->data;
    p->listener_closing = false;
    if (!p->relisten || p->lv->closed) return;
    p->relisten = false;
    es_err_t err;
    es_err_clear(&err);
    if (pod_listen(p, &err)) fprintf(stderr, "eppsim serve: pod %u cannot restart: %s\n", p->index, err.msg);
    else p->down = false;
}

/* pod_crash: the pod stops listening (connections refused), its
 * connections are cut (their requests aborted) and its cache is lost. */
static void ev_crash(es_sim_t *sim, void *target, uint64_t restart)
{
    (void)sim;
    live_pod_t *p = target;
    es_live_t *lv = p->lv;
    if (p->down || lv->closed) return;
    p->down = true;
    p->listener_closing = true;
    uv_close((uv_handle_t *)&p->listener, on_listener_closed);
    for (live_conn_t *c = lv->conns; c; c = c->next)
        if (c->pod == p) conn_close(c);
    es_server_crash(p->srv, ES_SERVER_UNAVAILABLE);
    p->dq_n = 0;   /* nothing left to send */   /* AllBlocksCleared; nothing is left in flight */
    if (restart) es_sim_schedule_in(lv->sim, es_time_from_s(lv->cfg.readiness_delay_s), ev_fault, p, UINT64_MAX);
}

/* ev_crash with arg UINT64_MAX: the restarted pod listens again, cold. */
static void ev_fault(es_sim_t *sim, void *target, uint64_t arg)
{
    live_pod_t *p = target;
    if (arg != UINT64_MAX) { ev_crash(sim, p, arg); return; }
    if (!p->down || p->lv->closed) return;
    if (p->listener_closing) { p->relisten = true; return; }
    es_err_t err;
    es_err_clear(&err);
    if (pod_listen(p, &err)) fprintf(stderr, "eppsim serve: pod %u cannot restart: %s\n", p->index, err.msg);
    else p->down = false;
}

static void schedule_faults(es_live_t *lv)
{
    for (size_t i = 0; i < lv->cfg.nfaults; i++) {
        const es_fault_t *f = &lv->cfg.faults[i];
        if (f->pod >= lv->npods || f->kind == ES_FAULT_SCRAPE_FAILURE) continue;
        es_sim_schedule(lv->sim, es_time_from_s(f->at_s), ev_fault, &lv->pods[f->pod], f->kind == ES_FAULT_POD_RESTART);
    }
}

/* ---- lifecycle ---- */

/* Undoes a half-made server: its handles close on the loop, then it is freed. */
static void fail_create(es_live_t *lv)
{
    es_live_close(lv);
    uv_run(lv->loop, UV_RUN_DEFAULT);
    es_live_destroy(lv);
}

/* Pod p's KV event publisher on listen:kv_port + index ("*" = ephemeral). */
static int open_kv_events(es_live_t *lv, live_pod_t *p, es_err_t *err)
{
    if (!lv->zctx && !(lv->zctx = zmq_ctx_new())) return es_err_set(err, ES_EIO, "--kv-events: zmq context: %s", zmq_strerror(zmq_errno()));
    char ep[160], topic[256], port[16];
    if (lv->cfg.kv_port) snprintf(port, sizeof port, "%d", lv->cfg.kv_port + (int)p->index);
    else snprintf(port, sizeof port, "*");
    bool v6 = strchr(lv->listen, ':') != NULL;
    snprintf(ep, sizeof ep, v6 ? "tcp://[%s]:%s" : "tcp://%s:%s", lv->listen, port);
    snprintf(topic, sizeof topic, v6 ? "kv@[%s]:%d@%s" : "kv@%s:%d@%s", lv->listen, p->port, lv->model);
    return es_live_kvev_create(lv->zctx, ep, topic, es_server_block_size(p->srv), &p->kv, err);
}

int es_live_create(uv_loop_t *loop, const es_live_config_t *cfg, es_live_t **out, es_err_t *err)
{
    *out = NULL;
    if (cfg->pods == 0 || cfg->pods > 1024) return es_err_set(err, ES_EINVAL, "--pods: must be in [1, 1024]");
    if (!(cfg->time_scale > 0 && cfg->time_scale <= 1000))
        return es_err_set(err, ES_EINVAL, "--time-scale: must be in (0, 1000]");
    if (cfg->port < 0 || cfg->port + (int)cfg->pods - 1 > 65535)
        return es_err_set(err, ES_EINVAL, "--port: pods would listen beyond port 65535");
    if (cfg->kv_events && (cfg->kv_port < 0 || cfg->kv_port + (int)cfg->pods - 1 > 65535))
        return es_err_set(err, ES_EINVAL, "--kv-events: pods would publish beyond port 65535");
    es_live_t *lv = calloc(1, sizeof *lv);
    if (!lv) return es_err_set(err, ES_ENOMEM, "out of memory");
    lv->cfg = *cfg;
    lv->loop = loop;
    lv->tfd = -1;
    snprintf(lv->listen, sizeof lv->listen, "%s", cfg->listen ? cfg->listen : "127.0.0.1");
    snprintf(lv->model, sizeof lv->model, "%s", cfg->model_name ? cfg->model_name : cfg->server->model);
    lv->cfg.listen = lv->listen;
    lv->cfg.model_name = lv->model;
    cJSON *mj = cJSON_CreateString(lv->model);
    lv->model_json = mj ? cJSON_PrintUnformatted(mj) : NULL;
    cJSON_Delete(mj);
    lv->sim = es_sim_create(cfg->seed);
    if (cfg->stats && (!(lv->lat = calloc(1, sizeof *lv->lat)) || !(lv->tok = calloc(1, sizeof *lv->tok)))) {
        es_live_destroy(lv);
        return es_err_set(err, ES_ENOMEM, "out of memory");
    }
    lv->pods = calloc(cfg->pods, sizeof *lv->pods);
    if (!lv->sim || !lv->pods || !lv->model_json) { es_live_destroy(lv); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    es_server_config_t scfg = *cfg->server;
    scfg.fast_forward = false;   /* streaming reads each request's progress every step */
    struct sockaddr_storage addr;
    if (uv_ip4_addr(lv->listen, 0, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(lv->listen, 0, (struct sockaddr_in6 *)&addr) != 0) {
        es_live_destroy(lv);
        return es_err_set(err, ES_EINVAL, "--listen: %s: not an IPv4 or IPv6 address", cfg->listen);
    }
    for (uint32_t i = 0; i < cfg->pods; i++) {
        live_pod_t *p = &lv->pods[i];
        p->lv = lv;
        p->index = i;
        p->st.model = lv->model;
        p->st.engine = i;
        es_live_hist_init(&p->st.ttft, es_live_ttft_bounds, ES_LIVE_TTFT_BUCKETS);
        es_live_hist_init(&p->st.itl, es_live_itl_bounds, ES_LIVE_ITL_BUCKETS);
        es_rng_stream(&p->scrape_rng, cfg->seed, ES_ENTITY_POD, i, ES_STREAM_SCRAPE);
        es_server_hooks_t hooks = {.ud = p, .on_first_token = on_first_token, .on_finish = on_finish,
                                   .on_decode_gaps = on_decode_gaps,
                                   .on_kv_event = cfg->kv_events ? on_kv_event : NULL};
        int rc = es_server_create(lv->sim, &scfg, &hooks, i, &p->srv, err);
        if (rc) { fail_create(lv); return rc; }
        lv->npods = i + 1;
        if (!dq_grow(p)) { fail_create(lv); return es_err_set(err, ES_ENOMEM, "out of memory"); }
        if ((rc = pod_listen(p, err))) { fail_create(lv); return rc; }
        if (cfg->kv_events && open_kv_events(lv, p, err)) { fail_create(lv); return ES_EIO; }
    }
    lv->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (lv->tfd < 0 || uv_poll_init(loop, &lv->tpoll, lv->tfd) != 0) {
        es_err_set(err, ES_EIO, "timerfd: %s", strerror(errno));
        fail_create(lv);
        return ES_EIO;
    }
    lv->tpoll.data = lv;
    lv->tpoll_open = true;
    if (cfg->idle_timeout_ms > 0) {
        uv_timer_init(loop, &lv->reaper);
        lv->reaper.data = lv;
        lv->reaper_open = true;
        uint64_t every = cfg->idle_timeout_ms / 4 + 1;
        uv_timer_start(&lv->reaper, on_reap, every, every);
    }
    schedule_faults(lv);
    uv_poll_start(&lv->tpoll, UV_READABLE, on_tick);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    lv->t0 = uv_hrtime();
    lv->unix0 = (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
    *out = lv;
    return 0;
}

int es_live_port(const es_live_t *lv, uint32_t pod)
{
    return pod < lv->npods ? lv->pods[pod].port : -1;
}

const es_live_lat_hist_t *es_live_lateness(const es_live_t *lv) { return lv->lat; }

const es_live_lat_hist_t *es_live_token_lateness(const es_live_t *lv) { return lv->tok; }

const char *es_live_kv_endpoint(const es_live_t *lv, uint32_t pod)
{
    return pod < lv->npods && lv->pods[pod].kv ? es_live_kvev_endpoint(lv->pods[pod].kv) : NULL;
}

void es_live_close(es_live_t *lv)
{
    if (lv->closed) return;
    lv->closed = true;
    for (uint32_t i = 0; i < lv->npods; i++)
        if (lv->pods[i].listener.loop && !uv_is_closing((uv_handle_t *)&lv->pods[i].listener))
            uv_close((uv_handle_t *)&lv->pods[i].listener, NULL);
    for (live_conn_t *c = lv->conns; c; c = c->next) conn_close(c);
    if (lv->tpoll_open) uv_close((uv_handle_t *)&lv->tpoll, NULL);
    lv->tpoll_open = false;
    if (lv->reaper_open) uv_close((uv_handle_t *)&lv->reaper, NULL);
    lv->reaper_open = false;
}

void es_live_destroy(es_live_t *lv)
{
    if (!lv) return;
    for (uint32_t i = 0; i < lv->npods; i++) {
        live_pod_t *p = &lv->pods[i];
        while (p->active) es_server_abort(p->srv, &p->active->sr);   /* on_finish unlinks and frees */
        es_server_destroy(p->srv);
        es_live_kvev_destroy(p->kv);
        free(p->dq);
    }
    if (lv->zctx) zmq_ctx_term(lv->zctx);
    if (lv->tfd >= 0) close(lv->tfd);
    free(lv->pods);
    free(lv->lat);
    free(lv->tok);
    free(lv->model_json);
    es_live_buf_free(&lv->scratch_out);
    es_sim_destroy(lv->sim);
    free(lv);
}
