/* libFuzzer target: a GPU step-time profile (data/profiles/<gpu>.json, the
 * format in docs/server.md; what `server.gpu` names): parsed, then every
 * model's tables looked up as the profile step model looks them up. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "es_server.h"
#include "es_steptime.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = es_fuzz_cstr(data, size);
    es_err_t err;
    es_err_clear(&err);
    es_profile_t *p = NULL;
    if (es_profile_parse("fuzz-gpu", "fuzz-gpu.json", text, &p, &err) == 0) {
        char list[512];
        es_profile_model_list(p, list, sizeof list);
        static const double xs[] = {0, 1, 7.5, 512, 1e6};
        for (uint32_t i = 0; i < p->nmodels; i++) {
            const es_profile_model_t *m = es_profile_model(p, p->models[i].name);
            if (!m) continue;   /* a key read as a config.json path */
            (void)es_steptime_resolve(0, m);
            for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
                if (m->dense.n) (void)es_table1_eval(&m->dense, xs[k]);
                if (m->lm_head.n) (void)es_table1_eval(&m->lm_head, xs[k]);
                if (m->prefill.nrows) (void)es_table2_eval(&m->prefill, xs[k], xs[k]);
                if (m->decode.nrows) (void)es_table2_eval(&m->decode, xs[k], xs[k]);
            }
        }
        es_profile_destroy(p);
    }
    free(text);
    return 0;
}
