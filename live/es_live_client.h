/*
 * es_live_client.h -- the reading side of `eppsim load`: one streamed
 * OpenAI completion response (HTTP/1.1 through http-parser, then the
 * server-sent events of its body), from a byte stream, with bounds.
 * Separate from the sockets so a fuzzer can feed it (tests/fuzz/fuzz_sse.c).
 *
 * Token counting: every `data:` event with a non-empty "choices" is one
 * token (vLLM and `eppsim serve` send one token per event when streaming);
 * the usage event (stream_options.include_usage) gives the authoritative
 * completion_tokens and cached_tokens; `data: [DONE]` ends the stream.
 * Bounds: one event <= ES_LIVE_SSE_MAX_EVENT bytes; an error body is kept
 * up to ES_LIVE_SSE_MAX_ERROR bytes.
 */
#ifndef ES_LIVE_CLIENT_H
#define ES_LIVE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "es_live.h"

#define ES_LIVE_SSE_MAX_EVENT 65536u
#define ES_LIVE_SSE_MAX_ERROR 4096u
#define ES_LIVE_SSE_MAX_RAW   (1u << 20)
#define ES_LIVE_SSE_MAX_KEPT  256u

typedef struct es_live_sse {
    http_parser          parser;
    http_parser_settings settings;
    int           status;          /* HTTP status, 0 before the head */
    bool          keep_alive;      /* after `complete`: the connection can carry another request */
    bool          complete;        /* the whole response has arrived */
    bool          failed;          /* malformed or over a bound: the connection is unusable */
    bool          done;            /* data: [DONE] seen */
    uint32_t      tokens;          /* token events seen */
    bool          usage;           /* a usage event was seen */
    uint32_t      usage_prompt, usage_completion, usage_cached;
    es_live_buf_t ev;              /* the event being received (raw: the whole body) */
    size_t        scanned;         /* ev[0, scanned) holds no event end: a byte-by-byte event costs O(n), not O(n^2) */
    bool          raw;             /* not a stream: keep the body (<= ES_LIVE_SSE_MAX_RAW bytes) in ev */
    /* called for each token event as it is parsed (may be NULL) */
    void        (*on_token)(void *ud);
    void         *ud;
    /* one response header kept (session affinity's token, `eppsim load
     * --session-header`): its name, case-insensitive (NULL: none, kept
     * across es_live_sse_reset); kept: its last value in this response,
     * "" when absent or ES_LIVE_SSE_MAX_KEPT bytes or longer */
    const char   *keep_header;
    char          kept[ES_LIVE_SSE_MAX_KEPT];
    size_t        hname, kept_len;   /* header callbacks: name bytes matched so far, value length */
    bool          in_value, hmatch, kept_over;
} es_live_sse_t;

void es_live_sse_init(es_live_sse_t *s);
/* Parses n bytes.  Returns 0, or -1 once failed (the rest is not read). */
int  es_live_sse_feed(es_live_sse_t *s, const char *data, size_t n);
/* The peer closed the connection: completes a response delimited by EOF. */
void es_live_sse_eof(es_live_sse_t *s);
/* Ready for the next response on the same connection. */
void es_live_sse_reset(es_live_sse_t *s);
void es_live_sse_fini(es_live_sse_t *s);

#endif /* ES_LIVE_CLIENT_H */
