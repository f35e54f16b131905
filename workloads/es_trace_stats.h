/*
 * es_trace_stats.h -- what a trace holds: size, pace, lengths, and the ideal
 * prefix-cache hit ratio (`eppsim trace stats`).
 *
 * The ideal hit ratio assumes one infinite cache shared by every request (no
 * eviction, perfect routing): the upper bound any router can reach.  It is
 * counted two ways:
 *  - trace blocks: the trace's own units (Mooncake hash ids of block_tokens
 *    tokens, eppsim segments): a request hits its longest run of leading
 *    units seen before; Mooncake hit tokens = min(k * block_tokens, input).
 *  - server blocks (16 tokens, vLLM): hit tokens = the longest prefix of full
 *    blocks already seen by any earlier request, capped at
 *    floor((len - 1) / 16) * 16 (vLLM always computes the last prompt token).
 *    This is the definition the results' oracle uses.
 * Length-only traces (Azure, BurstGPT, ShareGPT) carry no content: each
 * prompt is unique, so both ratios are 0.
 */
#ifndef ES_TRACE_STATS_H
#define ES_TRACE_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "es_err.h"
#include "es_trace.h"

typedef struct es_len_summary {
    double   mean;
    uint32_t min, p50, p90, p99, max;
} es_len_summary_t;

typedef struct es_trace_stats {
    es_trace_format_t format;
    uint32_t block_tokens;          /* trace block size (Mooncake) */
    uint32_t server_block;          /* server block size (16) */
    uint64_t requests;
    size_t   skipped;               /* malformed lines skipped */
    bool     has_time;
    double   duration_s;            /* last - first arrival */
    double   rate;                  /* (requests - 1) / duration */
    double   gap_cv;                /* coefficient of variation of inter-arrival gaps */
    es_len_summary_t input, output;
    uint64_t prompt_tokens;
    bool     has_trace_blocks;      /* Mooncake hash ids or eppsim segments */
    uint64_t trace_blocks, trace_blocks_hit, trace_hit_tokens;
    uint64_t server_blocks, server_blocks_hit, server_hit_tokens;
} es_trace_stats_t;

/* Reads the whole trace (streaming) and fills *st.  Errors as es_trace_next. */
int es_trace_stats_compute(const char *path, es_trace_format_t fmt, uint32_t block_tokens,
                           uint32_t server_block, bool skip_bad_lines,
                           es_trace_stats_t *st, es_err_t *err);
/* Human-readable report, or JSON with stable keys. */
void es_trace_stats_print(FILE *f, const char *path, const es_trace_stats_t *st, bool json);

#endif /* ES_TRACE_STATS_H */
