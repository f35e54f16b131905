/*
 * client.c -- a streamed completion response: http-parser for HTTP/1.1
 * (chunked bodies included), then server-sent events (es_live_client.h).
 */
#include "es_live_client.h"

#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

/* One whole event's data (the text after "data: "). */
static void on_event(es_live_sse_t *s, const char *d, size_t n)
{
    if (n == 6 && memcmp(d, "[DONE]", 6) == 0) { s->done = true; return; }
    /* the usage event is the only one that needs a JSON parse: a token
     * event is counted by its shape, so a long stream costs no parse per token */
    bool has_usage = false;
    for (size_t i = 0; i + 7 <= n && !has_usage; i++) has_usage = memcmp(d + i, "\"usage\"", 7) == 0;
    if (!has_usage) {
        s->tokens++;
        if (s->on_token) s->on_token(s->ud);
        return;
    }
    cJSON *j = cJSON_ParseWithLength(d, n);
    if (!j) { s->failed = true; return; }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage"), *ch = cJSON_GetObjectItemCaseSensitive(j, "choices");
    if (cJSON_IsObject(u)) {
        const cJSON *pt = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens");
        const cJSON *det = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens_details");
        const cJSON *cached = cJSON_IsObject(det) ? cJSON_GetObjectItemCaseSensitive(det, "cached_tokens") : NULL;
        s->usage = true;
        if (cJSON_IsNumber(pt) && pt->valuedouble >= 0 && pt->valuedouble < 4e9) s->usage_prompt = (uint32_t)pt->valuedouble;
        if (cJSON_IsNumber(ct) && ct->valuedouble >= 0 && ct->valuedouble < 4e9) s->usage_completion = (uint32_t)ct->valuedouble;
        if (cJSON_IsNumber(cached) && cached->valuedouble >= 0 && cached->valuedouble < 4e9)
            s->usage_cached = (uint32_t)cached->valuedouble;
    }
    if (cJSON_GetArraySize(ch) > 0) {   /* a token event that also carries usage (continuous usage stats) */
        s->tokens++;
        if (s->on_token) s->on_token(s->ud);
    }
    cJSON_Delete(j);
}

/* Consumes the whole events in s->ev (separated by a blank line). */
static void drain_events(es_live_sse_t *s)
{
    size_t start = 0;
    char *b = s->ev.data;
    for (size_t i = s->scanned; i + 1 < s->ev.len && !s->failed; i++) {
        if (b[i] != '\n' || b[i + 1] != '\n') continue;
        /* event b[start, i): its data lines ("data: x" or "data:x"); other fields ignored */
        size_t ls = start;
        while (ls < i) {
            size_t le = ls;
            while (le < i && b[le] != '\n') le++;
            size_t n = le - ls;
            if (n >= 5 && memcmp(b + ls, "data:", 5) == 0) {
                size_t off = ls + 5 + (n > 5 && b[ls + 5] == ' ');
                size_t end = le > off && b[le - 1] == '\r' ? le - 1 : le;
                on_event(s, b + off, end - off);
            }
            ls = le + 1;
        }
        start = i + 2;
        i++;
    }
    if (start > 0) {
        memmove(b, b + start, s->ev.len - start);
        s->ev.len -= start;
    }
    s->scanned = s->ev.len > 0 ? s->ev.len - 1 : 0;   /* the last byte may be the first of a blank line */
}

/* keep_header: a name may come in pieces; a value follows its name */
static int on_header_field(http_parser *p, const char *at, size_t n)
{
    es_live_sse_t *s = p->data;
    if (!s->keep_header) return 0;
    if (s->in_value || s->hname == 0) { s->in_value = false; s->hname = 0; s->hmatch = true; }
    size_t want = strlen(s->keep_header);
    s->hmatch = s->hmatch && s->hname + n <= want && strncasecmp(at, s->keep_header + s->hname, n) == 0;
    s->hname += n;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    es_live_sse_t *s = p->data;
    if (!s->keep_header) return 0;
    if (!s->in_value) {
        s->in_value = true;
        s->hmatch = s->hmatch && s->hname == strlen(s->keep_header);
        if (s->hmatch) { s->kept_len = 0; s->kept_over = false; }   /* the last one wins */
    }
    if (!s->hmatch) return 0;
    if (s->kept_len + n >= sizeof s->kept) s->kept_over = true;
    else { memcpy(s->kept + s->kept_len, at, n); s->kept_len += n; }
    s->kept[s->kept_over ? 0 : s->kept_len] = '\0';
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    es_live_sse_t *s = p->data;
    s->status = (int)p->status_code;
    s->hname = 0;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    es_live_sse_t *s = p->data;
    if (s->raw) {   /* a plain body (a /metrics page), kept whole within its bound */
        if (s->ev.len + n > ES_LIVE_SSE_MAX_RAW) { s->failed = true; return -1; }
        es_live_buf_append(&s->ev, at, n);
        if (s->ev.oom) { s->failed = true; return -1; }
        return 0;
    }
    if (s->status != 200) {   /* an error body: kept short, never parsed */
        size_t room = s->ev.len < ES_LIVE_SSE_MAX_ERROR ? ES_LIVE_SSE_MAX_ERROR - s->ev.len : 0;
        es_live_buf_append(&s->ev, at, n < room ? n : room);
        return s->ev.oom ? -1 : 0;
    }
    if (s->ev.len + n > ES_LIVE_SSE_MAX_EVENT) { s->failed = true; return -1; }
    es_live_buf_append(&s->ev, at, n);
    if (s->ev.oom) { s->failed = true; return -1; }
    drain_events(s);
    return s->failed ? -1 : 0;
}

static int on_message_complete(http_parser *p)
{
    es_live_sse_t *s = p->data;
    s->keep_alive = http_should_keep_alive(p) != 0;
    s->complete = true;
    http_parser_pause(p, 1);   /* one response per request: bytes after it are not ours */
    return 0;
}

void es_live_sse_init(es_live_sse_t *s)
{
    memset(s, 0, sizeof *s);
    http_parser_settings_init(&s->settings);
    s->settings.on_header_field = on_header_field;
    s->settings.on_header_value = on_header_value;
    s->settings.on_headers_complete = on_headers_complete;
    s->settings.on_body = on_body;
    s->settings.on_message_complete = on_message_complete;
    http_parser_init(&s->parser, HTTP_RESPONSE);
    s->parser.data = s;
}

int es_live_sse_feed(es_live_sse_t *s, const char *data, size_t n)
{
    if (s->failed) return -1;
    if (s->complete) { s->failed = true; return -1; }   /* bytes after the response */
    size_t used = http_parser_execute(&s->parser, &s->settings, data, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&s->parser);
    if (s->complete && e == HPE_PAUSED) return used == n ? 0 : (s->failed = true, -1);
    if (e != HPE_OK || used != n) { s->failed = true; return -1; }
    return 0;
}

void es_live_sse_eof(es_live_sse_t *s)
{
    if (s->failed || s->complete) return;
    http_parser_execute(&s->parser, &s->settings, NULL, 0);
    if (!s->complete) s->failed = true;
    s->keep_alive = false;
}

void es_live_sse_reset(es_live_sse_t *s)
{
    es_live_buf_t ev = s->ev;
    void (*cb)(void *) = s->on_token;
    void *ud = s->ud;
    bool raw = s->raw;
    const char *keep = s->keep_header;
    es_live_sse_init(s);
    s->keep_header = keep;
    s->raw = raw;
    ev.len = 0;
    ev.oom = false;
    s->ev = ev;
    s->on_token = cb;
    s->ud = ud;
}

void es_live_sse_fini(es_live_sse_t *s)
{
    es_live_buf_free(&s->ev);
    s->ev = (es_live_buf_t){0};
}
