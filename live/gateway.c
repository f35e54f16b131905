/*
 * gateway.c -- `eppsim gateway` (es_live_gw.h): client connections, one
 * decision per completion, the proxied exchange with the picked pod, and the
 * scrapes of every pod's /metrics.
 *
 * Proxied requests reuse kept-alive connections to their pod (a bounded
 * idle pool per pod, closed after GW_LINK_IDLE_MS idle, before a server's
 * idle timeout can race a request); a request that got no byte back on a
 * reused connection is sent once more on a new one, as HTTP clients do for
 * a stale keep-alive connection.  Scrapes of a pod reuse one kept-alive
 * connection too, as the EPP's Go http.Client does (llm-d-router v0.10.0,
 * pkg/epp/framework/plugins/datalayer/source/http/client.go: a shared
 * Transport, MaxIdleConnsPerHost 2, IdleConnTimeout 10 s): a connection per
 * scrape left a TIME_WAIT socket per scrape, hundreds a second per pod at
 * --time-scale 10.  Only a refused connection takes a pod out of the
 * candidates; a local error (no ephemeral port, no file descriptor) fails the
 * scrape and leaves the pod as it was.
 */
#include "es_live_gw.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <http_parser.h>
#include <zmq.h>

#include "es_alloc.h"
#include "es_live.h"
#include "es_live_conn.h"
#include "es_live_http.h"
#include "es_rng.h"
#include "es_util.h"

#define GW_PAUSE_BYTES  (1u << 20)   /* queued for a client: stop reading its pod */
#define GW_RESUME_BYTES (256u << 10)
#define GW_MAX_SCRAPE   (4u << 20)   /* a /metrics page larger than this fails the scrape */
#define GW_MAX_RESP_HEAD 16384u
#define GW_POOL_MAX     64u          /* idle kept-alive connections per pod */
#define GW_LINK_IDLE_MS 5000u        /* wall ms an idle pooled connection is kept */

typedef struct gw_pod gw_pod_t;
typedef struct gw_conn gw_conn_t;
typedef struct gw_req gw_req_t;
typedef struct gw_link gw_link_t;

/* A proxied request's exchange with a pod, on a pooled connection (gw_link_t). */
typedef struct gw_rsp {
    http_parser  rp;
    es_live_buf_t out;              /* the request bytes (each try sends a copy) */
    bool         done;              /* on_message_complete seen */
    bool         in_value;          /* response header parsing */
    uint64_t     last;              /* uv_now of the last byte or the start */
} gw_rsp_t;

/* A pod's scrape connection, kept alive between scrapes; freed by its close
 * callback.  pod is NULL once it is no longer its pod's (closing). */
typedef struct gw_scr {
    uv_tcp_t     tcp;               /* data: the gw_scr */
    uv_connect_t connect;
    es_live_gw_t *gw;
    gw_pod_t    *pod;
    uint64_t     idle_since;        /* uv_now when its last scrape ended */
    bool         connected;         /* the connect succeeded */
    bool         busy;              /* a scrape's request is on it */
    bool         reused;            /* it carried a scrape before the current one */
    bool         answered;          /* a byte of the current scrape's response came */
} gw_scr_t;

/* A connection to a pod: an exchange's while one runs on it, else idle in
 * its pod's pool (reading, so that a pod closing it is seen). */
struct gw_link {
    uv_tcp_t     tcp;               /* data: the link */
    uv_connect_t connect;
    gw_pod_t    *pod;
    gw_req_t    *req;               /* the exchange on it; NULL when idle or closing */
    gw_link_t   *next_idle, *prev_idle;
    uint64_t     idle_since;        /* uv_now when it went idle */
    bool         idle, closing;
};

struct gw_req {
    gw_rsp_t     up;                /* the response parser and the request bytes */
    gw_link_t   *link;              /* the connection of the current try; NULL between tries */
    bool         reused;            /* the current try runs on a pooled connection */
    bool         answered;          /* a byte of the response came on it */
    bool         fresh_retry;       /* a stale pooled connection was retried on a new one */
    es_live_gw_t *gw;
    gw_conn_t   *client;            /* NULL once the client has gone */
    uint64_t     id;
    bool         scheduled;         /* es_scheduler_on_end owed */
    uint32_t     targets[ES_SCHED_MAX_TARGETS], ntargets, next_target;
    uint32_t     pod;
    es_live_buf_t head;             /* the response head as forwarded */
    /* the decision's input: alive until decided (flow control may queue it) */
    es_sched_request_t sreq;        /* its content and headers point into segs, hdrs, comp */
    es_live_completion_t comp;
    bool         have_comp, chat;
    bool         queued;            /* waiting in flow control (es_scheduler_flow_cancel owed) */
    es_segment_t *segs;
    es_header_t  hdrs[32];          /* values point into the client's request, alive while it waits */
    bool         head_sent, first_chunk, paused, keep_alive;
    char         path[64];
    const char  *session_header;    /* session affinity's response header (the config's), NULL: none */
};

struct gw_pod {
    es_live_gw_t *gw;
    uint32_t     index;
    char         name[160];
    char         address[64];
    struct sockaddr_storage addr;
    /* scrape */
    gw_scr_t    *scr;               /* its connection; NULL: none open */
    http_parser  scr_rp;            /* the response of the scrape running */
    es_live_buf_t scr_out;          /* the request bytes */
    bool         scr_done;          /* on_message_complete seen */
    bool         scr_retried;       /* a stale kept-alive connection was replaced once */
    uv_timer_t   timer;
    bool         scraping;
    uint64_t     scrape_started;    /* uv_now */
    es_live_buf_t page;
    es_live_scrape_t buf[2];        /* last good scrape: buf[cur] */
    int          cur;
    bool         scraped;           /* a scrape ever succeeded */
    bool         ready;             /* a candidate: no scrape refused since the last that connected */
    es_time_t    update_time;
    /* kept-alive connections for proxied requests */
    gw_link_t   *idle;              /* most recently used first */
    uint32_t     nidle;
    /* KV events */
    void        *kv_sock;           /* ZMQ SUB; NULL: none */
    uv_poll_t    kv_poll;
    bool         kv_poll_open;
};

struct gw_conn {
    uv_tcp_t     tcp;
    es_live_gw_t *gw;
    es_live_http_t http;
    bool         closing, busy, keep_alive;
    bool         started;           /* bytes of the next request have arrived */
    size_t       unsent;            /* es_live_unsent at the last reap (idle only) */
    uint64_t     since;             /* accepted, a request's first bytes, a response done */
    gw_req_t    *req;
    gw_conn_t   *next, *prev;
};

struct es_live_gw {
    es_live_gw_config_t cfg;
    uv_loop_t   *loop;
    es_scheduler_t *sched;
    uv_tcp_t     listener;
    bool         listener_open;
    int          port;
    uv_timer_t   reaper;
    bool         reaper_open;
    gw_pod_t    *pods;
    uint32_t     npods;
    es_endpoint_t *eps;             /* candidates of one decision */
    int64_t    (*inflight)[2];
    bool         log_kv;            /* decisions.jsonl carries each candidate's kv_blocks */
    uint64_t    *held;              /* the request's keys each candidate's KV-event index held */
    size_t      *held_n;            /* [npods] per candidate; its keys follow the previous ones' */
    size_t       held_cap;
    uint64_t     held_for;          /* the request id held/held_n were read for; 0: none */
    size_t       decide_n;          /* the candidates (gw->eps) of the scheduler call running */
    gw_conn_t   *conns;
    uint32_t     nconns;
    gw_req_t   **reqs;              /* requests deciding, queued or with an open pod exchange */
    uv_timer_t   flow_timer;        /* flow control's 1 ms dispatch cycle while requests wait */
    bool         flow_timer_open;
    uint64_t     flow_cycles, flow_seed;
    size_t       flow_n;            /* the candidates of the cycle running */
    es_time_t    flow_now;
    uint32_t     nreqs, capreqs;
    uint64_t     t0;
    uint64_t     next_id;
    void        *zctx;              /* ZMQ context of the KV subscribers */
    uv_timer_t   kv_more;           /* continues a drain that hit its per-callback cap */
    bool         kv_more_open;
    bool         closed;
    int          told[8];           /* connect errors of scrapes told on stderr (once each) */
    uint32_t     ntold;
    char         listen[64];
    char         rbuf[65536];
    es_live_gw_stats_t st;
};

uint64_t es_live_gw_decision_seed(uint64_t master, uint64_t request_id)
{
    return es_mix64(es_rng_epp_seed(master, 0) ^ es_mix64(request_id + ES_HASH_WEYL));
}

static es_time_t gw_now(const es_live_gw_t *gw)
{
    return (es_time_t)((double)(uv_hrtime() - gw->t0) * gw->cfg.time_scale);
}

/* ---- client side ---- */

typedef struct gw_write {
    uv_write_t w;
    gw_conn_t *c;
    char       data[];
} gw_write_t;

static void conn_close(gw_conn_t *c);
static void conn_done(gw_conn_t *c);
static void up_resume(gw_req_t *r);

static void on_client_written(uv_write_t *w, int status)
{
    gw_write_t *gw = (gw_write_t *)w;
    gw_conn_t *c = gw->c;
    free(gw);
    /* a failed write: the client hung up (nothing reads its socket while a request is in flight) */
    if (status < 0 && status != UV_ECANCELED && c) { conn_close(c); return; }
    if (!c || c->closing || !c->req) return;
    c->req->up.last = uv_now(c->gw->loop);   /* the client reads: a paused exchange is alive */
    if (!c->req->paused) return;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < GW_RESUME_BYTES) up_resume(c->req);
}

static void client_write(gw_conn_t *c, const char *data, size_t n)
{
    if (!c || c->closing || n == 0) return;
    /* straight to the socket when nothing is queued before it (the usual
     * case: each chunk a pod streams): no allocation, no copy, no callback;
     * what the socket does not take now is queued in order */
    uv_buf_t now = uv_buf_init((char *)data, (unsigned)n);
    int sent = uv_try_write((uv_stream_t *)&c->tcp, &now, 1);
    if (sent == (int)n) {
        if (c->req) c->req->up.last = uv_now(c->gw->loop);   /* the client reads, as on_client_written */
        return;
    }
    /* an error (the client hung up) is left to uv_write to report through
     * on_client_written: closing here would free the exchange under its caller */
    if (sent > 0) { data += sent; n -= (size_t)sent; }
    gw_write_t *w = malloc(sizeof *w + n);
    if (!w) { conn_close(c); return; }
    w->c = c;
    memcpy(w->data, data, n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->w, (uv_stream_t *)&c->tcp, &b, 1, on_client_written) != 0) {
        free(w);
        conn_close(c);
    }
}

static void respond(gw_conn_t *c, int status, const char *ctype, const char *body, size_t n)
{
    es_live_buf_t b = {0};
    es_live_buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", status,
                       es_live_reason(status), ctype, n, c->keep_alive ? "" : "Connection: close\r\n");
    es_live_buf_append(&b, body, n);
    if (b.oom) conn_close(c);
    else client_write(c, b.data, b.len);
    es_live_buf_free(&b);
    conn_done(c);
}

static void respond_error(gw_conn_t *c, int status, const char *msg)
{
    char *s = es_live_error_body(status, msg);
    if (!s) { conn_close(c); return; }
    respond(c, status, "application/json", s, strlen(s));
    free(s);
}

/* ---- requests with an open exchange (for the timeout sweep) ---- */

static void reqs_add(es_live_gw_t *gw, gw_req_t *r)
{
    if (gw->nreqs == gw->capreqs) {
        uint32_t cap = gw->capreqs ? gw->capreqs * 2 : 64;
        gw->reqs = es_xrealloc(gw->reqs, cap * sizeof *gw->reqs);   /* es_alloc.h: out of memory aborts */
        gw->capreqs = cap;
    }
    gw->reqs[gw->nreqs++] = r;
}

static void reqs_remove(es_live_gw_t *gw, gw_req_t *r)
{
    for (uint32_t i = 0; i < gw->nreqs; i++)
        if (gw->reqs[i] == r) { gw->reqs[i] = gw->reqs[--gw->nreqs]; return; }
}

/* ---- the proxied exchange ---- */

static void req_end_sched(gw_req_t *r)
{
    if (r->scheduled) {
        r->scheduled = false;
        es_scheduler_on_end(r->gw->sched, r->id, gw_now(r->gw));
    }
}

static void req_free(gw_req_t *r)
{
    req_end_sched(r);
    reqs_remove(r->gw, r);
    if (r->have_comp) es_live_completion_fini(&r->comp);
    free(r->segs);
    es_live_buf_free(&r->up.out);
    es_live_buf_free(&r->head);
    free(r);
}

static void try_target(gw_req_t *r);
static void start_try(gw_req_t *r, bool fresh);
static void on_up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void pool_remove(gw_link_t *l)
{
    if (!l->idle) return;
    gw_pod_t *pod = l->pod;
    if (l->prev_idle) l->prev_idle->next_idle = l->next_idle; else pod->idle = l->next_idle;
    if (l->next_idle) l->next_idle->prev_idle = l->prev_idle;
    l->next_idle = l->prev_idle = NULL;
    l->idle = false;
    pod->nidle--;
}

/* The exchange whose try ended without a whole response: the next pick
 * (Envoy's fallback order) while nothing reached the client, the same pod on
 * a new connection when a reused one was stale, else a 502 or a cut. */
static void exchange_failed(gw_req_t *r)
{
    bool stale = r->reused && !r->answered && !r->fresh_retry;
    if (r->client && !r->head_sent && !r->up.done && stale) {
        r->fresh_retry = true;
        r->gw->st.pod_retries++;
        start_try(r, true);   /* the same pod, a new connection */
        return;
    }
    if (r->client && !r->head_sent && !r->up.done && r->next_target < r->ntargets) { try_target(r); return; }
    if (r->client && !r->up.done) {
        gw_conn_t *c = r->client;
        c->req = NULL;
        r->gw->st.upstream_errors++;
        if (!r->head_sent) respond_error(c, 502, "the picked pod did not answer");
        else conn_close(c);   /* cut off mid-response: the client sees it end early */
    }
    req_free(r);
}

static void on_link_closed(uv_handle_t *h)
{
    gw_link_t *l = h->data;
    gw_req_t *r = l->req;
    free(l);
    if (r) {
        r->link = NULL;
        exchange_failed(r);
    }
}

static void link_close(gw_link_t *l)
{
    if (l->closing) return;
    l->closing = true;
    pool_remove(l);
    uv_close((uv_handle_t *)&l->tcp, on_link_closed);
}

/* Ends the current try of r: its connection closes, then exchange_failed.
 * A request still queued in flow control leaves the queue and is freed. */
static void req_close(gw_req_t *r)
{
    if (r->queued) {
        r->queued = false;
        es_scheduler_flow_cancel(r->gw->sched, r->id);
        req_free(r);
        return;
    }
    if (r->link) link_close(r->link);
}

/* A whole response on a connection the pod keeps open: back to the pool. */
static void link_release(gw_link_t *l, bool keep)
{
    l->req = NULL;
    gw_pod_t *pod = l->pod;
    if (!keep || pod->gw->closed || pod->nidle >= GW_POOL_MAX) { link_close(l); return; }
    l->idle = true;
    l->idle_since = uv_now(pod->gw->loop);
    l->prev_idle = NULL;
    l->next_idle = pod->idle;
    if (pod->idle) pod->idle->prev_idle = l;
    pod->idle = l;
    pod->nidle++;
    uv_read_start((uv_stream_t *)&l->tcp, on_up_alloc, on_up_read);   /* a close by the pod is seen */
}

static int rsp_on_header_field(http_parser *p, const char *at, size_t n)
{
    gw_req_t *r = p->data;
    if (r->up.in_value) { es_live_buf_append(&r->head, "\r\n", 2); r->up.in_value = false; }
    es_live_buf_append(&r->head, at, n);
    return r->head.len > GW_MAX_RESP_HEAD || r->head.oom ? -1 : 0;
}

static int rsp_on_header_value(http_parser *p, const char *at, size_t n)
{
    gw_req_t *r = p->data;
    if (!r->up.in_value) { es_live_buf_append(&r->head, ": ", 2); r->up.in_value = true; }
    es_live_buf_append(&r->head, at, n);
    return r->head.len > GW_MAX_RESP_HEAD || r->head.oom ? -1 : 0;
}

/* Drops hop-by-hop headers the gateway sets itself, adds its own, sends the head. */
static int rsp_on_headers_complete(http_parser *p)
{
    gw_req_t *r = p->data;
    if (p->status_code < 200) return -1;   /* 1xx: never asked for (no Expect), a protocol error */
    if (r->up.in_value) { es_live_buf_append(&r->head, "\r\n", 2); r->up.in_value = false; }
    es_live_buf_t h = {0};
    es_live_buf_printf(&h, "HTTP/1.1 %u %s\r\n", p->status_code, http_status_str((enum http_status)p->status_code));
    const char *s = r->head.data ? r->head.data : "", *end = s + r->head.len;
    while (s < end) {
        const char *e = strstr(s, "\r\n");
        if (!e) break;
        size_t n = (size_t)(e - s);
        bool hop = (n >= 11 && !strncasecmp(s, "connection:", 11)) || (n >= 11 && !strncasecmp(s, "keep-alive:", 11));
        if (!hop) { es_live_buf_append(&h, s, n); es_live_buf_append(&h, "\r\n", 2); }
        s = e + 2;
    }
    gw_pod_t *pod = &r->gw->pods[r->pod];
    if (r->session_header) {   /* the session-affinity plugins' ResponseHeader: the pod that served it */
        char tok[ES_SCHED_TOKEN_MAX];
        es_live_buf_printf(&h, "%s: %s\r\n", r->session_header,
                           es_sched_session_token(&(es_endpoint_t){.name = pod->name}, tok, sizeof tok));
    }
    es_live_buf_printf(&h, "x-gateway-destination-endpoint: %s\r\nx-eppsim-pod: %s\r\nx-eppsim-request-id: %" PRIu64 "\r\n%s\r\n",
                       pod->address, pod->name, r->id, r->keep_alive ? "" : "Connection: close\r\n");
    if (h.oom) { es_live_buf_free(&h); return -1; }
    client_write(r->client, h.data, h.len);
    es_live_buf_free(&h);
    r->head_sent = true;
    http_parser_pause(p, 1);   /* the caller forwards the rest of the read as it is */
    return 0;
}

static int rsp_on_body(http_parser *p, const char *at, size_t n)
{
    (void)at; (void)n;
    gw_req_t *r = p->data;
    if (!r->first_chunk) {
        r->first_chunk = true;
        es_scheduler_on_first_chunk(r->gw->sched, r->id, gw_now(r->gw));
    }
    return 0;
}

static int rsp_on_message_complete(http_parser *p)
{
    gw_req_t *r = p->data;
    r->up.done = true;
    http_parser_pause(p, 1);   /* bytes after the response are not forwarded (no second head) */
    return 0;
}

static const http_parser_settings k_rsp = {
    .on_header_field = rsp_on_header_field,
    .on_header_value = rsp_on_header_value,
    .on_headers_complete = rsp_on_headers_complete,
    .on_body = rsp_on_body,
    .on_message_complete = rsp_on_message_complete,
};

static void on_alloc_gw(es_live_gw_t *gw, uv_buf_t *buf) { *buf = uv_buf_init(gw->rbuf, sizeof gw->rbuf); }

static void on_up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    on_alloc_gw(((gw_link_t *)h->data)->pod->gw, buf);
}

static void up_resume(gw_req_t *r);

/* A whole response: the client's connection goes on, the pod's connection
 * back to the pool when `keep` (the pod keeps it open, nothing followed). */
static void req_finish(gw_req_t *r, bool keep)
{
    gw_conn_t *c = r->client;
    r->gw->st.proxied++;
    req_end_sched(r);
    if (c) {
        c->req = NULL;
        conn_done(c);
    }
    r->client = NULL;
    gw_link_t *l = r->link;
    r->link = NULL;
    if (l) link_release(l, keep);
    req_free(r);
}

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    gw_link_t *l = s->data;
    gw_req_t *r = l->req;
    if (nread == 0 || l->closing) return;
    if (!r) { link_close(l); return; }   /* idle in the pool: the pod closed it, or sent what nobody asked */
    if (nread < 0) {   /* EOF or error: a response delimited by the close ends here */
        if (nread == UV_EOF && !r->up.done) http_parser_execute(&r->up.rp, &k_rsp, NULL, 0);
        if (r->up.done) req_finish(r, false);
        else req_close(r);
        return;
    }
    r->answered = true;
    r->up.last = uv_now(r->gw->loop);
    const char *p = buf->base;
    size_t left = (size_t)nread;
    if (!r->head_sent) {
        size_t used = http_parser_execute(&r->up.rp, &k_rsp, p, left);
        if (!r->head_sent) {
            if (HTTP_PARSER_ERRNO(&r->up.rp) != HPE_OK) req_close(r);
            return;
        }
        http_parser_pause(&r->up.rp, 0);
        p += used;
        left -= used;
        /* paused in on_headers_complete, the parser has not consumed the head's last LF */
        if (left > 0 && *p == '\n') {
            http_parser_execute(&r->up.rp, &k_rsp, p, 1);
            p++;
            left--;
        }
    }
    size_t used = 0;
    if (left > 0 && !r->up.done) {
        /* the body as the pod sent it (chunked SSE stays chunked), up to the
         * response's end or a malformed byte, where the exchange ends */
        used = http_parser_execute(&r->up.rp, &k_rsp, p, left);
        client_write(r->client, p, used);
        if (used != left && !r->up.done) { req_close(r); return; }
    }
    /* bytes after the response's end are not forwarded, and the connection is not reused */
    if (r->up.done) { req_finish(r, used == left && http_should_keep_alive(&r->up.rp)); return; }
    if (!r->client) { req_close(r); return; }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&r->client->tcp) > GW_PAUSE_BYTES) {
        uv_read_stop(s);
        r->paused = true;
    }
}

static void up_resume(gw_req_t *r)
{
    if (!r->paused || !r->link || r->link->closing) return;
    r->paused = false;
    uv_read_start((uv_stream_t *)&r->link->tcp, on_up_alloc, on_up_read);
}

typedef struct gw_up_write {
    uv_write_t w;                   /* data: the link (alive until its close callback, after this one) */
    char       data[];              /* a copy: the exchange may end (a pod answering early) before the write */
} gw_up_write_t;

static void on_up_sent(uv_write_t *w, int status)
{
    gw_link_t *l = w->data;
    free(w);
    if (status < 0 && l->req) req_close(l->req);
}

/* Sends r's request on its connection and reads the response. */
static void start_exchange(gw_req_t *r)
{
    gw_link_t *l = r->link;
    r->next_target = r->ntargets;   /* bytes go out: no fallback to another pod */
    gw_up_write_t *w = malloc(sizeof *w + r->up.out.len);
    if (!w) { req_close(r); return; }
    memcpy(w->data, r->up.out.data, r->up.out.len);
    w->w.data = l;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)r->up.out.len);
    if (uv_write(&w->w, (uv_stream_t *)&l->tcp, &b, 1, on_up_sent) != 0) { free(w); req_close(r); return; }
    uv_read_start((uv_stream_t *)&l->tcp, on_up_alloc, on_up_read);
}

static void on_up_connect(uv_connect_t *cr, int status)
{
    gw_link_t *l = cr->data;
    gw_req_t *r = l->req;
    if (l->closing) return;
    if (!r) { link_close(l); return; }
    /* connected to itself: nothing listens there, as a refusal (the next pick) */
    if (status < 0 || !r->client || es_live_self_connected(&l->tcp)) { req_close(r); return; }
    uv_tcp_nodelay(&l->tcp, 1);
    start_exchange(r);
}

/* One try of r on pod r->pod: a pooled connection unless `fresh`, else a new one. */
static void start_try(gw_req_t *r, bool fresh)
{
    es_live_gw_t *gw = r->gw;
    gw_pod_t *pod = &gw->pods[r->pod];
    r->up.done = r->up.in_value = false;
    r->answered = false;
    r->head.len = 0;
    http_parser_init(&r->up.rp, HTTP_RESPONSE);
    r->up.rp.data = r;
    r->up.last = uv_now(gw->loop);
    gw_link_t *l = fresh ? NULL : pod->idle;
    if (l) {
        pool_remove(l);
        l->req = r;
        r->link = l;
        r->reused = true;
        gw->st.pod_reused++;
        start_exchange(r);
        return;
    }
    r->reused = false;
    if (!(l = calloc(1, sizeof *l))) { r->next_target = r->ntargets; exchange_failed(r); return; }
    l->pod = pod;
    l->req = r;
    r->link = l;
    uv_tcp_init(gw->loop, &l->tcp);
    l->tcp.data = l;
    l->connect.data = l;
    gw->st.pod_connections++;
    if (uv_tcp_connect(&l->connect, &l->tcp, (const struct sockaddr *)&pod->addr, on_up_connect) != 0) link_close(l);
}

static void try_target(gw_req_t *r)
{
    r->pod = r->targets[r->next_target++];
    start_try(r, false);
}

/* ---- the decision ---- */

static void put_num(FILE *f, double v)
{
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, f);
}

/* One line of decisions.jsonl as `eppsim run --record-decisions` writes it
 * (explain --from-run reads it), with every number exact. */
static void log_decision(es_live_gw_t *gw, uint64_t seed, const es_sched_request_t *req, size_t n, es_time_t now,
                         const es_sched_result_t *res)
{
    FILE *f = gw->cfg.decisions;
    size_t off = 0;
    fprintf(f, "{\"request_id\": %" PRIu64 ", \"replica\": 0, \"seed\": \"%" PRIu64 "\", \"now_ms\": ", req->id, seed);
    put_num(f, es_time_to_ms(now));
    fputs(", \"endpoints\": [", f);
    for (size_t i = 0; i < n; i++) {
        const es_endpoint_t *e = &gw->eps[i];
        const es_endpoint_metrics_t *m = &e->metrics;
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        es_json_write_string(f, e->name);
        fputs(", \"address\": ", f);
        es_json_write_string(f, e->address);
        fprintf(f, ", \"labels\": {}, \"metrics\": {\"waiting\": %d, \"running\": %d, \"kv_cache_usage\": ", m->waiting,
                m->running);
        put_num(f, m->kv_cache_usage);
        fprintf(f, ", \"cache_block_size\": %u, \"num_gpu_blocks\": %u, \"age_ms\": ", m->block_size, m->num_gpu_blocks);
        put_num(f, m->update_time >= 0 ? es_time_to_ms(now - m->update_time) : 1e12);
        fputs(", \"lora\": {\"active\": [", f);
        for (uint32_t k = 0; k < m->n_running_lora; k++) { fputs(k ? ", " : "", f); es_json_write_string(f, m->running_lora[k]); }
        fputs("], \"waiting\": [", f);
        for (uint32_t k = 0; k < m->n_waiting_lora; k++) { fputs(k ? ", " : "", f); es_json_write_string(f, m->waiting_lora[k]); }
        fprintf(f, "], \"max\": %d}}, \"inflight\": {\"requests\": %lld, \"tokens\": %lld}", m->max_lora,
                (long long)gw->inflight[i][0], (long long)gw->inflight[i][1]);
        if (gw->log_kv) {   /* what the KV-event index held for it (decimal strings: 64-bit keys; explain replays them as BlockStored) */
            fputs(", \"kv_blocks\": [", f);
            for (size_t k = 0; k < gw->held_n[i]; k++) fprintf(f, "%s\"%" PRIu64 "\"", k ? ", " : "", gw->held[off + k]);
            fputc(']', f);
            off += gw->held_n[i];
        }
        fputc('}', f);
    }
    fputs("], \"request\": {\"model\": ", f);
    es_json_write_string(f, req->model);
    fprintf(f, ", \"priority\": %d, \"content\": [", req->priority);
    for (uint32_t k = 0; k < req->content.nsegs; k++)
        fprintf(f, "%s[\"%" PRIu64 "\", %u]", k ? ", " : "", req->content.segs[k].id, req->content.segs[k].len);
    fputs("], \"headers\": {", f);
    for (uint32_t k = 0; k < req->nheaders; k++) {
        fputs(k ? ", " : "", f);
        es_json_write_string(f, req->headers[k].name);
        fputs(": ", f);
        es_json_write_string(f, req->headers[k].value);
    }
    fprintf(f, "}}, \"outcome\": %d, \"picked\": [", res->status);
    if (res->status == 200) {
        for (uint32_t k = 0; k < res->ntargets; k++) {
            fputs(k ? ", " : "", f);
            es_json_write_string(f, gw->pods[res->targets[k]].name);
        }
        if (res->prefill >= 0) { fputs(", ", f); es_json_write_string(f, gw->pods[res->prefill].name); }
    }
    fputs("]}\n", f);
    fflush(f);   /* whole lines only: the log is read while the gateway runs */
}

/* For each of the n candidates, the request's keys its KV-event index holds
 * (the run from the first), into gw->held one after the other. */
static void held_collect(es_live_gw_t *gw, const es_sched_request_t *req, size_t n)
{
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        size_t run = es_scheduler_kv_held(gw->sched, req, gw->eps[i].id, gw->held + used, gw->held_cap - used);
        if (used + run > gw->held_cap) {
            size_t cap = (used + run) * 2;
            gw->held = es_xrealloc(gw->held, cap * sizeof *gw->held);   /* es_alloc.h: out of memory aborts */
            gw->held_cap = cap;
            es_scheduler_kv_held(gw->sched, req, gw->eps[i].id, gw->held + used, run);
        }
        gw->held_n[i] = run;
        used += run;
    }
    gw->held_for = req->id;
}

/* es_decide_hook: the snapshot a decision reads, taken as it starts (before
 * its PreRequest indexes the request, e.g. speculative entries), also for a
 * queued request that flow control dispatches inside es_scheduler_flow_cycle. */
static void on_decide(void *ud, const es_sched_request_t *req)
{
    es_live_gw_t *gw = ud;
    held_collect(gw, req, gw->decide_n);
}

/* Headers the gateway sets itself on the request to the pod. */
static bool hop_header(const char *name)
{
    static const char *const k[] = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "te",
                                    "upgrade", "proxy-connection", "expect", NULL};
    for (size_t i = 0; k[i]; i++) if (!strcmp(name, k[i])) return true;
    return false;
}

/* The ready pods as candidates, with their in-flight counters; returns how many. */
static size_t build_candidates(es_live_gw_t *gw)
{
    size_t n = 0;
    for (uint32_t i = 0; i < gw->npods; i++) {
        gw_pod_t *p = &gw->pods[i];
        if (!p->ready) continue;
        es_endpoint_t *e = &gw->eps[n];
        memset(e, 0, sizeof *e);
        e->id = i;
        e->name = p->name;
        e->address = p->address;
        e->ready = true;
        e->metrics = p->buf[p->cur].m;
        e->metrics.update_time = p->scraped ? p->update_time : -1;
        es_scheduler_get_inflight(gw->sched, i, &gw->inflight[n][0], &gw->inflight[n][1]);
        n++;
    }
    return n;
}

/* The decision on r is made (by a pick, or by flow control: dispatched,
 * evicted, refused): logged, then proxied or answered. */
static void decided(gw_req_t *r, uint64_t seed, size_t n, es_time_t now, const es_sched_result_t *res)
{
    es_live_gw_t *gw = r->gw;
    gw_conn_t *c = r->client;
    gw->st.requests++;
    /* refused without a decision (capacity, TTL eviction): what the index holds now */
    if (gw->log_kv && gw->held_for != r->id) held_collect(gw, &r->sreq, n);
    if (gw->cfg.decisions) log_decision(gw, seed, &r->sreq, n, now, res);
    if (res->status != 200) {
        gw->st.rejected++;
        c->req = NULL;
        req_free(r);
        respond_error(c, res->status, res->reason ? res->reason : "no endpoint");
        return;
    }
    r->scheduled = true;
    r->session_header = res->session_header;
    r->ntargets = res->ntargets;
    memcpy(r->targets, res->targets, sizeof r->targets);
    /* the request as the pod gets it: the client's headers but hop-by-hop ones, the body as it came */
    const char *body = c->http.body.data ? c->http.body.data : "";
    size_t blen = c->http.body.len;
    es_live_buf_t *o = &r->up.out;
    es_live_buf_printf(o, "POST %s HTTP/1.1\r\nHost: %s\r\n", r->chat ? "/v1/chat/completions" : "/v1/completions",
                       gw->pods[res->primary].address);
    for (uint32_t i = 0; i < r->sreq.nheaders; i++)
        if (!hop_header(r->hdrs[i].name)) es_live_buf_printf(o, "%s: %s\r\n", r->hdrs[i].name, r->hdrs[i].value);
    es_live_buf_printf(o, "Content-Length: %zu\r\n\r\n", blen);   /* kept alive (HTTP/1.1) */
    es_live_buf_append(o, body, blen);
    if (o->oom) { c->req = NULL; req_free(r); respond_error(c, 500, "out of memory"); return; }
    try_target(r);
}

static void flow_run(es_live_gw_t *gw);
static void on_flow_timer(uv_timer_t *t);

/* Flow control's outcome for a queued request (es_flow_cb). */
static void flow_cb(void *ud, const es_sched_request_t *req, const es_sched_result_t *res)
{
    es_live_gw_t *gw = ud;
    gw_req_t *r = (gw_req_t *)(void *)((char *)req - offsetof(gw_req_t, sreq));
    r->queued = false;
    decided(r, gw->flow_seed, gw->flow_n, gw->flow_now, res);   /* kv_blocks: on_decide read them */
}

/* Dispatch cycles until one dispatches nothing (at most 1024 per call: the
 * loop returns to its other work), then the 1 ms timer while requests wait.
 * Each cycle is reseeded (a seed of its own, logged with what it picks). */
static void flow_run(es_live_gw_t *gw)
{
    for (int i = 0; i < 1024 && es_scheduler_flow_queued(gw->sched) > 0; i++) {
        gw->flow_n = gw->decide_n = build_candidates(gw);
        gw->flow_now = gw_now(gw);
        gw->flow_seed = es_live_gw_decision_seed(gw->cfg.seed, (1ull << 63) | ++gw->flow_cycles);
        es_scheduler_reseed(gw->sched, gw->flow_seed);
        if (es_scheduler_flow_cycle(gw->sched, gw->eps, gw->flow_n, gw->flow_now, flow_cb, gw) <= 0) break;
    }
    if (gw->closed) return;
    if (es_scheduler_flow_queued(gw->sched) > 0) {
        if (!uv_is_active((uv_handle_t *)&gw->flow_timer)) uv_timer_start(&gw->flow_timer, on_flow_timer, 1, 1);
    } else {
        uv_timer_stop(&gw->flow_timer);
    }
}

static void on_flow_timer(uv_timer_t *t) { flow_run(t->data); }

static void proxy_completion(gw_conn_t *c, bool chat)
{
    es_live_gw_t *gw = c->gw;
    const char *body = c->http.body.data ? c->http.body.data : "";
    size_t blen = c->http.body.len;
    char msg[160];
    gw_req_t *r = calloc(1, sizeof *r);
    if (!r) { respond_error(c, 500, "out of memory"); return; }
    r->gw = gw;
    r->chat = chat;
    if (es_live_parse_completion(body, blen, chat, &r->comp, msg, sizeof msg)) { free(r); respond_error(c, 400, msg); return; }
    r->have_comp = true;
    r->segs = malloc(sizeof *r->segs * es_live_segment_count(r->comp.prompt_len));
    if (!r->segs) { req_free(r); respond_error(c, 500, "out of memory"); return; }
    es_sched_request_t *req = &r->sreq;
    es_live_tokenize(r->comp.prompt, r->comp.prompt_len, r->segs, &req->content);
    req->nheaders = (uint32_t)es_live_http_headers(&c->http, r->hdrs, 32);
    req->headers = r->hdrs;
    for (uint32_t i = 0; i < req->nheaders; i++) {
        /* the decision record is JSON and explain replays it: header bytes must be UTF-8 */
        if (!es_live_utf8_valid(r->hdrs[i].value, strlen(r->hdrs[i].value))) {
            snprintf(msg, sizeof msg, "header %.64s: not UTF-8", r->hdrs[i].name);
            req_free(r);
            respond_error(c, 400, msg);
            return;
        }
    }
    req->id = ++gw->next_id;
    req->model = r->comp.model;
    req->body_bytes = blen > UINT32_MAX ? UINT32_MAX : (uint32_t)blen;
    req->max_tokens = r->comp.max_tokens;
    r->id = req->id;
    r->client = c;
    r->keep_alive = c->keep_alive;
    c->req = r;
    reqs_add(gw, r);

    size_t n = gw->decide_n = build_candidates(gw);
    es_time_t now = gw_now(gw);
    uint64_t seed = es_live_gw_decision_seed(gw->cfg.seed, req->id);
    es_scheduler_reseed(gw->sched, seed);
    es_sched_result_t res = {0};
    /* a pick, or with the flowControl gate (or a batching producer) a queue */
    int rc = es_scheduler_submit(gw->sched, req, gw->eps, n, now, &res);
    if (rc) { res.status = 500; res.reason = "scheduler error"; }
    if (res.status == ES_SCHED_QUEUED) {
        r->queued = true;
        gw->st.flow_queued++;
        flow_run(gw);
        return;
    }
    decided(r, seed, n, now, &res);
}

/* The gateway's own /metrics (Prometheus text): the pool's ready endpoints
 * under the EPP's name (llm-d-router v0.10.0, pkg/epp/metrics/
 * llm_d_router_metrics.go: llm_d_epp_ready_endpoints{name}), each pod's
 * readiness, and the stop line's counters, so that a test or an operator
 * can watch the gateway while it runs. */
/* A label value as the text format escapes it (backslash, quote, line feed). */
static void put_label(es_live_buf_t *b, const char *v)
{
    es_live_buf_append(b, "\"", 1);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') { es_live_buf_append(b, "\\", 1); es_live_buf_append(b, v, 1); }
        else if (*v == '\n') es_live_buf_append(b, "\\n", 2);
        else es_live_buf_append(b, v, 1);
    }
    es_live_buf_append(b, "\"", 1);
}

static void gw_metrics(gw_conn_t *c)
{
    es_live_gw_t *gw = c->gw;
    const es_live_gw_stats_t *st = &gw->st;
    es_live_buf_t b = {0};
    uint32_t ready = 0;
    for (uint32_t i = 0; i < gw->npods; i++) ready += gw->pods[i].ready;
    es_live_buf_printf(&b, "# TYPE llm_d_epp_ready_endpoints gauge\nllm_d_epp_ready_endpoints{name=");
    put_label(&b, gw->cfg.pool_name ? gw->cfg.pool_name : "pod");
    es_live_buf_printf(&b, "} %u\n# TYPE eppsim_gateway_endpoint_ready gauge\n", ready);
    for (uint32_t i = 0; i < gw->npods; i++) {
        es_live_buf_printf(&b, "eppsim_gateway_endpoint_ready{endpoint=");
        put_label(&b, gw->pods[i].name);
        es_live_buf_printf(&b, "} %d\n", gw->pods[i].ready ? 1 : 0);
    }
    es_live_buf_printf(&b, "# TYPE eppsim_gateway_endpoint_scraped gauge\n");
    for (uint32_t i = 0; i < gw->npods; i++) {
        es_live_buf_printf(&b, "eppsim_gateway_endpoint_scraped{endpoint=");
        put_label(&b, gw->pods[i].name);
        es_live_buf_printf(&b, "} %d\n", gw->pods[i].scraped ? 1 : 0);
    }
    const struct { const char *name; uint64_t v; } k[] = {
        {"requests", st->requests},           {"proxied", st->proxied},
        {"rejected", st->rejected},           {"pod_errors", st->upstream_errors},
        {"scrapes", st->scrapes},             {"scrape_failures", st->scrape_failures},
        {"scrape_local_errors", st->scrape_local_errors}, {"scrape_connections", st->scrape_connections},
        {"scrape_stale_replaced", st->scrape_retries},    {"kv_events", st->kv_events},
        {"kv_batches", st->kv_batches},       {"kv_bad", st->kv_bad},
        {"pod_connections", st->pod_connections}, {"pod_reused", st->pod_reused},
        {"pod_retries", st->pod_retries},     {"flow_queued", st->flow_queued},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        es_live_buf_printf(&b, "# TYPE eppsim_gateway_%s_total counter\neppsim_gateway_%s_total %llu\n", k[i].name,
                           k[i].name, (unsigned long long)k[i].v);
    if (b.oom) respond_error(c, 500, "out of memory");
    else respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    es_live_buf_free(&b);
}

/* ---- client connections ---- */

static void dispatch(gw_conn_t *c)
{
    const char *path = c->http.url;
    size_t plen = strcspn(path, "?");
    bool post = c->http.method == HTTP_POST, get = c->http.method == HTTP_GET;
#define IS(s) (plen == sizeof(s) - 1 && memcmp(path, s, plen) == 0)
    if (IS("/v1/completions") || IS("/v1/chat/completions")) {
        if (!post) { respond_error(c, 405, "use POST"); return; }
        proxy_completion(c, IS("/v1/chat/completions"));
    } else if (IS("/health")) {
        if (!get) { respond_error(c, 405, "use GET"); return; }
        respond(c, 200, "text/plain", "", 0);
    } else if (IS("/metrics")) {
        if (!get) { respond_error(c, 405, "use GET"); return; }
        gw_metrics(c);
    } else {
        respond_error(c, 404, "no such route (the gateway routes /v1/completions and /v1/chat/completions)");
    }
#undef IS
}

static void on_conn_closed(uv_handle_t *h)
{
    gw_conn_t *c = h->data;
    es_live_gw_t *gw = c->gw;
    if (c->prev) c->prev->next = c->next; else gw->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    gw->nconns--;
    es_live_http_fini(&c->http);
    free(c);
}

static void conn_close(gw_conn_t *c)
{
    if (c->closing) return;
    c->closing = true;
    if (c->req) {   /* client gone: its pod exchange is closed (the pod aborts the request) */
        gw_req_t *r = c->req;
        c->req = NULL;
        r->client = NULL;
        req_close(r);
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void conn_end(gw_conn_t *c)
{
    if (c->closing) return;
    if (es_live_close_after_writes((uv_stream_t *)&c->tcp, on_conn_closed) != 0) { conn_close(c); return; }
    c->closing = true;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    on_alloc_gw(((gw_conn_t *)h->data)->gw, buf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_done(gw_conn_t *c)
{
    c->busy = false;
    c->started = false;
    c->since = uv_now(c->gw->loop);
    c->unsent = SIZE_MAX;
    if (c->closing) return;
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
    gw_conn_t *c = s->data;
    if (nread < 0) { conn_close(c); return; }
    if (nread == 0 || c->closing) return;
    if (c->busy) { conn_close(c); return; }
    /* a request has the idle timeout from its first byte to arrive whole (slowloris) */
    if (!c->started) { c->since = uv_now(c->gw->loop); c->started = true; }
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
}

static void on_connection(uv_stream_t *server, int status)
{
    es_live_gw_t *gw = server->data;
    if (status < 0 || gw->closed) return;
    gw_conn_t *c = calloc(1, sizeof *c);
    if (!c) return;
    uv_tcp_init(gw->loop, &c->tcp);
    c->tcp.data = c;
    c->gw = gw;
    c->since = uv_now(gw->loop);
    es_live_http_init(&c->http, gw->cfg.max_header, gw->cfg.max_body);
    c->next = gw->conns;
    if (gw->conns) gw->conns->prev = c;
    gw->conns = c;
    gw->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || gw->nconns > gw->cfg.max_conns) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->keep_alive = true;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- scrapes ---- */

static int scr_on_body(http_parser *p, const char *at, size_t n)
{
    gw_pod_t *pod = p->data;
    if (pod->page.len + n > GW_MAX_SCRAPE) return -1;
    es_live_buf_append(&pod->page, at, n);
    return pod->page.oom ? -1 : 0;
}

static int scr_on_message_complete(http_parser *p)
{
    gw_pod_t *pod = p->data;
    pod->scr_done = true;
    http_parser_pause(p, 1);   /* one response per scrape: bytes after it are not ours */
    return 0;
}

static const http_parser_settings k_scr = {
    .on_body = scr_on_body,
    .on_message_complete = scr_on_message_complete,
};

/* How a scrape ended, for the pod's readiness. */
typedef enum {
    SCR_OK,          /* a whole 200 page with the three gauges */
    SCR_ANSWERED,    /* failed on a connection that connected: the pod is up */
    SCR_UNKNOWN,     /* failed before a connection was made (timeout, local error): nothing learnt */
    SCR_REFUSED,     /* nothing listens (a crashed pod): out of the candidates */
} scr_outcome_t;

static void on_scr_closed(uv_handle_t *h) { free(h->data); }

/* Closes s; it is no longer its pod's connection. */
static void scr_close(gw_scr_t *s)
{
    if (s->pod && s->pod->scr == s) s->pod->scr = NULL;
    s->pod = NULL;
    if (!uv_is_closing((uv_handle_t *)&s->tcp)) uv_close((uv_handle_t *)&s->tcp, on_scr_closed);
}

/* Ends the running scrape: counted, its page applied when whole, the
 * pod's readiness set by how it ended. */
static void scrape_finish(gw_pod_t *pod, scr_outcome_t how)
{
    es_live_gw_t *gw = pod->gw;
    pod->scraping = false;
    gw->st.scrapes++;
    if (how != SCR_OK) gw->st.scrape_failures++;
    if (how == SCR_OK || how == SCR_ANSWERED) {
        pod->ready = true;
    } else if (how == SCR_REFUSED) {   /* as a failing readiness probe */
        if (pod->ready) es_scheduler_endpoint_removed(gw->sched, pod->index);
        pod->ready = false;
    }
}

/* A whole response came on the pod's connection. */
static void scrape_complete(gw_pod_t *pod, bool keep)
{
    es_live_gw_t *gw = pod->gw;
    gw_scr_t *s = pod->scr;
    bool ok = false;
    if (pod->scr_rp.status_code == 200) {
        char msg[128];
        int next = 1 - pod->cur;
        if (es_live_parse_metrics(pod->page.data ? pod->page.data : "", pod->page.len, &pod->buf[next], msg,
                                  sizeof msg) == 0) {
            pod->cur = next;
            pod->update_time = gw_now(gw);
            pod->scraped = true;
            ok = true;
        }
    }
    s->busy = false;
    s->idle_since = uv_now(gw->loop);
    if (!keep || gw->closed) scr_close(s);
    scrape_finish(pod, ok ? SCR_OK : SCR_ANSWERED);
}

static void scrape_open(gw_pod_t *pod);

/* The pod's connection failed under the running scrape: a kept-alive one
 * that the pod closed before answering is replaced once (as Go's Transport
 * retries a GET on a connection found dead), else the scrape fails. */
static void scrape_broken(gw_scr_t *s)
{
    gw_pod_t *pod = s->pod;
    bool stale = s->reused && !s->answered && !pod->scr_retried;
    scr_close(s);
    if (!stale) { scrape_finish(pod, SCR_ANSWERED); return; }
    pod->scr_retried = true;
    pod->gw->st.scrape_retries++;
    scrape_open(pod);
}

/* A connect that failed with libuv error `err`: refused takes the pod out;
 * any other error (EADDRNOTAVAIL: no ephemeral port left; EMFILE, ENOBUFS;
 * a network that is unreachable) says nothing of the pod: the scrape fails,
 * the pod keeps its state, and the error is told once per kind. */
static void scrape_connect_failed(gw_pod_t *pod, int err)
{
    es_live_gw_t *gw = pod->gw;
    if (err == UV_ECONNREFUSED) { scrape_finish(pod, SCR_REFUSED); return; }
    gw->st.scrape_local_errors++;
    bool told = false;
    for (uint32_t i = 0; i < gw->ntold; i++) told = told || gw->told[i] == err;
    if (!told && gw->ntold < sizeof gw->told / sizeof gw->told[0]) {
        gw->told[gw->ntold++] = err;
        fprintf(stderr, "eppsim gateway: scrape of %s (%s): cannot connect: %s (%s); the scrape fails, the pod keeps its "
                        "state (told once)\n", pod->name, pod->address, uv_strerror(err), uv_err_name(err));
    }
    scrape_finish(pod, SCR_UNKNOWN);
}

static void on_scr_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    on_alloc_gw(((gw_scr_t *)h->data)->gw, buf);
}

static void on_scr_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    gw_scr_t *s = stream->data;
    gw_pod_t *pod = s->pod;
    if (nread == 0 || !pod) return;
    if (!s->busy) { scr_close(s); return; }   /* idle: the pod closed it, or sent what nobody asked */
    if (nread < 0) {   /* a page delimited by the close ends here */
        if (nread == UV_EOF && s->answered && !pod->scr_done) http_parser_execute(&pod->scr_rp, &k_scr, NULL, 0);
        if (pod->scr_done) { scrape_complete(pod, false); return; }
        scrape_broken(s);
        return;
    }
    s->answered = true;
    size_t used = http_parser_execute(&pod->scr_rp, &k_scr, buf->base, (size_t)nread);
    if (pod->scr_done) { scrape_complete(pod, used == (size_t)nread && http_should_keep_alive(&pod->scr_rp)); return; }
    if (used != (size_t)nread) {   /* not HTTP: the pod answered, the scrape fails */
        scr_close(s);
        scrape_finish(pod, SCR_ANSWERED);
    }
}

static void on_scr_sent(uv_write_t *w, int status)
{
    gw_scr_t *s = w->data;   /* alive: a write's callback runs before its handle's close callback */
    free(w);
    if (status < 0 && s->pod && s->busy) scrape_broken(s);
}

/* Sends the scrape's request on the pod's connection. */
static void scrape_send(gw_pod_t *pod)
{
    gw_scr_t *s = pod->scr;
    s->busy = true;
    s->answered = false;
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t b = uv_buf_init(pod->scr_out.data, (unsigned)pod->scr_out.len);
    if (w) w->data = s;
    if (!w || uv_write(w, (uv_stream_t *)&s->tcp, &b, 1, on_scr_sent) != 0) {
        free(w);
        scr_close(s);
        scrape_finish(pod, SCR_ANSWERED);
    }
}

static void on_scr_connect(uv_connect_t *cr, int status)
{
    gw_scr_t *s = cr->data;
    gw_pod_t *pod = s->pod;
    if (!pod) return;   /* closed while connecting (timeout, shutdown) */
    if (status == 0 && es_live_self_connected(&s->tcp)) status = UV_ECONNREFUSED;
    if (status < 0) {
        scr_close(s);
        scrape_connect_failed(pod, status);
        return;
    }
    s->connected = true;
    pod->gw->st.scrape_connections++;
    uv_tcp_nodelay(&s->tcp, 1);
    uv_read_start((uv_stream_t *)&s->tcp, on_scr_alloc, on_scr_read);
    scrape_send(pod);
}

/* Opens a connection to the pod for the running scrape. */
static void scrape_open(gw_pod_t *pod)
{
    es_live_gw_t *gw = pod->gw;
    pod->scr_done = false;
    pod->page.len = 0;
    http_parser_init(&pod->scr_rp, HTTP_RESPONSE);
    pod->scr_rp.data = pod;
    gw_scr_t *s = calloc(1, sizeof *s);
    if (!s) { scrape_connect_failed(pod, UV_ENOMEM); return; }
    s->gw = gw;
    s->pod = pod;
    s->tcp.data = s;
    s->connect.data = s;
    uv_tcp_init(gw->loop, &s->tcp);
    pod->scr = s;
    /* refused is reported by the callback; what fails here is local (no port, no descriptor) */
    int rc = uv_tcp_connect(&s->connect, &s->tcp, (const struct sockaddr *)&pod->addr, on_scr_connect);
    if (rc) {
        scr_close(s);
        scrape_connect_failed(pod, rc);
    }
}

static void on_scrape_tick(uv_timer_t *t)
{
    gw_pod_t *pod = t->data;
    es_live_gw_t *gw = pod->gw;
    if (gw->closed) return;
    uint64_t now = uv_now(gw->loop);
    if (pod->scraping) {
        /* a scrape slower than the timeout fails; the last values stay, its
         * connection closes (as an http.Client timeout cancels the request) */
        if ((double)(now - pod->scrape_started) * gw->cfg.time_scale > gw->cfg.scrape_timeout_ms) {
            gw_scr_t *s = pod->scr;
            bool connected = s && s->connected;
            if (s) scr_close(s);
            scrape_finish(pod, connected ? SCR_ANSWERED : SCR_UNKNOWN);
        }
        return;
    }
    pod->scraping = true;
    pod->scrape_started = now;
    pod->scr_retried = false;
    gw_scr_t *s = pod->scr;
    /* an idle connection older than the pool's limit closes (a pod's idle timeout could race the scrape) */
    if (s && !s->busy && now - s->idle_since > GW_LINK_IDLE_MS) { scr_close(s); s = NULL; }
    if (!s) { scrape_open(pod); return; }
    pod->scr_done = false;
    pod->page.len = 0;
    http_parser_init(&pod->scr_rp, HTTP_RESPONSE);
    pod->scr_rp.data = pod;
    s->reused = true;
    scrape_send(pod);
}

/* ---- timeouts ---- */

static void on_reap(uv_timer_t *t)
{
    es_live_gw_t *gw = t->data;
    uint64_t now = uv_now(gw->loop);
    if (gw->cfg.idle_timeout_ms)
        for (gw_conn_t *c = gw->conns; c; c = c->next) {
            if (c->busy || c->closing) continue;
            size_t unsent = c->started ? 0 : es_live_unsent(&c->tcp);
            if (unsent < c->unsent) c->since = now;   /* the client is taking its response */
            c->unsent = unsent;
            if (now - c->since > gw->cfg.idle_timeout_ms) conn_close(c);
        }
    if (gw->cfg.upstream_timeout_ms)
        for (uint32_t i = 0; i < gw->nreqs; i++) {
            gw_req_t *r = gw->reqs[i];
            /* paused: the client has read nothing of the last GW_PAUSE_BYTES for as long */
            if (r->link && now - r->up.last > gw->cfg.upstream_timeout_ms) {
                r->next_target = r->ntargets;   /* no fallback after a timeout, nor a retry */
                r->fresh_retry = true;
                req_close(r);
            }
        }
    /* pooled connections idle too long close before the pod's idle timeout could race a request */
    for (uint32_t i = 0; i < gw->npods; i++)
        for (gw_link_t *l = gw->pods[i].idle, *next; l; l = next) {
            next = l->next_idle;
            if (now - l->idle_since > GW_LINK_IDLE_MS) link_close(l);
        }
    if (gw->cfg.decisions) fflush(gw->cfg.decisions);
}

/* ---- KV events ---- */

#define GW_KV_MAX_MSG   (16 << 20)   /* ZMQ_MAXMSGSIZE: a larger message drops the connection */
#define GW_KV_PER_CALL  4096         /* messages per wake-up; the rest on the next loop turn */

static void on_kv_event(void *ud, const es_kv_event_t *ev)
{
    es_live_gw_t *gw = ud;
    es_scheduler_on_kv_event(gw->sched, ev);
}

/* Reads what the pod's subscriber holds: the last frame of each multipart
 * message ([topic, seq, payload]) is the batch.  Returns false when the cap
 * stopped it before the queue was empty. */
static bool kv_drain(gw_pod_t *pod)
{
    es_live_gw_t *gw = pod->gw;
    for (int i = 0; i < GW_KV_PER_CALL; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, pod->kv_sock, ZMQ_DONTWAIT) < 0) { zmq_msg_close(&m); return true; }
        if (!zmq_msg_more(&m)) {
            int n = es_live_kv_decode(zmq_msg_data(&m), zmq_msg_size(&m), pod->index, gw_now(gw), on_kv_event, gw);
            if (n < 0) gw->st.kv_bad++;
            else { gw->st.kv_batches++; gw->st.kv_events += (uint64_t)n; }
        }
        zmq_msg_close(&m);
    }
    return false;
}

static void on_kv_more(uv_timer_t *t);

static void kv_drain_all(es_live_gw_t *gw)
{
    bool empty = true;
    for (uint32_t i = 0; i < gw->npods; i++)
        if (gw->pods[i].kv_sock && !kv_drain(&gw->pods[i])) empty = false;
    if (!empty && gw->kv_more_open && !gw->closed) uv_timer_start(&gw->kv_more, on_kv_more, 0, 0);
}

static void on_kv_more(uv_timer_t *t) { kv_drain_all(t->data); }

/* ZMQ_FD signals that the socket's state changed, not how many messages wait. */
static void on_kv_readable(uv_poll_t *h, int status, int events)
{
    (void)status; (void)events;
    gw_pod_t *pod = h->data;
    if (!kv_drain(pod) && pod->gw->kv_more_open && !pod->gw->closed)
        uv_timer_start(&pod->gw->kv_more, on_kv_more, 0, 0);
}

static int kv_subscribe(gw_pod_t *pod, const char *endpoint, es_err_t *err)
{
    es_live_gw_t *gw = pod->gw;
    pod->kv_sock = zmq_socket(gw->zctx, ZMQ_SUB);
    if (!pod->kv_sock) return es_err_set(err, ES_EIO, "--kv-events: %s", zmq_strerror(zmq_errno()));
    int zero = 0;
    int64_t maxmsg = GW_KV_MAX_MSG;
    int fd;
    size_t fdlen = sizeof fd;
    if (zmq_setsockopt(pod->kv_sock, ZMQ_LINGER, &zero, sizeof zero) || zmq_setsockopt(pod->kv_sock, ZMQ_SUBSCRIBE, "", 0) ||
        zmq_setsockopt(pod->kv_sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) || zmq_connect(pod->kv_sock, endpoint) ||
        zmq_getsockopt(pod->kv_sock, ZMQ_FD, &fd, &fdlen))
        return es_err_set(err, ES_EINVAL, "--kv-events: %s: %s", endpoint, zmq_strerror(zmq_errno()));
    if (uv_poll_init(gw->loop, &pod->kv_poll, fd) != 0) return es_err_set(err, ES_EIO, "--kv-events: %s: cannot poll", endpoint);
    pod->kv_poll.data = pod;
    pod->kv_poll_open = true;
    uv_poll_start(&pod->kv_poll, UV_READABLE, on_kv_readable);
    return 0;
}

/* ---- lifecycle ---- */

static int parse_addr(const char *s, struct sockaddr_storage *out)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || colon[1] == '\0' || port < 1 || port > 65535) return -1;
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out) == 0) return 0;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)out) == 0) return 0;
    return -1;
}

static void fail_create(es_live_gw_t *gw)
{
    es_live_gw_close(gw);
    uv_run(gw->loop, UV_RUN_DEFAULT);
    es_live_gw_destroy(gw);
}

int es_live_gw_create(uv_loop_t *loop, const es_live_gw_config_t *cfg, es_live_gw_t **out, es_err_t *err)
{
    *out = NULL;
    if (cfg->npods == 0 || cfg->npods > 1024) return es_err_set(err, ES_EINVAL, "--pods: 1 to 1024 pods");
    if (!(cfg->time_scale > 0 && cfg->time_scale <= 1000))
        return es_err_set(err, ES_EINVAL, "--time-scale: must be in (0, 1000]");
    es_live_gw_t *gw = calloc(1, sizeof *gw);
    if (!gw) return es_err_set(err, ES_ENOMEM, "out of memory");
    gw->cfg = *cfg;
    gw->loop = loop;
    snprintf(gw->listen, sizeof gw->listen, "%s", cfg->listen ? cfg->listen : "127.0.0.1");
    gw->cfg.listen = gw->listen;
    gw->pods = calloc(cfg->npods, sizeof *gw->pods);
    gw->eps = calloc(cfg->npods, sizeof *gw->eps);
    gw->inflight = calloc(cfg->npods, sizeof *gw->inflight);
    gw->held_n = calloc(cfg->npods, sizeof *gw->held_n);
    gw->held_cap = 256;
    gw->held = malloc(gw->held_cap * sizeof *gw->held);
    gw->log_kv = cfg->decisions && es_scheduler_wants_kv_events(cfg->epp);
    if (!gw->pods || !gw->eps || !gw->inflight || !gw->held_n || !gw->held) { es_live_gw_destroy(gw); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    for (uint32_t i = 0; i < cfg->npods; i++) {
        gw_pod_t *p = &gw->pods[i];
        if (parse_addr(cfg->pods[i], &p->addr)) {
            es_err_set(err, ES_EINVAL, "--pods: %s: not IP:PORT", cfg->pods[i]);
            es_live_gw_destroy(gw);
            return ES_EINVAL;
        }
    }
    int rc = es_scheduler_create(cfg->epp, cfg->seed, &gw->sched, err);
    if (rc) { es_live_gw_destroy(gw); return rc; }
    if (gw->log_kv) es_scheduler_set_decide_hook(gw->sched, on_decide, gw);
    struct sockaddr_storage addr;
    if (uv_ip4_addr(gw->listen, cfg->port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(gw->listen, cfg->port, (struct sockaddr_in6 *)&addr) != 0) {
        es_live_gw_destroy(gw);
        return es_err_set(err, ES_EINVAL, "--listen: %s: not an IPv4 or IPv6 address", cfg->listen);
    }
    uv_tcp_init(loop, &gw->listener);
    gw->listener.data = gw;
    gw->listener_open = true;
    int e = uv_tcp_bind(&gw->listener, (const struct sockaddr *)&addr, 0);
    if (!e) e = uv_listen((uv_stream_t *)&gw->listener, 128, on_connection);
    if (e) {
        es_err_set(err, ES_EIO, "--listen %s --port %d: %s", gw->listen, cfg->port, uv_strerror(e));
        fail_create(gw);
        return ES_EIO;
    }
    struct sockaddr_storage got;
    int len = sizeof got;
    uv_tcp_getsockname(&gw->listener, (struct sockaddr *)&got, &len);
    gw->port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                              : ((struct sockaddr_in6 *)&got)->sin6_port);
    gw->t0 = uv_hrtime();
    uint64_t every = (uint64_t)(cfg->refresh_interval_ms / cfg->time_scale + 0.5);
    if (every < 1) every = 1;
    for (uint32_t i = 0; i < cfg->npods; i++) {
        gw_pod_t *p = &gw->pods[i];
        p->gw = gw;
        p->index = i;
        p->ready = true;   /* a candidate until a scrape is refused */
        snprintf(p->name, sizeof p->name, "%s-%u", cfg->pool_name ? cfg->pool_name : "pod", i);
        snprintf(p->address, sizeof p->address, "%s", cfg->pods[i]);
        es_live_buf_printf(&p->scr_out, "GET /metrics HTTP/1.1\r\nHost: %s\r\nAccept: text/plain\r\n\r\n",
                           p->address);
        uv_timer_init(loop, &p->timer);
        p->timer.data = p;
        on_scrape_tick(&p->timer);   /* the first values before the first request, as far as they come */
        uv_timer_start(&p->timer, on_scrape_tick, every, every);
        gw->npods = i + 1;
    }
    uv_timer_init(loop, &gw->reaper);
    gw->reaper.data = gw;
    gw->reaper_open = true;
    uv_timer_init(loop, &gw->flow_timer);
    gw->flow_timer.data = gw;
    gw->flow_timer_open = true;
    uv_timer_start(&gw->reaper, on_reap, 100, 100);
    if (cfg->kv_endpoints) {
        gw->zctx = zmq_ctx_new();
        if (!gw->zctx) { es_err_set(err, ES_EIO, "--kv-events: no ZMQ context"); fail_create(gw); return ES_EIO; }
        uv_timer_init(loop, &gw->kv_more);
        gw->kv_more.data = gw;
        gw->kv_more_open = true;
        for (uint32_t i = 0; i < cfg->npods; i++)
            if (cfg->kv_endpoints[i] && (rc = kv_subscribe(&gw->pods[i], cfg->kv_endpoints[i], err))) {
                fail_create(gw);
                return rc;
            }
    }
    *out = gw;
    return 0;
}

int es_live_gw_port(const es_live_gw_t *gw) { return gw->port; }

void es_live_gw_stats(const es_live_gw_t *gw, es_live_gw_stats_t *out) { *out = gw->st; }

void es_live_gw_close(es_live_gw_t *gw)
{
    if (gw->closed) return;
    gw->closed = true;
    if (gw->listener_open && !uv_is_closing((uv_handle_t *)&gw->listener)) uv_close((uv_handle_t *)&gw->listener, NULL);
    for (gw_conn_t *c = gw->conns; c; c = c->next) conn_close(c);
    while (gw->nreqs) {   /* exchanges whose client has gone already */
        gw_req_t *r = gw->reqs[gw->nreqs - 1];
        reqs_remove(gw, r);
        r->client = NULL;
        req_close(r);
    }
    for (uint32_t i = 0; i < gw->npods; i++) {
        gw_pod_t *p = &gw->pods[i];
        uv_close((uv_handle_t *)&p->timer, NULL);
        while (p->idle) link_close(p->idle);
        if (p->scr) scr_close(p->scr);
    }
    if (gw->reaper_open) uv_close((uv_handle_t *)&gw->reaper, NULL);
    gw->reaper_open = false;
    if (gw->flow_timer_open) uv_close((uv_handle_t *)&gw->flow_timer, NULL);
    gw->flow_timer_open = false;
    for (uint32_t i = 0; i < gw->npods; i++)
        if (gw->pods[i].kv_poll_open) uv_close((uv_handle_t *)&gw->pods[i].kv_poll, NULL);
    if (gw->kv_more_open) uv_close((uv_handle_t *)&gw->kv_more, NULL);
    gw->kv_more_open = false;
}

void es_live_gw_destroy(es_live_gw_t *gw)
{
    if (!gw) return;
    if (gw->cfg.decisions) fflush(gw->cfg.decisions);
    for (uint32_t i = 0; gw->pods && i < gw->cfg.npods; i++) {
        es_live_buf_free(&gw->pods[i].scr_out);
        es_live_buf_free(&gw->pods[i].page);
        if (gw->pods[i].kv_sock) zmq_close(gw->pods[i].kv_sock);
    }
    if (gw->zctx) zmq_ctx_term(gw->zctx);
    es_scheduler_destroy(gw->sched);
    free(gw->reqs);
    free(gw->pods);
    free(gw->eps);
    free(gw->inflight);
    free(gw->held);
    free(gw->held_n);
    free(gw);
}
