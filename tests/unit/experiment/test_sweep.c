/* Sweeps: grid expansion, key paths (EPP short forms), line-numbered spec
 * errors, shards, resume, -j determinism, merge.  Runs are tiny (tens of
 * requests), a few milliseconds each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "e2e_test.h"
#include "es_sweep.h"


static int load_spec(const char *yaml, es_sweep_spec_t *s, es_err_t *err)
{
    es_doc_t *doc;
    es_err_clear(err);
    int rc = es_doc_load_string("spec.yaml", yaml, strlen(yaml), &doc, err);
    if (rc) return rc;
    return es_sweep_spec_from_doc(doc, g_tmp, s, err);
}

static void must_load(const char *yaml, es_sweep_spec_t *s)
{
    es_err_t err;
    if (load_spec(yaml, s, &err)) fail_msg("%s", err.msg);
}

static const es_node_t *find(const es_doc_t *d, const char *path)
{
    const es_node_t *n = es_node_find(d->root, path);
    if (!n) fail_msg("no %s", path);
    return n;
}

static void test_grid_expansion(void **state)
{
    (void)state;
    es_sweep_spec_t s;
    must_load("base: {name: g}\n"
              "grid:\n"
              "  server.max_num_seqs: [64, 128]\n"
              "  workload.arrival.rate: [5, 10, 20]\n"
              "seeds: 3\n",
              &s);
    assert_int_equal(s.npoints, 6);
    assert_int_equal(s.nkeys, 2);
    assert_string_equal(s.keys[0], "server.max_num_seqs");
    /* the last key varies fastest */
    const char *want[6][2] = {{"64", "5"}, {"64", "10"}, {"64", "20"}, {"128", "5"}, {"128", "10"}, {"128", "20"}};
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(s.values[i * 2]->str, want[i][0]);
        assert_string_equal(s.values[i * 2 + 1]->str, want[i][1]);
    }
    assert_int_equal(s.nseeds, 3);
    assert_int_equal(s.seeds[0], 1);
    assert_int_equal(s.seeds[2], 3);
    assert_int_equal(s.nmetrics, 8);   /* the default set */
    char label[256];
    assert_string_equal(es_sweep_point_label(&s, 4, label, sizeof label),
                        "server.max_num_seqs=128, workload.arrival.rate=10");

    es_doc_t *d;
    es_err_t err;
    assert_int_equal(es_sweep_point_doc(&s, 4, 7, &d, &err), 0);
    assert_string_equal(find(d, "server.max_num_seqs")->str, "128");
    assert_string_equal(find(d, "workload.arrival.rate")->str, "10");
    assert_string_equal(find(d, "seed")->str, "7");
    assert_string_equal(find(d, "name")->str, "g");
    es_experiment_t exp;
    assert_int_equal(es_experiment_from_doc(d, g_tmp, &exp, &err), 0);
    assert_int_equal(exp.server.max_num_seqs, 128);
    assert_int_equal(exp.seed, 7);
    es_experiment_fini(&exp);
    es_sweep_spec_fini(&s);

    /* points: keys in order of first appearance; a missing key keeps the base's value */
    must_load("base: {name: p, server: {max_num_seqs: 32}}\n"
              "points:\n"
              "  - {server.max_num_seqs: 64}\n"
              "  - {workload.arrival.rate: 3}\n"
              "seeds: [5, 9]\n"
              "metrics: [latency_ms.ttft.p99]\n",
              &s);
    assert_int_equal(s.npoints, 2);
    assert_int_equal(s.nkeys, 2);
    assert_null(s.values[1]);
    assert_null(s.values[2]);
    assert_int_equal(s.seeds[1], 9);
    assert_int_equal(s.nmetrics, 1);
    assert_int_equal(es_sweep_point_doc(&s, 1, 5, &d, &err), 0);
    assert_string_equal(find(d, "server.max_num_seqs")->str, "32");
    assert_string_equal(find(d, "workload.arrival.rate")->str, "3");
    es_doc_destroy(d);
    es_sweep_spec_fini(&s);
}

static const es_node_t *profile_ref(const es_doc_t *d, const char *ref)
{
    const es_node_t *refs = find(d, "epp.config.schedulingProfiles");
    refs = es_map_get(refs->items[0], "plugins");
    for (size_t i = 0; i < refs->n; i++)
        if (!strcmp(es_map_get(refs->items[i], "pluginRef")->str, ref)) return refs->items[i];
    return NULL;
}

static void test_epp_short_forms(void **state)
{
    (void)state;
    es_sweep_spec_t s;
    es_err_t err;
    es_doc_t *d;
    /* no config in the base: the upstream default 2/2/3 is materialised */
    must_load("base: {name: e}\n"
              "points:\n"
              "  - {epp.weights.prefix-cache-scorer: 0, epp.weights.queue-scorer: 1,\n"
              "     epp.plugins.prefix-cache-scorer.blockSizeTokens: 32}\n",
              &s);
    assert_non_null(s.epp_doc);
    assert_int_equal(es_sweep_point_doc(&s, 0, 1, &d, &err), 0);
    assert_string_equal(es_map_get(profile_ref(d, "prefix-cache-scorer"), "weight")->str, "0");
    assert_string_equal(es_map_get(profile_ref(d, "queue-scorer"), "weight")->str, "1");
    assert_string_equal(es_map_get(profile_ref(d, "kv-cache-utilization-scorer"), "weight")->str, "2");
    const es_node_t *plugins = find(d, "epp.config.plugins");
    const es_node_t *pfx = NULL;
    for (size_t i = 0; i < plugins->n; i++)
        if (!strcmp(es_map_get(plugins->items[i], "type")->str, "prefix-cache-scorer")) pfx = plugins->items[i];
    assert_non_null(pfx);
    assert_string_equal(es_node_find(pfx, "parameters.blockSizeTokens")->str, "32");
    /* and the scheduler library accepts it (weight 0 keeps the scorer) */
    es_experiment_t exp;
    if (es_experiment_from_doc(d, g_tmp, &exp, &err)) fail_msg("%s", err.msg);
    assert_non_null(exp.epp.config);
    es_experiment_fini(&exp);
    es_sweep_spec_fini(&s);

    /* an inline config in the base is edited in place; generic epp.config paths index lists */
    must_load("base:\n"
              "  epp:\n"
              "    config:\n"
              "      plugins: [{name: q, type: queue-scorer}, {type: prefix-cache-scorer}]\n"
              "      schedulingProfiles:\n"
              "      - name: default\n"
              "        plugins: [{pluginRef: q, weight: 1}]\n"
              "grid:\n"
              "  epp.weights.prefix-cache-scorer: [4]\n"
              "  epp.config.schedulingProfiles.0.plugins.0.weight: [7]\n",
              &s);
    assert_null(s.epp_doc);
    assert_int_equal(es_sweep_point_doc(&s, 0, 1, &d, &err), 0);
    assert_string_equal(es_map_get(profile_ref(d, "q"), "weight")->str, "7");
    /* a plugin the profile did not reference is added with the weight */
    assert_string_equal(es_map_get(profile_ref(d, "prefix-cache-scorer"), "weight")->str, "4");
    es_doc_destroy(d);
    es_sweep_spec_fini(&s);

    /* config_file: loaded relative to the base experiment, errors keep its lines */
    char path[512];
    snprintf(path, sizeof path, "%s/epp.yaml", g_tmp);
    FILE *f = fopen(path, "w");
    fputs("plugins:\n- type: queue-scorer\n- type: prefix-cache-scorer\nschedulingProfiles:\n- name: a\n"
          "  plugins: [{pluginRef: queue-scorer}]\n- name: b\n  plugins: [{pluginRef: queue-scorer}]\n", f);
    fclose(f);
    must_load("base: {epp: {config_file: epp.yaml}}\n"
              "grid:\n"
              "  epp.weights.queue-scorer: [1]\n",
              &s);
    assert_non_null(s.epp_doc);
    assert_int_not_equal(es_sweep_point_doc(&s, 0, 1, &d, &err), 0);
    assert_non_null(strstr(err.msg, "spec.yaml:3: epp.weights.queue-scorer: epp.weights needs exactly one "
                                    "scheduling profile"));
    es_sweep_spec_fini(&s);
}

/* Loads `yaml`, validates it, and checks the error starts with `want`. */
static void expect_error(const char *yaml, const char *want)
{
    es_sweep_spec_t s;
    es_err_t err;
    int rc = load_spec(yaml, &s, &err);
    if (rc == 0) {
        rc = es_sweep_spec_validate(&s, &err);
        es_sweep_spec_fini(&s);
    }
    assert_int_not_equal(rc, 0);
    if (strncmp(err.msg, want, strlen(want))) fail_msg("error '%s' does not start with '%s'", err.msg, want);
}

static void test_spec_errors(void **state)
{
    (void)state;
    expect_error("base: {}\ngrids: {a: [1]}\n", "spec.yaml:2: ");
    expect_error("grid: {server.max_num_seqs: [1]}\n", "spec.yaml:1: base: missing");
    expect_error("base: {}\ngrid:\n  server.max_num_seqs: 64\n", "spec.yaml:3: grid.server.max_num_seqs: ");
    expect_error("base: {}\ngrid:\n  server.max_num_seqs: []\n", "spec.yaml:3: grid.server.max_num_seqs: needs");
    expect_error("base: {}\ngrid: {a: [1]}\npoints: [{a: 1}]\n", "spec.yaml:3: points: give either");
    expect_error("base: {}\ngrid:\n  seed: [1, 2]\n", "spec.yaml:3: seed: cannot be swept");
    expect_error("base: {}\ngrid:\n  server..gpu: [1]\n", "spec.yaml:3: server..gpu: bad key path");
    expect_error("base: {}\nseeds: 0\n", "spec.yaml:2: seeds: ");
    expect_error("base: {}\nseeds: [1, 1]\n", "spec.yaml:2: seeds[1]: seed 1 is listed twice");
    expect_error("base: missing.yaml\n", "spec.yaml:1: base: ");
    /* short forms name plugins that exist */
    expect_error("base: {}\ngrid:\n  epp.weights.nope: [1]\n",
                 "spec.yaml:3: epp.weights.nope: no plugin named 'nope' in the EPP config (plugins: queue-scorer,");
    expect_error("base: {}\ngrid:\n  epp.plugins.nope.x: [1]\n", "spec.yaml:3: epp.plugins.nope.x: no plugin");
    expect_error("base: {}\ngrid:\n  epp.plugins.queue-scorer: [1]\n", "spec.yaml:3: epp.plugins.queue-scorer: ");
    /* a value the experiment rejects is reported at its line in the spec */
    expect_error("base: {}\ngrid:\n  server.max_num_seqs:\n    - 8\n    - abc\n", "spec.yaml:5: server.max_num_seqs: ");
    expect_error("base: {}\ngrid:\n  server.no_such_key: [1]\n", "spec.yaml:");
    expect_error("base: {}\ngrid:\n  epp.config.schedulingProfiles.3.weight: [1]\n",
                 "<upstream default EndpointPickerConfig>:");
}

static const char *fake_env_vals[8][2];
static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; i < 8 && fake_env_vals[i][0]; i++)
        if (!strcmp(fake_env_vals[i][0], name)) return fake_env_vals[i][1];
    return NULL;
}

static void set_env(const char *a, const char *av, const char *b, const char *bv, const char *c, const char *cv)
{
    memset(fake_env_vals, 0, sizeof fake_env_vals);
    fake_env_vals[0][0] = a; fake_env_vals[0][1] = av;
    fake_env_vals[1][0] = b; fake_env_vals[1][1] = bv;
    fake_env_vals[2][0] = c; fake_env_vals[2][1] = cv;
}

static void test_shards(void **state)
{
    (void)state;
    es_sweep_shard_t sh;
    es_err_t err;
    set_env(NULL, NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(es_sweep_shard_resolve(NULL, 0, fake_getenv, &sh, &err), 0);
    assert_int_equal(sh.count, 1);
    assert_int_equal(es_sweep_shard_resolve("1/3", 0, fake_getenv, &sh, &err), 0);
    assert_int_equal(sh.index, 1);
    assert_int_equal(sh.count, 3);
    size_t mine = 0;
    for (size_t i = 0; i < 10; i++) mine += es_sweep_shard_has(&sh, i);
    assert_int_equal(mine, 3);   /* 1, 4, 7 */
    assert_true(es_sweep_shard_has(&sh, 7));
    assert_false(es_sweep_shard_has(&sh, 8));
    assert_int_not_equal(es_sweep_shard_resolve("3/3", 0, fake_getenv, &sh, &err), 0);
    assert_int_not_equal(es_sweep_shard_resolve("1/0", 0, fake_getenv, &sh, &err), 0);
    assert_int_not_equal(es_sweep_shard_resolve("x/2", 0, fake_getenv, &sh, &err), 0);
    /* Slurm: the array may start at 1 */
    set_env("SLURM_ARRAY_TASK_ID", "5", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_COUNT", "8");
    assert_int_equal(es_sweep_shard_resolve(NULL, 0, fake_getenv, &sh, &err), 0);
    assert_int_equal(sh.index, 4);
    assert_int_equal(sh.count, 8);
    /* --shard wins over the environment */
    assert_int_equal(es_sweep_shard_resolve("0/2", 0, fake_getenv, &sh, &err), 0);
    assert_int_equal(sh.count, 2);
    set_env("SLURM_ARRAY_TASK_ID", "9", "SLURM_ARRAY_TASK_COUNT", "8", NULL, NULL);
    assert_int_not_equal(es_sweep_shard_resolve(NULL, 0, fake_getenv, &sh, &err), 0);
    /* Kubernetes Indexed Job */
    set_env("JOB_COMPLETION_INDEX", "2", NULL, NULL, NULL, NULL);
    assert_int_not_equal(es_sweep_shard_resolve(NULL, 0, fake_getenv, &sh, &err), 0);
    assert_non_null(strstr(err.msg, "--shards"));
    assert_int_equal(es_sweep_shard_resolve(NULL, 4, fake_getenv, &sh, &err), 0);
    assert_int_equal(sh.index, 2);
    assert_int_equal(sh.count, 4);
    assert_int_not_equal(es_sweep_shard_resolve(NULL, 2, fake_getenv, &sh, &err), 0);
}

static const char k_small[] = "base:\n"
                              "  name: small\n"
                              "  cluster: {replicas: 2}\n"
                              "  workload: {num_requests: 30}\n"
                              "  results: {plots: false}\n"
                              "grid:\n"
                              "  epp.weights.prefix-cache-scorer: [0, 3]\n"
                              "  workload.arrival.rate: [5, 20]\n"
                              "seeds: 2\n";

static es_sweep_stats_t run_sweep(const es_sweep_spec_t *s, const char *dir, unsigned jobs, uint32_t shard,
                                  uint32_t shards)
{
    es_sweep_options_t opt = {dir, jobs, {shard, shards}, false, NULL, NULL};
    es_sweep_stats_t st;
    es_err_t err;
    if (es_sweep_run(s, &opt, &st, &err)) fail_msg("%s", err.msg);
    return st;
}

static void test_run_resume_determinism_merge(void **state)
{
    (void)state;
    es_sweep_spec_t s;
    must_load(k_small, &s);
    char d1[512], d2[512], a[512], b[512], m[512], path[600];
    snprintf(d1, sizeof d1, "%s/j1", g_tmp);
    snprintf(d2, sizeof d2, "%s/j2", g_tmp);
    es_sweep_stats_t st = run_sweep(&s, d1, 1, 0, 1);
    assert_int_equal(st.total, 8);
    assert_int_equal(st.completed, 8);
    assert_int_equal(st.failed, 0);
    st = run_sweep(&s, d2, 2, 0, 1);
    assert_int_equal(st.completed, 8);

    /* byte-identical at -j 1 and -j 2 */
    snprintf(path, sizeof path, "%s/sweep.csv", d1);
    char *c1 = slurp(path);
    snprintf(path, sizeof path, "%s/sweep.csv", d2);
    char *c2 = slurp(path);
    assert_non_null(c1);
    assert_string_equal(c1, c2);
    /* 4 points x (2 seed rows + 1 aggregated row) + header */
    size_t lines = 0;
    for (const char *p = c1; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 1 + 4 * 3);
    assert_non_null(strstr(c1, "\n0,1,1,0,5,"));
    assert_non_null(strstr(c1, "\n3,all,2,3,20,"));

    /* resume: everything is done; a removed point runs again */
    st = run_sweep(&s, d1, 2, 0, 1);
    assert_int_equal(st.skipped, 8);
    assert_int_equal(st.completed, 0);
    snprintf(path, sizeof path, "%s/points/2-seed2", d1);
    es_rmtree(path);
    st = run_sweep(&s, d1, 2, 0, 1);
    assert_int_equal(st.skipped, 7);
    assert_int_equal(st.completed, 1);
    snprintf(path, sizeof path, "%s/sweep.csv", d1);
    char *c3 = slurp(path);
    assert_string_equal(c1, c3);

    /* shards then merge: the same sweep.csv */
    snprintf(a, sizeof a, "%s/shard0", g_tmp);
    snprintf(b, sizeof b, "%s/shard1", g_tmp);
    snprintf(m, sizeof m, "%s/merged", g_tmp);
    st = run_sweep(&s, a, 2, 0, 2);
    assert_int_equal(st.total, 4);   /* points 0 and 2 */
    snprintf(path, sizeof path, "%s/points/1-seed1", a);
    assert_int_not_equal(access(path, F_OK), 0);
    run_sweep(&s, b, 2, 1, 2);
    const char *dirs[] = {b, a};
    es_err_t err;
    if (es_sweep_merge(dirs, 2, m, &err)) fail_msg("%s", err.msg);
    snprintf(path, sizeof path, "%s/sweep.csv", m);
    char *c4 = slurp(path);
    assert_non_null(c4);
    assert_string_equal(c1, c4);

    /* the aggregated rows read back */
    es_sweep_result_t r;
    if (es_sweep_result_load(m, &r, &err)) fail_msg("%s", err.msg);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.nseeds[3], 2);
    assert_string_equal(r.label[3], "epp.weights.prefix-cache-scorer=3, workload.arrival.rate=20");
    assert_true(r.lo[0] <= r.mean[0] && r.mean[0] <= r.hi[0]);
    es_sweep_result_fini(&r);

    /* a "nan" or "inf" cell is not a number (strtod would take it, and a CI
     * gate reading the table would compare against NaN silently) */
    snprintf(path, sizeof path, "%s/sweep.csv", m);
    char *bad = slurp(path);
    char *last = strrchr(bad, ',');   /* the last cell of the last row */
    assert_non_null(last);
    FILE *bf = fopen(path, "w");
    fprintf(bf, "%.*s,nan\n", (int)(last - bad), bad);
    fclose(bf);
    assert_int_not_equal(es_sweep_result_load(m, &r, &err), 0);
    assert_non_null(strstr(err.msg, "not a number"));
    free(bad);

    /* sweep.json's numbers, edited: seeds read exactly (2^64 - 1 is no
     * double), a count or seed no integer holds refused, never cast */
    snprintf(path, sizeof path, "%s/sweep.json", a);
    char *meta = slurp(path), *sd = strstr(meta, "\"seeds\": ["), *pt = strstr(meta, "\"points\": ");
    assert_non_null(sd);
    assert_non_null(pt);
    static const char *const edits[][3] = {
        {"seeds", "[18446744073709551615, 3]", NULL},
        {"seeds", "[1e30]", "sweep.json:4: seeds: expected an unsigned integer, got \"1e30\""},
        {"points", "1e30", "sweep.json: points: 1e+30 is not a point count (an integer in [0, 1000000])"},
    };
    for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
        const char *at = edits[k][0][0] == 's' ? sd : pt;
        const char *after = edits[k][0][0] == 's' ? strchr(at, ']') + 1 : at + strcspn(at, ",");
        const char *key_end = edits[k][0][0] == 's' ? at + strlen("\"seeds\": ") : at + strlen("\"points\": ");
        FILE *mf = fopen(path, "w");
        fprintf(mf, "%.*s%s%s", (int)(key_end - meta), meta, edits[k][1], after);
        fclose(mf);
        const char *one[] = {a};
        int rc = es_sweep_merge(one, 1, m, &err);
        if (!edits[k][2]) {
            if (rc) fail_msg("%s", err.msg);
            snprintf(path, sizeof path, "%s/sweep.json", m);
            char *out = slurp(path);
            assert_non_null(strstr(out, "\"seeds\": [18446744073709551615, 3]"));
            free(out);
            snprintf(path, sizeof path, "%s/sweep.json", a);
        } else {
            assert_int_not_equal(rc, 0);
            if (!strstr(err.msg, edits[k][2])) fail_msg("%s", err.msg);
        }
    }
    free(meta);

    free(c1); free(c2); free(c3); free(c4);
    es_sweep_spec_fini(&s);
}

static void test_failing_point_goes_on(void **state)
{
    (void)state;
    es_sweep_spec_t s;
    /* a trace file that does not exist fails at run time, not at validation */
    must_load("base: {name: f, workload: {num_requests: 20}, results: {plots: false}}\n"
              "points:\n"
              "  - {workload.arrival.rate: 5}\n"
              "  - {workload.type: trace, workload.trace.file: /nonexistent/trace.jsonl}\n",
              &s);
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/fail", g_tmp);
    es_sweep_stats_t st = run_sweep(&s, dir, 2, 0, 1);
    assert_int_equal(st.completed, 1);
    assert_int_equal(st.failed, 1);
    snprintf(path, sizeof path, "%s/points/0-seed1/summary.json", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    char *csv = slurp(path);
    assert_non_null(strstr(csv, "\n0,all,1,"));
    assert_null(strstr(csv, "\n1,"));
    free(csv);
    es_sweep_spec_fini(&s);
}

/* A changed spec does not resume over its old points: the ones whose fully
 * defaulted experiment changed run again, and the log names the keys. */
static void test_resume_over_changed_spec(void **state)
{
    (void)state;
    es_sweep_spec_t s;
    must_load(k_small, &s);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/changed", g_tmp);
    es_sweep_stats_t st = run_sweep(&s, dir, 2, 0, 1);
    assert_int_equal(st.completed, 8);
    es_sweep_spec_fini(&s);

    /* the base changes: every point runs again */
    char *log = NULL;
    size_t loglen = 0;
    FILE *f = open_memstream(&log, &loglen);
    char spec[1024];
    snprintf(spec, sizeof spec, "%s", k_small);
    char *at = strstr(spec, "num_requests: 30");
    assert_non_null(at);
    memcpy(at, "num_requests: 20", 16);
    must_load(spec, &s);
    es_sweep_options_t opt = {dir, 2, {0, 1}, false, f, NULL};
    es_err_t err;
    if (es_sweep_run(&s, &opt, &st, &err)) fail_msg("%s", err.msg);
    fclose(f);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(st.rerun, 8);
    assert_int_equal(st.completed, 8);
    assert_non_null(strstr(log, "point 0 seed 1 changed since it ran (workload.num_requests: 30 -> 20)"));
    assert_null(strstr(log, "already done"));
    free(log);
    char path[600];
    snprintf(path, sizeof path, "%s/points/3-seed2/summary.json", dir);
    char *sum = slurp(path);
    assert_non_null(strstr(sum, "\"total\":\t20,"));
    free(sum);
    /* the same spec again: all done */
    st = run_sweep(&s, dir, 2, 0, 1);
    assert_int_equal(st.skipped, 8);
    assert_int_equal(st.rerun, 0);
    es_sweep_spec_fini(&s);

    /* one grid value changes: only its points run again */
    at = strstr(spec, "[0, 3]");
    assert_non_null(at);
    at[4] = '2';
    must_load(spec, &s);
    st = run_sweep(&s, dir, 2, 0, 1);
    assert_int_equal(st.skipped, 4);
    assert_int_equal(st.rerun, 4);
    assert_int_equal(st.completed, 4);
    es_sweep_spec_fini(&s);
}

/* Replication intervals of a non-negative metric never go below 0. */
static void test_replication_interval(void **state)
{
    (void)state;
    double mean, lo, hi, v[2] = {20, 2600};
    es_sweep_interval(v, 2, &mean, &lo, &hi);
    assert_true(fabs(mean - 1310) < 1e-9);
    assert_true(lo == 0);
    assert_true(hi > 2600);
    double w[3] = {-5, 5, 0};
    es_sweep_interval(w, 3, &mean, &lo, &hi);
    assert_true(lo < -5);   /* a metric that can be negative keeps its interval */
    es_sweep_interval(v, 1, &mean, &lo, &hi);
    assert_true(isnan(lo) && isnan(hi) && mean == 20);
}

/* Plain notation with units' precision: never an exponent, and small
 * values (a half-width of 0.00371) to three significant digits. */
static void test_fmt_plain(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(es_sweep_fmt_plain(1234.6, b, sizeof b), "1235");
    assert_string_equal(es_sweep_fmt_plain(12.34, b, sizeof b), "12.3");
    assert_string_equal(es_sweep_fmt_plain(3.061, b, sizeof b), "3.06");
    assert_string_equal(es_sweep_fmt_plain(0.037, b, sizeof b), "0.037");
    assert_string_equal(es_sweep_fmt_plain(0.0037104, b, sizeof b), "0.00371");
    assert_string_equal(es_sweep_fmt_plain(0.000012345, b, sizeof b), "0.0000123");
    assert_string_equal(es_sweep_fmt_plain(0, b, sizeof b), "0");
    assert_string_equal(es_sweep_fmt_plain(NAN, b, sizeof b), "-");
}

/* Shards written by hand (or cut short): what `eppsim sweep merge` and the
 * sweep table make of sweep.json and sweep.csv as edited (inputs found by
 * tests/fuzz/fuzz_sweep_merge). */
static void put_shard(const char *dir, const char *json, const char *csv)
{
    char path[600];
    assert_int_equal(es_mkdirs(dir), 0);
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(csv, f);
    fclose(f);
}

static void test_merge_edited_shards(void **state)
{
    (void)state;
    char a[512], m[512], path[600];
    snprintf(a, sizeof a, "%s/edited", g_tmp);
    snprintf(m, sizeof m, "%s/edited-merged", g_tmp);
    const char *json = "{\"points\": 2, \"seeds\": [1, 2], \"keys\": [\"k\"], \"metrics\": [\"x\"]}\n";
    const char *dirs[] = {a, a};
    es_err_t err;
    /* a shard with no rows (an empty sweep.csv): merged into a header alone
     * (qsort was given a NULL table: undefined behaviour) */
    put_shard(a, json, "");
    es_err_clear(&err);
    if (es_sweep_merge(dirs, 2, m, &err)) fail_msg("%s", err.msg);
    snprintf(path, sizeof path, "%s/sweep.csv", m);
    char *out = slurp(path);
    assert_string_equal(out, "point,seed,n,k,x,x_ci_low,x_ci_high\n");
    free(out);
    FILE *dn = fopen("/dev/null", "w");
    assert_non_null(dn);
    es_sweep_result_t r;
    if (es_sweep_result_load(a, &r, &err) == 0) es_sweep_result_fini(&r);
    es_sweep_print_table(dn, a, &err);
    fclose(dn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_expansion),
        cmocka_unit_test(test_epp_short_forms),
        cmocka_unit_test(test_spec_errors),
        cmocka_unit_test(test_shards),
        cmocka_unit_test(test_run_resume_determinism_merge),
        cmocka_unit_test(test_failing_point_goes_on),
        cmocka_unit_test(test_resume_over_changed_spec),
        cmocka_unit_test(test_replication_interval),
        cmocka_unit_test(test_fmt_plain),
        cmocka_unit_test(test_merge_edited_shards),
    };
    return cmocka_run_group_tests_name("app_sweep", tests, setup, teardown);
}
