/*
 * sweep_table.c -- a sweep's results: sweep.csv and sweep.json with the
 * per-point aggregates, merging shards, reading the rows back
 * (es_sweep.h, docs/sweeps.md).
 */
#define _GNU_SOURCE   /* open_memstream */
#include "es_sweep.h"
#include "es_summary.h"

#include <errno.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "es_outdir.h"
#include "es_str.h"
#include "es_util.h"
#include "sweep_internal.h"
#include "es_file.h"
#include "es_doc.h"

/* The whole file, or NULL (missing, unreadable, out of memory). */
static char *read_text(const char *path)
{
    char *text;
    return es_file_read(path, &text, NULL) == 0 ? text : NULL;
}

/* ------------------------------------------------------------------ */
/* result tables: sweep.csv                                            */
/* ------------------------------------------------------------------ */

typedef struct row {
    size_t   point;
    uint64_t seed;
    char   **keyvals;   /* [nkeys] */
    double  *m;         /* [nmetrics]; NAN = null or absent */
} row_t;

typedef struct table {
    size_t  nkeys, nmetrics;
    char  **keys, **metrics;   /* borrowed */
    size_t  n, cap;
    row_t  *rows;
} table_t;

static void table_fini(table_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        for (size_t k = 0; k < t->nkeys; k++) free(t->rows[i].keyvals[k]);
        free(t->rows[i].keyvals);
        free(t->rows[i].m);
    }
    free(t->rows);
}

static row_t *table_add(table_t *t, size_t point, uint64_t seed)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        row_t *r = realloc(t->rows, cap * sizeof *r);
        if (!r) return NULL;
        t->rows = r;
        t->cap = cap;
    }
    row_t *r = &t->rows[t->n];
    r->point = point;
    r->seed = seed;
    r->keyvals = calloc(t->nkeys ? t->nkeys : 1, sizeof *r->keyvals);
    r->m = malloc((t->nmetrics ? t->nmetrics : 1) * sizeof *r->m);
    if (!r->keyvals || !r->m) { free(r->keyvals); free(r->m); return NULL; }
    for (size_t i = 0; i < t->nmetrics; i++) r->m[i] = NAN;
    t->n++;
    return r;
}

static int row_cmp(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    if (x->point != y->point) return x->point < y->point ? -1 : 1;
    return x->seed < y->seed ? -1 : x->seed > y->seed;
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) { fputs(s, f); return; }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double v)
{
    if (!isnan(v)) fprintf(f, "%.10g", v);
}

static int write_outputs(const table_t *t, const char *out_dir, size_t npoints, const uint64_t *seeds,
                         size_t nseeds, es_err_t *err)
{
    if (t->n > 1) qsort(t->rows, t->n, sizeof *t->rows, row_cmp);   /* no rows: rows is NULL */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return es_err_set(err, ES_ENOMEM, "out of memory");
    fputs("point,seed,n", f);
    for (size_t k = 0; k < t->nkeys; k++) { fputc(',', f); csv_field(f, t->keys[k]); }
    for (size_t m = 0; m < t->nmetrics; m++) fprintf(f, ",%s,%s_ci_low,%s_ci_high", t->metrics[m], t->metrics[m], t->metrics[m]);
    fputc('\n', f);
    for (size_t i = 0; i < t->n;) {
        size_t j = i;
        while (j < t->n && t->rows[j].point == t->rows[i].point) j++;
        for (size_t r = i; r < j; r++) {
            fprintf(f, "%zu,%llu,1", t->rows[r].point, (unsigned long long)t->rows[r].seed);
            for (size_t k = 0; k < t->nkeys; k++) { fputc(',', f); csv_field(f, t->rows[r].keyvals[k]); }
            for (size_t m = 0; m < t->nmetrics; m++) { fputc(',', f); csv_num(f, t->rows[r].m[m]); fputs(",,", f); }
            fputc('\n', f);
        }
        /* the aggregated row: mean across seeds and a Student-t 95 % interval */
        fprintf(f, "%zu,all,%zu", t->rows[i].point, j - i);
        for (size_t k = 0; k < t->nkeys; k++) { fputc(',', f); csv_field(f, t->rows[i].keyvals[k]); }
        for (size_t m = 0; m < t->nmetrics; m++) {
            double v[ES_SWEEP_MAX_SEEDS];
            size_t n = 0;
            for (size_t r = i; r < j && n < ES_SWEEP_MAX_SEEDS; r++)
                if (!isnan(t->rows[r].m[m])) v[n++] = t->rows[r].m[m];
            double mean, lo, hi;
            es_sweep_interval(v, n, &mean, &lo, &hi);
            fputc(',', f); csv_num(f, mean);
            fputc(',', f); csv_num(f, lo);
            fputc(',', f); csv_num(f, hi);
        }
        fputc('\n', f);
        i = j;
    }
    if (fclose(f)) { free(buf); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    char path[2048];
    snprintf(path, sizeof path, "%s/sweep.csv", out_dir);
    int rc = es_write_file_atomic(path, buf, len, err);
    free(buf);
    if (rc) return rc;

    /* sweep.json: what merge and compare need to read sweep.csv */
    buf = NULL;
    len = 0;
    if (!(f = open_memstream(&buf, &len))) return es_err_set(err, ES_ENOMEM, "out of memory");
    fprintf(f, "{\n  \"schema_version\": 1,\n  \"points\": %zu,\n  \"seeds\": [", npoints);
    for (size_t i = 0; i < nseeds; i++) fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)seeds[i]);
    fputs("],\n  \"keys\": [", f);
    for (size_t k = 0; k < t->nkeys; k++) {
        cJSON *s = cJSON_CreateString(t->keys[k]);
        char *q = s ? cJSON_PrintUnformatted(s) : NULL;
        fprintf(f, "%s%s", k ? ", " : "", q ? q : "\"\"");
        free(q);
        cJSON_Delete(s);
    }
    fputs("],\n  \"metrics\": [", f);
    for (size_t m = 0; m < t->nmetrics; m++) fprintf(f, "%s\"%s\"", m ? ", " : "", t->metrics[m]);
    fputs("]\n}\n", f);
    if (fclose(f)) { free(buf); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    snprintf(path, sizeof path, "%s/sweep.json", out_dir);
    rc = es_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

void es_sweep_interval(const double *v, size_t n, double *mean, double *lo, double *hi)
{
    double sum = 0, sq = 0, min = INFINITY;
    for (size_t i = 0; i < n; i++) { sum += v[i]; if (v[i] < min) min = v[i]; }
    *mean = n ? sum / (double)n : NAN;
    *lo = *hi = NAN;
    if (n < 2) return;
    for (size_t i = 0; i < n; i++) sq += (v[i] - *mean) * (v[i] - *mean);
    double half = gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) * sqrt(sq / (double)(n - 1) / (double)n);
    *lo = *mean - half;
    *hi = *mean + half;
    /* a mean of values that are all >= 0 is >= 0: the interval stops there */
    if (min >= 0 && *lo < 0) *lo = 0;
}

void esi_sweep_point_dir(const char *out_dir, size_t point, uint64_t seed, char *buf, size_t size)
{
    snprintf(buf, size, "%s/points/%zu-seed%llu", out_dir, point, (unsigned long long)seed);
}

int es_sweep_write_results(const es_sweep_spec_t *s, const char *out_dir, es_err_t *err)
{
    table_t t = {s->nkeys, s->nmetrics, s->keys, s->metrics, 0, 0, NULL};
    int rc = 0;
    char **texts = calloc(s->nkeys ? s->nkeys : 1, sizeof *texts);
    if (!texts) return ES_ENOMEM;
    for (size_t i = 0; i < s->npoints && !rc; i++) {
        for (size_t k = 0; k < s->nkeys; k++) {
            free(texts[k]);
            texts[k] = esi_sweep_node_text(s->values[i * s->nkeys + k]);
        }
        for (size_t j = 0; j < s->nseeds && !rc; j++) {
            char dir[2048], path[2100];
            esi_sweep_point_dir(out_dir, i, s->seeds[j], dir, sizeof dir);
            snprintf(path, sizeof path, "%s/summary.json", dir);
            if (!esi_sweep_file_exists(path)) continue;
            char *text = read_text(path);
            cJSON *json = text ? cJSON_Parse(text) : NULL;
            free(text);
            if (!json) { rc = es_err_set(err, ES_EPARSE, "%s: not valid JSON", path); break; }
            row_t *r = table_add(&t, i, s->seeds[j]);
            if (!r) { cJSON_Delete(json); rc = ES_ENOMEM; break; }
            for (size_t k = 0; k < s->nkeys; k++)
                if (!(r->keyvals[k] = es_strdup(texts[k] ? texts[k] : ""))) rc = ES_ENOMEM;
            for (size_t m = 0; m < s->nmetrics; m++) {
                const cJSON *v = es_json_find(json, s->metrics[m]);
                if (cJSON_IsNumber(v)) r->m[m] = v->valuedouble;
            }
            cJSON_Delete(json);
        }
    }
    for (size_t k = 0; k < s->nkeys; k++) free(texts[k]);
    free(texts);
    if (!rc) rc = write_outputs(&t, out_dir, s->npoints, s->seeds, s->nseeds, err);
    table_fini(&t);
    return rc;
}

/* ---- merge: read sweep.csv back ---- */

/* Splits one CSV record (RFC 4180 quoting) at *pos; fields are malloc'd. */
static int csv_record(const char *text, size_t *pos, char ***fields, size_t *nfields)
{
    *fields = NULL;
    *nfields = 0;
    size_t p = *pos;
    if (!text[p]) return 0;
    size_t cap = 0;
    for (;;) {
        char *buf = malloc(strlen(text + p) + 1);
        if (!buf) return ES_ENOMEM;
        size_t n = 0;
        if (text[p] == '"') {
            p++;
            while (text[p] && !(text[p] == '"' && text[p + 1] != '"')) {
                if (text[p] == '"') p++;
                buf[n++] = text[p++];
            }
            if (text[p] == '"') p++;
        }
        while (text[p] && text[p] != ',' && text[p] != '\n' && text[p] != '\r') buf[n++] = text[p++];
        buf[n] = '\0';
        if (*nfields == cap) {
            cap = cap ? cap * 2 : 16;
            char **f = realloc(*fields, cap * sizeof *f);
            if (!f) { free(buf); return ES_ENOMEM; }
            *fields = f;
        }
        (*fields)[(*nfields)++] = buf;
        if (text[p] == ',') { p++; continue; }
        if (text[p] == '\r') p++;
        if (text[p] == '\n') p++;
        break;
    }
    *pos = p;
    return 0;
}

static void free_fields(char **f, size_t n)
{
    for (size_t i = 0; i < n; i++) free(f[i]);
    free(f);
}

typedef struct sweep_meta {
    cJSON *json;
    size_t npoints;
    char **keys, **metrics;   /* point into json */
    size_t nkeys, nmetrics;
} sweep_meta_t;

static void meta_fini(sweep_meta_t *m)
{
    free(m->keys);
    free(m->metrics);
    cJSON_Delete(m->json);
    memset(m, 0, sizeof *m);
}

static int meta_strings(const cJSON *arr, char ***out, size_t *n)
{
    *n = (size_t)cJSON_GetArraySize(arr);
    *out = calloc(*n ? *n : 1, sizeof **out);
    if (!*out) return ES_ENOMEM;
    for (size_t i = 0; i < *n; i++) {
        const cJSON *s = cJSON_GetArrayItem(arr, (int)i);
        if (!cJSON_IsString(s)) return ES_EPARSE;
        (*out)[i] = s->valuestring;
    }
    return 0;
}

static int meta_load(const char *dir, sweep_meta_t *m, es_err_t *err)
{
    memset(m, 0, sizeof *m);
    char path[2048];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    char *text = read_text(path);
    if (!text) return es_err_set(err, ES_ENOTFOUND, "%s: cannot read (not a sweep directory?)", path);
    m->json = cJSON_Parse(text);
    free(text);
    const cJSON *np = cJSON_GetObjectItemCaseSensitive(m->json, "points");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(m->json, "keys");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(m->json, "metrics");
    if (!cJSON_IsNumber(np) || !cJSON_IsArray(k) || !cJSON_IsArray(mt) || meta_strings(k, &m->keys, &m->nkeys) ||
        meta_strings(mt, &m->metrics, &m->nmetrics)) {
        meta_fini(m);
        return es_err_set(err, ES_EPARSE, "%s: not a sweep.json (points, keys, metrics)", path);
    }
    /* a point count as sweep.c allows it, checked before it becomes a size_t */
    if (!(np->valuedouble >= 0 && np->valuedouble <= 1000000) || np->valuedouble != floor(np->valuedouble)) {
        double v = np->valuedouble;
        meta_fini(m);
        return es_err_set(err, ES_ERANGE, "%s: points: %g is not a point count (an integer in [0, 1000000])", path, v);
    }
    m->npoints = (size_t)np->valuedouble;
    return 0;
}

/* Reads the per-seed rows of dir/sweep.csv into t (its columns must be t's). */
static int read_csv_rows(const char *dir, table_t *t, es_err_t *err)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    char *text = read_text(path);
    if (!text) return es_err_set(err, ES_ENOTFOUND, "%s: cannot read", path);
    size_t pos = 0, line = 0, nf;
    char **f;
    int rc = 0;
    size_t want = 3 + t->nkeys + 3 * t->nmetrics;
    while (!rc && text[pos]) {
        line++;
        if ((rc = csv_record(text, &pos, &f, &nf))) break;
        if (nf != want) {
            rc = es_err_set(err, ES_EPARSE, "%s:%zu: %zu columns, expected %zu", path, line, nf, want);
        } else if (line > 1 && strcmp(f[1], "all")) {
            char *end1, *end2;
            unsigned long long point = strtoull(f[0], &end1, 10), seed = strtoull(f[1], &end2, 10);
            row_t *r = *end1 || *end2 ? NULL : table_add(t, (size_t)point, seed);
            if (!r) rc = es_err_set(err, ES_EPARSE, "%s:%zu: bad point or seed", path, line);
            for (size_t k = 0; !rc && k < t->nkeys; k++)
                if (!(r->keyvals[k] = es_strdup(f[3 + k]))) rc = ES_ENOMEM;
            for (size_t m = 0; !rc && m < t->nmetrics; m++) {
                const char *v = f[3 + t->nkeys + 3 * m];
                char *end;
                if (*v) {
                    r->m[m] = es_strtod(v, &end);   /* finite decimals only: "nan" and "inf" are not */
                    if (*end || end == v) rc = es_err_set(err, ES_EPARSE, "%s:%zu: '%s' is not a number", path, line, v);
                }
            }
        }
        free_fields(f, nf);
    }
    free(text);
    return rc;
}

int es_sweep_merge(const char *const *dirs, size_t ndirs, const char *out_dir, es_err_t *err)
{
    if (ndirs == 0) return es_err_set(err, ES_EINVAL, "merge: no shard directories");
    sweep_meta_t first, m;
    int rc = meta_load(dirs[0], &first, err);
    if (rc) return rc;
    /* the seeds as written (%llu): read as text, exact past 2^53 and never a
     * double cast out of range */
    char path[2048];
    snprintf(path, sizeof path, "%s/sweep.json", dirs[0]);
    es_doc_t *doc = NULL;
    if ((rc = es_doc_load_file(path, &doc, err))) { meta_fini(&first); return rc; }
    const es_node_t *seeds = doc->root ? es_map_get(doc->root, "seeds") : NULL;
    if (seeds && (rc = es_node_expect_seq(seeds, "seeds", err))) { es_doc_destroy(doc); meta_fini(&first); return rc; }
    size_t nseeds = seeds ? seeds->n : 0;
    uint64_t *sv = calloc(nseeds ? nseeds : 1, sizeof *sv);
    if (!sv) { es_doc_destroy(doc); meta_fini(&first); return ES_ENOMEM; }
    for (size_t i = 0; i < nseeds && !rc; i++) rc = es_node_to_u64(seeds->items[i], "seeds", &sv[i], err);
    es_doc_destroy(doc);
    if (rc) { free(sv); meta_fini(&first); return rc; }
    table_t t = {first.nkeys, first.nmetrics, first.keys, first.metrics, 0, 0, NULL};
    for (size_t d = 0; d < ndirs && !rc; d++) {
        if (d > 0) {
            if ((rc = meta_load(dirs[d], &m, err))) break;
            bool same = m.npoints == first.npoints && m.nkeys == first.nkeys && m.nmetrics == first.nmetrics;
            for (size_t k = 0; same && k < m.nkeys; k++) same = !strcmp(m.keys[k], first.keys[k]);
            for (size_t k = 0; same && k < m.nmetrics; k++) same = !strcmp(m.metrics[k], first.metrics[k]);
            meta_fini(&m);
            if (!same) {
                rc = es_err_set(err, ES_EINVAL, "merge: %s and %s come from different sweeps (points, keys or metrics differ)",
                                dirs[0], dirs[d]);
                break;
            }
        }
        rc = read_csv_rows(dirs[d], &t, err);
    }
    if (!rc) {
        /* the same point-seed in two shards (a resumed copy): keep one */
        if (t.n > 1) qsort(t.rows, t.n, sizeof *t.rows, row_cmp);   /* a shard of no rows: rows is NULL */
        size_t w = 0;
        for (size_t i = 0; i < t.n; i++) {
            if (w > 0 && t.rows[w - 1].point == t.rows[i].point && t.rows[w - 1].seed == t.rows[i].seed) {
                for (size_t k = 0; k < t.nkeys; k++) free(t.rows[i].keyvals[k]);
                free(t.rows[i].keyvals);
                free(t.rows[i].m);
                continue;
            }
            t.rows[w++] = t.rows[i];
        }
        t.n = w;
        if (es_mkdirs(out_dir)) rc = es_err_set(err, ES_EIO, "%s: cannot create: %s", out_dir, strerror(errno));
        else rc = write_outputs(&t, out_dir, first.npoints, sv, nseeds, err);
    }
    table_fini(&t);
    free(sv);
    meta_fini(&first);
    return rc;
}

/* ------------------------------------------------------------------ */
/* reading a sweep's aggregated rows                                   */
/* ------------------------------------------------------------------ */

void es_sweep_result_fini(es_sweep_result_t *r)
{
    for (size_t i = 0; i < r->nkeys; i++) free(r->keys[i]);
    for (size_t i = 0; i < r->nmetrics; i++) free(r->metrics[i]);
    for (size_t i = 0; i < r->n; i++) free(r->label[i]);
    free(r->keys); free(r->metrics); free(r->label); free(r->point); free(r->nseeds);
    free(r->mean); free(r->lo); free(r->hi);
    memset(r, 0, sizeof *r);
}

static double parse_cell(const char *v, bool *bad)
{
    if (!*v) return NAN;
    char *end;
    double d = es_strtod(v, &end);   /* finite decimals only */
    if (*end || end == v) *bad = true;
    return d;
}

int es_sweep_result_load(const char *dir, es_sweep_result_t *r, es_err_t *err)
{
    memset(r, 0, sizeof *r);
    sweep_meta_t m;
    int rc = meta_load(dir, &m, err);
    if (rc) return rc;
    r->nkeys = m.nkeys;
    r->nmetrics = m.nmetrics;
    r->keys = calloc(m.nkeys + 1, sizeof *r->keys);
    r->metrics = calloc(m.nmetrics + 1, sizeof *r->metrics);
    if (!r->keys || !r->metrics) { meta_fini(&m); es_sweep_result_fini(r); return ES_ENOMEM; }
    for (size_t k = 0; k < m.nkeys; k++) r->keys[k] = es_strdup(m.keys[k]);
    for (size_t k = 0; k < m.nmetrics; k++) r->metrics[k] = es_strdup(m.metrics[k]);
    meta_fini(&m);

    char path[2048];
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    char *text = read_text(path);
    if (!text) { es_sweep_result_fini(r); return es_err_set(err, ES_ENOTFOUND, "%s: cannot read", path); }
    size_t pos = 0, line = 0, nf, cap = 0, want = 3 + r->nkeys + 3 * r->nmetrics;
    char **f;
    while (!rc && text[pos]) {
        line++;
        if ((rc = csv_record(text, &pos, &f, &nf))) break;
        if (nf != want) {
            rc = es_err_set(err, ES_EPARSE, "%s:%zu: %zu columns, expected %zu", path, line, nf, want);
        } else if (line > 1 && !strcmp(f[1], "all")) {
            if (r->n == cap) {
                cap = cap ? cap * 2 : 64;
                size_t *pt = realloc(r->point, cap * sizeof *pt);
                if (pt) r->point = pt;
                size_t *ns = realloc(r->nseeds, cap * sizeof *ns);
                if (ns) r->nseeds = ns;
                char **lb = realloc(r->label, cap * sizeof *lb);
                if (lb) r->label = lb;
                double *a = realloc(r->mean, cap * r->nmetrics * sizeof *a + 1);
                if (a) r->mean = a;
                double *b = realloc(r->lo, cap * r->nmetrics * sizeof *b + 1);
                if (b) r->lo = b;
                double *c = realloc(r->hi, cap * r->nmetrics * sizeof *c + 1);
                if (c) r->hi = c;
                if (!pt || !ns || !lb || !a || !b || !c) { rc = ES_ENOMEM; free_fields(f, nf); break; }
            }
            size_t i = r->n;
            bool bad = false;
            r->point[i] = (size_t)strtoull(f[0], NULL, 10);
            r->nseeds[i] = (size_t)strtoull(f[2], NULL, 10);
            char label[1024] = "";
            size_t off = 0;
            for (size_t k = 0; k < r->nkeys && off < sizeof label; k++)
                if (f[3 + k][0])
                    off += (size_t)snprintf(label + off, sizeof label - off, "%s%s=%s", off ? ", " : "", r->keys[k],
                                            f[3 + k]);
            r->label[i] = es_strdup(off ? label : "base");
            for (size_t k = 0; k < r->nmetrics; k++) {
                r->mean[i * r->nmetrics + k] = parse_cell(f[3 + r->nkeys + 3 * k], &bad);
                r->lo[i * r->nmetrics + k] = parse_cell(f[4 + r->nkeys + 3 * k], &bad);
                r->hi[i * r->nmetrics + k] = parse_cell(f[5 + r->nkeys + 3 * k], &bad);
            }
            r->n++;
            if (!r->label[i]) rc = ES_ENOMEM;
            else if (bad) rc = es_err_set(err, ES_EPARSE, "%s:%zu: a metric cell is not a number", path, line);
        }
        free_fields(f, nf);
    }
    free(text);
    if (rc) es_sweep_result_fini(r);
    return rc;
}
/* ------------------------------------------------------------------ */
/* the results table printed at the end of a sweep                     */
/* ------------------------------------------------------------------ */

/* A column title and unit for a summary.json key path. */
static void metric_title(const char *metric, char *title, size_t size, double *scale)
{
    static const char *const prefixes[] = {"latency_ms.", "prefix_cache.", "throughput.", "goodput.", NULL};
    const char *t = metric;
    for (int i = 0; prefixes[i]; i++)
        if (!strncmp(metric, prefixes[i], strlen(prefixes[i]))) { t = metric + strlen(prefixes[i]); break; }
    *scale = 1;
    const char *unit = "";
    if (!strncmp(metric, "latency_ms.", 11)) unit = " ms";
    else if (strstr(metric, "hit_rate") || strstr(metric, "fraction")) { unit = " %"; *scale = 100; }
    else if (strstr(metric, "requests_per_s")) unit = " req/s";
    else if (strstr(metric, "tokens_per_s")) unit = " tok/s";
    char buf[128];
    snprintf(buf, sizeof buf, "%s", t);
    static const char *const cut[] = {"_hit_rate", "requests_per_s", "_tokens_per_s", NULL};
    for (int i = 0; cut[i]; i++) {
        char *c = strstr(buf, cut[i]);
        if (c) *c = '\0';
    }
    if (!buf[0]) snprintf(buf, sizeof buf, "%.*s", (int)(strchr(metric, '.') ? strchr(metric, '.') - metric : 0), metric);
    snprintf(title, size, "%s%s", buf, unit);
}

const char *es_sweep_fmt_plain(double v, char *buf, size_t size)
{
    double a = fabs(v);
    if (isnan(v)) snprintf(buf, size, "-");
    else if (a >= 100 || a == 0) snprintf(buf, size, "%.0f", v);
    else if (a >= 10) snprintf(buf, size, "%.1f", v);
    else if (a >= 1) snprintf(buf, size, "%.2f", v);
    else if (a >= 0.01) snprintf(buf, size, "%.3f", v);
    else {   /* three significant digits, never an exponent (0.00371, not 0.003710) */
        int d = 2 - (int)floor(log10(a));
        snprintf(buf, size, "%.*f", d > 12 ? 12 : d, v);
    }
    return buf;
}

int es_sweep_print_table(FILE *f, const char *dir, es_err_t *err)
{
    es_sweep_result_t r;
    int rc = es_sweep_result_load(dir, &r, err);
    if (rc) return rc;
    fprintf(f, "mean across seeds, +- the half-width of its 95 %% interval (%s/sweep.csv):\n", dir);
    fprintf(f, "%5s %5s", "point", "seeds");
    int width[64];
    double scale[64];
    size_t nm = r.nmetrics < 64 ? r.nmetrics : 64;
    for (size_t k = 0; k < nm; k++) {
        char title[160];
        metric_title(r.metrics[k], title, sizeof title, &scale[k]);
        width[k] = (int)strlen(title) > 16 ? (int)strlen(title) : 16;
        fprintf(f, "  %*s", width[k], title);
    }
    fputc('\n', f);
    for (size_t i = 0; i < r.n; i++) {
        fprintf(f, "%5zu %5zu", r.point[i], r.nseeds[i]);
        for (size_t k = 0; k < nm; k++) {
            double m = r.mean[i * r.nmetrics + k], lo = r.lo[i * r.nmetrics + k], hi = r.hi[i * r.nmetrics + k];
            char cell[64], a[32], b[32];
            es_sweep_fmt_plain(m * scale[k], a, sizeof a);
            es_sweep_fmt_plain((hi - lo) / 2 * scale[k], b, sizeof b);
            if (isnan(m)) snprintf(cell, sizeof cell, "-");
            else if (isnan(lo)) snprintf(cell, sizeof cell, "%s", a);
            else snprintf(cell, sizeof cell, "%s +- %s", a, b);
            fprintf(f, "  %*s", width[k], cell);
        }
        fprintf(f, "   %s\n", r.label[i]);
    }
    es_sweep_result_fini(&r);
    return 0;
}
