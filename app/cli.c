/* cli.c -- small helpers shared by the subcommands (in es_app, so tests can call subcommands). */
#include "es_cli.h"

#include <stdio.h>
#include <string.h>

int es_cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}
