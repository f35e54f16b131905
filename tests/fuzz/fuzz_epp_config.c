/* libFuzzer target: EndpointPickerConfig text (YAML or JSON), loaded,
 * defaulted, written back and turned into a scheduler as `eppsim run` does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "es_scheduler.h"
#include "fuzz_util.h"

static FILE *g_null;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_null = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = es_fuzz_cstr(data, size);
    es_epp_config_t *cfg = NULL;
    es_err_t err;
    es_err_clear(&err);
    if (es_epp_config_load_string("fuzz.yaml", text, &cfg, &err) == 0) {
        es_epp_config_write_yaml(g_null, cfg);
        es_scheduler_t *s = NULL;
        if (es_scheduler_create(cfg, 1, &s, &err) == 0) es_scheduler_destroy(s);
        es_epp_config_destroy(cfg);
    }
    free(text);
    return 0;
}
