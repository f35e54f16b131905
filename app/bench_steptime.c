/*
 * bench_steptime.c -- `eppsim bench steptime [--gpu G] [--json]`: the
 * step-time models against every measured whole-model point.
 *
 * Each profile in data/profiles/ that holds a `validation_llama-3.1-8b` list
 * (whole Llama-3.1-8B forward passes, CUDA-graph replays, measured by
 * scripts/profile_step.py) is loaded, and every point is recomputed by the
 * three step models with the CPU overhead at 0 (the measurements exclude it)
 * and TP 1: `profile` (the default, the per-layer tables added up), `linear`
 * and `roofline` (their default coefficients).  Printed per point: measured
 * us, model us, ratio model/measured and relative error.  This is a fidelity
 * figure, not a timing: the numbers depend on the tables only.  `--step`
 * evaluates one composition, for closed-form checks (scripts/fidelity).
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "es_cli.h"
#include "es_str.h"
#include "es_paths.h"
#include "es_server.h"
#include "es_steptime.h"
#include "es_util.h"

#define VALIDATION_KEY   "validation_llama-3.1-8b"
#define VALIDATION_MODEL "llama-3.1-8b"
#define MAX_GPUS         32

static char *slurp(const char *path)
{
    char *t;
    return es_file_read(path, &t, NULL) == 0 ? t : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Profile names (file stems) in data/profiles/, sorted; returns the count. */
static int list_gpus(char **names, int max)
{
    char dir[512];
    es_data_path(dir, sizeof dir, "profiles");
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
            names[n] = malloc(len - 4);
            if (!names[n]) break;
            memcpy(names[n], e->d_name, len - 5);
            names[n][len - 5] = 0;
            n++;
        }
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    return n;
}

static uint32_t num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 4e9 ? (uint32_t)v->valuedouble : 0;
}

/* Evaluates every validation point of one GPU; returns points done, -1 on error. */
static int bench_gpu(const char *gpu, int json, int *first_json)
{
    char rel[256], path[768];
    snprintf(rel, sizeof rel, "profiles/%s.json", gpu);
    es_data_path(path, sizeof path, rel);
    char *text = slurp(path);
    if (!text) { fprintf(stderr, "eppsim bench steptime: cannot read %s\n", path); return -1; }
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *pts = root ? cJSON_GetObjectItem(root, VALIDATION_KEY) : NULL;
    if (!cJSON_IsArray(pts)) { cJSON_Delete(root); return 0; }   /* no validation points: skip */

    es_err_t err;
    es_profile_t *prof = NULL;
    if (es_profile_load(gpu, &prof, &err) != 0) {
        fprintf(stderr, "eppsim bench steptime: %s\n", err.msg);
        cJSON_Delete(root);
        return -1;
    }
    const es_profile_model_t *pm = es_profile_model(prof, VALIDATION_MODEL);
    if (!pm) {
        fprintf(stderr, "eppsim bench steptime: %s has no model %s\n", gpu, VALIDATION_MODEL);
        es_profile_destroy(prof);
        cJSON_Delete(root);
        return -1;
    }
    es_server_config_t cfg;
    es_schema_defaults(&es_server_schema, &cfg, &err);
    cfg.cpu_overhead_us = 0;   /* the measurements are GPU time only */
    cfg.tensor_parallel = 1;
    es_steptime_t st[3];
    for (int k = 0; k < 3; k++) {
        cfg.step_model = k;    /* ES_STEP_PROFILE, _LINEAR, _ROOFLINE */
        es_steptime_init(&st[k], &cfg, prof, pm);
    }

    if (!json) {
        printf("%s (%s), %s, TP 1, cpu_overhead_us 0\n", gpu, prof->device, VALIDATION_MODEL);
        printf("  %-7s %6s %5s %5s %11s %11s %6s %7s %11s %11s\n", "kind", "prompt", "batch", "ctx",
               "measured_us", "profile_us", "ratio", "error", "linear_us", "roofline_us");
    }
    int n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, pts) {
        const cJSON *kj = cJSON_GetObjectItem(v, "kind"), *mj = cJSON_GetObjectItem(v, "graph_us");
        if (!cJSON_IsString(kj) || !cJSON_IsNumber(mj)) continue;   /* a failed measurement */
        const char *kind = kj->valuestring;
        uint32_t q = 0, p = 0, B = 0, L = 0;
        if (strcmp(kind, "decode") == 0) { B = num(v, "batch"); L = num(v, "ctx"); }
        else if (strcmp(kind, "prefill") == 0) q = num(v, "tokens");
        else { q = num(v, "prefill_tokens"); B = num(v, "batch"); L = num(v, "ctx"); }
        es_step_comp_t c = {q ? 1 : 0, &q, &p, B, (uint64_t)B * L, (q ? 1 : 0) + B};
        double meas = mj->valuedouble, got[3];
        for (int k = 0; k < 3; k++) got[k] = es_steptime_us(&st[k], &c);
        double ratio = got[0] / meas;
        if (json) {
            printf("%s{\"gpu\":\"%s\",\"kind\":\"%s\",\"prompt_tokens\":%u,\"batch\":%u,\"ctx\":%u,"
                   "\"measured_us\":%.1f,\"model_us\":%.1f,\"ratio\":%.4f,\"error\":%.4f,"
                   "\"linear_us\":%.1f,\"roofline_us\":%.1f}",
                   *first_json ? "" : ",\n", gpu, kind, q, B, L, meas, got[0], ratio, ratio - 1, got[1], got[2]);
            *first_json = 0;
        } else {
            printf("  %-7s %6u %5u %5u %11.1f %11.1f %6.3f %+6.1f%% %11.1f %11.1f\n", kind, q, B, L, meas,
                   got[0], ratio, 100 * (ratio - 1), got[1], got[2]);
        }
        n++;
    }
    es_schema_fini(&es_server_schema, &cfg);
    es_profile_destroy(prof);
    cJSON_Delete(root);
    return n;
}

/* --step: one composition through the server's model with the default server
 * settings (overhead included unless --overhead-us says otherwise). */
static int step_query(const char *gpu, const char *model, int tp, double overhead, const char *spec)
{
    unsigned q, p, B, L;
    if (sscanf(spec, "%u,%u,%u,%u", &q, &p, &B, &L) != 4) {
        fprintf(stderr, "eppsim bench steptime: --step wants PROMPT,CACHED,BATCH,CTX (e.g. 2048,0,0,0)\n");
        return ES_EXIT_USAGE;
    }
    es_err_t err;
    es_profile_t *prof = NULL;
    if (es_profile_open(gpu, model, NULL, NULL, &prof, &err) != 0) {   /* a config.json model too */
        fprintf(stderr, "eppsim bench steptime: %s\n", err.msg);
        return ES_EXIT_USAGE;
    }
    const es_profile_model_t *pm = es_profile_model(prof, model);
    if (!pm) {
        fprintf(stderr, "eppsim bench steptime: %s has no model %s\n", gpu, model);
        es_profile_destroy(prof);
        return ES_EXIT_USAGE;
    }
    es_server_config_t cfg;
    es_schema_defaults(&es_server_schema, &cfg, &err);
    cfg.tensor_parallel = tp;
    if (overhead >= 0) cfg.cpu_overhead_us = overhead;
    es_steptime_t st;
    es_steptime_init(&st, &cfg, prof, pm);
    uint32_t qq = q, pp = p;
    es_step_comp_t c = {q ? 1 : 0, &qq, &pp, B, (uint64_t)B * L, (q ? 1 : 0) + B};
    printf("%.3f\n", es_steptime_us(&st, &c));
    es_schema_fini(&es_server_schema, &cfg);
    es_profile_destroy(prof);
    return ES_EXIT_OK;
}

int es_bench_steptime(int argc, char **argv)
{
    int json = 0, tp = 1;
    const char *only = NULL, *model = VALIDATION_MODEL, *step = NULL;
    double overhead = -1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--model-config") == 0 || strcmp(argv[i], "--fit") == 0 || strcmp(argv[i], "--fit-gpu") == 0)
            return es_bench_steptime_any(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--gpu") == 0 && i + 1 < argc) only = argv[++i];
        else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) model = argv[++i];
        else if (strcmp(argv[i], "--tp") == 0 && i + 1 < argc) tp = atoi(argv[++i]);
        else if (strcmp(argv[i], "--overhead-us") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            char *end;
            overhead = es_strtod(v, &end);
            if (end == v || *end || overhead < 0 || overhead > 1e6) {
                fprintf(stderr, "eppsim bench steptime: --overhead-us: '%s' is not a number in [0, 1e6]\n", v);
                return ES_EXIT_USAGE;
            }
        }
        else if (strcmp(argv[i], "--step") == 0 && i + 1 < argc) step = argv[++i];
        else if (es_cli_is_help(argv[i])) {
            printf("usage: eppsim bench steptime [--gpu GPU] [--json]\n"
                   "       eppsim bench steptime --step PROMPT,CACHED,BATCH,CTX [--gpu GPU] [--model M] [--tp N]\n"
                   "                             [--overhead-us US]\n"
                   "       eppsim bench steptime --model-config CONFIG.json|MODEL [--gpu GPU] [--tp N] [--coeffs FILE]\n"
                   "                             [--gpus DATASHEET] [--overhead-us US] [--json]\n"
                   "       eppsim bench steptime --fit [--fit-gpu GPU] [--coeffs FILE]\n\n"
                   "Every whole-model point of each profile's " VALIDATION_KEY " list against\n"
                   "the step-time models (TP 1, cpu_overhead_us 0): measured us, the profile model's\n"
                   "us, ratio model/measured, error, and the linear and roofline models' us.\n"
                   "--json prints {\"bench\":\"steptime\",\"points\":[...]} with the same fields.\n"
                   "--step prints the us of one step (a PROMPT-token chunk over CACHED tokens plus BATCH\n"
                   "decodes of CTX keys each) with the default server settings, overhead included\n"
                   "unless --overhead-us is given (default GPU h100-sxm-80gb).\n"
                   "--model-config prints the analytic (any-model) step time of decode batches 1/32/128 at\n"
                   "1k/4k keys and prefills of 512/2048/8192 tokens, term by term (overhead 0 by default).\n"
                   "--fit fits the analytic coefficients to the measured points and prints them as YAML,\n"
                   "with the error on the profile tables of the models not fitted (docs/server.md).\n");
            return ES_EXIT_OK;
        } else {
            fprintf(stderr, "eppsim bench steptime: unknown option '%s'\n", argv[i]);
            return ES_EXIT_USAGE;
        }
    }
    if (tp < 1 || tp > 8) { fprintf(stderr, "eppsim bench steptime: --tp 1..8\n"); return ES_EXIT_USAGE; }
    if (step) return step_query(only ? only : "h100-sxm-80gb", model, tp, overhead, step);
    char *gpus[MAX_GPUS];
    int ngpu = list_gpus(gpus, MAX_GPUS), total = 0, rc = ES_EXIT_OK, first = 1;
    if (json) printf("{\"bench\":\"steptime\",\"model\":\"" VALIDATION_MODEL "\",\"points\":[\n");
    for (int g = 0; g < ngpu; g++) {
        if (rc == ES_EXIT_OK && (!only || strcmp(only, gpus[g]) == 0)) {
            int n = bench_gpu(gpus[g], json, &first);
            if (n < 0) rc = ES_EXIT_USAGE;
            else total += n;
        }
        free(gpus[g]);
    }
    if (json) printf("]}\n");
    if (rc == ES_EXIT_OK && total == 0) {
        fprintf(stderr, "eppsim bench steptime: no validation points%s%s\n", only ? " for GPU " : "",
                only ? only : "");
        rc = ES_EXIT_USAGE;
    }
    return rc;
}
