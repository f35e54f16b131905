/*
 * manifest_routes.c -- HTTPRoutes onto gateway.routes, InferenceObjectives onto
 * epp.objectives, Gateways checked (manifest_internal.h).
 */
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
#include "es_util.h"
#include "manifest_internal.h"

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
    if (esi_mf_put(m, "type", esi_mf_scalar_at(at, type, true)) || esi_mf_put(m, "value", esi_mf_scalar_at(at, value, true))) {
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
    int rc = esi_mf_put(entry, "matches", matches);
    const es_node_t *ms = es_map_get(rule, "matches");
    if (!rc && ms) rc = esi_mf_expect_seq(c, o, ms, esi_mf_join(f, sizeof f, field, "matches"));
    if (!rc && (!ms || ms->n == 0)) {  /* no matches: Gateway API's default PathPrefix / */
        es_node_t *m = es_node_new_map(rule->doc);
        rc = esi_mf_append(matches, m);
        if (!rc) rc = esi_mf_put(m, "path", path_node(rule, "PathPrefix", "/"));
    }
    for (size_t i = 0; !rc && ms && i < ms->n; i++) {
        const es_node_t *mt = ms->items[i];
        snprintf(f, sizeof f, "%s.matches[%zu]", field, i);
        if ((rc = esi_mf_expect_map(c, o, mt, f)) || (rc = esi_mf_check_keys(c, o, mt, f, k_route_match))) break;
        if (es_map_get(mt, "queryParams") || es_map_get(mt, "method"))
            esi_mf_warn(c, "%s:%u: %s: %s: queryParams and method matches are not simulated (ignored)", mt->doc->file, mt->line, o->label, f);
        const es_node_t *path = es_map_get(mt, "path");
        const char *type = "PathPrefix", *value = "/";
        if (path) {
            if ((rc = esi_mf_expect_map(c, o, path, esi_mf_join(g, sizeof g, f, "path"))) || (rc = esi_mf_check_keys(c, o, path, g, k_route_path))) break;
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
            if (vn && !(value = esi_mf_text_of(c, o, vn, esi_mf_join(g, sizeof g, f, "path.value")))) { rc = ES_EINVAL; break; }
            if (value[0] != '/') { rc = esi_mf_oerr(c, o, vn, esi_mf_join(g, sizeof g, f, "path.value"), "must start with '/'"); break; }
        }
        es_node_t *m = es_node_new_map(mt->doc);
        if ((rc = esi_mf_append(matches, m))) break;
        m->line = mt->line;
        if ((rc = esi_mf_put(m, "path", path_node(path ? path : mt, type, value)))) break;
        const es_node_t *hs = es_map_get(mt, "headers");
        if (!hs) continue;
        if ((rc = esi_mf_expect_seq(c, o, hs, esi_mf_join(g, sizeof g, f, "headers")))) break;
        es_node_t *hl = es_node_new_seq(hs->doc);
        if ((rc = esi_mf_put(m, "headers", hl))) break;
        for (size_t k = 0; !rc && k < hs->n; k++) {
            const es_node_t *h = hs->items[k];
            snprintf(g, sizeof g, "%s.headers[%zu]", f, k);
            if ((rc = esi_mf_expect_map(c, o, h, g)) || (rc = esi_mf_check_keys(c, o, h, g, k_route_header))) break;
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
            if (!hn || !hv) { rc = esi_mf_oerr(c, o, h, g, "a header match needs name and value"); break; }
            const char *hname = esi_mf_text_of(c, o, hn, esi_mf_join(q, sizeof q, g, "name"));
            const char *hval = hname ? esi_mf_text_of(c, o, hv, esi_mf_join(q, sizeof q, g, "value")) : NULL;
            if (!hval) { rc = ES_EINVAL; break; }
            es_node_t *hm = es_node_new_map(h->doc);
            if (!(rc = esi_mf_append(hl, hm)) && !(rc = esi_mf_put(hm, "name", esi_mf_scalar_at(hn, hname, true))))
                rc = esi_mf_put(hm, "value", esi_mf_scalar_at(hv, hval, true));
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
    int rc = esi_mf_expect_seq(c, o, prs, "spec.parentRefs");
    for (size_t i = 0; !rc && i < prs->n; i++) {
        char f[64];
        snprintf(f, sizeof f, "spec.parentRefs[%zu]", i);
        const es_node_t *pr = prs->items[i];
        if ((rc = esi_mf_expect_map(c, o, pr, f)) || (rc = esi_mf_check_keys(c, o, pr, f, k_parent_ref))) break;
        const es_node_t *k = es_map_get(pr, "kind"), *n = es_map_get(pr, "name"), *ns = es_map_get(pr, "namespace");
        const es_node_t *sec = es_map_get(pr, "sectionName");
        if (k && k->kind == ES_NODE_SCALAR && strcmp(k->str, "Gateway") != 0) continue;
        if (!n || n->kind != ES_NODE_SCALAR) { rc = esi_mf_oerr(c, o, pr, f, "a parentRef needs a name"); break; }
        const obj_t *gw = esi_mf_find_obj(c, K_GATEWAY, ns && ns->kind == ES_NODE_SCALAR ? ns->str : o->ns, n->str);
        if (!gw || !sec || sec->kind != ES_NODE_SCALAR) continue;  /* a Gateway outside the manifests is fine */
        const es_node_t *ls = es_node_find(gw->root, "spec.listeners");
        bool found = false;
        for (size_t j = 0; ls && j < ls->n; j++) {
            const es_node_t *ln = es_map_get(ls->items[j], "name");
            if (ln && ln->kind == ES_NODE_SCALAR && !strcmp(ln->str, sec->str)) found = true;
        }
        if (!found) rc = esi_mf_oerr(c, o, sec, "spec.parentRefs.sectionName", "Gateway/%s has no listener \"%s\"", gw->name, sec->str);
    }
    return rc;
}

int esi_mf_read_routes(ctx_t *c, const pool_t *p, es_node_t **routes_out)
{
    *routes_out = NULL;
    es_node_t *routes = NULL;
    int rc = 0;
    for (size_t i = 0; i < c->nobjs && !rc; i++) {
        const obj_t *o = &c->objs[i];
        if (o->kind != K_ROUTE) continue;
        const es_node_t *spec = es_map_get(o->root, "spec");
        if ((rc = esi_mf_check_keys(c, o, spec, "spec", k_route_spec))) break;
        const es_node_t *prs = es_map_get(spec, "parentRefs"), *rules = es_map_get(spec, "rules");
        if (prs && (rc = check_parent_refs(c, o, prs))) break;
        if (!rules) continue;
        if ((rc = esi_mf_expect_seq(c, o, rules, "spec.rules"))) break;
        for (size_t r = 0; r < rules->n && !rc; r++) {
            char f[64], g[128];
            snprintf(f, sizeof f, "spec.rules[%zu]", r);
            const es_node_t *rule = rules->items[r];
            if ((rc = esi_mf_expect_map(c, o, rule, f)) || (rc = esi_mf_check_keys(c, o, rule, f, k_route_rule))) break;
            const es_node_t *brs = es_map_get(rule, "backendRefs");
            bool to_pool = false;
            if (brs && (rc = esi_mf_expect_seq(c, o, brs, esi_mf_join(g, sizeof g, f, "backendRefs")))) break;
            for (size_t b = 0; brs && b < brs->n && !rc; b++) {
                snprintf(g, sizeof g, "%s.backendRefs[%zu]", f, b);
                if ((rc = esi_mf_expect_map(c, o, brs->items[b], g)) || (rc = esi_mf_check_keys(c, o, brs->items[b], g, k_backend_ref))) break;
                const es_node_t *k = es_map_get(brs->items[b], "kind"), *n = es_map_get(brs->items[b], "name");
                if (is_pool_ref(brs->items[b], o->ns, p)) to_pool = true;
                else if (k && k->kind == ES_NODE_SCALAR && !strcmp(k->str, "InferencePool"))
                    rc = es_err_set(c->err, ES_ENOTFOUND, "%s:%u: %s: %s: InferencePool \"%s\" not found (the manifests define InferencePool/%s in namespace %s)",
                                    brs->items[b]->doc->file, brs->items[b]->line, o->label, g,
                                    n && n->kind == ES_NODE_SCALAR ? n->str : "?", p->o->name, p->o->ns);
            }
            if (rc || !to_pool) continue;
            if (es_map_get(rule, "filters") || es_map_get(rule, "timeouts") || es_map_get(rule, "retry"))
                esi_mf_warn(c, "%s:%u: %s: %s: filters, timeouts and retry are not simulated (ignored)", rule->doc->file, rule->line, o->label, f);
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

/* Exact, or PathPrefix by whole path elements (es_path_prefix_match). */
static bool path_matches(const char *type, const char *value, const char *path)
{
    if (!strcmp(type, "Exact")) return !strcmp(value, path);
    return es_path_prefix_match(value, path);
}

/* A workload without a path sends completions to the first route that takes
 * requests without headers; one with a path is checked against the routes. */
int esi_mf_choose_workload_path(ctx_t *c, const es_node_t *routes)
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
            /* the OpenAI path when the rule takes it (PathPrefix /, /v1,
             * /v1/completions), else the completions path below the prefix */
            char buf[512];
            size_t len = strlen(value);
            if (!strcmp(type, "Exact")) snprintf(buf, sizeof buf, "%s", value);
            else if (path_matches(type, value, "/v1/completions")) snprintf(buf, sizeof buf, "/v1/completions");
            else snprintf(buf, sizeof buf, "%s%sv1/completions", value, value[len - 1] == '/' ? "" : "/");
            return esi_mf_set_key(c, "workload.path", esi_mf_scalar_at(path, buf, true));
        }
    }
    if (wp)
        esi_mf_warn(c, "%s:%u: workload.path \"%s\" matches no HTTPRoute rule of the pool: every request will get 404",
             wp->doc->file, wp->line, wp->kind == ES_NODE_SCALAR ? wp->str : "?");
    else
        esi_mf_warn(c, "every HTTPRoute rule of the pool needs headers the workload does not send: every request will get 404");
    return 0;
}

/* ---- InferenceObjectives and Gateways ---- */

static const char *const k_objective_spec[] = {"priority", "poolRef", NULL};
static const char *const k_pool_ref[] = {"group", "kind", "name", NULL};
static const char *const k_gateway_spec[] = {"gatewayClassName", "listeners", "addresses", "infrastructure",
                                             "backendTLS", "allowedListeners", "tls", "defaultScope", NULL};
static const char *const k_listener[] = {"name", "hostname", "port", "protocol", "tls", "allowedRoutes", NULL};

int esi_mf_read_objectives(ctx_t *c, const pool_t *p)
{
    es_node_t *list = NULL;
    int rc = 0;
    for (size_t i = 0; i < c->nobjs && !rc; i++) {
        const obj_t *o = &c->objs[i];
        if (o->kind != K_OBJECTIVE) continue;
        const es_node_t *spec = es_map_get(o->root, "spec");
        if ((rc = esi_mf_check_keys(c, o, spec, "spec", k_objective_spec))) break;
        const es_node_t *pr = es_map_get(spec, "poolRef"), *prio = es_map_get(spec, "priority");
        if (!pr) { rc = esi_mf_oerr(c, o, spec, "spec.poolRef", "missing"); break; }
        if ((rc = esi_mf_expect_map(c, o, pr, "spec.poolRef")) || (rc = esi_mf_check_keys(c, o, pr, "spec.poolRef", k_pool_ref))) break;
        const es_node_t *pn = es_map_get(pr, "name");
        const char *pname = pn ? esi_mf_text_of(c, o, pn, "spec.poolRef.name") : NULL;
        if (!pname) { if (!pn) rc = esi_mf_oerr(c, o, pr, "spec.poolRef.name", "missing"); else rc = ES_EINVAL; break; }
        int64_t v = 0;
        if (prio && (rc = esi_mf_read_i64(c, o, prio, "spec.priority", INT32_MIN, INT32_MAX, &v))) break;
        if (strcmp(pname, p->o->name) || strcmp(o->ns, p->o->ns)) {
            esi_mf_warn(c, "%s: poolRef names InferencePool/%s, not the simulated pool; ignored", o->label, pname);
            continue;
        }
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)v);
        if (!list && !(list = es_node_new_seq(o->root->doc))) { rc = es_err_set(c->err, ES_ENOMEM, "out of memory"); break; }
        es_node_t *e = es_node_new_map(o->root->doc);
        if (esi_mf_append(list, e) || esi_mf_put(e, "name", esi_mf_scalar_at(o->root, o->name, true)) ||
            esi_mf_put(e, "priority", esi_mf_scalar_at(prio ? prio : o->root, num, false)))
            rc = es_err_set(c->err, ES_ENOMEM, "out of memory");
    }
    if (!rc && list) return esi_mf_set_key(c, "epp.objectives", list);
    es_node_destroy(list);
    return rc;
}

int esi_mf_check_gateway(ctx_t *c, const obj_t *o)
{
    const es_node_t *spec = es_map_get(o->root, "spec");
    int rc = esi_mf_check_keys(c, o, spec, "spec", k_gateway_spec);
    const es_node_t *ls = es_map_get(spec, "listeners");
    if (!rc && !ls) rc = esi_mf_oerr(c, o, spec, "spec.listeners", "missing");
    if (!rc) rc = esi_mf_expect_seq(c, o, ls, "spec.listeners");
    for (size_t i = 0; !rc && i < ls->n; i++) {
        char f[64];
        snprintf(f, sizeof f, "spec.listeners[%zu]", i);
        if ((rc = esi_mf_expect_map(c, o, ls->items[i], f)) || (rc = esi_mf_check_keys(c, o, ls->items[i], f, k_listener))) break;
        if (!es_map_get(ls->items[i], "name")) rc = esi_mf_oerr(c, o, ls->items[i], f, "a listener needs a name");
    }
    return rc;
}
