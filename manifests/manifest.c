/*
 * manifest.c -- Kubernetes manifests (InferencePool, Deployments, Services,
 * ConfigMaps, HTTPRoutes, InferenceObjectives, Gateways) onto an experiment
 * document.  See es_manifest.h and docs/manifests.md.
 *
 * Everything here runs once before a simulation, so clarity wins over speed:
 * objects are found by linear scans (a manifest holds tens of objects).
 */
#include "es_manifest.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_paths.h"
#include "es_schema.h"
#include "es_experiment.h"
#include "manifest_internal.h"

const char *const esi_mf_meta_keys[] = {
    "name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences",
    "finalizers", "managedFields", "generateName", "selfLink", NULL};
static const char *const k_top_keys[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
static const char *const k_cm_top_keys[] = {"apiVersion", "kind", "metadata", "data", "binaryData",
                                             "immutable", NULL};

/* ---- messages ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
int esi_mf_oerr(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field, const char *fmt, ...)
{
    char msg[ES_ERR_MSG_MAX], path[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (field && *field) snprintf(path, sizeof path, "%s: %s", o->label, field);
    else snprintf(path, sizeof path, "%s", o->label);
    return es_node_err(c->err, ES_EINVAL, n ? n : o->root, path, "%s", msg);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void esi_mf_warn(ctx_t *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    es_manifest_t *m = c->m;
    char **w = realloc(m->warnings, (m->nwarnings + 1) * sizeof *w);
    if (!w) return;  /* a lost warning is not worth failing the run */
    m->warnings = w;
    if ((w[m->nwarnings] = strdup(buf))) m->nwarnings++;
}

/* Field path "a.b" joined with "c" (or "[i]"). */
const char *esi_mf_join(char *buf, size_t size, const char *base, const char *key)
{
    if (!base || !*base) snprintf(buf, size, "%s", key);
    else if (key[0] == '[') snprintf(buf, size, "%s%s", base, key);
    else snprintf(buf, size, "%s.%s", base, key);
    return buf;
}

/* Strict key check: "file:line: Kind/name: field.key: unknown field (known: ...)". */
int esi_mf_check_keys(ctx_t *c, const obj_t *o, const es_node_t *map, const char *field,
                      const char *const *allowed)
{
    if (!map || map->kind != ES_NODE_MAP) return 0;
    for (size_t i = 0; i < map->n; i++) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, map->keys[i]) != 0) a++;
        if (*a) continue;
        char known[400] = "", full[320];
        size_t used = 0;
        for (a = allowed; *a; a++) {
            int w = snprintf(known + used, sizeof known - used, "%s%s", a == allowed ? "" : ", ", *a);
            if (w < 0 || (size_t)w >= sizeof known - used) break;
            used += (size_t)w;
        }
        es_node_t pos = *map;
        pos.line = map->key_lines[i];
        return esi_mf_oerr(c, o, &pos, esi_mf_join(full, sizeof full, field, map->keys[i]),
                    "unknown field (known: %s)", known);
    }
    return 0;
}

int esi_mf_expect_map(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field)
{
    if (n && n->kind == ES_NODE_MAP) return 0;
    return esi_mf_oerr(c, o, n, field, "expected a mapping");
}

int esi_mf_expect_seq(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field)
{
    if (n && n->kind == ES_NODE_SEQ) return 0;
    return esi_mf_oerr(c, o, n, field, "expected a list");
}

/* Reads a scalar as text; NULL with an error when it is not a scalar. */
const char *esi_mf_text_of(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field)
{
    if (n && n->kind == ES_NODE_SCALAR && !es_node_is_null(n)) return n->str;
    esi_mf_oerr(c, o, n, field, "expected a string");
    return NULL;
}

int esi_mf_read_i64(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field,
                    int64_t min, int64_t max, int64_t *out)
{
    char path[384];
    snprintf(path, sizeof path, "%s: %s", o->label, field);
    return es_node_to_i64(n, path, min, max, out, c->err);
}

/* ---- building the experiment document ---- */

/* Scalar in the manifest's document at src's position, so that later
 * validation errors point at the manifest line. */
es_node_t *esi_mf_scalar_at(const es_node_t *src, const char *text, bool quoted)
{
    es_node_t *n = es_node_new_scalar(src->doc, text, quoted);
    if (n) { n->line = src->line; n->col = src->col; }
    return n;
}

/* es_map_set / es_seq_append that own value on every path (NULL = out of memory). */
int esi_mf_put(es_node_t *map, const char *key, es_node_t *value)
{
    if (!value) return ES_ENOMEM;
    if (es_map_set(map, key, value)) { es_node_destroy(value); return ES_ENOMEM; }
    return 0;
}

int esi_mf_append(es_node_t *seq, es_node_t *item)
{
    if (!item) return ES_ENOMEM;
    if (es_seq_append(seq, item)) { es_node_destroy(item); return ES_ENOMEM; }
    return 0;
}

static void note_override(ctx_t *c, const char *key)
{
    const es_node_t *old = c->exp->root ? es_node_find(c->exp->root, key) : NULL;
    if (!old) return;
    size_t used = strlen(c->overrides);
    snprintf(c->overrides + used, sizeof c->overrides - used, "%s%s (%s:%u)", c->noverrides ? ", " : "", key,
             old->doc ? old->doc->file : "?", old->line);
    c->noverrides++;
}

/* Sets key in the experiment; takes ownership of value (NULL = out of memory). */
int esi_mf_set_key(ctx_t *c, const char *key, es_node_t *value)
{
    if (!value) return es_err_set(c->err, ES_ENOMEM, "out of memory");
    note_override(c, key);
    return es_doc_set_path(c->exp, key, value, c->err);
}

/* Removes key (a dotted path) from the experiment, noting the override. */
void esi_mf_remove_key(ctx_t *c, const char *key)
{
    if (!c->exp->root) return;
    const char *dot = strrchr(key, '.');
    char parent[128];
    snprintf(parent, sizeof parent, "%.*s", dot ? (int)(dot - key) : 0, key);
    es_node_t *map = dot ? (es_node_t *)es_node_find(c->exp->root, parent) : c->exp->root;
    const char *leaf = dot ? dot + 1 : key;
    long i = map && map->kind == ES_NODE_MAP ? es_map_index(map, leaf) : -1;
    if (i < 0) return;
    note_override(c, key);
    es_node_destroy(map->items[i]);
    free(map->keys[i]);
    for (size_t j = (size_t)i + 1; j < map->n; j++) {
        map->items[j - 1] = map->items[j];
        map->keys[j - 1] = map->keys[j];
        map->key_lines[j - 1] = map->key_lines[j];
    }
    map->n--;
}

es_manifest_t *esi_mf_keep_doc(ctx_t *c, es_doc_t *doc)
{
    es_manifest_t *m = c->m;
    es_doc_t **d = realloc(m->docs, (m->ndocs + 1) * sizeof *d);
    if (!d) return NULL;
    m->docs = d;
    d[m->ndocs++] = doc;
    return m;
}

/* ---- lookups ---- */

const obj_t *esi_mf_find_obj(const ctx_t *c, kind_t kind, const char *ns, const char *name)
{
    for (size_t i = 0; i < c->nobjs; i++)
        if (c->objs[i].kind == kind && strcmp(c->objs[i].ns, ns) == 0 && strcmp(c->objs[i].name, name) == 0)
            return &c->objs[i];
    return NULL;
}

/* Every key of selector (a label map) is in labels with the same value. */
bool esi_mf_labels_match(const es_node_t *selector, const es_node_t *labels)
{
    if (!selector || selector->kind != ES_NODE_MAP || selector->n == 0) return false;
    if (!labels || labels->kind != ES_NODE_MAP) return false;
    for (size_t i = 0; i < selector->n; i++) {
        const es_node_t *v = es_map_get(labels, selector->keys[i]);
        const es_node_t *want = selector->items[i];
        if (!v || v->kind != ES_NODE_SCALAR || want->kind != ES_NODE_SCALAR || strcmp(v->str, want->str) != 0)
            return false;
    }
    return true;
}

void esi_mf_format_labels(char *buf, size_t size, const es_node_t *sel)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; sel && sel->kind == ES_NODE_MAP && i < sel->n; i++) {
        const char *v = sel->items[i]->kind == ES_NODE_SCALAR ? sel->items[i]->str : "?";
        int w = snprintf(buf + used, size - used, "%s%s=%s", i ? "," : "", sel->keys[i], v);
        if (w < 0 || (size_t)w >= size - used) break;
        used += (size_t)w;
    }
}

/* ---- classifying and checking objects ---- */

typedef struct kind_info {
    const char *name;
    kind_t      kind;
    const char *apis[3];
} kind_info_t;

static const kind_info_t k_kinds[] = {
    {"Deployment", K_DEPLOYMENT, {"apps/v1", NULL, NULL}},
    {"Service", K_SERVICE, {"v1", NULL, NULL}},
    {"ConfigMap", K_CONFIGMAP, {"v1", NULL, NULL}},
    {"InferencePool", K_POOL, {"inference.networking.k8s.io/v1", "inference.networking.x-k8s.io/v1alpha2", NULL}},
    {"HTTPRoute", K_ROUTE, {"gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1", NULL}},
    {"InferenceObjective", K_OBJECTIVE, {"inference.networking.x-k8s.io/v1alpha2", NULL, NULL}},
    {"Gateway", K_GATEWAY, {"gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1", NULL}},
};

static int classify(ctx_t *c, const es_doc_t *doc, obj_t *o, char *ignored, size_t ignored_size)
{
    memset(o, 0, sizeof *o);
    o->root = doc->root;
    snprintf(o->label, sizeof o->label, "(object)");
    if (!doc->root || doc->root->kind != ES_NODE_MAP)
        return es_node_err(c->err, ES_EINVAL, doc->root, "", "a manifest document must be a mapping");
    const es_node_t *kind = es_map_get(doc->root, "kind"), *api = es_map_get(doc->root, "apiVersion");
    if (!kind || kind->kind != ES_NODE_SCALAR)
        return es_node_err(c->err, ES_EINVAL, doc->root, "kind", "missing or not a string");
    if (!api || api->kind != ES_NODE_SCALAR)
        return es_node_err(c->err, ES_EINVAL, doc->root, "apiVersion", "missing or not a string");
    o->kind_name = kind->str;
    o->api = api->str;
    const kind_info_t *info = NULL;
    for (size_t i = 0; i < sizeof k_kinds / sizeof k_kinds[0]; i++)
        if (strcmp(k_kinds[i].name, kind->str) == 0) info = &k_kinds[i];
    if (!info) {
        /* one warning names every ignored kind once */
        char pat[96];
        snprintf(pat, sizeof pat, ", %s,", kind->str);
        char tmp[600];
        snprintf(tmp, sizeof tmp, ", %s,", ignored);
        if (!strstr(tmp, pat)) {
            size_t used = strlen(ignored);
            snprintf(ignored + used, ignored_size - used, "%s%s", used ? ", " : "", kind->str);
        }
        return 0;
    }
    o->kind = info->kind;
    const es_node_t *meta = es_map_get(doc->root, "metadata");
    const es_node_t *name = meta && meta->kind == ES_NODE_MAP ? es_map_get(meta, "name") : NULL;
    if (!name || name->kind != ES_NODE_SCALAR || !*name->str)
        return es_node_err(c->err, ES_EINVAL, meta ? meta : doc->root, "metadata.name", "%s without a name",
                           kind->str);
    /* Kubernetes object names are DNS-1123 subdomains; they become pod
     * names, CSV fields and plot legends, so nothing else may pass */
    size_t nlen = strlen(name->str);
    bool dns = nlen <= 253 && isalnum((unsigned char)name->str[0]) && isalnum((unsigned char)name->str[nlen - 1]);
    for (const char *q = name->str; dns && *q; q++)
        dns = (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-' || *q == '.';
    if (!dns)
        return es_node_err(c->err, ES_EINVAL, name, "metadata.name",
                           "\"%.80s\" is not a Kubernetes name (lowercase letters, digits, '-' and '.', "
                           "starting and ending with a letter or digit, at most 253)", name->str);
    o->name = name->str;
    snprintf(o->label, sizeof o->label, "%s/%s", kind->str, name->str);
    bool api_ok = false;
    for (int i = 0; i < 3 && info->apis[i]; i++) api_ok |= strcmp(info->apis[i], api->str) == 0;
    if (!api_ok)
        return esi_mf_oerr(c, o, api, "apiVersion", "unsupported apiVersion \"%s\" for %s (known: %s%s%s)", api->str,
                    kind->str, info->apis[0], info->apis[1] ? ", " : "", info->apis[1] ? info->apis[1] : "");
    const es_node_t *ns = es_map_get(meta, "namespace");
    o->ns = ns && ns->kind == ES_NODE_SCALAR && *ns->str ? ns->str : "default";
    int rc = esi_mf_check_keys(c, o, doc->root, "", o->kind == K_CONFIGMAP ? k_cm_top_keys : k_top_keys);
    if (!rc) rc = esi_mf_check_keys(c, o, meta, "metadata", esi_mf_meta_keys);
    const es_node_t *labels = es_map_get(meta, "labels");
    if (!rc && labels) rc = esi_mf_expect_map(c, o, labels, "metadata.labels");
    if (!rc && o->kind != K_CONFIGMAP && !es_map_get(doc->root, "spec"))
        rc = esi_mf_oerr(c, o, NULL, "spec", "missing");
    if (!rc && es_map_get(doc->root, "spec")) rc = esi_mf_expect_map(c, o, es_map_get(doc->root, "spec"), "spec");
    return rc;
}

/* ---- driver ---- */

void es_manifest_init(es_manifest_t *m)
{
    memset(m, 0, sizeof *m);
}

void es_manifest_fini(es_manifest_t *m)
{
    for (size_t i = 0; i < m->nwarnings; i++) free(m->warnings[i]);
    free(m->warnings);
    free(m->pool_name);
    es_doc_destroy_all(m->docs, m->ndocs);
    memset(m, 0, sizeof *m);
}

static int apply(ctx_t *c)
{
    es_manifest_t *m = c->m;
    char ignored[512] = "";
    int rc = 0;
    c->objs = calloc(m->ndocs ? m->ndocs : 1, sizeof *c->objs);
    if (!c->objs) return es_err_set(c->err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->ndocs && !rc; i++) {
        if (!m->docs[i]->root) continue;  /* an EPP config parsed later; none yet */
        obj_t o;
        if ((rc = classify(c, m->docs[i], &o, ignored, sizeof ignored))) break;
        if (o.kind == K_OTHER) continue;
        const obj_t *dup = esi_mf_find_obj(c, o.kind, o.ns, o.name);
        if (dup) {
            rc = esi_mf_oerr(c, &o, NULL, "", "defined twice (also at %s:%u)", dup->root->doc->file, dup->root->line);
            break;
        }
        c->objs[c->nobjs++] = o;
    }
    for (size_t i = 0; i < c->nobjs && !rc; i++) {
        const obj_t *o = &c->objs[i];
        if (o->kind == K_DEPLOYMENT) rc = esi_mf_check_deployment(c, o);
        else if (o->kind == K_SERVICE) rc = esi_mf_check_service(c, o);
        else if (o->kind == K_GATEWAY) rc = esi_mf_check_gateway(c, o);
        else if (o->kind == K_CONFIGMAP) {
            const es_node_t *d = es_map_get(o->root, "data");
            if (d) rc = esi_mf_expect_map(c, o, d, "data");
        }
    }
    if (rc) return rc;
    if (*ignored) esi_mf_warn(c, "manifest kinds not simulated (ignored): %s", ignored);

    const obj_t *pool_obj = NULL;
    for (size_t i = 0; i < c->nobjs; i++) {
        if (c->objs[i].kind != K_POOL) continue;
        if (pool_obj)
            return esi_mf_oerr(c, &c->objs[i], NULL, "", "a second InferencePool (first: %s at %s:%u); eppsim simulates one pool",
                        pool_obj->name, pool_obj->root->doc->file, pool_obj->root->line);
        pool_obj = &c->objs[i];
    }
    if (!pool_obj)
        return es_err_set(c->err, ES_ENOTFOUND, "%s: no InferencePool in the manifests (eppsim simulates the pool an InferencePool defines)",
                          m->ndocs ? m->docs[0]->file : "manifests");
    pool_t p;
    if ((rc = esi_mf_read_pool(c, pool_obj, &p))) return rc;
    if (strlen(p.o->name) > ES_POOL_NAME_MAX)   /* pods are <pool>-<i>: one DNS label */
        return esi_mf_oerr(c, p.o, NULL, "metadata.name", "longer than %d characters (pods are named <pool>-<index> "
                           "in the 63 of a Kubernetes label)", ES_POOL_NAME_MAX);
    if (!(m->pool_name = strdup(p.o->name))) return es_err_set(c->err, ES_ENOMEM, "out of memory");
    /* an experiment without a name is named after the pool: its runs do not
     * share out/default-seed<N> with the built-in default's */
    if (!c->exp->root || !es_map_get(c->exp->root, "name")) {
        es_node_t *name = esi_mf_scalar_at(pool_obj->root, p.o->name, true);
        if (!name || es_doc_set_path(c->exp, "name", name, c->err)) return name ? c->err->code : ES_ENOMEM;
    }
    /* failureMode: the Kubernetes default FailClose when the pool omits it */
    const es_node_t *fm_at = p.failure_mode ? p.failure_mode : p.epp_ref_node;
    if ((rc = esi_mf_set_key(c, "gateway.failure_mode", esi_mf_scalar_at(fm_at, p.failure_mode ? p.failure_mode->str : "FailClose", true))))
        return rc;
    if ((rc = esi_mf_read_servers(c, &p)) || (rc = esi_mf_read_epp(c, &p)) || (rc = esi_mf_read_objectives(c, &p))) return rc;
    es_node_t *routes;
    if ((rc = esi_mf_read_routes(c, &p, &routes))) return rc;
    if (routes) {
        if ((rc = esi_mf_choose_workload_path(c, routes))) { es_node_destroy(routes); return rc; }
        rc = esi_mf_set_key(c, "gateway.routes", routes);
    } else {
        esi_mf_warn(c, "no HTTPRoute sends traffic to InferencePool/%s; the simulated gateway sends every path to the pool", p.o->name);
    }
    if (!rc && c->noverrides)
        esi_mf_warn(c, "the manifests override experiment keys: %s", c->overrides);
    return rc;
}

int es_manifest_apply_docs(es_manifest_t *m, es_doc_t **docs, size_t ndocs, es_doc_t *exp_doc, es_err_t *err)
{
    ES_ASSERT(m && exp_doc, "manifest and experiment document are required");
    es_err_clear(err);
    for (size_t i = 0; i < ndocs; i++) {
        es_doc_t **d = realloc(m->docs, (m->ndocs + 1) * sizeof *d);
        if (!d) {
            for (size_t j = i; j < ndocs; j++) es_doc_destroy(docs[j]);
            return es_err_set(err, ES_ENOMEM, "out of memory");
        }
        m->docs = d;
        d[m->ndocs++] = docs[i];
    }
    ctx_t c = {.m = m, .exp = exp_doc, .err = err};
    int rc = apply(&c);
    free(c.objs);
    return rc;
}

int es_manifest_apply(es_manifest_t *m, const char *const *paths, size_t npaths, es_doc_t *exp_doc, es_err_t *err)
{
    es_doc_t **all = NULL;
    size_t nall = 0;
    int rc = 0;
    for (size_t i = 0; i < npaths && !rc; i++) {
        es_doc_t **docs;
        size_t n;
        if ((rc = es_doc_load_all(paths[i], &docs, &n, err))) break;
        es_doc_t **grown = realloc(all, (nall + n) * sizeof *grown);
        if (!grown) { es_doc_destroy_all(docs, n); rc = es_err_set(err, ES_ENOMEM, "out of memory"); break; }
        all = grown;
        memcpy(all + nall, docs, n * sizeof *docs);
        nall += n;
        free(docs);
    }
    if (rc) { es_doc_destroy_all(all, nall); return rc; }
    rc = es_manifest_apply_docs(m, all, nall, exp_doc, err);
    free(all);
    return rc;
}
