/* Metrics against hand-computed values; the oracle against a brute-force
 * block-hash set; summary.json schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "es_metrics.h"
#include "es_rng.h"
#include "es_summary.h"

static es_results_config_t cfg(void)
{
    es_results_config_t c;
    memset(&c, 0, sizeof c);
    c.batch_count = 10;
    c.slo_ttft_ms = 100;
    c.slo_tpot_ms = 10;
    return c;
}

static void test_percentiles_hand_computed(void **state)
{
    (void)state;
    double v[] = {1, 2, 3, 4};
    assert_true(fabs(es_percentile_sorted(v, 4, 0.5) - 2.5) < 1e-12);
    assert_true(fabs(es_percentile_sorted(v, 4, 0.9) - 3.7) < 1e-12);
    assert_true(es_percentile_sorted(v, 4, 1.0) == 4);
    assert_true(es_percentile_sorted(v, 1, 0.99) == 1);
    es_req_record_t r = {0};
    r.status = 200; r.output_tokens = 11; r.ttft_ms = 100; r.e2e_ms = 300;
    assert_true(fabs(es_record_tpot_ms(&r) - 20.0) < 1e-9);   /* (300-100)/(11-1) */
    r.output_tokens = 1;
    assert_true(es_record_tpot_ms(&r) < 0);
}

static void test_window_and_stats(void **state)
{
    (void)state;
    es_results_config_t c = cfg();
    c.warmup_s = 1.0;
    c.cooldown_s = 1.0;
    es_metrics_t *m = es_metrics_create(&c, false, 16);
    /* arrivals 0.0 .. 9.9 s; TTFT = 10 * index ms; request 5 fails */
    for (int i = 0; i < 100; i++) {
        es_req_record_t r = {0};
        r.id = (uint64_t)i;
        r.arrival = (es_time_t)i * 100 * ES_MS;
        r.status = i == 50 ? 503 : 200;
        r.output_tokens = 2;
        r.ttft_ms = (float)(10 * i);
        r.e2e_ms = (float)(10 * i + 5);
        r.prompt_tokens = 100;
        assert_int_equal(es_metrics_add_request(m, &r), 0);
    }
    es_time_t from, to;
    es_metrics_window(m, &from, &to);
    assert_true(from == ES_S);
    assert_true(to == (es_time_t)9900 * ES_MS - ES_S);   /* last arrival - cooldown */
    es_lat_stats_t s;
    es_metrics_latency(m, ES_LAT_TTFT, ES_ALL_STAGES, &s);
    /* window: i = 10..89 (80 requests), minus the 503 -> 79 values 100..890 step 10 without 500 */
    assert_int_equal(s.n, 79);
    double sum = 0;
    for (int i = 10; i <= 89; i++) if (i != 50) sum += 10 * i;
    assert_true(fabs(s.mean - sum / 79) < 1e-9);
    /* p50 of 79 sorted values is the 40th (index 39): values 100..490 are 40 values -> 490 */
    assert_true(fabs(s.p[0] - 490) < 1e-9);
    assert_false(isnan(s.ci[0][0]));
    assert_true(s.ci[0][0] < s.p[0] + 300 && s.ci[0][1] > s.ci[0][0]);
    es_metrics_latency(m, ES_LAT_TPOT, ES_ALL_STAGES, &s);   /* TPOT = 5 ms each */
    assert_true(fabs(s.p[3] - 5) < 1e-9);
    /* results are remembered, and forgotten when a record arrives */
    es_lat_stats_t again;
    es_metrics_latency(m, ES_LAT_TTFT, ES_ALL_STAGES, &again);
    assert_int_equal(again.n, 79);
    assert_true(again.p[0] == 490);
    const double mean_before = again.mean;
    es_req_record_t late = {0};
    late.id = 100;
    late.arrival = 5 * ES_S;
    late.status = 200;
    late.output_tokens = 2;
    late.ttft_ms = 1e6f;
    late.e2e_ms = 1e6f + 5;
    assert_int_equal(es_metrics_add_request(m, &late), 0);
    es_metrics_latency(m, ES_LAT_TTFT, ES_ALL_STAGES, &again);
    assert_int_equal(again.n, 80);
    assert_true(again.mean > mean_before + 1e6 / 80 - 1e3);
    es_metrics_latency(m, ES_LAT_E2E, 1, &again);   /* no record has stage 1 */
    assert_int_equal(again.n, 0);
    es_metrics_destroy(m);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Percentiles over many values (ties, zeros, dense runs, magnitudes from
 * 1e-3 to 1e6) equal those of a plain qsort, exactly. */
static void test_percentiles_match_qsort(void **state)
{
    (void)state;
    es_results_config_t c = cfg();
    es_metrics_t *m = es_metrics_create(&c, false, 16);
    size_t n = 5000;
    double *v = malloc(n * sizeof *v);
    assert_non_null(v);
    uint64_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        double f = (double)(x >> 40) / (double)(1u << 24);
        double t = x % 5 == 0 ? (double)(x % 7)                        /* ties and zeros */
                 : x % 5 < 3 ? 1 + f                                   /* dense: one exponent */
                             : ldexp(f, (int)(x % 31) - 10);
        es_req_record_t r = {0};
        r.id = i;
        r.arrival = (es_time_t)i * ES_MS;
        r.status = 200;
        r.output_tokens = 2;
        r.ttft_ms = (float)t;
        r.e2e_ms = (float)t + 1;
        v[i] = (double)r.ttft_ms;
        assert_int_equal(es_metrics_add_request(m, &r), 0);
    }
    qsort(v, n, sizeof *v, cmp_dbl);
    es_lat_stats_t s;
    es_metrics_latency(m, ES_LAT_TTFT, ES_ALL_STAGES, &s);
    const double q[4] = {0.50, 0.90, 0.95, 0.99};
    for (int i = 0; i < 4; i++) assert_true(s.p[i] == es_percentile_sorted(v, n, q[i]));
    free(v);
    es_metrics_destroy(m);
}

static void test_itl_histogram(void **state)
{
    (void)state;
    es_results_config_t c = cfg();
    es_metrics_t *m = es_metrics_create(&c, false, 16);
    es_metrics_add_gaps(m, 10 * ES_MS, 90);
    es_metrics_add_gaps(m, 50 * ES_MS, 10);
    es_lat_stats_t s;
    es_metrics_itl(m, &s);
    assert_int_equal(s.n, 100);
    assert_true(fabs(s.p[0] - 10) / 10 < 0.005);
    assert_true(fabs(s.p[3] - 50) / 50 < 0.005);
    assert_true(fabs(s.mean - 14) / 14 < 0.005);
    es_metrics_destroy(m);
}

/* brute force: a set of chained 16-token block hashes */
typedef struct bset { uint64_t *v; size_t n, cap; } bset_t;
static int bset_has(const bset_t *b, uint64_t h) { for (size_t i = 0; i < b->n; i++) if (b->v[i] == h) return 1; return 0; }
static void bset_add(bset_t *b, uint64_t h)
{
    if (bset_has(b, h)) return;
    if (b->n == b->cap) { b->cap = b->cap ? 2 * b->cap : 256; b->v = realloc(b->v, b->cap * sizeof *b->v); }
    b->v[b->n++] = h;
}

static void test_oracle_matches_block_hash_set(void **state)
{
    (void)state;
    es_results_config_t c = cfg();
    es_metrics_t *m = es_metrics_create(&c, true, 16);
    bset_t set = {0};
    es_rng_t r;
    es_rng_seed(&r, 7);
    for (int q = 0; q < 400; q++) {
        /* prompts from a small alphabet of segments with random lengths, so
         * prefixes are shared, partially shared and straddle blocks */
        es_segment_t segs[6];
        uint32_t n = 1 + (uint32_t)es_rng_below(&r, 5), tokens = 0;
        for (uint32_t i = 0; i < n; i++) {
            segs[i].id = 1 + es_rng_below(&r, 3);
            segs[i].len = 1 + (uint32_t)es_rng_below(&r, 40);
            tokens += segs[i].len;
        }
        es_content_t ct = {segs, n, tokens};
        uint64_t outseg = 1000 + es_rng_below(&r, 4);
        uint32_t outlen = (uint32_t)es_rng_below(&r, 30);
        /* expected: longest chain of known blocks, capped at (tokens-1)/16 */
        es_block_iter_t it;
        es_block_iter_init(&it, &ct, NULL, 0, 0, 16, UINT32_MAX);
        uint64_t h;
        uint32_t hits = 0, capb = (tokens - 1) / 16;
        while (hits < capb && es_block_iter_next(&it, &h) && bset_has(&set, h)) hits++;
        es_segment_t out = {outseg, outlen};
        es_block_iter_init(&it, &ct, outlen ? &out : NULL, outlen ? 1 : 0, outlen, 16, UINT32_MAX);
        while (es_block_iter_next(&it, &h)) bset_add(&set, h);
        uint32_t got = es_metrics_oracle_observe(m, &ct, outseg, outlen);
        if (got != hits * 16) fail_msg("request %d: oracle %u tokens, block set %u", q, got, hits * 16);
    }
    free(set.v);
    es_metrics_destroy(m);
}

static void test_summary_schema(void **state)
{
    (void)state;
    es_results_config_t c = cfg();
    es_metrics_t *m = es_metrics_create(&c, true, 16);
    for (int i = 0; i < 60; i++) {
        es_req_record_t r = {0};
        r.id = (uint64_t)i;
        r.arrival = (es_time_t)i * ES_S;
        r.status = i % 10 == 9 ? 429 : 200;
        r.output_tokens = 10;
        r.prompt_tokens = 100;
        r.cached_tokens = 50;
        r.oracle_tokens = 80;
        r.est_matched = 3;
        r.est_total = 6;
        r.est_tokens = 40;   /* the hashed prefix is not the whole prompt */
        r.ttft_ms = 50;
        r.e2e_ms = 140;
        r.stage = i < 30 ? 0 : 1;
        es_metrics_add_request(m, &r);
    }
    es_summary_pod_t pods[1] = {{"p0", "", 60, 1000, 500, 0, 10, ES_S}};
    es_summary_stage_t stages[2] = {{1.0, 0, 30 * ES_S}, {2.0, 30 * ES_S, ES_TIME_NEVER}};
    es_summary_input_t in = {.experiment = "t", .seed = 18446744073709551615ULL, .rng = "x", .sim_end = 60 * ES_S,
                             .events = 1, .pods = pods, .npods = 1, .stages = stages, .nstages = 2,
                             .slo_ttft_ms = 100, .slo_tpot_ms = 10};
    char path[] = "/tmp/eppsim-summary-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    es_err_t err;
    assert_int_equal(es_summary_write(path, m, &in, &err), 0);
    FILE *f = fopen(path, "rb");
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    remove(path);
    assert_non_null(strstr(buf, "18446744073709551615"));   /* exact u64, not 1.8e19 */
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "schema_version")->valueint, 1);
    cJSON *rq = cJSON_GetObjectItem(j, "requests");
    assert_int_equal(cJSON_GetObjectItem(rq, "total")->valueint, 60);
    assert_int_equal(cJSON_GetObjectItem(rq, "completed")->valueint, 54);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rq, "by_status"), "429")->valueint, 6);
    static const char *const lat[] = {"ttft", "tpot", "itl", "e2e"};
    static const char *const keys[] = {"p50", "p90", "p95", "p99", "mean"};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 5; k++)
            assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "latency_ms"), lat[i]), keys[k]));
    cJSON *ttft = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "latency_ms"), "ttft");
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(ttft, "p99_ci")) == 2);
    cJSON *pc = cJSON_GetObjectItem(j, "prefix_cache");
    /* one denominator for the three rates (prompt tokens): estimated <= oracle */
    assert_true(fabs(cJSON_GetObjectItem(pc, "estimated_hit_rate")->valuedouble - 0.4) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItem(pc, "estimated_hashed_prefix_match")->valuedouble - 0.5) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItem(pc, "actual_hit_rate")->valuedouble - 0.5) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItem(pc, "oracle_hit_rate")->valuedouble - 0.8) < 1e-9);
    cJSON *tp = cJSON_GetObjectItem(j, "throughput");
    /* 54 completed from t=0 to the last end: request 58 (59 is a 429) at 58 s + 140 ms */
    assert_true(fabs(cJSON_GetObjectItem(tp, "requests_per_s")->valuedouble - 54 / 58.14) < 1e-5);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "stages")), 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "pods")), 1);
    cJSON_Delete(j);
    es_metrics_destroy(m);
}

/* Pods that served nothing or far below an even share are flagged in the
 * summary and its text; the text shows the failures by status. */
static void test_summary_flags_pods_and_failures(void **state)
{
    (void)state;
    es_results_config_t c = cfg();
    es_metrics_t *m = es_metrics_create(&c, true, 16);
    for (int i = 0; i < 40; i++) {
        es_req_record_t r = {0};
        r.id = (uint64_t)i;
        r.arrival = (es_time_t)i * ES_S;
        r.status = i % 8 == 7 ? 503 : 200;
        r.output_tokens = 10;
        r.prompt_tokens = 100;
        r.ttft_ms = 50;
        r.e2e_ms = 140;
        es_metrics_add_request(m, &r);
    }
    es_summary_pod_t pods[4] = {{"a", "", 20, 0, 0, 0, 1, 0}, {"b", "", 18, 0, 0, 0, 1, 0},
                                {"c", "", 0, 0, 0, 0, 0, 0}, {"d", "", 2, 0, 0, 0, 1, 0}};
    es_summary_input_t in = {.experiment = "t", .seed = 1, .rng = "x", .sim_end = 60 * ES_S, .events = 1,
                             .pods = pods, .npods = 4, .slo_ttft_ms = 100, .slo_tpot_ms = 10};
    cJSON *j = es_summary_build(m, &in);
    assert_non_null(j);
    cJSON *p = cJSON_GetObjectItem(j, "pods");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 0), "flag")->valuestring, "");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 1), "flag")->valuestring, "");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 2), "flag")->valuestring, "idle");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 3), "flag")->valuestring, "far_below_share");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    es_summary_print(f, j);
    fclose(f);
    assert_non_null(strstr(text, "all requests: 40, 35 completed, 5 failed (503: 5)"));
    assert_non_null(strstr(text, "NOTE: pod c served no request (an even share is 25.0 %)"));
    assert_non_null(strstr(text, "NOTE: pod d served 5.0 % of the requests, far below an even share (25.0 %)"));
    assert_null(strstr(text, "pod a "));
    free(text);
    cJSON_Delete(j);
    es_metrics_destroy(m);
}

/* The 95 % intervals of p50, p90 and p99 are valid for quantiles: over
 * 1,000 fixed-seed samples of 2,000 lognormal values, each contains the true
 * quantile in 92-98 % of the samples, contains its own estimate, and never
 * goes below 0. */
static void test_percentile_ci_coverage(void **state)
{
    (void)state;
    enum { SAMPLES = 1000, N = 2000 };
    static const int qi[3] = {0, 1, 3};                        /* p50, p90, p99 */
    static const double z[3] = {0.0, 1.2815515655446004, 2.3263478740408408};
    int covered[3] = {0};
    es_rng_t rng;
    es_rng_seed(&rng, 20261206);
    es_results_config_t c = cfg();
    for (int s = 0; s < SAMPLES; s++) {
        es_metrics_t *m = es_metrics_create(&c, false, 16);
        for (int i = 0; i < N; i++) {
            double u1 = es_rng_uniform(&rng), u2 = es_rng_uniform(&rng);
            double g = sqrt(-2 * log(1 - u1)) * cos(6.283185307179586 * u2);
            es_req_record_t r = {0};
            r.id = (uint64_t)i;
            r.arrival = (es_time_t)i * ES_MS;
            r.status = 200;
            r.output_tokens = 1;
            r.ttft_ms = (float)exp(g);
            r.e2e_ms = r.ttft_ms;
            es_metrics_add_request(m, &r);
        }
        es_lat_stats_t st;
        es_metrics_latency(m, 0, ES_ALL_STAGES, &st);
        for (int k = 0; k < 3; k++) {
            double lo = st.ci[qi[k]][0], hi = st.ci[qi[k]][1], truth = exp(z[k]);
            assert_false(isnan(lo));
            assert_true(lo >= 0);
            assert_true(lo <= st.p[qi[k]] && st.p[qi[k]] <= hi);
            covered[k] += lo <= truth && truth <= hi;
        }
        es_metrics_destroy(m);
    }
    for (int k = 0; k < 3; k++) {
        print_message("p%s: %d of %d intervals contain the true quantile\n", k == 0 ? "50" : k == 1 ? "90" : "99",
                      covered[k], SAMPLES);
        assert_in_range(covered[k], 920, 980);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles_hand_computed),
        cmocka_unit_test(test_percentiles_match_qsort),
        cmocka_unit_test(test_window_and_stats),
        cmocka_unit_test(test_itl_histogram),
        cmocka_unit_test(test_oracle_matches_block_hash_set),
        cmocka_unit_test(test_summary_schema),
        cmocka_unit_test(test_summary_flags_pods_and_failures),
        cmocka_unit_test(test_percentile_ci_coverage),
    };
    return cmocka_run_group_tests_name("results_metrics", tests, NULL, NULL);
}
