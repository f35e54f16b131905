/* eppsim calibrate's rows and hold-out folds: an experiment given twice counts
 * once, a leave-one-model-out fold holds every experiment of its model
 * (whatever its source spells the model) and no other, a leave-one-experiment-
 * out fold holds exactly one experiment, one-stage runs give one row, and the
 * scores (median APE, largest ratio, rows off by 2x) are computed over the
 * rows asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "es_calibrate.h"

#define N 6

/* name, the replay's server.model line, stages */
static const struct { const char *name, *model; size_t stages; } k_runs[N] = {
    {"20260217-155451-llama-2-7b-tp1-codegen", "\"/v/model-configs/llama-2-7b-hf.json\"", 2},
    {"20260218-150304-codellama-34b-tp2-general", "\"/v/model-configs/codellama-34b-instruct-hf.json\"", 2},
    {"62-mistral-nemo-12b-tp2-general-lite-2-1", "\"mistralai/Mistral-Nemo-Instruct-2407\"", 2},
    {"63-mistral-nemo-12b-tp1-codegen-1-1", "\"mistralai/Mistral-Nemo-Instruct-2407\"", 2},
    {"67-llama-2-7b-hf-tp1-reasoning-lite-1-1", "\"meta-llama/Llama-2-7b-hf\"", 1},
    {"20260217-155451-llama-2-7b-tp1-codegen", "\"meta-llama/Llama-2-7b-hf\"", 2},   /* the aggregate copy */
};

static es_val_run_t *make_runs(void)
{
    es_val_run_t *r = calloc(N, sizeof *r);
    assert_non_null(r);
    for (size_t i = 0; i < N; i++) {
        snprintf(r[i].name, sizeof r[i].name, "%s", k_runs[i].name);
        char buf[512];
        snprintf(buf, sizeof buf, "name: x\nserver:\n  model: %s\n  gpu: h100-sxm-80gb\n", k_runs[i].model);
        r[i].experiment = strdup(buf);
        r[i].nstages = k_runs[i].stages;
        for (size_t s = 0; s <= ES_VAL_MAX_STAGES; s++) {
            es_val_figs_clear(&r[i].measured[s]);
            es_val_figs_clear(&r[i].simulated[s]);
        }
        for (size_t s = 0; s <= r[i].nstages; s++)
            for (int q = 0; q < ES_CAL_NFIG; q++) {
                r[i].measured[s].v[es_cal_fig[q]] = 100;
                r[i].simulated[s].v[es_cal_fig[q]] = 100;
            }
    }
    return r;
}

static void free_runs(es_val_run_t *r)
{
    for (size_t i = 0; i < N; i++) free(r[i].experiment);
    free(r);
}

static void test_model_key(void **state)
{
    (void)state;
    char k[64];
    es_cal_model_key("name: a\nserver:\n  model: \"/x/y/llama-2-7b-hf.json\"\n", k, sizeof k);
    assert_string_equal(k, "llama-2-7b-hf");
    es_cal_model_key("server:\n  model: meta-llama/Llama-2-7b-hf\n", k, sizeof k);
    assert_string_equal(k, "llama-2-7b-hf");
    es_cal_model_key("server:\n  gpu: h100\n", k, sizeof k);
    assert_string_equal(k, "");
    char tiny[5];
    es_cal_model_key("server:\n  model: \"Qwen/Qwen2.5-7B\"\n", tiny, sizeof tiny);
    assert_string_equal(tiny, "qwen");
}

static void test_dedupe(void **state)
{
    (void)state;
    es_val_run_t *r = make_runs();
    bool keep[N];
    assert_int_equal(es_cal_dedupe(r, N, keep), N - 1);
    for (size_t i = 0; i < N - 1; i++) assert_true(keep[i]);
    assert_false(keep[N - 1]);   /* the second copy, not the full-table one given first */
    free_runs(r);
}

static void test_folds(void **state)
{
    (void)state;
    es_val_run_t *r = make_runs();
    bool keep[N];
    int fold[N];
    es_cal_dedupe(r, N, keep);
    /* leave one experiment out: one fold per kept experiment, the duplicate in none */
    assert_int_equal(es_cal_folds(r, N, keep, ES_CAL_HOLD_LOEO, fold), N - 1);
    for (size_t i = 0; i < N - 1; i++) {
        assert_int_equal(fold[i], (int)i);
        for (size_t j = 0; j < N - 1; j++)
            if (j != i) assert_int_not_equal(fold[j], fold[i]);   /* a fold never trains on its test experiment */
    }
    assert_int_equal(fold[N - 1], -1);
    /* leave one model out: llama-2-7b from a folder and from the aggregates together, Mistral-Nemo TP1 and TP2 together */
    assert_int_equal(es_cal_folds(r, N, keep, ES_CAL_HOLD_LOMO, fold), 3);
    assert_int_equal(fold[0], 0);
    assert_int_equal(fold[4], 0);
    assert_int_equal(fold[1], 1);
    assert_int_equal(fold[2], 2);
    assert_int_equal(fold[3], 2);
    assert_int_equal(fold[5], -1);
    /* none: everything in one fold */
    assert_int_equal(es_cal_folds(r, N, keep, ES_CAL_HOLD_NONE, fold), 1);
    for (size_t i = 0; i < N - 1; i++) assert_int_equal(fold[i], 0);
    free_runs(r);
}

static void test_rows(void **state)
{
    (void)state;
    es_val_run_t *r = make_runs();
    bool keep[N];
    es_cal_dedupe(r, N, keep);
    es_cal_row_t rows[N * (ES_VAL_MAX_STAGES + 1)];
    size_t nr = es_cal_rows(r, N, keep, rows);
    assert_int_equal(nr, 4 * 3 + 1);   /* four 2-stage runs: 2 stages + whole; the 1-stage run: whole only */
    assert_int_equal(rows[0].run, 0);
    assert_int_equal(rows[0].stage, 0);
    assert_true(es_cal_row_whole(r, &rows[2]));
    assert_int_equal(rows[12].run, 4);
    assert_true(es_cal_row_whole(r, &rows[12]));
    for (size_t i = 0; i < nr; i++) assert_int_not_equal(rows[i].run, N - 1);
    free_runs(r);
}

static void test_stats(void **state)
{
    (void)state;
    es_val_run_t *r = make_runs();
    bool keep[N];
    es_cal_dedupe(r, N, keep);
    es_cal_row_t rows[N * (ES_VAL_MAX_STAGES + 1)];
    size_t nr = es_cal_rows(r, N, keep, rows);
    /* run 1's whole-run TTFT 2.5x high, run 2's stage 0 E2E 10 % low */
    r[1].simulated[2].v[ES_VF_TTFT_MEAN] = 250;
    r[2].simulated[0].v[ES_VF_E2E_MEAN] = 90;
    es_cal_stats_t st;
    es_cal_stats(r, rows, nr, NULL, &st);
    assert_int_equal(st.n[ES_CAL_E2E], nr);
    assert_true(fabs(st.median_ape[ES_CAL_E2E]) < 1e-9);
    assert_true(fabs(st.max_ratio[ES_CAL_TTFT] - 2.5) < 1e-9);
    assert_true(fabs(st.max_ratio[ES_CAL_E2E] - 100.0 / 90) < 1e-9);
    assert_int_equal(st.off2x, 1);
    assert_true(es_cal_row_loss(r, &rows[5]) > 0.9);   /* run 1 whole: ln 2.5 */
    /* only the stage rows: the whole-run miss is not among them */
    bool sel[N * (ES_VAL_MAX_STAGES + 1)];
    for (size_t i = 0; i < nr; i++) sel[i] = !es_cal_row_whole(r, &rows[i]);
    es_cal_stats(r, rows, nr, sel, &st);
    assert_int_equal(st.n[ES_CAL_TTFT], 8);
    assert_true(fabs(st.max_ratio[ES_CAL_TTFT] - 1) < 1e-9);
    assert_int_equal(st.off2x, 0);
    /* a run not simulated: infinitely off, and the largest loss */
    r[0].rc = -1;
    es_cal_stats(r, rows, nr, NULL, &st);
    assert_true(isinf(st.max_ratio[ES_CAL_PER_TOKEN]));
    assert_int_equal(st.off2x, 1 + 3 * 3);
    assert_true(es_cal_row_loss(r, &rows[0]) >= 90);
    free_runs(r);
}

static void test_holdout_parse(void **state)
{
    (void)state;
    es_cal_holdout_t h;
    assert_int_equal(es_cal_holdout_parse("lomo", &h), 0);
    assert_int_equal(h, ES_CAL_HOLD_LOMO);
    assert_int_equal(es_cal_holdout_parse("loeo", &h), 0);
    assert_int_equal(h, ES_CAL_HOLD_LOEO);
    assert_int_equal(es_cal_holdout_parse("none", &h), 0);
    assert_int_equal(h, ES_CAL_HOLD_NONE);
    assert_int_equal(es_cal_holdout_parse("lopo", &h), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_key), cmocka_unit_test(test_dedupe), cmocka_unit_test(test_folds),
        cmocka_unit_test(test_rows), cmocka_unit_test(test_stats), cmocka_unit_test(test_holdout_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
