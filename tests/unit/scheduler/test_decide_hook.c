/* test_decide_hook.c -- es_scheduler_set_decide_hook: called once at the
 * start of each decision, before PreRequest indexes the request, also for a
 * request that flow control dispatches inside es_scheduler_flow_cycle (what a
 * live gateway logs as the decision's kv_blocks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include "helpers.h"

#define SPEC_HEAD "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\n"
#define SPEC_PLUGINS                                                                                    \
    "plugins:\n- type: precise-prefix-cache-producer\n"                                                 \
    "  parameters: {tokenProcessorConfig: {blockSizeTokens: 16}, speculativeIndexing: true}\n"          \
    "- type: prefix-cache-scorer\n  parameters: {prefixMatchInfoProducerName: precise-prefix-cache-producer}\n"

typedef struct seen {
    es_scheduler_t *s;
    uint64_t ids[8];
    size_t   held[8];    /* keys pod2's index held for the request when the hook ran */
    int      n;
} seen_t;

static void on_decide(void *ud, const es_sched_request_t *req)
{
    seen_t *g = ud;
    uint64_t keys[4];
    g->ids[g->n] = req->id;
    g->held[g->n++] = es_scheduler_kv_held(g->s, req, 1, keys, 4);
}

static void on_out(void *ud, const es_sched_request_t *req, const es_sched_result_t *res)
{
    (void)req;
    *(int *)ud = res->status;
}

/* pod2 stored the first two of the request's four blocks */
static es_scheduler_t *setup(const char *text, es_epp_config_t **cfg, es_sched_request_t *r, es_segment_t *seg)
{
    *cfg = cfg_text(text);
    es_scheduler_t *s;
    es_err_t err;
    assert_int_equal(es_scheduler_create(*cfg, 1, &s, &err), 0);
    *seg = (es_segment_t){7, 64};
    memset(r, 0, sizeof *r);
    r->id = 1;
    r->model = "m";
    r->content.segs = seg;
    r->content.nsegs = 1;
    r->content.tokens = 64;
    uint64_t keys[4];
    assert_int_equal(es_content_block_hashes(&r->content, 16, keys, 4), 4);
    for (int b = 0; b < 2; b++) {
        es_kv_event_t ev = {.kind = ES_KV_BLOCK_STORED, .endpoint = 1, .block_hash = keys[b]};
        es_scheduler_on_kv_event(s, &ev);
    }
    return s;
}

static void test_pick(void **st)
{
    (void)st;
    es_epp_config_t *cfg;
    es_sched_request_t r;
    es_segment_t seg;
    es_scheduler_t *s = setup(SPEC_HEAD SPEC_PLUGINS, &cfg, &r, &seg);
    seen_t g = {.s = s};
    es_scheduler_set_decide_hook(s, on_decide, &g);
    pool_t p;
    pool_init(&p, 2, 0);
    es_sched_result_t res = {0};
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.primary, 1);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.ids[0], 1);
    assert_int_equal(g.held[0], 2);                                  /* before its PreRequest */
    uint64_t keys[4];
    assert_int_equal(es_scheduler_kv_held(s, &r, 1, keys, 4), 4);   /* after: its speculative entries */
    es_scheduler_set_decide_hook(s, NULL, NULL);                     /* off: not called */
    r.id = 2;
    assert_int_equal(es_scheduler_pick(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(g.n, 1);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

static void test_flow_dispatch(void **st)
{
    (void)st;
    es_epp_config_t *cfg;
    es_sched_request_t r;
    es_segment_t seg;
    es_scheduler_t *s = setup(SPEC_HEAD "featureGates: [flowControl]\n" SPEC_PLUGINS
                              "- type: concurrency-detector\n  parameters: {maxConcurrency: 1}\n"
                              "flowControl: {saturationDetector: {pluginRef: concurrency-detector}}\n",
                              &cfg, &r, &seg);
    seen_t g = {.s = s};
    es_scheduler_set_decide_hook(s, on_decide, &g);
    pool_t p;
    pool_init(&p, 2, 0);
    es_sched_result_t res = {0};
    assert_int_equal(es_scheduler_submit(s, &r, p.eps, p.n, 0, &res), 0);
    assert_int_equal(res.status, ES_SCHED_QUEUED);
    assert_int_equal(g.n, 0);                                        /* queued: no decision yet */
    int status = 0;
    assert_int_equal(es_scheduler_flow_cycle(s, p.eps, p.n, ES_MS, on_out, &status), 1);
    assert_int_equal(status, 200);
    assert_int_equal(g.n, 1);                                        /* the dispatch's decision */
    assert_int_equal(g.held[0], 2);                                  /* as its pick read the index */
    uint64_t keys[4];
    assert_int_equal(es_scheduler_kv_held(s, &r, 1, keys, 4), 4);
    es_scheduler_destroy(s);
    es_epp_config_destroy(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_flow_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
