/* bench_scheduler.c -- placeholder until issue 4 (scheduler library) lands. */
#include "cli.h"

int es_bench_scheduler(int argc, char **argv)
{
    (void)argc; (void)argv;
    return es_cli_not_landed("`eppsim bench scheduler`", "issue 4 (scheduler library)");
}
