/* bench_server.c -- placeholder until issue 3 (server model) lands. */
#include "cli.h"

int es_bench_server(int argc, char **argv)
{
    (void)argc; (void)argv;
    return es_cli_not_landed("`eppsim bench server`", "issue 3 (server model)");
}
