/*
 * bench_trace.c -- `eppsim bench trace [--json] [--requests N]`: requests read
 * per second from Mooncake and Azure traces, by the bare reader and through
 * the workload (content segments, mix, pool), and the peak memory of
 * replaying an N-request Mooncake-style trace (generated on the fly into a
 * temporary file, then deleted).  Target: >= 300k requests/s on one core.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "es_cli.h"
#include "es_paths.h"
#include "es_trace.h"
#include "es_workload.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;   /* Linux: KiB */
}

/* Reader only: records per second over `passes` reads of the file. */
static int bench_reader(const char *path, int passes, double *rps, uint64_t *n_out)
{
    es_err_t err;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        uint64_t n = 0;
        double t0 = now_s();
        for (int p = 0; p < passes; p++) {
            es_trace_t *t;
            if (es_trace_open(path, ES_TRACE_AUTO, 512, false, &t, &err) < 0) {
                fprintf(stderr, "eppsim bench trace: %s\n", err.msg);
                return -1;
            }
            es_trace_rec_t rec;
            int rc;
            while ((rc = es_trace_next(t, &rec, &err)) == 1) n++;
            es_trace_close(t);
            if (rc < 0) { fprintf(stderr, "eppsim bench trace: %s\n", err.msg); return -1; }
        }
        double r = (double)n / (now_s() - t0);
        if (r > best) best = r;
        *n_out = n;
    }
    *rps = best;
    return 0;
}

/* Through the workload: es_workload_next + release for every request. */
static int bench_workload(const char *path, int passes, double *rps)
{
    es_err_t err;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        uint64_t n = 0;
        double t0 = now_s();
        for (int p = 0; p < passes; p++) {
            es_workload_config_t cfg;
            es_schema_defaults(&es_workload_schema, &cfg, &err);
            cfg.type = ES_WL_TRACE;
            cfg.num_requests = 0;
            free(cfg.trace.file);
            cfg.trace.file = strdup(path);
            es_workload_t *w;
            int rc = es_workload_create(&cfg, NULL, 1, &w, &err);
            if (rc == 0) {
                es_wl_request_t *r;
                while ((rc = es_workload_next(w, ES_TIME_NEVER, &r, &err)) == 1) {
                    n++;
                    es_workload_release(w, r);
                }
                es_workload_destroy(w);
            }
            es_schema_fini(&es_workload_schema, &cfg);
            if (rc < -1) { fprintf(stderr, "eppsim bench trace: %s\n", err.msg); return -1; }
        }
        double r = (double)n / (now_s() - t0);
        if (r > best) best = r;
    }
    *rps = best;
    return 0;
}

int es_bench_trace(int argc, char **argv)
{
    int json = 0;
    uint64_t requests = 200000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) {
            char *end;
            requests = strtoull(argv[++i], &end, 10);
            if (*end || requests == 0) { fprintf(stderr, "eppsim bench trace: --requests: expected a count\n"); return ES_EXIT_USAGE; }
        } else if (es_cli_is_help(argv[i])) {
            printf("usage: eppsim bench trace [--json] [--requests N]\n\n"
                   "Requests read per second (best of 3) from a generated N-request Mooncake-style\n"
                   "trace (default 200000), the bundled Mooncake conversation trace (10 passes) and\n"
                   "the bundled Azure 2023 conversation trace (20 passes), by the reader alone and through the workload; peak RSS after\n"
                   "replaying the Mooncake-style trace.  Target: >= 300k requests/s on one core.\n");
            return ES_EXIT_OK;
        } else {
            fprintf(stderr, "eppsim bench trace: unknown option '%s'\n", argv[i]);
            return ES_EXIT_USAGE;
        }
    }
    char moon[64];
    snprintf(moon, sizeof moon, "/tmp/eppsim-bench-trace-%ld.jsonl", (long)getpid());
    FILE *f = fopen(moon, "w");
    if (!f || es_trace_gen_mooncake(f, requests, 100, 1) < 0) {
        fprintf(stderr, "eppsim bench trace: cannot write %s\n", moon);
        if (f) { fclose(f); remove(moon); }
        return ES_EXIT_USAGE;
    }
    fclose(f);
    char azure[1024];
    es_data_path(azure, sizeof azure, "traces/azure-llm-2023-conv/AzureLLMInferenceTrace_conv.csv");
    char mreal[1024];
    es_data_path(mreal, sizeof mreal, "traces/mooncake-conversation/conversation_trace.jsonl");
    double rss_before = peak_rss_mib();
    double m_r = 0, m_w = 0, a_r = 0, a_w = 0, r_r = 0, r_w = 0;
    uint64_t mn = 0, an = 0, rn = 0;
    int rc = bench_reader(moon, 1, &m_r, &mn);
    if (rc == 0) rc = bench_workload(moon, 1, &m_w);
    double rss_after = peak_rss_mib();
    if (rc == 0) rc = bench_reader(mreal, 10, &r_r, &rn);
    if (rc == 0) rc = bench_workload(mreal, 10, &r_w);
    if (rc == 0) rc = bench_reader(azure, 20, &a_r, &an);
    if (rc == 0) rc = bench_workload(azure, 20, &a_w);
    remove(moon);
    if (rc < 0) return ES_EXIT_USAGE;
    if (json) {
        printf("{\"bench\":\"trace\",\"unit\":\"requests_per_s\",\"mooncake_requests\":%" PRIu64
               ",\"mooncake_reader\":%.0f,\"mooncake_workload\":%.0f,\"mooncake_conv_requests\":%" PRIu64
               ",\"mooncake_conv_reader\":%.0f,\"mooncake_conv_workload\":%.0f,\"azure_requests\":%" PRIu64
               ",\"azure_reader\":%.0f,\"azure_workload\":%.0f,\"peak_rss_mib_before_replay\":%.1f,"
               "\"peak_rss_mib_after_replay\":%.1f}\n",
               mn, m_r, m_w, rn, r_r, r_w, an, a_r, a_w, rss_before, rss_after);
    } else {
        printf("mooncake-style, %" PRIu64 " requests: reader %9.0f req/s, workload %9.0f req/s\n", mn, m_r, m_w);
        printf("mooncake conversation trace, %" PRIu64 " requests: reader %9.0f req/s, workload %9.0f req/s\n",
               rn, r_r, r_w);
        printf("azure 2023 conv, %" PRIu64 " requests: reader %9.0f req/s, workload %9.0f req/s\n", an, a_r, a_w);
        printf("peak RSS: %.1f MiB before the replay, %.1f MiB after replaying %" PRIu64 " requests\n",
               rss_before, rss_after, mn);
        printf("target: >= 300000 req/s on one core\n");
    }
    return ES_EXIT_OK;
}
