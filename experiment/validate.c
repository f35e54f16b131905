/*
 * validate.c -- real runs -> in-memory experiments -> simulated figures.
 */
#define _GNU_SOURCE   /* open_memstream */
#include "es_validate.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>

#include "es_paths.h"
#include "es_str.h"
#include "es_client_metrics.h"
#include "es_metrics.h"
#include "es_outdir.h"
#include "es_run.h"
#include "es_server.h"
#include "es_steptime.h"
#include "es_summary.h"
#include "es_sweep.h"
#include "es_vllm_args.h"
#include "es_util.h"

const char *const es_vf_names[ES_VF_N] = {
    "e2e_mean_ms",  "e2e_p50_ms",  "e2e_p90_ms",  "e2e_p99_ms",  "ttft_mean_ms", "ttft_p50_ms", "ttft_p90_ms",
    "ttft_p99_ms",  "per_token_ms", "itl_mean_ms", "itl_p50_ms", "itl_p99_ms",  "tpot_mean_ms", "tpot_p50_ms",
    "tpot_p99_ms",  "throughput_rps", "output_tokens_per_s", "successes", "failures"};

void es_val_figs_clear(es_val_figs_t *f)
{
    for (int i = 0; i < ES_VF_N; i++) f->v[i] = NAN;
}

void es_val_figs_from_lc(const es_lc_stats_t *s, es_val_figs_t *f)
{
    es_val_figs_clear(f);
    const es_lc_dist_t *lat = &s->lat[ES_LC_LATENCY], *ttft = &s->lat[ES_LC_TTFT], *itl = &s->lat[ES_LC_ITL],
                       *tpot = &s->lat[ES_LC_TPOT];
    f->v[ES_VF_E2E_MEAN] = lat->v[ES_LC_MEAN] * 1e3;
    f->v[ES_VF_E2E_P50] = lat->v[ES_LC_MEDIAN] * 1e3;
    f->v[ES_VF_E2E_P90] = lat->v[ES_LC_P90] * 1e3;
    f->v[ES_VF_E2E_P99] = lat->v[ES_LC_P99] * 1e3;
    f->v[ES_VF_TTFT_MEAN] = ttft->v[ES_LC_MEAN] * 1e3;
    f->v[ES_VF_TTFT_P50] = ttft->v[ES_LC_MEDIAN] * 1e3;
    f->v[ES_VF_TTFT_P90] = ttft->v[ES_LC_P90] * 1e3;
    f->v[ES_VF_TTFT_P99] = ttft->v[ES_LC_P99] * 1e3;
    f->v[ES_VF_ITL_MEAN] = itl->v[ES_LC_MEAN] * 1e3;
    f->v[ES_VF_ITL_P50] = itl->v[ES_LC_MEDIAN] * 1e3;
    f->v[ES_VF_ITL_P99] = itl->v[ES_LC_P99] * 1e3;
    f->v[ES_VF_TPOT_MEAN] = tpot->v[ES_LC_MEAN] * 1e3;
    f->v[ES_VF_TPOT_P50] = tpot->v[ES_LC_MEDIAN] * 1e3;
    f->v[ES_VF_TPOT_P99] = tpot->v[ES_LC_P99] * 1e3;
    double out = s->output_len.v[ES_LC_MEAN];
    if (out > 1) f->v[ES_VF_PER_TOKEN] = (lat->v[ES_LC_MEAN] - ttft->v[ES_LC_MEAN]) / (out - 1) * 1e3;
    f->v[ES_VF_RPS] = s->rps;
    f->v[ES_VF_OUTPUT_TPS] = s->output_tps;
    f->v[ES_VF_SUCCESSES] = (double)s->successes;
    f->v[ES_VF_FAILURES] = (double)s->failures;
}

double es_val_ape(double measured, double simulated)
{
    if (!isfinite(measured) || !isfinite(simulated) || measured == 0) return NAN;
    return fabs(simulated - measured) / fabs(measured) * 100.0;
}

/* ---- small helpers ---- */

static void addf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void addf(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *slurp(const char *path, size_t *len_out, es_err_t *err)
{
    char *t;
    int rc = es_file_read(path, &t, len_out);
    if (rc == ES_ENOMEM) { es_err_set(err, ES_ENOMEM, "out of memory"); return NULL; }
    if (rc) { es_err_set(err, ES_EIO, "%s: cannot read", path); return NULL; }
    return t;
}

/* A YAML double-quoted scalar: user text never reaches the document unquoted. */
static const char *scalar(const es_node_t *map, const char *key)
{
    const es_node_t *v = map ? es_map_get(map, key) : NULL;
    return v && v->kind == ES_NODE_SCALAR && !es_node_is_null(v) ? v->str : NULL;
}

static int get_num(const es_node_t *map, const char *key, const char *path, double min, double max, double *out,
                   bool required, es_err_t *err)
{
    const es_node_t *v = map ? es_map_get(map, key) : NULL;
    char p[256];
    snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", key);
    if (!v || es_node_is_null(v)) {
        if (required) {
            if (map) return es_node_err(err, ES_EINVAL, map, p, "missing");
            return es_err_set(err, ES_EINVAL, "%s: missing", p);
        }
        return 1;
    }
    return es_node_to_double(v, p, min, max, out, err);
}

/* ---- the server: model, GPU, flags ---- */

/* Finds the config.json of a Hugging Face model name in dir: <key>.json,
 * <name>.json or <name>/config.json (lowercased repository name). */
static bool find_model_config(const char *dir, const char *hf, char *out, size_t size)
{
    if (!dir || !*dir) return false;
    const char *slash = strrchr(hf, '/');
    char name[256], key[256];
    snprintf(name, sizeof name, "%s", slash ? slash + 1 : hf);
    for (char *c = name; *c; c++) *c = (char)tolower((unsigned char)*c);
    es_vllm_model_key(hf, key, sizeof key);
    const char *const forms[] = {"%s/%s.json", "%s/%s/config.json"};
    const char *const names[] = {name, key};
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 2; j++) {
            snprintf(out, size, forms[i], dir, names[j]);
            if (!is_file(out)) continue;
            /* the replay reads it relative to the run's folder: make a
             * relative --model-configs / EPPSIM_VALIDATION_DIR absolute */
            char abs[PATH_MAX];
            if (out[0] != '/' && realpath(out, abs) && strlen(abs) < size) memcpy(out, abs, strlen(abs) + 1);
            return true;
        }
    return false;
}

/* The server section of a replay.  model_name is the served model (Hugging
 * Face name); flags are `vllm serve` flags without the model. */
static void emit_server(FILE *y, const es_val_options_t *opt, const char *gpu, const char *version,
                        const char *model_name, const char *flags, es_val_run_t *r)
{
    char key[256], cfg[1200];
    es_vllm_model_key(model_name, key, sizeof key);
    es_profile_t *prof = NULL;
    es_err_t e;
    bool has_profile = es_profile_load(gpu, &prof, &e) == 0 && es_profile_model(prof, key) != NULL;
    es_profile_destroy(prof);
    fprintf(y, "server:\n  gpu: ");
    es_json_write_string(y, gpu);
    fprintf(y, "\n  model: ");
    if (has_profile) {
        es_json_write_string(y, key);
    } else if (find_model_config(opt->model_configs, model_name, cfg, sizeof cfg)) {
        es_json_write_string(y, cfg);   /* any model from its config.json (the step model of issue "any model") */
    } else {
        es_json_write_string(y, key);
        addf(r->notes, sizeof r->notes, "no profile for %s on %s and no config.json for it in %s\n", model_name, gpu,
             opt->model_configs && *opt->model_configs ? opt->model_configs : "(no --model-configs)");
    }
    fprintf(y, "\n  vllm_version: ");
    es_json_write_string(y, version);
    fprintf(y, "\n  vllm_args: ");
    char all[4096];
    snprintf(all, sizeof all, "%s%s%s", opt->vllm_args ? opt->vllm_args : "",
             opt->vllm_args && *opt->vllm_args && flags && *flags ? " " : "", flags ? flags : "");
    es_json_write_string(y, all);
    /* the client talks to the pod directly: no gateway, no picker in the path */
    fprintf(y, "\ncluster: {replicas: 1}\nepp: {scheduling_latency_us: 0}\ngateway: {hop_latency_us: 0");
}

/* `vllm serve` flags from an exp-config.yaml-style file (model excluded). */
static int flags_from_settings(const char *path, char *model, size_t msize, char *flags, size_t fsize, char *gpu,
                               size_t gsize, char *version, size_t vsize, es_err_t *err)
{
    es_doc_t *doc;
    int rc = es_doc_load_file(path, &doc, err);
    if (rc) return rc;
    flags[0] = '\0';
    const es_node_t *root = doc->root;
    if (!root || root->kind != ES_NODE_MAP) { es_doc_destroy(doc); return es_err_set(err, ES_EINVAL, "%s: expected a map", path); }
    for (size_t i = 0; i < root->n; i++) {
        const es_node_t *v = root->items[i];
        const char *k = root->keys[i];
        if (v->kind != ES_NODE_SCALAR) {
            rc = es_node_err(err, ES_EINVAL, v, k, "expected a single value");
            break;
        }
        if (strcmp(k, "model") == 0) { snprintf(model, msize, "%s", v->str); continue; }
        if (strcmp(k, "gpu") == 0) { snprintf(gpu, gsize, "%s", v->str); continue; }   /* eppsim's own keys */
        if (strcmp(k, "vllm_version") == 0) { snprintf(version, vsize, "%s", v->str); continue; }
        if (strcmp(k, "app") == 0) continue;                                           /* BLIS: the client */
        char name[96];
        snprintf(name, sizeof name, "%s", strcmp(k, "tensor_parallelism") == 0 ? "tensor_parallel_size" : k);
        for (char *c = name; *c; c++) if (*c == '_') *c = '-';
        for (const char *c = v->str; *c; c++)
            if (isspace((unsigned char)*c) || *c == '"' || *c == '\'' || *c == '\\') {
                rc = es_node_err(err, ES_EINVAL, v, k, "value must be one word");
                break;
            }
        if (rc) break;
        addf(flags, fsize, "%s--%s=%s", flags[0] ? " " : "", name, v->str);
    }
    if (!rc) {
        /* check them now, so a bad value names this file */
        es_vllm_serve_t s;
        es_vllm_serve_init(&s);
        rc = es_vllm_parse_map(root, "", &s, err);
    }
    es_doc_destroy(doc);
    return rc;
}

/* ---- workloads ---- */

/* An inference-perf config as the workload: workloads/inference_perf.h replays
 * it (stages that drain, the client's worker cap and timeout); here only its
 * stages are read, for the per-stage figures.  `file` names the config file,
 * or NULL to inline `cfg` (a case's workload). */
static int emit_ip_workload(FILE *y, const es_node_t *cfg, const char *file, const char *version, const char *kp,
                            es_val_run_t *r, es_err_t *err)
{
    char p[160];
    snprintf(p, sizeof p, "%s%sload", kp, *kp ? "." : "");
    if (cfg->kind != ES_NODE_MAP) return es_node_err(err, ES_EINVAL, cfg, kp, "expected an inference-perf config (a map)");
    const es_node_t *load = es_map_get(cfg, "load");
    if (!load || load->kind != ES_NODE_MAP) return es_node_err(err, ES_EINVAL, cfg, p, "missing (inference-perf config)");
    snprintf(p, sizeof p, "%s%sload.stages", kp, *kp ? "." : "");
    const es_node_t *st = es_map_get(load, "stages");
    if (!st || st->kind != ES_NODE_SEQ || st->n == 0) return es_node_err(err, ES_EINVAL, load, p, "missing");
    if (st->n > ES_VAL_MAX_STAGES) return es_node_err(err, ES_EUNSUPP, st, p, "more than %d stages", ES_VAL_MAX_STAGES);
    for (size_t i = 0; i < st->n; i++) {
        char sp[200];
        snprintf(sp, sizeof sp, "%s[%zu]", p, i);
        double rate = NAN;
        int rc = get_num(st->items[i], "rate", sp, 0, 1e9, &rate, false, err);
        if (rc < 0) return rc;
        r->stage_rate[i] = rate;
    }
    r->nstages = st->n;
    fprintf(y, "}\nworkload:\n  inference_perf:\n    version: ");
    es_json_write_string(y, version);
    if (file) {
        fprintf(y, "\n    file: ");
        es_json_write_string(y, file);
        fprintf(y, "\n");
    } else {
        fprintf(y, "\n    config: ");
        es_node_write_json(y, cfg);   /* JSON is YAML: the case's own mapping, inline */
        fprintf(y, "\n");
    }
    addf(r->notes, sizeof r->notes, "inference-perf (%s) client replayed: stages drain, then wait load.interval\n",
         version);
    return 0;
}

typedef struct bench_wl {
    char   dataset[32];          /* random | sharegpt */
    double num_prompts, input_len, output_len, total_in, total_out, rate, max_concurrency, burstiness;
    double template_tokens;
} bench_wl_t;

/* A `vllm bench serve` run as the workload: workloads/vllm_bench.c replays it
 * (its client, lengths, arrivals, concurrency cap and chat template); `result`
 * names a saved result JSON whose fields the keys here override. */
static void emit_bench_workload(FILE *y, const bench_wl_t *b, const char *result, es_val_run_t *r)
{
    fprintf(y, "}\nworkload:\n  vllm_bench: {backend: openai-chat");
    if (result) {
        fprintf(y, ", result: ");
        es_json_write_string(y, result);
    }
    if (b->dataset[0] && strcmp(b->dataset, "unknown") != 0) fprintf(y, ", dataset: %s", b->dataset);
    if (isfinite(b->num_prompts)) fprintf(y, ", num_prompts: %.0f", b->num_prompts);
    if (!strcmp(b->dataset, "random") && isfinite(b->input_len) && isfinite(b->output_len))
        fprintf(y, ", random_input_len: %.0f, random_output_len: %.0f", b->input_len, b->output_len);
    if (isfinite(b->total_in) && isfinite(b->total_out))
        fprintf(y, ", total_input_tokens: %.0f, total_output_tokens: %.0f", b->total_in, b->total_out);
    if (isfinite(b->rate)) fprintf(y, ", request_rate: %.9g", b->rate);
    if (isfinite(b->max_concurrency) && b->max_concurrency > 0) fprintf(y, ", max_concurrency: %.0f", b->max_concurrency);
    if (isfinite(b->burstiness) && b->burstiness > 0) fprintf(y, ", burstiness: %.9g", b->burstiness);
    if (b->template_tokens > 0) fprintf(y, ", chat_template_tokens: %.0f", b->template_tokens);
    fprintf(y, "}\n");
    if (strcmp(b->dataset, "random") != 0) {
        r->approximate = true;
        addf(r->notes, sizeof r->notes, "%s lengths: the bundled ShareGPT lengths rescaled to the run's totals, "
                                        "unless the result saved them (approximate)\n", b->dataset);
    }
    addf(r->notes, sizeof r->notes, "vllm bench serve client replayed (openai-chat: chat-template tokens on every "
                                    "prompt; workloads/vllm_bench.c)\n");
    r->nstages = 1;
    r->stage_rate[0] = isfinite(b->rate) ? b->rate : 0;
}

static void set_seed_and_name(FILE *y, const es_val_options_t *opt, const char *name)
{
    fprintf(y, "name: ");
    char clean[160];
    size_t k = 0;
    for (const char *c = name; *c && k + 1 < sizeof clean; c++)
        clean[k++] = isalnum((unsigned char)*c) || *c == '-' || *c == '.' || *c == '_' ? *c : '_';
    clean[k] = '\0';
    es_json_write_string(y, clean);
    fprintf(y, "\nseed: %llu\n", (unsigned long long)opt->seed);
}

/* ---- sources ---- */

static es_val_run_t *new_run(es_val_run_t **runs, size_t *n, es_err_t *err)
{
    es_val_run_t *a = realloc(*runs, (*n + 1) * sizeof *a);
    if (!a) { es_err_set(err, ES_ENOMEM, "out of memory"); return NULL; }
    *runs = a;
    es_val_run_t *r = &a[(*n)++];
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i <= ES_VAL_MAX_STAGES; i++) { es_val_figs_clear(&r->measured[i]); es_val_figs_clear(&r->simulated[i]); }
    r->stamps_per_token = 1;
    return r;
}

/* The replay's client: its metrics on (results/es_client_metrics.h), the stamps
 * per token when the source says (else the workload's client decides), and
 * how the client re-counts output tokens from the text (1 = as generated). */
static void emit_client(FILE *y, int stamps, double output_count_scale, es_val_run_t *r)
{
    fprintf(y, "results:\n  client: {metrics: on");
    if (stamps > 0) fprintf(y, ", timestamps_per_token: %d", stamps);
    if (output_count_scale > 0 && output_count_scale != 1) {
        fprintf(y, ", output_count_scale: %.6f", output_count_scale);
        addf(r->notes, sizeof r->notes, "the client counts %.3f output tokens per token generated (its "
                                        "re-tokenisation, from the run's own output_len)\n", output_count_scale);
    }
    fprintf(y, "}\n");
}

/* How the client of a case counts output tokens against the length asked: its
 * per_token_ms is (E2E mean - TTFT mean) / (counted output mean - 1), so the
 * count follows from the run's own three means (inference-perf re-tokenises
 * the text: 0.79 of Llama-2's tokens, 0.98-1 of larger vocabularies).  0 when
 * any is missing (then the client counts what was generated). */
static double case_output_scale(const es_node_t *wl, const es_node_t *meas)
{
    const es_node_t *sp = wl ? es_node_find(wl, "data.shared_prefix.output_len") : NULL;
    const es_node_t *run = meas ? es_map_get(meas, "run") : NULL;
    const char *e = scalar(run, "e2e_mean_ms"), *t = scalar(run, "ttft_mean_ms"), *p = scalar(run, "per_token_ms");
    if (!sp || sp->kind != ES_NODE_SCALAR || !e || !t || !p) return 0;
    double asked = strtod(sp->str, NULL), e2e = strtod(e, NULL), ttft = strtod(t, NULL), pt = strtod(p, NULL);
    if (!(asked > 1 && pt > 0 && e2e > ttft)) return 0;
    double scale = ((e2e - ttft) / pt + 1) / asked;
    return scale > 0.1 && scale < 10 ? scale : 0;
}

static int finish_yaml(FILE *y, char **text, es_val_run_t *r, es_err_t *err)
{
    if (fclose(y)) { free(*text); *text = NULL; return es_err_set(err, ES_ENOMEM, "out of memory"); }
    r->experiment = *text;
    return 0;
}

static const char *basename_of(const char *p)
{
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/') len--;
    static _Thread_local char buf[256];
    size_t s = len;
    while (s > 0 && p[s - 1] != '/') s--;
    snprintf(buf, sizeof buf, "%.*s", (int)(len - s), p + s);
    return buf;
}

/* An inference-perf result directory. */
static int load_ip_dir(const char *dir, const es_val_options_t *opt, es_val_run_t **runs, size_t *n, es_err_t *err)
{
    char results[1200], cfgp[1300], path[1400];
    snprintf(results, sizeof results, "%s/results", dir);
    if (!is_dir(results)) snprintf(results, sizeof results, "%s", dir);   /* the results folder itself */
    snprintf(cfgp, sizeof cfgp, "%s/config.yaml", results);
    if (!is_file(cfgp))
        return es_err_set(err, ES_ENOTFOUND, "%s: no results/config.yaml (not an inference-perf result directory)", dir);
    es_val_run_t *r = new_run(runs, n, err);
    if (!r) return ES_ENOMEM;
    snprintf(r->name, sizeof r->name, "%s", basename_of(dir));
    if (strcmp(r->name, "results") == 0) snprintf(r->name, sizeof r->name, "%s", basename_of(dir));
    snprintf(r->source, sizeof r->source, "%s", dir);
    snprintf(r->kind, sizeof r->kind, "inference-perf");
    r->stamps_per_token = opt->stamps_per_token > 0 ? opt->stamps_per_token : 1;
    /* serve settings: beside results/ (or beside the results folder itself) */
    char model[256] = "", flags[2048] = "", gpu[96] = "", version[32] = "";
    char parent[1200];
    snprintf(parent, sizeof parent, "%s", results);
    char *sl = strrchr(parent, '/');
    if (sl) *sl = '\0'; else snprintf(parent, sizeof parent, ".");
    int rc;
    snprintf(path, sizeof path, "%s/exp-config.yaml", parent);
    char args_path[1400];
    snprintf(args_path, sizeof args_path, "%s/vllm-args.txt", parent);
    if (is_file(path)) {
        if ((rc = flags_from_settings(path, model, sizeof model, flags, sizeof flags, gpu, sizeof gpu, version,
                                      sizeof version, err)))
            return rc;
    } else if (is_file(args_path)) {
        char *t = slurp(args_path, NULL, err);
        if (!t) return ES_EIO;
        es_vllm_serve_t s;
        es_vllm_serve_init(&s);
        rc = es_vllm_parse_args(t, args_path, &s, err);
        if (!rc) { snprintf(model, sizeof model, "%s", s.model); snprintf(flags, sizeof flags, "%s", t); }
        free(t);
        if (rc) return rc;
        /* the model travels in server.model, not twice */
        if (s.model[0]) {
            char *m = strstr(flags, s.model);
            if (m) memset(m, ' ', strlen(s.model));
            char *v = strstr(flags, "vllm serve");
            if (v) memset(v, ' ', 10);
            char *mf = strstr(flags, "--model");
            if (mf) memset(mf, ' ', 7);
        }
    } else {
        return es_err_set(err, ES_ENOTFOUND, "%s: no serve settings beside results/ (exp-config.yaml or vllm-args.txt)",
                          dir);
    }
    es_doc_t *doc;
    if ((rc = es_doc_load_file(cfgp, &doc, err))) return rc;
    if (!doc->root || doc->root->kind != ES_NODE_MAP) {
        es_doc_destroy(doc);
        return es_err_set(err, ES_EINVAL, "%s: expected an inference-perf config", cfgp);
    }
    if (!model[0]) {
        const es_node_t *srv = es_map_get(doc->root, "server");
        const char *mn = scalar(srv, "model_name");
        if (mn) snprintf(model, sizeof model, "%s", mn);
    }
    if (!model[0]) { es_doc_destroy(doc); return es_err_set(err, ES_EINVAL, "%s: no model named (exp-config.yaml model)", dir); }
    char *text = NULL;
    size_t len = 0;
    FILE *y = open_memstream(&text, &len);
    if (!y) { es_doc_destroy(doc); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    set_seed_and_name(y, opt, r->name);
    emit_server(y, opt, gpu[0] ? gpu : opt->gpu, version[0] ? version : opt->vllm_version, model, flags, r);
    char abs_cfg[PATH_MAX];
    rc = emit_ip_workload(y, doc->root, realpath(cfgp, abs_cfg) ? abs_cfg : cfgp, opt->ip_version, "", r, err);
    if (!rc) {
        /* the client's output count against the configured length (ignore_eos runs generate exactly it) */
        double asked = NAN, scale = 0;
        const es_node_t *sp = es_node_find(doc->root, "data.shared_prefix.output_len");
        if (sp && sp->kind == ES_NODE_SCALAR) asked = strtod(sp->str, NULL);
        snprintf(path, sizeof path, "%s/summary_lifecycle_metrics.json", results);
        es_lc_stats_t sum;
        es_err_t e2;
        if (asked > 0 && is_file(path) && es_lc_read(path, &sum, &e2) == 0 && sum.output_len.v[ES_LC_MEAN] > 0)
            scale = sum.output_len.v[ES_LC_MEAN] / asked;
        emit_client(y, opt->stamps_per_token, scale, r);
    }
    const es_node_t *srv = es_map_get(doc->root, "server");
    const char *ie = scalar(srv, "ignore_eos");
    if (!rc && ie && strcmp(ie, "true") != 0)
        addf(r->notes, sizeof r->notes, "ignore_eos off: outputs replayed at the configured length\n");
    es_doc_destroy(doc);
    if (rc) { fclose(y); free(text); return rc; }
    if ((rc = finish_yaml(y, &text, r, err))) return rc;
    snprintf(r->base_dir, sizeof r->base_dir, "%s", dir);
    /* measured */
    for (size_t i = 0; i <= r->nstages; i++) {
        if (i < r->nstages) snprintf(path, sizeof path, "%s/stage_%zu_lifecycle_metrics.json", results, i);
        else snprintf(path, sizeof path, "%s/summary_lifecycle_metrics.json", results);
        if (!is_file(path)) continue;
        es_lc_stats_t s;
        if ((rc = es_lc_read(path, &s, err))) return rc;
        es_val_figs_from_lc(&s, &r->measured[i]);
    }
    return 0;
}

/* A `vllm bench serve` result JSON. */
static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsString(v) && (!strcmp(v->valuestring, "inf") || !strcmp(v->valuestring, "Infinity"))) return INFINITY;
    return NAN;
}

static int load_bench_json(const char *path, const es_val_options_t *opt, es_val_run_t **runs, size_t *n,
                           es_err_t *err)
{
    char *t = slurp(path, NULL, err);
    if (!t) return ES_EIO;
    cJSON *j = cJSON_Parse(t);
    free(t);
    if (!cJSON_IsObject(j)) { cJSON_Delete(j); return es_err_set(err, ES_EPARSE, "%s: not a JSON object", path); }
    int rc = 0;
    const cJSON *mid = cJSON_GetObjectItemCaseSensitive(j, "model_id");
    double completed = jnum(j, "completed"), duration = jnum(j, "duration");
    if (!cJSON_IsString(mid) || !isfinite(completed) || !isfinite(duration)) {
        cJSON_Delete(j);
        return es_err_set(err, ES_EINVAL, "%s: not a `vllm bench serve` result (model_id, completed, duration)", path);
    }
    es_val_run_t *r = new_run(runs, n, err);
    if (!r) { cJSON_Delete(j); return ES_ENOMEM; }
    snprintf(r->name, sizeof r->name, "%s", basename_of(path));
    snprintf(r->source, sizeof r->source, "%s", path);
    snprintf(r->kind, sizeof r->kind, "vllm-bench");
    r->stamps_per_token = opt->stamps_per_token > 0 ? opt->stamps_per_token : 1;
    bench_wl_t b = {"", jnum(j, "num_prompts"), NAN, NAN, jnum(j, "total_input_tokens"), jnum(j, "total_output_tokens"),
                    jnum(j, "request_rate"), jnum(j, "max_concurrency"), jnum(j, "burstiness"), 0};
    if (!isfinite(b.num_prompts)) b.num_prompts = completed + jnum(j, "failed");
    if (!isfinite(b.num_prompts)) b.num_prompts = completed;
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(j, "dataset_name");
    snprintf(b.dataset, sizeof b.dataset, "%s", cJSON_IsString(ds) ? ds->valuestring : "unknown");
    if (isnan(b.rate)) b.rate = INFINITY;
    if (!isfinite(b.total_in) || !isfinite(b.total_out) || b.num_prompts < 1) {
        cJSON_Delete(j);
        return es_err_set(err, ES_EINVAL, "%s: total_input_tokens / total_output_tokens / num_prompts missing", path);
    }
    if (strcmp(b.dataset, "random") == 0) {
        b.input_len = jnum(j, "random_input_len");
        b.output_len = jnum(j, "random_output_len");
        if (!isfinite(b.input_len) || !isfinite(b.output_len)) snprintf(b.dataset, sizeof b.dataset, "random-unknown");
    }
    char *text = NULL;
    size_t len = 0;
    FILE *y = open_memstream(&text, &len);
    if (!y) { cJSON_Delete(j); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    set_seed_and_name(y, opt, r->name);
    emit_server(y, opt, opt->gpu, opt->vllm_version, mid->valuestring, "", r);
    char abs_res[PATH_MAX];
    emit_bench_workload(y, &b, realpath(path, abs_res) ? abs_res : path, r);
    emit_client(y, opt->stamps_per_token, 0, r);
    if ((rc = finish_yaml(y, &text, r, err))) { cJSON_Delete(j); return rc; }
    es_val_figs_t *f = &r->measured[1];
    static const struct { int fig; const char *key; } k_map[] = {
        {ES_VF_TTFT_MEAN, "mean_ttft_ms"}, {ES_VF_TTFT_P50, "median_ttft_ms"}, {ES_VF_TTFT_P90, "p90_ttft_ms"},
        {ES_VF_TTFT_P99, "p99_ttft_ms"}, {ES_VF_TPOT_MEAN, "mean_tpot_ms"}, {ES_VF_TPOT_P50, "median_tpot_ms"},
        {ES_VF_TPOT_P99, "p99_tpot_ms"}, {ES_VF_ITL_MEAN, "mean_itl_ms"}, {ES_VF_ITL_P50, "median_itl_ms"},
        {ES_VF_ITL_P99, "p99_itl_ms"}, {ES_VF_E2E_MEAN, "mean_e2el_ms"}, {ES_VF_E2E_P50, "median_e2el_ms"},
        {ES_VF_E2E_P90, "p90_e2el_ms"}, {ES_VF_E2E_P99, "p99_e2el_ms"}, {ES_VF_RPS, "request_throughput"},
        {ES_VF_OUTPUT_TPS, "output_throughput"}};
    for (size_t i = 0; i < sizeof k_map / sizeof k_map[0]; i++) f->v[k_map[i].fig] = jnum(j, k_map[i].key);
    f->v[ES_VF_SUCCESSES] = completed;
    double failed = jnum(j, "failed");
    f->v[ES_VF_FAILURES] = isfinite(failed) ? failed : b.num_prompts - completed;
    cJSON_Delete(j);
    return 0;
}

/* A case file: set header + cases. */
static int load_cases(const char *path, const es_val_options_t *opt, es_val_run_t **runs, size_t *n, es_val_set_t *set,
                      es_err_t *err)
{
    es_doc_t *doc;
    int rc = es_doc_load_file(path, &doc, err);
    if (rc) return rc;
    const es_node_t *root = doc->root, *hdr = root ? es_map_get(root, "set") : NULL;
    const es_node_t *cases = root ? es_map_get(root, "cases") : NULL;
    if (!root || root->kind != ES_NODE_MAP || !cases || cases->kind != ES_NODE_SEQ) {
        rc = root ? es_node_err(err, ES_EINVAL, root, "cases", "missing (a validation case file has set and cases)")
                  : es_err_set(err, ES_EINVAL, "%s: empty", path);
        goto out;
    }
    static const char *const k_set_keys[] = {"name", "source", "gpu", "vllm_version", "vllm_args", "client",
                                             "client_stamps_per_token", "chat_template_tokens", "inference_perf_version",
                                             "notes", NULL};
    if (hdr && ((rc = es_node_expect_map(hdr, "set", err)) || (rc = es_map_check_keys(hdr, "set", k_set_keys, err))))
        goto out;
    const char *sname = scalar(hdr, "name"), *gpu = scalar(hdr, "gpu"), *ver = scalar(hdr, "vllm_version");
    const char *sargs = scalar(hdr, "vllm_args"), *client = scalar(hdr, "client");
    const char *ipver = scalar(hdr, "inference_perf_version");
    double stamps = 1, tmpl = 0;
    if (hdr && (rc = get_num(hdr, "client_stamps_per_token", "set", 1, 16, &stamps, false, err)) < 0) goto out;
    if (hdr && (rc = get_num(hdr, "chat_template_tokens", "set", 0, 1e6, &tmpl, false, err)) < 0) goto out;
    rc = 0;
    /* the header, once, above the table */
    addf(set->header, sizeof set->header, "set %s (%s)\n", sname ? sname : path, path);
    for (size_t i = 0; hdr && i < hdr->n; i++) {
        const es_node_t *v = hdr->items[i];
        if (!strcmp(hdr->keys[i], "name")) continue;
        if (v->kind == ES_NODE_SCALAR) addf(set->header, sizeof set->header, "  %s: %s\n", hdr->keys[i], v->str);
        else if (v->kind == ES_NODE_MAP) {
            addf(set->header, sizeof set->header, "  %s:", hdr->keys[i]);
            for (size_t k = 0; k < v->n; k++)
                if (v->items[k]->kind == ES_NODE_SCALAR)
                    addf(set->header, sizeof set->header, " %s=%s", v->keys[k], v->items[k]->str);
            addf(set->header, sizeof set->header, "\n");
        }
    }
    es_val_options_t o = *opt;
    if (ver && !(opt->vllm_version && strcmp(opt->vllm_version, "0.11") != 0)) o.vllm_version = ver;
    char allargs[4096];
    snprintf(allargs, sizeof allargs, "%s%s%s", sargs ? sargs : "", sargs && opt->vllm_args && *opt->vllm_args ? " " : "",
             opt->vllm_args ? opt->vllm_args : "");
    o.vllm_args = allargs;
    static const char *const k_case_keys[] = {"name", "model", "gpu", "vllm_args", "workload", "measured", "logged",
                                              NULL};
    for (size_t i = 0; i < cases->n; i++) {
        const es_node_t *c = cases->items[i];
        char cp[64];
        snprintf(cp, sizeof cp, "cases[%zu]", i);
        if ((rc = es_node_expect_map(c, cp, err)) || (rc = es_map_check_keys(c, cp, k_case_keys, err))) goto out;
        const char *name = scalar(c, "name"), *model = scalar(c, "model"), *cgpu = scalar(c, "gpu");
        const char *cargs = scalar(c, "vllm_args");
        const es_node_t *wl = es_map_get(c, "workload"), *meas = es_map_get(c, "measured");
        if (!name || !model || !wl || !meas) {
            rc = es_node_err(err, ES_EINVAL, c, cp, "needs name, model, workload and measured");
            goto out;
        }
        if (cargs) {
            es_vllm_serve_t s;
            es_vllm_serve_init(&s);
            if (es_vllm_parse_args(cargs, "vllm_args", &s, err)) {
                char m[ES_ERR_MSG_MAX];
                snprintf(m, sizeof m, "%s", err->msg);
                rc = es_node_err(err, ES_EINVAL, es_map_get(c, "vllm_args"), cp, "%s", m);
                goto out;
            }
        }
        es_val_run_t *r = new_run(runs, n, err);
        if (!r) { rc = ES_ENOMEM; goto out; }
        snprintf(r->name, sizeof r->name, "%s", name);
        snprintf(r->source, sizeof r->source, "%s:%u", path, c->line);
        snprintf(r->kind, sizeof r->kind, "case");
        r->stamps_per_token = opt->stamps_per_token > 0 ? opt->stamps_per_token : (int)stamps;
        char *text = NULL;
        size_t len = 0;
        FILE *y = open_memstream(&text, &len);
        if (!y) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto out; }
        set_seed_and_name(y, opt, name);
        emit_server(y, &o, cgpu ? cgpu : gpu ? gpu : opt->gpu, o.vllm_version, model, cargs ? cargs : "", r);
        bool bench = client && strcmp(client, "vllm-bench") == 0;
        if (bench) {
            bench_wl_t b = {"", NAN, NAN, NAN, NAN, NAN, INFINITY, NAN, 1, tmpl};
            const char *ds = scalar(wl, "dataset");
            snprintf(b.dataset, sizeof b.dataset, "%s", ds ? ds : "");
            const char *rr = scalar(wl, "request_rate");
            double *dst[] = {&b.num_prompts, &b.input_len, &b.output_len, &b.total_in, &b.total_out,
                             &b.max_concurrency};
            const char *keys[] = {"num_prompts", "input_len", "output_len", "total_input_tokens", "total_output_tokens",
                                  "max_concurrency"};
            bool need[] = {true, !strcmp(b.dataset, "random"), !strcmp(b.dataset, "random"), strcmp(b.dataset, "random"),
                           strcmp(b.dataset, "random"), false};
            char wp[80];
            snprintf(wp, sizeof wp, "%s.workload", cp);
            for (size_t k = 0; k < 6 && !rc; k++) {
                rc = get_num(wl, keys[k], wp, 0, 1e12, dst[k], need[k], err);
                if (rc == 1) rc = 0;
            }
            if (!rc && rr && strcmp(rr, "inf") != 0) {
                const es_node_t *rn = es_map_get(wl, "request_rate");
                rc = es_node_to_double(rn, "workload.request_rate", 1e-9, 1e9, &b.rate, err);
            }
            if (!rc && !ds) rc = es_node_err(err, ES_EINVAL, wl, wp, "dataset: missing (random or sharegpt)");
            if (rc) { fclose(y); free(text); goto out; }
            emit_bench_workload(y, &b, NULL, r);
        } else {
            char wp[80];
            snprintf(wp, sizeof wp, "%s.workload", cp);
            if ((rc = emit_ip_workload(y, wl, NULL, ipver ? ipver : opt->ip_version, wp, r, err))) { fclose(y); free(text); goto out; }
        }
        emit_client(y, opt->stamps_per_token > 0 ? opt->stamps_per_token
                                                  : hdr && es_map_get(hdr, "client_stamps_per_token") ? (int)stamps : 0,
                    bench ? 0 : case_output_scale(wl, meas), r);
        if ((rc = finish_yaml(y, &text, r, err))) goto out;
        snprintf(r->base_dir, sizeof r->base_dir, ".");
        /* measured: {stages: [..], run: {..}} */
        const es_node_t *mst = es_map_get(meas, "stages"), *mrun = es_map_get(meas, "run");
        for (size_t s = 0; s <= r->nstages; s++) {
            const es_node_t *fig = s < r->nstages ? (mst && mst->kind == ES_NODE_SEQ && s < mst->n ? mst->items[s] : NULL)
                                                  : mrun;
            if (!fig) continue;
            if (fig->kind != ES_NODE_MAP) { rc = es_node_err(err, ES_EINVAL, fig, "measured", "expected a map"); goto out; }
            for (size_t k = 0; k < fig->n; k++) {
                int which = -1;
                for (int q = 0; q < ES_VF_N; q++) if (!strcmp(fig->keys[k], es_vf_names[q])) which = q;
                char mp[160];
                if (s < r->nstages) snprintf(mp, sizeof mp, "%s.measured.stages[%zu].%s", cp, s, fig->keys[k]);
                else snprintf(mp, sizeof mp, "%s.measured.run.%s", cp, fig->keys[k]);
                if (which < 0) { rc = es_node_err(err, ES_EINVAL, fig->items[k], mp, "unknown figure"); goto out; }
                if (es_node_is_null(fig->items[k])) continue;
                if ((rc = es_node_to_double(fig->items[k], mp, 0, 1e15, &r->measured[s].v[which], err))) goto out;
            }
        }
    }
out:
    es_doc_destroy(doc);
    return rc;
}

int es_val_load(const char *path, const es_val_options_t *opt, es_val_run_t **runs, size_t *n, es_val_set_t *set,
                es_err_t *err)
{
    if (is_dir(path)) return load_ip_dir(path, opt, runs, n, err);
    size_t len = strlen(path);
    if (!is_file(path)) return es_err_set(err, ES_ENOTFOUND, "%s: no such file or directory", path);
    if (len > 5 && strcmp(path + len - 5, ".json") == 0) return load_bench_json(path, opt, runs, n, err);
    return load_cases(path, opt, runs, n, set, err);
}

/* ---- replay ---- */

typedef struct finish_ctx {
    es_val_run_t *r;
    int           rc;
} finish_ctx_t;

/* Simulated figures as the benchmark client computes them (results/es_client_metrics.h). */
static void figs_from_client(const es_client_stats_t *cs, es_val_figs_t *f)
{
    es_val_figs_clear(f);
    const es_lat_stats_t *lat = &cs->latency, *ttft = &cs->ttft, *itl = &cs->itl, *tpot = &cs->tpot;
    f->v[ES_VF_E2E_MEAN] = lat->mean;
    f->v[ES_VF_E2E_P50] = lat->p[0];
    f->v[ES_VF_E2E_P90] = lat->p[1];
    f->v[ES_VF_E2E_P99] = lat->p[3];
    f->v[ES_VF_TTFT_MEAN] = ttft->mean;
    f->v[ES_VF_TTFT_P50] = ttft->p[0];
    f->v[ES_VF_TTFT_P90] = ttft->p[1];
    f->v[ES_VF_TTFT_P99] = ttft->p[3];
    f->v[ES_VF_ITL_MEAN] = itl->mean;
    f->v[ES_VF_ITL_P50] = itl->p[0];
    f->v[ES_VF_ITL_P99] = itl->p[3];
    f->v[ES_VF_TPOT_MEAN] = tpot->mean;
    f->v[ES_VF_TPOT_P50] = tpot->p[0];
    f->v[ES_VF_TPOT_P99] = tpot->p[3];
    f->v[ES_VF_PER_TOKEN] = cs->per_token_ms;
    f->v[ES_VF_RPS] = cs->requests_per_s;
    f->v[ES_VF_OUTPUT_TPS] = cs->output_tokens_per_s;
    f->v[ES_VF_SUCCESSES] = (double)cs->successes;
    f->v[ES_VF_FAILURES] = (double)cs->failures;
}

static void on_finish(void *ud, const struct es_metrics *m, const es_time_t (*stages)[2], size_t nstages,
                      const struct es_client_emul *client)
{
    finish_ctx_t *fc = ud;
    es_val_run_t *r = fc->r;
    (void)stages;
    size_t ns = nstages < r->nstages ? nstages : r->nstages;
    if (client) {   /* the client the workload emulates (or results.client) */
        r->stamps_per_token = (int)client->timestamps_per_token;
        r->trailing_stamps = (int)client->trailing;
        for (size_t i = 0; i <= ns; i++) {
            es_client_stats_t cs;
            if (es_client_stats(m, client, i < ns ? (uint32_t)i : ES_ALL_STAGES, &cs) < 0) { fc->rc = ES_ENOMEM; return; }
            figs_from_client(&cs, &r->simulated[i < ns ? i : r->nstages]);
        }
        return;
    }
    const es_req_record_t *recs = es_metrics_records(m);
    size_t n = es_metrics_count(m);
    es_lat_stats_t itl;
    es_metrics_itl(m, &itl);
    for (size_t i = 0; i <= ns; i++) {
        es_lc_stats_t s;
        uint32_t stage = i < ns ? (uint32_t)i : ES_ALL_STAGES;
        if (es_lc_compute(recs, n, stage, r->stamps_per_token, 0, i < ns ? r->stage_rate[i] : NAN,
                          i < ns ? NULL : &itl, &s)) { fc->rc = ES_ENOMEM; return; }
        es_val_figs_from_lc(&s, &r->simulated[i < ns ? i : r->nstages]);
    }
}

static void describe_step_model(const es_experiment_t *exp, char *buf, size_t size)
{
    const es_server_config_t *sc = &exp->server;
    int k = sc->step_model;
    es_profile_t *prof = NULL;
    es_err_t e;
    char coeffs[300] = "";
    if (es_profile_open(sc->gpu, sc->model, sc->gpu_datasheet, sc->step_coefficients, &prof, &e) == 0) {
        const es_profile_model_t *pm = es_profile_model(prof, sc->model);
        if (k == ES_STEP_AUTO && pm) k = es_profile_model_has_tables(pm) ? ES_STEP_PROFILE : ES_STEP_ANALYTIC;
        const char *cf = strrchr(prof->coeffs.file, '/');
        snprintf(coeffs, sizeof coeffs, "%s", cf ? cf + 1 : prof->coeffs.file);
    }
    es_profile_destroy(prof);
    static const char *const kinds[] = {"profile tables", "linear coefficients", "roofline", "analytic", "auto"};
    const char *model = strrchr(sc->model, '/');
    snprintf(buf, size, "%s: %s on %s, TP %lld%s%s%s", k >= 0 && k <= ES_STEP_AUTO ? kinds[k] : "?",
             model ? model + 1 : sc->model, sc->gpu, (long long)sc->tensor_parallel,
             k == ES_STEP_ANALYTIC && coeffs[0] ? " (" : "", k == ES_STEP_ANALYTIC ? coeffs : "",
             k == ES_STEP_ANALYTIC && coeffs[0] ? ")" : "");
}

int es_val_run_doc(const es_val_run_t *r, const es_val_options_t *opt, es_val_doc_t *d, size_t *culprit,
                   es_err_t *err)
{
    memset(d, 0, sizeof *d);
    char name[200];
    snprintf(name, sizeof name, "<replay of %s>", r->name);
    int rc = es_doc_load_string(name, r->experiment, strlen(r->experiment), &d->doc, err);
    if (rc || !opt->nsets) return rc;
    if (!(d->holder = es_doc_create(ES_WHATIF_DOC))) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < opt->nsets; i++) {
        if ((rc = es_sweep_override(d->doc, r->base_dir, d->holder, &d->epp_src, opt->sets[i], err))) {
            if (culprit) *culprit = i;
            return rc;
        }
    }
    return 0;
}

void es_val_doc_fini(es_val_doc_t *d)
{
    es_doc_destroy(d->doc);
    es_doc_destroy(d->holder);
    es_doc_destroy(d->epp_src);
    memset(d, 0, sizeof *d);
}

/* 0 when the run's experiment builds (with opt's sets, or none). */
static int run_builds(const es_val_run_t *r, const es_val_options_t *opt, size_t *culprit, es_err_t *err)
{
    es_val_doc_t d;
    es_experiment_t exp;
    int rc = es_val_run_doc(r, opt, &d, culprit, err);
    if (!rc) {
        rc = es_experiment_from_doc(d.doc, r->base_dir, &exp, err);
        d.doc = NULL;   /* es_experiment_from_doc owns it now */
        if (!rc) es_experiment_fini(&exp);
    }
    es_val_doc_fini(&d);
    return rc;
}

int es_val_check_sets(const es_val_run_t *runs, size_t n, const es_val_options_t *opt, size_t *culprit,
                      es_err_t *err)
{
    es_val_options_t plain = *opt;
    plain.sets = NULL;
    plain.nsets = 0;
    for (size_t i = 0; opt->nsets && i < n; i++) {
        *culprit = opt->nsets;
        int rc = run_builds(&runs[i], opt, culprit, err);
        es_err_t ignored;
        es_err_clear(&ignored);
        if (rc && !run_builds(&runs[i], &plain, NULL, &ignored)) return rc;
    }
    return 0;
}

void es_val_replay(es_val_run_t *r, const es_val_options_t *opt)
{
    es_err_t err;
    es_err_clear(&err);
    es_val_doc_t d;
    r->rc = es_val_run_doc(r, opt, &d, NULL, &err);
    if (r->rc) { snprintf(r->error, sizeof r->error, "%s", err.msg); es_val_doc_fini(&d); return; }
    es_experiment_t exp;
    r->rc = es_experiment_from_doc(d.doc, r->base_dir, &exp, &err);
    d.doc = NULL;   /* es_experiment_from_doc owns it now */
    if (r->rc) {
        snprintf(r->error, sizeof r->error, "%s", err.msg);
        es_val_doc_fini(&d);
        return;
    }
    describe_step_model(&exp, r->step_model, sizeof r->step_model);
    if (exp.warnings) snprintf(r->warnings, sizeof r->warnings, "%s", exp.warnings);
    finish_ctx_t fc = {r, 0};
    es_run_options_t ro = {NULL, false, false, false, false, NULL, NULL, on_finish, &fc, false};
    r->rc = es_run_experiment(&exp, &ro, NULL, &err);
    if (!r->rc) r->rc = fc.rc;
    if (r->rc) snprintf(r->error, sizeof r->error, "%s", err.msg[0] ? err.msg : es_strerror(r->rc));
    es_experiment_fini(&exp);
    es_val_doc_fini(&d);
}

/* ---- importers ---- */

/* Splits one CSV line in place (RFC 4180 quotes); returns the field count. */
static size_t csv_split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line, *w;
    size_t l = strlen(line);
    while (l && (line[l - 1] == '\n' || line[l - 1] == '\r')) line[--l] = '\0';
    for (;;) {
        if (n == max) return n;
        f[n++] = w = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) break;
                if (*p == '"' && p[1] == '"') { *w++ = '"'; p += 2; continue; }
                if (*p == '"') { p++; break; }
                *w++ = *p++;
            }
            while (*p && *p != ',') p++;
        } else {
            while (*p && *p != ',') *w++ = *p++;
        }
        char *next = *p == ',' ? p + 1 : NULL;
        *w = '\0';
        if (!next) return n;
        p = next;
    }
}

typedef struct csv {
    char  *text;
    char **lines;
    size_t nlines;
    char  *hdr[64];
    size_t nhdr;
} csv_t;

static int csv_open(const char *path, csv_t *c, es_err_t *err)
{
    memset(c, 0, sizeof *c);
    if (!(c->text = slurp(path, NULL, err))) return ES_EIO;
    size_t cap = 64;
    c->lines = malloc(cap * sizeof *c->lines);
    if (!c->lines) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (char *p = c->text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        if (!*p || *p == '\r') continue;
        if (c->nlines == cap) {
            char **a = realloc(c->lines, (cap *= 2) * sizeof *a);
            if (!a) return es_err_set(err, ES_ENOMEM, "out of memory");
            c->lines = a;
        }
        c->lines[c->nlines++] = p;
    }
    if (!c->nlines) return es_err_set(err, ES_EINVAL, "%s: empty", path);
    c->nhdr = csv_split(c->lines[0], c->hdr, 64);
    return 0;
}

static void csv_close(csv_t *c)
{
    free(c->text);
    free(c->lines);
}

static int csv_col(const csv_t *c, const char *name, const char *path, es_err_t *err)
{
    for (size_t i = 0; i < c->nhdr; i++) if (!strcmp(c->hdr[i], name)) return (int)i;
    return es_err_set(err, ES_EINVAL, "%s:1: no column \"%s\"", path, name) * 0 - 1;
}

static void ynum(FILE *y, const char *key, const char *v, bool *first)
{
    char *end;
    double d = strtod(v, &end);
    if (!*v || *end) return;
    fprintf(y, "%s%s: %.9g", *first ? "" : ", ", key, d);
    *first = false;
}

int es_val_import_blis(const char *path, char **yaml, es_err_t *err)
{
    csv_t c;
    int rc = csv_open(path, &c, err);
    if (rc) { csv_close(&c); return rc; }
    static const char *const cols[] = {"exp_folder", "model", "tp", "max_num_batched_tokens", "max_num_seqs",
                                       "precision", "total_kv_blocks_gpu", "cpu_kv_blocks", "workload_profile",
                                       "system_prompt_len", "question_len", "output_len", "num_unique_system_prompts",
                                       "num_users_per_system_prompt", "stages", "stage_index", "actual_e2e_mean",
                                       "actual_e2e_p90", "actual_e2e_p99", "actual_ttft_mean", "actual_ttft_p90",
                                       "actual_ttft_p99", "actual_itl_mean"};
    enum { NC = sizeof cols / sizeof cols[0] };
    int ix[NC];
    for (size_t i = 0; i < NC; i++)
        if ((ix[i] = csv_col(&c, cols[i], path, err)) < 0) { csv_close(&c); return ES_EINVAL; }
    static const char *const figs[] = {"e2e_mean_ms", "e2e_p90_ms", "e2e_p99_ms", "ttft_mean_ms", "ttft_p90_ms",
                                       "ttft_p99_ms", "per_token_ms"};
    char *text = NULL;
    size_t len = 0;
    FILE *y = open_memstream(&text, &len);
    if (!y) { csv_close(&c); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    fprintf(y,
            "# eppsim validation cases: written by `eppsim validate import-blis` from blis-trainval.csv\n"
            "# (docs/validate.md).  The set's settings are the ones ../shared/validation/README.md records\n"
            "# for these runs; each case keeps its own flags and workload as asked.\n"
            "set:\n"
            "  name: blis-trainval\n"
            "  source: \"inference-sim/sim-to-real-accuracy-validation results_trainval/error_records.csv @ dcec3fd4\"\n"
            "  gpu: h100-sxm-80gb\n"
            "  vllm_version: \"0.15.1\"\n"
            "  vllm_args: \"--gpu-memory-utilization 0.9 --block-size 16 --enable-chunked-prefill --enable-prefix-caching "
            "--kv-offloading-size 8 --max-model-len 4096\"\n"
            "  client: inference-perf\n"
            "  client_stamps_per_token: 2\n"
            "  inference_perf_version: 2025-10\n"
            "  notes: \"the inference-perf build ran 10 x 10 prompts whatever G x U was asked, with a 300 s client "
            "timeout; per_token_ms = "
            "(E2E mean - TTFT mean) / (client output_len mean - 1)\"\n"
            "cases:\n");
    char prev[256] = "";
    int open_stages = 0;
    char run_line[1024] = "";
    for (size_t l = 1; l < c.nlines; l++) {
        char *f[64];
        size_t nf = csv_split(c.lines[l], f, 64);
        if (nf < c.nhdr) { rc = es_err_set(err, ES_EINVAL, "%s:%zu: %zu fields, the header has %zu", path, l + 1, nf, c.nhdr); break; }
        const char *exp = f[ix[0]];
        if (strcmp(exp, prev) != 0) {
            if (prev[0]) fprintf(y, "      run: {%s}\n", run_line);
            snprintf(prev, sizeof prev, "%s", exp);
            run_line[0] = '\0';
            open_stages = 0;
            fprintf(y, "  - name: ");
            es_json_write_string(y, exp);
            fprintf(y, "\n    model: ");
            es_json_write_string(y, f[ix[1]]);
            fprintf(y, "\n    vllm_args: \"--tensor-parallel-size %s --max-num-batched-tokens %s --max-num-seqs %s\"\n",
                    f[ix[2]], f[ix[3]], f[ix[4]]);
            fprintf(y, "    logged: {precision: ");
            es_json_write_string(y, f[ix[5]]);
            fprintf(y, ", total_kv_blocks_gpu: %s, cpu_kv_blocks: %s, workload_profile: ", f[ix[6]], f[ix[7]]);
            es_json_write_string(y, f[ix[8]]);
            fprintf(y, "}\n    workload:\n      api: {type: completion, streaming: true}\n"
                       "      data: {type: shared_prefix, shared_prefix: {num_unique_system_prompts: %s, "
                       "num_users_per_system_prompt: %s, system_prompt_len: %s, question_len: %s, output_len: %s}}\n",
                    f[ix[12]], f[ix[13]], f[ix[9]], f[ix[10]], f[ix[11]]);
            fprintf(y, "      load:\n        type: constant\n        stages:\n");
            /* "2.5rps x 600s;6.0rps x 600s" */
            char st[256];
            snprintf(st, sizeof st, "%s", f[ix[14]]);
            for (char *tok = strtok(st, ";"); tok; tok = strtok(NULL, ";")) {
                double rate, dur;
                if (sscanf(tok, " %lfrps x %lfs", &rate, &dur) != 2) {
                    rc = es_err_set(err, ES_EINVAL, "%s:%zu: stages: \"%s\" is not RATErps x DURATIONs", path, l + 1, tok);
                    break;
                }
                fprintf(y, "          - {rate: %.9g, duration: %.9g}\n", rate, dur);
            }
            if (rc) break;
            fprintf(y, "    measured:\n");
        }
        char line[1024] = "";
        bool first = true;
        FILE *lf = fmemopen(line, sizeof line - 1, "w");
        if (!lf) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); break; }
        for (size_t k = 0; k < 7; k++) ynum(lf, figs[k], f[ix[16 + k]], &first);
        fclose(lf);
        int si = atoi(f[ix[15]]);
        if (si < 0) {
            snprintf(run_line, sizeof run_line, "%s", line);
        } else {
            if (si != open_stages) {
                rc = es_err_set(err, ES_EINVAL, "%s:%zu: stage_index %d out of order", path, l + 1, si);
                break;
            }
            if (!open_stages) fprintf(y, "      stages:\n");
            fprintf(y, "        - {%s}\n", line);
            open_stages++;
        }
    }
    if (!rc && prev[0]) fprintf(y, "      run: {%s}\n", run_line);
    fclose(y);
    csv_close(&c);
    if (rc) { free(text); return rc; }
    *yaml = text;
    return 0;
}

int es_val_import_gpustack(const char *path, char **yaml, es_err_t *err)
{
    csv_t c;
    int rc = csv_open(path, &c, err);
    if (rc) { csv_close(&c); return rc; }
    static const char *const cols[] = {"model", "hardware", "workload", "num_requests", "max_concurrency",
                                       "total_input_tokens", "total_output_tokens", "req_throughput",
                                       "output_tok_throughput", "mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms",
                                       "mean_tpot_ms", "median_tpot_ms", "p99_tpot_ms", "mean_itl_ms", "median_itl_ms",
                                       "p99_itl_ms", "source_file", "tp"};
    enum { NC = sizeof cols / sizeof cols[0] };
    int ix[NC];
    for (size_t i = 0; i < NC; i++)
        if ((ix[i] = csv_col(&c, cols[i], path, err)) < 0) { csv_close(&c); return ES_EINVAL; }
    static const char *const figs[] = {"throughput_rps", "output_tokens_per_s", "ttft_mean_ms", "ttft_p50_ms",
                                       "ttft_p99_ms", "tpot_mean_ms", "tpot_p50_ms", "tpot_p99_ms", "itl_mean_ms",
                                       "itl_p50_ms", "itl_p99_ms"};
    char *text = NULL;
    size_t len = 0;
    FILE *y = open_memstream(&text, &len);
    if (!y) { csv_close(&c); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    fprintf(y,
            "# eppsim validation cases: written by `eppsim validate import-gpustack` from\n"
            "# gpustack/vllm-v0.11-baselines.csv (docs/validate.md); settings from ../shared/validation/README.md.\n"
            "set:\n"
            "  name: gpustack-vllm-v0.11\n"
            "  source: \"gpustack/gpustack docs/performance-lab @ 47277d79 (Apache-2.0)\"\n"
            "  vllm_version: \"0.11.0\"\n"
            "  vllm_args: \"\"\n"
            "  client: vllm-bench\n"
            "  client_stamps_per_token: 1\n"
            "  notes: \"vllm serve MODEL with every default; vllm bench serve --backend openai-chat (the chat "
            "template's tokens on every prompt: workloads/vllm_bench.c)\"\n"
            "cases:\n");
    for (size_t l = 1; l < c.nlines && !rc; l++) {
        char *f[64];
        size_t nf = csv_split(c.lines[l], f, 64);
        if (nf < c.nhdr) { rc = es_err_set(err, ES_EINVAL, "%s:%zu: %zu fields, the header has %zu", path, l + 1, nf, c.nhdr); break; }
        const char *hw = f[ix[1]], *wl = f[ix[2]];
        const char *gpu = strstr(hw, "A100") ? "a100-sxm-80gb" : strstr(hw, "H200") ? "h200-sxm" : "h100-sxm-80gb";
        char key[128], name[256];
        es_vllm_model_key(f[ix[0]], key, sizeof key);
        bool share = strncmp(wl, "ShareGPT", 8) == 0;
        int in = 0, out = 0;
        if (!share && sscanf(wl, "random %d in / %d out", &in, &out) != 2) {
            rc = es_err_set(err, ES_EINVAL, "%s:%zu: workload: \"%s\" is neither ShareGPT nor \"random N in / M out\"",
                            path, l + 1, wl);
            break;
        }
        const char *conc = f[ix[4]];
        if (share) snprintf(name, sizeof name, "%s-%.4s-sharegpt%s%s", key, gpu, *conc ? "-c" : "-burst", conc);
        else snprintf(name, sizeof name, "%s-%.4s-random-%d-%d", key, gpu, in, out);
        fprintf(y, "  - name: ");
        es_json_write_string(y, name);
        fprintf(y, "\n    model: ");
        es_json_write_string(y, f[ix[0]]);
        fprintf(y, "\n    gpu: %s\n", gpu);
        const char *tp = f[ix[19]];
        if (strcmp(tp, "TP1") != 0 && strncmp(tp, "TP", 2) == 0) fprintf(y, "    vllm_args: \"-tp %d\"\n", atoi(tp + 2));
        fprintf(y, "    workload: {dataset: %s, num_prompts: %s, ", share ? "sharegpt" : "random", f[ix[3]]);
        if (share) fprintf(y, "total_input_tokens: %s, total_output_tokens: %s", f[ix[5]], f[ix[6]]);
        else fprintf(y, "input_len: %d, output_len: %d", in, out);
        fprintf(y, ", request_rate: inf");
        if (*conc) fprintf(y, ", max_concurrency: %s", conc);
        fprintf(y, "}\n    measured:\n      run: {");
        bool first = true;
        for (size_t k = 0; k < 11; k++) ynum(y, figs[k], f[ix[7 + k]], &first);
        fprintf(y, "}\n");
    }
    fclose(y);
    csv_close(&c);
    if (rc) { free(text); return rc; }
    *yaml = text;
    return 0;
}

