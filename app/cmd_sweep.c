/*
 * cmd_sweep.c -- `eppsim sweep SPEC [options]` and `eppsim sweep merge DIR...`.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "es_cli.h"
#include "es_outdir.h"
#include "es_sweep.h"

static volatile sig_atomic_t g_interrupted;   /* the one process-wide flag a signal handler may set */

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: eppsim sweep SPEC [options]\n"
            "       eppsim sweep merge DIR... [--out DIR]\n"
            "\n"
            "Runs every point of a sweep spec (a base experiment, a grid or a list of points,\n"
            "seeds; docs/sweeps.md) for every seed, several at once, and writes sweep.csv:\n"
            "one row per point and seed, and per point the mean across seeds with its 95 %%\n"
            "interval.  Completed points are kept and skipped when the sweep is run again,\n"
            "unless the spec now gives them another experiment: those run again.\n"
            "\n"
            "options:\n"
            "  -j, --jobs N        runs at once (default: the number of CPUs)\n"
            "  -o, --out DIR       sweep directory (default: out/sweep-<spec name>)\n"
            "      --shard I/N     run only the points with index %% N == I (I from 0)\n"
            "      --shards N      with JOB_COMPLETION_INDEX (Kubernetes Indexed Job): N shards\n"
            "      --check         validate the spec and every point, run nothing\n"
            "      --set KEY=VALUE  set a key of the base experiment (repeatable), as `run --set`\n"
            "  -q, --quiet         no progress output\n"
            "  -h, --help          this help\n"
            "\n"
            "Without --shard the shard comes from SLURM_ARRAY_TASK_ID (minus\n"
            "SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX of --shards.\n"
            "`merge` joins the sweep.csv of shard directories (default --out: the first DIR).\n"
            "Plots: scripts/plot-sweep DIR.\n"
            "exit codes: 0 ok, 1 a point failed, 2 bad spec or usage, 130 interrupted\n"
            "(completed points kept; sweep.csv holds them).\n");
}

static void spec_stem(const char *path, char *buf, size_t size)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    snprintf(buf, size, "%.*s", (int)n, b);
}

static int cmd_merge(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *out = NULL;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return ES_EXIT_OK;
        default: usage(stderr); return ES_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "eppsim sweep merge: give the shard directories\n");
        return ES_EXIT_USAGE;
    }
    es_err_t err;
    es_err_clear(&err);
    const char *const *dirs = (const char *const *)(argv + optind);
    size_t n = (size_t)(argc - optind);
    if (!out) out = dirs[0];
    if (es_sweep_merge(dirs, n, out, &err)) {
        fprintf(stderr, "eppsim: %s\n", err.msg);
        return ES_EXIT_USAGE;
    }
    fprintf(stderr, "eppsim sweep: merged %zu director%s into %s/sweep.csv\n", n, n == 1 ? "y" : "ies", out);
    return ES_EXIT_OK;
}

int es_cmd_sweep(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "merge")) return cmd_merge(argc - 1, argv + 1);
    static const struct option opts[] = {
        {"jobs", required_argument, NULL, 'j'},  {"out", required_argument, NULL, 'o'},
        {"shard", required_argument, NULL, 'S'}, {"shards", required_argument, NULL, 'N'},
        {"check", no_argument, NULL, 'c'},       {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},        {"set", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0}};
    const char *out = NULL, *shard_arg = NULL, *sets[256];
    size_t nsets = 0;
    long jobs = sysconf(_SC_NPROCESSORS_ONLN), shards = 0;
    bool quiet = false, check = false;
    char *end;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "j:o:qh", opts, NULL)) != -1) {
        switch (ch) {
        case 'j':
            jobs = strtol(optarg, &end, 10);
            if (*end || jobs < 1 || jobs > 1024) {
                fprintf(stderr, "eppsim sweep: -j %s: expected 1..1024\n", optarg);
                return ES_EXIT_USAGE;
            }
            break;
        case 'o': out = optarg; break;
        case 'S': shard_arg = optarg; break;
        case 'N':
            shards = strtol(optarg, &end, 10);
            if (*end || shards < 1 || shards > 1000000) {
                fprintf(stderr, "eppsim sweep: --shards %s: expected a positive count\n", optarg);
                return ES_EXIT_USAGE;
            }
            break;
        case 'c': check = true; break;
        case 's':
            if (nsets == 256) { fprintf(stderr, "eppsim sweep: too many --set\n"); return ES_EXIT_USAGE; }
            sets[nsets++] = optarg;
            break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return ES_EXIT_OK;
        default: usage(stderr); return ES_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "eppsim sweep: give one sweep spec\n");
        usage(stderr);
        return ES_EXIT_USAGE;
    }
    if (jobs < 1) jobs = 1;
    const char *path = argv[optind];
    es_err_t err;
    es_err_clear(&err);
    es_sweep_shard_t shard;
    if (es_sweep_shard_resolve(shard_arg, (uint32_t)shards, NULL, &shard, &err)) {
        fprintf(stderr, "eppsim sweep: %s\n", err.msg);
        return ES_EXIT_USAGE;
    }
    es_sweep_spec_t spec;
    /* --set changes the base before the points are built and checked */
    es_doc_t *holder = nsets ? es_doc_create("--set") : NULL;
    bool bad = es_sweep_spec_load(path, &spec, &err) != 0;
    for (size_t i = 0; !bad && i < nsets; i++)
        bad = !holder || es_sweep_override(spec.base, spec.base_dir, holder, &spec.epp_doc, sets[i], &err);
    if (bad || es_sweep_spec_validate(&spec, &err)) {
        es_cli_print_set_error(err.msg, sets, nsets);
        if (spec.doc) es_sweep_spec_fini(&spec);
        es_doc_destroy(holder);
        return ES_EXIT_USAGE;
    }
    if (check) {
        printf("%s: %zu points x %zu seeds = %zu runs; keys:", path, spec.npoints, spec.nseeds,
               spec.npoints * spec.nseeds);
        for (size_t k = 0; k < spec.nkeys; k++) printf(" %s", spec.keys[k]);
        printf("\n");
        es_sweep_spec_fini(&spec);
        es_doc_destroy(holder);
        return ES_EXIT_OK;
    }
    char dir[1100];
    if (out && strlen(out) > ES_OUTDIR_MAX - 40) {   /* room for points/<i>-seed<s> */
        fprintf(stderr, "eppsim: --out: path is %zu bytes, longer than the %d allowed\n", strlen(out), ES_OUTDIR_MAX - 40);
        es_sweep_spec_fini(&spec);
        return ES_EXIT_USAGE;
    }
    if (out) snprintf(dir, sizeof dir, "%s", out);
    else {
        char stem[256];
        spec_stem(path, stem, sizeof stem);
        snprintf(dir, sizeof dir, "out/sweep-%s", stem);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    g_interrupted = 0;

    es_sweep_options_t opt = {dir, (unsigned)jobs, shard, !quiet && isatty(2), quiet ? NULL : stderr,
                              &g_interrupted};
    if (!quiet) {
        fprintf(stderr, "eppsim sweep: %zu points x %zu seeds", spec.npoints, spec.nseeds);
        if (shard.count > 1) fprintf(stderr, ", shard %u/%u", shard.index, shard.count);
        fprintf(stderr, ", %ld at once -> %s\n", jobs, dir);
    }
    es_sweep_stats_t st;
    int rc = es_sweep_run(&spec, &opt, &st, &err);
    es_sweep_spec_fini(&spec);
    es_doc_destroy(holder);
    if (rc) {
        fprintf(stderr, "eppsim: %s\n", err.msg);
        return ES_EXIT_USAGE;
    }
    if (!quiet || st.failed || st.interrupted)
    {
        char rerun[64] = "";
        if (st.rerun) snprintf(rerun, sizeof rerun, " (%zu changed since an earlier run)", st.rerun);
        fprintf(stderr, "eppsim sweep: %zu runs: %zu done now%s, %zu already done, %zu failed%s, %.1f s -> %s/sweep.csv\n",
                st.total, st.completed, rerun, st.skipped, st.failed, st.interrupted ? ", interrupted" : "", st.wall_s,
                dir);
    }
    if (!quiet && !st.interrupted && es_sweep_print_table(stdout, dir, &err))
        fprintf(stderr, "eppsim: %s\n", err.msg);
    if (st.interrupted) return ES_EXIT_INTERRUPTED;
    return st.failed ? ES_EXIT_CHECK : ES_EXIT_OK;
}
