/* The server model at the server (no gateway): fidelity of TTFT and ITL
 * against the measured whole-model points, prefix hits, eviction order,
 * preemption, token budget and chunking, TP, max_model_len, LoRA, crash,
 * abort; fast-forward against the per-step path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "harness.h"

static void run(harness_t *h) { es_sim_run(h->sim, ES_TIME_NEVER); }

static void near(double got, double want, double rel, const char *what)
{
    double e = got / want - 1;
    printf("  %-34s measured %9.1f us model %9.1f us (%+.1f%%)\n", what, want, got, 100 * e);
    assert_true(e < rel && e > -rel);
}

/* Lone prompts: TTFT is one prefill step. */
static void prefill_point(const char *gpu, uint32_t tokens, double want_us)
{
    harness_t h;
    h_config(&h, gpu);
    assert_int_equal(h_start(&h), 0);
    rec_t q;
    rec_init(&q, 1000, tokens, 1);
    es_server_submit(h.srv, &q.r);
    run(&h);
    assert_int_equal(q.nfinish, 1);
    assert_int_equal(q.r.status, ES_SERVER_OK);
    char what[64];
    snprintf(what, sizeof what, "%s TTFT prompt %u", gpu, tokens);
    near(es_time_to_ms(q.r.first_token - q.r.submitted) * 1000, want_us, 0.08, what);
    h_stop(&h);
}

/* B prompts of L-1 tokens prefilled in one step, then one decode step over
 * L keys each; optionally a T-token prompt arrives with the decode step. */
static void decode_point(const char *gpu, uint32_t T, uint32_t B, uint32_t L, double want_us)
{
    harness_t h;
    h_config(&h, gpu);
    h.cfg.max_num_batched_tokens = (int64_t)B * L + T + 16;
    h.cfg.max_num_seqs = B + 1;
    assert_int_equal(h_start(&h), 0);
    rec_t *q = calloc(B + 1, sizeof *q);
    for (uint32_t i = 0; i < B; i++) rec_init(&q[i], 1000 + 2 * i, L - 1, 2);
    if (T) {
        rec_init(&q[B], 999999, T, 1);
        h.chain = &q[B];
        h.chain_after = B;
    }
    for (uint32_t i = 0; i < B; i++) es_server_submit(h.srv, &q[i].r);
    run(&h);
    for (uint32_t i = 0; i < B + (T ? 1 : 0); i++) assert_int_equal(q[i].nfinish, 1);
    assert_int_equal(h.gap_count, B);
    char what[64];
    if (T) {
        snprintf(what, sizeof what, "%s mixed T=%u B=%u L=%u", gpu, T, B, L);
        near(es_time_to_ms(q[B].r.first_token - q[B].r.submitted) * 1000, want_us, 0.08, what);
        assert_int_equal(h.first_gap, q[B].r.first_token - q[B].r.submitted);
    } else {
        snprintf(what, sizeof what, "%s ITL B=%u L=%u", gpu, B, L);
        near(es_time_to_ms(h.first_gap) * 1000, want_us, 0.08, what);
    }
    free(q);
    h_stop(&h);
}

static void test_fidelity(void **st)
{
    (void)st;
    prefill_point("h100-sxm-80gb", 512, 15996.9);
    prefill_point("h100-sxm-80gb", 2048, 59542.7);
    prefill_point("h100-sxm-80gb", 8192, 263269.4);
    decode_point("h100-sxm-80gb", 0, 1, 1024, 7525.7);
    decode_point("h100-sxm-80gb", 0, 32, 1024, 9451.1);
    decode_point("h100-sxm-80gb", 0, 128, 2048, 20245.1);
    decode_point("h100-sxm-80gb", 512, 32, 1024, 20041.0);
    decode_point("h100-sxm-80gb", 2048, 64, 2048, 68508.5);
    decode_point("h100-sxm-80gb", 1024, 128, 1024, 39188.3);
    decode_point("h100-sxm-80gb", 256, 256, 512, 21947.4);
    prefill_point("h200-sxm", 512, 15817.4);
    prefill_point("h200-sxm", 2048, 57532.4);
    prefill_point("h200-sxm", 8192, 253233.2);
    decode_point("h200-sxm", 0, 1, 1024, 5937.4);
    decode_point("h200-sxm", 0, 32, 1024, 7467.5);
    decode_point("h200-sxm", 0, 128, 2048, 15914.6);
    decode_point("h200-sxm", 512, 32, 1024, 18562.6);
    decode_point("h200-sxm", 2048, 64, 2048, 65531.4);
    decode_point("h200-sxm", 1024, 128, 1024, 36989.5);
    decode_point("h200-sxm", 256, 256, 512, 20527.2);
}

/* A decode-only run: every step is one pooled batch of gaps; tokens add up. */
static void test_decode_tokens_and_gaps(void **st)
{
    (void)st;
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    assert_int_equal(h_start(&h), 0);
    rec_t q[3];
    uint32_t outs[3] = {100, 37, 1};
    for (int i = 0; i < 3; i++) { rec_init(&q[i], 10 + 2 * (uint64_t)i, 100 + 50 * (uint32_t)i, outs[i]); es_server_submit(h.srv, &q[i].r); }
    run(&h);
    es_server_stats_t s;
    es_server_stats(h.srv, &s);
    for (int i = 0; i < 3; i++) { assert_int_equal(q[i].nfinish, 1); assert_int_equal(q[i].nfirst, 1); }
    assert_int_equal(h.gap_count, 99 + 36);              /* out - 1 gaps each */
    assert_int_equal(s.decode_tokens, 99 + 36);
    assert_int_equal(s.steps, 100);                      /* 1 prefill + 99 decode steps */
    assert_int_equal(s.prefill_tokens, 100 + 150 + 200);
    assert_int_equal(es_server_free_blocks(h.srv), es_server_num_gpu_blocks(h.srv) - 1);
    assert_true(q[1].r.finish < q[0].r.finish);
    h_stop(&h);
}

/* A repeated prompt of n tokens hits floor((n-1)/16)*16. */
static void test_prefix_hits(void **st)
{
    (void)st;
    uint32_t ns[] = {1, 2, 15, 16, 17, 32, 33, 1000, 4096};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        harness_t h;
        h_config(&h, "h100-sxm-80gb");
        assert_int_equal(h_start(&h), 0);
        rec_t a, b;
        rec_init(&a, 5, ns[i], 4);
        rec_init(&b, 5, ns[i], 4);
        es_server_submit(h.srv, &a.r);
        run(&h);
        es_server_submit(h.srv, &b.r);
        run(&h);
        assert_int_equal(a.r.cached_tokens, 0);
        assert_int_equal(b.r.cached_tokens, (ns[i] - 1) / 16 * 16);
        es_endpoint_metrics_t m;
        es_server_metrics(h.srv, &m);
        assert_int_equal(m.prefix_queries, 2 * ns[i]);
        assert_int_equal(m.prefix_hits, (ns[i] - 1) / 16 * 16);
        assert_float_equal(m.kv_cache_usage, 0, 1e-12);   /* idle warm cache reads 0 */
        h_stop(&h);
    }
    /* shared first segment, distinct rest: only the shared full blocks hit */
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    assert_int_equal(h_start(&h), 0);
    rec_t a, b;
    rec_init(&a, 7, 100, 2);
    rec_init(&b, 8, 100, 2);
    a.seg[0].len = 40; a.seg[1] = (es_segment_t){70, 60}; a.r.prompt.nsegs = 2;
    b.seg[0] = (es_segment_t){7, 40}; b.seg[1] = (es_segment_t){80, 60}; b.r.prompt.nsegs = 2;
    es_server_submit(h.srv, &a.r);
    run(&h);
    es_server_submit(h.srv, &b.r);
    run(&h);
    assert_int_equal(b.r.cached_tokens, 32);
    /* a LoRA adapter never shares the base model's blocks */
    h_stop(&h);
}

/* Freed blocks keep their hashes; reverse freeing puts a request's tail
 * blocks nearer the head, so they are evicted first. */
static void test_eviction_order(void **st)
{
    (void)st;
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    h.cfg.num_gpu_blocks = 5;   /* 4 usable */
    assert_int_equal(h_start(&h), 0);
    rec_t a, b, a2;
    rec_init(&a, 100, 49, 1);   /* 3 full blocks + 1 partial */
    es_server_submit(h.srv, &a.r);
    run(&h);
    assert_int_equal(h.kv_stored, 3);
    rec_init(&b, 200, 20, 1);   /* needs 2 blocks: the fresh partial one, then a's 3rd */
    es_server_submit(h.srv, &b.r);
    run(&h);
    assert_int_equal(h.kv_removed, 1);
    rec_init(&a2, 100, 49, 1);
    es_server_submit(h.srv, &a2.r);
    run(&h);
    assert_int_equal(a2.r.cached_tokens, 32);
    h_stop(&h);

    /* across requests: least recently freed first */
    h_config(&h, "h100-sxm-80gb");
    h.cfg.num_gpu_blocks = 5;
    assert_int_equal(h_start(&h), 0);
    rec_t x, y, z, x2, y2;
    rec_init(&x, 300, 32, 1);   /* 2 blocks each (full, cached) */
    rec_init(&y, 400, 32, 1);
    es_server_submit(h.srv, &x.r);
    run(&h);
    es_server_submit(h.srv, &y.r);
    run(&h);
    rec_init(&z, 500, 17, 1);   /* 2 blocks: evicts x's, which was freed first */
    es_server_submit(h.srv, &z.r);
    run(&h);
    rec_init(&y2, 400, 32, 1);
    rec_init(&x2, 300, 32, 1);
    es_server_submit(h.srv, &y2.r);
    run(&h);
    assert_int_equal(y2.r.cached_tokens, 16);
    es_server_submit(h.srv, &x2.r);
    run(&h);
    assert_int_equal(x2.r.cached_tokens, 0);
    h_stop(&h);
}

/* KV exhaustion preempts (recompute) and every request still finishes once. */
static void preempt_case(int policy, uint32_t thr)
{
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    h.cfg.num_gpu_blocks = 40;
    h.cfg.scheduling_policy = policy;
    h.cfg.long_prefill_token_threshold = thr;
    assert_int_equal(h_start(&h), 0);
    enum { N = 12 };
    rec_t q[N];
    for (int i = 0; i < N; i++) {
        rec_init(&q[i], 1000 + 2 * (uint64_t)i, 40 + 13 * (uint32_t)i, 90 + 7 * (uint32_t)i);
        q[i].r.priority = i % 3;
        es_server_submit(h.srv, &q[i].r);
    }
    run(&h);
    es_server_stats_t s;
    es_server_stats(h.srv, &s);
    uint64_t gaps = 0, pre = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(q[i].nfinish, 1);
        assert_int_equal(q[i].nfirst, 1);
        assert_int_equal(q[i].r.status, ES_SERVER_OK);
        assert_true(q[i].r.finish >= q[i].r.first_token);
        gaps += q[i].r.output_tokens - 1;
        pre += q[i].r.preemptions;
    }
    printf("  policy %d thr %u: %llu preemptions, %llu steps\n", policy, thr, (unsigned long long)s.preemptions,
           (unsigned long long)s.steps);
    assert_true(s.preemptions > 0);
    assert_int_equal(pre, s.preemptions);
    assert_int_equal(h.gap_count, gaps);    /* each token's gap reported exactly once */
    assert_int_equal(es_server_free_blocks(h.srv), 39);
    es_endpoint_metrics_t m;
    es_server_metrics(h.srv, &m);
    assert_int_equal(m.running, 0);
    assert_int_equal(m.waiting, 0);
    h_stop(&h);
}

static void test_preemption(void **st)
{
    (void)st;
    preempt_case(ES_POLICY_FCFS, 0);
    preempt_case(ES_POLICY_PRIORITY, 0);
    preempt_case(ES_POLICY_FCFS, 24);
    preempt_case(ES_POLICY_PRIORITY, 24);
}

/* Hand-computed compositions: budget 100, A = 250 tokens, B = 30 tokens. */
static void test_budget_and_chunking(void **st)
{
    (void)st;
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    h.cfg.max_num_batched_tokens = 100;
    h.cfg.max_num_seqs = 8;
    assert_int_equal(h_start(&h), 0);
    rec_t a, b;
    rec_init(&a, 1, 250, 3);
    rec_init(&b, 3, 30, 3);
    es_server_submit(h.srv, &a.r);
    es_server_submit(h.srv, &b.r);
    run(&h);
    es_server_t *s = h.srv;
    uint32_t q1 = 100, p1 = 0, q2 = 100, p2 = 100;
    uint32_t q3[] = {50, 30}, p3[] = {200, 0};
    /* step 1: A 100; step 2: A 100; step 3: A's last 50 + B admitted with 30 */
    double t1 = es_server_step_time_us(s, 1, &q1, &p1, 0, 0);
    double t2 = es_server_step_time_us(s, 1, &q2, &p2, 0, 0);
    double t3 = es_server_step_time_us(s, 2, q3, p3, 0, 0);
    es_time_t ttft = es_time_from_us(t1) + es_time_from_us(t2) + es_time_from_us(t3);
    assert_int_equal(a.r.first_token, ttft);
    assert_int_equal(b.r.first_token, ttft);
    assert_int_equal(b.r.admitted, es_time_from_us(t1) + es_time_from_us(t2));
    /* steps 4, 5: two decodes over 251+252 and 31+32 keys */
    double t4 = es_server_step_time_us(s, 0, NULL, NULL, 2, 251 + 31);
    double t5 = es_server_step_time_us(s, 0, NULL, NULL, 2, 252 + 32);
    assert_int_equal(a.r.finish, ttft + es_time_from_us(t4) + es_time_from_us(t5));
    es_server_stats_t stt;
    es_server_stats(s, &stt);
    assert_int_equal(stt.steps, 5);
    h_stop(&h);

    /* with long_prefill_token_threshold 40: step 1 A 40 + B 30; step 2 B
     * decodes first, then A 40; ... A needs ceil(250/40) = 7 chunks */
    h_config(&h, "h100-sxm-80gb");
    h.cfg.max_num_batched_tokens = 100;
    h.cfg.max_num_seqs = 8;
    h.cfg.long_prefill_token_threshold = 40;
    assert_int_equal(h_start(&h), 0);
    rec_init(&a, 1, 250, 3);
    rec_init(&b, 3, 30, 3);
    es_server_submit(h.srv, &a.r);
    es_server_submit(h.srv, &b.r);
    run(&h);
    s = h.srv;
    uint32_t qa[] = {40, 30}, pa[] = {0, 0};
    double u1 = es_server_step_time_us(s, 2, qa, pa, 0, 0);
    assert_int_equal(b.r.first_token, es_time_from_us(u1));
    uint32_t qq = 40, pp = 40;
    double u2 = es_server_step_time_us(s, 1, &qq, &pp, 1, 31);   /* B decodes over 31 keys + A 40 over 40 */
    pp = 80;
    double u3 = es_server_step_time_us(s, 1, &qq, &pp, 1, 32);   /* B's last token */
    assert_int_equal(b.r.finish, es_time_from_us(u1) + es_time_from_us(u2) + es_time_from_us(u3));
    es_server_stats(s, &stt);
    assert_int_equal(stt.steps, 7 + 2);   /* 7 chunks, then 2 decodes of A */
    h_stop(&h);
}

/* max_num_seqs and admission stopping at the first KV failure. */
static void test_admission_limits(void **st)
{
    (void)st;
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    h.cfg.max_num_seqs = 2;
    h.cfg.max_num_batched_tokens = 1000;
    assert_int_equal(h_start(&h), 0);
    rec_t q[3];
    for (int i = 0; i < 3; i++) { rec_init(&q[i], 50 + 2 * (uint64_t)i, 10, 5); es_server_submit(h.srv, &q[i].r); }
    es_sim_run(h.sim, 1);   /* run the first step's scheduling */
    es_endpoint_metrics_t m;
    es_server_metrics(h.srv, &m);
    assert_int_equal(m.running, 2);
    assert_int_equal(m.waiting, 1);
    run(&h);
    assert_true(q[2].r.admitted >= q[0].r.finish);
    h_stop(&h);
}

static void test_max_model_len(void **st)
{
    (void)st;
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    h.cfg.max_model_len = 1000;
    assert_int_equal(h_start(&h), 0);
    rec_t a, b, c;
    rec_init(&a, 1, 900, 200);
    rec_init(&b, 3, 900, 100);
    rec_init(&c, 5, 1001, 1);
    es_server_submit(h.srv, &a.r);
    es_server_submit(h.srv, &b.r);
    es_server_submit(h.srv, &c.r);
    assert_int_equal(a.nfinish, 1);   /* rejected at once */
    assert_int_equal(a.r.status, ES_SERVER_TOO_LONG);
    assert_int_equal(c.r.status, ES_SERVER_TOO_LONG);
    run(&h);
    assert_int_equal(b.r.status, ES_SERVER_OK);
    es_server_stats_t s;
    es_server_stats(h.srv, &s);
    assert_int_equal(s.rejected, 2);
    h_stop(&h);
    /* a sequence that can never fit the KV cache is rejected too */
    h_config(&h, "h100-sxm-80gb");
    h.cfg.num_gpu_blocks = 10;
    assert_int_equal(h_start(&h), 0);
    rec_init(&a, 1, 100, 100);   /* 13 blocks > 9 */
    es_server_submit(h.srv, &a.r);
    assert_int_equal(a.r.status, ES_SERVER_TOO_LONG);
    h_stop(&h);
}

/* The server owns adapter names: a request's lora string lives in a workload
 * record that is recycled (overwritten, freed) once the request ends, while
 * the adapter stays loaded and its name is published by scraped metrics. */
static void test_lora_names_outlive_records(void **st)
{
    (void)st;
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    h.cfg.max_loras = 1;
    h.cfg.lora_load_ms = 20;
    assert_int_equal(h_start(&h), 0);
    char *rec1 = malloc(16), *rec2 = malloc(16);
    assert_non_null(rec1);
    assert_non_null(rec2);
    snprintf(rec1, 16, "adapter-a");
    rec_t a1, a2;
    rec_init(&a1, 1, 100, 10);
    a1.r.lora = rec1;
    es_server_submit(h.srv, &a1.r);
    run(&h);
    /* the record is recycled: its bytes change, then it is freed */
    memset(rec1, 'X', 15);
    rec1[15] = '\0';
    free(rec1);
    snprintf(rec2, 16, "adapter-a");
    rec_init(&a2, 2, 100, 10);
    a2.r.lora = rec2;
    es_server_submit(h.srv, &a2.r);
    es_sim_run(h.sim, es_sim_now(h.sim) + 1);
    es_endpoint_metrics_t m;
    es_server_metrics(h.srv, &m);
    assert_int_equal(m.n_running_lora, 1);
    assert_string_equal(m.running_lora[0], "adapter-a");
    run(&h);
    es_server_stats_t s;
    es_server_stats(h.srv, &s);
    assert_int_equal(s.lora_loads, 1);   /* the same adapter, still loaded: no second load */
    free(rec2);
    h_stop(&h);
}

static void test_lora(void **st)
{
    (void)st;
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    h.cfg.max_loras = 1;
    h.cfg.lora_load_ms = 20;
    assert_int_equal(h_start(&h), 0);
    rec_t a1, b1, a2, base;
    rec_init(&a1, 1, 100, 10); a1.r.lora = "a";
    rec_init(&b1, 3, 100, 10); b1.r.lora = "b";
    rec_init(&a2, 5, 100, 10); a2.r.lora = "a";
    rec_init(&base, 7, 100, 10);
    es_server_submit(h.srv, &a1.r);
    es_server_submit(h.srv, &b1.r);
    es_server_submit(h.srv, &a2.r);
    es_server_submit(h.srv, &base.r);
    es_sim_run(h.sim, 1);
    es_endpoint_metrics_t m;
    es_server_metrics(h.srv, &m);
    assert_int_equal(m.running, 3);   /* a1, a2, base; b1 waits for a slot */
    assert_int_equal(m.n_running_lora, 1);
    assert_string_equal(m.running_lora[0], "a");
    assert_int_equal(m.n_waiting_lora, 1);
    assert_string_equal(m.waiting_lora[0], "b");
    assert_int_equal(m.max_lora, 1);
    run(&h);
    assert_true(b1.r.admitted >= a2.r.finish);
    es_server_stats_t s;
    es_server_stats(h.srv, &s);
    assert_int_equal(s.lora_loads, 2);
    /* the first step paid one adapter load */
    uint32_t q[] = {100, 100, 100}, p[] = {0, 0, 0};
    assert_int_equal(a1.r.first_token, es_time_from_us(es_server_step_time_us(h.srv, 3, q, p, 0, 0)) + 20 * ES_MS);
    h_stop(&h);
}

static void test_crash_and_abort(void **st)
{
    (void)st;
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    assert_int_equal(h_start(&h), 0);
    rec_t q[6];
    for (int i = 0; i < 6; i++) { rec_init(&q[i], 10 + 2 * (uint64_t)i, 300, 500); es_server_submit(h.srv, &q[i].r); }
    es_sim_run(h.sim, 200 * ES_MS);
    es_server_abort(h.srv, &q[0].r);
    assert_int_equal(q[0].nfinish, 1);
    assert_int_equal(q[0].r.status, ES_SERVER_ABORTED);
    es_server_abort(h.srv, &q[0].r);   /* already finished: nothing */
    assert_int_equal(q[0].nfinish, 1);
    es_sim_run(h.sim, 400 * ES_MS);
    es_server_crash(h.srv, ES_SERVER_UNAVAILABLE);
    for (int i = 0; i < 6; i++) assert_int_equal(q[i].nfinish, 1);
    for (int i = 1; i < 6; i++) assert_int_equal(q[i].r.status, ES_SERVER_UNAVAILABLE);
    assert_int_equal(h.kv_cleared, 1);
    es_endpoint_metrics_t m;
    es_server_metrics(h.srv, &m);
    assert_int_equal(m.running + m.waiting, 0);
    assert_float_equal(m.kv_cache_usage, 0, 1e-12);
    /* accepts requests again, cold cache */
    rec_t r;
    rec_init(&r, 10, 300, 5);
    es_server_submit(h.srv, &r.r);
    run(&h);
    assert_int_equal(r.r.status, ES_SERVER_OK);
    assert_int_equal(r.r.cached_tokens, 0);
    h_stop(&h);
}

/* P/D: a prefill-only request finishes with its first token; a decode-side
 * request with preloaded KV computes only its last prompt token. */
static void test_pd(void **st)
{
    (void)st;
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    assert_int_equal(h_start(&h), 0);
    rec_t p, d;
    rec_init(&p, 1, 2048, 100);
    p.r.prefill_only = true;
    rec_init(&d, 3, 2048, 3);
    d.r.kv_preloaded = true;
    es_server_submit(h.srv, &p.r);
    run(&h);
    assert_int_equal(p.r.finish, p.r.first_token);
    es_server_submit(h.srv, &d.r);
    run(&h);
    es_time_t ttft = d.r.first_token - d.r.submitted;
    assert_true(ttft < 10 * ES_MS);   /* one decode-sized step, not a 2048-token prefill */
    assert_int_equal(d.nfinish, 1);
    h_stop(&h);
}

/* P2P pull (hooks.kv_pull_*): the pulling pod of test_p2p_pull, whose
 * connector reads `src`'s host tier and finishes each pull `delay` later
 * (never, when 0), ok or not. */
typedef struct puller {
    harness_t    h;
    es_server_t *src;
    es_time_t    delay;
    bool         ok;
    uint32_t     from, to, starts;
    uint32_t     free_before, free_at_start;
    es_endpoint_metrics_t at_start;
    es_server_request_t  *parked;
} puller_t;

static uint32_t pl_lookup(void *ud, es_server_request_t *r, uint32_t max)
{
    puller_t *p = ud;
    return es_server_offloaded_prefix(p->src, &r->prompt, r->lora, max);
}

static void pl_done(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim; (void)arg;
    puller_t *p = target;
    es_server_kv_pull_done(p->h.srv, p->parked, p->ok);
}

static void pl_start(void *ud, es_server_request_t *r, uint32_t from, uint32_t to)
{
    puller_t *p = ud;
    p->from = from;
    p->to = to;
    p->starts++;
    p->parked = r;
    p->free_at_start = es_server_free_blocks(p->h.srv);
    es_server_metrics(p->h.srv, &p->at_start);
    if (p->delay) es_sim_schedule_in(p->h.sim, p->delay, pl_done, p, 0);
}

static void pl_finish(void *ud, es_server_request_t *r, es_time_t t) { h_finish(&((puller_t *)ud)->h, r, t); }

static void pl_init(puller_t *p, es_server_t *src, es_time_t delay, bool ok)
{
    memset(p, 0, sizeof *p);
    h_config(&p->h, "h100-sxm-80gb");
    p->h.cfg.vllm_fidelity = ES_FIDELITY_ON;   /* the host tier is a vLLM-version feature */
    p->h.cfg.kv_offloading_gib = 4;
    p->src = src;
    p->delay = delay;
    p->ok = ok;
    es_err_t err;
    es_err_clear(&err);
    p->h.sim = es_sim_create(1);
    es_server_hooks_t hooks = {p, NULL, pl_finish, NULL, NULL, pl_lookup, pl_start};
    assert_int_equal(es_server_create(p->h.sim, &p->h.cfg, &hooks, 0, &p->h.srv, &err), 0);
    p->free_before = es_server_free_blocks(p->h.srv);
}

static void probe_init(rec_t *q, uint64_t id)
{
    rec_init(q, id, 2048, 2);   /* the source's first 2000 tokens, then 48 of another segment */
    q->seg[0].id = 9; q->seg[0].len = 2000; q->seg[1] = (es_segment_t){77, 48}; q->r.prompt.nsegs = 2;
}

/* P2P pull: the source's host tier is what a peer reads (full blocks, the
 * adapter's chain apart, capped, nothing without offloading); a request
 * with kv_pull is parked at admission holding the pulled tokens' blocks
 * (counted as waiting, KV pressure shows), prefills only the rest once the
 * pull is in, and caches the pulled blocks; a failed pull computes them; an
 * abort while parked frees them. */
static void test_p2p_pull(void **st)
{
    (void)st;
    harness_t src, gpu_only;
    h_config(&src, "h100-sxm-80gb");
    src.cfg.vllm_fidelity = ES_FIDELITY_ON;
    src.cfg.kv_offloading_gib = 4;
    assert_int_equal(h_start(&src), 0);
    h_config(&gpu_only, "h100-sxm-80gb");
    assert_int_equal(h_start(&gpu_only), 0);
    rec_t a, a2, probe, lo;
    rec_init(&a, 9, 2000, 2);
    es_server_submit(src.srv, &a.r);
    run(&src);
    rec_init(&a2, 9, 2000, 2);
    es_server_submit(gpu_only.srv, &a2.r);
    run(&gpu_only);
    probe_init(&probe, 9);
    assert_int_equal(es_server_offloaded_prefix(src.srv, &probe.r.prompt, NULL, UINT32_MAX), 2000);
    assert_int_equal(es_server_offloaded_prefix(src.srv, &probe.r.prompt, NULL, 100), 96);
    assert_int_equal(es_server_offloaded_prefix(src.srv, &probe.r.prompt, "adapter", UINT32_MAX), 0);
    assert_int_equal(es_server_cached_prefix(gpu_only.srv, &probe.r.prompt, NULL, UINT32_MAX), 2000);
    assert_int_equal(es_server_offloaded_prefix(gpu_only.srv, &probe.r.prompt, NULL, UINT32_MAX), 0);

    rec_init(&lo, 10, 2048, 2);   /* the same prompt computed in full, for comparison */
    lo.seg[0].id = 9; lo.seg[0].len = 2000; lo.seg[1] = (es_segment_t){77, 48}; lo.r.prompt.nsegs = 2;
    harness_t cold;
    h_config(&cold, "h100-sxm-80gb");
    cold.cfg.vllm_fidelity = ES_FIDELITY_ON;
    assert_int_equal(h_start(&cold), 0);
    es_server_submit(cold.srv, &lo.r);
    run(&cold);
    es_time_t full = lo.r.first_token - lo.r.submitted;

    puller_t ok;
    pl_init(&ok, src.srv, 5 * ES_MS, true);
    probe.r.kv_pull = true;
    es_server_submit(ok.h.srv, &probe.r);
    run(&ok.h);
    assert_int_equal(ok.starts, 1);
    assert_int_equal(ok.from, 0);
    assert_int_equal(ok.to, 2000);
    assert_int_equal(ok.free_before - ok.free_at_start, 2000 / 16);   /* held while the bytes move */
    assert_int_equal(ok.at_start.waiting, 1);
    assert_int_equal(ok.at_start.running, 0);
    assert_int_equal(probe.r.cached_tokens, 2000);
    assert_int_equal(probe.nfinish, 1);
    es_time_t ttft = probe.r.first_token - probe.r.submitted;
    assert_true(ttft >= 5 * ES_MS);
    printf("  TTFT: computed %.2f ms, pulled (5 ms pull) %.2f ms\n", full / 1e6, ttft / 1e6);
    assert_true(ttft - 5 * ES_MS < full / 2);
    es_endpoint_metrics_t m;
    es_server_metrics(ok.h.srv, &m);
    assert_int_equal(m.prefix_hits, 0);   /* connector hits are not the GPU prefix cache's */
    assert_int_equal(es_server_cached_prefix(ok.h.srv, &probe.r.prompt, NULL, UINT32_MAX), 2048);
    assert_int_equal(es_server_free_blocks(ok.h.srv), ok.free_before);

    puller_t bad;   /* the source went away: the blocks are computed here */
    pl_init(&bad, src.srv, 5 * ES_MS, false);
    rec_t probe2;
    probe_init(&probe2, 9);
    probe2.r.kv_pull = true;
    es_server_submit(bad.h.srv, &probe2.r);
    run(&bad.h);
    assert_int_equal(bad.starts, 1);
    assert_int_equal(probe2.r.cached_tokens, 0);
    assert_int_equal(probe2.nfinish, 1);
    assert_true(probe2.r.first_token - probe2.r.submitted >= 5 * ES_MS + full * 9 / 10);
    assert_int_equal(es_server_free_blocks(bad.h.srv), bad.free_before);

    puller_t never;   /* aborted while parked: its blocks return */
    pl_init(&never, src.srv, 0, true);
    rec_t probe3;
    probe_init(&probe3, 9);
    probe3.r.kv_pull = true;
    es_server_submit(never.h.srv, &probe3.r);
    run(&never.h);
    assert_int_equal(never.starts, 1);
    assert_int_equal(probe3.nfinish, 0);
    assert_true(es_server_free_blocks(never.h.srv) < never.free_before);
    es_server_abort(never.h.srv, &probe3.r);
    assert_int_equal(probe3.nfinish, 1);
    assert_int_equal(probe3.r.status, ES_SERVER_ABORTED);
    assert_int_equal(es_server_free_blocks(never.h.srv), never.free_before);
    es_server_kv_pull_done(never.h.srv, &probe3.r, true);   /* a late arrival is ignored */
    run(&never.h);
    assert_int_equal(probe3.nfinish, 1);

    puller_t crash;   /* the pulling pod crashes while parked: 503 once */
    pl_init(&crash, src.srv, 0, true);
    rec_t probe4;
    probe_init(&probe4, 9);
    probe4.r.kv_pull = true;
    es_server_submit(crash.h.srv, &probe4.r);
    run(&crash.h);
    es_server_crash(crash.h.srv, ES_SERVER_UNAVAILABLE);
    assert_int_equal(probe4.nfinish, 1);
    assert_int_equal(probe4.r.status, ES_SERVER_UNAVAILABLE);
    assert_int_equal(es_server_free_blocks(crash.h.srv), crash.free_before);

    h_stop(&crash.h);
    h_stop(&never.h);
    h_stop(&bad.h);
    h_stop(&ok.h);
    h_stop(&cold);
    h_stop(&gpu_only);
    h_stop(&src);
}

/* P/D decode side with a connector (kv_preloaded + kv_pull): parked at its
 * first admission holding the prompt's blocks while the prompt's KV beyond
 * its own prefix hits is read ([hits, prompt - 1)), then one step for the
 * last token; a failed read computes the prompt here. */
static void test_pd_remote_read(void **st)
{
    (void)st;
    for (int ok = 0; ok < 2; ok++) {
        puller_t d;
        pl_init(&d, NULL, 20 * ES_MS, ok);
        rec_t q;
        rec_init(&q, 5, 2048, 3);
        q.r.kv_preloaded = true;
        q.r.kv_pull = true;
        es_server_submit(d.h.srv, &q.r);
        run(&d.h);
        assert_int_equal(d.starts, 1);
        assert_int_equal(d.from, 0);
        assert_int_equal(d.to, 2047);
        assert_int_equal(d.free_before - d.free_at_start, 2047 / 16);
        assert_int_equal(q.nfinish, 1);
        assert_int_equal(q.r.status, ES_SERVER_OK);
        assert_int_equal(q.r.cached_tokens, ok ? 2047 : 0);
        es_time_t ttft = q.r.first_token - q.r.submitted;
        if (ok) assert_true(ttft >= 20 * ES_MS && ttft < 40 * ES_MS);   /* the read and a decode-sized step */
        else assert_true(ttft >= 20 * ES_MS + 40 * ES_MS);               /* the read, then a 2k-token prefill */
        assert_int_equal(es_server_free_blocks(d.h.srv), d.free_before);
        h_stop(&d.h);
    }
    /* the decode pod's own prefix hits are not read again */
    puller_t d;
    pl_init(&d, NULL, 20 * ES_MS, true);
    rec_t warm, q;
    rec_init(&warm, 5, 2048, 1);
    es_server_submit(d.h.srv, &warm.r);
    run(&d.h);
    rec_init(&q, 5, 2048, 3);
    q.r.kv_preloaded = true;
    q.r.kv_pull = true;
    es_server_submit(d.h.srv, &q.r);
    run(&d.h);
    assert_int_equal(d.starts, 1);
    assert_int_equal(d.from, 2032);   /* 127 blocks hit: at most prompt - 1 tokens */
    assert_int_equal(d.to, 2047);
    assert_int_equal(q.r.cached_tokens, 2047);
    h_stop(&d.h);
}

/* The engine's own vision encoder (es_server_set_encoder): a step that
 * reaches an image's placeholders takes tokens x us_per_token longer; the
 * encoder cache spares a repeat; placeholders in the prefix cache need no
 * encoding; the encoder budget (max_num_batched_tokens image tokens a step)
 * stops a chunk before an image that does not fit. */
static void test_engine_encoder(void **st)
{
    (void)st;
    static const es_mm_item_t img[] = {{77, 576}}, three[] = {{81, 576}, {82, 576}, {83, 576}};
    es_time_t ttft[2];
    harness_t h[2];
    for (int on = 0; on < 2; on++) {
        h_config(&h[on], "h100-sxm-80gb");
        assert_int_equal(h_start(&h[on]), 0);
        es_server_set_encoder(h[on].srv, 10, 16);
        rec_t q;
        rec_init(&q, 77, 776, 1);
        q.seg[0] = (es_segment_t){on ? 77 : 76, 576};
        q.seg[1] = (es_segment_t){5, 200};
        q.r.prompt.nsegs = 2;
        q.r.mm = on ? img : NULL;
        q.r.nmm = on ? 1 : 0;
        es_server_submit(h[on].srv, &q.r);
        run(&h[on]);
        ttft[on] = q.r.first_token - q.r.submitted;
    }
    assert_int_equal(ttft[1] - ttft[0], 576 * 10 * ES_US);
    es_server_stats_t s;
    es_server_stats(h[1].srv, &s);
    assert_int_equal(s.encoder_tokens, 576);
    rec_t again, later;   /* the same image: first in the prefix cache, then behind new text */
    rec_init(&again, 77, 776, 1);
    again.seg[0] = (es_segment_t){77, 576};
    again.seg[1] = (es_segment_t){6, 200};
    again.r.prompt.nsegs = 2;
    again.r.mm = img;
    again.r.nmm = 1;
    es_server_submit(h[1].srv, &again.r);
    run(&h[1]);
    assert_int_equal(again.r.cached_tokens, 576);
    rec_init(&later, 9, 676, 1);
    later.seg[1] = (es_segment_t){77, 576};
    later.seg[0].len = 100;
    later.r.prompt.nsegs = 2;
    later.r.mm = img;
    later.r.nmm = 1;
    es_server_submit(h[1].srv, &later.r);
    run(&h[1]);
    es_server_stats(h[1].srv, &s);
    assert_int_equal(s.encoder_tokens, 576);   /* encoded once */
    h_stop(&h[0]);
    h_stop(&h[1]);
    /* three 576-token images and 100 text tokens under a 1024-token budget:
     * chunks of 576, 576, 676 (an image that does not fit waits), not 1024 + 804 */
    uint64_t steps[2];
    for (int on = 0; on < 2; on++) {
        harness_t b;
        h_config(&b, "h100-sxm-80gb");
        b.cfg.max_num_batched_tokens = 1024;
        assert_int_equal(h_start(&b), 0);
        es_server_set_encoder(b.srv, 10, 16);
        static es_segment_t segs[4] = {{81, 576}, {82, 576}, {83, 576}, {5, 100}};
        rec_t q;
        rec_init(&q, 81, 1828, 1);
        q.r.prompt = (es_content_t){segs, 4, 1828};
        q.r.mm = on ? three : NULL;
        q.r.nmm = on ? 3 : 0;
        es_server_submit(b.srv, &q.r);
        run(&b);
        assert_int_equal(q.r.status, ES_SERVER_OK);
        es_server_stats(b.srv, &s);
        steps[on] = s.steps;
        assert_int_equal(s.encoder_tokens, on ? 3 * 576 : 0);
        h_stop(&b);
    }
    assert_int_equal(steps[0], 2);
    assert_int_equal(steps[1], 3);
}

/* Random arrivals over time, shared prefixes, tight KV, both policies, with
 * and without a chunk threshold, some aborts: every request ends exactly
 * once, every non-first token's gap is reported once, all blocks return. */
typedef struct stress { harness_t *h; rec_t *q; int n; } stress_t;

static void stress_submit(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim;
    stress_t *x = target;
    es_server_submit(x->h->srv, &x->q[arg].r);
}

static void stress_abort(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim;
    stress_t *x = target;
    es_server_abort(x->h->srv, &x->q[arg].r);
}

static void test_stress(void **st)
{
    (void)st;
    for (int variant = 0; variant < 8; variant++) {
        harness_t h;
        h_config(&h, "h100-sxm-80gb");
        h.cfg.num_gpu_blocks = 120;
        h.cfg.max_num_batched_tokens = 256;
        h.cfg.max_num_seqs = 32;
        h.cfg.scheduling_policy = variant & 1 ? ES_POLICY_PRIORITY : ES_POLICY_FCFS;
        h.cfg.long_prefill_token_threshold = variant & 2 ? 48 : 0;
        h.cfg.kv_free_order = variant & 4 ? ES_FREE_APPEND : ES_FREE_FRESH_PREPEND;
        assert_int_equal(h_start(&h), 0);
        enum { N = 300 };
        rec_t *q = calloc(N, sizeof *q);
        stress_t x = {&h, q, N};
        es_rng_t rng;
        es_rng_seed(&rng, 7 + (uint64_t)variant);
        es_time_t t = 0;
        int aborts = 0;
        for (int i = 0; i < N; i++) {
            uint32_t plen = 1 + (uint32_t)(es_rng_u64(&rng) % 300), out = 1 + (uint32_t)(es_rng_u64(&rng) % 200);
            rec_init(&q[i], 100000 + 2 * (uint64_t)i, plen, out);
            q[i].seg[0] = (es_segment_t){1 + es_rng_u64(&rng) % 4, 64};   /* one of 4 shared prefixes */
            q[i].seg[1] = (es_segment_t){100000 + 2 * (uint64_t)i, plen};
            q[i].r.prompt.nsegs = 2;
            q[i].r.prompt.tokens = 64 + plen;
            q[i].r.priority = (int32_t)(es_rng_u64(&rng) % 4);
            t += (es_time_t)(es_rng_u64(&rng) % (20 * ES_MS));
            es_sim_schedule(h.sim, t, stress_submit, &x, (uint64_t)i);
            if (es_rng_u64(&rng) % 10 == 0) {
                es_sim_schedule(h.sim, t + (es_time_t)(es_rng_u64(&rng) % (500 * ES_MS)), stress_abort, &x,
                                (uint64_t)i);
                aborts++;
            } else {
                q[i].r.measured = i % 2 == 0;   /* ends well: all its gaps are reported */
            }
        }
        run(&h);
        es_server_stats_t s;
        es_server_stats(h.srv, &s);
        uint64_t gaps = 0, firsts = 0, measured = 0;
        int aborted = 0;
        for (int i = 0; i < N; i++) {
            assert_int_equal(q[i].nfinish, 1);
            assert_true(q[i].nfirst <= 1);
            firsts += (uint64_t)q[i].nfirst;
            if (q[i].r.status == ES_SERVER_ABORTED) { aborted++; continue; }
            assert_int_equal(q[i].r.status, ES_SERVER_OK);
            assert_int_equal(q[i].nfirst, 1);
            assert_true(q[i].r.first_token <= q[i].r.finish);
            gaps += q[i].r.output_tokens - 1;
            if (q[i].r.measured) measured += q[i].r.output_tokens - 1;
        }
        assert_true(firsts >= (uint64_t)(N - aborted));   /* every finished request saw its first token */
        printf("  variant %d: %llu steps, %llu preemptions, %d aborted of %d abort calls\n", variant,
               (unsigned long long)s.steps, (unsigned long long)s.preemptions, aborted, aborts);
        /* aborted requests may have reported some gaps: bound, not equality */
        assert_true(h.gap_count >= gaps);
        if (aborted == 0) assert_int_equal(h.gap_count, gaps);
        /* the `measured` split is exact, late decoders and preemptions included */
        assert_int_equal(h.measured_gap_count, measured);
        assert_int_equal(es_server_free_blocks(h.srv), 119);
        assert_int_equal(h.finished, N);
        free(q);
        h_stop(&h);
    }
}

/* ---- fast-forward: the same runs with server.fast_forward on and off ----
 *
 * A scenario is a list of actions at fixed times (submits, aborts, crashes,
 * probes that read /metrics and the counters), all scheduled before the run,
 * so that an action at the very nanosecond a step ends goes first on both
 * paths.  Both runs must give the same request records, the same multiset of
 * pooled gaps with their times, the same KV-event sequence and the same probe
 * readings; the run with fast-forward must not take more events. */

enum { A_SUBMIT, A_ABORT, A_CRASH, A_PROBE };

typedef struct ff_action { es_time_t t; uint32_t kind, idx; } ff_action_t;

typedef struct ff_gap { es_time_t t, gap; uint32_t n, measured; } ff_gap_t;

typedef struct ff_probe {
    es_endpoint_metrics_t m;
    es_server_stats_t     st;
} ff_probe_t;

typedef struct ff_case {
    es_server_config_t cfg;
    uint32_t           nreq;
    rec_t             *tmpl;     /* request templates (copied into each run) */
    ff_action_t       *acts;
    uint32_t           nacts, nprobes;
    es_time_t          until;    /* > 0: stop there, sync and read, then run on */
} ff_case_t;

typedef struct ff_run {
    es_sim_t     *sim;
    es_server_t  *srv;
    rec_t        *q;
    ff_gap_t     *gaps;
    size_t        ngaps, capgaps;
    ff_probe_t   *probes;        /* nprobes + 2: the probes, at `until`, at the end */
    uint64_t      kv_sig, kv_n, events;
    bool          api;           /* an API server delays tokens: gaps may be reported ahead of now */
    uint32_t      measure_mod;   /* request i is `measured` when i % 3 == measure_mod (3: none) */
} ff_run_t;

static void ff_on_gaps(void *ud, es_time_t t, es_time_t gap, uint32_t n, uint32_t measured)
{
    ff_run_t *x = ud;
    assert_true(x->api || t <= es_sim_now(x->sim));
    assert_true(measured <= n);
    if (x->ngaps == x->capgaps) {
        x->capgaps = x->capgaps ? 2 * x->capgaps : 1024;
        x->gaps = realloc(x->gaps, x->capgaps * sizeof *x->gaps);
        assert_non_null(x->gaps);
    }
    x->gaps[x->ngaps++] = (ff_gap_t){t, gap, n, measured};
}

static void ff_on_first(void *ud, es_server_request_t *r, es_time_t t)
{
    (void)ud;
    assert_int_equal(t, r->first_token);
    ((rec_t *)r)->nfirst++;
}

static void ff_on_finish(void *ud, es_server_request_t *r, es_time_t t)
{
    (void)ud;
    assert_int_equal(t, r->finish);
    ((rec_t *)r)->nfinish++;
}

static void ff_on_kv(void *ud, const es_kv_event_t *ev)
{
    ff_run_t *x = ud;
    x->kv_sig = es_mix64(x->kv_sig ^ es_mix64(((uint64_t)ev->kind << 56) ^ ev->block_hash ^ (uint64_t)ev->time));
    x->kv_n++;
}

static void ff_read(ff_run_t *x, ff_probe_t *p)
{
    es_server_metrics(x->srv, &p->m);
    es_server_stats(x->srv, &p->st);
}

static void ff_act(es_sim_t *sim, void *target, uint64_t arg)
{
    (void)sim;
    ff_run_t *x = target;
    uint32_t kind = (uint32_t)(arg >> 32), idx = (uint32_t)arg;
    switch (kind) {
    case A_SUBMIT: es_server_submit(x->srv, &x->q[idx].r); break;
    case A_ABORT:  es_server_abort(x->srv, &x->q[idx].r); break;
    case A_CRASH:  es_server_crash(x->srv, ES_SERVER_UNAVAILABLE); break;
    default:       ff_read(x, &x->probes[idx]); break;
    }
}

static void ff_run(const ff_case_t *c, bool fast_forward, uint32_t measure_mod, ff_run_t *x)
{
    memset(x, 0, sizeof *x);
    x->measure_mod = measure_mod;
    es_server_config_t cfg = c->cfg;
    cfg.fast_forward = fast_forward;
    x->api = cfg.vllm_fidelity == ES_FIDELITY_ON;
    x->sim = es_sim_create(1);
    es_server_hooks_t hooks = {x, ff_on_first, ff_on_finish, ff_on_gaps, ff_on_kv, NULL, NULL};
    es_err_t err;
    assert_int_equal(es_server_create(x->sim, &cfg, &hooks, 0, &x->srv, &err), 0);
    x->q = calloc(c->nreq, sizeof *x->q);
    x->probes = calloc(c->nprobes + 2, sizeof *x->probes);
    for (uint32_t i = 0; i < c->nreq; i++) {
        x->q[i] = c->tmpl[i];
        x->q[i].r.prompt.segs = x->q[i].seg;   /* the copy's own segments */
        x->q[i].r.measured = i % 3 == measure_mod;
    }
    for (uint32_t i = 0; i < c->nacts; i++)
        es_sim_schedule(x->sim, c->acts[i].t, ff_act, x, (uint64_t)c->acts[i].kind << 32 | c->acts[i].idx);
    if (c->until > 0) {
        es_sim_run(x->sim, c->until);
        es_server_sync(x->srv);
        ff_read(x, &x->probes[c->nprobes]);
    }
    es_sim_run(x->sim, ES_TIME_NEVER);
    ff_read(x, &x->probes[c->nprobes + 1]);
    x->events = es_sim_events_run(x->sim);
    for (uint32_t i = 0; i < c->nreq; i++) assert_int_equal(x->q[i].nfinish, 1);
}

static void ff_free(ff_run_t *x)
{
    es_server_destroy(x->srv);
    es_sim_destroy(x->sim);
    free(x->q);
    free(x->gaps);
    free(x->probes);
}

static int gap_cmp(const void *a, const void *b)
{
    const ff_gap_t *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    if (x->gap != y->gap) return x->gap < y->gap ? -1 : 1;
    if (x->n != y->n) return x->n < y->n ? -1 : 1;
    return (x->measured > y->measured) - (x->measured < y->measured);
}

static void stats_equal(const es_server_stats_t *a, const es_server_stats_t *b)
{
    assert_int_equal(a->steps, b->steps);
    assert_int_equal(a->seq_steps, b->seq_steps);
    assert_int_equal(a->prefill_tokens, b->prefill_tokens);
    assert_int_equal(a->decode_tokens, b->decode_tokens);
    assert_int_equal(a->preemptions, b->preemptions);
    assert_int_equal(a->rejected, b->rejected);
    assert_int_equal(a->finished, b->finished);
    assert_int_equal(a->lora_loads, b->lora_loads);
    assert_int_equal(a->busy, b->busy);
}

static void metrics_equal(const es_endpoint_metrics_t *a, const es_endpoint_metrics_t *b)
{
    assert_int_equal(a->update_time, b->update_time);
    assert_int_equal(a->waiting, b->waiting);
    assert_int_equal(a->running, b->running);
    assert_true(a->kv_cache_usage == b->kv_cache_usage);
    assert_int_equal(a->prefix_queries, b->prefix_queries);
    assert_int_equal(a->prefix_hits, b->prefix_hits);
    assert_int_equal(a->n_running_lora, b->n_running_lora);
    assert_int_equal(a->n_waiting_lora, b->n_waiting_lora);
}

/* Runs c both ways and asserts the same results; returns the two event
 * counts and prints them under `what` (NULL: quiet). */
static void ff_check(const ff_case_t *c, const char *what, uint64_t *ev_off, uint64_t *ev_on)
{
    ff_run_t a, b;
    ff_run(c, false, 0, &a);
    ff_run(c, true, 0, &b);
    /* the `measured` split: requests 1 and 2 mod 3 measured instead, in
     * runs that are otherwise the same (records in the same order), make up
     * every gap with those of 0 mod 3; none measured gives none */
    for (int ff = 0; ff < 2; ff++) {
        ff_run_t r1, r2, r3;
        const ff_run_t *r0 = ff ? &b : &a;
        ff_run(c, ff, 1, &r1);
        ff_run(c, ff, 2, &r2);
        ff_run(c, ff, 3, &r3);
        assert_int_equal(r1.ngaps, r0->ngaps);
        assert_int_equal(r2.ngaps, r0->ngaps);
        assert_int_equal(r3.ngaps, r0->ngaps);
        for (size_t i = 0; i < r0->ngaps; i++) {
            assert_int_equal(r1.gaps[i].n, r0->gaps[i].n);
            assert_int_equal(r0->gaps[i].measured + r1.gaps[i].measured + r2.gaps[i].measured, r0->gaps[i].n);
            assert_int_equal(r3.gaps[i].measured, 0);
        }
        ff_free(&r1);
        ff_free(&r2);
        ff_free(&r3);
    }
    /* each token after a request's first is one gap: when every measured
     * request ended well, the measured gaps are theirs */
    bool all_ok = true;
    uint64_t want = 0, got = 0;
    for (uint32_t i = 0; i < c->nreq; i += 3) {
        const es_server_request_t *x = &a.q[i].r;
        if (x->status != ES_SERVER_OK) all_ok = false;
        else if (!x->prefill_only) want += x->output_tokens - 1;
    }
    for (size_t i = 0; i < a.ngaps; i++) got += a.gaps[i].measured;
    if (all_ok) assert_int_equal(got, want);
    for (uint32_t i = 0; i < c->nreq; i++) {
        const es_server_request_t *x = &a.q[i].r, *y = &b.q[i].r;
        assert_int_equal(x->status, y->status);
        assert_int_equal(x->admitted, y->admitted);
        assert_int_equal(x->first_token, y->first_token);
        assert_int_equal(x->finish, y->finish);
        assert_int_equal(x->cached_tokens, y->cached_tokens);
        assert_int_equal(x->preemptions, y->preemptions);
        assert_int_equal(a.q[i].nfirst, b.q[i].nfirst);
    }
    assert_int_equal(a.ngaps, b.ngaps);
    qsort(a.gaps, a.ngaps, sizeof *a.gaps, gap_cmp);
    qsort(b.gaps, b.ngaps, sizeof *b.gaps, gap_cmp);
    for (size_t i = 0; i < a.ngaps; i++) {
        assert_int_equal(a.gaps[i].t, b.gaps[i].t);
        assert_int_equal(a.gaps[i].gap, b.gaps[i].gap);
        assert_int_equal(a.gaps[i].n, b.gaps[i].n);
        assert_int_equal(a.gaps[i].measured, b.gaps[i].measured);
    }
    assert_int_equal(a.kv_n, b.kv_n);
    assert_true(a.kv_sig == b.kv_sig);
    uint32_t nread = c->nprobes + (c->until > 0 ? 1 : 0);
    for (uint32_t i = 0; i < c->nprobes + 2; i++) {
        if (i == c->nprobes && c->until == 0) continue;
        metrics_equal(&a.probes[i].m, &b.probes[i].m);
        stats_equal(&a.probes[i].st, &b.probes[i].st);
    }
    assert_true(b.events <= a.events);
    if (what)
        printf("  %-28s %6llu steps, %7zu gap records, %4u readings; events %7llu per step, %6llu fast-forward\n",
           what, (unsigned long long)a.probes[c->nprobes + 1].st.steps, a.ngaps, nread,
           (unsigned long long)a.events, (unsigned long long)b.events);
    if (ev_off) *ev_off = a.events;
    if (ev_on) *ev_on = b.events;
    ff_free(&a);
    ff_free(&b);
}

static void ff_case_init(ff_case_t *c, uint32_t nreq, uint32_t nacts)
{
    memset(c, 0, sizeof *c);
    es_err_t err;
    es_schema_defaults(&es_server_schema, &c->cfg, &err);
    c->nreq = nreq;
    c->tmpl = calloc(nreq ? nreq : 1, sizeof *c->tmpl);
    c->acts = calloc(nacts, sizeof *c->acts);
}

static void ff_case_fini(ff_case_t *c)
{
    es_schema_fini(&es_server_schema, &c->cfg);
    free(c->tmpl);
    free(c->acts);
}

static void ff_add(ff_case_t *c, es_time_t t, uint32_t kind, uint32_t idx)
{
    c->acts[c->nacts++] = (ff_action_t){t, kind, idx};
}

/* A lone request decoding 4000 tokens: one event per stretch, not per step. */
static void test_ff_lone_decoder(void **st)
{
    (void)st;
    ff_case_t c;
    ff_case_init(&c, 1, 200);
    rec_init(&c.tmpl[0], 7, 100, 4000);
    ff_add(&c, 0, A_SUBMIT, 0);
    es_rng_t rng;
    es_rng_seed(&rng, 3);
    for (uint32_t i = 0; i < 150; i++) ff_add(&c, (es_time_t)es_rng_below(&rng, 40 * ES_S), A_PROBE, c.nprobes++);
    c.until = 17 * ES_S + 123457;
    uint64_t off, on;
    ff_check(&c, "lone decoder, 4000 tokens", &off, &on);
    uint32_t bs = (uint32_t)c.cfg.block_size;
    assert_true(off >= 4000);
    assert_true(on <= 3 * 4000 / bs);   /* about 2 per block: the block fills, a new one */
    ff_case_fini(&c);

    /* every step 5 ms: the stop time and the probes fall exactly on step ends */
    for (es_time_t until = ES_S; until < ES_S + 20 * 5 * ES_MS; until += 5 * ES_MS) {
        ff_case_init(&c, 1, 200);
        c.cfg.step_model = ES_STEP_LINEAR;
        c.cfg.cpu_overhead_us = 0;
        c.cfg.linear_c0_us = 5000;
        c.cfg.linear_c1_us = c.cfg.linear_c2_us = c.cfg.linear_c3_us = c.cfg.linear_c4_us = 0;
        rec_init(&c.tmpl[0], 7, 100, 1000);
        ff_add(&c, 0, A_SUBMIT, 0);
        for (uint32_t i = 0; i < 40; i++) ff_add(&c, until - 100 * ES_MS + 5 * ES_MS * i, A_PROBE, c.nprobes++);
        c.until = until;
        ff_check(&c, until == ES_S ? "lone decoder, 5 ms grid" : NULL, NULL, NULL);
        ff_case_fini(&c);
    }
}

/* Random workloads: shape 0 light load (long stretches, arrivals, aborts and
 * crashes inside them), 1 many decoders and tight KV (preemptions), 2 every
 * time on a 5 ms grid (actions land exactly on step ends), 3 P/D sides, LoRA,
 * priorities and chunked prefill. */
static void ff_random_case(ff_case_t *c, int shape, uint64_t seed)
{
    es_rng_t rng;
    es_rng_seed(&rng, seed);
    uint32_t n = shape == 1 ? 150 : 40;
    ff_case_init(c, n, 4 * n + 400);
    static const int64_t bss[] = {16, 16, 5, 32, 8, 1};
    c->cfg.block_size = bss[es_rng_below(&rng, 6)];
    c->cfg.enable_prefix_caching = es_rng_below(&rng, 4) != 0;
    es_time_t mean_gap = shape == 1 ? 40 * ES_MS : 3 * ES_S;
    uint32_t max_out = shape == 1 ? 600 : 2500;
    if (shape == 1) {
        c->cfg.num_gpu_blocks = 60 * 16 / c->cfg.block_size + 40;
        c->cfg.max_num_seqs = 48;
    }
    if (shape == 2) {
        c->cfg.step_model = ES_STEP_LINEAR;
        c->cfg.cpu_overhead_us = 0;
        c->cfg.linear_c0_us = 5000;
        c->cfg.linear_c1_us = c->cfg.linear_c2_us = c->cfg.linear_c3_us = c->cfg.linear_c4_us = 0;
        mean_gap = 500 * ES_MS;
    }
    if (shape == 4) {   /* vLLM 0.15.1: async engine CPU, an API server that falls behind at times */
        free(c->cfg.vllm_version);
        c->cfg.vllm_version = strdup(es_rng_below(&rng, 2) ? "0.15.1" : "0.11.0");
        c->cfg.vllm_fidelity = ES_FIDELITY_ON;
        c->cfg.api_server_count = 1 + (int64_t)es_rng_below(&rng, 2);
        c->cfg.api_chunk_us = (double)es_rng_below(&rng, 4000);
        c->cfg.api_request_us = (double)es_rng_below(&rng, 20000);
        c->cfg.num_gpu_blocks = 600;
        c->cfg.kv_offloading_gib = es_rng_below(&rng, 2) ? 0.4 : 0;   /* ~200 host blocks */
        mean_gap = 200 * ES_MS;
    }
    if (shape == 3) {
        c->cfg.max_loras = 2;
        c->cfg.scheduling_policy = ES_POLICY_PRIORITY;
        c->cfg.long_prefill_token_threshold = 32;
    }
    static const char *const loras[] = {"a1", "a2", "a3"};
    es_time_t t = 0, horizon = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t plen = 1 + (uint32_t)es_rng_below(&rng, 1500), out = 1 + (uint32_t)es_rng_below(&rng, max_out);
        rec_t *q = &c->tmpl[i];
        rec_init(q, 100000 + 2 * (uint64_t)i, plen, out);
        q->seg[0] = (es_segment_t){1 + es_rng_below(&rng, 4), 64};   /* one of 4 shared prefixes */
        q->seg[1] = (es_segment_t){100000 + 2 * (uint64_t)i, plen};
        q->r.prompt.nsegs = 2;
        q->r.prompt.tokens = 64 + plen;
        q->r.priority = (int32_t)es_rng_below(&rng, 4);
        if (shape == 3) {
            uint64_t k = es_rng_below(&rng, 8);
            if (k == 0) q->r.prefill_only = true;
            if (k == 1) q->r.kv_preloaded = true;
            if (k >= 5) q->r.lora = loras[k - 5];
        }
        t += (es_time_t)es_rng_exp(&rng, (double)mean_gap);
        if (shape == 2) t -= t % (5 * ES_MS);
        ff_add(c, t, A_SUBMIT, i);
        if (es_rng_below(&rng, 5) == 0) {
            es_time_t at = t + (es_time_t)es_rng_below(&rng, 20 * ES_S);
            if (shape == 2) at -= at % (5 * ES_MS);
            ff_add(c, at, A_ABORT, i);
        }
        horizon = t;
    }
    horizon += 30 * ES_S;
    for (int k = 0; k < 2; k++) {
        es_time_t at = (es_time_t)es_rng_below(&rng, (uint64_t)horizon);
        if (shape == 2) at -= at % (5 * ES_MS);
        ff_add(c, at, A_CRASH, 0);
    }
    for (uint32_t i = 0; i < 300; i++) {
        es_time_t at = (es_time_t)es_rng_below(&rng, (uint64_t)horizon);
        if (shape == 2) at -= at % (5 * ES_MS);
        ff_add(c, at, A_PROBE, c->nprobes++);
    }
    c->until = (es_time_t)es_rng_below(&rng, (uint64_t)horizon);
    if (shape == 2) c->until -= c->until % (5 * ES_MS);
}

static void test_ff_random(void **st)
{
    (void)st;
    static const char *const names[] = {"light load", "many decoders, tight KV", "5 ms grid (ties)",
                                        "P/D, LoRA, priority, chunks", "vLLM version: API server, engine CPU"};
    for (int shape = 0; shape < 5; shape++) {
        for (uint64_t seed = 1; seed <= 4; seed++) {
            ff_case_t c;
            ff_random_case(&c, shape, 1000 * (uint64_t)shape + seed);
            char what[64];
            snprintf(what, sizeof what, "%s #%llu", names[shape], (unsigned long long)seed);
            ff_check(&c, what, NULL, NULL);
            ff_case_fini(&c);
        }
    }
}

/* A request that waits for KV blocks holds a block table; a server destroyed
 * while it waits (a run that ends at its duration) frees it (ASan's leak
 * check fails here otherwise: found by fuzz_run). */
static void test_destroy_with_waiting(void **state)
{
    (void)state;
    harness_t h;
    h_config(&h, "h100-sxm-80gb");
    h.cfg.num_gpu_blocks = 25;   /* 400 tokens: one 300-token prompt at a time */
    assert_int_equal(h_start(&h), 0);
    rec_t q[2];
    rec_init(&q[0], 1, 300, 60);
    rec_init(&q[1], 2, 300, 60);
    es_server_submit(h.srv, &q[0].r);
    es_server_submit(h.srv, &q[1].r);
    es_sim_run(h.sim, es_time_from_ms(100));
    es_endpoint_metrics_t m;
    es_server_metrics(h.srv, &m);
    assert_int_equal(m.running, 1);        /* the first runs */
    assert_int_equal(m.waiting, 1);        /* the second waits for blocks */
    assert_int_equal(q[0].nfirst, 1);
    assert_int_equal(q[1].nfirst, 0);
    h_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fidelity),
        cmocka_unit_test(test_decode_tokens_and_gaps),
        cmocka_unit_test(test_prefix_hits),
        cmocka_unit_test(test_eviction_order),
        cmocka_unit_test(test_preemption),
        cmocka_unit_test(test_budget_and_chunking),
        cmocka_unit_test(test_admission_limits),
        cmocka_unit_test(test_max_model_len),
        cmocka_unit_test(test_lora),
        cmocka_unit_test(test_lora_names_outlive_records),
        cmocka_unit_test(test_crash_and_abort),
        cmocka_unit_test(test_pd),
        cmocka_unit_test(test_p2p_pull),
        cmocka_unit_test(test_engine_encoder),
        cmocka_unit_test(test_pd_remote_read),
        cmocka_unit_test(test_stress),
        cmocka_unit_test(test_ff_lone_decoder),
        cmocka_unit_test(test_ff_random),
        cmocka_unit_test(test_destroy_with_waiting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
