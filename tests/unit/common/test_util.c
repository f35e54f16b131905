/* es_util.h: whole-file read, JSON strings, Go durations, PathPrefix, key
 * paths, backward-shift deletion. */
#define _GNU_SOURCE   /* open_memstream */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "es_err.h"
#include "es_util.h"

static void test_file_read(void **state)
{
    (void)state;
    char path[] = "/tmp/es_util_testXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* larger than the first buffer, with a NUL inside */
    size_t n = 100000;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++) data[i] = (char)('a' + i % 26);
    data[10] = '\0';
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(es_file_read(path, &text, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(text, data, n);
    assert_int_equal(text[n], '\0');
    free(text);
    unlink(path);
    assert_int_equal(es_file_read(path, &text, &len), ES_ENOTFOUND);
    free(data);
}

static void test_file_read_empty_and_refused(void **state)
{
    (void)state;
    char path[] = "/tmp/es_util_emptyXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char *text = NULL;
    size_t len = 7;
    assert_int_equal(es_file_read(path, &text, &len), 0);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    free(text);
    unlink(path);
    /* devices and directories are refused, not read until memory runs out */
    assert_int_equal(es_file_read("/dev/zero", &text, &len), ES_EINVAL);
    assert_int_equal(es_file_read("/tmp", &text, &len), ES_EINVAL);
}

static char *json(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    es_json_write_string(f, s);
    fclose(f);
    return buf;
}

static void test_json_string(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"plain", "\"plain\""},
        {"a\"b\\c", "\"a\\\"b\\\\c\""},
        {"l1\nl2\tx\r", "\"l1\\nl2\\tx\\r\""},
        {"\x01\x1f", "\"\\u0001\\u001f\""},
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},   /* UTF-8 passes through */
        {"", "\"\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = json(cases[i][0]);
        assert_string_equal(out, cases[i][1]);
        free(out);
    }
    char *out = json(NULL);
    assert_string_equal(out, "\"\"");
    free(out);
}

static void test_go_duration(void **state)
{
    (void)state;
    double v;
    assert_int_equal(es_go_duration_parse("50ms", 1e6, &v), 0);
    assert_true(v == 50);
    assert_int_equal(es_go_duration_parse("1m30s", 1e9, &v), 0);
    assert_true(v == 90);
    assert_int_equal(es_go_duration_parse("1h", 1, &v), 0);
    assert_true(v == 3600e9);
    assert_int_equal(es_go_duration_parse("1.5us", 1, &v), 0);
    assert_true(v == 1500);
    assert_int_equal(es_go_duration_parse("2\xc2\xb5s", 1, &v), 0);   /* µs */
    assert_true(v == 2000);
    assert_int_equal(es_go_duration_parse("0", 1e6, &v), 0);
    assert_true(v == 0);
    assert_int_equal(es_go_duration_parse("0.1s", 1e6, &v), 0);
    assert_true(v == 100);
    static const char *const bad[] = {"", "5", "ms", "-1s", "1x", "1s2", "1e400s", NULL};
    for (size_t i = 0; bad[i]; i++) assert_int_equal(es_go_duration_parse(bad[i], 1e6, &v), ES_EINVAL);
    assert_int_equal(es_go_duration_parse("3000000h", 1, &v), ES_ERANGE);
    assert_int_equal(es_go_duration_parse(NULL, 1, &v), ES_EINVAL);
}

static void test_path_prefix(void **state)
{
    (void)state;
    assert_true(es_path_prefix_match("/get", "/get"));
    assert_true(es_path_prefix_match("/get", "/get/x"));
    assert_false(es_path_prefix_match("/get", "/getter"));
    assert_true(es_path_prefix_match("/get/", "/get"));
    assert_true(es_path_prefix_match("/v1/", "/v1/completions"));
    assert_true(es_path_prefix_match("/", "/anything"));
    assert_true(es_path_prefix_match("//", "/anything"));
    assert_false(es_path_prefix_match("/v1", "/v2/x"));
    assert_false(es_path_prefix_match("/a/b", "/a"));
}

static void test_key_path(void **state)
{
    (void)state;
    char part[8];
    const char *next;
    assert_int_equal(es_key_path_part("server.gpu", part, sizeof part, &next), 6);
    assert_string_equal(part, "server");
    assert_string_equal(next, "gpu");
    assert_int_equal(es_key_path_part(next, part, sizeof part, &next), 3);
    assert_string_equal(part, "gpu");
    assert_null(next);
    assert_int_equal(es_key_path_part(".x", part, sizeof part, &next), 0);   /* empty component */
    assert_string_equal(next, "x");
    assert_int_equal(es_key_path_part("toolongname.x", part, sizeof part, &next), -1);
}

/* home cyclically in (hole, j]? walked one slot at a time */
static bool home_in_run(size_t home, size_t hole, size_t j, size_t mask)
{
    for (size_t x = (hole + 1) & mask;; x = (x + 1) & mask) {
        if (x == home) return true;
        if (x == j) return false;
    }
}

static void test_oa_moves_back_exhaustive(void **state)
{
    (void)state;
    for (size_t mask = 1; mask <= 31; mask = mask * 2 + 1)
        for (size_t hole = 0; hole <= mask; hole++)
            for (size_t j = 0; j <= mask; j++) {
                if (j == hole) continue;
                for (size_t home = 0; home <= mask; home++)
                    assert_int_equal(es_oa_moves_back(home, hole, j, mask), !home_in_run(home, hole, j, mask));
            }
}

/* A table of 64 slots with backward-shift deletion against a plain set:
 * after every insert and delete each key is found by probing from its home,
 * and no tombstone is ever needed. */
#define OA_SLOTS 64
static size_t oa_home(uint32_t key) { return (size_t)(key * 2654435761u >> 3) & (OA_SLOTS - 1); }

static long oa_find(const uint32_t *t, uint32_t key)
{
    for (size_t i = oa_home(key), n = 0; n < OA_SLOTS; i = (i + 1) & (OA_SLOTS - 1), n++) {
        if (t[i] == 0) return -1;
        if (t[i] == key) return (long)i;
    }
    return -1;
}

static void oa_delete(uint32_t *t, size_t i)
{
    const size_t m = OA_SLOTS - 1;
    for (size_t j = i;;) {
        j = (j + 1) & m;
        if (t[j] == 0) break;
        if (es_oa_moves_back(oa_home(t[j]), i, j, m)) { t[i] = t[j]; i = j; }
    }
    t[i] = 0;
}

static void test_oa_table_against_set(void **state)
{
    (void)state;
    uint32_t t[OA_SLOTS] = {0};
    bool in[200] = {false};
    size_t n = 0;
    uint64_t x = 12345;
    for (int step = 0; step < 20000; step++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t key = 1 + (uint32_t)((x >> 33) % 199);
        if (in[key]) {
            long i = oa_find(t, key);
            assert_true(i >= 0);
            oa_delete(t, (size_t)i);
            in[key] = false;
            n--;
        } else if (n < 48) {   /* load at most 75 % */
            size_t i = oa_home(key);
            while (t[i]) i = (i + 1) & (OA_SLOTS - 1);
            t[i] = key;
            in[key] = true;
            n++;
        }
        for (uint32_t k = 1; k < 200; k++) assert_int_equal(oa_find(t, k) >= 0, in[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_read),
        cmocka_unit_test(test_file_read_empty_and_refused),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_go_duration),
        cmocka_unit_test(test_path_prefix),
        cmocka_unit_test(test_key_path),
        cmocka_unit_test(test_oa_moves_back_exhaustive),
        cmocka_unit_test(test_oa_table_against_set),
    };
    return cmocka_run_group_tests_name("common_util", tests, NULL, NULL);
}
