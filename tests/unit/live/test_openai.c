/* eppsim serve's pure parts: request mapping, stand-in tokenizer, filler text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "es_live.h"

static int parse(const char *body, bool chat, es_live_completion_t *c, char *msg)
{
    return es_live_parse_completion(body, strlen(body), chat, c, msg, 160);
}

static void test_completion_fields(void **state)
{
    (void)state;
    es_live_completion_t c;
    char msg[160];
    assert_int_equal(parse("{\"model\":\"m\",\"prompt\":\"hello\",\"max_tokens\":7,\"ignore_eos\":true,"
                           "\"stream\":true,\"stream_options\":{\"include_usage\":true}}", false, &c, msg), 0);
    assert_string_equal(c.prompt, "hello");
    assert_int_equal(c.max_tokens, 7);
    assert_true(c.ignore_eos && c.stream && c.include_usage && !c.chat);
    assert_string_equal(c.model, "m");
    es_live_completion_fini(&c);
    /* defaults; a one-element prompt array */
    assert_int_equal(parse("{\"prompt\":[\"x\"]}", false, &c, msg), 0);
    assert_int_equal(c.max_tokens, ES_LIVE_DEFAULT_MAX_TOKENS);
    assert_false(c.stream || c.include_usage);
    es_live_completion_fini(&c);
}

static void test_chat_messages(void **state)
{
    (void)state;
    es_live_completion_t c;
    char msg[160];
    assert_int_equal(parse("{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
                           "{\"role\":\"user\",\"content\":\"hi\"}],\"max_completion_tokens\":3}", true, &c, msg), 0);
    assert_string_equal(c.prompt, "system: be brief\nuser: hi\n");
    assert_int_equal(c.max_tokens, 3);
    es_live_completion_fini(&c);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    es_live_completion_t c;
    char msg[160];
    static const struct { const char *body; bool chat; const char *key; } bad[] = {
        {"", false, "JSON object"},
        {"[1]", false, "JSON object"},
        {"{\"prompt\":3}", false, "prompt"},
        {"{\"prompt\":\"x\",\"max_tokens\":0}", false, "max_tokens"},
        {"{\"prompt\":\"x\",\"max_tokens\":1.5}", false, "max_tokens"},
        {"{\"prompt\":\"x\",\"max_tokens\":\"9\"}", false, "max_tokens"},
        {"{\"prompt\":\"x\",\"stream\":1}", false, "stream"},
        {"{\"prompt\":\"x\",\"ignore_eos\":\"yes\"}", false, "ignore_eos"},
        {"{\"prompt\":\"x\",\"stream_options\":{\"include_usage\":2}}", false, "include_usage"},
        {"{\"messages\":[]}", true, "messages"},
        {"{\"messages\":[{\"role\":\"user\"}]}", true, "messages"},
        {"{\"prompt\":\"x\"}", true, "messages"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i].body, bad[i].chat, &c, msg), -1);
        assert_non_null(strstr(msg, bad[i].key));
        assert_null(c.prompt);
    }
}

static void test_tokenizer(void **state)
{
    (void)state;
    assert_int_equal(es_live_token_count(0), 1);
    assert_int_equal(es_live_token_count(4), 1);
    assert_int_equal(es_live_token_count(5), 2);
    char a[200], b[200];
    memset(a, 'a', sizeof a);
    memcpy(b, a, sizeof b);
    b[150] = 'b';   /* differs in the third 64-byte segment */
    es_segment_t sa[8], sb[8];
    es_content_t ca, cb;
    es_live_tokenize(a, sizeof a, sa, &ca);
    es_live_tokenize(b, sizeof b, sb, &cb);
    assert_int_equal(ca.tokens, 50);
    assert_int_equal(ca.nsegs, 4);
    assert_int_equal(sa[3].len, 2);
    assert_true(sa[0].id == sb[0].id && sa[1].id == sb[1].id);
    assert_true(sa[2].id != sb[2].id);
    /* equal text: equal block hashes; the shared prefix: equal leading hashes */
    uint64_t ha[4], hb[4];
    assert_int_equal(es_content_block_hashes(&ca, 16, ha, 4), 3);
    assert_int_equal(es_content_block_hashes(&cb, 16, hb, 4), 3);
    assert_true(ha[0] == hb[0] && ha[1] == hb[1] && ha[2] != hb[2]);
}

static void test_filler(void **state)
{
    (void)state;
    es_live_buf_t x = {0}, y = {0};
    es_live_filler(&x, 42, 0, 10);
    es_live_filler(&y, 42, 0, 4);
    es_live_filler(&y, 42, 4, 6);
    assert_int_equal(x.len, 40);
    assert_int_equal(es_live_token_count(x.len), 10);
    assert_memory_equal(x.data, y.data, 40);   /* token i is the same word, however streamed */
    es_live_buf_free(&x);
    es_live_buf_free(&y);
}

static void test_utf8(void **state)
{
    (void)state;
    static const char *const good[] = {"", "plain", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf"};
    static const char *const bad[] = {"\xff", "\xc0\x80", "\xc3", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                      "\xf5\x80\x80\x80", "\xe2\x82", "a\x80\x62", "\xc3\x28"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) assert_true(es_live_utf8_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_false(es_live_utf8_valid(bad[i], strlen(bad[i])));
    es_live_completion_t c;
    char msg[128];
    const char body[] = "{\"prompt\":\"\xff\xfe\"}";
    assert_int_equal(es_live_parse_completion(body, sizeof body - 1, false, &c, msg, sizeof msg), -1);
    assert_string_equal(msg, "request body is not UTF-8");
}

/* The event as serve formatted it with printf before: byte for byte the same. */
static void reference_chunk(es_live_buf_t *b, bool chat, const char *id, long long created, const char *model_json,
                            uint64_t seed, uint32_t first, uint32_t tokens, bool last)
{
    es_live_buf_t text = {0}, ev = {0};
    es_live_filler(&text, seed, first, tokens);
    const char *fin = last ? "\"length\"" : "null";
    if (chat)
        es_live_buf_printf(&ev,
                           "{\"id\":\"%s\",\"object\":\"chat.completion.chunk\",\"created\":%lld,\"model\":%s,"
                           "\"choices\":[{\"index\":0,\"delta\":{%s\"content\":\"%s\"},\"finish_reason\":%s}]}",
                           id, created, model_json, first == 0 ? "\"role\":\"assistant\"," : "", text.data, fin);
    else
        es_live_buf_printf(&ev,
                           "{\"id\":\"%s\",\"object\":\"text_completion\",\"created\":%lld,\"model\":%s,"
                           "\"choices\":[{\"index\":0,\"text\":\"%s\",\"finish_reason\":%s}]}",
                           id, created, model_json, text.data, fin);
    es_live_buf_printf(b, "%07zx\r\ndata: %s\n\n\r\n", ev.len + 8, ev.data);
    es_live_buf_free(&text);
    es_live_buf_free(&ev);
}

static void test_token_chunk(void **state)
{
    (void)state;
    static const long long created[] = {0, 7, 1765000000, -12};
    es_live_buf_t got = {0}, want = {0};
    for (int chat = 0; chat < 2; chat++)
        for (uint32_t first = 0; first < 3; first++)
            for (uint32_t tokens = 1; tokens < 4; tokens++)
                for (int last = 0; last < 2; last++)
                    for (size_t k = 0; k < sizeof created / sizeof *created; k++) {
                        const char *model = k % 2 ? "\"m\\\"odel\"" : "\"sim-llama\"";
                        /* appended after what is there: every event of a write in one buffer */
                        es_live_sse_token_chunk(&got, chat, "chatcmpl-1-42", created[k], model, 99 + k, first, tokens, last);
                        reference_chunk(&want, chat, "chatcmpl-1-42", created[k], model, 99 + k, first, tokens, last);
                        assert_int_equal(got.len, want.len);
                        assert_memory_equal(got.data, want.data, want.len);
                    }
    assert_false(got.oom);
    es_live_buf_free(&got);
    es_live_buf_free(&want);
    /* printf into a buffer: in place when it fits, grown when not */
    es_live_buf_t b = {0};
    for (int i = 0; i < 200; i++) es_live_buf_printf(&b, "%d,", i);
    es_live_buf_t c = {0};
    char one[8];
    for (int i = 0; i < 200; i++) es_live_buf_append(&c, one, (size_t)snprintf(one, sizeof one, "%d,", i));
    assert_int_equal(b.len, c.len);
    assert_string_equal(b.data, c.data);
    es_live_buf_free(&b);
    es_live_buf_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_completion_fields), cmocka_unit_test(test_chat_messages),
        cmocka_unit_test(test_bad_bodies),        cmocka_unit_test(test_tokenizer),
        cmocka_unit_test(test_filler),            cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_token_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
