/*
 * es_schema.h -- typed, strict configuration tables.
 *
 * Each configuration section (server, workload, epp, ...) is described by one
 * static table: key, type, offset into its C struct, default (as text, parsed
 * like user input), range, unit and a one-line description.  The table is the
 * single place where a default lives; docs/configuration.md is checked
 * against it by a test; the fully defaulted configuration written with the
 * results is produced from it.  Key names are snake_case.
 *
 * Loading is strict: unknown keys, wrong types and out-of-range values fail
 * with "file:line: section.key: ...".
 */
#ifndef ES_SCHEMA_H
#define ES_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "es_doc.h"
#include "es_err.h"

typedef enum es_schema_type {
    ES_ST_BOOL = 1,    /* bool */
    ES_ST_INT,         /* int64_t, within [min, max] */
    ES_ST_U64,         /* uint64_t, read exactly */
    ES_ST_DOUBLE,      /* double, within [min, max] */
    ES_ST_STRING,      /* char * (owned; "" default means empty string) */
    ES_ST_ENUM,        /* int index into choices */
    ES_ST_SECTION,     /* nested table at offset */
    ES_ST_NODE         /* const es_node_t * borrowed from the document (lists, inline configs) */
} es_schema_type_t;

typedef struct es_schema es_schema_t;

typedef struct es_schema_entry {
    const char         *key;       /* snake_case key within its section */
    es_schema_type_t    type;
    size_t              offset;    /* offsetof() into the section's struct */
    const char         *def;       /* default, as the user would write it; NULL for NODE/SECTION */
    double              min, max;  /* for INT and DOUBLE */
    const char *const  *choices;   /* for ENUM: NULL-terminated names */
    const char         *unit;      /* "ms", "tokens", ... or "" */
    const char         *doc;       /* one-line description */
    const es_schema_t  *sub;       /* for SECTION */
} es_schema_entry_t;

struct es_schema {
    const char              *name;      /* section name, for docs */
    const es_schema_entry_t *entries;
    size_t                   n;
};

#define ES_SCHEMA_DEFINE(var, name_, table) \
    const es_schema_t var = { name_, table, sizeof(table) / sizeof((table)[0]) }

/* Fills obj with every default (recursively).  Fails only on a bad table. */
int es_schema_defaults(const es_schema_t *s, void *obj, es_err_t *err);
/* Reads map (may be NULL: defaults only) into obj, which must hold
 * defaults already.  `path` is the section's dotted path ("" at top). */
int es_schema_load(const es_schema_t *s, void *obj, const es_node_t *map,
                   const char *path, es_err_t *err);
/* Frees the strings of obj (recursively). */
void es_schema_fini(const es_schema_t *s, void *obj);

/* Visits every leaf entry with its full dotted path (for docs and tests). */
typedef void (*es_schema_visit_fn)(void *ud, const char *path, const es_schema_entry_t *e);
void es_schema_visit(const es_schema_t *s, const char *prefix, es_schema_visit_fn fn, void *ud);
/* Finds the entry for a dotted path; NULL if none.  *obj_inout is moved to
 * the struct that holds the entry. */
const es_schema_entry_t *es_schema_lookup(const es_schema_t *s, const char *dotted, void **obj_inout);

/* Writes obj as YAML (block style, NODE values as JSON flow), with the
 * schema's key order; the "fully defaulted configuration as run". */
void es_schema_write_yaml(FILE *f, const es_schema_t *s, const void *obj, int indent);
/* Writes a markdown reference of every key (path, type, default, unit, doc). */
void es_schema_write_reference(FILE *f, const es_schema_t *s, const char *prefix);

#endif /* ES_SCHEMA_H */
