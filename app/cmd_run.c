/*
 * cmd_run.c -- `eppsim run [EXPERIMENT] [options]`.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "es_cli.h"
#include "es_experiment.h"
#include "es_manifest.h"
#include "es_outdir.h"
#include "es_run.h"

static volatile sig_atomic_t g_interrupted;   /* the one process-wide flag a signal handler may set */

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: eppsim run [EXPERIMENT] [options]\n"
            "\n"
            "Simulates one experiment (YAML or JSON; default: the built-in one, an Istio-guide\n"
            "pool of 3 vLLM pods behind the default EPP plugins) and writes its results.\n"
            "\n"
            "options:\n"
            "  -o, --out DIR          output directory (default: out/<name>-seed<seed>)\n"
            "  -s, --seed N           master seed (unsigned 64-bit; overrides the experiment)\n"
            "  -f, --force            replace an existing output directory\n"
            "  -m, --manifest FILE    Kubernetes manifests (repeatable): pool, EPP, routes\n"
            "      --record-decisions write what the EPP saw and decided per request\n"
            "      --no-plots         do not run gnuplot\n"
            "  -q, --quiet            no progress line, no summary table\n"
            "  -h, --help             this help\n"
            "\n"
            "outputs: summary.json, requests.csv, timeseries.csv, pods.csv, experiment.yaml,\n"
            "epp-config.yaml, run-info.json, plots/, report.md (docs/results.md).\n"
            "exit codes: 0 ok, 2 bad input, 130 interrupted (nothing written).\n");
}

static void print_ms(const char *label, double v)
{
    if (isnan(v)) printf("  %-22s %10s\n", label, "-");
    else printf("  %-22s %10.1f ms\n", label, v);
}

static void print_rate(const char *label, double v)
{
    if (isnan(v)) printf("  %-22s %10s\n", label, "-");
    else printf("  %-22s %9.1f %%\n", label, v * 100);
}

int es_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},      {"seed", required_argument, NULL, 's'},
        {"force", no_argument, NULL, 'f'},          {"manifest", required_argument, NULL, 'm'},
        {"record-decisions", no_argument, NULL, 'r'}, {"no-plots", no_argument, NULL, 'P'},
        {"quiet", no_argument, NULL, 'q'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *out = NULL, *seed = NULL;
    const char *manifests[64];
    size_t nman = 0;
    bool force = false, plots = true, quiet = false, record = false;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:s:fm:qh", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 's': seed = optarg; break;
        case 'f': force = true; break;
        case 'm':
            if (nman == 64) { fprintf(stderr, "eppsim run: too many --manifest files\n"); return ES_EXIT_USAGE; }
            manifests[nman++] = optarg;
            break;
        case 'r': record = true; break;
        case 'P': plots = false; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return ES_EXIT_OK;
        default: usage(stderr); return ES_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "eppsim run: more than one experiment given\n");
        return ES_EXIT_USAGE;
    }
    const char *path = optind < argc ? argv[optind] : NULL;
    es_err_t err;
    es_err_clear(&err);
    es_doc_t *doc;
    int rc;
    char base[1024] = ".";
    if (path) {
        rc = es_doc_load_file(path, &doc, &err);
        const char *slash = strrchr(path, '/');
        if (slash) snprintf(base, sizeof base, "%.*s", (int)(slash - path), path);
    } else if (nman > 0) {
        /* the manifests define the pool; the schema's defaults fill the rest */
        doc = es_doc_create("<no experiment>");
        rc = doc ? 0 : es_err_set(&err, ES_ENOMEM, "out of memory");
    } else {
        rc = es_doc_load_string("<built-in default>", es_default_experiment_yaml, strlen(es_default_experiment_yaml),
                                &doc, &err);
    }
    if (rc) { fprintf(stderr, "eppsim: %s\n", err.msg); return ES_EXIT_USAGE; }
    es_manifest_t man;
    es_manifest_init(&man);
    if (nman > 0) {
        rc = es_manifest_apply(&man, manifests, nman, doc, &err);
        for (size_t i = 0; i < man.nwarnings; i++) fprintf(stderr, "eppsim: warning: %s\n", man.warnings[i]);
        if (rc) { es_doc_destroy(doc); es_manifest_fini(&man); fprintf(stderr, "eppsim: %s\n", err.msg); return ES_EXIT_USAGE; }
    }
    if (seed) {
        es_node_t *v = es_node_new_scalar(doc, seed, false);
        uint64_t tmp;
        int bad = !v || es_node_to_u64(v, "--seed", &tmp, &err);
        if (bad) es_node_destroy(v);
        if (bad || es_doc_set_path(doc, "seed", v, &err)) {
            fprintf(stderr, "eppsim: %s\n", err.msg);
            es_doc_destroy(doc);
            es_manifest_fini(&man);
            return ES_EXIT_USAGE;
        }
    }
    es_experiment_t exp;
    if ((rc = es_experiment_from_doc(doc, base, &exp, &err))) {
        fprintf(stderr, "eppsim: %s\n", err.msg);
        es_manifest_fini(&man);
        return ES_EXIT_USAGE;
    }
    char dir[ES_OUTDIR_MAX + 1];
    if (out && strlen(out) > ES_OUTDIR_MAX) {
        fprintf(stderr, "eppsim: --out: path is %zu bytes, longer than the %d allowed\n", strlen(out), ES_OUTDIR_MAX);
        es_experiment_fini(&exp);
        es_manifest_fini(&man);
        return ES_EXIT_USAGE;
    }
    if (out) snprintf(dir, sizeof dir, "%s", out);
    else es_run_default_dir(&exp, dir, sizeof dir);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    g_interrupted = 0;

    es_run_options_t opt = {dir, force, !quiet, plots, record, &g_interrupted, man.pool_name};
    es_run_report_t rep;
    if (!quiet) fprintf(stderr, "eppsim: running %s (seed %llu) -> %s\n", exp.name, (unsigned long long)exp.seed, dir);
    rc = es_run_experiment(&exp, &opt, &rep, &err);
    es_experiment_fini(&exp);
    es_manifest_fini(&man);
    if (rc == ES_EINTR) {
        fprintf(stderr, "\neppsim: interrupted; nothing was written to %s\n", dir);
        return ES_EXIT_INTERRUPTED;
    }
    if (rc) {
        fprintf(stderr, "eppsim: %s\n", err.msg);
        return ES_EXIT_USAGE;
    }
    if (!quiet) {
        printf("\n%s: %llu requests, %llu completed, %.1f s simulated in %.2f s\n", dir,
               (unsigned long long)rep.requests, (unsigned long long)rep.completed, rep.sim_s, rep.wall_s);
        printf("  %-26s %s\n", "step model", rep.step_model);
        print_ms("TTFT p50", rep.ttft_p50_ms);
        print_ms("TTFT p99", rep.ttft_p99_ms);
        print_ms("TPOT p50", rep.tpot_p50_ms);
        print_ms("ITL p50", rep.itl_p50_ms);
        print_ms("E2E p50", rep.e2e_p50_ms);
        print_ms("E2E p99", rep.e2e_p99_ms);
        print_rate("prefix hit (EPP est.)", rep.est_hit);
        print_rate("prefix hit (actual)", rep.act_hit);
        print_rate("prefix hit (oracle)", rep.oracle_hit);
        printf("  see %s/summary.json and %s/report.md\n", dir, dir);
    }
    return ES_EXIT_OK;
}
