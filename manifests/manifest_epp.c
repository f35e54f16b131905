/*
 * manifest_epp.c -- the InferencePool and its EPP: Service, Deployment, flags,
 * EndpointPickerConfig from a ConfigMap or a file (manifest_internal.h).
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

/* ---- the InferencePool ---- */

static const char *const k_pool_v1_spec[] = {"selector", "targetPorts", "endpointPickerRef", NULL};
static const char *const k_pool_v1_sel[] = {"matchLabels", NULL};
static const char *const k_pool_v1_ref[] = {"group", "kind", "name", "port", "failureMode", NULL};
static const char *const k_port[] = {"number", NULL};
static const char *const k_pool_a2_spec[] = {"selector", "targetPortNumber", "extensionRef", NULL};
static const char *const k_pool_a2_ref[] = {"group", "kind", "name", "portNumber", "failureMode", NULL};
static const char *const k_failure_modes[] = {"FailClose", "FailOpen", NULL};

int esi_mf_read_pool(ctx_t *c, const obj_t *o, pool_t *p)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    const es_node_t *spec = es_map_get(o->root, "spec");
    bool v1 = strcmp(o->api, "inference.networking.k8s.io/v1") == 0;
    int rc = esi_mf_check_keys(c, o, spec, "spec", v1 ? k_pool_v1_spec : k_pool_a2_spec);
    if (rc) return rc;
    const char *ref_field = v1 ? "spec.endpointPickerRef" : "spec.extensionRef";
    const es_node_t *sel = es_map_get(spec, "selector");
    const es_node_t *ref = es_map_get(spec, v1 ? "endpointPickerRef" : "extensionRef");
    if (!sel) return esi_mf_oerr(c, o, spec, "spec.selector", "missing");
    if ((rc = esi_mf_expect_map(c, o, sel, "spec.selector"))) return rc;
    if (v1) {
        if ((rc = esi_mf_check_keys(c, o, sel, "spec.selector", k_pool_v1_sel))) return rc;
        sel = es_map_get(sel, "matchLabels");
        if (!sel) return esi_mf_oerr(c, o, es_map_get(spec, "selector"), "spec.selector.matchLabels", "missing");
        if ((rc = esi_mf_expect_map(c, o, sel, "spec.selector.matchLabels"))) return rc;
    }
    if (sel->n == 0) return esi_mf_oerr(c, o, sel, "spec.selector", "selects no labels");
    p->selector = sel;
    int64_t port = 0;
    if (v1) {
        const es_node_t *tp = es_map_get(spec, "targetPorts");
        if (!tp) return esi_mf_oerr(c, o, spec, "spec.targetPorts", "missing");
        if ((rc = esi_mf_expect_seq(c, o, tp, "spec.targetPorts"))) return rc;
        if (tp->n != 1) return esi_mf_oerr(c, o, tp, "spec.targetPorts", "exactly one port is allowed, got %zu", tp->n);
        if ((rc = esi_mf_expect_map(c, o, tp->items[0], "spec.targetPorts[0]"))) return rc;
        if ((rc = esi_mf_check_keys(c, o, tp->items[0], "spec.targetPorts[0]", k_port))) return rc;
        const es_node_t *num = es_map_get(tp->items[0], "number");
        if (!num) return esi_mf_oerr(c, o, tp->items[0], "spec.targetPorts[0].number", "missing");
        if ((rc = esi_mf_read_i64(c, o, num, "spec.targetPorts[0].number", 1, 65535, &port))) return rc;
    } else {
        const es_node_t *num = es_map_get(spec, "targetPortNumber");
        if (!num) return esi_mf_oerr(c, o, spec, "spec.targetPortNumber", "missing");
        if ((rc = esi_mf_read_i64(c, o, num, "spec.targetPortNumber", 1, 65535, &port))) return rc;
    }
    if (!ref) return esi_mf_oerr(c, o, spec, ref_field, "missing: the pool needs an endpoint picker");
    char f[128];
    if ((rc = esi_mf_expect_map(c, o, ref, ref_field))) return rc;
    if ((rc = esi_mf_check_keys(c, o, ref, ref_field, v1 ? k_pool_v1_ref : k_pool_a2_ref))) return rc;
    const es_node_t *kind = es_map_get(ref, "kind"), *group = es_map_get(ref, "group");
    if (kind && (kind->kind != ES_NODE_SCALAR || strcmp(kind->str, "Service") != 0))
        return esi_mf_oerr(c, o, kind, esi_mf_join(f, sizeof f, ref_field, "kind"),
                    "only a Service can be the endpoint picker, got \"%s\"", kind->str ? kind->str : "?");
    if (group && (group->kind != ES_NODE_SCALAR || (*group->str && strcmp(group->str, "core") != 0)))
        return esi_mf_oerr(c, o, group, esi_mf_join(f, sizeof f, ref_field, "group"), "must be the core group \"\"");
    const es_node_t *name = es_map_get(ref, "name");
    if (!name) return esi_mf_oerr(c, o, ref, esi_mf_join(f, sizeof f, ref_field, "name"), "missing");
    if (!(p->epp_service = esi_mf_text_of(c, o, name, esi_mf_join(f, sizeof f, ref_field, "name")))) return ES_EINVAL;
    p->epp_ref_node = name;
    if (v1) {
        const es_node_t *pn = es_map_get(ref, "port");
        if (pn) {
            if ((rc = esi_mf_expect_map(c, o, pn, esi_mf_join(f, sizeof f, ref_field, "port")))) return rc;
            if ((rc = esi_mf_check_keys(c, o, pn, f, k_port))) return rc;
            const es_node_t *num = es_map_get(pn, "number");
            if (!num) return esi_mf_oerr(c, o, pn, "spec.endpointPickerRef.port.number", "missing");
            if ((rc = esi_mf_read_i64(c, o, num, "spec.endpointPickerRef.port.number", 1, 65535, &p->epp_port))) return rc;
        } else {
            return esi_mf_oerr(c, o, ref, "spec.endpointPickerRef.port", "missing: required when kind is Service");
        }
    } else {
        const es_node_t *pn = es_map_get(ref, "portNumber");
        p->epp_port = 9002;  /* the v1alpha2 default */
        if (pn && (rc = esi_mf_read_i64(c, o, pn, "spec.extensionRef.portNumber", 1, 65535, &p->epp_port))) return rc;
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

int esi_mf_check_service(ctx_t *c, const obj_t *o)
{
    const es_node_t *spec = es_map_get(o->root, "spec");
    int rc = esi_mf_check_keys(c, o, spec, "spec", k_svc_spec);
    const es_node_t *sel = es_map_get(spec, "selector"), *ports = es_map_get(spec, "ports");
    if (!rc && sel) rc = esi_mf_expect_map(c, o, sel, "spec.selector");
    if (!rc && ports) rc = esi_mf_expect_seq(c, o, ports, "spec.ports");
    for (size_t i = 0; !rc && ports && i < ports->n; i++) {
        char f[64];
        snprintf(f, sizeof f, "spec.ports[%zu]", i);
        rc = esi_mf_expect_map(c, o, ports->items[i], f);
        if (!rc) rc = esi_mf_check_keys(c, o, ports->items[i], f, k_svc_port);
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
    if (!esi_mf_keep_doc(c, doc)) { es_doc_destroy(doc); return es_err_set(c->err, ES_ENOMEM, "out of memory"); }
    if (!doc->root || doc->root->kind != ES_NODE_MAP)
        return esi_mf_oerr(c, o, text, what, "the EndpointPickerConfig must be a YAML mapping");
    shift_lines(doc->root, shift);
    es_node_t *root = doc->root;
    doc->root = NULL;  /* moves into the experiment; the doc (its file name) stays alive in m */
    esi_mf_remove_key(c, "epp.config_file");
    return esi_mf_set_key(c, "epp.config", root);
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
        return esi_mf_oerr(c, dep, f->node, f->field, "--config-file %s: no volumeMount of the EPP container holds this path", path);
    const char *vname = es_map_get(best, "name") ? es_map_get(best, "name")->str : "";
    const es_node_t *vols = es_node_find(dep->root, "spec.template.spec.volumes"), *vol = NULL;
    for (size_t i = 0; vols && i < vols->n; i++) {
        const es_node_t *n = es_map_get(vols->items[i], "name");
        if (n && n->kind == ES_NODE_SCALAR && !strcmp(n->str, vname)) vol = vols->items[i];
    }
    if (!vol)
        return esi_mf_oerr(c, dep, best, "spec.template.spec.volumes", "no volume named \"%s\" (mounted at the --config-file path)", vname);
    const es_node_t *cmv = es_map_get(vol, "configMap");
    if (!cmv)
        return es_err_set(c->err, ES_EUNSUPP, "%s:%u: %s: spec.template.spec.volumes: volume \"%s\" is not a configMap; eppsim reads the EndpointPickerConfig from a ConfigMap (or --config-text)",
                          vol->doc->file, vol->line, dep->label, vname);
    const es_node_t *cmname = es_map_get(cmv, "name");
    if (!cmname || cmname->kind != ES_NODE_SCALAR)
        return esi_mf_oerr(c, dep, cmv, "spec.template.spec.volumes[].configMap.name", "missing");
    const char *key = rel;
    const es_node_t *items = es_map_get(cmv, "items");
    if (items) {
        key = NULL;
        for (size_t i = 0; i < items->n; i++) {
            const es_node_t *p = es_map_get(items->items[i], "path"), *k = es_map_get(items->items[i], "key");
            if (p && k && p->kind == ES_NODE_SCALAR && k->kind == ES_NODE_SCALAR && !strcmp(p->str, rel)) key = k->str;
        }
        if (!key)
            return esi_mf_oerr(c, dep, items, "spec.template.spec.volumes[].configMap.items", "no item has path \"%s\" (from --config-file %s)", rel, path);
    }
    const obj_t *cm = esi_mf_find_obj(c, K_CONFIGMAP, dep->ns, cmname->str);
    if (!cm)
        return es_err_set(c->err, ES_ENOTFOUND, "%s:%u: %s: spec.template.spec.volumes: ConfigMap \"%s\" not found in namespace %s (it holds --config-file %s)",
                          cmname->doc->file, cmname->line, dep->label, cmname->str, dep->ns, path);
    const es_node_t *data = es_map_get(cm->root, "data");
    const es_node_t *val = data && data->kind == ES_NODE_MAP ? es_map_get(data, key) : NULL;
    if (!val) {
        char keys[256] = "";
        esi_mf_format_labels(keys, sizeof keys, data);
        return es_err_set(c->err, ES_ENOTFOUND, "%s:%u: %s: data: no key \"%s\" (the EPP reads --config-file %s)",
                          cm->root->doc->file, data ? data->line : cm->root->line, cm->label, key, path);
    }
    if (val->kind != ES_NODE_SCALAR) return esi_mf_oerr(c, cm, val, "data", "\"%s\" must be a string", key);
    char what[300];
    snprintf(what, sizeof what, "data.%s", key);
    return set_epp_config(c, cm, val, what);
}

int esi_mf_read_epp(ctx_t *c, const pool_t *p)
{
    const obj_t *svc = esi_mf_find_obj(c, K_SERVICE, p->o->ns, p->epp_service);
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
    if (!sel || sel->n == 0) return esi_mf_oerr(c, svc, sel, "spec.selector", "the endpoint picker Service needs a selector");
    const obj_t *dep = NULL;
    for (size_t i = 0; i < c->nobjs; i++) {
        const obj_t *o = &c->objs[i];
        if (o->kind != K_DEPLOYMENT || strcmp(o->ns, svc->ns) || !esi_mf_labels_match(sel, esi_mf_pod_labels(o))) continue;
        if (dep) return esi_mf_oerr(c, svc, sel, "spec.selector", "selects two Deployments (%s, %s); eppsim runs one EPP Deployment", dep->name, o->name);
        dep = o;
    }
    char labels[256];
    esi_mf_format_labels(labels, sizeof labels, sel);
    if (!dep) return es_err_set(c->err, ES_ENOTFOUND, "%s:%u: %s: spec.selector: no Deployment's pods match %s (the endpoint picker)", sel->doc->file, sel->line, svc->label, labels);
    int64_t replicas;
    int rc = esi_mf_deployment_replicas(c, dep, &replicas);
    if (rc) return rc;
    if (replicas < 1) return esi_mf_oerr(c, dep, es_node_find(dep->root, "spec.replicas"), "spec.replicas", "the endpoint picker needs at least one replica");
    const es_node_t *r = es_node_find(dep->root, "spec.replicas");
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)replicas);
    if ((rc = esi_mf_set_key(c, "epp.replicas", esi_mf_scalar_at(r ? r : dep->root, num, false)))) return rc;

    /* the EPP container: the one given --pool-name, else the only one */
    const es_node_t *ctrs = es_node_find(dep->root, "spec.template.spec.containers"), *ct = NULL;
    toks_t t = {0};
    for (size_t i = 0; i < ctrs->n && !ct; i++) {
        toks_t ti = {0};
        if (esi_mf_container_tokens(ctrs->items[i], i, &ti)) { esi_mf_toks_free(&ti); return es_err_set(c->err, ES_ENOMEM, "out of memory"); }
        for (size_t k = 0; k < ti.n; k++)
            if (!strncmp(ti.v[k].s, "--pool-name", 11) || !strncmp(ti.v[k].s, "-pool-name", 10)) ct = ctrs->items[i];
        if (ct) t = ti; else esi_mf_toks_free(&ti);
    }
    if (!ct) {
        if (ctrs->n != 1) return esi_mf_oerr(c, dep, ctrs, "spec.template.spec.containers", "no container is given --pool-name");
        ct = ctrs->items[0];
        if (esi_mf_container_tokens(ct, 0, &t)) { esi_mf_toks_free(&t); return es_err_set(c->err, ES_ENOMEM, "out of memory"); }
    }
    char unknown[512] = "";
    const flag_t *cfg_file = NULL, *cfg_text = NULL;
    flag_t cf = {0}, ctx_text = {0};
    bool named_pool = false;
    for (size_t i = 0; i < t.n && !rc; i++) {
        if (t.v[i].s[0] != '-') continue;
        flag_t f;
        esi_mf_parse_flag(&t, &i, &f, epp_takes_value);
        if (!in_list(k_epp_known, f.name)) {
            size_t used = strlen(unknown);
            snprintf(unknown + used, sizeof unknown - used, "%s--%s", used ? ", " : "", f.name);
            continue;
        }
        if (epp_takes_value(f.name) == 1 && !f.value) {
            rc = esi_mf_oerr(c, dep, f.node, f.field, "--%s needs a value", f.name);
        } else if (!strcmp(f.name, "pool-name")) {
            named_pool = true;
            if (strcmp(f.value, p->o->name) != 0)
                rc = esi_mf_oerr(c, dep, f.node, f.field, "--pool-name \"%s\" does not name the InferencePool \"%s\"", f.value, p->o->name);
        } else if (!strcmp(f.name, "pool-namespace")) {
            if (strcmp(f.value, p->o->ns) != 0)
                rc = esi_mf_oerr(c, dep, f.node, f.field, "--pool-namespace \"%s\" is not the InferencePool's namespace \"%s\"", f.value, p->o->ns);
        } else if (!strcmp(f.name, "config-file")) {
            cf = f; cfg_file = &cf;
        } else if (!strcmp(f.name, "config-text")) {
            ctx_text = f; cfg_text = &ctx_text;
        } else if (!strcmp(f.name, "refresh-metrics-interval")) {
            double ms;
            if (es_go_duration_parse(f.value, 1e6, &ms) != 0 || ms <= 0)
                rc = esi_mf_oerr(c, dep, f.node, f.field, "--refresh-metrics-interval: expected a duration such as 50ms, got \"%s\"", f.value);
            else {
                snprintf(num, sizeof num, "%.17g", ms);
                rc = esi_mf_set_key(c, "epp.refresh_interval_ms", esi_mf_scalar_at(f.node, num, false));
            }
        }
    }
    if (!rc && !named_pool) esi_mf_warn(c, "%s: the endpoint picker has no --pool-name; assuming it serves InferencePool/%s", dep->label, p->o->name);
    if (!rc && *unknown) esi_mf_warn(c, "%s: endpoint picker flags not simulated (ignored): %s", dep->label, unknown);
    if (!rc && cfg_file && cfg_text)
        rc = esi_mf_oerr(c, dep, cfg_text->node, cfg_text->field, "--config-file and --config-text are mutually exclusive");
    if (!rc && cfg_file) {
        rc = resolve_config_file(c, dep, ct, cfg_file);
    } else if (!rc && cfg_text) {
        es_node_t tmp = *cfg_text->node;  /* the flag's own scalar carries the text */
        tmp.str = (char *)cfg_text->value;
        rc = set_epp_config(c, dep, &tmp, "--config-text");
    } else if (!rc) {
        /* the manifest's EPP runs the upstream default plugins */
        esi_mf_remove_key(c, "epp.config");
        esi_mf_remove_key(c, "epp.config_file");
    }
    esi_mf_toks_free(&t);
    return rc;
}
