/*
 * Every numeric key of the experiment schema at its minimum and its maximum
 * (issue 19, class 3): each value inside the schema's range either runs or is
 * rejected with an error (exit 2 in the CLI); nothing aborts, hangs or trips a
 * sanitizer.  The cases come from the schema tables themselves, so a key
 * added later is covered.  Each case runs in a child process with at most 20
 * requests and 60 simulated seconds and a wall-clock alarm.  Also the list
 * keys' numbers (faults, scaling, stages, outages) at their extremes.
 *
 * Run one case by hand: test_limits KEY=VALUE (prints the outcome).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "es_doc.h"
#include "es_schema.h"
#include "es_experiment.h"
#include "es_outdir.h"
#include "es_run.h"

#define CASE_CPU_S 30    /* a case spending more CPU than this is a hang (CPU time,
                          * so a loaded CI machine does not fail it) */
#define CASE_WALL_S 600  /* a case blocked this long is a hang too */
#define CASE_JOBS 2      /* cases at once */

static char g_tmp[256];

typedef struct limit_case {
    char path[160];
    char value[256];
} limit_case_t;

typedef struct cases {
    limit_case_t *v;
    size_t n, cap;
} cases_t;

static void add(cases_t *c, const char *path, const char *value)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        assert_non_null(c->v);
    }
    snprintf(c->v[c->n].path, sizeof c->v[c->n].path, "%s", path);
    snprintf(c->v[c->n].value, sizeof c->v[c->n].value, "%s", value);
    c->n++;
}

static void visit(void *ud, const char *path, const es_schema_entry_t *e)
{
    char v[64];
    if (e->type == ES_ST_INT || e->type == ES_ST_DOUBLE) {
        snprintf(v, sizeof v, e->type == ES_ST_INT ? "%.0f" : "%.17g", e->min);
        add(ud, path, v);
        snprintf(v, sizeof v, e->type == ES_ST_INT ? "%.0f" : "%.17g", e->max);
        add(ud, path, v);
        /* just inside the minimum: 1 block, 1 pod, the smallest positive rate */
        bool tiny = e->type == ES_ST_DOUBLE && e->min == 0 && e->max > 1e-9;
        snprintf(v, sizeof v, e->type == ES_ST_INT ? "%.0f" : "%.17g", e->type == ES_ST_INT ? e->min + 1 : 1e-9);
        if ((e->type == ES_ST_INT && e->min + 1 <= e->max) || tiny) add(ud, path, v);
    } else if (e->type == ES_ST_U64) {
        add(ud, path, "0");
        add(ud, path, "18446744073709551615");
    }
}

/* The experiment of one case: the default one, bounded, with path = value
 * (a flow-style YAML value for the list keys). */
static int run_case(const char *path, const char *value, es_err_t *err)
{
    es_doc_t *doc;
    int rc = es_doc_load_string("<default>", es_default_experiment_yaml, strlen(es_default_experiment_yaml), &doc, err);
    if (rc) return rc;
    /* the bounds first, so the key under test may override one of them */
    static const char *const bounds[][2] = {{"workload.num_requests", "20"}, {"duration_s", "60"}};
    for (size_t i = 0; i < 2 && !rc; i++)
        rc = es_doc_set_path(doc, bounds[i][0], es_node_new_scalar(doc, bounds[i][1], false), err);
    /* keys of one workload type run with that type */
    static const char *const types[] = {"trace", "synthetic", "sessions"};
    for (size_t i = 0; i < 3 && !rc; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "workload.%s.", types[i]);
        if (strncmp(path, prefix, strlen(prefix)) == 0)
            rc = es_doc_set_path(doc, "workload.type", es_node_new_scalar(doc, types[i], false), err);
    }
    /* many pods: small KV caches, so the case needs ~100 kB per pod, not ~0.5 MB */
    if (!rc && strncmp(path, "cluster.", 8) == 0 && (strstr(path, "replicas") || strstr(path, "scaling")))
        rc = es_doc_set_path(doc, "server.num_gpu_blocks", es_node_new_scalar(doc, "64", false), err);
    if (!rc && strncmp(path, "workload.trace.", 15) == 0)
        rc = es_doc_set_path(doc, "workload.trace.file",
                             es_node_new_scalar(doc, ES_SOURCE_DIR "/tests/data/traces/mooncake_sample.jsonl", false), err);
    if (!rc) {
        es_node_t *v = es_node_parse_value(doc, value, err);
        if (!v) { es_doc_destroy(doc); return err->code ? err->code : ES_EINVAL; }
        rc = es_doc_set_path(doc, path, v, err);
    }
    if (rc) { es_doc_destroy(doc); return rc; }
    es_experiment_t exp;
    if ((rc = es_experiment_from_doc(doc, ".", &exp, err))) return rc;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/case-%ld", g_tmp, (long)getpid());
    es_run_options_t opt = {dir, true, false, false, false, NULL, NULL, NULL, NULL, false};
    rc = es_run_experiment(&exp, &opt, NULL, err);
    es_experiment_fini(&exp);
    es_rmtree(dir);
    return rc;
}

/* Starts one case in a child, which exits 0 (ran) or 2 (rejected); anything
 * else (a signal, another code, the alarm) is a failure. */
static pid_t start_case(const char *path, const char *value)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit cpu = {CASE_CPU_S, CASE_CPU_S + 5};
        setrlimit(RLIMIT_CPU, &cpu);   /* SIGXCPU */
        alarm(CASE_WALL_S);
        es_err_t err;
        es_err_clear(&err);
        int rc = run_case(path, value, &err);
        if (rc) fprintf(stderr, "  %s=%s: rejected: %s\n", path, value, err.msg);
        _exit(rc ? 2 : 0);
    }
    return pid;
}

/* Runs the cases, CASE_JOBS at a time. */
static void run_all(const cases_t *c)
{
    size_t bad = 0, ran = 0, rejected = 0, next = 0, running = 0;
    pid_t pids[CASE_JOBS] = {0};
    size_t which[CASE_JOBS];
    while (next < c->n || running) {
        if (next < c->n && running < CASE_JOBS) {
            size_t slot = 0;
            while (pids[slot]) slot++;
            which[slot] = next;
            pids[slot] = start_case(c->v[next].path, c->v[next].value);
            next++, running++;
            continue;
        }
        int st;
        pid_t done = waitpid(-1, &st, 0);
        if (done < 0) continue;
        size_t slot = 0;
        while (slot < CASE_JOBS && pids[slot] != done) slot++;
        if (slot == CASE_JOBS) continue;
        pids[slot] = 0;
        running--;
        const limit_case_t *k = &c->v[which[slot]];
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) ran++;
        else if (WIFEXITED(st) && WEXITSTATUS(st) == 2) rejected++;
        else {
            bad++;
            if (WIFSIGNALED(st))
                print_error("%s=%s: killed by signal %d%s\n", k->path, k->value, WTERMSIG(st),
                            WTERMSIG(st) == SIGALRM ? " (hang)" : "");
            else print_error("%s=%s: exit %d\n", k->path, k->value, WEXITSTATUS(st));
        }
    }
    print_message("%zu cases: %zu ran, %zu rejected, %zu failed\n", c->n, ran, rejected, bad);
    if (bad) fail_msg("%zu cases aborted, hung or crashed", bad);
}

static void test_schema_keys_at_min_and_max(void **state)
{
    (void)state;
    cases_t c = {0};
    es_schema_visit(&es_experiment_schema, "", visit, &c);
    assert_true(c.n > 100);
    run_all(&c);
    free(c.v);
}

static void test_list_keys_at_extremes(void **state)
{
    (void)state;
    cases_t c = {0};
    add(&c, "cluster.faults", "[{at_s: 1e11, kind: pod_crash, pod: 0}]");
    add(&c, "cluster.faults", "[{at_s: 1e12, kind: scrape_failure, pod: 0, duration_s: 1e12}]");
    add(&c, "cluster.faults", "[{at_s: 0, kind: pod_crash, pod: 0}, {at_s: 0, kind: pod_restart, pod: 0}]");
    add(&c, "cluster.scaling", "[{at_s: 1e11, replicas: 5}]");
    add(&c, "cluster.scaling", "[{at_s: 1, replicas: 5000}, {at_s: 2, replicas: 1}]");
    add(&c, "cluster.faults", "[{at_s: 1e9, kind: pod_crash, pod: 0}]");
    add(&c, "cluster.scaling", "[{at_s: 1e9, replicas: 2}]");
    add(&c, "workload.arrival.stages", "[{rate: 1e9, duration_s: 1e12}]");
    add(&c, "workload.arrival.stages", "[{rate: 1, duration_s: 1e9}, {rate: 1, duration_s: 1e9}]");
    add(&c, "workload.arrival.stages", "[{rate: 1e-6, duration_s: 1e9}]");
    add(&c, "workload.arrival.rate", "1e-300");
    add(&c, "workload.arrival.stages", "[{rate: 1e-300, duration_s: 10}]");
    add(&c, "epp.outages", "[{start_s: 0, end_s: 1e12}]");
    add(&c, "epp.outages", "[{start_s: 1e11, end_s: 1e12}]");
    run_all(&c);
    free(c.v);
}

int main(int argc, char **argv)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/eppsim-limits-XXXXXX");
    if (!mkdtemp(g_tmp)) return 1;
    int rc;
    if (argc == 2 && strchr(argv[1], '=')) {   /* one case by hand */
        char *eq = strchr(argv[1], '=');
        *eq = '\0';
        es_err_t err;
        es_err_clear(&err);
        rc = run_case(argv[1], eq + 1, &err);
        printf("%s=%s: %s\n", argv[1], eq + 1, rc ? err.msg : "ran");
    } else {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_schema_keys_at_min_and_max),
            cmocka_unit_test(test_list_keys_at_extremes),
        };
        rc = cmocka_run_group_tests(tests, NULL, NULL);
    }
    es_rmtree(g_tmp);
    return rc;
}
