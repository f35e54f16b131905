/*
 * lifecycle.c -- inference-perf lifecycle metrics: from records, to and from JSON.
 */
#include "es_lifecycle.h"
#include "es_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const es_lc_quantile_names[ES_LC_NQ] = {"mean", "min", "p0.1", "p1", "p5", "p10", "p25",
                                                      "median", "p75", "p90", "p95", "p99", "p99.9", "max"};
static const double k_q[ES_LC_NQ] = {-1, 0, 0.001, 0.01, 0.05, 0.10, 0.25, 0.5, 0.75, 0.90, 0.95, 0.99, 0.999, 1};
const char *const es_lc_latency_names[ES_LC_NLAT] = {"request_latency", "normalized_time_per_output_token",
                                                     "time_per_output_token", "time_to_first_token",
                                                     "inter_token_latency"};

static void dist_clear(es_lc_dist_t *d)
{
    for (int i = 0; i < ES_LC_NQ; i++) d->v[i] = NAN;
}

void es_lc_stats_init(es_lc_stats_t *s)
{
    memset(s, 0, sizeof *s);
    s->send_duration_s = s->requested_rate = s->achieved_rate = NAN;
    for (int i = 0; i < ES_LC_NLAT; i++) dist_clear(&s->lat[i]);
    dist_clear(&s->prompt_len);
    dist_clear(&s->output_len);
    s->input_tps = s->output_tps = s->total_tps = s->rps = NAN;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place and fills d (scale multiplies every value). */
static void dist_fill(es_lc_dist_t *d, double *v, size_t n, double scale)
{
    dist_clear(d);
    if (!n) return;
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    d->v[ES_LC_MEAN] = sum / (double)n * scale;
    for (int q = 1; q < ES_LC_NQ; q++) d->v[q] = es_percentile_sorted(v, n, k_q[q]) * scale;
}

int es_lc_compute(const es_req_record_t *recs, size_t n, uint32_t stage, int stamps_per_token, int trailing_stamps,
                  double requested_rate, const es_lat_stats_t *real_itl, es_lc_stats_t *out)
{
    es_lc_stats_init(out);
    if (stamps_per_token < 1) stamps_per_token = 1;
    double *buf = malloc((n ? n : 1) * 7 * sizeof *buf);
    if (!buf) return ES_ENOMEM;
    double *lat = buf, *ntpot = buf + n, *tpot = buf + 2 * n, *ttft = buf + 3 * n, *pl = buf + 4 * n,
           *ol = buf + 5 * n;
    size_t ns = 0, nt = 0;
    double first = INFINITY, last_start = -INFINITY, last_end = -INFINITY;
    double gap_span = 0, gap_count = 0, in_tok = 0, out_tok = 0;
    for (size_t i = 0; i < n; i++) {
        const es_req_record_t *r = &recs[i];
        if (stage != ES_ALL_STAGES && r->stage != stage) continue;
        out->count++;
        double start = es_time_to_s(r->arrival);
        if (start < first) first = start;
        if (start > last_start) last_start = start;
        if (r->status != 200 || r->e2e_ms < 0) { out->failures++; continue; }
        out->successes++;
        double e2e = r->e2e_ms / 1e3, t1 = r->ttft_ms >= 0 ? r->ttft_ms / 1e3 : e2e;
        if (start + e2e > last_end) last_end = start + e2e;
        lat[ns] = e2e;
        ttft[ns] = t1;
        ntpot[ns] = r->output_tokens ? e2e / r->output_tokens : 0;
        pl[ns] = r->prompt_tokens;
        ol[ns] = r->output_tokens;
        ns++;
        double stamps = (double)stamps_per_token * r->output_tokens + (trailing_stamps > 0 ? trailing_stamps : 0);
        if (stamps > 1) {
            tpot[nt++] = (e2e - t1) / (stamps - 1);
            gap_span += e2e - t1;
            gap_count += stamps - 1;
        }
        in_tok += r->prompt_tokens;
        out_tok += r->output_tokens;
    }
    dist_fill(&out->lat[ES_LC_LATENCY], lat, ns, 1);
    dist_fill(&out->lat[ES_LC_NTPOT], ntpot, ns, 1);
    dist_fill(&out->lat[ES_LC_TPOT], tpot, nt, 1);
    dist_fill(&out->lat[ES_LC_TTFT], ttft, ns, 1);
    dist_fill(&out->prompt_len, pl, ns, 1);
    dist_fill(&out->output_len, ol, ns, 1);
    if (gap_count > 0) out->lat[ES_LC_ITL].v[ES_LC_MEAN] = gap_span / gap_count;
    if (stamps_per_token == 1 && real_itl && real_itl->n) {
        es_lc_dist_t *d = &out->lat[ES_LC_ITL];
        d->v[ES_LC_MEDIAN] = real_itl->p[0] / 1e3;
        d->v[ES_LC_P90] = real_itl->p[1] / 1e3;
        d->v[ES_LC_P95] = real_itl->p[2] / 1e3;
        d->v[ES_LC_P99] = real_itl->p[3] / 1e3;
    }
    if (ns && last_end > first) {
        double span = last_end - first;
        out->rps = (double)ns / span;
        out->input_tps = in_tok / span;
        out->output_tps = out_tok / span;
        out->total_tps = (in_tok + out_tok) / span;
    }
    if (stage != ES_ALL_STAGES) {
        out->requested_rate = requested_rate;
        if (out->count) {
            out->send_duration_s = last_start - first;
            out->achieved_rate = out->send_duration_s > 0 ? (double)out->count / out->send_duration_s : NAN;
        }
    }
    free(buf);
    return 0;
}

/* ---- JSON ---- */

static cJSON *num(double v)
{
    if (!isfinite(v)) return cJSON_CreateNull();
    double r = round(v * 1e9) / 1e9;   /* ns resolution: stable text, exact enough for ~0 round trips */
    if (r == 0) r = 0;
    return cJSON_CreateNumber(r);
}

static cJSON *dist_json(const es_lc_dist_t *d)
{
    if (isnan(d->v[ES_LC_MEAN])) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    for (int q = 0; q < ES_LC_NQ; q++) cJSON_AddItemToObject(o, es_lc_quantile_names[q], num(d->v[q]));
    return o;
}

char *es_lc_to_json(const es_lc_stats_t *s, bool stage)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *load = cJSON_AddObjectToObject(root, "load_summary");
    cJSON_AddNumberToObject(load, "count", (double)s->count);
    if (stage) {
        cJSON_AddItemToObject(load, "send_duration", num(s->send_duration_s));
        cJSON_AddItemToObject(load, "requested_rate", num(s->requested_rate));
        cJSON_AddItemToObject(load, "achieved_rate", num(s->achieved_rate));
    }
    cJSON *ok = cJSON_AddObjectToObject(root, "successes");
    cJSON_AddNumberToObject(ok, "count", (double)s->successes);
    cJSON *lat = cJSON_AddObjectToObject(ok, "latency");
    for (int i = 0; i < ES_LC_NLAT; i++) cJSON_AddItemToObject(lat, es_lc_latency_names[i], dist_json(&s->lat[i]));
    cJSON *tp = cJSON_AddObjectToObject(ok, "throughput");
    cJSON_AddItemToObject(tp, "input_tokens_per_sec", num(s->input_tps));
    cJSON_AddItemToObject(tp, "output_tokens_per_sec", num(s->output_tps));
    cJSON_AddItemToObject(tp, "total_tokens_per_sec", num(s->total_tps));
    cJSON_AddItemToObject(tp, "requests_per_sec", num(s->rps));
    cJSON_AddItemToObject(ok, "prompt_len", dist_json(&s->prompt_len));
    cJSON_AddItemToObject(ok, "output_len", dist_json(&s->output_len));
    cJSON *bad = cJSON_AddObjectToObject(root, "failures");
    cJSON_AddNumberToObject(bad, "count", (double)s->failures);
    cJSON_AddItemToObject(bad, "request_latency", cJSON_CreateNull());
    cJSON_AddItemToObject(bad, "prompt_len", cJSON_CreateNull());
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

static double get_num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int read_dist(const cJSON *o, const char *k, es_lc_dist_t *d, const char *path, const char *where,
                     es_err_t *err)
{
    dist_clear(d);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsObject(v)) return es_err_set(err, ES_EINVAL, "%s: %s.%s: expected an object", path, where, k);
    for (int q = 0; q < ES_LC_NQ; q++) d->v[q] = get_num(v, es_lc_quantile_names[q]);
    return 0;
}

/* The most requests a lifecycle file may count: exact in a double. */
#define LC_MAX_COUNT 9e15

static int count_err(const char *path, const char *key, double c, es_err_t *err)
{
    return es_err_set(err, ES_ERANGE, "%s: %s: %g requests is out of range [0, %g]", path, key, c, LC_MAX_COUNT);
}

int es_lc_read(const char *path, es_lc_stats_t *out, es_err_t *err)
{
    es_lc_stats_init(out);
    char *text;
    int frc = es_file_read(path, &text, NULL);
    if (frc == ES_ENOMEM) return es_err_set(err, ES_ENOMEM, "out of memory");
    if (frc) return es_err_set(err, ES_EIO, "%s: cannot read", path);
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return es_err_set(err, ES_EPARSE, "%s: not a JSON object (inference-perf lifecycle metrics)", path);
    }
    int rc = 0;
    const cJSON *load = cJSON_GetObjectItemCaseSensitive(root, "load_summary");
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(root, "successes");
    const cJSON *bad = cJSON_GetObjectItemCaseSensitive(root, "failures");
    if (!cJSON_IsObject(ok)) { rc = es_err_set(err, ES_EINVAL, "%s: successes: missing", path); goto out; }
    /* counts past LC_MAX_COUNT are refused, never cast out of range */
    double c = get_num(load, "count");
    if (c > LC_MAX_COUNT) { rc = count_err(path, "load_summary.count", c, err); goto out; }
    out->count = isfinite(c) && c >= 0 ? (uint64_t)c : 0;
    out->send_duration_s = get_num(load, "send_duration");
    out->requested_rate = get_num(load, "requested_rate");
    out->achieved_rate = get_num(load, "achieved_rate");
    c = get_num(ok, "count");
    if (!isfinite(c) || c < 0) { rc = es_err_set(err, ES_EINVAL, "%s: successes.count: missing", path); goto out; }
    if (c > LC_MAX_COUNT) { rc = count_err(path, "successes.count", c, err); goto out; }
    out->successes = (uint64_t)c;
    c = get_num(bad, "count");
    if (c > LC_MAX_COUNT) { rc = count_err(path, "failures.count", c, err); goto out; }
    out->failures = isfinite(c) && c >= 0 ? (uint64_t)c : 0;
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(ok, "latency");
    for (int i = 0; i < ES_LC_NLAT && !rc; i++)
        rc = read_dist(lat, es_lc_latency_names[i], &out->lat[i], path, "successes.latency", err);
    if (!rc) rc = read_dist(ok, "prompt_len", &out->prompt_len, path, "successes", err);
    if (!rc) rc = read_dist(ok, "output_len", &out->output_len, path, "successes", err);
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(ok, "throughput");
    out->input_tps = get_num(tp, "input_tokens_per_sec");
    out->output_tps = get_num(tp, "output_tokens_per_sec");
    out->total_tps = get_num(tp, "total_tokens_per_sec");
    out->rps = get_num(tp, "requests_per_sec");
out:
    cJSON_Delete(root);
    return rc;
}
