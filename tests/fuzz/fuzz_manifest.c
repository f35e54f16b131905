/* libFuzzer target: Kubernetes manifests (multi-document YAML) applied onto
 * an empty experiment and validated, as `eppsim run --manifest FILE` does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "es_experiment.h"
#include "fuzz_util.h"
#include "es_manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = es_fuzz_file("manifest.yaml", data, size);
    es_err_t err;
    es_err_clear(&err);
    es_doc_t *exp_doc = es_doc_create("<none>");
    if (!exp_doc) abort();
    es_manifest_t m;
    es_manifest_init(&m);
    const char *paths[] = {path};
    if (es_manifest_apply(&m, paths, 1, exp_doc, &err) == 0) {
        es_experiment_t exp;
        if (es_experiment_from_doc(exp_doc, ".", &exp, &err) == 0) es_experiment_fini(&exp);
    } else {
        es_doc_destroy(exp_doc);
    }
    es_manifest_fini(&m);
    unlink(path);
    return 0;
}
