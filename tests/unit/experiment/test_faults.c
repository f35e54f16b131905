/* Fault scenarios end to end, each with a conservation check (every request
 * that arrived ends exactly once, with one status), and regression tests for
 * the crashes the fuzzers found (tests/fuzz). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "e2e_test.h"
#include "es_trace.h"


static void test_pod_crashes_mid_run(void **state)
{
    (void)state;
    /* two of three pods crash while busy (one comes back); without retries
     * their running requests fail with 503, every other one still ends */
    const char *yaml = "seed: 21\n"
                       "cluster:\n"
                       "  replicas: 3\n"
                       "  faults: [{at_s: 3, kind: pod_crash, pod: 0}, {at_s: 4, kind: pod_crash, pod: 1},\n"
                       "           {at_s: 6, kind: pod_restart, pod: 0}]\n"
                       "workload: {num_requests: 500, arrival: {process: gamma, rate: 50, cv: 2}}\n";
    cJSON *j = run_yaml("crash2", yaml);
    check_conservation(j, 500, "crash2");
    assert_true(status_count(j, "503") > 0);
    assert_true(status_count(j, "200") > 250);
    cJSON_Delete(j);
    /* every pod down at once, for good: nothing can be served after that */
    j = run_yaml("crash-all",
                 "cluster:\n"
                 "  replicas: 2\n"
                 "  faults: [{at_s: 2, kind: pod_crash, pod: 0}, {at_s: 2, kind: pod_crash, pod: 1}]\n"
                 "workload: {num_requests: 200, arrival: {process: constant, rate: 20}}\n");
    check_conservation(j, 200, "crash-all");
    assert_true(status_count(j, "200") < 60);
    assert_true(status_count(j, "200") + status_count(j, "503") == 200);   /* the rest: no pod, 503 */
    cJSON_Delete(j);
}

static void test_epp_outage_both_failure_modes(void **state)
{
    (void)state;
    static const char *const modes[] = {"FailOpen", "FailClose"};
    for (int m = 0; m < 2; m++) {
        char yaml[768], name[32];
        snprintf(name, sizeof name, "outage-%s", modes[m]);
        /* two outages, one while a pod is down, under bursty load */
        snprintf(yaml, sizeof yaml,
                 "seed: 5\n"
                 "cluster: {replicas: 3, faults: [{at_s: 4, kind: pod_crash, pod: 2}, {at_s: 7, kind: pod_restart, pod: 2}]}\n"
                 "epp: {outages: [{start_s: 2, end_s: 3.5}, {start_s: 5, end_s: 6}]}\n"
                 "gateway: {failure_mode: %s}\n"
                 "workload: {num_requests: 400, arrival: {process: gamma, rate: 40, cv: 2}}\n",
                 modes[m]);
        cJSON *j = run_yaml(name, yaml);
        check_conservation(j, 400, name);
        if (m == 0) {
            /* FailOpen: the gateway picks a pod itself; only the crash fails requests */
            assert_true(status_count(j, "200") > 350);
        } else {
            /* FailClose: ~2.5 s of 10 s without the EPP fail with 503 */
            assert_true(status_count(j, "503") > 50);
            assert_true(status_count(j, "200") > 200);
        }
        cJSON_Delete(j);
    }
}

static void test_saturated_pods_shed_sheddable_only(void **state)
{
    (void)state;
    /* two pods of 4 sequences each at 200 req/s: queues build at once, the
     * saturation detector sheds priority < 0 requests with 429 and never the
     * others (they wait) */
    cJSON *j = run_yaml("shed",
                        "seed: 5\n"
                        "cluster: {replicas: 2}\n"
                        "server: {max_num_seqs: 4}\n"
                        "workload: {num_requests: 600, sheddable_fraction: 0.5, arrival: {process: poisson, rate: 200}}\n");
    check_conservation(j, 600, "shed");
    double shed = status_count(j, "429"), ok = status_count(j, "200");
    assert_true(shed > 100);
    assert_true(shed + ok == 600);
    assert_true(shed < 360);   /* about half the requests are sheddable */
    cJSON_Delete(j);
    /* the same with no sheddable traffic: nothing is shed, everything waits */
    j = run_yaml("noshed",
                 "seed: 5\n"
                 "cluster: {replicas: 2}\n"
                 "server: {max_num_seqs: 4}\n"
                 "workload: {num_requests: 600, arrival: {process: poisson, rate: 200}}\n");
    check_conservation(j, 600, "noshed");
    assert_true(status_count(j, "200") == 600);
    cJSON_Delete(j);
}

static void test_kv_exhaustion_storm(void **state)
{
    (void)state;
    /* 400 blocks of 16 tokens per pod and 3000-token prompts growing by 400
     * tokens: the engine preempts again and again; every request still ends once */
    cJSON *j = run_yaml("kvstorm",
                        "seed: 9\n"
                        "cluster: {replicas: 2}\n"
                        "server: {num_gpu_blocks: 400}\n"
                        "workload:\n"
                        "  num_requests: 300\n"
                        "  arrival: {process: poisson, rate: 50}\n"
                        "  shared_prefix: {num_groups: 300, num_prompts_per_group: 1, system_prompt_len: 0,\n"
                        "                  question_len: 3000, output_len: 400}\n");
    check_conservation(j, 300, "kvstorm");
    assert_true(jnum(j, "preemptions") > 50);
    assert_true(status_count(j, "200") == 300);
    cJSON_Delete(j);
    /* prompts longer than a pod's whole KV cache can never run: rejected
     * (400, as vLLM does), not preempted forever */
    j = run_yaml("kvtoolong",
                 "cluster: {replicas: 2}\n"
                 "server: {num_gpu_blocks: 100}\n"
                 "workload:\n"
                 "  num_requests: 50\n"
                 "  arrival: {process: poisson, rate: 50}\n"
                 "  shared_prefix: {num_groups: 50, num_prompts_per_group: 1, system_prompt_len: 0,\n"
                 "                  question_len: 3000, output_len: 10}\n");
    check_conservation(j, 50, "kvtoolong");
    assert_true(status_count(j, "400") == 50);
    cJSON_Delete(j);
}

static void test_everything_at_once_is_deterministic(void **state)
{
    (void)state;
    /* crashes, a restart, an outage, shedding and a tight KV cache together;
     * twice with one seed: byte-identical results; another seed differs */
    const char *fmt = "seed: %d\n"
                      "cluster: {replicas: 3, retries_on_crash: 1,\n"
                      "          faults: [{at_s: 2, kind: pod_crash, pod: 0}, {at_s: 4, kind: pod_restart, pod: 0},\n"
                      "                   {at_s: 3, kind: pod_crash, pod: 1}]}\n"
                      "server: {num_gpu_blocks: 300, max_num_seqs: 8}\n"
                      "epp: {outages: [{start_s: 1, end_s: 2.5}]}\n"
                      "gateway: {failure_mode: FailOpen}\n"
                      "workload:\n"
                      "  num_requests: 400\n"
                      "  sheddable_fraction: 0.3\n"
                      "  arrival: {process: gamma, rate: 80, cv: 3}\n"
                      "  shared_prefix: {num_groups: 20, system_prompt_len: 1000, question_len: 1500, output_len: 300}\n";
    char yaml[1024];
    static const char *const names[] = {"storm-a", "storm-b", "storm-c"};
    for (int i = 0; i < 3; i++) {
        snprintf(yaml, sizeof yaml, fmt, i < 2 ? 11 : 12);
        cJSON *j = run_yaml(names[i], yaml);
        check_conservation(j, 400, names[i]);
        cJSON_Delete(j);
    }
    static const char *const files[] = {"summary.json", "requests.csv", "timeseries.csv", "pods.csv"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char *a = out_file("storm-a", files[f]), *b = out_file("storm-b", files[f]);
        if (strcmp(a, b)) fail_msg("%s differs between two runs with seed 11", files[f]);
        free(a);
        free(b);
    }
    char *a = out_file("storm-a", "requests.csv"), *c = out_file("storm-c", "requests.csv");
    assert_true(strcmp(a, c) != 0);
    free(a);
    free(c);
}

/* ---- regressions of fuzzer findings ---- */

static int load(const char *text, es_err_t *err)
{
    es_doc_t *doc = NULL;
    es_err_clear(err);
    int rc = es_doc_load_string("t.yaml", text, strlen(text), &doc, err);
    es_doc_destroy(doc);
    return rc;
}

static void test_alias_of_an_anchored_key(void **state)
{
    (void)state;
    es_err_t err;
    /* fuzz_experiment crash-27e83ce6: an anchor on a mapping key pointed at
     * the key's node after attach() freed it; a later alias cloned freed
     * memory (heap-use-after-free in es_node_clone) */
    assert_int_equal(load("&k name: x\nother: *k\n", &err), ES_EPARSE);
    assert_non_null(strstr(err.msg, "t.yaml:2: alias '*k' names a mapping key"));
    assert_int_equal(load("&s:&:\n&0:\n:s:\n*0::\n&ws:\n*0::\n&ww:", &err), ES_EPARSE);
    /* anchors on values still work */
    assert_int_equal(load("a: &v [1, 2]\nb: *v\n", &err), 0);
}

static void test_alias_expansion_is_bounded(void **state)
{
    (void)state;
    /* "billion laughs": 10 aliases of 10 aliases ... would copy 10^11 nodes */
    char text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 12; i++) {
        len += (size_t)snprintf(text + len, sizeof text - len, "a%d: &a%d [", i, i);
        for (int k = 0; k < 10; k++) len += (size_t)snprintf(text + len, sizeof text - len, "%s*a%d", k ? ", " : "", i - 1);
        len += (size_t)snprintf(text + len, sizeof text - len, "]\n");
    }
    es_err_t err;
    assert_int_equal(load(text, &err), ES_EPARSE);
    assert_non_null(strstr(err.msg, "aliases expand to more than"));
}

static void test_trace_datetime_out_of_range(void **state)
{
    (void)state;
    /* fuzz_trace_azure crash-601aca54 / fuzz_trace_auto crash-08f8d0dd: a
     * year such as 4933 or 1231 overflowed int64 nanoseconds (signed
     * overflow in parse_datetime, UBSan); years outside 1970..2199 are now
     * a malformed line */
    static const char *const years[] = {"4933", "1231", "9999", "0000"};
    for (size_t i = 0; i < 4; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/azure-%zu.csv", g_tmp, i);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "TIMESTAMP,ContextTokens,GeneratedTokens\n2024-05-10 00:00:00.5+00:00,10,5\n"
                   "%s-05-10 00:00:00.009930+00:00,2162,5\n", years[i]);
        fclose(f);
        es_trace_t *t = NULL;
        es_err_t err;
        es_err_clear(&err);
        assert_int_equal(es_trace_open(path, ES_TRACE_AUTO, 512, false, &t, &err), 0);
        es_trace_rec_t rec;
        assert_int_equal(es_trace_next(t, &rec, &err), 1);
        assert_int_equal(es_trace_next(t, &rec, &err), ES_EPARSE);
        assert_non_null(strstr(err.msg, ":3: expected TIMESTAMP"));
        es_trace_close(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_crashes_mid_run),
        cmocka_unit_test(test_epp_outage_both_failure_modes),
        cmocka_unit_test(test_saturated_pods_shed_sheddable_only),
        cmocka_unit_test(test_kv_exhaustion_storm),
        cmocka_unit_test(test_everything_at_once_is_deterministic),
        cmocka_unit_test(test_alias_of_an_anchored_key),
        cmocka_unit_test(test_alias_expansion_is_bounded),
        cmocka_unit_test(test_trace_datetime_out_of_range),
    };
    return cmocka_run_group_tests_name("app_faults", tests, setup, teardown);
}
