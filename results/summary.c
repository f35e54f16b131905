/*
 * summary.c -- the result files.
 */
#include "es_summary.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "es_outdir.h"

static cJSON *num(double v)
{
    if (isnan(v) || isinf(v)) return cJSON_CreateNull();
    /* 1e-6 resolution keeps files readable and platform-stable */
    double r = round(v * 1e6) / 1e6;
    if (r == 0) r = 0;   /* no "-0" */
    return cJSON_CreateNumber(r);
}

static cJSON *u64(uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return cJSON_CreateRaw(buf);   /* exact, even beyond 2^53 */
}

static const char *const k_pnames[4] = {"p50", "p90", "p95", "p99"};

static cJSON *lat_block(const es_lat_stats_t *s)
{
    cJSON *o = cJSON_CreateObject();
    for (int q = 0; q < 4; q++) {
        cJSON_AddItemToObject(o, k_pnames[q], num(s->p[q]));
        if (!isnan(s->ci[q][0])) {
            char key[16];
            snprintf(key, sizeof key, "%s_ci", k_pnames[q]);
            cJSON *a = cJSON_CreateArray();
            cJSON_AddItemToArray(a, num(s->ci[q][0]));
            cJSON_AddItemToArray(a, num(s->ci[q][1]));
            cJSON_AddItemToObject(o, key, a);
        }
    }
    cJSON_AddItemToObject(o, "mean", num(s->mean));
    if (!isnan(s->mean_ci[0])) {
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, num(s->mean_ci[0]));
        cJSON_AddItemToArray(a, num(s->mean_ci[1]));
        cJSON_AddItemToObject(o, "mean_ci", a);
    }
    cJSON_AddItemToObject(o, "n", u64(s->n));
    return o;
}

typedef struct window_stats {
    uint64_t arrived, completed, good;
    uint64_t out_tokens, in_tokens, prompt_tokens, cached_tokens, est_matched, est_total, est_tokens;
    uint64_t oracle_tokens;
    es_time_t first, last_done;
    int codes[32];               /* statuses seen, ascending */
    uint64_t counts[32];
    size_t ncodes;
} window_stats_t;

/* Counts one status into ascending (codes, counts); the 32nd distinct code on
 * shares the last slot (HTTP has few). */
static void count_status(int *codes, uint64_t *counts, size_t *ncodes, size_t cap, int st)
{
    size_t k = 0;
    while (k < *ncodes && codes[k] < st) k++;
    if (k < *ncodes && codes[k] == st) { counts[k]++; return; }
    if (*ncodes == cap) { counts[cap - 1]++; return; }
    memmove(&codes[k + 1], &codes[k], (*ncodes - k) * sizeof *codes);
    memmove(&counts[k + 1], &counts[k], (*ncodes - k) * sizeof *counts);
    codes[k] = st;
    counts[k] = 1;
    (*ncodes)++;
}

static cJSON *status_block(const int *codes, const uint64_t *counts, size_t n)
{
    cJSON *bs = cJSON_CreateObject();
    for (size_t i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", codes[i]);
        cJSON_AddItemToObject(bs, key, u64(counts[i]));
    }
    return bs;
}

static void window_collect(const es_metrics_t *m, uint32_t stage, const es_summary_input_t *in, window_stats_t *w)
{
    memset(w, 0, sizeof *w);
    w->first = ES_TIME_NEVER;
    es_time_t from, to;
    es_metrics_window(m, &from, &to);
    const es_req_record_t *recs = es_metrics_records(m);
    for (size_t i = 0; i < es_metrics_count(m); i++) {
        const es_req_record_t *r = &recs[i];
        if (r->arrival < from || r->arrival > to) continue;
        if (stage != ES_ALL_STAGES && r->stage != stage) continue;
        w->arrived++;
        if (r->arrival < w->first) w->first = r->arrival;
        w->est_matched += r->est_matched;
        w->est_total += r->est_total;
        count_status(w->codes, w->counts, &w->ncodes, 32, r->status);
        if (r->status != 200) continue;
        w->est_tokens += r->est_tokens;
        w->completed++;
        w->out_tokens += r->output_tokens;
        w->in_tokens += r->prompt_tokens;
        w->prompt_tokens += r->prompt_tokens;
        w->cached_tokens += r->cached_tokens;
        w->oracle_tokens += r->oracle_tokens;
        es_time_t done = r->arrival + (es_time_t)((double)r->e2e_ms * 1e6);
        if (done > w->last_done) w->last_done = done;
        double tpot = es_record_tpot_ms(r);
        if (r->ttft_ms <= in->slo_ttft_ms && (tpot < 0 || tpot <= in->slo_tpot_ms)) w->good++;
    }
}

static void add_window_blocks(cJSON *o, const es_metrics_t *m, uint32_t stage, const es_summary_input_t *in,
                              bool with_itl)
{
    window_stats_t w;
    window_collect(m, stage, in, &w);
    es_lat_stats_t s;
    cJSON *lat = cJSON_AddObjectToObject(o, "latency_ms");
    es_metrics_latency(m, ES_LAT_TTFT, stage, &s);
    cJSON_AddItemToObject(lat, "ttft", lat_block(&s));
    es_metrics_latency(m, ES_LAT_TPOT, stage, &s);
    cJSON_AddItemToObject(lat, "tpot", lat_block(&s));
    if (with_itl) {
        es_metrics_itl(m, &s);
        cJSON_AddItemToObject(lat, "itl", lat_block(&s));
    }
    es_metrics_latency(m, ES_LAT_E2E, stage, &s);
    cJSON_AddItemToObject(lat, "e2e", lat_block(&s));

    double span = w.completed && w.last_done > w.first ? es_time_to_s(w.last_done - w.first) : NAN;
    cJSON *tp = cJSON_AddObjectToObject(o, "throughput");
    cJSON_AddItemToObject(tp, "requests_per_s", num((double)w.completed / span));
    cJSON_AddItemToObject(tp, "output_tokens_per_s", num((double)w.out_tokens / span));
    cJSON_AddItemToObject(tp, "input_tokens_per_s", num((double)w.in_tokens / span));
    cJSON *gp = cJSON_AddObjectToObject(o, "goodput");
    cJSON_AddItemToObject(gp, "requests_per_s", num((double)w.good / span));
    cJSON_AddItemToObject(gp, "fraction", num(w.arrived ? (double)w.good / (double)w.arrived : NAN));
    cJSON_AddItemToObject(gp, "slo_ttft_ms", num(in->slo_ttft_ms));
    cJSON_AddItemToObject(gp, "slo_tpot_ms", num(in->slo_tpot_ms));
    cJSON *pc = cJSON_AddObjectToObject(o, "prefix_cache");
    /* the three rates share a denominator (prompt tokens of the requests
     * completed in the window), so estimated <= oracle can be read off */
    double prompt = (double)w.prompt_tokens;
    cJSON_AddItemToObject(pc, "estimated_hit_rate", num(w.prompt_tokens ? (double)w.est_tokens / prompt : NAN));
    cJSON_AddItemToObject(pc, "actual_hit_rate", num(w.prompt_tokens ? (double)w.cached_tokens / prompt : NAN));
    cJSON_AddItemToObject(pc, "oracle_hit_rate", num(w.prompt_tokens ? (double)w.oracle_tokens / prompt : NAN));
    cJSON_AddItemToObject(pc, "estimated_hashed_prefix_match",
                          num(w.est_total ? (double)w.est_matched / (double)w.est_total : NAN));
    cJSON *rq = cJSON_GetObjectItem(o, "requests");
    if (rq) {
        cJSON_AddItemToObject(rq, "measured", u64(w.arrived));
        cJSON_AddItemToObject(rq, "measured_completed", u64(w.completed));
        cJSON_AddItemToObject(rq, "measured_by_status", status_block(w.codes, w.counts, w.ncodes));
        cJSON_AddItemToObject(rq, "measured_input_tokens", u64(w.in_tokens));
        cJSON_AddItemToObject(rq, "measured_output_tokens", u64(w.out_tokens));
    }
}

/* The benchmark client's view (client_metrics.h), names as inference-perf
 * reports them, in ms. */
static cJSON *client_block(const es_metrics_t *m, const es_client_emul_t *e, uint32_t stage)
{
    es_client_stats_t cs;
    if (es_client_stats(m, e, stage, &cs) < 0) return NULL;
    cJSON *o = cJSON_CreateObject();
    if (stage == ES_ALL_STAGES) {
        cJSON_AddStringToObject(o, "name", e->name ? e->name : "");
        cJSON_AddBoolToObject(o, "streaming", e->streaming);
        cJSON_AddItemToObject(o, "timestamps_per_token", u64(e->timestamps_per_token));
        cJSON_AddItemToObject(o, "trailing_timestamps", u64(e->trailing));
        cJSON_AddItemToObject(o, "event_gap_ms", num(e->event_gap_ms));
        cJSON_AddItemToObject(o, "timeout_s", num(e->timeout_ms / 1e3));
    }
    cJSON_AddItemToObject(o, "sent", u64(cs.sent));
    cJSON_AddItemToObject(o, "successes", u64(cs.successes));
    cJSON_AddItemToObject(o, "failures", u64(cs.failures));
    cJSON *lat = cJSON_AddObjectToObject(o, "latency_ms");
    cJSON_AddItemToObject(lat, "time_to_first_token", lat_block(&cs.ttft));
    cJSON_AddItemToObject(lat, "time_per_output_token", lat_block(&cs.tpot));
    cJSON_AddItemToObject(lat, "normalized_time_per_output_token", lat_block(&cs.ntpot));
    cJSON_AddItemToObject(lat, "inter_token_latency", lat_block(&cs.itl));
    cJSON_AddItemToObject(lat, "request_latency", lat_block(&cs.latency));
    cJSON_AddItemToObject(o, "per_token_ms", num(cs.per_token_ms));
    cJSON_AddItemToObject(o, "output_len_mean", num(cs.output_mean));
    cJSON_AddItemToObject(o, "failures_request_latency_mean_ms", num(cs.failure_latency_mean_ms));
    cJSON *tp = cJSON_AddObjectToObject(o, "throughput");
    cJSON_AddItemToObject(tp, "requests_per_s", num(cs.requests_per_s));
    cJSON_AddItemToObject(tp, "output_tokens_per_s", num(cs.output_tokens_per_s));
    cJSON_AddItemToObject(tp, "input_tokens_per_s", num(cs.input_tokens_per_s));
    return o;
}

/* Pods of one role whose share of that role's requests is under this
 * fraction of the even share are flagged: they are idle or starved. */
#define POD_FAR_BELOW 0.25

cJSON *es_summary_build(const es_metrics_t *m, const es_summary_input_t *in)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "schema_version", ES_SUMMARY_SCHEMA_VERSION);
    cJSON_AddStringToObject(root, "experiment", in->experiment ? in->experiment : "");
    cJSON_AddItemToObject(root, "seed", u64(in->seed));
    cJSON_AddStringToObject(root, "rng", in->rng);
    if (in->step_model) {
        cJSON *sm = cJSON_AddObjectToObject(root, "step_model");
        cJSON_AddStringToObject(sm, "kind", in->step_model);
        cJSON_AddStringToObject(sm, "model", in->model_source ? in->model_source : "");
        cJSON_AddStringToObject(sm, "gpu", in->gpu ? in->gpu : "");
        if (in->coefficients) cJSON_AddStringToObject(sm, "coefficients", in->coefficients);
    }
    cJSON *sim = cJSON_AddObjectToObject(root, "sim");
    cJSON_AddItemToObject(sim, "end_s", num(es_time_to_s(in->sim_end)));
    cJSON_AddItemToObject(sim, "events", u64(in->events));
    es_time_t from, to;
    es_metrics_window(m, &from, &to);
    cJSON_AddItemToObject(sim, "window_start_s", num(es_time_to_s(from)));
    cJSON_AddItemToObject(sim, "window_end_s", num(es_time_to_s(to)));
    cJSON_AddItemToObject(sim, "warmup_s", num(es_metrics_config(m)->warmup_s));
    cJSON_AddItemToObject(sim, "cooldown_s", num(es_metrics_config(m)->cooldown_s));

    /* requests by status, every request (warm-up included) */
    uint64_t total = es_metrics_count(m), completed = 0, preempt = 0;
    int codes[64];
    uint64_t counts[64];
    size_t ncodes = 0;
    const es_req_record_t *recs = es_metrics_records(m);
    for (size_t i = 0; i < total; i++) {
        if (recs[i].status == 200) completed++;
        preempt += recs[i].preemptions;
        count_status(codes, counts, &ncodes, 64, recs[i].status);
    }
    cJSON *rq = cJSON_AddObjectToObject(root, "requests");
    cJSON_AddItemToObject(rq, "total", u64(total));
    cJSON_AddItemToObject(rq, "completed", u64(completed));
    cJSON_AddItemToObject(rq, "by_status", status_block(codes, counts, ncodes));
    cJSON_AddItemToObject(rq, "skipped_trace_lines", u64(in->skipped_lines));
    add_window_blocks(root, m, ES_ALL_STAGES, in, true);
    cJSON_AddItemToObject(root, "preemptions", u64(preempt));
    if (in->client) cJSON_AddItemToObject(root, "client", client_block(m, in->client, ES_ALL_STAGES));
    if (in->predictor) {
        cJSON *lp = cJSON_AddObjectToObject(root, "latency_predictor");
        cJSON_AddItemToObject(lp, "ttft_mape_pct", num(in->pred_ttft_mape_pct));
        cJSON_AddItemToObject(lp, "tpot_mape_pct", num(in->pred_tpot_mape_pct));
        cJSON_AddItemToObject(lp, "ttft_n", u64(in->pred_ttft_n));
        cJSON_AddItemToObject(lp, "tpot_n", u64(in->pred_tpot_n));
        cJSON_AddItemToObject(lp, "retrains", u64(in->pred_retrains));
        cJSON_AddItemToObject(lp, "training_samples_ttft", u64(in->pred_samples_ttft));
        cJSON_AddItemToObject(lp, "training_samples_tpot", u64(in->pred_samples_tpot));
    }
    if (in->evicting) {
        cJSON *fc = cJSON_AddObjectToObject(root, "flow_control");
        cJSON_AddItemToObject(fc, "evictions", u64(in->evictions));
    }
    if (in->kv_rule) {   /* after the figures: a golden file's first lines stay put */
        cJSON *kv = cJSON_AddObjectToObject(root, "kv_cache");
        cJSON_AddItemToObject(kv, "blocks", u64(in->kv_blocks));
        cJSON_AddItemToObject(kv, "tokens", u64((uint64_t)in->kv_blocks * in->kv_block_size));
        cJSON_AddItemToObject(kv, "block_size", u64(in->kv_block_size));
        cJSON_AddStringToObject(kv, "rule", in->kv_rule);
        if (!strcmp(in->kv_rule, "vllm")) {
            cJSON *g = cJSON_AddObjectToObject(kv, "per_gpu_gib");
            cJSON_AddItemToObject(g, "weights", num(in->kv_weights_gib));
            cJSON_AddItemToObject(g, "profile_peak", num(in->kv_peak_gib));
            cJSON_AddItemToObject(g, "non_torch", num(in->kv_non_torch_gib));
            cJSON_AddItemToObject(g, "kv_cache", num(in->kv_gib));
        }
    }

    cJSON *pods = cJSON_AddArrayToObject(root, "pods");
    uint64_t all = 0;
    for (size_t i = 0; i < in->npods; i++) all += in->pods[i].requests;
    for (size_t i = 0; i < in->npods; i++) {
        const es_summary_pod_t *p = &in->pods[i];
        const char *role = p->role ? p->role : "";
        /* the even share among the pods of the same role */
        uint64_t role_req = 0, role_pods = 0;
        for (size_t k = 0; k < in->npods; k++)
            if (!strcmp(in->pods[k].role ? in->pods[k].role : "", role)) { role_req += in->pods[k].requests; role_pods++; }
        const char *flag = "";
        if (role_req >= 4 * role_pods && role_pods > 1) {
            if (p->requests == 0) flag = "idle";
            else if ((double)p->requests < POD_FAR_BELOW * (double)role_req / (double)role_pods) flag = "far_below_share";
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p->name);
        cJSON_AddStringToObject(o, "role", role);
        cJSON_AddItemToObject(o, "requests", u64(p->requests));
        cJSON_AddItemToObject(o, "share", num(all ? (double)p->requests / (double)all : NAN));
        cJSON_AddItemToObject(o, "even_share", num(role_req && role_pods ? (double)role_req / (double)role_pods / (double)all : NAN));
        cJSON_AddStringToObject(o, "flag", flag);
        cJSON_AddItemToObject(o, "prefix_hit_rate",
                              num(p->prefix_queries ? (double)p->prefix_hits / (double)p->prefix_queries : NAN));
        cJSON_AddItemToObject(o, "preemptions", u64(p->preemptions));
        cJSON_AddItemToObject(o, "steps", u64(p->steps));
        cJSON_AddItemToObject(o, "busy_fraction",
                              num(in->sim_end > 0 ? (double)p->busy / (double)in->sim_end : NAN));
        cJSON_AddItemToArray(pods, o);
    }
    cJSON *stages = cJSON_AddArrayToObject(root, "stages");
    for (size_t i = 0; i < in->nstages; i++) {
        const es_summary_stage_t *s = &in->stages[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "index", (double)i);
        cJSON_AddItemToObject(o, "rate", num(s->rate));
        /* a benchmark client's stage the run never reached (duration_s) has no start */
        cJSON_AddItemToObject(o, "start_s", s->start == ES_TIME_NEVER ? cJSON_CreateNull() : num(es_time_to_s(s->start)));
        cJSON_AddItemToObject(o, "end_s", s->end == ES_TIME_NEVER ? cJSON_CreateNull() : num(es_time_to_s(s->end)));
        cJSON_AddObjectToObject(o, "requests");
        add_window_blocks(o, m, (uint32_t)i, in, false);
        if (in->client) cJSON_AddItemToObject(o, "client", client_block(m, in->client, (uint32_t)i));
        cJSON_AddItemToArray(stages, o);
    }
    return root;
}

int es_summary_write(const char *path, const es_metrics_t *m, const es_summary_input_t *in, es_err_t *err)
{
    cJSON *root = es_summary_build(m, in);
    if (!root) return es_err_set(err, ES_ENOMEM, "out of memory");
    int rc = es_summary_write_json(path, root, err);
    cJSON_Delete(root);
    return rc;
}

int es_summary_write_json(const char *path, const cJSON *root, es_err_t *err)
{
    char *text = cJSON_Print(root);
    if (!text) return es_err_set(err, ES_ENOMEM, "out of memory");
    size_t len = strlen(text);
    char *withnl = realloc(text, len + 2);
    if (!withnl) { free(text); return ES_ENOMEM; }
    withnl[len] = '\n';
    withnl[len + 1] = '\0';
    int rc = es_write_file_atomic(path, withnl, len + 1, err);
    free(withnl);
    return rc;
}

void es_requests_csv_header(FILE *f)
{
    fputs("id,arrival_s,stage,status,pod,prompt_tokens,output_tokens,cached_tokens,oracle_tokens,est_prefix_blocks,"
          "est_total_blocks,queue_ms,sched_ms,ttft_ms,tpot_ms,e2e_ms,preemptions\n", f);
}

static void csv_ms(FILE *f, double v)
{
    if (v < 0 || isnan(v)) fputs(",", f);
    else fprintf(f, ",%.3f", v);
}

void es_requests_csv_row(FILE *f, const es_req_record_t *r, const char *pod_name)
{
    fprintf(f, "%llu,%.6f,%u,%d,%s,%u,%u,%u,%u,%u,%u", (unsigned long long)r->id, es_time_to_s(r->arrival),
            r->stage, r->status, pod_name ? pod_name : "", r->prompt_tokens, r->output_tokens, r->cached_tokens,
            r->oracle_tokens, r->est_matched, r->est_total);
    csv_ms(f, r->queue_ms);
    csv_ms(f, r->sched_ms);
    csv_ms(f, r->ttft_ms);
    csv_ms(f, es_record_tpot_ms(r));
    csv_ms(f, r->e2e_ms);
    fprintf(f, ",%u\n", r->preemptions);
}

int es_pods_csv_write(const char *path, const es_summary_input_t *in, es_err_t *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return es_err_set(err, ES_ENOMEM, "out of memory");
    fputs("pod,role,requests,prefix_queries_tokens,prefix_hits_tokens,prefix_hit_rate,preemptions,steps,busy_s\n", f);
    for (size_t i = 0; i < in->npods; i++) {
        const es_summary_pod_t *p = &in->pods[i];
        fprintf(f, "%s,%s,%llu,%llu,%llu,", p->name, p->role ? p->role : "", (unsigned long long)p->requests,
                (unsigned long long)p->prefix_queries, (unsigned long long)p->prefix_hits);
        if (p->prefix_queries) fprintf(f, "%.6f", (double)p->prefix_hits / (double)p->prefix_queries);
        fprintf(f, ",%llu,%llu,%.6f\n", (unsigned long long)p->preemptions, (unsigned long long)p->steps,
                es_time_to_s(p->busy));
    }
    if (fclose(f)) { free(text); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    int rc = es_write_file_atomic(path, text, len, err);
    free(text);
    return rc;
}

const cJSON *es_json_find(const cJSON *j, const char *dotted)
{
    char part[256];
    const char *p = dotted;
    while (j) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof part) return NULL;
        memcpy(part, p, len);
        part[len] = '\0';
        if (cJSON_IsArray(j)) {
            char *end;
            long i = strtol(part, &end, 10);
            j = *end || !len ? NULL : cJSON_GetArrayItem(j, (int)i);
        } else {
            j = cJSON_GetObjectItemCaseSensitive(j, part);
        }
        if (!dot) return j;
        p = dot + 1;
    }
    return NULL;
}

/* ---- the text summary (terminal, report.md) ---- */

/* A number of the tree: built (counts are raw text) or parsed. */
static double jval(const cJSON *v)
{
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsRaw(v) && v->valuestring) return strtod(v->valuestring, NULL);
    return NAN;
}

static double jnum(const cJSON *j, const char *path)
{
    return jval(es_json_find(j, path));
}

static void print_statuses(FILE *f, const cJSON *by_status)
{
    const cJSON *c;
    bool first = true;
    cJSON_ArrayForEach(c, by_status) {
        if (!strcmp(c->string, "200")) continue;
        fprintf(f, "%s%s: %.0f", first ? " (" : ", ", strcmp(c->string, "0") ? c->string : "unfinished", jval(c));
        first = false;
    }
    if (!first) fputc(')', f);
}

static void print_cell(FILE *f, double v, const char *fmt)
{
    if (isnan(v)) fprintf(f, " %10s", "-");
    else fprintf(f, fmt, v);
}

static void print_stat_row(FILE *f, const char *label, const cJSON *lat, const char *which)
{
    const cJSON *b = cJSON_GetObjectItem(lat, which);
    if (!b) return;
    fprintf(f, "  %-12s", label);
    print_cell(f, jnum(b, "mean"), " %10.1f");
    print_cell(f, jnum(b, "p50"), " %10.1f");
    print_cell(f, jnum(b, "p90"), " %10.1f");
    print_cell(f, jnum(b, "p99"), " %10.1f");
    fputc('\n', f);
}

static void print_rate(FILE *f, const char *label, double v, const char *unit)
{
    if (isnan(v)) fprintf(f, "  %-32s %10s\n", label, "-");
    else fprintf(f, "  %-32s %10.2f %s\n", label, v, unit);
}

static void print_pct(FILE *f, double v)
{
    if (isnan(v)) fprintf(f, "%7s", "-");
    else fprintf(f, "%5.1f %%", 100 * v);
}

/* One row of the client's table: its means (ms), as its own report shows them. */
static void print_client_row(FILE *f, const cJSON *c)
{
    fprintf(f, " %7.0f %6.0f", jnum(c, "successes"), jnum(c, "failures"));
    print_cell(f, jnum(c, "latency_ms.time_to_first_token.mean"), " %10.2f");
    print_cell(f, jnum(c, "latency_ms.time_per_output_token.mean"), " %10.3f");
    print_cell(f, jnum(c, "latency_ms.inter_token_latency.mean"), " %10.3f");
    print_cell(f, jnum(c, "latency_ms.inter_token_latency.p50"), " %10.3f");
    print_cell(f, jnum(c, "latency_ms.request_latency.mean"), " %10.1f");
    print_cell(f, jnum(c, "per_token_ms"), " %10.3f");
    fputc('\n', f);
}

/* The benchmark client's numbers (summary.json `client`), per stage. */
static void print_client(FILE *f, const cJSON *s)
{
    const cJSON *c = cJSON_GetObjectItem(s, "client");
    if (!c) return;
    double k = jnum(c, "timestamps_per_token"), t = jnum(c, "trailing_timestamps");
    fprintf(f, "  client-side, as %s computes them (%.0f stamp%s per token, %.0f after the last), means in ms:\n",
            cJSON_GetStringValue(cJSON_GetObjectItem(c, "name")), k, k == 1 ? "" : "s", t);
    fprintf(f, "  %5s %9s %7s %6s %10s %10s %10s %10s %10s %10s\n", "stage", "rate", "ok", "failed", "TTFT", "TPOT",
            "ITL", "ITL p50", "latency", "per-token");
    const cJSON *stages = cJSON_GetObjectItem(s, "stages"), *st;
    if (cJSON_GetArraySize(stages) > 1) {
        cJSON_ArrayForEach(st, stages) {
            const cJSON *sc = cJSON_GetObjectItem(st, "client");
            if (!sc) continue;
            fprintf(f, "  %5.0f", jnum(st, "index"));
            print_cell(f, jnum(st, "rate"), " %9.2f");
            print_client_row(f, sc);
        }
    }
    fprintf(f, "  %5s %9s", "all", "");
    print_client_row(f, c);
    fprintf(f, "  (per-token = (mean latency - mean TTFT) / (mean output - 1): the time per token whatever the stamps)\n");
}

void es_summary_print(FILE *f, const cJSON *s)
{
    const cJSON *kv = cJSON_GetObjectItem(s, "kv_cache");
    if (kv) {
        fprintf(f, "  KV cache: %.0f blocks (%.0f tokens) per pod, %s rule", jnum(kv, "blocks"), jnum(kv, "tokens"),
                cJSON_GetStringValue(cJSON_GetObjectItem(kv, "rule")));
        if (cJSON_GetObjectItem(kv, "per_gpu_gib"))
            fprintf(f, "; per GPU %.2f GiB weights, %.2f GiB profile peak, %.2f GiB non-torch, %.2f GiB KV",
                    jnum(kv, "per_gpu_gib.weights"), jnum(kv, "per_gpu_gib.profile_peak"),
                    jnum(kv, "per_gpu_gib.non_torch"), jnum(kv, "per_gpu_gib.kv_cache"));
        fputc('\n', f);
    }
    const cJSON *rq = cJSON_GetObjectItem(s, "requests");
    double total = jnum(rq, "total"), completed = jnum(rq, "completed");
    fprintf(f, "  all requests: %.0f, %.0f completed", total, completed);
    if (completed < total) {
        fprintf(f, ", %.0f failed", total - completed);
        print_statuses(f, cJSON_GetObjectItem(rq, "by_status"));
    }
    fputc('\n', f);
    double from = jnum(s, "sim.window_start_s"), to = jnum(s, "sim.window_end_s");
    double warm = jnum(s, "sim.warmup_s"), cool = jnum(s, "sim.cooldown_s");
    double measured = jnum(rq, "measured"), mcompleted = jnum(rq, "measured_completed");
    fprintf(f, "  measured window: requests sent in [%.1f s, %.1f s]", from, to);
    if (warm > 0 || cool > 0) fprintf(f, " (warm-up %g s, cool-down %g s)", warm, cool);
    else fprintf(f, " (every request)");
    fprintf(f, "; every figure below is over it\n");
    fprintf(f, "  %-32s %10.0f\n", "Requests in the window", measured);
    fprintf(f, "  %-32s %10.0f\n", "Successful requests", mcompleted);
    fprintf(f, "  %-32s %10.0f", "Failed requests", measured - mcompleted);
    if (mcompleted < measured) print_statuses(f, cJSON_GetObjectItem(rq, "measured_by_status"));
    fputc('\n', f);
    fprintf(f, "  %-32s %10.0f\n", "Total input tokens", jnum(rq, "measured_input_tokens"));
    fprintf(f, "  %-32s %10.0f\n", "Total generated tokens", jnum(rq, "measured_output_tokens"));
    print_rate(f, "Request throughput", jnum(s, "throughput.requests_per_s"), "req/s");
    print_rate(f, "Output token throughput", jnum(s, "throughput.output_tokens_per_s"), "tok/s");
    print_rate(f, "Total token throughput",
               jnum(s, "throughput.output_tokens_per_s") + jnum(s, "throughput.input_tokens_per_s"), "tok/s");
    print_rate(f, "Goodput", jnum(s, "goodput.requests_per_s"), "req/s");
    fprintf(f, "  %-32s ", "  within SLO");
    print_pct(f, jnum(s, "goodput.fraction"));
    fprintf(f, "   (TTFT <= %g ms, TPOT <= %g ms)\n", jnum(s, "goodput.slo_ttft_ms"), jnum(s, "goodput.slo_tpot_ms"));
    const cJSON *lat = cJSON_GetObjectItem(s, "latency_ms");
    fprintf(f, "  %-12s %10s %10s %10s %10s\n", "latency, ms", "mean", "median", "p90", "p99");
    print_stat_row(f, "TTFT", lat, "ttft");
    print_stat_row(f, "TPOT", lat, "tpot");
    print_stat_row(f, "ITL", lat, "itl");
    print_stat_row(f, "E2E", lat, "e2e");
    fprintf(f, "  prefix-cache hit rate (of prompt tokens): EPP estimate ");
    print_pct(f, jnum(s, "prefix_cache.estimated_hit_rate"));
    fprintf(f, ", actual ");
    print_pct(f, jnum(s, "prefix_cache.actual_hit_rate"));
    fprintf(f, ", oracle ");
    print_pct(f, jnum(s, "prefix_cache.oracle_hit_rate"));
    fprintf(f, " (upper bound)\n");
    const cJSON *lp = cJSON_GetObjectItem(s, "latency_predictor");
    if (lp) {
        fprintf(f, "  latency predictor: TTFT MAPE ");
        print_cell(f, jnum(lp, "ttft_mape_pct"), "%.1f %%");
        fprintf(f, " (%.0f requests), TPOT MAPE ", jnum(lp, "ttft_n"));
        print_cell(f, jnum(lp, "tpot_mape_pct"), "%.1f %%");
        fprintf(f, " (%.0f requests), %.0f retrains\n", jnum(lp, "tpot_n"), jnum(lp, "retrains"));
    }
    const cJSON *fc = cJSON_GetObjectItem(s, "flow_control");
    if (fc) fprintf(f, "  flow control evicted %.0f in-flight requests (429 in requests.csv)\n", jnum(fc, "evictions"));

    const cJSON *stages = cJSON_GetObjectItem(s, "stages"), *st;
    if (cJSON_GetArraySize(stages) > 1) {
        fprintf(f, "  per stage:\n  %5s %9s %9s %8s %8s %9s %9s %9s %9s\n", "stage", "rate", "start_s", "requests",
                "failed", "req/s", "TTFT p50", "TTFT p99", "E2E p99");
        cJSON_ArrayForEach(st, stages) {
            double sm = jnum(st, "requests.measured"), sc = jnum(st, "requests.measured_completed");
            fprintf(f, "  %5.0f", jnum(st, "index"));
            print_cell(f, jnum(st, "rate"), " %9.2f");
            print_cell(f, jnum(st, "start_s"), " %9.1f");
            fprintf(f, " %8.0f %8.0f", sm, sm - sc);
            print_cell(f, jnum(st, "throughput.requests_per_s"), " %9.2f");
            print_cell(f, jnum(st, "latency_ms.ttft.p50"), " %9.1f");
            print_cell(f, jnum(st, "latency_ms.ttft.p99"), " %9.1f");
            print_cell(f, jnum(st, "latency_ms.e2e.p99"), " %9.1f");
            fputc('\n', f);
        }
    }
    print_client(f, s);
    const cJSON *pods = cJSON_GetObjectItem(s, "pods"), *p;
    cJSON_ArrayForEach(p, pods) {
        const cJSON *flag = cJSON_GetObjectItem(p, "flag");
        if (!cJSON_IsString(flag) || !flag->valuestring[0]) continue;
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(p, "name"));
        if (!strcmp(flag->valuestring, "idle"))
            fprintf(f, "  NOTE: pod %s served no request (an even share is %.1f %%)\n", name,
                    100 * jnum(p, "even_share"));
        else
            fprintf(f, "  NOTE: pod %s served %.1f %% of the requests, far below an even share (%.1f %%)\n", name,
                    100 * jnum(p, "share"), 100 * jnum(p, "even_share"));
    }
}
