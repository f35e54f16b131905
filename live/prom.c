/*
 * prom.c -- a pod's /metrics page in Prometheus text format, with vLLM's v1
 * names, labels and histogram buckets (vllm/v1/metrics/loggers.py at
 * vllm-project/vllm 005a810bc40faa25b8870fbc8559c3462581eee3: labels
 * model_name and engine; counters get the client library's _total suffix).
 */
#include "es_live.h"

#include <string.h>

const double es_live_ttft_bounds[ES_LIVE_TTFT_BUCKETS] = {
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
    1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
const double es_live_itl_bounds[ES_LIVE_ITL_BUCKETS] = {
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
    1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};

void es_live_hist_init(es_live_hist_t *h, const double *bounds, uint32_t nbounds)
{
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->nbounds = nbounds < 23 ? nbounds : 23;
}

void es_live_hist_add(es_live_hist_t *h, double v, uint64_t n)
{
    uint32_t i = 0;
    while (i < h->nbounds && v > h->bounds[i]) i++;   /* Prometheus buckets are le (<=) */
    h->counts[i] += n;
    h->count += n;
    h->sum += v * (double)n;
}

static void head(es_live_buf_t *b, const char *name, const char *type, const char *help)
{
    es_live_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_d(es_live_buf_t *b, const es_live_pod_stats_t *st, const char *name, double v)
{
    es_live_buf_printf(b, "%s{engine=\"%u\",model_name=\"%s\"} %.17g\n", name, st->engine, st->model, v);
}

static void sample_u(es_live_buf_t *b, const es_live_pod_stats_t *st, const char *name, uint64_t v)
{
    es_live_buf_printf(b, "%s{engine=\"%u\",model_name=\"%s\"} %llu\n", name, st->engine, st->model,
                       (unsigned long long)v);
}

static void counter(es_live_buf_t *b, const es_live_pod_stats_t *st, const char *name, const char *help,
                    uint64_t v)
{
    char total[128];
    snprintf(total, sizeof total, "%s_total", name);
    head(b, total, "counter", help);
    sample_u(b, st, total, v);
}

static void histogram(es_live_buf_t *b, const es_live_pod_stats_t *st, const char *name, const char *help,
                      const es_live_hist_t *h)
{
    head(b, name, "histogram", help);
    uint64_t cum = 0;
    for (uint32_t i = 0; i <= h->nbounds; i++) {
        cum += h->counts[i];
        if (i < h->nbounds)
            es_live_buf_printf(b, "%s_bucket{engine=\"%u\",le=\"%g\",model_name=\"%s\"} %llu\n", name,
                               st->engine, h->bounds[i], st->model, (unsigned long long)cum);
        else
            es_live_buf_printf(b, "%s_bucket{engine=\"%u\",le=\"+Inf\",model_name=\"%s\"} %llu\n", name,
                               st->engine, st->model, (unsigned long long)cum);
    }
    char n[128];
    snprintf(n, sizeof n, "%s_sum", name);
    sample_d(b, st, n, h->sum);
    snprintf(n, sizeof n, "%s_count", name);
    sample_u(b, st, n, h->count);
}

static void lora_list(es_live_buf_t *b, const char *const *names, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) es_live_buf_printf(b, "%s%s", i ? "," : "", names[i] ? names[i] : "");
}

void es_live_write_metrics(es_live_buf_t *b, const es_live_pod_stats_t *st)
{
    const es_endpoint_metrics_t *m = &st->m;
    head(b, "vllm:num_requests_running", "gauge", "Number of requests in model execution batches.");
    sample_d(b, st, "vllm:num_requests_running", m->running);
    head(b, "vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.");
    sample_d(b, st, "vllm:num_requests_waiting", m->waiting);
    head(b, "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.");
    sample_d(b, st, "vllm:kv_cache_usage_perc", m->kv_cache_usage);
    counter(b, st, "vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.",
            m->prefix_queries);
    counter(b, st, "vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.",
            m->prefix_hits);
    counter(b, st, "vllm:num_preemptions", "Cumulative number of preemption from the engine.", st->preemptions);
    counter(b, st, "vllm:prompt_tokens", "Number of prefill tokens processed.", st->prompt_tokens);
    counter(b, st, "vllm:generation_tokens", "Number of generation tokens processed.", st->generation_tokens);
    counter(b, st, "vllm:request_success", "Count of successfully processed requests.", st->success);
    histogram(b, st, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
              &st->ttft);
    histogram(b, st, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
              &st->itl);
    histogram(b, st, "vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.",
              &st->itl);
    head(b, "vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig");
    es_live_buf_printf(b, "vllm:cache_config_info{block_size=\"%u\",enable_prefix_caching=\"True\",engine=\"%u\","
                          "num_gpu_blocks=\"%u\"} 1.0\n",
                       m->block_size, st->engine, m->num_gpu_blocks);
    if (m->max_lora > 0) {
        head(b, "vllm:lora_requests_info", "gauge", "Running stats on lora requests.");
        es_live_buf_printf(b, "vllm:lora_requests_info{max_lora=\"%d\",running_lora_adapters=\"", m->max_lora);
        lora_list(b, m->running_lora, m->n_running_lora);
        es_live_buf_printf(b, "\",waiting_lora_adapters=\"");
        lora_list(b, m->waiting_lora, m->n_waiting_lora);
        es_live_buf_printf(b, "\"} 1.0\n");
    }
}
