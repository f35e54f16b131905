/* test_workload.c -- the request stream: trace replay, generators, transforms, mix. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "es_doc.h"
#include "es_workload.h"

typedef struct fixture {
    es_doc_t            *doc;
    es_workload_config_t cfg;
    es_workload_t       *w;
} fixture_t;

/* Loads `yaml` (the body of the workload section) and creates the workload. */
static es_workload_t *make(fixture_t *fx, const char *yaml, uint64_t seed)
{
    es_err_t err;
    es_err_clear(&err);
    assert_int_equal(es_doc_load_string("test.yaml", yaml, strlen(yaml), &fx->doc, &err), 0);
    assert_int_equal(es_schema_defaults(&es_workload_schema, &fx->cfg, &err), 0);
    int rc = es_schema_load(&es_workload_schema, &fx->cfg, fx->doc->root, "workload", &err);
    if (rc < 0) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    rc = es_workload_create(&fx->cfg, NULL, seed, &fx->w, &err);
    if (rc < 0) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    return fx->w;
}

static void done(fixture_t *fx)
{
    es_workload_destroy(fx->w);
    es_schema_fini(&es_workload_schema, &fx->cfg);
    es_doc_destroy(fx->doc);
    memset(fx, 0, sizeof *fx);
}

/* Open loop: reads everything ahead, releasing as it goes. */
static size_t drain(es_workload_t *w, es_time_t *times, size_t max)
{
    es_wl_request_t *r;
    es_err_t err;
    size_t n = 0;
    uint64_t first = es_workload_count(w);
    int rc;
    while ((rc = es_workload_next(w, ES_TIME_NEVER, &r, &err)) == 1) {
        if (times && n < max) times[n] = r->arrival;
        if (n) assert_true(!times || n >= max || times[n] >= times[n - 1]);
        assert_int_equal(r->id, first + n);
        n++;
        es_workload_release(w, r);
    }
    assert_int_equal(rc, -1);
    return n;
}

static void test_mooncake_replay(void **state)
{
    (void)state;
    fixture_t fx = {0};
    es_workload_t *w = make(&fx, "type: trace\nnum_requests: 0\n"
                                 "trace: {file: tests/data/traces/mooncake_sample.jsonl}\n", 1);
    es_wl_request_t *a, *b;
    es_err_t err;
    assert_int_equal(es_workload_next(w, 0, &a, &err), 1);
    assert_int_equal(es_workload_next(w, 0, &b, &err), 1);
    assert_int_equal(a->prompt.tokens, 6758);
    assert_int_equal(a->prompt.nsegs, 14);
    assert_int_equal(a->output_tokens, 500);
    assert_true(a->prompt.segs[0].id == b->prompt.segs[0].id);   /* hash id 0 shared */
    assert_true(a->prompt.segs[1].id != b->prompt.segs[1].id);
    assert_true(a->output_segment != b->output_segment);
    assert_string_equal(a->model, "meta-llama/Llama-3.1-8B-Instruct");
    assert_string_equal(a->path, "/v1/completions");
    assert_null(a->objective);
    es_workload_release(w, a);
    es_workload_release(w, b);
    /* Mooncake ticks are ~3 s: take the rest of tick 0, then the next is not due at 0 */
    size_t at0 = 2;
    while (es_workload_next(w, 0, &a, &err) == 1) { assert_int_equal(a->arrival, 0); es_workload_release(w, a); at0++; }
    es_time_t nt = es_workload_next_time(w);
    assert_true(nt > 0 && nt != ES_TIME_NEVER);
    assert_int_equal(es_workload_next(w, nt - 1, &a, &err), 0);
    assert_int_equal(es_workload_next(w, nt, &a, &err), 1);
    assert_int_equal(a->arrival, nt);
    es_workload_release(w, a);
    assert_int_equal(drain(w, NULL, 0), 200 - at0 - 1);
    done(&fx);
}

static void test_trace_transforms(void **state)
{
    (void)state;
    fixture_t fx = {0};
    es_time_t t1[200], t2[200];
    size_t n1 = drain(make(&fx, "type: trace\nnum_requests: 0\n"
                                "trace: {file: tests/data/traces/azure_conv_sample.csv}\n", 1), t1, 200);
    done(&fx);
    assert_int_equal(n1, 100);
    size_t n2 = drain(make(&fx, "type: trace\nnum_requests: 0\n"
                                "trace: {file: tests/data/traces/azure_conv_sample.csv, time_scale: 0.5}\n", 1), t2, 200);
    done(&fx);
    assert_int_equal(n2, 100);
    for (size_t i = 0; i < n1; i++) assert_true(llabs(t2[i] - t1[i] / 2) <= 1);
    /* target rate: the replayed mean rate matches */
    size_t n3 = drain(make(&fx, "type: trace\nnum_requests: 0\n"
                                "trace: {file: tests/data/traces/azure_conv_sample.csv, target_rate: 50}\n", 1), t2, 200);
    done(&fx);
    assert_int_equal(n3, 100);
    double rate = 99.0 / es_time_to_s(t2[99] - t2[0]);
    assert_true(fabs(rate - 50) < 0.01);
    /* window [5 s, 20 s) re-based at 0, first N */
    size_t n4 = drain(make(&fx, "type: trace\nnum_requests: 0\n"
                                "trace: {file: tests/data/traces/azure_conv_sample.csv, start_s: 5, end_s: 20}\n", 1), t2, 200);
    done(&fx);
    size_t expect = 0;
    for (size_t i = 0; i < n1; i++) expect += t1[i] >= 5 * ES_S && t1[i] < 20 * ES_S;
    assert_int_equal(n4, expect);
    assert_true(t2[0] >= 0 && t2[n4 - 1] < 15 * ES_S);
    assert_int_equal(drain(make(&fx, "type: trace\nnum_requests: 7\n"
                                     "trace: {file: tests/data/traces/azure_conv_sample.csv}\n", 1), NULL, 0), 7);
    done(&fx);
    /* sampling keeps about the fraction, deterministically */
    size_t s1 = drain(make(&fx, "type: trace\nnum_requests: 0\n"
                                "trace: {file: tests/data/traces/mooncake_sample.jsonl, sample_fraction: 0.5}\n", 3), NULL, 0);
    done(&fx);
    size_t s2 = drain(make(&fx, "type: trace\nnum_requests: 0\n"
                                "trace: {file: tests/data/traces/mooncake_sample.jsonl, sample_fraction: 0.5}\n", 3), NULL, 0);
    done(&fx);
    assert_int_equal(s1, s2);
    assert_true(s1 > 70 && s1 < 130);
}

static void test_sharegpt_with_arrivals(void **state)
{
    (void)state;
    fixture_t fx = {0};
    es_time_t t[64];
    es_workload_t *w = make(&fx, "type: trace\nnum_requests: 0\narrival: {process: constant, rate: 4}\n"
                                 "trace: {file: tests/data/traces/sharegpt_sample.csv}\n", 1);
    es_wl_request_t *r;
    es_err_t err;
    assert_int_equal(es_workload_next(w, ES_TIME_NEVER, &r, &err), 1);
    assert_int_equal(r->prompt.tokens, 74);
    assert_int_equal(r->output_tokens, 918);
    t[0] = r->arrival;
    es_workload_release(w, r);
    assert_int_equal(drain(w, t + 1, 63) + 1, 50);
    assert_int_equal(t[0], 0);
    assert_int_equal(t[1], 250 * ES_MS);
    assert_int_equal(t[10], 2500 * ES_MS);
    done(&fx);
}

static void test_eppsim_replay(void **state)
{
    (void)state;
    fixture_t fx = {0};
    es_workload_t *w = make(&fx, "type: trace\nnum_requests: 0\n"
                                 "trace: {file: tests/data/traces/eppsim_sample.jsonl}\n", 1);
    es_wl_request_t *r[3];
    es_err_t err;
    for (int i = 0; i < 3; i++) assert_int_equal(es_workload_next(w, ES_TIME_NEVER, &r[i], &err), 1);
    assert_string_equal(r[0]->path, "/v1/chat/completions");
    assert_string_equal(r[0]->model, "llama");
    assert_string_equal(r[0]->session, "a");
    assert_int_equal(r[0]->nheaders, 1);
    assert_string_equal(r[0]->headers[0].value, "a");
    assert_int_equal(r[0]->prompt.segs[0].id, 7);
    assert_int_equal(r[1]->priority, -1);
    assert_string_equal(r[1]->objective, "batch");
    assert_string_equal(r[1]->lora, "sql-lora");
    assert_string_equal(r[1]->model, "meta-llama/Llama-3.1-8B-Instruct");
    assert_int_equal(r[2]->prompt.tokens, 300);
    assert_int_equal(r[2]->output_segment, 99);
    for (int i = 0; i < 3; i++) es_workload_release(w, r[i]);
    done(&fx);
}

static double gap_cv(const es_time_t *t, size_t n, double *mean_out)
{
    double s = 0, s2 = 0;
    for (size_t i = 1; i < n; i++) { double g = es_time_to_s(t[i] - t[i - 1]); s += g; s2 += g * g; }
    double m = s / (double)(n - 1);
    *mean_out = m;
    return sqrt(s2 / (double)(n - 1) - m * m) / m;
}

static void test_arrival_processes(void **state)
{
    (void)state;
    enum { N = 20000 };
    static es_time_t t[N];
    fixture_t fx = {0};
    double mean;
    drain(make(&fx, "type: synthetic\nnum_requests: 20000\narrival: {process: poisson, rate: 100}\n", 5), t, N);
    done(&fx);
    double cv = gap_cv(t, N, &mean);
    assert_true(fabs(mean - 0.01) < 0.0004);
    assert_true(fabs(cv - 1) < 0.04);
    drain(make(&fx, "type: synthetic\nnum_requests: 20000\narrival: {process: gamma, rate: 100, cv: 3}\n", 5), t, N);
    done(&fx);
    cv = gap_cv(t, N, &mean);
    assert_true(fabs(mean - 0.01) < 0.001);
    assert_true(fabs(cv - 3) < 0.3);
    drain(make(&fx, "type: synthetic\nnum_requests: 100\narrival: {process: constant, rate: 8}\n", 5), t, 100);
    done(&fx);
    for (int i = 0; i < 100; i++) assert_int_equal(t[i], (es_time_t)i * 125 * ES_MS);
}

static void test_stages(void **state)
{
    (void)state;
    fixture_t fx = {0};
    es_workload_t *w = make(&fx, "type: synthetic\nnum_requests: 0\n"
                                 "arrival: {process: poisson, stages: [{rate: 10, duration_s: 100}, "
                                 "{rate: 0, duration_s: 10}, {rate: 100, duration_s: 50}]}\n", 9);
    assert_int_equal(es_workload_stage_count(w), 3);
    double rate;
    es_time_t s, e;
    es_workload_stage(w, 2, &rate, &s, &e);
    assert_true(rate == 100 && s == 110 * ES_S && e == 160 * ES_S);
    size_t cnt[3] = {0};
    es_wl_request_t *r;
    es_err_t err;
    while (es_workload_next(w, ES_TIME_NEVER, &r, &err) == 1) {
        cnt[r->stage]++;
        assert_true(r->arrival < 160 * ES_S);
        assert_false(r->arrival >= 100 * ES_S && r->arrival < 110 * ES_S);
        es_workload_release(w, r);
    }
    assert_true(cnt[0] > 800 && cnt[0] < 1200);
    assert_int_equal(cnt[1], 0);
    assert_true(cnt[2] > 4600 && cnt[2] < 5400);
    done(&fx);
    /* stage 1's arrivals do not move when stage 2 changes */
    static es_time_t a[3000], b[3000];
    size_t na = drain(make(&fx, "type: synthetic\nnum_requests: 0\narrival: {stages: "
                                "[{rate: 10, duration_s: 100}, {rate: 5, duration_s: 10}]}\n", 9), a, 3000);
    done(&fx);
    size_t nb = drain(make(&fx, "type: synthetic\nnum_requests: 0\narrival: {stages: "
                                "[{rate: 10, duration_s: 100}, {rate: 50, duration_s: 10}]}\n", 9), b, 3000);
    done(&fx);
    assert_true(na > 900 && nb > na);
    for (size_t i = 0; i < na && a[i] < 100 * ES_S; i++) assert_int_equal(a[i], b[i]);
}

static void test_closed_loop(void **state)
{
    (void)state;
    fixture_t fx = {0};
    es_workload_t *w = make(&fx, "type: synthetic\nnum_requests: 10\narrival: {process: closed_loop, concurrency: 4}\n", 1);
    es_wl_request_t *r[10];
    es_err_t err;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(es_workload_next(w, 0, &r[i], &err), 1);
        assert_int_equal(r[i]->arrival, 0);
    }
    assert_int_equal(es_workload_next(w, ES_TIME_NEVER, &r[4], &err), 0);
    assert_true(es_workload_next_time(w) == ES_TIME_NEVER);
    es_workload_on_complete(w, r[2], 5 * ES_S, 200);
    es_workload_release(w, r[2]);
    assert_int_equal(es_workload_next_time(w), 5 * ES_S);
    assert_int_equal(es_workload_next(w, 4 * ES_S, &r[4], &err), 0);
    assert_int_equal(es_workload_next(w, 5 * ES_S, &r[4], &err), 1);
    assert_int_equal(r[4]->arrival, 5 * ES_S);
    assert_int_equal(es_workload_next(w, 5 * ES_S, &r[5], &err), 0);
    /* complete everything until the limit */
    int handed = 5;
    es_time_t now = 5 * ES_S;
    es_wl_request_t *live[4] = {r[0], r[1], r[3], r[4]};
    while (handed < 10) {
        now += ES_S;
        es_workload_on_complete(w, live[0], now, 200);
        es_workload_release(w, live[0]);
        assert_int_equal(es_workload_next(w, now, &live[0], &err), 1);
        handed++;
    }
    assert_int_equal(es_workload_next(w, now, &r[9], &err), -1);
    for (int i = 0; i < 4; i++) es_workload_release(w, live[i]);
    done(&fx);
}

static void test_sessions(void **state)
{
    (void)state;
    fixture_t fx = {0};
    es_workload_t *w = make(&fx, "type: sessions\nnum_requests: 0\narrival: {process: constant, rate: 1}\n"
                                 "sessions: {num_sessions: 2, turns_min: 3, turns_max: 3, think_time_s: 2,"
                                 " system_prompt_len: 100, num_system_prompts: 1}\n"
                                 "lengths: {input: {dist: constant, mean: 50}, output: {dist: constant, mean: 20}}\n", 1);
    es_wl_request_t *a, *b, *a2;
    es_err_t err;
    assert_int_equal(es_workload_next(w, 0, &a, &err), 1);
    assert_non_null(a->session);
    assert_int_equal(a->prompt.nsegs, 2);
    assert_int_equal(a->prompt.tokens, 150);
    assert_int_equal(a->output_tokens, 20);
    assert_int_equal(es_workload_next(w, ES_S, &b, &err), 1);
    assert_string_not_equal(a->session, b->session);
    assert_true(a->prompt.segs[0].id == b->prompt.segs[0].id);   /* one system prompt */
    assert_true(a->prompt.segs[1].id != b->prompt.segs[1].id);
    /* no more sessions; the next turns wait for completions */
    assert_int_equal(es_workload_next(w, 100 * ES_S, &a2, &err), 0);
    es_workload_on_complete(w, a, 3 * ES_S, 200);
    es_time_t nt = es_workload_next_time(w);
    assert_true(nt >= 3 * ES_S && nt < ES_TIME_NEVER);
    assert_int_equal(es_workload_next(w, nt, &a2, &err), 1);
    assert_int_equal(a2->arrival, nt);
    /* turn 2 = system, user 1, answer 1, user 2 */
    assert_int_equal(a2->prompt.nsegs, 4);
    assert_int_equal(a2->prompt.tokens, 100 + 50 + 20 + 50);
    assert_true(a2->prompt.segs[1].id == a->prompt.segs[1].id);
    assert_true(a2->prompt.segs[2].id == a->output_segment);
    assert_string_equal(a2->session, a->session);
    es_workload_release(w, a);
    es_workload_release(w, a2);
    es_workload_release(w, b);
    done(&fx);
}

static void test_shared_prefix_and_mix(void **state)
{
    (void)state;
    fixture_t fx = {0};
    es_workload_t *w = make(&fx, "type: shared_prefix\nnum_requests: 20000\nsheddable_fraction: 0.1\n"
                                 "shared_prefix: {num_groups: 4, num_prompts_per_group: 10, system_prompt_len: 200,"
                                 " question_len: 30, question_len_std: 5, output_len: 40}\n"
                                 "mix: {models: [{name: a, weight: 3}, {name: b, weight: 1, lora: l1}],"
                                 " objectives: [{name: critical, priority: 10, weight: 0.2}]}\n", 2);
    es_wl_request_t *r;
    es_err_t err;
    size_t shed = 0, ma = 0, crit = 0, n = 0;
    uint64_t sys[8];
    size_t nsys = 0;
    while (es_workload_next(w, ES_TIME_NEVER, &r, &err) == 1) {
        assert_int_equal(r->prompt.nsegs, 2);
        assert_int_equal(r->prompt.segs[0].len, 200);
        assert_int_equal(r->output_tokens, 40);
        bool found = false;
        for (size_t i = 0; i < nsys; i++) found |= sys[i] == r->prompt.segs[0].id;
        if (!found) { assert_true(nsys < 4); sys[nsys++] = r->prompt.segs[0].id; }
        if (r->priority < 0) { shed++; assert_string_equal(r->objective, "sheddable"); }
        else if (r->objective) { crit++; assert_int_equal(r->priority, 10); }
        if (strcmp(r->model, "a") == 0) { ma++; assert_null(r->lora); }
        else assert_string_equal(r->lora, "l1");
        n++;
        es_workload_release(w, r);
    }
    assert_int_equal(n, 20000);
    assert_int_equal(nsys, 4);
    assert_true(fabs((double)shed / (double)n - 0.1) < 0.01);
    assert_true(fabs((double)ma / (double)n - 0.75) < 0.015);
    assert_true(fabs((double)crit / (double)n - 0.18) < 0.015);   /* 20 % minus those made sheddable */
    done(&fx);
}

/* workload.images: share, count, tokens, the pool, per-class overrides,
 * placement before the last segment, determinism, no shift of other draws */
static void test_images(void **state)
{
    (void)state;
#define IMG_BASE "type: shared_prefix\nnum_requests: 4000\n" \
        "shared_prefix: {num_groups: 4, num_prompts_per_group: 10, system_prompt_len: 200, question_len: 30," \
        " output_len: 40}\n"
    static const char *const base = IMG_BASE "mix: {objectives: [{name: big, weight: 0.25}, {name: none, weight: 0.25}]}\n";
    const char *yaml = IMG_BASE "mix: {objectives: [{name: big, weight: 0.25, images_per_request: 3, image_tokens: 100},"
        " {name: none, weight: 0.25, images_per_request: 0}]}\n"
        "images: {per_request: 2, fraction: 0.5, tokens: 576, pool: 50, zipf_s: 0}\n";
#undef IMG_BASE
    fixture_t fx = {0}, plain = {0};
    es_workload_t *w = make(&fx, yaml, 3), *p = make(&plain, base, 3);
    es_wl_request_t *r, *q;
    es_err_t err;
    size_t with = 0, n = 0, nbig = 0;
    uint64_t seen[64];
    size_t nseen = 0;
    while (es_workload_next(w, ES_TIME_NEVER, &r, &err) == 1) {
        assert_int_equal(es_workload_next(p, ES_TIME_NEVER, &q, &err), 1);
        /* the same request without images: same objective, system prompt, question, output */
        assert_true((r->objective == NULL) == (q->objective == NULL));
        assert_int_equal(r->prompt.segs[0].id, q->prompt.segs[0].id);
        assert_int_equal(r->prompt.segs[r->prompt.nsegs - 1].id, q->prompt.segs[q->prompt.nsegs - 1].id);
        assert_int_equal(r->output_tokens, q->output_tokens);
        assert_int_equal(r->arrival, q->arrival);
        assert_null(q->mm);
        uint32_t img_tokens = 0;
        for (uint32_t i = 0; i < r->nmm; i++) {
            assert_int_equal(r->prompt.segs[1 + i].id, r->mm[i].hash);   /* before the question */
            assert_int_equal(r->prompt.segs[1 + i].len, r->mm[i].tokens);
            img_tokens += r->mm[i].tokens;
        }
        assert_int_equal(r->prompt.tokens, q->prompt.tokens + img_tokens);
        if (r->objective && !strcmp(r->objective, "big")) {
            assert_true(r->nmm == 0 || (r->nmm == 3 && r->mm[0].tokens == 100));
            nbig += r->nmm > 0;
        } else if (r->objective && !strcmp(r->objective, "none")) {
            assert_int_equal(r->nmm, 0);
        } else if (r->nmm) {
            assert_int_equal(r->nmm, 2);
            assert_int_equal(r->mm[0].tokens, 576);
            for (uint32_t i = 0; i < r->nmm; i++) {
                bool found = false;
                for (size_t k = 0; k < nseen; k++) found |= seen[k] == r->mm[i].hash;
                if (!found) { assert_true(nseen < 50); seen[nseen++] = r->mm[i].hash; }
            }
        }
        with += r->nmm > 0;
        n++;
        es_workload_release(w, r);
        es_workload_release(p, q);
    }
    assert_int_equal(n, 4000);
    assert_true(fabs((double)with / (double)n - 0.375) < 0.03);   /* half of the three quarters that may carry some */
    assert_true(nbig > 300);
    assert_true(nseen > 40);                                       /* drawn from the pool of 50 */
    done(&fx);
    done(&plain);
    /* the same seed gives the same images; a trace line's images replace them */
    fixture_t a = {0}, b = {0};
    es_workload_t *wa = make(&a, yaml, 9), *wb = make(&b, yaml, 9);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(es_workload_next(wa, ES_TIME_NEVER, &r, &err), 1);
        assert_int_equal(es_workload_next(wb, ES_TIME_NEVER, &q, &err), 1);
        assert_int_equal(r->nmm, q->nmm);
        for (uint32_t k = 0; k < r->nmm; k++) assert_int_equal(r->mm[k].hash, q->mm[k].hash);
        es_workload_release(wa, r);
        es_workload_release(wb, q);
    }
    done(&a);
    done(&b);
    w = make(&fx, "type: trace\nnum_requests: 0\ntrace: {file: tests/data/traces/eppsim_images.jsonl}\n"
                  "images: {per_request: 4}\n", 1);
    assert_int_equal(es_workload_next(w, ES_TIME_NEVER, &r, &err), 1);
    assert_int_equal(r->nmm, 2);
    assert_int_equal(r->mm[0].hash, 11);
    assert_int_equal(r->mm[1].tokens, 64);
    assert_int_equal(r->prompt.tokens, 1000 + 60 + 256 + 64);
    assert_int_equal(r->prompt.segs[1].id, 11);   /* before the last segment */
    es_workload_release(w, r);
    assert_int_equal(es_workload_next(w, ES_TIME_NEVER, &r, &err), 1);
    assert_int_equal(r->nmm, 4);                  /* no "images" on the line: workload.images */
    es_workload_release(w, r);
    done(&fx);
}

static void test_lengths_and_determinism(void **state)
{
    (void)state;
    fixture_t fx = {0};
    es_workload_t *w = make(&fx, "type: synthetic\nnum_requests: 20000\n"
                                 "lengths: {input: {dist: lognormal, mean: 1000, std: 500, max: 1e6},"
                                 " output: {dist: uniform, min: 10, max: 20}}\n"
                                 "content: {prefix_pool: 10, prefix_len: 64, prefix_zipf_s: 1}\n", 4);
    es_wl_request_t *r;
    es_err_t err;
    double sum = 0;
    size_t top = 0, n = 0;
    uint64_t top_id = 0;
    static es_time_t t1[20000];
    while (es_workload_next(w, ES_TIME_NEVER, &r, &err) == 1) {
        sum += r->prompt.tokens;
        assert_true(r->output_tokens >= 10 && r->output_tokens <= 20);
        assert_int_equal(r->prompt.nsegs, 2);
        if (n == 0) top_id = r->prompt.segs[0].id;
        t1[n++] = r->arrival;
        es_workload_release(w, r);
    }
    done(&fx);
    assert_true(fabs(sum / (double)n - 1000) < 25);
    /* different lengths and content: the same arrivals */
    static es_time_t t2[20000];
    size_t n2 = drain(make(&fx, "type: synthetic\nnum_requests: 20000\n"
                                "lengths: {input: {dist: empirical, file: tests/data/traces/sharegpt_sample.csv}}\n", 4),
                      t2, 20000);
    done(&fx);
    assert_int_equal(n2, n);
    assert_memory_equal(t1, t2, n * sizeof t1[0]);
    /* Zipf: the most popular of 10 prefixes gets 1/H(10) = 34 % */
    w = make(&fx, "type: synthetic\nnum_requests: 20000\n"
                  "content: {prefix_pool: 10, prefix_len: 64, prefix_zipf_s: 1}\n", 4);
    uint64_t cnt_ids[10] = {0}, ids[10] = {0};
    size_t nid = 0;
    n = 0;
    while (es_workload_next(w, ES_TIME_NEVER, &r, &err) == 1) {
        size_t i;
        for (i = 0; i < nid && ids[i] != r->prompt.segs[0].id; i++) {}
        if (i == nid) { assert_true(nid < 10); ids[nid++] = r->prompt.segs[0].id; }
        cnt_ids[i]++;
        n++;
        es_workload_release(w, r);
    }
    done(&fx);
    for (size_t i = 0; i < nid; i++) if (cnt_ids[i] > top) top = cnt_ids[i];
    assert_true(fabs((double)top / (double)n - 0.3414) < 0.015);
    (void)top_id;
}

static void test_errors(void **state)
{
    (void)state;
    fixture_t fx = {0};
    es_err_t err;
    const char *y = "type: trace\ntrace: {file: tests/data/traces/mooncake_bad.jsonl}\n";
    assert_int_equal(es_doc_load_string("t.yaml", y, strlen(y), &fx.doc, &err), 0);
    assert_int_equal(es_schema_defaults(&es_workload_schema, &fx.cfg, &err), 0);
    assert_int_equal(es_schema_load(&es_workload_schema, &fx.cfg, fx.doc->root, "workload", &err), 0);
    assert_int_equal(es_workload_create(&fx.cfg, NULL, 1, &fx.w, &err), 0);
    es_wl_request_t *r;
    assert_int_equal(es_workload_next(fx.w, ES_TIME_NEVER, &r, &err), 1);
    es_workload_release(fx.w, r);
    assert_int_equal(es_workload_next(fx.w, ES_TIME_NEVER, &r, &err), 1);
    es_workload_release(fx.w, r);
    assert_int_equal(es_workload_next(fx.w, ES_TIME_NEVER, &r, &err), ES_EPARSE);
    assert_non_null(strstr(err.msg, "mooncake_bad.jsonl:3: expected"));
    done(&fx);
    /* with skipping, the count is reported */
    drain(make(&fx, "type: trace\nnum_requests: 0\n"
                    "trace: {file: tests/data/traces/mooncake_bad.jsonl, skip_bad_lines: true}\n", 1), NULL, 0);
    assert_int_equal(es_workload_skipped_lines(fx.w), 2);
    done(&fx);
    /* a bad mix entry names its path and line */
    y = "type: synthetic\nmix: {models: [{name: a, wieght: 2}]}\n";
    assert_int_equal(es_doc_load_string("t.yaml", y, strlen(y), &fx.doc, &err), 0);
    assert_int_equal(es_schema_defaults(&es_workload_schema, &fx.cfg, &err), 0);
    assert_int_equal(es_schema_load(&es_workload_schema, &fx.cfg, fx.doc->root, "workload", &err), 0);
    assert_true(es_workload_create(&fx.cfg, NULL, 1, &fx.w, &err) < 0);
    assert_non_null(strstr(err.msg, "t.yaml:2"));
    assert_non_null(strstr(err.msg, "wieght"));
    done(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mooncake_replay),        cmocka_unit_test(test_trace_transforms),
        cmocka_unit_test(test_sharegpt_with_arrivals), cmocka_unit_test(test_eppsim_replay),
        cmocka_unit_test(test_arrival_processes),      cmocka_unit_test(test_stages),
        cmocka_unit_test(test_closed_loop),            cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_shared_prefix_and_mix),  cmocka_unit_test(test_lengths_and_determinism),
        cmocka_unit_test(test_errors),                 cmocka_unit_test(test_images),
    };
    return cmocka_run_group_tests_name("workloads_gen", tests, NULL, NULL);
}
