/*
 * cmd_compare.c -- `eppsim compare BASE CURRENT [options]`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_cli.h"
#include "es_str.h"
#include "es_compare.h"

#define MAX_ARGS 256

static void usage(FILE *f)
{
    fprintf(f,
            "usage: eppsim compare BASE CURRENT [options]\n"
            "\n"
            "Compares two output directories of `eppsim run` (summary.json) or of `eppsim sweep`\n"
            "(sweep.csv, points matched by their key values).  Metrics are summary.json key\n"
            "paths; latencies are better lower, throughput, goodput and hit rates higher.  A\n"
            "metric regresses when it is worse by more than its tolerance and the 95 %% intervals\n"
            "do not overlap (the tolerance alone decides when a side has no interval).  Hit\n"
            "rates and fractions change in percentage points, everything else in %% of BASE.\n"
            "\n"
            "options:\n"
            "  -t, --tolerance M=PCT  tolerance of metric M (or a prefix ending in '*');\n"
            "                         repeatable (default %g)\n"
            "      --tolerance PCT    the default tolerance\n"
            "  -m, --metric M         compare M (repeatable; default: TTFT p50/p99, E2E p50/p99,\n"
            "                         TPOT p50, throughput, goodput, actual hit rate)\n"
            "  -f, --format F         text (default), markdown or junit\n"
            "  -h, --help             this help\n"
            "\n"
            "exit codes: 0 no regression, 1 a regression, 2 bad input.\n",
            ES_COMPARE_DEFAULT_TOLERANCE_PCT);
}

int es_cmd_compare(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tolerance", required_argument, NULL, 't'}, {"metric", required_argument, NULL, 'm'},
        {"format", required_argument, NULL, 'f'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *metrics[MAX_ARGS], *tol_names[MAX_ARGS];
    double tol_pct[MAX_ARGS];
    char name_buf[MAX_ARGS][256];
    size_t nmetrics = 0, ntol = 0;
    double def_tol = -1;
    es_compare_format_t fmt = ES_COMPARE_TEXT;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "t:m:f:h", opts, NULL)) != -1) {
        switch (ch) {
        case 't': {
            const char *eq = strrchr(optarg, '=');
            const char *num = eq ? eq + 1 : optarg;
            char *end;
            double v = es_strtod(num, &end);
            if (!*num || end == num || *end || v < 0 || (eq && (eq == optarg || (size_t)(eq - optarg) >= 256))) {
                fprintf(stderr, "eppsim compare: --tolerance %s: expected METRIC=PCT or PCT (PCT a finite number >= 0)\n", optarg);
                return ES_EXIT_USAGE;
            }
            if (!eq) { def_tol = v; break; }
            if (ntol == MAX_ARGS) { fprintf(stderr, "eppsim compare: too many --tolerance\n"); return ES_EXIT_USAGE; }
            snprintf(name_buf[ntol], sizeof name_buf[ntol], "%.*s", (int)(eq - optarg), optarg);
            tol_names[ntol] = name_buf[ntol];
            tol_pct[ntol++] = v;
            break;
        }
        case 'm':
            if (nmetrics == MAX_ARGS) { fprintf(stderr, "eppsim compare: too many --metric\n"); return ES_EXIT_USAGE; }
            metrics[nmetrics++] = optarg;
            break;
        case 'f':
            if (!strcmp(optarg, "text")) fmt = ES_COMPARE_TEXT;
            else if (!strcmp(optarg, "markdown") || !strcmp(optarg, "md")) fmt = ES_COMPARE_MARKDOWN;
            else if (!strcmp(optarg, "junit")) fmt = ES_COMPARE_JUNIT;
            else {
                fprintf(stderr, "eppsim compare: --format %s: expected text, markdown or junit\n", optarg);
                return ES_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return ES_EXIT_OK;
        default: usage(stderr); return ES_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "eppsim compare: give BASE and CURRENT directories\n");
        usage(stderr);
        return ES_EXIT_USAGE;
    }
    es_compare_options_t opt = {metrics, nmetrics, tol_names, tol_pct, ntol, def_tol};
    es_compare_t cmp;
    es_err_t err;
    es_err_clear(&err);
    if (es_compare_dirs(argv[optind], argv[optind + 1], &opt, &cmp, &err)) {
        fprintf(stderr, "eppsim compare: %s\n", err.msg);
        return ES_EXIT_USAGE;
    }
    es_compare_write(stdout, &cmp, fmt);
    int rc = cmp.nregressions ? ES_EXIT_CHECK : ES_EXIT_OK;
    es_compare_fini(&cmp);
    return rc;
}
