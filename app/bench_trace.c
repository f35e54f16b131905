/* bench_trace.c -- placeholder until issue 5 (workloads) lands. */
#include "cli.h"

int es_bench_trace(int argc, char **argv)
{
    (void)argc; (void)argv;
    return es_cli_not_landed("`eppsim bench trace`", "issue 5 (workloads)");
}
