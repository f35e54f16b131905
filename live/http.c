/*
 * http.c -- request assembly over http-parser with size limits (es_live_http.h).
 */
#include "es_live_http.h"

#include <limits.h>
#include <string.h>

static void reset(es_live_http_t *h)
{
    h->url_len = 0;
    h->url[0] = '\0';
    h->head_bytes = 0;
    h->body.len = 0;
    h->hdr.len = 0;
    h->nhdr = 0;
    h->in_value = false;
    h->done = h->too_big = h->bad_url = h->head_too_big = false;
}

static int on_message_begin(http_parser *p)
{
    reset(p->data);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    es_live_http_t *h = p->data;
    h->head_bytes += n;
    if (h->head_bytes > h->max_header) { h->head_too_big = true; return -1; }
    if (h->url_len + n >= sizeof h->url) { h->bad_url = true; return 0; }
    memcpy(h->url + h->url_len, at, n);
    h->url_len += n;
    h->url[h->url_len] = '\0';
    return 0;
}

static int on_header_bytes(http_parser *p, const char *at, size_t n)
{
    (void)at;
    es_live_http_t *h = p->data;
    h->head_bytes += n;
    if (h->head_bytes > h->max_header) { h->head_too_big = true; return -1; }
    return 0;
}

/* A header's bytes may come in pieces: a field after a value ends a pair. */
static int on_header_field(http_parser *p, const char *at, size_t n)
{
    es_live_http_t *h = p->data;
    if (on_header_bytes(p, at, n)) return -1;
    if (h->in_value) { es_live_buf_append(&h->hdr, "", 1); h->nhdr++; h->in_value = false; }
    size_t from = h->hdr.len;
    es_live_buf_append(&h->hdr, at, n);
    for (size_t i = from; i < h->hdr.len; i++)
        if (h->hdr.data[i] >= 'A' && h->hdr.data[i] <= 'Z') h->hdr.data[i] = (char)(h->hdr.data[i] - 'A' + 'a');
    return h->hdr.oom ? -1 : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    es_live_http_t *h = p->data;
    if (on_header_bytes(p, at, n)) return -1;
    if (!h->in_value) { es_live_buf_append(&h->hdr, "", 1); h->in_value = true; }
    es_live_buf_append(&h->hdr, at, n);
    return h->hdr.oom ? -1 : 0;
}

static int on_headers_complete(http_parser *p)
{
    es_live_http_t *h = p->data;
    if (h->in_value) { es_live_buf_append(&h->hdr, "", 1); h->nhdr++; h->in_value = false; }
    if (h->hdr.oom) return -1;
    if (p->content_length != ULLONG_MAX && p->content_length > h->max_body) {
        h->too_big = true;
        return -1;   /* an error (1 would mean "no body") */
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    es_live_http_t *h = p->data;
    if (h->body.len + n > h->max_body) { h->too_big = true; return -1; }
    es_live_buf_append(&h->body, at, n);
    return h->body.oom ? -1 : 0;
}

static int on_message_complete(http_parser *p)
{
    es_live_http_t *h = p->data;
    h->keep_alive = http_should_keep_alive(p) != 0;
    h->method = (int)p->method;
    h->done = true;
    http_parser_pause(p, 1);   /* one request at a time */
    return 0;
}

static const http_parser_settings k_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void es_live_http_init(es_live_http_t *h, size_t max_header, size_t max_body)
{
    memset(h, 0, sizeof *h);
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = h;
    h->max_header = max_header;
    h->max_body = max_body;
    h->keep_alive = true;
}

int es_live_http_feed(es_live_http_t *h, const char *data, size_t n, size_t *used)
{
    *used = http_parser_execute(&h->parser, &k_settings, data, n);
    if (h->done) {
        if (h->body.oom) return 400;
        return h->bad_url ? 400 : ES_LIVE_HTTP_DONE;
    }
    if (HTTP_PARSER_ERRNO(&h->parser) == HPE_OK) return ES_LIVE_HTTP_MORE;
    if (h->too_big) return 413;
    if (h->head_too_big) return 431;
    return 400;
}

void es_live_http_next(es_live_http_t *h)
{
    http_parser_pause(&h->parser, 0);
    reset(h);
}

void es_live_http_fini(es_live_http_t *h)
{
    es_live_buf_free(&h->body);
    es_live_buf_free(&h->hdr);
}

size_t es_live_http_headers(const es_live_http_t *h, es_header_t *out, size_t max)
{
    size_t n = 0, at = 0;
    while (n < max && n < h->nhdr && at < h->hdr.len) {
        out[n].name = h->hdr.data + at;
        at += strlen(out[n].name) + 1;
        out[n].value = h->hdr.data + at;
        at += strlen(out[n].value) + 1;
        n++;
    }
    return n;
}

const char *es_live_http_error(const es_live_http_t *h, int status)
{
    switch (status) {
    case 413: return "request body too large";
    case 431: return "request head too large";
    default:
        if (h->bad_url) return "request target too long";
        if (h->body.oom) return "out of memory";
        return http_errno_description(HTTP_PARSER_ERRNO(&h->parser));
    }
}
