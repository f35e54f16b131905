/*
 * schema.c -- strict loading of configuration sections from es_schema tables.
 */
#include "es_schema.h"

#include <stdlib.h>
#include <string.h>

#define FIELD(obj, e, T) ((T *)((char *)(obj) + (e)->offset))

static int set_from_node(const es_schema_entry_t *e, void *obj, const es_node_t *n,
                         const char *path, es_err_t *err)
{
    switch (e->type) {
    case ES_ST_BOOL:
        return es_node_to_bool(n, path, FIELD(obj, e, bool), err);
    case ES_ST_INT:
        return es_node_to_i64(n, path, (int64_t)e->min, (int64_t)e->max, FIELD(obj, e, int64_t), err);
    case ES_ST_U64:
        return es_node_to_u64(n, path, FIELD(obj, e, uint64_t), err);
    case ES_ST_DOUBLE:
        return es_node_to_double(n, path, e->min, e->max, FIELD(obj, e, double), err);
    case ES_ST_STRING: {
        const char *s;
        int rc = es_node_to_str(n, path, &s, err);
        if (rc) return rc;
        char *copy = strdup(s);
        if (!copy) return ES_ENOMEM;
        free(*FIELD(obj, e, char *));
        *FIELD(obj, e, char *) = copy;
        return 0;
    }
    case ES_ST_ENUM:
        return es_node_to_enum(n, path, e->choices, FIELD(obj, e, int), err);
    case ES_ST_NODE:
        *FIELD(obj, e, const es_node_t *) = es_node_is_null(n) ? NULL : n;
        return 0;
    case ES_ST_SECTION:
        return es_schema_load(e->sub, (char *)obj + e->offset, n, path, err);
    }
    return es_err_set(err, ES_EINVAL, "%s: bad schema entry", path);
}

int es_schema_defaults(const es_schema_t *s, void *obj, es_err_t *err)
{
    es_doc_t *doc = es_doc_create("<defaults>");
    if (!doc) return ES_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < s->n && !rc; i++) {
        const es_schema_entry_t *e = &s->entries[i];
        if (e->type == ES_ST_SECTION) { rc = es_schema_defaults(e->sub, (char *)obj + e->offset, err); continue; }
        if (e->type == ES_ST_NODE) { *FIELD(obj, e, const es_node_t *) = NULL; continue; }
        if (e->type == ES_ST_STRING) *FIELD(obj, e, char *) = NULL;
        es_node_t *n = es_node_new_scalar(doc, e->def ? e->def : "", e->type == ES_ST_STRING);
        if (!n) { rc = ES_ENOMEM; break; }
        rc = set_from_node(e, obj, n, e->key, err);
        es_node_destroy(n);
    }
    es_doc_destroy(doc);
    return rc;
}

int es_schema_load(const es_schema_t *s, void *obj, const es_node_t *map, const char *path, es_err_t *err)
{
    if (!map || es_node_is_null(map)) return 0;
    int rc = es_node_expect_map(map, path, err);
    if (rc) return rc;
    for (size_t k = 0; k < map->n; k++) {
        const es_schema_entry_t *e = NULL;
        for (size_t i = 0; i < s->n; i++)
            if (strcmp(s->entries[i].key, map->keys[k]) == 0) { e = &s->entries[i]; break; }
        char full[512];
        if (path && *path) snprintf(full, sizeof full, "%s.%s", path, map->keys[k]);
        else snprintf(full, sizeof full, "%s", map->keys[k]);
        if (!e) {
            const char *names[128];
            size_t nn = 0;
            for (size_t i = 0; i < s->n && nn < 127; i++) names[nn++] = s->entries[i].key;
            names[nn] = NULL;
            return es_map_check_keys(map, path, names, err);
        }
        if ((rc = set_from_node(e, obj, map->items[k], full, err))) return rc;
    }
    return 0;
}

void es_schema_fini(const es_schema_t *s, void *obj)
{
    for (size_t i = 0; i < s->n; i++) {
        const es_schema_entry_t *e = &s->entries[i];
        if (e->type == ES_ST_STRING) { free(*FIELD(obj, e, char *)); *FIELD(obj, e, char *) = NULL; }
        else if (e->type == ES_ST_SECTION) es_schema_fini(e->sub, (char *)obj + e->offset);
    }
}

void es_schema_visit(const es_schema_t *s, const char *prefix, es_schema_visit_fn fn, void *ud)
{
    for (size_t i = 0; i < s->n; i++) {
        const es_schema_entry_t *e = &s->entries[i];
        char full[512];
        if (prefix && *prefix) snprintf(full, sizeof full, "%s.%s", prefix, e->key);
        else snprintf(full, sizeof full, "%s", e->key);
        if (e->type == ES_ST_SECTION) es_schema_visit(e->sub, full, fn, ud);
        else fn(ud, full, e);
    }
}

const es_schema_entry_t *es_schema_lookup(const es_schema_t *s, const char *dotted, void **obj_inout)
{
    const char *dot = strchr(dotted, '.');
    size_t len = dot ? (size_t)(dot - dotted) : strlen(dotted);
    for (size_t i = 0; i < s->n; i++) {
        const es_schema_entry_t *e = &s->entries[i];
        if (strlen(e->key) != len || strncmp(e->key, dotted, len) != 0) continue;
        if (!dot) return e->type == ES_ST_SECTION ? NULL : e;
        if (e->type != ES_ST_SECTION) return NULL;
        if (obj_inout && *obj_inout) *obj_inout = (char *)*obj_inout + e->offset;
        return es_schema_lookup(e->sub, dot + 1, obj_inout);
    }
    return NULL;
}

static void write_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '"' || *p == '\\') fputc('\\', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

void es_schema_write_yaml(FILE *f, const es_schema_t *s, const void *obj, int indent)
{
    for (size_t i = 0; i < s->n; i++) {
        const es_schema_entry_t *e = &s->entries[i];
        const void *p = (const char *)obj + e->offset;
        fprintf(f, "%*s%s:", indent, "", e->key);
        switch (e->type) {
        case ES_ST_BOOL: fprintf(f, " %s\n", *(const bool *)p ? "true" : "false"); break;
        case ES_ST_INT: fprintf(f, " %lld\n", (long long)*(const int64_t *)p); break;
        case ES_ST_U64: fprintf(f, " %llu\n", (unsigned long long)*(const uint64_t *)p); break;
        case ES_ST_DOUBLE: {
            /* shortest text that reads back to the same double */
            char buf[40];
            double v = *(const double *)p;
            for (int prec = 6; prec <= 17; prec++) {
                snprintf(buf, sizeof buf, "%.*g", prec, v);
                if (strtod(buf, NULL) == v) break;
            }
            fprintf(f, " %s\n", buf);
            break;
        }
        case ES_ST_STRING: fputc(' ', f); write_str(f, *(char *const *)p); fputc('\n', f); break;
        case ES_ST_ENUM: fprintf(f, " %s\n", e->choices[*(const int *)p]); break;
        case ES_ST_NODE: fputc(' ', f); es_node_write_json(f, *(const es_node_t *const *)p); fputc('\n', f); break;
        case ES_ST_SECTION: fputc('\n', f); es_schema_write_yaml(f, e->sub, p, indent + 2); break;
        }
    }
}

static const char *type_name(const es_schema_entry_t *e)
{
    switch (e->type) {
    case ES_ST_BOOL: return "bool";
    case ES_ST_INT: return "integer";
    case ES_ST_U64: return "unsigned 64-bit integer";
    case ES_ST_DOUBLE: return "number";
    case ES_ST_STRING: return "string";
    case ES_ST_ENUM: return "one of";
    case ES_ST_NODE: return "list or mapping";
    case ES_ST_SECTION: return "section";
    }
    return "?";
}

typedef struct ref_ctx { FILE *f; } ref_ctx_t;

static void ref_row(void *ud, const char *path, const es_schema_entry_t *e)
{
    FILE *f = ((ref_ctx_t *)ud)->f;
    fprintf(f, "| `%s` | %s", path, type_name(e));
    if (e->type == ES_ST_ENUM)
        for (int i = 0; e->choices[i]; i++) fprintf(f, "%s`%s`", i ? ", " : " ", e->choices[i]);
    if (e->type == ES_ST_INT) fprintf(f, " [%lld, %lld]", (long long)e->min, (long long)e->max);
    if (e->type == ES_ST_DOUBLE) fprintf(f, " [%g, %g]", e->min, e->max);
    fprintf(f, " | %s | %s | %s |\n", e->def ? (e->def[0] ? e->def : "\"\"") : "none",
            e->unit && e->unit[0] ? e->unit : "", e->doc ? e->doc : "");
}

void es_schema_write_reference(FILE *f, const es_schema_t *s, const char *prefix)
{
    ref_ctx_t ctx = {f};
    /* one table per section, top-level keys first */
    fprintf(f, "| key | type | default | unit | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < s->n; i++)
        if (s->entries[i].type != ES_ST_SECTION) {
            char full[512];
            if (prefix && *prefix) snprintf(full, sizeof full, "%s.%s", prefix, s->entries[i].key);
            else snprintf(full, sizeof full, "%s", s->entries[i].key);
            ref_row(&ctx, full, &s->entries[i]);
        }
    for (size_t i = 0; i < s->n; i++) {
        const es_schema_entry_t *e = &s->entries[i];
        if (e->type != ES_ST_SECTION) continue;
        char full[512];
        if (prefix && *prefix) snprintf(full, sizeof full, "%s.%s", prefix, e->key);
        else snprintf(full, sizeof full, "%s", e->key);
        fprintf(f, "\n### `%s` — %s\n\n", full, e->doc ? e->doc : "");
        es_schema_write_reference(f, e->sub, full);
    }
}
