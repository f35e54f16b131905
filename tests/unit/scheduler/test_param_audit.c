/* test_param_audit.c -- out-of-range parameters of every implemented plugin,
 * as llm-d-router v0.10.0's factories treat them (docs/scheduler.md, "Out-of-
 * range parameters"): either reset to the default with a notice (the config
 * loads, the dump shows the default) or refused naming the parameter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "helpers.h"

#define HEAD "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n"

typedef struct reset_case {
    const char *plugins;   /* the plugins list items */
    const char *notice;    /* in a load warning */
    const char *dumped;    /* in the config as run */
} reset_case_t;

/* Upstream resets these (factory file in the comment). */
static const reset_case_t k_resets[] = {
    /* scorer/activerequest/active_request.go */
    {"- type: active-request-scorer\n  parameters: {maxBusyScore: 1.5}\n", "Ignoring out-of-range maxBusyScore",
     "maxBusyScore: 1"},
    {"- type: active-request-scorer\n  parameters: {maxBusyScore: -0.1}\n", "Ignoring out-of-range maxBusyScore",
     "maxBusyScore: 1"},
    {"- type: active-request-scorer\n  parameters: {idleThreshold: -3}\n", NULL, "idleThreshold: 0"},
    /* scorer/tokenload/token_load.go */
    {"- type: token-load-scorer\n  parameters: {queueThresholdTokens: 0}\n", "queueThresholdTokens <= 0",
     "queueThresholdTokens: 4194304"},
    /* scorer/loadaware/load_aware.go */
    {"- type: load-aware-scorer\n  parameters: {threshold: -1}\n", "using default queue threshold 128", "threshold: 128"},
    {"- type: load-aware-scorer\n  parameters: {threshold: 0}\n", "using default queue threshold 128", "threshold: 128"},
    /* scorer/nohitlru/no_hit_lru.go */
    {"- type: no-hit-lru-scorer\n  parameters: {lruSize: 0}\n", "lruSize <= 0: using the default 1024", "lruSize: 1024"},
    {"- type: no-hit-lru-scorer\n  parameters: {lruSize: -7}\n", "lruSize <= 0: using the default 1024", "lruSize: 1024"},
    /* picker/maxscore, random, weightedrandom picker.go */
    {"- type: max-score-picker\n  parameters: {maxNumOfEndpoints: 0}\n", "maxNumOfEndpoints <= 0", "maxNumOfEndpoints: 1"},
    {"- type: random-picker\n  parameters: {maxNumOfEndpoints: -2}\n", "maxNumOfEndpoints <= 0", "maxNumOfEndpoints: 1"},
    {"- type: weighted-random-picker\n  parameters: {maxNumOfEndpoints: 0}\n", "maxNumOfEndpoints <= 0",
     "maxNumOfEndpoints: 1"},
    /* dataproducer/approximateprefix/plugin.go: makeserver, minBlockSizeTokens */
    {"- type: approx-prefix-cache-producer\n  parameters: {lruCapacityPerServer: 0}\n",
     "lruCapacityPerServer <= 0: using the default 31250", "lruCapacityPerServer: 31250"},
    {"- type: approx-prefix-cache-producer\n  parameters: {lruCapacityPerServer: -1}\n",
     "lruCapacityPerServer <= 0: using the default 31250", "lruCapacityPerServer: 31250"},
    {"- type: approx-prefix-cache-producer\n  parameters: {blockSizeTokens: 16}\n",
     "below the recommended minimum (64), overriding it", "blockSizeTokens: 16"},
};

static char *dump(const es_epp_config_t *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    es_epp_config_write_yaml(f, c);
    fclose(f);
    return buf;
}

static void test_resets(void **st)
{
    (void)st;
    for (size_t k = 0; k < sizeof k_resets / sizeof k_resets[0]; k++) {
        const reset_case_t *t = &k_resets[k];
        char text[1024];
        snprintf(text, sizeof text, HEAD "%s", t->plugins);
        es_epp_config_t *c = cfg_text(text);
        bool seen = t->notice == NULL;
        for (size_t i = 0; es_epp_config_warning(c, i); i++)
            if (t->notice && strstr(es_epp_config_warning(c, i), t->notice)) seen = true;
        if (!seen) fprintf(stderr, "case %zu: no notice '%s'\n", k, t->notice);
        assert_true(seen);
        char *d = dump(c);
        if (!strstr(d, t->dumped)) fprintf(stderr, "case %zu: '%s' not in\n%s\n", k, t->dumped, d);
        assert_non_null(strstr(d, t->dumped));
        free(d);
        /* the config runs */
        es_scheduler_t *s;
        es_err_t err;
        assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
        pool_t p;
        pool_init(&p, 3, ES_S);
        es_sched_request_t req = text_req(1, "m", "hello world");
        es_sched_result_t res = {0};
        assert_int_equal(es_scheduler_pick(s, &req, p.eps, p.n, ES_S, &res), 0);
        assert_int_equal(res.status, 200);
        es_scheduler_destroy(s);
        es_epp_config_destroy(c);
    }
}

typedef struct refuse_case {
    const char *plugins;
    const char *error;     /* in the load error */
} refuse_case_t;

/* Upstream refuses these (the factory returns an error). */
static const refuse_case_t k_refusals[] = {
    /* saturationdetector/utilization/config.go validateConfig */
    {"- type: utilization-detector\n  parameters: {queueDepthThreshold: 0}\n", "queueDepthThreshold"},
    {"- type: utilization-detector\n  parameters: {kvCacheUtilThreshold: 1.5}\n", "kvCacheUtilThreshold"},
    {"- type: utilization-detector\n  parameters: {metricsStalenessThreshold: 0s}\n", "metricsStalenessThreshold"},
    {"- type: utilization-detector\n  parameters: {headroom: -1}\n", "headroom"},
    /* saturationdetector/concurrency/config.go validateConfig */
    {"- type: concurrency-detector\n  parameters: {maxConcurrency: 0}\n", "maxConcurrency"},
    {"- type: concurrency-detector\n  parameters: {maxTokenConcurrency: -1}\n", "maxTokenConcurrency"},
    {"- type: concurrency-detector\n  parameters: {headroom: -0.5}\n", "headroom"},
    /* admitter/probabilisticadmitter/plugin.go */
    {"- type: probabilistic-admitter\n  parameters: {queueDepthThreshold: 0}\n", "queueDepthThreshold"},
    {"- type: probabilistic-admitter\n  parameters: {power: 0}\n", "power"},
    {"- type: probabilistic-admitter\n  parameters: {k: -1}\n", "k must be > 0"},
    /* scorer/prefix/plugin.go */
    {"- type: prefix-cache-scorer\n  parameters: {matchLengthWeight: 1.5}\n", "matchLengthWeight"},
    /* filter/prefixcacheaffinity/plugin.go validate */
    {"- type: prefix-cache-affinity-filter\n  parameters: {explorationProbability: 2}\n", "explorationProbability"},
    {"- type: prefix-cache-affinity-filter\n  parameters: {affinityThreshold: 1.5}\n", "affinityThreshold"},
    /* filter/sloheadroomtier/plugin.go */
    {"- type: slo-headroom-tier-filter\n  parameters: {epsilonExploreNeg: 1.5}\n", "epsilonExploreNeg"},
    /* dataproducer/predictedlatency/plugin.go validate */
    {"- type: predicted-latency-producer\n  parameters: {sloBufferFactor: 0}\n", "sloBufferFactor"},
    /* dataproducer/inflightload/producer.go */
    {"- type: inflight-load-producer\n  parameters: {outputRatio: -1}\n", "outputRatio"},
    /* dataproducer/burstprefix/plugin.go */
    {"- type: burst-prefix-cache-producer\n  parameters: {windowDurationMs: 0}\n", "windowDurationMs"},
    /* profilehandler/disagg/prefix_based_pd_decider.go */
    {"- type: prefix-based-pd-decider\n  parameters: {nonCachedTokens: -1}\n", "nonCachedTokens"},
    /* fairness/program-aware/plugin.go validate */
    {"- type: program-aware-fairness\n  parameters: {lasDecayFactor: 0}\n", "lasDecayFactor"},
    /* usagelimits/priorityholdback/config.go validateConfig */
    {"- type: priority-holdback-policy\n  parameters: {minCeiling: 0.1, maxCeiling: 0}\n", "maxCeiling"},
    {"- type: concurrency-detector\n  parameters: {concurrencyMode: fast}\n", "concurrencyMode"},
    /* scorer/endpointattribute/endpointattribute.go */
    {"- type: endpoint-attribute-scorer\n  parameters: {attributeKey: a, algorithm: {type: linear_lower_is_better, "
     "normalization: {fixedRange: {min: 1, max: 0}}}}\n", "fixedRange requires min < max"},
    /* profilehandler/dataparallel/dp_profile_handler.go */
    {"- type: data-parallel-profile-handler\n  parameters: {primaryPort: 70000}\n", "primaryPort"},
};

static void test_refusals(void **st)
{
    (void)st;
    for (size_t k = 0; k < sizeof k_refusals / sizeof k_refusals[0]; k++) {
        char text[1024];
        snprintf(text, sizeof text, HEAD "%s", k_refusals[k].plugins);
        es_epp_config_t *c = NULL;
        es_err_t err;
        int rc = es_epp_config_load_string("bad.yaml", text, &c, &err);
        if (rc == 0 || !strstr(err.msg, k_refusals[k].error))
            fprintf(stderr, "case %zu: want an error naming '%s', got rc=%d '%s'\n", k, k_refusals[k].error, rc,
                    rc ? err.msg : "");
        assert_true(rc < 0);
        assert_non_null(strstr(err.msg, k_refusals[k].error));
        assert_non_null(strstr(err.msg, "bad.yaml:"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_resets), cmocka_unit_test(test_refusals)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
