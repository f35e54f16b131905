/*
 * es_live.h -- `eppsim serve`: emulated vLLM pods on the network, in real time.
 *
 * Each pod is the simulation's server model (models/es_server.h) behind an
 * OpenAI-compatible HTTP/1.1 endpoint on its own TCP port.  All pods share one
 * es_sim_t whose clock follows the wall clock: sim time = (uv_hrtime() - start)
 * * time_scale, and a timerfd is armed at the wall time of the next pending
 * event, so a 9.1 ms engine step takes 9.1 ms / time_scale.
 *
 * The pure parts (request mapping, stand-in tokenizer, filler text, the
 * Prometheus writer) are separate functions so they can be tested without
 * sockets.  docs/live.md describes what is emulated and what is not.
 *
 * Units: sim times es_time_t ns; latencies on /metrics are model seconds
 * (what the emulated GPU would show, independent of time_scale).
 * Bounds: body <= max_body bytes, request head <= max_header bytes,
 * open connections <= max_conns per process, one request in flight per
 * connection (no pipelining: a pipelined request closes the connection);
 * a connection with no request in flight (idle or slow to send one) is
 * closed after idle_timeout_ms.
 */
#ifndef ES_LIVE_H
#define ES_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "es_content.h"
#include "es_e2e_config.h"
#include "es_endpoint.h"
#include "es_err.h"
#include "es_server.h"
#include "es_server_config.h"

/* ---- growable text buffer (responses, /metrics) ---- */
typedef struct es_live_buf {
    char  *data;
    size_t len, cap;
    bool   oom;      /* an append failed; data holds what fit */
} es_live_buf_t;

void es_live_buf_printf(es_live_buf_t *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void es_live_buf_append(es_live_buf_t *b, const char *s, size_t n);
void es_live_buf_free(es_live_buf_t *b);

/* ---- stand-in tokenizer ----
 * NOT a real tokenizer: one token per ES_LIVE_BYTES_PER_TOKEN bytes of text
 * (rounded up, at least 1); every ES_LIVE_SEG_TOKENS tokens form one content
 * segment whose id hashes its bytes, so equal text gives equal tokens, equal
 * KV block hashes and prefix-cache hits.  Token ids match no model's tokenizer. */
#define ES_LIVE_BYTES_PER_TOKEN 4u
#define ES_LIVE_SEG_TOKENS      16u

/* Tokens of `len` bytes of text. */
uint32_t es_live_token_count(size_t len);
/* Segments needed for `len` bytes. */
uint32_t es_live_segment_count(size_t len);
/* Fills segs (es_live_segment_count(len) entries) and *c (borrowing segs). */
void es_live_tokenize(const char *text, size_t len, es_segment_t *segs, es_content_t *c);
/* Deterministic filler text of exactly `tokens` stand-in tokens (4 bytes each):
 * token i of output `seed` is the same word every time. Appends to b. */
void es_live_filler(es_live_buf_t *b, uint64_t seed, uint32_t first, uint32_t tokens);

/* One streamed completion event as `eppsim serve` sends it, one HTTP/1.1
 * chunk: "SSSSSSS\r\ndata: {...}\n\n\r\n", SSSSSSS the chunk size in 7 hex digits,
 * the JSON a chat.completion.chunk (chat) or a text_completion carrying
 * `tokens` filler tokens of output `seed` from token `first` (the chat role
 * on token 0; finish_reason "length" when `last`, else null).  `model_json`
 * is the model name as a JSON string (quoted, escaped); `id` needs no
 * escaping.  Appended to b with no formatting call and no allocation once b
 * has grown: a streaming server writes one per token. */
void es_live_sse_token_chunk(es_live_buf_t *b, bool chat, const char *id, long long created, const char *model_json,
                             uint64_t seed, uint32_t first, uint32_t tokens, bool last);

/* ---- OpenAI request mapping ---- */
typedef struct es_live_completion {
    bool      chat;            /* /v1/chat/completions */
    char     *prompt;          /* prompt text, or the messages as "role: content\n" lines (malloc) */
    size_t    prompt_len;
    uint32_t  max_tokens;      /* default ES_LIVE_DEFAULT_MAX_TOKENS */
    bool      ignore_eos;      /* accepted; the emulation always produces max_tokens */
    bool      stream;
    bool      include_usage;   /* stream_options.include_usage */
    char      model[128];      /* "model" as given ("" = absent) */
} es_live_completion_t;

#define ES_LIVE_DEFAULT_MAX_TOKENS 16u

/* Parses a completion request body.  Returns 0, or -1 with msg set (HTTP 400). */
int  es_live_parse_completion(const char *body, size_t len, bool chat, es_live_completion_t *out,
                              char *msg, size_t msgsize);
void es_live_completion_fini(es_live_completion_t *c);
/* Whether s[0, n) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points past U+10FFFF): bodies and forwarded header values must be,
 * as vLLM's JSON parser requires, so that every record stays valid JSON. */
bool es_live_utf8_valid(const char *s, size_t n);

/* ---- Prometheus writer ---- */
#define ES_LIVE_TTFT_BUCKETS 22
#define ES_LIVE_ITL_BUCKETS  19
extern const double es_live_ttft_bounds[ES_LIVE_TTFT_BUCKETS];
extern const double es_live_itl_bounds[ES_LIVE_ITL_BUCKETS];

typedef struct es_live_hist {
    const double *bounds;      /* upper bounds, seconds, ascending */
    uint32_t      nbounds;
    uint64_t      counts[24];  /* per bucket (not cumulative); [nbounds] = +Inf */
    uint64_t      count;
    double        sum;
} es_live_hist_t;

void es_live_hist_init(es_live_hist_t *h, const double *bounds, uint32_t nbounds);
void es_live_hist_add(es_live_hist_t *h, double v, uint64_t n);

typedef struct es_live_pod_stats {
    const char            *model;          /* model_name label */
    uint32_t               engine;         /* engine label (pod index) */
    es_endpoint_metrics_t  m;              /* es_server_metrics */
    uint64_t               preemptions;
    uint64_t               prompt_tokens;
    uint64_t               generation_tokens;
    uint64_t               success;        /* requests finished with 200 */
    es_live_hist_t         ttft, itl;
} es_live_pod_stats_t;

/* Writes the pod's /metrics page (text format 0.0.4). */
void es_live_write_metrics(es_live_buf_t *b, const es_live_pod_stats_t *st);

/* ---- step lateness (serve --stats) ----
 * How long after its scheduled wall time each engine event ran (the events of
 * one sim time count once): 1 us bins below 10 ms, 100 us bins below 1 s,
 * one overflow bin. */
#define ES_LIVE_LAT_FINE   10000u    /* 1 us bins: [0, 10 ms) */
#define ES_LIVE_LAT_COARSE 9900u     /* 100 us bins: [10 ms, 1 s) */
typedef struct es_live_lat_hist {
    uint64_t n, over;                  /* samples; those >= 1 s */
    uint64_t max_ns;
    uint32_t fine[ES_LIVE_LAT_FINE];
    uint32_t coarse[ES_LIVE_LAT_COARSE];
} es_live_lat_hist_t;

void   es_live_lat_add(es_live_lat_hist_t *h, uint64_t ns);
/* The q-quantile (0..1) in microseconds: the upper edge of its bin (an
 * overflow quantile reports the maximum); 0 when empty. */
double es_live_lat_quantile_us(const es_live_lat_hist_t *h, double q);

/* ---- the server ---- */
typedef struct es_live_config {
    const es_server_config_t *server;   /* every pod's configuration */
    uint32_t    pods;
    const char *listen;                 /* address; "127.0.0.1" by default */
    int         port;                   /* first port; pod i listens on port + i; 0 = ephemeral each */
    double      time_scale;             /* > 0; 2 = twice as fast as real time */
    const char *model_name;             /* served model name (/v1/models, labels) */
    uint64_t    seed;
    size_t      max_body;               /* bytes */
    size_t      max_header;             /* bytes of request line + headers */
    uint32_t    max_conns;
    size_t      max_queued;             /* bytes queued for clients, all together (beyond a
                                         * socket's buffer); a write past it cuts its client; 0 = none */
    uint64_t    idle_timeout_ms;        /* a connection with no request in flight this long is closed; 0 never */
    bool        kv_events;              /* publish KV events (es_live_kvev.h) */
    bool        stats;                  /* measure step lateness (es_live_lateness) */
    /* faults (docs/live.md "Faults"): the experiment's schedule, model time */
    const es_fault_t *faults;           /* cluster.faults; borrowed; pod >= pods is ignored */
    size_t      nfaults;
    double      readiness_delay_s;      /* a restarted pod listens again this long after its crash */
    double      scrape_latency_ms;      /* /metrics answers this long after it is asked */
    double      scrape_failure_rate;    /* probability that a /metrics answers 503 */
    int         kv_port;                /* pod i publishes on listen:kv_port + i; 0 = ephemeral each */
} es_live_config_t;

typedef struct es_live es_live_t;

/* Creates the pods and listens; runs once the caller runs `loop`. */
int  es_live_create(uv_loop_t *loop, const es_live_config_t *cfg, es_live_t **out, es_err_t *err);
/* The port pod i listens on (after create, also when cfg.port was 0). */
int  es_live_port(const es_live_t *lv, uint32_t pod);
/* The endpoint pod i publishes its KV events on ("tcp://ADDR:PORT"), or
 * NULL without cfg.kv_events; the topic is "kv@ADDR:HTTP_PORT@MODEL". */
const char *es_live_kv_endpoint(const es_live_t *lv, uint32_t pod);
/* Step lateness so far (cfg.stats; NULL otherwise). */
const es_live_lat_hist_t *es_live_lateness(const es_live_t *lv);
/* Token lateness so far (cfg.stats; NULL otherwise): for each pod's flush of
 * streamed tokens, the wall time its last write was queued minus the
 * scheduled wall time of the oldest engine event whose tokens it carried. */
const es_live_lat_hist_t *es_live_token_lateness(const es_live_t *lv);
/* Stops listening, aborts requests, closes every handle: the loop then ends. */
void es_live_close(es_live_t *lv);
/* After the loop has ended. */
void es_live_destroy(es_live_t *lv);

#endif /* ES_LIVE_H */
