/* inference-perf lifecycle metrics against a hand-built request timeline:
 * latency, TTFT, TPOT and ITL with 1 and 2 client timestamps per token,
 * normalized TPOT, failures kept out, throughput over first start to last
 * end, per-stage counts and rates, and the JSON layout read back. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "es_lifecycle.h"

static es_req_record_t rec(double start_s, uint32_t stage, int status, double ttft_ms, double e2e_ms, uint32_t in,
                           uint32_t out)
{
    es_req_record_t r;
    memset(&r, 0, sizeof r);
    r.arrival = (es_time_t)llround(start_s * 1e9);
    r.stage = stage;
    r.status = status;
    r.ttft_ms = (float)ttft_ms;
    r.e2e_ms = (float)e2e_ms;
    r.prompt_tokens = in;
    r.output_tokens = out;
    return r;
}

/* A: 0 s, 100 ms TTFT, 1,000 ms, 10 tokens; B: 1 s, 200 ms, 2,000 ms, 19 tokens;
 * C (stage 1): 2 s, 150 ms, 650 ms, 11 tokens; D (stage 1): 2.5 s, timed out. */
static void timeline(es_req_record_t *r)
{
    r[0] = rec(0.0, 0, 200, 100, 1000, 50, 10);
    r[1] = rec(1.0, 0, 200, 200, 2000, 70, 19);
    r[2] = rec(2.0, 1, 200, 150, 650, 30, 11);
    r[3] = rec(2.5, 1, 408, -1, -1, 40, 0);
}

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-6 * (fabs(b) + 1e-3))

static void test_whole_run(void **state)
{
    (void)state;
    es_req_record_t r[4];
    timeline(r);
    es_lc_stats_t s;
    assert_int_equal(es_lc_compute(r, 4, ES_ALL_STAGES, 1, 0, NAN, NULL, &s), 0);
    assert_int_equal(s.count, 4);
    assert_int_equal(s.successes, 3);
    assert_int_equal(s.failures, 1);
    NEAR(s.lat[ES_LC_LATENCY].v[ES_LC_MEAN], (1.0 + 2.0 + 0.65) / 3);
    NEAR(s.lat[ES_LC_LATENCY].v[ES_LC_MEDIAN], 1.0);
    NEAR(s.lat[ES_LC_LATENCY].v[ES_LC_MAX], 2.0);
    NEAR(s.lat[ES_LC_LATENCY].v[ES_LC_P90], 1.0 + 0.8 * 1.0);   /* numpy linear: between 1.0 and 2.0 */
    NEAR(s.lat[ES_LC_TTFT].v[ES_LC_MEAN], 0.15);
    /* TPOT = (last - first) / (timestamps - 1): 0.9/9, 1.8/18, 0.5/10 */
    NEAR(s.lat[ES_LC_TPOT].v[ES_LC_MEAN], (0.1 + 0.1 + 0.05) / 3);
    /* ITL: pooled gaps: (0.9 + 1.8 + 0.5) / (9 + 18 + 10) */
    NEAR(s.lat[ES_LC_ITL].v[ES_LC_MEAN], 3.2 / 37);
    assert_true(isnan(s.lat[ES_LC_ITL].v[ES_LC_MEDIAN]));   /* no real gaps given */
    /* normalized TPOT = latency / output tokens */
    NEAR(s.lat[ES_LC_NTPOT].v[ES_LC_MEAN], (1.0 / 10 + 2.0 / 19 + 0.65 / 11) / 3);
    NEAR(s.output_len.v[ES_LC_MEAN], 40.0 / 3);
    NEAR(s.prompt_len.v[ES_LC_MEAN], 50.0);
    /* throughput over 0 s .. 3 s (B ends at 1 + 2 = 3 s) */
    NEAR(s.rps, 1.0);
    NEAR(s.output_tps, 40.0 / 3);
    NEAR(s.input_tps, 150.0 / 3);
    NEAR(s.total_tps, 190.0 / 3);
    assert_true(isnan(s.send_duration_s));   /* a stage figure */
}

static void test_two_stamps_per_token(void **state)
{
    (void)state;
    es_req_record_t r[4];
    timeline(r);
    es_lc_stats_t s;
    /* every SSE line stamped: 2n timestamps, TPOT and ITL about half the real gap */
    assert_int_equal(es_lc_compute(r, 4, ES_ALL_STAGES, 2, 0, NAN, NULL, &s), 0);
    NEAR(s.lat[ES_LC_TPOT].v[ES_LC_MEAN], (0.9 / 19 + 1.8 / 37 + 0.5 / 21) / 3);
    NEAR(s.lat[ES_LC_ITL].v[ES_LC_MEAN], 3.2 / (19 + 37 + 21));
    NEAR(s.lat[ES_LC_LATENCY].v[ES_LC_MEAN], (1.0 + 2.0 + 0.65) / 3);   /* latency unchanged */
}

static void test_stages(void **state)
{
    (void)state;
    es_req_record_t r[4];
    timeline(r);
    es_lc_stats_t s0, s1;
    es_lat_stats_t itl = {{0.05, 0.09, 0.1, 0.2}, 0.08, {{0}}, {0}, 37};
    assert_int_equal(es_lc_compute(r, 4, 0, 1, 0, 2.0, &itl, &s0), 0);
    assert_int_equal(s0.count, 2);
    assert_int_equal(s0.successes, 2);
    NEAR(s0.send_duration_s, 1.0);
    NEAR(s0.achieved_rate, 2.0);
    NEAR(s0.requested_rate, 2.0);
    NEAR(s0.rps, 2.0 / 3.0);
    NEAR(s0.lat[ES_LC_ITL].v[ES_LC_MEDIAN], 0.00005);   /* the real gaps, ms -> s */
    NEAR(s0.lat[ES_LC_ITL].v[ES_LC_P99], 0.0002);
    assert_int_equal(es_lc_compute(r, 4, 1, 1, 0, 4.0, NULL, &s1), 0);
    assert_int_equal(s1.count, 2);
    assert_int_equal(s1.successes, 1);
    assert_int_equal(s1.failures, 1);
    NEAR(s1.lat[ES_LC_TTFT].v[ES_LC_MEAN], 0.15);
    NEAR(s1.rps, 1 / 0.65);
    /* no successes: statistics absent, counts present */
    es_req_record_t bad = rec(0, 0, 500, -1, -1, 10, 0);
    assert_int_equal(es_lc_compute(&bad, 1, ES_ALL_STAGES, 1, 0, NAN, NULL, &s1), 0);
    assert_int_equal(s1.failures, 1);
    assert_true(isnan(s1.lat[ES_LC_LATENCY].v[ES_LC_MEAN]));
    assert_true(isnan(s1.rps));
}

static void test_json_round_trip(void **state)
{
    (void)state;
    es_req_record_t r[4];
    timeline(r);
    es_lc_stats_t s, back;
    assert_int_equal(es_lc_compute(r, 4, 1, 1, 0, 4.0, NULL, &s), 0);
    char *json = es_lc_to_json(&s, true);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"time_to_first_token\""));
    assert_non_null(strstr(json, "\"p99.9\""));
    assert_non_null(strstr(json, "\"send_duration\""));
    char path[] = "/tmp/eppsim-lifecycle-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    free(json);
    es_err_t err;
    assert_int_equal(es_lc_read(path, &back, &err), 0);
    assert_int_equal(back.count, s.count);
    assert_int_equal(back.successes, s.successes);
    assert_int_equal(back.failures, s.failures);
    for (int i = 0; i < ES_LC_NLAT; i++)
        for (int q = 0; q < ES_LC_NQ; q++) {
            double a = s.lat[i].v[q], b = back.lat[i].v[q];
            assert_true((isnan(a) && isnan(b)) || fabs(a - b) < 1e-9);
        }
    NEAR(back.rps, s.rps);
    NEAR(back.send_duration_s, s.send_duration_s);
    /* a file that is not lifecycle metrics */
    FILE *f = fopen(path, "w");
    fputs("{\"load_summary\": {}}", f);
    fclose(f);
    assert_int_not_equal(es_lc_read(path, &back, &err), 0);
    assert_non_null(strstr(err.msg, "successes"));
    /* counts past 9e15 (a double that no uint64 holds): refused, not cast */
    static const char *const huge[][2] = {
        {"{\"load_summary\": {\"count\": 1e30}, \"successes\": {\"count\": 1}}", "load_summary.count: 1e+30 requests"},
        {"{\"successes\": {\"count\": 3e19}}", "successes.count: 3e+19 requests is out of range [0, 9e+15]"},
        {"{\"successes\": {\"count\": 1}, \"failures\": {\"count\": 1e300}}", "failures.count: 1e+300"},
    };
    for (size_t k = 0; k < sizeof huge / sizeof huge[0]; k++) {
        f = fopen(path, "w");
        fputs(huge[k][0], f);
        fclose(f);
        assert_int_equal(es_lc_read(path, &back, &err), ES_ERANGE);
        if (!strstr(err.msg, huge[k][1])) fail_msg("%s", err.msg);
    }
    unlink(path);
    assert_int_not_equal(es_lc_read(path, &back, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_run),
        cmocka_unit_test(test_two_stamps_per_token),
        cmocka_unit_test(test_stages),
        cmocka_unit_test(test_json_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
