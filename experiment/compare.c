/*
 * compare.c -- BASE vs CURRENT run or sweep directories (es_compare.h).
 */
#include "es_compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "es_summary.h"
#include "es_sweep.h"
#include "es_str.h"
#include "es_file.h"
#include "es_util.h"

const char *const es_compare_default_metrics[] = {
    "latency_ms.ttft.p50",       "latency_ms.ttft.p99",          "latency_ms.e2e.p50",
    "latency_ms.e2e.p99",        "latency_ms.tpot.p50",          "throughput.requests_per_s",
    "goodput.requests_per_s",    "prefix_cache.actual_hit_rate", NULL};

/* What a run's summary.json offers (docs/results.md), for error messages. */
static const char k_known_metrics[] =
    "latency_ms.{ttft,tpot,itl,e2e}.{p50,p90,p95,p99,mean}, throughput.{requests_per_s,output_tokens_per_s,"
    "input_tokens_per_s}, goodput.{requests_per_s,fraction}, prefix_cache.{estimated_hit_rate,actual_hit_rate,"
    "oracle_hit_rate}, requests.{completed,measured_completed}, preemptions, stages.N.<same>";

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

bool es_compare_higher_better(const char *m)
{
    static const char *const higher[] = {"throughput.", "goodput.", "prefix_cache.", NULL};
    for (size_t i = 0; higher[i]; i++)
        if (!strncmp(m, higher[i], strlen(higher[i]))) return true;
    if (ends_with(m, "_hit_rate")) return true;   /* stages.N.prefix_cache.*, pods.N.prefix_hit_rate */
    return !strcmp(m, "requests.completed") || !strcmp(m, "requests.measured_completed");
}

static bool is_fraction(const char *m)
{
    return ends_with(m, "_hit_rate") || ends_with(m, "fraction");
}

static bool is_file(const char *dir, const char *name)
{
    char path[2048];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static double tolerance_of(const es_compare_options_t *o, const char *metric)
{
    double tol = o && o->default_tol_pct >= 0 ? o->default_tol_pct : ES_COMPARE_DEFAULT_TOLERANCE_PCT;
    size_t best = 0;
    for (size_t i = 0; o && i < o->ntol; i++) {
        const char *t = o->tol_metric[i];
        size_t n = strlen(t);
        if (!strcmp(t, metric)) return o->tol_pct[i];
        if (n > 0 && t[n - 1] == '*' && !strncmp(t, metric, n - 1) && n > best) {
            best = n;
            tol = o->tol_pct[i];
        }
    }
    return tol;
}

/* ---- run directories: summary.json ---- */

/* The key of the first number that overflowed to an infinity (1e999) or is
 * not a number, depth first; NULL when every number is finite.  cJSON turns
 * such text into inf, which would decide a comparison silently. */
static const char *first_non_finite(const cJSON *j)
{
    for (const cJSON *c = j->child; c; c = c->next) {
        if (cJSON_IsNumber(c) && !isfinite(c->valuedouble)) return c->string ? c->string : "(array item)";
        if (c->child) {
            const char *k = first_non_finite(c);
            if (k) return k;
        }
    }
    return NULL;
}

static cJSON *load_json(const char *dir, es_err_t *err)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    char *buf;
    if (es_file_read(path, &buf, NULL) != 0) {
        es_err_set(err, ES_ENOTFOUND, "%s: cannot read (not a run or sweep directory?)", path);
        return NULL;
    }
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    if (!j) { es_err_set(err, ES_EPARSE, "%s: not valid JSON", path); return NULL; }
    const char *bad = first_non_finite(j);
    if (bad) {
        es_err_set(err, ES_EPARSE, "%s: %s: not a finite number", path, bad);
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* Value of a metric and its `<metric>_ci` pair; *present: the key exists. */
static void json_metric(const cJSON *j, const char *m, double *v, double *lo, double *hi, bool *present)
{
    const cJSON *x = es_json_find(j, m);
    *present = x != NULL;
    *v = cJSON_IsNumber(x) ? x->valuedouble : NAN;
    *lo = *hi = NAN;
    char ci[300];
    snprintf(ci, sizeof ci, "%s_ci", m);
    const cJSON *c = es_json_find(j, ci);
    if (cJSON_IsArray(c) && cJSON_GetArraySize(c) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(c, 0)) &&
        cJSON_IsNumber(cJSON_GetArrayItem(c, 1))) {
        *lo = cJSON_GetArrayItem(c, 0)->valuedouble;
        *hi = cJSON_GetArrayItem(c, 1)->valuedouble;
    }
}

/* ---- the decision ---- */

static int add_row(es_compare_t *c, const char *label, const char *metric, double b, double blo, double bhi, double v,
                   double clo, double chi, const es_compare_options_t *o)
{
    es_compare_row_t *rows = realloc(c->rows, (c->n + 1) * sizeof *rows);
    if (!rows) return ES_ENOMEM;
    c->rows = rows;
    es_compare_row_t *r = &c->rows[c->n];
    memset(r, 0, sizeof *r);
    r->label = es_strdup(label);
    r->metric = es_strdup(metric);
    if (!r->label || !r->metric) { free(r->label); free(r->metric); return ES_ENOMEM; }
    c->n++;
    r->base = b; r->base_lo = blo; r->base_hi = bhi;
    r->cur = v; r->cur_lo = clo; r->cur_hi = chi;
    r->higher_better = es_compare_higher_better(metric);
    r->points = is_fraction(metric);
    r->tolerance = tolerance_of(o, metric);
    if (isnan(b) || isnan(v)) {
        r->change = NAN;
        c->nmissing++;
        return 0;
    }
    if (r->points) r->change = (v - b) * 100.0;
    else if (b != 0) r->change = (v - b) / fabs(b) * 100.0;
    else r->change = v == 0 ? 0 : (v > 0 ? INFINITY : -INFINITY);
    double worse_by = r->higher_better ? -r->change : r->change;
    r->worse = worse_by > r->tolerance;
    bool intervals = !isnan(blo) && !isnan(bhi) && !isnan(clo) && !isnan(chi);
    r->overlap = intervals && !(bhi < clo || chi < blo);
    r->regression = r->worse && !r->overlap;
    if (r->regression) c->nregressions++;
    return 0;
}

static int compare_runs(const char *base, const char *cur, const char *const *metrics, size_t nmetrics,
                        bool explicit_metrics, const es_compare_options_t *o, es_compare_t *c, es_err_t *err)
{
    cJSON *jb = load_json(base, err);
    if (!jb) return err ? err->code : ES_EIO;
    cJSON *jc = load_json(cur, err);
    if (!jc) { cJSON_Delete(jb); return err ? err->code : ES_EIO; }
    int rc = 0;
    for (size_t i = 0; i < nmetrics && !rc; i++) {
        double b, blo, bhi, v, clo, chi;
        bool pb, pc;
        json_metric(jb, metrics[i], &b, &blo, &bhi, &pb);
        json_metric(jc, metrics[i], &v, &clo, &chi, &pc);
        if (explicit_metrics && (!pb || !pc)) {
            rc = es_err_set(err, ES_ENOTFOUND, "%s/summary.json: no metric '%s'; known: %s", pb ? cur : base,
                            metrics[i], k_known_metrics);
            break;
        }
        rc = add_row(c, "", metrics[i], b, blo, bhi, v, clo, chi, o);
    }
    cJSON_Delete(jb);
    cJSON_Delete(jc);
    return rc;
}

static long metric_index(const es_sweep_result_t *r, const char *m)
{
    for (size_t i = 0; i < r->nmetrics; i++)
        if (!strcmp(r->metrics[i], m)) return (long)i;
    return -1;
}

static int compare_sweeps(const char *base, const char *cur, const char *const *metrics, size_t nmetrics,
                          bool explicit_metrics, const es_compare_options_t *o, es_compare_t *c, es_err_t *err)
{
    es_sweep_result_t rb, rcur;
    int rc = es_sweep_result_load(base, &rb, err);
    if (rc) return rc;
    if ((rc = es_sweep_result_load(cur, &rcur, err))) { es_sweep_result_fini(&rb); return rc; }
    bool same_keys = rb.nkeys == rcur.nkeys;
    for (size_t k = 0; same_keys && k < rb.nkeys; k++) same_keys = !strcmp(rb.keys[k], rcur.keys[k]);
    if (!same_keys) {
        rc = es_err_set(err, ES_EINVAL, "%s and %s sweep different keys", base, cur);
        goto done;
    }
    /* without --metric: the sweeps' own metrics that both have */
    const char *const *ms = metrics;
    size_t nms = nmetrics;
    if (!explicit_metrics) { ms = (const char *const *)rb.metrics; nms = rb.nmetrics; }
    size_t matched = 0;
    for (size_t i = 0; i < rb.n && !rc; i++) {
        size_t j = 0;
        while (j < rcur.n && strcmp(rb.label[i], rcur.label[j])) j++;
        if (j == rcur.n) continue;   /* a point the current sweep does not have */
        matched++;
        for (size_t m = 0; m < nms && !rc; m++) {
            long kb = metric_index(&rb, ms[m]), kc = metric_index(&rcur, ms[m]);
            if (kb < 0 || kc < 0) {
                if (explicit_metrics) {
                    rc = es_err_set(err, ES_ENOTFOUND, "%s/sweep.csv: no metric '%s' (sweep it with `metrics:`)",
                                    kb < 0 ? base : cur, ms[m]);
                }
                continue;
            }
            size_t ib = i * rb.nmetrics + (size_t)kb, ic = j * rcur.nmetrics + (size_t)kc;
            rc = add_row(c, rb.label[i], ms[m], rb.mean[ib], rb.lo[ib], rb.hi[ib], rcur.mean[ic], rcur.lo[ic],
                         rcur.hi[ic], o);
        }
    }
    if (!rc && matched == 0) rc = es_err_set(err, ES_EINVAL, "%s and %s have no point in common", base, cur);
done:
    es_sweep_result_fini(&rb);
    es_sweep_result_fini(&rcur);
    return rc;
}

int es_compare_dirs(const char *base, const char *cur, const es_compare_options_t *o, es_compare_t *c,
                    es_err_t *err)
{
    memset(c, 0, sizeof *c);
    c->base_dir = es_strdup(base);
    c->cur_dir = es_strdup(cur);
    if (!c->base_dir || !c->cur_dir) { es_compare_fini(c); return ES_ENOMEM; }
    bool explicit_metrics = o && o->nmetrics > 0;
    const char *const *metrics = explicit_metrics ? o->metrics : es_compare_default_metrics;
    size_t n = 0;
    if (explicit_metrics) n = o->nmetrics;
    else while (metrics[n]) n++;
    bool sb = is_file(base, "sweep.json"), sc = is_file(cur, "sweep.json");
    int rc;
    if (sb != sc)
        rc = es_err_set(err, ES_EINVAL, "%s is a %s directory, %s a %s directory: compare like with like", base,
                        sb ? "sweep" : "run", cur, sc ? "sweep" : "run");
    else if (sb)
        rc = compare_sweeps(base, cur, metrics, n, explicit_metrics, o, c, err);
    else
        rc = compare_runs(base, cur, metrics, n, explicit_metrics, o, c, err);
    /* a tolerance must apply to a compared metric: a typo would silently
     * leave the default in force */
    for (size_t i = 0; !rc && o && i < o->ntol; i++) {
        const char *t = o->tol_metric[i];
        size_t len = strlen(t);
        bool prefix = len > 0 && t[len - 1] == '*', hit = false;
        for (size_t r = 0; r < c->n && !hit; r++)
            hit = prefix ? !strncmp(t, c->rows[r].metric, len - 1) : !strcmp(t, c->rows[r].metric);
        if (hit) continue;
        char list[1024] = "";
        size_t off = 0;
        for (size_t r = 0; r < c->n && off < sizeof list; r++) {
            bool dup = false;
            for (size_t q = 0; q < r && !dup; q++) dup = !strcmp(c->rows[q].metric, c->rows[r].metric);
            if (!dup) off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", off ? ", " : "", c->rows[r].metric);
        }
        rc = es_err_set(err, ES_EINVAL, "--tolerance %s: %s; compared: %s (add one with --metric; known: %s)", t,
                        prefix ? "matches no compared metric" : "not a compared metric", list, k_known_metrics);
    }
    if (rc) es_compare_fini(c);
    return rc;
}

void es_compare_fini(es_compare_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->rows[i].label);
        free(c->rows[i].metric);
    }
    free(c->rows);
    free(c->base_dir);
    free(c->cur_dir);
    memset(c, 0, sizeof *c);
}

/* ---- output ---- */

static const char *verdict(const es_compare_row_t *r)
{
    if (isnan(r->change)) return "missing";
    if (r->regression) return "REGRESSION";
    if (r->worse) return "worse, CIs overlap";
    double better_by = r->higher_better ? r->change : -r->change;
    if (better_by > r->tolerance) return "better";
    return "ok";
}

/* The unit a metric prints in and the factor into it (fractions in %). */
static const char *unit_of(const char *m, double *scale)
{
    *scale = 1;
    if (is_fraction(m)) { *scale = 100; return " %"; }
    if (strstr(m, "latency_ms.") || ends_with(m, "_ms")) return " ms";
    if (ends_with(m, "requests_per_s")) return " req/s";
    if (ends_with(m, "tokens_per_s")) return " tok/s";
    if (ends_with(m, "_s")) return " s";
    return "";
}

/* "1882 [1690, 1901] ms": plain notation, 3-4 significant digits, the unit once */
static void fmt_val(char *buf, size_t size, const char *metric, double v, double lo, double hi)
{
    double k;
    const char *unit = unit_of(metric, &k);
    char a[32], b[32], c[32];
    es_sweep_fmt_plain(v * k, a, sizeof a);
    if (isnan(v)) snprintf(buf, size, "-");
    else if (isnan(lo) || isnan(hi)) snprintf(buf, size, "%s%s", a, unit);
    else snprintf(buf, size, "%s [%s, %s]%s", a, es_sweep_fmt_plain(lo * k, b, sizeof b),
                  es_sweep_fmt_plain(hi * k, c, sizeof c), unit);
}

static void fmt_change(char *buf, size_t size, const es_compare_row_t *r)
{
    if (isnan(r->change)) snprintf(buf, size, "-");
    else if (isinf(r->change)) snprintf(buf, size, "%s", r->change > 0 ? "+inf%" : "-inf%");
    else snprintf(buf, size, "%+.2f%s", r->change, r->points ? " pt" : "%");
}

static void fmt_tol(char *buf, size_t size, const es_compare_row_t *r)
{
    snprintf(buf, size, "%.3g%s", r->tolerance, r->points ? " pt" : "%");
}

static void xml_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n') fputc(' ', f);
            else fputc(*s, f);
        }
    }
}

static void md_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else fputc(*s, f);
    }
}

static bool has_labels(const es_compare_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->rows[i].label[0]) return true;
    return false;
}

void es_compare_write(FILE *f, const es_compare_t *c, es_compare_format_t fmt)
{
    char b[96], v[96], ch[32], tol[32];
    bool labels = has_labels(c);
    switch (fmt) {
    case ES_COMPARE_TEXT:
        fprintf(f, "base:    %s\ncurrent: %s\n\n", c->base_dir, c->cur_dir);
        if (labels) fprintf(f, "%-40s ", "point");
        fprintf(f, "%-32s %-32s %-32s %10s %8s  %s\n", "metric", "base [95% CI]", "current [95% CI]", "change",
                "tol", "verdict");
        for (size_t i = 0; i < c->n; i++) {
            const es_compare_row_t *r = &c->rows[i];
            fmt_val(b, sizeof b, r->metric, r->base, r->base_lo, r->base_hi);
            fmt_val(v, sizeof v, r->metric, r->cur, r->cur_lo, r->cur_hi);
            fmt_change(ch, sizeof ch, r);
            fmt_tol(tol, sizeof tol, r);
            if (labels) fprintf(f, "%-40s ", r->label);
            fprintf(f, "%-32s %-32s %-32s %10s %8s  %s\n", r->metric, b, v, ch, tol, verdict(r));
        }
        fprintf(f, "\n%zu metric%s compared, %zu regression%s", c->n, c->n == 1 ? "" : "s", c->nregressions,
                c->nregressions == 1 ? "" : "s");
        if (c->nmissing) fprintf(f, ", %zu missing", c->nmissing);
        fputs("\n", f);
        break;
    case ES_COMPARE_MARKDOWN:
        fprintf(f, "**eppsim compare**: `%s` (base) vs `%s` (current): %zu regression%s\n\n", c->base_dir,
                c->cur_dir, c->nregressions, c->nregressions == 1 ? "" : "s");
        fputs(labels ? "| point | metric | base [95% CI] | current [95% CI] | change | tolerance | verdict |\n"
                       "|---|---|---:|---:|---:|---:|---|\n"
                     : "| metric | base [95% CI] | current [95% CI] | change | tolerance | verdict |\n"
                       "|---|---:|---:|---:|---:|---|\n",
              f);
        for (size_t i = 0; i < c->n; i++) {
            const es_compare_row_t *r = &c->rows[i];
            fmt_val(b, sizeof b, r->metric, r->base, r->base_lo, r->base_hi);
            fmt_val(v, sizeof v, r->metric, r->cur, r->cur_lo, r->cur_hi);
            fmt_change(ch, sizeof ch, r);
            fmt_tol(tol, sizeof tol, r);
            fputs("| ", f);
            if (labels) { md_escaped(f, r->label); fputs(" | ", f); }
            fprintf(f, "`%s` | %s | %s | %s | %s | %s%s%s |\n", r->metric, b, v, ch, tol,
                    r->regression ? "**" : "", verdict(r), r->regression ? "**" : "");
        }
        break;
    case ES_COMPARE_JUNIT:
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
        fprintf(f, "<testsuites tests=\"%zu\" failures=\"%zu\">\n", c->n, c->nregressions);
        fputs("  <testsuite name=\"eppsim compare\" ", f);
        fprintf(f, "tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n", c->n, c->nregressions, c->nmissing);
        for (size_t i = 0; i < c->n; i++) {
            const es_compare_row_t *r = &c->rows[i];
            fmt_val(b, sizeof b, r->metric, r->base, r->base_lo, r->base_hi);
            fmt_val(v, sizeof v, r->metric, r->cur, r->cur_lo, r->cur_hi);
            fmt_change(ch, sizeof ch, r);
            fmt_tol(tol, sizeof tol, r);
            fputs("    <testcase classname=\"", f);
            xml_escaped(f, r->label[0] ? r->label : "run");
            fputs("\" name=\"", f);
            xml_escaped(f, r->metric);
            fputs("\"", f);
            if (r->regression) {
                fputs(">\n      <failure message=\"", f);
                char msg[512];
                snprintf(msg, sizeof msg, "%s worse by %s (tolerance %s): base %s, current %s", r->metric, ch, tol, b, v);
                xml_escaped(f, msg);
                fputs("\" type=\"regression\"/>\n    </testcase>\n", f);
            } else if (isnan(r->change)) {
                fputs(">\n      <skipped message=\"value missing on one side\"/>\n    </testcase>\n", f);
            } else {
                /* a passing case carries its numbers too (CI reports show them) */
                fputs(">\n      <system-out>", f);
                char msg[512];
                snprintf(msg, sizeof msg, "%s: base %s, current %s, change %s (tolerance %s): %s", r->metric, b, v, ch,
                         tol, verdict(r));
                xml_escaped(f, msg);
                fputs("</system-out>\n    </testcase>\n", f);
            }
        }
        fputs("  </testsuite>\n</testsuites>\n", f);
        break;
    }
}
