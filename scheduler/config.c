/*
 * config.c -- EndpointPickerConfig: strict loading, the upstream defaulting
 * pipeline (llm-d-router v0.10.0 pkg/epp/config/loader/configloader.go and
 * defaults.go, commit 71f4f099) and the dump of the configuration as run.
 *
 * Order, as upstream: static defaults (name = type), instantiation (missing
 * type, duplicate names, unknown types), system defaults (default profile,
 * profile handler, picker, weights 1.0, flow-control policies, parser,
 * saturation detector, data layer, auto-created data producers), validation
 * (profile names, pluginRefs), build checks (one picker per profile, exactly
 * one profile handler).  Every error names file:line: field.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "es_str.h"
#include "es_util.h"

/* llm-d-router v0.10.0 (71f4f09), pkg/epp/config/loader/configloader.go:
 * the GIE group is still decoded, with a deprecation notice. */
static const char *const k_api_versions[] = {"inference.networking.x-k8s.io/v1alpha1",
                                             "llm-d.ai/v1alpha1", NULL};
/* cmd/epp/runner/runner.go registers these two gates */
static const char *const k_gates[] = {"flowControl", "haPopulateNonLeaderDatastore", NULL};

/* Appends "file:line: message" to the config's warnings (out of memory: the
 * load fails with ES_ENOMEM, load_root checks c->nomem; a warning is never dropped). */
static void warn(es_epp_config_t *c, uint32_t line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int w = snprintf(msg, sizeof msg, "%s:%u: ", c->file ? c->file : "<config>", line);
    if (w > 0 && (size_t)w < sizeof msg) vsnprintf(msg + w, sizeof msg - (size_t)w, fmt, ap);
    va_end(ap);
    char **nw = realloc(c->warnings, (c->nwarnings + 1) * sizeof *nw);
    if (!nw) { c->nomem = true; return; }
    c->warnings = nw;
    if ((c->warnings[c->nwarnings] = es_strdup(msg))) c->nwarnings++;
    else c->nomem = true;
}

const char *es_epp_config_warning(const es_epp_config_t *c, size_t i)
{
    return c && i < c->nwarnings ? c->warnings[i] : NULL;
}

/* ------------------------------------------------------------------ */
/* durations and quantities                                            */
/* ------------------------------------------------------------------ */

int esi_parse_duration(const char *s, es_time_t *out)
{
    double ns;
    int rc = es_go_duration_parse(s, 1, &ns);
    if (rc == 0) *out = (es_time_t)llround(ns);
    return rc;
}

int esi_parse_quantity(const char *s, uint64_t *out)
{
    /* Kubernetes resource.Quantity subset: integer or decimal with k M G T P
     * (powers of 1000) or Ki Mi Gi Ti Pi (powers of 1024) */
    if (!s || !*s) return ES_EINVAL;
    char *end;
    errno = 0;
    double v = es_strtod(s, &end);
    if (end == s || v < 0) return ES_EINVAL;
    static const char *const suf[] = {"", "k", "M", "G", "T", "P", "Ki", "Mi", "Gi", "Ti", "Pi", NULL};
    static const double mul[] = {1, 1e3, 1e6, 1e9, 1e12, 1e15, 1024.0, 1048576.0, 1073741824.0,
                                 1099511627776.0, 1125899906842624.0};
    for (int i = 0; suf[i]; i++) {
        if (strcmp(end, suf[i]) == 0) {
            double r = ceil(v * mul[i]);
            if (r > 1.8e19) return ES_ERANGE;
            *out = (uint64_t)r;
            return 0;
        }
    }
    return ES_EINVAL;
}

/* ------------------------------------------------------------------ */
/* parameter tables                                                    */
/* ------------------------------------------------------------------ */

static int set_default(const esi_param_t *e, void *obj)
{
    char *f = (char *)obj + e->off;
    const char *d = e->def ? e->def : "";
    switch (e->type) {
    case ESI_P_INT:    *(int64_t *)f = strtoll(d, NULL, 10); return 0;
    case ESI_P_DOUBLE: *(double *)f = strtod(d, NULL); return 0;
    case ESI_P_BOOL:   *(bool *)f = strcmp(d, "true") == 0; return 0;
    case ESI_P_STR:    snprintf(f, ESI_STR_MAX, "%s", d); return 0;
    case ESI_P_DURATION: {
        es_time_t t = 0;
        if (*d && esi_parse_duration(d, &t)) return ES_EINVAL;
        *(es_time_t *)f = t;
        return 0;
    }
    case ESI_P_SUB:
        for (const esi_param_t *s = e->sub; s->key; s++) if (set_default(s, obj)) return ES_EINVAL;
        return 0;
    default: return 0;
    }
}

static int params_defaults(const esi_param_t *t, void *obj)
{
    for (; t && t->key; t++) {
        int rc = set_default(t, obj);
        ES_ASSERT(rc == 0, "bad default in a plugin parameter table");
    }
    return 0;
}

static int params_load(es_epp_config_t *c, const esi_param_t *t, void *obj, const es_node_t *map,
                       const char *path, es_err_t *err)
{
    if (!map || es_node_is_null(map)) return 0;
    int rc = es_node_expect_map(map, path, err);
    if (rc) return rc;
    if (t && t->key && strcmp(t->key, "*") == 0) {   /* accepts anything, not silently */
        if (map->n > 0) warn(c, map->line, "%s: accepted, no effect in eppsim", path);
        return 0;
    }
    const char *allowed[48];
    size_t na = 0;
    for (const esi_param_t *e = t; e && e->key && na < 47; e++) allowed[na++] = e->key;
    allowed[na] = NULL;
    if (na == 0 && map->n > 0) {
        char full[300];
        snprintf(full, sizeof full, "%s.%s", path, map->keys[0]);
        es_node_t pos = *map;
        pos.line = map->key_lines[0];
        return es_node_err(err, ES_EINVAL, &pos, full, "unknown parameter (this plugin takes none)");
    }
    rc = es_map_check_keys(map, path, allowed, err);
    if (rc) return rc;
    for (const esi_param_t *e = t; e && e->key; e++) {
        const es_node_t *v = es_map_get(map, e->key);
        if (!v || es_node_is_null(v)) continue;
        char full[300];
        snprintf(full, sizeof full, "%s.%s", path, e->key);
        char *f = (char *)obj + e->off;
        switch (e->type) {
        case ESI_P_INT: {
            int64_t x;
            rc = es_node_to_i64(v, full, (int64_t)e->min, (int64_t)e->max, &x, err);
            if (!rc) *(int64_t *)f = x;
            break;
        }
        case ESI_P_DOUBLE:
            rc = es_node_to_double(v, full, e->min, e->max, (double *)f, err);
            break;
        case ESI_P_BOOL:
            rc = es_node_to_bool(v, full, (bool *)f, err);
            break;
        case ESI_P_STR: {
            const char *s;
            rc = es_node_to_str(v, full, &s, err);
            if (!rc && strlen(s) >= ESI_STR_MAX)
                rc = es_node_err(err, ES_ERANGE, v, full, "longer than %d characters", ESI_STR_MAX - 1);
            if (!rc) snprintf(f, ESI_STR_MAX, "%s", s);
            break;
        }
        case ESI_P_DURATION: {
            const char *s;
            rc = es_node_to_str(v, full, &s, err);
            es_time_t d = 0;
            if (!rc && esi_parse_duration(s, &d))
                rc = es_node_err(err, ES_EINVAL, v, full, "expected a duration such as 200ms or 2s, got \"%s\"", s);
            if (!rc && (d < (es_time_t)e->min || (double)d > e->max))
                rc = es_node_err(err, ES_ERANGE, v, full, "duration out of range");
            if (!rc) *(es_time_t *)f = d;
            break;
        }
        case ESI_P_SUB:
            rc = params_load(c, e->sub, obj, v, full, err);
            break;
        case ESI_P_ANY:
            warn(c, v->line, "%s: accepted, no effect in eppsim", full);
            break;
        default: break;
        }
        if (rc) return rc;
    }
    return 0;
}

static void write_params(FILE *f, const esi_plugin_vt_t *vt, const esi_param_t *t, const void *obj, int indent)
{
    for (; t && t->key; t++) {
        const char *fld = (const char *)obj + t->off;
        if (vt->x_param_omitted && vt->x_param_omitted(obj, t->key)) {
            fprintf(f, "%*s# %s: the default (not written: it would warn when read back)\n", indent, "", t->key);
            continue;
        }
        switch (t->type) {
        case ESI_P_INT: fprintf(f, "%*s%s: %lld\n", indent, "", t->key, (long long)*(const int64_t *)fld); break;
        case ESI_P_DOUBLE: fprintf(f, "%*s%s: %.17g\n", indent, "", t->key, *(const double *)fld); break;
        case ESI_P_BOOL: fprintf(f, "%*s%s: %s\n", indent, "", t->key, *(const bool *)fld ? "true" : "false"); break;
        case ESI_P_STR:   /* a JSON string is a YAML double-quoted one */
            fprintf(f, "%*s%s: ", indent, "", t->key);
            es_json_write_string(f, fld);
            fputc('\n', f);
            break;
        case ESI_P_DURATION: {
            es_time_t d = *(const es_time_t *)fld;
            if (d % ES_MS == 0) fprintf(f, "%*s%s: %lldms\n", indent, "", t->key, (long long)(d / ES_MS));
            else fprintf(f, "%*s%s: %lldns\n", indent, "", t->key, (long long)d);
            break;
        }
        case ESI_P_SUB:
            fprintf(f, "%*s%s:\n", indent, "", t->key);
            write_params(f, vt, t->sub, obj, indent + 2);
            break;
        case ESI_P_NODE:
            if (vt->x_write_node) vt->x_write_node(obj, t->key, f, indent);
            break;
        default: break;
        }
    }
}

/* ------------------------------------------------------------------ */
/* building the config                                                 */
/* ------------------------------------------------------------------ */

void es_epp_config_destroy(es_epp_config_t *c)
{
    if (!c) return;
    free(c->file);
    free(c->api_version);
    for (size_t i = 0; i < c->ngates; i++) free(c->gates[i]);
    free(c->gates);
    for (size_t i = 0; i < c->nwarnings; i++) free(c->warnings[i]);
    free(c->warnings);
    for (size_t i = 0; i < c->nplugins; i++) { free(c->plugins[i].name); free(c->plugins[i].params); }
    free(c->plugins);
    for (size_t i = 0; i < c->nprofiles; i++) { free(c->profiles[i].name); free(c->profiles[i].refs); }
    free(c->profiles);
    free(c->flow.bands);
    free(c);
}

static int find_plugin(const es_epp_config_t *c, const char *name)
{
    for (size_t i = 0; i < c->nplugins; i++) if (strcmp(c->plugins[i].name, name) == 0) return (int)i;
    return -1;
}

/* Appends a plugin; params parsed from node (NULL: defaults). */
static int add_plugin(es_epp_config_t *c, const char *name, const esi_plugin_vt_t *vt,
                      const es_node_t *params, const char *path, uint32_t line, bool autoc,
                      es_err_t *err)
{
    esi_plugin_cfg_t *np = realloc(c->plugins, (c->nplugins + 1) * sizeof *np);
    if (!np) return es_err_set(err, ES_ENOMEM, "out of memory");
    c->plugins = np;
    esi_plugin_cfg_t *p = &c->plugins[c->nplugins];
    memset(p, 0, sizeof *p);
    p->vt = vt;
    p->line = line;
    p->auto_created = autoc;
    p->name = es_strdup(name);
    p->params = calloc(1, vt->params_size ? vt->params_size : 1);
    if (!p->name || !p->params) { free(p->name); free(p->params); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    c->nplugins++;
    params_defaults(vt->params, p->params);
    int rc = params_load(c, vt->params, p->params, params, path, err);
    const char *warning = NULL;
    if (!rc && vt->x_check) {
        rc = vt->x_check(p->params, params, path, &warning, err);
        if (rc && !params && line && err) {   /* no parameters node to point at: the plugin's line */
            char msg[ES_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            es_err_set(err, rc, "%s:%u: %s", c->file ? c->file : "<config>", line, msg);
        }
    }
    if (!rc && warning) warn(c, line, "%s: %s", path, warning);
    return rc;
}

static int add_auto_vt(es_epp_config_t *c, const esi_plugin_vt_t *vt, es_err_t *err)
{
    int i = find_plugin(c, vt->type_name);
    if (i >= 0) return i;
    int rc = add_plugin(c, vt->type_name, vt, NULL, vt->type_name, 0, true, err);
    return rc ? rc : (int)c->nplugins - 1;
}

static int add_auto(es_epp_config_t *c, const char *type, es_err_t *err)
{
    const esi_plugin_vt_t *vt = esi_registry_find(type);
    ES_ASSERT(vt != NULL, "auto-created plugin type not registered");
    return add_auto_vt(c, vt, err);
}

/* Levenshtein distance of two short names (capped at 63 characters) */
static size_t name_distance(const char *a, const char *b)
{
    size_t la = strlen(a) < 63 ? strlen(a) : 63, lb = strlen(b) < 63 ? strlen(b) : 63;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* The registry has about 100 types: name the closest one instead of all. */
static int unknown_type_err(const es_node_t *at, const char *path, const char *type, es_err_t *err)
{
    const char *best = NULL;
    size_t bd = SIZE_MAX;
    for (size_t i = 0; es_epp_plugin_type(i); i++) {
        size_t d = name_distance(type, es_epp_plugin_type(i));
        if (d < bd) { bd = d; best = es_epp_plugin_type(i); }
    }
    if (best && bd <= 3)
        return es_node_err(err, ES_EINVAL, at, path, "unknown plugin type \"%s\" (did you mean \"%s\"? the "
                           "types of llm-d-router v0.10 are listed in docs/scheduler.md)", type, best);
    return es_node_err(err, ES_EINVAL, at, path, "unknown plugin type \"%s\" (the types of llm-d-router v0.10 "
                       "are listed in docs/scheduler.md)", type);
}

static int parse_ref(const es_epp_config_t *c, const es_node_t *n, const char *path, int *out,
                     es_err_t *err)
{
    int rc = es_node_expect_map(n, path, err);
    if (rc) return rc;
    static const char *const keys[] = {"pluginRef", NULL};
    if ((rc = es_map_check_keys(n, path, keys, err))) return rc;
    const es_node_t *r = es_map_get(n, "pluginRef");
    char full[256];
    snprintf(full, sizeof full, "%s.pluginRef", path);
    if (!r) return es_node_err(err, ES_EINVAL, n, full, "missing");
    const char *name;
    if ((rc = es_node_to_str(r, full, &name, err))) return rc;
    *out = find_plugin(c, name);
    if (*out < 0) return es_node_err(err, ES_ENOTFOUND, r, full, "no plugin named \"%s\" in plugins", name);
    return 0;
}

static int parse_plugins(es_epp_config_t *c, const es_node_t *seq, es_err_t *err)
{
    int rc = es_node_expect_seq(seq, "plugins", err);
    if (rc) return rc;
    static const char *const keys[] = {"type", "name", "parameters", NULL};
    for (size_t i = 0; i < seq->n; i++) {
        const es_node_t *it = seq->items[i];
        char path[128];
        snprintf(path, sizeof path, "plugins[%zu]", i);
        if ((rc = es_node_expect_map(it, path, err))) return rc;
        if ((rc = es_map_check_keys(it, path, keys, err))) return rc;
        const es_node_t *tn = es_map_get(it, "type"), *nn = es_map_get(it, "name");
        char full[160];
        snprintf(full, sizeof full, "%s.type", path);
        if (!tn || es_node_is_null(tn)) return es_node_err(err, ES_EINVAL, it, full, "missing plugin type");
        const char *type, *name;
        if ((rc = es_node_to_str(tn, full, &type, err))) return rc;
        const esi_plugin_vt_t *vt = esi_registry_find(type);
        if (!vt) return unknown_type_err(tn, full, type, err);
        if (vt->klass == ESI_CLASS_MISSING)
            return es_node_err(err, ES_EUNSUPP, tn, full,
                               "plugin type \"%s\" (llm-d-router v0.10) is not implemented by eppsim yet: %s",
                               type, vt->note);
        name = type;   /* applyStaticDefaults: name = type */
        if (nn && !es_node_is_null(nn)) {
            snprintf(full, sizeof full, "%s.name", path);
            if ((rc = es_node_to_str(nn, full, &name, err))) return rc;
            if (!*name) name = type;
        }
        if (find_plugin(c, name) >= 0) {
            snprintf(full, sizeof full, "%s.name", path);
            return es_node_err(err, ES_EINVAL, nn ? nn : it, full, "duplicate plugin name \"%s\"", name);
        }
        if (vt->replaced_by)
            warn(c, it->line, "DEPRECATION warning: plugin is deprecated (plugin %s, type %s; use %s)", name, type,
                 vt->replaced_by);
        if (vt->alpha)
            warn(c, it->line, "plugin '%s' (type: '%s') has Alpha stability level (upstream refuses it without "
                 "--allow-experimental-plugins)", name, type);
        if (vt->klass == ESI_CLASS_MEANINGLESS)
            warn(c, it->line, "plugin '%s' (type: '%s') has no effect in a one-cluster simulation: %s", name, type,
                 vt->note);
        snprintf(full, sizeof full, "%s.parameters", path);
        if ((rc = add_plugin(c, name, vt, es_map_get(it, "parameters"), full, it->line, false, err)))
            return rc;
    }
    return 0;
}

static int parse_profiles(es_epp_config_t *c, const es_node_t *seq, es_err_t *err)
{
    int rc = es_node_expect_seq(seq, "schedulingProfiles", err);
    if (rc) return rc;
    if (seq->n > ES_SCHED_MAX_PROFILES)
        return es_node_err(err, ES_ERANGE, seq, "schedulingProfiles", "at most %d profiles", ES_SCHED_MAX_PROFILES);
    c->profiles = calloc(seq->n ? seq->n : 1, sizeof *c->profiles);
    if (!c->profiles) return es_err_set(err, ES_ENOMEM, "out of memory");
    static const char *const pkeys[] = {"name", "plugins", NULL};
    static const char *const rkeys[] = {"pluginRef", "weight", NULL};
    for (size_t i = 0; i < seq->n; i++) {
        const es_node_t *it = seq->items[i];
        char path[128], full[192];
        snprintf(path, sizeof path, "schedulingProfiles[%zu]", i);
        if ((rc = es_node_expect_map(it, path, err))) return rc;
        if ((rc = es_map_check_keys(it, path, pkeys, err))) return rc;
        esi_profile_cfg_t *p = &c->profiles[c->nprofiles++];
        p->line = it->line;
        const es_node_t *nn = es_map_get(it, "name");
        const char *name = "";
        snprintf(full, sizeof full, "%s.name", path);
        if (nn && (rc = es_node_to_str(nn, full, &name, err))) return rc;
        if (!*name) return es_node_err(err, ES_EINVAL, nn ? nn : it, full, "profile name must not be empty");
        for (size_t j = 0; j + 1 < c->nprofiles; j++)
            if (strcmp(c->profiles[j].name, name) == 0)
                return es_node_err(err, ES_EINVAL, nn, full, "duplicate profile name \"%s\"", name);
        if (!(p->name = es_strdup(name))) return es_err_set(err, ES_ENOMEM, "out of memory");
        const es_node_t *pl = es_map_get(it, "plugins");
        snprintf(full, sizeof full, "%s.plugins", path);
        if (!pl || es_node_is_null(pl)) continue;
        if ((rc = es_node_expect_seq(pl, full, err))) return rc;
        p->refs = calloc(pl->n + 1, sizeof *p->refs);
        if (!p->refs) return es_err_set(err, ES_ENOMEM, "out of memory");
        for (size_t k = 0; k < pl->n; k++) {
            const es_node_t *r = pl->items[k];
            char rp[240], f2[280];
            snprintf(rp, sizeof rp, "%s.plugins[%zu]", path, k);
            if ((rc = es_node_expect_map(r, rp, err))) return rc;
            if ((rc = es_map_check_keys(r, rp, rkeys, err))) return rc;
            const es_node_t *ref = es_map_get(r, "pluginRef");
            snprintf(f2, sizeof f2, "%s.pluginRef", rp);
            if (!ref) return es_node_err(err, ES_EINVAL, r, f2, "missing");
            const char *rn;
            if ((rc = es_node_to_str(ref, f2, &rn, err))) return rc;
            int pi = find_plugin(c, rn);
            if (pi < 0) return es_node_err(err, ES_ENOTFOUND, ref, f2, "no plugin named \"%s\" in plugins", rn);
            esi_ref_t *er = &p->refs[p->nrefs++];
            er->plugin = (uint32_t)pi;
            const es_node_t *w = es_map_get(r, "weight");
            if (w && !es_node_is_null(w)) {
                snprintf(f2, sizeof f2, "%s.weight", rp);
                if ((rc = es_node_to_double(w, f2, -1e12, 1e12, &er->weight, err))) return rc;
                er->has_weight = true;
            }
        }
    }
    return 0;
}

static int parse_band(es_epp_config_t *c, const es_node_t *n, const char *path, esi_band_cfg_t *b,
                      bool need_priority, es_err_t *err)
{
    int rc = es_node_expect_map(n, path, err);
    if (rc) return rc;
    static const char *const keys[] = {"priority", "maxBytes", "maxRequests", "fairnessPolicyRef",
                                       "orderingPolicyRef", NULL};
    if ((rc = es_map_check_keys(n, path, keys, err))) return rc;
    char full[256];
    const es_node_t *v;
    if ((v = es_map_get(n, "priority"))) {
        snprintf(full, sizeof full, "%s.priority", path);
        if ((rc = es_node_to_i64(v, full, INT32_MIN, INT32_MAX, &b->priority, err))) return rc;
    } else if (need_priority) {
        snprintf(full, sizeof full, "%s.priority", path);
        return es_node_err(err, ES_EINVAL, n, full, "missing");
    }
    static const char *const qk[] = {"maxBytes", "maxRequests"};
    uint64_t *qv[] = {&b->max_bytes, &b->max_requests};
    for (int i = 0; i < 2; i++) {
        if (!(v = es_map_get(n, qk[i]))) continue;
        snprintf(full, sizeof full, "%s.%s", path, qk[i]);
        if (v->kind != ES_NODE_SCALAR || esi_parse_quantity(v->str, qv[i]))
            return es_node_err(err, ES_EINVAL, v, full, "expected a quantity such as 1000, 1k or 1Gi");
    }
    static const char *const rk[] = {"fairnessPolicyRef", "orderingPolicyRef"};
    int32_t *rv[] = {&b->fairness, &b->ordering};
    unsigned role[] = {ESI_FAIRNESS, ESI_ORDERING};
    for (int i = 0; i < 2; i++) {
        if (!(v = es_map_get(n, rk[i]))) continue;
        snprintf(full, sizeof full, "%s.%s", path, rk[i]);
        const char *name;
        if ((rc = es_node_to_str(v, full, &name, err))) return rc;
        int pi = find_plugin(c, name);
        if (pi < 0) {   /* the default policies are registered under their type names */
            const esi_plugin_vt_t *vt = esi_registry_find(name);
            if (vt && (vt->roles & role[i])) pi = add_auto(c, name, err);
            if (pi < 0 && err && err->code) return err->code;
        }
        if (pi < 0) return es_node_err(err, ES_ENOTFOUND, v, full, "no plugin named \"%s\"", name);
        if (!(c->plugins[pi].vt->roles & role[i]))
            return es_node_err(err, ES_EINVAL, v, full, "plugin \"%s\" is not a %s policy", name,
                               i == 0 ? "fairness" : "ordering");
        *rv[i] = pi;
    }
    return 0;
}

static int parse_flow(es_epp_config_t *c, const es_node_t *n, es_err_t *err)
{
    int rc = es_node_expect_map(n, "flowControl", err);
    if (rc) return rc;
    static const char *const keys[] = {"maxBytes", "maxRequests", "defaultRequestTTL", "defaultPriorityBand",
                                       "defaultNegativePriorityBand", "priorityBands", "usageLimitPolicyPluginRef",
                                       "saturationDetector", "enableEviction", NULL};
    if ((rc = es_map_check_keys(n, "flowControl", keys, err))) return rc;
    const es_node_t *v;
    if ((v = es_map_get(n, "maxBytes")) && (v->kind != ES_NODE_SCALAR || esi_parse_quantity(v->str, &c->flow.max_bytes)))
        return es_node_err(err, ES_EINVAL, v, "flowControl.maxBytes", "expected a quantity such as 1Gi");
    if ((v = es_map_get(n, "maxRequests")) && (v->kind != ES_NODE_SCALAR || esi_parse_quantity(v->str, &c->flow.max_requests)))
        return es_node_err(err, ES_EINVAL, v, "flowControl.maxRequests", "expected a quantity such as 1k");
    if ((v = es_map_get(n, "defaultRequestTTL"))) {
        if (v->kind != ES_NODE_SCALAR || esi_parse_duration(v->str, &c->flow.ttl))
            return es_node_err(err, ES_EINVAL, v, "flowControl.defaultRequestTTL", "expected a duration such as 30s");
    }
    if ((v = es_map_get(n, "defaultPriorityBand")))
        if ((rc = parse_band(c, v, "flowControl.defaultPriorityBand", &c->flow.def_band, false, err))) return rc;
    if ((v = es_map_get(n, "defaultNegativePriorityBand"))) {
        c->flow.neg_band = c->flow.def_band;
        c->flow.neg_band.fairness = c->flow.neg_band.ordering = -1;
        if ((rc = parse_band(c, v, "flowControl.defaultNegativePriorityBand", &c->flow.neg_band, false, err)))
            return rc;
        c->flow.has_neg_band = true;
    }
    if ((v = es_map_get(n, "enableEviction"))) {
        bool on;
        if ((rc = es_node_to_bool(v, "flowControl.enableEviction", &on, err))) return rc;
        c->flow.eviction = on;
    }
    if ((v = es_map_get(n, "priorityBands"))) {
        if ((rc = es_node_expect_seq(v, "flowControl.priorityBands", err))) return rc;
        c->flow.bands = calloc(v->n + 1, sizeof *c->flow.bands);
        if (!c->flow.bands) return es_err_set(err, ES_ENOMEM, "out of memory");
        for (size_t i = 0; i < v->n; i++) {
            char path[96];
            snprintf(path, sizeof path, "flowControl.priorityBands[%zu]", i);
            esi_band_cfg_t *b = &c->flow.bands[c->flow.nbands];
            *b = c->flow.def_band;
            if ((rc = parse_band(c, v->items[i], path, b, true, err))) return rc;
            for (size_t j = 0; j < c->flow.nbands; j++)
                if (c->flow.bands[j].priority == b->priority)
                    return es_node_err(err, ES_EINVAL, v->items[i], path, "duplicate band priority %lld",
                                       (long long)b->priority);
            c->flow.nbands++;
        }
    }
    if ((v = es_map_get(n, "usageLimitPolicyPluginRef"))) {
        const char *name;
        if ((rc = es_node_to_str(v, "flowControl.usageLimitPolicyPluginRef", &name, err))) return rc;
        int pi = find_plugin(c, name);
        if (pi < 0 || !(c->plugins[pi].vt->roles & ESI_USAGE))
            return es_node_err(err, ES_ENOTFOUND, v, "flowControl.usageLimitPolicyPluginRef",
                               "no usage limit policy plugin named \"%s\"", name);
        c->flow.usage = pi;
    }
    return 0;
}

static bool profile_has_role(const es_epp_config_t *c, const esi_profile_cfg_t *p, unsigned role)
{
    for (uint32_t i = 0; i < p->nrefs; i++) if (c->plugins[p->refs[i].plugin].vt->roles & role) return true;
    return false;
}

static int append_ref(esi_profile_cfg_t *p, uint32_t plugin, es_err_t *err)
{
    esi_ref_t *nr = realloc(p->refs, (p->nrefs + 1) * sizeof *nr);
    if (!nr) return es_err_set(err, ES_ENOMEM, "out of memory");
    p->refs = nr;
    p->refs[p->nrefs].plugin = plugin;
    p->refs[p->nrefs].weight = 0;
    p->refs[p->nrefs].has_weight = false;
    p->nrefs++;
    return 0;
}

static int build(es_epp_config_t *c, const es_node_t *root, const es_node_t *sat_node, bool has_parser,
                 bool has_datalayer, es_err_t *err)
{
    int rc;
    /* default profile with every Filter, Scorer and Picker, in config order */
    if (c->nprofiles == 0) {
        free(c->profiles);
        c->profiles = calloc(1, sizeof *c->profiles);
        if (!c->profiles || !(c->profiles[0].name = es_strdup("default")))
            return es_err_set(err, ES_ENOMEM, "out of memory");
        c->nprofiles = 1;
        c->profiles[0].line = root ? root->line : 0;
        for (size_t i = 0; i < c->nplugins; i++)
            if (c->plugins[i].vt->roles & (ESI_FILTER | ESI_SCORER | ESI_PICKER))
                if ((rc = append_ref(&c->profiles[0], (uint32_t)i, err))) return rc;
    }
    /* profile handler */
    int nh = 0;
    c->handler = -1;
    for (size_t i = 0; i < c->nplugins; i++)
        if (c->plugins[i].vt->roles & ESI_HANDLER) { nh++; if (c->handler < 0) c->handler = (int)i; }
    if (nh == 0 && c->nprofiles == 1) {
        if ((rc = add_auto(c, "single-profile-handler", err)) < 0) return rc;
        c->handler = rc;
        nh = 1;
    }
    /* picker: the first declared one, else max-score-picker */
    int picker = -1;
    for (size_t i = 0; i < c->nplugins && picker < 0; i++)
        if (c->plugins[i].vt->roles & ESI_PICKER) picker = (int)i;
    for (size_t p = 0; p < c->nprofiles; p++) {
        if (profile_has_role(c, &c->profiles[p], ESI_PICKER)) continue;
        if (picker < 0 && (picker = add_auto(c, "max-score-picker", err)) < 0) return picker;
        if ((rc = append_ref(&c->profiles[p], (uint32_t)picker, err))) return rc;
    }
    /* weights */
    for (size_t p = 0; p < c->nprofiles; p++)
        for (uint32_t i = 0; i < c->profiles[p].nrefs; i++)
            if (!c->profiles[p].refs[i].has_weight) {
                c->profiles[p].refs[i].weight = 1.0;   /* DefaultScorerWeight */
                c->profiles[p].refs[i].has_weight = true;
            }
    /* flow-control defaults */
    int fcfs = add_auto(c, "fcfs-ordering-policy", err);
    int strict = add_auto(c, "global-strict-fairness-policy", err);
    int usage = add_auto(c, "static-usage-limit-policy", err);
    if (fcfs < 0 || strict < 0 || usage < 0) return err ? err->code : ES_ENOMEM;
    if (c->flow.def_band.fairness < 0) c->flow.def_band.fairness = strict;
    if (c->flow.def_band.ordering < 0) c->flow.def_band.ordering = fcfs;
    if (c->flow.def_band.max_bytes == 0) c->flow.def_band.max_bytes = 1000000000ULL;
    for (size_t i = 0; i < c->flow.nbands; i++) {
        if (c->flow.bands[i].fairness < 0) c->flow.bands[i].fairness = c->flow.def_band.fairness;
        if (c->flow.bands[i].ordering < 0) c->flow.bands[i].ordering = c->flow.def_band.ordering;
        if (c->flow.bands[i].max_bytes == 0) c->flow.bands[i].max_bytes = c->flow.def_band.max_bytes;
    }
    if (c->flow.has_neg_band) {
        esi_band_cfg_t *nb = &c->flow.neg_band;
        if (nb->fairness < 0) nb->fairness = c->flow.def_band.fairness;
        if (nb->ordering < 0) nb->ordering = c->flow.def_band.ordering;
        if (nb->max_bytes == 0) nb->max_bytes = c->flow.def_band.max_bytes;
    }
    if (c->flow.usage < 0) c->flow.usage = usage;
    if (!has_parser && (rc = add_auto(c, "openai-parser", err)) < 0) return rc;
    /* saturation detector */
    if (!sat_node) {
        if ((rc = add_auto(c, "utilization-detector", err)) < 0) return rc;
        c->saturation = rc;
    }
    if (!has_datalayer) {
        if ((rc = add_auto(c, "metrics-data-source", err)) < 0) return rc;
        if ((rc = add_auto(c, "core-metrics-extractor", err)) < 0) return rc;
    }
    /* build checks */
    for (size_t p = 0; p < c->nprofiles; p++) {
        int np = 0, ns = 0;
        for (uint32_t i = 0; i < c->profiles[p].nrefs; i++) {
            unsigned r = c->plugins[c->profiles[p].refs[i].plugin].vt->roles;
            if (r & ESI_PICKER) np++;
            if (r & ESI_SCORER) ns++;
        }
        char path[64];
        snprintf(path, sizeof path, "schedulingProfiles[%zu]", p);
        es_node_t pos = {0};
        pos.line = c->profiles[p].line;
        pos.doc = root ? root->doc : NULL;
        if (np > 1)
            return es_node_err(err, ES_EINVAL, &pos, path, "profile \"%s\" has %d pickers (at most one)",
                               c->profiles[p].name, np);
        if (ns > ES_SCHED_MAX_SCORERS)
            return es_node_err(err, ES_ERANGE, &pos, path, "more than %d scorers", ES_SCHED_MAX_SCORERS);
    }
    if (nh == 0) return es_node_err(err, ES_EINVAL, root, "plugins", "no profile handler configured (%zu profiles need one, e.g. disagg-profile-handler)", c->nprofiles);
    if (nh > 1) return es_node_err(err, ES_EINVAL, root, "plugins", "more than one profile handler configured");
    const esi_plugin_cfg_t *h = &c->plugins[c->handler];
    es_node_t hpos = {0};
    hpos.line = h->line;
    hpos.doc = root ? root->doc : NULL;
    c->bind = (esi_handler_bind_t){.split = false, .primary = 0, .prefill = -1, .decider = -1, .encode = -1,
                                   .encode_decider = -1};
    if (h->vt->x_bind && (rc = h->vt->x_bind(h->params, c, &c->bind, &hpos, err))) return rc;
    /* auto-created producer of LatencyPredictionInfo (it consumes prefix
     * match info, so it comes before that producer's own defaulting) */
    int lat = -1;
    bool lat_need = false;
    for (size_t i = 0; i < c->nplugins; i++) {
        if (c->plugins[i].vt->produces & ESI_DATA_LATENCY) {
            if (lat >= 0) {
                es_node_t pos = {0};
                pos.line = c->plugins[i].line;
                pos.doc = root ? root->doc : NULL;
                return es_node_err(err, ES_EUNSUPP, &pos, "plugins", "\"%s\" and \"%s\" both produce latency "
                                   "predictions: eppsim runs one predictor per config", c->plugins[lat].name,
                                   c->plugins[i].name);
            }
            lat = (int)i;
        }
        unsigned eats = c->plugins[i].vt->consumes;
        if (c->plugins[i].vt->x_consumes) eats |= c->plugins[i].vt->x_consumes(c->plugins[i].params);
        if (eats & ESI_DATA_LATENCY) lat_need = true;
    }
    if (lat_need && lat < 0) {
        const esi_plugin_vt_t *vt = esi_registry_default_producer(ESI_DATA_LATENCY);
        ES_ASSERT(vt != NULL, "no default producer of LatencyPredictionInfo registered");
        if ((rc = add_auto_vt(c, vt, err)) < 0) return rc;
    }
    /* auto-created producer of EncoderCacheMatchInfo (RegisterAsDefaultProducer) */
    bool mm_have = false, mm_need = false;
    for (size_t i = 0; i < c->nplugins; i++) {
        if (c->plugins[i].vt->produces & ESI_DATA_MM_MATCH) mm_have = true;
        if (c->plugins[i].vt->consumes & ESI_DATA_MM_MATCH) mm_need = true;
    }
    if (mm_need && !mm_have) {
        const esi_plugin_vt_t *vt = esi_registry_default_producer(ESI_DATA_MM_MATCH);
        ES_ASSERT(vt != NULL, "no default producer of EncoderCacheMatchInfo registered");
        if ((rc = add_auto_vt(c, vt, err)) < 0) return rc;
    }
    /* auto-created producer of PrefixCacheMatchInfo */
    c->producer = -1;
    bool need = false;
    for (size_t i = 0; i < c->nplugins; i++) {
        if (c->plugins[i].vt->produces & ESI_DATA_PREFIX_MATCH) {
            if (c->producer >= 0) {
                es_node_t pos = {0};
                pos.line = c->plugins[i].line;
                pos.doc = root ? root->doc : NULL;
                return es_node_err(err, ES_EUNSUPP, &pos, "plugins", "\"%s\" and \"%s\" both produce prefix match "
                                   "info: eppsim runs one producer per config", c->plugins[c->producer].name,
                                   c->plugins[i].name);
            }
            c->producer = (int)i;
        }
        if (c->plugins[i].vt->consumes & ESI_DATA_PREFIX_MATCH) need = true;
    }
    for (size_t i = 0; i < c->nplugins; i++) {
        const esi_plugin_vt_t *vt = c->plugins[i].vt;
        if (!vt->x_link) continue;
        es_node_t pos = {0};
        pos.line = c->plugins[i].line;
        pos.doc = root ? root->doc : NULL;
        if ((rc = vt->x_link(c->plugins[i].params, c, &pos, err))) return rc;
    }
    /* prefixMatchInfoProducerName names the producer a consumer reads */
    for (size_t i = 0; i < c->nplugins; i++) {
        const esi_plugin_vt_t *vt = c->plugins[i].vt;
        const char *ref = vt->x_producer_ref ? vt->x_producer_ref(c->plugins[i].params) : NULL;
        if (!ref || !*ref) continue;
        int pi = find_plugin(c, ref);
        if (pi < 0 || !(c->plugins[pi].vt->produces & ESI_DATA_PREFIX_MATCH)) {
            es_node_t pos = {0};
            pos.line = c->plugins[i].line;
            pos.doc = root ? root->doc : NULL;
            return es_node_err(err, ES_ENOTFOUND, &pos, "parameters.prefixMatchInfoProducerName",
                               "plugin \"%s\": no prefix match info producer named \"%s\"", c->plugins[i].name, ref);
        }
    }
    if (need && c->producer < 0) {
        const esi_plugin_vt_t *vt = esi_registry_default_producer(ESI_DATA_PREFIX_MATCH);
        ES_ASSERT(vt != NULL, "no default producer of PrefixCacheMatchInfo registered");
        if ((rc = add_auto_vt(c, vt, err)) < 0) return rc;
        c->producer = rc;
    }
    return 0;
}

/* featureGates item: "gate" or "gate=true|false" (the registered v0.10 gates) */
static int parse_gate(es_epp_config_t *c, const es_node_t *n, const char *path, es_err_t *err)
{
    const char *s;
    int rc = es_node_to_str(n, path, &s, err);
    if (rc) return rc;
    const char *eq = strchr(s, '=');
    size_t len = eq ? (size_t)(eq - s) : strlen(s);
    bool on = true;
    if (eq && strcmp(eq + 1, "true") && strcmp(eq + 1, "false"))
        return es_node_err(err, ES_EINVAL, n, path, "expected gate or gate=true|false, got \"%s\"", s);
    if (eq) on = strcmp(eq + 1, "true") == 0;
    for (int g = 0; k_gates[g]; g++) {
        if (strlen(k_gates[g]) != len || strncmp(k_gates[g], s, len)) continue;
        if (!on) return 0;
        if (!(c->gates[c->ngates] = es_strdup(k_gates[g]))) return es_err_set(err, ES_ENOMEM, "out of memory");
        c->ngates++;
        if (g == 0) c->flow_control = true;
        return 0;
    }
    return es_node_err(err, ES_EINVAL, n, path, "unknown feature gate \"%.*s\" (registered: flowControl, "
                       "haPopulateNonLeaderDatastore)", (int)len, s);
}

/* {pluginRef: name} naming a plugin with `role`; *out its index (NULL: not wanted) */
static int parse_ref_role(es_epp_config_t *c, const es_node_t *n, const char *path, unsigned role,
                          const char *what, int *out, es_err_t *err)
{
    int pi, rc = parse_ref(c, n, path, &pi, err);
    if (rc) return rc;
    if (!(c->plugins[pi].vt->roles & role)) {
        char full[200];
        snprintf(full, sizeof full, "%s.pluginRef", path);
        return es_node_err(err, ES_EINVAL, es_map_get(n, "pluginRef"), full, "plugin \"%s\" is not a %s",
                           c->plugins[pi].name, what);
    }
    if (out) *out = pi;
    return 0;
}

static int parse_ref_list(es_epp_config_t *c, const es_node_t *seq, const char *path, unsigned role,
                          const char *what, es_err_t *err)
{
    if (!seq || es_node_is_null(seq)) return 0;
    int rc = es_node_expect_seq(seq, path, err);
    for (size_t i = 0; !rc && i < seq->n; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        rc = parse_ref_role(c, seq->items[i], p, role, what, NULL, err);
    }
    return rc;
}

/* dataLayer (v0.10 DataLayerConfig): the simulation feeds the data, but every
 * reference is checked as upstream does. */
static int parse_datalayer(es_epp_config_t *c, const es_node_t *dl, es_err_t *err)
{
    static const char *const dk[] = {"injectDefaults", "sources", "discovery", "crossReplicaSyncerPluginRef",
                                     "crossReplicaSyncInterval", NULL};
    int rc = es_node_expect_map(dl, "dataLayer", err);
    if (rc || (rc = es_map_check_keys(dl, "dataLayer", dk, err))) return rc;
    const es_node_t *v;
    if ((v = es_map_get(dl, "injectDefaults"))) {
        bool b;
        if ((rc = es_node_to_bool(v, "dataLayer.injectDefaults", &b, err))) return rc;
    }
    if ((v = es_map_get(dl, "sources")) && !es_node_is_null(v)) {
        if ((rc = es_node_expect_seq(v, "dataLayer.sources", err))) return rc;
        for (size_t i = 0; i < v->n; i++) {
            char p[96], pe[128];
            snprintf(p, sizeof p, "dataLayer.sources[%zu]", i);
            static const char *const sk[] = {"pluginRef", "extractors", NULL};
            const es_node_t *src = v->items[i];
            if ((rc = es_node_expect_map(src, p, err)) || (rc = es_map_check_keys(src, p, sk, err))) return rc;
            const es_node_t *ref = es_map_get(src, "pluginRef");
            snprintf(pe, sizeof pe, "%s.pluginRef", p);
            if (!ref) return es_node_err(err, ES_EINVAL, src, pe, "missing");
            const char *name;
            if ((rc = es_node_to_str(ref, pe, &name, err))) return rc;
            int pi = find_plugin(c, name);
            if (pi < 0) return es_node_err(err, ES_ENOTFOUND, ref, pe, "no plugin named \"%s\" in plugins", name);
            if (!(c->plugins[pi].vt->roles & (ESI_SOURCE | ESI_INERT)))
                return es_node_err(err, ES_EINVAL, ref, pe, "plugin \"%s\" is not a data source", name);
            snprintf(pe, sizeof pe, "%s.extractors", p);
            const es_node_t *ex = es_map_get(src, "extractors");
            if (ex && !es_node_is_null(ex)) {
                if ((rc = es_node_expect_seq(ex, pe, err))) return rc;
                for (size_t k = 0; k < ex->n; k++) {
                    char q[160];
                    snprintf(q, sizeof q, "%s[%zu]", pe, k);
                    if ((rc = parse_ref(c, ex->items[k], q, &pi, err))) return rc;
                }
            }
        }
    }
    if ((v = es_map_get(dl, "discovery")) &&
        (rc = parse_ref_role(c, v, "dataLayer.discovery", ESI_DISCOVERY, "discovery plugin", NULL, err)))
        return rc;
    /* configloader.go buildDataLayerConfig: the reference must be a
     * CrossReplicaSyncer (v0.10.0 registers none; eppsim-shared-syncer is eppsim's) */
    if ((v = es_map_get(dl, "crossReplicaSyncerPluginRef"))) {
        const char *name;
        if ((rc = es_node_to_str(v, "dataLayer.crossReplicaSyncerPluginRef", &name, err))) return rc;
        int pi = *name ? find_plugin(c, name) : -1;
        if (*name && (pi < 0 || !(c->plugins[pi].vt->roles & ESI_SYNCER)))
            return es_node_err(err, ES_EINVAL, v, "dataLayer.crossReplicaSyncerPluginRef",
                               "the plugin %s is not a fwkdl.CrossReplicaSyncer", name);
        c->syncer = pi;
        if (pi >= 0)
            warn(c, v->line, "dataLayer.crossReplicaSyncerPluginRef: %s is eppsim's shared store (replicas publish "
                 "their in-flight counts every crossReplicaSyncInterval); llm-d-router v0.10.0 registers no "
                 "CrossReplicaSyncer", name);
    }
    if ((v = es_map_get(dl, "crossReplicaSyncInterval"))) {
        if (v->kind != ES_NODE_SCALAR || esi_parse_duration(v->str, &c->sync_interval))
            return es_node_err(err, ES_EINVAL, v, "dataLayer.crossReplicaSyncInterval",
                               "expected a duration such as 100ms");
        if (c->syncer < 0)
            warn(c, v->line, "dataLayer.crossReplicaSyncInterval: no effect without crossReplicaSyncerPluginRef "
                 "(as upstream: no cross-replica publisher; each replica counts its own in-flight requests)");
    }
    /* cross_replica_publisher.go: a non-positive interval falls back to 200ms */
    if (c->syncer >= 0 && c->sync_interval <= 0) c->sync_interval = 200 * ES_MS;
    return 0;
}

static int load_root(const es_node_t *root, const char *file, es_epp_config_t **out, es_err_t *err)
{
    *out = NULL;
    es_epp_config_t *c = calloc(1, sizeof *c);
    if (!c) return es_err_set(err, ES_ENOMEM, "out of memory");
    c->saturation = -1;
    c->producer = -1;
    c->syncer = -1;
    c->flow.def_band.fairness = c->flow.def_band.ordering = -1;
    c->flow.usage = -1;
    int rc = 0;
    if (!(c->file = es_strdup(file ? file : "<config>"))) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
    static const char *const keys[] = {"apiVersion", "kind", "featureGates", "plugins", "schedulingProfiles",
                                       "saturationDetector", "dataLayer", "flowControl", "parser",
                                       "requestHandler", NULL};
    if ((rc = es_node_expect_map(root, "", err))) goto fail;
    if ((rc = es_map_check_keys(root, "", keys, err))) goto fail;
    const es_node_t *v = es_map_get(root, "apiVersion");
    int ai;
    if (!v) { rc = es_node_err(err, ES_EINVAL, root, "apiVersion", "missing (use %s)", k_api_versions[1]); goto fail; }
    if ((rc = es_node_to_enum(v, "apiVersion", k_api_versions, &ai, err))) goto fail;
    if (!(c->api_version = es_strdup(k_api_versions[ai]))) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
    if (ai == 0)
        warn(c, v->line, "DEPRECATION: apiVersion inference.networking.x-k8s.io/v1alpha1/EndpointPickerConfig is "
             "deprecated (replacement llm-d.ai/v1alpha1/EndpointPickerConfig)");
    v = es_map_get(root, "kind");
    const char *kind;
    if (!v) { rc = es_node_err(err, ES_EINVAL, root, "kind", "missing (use EndpointPickerConfig)"); goto fail; }
    if ((rc = es_node_to_str(v, "kind", &kind, err))) goto fail;
    if (strcmp(kind, "EndpointPickerConfig")) {
        rc = es_node_err(err, ES_EINVAL, v, "kind", "expected EndpointPickerConfig, got \"%s\"", kind);
        goto fail;
    }
    if ((v = es_map_get(root, "featureGates")) && !es_node_is_null(v)) {
        if ((rc = es_node_expect_seq(v, "featureGates", err))) goto fail;
        if (!(c->gates = calloc(v->n + 1, sizeof *c->gates))) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
        for (size_t i = 0; i < v->n; i++) {
            char path[48];
            snprintf(path, sizeof path, "featureGates[%zu]", i);
            if ((rc = parse_gate(c, v->items[i], path, err))) goto fail;
        }
    }
    v = es_map_get(root, "plugins");
    if (!v || es_node_is_null(v)) { rc = es_node_err(err, ES_EINVAL, root, "plugins", "missing (at least one plugin)"); goto fail; }
    if ((rc = parse_plugins(c, v, err))) goto fail;
    if ((v = es_map_get(root, "schedulingProfiles")) && !es_node_is_null(v))
        if ((rc = parse_profiles(c, v, err))) goto fail;
    /* saturation detector: flowControl.saturationDetector, else the deprecated top-level key */
    const es_node_t *fc = es_map_get(root, "flowControl");
    const es_node_t *sat = es_map_get(root, "saturationDetector");
    const char *sat_path = "saturationDetector";
    if (sat)
        warn(c, sat->line, "DEPRECATION: top-level saturationDetector is deprecated, use "
             "flowControl.saturationDetector instead. If both are set, the new field is used.");
    if (fc && fc->kind == ES_NODE_MAP && es_map_get(fc, "saturationDetector")) {
        sat = es_map_get(fc, "saturationDetector");
        sat_path = "flowControl.saturationDetector";
    }
    if (sat) {
        int pi;
        char full[64];
        snprintf(full, sizeof full, "%s.pluginRef", sat_path);
        if ((rc = parse_ref(c, sat, sat_path, &pi, err))) goto fail;
        if (!(c->plugins[pi].vt->roles & ESI_SATURATION)) {
            rc = es_node_err(err, ES_EINVAL, sat, full, "plugin \"%s\" is not a saturation detector",
                             c->plugins[pi].name);
            goto fail;
        }
        c->saturation = pi;
    }
    /* parsers: requestHandler.parsers, else the deprecated top-level parser */
    bool has_parser = false;
    const es_node_t *parser = es_map_get(root, "parser");
    if (parser) {
        warn(c, parser->line, "DEPRECATION: top-level parser is deprecated, use requestHandler.parsers instead. "
             "If both are set, the new field is used.");
        if ((rc = parse_ref_role(c, parser, "parser", ESI_PARSER, "parser", NULL, err))) goto fail;
        has_parser = true;
    }
    if ((v = es_map_get(root, "requestHandler")) && !es_node_is_null(v)) {
        static const char *const rk[] = {"parsers", NULL};
        if ((rc = es_node_expect_map(v, "requestHandler", err)) ||
            (rc = es_map_check_keys(v, "requestHandler", rk, err)))
            goto fail;
        if ((rc = parse_ref_list(c, es_map_get(v, "parsers"), "requestHandler.parsers", ESI_PARSER, "parser",
                                 err)))
            goto fail;
        has_parser = true;
    }
    const es_node_t *dl = es_map_get(root, "dataLayer");
    if (dl && (rc = parse_datalayer(c, dl, err))) goto fail;
    if (fc && (rc = parse_flow(c, fc, err))) goto fail;
    if ((rc = build(c, root, sat, has_parser, dl != NULL, err))) goto fail;
    if (c->nomem) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
    *out = c;
    return 0;
fail:
    es_epp_config_destroy(c);
    return rc ? rc : ES_EINVAL;
}

int es_epp_config_load_node(const es_node_t *node, es_epp_config_t **out, es_err_t *err)
{
    es_err_clear(err);
    const char *file = node && node->doc ? node->doc->file : "<config>";
    return load_root(node, file, out, err);
}

int es_epp_config_load_file(const char *path, es_epp_config_t **out, es_err_t *err)
{
    es_err_clear(err);
    es_doc_t *doc;
    int rc = es_doc_load_file(path, &doc, err);
    if (rc) return rc;
    if (!doc->root) { es_doc_destroy(doc); return es_err_set(err, ES_EINVAL, "%s:1: empty EndpointPickerConfig", path); }
    rc = load_root(doc->root, path, out, err);
    es_doc_destroy(doc);
    return rc;
}

int es_epp_config_load_string(const char *name, const char *text, es_epp_config_t **out, es_err_t *err)
{
    es_err_clear(err);
    es_doc_t *doc;
    int rc = es_doc_load_string(name, text, strlen(text), &doc, err);
    if (rc) return rc;
    if (!doc->root) { es_doc_destroy(doc); return es_err_set(err, ES_EINVAL, "%s:1: empty EndpointPickerConfig", name); }
    rc = load_root(doc->root, name, out, err);
    es_doc_destroy(doc);
    return rc;
}

/* loadDefaultConfig (GIE-main-final, the Helm chart's 2/2/3) */
static const char k_default_config[] =
    "apiVersion: llm-d.ai/v1alpha1\n"
    "kind: EndpointPickerConfig\n"
    "plugins:\n"
    "- type: queue-scorer\n"
    "- type: kv-cache-utilization-scorer\n"
    "- type: prefix-cache-scorer\n"
    "- type: metrics-data-source\n"
    "- type: core-metrics-extractor\n"
    "schedulingProfiles:\n"
    "- name: default\n"
    "  plugins:\n"
    "  - pluginRef: queue-scorer\n"
    "    weight: 2\n"
    "  - pluginRef: kv-cache-utilization-scorer\n"
    "    weight: 2\n"
    "  - pluginRef: prefix-cache-scorer\n"
    "    weight: 3\n";

const char *es_epp_config_default_text(void) { return k_default_config; }

int es_epp_config_default(es_epp_config_t **out, es_err_t *err)
{
    return es_epp_config_load_string("<upstream default>", k_default_config, out, err);
}

int es_epp_config_check_stability(const es_epp_config_t *c, es_err_t *err)
{
    const esi_plugin_cfg_t *first = NULL;   /* upstream sorts the plugins by name */
    for (size_t i = 0; i < c->nplugins; i++)
        if (c->plugins[i].vt->alpha && (!first || strcmp(c->plugins[i].name, first->name) < 0)) first = &c->plugins[i];
    if (!first) return 0;
    const char *file = c->file ? c->file : "<config>";
    if (first->line)
        return es_err_set(err, ES_EUNSUPP, "%s:%u: plugins: plugin '%s' (type: '%s') has Alpha stability level, but "
                          "command line flag --allow-experimental-plugins is not set", file, first->line, first->name,
                          first->vt->type_name);
    return es_err_set(err, ES_EUNSUPP, "%s: plugins: plugin '%s' (type: '%s') has Alpha stability level, but command "
                      "line flag --allow-experimental-plugins is not set", file, first->name, first->vt->type_name);
}

bool es_epp_config_gate(const es_epp_config_t *c, const char *gate)
{
    for (size_t i = 0; i < c->ngates; i++) if (strcmp(c->gates[i], gate) == 0) return true;
    return false;
}

static void write_qty(FILE *f, int indent, const char *key, uint64_t v)
{
    if (v) fprintf(f, "%*s%s: \"%llu\"\n", indent, "", key, (unsigned long long)v);
}

static void write_band(FILE *f, const es_epp_config_t *c, const esi_band_cfg_t *b, int indent, bool first)
{
    fprintf(f, "%*s%spriority: %lld\n", indent - (first ? 2 : 0), "", first ? "- " : "", (long long)b->priority);
    write_qty(f, indent, "maxBytes", b->max_bytes);
    write_qty(f, indent, "maxRequests", b->max_requests);
    fprintf(f, "%*sfairnessPolicyRef: %s\n", indent, "", c->plugins[b->fairness].name);
    fprintf(f, "%*sorderingPolicyRef: %s\n", indent, "", c->plugins[b->ordering].name);
}

void es_epp_config_write_yaml(FILE *f, const es_epp_config_t *c)
{
    fprintf(f, "# EndpointPickerConfig as run (defaulted by eppsim; source: %s)\n", c->file);
    fprintf(f, "apiVersion: %s\nkind: EndpointPickerConfig\n", c->api_version);
    fprintf(f, "featureGates: [");
    for (size_t i = 0; i < c->ngates; i++) fprintf(f, "%s%s", i ? ", " : "", c->gates[i]);
    fprintf(f, "]\nplugins:\n");
    for (size_t i = 0; i < c->nplugins; i++) {
        const esi_plugin_cfg_t *p = &c->plugins[i];
        fprintf(f, "- type: %s\n  name: %s\n", p->vt->type_name, p->name);
        if (p->auto_created) fprintf(f, "  # added by the defaulting pipeline\n");
        if (p->vt->params && p->vt->params->key && strcmp(p->vt->params->key, "*")) {
            fprintf(f, "  parameters:\n");
            write_params(f, p->vt, p->vt->params, p->params, 4);
        }
    }
    fprintf(f, "schedulingProfiles:\n");
    for (size_t i = 0; i < c->nprofiles; i++) {
        fprintf(f, "- name: %s\n  plugins:\n", c->profiles[i].name);
        for (uint32_t k = 0; k < c->profiles[i].nrefs; k++) {
            const esi_ref_t *r = &c->profiles[i].refs[k];
            fprintf(f, "  - pluginRef: %s\n", c->plugins[r->plugin].name);
            if (c->plugins[r->plugin].vt->roles & ESI_SCORER) fprintf(f, "    weight: %.17g\n", r->weight);
        }
    }
    if (c->syncer >= 0)
        fprintf(f, "dataLayer:\n  crossReplicaSyncerPluginRef: %s\n  crossReplicaSyncInterval: %lldms\n",
                c->plugins[c->syncer].name, (long long)(c->sync_interval / ES_MS));
    /* v0.10's place (the top-level key is deprecated); the detector also
     * gates admission without the flowControl gate */
    fprintf(f, "flowControl:%s\n", c->flow_control ? "" : "   # featureGates lacks flowControl: only saturationDetector applies");
    fprintf(f, "  saturationDetector:\n    pluginRef: %s\n", c->plugins[c->saturation].name);
    write_qty(f, 2, "maxBytes", c->flow.max_bytes);
    write_qty(f, 2, "maxRequests", c->flow.max_requests);
    fprintf(f, "  defaultRequestTTL: %lldms\n", (long long)(c->flow.ttl / ES_MS));
    fprintf(f, "  usageLimitPolicyPluginRef: %s\n", c->plugins[c->flow.usage].name);
    fprintf(f, "  defaultPriorityBand:\n");
    write_band(f, c, &c->flow.def_band, 4, false);
    if (c->flow.eviction) fprintf(f, "  enableEviction: true\n");
    if (c->flow.nbands) fprintf(f, "  priorityBands:\n");
    for (size_t i = 0; i < c->flow.nbands; i++) write_band(f, c, &c->flow.bands[i], 4, true);
}
