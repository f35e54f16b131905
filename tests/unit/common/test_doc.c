/* Document loader: positions, multi-document streams, aliases, edits, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "es_content.h"
#include "es_doc.h"

static es_doc_t *load(const char *text)
{
    es_doc_t *d = NULL;
    es_err_t err;
    es_err_clear(&err);
    int rc = es_doc_load_string("t.yaml", text, strlen(text), &d, &err);
    if (rc) fail_msg("load failed: %s", err.msg);
    return d;
}

static void test_positions(void **state)
{
    (void)state;
    es_doc_t *d = load("a: 1\nb:\n  c: [x, 'y']\n  d: \"2\"\n");
    const es_node_t *c = es_node_find(d->root, "b.c");
    assert_non_null(c);
    assert_int_equal(c->kind, ES_NODE_SEQ);
    assert_int_equal(c->line, 3);
    assert_int_equal(c->n, 2);
    assert_false(c->items[0]->quoted);
    assert_true(c->items[1]->quoted);
    const es_node_t *dn = es_node_find(d->root, "b.d");
    int64_t v;
    es_err_t err;
    assert_int_equal(es_node_to_i64(dn, "b.d", 0, 10, &v, &err), ES_EINVAL);  /* quoted: a string */
    assert_string_equal(err.msg, "t.yaml:4: b.d: expected an integer, got \"2\"");
    es_doc_destroy(d);
}

static void test_multi_document(void **state)
{
    (void)state;
    char path[] = "/tmp/eppsim-test-multi-XXXXXX";   /* unique: ctest runs in parallel */
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("kind: A\n---\n---\n# only a comment\n---\nkind: B\nx: 1\n", f);
    fclose(f);
    es_doc_t **docs;
    size_t n;
    es_err_t err;
    assert_int_equal(es_doc_load_all(path, &docs, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(es_map_get(docs[1]->root, "kind")->str, "B");
    assert_int_equal(es_map_get(docs[1]->root, "x")->line, 7);
    es_doc_destroy_all(docs, n);
    remove(path);
}

static void test_alias_and_set_path(void **state)
{
    (void)state;
    es_doc_t *d = load("base: &b {rate: 3}\nuse: *b\n");
    assert_string_equal(es_node_find(d->root, "use.rate")->str, "3");
    es_err_t err;
    es_node_t *v = es_node_parse_value(d, "[1, 2, 3]", &err);
    assert_non_null(v);
    assert_int_equal(es_doc_set_path(d, "epp.weights.queue", v, &err), 0);
    assert_int_equal(es_node_find(d->root, "epp.weights.queue")->n, 3);
    v = es_node_parse_value(d, "4", &err);
    assert_int_equal(es_doc_set_path(d, "base.rate", v, &err), 0);
    assert_string_equal(es_node_find(d->root, "base.rate")->str, "4");
    v = es_node_parse_value(d, "1", &err);
    assert_int_equal(es_doc_set_path(d, "base.rate.x", v, &err), ES_EINVAL);
    es_doc_destroy(d);
}

static void test_syntax_error_and_depth(void **state)
{
    (void)state;
    es_doc_t *d = NULL;
    es_err_t err;
    const char *bad = "a: [1, 2\nb: 3\n";
    assert_int_equal(es_doc_load_string("bad.yaml", bad, strlen(bad), &d, &err), ES_EPARSE);
    assert_non_null(strstr(err.msg, "bad.yaml:"));
    char deep[2000];
    memset(deep, '[', 600);
    deep[600] = '\0';
    assert_int_equal(es_doc_load_string("deep.yaml", deep, strlen(deep), &d, &err), ES_EPARSE);
    assert_non_null(strstr(err.msg, "nesting deeper"));
    assert_int_equal(es_doc_load_file("/nonexistent/x.yaml", &d, &err), ES_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.yaml: cannot open"));
}

static void test_check_keys(void **state)
{
    (void)state;
    es_doc_t *d = load("x:\n  good: 1\n  bda: 2\n");
    static const char *const allowed[] = {"good", "bad", NULL};
    es_err_t err;
    assert_int_equal(es_map_check_keys(es_map_get(d->root, "x"), "x", allowed, &err), ES_EINVAL);
    assert_string_equal(err.msg, "t.yaml:3: x.bda: unknown key (known: good, bad)");
    es_doc_destroy(d);

    /* a list longer than the message holds ends ", ...)", no name cut in two */
    enum { NAMES = 60 };
    static char names[NAMES][16];
    const char *many[NAMES + 1];
    for (int i = 0; i < NAMES; i++) {
        snprintf(names[i], sizeof names[i], "key_number_%02d", i);
        many[i] = names[i];
    }
    many[NAMES] = NULL;
    d = load("x:\n  nope: 1\n");
    assert_int_equal(es_map_check_keys(es_map_get(d->root, "x"), "x", many, &err), ES_EINVAL);
    const char *tail = err.msg + strlen(err.msg) - strlen("key_number_NN, ...)");
    assert_true(strlen(err.msg) > 300);
    assert_int_equal(strncmp(tail, "key_number_", 11), 0);
    assert_string_equal(tail + 13, ", ...)");
    es_doc_destroy(d);
    d = load("x: nope\n");
    int out;
    assert_int_equal(es_node_to_enum(es_map_get(d->root, "x"), "x", many, &out, &err), ES_EINVAL);
    tail = err.msg + strlen(err.msg) - strlen("key_number_NN, ...)");
    assert_int_equal(strncmp(tail, "key_number_", 11), 0);
    assert_string_equal(tail + 13, ", ...)");
    es_doc_destroy(d);
}

static void test_content_block_hashes(void **state)
{
    (void)state;
    /* equal content gives equal chains; a different first segment changes all */
    es_segment_t a[] = {{1, 40}, {2, 30}}, b[] = {{1, 40}, {3, 30}}, c[] = {{1, 16}, {1, 24}};
    es_content_t ca = {a, 2, 70}, cb = {b, 2, 70}, cc = {c, 2, 40};
    uint64_t ha[8], hb[8], hc[8];
    assert_int_equal(es_content_block_hashes(&ca, 16, ha, 8), 4);
    assert_int_equal(es_content_block_hashes(&cb, 16, hb, 8), 4);
    assert_true(ha[0] == hb[0] && ha[1] == hb[1]);   /* tokens 0..31 are segment 1 */
    assert_true(ha[2] != hb[2]);                     /* block 2 straddles into seg 2 vs 3 */
    assert_int_equal(es_content_block_hashes(&cc, 16, hc, 8), 2);
    assert_true(hc[0] == ha[0]);                     /* (1, 0..15) */
    assert_true(hc[1] != ha[1]);                     /* (1, 0..15) again is not (1, 16..31) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_multi_document),
        cmocka_unit_test(test_alias_and_set_path),
        cmocka_unit_test(test_syntax_error_and_depth),
        cmocka_unit_test(test_check_keys),
        cmocka_unit_test(test_content_block_hashes),
    };
    return cmocka_run_group_tests_name("common_doc", tests, NULL, NULL);
}
