/*
 * es_trace.h -- streaming readers for request traces.
 *
 * One reader per format, behind one interface; each reads one line at a time
 * (bounded memory for any trace length) with a hand-written parser (no parse
 * tree on the hot path).  Formats (docs/workloads.md):
 *   mooncake  JSONL {timestamp ms, input_length, output_length, hash_ids}
 *   azure     CSV TIMESTAMP,ContextTokens,GeneratedTokens (2023 and 2024)
 *   burstgpt  CSV Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
 *   sharegpt  CSV of (input, output) token counts, no arrival times
 *   eppsim    JSONL, eppsim's own format (content as segments or a token count)
 * Record times are ns relative to the trace's first record (absolute for
 * eppsim JSONL); has_time is false for formats without timestamps.
 * A malformed line fails with "file:line: expected ..." (ES_EPARSE), or is
 * counted and skipped when skip_bad_lines is set.
 */
#ifndef ES_TRACE_H
#define ES_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "es_content.h"
#include "es_err.h"
#include "es_request.h"
#include "es_time.h"

typedef enum es_trace_format {
    ES_TRACE_AUTO = 0, ES_TRACE_MOONCAKE, ES_TRACE_AZURE, ES_TRACE_BURSTGPT,
    ES_TRACE_SHAREGPT, ES_TRACE_EPPSIM
} es_trace_format_t;

#define ES_TRACE_MAX_HEADERS 16
#define ES_TRACE_MAX_IMAGES 64    /* eppsim JSONL "images" per line (= ES_WL_MAX_IMAGES) */

/* One request as the trace gives it.  Pointers are borrowed from the reader
 * and valid until the next es_trace_next call. */
typedef struct es_trace_rec {
    uint64_t   line;            /* 1-based line in the file */
    bool       has_time;        /* false: no timestamp in this format */
    es_time_t  t;               /* arrival, ns (relative to the first record except eppsim) */
    uint32_t   input_tokens;
    uint32_t   output_tokens;
    const uint64_t *hash_ids;   /* mooncake: one id per block_tokens block; else NULL */
    uint32_t   nhash;
    const es_segment_t *segs;   /* eppsim JSONL "segments"; else NULL */
    uint32_t   nsegs;
    /* eppsim JSONL only (NULL / 0 when absent) */
    const char *path, *model, *objective, *session, *lora;
    bool       has_priority;
    int32_t    priority;
    bool       has_output_segment;
    uint64_t   output_segment;
    const es_header_t *headers;
    uint32_t   nheaders;
    const es_mm_item_t *images;  /* eppsim JSONL "images": [[id, tokens], ...]; else NULL */
    uint32_t   nimages;
} es_trace_rec_t;

typedef struct es_trace es_trace_t;

/* "mooncake", ... ; "auto" -> ES_TRACE_AUTO.  Returns -1 for an unknown name. */
int es_trace_format_parse(const char *name);
const char *es_trace_format_name(es_trace_format_t f);

/* Opens path.  With ES_TRACE_AUTO the format is detected from the first
 * non-empty line (JSON keys or the CSV header).  block_tokens: tokens per
 * Mooncake hash id (512 for the published traces). */
int  es_trace_open(const char *path, es_trace_format_t fmt, uint32_t block_tokens,
                   bool skip_bad_lines, es_trace_t **out, es_err_t *err);
void es_trace_close(es_trace_t *t);
/* Next record: 1, 0 at end of file, or a negative ES_E* code (err filled). */
int  es_trace_next(es_trace_t *t, es_trace_rec_t *rec, es_err_t *err);
es_trace_format_t es_trace_format(const es_trace_t *t);
uint32_t es_trace_block_tokens(const es_trace_t *t);
size_t es_trace_skipped(const es_trace_t *t);
const char *es_trace_path(const es_trace_t *t);

/* The segment id a Mooncake hash id becomes (one namespace for the workload,
 * stats and convert, so a converted trace replays the same content). */
static inline uint64_t es_trace_mooncake_segment(uint64_t hash_id)
{
    return es_mix64(es_mix64(ES_HASH_WEYL ^ hash_id) ^ ES_HASH_OFFSET);
}

/* Fills segs[0..nhash) for a Mooncake record: one segment per hash id of
 * block_tokens tokens, the last one partial. */
static inline void es_trace_mooncake_content(const es_trace_rec_t *rec, uint32_t block_tokens,
                                             es_segment_t *segs)
{
    for (uint32_t i = 0; i < rec->nhash; i++)
        segs[i] = (es_segment_t){es_trace_mooncake_segment(rec->hash_ids[i]), block_tokens};
    segs[rec->nhash - 1].len = rec->input_tokens - (rec->nhash - 1) * block_tokens;
}

/* Writes rec as one line of eppsim JSONL (segments from `c` when given,
 * else "input_tokens").  Used by `eppsim trace convert`. */
void es_trace_write_eppsim(FILE *f, const es_trace_rec_t *rec, const es_content_t *content);

/* Writes n requests of a Mooncake-style trace (JSONL, 512-token hash ids)
 * for scale tests: Poisson arrivals at `rate`, a shared first block,
 * conversations whose history grows turn by turn (ids reused as prefixes),
 * lengths in the range of the published conversation trace.  Deterministic
 * for a seed.  Bounded memory (a fixed table of open conversations). */
int es_trace_gen_mooncake(FILE *f, uint64_t n, double rate, uint64_t seed);

#endif /* ES_TRACE_H */
