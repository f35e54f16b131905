/* cmd_compare.c -- placeholder until issue 8 (comparisons) lands. */
#include "cli.h"

int es_cmd_compare(int argc, char **argv)
{
    (void)argc; (void)argv;
    return es_cli_not_landed("`eppsim compare`", "issue 8 (comparisons)");
}
