/* libFuzzer target: experiment files loaded AND run (issue 19, class 10).
 * The parser-only target (fuzz_experiment) cannot find what goes wrong once
 * a valid experiment runs: aborts on values in range, time overflow,
 * unbounded work.  Each accepted experiment runs bounded: at most 20
 * requests, 10 simulated seconds, at most 16 pods and 100k KV blocks per pod
 * (inputs beyond those are skipped, not clamped, so what runs is exactly what
 * was loaded), without writing an output directory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "es_experiment.h"
#include "es_run.h"
#include "fuzz_util.h"

#define FUZZ_MAX_REQUESTS 20
#define FUZZ_MAX_SIM_S 10.0
#define FUZZ_MAX_PODS 16
#define FUZZ_MAX_BLOCKS 100000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_doc_t *doc = NULL;
    es_err_t err;
    es_err_clear(&err);
    if (es_doc_load_string("fuzz.yaml", (const char *)data, size, &doc, &err)) return 0;
    es_experiment_t exp;
    /* base dir: the EPP config examples, so config_file: default.yaml and the like resolve */
    if (es_experiment_from_doc(doc, ES_SOURCE_DIR "/examples/epp-configs", &exp, &err)) return 0;
    bool small = exp.cluster.max_pods <= FUZZ_MAX_PODS && exp.cluster.replicas <= FUZZ_MAX_PODS &&
                 exp.server.num_gpu_blocks <= FUZZ_MAX_BLOCKS && exp.workload.type != ES_WL_TRACE;
    if (small) {
        /* the bounds: fewer requests and less time than asked never make a run invalid */
        if (exp.workload.num_requests == 0 || exp.workload.num_requests > FUZZ_MAX_REQUESTS)
            exp.workload.num_requests = FUZZ_MAX_REQUESTS;
        if (exp.duration_s == 0 || exp.duration_s > FUZZ_MAX_SIM_S) exp.duration_s = FUZZ_MAX_SIM_S;
        exp.results.plots = false;
        es_run_options_t opt = {0};   /* no out_dir: nothing is written */
        es_run_report_t rep;
        es_err_clear(&err);
        (void)es_run_experiment(&exp, &opt, &rep, &err);
    }
    es_experiment_fini(&exp);
    return 0;
}
