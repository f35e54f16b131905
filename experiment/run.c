/*
 * run.c -- one run: workload -> cluster -> metrics -> output directory.
 */
#define _GNU_SOURCE
#include "es_run.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "es_client_metrics.h"
#include "es_cluster.h"
#include "es_paths.h"
#include "es_scheduler.h"
#include "es_sim.h"
#include "es_workload.h"
#include "es_metrics.h"
#include "es_model_config.h"
#include "es_outdir.h"
#include "es_steptime.h"
#include "es_summary.h"
#include "es_util.h"

#define POOL_CHUNK 1024

typedef struct live_req {
    es_client_request_t cr;
    es_wl_request_t    *wl;
    uint32_t            oracle_tokens;
    struct live_req    *prev, *next;   /* live list (or free list via next) */
} live_req_t;

typedef struct interval {
    uint64_t est_matched, cached, prompt, oracle_hit, done;   /* est_matched: tokens */
    double   ttft_sum;
    uint64_t ttft_n;
} interval_t;

typedef struct run_ctx {
    const es_experiment_t *exp;
    const es_run_options_t *opt;
    es_sim_t        *sim;
    es_workload_t   *wl;
    es_cluster_t    *cl;
    es_metrics_t    *m;
    live_req_t     **chunks;
    size_t           nchunks;
    live_req_t      *free_list;
    live_req_t      *live;          /* requests sent, not yet done */
    uint64_t         pending_done;  /* done events scheduled */
    bool             wl_finished;
    es_time_t        wake_at;
    es_event_id_t    wake_ev;
    FILE            *requests_csv;
    FILE            *timeseries;
    FILE            *decisions;      /* --record-decisions */
    uint64_t        *pod_hits, *pod_queries;   /* last sample, per pod */
    uint32_t         npod_slots;               /* entries in pod_hits and pod_queries */
    interval_t       iv;
    int              rc;
    es_err_t        *err;
    uint64_t         sent, done;
    es_time_t        arrivals_end;   /* duration_s limit */
    bool             stage_gaps;     /* benchmark client: gaps also per stage (client metrics) */
    es_time_t        measured_from, measured_to;   /* sends in [from, to] are in the window (ITL) */
} run_ctx_t;

/* ---- request pool ---- */

static live_req_t *req_alloc(run_ctx_t *c)
{
    if (!c->free_list) {
        live_req_t **ch = realloc(c->chunks, (c->nchunks + 1) * sizeof *ch);
        if (!ch) return NULL;
        c->chunks = ch;
        live_req_t *blk = calloc(POOL_CHUNK, sizeof *blk);
        if (!blk) return NULL;
        ch[c->nchunks++] = blk;
        for (size_t i = POOL_CHUNK; i-- > 0;) { blk[i].next = c->free_list; c->free_list = &blk[i]; }
    }
    live_req_t *r = c->free_list;
    c->free_list = r->next;
    memset(r, 0, sizeof *r);
    return r;
}

static void live_link(run_ctx_t *c, live_req_t *r)
{
    r->prev = NULL;
    r->next = c->live;
    if (c->live) c->live->prev = r;
    c->live = r;
}

/* ---- arrivals ---- */

static void ev_wake(es_sim_t *sim, void *target, uint64_t arg);

static void fail_run(run_ctx_t *c, int rc)
{
    if (!c->rc) c->rc = rc;
    es_sim_stop(c->sim);
}

static void maybe_stop(run_ctx_t *c)
{
    if (c->wl_finished && c->live == NULL && c->pending_done == 0) es_sim_stop(c->sim);
}

static void pump(run_ctx_t *c)
{
    es_time_t now = es_sim_now(c->sim);
    if (c->wl_finished) return;
    for (;;) {
        if (now >= c->arrivals_end) { c->wl_finished = true; break; }
        es_wl_request_t *w;
        int rc = es_workload_next(c->wl, now, &w, c->err);
        if (rc == 0) break;
        if (rc == -1) { c->wl_finished = true; break; }
        if (rc < -1) { fail_run(c, rc); return; }
        live_req_t *r = req_alloc(c);
        if (!r) { es_err_set(c->err, ES_ENOMEM, "out of memory"); fail_run(c, ES_ENOMEM); return; }
        r->wl = w;
        es_client_request_t *q = &r->cr;
        q->id = w->id;
        q->path = w->path;
        q->model = w->model;
        q->prompt = w->prompt;
        q->output_tokens = w->output_tokens;
        q->priority = w->priority;
        q->objective = w->objective;
        q->session = w->session;
        q->lora = w->lora;
        q->output_segment = w->output_segment;
        q->headers = w->headers;
        q->nheaders = w->nheaders;
        q->mm = w->mm;
        q->nmm = w->nmm;
        q->user = r;
        q->measured = now >= c->measured_from && now <= c->measured_to;   /* es_metrics_window's test */
        live_link(c, r);
        uint32_t hit = es_metrics_oracle_observe(c->m, &w->prompt, w->output_segment, w->output_tokens);
        r->oracle_tokens = hit;
        c->sent++;
        es_cluster_send(c->cl, q);
    }
    if (c->wl_finished) { maybe_stop(c); return; }
    es_time_t t = es_workload_next_time(c->wl);
    if (t == ES_TIME_NEVER) return;     /* waiting for completions */
    if (t < now) t = now;
    if (c->wake_ev && c->wake_at <= t) return;
    if (c->wake_ev) es_sim_cancel(c->sim, c->wake_ev);
    c->wake_at = t;
    c->wake_ev = es_sim_schedule(c->sim, t, ev_wake, c, 0);
}

static void ev_wake(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    run_ctx_t *c = target;
    c->wake_ev = 0;
    pump(c);
}

/* ---- completions ---- */

static void record_request(run_ctx_t *c, const live_req_t *r, int status)
{
    const es_client_request_t *q = &r->cr;
    es_req_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.id = q->id;
    rec.arrival = q->sent;
    rec.stage = r->wl->stage;
    rec.status = status;
    rec.pod = q->pod;
    rec.prompt_tokens = q->prompt.tokens;
    rec.output_tokens = status == 200 ? q->output_received : 0;
    rec.cached_tokens = q->cached_tokens;
    rec.est_matched = q->est_matched;
    rec.est_total = q->est_total;
    {
        /* tokens the EPP believed the pod holds, capped as a pod serves them
         * (and as the oracle counts): whole 16-token KV blocks before the
         * prompt's last token */
        uint64_t t = (uint64_t)q->est_matched * q->est_block_tokens;
        uint32_t cap = rec.prompt_tokens ? (rec.prompt_tokens - 1) / 16 * 16 : 0;
        rec.est_tokens = t < cap ? (uint32_t)t : cap;
    }
    rec.preemptions = q->preemptions;
    rec.oracle_tokens = r->oracle_tokens;
    rec.queue_ms = q->queue_wait >= 0 ? (float)es_time_to_ms(q->queue_wait) : -1.0f;
    rec.sched_ms = (float)es_time_to_ms(q->sched_latency);
    rec.ttft_ms = q->first_token >= 0 && status == 200 ? (float)es_time_to_ms(q->first_token - q->sent) : -1.0f;
    rec.e2e_ms = q->done >= 0 && status == 200 ? (float)es_time_to_ms(q->done - q->sent) : -1.0f;
    if (es_metrics_add_request(c->m, &rec)) { es_err_set(c->err, ES_ENOMEM, "out of memory"); fail_run(c, ES_ENOMEM); }
    if (c->requests_csv) {
        es_pod_info_t pi;
        const char *pod = NULL;
        if (rec.pod >= 0) { es_cluster_pod_info(c->cl, (uint32_t)rec.pod, &pi); pod = pi.name; }
        es_requests_csv_row(c->requests_csv, &rec, pod);
    }
    /* the three hit rates of an interval share a denominator: the prompt
     * tokens of the requests completed in it (as in summary.json) */
    if (status == 200) {
        c->iv.est_matched += rec.est_tokens;
        c->iv.oracle_hit += rec.oracle_tokens;
        c->iv.cached += rec.cached_tokens;
        c->iv.prompt += rec.prompt_tokens;
        c->iv.ttft_sum += rec.ttft_ms;
        c->iv.ttft_n++;
    }
    c->iv.done++;
    c->done++;
}

static void ev_client_done(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    live_req_t *r = target;
    run_ctx_t *c = (run_ctx_t *)(uintptr_t)r->prev;   /* stashed by on_done: r is off the live list */
    c->pending_done--;
    if (r->cr.status == 200 && r->cr.session_header)   /* the client keeps the session's token */
        es_workload_on_response_header(c->wl, r->wl, r->cr.session_header, r->cr.session_token);
    es_workload_on_complete(c->wl, r->wl, es_sim_now(sim), r->cr.status);
    es_workload_release(c->wl, r->wl);
    r->next = c->free_list;
    c->free_list = r;
    pump(c);
    maybe_stop(c);
}

static void on_done(void *ud, es_client_request_t *q)
{
    run_ctx_t *c = ud;
    live_req_t *r = q->user;
    /* off the live list now; the client sees the end at q->done */
    if (r->prev) r->prev->next = r->next; else c->live = r->next;
    if (r->next) r->next->prev = r->prev;
    r->prev = (live_req_t *)(uintptr_t)c;
    r->next = NULL;
    record_request(c, r, q->status);   /* now, so a time limit cannot lose it */
    c->pending_done++;
    es_time_t at = q->done > es_sim_now(c->sim) ? q->done : es_sim_now(c->sim);
    es_sim_schedule(c->sim, at, ev_client_done, r, 0);
}

static void on_gaps(void *ud, es_time_t t, es_time_t gap, uint32_t count, uint32_t measured)
{
    run_ctx_t *c = ud;
    es_metrics_add_gaps(c->m, gap, measured);
    if (c->stage_gaps && es_metrics_add_stage_gaps(c->m, es_workload_stage_at(c->wl, t), gap, count) < 0) {
        es_err_set(c->err, ES_ENOMEM, "out of memory");
        fail_run(c, ES_ENOMEM);
    }
}

/* The client's stamping (results.client over the workload's own). */
static bool client_emul(const es_experiment_t *exp, const es_workload_t *wl, double timeout_s, es_client_emul_t *e)
{
    const es_client_config_t *cc = &exp->results.client;
    bool streaming = true;
    uint32_t k = 1, trail = 0;
    bool bench = es_workload_client_stamps(wl, &streaming, &k, &trail);
    if (cc->metrics == 2 || (cc->metrics == 0 && !bench)) return false;
    e->name = bench ? es_workload_client(wl) : "a streaming client (one stamp per token)";
    e->streaming = streaming;
    e->timestamps_per_token = cc->timestamps_per_token > 0 ? (uint32_t)cc->timestamps_per_token : k;
    e->trailing = cc->trailing_timestamps >= 0 ? (uint32_t)cc->trailing_timestamps : trail;
    e->event_gap_ms = cc->event_gap_us / 1e3;
    e->output_count_scale = cc->output_count_scale;
    e->timeout_ms = timeout_s * 1e3;
    return true;
}

/* ---- decision records (explain --from-run) ---- */

static void on_decision(void *ud, uint32_t replica, const es_sched_request_t *req, const es_endpoint_t *cand,
                        size_t n, const int64_t (*inflight)[2], es_time_t now, const es_sched_result_t *res,
                        const es_flow_note_t *flow)
{
    run_ctx_t *c = ud;
    FILE *f = c->decisions;
    if (!f) return;
    uint64_t seed = es_rng_epp_seed(c->exp->seed, replica);
    /* the replica's seed is a full 64-bit value: a string, so JSON readers keep it exact */
    fprintf(f, "{\"request_id\": %llu, \"replica\": %u, \"seed\": \"%llu\", \"now_ms\": %.6f, %s\"endpoints\": [",
            (unsigned long long)req->id, replica, (unsigned long long)seed, es_time_to_ms(now),
            flow && flow->arrival ? "\"event\": \"arrival\", " : "");
    for (size_t i = 0; i < n; i++) {
        const es_endpoint_t *e = &cand[i];
        const es_endpoint_metrics_t *m = &e->metrics;
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        es_json_write_string(f, e->name);
        fputs(", \"address\": ", f);
        es_json_write_string(f, e->address);
        fputs(", \"labels\": {", f);
        for (uint32_t k = 0; k < e->nlabels; k++) {
            fputs(k ? ", " : "", f);
            es_json_write_string(f, e->labels[k].key);
            fputs(": ", f);
            es_json_write_string(f, e->labels[k].value);
        }
        fprintf(f, "}, \"metrics\": {\"waiting\": %d, \"running\": %d, \"kv_cache_usage\": %.9g, "
                   "\"cache_block_size\": %u, \"num_gpu_blocks\": %u, \"age_ms\": %.6f, \"lora\": {\"active\": [",
                m->waiting, m->running, m->kv_cache_usage, m->block_size, m->num_gpu_blocks,
                m->update_time >= 0 ? es_time_to_ms(now - m->update_time) : 1e12);
        for (uint32_t k = 0; k < m->n_running_lora; k++) { fputs(k ? ", " : "", f); es_json_write_string(f, m->running_lora[k]); }
        fputs("], \"waiting\": [", f);
        for (uint32_t k = 0; k < m->n_waiting_lora; k++) { fputs(k ? ", " : "", f); es_json_write_string(f, m->waiting_lora[k]); }
        fprintf(f, "], \"max\": %d}}, \"inflight\": {\"requests\": %lld, \"tokens\": %lld}}", m->max_lora,
                (long long)inflight[i][0], (long long)inflight[i][1]);
    }
    fputs("], \"request\": {\"model\": ", f);
    es_json_write_string(f, req->model);
    fprintf(f, ", \"priority\": %d, \"content\": [", req->priority);
    for (uint32_t k = 0; k < req->content.nsegs; k++)
        fprintf(f, "%s[\"%llu\", %u]", k ? ", " : "", (unsigned long long)req->content.segs[k].id, req->content.segs[k].len);
    if (req->nmm) {   /* images: [id, tokens] (written only when present) */
        fputs("], \"images\": [", f);
        for (uint32_t k = 0; k < req->nmm; k++)
            fprintf(f, "%s[\"%llu\", %u]", k ? ", " : "", (unsigned long long)req->mm[k].hash, req->mm[k].tokens);
    }
    fputs("], \"headers\": {", f);
    for (uint32_t k = 0; k < req->nheaders; k++) {
        fputs(k ? ", " : "", f);
        es_json_write_string(f, req->headers[k].name);
        fputs(": ", f);
        es_json_write_string(f, req->headers[k].value);
    }
    if (flow && req->body_bytes) fprintf(f, "}, \"body_bytes\": %u", req->body_bytes);   /* flow control's size */
    else fputs("}", f);
    if (flow && flow->arrival) {   /* the queues it finds: bands [priority, round-robin's last flow], queued [id, enqueued] */
        fputs("}, \"flow\": {\"bands\": [", f);
        for (size_t k = 0; k < flow->nbands; k++) {
            fprintf(f, "%s[%lld, ", k ? ", " : "", (long long)flow->bands[k].priority);
            if (flow->bands[k].last_flow) es_json_write_string(f, flow->bands[k].last_flow);
            else fputs("null", f);
            fputs("]", f);
        }
        fputs("], \"queued\": [", f);
        for (size_t k = 0; k < flow->nqueued; k++)
            fprintf(f, "%s[%llu, %.6f]", k ? ", " : "", (unsigned long long)flow->queued[k].id,
                    es_time_to_ms(flow->queued[k].enq));
        fputs("]}}\n", f);
        return;
    }
    fprintf(f, "}, \"outcome\": %d, \"picked\": [", res->status);
    if (res->status == 200) {
        for (uint32_t k = 0; k < res->ntargets; k++) {
            fputs(k ? ", " : "", f);
            for (size_t i = 0; i < n; i++) if (cand[i].id == res->targets[k]) es_json_write_string(f, cand[i].name);
        }
        if (res->prefill >= 0)
            for (size_t i = 0; i < n; i++) if (cand[i].id == (uint32_t)res->prefill) { fputs(", ", f); es_json_write_string(f, cand[i].name); }
    }
    if (res->status == 200 && res->nencode) {   /* E/P/D: the encode picks (only when present) */
        fputs("], \"encode\": [", f);
        for (uint32_t k = 0; k < res->nencode; k++) {
            fputs(k ? ", " : "", f);
            for (size_t i = 0; i < n; i++) if (cand[i].id == res->encode[k]) es_json_write_string(f, cand[i].name);
        }
    }
    if (res->status == 200 && res->kv_source >= 0)   /* p2p-source-producer's x-kv-cache-source-host-port */
        for (size_t i = 0; i < n; i++)
            if (cand[i].id == (uint32_t)res->kv_source) {
                fputs("], \"kv_source\": [", f);
                es_json_write_string(f, cand[i].name);
            }
    fputs("]", f);
    if (flow && flow->at_arrival) fprintf(f, ", \"flow_at_arrival\": \"%s\"", flow->at_arrival);
    fputs("}\n", f);
}

/* ---- time series ---- */

static void ratio(FILE *f, uint64_t a, uint64_t b)
{
    if (b) fprintf(f, ",%.6f", (double)a / (double)b);
    else fputs(",", f);
}

/* Per-pod counters of the last sample, grown when scaling adds pods. */
static int grow_pod_slots(run_ctx_t *c, uint32_t n)
{
    uint64_t *h = realloc(c->pod_hits, n * sizeof *h);
    if (h) c->pod_hits = h;
    uint64_t *q = realloc(c->pod_queries, n * sizeof *q);
    if (q) c->pod_queries = q;
    if (!h || !q) { es_err_set(c->err, ES_ENOMEM, "out of memory"); fail_run(c, ES_ENOMEM); return ES_ENOMEM; }
    memset(h + c->npod_slots, 0, (n - c->npod_slots) * sizeof *h);
    memset(q + c->npod_slots, 0, (n - c->npod_slots) * sizeof *q);
    c->npod_slots = n;
    return 0;
}

static void sample(run_ctx_t *c)
{
    if (!c->timeseries) { memset(&c->iv, 0, sizeof c->iv); return; }   /* a run that writes nothing */
    double t = es_time_to_s(es_sim_now(c->sim));
    uint32_t n = es_cluster_pod_count(c->cl);
    if (n > c->npod_slots && grow_pod_slots(c, n)) return;
    for (uint32_t i = 0; i < n; i++) {
        es_pod_info_t pi;
        es_cluster_pod_info(c->cl, i, &pi);
        uint64_t dh = pi.now.prefix_hits - c->pod_hits[i], dq = pi.now.prefix_queries - c->pod_queries[i];
        c->pod_hits[i] = pi.now.prefix_hits;
        c->pod_queries[i] = pi.now.prefix_queries;
        fprintf(c->timeseries, "%.3f,%s,%d,%d,%.6f", t, pi.name, pi.now.waiting, pi.now.running, pi.now.kv_cache_usage);
        ratio(c->timeseries, dh, dq);
        fputs(",,,,,\n", c->timeseries);
    }
    /* pod = all: hit_rate is the actual one, then the three side by side */
    fprintf(c->timeseries, "%.3f,all,,,", t);
    ratio(c->timeseries, c->iv.cached, c->iv.prompt);
    ratio(c->timeseries, c->iv.est_matched, c->iv.prompt);
    ratio(c->timeseries, c->iv.cached, c->iv.prompt);
    ratio(c->timeseries, c->iv.oracle_hit, c->iv.prompt);
    fprintf(c->timeseries, ",%llu,", (unsigned long long)c->iv.done);
    if (c->iv.ttft_n) fprintf(c->timeseries, "%.3f\n", c->iv.ttft_sum / (double)c->iv.ttft_n);
    else fputs("\n", c->timeseries);
    memset(&c->iv, 0, sizeof c->iv);
}

static void ev_sample(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)arg;
    run_ctx_t *c = target;
    sample(c);
    if (!(c->wl_finished && c->live == NULL && c->pending_done == 0))
        es_sim_schedule_in(sim, es_time_from_ms(c->exp->results.timeseries_interval_ms), ev_sample, c, 0);
}

/* ---- outputs ---- */

/* Closes a streamed output, its bytes on disk (a full disk fails here, not
 * after the commit); nonzero on any write error.  A file never opened (the
 * run writes no time series) closes cleanly. */
static int close_synced(FILE *f)
{
    if (!f) return 0;
    int bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
    return (fclose(f) != 0) | bad;
}

static int epp_config_yaml(const es_epp_config_t *cfg, const char *path, es_err_t *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return es_err_set(err, ES_ENOMEM, "out of memory");
    es_epp_config_write_yaml(f, cfg);
    if (fclose(f)) { free(text); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    int rc = es_write_file_atomic(path, text, len, err);
    free(text);
    return rc;
}

/* The absolute path of a file the experiment names, so experiment.yaml
 * reloads from any directory; NULL (keep the text) when empty or missing.
 * `resolved`: the loader already put it relative to the experiment's folder. */
static char *abs_input(const es_experiment_t *exp, const char *p, bool resolved)
{
    if (!p || !*p) return NULL;
    char buf[4096];
    return realpath(resolved ? p : es_experiment_path(exp, p, buf, sizeof buf), NULL);
}

char *es_run_experiment_yaml(const es_experiment_t *exp, size_t *len)
{
    /* a copy whose file names are absolute (the strings are borrowed but
     * the replaced ones, freed below) */
    es_experiment_t e = *exp;
    char **fields[] = {&e.server.gpu_datasheet, &e.server.step_coefficients, &e.server.model,
                       &e.server.vllm_config, &e.epp.config_file, &e.workload.trace.file,
                       &e.workload.lengths.input.file, &e.workload.lengths.output.file};
    enum { NFIELDS = sizeof fields / sizeof fields[0] };
    char *abs[NFIELDS] = {0};
    for (size_t i = 0; i < NFIELDS; i++) {
        if (fields[i] == &e.server.model && !es_model_is_path(e.server.model)) continue;
        bool resolved = i < 3;   /* resolve_paths in experiment.c did these */
        if ((abs[i] = abs_input(exp, *fields[i], resolved))) *fields[i] = abs[i];
    }
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (f) {
        fprintf(f, "# the experiment as run: every default filled in (eppsim config); file names absolute\n");
        es_schema_write_yaml(f, &es_experiment_schema, &e, 0);
    }
    for (size_t i = 0; i < NFIELDS; i++) free(abs[i]);
    if (!f) return NULL;
    if (fclose(f)) { free(text); return NULL; }
    if (len) *len = n;
    return text;
}

static int experiment_yaml(const es_experiment_t *exp, const char *path, es_err_t *err)
{
    size_t len;
    char *text = es_run_experiment_yaml(exp, &len);
    if (!text) return es_err_set(err, ES_ENOMEM, "out of memory");
    int rc = es_write_file_atomic(path, text, len, err);
    free(text);
    return rc;
}

/* Whether an executable `name` is on PATH (searched here: no shell). */
static bool on_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/bin:/bin";
    for (const char *p = path; *p;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char full[4096];
        if (n && n + strlen(name) + 2 <= sizeof full) {
            memcpy(full, p, n);
            snprintf(full + n, sizeof full - n, "/%s", name);
            if (access(full, X_OK) == 0) return true;
        }
        if (!e) break;
        p = e + 1;
    }
    return false;
}

/* Draws the plots with scripts/plot-run DIR: spawned with an argument vector
 * (no shell sees the run's name or path; the script passes them to gnuplot as
 * string arguments, never as code).  Returns ES_EINTR when a signal arrived
 * meanwhile (the caller then writes nothing), else 0: a plot that fails is a
 * warning, the data files are complete. */
int es_run_plots(const char *dir, bool quiet, volatile sig_atomic_t *interrupted, es_err_t *err)
{
    char script[1024];
    snprintf(script, sizeof script, "%s/scripts/plot-run", ES_SOURCE_DIR);
    if (access(script, X_OK) != 0) return 0;
    if (!on_path("gnuplot")) {
        fprintf(stderr, "eppsim: warning: gnuplot not found; plots skipped (all data files are written).\n"
                        "eppsim: install it with: apt-get install gnuplot-nox\n");
        return 0;
    }
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa)) return 0;
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (quiet) posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    /* its own process group, so an interrupt can stop gnuplot with it */
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&at, 0);
    char *const argv[] = {script, (char *)dir, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, script, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    int status = 0;
    bool killed = false;
    if (rc == 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            if (interrupted && *interrupted && !killed) { kill(-pid, SIGTERM); killed = true; }
    if (interrupted && *interrupted) return es_err_set(err, ES_EINTR, "interrupted");
    if (!quiet && (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
        fprintf(stderr, "eppsim: warning: plotting failed (%s %d); data files are complete\n",
                rc ? "spawn error" : WIFEXITED(status) ? "exit" : "signal",
                rc ? rc : WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return 0;
}

/* report.md: the numbers and the plots on one page (no wall-clock values).
 * The numbers are summary.json's, printed as the terminal prints them; a
 * plot is linked only when its file is in `dir`. */
static int write_report(const es_experiment_t *exp, const cJSON *summary, const char *dir, const char *path,
                        es_err_t *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return es_err_set(err, ES_ENOMEM, "out of memory");
    fprintf(f, "# eppsim run: %s (seed %llu)\n\n", exp->name, (unsigned long long)exp->seed);
    const cJSON *end = es_json_find(summary, "sim.end_s");
    fprintf(f, "%lld pods of %s on %s (TP %lld), %lld EPP replica(s), scrape every %g ms; %.1f s simulated.\n\n",
            (long long)exp->cluster.replicas, exp->server.model, exp->server.gpu, (long long)exp->server.tensor_parallel,
            (long long)exp->epp.replicas, exp->epp.refresh_interval_ms, cJSON_IsNumber(end) ? end->valuedouble : 0.0);
    fputs("```\n", f);
    es_summary_print(f, summary);
    fputs("```\n", f);
    fprintf(f, "\nAll numbers, with confidence intervals and per-stage blocks: `summary.json` "
               "(definitions in eppsim's docs/results.md).  Per request: `requests.csv`.\n\n");
    static const char *const plots[][2] = {
        {"latency_cdf", "TTFT and E2E distributions at the client"},
        {"ttft_over_time", "TTFT of each request over the run"},
        {"hit_rates", "the three prefix-cache hit rates over time"},
        {"pod_waiting", "waiting queue per pod"},
        {"pod_kv_usage", "KV-cache usage per pod"},
        {"pod_share", "requests per pod"},
    };
    for (size_t i = 0; i < sizeof plots / sizeof plots[0]; i++) {
        char png[1400];
        snprintf(png, sizeof png, "%s/plots/%s.png", dir, plots[i][0]);
        if (access(png, F_OK) == 0) fprintf(f, "## %s\n\n![%s](plots/%s.png)\n\n", plots[i][1], plots[i][1], plots[i][0]);
    }
    if (fclose(f)) { free(text); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    int rc = es_write_file_atomic(path, text, len, err);
    free(text);
    return rc;
}

void es_run_default_dir(const es_experiment_t *exp, char *buf, size_t size)
{
    snprintf(buf, size, "out/%s-seed%llu", exp->name, (unsigned long long)exp->seed);
}

static int load_picker_quiet(const es_experiment_t *exp, es_epp_config_t **out, es_err_t *err)
{
    if (exp->epp.config) return es_epp_config_load_node(exp->epp.config, out, err);
    if (exp->epp.config_file && exp->epp.config_file[0]) {
        char path[1200];
        es_experiment_path(exp, exp->epp.config_file, path, sizeof path);
        return es_epp_config_load_file(path, out, err);
    }
    return es_epp_config_default(out, err);
}

/* Loads the EndpointPickerConfig and prints its load warnings (deprecations,
 * plugins without effect in a simulation) to stderr, as upstream logs them. */
static int load_picker(const es_experiment_t *exp, es_epp_config_t **out, es_err_t *err)
{
    int rc = load_picker_quiet(exp, out, err);
    for (size_t i = 0; !rc && es_epp_config_warning(*out, i); i++)
        fprintf(stderr, "eppsim: warning: %s\n", es_epp_config_warning(*out, i));
    return rc;
}

int es_run_check_stability(const es_experiment_t *exp, es_err_t *err)
{
    es_epp_config_t *picker = NULL;
    int rc = load_picker_quiet(exp, &picker, err);
    if (!rc) rc = es_epp_config_check_stability(picker, err);
    es_epp_config_destroy(picker);
    return rc;
}

static double now_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One simulation of exp.  Requests sent in [warm-up, measured_to] are
 * `measured` (their gaps make the ITL); *window_end, when asked, gets the
 * measured window's end as es_metrics_window finds it. */
static int run_pass(const es_experiment_t *exp, const es_run_options_t *opt, es_run_report_t *rep, es_err_t *err,
                    es_time_t measured_to, es_time_t *window_end)
{
    run_ctx_t c;
    memset(&c, 0, sizeof c);
    c.exp = exp;
    c.opt = opt;
    c.err = err;
    c.measured_from = es_time_from_s(exp->results.warmup_s);
    c.measured_to = measured_to;
    c.arrivals_end = exp->duration_s > 0 ? es_time_from_s(exp->duration_s) : ES_TIME_NEVER;
    double wall0 = now_wall();
    es_epp_config_t *picker = NULL;
    cJSON *summary = NULL;
    es_outdir_t od;
    bool od_open = false;
    /* the first of two passes is quiet: its warnings are the second's */
    int rc = window_end ? load_picker_quiet(exp, &picker, err) : load_picker(exp, &picker, err);
    if (rc) return rc;
    bool write = opt->out_dir != NULL;
    if (write) {
        if ((rc = es_outdir_begin(&od, opt->out_dir, opt->force, err))) goto done;
        od_open = true;
    }
    c.sim = es_sim_create(exp->seed);
    if (!c.sim) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto done; }
    if ((rc = es_workload_create(&exp->workload, exp->base_dir, exp->seed, &c.wl, err))) {
        /* a trace that cannot be opened: say which line of the experiment names it */
        const es_node_t *f = exp->doc && exp->doc->root ? es_node_find(exp->doc->root, "workload.trace.file") : NULL;
        if (f && f->doc && (strstr(err->msg, "cannot open trace") || strstr(err->msg, "not a regular file"))) {
            char msg[ES_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            es_err_set(err, rc, "%s:%u: workload.trace.file: %s", f->doc->file, f->line, msg);
        }
        goto done;
    }
    es_client_emul_t emul;
    memset(&emul, 0, sizeof emul);
    c.m = es_metrics_create(&exp->results, exp->results.oracle, 16);
    if (!c.m) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto done; }
    /* pods are <pool>-<i>: the InferencePool's name from manifests, else vllm-<model> */
    char pool[128];
    snprintf(pool, sizeof pool, "vllm-%s", exp->server.model);
    /* a benchmark client's own timeout applies unless the gateway section sets one */
    es_gateway_config_t gateway = exp->gateway;
    if (gateway.client_timeout_s <= 0) gateway.client_timeout_s = es_workload_client_timeout_s(c.wl);
    /* inference-perf and vllm bench time out through aiohttp */
    if (gateway.client_timeout_clock == ES_TIMEOUT_CLOCK_AUTO)
        gateway.client_timeout_clock = es_workload_client_timeout_s(c.wl) > 0 ? ES_TIMEOUT_CLOCK_AIOHTTP
                                                                             : ES_TIMEOUT_CLOCK_EXACT;
    bool use_client = client_emul(exp, c.wl, gateway.client_timeout_s, &emul);
    emul.timeout_whole_s = gateway.client_timeout_clock == ES_TIMEOUT_CLOCK_AIOHTTP && gateway.client_timeout_s >= 5;
    c.stage_gaps = use_client;
    if (opt->progress)
        for (size_t i = 0; i < es_workload_warning_count(c.wl); i++)
            fprintf(stderr, "eppsim: warning: %s\n", es_workload_warning(c.wl, i));
    es_cluster_params_t prm = {&exp->server, &exp->cluster, &exp->epp, &gateway, picker,
                               opt->pool_name ? opt->pool_name : pool};
    es_cluster_hooks_t hooks = {&c, on_done, on_gaps, opt->record_decisions ? on_decision : NULL};
    if ((rc = es_cluster_create(c.sim, &prm, &hooks, &c.cl, err))) goto done;

    char path[1400];
    if (write && exp->results.requests_csv) {
        c.requests_csv = fopen(es_outdir_file(&od, "requests.csv", path, sizeof path), "w");
        if (!c.requests_csv) { rc = es_err_set(err, ES_EIO, "%s: cannot write", path); goto done; }
        es_requests_csv_header(c.requests_csv);
    }
    if (write && opt->record_decisions) {
        c.decisions = fopen(es_outdir_file(&od, "decisions.jsonl", path, sizeof path), "w");
        if (!c.decisions) { rc = es_err_set(err, ES_EIO, "%s: cannot write", path); goto done; }
    }
    if (write) c.timeseries = fopen(es_outdir_file(&od, "timeseries.csv", path, sizeof path), "w");
    if (write && !c.timeseries) { rc = es_err_set(err, ES_EIO, "%s: cannot write", path); goto done; }
    if (write) fputs("time_s,pod,waiting,running,kv_cache_usage,hit_rate,estimated_hit_rate,actual_hit_rate,oracle_hit_rate,"
          "requests_done,ttft_mean_ms\n", c.timeseries);
    if (grow_pod_slots(&c, es_cluster_pod_count(c.cl) + 1)) { rc = ES_ENOMEM; goto done; }

    es_sim_schedule(c.sim, 0, ev_wake, &c, 0);
    es_sim_schedule(c.sim, es_time_from_ms(exp->results.timeseries_interval_ms), ev_sample, &c, 0);

    /* run in slices of simulated time: progress and interruption between them */
    es_time_t limit = exp->duration_s > 0 ? es_time_from_s(exp->duration_s) : ES_TIME_NEVER;
    double last_print = wall0;
    bool tty = opt->progress && isatty(2);
    es_sim_watch(c.sim, opt->interrupted);
    for (;;) {
        /* slices of 200 ms; slices without an event are skipped at once (the
         * clock ends where running them one by one would leave it) */
        es_time_t now = es_sim_now(c.sim), next = es_sim_next_time(c.sim), step = 200 * ES_MS;
        es_time_t k = next != ES_TIME_NEVER && next - now > step ? (next - now) / step : 1;
        es_time_t until = now > ES_TIME_NEVER - k * step ? ES_TIME_NEVER : now + k * step;
        if (until > limit) until = limit;
        es_sim_run(c.sim, until);
        if (c.rc) { rc = c.rc; goto done; }
        if (opt->interrupted && *opt->interrupted) { rc = ES_EINTR; es_err_set(err, ES_EINTR, "interrupted"); goto done; }
        bool finished = c.wl_finished && c.live == NULL && c.pending_done == 0;
        if (finished || es_sim_now(c.sim) >= limit || es_sim_next_time(c.sim) == ES_TIME_NEVER) break;
        double w = now_wall();
        if (tty && w - last_print > 0.25) {
            last_print = w;
            fprintf(stderr, "\r  sim %8.1f s | %llu sent, %llu done, %llu in flight | %.0f req/s wall   ",
                    es_time_to_s(es_sim_now(c.sim)), (unsigned long long)c.sent, (unsigned long long)c.done,
                    (unsigned long long)es_cluster_in_flight(c.cl), (double)c.done / (w - wall0));
        }
    }
    if (tty && now_wall() - wall0 > 0.25) fprintf(stderr, "\r%100s\r", "");
    es_cluster_sync(c.cl);   /* fast-forwarded pods report the gaps of steps ended by now */
    /* the time limit hit: requests still in flight end with status 0 */
    while (c.live) {
        live_req_t *r = c.live;
        c.live = r->next;
        if (c.live) c.live->prev = NULL;
        record_request(&c, r, 0);
    }
    sample(&c);
    {
        es_time_t from, to;
        es_metrics_window(c.m, &from, &to);
        if (window_end) *window_end = to;
        /* the same inputs give the same run: the first pass found this end */
        ES_ASSERT(measured_to == ES_TIME_NEVER || measured_to == to, "the two passes of a run differ");
    }
    if (c.requests_csv) { if (close_synced(c.requests_csv)) { c.requests_csv = NULL; rc = es_err_set(err, ES_EIO, "requests.csv: write failed"); goto done; } c.requests_csv = NULL; }
    if (c.decisions) {
        int bad = close_synced(c.decisions);
        c.decisions = NULL;
        if (bad) { rc = es_err_set(err, ES_EIO, "decisions.jsonl: write failed"); goto done; }
    }
    if (c.timeseries && close_synced(c.timeseries)) { c.timeseries = NULL; rc = es_err_set(err, ES_EIO, "timeseries.csv: write failed"); goto done; }
    c.timeseries = NULL;

    /* summary, pods */
    uint32_t npods = es_cluster_pod_count(c.cl);
    es_summary_pod_t *pods = calloc(npods ? npods : 1, sizeof *pods);
    size_t nst = es_workload_stage_count(c.wl);
    es_summary_stage_t *stages = calloc(nst ? nst : 1, sizeof *stages);
    if (!pods || !stages) { free(pods); free(stages); rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto done; }
    for (uint32_t i = 0; i < npods; i++) {
        es_pod_info_t pi;
        es_cluster_pod_info(c.cl, i, &pi);
        pods[i] = (es_summary_pod_t){pi.name, pi.role, pi.requests, pi.now.prefix_queries, pi.now.prefix_hits,
                                     pi.stats.preemptions, pi.stats.steps, pi.stats.busy};
    }
    for (size_t i = 0; i < nst; i++) es_workload_stage(c.wl, i, &stages[i].rate, &stages[i].start, &stages[i].end);
    if (opt->on_finish) {
        es_time_t (*spans)[2] = calloc(nst ? nst : 1, sizeof *spans);
        if (!spans) { free(pods); free(stages); rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto done; }
        for (size_t i = 0; i < nst; i++) { spans[i][0] = stages[i].start; spans[i][1] = stages[i].end; }
        opt->on_finish(opt->finish_ud, c.m, (const es_time_t (*)[2])spans, nst, use_client ? &emul : NULL);
        free(spans);
    }
    if (!write) {
        free(pods);
        free(stages);
        rc = 0;
        goto done;
    }
    const es_profile_t *prof = es_cluster_profile(c.cl);
    const es_profile_model_t *pm = es_profile_model(prof, exp->server.model);
    int step_kind = pm ? es_steptime_resolve(exp->server.step_model, pm) : ES_STEP_PROFILE;
    es_summary_input_t in = {.experiment = exp->name, .seed = exp->seed, .rng = ES_RNG_NAME,
                             .sim_end = es_sim_now(c.sim), .events = es_sim_events_run(c.sim), .pods = pods,
                             .npods = npods, .stages = stages, .nstages = nst,
                             .slo_ttft_ms = exp->results.slo_ttft_ms, .slo_tpot_ms = exp->results.slo_tpot_ms,
                             .skipped_lines = es_workload_skipped_lines(c.wl), .client = use_client ? &emul : NULL,
                             .step_model = step_kind == ES_STEP_PROFILE ? NULL : es_steptime_kind_name(step_kind),
                             .model_source = exp->server.model, .gpu = exp->server.gpu,
                             .coefficients = step_kind == ES_STEP_ANALYTIC ? prof->coeffs.file : NULL};
    if (npods > 0) {
        es_pod_info_t pi;
        es_cluster_pod_info(c.cl, 0, &pi);
        in.kv_rule = pi.kv_derived ? "vllm" : exp->server.num_gpu_blocks > 0 ? "given" : "eppsim";
        in.kv_blocks = pi.now.num_gpu_blocks;
        in.kv_block_size = pi.now.block_size;
        if (pi.kv_derived) {
            const es_kvmem_t *k = &pi.kv_mem;
            double peak = k->activation_peak > k->sampler_peak ? k->activation_peak : k->sampler_peak;
            in.kv_weights_gib = k->weights / ES_GIB;
            in.kv_peak_gib = peak / ES_GIB;
            in.kv_non_torch_gib = k->non_torch / ES_GIB;
            in.kv_gib = k->available / ES_GIB;
        }
    }
    es_sched_predictor_stats_t ps;
    es_cluster_predictor_stats(c.cl, &ps);
    if (ps.present) {
        in.predictor = true;
        in.pred_ttft_mape_pct = ps.ttft_n ? 100.0 * ps.ttft_ape_sum / (double)ps.ttft_n : NAN;
        in.pred_tpot_mape_pct = ps.tpot_n ? 100.0 * ps.tpot_ape_sum / (double)ps.tpot_n : NAN;
        in.pred_ttft_n = ps.ttft_n;
        in.pred_tpot_n = ps.tpot_n;
        in.pred_retrains = ps.retrains;
        in.pred_samples_ttft = ps.samples_ttft;
        in.pred_samples_tpot = ps.samples_tpot;
    }
    in.evicting = es_cluster_evictions(c.cl, &in.evictions);
    summary = es_summary_build(c.m, &in);
    if (!summary) rc = es_err_set(err, ES_ENOMEM, "out of memory");
    if (!rc) rc = es_summary_write_json(es_outdir_file(&od, "summary.json", path, sizeof path), summary, err);
    if (!rc) rc = es_pods_csv_write(es_outdir_file(&od, "pods.csv", path, sizeof path), &in, err);
    if (!rc && opt->inference_perf) rc = es_run_write_inference_perf(exp, c.m, stages, nst, use_client ? &emul : NULL, od.tmp, err);
    free(pods);
    free(stages);
    if (rc) goto done;
    if ((rc = experiment_yaml(exp, es_outdir_file(&od, "experiment.yaml", path, sizeof path), err))) goto done;
    if ((rc = epp_config_yaml(picker, es_outdir_file(&od, "epp-config.yaml", path, sizeof path), err))) goto done;

    if (rep) {
        memset(rep, 0, sizeof *rep);
        snprintf(rep->step_model, sizeof rep->step_model, "%s (%s on %s%s%s)", es_steptime_kind_name(step_kind),
                 exp->server.model, exp->server.gpu, step_kind == ES_STEP_ANALYTIC ? "; coefficients " : "",
                 step_kind == ES_STEP_ANALYTIC ? prof->coeffs.file : "");
        rep->requests = es_metrics_count(c.m);
        const es_req_record_t *recs = es_metrics_records(c.m);
        for (size_t i = 0; i < rep->requests; i++) rep->completed += recs[i].status == 200;
        rep->sim_s = es_time_to_s(es_sim_now(c.sim));
        rep->events = es_sim_events_run(c.sim);
        es_lat_stats_t s;
        es_metrics_latency(c.m, ES_LAT_TTFT, ES_ALL_STAGES, &s);
        rep->ttft_p50_ms = s.p[ES_P50]; rep->ttft_p99_ms = s.p[ES_P99];
        es_metrics_latency(c.m, ES_LAT_E2E, ES_ALL_STAGES, &s);
        rep->e2e_p50_ms = s.p[ES_P50]; rep->e2e_p99_ms = s.p[ES_P99];
        es_metrics_latency(c.m, ES_LAT_TPOT, ES_ALL_STAGES, &s);
        rep->tpot_p50_ms = s.p[ES_P50];
        es_metrics_itl(c.m, &s);
        rep->itl_p50_ms = s.p[ES_P50];
        /* summary.json's figures: one window everywhere */
        const cJSON *v;
        rep->est_hit = cJSON_IsNumber(v = es_json_find(summary, "prefix_cache.estimated_hit_rate")) ? v->valuedouble : NAN;
        rep->act_hit = cJSON_IsNumber(v = es_json_find(summary, "prefix_cache.actual_hit_rate")) ? v->valuedouble : NAN;
        rep->oracle_hit = cJSON_IsNumber(v = es_json_find(summary, "prefix_cache.oracle_hit_rate")) ? v->valuedouble : NAN;
    }
    /* run-info.json: the only file with wall-clock values */
    {
        double wall = now_wall() - wall0;
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        char info[2048];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        char when[64];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        int n = snprintf(info, sizeof info,
                         "{\n  \"eppsim_version\": \"%s\",\n  \"finished_at\": \"%s\",\n  \"host\": \"%s\",\n"
                         "  \"wall_s\": %.3f,\n  \"events\": %llu,\n  \"simulated_requests_per_wall_s\": %.1f\n}\n",
                         ES_VERSION, when, host, wall, (unsigned long long)es_sim_events_run(c.sim),
                         wall > 0 ? (double)es_metrics_count(c.m) / wall : 0.0);
        if ((rc = es_write_file_atomic(es_outdir_file(&od, "run-info.json", path, sizeof path), info, (size_t)n, err)))
            goto done;
        if (rep) rep->wall_s = wall;
    }
    if (opt->plots && exp->results.plots && (rc = es_run_plots(od.tmp, !opt->progress, opt->interrupted, err))) goto done;
    if ((rc = write_report(exp, summary, od.tmp, es_outdir_file(&od, "report.md", path, sizeof path), err))) goto done;
    rc = es_outdir_commit(&od, err);
    od_open = rc != 0;
done:
    if (c.requests_csv) fclose(c.requests_csv);
    if (c.timeseries) fclose(c.timeseries);
    if (c.decisions) fclose(c.decisions);
    if (od_open) es_outdir_abort(&od);
    /* release requests still held (error paths) */
    es_cluster_destroy(c.cl);
    es_workload_destroy(c.wl);
    es_metrics_destroy(c.m);
    es_sim_destroy(c.sim);
    for (size_t i = 0; i < c.nchunks; i++) free(c.chunks[i]);
    free(c.chunks);
    free(c.pod_hits);
    free(c.pod_queries);
    es_epp_config_destroy(picker);
    cJSON_Delete(summary);
    return rc;
}

int es_run_experiment(const es_experiment_t *exp, const es_run_options_t *opt, es_run_report_t *rep, es_err_t *err)
{
    if (exp->results.cooldown_s <= 0) return run_pass(exp, opt, rep, err, ES_TIME_NEVER, NULL);
    /* The window ends cooldown_s before the last arrival, known only at
     * the end, while a token gap must be counted (or not) when it happens:
     * a first pass, writing nothing, finds the end; the second flags the
     * window's requests as they are sent.  Runs are deterministic, so both
     * passes are the same run. */
    es_run_options_t first = {.interrupted = opt->interrupted, .pool_name = opt->pool_name,
                              .record_decisions = opt->record_decisions};
    es_time_t end;
    int rc = run_pass(exp, &first, NULL, err, ES_TIME_NEVER, &end);
    if (rc) return rc;
    return run_pass(exp, opt, rep, err, end, NULL);
}
