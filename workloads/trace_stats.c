/*
 * trace_stats.c -- trace statistics and the ideal prefix hit ratio
 * (es_trace_stats.h).
 *
 * Lengths are kept (4 bytes per request and column) for exact percentiles;
 * seen blocks live in an open-addressing set of 64-bit hashes.  Fine for the
 * bundled traces (12k requests, ~9M server blocks); a 1M-request trace of
 * long prompts needs O(distinct blocks) memory here, unlike replay.
 */
#include "es_trace_stats.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "es_content.h"

/* Segment ids of length-only trace records (one unique prompt each). */
#define UNIQUE_PROMPT_DOMAIN 0xa5a5a5a5ULL

/* ---- a set of 64-bit hashes (0 is the empty slot, so 0 maps to 1) ---- */
typedef struct hset {
    uint64_t *slot;
    size_t    cap, n;   /* cap: power of two */
} hset_t;

static int hset_grow(hset_t *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1 << 16;
    uint64_t *ns = calloc(cap, sizeof *ns);
    if (!ns) return ES_ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        uint64_t k = s->slot[i];
        if (!k) continue;
        size_t j = (size_t)es_mix64(k) & (cap - 1);
        while (ns[j]) j = (j + 1) & (cap - 1);
        ns[j] = k;
    }
    free(s->slot);
    s->slot = ns;
    s->cap = cap;
    return 0;
}

static bool hset_has(const hset_t *s, uint64_t k)
{
    if (!s->cap) return false;
    k = k ? k : 1;
    for (size_t j = (size_t)es_mix64(k) & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
        if (s->slot[j] == k) return true;
        if (!s->slot[j]) return false;
    }
}

static int hset_add(hset_t *s, uint64_t k)
{
    if ((s->n + 1) * 4 > s->cap * 3 && hset_grow(s) < 0) return ES_ENOMEM;
    k = k ? k : 1;
    size_t j = (size_t)es_mix64(k) & (s->cap - 1);
    while (s->slot[j]) {
        if (s->slot[j] == k) return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slot[j] = k;
    s->n++;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v. */
static uint32_t pct(const uint32_t *v, size_t n, double p)
{
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    return v[k ? k - 1 : 0];
}

static void summarise(uint32_t *v, size_t n, es_len_summary_t *s)
{
    memset(s, 0, sizeof *s);
    if (!n) return;
    qsort(v, n, sizeof *v, cmp_u32);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    s->mean = sum / (double)n;
    s->min = v[0];
    s->max = v[n - 1];
    s->p50 = pct(v, n, 50);
    s->p90 = pct(v, n, 90);
    s->p99 = pct(v, n, 99);
}

typedef struct acc {
    uint32_t *in, *out;
    size_t    n, cap;
    hset_t    trace_seen, server_seen;
    es_segment_t *segs; size_t segs_cap;
} acc_t;

static int push_len(acc_t *a, uint32_t in, uint32_t out)
{
    if (a->n == a->cap) {
        size_t c = a->cap ? a->cap * 2 : 4096;
        uint32_t *ni = realloc(a->in, c * sizeof *ni);
        if (!ni) return ES_ENOMEM;
        a->in = ni;
        uint32_t *no = realloc(a->out, c * sizeof *no);
        if (!no) return ES_ENOMEM;
        a->out = no;
        a->cap = c;
    }
    a->in[a->n] = in;
    a->out[a->n] = out;
    a->n++;
    return 0;
}

/* Server-block hits of one prompt, then its blocks join the cache. */
static int server_blocks(acc_t *a, es_trace_stats_t *st, const es_content_t *c)
{
    uint32_t bs = st->server_block;
    uint32_t cap_tokens = c->tokens ? (c->tokens - 1) / bs * bs : 0;
    es_block_iter_t it;
    es_block_iter_init(&it, c, NULL, 0, 0, bs, UINT32_MAX);
    uint64_t h;
    uint32_t i = 0;
    bool matching = true;
    while (es_block_iter_next(&it, &h)) {
        st->server_blocks++;
        if (matching && (i + 1) * bs <= cap_tokens && hset_has(&a->server_seen, h)) {
            st->server_blocks_hit++;
            st->server_hit_tokens += bs;
        } else {
            matching = false;
        }
        if (hset_add(&a->server_seen, h) < 0) return ES_ENOMEM;
        i++;
    }
    return 0;
}

int es_trace_stats_compute(const char *path, es_trace_format_t fmt, uint32_t block_tokens,
                           uint32_t server_block, bool skip_bad_lines,
                           es_trace_stats_t *st, es_err_t *err)
{
    memset(st, 0, sizeof *st);
    es_trace_t *t;
    int rc = es_trace_open(path, fmt, block_tokens, skip_bad_lines, &t, err);
    if (rc < 0) return rc;
    st->format = es_trace_format(t);
    st->block_tokens = block_tokens;
    st->server_block = server_block;
    st->has_trace_blocks = st->format == ES_TRACE_MOONCAKE || st->format == ES_TRACE_EPPSIM;
    acc_t a = {0};
    es_trace_rec_t rec;
    es_time_t first = 0, prev = 0;
    double gsum = 0, gsum2 = 0;
    uint64_t ngaps = 0, uniq = 0;
    while ((rc = es_trace_next(t, &rec, err)) == 1) {
        if ((rc = push_len(&a, rec.input_tokens, rec.output_tokens)) < 0) break;
        st->prompt_tokens += rec.input_tokens;
        if (rec.has_time) {
            st->has_time = true;
            if (st->requests == 0) first = rec.t;
            else {
                double g = es_time_to_s(rec.t - prev);
                gsum += g; gsum2 += g * g; ngaps++;
            }
            prev = rec.t;
        }
        st->requests++;
        /* content of this record as segments */
        es_content_t c = {0};
        size_t need = rec.nhash ? rec.nhash : rec.nsegs ? rec.nsegs : 1;
        if (need > a.segs_cap) {
            es_segment_t *ns = realloc(a.segs, need * 2 * sizeof *ns);
            if (!ns) { rc = ES_ENOMEM; break; }
            a.segs = ns; a.segs_cap = need * 2;
        }
        if (rec.nhash) {
            es_trace_mooncake_content(&rec, block_tokens, a.segs);
            c.nsegs = rec.nhash;
            /* trace blocks: hash ids are prefix-chained already */
            uint32_t k = 0;
            while (k < rec.nhash && hset_has(&a.trace_seen, rec.hash_ids[k])) k++;
            st->trace_blocks += rec.nhash;
            st->trace_blocks_hit += k;
            uint64_t ht = (uint64_t)k * block_tokens;
            st->trace_hit_tokens += ht < rec.input_tokens ? ht : rec.input_tokens;
            for (uint32_t i = 0; i < rec.nhash; i++)
                if (hset_add(&a.trace_seen, rec.hash_ids[i]) < 0) { rc = ES_ENOMEM; break; }
        } else if (rec.nsegs) {
            memcpy(a.segs, rec.segs, rec.nsegs * sizeof *rec.segs);
            c.nsegs = rec.nsegs;
            /* trace blocks: segments, chained so that only prefixes match */
            uint64_t h = ES_CONTENT_ROOT_HASH;
            bool matching = true;
            st->trace_blocks += rec.nsegs;
            for (uint32_t i = 0; i < rec.nsegs; i++) {
                h = es_mix64(es_mix64(h ^ rec.segs[i].id) ^ rec.segs[i].len);
                if (matching && hset_has(&a.trace_seen, h)) {
                    st->trace_blocks_hit++;
                    st->trace_hit_tokens += rec.segs[i].len;
                } else {
                    matching = false;
                }
                if (hset_add(&a.trace_seen, h) < 0) { rc = ES_ENOMEM; break; }
            }
        } else {
            /* length-only: a unique prompt */
            a.segs[0] = (es_segment_t){es_mix64(UNIQUE_PROMPT_DOMAIN + uniq++), rec.input_tokens ? rec.input_tokens : 1};
            c.nsegs = 1;
        }
        if (rc < 0) break;
        c.segs = a.segs;
        for (uint32_t i = 0; i < c.nsegs; i++) c.tokens += a.segs[i].len;
        if ((rc = server_blocks(&a, st, &c)) < 0) break;
    }
    st->skipped = es_trace_skipped(t);
    es_trace_close(t);
    if (rc == ES_ENOMEM) es_err_set(err, ES_ENOMEM, "out of memory");
    if (rc >= 0) {
        rc = 0;
        if (st->has_time && st->requests > 1) {
            st->duration_s = es_time_to_s(prev - first);
            st->rate = st->duration_s > 0 ? (double)(st->requests - 1) / st->duration_s : 0;
            double mean = gsum / (double)ngaps;
            double var = gsum2 / (double)ngaps - mean * mean;
            st->gap_cv = mean > 0 ? sqrt(var > 0 ? var : 0) / mean : 0;
        }
        summarise(a.in, a.n, &st->input);
        summarise(a.out, a.n, &st->output);
    }
    free(a.in); free(a.out); free(a.segs);
    free(a.trace_seen.slot); free(a.server_seen.slot);
    return rc;
}

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0; }

static void json_len(FILE *f, const char *name, const es_len_summary_t *s)
{
    fprintf(f, "\"%s\":{\"mean\":%.3f,\"min\":%" PRIu32 ",\"p50\":%" PRIu32 ",\"p90\":%" PRIu32
               ",\"p99\":%" PRIu32 ",\"max\":%" PRIu32 "}", name, s->mean, s->min, s->p50, s->p90, s->p99, s->max);
}

void es_trace_stats_print(FILE *f, const char *path, const es_trace_stats_t *st, bool json)
{
    if (json) {
        fprintf(f, "{\"file\":\"");
        for (const char *p = path; *p; p++) { if (*p == '"' || *p == '\\') fputc('\\', f); fputc(*p, f); }
        fprintf(f, "\",\"format\":\"%s\",\"requests\":%" PRIu64 ",\"skipped_lines\":%zu,",
                es_trace_format_name(st->format), st->requests, st->skipped);
        if (st->has_time)
            fprintf(f, "\"duration_s\":%.6f,\"rate\":%.6f,\"gap_cv\":%.6f,", st->duration_s, st->rate, st->gap_cv);
        else
            fprintf(f, "\"duration_s\":null,\"rate\":null,\"gap_cv\":null,");
        json_len(f, "input_tokens", &st->input);
        fputc(',', f);
        json_len(f, "output_tokens", &st->output);
        fprintf(f, ",\"prompt_tokens\":%" PRIu64 ",", st->prompt_tokens);
        if (st->has_trace_blocks)
            fprintf(f, "\"trace_blocks\":{\"block_tokens\":%" PRIu32 ",\"blocks\":%" PRIu64 ",\"blocks_hit\":%" PRIu64
                       ",\"block_hit_ratio\":%.6f,\"hit_tokens\":%" PRIu64 ",\"token_hit_ratio\":%.6f},",
                    st->format == ES_TRACE_MOONCAKE ? st->block_tokens : 0, st->trace_blocks, st->trace_blocks_hit,
                    ratio(st->trace_blocks_hit, st->trace_blocks), st->trace_hit_tokens,
                    ratio(st->trace_hit_tokens, st->prompt_tokens));
        else
            fprintf(f, "\"trace_blocks\":null,");
        fprintf(f, "\"server_blocks\":{\"block_tokens\":%" PRIu32 ",\"blocks\":%" PRIu64 ",\"blocks_hit\":%" PRIu64
                   ",\"hit_tokens\":%" PRIu64 ",\"token_hit_ratio\":%.6f}}\n",
                st->server_block, st->server_blocks, st->server_blocks_hit, st->server_hit_tokens,
                ratio(st->server_hit_tokens, st->prompt_tokens));
        return;
    }
    fprintf(f, "trace            %s (%s)\n", path, es_trace_format_name(st->format));
    fprintf(f, "requests         %" PRIu64 "%s", st->requests, st->skipped ? "" : "\n");
    if (st->skipped) fprintf(f, " (%zu malformed lines skipped)\n", st->skipped);
    if (st->has_time)
        fprintf(f, "duration         %.3f s\nrate             %.3f req/s\ngap cv           %.3f\n",
                st->duration_s, st->rate, st->gap_cv);
    else
        fprintf(f, "arrivals         none in this format (pair it with workload.arrival)\n");
    fprintf(f, "input tokens     mean %.1f  min %" PRIu32 "  p50 %" PRIu32 "  p90 %" PRIu32 "  p99 %" PRIu32 "  max %" PRIu32 "\n",
            st->input.mean, st->input.min, st->input.p50, st->input.p90, st->input.p99, st->input.max);
    fprintf(f, "output tokens    mean %.1f  min %" PRIu32 "  p50 %" PRIu32 "  p90 %" PRIu32 "  p99 %" PRIu32 "  max %" PRIu32 "\n",
            st->output.mean, st->output.min, st->output.p50, st->output.p90, st->output.p99, st->output.max);
    fprintf(f, "ideal prefix hit ratio (infinite cache):\n");
    if (st->has_trace_blocks) {
        if (st->format == ES_TRACE_MOONCAKE)
            fprintf(f, "  trace blocks (%" PRIu32 " tokens)  %.2f %% of blocks, %.2f %% of prompt tokens\n", st->block_tokens,
                    100 * ratio(st->trace_blocks_hit, st->trace_blocks), 100 * ratio(st->trace_hit_tokens, st->prompt_tokens));
        else
            fprintf(f, "  trace segments       %.2f %% of segments, %.2f %% of prompt tokens\n",
                    100 * ratio(st->trace_blocks_hit, st->trace_blocks), 100 * ratio(st->trace_hit_tokens, st->prompt_tokens));
    } else {
        fprintf(f, "  trace blocks         none (length-only trace: every prompt is unique)\n");
    }
    fprintf(f, "  server blocks (%" PRIu32 " tokens, prompt-1 cap)  %.2f %% of prompt tokens\n", st->server_block,
            100 * ratio(st->server_hit_tokens, st->prompt_tokens));
}
