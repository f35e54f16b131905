/*
 * openai.c -- the pure parts of `eppsim serve`: text buffers, the stand-in
 * tokenizer, filler output and OpenAI request bodies (see es_live.h).
 */
#include "es_live.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "es_rng.h"

static bool buf_reserve(es_live_buf_t *b, size_t extra)
{
    if (b->oom) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) { b->oom = true; return false; }
    b->data = d;
    b->cap = cap;
    return true;
}

void es_live_buf_append(es_live_buf_t *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void es_live_buf_printf(es_live_buf_t *b, const char *fmt, ...)
{
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->cap - b->len;   /* formatted in place when it fits: one pass, not two */
    int n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? room : 0, fmt, ap);
    va_end(ap);
    if (n < 0) { if (b->data) b->data[b->len] = '\0'; return; }
    if ((size_t)n < room) { b->len += (size_t)n; return; }
    if (!buf_reserve(b, (size_t)n)) { if (b->data) b->data[b->len] = '\0'; return; }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void es_live_buf_free(es_live_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- stand-in tokenizer ---- */

uint32_t es_live_token_count(size_t len)
{
    size_t t = (len + ES_LIVE_BYTES_PER_TOKEN - 1) / ES_LIVE_BYTES_PER_TOKEN;
    if (t == 0) t = 1;
    return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

uint32_t es_live_segment_count(size_t len)
{
    uint32_t t = es_live_token_count(len);
    return (t + ES_LIVE_SEG_TOKENS - 1) / ES_LIVE_SEG_TOKENS;
}

void es_live_tokenize(const char *text, size_t len, es_segment_t *segs, es_content_t *c)
{
    const size_t seg_bytes = (size_t)ES_LIVE_SEG_TOKENS * ES_LIVE_BYTES_PER_TOKEN;
    uint32_t tokens = es_live_token_count(len), n = es_live_segment_count(len);
    for (uint32_t i = 0; i < n; i++) {
        size_t off = (size_t)i * seg_bytes, take = len > off ? len - off : 0;
        if (take > seg_bytes) take = seg_bytes;
        uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a over the segment's bytes, then mixed */
        for (size_t k = 0; k < take; k++) h = (h ^ (unsigned char)text[off + k]) * 0x100000001b3ULL;
        segs[i].id = es_mix64(h ^ take);
        uint32_t left = tokens - i * ES_LIVE_SEG_TOKENS;
        segs[i].len = left < ES_LIVE_SEG_TOKENS ? left : ES_LIVE_SEG_TOKENS;
    }
    c->segs = segs;
    c->nsegs = n;
    c->tokens = tokens;
}

/* Four-byte words: each is one stand-in token. */
static const char k_words[16][5] = {" the", " and", " for", " are", " was", " not", " you", " all",
                                    " can", " her", " one", " our", " out", " day", " get", " use"};

void es_live_filler(es_live_buf_t *b, uint64_t seed, uint32_t first, uint32_t tokens)
{
    for (uint32_t i = 0; i < tokens; i++)
        es_live_buf_append(b, k_words[es_token_id(seed, first + i) & 15], 4);
}

static void append_str(es_live_buf_t *b, const char *s) { es_live_buf_append(b, s, strlen(s)); }

static void append_int(es_live_buf_t *b, long long v)
{
    char d[24];
    size_t i = sizeof d;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do d[--i] = (char)('0' + u % 10); while ((u /= 10) != 0);
    if (v < 0) d[--i] = '-';
    es_live_buf_append(b, d + i, sizeof d - i);
}

void es_live_sse_token_chunk(es_live_buf_t *b, bool chat, const char *id, long long created, const char *model_json,
                             uint64_t seed, uint32_t first, uint32_t tokens, bool last)
{
    size_t start = b->len;
    append_str(b, "0000000\r\ndata: {\"id\":\"");   /* the chunk size is written over the zeros */
    append_str(b, id);
    append_str(b, chat ? "\",\"object\":\"chat.completion.chunk\",\"created\":" : "\",\"object\":\"text_completion\",\"created\":");
    append_int(b, created);
    append_str(b, ",\"model\":");
    append_str(b, model_json);
    if (chat) append_str(b, first == 0 ? ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\""
                                       : ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"");
    else append_str(b, ",\"choices\":[{\"index\":0,\"text\":\"");
    es_live_filler(b, seed, first, tokens);
    append_str(b, chat ? "\"},\"finish_reason\":" : "\",\"finish_reason\":");
    append_str(b, last ? "\"length\"}]}\n\n\r\n" : "null}]}\n\n\r\n");
    if (b->oom) return;
    size_t size = (b->len - start - 11) & 0xfffffff;   /* payload: after the size line (7 digits, CRLF), before the CRLF */
    for (int i = 6; i >= 0; i--, size >>= 4) b->data[start + (size_t)i] = "0123456789abcdef"[size & 15];
}

/* ---- request bodies ---- */

static int fail(char *msg, size_t size, const char *text)
{
    snprintf(msg, size, "%s", text);
    return -1;
}

bool es_live_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p++;
        if (c < 0x80) continue;
        int more = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
        if (more < 0 || end - p < more) return false;
        unsigned lo = 0x80, hi = 0xbf;   /* the second byte's range */
        if (c == 0xe0) lo = 0xa0;        /* overlong */
        if (c == 0xed) hi = 0x9f;        /* surrogates */
        if (c == 0xf0) lo = 0x90;        /* overlong */
        if (c == 0xf4) hi = 0x8f;        /* past U+10FFFF */
        if (p[0] < lo || p[0] > hi) return false;
        for (int i = 1; i < more; i++)
            if ((p[i] & 0xc0) != 0x80) return false;
        p += more;
    }
    return true;
}

int es_live_parse_completion(const char *body, size_t len, bool chat, es_live_completion_t *out,
                             char *msg, size_t msgsize)
{
    memset(out, 0, sizeof *out);
    out->chat = chat;
    out->max_tokens = ES_LIVE_DEFAULT_MAX_TOKENS;
    if (!es_live_utf8_valid(body, len)) return fail(msg, msgsize, "request body is not UTF-8");
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return fail(msg, msgsize, "request body is not a JSON object");
    }
    es_live_buf_t p = {0};
    int rc = -1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "model");
    if (v) {
        if (!cJSON_IsString(v)) { fail(msg, msgsize, "model: must be a string"); goto out; }
        snprintf(out->model, sizeof out->model, "%s", v->valuestring);
    }
    if (chat) {
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages"), *m;
        if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0) {
            fail(msg, msgsize, "messages: must be a non-empty array");
            goto out;
        }
        cJSON_ArrayForEach(m, msgs) {
            const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
            const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
            if (!cJSON_IsString(role) || !cJSON_IsString(content)) {
                fail(msg, msgsize, "messages[]: role and content must be strings");
                goto out;
            }
            es_live_buf_printf(&p, "%s: %s\n", role->valuestring, content->valuestring);
        }
    } else {
        v = cJSON_GetObjectItemCaseSensitive(j, "prompt");
        if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1) v = cJSON_GetArrayItem(v, 0);
        if (!cJSON_IsString(v)) { fail(msg, msgsize, "prompt: must be a string"); goto out; }
        es_live_buf_append(&p, v->valuestring, strlen(v->valuestring));
    }
    const char *mt_key = "max_tokens";
    v = cJSON_GetObjectItemCaseSensitive(j, mt_key);
    if (!v && chat) v = cJSON_GetObjectItemCaseSensitive(j, mt_key = "max_completion_tokens");
    if (v && !cJSON_IsNull(v)) {
        double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (d < 1 || d > 1e6 || d != (double)(uint32_t)d) {
            snprintf(msg, msgsize, "%s: must be an integer in [1, 1000000]", mt_key);
            goto out;
        }
        out->max_tokens = (uint32_t)d;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "ignore_eos");
    if (v) {
        if (!cJSON_IsBool(v)) { fail(msg, msgsize, "ignore_eos: must be a boolean"); goto out; }
        out->ignore_eos = cJSON_IsTrue(v);
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "stream");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsBool(v)) { fail(msg, msgsize, "stream: must be a boolean"); goto out; }
        out->stream = cJSON_IsTrue(v);
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "stream_options");
    if (v && !cJSON_IsNull(v)) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(v, "include_usage");
        if (!cJSON_IsObject(v) || (u && !cJSON_IsBool(u))) {
            fail(msg, msgsize, "stream_options.include_usage: must be a boolean");
            goto out;
        }
        out->include_usage = cJSON_IsTrue(u);
    }
    if (p.oom) { fail(msg, msgsize, "out of memory"); goto out; }
    if (p.len == 0) es_live_buf_append(&p, "", 0);
    if (p.oom) { fail(msg, msgsize, "out of memory"); goto out; }
    out->prompt = p.data;
    out->prompt_len = p.len;
    p.data = NULL;
    rc = 0;
out:
    es_live_buf_free(&p);
    cJSON_Delete(j);
    return rc;
}

void es_live_completion_fini(es_live_completion_t *c)
{
    free(c->prompt);
    c->prompt = NULL;
}
