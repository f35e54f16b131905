/* eppsim compare: the regression decision on hand-made summary.json pairs
 * (tolerance, CI overlap, direction, fractions in points), sweep directories,
 * bad input, and well-formed JUnit output. */
#define _GNU_SOURCE   /* open_memstream */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "es_compare.h"
#include "es_outdir.h"

static char g_tmp[256];

static int setup(void **state)
{
    (void)state;
    snprintf(g_tmp, sizeof g_tmp, "/tmp/eppsim-test-compare-XXXXXX");
    return mkdtemp(g_tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    es_rmtree(g_tmp);
    return 0;
}

static const char *write_file(const char *dir, const char *name, const char *text)
{
    static char path[3][600];
    static int k;
    char d[512];
    snprintf(d, sizeof d, "%s/%s", g_tmp, dir);
    es_mkdirs(d);
    char *p = path[k++ % 3];
    snprintf(p, 600, "%s/%s", d, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    snprintf(p, 600, "%s", d);
    return p;
}

/* A run directory whose summary has TTFT p99 = v with interval [lo, hi]
 * (no interval when lo > hi), throughput tp and an actual hit rate hr. */
static char *run_dir(const char *name, double v, double lo, double hi, double tp, double hr)
{
    char text[1024];
    char ci[128] = "";
    if (lo <= hi) snprintf(ci, sizeof ci, "\"p99_ci\": [%g, %g],", lo, hi);
    snprintf(text, sizeof text,
             "{\"schema_version\": 1, \"latency_ms\": {\"ttft\": {%s \"p99\": %g, \"p50\": 10}},"
             " \"throughput\": {\"requests_per_s\": %g}, \"prefix_cache\": {\"actual_hit_rate\": %g},"
             " \"goodput\": {\"requests_per_s\": null}}",
             ci, v, tp, hr);
    return strdup(write_file(name, "summary.json", text));
}

static int decide(const char *base, const char *cur, const char *metric, double tol, es_compare_t *c)
{
    const char *ms[] = {metric};
    es_compare_options_t o = {ms, 1, NULL, NULL, 0, tol};
    es_err_t err;
    int rc = es_compare_dirs(base, cur, &o, c, &err);
    if (rc) fail_msg("%s", err.msg);
    return (int)c->nregressions;
}

static void test_decision(void **state)
{
    (void)state;
    es_compare_t c;
    char *b = run_dir("base", 100, 95, 105, 10, 0.50);
    /* 20 % worse, intervals apart: a regression */
    char *r = run_dir("worse", 120, 112, 128, 10, 0.50);
    assert_int_equal(decide(b, r, "latency_ms.ttft.p99", 5, &c), 1);
    assert_true(c.rows[0].worse);
    assert_false(c.rows[0].overlap);
    assert_float_equal(c.rows[0].change, 20.0, 1e-9);
    es_compare_fini(&c);
    /* the same change within a 25 % tolerance: fine */
    assert_int_equal(decide(b, r, "latency_ms.ttft.p99", 25, &c), 0);
    assert_false(c.rows[0].worse);
    es_compare_fini(&c);
    /* 20 % worse but the intervals overlap: not a regression */
    char *o = run_dir("overlap", 120, 100, 140, 10, 0.50);
    assert_int_equal(decide(b, o, "latency_ms.ttft.p99", 5, &c), 0);
    assert_true(c.rows[0].worse);
    assert_true(c.rows[0].overlap);
    es_compare_fini(&c);
    /* no interval on one side: the tolerance alone decides */
    char *n = run_dir("noci", 120, 1, 0, 10, 0.50);
    assert_int_equal(decide(b, n, "latency_ms.ttft.p99", 5, &c), 1);
    es_compare_fini(&c);
    /* better is never a regression, however far */
    char *g = run_dir("better", 50, 45, 55, 10, 0.50);
    assert_int_equal(decide(b, g, "latency_ms.ttft.p99", 5, &c), 0);
    es_compare_fini(&c);
    /* throughput is better higher: a 20 % drop regresses, a rise does not */
    char *lo = run_dir("slow", 100, 95, 105, 8, 0.50);
    assert_int_equal(decide(b, lo, "throughput.requests_per_s", 5, &c), 1);
    es_compare_fini(&c);
    assert_int_equal(decide(lo, b, "throughput.requests_per_s", 5, &c), 0);
    es_compare_fini(&c);
    /* hit rates change in points: 0.50 -> 0.47 is -3 pt, within 5; -> 0.40 is -10 pt */
    char *h1 = run_dir("hit1", 100, 95, 105, 10, 0.47);
    char *h2 = run_dir("hit2", 100, 95, 105, 10, 0.40);
    assert_int_equal(decide(b, h1, "prefix_cache.actual_hit_rate", 5, &c), 0);
    assert_true(c.rows[0].points);
    assert_float_equal(c.rows[0].change, -3.0, 1e-9);
    es_compare_fini(&c);
    assert_int_equal(decide(b, h2, "prefix_cache.actual_hit_rate", 5, &c), 1);
    es_compare_fini(&c);

    /* per-metric tolerances: exact name, then the longest prefix* */
    const char *tn[] = {"latency_ms.*", "latency_ms.ttft.*"};
    double tp[] = {1, 30};
    const char *ms[] = {"latency_ms.ttft.p99"};
    es_compare_options_t opt = {ms, 1, tn, tp, 2, 5};
    es_err_t err;
    assert_int_equal(es_compare_dirs(b, r, &opt, &c, &err), 0);
    assert_float_equal(c.rows[0].tolerance, 30, 0);
    assert_int_equal(c.nregressions, 0);
    es_compare_fini(&c);

    /* a tolerance for a metric not compared (a typo) is an error naming the known ones */
    const char *bad[] = {"foo"};
    double bp[] = {5};
    es_compare_options_t typo = {ms, 1, bad, bp, 1, 5};
    assert_int_not_equal(es_compare_dirs(b, r, &typo, &c, &err), 0);
    assert_non_null(strstr(err.msg, "--tolerance foo: not a compared metric; compared: latency_ms.ttft.p99"));
    assert_non_null(strstr(err.msg, "known: latency_ms."));
    const char *badp[] = {"latency_ms.tfft.*"};
    es_compare_options_t typo2 = {ms, 1, badp, bp, 1, 5};
    assert_int_not_equal(es_compare_dirs(b, r, &typo2, &c, &err), 0);
    assert_non_null(strstr(err.msg, "matches no compared metric"));

    /* default metric set: null and absent values are "missing", not regressions */
    es_compare_options_t def = {NULL, 0, NULL, NULL, 0, -1};
    assert_int_equal(es_compare_dirs(b, r, &def, &c, &err), 0);
    assert_int_equal(c.nregressions, 1);
    assert_true(c.nmissing >= 1);
    es_compare_fini(&c);

    assert_true(es_compare_higher_better("prefix_cache.estimated_hit_rate"));
    assert_true(es_compare_higher_better("goodput.fraction"));
    assert_false(es_compare_higher_better("latency_ms.e2e.p99"));
    assert_false(es_compare_higher_better("preemptions"));
    free(b); free(r); free(o); free(n); free(g); free(lo); free(h1); free(h2);
}

static void test_bad_input(void **state)
{
    (void)state;
    es_compare_t c;
    es_err_t err;
    char *b = run_dir("bi-base", 100, 95, 105, 10, 0.5);
    char empty[600];
    snprintf(empty, sizeof empty, "%s/empty", g_tmp);
    es_mkdirs(empty);
    assert_int_equal(es_compare_dirs(b, empty, NULL, &c, &err), ES_ENOTFOUND);
    const char *ms[] = {"latency_ms.nope.p99"};
    es_compare_options_t o = {ms, 1, NULL, NULL, 0, 5};
    assert_int_equal(es_compare_dirs(b, b, &o, &c, &err), ES_ENOTFOUND);
    assert_non_null(strstr(err.msg, "latency_ms.nope.p99"));
    const char *bad = write_file("bi-bad", "summary.json", "{not json");
    assert_int_equal(es_compare_dirs(b, bad, NULL, &c, &err), ES_EPARSE);
    free(b);
}

/* Two sweep directories with one key and two points; point x=2 regresses. */
static void test_sweeps(void **state)
{
    (void)state;
    const char *meta = "{\"schema_version\": 1, \"points\": 2, \"seeds\": [1, 2], \"keys\": [\"x\"],"
                       " \"metrics\": [\"latency_ms.ttft.p99\"]}\n";
    const char *hdr = "point,seed,n,x,latency_ms.ttft.p99,latency_ms.ttft.p99_ci_low,latency_ms.ttft.p99_ci_high\n";
    char csv[1024];
    write_file("sw-base", "sweep.json", meta);
    snprintf(csv, sizeof csv, "%s0,1,1,1,10,,\n0,2,1,1,12,,\n0,all,2,1,11,9,13\n1,all,2,2,20,19,21\n", hdr);
    char *b = strdup(write_file("sw-base", "sweep.csv", csv));
    write_file("sw-cur", "sweep.json", meta);
    snprintf(csv, sizeof csv, "%s0,all,2,1,11.5,9,14\n1,all,2,2,30,28,32\n", hdr);
    char *cur = strdup(write_file("sw-cur", "sweep.csv", csv));
    es_compare_t c;
    es_err_t err;
    if (es_compare_dirs(b, cur, NULL, &c, &err)) fail_msg("%s", err.msg);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.rows[0].label, "x=1");
    assert_false(c.rows[0].regression);
    assert_string_equal(c.rows[1].label, "x=2");
    assert_true(c.rows[1].regression);
    assert_float_equal(c.rows[1].cur_lo, 28, 0);
    assert_int_equal(c.nregressions, 1);

    /* JUnit: one testcase per row, one failure, everything escaped and closed */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    es_compare_write(f, &c, ES_COMPARE_JUNIT);
    fclose(f);
    assert_true(strncmp(buf, "<?xml version=\"1.0\"", 19) == 0);
    size_t cases = 0, failures = 0, opens = 0, closes = 0;
    for (const char *p = buf; (p = strstr(p, "<testcase ")); p++) cases++;
    for (const char *p = buf; (p = strstr(p, "<failure ")); p++) failures++;
    assert_int_equal(cases, 2);
    assert_int_equal(failures, 1);
    assert_non_null(strstr(buf, "<testsuite name=\"eppsim compare\" tests=\"2\" failures=\"1\""));
    /* every tag closes: count '<' and '>' outside attribute values */
    bool in_attr = false;
    for (const char *p = buf; *p; p++) {
        if (*p == '"') in_attr = !in_attr;
        else if (!in_attr && *p == '<') opens++;
        else if (!in_attr && *p == '>') closes++;
        else if (in_attr) assert_true(*p != '<' && *p != '>');
        if (*p == '&') assert_true(!strncmp(p, "&amp;", 5) || !strncmp(p, "&lt;", 4) || !strncmp(p, "&gt;", 4) ||
                                   !strncmp(p, "&quot;", 6) || !strncmp(p, "&apos;", 6));
    }
    assert_false(in_attr);
    assert_int_equal(opens, closes);
    assert_non_null(strstr(buf, "</testsuites>\n"));
    /* the passing case carries its values, in plain notation */
    assert_non_null(strstr(buf, "<system-out>"));
    assert_non_null(strstr(buf, "base 11.0 [9.00, 13.0]"));
    free(buf);

    /* markdown and text name the regression */
    buf = NULL;
    f = open_memstream(&buf, &len);
    es_compare_write(f, &c, ES_COMPARE_MARKDOWN);
    es_compare_write(f, &c, ES_COMPARE_TEXT);
    fclose(f);
    assert_non_null(strstr(buf, "**REGRESSION**"));
    assert_non_null(strstr(buf, "1 regression\n"));
    free(buf);
    es_compare_fini(&c);

    /* a run directory against a sweep directory is bad input */
    char *r = run_dir("sw-run", 1, 1, 0, 1, 0.1);
    assert_int_equal(es_compare_dirs(b, r, NULL, &c, &err), ES_EINVAL);
    free(r);
    free(b);
    free(cur);
}

/* Labels with XML specials stay well-formed. */
static void test_junit_escaping(void **state)
{
    (void)state;
    const char *meta = "{\"schema_version\": 1, \"points\": 1, \"seeds\": [1], \"keys\": [\"a<b\"],"
                       " \"metrics\": [\"latency_ms.ttft.p99\"]}\n";
    const char *csv = "point,seed,n,a<b,latency_ms.ttft.p99,latency_ms.ttft.p99_ci_low,latency_ms.ttft.p99_ci_high\n"
                      "0,all,1,\"x&\"\"y\",10,,\n";
    write_file("esc-a", "sweep.json", meta);
    char *a = strdup(write_file("esc-a", "sweep.csv", csv));
    es_compare_t c;
    es_err_t err;
    if (es_compare_dirs(a, a, NULL, &c, &err)) fail_msg("%s", err.msg);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    es_compare_write(f, &c, ES_COMPARE_JUNIT);
    fclose(f);
    assert_non_null(strstr(buf, "classname=\"a&lt;b=x&amp;&quot;y\""));
    free(buf);
    es_compare_fini(&c);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_sweeps),
        cmocka_unit_test(test_junit_escaping),
    };
    return cmocka_run_group_tests_name("app_compare", tests, setup, teardown);
}
