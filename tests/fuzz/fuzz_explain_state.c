/* libFuzzer target: the state file of `eppsim explain --state FILE` (the
 * whole command with the upstream default config: parse, replay, one pick,
 * print).  Odd-length inputs print JSON, even-length ones the table. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "es_cli.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!freopen("/dev/null", "w", stdout)) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = es_fuzz_file("state.yaml", data, size);
    char p[256];
    snprintf(p, sizeof p, "%s", path);
    char *argv[] = {"explain", "--state", p, (size & 1) ? "--json" : NULL, NULL};
    es_cmd_explain((size & 1) ? 4 : 3, argv);
    unlink(p);
    return 0;
}
