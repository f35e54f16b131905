/*
 * sweep.c -- sweep specs, point documents, shards, the thread-pool run,
 * sweep.csv and merge (sweep.h, docs/sweeps.md).
 */
#define _GNU_SOURCE   /* open_memstream, setenv */
#include "sweep.h"
#include "summary.h"

#include <ctype.h>
#include <errno.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include <cjson/cJSON.h>

#include "experiment.h"
#include "outdir.h"
#include "es_scheduler.h"
#include "run.h"
#include "es_str.h"

const char *const es_sweep_default_metrics[] = {
    "latency_ms.ttft.p50",         "latency_ms.ttft.p99",          "latency_ms.e2e.p99",
    "latency_ms.tpot.p50",         "throughput.requests_per_s",    "prefix_cache.estimated_hit_rate",
    "prefix_cache.actual_hit_rate", "prefix_cache.oracle_hit_rate", NULL};

/* ------------------------------------------------------------------ */
/* small helpers                                                       */
/* ------------------------------------------------------------------ */

static void dir_of(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(buf, size, ".");
    else if (slash == path) snprintf(buf, size, "/");
    else snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Text of a value for sweep.csv and labels: a scalar's text, JSON otherwise.
 * NULL (the base's value) gives "". */
static char *node_text(const es_node_t *n)
{
    if (!n) return es_strdup("");
    if (n->kind == ES_NODE_SCALAR) return es_strdup(n->str);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    es_node_write_json(f, n);
    fclose(f);
    return buf;
}

/* ------------------------------------------------------------------ */
/* key paths                                                           */
/* ------------------------------------------------------------------ */

/* Checks the shape of a key path: non-empty components, and the short forms'
 * arity. */
static int check_key(const char *key, const es_node_t *at, es_err_t *err)
{
    if (!*key || key[0] == '.' || key[strlen(key) - 1] == '.' || strstr(key, ".."))
        return es_node_err(err, ES_EINVAL, at, key, "bad key path (dotted names, e.g. server.max_num_seqs)");
    if (!strcmp(key, "seed") || !strcmp(key, "schema_version"))
        return es_node_err(err, ES_EINVAL, at, key, "cannot be swept (use `seeds:` for replications)");
    if (starts_with(key, "epp.weights.") && strchr(key + strlen("epp.weights."), '.'))
        return es_node_err(err, ES_EINVAL, at, key, "epp.weights.<pluginRef> takes one plugin name");
    if (!strcmp(key, "epp.weights") || !strcmp(key, "epp.plugins"))
        return es_node_err(err, ES_EINVAL, at, key, "needs a plugin name (epp.weights.<pluginRef>, "
                                                     "epp.plugins.<name>.<parameter>)");
    if (starts_with(key, "epp.plugins.") && !strchr(key + strlen("epp.plugins."), '.'))
        return es_node_err(err, ES_EINVAL, at, key, "epp.plugins.<name>.<parameter> needs a parameter");
    return 0;
}

static bool key_needs_epp(const char *key)
{
    return starts_with(key, "epp.weights.") || starts_with(key, "epp.plugins.") ||
           starts_with(key, "epp.config.");
}

/* Sets `dotted` below node *slot, creating mappings on the way (a null
 * placeholder becomes a mapping); sequence items are addressed by index.
 * Takes ownership of value. */
static int set_below(es_doc_t *doc, es_node_t **slot, const char *dotted, const char *full,
                     es_node_t *value, es_err_t *err)
{
    char part[256];
    const char *p = dotted;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0 || len >= sizeof part) {
            es_node_free(value);
            return es_err_set(err, ES_EINVAL, "bad key path '%s'", full);
        }
        memcpy(part, p, len);
        part[len] = '\0';
        es_node_t *n = *slot;
        if (!n || es_node_is_null(n)) {
            es_node_t *m = es_node_new_map(doc);
            if (!m) { es_node_free(value); return ES_ENOMEM; }
            if (n) { m->line = n->line; m->col = n->col; }
            es_node_free(n);
            *slot = n = m;
        }
        if (n->kind == ES_NODE_SEQ) {
            char *end;
            unsigned long idx = strtoul(part, &end, 10);
            if (*end || !isdigit((unsigned char)part[0]) || idx >= n->n) {
                es_node_free(value);
                return es_node_err(err, ES_EINVAL, n, full, "'%s': a list of %zu items is indexed 0..%zu here",
                                   part, n->n, n->n ? n->n - 1 : 0);
            }
            if (!dot) { es_node_free(n->items[idx]); n->items[idx] = value; return 0; }
            slot = &n->items[idx];
        } else if (n->kind == ES_NODE_MAP) {
            if (!dot) return es_map_set(n, part, value) ? (es_node_free(value), ES_ENOMEM) : 0;
            long i = es_map_index(n, part);
            if (i < 0) {
                if (es_map_set(n, part, NULL)) { es_node_free(value); return ES_ENOMEM; }
                i = (long)n->n - 1;
            }
            slot = &n->items[i];
        } else {
            es_node_free(value);
            return es_node_err(err, ES_EINVAL, n, full, "cannot set '%s': its parent is a scalar", part);
        }
        p = dot + 1;
    }
}

/* Returns the point document's epp.config mapping, copying it from epp_src
 * (keeping that file's lines) when the document has none inline. */
static int materialise_epp(es_doc_t *doc, const es_doc_t *epp_src, const char *key, const es_node_t *at,
                           es_node_t **cfg_out, es_err_t *err)
{
    const es_node_t *cfg = doc->root ? es_node_find(doc->root, "epp.config") : NULL;
    if (!cfg || es_node_is_null(cfg)) {
        if (!epp_src || !epp_src->root)
            return es_node_err(err, ES_EINVAL, at, key, "no EndpointPickerConfig to change");
        es_node_t *copy = es_node_clone(epp_src->root, epp_src);
        if (!copy) return ES_ENOMEM;
        int rc = set_below(doc, &doc->root, "epp.config", key, copy, err);
        if (rc) return rc;
        /* the inline copy wins anyway; blank the file so experiment.yaml says what ran */
        es_node_t *blank = es_node_new_scalar(doc, "", true);
        if (!blank) return ES_ENOMEM;
        if ((rc = set_below(doc, &doc->root, "epp.config_file", key, blank, err))) return rc;
        cfg = es_node_find(doc->root, "epp.config");
    }
    if (cfg->kind != ES_NODE_MAP)
        return es_node_err(err, ES_EINVAL, cfg, "epp.config", "must be a mapping (an EndpointPickerConfig)");
    *cfg_out = (es_node_t *)cfg;
    return 0;
}

static const char *node_str(const es_node_t *map, const char *key)
{
    const es_node_t *v = map && map->kind == ES_NODE_MAP ? es_map_get(map, key) : NULL;
    return v && v->kind == ES_NODE_SCALAR ? v->str : NULL;
}

/* The plugin entry named `name` (its name, or its type when unnamed). */
static es_node_t *find_plugin(es_node_t *cfg, const char *name)
{
    es_node_t *plugins = (es_node_t *)es_map_get(cfg, "plugins");
    if (!plugins || plugins->kind != ES_NODE_SEQ) return NULL;
    for (size_t i = 0; i < plugins->n; i++) {
        const char *nm = node_str(plugins->items[i], "name");
        if (!nm) nm = node_str(plugins->items[i], "type");
        if (nm && !strcmp(nm, name)) return plugins->items[i];
    }
    return NULL;
}

static void list_names(const es_node_t *seq, const char *field, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; seq && seq->kind == ES_NODE_SEQ && i < seq->n && off < size; i++) {
        const char *nm = node_str(seq->items[i], field);
        if (!nm && !strcmp(field, "name")) nm = node_str(seq->items[i], "type");
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "", nm ? nm : "?");
    }
}

static int set_weight(es_doc_t *doc, es_node_t *cfg, const char *key, const char *ref, es_node_t *value,
                      es_err_t *err)
{
    es_node_t *profiles = (es_node_t *)es_map_get(cfg, "schedulingProfiles");
    if (!profiles || profiles->kind != ES_NODE_SEQ || profiles->n != 1) {
        int rc = es_node_err(err, ES_EINVAL, value, key,
                             "epp.weights needs exactly one scheduling profile (this config has %zu); "
                             "use epp.config.schedulingProfiles.<i>.plugins.<j>.weight",
                             profiles && profiles->kind == ES_NODE_SEQ ? profiles->n : 0);
        es_node_free(value);
        return rc;
    }
    es_node_t *prof = profiles->items[0];
    es_node_t *refs = prof->kind == ES_NODE_MAP ? (es_node_t *)es_map_get(prof, "plugins") : NULL;
    for (size_t i = 0; refs && refs->kind == ES_NODE_SEQ && i < refs->n; i++) {
        const char *r = node_str(refs->items[i], "pluginRef");
        if (r && !strcmp(r, ref)) return set_below(doc, &refs->items[i], "weight", key, value, err);
    }
    if (!find_plugin(cfg, ref)) {
        char names[256];
        list_names(es_map_get(cfg, "plugins"), "name", names, sizeof names);
        int rc = es_node_err(err, ES_ENOTFOUND, value, key, "no plugin named '%s' in the EPP config (plugins: %s)",
                             ref, names);
        es_node_free(value);
        return rc;
    }
    /* a plugin the profile does not use yet: reference it with this weight */
    es_node_t *entry = es_node_new_map(doc);
    es_node_t *name = es_node_new_scalar(doc, ref, true);
    if (!entry || !name || es_map_set(entry, "pluginRef", name)) {
        es_node_free(entry); es_node_free(name); es_node_free(value);
        return ES_ENOMEM;
    }
    if (es_map_set(entry, "weight", value)) { es_node_free(entry); return ES_ENOMEM; }
    if (!refs) {
        es_node_t *seq = es_node_new_seq(doc);
        if (!seq) { es_node_free(entry); return ES_ENOMEM; }
        int rc = set_below(doc, &profiles->items[0], "plugins", key, seq, err);
        if (rc) { es_node_free(entry); return rc; }
        refs = (es_node_t *)es_map_get(prof, "plugins");
    }
    if (refs->kind != ES_NODE_SEQ || es_seq_append(refs, entry)) { es_node_free(entry); return ES_EINVAL; }
    return 0;
}

int es_sweep_apply(es_doc_t *doc, const es_doc_t *epp_src, const char *key, es_node_t *value, es_err_t *err)
{
    if (!value) return ES_ENOMEM;
    if (!key_needs_epp(key)) return set_below(doc, &doc->root, key, key, value, err);
    es_node_t *cfg = NULL;
    int rc = materialise_epp(doc, epp_src, key, value, &cfg, err);
    if (rc) { es_node_free(value); return rc; }
    if (starts_with(key, "epp.config."))
        return set_below(doc, &doc->root, key, key, value, err);
    if (starts_with(key, "epp.weights."))
        return set_weight(doc, cfg, key, key + strlen("epp.weights."), value, err);
    /* epp.plugins.<name>.<param...> */
    const char *name = key + strlen("epp.plugins.");
    const char *dot = strchr(name, '.');
    char pname[256];
    snprintf(pname, sizeof pname, "%.*s", (int)(dot - name), name);
    es_node_t *plugin = find_plugin(cfg, pname);
    if (!plugin) {
        char names[256];
        list_names(es_map_get(cfg, "plugins"), "name", names, sizeof names);
        rc = es_node_err(err, ES_ENOTFOUND, value, key, "no plugin named '%s' in the EPP config (plugins: %s)",
                         pname, names);
        es_node_free(value);
        return rc;
    }
    char sub[512];
    snprintf(sub, sizeof sub, "parameters.%s", dot + 1);
    /* the plugin entry is an item of a sequence: find its slot to set below it */
    es_node_t *plugins = (es_node_t *)es_map_get(cfg, "plugins");
    for (size_t i = 0; i < plugins->n; i++)
        if (plugins->items[i] == plugin) return set_below(doc, &plugins->items[i], sub, key, value, err);
    es_node_free(value);
    return ES_EINVAL;
}

/* ------------------------------------------------------------------ */
/* spec                                                                */
/* ------------------------------------------------------------------ */

void es_sweep_spec_fini(es_sweep_spec_t *s)
{
    for (size_t i = 0; i < s->nkeys; i++) free(s->keys[i]);
    for (size_t i = 0; i < s->nmetrics; i++) free(s->metrics[i]);
    free(s->keys);
    free(s->metrics);
    free(s->values);
    free(s->seeds);
    free(s->base_dir);
    es_doc_free(s->epp_doc);
    es_doc_free(s->base);
    es_doc_free(s->doc);
    memset(s, 0, sizeof *s);
}

static long key_index(const es_sweep_spec_t *s, const char *key)
{
    for (size_t i = 0; i < s->nkeys; i++)
        if (!strcmp(s->keys[i], key)) return (long)i;
    return -1;
}

static int add_key(es_sweep_spec_t *s, const char *key, const es_node_t *at, es_err_t *err)
{
    int rc = check_key(key, at, err);
    if (rc) return rc;
    char **k = realloc(s->keys, (s->nkeys + 1) * sizeof *k);
    if (!k) return ES_ENOMEM;
    s->keys = k;
    if (!(s->keys[s->nkeys] = es_strdup(key))) return ES_ENOMEM;
    s->nkeys++;
    return 0;
}

static int load_grid(es_sweep_spec_t *s, const es_node_t *grid, es_err_t *err)
{
    int rc;
    if ((rc = es_node_expect_map(grid, "grid", err))) return rc;
    if (grid->n == 0) return es_node_err(err, ES_EINVAL, grid, "grid", "needs at least one key");
    size_t npoints = 1;
    for (size_t k = 0; k < grid->n; k++) {
        char path[300];
        snprintf(path, sizeof path, "grid.%s", grid->keys[k]);
        const es_node_t *vals = grid->items[k];
        if ((rc = es_node_expect_seq(vals, path, err))) return rc;
        if (vals->n == 0) return es_node_err(err, ES_EINVAL, vals, path, "needs at least one value");
        if (npoints > 1000000 / vals->n)
            return es_node_err(err, ES_ERANGE, vals, path, "the grid has more than 1000000 points");
        npoints *= vals->n;
        if ((rc = add_key(s, grid->keys[k], vals, err))) return rc;
    }
    s->npoints = npoints;
    s->values = calloc(npoints * s->nkeys, sizeof *s->values);
    if (!s->values) return ES_ENOMEM;
    for (size_t i = 0; i < npoints; i++) {
        size_t rest = i;
        for (size_t k = s->nkeys; k-- > 0;) {   /* last key varies fastest */
            const es_node_t *vals = grid->items[k];
            s->values[i * s->nkeys + k] = vals->items[rest % vals->n];
            rest /= vals->n;
        }
    }
    return 0;
}

static int load_points(es_sweep_spec_t *s, const es_node_t *pts, es_err_t *err)
{
    int rc;
    if ((rc = es_node_expect_seq(pts, "points", err))) return rc;
    if (pts->n == 0) return es_node_err(err, ES_EINVAL, pts, "points", "needs at least one point");
    for (size_t i = 0; i < pts->n; i++) {
        char path[64];
        snprintf(path, sizeof path, "points[%zu]", i);
        if ((rc = es_node_expect_map(pts->items[i], path, err))) return rc;
        for (size_t k = 0; k < pts->items[i]->n; k++)
            if (key_index(s, pts->items[i]->keys[k]) < 0 &&
                (rc = add_key(s, pts->items[i]->keys[k], pts->items[i]->items[k], err)))
                return rc;
    }
    s->npoints = pts->n;
    s->values = calloc(pts->n * (s->nkeys ? s->nkeys : 1), sizeof *s->values);
    if (!s->values) return ES_ENOMEM;
    for (size_t i = 0; i < pts->n; i++)
        for (size_t k = 0; k < pts->items[i]->n; k++)
            s->values[i * s->nkeys + (size_t)key_index(s, pts->items[i]->keys[k])] = pts->items[i]->items[k];
    return 0;
}

static int load_seeds(es_sweep_spec_t *s, const es_node_t *seeds, es_err_t *err)
{
    int rc;
    if (!seeds) {
        /* the base's own seed, once */
        const es_node_t *bs = s->base->root ? es_map_get(s->base->root, "seed") : NULL;
        uint64_t seed = 1;
        if (bs && (rc = es_node_to_u64(bs, "seed", &seed, err))) return rc;
        s->seeds = malloc(sizeof *s->seeds);
        if (!s->seeds) return ES_ENOMEM;
        s->seeds[0] = seed;
        s->nseeds = 1;
        return 0;
    }
    if (seeds->kind == ES_NODE_SCALAR) {
        int64_t n;
        if ((rc = es_node_to_i64(seeds, "seeds", 1, ES_SWEEP_MAX_SEEDS, &n, err))) return rc;
        s->seeds = malloc((size_t)n * sizeof *s->seeds);
        if (!s->seeds) return ES_ENOMEM;
        for (int64_t i = 0; i < n; i++) s->seeds[i] = (uint64_t)i + 1;
        s->nseeds = (size_t)n;
        return 0;
    }
    if ((rc = es_node_expect_seq(seeds, "seeds", err))) return rc;
    if (seeds->n == 0 || seeds->n > ES_SWEEP_MAX_SEEDS)
        return es_node_err(err, ES_EINVAL, seeds, "seeds", "needs 1..%d seeds", ES_SWEEP_MAX_SEEDS);
    s->seeds = malloc(seeds->n * sizeof *s->seeds);
    if (!s->seeds) return ES_ENOMEM;
    for (size_t i = 0; i < seeds->n; i++) {
        char path[64];
        snprintf(path, sizeof path, "seeds[%zu]", i);
        if ((rc = es_node_to_u64(seeds->items[i], path, &s->seeds[i], err))) return rc;
        for (size_t j = 0; j < i; j++)
            if (s->seeds[j] == s->seeds[i])
                return es_node_err(err, ES_EINVAL, seeds->items[i], path, "seed %llu is listed twice",
                                   (unsigned long long)s->seeds[i]);
    }
    s->nseeds = seeds->n;
    return 0;
}

static int load_metrics(es_sweep_spec_t *s, const es_node_t *m, es_err_t *err)
{
    int rc;
    size_t n = 0;
    if (m) {
        if ((rc = es_node_expect_seq(m, "metrics", err))) return rc;
        if (m->n == 0) return es_node_err(err, ES_EINVAL, m, "metrics", "needs at least one summary.json key path");
        n = m->n;
    } else {
        while (es_sweep_default_metrics[n]) n++;
    }
    s->metrics = calloc(n, sizeof *s->metrics);
    if (!s->metrics) return ES_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *name = es_sweep_default_metrics[i < n && !m ? i : 0];
        if (m) {
            char path[64];
            snprintf(path, sizeof path, "metrics[%zu]", i);
            if ((rc = es_node_to_str(m->items[i], path, &name, err))) return rc;
            if (!*name || strchr(name, ',') || strchr(name, '"'))
                return es_node_err(err, ES_EINVAL, m->items[i], path, "bad summary.json key path '%s'", name);
        }
        if (!(s->metrics[i] = es_strdup(name))) return ES_ENOMEM;
        s->nmetrics++;
    }
    return 0;
}

/* The EPP config the short forms start from when a point has none inline. */
static int load_epp_source(es_sweep_spec_t *s, es_err_t *err)
{
    bool needed = false;
    for (size_t k = 0; k < s->nkeys; k++) needed |= key_needs_epp(s->keys[k]);
    if (!needed) return 0;
    const es_node_t *root = s->base->root;
    const es_node_t *inl = root ? es_node_find(root, "epp.config") : NULL;
    if (inl && !es_node_is_null(inl)) return 0;   /* each point has its own copy */
    if (key_index(s, "epp.config_file") >= 0 || key_index(s, "epp.config") >= 0)
        return es_err_set(err, ES_EINVAL, "%s: epp.config_file or epp.config is swept together with EPP "
                          "short forms; sweep the short forms on one config", s->doc->file);
    const es_node_t *file = root ? es_node_find(root, "epp.config_file") : NULL;
    const char *rel = NULL;
    int rc;
    if (file && (rc = es_node_to_str(file, "epp.config_file", &rel, err))) return rc;
    if (rel && *rel) {
        char path[2048];
        if (rel[0] == '/') snprintf(path, sizeof path, "%s", rel);
        else snprintf(path, sizeof path, "%s/%s", s->base_dir, rel);
        return es_doc_load_file(path, &s->epp_doc, err);
    }
    return es_doc_load_string("<upstream default EndpointPickerConfig>", es_epp_config_default_text(), strlen(es_epp_config_default_text()),
                              &s->epp_doc, err);
}

int es_sweep_spec_from_doc(es_doc_t *doc, const char *dir, es_sweep_spec_t *s, es_err_t *err)
{
    static const char *const keys[] = {"base", "grid", "points", "seeds", "metrics", NULL};
    memset(s, 0, sizeof *s);
    s->doc = doc;
    int rc;
    const es_node_t *root = doc->root;
    if (!root) { rc = es_err_set(err, ES_EINVAL, "%s: empty sweep spec", doc->file); goto fail; }
    if ((rc = es_node_expect_map(root, "", err)) || (rc = es_map_check_keys(root, "", keys, err))) goto fail;
    const es_node_t *base = es_map_get(root, "base");
    if (!base) { rc = es_node_err(err, ES_EINVAL, root, "base", "missing: an experiment file or mapping"); goto fail; }
    if (base->kind == ES_NODE_MAP) {
        if (!(s->base = es_doc_new(doc->file)) || !(s->base->root = es_node_clone(base, doc))) { rc = ES_ENOMEM; goto fail; }
        if (!(s->base_dir = es_strdup(dir))) { rc = ES_ENOMEM; goto fail; }
    } else {
        const char *rel;
        if ((rc = es_node_to_str(base, "base", &rel, err))) goto fail;
        char path[2048], bdir[2048];
        if (rel[0] == '/') snprintf(path, sizeof path, "%s", rel);
        else snprintf(path, sizeof path, "%s/%s", dir, rel);
        if ((rc = es_doc_load_file(path, &s->base, err))) {
            char msg[ES_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
            rc = es_node_err(err, rc, base, "base", "%s", msg);
            goto fail;
        }
        dir_of(path, bdir, sizeof bdir);
        if (!(s->base_dir = es_strdup(bdir))) { rc = ES_ENOMEM; goto fail; }
    }
    const es_node_t *grid = es_map_get(root, "grid"), *pts = es_map_get(root, "points");
    if (grid && pts) { rc = es_node_err(err, ES_EINVAL, pts, "points", "give either grid or points, not both"); goto fail; }
    if (grid) rc = load_grid(s, grid, err);
    else if (pts) rc = load_points(s, pts, err);
    else {
        s->npoints = 1;   /* replications of the base alone */
        rc = (s->values = calloc(1, sizeof *s->values)) ? 0 : ES_ENOMEM;
    }
    if (rc || (rc = load_seeds(s, es_map_get(root, "seeds"), err)) ||
        (rc = load_metrics(s, es_map_get(root, "metrics"), err)) || (rc = load_epp_source(s, err)))
        goto fail;
    return 0;
fail:
    es_sweep_spec_fini(s);
    return rc;
}

int es_sweep_spec_load(const char *path, es_sweep_spec_t *spec, es_err_t *err)
{
    es_doc_t *doc;
    int rc = es_doc_load_file(path, &doc, err);
    if (rc) { memset(spec, 0, sizeof *spec); return rc; }
    char dir[2048];
    dir_of(path, dir, sizeof dir);
    return es_sweep_spec_from_doc(doc, dir, spec, err);
}

int es_sweep_point_doc(const es_sweep_spec_t *s, size_t point, uint64_t seed, es_doc_t **out, es_err_t *err)
{
    ES_ASSERT(point < s->npoints, "point index out of range");
    es_doc_t *d = es_doc_new(s->base->file);
    if (!d) return ES_ENOMEM;
    if (s->base->root && !(d->root = es_node_clone(s->base->root, s->base->root->doc))) {
        es_doc_free(d);
        return ES_ENOMEM;
    }
    int rc;
    for (size_t k = 0; k < s->nkeys; k++) {
        const es_node_t *v = s->values[point * s->nkeys + k];
        if (!v) continue;   /* a point list that leaves this key at the base's value */
        if ((rc = es_sweep_apply(d, s->epp_doc, s->keys[k], es_node_clone(v, v->doc), err))) {
            es_doc_free(d);
            return rc;
        }
    }
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    if ((rc = es_sweep_apply(d, NULL, "seed", es_node_new_scalar(d, text, false), err))) {
        es_doc_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int es_sweep_spec_validate(const es_sweep_spec_t *s, es_err_t *err)
{
    for (size_t i = 0; i < s->npoints; i++) {
        es_doc_t *d;
        int rc = es_sweep_point_doc(s, i, s->seeds[0], &d, err);
        if (rc) return rc;
        es_experiment_t exp;
        if ((rc = es_experiment_from_doc(d, s->base_dir, &exp, err))) return rc;
        es_experiment_fini(&exp);
    }
    return 0;
}

const char *es_sweep_point_label(const es_sweep_spec_t *s, size_t point, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < s->nkeys && off < size; k++) {
        const es_node_t *v = s->values[point * s->nkeys + k];
        if (!v) continue;
        char *t = node_text(v);
        off += (size_t)snprintf(buf + off, size - off, "%s%s=%s", off ? ", " : "", s->keys[k], t ? t : "?");
        free(t);
    }
    if (!buf[0]) snprintf(buf, size, "base");
    return buf;
}

/* ------------------------------------------------------------------ */
/* shards                                                              */
/* ------------------------------------------------------------------ */

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    if (!s || !isdigit((unsigned char)*s)) return -1;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > UINT32_MAX) return -1;
    *out = (uint32_t)v;
    return 0;
}

int es_sweep_shard_resolve(const char *arg, uint32_t shards, const char *(*getenv_fn)(const char *),
                           es_sweep_shard_t *out, es_err_t *err)
{
    if (!getenv_fn) getenv_fn = (const char *(*)(const char *))getenv;
    out->index = 0;
    out->count = 1;
    if (arg) {
        const char *slash = strchr(arg, '/');
        char a[32];
        uint32_t i, n;
        if (!slash || (size_t)(slash - arg) >= sizeof a) goto bad_arg;
        snprintf(a, sizeof a, "%.*s", (int)(slash - arg), arg);
        if (parse_u32(a, &i) || parse_u32(slash + 1, &n) || n == 0 || i >= n) goto bad_arg;
        out->index = i;
        out->count = n;
        return 0;
    bad_arg:
        return es_err_set(err, ES_EINVAL, "--shard %s: expected I/N with 0 <= I < N", arg);
    }
    const char *id = getenv_fn("SLURM_ARRAY_TASK_ID");
    if (id && *id) {
        const char *cnt = getenv_fn("SLURM_ARRAY_TASK_COUNT"), *min = getenv_fn("SLURM_ARRAY_TASK_MIN");
        uint32_t i, n, lo = 0;
        if (parse_u32(id, &i) || parse_u32(cnt, &n) || n == 0 || (min && *min && parse_u32(min, &lo)) || i < lo ||
            i - lo >= n)
            return es_err_set(err, ES_EINVAL,
                              "SLURM_ARRAY_TASK_ID=%s, SLURM_ARRAY_TASK_MIN=%s, SLURM_ARRAY_TASK_COUNT=%s: "
                              "not a shard (use a contiguous array, e.g. --array=0-9)",
                              id, min ? min : "", cnt ? cnt : "");
        out->index = i - lo;
        out->count = n;
        return 0;
    }
    const char *jci = getenv_fn("JOB_COMPLETION_INDEX");
    if (jci && *jci) {
        uint32_t i;
        if (shards == 0)
            return es_err_set(err, ES_EINVAL, "JOB_COMPLETION_INDEX=%s is set: give --shards N (the Job's completions)",
                              jci);
        if (parse_u32(jci, &i) || i >= shards)
            return es_err_set(err, ES_EINVAL, "JOB_COMPLETION_INDEX=%s: not in 0..%u", jci, shards - 1);
        out->index = i;
        out->count = shards;
        return 0;
    }
    if (shards > 1)
        return es_err_set(err, ES_EINVAL, "--shards %u without JOB_COMPLETION_INDEX: use --shard I/N", shards);
    return 0;
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

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *b = realloc(buf, cap);
            if (!b) { free(buf); fclose(f); return NULL; }
            buf = b;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
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
    qsort(t->rows, t->n, sizeof *t->rows, row_cmp);
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

static void point_dir(const char *out_dir, size_t point, uint64_t seed, char *buf, size_t size)
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
            texts[k] = node_text(s->values[i * s->nkeys + k]);
        }
        for (size_t j = 0; j < s->nseeds && !rc; j++) {
            char dir[2048], path[2100];
            point_dir(out_dir, i, s->seeds[j], dir, sizeof dir);
            snprintf(path, sizeof path, "%s/summary.json", dir);
            if (!file_exists(path)) continue;
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
                    r->m[m] = strtod(v, &end);
                    if (*end) rc = es_err_set(err, ES_EPARSE, "%s:%zu: '%s' is not a number", path, line, v);
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
    const cJSON *seeds = cJSON_GetObjectItemCaseSensitive(first.json, "seeds");
    size_t nseeds = (size_t)cJSON_GetArraySize(seeds);
    uint64_t *sv = calloc(nseeds ? nseeds : 1, sizeof *sv);
    if (!sv) { meta_fini(&first); return ES_ENOMEM; }
    for (size_t i = 0; i < nseeds; i++) sv[i] = (uint64_t)cJSON_GetArrayItem(seeds, (int)i)->valuedouble;
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
        qsort(t.rows, t.n, sizeof *t.rows, row_cmp);
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
/* running on the libuv thread pool                                    */
/* ------------------------------------------------------------------ */

typedef struct sweep_ctx sweep_ctx_t;

typedef struct job {
    uv_work_t    req;
    sweep_ctx_t *ctx;
    size_t       point;
    uint64_t     seed;
    int          rc;
    es_err_t     err;
    double       wall_s;
} job_t;

struct sweep_ctx {
    const es_sweep_spec_t    *spec;
    const es_sweep_options_t *opt;
    es_sweep_stats_t         *st;
    uv_loop_t                 loop;
    uv_timer_t                timer;    /* redraws the progress bar */
    job_t                    *jobs;
    size_t                    njobs, next, running, finished;
    uint64_t                  t0_ns;
};

static double now_s(void) { return (double)uv_hrtime() / 1e9; }

static void work(uv_work_t *req)
{
    job_t *j = req->data;
    const sweep_ctx_t *c = j->ctx;
    double t0 = now_s();
    es_err_clear(&j->err);
    es_doc_t *doc;
    es_experiment_t exp;
    if ((j->rc = es_sweep_point_doc(c->spec, j->point, j->seed, &doc, &j->err))) return;
    if ((j->rc = es_experiment_from_doc(doc, c->spec->base_dir, &exp, &j->err))) return;
    char dir[2048];
    point_dir(c->opt->out_dir, j->point, j->seed, dir, sizeof dir);
    /* no summary.json means no completed run here: replace whatever is there */
    es_run_options_t ro = {dir, true, false, false, false, c->opt->interrupted, NULL};
    es_run_report_t rep;
    j->rc = es_run_experiment(&exp, &ro, &rep, &j->err);
    if (j->rc && !j->err.msg[0]) es_err_set(&j->err, j->rc, "%s", es_strerror(j->rc));
    es_experiment_fini(&exp);
    j->wall_s = now_s() - t0;
}

static void fmt_hms(double s, char *buf, size_t size)
{
    long t = s < 0 ? 0 : (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

static void draw_bar(sweep_ctx_t *c)
{
    FILE *f = c->opt->log;
    if (!f || !c->opt->tty_progress) return;
    size_t done = c->finished, total = c->njobs;
    int width = 30, fill = total ? (int)((double)width * (double)done / (double)total) : width;
    double el = now_s() - (double)c->t0_ns / 1e9;
    char elb[32], etab[32] = "-";
    fmt_hms(el, elb, sizeof elb);
    if (done > 0 && done < total) fmt_hms(el / (double)done * (double)(total - done), etab, sizeof etab);
    else if (done == total) snprintf(etab, sizeof etab, "0:00");
    fprintf(f, "\r[%.*s%.*s] %zu/%zu  %zu running  %zu failed  elapsed %s  ETA %s \033[K", fill,
            "##############################", width - fill, "..............................", done, total,
            c->running, c->st->failed, elb, etab);
    fflush(f);
}

static void on_timer(uv_timer_t *t)
{
    draw_bar(t->data);
}

static void after_work(uv_work_t *req, int status);

static void queue_more(sweep_ctx_t *c)
{
    while (c->running < c->opt->jobs && c->next < c->njobs &&
           !(c->opt->interrupted && *c->opt->interrupted)) {
        job_t *j = &c->jobs[c->next++];
        j->req.data = j;
        if (uv_queue_work(&c->loop, &j->req, work, after_work)) {
            j->rc = ES_EIO;
            es_err_set(&j->err, ES_EIO, "cannot queue work on the libuv thread pool");
            c->st->failed++;
            continue;
        }
        c->running++;
    }
    if (c->running == 0 && uv_is_active((uv_handle_t *)&c->timer)) uv_timer_stop(&c->timer);
}

static void after_work(uv_work_t *req, int status)
{
    job_t *j = req->data;
    sweep_ctx_t *c = j->ctx;
    c->running--;
    if (status == UV_ECANCELED) j->rc = ES_EINTR;
    FILE *f = c->opt->log;
    char label[512];
    if (j->rc == ES_EINTR) {
        c->st->interrupted = true;
    } else {
        c->finished++;
        if (j->rc == 0) c->st->completed++;
        else c->st->failed++;
        if (f && (j->rc || !c->opt->tty_progress)) {
            if (c->opt->tty_progress) fputs("\r\033[K", f);
            es_sweep_point_label(c->spec, j->point, label, sizeof label);
            if (j->rc)
                fprintf(f, "eppsim sweep: point %zu seed %llu (%s) FAILED: %s\n", j->point,
                        (unsigned long long)j->seed, label, j->err.msg);
            else
                fprintf(f, "eppsim sweep: [%zu/%zu] point %zu seed %llu (%s) done in %.2f s\n", c->finished,
                        c->njobs, j->point, (unsigned long long)j->seed, label, j->wall_s);
            fflush(f);
        }
    }
    if (c->opt->interrupted && *c->opt->interrupted) c->st->interrupted = true;
    queue_more(c);
    draw_bar(c);
}

/* ---- resume: is a finished point still the experiment the spec asks for? ---- */

static void diff_note(char *buf, size_t size, size_t *off, int *count, const char *path, const es_node_t *a,
                      const es_node_t *b)
{
    if (*count < 4 && *off < size) {
        const char *was = a && a->kind == ES_NODE_SCALAR ? a->str : a ? "(a block)" : "(absent)";
        const char *now = b && b->kind == ES_NODE_SCALAR ? b->str : b ? "(a block)" : "(absent)";
        *off += (size_t)snprintf(buf + *off, size - *off, "%s%s: %s -> %s", *count ? ", " : "",
                                 *path ? path : "(document)", was, now);
    }
    (*count)++;
}

/* The leaf key paths where two documents differ, "key: old -> new", into buf. */
static void diff_nodes(const es_node_t *a, const es_node_t *b, const char *path, char *buf, size_t size,
                       size_t *off, int *count)
{
    char sub[512];
    if (!a || !b || a->kind != b->kind) { diff_note(buf, size, off, count, path, a, b); return; }
    if (a->kind == ES_NODE_SCALAR) {
        if (strcmp(a->str, b->str) || a->quoted != b->quoted) diff_note(buf, size, off, count, path, a, b);
        return;
    }
    if (a->kind == ES_NODE_SEQ) {
        size_t n = a->n > b->n ? a->n : b->n;
        for (size_t i = 0; i < n; i++) {
            snprintf(sub, sizeof sub, "%s%s%zu", path, *path ? "." : "", i);
            diff_nodes(i < a->n ? a->items[i] : NULL, i < b->n ? b->items[i] : NULL, sub, buf, size, off, count);
        }
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", a->keys[i]);
        diff_nodes(a->items[i], es_map_get(b, a->keys[i]), sub, buf, size, off, count);
    }
    for (size_t i = 0; i < b->n; i++) {
        if (es_map_get(a, b->keys[i])) continue;
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", b->keys[i]);
        diff_nodes(NULL, b->items[i], sub, buf, size, off, count);
    }
}

/* 1 when the point directory's experiment.yaml is the fully defaulted
 * experiment the spec now gives this point-seed (its fingerprint), else 0
 * with the changed keys in `changes`. */
static int point_current(const es_sweep_spec_t *s, size_t point, uint64_t seed, const char *dir, char *changes,
                         size_t size)
{
    changes[0] = '\0';
    es_err_t err;
    es_doc_t *doc;
    es_experiment_t exp;
    if (es_sweep_point_doc(s, point, seed, &doc, &err) || es_experiment_from_doc(doc, s->base_dir, &exp, &err)) {
        snprintf(changes, size, "%s", err.msg);
        return 0;
    }
    size_t len;
    char *now = es_run_experiment_yaml(&exp, &len);
    es_experiment_fini(&exp);
    char path[2100];
    snprintf(path, sizeof path, "%s/experiment.yaml", dir);
    char *was = read_text(path);
    int same = now && was && !strcmp(now, was);
    if (!same) {
        es_doc_t *da = NULL, *db = NULL;
        size_t off = 0;
        int count = 0;
        if (!was) snprintf(changes, size, "no experiment.yaml");
        else if (now && !es_doc_load_string(path, was, strlen(was), &da, &err) &&
                 !es_doc_load_string("spec", now, len, &db, &err)) {
            diff_nodes(da->root, db->root, "", changes, size, &off, &count);
            if (count > 4 && off < size) snprintf(changes + off, size - off, ", and %d more", count - 4);
        }
        if (!changes[0]) snprintf(changes, size, "experiment.yaml differs");
        es_doc_free(da);
        es_doc_free(db);
    }
    free(now);
    free(was);
    return same;
}

int es_sweep_run(const es_sweep_spec_t *s, const es_sweep_options_t *opt, es_sweep_stats_t *st, es_err_t *err)
{
    ES_ASSERT(opt->jobs >= 1 && opt->shard.count >= 1, "bad sweep options");
    memset(st, 0, sizeof *st);
    double t0 = now_s();
    char path[2048];
    snprintf(path, sizeof path, "%s/points", opt->out_dir);
    if (es_mkdirs(path)) return es_err_set(err, ES_EIO, "%s: cannot create: %s", path, strerror(errno));

    sweep_ctx_t c;
    memset(&c, 0, sizeof c);
    c.spec = s;
    c.opt = opt;
    c.st = st;
    c.jobs = calloc(s->npoints * s->nseeds, sizeof *c.jobs);
    if (!c.jobs) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->npoints; i++) {
        if (!es_sweep_shard_has(&opt->shard, i)) continue;
        for (size_t k = 0; k < s->nseeds; k++) {
            st->total++;
            char dir[2048];
            point_dir(opt->out_dir, i, s->seeds[k], dir, sizeof dir);
            snprintf(path, sizeof path, "%s/summary.json", dir);
            if (file_exists(path)) {
                char changes[1024];
                if (point_current(s, i, s->seeds[k], dir, changes, sizeof changes)) { st->skipped++; continue; }
                st->rerun++;
                if (opt->log)
                    fprintf(opt->log, "eppsim sweep: point %zu seed %llu changed since it ran (%s); running it again\n",
                            i, (unsigned long long)s->seeds[k], changes);
            }
            job_t *j = &c.jobs[c.njobs++];
            j->ctx = &c;
            j->point = i;
            j->seed = s->seeds[k];
        }
    }
    if (opt->log && st->skipped)
        fprintf(opt->log, "eppsim sweep: %zu of %zu runs already done (resumed)\n", st->skipped, st->total);

    if (c.njobs > 0) {
        /* The pool is global and sized at its first use: say how big before
         * anything queues.  At most `jobs` runs are queued at once anyway, so
         * a pool sized earlier in this process cannot run more. */
        char n[16];
        snprintf(n, sizeof n, "%u", opt->jobs > 1024 ? 1024 : opt->jobs);
        setenv("UV_THREADPOOL_SIZE", n, 1);
        if (uv_loop_init(&c.loop)) { free(c.jobs); return es_err_set(err, ES_EIO, "cannot start a libuv loop"); }
        c.t0_ns = uv_hrtime();
        uv_timer_init(&c.loop, &c.timer);
        c.timer.data = &c;
        if (opt->log && opt->tty_progress) uv_timer_start(&c.timer, on_timer, 1000, 1000);
        queue_more(&c);
        draw_bar(&c);
        uv_run(&c.loop, UV_RUN_DEFAULT);
        uv_close((uv_handle_t *)&c.timer, NULL);
        uv_run(&c.loop, UV_RUN_DEFAULT);
        uv_loop_close(&c.loop);
        if (opt->log && opt->tty_progress) fputc('\n', opt->log);
    }
    if (opt->interrupted && *opt->interrupted) st->interrupted = true;
    free(c.jobs);
    int rc = es_sweep_write_results(s, opt->out_dir, err);
    st->wall_s = now_s() - t0;
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
    double d = strtod(v, &end);
    if (*end) *bad = true;
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
    else snprintf(buf, size, "%.6f", v);
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
