/*
 * bench_e2e.c -- `eppsim bench e2e`: simulated requests per wall second of
 * whole runs (gateway, EPP with the default plugins, pods), on one core.
 *
 *  (a) 16 pods, Llama-3.1-8B on H100, 1k-token prompts, 128 output tokens,
 *      Poisson 300 req/s, 200k requests;
 *  (b) the Mooncake conversation trace (mean prompt ~12k tokens) time-scaled
 *      so that 16 pods run at about 70% of their capacity;
 *  (c) 1M requests of (a)'s shape: peak memory.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "es_cli.h"
#include "es_str.h"
#include "es_experiment.h"
#include "es_outdir.h"
#include "es_run.h"

/* Mooncake time scale for ~70% of 16 pods' capacity: timestamps x 0.28
 * (3.4 req/s -> 12 req/s); see docs/e2e.md for how it was measured. */
#define MOONCAKE_SCALE "0.28"

static const char *k_case_a =
    "name: bench-a\nseed: 1\n"
    "server: {gpu: h100-sxm-80gb, model: llama-3.1-8b}\n"
    "cluster: {replicas: 16}\n"
    "workload:\n"
    "  type: synthetic\n"
    "  num_requests: %s\n"
    "  arrival: {process: poisson, rate: 300}\n"
    "  lengths: {input: {dist: constant, mean: 1000}, output: {dist: constant, mean: 128}}\n"
    "results: {requests_csv: false, plots: false, oracle: %s}\n";

static const char *k_case_b =
    "name: bench-b\nseed: 1\n"
    "server: {gpu: h100-sxm-80gb, model: llama-3.1-8b}\n"
    "cluster: {replicas: 16}\n"
    "workload:\n"
    "  type: trace\n"
    "  num_requests: 0\n"
    "  trace: {file: %s/data/traces/mooncake-conversation/conversation_trace.jsonl, format: mooncake, time_scale: %s}\n"
    "results: {requests_csv: false, plots: false}\n";

/* (d) light load: pods mostly decode one or two long outputs; the server's
 * fast-forward runs a stretch of plain decode steps as one event. */
static const char *k_case_d =
    "name: bench-d\nseed: 1\n"
    "server: {gpu: h100-sxm-80gb, model: llama-3.1-8b, fast_forward: %s}\n"
    "cluster: {replicas: 16}\n"
    "workload:\n"
    "  type: synthetic\n"
    "  num_requests: 2000\n"
    "  arrival: {process: poisson, rate: 1}\n"
    "  lengths: {input: {dist: constant, mean: 1000}, output: {dist: constant, mean: 2000}}\n"
    "results: {requests_csv: false, plots: false}\n";

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void json_num(char *buf, size_t n, double v, const char *fmt)
{
    if (isnan(v)) snprintf(buf, n, "null");
    else snprintf(buf, n, fmt, v);
}

static int run_case(const char *name, const char *yaml, es_run_report_t *rep, es_err_t *err)
{
    es_doc_t *doc;
    int rc = es_doc_load_string(name, yaml, strlen(yaml), &doc, err);
    if (rc) return rc;
    es_experiment_t exp;
    if ((rc = es_experiment_from_doc(doc, ".", &exp, err))) return rc;
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/eppsim-bench-%s-%ld", name, (long)getpid());
    es_run_options_t opt = {dir, true, false, false, false, NULL, NULL, NULL, NULL, false};
    rc = es_run_experiment(&exp, &opt, rep, err);
    es_rmtree(dir);
    es_experiment_fini(&exp);
    return rc;
}

/* Runs a case `repeat` times: the best and the median rate (the machine's
 * noise only ever slows a run down; the median shows how much). */
static int run_repeated(const char *name, const char *yaml, int repeat, es_run_report_t *best,
                        double *best_rate, double *median_rate, es_err_t *err)
{
    double rates[16];
    for (int i = 0; i < repeat; i++) {
        es_run_report_t rep;
        int rc = run_case(name, yaml, &rep, err);
        if (rc) return rc;
        rates[i] = (double)rep.requests / rep.wall_s;
        if (i == 0 || rates[i] > *best_rate) { *best = rep; *best_rate = rates[i]; }
    }
    for (int i = 1; i < repeat; i++)   /* insertion sort of a handful */
        for (int j = i; j > 0 && rates[j - 1] > rates[j]; j--) { double t = rates[j]; rates[j] = rates[j - 1]; rates[j - 1] = t; }
    *median_rate = repeat % 2 ? rates[repeat / 2] : 0.5 * (rates[repeat / 2 - 1] + rates[repeat / 2]);
    return 0;
}

int es_bench_e2e(int argc, char **argv)
{
    int json = 0, repeat = 3;
    const char *only = NULL, *scale = MOONCAKE_SCALE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc) only = argv[++i];
        else if (strcmp(argv[i], "--mooncake-scale") == 0 && i + 1 < argc) scale = argv[++i];
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            char *e;
            long v = strtol(argv[++i], &e, 10);
            if (*e || e == argv[i] || v < 1 || v > 16) {
                fprintf(stderr, "eppsim bench e2e: --repeat: '%s' is not a count from 1 to 16\n", argv[i]);
                return ES_EXIT_USAGE;
            }
            repeat = (int)v;
        } else if (es_cli_is_help(argv[i])) {
            printf("usage: eppsim bench e2e [--json] [--case a|b|c|d] [--repeat N] [--mooncake-scale F]\n\n"
                   "  a: 16 pods, 1k-token prompts, 128 output tokens, Poisson 300 req/s, 200k requests\n"
                   "  b: Mooncake conversation trace on 16 pods, timestamps x %s (~70%% of capacity)\n"
                   "  c: 1M requests of shape a, oracle off: peak memory (run once)\n"
                   "  d: light load, 16 pods, 1 req/s, 1k/2k tokens, 2000 requests: simulated\n"
                   "     seconds per wall second and events, server.fast_forward on and off\n"
                   "Prints simulated requests per wall second (one core): the best of N runs\n"
                   "(default 3) and their median.\n", MOONCAKE_SCALE);
            return ES_EXIT_OK;
        } else {
            fprintf(stderr, "eppsim bench e2e: unknown option '%s'\n", argv[i]);
            return ES_EXIT_USAGE;
        }
    }
    if (only && strcmp(only, "a") && strcmp(only, "b") && strcmp(only, "c") && strcmp(only, "d")) {
        fprintf(stderr, "eppsim bench e2e: --case: '%s' is not a, b, c or d\n", only);
        return ES_EXIT_USAGE;
    }
    char *end;
    double sc = es_strtod(scale, &end);
    if (end == scale || *end || !(sc > 0) || sc > 1e6) {
        fprintf(stderr, "eppsim bench e2e: --mooncake-scale: '%s' is not a positive number\n", scale);
        return ES_EXIT_USAGE;
    }
    es_err_t err;
    es_err_clear(&err);
    char yaml[2048];
    double rate[3] = {NAN, NAN, NAN}, median[2] = {NAN, NAN};
    double ttft99[3] = {NAN, NAN, NAN};
    long rss_c = 0;
    if (!only || strcmp(only, "a") == 0) {
        es_run_report_t rep;
        snprintf(yaml, sizeof yaml, k_case_a, "200000", "true");
        if (run_repeated("a", yaml, repeat, &rep, &rate[0], &median[0], &err)) { fprintf(stderr, "eppsim: %s\n", err.msg); return ES_EXIT_USAGE; }
        ttft99[0] = rep.ttft_p99_ms;
        if (!json) { printf("(a) 16 pods, 1k/128, 300 req/s, %llu requests: %.0f requests/s, best of %d (median %.0f; %.2f s wall, %.0f s simulated, TTFT p99 %.1f ms)\n",
                            (unsigned long long)rep.requests, rate[0], repeat, median[0], rep.wall_s, rep.sim_s, rep.ttft_p99_ms); fflush(stdout); }
    }
    if (!only || strcmp(only, "b") == 0) {
        es_run_report_t rep;
        snprintf(yaml, sizeof yaml, k_case_b, ES_SOURCE_DIR, scale);
        if (run_repeated("b", yaml, repeat, &rep, &rate[1], &median[1], &err)) { fprintf(stderr, "eppsim: %s\n", err.msg); return ES_EXIT_USAGE; }
        ttft99[1] = rep.ttft_p99_ms;
        if (!json) { printf("(b) Mooncake x%s on 16 pods, %llu requests: %.0f requests/s, best of %d (median %.0f; %.2f s wall, %.0f s simulated, TTFT p50 %.0f ms p99 %.0f ms)\n",
                            scale, (unsigned long long)rep.requests, rate[1], repeat, median[1], rep.wall_s, rep.sim_s, rep.ttft_p50_ms, rep.ttft_p99_ms); fflush(stdout); }
    }
    if (!only || strcmp(only, "c") == 0) {
        es_run_report_t rep;
        snprintf(yaml, sizeof yaml, k_case_a, "1000000", "false");
        if (run_case("c", yaml, &rep, &err)) { fprintf(stderr, "eppsim: %s\n", err.msg); return ES_EXIT_USAGE; }
        rate[2] = (double)rep.requests / rep.wall_s;
        rss_c = peak_rss_kib();
        if (!json) printf("(c) %llu requests: %.0f requests/s, peak RSS %.1f MiB (64 B per request record kept for exact percentiles)\n",
                          (unsigned long long)rep.requests, rate[2], (double)rss_c / 1024.0);
    }
    double light_x[2] = {NAN, NAN}, light_ev[2] = {NAN, NAN}, light_sim = NAN;
    if (!only || strcmp(only, "d") == 0) {
        for (int ff = 1; ff >= 0; ff--) {
            es_run_report_t rep;
            double best = 0, med = 0;
            snprintf(yaml, sizeof yaml, k_case_d, ff ? "true" : "false");
            if (run_repeated("d", yaml, repeat, &rep, &best, &med, &err)) { fprintf(stderr, "eppsim: %s\n", err.msg); return ES_EXIT_USAGE; }
            light_x[ff] = rep.sim_s / rep.wall_s;
            light_ev[ff] = (double)rep.events;
            light_sim = rep.sim_s;
        }
        if (!json) printf("(d) light load, 16 pods, 1 req/s, 1k/2k tokens, %.0f s simulated: fast_forward on %.0fx real time, %.2fM events; off %.0fx, %.2fM events\n",
                          light_sim, light_x[1], light_ev[1] / 1e6, light_x[0], light_ev[0] / 1e6);
    }
    if (json) {
        /* cases not run are null (JSON has no NaN) */
        char a[32], b[32], c[32], rss[32], ta[32], tb[32], ma[32], mb[32], dx1[32], dx0[32], de1[32], de0[32];
        json_num(dx1, sizeof dx1, light_x[1], "%.1f");
        json_num(dx0, sizeof dx0, light_x[0], "%.1f");
        json_num(de1, sizeof de1, light_ev[1], "%.0f");
        json_num(de0, sizeof de0, light_ev[0], "%.0f");
        json_num(a, sizeof a, rate[0], "%.0f");
        json_num(b, sizeof b, rate[1], "%.0f");
        json_num(ma, sizeof ma, median[0], "%.0f");
        json_num(mb, sizeof mb, median[1], "%.0f");
        json_num(c, sizeof c, rate[2], "%.0f");
        json_num(rss, sizeof rss, rss_c ? (double)rss_c / 1024.0 : NAN, "%.1f");
        json_num(ta, sizeof ta, ttft99[0], "%.2f");
        json_num(tb, sizeof tb, ttft99[1], "%.2f");
        printf("{\"bench\":\"e2e\",\"repeat\":%d,\"a_requests_per_s\":%s,\"a_median_requests_per_s\":%s,"
               "\"b_requests_per_s\":%s,\"b_median_requests_per_s\":%s,\"c_requests_per_s\":%s,"
               "\"c_peak_rss_mib\":%s,\"mooncake_scale\":%s,\"a_ttft_p99_ms\":%s,\"b_ttft_p99_ms\":%s,"
               "\"d_sim_per_wall_ff\":%s,\"d_sim_per_wall_no_ff\":%s,\"d_events_ff\":%s,\"d_events_no_ff\":%s}\n",
               repeat, a, ma, b, mb, c, rss, scale, ta, tb, dx1, dx0, de1, de0);
    }
    else
        printf("targets: (a) >= 100k requests/s, (b) >= 15k requests/s\n");
    return ES_EXIT_OK;
}
