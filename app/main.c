/*
 * main.c -- `eppsim`: dispatch to subcommands.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_cli.h"
#include "es_rng.h"

static int cmd_version(int argc, char **argv)
{
    (void)argc; (void)argv;
    printf("eppsim %s (experiment schema 1, rng %s)\n", ES_VERSION, ES_RNG_NAME);
    return ES_EXIT_OK;
}

typedef struct command {
    const char *name;
    es_cmd_fn   fn;
    const char *summary;
    bool        split_eq;   /* reads argv by hand: "--name=value" is split here, as getopt does */
} command_t;

static const command_t k_commands[] = {
    {"run",     es_cmd_run,     "simulate one experiment (default: the built-in one) and write results", false},
    {"sweep",   es_cmd_sweep,   "run a grid of experiments in parallel and collect sweep.csv", false},
    {"compare", es_cmd_compare, "compare two result directories; exit 1 on a regression", false},
    {"explain", es_cmd_explain, "show why the endpoint picker picks a pod for one request", true},
    {"trace",   es_cmd_trace,   "trace statistics (stats), conversion (convert), generation (gen)", true},
    {"bench",   es_cmd_bench,   "micro-benchmarks: core, server, scheduler, trace, e2e, steptime", true},
    {"config",  es_cmd_config,  "print an experiment with every default filled in (--reference: all keys)", true},
    {"validate", es_cmd_validate, "replay real vLLM runs and print measured vs simulated (docs/validate.md)", false},
    {"calibrate", es_cmd_calibrate, "fit the vLLM-fidelity and step-time coefficients to real runs (docs/server.md)",
     false},
    {"serve",   es_cmd_serve,   "serve emulated vLLM pods over HTTP in real time (docs/live.md)", false},
    {"gateway", es_cmd_gateway, "route live requests to pods with the endpoint picker (docs/live.md)", false},
    {"load",    es_cmd_load,    "send an experiment's workload to live servers, write run results (docs/live.md)",
     false},
    {"version", cmd_version,    "print the version", false},
};

/* Splits each "--name=value" of argv[from..argc) into "--name" "value" (the
 * '=' becomes the name's end, in place) into out, which holds 2 * argc + 1. */
static int split_eq(int argc, char **argv, int from, char **out)
{
    int n = 0;
    for (int i = 0; i < argc; i++) {
        char *eq = i >= from && strncmp(argv[i], "--", 2) == 0 ? strchr(argv[i], '=') : NULL;
        out[n++] = argv[i];
        if (eq && eq > argv[i] + 2) {
            *eq = '\0';
            out[n++] = eq + 1;
        }
    }
    out[n] = NULL;
    return n;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: eppsim <command> [options]\n"
            "\n"
            "eppsim simulates an LLM inference gateway (Gateway API Inference Extension):\n"
            "client, gateway, ext_proc, endpoint picker and vLLM-like servers.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
        fprintf(f, "  %-9s  %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(f,
            "\n"
            "Run `eppsim <command> --help` for a command's options.\n"
            "Exit codes: 0 ok, 1 a check failed, 2 usage or input error, 130 interrupted.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return ES_EXIT_USAGE;
    }
    if (es_cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return ES_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
        if (strcmp(argv[1], k_commands[i].name) == 0) {
            /* the subcommand's argv[0] reads "eppsim run": getopt's messages use it */
            char prog[64];
            snprintf(prog, sizeof prog, "eppsim %s", k_commands[i].name);
            argv[1] = prog;
            if (!k_commands[i].split_eq) return k_commands[i].fn(argc - 1, argv + 1);
            char **split = malloc(sizeof *split * (2 * (size_t)argc + 1));
            if (!split) { fprintf(stderr, "eppsim: out of memory\n"); return ES_EXIT_USAGE; }
            int rc = k_commands[i].fn(split_eq(argc - 1, argv + 1, 1, split), split);
            free(split);
            return rc;
        }
    fprintf(stderr, "eppsim: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return ES_EXIT_USAGE;
}
