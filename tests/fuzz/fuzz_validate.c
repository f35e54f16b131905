/* libFuzzer target: what `eppsim validate` reads from a file: validation case
 * files (YAML set + cases, through the doc loader into replay experiments,
 * which are then loaded but not run), inference-perf lifecycle-metrics JSON and
 * the CSVs `validate import-blis` / `import-gpustack` read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "es_lifecycle.h"
#include "es_validate.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = es_fuzz_file("case.yaml", data, size);
    es_err_t err;
    es_err_clear(&err);
    es_val_options_t opt = {"", "h100-sxm-80gb", "0.11", "", 0, "current", 1, NULL, 0};
    es_val_run_t *runs = NULL;
    size_t n = 0;
    es_val_set_t set = {""};
    es_val_load(path, &opt, &runs, &n, &set, &err);
    for (size_t i = 0; i < n; i++) {
        es_doc_t *doc;
        if (runs[i].experiment &&
            es_doc_load_string("replay", runs[i].experiment, strlen(runs[i].experiment), &doc, &err) == 0) {
            es_experiment_t exp;
            if (es_experiment_from_doc(doc, ".", &exp, &err) == 0) es_experiment_fini(&exp);
        }
        free(runs[i].experiment);
    }
    free(runs);
    es_lc_stats_t st;
    es_lc_read(path, &st, &err);
    /* the published-aggregate importers (validate import-blis / import-gpustack) */
    char *yaml = NULL;
    if (es_val_import_blis(path, &yaml, &err) == 0) free(yaml);
    yaml = NULL;
    if (es_val_import_gpustack(path, &yaml, &err) == 0) free(yaml);
    remove(path);
    return 0;
}
