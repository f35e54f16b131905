/* libFuzzer target: `vllm serve` argument lists (server.vllm_args, validate's
 * --vllm-args and vllm-args.txt): the tokeniser and the flag parser, then the
 * defaults and the mapping onto the server section. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_vllm_args.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = es_fuzz_cstr(data, size);
    es_err_t err;
    es_err_clear(&err);
    es_vllm_serve_t s, r;
    es_vllm_serve_init(&s);
    if (es_vllm_parse_args(text, "fuzz", &s, &err) == 0) {
        es_vllm_resolve(&s, 1100, "h100-sxm-80gb", 79.6, &r);
        char warn[2048] = "";
        es_vllm_warnings(&r, warn, sizeof warn);
        es_server_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        es_vllm_apply(&r, NULL, NULL, &cfg);
        char key[64];
        if (s.model[0]) es_vllm_model_key(s.model, key, sizeof key);
    }
    int v;
    es_vllm_version_parse(text, &v, &err);
    free(text);
    return 0;
}
