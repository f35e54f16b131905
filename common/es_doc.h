/*
 * es_doc.h -- configuration documents with source positions.
 *
 * Every file a user writes (experiments, EndpointPickerConfig, Kubernetes
 * manifests, explain state files, sweep specs) is read through this loader,
 * so that every error can say `exp.yaml:14: server.gpu: ...`.  libyaml reads
 * YAML and JSON (a JSON document is a YAML flow document) and reports marks;
 * cJSON keeps no positions and is used only where none are needed.
 *
 * A document is a tree of scalar, sequence and mapping nodes.  Scalars keep
 * their text and whether they were quoted: a quoted scalar is always a
 * string, never a number, boolean or null.  Nodes can be changed in place
 * (sweeps set key paths before validation).
 */
#ifndef ES_DOC_H
#define ES_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "es_err.h"

typedef enum es_node_kind {
    ES_NODE_SCALAR = 1,
    ES_NODE_SEQ    = 2,
    ES_NODE_MAP    = 3
} es_node_kind_t;

typedef struct es_doc es_doc_t;
typedef struct es_node es_node_t;

struct es_node {
    es_node_kind_t kind;
    uint32_t       line;      /* 1-based line of the node's first character */
    uint32_t       col;       /* 1-based column */
    bool           quoted;    /* scalar was single- or double-quoted */
    char          *str;       /* scalar text, NUL-terminated; NULL for seq/map */
    size_t         n;         /* seq items or map pairs */
    size_t         cap;
    es_node_t    **items;     /* seq items, or map values */
    char         **keys;      /* map keys (keys[i] -> items[i]) */
    uint32_t      *key_lines; /* line of each map key */
    const es_doc_t *doc;      /* owning document (for the file name) */
};

struct es_doc {
    char      *file;          /* name used in messages */
    es_node_t *root;          /* NULL for an empty document */
};

/* Loads the first document of a file.  *out is owned by the caller. */
int es_doc_load_file(const char *path, es_doc_t **out, es_err_t *err);
/* Loads the first document of text; `name` is used in messages. */
int es_doc_load_string(const char *name, const char *text, size_t len,
                       es_doc_t **out, es_err_t *err);
/* Loads every document of a multi-document file (Kubernetes manifests).
 * Empty documents are skipped.  *docs is an array of *ndocs owned docs. */
int es_doc_load_all(const char *path, es_doc_t ***docs, size_t *ndocs, es_err_t *err);
void es_doc_destroy(es_doc_t *doc);
void es_doc_destroy_all(es_doc_t **docs, size_t ndocs);

/* ---- navigation ---- */
const es_node_t *es_map_get(const es_node_t *map, const char *key);
/* Index of key in map, or -1. */
long es_map_index(const es_node_t *map, const char *key);
/* Follows a dotted path of map keys ("server.gpu"); NULL if absent. */
const es_node_t *es_node_find(const es_node_t *root, const char *dotted);
bool es_node_is_null(const es_node_t *n);

/* ---- errors with positions ---- */
/* Formats "file:line: path: message" into err and returns code. */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
int es_node_err(es_err_t *err, int code, const es_node_t *node, const char *path,
                const char *fmt, ...);
/* Fails with "unknown key 'k' (known: a, b, c)" when map has a key that is
 * not in the NULL-terminated `allowed` list. */
int es_map_check_keys(const es_node_t *map, const char *path,
                      const char *const *allowed, es_err_t *err);
/* Requires node to be a mapping / sequence. */
int es_node_expect_map(const es_node_t *n, const char *path, es_err_t *err);
int es_node_expect_seq(const es_node_t *n, const char *path, es_err_t *err);

/* ---- typed scalar reads (strict) ---- */
int es_node_to_str(const es_node_t *n, const char *path, const char **out, es_err_t *err);
int es_node_to_bool(const es_node_t *n, const char *path, bool *out, es_err_t *err);
int es_node_to_i64(const es_node_t *n, const char *path, int64_t min, int64_t max,
                   int64_t *out, es_err_t *err);
/* Unsigned 64-bit, read exactly (no double round trip). */
int es_node_to_u64(const es_node_t *n, const char *path, uint64_t *out, es_err_t *err);
int es_node_to_double(const es_node_t *n, const char *path, double min, double max,
                      double *out, es_err_t *err);
/* Matches one of the NULL-terminated names; error lists them. */
int es_node_to_enum(const es_node_t *n, const char *path, const char *const *names,
                    int *out, es_err_t *err);

/* ---- building and changing documents ---- */
es_node_t *es_node_new_scalar(const es_doc_t *doc, const char *text, bool quoted);
es_node_t *es_node_new_map(const es_doc_t *doc);
es_node_t *es_node_new_seq(const es_doc_t *doc);
es_node_t *es_node_clone(const es_node_t *n, const es_doc_t *doc);
void es_node_destroy(es_node_t *n);
/* Appends to a seq; takes ownership of item. */
int es_seq_append(es_node_t *seq, es_node_t *item);
/* Sets map[key] = value (replacing any old value); takes ownership. */
int es_map_set(es_node_t *map, const char *key, es_node_t *value);
/* Sets the dotted path in doc to value, creating maps on the way; takes
 * ownership of value.  Fails when a path component is not a map. */
int es_doc_set_path(es_doc_t *doc, const char *dotted, es_node_t *value, es_err_t *err);
/* Parses `text` as a YAML value (e.g. "[1, 2]", "3", "abc") into a node. */
es_node_t *es_node_parse_value(const es_doc_t *doc, const char *text, es_err_t *err);
es_doc_t *es_doc_create(const char *file);
/* Writes a node as JSON (valid YAML flow style); NULL writes null.  Plain
 * scalars that read as numbers, booleans or null are written bare. */
void es_node_write_json(FILE *f, const es_node_t *n);

#endif /* ES_DOC_H */
