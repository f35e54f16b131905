/* EndpointPickerConfig: the defaulting pipeline (llm-d-router v0.10.0 pkg/epp/config/loader/,
 * commit 71f4f099) and every error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "helpers.h"
#include "internal.h"

static char *dump(const es_epp_config_t *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    es_epp_config_write_yaml(f, c);
    fclose(f);
    return buf;
}

static const esi_plugin_cfg_t *plugin(const es_epp_config_t *c, const char *name)
{
    for (size_t i = 0; i < c->nplugins; i++) if (!strcmp(c->plugins[i].name, name)) return &c->plugins[i];
    return NULL;
}

static void test_default_config(void **st)
{
    (void)st;
    es_epp_config_t *c;
    es_err_t err;
    assert_int_equal(es_epp_config_default(&c, &err), 0);
    assert_int_equal(c->nprofiles, 1);
    assert_string_equal(c->profiles[0].name, "default");
    /* queue 2, kv 2, prefix 3, then the appended picker */
    assert_int_equal(c->profiles[0].nrefs, 4);
    const char *names[] = {"queue-scorer", "kv-cache-utilization-scorer", "prefix-cache-scorer", "max-score-picker"};
    double w[] = {2, 2, 3, 1};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(c->plugins[c->profiles[0].refs[i].plugin].name, names[i]);
        assert_double_equal(c->profiles[0].refs[i].weight, w[i], 0);
    }
    assert_string_equal(c->plugins[c->handler].name, "single-profile-handler");
    assert_string_equal(c->plugins[c->saturation].vt->type_name, "utilization-detector");
    assert_true(c->producer >= 0);
    const esi_approx_params_t *ap = c->plugins[c->producer].params;
    assert_true(c->plugins[c->producer].auto_created);
    assert_true(ap->auto_tune);
    assert_int_equal(ap->block_size_tokens, 16);
    assert_int_equal(ap->max_blocks, 2048);       /* v0.10 defaults */
    assert_int_equal(ap->max_tokens, 131072);
    assert_int_equal(ap->min_block_tokens, 64);
    assert_int_equal(ap->lru_capacity, 31250);
    for (const char *const *n = (const char *const[]){"fcfs-ordering-policy", "global-strict-fairness-policy",
                                                      "static-usage-limit-policy", "openai-parser", NULL}; *n; n++)
        assert_non_null(plugin(c, *n));
    assert_false(c->flow_control);
    char *y = dump(c);
    assert_non_null(strstr(y, "name: approx-prefix-cache-producer\n  # added by the defaulting pipeline"));
    assert_non_null(strstr(y, "metricsStalenessThreshold: 200ms"));
    assert_non_null(strstr(y, "queueDepthThreshold: 5"));
    free(y);
    es_epp_config_destroy(c);
}

static void test_defaulting_pipeline(void **st)
{
    (void)st;
    /* no profiles: a "default" profile with every filter, scorer and picker; name = type;
     * weights 1; an explicitly named plugin */
    es_epp_config_t *c = cfg_text(CFG_HEAD
        "featureGates: [flowControl]\n"
        "plugins:\n- type: decode-filter\n- type: queue-scorer\n  name: q\n- type: random-picker\n"
        "- type: metrics-data-source\n  parameters: {scheme: http, path: /metrics}\n");
    assert_int_equal(c->nprofiles, 1);
    assert_string_equal(c->profiles[0].name, "default");
    assert_int_equal(c->profiles[0].nrefs, 3);
    assert_string_equal(c->plugins[c->profiles[0].refs[0].plugin].name, "decode-filter");
    assert_string_equal(c->plugins[c->profiles[0].refs[1].plugin].name, "q");
    assert_string_equal(c->plugins[c->profiles[0].refs[2].plugin].name, "random-picker");
    assert_double_equal(c->profiles[0].refs[1].weight, 1.0, 0);
    assert_true(c->flow_control && es_epp_config_gate(c, "flowControl"));
    assert_int_equal(c->producer, -1);   /* nobody needs prefix match info */
    es_epp_config_destroy(c);

    /* the first declared picker is shared by profiles lacking one; P/D handler */
    c = cfg_text("apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\n"
        "plugins:\n- type: approx-prefix-cache-producer\n  parameters: {maxPrefixBlocksToMatch: 100, lruCapacityPerServer: 500}\n"
        "- type: prefix-cache-scorer\n"
        "- type: queue-scorer\n- type: prefill-filter\n- type: decode-filter\n- type: weighted-random-picker\n"
        "- type: prefix-based-pd-decider\n  parameters: {nonCachedTokens: 16}\n"
        "- type: disagg-profile-handler\n  parameters: {deciders: {prefill: prefix-based-pd-decider}}\n"
        "schedulingProfiles:\n"
        "- name: prefill\n  plugins: [{pluginRef: prefill-filter}, {pluginRef: prefix-cache-scorer, weight: 2}]\n"
        "- name: decode\n  plugins: [{pluginRef: decode-filter}, {pluginRef: queue-scorer}]\n");
    for (int p = 0; p < 2; p++)
        assert_string_equal(c->plugins[c->profiles[p].refs[c->profiles[p].nrefs - 1].plugin].name,
                            "weighted-random-picker");
    assert_string_equal(c->plugins[c->handler].name, "disagg-profile-handler");
    /* the declared producer is the one that runs */
    const esi_approx_params_t *ap = c->plugins[c->producer].params;
    assert_int_equal(ap->max_blocks, 100);
    assert_int_equal(ap->lru_capacity, 500);
    es_epp_config_destroy(c);

    /* durations, quantities, bands */
    c = cfg_text(CFG_HEAD "featureGates: [flowControl]\nplugins:\n- type: queue-scorer\n"
        "- type: edf-ordering-policy\n"
        "flowControl:\n  maxBytes: 1Gi\n  maxRequests: 1k\n  defaultRequestTTL: 1m30s\n"
        "  priorityBands:\n  - {priority: 10, orderingPolicyRef: edf-ordering-policy, "
        "fairnessPolicyRef: round-robin-fairness-policy, maxRequests: \"5\"}\n");
    assert_int_equal(c->flow.max_bytes, 1073741824ULL);
    assert_int_equal(c->flow.max_requests, 1000);
    assert_int_equal(c->flow.ttl, 90 * ES_S);
    assert_int_equal(c->flow.nbands, 1);
    assert_int_equal(c->flow.bands[0].max_requests, 5);
    assert_int_equal(c->flow.bands[0].max_bytes, 1000000000ULL);
    assert_string_equal(c->plugins[c->flow.bands[0].ordering].name, "edf-ordering-policy");
    assert_string_equal(c->plugins[c->flow.bands[0].fairness].name, "round-robin-fairness-policy");
    es_epp_config_destroy(c);
}

static void test_load_file_json(void **st)
{
    (void)st;
    char path[] = "/tmp/es_sched_cfg_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"apiVersion\": \"inference.networking.x-k8s.io/v1alpha1\", \"kind\": \"EndpointPickerConfig\",\n"
          " \"plugins\": [{\"type\": \"queue-scorer\"}, {\"type\": \"bogus-scorer\"}]}\n", f);
    fclose(f);
    es_epp_config_t *c;
    es_err_t err;
    assert_int_equal(es_epp_config_load_file(path, &c, &err), ES_EINVAL);
    assert_non_null(strstr(err.msg, ":2: plugins[1].type: unknown plugin type \"bogus-scorer\""));
    remove(path);
}

static void test_errors(void **st)
{
    (void)st;
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\nschedulingProfile: []\n",
              "bad.yaml:5: schedulingProfile: unknown key (known: apiVersion");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\n  weight: 2\n", "bad.yaml:5: plugins[0].weight: unknown key");
    cfg_fails(CFG_HEAD "plugins:\n- type: quque-scorer\n", "plugins[0].type: unknown plugin type \"quque-scorer\" (did you mean \"queue-scorer\"?");
    for (size_t i = 0; es_epp_plugin_type(i); i++) {   /* a type recognised but not implemented yet, if any is left */
        const char *t = es_epp_plugin_type(i);
        if (esi_registry_find(t)->klass != ESI_CLASS_MISSING) continue;
        char text[256], want[200];
        snprintf(text, sizeof text, CFG_HEAD "plugins:\n- type: %s\n", t);
        snprintf(want, sizeof want, "plugins[0].type: plugin type \"%s\" (llm-d-router v0.10) is not implemented", t);
        cfg_fails(text, want);
        break;
    }
    /* v0.10: the producer's parameters are refused on prefix-cache-scorer (strict decoder) */
    cfg_fails(CFG_HEAD "plugins:\n- type: prefix-cache-scorer\n  parameters: {lruCapacityPerServer: 5}\n",
              "plugins[0].parameters.lruCapacityPerServer: unknown key");
    /* prefixMatchInfoProducerName must name a producer; one producer per config */
    cfg_fails(CFG_HEAD "plugins:\n- type: prefix-cache-scorer\n  parameters: {prefixMatchInfoProducerName: nope}\n",
              "no prefix match info producer named \"nope\"");
    cfg_fails(CFG_HEAD "plugins:\n- type: approx-prefix-cache-producer\n- type: precise-prefix-cache-producer\n",
              "both produce prefix match info");
    cfg_fails(CFG_HEAD "featureGates: [dataLayer]\nplugins:\n- type: queue-scorer\n", "unknown feature gate \"dataLayer\"");
    cfg_fails(CFG_HEAD "plugins:\n- name: x\n", "bad.yaml:4: plugins[0].type: missing plugin type");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\n- type: queue-scorer\n",
              "bad.yaml:5: plugins[1].name: duplicate plugin name \"queue-scorer\"");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\nschedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: kv\n",
              "bad.yaml:8: schedulingProfiles[0].plugins[0].pluginRef: no plugin named \"kv\" in plugins");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\nschedulingProfiles:\n- name: a\n- name: a\n",
              "bad.yaml:7: schedulingProfiles[1].name: duplicate profile name \"a\"");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\nschedulingProfiles:\n- plugins: []\n",
              "schedulingProfiles[0].name: profile name must not be empty");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\nschedulingProfiles:\n- name: d\n  plugins:\n"
              "  - pluginRef: queue-scorer\n    weight: heavy\n",
              "bad.yaml:9: schedulingProfiles[0].plugins[0].weight: expected a number, got \"heavy\"");
    /* parameters */
    cfg_fails(CFG_HEAD "plugins:\n- type: max-score-picker\n  parameters: {maxNumOfEndpoint: 2}\n",
              "bad.yaml:5: plugins[0].parameters.maxNumOfEndpoint: unknown key (known: maxNumOfEndpoints)");
    {   /* v0.10: out-of-range maxBusyScore and queueThresholdTokens fall back to their defaults, with a warning */
        es_epp_config_t *c = cfg_text(CFG_HEAD "plugins:\n- type: active-request-scorer\n  parameters:\n    maxBusyScore: 1.5\n"
                                      "- type: token-load-scorer\n  parameters: {queueThresholdTokens: -5}\n");
        assert_double_equal(((const double *)c->plugins[0].params)[1], 1.0, 0);
        assert_int_equal(*(const int64_t *)c->plugins[1].params, 4194304);
        bool w1 = false, w2 = false;
        for (size_t i = 0; es_epp_config_warning(c, i); i++) {
            if (strstr(es_epp_config_warning(c, i), "Ignoring out-of-range maxBusyScore")) w1 = true;
            if (strstr(es_epp_config_warning(c, i), "queueThresholdTokens <= 0")) w2 = true;
        }
        assert_true(w1 && w2);
        es_epp_config_destroy(c);
    }
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\n  parameters: {x: 1}\n",
              "plugins[0].parameters.x: unknown parameter (this plugin takes none)");
    cfg_fails(CFG_HEAD "plugins:\n- type: utilization-detector\n  parameters: {metricsStalenessThreshold: soon}\n",
              "plugins[0].parameters.metricsStalenessThreshold: expected a duration");
    /* v0.10: the deprecated blockSize is promoted with a warning; blockSizeTokens <= 0 needs autoTune */
    cfg_fails(CFG_HEAD "plugins:\n- type: approx-prefix-cache-producer\n  parameters: {autoTune: false, blockSizeTokens: 0}\n",
              "BlockSizeTokens must be > 0 when AutoTune is disabled");
    {
        es_epp_config_t *c = cfg_text(CFG_HEAD "plugins:\n- type: approx-prefix-cache-producer\n  parameters: {blockSize: 128}\n");
        const esi_approx_params_t *ap = c->plugins[c->producer].params;
        assert_int_equal(ap->block_size_tokens, 128);
        bool dep = false;
        for (size_t i = 0; es_epp_config_warning(c, i); i++)
            if (strstr(es_epp_config_warning(c, i), "'blockSize' is deprecated; use 'blockSizeTokens' instead")) dep = true;
        assert_true(dep);
        es_epp_config_destroy(c);
    }
    {   /* a run's epp-config.yaml read back: the default blockSizeTokens is left out (it
         * would warn), one the user wrote stays, warning again */
        es_epp_config_t *c;
        es_err_t err;
        assert_int_equal(es_epp_config_default(&c, &err), 0);
        char *y = dump(c);
        assert_null(strstr(y, "blockSizeTokens: 16"));
        es_epp_config_destroy(c);
        c = cfg_text(y);
        assert_null(es_epp_config_warning(c, 0));
        assert_int_equal(((const esi_approx_params_t *)c->plugins[c->producer].params)->block_size_tokens, 16);
        es_epp_config_destroy(c);
        free(y);
        c = cfg_text(CFG_HEAD "plugins:\n- type: approx-prefix-cache-producer\n  parameters: {blockSizeTokens: 16}\n");
        y = dump(c);
        assert_non_null(strstr(y, "blockSizeTokens: 16\n"));
        es_epp_config_destroy(c);
        c = cfg_text(y);
        bool below = false;
        for (size_t i = 0; es_epp_config_warning(c, i); i++)
            if (strstr(es_epp_config_warning(c, i), "below the recommended minimum (64)")) below = true;
        assert_true(below);
        es_epp_config_destroy(c);
        free(y);
    }
    cfg_fails(CFG_HEAD "plugins:\n- type: concurrency-detector\n  parameters: {concurrencyMode: bytes}\n",
              "unsupported concurrencyMode: \"bytes\"");
    cfg_fails(CFG_HEAD "plugins:\n- type: precise-prefix-cache-scorer\n  parameters: {tokenProcessorConfig: {blockSize: 0}}\n",
              "plugins[0].parameters.tokenProcessorConfig.blockSize: 0 is out of range");
    cfg_fails(CFG_HEAD "plugins:\n- type: precise-prefix-cache-scorer\n  parameters: {speculativeIndexing: true}\n",
              "speculativeIndexing is not supported");
    /* top level */
    cfg_fails("kind: EndpointPickerConfig\nplugins: []\n", "bad.yaml:1: apiVersion: missing");
    cfg_fails("apiVersion: v1\nkind: EndpointPickerConfig\nplugins: []\n",
              "bad.yaml:1: apiVersion: unknown value \"v1\" (known: inference.networking.x-k8s.io/v1alpha1, llm-d.ai/v1alpha1)");
    cfg_fails("apiVersion: llm-d.ai/v1alpha1\nkind: ConfigMap\nplugins: []\n", "bad.yaml:2: kind: expected EndpointPickerConfig");
    cfg_fails(CFG_HEAD "featureGates: [flowControll]\nplugins:\n- type: queue-scorer\n",
              "bad.yaml:3: featureGates[0]: unknown feature gate \"flowControll\"");
    cfg_fails(CFG_HEAD "schedulingProfiles: []\n", "plugins: missing");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\nsaturationDetector: {pluginRef: utilization-detector}\n",
              "bad.yaml:5: saturationDetector.pluginRef: no plugin named \"utilization-detector\"");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\nsaturationDetector: {pluginRef: queue-scorer}\n",
              "saturationDetector.pluginRef: plugin \"queue-scorer\" is not a saturation detector");
    /* build */
    cfg_fails(CFG_HEAD "plugins:\n- type: random-picker\n- type: max-score-picker\n",
              "schedulingProfiles[0]: profile \"default\" has 2 pickers (at most one)");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\nschedulingProfiles:\n- name: a\n- name: b\n",
              "no profile handler configured");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\n- type: single-profile-handler\n"
              "schedulingProfiles:\n- name: a\n- name: b\n", "single-profile-handler cannot run 2 profiles");
    cfg_fails(CFG_HEAD "plugins:\n- type: single-profile-handler\n- type: disagg-profile-handler\n",
              "more than one profile handler configured");
    cfg_fails(CFG_HEAD "plugins:\n- type: disagg-profile-handler\n  parameters: {profiles: {decode: dec}}\n"
              "schedulingProfiles:\n- name: a\n- name: b\n", "parameters.profiles.decode: no scheduling profile named \"dec\"");
    cfg_fails(CFG_HEAD "plugins:\n- type: disagg-profile-handler\n  parameters: {deciders: {prefill: nope}}\n"
              "schedulingProfiles:\n- name: decode\n- name: prefill\n", "parameters.deciders.prefill: no decider plugin named \"nope\"");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\nflowControl: {maxBytes: lots}\n",
              "bad.yaml:5: flowControl.maxBytes: expected a quantity");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\nflowControl: {defaultRequestTTL: 30 seconds}\n",
              "flowControl.defaultRequestTTL: expected a duration");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\nflowControl:\n  priorityBands:\n  - {maxRequests: 1}\n",
              "flowControl.priorityBands[0].priority: missing");
    cfg_fails(CFG_HEAD "plugins:\n- type: queue-scorer\nflowControl:\n  priorityBands:\n  - {priority: 1, orderingPolicyRef: queue-scorer}\n",
              "plugin \"queue-scorer\" is not a ordering policy");
}

static void test_durations_quantities(void **st)
{
    (void)st;
    es_time_t t;
    assert_int_equal(esi_parse_duration("200ms", &t), 0); assert_int_equal(t, 200 * ES_MS);
    assert_int_equal(esi_parse_duration("1h2m3.5s", &t), 0); assert_int_equal(t, 3723500 * ES_MS);
    assert_int_equal(esi_parse_duration("10us", &t), 0); assert_int_equal(t, 10 * ES_US);
    assert_true(esi_parse_duration("5", &t) < 0);
    uint64_t q;
    assert_int_equal(esi_parse_quantity("1Gi", &q), 0); assert_true(q == 1073741824ULL);
    assert_int_equal(esi_parse_quantity("2k", &q), 0); assert_true(q == 2000);
    assert_int_equal(esi_parse_quantity("1.5M", &q), 0); assert_true(q == 1500000);
    assert_true(esi_parse_quantity("1GB", &q) < 0);
    /* issue 19: NaN, infinities, hex and overflow are not numbers (they became huge or negative) */
    static const char *const bad_d[] = {"nanms", "nan", "NaNs", "infs", "-infms", "1e400s", "0x10s", "1e400h5s", "ms"};
    for (size_t i = 0; i < sizeof bad_d / sizeof *bad_d; i++)
        if (esi_parse_duration(bad_d[i], &t) == 0) fail_msg("duration \"%s\" accepted (%lld ns)", bad_d[i], (long long)t);
    static const char *const bad_q[] = {"nan", "NaN", "inf", "infKi", "-inf", "1e400", "0x10", "nanGi"};
    for (size_t i = 0; i < sizeof bad_q / sizeof *bad_q; i++)
        if (esi_parse_quantity(bad_q[i], &q) == 0) fail_msg("quantity \"%s\" accepted (%llu)", bad_q[i], (unsigned long long)q);
}

/* Capabilities come from the plugin table, not from type names in the core. */
static void test_plugin_capabilities(void **st)
{
    (void)st;
    es_epp_config_t *c;
    es_err_t err;
    assert_int_equal(es_epp_config_default(&c, &err), 0);
    assert_false(es_scheduler_wants_kv_events(c));
    /* the auto-created producer is the registered default producer of PrefixCacheMatchInfo */
    assert_ptr_equal(c->plugins[c->producer].vt, esi_registry_default_producer(ESI_DATA_PREFIX_MATCH));
    assert_int_equal(c->bind.primary, 0);
    assert_false(c->bind.split);
    es_epp_config_destroy(c);
    c = cfg_text(CFG_HEAD "plugins:\n- type: precise-prefix-cache-scorer\n  name: kv\n"
                 "  parameters: {tokenProcessorConfig: {blockSize: 32}}\n");
    assert_true(es_scheduler_wants_kv_events(c));
    assert_int_equal(c->producer, -1);   /* the precise scorer consumes KV events, not match info */
    es_scheduler_t *s;
    assert_int_equal(es_scheduler_create(c, 1, &s, &err), 0);
    uint64_t keys[4];   /* the precise scorer's blockSize (32 tokens = 128 characters) */
    char text[300];
    memset(text, 'a', 299);
    text[299] = '\0';
    assert_int_equal(es_sched_text_block_keys(s, text, keys, 4), 2);
    es_scheduler_destroy(s);
    es_epp_config_destroy(c);
    /* P/D binding: profiles and decider resolved by the handler's x_bind */
    c = cfg_text(CFG_HEAD "plugins:\n- type: disagg-profile-handler\n  parameters:\n"
                 "    deciders: {prefill: always}\n- {type: always-disagg-pd-decider, name: always}\n"
                 "- type: queue-scorer\nschedulingProfiles:\n- {name: prefill, plugins: [{pluginRef: queue-scorer}]}\n"
                 "- {name: decode, plugins: [{pluginRef: queue-scorer}]}\n");
    assert_true(c->bind.split);
    assert_int_equal(c->bind.primary, 1);
    assert_int_equal(c->bind.prefill, 0);
    assert_string_equal(c->plugins[c->bind.decider].name, "always");
    es_epp_config_destroy(c);
}

/* The registry over the plugin families: every listed type is found, once,
 * under its own name; the list starts with the scorers and ends with the
 * types that are refused (plugins.c: k_families). */
static void test_registry_families(void **st)
{
    (void)st;
    size_t n = 0;
    for (; es_epp_plugin_type(n); n++) {
        const char *t = es_epp_plugin_type(n);
        const esi_plugin_vt_t *vt = esi_registry_find(t);
        assert_non_null(vt);
        assert_string_equal(vt->type_name, t);
        for (size_t j = 0; j < n; j++) assert_true(strcmp(es_epp_plugin_type(j), t) != 0);
    }
    assert_int_equal(n, 101);   /* + eppsim-shared-syncer (p16c) */
    assert_string_equal(es_epp_plugin_type(0), "queue-scorer");
    assert_true(esi_registry_find(es_epp_plugin_type(n - 1))->klass != ESI_CLASS_IMPLEMENTED);   /* plugins.c's list last */
    assert_null(es_epp_plugin_type(n + 1));
    assert_null(esi_registry_find("no-such-plugin"));
    assert_non_null(esi_registry_find("precise-prefix-cache-producer"));
    assert_int_equal(esi_registry_find("soft-reflective-ceiling-policy")->roles, ESI_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_config),
        cmocka_unit_test(test_defaulting_pipeline),
        cmocka_unit_test(test_load_file_json),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_durations_quantities),
        cmocka_unit_test(test_plugin_capabilities),
        cmocka_unit_test(test_registry_families),
    };
    return cmocka_run_group_tests_name("scheduler_config", tests, NULL, NULL);
}
