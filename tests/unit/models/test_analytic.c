/* The analytic (any-model) step time against roofline terms computed by
 * hand, a config.json model run by a server on a datasheet GPU, and the
 * errors of unknown GPUs, models and malformed coefficient files.
 *
 * Coefficients: tests/data/models/coeffs-test.yaml (GEMM 0.5, attention 0.25,
 * HBM 0.8, link 0.8, all-reduce 5 us, layer 10 us, step 100 us, smoothness
 * 100 = max).  GPU: the H100 profile's datasheet peaks (989.5 TFLOP/s bf16,
 * 3.35 TB/s, NVLink 450 GB/s).  Llama-2-7B: 32 layers, d 4096, 32 heads of
 * 128, MLP 11008, vocab 32000, untied. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"
#include "es_steptime.h"

#define LLAMA7  "tests/data/models/llama-2-7b.json"
#define MIXTRAL "tests/data/models/mixtral-8x7b.json"
#define COEFFS  "tests/data/models/coeffs-test.yaml"

static es_profile_t *open_or_fail(const char *gpu, const char *model, const char *coeffs)
{
    es_profile_t *p = NULL;
    es_err_t err;
    int rc = es_profile_open(gpu, model, NULL, coeffs, &p, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    return p;
}

static void init(es_steptime_t *st, es_profile_t *p, const char *model, int tp)
{
    es_server_config_t cfg;
    es_err_t err;
    es_schema_defaults(&es_server_schema, &cfg, &err);
    cfg.tensor_parallel = tp;
    cfg.cpu_overhead_us = 0;
    const es_profile_model_t *pm = es_profile_model(p, model);
    assert_non_null(pm);
    es_steptime_init(st, &cfg, p, pm);   /* step_model auto: no tables, so analytic */
    assert_int_equal(st->kind, ES_STEP_ANALYTIC);
    es_schema_fini(&es_server_schema, &cfg);
}

static int h_start_err(harness_t *h, es_err_t *err)
{
    h->sim = es_sim_create(1);
    es_server_hooks_t hooks = {h, h_first, h_finish, h_gaps, h_kv, NULL, NULL};
    return es_server_create(h->sim, &h->cfg, &hooks, 0, &h->srv, err);
}

#define NEAR(got, want) assert_true(fabs((got) - (want)) < 1e-6 * (want) + 1e-9)

/* Decode, 32 sequences of 1024 keys, TP 1.
 *  GEMM: 2 x 6,476,005,376 linear params x 32 tokens + 2 x 4096 x 32000 x 32 rows
 *        = 422,852,952,064 FLOP / (989.5e12 x 0.5)                = 854.680 us
 *  attention: 32,768 keys x 2 x 32 layers x 32 heads x 256        = 69.449 us at 0.25
 *  weights: 13,476,831,232 B - 262,144,000 B embedding table (only rows read)
 *        = 13,214,687,232 B / (3.35e12 x 0.8)                     = 4930.853 us
 *  KV: (32,768 read + 32 written) x 524,288 B                     = 6416.659 us
 *  sampler: 32 rows x 32000 logits x 46 B                         = 17.576 us
 *  step = max(924.129, 11347.513) + 17.576 + 32 x 10 + 100        = 11785.089 us */
static void test_decode_terms(void **state)
{
    (void)state;
    es_profile_t *p = open_or_fail("h100-sxm-80gb", LLAMA7, COEFFS);
    es_steptime_t st;
    init(&st, p, LLAMA7, 1);
    es_step_comp_t c = {0, NULL, NULL, 32, 32 * 1024, 32};
    es_step_terms_t o;
    es_steptime_terms(&st, &c, &o);
    NEAR(o.gemm_us, 854.6800445962607);
    NEAR(o.attn_us, 69.44868795957554);
    NEAR(o.weight_us, 4930.853444776119);
    NEAR(o.kv_us, 6416.659104477612);
    NEAR(o.comm_us, 0.0);
    NEAR(o.fixed_us, 420.0);
    NEAR(o.sample_us, 32.0 * 32000 * 46 / 2.68e12 * 1e6);
    NEAR(o.total_us, 4930.853444776119 + 6416.659104477612 + o.sample_us + 420.0);
    NEAR(es_steptime_us(&st, &c), o.total_us);
    /* smoothness 2: sqrt(compute^2 + memory^2) instead of the max */
    p->coeffs.smooth = 2;
    es_steptime_terms(&st, &c, &o);
    double tc = 854.6800445962607 + 69.44868795957554, tm = 4930.853444776119 + 6416.659104477612;
    NEAR(o.total_us, sqrt(tc * tc + tm * tm) + o.sample_us + 420.0);
    es_profile_destroy(p);
}

/* Prefill of 2048 tokens over nothing cached, TP 2.
 *  GEMM: 2048 x 12,952,010,752 + 262,144,000 = 26,525,980,164,096 FLOP / (989.5e12 x 0.5 x 2) = 26807.458 us
 *  attention: 2048 x (0 + 1024) units x 524,288 FLOP / (989.5e12 x 0.25 x 2)         = 2222.358 us
 *  weights per GPU 13,214,687,232 / 2 B; KV per GPU 2 x 32 x 16 heads x 128 x 2 B x 2048 written
 *  all-reduce: 2 x 32 x (5 + 2 x 1/2 x 2048 x 4096 x 2 B / (450e9 x 0.8) x 1e6)      = 3302.616 us */
static void test_prefill_tp2_terms(void **state)
{
    (void)state;
    es_profile_t *p = open_or_fail("h100-sxm-80gb", LLAMA7, COEFFS);
    es_steptime_t st;
    init(&st, p, LLAMA7, 2);
    uint32_t q = 2048, pp = 0;
    es_step_comp_t c = {1, &q, &pp, 0, 0, 1};
    es_step_terms_t o;
    es_steptime_terms(&st, &c, &o);
    NEAR(o.gemm_us, 26807.45847811622);
    NEAR(o.attn_us, 2222.358014706417);
    NEAR(o.weight_us, 2465.4267223880597);
    NEAR(o.kv_us, 200.3249671641791);
    NEAR(o.comm_us, 3302.616177777778);
    /* the sampler is not split: every rank runs it over the whole vocabulary */
    NEAR(o.sample_us, 1.0 * 32000 * 46 / 2.68e12 * 1e6);
    NEAR(o.total_us, 26807.45847811622 + 2222.358014706417 + o.sample_us + 420.0 + 3302.616177777778);
    es_profile_destroy(p);
}

/* TP 4 all-reduces follow vLLM's custom all-reduce: 16 decodes move
 * 16 x 4096 x 2 B = 128 KiB, under 512 KiB, in one stage (each rank reads
 * the 3 others); a 2048-token chunk's 16 MiB in two (2 x 3/4 of it). */
static void test_allreduce_tp4(void **state)
{
    (void)state;
    es_profile_t *p = open_or_fail("h100-sxm-80gb", LLAMA7, COEFFS);
    es_steptime_t st;
    init(&st, p, LLAMA7, 4);
    es_step_comp_t d = {0, NULL, NULL, 16, 16000, 16};
    es_step_terms_t o;
    es_steptime_terms(&st, &d, &o);
    NEAR(o.comm_us, 2 * 32 * (5 + 3.0 * 16 * 4096 * 2 / 360e9 * 1e6));
    uint32_t q = 2048, pp = 0;
    es_step_comp_t c = {1, &q, &pp, 0, 0, 1};
    es_steptime_terms(&st, &c, &o);
    NEAR(o.comm_us, 2 * 32 * (5 + 1.5 * 2048 * 4096 * 2 / 360e9 * 1e6));
    es_profile_destroy(p);
}

/* Mixtral, one decode: top-2 of 8 experts per layer are read.
 *  weights: 93,405,585,408 B - 32 x 8 x 176,160,768 x 2 B experts - 262,144,000 B embeddings
 *         = 2,949,128,192 B, + 32 layers x 2 experts x 352,321,536 B = 25,497,706,496 B  -> 9514.070 us
 *  GEMM: 2 x (32 x 41,943,040 + 32 x (2 x 176,160,768 + 32,768)) + 2 x 4096 x 32000 FLOP */
static void test_moe_experts_touched(void **state)
{
    (void)state;
    es_profile_t *p = open_or_fail("h100-sxm-80gb", MIXTRAL, COEFFS);
    es_steptime_t st;
    init(&st, p, MIXTRAL, 1);
    es_step_comp_t c = {0, NULL, NULL, 1, 1000, 1};
    es_step_terms_t o;
    es_steptime_terms(&st, &c, &o);
    NEAR(o.experts_touched, 2.0);
    NEAR(o.weight_us, 9514.069588059701);
    NEAR(o.gemm_us, (2.0 * (32 * 41943040.0 + 32 * (2 * 176160768.0 + 32768)) + 262144000.0) / 494.75e12 * 1e6);
    /* 64 tokens touch all 8 experts (to 1e-8): the whole model is read */
    es_step_comp_t big = {0, NULL, NULL, 64, 64000, 64};
    es_steptime_terms(&st, &big, &o);
    assert_true(o.experts_touched > 8 - 1e-6);
    NEAR(o.weight_us, (93405585408.0 - 262144000.0) / 2.68e12 * 1e6);
    es_profile_destroy(p);
}

/* An FP8 model's GEMMs: the FP8 layers at the FP8 peak (1979 TFLOP/s x 0.5),
 * lm_head (2 x 64 x 100 per row), the routers (4 x 64 per MoE layer) and the
 * attention quantization_config.ignore leaves in 16 bits (2 layers x 12288)
 * at the bf16 peak.  tiny-moe-fp8(-ignore).json: 4 layers, 2 dense
 * (3 x 64 x 128), 2 MoE (top-1 of 32-wide experts plus a shared one). */
static void test_fp8_gemm_split(void **state)
{
    (void)state;
    const char *model = "tests/data/models/tiny-moe-fp8-ignore.json";
    es_profile_t *p = open_or_fail("h100-sxm-80gb", model, COEFFS);
    es_steptime_t st;
    init(&st, p, model, 1);
    es_step_comp_t c = {0, NULL, NULL, 4, 400, 4};
    es_step_terms_t o;
    es_steptime_terms(&st, &c, &o);
    double f16 = 2.0 * (2 * 12288.0 + 2 * 256.0) * 4 + 2.0 * 64 * 100 * 4;
    double f8 = 2.0 * (2 * 12288.0 + 2 * 24576.0 + 2 * (6144.0 + 6144.0)) * 4;   /* 2 quantised attentions, MLPs */
    NEAR(o.gemm_us, f8 / (p->fp8_flops * 0.5) * 1e6 + f16 / (p->peak_flops * 0.5) * 1e6);
    /* fixed time in dense-layer kernel counts (10 each): the 2 MoE layers' +4 and shared experts' +4,
     * 2 FP8 quantisations in the 2 quantised attentions, the 2 dense MLPs, the experts and the shared
     * experts: 4 + (16 + 16) / 10 = 7.2 layers of 10 us, + 100 us per step */
    NEAR(o.fixed_us, 7.2 * 10 + 100);
    es_profile_destroy(p);
}

/* tiny-sliding: 6 layers, 4 of them with a 256-key window, 1 KV head of 16,
 * d 64, 4 heads.  Two decodes of 1000 keys each: the full layers read 2000
 * keys, the windowed ones 2 x 256; per layer on average
 * 2000 x 2/6 + 512 x 4/6 = 1008 keys.
 *  attention: 1008 x 2 x 6 layers x 4 heads x 32 FLOP / (989.5e12 x 0.25) us
 *  KV: (1008 + 2 written) x (2 x 6 x 16 x 2 B) / (3.35e12 x 0.8) */
static void test_sliding_window(void **state)
{
    (void)state;
    es_profile_t *p = open_or_fail("h100-sxm-80gb", "tests/data/models/tiny-sliding.json", COEFFS);
    es_steptime_t st;
    init(&st, p, "tests/data/models/tiny-sliding.json", 1);
    es_step_comp_t c = {0, NULL, NULL, 2, 2000, 2};
    es_step_terms_t o;
    es_steptime_terms(&st, &c, &o);
    NEAR(o.attn_us, 1008.0 * 1536 / 247.375e12 * 1e6);
    NEAR(o.kv_us, 1010.0 * 384 / 2.68e12 * 1e6);
    /* a 512-token chunk over 1024 cached: full layers q(p + q/2) = 512 x 1280,
     * windowed 512 x 256; cached keys read 1024 and 256 */
    uint32_t q = 512, pp = 1024;
    es_step_comp_t pc = {1, &q, &pp, 0, 0, 1};
    es_steptime_terms(&st, &pc, &o);
    NEAR(o.attn_us, (512.0 * 1280 * 2 / 6 + 512.0 * 256 * 4 / 6) * 1536 / 247.375e12 * 1e6);
    NEAR(o.kv_us, (1024.0 * 2 / 6 + 256.0 * 4 / 6 + 512) * 384 / 2.68e12 * 1e6);
    es_profile_destroy(p);
}

/* A server on a datasheet GPU with a config.json model: KV blocks from the
 * weight bytes, step time from the analytic model, FP8 peak unused for a
 * 16-bit model. */
static void test_server_any_model(void **state)
{
    (void)state;
    harness_t h;
    h_config(&h, "a100-sxm-80gb");
    free(h.cfg.model);
    h.cfg.model = strdup(LLAMA7);
    assert_int_equal(h_start(&h), 0);
    /* (81920 MiB x 0.9 - 13,476,831,232 B - 2 GiB) / (524,288 B x 16) = 7353.4 */
    assert_int_equal(es_server_num_gpu_blocks(h.srv), 7353);
    double us = es_server_step_time_us(h.srv, 0, NULL, NULL, 1, 1024);
    /* weights / (2.039e12 x 0.8188) dominate: 13.2 GB -> ~7.9 ms + 32 layers' fixed time (overhead 0) */
    assert_true(us > 7000 && us < 12000);
    h_stop(&h);
}

static void test_errors(void **state)
{
    (void)state;
    es_profile_t *p = NULL;
    es_err_t err;
    assert_int_equal(es_profile_open("tpu9", LLAMA7, NULL, NULL, &p, &err), ES_ENOTFOUND);
    assert_non_null(strstr(err.msg, "server.gpu: no profile or datasheet GPU \"tpu9\""));
    assert_non_null(strstr(err.msg, "a100-sxm-80gb"));
    assert_int_equal(es_profile_open("h100-sxm-80gb", "tests/data/models/nope.json", NULL, NULL, &p, &err),
                     ES_ENOTFOUND);
    assert_non_null(strstr(err.msg, "tests/data/models/nope.json"));
    assert_int_not_equal(es_profile_open("h100-sxm-80gb", LLAMA7, NULL, "tests/data/models/coeffs-bad.yaml", &p, &err), 0);
    assert_non_null(strstr(err.msg, "tests/data/models/coeffs-bad.yaml:3: analytic.attention_efficiency:"));
    assert_int_not_equal(es_profile_open("h100-sxm-80gb", LLAMA7, "tests/data/gpus/missing-key.yaml", NULL, &p, &err), 0);
    /* a broken datasheet fails a profile GPU too, and a datasheet GPU with its file:line */
    assert_int_not_equal(es_profile_open("toy", LLAMA7, "tests/data/gpus/missing-key.yaml", NULL, &p, &err), 0);
    assert_non_null(strstr(err.msg, "missing-key.yaml:3: gpus.toy.hbm_TBps: missing"));

    /* profile step model on a model the profile never measured */
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    free(h.cfg.model);
    h.cfg.model = strdup(LLAMA7);
    h.cfg.step_model = ES_STEP_PROFILE;
    assert_int_not_equal(h_start_err(&h, &err), 0);
    assert_non_null(strstr(err.msg, "server.step_model: profile needs measured tables"));
    h_stop(&h);
    /* an unknown profile model key */
    h_config(&h, "h100-sxm-80gb");
    free(h.cfg.model);
    h.cfg.model = strdup("llama-9");
    assert_int_equal(h_start_err(&h, &err), ES_ENOTFOUND);
    assert_non_null(strstr(err.msg, "server.model: no model \"llama-9\""));
    h_stop(&h);
}

/* The shipped profiles' own model stays on the measured tables under auto. */
static void test_auto_keeps_profile(void **state)
{
    (void)state;
    es_profile_t *p = open_or_fail("h100-sxm-80gb", "llama-3.1-8b", NULL);
    const es_profile_model_t *pm = es_profile_model(p, "llama-3.1-8b");
    assert_int_equal(es_steptime_resolve(ES_STEP_AUTO, pm), ES_STEP_PROFILE);
    assert_int_equal(es_steptime_resolve(ES_STEP_ANALYTIC, pm), ES_STEP_ANALYTIC);
    assert_string_equal(p->coeffs.file, "data/steptime-coeffs.yaml");
    es_profile_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_terms),        cmocka_unit_test(test_prefill_tp2_terms),
        cmocka_unit_test(test_allreduce_tp4), cmocka_unit_test(test_moe_experts_touched), cmocka_unit_test(test_fp8_gemm_split), cmocka_unit_test(test_server_any_model),
        cmocka_unit_test(test_errors),              cmocka_unit_test(test_auto_keeps_profile),
        cmocka_unit_test(test_sliding_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
