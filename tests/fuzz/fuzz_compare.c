/* libFuzzer target: `eppsim compare` on mutated summaries (issue 19, class
 * 10).  The input is two summary.json texts separated by a line "----"
 * (without one, the input is compared with itself): each is written to a
 * run directory private to this process, then compared with the default
 * metrics and with per-metric tolerances, and the result is printed in all
 * three formats (to /dev/null). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "es_compare.h"
#include "fuzz_util.h"

static void put(const char *dir, const uint8_t *data, size_t size)
{
    char path[512];
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/summary.json", dir);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char base[256], cur[256];
    static FILE *devnull;
    if (!devnull) {
        const char *t = getenv("TMPDIR");
        snprintf(base, sizeof base, "%s/eppsim-fuzz-%ld-base", t && *t ? t : "/tmp", (long)getpid());
        snprintf(cur, sizeof cur, "%s/eppsim-fuzz-%ld-cur", t && *t ? t : "/tmp", (long)getpid());
        devnull = fopen("/dev/null", "w");
        if (!devnull) abort();
    }
    const uint8_t *sep = NULL;
    for (size_t i = 0; i + 6 <= size; i++)
        if (!memcmp(data + i, "\n----\n", 6)) { sep = data + i; break; }
    if (sep) {
        put(base, data, (size_t)(sep - data));
        put(cur, sep + 6, size - (size_t)(sep - data) - 6);
    } else {
        put(base, data, size);
        put(cur, data, size);
    }
    static const char *const tol_metric[] = {"latency_ms.ttft.p99", "throughput.*", "prefix_cache.actual_hit_rate"};
    static const double tol_pct[] = {0, 2.5, 1e9};
    es_compare_options_t opts[2] = {{0}, {NULL, 0, tol_metric, tol_pct, 3, 0}};
    opts[0].default_tol_pct = -1;
    for (int k = 0; k < 2; k++) {
        es_compare_t c;
        es_err_t err;
        es_err_clear(&err);
        if (es_compare_dirs(base, cur, &opts[k], &c, &err) == 0) {
            es_compare_write(devnull, &c, ES_COMPARE_TEXT);
            es_compare_write(devnull, &c, ES_COMPARE_MARKDOWN);
            es_compare_write(devnull, &c, ES_COMPARE_JUNIT);
            es_compare_fini(&c);
        }
    }
    return 0;
}
