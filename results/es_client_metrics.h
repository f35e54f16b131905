/*
 * client_metrics.h -- latency as a benchmark client computes it, next to
 * eppsim's own (docs/results.md, "Client-side metrics").
 *
 * The client stamps the time of every streamed event it reads; eppsim
 * emulates `timestamps_per_token` stamps per token (inference-perf's
 * 2025-10 build stamps the `data:` line and the blank line after it: 2),
 * plus `trailing` stamps after the last token (the `data: [DONE]` line and
 * its blank: 2 in that build).  A token's first stamp comes when the token
 * arrives; its further stamps, and the trailing ones, `event_gap` later
 * (about 0).  From a request sent at s with first token at f, last at l
 * (eppsim: f = s + TTFT, l = s + E2E), N output tokens and
 * T = k N + trailing stamps:
 *   TTFT      = f - s                     (to the first streamed chunk)
 *   TPOT      = (l - f) / (T - 1)         (inference-perf: (last - first) / (timestamps - 1))
 *   latency   = l - s                     (from the POST)
 *   NTPOT     = latency / N'              (normalized_time_per_output_token;
 *               N' = round(N x output_count_scale): the tokens the client
 *               counts in the text it got, also in per_token and tokens/s)
 *   ITL       = every stamp-to-stamp gap, pooled over requests: the real
 *               token gaps (eppsim's per-stage gap histogram) plus
 *               T - N gaps of `event_gap` per request; mean and count
 *               exact over successes (sum of l - f over sum of T - 1),
 *               percentiles from the histogram (failed requests' gaps in it)
 *   per_token = (mean latency - mean TTFT) / (mean N - 1), the real
 *               per-token time whatever the stamps
 * Statistics are over successes (status 200) of every request the client
 * sent (no warm-up window: the client has none); failures (timeouts, 4xx,
 * 5xx) are counted apart.  Throughput divides by the span from the first
 * send to the last end of all requests (inference-perf's total_time).
 * Units: ms.
 */
#ifndef ES_CLIENT_METRICS_H
#define ES_CLIENT_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "es_metrics.h"

typedef struct es_client_emul {
    const char *name;                 /* "inference-perf 2025-10 (...)", "vllm bench serve", ... */
    bool        streaming;            /* false: no TTFT, TPOT or ITL (the client sees one response) */
    uint32_t    timestamps_per_token; /* >= 1 */
    uint32_t    trailing;             /* stamps after the last token */
    double      event_gap_ms;         /* the gap a token's extra stamps add */
    double      timeout_ms;           /* the client's timeout: a 408 ends this long after it was sent */
    double      output_count_scale;   /* client-counted output tokens per generated token (0 = 1) */
    bool        timeout_whole_s;      /* a 408 ends at timeout_ms rounded up to a whole second of
                                       * simulated time (aiohttp, gateway.client_timeout_clock) */
} es_client_emul_t;

typedef struct es_client_stats {
    uint64_t       sent, successes, failures;
    es_lat_stats_t ttft, tpot, ntpot, itl, latency;  /* ms; NaN where undefined; no CIs */
    double         failure_latency_mean_ms;  /* 408s end at the timeout; other failures at once */
    double         per_token_ms;      /* (mean latency - mean TTFT) / (mean output - 1) */
    double         output_mean;       /* mean output tokens of successes */
    double         requests_per_s, output_tokens_per_s, input_tokens_per_s;
} es_client_stats_t;

/* Client statistics over stage `stage` (ES_ALL_STAGES: every request). */
int es_client_stats(const es_metrics_t *m, const es_client_emul_t *e, uint32_t stage, es_client_stats_t *out);

#endif /* ES_CLIENT_METRICS_H */
