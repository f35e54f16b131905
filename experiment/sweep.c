/*
 * sweep.c -- sweep specs, key paths, point documents and shards
 * (es_sweep.h, docs/sweeps.md; the table and the runner are sweep_table.c
 * and sweep_run.c).
 */
#define _GNU_SOURCE   /* open_memstream */
#include "es_sweep.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "es_experiment.h"
#include "es_scheduler.h"
#include "es_str.h"
#include "es_util.h"
#include "sweep_internal.h"


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

bool esi_sweep_file_exists(const char *path)
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
char *esi_sweep_node_text(const es_node_t *n)
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
        const char *dot;   /* the rest after this component; NULL at the last */
        if (es_key_path_part(p, part, sizeof part, &dot) <= 0) {
            es_node_destroy(value);
            return es_err_set(err, ES_EINVAL, "bad key path '%s'", full);
        }
        es_node_t *n = *slot;
        if (!n || es_node_is_null(n)) {
            es_node_t *m = es_node_new_map(doc);
            if (!m) { es_node_destroy(value); return ES_ENOMEM; }
            if (n) { m->line = n->line; m->col = n->col; }
            es_node_destroy(n);
            *slot = n = m;
        }
        if (n->kind == ES_NODE_SEQ) {
            char *end;
            unsigned long idx = strtoul(part, &end, 10);
            if (*end || !isdigit((unsigned char)part[0]) || idx >= n->n) {
                es_node_destroy(value);
                return es_node_err(err, ES_EINVAL, n, full, "'%s': a list of %zu items is indexed 0..%zu here",
                                   part, n->n, n->n ? n->n - 1 : 0);
            }
            if (!dot) { es_node_destroy(n->items[idx]); n->items[idx] = value; return 0; }
            slot = &n->items[idx];
        } else if (n->kind == ES_NODE_MAP) {
            if (!dot) return es_map_set(n, part, value) ? (es_node_destroy(value), ES_ENOMEM) : 0;
            long i = es_map_index(n, part);
            if (i < 0) {
                if (es_map_set(n, part, NULL)) { es_node_destroy(value); return ES_ENOMEM; }
                i = (long)n->n - 1;
            }
            slot = &n->items[i];
        } else {
            es_node_destroy(value);
            return es_node_err(err, ES_EINVAL, n, full, "cannot set '%s': its parent is a scalar", part);
        }
        p = dot;
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
        es_node_destroy(value);
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
        es_node_destroy(value);
        return rc;
    }
    /* a plugin the profile does not use yet: reference it with this weight */
    es_node_t *entry = es_node_new_map(doc);
    es_node_t *name = es_node_new_scalar(doc, ref, true);
    if (!entry || !name || es_map_set(entry, "pluginRef", name)) {
        es_node_destroy(entry); es_node_destroy(name); es_node_destroy(value);
        return ES_ENOMEM;
    }
    if (es_map_set(entry, "weight", value)) { es_node_destroy(entry); return ES_ENOMEM; }
    if (!refs) {
        es_node_t *seq = es_node_new_seq(doc);
        if (!seq) { es_node_destroy(entry); return ES_ENOMEM; }
        int rc = set_below(doc, &profiles->items[0], "plugins", key, seq, err);
        if (rc) { es_node_destroy(entry); return rc; }
        refs = (es_node_t *)es_map_get(prof, "plugins");
    }
    if (refs->kind != ES_NODE_SEQ || es_seq_append(refs, entry)) { es_node_destroy(entry); return ES_EINVAL; }
    return 0;
}

int es_sweep_apply(es_doc_t *doc, const es_doc_t *epp_src, const char *key, es_node_t *value, es_err_t *err)
{
    if (!value) return ES_ENOMEM;
    if (!key_needs_epp(key)) return set_below(doc, &doc->root, key, key, value, err);
    es_node_t *cfg = NULL;
    int rc = materialise_epp(doc, epp_src, key, value, &cfg, err);
    if (rc) { es_node_destroy(value); return rc; }
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
        es_node_destroy(value);
        return rc;
    }
    char sub[512];
    snprintf(sub, sizeof sub, "parameters.%s", dot + 1);
    /* the plugin entry is an item of a sequence: find its slot to set below it */
    es_node_t *plugins = (es_node_t *)es_map_get(cfg, "plugins");
    for (size_t i = 0; i < plugins->n; i++)
        if (plugins->items[i] == plugin) return set_below(doc, &plugins->items[i], sub, key, value, err);
    es_node_destroy(value);
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
    es_doc_destroy(s->epp_doc);
    es_doc_destroy(s->base);
    es_doc_destroy(s->doc);
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

/* The EndpointPickerConfig a document names (epp.config_file, relative to
 * base_dir), else the upstream default. */
static int epp_source_of(const es_node_t *root, const char *base_dir, es_doc_t **out, es_err_t *err)
{
    const es_node_t *file = root ? es_node_find(root, "epp.config_file") : NULL;
    const char *rel = NULL;
    int rc;
    if (file && (rc = es_node_to_str(file, "epp.config_file", &rel, err))) return rc;
    if (rel && *rel) {
        char path[2048];
        if (rel[0] == '/') snprintf(path, sizeof path, "%s", rel);
        else snprintf(path, sizeof path, "%s/%s", base_dir, rel);
        return es_doc_load_file(path, out, err);
    }
    return es_doc_load_string("<upstream default EndpointPickerConfig>", es_epp_config_default_text(),
                              strlen(es_epp_config_default_text()), out, err);
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
    return epp_source_of(root, s->base_dir, &s->epp_doc, err);
}

int es_sweep_override(es_doc_t *doc, const char *base_dir, es_doc_t *holder, es_doc_t **epp_src,
                      const char *assignment, es_err_t *err)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment || (size_t)(eq - assignment) >= 512)
        return es_err_set(err, ES_EINVAL, "--set %s: expected KEY.PATH=VALUE (e.g. server.max_num_seqs=128)",
                          assignment);
    char key[512];
    snprintf(key, sizeof key, "%.*s", (int)(eq - assignment), assignment);
    es_node_t *v = es_node_parse_value(holder, eq + 1, err);
    if (!v) return err && err->code ? err->code : ES_ENOMEM;
    if (key_needs_epp(key) && !*epp_src) {
        const es_node_t *inl = doc->root ? es_node_find(doc->root, "epp.config") : NULL;
        int rc = inl && !es_node_is_null(inl) ? 0 : epp_source_of(doc->root, base_dir, epp_src, err);
        if (rc) { es_node_destroy(v); return rc; }
    }
    return es_sweep_apply(doc, *epp_src, key, v, err);
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
        if (!(s->base = es_doc_create(doc->file)) || !(s->base->root = es_node_clone(base, doc))) { rc = ES_ENOMEM; goto fail; }
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
    es_doc_t *d = es_doc_create(s->base->file);
    if (!d) return ES_ENOMEM;
    if (s->base->root && !(d->root = es_node_clone(s->base->root, s->base->root->doc))) {
        es_doc_destroy(d);
        return ES_ENOMEM;
    }
    int rc;
    for (size_t k = 0; k < s->nkeys; k++) {
        const es_node_t *v = s->values[point * s->nkeys + k];
        if (!v) continue;   /* a point list that leaves this key at the base's value */
        if ((rc = es_sweep_apply(d, s->epp_doc, s->keys[k], es_node_clone(v, v->doc), err))) {
            es_doc_destroy(d);
            return rc;
        }
    }
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    if ((rc = es_sweep_apply(d, NULL, "seed", es_node_new_scalar(d, text, false), err))) {
        es_doc_destroy(d);
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
        char *t = esi_sweep_node_text(v);
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

