/* Experiment loading: defaults, strictness, every error message names file,
 * line and key path; docs/configuration.md documents every key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "es_experiment.h"

static int load_text(const char *name, const char *text, es_experiment_t *exp, es_err_t *err)
{
    es_doc_t *doc;
    es_err_clear(err);
    int rc = es_doc_load_string(name, text, strlen(text), &doc, err);
    if (rc) return rc;
    return es_experiment_from_doc(doc, ".", exp, err);
}

static void expect_error(const char *text, const char *want)
{
    es_experiment_t exp;
    es_err_t err;
    int rc = load_text("exp.yaml", text, &exp, &err);
    if (rc == 0) {
        es_experiment_fini(&exp);
        fail_msg("expected an error containing \"%s\"", want);
    }
    if (!strstr(err.msg, want)) fail_msg("got \"%s\", want it to contain \"%s\"", err.msg, want);
}

static void test_builtin_default_loads(void **state)
{
    (void)state;
    es_experiment_t exp;
    es_err_t err;
    es_err_clear(&err);
    assert_int_equal(es_experiment_load(NULL, &exp, &err), 0);
    assert_string_equal(exp.name, "default");
    assert_int_equal(exp.cluster.replicas, 3);
    assert_string_equal(exp.server.gpu, "h100-sxm-80gb");
    assert_int_equal(exp.server.block_size, 16);
    assert_int_equal(exp.gateway.failure_mode, ES_FAIL_CLOSE);
    assert_true(exp.epp.refresh_interval_ms == 50.0);
    es_experiment_fini(&exp);
}

static void test_values_and_exact_u64_seed(void **state)
{
    (void)state;
    es_experiment_t exp;
    es_err_t err;
    assert_int_equal(load_text("e.yaml",
                               "seed: 18446744073709551615\n"
                               "server: {max_num_seqs: 64, scheduling_policy: priority}\n"
                               "gateway: {failure_mode: FailOpen}\n", &exp, &err), 0);
    assert_true(exp.seed == UINT64_MAX);
    assert_int_equal(exp.server.max_num_seqs, 64);
    assert_int_equal(exp.server.scheduling_policy, ES_POLICY_PRIORITY);
    assert_int_equal(exp.gateway.failure_mode, ES_FAIL_OPEN);
    es_experiment_fini(&exp);
}

static void test_json_experiment(void **state)
{
    (void)state;
    es_experiment_t exp;
    es_err_t err;
    assert_int_equal(load_text("e.json", "{\"seed\": 9007199254740993,\n\t\"cluster\": {\"replicas\": 5}}",
                               &exp, &err), 0);
    assert_true(exp.seed == 9007199254740993ULL);   /* not representable as a double */
    assert_int_equal(exp.cluster.replicas, 5);
    es_experiment_fini(&exp);
    expect_error("{\"cluster\": {\n  \"replica\": 5}}", "exp.yaml:2: cluster.replica: unknown key");
}

static void test_error_messages(void **state)
{
    (void)state;
    expect_error("seed: 1\nserver:\n  gpu: h1000\n",
                 "exp.yaml:3: server.gpu: unknown GPU \"h1000\" (known: h100-sxm-80gb, h200-sxm, a100-sxm-80gb, l40s, b200)");
    expect_error("sever: {}\n", "exp.yaml:1: sever: unknown key (known: schema_version, name, seed");
    expect_error("server:\n  max_num_seqs: lots\n", "exp.yaml:2: server.max_num_seqs: expected an integer, got \"lots\"");
    expect_error("server:\n  max_num_seqs: 0\n", "exp.yaml:2: server.max_num_seqs: 0 is out of range [1, 65536]");
    expect_error("server:\n  gpu_memory_utilization: 1.5\n", "server.gpu_memory_utilization: 1.5 is out of range");
    expect_error("server:\n  scheduling_policy: lifo\n",
                 "exp.yaml:2: server.scheduling_policy: unknown value \"lifo\" (known: fcfs, priority)");
    expect_error("server:\n  enable_prefix_caching: yes please\n", "server.enable_prefix_caching: expected true or false");
    expect_error("seed: -1\n", "exp.yaml:1: seed: expected an unsigned integer, got \"-1\"");
    expect_error("seed: 18446744073709551616\n", "exp.yaml:1: seed: 18446744073709551616 does not fit in 64 bits");
    expect_error("seed: \"5\"\n", "seed: expected an unsigned integer");
    expect_error("server: [1, 2]\n", "exp.yaml:1: server: expected a mapping, got a list");
    expect_error("schema_version: 2\n", "schema_version: 2 is out of range [1, 1]");
    expect_error("server: {gpu: h100\n", "exp.yaml:");            /* syntax error with a line */
    expect_error("a: 1\na: 2\n", "exp.yaml:2: duplicate key 'a'");
    expect_error("cluster:\n  replicas: 3\n  replicas: 4\n", "exp.yaml:3: duplicate key 'replicas'");
    expect_error("- 1\n- 2\n", "expected a mapping, got a list");
}

/* Every key of the schema appears in docs/configuration.md. */
typedef struct doc_check { const char *doc; int missing; } doc_check_t;

static void check_key(void *ud, const char *path, const es_schema_entry_t *e)
{
    (void)e;
    doc_check_t *c = ud;
    char needle[600];
    snprintf(needle, sizeof needle, "`%s`", path);
    if (!strstr(c->doc, needle)) {
        fprintf(stderr, "docs/configuration.md does not document `%s` (run scripts/gen-config-doc)\n", path);
        c->missing++;
    }
}

static void test_every_key_documented(void **state)
{
    (void)state;
    FILE *f = fopen(ES_SOURCE_DIR "/docs/configuration.md", "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    doc_check_t c = {buf, 0};
    es_schema_visit(&es_experiment_schema, "", check_key, &c);
    assert_int_equal(c.missing, 0);
}

static void test_defaults_round_trip_through_yaml(void **state)
{
    (void)state;
    /* the "as run" YAML of the defaults loads back to the same YAML */
    es_experiment_t a, b;
    es_err_t err;
    es_err_clear(&err);
    assert_int_equal(es_experiment_load(NULL, &a, &err), 0);
    char *t1 = NULL, *t2 = NULL;
    size_t l1 = 0, l2 = 0;
    FILE *f = open_memstream(&t1, &l1);
    es_schema_write_yaml(f, &es_experiment_schema, &a, 0);
    fclose(f);
    assert_int_equal(load_text("as-run.yaml", t1, &b, &err), 0);
    f = open_memstream(&t2, &l2);
    es_schema_write_yaml(f, &es_experiment_schema, &b, 0);
    fclose(f);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    es_experiment_fini(&a);
    es_experiment_fini(&b);
}

/* server.vllm_version alone is `vllm serve MODEL` of that version: its
 * defaults apply (A100: 256 sequences, 2048 batched tokens), keys the file
 * sets win, and without a version nothing is resolved. */
static void test_vllm_version_alone_sets_its_defaults(void **state)
{
    (void)state;
    es_experiment_t exp;
    es_err_t err;
    assert_int_equal(load_text("e.yaml", "server: {gpu: a100-sxm-80gb, vllm_version: \"0.11.0\"}\n", &exp, &err), 0);
    assert_int_equal(exp.server.max_num_seqs, 256);
    assert_int_equal(exp.server.max_num_batched_tokens, 2048);
    es_experiment_fini(&exp);
    assert_int_equal(load_text("e.yaml", "server: {gpu: a100-sxm-80gb, vllm_version: \"0.11.0\", max_num_seqs: 64}\n",
                               &exp, &err), 0);
    assert_int_equal(exp.server.max_num_seqs, 64);
    assert_int_equal(exp.server.max_num_batched_tokens, 2048);
    es_experiment_fini(&exp);
    es_experiment_t def;
    assert_int_equal(es_experiment_load(NULL, &def, &err), 0);
    assert_int_equal(load_text("e.yaml", "server: {gpu: a100-sxm-80gb}\n", &exp, &err), 0);
    assert_int_equal(exp.server.max_num_seqs, def.server.max_num_seqs);
    assert_int_equal(exp.server.max_num_batched_tokens, def.server.max_num_batched_tokens);
    es_experiment_fini(&exp);
    es_experiment_fini(&def);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_default_loads),
        cmocka_unit_test(test_values_and_exact_u64_seed),
        cmocka_unit_test(test_json_experiment),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_every_key_documented),
        cmocka_unit_test(test_defaults_round_trip_through_yaml),
        cmocka_unit_test(test_vllm_version_alone_sets_its_defaults),
    };
    return cmocka_run_group_tests_name("app_experiment", tests, NULL, NULL);
}
