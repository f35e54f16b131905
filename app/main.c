/*
 * main.c -- `eppsim`: dispatch to subcommands.
 */
#include <stdio.h>
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
} command_t;

static const command_t k_commands[] = {
    {"run",     es_cmd_run,     "simulate one experiment (default: the built-in one) and write results"},
    {"sweep",   es_cmd_sweep,   "run a grid of experiments in parallel and collect sweep.csv"},
    {"compare", es_cmd_compare, "compare two result directories; exit 1 on a regression"},
    {"explain", es_cmd_explain, "show why the endpoint picker picks a pod for one request"},
    {"trace",   es_cmd_trace,   "inspect (stats) and convert (convert) workload traces"},
    {"bench",   es_cmd_bench,   "micro-benchmarks: core, server, scheduler, trace, e2e"},
    {"config",  es_cmd_config,  "print an experiment with every default filled in (--reference: all keys)"},
    {"validate", es_cmd_validate, "replay real vLLM runs and print measured vs simulated (docs/validate.md)"},
    {"calibrate", es_cmd_calibrate, "fit the vLLM-fidelity and step-time coefficients to real runs (docs/server.md)"},
    {"serve",   es_cmd_serve,   "serve emulated vLLM pods over HTTP in real time (docs/live.md)"},
    {"gateway", es_cmd_gateway, "route live requests to pods with the endpoint picker (docs/live.md)"},
    {"load",    es_cmd_load,    "send an experiment's workload to live servers, write run results (docs/live.md)"},
    {"version", cmd_version,    "print the version"},
};

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
            return k_commands[i].fn(argc - 1, argv + 1);
        }
    fprintf(stderr, "eppsim: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return ES_EXIT_USAGE;
}
