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

/* ---- objects ---- */

typedef enum kind {
    K_OTHER = 0, K_DEPLOYMENT, K_SERVICE, K_CONFIGMAP, K_POOL, K_ROUTE, K_OBJECTIVE, K_GATEWAY
} kind_t;

typedef struct obj {
    const es_node_t *root;
    kind_t      kind;
    const char *kind_name;
    const char *api;
    const char *name;
    const char *ns;          /* "default" when metadata.namespace is absent */
    char        label[192];  /* "Kind/name", the prefix of every message */
} obj_t;

typedef struct ctx {
    es_manifest_t *m;
    es_doc_t      *exp;
    es_err_t      *err;
    obj_t         *objs;
    size_t         nobjs;
    char           overrides[1024];  /* "key (file:line), ..." for the precedence warning */
    size_t         noverrides;
} ctx_t;

static const char *const k_meta_keys[] = {
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
static int oerr(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field, const char *fmt, ...)
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
static void warn(ctx_t *c, const char *fmt, ...)
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
static const char *join(char *buf, size_t size, const char *base, const char *key)
{
    if (!base || !*base) snprintf(buf, size, "%s", key);
    else if (key[0] == '[') snprintf(buf, size, "%s%s", base, key);
    else snprintf(buf, size, "%s.%s", base, key);
    return buf;
}

/* Strict key check: "file:line: Kind/name: field.key: unknown field (known: ...)". */
static int check_keys(ctx_t *c, const obj_t *o, const es_node_t *map, const char *field,
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
        return oerr(c, o, &pos, join(full, sizeof full, field, map->keys[i]),
                    "unknown field (known: %s)", known);
    }
    return 0;
}

static int expect_map(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field)
{
    if (n && n->kind == ES_NODE_MAP) return 0;
    return oerr(c, o, n, field, "expected a mapping");
}

static int expect_seq(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field)
{
    if (n && n->kind == ES_NODE_SEQ) return 0;
    return oerr(c, o, n, field, "expected a list");
}

/* Reads a scalar as text; NULL with an error when it is not a scalar. */
static const char *text_of(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field)
{
    if (n && n->kind == ES_NODE_SCALAR && !es_node_is_null(n)) return n->str;
    oerr(c, o, n, field, "expected a string");
    return NULL;
}

static int read_i64(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field,
                    int64_t min, int64_t max, int64_t *out)
{
    char path[384];
    snprintf(path, sizeof path, "%s: %s", o->label, field);
    return es_node_to_i64(n, path, min, max, out, c->err);
}

/* ---- building the experiment document ---- */

/* Scalar in the manifest's document at src's position, so that later
 * validation errors point at the manifest line. */
static es_node_t *scalar_at(const es_node_t *src, const char *text, bool quoted)
{
    es_node_t *n = es_node_new_scalar(src->doc, text, quoted);
    if (n) { n->line = src->line; n->col = src->col; }
    return n;
}

/* es_map_set / es_seq_append that own value on every path (NULL = out of memory). */
static int put(es_node_t *map, const char *key, es_node_t *value)
{
    if (!value) return ES_ENOMEM;
    if (es_map_set(map, key, value)) { es_node_destroy(value); return ES_ENOMEM; }
    return 0;
}

static int append(es_node_t *seq, es_node_t *item)
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
static int set_key(ctx_t *c, const char *key, es_node_t *value)
{
    if (!value) return es_err_set(c->err, ES_ENOMEM, "out of memory");
    note_override(c, key);
    return es_doc_set_path(c->exp, key, value, c->err);
}

/* Removes key (a dotted path) from the experiment, noting the override. */
static void remove_key(ctx_t *c, const char *key)
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

static es_manifest_t *keep_doc(ctx_t *c, es_doc_t *doc)
{
    es_manifest_t *m = c->m;
    es_doc_t **d = realloc(m->docs, (m->ndocs + 1) * sizeof *d);
    if (!d) return NULL;
    m->docs = d;
    d[m->ndocs++] = doc;
    return m;
}

/* ---- lookups ---- */

static const obj_t *find_obj(const ctx_t *c, kind_t kind, const char *ns, const char *name)
{
    for (size_t i = 0; i < c->nobjs; i++)
        if (c->objs[i].kind == kind && strcmp(c->objs[i].ns, ns) == 0 && strcmp(c->objs[i].name, name) == 0)
            return &c->objs[i];
    return NULL;
}

/* Every key of selector (a label map) is in labels with the same value. */
static bool labels_match(const es_node_t *selector, const es_node_t *labels)
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

static void format_labels(char *buf, size_t size, const es_node_t *sel)
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
    o->name = name->str;
    snprintf(o->label, sizeof o->label, "%s/%s", kind->str, name->str);
    bool api_ok = false;
    for (int i = 0; i < 3 && info->apis[i]; i++) api_ok |= strcmp(info->apis[i], api->str) == 0;
    if (!api_ok)
        return oerr(c, o, api, "apiVersion", "unsupported apiVersion \"%s\" for %s (known: %s%s%s)", api->str,
                    kind->str, info->apis[0], info->apis[1] ? ", " : "", info->apis[1] ? info->apis[1] : "");
    const es_node_t *ns = es_map_get(meta, "namespace");
    o->ns = ns && ns->kind == ES_NODE_SCALAR && *ns->str ? ns->str : "default";
    int rc = check_keys(c, o, doc->root, "", o->kind == K_CONFIGMAP ? k_cm_top_keys : k_top_keys);
    if (!rc) rc = check_keys(c, o, meta, "metadata", k_meta_keys);
    const es_node_t *labels = es_map_get(meta, "labels");
    if (!rc && labels) rc = expect_map(c, o, labels, "metadata.labels");
    if (!rc && o->kind != K_CONFIGMAP && !es_map_get(doc->root, "spec"))
        rc = oerr(c, o, NULL, "spec", "missing");
    if (!rc && es_map_get(doc->root, "spec")) rc = expect_map(c, o, es_map_get(doc->root, "spec"), "spec");
    return rc;
}

/* ---- Deployments ---- */

static const char *const k_dep_spec[] = {"replicas", "selector", "template", "strategy", "minReadySeconds",
                                          "revisionHistoryLimit", "progressDeadlineSeconds", "paused", NULL};
static const char *const k_label_selector[] = {"matchLabels", "matchExpressions", NULL};
static const char *const k_template[] = {"metadata", "spec", NULL};
static const char *const k_pod_spec[] = {
    "containers", "initContainers", "ephemeralContainers", "volumes", "affinity", "nodeSelector", "nodeName",
    "tolerations", "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "securityContext",
    "terminationGracePeriodSeconds", "activeDeadlineSeconds", "restartPolicy", "dnsPolicy", "dnsConfig",
    "hostNetwork", "hostIPC", "hostPID", "hostUsers", "hostname", "subdomain", "hostAliases", "setHostnameAsFQDN",
    "imagePullSecrets", "priority", "priorityClassName", "preemptionPolicy", "schedulerName", "runtimeClassName",
    "topologySpreadConstraints", "shareProcessNamespace", "enableServiceLinks", "readinessGates", "overhead", "os",
    "resourceClaims", "schedulingGates", "resources", NULL};
static const char *const k_container[] = {
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "resizePolicy",
    "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe",
    "lifecycle", "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext",
    "stdin", "stdinOnce", "tty", NULL};
static const char *const k_probe[] = {"exec", "httpGet", "tcpSocket", "grpc", "initialDelaySeconds",
                                       "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold",
                                       "terminationGracePeriodSeconds", NULL};
static const char *const k_mount[] = {"name", "mountPath", "subPath", "subPathExpr", "readOnly",
                                       "recursiveReadOnly", "mountPropagation", NULL};
static const char *const k_cm_volume[] = {"name", "items", "defaultMode", "optional", NULL};
static const char *const k_key_path[] = {"key", "path", "mode", NULL};

static int check_string_list(ctx_t *c, const obj_t *o, const es_node_t *seq, const char *field)
{
    int rc = expect_seq(c, o, seq, field);
    for (size_t i = 0; !rc && i < seq->n; i++)
        if (seq->items[i]->kind != ES_NODE_SCALAR) {
            char f[320], idx[24];
            snprintf(idx, sizeof idx, "[%zu]", i);
            rc = oerr(c, o, seq->items[i], join(f, sizeof f, field, idx), "expected a string");
        }
    return rc;
}

static int check_deployment(ctx_t *c, const obj_t *o)
{
    const es_node_t *spec = es_map_get(o->root, "spec");
    int rc = check_keys(c, o, spec, "spec", k_dep_spec);
    const es_node_t *sel = es_map_get(spec, "selector"), *tpl = es_map_get(spec, "template");
    if (!rc && sel) rc = expect_map(c, o, sel, "spec.selector");
    if (!rc) rc = check_keys(c, o, sel, "spec.selector", k_label_selector);
    if (!rc && !tpl) rc = oerr(c, o, spec, "spec.template", "missing");
    if (!rc) rc = expect_map(c, o, tpl, "spec.template");
    if (!rc) rc = check_keys(c, o, tpl, "spec.template", k_template);
    const es_node_t *tmeta = es_map_get(tpl, "metadata"), *pod = es_map_get(tpl, "spec");
    if (!rc && tmeta) rc = expect_map(c, o, tmeta, "spec.template.metadata");
    if (!rc) rc = check_keys(c, o, tmeta, "spec.template.metadata", k_meta_keys);
    if (!rc && tmeta && es_map_get(tmeta, "labels"))
        rc = expect_map(c, o, es_map_get(tmeta, "labels"), "spec.template.metadata.labels");
    if (!rc && !pod) rc = oerr(c, o, tpl, "spec.template.spec", "missing");
    if (!rc) rc = expect_map(c, o, pod, "spec.template.spec");
    if (!rc) rc = check_keys(c, o, pod, "spec.template.spec", k_pod_spec);
    const es_node_t *ctrs = es_map_get(pod, "containers");
    if (!rc && !ctrs) rc = oerr(c, o, pod, "spec.template.spec.containers", "missing");
    if (!rc) rc = expect_seq(c, o, ctrs, "spec.template.spec.containers");
    for (size_t i = 0; !rc && i < ctrs->n; i++) {
        char f[128], g[256];
        snprintf(f, sizeof f, "spec.template.spec.containers[%zu]", i);
        const es_node_t *ct = ctrs->items[i];
        rc = expect_map(c, o, ct, f);
        if (!rc) rc = check_keys(c, o, ct, f, k_container);
        const char *probes[] = {"readinessProbe", "livenessProbe", "startupProbe"};
        for (int p = 0; !rc && p < 3; p++) {
            const es_node_t *pr = es_map_get(ct, probes[p]);
            if (!pr) continue;
            rc = expect_map(c, o, pr, join(g, sizeof g, f, probes[p]));
            if (!rc) rc = check_keys(c, o, pr, g, k_probe);
        }
        if (!rc && es_map_get(ct, "command")) rc = check_string_list(c, o, es_map_get(ct, "command"), join(g, sizeof g, f, "command"));
        if (!rc && es_map_get(ct, "args")) rc = check_string_list(c, o, es_map_get(ct, "args"), join(g, sizeof g, f, "args"));
        const es_node_t *mounts = es_map_get(ct, "volumeMounts");
        if (!rc && mounts) rc = expect_seq(c, o, mounts, join(g, sizeof g, f, "volumeMounts"));
        for (size_t j = 0; !rc && mounts && j < mounts->n; j++) {
            char h[300];
            snprintf(h, sizeof h, "%s.volumeMounts[%zu]", f, j);
            rc = expect_map(c, o, mounts->items[j], h);
            if (!rc) rc = check_keys(c, o, mounts->items[j], h, k_mount);
        }
    }
    const es_node_t *vols = es_map_get(pod, "volumes");
    if (!rc && vols) rc = expect_seq(c, o, vols, "spec.template.spec.volumes");
    for (size_t j = 0; !rc && vols && j < vols->n; j++) {
        char h[128], g[256];
        snprintf(h, sizeof h, "spec.template.spec.volumes[%zu]", j);
        rc = expect_map(c, o, vols->items[j], h);
        const es_node_t *cm = rc ? NULL : es_map_get(vols->items[j], "configMap");
        if (!cm) continue;
        rc = expect_map(c, o, cm, join(g, sizeof g, h, "configMap"));
        if (!rc) rc = check_keys(c, o, cm, g, k_cm_volume);
        const es_node_t *items = es_map_get(cm, "items");
        if (!rc && items) rc = expect_seq(c, o, items, join(g, sizeof g, h, "configMap.items"));
        for (size_t k = 0; !rc && items && k < items->n; k++) {
            char q[300];
            snprintf(q, sizeof q, "%s.configMap.items[%zu]", h, k);
            rc = expect_map(c, o, items->items[k], q);
            if (!rc) rc = check_keys(c, o, items->items[k], q, k_key_path);
        }
    }
    return rc;
}

static const es_node_t *pod_labels(const obj_t *o)
{
    return es_node_find(o->root, "spec.template.metadata.labels");
}

static int deployment_replicas(ctx_t *c, const obj_t *o, int64_t *out)
{
    const es_node_t *r = es_node_find(o->root, "spec.replicas");
    *out = 1;  /* the Kubernetes default */
    return r ? read_i64(c, o, r, "spec.replicas", 0, 100000, out) : 0;
}

/* ---- container command lines ---- */

typedef struct tok {
    char            *s;
    const es_node_t *n;          /* where it was written */
    char             field[64];  /* "spec.template.spec.containers[i].args" */
} tok_t;

typedef struct toks {
    tok_t *v;
    size_t n, cap;
} toks_t;

static int toks_push(toks_t *t, const char *s, size_t len, const es_node_t *n, const char *field)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        tok_t *v = realloc(t->v, cap * sizeof *v);
        if (!v) return ES_ENOMEM;
        t->v = v; t->cap = cap;
    }
    char *copy = strndup(s, len);
    if (!copy) return ES_ENOMEM;
    t->v[t->n].s = copy;
    snprintf(t->v[t->n].field, sizeof t->v[t->n].field, "%s", field);
    t->v[t->n++].n = n;
    return 0;
}

static void toks_free(toks_t *t)
{
    for (size_t i = 0; i < t->n; i++) free(t->v[i].s);
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* Splits a shell command string into words: quotes, backslash escapes and
 * line continuations; operators (&&, ;, |) become words of their own. */
static int split_shell(toks_t *t, const char *s, const es_node_t *n, const char *field)
{
    char word[1024];
    size_t len = 0;
    bool in_word = false;
    for (const char *p = s;; p++) {
        char ch = *p;
        if (ch == '\0' || isspace((unsigned char)ch) || ch == ';' || ch == '|' || ch == '&') {
            if (in_word && toks_push(t, word, len, n, field)) return ES_ENOMEM;
            in_word = false; len = 0;
            if (ch == '\0') return 0;
            if (ch == ';' || ch == '|' || ch == '&') {
                size_t olen = (p[1] == ch) ? 2 : 1;
                if (toks_push(t, p, olen, n, field)) return ES_ENOMEM;
                p += olen - 1;
            }
            continue;
        }
        in_word = true;
        if (ch == '\\' && p[1]) {
            p++;
            if (*p != '\n' && len < sizeof word - 1) word[len++] = *p;
            continue;
        }
        if (ch == '\'' || ch == '"') {
            const char *q = p + 1;
            while (*q && *q != ch) {
                if (ch == '"' && *q == '\\' && q[1]) q++;
                if (len < sizeof word - 1) word[len++] = *q;
                q++;
            }
            p = *q ? q : q - 1;
            continue;
        }
        if (len < sizeof word - 1) word[len++] = ch;
    }
}

static const char *base_name(const char *s)
{
    const char *slash = strrchr(s, '/');
    return slash ? slash + 1 : s;
}

/* command ++ args of container number `index`; `sh -c "script"` is split into words. */
static int container_tokens(const es_node_t *ct, size_t index, toks_t *t)
{
    toks_t raw = {0};
    const char *lists[] = {"command", "args"};
    int rc = 0;
    for (int l = 0; l < 2 && !rc; l++) {
        const es_node_t *seq = es_map_get(ct, lists[l]);
        char field[64];
        snprintf(field, sizeof field, "spec.template.spec.containers[%zu].%s", index, lists[l]);
        for (size_t i = 0; seq && !rc && i < seq->n; i++)
            rc = toks_push(&raw, seq->items[i]->str, strlen(seq->items[i]->str), seq->items[i], field);
    }
    if (!rc && raw.n >= 3 && strcmp(raw.v[1].s, "-c") == 0 &&
        (!strcmp(base_name(raw.v[0].s), "sh") || !strcmp(base_name(raw.v[0].s), "bash") ||
         !strcmp(base_name(raw.v[0].s), "dash"))) {
        rc = split_shell(t, raw.v[2].s, raw.v[2].n, raw.v[2].field);
        toks_free(&raw);
        return rc;
    }
    *t = raw;
    return rc;
}

static bool is_separator(const char *s)
{
    return !strcmp(s, "&&") || !strcmp(s, "||") || !strcmp(s, ";") || !strcmp(s, "|") || !strcmp(s, "&");
}

/* One parsed flag: "--name=value", "--name value" or a bare "--name". */
typedef struct flag {
    char             name[96];   /* without dashes, '_' turned into '-' */
    const char      *value;      /* NULL for a bare flag */
    const es_node_t *node;
    const char      *field;      /* the container's command or args */
} flag_t;

/* Parses the flag at t->v[*i]; consumes its value when `takes_value` says so
 * (1 yes, 0 no, -1 guess: the next word when it is not a flag). */
static void parse_flag(const toks_t *t, size_t *i, flag_t *f, int (*takes_value)(const char *name))
{
    const char *s = t->v[*i].s;
    while (*s == '-') s++;
    const char *eq = strchr(s, '=');
    size_t len = eq ? (size_t)(eq - s) : strlen(s);
    if (len >= sizeof f->name) len = sizeof f->name - 1;
    memcpy(f->name, s, len);
    f->name[len] = '\0';
    for (char *p = f->name; *p; p++) if (*p == '_') *p = '-';
    f->node = t->v[*i].n;
    f->field = t->v[*i].field;
    f->value = eq ? eq + 1 : NULL;
    if (eq) return;
    int tv = takes_value(f->name);
    if (tv == 0 || *i + 1 >= t->n) return;
    const char *next = t->v[*i + 1].s;
    if (tv < 0 && (next[0] == '-' || is_separator(next))) return;
    f->value = next;
    f->node = t->v[*i + 1].n;
    (*i)++;
}

/* vLLM's human-readable integers: 1k = 1000, 1K = 1024 (also m/M, g/G). */
static bool parse_hr_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno) return false;
    double mult = 1;
    if (*end) {
        switch (*end) {
        case 'k': mult = 1e3; break;
        case 'm': mult = 1e6; break;
        case 'g': mult = 1e9; break;
        case 'K': mult = 1024.0; break;
        case 'M': mult = 1024.0 * 1024.0; break;
        case 'G': mult = 1024.0 * 1024.0 * 1024.0; break;
        default: return false;
        }
        if (end[1]) return false;
    }
    v *= mult;
    if (v < -9e18 || v > 9e18 || v != (double)(int64_t)v) return false;
    *out = (int64_t)v;
    return true;
}

/* Go time.Duration text ("50ms", "1m30s", "0.5s") in milliseconds. */
static bool parse_go_duration_ms(const char *s, double *out)
{
    double total = 0;
    const char *p = s;
    if (!*p) return false;
    if (!strcmp(p, "0")) { *out = 0; return true; }
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || v < 0) return false;
        p = end;
        double unit;
        if (!strncmp(p, "ns", 2)) { unit = 1e-6; p += 2; }
        else if (!strncmp(p, "us", 2)) { unit = 1e-3; p += 2; }
        else if (!strncmp(p, "\xc2\xb5s", 3)) { unit = 1e-3; p += 3; }
        else if (!strncmp(p, "ms", 2)) { unit = 1; p += 2; }
        else if (*p == 's') { unit = 1e3; p += 1; }
        else if (*p == 'm') { unit = 60e3; p += 1; }
        else if (*p == 'h') { unit = 3600e3; p += 1; }
        else return false;
        total += v * unit;
    }
    *out = total;
    return true;
}

/* ---- vLLM model servers ---- */

typedef enum vtype { V_INT, V_HRINT, V_DOUBLE, V_STR, V_BOOL } vtype_t;

typedef struct vflag {
    const char *flag;   /* normalised name */
    const char *key;    /* experiment key, NULL = handled specially */
    vtype_t     type;
} vflag_t;

static const vflag_t k_vllm_flags[] = {
    {"max-num-seqs", "server.max_num_seqs", V_INT},
    {"max-num-batched-tokens", "server.max_num_batched_tokens", V_HRINT},
    {"gpu-memory-utilization", "server.gpu_memory_utilization", V_DOUBLE},
    {"block-size", "server.block_size", V_INT},
    {"max-model-len", "server.max_model_len", V_HRINT},
    {"tensor-parallel-size", "server.tensor_parallel", V_INT},
    {"tp", "server.tensor_parallel", V_INT},
    {"long-prefill-token-threshold", "server.long_prefill_token_threshold", V_INT},
    {"num-gpu-blocks-override", "server.num_gpu_blocks", V_INT},
    {"scheduling-policy", "server.scheduling_policy", V_STR},
    {"enable-prefix-caching", "server.enable_prefix_caching", V_BOOL},
    {"max-loras", NULL, V_INT},
    {"enable-lora", NULL, V_BOOL},
    {"model", NULL, V_STR},
    {"served-model-name", NULL, V_STR},
};

/* Flags with no bearing on the simulation, accepted silently. */
static const char *const k_vllm_quiet[] = {
    "port", "host", "disable-log-requests", "disable-log-stats", "enable-log-requests", "uvicorn-log-level",
    "api-key", "download-dir", "trust-remote-code", "root-path", "disable-uvicorn-access-log", NULL};

static const vflag_t *vllm_flag(const char *name)
{
    const char *n = strncmp(name, "no-", 3) == 0 ? name + 3 : name;
    for (size_t i = 0; i < sizeof k_vllm_flags / sizeof k_vllm_flags[0]; i++)
        if (strcmp(k_vllm_flags[i].flag, n) == 0) return &k_vllm_flags[i];
    return NULL;
}

static int vllm_takes_value(const char *name)
{
    const vflag_t *f = vllm_flag(name);
    if (f) return f->type == V_BOOL ? 0 : 1;
    return -1;
}

/* What the model-server Deployments say, merged (first value wins). */
typedef struct server_info {
    es_node_t *values[sizeof k_vllm_flags / sizeof k_vllm_flags[0]];  /* keyed by table index */
    const char *value_from[sizeof k_vllm_flags / sizeof k_vllm_flags[0]];
    char        model[256];          /* --model / positional */
    const es_node_t *model_node;
    char        served[256];         /* first --served-model-name */
    const es_node_t *served_node;
    bool        enable_lora;
    int64_t     max_loras;           /* -1 = not given */
    const es_node_t *lora_node;
    double      readiness_s;         /* -1 = no readinessProbe */
    const es_node_t *readiness_node;
} server_info_t;

static bool is_vllm_container(const es_node_t *ct, const toks_t *t)
{
    const es_node_t *img = es_map_get(ct, "image");
    if (img && img->kind == ES_NODE_SCALAR && strstr(img->str, "vllm")) return true;
    for (size_t i = 0; i < t->n; i++) {
        if (!strcmp(base_name(t->v[i].s), "vllm") || strstr(t->v[i].s, "vllm.entrypoints")) return true;
        if (t->v[i].s[0] == '-') {
            flag_t f;
            size_t j = i;
            parse_flag(t, &j, &f, vllm_takes_value);
            const vflag_t *vf = vllm_flag(f.name);
            if (vf && vf->key) return true;
        }
    }
    return false;
}

static int vllm_value(ctx_t *c, const obj_t *o, const vflag_t *vf, const flag_t *f, es_node_t **out)
{
    char text[64];
    const char *fname = f->field;
    if (vf->type == V_BOOL) {
        bool v = strncmp(f->name, "no-", 3) != 0;
        if (f->value) {
            if (!strcmp(f->value, "false") || !strcmp(f->value, "False")) v = !v;
            else if (strcmp(f->value, "true") && strcmp(f->value, "True"))
                return oerr(c, o, f->node, fname, "--%s: expected true or false, got \"%s\"", f->name, f->value);
        }
        *out = scalar_at(f->node, v ? "true" : "false", false);
    } else if (!f->value) {
        return oerr(c, o, f->node, fname, "--%s needs a value", f->name);
    } else if (vf->type == V_INT || vf->type == V_HRINT) {
        int64_t v = 0;
        bool ok;
        if (vf->type == V_HRINT) {
            ok = parse_hr_int(f->value, &v);
        } else {
            char *end;
            errno = 0;
            v = strtoll(f->value, &end, 10);
            ok = *end == '\0' && end != f->value && !errno;
        }
        if (!ok) return oerr(c, o, f->node, fname, "--%s: expected an integer, got \"%s\"", f->name, f->value);
        snprintf(text, sizeof text, "%lld", (long long)v);
        *out = scalar_at(f->node, text, false);
    } else if (vf->type == V_DOUBLE) {
        char *end;
        errno = 0;
        strtod(f->value, &end);
        if (end == f->value || *end || errno)
            return oerr(c, o, f->node, fname, "--%s: expected a number, got \"%s\"", f->name, f->value);
        *out = scalar_at(f->node, f->value, false);
    } else {
        *out = scalar_at(f->node, f->value, true);
    }
    return *out ? 0 : es_err_set(c->err, ES_ENOMEM, "out of memory");
}

static int read_server_container(ctx_t *c, const obj_t *o, const es_node_t *ct, const toks_t *t,
                                 server_info_t *si)
{
    /* parse after "vllm serve" / the api_server module when present */
    size_t start = 0;
    bool after_serve = false;
    for (size_t i = 0; i < t->n; i++) {
        if (!strcmp(base_name(t->v[i].s), "vllm") && i + 1 < t->n && !strcmp(t->v[i + 1].s, "serve")) {
            start = i + 2; after_serve = true; break;
        }
        if (strstr(t->v[i].s, "vllm.entrypoints")) { start = i + 1; break; }
    }
    char unknown[512] = "";
    for (size_t i = start; i < t->n; i++) {
        const char *s = t->v[i].s;
        if (is_separator(s)) break;
        if (s[0] != '-') {
            if (after_serve && !si->model_node) {
                snprintf(si->model, sizeof si->model, "%s", s);
                si->model_node = t->v[i].n;
            }
            continue;
        }
        flag_t f;
        parse_flag(t, &i, &f, vllm_takes_value);
        const vflag_t *vf = vllm_flag(f.name);
        if (!vf) {
            const char *const *q = k_vllm_quiet;
            while (*q && strcmp(*q, f.name)) q++;
            if (!*q) {
                size_t used = strlen(unknown);
                snprintf(unknown + used, sizeof unknown - used, "%s--%s", used ? ", " : "", f.name);
            }
            continue;
        }
        size_t idx = (size_t)(vf - k_vllm_flags);
        if (!strcmp(vf->flag, "served-model-name")) {
            if (!f.value) return oerr(c, o, f.node, f.field, "--served-model-name needs a value");
            if (!si->served_node) { snprintf(si->served, sizeof si->served, "%s", f.value); si->served_node = f.node; }
            while (i + 1 < t->n && t->v[i + 1].s[0] != '-' && !is_separator(t->v[i + 1].s)) i++;  /* nargs '+' */
            continue;
        }
        if (!strcmp(vf->flag, "model")) {
            if (!f.value) return oerr(c, o, f.node, f.field, "--model needs a value");
            if (!si->model_node) { snprintf(si->model, sizeof si->model, "%s", f.value); si->model_node = f.node; }
            continue;
        }
        es_node_t *v = NULL;
        int rc = vllm_value(c, o, vf, &f, &v);
        if (rc) return rc;
        if (!strcmp(vf->flag, "enable-lora")) {
            si->enable_lora = strcmp(v->str, "true") == 0;
            es_node_destroy(v);
            continue;
        }
        if (!strcmp(vf->flag, "max-loras")) {
            si->max_loras = strtoll(v->str, NULL, 10);
            si->lora_node = f.node;
            es_node_destroy(v);
            continue;
        }
        if (vf->type == V_INT && !strcmp(vf->key, "server.tensor_parallel")) idx = (size_t)(vllm_flag("tensor-parallel-size") - k_vllm_flags);
        if (!si->values[idx]) {
            si->values[idx] = v;
            si->value_from[idx] = o->name;
        } else {
            if (strcmp(si->values[idx]->str, v->str) != 0)
                warn(c, "%s: --%s %s differs from Deployment/%s (%s); the simulation gives every pod %s", o->label,
                     f.name, v->str, si->value_from[idx], si->values[idx]->str, si->values[idx]->str);
            es_node_destroy(v);
        }
    }
    if (*unknown) warn(c, "%s: vLLM flags not simulated (ignored): %s", o->label, unknown);
    const es_node_t *probe = es_map_get(ct, "readinessProbe");
    if (probe && si->readiness_s < 0) {
        const es_node_t *d = es_map_get(probe, "initialDelaySeconds");
        int64_t v = 0;
        int rc = d ? read_i64(c, o, d, "spec.template.spec.containers[].readinessProbe.initialDelaySeconds", 0,
                              100000000, &v) : 0;
        if (rc) return rc;
        si->readiness_s = (double)v;
        si->readiness_node = d ? d : probe;
    }
    return 0;
}

/* Profile model names ("llama-3.1-8b") are the GPU profile's objects with a
 * "config"; an HF id maps to one when it is that name with an org prefix,
 * a "Meta-" prefix or an -Instruct/-Chat/-Base/-HF/-it suffix. */
static bool map_model(const char *gpu, const char *hf, char *out, size_t size)
{
    char lower[256], path[1200], rel[300];
    snprintf(lower, sizeof lower, "%s", base_name(hf));
    for (char *p = lower; *p; p++) *p = (char)tolower((unsigned char)*p);
    const char *name = strncmp(lower, "meta-", 5) == 0 ? lower + 5 : lower;
    snprintf(rel, sizeof rel, "profiles/%s.json", gpu);
    es_doc_t *doc;
    es_err_t err;
    if (strchr(gpu, '/') || es_doc_load_file(es_data_path(path, sizeof path, rel), &doc, &err)) return false;
    static const char *const suffixes[] = {"", "-instruct", "-chat", "-base", "-hf", "-it", NULL};
    bool found = false;
    const es_node_t *root = doc->root;
    for (size_t i = 0; root && root->kind == ES_NODE_MAP && i < root->n && !found; i++) {
        if (root->items[i]->kind != ES_NODE_MAP || !es_map_get(root->items[i], "config")) continue;
        size_t kl = strlen(root->keys[i]);
        if (strncmp(name, root->keys[i], kl) != 0) continue;
        for (const char *const *s = suffixes; *s && !found; s++)
            if (!strcmp(name + kl, *s)) {
                snprintf(out, size, "%s", root->keys[i]);
                found = true;
            }
    }
    es_doc_destroy(doc);
    return found;
}

static const char *experiment_gpu(const ctx_t *c)
{
    const es_node_t *g = c->exp->root ? es_node_find(c->exp->root, "server.gpu") : NULL;
    if (g && g->kind == ES_NODE_SCALAR) return g->str;
    void *obj = NULL;
    const es_schema_entry_t *e = es_schema_lookup(&es_experiment_schema, "server.gpu", &obj);
    return e && e->def ? e->def : "";
}

/* ---- the InferencePool ---- */

typedef struct pool {
    const obj_t     *o;
    const es_node_t *selector;       /* label map */
    const char      *epp_service;
    const es_node_t *epp_ref_node;
    int64_t          epp_port;       /* 0 = not given */
    const es_node_t *failure_mode;   /* NULL = default FailClose */
} pool_t;

static const char *const k_pool_v1_spec[] = {"selector", "targetPorts", "endpointPickerRef", NULL};
static const char *const k_pool_v1_sel[] = {"matchLabels", NULL};
static const char *const k_pool_v1_ref[] = {"group", "kind", "name", "port", "failureMode", NULL};
static const char *const k_port[] = {"number", NULL};
static const char *const k_pool_a2_spec[] = {"selector", "targetPortNumber", "extensionRef", NULL};
static const char *const k_pool_a2_ref[] = {"group", "kind", "name", "portNumber", "failureMode", NULL};
static const char *const k_failure_modes[] = {"FailClose", "FailOpen", NULL};

static int read_pool(ctx_t *c, const obj_t *o, pool_t *p)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    const es_node_t *spec = es_map_get(o->root, "spec");
    bool v1 = strcmp(o->api, "inference.networking.k8s.io/v1") == 0;
    int rc = check_keys(c, o, spec, "spec", v1 ? k_pool_v1_spec : k_pool_a2_spec);
    if (rc) return rc;
    const char *ref_field = v1 ? "spec.endpointPickerRef" : "spec.extensionRef";
    const es_node_t *sel = es_map_get(spec, "selector");
    const es_node_t *ref = es_map_get(spec, v1 ? "endpointPickerRef" : "extensionRef");
    if (!sel) return oerr(c, o, spec, "spec.selector", "missing");
    if ((rc = expect_map(c, o, sel, "spec.selector"))) return rc;
    if (v1) {
        if ((rc = check_keys(c, o, sel, "spec.selector", k_pool_v1_sel))) return rc;
        sel = es_map_get(sel, "matchLabels");
        if (!sel) return oerr(c, o, es_map_get(spec, "selector"), "spec.selector.matchLabels", "missing");
        if ((rc = expect_map(c, o, sel, "spec.selector.matchLabels"))) return rc;
    }
    if (sel->n == 0) return oerr(c, o, sel, "spec.selector", "selects no labels");
    p->selector = sel;
    int64_t port = 0;
    if (v1) {
        const es_node_t *tp = es_map_get(spec, "targetPorts");
        if (!tp) return oerr(c, o, spec, "spec.targetPorts", "missing");
        if ((rc = expect_seq(c, o, tp, "spec.targetPorts"))) return rc;
        if (tp->n != 1) return oerr(c, o, tp, "spec.targetPorts", "exactly one port is allowed, got %zu", tp->n);
        if ((rc = expect_map(c, o, tp->items[0], "spec.targetPorts[0]"))) return rc;
        if ((rc = check_keys(c, o, tp->items[0], "spec.targetPorts[0]", k_port))) return rc;
        const es_node_t *num = es_map_get(tp->items[0], "number");
        if (!num) return oerr(c, o, tp->items[0], "spec.targetPorts[0].number", "missing");
        if ((rc = read_i64(c, o, num, "spec.targetPorts[0].number", 1, 65535, &port))) return rc;
    } else {
        const es_node_t *num = es_map_get(spec, "targetPortNumber");
        if (!num) return oerr(c, o, spec, "spec.targetPortNumber", "missing");
        if ((rc = read_i64(c, o, num, "spec.targetPortNumber", 1, 65535, &port))) return rc;
    }
    if (!ref) return oerr(c, o, spec, ref_field, "missing: the pool needs an endpoint picker");
    char f[128];
    if ((rc = expect_map(c, o, ref, ref_field))) return rc;
    if ((rc = check_keys(c, o, ref, ref_field, v1 ? k_pool_v1_ref : k_pool_a2_ref))) return rc;
    const es_node_t *kind = es_map_get(ref, "kind"), *group = es_map_get(ref, "group");
    if (kind && (kind->kind != ES_NODE_SCALAR || strcmp(kind->str, "Service") != 0))
        return oerr(c, o, kind, join(f, sizeof f, ref_field, "kind"),
                    "only a Service can be the endpoint picker, got \"%s\"", kind->str ? kind->str : "?");
    if (group && (group->kind != ES_NODE_SCALAR || (*group->str && strcmp(group->str, "core") != 0)))
        return oerr(c, o, group, join(f, sizeof f, ref_field, "group"), "must be the core group \"\"");
    const es_node_t *name = es_map_get(ref, "name");
    if (!name) return oerr(c, o, ref, join(f, sizeof f, ref_field, "name"), "missing");
    if (!(p->epp_service = text_of(c, o, name, join(f, sizeof f, ref_field, "name")))) return ES_EINVAL;
    p->epp_ref_node = name;
    if (v1) {
        const es_node_t *pn = es_map_get(ref, "port");
        if (pn) {
            if ((rc = expect_map(c, o, pn, join(f, sizeof f, ref_field, "port")))) return rc;
            if ((rc = check_keys(c, o, pn, f, k_port))) return rc;
            const es_node_t *num = es_map_get(pn, "number");
            if (!num) return oerr(c, o, pn, "spec.endpointPickerRef.port.number", "missing");
            if ((rc = read_i64(c, o, num, "spec.endpointPickerRef.port.number", 1, 65535, &p->epp_port))) return rc;
        } else {
            return oerr(c, o, ref, "spec.endpointPickerRef.port", "missing: required when kind is Service");
        }
    } else {
        const es_node_t *pn = es_map_get(ref, "portNumber");
        p->epp_port = 9002;  /* the v1alpha2 default */
        if (pn && (rc = read_i64(c, o, pn, "spec.extensionRef.portNumber", 1, 65535, &p->epp_port))) return rc;
    }
    const es_node_t *fm = es_map_get(ref, "failureMode");
    if (fm) {
        int which;
        char path[300];
        snprintf(path, sizeof path, "%s: %s.failureMode", o->label, ref_field);
        if ((rc = es_node_to_enum(fm, path, k_failure_modes, &which, c->err))) return rc;
        p->failure_mode = fm;
    }
    return 0;
}

/* ---- EPP: Service, Deployment, flags, ConfigMap ---- */

static const char *const k_svc_spec[] = {
    "selector", "ports", "type", "clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "sessionAffinity",
    "sessionAffinityConfig", "externalTrafficPolicy", "internalTrafficPolicy", "publishNotReadyAddresses",
    "loadBalancerIP", "loadBalancerSourceRanges", "loadBalancerClass", "externalIPs", "externalName",
    "healthCheckNodePort", "allocateLoadBalancerNodePorts", "trafficDistribution", NULL};
static const char *const k_svc_port[] = {"name", "protocol", "port", "targetPort", "nodePort", "appProtocol", NULL};

static int check_service(ctx_t *c, const obj_t *o)
{
    const es_node_t *spec = es_map_get(o->root, "spec");
    int rc = check_keys(c, o, spec, "spec", k_svc_spec);
    const es_node_t *sel = es_map_get(spec, "selector"), *ports = es_map_get(spec, "ports");
    if (!rc && sel) rc = expect_map(c, o, sel, "spec.selector");
    if (!rc && ports) rc = expect_seq(c, o, ports, "spec.ports");
    for (size_t i = 0; !rc && ports && i < ports->n; i++) {
        char f[64];
        snprintf(f, sizeof f, "spec.ports[%zu]", i);
        rc = expect_map(c, o, ports->items[i], f);
        if (!rc) rc = check_keys(c, o, ports->items[i], f, k_svc_port);
    }
    return rc;
}

/* Known EPP flags (GIE cmd/epp runner); those without a value are listed in
 * k_epp_bool.  Unknown flags are warned about, not rejected: upstream adds flags. */
static const char *const k_epp_known[] = {
    "pool-name", "pool-namespace", "pool-group", "config-file", "config-text", "refresh-metrics-interval",
    "refresh-prometheus-metrics-interval", "metrics-staleness-threshold", "v", "zap-encoder", "zap-log-level",
    "zap-devel", "zap-stacktrace-level", "zap-time-encoding", "grpc-port", "grpc-health-port", "metrics-port",
    "secure-serving", "health-checking", "cert-path", "enable-pprof", "tracing", "ha-enable-leader-election",
    "metrics-endpoint-auth", "total-queued-requests-metric", "total-running-requests-metric",
    "kv-cache-usage-percentage-metric", "lora-info-metric", "cache-info-metric", "model-server-metrics-port",
    "model-server-metrics-path", "model-server-metrics-scheme", "model-server-metrics-https-insecure-skip-verify",
    "endpoint-selector", "endpoint-target-ports", "disable-endpoint-subset-filter", "kubeconfig", NULL};
static const char *const k_epp_bool[] = {
    "secure-serving", "health-checking", "enable-pprof", "tracing", "ha-enable-leader-election",
    "metrics-endpoint-auth", "model-server-metrics-https-insecure-skip-verify", "disable-endpoint-subset-filter",
    "zap-devel", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++) if (!strcmp(*list, s)) return true;
    return false;
}

static int epp_takes_value(const char *name)
{
    if (in_list(k_epp_bool, name)) return 0;
    return in_list(k_epp_known, name) ? 1 : -1;
}

/* Shifts every line of a parsed embedded document so it names manifest lines. */
static void shift_lines(es_node_t *n, uint32_t by)
{
    if (!n) return;
    n->line += by;
    for (size_t i = 0; i < n->n; i++) {
        if (n->key_lines) n->key_lines[i] += by;
        shift_lines(n->items[i], by);
    }
}

/* Parses an EndpointPickerConfig embedded in a manifest scalar (ConfigMap
 * data or --config-text) and sets it as epp.config; its lines are the
 * manifest's.  A multi-line scalar is a block scalar whose text starts on
 * the line after its indicator; a one-line scalar starts on its own line. */
static int set_epp_config(ctx_t *c, const obj_t *o, const es_node_t *text, const char *what)
{
    const char *file = text->doc ? text->doc->file : "<input>";
    uint32_t shift = strchr(text->str, '\n') ? text->line : text->line - 1;
    es_doc_t *doc;
    es_err_t perr;
    if (es_doc_load_string(file, text->str, strlen(text->str), &doc, &perr)) {
        /* "file:REL: msg" from the loader becomes "file:ABS: Kind/name: what: msg" */
        size_t flen = strlen(file);
        const char *msg = perr.msg;
        unsigned long rel = 0;
        if (!strncmp(msg, file, flen) && msg[flen] == ':') {
            char *end;
            rel = strtoul(msg + flen + 1, &end, 10);
            msg = *end == ':' ? end + 1 : end;
            while (*msg == ' ') msg++;
        }
        es_node_t pos = *text;
        pos.line = (uint32_t)(shift + rel);
        return es_node_err(c->err, ES_EPARSE, &pos, o->label, "%s: EndpointPickerConfig: %s", what, msg);
    }
    if (!keep_doc(c, doc)) { es_doc_destroy(doc); return es_err_set(c->err, ES_ENOMEM, "out of memory"); }
    if (!doc->root || doc->root->kind != ES_NODE_MAP)
        return oerr(c, o, text, what, "the EndpointPickerConfig must be a YAML mapping");
    shift_lines(doc->root, shift);
    es_node_t *root = doc->root;
    doc->root = NULL;  /* moves into the experiment; the doc (its file name) stays alive in m */
    remove_key(c, "epp.config_file");
    return set_key(c, "epp.config", root);
}

/* --config-file PATH inside the EPP container -> volumeMount -> volume ->
 * ConfigMap -> data key. */
static int resolve_config_file(ctx_t *c, const obj_t *dep, const es_node_t *ct, const flag_t *f)
{
    const char *path = f->value;
    const es_node_t *mounts = es_map_get(ct, "volumeMounts"), *best = NULL;
    size_t best_len = 0;
    const char *rel = NULL;
    for (size_t i = 0; mounts && i < mounts->n; i++) {
        const es_node_t *mp = es_map_get(mounts->items[i], "mountPath");
        if (!mp || mp->kind != ES_NODE_SCALAR) continue;
        size_t len = strlen(mp->str);
        while (len > 1 && mp->str[len - 1] == '/') len--;
        const es_node_t *sub = es_map_get(mounts->items[i], "subPath");
        bool hit;
        const char *r;
        if (sub) {  /* a subPath mount is the file itself */
            hit = strlen(path) == len && !strncmp(path, mp->str, len);
            r = sub->str;
        } else {
            hit = !strncmp(path, mp->str, len) && (path[len] == '/' || (len == 1 && path[0] == '/'));
            r = path + (len == 1 ? 1 : len + 1);
        }
        if (hit && len >= best_len) { best = mounts->items[i]; best_len = len; rel = r; }
    }
    if (!best)
        return oerr(c, dep, f->node, f->field, "--config-file %s: no volumeMount of the EPP container holds this path", path);
    const char *vname = es_map_get(best, "name") ? es_map_get(best, "name")->str : "";
    const es_node_t *vols = es_node_find(dep->root, "spec.template.spec.volumes"), *vol = NULL;
    for (size_t i = 0; vols && i < vols->n; i++) {
        const es_node_t *n = es_map_get(vols->items[i], "name");
        if (n && n->kind == ES_NODE_SCALAR && !strcmp(n->str, vname)) vol = vols->items[i];
    }
    if (!vol)
        return oerr(c, dep, best, "spec.template.spec.volumes", "no volume named \"%s\" (mounted at the --config-file path)", vname);
    const es_node_t *cmv = es_map_get(vol, "configMap");
    if (!cmv)
        return es_err_set(c->err, ES_EUNSUPP, "%s:%u: %s: spec.template.spec.volumes: volume \"%s\" is not a configMap; eppsim reads the EndpointPickerConfig from a ConfigMap (or --config-text)",
                          vol->doc->file, vol->line, dep->label, vname);
    const es_node_t *cmname = es_map_get(cmv, "name");
    if (!cmname || cmname->kind != ES_NODE_SCALAR)
        return oerr(c, dep, cmv, "spec.template.spec.volumes[].configMap.name", "missing");
    const char *key = rel;
    const es_node_t *items = es_map_get(cmv, "items");
    if (items) {
        key = NULL;
        for (size_t i = 0; i < items->n; i++) {
            const es_node_t *p = es_map_get(items->items[i], "path"), *k = es_map_get(items->items[i], "key");
            if (p && k && p->kind == ES_NODE_SCALAR && k->kind == ES_NODE_SCALAR && !strcmp(p->str, rel)) key = k->str;
        }
        if (!key)
            return oerr(c, dep, items, "spec.template.spec.volumes[].configMap.items", "no item has path \"%s\" (from --config-file %s)", rel, path);
    }
    const obj_t *cm = find_obj(c, K_CONFIGMAP, dep->ns, cmname->str);
    if (!cm)
        return es_err_set(c->err, ES_ENOTFOUND, "%s:%u: %s: spec.template.spec.volumes: ConfigMap \"%s\" not found in namespace %s (it holds --config-file %s)",
                          cmname->doc->file, cmname->line, dep->label, cmname->str, dep->ns, path);
    const es_node_t *data = es_map_get(cm->root, "data");
    const es_node_t *val = data && data->kind == ES_NODE_MAP ? es_map_get(data, key) : NULL;
    if (!val) {
        char keys[256] = "";
        format_labels(keys, sizeof keys, data);
        return es_err_set(c->err, ES_ENOTFOUND, "%s:%u: %s: data: no key \"%s\" (the EPP reads --config-file %s)",
                          cm->root->doc->file, data ? data->line : cm->root->line, cm->label, key, path);
    }
    if (val->kind != ES_NODE_SCALAR) return oerr(c, cm, val, "data", "\"%s\" must be a string", key);
    char what[300];
    snprintf(what, sizeof what, "data.%s", key);
    return set_epp_config(c, cm, val, what);
}

static int read_epp(ctx_t *c, const pool_t *p)
{
    const obj_t *svc = find_obj(c, K_SERVICE, p->o->ns, p->epp_service);
    if (!svc)
        return es_err_set(c->err, ES_ENOTFOUND, "%s:%u: %s: endpoint picker Service \"%s\" not found in namespace %s",
                          p->epp_ref_node->doc->file, p->epp_ref_node->line, p->o->label, p->epp_service, p->o->ns);
    const es_node_t *ports = es_node_find(svc->root, "spec.ports");
    bool port_ok = false;
    for (size_t i = 0; ports && i < ports->n; i++) {
        const es_node_t *pn = es_map_get(ports->items[i], "port");
        if (pn && pn->kind == ES_NODE_SCALAR && strtoll(pn->str, NULL, 10) == p->epp_port) port_ok = true;
    }
    if (!port_ok)
        return es_err_set(c->err, ES_EINVAL, "%s:%u: %s: endpoint picker port %lld is not a port of Service/%s",
                          p->epp_ref_node->doc->file, p->epp_ref_node->line, p->o->label, (long long)p->epp_port,
                          svc->name);
    const es_node_t *sel = es_node_find(svc->root, "spec.selector");
    if (!sel || sel->n == 0) return oerr(c, svc, sel, "spec.selector", "the endpoint picker Service needs a selector");
    const obj_t *dep = NULL;
    for (size_t i = 0; i < c->nobjs; i++) {
        const obj_t *o = &c->objs[i];
        if (o->kind != K_DEPLOYMENT || strcmp(o->ns, svc->ns) || !labels_match(sel, pod_labels(o))) continue;
        if (dep) return oerr(c, svc, sel, "spec.selector", "selects two Deployments (%s, %s); eppsim runs one EPP Deployment", dep->name, o->name);
        dep = o;
    }
    char labels[256];
    format_labels(labels, sizeof labels, sel);
    if (!dep) return es_err_set(c->err, ES_ENOTFOUND, "%s:%u: %s: spec.selector: no Deployment's pods match %s (the endpoint picker)", sel->doc->file, sel->line, svc->label, labels);
    int64_t replicas;
    int rc = deployment_replicas(c, dep, &replicas);
    if (rc) return rc;
    if (replicas < 1) return oerr(c, dep, es_node_find(dep->root, "spec.replicas"), "spec.replicas", "the endpoint picker needs at least one replica");
    const es_node_t *r = es_node_find(dep->root, "spec.replicas");
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)replicas);
    if ((rc = set_key(c, "epp.replicas", scalar_at(r ? r : dep->root, num, false)))) return rc;

    /* the EPP container: the one given --pool-name, else the only one */
    const es_node_t *ctrs = es_node_find(dep->root, "spec.template.spec.containers"), *ct = NULL;
    toks_t t = {0};
    for (size_t i = 0; i < ctrs->n && !ct; i++) {
        toks_t ti = {0};
        if (container_tokens(ctrs->items[i], i, &ti)) { toks_free(&ti); return es_err_set(c->err, ES_ENOMEM, "out of memory"); }
        for (size_t k = 0; k < ti.n; k++)
            if (!strncmp(ti.v[k].s, "--pool-name", 11) || !strncmp(ti.v[k].s, "-pool-name", 10)) ct = ctrs->items[i];
        if (ct) t = ti; else toks_free(&ti);
    }
    if (!ct) {
        if (ctrs->n != 1) return oerr(c, dep, ctrs, "spec.template.spec.containers", "no container is given --pool-name");
        ct = ctrs->items[0];
        if (container_tokens(ct, 0, &t)) { toks_free(&t); return es_err_set(c->err, ES_ENOMEM, "out of memory"); }
    }
    char unknown[512] = "";
    const flag_t *cfg_file = NULL, *cfg_text = NULL;
    flag_t cf = {0}, ctx_text = {0};
    bool named_pool = false;
    for (size_t i = 0; i < t.n && !rc; i++) {
        if (t.v[i].s[0] != '-') continue;
        flag_t f;
        parse_flag(&t, &i, &f, epp_takes_value);
        if (!in_list(k_epp_known, f.name)) {
            size_t used = strlen(unknown);
            snprintf(unknown + used, sizeof unknown - used, "%s--%s", used ? ", " : "", f.name);
            continue;
        }
        if (epp_takes_value(f.name) == 1 && !f.value) {
            rc = oerr(c, dep, f.node, f.field, "--%s needs a value", f.name);
        } else if (!strcmp(f.name, "pool-name")) {
            named_pool = true;
            if (strcmp(f.value, p->o->name) != 0)
                rc = oerr(c, dep, f.node, f.field, "--pool-name \"%s\" does not name the InferencePool \"%s\"", f.value, p->o->name);
        } else if (!strcmp(f.name, "pool-namespace")) {
            if (strcmp(f.value, p->o->ns) != 0)
                rc = oerr(c, dep, f.node, f.field, "--pool-namespace \"%s\" is not the InferencePool's namespace \"%s\"", f.value, p->o->ns);
        } else if (!strcmp(f.name, "config-file")) {
            cf = f; cfg_file = &cf;
        } else if (!strcmp(f.name, "config-text")) {
            ctx_text = f; cfg_text = &ctx_text;
        } else if (!strcmp(f.name, "refresh-metrics-interval")) {
            double ms;
            if (!parse_go_duration_ms(f.value, &ms) || ms <= 0)
                rc = oerr(c, dep, f.node, f.field, "--refresh-metrics-interval: expected a duration such as 50ms, got \"%s\"", f.value);
            else {
                snprintf(num, sizeof num, "%.17g", ms);
                rc = set_key(c, "epp.refresh_interval_ms", scalar_at(f.node, num, false));
            }
        }
    }
    if (!rc && !named_pool) warn(c, "%s: the endpoint picker has no --pool-name; assuming it serves InferencePool/%s", dep->label, p->o->name);
    if (!rc && *unknown) warn(c, "%s: endpoint picker flags not simulated (ignored): %s", dep->label, unknown);
    if (!rc && cfg_file && cfg_text)
        rc = oerr(c, dep, cfg_text->node, cfg_text->field, "--config-file and --config-text are mutually exclusive");
    if (!rc && cfg_file) {
        rc = resolve_config_file(c, dep, ct, cfg_file);
    } else if (!rc && cfg_text) {
        es_node_t tmp = *cfg_text->node;  /* the flag's own scalar carries the text */
        tmp.str = (char *)cfg_text->value;
        rc = set_epp_config(c, dep, &tmp, "--config-text");
    } else if (!rc) {
        /* the manifest's EPP runs the upstream default plugins */
        remove_key(c, "epp.config");
        remove_key(c, "epp.config_file");
    }
    toks_free(&t);
    return rc;
}

/* ---- model servers ---- */

static int read_servers(ctx_t *c, const pool_t *p)
{
    server_info_t si;
    memset(&si, 0, sizeof si);
    si.max_loras = -1;
    si.readiness_s = -1;
    int64_t total = 0, prefill = 0;
    size_t ndeps = 0;
    int rc = 0;
    const obj_t *first = NULL;
    for (size_t i = 0; i < c->nobjs && !rc; i++) {
        const obj_t *o = &c->objs[i];
        if (o->kind != K_DEPLOYMENT || strcmp(o->ns, p->o->ns) || !labels_match(p->selector, pod_labels(o))) continue;
        if (!first) first = o;
        ndeps++;
        int64_t r;
        if ((rc = deployment_replicas(c, o, &r))) break;
        total += r;
        const es_node_t *role = es_map_get(pod_labels(o), "llm-d.ai/role");
        if (role && role->kind == ES_NODE_SCALAR && !strcmp(role->str, "prefill")) prefill += r;
        const es_node_t *ctrs = es_node_find(o->root, "spec.template.spec.containers");
        const es_node_t *server = NULL;
        toks_t t = {0};
        for (size_t k = 0; k < ctrs->n && !server; k++) {
            toks_t tk = {0};
            if (container_tokens(ctrs->items[k], k, &tk)) { toks_free(&tk); rc = es_err_set(c->err, ES_ENOMEM, "out of memory"); break; }
            if (is_vllm_container(ctrs->items[k], &tk)) { server = ctrs->items[k]; t = tk; }
            else toks_free(&tk);
        }
        if (rc) break;
        if (!server) {
            const es_node_t *img = es_map_get(ctrs->items[0], "image");
            warn(c, "%s: no container runs vLLM (image %s); the simulated servers take the experiment's server settings",
                 o->label, img && img->kind == ES_NODE_SCALAR ? img->str : "?");
            /* the readiness delay still applies to whatever serves the pool */
            const es_node_t *probe = es_map_get(ctrs->items[0], "readinessProbe");
            if (probe && si.readiness_s < 0) {
                const es_node_t *d = es_map_get(probe, "initialDelaySeconds");
                int64_t v = 0;
                if (d && (rc = read_i64(c, o, d, "spec.template.spec.containers[0].readinessProbe.initialDelaySeconds", 0, 100000000, &v))) break;
                si.readiness_s = (double)v;
                si.readiness_node = d ? d : probe;
            }
            continue;
        }
        rc = read_server_container(c, o, server, &t, &si);
        toks_free(&t);
    }
    if (!rc && ndeps == 0) {
        char labels[256];
        format_labels(labels, sizeof labels, p->selector);
        rc = es_err_set(c->err, ES_ENOTFOUND, "%s:%u: %s: spec.selector: no Deployment in namespace %s has pods labelled %s",
                        p->selector->doc->file, p->selector->line, p->o->label, p->o->ns, labels);
    }
    if (!rc && total < 1)
        rc = oerr(c, first, es_node_find(first->root, "spec.replicas"), "spec.replicas", "the InferencePool has no pods (replicas 0)");
    char num[48];
    const es_node_t *where = first ? es_node_find(first->root, "spec.replicas") : NULL;
    if (!where && first) where = first->root;
    if (!rc) {
        snprintf(num, sizeof num, "%lld", (long long)total);
        rc = set_key(c, "cluster.replicas", scalar_at(where, num, false));
    }
    if (!rc && prefill > 0) {
        snprintf(num, sizeof num, "%lld", (long long)prefill);
        rc = set_key(c, "cluster.prefill_replicas", scalar_at(where, num, false));
    }
    if (!rc && si.readiness_s >= 0) {
        snprintf(num, sizeof num, "%.17g", si.readiness_s);
        rc = set_key(c, "cluster.readiness_delay_s", scalar_at(si.readiness_node, num, false));
    }
    for (size_t i = 0; i < sizeof si.values / sizeof si.values[0]; i++) {
        if (!si.values[i]) continue;
        if (!rc) rc = set_key(c, k_vllm_flags[i].key, si.values[i]);
        else es_node_destroy(si.values[i]);
        si.values[i] = NULL;
    }
    if (!rc && si.enable_lora) {
        snprintf(num, sizeof num, "%lld", (long long)(si.max_loras > 0 ? si.max_loras : 1));  /* vLLM's default 1 */
        rc = set_key(c, "server.max_loras", scalar_at(si.lora_node ? si.lora_node : where, num, false));
    }
    if (!rc && si.model_node) {
        char prof[128];
        const char *gpu = experiment_gpu(c);
        if (map_model(gpu, si.model, prof, sizeof prof))
            rc = set_key(c, "server.model", scalar_at(si.model_node, prof, true));
        else
            warn(c, "vLLM model \"%s\" has no step-time table in GPU profile %s; server.model stays as the experiment says",
                 si.model, gpu);
        const char *req_model = si.served_node ? si.served : si.model;
        const es_node_t *wm = c->exp->root ? es_node_find(c->exp->root, "workload.model") : NULL;
        if (!rc && !wm)
            rc = set_key(c, "workload.model", scalar_at(si.served_node ? si.served_node : si.model_node, req_model, true));
        else if (!rc && wm->kind == ES_NODE_SCALAR && strcmp(wm->str, req_model) != 0)
            warn(c, "%s:%u: workload.model \"%s\" is not the model the pool serves (\"%s\")", wm->doc->file, wm->line,
                 wm->str, req_model);
    }
    return rc;
}

/* ---- HTTPRoutes ---- */

static const char *const k_route_spec[] = {"parentRefs", "hostnames", "rules", "useDefaultGateways", NULL};
static const char *const k_route_rule[] = {"name", "matches", "filters", "backendRefs", "timeouts", "retry",
                                           "sessionPersistence", NULL};
static const char *const k_route_match[] = {"path", "headers", "queryParams", "method", NULL};
static const char *const k_route_path[] = {"type", "value", NULL};
static const char *const k_route_header[] = {"type", "name", "value", NULL};
static const char *const k_backend_ref[] = {"group", "kind", "name", "namespace", "port", "weight", "filters", NULL};
static const char *const k_parent_ref[] = {"group", "kind", "name", "namespace", "sectionName", "port", NULL};
static const char *const k_path_types[] = {"PathPrefix", "Exact", "RegularExpression", NULL};
static const char *const k_header_types[] = {"Exact", "RegularExpression", NULL};

static bool is_pool_ref(const es_node_t *br, const char *route_ns, const pool_t *p)
{
    const es_node_t *g = es_map_get(br, "group"), *k = es_map_get(br, "kind"), *n = es_map_get(br, "name");
    const es_node_t *ns = es_map_get(br, "namespace");
    if (!k || k->kind != ES_NODE_SCALAR || strcmp(k->str, "InferencePool") != 0) return false;
    if (!g || g->kind != ES_NODE_SCALAR ||
        (strcmp(g->str, "inference.networking.k8s.io") && strcmp(g->str, "inference.networking.x-k8s.io")))
        return false;
    const char *ref_ns = ns && ns->kind == ES_NODE_SCALAR ? ns->str : route_ns;
    return n && n->kind == ES_NODE_SCALAR && !strcmp(n->str, p->o->name) && !strcmp(ref_ns, p->o->ns);
}

static es_node_t *path_node(const es_node_t *at, const char *type, const char *value)
{
    es_node_t *m = es_node_new_map(at->doc);
    if (!m) return NULL;
    m->line = at->line;
    if (put(m, "type", scalar_at(at, type, true)) || put(m, "value", scalar_at(at, value, true))) {
        es_node_destroy(m);
        return NULL;
    }
    return m;
}

/* Builds one gateway.routes entry from an HTTPRoute rule. */
static int route_rule(ctx_t *c, const obj_t *o, const es_node_t *rule, const char *field, es_node_t **out)
{
    char f[256], g[320];
    *out = NULL;
    es_node_t *entry = es_node_new_map(rule->doc), *matches = es_node_new_seq(rule->doc);
    if (!entry || !matches) { es_node_destroy(entry); es_node_destroy(matches); return es_err_set(c->err, ES_ENOMEM, "out of memory"); }
    entry->line = matches->line = rule->line;
    int rc = put(entry, "matches", matches);
    const es_node_t *ms = es_map_get(rule, "matches");
    if (!rc && ms) rc = expect_seq(c, o, ms, join(f, sizeof f, field, "matches"));
    if (!rc && (!ms || ms->n == 0)) {  /* no matches: Gateway API's default PathPrefix / */
        es_node_t *m = es_node_new_map(rule->doc);
        rc = append(matches, m);
        if (!rc) rc = put(m, "path", path_node(rule, "PathPrefix", "/"));
    }
    for (size_t i = 0; !rc && ms && i < ms->n; i++) {
        const es_node_t *mt = ms->items[i];
        snprintf(f, sizeof f, "%s.matches[%zu]", field, i);
        if ((rc = expect_map(c, o, mt, f)) || (rc = check_keys(c, o, mt, f, k_route_match))) break;
        if (es_map_get(mt, "queryParams") || es_map_get(mt, "method"))
            warn(c, "%s:%u: %s: %s: queryParams and method matches are not simulated (ignored)", mt->doc->file, mt->line, o->label, f);
        const es_node_t *path = es_map_get(mt, "path");
        const char *type = "PathPrefix", *value = "/";
        if (path) {
            if ((rc = expect_map(c, o, path, join(g, sizeof g, f, "path"))) || (rc = check_keys(c, o, path, g, k_route_path))) break;
            const es_node_t *tn = es_map_get(path, "type"), *vn = es_map_get(path, "value");
            if (tn) {
                int which;
                char p2[400];
                snprintf(p2, sizeof p2, "%s: %s.path.type", o->label, f);
                if ((rc = es_node_to_enum(tn, p2, k_path_types, &which, c->err))) break;
                if (which == 2) {
                    rc = es_err_set(c->err, ES_EUNSUPP, "%s:%u: %s: %s.path.type: RegularExpression paths are not supported (use PathPrefix or Exact)", tn->doc->file, tn->line, o->label, f);
                    break;
                }
                type = k_path_types[which];
            }
            if (vn && !(value = text_of(c, o, vn, join(g, sizeof g, f, "path.value")))) { rc = ES_EINVAL; break; }
            if (value[0] != '/') { rc = oerr(c, o, vn, join(g, sizeof g, f, "path.value"), "must start with '/'"); break; }
        }
        es_node_t *m = es_node_new_map(mt->doc);
        if ((rc = append(matches, m))) break;
        m->line = mt->line;
        if ((rc = put(m, "path", path_node(path ? path : mt, type, value)))) break;
        const es_node_t *hs = es_map_get(mt, "headers");
        if (!hs) continue;
        if ((rc = expect_seq(c, o, hs, join(g, sizeof g, f, "headers")))) break;
        es_node_t *hl = es_node_new_seq(hs->doc);
        if ((rc = put(m, "headers", hl))) break;
        for (size_t k = 0; !rc && k < hs->n; k++) {
            const es_node_t *h = hs->items[k];
            snprintf(g, sizeof g, "%s.headers[%zu]", f, k);
            if ((rc = expect_map(c, o, h, g)) || (rc = check_keys(c, o, h, g, k_route_header))) break;
            const es_node_t *ht = es_map_get(h, "type"), *hn = es_map_get(h, "name"), *hv = es_map_get(h, "value");
            if (ht) {
                int which;
                char p2[400];
                snprintf(p2, sizeof p2, "%s: %s.type", o->label, g);
                if ((rc = es_node_to_enum(ht, p2, k_header_types, &which, c->err))) break;
                if (which == 1) {
                    rc = es_err_set(c->err, ES_EUNSUPP, "%s:%u: %s: %s.type: RegularExpression header matches are not supported", ht->doc->file, ht->line, o->label, g);
                    break;
                }
            }
            char q[400];
            if (!hn || !hv) { rc = oerr(c, o, h, g, "a header match needs name and value"); break; }
            const char *hname = text_of(c, o, hn, join(q, sizeof q, g, "name"));
            const char *hval = hname ? text_of(c, o, hv, join(q, sizeof q, g, "value")) : NULL;
            if (!hval) { rc = ES_EINVAL; break; }
            es_node_t *hm = es_node_new_map(h->doc);
            if (!(rc = append(hl, hm)) && !(rc = put(hm, "name", scalar_at(hn, hname, true))))
                rc = put(hm, "value", scalar_at(hv, hval, true));
        }
    }
    if (rc) {
        es_node_destroy(entry);
        if (rc == ES_ENOMEM) es_err_set(c->err, rc, "out of memory");
        return rc;
    }
    *out = entry;
    return 0;
}

static int check_parent_refs(ctx_t *c, const obj_t *o, const es_node_t *prs)
{
    int rc = expect_seq(c, o, prs, "spec.parentRefs");
    for (size_t i = 0; !rc && i < prs->n; i++) {
        char f[64];
        snprintf(f, sizeof f, "spec.parentRefs[%zu]", i);
        const es_node_t *pr = prs->items[i];
        if ((rc = expect_map(c, o, pr, f)) || (rc = check_keys(c, o, pr, f, k_parent_ref))) break;
        const es_node_t *k = es_map_get(pr, "kind"), *n = es_map_get(pr, "name"), *ns = es_map_get(pr, "namespace");
        const es_node_t *sec = es_map_get(pr, "sectionName");
        if (k && k->kind == ES_NODE_SCALAR && strcmp(k->str, "Gateway") != 0) continue;
        if (!n || n->kind != ES_NODE_SCALAR) { rc = oerr(c, o, pr, f, "a parentRef needs a name"); break; }
        const obj_t *gw = find_obj(c, K_GATEWAY, ns && ns->kind == ES_NODE_SCALAR ? ns->str : o->ns, n->str);
        if (!gw || !sec || sec->kind != ES_NODE_SCALAR) continue;  /* a Gateway outside the manifests is fine */
        const es_node_t *ls = es_node_find(gw->root, "spec.listeners");
        bool found = false;
        for (size_t j = 0; ls && j < ls->n; j++) {
            const es_node_t *ln = es_map_get(ls->items[j], "name");
            if (ln && ln->kind == ES_NODE_SCALAR && !strcmp(ln->str, sec->str)) found = true;
        }
        if (!found) rc = oerr(c, o, sec, "spec.parentRefs.sectionName", "Gateway/%s has no listener \"%s\"", gw->name, sec->str);
    }
    return rc;
}

static int read_routes(ctx_t *c, const pool_t *p, es_node_t **routes_out)
{
    *routes_out = NULL;
    es_node_t *routes = NULL;
    int rc = 0;
    for (size_t i = 0; i < c->nobjs && !rc; i++) {
        const obj_t *o = &c->objs[i];
        if (o->kind != K_ROUTE) continue;
        const es_node_t *spec = es_map_get(o->root, "spec");
        if ((rc = check_keys(c, o, spec, "spec", k_route_spec))) break;
        const es_node_t *prs = es_map_get(spec, "parentRefs"), *rules = es_map_get(spec, "rules");
        if (prs && (rc = check_parent_refs(c, o, prs))) break;
        if (!rules) continue;
        if ((rc = expect_seq(c, o, rules, "spec.rules"))) break;
        for (size_t r = 0; r < rules->n && !rc; r++) {
            char f[64], g[128];
            snprintf(f, sizeof f, "spec.rules[%zu]", r);
            const es_node_t *rule = rules->items[r];
            if ((rc = expect_map(c, o, rule, f)) || (rc = check_keys(c, o, rule, f, k_route_rule))) break;
            const es_node_t *brs = es_map_get(rule, "backendRefs");
            bool to_pool = false;
            if (brs && (rc = expect_seq(c, o, brs, join(g, sizeof g, f, "backendRefs")))) break;
            for (size_t b = 0; brs && b < brs->n && !rc; b++) {
                snprintf(g, sizeof g, "%s.backendRefs[%zu]", f, b);
                if ((rc = expect_map(c, o, brs->items[b], g)) || (rc = check_keys(c, o, brs->items[b], g, k_backend_ref))) break;
                const es_node_t *k = es_map_get(brs->items[b], "kind"), *n = es_map_get(brs->items[b], "name");
                if (is_pool_ref(brs->items[b], o->ns, p)) to_pool = true;
                else if (k && k->kind == ES_NODE_SCALAR && !strcmp(k->str, "InferencePool"))
                    rc = es_err_set(c->err, ES_ENOTFOUND, "%s:%u: %s: %s: InferencePool \"%s\" not found (the manifests define InferencePool/%s in namespace %s)",
                                    brs->items[b]->doc->file, brs->items[b]->line, o->label, g,
                                    n && n->kind == ES_NODE_SCALAR ? n->str : "?", p->o->name, p->o->ns);
            }
            if (rc || !to_pool) continue;
            if (es_map_get(rule, "filters") || es_map_get(rule, "timeouts") || es_map_get(rule, "retry"))
                warn(c, "%s:%u: %s: %s: filters, timeouts and retry are not simulated (ignored)", rule->doc->file, rule->line, o->label, f);
            es_node_t *entry;
            if ((rc = route_rule(c, o, rule, f, &entry))) break;
            if (!routes && !(routes = es_node_new_seq(rule->doc))) { es_node_destroy(entry); rc = es_err_set(c->err, ES_ENOMEM, "out of memory"); break; }
            if (es_seq_append(routes, entry)) { rc = es_err_set(c->err, ES_ENOMEM, "out of memory"); break; }
        }
    }
    if (rc) { es_node_destroy(routes); return rc; }
    *routes_out = routes;
    return 0;
}

/* Gateway API PathPrefix matches whole path elements: /get matches /get
 * and /get/x, not /getx. */
static bool path_matches(const char *type, const char *value, const char *path)
{
    if (!strcmp(type, "Exact")) return !strcmp(value, path);
    size_t len = strlen(value);
    while (len > 0 && value[len - 1] == '/') len--;
    return !strncmp(path, value, len) && (path[len] == '\0' || path[len] == '/');
}

/* A workload without a path sends completions to the first route that takes
 * requests without headers; one with a path is checked against the routes. */
static int choose_workload_path(ctx_t *c, const es_node_t *routes)
{
    const es_node_t *wp = c->exp->root ? es_node_find(c->exp->root, "workload.path") : NULL;
    for (size_t r = 0; r < routes->n; r++) {
        const es_node_t *ms = es_map_get(routes->items[r], "matches");
        for (size_t i = 0; ms && i < ms->n; i++) {
            const es_node_t *m = ms->items[i];
            if (es_map_get(m, "headers")) continue;
            const es_node_t *path = es_map_get(m, "path");
            const char *type = es_map_get(path, "type")->str, *value = es_map_get(path, "value")->str;
            if (wp) {
                if (wp->kind == ES_NODE_SCALAR && path_matches(type, value, wp->str)) return 0;
                continue;
            }
            char buf[512];
            size_t len = strlen(value);
            if (!strcmp(type, "Exact") || (len >= 12 && !strcmp(value + len - 12, "/completions")))
                snprintf(buf, sizeof buf, "%s", value);
            else
                snprintf(buf, sizeof buf, "%s%sv1/completions", value, value[len - 1] == '/' ? "" : "/");
            return set_key(c, "workload.path", scalar_at(path, buf, true));
        }
    }
    if (wp)
        warn(c, "%s:%u: workload.path \"%s\" matches no HTTPRoute rule of the pool: every request will get 404",
             wp->doc->file, wp->line, wp->kind == ES_NODE_SCALAR ? wp->str : "?");
    else
        warn(c, "every HTTPRoute rule of the pool needs headers the workload does not send: every request will get 404");
    return 0;
}

/* ---- InferenceObjectives and Gateways ---- */

static const char *const k_objective_spec[] = {"priority", "poolRef", NULL};
static const char *const k_pool_ref[] = {"group", "kind", "name", NULL};
static const char *const k_gateway_spec[] = {"gatewayClassName", "listeners", "addresses", "infrastructure",
                                             "backendTLS", "allowedListeners", "tls", "defaultScope", NULL};
static const char *const k_listener[] = {"name", "hostname", "port", "protocol", "tls", "allowedRoutes", NULL};

static int read_objectives(ctx_t *c, const pool_t *p)
{
    es_node_t *list = NULL;
    int rc = 0;
    for (size_t i = 0; i < c->nobjs && !rc; i++) {
        const obj_t *o = &c->objs[i];
        if (o->kind != K_OBJECTIVE) continue;
        const es_node_t *spec = es_map_get(o->root, "spec");
        if ((rc = check_keys(c, o, spec, "spec", k_objective_spec))) break;
        const es_node_t *pr = es_map_get(spec, "poolRef"), *prio = es_map_get(spec, "priority");
        if (!pr) { rc = oerr(c, o, spec, "spec.poolRef", "missing"); break; }
        if ((rc = expect_map(c, o, pr, "spec.poolRef")) || (rc = check_keys(c, o, pr, "spec.poolRef", k_pool_ref))) break;
        const es_node_t *pn = es_map_get(pr, "name");
        const char *pname = pn ? text_of(c, o, pn, "spec.poolRef.name") : NULL;
        if (!pname) { if (!pn) rc = oerr(c, o, pr, "spec.poolRef.name", "missing"); else rc = ES_EINVAL; break; }
        int64_t v = 0;
        if (prio && (rc = read_i64(c, o, prio, "spec.priority", INT32_MIN, INT32_MAX, &v))) break;
        if (strcmp(pname, p->o->name) || strcmp(o->ns, p->o->ns)) {
            warn(c, "%s: poolRef names InferencePool/%s, not the simulated pool; ignored", o->label, pname);
            continue;
        }
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)v);
        if (!list && !(list = es_node_new_seq(o->root->doc))) { rc = es_err_set(c->err, ES_ENOMEM, "out of memory"); break; }
        es_node_t *e = es_node_new_map(o->root->doc);
        if (append(list, e) || put(e, "name", scalar_at(o->root, o->name, true)) ||
            put(e, "priority", scalar_at(prio ? prio : o->root, num, false)))
            rc = es_err_set(c->err, ES_ENOMEM, "out of memory");
    }
    if (!rc && list) return set_key(c, "epp.objectives", list);
    es_node_destroy(list);
    return rc;
}

static int check_gateway(ctx_t *c, const obj_t *o)
{
    const es_node_t *spec = es_map_get(o->root, "spec");
    int rc = check_keys(c, o, spec, "spec", k_gateway_spec);
    const es_node_t *ls = es_map_get(spec, "listeners");
    if (!rc && !ls) rc = oerr(c, o, spec, "spec.listeners", "missing");
    if (!rc) rc = expect_seq(c, o, ls, "spec.listeners");
    for (size_t i = 0; !rc && i < ls->n; i++) {
        char f[64];
        snprintf(f, sizeof f, "spec.listeners[%zu]", i);
        if ((rc = expect_map(c, o, ls->items[i], f)) || (rc = check_keys(c, o, ls->items[i], f, k_listener))) break;
        if (!es_map_get(ls->items[i], "name")) rc = oerr(c, o, ls->items[i], f, "a listener needs a name");
    }
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
        const obj_t *dup = find_obj(c, o.kind, o.ns, o.name);
        if (dup) {
            rc = oerr(c, &o, NULL, "", "defined twice (also at %s:%u)", dup->root->doc->file, dup->root->line);
            break;
        }
        c->objs[c->nobjs++] = o;
    }
    for (size_t i = 0; i < c->nobjs && !rc; i++) {
        const obj_t *o = &c->objs[i];
        if (o->kind == K_DEPLOYMENT) rc = check_deployment(c, o);
        else if (o->kind == K_SERVICE) rc = check_service(c, o);
        else if (o->kind == K_GATEWAY) rc = check_gateway(c, o);
        else if (o->kind == K_CONFIGMAP) {
            const es_node_t *d = es_map_get(o->root, "data");
            if (d) rc = expect_map(c, o, d, "data");
        }
    }
    if (rc) return rc;
    if (*ignored) warn(c, "manifest kinds not simulated (ignored): %s", ignored);

    const obj_t *pool_obj = NULL;
    for (size_t i = 0; i < c->nobjs; i++) {
        if (c->objs[i].kind != K_POOL) continue;
        if (pool_obj)
            return oerr(c, &c->objs[i], NULL, "", "a second InferencePool (first: %s at %s:%u); eppsim simulates one pool",
                        pool_obj->name, pool_obj->root->doc->file, pool_obj->root->line);
        pool_obj = &c->objs[i];
    }
    if (!pool_obj)
        return es_err_set(c->err, ES_ENOTFOUND, "%s: no InferencePool in the manifests (eppsim simulates the pool an InferencePool defines)",
                          m->ndocs ? m->docs[0]->file : "manifests");
    pool_t p;
    if ((rc = read_pool(c, pool_obj, &p))) return rc;
    if (!(m->pool_name = strdup(p.o->name))) return es_err_set(c->err, ES_ENOMEM, "out of memory");
    /* failureMode: the Kubernetes default FailClose when the pool omits it */
    const es_node_t *fm_at = p.failure_mode ? p.failure_mode : p.epp_ref_node;
    if ((rc = set_key(c, "gateway.failure_mode", scalar_at(fm_at, p.failure_mode ? p.failure_mode->str : "FailClose", true))))
        return rc;
    if ((rc = read_servers(c, &p)) || (rc = read_epp(c, &p)) || (rc = read_objectives(c, &p))) return rc;
    es_node_t *routes;
    if ((rc = read_routes(c, &p, &routes))) return rc;
    if (routes) {
        if ((rc = choose_workload_path(c, routes))) { es_node_destroy(routes); return rc; }
        rc = set_key(c, "gateway.routes", routes);
    } else {
        warn(c, "no HTTPRoute sends traffic to InferencePool/%s; the simulated gateway sends every path to the pool", p.o->name);
    }
    if (!rc && c->noverrides)
        warn(c, "the manifests override experiment keys: %s", c->overrides);
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
