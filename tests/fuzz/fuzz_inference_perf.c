/* libFuzzer target: an inference-perf config (YAML or JSON) read by both
 * builds eppsim mirrors, and the same text as `workload.vllm_bench` settings. */
#include <stdint.h>
#include <stdlib.h>

#include "es_doc.h"
#include "es_inference_perf.h"
#include "es_vllm_bench.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = es_fuzz_cstr(data, size);
    es_doc_t *doc = NULL;
    es_err_t err;
    es_err_clear(&err);
    if (es_doc_load_string("fuzz.yaml", text, strlen(text), &doc, &err) == 0) {
        for (int v = ES_IP_CURRENT; v <= ES_IP_2025_10; v++) {
            es_ip_config_t c;
            if (es_ip_parse(doc->root, v, "/nonexistent", &c, &err) == 0) {
                (void)es_ip_worker_cap(&c);
                (void)es_ip_timeout_s(&c);
                es_ip_fini(&c);
            }
        }
        es_vb_config_t vb;
        if (doc->root && es_vb_parse(doc->root, "/nonexistent", 1, &vb, &err) == 0) es_vb_fini(&vb);
        es_doc_destroy(doc);
    }
    free(text);
    return 0;
}
