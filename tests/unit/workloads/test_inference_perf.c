/* test_inference_perf.c -- inference-perf configs as workloads: the reader
 * (both builds, warnings, errors with file:line), each data type's prompts
 * and each load type's send times against hand computations, draining
 * stages, the worker cap and multi-turn turn order. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_randist.h>

#include "client_load.h"
#include "es_doc.h"
#include "es_gsl.h"
#include "es_workload.h"
#include "es_inference_perf.h"
#include "es_vllm_bench.h"

/* ------------------------------------------------------------ helpers */

static int parse(const char *yaml, int version, es_ip_config_t *c, es_err_t *err)
{
    es_doc_t *doc;
    assert_int_equal(es_doc_load_string("ip.yaml", yaml, strlen(yaml), &doc, err), 0);
    int rc = es_ip_parse(doc->root, version, NULL, c, err);
    es_doc_destroy(doc);
    return rc;
}

typedef struct fx {
    es_doc_t            *doc;
    es_workload_config_t cfg;
    es_workload_t       *w;
} fx_t;

/* A workload whose section is `workload: {inference_perf: {config: <ip>, version: V}}`. */
static es_workload_t *make(fx_t *f, const char *ip_yaml, const char *version, uint64_t seed)
{
    char text[8192];
    snprintf(text, sizeof text, "inference_perf:\n  version: %s\n  config:\n", version);
    /* indent the inference-perf config under config: */
    size_t used = strlen(text);
    const char *p = ip_yaml;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        used += (size_t)snprintf(text + used, sizeof text - used, "    %.*s", (int)len, p);
        p += len;
    }
    es_err_t err;
    es_err_clear(&err);
    assert_int_equal(es_doc_load_string("exp.yaml", text, strlen(text), &f->doc, &err), 0);
    assert_int_equal(es_schema_defaults(&es_workload_schema, &f->cfg, &err), 0);
    assert_int_equal(es_schema_load(&es_workload_schema, &f->cfg, f->doc->root, "workload", &err), 0);
    int rc = es_workload_create(&f->cfg, ".", seed, &f->w, &err);
    if (rc < 0) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    return f->w;
}

static void unmake(fx_t *f)
{
    es_workload_destroy(f->w);
    es_schema_fini(&es_workload_schema, &f->cfg);
    es_doc_destroy(f->doc);
    memset(f, 0, sizeof *f);
}

/* The constant timer by hand: n exponential(1/rate) draws of the stage's
 * stream, rescaled to sum to the duration, accumulated from start + 1 s. */
static void constant_by_hand(uint64_t seed, size_t stage, double rate, double dur, uint64_t n, double start_s,
                             double *out)
{
    es_rng_t r;
    es_rng_stream(&r, seed, ES_WL_ENTITY_STAGE, stage, ES_STREAM_ARRIVALS);
    double sum = 0;
    for (uint64_t k = 0; k < n; k++) { out[k] = es_rng_exp(&r, 1.0 / rate); sum += out[k]; }
    double t = 0;
    for (uint64_t k = 0; k < n; k++) { t += out[k] * (dur / sum); out[k] = start_s + 1.0 + t; }
}

/* ------------------------------------------------------------ reader */

static const char k_old_run[] =
    "api: {type: completion, streaming: true}\n"
    "data:\n"
    "  type: shared_prefix\n"
    "  shared_prefix: {num_groups: 10, num_prompts_per_group: 10, system_prompt_len: 100,\n"
    "                  question_len: 466, output_len: 247}\n"
    "load:\n"
    "  type: constant\n"
    "  interval: 1.0\n"
    "  stages: [{rate: 5.0, duration: 600}, {rate: 10.0, duration: 600}]\n"
    "  num_workers: 224\n"
    "  worker_max_concurrency: 100\n"
    "  request_timeout: null\n"
    "server: {type: vllm, model_name: meta-llama/Llama-2-7b-hf, base_url: 'http://x:8000', ignore_eos: true}\n";

static void test_reader_2025_10_run(void **state)
{
    (void)state;
    es_ip_config_t c;
    es_err_t err;
    assert_int_equal(parse(k_old_run, ES_IP_2025_10, &c, &err), 0);
    assert_int_equal(c.data, ES_IP_DATA_SHARED_PREFIX);
    assert_int_equal(c.groups, 10);
    assert_int_equal(c.users, 10);
    assert_true(c.question_len.fixed && c.question_len.mean == 466);
    assert_int_equal(c.output_len.mean, 247);
    assert_int_equal(c.nstages, 2);
    assert_true(c.stages[1].rate == 10 && c.stages[1].duration == 600);
    assert_int_equal(es_ip_worker_cap(&c), 22400);
    assert_true(es_ip_timeout_s(&c) == 300.0);   /* aiohttp's default total */
    assert_true(c.streaming && !c.chat && c.ignore_eos);
    assert_int_equal(c.nwarnings, 0);
    es_ip_fini(&c);
}

/* The profile the validation runs asked for, read by the build that ran it:
 * the current-schema keys are ignored (with a warning each) and 10 x 10 runs. */
static const char k_profile[] =
    "{\"api\":{\"streaming\":true,\"type\":\"completion\"},\n"
    "\"data\":{\"shared_prefix\":{\"enable_multi_turn_chat\":true,\"num_unique_system_prompts\":11,\n"
    "\"num_users_per_system_prompt\":4,\"output_len\":247,\"question_len\":466,\"system_prompt_len\":100},\n"
    "\"type\":\"shared_prefix\"},\n"
    "\"load\":{\"stages\":[{\"duration\":600,\"rate\":5}],\"type\":\"constant\",\"num_workers\":4}}\n";

static void test_reader_versions(void **state)
{
    (void)state;
    es_ip_config_t c;
    es_err_t err;
    assert_int_equal(parse(k_profile, ES_IP_2025_10, &c, &err), 0);
    assert_int_equal(c.groups, 10);
    assert_int_equal(c.users, 10);
    assert_false(c.multi_turn);
    assert_int_equal(c.nwarnings, 3);
    bool saw = false;
    for (size_t i = 0; i < c.nwarnings; i++)
        if (strstr(c.warnings[i], "ip.yaml:2: data.shared_prefix.num_unique_system_prompts: unknown to "
                                  "inference-perf 2025-10") &&
            strstr(c.warnings[i], "used num_groups (default 10)"))
            saw = true;
    assert_true(saw);
    es_ip_fini(&c);
    /* the current build reads the aliases and multi-turn chat */
    assert_int_equal(parse(k_profile, ES_IP_CURRENT, &c, &err), 0);
    assert_int_equal(c.groups, 11);
    assert_int_equal(c.users, 4);
    assert_true(c.multi_turn);
    assert_int_equal(c.nwarnings, 0);
    es_ip_fini(&c);
    /* and the late-2025 names too */
    assert_int_equal(parse(k_old_run, ES_IP_CURRENT, &c, &err), 0);
    assert_int_equal(c.groups, 10);
    es_ip_fini(&c);
    assert_int_equal(es_ip_version_parse("2025-11"), ES_IP_2025_10);
    assert_int_equal(es_ip_version_parse("2024"), -1);
}

static void test_reader_errors(void **state)
{
    (void)state;
    es_ip_config_t c;
    es_err_t err;
    /* current forbids unknown keys: file:line: key.path */
    assert_int_equal(parse("data: {type: random, inputs: 3}\nload: {stages: [{rate: 1, duration: 1}]}\n",
                           ES_IP_CURRENT, &c, &err), ES_EINVAL);
    assert_non_null(strstr(err.msg, "ip.yaml:1: data.inputs: unknown key"));
    /* a load type the 2025-10 build did not have */
    assert_int_equal(parse("data: {type: shared_prefix}\nload: {type: concurrent,\n  stages: [{num_requests: 3, concurrency_level: 1}]}\n",
                           ES_IP_2025_10, &c, &err), ES_EINVAL);
    assert_non_null(strstr(err.msg, "ip.yaml:2: load.type:"));
    /* a stage missing its rate */
    assert_int_equal(parse("data: {type: shared_prefix}\nload:\n  stages:\n  - {duration: 5}\n", ES_IP_CURRENT, &c, &err),
                     ES_EINVAL);
    assert_non_null(strstr(err.msg, "ip.yaml:4: load.stages[0].rate: missing"));
    /* wrong type */
    assert_int_equal(parse("data: {type: shared_prefix}\nload:\n  interval: soon\n  stages: [{rate: 1, duration: 1}]\n",
                           ES_IP_CURRENT, &c, &err), ES_EINVAL);
    assert_non_null(strstr(err.msg, "ip.yaml:3: load.interval"));
    /* random needs its distributions */
    assert_int_equal(parse("data: {type: random}\nload: {stages: [{rate: 1, duration: 1}]}\n", ES_IP_CURRENT, &c, &err),
                     ES_EINVAL);
    assert_non_null(strstr(err.msg, "ip.yaml:1: data.type"));
    /* a sweep probes a live server: refused */
    assert_int_equal(parse("data: {type: shared_prefix}\nload: {sweep: {type: linear}, stages: []}\n", ES_IP_CURRENT, &c, &err), ES_EINVAL);
    assert_non_null(strstr(err.msg, "load.sweep"));
}

/* ------------------------------------------------------------ loads */

/* Hands out everything due, completing each request `service` after it is
 * sent (an ideal server), in time order.  Records send times and stages. */
typedef struct sent { es_time_t t; uint32_t stage; uint32_t tokens; uint64_t seg0, seg1; uint32_t nsegs; } sent_t;

static size_t run_ideal(es_workload_t *w, es_time_t service, sent_t *out, size_t max)
{
    es_wl_request_t *live[4096];
    es_time_t ends[4096];
    size_t nlive = 0, n = 0;
    es_time_t now = 0;
    es_err_t err;
    for (;;) {
        es_wl_request_t *r;
        int rc;
        while ((rc = es_workload_next(w, now, &r, &err)) == 1) {
            assert_true(r->arrival <= now || now == 0);
            if (n < max)
                out[n] = (sent_t){r->arrival, r->stage, r->prompt.tokens, r->prompt.segs[0].id,
                                  r->prompt.nsegs > 1 ? r->prompt.segs[1].id : 0, r->prompt.nsegs};
            n++;
            assert_true(nlive < 4096);
            live[nlive] = r;
            ends[nlive++] = (r->arrival > now ? r->arrival : now) + service;
        }
        assert_true(rc == 0 || rc == -1);
        es_time_t next = es_workload_next_time(w);
        size_t first = SIZE_MAX;
        for (size_t i = 0; i < nlive; i++) if (first == SIZE_MAX || ends[i] < ends[first]) first = i;
        if (first != SIZE_MAX && ends[first] <= next) {
            now = ends[first];
            es_workload_on_complete(w, live[first], now, 200);
            es_workload_release(w, live[first]);
            live[first] = live[--nlive];
            ends[first] = ends[nlive];
            continue;
        }
        if (next == ES_TIME_NEVER) { assert_int_equal(rc, -1); break; }
        now = next;
    }
    return n;
}

static void test_constant_stages_drain(void **state)
{
    (void)state;
    fx_t f = {0};
    /* 2.5 req/s for 3 s: floor(7.5) = 7 requests; then 2 req/s for 2 s: 4 */
    es_workload_t *w = make(&f,
                            "data: {type: shared_prefix, shared_prefix: {num_groups: 2, num_prompts_per_group: 3}}\n"
                            "load: {type: constant, interval: 0.5, num_workers: 1,\n"
                            "       stages: [{rate: 2.5, duration: 3}, {rate: 2, duration: 2}]}\n",
                            "current", 7);
    sent_t s[32];
    size_t n = run_ideal(w, 2 * ES_S, s, 32);
    assert_int_equal(n, 11);
    double want[7];
    constant_by_hand(7, 0, 2.5, 3, 7, 0, want);
    for (size_t k = 0; k < 7; k++) {
        assert_int_equal(s[k].stage, 0);
        assert_true(fabs(es_time_to_s(s[k].t) - want[k]) < 1e-8);
    }
    /* the last request of a constant stage lands exactly at start + 1 + duration */
    assert_true(fabs(es_time_to_s(s[6].t) - 4.0) < 1e-8);
    /* stage 0 drains at 4 + 2 = 6 s; stage 1 starts 0.5 s later */
    es_time_t st, en;
    double rate;
    es_workload_stage(w, 0, &rate, &st, &en);
    assert_true(rate == 2.5 && st == 0 && en == 6 * ES_S);
    es_workload_stage(w, 1, &rate, &st, &en);
    assert_true(st == 6 * ES_S + ES_S / 2);
    double want1[4];
    constant_by_hand(7, 1, 2, 2, 4, 6.5, want1);
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(s[7 + k].stage, 1);
        assert_true(fabs(es_time_to_s(s[7 + k].t) - want1[k]) < 1e-8);
    }
    assert_true(en == s[10].t + 2 * ES_S);
    unmake(&f);
}

static void test_poisson_counts(void **state)
{
    (void)state;
    fx_t f = {0};
    es_workload_t *w = make(&f,
                            "data: {type: shared_prefix}\n"
                            "load: {type: poisson, num_workers: 1, stages: [{rate: 3, duration: 4}]}\n",
                            "current", 3);
    sent_t s[64];
    size_t n = run_ideal(w, ES_S / 10, s, 64);
    assert_int_equal(n, 12);   /* int(3 * 4) requests in all */
    /* by hand: a Poisson count per second from the stage's stream, each
     * second's requests at 1 + sec + its rescaled exponential gaps */
    es_rng_t r;
    es_rng_stream(&r, 3, ES_WL_ENTITY_STAGE, 0, ES_STREAM_ARRIVALS);
    gsl_rng *g = es_gsl_rng_new(&r);
    size_t k = 0;
    for (double sec = 0; k < 12; sec += 1) {
        unsigned c = gsl_ran_poisson(g, 3);
        if (c == 0) continue;
        double e[64], sum = 0;
        for (unsigned j = 0; j < c; j++) { e[j] = es_rng_exp(es_gsl_rng_state(g), 1.0 / c); sum += e[j]; }
        double t = 0;
        for (unsigned j = 0; j < c && k < 12; j++, k++) {
            t += e[j] / sum;
            assert_true(fabs(es_time_to_s(s[k].t) - (1 + sec + t)) < 1e-8);
        }
    }
    gsl_rng_free(g);
    unmake(&f);
}

static void test_concurrent_cap(void **state)
{
    (void)state;
    fx_t f = {0};
    /* 5 requests in one second, at most 2 in flight, each served in 3 s */
    es_workload_t *w = make(&f,
                            "data: {type: shared_prefix}\n"
                            "load: {type: concurrent, stages: [{num_requests: 5, concurrency_level: 2}]}\n",
                            "current", 11);
    sent_t s[8];
    size_t n = run_ideal(w, 3 * ES_S, s, 8);
    assert_int_equal(n, 5);
    double want[5];
    constant_by_hand(11, 0, 5, 1, 5, 0, want);
    assert_true(fabs(es_time_to_s(s[0].t) - want[0]) < 1e-8);
    assert_true(fabs(es_time_to_s(s[1].t) - want[1]) < 1e-8);
    /* the third waits for the first to end, the fourth for the second ... */
    assert_true(fabs(es_time_to_s(s[2].t) - (want[0] + 3)) < 1e-8);
    assert_true(fabs(es_time_to_s(s[3].t) - (want[1] + 3)) < 1e-8);
    assert_true(fabs(es_time_to_s(s[4].t) - (want[0] + 6)) < 1e-8);
    unmake(&f);
}

static void test_trace_replay(void **state)
{
    (void)state;
    fx_t f = {0};
    /* the first 3 timestamps of the trace (rate x duration = 3), from start + 1 s */
    es_workload_t *w = make(&f,
                            "data: {type: shared_prefix}\n"
                            "load: {type: trace_replay, num_workers: 1,\n"
                            "       trace: {file: tests/data/traces/azure2024_sample.csv},\n"
                            "       stages: [{rate: 1, duration: 3}]}\n",
                            "current", 1);
    sent_t s[8];
    size_t n = run_ideal(w, ES_S / 10, s, 8);
    assert_int_equal(n, 3);
    assert_true(s[0].t == ES_S);
    assert_true(llabs(s[1].t - (ES_S + 449570000)) < 2000);   /* 00:00:00.459500 - .009930 */
    unmake(&f);
}

/* ------------------------------------------------------------ data */

static void test_shared_prefix_round_robin(void **state)
{
    (void)state;
    fx_t f = {0};
    es_workload_t *w = make(&f,
                            "data: {type: shared_prefix, shared_prefix: {num_groups: 2, num_prompts_per_group: 3,\n"
                            "       system_prompt_len: 40, question_len: 7, output_len: 9}}\n"
                            "load: {type: constant, num_workers: 1, stages: [{rate: 14, duration: 1}]}\n",
                            "2025-10", 5);
    sent_t s[16];
    size_t n = run_ideal(w, ES_S / 100, s, 16);
    assert_int_equal(n, 14);
    for (size_t k = 0; k < 14; k++) {
        assert_int_equal(s[k].tokens, 47);
        assert_int_equal(s[k].nsegs, 2);
        if (k + 6 < 14) { assert_true(s[k].seg0 == s[k + 6].seg0); assert_true(s[k].seg1 == s[k + 6].seg1); }
    }
    /* six distinct prompts (questions), two distinct system prompts, three of each */
    size_t sys_a = 0;
    for (size_t k = 0; k < 6; k++) {
        for (size_t j = 0; j < k; j++) assert_true(s[k].seg1 != s[j].seg1);
        sys_a += s[k].seg0 == s[0].seg0;
    }
    assert_int_equal(sys_a, 3);
    unmake(&f);
}

static void test_multi_turn(void **state)
{
    (void)state;
    fx_t f = {0};
    /* 1 x 2 users: requests 0, 2 are user A; request 2 waits for 0's answer */
    es_workload_t *w = make(&f,
                            "data: {type: shared_prefix, shared_prefix: {num_unique_system_prompts: 1,\n"
                            "       num_users_per_system_prompt: 2, system_prompt_len: 10, question_len: 5,\n"
                            "       output_len: 3, enable_multi_turn_chat: true}}\n"
                            "load: {type: constant, num_workers: 1, stages: [{rate: 4, duration: 1}]}\n",
                            "current", 9);
    sent_t s[8];
    size_t n = run_ideal(w, 2 * ES_S, s, 8);
    assert_int_equal(n, 4);
    /* round 0: context (system prompt) + prompt (system prompt + question) */
    assert_int_equal(s[0].tokens, 25);
    assert_int_equal(s[1].tokens, 25);
    /* round 1: + the previous prompt and its answer: 25 + 15 + 3 */
    assert_int_equal(s[2].tokens, 43);
    double want[4];
    constant_by_hand(9, 0, 4, 1, 4, 0, want);
    assert_true(fabs(es_time_to_s(s[2].t) - (want[0] + 2)) < 1e-8);   /* waited for its user's answer */
    unmake(&f);
}

static void test_random_synthetic_sharegpt(void **state)
{
    (void)state;
    fx_t f = {0};
    es_workload_t *w = make(&f,
                            "data: {type: random,\n"
                            "       input_distribution: {min: 10, max: 20, mean: 15, std_dev: 0, total_count: 3},\n"
                            "       output_distribution: {min: 5, max: 5, mean: 5, std_dev: 1, total_count: 3}}\n"
                            "load: {type: constant, num_workers: 1, stages: [{rate: 5, duration: 1}]}\n",
                            "current", 2);
    sent_t s[8];
    assert_int_equal(run_ideal(w, ES_S / 100, s, 8), 5);
    for (size_t k = 0; k < 5; k++) {
        assert_int_equal(s[k].tokens, 15);
        for (size_t j = 0; j < k; j++) assert_true(s[k].seg0 != s[j].seg0);   /* fresh random tokens */
    }
    unmake(&f);
    w = make(&f,
             "data: {type: synthetic,\n"
             "       input_distribution: {min: 10, max: 90, mean: 50, std_dev: 30, total_count: 4},\n"
             "       output_distribution: {min: 5, max: 5, mean: 5, std_dev: 0, total_count: 4}}\n"
             "load: {type: constant, num_workers: 1, stages: [{rate: 6, duration: 1}]}\n",
             "current", 2);
    assert_int_equal(run_ideal(w, ES_S / 100, s, 8), 6);
    for (size_t k = 1; k < 6; k++) assert_true(s[k].seg0 == s[0].seg0);   /* one corpus: shared prefixes */
    assert_int_equal(s[4].tokens, s[0].tokens);                         /* entry k mod total_count */
    unmake(&f);
    w = make(&f,
             "data: {type: shareGPT, path: tests/data/traces/sharegpt_sample.csv}\n"
             "load: {type: constant, num_workers: 1, stages: [{rate: 2, duration: 1}]}\n",
             "current", 2);
    assert_int_equal(run_ideal(w, ES_S / 100, s, 8), 2);
    assert_int_equal(s[0].tokens, 74);
    assert_int_equal(s[1].tokens, 290);
    unmake(&f);
}

static void test_conversation_replay(void **state)
{
    (void)state;
    fx_t f = {0};
    /* 2 conversations of 2 turns: requests 0,1 turn 0; 2,3 turn 1; 4,5 new conversations */
    es_workload_t *w = make(&f,
                            "data: {type: conversation_replay, conversation_replay: {num_conversations: 2,\n"
                            "       shared_system_prompt_len: 100, turns_per_conversation: 2,\n"
                            "       input_tokens_per_turn: 10, output_tokens_per_turn: 4}}\n"
                            "load: {type: constant, num_workers: 1, stages: [{rate: 6, duration: 1}]}\n",
                            "current", 4);
    sent_t s[8];
    assert_int_equal(run_ideal(w, ES_S / 1000, s, 8), 6);
    assert_int_equal(s[0].tokens, 110);
    assert_int_equal(s[2].tokens, 100 + 10 + 4 + 10);          /* history + turn 1 */
    assert_int_equal(s[4].tokens, 110);                       /* a fresh conversation */
    assert_true(s[0].seg0 == s[5].seg0);                      /* the stage's shared system prompt */
    unmake(&f);
}


/* ------------------------------------------------------------ vllm bench serve */

static es_workload_t *make_vb(fx_t *f, const char *yaml, uint64_t seed)
{
    es_err_t err;
    es_err_clear(&err);
    assert_int_equal(es_doc_load_string("exp.yaml", yaml, strlen(yaml), &f->doc, &err), 0);
    assert_int_equal(es_schema_defaults(&es_workload_schema, &f->cfg, &err), 0);
    assert_int_equal(es_schema_load(&es_workload_schema, &f->cfg, f->doc->root, "workload", &err), 0);
    int rc = es_workload_create(&f->cfg, ".", seed, &f->w, &err);
    if (rc < 0) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    return f->w;
}

static void test_vllm_bench_random(void **state)
{
    (void)state;
    fx_t f = {0};
    /* rate inf: every request at once, fixed lengths, the chat template added, 3 in flight at most */
    es_workload_t *w = make_vb(&f, "vllm_bench: {dataset: random, num_prompts: 7, random_input_len: 2000,\n"
                                   "  random_output_len: 100, request_rate: inf, max_concurrency: 3, backend: openai-chat}\n", 1);
    sent_t s[8];
    assert_int_equal(run_ideal(w, ES_S, s, 8), 7);
    for (size_t k = 0; k < 7; k++) {
        assert_int_equal(s[k].tokens, 2009);
        assert_int_equal(s[k].nsegs, 2);
        assert_true(s[k].seg0 == s[0].seg0);                 /* the template's tokens */
        assert_true(s[k].t == (es_time_t)(k / 3) * ES_S);    /* waves of three */
    }
    es_time_t st, en;
    es_workload_stage(w, 0, NULL, &st, &en);
    assert_true(st == 0 && en == 3 * ES_S);
    bool streaming;
    uint32_t per, trail;
    assert_true(es_workload_client_stamps(w, &streaming, &per, &trail));
    assert_true(streaming && per == 1 && trail == 0);
    assert_true(es_workload_client_timeout_s(w) == 6 * 3600);
    unmake(&f);
    /* a rate with burstiness: gamma gaps of shape b, mean 1 / rate, the first at once */
    w = make_vb(&f, "vllm_bench: {num_prompts: 4, random_input_len: 10, random_output_len: 2, request_rate: 5,\n"
                    "  burstiness: 0.5}\n", 3);
    assert_int_equal(run_ideal(w, ES_MS, s, 8), 4);
    es_rng_t r;
    es_rng_stream(&r, 3, ES_WL_ENTITY_STAGE, 0, ES_STREAM_ARRIVALS);
    gsl_rng *g = es_gsl_rng_new(&r);
    double t = 0;
    for (size_t k = 0; k < 4; k++) {
        assert_true(fabs(es_time_to_s(s[k].t) - t) < 1e-8);
        assert_int_equal(s[k].tokens, 10);
        t += gsl_ran_gamma(g, 0.5, 1.0 / (5 * 0.5));
    }
    gsl_rng_free(g);
    unmake(&f);
}

static void test_vllm_bench_result(void **state)
{
    (void)state;
    fx_t f = {0};
    /* the saved result's own lengths (--save-detailed), its cap and backend */
    es_workload_t *w = make_vb(&f, "vllm_bench: {result: tests/data/vllm-bench/result-detailed.json}\n", 1);
    sent_t s[8];
    assert_int_equal(run_ideal(w, ES_S, s, 8), 4);
    assert_int_equal(s[0].tokens, 109);
    assert_int_equal(s[3].tokens, 409);
    assert_true(s[2].t == ES_S);                      /* max_concurrency 2 */
    unmake(&f);
    /* sharegpt without lengths: sums matched to the run's totals (approximate) */
    es_vb_config_t c;
    es_err_t err;
    es_doc_t *doc;
    const char *y = "{dataset: sharegpt, num_prompts: 100, total_input_tokens: 23260, total_output_tokens: 22061}\n";
    assert_int_equal(es_doc_load_string("vb.yaml", y, strlen(y), &doc, &err), 0);
    assert_int_equal(es_vb_parse(doc->root, ".", 5, &c, &err), 0);
    uint64_t si = 0, so = 0;
    for (size_t i = 0; i < 100; i++) { si += c.input_lens[i]; so += c.output_lens[i]; }
    assert_true(c.approximate);
    assert_true(llabs((long long)si - 23260) <= 50 && llabs((long long)so - 22061) <= 50);   /* rounding per request */
    assert_false(c.chat);
    es_vb_fini(&c);
    es_doc_destroy(doc);
    /* errors name the key */
    y = "{num_prompts: 0}\n";
    assert_int_equal(es_doc_load_string("vb.yaml", y, strlen(y), &doc, &err), 0);
    assert_int_equal(es_vb_parse(doc->root, ".", 5, &c, &err), ES_ERANGE);
    assert_non_null(strstr(err.msg, "vb.yaml:1: workload.vllm_bench.num_prompts"));
    es_doc_destroy(doc);
    /* totals no request can reach (a fuzzer's 3.2e13 tokens over 3 prompts): refused, not cast */
    y = "{dataset: sharegpt, num_prompts: 3,\n total_input_tokens: 31799700000000}\n";
    assert_int_equal(es_doc_load_string("vb.yaml", y, strlen(y), &doc, &err), 0);
    assert_int_equal(es_vb_parse(doc->root, ".", 5, &c, &err), ES_EINVAL);
    assert_non_null(strstr(err.msg, "vb.yaml:2: workload.vllm_bench.total_input_tokens"));
    es_doc_destroy(doc);
    y = "{dataset: sharegpt, num_prompts: 2, total_output_tokens: 900000000}\n";
    assert_int_equal(es_doc_load_string("vb.yaml", y, strlen(y), &doc, &err), 0);
    assert_int_equal(es_vb_parse(doc->root, ".", 5, &c, &err), ES_EINVAL);
    assert_non_null(strstr(err.msg, "workload.vllm_bench.total_output_tokens"));
    es_doc_destroy(doc);
}


/* eppsim's own rate stages with drain_stages (the scenarios copied from published benchmarks) */
static void test_own_stages_drain(void **state)
{
    (void)state;
    fx_t f = {0};
    es_workload_t *w = make_vb(&f, "type: shared_prefix\nnum_requests: 0\n"
                                   "arrival: {process: constant, drain_stages: true, stage_interval_s: 0.5,\n"
                                   "          stages: [{rate: 2, duration_s: 2}, {rate: 1, duration_s: 2}]}\n", 1);
    sent_t s[16];
    /* stage 0: 0, 0.5, 1, 1.5 s; each served 3 s: drained at 4.5 s, stage 1 from 5 s: 5, 6 */
    assert_int_equal(run_ideal(w, 3 * ES_S, s, 16), 6);
    static const double want[6] = {0, 0.5, 1, 1.5, 5, 6};
    for (size_t k = 0; k < 6; k++) {
        assert_true(fabs(es_time_to_s(s[k].t) - want[k]) < 1e-9);
        assert_int_equal(s[k].stage, k < 4 ? 0 : 1);
    }
    es_time_t st, en;
    es_workload_stage(w, 1, NULL, &st, &en);
    assert_true(st == 5 * ES_S && en == 7 * ES_S);
    unmake(&f);
    /* without draining the same stages carry the backlog: stage 1 starts at 2 s */
    w = make_vb(&f, "type: shared_prefix\nnum_requests: 0\n"
                    "arrival: {process: constant, stages: [{rate: 2, duration_s: 2}, {rate: 1, duration_s: 2}]}\n", 1);
    assert_int_equal(run_ideal(w, 3 * ES_S, s, 16), 6);
    assert_true(s[4].t == 2 * ES_S && s[5].t == 3 * ES_S);
    unmake(&f);
}


/* prompt_scale: random-token text grows when re-tokenised */
static void test_prompt_scale(void **state)
{
    (void)state;
    fx_t f = {0};
    es_workload_t *w = make_vb(&f, "inference_perf:\n  version: 2025-10\n  prompt_scale: 1.05\n  config:\n"
                                   "    data: {type: shared_prefix, shared_prefix: {num_groups: 1, num_prompts_per_group: 1,\n"
                                   "           system_prompt_len: 100, question_len: 466, output_len: 9}}\n"
                                   "    load: {type: constant, num_workers: 1, stages: [{rate: 1, duration: 1}]}\n", 1);
    sent_t s[2];
    assert_int_equal(run_ideal(w, ES_MS, s, 2), 1);
    assert_int_equal(s[0].tokens, 105 + 489);   /* round(100 x 1.05) + round(466 x 1.05) */
    unmake(&f);
}

/* a prompt_scale that takes a length past 1e9 tokens (and past uint32): refused at
 * prompt_scale, naming the length it scales, not cast out of range */
static void test_prompt_scale_too_long(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"10", "    data: {type: random, input_distribution: {min: 1, max: 1000000000, mean: 1000000000, std_dev: 0},\n"
               "           output_distribution: {min: 1, max: 10, mean: 5, std_dev: 0}}\n",
         "exp.yaml:3: workload.inference_perf.prompt_scale: 10 makes data.input_distribution (up to 1000000000 tokens) "
         "1e+10 tokens long (at most 1000000000)"},
        {"10", "    data: {type: conversation_replay, conversation_replay: {input_tokens_per_turn:\n"
               "           {min: 1, max: 500000000, mean: 500000000, std_dev: 0}}}\n",
         "10 makes data.conversation_replay.input_tokens_per_turn (up to 500000000 tokens) 5e+09 tokens long"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "inference_perf:\n  version: current\n  prompt_scale: %s\n  config:\n%s"
                 "    load: {type: constant, num_workers: 1, stages: [{rate: 1, duration: 1}]}\n",
                 cases[k][0], cases[k][1]);
        es_doc_t *doc;
        es_err_t err;
        es_err_clear(&err);
        assert_int_equal(es_doc_load_string("exp.yaml", text, strlen(text), &doc, &err), 0);
        es_workload_config_t cfg;
        assert_int_equal(es_schema_defaults(&es_workload_schema, &cfg, &err), 0);
        assert_int_equal(es_schema_load(&es_workload_schema, &cfg, doc->root, "workload", &err), 0);
        es_workload_t *w = NULL;
        int rc = es_workload_create(&cfg, ".", 1, &w, &err);
        if (rc != ES_ERANGE) fail_msg("case %zu: rc %d: %s", k, rc, err.msg);
        if (!strstr(err.msg, cases[k][2])) fail_msg("case %zu: %s", k, err.msg);
        es_schema_fini(&es_workload_schema, &cfg);
        es_doc_destroy(doc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_2025_10_run),     cmocka_unit_test(test_reader_versions),
        cmocka_unit_test(test_reader_errors),          cmocka_unit_test(test_constant_stages_drain),
        cmocka_unit_test(test_poisson_counts),         cmocka_unit_test(test_concurrent_cap),
        cmocka_unit_test(test_trace_replay),           cmocka_unit_test(test_shared_prefix_round_robin),
        cmocka_unit_test(test_multi_turn),             cmocka_unit_test(test_random_synthetic_sharegpt),
        cmocka_unit_test(test_conversation_replay),     cmocka_unit_test(test_vllm_bench_random),
        cmocka_unit_test(test_vllm_bench_result),      cmocka_unit_test(test_own_stages_drain),
        cmocka_unit_test(test_prompt_scale),
        cmocka_unit_test(test_prompt_scale_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
