/* cmd_sweep.c -- placeholder until issue 8 (sweeps) lands. */
#include "cli.h"

int es_cmd_sweep(int argc, char **argv)
{
    (void)argc; (void)argv;
    return es_cli_not_landed("`eppsim sweep`", "issue 8 (sweeps)");
}
