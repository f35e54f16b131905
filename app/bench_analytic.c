/*
 * bench_analytic.c -- the any-model step time from the command line.
 *
 *   eppsim bench steptime --model-config F [--gpu G] [--tp N] [--coeffs FILE]
 *                         [--gpus FILE] [--overhead-us US] [--json]
 * prints the decode (batch 1/32/128 at 1k and 4k keys) and prefill
 * (512/2048/8192 tokens) step times of any model, term by term.
 *
 *   eppsim bench steptime --fit [--fit-gpu GPU] [--coeffs FILE]
 * fits the analytic model's coefficients to the measured whole-model points
 * of every shipped profile (validation_llama-3.1-8b, CUDA-graph replays, no
 * CPU overhead): Nelder-Mead (GSL) on the squared log error, starting from
 * FILE (default data/steptime-coeffs.yaml).  The link terms are not fitted
 * (the profiles are TP 1).  Prints the fitted YAML block, the error per
 * point, and, held out, the error against the profile tables of every other
 * model the profiles measured (qwen3-8b, qwen3-32b, llama-3.2-3b).  --fit-gpu
 * fits on one GPU's points and holds the other GPU's out.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <gsl/gsl_multimin.h>

#include "es_cli.h"
#include "es_paths.h"
#include "es_server.h"
#include "es_steptime.h"
#include "es_util.h"

#define FIT_MODEL "llama-3.1-8b"
#define MAXPTS    64

typedef struct comp {
    char     label[48];
    uint32_t q, p, B, L;
} comp_t;

static es_step_comp_t mkcomp(const comp_t *k, uint32_t *q, uint32_t *p)
{
    *q = k->q; *p = k->p;
    es_step_comp_t c = {k->q ? 1 : 0, q, p, k->B, (uint64_t)k->B * k->L, (k->q ? 1 : 0) + k->B};
    return c;
}

static const comp_t k_grid[] = {
    {"decode B=1 @1k", 0, 0, 1, 1024},     {"decode B=32 @1k", 0, 0, 32, 1024},
    {"decode B=128 @1k", 0, 0, 128, 1024}, {"decode B=1 @4k", 0, 0, 1, 4096},
    {"decode B=32 @4k", 0, 0, 32, 4096},   {"decode B=128 @4k", 0, 0, 128, 4096},
    {"prefill 512", 512, 0, 0, 0},         {"prefill 2048", 2048, 0, 0, 0},
    {"prefill 8192", 8192, 0, 0, 0},
};
#define NGRID (sizeof k_grid / sizeof k_grid[0])

static void cfg_for(es_server_config_t *cfg, int kind, int tp, double overhead)
{
    es_err_t err;
    es_schema_defaults(&es_server_schema, cfg, &err);
    cfg->step_model = kind;
    cfg->tensor_parallel = tp;
    cfg->cpu_overhead_us = overhead;
}

/* ---- --model-config ---- */

static int bench_model(const char *model, const char *gpu, int tp, const char *coeffs, const char *gpus,
                       double overhead, int json)
{
    es_err_t err;
    es_profile_t *prof = NULL;
    if (es_profile_open(gpu, model, gpus, coeffs, &prof, &err) != 0) {
        fprintf(stderr, "eppsim bench steptime: %s\n", err.msg);
        return ES_EXIT_USAGE;
    }
    const es_profile_model_t *pm = es_profile_model(prof, model);
    if (!pm) {
        char list[512];
        es_profile_model_list(prof, list, sizeof list);
        fprintf(stderr, "eppsim bench steptime: no model \"%s\" in GPU \"%s\" (it has: %s; or give a config.json "
                "path)\n", model, gpu, list);
        es_profile_destroy(prof);
        return ES_EXIT_USAGE;
    }
    const es_model_shape_t *m = &pm->shape;
    es_server_config_t cfg;
    cfg_for(&cfg, ES_STEP_ANALYTIC, tp, overhead);
    es_steptime_t st, sp;
    es_steptime_init(&st, &cfg, prof, pm);
    int tables = es_profile_model_has_tables(pm);
    if (tables) {
        cfg.step_model = ES_STEP_PROFILE;
        es_steptime_init(&sp, &cfg, prof, pm);
    }
    if (json) {
        printf("{\"bench\":\"steptime\",\"model\":\"%s\",\"gpu\":\"%s\",\"tp\":%d,\"step_model\":\"analytic\","
               "\"params\":%.0f,\"active_params\":%.0f,\"weight_bytes\":%.0f,\"kv_bytes_per_token\":%.0f,"
               "\"points\":[\n", pm->name, gpu, tp, m->params_total, m->params_active, m->weight_bytes,
               es_model_kv_bytes_per_token(m, 1));
    } else {
        printf("%s: %.2fB params (%.2fB active), %.2f GiB weights (%s), KV %.0f KiB/token; %d layers, hidden %u, "
               "%u/%u heads", strcmp(pm->source, "profile") == 0 ? pm->name : pm->source, m->params_total / 1e9, m->params_active / 1e9,
               m->weight_bytes / ES_GIB, m->fp8 ? "fp8" : "16-bit", es_model_kv_bytes_per_token(m, 1) / 1024,
               m->layers, m->hidden, m->heads, m->kv_heads);
        if (m->experts) printf(", %u experts top-%u", m->experts, m->top_k);
        printf("\nGPU %s (%s), TP %d; step model analytic (%s), cpu_overhead_us %g\n", gpu, prof->device, tp,
               prof->coeffs.file, overhead);
        printf("  %-17s %9s %9s %9s %9s %9s %9s %9s %9s%s\n", "step", "total_us", "gemm_us", "attn_us", "weight_us",
               "kv_us", "comm_us", "fixed_us", "experts", tables ? " profile_us" : "");
    }
    for (size_t i = 0; i < NGRID; i++) {
        uint32_t q, p;
        es_step_comp_t c = mkcomp(&k_grid[i], &q, &p);
        es_step_terms_t o;
        es_steptime_terms(&st, &c, &o);
        double prof_us = tables ? es_steptime_us(&sp, &c) : 0;
        if (json) {
            printf("%s{\"step\":\"%s\",\"prompt_tokens\":%u,\"batch\":%u,\"ctx\":%u,\"total_us\":%.1f,"
                   "\"gemm_us\":%.1f,\"attn_us\":%.1f,\"weight_us\":%.1f,\"kv_us\":%.1f,\"comm_us\":%.1f,"
                   "\"fixed_us\":%.1f,\"experts_touched\":%.2f",
                   i ? ",\n" : "", k_grid[i].label, k_grid[i].q, k_grid[i].B, k_grid[i].L, o.total_us, o.gemm_us,
                   o.attn_us, o.weight_us, o.kv_us, o.comm_us, o.fixed_us, o.experts_touched);
            if (tables) printf(",\"profile_us\":%.1f", prof_us);
            printf("}");
        } else {
            printf("  %-17s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.2f", k_grid[i].label, o.total_us, o.gemm_us,
                   o.attn_us, o.weight_us, o.kv_us, o.comm_us, o.fixed_us, o.experts_touched);
            if (tables) printf(" %10.1f", prof_us);
            printf("\n");
        }
    }
    if (json) printf("]}\n");
    es_schema_fini(&es_server_schema, &cfg);
    es_profile_destroy(prof);
    return ES_EXIT_OK;
}

/* ---- --fit ---- */

typedef struct fitpt {
    es_profile_t *prof;
    comp_t        k;
    double        meas_us;
    int           held;      /* held out (--fit-gpu names another GPU) */
} fitpt_t;

typedef struct fitctx {
    fitpt_t          pt[MAXPTS];
    int              n;
    es_profile_t    *profs[8];
    int              nprof;
    es_step_coeffs_t base;
} fitctx_t;

/* A count from a validation file; one no uint32 holds reads as 0 (skipped). */
static uint32_t num_u32(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 4e9 ? (uint32_t)v->valuedouble : 0;
}

static double logistic(double x) { return 1.0 / (1.0 + exp(-x)); }
static double logit(double p) { return log(p / (1.0 - p)); }

/* x: logit gemm, attn, hbm; log layer_us, step_us; log(smooth - 1) */
static void coeffs_of(const fitctx_t *f, const gsl_vector *x, es_step_coeffs_t *k)
{
    *k = f->base;
    k->gemm_eff = logistic(gsl_vector_get(x, 0));
    k->attn_eff = logistic(gsl_vector_get(x, 1));
    k->hbm_eff = logistic(gsl_vector_get(x, 2));
    k->layer_us = exp(gsl_vector_get(x, 3));
    k->step_us = exp(gsl_vector_get(x, 4));
    k->smooth = 1.0 + exp(gsl_vector_get(x, 5));
    if (k->smooth > 60) k->smooth = 60;
}

static double eval_point(es_profile_t *prof, const es_step_coeffs_t *k, const comp_t *kc, int kind,
                         const es_profile_model_t *pm)
{
    prof->coeffs = *k;
    es_server_config_t cfg;
    cfg_for(&cfg, kind, 1, 0);
    es_steptime_t st;
    es_steptime_init(&st, &cfg, prof, pm);
    uint32_t q, p;
    es_step_comp_t c = mkcomp(kc, &q, &p);
    double us = es_steptime_us(&st, &c);
    es_schema_fini(&es_server_schema, &cfg);
    return us;
}

static double objective(const gsl_vector *x, void *ud)
{
    fitctx_t *f = ud;
    es_step_coeffs_t k;
    coeffs_of(f, x, &k);
    double s = 0;
    for (int i = 0; i < f->n; i++) {
        if (f->pt[i].held) continue;
        const es_profile_model_t *pm = es_profile_model(f->pt[i].prof, FIT_MODEL);
        double e = log(eval_point(f->pt[i].prof, &k, &f->pt[i].k, ES_STEP_ANALYTIC, pm) / f->pt[i].meas_us);
        s += e * e;
    }
    return s;
}

static int load_points(fitctx_t *f, const char *coeffs, const char *only)
{
    static const char *const gpus[] = {"h100-sxm-80gb", "h200-sxm"};
    for (int g = 0; g < 2; g++) {
        char rel[128], path[1024];
        snprintf(rel, sizeof rel, "profiles/%s.json", gpus[g]);
        es_data_path(path, sizeof path, rel);
        char *text;
        if (es_file_read(path, &text, NULL) != 0) { fprintf(stderr, "eppsim bench steptime: cannot read %s\n", path); return -1; }
        cJSON *root = text ? cJSON_Parse(text) : NULL;
        free(text);
        es_err_t err;
        es_profile_t *prof;
        if (es_profile_open(gpus[g], FIT_MODEL, NULL, coeffs, &prof, &err) != 0) {
            fprintf(stderr, "eppsim bench steptime: %s\n", err.msg);
            cJSON_Delete(root);
            return -1;
        }
        f->profs[f->nprof++] = prof;
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(root, "validation_llama-3.1-8b")) {
            const cJSON *kj = cJSON_GetObjectItem(v, "kind"), *mj = cJSON_GetObjectItem(v, "graph_us");
            if (!cJSON_IsString(kj) || !cJSON_IsNumber(mj) || f->n >= MAXPTS) continue;
            fitpt_t *pt = &f->pt[f->n++];
            pt->prof = prof;
            pt->meas_us = mj->valuedouble;
            pt->held = only && strcmp(only, gpus[g]) != 0;
            const char *kind = kj->valuestring;
#define NUM(key) num_u32(cJSON_GetObjectItem(v, key))
            memset(&pt->k, 0, sizeof pt->k);
            if (strcmp(kind, "decode") == 0) { pt->k.B = NUM("batch"); pt->k.L = NUM("ctx"); }
            else if (strcmp(kind, "prefill") == 0) pt->k.q = NUM("tokens");
            else { pt->k.q = NUM("prefill_tokens"); pt->k.B = NUM("batch"); pt->k.L = NUM("ctx"); }
#undef NUM
            snprintf(pt->k.label, sizeof pt->k.label, "%s q=%u B=%u L=%u", kind, pt->k.q, pt->k.B, pt->k.L);
        }
        cJSON_Delete(root);
        if (g == 0) f->base = prof->coeffs;
    }
    return 0;
}

/* The profile points as data of `eppsim calibrate --fit steptime`: the sum
 * over the shipped profiles' whole-model points of |ln(analytic / measured)|
 * at coefficients k, and their count in *n. */
struct es_profile_points {
    fitctx_t f;
};

int es_profile_points_open(es_profile_points_t **out)
{
    es_profile_points_t *p = calloc(1, sizeof *p);
    if (!p) return -1;
    if (load_points(&p->f, NULL, NULL) != 0 || p->f.n == 0) {
        es_profile_points_close(p);
        return -1;
    }
    *out = p;
    return 0;
}

double es_profile_points_loss(es_profile_points_t *p, const es_step_coeffs_t *k, int *n)
{
    double s = 0;
    for (int i = 0; i < p->f.n; i++) {
        const es_profile_model_t *pm = es_profile_model(p->f.pt[i].prof, FIT_MODEL);
        s += fabs(log(eval_point(p->f.pt[i].prof, k, &p->f.pt[i].k, ES_STEP_ANALYTIC, pm) / p->f.pt[i].meas_us));
    }
    if (n) *n = p->f.n;
    return s;
}

void es_profile_points_close(es_profile_points_t *p)
{
    if (!p) return;
    for (int i = 0; i < p->f.nprof; i++) es_profile_destroy(p->f.profs[i]);
    free(p);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void summary(const char *what, double *e, int n)
{
    qsort(e, (size_t)n, sizeof *e, cmp_dbl);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += e[i];
    printf("  %-34s n=%-3d median |error| %5.1f %%  mean %5.1f %%  worst %5.1f %%\n", what, n,
           100 * (n % 2 ? e[n / 2] : (e[n / 2 - 1] + e[n / 2]) / 2), 100 * sum / n, 100 * e[n - 1]);
}

static int fit(const char *coeffs, const char *only)
{
    fitctx_t *f = calloc(1, sizeof *f);
    if (!f) return ES_EXIT_USAGE;
    int rc = ES_EXIT_OK;
    if (load_points(f, coeffs, only) != 0 || f->n == 0) { rc = ES_EXIT_USAGE; goto done; }
    int nfit = 0;
    for (int i = 0; i < f->n; i++) nfit += !f->pt[i].held;
    if (nfit == 0) {
        fprintf(stderr, "eppsim bench steptime: --fit-gpu %s: no measured points (h100-sxm-80gb or h200-sxm)\n", only);
        rc = ES_EXIT_USAGE;
        goto done;
    }
    es_step_coeffs_t k0 = f->base;
    gsl_vector *x = gsl_vector_alloc(6), *step = gsl_vector_alloc(6);
    gsl_vector_set(x, 0, logit(k0.gemm_eff));
    gsl_vector_set(x, 1, logit(k0.attn_eff));
    gsl_vector_set(x, 2, logit(k0.hbm_eff < 0.999 ? k0.hbm_eff : 0.999));
    gsl_vector_set(x, 3, log(k0.layer_us > 1e-3 ? k0.layer_us : 1e-3));
    gsl_vector_set(x, 4, log(k0.step_us > 1e-3 ? k0.step_us : 1e-3));
    gsl_vector_set(x, 5, log(k0.smooth > 1.001 ? k0.smooth - 1 : 1e-3));
    gsl_vector_set_all(step, 0.5);
    gsl_multimin_function fn = {objective, 6, f};
    gsl_multimin_fminimizer *mz = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, 6);
    gsl_multimin_fminimizer_set(mz, &fn, x, step);
    int iter = 0;
    /* restarts shake Nelder-Mead out of a collapsed simplex */
    for (int round = 0; round < 4; round++) {
        for (int it = 0; it < 4000; it++, iter++) {
            if (gsl_multimin_fminimizer_iterate(mz)) break;
            if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(mz), 1e-7) == GSL_SUCCESS) break;
        }
        gsl_vector_memcpy(x, gsl_multimin_fminimizer_x(mz));
        gsl_multimin_fminimizer_set(mz, &fn, x, step);
    }
    es_step_coeffs_t k;
    coeffs_of(f, gsl_multimin_fminimizer_x(mz), &k);
    double rms = sqrt(gsl_multimin_fminimizer_minimum(mz) / nfit);
    printf("# fitted by `eppsim bench steptime --fit%s%s` (%d Nelder-Mead iterations) on the %d whole-model points\n"
           "# of %s validation_llama-3.1-8b; rms log error %.4f\n", only ? " --fit-gpu " : "", only ? only : "",
           iter, nfit, only ? only : "data/profiles/{h100-sxm-80gb,h200-sxm}.json", rms);
    printf("analytic:\n  gemm_efficiency: %.4f\n  attention_efficiency: %.4f\n  hbm_efficiency: %.4f\n"
           "  link_efficiency: %.4g\n  allreduce_latency_us: %.4g\n  layer_us: %.3f\n  step_us: %.2f\n"
           "  smoothness: %.3f\n", k.gemm_eff, k.attn_eff, k.hbm_eff, k.link_eff, k.allreduce_us, k.layer_us,
           k.step_us, k.smooth);
    double err[MAXPTS * 8];
    for (int held = 0; held < 2; held++) {
        int n = 0;
        for (int i = 0; i < f->n; i++) {
            if (f->pt[i].held != held) continue;
            if (n == 0)
                printf("\n%s points (analytic vs measured, CUDA graphs, no CPU overhead):\n",
                       held ? "held-out (the other GPU's)" : "fitted");
            const es_profile_model_t *pm = es_profile_model(f->pt[i].prof, FIT_MODEL);
            double us = eval_point(f->pt[i].prof, &k, &f->pt[i].k, ES_STEP_ANALYTIC, pm);
            err[n++] = fabs(us / f->pt[i].meas_us - 1);
            printf("  %-14s %-32s measured %9.1f  analytic %9.1f  %+6.1f %%\n", f->pt[i].prof->gpu, f->pt[i].k.label,
                   f->pt[i].meas_us, us, 100 * (us / f->pt[i].meas_us - 1));
        }
        if (n) summary(held ? "held out (llama-3.1-8b, other GPU)" : "fitted (llama-3.1-8b)", err, n);
    }
    /* held out: the other models' profile tables over the same grid */
    printf("\nheld out (analytic vs the profile tables of models not fitted, TP 1, no CPU overhead):\n");
    for (int g = 0; g < f->nprof; g++) {
        es_profile_t *prof = f->profs[g];
        for (uint32_t mi = 0; mi < prof->nmodels; mi++) {
            const es_profile_model_t *pm = &prof->models[mi];
            if (strcmp(pm->name, FIT_MODEL) == 0 || !es_profile_model_has_tables(pm)) continue;
            int n = 0;
            for (size_t i = 0; i < NGRID; i++) {
                double a = eval_point(prof, &k, &k_grid[i], ES_STEP_ANALYTIC, pm);
                double t = eval_point(prof, &k, &k_grid[i], ES_STEP_PROFILE, pm);
                err[n++] = fabs(a / t - 1);
            }
            char what[96];
            snprintf(what, sizeof what, "%s %s", prof->gpu, pm->name);
            summary(what, err, n);
        }
    }
    gsl_multimin_fminimizer_free(mz);
    gsl_vector_free(x);
    gsl_vector_free(step);
done:
    for (int g = 0; g < f->nprof; g++) es_profile_destroy(f->profs[g]);
    free(f);
    return rc;
}

int es_bench_steptime_any(int argc, char **argv)
{
    const char *model = NULL, *gpu = "h100-sxm-80gb", *coeffs = NULL, *gpus = NULL, *only = NULL;
    int tp = 1, json = 0, do_fit = 0;
    double overhead = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model-config") == 0 && i + 1 < argc) model = argv[++i];
        else if (strcmp(argv[i], "--gpu") == 0 && i + 1 < argc) gpu = argv[++i];
        else if (strcmp(argv[i], "--tp") == 0 && i + 1 < argc) tp = atoi(argv[++i]);
        else if (strcmp(argv[i], "--coeffs") == 0 && i + 1 < argc) coeffs = argv[++i];
        else if (strcmp(argv[i], "--gpus") == 0 && i + 1 < argc) gpus = argv[++i];
        else if (strcmp(argv[i], "--overhead-us") == 0 && i + 1 < argc) overhead = atof(argv[++i]);
        else if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--fit") == 0) do_fit = 1;
        else if (strcmp(argv[i], "--fit-gpu") == 0 && i + 1 < argc) { do_fit = 1; only = argv[++i]; }
        else {
            fprintf(stderr, "eppsim bench steptime: unknown option '%s' (with --model-config or --fit)\n", argv[i]);
            return ES_EXIT_USAGE;
        }
    }
    if (tp != 1 && tp != 2 && tp != 4 && tp != 8) {
        fprintf(stderr, "eppsim bench steptime: --tp is 1, 2, 4 or 8\n");
        return ES_EXIT_USAGE;
    }
    if (do_fit) return fit(coeffs, only);
    return bench_model(model, gpu, tp, coeffs, gpus, overhead, json);
}
