/* serve --stats: the step-lateness histogram and its quantiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "es_live.h"

static void test_quantiles(void **state)
{
    (void)state;
    es_live_lat_hist_t *h = calloc(1, sizeof *h);
    assert_non_null(h);
    assert_true(es_live_lat_quantile_us(h, 0.99) == 0);   /* empty */
    for (uint64_t i = 0; i < 1000; i++) es_live_lat_add(h, i * 1000 + 500);   /* 0.5 us .. 999.5 us */
    assert_int_equal(h->n, 1000);
    assert_true(es_live_lat_quantile_us(h, 0.5) == 500);    /* the 500th sample, 499.5 us, in bin [499, 500) */
    assert_true(es_live_lat_quantile_us(h, 0.99) == 990);
    assert_true(es_live_lat_quantile_us(h, 1.0) == 1000);
    es_live_lat_add(h, 25 * 1000000ull + 1);   /* 25 ms: a coarse bin, upper edge 25.1 ms */
    assert_true(es_live_lat_quantile_us(h, 1.0) == 25100);
    es_live_lat_add(h, 3000000000ull);          /* 3 s: overflow reports the maximum */
    assert_true(es_live_lat_quantile_us(h, 1.0) == 3000000);
    assert_int_equal(h->over, 1);
    assert_int_equal(h->max_ns, 3000000000ull);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_quantiles)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
