/*
 * cmd_config.c -- `eppsim config [EXPERIMENT] [--reference]`: the fully
 * defaulted experiment as it would run, or the reference of every key.
 */
#include <stdio.h>
#include <string.h>

#include "es_cli.h"
#include "es_experiment.h"

int es_cmd_config(int argc, char **argv)
{
    const char *path = NULL;
    int reference = 0;
    for (int i = 1; i < argc; i++) {
        if (es_cli_is_help(argv[i])) {
            printf("usage: eppsim config [EXPERIMENT] [--reference]\n\n"
                   "Prints the experiment (default: the built-in one) with every default filled in,\n"
                   "as YAML that `eppsim run` accepts.  --reference prints the markdown reference of\n"
                   "every key (docs/configuration.md is generated from it).\n");
            return ES_EXIT_OK;
        } else if (strcmp(argv[i], "--reference") == 0) {
            reference = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "eppsim config: unknown option '%s'\n", argv[i]);
            return ES_EXIT_USAGE;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "eppsim config: more than one experiment given\n");
            return ES_EXIT_USAGE;
        }
    }
    if (reference) {
        es_schema_write_reference(stdout, &es_experiment_schema, "");
        return ES_EXIT_OK;
    }
    es_experiment_t exp;
    es_err_t err;
    es_err_clear(&err);
    if (es_experiment_load(path, &exp, &err)) {
        fprintf(stderr, "eppsim: %s\n", err.msg);
        return ES_EXIT_USAGE;
    }
    es_schema_write_yaml(stdout, &es_experiment_schema, &exp, 0);
    es_experiment_fini(&exp);
    return ES_EXIT_OK;
}
