/* cmd_explain.c -- placeholder until issue 4 (scheduler library) lands. */
#include "cli.h"

int es_cmd_explain(int argc, char **argv)
{
    (void)argc; (void)argv;
    return es_cli_not_landed("`eppsim explain`", "issue 4 (scheduler library)");
}
