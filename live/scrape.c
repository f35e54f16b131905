/*
 * scrape.c -- the vLLM metrics an EPP reads, from a Prometheus text page
 * (es_live_gw.h).  Text format 0.0.4: `name{label="value",...} value [ts]`;
 * comments, other families and malformed lines are skipped, as a scraper
 * that reads the families it knows.
 */
#include "es_live.h"
#include "es_live_gw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 16
#define LABEL_VALUE_MAX 2048

typedef struct label {
    char name[64];
    char value[LABEL_VALUE_MAX];
} label_t;

typedef struct sample {
    char     name[128];
    label_t  labels[MAX_LABELS];
    uint32_t nlabels;
    double   value;
} sample_t;

static bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

/* Reads one sample line [p, end); false when it is not one. */
static bool parse_line(const char *p, const char *end, sample_t *s)
{
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    size_t n = 0;
    while (p < end && name_char(*p, n == 0)) {
        if (n + 1 >= sizeof s->name) return false;
        s->name[n++] = *p++;
    }
    if (n == 0) return false;
    s->name[n] = '\0';
    s->nlabels = 0;
    if (p < end && *p == '{') {
        p++;
        for (;;) {
            while (p < end && (*p == ' ' || *p == ',')) p++;
            if (p < end && *p == '}') { p++; break; }
            if (s->nlabels == MAX_LABELS) return false;
            label_t *l = &s->labels[s->nlabels];
            size_t k = 0;
            while (p < end && name_char(*p, k == 0) && *p != ':') {
                if (k + 1 >= sizeof l->name) return false;
                l->name[k++] = *p++;
            }
            if (k == 0) return false;
            l->name[k] = '\0';
            if (p + 1 >= end || p[0] != '=' || p[1] != '"') return false;
            p += 2;
            k = 0;
            for (;;) {
                if (p >= end) return false;
                char c = *p++;
                if (c == '"') break;
                if (c == '\\') {
                    if (p >= end) return false;
                    c = *p++;
                    if (c == 'n') c = '\n';
                    else if (c != '\\' && c != '"') return false;
                }
                if (k + 1 >= sizeof l->value) return false;
                l->value[k++] = c;
            }
            l->value[k] = '\0';
            s->nlabels++;
        }
    }
    if (p >= end || (*p != ' ' && *p != '\t')) return false;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    char num[64];
    n = 0;
    while (p < end && *p != ' ' && *p != '\t') {
        if (n + 1 >= sizeof num) return false;
        num[n++] = *p++;
    }
    num[n] = '\0';
    if (n == 0) return false;
    char *e;
    s->value = strtod(num, &e);
    return *e == '\0';
}

static const char *label(const sample_t *s, const char *name)
{
    for (uint32_t i = 0; i < s->nlabels; i++)
        if (!strcmp(s->labels[i].name, name)) return s->labels[i].value;
    return NULL;
}

static bool label_u32(const sample_t *s, const char *name, uint32_t *out)
{
    const char *v = label(s, name);
    if (!v || *v < '0' || *v > '9') return false;
    char *e;
    unsigned long long x = strtoull(v, &e, 10);
    if (*e || x > UINT32_MAX) return false;
    *out = (uint32_t)x;
    return true;
}

/* A gauge that counts requests: a finite value in [0, INT32_MAX]. */
static bool count_value(double v, int32_t *out)
{
    if (!(v >= 0 && v <= 2147483647.0)) return false;
    *out = (int32_t)v;
    return true;
}

static bool counter_value(double v, uint64_t *out)
{
    if (!(v >= 0 && v < 1.8e19)) return false;
    *out = (uint64_t)v;
    return true;
}

/* Whether an adapter name may reach decisions.jsonl: well-formed UTF-8 with
 * no control character (a pod's page is untrusted input). */
static bool printable_name(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
    return es_live_utf8_valid(s, n);
}

/* Comma-separated adapter names into names[], pointers into list[]; false
 * (the series is skipped) on too many, overlong or unprintable names. */
static bool adapters(const char *v, char (*names)[ES_LIVE_LORA_NAME_MAX], const char **list, uint32_t *n)
{
    *n = 0;
    if (!v) return true;
    while (*v) {
        size_t k = strcspn(v, ",");
        if (k > 0) {
            if (*n == ES_LORA_LIST_MAX || k >= ES_LIVE_LORA_NAME_MAX || !printable_name(v, k)) return false;
            memcpy(names[*n], v, k);
            names[*n][k] = '\0';
            list[*n] = names[*n];
            (*n)++;
        }
        v += k;
        if (*v == ',') v++;
    }
    return true;
}

int es_live_parse_metrics(const char *text, size_t len, es_live_scrape_t *out, char *msg, size_t msgsize)
{
    memset(out, 0, sizeof *out);
    sample_t *s = malloc(sizeof *s);
    if (!s) { snprintf(msg, msgsize, "out of memory"); return -1; }
    bool has_lora = false;
    double lora_best = -INFINITY;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p && le[-1] == '\r') le--;
        const char *q = p;
        p = nl ? nl + 1 : end;
        while (q < le && (*q == ' ' || *q == '\t')) q++;
        if (q == le || *q == '#' || !parse_line(q, le, s)) continue;
        const char *nm = s->name;
        double v = s->value;
        if (!strcmp(nm, "vllm:num_requests_waiting")) {
            if (!out->has_waiting) out->has_waiting = count_value(v, &out->m.waiting);
        } else if (!strcmp(nm, "vllm:num_requests_running")) {
            if (!out->has_running) out->has_running = count_value(v, &out->m.running);
        } else if (!strcmp(nm, "vllm:kv_cache_usage_perc") || !strcmp(nm, "vllm:gpu_cache_usage_perc")) {
            if (!out->has_kv && v == v) {
                out->m.kv_cache_usage = v < 0 ? 0 : v > 1 ? 1 : v;
                out->has_kv = true;
            }
        } else if (!strcmp(nm, "vllm:prefix_cache_queries_total")) {
            (void)counter_value(v, &out->m.prefix_queries);
        } else if (!strcmp(nm, "vllm:prefix_cache_hits_total")) {
            (void)counter_value(v, &out->m.prefix_hits);
        } else if (!strcmp(nm, "vllm:cache_config_info")) {
            uint32_t bs, nb;
            if (label_u32(s, "block_size", &bs) && bs <= (1u << 20)) out->m.block_size = bs;
            if (label_u32(s, "num_gpu_blocks", &nb)) out->m.num_gpu_blocks = nb;
        } else if (!strcmp(nm, "vllm:lora_requests_info")) {
            /* upstream keeps the series with the latest value (its timestamp) */
            uint32_t mx;
            if (!(v > lora_best) || !label_u32(s, "max_lora", &mx) || mx > (1u << 20)) continue;
            es_live_scrape_t tmp;
            if (!adapters(label(s, "running_lora_adapters"), tmp.names, tmp.m.running_lora, &tmp.m.n_running_lora) ||
                !adapters(label(s, "waiting_lora_adapters"), tmp.names + ES_LORA_LIST_MAX, tmp.m.waiting_lora,
                          &tmp.m.n_waiting_lora))
                continue;
            lora_best = v;
            has_lora = true;
            out->m.max_lora = (int32_t)mx;
            memcpy(out->names, tmp.names, sizeof out->names);
            out->m.n_running_lora = tmp.m.n_running_lora;
            out->m.n_waiting_lora = tmp.m.n_waiting_lora;
        }
    }
    free(s);
    if (has_lora) {
        for (uint32_t i = 0; i < out->m.n_running_lora; i++) out->m.running_lora[i] = out->names[i];
        for (uint32_t i = 0; i < out->m.n_waiting_lora; i++) out->m.waiting_lora[i] = out->names[ES_LORA_LIST_MAX + i];
    }
    if (!out->has_waiting || !out->has_running || !out->has_kv) {
        snprintf(msg, msgsize, "no %s in the page",
                 !out->has_waiting ? "vllm:num_requests_waiting"
                 : !out->has_running ? "vllm:num_requests_running" : "vllm:kv_cache_usage_perc");
        return -1;
    }
    return 0;
}
