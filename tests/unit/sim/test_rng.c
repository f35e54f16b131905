/* Random streams: reproducibility, independence, GSL adapter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>
#include <gsl/gsl_randist.h>

#include "es_gsl.h"
#include "es_sim.h"

static void test_same_seed_same_stream(void **state)
{
    (void)state;
    es_rng_t a, b;
    es_rng_stream(&a, 42, 1, 3, ES_STREAM_ARRIVALS);
    es_rng_stream(&b, 42, 1, 3, ES_STREAM_ARRIVALS);
    for (int i = 0; i < 1000; i++) assert_int_equal(es_rng_u64(&a), es_rng_u64(&b));
}

static void test_streams_differ(void **state)
{
    (void)state;
    es_rng_t base, other;
    uint64_t variants[][4] = {{43, 1, 3, 1}, {42, 2, 3, 1}, {42, 1, 4, 1}, {42, 1, 3, 2}};
    for (size_t v = 0; v < 4; v++) {
        es_rng_stream(&base, 42, 1, 3, 1);
        es_rng_stream(&other, variants[v][0], variants[v][1], variants[v][2], variants[v][3]);
        int same = 0;
        for (int i = 0; i < 1000; i++) same += es_rng_u64(&base) == es_rng_u64(&other);
        assert_int_equal(same, 0);
    }
}

static void test_independence_correlation(void **state)
{
    (void)state;
    /* neighbouring entity streams are uncorrelated (|r| small over 1e5 draws) */
    es_rng_t a, b;
    es_rng_stream(&a, 7, 1, 0, 1);
    es_rng_stream(&b, 7, 1, 1, 1);
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    int n = 100000;
    for (int i = 0; i < n; i++) {
        double x = es_rng_uniform(&a), y = es_rng_uniform(&b);
        sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y;
    }
    double cov = sxy / n - sx / n * sy / n;
    double r = cov / sqrt((sxx / n - sx / n * sx / n) * (syy / n - sy / n * sy / n));
    assert_true(fabs(r) < 0.02);
    assert_true(fabs(sx / n - 0.5) < 0.01);
}

static void test_below_and_exp(void **state)
{
    (void)state;
    es_rng_t r;
    es_rng_seed(&r, 9);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) counts[es_rng_below(&r, 7)]++;
    for (int i = 0; i < 7; i++) assert_true(counts[i] > 9500 && counts[i] < 10500);
    double sum = 0;
    for (int i = 0; i < 100000; i++) sum += es_rng_exp(&r, 3.0);
    assert_true(fabs(sum / 100000 - 3.0) < 0.05);
}

static void test_gsl_adapter_deterministic(void **state)
{
    (void)state;
    es_rng_t init;
    es_rng_stream(&init, 5, 0, 0, ES_STREAM_LENGTHS);
    gsl_rng *g1 = es_gsl_rng_new(&init), *g2 = es_gsl_rng_new(&init);
    double m = 0;
    for (int i = 0; i < 20000; i++) {
        double x = gsl_ran_gamma(g1, 2.0, 3.0);
        assert_true(x == gsl_ran_gamma(g2, 2.0, 3.0));
        m += x;
    }
    assert_true(fabs(m / 20000 - 6.0) < 0.15);
    gsl_rng_free(g1);
    gsl_rng_free(g2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_stream),
        cmocka_unit_test(test_streams_differ),
        cmocka_unit_test(test_independence_correlation),
        cmocka_unit_test(test_below_and_exp),
        cmocka_unit_test(test_gsl_adapter_deterministic),
    };
    return cmocka_run_group_tests_name("sim_rng", tests, NULL, NULL);
}
