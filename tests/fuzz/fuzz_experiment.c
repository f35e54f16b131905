/* libFuzzer target: experiment files (YAML/JSON through the doc loader and
 * the experiment schema), as `eppsim run EXP` and `eppsim config EXP` read them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "es_experiment.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_doc_t *doc = NULL;
    es_err_t err;
    es_err_clear(&err);
    if (es_doc_load_string("fuzz.yaml", (const char *)data, size, &doc, &err)) return 0;
    es_experiment_t exp;
    /* base dir: the EPP config examples, so config_file: default.yaml and the like resolve */
    if (es_experiment_from_doc(doc, ES_SOURCE_DIR "/examples/epp-configs", &exp, &err) == 0)
        es_experiment_fini(&exp);
    return 0;
}
