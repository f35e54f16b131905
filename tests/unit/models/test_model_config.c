/* Model shapes from config.json (parameter counts against the published
 * ones, counted by hand), GPU datasheet loading and its errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>

#include "es_gpu_spec.h"
#include "es_model_config.h"

#define DIR "tests/data/models/"

static void load(const char *file, es_model_shape_t *m)
{
    es_err_t err;
    int rc = es_model_config_load(file, m, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
}

static void expect_err(const char *text, const char *want)
{
    es_model_shape_t m;
    es_err_t err;
    assert_int_not_equal(es_model_config_parse("c.json", text, &m, &err), 0);
    if (!strstr(err.msg, want)) fprintf(stderr, "got \"%s\", want \"%s\"\n", err.msg, want);
    assert_non_null(strstr(err.msg, want));
}

/* 4 x 4096^2 attention + 3 x 4096 x 11008 MLP + 2 x 4096 norms per layer,
 * x 32, + 2 x 32000 x 4096 embeddings + 4096: 6,738,415,616 (HF's count). */
static void test_llama2_7b(void **state)
{
    (void)state;
    es_model_shape_t m;
    load(DIR "llama-2-7b.json", &m);
    assert_int_equal(m.layers, 32);
    assert_int_equal(m.kv_heads, 32);
    assert_int_equal(m.head_dim, 128);
    assert_int_equal(m.context_len, 4096);
    assert_true(m.params_total == 6738415616.0);
    assert_true(m.params_active == m.params_total);
    assert_true(m.weight_bytes == 2.0 * 6738415616.0);
    assert_true(m.kv_bytes_per_token_layer == 2.0 * 32 * 128 * 2);   /* 16 KiB */
    assert_true(es_model_kv_bytes_per_token(&m, 2) == 32 * 2.0 * 16 * 128 * 2);
    assert_false(m.fp8);
}

/* GQA: q and o 8192^2 each, k and v 8192 x 1024 each; MLP 3 x 8192 x 28672. */
static void test_llama2_70b(void **state)
{
    (void)state;
    es_model_shape_t m;
    load(DIR "llama-2-70b.json", &m);
    double layer = 2 * 67108864.0 + 2 * 8388608.0 + 704643072.0 + 16384.0;
    assert_true(m.params_total == 80 * layer + 2 * 32000.0 * 8192 + 8192);   /* 68,976,648,192 */
    assert_true(m.params_total > 68.9e9 && m.params_total < 69.0e9);
    /* 8 KV heads over TP 16 (not a valid TP, but the rule): replicated, 1 per GPU */
    assert_true(es_model_kv_bytes_per_token(&m, 16) == 2.0 * 80 * 1 * 128 * 2);
}

/* Mixtral: 8 experts of 3 x 4096 x 14336, top 2, router 4096 x 8.
 * 46,702,792,704 total, 12,879,925,248 active (published 46.7B / 12.9B). */
static void test_mixtral(void **state)
{
    (void)state;
    es_model_shape_t m;
    load(DIR "mixtral-8x7b.json", &m);
    assert_int_equal(m.experts, 8);
    assert_int_equal(m.top_k, 2);
    assert_int_equal(m.moe_layers, 32);
    assert_int_equal(m.moe_inter, 14336);
    assert_int_equal(m.sliding_window, 0);   /* null */
    assert_true(m.params_total == 46702792704.0);
    assert_true(m.params_active == 12879925248.0);
    assert_true(m.expert_params == 176160768.0);
    /* one token touches top_k experts; very many touch them all */
    assert_true(es_model_experts_touched(&m, 1) == 2.0);
    assert_true(es_model_experts_touched(&m, 2) == 8.0 * (1 - 0.75 * 0.75));
    assert_true(es_model_experts_touched(&m, 4096) > 7.999);
}

/* Qwen3-14B: 40 heads x 128 (= 5120), 8 KV heads, MLP 17408, vocab 151936:
 * 14,768,296,960 (published 14.8B; 13.2B without embeddings). */
static void test_qwen3_14b(void **state)
{
    (void)state;
    es_model_shape_t m;
    load(DIR "qwen3-14b.json", &m);
    assert_true(m.params_total == 40 * (62914560.0 + 267386880.0 + 10240.0) + 2 * 151936.0 * 5120 + 5120);
    assert_int_equal(m.sliding_window, 0);   /* use_sliding_window: false */
    assert_int_equal(m.context_len, 40960);
}

/* Llama-4 layout under text_config, FP8 (compressed-tensors), one shared
 * expert, MoE every 2nd layer, chunked attention on 3 of 4 layers.  Counted
 * by hand: attention 12288, dense MLP 3x64x128 = 24576, expert and shared
 * 3x64x32 = 6144, router 256 per layer. */
static void test_llama4_fp8_nested(void **state)
{
    (void)state;
    es_model_shape_t m;
    load(DIR "tiny-moe-fp8.json", &m);
    assert_int_equal(m.hidden, 64);   /* the vision tower's 999 is not read */
    assert_int_equal(m.moe_layers, 2);
    assert_int_equal(m.inter, 128);
    assert_int_equal(m.moe_inter, 32);
    assert_int_equal(m.shared_inter, 32);
    assert_int_equal(m.chunked_layers, 3);
    assert_int_equal(m.attn_chunk, 8192);
    assert_true(m.fp8);
    assert_true(m.params_total == 173632.0);    /* 159744 linear + 1088 norms/routers + 12800 embeddings */
    assert_true(m.params_active == 136768.0);   /* 122880 + 1088 + 12800 */
    assert_true(m.weight_bytes == 159744.0 + 2 * (1088.0 + 12800.0));
    assert_true(m.kv_bytes_per_token_layer == 128.0);
}

/* The same model with quantization_config.ignore naming the attention of
 * layers 0 and 2 (layer 9 does not exist, the vision tower's entry is not
 * the decoder's, the router and lm_head are 16-bit anyway): two layers'
 * 12288 attention parameters stay 2 B.  An "re:" pattern covers every layer. */
static void test_fp8_ignore(void **state)
{
    (void)state;
    es_model_shape_t m;
    load(DIR "tiny-moe-fp8-ignore.json", &m);
    assert_true(m.fp8);
    assert_int_equal(m.attn_16bit_layers, 2);
    assert_true(m.params_total == 173632.0);
    assert_true(m.weight_bytes == 159744.0 + 2 * 12288.0 + 2 * (1088.0 + 12800.0));
    es_err_t err;
    static const char re[] = "{\"hidden_size\": 64, \"num_hidden_layers\": 4, \"num_attention_heads\": 4,"
                             " \"intermediate_size\": 128, \"vocab_size\": 100, \"quantization_config\":"
                             " {\"quant_method\": \"fp8\", \"ignored_layers\": [\"re:.*self_attn.*\"]}}";
    assert_int_equal(es_model_config_parse("re.json", re, &m, &err), 0);
    assert_int_equal(m.attn_16bit_layers, 4);
    /* no ignore list, or a 16-bit model: nothing stays behind */
    static const char none[] = "{\"hidden_size\": 64, \"num_hidden_layers\": 4, \"num_attention_heads\": 4,"
                               " \"intermediate_size\": 128, \"vocab_size\": 100, \"quantization_config\":"
                               " {\"quant_method\": \"fp8\", \"ignored_layers\": [\"lm_head\"]}}";
    assert_int_equal(es_model_config_parse("none.json", none, &m, &err), 0);
    assert_int_equal(m.attn_16bit_layers, 0);
}

/* MLA with shared experts, the first layer dense, tied embeddings, fp8. */
static void test_mla(void **state)
{
    (void)state;
    es_model_shape_t m;
    load(DIR "tiny-mla.json", &m);
    assert_int_equal(m.head_dim, 12);
    assert_int_equal(m.moe_layers, 2);
    assert_int_equal(m.shared_inter, 16);
    assert_true(m.tie_embeddings);
    assert_true(m.fp8);
    assert_true(m.attn_params == 2448.0);   /* q 768, kv_a 640, norm 16, kv_b 512, o 512 */
    assert_true(m.params_total == 23248.0);
    assert_true(m.params_active == 20176.0);
    assert_true(m.weight_bytes == 21168.0 + 2 * (480.0 + 1600.0));
    assert_true(m.kv_bytes_per_token_layer == 40.0);              /* (16 + 4) x 2 B */
    assert_true(es_model_kv_bytes_per_token(&m, 2) == 120.0);     /* the latent is replicated */
}

static void test_sliding_window(void **state)
{
    (void)state;
    es_model_shape_t m;
    load(DIR "tiny-sliding.json", &m);
    assert_int_equal(m.sliding_window, 256);
    assert_int_equal(m.sliding_layers, 4);
    assert_int_equal(m.context_len, 131072);
    assert_true(m.params_total == 6 * 34944.0 + 12800 + 64);
}

static void test_config_errors(void **state)
{
    (void)state;
    es_model_shape_t m;
    es_err_t err;
    assert_int_not_equal(es_model_config_load(DIR "bad-heads.json", &m, &err), 0);
    assert_string_equal(err.msg, DIR "bad-heads.json:6: num_key_value_heads: 6 does not divide "
                                     "num_attention_heads (32)");
    expect_err("{\"hidden_size\": 8,\n \"num_hidden_layers\": 2, \"num_attention_heads\": 2,\n"
               " \"intermediate_size\": 8}", "c.json:1: missing key 'vocab_size'");
    expect_err("{\"hidden_size\": 8,\n \"num_hidden_layers\": -2}", "c.json:2: num_hidden_layers:");
    expect_err("[1, 2]", "c.json:1: a config.json must be a JSON object");
    expect_err("{\"text_config\": {\"hidden_size\": 8}}", "c.json:1: text_config: missing key 'num_hidden_layers'");
    expect_err("{\"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 8,\n"
               " \"vocab_size\": 4, \"num_local_experts\": 2,\n \"num_experts_per_tok\": 3}",
               "c.json:3: num_experts_per_tok: 3 is more than the 2 experts");
    expect_err("{\"hidden_size\": 8, \"num_hidden_layers\": 4000000000, \"num_attention_heads\": 2,\n"
               " \"intermediate_size\": 8, \"vocab_size\": 4}", "c.json:1: num_hidden_layers: 4000000000 layers is more");
    expect_err("{\"hidden_size\": 8, \"num_hidden_layers\": 4, \"num_attention_heads\": 16,\n"
               " \"intermediate_size\": 8, \"vocab_size\": 4}", "c.json:1: head_dim: hidden_size 8 over 16 heads");
    assert_int_equal(es_model_config_parse("c.json", "{\"hidden_size\": 8, \"num_hidden_layers\": 1, "
                     "\"num_attention_heads\": 2, \"intermediate_size\": 8, \"vocab_size\": 4, "
                     "\"torch_dtype\": \"float8_e4m3fn\"}", &m, &err), 0);
    assert_true(m.fp8 && m.weight_bytes_per_param == 1.0);
    assert_int_equal(es_model_config_load(DIR "nope.json", &m, &err), ES_ENOTFOUND);
    /* QA: a directory or a device is refused; an empty file is named (it was a message with no file) */
    assert_int_equal(es_model_config_load("tests/data/models", &m, &err), ES_EINVAL);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(es_model_config_load("/dev/zero", &m, &err), ES_EINVAL);
    assert_int_not_equal(es_model_config_parse("e.json", "", &m, &err), 0);
    assert_non_null(strstr(err.msg, "e.json: empty"));
    assert_true(es_model_is_path("dir/x"));
    assert_true(es_model_is_path("config.json"));
    assert_false(es_model_is_path("llama-3.1-8b"));
}

static void test_datasheet(void **state)
{
    (void)state;
    es_gpu_spec_t g;
    es_err_t err;
    assert_int_equal(es_gpu_spec_lookup("tests/data/gpus/toy.yaml", "toy", &g, &err), 0);
    assert_string_equal(g.device, "Toy GPU");
    assert_true(g.memory_bytes == 1024 * 1048576.0);
    assert_true(g.fp8_flops == 200e12 && g.bf16_flops == 100e12 && g.hbm_Bps == 1e12 && g.pcie_Bps == 16e9);
    /* the shipped datasheet: every GPU the issue names, each with a source */
    static const char *const shipped[] = {"h100-sxm-80gb", "h200-sxm", "a100-sxm-80gb", "l40s", "b200"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(es_gpu_spec_lookup(NULL, shipped[i], &g, &err), 0);
        assert_true(strlen(g.source) > 20);
        assert_true(g.bf16_flops > 0 && g.hbm_Bps > 0 && g.memory_bytes > 0);
    }
    assert_int_equal(es_gpu_spec_lookup(NULL, "h100-sxm-80gb", &g, &err), 0);
    assert_true(g.memory_bytes == 81559 * 1048576.0 && g.bf16_flops == 989.5e12 && g.hbm_Bps == 3.35e12);
    assert_int_equal(es_gpu_spec_lookup(NULL, "a100-sxm-80gb", &g, &err), 0);
    assert_true(g.fp8_flops == 0);

    assert_int_equal(es_gpu_spec_lookup(NULL, "tpu9", &g, &err), ES_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no GPU \"tpu9\""));
    assert_non_null(strstr(err.msg, "h100-sxm-80gb, h200-sxm, a100-sxm-80gb, l40s, b200"));
    assert_int_not_equal(es_gpu_spec_lookup("tests/data/gpus/missing-key.yaml", "toy", &g, &err), 0);
    assert_string_equal(err.msg, "tests/data/gpus/missing-key.yaml:3: gpus.toy.hbm_TBps: missing (every GPU needs "
                                 "hbm_TBps)");
    assert_int_not_equal(es_gpu_spec_lookup("tests/data/gpus/bad-value.yaml", "toy", &g, &err), 0);
    assert_non_null(strstr(err.msg, "tests/data/gpus/bad-value.yaml:5: gpus.toy.bf16_TFLOPs:"));
    assert_int_not_equal(es_gpu_spec_lookup("tests/data/gpus/unknown-key.yaml", "toy", &g, &err), 0);
    assert_non_null(strstr(err.msg, "tests/data/gpus/unknown-key.yaml:9: gpus.toy.tdp_W: unknown key"));
    assert_int_not_equal(es_gpu_spec_lookup("tests/data/gpus/none.yaml", "toy", &g, &err), 0);
}

/* The real configs, when the validation data is present: published totals
 * (and active counts of MoE models) within 1.5%. */
static void test_validation_configs(void **state)
{
    (void)state;
    const char *dir = getenv("EPPSIM_VALIDATION_DIR");
    if (!dir || !*dir) { skip(); return; }
    static const struct { const char *file; double total, active, tol; } k[] = {
        {"llama-2-7b-hf.json", 6.74e9, 0, 0},          {"llama-2-70b-hf.json", 68.98e9, 0, 0},
        {"mixtral-8x7b-v0.1.json", 46.70e9, 12.88e9, 0}, {"qwen3-14b.json", 14.77e9, 0, 0},
        {"qwen3-8b.json", 8.19e9, 0, 0},                {"qwen3-30b-a3b.json", 30.53e9, 3.35e9, 0},
        {"llama-3.1-8b-instruct.json", 8.03e9, 0, 0},   {"llama-3.1-70b-instruct.json", 70.55e9, 0, 0},
        {"codellama-34b-instruct-hf.json", 33.74e9, 0, 0}, {"yi-34b.json", 34.39e9, 0, 0},
        {"mistral-nemo-instruct-2407.json", 12.25e9, 0, 0}, {"qwen2.5-7b-instruct.json", 7.62e9, 0, 0},
        /* DeepSeek's 2.4B active leaves the 0.42B embeddings out; eppsim counts them, as HF's totals do */
        {"deepseek-v2-lite.json", 15.7e9, 2.4e9, 0.12},
        {"llama-4-scout-17b-16e-instruct-fp8-dynamic.json", 0, 17.2e9, 0},   /* 109B counts the vision tower */
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/model-configs/%s", dir, k[i].file);
        es_model_shape_t m;
        load(path, &m);
        printf("  %-50s total %7.3fB active %7.3fB weights %7.2f GiB kv/token %6.0f B\n", k[i].file,
               m.params_total / 1e9, m.params_active / 1e9, m.weight_bytes / 1073741824.0,
               m.kv_bytes_per_token_layer * m.layers);
        double tol = k[i].tol > 0 ? k[i].tol : 0.015;
        if (k[i].total > 0) assert_true(fabs(m.params_total / k[i].total - 1) < 0.015);
        if (k[i].active > 0) assert_true(fabs(m.params_active / k[i].active - 1) < tol);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama2_7b),         cmocka_unit_test(test_llama2_70b),
        cmocka_unit_test(test_mixtral),           cmocka_unit_test(test_qwen3_14b),
        cmocka_unit_test(test_llama4_fp8_nested), cmocka_unit_test(test_fp8_ignore), cmocka_unit_test(test_mla),
        cmocka_unit_test(test_sliding_window),    cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_datasheet),         cmocka_unit_test(test_validation_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
