/* Step-time models: the profile tables reproduce every whole-model
 * validation point of both GPUs within 8% (overhead 0); interpolation; TP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "es_paths.h"
#include "harness.h"
#include "es_steptime.h"

static char *slurp(const char *gpu)
{
    char rel[128], path[512];
    snprintf(rel, sizeof rel, "profiles/%s.json", gpu);
    es_data_path(path, sizeof path, rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)n + 1);
    assert_int_equal(fread(t, 1, (size_t)n, f), (size_t)n);
    t[n] = 0;
    fclose(f);
    return t;
}

static int num(const cJSON *o, const char *k) { return (int)cJSON_GetObjectItem(o, k)->valuedouble; }

/* Every validation point through es_server_step_time_us (the server's model). */
static void check_gpu(const char *gpu)
{
    harness_t h;
    h_config(&h, gpu);
    assert_int_equal(h_start(&h), 0);
    char *text = slurp(gpu);
    cJSON *root = cJSON_Parse(text);
    const cJSON *pts = cJSON_GetObjectItem(root, "validation_llama-3.1-8b"), *v;
    int n = 0;
    cJSON_ArrayForEach(v, pts) {
        const char *kind = cJSON_GetObjectItem(v, "kind")->valuestring;
        double want = cJSON_GetObjectItem(v, "graph_us")->valuedouble, got;
        uint32_t q = 0, p = 0, B = 0, L = 0;
        if (strcmp(kind, "decode") == 0) { B = (uint32_t)num(v, "batch"); L = (uint32_t)num(v, "ctx"); }
        else if (strcmp(kind, "prefill") == 0) q = (uint32_t)num(v, "tokens");
        else { q = (uint32_t)num(v, "prefill_tokens"); B = (uint32_t)num(v, "batch"); L = (uint32_t)num(v, "ctx"); }
        got = es_server_step_time_us(h.srv, q ? 1 : 0, &q, &p, B, (uint64_t)B * L);
        double err = got / want - 1;
        printf("  %s %-7s q=%-5u B=%-3u L=%-5u measured %9.1f us model %9.1f us (%+.1f%%)\n", gpu, kind, q, B, L,
               want, got, 100 * err);
        assert_true(err < 0.08 && err > -0.08);
        n++;
    }
    assert_int_equal(n, 10);
    cJSON_Delete(root);
    free(text);
    h_stop(&h);
}

static void test_validation_h100(void **st) { (void)st; check_gpu("h100-sxm-80gb"); }
static void test_validation_h200(void **st) { (void)st; check_gpu("h200-sxm"); }

static void test_interpolation(void **st)
{
    (void)st;
    double x[] = {1, 2, 4}, y[] = {10, 20, 40};
    es_table1_t t = {3, x, y};
    assert_float_equal(es_table1_eval(&t, 0.5), 10, 1e-9);   /* flat below */
    assert_float_equal(es_table1_eval(&t, 3), 30, 1e-9);
    assert_float_equal(es_table1_eval(&t, 8), 80, 1e-9);     /* linear past the end */
    double k[] = {1, 3};
    double xa[] = {0, 10}, ya[] = {0, 100}, xb[] = {0, 10}, yb[] = {0, 300};
    es_table1_t rows[] = {{2, xa, ya}, {2, xb, yb}};
    es_table2_t t2 = {2, k, rows};
    assert_float_equal(es_table2_eval(&t2, 2, 5), 100, 1e-9);   /* bilinear: (50 + 150) / 2 */
}

static void test_tp_and_models(void **st)
{
    (void)st;
    harness_t h1, h2;
    h_config(&h1, "h100-sxm-80gb");
    h_config(&h2, "h100-sxm-80gb");
    h2.cfg.tensor_parallel = 2;
    assert_int_equal(h_start(&h1), 0);
    assert_int_equal(h_start(&h2), 0);
    uint32_t q = 2048, p = 0;
    double t1 = es_server_step_time_us(h1.srv, 1, &q, &p, 0, 0);
    double t2 = es_server_step_time_us(h2.srv, 1, &q, &p, 0, 0);
    double d1 = es_server_step_time_us(h1.srv, 0, NULL, NULL, 64, 64 * 1024);
    double d2 = es_server_step_time_us(h2.srv, 0, NULL, NULL, 64, 64 * 1024);
    printf("  TP1 prefill 2048 %.0f us, TP2 %.0f us; decode 64x1024 %.0f / %.0f us\n", t1, t2, d1, d2);
    assert_true(t2 < t1 && t2 > t1 / 2);   /* compute halves, all-reduces add */
    assert_true(d2 < d1 && d2 > d1 / 2);
    /* KV capacity grows by more than 2x: the weights are split too */
    uint32_t b1 = es_server_num_gpu_blocks(h1.srv), b2 = es_server_num_gpu_blocks(h2.srv);
    printf("  num_gpu_blocks TP1 %u TP2 %u\n", b1, b2);
    assert_true(b1 > 27000 && b1 < 29000);   /* docs/server.md: 28016 */
    assert_true(b2 > 2 * b1);
    h_stop(&h1);
    h_stop(&h2);

    /* the other step models give positive, growing times */
    for (int kind = ES_STEP_LINEAR; kind <= ES_STEP_ROOFLINE; kind++) {
        harness_t h;
        h_config(&h, "h100-sxm-80gb");
        h.cfg.step_model = kind;
        assert_int_equal(h_start(&h), 0);
        double a = es_server_step_time_us(h.srv, 0, NULL, NULL, 1, 1024);
        double b = es_server_step_time_us(h.srv, 0, NULL, NULL, 128, 128 * 2048);
        uint32_t qq = 8192, pp = 0;
        double c = es_server_step_time_us(h.srv, 1, &qq, &pp, 0, 0);
        printf("  model %d: decode 1x1024 %.0f us, 128x2048 %.0f us, prefill 8192 %.0f us\n", kind, a, b, c);
        assert_true(a > 1000 && b > a && c > b);
        h_stop(&h);
    }
}

static void test_unknown_model(void **st)
{
    (void)st;
    harness_t h;
    h_config(&h, "h200-sxm");
    free(h.cfg.model);
    h.cfg.model = strdup("gpt-9");
    es_err_t err;
    es_server_hooks_t hooks = {&h, NULL, h_finish, NULL, NULL, NULL, NULL};
    h.sim = es_sim_create(1);
    assert_int_equal(es_server_create(h.sim, &h.cfg, &hooks, 0, &h.srv, &err), ES_ENOTFOUND);
    assert_non_null(strstr(err.msg, "server.model"));
    assert_non_null(strstr(err.msg, "qwen3-32b"));
    h.srv = NULL;
    free(h.cfg.gpu);
    h.cfg.gpu = strdup("no-such-gpu");
    assert_int_equal(es_server_create(h.sim, &h.cfg, &hooks, 0, &h.srv, &err), ES_ENOTFOUND);
    assert_non_null(strstr(err.msg, "server.gpu"));
    h_stop(&h);
}

/* Profiles edited by hand (inputs found by tests/fuzz/fuzz_profile): a table
 * whose every point failed, a row without its median, a median that parses
 * as infinity: each refused with the table's name (the first leaked its rows,
 * the last was read as an infinite step time). */
static void test_profile_bad_tables(void **st)
{
    (void)st;
    static const char *const decode[] = {"[[1, 8, null]]", "[[198, 369.94]]", "[[1, 8, 1e999]]"};
    for (size_t i = 0; i < sizeof decode / sizeof decode[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"hardware\": {\"memory_MiB\": 81559, \"hbm_TBps\": 3.35, \"bf16_TFLOPs\": 989.5},\n"
                 " \"m\": {\"config\": {\"hidden\": 64, \"layers\": 2, \"heads\": 4, \"kv_heads\": 2, "
                 "\"head_dim\": 16, \"inter\": 128, \"vocab\": 100},\n"
                 "       \"dense\": [[1, 10.0]], \"lm_head\": [[1, 5.0]], \"attn_prefill\": [[1, 0, 2.0]],\n"
                 "       \"attn_decode\": %s}}\n", decode[i]);
        es_profile_t *p = NULL;
        es_err_t err;
        es_err_clear(&err);
        assert_int_equal(es_profile_parse("g", "g.json", text, &p, &err), ES_EPARSE);
        assert_null(p);
        assert_string_equal(err.msg, "g.json: m.attn_decode: missing, empty or malformed table");
    }
    /* the same profile with a measured decode table loads */
    es_profile_t *p = NULL;
    es_err_t err;
    es_err_clear(&err);
    const char *ok = "{\"hardware\": {\"memory_MiB\": 81559, \"hbm_TBps\": 3.35, \"bf16_TFLOPs\": 989.5},\n"
                     " \"m\": {\"config\": {\"hidden\": 64, \"layers\": 2, \"heads\": 4, \"kv_heads\": 2, "
                     "\"head_dim\": 16, \"inter\": 128, \"vocab\": 100},\n"
                     "       \"dense\": [[1, 10.0]], \"lm_head\": [[1, 5.0]], \"attn_prefill\": [[1, 0, 2.0]],\n"
                     "       \"attn_decode\": [[1, 8, 3.0], [1, 16, null]]}}\n";
    if (es_profile_parse("g", "g.json", ok, &p, &err)) fail_msg("%s", err.msg);
    assert_int_equal(p->nmodels, 1);
    assert_int_equal(p->models[0].decode.nrows, 1);
    assert_int_equal(p->models[0].decode.row[0].n, 1);
    es_profile_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation_h100),
        cmocka_unit_test(test_validation_h200),
        cmocka_unit_test(test_interpolation),
        cmocka_unit_test(test_tp_and_models),
        cmocka_unit_test(test_unknown_model),
        cmocka_unit_test(test_profile_bad_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
