/* vLLM serve settings: tokenising, every flag, vLLM's defaults per GPU and
 * version, settings maps, warnings, and the mapping onto the server section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "es_doc.h"
#include "es_vllm_args.h"

static void parse_ok(const char *args, es_vllm_serve_t *s)
{
    es_err_t err;
    es_err_clear(&err);
    es_vllm_serve_init(s);
    int rc = es_vllm_parse_args(args, "t", s, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
}

static void parse_bad(const char *args, const char *needle)
{
    es_err_t err;
    es_err_clear(&err);
    es_vllm_serve_t s;
    es_vllm_serve_init(&s);
    assert_int_not_equal(es_vllm_parse_args(args, "t", &s, &err), 0);
    if (!strstr(err.msg, needle)) fprintf(stderr, "message: %s\n", err.msg);
    assert_non_null(strstr(err.msg, needle));
}

static void test_split(void **state)
{
    (void)state;
    char **argv;
    int argc;
    es_err_t err;
    assert_int_equal(es_vllm_split_args("vllm serve 'a b' \"c \\\"d\\\"\" e\\ f \\\n --x=$(y)", &argv, &argc, &err), 0);
    assert_int_equal(argc, 6);
    assert_string_equal(argv[2], "a b");
    assert_string_equal(argv[3], "c \"d\"");
    assert_string_equal(argv[4], "e f");
    assert_string_equal(argv[5], "--x=$(y)");   /* no expansion, ever */
    free(argv);
    assert_int_not_equal(es_vllm_split_args("--a 'b", &argv, &argc, &err), 0);
    assert_int_not_equal(es_vllm_split_args("--a \"b", &argv, &argc, &err), 0);
    assert_int_equal(es_vllm_split_args("   ", &argv, &argc, &err), 0);
    assert_int_equal(argc, 0);
    free(argv);
}

static void test_every_flag(void **state)
{
    (void)state;
    es_vllm_serve_t s;
    parse_ok("vllm serve org/My-Model --max-num-seqs 128 --max-num-batched-tokens=2k --max-model-len 4K "
             "-tp 2 --block-size 32 --long-prefill-token-threshold 512 --num-gpu-blocks-override 9000 "
             "--gpu-memory-utilization 0.85 --no-enable-prefix-caching --scheduling-policy priority "
             "--enable-chunked-prefill --pipeline-parallel-size 2 --data-parallel-size 2 --api-server-count 4 "
             "--kv-offloading-size 8 --swap-space 16 --cpu-offload-gb 2 --async-scheduling --enforce-eager "
             "--kv-cache-dtype fp8 --dtype bfloat16 --quantization fp8 --port 8000 --seed 3", &s);
    assert_string_equal(s.model, "org/My-Model");
    assert_int_equal(s.max_num_seqs, 128);
    assert_int_equal(s.max_num_batched_tokens, 2000);
    assert_int_equal(s.max_model_len, 4096);
    assert_int_equal(s.tensor_parallel_size, 2);
    assert_int_equal(s.block_size, 32);
    assert_int_equal(s.long_prefill_token_threshold, 512);
    assert_int_equal(s.num_gpu_blocks_override, 9000);
    assert_true(s.gpu_memory_utilization == 0.85);
    assert_int_equal(s.enable_prefix_caching, 0);
    assert_int_equal(s.scheduling_policy, ES_POLICY_PRIORITY);
    assert_int_equal(s.enable_chunked_prefill, 1);
    assert_int_equal(s.pipeline_parallel_size, 2);
    assert_int_equal(s.data_parallel_size, 2);
    assert_int_equal(s.api_server_count, 4);
    assert_true(s.kv_offloading_gib == 8);
    assert_true(s.swap_space_gib == 16);
    assert_true(s.cpu_offload_gib == 2);
    assert_int_equal(s.async_scheduling, 1);
    assert_int_equal(s.enforce_eager, 1);
    assert_string_equal(s.kv_cache_dtype, "fp8");
    assert_string_equal(s.dtype, "bfloat16");
    assert_string_equal(s.quantization, "fp8");
    /* --model, underscores, --flag=value, --no-async-scheduling, an unknown flag with a value */
    parse_ok("--model m --max_num_seqs=7 --async-scheduling --no-async-scheduling --mystery 5 --enable-prefix-caching", &s);
    assert_string_equal(s.model, "m");
    assert_int_equal(s.max_num_seqs, 7);
    assert_int_equal(s.async_scheduling, 0);
    assert_int_equal(s.enable_prefix_caching, 1);
    assert_int_equal(s.nrecorded, 1);   /* --mystery 5; modelled flags are not "recorded" */
    assert_string_equal(s.recorded[0], "--mystery 5");
    parse_ok("--swap-space 4 --swap-space 8", &s);
    assert_int_equal(s.nrecorded, 1);   /* a flag given twice: recorded once, last value */
    assert_string_equal(s.recorded[0], "--swap-space 8");
    parse_bad("--max-num-seqs 0", "--max-num-seqs");
    parse_bad("--max-num-seqs lots", "expected a positive integer");
    parse_bad("--max-model-len 1.5K", "--max-model-len");
    parse_bad("--gpu-memory-utilization 1.5", "fraction");
    parse_bad("--scheduling-policy lifo", "fcfs or priority");
    parse_bad("--enable-prefix-caching=maybe", "true or false");
    parse_bad("--no-enable-prefix-caching=1", "takes no value");
    parse_bad("--max-num-seqs", "expected a positive integer");
    parse_bad("m1 m2", "unexpected argument");
    /* vLLM's int() and human_readable_int refuse what strtod reads (QA) */
    parse_bad("--max-num-seqs 1e3", "got \"1e3\"");
    parse_bad("--max-num-seqs 0x10", "got \"0x10\"");
    parse_bad("--max-num-seqs 1.5", "got \"1.5\"");
    parse_bad("--max-num-seqs 2.k", "got \"2.k\"");
    parse_bad("--max-model-len infk", "got \"infk\"");
    parse_bad("--gpu-memory-utilization -0.5", "got \"-0.5\"");
    parse_ok("--max-num-seqs +12 --max-num-batched-tokens 2.5k", &s);
    assert_int_equal(s.max_num_seqs, 12);
    assert_int_equal(s.max_num_batched_tokens, 2500);
}

static void resolve(const char *args, int version, const char *gpu, double gib, es_vllm_serve_t *r)
{
    es_vllm_serve_t s;
    parse_ok(args, &s);
    es_vllm_resolve(&s, version, gpu, gib, r);
}

static void test_defaults(void **state)
{
    (void)state;
    es_vllm_serve_t r;
    /* v0.11 on H100 80GB: 1024 / 8192, and the rest of vLLM's defaults */
    resolve("", 1100, "h100-sxm-80gb NVIDIA H100 80GB HBM3", 79.6, &r);
    assert_int_equal(r.max_num_seqs, 1024);
    assert_int_equal(r.max_num_batched_tokens, 8192);
    assert_int_equal(r.block_size, 16);
    assert_true(r.gpu_memory_utilization == 0.9);
    assert_int_equal(r.enable_prefix_caching, 1);
    assert_int_equal(r.enable_chunked_prefill, 1);
    assert_int_equal(r.tensor_parallel_size, 1);
    assert_int_equal(r.max_model_len, 0);
    assert_int_equal(r.async_scheduling, 0);
    assert_int_equal(r.api_server_count, 1);
    assert_string_equal(r.kv_cache_dtype, "auto");
    /* H200: big */
    resolve("", 1100, "h200-sxm NVIDIA H200", 139.8, &r);
    assert_int_equal(r.max_num_seqs, 1024);
    /* A100 80GB: excluded by name whatever its memory */
    resolve("", 1100, "NVIDIA A100-SXM4-80GB", 80, &r);
    assert_int_equal(r.max_num_seqs, 256);
    assert_int_equal(r.max_num_batched_tokens, 2048);
    /* L40S: 48 GB, under 70 GiB */
    resolve("", 1100, "NVIDIA L40S", 44.5, &r);
    assert_int_equal(r.max_num_seqs, 256);
    assert_int_equal(r.max_num_batched_tokens, 2048);
    /* max_num_seqs is capped at max_num_batched_tokens */
    resolve("--max-num-batched-tokens 512", 1100, "H100", 80, &r);
    assert_int_equal(r.max_num_seqs, 512);
    /* chunked prefill off: a step holds a whole prompt */
    resolve("--no-enable-chunked-prefill --max-model-len 4096", 1100, "H100", 80, &r);
    assert_int_equal(r.max_num_batched_tokens, 4096);
    /* async scheduling is on by default from 0.14 (as server.async_scheduling auto) */
    resolve("", 1501, "H100", 80, &r);
    assert_int_equal(r.async_scheduling, 1);
    resolve("", 1300, "H100", 80, &r);
    assert_int_equal(r.async_scheduling, 0);
    /* flags win over defaults */
    resolve("--max-num-seqs 128 --max-num-batched-tokens 2048", 1100, "H100", 80, &r);
    assert_int_equal(r.max_num_seqs, 128);
    assert_int_equal(r.max_num_batched_tokens, 2048);
}

static void test_version(void **state)
{
    (void)state;
    int v;
    es_err_t err;
    assert_int_equal(es_vllm_version_parse("0.11", &v, &err), 0);
    assert_int_equal(v, 1100);
    assert_int_equal(es_vllm_version_parse("v0.15.1", &v, &err), 0);
    assert_int_equal(v, 1500);
    assert_int_equal(es_vllm_version_parse("0.11.0rc1", &v, &err), 0);
    assert_int_equal(es_vllm_version_parse("0.6.3", &v, &err), ES_EUNSUPP);
    assert_int_equal(es_vllm_version_parse("eleven", &v, &err), ES_EINVAL);
    assert_int_equal(es_vllm_version_parse("0.x", &v, &err), ES_EINVAL);
}

static void test_map(void **state)
{
    (void)state;
    const char *y = "model: meta-llama/Llama-2-7b-hf\ntensor_parallelism: 2\nmax_model_len: 4096\n"
                    "max_num_batched_tokens: 2048\nmax_num_seqs: 128\napp: inference-perf\n"
                    "kv-offloading-size: 8\n";
    es_doc_t *doc;
    es_err_t err;
    assert_int_equal(es_doc_load_string("exp-config.yaml", y, strlen(y), &doc, &err), 0);
    es_vllm_serve_t s;
    es_vllm_serve_init(&s);
    assert_int_equal(es_vllm_parse_map(doc->root, "", &s, &err), 0);
    assert_string_equal(s.model, "meta-llama/Llama-2-7b-hf");
    assert_int_equal(s.tensor_parallel_size, 2);
    assert_int_equal(s.max_model_len, 4096);
    assert_int_equal(s.max_num_seqs, 128);
    assert_true(s.kv_offloading_gib == 8);
    es_doc_destroy(doc);
    const char *bad = "max_num_seqs: 128\nblock_size: -3\n";
    assert_int_equal(es_doc_load_string("exp-config.yaml", bad, strlen(bad), &doc, &err), 0);
    es_vllm_serve_init(&s);
    assert_int_not_equal(es_vllm_parse_map(doc->root, "", &s, &err), 0);
    assert_non_null(strstr(err.msg, "exp-config.yaml:2: block_size:"));
    es_doc_destroy(doc);
}

static void test_warnings(void **state)
{
    (void)state;
    es_vllm_serve_t r;
    char buf[2048] = "";
    resolve("--kv-offloading-size 8 --api-server-count 4 --kv-cache-dtype fp8 --frobnicate", 1500, "H100", 80, &r);
    es_vllm_warnings(&r, buf, sizeof buf);
    assert_non_null(strstr(buf, "--kv-cache-dtype fp8 is recorded but not modelled"));
    assert_non_null(strstr(buf, "--frobnicate is not a flag eppsim knows"));
    assert_null(strstr(buf, "kv-offloading"));   /* modelled: server.kv_offloading_gib */
    assert_null(strstr(buf, "api-server"));      /* modelled: server.api_server_count */
    assert_null(strstr(buf, "async"));           /* modelled: server.async_scheduling */
    buf[0] = '\0';
    resolve("--max-num-seqs 8 --port 80", 1100, "H100", 80, &r);
    es_vllm_warnings(&r, buf, sizeof buf);
    assert_string_equal(buf, "");   /* modelled flags and harmless ones: no warning */
}

static bool explicit_seqs(void *ud, const char *key)
{
    (void)ud;
    return strcmp(key, "max_num_seqs") == 0;
}

static void test_apply(void **state)
{
    (void)state;
    es_vllm_serve_t r;
    resolve("--max-num-seqs 64 --max-num-batched-tokens 4096 -tp 4 --block-size 32 --no-enable-prefix-caching "
            "--gpu-memory-utilization 0.8 --max-model-len 8192 --num-gpu-blocks-override 100 "
            "--long-prefill-token-threshold 256 --scheduling-policy priority --api-server-count 4 "
            "--kv-offloading-size 8 --async-scheduling", 1100, "H100", 80, &r);
    es_server_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_num_seqs = 7;
    cfg.model = (char *)"llama-3.1-8b";
    es_vllm_apply(&r, explicit_seqs, NULL, &cfg);
    assert_int_equal(cfg.max_num_seqs, 7);   /* the experiment's own key stays */
    assert_int_equal(cfg.max_num_batched_tokens, 4096);
    assert_int_equal(cfg.tensor_parallel, 4);
    assert_int_equal(cfg.block_size, 32);
    assert_false(cfg.enable_prefix_caching);
    assert_true(cfg.gpu_memory_utilization == 0.8);
    assert_int_equal(cfg.max_model_len, 8192);
    assert_int_equal(cfg.num_gpu_blocks, 100);
    assert_int_equal(cfg.long_prefill_token_threshold, 256);
    assert_int_equal(cfg.scheduling_policy, ES_POLICY_PRIORITY);
    assert_int_equal(cfg.api_server_count, 4);
    assert_true(cfg.kv_offloading_gib == 2);   /* 8 GiB summed over TP 4 ranks */
    assert_int_equal(cfg.async_scheduling, ES_ASYNC_ON);
    es_vllm_resolve(&r, 1100, "H100", 80, &r);
    r.async_scheduling = 0;
    es_vllm_apply(&r, explicit_seqs, NULL, &cfg);
    assert_int_equal(cfg.async_scheduling, ES_ASYNC_OFF);
    es_vllm_serve_t given;
    parse_ok("--max-num-seqs 64", &given);
    assert_string_equal(es_vllm_conflict(&given, &cfg, explicit_seqs, NULL), "max_num_seqs");
    parse_ok("--max-num-seqs 7", &given);
    assert_null(es_vllm_conflict(&given, &cfg, explicit_seqs, NULL));
}

static void test_model_key(void **state)
{
    (void)state;
    char k[64];
    es_vllm_model_key("meta-llama/Llama-2-7b-hf", k, sizeof k);
    assert_string_equal(k, "llama-2-7b");
    es_vllm_model_key("meta-llama/Llama-3.1-8B-Instruct", k, sizeof k);
    assert_string_equal(k, "llama-3.1-8b");
    es_vllm_model_key("Qwen/Qwen3-8B", k, sizeof k);
    assert_string_equal(k, "qwen3-8b");
    es_vllm_model_key("codellama/CodeLlama-34b-Instruct-hf", k, sizeof k);
    assert_string_equal(k, "codellama-34b");
}

/* An unknown flag whose name is longer than a recorded item, given twice, is
 * recorded once and read within bounds (fuzz_vllm_args found an overread). */
static void test_long_unknown_flag(void **state)
{
    (void)state;
    char args[600], name[96];
    memset(name, 'x', 95);   /* the longest name the parser takes */
    name[95] = '\0';
    snprintf(args, sizeof args, "--%s 1 --%s 2", name, name);
    es_vllm_serve_t s;
    parse_ok(args, &s);
    assert_int_equal(s.nrecorded, 1);
}

/* The choices both server.vllm_args and the manifest reader check: a hit,
 * a miss with the accepted list, a flag without choices, a list cut short. */
static void test_choices(void **state)
{
    (void)state;
    char known[600], small[12];
    assert_true(es_vllm_choice_ok("dtype", "bfloat16", known, sizeof known));
    assert_true(es_vllm_choice_ok("kv-cache-dtype", "fp8_e4m3", known, sizeof known));
    assert_false(es_vllm_choice_ok("dtype", "fp8", known, sizeof known));
    assert_string_equal(known, "auto, half, float16, bfloat16, float, float32");
    assert_false(es_vllm_choice_ok("kv-cache-dtype", "fp9", NULL, 0));
    assert_true(es_vllm_choice_ok("max-num-seqs", "anything", known, sizeof known));
    assert_false(es_vllm_choice_ok("kv-cache-dtype", "x", small, sizeof small));
    assert_true(strlen(small) < sizeof small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),    cmocka_unit_test(test_every_flag), cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_version),  cmocka_unit_test(test_map),        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_apply),    cmocka_unit_test(test_model_key), cmocka_unit_test(test_long_unknown_flag),
        cmocka_unit_test(test_choices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
