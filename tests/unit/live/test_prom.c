/* eppsim serve's /metrics writer: vLLM names, labels, cumulative buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "es_live.h"

static void test_histogram(void **state)
{
    (void)state;
    es_live_hist_t h;
    es_live_hist_init(&h, es_live_ttft_bounds, ES_LIVE_TTFT_BUCKETS);
    es_live_hist_add(&h, 0.001, 1);    /* le is inclusive */
    es_live_hist_add(&h, 0.05, 3);
    es_live_hist_add(&h, 1e6, 1);      /* +Inf */
    assert_int_equal(h.counts[0], 1);
    assert_int_equal(h.counts[5], 3);  /* (0.04, 0.06] */
    assert_int_equal(h.counts[ES_LIVE_TTFT_BUCKETS], 1);
    assert_int_equal(h.count, 5);
    assert_true(h.sum > 1e6 && h.sum < 1e6 + 1);
}

static void test_page(void **state)
{
    (void)state;
    es_live_pod_stats_t st;
    memset(&st, 0, sizeof st);
    st.model = "m";
    st.engine = 3;
    st.m.waiting = 2;
    st.m.running = 5;
    st.m.kv_cache_usage = 0.25;
    st.m.prefix_queries = 100;
    st.m.prefix_hits = 64;
    st.m.block_size = 16;
    st.m.num_gpu_blocks = 1000;
    st.m.max_lora = 2;
    st.m.n_running_lora = 2;
    st.m.running_lora[0] = "a";
    st.m.running_lora[1] = "b";
    st.preemptions = 7;
    es_live_hist_init(&st.ttft, es_live_ttft_bounds, ES_LIVE_TTFT_BUCKETS);
    es_live_hist_init(&st.itl, es_live_itl_bounds, ES_LIVE_ITL_BUCKETS);
    es_live_hist_add(&st.ttft, 0.03, 2);
    es_live_buf_t b = {0};
    es_live_write_metrics(&b, &st);
    assert_false(b.oom);
    static const char *want[] = {
        "# TYPE vllm:num_requests_waiting gauge\n",
        "vllm:num_requests_waiting{engine=\"3\",model_name=\"m\"} 2\n",
        "vllm:num_requests_running{engine=\"3\",model_name=\"m\"} 5\n",
        "vllm:kv_cache_usage_perc{engine=\"3\",model_name=\"m\"} 0.25\n",
        "# TYPE vllm:prefix_cache_queries_total counter\n",
        "vllm:prefix_cache_queries_total{engine=\"3\",model_name=\"m\"} 100\n",
        "vllm:prefix_cache_hits_total{engine=\"3\",model_name=\"m\"} 64\n",
        "vllm:num_preemptions_total{engine=\"3\",model_name=\"m\"} 7\n",
        "vllm:time_to_first_token_seconds_bucket{engine=\"3\",le=\"0.02\",model_name=\"m\"} 0\n",
        "vllm:time_to_first_token_seconds_bucket{engine=\"3\",le=\"0.04\",model_name=\"m\"} 2\n",
        "vllm:time_to_first_token_seconds_bucket{engine=\"3\",le=\"+Inf\",model_name=\"m\"} 2\n",
        "vllm:time_to_first_token_seconds_count{engine=\"3\",model_name=\"m\"} 2\n",
        "vllm:inter_token_latency_seconds_count{engine=\"3\",model_name=\"m\"} 0\n",
        "vllm:cache_config_info{block_size=\"16\",enable_prefix_caching=\"True\",engine=\"3\",num_gpu_blocks=\"1000\"} 1.0\n",
        "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"a,b\",waiting_lora_adapters=\"\"} 1.0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!strstr(b.data, want[i])) fail_msg("missing: %s\n---\n%s", want[i], b.data);
    }
    /* every line is a comment or `name{labels} value` */
    for (char *line = b.data; *line;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_true(line[0] == '#' || (strncmp(line, "vllm:", 5) == 0 && memchr(line, '}', (size_t)(nl - line))));
        line = nl + 1;
    }
    es_live_buf_free(&b);
    /* no LoRA configured: no lora_requests_info */
    st.m.max_lora = 0;
    es_live_write_metrics(&b, &st);
    assert_null(strstr(b.data, "lora_requests_info"));
    es_live_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_histogram), cmocka_unit_test(test_page)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
