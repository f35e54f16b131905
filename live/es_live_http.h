/*
 * es_live_http.h -- one HTTP/1.1 request at a time from a byte stream, with
 * bounds (http-parser does the protocol; this keeps the URL, body and limits).
 * Separate from the sockets so a fuzzer can feed it (tests/fuzz/fuzz_http.c).
 */
#ifndef ES_LIVE_HTTP_H
#define ES_LIVE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <http_parser.h>

#include "es_live.h"
#include "es_request.h"

#define ES_LIVE_HTTP_MORE 0   /* need more bytes */
#define ES_LIVE_HTTP_DONE 1   /* a whole request: method, url, body are set */

typedef struct es_live_http {
    http_parser   parser;
    size_t        max_header, max_body;
    char          url[1024];
    size_t        url_len;
    size_t        head_bytes;
    es_live_buf_t body;
    es_live_buf_t hdr;          /* headers as "name\0value\0" pairs, names lower-cased */
    size_t        nhdr;         /* whole pairs in hdr */
    bool          in_value;     /* the last header bytes were a value */
    int           method;       /* enum http_method */
    bool          keep_alive;
    bool          done, too_big, bad_url, head_too_big;
} es_live_http_t;

void es_live_http_init(es_live_http_t *h, size_t max_header, size_t max_body);
/* Parses up to n bytes; stops after one whole request (*used says how far).
 * Returns ES_LIVE_HTTP_MORE, ES_LIVE_HTTP_DONE, or an HTTP error status
 * (400 malformed or URL too long, 413 body too large, 431 head too large);
 * after an error the stream is unusable. */
int  es_live_http_feed(es_live_http_t *h, const char *data, size_t n, size_t *used);
/* After DONE: ready for the connection's next request. */
void es_live_http_next(es_live_http_t *h);
void es_live_http_fini(es_live_http_t *h);
/* After DONE: up to max headers of the request (name lower-case), borrowing
 * from h until the next request; returns how many. */
size_t es_live_http_headers(const es_live_http_t *h, es_header_t *out, size_t max);
/* The error message of a status returned by feed. */
const char *es_live_http_error(const es_live_http_t *h, int status);

#endif /* ES_LIVE_HTTP_H */
