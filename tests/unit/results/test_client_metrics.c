/* test_client_metrics.c -- each client-side metric definition against a
 * hand-built request timeline (docs/results.md, "Client-side metrics"). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "es_client_metrics.h"

static es_metrics_t *timeline(void)
{
    es_results_config_t c;
    memset(&c, 0, sizeof c);
    c.batch_count = 10;
    es_metrics_t *m = es_metrics_create(&c, false, 16);
    assert_non_null(m);
    /* A: sent at 0, first token 100 ms, done 1000 ms, 10 tokens: 9 real gaps of 100 ms
     * B: sent at 0.5 s, first token 200 ms later, done 700 ms later, 6 tokens: 5 gaps
     * C: sent at 0.6 s, timed out (408) */
    es_req_record_t a = {0}, b = {0}, cr = {0};
    a.id = 0; a.arrival = 0; a.status = 200; a.output_tokens = 10; a.prompt_tokens = 50;
    a.ttft_ms = 100; a.e2e_ms = 1000;
    b.id = 1; b.arrival = 500 * ES_MS; b.status = 200; b.output_tokens = 6; b.prompt_tokens = 30;
    b.ttft_ms = 200; b.e2e_ms = 700;
    cr.id = 2; cr.arrival = 600 * ES_MS; cr.status = 408; cr.ttft_ms = -1; cr.e2e_ms = -1;
    assert_int_equal(es_metrics_add_request(m, &a), 0);
    assert_int_equal(es_metrics_add_request(m, &b), 0);
    assert_int_equal(es_metrics_add_request(m, &cr), 0);
    assert_int_equal(es_metrics_add_stage_gaps(m, 0, 100 * ES_MS, 9), 0);
    assert_int_equal(es_metrics_add_stage_gaps(m, 0, 100 * ES_MS, 5), 0);
    /* C streamed 3 tokens 300 ms apart before its timeout: not in the client's ITL mean */
    assert_int_equal(es_metrics_add_stage_gaps(m, 0, 300 * ES_MS, 2), 0);
    return m;
}

static void near(double got, double want, double tol) { assert_true(fabs(got - want) <= tol); }

/* inference-perf 2025-10: two stamps per token, two after the last */
static void test_two_stamps_per_token(void **state)
{
    (void)state;
    es_metrics_t *m = timeline();
    es_client_emul_t e = {"test", true, 2, 2, 0, 2000, 1, false};
    es_client_stats_t s;
    assert_int_equal(es_client_stats(m, &e, ES_ALL_STAGES, &s), 0);
    assert_int_equal(s.sent, 3);
    assert_int_equal(s.successes, 2);
    assert_int_equal(s.failures, 1);
    near(s.failure_latency_mean_ms, 2000, 1e-9);            /* the 408 ends at the timeout */
    near(s.ttft.mean, 150, 1e-9);                           /* to the first chunk */
    near(s.ttft.p[0], 150, 1e-9);                           /* numpy interpolation */
    /* TPOT = (last - first) / (T - 1), T = 2N + 2: A 900/21, B 500/13 */
    near(s.tpot.mean, (900.0 / 21 + 500.0 / 13) / 2, 1e-9);
    /* normalized TPOT = latency / N: A 100, B 700/6 */
    near(s.ntpot.mean, (100 + 700.0 / 6) / 2, 1e-9);
    near(s.latency.mean, 850, 1e-9);
    /* ITL: 14 real gaps of 100 ms and (22-10) + (14-6) = 20 gaps of 0: mean 1400/34 */
    assert_int_equal(s.itl.n, 34);
    near(s.itl.mean, 1400.0 / 34, 1e-9);
    assert_true(s.itl.p[0] == 0);                           /* the median is a ~0 gap */
    near(s.itl.p[1], 100, 0.6);                             /* p90 a real one (histogram: < 0.6 %) */
    /* the real per-token time: (850 - 150) / (8 - 1) */
    near(s.per_token_ms, 100, 1e-9);
    /* throughput over first send (0) to last end (0.6 + 2 s) */
    near(s.requests_per_s, 2 / 2.6, 1e-9);
    near(s.output_tokens_per_s, 16 / 2.6, 1e-9);
    near(s.input_tokens_per_s, 80 / 2.6, 1e-9);
    es_metrics_destroy(m);
}

/* aiohttp's whole-second timer: the 408 sent at 0.6 s with a 2 s timeout
 * ends at 3 s (2.4 s after it was sent), and the run's span grows with it. */
static void test_timeout_whole_seconds(void **state)
{
    (void)state;
    es_metrics_t *m = timeline();
    es_client_emul_t e = {"test", true, 2, 2, 0, 2000, 1, true};
    es_client_stats_t s;
    assert_int_equal(es_client_stats(m, &e, ES_ALL_STAGES, &s), 0);
    assert_int_equal(s.failures, 1);
    near(s.failure_latency_mean_ms, 2400, 1e-9);
    near(s.requests_per_s, 2 / 3.0, 1e-9);
    es_metrics_destroy(m);
}

/* one stamp per token (current inference-perf, vllm bench): TPOT and ITL are the real gaps */
static void test_one_stamp_per_token(void **state)
{
    (void)state;
    es_metrics_t *m = timeline();
    es_client_emul_t e = {"test", true, 1, 0, 0, 2000, 1, false};
    es_client_stats_t s;
    assert_int_equal(es_client_stats(m, &e, 0, &s), 0);
    near(s.tpot.mean, 100, 1e-9);                           /* 900/9 and 500/5 */
    assert_int_equal(s.itl.n, 14);
    near(s.itl.mean, 100, 1e-9);
    near(s.itl.p[0], 100, 0.6);
    near(s.per_token_ms, 100, 1e-9);
    /* a stage with no request has no statistics */
    assert_int_equal(es_client_stats(m, &e, 7, &s), 0);
    assert_int_equal(s.sent, 0);
    assert_true(isnan(s.ttft.mean) && isnan(s.requests_per_s));
    /* without streaming the client sees one response: no TTFT, TPOT or ITL */
    e.streaming = false;
    assert_int_equal(es_client_stats(m, &e, ES_ALL_STAGES, &s), 0);
    assert_int_equal(s.ttft.n, 0);
    assert_true(isnan(s.tpot.mean));
    near(s.latency.mean, 850, 1e-9);
    es_metrics_destroy(m);
}

/* the client re-counts its output from text: N' = round(N x scale) */
static void test_output_count_scale(void **state)
{
    (void)state;
    es_metrics_t *m = timeline();
    es_client_emul_t e = {"test", true, 2, 2, 0, 2000, 0.5, false};
    es_client_stats_t s;
    assert_int_equal(es_client_stats(m, &e, ES_ALL_STAGES, &s), 0);
    near(s.output_mean, 4, 1e-9);                            /* (5 + 3) / 2 */
    near(s.per_token_ms, (850.0 - 150) / 3, 1e-9);           /* the validation data's formula */
    near(s.ntpot.mean, (1000.0 / 5 + 700.0 / 3) / 2, 1e-9);
    near(s.output_tokens_per_s, 8 / 2.6, 1e-9);
    near(s.tpot.mean, (900.0 / 21 + 500.0 / 13) / 2, 1e-9);  /* stamps follow the real tokens */
    es_metrics_destroy(m);
}

/* a stage whose failed requests streamed many gaps: the client's pool holds
 * the successes' gaps only, so its share of ~0 gaps stays what they make */
static void test_failed_gaps_weighted(void **state)
{
    (void)state;
    es_metrics_t *m = timeline();
    assert_int_equal(es_metrics_add_stage_gaps(m, 0, 300 * ES_MS, 100), 0);
    es_client_emul_t e = {"test", true, 2, 2, 0, 2000, 1, false};
    es_client_stats_t s;
    assert_int_equal(es_client_stats(m, &e, ES_ALL_STAGES, &s), 0);
    assert_int_equal(s.itl.n, 34);                  /* 14 real + 20 event gaps */
    assert_true(s.itl.p[0] == 0);                   /* unweighted, 300 ms gaps would be the median */
    near(s.itl.mean, 1400.0 / 34, 1e-9);
    es_metrics_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_stamps_per_token),
        cmocka_unit_test(test_timeout_whole_seconds),
        cmocka_unit_test(test_one_stamp_per_token),
        cmocka_unit_test(test_output_count_scale),
        cmocka_unit_test(test_failed_gaps_weighted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
