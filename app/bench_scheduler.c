/*
 * bench_scheduler.c -- `eppsim bench scheduler [--json]`: endpoint-picker
 * decisions per second with the upstream default config (queue 2, kv 2,
 * prefix 3) at 16 and 64 endpoints, 2k-token prompts (1.5k-token shared
 * system prompt out of 32, 500-token unique question), warm prefix index.
 * Each decision is a full es_scheduler_pick (admission, prefix hashing and
 * match, scorers, picker, PreRequest index update, in-flight counters) plus
 * the end-of-stream hook.  Prints figures; asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "es_cli.h"
#include "es_scheduler.h"
#include "es_util.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* llm-d-router v0.10.0's "predicted-latency-slo" well-known config
 * (test/integration/epp/wellknown_configs_test.go), as in tests/upstream/configs. */
static const char k_predicted_latency[] =
    "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n"
    "- type: queue-scorer\n- type: kv-cache-utilization-scorer\n- type: prefix-cache-scorer\n"
    "- type: predicted-latency-producer\n  parameters: {streamingMode: true}\n"
    "- {type: prefix-cache-affinity-filter, name: strict-affinity-filter, parameters: {affinityThreshold: 0.99}}\n"
    "- {type: prefix-cache-affinity-filter, name: loose-affinity-filter, parameters: {affinityThreshold: 0.8}}\n"
    "- type: latency-scorer\n- type: weighted-random-picker\n- type: slo-headroom-tier-filter\n"
    "- type: latency-slo-admitter\n"
    "schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: predicted-latency-producer\n"
    "  - pluginRef: strict-affinity-filter\n  - pluginRef: slo-headroom-tier-filter\n"
    "  - pluginRef: loose-affinity-filter\n  - pluginRef: latency-scorer\n  - pluginRef: weighted-random-picker\n";

/* config: a file, or (text != NULL) YAML text, or the upstream default.
 * respond: each request streams back (first chunk 20 ms, 100 tokens 8 ms
 * apart) and decisions are 1 ms apart, so a latency predictor trains (every
 * 10 simulated s) inside the timed loop; else decisions are 1 us apart and
 * each request ends at once. */
static double run(const char *config, const char *text, bool respond, size_t n, uint64_t decisions, uint64_t warm,
                  double *hit)
{
    es_epp_config_t *cfg;
    es_scheduler_t *s;
    es_err_t err;
    int rc = text ? es_epp_config_load_string("predicted-latency", text, &cfg, &err)
             : config ? es_epp_config_load_file(config, &cfg, &err) : es_epp_config_default(&cfg, &err);
    if (rc || es_scheduler_create(cfg, 42, &s, &err)) {
        fprintf(stderr, "eppsim bench scheduler: %s\n", err.msg);
        exit(ES_EXIT_USAGE);
    }
    es_endpoint_t *eps = calloc(n, sizeof *eps);
    char (*names)[16] = calloc(n, sizeof *names);
    es_rng_t rng;
    es_rng_seed(&rng, 7);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "pod%zu", i);
        eps[i].id = (uint32_t)i;
        eps[i].name = names[i];
        eps[i].address = "10.0.0.1:8000";
        eps[i].ready = true;
        eps[i].metrics.block_size = 16;
        eps[i].metrics.num_gpu_blocks = 30000;
    }
    es_segment_t segs[2] = {{0, 1536}, {0, 512}};
    es_sched_request_t r;
    memset(&r, 0, sizeof r);
    r.model = "meta-llama/Llama-3.1-8B-Instruct";
    r.content.segs = segs;
    r.content.nsegs = 2;
    r.content.tokens = 2048;
    es_header_t slo[2] = {{"x-llm-d-slo-ttft-ms", "200"}, {"x-llm-d-slo-tpot-ms", "50"}};
    if (respond) { r.headers = slo; r.nheaders = 2; }
    const es_time_t step = respond ? ES_MS : 1000;
    es_sched_result_t res;
    memset(&res, 0, sizeof res);
    uint64_t hits = 0, blocks = 0;
    bool kv = es_scheduler_wants_kv_events(cfg);
    uint64_t keys[128];
    double t0 = 0;
    for (uint64_t i = 0; i < warm + decisions; i++) {
        if (i == warm) { t0 = now_s(); hits = blocks = 0; }
        /* metrics move as scrapes would (cheap: a few pods per decision) */
        for (int k = 0; k < 2; k++) {
            es_endpoint_t *e = &eps[es_rng_below(&rng, n)];
            e->metrics.waiting = (int32_t)es_rng_below(&rng, 8);
            e->metrics.kv_cache_usage = es_rng_uniform(&rng) * 0.9;
            e->metrics.update_time = (es_time_t)i * step;
        }
        segs[0].id = 1 + es_rng_below(&rng, 32);   /* system prompt */
        segs[1].id = 1000 + i;                       /* unique question */
        r.id = i;
        es_time_t t = (es_time_t)i * step;
        es_scheduler_pick(s, &r, eps, n, t, &res);
        if (kv && res.status == 200) {
            /* the picked server caches the request: its KV events for the shared
             * system prompt (the unique question's blocks would be evicted soon) */
            es_content_t sys = {segs, 1, segs[0].len};
            size_t nb = es_content_block_hashes(&sys, 16, keys, sizeof keys / sizeof keys[0]);
            for (size_t b = 0; b < nb; b++) {
                es_kv_event_t ev = {.kind = ES_KV_BLOCK_STORED, .endpoint = res.primary, .block_hash = keys[b]};
                es_scheduler_on_kv_event(s, &ev);
            }
        }
        hits += res.est_prefix_blocks;
        blocks += res.est_total_blocks;
        if (respond) {
            es_scheduler_on_first_chunk(s, i, t + 20 * ES_MS);
            es_scheduler_on_complete(s, i, t + 20 * ES_MS + 99 * 8 * ES_MS, 2048, 100, eps, n);
        } else
            es_scheduler_on_end(s, i, t);
    }
    double dt = now_s() - t0;
    *hit = blocks ? (double)hits / (double)blocks : 0;
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
    free(eps);
    free(names);
    return (double)decisions / dt;
}

int es_bench_scheduler(int argc, char **argv)
{
    int json = 0;
    const char *config = NULL;
    uint64_t decisions = 200000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
        else if (!strcmp(argv[i], "--decisions") && i + 1 < argc) {
            char *end;
            unsigned long long d = strtoull(argv[++i], &end, 10);
            if (*end || d < 1 || d > 100000000ULL) {
                fprintf(stderr, "eppsim bench scheduler: --decisions takes 1..100000000\n");
                return ES_EXIT_USAGE;
            }
            decisions = d;
        }
        else if (es_cli_is_help(argv[i])) {
            printf("usage: eppsim bench scheduler [--config EPP.yaml] [--decisions N] [--json]\n\n"
                   "Decisions per second of the endpoint picker with the upstream default config\n"
                   "(queue 2, kv 2, prefix 3) at 16 and 64 endpoints, 2k-token prompts sharing one of\n"
                   "32 system prompts (1.5k tokens), warm prefix index.  Best of 3 runs.  Without\n"
                   "--config, also the predicted-latency pipeline (v0.10.0's well-known config) at 16\n"
                   "endpoints, its Bayesian-ridge predictor trained online inside the timed loop.\n"
                   "  --config EPP.yaml  another EndpointPickerConfig (e.g. a precise prefix pipeline)\n"
                   "  --decisions N      timed decisions per run (default 200000; 10%% more warm up first)\n");
            return ES_EXIT_OK;
        } else {
            fprintf(stderr, "eppsim bench scheduler: unknown option '%s'\n", argv[i]);
            return ES_EXIT_USAGE;
        }
    }
    static const size_t sizes[] = {16, 64};
    double rate[2], hit[2];
    for (int k = 0; k < 2; k++) {
        rate[k] = 0;
        for (int rep = 0; rep < 3; rep++) {
            double h, v = run(config, NULL, false, sizes[k], decisions, decisions / 10, &h);
            if (v > rate[k]) { rate[k] = v; hit[k] = h; }
        }
        if (!json) {
            printf("%3zu endpoints: %9.0f decisions/s (%.2f us each; estimated prefix hit %.0f %%)\n", sizes[k],
                   rate[k], 1e6 / rate[k], 100 * hit[k]);
            fflush(stdout);
        }
    }
    /* the predicted-latency pipeline, predictor trained online inside the loop */
    double plat = 0, ph = 0;
    for (int rep = 0; !config && rep < 3; rep++) {
        double h, v = run(NULL, k_predicted_latency, true, 16, decisions, decisions / 10, &h);
        if (v > plat) { plat = v; ph = h; }
    }
    if (!config && !json)
        printf(" 16 endpoints, predicted-latency config (v0.10.0 well-known \"predicted-latency-slo\", streaming,\n"
               "    SLO headers, predictor retrained every 10 simulated s): %9.0f decisions/s (%.2f us each)\n",
               plat, 1e6 / plat);
    (void)ph;
    if (json) {
        printf("{\"bench\":\"scheduler\",\"unit\":\"decisions_per_s\",\"endpoints_16\":%.0f,\"endpoints_64\":%.0f,"
               "\"prompt_tokens\":2048,\"config\":", rate[0], rate[1]);
        es_json_write_string(stdout, config ? config : "upstream default (queue 2, kv 2, prefix 3)");
        if (!config) printf(",\"predicted_latency_endpoints_16\":%.0f", plat);
        printf("}\n");
    }
    else
        printf("target: >= 100000 decisions/s at 16 endpoints on one core\n");
    return ES_EXIT_OK;
}
