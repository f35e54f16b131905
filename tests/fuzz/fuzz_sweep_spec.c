/* libFuzzer target: sweep specs (grid/points, seeds, metrics, EPP short
 * forms), loaded and, for small sweeps, every point's experiment built and
 * validated as `eppsim sweep` does before running. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "es_doc.h"
#include "fuzz_util.h"
#include "es_sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_doc_t *doc = NULL;
    es_err_t err;
    es_err_clear(&err);
    if (es_doc_load_string("fuzz-sweep.yaml", (const char *)data, size, &doc, &err)) return 0;
    es_sweep_spec_t spec;
    /* dir: examples/, so `base: prefix-heavy.yaml` resolves */
    if (es_sweep_spec_from_doc(doc, ES_SOURCE_DIR "/examples", &spec, &err)) return 0;
    if (spec.npoints <= 64) {
        es_sweep_spec_validate(&spec, &err);
        char label[256];
        for (size_t i = 0; i < spec.npoints; i++) es_sweep_point_label(&spec, i, label, sizeof label);
    }
    es_sweep_spec_fini(&spec);
    return 0;
}
