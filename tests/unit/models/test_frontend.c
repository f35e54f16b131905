/* server.vllm_version: the engine's CPU time per step (added in sync mode,
 * overlapped by async scheduling), the API server as a CPU queue in front of
 * the engine (a burst waits; api_server_count processes share it) and its
 * per-chunk streaming cost (tokens reach the client late; a slow API server
 * sets the inter-token time); the host KV tier of the offloading connector
 * (hits load over PCIe instead of computing).  Step times come from the linear model with
 * only a constant, so every time here is worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "harness.h"

#define US 1000   /* ns */

static void run(harness_t *h) { es_sim_run(h->sim, ES_TIME_NEVER); }

/* GPU 5 ms per step whatever it holds; no CPU, no API cost unless a test sets them. */
static void vconfig(harness_t *h, const char *version)
{
    h_config(h, "h100-sxm-80gb");
    h->cfg.step_model = ES_STEP_LINEAR;
    h->cfg.linear_c0_us = 5000;
    h->cfg.linear_c1_us = h->cfg.linear_c2_us = h->cfg.linear_c3_us = h->cfg.linear_c4_us = 0;
    h->cfg.cpu_overhead_us = 300;   /* must be ignored once a version is named */
    free(h->cfg.vllm_version);
    h->cfg.vllm_version = strdup(version);
    h->cfg.vllm_fidelity = ES_FIDELITY_ON;
    h->cfg.engine_cpu_step_us = h->cfg.engine_cpu_seq_us = h->cfg.engine_cpu_token_us = 0;
    h->cfg.engine_sync_us = 0;
    h->cfg.api_request_us = h->cfg.api_prompt_token_us = h->cfg.api_chunk_us = h->cfg.api_latency_us = 0;
    h->cfg.api_chat_request_us = h->cfg.api_chat_chunk_us = 0;
    h->cfg.api_chat_yield = false;
}

/* One request, 100-token prompt, 11 tokens: first token after one step, then 10 steps. */
static es_time_t decode_step(harness_t *h)
{
    assert_int_equal(h_start(h), 0);
    rec_t q;
    rec_init(&q, 1, 100, 11);
    es_server_submit(h->srv, &q.r);
    run(h);
    assert_int_equal(q.nfinish, 1);
    assert_int_equal(q.r.status, ES_SERVER_OK);
    es_time_t first = q.r.first_token - q.r.submitted;
    es_time_t step = (q.r.finish - q.r.first_token) / 10;
    assert_int_equal(first, step);          /* the prompt step costs what a decode step does here */
    assert_int_equal(q.r.finish - q.r.first_token, 10 * step);
    h_stop(h);
    return step;
}

static void test_sync_adds_async_overlaps(void **st)
{
    (void)st;
    harness_t h;
    /* 0.11.0: async scheduling is off by default, the CPU adds to the GPU */
    vconfig(&h, "0.11.0");
    h.cfg.engine_cpu_step_us = 2000;
    h.cfg.engine_cpu_seq_us = 100;     /* one sequence per step */
    assert_int_equal(decode_step(&h), (5000 + 2000 + 100) * US);
    /* 0.15.1: on by default; the CPU hides behind the GPU but for the sync part */
    vconfig(&h, "0.15.1");
    h.cfg.engine_cpu_step_us = 2000;
    h.cfg.engine_cpu_seq_us = 100;
    h.cfg.engine_sync_us = 150;
    assert_int_equal(decode_step(&h), (5000 + 150) * US);
    /* a CPU-bound engine: async steps take the CPU time */
    vconfig(&h, "0.15.1");
    h.cfg.engine_cpu_step_us = 8000;
    h.cfg.engine_sync_us = 150;
    assert_int_equal(decode_step(&h), (8000 + 150) * US);
    /* async_scheduling overrides the version's default, both ways */
    vconfig(&h, "0.15.1");
    h.cfg.async_scheduling = ES_ASYNC_OFF;
    h.cfg.engine_cpu_step_us = 2000;
    assert_int_equal(decode_step(&h), 7000 * US);
    vconfig(&h, "0.11.0");
    h.cfg.async_scheduling = ES_ASYNC_ON;
    h.cfg.engine_cpu_step_us = 2000;
    assert_int_equal(decode_step(&h), 5000 * US);
    /* per-token CPU: 100 prompt tokens in the first step */
    vconfig(&h, "0.11.0");
    h.cfg.engine_cpu_token_us = 10;
    assert_int_equal(h_start(&h), 0);
    rec_t q;
    rec_init(&q, 1, 100, 2);
    es_server_submit(h.srv, &q.r);
    run(&h);
    assert_int_equal(q.r.first_token - q.r.submitted, (5000 + 1000) * US);
    assert_int_equal(q.r.finish - q.r.first_token, (5000 + 10) * US);
    h_stop(&h);
    /* fidelity off (a version alone does nothing in the server): the flat overhead as before */
    vconfig(&h, "0.15.1");
    h.cfg.vllm_fidelity = ES_FIDELITY_OFF;
    h.cfg.engine_cpu_step_us = 2000;
    assert_int_equal(decode_step(&h), 5300 * US);
    h_config(&h, "h100-sxm-80gb");
    h.cfg.step_model = ES_STEP_LINEAR;
    h.cfg.linear_c0_us = 5000;
    h.cfg.linear_c1_us = h.cfg.linear_c2_us = h.cfg.linear_c3_us = h.cfg.linear_c4_us = 0;
    h.cfg.cpu_overhead_us = 300;
    assert_int_equal(decode_step(&h), 5300 * US);
}

/* Four 100-token prompts at once: the API server takes 1 ms + 1 us per token
 * each, one after the other, so they reach the engine 1.1 ms apart. */
static void test_burst_waits_for_the_api_server(void **st)
{
    (void)st;
    for (int procs = 1; procs <= 2; procs++) {
        harness_t h;
        vconfig(&h, "0.11.0");
        h.cfg.api_request_us = 1000;
        h.cfg.api_prompt_token_us = 1;
        h.cfg.api_server_count = procs;
        assert_int_equal(h_start(&h), 0);
        rec_t q[4];
        for (int i = 0; i < 4; i++) {
            rec_init(&q[i], 10 + 2 * (uint64_t)i, 100, 1);
            es_server_submit(h.srv, &q[i].r);
        }
        run(&h);
        if (procs == 1) {
            /* #0 reaches the engine at 1.1 ms and has its token at 6.1 ms; #1..#3
             * arrive at 2.2, 3.3, 4.4 ms while that step runs and share the next */
            assert_int_equal(q[0].r.admitted, 1100 * US);
            assert_int_equal(q[0].r.first_token, 6100 * US);
            for (int i = 1; i < 4; i++) {
                assert_int_equal(q[i].r.admitted, 6100 * US);
                assert_int_equal(q[i].r.first_token, 11100 * US);
            }
        } else {
            /* two processes: #0 and #1 at 1.1 ms, #2 and #3 at 2.2 ms */
            for (int i = 0; i < 2; i++) assert_int_equal(q[i].r.first_token, 6100 * US);
            for (int i = 2; i < 4; i++) assert_int_equal(q[i].r.first_token, 11100 * US);
        }
        for (int i = 0; i < 4; i++) {
            assert_int_equal(q[i].nfinish, 1);
            assert_int_equal(q[i].r.finish, q[i].r.first_token);
        }
        h_stop(&h);
    }
    /* api_latency_us delays without holding the CPU: the next request is not later for it */
    harness_t h;
    vconfig(&h, "0.11.0");
    h.cfg.api_request_us = 1000;
    h.cfg.api_latency_us = 500;
    assert_int_equal(h_start(&h), 0);
    rec_t q[2];
    for (int i = 0; i < 2; i++) {
        rec_init(&q[i], 10 + 2 * (uint64_t)i, 100, 1);
        es_server_submit(h.srv, &q[i].r);
    }
    run(&h);
    assert_int_equal(q[0].r.admitted, 1500 * US);
    assert_int_equal(q[1].r.admitted, 6500 * US);   /* at 2.5 ms, while #0's step runs */
    h_stop(&h);
}

/* A chat request (/v1/chat/completions) holds the API server
 * api_chat_request_us longer than a completion: a completion behind a chat
 * request waits for it, and the chat cost is charged only once per request. */
static void test_chat_template_cost(void **st)
{
    (void)st;
    harness_t h;
    vconfig(&h, "0.11.0");
    h.cfg.api_request_us = 1000;
    h.cfg.api_chat_request_us = 3000;
    assert_int_equal(h_start(&h), 0);
    rec_t q[3];
    for (int i = 0; i < 3; i++) {
        rec_init(&q[i], 10 + 2 * (uint64_t)i, 100, 1);
        q[i].r.chat = i < 2;
    }
    for (int i = 0; i < 3; i++) es_server_submit(h.srv, &q[i].r);
    run(&h);
    /* chat #0 leaves the API server at 4 ms, chat #1 at 8 ms, completion #2 at 9 ms */
    assert_int_equal(q[0].r.admitted, 4000 * US);
    assert_int_equal(q[0].r.first_token, 9000 * US);
    assert_int_equal(q[1].r.admitted, 9000 * US);     /* arrived at 8 ms, while #0's step ran */
    assert_int_equal(q[2].r.admitted, 9000 * US);     /* arrived at 9 ms: the same step */
    for (int i = 0; i < 3; i++) assert_int_equal(q[i].nfinish, 1);
    h_stop(&h);
    /* without vllm_fidelity there is no API server: chat costs nothing */
    h_config(&h, "h100-sxm-80gb");
    h.cfg.step_model = ES_STEP_LINEAR;
    h.cfg.linear_c0_us = 5000;
    h.cfg.linear_c1_us = h.cfg.linear_c2_us = h.cfg.linear_c3_us = h.cfg.linear_c4_us = 0;
    h.cfg.cpu_overhead_us = 0;
    h.cfg.api_chat_request_us = 3000;
    assert_int_equal(h_start(&h), 0);
    rec_t c;
    rec_init(&c, 1, 100, 1);
    c.r.chat = true;
    es_server_submit(h.srv, &c.r);
    run(&h);
    assert_int_equal(c.r.first_token, 5000 * US);
    h_stop(&h);
}

/* Streaming: each step's chunk costs the API server `chunk` us.  Below the
 * step time it only delays every token by that much; above it, the API
 * server sets the pace and the delay grows by the difference every step. */
static void test_chunks_delay_tokens(void **st)
{
    (void)st;
    for (int slow = 0; slow <= 1; slow++) {
        harness_t h;
        vconfig(&h, "0.11.0");
        double chunk = slow ? 7000 : 3000;
        h.cfg.api_chunk_us = chunk;
        assert_int_equal(h_start(&h), 0);
        rec_t q;
        rec_init(&q, 1, 100, 11);
        es_server_submit(h.srv, &q.r);
        run(&h);
        assert_int_equal(q.nfirst, 1);
        assert_int_equal(q.nfinish, 1);
        /* engine: token k (1..11) at 5k ms; the client gets token 1 at 5 ms + chunk */
        assert_int_equal(q.r.first_token, (es_time_t)(5000 + chunk) * US);
        if (!slow) {
            assert_int_equal(q.r.finish, (es_time_t)(55000 + chunk) * US);
            assert_int_equal(h.first_gap, 5000 * US);
        } else {
            assert_int_equal(q.r.finish, (es_time_t)(5000 + 11 * chunk) * US);
            assert_int_equal(h.first_gap, 7000 * US);
        }
        assert_int_equal(h.gap_count, 10);
        h_stop(&h);
    }
}

/* api_chat_yield: a chat request's first turn (request, chat template) and
 * its second (api_prompt_token_us per prompt token, the engine request) are
 * two turns of the API process's event loop; the second waits behind what
 * became ready before it.  A burst renders every template before any request
 * reaches the engine; one request alone is not delayed. */
static void test_chat_burst_yields(void **st)
{
    (void)st;
    for (int yield = 0; yield <= 1; yield++) {
        harness_t h;
        vconfig(&h, "0.11.0");
        h.cfg.api_request_us = 1000;
        h.cfg.api_chat_request_us = 3000;
        h.cfg.api_prompt_token_us = 1;   /* 100 us per 100-token prompt */
        h.cfg.api_chat_yield = yield;
        assert_int_equal(h_start(&h), 0);
        rec_t q[3];
        for (int i = 0; i < 3; i++) {
            rec_init(&q[i], 10 + 2 * (uint64_t)i, 100, 1);
            q[i].r.chat = true;
            es_server_submit(h.srv, &q[i].r);
        }
        run(&h);
        if (yield) {
            /* templates 0-4, 4-8, 8-12 ms; then the three second turns, 0.1 ms each */
            assert_int_equal(q[0].r.admitted, 12100 * US);
            assert_int_equal(q[0].r.first_token, 17100 * US);
            for (int i = 1; i < 3; i++) {   /* at 12.2 and 12.3 ms, while #0's step runs */
                assert_int_equal(q[i].r.admitted, 17100 * US);
                assert_int_equal(q[i].r.first_token, 22100 * US);
            }
        } else {
            /* one turn each: 4.1, 8.2, 12.3 ms */
            assert_int_equal(q[0].r.admitted, 4100 * US);
            assert_int_equal(q[1].r.admitted, 9100 * US);   /* at 8.2 ms, while #0's step runs */
            assert_int_equal(q[2].r.admitted, 14100 * US);  /* at 12.3 ms, while #1's step runs */
        }
        for (int i = 0; i < 3; i++) assert_int_equal(q[i].nfinish, 1);
        h_stop(&h);
    }
    /* one chat request alone: both turns back to back, as without the yield */
    harness_t h;
    vconfig(&h, "0.11.0");
    h.cfg.api_request_us = 1000;
    h.cfg.api_chat_request_us = 3000;
    h.cfg.api_prompt_token_us = 1;
    h.cfg.api_chat_yield = true;
    assert_int_equal(h_start(&h), 0);
    rec_t c;
    rec_init(&c, 1, 100, 1);
    c.r.chat = true;
    es_server_submit(h.srv, &c.r);
    run(&h);
    assert_int_equal(c.r.admitted, 4100 * US);
    assert_int_equal(c.r.first_token, 9100 * US);
    h_stop(&h);
    /* aborted between its turns, and crashed in its second: each finishes once */
    vconfig(&h, "0.11.0");
    h.cfg.api_request_us = 1000;
    h.cfg.api_chat_request_us = 3000;
    h.cfg.api_prompt_token_us = 1;
    h.cfg.api_chat_yield = true;
    assert_int_equal(h_start(&h), 0);
    rec_t q[3];
    for (int i = 0; i < 3; i++) {
        rec_init(&q[i], 10 + 2 * (uint64_t)i, 100, 1);
        q[i].r.chat = true;
        es_server_submit(h.srv, &q[i].r);
    }
    es_sim_run(h.sim, 10 * ES_MS);   /* #0 and #1 rendered, waiting for their second turns */
    es_server_abort(h.srv, &q[0].r);
    assert_int_equal(q[0].nfinish, 1);
    assert_int_equal(q[0].r.status, ES_SERVER_ABORTED);
    es_sim_run(h.sim, 12050 * US);   /* #1 and #2 still in the API server */
    es_server_crash(h.srv, ES_SERVER_UNAVAILABLE);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(q[i].nfinish, 1);
        assert_int_equal(q[i].r.status, ES_SERVER_UNAVAILABLE);
    }
    run(&h);
    for (int i = 0; i < 3; i++) assert_int_equal(q[i].nfinish, 1);
    es_server_stats_t ss;
    es_server_stats(h.srv, &ss);
    assert_int_equal(ss.finished, 3);
    h_stop(&h);
}

/* api_chat_chunk_us: every step's chunks of chat streams cost the API process
 * that much more.  Four chat streams at 2 ms a chunk need 8 ms of API CPU per
 * 5 ms step: the streams slow to one token per 8 ms.  One stream (2 ms) or
 * four completions (no chat cost) keep the engine's pace.  Fast-forward or
 * not, the same times. */
static void test_chat_chunks_slow_a_burst(void **st)
{
    (void)st;
    for (int ff = 0; ff <= 1; ff++)
        for (int kind = 0; kind < 3; kind++) {   /* 4 chat streams, 1 chat stream, 4 completions */
            harness_t h;
            vconfig(&h, "0.11.0");
            h.cfg.api_chat_chunk_us = 2000;
            h.cfg.fast_forward = ff;
            assert_int_equal(h_start(&h), 0);
            int n = kind == 1 ? 1 : 4;
            rec_t q[4];
            for (int i = 0; i < n; i++) {
                rec_init(&q[i], 10 + 2 * (uint64_t)i, 100, 11);
                q[i].r.chat = kind != 2;
                es_server_submit(h.srv, &q[i].r);
            }
            run(&h);
            /* the engine: prompts in step 1 (0-5 ms), tokens 2..11 at 10..55 ms */
            for (int i = 0; i < n; i++) {
                assert_int_equal(q[i].nfinish, 1);
                if (kind == 0) {   /* API: 5-13 ms, then 8 ms per step */
                    assert_int_equal(q[i].r.first_token, 13000 * US);
                    assert_int_equal(q[i].r.finish, 93000 * US);
                } else if (kind == 1) {   /* 2 ms after each step */
                    assert_int_equal(q[i].r.first_token, 7000 * US);
                    assert_int_equal(q[i].r.finish, 57000 * US);
                } else {
                    assert_int_equal(q[i].r.first_token, 5000 * US);
                    assert_int_equal(q[i].r.finish, 55000 * US);
                }
            }
            assert_int_equal(h.first_gap, (kind == 0 ? 8000 : 5000) * US);
            assert_int_equal(h.gap_count, 10 * (uint64_t)n);
            h_stop(&h);
        }
}

/* A request aborted while the API server holds it, and one whose end the
 * API server has not sent yet, finish once with 499; a crash takes both kinds. */
static void test_abort_and_crash_in_the_api_server(void **st)
{
    (void)st;
    harness_t h;
    vconfig(&h, "0.11.0");
    h.cfg.api_request_us = 10000;
    assert_int_equal(h_start(&h), 0);
    rec_t a, b;
    rec_init(&a, 1, 100, 5);
    rec_init(&b, 3, 100, 5);
    es_server_submit(h.srv, &a.r);
    es_server_submit(h.srv, &b.r);   /* queued behind a: reaches the engine at 20 ms */
    es_sim_run(h.sim, 15 * ES_MS);
    es_server_abort(h.srv, &b.r);
    assert_int_equal(b.nfinish, 1);
    assert_int_equal(b.r.status, ES_SERVER_ABORTED);
    run(&h);
    assert_int_equal(b.nfinish, 1);
    assert_int_equal(a.nfinish, 1);
    assert_int_equal(a.r.status, ES_SERVER_OK);
    es_server_stats_t s;
    es_server_stats(h.srv, &s);
    assert_int_equal(s.finished, 2);
    /* a slow API server: the engine is done long before the client has the end */
    h_stop(&h);
    vconfig(&h, "0.11.0");
    h.cfg.api_chunk_us = 20000;
    assert_int_equal(h_start(&h), 0);
    rec_init(&a, 1, 100, 3);            /* engine: tokens at 5, 10, 15 ms; client: 25, 45, 65 ms */
    rec_init(&b, 3, 100, 1);
    es_server_submit(h.srv, &a.r);
    es_sim_run(h.sim, 30 * ES_MS);
    assert_int_equal(a.nfirst, 1);
    assert_int_equal(a.nfinish, 0);
    es_server_abort(h.srv, &a.r);
    assert_int_equal(a.nfinish, 1);
    assert_int_equal(a.r.status, ES_SERVER_ABORTED);
    es_server_submit(h.srv, &b.r);      /* engine token at 35 ms, sent at 85 ms */
    es_sim_run(h.sim, 50 * ES_MS);
    assert_int_equal(b.nfinish, 0);
    es_server_crash(h.srv, ES_SERVER_UNAVAILABLE);
    assert_int_equal(b.nfinish, 1);
    assert_int_equal(b.r.status, ES_SERVER_UNAVAILABLE);
    run(&h);
    assert_int_equal(a.nfinish, 1);
    assert_int_equal(b.nfinish, 1);
    assert_int_equal(b.nfirst, 0);
    es_server_stats(h.srv, &s);
    assert_int_equal(s.finished, 2);
    h_stop(&h);
}

/* A 159-token prompt (9 full blocks) is evicted from a 10-block GPU cache by
 * another one; asked again, its 9 blocks come back from the host tier: 15
 * tokens computed and 9 x 2 MiB (Llama-3.1-8B) over 50 GB/s. */
static void test_offload_tier(void **st)
{
    (void)st;
    for (int on = 0; on <= 1; on++) {
        harness_t h;
        vconfig(&h, "0.15.1");
        h.cfg.linear_c1_us = 10;   /* per prompt token computed */
        h.cfg.num_gpu_blocks = 11;
        h.cfg.kv_offloading_gib = on ? 1 : 0;
        assert_int_equal(h_start(&h), 0);
        rec_t a, b, again;
        rec_init(&a, 1, 159, 1);
        rec_init(&b, 3, 159, 1);
        rec_init(&again, 1, 159, 1);
        es_server_submit(h.srv, &a.r);
        run(&h);
        es_server_submit(h.srv, &b.r);
        run(&h);
        assert_int_equal(h.kv_removed, 9);   /* every block of a evicted from the GPU */
        es_server_submit(h.srv, &again.r);
        run(&h);
        assert_int_equal(again.r.status, ES_SERVER_OK);
        es_server_stats_t s;
        es_server_stats(h.srv, &s);
        es_endpoint_metrics_t m;
        es_server_metrics(h.srv, &m);
        assert_int_equal(m.prefix_hits, 0);   /* host hits are not GPU prefix-cache hits */
        es_time_t ttft = again.r.first_token - again.r.submitted;
        if (on) {
            es_time_t per_block = (es_time_t)(2097152.0 / 50e9 * 1e9 + 0.5);   /* 41,943 ns */
            assert_int_equal(ttft, (5000 + 150) * US + 9 * per_block);
            assert_int_equal(again.r.cached_tokens, 144);
            assert_int_equal(s.offload_hit_tokens, 144);
            assert_int_equal(s.offload_stores, 18);   /* a's 9 blocks and b's 9 */
        } else {
            assert_int_equal(ttft, (5000 + 1590) * US);
            assert_int_equal(again.r.cached_tokens, 0);
            assert_int_equal(s.offload_stores, 0);
        }
        h_stop(&h);
    }
    /* the host tier is LRU: 2 blocks of room keep the newest two of b's */
    harness_t h;
    vconfig(&h, "0.15.1");
    h.cfg.num_gpu_blocks = 11;
    h.cfg.kv_offloading_gib = 2.0 * 2097152 / 1073741824.0;
    assert_int_equal(h_start(&h), 0);
    rec_t a, b, again;
    rec_init(&a, 1, 159, 1);
    rec_init(&b, 3, 159, 1);
    rec_init(&again, 1, 159, 1);
    es_server_submit(h.srv, &a.r);
    run(&h);
    es_server_submit(h.srv, &b.r);
    run(&h);
    es_server_submit(h.srv, &again.r);
    run(&h);
    assert_int_equal(again.r.cached_tokens, 0);   /* a's first block was pushed out: the chain misses */
    h_stop(&h);
}

static void test_bad_version(void **st)
{
    (void)st;
    static const char *const bad[] = {"x", "0.", "0.15.", "0.15.1x", "latest", "0.7"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        harness_t h;
        vconfig(&h, bad[i]);
        h.sim = es_sim_create(1);
        es_server_hooks_t hooks = {&h, h_first, h_finish, h_gaps, NULL, NULL, NULL};
        es_err_t err;
        assert_int_not_equal(es_server_create(h.sim, &h.cfg, &hooks, 0, &h.srv, &err), 0);
        assert_non_null(strstr(err.msg, "server.vllm_version"));
        h.srv = NULL;
        es_sim_destroy(h.sim);
        es_schema_fini(&es_server_schema, &h.cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_adds_async_overlaps),
        cmocka_unit_test(test_burst_waits_for_the_api_server),
        cmocka_unit_test(test_chat_template_cost),
        cmocka_unit_test(test_chunks_delay_tokens),
        cmocka_unit_test(test_chat_burst_yields),
        cmocka_unit_test(test_chat_chunks_slow_a_burst),
        cmocka_unit_test(test_abort_and_crash_in_the_api_server),
        cmocka_unit_test(test_offload_tier),
        cmocka_unit_test(test_bad_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
