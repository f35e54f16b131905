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
    uint64_t out_tokens, in_tokens, prompt_tokens, cached_tokens, est_matched, est_total;
    uint64_t oracle_tokens;
    es_time_t first, last_done;
} window_stats_t;

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
        if (r->status != 200) continue;
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
    cJSON_AddItemToObject(pc, "estimated_hit_rate", num(w.est_total ? (double)w.est_matched / (double)w.est_total : NAN));
    cJSON_AddItemToObject(pc, "actual_hit_rate", num(w.prompt_tokens ? (double)w.cached_tokens / (double)w.prompt_tokens : NAN));
    cJSON_AddItemToObject(pc, "oracle_hit_rate",
                          num(w.prompt_tokens ? (double)w.oracle_tokens / (double)w.prompt_tokens : NAN));
    cJSON *rq = cJSON_GetObjectItem(o, "requests");
    if (rq) {
        cJSON_AddItemToObject(rq, "measured", u64(w.arrived));
        cJSON_AddItemToObject(rq, "measured_completed", u64(w.completed));
    }
}

int es_summary_write(const char *path, const es_metrics_t *m, const es_summary_input_t *in, es_err_t *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "schema_version", ES_SUMMARY_SCHEMA_VERSION);
    cJSON_AddStringToObject(root, "experiment", in->experiment ? in->experiment : "");
    cJSON_AddItemToObject(root, "seed", u64(in->seed));
    cJSON_AddStringToObject(root, "rng", in->rng);
    cJSON *sim = cJSON_AddObjectToObject(root, "sim");
    cJSON_AddItemToObject(sim, "end_s", num(es_time_to_s(in->sim_end)));
    cJSON_AddItemToObject(sim, "events", u64(in->events));
    es_time_t from, to;
    es_metrics_window(m, &from, &to);
    cJSON_AddItemToObject(sim, "window_start_s", num(es_time_to_s(from)));
    cJSON_AddItemToObject(sim, "window_end_s", num(es_time_to_s(to)));

    /* requests by status, every request (warm-up included) */
    uint64_t total = es_metrics_count(m), completed = 0, preempt = 0;
    int codes[64];
    uint64_t counts[64];
    size_t ncodes = 0;
    const es_req_record_t *recs = es_metrics_records(m);
    for (size_t i = 0; i < total; i++) {
        int st = recs[i].status;
        if (st == 200) completed++;
        preempt += recs[i].preemptions;
        size_t k = 0;
        while (k < ncodes && codes[k] != st) k++;
        if (k == ncodes && ncodes < 64) { codes[ncodes] = st; counts[ncodes++] = 0; }
        if (k < ncodes) counts[k]++;
    }
    for (size_t i = 1; i < ncodes; i++)   /* ascending codes: stable output */
        for (size_t j = i; j > 0 && codes[j - 1] > codes[j]; j--) {
            int tc = codes[j]; codes[j] = codes[j - 1]; codes[j - 1] = tc;
            uint64_t tn = counts[j]; counts[j] = counts[j - 1]; counts[j - 1] = tn;
        }
    cJSON *rq = cJSON_AddObjectToObject(root, "requests");
    cJSON_AddItemToObject(rq, "total", u64(total));
    cJSON_AddItemToObject(rq, "completed", u64(completed));
    cJSON *bs = cJSON_AddObjectToObject(rq, "by_status");
    for (size_t i = 0; i < ncodes; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", codes[i]);
        cJSON_AddItemToObject(bs, key, u64(counts[i]));
    }
    cJSON_AddItemToObject(rq, "skipped_trace_lines", u64(in->skipped_lines));
    add_window_blocks(root, m, ES_ALL_STAGES, in, true);
    cJSON_AddItemToObject(root, "preemptions", u64(preempt));

    cJSON *pods = cJSON_AddArrayToObject(root, "pods");
    uint64_t all = 0;
    for (size_t i = 0; i < in->npods; i++) all += in->pods[i].requests;
    for (size_t i = 0; i < in->npods; i++) {
        const es_summary_pod_t *p = &in->pods[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p->name);
        cJSON_AddStringToObject(o, "role", p->role ? p->role : "");
        cJSON_AddItemToObject(o, "requests", u64(p->requests));
        cJSON_AddItemToObject(o, "share", num(all ? (double)p->requests / (double)all : NAN));
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
        cJSON_AddItemToObject(o, "start_s", num(es_time_to_s(s->start)));
        cJSON_AddItemToObject(o, "end_s", s->end == ES_TIME_NEVER ? cJSON_CreateNull() : num(es_time_to_s(s->end)));
        cJSON_AddObjectToObject(o, "requests");
        add_window_blocks(o, m, (uint32_t)i, in, false);
        cJSON_AddItemToArray(stages, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
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
