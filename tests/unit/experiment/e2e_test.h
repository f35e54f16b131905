/*
 * e2e_test.h -- helpers shared by the end-to-end tests of app/: a temporary
 * directory per test binary, running an experiment given as YAML text into
 * it, reading summary.json, and the conservation check (every request that
 * arrived ends exactly once, with one status).  Header-only; one test binary
 * per including file.
 */
#ifndef ES_E2E_TEST_H
#define ES_E2E_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "es_doc.h"
#include "es_experiment.h"
#include "es_outdir.h"
#include "es_run.h"

static char g_tmp[256];

static inline int setup(void **state)
{
    (void)state;
    snprintf(g_tmp, sizeof g_tmp, "/tmp/eppsim-test-XXXXXX");
    return mkdtemp(g_tmp) ? 0 : -1;
}

static inline int teardown(void **state)
{
    (void)state;
    es_rmtree(g_tmp);
    return 0;
}

static inline char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); fclose(f); return NULL; }
    b[n] = '\0';
    fclose(f);
    return b;
}

static inline char *out_file(const char *name, const char *file)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s/%s", g_tmp, name, file);
    char *text = slurp(path);
    if (!text) fail_msg("cannot read %s", path);
    return text;
}

/* Runs YAML text into g_tmp/<name>; returns the parsed summary.json. */
static inline cJSON *run_yaml(const char *name, const char *yaml)
{
    es_doc_t *doc;
    es_err_t err;
    es_err_clear(&err);
    if (es_doc_load_string(name, yaml, strlen(yaml), &doc, &err)) fail_msg("%s", err.msg);
    es_experiment_t exp;
    if (es_experiment_from_doc(doc, ES_SOURCE_DIR "/tests/data/e2e", &exp, &err)) fail_msg("%s", err.msg);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", g_tmp, name);
    es_run_options_t opt = {dir, true, false, false, false, NULL, NULL, NULL, NULL, false};
    es_run_report_t rep;
    if (es_run_experiment(&exp, &opt, &rep, &err)) fail_msg("run %s: %s", name, err.msg);
    es_experiment_fini(&exp);
    char *text = out_file(name, "summary.json");
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

static inline double jnum(const cJSON *j, const char *dotted)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", dotted);
    const cJSON *n = j;
    for (char *tok = strtok(buf, "."); tok && n; tok = strtok(NULL, ".")) n = cJSON_GetObjectItemCaseSensitive(n, tok);
    if (!n || !cJSON_IsNumber(n)) fail_msg("%s is not a number", dotted);
    return n->valuedouble;
}

static inline double status_count(const cJSON *j, const char *code)
{
    const cJSON *bs = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "requests"), "by_status");
    const cJSON *n = cJSON_GetObjectItem(bs, code);
    return n ? n->valuedouble : 0;
}

/* Column index of `name` in a CSV header line, or fail. */
static inline int csv_col(const char *header, const char *name)
{
    int col = 0;
    size_t len = strlen(name);
    for (const char *p = header; *p && *p != '\n'; col++) {
        if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\n' || p[len] == '\0')) return col;
        while (*p && *p != ',' && *p != '\n') p++;
        if (*p == ',') p++;
    }
    fail_msg("requests.csv has no column %s", name);
    return -1;
}

static inline double csv_field(const char *line, int col)
{
    for (int c = 0; c < col; c++) {
        line = strchr(line, ',');
        assert_non_null(line);
        line++;
    }
    return strtod(line, NULL);
}

/*
 * Every request ends exactly once: requests.total equals the requests that
 * arrived, by_status sums to it, requests.csv has each id once and its
 * statuses and preemptions agree with summary.json.
 */
static inline void check_conservation(const cJSON *j, size_t expected, const char *name)
{
    double total = jnum(j, "requests.total"), sum = 0;
    const cJSON *bs = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "requests"), "by_status");
    assert_non_null(bs);
    for (const cJSON *c = bs->child; c; c = c->next) sum += c->valuedouble;
    if (total != (double)expected) fail_msg("%s: requests.total %.0f, expected %zu", name, total, expected);
    if (sum != total) fail_msg("%s: by_status sums to %.0f of %.0f", name, sum, total);

    char *text = out_file(name, "requests.csv");
    int c_status = csv_col(text, "status"), c_pre = csv_col(text, "preemptions");
    unsigned char *seen = calloc(expected, 1);
    double by[600] = {0}, preempt = 0;
    size_t rows = 0;
    for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        unsigned long id = strtoul(line + 1, NULL, 10);
        if (id >= expected) fail_msg("%s: request id %lu out of range", name, id);
        if (seen[id]) fail_msg("%s: request %lu ends twice", name, id);
        seen[id] = 1;
        int st = (int)csv_field(line + 1, c_status);
        assert_true(st >= 100 && st < 600);
        by[st]++;
        preempt += csv_field(line + 1, c_pre);
        rows++;
    }
    if (rows != expected) fail_msg("%s: requests.csv has %zu rows, expected %zu", name, rows, expected);
    for (const cJSON *c = bs->child; c; c = c->next) {
        int st = atoi(c->string);
        assert_true(st >= 100 && st < 600);
        if (by[st] != c->valuedouble) fail_msg("%s: %d rows with status %d, summary says %.0f", name, (int)by[st], st, c->valuedouble);
    }
    if (preempt != jnum(j, "preemptions")) fail_msg("%s: preemptions %.0f in requests.csv, %.0f in summary", name, preempt, jnum(j, "preemptions"));
    free(seen);
    free(text);
}

#endif /* ES_E2E_TEST_H */
