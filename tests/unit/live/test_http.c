/* eppsim serve's request assembly: whole requests, split reads, limits, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "es_live_http.h"

static int feed(es_live_http_t *h, const char *s, size_t *used)
{
    return es_live_http_feed(h, s, strlen(s), used);
}

static void test_whole_and_split(void **state)
{
    (void)state;
    es_live_http_t h;
    size_t used;
    es_live_http_init(&h, 1024, 64);
    const char *req = "POST /v1/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
    /* byte by byte: MORE until the last byte */
    for (size_t i = 0; i + 1 < strlen(req); i++) assert_int_equal(es_live_http_feed(&h, req + i, 1, &used), 0);
    assert_int_equal(es_live_http_feed(&h, req + strlen(req) - 1, 1, &used), ES_LIVE_HTTP_DONE);
    assert_string_equal(h.url, "/v1/completions?x=1");
    assert_int_equal(h.method, HTTP_POST);
    assert_int_equal(h.body.len, 5);
    assert_memory_equal(h.body.data, "hello", 5);
    assert_true(h.keep_alive);
    /* the next request on the same connection; Connection: close is seen */
    es_live_http_next(&h);
    assert_int_equal(feed(&h, "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n", &used), ES_LIVE_HTTP_DONE);
    assert_int_equal(h.method, HTTP_GET);
    assert_int_equal(h.body.len, 0);
    assert_false(h.keep_alive);
    es_live_http_fini(&h);
}

static void test_pipelined_stops_after_one(void **state)
{
    (void)state;
    es_live_http_t h;
    size_t used;
    es_live_http_init(&h, 1024, 64);
    const char *two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
    assert_int_equal(feed(&h, two, &used), ES_LIVE_HTTP_DONE);
    assert_string_equal(h.url, "/a");
    assert_int_equal(used, strlen(two) / 2);
    es_live_http_fini(&h);
}

static void test_limits_and_garbage(void **state)
{
    (void)state;
    es_live_http_t h;
    size_t used;
    es_live_http_init(&h, 1024, 64);
    assert_int_equal(feed(&h, "POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", &used), 413);
    es_live_http_fini(&h);
    es_live_http_init(&h, 1024, 64);   /* chunked body over the cap */
    assert_int_equal(feed(&h, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n"
                              "01234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n", &used), 413);
    es_live_http_fini(&h);
    es_live_http_init(&h, 64, 64);
    assert_int_equal(feed(&h, "GET / HTTP/1.1\r\nX-Long: 0123456789012345678901234567890123456789012345678901234567890123\r\n", &used), 431);
    es_live_http_fini(&h);
    es_live_http_init(&h, 4096, 64);
    char url[2100] = "GET /";
    memset(url + 5, 'a', 2000);
    strcpy(url + 2005, " HTTP/1.1\r\n\r\n");
    assert_int_equal(feed(&h, url, &used), 400);
    assert_string_equal(es_live_http_error(&h, 400), "request target too long");
    es_live_http_fini(&h);
    es_live_http_init(&h, 1024, 64);
    assert_int_equal(es_live_http_feed(&h, "GARB\0AGE\r\n\r\n", 12, &used), 400);
    assert_non_null(es_live_http_error(&h, 400));
    es_live_http_fini(&h);
}

/* headers reach the picker: names lower-cased, values whole across split reads, reset per request */
static void test_headers(void **state)
{
    (void)state;
    es_live_http_t h;
    size_t used;
    es_header_t hd[4];
    es_live_http_init(&h, 1024, 64);
    const char *req = "POST / HTTP/1.1\r\nX-Session-Token: abc\r\nContent-Length: 0\r\nX-Empty:\r\n\r\n";
    for (size_t i = 0; i + 1 < strlen(req); i++) assert_int_equal(es_live_http_feed(&h, req + i, 1, &used), 0);
    assert_int_equal(es_live_http_feed(&h, req + strlen(req) - 1, 1, &used), ES_LIVE_HTTP_DONE);
    assert_int_equal(es_live_http_headers(&h, hd, 4), 3);
    assert_string_equal(hd[0].name, "x-session-token");
    assert_string_equal(hd[0].value, "abc");
    assert_string_equal(hd[1].name, "content-length");
    assert_string_equal(hd[1].value, "0");
    assert_string_equal(hd[2].name, "x-empty");
    assert_string_equal(hd[2].value, "");
    assert_int_equal(es_live_http_headers(&h, hd, 1), 1);   /* at most max */
    es_live_http_next(&h);
    assert_int_equal(feed(&h, "GET / HTTP/1.1\r\nA: 1\r\n\r\n", &used), ES_LIVE_HTTP_DONE);
    assert_int_equal(es_live_http_headers(&h, hd, 4), 1);
    assert_string_equal(hd[0].name, "a");
    es_live_http_fini(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_whole_and_split),
                                       cmocka_unit_test(test_pipelined_stops_after_one),
                                       cmocka_unit_test(test_limits_and_garbage),
                                       cmocka_unit_test(test_headers)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
