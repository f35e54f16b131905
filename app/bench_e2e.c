/* bench_e2e.c -- placeholder until issue 6 (end-to-end) lands. */
#include "cli.h"

int es_bench_e2e(int argc, char **argv)
{
    (void)argc; (void)argv;
    return es_cli_not_landed("`eppsim bench e2e`", "issue 6 (end-to-end)");
}
