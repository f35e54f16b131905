/* test_trace.c -- trace readers, format detection, errors, stats, convert. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "es_trace.h"
#include "es_trace_stats.h"

#define DIR "tests/data/traces/"

static es_trace_t *open_ok(const char *path, es_trace_format_t fmt)
{
    es_trace_t *t = NULL;
    es_err_t err;
    es_err_clear(&err);
    int rc = es_trace_open(path, fmt, 512, false, &t, &err);
    if (rc < 0) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    return t;
}

static void test_detect(void **state)
{
    (void)state;
    static const struct { const char *file; es_trace_format_t fmt; } k[] = {
        {DIR "mooncake_sample.jsonl", ES_TRACE_MOONCAKE}, {DIR "azure_conv_sample.csv", ES_TRACE_AZURE},
        {DIR "azure2024_sample.csv", ES_TRACE_AZURE},     {DIR "burstgpt_sample.csv", ES_TRACE_BURSTGPT},
        {DIR "sharegpt_sample.csv", ES_TRACE_SHAREGPT},   {DIR "eppsim_sample.jsonl", ES_TRACE_EPPSIM},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        es_trace_t *t = open_ok(k[i].file, ES_TRACE_AUTO);
        assert_int_equal(es_trace_format(t), k[i].fmt);
        es_trace_close(t);
    }
    assert_int_equal(es_trace_format_parse("burstgpt"), ES_TRACE_BURSTGPT);
    assert_int_equal(es_trace_format_parse("nope"), -1);
}

static void test_mooncake(void **state)
{
    (void)state;
    es_trace_t *t = open_ok(DIR "mooncake_sample.jsonl", ES_TRACE_AUTO);
    es_trace_rec_t r;
    es_err_t err;
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(r.line, 1);
    assert_true(r.has_time);
    assert_int_equal(r.t, 0);
    assert_int_equal(r.input_tokens, 6758);
    assert_int_equal(r.output_tokens, 500);
    assert_int_equal(r.nhash, 14);
    assert_int_equal(r.hash_ids[13], 13);
    es_segment_t segs[14];
    es_trace_mooncake_content(&r, 512, segs);
    assert_int_equal(segs[0].len, 512);
    assert_int_equal(segs[13].len, 6758 - 13 * 512);
    assert_true(segs[0].id == es_trace_mooncake_segment(0));
    uint64_t n = 1;
    es_time_t last = 0;
    while (es_trace_next(t, &r, &err) == 1) {
        assert_true(r.t >= last);
        last = r.t;
        n++;
    }
    assert_int_equal(n, 200);
    es_trace_close(t);
}

static void test_azure(void **state)
{
    (void)state;
    es_trace_t *t = open_ok(DIR "azure_conv_sample.csv", ES_TRACE_AUTO);
    es_trace_rec_t r;
    es_err_t err;
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(r.line, 2);
    assert_int_equal(r.t, 0);
    assert_int_equal(r.input_tokens, 374);
    assert_int_equal(r.output_tokens, 44);
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    /* 18:15:50.9951690 - 18:15:46.6805900 */
    assert_int_equal(r.t, 4314579000LL);
    assert_int_equal(r.input_tokens, 396);
    es_trace_close(t);

    t = open_ok(DIR "azure2024_sample.csv", ES_TRACE_AZURE);
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(r.t, 449570000LL);
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(r.t, 86399990069000LL);   /* 23:59:59.999999 - 00:00:00.009930 */
    assert_int_equal(r.output_tokens, 1);
    assert_int_equal(es_trace_next(t, &r, &err), 0);
    es_trace_close(t);
}

static void test_burstgpt_sharegpt(void **state)
{
    (void)state;
    es_trace_t *t = open_ok(DIR "burstgpt_sample.csv", ES_TRACE_AUTO);
    es_trace_rec_t r;
    es_err_t err;
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(r.t, 0);
    assert_string_equal(r.model, "ChatGPT");
    assert_int_equal(r.input_tokens, 472);
    assert_int_equal(r.output_tokens, 18);
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(r.output_tokens, 0);   /* failed request: kept as is */
    for (int i = 0; i < 4; i++) assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(r.t, 181500000000LL);    /* 186.5 s - 5 s */
    assert_string_equal(r.model, "GPT-4");
    assert_int_equal(es_trace_next(t, &r, &err), 0);
    es_trace_close(t);

    t = open_ok(DIR "sharegpt_sample.csv", ES_TRACE_AUTO);
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_false(r.has_time);
    assert_int_equal(r.input_tokens, 74);
    assert_int_equal(r.output_tokens, 918);
    es_trace_close(t);
}

static void test_eppsim(void **state)
{
    (void)state;
    es_trace_t *t = open_ok(DIR "eppsim_sample.jsonl", ES_TRACE_AUTO);
    es_trace_rec_t r;
    es_err_t err;
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_string_equal(r.path, "/v1/chat/completions");
    assert_string_equal(r.model, "llama");
    assert_int_equal(r.nsegs, 2);
    assert_int_equal(r.segs[0].id, 7);
    assert_int_equal(r.input_tokens, 1050);
    assert_string_equal(r.session, "a");
    assert_int_equal(r.nheaders, 1);
    assert_string_equal(r.headers[0].name, "x-session-token");
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(r.t, 12500000);
    assert_true(r.has_priority);
    assert_int_equal(r.priority, -1);
    assert_string_equal(r.objective, "batch");
    assert_string_equal(r.lora, "sql-lora");
    assert_int_equal(es_trace_next(t, &r, &err), 1);   /* a blank line is skipped */
    assert_int_equal(r.line, 4);
    assert_int_equal(r.t, 20000001);
    assert_int_equal(r.nsegs, 0);
    assert_int_equal(r.input_tokens, 300);
    assert_true(r.has_output_segment);
    assert_int_equal(r.output_segment, 99);
    assert_int_equal(es_trace_next(t, &r, &err), 0);
    es_trace_close(t);
}

static void test_bad_lines(void **state)
{
    (void)state;
    es_trace_t *t = open_ok(DIR "mooncake_bad.jsonl", ES_TRACE_AUTO);
    es_trace_rec_t r;
    es_err_t err;
    es_err_clear(&err);
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(es_trace_next(t, &r, &err), ES_EPARSE);
    assert_non_null(strstr(err.msg, "mooncake_bad.jsonl:3: expected"));
    es_trace_close(t);

    /* skipping: line 3 (syntax) and line 4 (9000 tokens in 2 blocks) are skipped */
    assert_int_equal(es_trace_open(DIR "mooncake_bad.jsonl", ES_TRACE_AUTO, 512, true, &t, &err), 0);
    int n = 0;
    while (es_trace_next(t, &r, &err) == 1) n++;
    assert_int_equal(n, 3);
    assert_int_equal(es_trace_skipped(t), 2);
    es_trace_close(t);

    /* a wrong block size is caught with a hint */
    assert_int_equal(es_trace_open(DIR "mooncake_sample.jsonl", ES_TRACE_MOONCAKE, 256, false, &t, &err), 0);
    assert_int_equal(es_trace_next(t, &r, &err), ES_EPARSE);
    assert_non_null(strstr(err.msg, ":1: expected ceil(input_length / block_tokens) hash_ids"));
    es_trace_close(t);

    /* wrong column count in a CSV */
    char bad[64];
    snprintf(bad, sizeof bad, "/tmp/eppsim-wl-bad-%ld.csv", (long)getpid());
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    {
        fputs("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,10\n", f);
        fclose(f);
        assert_int_equal(es_trace_open(bad, ES_TRACE_AUTO, 512, false, &t, &err), 0);
        assert_int_equal(es_trace_next(t, &r, &err), ES_EPARSE);
        assert_non_null(strstr(err.msg, ".csv:2: expected 3 columns"));
        es_trace_close(t);
        remove(bad);
    }
    assert_int_equal(es_trace_open(DIR "nope.csv", ES_TRACE_AUTO, 512, false, &t, &err), ES_EIO);
}

static const char *write_tmp(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "/tmp/eppsim-wl-%ld-%s", (long)getpid(), name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* issue 19, class 8: a line earlier than the one before is an error naming
 * it (it was merged into the earlier instant; stats showed a negative
 * duration), or a skipped bad line; a UTF-8 BOM does not hide the header. */
static void test_time_order_and_bom(void **state)
{
    (void)state;
    es_trace_t *t;
    es_trace_rec_t r;
    es_err_t err;
    es_err_clear(&err);
    const char *p = write_tmp("back.jsonl",
                              "{\"timestamp\": 100, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [0, 1]}\n"
                              "{\"timestamp\": 200, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [0, 2]}\n"
                              "{\"timestamp\": 150, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [0, 3]}\n"
                              "{\"timestamp\": 300, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [0, 4]}\n");
    t = open_ok(p, ES_TRACE_AUTO);
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(es_trace_next(t, &r, &err), 1);
    assert_int_equal(es_trace_next(t, &r, &err), ES_EPARSE);
    assert_non_null(strstr(err.msg, "back.jsonl:3: timestamp goes back in time"));
    es_trace_close(t);
    assert_int_equal(es_trace_open(p, ES_TRACE_AUTO, 512, true, &t, &err), 0);
    int n = 0;
    while (es_trace_next(t, &r, &err) == 1) n++;
    assert_int_equal(n, 3);
    assert_int_equal(es_trace_skipped(t), 1);
    es_trace_close(t);
    remove(p);

    p = write_tmp("bom.csv", "\xEF\xBB\xBFTIMESTAMP,ContextTokens,GeneratedTokens\n"
                             "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n");
    t = open_ok(p, ES_TRACE_AUTO);
    assert_int_equal(es_trace_format(t), ES_TRACE_AZURE);
    n = 0;
    while (es_trace_next(t, &r, &err) == 1) n++;
    assert_int_equal(n, 2);
    es_trace_close(t);
    remove(p);
}

static void test_stats(void **state)
{
    (void)state;
    es_trace_stats_t st;
    es_err_t err;
    assert_int_equal(es_trace_stats_compute(DIR "mooncake_sample.jsonl", ES_TRACE_AUTO, 512, 16, false, &st, &err), 0);
    assert_int_equal(st.requests, 200);
    /* expected values computed independently (python, from the JSON) */
    assert_int_equal(st.trace_blocks, 5537);
    assert_int_equal(st.trace_blocks_hit, 322);
    assert_int_equal(st.trace_hit_tokens, 164864);
    assert_int_equal(st.prompt_tokens, 2782179);
    assert_int_equal(st.server_hit_tokens, 164864);
    assert_true(st.input.p50 <= st.input.p90 && st.input.p90 <= st.input.p99 && st.input.p99 <= st.input.max);

    assert_int_equal(es_trace_stats_compute(DIR "azure_conv_sample.csv", ES_TRACE_AUTO, 512, 16, false, &st, &err), 0);
    assert_int_equal(st.requests, 100);
    assert_false(st.has_trace_blocks);
    assert_int_equal(st.server_hit_tokens, 0);
    assert_true(st.has_time && st.rate > 0 && st.gap_cv > 0);

    /* eppsim segments: request 2 shares segment 7 (1000 tokens) with request 1 */
    assert_int_equal(es_trace_stats_compute(DIR "eppsim_sample.jsonl", ES_TRACE_AUTO, 512, 16, false, &st, &err), 0);
    assert_int_equal(st.trace_hit_tokens, 1000);
    assert_int_equal(st.server_hit_tokens, 992);   /* 62 full blocks of the shared 1000 tokens */
}

static void test_convert_roundtrip(void **state)
{
    (void)state;
    char out[64];
    snprintf(out, sizeof out, "/tmp/eppsim-wl-convert-%ld.jsonl", (long)getpid());
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    es_trace_t *t = open_ok(DIR "mooncake_sample.jsonl", ES_TRACE_AUTO);
    es_trace_rec_t r;
    es_err_t err;
    es_segment_t segs[512];
    while (es_trace_next(t, &r, &err) == 1) {
        es_trace_mooncake_content(&r, 512, segs);
        es_content_t c = {segs, r.nhash, r.input_tokens};
        es_trace_write_eppsim(f, &r, &c);
    }
    es_trace_close(t);
    fclose(f);
    es_trace_stats_t a, b;
    assert_int_equal(es_trace_stats_compute(DIR "mooncake_sample.jsonl", ES_TRACE_AUTO, 512, 16, false, &a, &err), 0);
    assert_int_equal(es_trace_stats_compute(out, ES_TRACE_AUTO, 512, 16, false, &b, &err), 0);
    assert_int_equal(b.format, ES_TRACE_EPPSIM);
    assert_int_equal(a.requests, b.requests);
    assert_int_equal(a.prompt_tokens, b.prompt_tokens);
    assert_int_equal(a.server_hit_tokens, b.server_hit_tokens);
    assert_true(a.duration_s == b.duration_s);
    remove(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),       cmocka_unit_test(test_mooncake),
        cmocka_unit_test(test_azure),        cmocka_unit_test(test_burstgpt_sharegpt),
        cmocka_unit_test(test_eppsim),       cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_stats),        cmocka_unit_test(test_convert_roundtrip),
        cmocka_unit_test(test_time_order_and_bom),
    };
    return cmocka_run_group_tests_name("workloads_trace", tests, NULL, NULL);
}
