/*
 * config.c -- EndpointPickerConfig: strict loading, the upstream defaulting
 * pipeline (gie-epp §1.2) and the dump of the configuration as run.
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
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "es_str.h"
#include "es_util.h"

static const char *const k_api_versions[] = {"inference.networking.x-k8s.io/v1alpha1",
                                             "llm-d.ai/v1alpha1", NULL};
static const char *const k_gates[] = {"flowControl", "prepareDataPlugins", "dataLayer", NULL};

/* Plugin types upstream has that eppsim recognises but cannot run. */
static const char *const k_unsupported[] = {
    "latency-scorer", "slo-headroom-tier-filter", "predicted-latency-producer", "latency-slo-admitter",
    "slo-deadline-ordering-policy", "context-length-aware", "data-parallel-profile-handler",
    "pd-profile-handler", "disagg-headers-handler", "prefill-header-handler",
    "always-disagg-multimodal-decider", "label-selector-filter", "by-label", "by-label-selector",
    "header-based-testing-filter", "token-producer", "tokenizer", "probabilistic-admitter",
    "models-data-source", "models-data-extractor", "vertexai-parser", NULL};

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

static int params_load(const esi_param_t *t, void *obj, const es_node_t *map, const char *path,
                       es_err_t *err)
{
    if (!map || es_node_is_null(map)) return 0;
    int rc = es_node_expect_map(map, path, err);
    if (rc) return rc;
    if (t && t->key && strcmp(t->key, "*") == 0) return 0;   /* accepts anything */
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
            rc = params_load(e->sub, obj, v, full, err);
            break;
        default: break;
        }
        if (rc) return rc;
    }
    return 0;
}

static void write_params(FILE *f, const esi_param_t *t, const void *obj, int indent)
{
    for (; t && t->key; t++) {
        const char *fld = (const char *)obj + t->off;
        switch (t->type) {
        case ESI_P_INT: fprintf(f, "%*s%s: %lld\n", indent, "", t->key, (long long)*(const int64_t *)fld); break;
        case ESI_P_DOUBLE: fprintf(f, "%*s%s: %.17g\n", indent, "", t->key, *(const double *)fld); break;
        case ESI_P_BOOL: fprintf(f, "%*s%s: %s\n", indent, "", t->key, *(const bool *)fld ? "true" : "false"); break;
        case ESI_P_STR: fprintf(f, "%*s%s: \"%s\"\n", indent, "", t->key, fld); break;
        case ESI_P_DURATION: {
            es_time_t d = *(const es_time_t *)fld;
            if (d % ES_MS == 0) fprintf(f, "%*s%s: %lldms\n", indent, "", t->key, (long long)(d / ES_MS));
            else fprintf(f, "%*s%s: %lldns\n", indent, "", t->key, (long long)d);
            break;
        }
        case ESI_P_SUB:
            fprintf(f, "%*s%s:\n", indent, "", t->key);
            write_params(f, t->sub, obj, indent + 2);
            break;
        default: break;
        }
    }
}

/* ------------------------------------------------------------------ */
/* building the config                                                 */
/* ------------------------------------------------------------------ */

void es_epp_config_free(es_epp_config_t *c)
{
    if (!c) return;
    free(c->file);
    free(c->api_version);
    for (size_t i = 0; i < c->ngates; i++) free(c->gates[i]);
    free(c->gates);
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
    int rc = params_load(vt->params, p->params, params, path, err);
    if (!rc && vt->x_check) rc = vt->x_check(p->params, params, path, err);
    return rc;
}

static int add_auto(es_epp_config_t *c, const char *type, es_err_t *err)
{
    int i = find_plugin(c, type);
    if (i >= 0) return i;
    const esi_plugin_vt_t *vt = esi_registry_find(type);
    ES_ASSERT(vt != NULL, "auto-created plugin type not registered");
    int rc = add_plugin(c, type, vt, NULL, type, 0, true, err);
    return rc ? rc : (int)c->nplugins - 1;
}

static int unknown_type_err(const es_node_t *at, const char *path, const char *type, es_err_t *err)
{
    for (const char *const *u = k_unsupported; *u; u++)
        if (strcmp(*u, type) == 0)
            return es_node_err(err, ES_EUNSUPP, at, path,
                               "plugin type \"%s\" is not supported by eppsim (it needs a component eppsim "
                               "does not model: latency predictor, tokenizer, multimodal or data-parallel "
                               "routing)", type);
    char known[1400] = "";
    size_t used = 0;
    for (size_t i = 0; es_epp_plugin_type(i); i++) {
        int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", es_epp_plugin_type(i));
        if (w < 0 || (size_t)w >= sizeof known - used) break;
        used += (size_t)w;
    }
    return es_node_err(err, ES_EINVAL, at, path, "unknown plugin type \"%s\" (known: %s)", type, known);
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
                                       "priorityBands", "usageLimitPolicyPluginRef", NULL};
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

static int find_profile(const es_epp_config_t *c, const char *name)
{
    for (size_t i = 0; i < c->nprofiles; i++) if (strcmp(c->profiles[i].name, name) == 0) return (int)i;
    return -1;
}

static int build(es_epp_config_t *c, const es_node_t *root, const es_node_t *sat_node, bool has_parser,
                 bool has_datalayer, int scorer_with_producer_params, es_err_t *err)
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
    if (strcmp(h->vt->type_name, "single-profile-handler") == 0 && c->nprofiles > 1)
        return es_node_err(err, ES_EINVAL, &hpos, "plugins", "single-profile-handler cannot run %zu profiles",
                           c->nprofiles);
    if (strcmp(h->vt->type_name, "disagg-profile-handler") == 0) {
        esi_disagg_params_t *d = h->params;
        if (d->legacy_decode[0]) snprintf(d->decode, ESI_STR_MAX, "%s", d->legacy_decode);
        if (d->legacy_prefill[0]) snprintf(d->prefill, ESI_STR_MAX, "%s", d->legacy_prefill);
        if (d->legacy_decider[0]) snprintf(d->prefill_decider, ESI_STR_MAX, "%s", d->legacy_decider);
        if (find_profile(c, d->decode) < 0)
            return es_node_err(err, ES_ENOTFOUND, &hpos, "parameters.profiles.decode",
                               "no scheduling profile named \"%s\"", d->decode);
        if (d->prefill_decider[0]) {
            int di = find_plugin(c, d->prefill_decider);
            if (di < 0 || !(c->plugins[di].vt->roles & ESI_DECIDER))
                return es_node_err(err, ES_ENOTFOUND, &hpos, "parameters.deciders.prefill",
                                   "no decider plugin named \"%s\"", d->prefill_decider);
        }
    }
    /* auto-created approximate prefix producer */
    c->producer = -1;
    bool need = false;
    for (size_t i = 0; i < c->nplugins; i++) {
        if (!strcmp(c->plugins[i].vt->type_name, "approx-prefix-cache-producer") && c->producer < 0)
            c->producer = (int)i;
        if (c->plugins[i].vt->needs_prefix) need = true;
    }
    if (need && c->producer < 0) {
        if ((rc = add_auto(c, "approx-prefix-cache-producer", err)) < 0) return rc;
        c->producer = rc;
        if (scorer_with_producer_params >= 0)
            esi_prefix_scorer_producer_params(c->plugins[scorer_with_producer_params].params,
                                              c->plugins[rc].params);
    }
    return 0;
}

static int load_root(const es_node_t *root, const char *file, es_epp_config_t **out, es_err_t *err)
{
    *out = NULL;
    es_epp_config_t *c = calloc(1, sizeof *c);
    if (!c) return es_err_set(err, ES_ENOMEM, "out of memory");
    c->file = es_strdup(file ? file : "<config>");
    c->saturation = -1;
    c->producer = -1;
    c->flow.def_band.fairness = c->flow.def_band.ordering = -1;
    c->flow.usage = -1;
    int rc = 0;
    static const char *const keys[] = {"apiVersion", "kind", "featureGates", "plugins", "schedulingProfiles",
                                       "saturationDetector", "dataLayer", "flowControl", "parser", NULL};
    if ((rc = es_node_expect_map(root, "", err))) goto fail;
    if ((rc = es_map_check_keys(root, "", keys, err))) goto fail;
    const es_node_t *v = es_map_get(root, "apiVersion");
    int ai;
    if (!v) { rc = es_node_err(err, ES_EINVAL, root, "apiVersion", "missing (use %s)", k_api_versions[0]); goto fail; }
    if ((rc = es_node_to_enum(v, "apiVersion", k_api_versions, &ai, err))) goto fail;
    c->api_version = es_strdup(k_api_versions[ai]);
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
        c->gates = calloc(v->n + 1, sizeof *c->gates);
        for (size_t i = 0; i < v->n; i++) {
            char path[48];
            snprintf(path, sizeof path, "featureGates[%zu]", i);
            int gi;
            if ((rc = es_node_to_enum(v->items[i], path, k_gates, &gi, err))) goto fail;
            c->gates[c->ngates++] = es_strdup(k_gates[gi]);
            if (gi == 0) c->flow_control = true;
        }
    }
    v = es_map_get(root, "plugins");
    if (!v || es_node_is_null(v)) { rc = es_node_err(err, ES_EINVAL, root, "plugins", "missing (at least one plugin)"); goto fail; }
    if ((rc = parse_plugins(c, v, err))) goto fail;
    int scorer_params = -1;
    for (size_t i = 0; i < v->n && scorer_params < 0; i++) {
        const es_node_t *tn = es_map_get(v->items[i], "type"), *pn = es_map_get(v->items[i], "parameters");
        if (tn && !strcmp(tn->str, "prefix-cache-scorer") && pn && pn->kind == ES_NODE_MAP) {
            static const char *const pk[] = {"autoTune", "blockSizeTokens", "maxPrefixBlocksToMatch",
                                             "maxPrefixTokensToMatch", "lruCapacityPerServer", NULL};
            for (const char *const *k = pk; *k; k++)
                if (es_map_get(pn, *k)) { scorer_params = (int)i; break; }
        }
    }
    if ((v = es_map_get(root, "schedulingProfiles")) && !es_node_is_null(v))
        if ((rc = parse_profiles(c, v, err))) goto fail;
    const es_node_t *sat = es_map_get(root, "saturationDetector");
    if (sat) {
        int pi;
        if ((rc = parse_ref(c, sat, "saturationDetector", &pi, err))) goto fail;
        if (!(c->plugins[pi].vt->roles & ESI_SATURATION)) {
            rc = es_node_err(err, ES_EINVAL, sat, "saturationDetector.pluginRef",
                             "plugin \"%s\" is not a saturation detector", c->plugins[pi].name);
            goto fail;
        }
        c->saturation = pi;
    }
    const es_node_t *parser = es_map_get(root, "parser");
    if (parser) {
        int pi;
        if ((rc = parse_ref(c, parser, "parser", &pi, err))) goto fail;
    }
    const es_node_t *dl = es_map_get(root, "dataLayer");
    if (dl) {
        /* the server model feeds metrics directly; accept the section's shape */
        static const char *const dk[] = {"sources", NULL};
        if ((rc = es_node_expect_map(dl, "dataLayer", err)) || (rc = es_map_check_keys(dl, "dataLayer", dk, err)))
            goto fail;
    }
    if ((v = es_map_get(root, "flowControl")) && (rc = parse_flow(c, v, err))) goto fail;
    if ((rc = build(c, root, sat, parser != NULL, dl != NULL, scorer_params, err))) goto fail;
    *out = c;
    return 0;
fail:
    es_epp_config_free(c);
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
    "apiVersion: inference.networking.x-k8s.io/v1alpha1\n"
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
            write_params(f, p->vt->params, p->params, 4);
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
    fprintf(f, "saturationDetector:\n  pluginRef: %s\n", c->plugins[c->saturation].name);
    fprintf(f, "flowControl:%s\n", c->flow_control ? "" : "   # inactive: featureGates lacks flowControl");
    write_qty(f, 2, "maxBytes", c->flow.max_bytes);
    write_qty(f, 2, "maxRequests", c->flow.max_requests);
    fprintf(f, "  defaultRequestTTL: %lldms\n", (long long)(c->flow.ttl / ES_MS));
    fprintf(f, "  usageLimitPolicyPluginRef: %s\n", c->plugins[c->flow.usage].name);
    fprintf(f, "  defaultPriorityBand:\n");
    write_band(f, c, &c->flow.def_band, 4, false);
    if (c->flow.nbands) fprintf(f, "  priorityBands:\n");
    for (size_t i = 0; i < c->flow.nbands; i++) write_band(f, c, &c->flow.bands[i], 4, true);
}
