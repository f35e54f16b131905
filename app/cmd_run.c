/* cmd_run.c -- placeholder until issue 6 (end-to-end) lands. */
#include "cli.h"

int es_cmd_run(int argc, char **argv)
{
    (void)argc; (void)argv;
    return es_cli_not_landed("`eppsim run`", "issue 6 (end-to-end)");
}
