/* eppsim gateway's scrape: the vLLM metrics an EPP reads, from Prometheus text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "es_live.h"
#include "es_live_gw.h"

static int parse(const char *text, es_live_scrape_t *s)
{
    char msg[128];
    return es_live_parse_metrics(text, strlen(text), s, msg, sizeof msg);
}

/* what `eppsim serve` writes reads back as the same metrics */
static void test_round_trip(void **state)
{
    (void)state;
    es_live_pod_stats_t st;
    memset(&st, 0, sizeof st);
    st.model = "m";
    st.m.waiting = 3;
    st.m.running = 17;
    st.m.kv_cache_usage = 0.1234567890123456789;
    st.m.prefix_queries = 5000;
    st.m.prefix_hits = 1234;
    st.m.block_size = 16;
    st.m.num_gpu_blocks = 28019;
    st.m.max_lora = 4;
    st.m.n_running_lora = 2;
    st.m.running_lora[0] = "sql-lora";
    st.m.running_lora[1] = "chat";
    st.m.n_waiting_lora = 1;
    st.m.waiting_lora[0] = "x";
    es_live_hist_init(&st.ttft, es_live_ttft_bounds, ES_LIVE_TTFT_BUCKETS);
    es_live_hist_init(&st.itl, es_live_itl_bounds, ES_LIVE_ITL_BUCKETS);
    es_live_buf_t b = {0};
    es_live_write_metrics(&b, &st);
    es_live_scrape_t *s = malloc(sizeof *s);
    assert_int_equal(parse(b.data, s), 0);
    assert_int_equal(s->m.waiting, 3);
    assert_int_equal(s->m.running, 17);
    assert_true(s->m.kv_cache_usage == st.m.kv_cache_usage);   /* %.17g: exact */
    assert_int_equal(s->m.prefix_queries, 5000);
    assert_int_equal(s->m.prefix_hits, 1234);
    assert_int_equal(s->m.block_size, 16);
    assert_int_equal(s->m.num_gpu_blocks, 28019);
    assert_int_equal(s->m.max_lora, 4);
    assert_int_equal(s->m.n_running_lora, 2);
    assert_string_equal(s->m.running_lora[0], "sql-lora");
    assert_string_equal(s->m.running_lora[1], "chat");
    assert_int_equal(s->m.n_waiting_lora, 1);
    assert_string_equal(s->m.waiting_lora[0], "x");
    es_live_buf_free(&b);
    free(s);
}

/* vLLM's older name, escapes, timestamps, the newest LoRA series, junk lines */
static void test_variants(void **state)
{
    (void)state;
    es_live_scrape_t *s = malloc(sizeof *s);
    const char *page =
        "# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage.\n"
        "garbage line without value\n"
        "vllm:num_requests_waiting{model_name=\"a\\\"b\\\\c\"} 4 1700000000000\r\n"
        "vllm:num_requests_running 2.0\n"
        "vllm:gpu_cache_usage_perc{engine=\"0\"} 1.5\n"
        "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"old\",waiting_lora_adapters=\"\"} 100\n"
        "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"new1,new2\",waiting_lora_adapters=\"w\"} 200\n"
        "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"older\",waiting_lora_adapters=\"\"} 50\n"
        "vllm:num_requests_waiting 99\n";   /* the first series counts */
    assert_int_equal(parse(page, s), 0);
    assert_int_equal(s->m.waiting, 4);
    assert_int_equal(s->m.running, 2);
    assert_true(s->m.kv_cache_usage == 1.0);   /* clamped to a fraction */
    assert_int_equal(s->m.n_running_lora, 2);
    assert_string_equal(s->m.running_lora[1], "new2");
    assert_string_equal(s->m.waiting_lora[0], "w");
    assert_int_equal(s->m.block_size, 0);   /* no cache_config_info: unknown */
    free(s);
}

/* adapter names that are not printable UTF-8 never reach decisions.jsonl:
 * their series is skipped, an older clean one is kept */
static void test_unprintable_adapters(void **state)
{
    (void)state;
    es_live_scrape_t *s = malloc(sizeof *s);
    /* raw bytes; "a\\nb" is Prometheus' escape that the parser turns into a newline */
    static const char *bad[] = {"a\xff", "\xc0\xaf", "x\ty", "a\\nb", "ok,\xed\xa0\x80", "del\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char page[512];
        const char *name = bad[i];
        snprintf(page, sizeof page,
                 "vllm:num_requests_waiting 0\nvllm:num_requests_running 0\nvllm:kv_cache_usage_perc 0\n"
                 "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"clean\",waiting_lora_adapters=\"\"} 100\n"
                 "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"%s\",waiting_lora_adapters=\"\"} 200\n",
                 name);
        assert_int_equal(parse(page, s), 0);
        assert_int_equal(s->m.n_running_lora, 1);
        assert_string_equal(s->m.running_lora[0], "clean");
    }
    free(s);
}

static void test_failures(void **state)
{
    (void)state;
    es_live_scrape_t *s = malloc(sizeof *s);
    char msg[128];
    const char *no_kv = "vllm:num_requests_waiting 1\nvllm:num_requests_running 1\n";
    assert_int_equal(es_live_parse_metrics(no_kv, strlen(no_kv), s, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "kv_cache_usage_perc"));
    assert_int_equal(parse("", s), -1);
    /* negative, NaN and overlong values are not counts */
    assert_int_equal(parse("vllm:num_requests_waiting -1\nvllm:num_requests_running 1\nvllm:kv_cache_usage_perc 0\n", s), -1);
    assert_int_equal(parse("vllm:num_requests_waiting NaN\nvllm:num_requests_running 1\nvllm:kv_cache_usage_perc 0\n", s), -1);
    assert_int_equal(parse("vllm:num_requests_waiting 1\nvllm:num_requests_running 1\nvllm:kv_cache_usage_perc NaN\n", s), -1);
    /* an unterminated label value is a malformed line, skipped */
    assert_int_equal(parse("vllm:num_requests_waiting{a=\"x 1\nvllm:num_requests_running 1\nvllm:kv_cache_usage_perc 0\n", s), -1);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_round_trip), cmocka_unit_test(test_variants), cmocka_unit_test(test_unprintable_adapters),
                                       cmocka_unit_test(test_failures)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
