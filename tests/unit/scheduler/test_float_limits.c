/* test_float_limits.c -- plugin parameters in range whose products or
 * conversions to nanoseconds pass int64: each must mean "no limit" or
 * "never", not a float-to-integer cast out of range (undefined behaviour;
 * on x86 the cast gives INT64_MIN, which made every endpoint "full"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "helpers.h"
#include "upstream_helpers.h"
#include "internal.h"

/* maxConcurrency 1e15 with headroom 1e5: a limit of 1e20 requests, beyond
 * int64.  Two requests in flight are far below it: the endpoint stays. */
static void test_concurrency_limit_past_int64(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: concurrency-detector\n"
                                  "  parameters: {maxConcurrency: 1000000000000000, maxTokenConcurrency: 1000000000000000,"
                                  " concurrencyMode: hybrid, headroom: 100000}\n- type: queue-scorer\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "concurrency-detector", &vt);
    pool_t p;
    pool_init(&p, 1, 0);
    int64_t req[1] = {2}, tok[1] = {300};
    esi_cycle_t cy;
    memset(&cy, 0, sizeof cy);
    cy.eps = p.eps;
    cy.n = p.n;
    cy.inflight_req = req;
    cy.inflight_tok = tok;
    uint32_t idx[1] = {0};
    assert_int_equal(vt->x_filter(s, &cy, idx, 1), 1);
    release(vt, s);
    es_epp_config_destroy(c);
}

/* program-aware-fairness takes any positive float for its seconds (as
 * upstream): 1e300 s of TTL or sweep period saturate (never); 1e-300 s
 * sweeps at every hook. */
static void test_fairness_seconds_past_int64(void **st)
{
    (void)st;
    static const char *const params[] = {
        "{evictionTtlSeconds: 1e300, evictionSweepSeconds: 1e300}",
        "{evictionTtlSeconds: 1e300, evictionSweepSeconds: 1e-300}",
        "{evictionTtlSeconds: 1e-300, evictionSweepSeconds: 1e300}",
    };
    for (size_t k = 0; k < sizeof params / sizeof params[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, HEAD "plugins:\n- type: program-aware-fairness\n  parameters: %s\n", params[k]);
        es_epp_config_t *c = cfg_text(text);
        const esi_plugin_vt_t *vt;
        void *s = instance(c, "program-aware-fairness", &vt);
        pool_t p;
        pool_init(&p, 1, 0);
        es_sched_request_t r;
        memset(&r, 0, sizeof r);
        esi_cycle_t cy;
        memset(&cy, 0, sizeof cy);
        cy.req = &r;
        cy.eps = p.eps;
        cy.n = p.n;
        for (int i = 1; i <= 3; i++) {
            cy.now = (es_time_t)i * 1000 * ES_S;
            if (vt->x_pre_request) vt->x_pre_request(s, &cy);
        }
        release(vt, s);
        es_epp_config_destroy(c);
    }
}

/* latency-scorer: headrooms from an SLO header "inf" or "nan" (strtod
 * takes both) made the blended score NaN, then an int: scores stay in
 * (0, 1.01] */
static void test_latency_scorer_nonfinite_headroom(void **st)
{
    (void)st;
    es_epp_config_t *c = cfg_text(HEAD "plugins:\n- type: latency-scorer\n");
    const esi_plugin_vt_t *vt;
    void *s = instance(c, "latency-scorer", &vt);
    static const double heads[][2] = {{INFINITY, 20}, {NAN, 20}, {INFINITY, INFINITY}};
    for (size_t k = 0; k < sizeof heads / sizeof heads[0]; k++) {
        pool_t p;
        pool_init(&p, 2, 0);
        esi_latency_info_t li[2] = {
            {.ttft = 50, .tpot = 10, .ttft_headroom = heads[k][0], .tpot_headroom = heads[k][1], .ttft_valid = true,
             .tpot_valid = true},
            {.ttft = 120, .tpot = 25, .ttft_headroom = 30, .tpot_headroom = 5, .ttft_valid = true, .tpot_valid = true},
        };
        es_sched_request_t r;
        memset(&r, 0, sizeof r);
        es_rng_t rng;
        es_rng_seed(&rng, 1);
        esi_cycle_t cy;
        memset(&cy, 0, sizeof cy);
        cy.req = &r;
        cy.eps = p.eps;
        cy.n = p.n;
        cy.rng = &rng;
        cy.latency = li;
        cy.prefill = -1;
        uint32_t idx[2] = {0, 1};
        double out[2];
        vt->x_score(s, &cy, idx, 2, out);
        for (int i = 0; i < 2; i++)
            if (!(out[i] > 0 && out[i] <= 1.01 + 1e-12)) fail_msg("case %zu: score %d is %g", k, i, out[i]);
    }
    release(vt, s);
    es_epp_config_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrency_limit_past_int64),
        cmocka_unit_test(test_fairness_seconds_past_int64),
        cmocka_unit_test(test_latency_scorer_nonfinite_headroom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
