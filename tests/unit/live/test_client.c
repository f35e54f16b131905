/* eppsim load's response reader: a stream fed whole or byte by byte gives the
 * same tokens, usage and [DONE]; a large event trickled one byte at a time
 * costs linear time (a hostile pod once made each byte rescan the event). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "es_live_client.h"

static const char k_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

/* The chunked body of `events` (already "data: ...\n\n" framed) and its end. */
static char *stream_of(const char *events, size_t *n)
{
    size_t e = strlen(events), cap = sizeof k_head + e + 64;
    char *s = malloc(cap);
    assert_non_null(s);
    *n = (size_t)snprintf(s, cap, "%s%zx\r\n%s\r\n0\r\n\r\n", k_head, e, events);
    return s;
}

static void feed_all(es_live_sse_t *s, const char *d, size_t n, size_t step)
{
    for (size_t i = 0; i < n; i += step) assert_int_equal(es_live_sse_feed(s, d + i, n - i < step ? n - i : step), 0);
}

static void test_whole_and_bytewise(void **st)
{
    (void)st;
    const char *ev = "data: {\"choices\":[{\"text\":\" a\"}]}\n\ndata: {\"choices\":[{\"text\":\" b\"}]}\n\n"
                     "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n";
    size_t n;
    char *d = stream_of(ev, &n);
    for (size_t step = 1; step <= n; step = step * 3 + 1) {
        es_live_sse_t s;
        es_live_sse_init(&s);
        feed_all(&s, d, n, step);
        assert_true(s.complete);
        assert_true(s.done);
        assert_int_equal(s.tokens, 2);
        assert_true(s.usage);
        assert_int_equal(s.usage_prompt, 3);
        assert_int_equal(s.usage_completion, 2);
        es_live_sse_fini(&s);
    }
    free(d);
}

static void test_trickled_large_events_linear(void **st)
{
    (void)st;
    struct rlimit rl, nl;
    struct rusage ru;
    getrlimit(RLIMIT_CPU, &rl);
    getrusage(RUSAGE_SELF, &ru);
    nl.rlim_cur = (rlim_t)ru.ru_utime.tv_sec + (rlim_t)ru.ru_stime.tv_sec + 20;   /* quadratic: minutes */
    nl.rlim_max = rl.rlim_max;
    if (rl.rlim_max == RLIM_INFINITY || nl.rlim_cur < rl.rlim_max) setrlimit(RLIMIT_CPU, &nl);
    const size_t text = ES_LIVE_SSE_MAX_EVENT - 100, events = 40;
    char *one = malloc(text + 64);
    assert_non_null(one);
    int k = snprintf(one, 64, "data: {\"choices\":[{\"text\":\"");
    memset(one + k, 'a', text);
    strcpy(one + k + text, "\"}]}\n\n");
    size_t len = strlen(one);
    es_live_sse_t s;
    es_live_sse_init(&s);
    feed_all(&s, k_head, sizeof k_head - 1, sizeof k_head);
    for (size_t e = 0; e < events; e++) {
        char size[32];
        int m = snprintf(size, sizeof size, "%zx\r\n", len);
        feed_all(&s, size, (size_t)m, 1);
        feed_all(&s, one, len, 1);
        feed_all(&s, "\r\n", 2, 1);
    }
    feed_all(&s, "0\r\n\r\n", 5, 1);
    assert_true(s.complete);
    assert_int_equal(s.tokens, events);
    es_live_sse_fini(&s);
    free(one);
    setrlimit(RLIMIT_CPU, &rl);
}

static void test_event_over_bound_fails(void **st)
{
    (void)st;
    es_live_sse_t s;
    es_live_sse_init(&s);
    feed_all(&s, k_head, sizeof k_head - 1, sizeof k_head);
    char size[32];
    int m = snprintf(size, sizeof size, "%x\r\n", ES_LIVE_SSE_MAX_EVENT + 10);
    assert_int_equal(es_live_sse_feed(&s, size, (size_t)m), 0);
    char *big = malloc(ES_LIVE_SSE_MAX_EVENT + 10);
    assert_non_null(big);
    memset(big, 'a', ES_LIVE_SSE_MAX_EVENT + 10);
    int rc = 0;
    for (size_t i = 0; i < ES_LIVE_SSE_MAX_EVENT + 10 && rc == 0; i += 4096)
        rc = es_live_sse_feed(&s, big + i, ES_LIVE_SSE_MAX_EVENT + 10 - i < 4096 ? ES_LIVE_SSE_MAX_EVENT + 10 - i : 4096);
    assert_int_equal(rc, -1);
    assert_true(s.failed);
    es_live_sse_fini(&s);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_and_bytewise),
        cmocka_unit_test(test_trickled_large_events_linear),
        cmocka_unit_test(test_event_over_bound_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
