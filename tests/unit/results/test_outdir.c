/* Output directories: paths are never cut short, an existing directory is
 * replaced only with force (checked at begin and again at commit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "es_outdir.h"

static char g_tmp[256];

static bool exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

static void test_path_longer_than_max_is_refused(void **state)
{
    (void)state;
    char path[ES_OUTDIR_MAX + 200];
    int n = snprintf(path, sizeof path, "%s/", g_tmp);
    memset(path + n, 'a', sizeof path - (size_t)n - 1);
    path[sizeof path - 1] = '\0';
    es_outdir_t o;
    es_err_t err;
    es_err_clear(&err);
    assert_int_equal(es_outdir_begin(&o, path, true, &err), ES_EINVAL);
    assert_non_null(strstr(err.msg, "longer than"));
}

static void test_commit_refuses_a_directory_made_meanwhile(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/late", g_tmp);
    es_outdir_t o;
    es_err_t err;
    es_err_clear(&err);
    assert_int_equal(es_outdir_begin(&o, path, false, &err), 0);
    assert_int_equal(mkdir(path, 0777), 0);   /* appears while the run runs */
    assert_int_equal(es_outdir_commit(&o, &err), ES_EINVAL);
    assert_non_null(strstr(err.msg, "exists"));
    es_outdir_abort(&o);
    assert_false(exists(o.tmp));
    assert_true(exists(path));
}

static void test_trailing_slash_names_the_same_directory(void **state)
{
    (void)state;
    char path[512], want[512];
    snprintf(want, sizeof want, "%s/slash", g_tmp);
    snprintf(path, sizeof path, "%s/slash/", g_tmp);
    es_outdir_t o;
    es_err_t err;
    es_err_clear(&err);
    assert_int_equal(es_outdir_begin(&o, path, false, &err), 0);
    assert_string_equal(o.final, want);
    assert_int_equal(es_outdir_commit(&o, &err), 0);
    assert_true(exists(want));
}

int main(void)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/es-test-outdir-%ld", (long)getpid());
    es_rmtree(g_tmp);
    if (es_mkdirs(g_tmp)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_longer_than_max_is_refused),
        cmocka_unit_test(test_commit_refuses_a_directory_made_meanwhile),
        cmocka_unit_test(test_trailing_slash_names_the_same_directory),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    es_rmtree(g_tmp);
    return rc;
}
