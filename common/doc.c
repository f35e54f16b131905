/*
 * doc.c -- libyaml-backed document loader with source positions.
 *
 * Built from libyaml's event stream with an explicit stack (no recursion on
 * input depth, so a deeply nested fuzz input cannot overflow the C stack).
 * Anchors and aliases are supported by cloning the anchored node.
 */
#include "es_doc.h"
#include "es_util.h"
#include "es_str.h"
#include "es_file.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 256
/* Aliases copy their anchor's subtree; this caps what one document's aliases
 * may add, so nested aliases ("billion laughs") cannot exhaust memory. */
#define MAX_ALIAS_NODES 100000

es_doc_t *es_doc_create(const char *file)
{
    es_doc_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->file = es_strdup(file ? file : "<input>");
    if (!d->file) { free(d); return NULL; }
    return d;
}

static es_node_t *node_new(const es_doc_t *doc, es_node_kind_t kind)
{
    es_node_t *n = calloc(1, sizeof *n);
    if (n) { n->kind = kind; n->doc = doc; }
    return n;
}

es_node_t *es_node_new_scalar(const es_doc_t *doc, const char *text, bool quoted)
{
    es_node_t *n = node_new(doc, ES_NODE_SCALAR);
    if (!n) return NULL;
    n->str = es_strdup(text);
    if (!n->str) { free(n); return NULL; }
    n->quoted = quoted;
    return n;
}

es_node_t *es_node_new_map(const es_doc_t *doc) { return node_new(doc, ES_NODE_MAP); }
es_node_t *es_node_new_seq(const es_doc_t *doc) { return node_new(doc, ES_NODE_SEQ); }

void es_node_destroy(es_node_t *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        es_node_destroy(n->items[i]);
        if (n->keys) free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->key_lines);
    free(n->str);
    free(n);
}

static int grow(es_node_t *n)
{
    if (n->n < n->cap) return 0;
    size_t cap = n->cap ? n->cap * 2 : 4;
    es_node_t **items = realloc(n->items, cap * sizeof *items);
    if (!items) return ES_ENOMEM;
    n->items = items;
    if (n->kind == ES_NODE_MAP) {
        char **keys = realloc(n->keys, cap * sizeof *keys);
        if (!keys) return ES_ENOMEM;
        n->keys = keys;
        uint32_t *kl = realloc(n->key_lines, cap * sizeof *kl);
        if (!kl) return ES_ENOMEM;
        n->key_lines = kl;
    }
    n->cap = cap;
    return 0;
}

int es_seq_append(es_node_t *seq, es_node_t *item)
{
    if (grow(seq)) return ES_ENOMEM;
    seq->items[seq->n++] = item;
    return 0;
}

long es_map_index(const es_node_t *map, const char *key)
{
    if (!map || map->kind != ES_NODE_MAP) return -1;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0) return (long)i;
    return -1;
}

int es_map_set(es_node_t *map, const char *key, es_node_t *value)
{
    long i = es_map_index(map, key);
    if (i >= 0) {
        es_node_destroy(map->items[i]);
        map->items[i] = value;
        return 0;
    }
    if (grow(map)) return ES_ENOMEM;
    map->keys[map->n] = es_strdup(key);
    if (!map->keys[map->n]) return ES_ENOMEM;
    map->key_lines[map->n] = value ? value->line : 0;
    map->items[map->n++] = value;
    return 0;
}

es_node_t *es_node_clone(const es_node_t *src, const es_doc_t *doc)
{
    if (!src) return NULL;
    es_node_t *n = node_new(doc, src->kind);
    if (!n) return NULL;
    n->line = src->line; n->col = src->col; n->quoted = src->quoted;
    if (src->str && !(n->str = es_strdup(src->str))) goto fail;
    for (size_t i = 0; i < src->n; i++) {
        es_node_t *c = es_node_clone(src->items[i], doc);
        if (!c || grow(n)) { es_node_destroy(c); goto fail; }
        if (n->kind == ES_NODE_MAP) {
            n->keys[n->n] = es_strdup(src->keys[i]);
            if (!n->keys[n->n]) { es_node_destroy(c); goto fail; }
            n->key_lines[n->n] = src->key_lines[i];
        }
        n->items[n->n++] = c;
    }
    return n;
fail:
    es_node_destroy(n);
    return NULL;
}

void es_doc_destroy(es_doc_t *doc)
{
    if (!doc) return;
    es_node_destroy(doc->root);
    free(doc->file);
    free(doc);
}

void es_doc_destroy_all(es_doc_t **docs, size_t ndocs)
{
    for (size_t i = 0; i < ndocs; i++) es_doc_destroy(docs[i]);
    free(docs);
}

/* ---- parsing ---- */

typedef struct anchor {
    char *name;
    es_node_t *node;
} anchor_t;

typedef struct builder {
    es_doc_t  *doc;
    es_node_t *stack[MAX_DEPTH];
    char      *pending_key[MAX_DEPTH];  /* map key awaiting its value */
    uint32_t   pending_line[MAX_DEPTH];
    int        depth;
    anchor_t  *anchors;            /* node NULL: the anchor was on a mapping key (freed) */
    size_t     nanchors;
    size_t     alias_nodes;        /* nodes copied by aliases in this document */
} builder_t;

static void builder_fini(builder_t *b)
{
    /* nodes on the stack are not attached to their parents yet: free each */
    for (int i = 0; i < b->depth; i++) {
        free(b->pending_key[i]);
        es_node_destroy(b->stack[i]);
    }
    for (size_t i = 0; i < b->nanchors; i++) free(b->anchors[i].name);
    free(b->anchors);
    b->depth = 0; b->anchors = NULL; b->nanchors = 0; b->alias_nodes = 0;
}

/* Nodes in n's subtree, counting no further than limit. */
static size_t count_nodes(const es_node_t *n, size_t limit)
{
    size_t c = 1;
    for (size_t i = 0; n && i < n->n && c <= limit; i++) c += count_nodes(n->items[i], limit - c);
    return c;
}

static int add_anchor(builder_t *b, const char *name, es_node_t *node)
{
    anchor_t *a = realloc(b->anchors, (b->nanchors + 1) * sizeof *a);
    if (!a) return ES_ENOMEM;
    b->anchors = a;
    a[b->nanchors].name = es_strdup(name);
    if (!a[b->nanchors].name) return ES_ENOMEM;
    a[b->nanchors++].node = node;
    return 0;
}

/* Attaches a finished node to its parent (or makes it the root). */
static int attach(builder_t *b, es_node_t *node, es_err_t *err)
{
    if (b->depth == 0) {
        b->doc->root = node;
        return 0;
    }
    es_node_t *parent = b->stack[b->depth - 1];
    if (parent->kind == ES_NODE_SEQ) return es_seq_append(parent, node);
    /* mapping: either this node is a key or the value of a pending key */
    int d = b->depth - 1;
    if (!b->pending_key[d]) {
        if (node->kind != ES_NODE_SCALAR) {
            int rc = es_node_err(err, ES_EPARSE, node, NULL,
                                 "mapping keys must be plain scalars");
            es_node_destroy(node);
            return rc;
        }
        if (es_map_index(parent, node->str) >= 0) {
            int rc = es_node_err(err, ES_EPARSE, node, NULL, "duplicate key '%s'", node->str);
            es_node_destroy(node);
            return rc;
        }
        b->pending_key[d] = node->str;
        b->pending_line[d] = node->line;
        node->str = NULL;
        /* an anchored key (`&k key: v`): its node goes away, so must its anchor */
        for (size_t i = 0; i < b->nanchors; i++)
            if (b->anchors[i].node == node) b->anchors[i].node = NULL;
        es_node_destroy(node);
        return 0;
    }
    if (grow(parent)) { es_node_destroy(node); return ES_ENOMEM; }
    parent->keys[parent->n] = b->pending_key[d];
    parent->key_lines[parent->n] = b->pending_line[d];
    parent->items[parent->n++] = node;
    b->pending_key[d] = NULL;
    return 0;
}

static int parse_error(es_err_t *err, const char *file, yaml_parser_t *p)
{
    const char *what = p->problem ? p->problem : "malformed document";
    size_t line = p->problem_mark.line + 1;
    if (p->context)
        return es_err_set(err, ES_EPARSE, "%s:%zu: syntax error: %s %s", file, line, what, p->context);
    return es_err_set(err, ES_EPARSE, "%s:%zu: syntax error: %s", file, line, what);
}

/*
 * Parses documents from an initialized parser.  When `all` is false, stops
 * after the first document.
 */
static int parse_docs(yaml_parser_t *p, const char *file, bool all,
                      es_doc_t ***docs, size_t *ndocs, es_err_t *err)
{
    builder_t b = {0};
    es_doc_t **out = NULL;
    size_t nout = 0;
    int rc = 0;
    bool done = false;

    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(p, &ev)) { rc = parse_error(err, file, p); break; }
        uint32_t line = (uint32_t)ev.start_mark.line + 1, col = (uint32_t)ev.start_mark.column + 1;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            b.doc = es_doc_create(file);
            if (!b.doc) rc = ES_ENOMEM;
            break;
        case YAML_DOCUMENT_END_EVENT: {
            builder_fini(&b);
            if (!all || (b.doc->root && !es_node_is_null(b.doc->root))) {
                es_doc_t **o = realloc(out, (nout + 1) * sizeof *o);
                if (!o) { rc = ES_ENOMEM; break; }
                out = o;
                out[nout++] = b.doc;
            } else {
                es_doc_destroy(b.doc);
            }
            b.doc = NULL;
            if (!all) done = true;
            break;
        }
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_SCALAR_EVENT: {
            es_node_t *n = es_node_new_scalar(b.doc, (const char *)ev.data.scalar.value,
                                              ev.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                                              ev.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ||
                                              ev.data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                                              ev.data.scalar.style == YAML_FOLDED_SCALAR_STYLE);
            if (!n) { rc = ES_ENOMEM; break; }
            n->line = line; n->col = col;
            if (ev.data.scalar.anchor && (rc = add_anchor(&b, (const char *)ev.data.scalar.anchor, n))) {
                es_node_destroy(n);
                break;
            }
            rc = attach(&b, n, err);
            break;
        }
        case YAML_ALIAS_EVENT: {
            es_node_t *src = NULL;
            bool found = false;
            for (size_t i = b.nanchors; i-- > 0;)
                if (strcmp(b.anchors[i].name, (const char *)ev.data.alias.anchor) == 0) {
                    src = b.anchors[i].node;
                    found = true;
                    break;
                }
            if (!src) {
                rc = es_err_set(err, ES_EPARSE, found ? "%s:%u: alias '*%s' names a mapping key (not supported)"
                                                      : "%s:%u: unknown alias '*%s'",
                                file, line, ev.data.alias.anchor);
                break;
            }
            b.alias_nodes += count_nodes(src, MAX_ALIAS_NODES);
            if (b.alias_nodes > MAX_ALIAS_NODES) {
                rc = es_err_set(err, ES_EPARSE, "%s:%u: aliases expand to more than %d nodes", file, line,
                                MAX_ALIAS_NODES);
                break;
            }
            es_node_t *n = es_node_clone(src, b.doc);
            if (!n) { rc = ES_ENOMEM; break; }
            n->line = line; n->col = col;
            rc = attach(&b, n, err);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (b.depth >= MAX_DEPTH) {
                rc = es_err_set(err, ES_EPARSE, "%s:%u: nesting deeper than %d levels", file, line, MAX_DEPTH);
                break;
            }
            es_node_t *n = node_new(b.doc, ev.type == YAML_SEQUENCE_START_EVENT ? ES_NODE_SEQ : ES_NODE_MAP);
            if (!n) { rc = ES_ENOMEM; break; }
            n->line = line; n->col = col;
            const yaml_char_t *anchor = ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                                                             : ev.data.mapping_start.anchor;
            if (anchor && (rc = add_anchor(&b, (const char *)anchor, n))) { es_node_destroy(n); break; }
            b.stack[b.depth] = n;
            b.pending_key[b.depth] = NULL;
            b.depth++;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            es_node_t *n = b.stack[--b.depth];
            free(b.pending_key[b.depth]);
            b.pending_key[b.depth] = NULL;
            rc = attach(&b, n, err);
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc) break;
    }
    if (rc) {
        builder_fini(&b);
        if (b.doc) es_doc_destroy(b.doc);
        es_doc_destroy_all(out, nout);
        if (rc == ES_ENOMEM && err && err->code == 0) es_err_set(err, ES_ENOMEM, "%s: out of memory", file);
        return rc;
    }
    if (nout == 0) {
        /* an empty stream is an empty document */
        out = malloc(sizeof *out);
        if (!out || !(out[0] = es_doc_create(file))) { free(out); return ES_ENOMEM; }
        nout = 1;
        if (all) { es_doc_destroy(out[0]); nout = 0; }
    }
    *docs = out;
    *ndocs = nout;
    return 0;
}

static int read_file(const char *path, char **text, size_t *len, es_err_t *err)
{
    int rc = es_file_read(path, text, len);
    if (rc == ES_ENOTFOUND) return es_err_set(err, ES_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (rc == ES_EIO) return es_err_set(err, ES_EIO, "%s: read error", path);
    if (rc == ES_EINVAL)
        return es_err_set(err, ES_EINVAL, "%s: not a regular file or pipe (a device or directory cannot be read)", path);
    if (rc == ES_ERANGE)
        return es_err_set(err, ES_EINVAL, "%s: larger than the %lld bytes a configuration file may have", path,
                          (long long)ES_FILE_READ_MAX);
    return rc;
}

static int load_text(const char *name, const char *text, size_t len, bool all,
                     es_doc_t ***docs, size_t *ndocs, es_err_t *err)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return es_err_set(err, ES_ENOMEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = parse_docs(&p, name, all, docs, ndocs, err);
    yaml_parser_delete(&p);
    return rc;
}

int es_doc_load_string(const char *name, const char *text, size_t len, es_doc_t **out, es_err_t *err)
{
    es_doc_t **docs;
    size_t n;
    int rc = load_text(name, text, len, false, &docs, &n, err);
    if (rc) return rc;
    *out = docs[0];
    for (size_t i = 1; i < n; i++) es_doc_destroy(docs[i]);
    free(docs);
    return 0;
}

int es_doc_load_file(const char *path, es_doc_t **out, es_err_t *err)
{
    char *text;
    size_t len;
    int rc = read_file(path, &text, &len, err);
    if (rc) return rc;
    rc = es_doc_load_string(path, text, len, out, err);
    free(text);
    return rc;
}

int es_doc_load_all(const char *path, es_doc_t ***docs, size_t *ndocs, es_err_t *err)
{
    char *text;
    size_t len;
    int rc = read_file(path, &text, &len, err);
    if (rc) return rc;
    rc = load_text(path, text, len, true, docs, ndocs, err);
    free(text);
    return rc;
}

/* ---- navigation ---- */

const es_node_t *es_map_get(const es_node_t *map, const char *key)
{
    long i = es_map_index(map, key);
    return i < 0 ? NULL : map->items[i];
}

const es_node_t *es_node_find(const es_node_t *root, const char *dotted)
{
    const es_node_t *n = root;
    char part[256];
    const char *p = dotted;
    while (n && p && *p) {
        if (es_key_path_part(p, part, sizeof part, &p) < 0) return NULL;
        n = es_map_get(n, part);
    }
    return n;
}

bool es_node_is_null(const es_node_t *n)
{
    if (!n) return true;
    if (n->kind != ES_NODE_SCALAR || n->quoted) return false;
    return n->str[0] == '\0' || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

/* ---- errors ---- */

int es_node_err(es_err_t *err, int code, const es_node_t *node, const char *path, const char *fmt, ...)
{
    if (!err) return code;
    char msg[ES_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = node && node->doc ? node->doc->file : "<input>";
    unsigned line = node ? node->line : 0;
    if (line == 0) {   /* a node built in code (--seed, a sweep's key path): no position to give */
        if (path && *path) snprintf(err->msg, sizeof err->msg, "%s: %s", path, msg);
        else snprintf(err->msg, sizeof err->msg, "%s", msg);
    } else if (path && *path)
        snprintf(err->msg, sizeof err->msg, "%s:%u: %s: %s", file, line, path, msg);
    else
        snprintf(err->msg, sizeof err->msg, "%s:%u: %s", file, line, msg);
    err->code = code;
    return code;
}

static const char *kind_name(const es_node_t *n)
{
    if (!n) return "nothing";
    switch (n->kind) {
    case ES_NODE_MAP: return "a mapping";
    case ES_NODE_SEQ: return "a list";
    default: return n->quoted ? "a string" : "a scalar";
    }
}

/* names[] joined with ", " into buf: as many as fit, then ", ..." (room for
 * it kept), never a name cut in two. */
static void join_names(char *buf, size_t size, const char *const *names)
{
    const size_t more = sizeof ", ...";
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i]; i++) {
        size_t w = strlen(names[i]) + (i ? 2 : 0);
        if (used + w + more > size) { memcpy(buf + used, ", ...", more); return; }
        snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
        used += w;
    }
}

int es_map_check_keys(const es_node_t *map, const char *path, const char *const *allowed, es_err_t *err)
{
    if (!map || map->kind != ES_NODE_MAP) return 0;
    for (size_t i = 0; i < map->n; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, map->keys[i]) == 0) { ok = true; break; }
        if (ok) continue;
        char known[384];
        join_names(known, sizeof known, allowed);
        char full[300];
        if (path && *path) snprintf(full, sizeof full, "%s.%s", path, map->keys[i]);
        else snprintf(full, sizeof full, "%s", map->keys[i]);
        es_node_t pos = *map;
        pos.line = map->key_lines[i];
        return es_node_err(err, ES_EINVAL, &pos, full, "unknown key (known: %s)", known);
    }
    return 0;
}

int es_node_expect_map(const es_node_t *n, const char *path, es_err_t *err)
{
    if (n && n->kind == ES_NODE_MAP) return 0;
    return es_node_err(err, ES_EINVAL, n, path, "expected a mapping, got %s", kind_name(n));
}

int es_node_expect_seq(const es_node_t *n, const char *path, es_err_t *err)
{
    if (n && n->kind == ES_NODE_SEQ) return 0;
    return es_node_err(err, ES_EINVAL, n, path, "expected a list, got %s", kind_name(n));
}

static int expect_scalar(const es_node_t *n, const char *path, const char *what, es_err_t *err)
{
    if (n && n->kind == ES_NODE_SCALAR) return 0;
    return es_node_err(err, ES_EINVAL, n, path, "expected %s, got %s", what, kind_name(n));
}

int es_node_to_str(const es_node_t *n, const char *path, const char **out, es_err_t *err)
{
    int rc = expect_scalar(n, path, "a string", err);
    if (rc) return rc;
    *out = n->str;
    return 0;
}

int es_node_to_bool(const es_node_t *n, const char *path, bool *out, es_err_t *err)
{
    int rc = expect_scalar(n, path, "true or false", err);
    if (rc) return rc;
    if (!n->quoted) {
        const char *s = n->str;
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) { *out = true; return 0; }
        if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) { *out = false; return 0; }
    }
    return es_node_err(err, ES_EINVAL, n, path, "expected true or false, got \"%s\"", n->str);
}

int es_node_to_u64(const es_node_t *n, const char *path, uint64_t *out, es_err_t *err)
{
    int rc = expect_scalar(n, path, "an unsigned integer", err);
    if (rc) return rc;
    const char *s = n->str;
    if (n->quoted || !*s) goto bad;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') goto bad;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return es_node_err(err, ES_ERANGE, n, path, "%s does not fit in 64 bits", s);
        v = v * 10 + d;
    }
    *out = v;
    return 0;
bad:
    return es_node_err(err, ES_EINVAL, n, path, "expected an unsigned integer, got \"%s\"", s);
}

int es_node_to_i64(const es_node_t *n, const char *path, int64_t min, int64_t max, int64_t *out, es_err_t *err)
{
    int rc = expect_scalar(n, path, "an integer", err);
    if (rc) return rc;
    const char *s = n->str;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (n->quoted || !*s || *end || end == s)
        return es_node_err(err, ES_EINVAL, n, path, "expected an integer, got \"%s\"", s);
    if (errno == ERANGE || v < min || v > max)
        return es_node_err(err, ES_ERANGE, n, path, "%s is out of range [%lld, %lld]", s,
                           (long long)min, (long long)max);
    *out = v;
    return 0;
}

int es_node_to_double(const es_node_t *n, const char *path, double min, double max, double *out, es_err_t *err)
{
    int rc = expect_scalar(n, path, "a number", err);
    if (rc) return rc;
    const char *s = n->str;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (n->quoted || !*s || *end || end == s || isnan(v) || isinf(v))
        return es_node_err(err, ES_EINVAL, n, path, "expected a number, got \"%s\"", s);
    if (v < min || v > max)
        return es_node_err(err, ES_ERANGE, n, path, "%s is out of range [%g, %g]", s, min, max);
    *out = v;
    return 0;
}

int es_node_to_enum(const es_node_t *n, const char *path, const char *const *names, int *out, es_err_t *err)
{
    int rc = expect_scalar(n, path, "a name", err);
    if (rc) return rc;
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], n->str) == 0) { *out = i; return 0; }
    char known[384];
    join_names(known, sizeof known, names);
    return es_node_err(err, ES_EINVAL, n, path, "unknown value \"%s\" (known: %s)", n->str, known);
}

/* ---- building ---- */

int es_doc_set_path(es_doc_t *doc, const char *dotted, es_node_t *value, es_err_t *err)
{
    if (!doc->root) {
        doc->root = es_node_new_map(doc);
        if (!doc->root) { es_node_destroy(value); return ES_ENOMEM; }
    }
    es_node_t *n = doc->root;
    char part[256];
    const char *p = dotted;
    for (;;) {
        const char *next;
        if (es_key_path_part(p, part, sizeof part, &next) <= 0) {
            es_node_destroy(value);
            return es_err_set(err, ES_EINVAL, "bad key path '%s'", dotted);
        }
        if (n->kind != ES_NODE_MAP) {
            es_node_destroy(value);
            return es_node_err(err, ES_EINVAL, n, dotted, "cannot set key '%s': its parent is not a mapping", part);
        }
        if (!next) return es_map_set(n, part, value);
        long i = es_map_index(n, part);
        if (i < 0) {
            es_node_t *m = es_node_new_map(doc);
            if (!m || es_map_set(n, part, m)) { es_node_destroy(value); return ES_ENOMEM; }
            n = m;
        } else {
            n = n->items[i];
        }
        p = next;
    }
}

es_node_t *es_node_parse_value(const es_doc_t *doc, const char *text, es_err_t *err)
{
    es_doc_t *tmp;
    if (es_doc_load_string(doc ? doc->file : "<value>", text, strlen(text), &tmp, err)) return NULL;
    es_node_t *n = tmp->root ? es_node_clone(tmp->root, doc) : es_node_new_scalar(doc, "", false);
    es_doc_destroy(tmp);
    return n;
}

/* ---- writing ---- */

static bool looks_bare(const es_node_t *n)
{
    if (n->quoted) return false;
    const char *s = n->str;
    if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null")) return true;
    char *end;
    if (!*s) return false;
    strtod(s, &end);
    return *end == '\0' && strspn(s, "0123456789+-.eE") == strlen(s);
}

void es_node_write_json(FILE *f, const es_node_t *n)
{
    if (!n || es_node_is_null(n)) { fputs("null", f); return; }
    switch (n->kind) {
    case ES_NODE_SCALAR:
        if (looks_bare(n)) fputs(n->str, f);
        else es_json_write_string(f, n->str);
        break;
    case ES_NODE_SEQ:
        fputc('[', f);
        for (size_t i = 0; i < n->n; i++) {
            if (i) fputs(", ", f);
            es_node_write_json(f, n->items[i]);
        }
        fputc(']', f);
        break;
    case ES_NODE_MAP:
        fputc('{', f);
        for (size_t i = 0; i < n->n; i++) {
            if (i) fputs(", ", f);
            es_json_write_string(f, n->keys[i]);
            fputs(": ", f);
            es_node_write_json(f, n->items[i]);
        }
        fputc('}', f);
        break;
    }
}
