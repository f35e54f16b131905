/* es_live_conn.h: closing after the queued writes, reason phrases, error bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "es_live_conn.h"

static int closed;
static void on_closed(uv_handle_t *h) { (void)h; closed++; }
static void on_written(uv_write_t *w, int status) { (void)w; assert_int_equal(status, 0); }

/* Bytes queued before the close all reach the peer, then EOF; the close callback runs once. */
static void test_close_after_writes(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_pipe_t p;
    uv_pipe_init(&loop, &p, 0);
    assert_int_equal(uv_pipe_open(&p, sv[0]), 0);
    static char data[200000];
    memset(data, 'x', sizeof data);
    uv_write_t w;
    uv_buf_t b = uv_buf_init(data, sizeof data);
    assert_int_equal(uv_write(&w, (uv_stream_t *)&p, &b, 1, on_written), 0);
    closed = 0;
    assert_int_equal(es_live_close_after_writes((uv_stream_t *)&p, on_closed), 0);
    size_t got = 0;
    char buf[65536];
    for (int turns = 0; turns < 100000 && closed == 0; turns++) {   /* the peer reads while the loop writes */
        uv_run(&loop, UV_RUN_NOWAIT);
        ssize_t n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) got += (size_t)n;
    }
    assert_int_equal(closed, 1);
    ssize_t n;
    while ((n = recv(sv[1], buf, sizeof buf, 0)) > 0) got += (size_t)n;
    assert_int_equal(n, 0);   /* EOF after the data */
    assert_int_equal(got, sizeof data);
    close(sv[1]);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_reason_and_error_body(void **state)
{
    (void)state;
    assert_string_equal(es_live_reason(200), "OK");
    assert_string_equal(es_live_reason(429), "Too Many Requests");
    assert_string_equal(es_live_reason(502), "Bad Gateway");
    assert_string_equal(es_live_reason(599), "Service Unavailable");
    const struct { int status; const char *type; } k[] = {
        {400, "BadRequestError"}, {404, "NotFoundError"}, {429, "BadRequestError"},
        {500, "InternalServerError"}, {503, "ServiceUnavailableError"}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        char *s = es_live_error_body(k[i].status, "a \"quoted\" message");
        assert_non_null(s);
        cJSON *j = cJSON_Parse(s), *e = cJSON_GetObjectItem(j, "error");
        assert_non_null(e);
        assert_string_equal(cJSON_GetObjectItem(e, "message")->valuestring, "a \"quoted\" message");
        assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, k[i].type);
        assert_int_equal(cJSON_GetObjectItem(e, "code")->valueint, k[i].status);
        cJSON_Delete(j);
        free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_close_after_writes),
                                       cmocka_unit_test(test_reason_and_error_body)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
