/*
 * cmd_load.c -- `eppsim load [EXPERIMENT] --url URL...`: sends the
 * experiment's workload (or an inference-perf config) to live servers in real
 * time, streaming, and writes `eppsim run`'s result files from client-side
 * timestamps (docs/live.md).
 *
 * One libuv loop: a timer hands out the workload's requests when the wall
 * clock (times --time-scale) reaches their arrival; each goes to the next URL
 * in turn over a kept-alive connection (at most --max-conns open, the rest
 * wait in order); live/client.c reads the streamed response.  Times recorded
 * are model times: wall ns x time_scale, so a run against `eppsim serve
 * --time-scale X` with the same X reads as the simulation does.
 * Every loop ends by itself: arrivals stop with the workload or at
 * duration_s, a request past --timeout is cut off (status 0), and the loop
 * stops when nothing is pending.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "es_cli.h"
#include "es_experiment.h"
#include "es_live.h"
#include "es_live_client.h"
#include "es_live_gw.h"
#include "es_metrics.h"
#include "es_outdir.h"
#include "es_rng.h"
#include "es_run.h"
#include "es_summary.h"
#include "es_sweep.h"
#include "es_workload.h"

#define LOAD_MAX_URLS    1024
#define LOAD_MAX_PENDING 1000000u   /* requests waiting for a connection */
#define LOAD_IDLE_CLOSE_MS 5000u    /* kept-alive connections idle this long are closed (wall ms), well
                                     * before a server's idle timeout (serve: 30 s), so that a request is
                                     * never written to a connection the server is closing */

struct load_ctx;

/* A pod's scrape connection, for its rows of timeseries.csv: one GET
 * /metrics at a time, kept alive between scrapes (one connection per pod,
 * not one per scrape: no TIME_WAIT sockets pile up at the timeseries
 * interval), closed when idle LOAD_IDLE_CLOSE_MS or the pod closes it. */
typedef struct load_scrape {
    uv_tcp_t       tcp;
    uv_connect_t   connect;
    uv_write_t     w;
    struct load_ctx *ctx;
    uint32_t       target;
    es_live_sse_t  http;        /* raw mode: the page */
    char           req[192];
    uint64_t       started;     /* wall ms of the current scrape, or when it went idle */
    bool           closing;
    bool           connected;
    bool           busy;        /* a scrape is in flight on it */
    bool           reused;      /* the current scrape runs on a connection that carried one before */
    bool           retry;       /* closed stale (reused, no answer): scrape again on a new one */
} load_scrape_t;

typedef struct load_target {
    struct sockaddr_storage addr;
    load_scrape_t *scraping;     /* its scrape connection (busy or idle), or NULL */
    bool     scraped;            /* a page has been read */
    int32_t  waiting, running;
    double   kv_usage;
    uint64_t prefix_queries, prefix_hits, last_queries, last_hits;
    char     name[96];           /* host:port, the pod's name in the results */
    char     host[96];           /* Host header */
    uint64_t requests;
    struct load_conn *idle;      /* kept-alive connections without a request */
} load_target_t;

typedef struct load_req load_req_t;

typedef struct load_conn {
    uv_tcp_t      tcp;
    uv_connect_t  connect;
    struct load_ctx *ctx;
    uint32_t      target;
    es_live_sse_t sse;
    load_req_t   *req;            /* in flight on it, or NULL (idle) */
    bool          closing, connected, got, timed_out;   /* got: response bytes for its request */
    bool          reused;         /* it has carried a request before the current one */
    uint64_t      idle_since;     /* uv_now when it last became idle */
    struct load_conn *next_idle;
} load_conn_t;

struct load_req {
    es_wl_request_t *wl;
    uint32_t   target;
    es_time_t  sent, first, last;   /* model ns since start; first/last -1 until then */
    load_conn_t *conn;
    load_req_t *next;               /* pending queue */
    bool        retried;            /* sent again after a reused connection closed under it */
    char       *msg;                /* the request bytes (malloc) */
    size_t      msg_len;
    uv_write_t  w;
};

typedef struct load_ctx {
    const es_experiment_t *exp;
    uv_loop_t     *loop;
    uv_timer_t     arrivals, ticker;
    uv_signal_t    sigs[2];
    es_workload_t *wl;
    es_metrics_t  *m;
    es_err_t      *err;
    int            rc;
    load_target_t *targets;
    uint32_t       ntargets, next_target;
    double         time_scale;
    uint64_t       t0;              /* uv_hrtime at model time 0 */
    es_time_t      arrivals_end;    /* model time after which nothing is sent */
    es_time_t      timeout;         /* model ns; 0 = none */
    uint32_t       max_conns, nconns;
    load_req_t   **inflight;        /* max_conns slots: requests on a connection */
    load_req_t    *pend_head, *pend_tail;
    uint32_t       npending;
    bool           wl_finished, stopping, interrupted;
    uint64_t       sent, done, ok;
    /* why requests ended with status 0 (run-info.json) */
    uint64_t       n_refused, n_reset, n_cut, n_timeout, n_never_sent, n_overflow, n_retried;
    FILE          *requests_csv, *timeseries;
    struct { uint64_t done, cached, prompt, ttft_n; double ttft_sum; } iv;   /* timeseries interval */
    es_time_t      next_sample;
    const char    *session_header;  /* response header a session echoes (NULL: none) */
} load_ctx_t;

static es_time_t model_now(const load_ctx_t *c)
{
    return (es_time_t)((double)(uv_hrtime() - c->t0) * c->time_scale);
}

static void on_conn_closed(uv_handle_t *h);
static void on_arrivals(uv_timer_t *t);
static void pump(load_ctx_t *c);
static void maybe_stop(load_ctx_t *c);

/* ---- results ---- */

static void ratio(FILE *f, uint64_t a, uint64_t b)
{
    if (b) fprintf(f, ",%.6f", (double)a / (double)b);
    else fputs(",", f);
}

/* One timeseries interval: the pods' rows hold their gauges as last
 * scraped (empty before the first page); the 'all' row has the served hit
 * rate, completions and mean TTFT of the interval. */
static void sample(load_ctx_t *c, es_time_t at)
{
    if (!c->timeseries) return;
    double s = es_time_to_s(at);
    for (uint32_t i = 0; i < c->ntargets; i++) {
        load_target_t *t = &c->targets[i];
        if (!t->scraped) { fprintf(c->timeseries, "%.3f,%s,,,,,,,,,\n", s, t->name); continue; }
        fprintf(c->timeseries, "%.3f,%s,%d,%d,%.6f", s, t->name, t->waiting, t->running, t->kv_usage);
        ratio(c->timeseries, t->prefix_hits - t->last_hits, t->prefix_queries - t->last_queries);
        fputs(",,,,,\n", c->timeseries);
        t->last_hits = t->prefix_hits;
        t->last_queries = t->prefix_queries;
    }
    fprintf(c->timeseries, "%.3f,all,,,", s);
    ratio(c->timeseries, c->iv.cached, c->iv.prompt);
    fputs(",", c->timeseries);
    ratio(c->timeseries, c->iv.cached, c->iv.prompt);
    fprintf(c->timeseries, ",,%llu,", (unsigned long long)c->iv.done);
    if (c->iv.ttft_n) fprintf(c->timeseries, "%.3f\n", c->iv.ttft_sum / (double)c->iv.ttft_n);
    else fputs("\n", c->timeseries);
    memset(&c->iv, 0, sizeof c->iv);
}

static void record(load_ctx_t *c, load_req_t *r, int status, es_time_t end)
{
    const es_live_sse_t *s = r->conn ? &r->conn->sse : NULL;
    es_req_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.id = r->wl->id;
    rec.arrival = r->sent;
    rec.stage = r->wl->stage;
    rec.status = status;
    rec.pod = status ? (int32_t)r->target : -1;
    rec.prompt_tokens = s && s->usage && s->usage_prompt ? s->usage_prompt : r->wl->prompt.tokens;
    rec.output_tokens = status == 200 ? (s && s->usage ? s->usage_completion : s ? s->tokens : 0) : 0;
    rec.cached_tokens = status == 200 && s ? s->usage_cached : 0;
    rec.queue_ms = -1.0f;
    rec.ttft_ms = status == 200 && r->first >= 0 ? (float)es_time_to_ms(r->first - r->sent) : -1.0f;
    rec.e2e_ms = status == 200 ? (float)es_time_to_ms(end - r->sent) : -1.0f;
    if (es_metrics_add_request(c->m, &rec)) { c->rc = es_err_set(c->err, ES_ENOMEM, "out of memory"); return; }
    if (c->requests_csv) es_requests_csv_row(c->requests_csv, &rec, rec.pod >= 0 ? c->targets[rec.pod].name : NULL);
    if (status == 200) {
        c->ok++;
        c->iv.cached += rec.cached_tokens;
        c->iv.prompt += rec.prompt_tokens;
        if (rec.ttft_ms >= 0) { c->iv.ttft_sum += rec.ttft_ms; c->iv.ttft_n++; }
    }
    c->iv.done++;
    c->done++;
}

/* ---- scrapes ---- */

static void scrape_start(load_ctx_t *c, uint32_t i);

static void on_scrape_closed(uv_handle_t *h)
{
    load_scrape_t *k = h->data;
    load_ctx_t *c = k->ctx;
    uint32_t i = k->target;
    bool retry = k->retry;
    if (c->targets[i].scraping == k) c->targets[i].scraping = NULL;
    es_live_sse_fini(&k->http);
    free(k);
    if (retry) scrape_start(c, i);
}

static void scrape_close(load_scrape_t *k)
{
    if (k->closing) return;
    k->closing = true;
    uv_close((uv_handle_t *)&k->tcp, on_scrape_closed);
}

/* The connection failed under a scrape: a kept-alive one the pod had closed
 * meanwhile (no answer yet) scrapes once more, on a new one. */
static void scrape_fail(load_scrape_t *k)
{
    k->retry = k->busy && k->reused && k->http.status == 0 && !k->ctx->stopping;
    scrape_close(k);
}

static void scrape_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h; (void)suggested;
    static char rbuf[16384];
    *buf = uv_buf_init(rbuf, sizeof rbuf);
}

/* The page is read: its gauges become the pod's (a failed scrape keeps the last). */
static void scrape_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    load_scrape_t *k = s->data;
    if (nread == 0) return;
    if (!k->busy) { scrape_close(k); return; }   /* idle: the pod closed it (or sent what nobody asked) */
    if (nread < 0) es_live_sse_eof(&k->http);
    else if (es_live_sse_feed(&k->http, buf->base, (size_t)nread) < 0) { scrape_fail(k); return; }
    if (!k->http.complete) { if (nread < 0) scrape_fail(k); return; }
    if (k->http.status == 200) {
        es_live_scrape_t *sc = calloc(1, sizeof *sc);
        char msg[160];
        if (sc && es_live_parse_metrics(k->http.ev.data ? k->http.ev.data : "", k->http.ev.len, sc, msg, sizeof msg) == 0) {
            load_target_t *t = &k->ctx->targets[k->target];
            if (!t->scraped) { t->last_queries = sc->m.prefix_queries; t->last_hits = sc->m.prefix_hits; }
            t->scraped = true;
            t->waiting = (int32_t)sc->m.waiting;
            t->running = (int32_t)sc->m.running;
            t->kv_usage = sc->m.kv_cache_usage;
            t->prefix_queries = sc->m.prefix_queries;
            t->prefix_hits = sc->m.prefix_hits;
        }
        free(sc);
    }
    if (nread < 0 || !k->http.keep_alive || k->ctx->stopping) { scrape_close(k); return; }
    k->busy = false;
    k->started = uv_now(k->ctx->loop);
}

static void scrape_written(uv_write_t *w, int status)
{
    if (status < 0) scrape_fail(w->data);
}

static void scrape_send(load_scrape_t *k)
{
    uv_buf_t b = uv_buf_init(k->req, (unsigned)strlen(k->req));
    k->w.data = k;
    if (uv_write(&k->w, (uv_stream_t *)&k->tcp, &b, 1, scrape_written) != 0) scrape_fail(k);
}

static void scrape_connected(uv_connect_t *req, int status)
{
    load_scrape_t *k = req->data;
    if (k->closing) return;
    if (status < 0) { scrape_close(k); return; }
    k->connected = true;
    uv_read_start((uv_stream_t *)&k->tcp, scrape_alloc, scrape_read);
    scrape_send(k);
}

/* One scrape per pod at a time, on its kept-alive connection if it has one. */
static void scrape_start(load_ctx_t *c, uint32_t i)
{
    load_target_t *t = &c->targets[i];
    if (c->stopping) return;
    if (t->scraping) {
        load_scrape_t *k = t->scraping;
        if (k->busy || k->closing || !k->connected) return;   /* in flight, or its close not yet done */
        es_live_sse_reset(&k->http);
        k->busy = k->reused = true;
        k->started = uv_now(c->loop);
        scrape_send(k);
        return;
    }
    load_scrape_t *k = calloc(1, sizeof *k);
    if (!k) return;
    k->ctx = c;
    k->target = i;
    k->started = uv_now(c->loop);
    es_live_sse_init(&k->http);
    k->http.raw = true;
    snprintf(k->req, sizeof k->req, "GET /metrics HTTP/1.1\r\nHost: %s\r\n\r\n", t->host);
    k->busy = true;
    uv_tcp_init(c->loop, &k->tcp);
    k->tcp.data = k;
    k->connect.data = k;
    t->scraping = k;
    if (uv_tcp_connect(&k->connect, &k->tcp, (const struct sockaddr *)&t->addr, scrape_connected) != 0) scrape_close(k);
}

/* ---- requests ---- */

static void req_free(load_req_t *r)
{
    free(r->msg);
    free(r);
}

/* r ended (any status): recorded, given back to the workload (closed-loop
 * clients and sessions send their next), freed. */
static void req_end(load_ctx_t *c, load_req_t *r, int status)
{
    es_time_t now = model_now(c);
    record(c, r, status, now);
    for (uint32_t i = 0; i < c->max_conns; i++)
        if (c->inflight[i] == r) { c->inflight[i] = NULL; break; }
    /* session affinity: the token the response carried goes on the session's next turns
     * (inference-perf's api.session_token_header_key, openai_client.py) */
    if (r->conn && c->session_header && r->conn->sse.kept[0])
        es_workload_on_response_header(c->wl, r->wl, c->session_header, r->conn->sse.kept);
    es_workload_on_complete(c->wl, r->wl, now, status);
    es_workload_release(c->wl, r->wl);
    if (r->conn) r->conn->req = NULL;
    req_free(r);
}

static void on_token(void *ud)
{
    load_conn_t *k = ud;
    load_req_t *r = k->req;
    if (!r) return;
    load_ctx_t *c = k->ctx;
    es_time_t now = model_now(c);
    if (r->first < 0) r->first = now;
    else if (r->sent >= es_time_from_s(c->exp->results.warmup_s))
        es_metrics_add_gaps(c->m, now - r->last, 1);   /* warm-up trimmed; see docs/live.md */
    r->last = now;
}

/* The body and head of r's request (streaming, usage included). */
static int build_request(load_ctx_t *c, load_req_t *r)
{
    const es_wl_request_t *w = r->wl;
    const load_target_t *t = &c->targets[r->target];
    const char *path = w->path ? w->path : "/v1/completions";
    bool chat = strstr(path, "chat") != NULL;
    /* the prompt as text the stand-in tokenizer reads back as the same
     * tokens: each segment's filler words, so equal segments give equal text */
    es_live_buf_t text = {0};
    for (uint32_t i = 0; i < w->prompt.nsegs; i++)
        es_live_filler(&text, w->prompt.segs[i].id, 0, w->prompt.segs[i].len);
    cJSON *j = cJSON_CreateObject();
    /* an inference-perf config names the served model (server.model_name), as its client sends it */
    const char *model = w->lora ? w->lora : es_workload_server_model(c->wl) ? es_workload_server_model(c->wl) : w->model;
    if (model) cJSON_AddStringToObject(j, "model", model);
    if (chat) {
        cJSON *ms = cJSON_AddArrayToObject(j, "messages"), *m = cJSON_CreateObject();
        cJSON_AddItemToArray(ms, m);
        cJSON_AddStringToObject(m, "role", "user");
        cJSON_AddStringToObject(m, "content", text.data ? text.data : "");
    } else {
        cJSON_AddStringToObject(j, "prompt", text.data ? text.data : "");
    }
    cJSON_AddNumberToObject(j, "max_tokens", w->output_tokens);
    cJSON_AddBoolToObject(j, "ignore_eos", true);
    cJSON_AddBoolToObject(j, "stream", true);
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(j, "stream_options"), "include_usage", true);
    char *body = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    bool oom = text.oom || !body;
    es_live_buf_free(&text);
    if (oom) { free(body); return -1; }
    es_live_buf_t b = {0};
    es_live_buf_printf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n",
                       path, t->host, strlen(body));
    for (uint32_t i = 0; i < w->nheaders; i++) {   /* a header with a line break is not sent */
        const char *n = w->headers[i].name, *v = w->headers[i].value;
        if (strpbrk(n, "\r\n:") || strpbrk(v, "\r\n")) continue;
        es_live_buf_printf(&b, "%s: %s\r\n", n, v);
    }
    es_live_buf_append(&b, "\r\n", 2);
    es_live_buf_append(&b, body, strlen(body));
    free(body);
    if (b.oom) { es_live_buf_free(&b); return -1; }
    r->msg = b.data;
    r->msg_len = b.len;
    return 0;
}

/* ---- connections ---- */

static void conn_close(load_conn_t *k)
{
    if (k->closing) return;
    k->closing = true;
    uv_close((uv_handle_t *)&k->tcp, on_conn_closed);
}

static void unlink_idle(load_ctx_t *c, load_conn_t *k)
{
    load_target_t *t = &c->targets[k->target];
    for (load_conn_t **p = &t->idle; *p; p = &(*p)->next_idle)
        if (*p == k) { *p = k->next_idle; break; }
    k->next_idle = NULL;
}

static void on_conn_closed(uv_handle_t *h)
{
    load_conn_t *k = h->data;
    load_ctx_t *c = k->ctx;
    load_req_t *r = k->req;
    if (r && k->connected && k->reused && !k->got && !k->timed_out && !r->retried && !c->stopping) {
        /* a kept-alive connection the server closed before answering (it
         * timed the connection out as idle just as the request went): sent
         * once more on a new connection, as HTTP clients do for a request
         * that got no byte back on a reused connection; its times still
         * count from the first send */
        r->retried = true;
        c->n_retried++;
        for (uint32_t i = 0; i < c->max_conns; i++)
            if (c->inflight[i] == r) { c->inflight[i] = NULL; break; }
        c->targets[r->target].requests--;
        c->sent--;
        r->conn = NULL;
        k->req = NULL;
        r->next = c->pend_head;
        c->pend_head = r;
        if (!c->pend_tail) c->pend_tail = r;
        c->npending++;
    }
    if (k->req) {   /* no (whole) response: refused, reset or cut off */
        if (!k->connected) c->n_refused++;
        else if (k->timed_out) c->n_timeout++;
        else if (!k->got) c->n_reset++;
        else c->n_cut++;
        req_end(c, k->req, 0);
    }
    unlink_idle(c, k);
    es_live_sse_fini(&k->sse);
    free(k);
    c->nconns--;
    pump(c);
    maybe_stop(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    static char rbuf[65536];   /* consumed before the next read: one buffer for every connection */
    (void)suggested;
    *buf = uv_buf_init(rbuf, sizeof rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    load_conn_t *k = s->data;
    load_ctx_t *c = k->ctx;
    if (nread == 0) return;
    if (nread < 0) {
        if (k->req) es_live_sse_eof(&k->sse);
        if (k->req && k->sse.complete) {
            load_req_t *r = k->req;
            req_end(c, r, k->sse.status == 200 && k->sse.done ? 200 : k->sse.status ? k->sse.status : 0);
        }
        conn_close(k);
        return;
    }
    if (!k->req) { conn_close(k); return; }   /* bytes nobody asked for */
    k->got = true;
    if (es_live_sse_feed(&k->sse, buf->base, (size_t)nread) < 0) { conn_close(k); return; }
    if (!k->sse.complete) return;
    load_req_t *r = k->req;
    int status = k->sse.status == 200 && !k->sse.done ? 0 : k->sse.status;   /* a stream must end with [DONE] */
    bool keep = k->sse.keep_alive && !c->stopping;
    if (status == 0) c->n_cut++;
    req_end(c, r, status);
    if (!keep) { conn_close(k); return; }
    es_live_sse_reset(&k->sse);
    k->got = false;
    k->idle_since = uv_now(c->loop);
    k->next_idle = c->targets[k->target].idle;
    c->targets[k->target].idle = k;
    pump(c);
    maybe_stop(c);
}

static void on_written(uv_write_t *w, int status)
{
    load_req_t *r = w->data;
    if (status < 0 && r->conn) conn_close(r->conn);
}

static void send_on(load_ctx_t *c, load_conn_t *k, load_req_t *r)
{
    k->req = r;
    r->conn = k;
    for (uint32_t i = 0; i < c->max_conns; i++)
        if (!c->inflight[i]) { c->inflight[i] = r; break; }
    c->targets[r->target].requests++;
    c->sent++;
    uv_buf_t b = uv_buf_init(r->msg, (unsigned)r->msg_len);
    r->w.data = r;
    if (uv_write(&r->w, (uv_stream_t *)&k->tcp, &b, 1, on_written) != 0) conn_close(k);
}

static void on_connect(uv_connect_t *req, int status)
{
    load_conn_t *k = req->data;
    if (k->closing) return;
    if (status < 0) { conn_close(k); return; }   /* refused: the request ends with status 0 */
    k->connected = true;
    uv_tcp_nodelay(&k->tcp, 1);
    uv_read_start((uv_stream_t *)&k->tcp, on_alloc, on_read);
    load_req_t *r = k->req;
    k->req = NULL;
    send_on(k->ctx, k, r);
}

/* Sends r on an idle connection to its target, or a new one; false when the
 * connection cap is reached (r then waits). */
static bool try_send(load_ctx_t *c, load_req_t *r)
{
    load_target_t *t = &c->targets[r->target];
    if (t->idle) {
        load_conn_t *k = t->idle;
        t->idle = k->next_idle;
        k->next_idle = NULL;
        k->reused = true;
        if (!r->retried) r->sent = model_now(c);
        send_on(c, k, r);
        return true;
    }
    if (c->nconns >= c->max_conns) return false;
    load_conn_t *k = calloc(1, sizeof *k);
    if (!k) return false;
    k->ctx = c;
    k->target = r->target;
    es_live_sse_init(&k->sse);
    k->sse.on_token = on_token;
    k->sse.ud = k;
    k->sse.keep_header = c->session_header;
    uv_tcp_init(c->loop, &k->tcp);
    k->tcp.data = k;
    k->connect.data = k;
    c->nconns++;
    k->req = r;   /* parked until connected; it counts from the send */
    r->conn = k;
    if (!r->retried) r->sent = model_now(c);
    if (uv_tcp_connect(&k->connect, &k->tcp, (const struct sockaddr *)&t->addr, on_connect) != 0) conn_close(k);
    return true;
}

/* Hands out the workload's due requests and sends what can be sent. */
static void pump(load_ctx_t *c)
{
    if (c->rc || c->stopping) return;
    /* waiting requests first, in order */
    while (c->pend_head) {
        load_req_t *r = c->pend_head;
        if (!try_send(c, r)) break;
        c->pend_head = r->next;
        if (!c->pend_head) c->pend_tail = NULL;
        c->npending--;
    }
    es_time_t now = model_now(c);
    while (!c->wl_finished) {
        es_wl_request_t *w;
        int got = es_workload_next(c->wl, now < c->arrivals_end ? now : c->arrivals_end, &w, c->err);
        if (got < -1) { c->rc = got; return; }
        if (got == -1) { c->wl_finished = true; break; }
        if (got == 0) break;
        if (w->arrival > c->arrivals_end) {   /* past duration_s: the run sends no more */
            es_workload_release(c->wl, w);
            c->wl_finished = true;
            break;
        }
        load_req_t *r = calloc(1, sizeof *r);
        if (!r) { es_workload_release(c->wl, w); c->rc = es_err_set(c->err, ES_ENOMEM, "out of memory"); return; }
        r->wl = w;
        r->first = r->last = -1;
        r->target = c->next_target;
        c->next_target = (c->next_target + 1) % c->ntargets;
        if (build_request(c, r)) { es_workload_release(c->wl, w); req_free(r); c->rc = es_err_set(c->err, ES_ENOMEM, "out of memory"); return; }
        if (c->pend_head || !try_send(c, r)) {
            if (c->npending >= LOAD_MAX_PENDING) {   /* the servers fell this far behind: it fails at once */
                r->sent = now;
                c->n_overflow++;
                req_end(c, r, 0);
                continue;
            }
            r->next = NULL;
            if (c->pend_tail) c->pend_tail->next = r; else c->pend_head = r;
            c->pend_tail = r;
            c->npending++;
        }
    }
    /* the next arrival's wake-up (libuv timers: ms resolution) */
    es_time_t next = c->wl_finished ? ES_TIME_NEVER : es_workload_next_time(c->wl);
    if (next != ES_TIME_NEVER) {
        double wait_ms = ((double)(next - model_now(c)) / c->time_scale) / 1e6;
        uv_timer_start(&c->arrivals, on_arrivals, wait_ms > 0 ? (uint64_t)ceil(wait_ms) : 0, 0);
    }
}

static void stop_all(load_ctx_t *c)
{
    c->stopping = true;
    uv_timer_stop(&c->arrivals);
    if (!uv_is_closing((uv_handle_t *)&c->arrivals)) uv_close((uv_handle_t *)&c->arrivals, NULL);
    if (!uv_is_closing((uv_handle_t *)&c->ticker)) uv_close((uv_handle_t *)&c->ticker, NULL);
    for (int i = 0; i < 2; i++)
        if (!uv_is_closing((uv_handle_t *)&c->sigs[i])) uv_close((uv_handle_t *)&c->sigs[i], NULL);
    for (uint32_t i = 0; i < c->ntargets; i++)
        if (c->targets[i].scraping) scrape_close(c->targets[i].scraping);
    for (uint32_t i = 0; i < c->ntargets; i++)
        while (c->targets[i].idle) {
            load_conn_t *k = c->targets[i].idle;
            c->targets[i].idle = k->next_idle;
            k->next_idle = NULL;
            conn_close(k);
        }
    for (uint32_t i = 0; i < c->max_conns; i++)
        if (c->inflight[i] && c->inflight[i]->conn) conn_close(c->inflight[i]->conn);
    while (c->pend_head) {   /* never sent */
        load_req_t *r = c->pend_head;
        c->pend_head = r->next;
        c->npending--;
        r->sent = model_now(c);
        c->n_never_sent++;
        req_end(c, r, 0);
    }
    c->pend_tail = NULL;
}

static void maybe_stop(load_ctx_t *c)
{
    if (c->stopping) return;
    if (c->rc || (c->wl_finished && c->nconns == 0 && c->npending == 0)) {
        bool inflight = false;
        for (uint32_t i = 0; i < c->max_conns && !inflight; i++) inflight = c->inflight[i] != NULL;
        if (!inflight || c->rc) stop_all(c);
    }
}

static void on_arrivals(uv_timer_t *t)
{
    load_ctx_t *c = t->data;
    pump(c);
    maybe_stop(c);
}

/* Every 50 ms: requests past the timeout are cut off, the timeseries
 * advances, and a finished workload with nothing in flight ends the run. */
static void on_tick(uv_timer_t *t)
{
    load_ctx_t *c = t->data;
    es_time_t now = model_now(c);
    if (c->timeout > 0)
        for (uint32_t i = 0; i < c->max_conns; i++) {
            load_req_t *r = c->inflight[i];
            if (r && r->conn && now - r->sent > c->timeout) { r->conn->timed_out = true; conn_close(r->conn); }
        }
    uint64_t wall = uv_now(c->loop);
    for (uint32_t i = 0; i < c->ntargets; i++)
        for (load_conn_t *k = c->targets[i].idle, *next; k; k = next) {
            next = k->next_idle;
            if (wall - k->idle_since > LOAD_IDLE_CLOSE_MS) { unlink_idle(c, k); conn_close(k); }
        }
    if (now >= c->next_sample)
        for (uint32_t i = 0; i < c->ntargets; i++) scrape_start(c, i);   /* read by the next sample */
    while (now >= c->next_sample) {
        sample(c, c->next_sample);
        c->next_sample += es_time_from_ms(c->exp->results.timeseries_interval_ms);
    }
    for (uint32_t i = 0; i < c->ntargets; i++) {   /* a scrape is given 2 s; an idle connection LOAD_IDLE_CLOSE_MS */
        load_scrape_t *k = c->targets[i].scraping;
        if (k && uv_now(c->loop) - k->started > (k->busy ? 2000u : LOAD_IDLE_CLOSE_MS)) scrape_close(k);
    }
    if (!c->wl_finished && now >= c->arrivals_end) c->wl_finished = true;
    if (c->wl_finished) {   /* nothing waits or is in flight (idle connections aside): done */
        uint32_t idle = 0;
        for (uint32_t i = 0; i < c->ntargets; i++)
            for (load_conn_t *k = c->targets[i].idle; k; k = k->next_idle) idle++;
        if (c->npending == 0 && c->nconns == idle) stop_all(c);
    }
}

static void on_signal(uv_signal_t *h, int sig)
{
    (void)sig;
    load_ctx_t *c = h->data;
    c->interrupted = true;
    stop_all(c);
}

/* ---- the command ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: eppsim load [EXPERIMENT] --url URL [--url URL ...] [options]\n"
            "\n"
            "Sends the experiment's workload (default: the built-in experiment) to live\n"
            "OpenAI-compatible servers in real time, streaming, and writes the result files\n"
            "of `eppsim run` (summary.json, requests.csv, pods.csv, timeseries.csv, plots)\n"
            "from client-side timestamps (docs/live.md).  Request i goes to URL i mod N.\n"
            "\n"
            "options:\n"
            "      --url URL          http://HOST:PORT (an IP address or localhost); repeatable,\n"
            "                         or several separated by commas\n"
            "  -o, --out DIR          output directory (default out/<name>-seed<seed>-load)\n"
            "  -f, --force            replace an existing output directory\n"
            "      --set KEY=VALUE    override an experiment key (as eppsim run)\n"
            "      --inference-perf CONFIG  replay an inference-perf config as the workload\n"
            "      --time-scale X     model seconds per wall second, as `eppsim serve --time-scale`\n"
            "                         (default 1); recorded times are model times\n"
            "      --max-conns N      open connections, all URLs together (default 256)\n"
            "      --timeout S        cut a request off after S model seconds (status 0;\n"
            "                         default 600)\n"
            "      --session-header NAME  response header a chat session echoes on its next\n"
            "                         turns (session affinity's token; default x-session-token,\n"
            "                         \"\" for none)\n"
            "      --no-plots         skip gnuplot\n"
            "  -q, --quiet            no summary on stdout\n"
            "  -h, --help             this help\n"
            "\n"
            "Status 0 in requests.csv: no HTTP response (refused, reset, cut off, never sent).\n"
            "exit codes: 0 done, 2 bad input or output error, 130 interrupted (nothing written).\n");
}

static int parse_num(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || !(d >= lo && d <= hi)) {
        fprintf(stderr, "eppsim load: %s: %s: must be a number in [%g, %g]\n", opt, v, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

/* "http://HOST:PORT" (or "HOST:PORT"); HOST an IPv4/IPv6 literal or localhost. */
static int parse_url(const char *url, load_target_t *t, es_err_t *err)
{
    const char *p = url;
    if (!strncmp(p, "http://", 7)) p += 7;
    else if (strstr(p, "://")) return es_err_set(err, ES_EINVAL, "--url %s: only http:// is supported", url);
    char host[80];
    const char *colon;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close || close[1] != ':' || (size_t)(close - p - 1) >= sizeof host)
            return es_err_set(err, ES_EINVAL, "--url %s: expected http://[IPV6]:PORT", url);
        snprintf(host, sizeof host, "%.*s", (int)(close - p - 1), p + 1);
        colon = close + 1;
    } else {
        colon = strchr(p, ':');
        if (!colon || (size_t)(colon - p) >= sizeof host) return es_err_set(err, ES_EINVAL, "--url %s: expected http://HOST:PORT", url);
        snprintf(host, sizeof host, "%.*s", (int)(colon - p), p);
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || (*end && strcmp(end, "/")) || port < 1 || port > 65535)
        return es_err_set(err, ES_EINVAL, "--url %s: the port must be in [1, 65535] and nothing may follow it", url);
    const char *ip = strcmp(host, "localhost") ? host : "127.0.0.1";
    if (uv_ip4_addr(ip, (int)port, (struct sockaddr_in *)&t->addr) != 0 &&
        uv_ip6_addr(ip, (int)port, (struct sockaddr_in6 *)&t->addr) != 0)
        return es_err_set(err, ES_EINVAL, "--url %s: %s is not an IP address (or localhost)", url, host);
    bool v6 = strchr(ip, ':') != NULL;
    snprintf(t->name, sizeof t->name, v6 ? "[%s]:%ld" : "%s:%ld", ip, port);
    snprintf(t->host, sizeof t->host, "%s", t->name);
    return 0;
}

static int run_load(load_ctx_t *c, const char *dir, bool force, bool plots, bool quiet, es_err_t *err)
{
    const es_experiment_t *exp = c->exp;
    es_outdir_t od;
    bool od_open = false;
    char path[1400];
    cJSON *summary = NULL;
    int rc;
    if ((rc = es_outdir_begin(&od, dir, force, err))) return rc;
    od_open = true;
    if ((rc = es_workload_create(&exp->workload, exp->base_dir, exp->seed, &c->wl, err))) goto done;
    c->m = es_metrics_create(&exp->results, false, 16);
    if (!c->m) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto done; }
    c->inflight = calloc(c->max_conns, sizeof *c->inflight);
    if (!c->inflight) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto done; }
    if (exp->results.requests_csv) {
        c->requests_csv = fopen(es_outdir_file(&od, "requests.csv", path, sizeof path), "w");
        if (!c->requests_csv) { rc = es_err_set(err, ES_EIO, "%s: cannot write", path); goto done; }
        es_requests_csv_header(c->requests_csv);
    }
    c->timeseries = fopen(es_outdir_file(&od, "timeseries.csv", path, sizeof path), "w");
    if (!c->timeseries) { rc = es_err_set(err, ES_EIO, "%s: cannot write", path); goto done; }
    fputs("time_s,pod,waiting,running,kv_cache_usage,hit_rate,estimated_hit_rate,actual_hit_rate,oracle_hit_rate,"
          "requests_done,ttft_mean_ms\n", c->timeseries);
    c->next_sample = es_time_from_ms(exp->results.timeseries_interval_ms);
    c->arrivals_end = exp->duration_s > 0 ? es_time_from_s(exp->duration_s) : ES_TIME_NEVER;

    uv_loop_t loop;
    uv_loop_init(&loop);
    c->loop = &loop;
    uv_timer_init(&loop, &c->arrivals);
    c->arrivals.data = c;
    uv_timer_init(&loop, &c->ticker);
    c->ticker.data = c;
    for (int i = 0; i < 2; i++) { uv_signal_init(&loop, &c->sigs[i]); c->sigs[i].data = c; }
    uv_signal_start(&c->sigs[0], on_signal, SIGINT);
    uv_signal_start(&c->sigs[1], on_signal, SIGTERM);
    c->t0 = uv_hrtime();
    uv_timer_start(&c->ticker, on_tick, 50, 50);
    uv_timer_start(&c->arrivals, on_arrivals, 0, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    es_time_t end = model_now(c);
    uv_loop_close(&loop);
    if (c->interrupted) { rc = es_err_set(err, ES_EINTR, "interrupted"); goto done; }
    if (c->rc) { rc = c->rc; goto done; }
    sample(c, end);
    if (c->requests_csv) {
        int bad = fflush(c->requests_csv) != 0 || fsync(fileno(c->requests_csv)) != 0;
        bad |= fclose(c->requests_csv) != 0;
        c->requests_csv = NULL;
        if (bad) { rc = es_err_set(err, ES_EIO, "requests.csv: write failed"); goto done; }
    }
    {
        int bad = fflush(c->timeseries) != 0 || fsync(fileno(c->timeseries)) != 0;
        bad |= fclose(c->timeseries) != 0;
        c->timeseries = NULL;
        if (bad) { rc = es_err_set(err, ES_EIO, "timeseries.csv: write failed"); goto done; }
    }
    es_summary_pod_t *pods = calloc(c->ntargets, sizeof *pods);
    size_t nst = es_workload_stage_count(c->wl);
    es_summary_stage_t *stages = calloc(nst ? nst : 1, sizeof *stages);
    if (!pods || !stages) { free(pods); free(stages); rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto done; }
    for (uint32_t i = 0; i < c->ntargets; i++)
        pods[i] = (es_summary_pod_t){c->targets[i].name, "", c->targets[i].requests, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < nst; i++) es_workload_stage(c->wl, i, &stages[i].rate, &stages[i].start, &stages[i].end);
    es_summary_input_t in = {.experiment = exp->name, .seed = exp->seed, .rng = ES_RNG_NAME, .sim_end = end,
                             .pods = pods, .npods = c->ntargets, .stages = stages, .nstages = nst,
                             .slo_ttft_ms = exp->results.slo_ttft_ms, .slo_tpot_ms = exp->results.slo_tpot_ms,
                             .skipped_lines = es_workload_skipped_lines(c->wl)};
    summary = es_summary_build(c->m, &in);
    if (!summary) rc = es_err_set(err, ES_ENOMEM, "out of memory");
    if (!rc) rc = es_summary_write_json(es_outdir_file(&od, "summary.json", path, sizeof path), summary, err);
    if (!rc) rc = es_pods_csv_write(es_outdir_file(&od, "pods.csv", path, sizeof path), &in, err);
    free(pods);
    free(stages);
    if (rc) goto done;
    {
        size_t len;
        char *yaml = es_run_experiment_yaml(exp, &len);
        if (!yaml) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto done; }
        rc = es_write_file_atomic(es_outdir_file(&od, "experiment.yaml", path, sizeof path), yaml, len, err);
        free(yaml);
        if (rc) goto done;
    }
    {
        /* run-info.json: the wall-clock facts, and what was loaded */
        cJSON *info = cJSON_CreateObject(), *urls = cJSON_AddArrayToObject(info, "urls");
        cJSON_AddStringToObject(info, "eppsim_version", ES_VERSION);
        cJSON_AddStringToObject(info, "mode", "load");
        for (uint32_t i = 0; i < c->ntargets; i++) cJSON_AddItemToArray(urls, cJSON_CreateString(c->targets[i].name));
        cJSON_AddNumberToObject(info, "time_scale", c->time_scale);
        cJSON_AddNumberToObject(info, "wall_s", es_time_to_s(end) / c->time_scale);
        cJSON_AddNumberToObject(info, "sent", (double)c->sent);
        cJSON_AddNumberToObject(info, "completed_200", (double)c->ok);
        cJSON *f = cJSON_AddObjectToObject(info, "status_0");   /* why requests got no whole response */
        cJSON_AddNumberToObject(f, "connection_refused", (double)c->n_refused);
        cJSON_AddNumberToObject(f, "closed_before_response", (double)c->n_reset);
        cJSON_AddNumberToObject(f, "closed_mid_response", (double)c->n_cut);
        cJSON_AddNumberToObject(f, "timed_out", (double)c->n_timeout);
        cJSON_AddNumberToObject(f, "never_sent", (double)c->n_never_sent);
        cJSON_AddNumberToObject(f, "queue_overflow", (double)c->n_overflow);
        cJSON_AddNumberToObject(info, "retried_on_new_connection", (double)c->n_retried);
        char *s = cJSON_Print(info);
        cJSON_Delete(info);
        if (!s) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto done; }
        rc = es_write_file_atomic(es_outdir_file(&od, "run-info.json", path, sizeof path), s, strlen(s), err);
        free(s);
        if (rc) goto done;
    }
    if (plots && exp->results.plots && (rc = es_run_plots(od.tmp, quiet, NULL, err))) goto done;
    rc = es_outdir_commit(&od, err);
    od_open = rc != 0;
    if (!rc && !quiet) {
        printf("\n%s: %llu requests sent to %u URL(s) in %.1f s (model time %.1f s), %llu with status 200\n", dir,
               (unsigned long long)c->sent, c->ntargets, es_time_to_s(end) / c->time_scale, es_time_to_s(end),
               (unsigned long long)c->ok);
        es_summary_print(stdout, summary);
    }
done:
    if (c->requests_csv) fclose(c->requests_csv);
    if (c->timeseries) fclose(c->timeseries);
    if (od_open) es_outdir_abort(&od);
    cJSON_Delete(summary);
    es_workload_destroy(c->wl);
    es_metrics_destroy(c->m);
    free(c->inflight);
    return rc;
}

int es_cmd_load(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},        {"out", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},            {"set", required_argument, NULL, 's'},
        {"inference-perf", required_argument, NULL, 'I'}, {"time-scale", required_argument, NULL, 't'},
        {"max-conns", required_argument, NULL, 'c'},  {"timeout", required_argument, NULL, 'T'},
        {"no-plots", no_argument, NULL, 'P'},         {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},             {"session-header", required_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    const char *urls[LOAD_MAX_URLS], *sets[64], *out = NULL, *ip_file = NULL, *session_header = "x-session-token";
    size_t nurls = 0, nsets = 0;
    double scale = 1, max_conns = 256, timeout = 600;
    bool force = false, plots = true, quiet = false;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:fqh", opts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'u':
            if (nurls == LOAD_MAX_URLS) { fprintf(stderr, "eppsim load: --url: at most %d\n", LOAD_MAX_URLS); return ES_EXIT_USAGE; }
            urls[nurls++] = optarg;
            break;
        case 'o': out = optarg; break;
        case 'f': force = true; break;
        case 's':
            if (nsets == 64) { fprintf(stderr, "eppsim load: --set: at most 64\n"); return ES_EXIT_USAGE; }
            sets[nsets++] = optarg;
            break;
        case 'I': ip_file = optarg; break;
        case 't': bad = parse_num("--time-scale", optarg, 1e-3, 1000, &scale); break;
        case 'c': bad = parse_num("--max-conns", optarg, 1, 65536, &max_conns); break;
        case 'T': bad = parse_num("--timeout", optarg, 0.001, 86400, &timeout); break;
        case 'P': plots = false; break;
        case 'H':
            if (strlen(optarg) >= ES_LIVE_SSE_MAX_KEPT || strpbrk(optarg, "\r\n: \t")) {
                fprintf(stderr, "eppsim load: --session-header: '%s' is not a header name\n", optarg);
                return ES_EXIT_USAGE;
            }
            session_header = optarg[0] ? optarg : NULL;
            break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return ES_EXIT_OK;
        default: usage(stderr); return ES_EXIT_USAGE;
        }
        if (bad) return ES_EXIT_USAGE;
    }
    if (argc - optind > 1) { fprintf(stderr, "eppsim load: more than one experiment given\n"); return ES_EXIT_USAGE; }
    if (nurls == 0) { fprintf(stderr, "eppsim load: --url: at least one server to send to\n"); return ES_EXIT_USAGE; }
    es_err_t err;
    es_err_clear(&err);
    load_target_t *targets = calloc(LOAD_MAX_URLS, sizeof *targets);
    if (!targets) { fprintf(stderr, "eppsim load: out of memory\n"); return ES_EXIT_USAGE; }
    uint32_t nt = 0;
    for (size_t i = 0; i < nurls; i++) {   /* each --url may list several, comma-separated */
        char list[8192];
        snprintf(list, sizeof list, "%s", urls[i]);
        char *save = NULL;
        for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
            if (nt == LOAD_MAX_URLS) { es_err_set(&err, ES_EINVAL, "--url: at most %d servers", LOAD_MAX_URLS); break; }
            if (parse_url(u, &targets[nt], &err)) break;
            nt++;
        }
        if (err.code) break;
    }
    if (err.code || nt == 0) {
        fprintf(stderr, "eppsim load: %s\n", err.code ? err.msg : "--url: no server given");
        free(targets);
        return ES_EXIT_USAGE;
    }

    /* the experiment, as eppsim run reads it */
    const char *path = optind < argc ? argv[optind] : NULL;
    es_doc_t *doc = NULL;
    char base[1024] = ".";
    int rc;
    if (path) {
        rc = es_doc_load_file(path, &doc, &err);
        const char *slash = strrchr(path, '/');
        if (slash) snprintf(base, sizeof base, "%.*s", (int)(slash - path), path);
    } else {
        rc = es_doc_load_string("<built-in default>", es_default_experiment_yaml, strlen(es_default_experiment_yaml),
                                &doc, &err);
    }
    es_doc_t *holder = NULL, *epp_src = NULL;
    const char *const *culprits = NULL;   /* the --set a message may come from, as eppsim run says */
    size_t nculprits = 0;
    if (!rc && ip_file) rc = es_cli_set_inference_perf(doc, ip_file, NULL, &err) < 0 ? ES_EINVAL : 0;
    if (!rc && nsets) {
        holder = es_doc_create("--set");
        for (size_t i = 0; i < nsets && !rc; i++) {
            rc = holder ? es_sweep_override(doc, base, holder, &epp_src, sets[i], &err)
                        : es_err_set(&err, ES_ENOMEM, "out of memory");
            if (rc && holder) culprits = &sets[i], nculprits = 1;
        }
    }
    es_experiment_t exp;
    if (!rc) {
        rc = es_experiment_from_doc(doc, base, &exp, &err);
        culprits = sets, nculprits = nsets;
    } else {
        es_doc_destroy(doc);
    }
    if (rc) {
        es_cli_print_set_error(err.msg, culprits, nculprits);
        es_doc_destroy(holder);
        es_doc_destroy(epp_src);
        free(targets);
        return ES_EXIT_USAGE;
    }
    char dir[ES_OUTDIR_MAX + 1];
    if (out && strlen(out) > ES_OUTDIR_MAX) {
        fprintf(stderr, "eppsim load: --out: path is %zu bytes, longer than the %d allowed\n", strlen(out), ES_OUTDIR_MAX);
        rc = ES_EINVAL;
    } else if (out) {
        snprintf(dir, sizeof dir, "%s", out);
    } else {
        char d[ES_OUTDIR_MAX + 1];
        es_run_default_dir(&exp, d, sizeof d - 8);
        snprintf(dir, sizeof dir, "%s-load", d);
    }
    if (!rc) {
        signal(SIGPIPE, SIG_IGN);   /* a server that hangs up is an error code, not a kill */
        load_ctx_t c;
        memset(&c, 0, sizeof c);
        c.exp = &exp;
        c.err = &err;
        c.targets = targets;
        c.ntargets = nt;
        c.time_scale = scale;
        c.max_conns = (uint32_t)max_conns;
        c.timeout = es_time_from_s(timeout);
        c.session_header = session_header;
        if (!quiet) fprintf(stderr, "eppsim: loading %u server(s) with %s (seed %llu) -> %s\n", nt, exp.name,
                            (unsigned long long)exp.seed, dir);
        rc = run_load(&c, dir, force, plots, quiet, &err);
        if (rc == ES_EINTR) fprintf(stderr, "\neppsim: interrupted; nothing was written to %s\n", dir);
        else if (rc) fprintf(stderr, "eppsim: %s\n", err.msg);
    }
    es_experiment_fini(&exp);
    es_doc_destroy(holder);
    es_doc_destroy(epp_src);
    free(targets);
    return rc == ES_EINTR ? ES_EXIT_INTERRUPTED : rc ? ES_EXIT_USAGE : ES_EXIT_OK;
}
