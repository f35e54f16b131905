/*
 * cmd_calibrate.c -- `eppsim calibrate RUN... -o coeffs.yaml`: fits the free
 * coefficients of server.vllm_fidelity (the API server's latency and CPU per
 * request, the engine's non-overlapped CPU per step) to real runs, with the
 * simulator in the loop: every evaluation replays the runs (es_val_replay) on
 * the libuv thread pool, and GSL's Nelder-Mead simplex minimises the sum over
 * runs of |ln(simulated / measured)| of E2E mean, TTFT mean and per-token
 * time (whole run): absolute, so that a few overloaded runs do not outweigh
 * the median run (the targets are median APEs).  --holdout loeo|lomo refits without each experiment or
 * each model and reports the error on the runs left out.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_multimin.h>
#include <uv.h>

#include "es_cli.h"
#include "es_server_config.h"
#include "es_validate.h"

#define NP 3
static const char *const k_param[NP] = {"api_latency_us", "api_request_us", "engine_sync_us"};
static const double k_scale[NP] = {10000, 1000, 100};   /* us; a coefficient is scale * x^2 (never < 0) */
static const int k_fig[] = {ES_VF_E2E_MEAN, ES_VF_TTFT_MEAN, ES_VF_PER_TOKEN};
#define NFIG (sizeof k_fig / sizeof k_fig[0])

typedef struct cal {
    es_val_run_t           *base;     /* loaded runs, experiments as loaded */
    es_val_run_t           *work;     /* the copies replayed */
    size_t                  n;
    const es_val_options_t *opt;
    int                     jobs;
    bool                   *in;       /* runs of the objective */
    unsigned                evals;
    bool                    verbose;
} cal_t;

typedef struct job {
    uv_work_t               req;
    es_val_run_t           *run;
    const es_val_options_t *opt;
} job_t;

static void work(uv_work_t *req) { job_t *j = req->data; es_val_replay(j->run, j->opt); }
static void after(uv_work_t *req, int status) { (void)req; (void)status; }

static double coeff(const gsl_vector *x, int k) { double v = gsl_vector_get(x, (size_t)k); return k_scale[k] * v * v; }

/* The run's experiment with the coefficients set in its server block. */
static char *patched(const char *yaml, const double *c)
{
    char add[512];
    int m = 0;
    for (int k = 0; k < NP; k++) m += snprintf(add + m, sizeof add - (size_t)m, "  %s: %.6g\n", k_param[k], c[k]);
    const char *at = strstr(yaml, "\nserver:\n");
    size_t len = strlen(yaml), cut = at ? (size_t)(at - yaml) + 9 : len;
    char *out = malloc(len + (size_t)m + 16);
    if (!out) return NULL;
    memcpy(out, yaml, cut);
    size_t o = cut;
    if (!at) o += (size_t)sprintf(out + o, "\nserver:\n");
    memcpy(out + o, add, (size_t)m);
    memcpy(out + o + (size_t)m, yaml + cut, len - cut + 1);
    return out;
}

/* Replays the runs with mask[i] at coefficients c (on the thread pool). */
static int replay(cal_t *cal, const double *c, const bool *mask)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop)) return -1;
    job_t *js = calloc(cal->n, sizeof *js);
    if (!js) { uv_loop_close(&loop); return -1; }
    for (size_t i = 0; i < cal->n; i++) {
        if (!mask[i]) continue;
        free(cal->work[i].experiment);
        cal->work[i] = cal->base[i];
        cal->work[i].experiment = patched(cal->base[i].experiment, c);
        if (!cal->work[i].experiment) { cal->work[i].rc = -1; continue; }
        js[i] = (job_t){.run = &cal->work[i], .opt = cal->opt};
        js[i].req.data = &js[i];
        if (uv_queue_work(&loop, &js[i].req, work, after)) es_val_replay(&cal->work[i], cal->opt);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(js);
    return 0;
}

static double run_loss(const es_val_run_t *r)
{
    if (r->rc != 0) return 30.0;   /* a run that cannot be simulated weighs like a 10^13x miss */
    double l = 0;
    for (size_t f = 0; f < NFIG; f++) {
        double m = r->measured[r->nstages].v[k_fig[f]], s = r->simulated[r->nstages].v[k_fig[f]];
        if (isfinite(m) && isfinite(s) && m > 0 && s > 0) l += fabs(log(s / m));
    }
    return l;
}

static double objective(const gsl_vector *x, void *ud)
{
    cal_t *cal = ud;
    double c[NP];
    for (int k = 0; k < NP; k++) c[k] = coeff(x, k);
    if (replay(cal, c, cal->in)) return GSL_POSINF;
    cal->evals++;
    double l = 0;
    for (size_t i = 0; i < cal->n; i++)
        if (cal->in[i]) l += run_loss(&cal->work[i]);
    if (cal->verbose)
        fprintf(stderr, "  eval %3u: %s %.0f, %s %.0f, %s %.0f us -> %.5f\n", cal->evals, k_param[0], c[0], k_param[1],
                c[1], k_param[2], c[2], l);
    return l;
}

/* Nelder-Mead from x (updated in place). */
static double fit(cal_t *cal, gsl_vector *x, int iters)
{
    gsl_multimin_function fn = {objective, NP, cal};
    gsl_multimin_fminimizer *m = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, NP);
    gsl_vector *step = gsl_vector_alloc(NP);
    gsl_vector_set_all(step, 0.25);
    gsl_multimin_fminimizer_set(m, &fn, x, step);
    for (int it = 0; it < iters; it++) {
        if (gsl_multimin_fminimizer_iterate(m)) break;
        if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(m), 0.02) == GSL_SUCCESS) break;
    }
    gsl_vector_memcpy(x, gsl_multimin_fminimizer_x(m));
    double best = gsl_multimin_fminimizer_minimum(m);
    gsl_vector_free(step);
    gsl_multimin_fminimizer_free(m);
    return best;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median APE over runs of each figure, and rows off by more than 2x. */
static void report(FILE *f, const char *what, const es_val_run_t *runs, size_t n)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    int off = 0;
    fprintf(f, "%-34s", what);
    for (size_t q = 0; v && q < NFIG; q++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            const es_val_run_t *r = &runs[i];
            if (r->rc) continue;
            double m = r->measured[r->nstages].v[k_fig[q]], s = r->simulated[r->nstages].v[k_fig[q]];
            double a = es_val_ape(m, s);
            if (isnan(a)) continue;
            v[k++] = a;
            if (s > 2 * m || s < m / 2) off++;
        }
        qsort(v, k, sizeof *v, cmp_d);
        double med = k == 0 ? NAN : k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
        fprintf(f, " %9.1f", med);
    }
    fprintf(f, " %9d\n", off);
    free(v);
}

/* The model a run replays (its server.model line), for leave-one-model-out. */
static void model_of(const es_val_run_t *r, char *buf, size_t size)
{
    const char *m = strstr(r->experiment, "\n  model: ");
    buf[0] = '\0';
    if (!m) return;
    m += 10;
    const char *e = strchr(m, '\n');
    size_t len = e ? (size_t)(e - m) : strlen(m);
    const char *slash = memchr(m, '/', len);
    while (slash) {   /* basename */
        len -= (size_t)(slash + 1 - m);
        m = slash + 1;
        slash = memchr(m, '/', len);
    }
    while (len && (m[len - 1] == '"' || m[len - 1] == '\'' || m[len - 1] == ' ')) len--;
    snprintf(buf, size, "%.*s", (int)len, m);
}

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: eppsim calibrate [options] RUN... -o COEFFS.yaml\n\n"
               "Fits server.vllm_fidelity's free coefficients (%s, %s, %s) to real runs\n"
               "(the sources `eppsim validate` reads), simulator in the loop on the thread pool (GSL\n"
               "Nelder-Mead on |ln(simulated/measured)| of E2E mean, TTFT mean and per-token time), and\n"
               "writes them as a server: block with their data and fit in comments.\n\n"
               "options:\n"
               "  -o, --out FILE             the coefficients (YAML; required)\n"
               "      --holdout H            none (default), loeo (leave one experiment out) or lomo (leave\n"
               "                             one model out): refit per fold, report the runs left out\n"
               "      --iterations N         simplex iterations of the full fit (default 30; folds: half)\n"
               "  -j, --jobs N               replays at once (default: CPUs)\n"
               "      --model-configs DIR, --gpu NAME, --vllm-version V, --vllm-args ARGS,\n"
               "      --inference-perf-version V, --client-stamps N, -s/--seed N: as eppsim validate\n"
               "  -v, --verbose              every evaluation on stderr\n",
            k_param[0], k_param[1], k_param[2]);
    return rc;
}

int es_cmd_calibrate(int argc, char **argv)
{
    enum { O_MC = 256, O_GPU, O_VER, O_ARGS, O_STAMPS, O_IPV, O_HOLD, O_ITER };
    static const struct option lo[] = {
        {"out", required_argument, NULL, 'o'}, {"holdout", required_argument, NULL, O_HOLD},
        {"iterations", required_argument, NULL, O_ITER}, {"jobs", required_argument, NULL, 'j'},
        {"model-configs", required_argument, NULL, O_MC}, {"gpu", required_argument, NULL, O_GPU},
        {"vllm-version", required_argument, NULL, O_VER}, {"vllm-args", required_argument, NULL, O_ARGS},
        {"client-stamps", required_argument, NULL, O_STAMPS}, {"inference-perf-version", required_argument, NULL, O_IPV},
        {"seed", required_argument, NULL, 's'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    char mc_default[1100] = "";
    const char *vdir = getenv("EPPSIM_VALIDATION_DIR");
    if (vdir && *vdir) snprintf(mc_default, sizeof mc_default, "%s/model-configs", vdir);
    es_val_options_t opt = {mc_default, "h100-sxm-80gb", "0.11", "", 0, "current", 1};
    const char *out = NULL, *hold = "none";
    int jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), iters = 30, c;
    bool verbose = false;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:j:s:vh", lo, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'o': out = optarg; break;
        case O_HOLD: hold = optarg; break;
        case O_ITER:
            iters = (int)strtol(optarg, &end, 10);
            if (*end || iters < 1 || iters > 1000) goto bad;
            break;
        case 'j':
            jobs = (int)strtol(optarg, &end, 10);
            if (*end || jobs < 1 || jobs > 256) goto bad;
            break;
        case O_MC: opt.model_configs = optarg; break;
        case O_GPU: opt.gpu = optarg; break;
        case O_VER: opt.vllm_version = optarg; break;
        case O_ARGS: opt.vllm_args = optarg; break;
        case O_STAMPS:
            opt.stamps_per_token = (int)strtol(optarg, &end, 10);
            if (*end || opt.stamps_per_token < 1 || opt.stamps_per_token > 16) goto bad;
            break;
        case O_IPV: opt.ip_version = optarg; break;
        case 's':
            opt.seed = strtoull(optarg, &end, 10);
            if (*end) goto bad;
            break;
        case 'v': verbose = true; break;
        case 'h': return usage(stdout, ES_EXIT_OK);
        default: return usage(stderr, ES_EXIT_USAGE);
        bad:
            fprintf(stderr, "eppsim calibrate: bad value \"%s\"\n", optarg);
            return ES_EXIT_USAGE;
        }
    }
    if (!out || optind >= argc) return usage(stderr, ES_EXIT_USAGE);
    if (strcmp(hold, "none") && strcmp(hold, "loeo") && strcmp(hold, "lomo")) {
        fprintf(stderr, "eppsim calibrate: --holdout: \"%s\" is not none, loeo or lomo\n", hold);
        return ES_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++)
        if (es_cli_writes_input(out, argv[i])) {
            fprintf(stderr, "eppsim calibrate: -o %s is an input or inside one (write elsewhere)\n", out);
            return ES_EXIT_USAGE;
        }
    char nj[16];
    snprintf(nj, sizeof nj, "%d", jobs);
    setenv("UV_THREADPOOL_SIZE", nj, 0);   /* read at the pool's first use */

    es_val_run_t *runs = NULL;
    size_t n = 0;
    es_val_set_t set;
    memset(&set, 0, sizeof set);
    es_err_t err;
    for (int i = optind; i < argc; i++) {
        if (es_val_load(argv[i], &opt, &runs, &n, &set, &err)) {
            fprintf(stderr, "eppsim: %s\n", err.msg);
            for (size_t k = 0; k < n; k++) free(runs[k].experiment);
            free(runs);
            return ES_EXIT_USAGE;
        }
    }
    cal_t cal = {runs, calloc(n, sizeof *runs), n, &opt, jobs, calloc(n, sizeof(bool)), 0, verbose};
    bool *all = calloc(n, sizeof(bool));
    if (!cal.work || !cal.in || !all) { fprintf(stderr, "eppsim: out of memory\n"); return ES_EXIT_USAGE; }
    for (size_t i = 0; i < n; i++) all[i] = cal.in[i] = true;

    /* start from the shipped defaults */
    es_server_config_t def;
    es_schema_defaults(&es_server_schema, &def, &err);
    double start[NP] = {def.api_latency_us, def.api_request_us, def.engine_sync_us};
    es_schema_fini(&es_server_schema, &def);
    gsl_vector *x = gsl_vector_alloc(NP), *x0 = gsl_vector_alloc(NP);
    for (int k = 0; k < NP; k++) gsl_vector_set(x0, (size_t)k, sqrt((start[k] > 1 ? start[k] : 1) / k_scale[k]));
    gsl_vector_memcpy(x, x0);

    fprintf(stderr, "eppsim calibrate: %zu runs, %s holdout, %d jobs\n", n, hold, jobs);
    setvbuf(stdout, NULL, _IOLBF, 0);   /* the in-sample table shows before the folds run */
    double loss = fit(&cal, x, iters);
    double best[NP];
    for (int k = 0; k < NP; k++) best[k] = coeff(x, k);
    replay(&cal, best, all);
    printf("%-34s %9s %9s %9s %9s\n", "median APE % (runs)", "E2E mean", "TTFT mean", "per-token", "off > 2x");
    report(stdout, "fitted, in sample", cal.work, n);
    unsigned evals_full = cal.evals;

    /* hold-out folds: refit without the group, replay the group at that fit */
    es_val_run_t *held = NULL;
    if (strcmp(hold, "none")) {
        held = calloc(n, sizeof *held);
        bool *done = calloc(n, sizeof(bool)), *grp = calloc(n, sizeof(bool));
        char mi[256], mj[256];
        for (size_t i = 0; held && done && grp && i < n; i++) {
            if (done[i]) continue;
            model_of(&runs[i], mi, sizeof mi);
            for (size_t j = 0; j < n; j++) {
                model_of(&runs[j], mj, sizeof mj);
                grp[j] = j == i || (!strcmp(hold, "lomo") && !done[j] && !strcmp(mi, mj));
                cal.in[j] = !grp[j];
            }
            gsl_vector_memcpy(x0, x);
            fit(&cal, x0, iters / 2 > 0 ? iters / 2 : 1);
            double cf[NP];
            for (int k = 0; k < NP; k++) cf[k] = coeff(x0, k);
            replay(&cal, cf, grp);
            for (size_t j = 0; j < n; j++) {
                if (!grp[j]) continue;
                done[j] = true;
                held[j] = cal.work[j];
                cal.work[j].experiment = NULL;   /* now held[j]'s */
            }
            fprintf(stderr, "  fold %s: %s %.0f, %s %.0f, %s %.0f us\n", !strcmp(hold, "lomo") ? mi : runs[i].name,
                    k_param[0], cf[0], k_param[1], cf[1], k_param[2], cf[2]);
        }
        free(done);
        free(grp);
        if (held) report(stdout, !strcmp(hold, "lomo") ? "left one model out" : "left one experiment out", held, n);
    }

    /* the coefficients, with their data and fit */
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    int rc = ES_EXIT_OK;
    if (!f) { fprintf(stderr, "eppsim calibrate: cannot write %s\n", tmp); rc = ES_EXIT_USAGE; goto done; }
    fprintf(f, "# eppsim calibrate: server.vllm_fidelity coefficients fitted to %zu real runs\n", n);
    fprintf(f, "# objective: sum of |ln(simulated/measured)| of E2E mean, TTFT mean, per-token time (whole run)\n");
    fprintf(f, "# GSL nmsimplex2, %u evaluations, objective %.6f; settings: --vllm-version %s --gpu %s "
               "--inference-perf-version %s --seed %llu\n",
            evals_full, loss, opt.vllm_version, opt.gpu, opt.ip_version, (unsigned long long)opt.seed);
    fprintf(f, "# data:\n");
    for (size_t i = 0; i < n; i++) fprintf(f, "#   %s (%s)\n", runs[i].name, runs[i].source);
    fprintf(f, "server:\n  vllm_fidelity: on\n");
    for (int k = 0; k < NP; k++) fprintf(f, "  %s: %.6g\n", k_param[k], best[k]);
    if (fclose(f) != 0 || rename(tmp, out) != 0) {
        fprintf(stderr, "eppsim calibrate: cannot write %s\n", out);
        remove(tmp);
        rc = ES_EXIT_USAGE;
    }
    if (rc == ES_EXIT_OK) printf("coefficients: %s\n", out);
done:
    for (size_t i = 0; i < n; i++) {
        free(runs[i].experiment);
        free(cal.work[i].experiment);
        if (held) free(held[i].experiment);
    }
    free(held);
    free(runs);
    free(cal.work);
    free(cal.in);
    free(all);
    gsl_vector_free(x);
    gsl_vector_free(x0);
    return rc;
}
