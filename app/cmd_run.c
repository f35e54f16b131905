/*
 * cmd_run.c -- `eppsim run [EXPERIMENT] [options]`.
 */
#define _DEFAULT_SOURCE   /* realpath */
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
#include "es_server.h"
#include "es_sweep.h"
#include "es_summary.h"
#include "es_util.h"

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
            "      --inference-perf CONFIG  replay an inference-perf config as the workload\n"
            "                         (sets workload.inference_perf; EXPERIMENT gives the rest)\n"
            "      --vllm-bench RESULT.json  replay a saved `vllm bench serve` result as the\n"
            "                         workload (sets workload.vllm_bench.result)\n"
            "      --inference-perf-version V  the inference-perf build mirrored: current\n"
            "                         (default) or 2025-10 (the build behind results/config.yaml\n"
            "                         of the late-2025 runs; 2025-11 is the same)\n"
            "      --set KEY=VALUE    set any experiment key (repeatable; e.g. --set server.max_num_seqs=128,\n"
            "                         --set epp.weights.prefix-cache-scorer=5): typed and checked like\n"
            "                         the file, recorded in experiment.yaml\n"
            "      --record-decisions write what the EPP saw and decided per request\n"
            "      --no-plots         do not run gnuplot\n"
            "      --write-inference-perf-results\n"
            "                         also write inference-perf/: the run as an inference-perf result\n"
            "                         directory that `eppsim validate` reads (docs/validate.md); a\n"
            "                         replayed inference-perf build's figures are that client's: give\n"
            "                         validate the same --inference-perf-version\n"
            "      --strict-stability refuse Alpha plugins as the EPP does (eppsim accepts them\n"
            "                         with upstream's stability warning)\n"
            "      --allow-experimental-plugins  with --strict-stability: accept them (upstream's flag)\n"
            "  -q, --quiet            no progress line, no summary table\n"
            "  -h, --help             this help\n"
            "\n"
            "outputs: summary.json, requests.csv, timeseries.csv, pods.csv, experiment.yaml,\n"
            "epp-config.yaml, run-info.json, plots/, report.md (docs/results.md).\n"
            "exit codes: 0 ok, 2 bad input, 130 interrupted (nothing written).\n");
}

static cJSON *read_json(const char *path)
{
    char *text = NULL;
    if (es_file_read(path, &text, NULL) != 0) return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

/* --inference-perf FILE [--inference-perf-version V]: workload.inference_perf =
 * {file: <absolute path>, version: V}, so the experiment's folder does not
 * change where the file is looked up. */
int es_cli_set_inference_perf(es_doc_t *doc, const char *file, const char *version, es_err_t *err)
{
    char abs[4096];
    if (!realpath(file, abs)) return es_err_set(err, ES_EIO, "--inference-perf: %s: cannot open", file);
    es_node_t *map = es_node_new_map(doc);
    es_node_t *f = es_node_new_scalar(doc, abs, true);
    es_node_t *v = es_node_new_scalar(doc, version ? version : "current", true);
    if (!map || !f || !v || es_map_set(map, "file", f) < 0) goto oom;
    f = NULL;
    if (es_map_set(map, "version", v) < 0) goto oom;
    v = NULL;
    return es_doc_set_path(doc, "workload.inference_perf", map, err);
oom:
    es_node_destroy(map); es_node_destroy(f); es_node_destroy(v);
    return es_err_set(err, ES_ENOMEM, "out of memory");
}

/* A message about a key that an option set names the option instead (the
 * key is in no file the user wrote), and the file as the user wrote it;
 * msg itself otherwise.  ip, ip_version, vb: the options' values or NULL. */
static const char *as_option(const char *msg, const char *ip, const char *ip_version, const char *vb, char *buf,
                             size_t size)
{
    const struct { const char *given, *key, *option; } k_keys[] = {
        {ip, "workload.inference_perf.file: ", "--inference-perf"},
        {ip_version, "workload.inference_perf.version: ", "--inference-perf-version"},
        {vb, "workload.vllm_bench.result: ", "--vllm-bench"},
    };
    for (size_t i = 0; i < sizeof k_keys / sizeof k_keys[0]; i++) {
        const char *p = k_keys[i].given ? strstr(msg, k_keys[i].key) : NULL;
        if (!p || (p != msg && p[-1] != ' ')) continue;
        p += strlen(k_keys[i].key);
        char abs[4096];   /* the options store absolute paths */
        size_t al = realpath(k_keys[i].given, abs) ? strlen(abs) : 0;
        if (al && !strncmp(p, abs, al) && p[al] == ':')
            snprintf(buf, size, "%s: %s%s", k_keys[i].option, k_keys[i].given, p + al);
        else
            snprintf(buf, size, "%s: %s", k_keys[i].option, p);
        return buf;
    }
    /* an error inside the file: "/abs/ip.yaml:3: ..." as "ip.yaml:3: ..." */
    for (size_t i = 0; i < 3; i++) {
        char abs[4096];
        if (i == 1 || !k_keys[i].given || !realpath(k_keys[i].given, abs)) continue;
        size_t al = strlen(abs);
        if (strncmp(msg, abs, al) || msg[al] != ':') continue;
        snprintf(buf, size, "%s%s", k_keys[i].given, msg + al);
        return buf;
    }
    return msg;
}

/* --vllm-bench FILE: workload.vllm_bench = {result: <absolute path>}. */
static int set_vllm_bench(es_doc_t *doc, const char *file, es_err_t *err)
{
    char abs[4096];
    if (!realpath(file, abs)) return es_err_set(err, ES_EIO, "--vllm-bench: %s: cannot open", file);
    es_node_t *map = es_node_new_map(doc);
    es_node_t *f = es_node_new_scalar(doc, abs, true);
    if (!map || !f || es_map_set(map, "result", f) < 0) {
        es_node_destroy(map);
        es_node_destroy(f);
        return es_err_set(err, ES_ENOMEM, "out of memory");
    }
    return es_doc_set_path(doc, "workload.vllm_bench", map, err);
}

int es_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},      {"seed", required_argument, NULL, 's'},
        {"force", no_argument, NULL, 'f'},          {"manifest", required_argument, NULL, 'm'},
        {"record-decisions", no_argument, NULL, 'r'}, {"no-plots", no_argument, NULL, 'P'},
        {"quiet", no_argument, NULL, 'q'},          {"help", no_argument, NULL, 'h'},
        {"inference-perf", required_argument, NULL, 'I'}, {"inference-perf-version", required_argument, NULL, 'V'},
        {"write-inference-perf-results", no_argument, NULL, 'W'},
        {"set", required_argument, NULL, 'S'},      {"vllm-bench", required_argument, NULL, 'B'},
        {"strict-stability", no_argument, NULL, 'T'}, {"allow-experimental-plugins", no_argument, NULL, 'A'},
        {NULL, 0, NULL, 0}};
    const char *out = NULL, *seed = NULL, *ip_file = NULL, *ip_version = NULL, *vb_file = NULL;
    const char *manifests[64], *sets[256];
    size_t nman = 0, nsets = 0;
    bool force = false, plots = true, quiet = false, record = false, infperf = false;
    bool strict = false, allow_alpha = false;
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
        case 'S':
            if (nsets == 256) { fprintf(stderr, "eppsim run: too many --set\n"); return ES_EXIT_USAGE; }
            sets[nsets++] = optarg;
            break;
        case 'P': plots = false; break;
        case 'W': infperf = true; break;
        case 'q': quiet = true; break;
        case 'I': ip_file = optarg; break;
        case 'V': ip_version = optarg; break;
        case 'B': vb_file = optarg; break;
        case 'T': strict = true; break;
        case 'A': allow_alpha = true; break;
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
    if (ip_version && !ip_file) {
        fprintf(stderr, "eppsim run: --inference-perf-version needs --inference-perf\n");
        es_doc_destroy(doc);
        es_manifest_fini(&man);
        return ES_EXIT_USAGE;
    }
    if ((ip_file && es_cli_set_inference_perf(doc, ip_file, ip_version, &err) < 0) ||
        (vb_file && set_vllm_bench(doc, vb_file, &err) < 0)) {
        fprintf(stderr, "eppsim: %s\n", err.msg);
        es_doc_destroy(doc);
        es_manifest_fini(&man);
        return ES_EXIT_USAGE;
    }
    /* --set: values owned by `holder` (messages say --set:1: key: ...);
     * both docs outlive the experiment, whose nodes point into them */
    es_doc_t *holder = nsets ? es_doc_create("--set") : NULL, *epp_src = NULL;
    for (size_t i = 0; i < nsets; i++) {
        if (!holder || es_sweep_override(doc, base, holder, &epp_src, sets[i], &err)) {
            if (holder) es_cli_print_set_error(err.msg, &sets[i], 1);
            else fprintf(stderr, "eppsim: out of memory\n");
            es_doc_destroy(doc);
            es_doc_destroy(holder);
            es_doc_destroy(epp_src);
            es_manifest_fini(&man);
            return ES_EXIT_USAGE;
        }
    }
    es_experiment_t exp;
    char msg[ES_ERR_MSG_MAX + 32];
    if ((rc = es_experiment_from_doc(doc, base, &exp, &err))) {
        es_cli_print_set_error(as_option(err.msg, ip_file, ip_version, vb_file, msg, sizeof msg), sets, nsets);
        es_doc_destroy(holder);
        es_doc_destroy(epp_src);
        es_manifest_fini(&man);
        return ES_EXIT_USAGE;
    }
    for (const char *w = exp.warnings; w && *w;) {   /* vLLM flags recorded but not modelled */
        const char *nl = strchr(w, '\n');
        int len = nl ? (int)(nl - w) : (int)strlen(w);
        fprintf(stderr, "eppsim: warning: server: %.*s\n", len, w);
        w += len + (nl != NULL);
    }
    char dir[ES_OUTDIR_MAX + 1];
    if (out && strlen(out) > ES_OUTDIR_MAX) {
        fprintf(stderr, "eppsim: --out: path is %zu bytes, longer than the %d allowed\n", strlen(out), ES_OUTDIR_MAX);
        es_experiment_fini(&exp);
        es_doc_destroy(holder);
        es_doc_destroy(epp_src);
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

    es_run_options_t opt = {dir, force, !quiet, plots, record, &g_interrupted, man.pool_name, NULL, NULL, infperf};
    es_run_report_t rep;
    rc = strict && !allow_alpha ? es_run_check_stability(&exp, &err) : 0;
    if (!rc && !quiet) fprintf(stderr, "eppsim: running %s (seed %llu) -> %s\n", exp.name, (unsigned long long)exp.seed, dir);
    if (!rc) rc = es_run_experiment(&exp, &opt, &rep, &err);
    es_experiment_fini(&exp);
    es_doc_destroy(holder);
    es_doc_destroy(epp_src);
    es_manifest_fini(&man);
    if (rc == ES_EINTR) {
        fprintf(stderr, "\neppsim: interrupted; nothing was written to %s\n", dir);
        return ES_EXIT_INTERRUPTED;
    }
    if (rc) {
        fprintf(stderr, "eppsim: %s\n", as_option(err.msg, ip_file, ip_version, vb_file, msg, sizeof msg));
        return ES_EXIT_USAGE;
    }
    if (!quiet) {
        /* printed from the summary.json just written: the file, report.md
         * and this table show the same numbers */
        printf("\n%s: %.1f s simulated in %.2f s\n", dir, rep.sim_s, rep.wall_s);
        printf("  step model: %s\n", rep.step_model);
        char summary_path[1200];
        snprintf(summary_path, sizeof summary_path, "%s/summary.json", dir);
        cJSON *summary = read_json(summary_path);
        if (summary) es_summary_print(stdout, summary);
        else fprintf(stderr, "eppsim: %s: cannot read back\n", summary_path);
        cJSON_Delete(summary);
        printf("  see %s/summary.json and %s/report.md\n", dir, dir);
    }
    return ES_EXIT_OK;
}
