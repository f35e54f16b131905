/*
 * cmd_validate.c -- `eppsim validate RUN...`: replay real runs, print measured
 * vs simulated (docs/validate.md); `eppsim validate import-blis|import-gpustack CSV`.
 */
#define _GNU_SOURCE   /* setenv, mkdtemp */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "es_cli.h"
#include "es_doc.h"
#include "es_outdir.h"
#include "es_validate.h"
#include "es_util.h"

extern char **environ;

enum { FMT_TEXT, FMT_MARKDOWN, FMT_CSV, FMT_JSON };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: eppsim validate [options] RUN...\n"
            "       eppsim validate import-blis CSV [-o FILE]\n"
            "       eppsim validate import-gpustack CSV [-o FILE]\n"
            "\n"
            "Replays real vLLM runs and prints measured vs simulated figures with their absolute\n"
            "percentage error (APE), per stage and for the whole run, and the median APE over runs.\n"
            "A RUN is an inference-perf result directory (results/config.yaml + lifecycle metrics,\n"
            "exp-config.yaml or vllm-args.txt beside results/), a `vllm bench serve` result JSON, or a\n"
            "validation case file (YAML: set + cases).  Nothing is written unless asked.\n"
            "\n"
            "options:\n"
            "      --model-configs DIR  Hugging Face config.json files (default:\n"
            "                           $EPPSIM_VALIDATION_DIR/model-configs)\n"
            "      --gpu NAME           GPU of runs that do not name one (default h100-sxm-80gb)\n"
            "      --vllm-version V     vLLM of runs that do not name one (default 0.11)\n"
            "      --vllm-args ARGS     serve flags every RUN given here shares (a set's settings)\n"
            "      --set KEY=VALUE      set any experiment key of every replay, over what the run implies\n"
            "                           (repeatable; e.g. --set server.api_chat_yield=true): typed and\n"
            "                           checked like an experiment file's, as `eppsim run --set`\n"
            "      --inference-perf-version V\n"
            "                           inference-perf build of result directories: current (default)\n"
            "                           or 2025-10 (the build behind ../shared/validation)\n"
            "      --client-stamps N    client timestamps per token (inference-perf builds that stamp\n"
            "                           every SSE line: 2; default: the source's, else 1)\n"
            "  -s, --seed N             master seed of the replays (default 1)\n"
            "  -j, --jobs N             replays at once (default: CPUs; results do not depend on it)\n"
            "      --format F           text (default), markdown, csv or json\n"
            "      --summary-only       only the whole-run table and the medians (text, markdown)\n"
            "  -o, --out FILE           write the table to FILE instead of stdout\n"
            "      --plot FILE.png      predicted-vs-measured plot (gnuplot)\n"
            "      --tolerance PCT      exit 1 when a headline whole-run APE exceeds PCT, or a run\n"
            "                           could not be simulated\n"
            "      --print-experiment   print each replay's experiment (YAML) and stop\n"
            "  -h, --help               this help\n"
            "exit codes: 0 ok, 1 beyond --tolerance, 2 bad input.\n");
}

/* ---- thread pool ---- */

typedef struct job {
    uv_work_t         req;
    es_val_run_t     *run;
    const es_val_options_t *opt;
} job_t;

static void work(uv_work_t *req)
{
    job_t *j = req->data;
    es_val_replay(j->run, j->opt);
}

static void after(uv_work_t *req, int status)
{
    (void)req; (void)status;
}

static int replay_all(es_val_run_t *runs, size_t n, const es_val_options_t *opt, int jobs)
{
    char nj[16];
    snprintf(nj, sizeof nj, "%d", jobs > 0 ? jobs : 1);
    setenv("UV_THREADPOOL_SIZE", nj, 0);   /* read at the pool's first use */
    uv_loop_t loop;
    if (uv_loop_init(&loop)) return -1;
    job_t *js = calloc(n ? n : 1, sizeof *js);
    if (!js) { uv_loop_close(&loop); return -1; }
    for (size_t i = 0; i < n; i++) {
        js[i].run = &runs[i];
        js[i].opt = opt;
        js[i].req.data = &js[i];
        if (uv_queue_work(&loop, &js[i].req, work, after)) es_val_replay(&runs[i], opt);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(js);
    return 0;
}

/* ---- output ---- */

static const int k_headline[] = {ES_VF_E2E_MEAN, ES_VF_TTFT_MEAN, ES_VF_TTFT_P90, ES_VF_TTFT_P99, ES_VF_PER_TOKEN,
                                 ES_VF_ITL_MEAN, ES_VF_TPOT_MEAN, ES_VF_RPS};
static const char *const k_headline_label[] = {"E2E mean", "TTFT mean", "TTFT p90", "TTFT p99", "per-token",
                                               "ITL mean", "TPOT mean", "req/s"};
#define NHEAD (sizeof k_headline / sizeof k_headline[0])

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median whole-run APE of figure q over simulated runs; *count runs. */
static double median_ape(const es_val_run_t *runs, size_t n, int q, size_t *count)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; v && i < n; i++) {
        if (runs[i].rc) continue;
        double a = es_val_ape(runs[i].measured[runs[i].nstages].v[q], runs[i].simulated[runs[i].nstages].v[q]);
        if (!isnan(a)) v[k++] = a;
    }
    double m = NAN;
    if (k) {
        qsort(v, k, sizeof *v, cmp_d);
        m = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
    }
    free(v);
    *count = k;
    return m;
}

static void fmt_val(char *b, size_t sz, double v)
{
    if (isnan(v)) snprintf(b, sz, "-");
    else if (fabs(v) >= 100) snprintf(b, sz, "%.0f", v);
    else if (fabs(v) >= 10) snprintf(b, sz, "%.1f", v);
    else snprintf(b, sz, "%.3g", v);
}

static void fmt_ape(char *b, size_t sz, double a)
{
    if (isnan(a)) snprintf(b, sz, "-");
    else snprintf(b, sz, "%.1f", a);
}

static void print_lines(FILE *f, const char *prefix, const char *text)
{
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        if (len) fprintf(f, "%s%.*s\n", prefix, len, p);
        p += len + (nl != NULL);
    }
}

static void print_table(FILE *f, const es_val_run_t *runs, size_t n, const es_val_set_t *set, int fmt, bool summary_only)
{
    bool md = fmt == FMT_MARKDOWN;
    /* the run column: 44 wide, wider for a longer name (names are never cut) */
    int w = 44;
    for (size_t i = 0; i < n; i++) {
        int l = (int)strlen(runs[i].name) + (runs[i].approximate ? (int)strlen(" (approx.)") : 0);
        if (l > w) w = l;
    }
    if (set->header[0]) {
        if (md) { fprintf(f, "```\n%s```\n\n", set->header); }
        else fprintf(f, "%s\n", set->header);
    }
    /* whole-run summary: one row per run, APE % per headline figure */
    if (md) {
        fprintf(f, "| run | step model |");
        for (size_t k = 0; k < NHEAD; k++) fprintf(f, " %s |", k_headline_label[k]);
        fprintf(f, " ok/failed measured | ok/failed simulated |\n|---|---|");
        for (size_t k = 0; k < NHEAD; k++) fprintf(f, "---:|");
        fprintf(f, "---:|---:|\n");
    } else {
        fprintf(f, "whole run: absolute percentage error (%%) of simulated vs measured\n");
        fprintf(f, "%-*s", w, "run");
        for (size_t k = 0; k < NHEAD; k++) fprintf(f, " %9s", k_headline_label[k]);
        fprintf(f, "  %s\n", "ok/failed meas -> sim");
    }
    for (size_t i = 0; i < n; i++) {
        const es_val_run_t *r = &runs[i];
        const es_val_figs_t *m = &r->measured[r->nstages], *s = &r->simulated[r->nstages];
        char name[200];
        snprintf(name, sizeof name, "%s%s", r->name, r->approximate ? " (approx.)" : "");
        if (md) fprintf(f, "| %s | %s |", name, r->rc ? "not simulated" : r->step_model);
        else fprintf(f, "%-*s", w, name);
        for (size_t k = 0; k < NHEAD; k++) {
            char b[32];
            fmt_ape(b, sizeof b, r->rc ? NAN : es_val_ape(m->v[k_headline[k]], s->v[k_headline[k]]));
            fprintf(f, md ? " %s |" : " %9s", b);
        }
        char ms[64], ss[64];
        snprintf(ms, sizeof ms, "%s/%s", isnan(m->v[ES_VF_SUCCESSES]) ? "-" : "", "");
        if (isnan(m->v[ES_VF_SUCCESSES])) snprintf(ms, sizeof ms, "-");
        else snprintf(ms, sizeof ms, "%.0f/%.0f", m->v[ES_VF_SUCCESSES], isnan(m->v[ES_VF_FAILURES]) ? 0 : m->v[ES_VF_FAILURES]);
        if (r->rc || isnan(s->v[ES_VF_SUCCESSES])) snprintf(ss, sizeof ss, "-");
        else snprintf(ss, sizeof ss, "%.0f/%.0f", s->v[ES_VF_SUCCESSES], s->v[ES_VF_FAILURES]);
        if (md) fprintf(f, " %s | %s |\n", ms, ss);
        else fprintf(f, "  %s -> %s%s\n", ms, ss, r->rc ? "  NOT SIMULATED" : "");
    }
    size_t cnt[NHEAD];
    double med[NHEAD];
    for (size_t k = 0; k < NHEAD; k++) med[k] = median_ape(runs, n, k_headline[k], &cnt[k]);
    if (md) {
        fprintf(f, "| **median APE** | |");
        for (size_t k = 0; k < NHEAD; k++) {
            char b[32];
            fmt_ape(b, sizeof b, med[k]);
            fprintf(f, " **%s** (%zu) |", b, cnt[k]);
        }
        fprintf(f, " | |\n\n");
    } else {
        fprintf(f, "%-*s", w, "median APE (runs)");
        for (size_t k = 0; k < NHEAD; k++) {
            char b[32], c[40];
            fmt_ape(b, sizeof b, med[k]);
            snprintf(c, sizeof c, "%s(%zu)", b, cnt[k]);
            fprintf(f, " %9s", c);
        }
        fprintf(f, "\n");
    }
    if (summary_only) return;
    /* per run: every figure, per stage */
    for (size_t i = 0; i < n; i++) {
        const es_val_run_t *r = &runs[i];
        fprintf(f, md ? "\n#### %s\n\n" : "\n== %s\n", r->name);
        const char *pre = md ? "- " : "  ";
        fprintf(f, "%s%s: %s\n", pre, r->kind, r->source);
        if (r->rc) fprintf(f, "%snot simulated: %s\n", pre, r->error);
        else fprintf(f, "%sstep model: %s\n", pre, r->step_model);
        fprintf(f, "%sclient timestamps per token: %d\n", pre, r->stamps_per_token);
        char np[64];
        snprintf(np, sizeof np, "%sreplay: ", pre);
        print_lines(f, np, r->notes);
        snprintf(np, sizeof np, "%sserver warning: ", pre);
        print_lines(f, np, r->warnings);
        if (r->rc) continue;
        if (md) fprintf(f, "\n| stage | figure | measured | simulated | APE %% |\n|---|---|---:|---:|---:|\n");
        else fprintf(f, "  %-6s %-20s %12s %12s %8s\n", "stage", "figure", "measured", "simulated", "APE %");
        for (size_t st = 0; st <= r->nstages; st++) {
            char sn[16];
            if (st < r->nstages) snprintf(sn, sizeof sn, "%zu", st);
            else snprintf(sn, sizeof sn, "run");
            for (int q = 0; q < ES_VF_N; q++) {
                double mv = r->measured[st].v[q], sv = r->simulated[st].v[q];
                if (isnan(mv)) continue;
                char a[32], b[32], c[32];
                fmt_val(a, sizeof a, mv);
                fmt_val(b, sizeof b, sv);
                fmt_ape(c, sizeof c, es_val_ape(mv, sv));
                if (md) fprintf(f, "| %s | %s | %s | %s | %s |\n", sn, es_vf_names[q], a, b, c);
                else fprintf(f, "  %-6s %-20s %12s %12s %8s\n", sn, es_vf_names[q], a, b, c);
            }
        }
    }
}

static void csv_q(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) { if (*s == '"') fputc('"', f); fputc(*s, f); }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (!isfinite(v)) fputs("null", f);
    else fprintf(f, "%.9g", v);
}

static void print_csv(FILE *f, const es_val_run_t *runs, size_t n)
{
    fprintf(f, "run,kind,simulated,stage,figure,measured,simulated_value,ape_pct\n");
    for (size_t i = 0; i < n; i++) {
        const es_val_run_t *r = &runs[i];
        for (size_t st = 0; st <= r->nstages; st++)
            for (int q = 0; q < ES_VF_N; q++) {
                double mv = r->measured[st].v[q], sv = r->rc ? NAN : r->simulated[st].v[q];
                if (isnan(mv)) continue;
                csv_q(f, r->name);
                fprintf(f, ",%s,%s,", r->kind, r->rc ? "no" : "yes");
                if (st < r->nstages) fprintf(f, "%zu", st); else fputs("run", f);
                fprintf(f, ",%s,%.9g,", es_vf_names[q], mv);
                if (!isnan(sv)) fprintf(f, "%.9g", sv);
                fputc(',', f);
                double a = es_val_ape(mv, sv);
                if (!isnan(a)) fprintf(f, "%.6g", a);
                fputc('\n', f);
            }
    }
}

static void print_json(FILE *f, const es_val_run_t *runs, size_t n, const es_val_set_t *set)
{
    fputs("{\n  \"sets\": ", f);
    es_json_write_string(f, set->header);
    fputs(",\n  \"runs\": [", f);
    for (size_t i = 0; i < n; i++) {
        const es_val_run_t *r = &runs[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        fputs("\"name\": ", f); es_json_write_string(f, r->name);
        fputs(", \"kind\": ", f); es_json_write_string(f, r->kind);
        fputs(", \"source\": ", f); es_json_write_string(f, r->source);
        fprintf(f, ", \"simulated\": %s, \"approximate\": %s, \"client_stamps_per_token\": %d", r->rc ? "false" : "true",
                r->approximate ? "true" : "false", r->stamps_per_token);
        fputs(", \"step_model\": ", f); es_json_write_string(f, r->step_model);
        fputs(", \"error\": ", f); es_json_write_string(f, r->error);
        fputs(", \"notes\": ", f); es_json_write_string(f, r->notes);
        fputs(", \"warnings\": ", f); es_json_write_string(f, r->warnings);
        fputs(", \"stages\": [", f);
        for (size_t st = 0; st <= r->nstages; st++) {
            fprintf(f, "%s{\"stage\": ", st ? ", " : "");
            if (st < r->nstages) fprintf(f, "%zu", st); else fputs("\"run\"", f);
            bool first = true;
            for (int q = 0; q < ES_VF_N; q++) {
                double mv = r->measured[st].v[q], sv = r->rc ? NAN : r->simulated[st].v[q];
                if (isnan(mv) && isnan(sv)) continue;
                fprintf(f, ", \"%s\": {\"measured\": ", es_vf_names[q]);
                json_num(f, mv);
                fputs(", \"simulated\": ", f);
                json_num(f, sv);
                fputs(", \"ape_pct\": ", f);
                json_num(f, es_val_ape(mv, sv));
                fputc('}', f);
                first = false;
            }
            (void)first;
            fputc('}', f);
        }
        fputs("]}", f);
    }
    fputs("\n  ],\n  \"median_ape_pct\": {", f);
    for (int q = 0; q < ES_VF_N; q++) {
        size_t c;
        double m = median_ape(runs, n, q, &c);
        fprintf(f, "%s\"%s\": {\"median\": ", q ? ", " : "", es_vf_names[q]);
        json_num(f, m);
        fprintf(f, ", \"runs\": %zu}", c);
    }
    fputs("}\n}\n", f);
}

/* ---- --print-experiment with --set: the replay's document as YAML ---- */

static void write_key(FILE *f, const char *k)
{
    bool plain = *k != '\0';
    for (const char *p = k; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.' || *p == '/')) plain = false;
    if (plain) fputs(k, f);
    else es_json_write_string(f, k);
}

/* Block mappings; every other value in flow style (JSON is YAML). */
static void write_yaml(FILE *f, const es_node_t *map, int indent)
{
    for (size_t i = 0; i < map->n; i++) {
        const es_node_t *v = map->items[i];
        fprintf(f, "%*s", indent, "");
        write_key(f, map->keys[i]);
        if (v && v->kind == ES_NODE_MAP && v->n) {
            fputs(":\n", f);
            write_yaml(f, v, indent + 2);
            continue;
        }
        fputs(": ", f);
        es_node_write_json(f, v);
        fputc('\n', f);
    }
}

static int print_experiments(const es_val_run_t *runs, size_t n, const es_val_options_t *opt)
{
    for (size_t i = 0; i < n; i++) {
        printf("# replay of %s (%s)\n", runs[i].name, runs[i].source);
        if (!opt->nsets) { printf("%s---\n", runs[i].experiment); continue; }
        for (size_t k = 0; k < opt->nsets; k++) printf("# --set %s\n", opt->sets[k]);
        es_val_doc_t d;
        es_err_t err;
        es_err_clear(&err);
        if (es_val_run_doc(&runs[i], opt, &d, NULL, &err)) {   /* es_val_check_sets passed: not expected */
            es_val_doc_fini(&d);
            fprintf(stderr, "eppsim: %s\n", err.msg);
            return ES_EXIT_USAGE;
        }
        if (d.doc->root && d.doc->root->kind == ES_NODE_MAP) write_yaml(stdout, d.doc->root, 0);
        printf("---\n");
        es_val_doc_fini(&d);
    }
    return ES_EXIT_OK;
}

/* ---- the plot: gnuplot runs with an argument vector, never through a shell ---- */

static int plot(const es_val_run_t *runs, size_t n, const char *out_png)
{
    char dir[] = "/tmp/eppsim-validate-XXXXXX";
    if (!mkdtemp(dir)) return -1;
    char data[128], script[128], png[128];
    snprintf(data, sizeof data, "%s/points.dat", dir);
    snprintf(script, sizeof script, "%s/plot.gp", dir);
    snprintf(png, sizeof png, "%s/plot.png", dir);
    FILE *d = fopen(data, "w"), *s = fopen(script, "w");
    int rc = -1;
    if (!d || !s) goto out;
    static const int figs[] = {ES_VF_E2E_MEAN, ES_VF_TTFT_MEAN, ES_VF_PER_TOKEN, ES_VF_ITL_MEAN, ES_VF_TPOT_MEAN};
    static const char *const titles[] = {"E2E mean", "TTFT mean", "per-token time", "ITL mean (client)",
                                         "TPOT mean (client)"};
    static const int pts_style[] = {7, 5, 9, 11, 13};
    size_t pts = 0, nseries = 0, per[5] = {0};
    for (size_t k = 0; k < sizeof figs / sizeof figs[0]; k++) {
        for (size_t i = 0; i < n; i++) {
            const es_val_run_t *r = &runs[i];
            if (r->rc) continue;
            double mv = r->measured[r->nstages].v[figs[k]], sv = r->simulated[r->nstages].v[figs[k]];
            if (mv > 0 && sv > 0) { fprintf(d, "%.9g %.9g\n", mv, sv); per[k]++; }
        }
        if (per[k]) { fprintf(d, "\n\n"); pts += per[k]; }
    }
    if (!pts) { rc = 0; fprintf(stderr, "eppsim validate: nothing to plot\n"); goto out; }
    fprintf(s, "set terminal pngcairo size 900,700\nset output '%s'\nset logscale xy\nset key top left\n"
               "set xlabel 'measured (ms)'\nset ylabel 'simulated (ms)'\nset title 'eppsim vs real vLLM runs (whole run)'\n"
               "set grid\nplot x title 'simulated = measured' lc rgb 'gray'", png);
    for (size_t k = 0; k < sizeof figs / sizeof figs[0]; k++)
        if (per[k]) fprintf(s, ", '%s' index %zu title '%s' pt %d", data, nseries++, titles[k], pts_style[k]);
    fprintf(s, "\n");
    fclose(s); s = NULL;
    fclose(d); d = NULL;
    char *argv[] = {(char *)"gnuplot", script, NULL};
    pid_t pid;
    if (posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ) != 0) {
        fprintf(stderr, "eppsim validate: gnuplot not found; no plot (apt-get install gnuplot-nox)\n");
        goto out;
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "eppsim validate: gnuplot failed; no plot\n");
        goto out;
    }
    char *buf;
    size_t got;
    if (es_file_read(png, &buf, &got) != 0) goto out;
    es_err_t err;
    rc = es_write_file_atomic(out_png, buf, got, &err) == 0 ? 0 : -1;
    if (rc) fprintf(stderr, "eppsim validate: %s: cannot write\n", out_png);
    free(buf);
out:
    if (d) fclose(d);
    if (s) fclose(s);
    unlink(data);
    unlink(script);
    unlink(png);
    rmdir(dir);
    return rc;
}

/* ---- importers ---- */

/* -o or --plot naming an input, or an existing file inside an input directory
 * (a result directory's exp-config.yaml), would replace the data it was made from. */
bool es_cli_writes_input(const char *out, const char *input)
{
    struct stat so, si;
    if (stat(input, &si) != 0) return false;
    if (stat(out, &so) != 0) return false;   /* a new file replaces nothing */
    if (so.st_dev == si.st_dev && so.st_ino == si.st_ino) return true;
    if (!S_ISDIR(si.st_mode)) return false;
    char dir[PATH_MAX], in[PATH_MAX], od[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    if (!realpath(slash ? (dir[0] ? dir : "/") : ".", od) || !realpath(input, in)) return false;
    size_t n = strlen(in);
    return strncmp(od, in, n) == 0 && (od[n] == '\0' || od[n] == '/' || n == 1);
}

static bool same_file(const char *out, const char *input) { return es_cli_writes_input(out, input); }

static int refuse_input(const char *flag, const char *out)
{
    fprintf(stderr, "eppsim validate: %s %s is an input or inside one (write elsewhere)\n", flag, out);
    return ES_EXIT_USAGE;
}

static int cmd_import(int argc, char **argv, bool blis)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (ch == 'o') out = optarg;
        else if (ch == 'h') { usage(stdout); return ES_EXIT_OK; }
        else { usage(stderr); return ES_EXIT_USAGE; }
    }
    if (argc - optind != 1) { usage(stderr); return ES_EXIT_USAGE; }
    if (out && same_file(out, argv[optind])) return refuse_input("-o", out);
    es_err_t err;
    es_err_clear(&err);
    char *yaml = NULL;
    int rc = blis ? es_val_import_blis(argv[optind], &yaml, &err) : es_val_import_gpustack(argv[optind], &yaml, &err);
    if (rc) { fprintf(stderr, "eppsim: %s\n", err.msg); return ES_EXIT_USAGE; }
    if (out) rc = es_write_file_atomic(out, yaml, strlen(yaml), &err);
    else fputs(yaml, stdout);
    free(yaml);
    if (rc) { fprintf(stderr, "eppsim: %s\n", err.msg); return ES_EXIT_USAGE; }
    return ES_EXIT_OK;
}

int es_cmd_validate(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "import-blis") == 0) return cmd_import(argc - 1, argv + 1, true);
    if (argc >= 2 && strcmp(argv[1], "import-gpustack") == 0) return cmd_import(argc - 1, argv + 1, false);
    enum { O_MC = 1000, O_GPU, O_VER, O_ARGS, O_STAMPS, O_FMT, O_PLOT, O_TOL, O_PRINT, O_SUMMARY, O_IPV, O_SET };
    static const struct option opts[] = {
        {"model-configs", required_argument, NULL, O_MC}, {"gpu", required_argument, NULL, O_GPU},
        {"vllm-version", required_argument, NULL, O_VER}, {"vllm-args", required_argument, NULL, O_ARGS},
        {"client-stamps", required_argument, NULL, O_STAMPS}, {"seed", required_argument, NULL, 's'},
        {"jobs", required_argument, NULL, 'j'}, {"format", required_argument, NULL, O_FMT},
        {"out", required_argument, NULL, 'o'}, {"plot", required_argument, NULL, O_PLOT},
        {"tolerance", required_argument, NULL, O_TOL}, {"print-experiment", no_argument, NULL, O_PRINT},
        {"summary-only", no_argument, NULL, O_SUMMARY}, {"inference-perf-version", required_argument, NULL, O_IPV},
        {"set", required_argument, NULL, O_SET}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    char mc_default[1100] = "";
    const char *vdir = getenv("EPPSIM_VALIDATION_DIR");
    if (vdir && *vdir) snprintf(mc_default, sizeof mc_default, "%s/model-configs", vdir);
    es_val_options_t opt = {mc_default, "h100-sxm-80gb", "0.11", "", 0, "current", 1, NULL, 0};
    int jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), fmt = FMT_TEXT;
    const char *out = NULL, *plot_png = NULL;
    double tol = NAN;
    bool print_exp = false, summary_only = false;
    const char *sets[256];
    optind = 1;
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, "s:j:o:h", opts, NULL)) != -1) {
        switch (ch) {
        case O_MC: opt.model_configs = optarg; break;
        case O_GPU: opt.gpu = optarg; break;
        case O_VER: opt.vllm_version = optarg; break;
        case O_ARGS: opt.vllm_args = optarg; break;
        case O_STAMPS:
            opt.stamps_per_token = (int)strtol(optarg, &end, 10);
            if (*end || opt.stamps_per_token < 1 || opt.stamps_per_token > 16) {
                fprintf(stderr, "eppsim validate: --client-stamps: expected 1 to 16\n");
                return ES_EXIT_USAGE;
            }
            break;
        case 's':
            opt.seed = strtoull(optarg, &end, 10);
            if (*end || !*optarg || *optarg == '-') { fprintf(stderr, "eppsim validate: --seed: expected an unsigned integer\n"); return ES_EXIT_USAGE; }
            break;
        case 'j':
            jobs = (int)strtol(optarg, &end, 10);
            if (*end || jobs < 1 || jobs > 1024) { fprintf(stderr, "eppsim validate: --jobs: expected 1 to 1024\n"); return ES_EXIT_USAGE; }
            break;
        case O_FMT:
            if (!strcmp(optarg, "text")) fmt = FMT_TEXT;
            else if (!strcmp(optarg, "markdown")) fmt = FMT_MARKDOWN;
            else if (!strcmp(optarg, "csv")) fmt = FMT_CSV;
            else if (!strcmp(optarg, "json")) fmt = FMT_JSON;
            else { fprintf(stderr, "eppsim validate: --format: text, markdown, csv or json\n"); return ES_EXIT_USAGE; }
            break;
        case 'o': out = optarg; break;
        case O_PLOT: plot_png = optarg; break;
        case O_TOL:
            tol = strtod(optarg, &end);
            if (*end || !(tol >= 0)) { fprintf(stderr, "eppsim validate: --tolerance: expected a percentage\n"); return ES_EXIT_USAGE; }
            break;
        case O_PRINT: print_exp = true; break;
        case O_IPV:
            if (strcmp(optarg, "current") && strcmp(optarg, "2025-10") && strcmp(optarg, "2025-11")) {
                fprintf(stderr, "eppsim validate: --inference-perf-version: \"%s\" is not current, 2025-10 or 2025-11\n",
                        optarg);
                return ES_EXIT_USAGE;
            }
            opt.ip_version = optarg;
            break;
        case O_SUMMARY: summary_only = true; break;
        case O_SET:
            if (opt.nsets == 256) { fprintf(stderr, "eppsim validate: too many --set\n"); return ES_EXIT_USAGE; }
            sets[opt.nsets++] = optarg;
            opt.sets = sets;
            break;
        case 'h': usage(stdout); return ES_EXIT_OK;
        default: usage(stderr); return ES_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "eppsim validate: no RUN given\n");
        usage(stderr);
        return ES_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        if (out && same_file(out, argv[i])) return refuse_input("-o", out);
        if (plot_png && same_file(plot_png, argv[i])) return refuse_input("--plot", plot_png);
    }
    es_val_run_t *runs = NULL;
    size_t n = 0;
    es_val_set_t set;
    memset(&set, 0, sizeof set);
    if (opt.vllm_args[0] || opt.stamps_per_token || strcmp(opt.ip_version, "current")) {
        /* --client-stamps only when given: absent, the build's own count applies */
        char stamps[32] = "";
        if (opt.stamps_per_token) snprintf(stamps, sizeof stamps, " --client-stamps %d", opt.stamps_per_token);
        snprintf(set.header, sizeof set.header,
                 "command line: --vllm-version %s --gpu %s --vllm-args \"%s\"%s --inference-perf-version %s\n",
                 opt.vllm_version, opt.gpu, opt.vllm_args, stamps, opt.ip_version);
    }
    if (opt.nsets) {   /* on the command line's line: what made these figures */
        size_t hl = strlen(set.header);
        if (hl) set.header[--hl] = '\0';
        else hl = (size_t)snprintf(set.header, sizeof set.header, "command line:");
        for (size_t i = 0; i < opt.nsets && hl < sizeof set.header; i++)
            hl += (size_t)snprintf(set.header + hl, sizeof set.header - hl, " --set %s", sets[i]);
        if (hl + 1 < sizeof set.header) { set.header[hl] = '\n'; set.header[hl + 1] = '\0'; }
    }
    es_err_t err;
    es_err_clear(&err);
    for (int i = optind; i < argc; i++) {
        if (es_val_load(argv[i], &opt, &runs, &n, &set, &err)) {
            fprintf(stderr, "eppsim: %s\n", err.msg);
            for (size_t k = 0; k < n; k++) free(runs[k].experiment);
            free(runs);
            return ES_EXIT_USAGE;
        }
    }
    /* a bad --set stops everything before any replay starts */
    size_t culprit = 0;
    if (es_val_check_sets(runs, n, &opt, &culprit, &err)) {
        if (culprit < opt.nsets) es_cli_print_set_error(err.msg, &sets[culprit], 1);
        else es_cli_print_set_error(err.msg, sets, opt.nsets);
        for (size_t k = 0; k < n; k++) free(runs[k].experiment);
        free(runs);
        return ES_EXIT_USAGE;
    }
    if (print_exp) {
        int prc = print_experiments(runs, n, &opt);
        for (size_t k = 0; k < n; k++) free(runs[k].experiment);
        free(runs);
        return prc;
    }
    if (replay_all(runs, n, &opt, jobs)) {
        fprintf(stderr, "eppsim validate: cannot start the thread pool\n");
        free(runs);
        return ES_EXIT_USAGE;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) { free(runs); return ES_EXIT_USAGE; }
    if (fmt == FMT_CSV) print_csv(f, runs, n);
    else if (fmt == FMT_JSON) print_json(f, runs, n, &set);
    else print_table(f, runs, n, &set, fmt, summary_only);
    fclose(f);
    int rc = ES_EXIT_OK;
    if (out) {
        if (es_write_file_atomic(out, text, len, &err)) { fprintf(stderr, "eppsim: %s\n", err.msg); rc = ES_EXIT_USAGE; }
    } else {
        fwrite(text, 1, len, stdout);
    }
    free(text);
    if (plot_png && plot(runs, n, plot_png) != 0) rc = rc ? rc : ES_EXIT_USAGE;
    if (!isnan(tol) && rc == ES_EXIT_OK) {
        for (size_t i = 0; i < n; i++) {
            const es_val_run_t *r = &runs[i];
            if (r->rc) {
                fprintf(stderr, "eppsim validate: %s: not simulated: %s\n", r->name, r->error);
                rc = ES_EXIT_CHECK;
                continue;
            }
            for (size_t k = 0; k < NHEAD; k++) {
                double a = es_val_ape(r->measured[r->nstages].v[k_headline[k]], r->simulated[r->nstages].v[k_headline[k]]);
                if (!isnan(a) && a > tol) {
                    fprintf(stderr, "eppsim validate: %s: %s off by %.1f%% (tolerance %g%%)\n", r->name,
                            k_headline_label[k], a, tol);
                    rc = ES_EXIT_CHECK;
                }
            }
        }
    }
    for (size_t k = 0; k < n; k++) free(runs[k].experiment);
    free(runs);
    return rc;
}
