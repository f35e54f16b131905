/*
 * client_metrics.c -- a benchmark client's statistics (client_metrics.h).
 *
 * inference-perf reportgen/base.py summarize_requests (3b6f82a; 7de5ef2
 * computes the same from its chunk times): successes are requests without
 * an error; TTFT = output_token_times[0] - start_time, TPOT =
 * (times[-1] - times[0]) / (len(times) - 1), ITL = all consecutive
 * differences pooled, request_latency = end_time - start_time,
 * normalized TPOT = latency / output_tokens, throughput over
 * total_time = max(end) - min(start) of every request.
 */
#include "es_client_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double k_q[4] = {0.50, 0.90, 0.95, 0.99};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* p50/p90/p95/p99 (linear interpolation, numpy's default) and mean of v. */
static void stats_of(double *v, size_t n, es_lat_stats_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 4; i++) { out->p[i] = NAN; out->ci[i][0] = out->ci[i][1] = NAN; }
    out->mean = out->mean_ci[0] = out->mean_ci[1] = NAN;
    out->n = n;
    if (!n) return;
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    out->mean = sum / (double)n;
    for (int q = 0; q < 4; q++) out->p[q] = es_percentile_sorted(v, n, k_q[q]);
}

int es_client_stats(const es_metrics_t *m, const es_client_emul_t *e, uint32_t stage, es_client_stats_t *out)
{
    memset(out, 0, sizeof *out);
    size_t n = es_metrics_count(m);
    const es_req_record_t *recs = es_metrics_records(m);
    double *v[4];
    for (int i = 0; i < 4; i++) {
        v[i] = malloc((n ? n : 1) * sizeof *v[i]);
        if (!v[i]) { while (i-- > 0) free(v[i]); return ES_ENOMEM; }
    }
    size_t nttft = 0, ntpot = 0, nlat = 0;
    uint64_t k = e->timestamps_per_token ? e->timestamps_per_token : 1;
    uint64_t extra = 0, out_sum = 0, in_sum = 0, gaps = 0;
    double span_sum = 0;   /* first to last stamp, summed over streamed successes */
    double fail_sum = 0, ttft_sum = 0, lat_sum = 0;
    es_time_t first = ES_TIME_NEVER, last = 0;
    for (size_t i = 0; i < n; i++) {
        const es_req_record_t *r = &recs[i];
        if (stage != ES_ALL_STAGES && r->stage != stage) continue;
        out->sent++;
        if (r->arrival < first) first = r->arrival;
        /* the end as the client saw it: completion, or when it gave up / got the error */
        double end_ms = r->e2e_ms >= 0 ? r->e2e_ms : r->status == 408 ? e->timeout_ms : 0;
        es_time_t end = r->arrival + (es_time_t)llround(end_ms * 1e6);
        if (r->e2e_ms < 0 && r->status == 408 && e->timeout_whole_s) {   /* as gateway.c fired it */
            end = (end + 999999999) / 1000000000 * 1000000000;
            end_ms = (double)(end - r->arrival) / 1e6;
        }
        if (end > last) last = end;
        if (r->status != 200 || r->e2e_ms < 0) {
            out->failures++;
            fail_sum += end_ms;
            continue;
        }
        out->successes++;
        uint64_t N = r->output_tokens;
        /* the client counts the text it got back: re-tokenised, the count differs */
        double counted = e->output_count_scale > 0 ? nearbyint((double)N * e->output_count_scale) : (double)N;
        out_sum += (uint64_t)counted;
        in_sum += r->prompt_tokens;
        lat_sum += r->e2e_ms;
        v[3][nlat] = r->e2e_ms;
        v[2][nlat++] = counted > 0 ? r->e2e_ms / counted : 0;
        if (!e->streaming || N == 0 || r->ttft_ms < 0) continue;
        uint64_t T = k * N + e->trailing;
        v[0][nttft++] = r->ttft_ms;
        ttft_sum += r->ttft_ms;
        if (T > 1) v[1][ntpot++] = (r->e2e_ms - r->ttft_ms) / (double)(T - 1);
        span_sum += r->e2e_ms - r->ttft_ms;
        gaps += T - 1;
        if (N > 0) extra += T - N;   /* stamps beyond one per token */
    }
    out->failure_latency_mean_ms = out->failures ? fail_sum / (double)out->failures : NAN;
    stats_of(v[0], nttft, &out->ttft);
    stats_of(v[1], ntpot, &out->tpot);
    stats_of(v[2], nlat, &out->ntpot);
    stats_of(v[3], nlat, &out->latency);
    for (int i = 0; i < 4; i++) free(v[i]);
    if (e->streaming) {
        /* the client pools the gaps of its successes only: their real gaps
         * (sum of N - 1) take the shape of the stage's gap histogram (every
         * request streaming in the stage, failed ones too, shares its
         * steps), their extra stamps (sum of T - N) are event gaps; the
         * mean and count exact */
        es_metrics_stage_itl(m, stage, gaps - extra, extra, e->event_gap_ms * 1e6, &out->itl);
        out->itl.n = gaps;
        out->itl.mean = gaps ? span_sum / (double)gaps : NAN;
    } else {
        stats_of(NULL, 0, &out->itl);
    }
    out->output_mean = out->successes ? (double)out_sum / (double)out->successes : NAN;
    double mean_lat = out->successes ? lat_sum / (double)out->successes : NAN;
    double mean_ttft = nttft ? ttft_sum / (double)nttft : NAN;
    out->per_token_ms = out->output_mean > 1 ? (mean_lat - mean_ttft) / (out->output_mean - 1) : NAN;
    double span = out->sent && last > first ? es_time_to_s(last - first) : NAN;
    out->requests_per_s = (double)out->successes / span;
    out->output_tokens_per_s = (double)out_sum / span;
    out->input_tokens_per_s = (double)in_sum / span;
    return 0;
}
