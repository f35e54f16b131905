/* libFuzzer target: a Hugging Face config.json (es_model_config_parse), and
 * the same bytes as a GPU datasheet and as a step-time coefficients file (both
 * read from a path, so the input goes through a temporary file). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "es_gpu_spec.h"
#include "es_model_config.h"
#include "es_steptime.h"
#include "fuzz_util.h"

static char g_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(g_path, sizeof g_path, "/tmp/eppsim-fuzz-model-%ld.yaml", (long)getpid());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = es_fuzz_cstr(data, size);
    es_model_shape_t m;
    es_err_t err;
    es_err_clear(&err);
    if (es_model_config_parse("fuzz.json", text, &m, &err) == 0) {
        (void)es_model_kv_bytes_per_token(&m, 4);
        (void)es_model_experts_touched(&m, 100);
    }
    FILE *f = fopen(g_path, "wb");
    if (f) {
        fwrite(data, 1, size, f);
        fclose(f);
        es_gpu_spec_t g;
        es_gpu_spec_lookup(g_path, "h100", &g, &err);
        char names[256];
        es_gpu_spec_names(g_path, names, sizeof names);
        es_step_coeffs_t k;
        es_step_coeffs_load(g_path, &k, &err);
        unlink(g_path);
    }
    free(text);
    return 0;
}
