/* libFuzzer target: what `eppsim sweep merge` and the sweep table read from a
 * sweep directory.  The input is a sweep.json text and a sweep.csv text
 * separated by a line "----" (without one, sweep.csv is empty); both go to a
 * shard directory private to this process, which is merged with itself into
 * a second private directory, then loaded and printed (to /dev/null) as
 * `eppsim sweep` prints it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_outdir.h"
#include "es_sweep.h"
#include "fuzz_util.h"

static char g_shard[256], g_out[256];
static FILE *g_devnull;

static void put(const char *name, const uint8_t *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_shard, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f)) abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *t = getenv("TMPDIR");
    snprintf(g_shard, sizeof g_shard, "%s/eppsim-fuzz-%ld-shard", t && *t ? t : "/tmp", (long)getpid());
    snprintf(g_out, sizeof g_out, "%s/eppsim-fuzz-%ld-merged", t && *t ? t : "/tmp", (long)getpid());
    mkdir(g_shard, 0777);
    g_devnull = fopen("/dev/null", "w");
    if (!g_devnull) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = NULL;
    for (size_t i = 0; i + 6 <= size; i++)
        if (!memcmp(data + i, "\n----\n", 6)) { sep = data + i; break; }
    size_t jlen = sep ? (size_t)(sep - data) : size;
    put("sweep.json", data, jlen);
    put("sweep.csv", sep ? sep + 6 : data, sep ? size - jlen - 6 : 0);
    es_err_t err;
    es_err_clear(&err);
    const char *dirs[] = {g_shard, g_shard};
    es_sweep_merge(dirs, 2, g_out, &err);
    es_sweep_result_t r;
    if (es_sweep_result_load(g_shard, &r, &err) == 0) es_sweep_result_fini(&r);
    es_sweep_print_table(g_devnull, g_shard, &err);
    /* fresh files each time: ext4 flushes a file truncated, or renamed over, on close (slow) */
    char path[512];
    static const char *const names[] = {"sweep.json", "sweep.csv"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", g_shard, names[i]);
        unlink(path);
    }
    es_rmtree(g_out);
    return 0;
}
